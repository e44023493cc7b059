"""
optimizers.py — Keras' optimizers as settings for lf_model_compile.

Why a class per optimizer: Keras code passes `optimizer=Adam(learning_rate=
1e-4)` or a string; both become an lf_optimizer (Keras' defaults, see
lf_optimizer_default).  The update itself runs in C.
"""
import math
import sys

from . import _lib
from . import schedules
from .schedules import LearningRateSchedule

# Keras' module path: from latefuse.optimizers.schedules import ExponentialDecay
sys.modules[__name__ + ".schedules"] = schedules

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam", "Adadelta", "Lion",
           "get"]

_CLIPS = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")


class Optimizer:
    """Base: every optimizer also takes Keras' weight_decay=None,
    clipnorm=None, clipvalue=None, global_clipnorm=None (before each update
    the gradients are clipped, then the weights decayed:
    w -= w * weight_decay * learning_rate; at most one clip), use_ema=False
    and ema_momentum=0.99 (fit keeps a moving average of the weights and
    ends with it); see lf_optimizer in latefuse.h."""

    kind = None
    iterations = 0  # Keras' optimizer.iterations: the model's steps, kept up to date by the model

    @property
    def learning_rate(self):
        """Keras' optimizer.learning_rate: readable, and settable (finite,
        > 0) between fits or from a callback during fit (the next step
        uses it, as LearningRateScheduler and ReduceLROnPlateau set it);
        the library keeps it as a float32.  Given a LearningRateSchedule
        (keras.optimizers.schedules), the rate of the next step
        (schedule(iterations)), and not settable, as Keras."""
        sched = getattr(self, "_schedule", None)
        if sched is not None:
            return sched(self.iterations)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule):
            self._schedule, self._learning_rate = value, None
            return
        if getattr(self, "_schedule", None) is not None:
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable. If "
                            "you need the learning rate to be settable, you should instantiate the optimizer "
                            "with a float `learning_rate` argument.")
        self._learning_rate = _lr(value)

    def _clips(self, weight_decay, clipnorm, clipvalue, global_clipnorm):
        """Keras' BaseOptimizer checks: at most one clip; each None or a
        float >= 0 (None and 0 are off)."""
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             "Received: clipnorm=%r, clipvalue=%r, global_clipnorm=%r"
                             % (clipnorm, clipvalue, global_clipnorm))
        for name, v in zip(_CLIPS, (weight_decay, clipnorm, clipvalue, global_clipnorm)):
            f = 0.0 if v is None else float(v)
            if not (f >= 0.0 and math.isfinite(f)):
                raise ValueError("%s must be None or a finite float >= 0, got %r" % (name, v))
            setattr(self, name, v if v is None else f)

    def __setstate__(self, state):
        """pickle: an optimizer pickled before learning_rate became a
        property kept it as the attribute 'learning_rate', which the
        property would hide (the model pickled with it could not fit)"""
        state = dict(state)
        if "learning_rate" in state and "_learning_rate" not in state:
            state["_learning_rate"] = state.pop("learning_rate")
        self.__dict__.update(state)

    def _ema(self, use_ema, ema_momentum):
        self.use_ema = bool(use_ema)
        self.ema_momentum = float(ema_momentum)
        if self.use_ema and not 0.0 <= self.ema_momentum < 1.0:
            raise ValueError("ema_momentum must be in [0, 1), got %r" % (ema_momentum,))

    def _struct(self):
        o = _lib.lib.lf_optimizer_default(self.kind)
        for k, v in self._settings().items():
            setattr(o, k, v)
        sched = getattr(self, "_schedule", None)
        if sched is not None and sched.kind is None:
            # a schedule of your own: the model calls it before each step
            # (lf_model_set_rate_fn, Model._push_learning_rate); the
            # library's own rate, which the model file keeps, is its rate
            # now when that is > 0, else Keras' default 0.001
            r = schedules._rate(sched, self.iterations)
            o.learning_rate = r if r > 0 else 0.001
        elif sched is not None:  # its initial rate, and the schedule the library follows
            o.learning_rate = sched._initial()
            o.schedule = sched._struct()
        o.use_ema = int(getattr(self, "use_ema", False))
        o.ema_momentum = getattr(self, "ema_momentum", 0.99)
        for name in _CLIPS:
            setattr(o, name, getattr(self, name, None) or 0.0)
        return o

    def _settings(self):
        """the lf_optimizer fields of this kind"""
        return dict({"learning_rate": self.learning_rate},
                    **{k: int(v) if isinstance(v, bool) else v for k, v in self._own().items()})

    def _own(self):
        return {k: getattr(self, k) for k in self._keys}

    def get_config(self):
        """Keras' optimizer.get_config(): learning_rate, the class's own
        arguments, weight_decay, the clips, use_ema and ema_momentum (Keras'
        "name" and its arguments that latefuse does not take are left out)."""
        sched = getattr(self, "_schedule", None)  # Keras: the schedule serialized
        cfg = {"learning_rate": self.learning_rate if sched is None else schedules.serialize(sched)}
        cfg.update(self._own())
        cfg.update({k: getattr(self, k, None) for k in ("weight_decay", "clipnorm", "global_clipnorm", "clipvalue")})
        cfg.update({"use_ema": self.use_ema, "ema_momentum": self.ema_momentum})
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The optimizer of get_config()'s dict (a Keras config too: its
        "name", and ema_overwrite_frequency, loss_scale_factor and
        gradient_accumulation_steps when None, are ignored); a schedule of
        your own is found in custom_objects ({class name: class}), as
        Keras'."""
        config = dict(config)
        config.pop("name", None)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        for k in ("ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps"):
            if k in config and config[k] is not None:
                raise ValueError("%s.from_config: %s=%r is not supported (only None)" % (cls.__name__, k, config[k]))
            config.pop(k, None)
        return cls(**config)

    def __repr__(self):
        items = list(self._settings().items())
        if getattr(self, "_schedule", None) is not None:
            items[0] = ("learning_rate", self._schedule)
        items += [(k, getattr(self, k)) for k in _CLIPS if getattr(self, k, None) is not None]
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in items))


