"""
test_conv3d.py — Conv3D, MaxPooling3D, AveragePooling3D through the
Keras-style API: shapes at call time, a tiny C3D-style model that trains
(its loss falls) and comes back from the latefuse model file and from a
.keras file predicting bit for bit (the .keras config under Keras' names and
arguments, the kernel in Keras' (kd, kh, kw, in, filters) layout), Conv3D
against numpy, dilated too (its files keep the dilation), the 'same'
average over the real voxels, and the refusals.
"""
import json
import zipfile

import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.layers import AveragePooling3D, Conv3D, Dense, Flatten, Input, MaxPooling3D
from latefuse.optimizers import Adam


def c3d(seed):
    video = Input(shape=(4, 8, 8, 1), name="video")
    h = Conv3D(4, 3, padding="same", activation="relu", name="conv1")(video)
    h = MaxPooling3D(pool_size=(1, 2, 2), name="pool1")(h)
    h = Conv3D(6, (2, 3, 3), strides=(1, 2, 2), padding="same", activation="relu", name="conv2")(h)
    h = AveragePooling3D(pool_size=(3, 2, 2), strides=2, padding="same", name="pool2")(h)
    m = Model(video, Dense(2, activation="softmax")(Flatten()(h)), seed=seed)
    m.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy")
    return m


def synthetic(n, seed):
    """class 1: a bright cube moving through the frames"""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    v = rng.random((n, 4, 8, 8, 1), dtype=np.float32) * 0.3
    for t in range(4):
        v[y == 1, t, 2 + t // 2:5 + t // 2, 2:5, :] += 0.7
    return v, y


def test_shapes():
    x = Input(shape=(5, 9, 7, 3))
    assert Conv3D(4, (2, 3, 3), strides=(1, 2, 2), padding="same")(x).shape == (None, 5, 5, 4, 4)
    assert Conv3D(4, 3)(x).shape == (None, 3, 7, 5, 4)
    assert MaxPooling3D()(x).shape == (None, 2, 4, 3, 3)
    assert AveragePooling3D((2, 2, 2), padding="same")(x).shape == (None, 3, 5, 4, 3)


def test_c3d_trains_and_round_trips(tmp_path):
    x, y = synthetic(64, 1)
    m = c3d(7)
    h = m.fit(x, y, epochs=8, batch_size=16, verbose=0)
    loss = h.history["loss"]
    assert loss[-1] < 0.5 * loss[0], loss
    p = m.predict(x, verbose=0)
    m.save(str(tmp_path / "c3d.lf"))
    assert np.array_equal(load_model(str(tmp_path / "c3d.lf")).predict(x, verbose=0), p)
    path = str(tmp_path / "c3d.keras")
    m.save(path)
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    layers = {e["config"]["name"]: e for e in cfg["config"]["layers"]}
    c2 = layers["conv2"]["config"]
    assert layers["conv2"]["class_name"] == "Conv3D" and c2["kernel_size"] == [2, 3, 3]
    assert c2["strides"] == [1, 2, 2] and c2["padding"] == "same" and c2["dilation_rate"] == [1, 1, 1]
    assert layers["pool2"]["class_name"] == "AveragePooling3D" and layers["pool2"]["config"]["strides"] == [2, 2, 2]
    assert layers["pool1"]["class_name"] == "MaxPooling3D" and layers["pool1"]["config"]["pool_size"] == [1, 2, 2]
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), p)
    assert [w.shape for w in back.get_layer("conv2").get_weights()] == [(2, 3, 3, 4, 6), (6,)]


