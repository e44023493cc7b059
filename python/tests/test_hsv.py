"""
test_hsv.py — Keras 3's RandomSaturation, RandomHue and
RandomColorDegeneration (src/layers/hsv.c) in Python: the eager call (and
predict) the identity, as Keras' inference; a fit through a fixed-factor
layer the fit on the images that numpy, written from Keras' formulas
(keras/src/backend/numpy/image.py rgb_to_hsv / hsv_to_rgb /
rgb_to_grayscale and the layers' transform_images), makes; the same seed
the same weights; get_config / from_config with Keras' _set_factor; the
.lf and .keras round trips (a .keras as Keras 3 writes these layers read
in and written back); the exact errors.  RandomHue's sign is drawn per
image, so its fit has no fixed numpy counterpart: its values are checked
by tests/test_hsv.c against a double reference of the same formulas.
"""
import json
import os
import zipfile

import numpy as np
import pytest

import latefuse as keras
from latefuse import layers
from latefuse.models import Model, load_model

h5py = pytest.importorskip("h5py")  # python3-h5py (make deps); a skip fails under CI=true

from test_keras_file import entry, input_entry, call, tensor, keras_archive  # noqa: E402

KINDS = ("RandomSaturation", "RandomHue", "RandomColorDegeneration")


# ---- Keras' formulas in numpy (float32, as Keras' numpy backend)

def rgb_to_hsv(images):
    eps = np.finfo(np.float32).eps
    images = np.where(np.abs(images) < eps, np.float32(0), images).astype(np.float32)
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    value = np.maximum(np.maximum(r, g), b)
    rng = value - np.minimum(np.minimum(r, g), b)
    safe_value = np.where(value > 0, value, np.float32(1))
    safe_range = np.where(rng > 0, rng, np.float32(1))
    sat = np.where(value > 0, rng / safe_value, np.float32(0))
    norm = np.float32(1) / (np.float32(6) * safe_range)
    hue = np.where(value == g, norm * (b - r) + np.float32(2 / 6), norm * (r - g) + np.float32(4 / 6))
    hue = np.where(value == r, norm * (g - b), hue)
    hue = np.where(rng > 0, hue, np.float32(0)) + (hue < 0).astype(np.float32)
    return np.stack([hue, sat, value], axis=-1)


def hsv_to_rgb(images):
    h, s, v = images[..., 0], images[..., 1], images[..., 2]
    dh = np.mod(h, np.float32(1)) * np.float32(6)
    one = np.float32(1)
    dr = np.clip(np.abs(dh - 3) - one, 0, 1)
    dg = np.clip(2 - np.abs(dh - 2), 0, 1)
    db = np.clip(2 - np.abs(dh - 4), 0, 1)
    oms = one - s
    return np.stack([v * (oms + s * dr), v * (oms + s * dg), v * (oms + s * db)], axis=-1).astype(np.float32)


def keras_saturation(x, f, vr):
    k = np.float32(f) / (np.float32(1) - np.float32(f) + np.float32(1e-7))
    hsv = rgb_to_hsv(x)
    hsv[..., 1] = np.clip(hsv[..., 1] * k, vr[0], vr[1])
    return hsv_to_rgb(hsv)


def keras_degeneration(x, f, vr):
    gray = np.tensordot(x, np.array([0.2989, 0.5870, 0.1140], np.float32), axes=(-1, -1))[..., None]
    return np.clip(x + np.float32(f) * (gray - x), vr[0], vr[1]).astype(np.float32)


def _x(shape, seed=0, hi=1.0):
    return np.random.default_rng(seed).uniform(0, hi, size=shape).astype("float32")


def test_numpy_formulas_by_hand():
    """the numpy reference itself on a worked pixel: (0.8, 0.4, 0.2) has
    H (0.4 - 0.2) / (6 x 0.6) = 1 / 18, S 0.75; k 0.5 makes S 0.375: (0.8, 0.6, 0.5); the grey of (200, 100, 50)
    is 124.18"""
    p = np.array([[[[0.8, 0.4, 0.2]]]], np.float32)
    hsv = rgb_to_hsv(p)
    np.testing.assert_allclose(hsv[0, 0, 0], [1 / 18, 0.75, 0.8], rtol=1e-6)
    hsv[..., 1] *= 0.5
    np.testing.assert_allclose(hsv_to_rgb(hsv)[0, 0, 0], [0.8, 0.6, 0.5], rtol=1e-6)
    np.testing.assert_allclose(keras_degeneration(np.array([[[[200, 100, 50]]]], np.float32), 1.0, (0, 255)),
                               [[[[124.18] * 3]]], rtol=1e-6)


