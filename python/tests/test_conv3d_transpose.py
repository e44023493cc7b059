"""
test_conv3d_transpose.py — Conv3DTranspose through the Keras-style API:
shapes at call time (Keras' sizes with and without output_padding), outputs
against a numpy scatter loop on Keras' own padding arithmetic
(keras/src/backend/common/backend_utils.py), a small 3-D decoder that trains
(its loss falls) and comes back from the latefuse model file and from a
.keras file predicting bit for bit (the config under Keras' names and
arguments, the kernel in Keras' (kd, kh, kw, filters, in) layout), and the
refusals' exact messages.
"""
import json
import zipfile

import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.layers import Conv3D, Conv3DTranspose, Input
from latefuse.optimizers import Adam


def keras_axis(n, k, s, padding, op):
    """Keras' transposed-convolution size of one axis and the voxels cropped
    before the first (JAX's form: input dilated by s, padded, flipped kernel)"""
    if padding == "valid":
        op = max(k, s) - k if op is None else op
        left, right = k - 1, k - 1 + op
    else:
        pad = s + k - 2 if op is None else k + k % 2 - 2 + op
        left = min(pad // 2 + pad % 2, k - 1)
        right = pad - left
    return (n - 1) * s + 1 + left + right - k + 1, k - 1 - left


def scatter(v, k, b, strides, padding, output_padding):
    """v (B, D, H, W, C), k (kd, kh, kw, F, C): every input voxel i adds
    v[i] k[t] to output voxel i s + t - crop"""
    ops = output_padding or (None, None, None)
    sizes = [keras_axis(v.shape[1 + a], k.shape[a], strides[a], padding, ops[a]) for a in range(3)]
    out = np.zeros((v.shape[0],) + tuple(n for n, _ in sizes) + (k.shape[3],))
    for i in np.ndindex(*v.shape[1:4]):
        for t in np.ndindex(*k.shape[:3]):
            o = [i[a] * strides[a] + t[a] - sizes[a][1] for a in range(3)]
            if all(0 <= o[a] < sizes[a][0] for a in range(3)):
                out[:, o[0], o[1], o[2], :] += v[:, i[0], i[1], i[2], :] @ k[t].T.astype(np.float64)
    return out + (0 if b is None else b)


def test_shapes():
    x = Input(shape=(3, 4, 5, 2))
    assert Conv3DTranspose(4, 2, strides=2)(x).shape == (None, 6, 8, 10, 4)  # Keras' docstring example's rule
    assert Conv3DTranspose(4, 3)(x).shape == (None, 5, 6, 7, 4)
    assert Conv3DTranspose(4, (3, 2, 3), strides=2, padding="same")(x).shape == (None, 6, 8, 10, 4)
    assert Conv3DTranspose(4, 3, strides=(2, 3, 2), output_padding=(1, 2, 0))(x).shape == (None, 8, 14, 11, 4)
    assert Conv3DTranspose(4, (2, 3, 4), strides=2, padding="same", output_padding=1)(x).shape == (None, 5, 8, 9, 4)
    assert Conv3DTranspose(1, 1, strides=3)(x).shape == (None, 9, 12, 15, 1)  # k < s: max(k, s) - k added


@pytest.mark.parametrize("kernel,strides,padding,output_padding,bias", [
    ((2, 3, 2), (1, 1, 1), "valid", None, True),
    ((3, 3, 3), (1, 1, 1), "same", None, True),
    ((3, 2, 3), (2, 2, 2), "valid", None, False),
    ((3, 4, 2), (2, 2, 2), "same", None, True),
    ((3, 2, 2), (2, 1, 2), "valid", (1, 0, 1), True),
    ((4, 3, 2), (2, 3, 2), "same", (0, 2, 1), True),
])
def test_against_numpy(kernel, strides, padding, output_padding, bias):
    x = Input(shape=(2, 3, 2, 3))
    layer = Conv3DTranspose(2, kernel, strides=strides, padding=padding, output_padding=output_padding,
                            use_bias=bias, name="t")
    m = Model(x, layer(x))
    rng = np.random.default_rng(sum(kernel) + sum(strides))
    k = rng.standard_normal(kernel + (2, 3)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32) if bias else None
    assert [w.shape for w in layer.get_weights()] == [k.shape] + ([b.shape] if bias else [])
    layer.set_weights([k, b] if bias else [k])
    v = rng.standard_normal((3, 2, 3, 2, 3)).astype(np.float32)
    want = scatter(v.astype(np.float64), k, b, strides, padding, output_padding)
    got = m.predict(v, verbose=0)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def decoder(seed):
    v = Input(shape=(4, 4, 4, 1), name="vol")
    h = Conv3D(4, 3, strides=2, padding="same", activation="relu", name="down")(v)
    h = Conv3DTranspose(4, 3, strides=2, padding="same", output_padding=(1, 1, 1), activation="relu",
                        name="up")(h)
    h = Conv3DTranspose(1, (1, 1, 1), name="out")(h)
    m = Model(v, h, seed=seed)
    m.compile(optimizer=Adam(0.01), loss="mse")
    return m


def test_decoder_trains_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.random((32, 4, 4, 4, 1), dtype=np.float32)
    x[:, 1:3, 1:3, 1:3, :] += 1.0  # a cube to reconstruct
    m = decoder(7)
    assert m.get_layer("up").output.shape == (None, 4, 4, 4, 4)  # (2 - 1) 2 + 1 + 1
    h = m.fit(x, x, epochs=20, batch_size=8, verbose=0)
    loss = h.history["loss"]
    assert loss[-1] < 0.5 * loss[0], loss
    p = m.predict(x, verbose=0)
    m.save(str(tmp_path / "d.lf"))
    assert np.array_equal(load_model(str(tmp_path / "d.lf")).predict(x, verbose=0), p)
    path = str(tmp_path / "d.keras")
    m.save(path)
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    layers = {e["config"]["name"]: e for e in cfg["config"]["layers"]}
    up = layers["up"]["config"]
    assert layers["up"]["class_name"] == "Conv3DTranspose"
    assert up["kernel_size"] == [3, 3, 3] and up["strides"] == [2, 2, 2] and up["padding"] == "same"
    assert up["output_padding"] == [1, 1, 1] and up["dilation_rate"] == [1, 1, 1]
    assert layers["out"]["config"]["output_padding"] is None
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), p)
    assert [w.shape for w in back.get_layer("up").get_weights()] == [(3, 3, 3, 4, 4), (4,)]
    assert back.get_layer("up").output_padding == (1, 1, 1)
    assert back.get_layer("out").output_padding is None


