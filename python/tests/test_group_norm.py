"""
test_group_norm.py — Keras 3's GroupNormalization and UnitNormalization
(src/layers/group_norm.c; tests/test_group_norm.c checks them in C): eager
values against numpy (a sequence, an image, groups 1 and -1), a model fit
that trains gamma and beta, the .lf and .keras round trips predicting the
same bits (Keras' config names and groups 1 kept, the variables gamma and
beta in model.weights.h5), and Keras' errors word for word.
"""
import io
import json
import zipfile

import numpy as np
import pytest

import latefuse as keras
from latefuse import layers as L
from latefuse._lib import LatefuseError
from latefuse.models import Model, load_model


def _gn(x, groups, eps=1e-3, gamma=None, beta=None):
    """Keras' group_normalization.py in float64: x (B, ..., C)"""
    x = np.asarray(x, dtype=np.float64)
    B, C = x.shape[0], x.shape[-1]
    g = x.reshape(B, -1, groups, C // groups)
    mean = g.mean(axis=(1, 3), keepdims=True)
    var = ((g - mean) ** 2).mean(axis=(1, 3), keepdims=True)
    y = ((g - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return y * (1 if gamma is None else gamma) + (0 if beta is None else beta)


def _un(x):
    x = np.asarray(x, dtype=np.float64)
    return x / np.sqrt(np.maximum((x * x).sum(axis=-1, keepdims=True), 1e-24))


def test_eager_values():
    r = np.random.default_rng(1)
    seq = (r.normal(size=(3, 5, 6)) * 2 + 1).astype(np.float32)
    img = r.normal(size=(2, 3, 4, 8)).astype(np.float32)
    np.testing.assert_allclose(L.GroupNormalization(groups=3)(seq), _gn(seq, 3), atol=2e-6)
    np.testing.assert_allclose(L.GroupNormalization(groups=4, epsilon=1e-5)(img), _gn(img, 4, 1e-5), atol=2e-6)
    np.testing.assert_allclose(L.GroupNormalization(groups=1)(img), _gn(img, 1), atol=2e-6)
    np.testing.assert_allclose(L.GroupNormalization(groups=-1)(img), _gn(img, 8), atol=2e-6)
    np.testing.assert_allclose(L.GroupNormalization(groups=2, axis=3)(img), _gn(img, 2), atol=2e-6)
    np.testing.assert_allclose(L.UnitNormalization()(seq), _un(seq), atol=1e-7)
    # Keras' docstring: each row's squared values sum to 1; a zero row stays 0
    y = L.UnitNormalization()(np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [0.0, 0.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose((y[:2] ** 2).sum(axis=1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(y[2], [0, 0, 0])


def _model():
    x = keras.Input((4, 6))
    h = keras.layers.Dense(6, name="pre")(x)
    a = L.GroupNormalization(groups=3, name="gn")(h)
    b = L.GroupNormalization(groups=1, epsilon=1e-5, center=False, name="gn1")(h)
    c = L.UnitNormalization(name="un")(h)
    y = keras.layers.Dense(2, name="out")(keras.layers.Flatten()(keras.layers.Concatenate()([a, b, c])))
    return Model(x, y)


def _data():
    r = np.random.default_rng(5)
    return r.normal(size=(32, 4, 6)).astype(np.float32), r.normal(size=(32, 2)).astype(np.float32)


def test_fit_trains_gamma_beta():
    m = _model()
    gamma, beta = m.get_layer("gn").get_weights()
    np.testing.assert_array_equal(gamma, np.ones(6)), np.testing.assert_array_equal(beta, np.zeros(6))
    assert len(m.get_layer("gn1").get_weights()) == 1 and m.get_layer("un").get_weights() == []
    m.compile(optimizer="adam", loss="mse")
    x, t = _data()
    first = m.evaluate(x, t, verbose=0)
    m.fit(x, t, epochs=20, batch_size=8, verbose=0)
    assert m.evaluate(x, t, verbose=0) < first
    gamma, beta = m.get_layer("gn").get_weights()
    assert (gamma != 1).any() and beta.any()
    # Keras' initializers, by name
    x2 = keras.Input((6,))
    m2 = Model(x2, L.GroupNormalization(groups=2, gamma_initializer="zeros", beta_initializer="ones", name="g")(x2))
    g, b = m2.get_layer("g").get_weights()
    np.testing.assert_array_equal(g, np.zeros(6)), np.testing.assert_array_equal(b, np.ones(6))


@pytest.mark.parametrize("ext", ["lf", "keras"])
def test_file_round_trip(tmp_path, ext):
    m = _model()
    m.compile(optimizer="adam", loss="mse")
    x, t = _data()
    m.fit(x, t, epochs=2, batch_size=8, verbose=0)
    path = str(tmp_path / ("m." + ext))
    m.save(path)
    back = load_model(path)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    got = {ly.name: ly.get_config() for ly in back.layers}
    assert got["gn"]["groups"] == 3 and got["gn"]["epsilon"] == pytest.approx(1e-3) and got["gn"]["center"]
    assert got["gn1"]["groups"] == 1 and got["gn1"]["epsilon"] == pytest.approx(1e-5) and not got["gn1"]["center"]
    assert got["un"]["axis"] == -1
    if ext == "keras":
        cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
        by = {ly["config"]["name"]: ly for ly in cfg["config"]["layers"]}
        assert by["gn1"]["class_name"] == "GroupNormalization" and by["gn1"]["module"] == "keras.layers"
        assert by["gn1"]["config"]["groups"] == 1 and by["gn1"]["config"]["gamma_initializer"]["class_name"] == "Ones"
        assert by["un"]["class_name"] == "UnitNormalization" and by["un"]["config"]["axis"] == -1
        h5py = pytest.importorskip("h5py")
        with h5py.File(io.BytesIO(zipfile.ZipFile(path).read("model.weights.h5")), "r") as f:
            # Keras' order: gamma, beta; gn1 (center=False): gamma alone
            gamma, beta = m.get_layer("gn").get_weights()
            np.testing.assert_array_equal(f["layers/group_normalization/vars/0"][()], gamma)
            np.testing.assert_array_equal(f["layers/group_normalization/vars/1"][()], beta)
            assert list(f["layers/group_normalization_1/vars"]) == ["0"]
            assert "layers/unit_normalization/vars/0" not in f
    else:
        arch = open(path, "rb").read()
        assert b"\\\"groups\\\":3" in arch and b"\\\"groups\\\":1" in arch and b"\\\"center\\\":false" in arch


def test_keras_defaults_not_written(tmp_path):
    x = keras.Input((3, 64))
    m = Model(x, L.UnitNormalization()(L.GroupNormalization()(x)))
    path = str(tmp_path / "d.lf")
    m.save(path)
    arch = open(path, "rb").read()
    for key in (b"\\\"groups\\\"", b"\\\"axis\\\"", b"\\\"center\\\"", b"\\\"scale\\\""):
        assert key not in arch, key
    np.testing.assert_array_equal(load_model(path).get_layer("group_normalization").get_config()["groups"], 32)


@pytest.mark.parametrize("make, msg", [
    (lambda: L.GroupNormalization(groups=0),
     "Received an invalid value for argument `groups`, expected a positive integer (or `-1` for instance "
     "normalization). Received: groups=0"),
    (lambda: L.GroupNormalization(groups=2.5),
     "Received an invalid value for argument `groups`, expected a positive integer (or `-1` for instance "
     "normalization). Received: groups=2.5"),
    (lambda: L.GroupNormalization(epsilon=0), "GroupNormalization: epsilon must be > 0, got 0"),
    (lambda: L.GroupNormalization(axis="x"), "GroupNormalization: axis must be -1 or the last axis, got 'x'"),
    (lambda: L.UnitNormalization(axis=1.5), "UnitNormalization: axis must be -1 or the last axis, got 1.5"),
])
def test_argument_errors(make, msg):
    with pytest.raises(ValueError) as e:
        make()
    assert str(e.value) == msg


def test_build_errors():
    x = keras.Input((4, 6))
    with pytest.raises(LatefuseError) as e:
        Model(x, L.GroupNormalization()(x))
    assert str(e.value) == "GroupNormalization: Number of groups (32) cannot be more than the number of channels (6)."
    with pytest.raises(LatefuseError) as e:
        Model(x, L.GroupNormalization(groups=4)(x))
    assert str(e.value) == "GroupNormalization: Number of groups (4) must be a multiple of the number of channels (6)."
    with pytest.raises(ValueError, match=r"only the last axis \(-1, or 2 for an input of shape \(None, 4, 6\)\) is "
                                         r"available, got axis=1$"):
        L.UnitNormalization(axis=1)(x)
