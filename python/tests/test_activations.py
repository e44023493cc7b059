"""
test_activations.py — Keras 3's activation names (keras/src/activations/
__init__.py: every function's name, the aliases swish and hard_swish) on
Dense, Activation, Conv2D and SimpleRNN; each eager Activation against its
formula in numpy (keras/src/backend/numpy/nn.py); a .keras and an .lf round
trip of a model using a few.
"""
import os

import numpy as np
import pytest

from latefuse import Input, Model, load_model
from latefuse.layers import ACTIVATIONS, Activation, Conv2D, Dense, SimpleRNN

KERAS_NAMES = ["linear", "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softmax", "selu", "softplus",
               "softsign", "silu", "relu6", "hard_sigmoid", "hard_silu", "mish", "exponential", "celu",
               "log_sigmoid", "hard_tanh", "tanh_shrink", "squareplus", "soft_shrink", "hard_shrink",
               "sparse_plus", "sparse_sigmoid", "log_softmax", "sparsemax"]


def _softplus(x):
    return np.logaddexp(x, 0.0)


def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def _log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _sparsemax(x):  # Keras' numpy backend after its fix (PR 23469): tau from the sorted values on the support
    s = -np.sort(-x, axis=-1)
    cs = np.cumsum(s, axis=-1)
    r = np.arange(1, x.shape[-1] + 1)
    support = s - (cs - 1) / r > 0
    tau = (np.where(support, s, 0.0).sum(axis=-1, keepdims=True) - 1) / support.sum(axis=-1, keepdims=True)
    return np.maximum(x - tau, 0.0)


SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
FORMULAS = {  # Keras' numpy backend, in float64
    "selu": lambda x: SELU_S * np.where(x >= 0, x, SELU_A * np.expm1(x)),
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": np.exp,
    "celu": lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0)),
    "log_sigmoid": lambda x: -_softplus(-x),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
    "sparse_plus": lambda x: np.where(x <= -1, 0.0, np.where(x < 1, 0.25 * (x + 1) ** 2, x)),
    "sparse_sigmoid": lambda x: np.where(x <= -1, 0.0, np.where(x >= 1, 1.0, 0.5 * (x + 1))),
    "log_softmax": _log_softmax,
    "sparsemax": _sparsemax,
}


def test_names_are_keras_names():
    assert list(ACTIVATIONS) == KERAS_NAMES


@pytest.mark.parametrize("name", KERAS_NAMES + ["swish", "hard_swish"])
def test_every_name_on_every_layer(name):
    want = {"swish": "silu", "hard_swish": "hard_silu"}.get(name, name)
    d = Dense(3, activation=name)
    assert d.activation == want and d.get_config()["activation"] == want
    assert Activation(name).get_config()["activation"] == want
    assert Conv2D(2, 3, activation=name).get_config()["activation"] == want
    assert SimpleRNN(2, activation=name).get_config()["activation"] == want
    x = Input((4,))
    m = Model(x, Activation(name)(Dense(3, activation=name)(x)))
    p = m.predict(np.linspace(-2, 2, 8, dtype=np.float32).reshape(2, 4), verbose=0)
    assert p.shape == (2, 3) and np.isfinite(p).all()


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_eager_activation_matches_keras_formula(name):
    x = np.array([[-30, -15, -4.2, -2.7, -0.8, -0.3, 0.07, 0.3, 0.8, 2.2, 3.6, 6.4, 15, 30]], dtype=np.float32)
    got = np.asarray(Activation(name)(x), dtype=np.float64)
    want = FORMULAS[name](x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


def test_unknown_activation_lists_the_names():
    with pytest.raises(ValueError, match=r"unknown activation 'glu': use one of linear, relu, .*log_softmax, sparsemax "
                                         r"\(or hard_swish, swish\)"):
        Dense(3, activation="glu")
    with pytest.raises(ValueError, match="unknown activation 'Swish'"):
        Activation("Swish")


def test_sparsemax_sums_to_one_on_its_support():
    # Keras before its fix gave [0, 0, 0.25] here (keras-team/keras issue 23425)
    got = np.asarray(Activation("sparsemax")(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)))
    np.testing.assert_allclose(got, [[0.0, 0.25, 0.75]], rtol=0, atol=1e-7)
    x = np.random.default_rng(5).normal(scale=0.6, size=(40, 6)).astype(np.float32)
    got = np.asarray(Activation("sparsemax")(x), dtype=np.float64)
    np.testing.assert_allclose(got, _sparsemax(x.astype(np.float64)), rtol=0, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-6)
    assert (got == 0).any() and ((got > 0).sum(axis=1) >= 2).mean() > 0.5  # sparse, and not one-hot


def _model():
    x = Input((5,))
    h = Dense(4, activation="swish", name="h")(x)
    h = Dense(4, activation="mish", name="g")(h)
    h = Activation("hard_swish", name="hs")(h)
    return Model(x, Dense(3, activation="log_softmax", name="out")(h))


@pytest.mark.parametrize("ext", ["keras", "lf"])
def test_round_trip(tmp_path, ext):
    pytest.importorskip("h5py") if ext == "keras" else None
    m = _model()
    x = np.random.default_rng(3).normal(size=(6, 5)).astype(np.float32) * 2
    p = m.predict(x, verbose=0)
    path = os.path.join(str(tmp_path), "m." + ext)
    m.save(path)
    back = load_model(path)
    assert [ly.get_config().get("activation") for ly in back.layers[1:]] == ["silu", "mish", "hard_silu",
                                                                              "log_softmax"]
    assert np.array_equal(back.predict(x, verbose=0), p)
    np.testing.assert_allclose(np.exp(p).sum(axis=1), 1.0, rtol=1e-6)
