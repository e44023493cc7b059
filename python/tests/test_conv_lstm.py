"""
test_conv_lstm.py — ConvLSTM2D, ConvLSTM1D and ConvLSTM3D (src/layers/conv_lstm.c)
through the Keras-style API: eager values against a numpy ConvLSTM cell
(Keras' conv_lstm.py: the input convolution with strides / padding, the
state's stride 1 'same'), the shapes, a small model that trains and comes
back from the latefuse model file and from a .keras file predicting bit for
bit (the config under Keras' names, the weights under the layer's "cell"),
and the refusals by their exact messages.
"""
import json
import zipfile

import h5py
import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.layers import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, Dense, Flatten, GlobalAveragePooling2D, Input
from latefuse.optimizers import Adam


def _pads(n, k, s, padding):
    """Keras' output size and padding before (the odd one after)"""
    if padding == "valid":
        return (n - k) // s + 1, 0
    o = -(-n // s)
    return o, max((o - 1) * s + k - n, 0) // 2


def _conv(x, k, s, padding, d=(1, 1)):
    """x (B, H, W, C), k (kh, kw, C, G) -> (B, Ho, Wo, G)"""
    kh, kw = k.shape[:2]
    ho, pt = _pads(x.shape[1], d[0] * (kh - 1) + 1, s[0], padding)
    wo, pl = _pads(x.shape[2], d[1] * (kw - 1) + 1, s[1], padding)
    xp = np.pad(x, ((0, 0), (pt, kh * d[0] + ho * s[0]), (pl, kw * d[1] + wo * s[1]), (0, 0)))
    out = np.zeros((x.shape[0], ho, wo, k.shape[3]))
    for a in range(kh):
        for b in range(kw):
            patch = xp[:, a * d[0]:a * d[0] + ho * s[0]:s[0], b * d[1]:b * d[1] + wo * s[1]:s[1], :]
            out += np.einsum("bhwc,cg->bhwg", patch, k[a, b])
    return out


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def conv_lstm_numpy(x, K, U, b, strides, padding, dilation=(1, 1), seq=False, back=False):
    """x (B, T, H, W, C) float64"""
    F = U.shape[2]
    h = c = None
    ys = []
    for t in (range(x.shape[1] - 1, -1, -1) if back else range(x.shape[1])):
        z = _conv(x[:, t], K, strides, padding, dilation) + (b if b is not None else 0.0)
        if h is None:
            h = np.zeros(z.shape[:3] + (F,))
            c = np.zeros_like(h)
        z = z + _conv(h, U, (1, 1), "same")
        i, f, g, o = _sig(z[..., :F]), _sig(z[..., F:2 * F]), np.tanh(z[..., 2 * F:3 * F]), _sig(z[..., 3 * F:])
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys, 1) if seq else h


@pytest.mark.parametrize("kw", [
    dict(padding="same", strides=(2, 1), return_sequences=True),
    dict(padding="valid", go_backwards=True),
    dict(padding="valid", dilation_rate=(2, 1), return_sequences=True, go_backwards=True, use_bias=False),
])
def test_eager_values_against_numpy(kw):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 6, 5, 2)).astype(np.float32)
    layer = ConvLSTM2D(3, (3, 2), **kw)
    y = layer(x)
    ws = [w.astype(np.float64) for w in layer.get_weights()]
    assert ws[0].shape == (3, 2, 2, 12) and ws[1].shape == (3, 2, 3, 12)
    want = conv_lstm_numpy(x.astype(np.float64), ws[0], ws[1], ws[2] if len(ws) > 2 else None,
                           kw.get("strides", (1, 1)), kw["padding"], kw.get("dilation_rate", (1, 1)),
                           kw.get("return_sequences", False), kw.get("go_backwards", False))
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_conv_lstm1d_against_numpy_and_the_bias():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 4, 7, 2)).astype(np.float32)
    layer = ConvLSTM1D(2, 3, padding="same", return_sequences=True)
    y = layer(x)
    K, U, b = layer.get_weights()
    assert K.shape == (3, 2, 8) and U.shape == (3, 2, 8)
    assert np.array_equal(b, np.array([0, 0, 1, 1, 0, 0, 0, 0], np.float32))  # unit_forget_bias
    want = conv_lstm_numpy(x[:, :, :, None, :].astype(np.float64), K[:, None].astype(np.float64),
                           U[:, None].astype(np.float64), b, (1, 1), "same", seq=True)[:, :, :, 0, :]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_shapes():
    x = Input(shape=(5, 9, 7, 3))
    assert ConvLSTM2D(4, 3)(x).shape == (None, 7, 5, 4)
    assert ConvLSTM2D(4, (3, 2), strides=2, padding="same", return_sequences=True)(x).shape == (None, 5, 5, 4, 4)
    assert ConvLSTM1D(2, 3)(Input(shape=(4, 8, 2))).shape == (None, 6, 2)


