"""
test_reshaping_layers.py — Keras 3's RepeatVector, Permute, UpSampling1D,
ZeroPadding1D and Cropping1D (keras/src/layers/reshaping/repeat_vector.py,
permute.py, up_sampling1d.py, zero_padding1d.py, cropping1d.py) in Python:
outputs against PyTorch, Keras' output shapes and summary counts, get_config
keys and from_config, the model file and .keras files (predictions bit for
bit, Keras' config keys), Keras' errors word for word.
"""
import json
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import latefuse as keras
from latefuse import layers
from latefuse.models import Model, load_model


def _model():
    """a Dense before each layer, so that a wrong layout shows in the
    output; returns the model and the Dense layers"""
    seq = keras.Input(shape=(5, 3), name="seq")
    vec = keras.Input(shape=(4,), name="vec")
    cube = keras.Input(shape=(2, 3, 4), name="cube")
    d = layers.Dense(3, name="d")(seq)
    outs = [layers.RepeatVector(3, name="rv")(layers.Dense(2, name="dv")(vec)),
            layers.Permute((2, 1), name="p21")(d),
            layers.Permute((3, 1, 2), name="p312")(cube),
            layers.UpSampling1D(3, name="up")(d),
            layers.ZeroPadding1D((2, 1), name="zp")(d),
            layers.ZeroPadding1D(name="zp1")(d),
            layers.Cropping1D((1, 2), name="cr")(d),
            layers.Cropping1D(name="cr1")(d)]
    return Model([seq, vec, cube], outs)


def _data(n=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 5, 3)).astype("float32"), rng.normal(size=(n, 4)).astype("float32"),
            rng.normal(size=(n, 2, 3, 4)).astype("float32")]


def test_outputs_against_pytorch():
    m = _model()
    xs = _data()
    got = m.predict(xs, verbose=0)
    (k, b), (kv, bv) = m.get_layer("d").get_weights(), m.get_layer("dv").get_weights()
    d = torch.tensor(xs[0]) @ torch.tensor(k) + torch.tensor(b)
    v = torch.tensor(xs[1]) @ torch.tensor(kv) + torch.tensor(bv)
    want = [v[:, None, :].expand(-1, 3, -1), d.permute(0, 2, 1), torch.tensor(xs[2]).permute(0, 3, 1, 2),
            d.repeat_interleave(3, dim=1), F.pad(d, (0, 0, 2, 1)), F.pad(d, (0, 0, 1, 1)), d[:, 1:5 - 2],
            d[:, 1:-1]]
    shapes = [(3, 2), (3, 5), (4, 2, 3), (15, 3), (8, 3), (7, 3), (2, 3), (3, 3)]
    for g, w, s, o in zip(got, want, shapes, m.outputs):
        assert g.shape[1:] == s and tuple(o.shape[1:]) == s
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-6, atol=1e-6)


def test_summary_counts_and_mask_ends():
    m = _model()
    assert m.count_params() == 4 * 2 + 2 + 3 * 3 + 3  # the two Dense layers only
    assert all(m.get_layer(n).count_params() == 0 for n in ("rv", "p21", "p312", "up", "zp", "cr"))
    # Keras 3's layers have no compute_mask: the mask ends (an Embedding's
    # padding, pooled before and after: GlobalAveragePooling1D over all steps)
    ids = keras.Input(shape=(4,), dtype="int32")
    emb = layers.Embedding(5, 2, mask_zero=True)
    e = emb(ids)
    pooled = layers.GlobalAveragePooling1D()(layers.ZeroPadding1D((0, 0))(e))
    mp = Model(ids, pooled)
    w = np.ones((5, 2), "float32")
    w[0] = 0
    emb.set_weights([w])
    y = mp.predict(np.array([[1, 2, 0, 0]]), verbose=0)
    np.testing.assert_array_equal(y, [[0.5, 0.5]])  # the padded steps count (masked: 1)


