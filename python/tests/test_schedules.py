"""keras.optimizers.schedules in latefuse: each schedule's rate against
Keras 3's formulas in float32 numpy (keras/src/optimizers/schedules/
learning_rate_schedule.py, written out here from its __call__ methods);
a fit under a schedule against train_on_batch at those rates;
optimizer.learning_rate's Keras behaviour; save/load and get_config."""
import math

import numpy as np
import pytest

import latefuse
import latefuse.optimizers as optimizers
from latefuse.layers import Dense, Input
from latefuse.models import Model, load_model
from latefuse.optimizers import SGD, Adam
from latefuse.optimizers.schedules import (CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay,
                                           LearningRateSchedule, PiecewiseConstantDecay, PolynomialDecay)

f32 = np.float32


def keras_rate(name, cfg, step):
    """Keras 3's __call__ of each schedule, in float32 as its ops"""
    t, lr = f32(step), f32(cfg.get("initial_learning_rate", 0))
    if name == "ExponentialDecay":
        p = t / f32(cfg["decay_steps"])
        p = np.floor(p) if cfg["staircase"] else p
        return lr * np.power(f32(cfg["decay_rate"]), p)
    if name == "InverseTimeDecay":
        p = t / f32(cfg["decay_steps"])
        p = np.floor(p) if cfg["staircase"] else p
        return lr / (f32(1) + f32(cfg["decay_rate"]) * p)
    if name == "PolynomialDecay":
        d, end = f32(cfg["decay_steps"]), f32(cfg["end_learning_rate"])
        if cfg["cycle"]:
            d = d * (f32(1) if t == 0 else np.ceil(t / d))
        else:
            t = min(t, d)
        return (lr - end) * np.power(f32(1) - t / d, f32(cfg["power"])) + end
    if name == "CosineDecay":
        d, alpha = f32(cfg["decay_steps"]), f32(cfg["alpha"])

        def decay(s, peak):
            c = f32(0.5) * (f32(1) + np.cos(f32(math.pi) * (s / d)))
            return peak * ((f32(1) - alpha) * c + alpha)

        if cfg["warmup_target"] is None:
            return decay(min(t, d), lr)
        target, ws = f32(cfg["warmup_target"]), f32(cfg["warmup_steps"])
        t = min(t, d + ws)
        return (target - lr) * (t / ws) + lr if t < ws else decay(t - ws, target)
    if name == "CosineDecayRestarts":
        f = t / f32(cfg["first_decay_steps"])
        tm, mm, alpha = f32(cfg["t_mul"]), f32(cfg["m_mul"]), f32(cfg["alpha"])
        if tm == 1:
            i = np.floor(f)
            f = f - i
        else:
            i = np.floor(np.log(f32(1) - f * (f32(1) - tm)) / np.log(tm))
            f = (f - (f32(1) - np.power(tm, i)) / (f32(1) - tm)) / np.power(tm, i)
        c = f32(0.5) * np.power(mm, i) * (f32(1) + np.cos(f32(math.pi) * f))
        return lr * ((f32(1) - alpha) * c + alpha)
    b, v = cfg["boundaries"], cfg["values"]
    return f32(v[0] if t <= b[0] else v[-1] if t > b[-1] else
               next(v[k + 1] for k in range(len(b) - 1) if b[k] < t <= b[k + 1]))


SCHEDULES = [ExponentialDecay(0.1, 7, 0.6), ExponentialDecay(0.1, 7, 0.6, staircase=True),
             InverseTimeDecay(0.5, 5, 0.3), InverseTimeDecay(0.5, 5, 0.3, staircase=True),
             PolynomialDecay(0.2, 30), PolynomialDecay(0.2, 30, end_learning_rate=0.01, power=0.5, cycle=True),
             CosineDecay(0.1, 40), CosineDecay(0.1, 40, alpha=0.2),
             CosineDecay(0.0, 40, warmup_target=0.3, warmup_steps=10),
             CosineDecay(0.05, 40, alpha=0.1, warmup_target=0.3, warmup_steps=10),
             CosineDecayRestarts(0.3, 10), CosineDecayRestarts(0.3, 10, t_mul=1.5, m_mul=0.7, alpha=0.05),
             CosineDecayRestarts(0.3, 10, t_mul=1.0),
             PiecewiseConstantDecay([10, 25, 60], [0.3, 0.1, 0.03, 0.01])]


