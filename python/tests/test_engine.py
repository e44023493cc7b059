"""
test_engine.py — the Keras-style API against PyTorch and against itself.

The seed network (two Dense(32, relu) branches, WeightedAverage, Dense(1),
mse) and the concatenation head (Concatenate, Dense(128, relu),
Dropout(0.2), Dense(C, softmax), categorical cross-entropy) get fixed
weights through set_weights (Keras layout); PyTorch computes the same
forward pass, loss and, for the seed, one Keras-3 Adam step on the full
batch from its gradients.  Then the API: history keys, evaluate, summary,
per-layer weights, save/load round trip, recompile, early stopping.
Only the PyTorch comparisons need torch; the rest run without it.
"""
import math

import numpy as np
import pytest

import latefuse
from latefuse import Model
from latefuse.callbacks import EarlyStopping
from latefuse.layers import (Add, Average, ClassWeightedAverage, Concatenate, Dense, Dot, Dropout,
                             Input, Maximum, Minimum, Multiply, Subtract, WeightedAverage)

# Only the two comparisons with PyTorch need it; without it they are
# reported as skipped (a failure under CI=true, see tests/python_test.sh).
try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (apt-get install python3-torch)")


def seed_model(seed=0):
    inp1 = Input((100,)); inp2 = Input((100,))
    x1 = Dense(32, activation='relu')(inp1); x2 = Dense(32, activation='relu')(inp2)
    w = WeightedAverage(n_output=2)([x1, x2])
    out = Dense(1)(w)
    return Model([inp1, inp2], out, seed=seed)


def fixed_seed_weights(rng):
    return [rng.uniform(-0.2, 0.2, (100, 32)), rng.uniform(-0.1, 0.1, (32,)),
            rng.uniform(-0.2, 0.2, (100, 32)), rng.uniform(-0.1, 0.1, (32,)),
            rng.uniform(0, 1, (1, 1, 2)), rng.uniform(-0.3, 0.3, (32, 1)), rng.uniform(-0.1, 0.1, (1,))]


def seed_data(seed):
    """Fixed seed-network weights and 64 rows of inputs and targets."""
    rng = np.random.default_rng(seed)
    ws = fixed_seed_weights(rng)
    x1 = rng.uniform(0, 1, (64, 100)).astype(np.float32)
    x2 = rng.uniform(0, 1, (64, 100)).astype(np.float32)
    y = rng.uniform(0, 1, (64, 1)).astype(np.float32)
    return ws, x1, x2, y


def torch_seed(ws, x1, x2, p=None):
    """The seed network in PyTorch (float64) from Keras-layout weights (or
    from the tensors p, which then keep their gradients)."""
    if p is None:
        p = [torch.tensor(np.asarray(w, dtype=np.float32).astype(np.float64), requires_grad=True) for w in ws]
    a = torch.relu(torch.tensor(x1, dtype=torch.float64) @ p[0] + p[1])
    b = torch.relu(torch.tensor(x2, dtype=torch.float64) @ p[2] + p[3])
    s = torch.softmax(p[4].reshape(-1), dim=0)
    h = s[0] * a + s[1] * b
    return h @ p[5] + p[6], p


