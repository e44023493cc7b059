"""
test_outputs.py — Keras' models with several outputs and loss_weights,
layer.trainable, and int32 / uint8 input arrays, through the Python API.
"""
import numpy as np
import pytest

import latefuse
from latefuse import layers as L


def two_branch(seed=3):
    a, b = L.Input((6,), name="a"), L.Input((5,), name="b")
    oa = L.Dense(3, activation="softmax", name="out_a")(L.Dense(8, activation="tanh", name="ha")(a))
    ob = L.Dense(3, activation="softmax", name="out_b")(L.Dense(8, activation="relu", name="hb")(b))
    f = L.WeightedAverage(name="fused")([oa, ob])
    return latefuse.Model([a, b], [f, oa, ob], seed=seed)


def task(n=120, seed=0):
    rng = np.random.default_rng(seed)
    xa = rng.uniform(-2, 2, (n, 6)).astype(np.float32)
    xb = rng.uniform(-2, 2, (n, 5)).astype(np.float32)
    y = ((xa[:, 0] + xb[:, 1] > 0).astype(int) + (xa[:, 2] > 0.5)).astype(np.int64)
    return xa, xb, y


def test_fit_evaluate_predict_several_outputs():
    xa, xb, y = task()
    m = two_branch()
    m.compile(latefuse.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy", loss_weights=[1, .5, .5],
              metrics=["accuracy"])
    assert m.metrics_names == ["loss", "fused_loss", "out_a_loss", "out_b_loss", "fused_accuracy",
                               "out_a_accuracy", "out_b_accuracy"]
    before = m.evaluate([xa, xb], [y, y, y], return_dict=True)
    h = m.fit([xa, xb], [y, y, y], epochs=20, batch_size=20, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "val_loss", "fused_loss", "out_a_loss", "out_b_loss", "fused_accuracy",
                              "out_a_accuracy", "out_b_accuracy", "val_fused_loss", "val_out_a_loss",
                              "val_out_b_loss", "val_fused_accuracy", "val_out_a_accuracy",
                              "val_out_b_accuracy"}
    last = {k: v[-1] for k, v in h.history.items()}
    assert last["loss"] == pytest.approx(last["fused_loss"] + .5 * last["out_a_loss"] + .5 * last["out_b_loss"],
                                         rel=1e-9)
    after = m.evaluate([xa, xb], {"fused": y, "out_a": y, "out_b": y}, return_dict=True)
    assert after["loss"] < 0.8 * before["loss"]
    assert after["loss"] == pytest.approx(after["fused_loss"] + .5 * after["out_a_loss"] + .5 * after["out_b_loss"],
                                          rel=1e-12)
    as_list = m.evaluate([xa, xb], [y, y, y])
    assert as_list == [after[k] for k in m.metrics_names]
    p = m.predict([xa, xb])
    assert isinstance(p, list) and [q.shape for q in p] == [(120, 3)] * 3
    # the fused output is the learned average of the branches' outputs
    w = np.exp(m.get_layer("fused").get_weights()[0].reshape(-1))
    w /= w.sum()
    np.testing.assert_allclose(p[0], w[0] * p[1] + w[1] * p[2], rtol=1e-5, atol=1e-6)
    assert m.output_shape == [(None, 3)] * 3