def _lr(learning_rate):
    lr = float(learning_rate)
    if not (lr > 0.0 and math.isfinite(lr)):
        raise ValueError("learning_rate must be finite and > 0, got %r" % (learning_rate,))
    return lr


class SGD(Optimizer):
    """SGD(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
    clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
    ema_momentum=0.99), as Keras."""

    kind = 0
    _keys = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)


class Adam(Optimizer):
    """Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
    global_clipnorm=None, use_ema=False, ema_momentum=0.99), as Keras
    (amsgrad: the root of the largest second moment so far divides the
    step)."""

    kind = 1
    _keys = ("beta_1", "beta_2", "epsilon", "amsgrad")
    amsgrad = False  # an Adam pickled before amsgrad was kept has none

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)


class AdamW(Adam):
    """AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9,
    beta_2=0.999, epsilon=1e-7, amsgrad=False, clipnorm=None, ...), as
    Keras 3: Adam with decoupled weight decay (Loshchilov & Hutter), the
    weights decayed by w * weight_decay * learning_rate before each update.
    Saved as adam with its weight_decay (load_model gives an Adam that
    trains the same)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, use_ema, ema_momentum)


class RMSprop(Optimizer):
    """RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
    centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
    global_clipnorm=None, use_ema=False, ema_momentum=0.99), as Keras
    (epsilon inside the root; centered: the root of v - a^2 + epsilon, a the
    moving average of the gradients)."""

    kind = 2
    _keys = ("rho", "momentum", "epsilon", "centered")
    centered = False  # (as Adam's amsgrad)

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)


class Adagrad(Optimizer):
    """Adagrad(learning_rate=0.001, initial_accumulator_value=0.1,
    epsilon=1e-7, weight_decay=None, ...), as Keras: a += g^2,
    w -= lr g / sqrt(a + epsilon) (PyTorch's accumulator starts at 0 and
    adds epsilon to the root)."""

    kind = 3
    _keys = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        v = float(initial_accumulator_value)
        if not (v >= 0.0 and math.isfinite(v)):
            raise ValueError("initial_accumulator_value must be a finite float >= 0, got %r"
                             % (initial_accumulator_value,))
        self.initial_accumulator_value, self.epsilon = v, float(epsilon)


class _Betas(Optimizer):
    """Adamax's and Nadam's arguments"""

    _keys = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)


class Adamax(_Betas):
    """Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    weight_decay=None, ...), as Keras: m += (g - m)(1 - beta_1),
    u = max(beta_2 u, |g|), w -= lr m / ((1 - beta_1^t)(u + epsilon))
    (PyTorch puts epsilon into the maximum, |g| + epsilon)."""

    kind = 4


class Nadam(_Betas):
    """Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    weight_decay=None, ...), as Keras 3: Adam with Nesterov momentum and the
    momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t) (PyTorch's NAdam
    raises 0.96 to t * momentum_decay, 0.004 by default: the same rule
    only with momentum_decay=1)."""

    kind = 5


class Adadelta(Optimizer):
    """Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7,
    weight_decay=None, ...), as Keras (whose default learning rate is
    0.001; the paper's rule, and PyTorch's default, is 1.0)."""

    kind = 6
    _keys = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        self.rho, self.epsilon = float(rho), float(epsilon)


class Lion(Optimizer):
    """Lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None,
    ...), as Keras: w -= lr sign(beta_1 m + (1 - beta_1) g), then
    m = beta_2 m + (1 - beta_2) g; beta_1 in (0, 1]."""

    kind = 7
    _keys = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates "
                             "to SignSGD. Received: beta_1=%s." % (beta_1,))
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad, "adamax": Adamax,
            "nadam": Nadam, "adadelta": Adadelta, "lion": Lion}
# the model file's names (lf_optimizer_kind's order; AdamW is saved as adam)
_BY_KIND = [SGD, Adam, RMSprop, Adagrad, Adamax, Nadam, Adadelta, Lion]


def get(identifier):
    """An Optimizer from a name ('adam', 'adamw', 'sgd', 'rmsprop', 'adagrad',
    'adamax', 'nadam', 'adadelta', 'lion', any case) or an Optimizer."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError("unknown optimizer %r: use 'adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'adamax', 'nadam', "
                     "'adadelta', 'lion' or an instance of latefuse.optimizers.Adam/AdamW/SGD/RMSprop/Adagrad/"
                     "Adamax/Nadam/Adadelta/Lion" % (identifier,))