def test_eager_and_predict_are_the_identity():
    x = _x((2, 4, 5, 3), 1, 255)
    for lay in (layers.RandomSaturation(0.7), layers.RandomHue(0.5), layers.RandomColorDegeneration(1.0)):
        assert np.array_equal(lay(x), x), type(lay).__name__
    g = _x((2, 3, 3, 1), 2, 300)  # one channel, values past value_range: unclipped
    assert np.array_equal(layers.RandomColorDegeneration(0.5)(g), g)


def _dense_model(shape, aug):
    x = keras.Input(shape=shape)
    h = aug(x) if aug is not None else x
    return Model(x, layers.Dense(1, name="out")(layers.Flatten()(h)))


@pytest.mark.parametrize("kind,f,vr,ref", [
    ("RandomSaturation", 0.3, (0, 1), keras_saturation),
    ("RandomSaturation", 0.8, (0, 1), keras_saturation),  # S k past 1: clipped
    ("RandomColorDegeneration", 0.6, (0.1, 0.9), keras_degeneration),
    ("RandomColorDegeneration", -0.7, (0, 1), keras_degeneration),
])
def test_fit_through_a_fixed_factor_is_keras_map(kind, f, vr, ref):
    """factor (f, f): every image gets Keras' map by f; the fit equals the
    fit of the same Dense on numpy's images (float32 rounding apart)"""
    x = _x((24, 3, 4, 3), 5)
    y = x.mean(axis=(1, 2, 3))[:, None] * 2 - 1
    a = _dense_model((3, 4, 3), getattr(layers, kind)((f, f), value_range=vr))
    b = _dense_model((3, 4, 3), None)
    b.set_weights(a.get_weights())
    for m in (a, b):
        m.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    a.fit(x, y, batch_size=8, epochs=3, verbose=0, seed=3)
    b.fit(ref(x, f, vr), y, batch_size=8, epochs=3, verbose=0, seed=3)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    moved = max(np.abs(w).max() for w in a.get_weights())
    assert moved > 0.01


def _model():
    img = keras.Input(shape=(6, 6, 3), name="img")
    h = layers.RandomSaturation((0.2, 0.8), value_range=(0, 1), name="sat")(img)
    h = layers.RandomHue(0.3, value_range=(0, 1), name="hue")(h)
    h = layers.RandomColorDegeneration(0.5, value_range=(0, 1), name="deg")(h)
    h = layers.GlobalAveragePooling2D()(layers.Conv2D(3, 3, activation="tanh")(h))
    return Model(img, layers.Dense(1, name="out")(h))


def _data():
    x = _x((32, 6, 6, 3), 4)
    return x, (x[..., 0].mean(axis=(1, 2)) - x[..., 2].mean(axis=(1, 2)))[:, None]


def _fit(m, x, y):
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    return m.fit(x, y, batch_size=8, epochs=6, verbose=0, seed=3).history["loss"]


def test_fit_reproduces_and_round_trips(tmp_path):
    x, y = _data()
    m = _model()
    loss = _fit(m, x, y)
    assert np.isfinite(loss).all() and loss[-1] < loss[0], loss
    m2 = _model()
    _fit(m2, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), m2.get_weights()))  # same seed, same bits
    want = m.predict(x, verbose=0)
    for name in ("c.lf", "c.keras"):
        path = os.path.join(str(tmp_path), name)
        m.save(path)
        back = load_model(path)
        assert np.array_equal(back.predict(x, verbose=0), want), name
        for lay, k in (("sat", "RandomSaturation"), ("hue", "RandomHue"), ("deg", "RandomColorDegeneration")):
            assert type(back.get_layer(lay)).__name__ == k
            assert back.get_layer(lay).get_config() == m.get_layer(lay).get_config(), (name, lay)
    with zipfile.ZipFile(os.path.join(str(tmp_path), "c.keras")) as z:
        cfgs = {e["class_name"]: e["config"] for e in json.loads(z.read("config.json"))["config"]["layers"]}
    assert cfgs["RandomSaturation"]["factor"] == [0.2, 0.8] and cfgs["RandomSaturation"]["value_range"] == [0, 1]
    assert cfgs["RandomHue"]["factor"] == [0.0, 0.3]  # Keras' _set_factor with bounds (0, 1)
    assert cfgs["RandomColorDegeneration"]["factor"] == [-0.5, 0.5]
    assert cfgs["RandomHue"]["data_format"] == "channels_last"


