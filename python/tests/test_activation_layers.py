"""
test_activation_layers.py — Keras 3's ReLU, LeakyReLU, ELU, PReLU and
Softmax layers (src/layers/activation_layers.c; tests/test_activation_layers.c
checks them in C): eager values against values worked out by hand (Keras'
docstring examples), PReLU's alpha shape and its training in a fit, the
.lf and .keras round trips predicting the same bits (Keras' config names,
PReLU's variable "alpha" in model.weights.h5), and Keras' argument errors
word for word.
"""
import json
import math
import zipfile

import numpy as np
import pytest

import latefuse as keras
from latefuse import layers as L
from latefuse._lib import LatefuseError
from latefuse.models import Model, load_model

X = np.array([[-10.0, -5.0, 0.0, 5.0, 10.0]], dtype=np.float32)


def test_eager_values():
    # keras/src/layers/activations/relu.py's example
    np.testing.assert_allclose(L.ReLU(max_value=10, negative_slope=0.5, threshold=0)(X), [[-5, -2.5, 0, 5, 10]])
    np.testing.assert_allclose(L.ReLU(max_value=6.0, negative_slope=0.25, threshold=1.0)(X),
                               [[-2.75, -1.5, -0.25, 5, 6]])
    np.testing.assert_allclose(L.ReLU()(X), [[0, 0, 0, 5, 10]])
    np.testing.assert_allclose(L.LeakyReLU()(X), [[-3, -1.5, 0, 5, 10]], rtol=1e-6)
    np.testing.assert_allclose(L.LeakyReLU(negative_slope=0.5)(X), [[-5, -2.5, 0, 5, 10]])
    np.testing.assert_allclose(L.ELU(alpha=0.5)(np.array([[-2.0, 0.0, 3.0]])),
                               [[0.5 * math.expm1(-2.0), 0, 3]], rtol=1e-6)
    # Keras' Softmax docstring
    np.testing.assert_allclose(L.Softmax()(np.array([[1.0, 2.0, 1.0]])), [[0.21194157, 0.5761169, 0.21194157]],
                               rtol=1e-6)
    p = np.array([[[1, 2, 1], [3, 1, 4]]], dtype=np.float64)
    x = np.log(p)
    np.testing.assert_allclose(L.Softmax(axis=1)(x), p / p.sum(axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(L.Softmax(axis=[1, 2])(x), p / 12, rtol=1e-6)
    np.testing.assert_allclose(L.Softmax(axis=(-2, -1))(x), p / 12, rtol=1e-6)
    # PReLU's alpha starts at zeros (Keras' "Zeros"): relu, and +0 below 0 as Keras' relu(x) - alpha relu(-x)
    y = L.PReLU()(X)
    np.testing.assert_array_equal(y, [[0, 0, 0, 5, 10]])
    assert not np.signbit(y).any()


def _model(*layers, shape=(4, 3)):
    x = keras.Input(shape)
    h = keras.layers.Dense(3, name="pre")(x)
    ys = [ly(h) for ly in layers]
    y = keras.layers.Dense(2, name="out")(keras.layers.Flatten()(keras.layers.Concatenate()(ys) if len(ys) > 1 else ys[0]))
    return Model(x, y)


def _data():
    r = np.random.default_rng(5)
    return r.normal(size=(32, 4, 3)).astype(np.float32), r.normal(size=(32, 2)).astype(np.float32)


def test_prelu_alpha_shape_and_fit():
    m = _model(L.PReLU(shared_axes=[1], name="pa"), L.PReLU(name="pb"), L.PReLU(shared_axes=2, name="pc"))
    shapes = [m.get_layer(n).get_weights()[0].shape for n in ("pa", "pb", "pc")]
    assert shapes == [(1, 3), (4, 3), (4, 1)]
    assert all(not w.any() for n in ("pa", "pb", "pc") for w in m.get_layer(n).get_weights())
    m.compile(optimizer="adam", loss="mse")
    x, t = _data()
    first = m.evaluate(x, t, verbose=0)
    m.fit(x, t, epochs=20, batch_size=8, verbose=0)
    assert m.evaluate(x, t, verbose=0) < first
    assert m.get_layer("pa").get_weights()[0].any()  # alpha trained
    # Keras' alpha_initializer, by name
    m2 = _model(L.PReLU(alpha_initializer="ones", name="p1"))
    np.testing.assert_array_equal(m2.get_layer("p1").get_weights()[0], np.ones((4, 3)))


def _all_kinds():
    return _model(L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2), L.ReLU(), L.LeakyReLU(0.2),
                  L.ELU(0.7), L.PReLU(shared_axes=[1]), L.Softmax(), L.Softmax(axis=1), L.Softmax(axis=[1, 2]))


@pytest.mark.parametrize("ext", ["lf", "keras"])
def test_file_round_trip(tmp_path, ext):
    m = _all_kinds()
    m.compile(optimizer="adam", loss="mse")
    x, t = _data()
    m.fit(x, t, epochs=2, batch_size=8, verbose=0)
    path = str(tmp_path / ("m." + ext))
    m.save(path)
    back = load_model(path)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    got = {ly.name: ly.get_config() for ly in back.layers}
    assert got["re_lu"]["max_value"] == 1.5 and got["re_lu"]["threshold"] == pytest.approx(0.2)
    assert got["re_lu_1"]["max_value"] is None
    assert got["leaky_re_lu"]["negative_slope"] == pytest.approx(0.2)
    assert got["elu"]["alpha"] == pytest.approx(0.7)
    assert got["p_re_lu"]["shared_axes"] == [1]
    assert got["softmax"]["axis"] == -1 and got["softmax_1"]["axis"] == 1 and got["softmax_2"]["axis"] == [1, 2]
    if ext == "keras":
        cfg = json.loads(zipfile.ZipFile(path).read("config.json"))
        by = {ly["config"]["name"]: ly for ly in cfg["config"]["layers"]}
        assert by["p_re_lu"]["class_name"] == "PReLU" and by["p_re_lu"]["module"] == "keras.layers"
        assert by["p_re_lu"]["config"]["alpha_initializer"]["class_name"] == "Zeros"
        assert by["re_lu_1"]["config"]["max_value"] is None
        h5py = pytest.importorskip("h5py")
        import io
        with h5py.File(io.BytesIO(zipfile.ZipFile(path).read("model.weights.h5")), "r") as f:
            v = f["layers/p_re_lu/vars/0"]
            assert v.shape == (1, 3)
            np.testing.assert_array_equal(v[()], m.get_layer("p_re_lu").get_weights()[0])


def test_lf_defaults_not_written(tmp_path):
    x = keras.Input((4, 3))
    h = x
    for ly in (L.LeakyReLU(), L.ELU(), L.Softmax(), L.ReLU(), L.PReLU()):
        h = ly(h)
    m = Model(x, keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    path = str(tmp_path / "d.lf")
    m.save(path)
    arch = open(path, "rb").read()
    for key in (b"negative_slope", b"\\\"alpha\\\"", b"\\\"axis\\\"", b"max_value", b"threshold", b"shared_axes"):
        assert key not in arch, key


@pytest.mark.parametrize("make, msg", [
    (lambda: L.ReLU(max_value=-1.0), "max_value of a ReLU layer cannot be a negative value. Received: max_value=-1.0"),
    (lambda: L.ReLU(negative_slope=-0.5),
     "negative_slope of a ReLU layer cannot be a negative value. Received: negative_slope=-0.5"),
    (lambda: L.ReLU(threshold=-1), "threshold of a ReLU layer cannot be a negative value. Received: threshold=-1"),
    (lambda: L.ReLU(negative_slope=None),
     "negative_slope of a ReLU layer cannot be a negative value. Received: negative_slope=None"),
    (lambda: L.LeakyReLU(negative_slope=-0.1),
     "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. Expected a float. "
     "Received: negative_slope=-0.1"),
    (lambda: L.ELU(alpha=float("nan")), "ELU: alpha must be a finite number, got nan"),
    (lambda: L.PReLU(alpha_regularizer="l2"), "PReLU: alpha_regularizer is not supported (only None), got 'l2'"),
    (lambda: L.PReLU(shared_axes=[1.5]), "PReLU: shared_axes must be an integer or a list of integers, got [1.5]"),
    (lambda: L.Softmax(axis="x"), "Softmax: axis must be an integer or a list of integers, got 'x'"),
])
def test_argument_errors(make, msg):
    with pytest.raises(ValueError) as e:
        make()
    assert str(e.value) == msg


def test_build_errors():
    # the C builder's: an axis out of range, the batch axis, a masked input
    with pytest.raises(LatefuseError, match=r"^Softmax: axis 3 is out of range for inputs of rank 3 \(batch included\)$"):
        L.Softmax(axis=3)(np.zeros((2, 4, 3)))
    with pytest.raises(LatefuseError, match=r"^PReLU: shared axis 0 is the batch axis$"):
        _model(L.PReLU(shared_axes=[0]))
    x = keras.Input((5,), dtype="int32")
    e = keras.layers.Embedding(10, 4, mask_zero=True)(x)
    with pytest.raises(LatefuseError, match="carries a padding mask, which Keras' Softmax adds to its values"):
        Model(x, L.Softmax()(e))


def test_leaky_relu_alpha_deprecated():
    with pytest.warns(UserWarning, match="Argument `alpha` is deprecated"):
        ly = L.LeakyReLU(alpha=0.1)
    assert ly.negative_slope == pytest.approx(0.1)
