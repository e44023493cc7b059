"""
test_keras.py — Keras code that ports by changing the imports: shared
layers, nested models and Sequential used as layers (one set of weights
across models), initializers, metrics, callbacks (ModelCheckpoint and
your own; ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN,
LambdaCallback, model.stop_training), get_config / to_json, and the names
save() refuses.

Numbers are checked against numpy: a shared Dense's gradient is the sum
over its calls (one SGD step computed by hand), a nested model's weights
are the outer model's (training one changes the other's predictions), the
initializers' statistics are Keras' definitions.
"""
import copy
import json
import os
import pickle

import numpy as np
import pytest

import latefuse
from latefuse import LatefuseError, Model, Sequential, load_model, model_from_json
from latefuse.callbacks import (Callback, CSVLogger, EarlyStopping, LambdaCallback, LearningRateScheduler,
                                ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN)
from latefuse.layers import (Add, Concatenate, Conv2D, Dense, Dropout, Flatten, Input, Reshape,
                             WeightedAverage)
from latefuse.optimizers import SGD, Adam


def shared_model():
    d = Dense(3, activation="tanh")
    a, b = Input((4,), name="a"), Input((4,), name="b")
    out = Dense(1, name="head")(Add()([d(a), d(b)]))
    return Model([a, b], out, seed=3), d


def np_shared(ws, xa, xb):
    K, bb, K2, b2 = [np.asarray(w, np.float64) for w in ws]
    ha, hb = np.tanh(xa @ K + bb), np.tanh(xb @ K + bb)
    return ha, hb, (ha + hb) @ K2 + b2


# ---------------------------------------------------------------- shared layers

def test_shared_layer_has_one_set_of_weights_and_sums_its_gradients():
    m, d = shared_model()
    assert m.count_params() == 4 * 3 + 3 + 3 + 1
    assert [ly.name for ly in m.layers] == ["a", "b", "dense", "add", "head"]
    ws = m.get_weights()
    assert [w.shape for w in ws] == [(4, 3), (3,), (3, 1), (1,)]
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(16, 4)), rng.normal(size=(16, 4))
    y = rng.normal(size=(16, 1))
    _, _, p = np_shared(ws, xa, xb)
    np.testing.assert_allclose(m.predict([xa, xb]), p, rtol=1e-5, atol=1e-6)
    # one full-batch SGD step: the kernel's gradient is the sum over both calls
    m.compile(SGD(learning_rate=0.1), "mse")
    m.fit([xa, xb], y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    ha, hb, p = np_shared(ws, xa, xb)
    K, _, K2, _ = [np.asarray(w, np.float64) for w in ws]
    dp = 2 * (p - y) / 16
    ds = dp @ K2.T
    dza, dzb = ds * (1 - ha ** 2), ds * (1 - hb ** 2)
    dK = xa.T @ dza + xb.T @ dzb
    db = (dza + dzb).sum(axis=0)
    new = m.get_weights()
    assert np.abs(dK).max() > 0.05  # a step well above the tolerance
    np.testing.assert_allclose(new[0], K - 0.1 * dK, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new[1], ws[1] - 0.1 * db, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.get_weights()[0], new[0])


def test_layers_and_weights_in_keras_order():
    """model.layers and get_weights() follow Keras 3's order (function.py
    map_graph): deepest first, ties in the order a walk from the outputs
    meets them, whatever order the layers were called in."""
    inp1, inp2 = Input((6,), name="inp1"), Input((5,), name="inp2")
    x1 = Dense(4, name="x1a")(inp1)
    x2 = Dense(4, name="x2")(inp2)  # written before x1's second layer
    x1 = Dense(4, name="x1b")(x1)
    m = Model([inp1, inp2], Dense(1, name="out")(WeightedAverage(n_output=2, name="wavg")([x1, x2])))
    assert [ly.name for ly in m.layers] == ["inp1", "x1a", "inp2", "x1b", "x2", "wavg", "out"]
    assert [w.shape for w in m.get_weights()] == [(6, 4), (4,), (4, 4), (4,), (5, 4), (4,), (1, 1, 2), (4, 1), (1,)]
    assert m.get_layer(index=3).name == "x1b"
    # a shared layer takes its deepest call's depth; an Input need not come first
    a, b = Input((3,), name="a"), Input((5,), name="b")
    d = Dense(3, name="d")
    near = d(a)
    p = Dense(3, name="p")(b)
    s = Model([a, b], Dense(1, name="o")(Add(name="add")([near, d(p)])))
    assert [ly.name for ly in s.layers] == ["b", "a", "p", "d", "add", "o"]
    ws = [np.full(w.shape, k, np.float32) for k, w in enumerate(s.get_weights())]
    assert [w.shape for w in ws] == [(5, 3), (3,), (3, 3), (3,), (3, 1), (1,)]
    s.set_weights(ws)
    np.testing.assert_array_equal(s.get_layer("p").get_weights()[0], ws[0])
    np.testing.assert_array_equal(d.get_weights()[0], ws[2])


def test_shared_layer_summary_save_and_load(tmp_path, capsys):
    m, d = shared_model()
    m.summary()
    text = capsys.readouterr().out
    assert "dense.1 (Dense)" in text and "dense, dense.1" in text
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    m.save(tmp_path / "s.lf")
    g = load_model(tmp_path / "s.lf")
    assert g.count_params() == 19 and len(g.get_weights()) == 4
    np.testing.assert_array_equal(g.predict([xa, xb]), m.predict([xa, xb]))
    # the loaded layer is called twice: setting its weights moves both calls
    k = g.get_layer("dense")
    k.set_weights([np.zeros((4, 3)), np.zeros(3)])
    hw = g.get_layer("head").get_weights()
    np.testing.assert_allclose(g.predict([xa, xb]), np.repeat(hw[1][None], 5, axis=0), atol=1e-7)


def test_shared_layer_refused_on_other_shapes():
    d = Dense(2)
    d(Input((4,)))
    with pytest.raises(ValueError, match=r"^layer Dense was built on input shape \(None, 4\) and is called on "
                       r"\(None, 6\): a layer called again shares its weights, so its input shapes must stay "
                       r"the same$"):
        d(Input((6,)))
    r = Reshape((2, 2))  # no weights: any shape of 4 values
    r(Input((4,)))
    r(Input((2, 2)))


# ---------------------------------------------------------------- nested models

def founding_models():
    image_input = Input((8,))
    x = Dense(6, activation="relu")(image_input)
    x = Dense(3, activation="softmax")(x)
    images_model = Model(image_input, x)
    text_input = Input((5,))
    t = Dense(4, activation="relu")(text_input)
    t = Dense(3, activation="softmax")(t)
    text_model = Model(text_input, t)
    new_image_input, new_text_input = Input((8,)), Input((5,))
    image_side = images_model(new_image_input)
    text_side = text_model(new_text_input)
    merged = Concatenate()([image_side, text_side])
    h = Dense(16, activation="relu")(merged)
    h = Dropout(0.2)(h)
    out = Dense(3, activation="softmax")(h)
    full = Model([new_image_input, new_text_input], out)
    return images_model, text_model, full, image_side


def test_nested_models_share_their_weights_with_the_outer_model():
    images_model, text_model, full, image_side = founding_models()
    rng = np.random.default_rng(2)
    X1, X2 = rng.normal(size=(64, 8)), rng.normal(size=(64, 5))
    y = np.eye(3)[rng.integers(0, 3, 64)]
    assert full.count_params() == images_model.count_params() + text_model.count_params() + 6 * 16 + 16 + 51
    # the outer model starts from the inner models' weights
    for ly in images_model.layers[1:]:
        for w_in, w_out in zip(ly.get_weights(), full._layer_weights(ly)):
            np.testing.assert_array_equal(w_in, w_out)
    branch = Model(full.inputs[0], image_side)
    before = images_model.predict(X1)
    np.testing.assert_array_equal(branch.predict(X1), before)
    full.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    full.fit([X1, X2], y, epochs=3, batch_size=16, verbose=0)
    after = images_model.predict(X1)
    assert np.abs(after - before).max() > 1e-3  # training the outer model trained the branch
    np.testing.assert_array_equal(branch.predict(X1), after)
    # ... and the inner model computes with those very weights
    k1, b1, k2, b2 = images_model.get_weights()
    z = np.maximum(X1 @ k1 + b1, 0) @ k2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(after, e / e.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)
    # the reverse: training the inner model changes the outer one
    p_full = full.predict([X1, X2])
    images_model.compile("adam", "categorical_crossentropy")
    images_model.fit(X1, y, epochs=2, verbose=0)
    assert np.abs(full.predict([X1, X2]) - p_full).max() > 1e-4
    np.testing.assert_array_equal(branch.predict(X1), images_model.predict(X1))
    # set_weights on the inner model reaches the outer one
    images_model.set_weights([np.zeros_like(w) for w in images_model.get_weights()])
    np.testing.assert_allclose(branch.predict(X1), np.full((64, 3), 1 / 3), rtol=1e-6)


def test_nested_model_called_twice_is_one_branch_and_errors():
    inp = Input((4,))
    enc = Model(inp, Dense(2, activation="tanh")(inp))
    a, b = Input((4,)), Input((4,))
    siamese = Model([a, b], Dense(1)(Concatenate()([enc(a), enc(b)])))
    assert siamese.count_params() == enc.count_params() + 5
    rng = np.random.default_rng(3)
    xa = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(enc(xa), enc.predict(xa))  # model(arrays) predicts
    with pytest.raises(ValueError, match=r"^model 'functional': input 0 \('input'\) has shape \(None, 4\), called "
                       r"on a tensor of shape \(None, 5\)$"):
        enc(Input((5,)))
    with pytest.raises(ValueError, match=r"^model 'functional' has 1 input\(s\) \(input\), called on 2 tensor\(s\)$"):
        enc([a, b])


def test_nested_model_with_attention_and_with_two_outputs():
    """A nested model is called as Keras calls it: a MultiHeadAttention inside
    is called again as layer(query, value) (it was called with one list and
    refused), and a model of two outputs gives both tensors (it gave the
    first alone), with the same weights as the inner model."""
    from latefuse.layers import GlobalAveragePooling1D, MultiHeadAttention
    seq = Input((6, 4))
    att = MultiHeadAttention(num_heads=2, key_dim=3)(seq, seq)
    enc = Model(seq, GlobalAveragePooling1D()(Add()([seq, att])), seed=1)
    s2 = Input((6, 4))
    outer = Model(s2, enc(s2))
    rng = np.random.default_rng(5)
    x = rng.normal(size=(7, 6, 4))
    np.testing.assert_array_equal(outer.predict(x), enc.predict(x))
    inp = Input((4,))
    two = Model(inp, [Dense(3, name="p")(inp), Dense(2, name="q")(inp)], seed=2)
    j = Input((4,))
    outs = two(j)
    assert isinstance(outs, list) and [t.shape for t in outs] == [(None, 3), (None, 2)]
    both = Model(j, Concatenate()(outs))
    xv = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(both.predict(xv), np.concatenate(two.predict(xv), axis=1))


def test_sequential_alone_and_as_a_layer():
    seq = Sequential([Input((4,)), Dense(3, activation="relu"), Dense(2)], seed=1)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 4))
    k1, b1, k2, b2 = seq.get_weights()
    np.testing.assert_allclose(seq.predict(x), np.maximum(x @ k1 + b1, 0) @ k2 + b2, rtol=1e-5, atol=1e-6)
    inp = Input((4,))
    outer = Model(inp, Dense(1)(seq(inp)))
    before = seq.predict(x)
    outer.compile("adam", "mse")
    outer.fit(x, rng.normal(size=(32, 1)), epochs=2, verbose=0)
    assert np.abs(seq.predict(x) - before).max() > 1e-4
    # built at the first fit, from the data; compile may come first
    lazy = Sequential([Dense(3), Dense(1)])
    with pytest.raises(ValueError, match=r"^This model has not yet been built\. Build the model first by calling "
                       r"`build\(\)` or by calling the model on a batch of data \(summary\)\.$"):
        lazy.summary()
    lazy.compile("adam", "mse", metrics=["mae"])
    h = lazy.fit(x, rng.normal(size=(32, 1)), epochs=2, verbose=0)
    assert lazy.input_shape == (None, 4) and sorted(h.history) == ["loss", "mae"]
    # an add() after: built again from the Input the data gave (Keras 3's
    # build() stacks an InputLayer), the layers before keeping their weights
    before = lazy.get_weights()
    top = Dense(2)
    lazy.add(top)
    assert lazy.built and lazy.output_shape == (None, 2) and len(lazy.layers) == 3
    k, b = top.get_weights()
    for a, b0 in zip(lazy.get_weights()[:4], before):
        np.testing.assert_array_equal(a, b0)
    p1 = Sequential([Input((4,)), *[Dense.from_config(ly.get_config()) for ly in lazy.layers[:2]]])
    p1.set_weights(before)
    np.testing.assert_allclose(lazy.predict(x), p1.predict(x) @ k + b, rtol=1e-5, atol=1e-6)
    h = lazy.fit(x, rng.normal(size=(32, 2)), epochs=1, verbose=0)  # compiled again with its arguments
    assert sorted(h.history) == ["loss", "mae"]
    again = model_from_json(seq.to_json())
    assert isinstance(again, Sequential) and again.count_params() == seq.count_params()
    again.set_weights(seq.get_weights())
    np.testing.assert_array_equal(again.predict(x), seq.predict(x))


