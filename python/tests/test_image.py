"""
test_image.py — the image layers through the Keras-style API: shapes at
call time, a small CNN that fits on (N, H, W, C) arrays, Keras-layout
weights (Conv2D kernel (kh, kw, C, filters), BatchNormalization's four
vectors; center=False / scale=False leave beta / gamma out), the Conv2D
output against a direct numpy convolution, and the save/load round trip
predicting bit for bit.
"""
import os

import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Flatten,
                             GlobalAveragePooling2D, GlobalMaxPooling2D, Input, MaxPooling2D, RandomFlip,
                             RandomTranslation, Rescaling, Reshape)


def cnn(seed=0):
    inp = Input((8, 8, 3))
    x = Rescaling(1 / 255)(inp)
    x = RandomFlip("horizontal")(x)
    x = RandomTranslation(0.1, 0.1)(x)
    x = Conv2D(4, 3, padding="same", use_bias=False)(x)
    x = BatchNormalization()(x)
    x = Activation("relu")(x)
    x = MaxPooling2D()(x)
    x = AveragePooling2D(3, strides=2, padding="same")(x)
    x = Conv2D(5, (2, 2), activation="relu")(x)
    x = GlobalAveragePooling2D()(x)
    out = Dense(3, activation="softmax")(x)
    return Model(inp, out, seed=seed)


def test_shapes_and_errors():
    inp = Input((9, 7, 2))
    c = Conv2D(4, (3, 2), strides=(2, 1), padding="same")(inp)
    assert c.shape == (None, 5, 7, 4)
    assert MaxPooling2D((2, 3))(c).shape == (None, 2, 2, 4)
    assert GlobalMaxPooling2D()(Conv2D(2, 1)(inp)).shape == (None, 2)
    assert Reshape((7, 9))(Flatten()(Conv2D(1, 1)(inp))).shape == (None, 7, 9)
    assert Dense(3)(Input((9, 7, 2))).shape == (None, 9, 7, 3)  # on the last axis, as Keras
    with pytest.raises(ValueError, match=r"Conv2D: input of shape \(None, 5\) must be \(batch, height, width, channels\)"):
        Conv2D(2, 3)(Input((5,)))


def test_conv_against_numpy():
    inp = Input((5, 6, 2))
    out = Conv2D(3, (3, 2), strides=(2, 1), padding="same", activation="tanh")(inp)
    m = Model(inp, Flatten()(out), seed=1)
    k, b = m.layers[1].get_weights()
    assert k.shape == (3, 2, 2, 3) and b.shape == (3,)
    b = np.array([0.1, -0.2, 0.3], np.float32)
    m.layers[1].set_weights([k, b])
    x = np.random.default_rng(0).normal(size=(4, 5, 6, 2)).astype(np.float32)
    # "same": 5 rows at stride 2 give 3 outputs over 7 padded rows (1 before, 1
    # after); 6 columns with kernel 2 get 1 padding column, after (Keras)
    pt = ((3 - 1) * 2 + 3 - 5) // 2
    pl = ((6 - 1) * 1 + 2 - 6) // 2
    xp = np.zeros((4, 5 + 2, 6 + 1, 2), np.float32)
    xp[:, pt:pt + 5, pl:pl + 6] = x
    want = np.zeros((4, 3, 6, 3))
    for oy in range(3):
        for ox in range(6):
            patch = xp[:, 2 * oy:2 * oy + 3, ox:ox + 2, :]
            want[:, oy, ox] = np.tensordot(patch, k, axes=([1, 2, 3], [0, 1, 2])) + b
    got = m.predict(x).reshape(4, 3, 6, 3)
    assert np.allclose(got, np.tanh(want), atol=1e-5)


