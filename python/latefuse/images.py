"""
images.py — PNG and JPEG images from files as numpy arrays, over the C
library's lf_image_* (src/image/; include/latefuse.h has the rules): RGB
uint8, resized as keras.utils.image_dataset_from_directory does (bilinear,
half-pixel centres, no antialiasing, then rounded), with the same class and
file order, but returned whole as arrays rather than as a shuffled dataset:

    x, y, class_names = latefuse.images.load_image_folder("photos", image_size=(64, 64))
    # x: (n, 64, 64, 3) uint8, y: (n,) int32, class_names sorted

Needs a library built with libpng / libjpeg (latefuse.images.formats()).
"""
import ctypes

import numpy as np

from . import _lib
from ._lib import LatefuseError

__all__ = ["load_image_folder", "decode_image", "formats"]

_c = _lib.lib
_size = ctypes.c_size_t


class _ImageSet(ctypes.Structure):
    _fields_ = [("n", _size), ("height", _size), ("width", _size),
                ("images", ctypes.POINTER(ctypes.c_uint8)), ("labels", ctypes.POINTER(ctypes.c_int32)),
                ("n_classes", _size), ("class_names", ctypes.POINTER(ctypes.c_char_p)),
                ("paths", ctypes.POINTER(ctypes.c_char_p))]


def _proto(name, restype, *argtypes):
    fn = getattr(_c, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_proto("lf_image_formats", ctypes.c_int)
_proto("lf_image_decode", ctypes.c_int, ctypes.c_char_p, _size, _size, _size, ctypes.c_void_p,
       ctypes.c_char_p, _size)
_proto("lf_image_folder_load", ctypes.c_int, ctypes.c_char_p, _size, _size, ctypes.POINTER(_ImageSet),
       ctypes.c_char_p, _size)
_proto("lf_image_set_free", None, ctypes.POINTER(_ImageSet))


def formats():
    """The formats this build decodes: a subset of {"png", "jpeg"}."""
    f = _c.lf_image_formats()
    return {name for bit, name in ((1, "png"), (2, "jpeg")) if f & bit}


def _size_arg(image_size):
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError("image_size must be (height, width), got %r" % (image_size,)) from None
    return h, w


def _fail(st, msg):
    raise LatefuseError(msg.value.decode("utf-8", "replace"), st,
                        _c.lf_status_string(st).decode())


def decode_image(data, image_size):
    """One PNG or JPEG (bytes) as a (height, width, 3) uint8 array."""
    h, w = _size_arg(image_size)
    data = bytes(data)
    out = np.zeros((h, w, 3), dtype=np.uint8)
    msg = ctypes.create_string_buffer(512)
    st = _c.lf_image_decode(data, len(data), h, w, out.ctypes.data_as(ctypes.c_void_p), msg, 512)
    if st != 0:
        _fail(st, msg)
    return out


def load_image_folder(directory, image_size=(256, 256)):
    """Every image of a folder of class sub-folders: (images (n, h, w, 3)
    uint8, labels (n,) int32, class_names), in Keras' order, unshuffled."""
    h, w = _size_arg(image_size)
    s = _ImageSet()
    msg = ctypes.create_string_buffer(512)
    st = _c.lf_image_folder_load(str(directory).encode(), h, w, ctypes.byref(s), msg, 512)
    if st != 0:
        _fail(st, msg)
    try:
        x = np.ctypeslib.as_array(s.images, shape=(s.n, h, w, 3)).copy()
        y = np.ctypeslib.as_array(s.labels, shape=(s.n,)).copy()
        names = [s.class_names[i].decode("utf-8", "surrogateescape") for i in range(s.n_classes)]
    finally:
        _c.lf_image_set_free(ctypes.byref(s))
    return x, y, names