@needs_torch
def test_seed_network_matches_pytorch_forward_loss_and_adam_step():
    ws, x1, x2, y = seed_data(1)
    m = seed_model()
    m.compile('adam', 'mse')
    m.set_weights(ws)
    out_t, p = torch_seed(ws, x1, x2)
    np.testing.assert_allclose(m.predict([x1, x2]), out_t.detach().numpy(), rtol=0, atol=1e-5)
    loss_t = torch.mean((out_t - torch.tensor(y, dtype=torch.float64)) ** 2)
    assert abs(m.evaluate([x1, x2], y) - loss_t.item()) < 1e-5
    # one Keras-3 Adam step on the whole batch
    loss_t.backward()
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    alpha = lr * math.sqrt(1 - b2) / (1 - b1)
    want = []
    for t in p:
        g = t.grad.numpy()
        mm, vv = (1 - b1) * g, (1 - b2) * g * g
        want.append(t.detach().numpy() - alpha * mm / (np.sqrt(vv) + eps))
    h = m.fit([x1, x2], y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    assert abs(h.history["loss"][0] - loss_t.item()) < 1e-5
    for got, exp in zip(m.get_weights(), want):
        assert got.shape == exp.shape
        np.testing.assert_allclose(got, exp, rtol=0, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("case", ["adamw", "clipnorm", "global_clipnorm", "clipvalue"])
def test_weight_decay_and_clips_match_pytorch(case, tmp_path):
    """Keras 3's AdamW and gradient clips against PyTorch, 3 full-batch
    steps of the seed network: AdamW against torch.optim.AdamW (the same
    decoupled decay, w * (1 - lr wd) before the update; epsilon tiny, where
    the two Adams place it differently); each clip applied by Keras' rule to
    torch's gradients (clipnorm per weight, g c / max(|g|, c)), then SGD."""
    ws, x1, x2, y = seed_data(3)
    m = seed_model()
    lr = 0.01 if case == "adamw" else 0.5
    if case == "adamw":
        opt = latefuse.optimizers.AdamW(lr, weight_decay=0.05, epsilon=1e-12)
    else:
        opt = latefuse.optimizers.SGD(lr, **{case: {"clipnorm": 0.05, "global_clipnorm": 0.05,
                                                    "clipvalue": 0.01}[case]})
    m.compile(opt, 'mse')
    m.set_weights(ws)
    p = [torch.tensor(np.asarray(w, dtype=np.float32).astype(np.float64), requires_grad=True) for w in ws]
    topt = torch.optim.AdamW(p, lr=lr, weight_decay=0.05, eps=1e-12) if case == "adamw" else None
    clipped = 0
    for _ in range(3):
        out_t, _ = torch_seed(None, x1, x2, p)
        loss = torch.mean((out_t - torch.tensor(y, dtype=torch.float64)) ** 2)
        for t in p:
            t.grad = None
        loss.backward()
        if topt is not None:
            topt.step()
            continue
        gs = [t.grad.clone() for t in p]
        if case == "clipnorm":
            clipped += sum(float(g.norm()) > 0.05 for g in gs)
            gs = [g * 0.05 / max(float(g.norm()), 0.05) for g in gs]
        elif case == "global_clipnorm":
            total = math.sqrt(sum(float(g.norm()) ** 2 for g in gs))
            clipped += total > 0.05
            gs = [g * 0.05 * min(1 / total, 1 / 0.05) for g in gs]
        else:
            clipped += sum(int((g.abs() > 0.01).sum()) for g in gs)
            gs = [g.clamp(-0.01, 0.01) for g in gs]
        with torch.no_grad():
            for t, g in zip(p, gs):
                t -= lr * g
    if case != "adamw":
        assert clipped > 0  # the clip acted
    m.fit([x1, x2], y, epochs=3, batch_size=64, shuffle=False, verbose=0)
    for got, t in zip(m.get_weights(), p):
        np.testing.assert_allclose(got, t.detach().numpy().reshape(got.shape), rtol=0, atol=2e-5)
    # the settings are saved with the model and loaded back
    m.save(str(tmp_path / "m.lfm"))
    back = latefuse.models.load_model(str(tmp_path / "m.lfm"))
    name = "weight_decay" if case == "adamw" else case
    assert getattr(back.optimizer, name) == pytest.approx(getattr(opt, name))


def test_optimizer_clip_arguments_as_keras():
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set"):
        latefuse.optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="weight_decay must be None or a finite float >= 0"):
        latefuse.optimizers.SGD(weight_decay=-1)
    assert latefuse.optimizers.get("adamw").weight_decay == 0.004
    assert repr(latefuse.optimizers.SGD(0.1, clipnorm=1.0)) == \
        "SGD(learning_rate=0.1, momentum=0.0, nesterov=0, clipnorm=1.0)"


@needs_torch
def test_concatenation_head_matches_pytorch():
    rng = np.random.default_rng(2)
    a, b = Input((5,), name="img"), Input((4,), name="txt")
    c = Concatenate()([a, b])
    h = Dense(128, activation='relu')(c)
    h = Dropout(0.2)(h)
    out = Dense(3, activation='softmax')(h)
    m = Model([a, b], out)
    m.compile(latefuse.optimizers.Adam(learning_rate=1e-3), 'categorical_crossentropy', metrics=['accuracy'])
    ws = [rng.normal(0, 0.3, (9, 128)), rng.normal(0, 0.1, (128,)),
          rng.normal(0, 0.3, (128, 3)), rng.normal(0, 0.1, (3,))]
    m.set_weights(ws)
    xa, xb = rng.normal(size=(50, 5)), rng.normal(size=(50, 4))
    y = np.eye(3)[rng.integers(0, 3, 50)]
    t = [torch.tensor(w, dtype=torch.float32).double() for w in ws]
    xc = torch.tensor(np.concatenate([xa, xb], 1).astype(np.float32)).double()
    z = torch.relu(xc @ t[0] + t[1]) @ t[2] + t[3]
    prob = torch.softmax(z, dim=1)
    np.testing.assert_allclose(m.predict([xa, xb]), prob.numpy(), rtol=0, atol=1e-5)
    loss = -(torch.tensor(y) * torch.log_softmax(z, dim=1)).sum(1).mean().item()
    acc = float(np.mean(prob.numpy().argmax(1) == y.argmax(1)))
    got_loss, got_acc = m.evaluate([xa, xb], y)
    assert abs(got_loss - loss) < 1e-5
    assert got_acc == pytest.approx(acc, abs=1e-12)


def test_every_merge_layer_forward():
    rng = np.random.default_rng(3)
    a, b = Input((4,)), Input((4,))
    outs = [Add()([a, b]), Subtract()([a, b]), Multiply()([a, b]), Average()([a, b]),
            Maximum()([a, b]), Minimum()([a, b])]
    xa, xb = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    xa32, xb32 = xa.astype(np.float32), xb.astype(np.float32)
    want = [xa32 + xb32, xa32 - xb32, xa32 * xb32, (xa32 + xb32) / 2, np.maximum(xa32, xb32),
            np.minimum(xa32, xb32)]
    for o, w in zip(outs, want):
        np.testing.assert_allclose(Model([a, b], o).predict([xa, xb]), w, atol=1e-6)
    a2, b2 = Input((4,)), Input((4,))
    d = Model([a2, b2], Dot(axes=1, normalize=True)([a2, b2])).predict([xa, xb])
    cos = (xa * xb).sum(1) / np.linalg.norm(xa, axis=1) / np.linalg.norm(xb, axis=1)
    np.testing.assert_allclose(d[:, 0], cos, atol=1e-5)


def test_class_weighted_average_weights_layout():
    a, b = Input((3,)), Input((3,))
    cw = ClassWeightedAverage(name="cw")([a, b])
    m = Model([a, b], cw)
    W = np.array([[[0.0, 1.0], [2.0, 0.0], [0.5, 0.5]]])  # (1, classes, inputs)
    m.get_layer("cw").set_weights([W])
    np.testing.assert_allclose(m.get_layer("cw").get_weights()[0], W)
    xa, xb = np.ones((2, 3)), np.zeros((2, 3))
    share_a = latefuse.softmax(W)[0, :, 0]
    np.testing.assert_allclose(m.predict([xa, xb]), np.tile(share_a, (2, 1)), atol=1e-6)


def test_history_summary_layers_and_weights_layout(capsys):
    m = seed_model()
    m.compile('adam', 'mse')
    rng = np.random.default_rng(4)
    X1, X2, y = rng.uniform(0, 1, (200, 100)), rng.uniform(0, 1, (200, 100)), rng.uniform(0, 1, (200, 1))
    h = m.fit([X1, X2], y, epochs=3, validation_split=0.25, verbose=0)
    assert sorted(h.history) == ["loss", "val_loss"]
    assert len(h.history["loss"]) == 3 and h.epoch == [0, 1, 2]
    assert [w.shape for w in m.get_weights()] == [(100, 32), (32,), (100, 32), (32,), (1, 1, 2), (32, 1), (1,)]
    assert [ly.name for ly in m.layers] == ["input", "input_1", "dense", "dense_1", "weighted_average", "dense_2"]
    assert m.count_params() == 2 * (100 * 32 + 32) + 2 + 33
    k = m.get_layer("dense_2").get_weights()
    assert k[0].shape == (32, 1) and k[1].shape == (1,)
    m.summary()
    text = capsys.readouterr().out
    assert "weighted_average (WeightedAverage)" in text and "Total params: 6499" in text
    sw = latefuse.softmax(m.get_weights()[-3])
    assert sw.shape == (1, 1, 2) and abs(sw.sum() - 1) < 1e-6
    assert np.allclose(latefuse.nn.softmax(m.get_weights()[-3]).numpy(), sw)


def test_predict_before_compile_then_compile_keeps_weights(tmp_path):
    m = seed_model(seed=7)
    x = [np.full((2, 100), 0.5), np.full((2, 100), 0.25)]
    p0 = m.predict(x)
    m.compile(latefuse.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True), 'mae')
    np.testing.assert_array_equal(m.predict(x), p0)
    m.compile('rmsprop', 'mse')  # compiling again rebuilds in C, same weights
    np.testing.assert_array_equal(m.predict(x), p0)
    # an uncompiled model saves without a loss and loads uncompiled
    u = seed_model(seed=7)
    u.save(tmp_path / "u.lf")
    v = latefuse.load_model(tmp_path / "u.lf")
    np.testing.assert_array_equal(v.predict(x), p0)
    with pytest.raises(RuntimeError, match="compile"):
        v.fit(x, np.zeros((2, 1)))