@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: repr(s)[:60])
def test_rates_match_keras_formulas(sched):
    # Keras computes in float32: near a cosine's end 1 + cos(x) cancels, its
    # error there a few float32 ulps of the peak rate (latefuse's, in
    # double, is below)
    name, cfg = type(sched).__name__, sched.get_config()
    peak = max(cfg.get("initial_learning_rate", 0), cfg.get("warmup_target") or 0, max(cfg.get("values", [0])))
    for step in list(range(0, 80)) + [137, 1000]:
        want = float(keras_rate(name, cfg, step))
        assert sched(step) == pytest.approx(want, rel=2e-6, abs=4e-7 * peak), (name, step)


def regression():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]])).astype(np.float32)
    inp = Input((3,))
    return Model(inp, Dense(1)(Dense(8, activation="tanh")(inp)), seed=4), x, y


def test_fit_under_a_schedule_is_train_on_batch_at_its_rates(tmp_path):
    sched = CosineDecay(0.001, 8, warmup_target=0.05, warmup_steps=3)
    m, x, y = regression()
    m.compile(Adam(learning_rate=sched), "mse")
    w0 = m.get_weights()
    m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert m.optimizer.iterations == 10
    assert m.optimizer.learning_rate == sched(10)
    ref, _, _ = regression()
    ref.set_weights(w0)
    ref.compile(Adam(learning_rate=0.01), "mse")
    for t in range(10):
        ref.optimizer.learning_rate = sched(t)
        a = (t % 5) * 8
        ref.train_on_batch(x[a:a + 8], y[a:a + 8])
    for got, want in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(got, want)
    # the file keeps the schedule and the step count: a resumed fit goes on
    path = str(tmp_path / "s.lf")
    m.save(path)
    back = load_model(path)
    assert isinstance(back.optimizer.learning_rate, float) and back.optimizer.iterations == 10
    assert back.optimizer._schedule.get_config() == pytest.approx(sched.get_config())
    m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    back.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for got, want in zip(back.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_learning_rate_not_settable_and_configs():
    opt = SGD(learning_rate=ExponentialDecay(0.1, 10, 0.5))
    assert opt.learning_rate == pytest.approx(0.1)
    with pytest.raises(TypeError, match="created with a `LearningRateSchedule` object"):
        opt.learning_rate = 0.01
    cfg = opt.get_config()
    assert cfg["learning_rate"]["class_name"] == "ExponentialDecay"
    assert cfg["learning_rate"]["config"]["decay_rate"] == 0.5
    again = SGD.from_config(cfg)
    assert again._schedule.get_config() == opt._schedule.get_config()
    assert latefuse.optimizers.schedules.PolynomialDecay is PolynomialDecay
    with pytest.raises(ValueError, match="The length of boundaries should be 1 less than the length of values"):
        PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="decay_steps must be finite and > 0"):
        ExponentialDecay(0.1, 0, 0.5)


