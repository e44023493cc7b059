"""
test_layer_eager.py — Keras' layer use outside a Functional graph, as the
Sequential guide (keras-io guides/sequential_model.py) does it: a layer
called on arrays (keras/src/layers/layer.py's eager __call__: built on the
first call's shape, weights shared with later calls and models), weights
lists empty before that, the legacy input_shape / input_dim arguments that
make a Sequential start with an Input (Layer.__init__'s _input_shape_arg,
Sequential.add), and a Sequential whose first entry is a built model
(Sequential._maybe_rebuild).  Values against numpy by hand.
"""
import warnings

import numpy as np
import pytest

import latefuse as keras
from latefuse import layers


def test_eager_dense_is_x_w_plus_b_and_shares_its_weights():
    d = layers.Dense(3, activation="relu", name="d")
    assert d.weights == [] and d.trainable_weights == [] and d.non_trainable_weights == []
    x = np.arange(8, dtype="float32").reshape(2, 4) / 8 - 0.3
    y = d(x)
    k, b = d.get_weights()
    assert [w.shape for w in d.weights] == [(4, 3), (3,)]
    np.testing.assert_allclose(y, np.maximum(x @ k + b, 0), rtol=1e-6, atol=1e-7)
    # the weights set through a model are the ones the next eager call uses
    inp = keras.Input((4,))
    m = keras.Model(inp, d(inp))
    np.testing.assert_array_equal(m.predict(x, verbose=0), y)
    k2 = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
    m.set_weights([k2, np.array([0.5, -0.5, 0.0], "float32")])
    np.testing.assert_allclose(d(x), np.maximum(x @ k2 + [0.5, -0.5, 0.0], 0), rtol=1e-6, atol=1e-7)


def test_eager_chain_and_embedding_ids():
    l1, l2 = layers.Dense(2, activation="relu"), layers.Dense(4)
    x = np.ones((3, 3))
    y = l2(l1(x))
    (k1, b1), (k2, b2) = l1.get_weights(), l2.get_weights()
    np.testing.assert_allclose(y, np.maximum(x @ k1 + b1, 0) @ k2 + b2, rtol=1e-5, atol=1e-6)
    e = layers.Embedding(10, 3)
    ids = np.array([[1, 0, 9]])
    np.testing.assert_array_equal(e(ids), e.get_weights()[0][ids])


def test_eager_errors():
    d = layers.Dense(3)
    d(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"built on input shape \(None, 4\) and is called on \(None, 5\)"):
        d(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"an eager call runs in inference mode \(train the layer in a Model"):
        layers.Dense(3)(np.ones((2, 4)), training=True)
    with pytest.raises(ValueError, match=r"called on an array of shape \(1, 2\) and dtype <U1: an eager call "
                                         r"takes numeric arrays of shape \(batch, \.\.\.\)"):
        layers.Dense(3)(np.array([["a", "b"]]))
    # a layer called in a graph but held by no model has weights nowhere
    with pytest.raises(ValueError, match="is not part of a Model yet"):
        layers.Dense(3)(keras.Input((4,))).layer.weights


def test_input_shape_and_input_dim_start_a_sequential():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        model = keras.Sequential()
        model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
    assert any("Do not pass an `input_shape`/`input_dim` argument to a layer" in str(x.message) for x in w)
    assert model.built and model.count_params() == 10
    assert model.inputs[0].shape == (None, 4)
    with pytest.warns(UserWarning, match="prefer using an `Input\\(shape\\)`"):
        m2 = keras.Sequential([layers.Dense(1, input_dim=784)])
    assert m2.count_params() == 785
    # Embedding's own input_dim is its vocabulary size, not the legacy argument
    with pytest.warns(UserWarning):
        m3 = keras.Sequential([layers.Embedding(input_dim=50, output_dim=3, input_shape=(6,)), layers.LSTM(2)])
    assert m3.count_params() == 50 * 3 + 4 * (2 * (3 + 2) + 2)
    assert m3.predict(np.zeros((1, 6), "int32"), verbose=0).shape == (1, 2)
    # a later layer's input_shape is ignored, as Keras (its Input is the model's)
    with pytest.warns(UserWarning):
        m4 = keras.Sequential([keras.Input((3,)), layers.Dense(2, input_shape=(99,))])
    assert m4.count_params() == 8


def test_sequential_on_a_built_model_builds_and_freezes():
    base = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(4, activation="relu")])
    base.trainable = False
    model = keras.Sequential([base, layers.Dense(2)])
    assert model.built and model.count_params() == 6 * 4 + 4 + 4 * 2 + 2
    before = base.get_weights()
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(16, 6)).astype("float32"), rng.normal(size=(16, 2)).astype("float32"),
              epochs=2, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_layer_build_makes_its_weights():
    # the serialization guide's create_layer(): build, then copy weights layer to layer
    def create_layer():
        layer = keras.layers.Dense(64, activation="relu", name="dense_2")
        layer.build((None, 784))
        return layer

    layer_1, layer_2 = create_layer(), create_layer()
    assert [w.shape for w in layer_1.get_weights()] == [(784, 64), (64,)]
    w = [np.full((784, 64), 0.25, "float32"), np.arange(64, dtype="float32")]
    layer_1.set_weights(w)
    layer_2.set_weights(layer_1.get_weights())
    for a, b in zip(layer_2.get_weights(), w):
        np.testing.assert_array_equal(a, b)
    layer_2.build((None, 784))  # built: left as it is
    np.testing.assert_array_equal(layer_2.get_weights()[1], w[1])
    x = np.ones((1, 784), "float32")
    np.testing.assert_allclose(layer_2(x), np.maximum(x @ w[0] + w[1], 0), rtol=1e-6)


