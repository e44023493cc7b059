"""
constraints.py — Keras' weight constraints (keras/src/constraints/constraints.py):
MaxNorm, NonNeg, UnitNorm and MinMaxNorm, given to a layer as
kernel_constraint, recurrent_constraint, bias_constraint,
embeddings_constraint, gamma_constraint or beta_constraint.  The C library
applies them after each optimizer step (lf_set_constraint), as Keras 3's
optimizer does, and keeps them in the model file.  Calling one on an
array applies Keras' formula in numpy (float32, eps 1e-7), axis over the
weight's Keras shape (a Dense kernel (in, units): axis=0 constrains each
unit's incoming weights).
"""
import numpy as _np

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg", "unit_norm",
           "min_max_norm", "get", "serialize", "deserialize"]

_EPS = _np.float32(1e-7)  # Keras' backend.epsilon()


def _axis(axis, cls):
    """Keras' axis: an int, a list/tuple of ints (kept as given) or None"""
    if axis is None or (isinstance(axis, int) and not isinstance(axis, bool)):
        return axis
    if isinstance(axis, (list, tuple)) and 1 <= len(axis) <= 4 and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return list(axis)
    raise ValueError("%s: axis must be an int, a list of 1 to 4 ints or None, got %r" % (cls, axis))


def _number(v, what, cls):
    """v checked (finite; its range: lf_set_constraint), as a Python int or
    float: a numpy scalar would not go into get_config's JSON (to_json)"""
    if isinstance(v, bool) or not isinstance(v, (int, float, _np.floating, _np.integer)) or not _np.isfinite(v):
        raise ValueError("%s: %s must be a finite number, got %r" % (cls, what, v))
    return int(v) if isinstance(v, (int, _np.integer)) else float(v)


class Constraint:
    """Base class: a constraint is a callable from a weight to its
    constrained value.  Only the four classes here reach the C library:
    a subclass of one's own is refused by the layers."""
    _kind = 0

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _norms(self, w):
        w = _np.asarray(w, dtype=_np.float32)
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return w, _np.sqrt(_np.sum(_np.square(w), axis=axis, keepdims=True))

    def _c_struct(self):
        from ._lib import Constraint as C
        c = C()
        c.kind = self._kind
        c.max_value = float(getattr(self, "max_value", 0.0))
        c.min_value = float(getattr(self, "min_value", 0.0))
        c.rate = float(getattr(self, "rate", 0.0))
        axis = getattr(self, "axis", None)
        axes = [] if axis is None else (axis if isinstance(axis, list) else [axis])
        for i, a in enumerate(axes):
            c.axis[i] = a
        c.n_axis = len(axes)
        return c

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in self.get_config().items()))

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None


class MaxNorm(Constraint):
    """w * clip(norms, 0, max_value) / (eps + norms), norms over axis."""
    _kind = 1

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number(max_value, "max_value", "MaxNorm")
        self.axis = _axis(axis, "MaxNorm")

    def __call__(self, w):
        w, norms = self._norms(w)
        desired = _np.clip(norms, 0, _np.float32(self.max_value))
        return w * (desired / (_EPS + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """max(w, 0)."""
    _kind = 2

    def __call__(self, w):
        return _np.maximum(_np.asarray(w, dtype=_np.float32), 0)


class UnitNorm(Constraint):
    """w / (eps + norms), norms over axis."""
    _kind = 3

    def __init__(self, axis=0):
        self.axis = _axis(axis, "UnitNorm")

    def __call__(self, w):
        w, norms = self._norms(w)
        return w / (_EPS + norms)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """w * (rate * clip(norms, min_value, max_value) + (1 - rate) * norms)
    / (eps + norms), norms over axis."""
    _kind = 4

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _number(min_value, "min_value", "MinMaxNorm")
        self.max_value = _number(max_value, "max_value", "MinMaxNorm")
        self.rate = _number(rate, "rate", "MinMaxNorm")
        self.axis = _axis(axis, "MinMaxNorm")

    def __call__(self, w):
        w, norms = self._norms(w)
        desired = (_np.float32(self.rate) * _np.clip(norms, _np.float32(self.min_value), _np.float32(self.max_value))
                   + (1 - _np.float32(self.rate)) * norms)
        return w * (desired / (_EPS + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

_BY_NAME = {"MaxNorm": MaxNorm, "max_norm": MaxNorm, "NonNeg": NonNeg, "non_neg": NonNeg, "UnitNorm": UnitNorm,
            "unit_norm": UnitNorm, "MinMaxNorm": MinMaxNorm, "min_max_norm": MinMaxNorm}


def serialize(constraint):
    return None if constraint is None else {"class_name": type(constraint).__name__,
                                            "config": constraint.get_config()}


def deserialize(config):
    return get(config)


def get(identifier, what="constraint"):
    """A constraint from None, one of the four classes, a name ("max_norm",
    "NonNeg", ...) or Keras' {'class_name': ..., 'config': ...}; anything
    else (a subclass of one's own, a function) is refused with what in the
    message."""
    if identifier in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm):  # the class: its defaults, as keras.constraints.get
        return identifier()
    if identifier is None or type(identifier) in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_NAME:
        return _BY_NAME[identifier["class_name"]](**(identifier.get("config") or {}))
    raise ValueError("%s must be one of latefuse.constraints' MaxNorm, NonNeg, UnitNorm or MinMaxNorm (applied by "
                     "the C library after each step), got %r" % (what, identifier))


def _from_file(d):
    """The model file's {"type": ..., ...} form (lf_set_constraint's)."""
    cls = _BY_NAME[d["type"]]
    cfg = {k: d[k] for k in ("min_value", "max_value", "rate", "axis") if k in d}
    if isinstance(cfg.get("axis"), list) and len(cfg["axis"]) == 1:
        cfg["axis"] = cfg["axis"][0]  # the file keeps a list: Keras' int back
    if cls is NonNeg:
        cfg = {}
    return cls(**cfg)
