"""
test_keras_api.py — more of Keras' model API: input_names / output_names,
trainable_weights / non_trainable_weights, Layer.count_params,
Sequential.pop, compile(weighted_metrics=...), a nested Python list as
the x of a single-input model, train_on_batch / test_on_batch /
predict_on_batch and latefuse.utils.to_categorical.

Numbers are checked against numpy (the weighted means by hand) and against
the library's own counts (summary's non-trainable parameters, the
accuracy it measures).
"""
import copy
import pickle
import re

import numpy as np
import pytest

from latefuse import LatefuseError, Model, Sequential
from latefuse.layers import BatchNormalization, Concatenate, Dense, Input
from latefuse.optimizers import SGD
from latefuse.utils import to_categorical


def summary_counts(m):
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    total = int(re.search(r"Total params: (\d+)", text).group(1))
    fixed = int(re.search(r"Non-trainable params: (\d+)", text).group(1))
    return total, fixed


# ---------------------------------------------------------------- names

def test_input_and_output_names_in_the_order_given():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    h = Dense(5)(Concatenate()([a, b]))
    m = Model([b, a], [Dense(2, name="cls")(h), Dense(1)(h)])
    assert m.input_names == ["b", "a"]
    assert m.output_names == ["cls", "dense_1"]
    one = Model(a, Dense(1, name="out")(a))
    assert one.input_names == ["a"] and one.output_names == ["out"]
    s = Sequential([Input((4,), name="x"), Dense(3), Dense(1, name="y")])
    assert s.input_names == ["x"] and s.output_names == ["y"]
    lazy = Sequential([Dense(3), Dense(1)])
    with pytest.raises(ValueError, match=r"^This model has not yet been built.* \(output_names\)\.$"):
        lazy.output_names


# ---------------------------------------------------------------- weights

def test_get_layer_arguments_as_keras():
    """get_layer as Keras 3's (models/model.py get_layer): one of name and
    index, ValueError for both, neither, or an index past the end."""
    a = Input((4,), name="a")
    m = Model(a, Dense(1, name="out")(Dense(3, name="h")(a)))
    seq = Sequential([Input((4,)), Dense(3, name="h"), Dense(1, name="out")])
    for model, n in ((m, 3), (seq, 2)):
        assert model.get_layer(name="h").name == "h" and model.get_layer(index=-1).name == "out"
        with pytest.raises(ValueError, match=r"^Provide only a layer name or a layer index\. "
                                             r"Received: index=1, name=h\.$"):
            model.get_layer("h", 1)
        with pytest.raises(ValueError, match=r"^Was asked to retrieve layer at index 5 but model only has "
                                             r"%d layers\.$" % n):
            model.get_layer(index=5)
        with pytest.raises(ValueError, match=r"^Provide either a layer name or layer index at `get_layer`\.$"):
            model.get_layer()


def test_inputs_given_as_a_dict():
    """Model({'txt': t, 'img': i}, out), as Keras 3 (functional.py): the
    inputs in the order of the sorted keys, x a dict by the keys (which
    need not be the Input names: Keras warns, and reads by the key), a
    list only when the dict's keys are in sorted order; kept by pickle.
    Outputs as a dict are refused with a message."""
    img, txt = Input((4,)), Input((3,))
    out = Dense(1)(Concatenate()([Dense(2)(img), Dense(2)(txt)]))
    with pytest.warns(UserWarning, match=r"^When providing `inputs` as a dict, all keys in the dict must match"):
        m = Model({"txt": txt, "img": img}, out)
    assert [t.shape for t in m.inputs] == [(None, 4), (None, 3)]
    rng = np.random.default_rng(0)
    xi, xt = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    want = Model([img, txt], out).predict([xi, xt])
    np.testing.assert_array_equal(m.predict({"txt": xt, "img": xi}), want)
    with pytest.raises(ValueError, match=r"^predict: the model's inputs are a dict whose keys \(txt, img\) are not "
                                         r"in sorted order: give x as a dict by those keys"):
        m.predict([xt, xi])
    with pytest.raises(ValueError, match=r"^predict: no array for input\(s\) txt$"):
        m.predict({"img": xi})
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(m)).predict({"txt": xt, "img": xi}), want)
    m.compile(SGD(0.1), "mse")
    assert len(m.fit({"img": xi, "txt": xt}, np.zeros((5, 1)), verbose=0).history["loss"]) == 1
    a, b = Input((4,), name="a"), Input((3,), name="b")
    ordered = Model({"a": a, "b": b}, Dense(1)(Concatenate()([a, b])))  # keys sorted, the Inputs' names
    assert ordered.predict([xi, xt]).shape == (5, 1)
    big = Model([a, b], m({"img": a, "txt": b}))  # called on a dict of tensors
    np.testing.assert_array_equal(big.predict([xi, xt]), m.predict({"txt": xt, "img": xi}))
    with pytest.raises(ValueError, match=r"^Model: outputs given as a dict are not supported: give a list"):
        Model([a, b], {"y": big.outputs[0]})


