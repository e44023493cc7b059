"""
initializers.py — Keras' weight initializers by name or object
(kernel_initializer='he_normal', initializers.HeNormal()), drawn by the C
library (lf_initialize, documented in include/latefuse.h) from the model's
seed.

Keras' definitions: glorot_* scale 1 over (fan_in + fan_out) / 2, he_*
scale 2 over fan_in, lecun_* scale 1 over fan_in; *_uniform draw
U(-sqrt(3 scale / fan), +sqrt(3 scale / fan)), *_normal a normal truncated
at 2 standard deviations with sd sqrt(scale / fan) / 0.8796; random_normal
N(0, 0.05^2), random_uniform U(-0.05, 0.05); zeros, ones.  Draws come from
the model's generator (Model(..., seed=)): an initializer's own `seed` and
other parameters than Keras' defaults are not supported.
"""
from typing import Any, Dict, Union

__all__ = ["Initializer", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
           "LecunNormal", "Zeros", "Ones", "RandomNormal", "RandomUniform", "get", "NAMES"]

NAMES = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
         "zeros", "ones", "random_normal", "random_uniform")


class Initializer:
    """Base class: `key` is the Keras name the C library knows."""

    key = ""

    def __init__(self, seed: None = None) -> None:
        if seed is not None:
            raise ValueError("%s: seed is not supported: initial weights come from the model's seed "
                             "(latefuse.Model(..., seed=))" % type(self).__name__)

    def get_config(self) -> Dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return "%s()" % type(self).__name__


def _cls(name, key):
    return type(name, (Initializer,), {"key": key, "__doc__": "keras.initializers.%s ('%s')" % (name, key)})


GlorotUniform = _cls("GlorotUniform", "glorot_uniform")
GlorotNormal = _cls("GlorotNormal", "glorot_normal")
HeUniform = _cls("HeUniform", "he_uniform")
HeNormal = _cls("HeNormal", "he_normal")
LecunUniform = _cls("LecunUniform", "lecun_uniform")
LecunNormal = _cls("LecunNormal", "lecun_normal")
Zeros = _cls("Zeros", "zeros")
Ones = _cls("Ones", "ones")


class RandomNormal(Initializer):
    """keras.initializers.RandomNormal with its defaults (mean 0, stddev 0.05)."""
    key = "random_normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: None = None) -> None:
        super().__init__(seed)
        if mean != 0.0 or stddev != 0.05:
            raise ValueError("RandomNormal: only mean=0.0 and stddev=0.05 (Keras' defaults) are supported")


class RandomUniform(Initializer):
    """keras.initializers.RandomUniform with its defaults (-0.05, 0.05)."""
    key = "random_uniform"

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: None = None) -> None:
        super().__init__(seed)
        if minval != -0.05 or maxval != 0.05:
            raise ValueError("RandomUniform: only minval=-0.05 and maxval=0.05 (Keras' defaults) are supported")


_BY_CLASS = {c.__name__: c.key for c in (GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
                                          LecunNormal, Zeros, Ones, RandomNormal, RandomUniform)}


def get(identifier: Union[str, Initializer, Dict[str, Any]], what: str = "initializer") -> str:
    """The Keras name of an initializer given as a name ('he_normal' or
    'HeNormal'), an Initializer object or Keras' {'class_name': ..., 'config': {}}."""
    if isinstance(identifier, Initializer):
        return identifier.key
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_CLASS:
        if identifier.get("config"):
            raise ValueError("%s: %s takes no settings here, got %r" % (what, identifier["class_name"],
                                                                       identifier["config"]))
        return _BY_CLASS[identifier["class_name"]]
    if isinstance(identifier, str):
        if identifier in NAMES:
            return identifier
        if identifier in _BY_CLASS:
            return _BY_CLASS[identifier]
    raise ValueError("%s: unknown initializer %r: use one of %s" % (what, identifier, ", ".join(NAMES)))
