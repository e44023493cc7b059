"""
schedules.py — keras.optimizers.schedules: ExponentialDecay,
InverseTimeDecay, PolynomialDecay, CosineDecay (with its warm-up),
CosineDecayRestarts and PiecewiseConstantDecay, with Keras 3's arguments
and defaults (keras/src/optimizers/schedules/learning_rate_schedule.py).

Given to an optimizer as its learning_rate, as in Keras
(`Adam(learning_rate=ExponentialDecay(1e-3, 1000, 0.9))`); the library
computes the rate of every step in C (lf_lr_schedule, latefuse.h), so
fit runs at full speed and the model file keeps the schedule.  Calling a
schedule, schedule(step), gives the rate the library uses at that step
(lf_lr_schedule_rate).  A subclass of LearningRateSchedule of your own
(its __call__(step) and get_config) works as in Keras: the rate of each
step of fit and train_on_batch is schedule(iterations), called in Python
before the step (lf_model_set_rate_fn); a rate that is not a finite
number >= 0 stops the call with an error, the weights those of the steps
done.  The model file does not keep it (Keras needs the class to load one
too): a loaded model trains at a constant rate.  serialize names its
class, deserialize finds it in custom_objects.
Also importable as latefuse.optimizers.schedules.
"""
import ctypes
import math
from typing import Any, Dict, Optional, Sequence

from . import _lib

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PolynomialDecay", "CosineDecay",
           "CosineDecayRestarts", "PiecewiseConstantDecay", "serialize", "deserialize"]


class LearningRateSchedule:
    """keras.optimizers.schedules.LearningRateSchedule: the base class."""

    kind = None  # lf_lr_schedule_kind of the built-in schedules

    def __call__(self, step: int) -> float:
        if self.kind is None:
            raise NotImplementedError("Learning rate schedule '%s' must override `__call__(self, step)`."
                                      % type(self).__name__)
        s = self._struct()
        return float(_lib.lib.lf_lr_schedule_rate(ctypes.byref(s), self._initial(), int(step)))

    def get_config(self) -> Dict[str, Any]:
        raise NotImplementedError("Learning rate schedule '%s' must override `get_config()`." % type(self).__name__)

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "LearningRateSchedule":
        return cls(**config)

    def _initial(self) -> float:
        return self.initial_learning_rate

    def _struct(self):
        s = _lib.lib.lf_lr_schedule_default(self.kind)
        for k, v in self._fields().items():
            setattr(s, k, v)
        return s

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in self.get_config().items()))


def _positive(name: str, v: Any, zero: bool = False) -> float:
    f = float(v)
    if not math.isfinite(f) or f < 0 or (f == 0 and not zero):
        raise ValueError("%s must be finite and %s, got %r" % (name, ">= 0" if zero else "> 0", v))
    return f


class ExponentialDecay(LearningRateSchedule):
    """ExponentialDecay(initial_learning_rate, decay_steps, decay_rate,
    staircase=False, name="ExponentialDecay"): initial_learning_rate *
    decay_rate ** (step / decay_steps) (the exponent floored with
    staircase)."""

    kind = 1
    _rate_may_be_zero = False  # a rate of 0 decays nothing: InverseTimeDecay allows it

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate = _positive("decay_rate", decay_rate, zero=self._rate_may_be_zero)
        self.staircase, self.name = bool(staircase), name

    def _fields(self):
        return {"decay_steps": self.decay_steps, "decay_rate": self.decay_rate, "staircase": int(self.staircase)}

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(ExponentialDecay):
    """InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate,
    staircase=False, name="InverseTimeDecay"): initial_learning_rate / (1 +
    decay_rate * step / decay_steps) (step / decay_steps floored with
    staircase)."""

    kind = 2
    _rate_may_be_zero = True

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)