def test_sequential_with_an_input_is_built_at_once():
    """As Keras: a Sequential whose first entry is an Input is built at
    construction (or at the add() of its first layer), and again at each
    add(), its layers keeping their weights; .layers has no InputLayer."""
    s = Sequential([Input((6,)), Dense(4, name="d1"), Dense(1)])
    assert s.built and s.input_shape == (None, 6) and s.output_shape == (None, 1)
    d1 = s.get_layer("d1")
    assert d1 is s.layers[0] and s.get_layer(index=1) is s.layers[1]
    assert [type(ly).__name__ for ly in s.layers] == ["Dense", "Dense"]
    assert d1.get_weights()[0].shape == (6, 4)
    s.trainable = False
    assert not s.trainable and not d1.trainable
    s.trainable = True
    # a functional model's layers still start with its InputLayer, as Keras'
    inp = Input((6,))
    assert [type(ly).__name__ for ly in Model(inp, Dense(1)(inp)).layers] == ["InputLayer", "Dense"]
    # the Input given by add()
    a = Sequential(seed=3)
    a.add(Input((6,)))
    assert not a.built and a.layers == [] and a.input_shape == (None, 6)
    a.add(Dense(4, name="d1"))
    assert a.built and a.output_shape == (None, 4) and a.get_layer("d1") is a.layers[0]
    k = a.get_layer("d1").get_weights()
    a.compile("adam", "mse", metrics=["mae"])
    a.add(Dense(1))  # built again, compiled again
    assert a.output_shape == (None, 1) and a.metrics_names == ["loss", "mae"] and len(a.layers) == 2
    np.testing.assert_array_equal(a.get_layer("d1").get_weights()[0], k[0])
    one = Sequential([Input((6,)), Dense(4, name="d1"), Dense(1)], seed=3)
    for u, v in zip(a.get_weights(), one.get_weights()):  # as if built once
        np.testing.assert_array_equal(u, v)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 6)), rng.normal(size=(16, 1))
    a.fit(x, y, epochs=1, verbose=0)
    before = a.predict(x)
    with pytest.raises(ValueError):  # refused: the model stays as it was
        a.add(Conv2D(2, 3))
    assert len(a.layers) == 2 and a.output_shape == (None, 1)
    np.testing.assert_array_equal(a.predict(x), before)
    assert sorted(a.fit(x, y, epochs=1, verbose=0).history) == ["loss", "mae"]
    # without an Input: not built, but its layers are listed and found by name
    lazy = Sequential([Dense(3, name="h"), Dense(1)])
    assert not lazy.built and lazy.get_layer("h") is lazy.layers[0] and len(lazy.layers) == 2
    with pytest.raises(ValueError, match=r"^This model has not yet been built.* \(input_shape\)\.$"):
        lazy.input_shape


def test_pickle_and_deepcopy_keep_class_name_and_compile():
    """pickle and deepcopy keep the class, the name and compile()'s
    metrics, loss, loss weights and optimizer (with its state); an unbuilt
    Sequential comes back unbuilt."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(48, 4))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)
    s = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3, activation="softmax")], name="clf", seed=2)
    s.compile(Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    s.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for c in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert type(c) is Sequential and c.name == "clf" and c is not s
        assert c.metrics_names == ["loss", "accuracy"] and c.evaluate(x, y) == s.evaluate(x, y)
        assert isinstance(c.optimizer, Adam) and c.optimizer.learning_rate == 0.01
        assert c.loss == "sparse_categorical_crossentropy" and c.loss_weights == [1.0]
        assert [type(ly).__name__ for ly in c.layers] == ["Dense", "Dense"]
    c = copy.deepcopy(s)
    s.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    c.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_array_equal(c.predict(x), s.predict(x))  # Adam's moments travelled
    c.add(Dense(2))  # still a Sequential built from its Input
    assert c.output_shape == (None, 2) and c.metrics_names == ["loss", "accuracy"]
    # a functional model with a metric measured in Python
    inp = Input((4,))
    m = Model(inp, Dense(1)(inp), name="reg")
    m.compile(SGD(0.05), "mse", metrics=["mae"])
    c = pickle.loads(pickle.dumps(m))
    assert type(c) is Model and c.name == "reg" and c.metrics_names == ["loss", "mae"]
    assert c.evaluate(x, x[:, :1], return_dict=True) == m.evaluate(x, x[:, :1], return_dict=True)
    assert isinstance(c.optimizer, SGD) and c.optimizer.learning_rate == 0.05
    # an unbuilt Sequential, compiled before it is built
    u = Sequential([Dense(2, name="a"), Dense(1)], name="lazy", seed=4)
    u.compile("adam", "mse", metrics=["mae"])
    for c in (copy.deepcopy(u), pickle.loads(pickle.dumps(u))):
        assert type(c) is Sequential and not c.built and c.name == "lazy"
        assert [ly.name for ly in c.layers] == ["a", None] and c.layers[0] is not u.layers[0]
        h = c.fit(x, x[:, :1], epochs=1, verbose=0)
        assert sorted(h.history) == ["loss", "mae"] and c.input_shape == (None, 4)
    assert not u.built
    np.testing.assert_array_equal(Sequential([Dense(2, name="a"), Dense(1)], seed=4).predict(x),
                                  copy.deepcopy(Sequential([Dense(2, name="a"), Dense(1)], seed=4)).predict(x))


def test_optimizer_pickled_before_learning_rate_was_a_property():
    """An Adam pickled by latefuse before optimizer.learning_rate became a
    settable property (its bytes, protocol 2) still reads and sets its
    rate, and a model compiled with it fits: it kept 'learning_rate' as a
    plain attribute, which the property would hide."""
    old = (b"\x80\x02clatefuse.optimizers\nAdam\nq\x00)\x81q\x01}q\x02(X\x07\x00\x00\x00use_emaq\x03\x89X"
           b"\x0c\x00\x00\x00ema_momentumq\x04G?\xef\xae\x14z\xe1G\xaeX\r\x00\x00\x00learning_rateq\x05G?\x84z"
           b"\xe1G\xae\x14{X\x06\x00\x00\x00beta_1q\x06G?\xec\xcc\xcc\xcc\xcc\xcc\xcdX\x06\x00\x00\x00beta_2q"
           b"\x07G?\xef\xf7\xce\xd9\x16\x87+X\x07\x00\x00\x00epsilonq\x08G>z\xd7\xf2\x9a\xbc\xafHub.")
    opt = pickle.loads(old)
    assert isinstance(opt, Adam) and opt.learning_rate == 0.01 and "learning_rate" not in vars(opt)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    inp = Input((3,))
    m = Model(inp, Dense(1)(inp))
    m.compile(opt, "mse")
    m.fit(x, x[:, :1], epochs=1, verbose=0)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and m.optimizer.learning_rate == 0.5


# ---------------------------------------------------------------- initializers

@pytest.mark.parametrize("name,sd,bound", [
    ("he_normal", np.sqrt(2 / 400), 2 * np.sqrt(2 / 400) / 0.87962566103423978),
    ("glorot_normal", np.sqrt(2 / 600), 2 * np.sqrt(2 / 600) / 0.87962566103423978),
    ("lecun_normal", np.sqrt(1 / 400), 2 * np.sqrt(1 / 400) / 0.87962566103423978),
    ("he_uniform", np.sqrt(6 / 400) / np.sqrt(3), np.sqrt(6 / 400)),
    ("glorot_uniform", np.sqrt(6 / 600) / np.sqrt(3), np.sqrt(6 / 600)),
    ("lecun_uniform", np.sqrt(3 / 400) / np.sqrt(3), np.sqrt(3 / 400)),
    ("random_uniform", 0.05 / np.sqrt(3), 0.05),
    ("random_normal", 0.05, None),
])
def test_kernel_initializers_follow_keras(name, sd, bound):
    inp = Input((400,))
    m = Model(inp, Dense(200, kernel_initializer=name)(inp), seed=7)
    k = m.get_weights()[0]
    assert k.shape == (400, 200)
    assert abs(k.std() / sd - 1) < 0.02, (k.std(), sd)
    if bound is not None:
        assert np.abs(k).max() <= bound * (1 + 1e-6) and np.abs(k).max() > 0.99 * bound


def test_initializer_spellings_and_errors():
    inp = Input((6,))
    d = Dense(4, kernel_initializer=latefuse.initializers.Zeros(), bias_initializer="ones")
    m = Model(inp, d(inp))
    k, b = m.get_weights()
    assert not k.any() and (b == 1).all()
    assert Dense(2, kernel_initializer="HeNormal").kernel_initializer == "he_normal"
    c = Conv2D(8, 3, kernel_initializer="he_uniform")
    img = Input((6, 6, 2))
    cm = Model(img, Flatten()(c(img)))
    kc = cm.get_weights()[0]
    assert kc.shape == (3, 3, 2, 8) and 0.5 < np.abs(kc).max() <= np.sqrt(6 / 18)
    with pytest.raises(ValueError, match=r"^Dense: kernel_initializer: unknown initializer 'he_norm': use one of "
                       r"glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal, zeros, "
                       r"ones, random_normal, random_uniform$"):
        Dense(2, kernel_initializer="he_norm")
    with pytest.raises(ValueError, match=r"^HeNormal: seed is not supported: initial weights come from the "
                       r"model's seed \(latefuse.Model\(\.\.\., seed=\)\)$"):
        latefuse.initializers.HeNormal(seed=1)


# ---------------------------------------------------------------- metrics

def regression():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(40, 1))
    inp = Input((3,))
    m = Model(inp, Dense(1)(Dense(8, activation="tanh")(inp)), seed=2)
    return m, x, y


def test_metrics_mae_mse_in_history_and_evaluate():
    m, x, y = regression()
    m.compile("adam", "mse", metrics=["mae", "mean_squared_error"])
    assert m.metrics_names == ["loss", "mae", "mean_squared_error"]
    h = m.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
    assert sorted(h.history) == ["loss", "mae", "mean_squared_error", "val_loss", "val_mae",
                                 "val_mean_squared_error"]
    p = m.predict(x).astype(np.float64)
    # the metrics are measured at each epoch's end: the last ones from the final weights
    assert h.history["mae"][-1] == pytest.approx(np.abs(p[:30] - y[:30]).mean(), rel=1e-6)
    assert h.history["val_mae"][-1] == pytest.approx(np.abs(p[30:] - y[30:]).mean(), rel=1e-6)
    assert h.history["val_mean_squared_error"][-1] == pytest.approx(h.history["val_loss"][-1], rel=1e-5)
    loss, mae, mse = m.evaluate(x, y)
    assert mae == pytest.approx(np.abs(p - y).mean(), rel=1e-6) and mse == pytest.approx(loss, rel=1e-5)
    w = np.r_[np.ones(20), np.zeros(20)]
    d = m.evaluate(x, y, sample_weight=w, return_dict=True)
    assert list(d) == ["loss", "mae", "mean_squared_error"]
    # metrics= ignore sample_weight, as Keras' (the loss does not)
    assert d["mae"] == pytest.approx(np.abs(p - y).mean(), rel=1e-6)
    assert d["loss"] == pytest.approx(np.mean(w * ((p - y) ** 2)[:, 0]), rel=1e-5)  # Keras: sum(w l) / N
    with pytest.raises(ValueError, match=r"^compile: unsupported metric 'r2': use 'accuracy', 'mae', 'mse' or "
                       r"'AUC' \(or their long names\)$"):
        m.compile("adam", "mse", metrics=["r2"])


def test_metrics_ignore_sample_weight_as_keras_metrics():
    """Keras weighs only weighted_metrics by sample_weight: metrics=['mae',
    'mse'] (and accuracy) count every row the same, in fit's history and in
    evaluate; the loss is weighted."""
    m, x, y = regression()
    m.compile("adam", "mse", metrics=["mae", "mse"])
    w = np.r_[np.full(10, 50.0), np.full(30, 0.01)]
    h = m.fit(x, y, epochs=2, batch_size=8, sample_weight=w, verbose=0)
    p = m.predict(x).astype(np.float64)
    assert h.history["mae"][-1] == pytest.approx(np.abs(p - y).mean(), rel=1e-6)
    assert h.history["mse"][-1] == pytest.approx(((p - y) ** 2).mean(), rel=1e-6)
    loss, mae, mse = m.evaluate(x, y, sample_weight=w)
    assert mae == pytest.approx(np.abs(p - y).mean(), rel=1e-6)
    assert mse == pytest.approx(((p - y) ** 2).mean(), rel=1e-6)
    assert loss == pytest.approx(np.mean(w * ((p - y) ** 2)[:, 0]), rel=1e-5) and loss != pytest.approx(mse)


def test_validation_split_rows_and_weights_as_keras():
    """validation_split=0.3 of 200 rows: the first floor(200 * 0.7) = 140
    train (as Keras; 0.3 held as a float32 left 139), the last 60 validate
    with their sample weights (val_loss is evaluate's weighted loss there),
    and params['steps'] counts the training rows' batches."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 8)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    w = rng.uniform(0, 3, 200)
    for sw in (None, w):
        i = Input((8,))
        m = Model(i, Dense(2, activation="softmax")(i))
        m.compile("adam", "sparse_categorical_crossentropy")
        seen = {}

        class Steps(Callback):
            def on_train_begin(self, logs=None):
                seen["steps"] = self.params["steps"]

        h = m.fit(X, y, epochs=1, batch_size=16, verbose=0, validation_split=0.3, sample_weight=sw,
                  shuffle=False, callbacks=[Steps()])
        want = m.evaluate(X[140:], y[140:], sample_weight=None if sw is None else sw[140:], verbose=0)
        off = m.evaluate(X[139:], y[139:], sample_weight=None if sw is None else sw[139:], verbose=0)
        assert h.history["val_loss"][-1] == pytest.approx(want, rel=1e-6) and want != pytest.approx(off, rel=1e-4)
        assert seen["steps"] == 9  # ceil(140 / 16)
        if sw is not None:
            assert want != pytest.approx(m.evaluate(X[140:], y[140:], verbose=0), rel=1e-3)


def test_auc_of_a_binary_output_counts_the_pairs_ranked_right():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] + 0.8 * rng.normal(size=60) > 0).astype(np.float64).reshape(-1, 1)
    inp = Input((2,))
    m = Model(inp, Dense(1, activation="sigmoid")(inp))
    m.compile("adam", "binary_crossentropy", metrics=["accuracy", "AUC"])
    assert m.metrics_names == ["loss", "accuracy", "AUC"]  # Keras 3: the string given is the key
    h = m.fit(x, y, epochs=2, validation_split=0.5, verbose=0)
    assert sorted(h.history) == ["AUC", "accuracy", "loss", "val_AUC", "val_accuracy", "val_loss"]
    from latefuse.models import _auc

    def pairs(p):
        pos, neg = p[y[:, 0] == 1], p[y[:, 0] == 0]
        return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))

    p = m.predict(x)[:, 0].astype(np.float64)
    assert m.evaluate(x, y)[2] == pytest.approx(pairs(p), rel=1e-12) and pairs(p) > 0.6
    p[:4] = p[4]  # ties count one half
    assert _auc(p, y[:, 0] > 0.5, np.ones(60)) == pytest.approx(pairs(p), rel=1e-12)
    assert _auc(p, np.zeros(60, bool), np.ones(60)) == 0.0
    two = Model(inp, Dense(2, activation="softmax")(inp))
    with pytest.raises(ValueError, match=r"^compile: metric 'AUC' needs a binary output \(one sigmoid unit\); "
                       r"the output has 2 units$"):
        two.compile("adam", "categorical_crossentropy", metrics=["AUC"])


