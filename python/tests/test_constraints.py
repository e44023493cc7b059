"""
test_constraints.py — latefuse.constraints (Keras 3's MaxNorm, NonNeg,
UnitNorm, MinMaxNorm: keras/src/constraints/constraints.py) on every layer
that takes them: the numpy formulas against hand values; the C library's
constraint after a step whose update is nil (SGD at 1e-30) equal to the
numpy formula on the weights in Keras' layout (so the axis is Keras'
axis: Dense's kernel (in, units) although the library stores it
transposed); a fit that holds the constraint; get_config, the model file
and the exact refusals.
"""
import json
import os

import numpy as np
import pytest

import latefuse
from latefuse import constraints as C
from latefuse.layers import (GRU, LSTM, BatchNormalization, Bidirectional, Conv1D, Conv2D, Dense, Embedding, Input,
                             LayerNormalization, MultiHeadAttention, SimpleRNN)
from latefuse.models import Model, load_model


def test_formulas_by_hand():
    k = np.array([[3, 0], [4, 0.5]], np.float32)  # Keras' (in, units): unit 0 (3, 4), unit 1 (0, 0.5)
    f0, f1 = 2 / (5 + 1e-7), 0.5 / (0.5 + 1e-7)
    np.testing.assert_allclose(C.MaxNorm()(k), [[3 * f0, 0], [4 * f0, 0.5 * f1]], rtol=1e-6)
    np.testing.assert_allclose(C.MaxNorm(2, axis=1)(k), [[2, 0], [4 * 2 / 16.25 ** .5, 0.5 * 2 / 16.25 ** .5]],
                               rtol=1e-6)
    np.testing.assert_allclose(C.UnitNorm()(k), [[0.6, 0], [0.8, 1]], rtol=1e-6)
    np.testing.assert_allclose(C.MinMaxNorm(1, 2, 0.5)(k), [[3 * 0.7, 0], [4 * 0.7, 0.75]], rtol=1e-6)
    np.testing.assert_array_equal(C.NonNeg()(np.array([-1, 0, 2], np.float32)), [0, 0, 2])
    assert C.get("max_norm") == C.MaxNorm() and C.get({"class_name": "UnitNorm", "config": {"axis": 1}}) == C.UnitNorm(1)


def _nil_step(model, x, y):
    model.compile(optimizer=latefuse.optimizers.SGD(learning_rate=1e-30), loss="mse")
    model.train_on_batch(x, y)


CASES = [
    # (name, layer maker, input shape, [(weight index, constraint arg, constraint)])
    ("dense", lambda c: Dense(3, **c), (4,), [(0, "kernel_constraint", C.MaxNorm(0.3)),
                                             (1, "bias_constraint", C.NonNeg())]),
    ("dense_axis1", lambda c: Dense(3, **c), (4,), [(0, "kernel_constraint", C.UnitNorm(axis=1))]),
    ("conv2d", lambda c: Conv2D(2, 2, **c), (3, 3, 2), [(0, "kernel_constraint", C.MaxNorm(0.2, axis=[0, 1, 2]))]),
    ("conv1d", lambda c: Conv1D(2, 2, **c), (4, 3), [(0, "kernel_constraint", C.MinMaxNorm(0.5, 0.6, 0.5, [0, 1]))]),
    ("embedding", lambda c: Embedding(5, 3, **c), (4,), [(0, "embeddings_constraint", C.UnitNorm(axis=1))]),
    ("bn", lambda c: BatchNormalization(**c), (4,), [(0, "gamma_constraint", C.MaxNorm(0.5, axis=None)),
                                                     (1, "beta_constraint", C.UnitNorm(axis=0))]),
    ("ln", lambda c: LayerNormalization(**c), (3, 4), [(0, "gamma_constraint", C.MinMaxNorm(0.1, 0.2))]),
    ("lstm", lambda c: LSTM(3, **c), (4, 2), [(0, "kernel_constraint", C.MaxNorm(0.3)),
                                              (1, "recurrent_constraint", C.UnitNorm()),
                                              (2, "bias_constraint", C.MaxNorm(0.1))]),
    ("gru", lambda c: GRU(3, **c), (4, 2), [(2, "bias_constraint", C.UnitNorm(axis=1))]),
    ("simple_rnn", lambda c: SimpleRNN(3, **c), (4, 2), [(1, "recurrent_constraint", C.MaxNorm(0.2, axis=-1))]),
]