def test_metrics_per_output_as_keras_3():
    """metrics for several outputs in Keras 3's spellings: a dict by output
    name or one entry per output (a name, a list or None) asks the accuracy
    of those outputs only, keyed by the names given; history, evaluate and
    metrics_names agree; the accuracy is the library's per output."""
    xa, xb, y = task(60)
    full = two_branch()
    full.compile("adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    ref = full.evaluate([xa, xb], [y, y, y], return_dict=True)
    for metrics in ({"fused": "accuracy", "out_b": ["acc"]}, [["accuracy"], None, "acc"],
                    ["accuracy", [], ["acc"]]):
        m = two_branch()
        m.compile("adam", loss="sparse_categorical_crossentropy", metrics=metrics)
        want = ["loss", "fused_loss", "out_a_loss", "out_b_loss", "fused_accuracy", "out_b_acc"]
        assert m.metrics_names == want, metrics
        d = m.evaluate([xa, xb], [y, y, y], return_dict=True)
        # the dict in Keras 3's get_metrics_result order: loss, the compile metrics, the per-output losses
        # (keras/src/trainers/trainer.py Trainer.metrics); the list's: _flatten_metrics_in_order
        assert list(d) == want[:1] + want[4:] + want[1:4]
        assert d["fused_accuracy"] == ref["fused_accuracy"] and d["out_b_acc"] == ref["out_b_accuracy"]
        assert m.evaluate([xa, xb], [y, y, y]) == [d[k] for k in want]
        h = m.fit([xa, xb], [y, y, y], epochs=1, validation_split=0.25, verbose=0)
        assert {k for k in h.history if "acc" in k} == {"fused_accuracy", "out_b_acc", "val_fused_accuracy",
                                                        "val_out_b_acc"}, metrics
    with pytest.raises(ValueError, match=r"^compile: metrics name no output 'out_c' \(the outputs: fused, out_a, "
                                         r"out_b\)$"):
        two_branch().compile("adam", loss="sparse_categorical_crossentropy", metrics={"out_c": "accuracy"})
    with pytest.raises(ValueError, match=r"^compile: metric 'accuracy' of output 'out_a' needs a crossentropy loss"):
        two_branch().compile("adam", loss=["sparse_categorical_crossentropy", "mse", "mse"],
                             metrics=[None, "accuracy", None])


def test_loss_weights_and_losses_by_name(tmp_path):
    xa, xb, y = task(60)
    m = two_branch()
    onehot = np.eye(3, dtype=np.float32)[y]
    m.compile("sgd", loss={"fused": "sparse_categorical_crossentropy", "out_a": "sparse_categorical_crossentropy",
                           "out_b": "categorical_crossentropy"}, loss_weights={"out_a": 0.5, "out_b": 0.25})
    assert m.loss_weights == [1.0, 0.5, 0.25]
    assert m.loss == ["sparse_categorical_crossentropy", "sparse_categorical_crossentropy",
                      "categorical_crossentropy"]
    m.fit([xa, xb], [y, y, onehot], epochs=2, verbose=0)
    ev = m.evaluate([xa, xb], [y, y, onehot])
    path = str(tmp_path / "multi.safetensors")
    m.save(path)
    back = latefuse.load_model(path)
    assert back.loss_weights == [1.0, 0.5, 0.25]
    assert back.evaluate([xa, xb], [y, y, onehot]) == ev
    for p, q in zip(back.predict([xa, xb]), m.predict([xa, xb])):
        assert np.array_equal(p, q)


def test_several_outputs_errors():
    xa, xb, y = task(30)
    m = two_branch()
    m.compile("adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"fit: the model has 3 outputs \(fused, out_a, out_b\): give y as a "
                                         r"list of 3 arrays, one per output, or a dict by output name"):
        m.fit([xa, xb], y, verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: no targets for output\(s\) out_b"):
        m.evaluate([xa, xb], {"fused": y, "out_a": y})
    with pytest.raises(ValueError, match=r"fit: y for output 'out_a' must have shape"):
        m.fit([xa, xb], [y, y[:10], y], verbose=0)
    with pytest.raises(ValueError, match="class_weight needs a model with one output"):
        m.fit([xa, xb], [y, y, y], class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"compile: loss has 2 entries; the model has 3 output\(s\)"):
        m.compile("adam", loss=["mse", "mse"])
    with pytest.raises(ValueError, match=r"compile: loss_weights names nope, which is not an output"):
        m.compile("adam", loss="mse", loss_weights={"nope": 1})
    with pytest.raises(ValueError, match=r"compile: loss weights must be finite numbers >= 0, got -1"):
        m.compile("adam", loss="mse", loss_weights=[1, -1, 1])


def _frozen_model(seed=5):
    x = L.Input((6,), name="x")
    h = L.Dense(8, activation="relu", name="h")(x)
    bn = L.BatchNormalization(name="bn")(h)
    o = L.Dense(3, activation="softmax", name="o")(bn)
    return latefuse.Model(x, o, seed=seed)


def test_trainable_false():
    xa, _, y = task(96)
    m, ref = _frozen_model(), _frozen_model()
    m.compile("adam", loss="sparse_categorical_crossentropy")
    # frozen after compile, as Keras 3 allows (no recompile needed)
    m.get_layer("h").trainable = False
    m.get_layer("bn").trainable = False
    assert not m.get_layer("h").trainable and m.trainable
    m.fit(xa, y, epochs=3, batch_size=16, verbose=0)
    for name in ("h", "bn"):
        for w, r in zip(m.get_layer(name).get_weights(), ref.get_layer(name).get_weights()):
            assert np.array_equal(w, r), name
    assert not np.array_equal(m.get_layer("o").get_weights()[0], ref.get_layer("o").get_weights()[0])
    lines = []
    m.summary(print_fn=lines.append)
    assert " Non-trainable params: 88 (0.34 KB)" in lines[0]
    # compiling again keeps the flags; unfreezing trains again
    m.compile("adam", loss="sparse_categorical_crossentropy")
    m.fit(xa, y, epochs=1, verbose=0)
    assert np.array_equal(m.get_layer("h").get_weights()[0], ref.get_layer("h").get_weights()[0])
    m.get_layer("h").trainable = True
    m.fit(xa, y, epochs=1, verbose=0)
    assert not np.array_equal(m.get_layer("h").get_weights()[0], ref.get_layer("h").get_weights()[0])


def test_trainable_saved(tmp_path):
    m = _frozen_model()
    m.get_layer("h").trainable = False  # before compile
    m.compile("adam", loss="sparse_categorical_crossentropy")
    path = str(tmp_path / "frozen.safetensors")
    m.save(path)
    back = latefuse.load_model(path)
    assert [ly.trainable for ly in back.layers] == [True, False, True, True]
    back.trainable = False
    assert not back.trainable and all(not ly.trainable for ly in back.layers)


def test_int32_and_uint8_inputs():
    rng = np.random.default_rng(2)
    ids = rng.integers(-1000, 1000, (80, 4))          # int64 from numpy
    px = rng.integers(0, 256, (80, 4)).astype(np.uint8)
    y = ((ids[:, 0] > 0).astype(int) + (px[:, 1] > 128)).astype(np.int64)

    def build():
        a = L.Input((4,), dtype="int32", name="ids")
        b = L.Input((4,), name="pixels")
        c = L.Concatenate()([L.Rescaling(1e-3)(a), L.Rescaling(1 / 255)(b)])
        mm = latefuse.Model([a, b], L.Dense(3, activation="softmax")(c), seed=8)
        mm.compile("adam", loss="sparse_categorical_crossentropy")
        return mm

    typed, floats = build(), build()
    typed.fit([ids, px], y, epochs=3, batch_size=16, verbose=0)
    floats.fit([ids.astype(np.float32), px.astype(np.float32)], y, epochs=3, batch_size=16, verbose=0)
    for w, v in zip(typed.get_weights(), floats.get_weights()):
        assert np.array_equal(w, v)
    assert np.array_equal(typed.predict([ids.astype(np.int32), px]),
                          floats.predict([ids.astype(np.float32), px.astype(np.float32)]))
    big = ids.copy()
    big[3, 1] = 1 << 40
    with pytest.raises(ValueError, match=r"predict: input 0 \('ids'\): values outside the int32 range"):
        typed.predict([big, px])
    big[3, 1] = -(1 << 24) - 1
    with pytest.raises(latefuse.LatefuseError, match=r"fit: input 'ids' holds -16777217 at row 3, column 1"):
        typed.fit([big, px], y, verbose=0)


def test_predict_and_targets_keep_the_output_shape():
    """predict returns (N, *output_shape), as Keras, and fit / evaluate take
    targets in that shape as well as flat (N, prod(output_shape))."""
    rng = np.random.default_rng(2)
    it = L.Input((4, 3))
    m = latefuse.Model(it, L.Dense(2)(it))
    m.compile("adam", "mse")
    x = rng.normal(size=(5, 4, 3))
    p = m.predict(x)
    assert p.shape == (5, 4, 2) and m.output_shape == (None, 4, 2)
    k, b = m.get_weights()
    np.testing.assert_allclose(p, x @ k + b, rtol=1e-5, atol=1e-6)
    y = rng.normal(size=(5, 4, 2))
    assert m.evaluate(x, y) == pytest.approx(np.mean((p - y) ** 2), rel=1e-5)
    assert m.evaluate(x, y.reshape(5, 8)) == m.evaluate(x, y)  # the flat form still works
    m.fit(x, y, epochs=2, verbose=0)
    with pytest.raises(ValueError, match=r"^fit: y must have shape \(5, 4, 2\) or \(5, 8\) for this model and "
                       r"loss, got shape \(5, 2, 4\)$"):
        m.fit(x, y.reshape(5, 2, 4), verbose=0)
    # Conv2D with padding="same": (N, 6, 6, 3)
    img = L.Input((6, 6, 2))
    c = latefuse.Model(img, L.Conv2D(3, 3, padding="same")(img))
    assert c.predict(rng.normal(size=(2, 6, 6, 2))).shape == (2, 6, 6, 3)
    # several outputs, by list and by dict, and a sparse (N,) target next to a (N, 4, 2) one
    seq = L.Dense(2, name="seq")(it)
    cls = L.Dense(3, activation="softmax", name="cls")(L.Flatten()(it))
    two = latefuse.Model(it, [seq, cls])
    two.compile("adam", loss={"seq": "mse", "cls": "sparse_categorical_crossentropy"})
    ps, pc = two.predict(x)
    assert ps.shape == (5, 4, 2) and pc.shape == (5, 3)
    labels = np.array([0, 1, 2, 1, 0])
    two.fit(x, {"seq": y, "cls": labels}, epochs=1, verbose=0)
    loss, l_seq, l_cls = two.evaluate(x, [y, labels])
    ps = two.predict(x)[0]
    assert l_seq == pytest.approx(np.mean((ps - y) ** 2), rel=1e-5)


def test_uncompiled_model_of_several_outputs_keeps_them_in_its_file(tmp_path):
    """Model.save + load_model of an uncompiled model with several outputs
    (the encoder Model(x, [y, h, c]) of the return_state idiom, and Model(x,
    [a, b]) in an order that is not the layers'): the file names them
    ("model_outputs", lf_model_set_outputs), so the loaded model has the
    same outputs and predicts the same arrays (before: the last layer was
    its only output)"""
    x = L.Input((5,), dtype="int32", name="tokens")
    e = L.Embedding(12, 3, name="e")(x)
    y, h, c = L.LSTM(4, return_state=True, name="enc")(e)
    enc = latefuse.Model(x, [y, h, c], seed=2)
    xa = L.Input((3,), name="x")
    a = L.Dense(2, name="a")(xa)
    b = L.Dense(4, activation="relu", name="b")(xa)
    ab = latefuse.Model(xa, [b, a], seed=1)
    data = {id(enc): np.random.default_rng(0).integers(1, 12, (6, 5)).astype(np.int32),
            id(ab): np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32)}
    for m, shapes in ((enc, [(6, 4)] * 3), (ab, [(6, 4), (6, 2)])):
        p = tmp_path / ("%s.lf" % m.name)
        want = m.predict(data[id(m)])
        m.save(p)
        got = latefuse.load_model(p)
        assert len(got.outputs) == len(shapes) and got.output_shape == m.output_shape
        out = got.predict(data[id(m)])
        assert [o.shape for o in out] == shapes
        for w, g in zip(want, out):
            np.testing.assert_array_equal(w, g)
    # a single output that is the last layer: the file is as before (no model_outputs)
    one = latefuse.Model(xa, a, seed=1)
    one.save(tmp_path / "one.lf")
    from latefuse.models import _read_architecture
    assert "model_outputs" not in _read_architecture(str(tmp_path / "one.lf"))
    assert _read_architecture(str(tmp_path / ("%s.lf" % ab.name)))["model_outputs"] == ["b", "a"]


def three_heads(seed=5):
    """A sparse softmax head 'p' (3 classes), a one-unit sigmoid head 'b' and
    a two-unit regression head 'r'."""
    a = L.Input((4,), name="x")
    h = L.Dense(6, activation="tanh", name="h")(a)
    return latefuse.Model(a, [L.Dense(3, activation="softmax", name="p")(h),
                              L.Dense(1, activation="sigmoid", name="b")(h), L.Dense(2, name="r")(h)], seed=seed)


def hand_auc(score, pos, w):
    """ROC AUC by its definition: the weighted share of (positive, negative)
    pairs ranked right, ties one half."""
    num = den = 0.0
    for i in np.flatnonzero(pos):
        for j in np.flatnonzero(~pos):
            wij = w[i] * w[j]
            num += wij * (1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0)
            den += wij
    return num / den


def test_value_metrics_per_output_as_keras_3(tmp_path):
    """mae, mse, AUC (and weighted_metrics) asked of the outputs of a model
    with several outputs, as Keras 3 (keras/src/trainers/compile_utils.py
    CompileMetrics.result: keys f"{output}_{name}", a weighted metric whose
    key the metrics have f"{output}_weighted_{name}"; trainer.py: evaluate's
    list loss, the per-output losses, then the other keys sorted
    (_flatten_metrics_in_order); its dict loss, the compile metrics, then the
    per-output losses (get_metrics_result)): each measured on its output's
    predictions and targets (sparse class indices one-hot), against numpy."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    yp, yb, yr = rng.integers(0, 3, 30), (rng.random(30) > 0.5).astype(np.float32), rng.normal(size=(30, 2)).astype(np.float32)
    sw = rng.uniform(0.1, 2.0, 30).astype(np.float32).astype(np.float64)  # as the library reads it
    m = three_heads()
    m.compile("adam", ["sparse_categorical_crossentropy", "binary_crossentropy", "mse"],
              metrics={"p": ["acc", "mae"], "b": ["AUC", "accuracy"], "r": "mse"},
              weighted_metrics={"p": ["mae"], "b": ["mse", "AUC"]})
    names = ["loss", "p_loss", "b_loss", "r_loss", "b_AUC", "b_accuracy", "b_mse", "b_weighted_AUC", "p_acc",
             "p_mae", "p_weighted_mae", "r_mse"]
    assert m.metrics_names == names
    ev = m.evaluate(x, [yp, yb, yr], sample_weight=sw)
    d = m.evaluate(x, [yp, yb, yr], sample_weight=sw, return_dict=True)
    assert list(d) == ["loss", "p_acc", "p_mae", "b_AUC", "b_accuracy", "r_mse", "p_weighted_mae", "b_mse",
                       "b_weighted_AUC", "p_loss", "b_loss", "r_loss"]
    assert ev == [d[k] for k in names]
    pp, pb, pr = (a.astype(np.float64) for a in m.predict(x))
    onehot = np.eye(3)[yp]
    assert d["p_mae"] == pytest.approx(np.abs(pp - onehot).mean(), rel=1e-12)
    assert d["p_weighted_mae"] == pytest.approx(np.sum(sw * np.abs(pp - onehot).mean(1)) / sw.sum(), rel=1e-12)
    assert d["p_weighted_mae"] != pytest.approx(d["p_mae"])
    assert d["b_mse"] == pytest.approx(np.sum(sw * (pb[:, 0] - yb) ** 2) / sw.sum(), rel=1e-12)
    assert d["r_mse"] == pytest.approx(((pr - yr) ** 2).mean(), rel=1e-12)
    u = m.evaluate(x, [yp, yb, yr], return_dict=True)  # unweighted: the library's mse loss on the same head
    assert u["r_mse"] == d["r_mse"] and u["r_mse"] == pytest.approx(u["r_loss"], rel=1e-5)
    assert d["b_AUC"] == pytest.approx(hand_auc(pb[:, 0], yb > 0.5, np.ones(30)), rel=1e-12)
    assert d["b_weighted_AUC"] == pytest.approx(hand_auc(pb[:, 0], yb > 0.5, sw), rel=1e-12)
    assert d["p_acc"] == pytest.approx((pp.argmax(1) == yp).mean())
    # fit: the keys and their val_ twins; the last epoch's validation values are evaluate's on those rows
    h = m.fit(x, [yp, yb, yr], epochs=2, validation_split=0.2, verbose=0, shuffle=False)
    assert sorted(h.history) == sorted(names + ["val_" + k for k in names])
    vd = m.evaluate(x[24:], [yp[24:], yb[24:], yr[24:]], return_dict=True)
    for k in ("p_mae", "b_AUC", "r_mse", "p_weighted_mae", "b_mse"):
        assert h.history["val_" + k][-1] == pytest.approx(vd[k], rel=1e-9), k
    # saved and loaded with the model
    path = str(tmp_path / "heads.lf")
    m.save(path)
    back = latefuse.load_model(path)
    assert back.metrics_names == names
    want = m.evaluate(x, [yp, yb, yr], sample_weight=sw, return_dict=True)
    assert back.evaluate(x, [yp, yb, yr], sample_weight=sw, return_dict=True) == want
    m.save(str(tmp_path / "heads.keras"))  # Keras' file: compile_config's metrics dicts
    back = latefuse.load_model(str(tmp_path / "heads.keras"))
    assert back.metrics_names == names and back.evaluate(x, [yp, yb, yr], sample_weight=sw, return_dict=True) == want
    # train_on_batch: the metrics measured before the step, in evaluate's orders
    before = m.evaluate(x, [yp, yb, yr], sample_weight=sw, return_dict=True)
    got = m.train_on_batch(x, [yp, yb, yr], sample_weight=sw, return_dict=True)
    assert list(got) == list(before) and got["p_mae"] == before["p_mae"] and got["b_AUC"] == before["b_AUC"]


def test_value_metrics_per_output_lists_and_batch_logs():
    """A flat list asks the value metrics of every output with a loss (the
    accuracies of the crossentropy ones), a list of one entry per output
    each its own; evaluate's batch logs carry the running values keyed by
    output."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(20, 4)).astype(np.float32)
    yp, yb = rng.integers(0, 3, 20), (rng.random(20) > 0.5).astype(np.float32)
    m = three_heads()
    m.compile("adam", ["sparse_categorical_crossentropy", "binary_crossentropy", None], metrics=["mae", "acc"])
    assert m.metrics_names == ["loss", "p_loss", "b_loss", "b_acc", "b_mae", "p_acc", "p_mae"]
    m.compile("adam", ["sparse_categorical_crossentropy", "binary_crossentropy", "mse"],
              metrics=["mse", None, ["mae", "mse"]])
    assert m.metrics_names == ["loss", "p_loss", "b_loss", "r_loss", "p_mse", "r_mae", "r_mse"]
    yr = rng.normal(size=(20, 2))

    class Logs(latefuse.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.logs = []

        def on_test_batch_end(self, batch, logs=None):
            self.logs.append(dict(logs))
    cb = Logs()
    m.evaluate(x, [yp, yb, yr], batch_size=8, callbacks=[cb])
    pp, _, pr = (a.astype(np.float64) for a in m.predict(x))
    assert len(cb.logs) == 3
    for b, lg in enumerate(cb.logs):
        r = min(20, 8 * (b + 1))
        assert lg["r_mae"] == pytest.approx(np.abs(pr[:r] - yr[:r]).mean(), rel=1e-6)  # batch by batch: float32 sums
        assert lg["p_mse"] == pytest.approx(((pp[:r] - np.eye(3)[yp[:r]]) ** 2).mean(), rel=1e-6)


def test_value_metrics_per_output_refusals():
    m = three_heads()
    with pytest.raises(ValueError, match=r"^compile: metric 'AUC' of output 'p' needs a binary output \(one "
                                         r"sigmoid unit\); the output has 3 units$"):
        m.compile("adam", ["sparse_categorical_crossentropy", "binary_crossentropy", "mse"],
                  metrics={"p": "AUC"})
    with pytest.raises(ValueError, match=r"^compile: weighted metric 'auc' of output 'r' needs a binary output "
                                         r"\(one sigmoid unit\); the output has 2 units$"):
        m.compile("adam", ["sparse_categorical_crossentropy", "binary_crossentropy", "mse"],
                  weighted_metrics=[None, None, "auc"])
    with pytest.raises(ValueError, match=r"^compile: metric 'mae' of output 'r' needs the output's targets: its "
                                         r"loss is None \(give it a loss, or no metric\)$"):
        m.compile("adam", ["sparse_categorical_crossentropy", "binary_crossentropy", None], metrics={"r": "mae"})
    with pytest.raises(ValueError, match=r"^compile: weighted_metrics name no output 'q' \(the outputs: p, b, r\)$"):
        m.compile("adam", "mse", weighted_metrics={"q": "mae"})
    with pytest.raises(ValueError, match=r"^compile: weighted metric 'accuracy' needs a crossentropy loss"):
        m.compile("adam", ["sparse_categorical_crossentropy", "binary_crossentropy", "mse"],
                  weighted_metrics={"r": "accuracy"})
