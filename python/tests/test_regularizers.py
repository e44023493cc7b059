"""
test_regularizers.py — latefuse.regularizers (Keras 3's L1, L2, L1L2:
keras/src/regularizers/regularizers.py, their defaults, aliases, get /
serialize / deserialize) on the layers' kernel_regularizer,
bias_regularizer, recurrent_regularizer and activity_regularizer: the
loss evaluate reports against the penalties worked out in numpy from
get_weights() and predict() (activity: the output's penalty divided by the
batch's rows, keras/src/layers/layer.py), get_config, the model file, the
refusals; and Conv1D's kernel_initializer / bias_initializer.
"""
import numpy as np
import pytest

from latefuse import regularizers as R
from latefuse.layers import (GRU, LSTM, Bidirectional, Conv1D, Conv2D, Dense, DepthwiseConv2D, Embedding, Flatten,
                             Input, SeparableConv2D, SimpleRNN)
from latefuse.models import Model, load_model


def test_classes_as_keras():
    assert R.L1().l1 == 0.01 and R.L1().l2 == 0.0 and R.L2().l2 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)  # Keras' class defaults (the string gives them too)
    assert R.l1 is R.L1 and R.l2 is R.L2 and R.l1_l2 is R.L1L2
    assert type(R.get("l1_l2")) is R.L1L2 and R.get("l1_l2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert type(R.get("L1")) is R.L1 and R.get(None) is None
    r = R.L1L2(0.1, 0.2)
    assert R.get(R.serialize(r)).get_config() == {"l1": 0.1, "l2": 0.2}
    assert R.deserialize({"class_name": "L1", "config": {"l1": 0.3}}).l1 == 0.3
    x = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert abs(r(x) - (0.1 * 3.5 + 0.2 * 5.25)) < 1e-12 and abs(R.L1(2)(x) - 7.0) < 1e-12
    with pytest.raises(ValueError, match="Invalid value for argument l1: expected a non-negative float"):
        R.L1(-1)


def _dense_model(**regs):
    x = Input((3,))
    m = Model(x, Dense(2, name="d", **regs)(x))
    m.compile(optimizer="sgd", loss="mse")
    return m


def test_dense_penalties_against_numpy(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32)
    kr, br, ar = R.L1L2(0.1, 0.2), R.L1(0.3), R.L1L2(0.05, 0.4)
    m = _dense_model(kernel_regularizer=kr, bias_regularizer=br, activity_regularizer=ar)
    k, b = m.get_layer("d").get_weights()
    b[:] = [0.5, -1.0]
    m.get_layer("d").set_weights([k, b])
    p = m.predict(x, verbose=0).astype(np.float64)
    want = ((p - y) ** 2).mean() + kr(k) + br(b) + ar(p) / len(x)
    assert abs(m.evaluate(x, y, verbose=0) - want) < 1e-5 * want
    # the same loss from the model file and from get_config
    m.save(str(tmp_path / "m.lfm"))
    m2 = load_model(str(tmp_path / "m.lfm"))
    d2 = m2.get_layer("d")
    assert type(d2.kernel_regularizer) is R.L1L2 and type(d2.bias_regularizer) is R.L1
    assert d2.activity_regularizer.get_config() == {"l1": 0.05, "l2": 0.4}
    assert m2.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)
    cfg = m.get_layer("d").get_config()
    assert cfg["activity_regularizer"] == {"class_name": "L1L2", "config": {"l1": 0.05, "l2": 0.4}}
    assert Dense.from_config(cfg).activity_regularizer.l2 == 0.4


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_recurrent_and_activity_against_numpy(cls, tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 4, 2)).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)
    rr, ar, kr = R.L1L2(0.2, 0.3), R.L2(0.5), R.L1(0.1)
    inp = Input((4, 2))
    m = Model(inp, cls(3, name="r", kernel_regularizer=kr, recurrent_regularizer=rr, activity_regularizer=ar)(inp))
    m.compile(optimizer="sgd", loss="mse")
    w = m.get_layer("r").get_weights()
    p = m.predict(x, verbose=0).astype(np.float64)
    want = ((p - y) ** 2).mean() + kr(w[0]) + rr(w[1]) + ar(p) / len(x)
    assert abs(m.evaluate(x, y, verbose=0) - want) < 1e-5 * want
    m.save(str(tmp_path / "m.lfm"))
    m2 = load_model(str(tmp_path / "m.lfm"))
    assert m2.get_layer("r").recurrent_regularizer.get_config() == rr.get_config()
    assert m2.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)


