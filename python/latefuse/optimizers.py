"""
optimizers.py — Keras' optimizers as settings for lf_model_compile.

Why a class per optimizer: Keras code passes `optimizer=Adam(learning_rate=
1e-4)` or a string; both become an lf_optimizer (Keras' defaults, see
lf_optimizer_default).  The update itself runs in C.
"""
import math

from . import _lib

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get"]

_CLIPS = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm")


class Optimizer:
    """Base: every optimizer also takes Keras' weight_decay=None,
    clipnorm=None, clipvalue=None, global_clipnorm=None (before each update
    the gradients are clipped, then the weights decayed:
    w -= w * weight_decay * learning_rate; at most one clip), use_ema=False
    and ema_momentum=0.99 (fit keeps a moving average of the weights and
    ends with it); see lf_optimizer in latefuse.h."""

    kind = None

    @property
    def learning_rate(self):
        """Keras' optimizer.learning_rate: readable, and settable (finite,
        > 0) between fits or from a callback during fit (the next epoch's
        steps use it, as LearningRateScheduler and ReduceLROnPlateau set
        it); the library keeps it as a float32."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
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
        o.use_ema = int(getattr(self, "use_ema", False))
        o.ema_momentum = getattr(self, "ema_momentum", 0.99)
        for name in _CLIPS:
            setattr(o, name, getattr(self, name, None) or 0.0)
        return o

    def _settings(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        items = list(self._settings().items())
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

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _settings(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum,
                "nesterov": int(self.nesterov)}


class Adam(Optimizer):
    """Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
    global_clipnorm=None, use_ema=False, ema_momentum=0.99), as Keras
    (amsgrad=True is refused)."""

    kind = 1

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        if amsgrad:
            raise ValueError("Adam: amsgrad is not supported")
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _settings(self):
        return {"learning_rate": self.learning_rate, "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon}


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
    (centered=True is refused)."""

    kind = 2

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99):
        self._clips(weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._ema(use_ema, ema_momentum)
        if centered:
            raise ValueError("RMSprop: centered=True is not supported")
        self.learning_rate = learning_rate
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)

    def _settings(self):
        return {"learning_rate": self.learning_rate, "rho": self.rho,
                "momentum": self.momentum, "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get(identifier):
    """An Optimizer from a name ('adam', 'adamw', 'sgd', 'rmsprop') or an Optimizer."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError("unknown optimizer %r: use 'adam', 'adamw', 'sgd', 'rmsprop' or an instance of "
                     "latefuse.optimizers.Adam/AdamW/SGD/RMSprop" % (identifier,))
