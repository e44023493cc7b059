"""
test_color_ops.py — Keras 3's RandomGrayscale, RandomInvert, Solarization
and AutoContrast (src/layers/color_ops.c) in Python: eager values against
numpy written from Keras' formulas (AutoContrast, which runs at inference
as Keras; the random three are the identity there), Keras' argument
handling and get_config / from_config, a model of all four that trains and
reproduces its weights from its seed, the .lf and .keras round trips (bit
for bit; a .keras written as Keras 3 writes these layers read in), the
exact errors.  The training maps are checked in C (tests/test_color_ops.c).
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

NAMES = ("RandomGrayscale", "RandomInvert", "Solarization", "AutoContrast")


def _x(shape, lo=0.0, hi=255.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, size=shape).astype("float32")


def _auto_contrast(images, value_range):
    """keras/src/layers/preprocessing/image_preprocessing/auto_contrast.py
    transform_images in float32 numpy"""
    lo, hi = np.float32(value_range[0]), np.float32(value_range[1])
    f = np.float32
    x = images
    if (value_range[0], value_range[1]) != (0, 255):
        x = (x - lo) / (hi - lo)
        x = x * f(255) + f(0)
    low = x.min(axis=(1, 2), keepdims=True)
    high = x.max(axis=(1, 2), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = f(255.0) / (high - low)
        offset = -low * scale
        r = np.clip(x * scale + offset, f(0), f(255))
        if (value_range[0], value_range[1]) != (0, 255):
            r = (r - f(0)) / (f(255) - f(0))
            r = r * (hi - lo) + lo
    return np.where(np.isnan(r), images, r)


def test_eager_values_against_numpy():
    x = _x((3, 5, 4, 3))
    x[1, :, :, 2] = 7.0  # a constant channel: Keras' NaN, the input kept
    for vr in ((0, 255), (-1, 2), (0, 1)):
        xi = x if vr == (0, 255) else (x / 255 * (vr[1] - vr[0]) + vr[0]).astype("float32")
        got = layers.AutoContrast(value_range=vr)(xi)
        np.testing.assert_allclose(got, _auto_contrast(xi, vr), rtol=1e-6, atol=1e-5 * (vr[1] - vr[0]))
        assert np.array_equal(got[1, :, :, 2], xi[1, :, :, 2])
    y = layers.AutoContrast()(x)
    assert np.allclose(y[0].min(axis=(0, 1)), 0) and np.allclose(y[0].max(axis=(0, 1)), 255, rtol=1e-6)
    # by hand: (10, 200, 105) -> (0, 255, 127.5)
    hand = np.array([[[[10.0], [200.0], [105.0]]]], "float32")
    np.testing.assert_allclose(layers.AutoContrast()(hand)[0, 0, :, 0], [0, 255, 127.5], rtol=1e-6)
    # the random three: the identity outside training (Keras' transform_images with training False)
    for lay in (layers.RandomGrayscale(1.0), layers.RandomInvert(), layers.Solarization(0.5, 0.5)):
        assert np.array_equal(lay(x), x), type(lay).__name__


def test_arguments_and_config_round_trip():
    assert layers.RandomGrayscale().factor == 0.5
    assert layers.RandomInvert().factor == (0.0, 1.0)  # Keras' _set_factor: f -> (0, f)
    assert layers.RandomInvert((0.7, 0.2)).factor == (0.2, 0.7)
    assert layers.RandomInvert((-0.5, 2.0)).factor == (-0.5, 2.0)  # Keras checks factor[0] <= 1, factor[1] >= 0
    s = layers.Solarization(0.3, (0.9, 0.1), value_range=(1, 0))
    assert s.addition_factor == (0.0, 0.3) and s.threshold_factor == (0.1, 0.9) and s.value_range == [0.0, 1.0]
    assert layers.Solarization().addition_factor == (0.0, 0.0) and layers.Solarization().value_range == [0, 255]
    assert layers.AutoContrast((255, 0)).value_range == [0, 255]
    made = [layers.RandomGrayscale(0.25, seed=3, name="g"), layers.RandomInvert(0.5, (-1, 1), name="i"),
            layers.Solarization((0.1, 0.2), 0.4, (0, 1), seed=5, name="s"), layers.AutoContrast((0, 1), name="a")]
    for lay in made:
        cfg = lay.get_config()
        assert type(lay).from_config(cfg).get_config() == cfg
    assert made[1].get_config()["factor"] == [0.0, 0.5] and made[1].get_config()["value_range"] == [-1, 1]
    assert made[2].get_config()["addition_factor"] == [0.1, 0.2] and made[2].get_config()["seed"] == 5
    for k in NAMES:
        assert k in layers.__all__
    img = keras.Input(shape=(6, 5, 3))
    for lay in made:
        assert lay(img).shape == (None, 6, 5, 3)
    assert layers.RandomGrayscale()(keras.Input(shape=(6, 5, 1))).shape == (None, 6, 5, 1)


def _model():
    img = keras.Input(shape=(8, 8, 3), name="img")
    h = layers.RandomGrayscale(0.25, name="gray")(img)
    h = layers.RandomInvert(0.4, name="inv")(h)
    h = layers.Solarization(0.1, (0.3, 0.9), name="sol")(h)
    h = layers.AutoContrast(name="auto")(h)
    h = layers.Rescaling(1 / 255)(h)
    h = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="tanh")(h))
    return Model(img, layers.Dense(1, name="out")(h))


def _data():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 255, (32, 8, 8, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) / 255 - 0.5)[:, None].astype("float32")
    return x, y


def _fit(m, x, y):
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    return m.fit(x, y, batch_size=8, epochs=8, verbose=0, seed=3).history["loss"]


def test_fit_reproduces_and_round_trips(tmp_path):
    x, y = _data()
    m = _model()
    loss = _fit(m, x, y)
    assert all(np.isfinite(loss)), loss
    m2 = _model()
    _fit(m2, x, y)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), m2.get_weights()))  # same seed, same bits
    want = m.predict(x, verbose=0)
    for name in ("c.lf", "c.keras"):
        path = os.path.join(str(tmp_path), name)
        m.save(path)
        back = load_model(path)
        assert np.array_equal(back.predict(x, verbose=0), want), name
        kinds = [type(lay).__name__ for lay in back.layers]
        for k in NAMES:
            assert k in kinds, (name, kinds)
        assert back.get_layer("sol").threshold_factor == pytest.approx((0.3, 0.9)), name
        assert back.get_layer("inv").factor == pytest.approx((0.0, 0.4)), name
        assert back.get_layer("gray").factor == 0.25, name
    with zipfile.ZipFile(os.path.join(str(tmp_path), "c.keras")) as z:
        cfgs = {e["class_name"]: e["config"] for e in json.loads(z.read("config.json"))["config"]["layers"]}
    assert cfgs["Solarization"]["addition_factor"] == [0.0, 0.1]
    assert cfgs["RandomInvert"]["factor"] == [0.0, 0.4] and cfgs["AutoContrast"]["value_range"] == [0, 255]


@pytest.mark.parametrize("kind,cfg,ours", [
    ("RandomGrayscale", {"factor": 0.3, "data_format": "channels_last"}, lambda: layers.RandomGrayscale(0.3)),
    ("RandomInvert", {"factor": [0.1, 0.6], "value_range": [0, 1], "seed": None, "data_format": "channels_last"},
     lambda: layers.RandomInvert((0.1, 0.6), (0, 1))),
    ("Solarization", {"value_range": [0, 255], "addition_factor": [0, 0.2], "threshold_factor": [0.25, 0.75],
                      "seed": 17, "data_format": "channels_last"},
     lambda: layers.Solarization(0.2, (0.25, 0.75))),
    ("AutoContrast", {"value_range": [-1, 1], "data_format": "channels_last"},
     lambda: layers.AutoContrast((-1, 1))),
])
def test_keras_file_as_keras_writes_it(kind, cfg, ours, tmp_path):
    """the layer's config as Keras 3 writes it (base_image_preprocessing_layer
    adds data_format; RandomInvert and Solarization their seed) is read and
    predicts as ours; written back with the same values"""
    shape = (4, 5, 3)
    lays = [input_entry("x", shape), entry(kind, "lay", cfg, [call(tensor(shape, "x"))])]
    p = keras_archive(str(tmp_path / "k.keras"), lays, ["x", 0, 0], ["lay", 0, 0], {}, {})
    m = load_model(p)
    x = keras.Input(shape)
    ref = Model(x, ours()(x))
    xs = _x((2,) + shape, -1, 1, 3)
    want = ref.predict(xs, verbose=0)
    assert np.array_equal(m.predict(xs, verbose=0), want)
    if kind == "AutoContrast":
        np.testing.assert_allclose(want, _auto_contrast(xs, (-1, 1)), rtol=1e-6, atol=1e-5)
    else:
        assert np.array_equal(want, xs)
    m.save(str(tmp_path / "back.keras"))
    with zipfile.ZipFile(str(tmp_path / "back.keras")) as z:
        back = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert back["class_name"] == kind
    for k, v in cfg.items():
        if k != "seed":
            assert back["config"][k] == pytest.approx(v) if isinstance(v, list) else back["config"][k] == v, k


def test_errors():
    cases = [
        (lambda: layers.RandomGrayscale(1.5), "RandomGrayscale: `factor` should be between 0 and 1, got 1.5"),
        (lambda: layers.RandomGrayscale()(keras.Input(shape=(4, 4, 4))),
         "RandomGrayscale: images need 3 channels (RGB) or 1 (grayscale), got 4"),
        (lambda: layers.RandomGrayscale(data_format="channels_first"),
         "RandomGrayscale: data_format must be 'channels_last' (images are (batch, height, width, channels) here), "
         "got 'channels_first'"),
        (lambda: layers.RandomInvert(1.5),
         "RandomInvert: factor must be a number (or a list of two numbers) in the range [0, 1], got 1.5"),
        (lambda: layers.RandomInvert(0.5, value_range=5),
         "RandomInvert: value_range must be a list of two finite numbers, got 5"),
        (lambda: layers.Solarization(1.5),
         "Solarization: addition_factor must be a number (or a list of two numbers) in the range [0, 1], got 1.5"),
        (lambda: layers.Solarization(0.1, (0.2, 0.3, 0.4)),
         "Solarization: threshold_factor must be a number (or a list of two numbers) in the range [0, 1], "
         "got (0.2, 0.3, 0.4)"),
        (lambda: layers.Solarization(value_range=(1, 1)),
         "Solarization: value_range must be two different numbers, got (1, 1)"),
        (lambda: layers.AutoContrast(value_range=(0, 1, 2)),
         "AutoContrast: value_range must be a list of two finite numbers, got (0, 1, 2)"),
        (lambda: layers.AutoContrast(data_format="channels_first"),
         "AutoContrast: data_format must be 'channels_last' (images are (batch, height, width, channels) here), "
         "got 'channels_first'"),
        (lambda: layers.AutoContrast()(keras.Input(shape=(4, 2))),
         "AutoContrast: input of shape (None, 4, 2) must be (batch, height, width, channels)"),
    ]
    for make, msg in cases:
        with pytest.raises(ValueError) as e:
            make()
        assert str(e.value) == msg
