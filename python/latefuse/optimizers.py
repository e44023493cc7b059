"""
optimizers.py — Keras' optimizers as settings for lf_model_compile.

Why a class per optimizer: Keras code passes `optimizer=Adam(learning_rate=
1e-4)` or a string; both become an lf_optimizer (Keras' defaults, see
lf_optimizer_default).  The update itself runs in C.
"""
import math

from . import _lib

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "get"]


class Optimizer:
    """Base: every optimizer also takes Keras' use_ema=False and
    ema_momentum=0.99 (fit keeps a moving average of the weights and ends
    with it, see lf_optimizer in latefuse.h)."""

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
        return o

    def _settings(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % kv for kv in self._settings().items()))


def _lr(learning_rate):
    lr = float(learning_rate)
    if not (lr > 0.0 and math.isfinite(lr)):
        raise ValueError("learning_rate must be finite and > 0, got %r" % (learning_rate,))
    return lr


class SGD(Optimizer):
    """SGD(learning_rate=0.01, momentum=0.0, nesterov=False)."""

    kind = 0

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, use_ema=False,
                 ema_momentum=0.99):
        self._ema(use_ema, ema_momentum)
        self.learning_rate = learning_rate
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _settings(self):
        return {"learning_rate": self.learning_rate, "momentum": self.momentum,
                "nesterov": int(self.nesterov)}


class Adam(Optimizer):
    """Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7), as Keras."""

    kind = 1

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 use_ema=False, ema_momentum=0.99):
        self._ema(use_ema, ema_momentum)
        if amsgrad:
            raise ValueError("Adam: amsgrad is not supported")
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _settings(self):
        return {"learning_rate": self.learning_rate, "beta_1": self.beta_1,
                "beta_2": self.beta_2, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7)."""

    kind = 2

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 use_ema=False, ema_momentum=0.99):
        self._ema(use_ema, ema_momentum)
        if centered:
            raise ValueError("RMSprop: centered=True is not supported")
        self.learning_rate = learning_rate
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)

    def _settings(self):
        return {"learning_rate": self.learning_rate, "rho": self.rho,
                "momentum": self.momentum, "epsilon": self.epsilon}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier):
    """An Optimizer from a name ('adam', 'sgd', 'rmsprop') or an Optimizer."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError("unknown optimizer %r: use 'adam', 'sgd', 'rmsprop' or an instance of "
                     "latefuse.optimizers.Adam/SGD/RMSprop" % (identifier,))
