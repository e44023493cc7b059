"""
test_video.py — videos (N, T, H, W, C) and TimeDistributed through the
Keras-style API: shapes at call time, the steps against the wrapped layer
on each frame alone (one set of weights), a wrapped model
(TimeDistributed(cnn_model)), a video + audio two-branch model that learns
a synthetic task (seeded; accuracy well above chance) and comes back from
the latefuse model file and from a .keras file predicting bit for bit,
the global 3-D poolings against numpy, and the refusals; a padding mask
through it (each step's to the wrapped layer, none after it, as Keras 3);
model.layers, get_layer and summary() with it as one layer, as Keras'.
"""
import io
import json
import zipfile

import numpy as np
import pytest

import latefuse
from latefuse import Model, Sequential, load_model
from latefuse.layers import (LSTM, BatchNormalization, Concatenate, Conv2D, Dense, Embedding, Flatten,
                             GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling3D,
                             Input, MaxPooling2D, Reshape, TimeDistributed)
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
    with pytest.raises(ValueError, match=r"^Input: shape must be 1 to 5 dims"):
        Input(shape=(1, 2, 3, 4, 5, 6))
    assert latefuse.layers.TimeDistributed is TimeDistributed


def _emb(ids, mask_zero):
    """Embedding(6, 2) with row k = (k, -k / 2)"""
    e = Embedding(6, 2, mask_zero=mask_zero)
    y = e(ids)
    return e, y


def _table():
    return [np.stack([np.arange(6), -0.5 * np.arange(6)], axis=1).astype(np.float32)]


IDS = np.array([[[3, 0, 5, 0], [0, 0, 0, 0], [1, 2, 3, 4]],
                [[0, 0, 0, 2], [4, 4, 0, 1], [5, 1, 0, 0]]])


def test_mask_per_step():
    """Keras 3's TimeDistributed.call gives the wrapped layer each step's
    mask (mask[i]): an LSTM on the steps gives the bits of the LSTM alone on
    the 6 rows of 4 tokens; GlobalAveragePooling1D on the steps averages
    each step's real tokens (0 where all are padding)"""
    ids = Input(shape=(3, 4), dtype="int32")
    e, x = _emb(ids, True)
    lstm = LSTM(3)
    m = Model(ids, TimeDistributed(lstm)(x), seed=1)
    e.set_weights(_table())
    one = Input(shape=(4,), dtype="int32")
    e1, x1 = _emb(one, True)
    alone = Model(one, lstm(x1))
    e1.set_weights(_table())
    got = m.predict(IDS, verbose=0)
    assert got.shape == (2, 3, 3)
    assert np.array_equal(got, alone.predict(IDS.reshape(6, 4), verbose=0).reshape(2, 3, 3))
    ids2 = Input(shape=(3, 4), dtype="int32")
    e2, x2 = _emb(ids2, True)
    p = Model(ids2, TimeDistributed(GlobalAveragePooling1D())(x2))
    e2.set_weights(_table())
    n = (IDS != 0).sum(axis=2, keepdims=True)
    s = IDS.sum(axis=2, keepdims=True) / np.maximum(n, 1)
    want = np.where(n > 0, np.concatenate([s, -0.5 * s], axis=2), 0)
    np.testing.assert_allclose(p.predict(IDS, verbose=0), want, rtol=1e-6, atol=1e-6)


def test_mask_ends_at_the_wrapper(tmp_path):
    """Keras 3's TimeDistributed does not support masking: after it a
    GlobalAveragePooling1D averages every step, the bits of the model
    without the mask; Dense without the wrapper keeps it (a masked mean)"""
    flat = IDS.reshape(2, 12)
    outs = []
    for wrap, mask_zero in ((True, True), (True, False), (False, True)):
        ids = Input(shape=(12,), dtype="int32")
        e, x = _emb(ids, mask_zero)
        d = Dense(2, kernel_initializer="ones", bias_initializer="ones")
        h = TimeDistributed(d)(x) if wrap else d(x)
        m = Model(ids, GlobalAveragePooling1D()(h))
        e.set_weights(_table())
        outs.append(m.predict(flat, verbose=0))
        if wrap and mask_zero:
            m.save(str(tmp_path / "m.lf"))
            assert np.array_equal(load_model(str(tmp_path / "m.lf")).predict(flat, verbose=0), outs[0])
    assert np.array_equal(outs[0], outs[1])
    assert not np.allclose(outs[0], outs[2])