def bn_model():
    inp = Input((4,), name="x")
    d1, bn, d2 = Dense(3, name="d1"), BatchNormalization(name="bn"), Dense(1, name="d2")
    m = Model(inp, d2(bn(d1(inp))), seed=1)
    return m, d1, bn, d2


def same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.shape == v.shape
        np.testing.assert_array_equal(u, v)


def test_trainable_and_non_trainable_weights_split_get_weights():
    """As Keras: BatchNormalization's moving mean and variance are never
    trainable, a frozen layer's weights are all non-trainable; both lists
    keep get_weights()' order and are copies; their sizes agree with the
    library's summary."""
    m, d1, bn, d2 = bn_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4))
    m.compile(SGD(0.1), "mse")
    m.fit(x, rng.normal(size=(32, 1)), epochs=1, verbose=0)  # moving statistics away from 0 / 1
    k1, b1, gamma, beta, mean, var, k2, b2 = m.get_weights()
    same(m.trainable_weights, [k1, b1, gamma, beta, k2, b2])
    same(m.non_trainable_weights, [mean, var])
    same(bn.trainable_weights, [gamma, beta])
    same(bn.non_trainable_weights, [mean, var])
    same(d1.trainable_weights, [k1, b1])
    same(d1.non_trainable_weights, [])
    same(bn.weights, [gamma, beta, mean, var])  # Keras' layer.weights: trainable ones first, all of them
    same(d2.weights, [k2, b2])
    total, fixed = summary_counts(m)
    assert sum(w.size for w in m.non_trainable_weights) == fixed == 6
    assert sum(w.size for w in m.trainable_weights) == total - fixed
    # a frozen layer: every weight non-trainable, in get_weights()' order
    d1.trainable = False
    same(m.trainable_weights, [gamma, beta, k2, b2])
    same(m.non_trainable_weights, [k1, b1, mean, var])
    same(d1.trainable_weights, [])
    same(d1.non_trainable_weights, [k1, b1])
    assert summary_counts(m)[1] == sum(w.size for w in m.non_trainable_weights) == 21
    bn.trainable = False
    same(bn.trainable_weights, [])
    same(bn.non_trainable_weights, [gamma, beta, mean, var])
    m.trainable = False
    assert m.trainable_weights == [] and len(m.non_trainable_weights) == 8
    m.trainable = True
    # copies: changing them changes nothing
    m.trainable_weights[0][:] = 100.0
    bn.non_trainable_weights[0][:] = 100.0
    same(m.get_weights(), [k1, b1, gamma, beta, mean, var, k2, b2])
    # a Sequential; built first when it has an Input
    s = Sequential([Input((4,)), Dense(2), BatchNormalization()])
    assert [w.shape for w in s.trainable_weights] == [(4, 2), (2,), (2,), (2,)]
    assert [w.shape for w in s.non_trainable_weights] == [(2,), (2,)]
    with pytest.raises(ValueError, match=r"^This model has not yet been built.* \(trainable_weights\)\.$"):
        Sequential([Dense(1)]).trainable_weights


def test_layer_count_params():
    m, d1, bn, d2 = bn_model()
    assert (d1.count_params(), bn.count_params(), d2.count_params()) == (15, 12, 4)
    assert sum(ly.count_params() for ly in m.layers) == m.count_params() == 31
    assert m.get_layer("x").count_params() == 0
    with pytest.raises(ValueError, match=r"^You tried to call `count_params` on layer 'h', but the layer isn't "
                       r"built: its weights are made when a model holding it is built"):
        Dense(2, name="h").count_params()
    lazy = Sequential([Dense(2), Dense(1)])
    with pytest.raises(ValueError, match=r"^You tried to call `count_params` on a Dense layer, but the layer "
                       r"isn't built"):
        lazy.layers[0].count_params()
    lazy.build((None, 3))
    assert [ly.count_params() for ly in lazy.layers] == [8, 3]


# ---------------------------------------------------------------- Sequential.pop

