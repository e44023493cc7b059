"""
losses.py — Keras 3's loss classes (keras.losses.BinaryCrossentropy(...),
keras/src/losses/losses.py) for compile(loss=...): each names one of the
library's losses (lf_loss) and carries from_logits, which compile passes to
the C model (lf_model_set_from_logits: the output's values are the logits).

Keras' arguments and defaults; what the library does not compute is refused
with a ValueError here: label_smoothing other than 0, ignore_class, a
reduction other than 'sum_over_batch_size'.  A Loss subclass with its own
call() or a plain function (y_true, y_pred) is refused by compile: the loss
runs in C.
"""
from typing import Any, Dict, Optional

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "get"]


class Loss:
    """Keras' base class.  Only the subclasses defined here compile; a
    subclass of your own (with call()) is refused by compile."""
    _lf = None  # the library's loss name (lf_loss_parse)

    def __init__(self, name: Optional[str] = None, reduction: str = "sum_over_batch_size", dtype: Any = None):
        if reduction not in ("sum_over_batch_size", "auto"):
            raise ValueError("%s: reduction %r is not supported: the library reduces as Keras' default "
                             "'sum_over_batch_size'" % (type(self).__name__, reduction))
        self.name = name
        self.reduction = reduction
        self.dtype = dtype

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Loss":
        return cls(**config)

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in self.get_config().items()))


class MeanSquaredError(Loss):
    _lf = "mse"

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(name, reduction, dtype)


class MeanAbsoluteError(Loss):
    _lf = "mae"

    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(name, reduction, dtype)


class _Crossentropy(Loss):
    def __init__(self, from_logits, label_smoothing, axis, reduction, name, dtype):
        super().__init__(name, reduction, dtype)
        if label_smoothing:
            raise ValueError("%s: label_smoothing=%r is not supported (only 0)" % (type(self).__name__, label_smoothing))
        if axis != -1:
            raise ValueError("%s: axis=%r is not supported: the classes are the last axis (-1)"
                             % (type(self).__name__, axis))
        self.from_logits = bool(from_logits)
        self.label_smoothing = 0.0
        self.axis = -1

    def get_config(self):
        return dict(super().get_config(), from_logits=self.from_logits, label_smoothing=self.label_smoothing,
                    axis=self.axis)


class BinaryCrossentropy(_Crossentropy):
    _lf = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = "binary_crossentropy", dtype: Any = None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)


class CategoricalCrossentropy(_Crossentropy):
    _lf = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = "categorical_crossentropy", dtype: Any = None):
        super().__init__(from_logits, label_smoothing, axis, reduction, name, dtype)


class SparseCategoricalCrossentropy(_Crossentropy):
    _lf = "sparse_categorical_crossentropy"

    # Keras 3.16's arguments (axis since 3.x; a .keras file's loss config has it)
    def __init__(self, from_logits: bool = False, ignore_class: Optional[int] = None,
                 reduction: str = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None):
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported (only None)")
        super().__init__(from_logits, 0.0, axis, reduction, name, dtype)
        self.ignore_class = None

    def get_config(self):
        c = super().get_config()
        del c["label_smoothing"]
        return dict(c, ignore_class=None)


# Keras' class names and its aliases 'bce' / 'BCE' (the other aliases,
# 'mse', 'MAE', ..., compile knows)
_BY_NAME = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy, CategoricalCrossentropy,
                                    SparseCategoricalCrossentropy)}
_BY_NAME.update(bce=BinaryCrossentropy, BCE=BinaryCrossentropy)


def get(identifier: Any):
    """(library loss name, from_logits) of compile's loss entry: a name
    ('mse', 'binary_crossentropy', ...; compile checks it), one of the
    classes above, or a class itself or its name ('BinaryCrossentropy'),
    made with its defaults, as keras.losses.get does
    (keras/src/losses/__init__.py: ALL_OBJECTS_DICT, inspect.isclass).
    Anything else raises with what to use instead."""
    if isinstance(identifier, str) and identifier in _BY_NAME:
        identifier = _BY_NAME[identifier]
    if isinstance(identifier, str):
        return identifier, False
    if isinstance(identifier, type) and identifier in _BY_NAME.values():
        identifier = identifier()
    if isinstance(identifier, Loss) and type(identifier)._lf is not None and \
            type(identifier).__module__ == __name__:
        return type(identifier)._lf, getattr(identifier, "from_logits", False)
    what = "a Loss subclass of your own" if isinstance(identifier, Loss) or (
        isinstance(identifier, type) and issubclass(identifier, Loss)) else \
        "a loss function" if callable(identifier) else "%r" % (identifier,)
    raise ValueError("compile: %s is not supported: the loss runs in the C library; use one of 'mse', 'mae', "
                     "'binary_crossentropy', 'categorical_crossentropy', 'sparse_categorical_crossentropy' or "
                     "latefuse.losses.MeanSquaredError(), MeanAbsoluteError(), BinaryCrossentropy(from_logits=...), "
                     "CategoricalCrossentropy(...), SparseCategoricalCrossentropy(...)" % what)
