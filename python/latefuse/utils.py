"""
utils.py — Keras' keras.utils helpers that a training script calls on its
data: to_categorical.  (So `from keras.utils import to_categorical` ports as
`from latefuse.utils import to_categorical`.)
"""
from typing import Any, Optional

import numpy as np

__all__ = ["to_categorical"]


def to_categorical(x: Any, num_classes: Optional[int] = None) -> np.ndarray:
    """Keras' to_categorical: class indices (any shape; a last axis of 1 is
    dropped, as Keras) as one-hot rows, the class axis last, float64 as
    Keras' numpy path returns; num_classes None (or 0): max(x) + 1.  The
    values are cast to int64 as Keras casts them (1.7 is class 1).  One
    departure: a class outside 0..num_classes-1 raises ValueError naming
    it, where Keras' numpy indexing would take -1 as the last class."""
    x = np.array(x, dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        if x.size == 0:
            raise ValueError("to_categorical: no class values, and no num_classes to size the rows")
        num_classes = int(np.max(x)) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 0:
        raise ValueError("to_categorical: num_classes must be an integer >= 1, got %r" % (num_classes,))
    bad = (x < 0) | (x >= num_classes)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError("to_categorical: class %d at index %d is not in 0..%d (num_classes=%d)"
                         % (x[i], i, num_classes - 1, num_classes))
    n = x.shape[0]
    categorical = np.zeros((n, int(num_classes)))
    categorical[np.arange(n), x] = 1
    return np.reshape(categorical, input_shape + (int(num_classes),))