def test_conv3d_vs_numpy_and_same_average():
    x = Input(shape=(3, 4, 5, 2))
    conv = Conv3D(3, (2, 3, 2), strides=(1, 2, 2), padding="same", name="c")
    m = Model(x, [conv(x), AveragePooling3D((2, 3, 2), strides=(2, 2, 2), padding="same")(x)])
    k, b = [w.copy() for w in conv.get_weights()]
    rng = np.random.default_rng(5)
    k = rng.standard_normal(k.shape).astype(np.float32)
    b = rng.standard_normal(b.shape).astype(np.float32)
    conv.set_weights([k, b])
    v = rng.standard_normal((2, 3, 4, 5, 2)).astype(np.float32)
    got, avg = m.predict(v, verbose=0)
    # Keras 'same': D 3 -> 3, pad (0, 1); H 4 -> 2, pad (0, 1); W 5 -> 3, pad (0, 1)
    vp = np.pad(v.astype(np.float64), ((0, 0), (0, 1), (0, 1), (0, 1), (0, 0)))
    want = np.zeros((2, 3, 2, 3, 3))
    for d in range(3):
        for i in range(2):
            for j in range(3):
                patch = vp[:, d:d + 2, 2 * i:2 * i + 3, 2 * j:2 * j + 2, :]
                want[:, d, i, j, :] = np.einsum("bdhwc,dhwcf->bf", patch, k) + b
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    ones = m.predict(np.ones((1, 3, 4, 5, 2), np.float32), verbose=0)[1]
    assert np.array_equal(ones, np.ones_like(ones))  # divided by the real voxels, not the window's 12


def test_dilated_vs_numpy_and_round_trips(tmp_path):
    """dilation_rate (2, 1, 3), 'same' over the dilated window (3, 2, 7): pads
    (1, 1), (0, 1), (3, 3); the .lf and .keras files keep it"""
    x = Input(shape=(4, 3, 8, 2))
    conv = Conv3D(3, (2, 2, 3), padding="same", dilation_rate=(2, 1, 3), name="c")
    m = Model(x, conv(x))
    assert m.output_shape == (None, 4, 3, 8, 3)
    rng = np.random.default_rng(6)
    k = rng.standard_normal((2, 2, 3, 2, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    conv.set_weights([k, b])
    v = rng.standard_normal((2, 4, 3, 8, 2)).astype(np.float32)
    got = m.predict(v, verbose=0)
    vp = np.pad(v.astype(np.float64), ((0, 0), (1, 1), (0, 1), (3, 3), (0, 0)))
    want = np.zeros((2, 4, 3, 8, 3))
    for d in range(4):
        for i in range(3):
            for j in range(8):
                patch = vp[:, d:d + 3:2, i:i + 2, j:j + 7:3, :]
                want[:, d, i, j, :] = np.einsum("bdhwc,dhwcf->bf", patch, k) + b
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert Conv3D(2, 3, dilation_rate=2)(Input(shape=(5, 6, 7, 1))).shape == (None, 1, 2, 3, 2)
    for f in ("d.lf", "d.keras"):
        m.save(str(tmp_path / f))
        back = load_model(str(tmp_path / f))
        assert back.get_layer("c").dilation_rate == (2, 1, 3)
        assert np.array_equal(back.predict(v, verbose=0), got)
    cfg = json.loads(zipfile.ZipFile(str(tmp_path / "d.keras")).read("config.json"))
    c = [e for e in cfg["config"]["layers"] if e["config"]["name"] == "c"][0]["config"]
    assert c["dilation_rate"] == [2, 1, 3]


def test_refusals():
    with pytest.raises(ValueError, match=r"^Conv3D: input of shape \(None, 2, 6, 5, 3\) is smaller than the kernel "
                                         r"\(3, 3, 3\) with padding 'valid'$"):
        Conv3D(4, 3)(Input(shape=(2, 6, 5, 3)))
    with pytest.raises(ValueError, match=r"^Conv3D: input of shape \(None, 6, 5, 3\) must be \(batch, frames, height, "
                                         r"width, channels\)$"):
        Conv3D(4, 3)(Input(shape=(6, 5, 3)))
    with pytest.raises(ValueError, match=r"^Conv3D: `strides > 1` not supported in conjunction with `dilation_rate > "
                                         r"1`. Received: strides=\(1, 2, 1\) and dilation_rate=\(2, 2, 2\)$"):
        Conv3D(4, 3, strides=(1, 2, 1), dilation_rate=2)
    with pytest.raises(ValueError, match=r"^Conv3D: data_format must be 'channels_last'"):
        Conv3D(4, 3, data_format="channels_first")
    with pytest.raises(ValueError, match=r"^MaxPooling3D: input of shape \(None, 1, 6, 5, 3\) is smaller than the "
                                         r"pool \(2, 2, 2\) with padding 'valid'$"):
        MaxPooling3D()(Input(shape=(1, 6, 5, 3)))
    with pytest.raises(ValueError, match=r"^AveragePooling3D: pool_size must be a positive integer or a tuple of 3"):
        AveragePooling3D((2, 2))