class PolynomialDecay(LearningRateSchedule):
    """PolynomialDecay(initial_learning_rate, decay_steps,
    end_learning_rate=0.0001, power=1.0, cycle=False,
    name="PolynomialDecay"), as Keras."""

    kind = 3

    def __init__(self, initial_learning_rate: float, decay_steps: float, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.end_learning_rate = _positive("end_learning_rate", end_learning_rate, zero=True)
        self.power = _positive("power", power)
        self.cycle, self.name = bool(cycle), name

    def _fields(self):
        return {"decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": int(self.cycle)}

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


def _alpha(alpha: Any) -> float:
    a = float(alpha)
    if not 0.0 <= a <= 1.0:
        raise ValueError("alpha must be in [0, 1], got %r" % (alpha,))
    return a


class CosineDecay(LearningRateSchedule):
    """CosineDecay(initial_learning_rate, decay_steps, alpha=0.0,
    name="CosineDecay", warmup_target=None, warmup_steps=0), as Keras: with
    warmup_target, a linear warm-up from initial_learning_rate to it over
    warmup_steps, then the cosine decay from warmup_target."""

    kind = 4

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: Optional[float] = None, warmup_steps: float = 0) -> None:
        # 0 only as a warm-up's start (Keras' usual CosineDecay(0.0, ..., warmup_target=...))
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate,
                                               zero=warmup_target is not None)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.alpha, self.name = _alpha(alpha), name
        self.warmup_target = None if warmup_target is None else _positive("warmup_target", warmup_target)
        self.warmup_steps = _positive("warmup_steps", warmup_steps, zero=True)

    def _fields(self):
        f = {"decay_steps": self.decay_steps, "alpha": self.alpha}
        if self.warmup_target is not None:
            f.update(has_warmup=1, warmup_target=self.warmup_target, warmup_steps=self.warmup_steps)
        return f

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """CosineDecayRestarts(initial_learning_rate, first_decay_steps,
    t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"), as Keras (SGDR)."""

    kind = 5

    def __init__(self, initial_learning_rate: float, first_decay_steps: float, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _positive("first_decay_steps", first_decay_steps)
        self._t_mul = _positive("t_mul", t_mul)
        self._m_mul = _positive("m_mul", m_mul, zero=True)
        self.alpha, self.name = _alpha(alpha), name

    def _fields(self):
        return {"decay_steps": self.first_decay_steps, "t_mul": self._t_mul, "m_mul": self._m_mul,
                "alpha": self.alpha}

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """PiecewiseConstantDecay(boundaries, values, name="PiecewiseConstant"):
    values[0] up to step boundaries[0], values[i] for boundaries[i-1] <
    step <= boundaries[i], values[-1] after (at most 32 boundaries,
    increasing; the values > 0)."""

    kind = 6

    def __init__(self, boundaries: Sequence[float], values: Sequence[float], name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. Received: "
                             "boundaries=%r of length %d, and values=%r of length %d."
                             % (boundaries, len(boundaries), values, len(values)))
        if not 1 <= len(boundaries) <= _lib.LR_MAX_BOUNDARIES:
            raise ValueError("PiecewiseConstantDecay: 1 to %d boundaries, got %d"
                             % (_lib.LR_MAX_BOUNDARIES, len(boundaries)))
        b = [float(x) for x in boundaries]
        if any(not math.isfinite(x) or x < 0 for x in b) or any(y <= x for x, y in zip(b, b[1:])):
            raise ValueError("PiecewiseConstantDecay: the boundaries must be finite, >= 0 and increasing, got %r"
                             % (boundaries,))
        self.boundaries = list(boundaries)
        self.values = [_positive("values[%d]" % i, v) for i, v in enumerate(values)]
        self.name = name

    def _initial(self):
        return self.values[0]

    def _fields(self):
        return {"n_boundaries": len(self.boundaries)}

    def _struct(self):
        s = super()._struct()
        for i, x in enumerate(self.boundaries):
            s.boundaries[i] = float(x)
        for i, v in enumerate(self.values):
            s.values[i] = v
        return s

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


_BY_NAME = {c.__name__: c for c in (ExponentialDecay, InverseTimeDecay, PolynomialDecay, CosineDecay,
                                     CosineDecayRestarts, PiecewiseConstantDecay)}


def serialize(schedule: LearningRateSchedule) -> Dict[str, Any]:
    """Keras' serialize_keras_object of a schedule (one of your own: its
    module and class name)."""
    cls = type(schedule)
    if cls.kind is not None:
        return {"module": "keras.optimizers.schedules", "class_name": cls.__name__,
                "config": schedule.get_config(), "registered_name": None}
    return {"module": cls.__module__, "class_name": cls.__name__, "config": schedule.get_config(),
            "registered_name": cls.__name__}


def deserialize(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> LearningRateSchedule:
    """Keras' deserialize of serialize's dict: the built-in schedules, and
    those of your own in custom_objects ({class name: class})."""
    name = config.get("class_name")
    cls = (custom_objects or {}).get(config.get("registered_name") or name) or \
        (custom_objects or {}).get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError("unknown learning rate schedule %r: one of %s, or a class of your own given in "
                         "custom_objects" % (name, ", ".join(sorted(_BY_NAME))))
    return cls.from_config(config.get("config", {}))


def _rate(schedule: LearningRateSchedule, step: int) -> float:
    """A schedule of your own's rate at step (its __call__), checked: a
    finite number >= 0, as the optimizer's step needs."""
    v = schedule(int(step))
    try:
        r = float(v)
    except (TypeError, ValueError):
        r = None
    if r is None or not math.isfinite(r) or r < 0:
        raise ValueError("%s(%d) returned %r: a learning rate schedule must return a finite number >= 0"
                         % (type(schedule).__name__, int(step), v))
    return r


def _from_file(d: Dict[str, Any], learning_rate: float) -> LearningRateSchedule:
    """The schedule of a model file's optimizer ("schedule" object, the
    optimizer's learning_rate being its initial rate)."""
    name, lr = d["name"], learning_rate
    if name == "ExponentialDecay":
        return ExponentialDecay(lr, d["decay_steps"], d["decay_rate"], d["staircase"])
    if name == "InverseTimeDecay":
        return InverseTimeDecay(lr, d["decay_steps"], d["decay_rate"], d["staircase"])
    if name == "PolynomialDecay":
        return PolynomialDecay(lr, d["decay_steps"], d["end_learning_rate"], d["power"], d["cycle"])
    if name == "CosineDecay":
        return CosineDecay(lr, d["decay_steps"], d["alpha"], warmup_target=d.get("warmup_target"),
                           warmup_steps=d.get("warmup_steps", 0))
    if name == "CosineDecayRestarts":
        return CosineDecayRestarts(lr, d["decay_steps"], d["t_mul"], d["m_mul"], d["alpha"])
    return PiecewiseConstantDecay(d["boundaries"], d["values"])