@pytest.mark.parametrize("kind,cfg,ours", [
    ("RandomSaturation", {"factor": [0.2, 0.6], "value_range": [0, 255], "seed": 1234, "data_format": "channels_last"},
     lambda: layers.RandomSaturation((0.2, 0.6))),
    ("RandomHue", {"factor": [0.0, 0.4], "value_range": [255, 0], "seed": None, "data_format": "channels_last"},
     lambda: layers.RandomHue(0.4, value_range=(255, 0))),
    ("RandomColorDegeneration", {"factor": [-0.3, 0.3], "value_range": [0, 1], "seed": 7,
                                 "data_format": "channels_last"},
     lambda: layers.RandomColorDegeneration(0.3, value_range=(0, 1))),
])
def test_keras_file_as_keras_writes_it(kind, cfg, ours, tmp_path):
    """the layer's config as Keras 3 writes it (get_config: factor, the
    value_range as kept, seed, data_format) is read and predicts as ours;
    written back with the same values"""
    shape = (4, 5, 3)
    lays = [input_entry("x", shape), entry(kind, "lay", cfg, [call(tensor(shape, "x"))])]
    p = keras_archive(str(tmp_path / "k.keras"), lays, ["x", 0, 0], ["lay", 0, 0], {}, {})
    m = load_model(p)
    assert m.get_layer("lay").factor == tuple(cfg["factor"])
    assert m.get_layer("lay").value_range == cfg["value_range"]
    x = keras.Input(shape)
    ref = Model(x, ours()(x))
    xs = _x((2,) + shape, 3, 255)
    assert np.array_equal(m.predict(xs, verbose=0), ref.predict(xs, verbose=0))
    m.save(str(tmp_path / "back.keras"))
    with zipfile.ZipFile(str(tmp_path / "back.keras")) as z:
        back = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert back["class_name"] == kind
    assert {k: back["config"][k] for k in cfg} == cfg


def test_factor_rules_and_config():
    """Keras' _set_factor: RandomSaturation / RandomColorDegeneration bounds
    (-1, 1), a number f is (-|f|, |f|); RandomHue (0, 1), f is (0, f);
    pairs sorted; RandomHue keeps value_range as given, the others sort it"""
    assert layers.RandomSaturation(0.4).factor == (-0.4, 0.4)
    assert layers.RandomColorDegeneration(-0.4).factor == (-0.4, 0.4)
    assert layers.RandomHue(0.4).factor == (0.0, 0.4)
    assert layers.RandomHue((0.6, 0.1)).factor == (0.1, 0.6)
    assert layers.RandomSaturation(0.1, value_range=(1, 0)).value_range == [0.0, 1.0]
    assert layers.RandomHue(0.1, value_range=(1, 0)).value_range == [1.0, 0.0]
    for lay in (layers.RandomSaturation((0.1, 0.9), seed=3, name="a"), layers.RandomHue(0.2, name="b"),
                layers.RandomColorDegeneration(0.5, value_range=(0, 1), name="c")):
        cfg = lay.get_config()
        assert type(lay).from_config(cfg).get_config() == cfg
        assert cfg["data_format"] == "channels_last"
    for k in KINDS:
        assert k in layers.__all__


def test_errors():
    for kind, bounds, bad in (("RandomSaturation", "[-1, 1]", 1.5), ("RandomHue", "[0, 1]", -0.1),
                              ("RandomColorDegeneration", "[-1, 1]", (2, 3))):
        with pytest.raises(ValueError, match=r"^%s: factor must be a number \(or a list of two numbers\) in the "
                                             r"range %s, got %s$" % (kind, bounds.replace("[", r"\[").replace("]", r"\]"),
                                                                     repr(bad).replace("(", r"\(").replace(")", r"\)"))):
            getattr(layers, kind)(bad)
        with pytest.raises(ValueError, match=r"^%s: data_format must be 'channels_last'" % kind):
            getattr(layers, kind)(0.5, data_format="channels_first")
        with pytest.raises(ValueError, match=r"^%s: value_range must be a list of two finite numbers, got 5$" % kind):
            getattr(layers, kind)(0.5, value_range=5)
        with pytest.raises(ValueError, match=r"^%s: input of shape \(None, 4, 3\) must be \(batch, height, width, "
                                             r"channels\)$" % kind):
            getattr(layers, kind)(0.5)(keras.Input(shape=(4, 3)))
    x = keras.Input(shape=(4, 4, 1))  # the C builder's refusals
    with pytest.raises(keras.LatefuseError, match=r"^RandomHue: the images need 3 channels \(RGB, channels_last\), got 1"):
        Model(x, layers.RandomHue(0.5)(x))
    x = keras.Input(shape=(4, 4, 3))
    with pytest.raises(keras.LatefuseError, match=r"^RandomHue: value_range must have two different ends, got \[2, 2\]$"):
        Model(x, layers.RandomHue(0.5, value_range=(2, 2))(x))
    g = keras.Input(shape=(4, 4, 1))
    Model(g, layers.RandomColorDegeneration(0.5)(g))  # one channel: taken


# ---- RandomColorJitter