def moving_dot(n, seed):
    """class 1: a bright pixel moving right through the frames"""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    v = rng.random((n, 4, 6, 6, 1), dtype=np.float32) * 0.3
    for t in range(4):
        v[y == 1, t, 2, 1 + t, 0] += 1.0
        v[y == 0, t, 2, 4 - t, 0] += 1.0
    return v, y


def test_trains_and_round_trips(tmp_path):
    x, y = moving_dot(48, 1)
    inp = Input(shape=(4, 6, 6, 1), name="video")
    h = ConvLSTM2D(4, 3, padding="same", return_sequences=True, name="cl1")(inp)
    h = ConvLSTM2D(3, (2, 2), strides=2, go_backwards=True, name="cl2")(h)
    m = Model(inp, Dense(2, activation="softmax", name="out")(GlobalAveragePooling2D()(h)), seed=5)
    m.compile(optimizer=Adam(0.02), loss="sparse_categorical_crossentropy")
    loss = m.fit(x, y, epochs=12, batch_size=16, verbose=0).history["loss"]
    assert loss[-1] < 0.7 * loss[0], loss
    p = m.predict(x, verbose=0)
    m.save(str(tmp_path / "cl.lf"))
    assert np.array_equal(load_model(str(tmp_path / "cl.lf")).predict(x, verbose=0), p)
    path = str(tmp_path / "cl.keras")
    m.save(path)
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    layers = {e["config"]["name"]: e for e in cfg["config"]["layers"]}
    c2 = layers["cl2"]["config"]
    assert layers["cl2"]["class_name"] == "ConvLSTM2D" and c2["kernel_size"] == [2, 2] and c2["strides"] == [2, 2]
    assert c2["go_backwards"] is True and c2["return_sequences"] is False and c2["filters"] == 3
    assert c2["activation"] == "tanh" and c2["recurrent_activation"] == "sigmoid" and c2["dropout"] == 0.0
    with zipfile.ZipFile(path) as z, h5py.File(z.open("model.weights.h5"), "r") as f:
        assert f["layers/conv_lstm2d_1/cell/vars/0"].shape == (2, 2, 4, 12)  # kernel
        assert f["layers/conv_lstm2d_1/cell/vars/1"].shape == (2, 2, 3, 12)  # recurrent_kernel
        assert f["layers/conv_lstm2d_1/cell/vars/2"].shape == (12,)
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), p)
    assert back.get_layer("cl2").go_backwards and back.get_layer("cl1").return_sequences


def test_refusals():
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: input of shape \(None, 2, 6, 3\) must be \(batch, time, rows, "
                                         r"cols, channels\)$"):
        ConvLSTM2D(2, 3)(Input(shape=(2, 6, 3)))
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: input of shape \(None, 2, 6, 2, 3\) is smaller than the "
                                         r"kernel \(3, 3\) with padding 'valid'$"):
        ConvLSTM2D(2, 3)(Input(shape=(2, 6, 2, 3)))
    with pytest.raises(ValueError, match=r"^ConvLSTM1D: input of shape \(None, 2, 6, 5, 3\) must be \(batch, time, "
                                         r"steps, channels\)$"):
        ConvLSTM1D(2, 3)(Input(shape=(2, 6, 5, 3)))
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: dropout and recurrent_dropout are not available \(only 0\), "
                                         r"got 0.2 and 0.0$"):
        ConvLSTM2D(2, 3, dropout=0.2)
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: return_state=True is not available$"):
        ConvLSTM2D(2, 3, return_state=True)
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: only activation='tanh' and recurrent_activation='sigmoid' are "
                                         r"available, got 'relu' and 'sigmoid'$"):
        ConvLSTM2D(2, 3, activation="relu")
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: `strides > 1` not supported in conjunction with "
                                         r"`dilation_rate > 1`. Received: strides=\(2, 1\) and dilation_rate=\(1, 2\)$"):
        ConvLSTM2D(2, 3, strides=(2, 1), dilation_rate=(1, 2))
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: data_format must be 'channels_last'"):
        ConvLSTM2D(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match=r"^ConvLSTM1D: kernel_size must be a positive integer or a tuple of one, "
                                         r"got \(3, 3\)$"):
        ConvLSTM1D(2, (3, 3))
    with pytest.raises(ValueError, match=r"^ConvLSTM2D: unsupported arguments unroll$"):
        ConvLSTM2D(2, 3, unroll=True)