def test_accuracy_spellings():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(30, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    inp = Input((4,))
    m = Model(inp, Dense(2, activation="softmax")(inp))
    for spelling in ("accuracy", "acc", "sparse_categorical_accuracy"):
        m.compile("adam", "sparse_categorical_crossentropy", metrics=[spelling, "mae"])
        loss, acc, mae = m.evaluate(x, y)
        p = m.predict(x)
        assert acc == pytest.approx((p.argmax(1) == y).mean())
        assert mae == pytest.approx(np.abs(p - np.eye(2)[y]).mean(), rel=1e-6)


def test_accuracy_keys_are_the_names_given():
    """Keras keys the accuracy by the name compile was given (compile_utils'
    get_metric: BinaryAccuracy(name=str(identifier)) for 'acc';
    SparseCategoricalAccuracy's own name): history, evaluate's dict,
    metrics_names and the callbacks' logs say 'acc', not 'accuracy'."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    inp = Input((4,))
    m = Model(inp, Dense(2, activation="softmax")(inp))

    class Keys(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.keys = sorted(logs)

    for name in ("acc", "sparse_categorical_accuracy"):
        m.compile("adam", "sparse_categorical_crossentropy", metrics=[name])
        cb = Keys()
        h = m.fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[cb])
        assert sorted(h.history) == sorted(["loss", name, "val_loss", "val_" + name]) == cb.keys
        assert m.metrics_names == ["loss", name]
        d = m.evaluate(x, y, return_dict=True)
        assert list(d) == ["loss", name] and d[name] == pytest.approx((m.predict(x).argmax(1) == y).mean())
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy", "acc"])  # both, as Keras
    assert m.metrics_names == ["loss", "accuracy", "acc"]
    loss, acc, acc2 = m.evaluate(x, y)
    assert acc == acc2
    a, b = Input((4,)), Input((4,))
    two = Model([a, b], [Dense(2, activation="softmax", name="p")(a), Dense(2, activation="softmax", name="q")(b)])
    two.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"])
    h = two.fit([x, x], [y, y], epochs=1, validation_split=0.25, verbose=0)
    assert sorted(h.history) == sorted(["loss", "p_loss", "q_loss", "p_acc", "q_acc", "val_loss", "val_p_loss",
                                        "val_q_loss", "val_p_acc", "val_q_acc"])
    assert two.metrics_names == ["loss", "p_loss", "q_loss", "p_acc", "q_acc"]


def test_a_users_layer_class_of_a_built_in_name_does_not_change_loading(tmp_path):
    """The seed's script defines its own `class WeightedAverage(Layer)`; a
    model file (and a JSON config) holding latefuse's WeightedAverage still
    loads with latefuse's class (the user's class replaced it: TypeError)."""
    a, b = Input((3,)), Input((3,))
    m = Model([a, b], Dense(1)(WeightedAverage(n_output=2)([Dense(2)(a), Dense(2)(b)])), seed=1)
    path = str(tmp_path / "wa.lf")
    m.save(path)

    def init(self, n_output):  # class WeightedAverage(Layer): def __init__(self, n_output): ...
        latefuse.layers.Layer.__init__(self)

    type("WeightedAverage", (latefuse.layers.Layer,), {"__init__": init})
    x = np.random.default_rng(1).normal(size=(4, 3))
    np.testing.assert_array_equal(load_model(path).predict([x, x]), m.predict([x, x]))
    assert isinstance(model_from_json(m.to_json()).layers[-2], WeightedAverage)


# ---------------------------------------------------------------- callbacks

def test_model_checkpoint_keeps_the_best_epoch(tmp_path):
    m, x, y = regression()
    m.compile("adam", "mse")
    path = str(tmp_path / "best.lf")
    ck = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    h = m.fit(x, y, epochs=6, batch_size=8, validation_split=0.25, verbose=0, callbacks=[ck])
    best = min(h.history["val_loss"])
    assert ck.best == best
    saved = load_model(path)
    assert saved.evaluate(x[30:], y[30:]) == pytest.approx(best, rel=1e-5)
    every = ModelCheckpoint(str(tmp_path / "m.{epoch:02d}-{loss:.3f}.lf"))
    h = m.fit(x, y, epochs=2, verbose=0, callbacks=[every])
    assert sorted(os.listdir(tmp_path)) == sorted(["best.lf"] + ["m.%02d-%.3f.lf" % (e + 1, l)
                                                                  for e, l in enumerate(h.history["loss"])])
    with pytest.raises(ValueError, match=r"^ModelCheckpoint: 'best.h5' asks for Keras' HDF5 format \(.h5\), "
                       r"which latefuse does not write; latefuse saves one "
                       r"safetensors file: use a name ending in .lf or .safetensors$"):
        ModelCheckpoint("best.h5")
    ModelCheckpoint("best.keras")  # Model.save writes Keras' .keras (test_keras_file.py)
    with pytest.raises(ValueError, match=r"^ModelCheckpoint: save_weights_only=True is not supported"):
        ModelCheckpoint("w.lf", save_weights_only=True)


def test_own_callbacks_see_every_epoch_and_their_errors_are_raised():
    m, x, y = regression()
    m.compile("adam", "mse", metrics=["mae"])

    class Log(Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append((epoch, sorted(logs), self.model.predict(x[:2]).shape))

    log = Log()
    m.fit(x, y, epochs=3, validation_data=(x[:5], y[:5]), verbose=0,
          callbacks=[log, EarlyStopping(patience=5)])
    assert log.seen == [(e, ["loss", "mae", "val_loss", "val_mae"], (2, 1)) for e in range(3)]

    class Broken(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyError("boom at %d" % epoch)

    with pytest.raises(KeyError, match="boom at 0"):
        m.fit(x, y, epochs=2, verbose=0, callbacks=[Broken()])


def f32(v):
    return float(np.float32(v))


def scripted(key, values):
    """A callback that writes values[epoch] into logs[key] (the callbacks
    after it see it, as in Keras' one logs dict)."""
    return LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(key, values[epoch]))


def per_epoch_fits(rates, seed=2):
    """The weights after one fit per epoch, compiled again with each rate
    (plain SGD keeps no state; rows in order): what a fit whose callbacks
    set these rates must give."""
    m, x, y = regression()
    for r in rates:
        m.compile(SGD(learning_rate=r), "mse")
        m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    return m.get_weights()


