"""
test_random_crop.py — Keras 3's RandomCrop, SpatialDropout3D and
RMSNormalization (src/layers/random_crop.c, noise.c, layernorm.c) in
Python: eager values against numpy (RandomCrop's inference is Resizing
with crop_to_aspect_ratio; SpatialDropout3D's the identity;
RMSNormalization's x / sqrt(mean(x^2) + epsilon) * scale), get_config /
from_config, a model of all three that trains and reproduces its weights
from its seed, the .lf and .keras round trips (bit for bit; a .keras
written as Keras 3 writes these layers read in), the exact errors.
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


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _rms(x, scale, eps=1e-6):
    x = x.astype(np.float64)
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * scale


def test_eager_values_against_numpy():
    x = _x((2, 8, 16, 3))
    # 8 x 16 to 8 x 8: the centred aspect window, columns 4..11, at its own size
    np.testing.assert_array_equal(layers.RandomCrop(8, 8)(x), x[:, :, 4:12])
    np.testing.assert_array_equal(layers.RandomCrop(8, 16)(x), x)
    # otherwise Resizing(crop_to_aspect_ratio=True), bit for bit
    for h, w in ((5, 7), (10, 8), (3, 3)):
        np.testing.assert_array_equal(layers.RandomCrop(h, w)(x),
                                      layers.Resizing(h, w, crop_to_aspect_ratio=True)(x))
    v = _x((2, 3, 4, 2, 5), 1)
    np.testing.assert_array_equal(layers.SpatialDropout3D(0.5)(v), v)
    s = _x((3, 4, 6), 2)
    np.testing.assert_allclose(layers.RMSNormalization()(s), _rms(s, 1.0), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(layers.RMSNormalization(epsilon=0.5)(s), _rms(s, 1.0, 0.5), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(layers.RMSNormalization()(np.array([[3, 4]], "float32")), [[0.6 * 2 ** 0.5 * 1.0,
                                                                                          0.8 * 2 ** 0.5]],
                               rtol=1e-6)


def test_shapes_defaults_and_config_round_trip():
    img = keras.Input(shape=(8, 6, 3))
    assert layers.RandomCrop(4, 5)(img).shape == (None, 4, 5, 3)
    assert layers.RandomCrop(10, 2)(img).shape == (None, 10, 2, 3)
    assert layers.SpatialDropout3D(0.1)(keras.Input(shape=(2, 3, 4, 5))).shape == (None, 2, 3, 4, 5)
    r = layers.RMSNormalization()
    inp = keras.Input(shape=(4, 6))
    out = r(inp)
    assert out.shape == (None, 4, 6)
    Model(inp, out)  # the weights live in the C model
    assert [w.shape for w in r.get_weights()] == [(6,)] and np.all(r.get_weights()[0] == 1)
    assert r.get_config()["axis"] == -1 and r.get_config()["epsilon"] == 1e-6  # Keras' defaults
    made = [layers.RandomCrop(3, 4, seed=7, name="c"), layers.SpatialDropout3D(0.25, name="s"),
            layers.RMSNormalization(axis=2, epsilon=1e-3, name="r")]
    for lay in made:
        cfg = lay.get_config()
        assert type(lay).from_config(cfg).get_config() == cfg
    assert made[0].get_config()["seed"] == 7 and made[0].get_config()["data_format"] == "channels_last"
    assert layers.RMSNormalization(axis=[-1]).axis == -1
    for k in ("RandomCrop", "SpatialDropout3D", "RMSNormalization"):
        assert k in layers.__all__


def _model():
    img = keras.Input(shape=(8, 8, 1), name="img")
    vol = keras.Input(shape=(3, 4, 4, 2), name="vol")
    a = layers.GlobalAveragePooling2D()(layers.Conv2D(3, 3, activation="tanh")(layers.RandomCrop(6, 6)(img)))
    b = layers.GlobalAveragePooling3D()(layers.SpatialDropout3D(0.2)(layers.Conv3D(3, 2, activation="tanh")(vol)))
    h = layers.RMSNormalization(epsilon=1e-3, name="rms")(layers.Dense(4)(layers.concatenate([a, b])))
    return Model([img, vol], layers.Dense(1, name="out")(h))


def _data():
    rng = np.random.default_rng(4)
    img = rng.uniform(0, 1, (32, 8, 8, 1)).astype("float32")
    vol = rng.uniform(0, 1, (32, 3, 4, 4, 2)).astype("float32")
    y = (img.mean(axis=(1, 2, 3)) + vol.mean(axis=(1, 2, 3, 4)))[:, None]
    return [img, vol], y


def _fit(m, x, y):
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    return m.fit(x, y, batch_size=8, epochs=12, verbose=0, seed=3).history["loss"]


def test_fit_reproduces_and_round_trips(tmp_path):
    x, y = _data()
    m = _model()
    loss = _fit(m, x, y)
    assert loss[-1] < 0.5 * loss[0], loss
    assert not np.all(m.get_layer("rms").get_weights()[0] == 1)  # scale trains
    m2 = _model()
    m2.set_weights(m.get_weights())
    m3 = _model()
    assert len(m3.get_weights()) == len(m.get_weights())
    want = m.predict(x, verbose=0)
    for name in ("c.lf", "c.keras"):
        path = os.path.join(str(tmp_path), name)
        m.save(path)
        back = load_model(path)
        assert np.array_equal(back.predict(x, verbose=0), want), name
        kinds = [type(lay).__name__ for lay in back.layers]
        for k in ("RandomCrop", "SpatialDropout3D", "RMSNormalization"):
            assert k in kinds, (name, kinds)
        assert back.get_layer("rms").get_config()["epsilon"] == pytest.approx(1e-3, rel=1e-6), name
    with zipfile.ZipFile(os.path.join(str(tmp_path), "c.keras")) as z:
        cfgs = {e["class_name"]: e["config"] for e in json.loads(z.read("config.json"))["config"]["layers"]}
        h5 = h5py.File(z.open("model.weights.h5"), "r")
        assert np.array_equal(h5["layers/rms_normalization/vars/0"][()], m.get_layer("rms").get_weights()[0])
    assert cfgs["RandomCrop"]["height"] == 6 and cfgs["RandomCrop"]["width"] == 6
    assert "trainable" not in cfgs["SpatialDropout3D"]  # Keras' BaseSpatialDropout takes none
    assert cfgs["RMSNormalization"]["epsilon"] == pytest.approx(1e-3, rel=1e-6)


def test_same_seed_same_weights():
    x, y = _data()
    ws = []
    for _ in range(2):
        m = _model()
        _fit(m, x, y)
        ws.append(m.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*ws))


@pytest.mark.parametrize("kind,cfg,ours,shape", [
    ("RandomCrop", {"height": 3, "width": 4, "seed": 1234, "data_format": "channels_last"},
     lambda: layers.RandomCrop(3, 4), (5, 6, 2)),
    ("SpatialDropout3D", {"rate": 0.3, "seed": None, "data_format": "channels_last"},
     lambda: layers.SpatialDropout3D(0.3), (2, 3, 4, 2)),
    ("RMSNormalization", {"axis": [-1], "epsilon": 1e-4}, lambda: layers.RMSNormalization(epsilon=1e-4), (3, 5)),
])
def test_keras_file_as_keras_writes_it(kind, cfg, ours, shape, tmp_path):
    """the layer's config as Keras 3 writes it (RandomCrop's drawn seed;
    RMSNormalization's axis a list once built) is read and predicts as
    ours; written back with the same values"""
    lays = [input_entry("x", shape), entry(kind, "lay", cfg, [call(tensor(shape, "x"))])]
    if kind == "SpatialDropout3D":
        del lays[1]["config"]["trainable"]
    scale = np.array([0.5, -1.0, 2.0, 1.5, 0.25], "float32")
    h5 = {"layers/rms_normalization": {"0": scale}} if kind == "RMSNormalization" else {}
    p = keras_archive(str(tmp_path / "k.keras"), lays, ["x", 0, 0], ["lay", 0, 0], h5, {})
    m = load_model(p)
    x = keras.Input(shape)
    ref = Model(x, ours()(x))
    if h5:
        ref.set_weights([scale])
    xs = _x((2,) + shape, 3)
    want = ref.predict(xs, verbose=0)
    assert np.array_equal(m.predict(xs, verbose=0), want)
    if kind == "RMSNormalization":
        np.testing.assert_allclose(want, _rms(xs, scale, 1e-4), rtol=2e-6, atol=1e-6)
    m.save(str(tmp_path / "back.keras"))
    with zipfile.ZipFile(str(tmp_path / "back.keras")) as z:
        back = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert back["class_name"] == kind
    assert {k: back["config"][k] for k in cfg if k != "axis"} == {k: v for k, v in cfg.items() if k != "axis"}
    assert np.array_equal(load_model(str(tmp_path / "back.keras")).predict(xs, verbose=0), want)


def test_errors():
    with pytest.raises(ValueError, match=r"^RandomCrop: `height` must be a positive integer, got 0$"):
        layers.RandomCrop(0, 3)
    with pytest.raises(ValueError, match=r"^RandomCrop: `width` must be a positive integer, got 2.5$"):
        layers.RandomCrop(3, 2.5)
    with pytest.raises(ValueError, match=r"^RandomCrop: input of shape \(None, 4, 2\) must be \(batch, height, "
                                         r"width, channels\)$"):
        layers.RandomCrop(2, 2)(keras.Input(shape=(4, 2)))
    with pytest.raises(ValueError, match=r"^RandomCrop: data_format must be 'channels_last'"):
        layers.RandomCrop(2, 2, data_format="channels_first")
    with pytest.raises(ValueError, match=r"^SpatialDropout3D: rate must be in \[0, 1\), got 1.0$"):
        layers.SpatialDropout3D(1.0)
    with pytest.raises(ValueError, match=r"^SpatialDropout3D: input of shape \(None, 4, 5, 2\) must be \(batch, "
                                         r"depth, height, width, channels\)$"):
        layers.SpatialDropout3D(0.5)(keras.Input(shape=(4, 5, 2)))
    with pytest.raises(ValueError, match=r"^SpatialDropout3D: data_format must be 'channels_last'"):
        layers.SpatialDropout3D(0.5, data_format="channels_first")
    with pytest.raises(ValueError, match=r"^RMSNormalization: epsilon must be finite and >= 0, got -1$"):
        layers.RMSNormalization(epsilon=-1)
    with pytest.raises(ValueError, match=r"^RMSNormalization: only the last axis \(-1, or 2 for an input of shape "
                                         r"\(None, 4, 6\)\) is available, got axis=1$"):
        layers.RMSNormalization(axis=1)(keras.Input(shape=(4, 6)))