def _conv3(x, k, s, padding, d=(1, 1, 1)):
    """x (B, D, H, W, C), k (kd, kh, kw, C, G) -> (B, Do, Ho, Wo, G)"""
    ks = k.shape[:3]
    o, pads = zip(*(_pads(x.shape[1 + a], d[a] * (ks[a] - 1) + 1, s[a], padding) for a in range(3)))
    xp = np.pad(x, ((0, 0),) + tuple((pads[a], ks[a] * d[a] + o[a] * s[a]) for a in range(3)) + ((0, 0),))
    out = np.zeros((x.shape[0],) + o + (k.shape[4],))
    for a in range(ks[0]):
        for b in range(ks[1]):
            for e in range(ks[2]):
                patch = xp[:, a * d[0]:a * d[0] + o[0] * s[0]:s[0], b * d[1]:b * d[1] + o[1] * s[1]:s[1],
                           e * d[2]:e * d[2] + o[2] * s[2]:s[2], :]
                out += np.einsum("bdhwc,cg->bdhwg", patch, k[a, b, e])
    return out


def conv_lstm3d_numpy(x, K, U, b, strides, padding, dilation=(1, 1, 1), seq=False, back=False):
    """x (B, T, D, H, W, C) float64"""
    F = U.shape[3]
    h = c = None
    ys = []
    for t in (range(x.shape[1] - 1, -1, -1) if back else range(x.shape[1])):
        z = _conv3(x[:, t], K, strides, padding, dilation) + (b if b is not None else 0.0)
        if h is None:
            h = np.zeros(z.shape[:4] + (F,))
            c = np.zeros_like(h)
        z = z + _conv3(h, U, (1, 1, 1), "same")
        i, f, g, o = _sig(z[..., :F]), _sig(z[..., F:2 * F]), np.tanh(z[..., 2 * F:3 * F]), _sig(z[..., 3 * F:])
        c = f * c + i * g
        h = o * np.tanh(c)
        ys.append(h)
    return np.stack(ys, 1) if seq else h


@pytest.mark.parametrize("kw", [
    dict(padding="same", strides=(1, 2, 1), return_sequences=True),
    dict(padding="valid", go_backwards=True),
    dict(padding="valid", dilation_rate=(2, 1, 1), return_sequences=True, go_backwards=True, use_bias=False),
])
def test_conv_lstm3d_against_numpy(kw):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 5, 4, 4, 2)).astype(np.float32)
    layer = ConvLSTM3D(2, (2, 3, 2), **kw)
    y = layer(x)
    ws = [w.astype(np.float64) for w in layer.get_weights()]
    assert ws[0].shape == (2, 3, 2, 2, 8) and ws[1].shape == (2, 3, 2, 2, 8)
    want = conv_lstm3d_numpy(x.astype(np.float64), ws[0], ws[1], ws[2] if len(ws) > 2 else None,
                             kw.get("strides", (1, 1, 1)), kw["padding"], kw.get("dilation_rate", (1, 1, 1)),
                             kw.get("return_sequences", False), kw.get("go_backwards", False))
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_conv_lstm3d_shapes():
    x = Input(shape=(3, 5, 6, 7, 2))
    assert ConvLSTM3D(4, 3)(x).shape == (None, 3, 4, 5, 4)
    assert ConvLSTM3D(2, (3, 1, 2), strides=2, padding="same", return_sequences=True)(x).shape == \
        (None, 3, 3, 3, 4, 2)