def test_reduce_lr_on_plateau_follows_keras_rule():
    # Keras 3's rule on this val_loss: better means below best - min_delta;
    # after patience=2 epochs without, lr = max(lr * 0.5, min_lr) when
    # lr > float32(min_lr), then cooldown=1 epoch where wait stays 0
    #   epoch  val_loss  best  wait  cooldown  lr logged  lr after
    #   0      1.0       1.0   0                a          a
    #   1      0.9       0.9   0                a          a
    #   2      0.95            1                a          a
    #   3      0.92            2->0  1          a          b = a/2
    #   4      0.9             1     0          b          b   (0.9 is not below 0.9 - 1e-4)
    #   5      0.91            2->0  1          b          c = b/2
    #   6      0.93            1     0          c          c
    #   7      0.94            2->0  1          c          d = c/2
    #   8      0.96            1     0          d          d
    #   9      0.97            2->0  1          d          max(d/2, 0.01) = 0.01
    vl = [1.0, 0.9, 0.95, 0.92, 0.9, 0.91, 0.93, 0.94, 0.96, 0.97]
    a = f32(0.1)
    b, c, d = f32(a * 0.5), f32(a * 0.25), f32(a * 0.125)
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.1), "mse")
    seen = []
    rl = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.01)
    h = m.fit(x, y, epochs=10, batch_size=8, shuffle=False, verbose=0,
              callbacks=[LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(m.optimizer.learning_rate)),
                         scripted("val_loss", vl), rl])
    assert h.history["learning_rate"] == [a, a, a, a, b, b, c, c, d, d]
    assert h.history["val_loss"] == vl
    assert [f32(r) for r in seen] == [a, a, a, a, b, b, c, c, d, d]
    assert m.optimizer.learning_rate == 0.01 and rl.best == 0.9 and rl.wait == 0 and rl.cooldown_counter == 1
    # the steps used these rates: the weights of one fit per epoch at them
    want = per_epoch_fits([a, a, a, a, b, b, c, c, d, d])
    for got, w in zip(m.get_weights(), want):
        np.testing.assert_array_equal(got, w)
    # mode 'max' for an accuracy, and a monitor it cannot tell refused as Keras
    acc = ReduceLROnPlateau(monitor="val_acc", min_delta=0.01)
    acc._set_monitor_op()
    assert acc._is_improvement(0.82, 0.8) and not acc._is_improvement(0.805, 0.8)
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)
    bad = ReduceLROnPlateau(monitor="my_score")
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[bad])
    with pytest.warns(RuntimeWarning, match="conditioned on metric `val_loss` which is not available"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])


def test_learning_rate_scheduler_sets_each_epoch_rate():
    # Keras' docstring example: SGD's 0.01, kept 10 epochs then times
    # exp(-0.1) each epoch; 15 epochs end at 0.00607
    import math
    m, x, y = regression()
    m.compile(SGD(), "mse")
    rates, lr = [], f32(0.01)
    for e in range(15):
        lr = f32(lr if e < 10 else lr * math.exp(-0.1))
        rates.append(lr)
    h = m.fit(x, y, epochs=15, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * math.exp(-0.1))])
    assert round(m.optimizer.learning_rate, 5) == 0.00607
    assert h.history["learning_rate"] == rates
    # the old form schedule(epoch), and the rates reach the steps
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.1), "mse")
    m.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
          callbacks=[LearningRateScheduler(lambda epoch: [0.2, 0.05, 0.01][epoch])])
    for got, w in zip(m.get_weights(), per_epoch_fits([0.2, 0.05, 0.01])):
        np.testing.assert_array_equal(got, w)
    with pytest.raises(ValueError, match="should be a float. Got: 1"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: 1)])
    with pytest.raises(ValueError, match="learning_rate must be finite and > 0, got 0.0"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: 0.0)])


def test_optimizer_learning_rate_is_settable_and_saved(tmp_path):
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.1), "mse")
    assert m.optimizer.learning_rate == 0.1
    m.optimizer.learning_rate = 0.02
    path = str(tmp_path / "m.lf")
    m.save(path)
    assert load_model(path).optimizer.learning_rate == 0.02
    with pytest.raises(ValueError, match="learning_rate must be finite and > 0, got -1"):
        m.optimizer.learning_rate = -1


def test_csv_logger_writes_keras_bytes(tmp_path):
    # Keras 3: 'epoch' then the sorted keys; no val_ key: their val_ names
    # too, holding NA; the excel dialect's CRLF; append writes no second header
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.1), "mse")
    path = tmp_path / "log.csv"
    m.fit(x, y, epochs=2, verbose=0, callbacks=[scripted("loss", [0.5, 0.25]), CSVLogger(str(path))])
    assert path.read_bytes() == b"epoch,loss,val_loss\r\n0,0.5,NA\r\n1,0.25,NA\r\n"
    m.fit(x, y, epochs=1, verbose=0, callbacks=[scripted("loss", [0.125]), CSVLogger(path, append=True)])
    assert path.read_bytes() == b"epoch,loss,val_loss\r\n0,0.5,NA\r\n1,0.25,NA\r\n0,0.125,NA\r\n"
    # with validation data and ReduceLROnPlateau before it: its learning_rate
    # column; the values as Python writes the floats, separator ';'
    h = m.fit(x, y, epochs=2, validation_split=0.25, verbose=0,
              callbacks=[ReduceLROnPlateau(), CSVLogger(path, separator=";")])
    rows = ["epoch;learning_rate;loss;val_loss"] + ["%d;%r;%r;%r" % (e, f32(0.1), h.history["loss"][e],
                                                                      h.history["val_loss"][e]) for e in range(2)]
    assert path.read_bytes() == ("\r\n".join(rows) + "\r\n").encode()
    with pytest.raises(IsADirectoryError, match="CSVLogger: '.*' is a directory"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(tmp_path)])


def test_terminate_on_nan_and_stop_training():
    m, x, y = regression()
    m.compile(SGD(learning_rate=1e30), "mse")
    w0 = m.get_weights()
    with pytest.raises(LatefuseError, match="training diverged at epoch 2"):
        m.fit(x, y, epochs=5, verbose=0)
    assert m.optimizer.iterations == 4  # the steps done (2 an epoch), as the library counts them
    # Keras 3 checks each batch's logs (on_batch_end): fit ends after the
    # first batch whose running loss is not finite, that epoch's end still
    # logged; the batch found here from the batch logs of a fit without it
    m.set_weights(w0)
    seen = []
    log = LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs["loss"]))
    with pytest.raises(LatefuseError, match="training diverged"):
        m.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0, callbacks=[log])
    first = next(i for i, v in enumerate(seen) if not np.isfinite(v))  # 5 steps an epoch
    epoch, batch = divmod(first, 5)
    assert batch < 4  # not an epoch's last batch: the stop comes mid-epoch
    m.set_weights(w0)
    seen.clear()
    it0 = int(m.optimizer.iterations)
    h = m.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0, callbacks=[log, TerminateOnNaN()])
    assert len(seen) == first + 1 and not np.isfinite(seen[-1])  # no batch after the first NaN one
    assert int(m.optimizer.iterations) - it0 == first + 1
    assert len(h.history["loss"]) == epoch + 1 and not np.isfinite(h.history["loss"][-1])
    assert all(np.isfinite(h.history["loss"][:-1]))
    m.set_weights(w0)
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch %d" % batch):
        m.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=0, callbacks=[TerminateOnNaN(raise_error=True)])
    # model.stop_training from any callback ends fit after that epoch: the
    # weights of a fit of that many epochs
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.1), "mse")
    stop = LambdaCallback(on_epoch_end=lambda e, logs: setattr(m, "stop_training", e == 1))
    ends = []
    h = m.fit(x, y, epochs=6, batch_size=8, shuffle=False, verbose=0,
              callbacks=[stop, LambdaCallback(on_train_end=lambda logs: ends.append(logs))])
    assert len(h.history["loss"]) == 2 and len(ends) == 1
    for got, w in zip(m.get_weights(), per_epoch_fits([0.1, 0.1])):
        np.testing.assert_array_equal(got, w)
    assert len(m.fit(x, y, epochs=3, verbose=0).history["loss"]) == 3  # the next fit starts anew


def test_lambda_callback_hooks():
    m, x, y = regression()
    m.compile("adam", "mse")
    calls = []
    cb = LambdaCallback(on_epoch_begin=lambda e, logs: calls.append(("begin", e)),
                        on_epoch_end=lambda e, logs: calls.append(("end", e, sorted(logs))),
                        on_train_begin=lambda logs: calls.append("train_begin"),
                        on_train_end=lambda logs: calls.append("train_end"))
    m.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert calls == ["train_begin", ("begin", 0), ("end", 0, ["loss"]), ("begin", 1), ("end", 1, ["loss"]),
                     "train_end"]


def per_batch_steps(rates, n_rows, batch=8):
    """The weights after plain-SGD steps over the rows in order, batch by
    batch, each step with its rate (train_on_batch): what a fit whose batch
    hooks set these rates, or that stops after len(rates) steps, gives."""
    m, x, y = regression()
    m.compile(SGD(learning_rate=rates[0]), "mse")
    for k, r in enumerate(rates):
        m.optimizer.learning_rate = r
        a = (k * batch) % n_rows
        m.train_on_batch(x[a:a + batch], y[a:a + batch])
    return m.get_weights()


def test_batch_hooks_order_logs_rates_and_stop():
    # Keras 3's fit loop (keras/src/backend/torch/trainer.py: on_epoch_begin,
    # then per batch on_train_batch_begin(step), the step,
    # on_train_batch_end(step, logs), break on stop_training; then
    # on_epoch_end); on_batch_begin / on_batch_end are the aliases the base
    # class's on_train_batch_* call (keras/src/callbacks/callback.py)
    m, x, y = regression()  # 40 rows, batch 16: 3 steps an epoch
    m.compile(SGD(learning_rate=0.01), "mse")
    calls = []

    class Alias(Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(("alias_end", batch))

    cb = LambdaCallback(on_epoch_begin=lambda e, logs: calls.append(("eb", e)),
                        on_epoch_end=lambda e, logs: calls.append(("ee", e)),
                        on_train_batch_begin=lambda b, logs: calls.append(("bb", b)),
                        on_train_batch_end=lambda b, logs: calls.append(("be", b, sorted(logs))))
    h = m.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0, callbacks=[cb, Alias()])
    epoch = [("bb", 0), ("be", 0, ["loss"]), ("alias_end", 0), ("bb", 1), ("be", 1, ["loss"]),
             ("alias_end", 1), ("bb", 2), ("be", 2, ["loss"]), ("alias_end", 2)]
    assert calls == [("eb", 0)] + epoch + [("ee", 0), ("eb", 1)] + epoch + [("ee", 1)]
    # batch logs: the epoch's running loss; the first batch's is its own
    # mse (by hand, from the weights before), the last one the epoch's
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.01), "mse")
    first = float(np.mean((m.predict(x[:16]).astype(np.float64) - y[:16]) ** 2))
    logs = []
    h = m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0,
              callbacks=[LambdaCallback(on_train_batch_end=lambda b, lg: logs.append(lg["loss"]))])
    assert len(logs) == 3 and logs[2] == h.history["loss"][0]
    np.testing.assert_allclose(logs[0], first, rtol=1e-5)
    # a rate set per batch (a warm-up) is the next step's: the weights of
    # one train_on_batch per step with those rates
    rates = [0.001, 0.002, 0.004, 0.008, 0.016]
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.1), "mse")
    step = [0]

    def warm(b, logs):
        m.optimizer.learning_rate = rates[step[0]]
        step[0] += 1

    m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0,
          callbacks=[LambdaCallback(on_train_batch_begin=warm)])
    for got, w in zip(m.get_weights(), per_batch_steps(rates, 40)):
        np.testing.assert_array_equal(got, w)
    # model.stop_training in on_train_batch_end: fit ends after that step,
    # the epoch's loss that of the steps done, on_epoch_end still runs
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.01), "mse")
    seen, ends = [], []

    def stop(b, logs):
        seen.append((b, logs["loss"]))
        m.stop_training = b == 1

    h = m.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
              callbacks=[LambdaCallback(on_train_batch_end=stop, on_epoch_end=lambda e, lg: ends.append(e))])
    assert [b for b, _ in seen] == [0, 1] and ends == [0]
    assert h.history["loss"] == [seen[1][1]]
    for got, w in zip(m.get_weights(), per_batch_steps([0.01, 0.01], 40)):
        np.testing.assert_array_equal(got, w)
    # set in on_train_batch_begin(2): Keras still runs batch 2 (its loop
    # checks stop_training after on_train_batch_end), then stops
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.01), "mse")
    calls = []

    def begin(b, logs):
        calls.append(("bb", b))
        m.stop_training = b == 2

    h = m.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
              callbacks=[LambdaCallback(on_train_batch_begin=begin,
                                        on_train_batch_end=lambda b, lg: calls.append(("be", b)))])
    assert calls == [("bb", 0), ("be", 0), ("bb", 1), ("be", 1), ("bb", 2), ("be", 2)]
    assert m.optimizer.iterations == 3 and len(h.history["loss"]) == 1
    for got, w in zip(m.get_weights(), per_batch_steps([0.01] * 3, 40)):
        np.testing.assert_array_equal(got, w)