def test_jitter_fit_is_keras_sub_layers_in_order():
    """brightness (0.1, 0.1) then saturation (0.3, 0.3), fixed draws: the fit
    equals the fit on numpy's saturation(clip(x + 0.1)) (Keras' order:
    brightness, contrast, saturation, hue); eager and predict the identity"""
    x = _x((24, 3, 4, 3), 6)
    y = x.mean(axis=(1, 2, 3))[:, None] * 2 - 1
    jit = layers.RandomColorJitter(value_range=(0, 1), brightness_factor=(0.1, 0.1), saturation_factor=(0.3, 0.3))
    assert np.array_equal(jit(x), x)
    a = _dense_model((3, 4, 3), jit)
    b = _dense_model((3, 4, 3), None)
    b.set_weights(a.get_weights())
    assert np.array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    for m in (a, b):
        m.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    a.fit(x, y, batch_size=8, epochs=3, verbose=0, seed=3)
    b.fit(keras_saturation(np.clip(x + np.float32(0.1), 0, 1), 0.3, (0, 1)), y, batch_size=8, epochs=3, verbose=0,
          seed=3)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_jitter_round_trips(tmp_path):
    img = keras.Input(shape=(5, 5, 3), name="img")
    h = layers.RandomColorJitter(value_range=(0, 1), brightness_factor=0.2, contrast_factor=0.3,
                                 saturation_factor=(0.4, 0.6), hue_factor=0.1, name="jit")(img)
    m = Model(img, layers.Dense(1, name="out")(layers.Flatten()(h)))
    x = _x((16, 5, 5, 3), 8)
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    m.fit(x, x.mean(axis=(1, 2, 3))[:, None], batch_size=8, epochs=2, verbose=0, seed=1)
    want = m.predict(x, verbose=0)
    for name in ("j.lf", "j.keras"):
        path = os.path.join(str(tmp_path), name)
        m.save(path)
        back = load_model(path)
        assert np.array_equal(back.predict(x, verbose=0), want), name
        assert back.get_layer("jit")._ranges == [(-0.2, 0.2), (0.0, 0.3), (0.4, 0.6), (0.0, 0.1)], name
    with zipfile.ZipFile(os.path.join(str(tmp_path), "j.keras")) as z:
        cfg = json.loads(z.read("config.json"))["config"]["layers"][1]["config"]
    assert cfg["brightness_factor"] == 0.2 and cfg["saturation_factor"] == [0.4, 0.6] and cfg["value_range"] == [0, 1]
    # as Keras 3 writes it: the factors as given, None for the absent
    shape = (4, 4, 3)
    kcfg = {"value_range": [0, 255], "brightness_factor": None, "contrast_factor": [0.1, 0.2],
            "saturation_factor": None, "hue_factor": 0.25, "seed": 5, "data_format": "channels_last"}
    p = keras_archive(str(tmp_path / "k.keras"), [input_entry("x", shape), entry("RandomColorJitter", "lay", kcfg,
                      [call(tensor(shape, "x"))])], ["x", 0, 0], ["lay", 0, 0], {}, {})
    lay = load_model(p).get_layer("lay")
    assert lay._ranges == [None, (0.1, 0.2), None, (0.0, 0.25)]
    load_model(p).save(str(tmp_path / "back.keras"))
    with zipfile.ZipFile(str(tmp_path / "back.keras")) as z:
        back = json.loads(z.read("config.json"))["config"]["layers"][1]["config"]
    assert {k: back[k] for k in kcfg} == kcfg


def test_jitter_errors():
    with pytest.raises(ValueError, match=r"^RandomColorJitter: hue_factor \(RandomHue\): factor must be a number "
                                         r"\(or a list of two numbers\) in the range \[0, 1\], got -0.2$"):
        layers.RandomColorJitter(hue_factor=-0.2)
    with pytest.raises(ValueError, match=r"^RandomColorJitter: brightness_factor \(RandomBrightness\): factor must "
                                         r"be a number"):
        layers.RandomColorJitter(brightness_factor=(1, 2, 3))
    with pytest.raises(ValueError, match=r"^RandomColorJitter: data_format must be 'channels_last'"):
        layers.RandomColorJitter(data_format="channels_first")
    with pytest.raises(ValueError, match=r"^RandomColorJitter: value_range must be a list of two finite numbers"):
        layers.RandomColorJitter(value_range=(0, float("inf")))
    g = keras.Input(shape=(4, 4, 1))
    with pytest.raises(keras.LatefuseError, match=r"^RandomColorJitter: the images need 3 channels \(RGB, "
                                                  r"channels_last\) with a saturation_factor or hue_factor, got 1$"):
        Model(g, layers.RandomColorJitter(saturation_factor=0.5)(g))
    Model(g, layers.RandomColorJitter(brightness_factor=0.5, contrast_factor=0.5)(g))  # one channel: taken
