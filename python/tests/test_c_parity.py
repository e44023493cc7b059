"""
test_c_parity.py — a model built with the Keras-style Python API is the
model the C API builds with the same calls: the same weights drawn from the
same seed, and after fit (dropout, RandomFlip, RandomTranslation and the
shuffle drawing from the same generators) bit-identical weights and
predictions.  The C side is built here through ctypes in examples/
webnews.c's order (the image input and its branch, then the text input and
its branch), while the Python graph lists both inputs first: the models'
node ids differ, their random draws must not.

The fused models are the ones whose Python and C Web_News results were
compared: WeightedAverage, ClassWeightedAverage, and WeightedAverage with
each branch an output of its own (loss_weights 1, 0.5, 0.5).
"""
import ctypes

import numpy as np
import pytest

from latefuse import Model
from latefuse import _lib
from latefuse._lib import TypedArray, lib
from latefuse.layers import (Activation, BatchNormalization, ClassWeightedAverage, Conv2D, Dense, Dropout,
                             GlobalAveragePooling2D, Input, MaxPooling2D, RandomFlip, RandomTranslation,
                             Rescaling, WeightedAverage)

C, SIDE, TD = 3, 8, 6
LAYERS = ["img_conv", "img_bn", "img_out", "txt_dense", "txt_out", "fuse"]
RELU, SOFTMAX, SPARSE, ADAM = 1, 7, 4, 1  # lf_activation, lf_loss, lf_optimizer_kind values
# the package calls lf_conv2d_dilated: without this prototype ctypes would
# pass the size_t arguments as C ints (garbage strides under make san)
_lib._proto("lf_conv2d", ctypes.c_int, _lib._P, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
            ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_char_p)


def py_model(kind, seed):
    img = Input((SIDE, SIDE, 3), name="image")
    h = Rescaling(1.0 / 255, name="img_rescale")(img)
    h = RandomFlip("horizontal", name="img_flip")(h)
    h = RandomTranslation(0.2, 0.2, name="img_shift")(h)
    h = Conv2D(4, 3, padding="same", use_bias=False, name="img_conv")(h)
    h = BatchNormalization(name="img_bn")(h)
    h = Activation("relu", name="img_relu")(h)
    h = MaxPooling2D(2, name="img_pool")(h)
    h = Dropout(0.3, name="img_drop")(GlobalAveragePooling2D(name="img_gap")(h))
    pi = Dense(C, activation="softmax", name="img_out")(h)
    txt = Input((TD,), name="text")
    h = Dropout(0.5, name="txt_drop")(Dense(8, activation="relu", name="txt_dense")(txt))
    pt = Dense(C, activation="softmax", name="txt_out")(h)
    fuse = ClassWeightedAverage if kind == "wavg_class" else WeightedAverage
    out = fuse(n_output=2, name="fuse")([pi, pt])
    if kind == "wavg_loss_weights":
        m = Model([img, txt], [out, pi, pt], seed=seed)
        m.compile("adam", "sparse_categorical_crossentropy", loss_weights=[1.0, 0.5, 0.5])
    else:
        m = Model([img, txt], out, seed=seed)
        m.compile("adam", "sparse_categorical_crossentropy")
    return m