def test_cnn_fit_save_load(tmp_path):
    m = cnn()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(30, 8, 8, 3)).astype(np.float32)
    y = (np.arange(30) % 3).astype(np.float32)
    h = m.fit(x, y, epochs=2, batch_size=10, verbose=0)
    assert len(h.history["loss"]) == 2
    bn = [ly for ly in m.layers if isinstance(ly, BatchNormalization)][0]
    g, beta, mm, mv = bn.get_weights()
    assert g.shape == beta.shape == mm.shape == mv.shape == (4,)
    assert not np.allclose(mv, 1.0)  # moved by the training passes
    p = m.predict(x)
    path = os.path.join(str(tmp_path), "cnn.lf")
    m.save(path)
    m2 = load_model(path)
    assert np.array_equal(m2.predict(x), p)
    assert np.array_equal(m2.predict(x.reshape(30, -1)), p)  # flat rows work too


def test_random_translation_keras_arguments(tmp_path):
    """Keras 3's arguments and defaults; its refusals (Keras' exception
    types); get_config; the settings through a file, and a file of
    lf_random_translation's form (single factors) loading as that form."""
    t = RandomTranslation(0.2, (0.3, -0.1))
    assert (t.fill_mode, t.interpolation, t.fill_value, t.seed) == ("reflect", "bilinear", 0.0, None)
    assert t._height == (-0.2, 0.2) and t._width == pytest.approx((-0.1, 0.3))
    assert RandomTranslation(-0.4, 0.1)._height == (-0.4, 0.4)  # a number: [-|f|, |f|], as Keras
    cfg = t.get_config()
    assert cfg["height_factor"] == 0.2 and cfg["width_factor"] == [0.3, -0.1] and cfg["fill_mode"] == "reflect"
    assert RandomTranslation.from_config(cfg)._width == t._width
    bad = [
        (dict(height_factor=1.5, width_factor=0.1), ValueError,
         "RandomTranslation: height_factor must be a number (or a list of two numbers) in [-1, 1], got 1.5"),
        (dict(height_factor=0.1, width_factor=(0.1, 0.2, 0.3)), ValueError,
         "RandomTranslation: width_factor must be a number (or a list of two numbers) in [-1, 1], got (0.1, 0.2, 0.3)"),
        (dict(height_factor="0.1", width_factor=0.1), ValueError,
         "RandomTranslation: height_factor must be a number (or a list of two numbers) in [-1, 1], got '0.1'"),
        (dict(height_factor=0.1, width_factor=0.1, fill_mode="mirror"), NotImplementedError,
         "RandomTranslation: unknown fill_mode 'mirror'; expected one of 'reflect', 'wrap', 'nearest', 'constant'"),
        (dict(height_factor=0.1, width_factor=0.1, interpolation="bicubic"), NotImplementedError,
         "RandomTranslation: unknown interpolation 'bicubic'; expected one of 'bilinear', 'nearest'"),
        (dict(height_factor=0.1, width_factor=0.1, seed=3), ValueError,
         "RandomTranslation: draws come from the model's seed (seed=None)"),
        (dict(height_factor=0.1, width_factor=0.1, fill_value=float("nan")), ValueError,
         "RandomTranslation: fill_value must be a finite number, got nan"),
        (dict(height_factor=0.1, width_factor=0.1, data_format="channels_first"), ValueError,
         "RandomTranslation: data_format must be 'channels_last' (images (H, W, C)), got 'channels_first'"),
    ]
    for kw, exc, msg in bad:
        with pytest.raises(exc) as e:
            RandomTranslation(**kw)
        assert str(e.value) == msg

    # the settings through a file: the loaded model trains to the same bits
    def model(**kw):
        inp = Input((6, 5, 2))
        x = RandomTranslation((-0.2, 0.4), 0.3, name="shift", **kw)(inp)
        return Model(inp, Dense(2, name="out")(Flatten()(x)), seed=3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 6, 5, 2)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32)
    for kw in (dict(), dict(fill_mode="constant", fill_value=0.5, interpolation="nearest")):
        m = model(**kw)
        m.compile("adam", "mse")
        path = str(tmp_path / "t.lfm")
        m.save(path)
        m2 = load_model(path)
        m2.compile("adam", "mse")
        l2 = m2.get_layer("shift")
        assert (l2.fill_mode, l2.interpolation, l2.fill_value, l2._whole_pixels) == \
            (kw.get("fill_mode", "reflect"), kw.get("interpolation", "bilinear"), kw.get("fill_value", 0.0), False)
        assert l2._height == pytest.approx((-0.2, 0.4)) and l2._width == pytest.approx((-0.3, 0.3))
        m.fit(x, y, epochs=2, batch_size=8, verbose=0)
        m2.fit(x, y, epochs=2, batch_size=8, verbose=0)
        assert np.array_equal(m.predict(x), m2.predict(x))

    # lf_random_translation's form (a C model's file): whole-pixel shifts
    import ctypes
    from latefuse._lib import lib
    h = ctypes.c_void_p()
    assert lib.lf_model_create(ctypes.byref(h), 1) == 0
    i = lib.lf_input_shape(h, 3, (ctypes.c_size_t * 3)(6, 5, 2), 0, b"x")
    o = lib.lf_dense(h, lib.lf_flatten(h, lib.lf_random_translation(h, i, 0.2, 0.1, b"shift"), b"f"), 2, 0, 1,
                     b"out")
    path = str(tmp_path / "c.lfm")
    assert o >= 0 and lib.lf_model_save(h, path.encode(), 0) == 0
    lib.lf_model_free(h)
    l2 = load_model(path).get_layer("shift")
    assert l2._whole_pixels and (l2.fill_mode, l2.interpolation) == ("constant", "nearest")