def _scripted_fit(losses, **es_args):
    """y = w x (no bias), one row x = 1, y = 0 (validation the same), SGD,
    one step an epoch: w becomes w (1 - 2 lr), so the rate of epoch e
    (LearningRateScheduler) takes w to (-1)^(e+1) sqrt(losses[e]) and
    val_loss at epoch e is losses[e]"""
    from latefuse.callbacks import LearningRateScheduler
    w = [1.0] + [(1 if e % 2 else -1) * np.sqrt(t) for e, t in enumerate(losses)]
    lrs = [(1 - w[e + 1] / w[e]) / 2 for e in range(len(losses))]
    x, y = np.ones((1, 1), np.float32), np.zeros((1, 1), np.float32)
    inp = Input((1,))
    m = Model(inp, Dense(1, use_bias=False, name="w")(inp))
    m.get_layer("w").set_weights([np.ones((1, 1), np.float32)])
    m.compile(SGD(0.1), "mse")
    es = EarlyStopping(restore_best_weights=True, **es_args)
    h = m.fit(x, y, validation_data=(x, y), epochs=len(losses), batch_size=1, verbose=0,
              callbacks=[LearningRateScheduler(lambda e, lr: lrs[e]), es])
    np.testing.assert_allclose(h.history["val_loss"], losses[:len(h.history["val_loss"])], rtol=1e-5)
    return m, es, h, w


def test_early_stopping_baseline_and_start_from_epoch():
    """Keras 3's rules (keras/src/callbacks/early_stopping.py): wait grows
    every watched epoch, an improvement resets it only when it beats the
    baseline too, an epoch without one stops once wait >= patience; the
    epochs before start_from_epoch are not watched.  Worked out by hand."""
    t = [1.0, 0.9, 0.8, 0.85, 0.7, 0.75, 0.76, 0.6]
    # no baseline: waits 0 0 0 1 0 1 2 -> stops at epoch 6, best 4
    m, es, h, w = _scripted_fit(t, patience=2)
    assert (len(h.history["val_loss"]), es.stopped_epoch, es.best_epoch) == (7, 6, 4)
    assert m.get_layer("w").get_weights()[0][0, 0] == pytest.approx(w[4 + 1], rel=1e-5)
    # baseline 0.5 never beaten: waits 1 2 3 4 -> stops at epoch 3 (no improvement), best 2
    m, es, h, w = _scripted_fit(t, patience=2, baseline=0.5)
    assert (len(h.history["val_loss"]), es.stopped_epoch, es.best_epoch) == (4, 3, 2)
    assert m.get_layer("w").get_weights()[0][0, 0] == pytest.approx(w[2 + 1], rel=1e-5)
    # start_from_epoch 2: the low losses of epochs 0 and 1 are not watched
    t2 = [0.1, 0.2, 0.9, 0.8, 0.85, 0.5, 0.4, 0.3]
    m, es, h, w = _scripted_fit(t2, patience=1, start_from_epoch=2)
    assert (len(h.history["val_loss"]), es.stopped_epoch, es.best_epoch) == (5, 4, 3)
    assert m.get_layer("w").get_weights()[0][0, 0] == pytest.approx(w[3 + 1], rel=1e-5)
    with pytest.raises(ValueError, match="start_from_epoch must be an integer >= 0"):
        EarlyStopping(start_from_epoch=-1)
    with pytest.raises(ValueError, match="baseline must be a finite number or None"):
        EarlyStopping(baseline=float("nan"))


def test_summary_keras_arguments():
    """Keras 3's Model.summary(line_length, positions, print_fn,
    expand_nested, show_trainable, layer_range): every line within
    line_length, the Trainable column (Y / N / -), layer_range's regex
    bounds (keras/src/utils/summary_utils.py); an unknown keyword is a
    TypeError as in Keras"""
    a, b = Input((4,), name="a"), Input((3,), name="b")
    h = Concatenate(name="cat")([Dense(5, name="da")(a), Dense(5, name="db")(b)])
    m = Model([a, b], Dense(2, name="o")(h))
    m.get_layer("da").trainable = False
    out = []
    m.summary(print_fn=out.append)
    default = out[-1]
    assert "da (Dense)" in default and "Connected to\n" in default  # the C table as it is
    m.summary(line_length=72, show_trainable=True, layer_range=["d", "cat"], expand_nested=True,
              print_fn=out.append)
    lines = out[-1].split("\n")
    assert max(len(ln) for ln in lines) == 72 and lines[1] == "_" * 72
    rows = [ln.split() for ln in lines if ln.startswith(("a ", "b ", "da ", "db ", "cat ", "o "))]
    assert [(r[0], r[-1]) for r in rows] == [("da", "N"), ("db", "Y"), ("cat", "-")]
    assert " Total params: 67 (0.26 KB)" in lines
    m.summary(line_length=100, positions=[0.25, 0.5, 0.6, 1.0], print_fn=out.append)
    hdr = out[-1].split("\n")[2]
    assert hdr.index("Output Shape") == 25 and hdr.index("Connected to") == 60
    with pytest.raises(ValueError, match="Insufficient console width to print summary"):
        m.summary(line_length=12)
    with pytest.raises(ValueError, match="Passed layer_names do not match"):
        m.summary(layer_range=["nope", "o"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        m.summary(colour=True)


def test_layer_input_output_built_and_model_trainable():
    """Keras 3's layer.input / layer.output (the first call's tensors,
    keras/src/ops/operation.py; never called: AttributeError), layer.built,
    and Model(inputs, outputs, trainable=False)"""
    a, b = Input((4,), name="a"), Input((3,), name="b")
    d = Dense(5, name="d")
    assert not d.built
    with pytest.raises(AttributeError, match="The layer d has never been called and thus has no defined input"):
        d.input
    with pytest.raises(AttributeError, match="has never been called and thus has no defined output"):
        d.output
    x = d(a)
    cat = Concatenate()
    h = cat([x, Dense(5)(b)])
    assert d.built and d.input is a and d.output is x
    assert cat.input == [x, h.inputs[1]] and cat.output is h
    assert a.layer.input == [] and a.layer.output is a
    m = Model([a, b], Dense(2, name="o")(h), name="net", trainable=False)
    assert m.name == "net" and not m.trainable and not d.trainable and m.trainable_weights == []
    assert Model([a, b], m.get_layer("o").output).trainable is False  # the same (frozen) layers


# ---------------------------------------------------------------- configs and files

def test_layer_configs_round_trip():
    d = Dense(5, activation="relu", use_bias=False, kernel_initializer="he_normal",
              kernel_regularizer=latefuse.regularizers.l2(0.01), name="d")
    cfg = d.get_config()
    assert cfg == {"name": "d", "trainable": True, "units": 5, "activation": "relu", "use_bias": False,
                   "kernel_initializer": "he_normal", "bias_initializer": "zeros",
                   "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}, "bias_regularizer": None,
                   "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    assert Dense.from_config(cfg).get_config() == cfg
    c = Conv2D(4, (3, 2), strides=2, padding="same", name="c")
    assert Conv2D.from_config(c.get_config()).get_config() == c.get_config()
    assert c.get_config()["kernel_size"] == [3, 2] and c.get_config()["strides"] == [2, 2]
    json.dumps([d.get_config(), c.get_config(), WeightedAverage(n_output=2).get_config()])


@pytest.mark.parametrize("kind", ["Dense", "Conv2D", "Conv1D"])
def test_bias_regularizer(kind, tmp_path):
    """bias_regularizer=l2(b) beside kernel_regularizer=l2(k), as Keras:
    the loss gains k * sum(kernel**2) + b * sum(bias**2); get_config and
    the model file keep both"""
    from latefuse.layers import Conv1D
    from latefuse.regularizers import l2
    rng = np.random.default_rng(3)
    shape = {"Dense": (4,), "Conv2D": (4, 4, 2), "Conv1D": (5, 2)}[kind]
    x = rng.normal(size=(6,) + shape).astype(np.float32)
    y = rng.normal(size=(6, 1)).astype(np.float32)
    make = {"Dense": lambda **kw: Dense(3, name="r", **kw), "Conv2D": lambda **kw: Conv2D(3, 2, name="r", **kw),
            "Conv1D": lambda **kw: Conv1D(3, 2, name="r", **kw)}[kind]
    losses = []
    for regs in ({}, {"kernel_regularizer": l2(0.1), "bias_regularizer": l2(0.25)}):
        inp = Input(shape)
        layer = make(**regs)
        h = layer(inp)
        h = Flatten()(h) if kind != "Dense" else h
        m = Model(inp, Dense(1, name="o")(h), seed=4)
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel, np.linspace(-1, 2, bias.size).astype(np.float32)])
        m.compile(loss="mse")
        losses.append(m.evaluate(x, y, verbose=0))
    kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
    assert losses[1] - losses[0] == pytest.approx(0.1 * np.sum(kernel ** 2) + 0.25 * np.sum(bias ** 2), rel=1e-5)
    cfg = layer.get_config()
    assert cfg["bias_regularizer"] == {"class_name": "L2", "config": {"l2": 0.25}}
    assert type(layer).from_config(cfg).bias_l2 == pytest.approx(0.25)
    path = os.path.join(str(tmp_path), "b.lf")
    m.save(path)
    m2 = load_model(path)
    assert m2.get_layer("r").bias_l2 == pytest.approx(0.25)
    m2.compile(loss="mse")
    assert m2.evaluate(x, y, verbose=0) == pytest.approx(losses[1], rel=1e-6)
    with pytest.raises(ValueError, match="%s: bias_regularizer must be latefuse.regularizers.L1, L2 or L1L2" % kind):
        make(bias_regularizer=lambda w: 0.0)


def test_to_json_and_model_from_json_rebuild_the_graph():
    images_model, text_model, full, _ = founding_models()
    again = model_from_json(full.to_json())
    assert again.count_params() == full.count_params()
    assert [ly.name for ly in again.layers] == [full._names[id(ly)] for ly in full.layers]
    again.set_weights(full.get_weights())
    rng = np.random.default_rng(7)
    X = [rng.normal(size=(4, 8)), rng.normal(size=(4, 5))]
    np.testing.assert_array_equal(again.predict(X), full.predict(X))
    m, _ = shared_model()
    twin = Model.from_config(m.get_config())
    assert twin.count_params() == 19 and len(twin.layers) == len(m.layers)
    with pytest.raises(ValueError, match=r"^model_from_json: not a model's JSON \(class_name 'Functional' expected\)$"):
        model_from_json('{"class_name": "Dense"}')


def test_from_config_keeps_every_output():
    """A model of several outputs comes back with all of them (not the
    first only); Keras' one-tensor form [layer, node, 0] reads too."""
    a, b = Input((4,), name="a"), Input((3,), name="b")
    h = Concatenate()([Dense(5, name="da")(a), Dense(5, name="db")(b)])
    m = Model([a, b], [Dense(2, activation="softmax", name="oa")(h), Dense(1, name="ob")(h)])
    for twin in (Model.from_config(m.get_config()), model_from_json(m.to_json())):
        assert twin.output_names == ["oa", "ob"] and twin.count_params() == m.count_params()
        twin.set_weights(m.get_weights())
        rng = np.random.default_rng(2)
        X = [rng.normal(size=(3, 4)), rng.normal(size=(3, 3))]
        for p, q in zip(twin.predict(X), m.predict(X)):
            np.testing.assert_array_equal(p, q)
    cfg = m.get_config()
    cfg["output_layers"] = cfg["output_layers"][1]  # one tensor, as Keras writes Model(x, out)'s
    assert Model.from_config(cfg).output_names == ["ob"]


def test_clone_model_new_layers_same_architecture():
    """keras.models.clone_model: the same graph with new layers (weights
    of its own), uncompiled; Sequential stays Sequential."""
    from latefuse.models import clone_model
    m, d = shared_model()
    c = clone_model(m)
    assert [ly.name for ly in c.layers] == [ly.name for ly in m.layers] and c.count_params() == 19
    assert all(ly is not d for ly in c.layers)
    c.set_weights([w + 1 for w in m.get_weights()])
    np.testing.assert_array_equal(m.get_weights()[0] + 1, c.get_weights()[0])
    assert not np.array_equal(d.get_weights()[0], c.get_weights()[0])  # the original keeps its own
    s = clone_model(Sequential([Input((4,)), Dense(2, name="h")]))
    assert isinstance(s, Sequential) and s.get_layer("h").get_weights()[0].shape == (4, 2)
    with pytest.raises(NotImplementedError, match=r"^clone_model: the argument clone_function is not supported"):
        clone_model(m, clone_function=lambda ly: ly)


@pytest.mark.parametrize("name,fmt", [("m.h5", r"Keras' HDF5 format \(.h5\)"),
                                      ("m.hdf5", r"Keras' HDF5 format \(.hdf5\)")])
def test_save_refuses_keras_names(tmp_path, name, fmt):
    m, _ = shared_model()
    path = str(tmp_path / name)
    with pytest.raises(ValueError, match=r"^save: '%s' asks for %s, which latefuse does not write; latefuse saves "
                       r"one safetensors file: use a name ending in .lf or .safetensors$" % (path, fmt)):
        m.save(path)
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------- TextVectorization in the model

TEXTS = ["the cat sat", "a dog ran", "the cat ran away", "dogs and cats", "a cat", "the dog"] * 5
LABELS = np.array([0, 1, 0, 1, 0, 1] * 5)


def text_model(mode="tf_idf"):
    from latefuse.layers import TextVectorization
    vec = TextVectorization(output_mode=mode, output_sequence_length=4 if mode == "int" else None)
    vec.adapt(TEXTS)
    s = Input(shape=(1,), dtype="string", name="text")
    out = Dense(2, activation="softmax")(Dense(8, activation="relu")(vec(s)))
    m = Model(s, out, seed=4)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m, vec


@pytest.mark.parametrize("mode", ["tf_idf", "int"])
def test_text_vectorization_is_saved_with_the_model(tmp_path, mode):
    m, vec = text_model(mode)
    h = m.fit(TEXTS, LABELS, epochs=3, verbose=0, validation_data=(TEXTS[:6], LABELS[:6]))
    assert len(h.history["val_accuracy"]) == 3
    probe = ["the cat", "a dog", "zebra"]
    p = m.predict(probe)
    np.testing.assert_array_equal(p, m.predict(vec(probe)))  # strings or the vectorized rows
    m.save(tmp_path / "t.lf")
    g = load_model(tmp_path / "t.lf")
    np.testing.assert_array_equal(g.predict(probe), p)
    assert g._tv[0].get_vocabulary() == vec.get_vocabulary()
    assert g.evaluate(TEXTS, LABELS) == pytest.approx(m.evaluate(TEXTS, LABELS), rel=1e-6)  # its metrics too
    if mode == "int":
        # the vectorizer is live: adapted again, the next save keeps the new vocabulary
        vec.adapt(["zebra zebra lion"])
        m.save(tmp_path / "t2.lf")
        assert load_model(tmp_path / "t2.lf")._tv[0].get_vocabulary() == ["", "[UNK]", "zebra", "lion"]


def test_text_model_nested_and_errors(tmp_path):
    from latefuse.layers import TextVectorization
    m, vec = text_model()
    t = Input(shape=(1,), dtype="string")
    outer = Model(t, Dense(1)(m(t)))  # the founding question's text_model(text_input)
    np.testing.assert_allclose(outer.predict(["the cat"]),
                               m.predict(["the cat"]) @ outer.get_weights()[-2] + outer.get_weights()[-1],
                               rtol=1e-5)
    s = Input(shape=(1,), dtype="string")
    with pytest.raises(ValueError, match=r"^Model: inputs\[0\] is a string input that no TextVectorization "
                       r"or StringLookup is called on$"):
        Model(s, Dense(1)(Input((3,))))
    with pytest.raises(ValueError, match=r"^TextVectorization: a model input needs a fixed "
                       r"output_sequence_length in 'int' mode$"):
        TextVectorization()(Input(shape=(1,), dtype="string"))
    with pytest.raises(ValueError, match=r"^Input: a string input holds n strings per row: shape=\(n,\) \(one "
                       r"text per row, \(1,\), for a TextVectorization\), got \(3, 2\)$"):
        Input(shape=(3, 2), dtype="string")
    with pytest.raises(ValueError, match=r"^TextVectorization: call it on a string input, Input\(shape=\(1,\)"):
        TextVectorization(output_sequence_length=2)(Input(shape=(3,), dtype="string"))
    # adapted again to a vocabulary of another size, the vectorizer no longer fits the model
    vec.adapt(["zebra lion"])
    with pytest.raises(LatefuseError, match=r"^lf_model_attach_textvec: input 'text' has shape \(None, 11\); "
                       r"the vectorizer makes \(None, 3\)$"):
        m.save(tmp_path / "never.lf")
    assert not os.listdir(tmp_path)


# ---------------------------------------------------------------- Keras 3's
# fit / evaluate / predict arguments: validation_freq, validation_steps and
# validation_batch_size, steps_per_epoch, initial_epoch, evaluate(steps,
# callbacks), predict(steps, callbacks)
# (keras/src/backend/torch/trainer.py, keras/src/trainers/trainer.py
# _should_eval, keras/src/trainers/epoch_iterator.py,
# keras/src/trainers/data_adapters/array_data_adapter.py)

class Recorder(Callback):
    """Every hook's call, in order, with its argument and a copy of logs."""

    def __init__(self):
        super().__init__()
        self.calls = []


def _record(hook):
    def f(self, *args, **kwargs):
        logs = kwargs["logs"] if "logs" in kwargs else args[-1]
        args = args if "logs" in kwargs else args[:-1]
        self.calls.append((hook,) + args + (dict(logs or {}),))
    return f


for _h in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
           "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
           "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"):
    setattr(Recorder, _h, _record(_h))