def test_save_load_round_trip_is_bit_identical(tmp_path):
    m = seed_model(seed=3)
    m.compile('adam', 'mse')
    rng = np.random.default_rng(5)
    X = [rng.uniform(0, 1, (100, 100)) for _ in range(2)]
    y = rng.uniform(0, 1, (100, 1))
    m.fit(X, y, epochs=2, verbose=0)
    path = tmp_path / "seed.lf"
    m.save(str(path))
    m2 = latefuse.load_model(path)
    np.testing.assert_array_equal(m2.predict(X), m.predict(X))
    assert [ly.name for ly in m2.layers] == [ly.name for ly in m.layers]
    for a, b in zip(m2.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert m2.loss == "mse" and isinstance(m2.optimizer, latefuse.optimizers.Adam)
    # training continues identically from the saved optimizer state
    h1 = m.fit(X, y, epochs=1, verbose=0, seed=9)
    h2 = m2.fit(X, y, epochs=1, verbose=0, seed=9)
    assert h1.history["loss"] == h2.history["loss"]


def test_fit_is_deterministic_and_early_stopping_restores():
    rng = np.random.default_rng(6)
    X = [rng.uniform(0, 1, (120, 100)) for _ in range(2)]
    y = rng.uniform(0, 1, (120, 1))
    hs = []
    for _ in range(2):
        m = seed_model(seed=11)
        m.compile('adam', 'mse')
        hs.append(m.fit(X, y, epochs=3, batch_size=16, verbose=0, seed=4).history["loss"])
    assert hs[0] == hs[1]
    m = seed_model(seed=1)
    m.compile(latefuse.optimizers.SGD(learning_rate=2.0), 'mse')  # too large: val_loss worsens
    es = EarlyStopping(monitor='val_loss', patience=2, restore_best_weights=True)
    h = m.fit(X, y, epochs=50, validation_data=(X, y), callbacks=[es], verbose=0)
    assert h.stopped_early and len(h.history["loss"]) < 50
    best = min(h.history["val_loss"])
    assert h.history["val_loss"][h.best_epoch] == best
    assert m.evaluate(X, y) == pytest.approx(best, rel=1e-4)


def test_fit_called_again_draws_new_dropout_masks(tmp_path):
    # Keras' loop of fit(epochs=1): each call drops other units (its seed
    # generator goes on); a model saved and loaded draws what the saved one
    # would.  x -> Dropout(0.5) -> Dense(1, no bias), plain SGD, one row of
    # ones: a step moves exactly the kernel weights of the kept units.
    def model():
        a = Input((8,))
        m = Model(a, Dense(1, use_bias=False)(Dropout(0.5)(a)), seed=2)
        m.compile(latefuse.optimizers.SGD(0.01), 'mse')
        return m

    x, t = np.ones((1, 8), np.float32), np.zeros((1, 1), np.float32)

    def moved(m):
        w = m.get_weights()[0].copy()
        m.fit(x, t, epochs=1, batch_size=1, verbose=0)
        return tuple((m.get_weights()[0] != w).ravel())

    m = model()
    masks = [moved(m) for _ in range(3)]
    assert len(set(masks)) > 1, "every fit call dropped the same units"
    r = model()
    moved(r)
    r.save(tmp_path / "r.lf")
    assert moved(latefuse.load_model(tmp_path / "r.lf")) == masks[1]


def test_classification_metrics_class_weight_sparse_and_l2():
    rng = np.random.default_rng(8)
    a = Input((6,))
    h = Dense(16, activation='tanh', kernel_regularizer=latefuse.regularizers.l2(0.01))(a)
    out = Dense(3, activation='softmax')(h)
    m = Model(a, out)
    m.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])
    x = rng.normal(size=(90, 6))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    hist = m.fit(x, y, epochs=4, verbose=0, validation_split=0.2, class_weight={0: 1.0, 1: 2.0})
    assert sorted(hist.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    loss, acc = m.evaluate(x, y)
    assert 0.0 <= acc <= 1.0 and loss > 0
    assert m.evaluate(x, y, return_dict=True) == {"loss": loss, "accuracy": acc}
    # the L2 penalty is part of evaluate's loss
    k = m.get_layer("dense").get_weights()[0]
    assert m.evaluate(x, y)[0] >= 0.01 * float((k.astype(np.float64) ** 2).sum()) - 1e-6


def test_use_ema_ends_fit_with_the_moving_average(tmp_path):
    """Keras' use_ema: the weights after fit are avg = m avg + (1 - m) w over
    the steps (m = 0 on the first), which a model without it, fitted one
    batch at a time, shows step by step; the setting is saved with the model."""
    rng = np.random.default_rng(8)
    X = [rng.uniform(0, 1, (64, 100)) for _ in range(2)]
    y = rng.uniform(0, 1, (64, 1))
    a, b = seed_model(seed=2), seed_model(seed=2)
    a.compile(latefuse.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.8), 'mse')
    b.compile(latefuse.optimizers.Adam(0.01), 'mse')
    avg = None
    for s in range(8):  # 2 epochs of 4 batches of 16, in order
        r = slice((s % 4) * 16, (s % 4) * 16 + 16)
        b.fit([X[0][r], X[1][r]], y[r], batch_size=16, epochs=1, shuffle=False, verbose=0)
        w = b.get_weights()
        avg = w if avg is None else [np.float32(0.8) * p + np.float32(0.2) * q for p, q in zip(avg, w)]
    a.fit(X, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for p, q in zip(a.get_weights(), avg):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
    assert not np.allclose(a.get_weights()[0], b.get_weights()[0])
    path = tmp_path / "ema.lf"
    a.save(str(path))
    o = latefuse.load_model(path).optimizer
    assert o.use_ema and o.ema_momentum == pytest.approx(0.8)
    with pytest.raises(ValueError, match="ema_momentum"):
        latefuse.optimizers.SGD(use_ema=True, ema_momentum=1.0)


_FIT_CHILD = r"""
import os, signal, sys, threading, time
import numpy as np
import latefuse
from latefuse.callbacks import Callback
from latefuse.layers import Dense, Input

class Ends(Callback):  # a Python callback runs at each epoch's end, on the fit's thread
    def on_epoch_end(self, epoch, logs=None):
        print("epoch", epoch, flush=True)

signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's Python (a background job ignores SIGINT)
rng = np.random.default_rng(0)
x = rng.standard_normal((4000, 64)).astype(np.float32)
y = rng.integers(0, 10, 4000)
inp = Input((64,))
m = latefuse.Model(inp, Dense(10, activation="softmax")(Dense(256, activation="relu")(inp)), seed=1)
m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
w0 = [w.copy() for w in m.get_weights()]
sent = []
def fire():
    time.sleep(float(sys.argv[1]))  # well inside the fit: 2000 epochs take about 7 s
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=fire).start()
t0 = time.monotonic()
try:
    m.fit(x, y, epochs=2000, batch_size=32, verbose=0, callbacks=[Ends()])
    print("finished %.3f" % (time.monotonic() - t0))
except KeyboardInterrupt:
    print("interrupted %.3f" % (time.monotonic() - sent[0]))
print("changed", any(not np.array_equal(a, b) for a, b in zip(w0, m.get_weights())))
h = m.fit(x[:64], y[:64], epochs=1, batch_size=32, verbose=0)  # the model trains on
print("refit", len(h.history["loss"]))
"""


def test_ctrl_c_stops_fit_within_a_step(tmp_path):
    # lf_fit_options.cancel: Ctrl-C 1 s into a fit of about 7 s raises
    # KeyboardInterrupt before the next step, the weights those of the steps
    # done, and the model trains on afterwards
    import os, subprocess, sys
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([os.path.join(os.path.dirname(here)), here]))
    r = subprocess.run([sys.executable, "-c", _FIT_CHILD, "1.0"], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [ln for ln in r.stdout.splitlines() if not ln.startswith("epoch ")]
    assert lines[0].startswith("interrupted "), r.stdout[-2000:]
    assert float(lines[0].split()[1]) < 0.5, "Ctrl-C took %s s to stop the fit" % lines[0].split()[1]
    assert lines[1:] == ["changed True", "refit 1"], r.stdout[-2000:]
    assert "epoch 0" in r.stdout  # the callback ran (on the fit's thread)


def _keras_rule(name, cfg, p, g, s, t):
    """One step of Keras 3's rule (keras/src/optimizers/<name>.py) in
    float64 on the weight p with gradient g, its state in the dict s, t the
    step from 1 (Nadam's product of u kept in s, as Keras keeps it)."""
    lr, eps = cfg["learning_rate"], cfg.get("epsilon", 0.0)
    b1, b2, rho = cfg.get("beta_1"), cfg.get("beta_2"), cfg.get("rho")
    if not s:
        s.update(m=np.zeros_like(p), v=np.zeros_like(p), x=np.zeros_like(p), up=1.0)
        if name == "adagrad":
            s["v"][:] = np.float32(cfg["initial_accumulator_value"])
    m, v, x = s["m"], s["v"], s["x"]
    if name == "adam":
        m += (g - m) * (1 - b1); v += (g * g - v) * (1 - b2)
        x[:] = np.maximum(x, v)
        return p - m * (lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)) / (np.sqrt(x if cfg["amsgrad"] else v) + eps)
    if name == "rmsprop":
        v[:] = rho * v + (1 - rho) * g * g
        x[:] = rho * x + (1 - rho) * g
        inc = lr * g / np.sqrt(v - x * x + eps if cfg["centered"] else v + eps)
        m[:] = cfg["momentum"] * m + inc
        return p - (m if cfg["momentum"] > 0 else inc)
    if name == "adagrad":
        v += g * g
        return p - lr * g / np.sqrt(v + eps)
    if name == "adamax":
        m += (g - m) * (1 - b1); v[:] = np.maximum(b2 * v, np.abs(g))
        return p - lr * m / ((1 - b1 ** t) * (v + eps))
    if name == "nadam":
        u_t, u_t1 = b1 * (1 - 0.5 * 0.96 ** t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
        s["up"] *= u_t
        m += (g - m) * (1 - b1); v += (g * g - v) * (1 - b2)
        m_hat = u_t1 * m / (1 - s["up"] * u_t1) + (1 - u_t) * g / (1 - s["up"])
        return p - m_hat * lr / (np.sqrt(v / (1 - b2 ** t)) + eps)
    if name == "adadelta":
        v[:] = rho * v + (1 - rho) * g * g
        d = -(np.sqrt(m + eps) * g / np.sqrt(v + eps))
        m[:] = rho * m + (1 - rho) * d * d
        return p + lr * d
    assert name == "lion"
    c = m * b1 + g * (1 - b1)
    m[:] = m * b2 + g * (1 - b2)
    return p - lr * np.sign(c)


# (name, latefuse optimizer's arguments, torch.optim's where its rule is
# Keras' (epsilon tiny where the two place it differently), None where not)
_KERAS_OPTIMIZERS = [
    ("adam", dict(learning_rate=0.01, beta_2=0.5, amsgrad=True, epsilon=1e-12),
     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.5), amsgrad=True, eps=1e-12)),
    # Keras' epsilon inside the root, torch's outside: both tiny (a gradient of
    # 1e-9 with 1e-12 inside the root steps 3000 times less than outside)
    ("rmsprop", dict(learning_rate=0.01, centered=True, momentum=0.9, epsilon=1e-30),
     lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, centered=True, momentum=0.9, eps=1e-15)),
    ("rmsprop", dict(learning_rate=0.01, centered=True), None),  # epsilon 1e-7 inside the root
    # torch's accumulator starts at 0 unless told: Keras' 0.1 given
    ("adagrad", dict(learning_rate=0.05, epsilon=1e-12),
     lambda p: torch.optim.Adagrad(p, lr=0.05, initial_accumulator_value=0.1, eps=1e-12)),
    ("adagrad", dict(learning_rate=0.05), None),
    ("adamax", dict(learning_rate=0.01, epsilon=1e-12),
     lambda p: torch.optim.Adamax(p, lr=0.01, eps=1e-12)),
    # torch's schedule is 0.96^(t momentum_decay), 0.004 by default: Keras'
    # is momentum_decay=1; torch 1.13 also multiplies the product by mu twice
    # (mu_product * mu * mu_next), torch 2 as Keras: not compared
    ("nadam", dict(learning_rate=0.01, epsilon=1e-12), None),
    ("adadelta", dict(learning_rate=1.0, epsilon=1e-7),
     lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7)),
    ("lion", dict(learning_rate=0.001), None),  # not in torch.optim
]