def c_model(kind, seed):
    h = ctypes.c_void_p()
    assert lib.lf_model_create(ctypes.byref(h), seed) == 0
    dims = (ctypes.c_size_t * 3)(SIDE, SIDE, 3)
    t = lib.lf_input_shape(h, 3, dims, 0, b"image")
    t = lib.lf_rescaling(h, t, 1.0 / 255, 0.0, b"img_rescale")
    t = lib.lf_random_flip(h, t, 1, b"img_flip")
    t = lib.lf_random_translation_opt(h, t, ctypes.byref(lib.lf_translation_defaults(0.2, 0.2)), b"img_shift")
    t = lib.lf_conv2d(h, t, 4, 3, 3, 1, 1, 1, 0, 0, b"img_conv")
    t = lib.lf_batch_normalization(h, t, 0.99, 1e-3, b"img_bn")
    t = lib.lf_activation_layer(h, t, RELU, b"img_relu")
    t = lib.lf_max_pooling2d(h, t, 2, 2, 0, 0, 0, b"img_pool")
    t = lib.lf_dropout(h, lib.lf_global_average_pooling2d(h, t, b"img_gap"), 0.3, b"img_drop")
    pi = lib.lf_dense(h, t, C, SOFTMAX, 1, b"img_out")
    t = lib.lf_input(h, TD, b"text")
    t = lib.lf_dropout(h, lib.lf_dense(h, t, 8, RELU, 1, b"txt_dense"), 0.5, b"txt_drop")
    pt = lib.lf_dense(h, t, C, SOFTMAX, 1, b"txt_out")
    both = (ctypes.c_int * 2)(pi, pt)
    fuse = lib.lf_class_weighted_average if kind == "wavg_class" else lib.lf_weighted_average
    out = fuse(h, 2, both, -1, b"fuse")
    assert min(pi, pt, out) >= 0, lib.lf_model_error(h)
    opt = lib.lf_optimizer_default(ADAM)
    if kind == "wavg_loss_weights":
        outs, losses = (ctypes.c_int * 3)(out, pi, pt), (ctypes.c_int * 3)(SPARSE, SPARSE, SPARSE)
        assert lib.lf_model_compile_outputs(h, 3, outs, losses, (ctypes.c_float * 3)(1.0, 0.5, 0.5),
                                            ctypes.byref(opt)) == 0
    else:
        assert lib.lf_model_compile(h, out, SPARSE, ctypes.byref(opt)) == 0
    return h


def weights(h):
    out = {}
    for name in LAYERS:
        nm = name.encode()
        for i in range(lib.lf_layer_num_weights(h, nm)):
            shape, count = (ctypes.c_size_t * 2)(), ctypes.c_size_t()
            assert lib.lf_layer_weight_shape(h, nm, i, shape, ctypes.byref(count)) == 0
            w = np.empty(count.value, np.float32)
            assert lib.lf_get_weights(h, nm, i, w.ctypes.data, count.value) == 0
            out[(name, i)] = w
    return out


@pytest.mark.parametrize("kind", ["wavg", "wavg_class", "wavg_loss_weights"])
def test_python_build_is_the_c_build(kind):
    rng = np.random.default_rng(11)
    n = 48
    img = rng.integers(0, 256, size=(n, SIDE, SIDE, 3)).astype(np.uint8)
    txt = rng.normal(size=(n, TD)).astype(np.float32)
    y = rng.integers(0, C, n).astype(np.float32)
    m, h = py_model(kind, 1004), c_model(kind, 1004)
    try:
        wp, wc = weights(m._handle), weights(h)
        assert sorted(wp) == sorted(wc) and len(wp) == 12  # conv 1, BN 4, three Dense 2 each, fusion 1
        assert all(np.array_equal(wp[k], wc[k]) for k in wp), "initial weights differ"
        w0 = wp
        k_out = 3 if kind == "wavg_loss_weights" else 1
        m.fit([img, txt], [y] * k_out if k_out > 1 else y, batch_size=16, epochs=3, seed=311, verbose=0)
        opts = lib.lf_fit_defaults()
        opts.batch_size, opts.epochs, opts.seed = 16, 3, 311
        x = (TypedArray * 2)(TypedArray(2, img.ctypes.data), TypedArray(0, txt.ctypes.data))
        ys = (ctypes.c_void_p * 3)(y.ctypes.data, y.ctypes.data, y.ctypes.data)
        assert lib.lf_model_fit_arrays(h, x, ys, n, ctypes.byref(opts)) == 0
        wp, wc = weights(m._handle), weights(h)
        moved = [k for k in wp if not np.array_equal(wp[k], w0[k])]
        assert len(moved) >= 10, "training changed too few weights for the check to mean much: %s" % moved
        diff = {k: float(np.abs(wp[k] - wc[k]).max()) for k in wp if not np.array_equal(wp[k], wc[k])}
        assert not diff, "trained weights differ: %s" % diff
        pp = m.predict([img, txt])
        pc = [np.empty((n, C), np.float32) for _ in range(k_out)]
        assert lib.lf_model_predict_arrays(h, x, n, (ctypes.c_void_p * k_out)(*[p.ctypes.data for p in pc])) == 0
        for a, b in zip(pp if k_out > 1 else [pp], pc):
            assert np.array_equal(a, b)
    finally:
        lib.lf_model_free(h)