def names(rec, prefix):
    return [c[0] for c in rec.calls if c[0].startswith(prefix)]


def test_validation_freq_validates_those_epochs_only():
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse", metrics=["mae"])
    vx, vy = x[30:], y[30:]
    at_end = {}
    probe = LambdaCallback(on_epoch_end=lambda e, logs: at_end.__setitem__(e, (dict(logs), m.evaluate(vx, vy),
                                                                                 m.get_weights())))
    rec = Recorder()
    h = m.fit(x[:30], y[:30], epochs=5, batch_size=8, validation_data=(vx, vy), validation_freq=2, verbose=0,
              callbacks=[probe, rec])
    # epochs 2 and 4 (1-based) measured: their logs hold val_*, the others not
    for e in range(5):
        keys = sorted(at_end[e][0])
        assert keys == (["loss", "mae", "val_loss", "val_mae"] if e in (1, 3) else ["loss", "mae"]), (e, keys)
    for e in (1, 3):
        assert at_end[e][0]["val_loss"] == pytest.approx(at_end[e][1][0], rel=1e-12)
    # Keras' History: the val_ lists hold the validated epochs' values only
    assert h.epoch == [0, 1, 2, 3, 4] and len(h.history["loss"]) == 5
    assert h.history["val_loss"] == [at_end[1][0]["val_loss"], at_end[3][0]["val_loss"]]
    assert h.history["val_mae"] == [at_end[1][0]["val_mae"], at_end[3][0]["val_mae"]]
    # fit's validation goes through evaluate(callbacks=...) in Keras: on_test_begin /
    # on_test_end (the logs without val_) at those epochs only, before on_epoch_end
    ends = [c for c in rec.calls if c[0] in ("on_test_begin", "on_test_end", "on_epoch_end")]
    assert [c[0] for c in ends] == ["on_epoch_end", "on_test_begin", "on_test_end", "on_epoch_end",
                                    "on_epoch_end", "on_test_begin", "on_test_end", "on_epoch_end",
                                    "on_epoch_end"]
    assert ends[2][1] == {"loss": at_end[1][0]["val_loss"], "mae": at_end[1][0]["val_mae"]}
    # a list: those 1-based epochs; the training itself as without validation
    m2, _, _ = regression()
    m2.compile(SGD(learning_rate=0.05), "mse", metrics=["mae"])
    h2 = m2.fit(x[:30], y[:30], epochs=5, batch_size=8, validation_data=(vx, vy), validation_freq=[1, 5, 9],
                verbose=0)
    assert len(h2.history["val_loss"]) == 2 and h2.history["loss"] == h.history["loss"]
    assert h2.history["val_loss"][1] == pytest.approx(m2.evaluate(vx, vy)[0], rel=1e-12)
    for got, w in zip(m2.get_weights(), at_end[4][2]):
        np.testing.assert_array_equal(got, w)
    with pytest.raises(ValueError, match="Expected `validation_freq` to be a list or int"):
        m2.fit(x, y, epochs=1, validation_split=0.2, validation_freq="2", verbose=0)
    with pytest.raises(ValueError, match="validation_freq must be an integer >= 1"):
        m2.fit(x, y, epochs=1, validation_split=0.2, validation_freq=0, verbose=0)


def test_validation_freq_early_stopping_skips_unvalidated_epochs():
    # Keras' EarlyStopping returns at an epoch whose logs lack val_loss (a
    # warning): with min_delta too big to improve, epoch 2 (the first
    # validated) is the best and epoch 4 the first without improvement, so
    # patience=1 stops there, 4 epochs run; the best weights are epoch 2's
    def fresh():
        m, x, y = regression()
        m.compile(SGD(learning_rate=0.05), "mse")
        return m, x, y
    m, x, y = fresh()
    es = EarlyStopping(patience=1, min_delta=100.0, restore_best_weights=True)
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `val_loss` which is not "
                                         "available. Available metrics are: loss"):
        h = m.fit(x, y, epochs=8, batch_size=8, validation_split=0.25, validation_freq=2, verbose=0,
                  callbacks=[es])
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    assert h.stopped_early and h.best_epoch == 1 and es.best_epoch == 1 and es.stopped_epoch == 3
    m2, _, _ = fresh()
    m2.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    for got, w in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(got, w)