@needs_torch
@pytest.mark.parametrize("case", range(len(_KERAS_OPTIMIZERS)))
def test_keras_optimizers_match_keras_rule_and_pytorch(case, tmp_path):
    """Adam(amsgrad), RMSprop(centered), Adagrad, Adamax, Nadam, Adadelta and
    Lion: 4 full-batch steps of the seed network against Keras 3's rule in
    float64 on torch's gradients and, where its rule is Keras', against
    torch.optim; saved with its state after 2 steps and loaded, 2 more steps
    bit for bit the uninterrupted model's"""
    name, kw, torch_opt = _KERAS_OPTIMIZERS[case]
    ws, x1, x2, y = seed_data(5)
    opt = latefuse.optimizers.get(name).from_config(dict(latefuse.optimizers.get(name).get_config(), **kw))
    cfg = opt.get_config()
    m = seed_model()
    m.compile(opt, 'mse')
    m.set_weights(ws)
    p = [torch.tensor(np.asarray(w, dtype=np.float32).astype(np.float64), requires_grad=True) for w in ws]
    q = [t.detach().clone().requires_grad_(True) for t in p]
    topt = torch_opt(q) if torch_opt else None
    states = [{} for _ in p]
    for t in range(1, 5):
        for params in ([p, q] if topt else [p]):
            out_t, _ = torch_seed(None, x1, x2, params)
            loss = torch.mean((out_t - torch.tensor(y, dtype=torch.float64)) ** 2)
            for w in params:
                w.grad = None
            loss.backward()
        with torch.no_grad():
            for w, s in zip(p, states):
                w.copy_(torch.from_numpy(_keras_rule(name, cfg, w.numpy(), w.grad.numpy(), s, t)))
        if topt:
            topt.step()
    if name == "adam":  # amsgrad acted: v_hat above v somewhere
        assert any((s["x"] > s["v"] * 1.01).any() for s in states)
    m.fit([x1, x2], y, epochs=2, batch_size=64, shuffle=False, verbose=0)
    m.save(str(tmp_path / "m.lfm"))
    back = latefuse.models.load_model(str(tmp_path / "m.lfm"))
    got = back.optimizer.get_config()
    assert type(back.optimizer) is type(opt) and got.keys() == cfg.keys()
    assert all(got[k] == (pytest.approx(v, rel=1e-6) if isinstance(v, float) else v) for k, v in cfg.items())
    m.fit([x1, x2], y, epochs=2, batch_size=64, shuffle=False, verbose=0)
    back.fit([x1, x2], y, epochs=2, batch_size=64, shuffle=False, verbose=0)
    for got, again, want in zip(m.get_weights(), back.get_weights(), p):
        np.testing.assert_array_equal(got, again)  # resumed: bit for bit
        np.testing.assert_allclose(got, want.detach().numpy().reshape(got.shape), rtol=0, atol=2e-5)
    if topt:
        for want, tq in zip(p, q):
            np.testing.assert_allclose(want.detach().numpy(), tq.detach().numpy(), rtol=0, atol=1e-7)