class StepSchedule(LearningRateSchedule):
    """A schedule of one's own, as Keras' docs write one
    (keras/src/optimizers/schedules/learning_rate_schedule.py,
    LearningRateSchedule's docstring): a step function of the step, 0 at
    first (a warm-up's start, as the Transformer schedule's step 0)."""

    def __init__(self, rates, every):
        self.rates, self.every = list(rates), int(every)

    def __call__(self, step):
        return self.rates[min(int(step) // self.every, len(self.rates) - 1)]

    def get_config(self):
        return {"rates": self.rates, "every": self.every}


def test_a_schedule_of_ones_own_is_train_on_batch_at_its_rates():
    # Keras' optimizer takes rate schedule(iterations) at each step
    # (keras/src/optimizers/base_optimizer.py _get_current_learning_rate)
    sched = StepSchedule([0.02, 0.05, 0.01], 3)
    m, x, y = regression()
    w0 = m.get_weights()
    m.compile(Adam(learning_rate=sched), "mse")
    assert m.optimizer.learning_rate == 0.02
    m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert m.optimizer.iterations == 10 and m.optimizer.learning_rate == 0.01
    ref, _, _ = regression()
    ref.set_weights(w0)
    ref.compile(Adam(learning_rate=0.5), "mse")
    for t in range(10):
        ref.optimizer.learning_rate = sched(t)
        a = (t % 5) * 8
        ref.train_on_batch(x[a:a + 8], y[a:a + 8])
    for got, want in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(got, want)
    # train_on_batch under it: the same steps
    tob, _, _ = regression()
    tob.set_weights(w0)
    tob.compile(Adam(learning_rate=StepSchedule([0.02, 0.05, 0.01], 3)), "mse")
    for t in range(10):
        a = (t % 5) * 8
        tob.train_on_batch(x[a:a + 8], y[a:a + 8])
    for got, want in zip(tob.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(got, want)
    # a rate of 0 (a warm-up's start; Keras takes it): the steps move no
    # weight, the count goes on; then the schedule's next rates
    z, _, _ = regression()
    z.compile(Adam(learning_rate=StepSchedule([0.0, 0.05], 3)), "mse")
    assert z.optimizer.learning_rate == 0.0
    z.fit(x, y, epochs=1, batch_size=8, steps_per_epoch=3, shuffle=False, verbose=0)
    assert z.optimizer.iterations == 3 and z.optimizer.learning_rate == 0.05
    for got, want in zip(z.get_weights(), w0):
        np.testing.assert_array_equal(got, want)
    z.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert not np.array_equal(z.get_weights()[0], w0[0])


def test_a_schedule_of_ones_own_configs_and_errors():
    opt = SGD(learning_rate=StepSchedule([0.1, 0.01], 5))
    cfg = opt.get_config()
    assert cfg["learning_rate"] == {"module": __name__, "class_name": "StepSchedule",
                                    "config": {"rates": [0.1, 0.01], "every": 5}, "registered_name": "StepSchedule"}
    again = SGD.from_config(cfg, custom_objects={"StepSchedule": StepSchedule})
    assert isinstance(again._schedule, StepSchedule) and again._schedule.get_config() == cfg["learning_rate"]["config"]
    assert again.learning_rate == 0.1
    with pytest.raises(ValueError, match="unknown learning rate schedule 'StepSchedule'.*custom_objects"):
        SGD.from_config(cfg)
    # a rate that is not a finite number >= 0: fit stops before that step
    # with the schedule's name and step, the weights those of the steps done
    for bad, shown in ((float("nan"), "nan"), (-0.5, "-0.5"), ("fast", "'fast'"), (None, "None")):
        m, x, y = regression()
        m.compile(SGD(learning_rate=StepSchedule([0.05, bad], 4)), "mse")
        with pytest.raises(ValueError, match=r"^StepSchedule\(4\) returned %s: a learning rate schedule must return "
                                             r"a finite number >= 0$" % shown.replace("(", "\\(")):
            m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        assert m.optimizer.iterations == 4
        with pytest.raises(ValueError, match=r"^StepSchedule\(4\) returned"):
            m.train_on_batch(x[:8], y[:8])
        assert m.optimizer.iterations == 4
    # an exception in the schedule is raised as it is
    class Broken(LearningRateSchedule):
        def __call__(self, step):
            if step == 2:
                raise KeyError("no rate for step 2")
            return 0.01
    m, x, y = regression()
    m.compile(SGD(learning_rate=Broken()), "mse")
    with pytest.raises(KeyError, match="no rate for step 2"):
        m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert m.optimizer.iterations == 2