def test_sequential_pop_rebuilds_and_keeps_the_weights():
    """As Keras 3: pop() returns the last layer and the model is built
    again without it (the other layers keep their weights, compile() is
    kept); the popped layer keeps its weights; popping the last layer
    leaves the model unbuilt with its Input; TypeError on an empty model."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(24, 5)), rng.normal(size=(24, 1))
    s = Sequential([Input((5,)), Dense(4, activation="tanh", name="d1"), Dense(3, name="d2"), Dense(1, name="d3")],
                   seed=5)
    s.compile("adam", "mse", metrics=["mae", "mse"])
    s.fit(x, y, epochs=2, verbose=0)
    k1, b1, k2, b2, k3, b3 = s.get_weights()
    d3 = s.pop()
    assert d3.name == "d3" and [ly.name for ly in s.layers] == ["d1", "d2"]
    assert s.built and s.output_shape == (None, 3) and s.count_params() == 24 + 15
    same(s.get_weights(), [k1, b1, k2, b2])
    np.testing.assert_allclose(s.predict(x), np.tanh(x @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)
    assert s.metrics_names == ["loss", "mae", "mse"]
    assert sorted(s.fit(x, rng.normal(size=(24, 3)), epochs=1, verbose=0).history) == ["loss", "mae", "mse"]
    same(d3.get_weights(), [k3, b3])  # the popped layer keeps its weights
    again = Sequential([Input((3,)), d3])  # and takes them to the next model
    same(again.get_weights(), [k3, b3])
    k1, b1, k2, b2 = s.get_weights()
    assert s.pop().name == "d2" and s.pop().name == "d1"
    assert not s.built and s.layers == [] and s.input_shape == (None, 5)
    with pytest.raises(TypeError, match=r"^There are no layers in the model\.$"):
        s.pop()
    s.add(Dense(2))  # built and compiled again
    assert s.built and s.output_shape == (None, 2) and s.metrics_names == ["loss", "mae", "mse"]
    # unbuilt: the layer is just removed
    lazy = Sequential([Dense(3, name="a"), Dense(1, name="b")])
    assert lazy.pop().name == "b" and not lazy.built and [ly.name for ly in lazy.layers] == ["a"]
    assert lazy.predict(x).shape == (24, 3)
    # built from data (no Input): built again from the data's shape, as Keras 3
    lazy = Sequential([Dense(3, name="a"), Dense(1, name="b")], seed=1)
    lazy.predict(x)
    ka = lazy.get_layer("a").get_weights()
    lazy.pop()
    assert lazy.built and lazy.output_shape == (None, 3)
    same(lazy.get_layer("a").get_weights(), ka)
    # pickled, then popped
    c = pickle.loads(pickle.dumps(again))
    popped = c.pop()
    assert isinstance(popped, Dense) and not c.built and c.layers == []
    same(popped.get_weights(), [k3, b3])


# ---------------------------------------------------------------- weighted_metrics

def regression(n=40):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(n, 1))
    inp = Input((3,))
    m = Model(inp, Dense(1)(Dense(8, activation="tanh")(inp)), seed=2)
    return m, x, y


def wmean(w, v):
    return float(np.sum(w * v) / np.sum(w))


def test_weighted_metrics_weigh_by_sample_weight_in_evaluate_and_fit():
    """compile(weighted_metrics=[...]): Keras' weighted means
    sum(w v) / sum(w) (metrics= stay unweighted); named as given, or
    weighted_<name> when metrics= has the name (Keras 3's CompileMetrics);
    in fit the training and validation_split rows weigh by their sample
    weights, validation_data rows by its third element (else 1)."""
    m, x, y = regression()
    m.compile("adam", "mse", metrics=["mae"], weighted_metrics=["mae", "mean_squared_error"])
    # evaluate's list (keras/src/trainers/trainer.py _flatten_metrics_in_order): the
    # metrics' own names first, the one renamed weighted_mae after them; its dict in
    # CompileMetrics.result's order
    assert m.metrics_names == ["loss", "mae", "mean_squared_error", "weighted_mae"]
    w = np.r_[np.full(10, 5.0), np.full(30, 0.5)]
    p = m.predict(x).astype(np.float64)
    ae, se = np.abs(p - y)[:, 0], ((p - y) ** 2)[:, 0]
    d = m.evaluate(x, y, sample_weight=w, return_dict=True)
    assert list(d) == ["loss", "mae", "weighted_mae", "mean_squared_error"]
    assert d["mae"] == pytest.approx(ae.mean(), rel=1e-6)
    assert d["weighted_mae"] == pytest.approx(wmean(w, ae), rel=1e-6) and d["weighted_mae"] != pytest.approx(ae.mean())
    assert d["mean_squared_error"] == pytest.approx(wmean(w, se), rel=1e-6)
    assert d["loss"] == pytest.approx(d["mean_squared_error"] * w.sum() / len(w), rel=1e-5)  # Keras: sum(w l) / N
    loss, mae, wmse, wmae = m.evaluate(x, y)  # no sample_weight: every row weighs 1
    assert wmae == pytest.approx(mae, rel=1e-12) and wmse == pytest.approx(loss, rel=1e-5)
    assert m.evaluate(x, y, sample_weight=np.zeros(40), return_dict=True)["weighted_mae"] == 0.0  # divide_no_nan
    # fit: the training rows with their weights, the validation_split rows with theirs
    h = m.fit(x, y, epochs=2, batch_size=8, sample_weight=w, validation_split=0.25, verbose=0)
    assert sorted(h.history) == ["loss", "mae", "mean_squared_error", "val_loss", "val_mae",
                                 "val_mean_squared_error", "val_weighted_mae", "weighted_mae"]
    p = m.predict(x).astype(np.float64)
    ae, se = np.abs(p - y)[:, 0], ((p - y) ** 2)[:, 0]
    assert h.history["mae"][-1] == pytest.approx(ae[:30].mean(), rel=1e-6)
    assert h.history["weighted_mae"][-1] == pytest.approx(wmean(w[:30], ae[:30]), rel=1e-6)
    assert h.history["val_weighted_mae"][-1] == pytest.approx(wmean(w[30:], ae[30:]), rel=1e-6)
    assert h.history["val_mean_squared_error"][-1] == pytest.approx(wmean(w[30:], se[30:]), rel=1e-6)
    assert h.history["val_mean_squared_error"][-1] == pytest.approx(h.history["val_loss"][-1] * 10 / w[30:].sum(),
                                                                    rel=1e-5)
    # validation_data (x, y): unweighted
    h = m.fit(x[:30], y[:30], epochs=1, sample_weight=w[:30], validation_data=(x[30:], y[30:]), verbose=0)
    p = m.predict(x).astype(np.float64)
    ae = np.abs(p - y)[:, 0]
    assert h.history["val_weighted_mae"][-1] == pytest.approx(ae[30:].mean(), rel=1e-6)
    assert h.history["weighted_mae"][-1] == pytest.approx(wmean(w[:30], ae[:30]), rel=1e-6)
    # validation_data (x, y, sample_weight): val_loss and the weighted
    # metrics weigh its rows by that third element, as Keras
    h = m.fit(x[:30], y[:30], epochs=1, sample_weight=w[:30], validation_data=(x[30:], y[30:], w[:10]), verbose=0)
    p = m.predict(x).astype(np.float64)
    ae, se = np.abs(p - y)[:, 0], ((p - y) ** 2)[:, 0]
    assert h.history["val_weighted_mae"][-1] == pytest.approx(wmean(w[:10], ae[30:]), rel=1e-6)
    assert h.history["val_mae"][-1] == pytest.approx(ae[30:].mean(), rel=1e-6)
    assert h.history["val_loss"][-1] == pytest.approx(float(np.sum(w[:10] * se[30:])) / 10, rel=1e-5)
    assert h.history["val_loss"][-1] != pytest.approx(se[30:].mean(), rel=1e-3)
    with pytest.raises(ValueError, match=r"^fit \(validation_data\): sample_weight must have shape \(10,\), got "
                                         r"shape \(40,\)$"):
        m.fit(x[:30], y[:30], epochs=1, validation_data=(x[30:], y[30:], w), verbose=0)


def test_weighted_accuracy_and_auc_and_class_weight():
    """'accuracy' in weighted_metrics: the library's accuracy (argmax for a
    categorical loss) weighted by the rows' weights, 'weighted_accuracy'
    beside metrics=['accuracy']; in fit the training rows weigh by their
    class weights too, as the loss does (Keras turns class_weight into
    sample weights); AUC weighted."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.7)
    inp = Input((4,))
    m = Model(inp, Dense(3, activation="softmax")(inp), seed=4)
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy", "acc"])
    assert m.metrics_names == ["loss", "accuracy", "acc", "weighted_accuracy"]  # the renamed one last
    loss, acc, wacc2, wacc = m.evaluate(x, y)
    assert wacc == pytest.approx(acc, rel=1e-12) and wacc2 == wacc  # the library's accuracy when unweighted
    w = rng.uniform(0, 2, 60)
    right = (m.predict(x).argmax(1) == y).astype(np.float64)
    d = m.evaluate(x, y, sample_weight=w, return_dict=True)
    assert d["accuracy"] == pytest.approx(right.mean()) and d["weighted_accuracy"] == pytest.approx(wmean(w, right))
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    h = m.fit(x, y, epochs=1, class_weight=cw, validation_split=0.5, verbose=0)
    right = (m.predict(x).argmax(1) == y).astype(np.float64)
    cwr = np.array([cw[c] for c in y])
    assert h.history["accuracy"][-1] == pytest.approx(right[:30].mean())
    assert h.history["weighted_accuracy"][-1] == pytest.approx(wmean(cwr[:30], right[:30]))
    assert h.history["val_weighted_accuracy"][-1] == pytest.approx(right[30:].mean())  # no class weights there
    # one-hot targets and a binary output
    mc = Model(inp, Dense(3, activation="softmax")(inp), seed=4)
    mc.compile("adam", "categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["categorical_accuracy"])
    loss, acc, wacc = mc.evaluate(x, np.eye(3)[y])
    assert wacc == pytest.approx(acc, rel=1e-12)
    yb = (y > 0).astype(np.float64)
    mb = Model(inp, Dense(1, activation="sigmoid")(inp), seed=4)
    mb.compile("adam", "binary_crossentropy", metrics=["accuracy", "AUC"], weighted_metrics=["accuracy", "AUC"])
    assert mb.metrics_names == ["loss", "accuracy", "AUC", "weighted_AUC", "weighted_accuracy"]
    from latefuse.models import _auc
    p = mb.predict(x)[:, 0].astype(np.float64)
    loss, acc, auc, wauc, wacc = mb.evaluate(x, yb, sample_weight=w)
    assert acc == pytest.approx(((p > 0.5) == (yb > 0.5)).mean())
    assert wacc == pytest.approx(wmean(w, (p > 0.5) == (yb > 0.5)))
    assert auc == pytest.approx(_auc(p, yb > 0.5, np.ones(60))) and wauc == pytest.approx(_auc(p, yb > 0.5, w))
    assert wauc != pytest.approx(auc)


def test_weighted_metrics_errors_and_their_travel():
    m, x, y = regression()
    with pytest.raises(ValueError, match=r"^compile: weighted metric 'accuracy' needs a crossentropy loss"):
        m.compile("adam", "mse", weighted_metrics=["accuracy"])
    with pytest.raises(ValueError, match=r"^compile: unsupported weighted metric 'r2': use 'accuracy', 'mae', "
                       r"'mse' or 'AUC' \(or their long names\)$"):
        m.compile("adam", "mse", weighted_metrics=["r2"])
    with pytest.raises(ValueError, match=r"^compile: weighted_metrics must be a list"):
        m.compile("adam", "mse", weighted_metrics="mae")
    m.compile(SGD(0.05), "mse", metrics=["mse"], weighted_metrics=["mse", "mae"])
    w = np.linspace(0.1, 2, 40)
    want = m.evaluate(x, y, sample_weight=w, return_dict=True)
    for c in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert c.metrics_names == ["loss", "mse", "mae", "weighted_mse"]
        assert c.evaluate(x, y, sample_weight=w, return_dict=True) == want
    # an unbuilt Sequential compiled first, pickled, built later
    u = Sequential([Dense(2), Dense(1)], seed=3)
    u.compile("adam", "mse", weighted_metrics=["mae"])
    c = pickle.loads(pickle.dumps(u))
    h = c.fit(x, y, epochs=1, sample_weight=w, verbose=0)
    assert sorted(h.history) == ["loss", "mae"] and c.metrics_names == ["loss", "mae"]
    # a Sequential compiled again at add() keeps them
    s = Sequential([Input((3,)), Dense(2)])
    s.compile("adam", "mse", weighted_metrics=["mae"])
    s.add(Dense(1))
    assert s.metrics_names == ["loss", "mae"]


# ---------------------------------------------------------------- nested lists as x

def test_nested_list_is_one_array_for_a_single_input_model():
    """As Keras: X.tolist() given to a model of one input is one array (it
    was read as one array per row); a list of numpy arrays still gives one
    array per input, and a multi-input model is unchanged."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 8)).astype(np.float32)
    y = X[:, :1] - X[:, 1:2]
    inp = Input((8,))
    m = Model(inp, Dense(1)(inp), seed=1)
    np.testing.assert_array_equal(m.predict(X[:3].tolist()), m.predict(X[:3]))
    np.testing.assert_array_equal(m.predict(tuple(map(tuple, X[:2].tolist()))), m.predict(X[:2]))
    np.testing.assert_array_equal(m(X[:1].tolist()), m.predict(X[:1]))
    np.testing.assert_array_equal(m.predict([X[:3]]), m.predict(X[:3]))  # a list of one array: the input's
    m.compile(SGD(0.1), "mse")
    assert m.evaluate(X.tolist(), y.tolist()) == m.evaluate(X, y)
    c = copy.deepcopy(m)
    m.fit(X.tolist(), y.tolist(), epochs=1, shuffle=False, verbose=0, validation_data=(X.tolist(), y.tolist()))
    c.fit(X, y, epochs=1, shuffle=False, verbose=0, validation_data=(X, y))
    np.testing.assert_array_equal(m.predict(X), c.predict(X))
    # one feature: a flat list of numbers is one column
    one = Input((1,))
    m1 = Model(one, Dense(1)(one))
    np.testing.assert_array_equal(m1.predict([0.5, 1.0, 2.0]), m1.predict(np.array([[0.5], [1.0], [2.0]])))
    # a Sequential built from a nested list of one row
    s = Sequential([Dense(2), Dense(1)], seed=2)
    assert s.predict(X[:1].tolist()).shape == (1, 1) and s.input_shape == (None, 8)
    # several inputs: a list of arrays, as before; a nested list is refused as before
    a, b = Input((8,)), Input((8,))
    mm = Model([a, b], Dense(1)(Concatenate()([a, b])))
    assert mm.predict([X[:3], X[:3]]).shape == (3, 1)
    with pytest.raises(ValueError, match=r"^predict: the model has 2 input\(s\) .*, got 3 array\(s\)$"):
        mm.predict(X[:3].tolist())


def test_accuracy_without_a_crossentropy_loss_is_refused():
    """The library measures the accuracy a crossentropy loss implies; with
    mse it measured nothing and history/evaluate showed NaN: compile says so."""
    i = Input((3,))
    m = Model(i, Dense(1, activation="sigmoid")(i))
    with pytest.raises(ValueError, match="metric 'accuracy' needs a crossentropy loss"):
        m.compile("adam", "mse", metrics=["accuracy"])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    assert m.metrics_names == ["loss", "accuracy"]



def test_keras_input_at_the_top_and_custom_layers_refused_clearly():
    """keras.Input(...) ports as latefuse.Input(...); the answer's hand-written
    WeightedAverage (a Layer subclass with add_weight and call) is refused with
    a message that says what to use, not a bare NotImplementedError or an
    AttributeError."""
    import latefuse
    from latefuse import layers
    assert latefuse.Input is Input and latefuse.Input((3,)).shape == (None, 3)

    class WeightedAverage(layers.Layer):
        def __init__(self, n_output, **kwargs):
            super().__init__(**kwargs)
            self.W = self.add_weight(shape=(1, 1, n_output), trainable=True)

        def call(self, inputs):
            return inputs[0]

    class Twice(layers.Layer):
        def call(self, x):
            return x

    want = r"custom layers \(a subclass of Layer .*latefuse\.layers\.WeightedAverage\(n_output=\.\.\.\)$"
    with pytest.raises(NotImplementedError, match=r"^WeightedAverage: " + want):
        WeightedAverage(2)
    with pytest.raises(NotImplementedError, match=r"^Twice: " + want):
        Twice()(Input((3,)))


def test_tensor_arithmetic_is_the_merge_layers():
    """x + y, x - y, x * y on two tensors build Add, Subtract and Multiply
    (Keras' residual x + attention(x) ports as written); the weights and
    predictions are those of the layers spelt out; a constant is refused
    saying what works."""
    from latefuse.layers import Add, Multiply, Subtract
    rng = np.random.default_rng(3)
    xv = rng.normal(size=(5, 4))
    built = []
    for spelt in (False, True):
        x = Input((4,))
        a, b = Dense(4, name="a")(x), Dense(4, name="b")(x)
        if spelt:
            h = Subtract()([Multiply()([Add()([x, a]), b]), a])
        else:
            h = (x + a) * b - a
        built.append(Model(x, h, seed=4))
    assert [type(ly).__name__ for ly in built[0].layers] == [type(ly).__name__ for ly in built[1].layers]
    np.testing.assert_array_equal(built[0].predict(xv), built[1].predict(xv))
    k, c = built[0].get_layer("a").get_weights()
    k2, c2 = built[0].get_layer("b").get_weights()
    av, bv = xv @ k + c, xv @ k2 + c2
    np.testing.assert_allclose(built[0].predict(xv), (xv + av) * bv - av, rtol=1e-5, atol=1e-6)
    x = Input((4,))
    with pytest.raises(TypeError, match=r"^\+: a KerasTensor and a value of type float: only two tensors of one "
                                        r"shape combine \(as layers\.Add\(\)\(\[a, b\]\)\); constants are not supported$"):
        x + 1.0
    with pytest.raises(TypeError, match=r"^\*: a KerasTensor and a value of type int"):
        2 * x


def test_input_dtypes_and_variable_length():
    """Input(dtype='int64'), the type of Keras' TextVectorization ids (and
    the other integer types), is an int32 input; float16/float64 are float32
    inputs; a None dimension is refused saying to give the length."""
    from latefuse.layers import Embedding, GlobalAveragePooling1D
    ids = np.array([[3, 1, 4, 0], [2, 7, 1, 8]])
    preds = []
    for dt in ("int32", "int64", "uint8"):
        x = Input((4,), dtype=dt)
        assert x.layer.dtype == "int32"
        m = Model(x, GlobalAveragePooling1D()(Embedding(10, 3)(x)), seed=2)
        preds.append(m.predict(ids.astype(dt)))
    np.testing.assert_array_equal(preds[0], preds[1])
    np.testing.assert_array_equal(preds[0], preds[2])
    assert Input((2,), dtype="float64").layer.dtype == "float32"
    with pytest.raises(ValueError, match=r"^Input: a dimension of None \(a variable length\) is not supported, "
                                         r"got \(None,\): give the length"):
        Input((None,), dtype="int64")
    with pytest.raises(ValueError, match=r"^Input: dtype must be a float or an integer type"):
        Input((2,), dtype="complex64")


def test_every_layer_takes_trainable_and_dtype():
    """Keras' base arguments: Dense(..., trainable=False) is frozen as
    layer.trainable = False is (fit leaves it, get_config and from_config
    keep it), a layer without its own __init__ (Add) takes them too, and
    dtype takes the float types (the library computes in float32)."""
    from latefuse.layers import Add
    frozen = Dense(3, trainable=False, dtype="float32", name="frozen")
    assert not frozen.trainable and Add(trainable=False).trainable is False
    cfg = frozen.get_config()
    assert cfg["trainable"] is False and Dense.from_config(cfg).trainable is False
    x = Input((4,))
    m = Model(x, Dense(2, dtype="mixed_float16")(frozen(x)), seed=1)
    m.compile("adam", "mse")
    before = m.get_layer("frozen").get_weights()
    m.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=2, verbose=0)
    for a, b in zip(m.get_layer("frozen").get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert len(m.trainable_weights) == 2 and len(m.non_trainable_weights) == 2
    with pytest.raises(ValueError, match=r"^Dense: dtype must be a float type \(the library computes in float32\), "
                                         r"got 'int32'$"):
        Dense(2, dtype="int32")


def test_verbose_2_prints_a_line_per_epoch_without_the_bar(capsys):
    """fit(verbose=2): one line per epoch as Keras ("2/2 - 0s ... - loss:
    ..."), no progress bar and no carriage return; verbose=0 nothing."""
    x = Input((4,))
    m = Model(x, Dense(2)(x), seed=1)
    m.compile("adam", "mse")
    X, Y = np.ones((64, 4)), np.ones((64, 2))
    m.fit(X, Y, epochs=2, verbose=2, validation_split=0.25)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4, err
    assert re.match(r"^2/2 - \S+ \S+/step - loss: [0-9.]+ - val_loss: [0-9.]+$", lines[1]), lines[1]
    assert "[" not in err and "\r" not in err
    m.fit(X, Y, epochs=1, verbose=0)
    assert capsys.readouterr().err == ""


def test_save_weights_and_load_weights(tmp_path):
    """save_weights / load_weights as Keras: the weights into a model of the
    same architecture, matched by position; a file of another model is
    refused, naming the first array that differs, with no weight changed;
    Keras' own file names are refused as save's are."""
    def build(seed, units=3):
        x = Input((4,))
        return Model(x, Dense(2)(BatchNormalization()(Dense(units, activation="relu")(x))), seed=seed)
    a, b = build(1), build(2)
    xv = np.random.default_rng(0).normal(size=(6, 4))
    assert not np.array_equal(a.predict(xv), b.predict(xv))
    path = str(tmp_path / "w.lf")
    a.save_weights(path)
    b.load_weights(path)
    np.testing.assert_array_equal(b.predict(xv), a.predict(xv))
    c = build(3, units=5)
    before = c.get_weights()
    with pytest.raises(ValueError, match=r"^load_weights: weight array 0 of '.*w\.lf' has shape \(4, 3\), this "
                                         r"model's \(4, 5\)$"):
        c.load_weights(path)
    for w0, w1 in zip(c.get_weights(), before):
        np.testing.assert_array_equal(w0, w1)
    with pytest.raises(ValueError, match=r"^save_weights: '.*m\.h5' asks for Keras' HDF5 format"):
        a.save_weights(str(tmp_path / "m.h5"))  # (.weights.h5 is Keras 3's weights file: test_weights_h5.py)
    lazy = Sequential([Dense(2)])  # not built yet: Keras' message
    with pytest.raises(ValueError, match=r"^This model has not yet been built\..*\(save_weights\)\.$"):
        lazy.save_weights(path)
    with pytest.raises(ValueError, match=r"^This model has not yet been built\..*\(load_weights\)\.$"):
        lazy.load_weights(path)


def test_early_stopping_on_the_accuracy():
    """EarlyStopping(monitor='val_accuracy', restore_best_weights=True), the
    form of many Keras guides: the best epoch is the first of the highest
    val_accuracy (mode max), under the name compile gave ('val_acc'); the
    weights are that epoch's; an accuracy compile does not measure warns and
    leaves early stopping off; mode 'min' is refused for an accuracy."""
    from latefuse.callbacks import EarlyStopping
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    y[150::3] = 1 - y[150::3]  # noisy validation rows
    for name in ("accuracy", "acc"):
        m = Sequential([Input((4,)), Dense(16, activation="relu"), Dense(2, activation="softmax")], seed=5)
        m.compile("adam", "sparse_categorical_crossentropy", metrics=[name])
        es = EarlyStopping(monitor="val_" + name, patience=100, restore_best_weights=True)
        h = m.fit(x, y, epochs=12, validation_split=0.25, callbacks=[es], verbose=0)
        va = h.history["val_" + name]
        assert es.best_epoch == int(np.argmax(va)), (es.best_epoch, va)
        got = m.evaluate(x[150:], y[150:], return_dict=True)[name]
        assert got == pytest.approx(max(va), abs=1e-6)  # the best epoch's weights
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["acc"])
    with pytest.warns(RuntimeWarning, match=r"metric `val_accuracy` which is not available \(compile's metrics give "
                                            r"'acc'\)"):
        m.fit(x, y, epochs=1, validation_split=0.25, callbacks=[EarlyStopping(monitor="val_accuracy")], verbose=0)
    with pytest.raises(ValueError, match=r"^EarlyStopping: mode must be 'auto' or 'max' \(monitor 'val_accuracy': "
                                         r"higher is better\)$"):
        EarlyStopping(monitor="val_accuracy", mode="min")


# ---------------------------------------------------------------- on a batch

def test_train_on_batch_is_one_sgd_step_by_hand():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    w = rng.uniform(0, 2, size=10)
    inp = Input((3,))
    m = Model(inp, Dense(1)(inp), seed=4)
    m.compile(SGD(learning_rate=0.1), "mse", metrics=["mae"])
    for sw in (None, w):
        K, b = [a.astype(np.float64) for a in m.get_weights()]
        r = (x @ K + b - y)[:, 0]
        ww = np.ones(10) if sw is None else sw
        loss = np.sum(ww * r ** 2) / 10  # Keras' sum over the batch size
        got = m.train_on_batch(x, y, sample_weight=sw, return_dict=True)
        assert list(got) == ["loss", "mae"] == m.metrics_names
        assert got["loss"] == pytest.approx(loss, rel=1e-6)
        assert got["mae"] == pytest.approx(np.mean(np.abs(r)), rel=1e-6)  # metrics= before the step, unweighted
        g = 2 * ww * r / 10
        K2, b2 = m.get_weights()
        np.testing.assert_allclose(K2, K - 0.1 * (x.T @ g)[:, None], atol=1e-6)
        np.testing.assert_allclose(b2, b - 0.1 * np.sum(g), atol=1e-6)
    before = m.get_weights()
    assert m.test_on_batch(x, y) == m.evaluate(x, y)
    np.testing.assert_array_equal(m.predict_on_batch(x), m.predict(x))
    for a, c in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, c)


