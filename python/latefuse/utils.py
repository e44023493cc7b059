"""
utils.py — Keras' keras.utils helpers that a training script calls on its
data: to_categorical, pad_sequences.  (So `from keras.utils import
to_categorical` ports as `from latefuse.utils import to_categorical`;
latefuse.preprocessing.sequence.pad_sequences is the same function, as
keras.preprocessing.sequence.pad_sequences is.)
"""
from typing import Any, Optional

import numpy as np

__all__ = ["to_categorical", "pad_sequences"]


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


def pad_sequences(sequences: Any, maxlen: Optional[int] = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Keras' pad_sequences (keras/src/utils/sequence_utils.py): a list of
    sequences (lists of ints, or of equal-shaped items) as one array
    (num_samples, maxlen) + item shape, of dtype; maxlen None: the longest
    sequence's length.  A shorter sequence is padded with `value` before
    (padding='pre', the default) or after ('post') its items; a longer one
    loses its first items (truncating='pre', the default) or its last
    ('post').  A string value needs dtype=object or a string dtype, as
    Keras.  One departure: maxlen=0 gives empty rows, where Keras' s[-0:]
    keeps the whole sequence and fails to fit it."""
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError('Padding type "%s" not understood' % (padding,))
    if truncating not in ("pre", "post"):
        raise ValueError('Truncating type "%s" not understood' % (truncating,))
    lengths, sample_shape, first = [], (), True
    for x in sequences:  # the item shape of the first non-empty sequence
        try:
            lengths.append(len(x))
        except TypeError as e:
            raise ValueError("`sequences` must be a list of iterables. Found non-iterable: %s" % (x,)) from e
        if first and len(x):
            sample_shape, first = np.asarray(x).shape[1:], False
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError("pad_sequences: maxlen must be an integer >= 0 or None, got %r" % (maxlen,))
    maxlen = int(maxlen)
    is_str = dtype is not object and (np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_))
    if isinstance(value, str) and dtype is not object and not is_str:
        raise ValueError("`dtype` %s is not compatible with `value`'s type: %s\nYou should set `dtype=object` "
                         "for variable length strings." % (dtype, type(value)))
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s) or not maxlen:
            continue
        trunc = np.asarray(s[-maxlen:] if truncating == "pre" else s[:maxlen], dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError("Shape of sample %s of sequence at position %d is different from expected shape %s"
                             % (trunc.shape[1:], idx, sample_shape))
        if padding == "post":
            out[idx, :len(trunc)] = trunc
        else:
            out[idx, -len(trunc):] = trunc
    return out
