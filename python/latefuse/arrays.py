"""
arrays.py — latefuse.read_npy: a .npy file of rank 1..4 read by the C
library (lf_ndarray_read), so that Python and C read the same files the
same way: images (N, H, W, C) uint8, token ids (N, T) int32, features
(N, D) float32.

The element types are the ones Model.fit/predict pass to the library as
they are: float32 and float64 files give float32 (float64 rounded; a
finite value beyond the float32 range is an error), int32 and int64 give
int32 (an int64 beyond the int32 range is an error), uint8 stays uint8.
Fortran order (rank 2 and more) and big-endian data are refused with the
library's one-sentence message, raised as LatefuseError (numpy.load reads
any of them; convert with np.ascontiguousarray or astype).
"""
import ctypes
import os

import numpy as np

from . import _lib
from ._lib import LatefuseError, lib

__all__ = ["read_npy"]

MAX_RANK = 4  # LF_NDARRAY_MAX_RANK


class _NDArray(ctypes.Structure):
    """lf_ndarray (latefuse.h)."""
    _fields_ = [("dtype", ctypes.c_int), ("data", ctypes.c_void_p), ("rank", ctypes.c_size_t),
                ("shape", ctypes.c_size_t * MAX_RANK), ("count", ctypes.c_size_t), ("row_size", ctypes.c_size_t),
                ("source_dtype", ctypes.c_char * 8)]


_lib._proto("lf_ndarray_read", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_NDArray), ctypes.c_char_p,
            ctypes.c_size_t)
_lib._proto("lf_ndarray_free", None, ctypes.POINTER(_NDArray))

_NUMPY = {_lib.DTYPE_FLOAT32: np.float32, _lib.DTYPE_INT32: np.int32, _lib.DTYPE_UINT8: np.uint8}


def read_npy(path):
    """The array of the .npy file at `path` (rank 1..4), as a new C-order
    numpy array of dtype float32, int32 or uint8 (see the module's doc).
    Raises LatefuseError with the library's message for a file it refuses
    or cannot read."""
    a = _NDArray()
    err = ctypes.create_string_buffer(512)
    st = lib.lf_ndarray_read(os.fsencode(path), ctypes.byref(a), err, len(err))
    if st:
        raise LatefuseError(err.value.decode("utf-8", "replace") or _lib.status_string(st), st,
                            _lib.status_string(st))
    try:
        dt = np.dtype(_NUMPY[a.dtype])
        nbytes = a.count * dt.itemsize
        raw = (ctypes.c_char * nbytes).from_address(a.data) if nbytes else b""
        out = np.frombuffer(raw, dtype=dt).copy()
        return out.reshape(tuple(a.shape[k] for k in range(a.rank)))
    finally:
        lib.lf_ndarray_free(ctypes.byref(a))