@pytest.mark.parametrize("name,make,shape,cons", CASES, ids=[c[0] for c in CASES])
def test_after_a_nil_step_as_the_numpy_formula(name, make, shape, cons, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(3,) + shape).astype(np.float32)
    layer = make({arg: c for _, arg, c in cons})
    inp = Input(shape)
    m = Model(inp, layer(inp), seed=2)
    ws = [w * 3 + 0.5 for w in layer.get_weights()]  # big enough for every constraint to act
    layer.set_weights(ws)
    y = np.zeros_like(m.predict(x, verbose=0))
    _nil_step(m, x, y)
    after = layer.get_weights()
    done = set()
    for idx, _, c in cons:
        np.testing.assert_allclose(after[idx], c(ws[idx]), rtol=2e-6, atol=1e-7, err_msg="weight %d" % idx)
        done.add(idx)
    for i in set(range(len(ws))) - done:
        if not (name == "bn" and i >= 2):  # the moving statistics move in training
            np.testing.assert_array_equal(after[i], ws[i])
    # get_config and the model file keep them
    for _, arg, c in cons:
        assert getattr(layer, arg) == c
        assert layer.get_config()[arg] == {"class_name": type(c).__name__, "config": c.get_config()}
    path = os.path.join(str(tmp_path), "m.lf")
    m.save(path)
    back = load_model(path).get_layer(layer.name)
    for _, arg, c in cons:
        assert getattr(back, arg) == c, (arg, getattr(back, arg), c)


def test_mha_and_bidirectional(tmp_path):
    inp = Input((4, 3))
    att = MultiHeadAttention(2, 2, kernel_constraint=C.MaxNorm(0.2), bias_constraint=C.NonNeg(), name="att")
    bi = Bidirectional(LSTM(2, recurrent_constraint=C.UnitNorm()), name="bi")
    m = Model(inp, bi(att(inp, inp)), seed=3)
    x = np.random.default_rng(1).normal(size=(4, 4, 3)).astype(np.float32)
    wa = [w * 4 - 0.1 for w in att.get_weights()]
    att.set_weights(wa)
    wb = [w * 3 for w in bi.get_weights()]
    bi.set_weights(wb)
    _nil_step(m, x, np.zeros((4, 4), np.float32))
    got = att.get_weights()
    for i in range(8):
        np.testing.assert_allclose(got[i], (C.MaxNorm(0.2) if i % 2 == 0 else C.NonNeg())(wa[i]), rtol=2e-6,
                                   atol=1e-7)
    gb = bi.get_weights()
    for i in (1, 4):  # both copies' recurrent kernels
        np.testing.assert_allclose(gb[i], C.UnitNorm()(wb[i]), rtol=2e-6)
    np.testing.assert_array_equal(gb[0], wb[0])
    path = os.path.join(str(tmp_path), "m.lf")
    m.save(path)
    back = load_model(path)
    assert back.get_layer("att").kernel_constraint == C.MaxNorm(0.2)
    assert back.get_layer("bi").layer.recurrent_constraint == C.UnitNorm()


def test_fit_holds_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = 10 * x.sum(axis=1, keepdims=True)
    norms = []
    for con in (None, C.MaxNorm(1.5)):
        inp = Input((4,))
        d = Dense(1, kernel_constraint=con)
        m = Model(inp, d(inp), seed=1)
        m.compile(optimizer=latefuse.optimizers.Adam(0.1), loss="mse")
        m.fit(x, y, epochs=20, batch_size=16, verbose=0)
        norms.append(np.linalg.norm(d.get_weights()[0], axis=0).max())
    assert norms[0] > 3 and 1.4 < norms[1] <= 1.5 * (1 + 1e-6), norms