def test_validation_steps_and_batch_size():
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse")
    vx, vy = x[30:], y[30:]  # 10 rows
    got = {}
    probe = LambdaCallback(on_epoch_end=lambda e, logs: got.update(
        val=logs["val_loss"], first6=m.evaluate(vx[:6], vy[:6]), all=m.evaluate(vx, vy)))
    # validation_steps=2 of validation_batch_size=3: the first 6 rows
    m.fit(x[:30], y[:30], epochs=1, batch_size=8, validation_data=(vx, vy), validation_steps=2,
          validation_batch_size=3, verbose=0, callbacks=[probe])
    assert got["val"] == pytest.approx(got["first6"], rel=1e-12) and got["val"] != pytest.approx(got["all"])
    # fit's batch_size when validation_batch_size is None: 4 rows of 8
    m.fit(x[:30], y[:30], epochs=1, batch_size=2, validation_data=(vx, vy), validation_steps=3, verbose=0,
          callbacks=[probe])
    assert got["val"] == pytest.approx(got["first6"], rel=1e-12)
    # no batch size at all: ceil(10 / 3) = 4 rows a batch, every row
    m.fit(x[:30], y[:30], epochs=1, validation_data=(vx, vy), validation_steps=3, verbose=0, callbacks=[probe])
    assert got["val"] == pytest.approx(got["all"], rel=1e-12)
    # more steps than batches: every row, with Keras' warning
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        m.fit(x[:30], y[:30], epochs=1, validation_data=(vx, vy), validation_steps=5, validation_batch_size=3,
              verbose=0, callbacks=[probe])
    assert got["val"] == pytest.approx(got["all"], rel=1e-12)
    with pytest.raises(ValueError, match="validation_batch_size must be an integer >= 1"):
        m.fit(x, y, epochs=1, validation_split=0.2, validation_batch_size=0, verbose=0)


def test_fit_validation_calls_the_test_batch_hooks_in_keras_order():
    # Keras 3's fit (keras/src/backend/torch/trainer.py): per epoch
    # on_epoch_begin, the training batches, then the validation through
    # evaluate(callbacks=callbacks): on_test_begin, per batch of
    # validation_batch_size rows on_test_batch_begin(step) /
    # on_test_batch_end(step, logs), on_test_end(logs), then on_epoch_end;
    # on_train_begin / on_train_end around the epochs
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse")
    vx, vy = x[30:], y[30:]  # 10 rows: batches of 4, 4, 2
    rec = Recorder()
    h = m.fit(x[:30], y[:30], epochs=2, batch_size=8, validation_data=(vx, vy), validation_batch_size=4,
              verbose=0, callbacks=[rec])
    train = ["on_train_batch_begin", "on_train_batch_end"] * 4
    test = ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 3 + ["on_test_end"]
    epoch = ["on_epoch_begin"] + train + test + ["on_epoch_end"]
    assert [c[0] for c in rec.calls] == ["on_train_begin"] + epoch * 2 + ["on_train_end"]
    tb = [c for c in rec.calls if c[0].startswith("on_test_batch")]
    assert [c[1] for c in tb] == [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2]
    assert all(c[2] == {} for c in tb if c[0] == "on_test_batch_begin")
    # the batch logs: the validation loss so far, at the weights of the
    # epoch's end (the last epoch's: the model's now), by hand; the last
    # batch's is val_loss itself, as on_test_end's logs
    ends = [c[2] for c in tb if c[0] == "on_test_batch_end"][3:]
    err = (m.predict(vx).astype(np.float64) - vy) ** 2
    for logs, rows in zip(ends, (4, 8, 10)):
        assert list(logs) == ["loss"]
        assert logs["loss"] == pytest.approx(err[:rows].mean(), rel=1e-5)
    assert ends[2]["loss"] == h.history["val_loss"][1]
    assert [c for c in rec.calls if c[0] == "on_test_end"][1][1] == {"loss": h.history["val_loss"][1]}
    # the training is the same bits as without the hooks (the validation
    # loss within its rounding)
    m2, _, _ = regression()
    m2.compile(SGD(learning_rate=0.05), "mse")
    h2 = m2.fit(x[:30], y[:30], epochs=2, batch_size=8, validation_data=(vx, vy), validation_batch_size=4,
                verbose=0)
    assert h2.history["loss"] == h.history["loss"]
    np.testing.assert_allclose(h2.history["val_loss"], h.history["val_loss"], rtol=1e-12)
    for got, w in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(got, w)
    # validation_freq: the hooks only at the validated epochs; batches of
    # fit's batch_size (8: rows 8, 2) without validation_batch_size, 32
    # (one batch) with none given (Keras' array adapter)
    for kw, nb in (({"batch_size": 8}, 2), ({}, 1)):
        rec = Recorder()
        m.fit(x[:30], y[:30], epochs=2, validation_data=(vx, vy), validation_freq=2, verbose=0,
              callbacks=[rec], **kw)
        assert names(rec, "on_test") == test[:1] + ["on_test_batch_begin", "on_test_batch_end"] * nb + test[-1:]
        assert [c[0] for c in rec.calls].index("on_test_begin") > [c[0] for c in rec.calls].index(
            "on_epoch_end")
    # classification: the accuracy so far under compile's name too
    # (validation_split's rows: 10 of 40); a stop asked in a test batch hook
    # ends the fit after that epoch, its validation measured whole (Keras
    # reads stop_training after on_epoch_end)
    rng = np.random.default_rng(3)
    cx = rng.normal(size=(40, 3))
    cy = (cx[:, :1] > 0).astype(np.float32)
    inp = Input((3,))
    c = Model(inp, Dense(1, activation="sigmoid")(inp), seed=1)
    c.compile(SGD(learning_rate=0.1), "binary_crossentropy", metrics=["acc"])
    seen = []

    def stop(b, logs):
        seen.append((b, dict(logs)))
        c.stop_training = True
    h = c.fit(cx, cy, epochs=3, batch_size=4, validation_split=0.25, verbose=0,
              callbacks=[LambdaCallback(on_test_batch_end=stop)])
    assert len(h.history["loss"]) == 1 and [b for b, _ in seen] == [0, 1, 2]
    p = c.predict(cx[30:])[:, 0]
    right = np.cumsum((p > 0.5) == (cy[30:, 0] > 0.5))
    for (b, logs), rows in zip(seen, (4, 8, 10)):
        assert sorted(logs) == ["acc", "loss"] and logs["acc"] == pytest.approx(right[rows - 1] / rows)
    assert seen[2][1] == {"loss": h.history["val_loss"][0], "acc": h.history["val_acc"][0]}


def test_evaluate_and_predict_steps():
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse", metrics=["mae"])
    # batch_size given: the first steps * batch_size rows
    assert m.evaluate(x, y, batch_size=8, steps=2) == m.evaluate(x[:16], y[:16])
    p = m.predict(x, batch_size=8, steps=2)
    assert p.shape == (16, 1)
    np.testing.assert_array_equal(p, m.predict(x)[:16])
    # batch_size None: ceil(40 / 3) = 14 a batch, every row
    assert m.evaluate(x, y, steps=3) == m.evaluate(x, y)
    np.testing.assert_array_equal(m.predict(x, steps=3), m.predict(x))
    with pytest.warns(UserWarning, match="Your input ran out of data"):
        assert m.evaluate(x, y, batch_size=8, steps=6) == m.evaluate(x, y)
    with pytest.raises(ValueError, match="evaluate: steps must be an integer >= 1"):
        m.evaluate(x, y, steps=0)
    with pytest.raises(ValueError, match="predict: batch_size must be an integer >= 1"):
        m.predict(x, batch_size=0)


def test_evaluate_and_predict_callbacks():
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse", metrics=["mae"])
    rec = Recorder()
    res = m.evaluate(x, y, batch_size=16, callbacks=[rec], return_dict=True)
    assert names(rec, "on_test") == ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 3 + \
        ["on_test_end"]
    assert rec.params == {"verbose": "auto", "epochs": 1, "steps": 3} and rec.model is m
    assert res == m.evaluate(x, y, return_dict=True) and rec.calls[-1] == ("on_test_end", res)
    # the batch logs: the loss and mae so far, as evaluate on the rows so far
    batch_ends = [c for c in rec.calls if c[0] == "on_test_batch_end"]
    for b, rows in zip(range(3), (16, 32, 40)):
        assert batch_ends[b][1] == b and list(batch_ends[b][2]) == ["loss", "mae"]
        assert batch_ends[b][2]["loss"] == pytest.approx(m.evaluate(x[:rows], y[:rows])[0], rel=1e-12)
        assert batch_ends[b][2]["mae"] == pytest.approx(m.evaluate(x[:rows], y[:rows])[1], rel=1e-6)
    # model.stop_evaluating after batch 1: the result of those 32 rows
    stop = LambdaCallback(on_test_batch_end=lambda b, logs: setattr(m, "stop_evaluating", b == 1))
    assert m.evaluate(x, y, batch_size=16, callbacks=[stop]) == m.evaluate(x[:32], y[:32])
    # predict: the batches' outputs, the same bits as one call
    rec = Recorder()
    p = m.predict(x, batch_size=16, callbacks=[rec])
    np.testing.assert_array_equal(p, m.predict(x))
    assert names(rec, "on_predict") == ["on_predict_begin"] + ["on_predict_batch_begin",
                                                              "on_predict_batch_end"] * 3 + ["on_predict_end"]
    outs = [c[2]["outputs"] for c in rec.calls if c[0] == "on_predict_batch_end"]
    np.testing.assert_array_equal(np.concatenate(outs), p)
    assert [len(o) for o in outs] == [16, 16, 8]
    stop = LambdaCallback(on_predict_batch_end=lambda b, logs: setattr(m, "stop_predicting", b == 0))
    np.testing.assert_array_equal(m.predict(x, batch_size=16, callbacks=[stop]), p[:16])
    # without batch hooks: begin and end only
    rec = LambdaCallback(on_predict_begin=lambda logs: seen.append("b"), on_predict_end=lambda logs: seen.append("e"))
    seen = []
    m.predict(x, callbacks=[rec])
    assert seen == ["b", "e"]
    with pytest.raises(ValueError, match="evaluate: callbacks must be latefuse.callbacks.Callback"):
        m.evaluate(x, y, callbacks=[object()])


def test_steps_per_epoch_goes_on_across_epochs():
    # Keras 3's EpochIterator with steps_per_epoch over arrays: one pass of 5
    # batches (40 rows of 8) goes on across epochs; epoch 2 takes batches 3
    # and 4, reaches the pass's end and stops there ("ran out of data"), and
    # epoch 3 starts a new pass.  Plain SGD, rows in order: train_on_batch
    # on those batches gives the same weights
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse")
    steps = []
    log = LambdaCallback(on_train_batch_end=lambda b, logs: steps.append(b),
                         on_epoch_end=lambda e, logs: steps.append("end"))
    with pytest.warns(UserWarning, match="Your input ran out of data") as w:
        h = m.fit(x, y, epochs=3, batch_size=8, steps_per_epoch=3, shuffle=False, verbose=0, callbacks=[log])
    assert len([a for a in w if "ran out" in str(a.message)]) == 1
    assert steps == [0, 1, 2, "end", 0, 1, "end", 0, 1, 2, "end"] and h.params["steps"] == 3
    ref, _, _ = regression()
    ref.compile(SGD(learning_rate=0.05), "mse")
    for b in (0, 1, 2, 3, 4, 0, 1, 2):
        ref.train_on_batch(x[8 * b:8 * b + 8], y[8 * b:8 * b + 8])
    for got, want in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    # the epoch's loss: the mean over its steps' rows
    assert len(h.history["loss"]) == 3
    # batch_size None: ceil(40 / 4) = 10 rows a batch, 4 steps a pass
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse")
    steps.clear()
    m.fit(x, y, epochs=2, steps_per_epoch=4, shuffle=False, verbose=0, callbacks=[log])
    assert steps == [0, 1, 2, 3, "end"] * 2
    ref, _, _ = regression()
    ref.compile(SGD(learning_rate=0.05), "mse")
    for b in (0, 1, 2, 3) * 2:
        ref.train_on_batch(x[10 * b:10 * b + 10], y[10 * b:10 * b + 10])
    for got, want in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_initial_epoch_numbers_the_epochs_from_it(capfd):
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse")
    rates = []
    sched = LearningRateScheduler(lambda epoch, lr: rates.append(epoch) or 0.05)
    rec = Recorder()
    h = m.fit(x, y, epochs=5, initial_epoch=3, batch_size=8, validation_split=0.25, validation_freq=2,
              verbose=2, callbacks=[sched, rec])
    # epochs 3 and 4 run (5 - 3), numbered so; validation at the 1-based 4th only
    assert h.epoch == [3, 4] and len(h.history["loss"]) == 2 and len(h.history["val_loss"]) == 1
    assert rates == [3, 4]
    assert [c[1] for c in rec.calls if c[0] == "on_epoch_end"] == [3, 4]
    assert "val_loss" in [c for c in rec.calls if c[0] == "on_epoch_end"][0][2]
    err = capfd.readouterr().err
    assert "Epoch 4/5" in err and "Epoch 5/5" in err and "Epoch 1/5" not in err
    # the same training as a fit of 2 epochs (no draws: SGD, no dropout; shuffled by the same seed
    # only when the epoch keys agree, so compare unshuffled)
    m, x, y = regression()
    m.compile(SGD(learning_rate=0.05), "mse")
    m.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, shuffle=False, verbose=0)
    ref, _, _ = regression()
    ref.compile(SGD(learning_rate=0.05), "mse")
    ref.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for got, want in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(got, want)
    # EarlyStopping(start_from_epoch=4) counts the fit's epoch numbers: epoch 3 is not watched
    es = EarlyStopping(monitor="loss", patience=1, min_delta=100.0, start_from_epoch=4)
    h = m.fit(x, y, epochs=7, initial_epoch=3, batch_size=8, verbose=0, callbacks=[es])
    assert h.epoch == [3, 4, 5] and h.best_epoch == 4 and es.stopped_epoch == 5
    # initial_epoch >= epochs: nothing runs (Keras' empty range)
    w = m.get_weights()
    rec = Recorder()
    h = m.fit(x, y, epochs=3, initial_epoch=3, verbose=0, callbacks=[rec])
    assert h.history == {} and h.epoch == [] and names(rec, "on_") == ["on_train_begin", "on_train_end"]
    for got, want in zip(m.get_weights(), w):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="initial_epoch must be an integer >= 0"):
        m.fit(x, y, epochs=3, initial_epoch=-1, verbose=0)