def test_sequential_takes_another_models_input_layer():
    inputs = keras.Input(shape=(6,), name="digits")
    x = layers.Dense(4, activation="relu", name="d1")(inputs)
    outputs = layers.Dense(2, name="d2")(x)
    base = keras.Model(inputs, outputs)
    assert type(base.layers[0]).__name__ == "InputLayer"
    seq = keras.Sequential(base.layers[:-1] + [layers.Dense(3, name="d3")])
    assert seq.built and [ly.name for ly in seq.layers] == ["d1", "d3"] and seq.inputs[0].shape == (None, 6)
    with pytest.raises(ValueError, match="an Input can only come first"), \
            pytest.warns(UserWarning, match="Do not pass an `input_shape`"):
        keras.Sequential([layers.Dense(2, input_shape=(3,)), base.layers[0]])


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_eager_tensor_arguments_given_as_arrays():
    """Keras' eager call takes the tensor arguments as arrays too: a
    MultiHeadAttention's attention_mask (keras/src/layers/attention/
    multi_head_attention.py: True where query step t may attend key s) and
    a recurrent layer's initial_state (keras/src/layers/rnn/rnn.py); they
    were refused ('attention_mask must be a tensor from Input()', 'initial_state
    0 is not a tensor').  Values against numpy from the layers' weights."""
    rng = np.random.default_rng(5)
    q, v = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 4)).astype("float32")
    mask = rng.random((2, 3, 5)) > 0.4
    mask[:, :, 0] = True  # every query row keeps a key
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    out, scores = mha(q, v, attention_mask=mask, return_attention_scores=True)
    wq, bq, wk, bk, wv, bv, wo, bo = [w.astype(np.float64) for w in mha.get_weights()]
    Q = np.einsum("btd,dhk->bhtk", q, wq) + bq[None, :, None]
    K = np.einsum("bsd,dhk->bhsk", v, wk) + bk[None, :, None]
    V = np.einsum("bsd,dhk->bhsk", v, wv) + bv[None, :, None]
    logits = np.einsum("bhtk,bhsk->bhts", Q, K) / np.sqrt(3.0)
    want_scores = _softmax(np.where(mask[:, None], logits, -1e9))
    want = np.einsum("bhtv,hvo->bto", np.einsum("bhts,bhsv->bhtv", want_scores, V), wo) + bo
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    assert not np.array_equal(out, mha(q, v))  # the mask is applied, not dropped
    # an LSTM from given states: the cell's equations by hand
    lstm = layers.LSTM(2, return_state=True)
    x = rng.normal(size=(2, 3, 4)).astype("float32")
    h0, c0 = rng.normal(size=(2, 2)).astype("float32"), rng.normal(size=(2, 2)).astype("float32")
    y, h, c = lstm(x, initial_state=[h0, c0])
    k, rk, b = [w.astype(np.float64) for w in lstm.get_weights()]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hh, cc = h0.astype(np.float64), c0.astype(np.float64)
    for t in range(3):
        z = x[:, t] @ k + hh @ rk + b
        i, f, g, o = sig(z[:, :2]), sig(z[:, 2:4]), np.tanh(z[:, 4:6]), sig(z[:, 6:])
        cc = f * cc + i * g
        hh = o * np.tanh(cc)
    np.testing.assert_allclose(h, hh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c, cc, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y, h)
    with pytest.raises(ValueError, match=r"^layer lstm called on an array argument of dtype <U1: an eager call "
                                         r"takes numeric arrays$"):
        layers.LSTM(2, name="lstm")(x, initial_state=[np.array([["a", "b"]] * 2)] * 2)


def test_a_vector_is_one_sample_as_keras():
    # Keras' layers take a vector as it is, its axis the features: Dense(2) of (3,) is (2,)
    d = layers.Dense(2, name="dv")
    x = np.array([0.5, -1.0, 2.0], "float32")
    y = d(x)
    k, b = d.get_weights()
    assert y.shape == (2,) and k.shape == (3, 2)
    np.testing.assert_allclose(y, x @ k + b, rtol=1e-6, atol=1e-7)
    # the Normalization docstring's first example: adapt and call on vectors, axis=None
    n = layers.Normalization(axis=None)
    n.adapt(np.array([1., 2., 3., 4., 5.], "float32"))
    np.testing.assert_allclose(n(np.array([1., 2., 3.], "float32")), [-2 ** 0.5, -0.5 ** 0.5, 0.0], rtol=1e-6)
    # scalar mean and variance, the default axis: elementwise
    np.testing.assert_allclose(layers.Normalization(mean=3., variance=4.)(np.array([1., 5.])), [-1, 1])
    # merges of vectors, and a layer of several outputs is not special
    np.testing.assert_array_equal(layers.Add()([np.array([1., 2.]), np.array([3., 4.])]), [4, 6])
    with pytest.raises(ValueError, match=r"^layer rs called on an array of shape \(\) and dtype float64: an eager call "
                                         r"takes numeric arrays of shape \(batch, \.\.\.\), or vectors \(features,\) "
                                         r"only$"):
        layers.Rescaling(2.0, name="rs")(np.float64(3.0))
    with pytest.raises(ValueError, match=r"^layer add_v called on an array of shape \(2,\)"):
        layers.Add(name="add_v")([np.array([1., 2.]), np.ones((3, 2))])