def test_bidirectional_both_copies_recurrent_kernels(tmp_path):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(4, 3, 2)).astype(np.float32), rng.normal(size=(4, 4)).astype(np.float32)
    rr, ar = R.L1(0.3), R.L1L2(0.1, 0.1)
    inp = Input((3, 2))
    m = Model(inp, Bidirectional(LSTM(2, recurrent_regularizer=rr, activity_regularizer=ar), name="bi")(inp))
    m.compile(optimizer="sgd", loss="mse")
    w = m.get_layer("bi").get_weights()  # forward kernel, recurrent, bias, then the backward copy's
    p = m.predict(x, verbose=0).astype(np.float64)
    want = ((p - y) ** 2).mean() + rr(w[1]) + rr(w[4]) + ar(p) / len(x)
    assert abs(m.evaluate(x, y, verbose=0) - want) < 1e-5 * want
    m.save(str(tmp_path / "m.lfm"))
    assert load_model(str(tmp_path / "m.lfm")).evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match="the wrapped layer's activity_regularizer with merge_mode='sum'"):
        Bidirectional(LSTM(2, activity_regularizer=ar), merge_mode="sum")


def test_embedding_and_conv_activity(tmp_path):
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 7, size=(4, 5)).astype(np.int32)
    er, ea, ca = R.L1(0.2), R.L2(0.3), R.L1(0.4)
    inp = Input((5,), dtype="int32")
    e = Embedding(7, 3, embeddings_regularizer=er, activity_regularizer=ea, name="e")(inp)
    c = Conv1D(2, 2, activity_regularizer=ca, name="c")(e)
    m = Model(inp, [e, c])  # both outputs, so that predict gives what each penalises
    m.compile(optimizer="sgd", loss=["mse", "mse"])
    pe, pc = [a.astype(np.float64) for a in m.predict(ids, verbose=0)]
    ye, yc = np.zeros_like(pe, np.float32), np.zeros_like(pc, np.float32)
    want = (pe ** 2).mean() + (pc ** 2).mean() + er(m.get_layer("e").get_weights()[0]) + (ea(pe) + ca(pc)) / 4
    got = m.evaluate(ids, [ye, yc], verbose=0)[0]
    assert abs(got - want) < 1e-5 * want


@pytest.mark.parametrize("reg", [R.L2(0.1), R.L1(0.2), R.L1L2(0.05, 0.3)])
@pytest.mark.parametrize("cls", [DepthwiseConv2D, SeparableConv2D])
def test_depthwise_and_separable_kernels_against_numpy(cls, reg, tmp_path):
    """Keras' depthwise_regularizer (and SeparableConv2D's pointwise_regularizer)
    on the layer's kernels (keras/src/layers/convolutional/base_depthwise_conv.py,
    base_separable_conv.py); they were kept by get_config but never reached C"""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(3, 6, 6, 2)).astype(np.float32), rng.normal(size=(3, 1)).astype(np.float32)
    br = R.L1(0.7)
    args = dict(depthwise_regularizer=reg, bias_regularizer=br, name="c")
    if cls is SeparableConv2D:
        args = dict(args, filters=3, pointwise_regularizer=reg)
    inp = Input((6, 6, 2))
    m = Model(inp, Dense(1, name="d")(Flatten()(cls(kernel_size=3, depth_multiplier=2, **args)(inp))))
    m.compile(optimizer="sgd", loss="mse")
    ws = m.get_layer("c").get_weights()  # depthwise kernel, [pointwise kernel,] bias
    ws[-1][:] = 0.25
    m.get_layer("c").set_weights(ws)
    p = m.predict(x, verbose=0).astype(np.float64)
    want = ((p - y) ** 2).mean() + sum(reg(w) for w in ws[:-1]) + br(ws[-1])
    got = m.evaluate(x, y, verbose=0)
    assert abs(got - want) < 1e-5 * want
    for name in ("m.lfm", "m.keras"):  # both files keep them
        m.save(str(tmp_path / name))
        m2 = load_model(str(tmp_path / name))
        assert m2.get_layer("c").depthwise_regularizer.get_config() == reg.get_config()
        assert m2.evaluate(x, y, verbose=0) == got
    if cls is SeparableConv2D:
        with pytest.raises(ValueError, match=r"^SeparableConv2D: depthwise_regularizer and pointwise_regularizer "
                                             r"must be the same \(one l1 and one l2 factor on both kernels here\), "
                                             r"got L1\(l1=0.1\) and L1\(l1=0.2\)$"):
            SeparableConv2D(2, 3, depthwise_regularizer=R.L1(0.1), pointwise_regularizer=R.L1(0.2))


def test_refusals():
    class Mine(R.Regularizer):
        def __call__(self, x):
            return 0.0
    with pytest.raises(ValueError, match=r"Dense: kernel_regularizer must be latefuse.regularizers.L1, L2 or L1L2 "
                                         r"\(their penalties are computed in C\)"):
        Dense(2, kernel_regularizer=Mine())
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: l3"):
        Dense(2, activity_regularizer="l3")


def test_conv1d_initializers():
    inp = Input((4, 2))
    m = Model(inp, Conv1D(3, 2, kernel_initializer="ones", bias_initializer="ones", name="c")(inp))
    k, b = m.get_layer("c").get_weights()
    assert k.shape == (2, 2, 3) and (k == 1).all() and (b == 1).all()
    cfg = m.get_layer("c").get_config()
    assert cfg["kernel_initializer"] == "ones" and Conv1D.from_config(cfg).bias_initializer == "ones"
    assert Conv1D(3, 2).kernel_initializer == "glorot_uniform"