def test_losses_metrics_classes_and_names_as_keras_get():
    """keras.losses.get / keras.metrics.get (keras/src/losses/__init__.py,
    metrics/__init__.py) take a class as such (made with its defaults) and
    a loss's class name ('BinaryCrossentropy', alias 'bce'); both were
    refused here as 'a loss function' / 'a metric function'"""
    from latefuse import losses, metrics
    rng = np.random.default_rng(2)
    x = rng.normal(size=(24, 4))
    y = rng.integers(0, 3, 24)
    inp = Input((4,))
    m = Model(inp, Dense(3, activation="softmax")(inp))
    results = []
    for loss, mets in (("sparse_categorical_crossentropy", ["sparse_categorical_accuracy"]),
                       (losses.SparseCategoricalCrossentropy, [metrics.SparseCategoricalAccuracy]),
                       ("SparseCategoricalCrossentropy", [metrics.SparseCategoricalAccuracy()])):
        m.compile("sgd", loss, metrics=mets)
        assert m.loss == "sparse_categorical_crossentropy"
        results.append(m.evaluate(x, y, verbose=0, return_dict=True))
    assert results[0] == results[1] == results[2] and list(results[0]) == ["loss", "sparse_categorical_accuracy"]
    b = Model(inp, Dense(1, activation="sigmoid")(inp))
    for loss in ("bce", "BCE", "BinaryCrossentropy", losses.BinaryCrossentropy):
        b.compile("sgd", loss)
        assert b.loss == "binary_crossentropy"

    class Mine(losses.Loss):
        pass

    with pytest.raises(ValueError, match="compile: a Loss subclass of your own is not supported"):
        b.compile("sgd", Mine)


def test_an_accuracy_of_another_kind_than_the_loss_is_refused():
    """The library counts the accuracy the output's loss implies; a
    BinaryAccuracy (or 'binary_accuracy') on a sparse categorical output
    came back as the sparse categorical accuracy under the binary name
    (Keras thresholds each unit at 0.5 there): refused, naming the loss"""
    from latefuse import metrics
    inp = Input((4,))
    m = Model(inp, Dense(3, activation="softmax")(inp))
    for mt, label in (("binary_accuracy", "'binary_accuracy'"), (metrics.BinaryAccuracy(), "'binary_accuracy'"),
                      (metrics.BinaryAccuracy(name="acc"), r"'acc' \(binary_accuracy\)"),
                      ("categorical_accuracy", "'categorical_accuracy'")):
        with pytest.raises(ValueError, match=r"^compile: metric %s needs the loss '\w+'; this output's loss is "
                                             r"'sparse_categorical_crossentropy': use 'accuracy', which follows the "
                                             r"loss$" % label):
            m.compile("sgd", "sparse_categorical_crossentropy", metrics=[mt])
    with pytest.raises(ValueError, match="^compile: weighted metric 'categorical_accuracy' needs the loss"):
        m.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=["categorical_accuracy"])
    b = Model(inp, Dense(1, activation="sigmoid")(inp))
    with pytest.raises(ValueError, match=r"metric 'categorical_accuracy' needs the loss 'categorical_crossentropy'; "
                                         r"this output's loss is 'binary_crossentropy'"):
        b.compile("sgd", "binary_crossentropy", metrics=[metrics.CategoricalAccuracy()])
    # the matching kinds, and 'accuracy', still compile
    m.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy", metrics.SparseCategoricalAccuracy()])
    b.compile("sgd", "binary_crossentropy", metrics=[metrics.BinaryAccuracy(name="acc")])


def test_pickle_of_a_model_compiled_with_metrics_by_output():
    """compile(metrics={output: [...]}) kept the dict's keys alone
    (list(metrics)), so pickle / deepcopy compiled again with metrics
    ['a', 'b'] and failed ("unsupported metric 'a'")"""
    from latefuse import metrics
    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 5))
    ya, yb = (x[:, :1] > 0).astype("float32"), rng.integers(0, 3, 16)
    inp = Input((5,))
    m = Model(inp, [Dense(1, activation="sigmoid", name="a")(inp), Dense(3, activation="softmax", name="b")(inp)])
    m.compile("adam", ["binary_crossentropy", "sparse_categorical_crossentropy"],
              metrics={"a": [metrics.BinaryAccuracy()], "b": "accuracy"}, weighted_metrics=None)
    want = m.evaluate(x, [ya, yb], verbose=0, return_dict=True)
    assert sorted(want) == ["a_binary_accuracy", "a_loss", "b_accuracy", "b_loss", "loss"]
    for back in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert back.evaluate(x, [ya, yb], verbose=0, return_dict=True) == want


def test_missing_layers_explained_on_import_too():
    """`from latefuse.layers import Lambda` (Keras code ported by its
    import) gave Python's bare "cannot import name 'Lambda'": the reason
    is the ImportError's message now; attribute access stays an
    AttributeError (hasattr is False)"""
    import latefuse.layers as L
    with pytest.raises(ImportError, match=r"^latefuse.layers has no Lambda \(Keras' keras.layers.Lambda\): a Lambda "
                                          r"runs Python code inside the graph"):
        from latefuse.layers import Dense as _, Lambda  # noqa: F401
    with pytest.raises(AttributeError, match="^latefuse.layers has no Hashing"):
        L.Hashing  # (Masking, SeparableConv1D and ConvLSTM2D are layers now)
    assert not hasattr(L, "Lambda") and getattr(L, "Hashing", None) is None  # (Attention, Conv3D are layers now)
    with pytest.raises(ImportError, match="^cannot import name 'NoSuchLayer'"):
        from latefuse.layers import NoSuchLayer  # noqa: F401


def test_load_model_restores_compiles_metrics(tmp_path):
    """compile's metrics and weighted_metrics are kept in the model file
    (lf_model_set_metrics) and restored by load_model, as Keras' compile
    config: the reloaded model's evaluate gives the same values under the
    same names (before, the loss alone)."""
    from latefuse import Input, Model, load_model
    from latefuse.layers import Dense
    rng = np.random.default_rng(4)
    x, y = rng.random((20, 4)).astype(np.float32), rng.integers(0, 3, 20)
    sw = rng.random(20).astype(np.float32)
    i = Input((4,))
    m = Model(i, Dense(3, activation="softmax")(i))
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"],
              weighted_metrics=["accuracy"])
    want = m.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert list(want) == ["loss", "accuracy", "weighted_accuracy"]
    m.save(str(tmp_path / "m.lf"))
    back = load_model(str(tmp_path / "m.lf"))
    assert back.metrics_names == m.metrics_names
    assert back.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True) == want
    # several outputs, metrics by output name
    a, b = Dense(3, activation="softmax", name="a")(i), Dense(1, name="b")(i)
    m2 = Model(i, [a, b])
    m2.compile(loss=["sparse_categorical_crossentropy", "mse"], optimizer="sgd",
               metrics={"a": ["accuracy"], "b": None})
    m2.save(str(tmp_path / "m2.lf"))
    back2 = load_model(str(tmp_path / "m2.lf"))
    ys = [y, rng.random((20, 1)).astype(np.float32)]
    assert back2.metrics_names == m2.metrics_names and "a_accuracy" in m2.metrics_names
    assert back2.evaluate(x, ys, verbose=0) == m2.evaluate(x, ys, verbose=0)
    assert load_model(str(tmp_path / "m2.lf"), compile=False).metrics_names == []
    # a pickle keeps the dict too (compile kept list(dict): its keys, no metric)
    assert pickle.loads(pickle.dumps(m2)).metrics_names == m2.metrics_names


def test_loss_none_for_one_output(tmp_path):
    """Keras 3's compile(loss=[None, 'mse']): the output of loss None is
    not trained by a loss (keras/src/trainers/compile_utils.py CompileLoss
    skips it), needs no targets (y of the other outputs only, or None in
    its place), and has no <output>_loss key; CompileLoss tracks each loss
    only when there are several (CompileLoss.build: len(_flat_losses) > 1)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    yq, yr = x[:, :2] * 0.5, x[:, 1:2] - x[:, 3:4]
    a = Input((4,))
    h = Dense(6, activation="tanh", name="h")(a)
    p, q, r = (Dense(2, activation="softmax", name="p")(h), Dense(2, name="q")(h), Dense(1, name="r")(h))
    m = Model(a, [p, q, r])
    m.compile("adam", loss=[None, "mse", "mae"], loss_weights=[1.0, 1.0, 0.5])
    assert m.loss == [None, "mse", "mae"] and m.metrics_names == ["loss", "q_loss", "r_loss"]
    kp = m.get_layer("p").get_weights()[0].copy()
    hist = m.fit(x, [yq, yr], epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert sorted(hist.history) == ["loss", "q_loss", "r_loss", "val_loss", "val_q_loss", "val_r_loss"]
    assert np.array_equal(m.get_layer("p").get_weights()[0], kp)  # no loss reaches p
    _, pq, pr = m.predict(x, verbose=0)
    mse, mae = float(np.mean((pq - yq) ** 2)), float(np.mean(np.abs(pr - yr)))
    d = m.evaluate(x, [None, yq, yr], return_dict=True, verbose=0)
    assert list(d) == ["loss", "q_loss", "r_loss"]
    assert d["q_loss"] == pytest.approx(mse, rel=1e-5) and d["r_loss"] == pytest.approx(mae, rel=1e-5)
    assert d["loss"] == pytest.approx(mse + 0.5 * mae, rel=1e-5)
    assert m.evaluate(x, {"q": yq, "r": yr}, return_dict=True, verbose=0) == d
    m.save(str(tmp_path / "n.lf"))
    back = load_model(str(tmp_path / "n.lf"))
    assert back.loss == [None, "mse", "mae"] and back.evaluate(x, [yq, yr], return_dict=True, verbose=0) == d
    # one loss left: Keras tracks no per-output loss
    m.compile("adam", loss={"p": None, "q": "mse", "r": None})
    assert m.metrics_names == ["loss"]
    assert sorted(m.fit(x, [yq], epochs=1, verbose=0).history) == ["loss"]
    with pytest.raises(ValueError, match="^compile: every output's loss is None: give at least one output a loss$"):
        m.compile("adam", loss=[None, None, None])