def test_train_on_batch_equals_a_fit_of_one_batch_and_class_weight_as_keras():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(12, 4)), rng.integers(0, 3, size=12)

    def model():
        inp = Input((4,))
        m = Model(inp, Dense(3, activation="softmax")(Dense(5, activation="relu")(inp)), seed=6)
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    a, b = model(), model()
    for _ in range(2):  # Adam's moments and step count carry over
        loss, acc = a.train_on_batch(x, y)
        h = b.fit(x, y, batch_size=12, epochs=1, shuffle=False, verbose=0)
        assert (loss, acc) == (h.history["loss"][0], h.history["accuracy"][0])
        for p, q in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_array_equal(p, q)
    # Keras turns class_weight into sample weights: a class not named weighs 1
    c, d = model(), model()
    cw = {0: 2.0, 2: 0.5}
    got = c.train_on_batch(x, y, class_weight=cw)
    assert got == d.train_on_batch(x, y, sample_weight=np.array([cw.get(int(k), 1.0) for k in y]))
    for p, q in zip(c.get_weights(), d.get_weights()):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="sample_weight and class_weight cannot be given at the same time"):
        c.train_on_batch(x, y, sample_weight=np.ones(12), class_weight=cw)
    with pytest.raises(LatefuseError, match="train_on_batch: label 3 at row 0 is not a class in 0..2"):
        c.train_on_batch(x, np.full(12, 3))
    s = Sequential([Dense(2, activation="softmax")])  # built from the batch, as Keras
    s.compile(SGD(), "sparse_categorical_crossentropy")
    assert np.isfinite(s.train_on_batch(x, y % 2))


def test_to_categorical_as_keras():
    np.testing.assert_array_equal(to_categorical([0, 1, 2, 3], num_classes=4), np.eye(4))
    got = to_categorical(np.array([[1], [0], [2]]))  # a last axis of 1 dropped
    assert got.shape == (3, 3) and got.dtype == np.float64
    np.testing.assert_array_equal(got, np.eye(3)[[1, 0, 2]])
    seq = to_categorical([[1, 2], [0, 1]], num_classes=4)
    assert seq.shape == (2, 2, 4)
    np.testing.assert_array_equal(seq[0, 1], [0, 0, 1, 0])
    np.testing.assert_array_equal(to_categorical([1.7, 0.2]), [[0, 1], [1, 0]])  # cast to int64 as Keras
    with pytest.raises(ValueError, match=r"^to_categorical: class 4 at index 1 is not in 0..3 \(num_classes=4\)$"):
        to_categorical([0, 4], num_classes=4)
    with pytest.raises(ValueError, match="class -1 at index 0"):
        to_categorical([-1, 2])
    import latefuse
    assert latefuse.utils.to_categorical is to_categorical