def test_reshape_minus_one():
    """Keras' Reshape with one -1: inferred from the input's size; two -1s
    or a size that does not divide are refused, naming the layer."""
    inp = Input((6, 5, 3))
    assert Reshape((-1, 3))(inp).shape == (None, 30, 3)
    assert Reshape((2, -1, 5))(inp).shape == (None, 2, 9, 5)
    r = Reshape((-1,))
    out = r(inp)
    assert out.shape == (None, 90) and r.get_config()["target_shape"] == [-1]
    m = Model(inp, Dense(2)(Reshape((-1, 15))(inp)), seed=0)
    x = np.arange(2 * 90, dtype=np.float32).reshape(2, 6, 5, 3) / 90
    assert m.predict(x).size == 2 * 6 * 2 and m.outputs[0].shape == (None, 6, 2)
    with pytest.raises(ValueError) as e:
        Reshape((-1, 3, -1))
    assert str(e.value) == "Reshape: target_shape (-1, 3, -1) has more than one -1"
    with pytest.raises(ValueError) as e:
        Reshape((7, -1))(inp)
    assert str(e.value) == ("Reshape: input of shape (None, 6, 5, 3) (90 values) cannot become (None, 7, -1): "
                            "90 is not a multiple of 7")
    with pytest.raises(ValueError) as e:
        Reshape((0, -1))
    assert str(e.value) == "Reshape: target_shape must be 1 to 5 dims >= 1 (one may be -1), got (0, -1)"


@pytest.mark.parametrize("center,scale", [(False, True), (True, False), (False, False)])
def test_batchnorm_center_scale(center, scale, tmp_path):
    """Keras' center=False drops beta, scale=False drops gamma: the weights
    are then [gamma], [beta] or none before the moving statistics, which
    stay non-trainable; the output is the full layer's with beta 0 / gamma
    1; get_config and the model file keep the settings."""
    x = np.random.default_rng(3).normal(size=(6, 2, 2, 3)).astype(np.float32)
    gamma, beta = np.array([1.5, -0.5, 2.0], np.float32), np.array([0.25, -1.0, 0.5], np.float32)
    mm, mv = np.array([0.1, 0.2, -0.3], np.float32), np.array([0.5, 2.0, 1.5], np.float32)
    inp = Input((2, 2, 3))
    bn = BatchNormalization(center=center, scale=scale, name="bn")
    m = Model(inp, Flatten()(bn(inp)))
    ws = [gamma] * scale + [beta] * center + [mm, mv]
    assert [w.shape for w in bn.get_weights()] == [(3,)] * len(ws)
    bn.set_weights(ws)
    assert len(bn.trainable_weights) == int(center) + int(scale) and len(bn.non_trainable_weights) == 2
    assert bn.count_params() == 3 * len(ws)
    full = BatchNormalization(name="bn")
    mf = Model(inp, Flatten()(full(inp)))
    full.set_weights([gamma if scale else np.ones(3, np.float32), beta if center else np.zeros(3, np.float32), mm, mv])
    p = m.predict(x, verbose=0)
    assert np.array_equal(p, mf.predict(x, verbose=0))
    want = ((x - mm) / np.sqrt(mv + 1e-3) * (gamma if scale else 1) + (beta if center else 0)).reshape(6, -1)
    np.testing.assert_allclose(p, want, rtol=1e-5, atol=1e-5)
    cfg = bn.get_config()
    assert cfg["center"] is center and cfg["scale"] is scale
    assert BatchNormalization.from_config(cfg).center is center
    path = os.path.join(str(tmp_path), "bn.lf")
    m.save(path)
    m2 = load_model(path)
    bn2 = m2.get_layer("bn")
    assert (bn2.center, bn2.scale) == (center, scale) and len(bn2.get_weights()) == len(ws)
    assert np.array_equal(m2.predict(x, verbose=0), p)