def moving_dot3(n, seed):
    """class 1: a bright voxel moving right through the frames"""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    v = rng.random((n, 3, 3, 4, 4, 1), dtype=np.float32) * 0.3
    for t in range(3):
        v[y == 1, t, 1, 2, t, 0] += 1.0
        v[y == 0, t, 1, 2, 3 - t, 0] += 1.0
    return v, y


def test_conv_lstm3d_trains_and_round_trips(tmp_path):
    x, y = moving_dot3(32, 2)
    inp = Input(shape=(3, 3, 4, 4, 1), name="vol")
    h = ConvLSTM3D(3, 2, padding="same", return_sequences=True, name="cl1")(inp)
    h = ConvLSTM3D(2, (1, 2, 2), strides=(1, 2, 2), go_backwards=True, name="cl2")(h)
    m = Model(inp, Dense(2, activation="softmax", name="out")(Flatten()(h)), seed=5)
    m.compile(optimizer=Adam(0.02), loss="sparse_categorical_crossentropy")
    loss = m.fit(x, y, epochs=12, batch_size=16, verbose=0).history["loss"]
    assert loss[-1] < 0.7 * loss[0], loss
    p = m.predict(x, verbose=0)
    m.save(str(tmp_path / "cl3.lf"))
    assert np.array_equal(load_model(str(tmp_path / "cl3.lf")).predict(x, verbose=0), p)
    path = str(tmp_path / "cl3.keras")
    m.save(path)
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    layers = {e["config"]["name"]: e for e in cfg["config"]["layers"]}
    c2 = layers["cl2"]["config"]
    assert layers["cl2"]["class_name"] == "ConvLSTM3D" and c2["kernel_size"] == [1, 2, 2]
    assert c2["strides"] == [1, 2, 2] and c2["go_backwards"] is True and c2["filters"] == 2
    with zipfile.ZipFile(path) as z, h5py.File(z.open("model.weights.h5"), "r") as f:
        assert f["layers/conv_lstm3d_1/cell/vars/0"].shape == (1, 2, 2, 3, 8)  # kernel
        assert f["layers/conv_lstm3d_1/cell/vars/1"].shape == (1, 2, 2, 2, 8)  # recurrent_kernel
        assert f["layers/conv_lstm3d_1/cell/vars/2"].shape == (8,)
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), p)
    assert back.get_layer("cl2").go_backwards and back.get_layer("cl1").return_sequences


def test_conv_lstm3d_refusals():
    with pytest.raises(ValueError, match=r"^ConvLSTM3D: input of shape \(None, 2, 6, 5, 3\) must be \(batch, time, "
                                         r"depth, rows, cols, channels\)$"):
        ConvLSTM3D(2, 3)(Input(shape=(2, 6, 5, 3)))
    with pytest.raises(ValueError, match=r"^ConvLSTM3D: input of shape \(None, 2, 2, 6, 5, 3\) is smaller than the "
                                         r"kernel \(3, 3, 3\) with padding 'valid'$"):
        ConvLSTM3D(2, 3)(Input(shape=(2, 2, 6, 5, 3)))
    with pytest.raises(ValueError, match=r"^ConvLSTM3D: kernel_size must be a positive integer or a tuple of 3 of "
                                         r"them, got \(3, 3\)$"):
        ConvLSTM3D(2, (3, 3))
    with pytest.raises(ValueError, match=r"^ConvLSTM3D: `strides > 1` not supported in conjunction with "
                                         r"`dilation_rate > 1`. Received: strides=\(1, 1, 2\) and "
                                         r"dilation_rate=\(2, 1, 1\)$"):
        ConvLSTM3D(2, 3, strides=(1, 1, 2), dilation_rate=(2, 1, 1))
    with pytest.raises(ValueError, match=r"^ConvLSTM3D: dropout and recurrent_dropout are not available \(only 0\), "
                                         r"got 0.0 and 0.1$"):
        ConvLSTM3D(2, 3, recurrent_dropout=0.1)
