"""
test_video.py — videos (N, T, H, W, C) and TimeDistributed through the
Keras-style API: shapes at call time, the steps against the wrapped layer
on each frame alone (one set of weights), a wrapped model
(TimeDistributed(cnn_model)), a video + audio two-branch model that learns
a synthetic task (seeded; accuracy well above chance) and comes back from
the latefuse model file and from a .keras file predicting bit for bit,
the global 3-D poolings against numpy, and the refusals.
"""
import json
import zipfile

import numpy as np
import pytest

import latefuse
from latefuse import Model, load_model
from latefuse.layers import (Concatenate, Conv2D, Dense, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D,
                             GlobalAveragePooling3D, GlobalMaxPooling3D, Input, MaxPooling2D, TimeDistributed)
from latefuse.optimizers import Adam


def test_shapes_and_steps_vs_frames():
    frames = Input(shape=(8, 32, 32, 3))
    conv = Conv2D(8, 3)
    y = TimeDistributed(conv)(frames)
    assert y.shape == (None, 8, 30, 30, 8)
    m = Model(frames, y)
    x = np.random.default_rng(0).random((2, 8, 32, 32, 3), dtype=np.float32)
    got = m.predict(x, verbose=0)
    assert got.shape == (2, 8, 30, 30, 8)
    # the same Conv2D (its weights) on the 16 frames as a batch of images
    img = Input(shape=(32, 32, 3))
    one = Model(img, conv(img))
    want = one.predict(x.reshape(16, 32, 32, 3), verbose=0).reshape(got.shape)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert len(TimeDistributed(Dense(2)).get_weights()) == 0  # never called: no weights yet
    td = m.layers[-1]
    assert isinstance(td, TimeDistributed) and [w.shape for w in td.get_weights()] == [(3, 3, 3, 8), (8,)]


def video_audio_model(seed):
    img = Input(shape=(6, 6, 1))
    h = Conv2D(4, 3, padding="same", activation="relu")(img)
    h = GlobalAveragePooling2D()(MaxPooling2D()(h))
    cnn = Model(img, Dense(4, activation="relu")(h), name="frame_cnn")
    video = Input(shape=(4, 6, 6, 1), name="video")
    v = GlobalAveragePooling1D()(TimeDistributed(cnn, name="per_frame")(video))
    audio = Input(shape=(5,), name="audio")
    a = Dense(4, activation="relu")(audio)
    out = Dense(2, activation="softmax")(Concatenate()([v, a]))
    m = Model([video, audio], out, seed=seed)
    m.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def synthetic(n, seed):
    """class 1: a bright square in the frames; the audio is noise"""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    v = rng.random((n, 4, 6, 6, 1), dtype=np.float32) * 0.3
    v[y == 1, :, 1:4, 1:4, :] += 0.7
    a = rng.standard_normal((n, 5)).astype(np.float32)
    return [v, a], y


def test_video_audio_model_trains_and_round_trips(tmp_path):
    x, y = synthetic(256, 1)
    m = video_audio_model(7)
    m.fit(x, y, epochs=10, batch_size=16, verbose=0)
    xt, yt = synthetic(128, 2)
    acc = float(np.mean(np.argmax(m.predict(xt, verbose=0), axis=1) == yt))
    assert acc >= 0.9, acc  # chance: about 0.5
    p = m.predict(xt, verbose=0)
    m.save(str(tmp_path / "av.lf"))
    back = load_model(str(tmp_path / "av.lf"))
    assert np.array_equal(back.predict(xt, verbose=0), p)
    # the same seed, the same bits
    m2 = video_audio_model(7)
    m2.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert np.array_equal(m2.predict(xt, verbose=0), p)


def test_keras_file_round_trip(tmp_path):
    frames = Input(shape=(3, 6, 6, 2))
    h = TimeDistributed(Conv2D(4, 3, activation="relu"), name="tdc")(frames)
    h = TimeDistributed(Flatten())(h)
    h = TimeDistributed(Dense(3))(h)
    m = Model(frames, Dense(2)(GlobalAveragePooling1D()(h)))
    x = np.random.default_rng(3).random((5, 3, 6, 6, 2), dtype=np.float32)
    p = m.predict(x, verbose=0)
    path = str(tmp_path / "td.keras")
    m.save(path)
    cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
    layers = cfg["config"]["layers"]
    assert [e["class_name"] for e in layers] == ["InputLayer", "TimeDistributed", "TimeDistributed",
                                                 "TimeDistributed", "GlobalAveragePooling1D", "Dense"]
    assert layers[1]["config"]["layer"]["class_name"] == "Conv2D"
    assert layers[1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] == layers[0]["name"]
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), p)


def test_global_pool3d(tmp_path):
    video = Input(shape=(3, 4, 5, 2))
    m = Model(video, Concatenate()([GlobalMaxPooling3D()(video), GlobalAveragePooling3D()(video)]))
    x = np.random.default_rng(4).standard_normal((3, 3, 4, 5, 2)).astype(np.float32)
    got = m.predict(x, verbose=0)
    np.testing.assert_allclose(got, np.concatenate([x.max(axis=(1, 2, 3)), x.mean(axis=(1, 2, 3))], axis=1),
                               rtol=1e-6, atol=1e-6)
    path = str(tmp_path / "gp3.keras")
    m.save(path)
    assert np.array_equal(load_model(path).predict(x, verbose=0), got)
    with pytest.raises(ValueError, match=r"GlobalAveragePooling3D: input of shape \(None, 4, 5, 2\) must be"):
        GlobalAveragePooling3D()(Input(shape=(4, 5, 2)))


def test_refusals():
    with pytest.raises(ValueError, match=r"^`TimeDistributed` Layer should be passed an `input_shape` with at least "
                                         r"3 dimensions, received: \(None, 12\)$"):
        TimeDistributed(Dense(2))(Input(shape=(12,)))
    with pytest.raises(ValueError, match="Please initialize `TimeDistributed` layer with a `keras.layers.Layer`"):
        TimeDistributed(3)
    with pytest.raises(ValueError, match=r"^Input: shape must be 1 to 4 dims"):
        Input(shape=(1, 2, 3, 4, 5))
    assert latefuse.layers.TimeDistributed is TimeDistributed