def test_layers_summary_as_keras():
    """model.layers, get_layer and summary() show a TimeDistributed as one
    layer, as Keras (its .layer the wrapped one): no TimeDistributedInput,
    no wrapped layers; its row the wrapped layers' parameters, connected to
    the tensor it was called on"""
    frames = Input(shape=(3, 6, 6, 2), name="frames")
    conv = Conv2D(4, 3, name="conv")
    h = TimeDistributed(conv, name="tdc")(frames)
    img = Input(shape=(4, 4, 4))
    cnn = Model(img, Dense(2, name="head")(Flatten()(img)), name="cnn")
    h = TimeDistributed(cnn, name="tdm")(h)
    m = Model(frames, GlobalAveragePooling1D(name="gap")(h))
    assert [ly.name for ly in m.layers] == ["frames", "tdc", "tdm", "gap"]
    assert m.get_layer("tdc").layer is conv and m.get_layer(index=2).layer is cnn
    for hidden in ("time_distributed_input", "conv", "head"):
        with pytest.raises(ValueError, match=r"^No such layer: %s\. Existing layers are: frames, tdc, tdm, gap$"
                                             % hidden):
            m.get_layer(hidden)
    lines = []
    m.summary(print_fn=lines.append)
    rows = [ln for ln in lines[0].split("\n") if " (" in ln and not ln.startswith(("Model", "Layer", " "))]
    assert [r.split()[0] for r in rows] == ["frames", "tdc", "tdm", "gap"]
    assert rows[1].split()[-2:] == ["76", "frames"]  # 3 * 3 * 2 * 4 + 4
    assert rows[2].split()[-2:] == ["130", "tdc"]  # 64 * 2 + 2
    assert "Total params: 206" in lines[0]
    lines = []
    m.summary(print_fn=lines.append, show_trainable=True)
    assert [ln.split()[-1] for ln in lines[0].split("\n") if ln.startswith(("tdc", "tdm"))] == ["Y", "Y"]


def test_keras_file_wrapped_models(tmp_path):
    """TimeDistributed(model) in a .keras file: the wrapped Functional or
    Sequential as Keras serializes it (its own config under "layer", its
    weights under <wrapper>/layer/layers/...), its layers named as in the
    saving model (the reader inlines them there); trained (BatchNormalization's
    moving statistics included), saved, loaded: the same bits"""
    img = Input(shape=(6, 6, 1))
    h = BatchNormalization()(Conv2D(4, 3, padding="same", activation="relu")(img))
    cnn = Model(img, Dense(4, activation="relu")(GlobalAveragePooling2D()(MaxPooling2D()(h))), name="frame_cnn")
    video = Input(shape=(3, 6, 6, 1), name="video")
    v = GlobalAveragePooling1D()(TimeDistributed(cnn, name="per_frame")(video))
    seq = Sequential([Input(shape=(4,)), Dense(3), Dense(2)])
    m = Model(video, Dense(2)(TimeDistributed(seq, name="per_row")(Reshape((1, 4))(v))))
    m.compile(optimizer=Adam(0.01), loss="mse")
    x = np.random.default_rng(5).random((6, 3, 6, 6, 1), dtype=np.float32)
    m.fit(x, np.ones((6, 1, 2), dtype=np.float32), epochs=2, batch_size=3, verbose=0)
    p = m.predict(x, verbose=0)
    path = str(tmp_path / "wrapped.keras")
    m.save(path)
    z = zipfile.ZipFile(path)
    layers = json.loads(z.read("config.json"))["config"]["layers"]
    inner = layers[1]["config"]["layer"]
    assert (layers[1]["class_name"], inner["class_name"]) == ("TimeDistributed", "Functional")
    assert [e["class_name"] for e in inner["config"]["layers"]] == ["InputLayer", "Conv2D", "BatchNormalization",
                                                                   "MaxPooling2D", "GlobalAveragePooling2D", "Dense"]
    assert layers[4]["config"]["layer"]["class_name"] == "Sequential"
    names = [e["config"]["name"] for e in inner["config"]["layers"][1:]]
    names += [e["config"]["name"] for e in layers[4]["config"]["layer"]["config"]["layers"][1:]]
    assert len(set(names)) == len(names), names  # "dense" in both wrapped models alone
    h5py = pytest.importorskip("h5py")
    with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        assert f["layers/time_distributed/layer/layers/batch_normalization/vars/3"].shape == (4,)
        assert f["layers/time_distributed_1/layer/layers/dense_1/vars/0"].shape == (3, 2)
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), p)
    assert [ly.name for ly in back.layers] == [ly.name for ly in m.layers]
