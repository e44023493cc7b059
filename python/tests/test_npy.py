"""
test_npy.py — latefuse.read_npy (the C library's lf_ndarray_read): every
dtype it reads against numpy's own np.save files, the exact message of each
refusal, and a model fed the arrays it returns giving bit-identical results
to the same data from np.load.
"""
import numpy as np
import pytest

import latefuse
from latefuse import LatefuseError, Model
from latefuse.layers import Dense, Flatten, Input, Rescaling


def saved(tmp_path, name, arr):
    p = str(tmp_path / name)
    np.save(p, arr)
    return p


@pytest.mark.parametrize("dtype,want", [(np.float32, np.float32), (np.float64, np.float32), (np.int32, np.int32),
                                        (np.int64, np.int32), (np.uint8, np.uint8)])
def test_dtypes_and_ranks(tmp_path, dtype, want):
    rng = np.random.default_rng(3)
    for shape in [(7,), (3, 5), (2, 3, 4), (2, 4, 4, 3), (0, 64, 64, 3)]:
        a = (rng.normal(size=shape) * 100).astype(dtype)
        got = latefuse.read_npy(saved(tmp_path, "a.npy", a))
        assert got.dtype == want and got.shape == shape and got.flags.c_contiguous
        assert np.array_equal(got, a.astype(want))  # float64 rounded as numpy rounds


def test_refusals(tmp_path):
    def refused(arr, want, fortran=False):
        p = saved(tmp_path, "r.npy", np.asfortranarray(arr) if fortran else arr)
        with pytest.raises(LatefuseError) as ei:
            latefuse.read_npy(p)
        assert str(ei.value) == want.replace("PATH", p)
        assert ei.value.status == 3 and ei.value.status_name == "malformed or untrusted data"  # LF_ERR_FORMAT

    refused(np.arange(6, dtype=np.float32).reshape(2, 3), "'PATH' is in Fortran order; N-dimensional arrays are "
            "read in C order only (numpy: np.ascontiguousarray(a))", fortran=True)
    refused(np.arange(6, dtype=">f4"), "'PATH' holds big-endian data ('>f4'); N-dimensional arrays are read "
            "little-endian only (numpy: a.astype(a.dtype.newbyteorder('<')))")
    refused(np.zeros((1, 1, 1, 1, 2), np.float32), "'PATH' holds a 5-d array; 1-D to 4-D expected")
    refused(np.array([[1, 2 ** 31]], np.int64), "element [0, 1] of 'PATH' (2147483648) is outside the int32 range")
    refused(np.array([1e39, 1.0]), "element [0] of 'PATH' (1e+39) overflows float32")
    refused(np.zeros(3, np.uint16), "unsupported dtype '<u2' in 'PATH' for an N-dimensional array (float32, "
            "float64, int32, int64 or uint8 expected)")
    missing = str(tmp_path / "none.npy")
    with pytest.raises(LatefuseError) as ei:
        latefuse.read_npy(missing)
    assert str(ei.value) == "cannot open '%s': No such file or directory" % missing and ei.value.status == 2


def test_model_fed_from_read_npy(tmp_path):
    """uint8 images from read_npy and from np.load train and predict bit for bit the same."""
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, size=(40, 4, 4, 3)).astype(np.uint8)
    y = rng.integers(0, 3, 40).astype(np.float32)
    p = saved(tmp_path, "img.npy", img)
    outs = []
    for x in (latefuse.read_npy(p), np.load(p)):
        i = Input((4, 4, 3))
        m = Model(i, Dense(3, activation="softmax")(Flatten()(Rescaling(1 / 255)(i))), seed=9)
        m.compile("adam", "sparse_categorical_crossentropy")
        m.fit(x, y, batch_size=8, epochs=2, seed=4, verbose=0)
        outs.append(m.predict(x))
    assert np.array_equal(outs[0], outs[1])