def test_keras_optimizer_arguments_and_config():
    O = latefuse.optimizers
    with pytest.raises(ValueError, match=r"^Argument `beta_1` must be in the \[0, 1\] range\. Otherwise, the "
                                         r"optimizer degenerates to SignSGD\. Received: beta_1=0\.$"):
        O.Lion(beta_1=0)
    with pytest.raises(ValueError, match=r"^initial_accumulator_value must be a finite float >= 0, got -1$"):
        O.Adagrad(initial_accumulator_value=-1)
    # Keras' defaults
    assert O.Adadelta().get_config()["rho"] == 0.95 and O.Adadelta().learning_rate == 1e-3
    assert O.Lion().beta_2 == 0.99 and O.Adagrad().initial_accumulator_value == 0.1
    assert O.Adam().amsgrad is False and O.RMSprop().centered is False
    for n in ("adagrad", "adamax", "nadam", "adadelta", "lion", "Nadam"):
        assert type(O.get(n)).__name__.lower() == n.lower()
    # a Keras config (name, and Keras' arguments left at None) loads
    keras_cfg = {"name": "adam", "learning_rate": 0.002, "weight_decay": None, "clipnorm": None,
                 "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                 "ema_overwrite_frequency": None, "loss_scale_factor": None, "gradient_accumulation_steps": None,
                 "beta_1": 0.8, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": True}
    a = O.Adam.from_config(keras_cfg)
    assert a.amsgrad and a.beta_1 == 0.8 and a.learning_rate == 0.002
    with pytest.raises(ValueError, match="loss_scale_factor=2.0 is not supported"):
        O.Adam.from_config(dict(keras_cfg, loss_scale_factor=2.0))
    # the C library refuses what Python lets through to it, with its message
    m = seed_model()
    with pytest.raises(Exception, match=r"lion's beta_1 in \(0, 1\]"):
        m.compile(O.Lion(beta_1=1.0, beta_2=1.5), 'mse')


def test_a_python_shape_the_engine_disagrees_with_is_an_error():
    # Python sizes predict's and the eager calls' arrays by its own shapes:
    # a layer whose Python shape is wrong must raise, not write past them
    class WrongDense(Dense):
        def _call(self, x):
            t = super()._call(x)
            t.sample_shape = (self.units + 1,)
            return t

    x = Input((3,))
    with pytest.raises(latefuse.LatefuseError, match=r"internal error: layer 'wrong' \(WrongDense\): the engine's "
                                                     r"output shape \(None, 2\) differs from Python's \(None, 3\)"):
        Model(x, WrongDense(2, name="wrong")(x)).predict(np.zeros((4, 3), np.float32), verbose=0)