def test_config_keys_and_round_trip():
    cases = [(layers.RepeatVector(4), {"n": 4}), (layers.Permute([2, 1]), {"dims": [2, 1]}),
             (layers.UpSampling1D(), {"size": 2}),
             (layers.ZeroPadding1D(3), {"padding": [3, 3], "data_format": "channels_last"}),
             (layers.Cropping1D((0, 2)), {"cropping": [0, 2]})]
    for layer, want in cases:
        cfg = layer.get_config()
        assert {k: v for k, v in cfg.items() if k not in ("name", "trainable")} == want
        again = type(layer).from_config(cfg)
        assert again.get_config() == cfg


def test_model_files_bit_for_bit(tmp_path):
    m = _model()
    m.compile(optimizer="adam", loss="mse")
    xs = _data(8, 1)
    m.fit(xs, [np.zeros((8,) + tuple(o.shape[1:]), "float32") for o in m.outputs], epochs=2, verbose=0)
    want = m.predict(xs, verbose=0)
    for name in ("m.lf", "m.keras"):
        path = str(tmp_path / name)
        m.save(path)
        got = load_model(path).predict(xs, verbose=0)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    with zipfile.ZipFile(str(tmp_path / "m.keras")) as z:
        cfg = json.loads(z.read("config.json"))
    by = {e["config"]["name"]: e for e in cfg["config"]["layers"]}
    assert by["rv"]["class_name"] == "RepeatVector" and by["rv"]["config"]["n"] == 3
    assert by["p312"]["config"]["dims"] == [3, 1, 2]
    assert by["up"]["config"]["size"] == 3
    assert by["zp"]["config"]["padding"] == [2, 1] and by["zp"]["config"]["data_format"] == "channels_last"
    assert by["cr"]["config"]["cropping"] == [1, 2]


def test_keras_errors():
    with pytest.raises(TypeError, match=r"^Expected an integer value for `n`, got <class 'float'>\.$"):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match=r"^Argument `n` should be a positive integer\. Received: n=0$"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match=r"^Argument `size` should be a positive integer\. Received: size=-1$"):
        layers.UpSampling1D(-1)
    with pytest.raises(TypeError, match=r"^Expected an integer value for `size`, got <class 'bool'>\.$"):
        layers.UpSampling1D(True)
    with pytest.raises(ValueError, match=r"^Invalid permutation argument `dims` for Permute Layer\. The set of "
                                         r"indices in `dims` must be consecutive and start from 1\. Received "
                                         r"dims=\(0, 1\)$"):
        layers.Permute((0, 1))
    with pytest.raises(ValueError, match=r"^The `padding` argument must be a tuple of 2 integers\. Received "
                                         r"padding=\(1, -2\), including values \{-2\} that do not satisfy "
                                         r"`value >= 0`$"):
        layers.ZeroPadding1D((1, -2))
    with pytest.raises(ValueError, match=r"^The `cropping` argument must be a tuple of 2 integers\. Received "
                                         r"cropping=\(1, 2, 3\)$"):
        layers.Cropping1D((1, 2, 3))
    with pytest.raises(ValueError, match=r"^`cropping` parameter of `Cropping1D` layer must be smaller than the "
                                         r"input length\. Received: input_shape=\(None, 3, 2\), cropping=\(2, 1\)$"):
        layers.Cropping1D((2, 1))(keras.Input(shape=(3, 2)))
    with pytest.raises(ValueError, match=r"^Permute: input of shape \(None, 3, 2\) must have 3 axes"):
        layers.Permute((1, 3, 2))(keras.Input(shape=(3, 2)))
    with pytest.raises(ValueError, match=r"^RepeatVector: input of shape \(None, 3, 2\) must be \(batch, features\)$"):
        layers.RepeatVector(2)(keras.Input(shape=(3, 2)))
    with pytest.raises(ValueError, match=r"^ZeroPadding1D: data_format must be 'channels_last'"):
        layers.ZeroPadding1D(data_format="channels_first")