def test_conv2d_kernel_regularizer(tmp_path):
    """Conv2D(kernel_regularizer=l2(x)), as Dense's: x * sum(kernel**2) in
    the loss, kept by get_config and the model file"""
    from latefuse.regularizers import l2
    x = np.random.default_rng(0).normal(size=(5, 4, 4, 2)).astype(np.float32)
    y = np.zeros((5, 1), np.float32)
    losses = []
    for reg in (None, l2(0.1)):
        inp = Input((4, 4, 2))
        conv = Conv2D(3, 2, kernel_regularizer=reg, name="c")
        m = Model(inp, Dense(1)(Flatten()(conv(inp))), seed=1)
        m.compile(loss="mse")
        losses.append(m.evaluate(x, y, verbose=0))
    assert losses[1] - losses[0] == pytest.approx(0.1 * np.sum(conv.get_weights()[0].astype(np.float64) ** 2),
                                                  rel=1e-5)
    assert conv.get_config()["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.1}}
    path = os.path.join(str(tmp_path), "c.lf")
    m.save(path)
    m2 = load_model(path)
    m2.compile(loss="mse")
    assert m2.get_layer("c").l2 == pytest.approx(0.1)
    assert m2.evaluate(x, y, verbose=0) == pytest.approx(losses[1], rel=1e-6)
    with pytest.raises(ValueError, match="Conv2D: kernel_regularizer must be latefuse.regularizers.L1, L2 or L1L2"):
        Conv2D(3, 2, kernel_regularizer=lambda w: 0.0)  # a function of one's own: Keras' penalty is computed in C


def _norm_model(layer, shape):
    inp = Input(shape)
    return Model(inp, layer(inp))


def test_normalization_keras_examples():
    """the examples of Keras 3's Normalization docstring
    (keras/src/layers/preprocessing/normalization.py)"""
    from latefuse.layers import Normalization
    adapt = np.array([[0., 7., 4.], [2., 9., 6.], [0., 7., 4.], [2., 9., 6.]], dtype="float32")
    ly = Normalization(axis=-1)
    ly.adapt(adapt)
    np.testing.assert_array_equal(_norm_model(ly, (3,)).predict(np.array([[0., 7., 4.]], "float32")), [[-1, -1, -1]])
    ly = Normalization(axis=-1, invert=True)
    ly.adapt(adapt)
    np.testing.assert_array_equal(_norm_model(ly, (3,)).predict(np.array([[1., 2., 3.]], "float32")), [[2, 10, 8]])
    x = np.array([[1.], [2.], [3.]], dtype="float32")
    y = _norm_model(Normalization(mean=3., variance=2.), (1,)).predict(x)
    np.testing.assert_allclose(y[:, 0], [-1.4142135, -0.70710677, 0.], rtol=1e-7)
    ly = Normalization(axis=None)
    ly.adapt(np.array([1., 2., 3., 4., 5.], dtype="float32").reshape(5, 1))
    y = _norm_model(ly, (1,)).predict(x)
    np.testing.assert_allclose(y[:, 0], [-1.4142135, -0.70710677, 0.], rtol=1e-7)
    assert ly.get_weights()[0].shape == ()  # Keras' shape for axis=None


def test_normalization_images(tmp_path):
    """axis=(1, -1) on images against numpy's rule; adapt from batches
    (Keras' running combination) equals adapt of the whole; fixed weights
    through fit; save/load, get_config; adapt after build; the epsilon"""
    from latefuse.layers import Normalization
    rng = np.random.default_rng(3)
    data = (rng.normal(size=(40, 4, 5, 3)) * [1, 10, 0.1] + [5, -2, 0]).astype("float32")
    whole = Normalization(axis=(1, -1))
    whole.adapt(data)
    parts = Normalization(axis=(1, -1))
    parts.adapt([data[:7], data[7:30], data[30:]])
    mean, var = data.astype(np.float64).mean(axis=(0, 2)), data.astype(np.float64).var(axis=(0, 2))
    inp = Input((4, 5, 3))
    m = Model(inp, Dense(2)(Flatten()(parts(inp))), seed=1)
    w = parts.get_weights()
    assert [a.shape for a in w] == [(4, 3), (4, 3)]
    np.testing.assert_allclose(w[0], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w[1], var, rtol=1e-5)
    m2 = _norm_model(whole, (4, 5, 3))
    want = (data - whole.get_weights()[0][:, None, :]) / np.maximum(np.sqrt(whole.get_weights()[1]), 1e-7)[:, None, :]
    np.testing.assert_array_equal(m2.predict(data), want.astype("float32"))
    assert parts.trainable_weights == [] and len(parts.non_trainable_weights) == 2
    m.compile("adam", "mse")
    m.fit(data, rng.normal(size=(40, 2)).astype("float32"), epochs=2, batch_size=8, verbose=0)
    for a, b in zip(parts.get_weights(), w):
        np.testing.assert_array_equal(a, b)
    p = m.predict(data)
    m.save(tmp_path / "n.lf")
    m3 = load_model(tmp_path / "n.lf")
    np.testing.assert_array_equal(m3.predict(data), p)
    cfg = parts.get_config()
    assert cfg["axis"] == [1, -1] and cfg["mean"] is None and cfg["invert"] is False
    assert Normalization.from_config(cfg).axis == (1, -1)
    # adapt once the model is built: its weights change at once
    parts.adapt(data * 2)
    np.testing.assert_allclose(parts.get_weights()[0], 2 * mean, rtol=1e-5, atol=1e-6)
    assert not np.array_equal(m.predict(data), p)
    # a variance below 1e-14: max(sqrt(variance), 1e-7)
    y = _norm_model(Normalization(mean=[0., 1.], variance=[0., 1e-16]), (2,)).predict(np.array([[1., 2.]], "float32"))
    np.testing.assert_array_equal(y, np.array([[1 / np.float32(1e-7), 1 / np.float32(1e-7)]], "float32"))
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        Normalization(mean=1.)
    with pytest.raises(ValueError, match="batch axis"):
        Normalization(axis=0)(Input((3,)))
    # mean and variance that do not broadcast to the kept axes: refused when called, naming the layer
    with pytest.raises(ValueError, match=r"Normalization: mean and variance of shape \(3,\) do not broadcast to "
                                         r"the kept axes' shape \(5,\) \(axis \(-1,\) of the input \(None, 5\)\)"):
        Normalization(mean=[1., 2., 3.], variance=[1., 1., 1.])(Input((5,)))
    assert Normalization(axis=(1, 2), mean=[1., 2.], variance=[1., 1.])(Input((4, 2))).shape == (None, 4, 2)
    assert Normalization(axis=(1, 2), mean=[[1.], [2.], [3.], [4.]], variance=np.ones((4, 1)))(
        Input((4, 2))).shape == (None, 4, 2)


def test_random_contrast_brightness_keras_arguments(tmp_path):
    """Keras 3's _set_factor (base_image_preprocessing_layer.py): RandomContrast's
    bounds (0, 1) make a number f (0, f), so the factor is in [1, 1 + f];
    RandomBrightness' (-1, 1) make it (-|f|, |f|); pairs sorted; brightness
    sorts value_range, contrast keeps it.  get_config / from_config, the
    refusals, a fit, inference the identity (unclipped) and load_model."""
    from latefuse.layers import RandomBrightness, RandomContrast
    c = RandomContrast(0.3)
    assert c.factor == (0.0, 0.3) and c.value_range == (0, 255)
    assert RandomContrast((0.5, 0.2)).factor == (0.2, 0.5)
    assert RandomContrast((-0.5, 0.5)).factor == (-0.5, 0.5)  # Keras checks factor[0] <= 1, factor[1] >= 0 only
    b = RandomBrightness(-0.4, value_range=(1, 0))
    assert b.factor == (-0.4, 0.4) and b.value_range == [0.0, 1.0]
    assert RandomBrightness(None).factor == (0.0, 0.0)  # Keras' base layer: factor or 0.0
    cfg = c.get_config()
    assert cfg["factor"] == [0.0, 0.3] and cfg["value_range"] == [0, 255] and cfg["seed"] is None
    assert RandomContrast.from_config(cfg).factor == c.factor
    cfg = b.get_config()
    assert cfg["factor"] == [-0.4, 0.4] and cfg["value_range"] == [0.0, 1.0]
    assert RandomBrightness.from_config(cfg).factor == b.factor
    for cls, kw, msg in [
            (RandomContrast, dict(factor=1.5),
             "RandomContrast: factor must be a number (or a list of two numbers) in the range [0, 1], got 1.5"),
            (RandomContrast, dict(factor=-0.1),
             "RandomContrast: factor must be a number (or a list of two numbers) in the range [0, 1], got -0.1"),
            (RandomContrast, dict(factor=(1.5, 2.0)),
             "RandomContrast: factor must be a number (or a list of two numbers) in the range [0, 1], got (1.5, 2.0)"),
            (RandomBrightness, dict(factor=(0.1, 0.2, 0.3)),
             "RandomBrightness: factor must be a number (or a list of two numbers) in the range [-1, 1], "
             "got (0.1, 0.2, 0.3)"),
            (RandomBrightness, dict(factor=0.2, value_range=5),
             "RandomBrightness: value_range must be a list of two finite numbers, got 5"),
            (RandomContrast, dict(factor=0.2, seed=3), "RandomContrast: draws come from the model's seed (seed=None)")]:
        with pytest.raises(ValueError) as e:
            cls(**kw)
        assert str(e.value) == msg
    inp = Input((6, 5, 3))
    x = RandomContrast((0.2, 0.6), value_range=(0, 1), name="contrast")(inp)
    x = RandomBrightness(0.3, value_range=(0, 1), name="bright")(x)
    out = Dense(2)(Flatten()(x))
    m = Model(inp, out, seed=3)
    m.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    xs = rng.uniform(0, 1, (16, 6, 5, 3)).astype(np.float32)
    xs[0, 0, 0] = 3.0  # outside value_range: inference keeps it
    ys = rng.normal(size=(16, 2)).astype(np.float32)
    h = m.fit(xs, ys, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(h.history["loss"]))
    direct = Model(inp, x)
    np.testing.assert_array_equal(direct.predict(xs, verbose=0), xs)
    path = str(tmp_path / "c.lf")
    m.save(path)
    l = load_model(path)
    np.testing.assert_array_equal(l.predict(xs, verbose=0), m.predict(xs, verbose=0))
    lc, lb = l.get_layer("contrast"), l.get_layer("bright")
    assert type(lc) is RandomContrast and lc.factor == (0.2, 0.6) and list(lc.value_range) == [0.0, 1.0]
    assert type(lb) is RandomBrightness and lb.factor == (-0.3, 0.3) and lb.value_range == [0.0, 1.0]


def test_random_zoom_keras_arguments(tmp_path):
    """Keras 3's RandomZoom (random_zoom.py): _set_factor takes a pair's
    numbers in (-1, 1] and sorts them, a number f in (-1, 1] is [-|f|, |f|];
    width_factor=None shares the height's draw.  Its refusals (Keras'
    exception types), get_config / from_config, a fit, inference the
    identity, and the settings through a file to the same bits."""
    from latefuse.layers import RandomZoom
    z = RandomZoom(0.2)
    assert (z.width_factor, z.fill_mode, z.interpolation, z.fill_value, z.seed) == (None, "reflect", "bilinear", 0.0,
                                                                                     None)
    assert z._height == (-0.2, 0.2) and z._width == z._height
    assert RandomZoom(-0.4, (0.3, -0.1))._height == (-0.4, 0.4)
    assert RandomZoom(-0.4, (0.3, -0.1))._width == (-0.1, 0.3)
    assert RandomZoom(1.0)._height == (-1.0, 1.0)  # Keras checks the number, not the range
    cfg = RandomZoom((0.1, -0.3), 0.5, fill_mode="constant", fill_value=0.5).get_config()
    assert cfg["height_factor"] == [0.1, -0.3] and cfg["width_factor"] == 0.5 and cfg["fill_value"] == 0.5
    assert RandomZoom.from_config(cfg)._height == pytest.approx((-0.3, 0.1))
    bad = [
        (dict(height_factor=-1.0), ValueError,
         "RandomZoom: height_factor must be a number (or a list of two numbers) in the range (-1.0, 1.0], got -1.0"),
        (dict(height_factor=(-1.0, 0.2)), ValueError,
         "RandomZoom: height_factor must be a number (or a list of two numbers) in the range (-1.0, 1.0], "
         "got (-1.0, 0.2)"),
        (dict(height_factor=0.1, width_factor=1.5), ValueError,
         "RandomZoom: width_factor must be a number (or a list of two numbers) in the range (-1.0, 1.0], got 1.5"),
        (dict(height_factor=0.1, width_factor=(0.1, 0.2, 0.3)), ValueError,
         "RandomZoom: width_factor must be a number (or a list of two numbers) in the range (-1.0, 1.0], "
         "got (0.1, 0.2, 0.3)"),
        (dict(height_factor=0.1, fill_mode="mirror"), NotImplementedError,
         "RandomZoom: unknown fill_mode 'mirror'; expected one of 'reflect', 'wrap', 'nearest', 'constant'"),
        (dict(height_factor=0.1, interpolation="bicubic"), NotImplementedError,
         "RandomZoom: unknown interpolation 'bicubic'; expected one of 'bilinear', 'nearest'"),
        (dict(height_factor=0.1, seed=3), ValueError, "RandomZoom: draws come from the model's seed (seed=None)"),
        (dict(height_factor=0.1, fill_value=float("inf")), ValueError,
         "RandomZoom: fill_value must be a finite number, got inf"),
        (dict(height_factor=0.1, data_format="channels_first"), ValueError,
         "RandomZoom: data_format must be 'channels_last' (images (H, W, C)), got 'channels_first'"),
    ]
    for kw, exc, msg in bad:
        with pytest.raises(exc) as e:
            RandomZoom(**kw)
        assert str(e.value) == msg

    def model(**kw):
        inp = Input((6, 5, 2))
        x = RandomZoom(name="zoom", **kw)(inp)
        return inp, x, Model(inp, Dense(2, name="out")(Flatten()(x)), seed=3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 6, 5, 2)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32)
    for kw in (dict(height_factor=(-0.2, 0.4)), dict(height_factor=1.0, width_factor=(0.3, -0.5), fill_mode="constant",
                                                    fill_value=0.5, interpolation="nearest")):
        inp, out, m = model(**kw)
        m.compile("adam", "mse")
        np.testing.assert_array_equal(Model(inp, out).predict(x, verbose=0), x)  # inference: the identity
        path = str(tmp_path / "z.lfm")
        m.save(path)
        m2 = load_model(path)
        m2.compile("adam", "mse")
        l1, l2 = m.get_layer("zoom"), m2.get_layer("zoom")
        assert type(l2) is RandomZoom
        assert (l2.fill_mode, l2.interpolation, l2.fill_value) == (l1.fill_mode, l1.interpolation, l1.fill_value)
        assert l2._height == pytest.approx(l1._height) and l2._width == pytest.approx(l1._width)
        assert (l2.width_factor is None) == (l1.width_factor is None)
        assert RandomZoom.from_config(l2.get_config())._height == pytest.approx(l1._height)
        h = m.fit(x, y, epochs=2, batch_size=8, verbose=0)
        m2.fit(x, y, epochs=2, batch_size=8, verbose=0)
        assert np.all(np.isfinite(h.history["loss"]))
        assert np.array_equal(m.predict(x), m2.predict(x))