def test_glorot_limit():
    """Keras' fans of the kernel (kd, kh, kw, filters, C): limit sqrt(6 / (27 (5 + 7)))"""
    x = Input(shape=(2, 2, 2, 7))
    layer = Conv3DTranspose(5, 3, use_bias=True)
    Model(x, layer(x), seed=1)
    k, b = layer.get_weights()
    lim = np.sqrt(6.0 / (27 * (5 + 7)))
    assert k.shape == (3, 3, 3, 5, 7) and np.abs(k).max() <= lim and np.abs(k).max() > 0.9 * lim
    assert not b.any()


def test_refusals():
    with pytest.raises(ValueError, match=r"^`output_padding` must be strictly less than `strides` for all dimensions. "
                                         r"At dimension 2, `output_padding` is 2 but `strides` is 2. Received: "
                                         r"output_padding=\(1, 0, 2\), strides=\(2, 2, 2\)$"):
        Conv3DTranspose(2, 3, strides=2, output_padding=(1, 0, 2))
    with pytest.raises(ValueError, match=r"^Conv3DTranspose: output_padding must be None, an integer >= 0 or a tuple "
                                         r"of 3 of them, got \(1, 0\)$"):
        Conv3DTranspose(2, 3, strides=2, output_padding=(1, 0))
    with pytest.raises(ValueError, match=r"^Conv3DTranspose: only dilation_rate=\(1, 1, 1\) is supported, got 2$"):
        Conv3DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(ValueError, match=r"^Conv3DTranspose: data_format must be 'channels_last'"):
        Conv3DTranspose(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match=r"^Conv3DTranspose: kernel_size must be a positive integer or a tuple of 3 "
                                         r"of them, got \(3, 3\)$"):
        Conv3DTranspose(2, (3, 3))
    with pytest.raises(ValueError, match=r"^Conv3DTranspose: input of shape \(None, 6, 5, 3\) must be \(batch, "
                                         r"frames, height, width, channels\)$"):
        Conv3DTranspose(2, 3)(Input(shape=(6, 5, 3)))
    with pytest.raises(ValueError, match=r"^Conv3DTranspose: input of shape \(None, 1, 1, 1, 2\) gives an output of "
                                         r"0 x 0 x 0 voxels$"):
        Conv3DTranspose(2, 2, padding="same", output_padding=0)(Input(shape=(1, 1, 1, 2)))
    with pytest.raises(ValueError, match=r"^Conv3DTranspose: unsupported arguments groups$"):
        Conv3DTranspose(2, 3, groups=2)