def test_refusals():
    with pytest.raises(ValueError, match=r"^Dense: kernel_constraint must be one of latefuse.constraints' MaxNorm, "
                                         r"NonNeg, UnitNorm or MinMaxNorm \(applied by the C library after each "
                                         r"step\), got <function"):
        Dense(2, kernel_constraint=lambda w: w)
    with pytest.raises(ValueError, match=r"^MaxNorm: axis must be an int, a list of 1 to 4 ints or None, got 'x'$"):
        C.MaxNorm(axis="x")
    with pytest.raises(ValueError, match=r"^MinMaxNorm: rate must be a finite number, got nan$"):
        C.MinMaxNorm(rate=float("nan"))
    for layer, msg in ((Dense(2, kernel_constraint=C.MaxNorm(-1), name="d"),
                        "lf_set_constraint: max_value must be finite and >= 0, got -1"),
                       (Dense(2, kernel_constraint=C.UnitNorm(axis=2), name="d"),
                        "lf_set_constraint: axis 2 is out of range for 'd.kernel' of rank 2"),
                       (Dense(2, bias_constraint=C.MinMaxNorm(2, 1), name="d"),
                        "lf_set_constraint: min_value must be finite, >= 0 and <= max_value 1, got 2")):
        inp = Input((3,))
        with pytest.raises(Exception) as e:
            Model(inp, layer(inp))
        assert msg in str(e.value)


@pytest.mark.parametrize("kind", ["mha", "lstm", "gru", "simple_rnn", "bidirectional"])
def test_bias_regularizer(kind, tmp_path):
    """bias_regularizer=l2(x) on MultiHeadAttention (its four biases) and the
    recurrent layers (Bidirectional: both copies' biases), as Keras:
    x * sum(bias**2) in the loss (the penalty's gradient is the one Dense's
    bias_regularizer has, lf_weight_penalty's), kept by get_config and the
    model file"""
    from latefuse.regularizers import l2
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 4, 3)).astype(np.float32)
    losses, layers = [], []
    for reg in (None, l2(0.1)):
        inp = Input((4, 3))
        if kind == "mha":
            ly = MultiHeadAttention(2, 2, bias_regularizer=reg, name="r")
            out = ly(inp, inp)
        else:
            cls = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN, "bidirectional": LSTM}[kind]
            ly = cls(3, bias_regularizer=reg)
            ly = Bidirectional(ly, name="r") if kind == "bidirectional" else ly
            out = ly(inp)
        m = Model(inp, out, seed=1)
        if reg is None:
            ws = [w + 0.3 for w in ly.get_weights()]  # non-zero biases
        ly.set_weights(ws)
        m.compile(loss="mse")
        y = np.zeros_like(m.predict(x, verbose=0))
        losses.append(m.evaluate(x, y, verbose=0))
        layers.append(ly)
    n_w = len(ws) // (2 if kind == "bidirectional" else 1)
    biases = [w for i, w in enumerate(ws) if (kind == "mha" and i % 2 == 1) or (kind != "mha" and i % n_w == 2)]
    want = 0.1 * sum(np.sum(b.astype(np.float64) ** 2) for b in biases)
    assert losses[1] - losses[0] == pytest.approx(want, rel=1e-5)
    inner = layers[1].layer if kind == "bidirectional" else layers[1]
    assert inner.get_config()["bias_regularizer"] == {"class_name": "L2", "config": {"l2": 0.1}}
    path = os.path.join(str(tmp_path), "m.lf")
    m.save(path)
    m2 = load_model(path)
    m2.compile(loss="mse")
    assert m2.evaluate(x, y, verbose=0) == pytest.approx(losses[1], rel=1e-6)


def test_classes_and_numpy_numbers():
    """keras.constraints.get makes a class given as such with its defaults
    (kernel_constraint=MaxNorm); numpy numbers are kept as Python numbers,
    so get_config goes into to_json"""
    d = Dense(2, kernel_constraint=C.MaxNorm, bias_constraint=C.NonNeg)
    assert d.kernel_constraint == C.MaxNorm() and d.bias_constraint == C.NonNeg()
    inp = Input((3,))
    m = Model(inp, Dense(2, kernel_constraint=C.MinMaxNorm(np.float32(0.5), np.int64(2), np.float64(0.25)))(inp))
    cfg = json.loads(m.to_json())["config"]["layers"][1]["config"]["kernel_constraint"]
    assert cfg == {"class_name": "MinMaxNorm", "config": {"min_value": 0.5, "max_value": 2, "rate": 0.25, "axis": 0}}
    assert type(C.MaxNorm(np.int32(3)).max_value) is int