def test_random_rotation_keras_arguments(tmp_path):
    """Keras 3's RandomRotation (random_rotation.py, _set_factor of
    base_image_preprocessing_layer.py with bounds (-1, 1)): a number f is
    (-|f|, |f|), a pair with factor[0] <= 1 and factor[1] >= -1 sorted.  Its
    refusals (Keras' exception types), get_config / from_config, a fit,
    inference the identity, and the settings through a file to the same
    bits."""
    from latefuse.layers import RandomRotation
    r = RandomRotation(0.2)
    assert r.factor == (-0.2, 0.2) and (r.fill_mode, r.interpolation, r.fill_value, r.seed) == \
        ("reflect", "bilinear", 0.0, None)
    assert RandomRotation(-0.3).factor == (-0.3, 0.3)
    assert RandomRotation((-3.0, 0.5)).factor == (-3.0, 0.5)  # Keras checks factor[0] <= 1, factor[1] >= -1 only
    cfg = RandomRotation((0.1, -0.25), fill_mode="wrap").get_config()
    assert cfg["factor"] == [-0.25, 0.1] and cfg["fill_mode"] == "wrap" and cfg["seed"] is None
    assert RandomRotation.from_config(cfg).factor == (-0.25, 0.1)
    bad = [
        (dict(factor=1.5), ValueError,
         "RandomRotation: factor must be a number (or a list of two numbers) in the range [-1, 1], got 1.5"),
        (dict(factor=(2.0, 3.0)), ValueError,
         "RandomRotation: factor must be a number (or a list of two numbers) in the range [-1, 1], got (2.0, 3.0)"),
        (dict(factor=0.1, fill_mode="mirror"), NotImplementedError,
         "RandomRotation: unknown fill_mode 'mirror'; expected one of 'reflect', 'wrap', 'nearest', 'constant'"),
        (dict(factor=0.1, interpolation="bicubic"), NotImplementedError,
         "RandomRotation: unknown interpolation 'bicubic'; expected one of 'bilinear', 'nearest'"),
        (dict(factor=0.1, seed=3), ValueError, "RandomRotation: draws come from the model's seed (seed=None)"),
        (dict(factor=0.1, fill_value=float("nan")), ValueError,
         "RandomRotation: fill_value must be a finite number, got nan"),
        (dict(factor=0.1, data_format="channels_first"), ValueError,
         "RandomRotation: data_format must be 'channels_last' (images (H, W, C)), got 'channels_first'"),
    ]
    for kw, exc, msg in bad:
        with pytest.raises(exc) as e:
            RandomRotation(**kw)
        assert str(e.value) == msg

    rng = np.random.default_rng(0)
    inp = Input((6, 5, 2))
    out = RandomRotation((-0.2, 0.4), fill_mode="constant", fill_value=0.5, interpolation="nearest", name="rot")(inp)
    m = Model(inp, Dense(2, name="out")(Flatten()(out)), seed=3)
    m.compile("adam", "mse")
    x, y = rng.normal(size=(16, 6, 5, 2)).astype(np.float32), rng.normal(size=(16, 2)).astype(np.float32)
    np.testing.assert_array_equal(Model(inp, out).predict(x, verbose=0), x)
    path = str(tmp_path / "r.lfm")
    m.save(path)
    m2 = load_model(path)
    m2.compile("adam", "mse")
    l2 = m2.get_layer("rot")
    assert type(l2) is RandomRotation and l2.factor == pytest.approx((-0.2, 0.4))
    assert (l2.fill_mode, l2.interpolation, l2.fill_value) == ("constant", "nearest", 0.5)
    h = m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    m2.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(h.history["loss"]))
    assert np.array_equal(m.predict(x), m2.predict(x))
