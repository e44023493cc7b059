"""
test_spatial3d.py — Keras 3's UpSampling3D, ZeroPadding3D, Cropping3D and
Identity (src/layers/spatial3d.c, identity.c) in Python: eager values
against numpy (np.repeat, np.pad, slicing), Keras' argument forms and
defaults, get_config / from_config, a 3-D U-Net-like model that trains, the
.lf and .keras round trips (bit for bit; a .keras written as Keras 3 writes
these layers read in), Identity keeping a padding mask, Keras' errors.
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


def _x(shape=(2, 3, 4, 5, 2), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_eager_values_against_numpy():
    x = _x()
    np.testing.assert_array_equal(layers.UpSampling3D((2, 1, 3))(x),
                                  x.repeat(2, axis=1).repeat(1, axis=2).repeat(3, axis=3))
    np.testing.assert_array_equal(layers.UpSampling3D()(x), x.repeat(2, 1).repeat(2, 2).repeat(2, 3))
    np.testing.assert_array_equal(layers.ZeroPadding3D(((1, 0), (0, 2), (3, 1)))(x),
                                  np.pad(x, ((0, 0), (1, 0), (0, 2), (3, 1), (0, 0))))
    np.testing.assert_array_equal(layers.ZeroPadding3D()(x), np.pad(x, ((0, 0),) + ((1, 1),) * 3 + ((0, 0),)))
    np.testing.assert_array_equal(layers.ZeroPadding3D((2, 0, 1))(x),
                                  np.pad(x, ((0, 0), (2, 2), (0, 0), (1, 1), (0, 0))))
    np.testing.assert_array_equal(layers.Cropping3D(((1, 0), (1, 2), (0, 3)))(x), x[:, 1:, 1:2, 0:2])
    np.testing.assert_array_equal(layers.Cropping3D()(x), x[:, 1:-1, 1:-1, 1:-1])
    np.testing.assert_array_equal(layers.Cropping3D((0, 1, (2, 1)))(x), x[:, :, 1:3, 2:4])
    np.testing.assert_array_equal(layers.Identity()(x), x)
    np.testing.assert_array_equal(layers.Identity()(x[:, 0, 0]), x[:, 0, 0])


def test_keras_shapes_defaults_and_config_round_trip():
    inp = keras.Input(shape=(3, 4, 5, 2))
    assert layers.UpSampling3D()(inp).shape == (None, 6, 8, 10, 2)
    assert layers.ZeroPadding3D(2)(inp).shape == (None, 7, 8, 9, 2)
    assert layers.Cropping3D(((0, 1), 1, (2, 0)))(inp).shape == (None, 2, 2, 3, 2)
    assert layers.Identity()(inp).shape == (None, 3, 4, 5, 2)
    made = [layers.UpSampling3D((1, 2, 3), name="u"), layers.ZeroPadding3D(((1, 2), (3, 4), (0, 5)), name="z"),
            layers.Cropping3D((1, 2, 3), name="c"), layers.Identity(name="i")]
    for l in made:
        cfg = l.get_config()
        assert type(l).from_config(cfg).get_config() == cfg
    assert made[0].get_config()["size"] == [1, 2, 3] and made[0].get_config()["data_format"] == "channels_last"
    assert made[1].get_config()["padding"] == [[1, 2], [3, 4], [0, 5]]
    assert made[2].get_config()["cropping"] == [[1, 1], [2, 2], [3, 3]]
    assert set(made[3].get_config()) == {"name", "trainable"}
    assert layers.UpSampling3D().get_config()["size"] == [2, 2, 2]  # Keras' defaults
    assert layers.ZeroPadding3D().get_config()["padding"] == [[1, 1]] * 3
    assert layers.Cropping3D().get_config()["cropping"] == [[1, 1]] * 3
    for k in ("UpSampling3D", "ZeroPadding3D", "Cropping3D", "Identity"):
        assert k in layers.__all__


def _unet3d():
    inp = keras.Input(shape=(4, 6, 6, 1), name="vol")
    p = layers.ZeroPadding3D(((1, 0), (1, 1), (0, 1)))(inp)                           # (5, 8, 7, 1)
    e = layers.Conv3D(4, 3, activation="relu")(p)                                      # (3, 6, 5, 4)
    c = layers.Cropping3D(((1, 0), (1, 2), (0, 1)))(e)                                 # (2, 3, 4, 4)
    u = layers.UpSampling3D((2, 2, 1))(c)                                              # (4, 6, 4, 4)
    s = layers.Identity()(layers.Cropping3D(((0, 0), (0, 0), (1, 1)))(inp))            # (4, 6, 4, 1)
    x = layers.concatenate([u, s])
    out = layers.Dense(1, name="out")(layers.GlobalAveragePooling3D()(x))
    return Model(inp, out)


def test_unet3d_trains_and_round_trips(tmp_path):
    m = _unet3d()
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (24, 4, 6, 6, 1)).astype("float32")
    y = x.mean(axis=(1, 2, 3, 4))[:, None] * 2
    m.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    h = m.fit(x, y, batch_size=8, epochs=10, verbose=0)
    loss = h.history["loss"]
    assert loss[-1] < 0.5 * loss[0], loss
    want = m.predict(x, verbose=0)
    for name in ("u.lf", "u.keras"):
        path = os.path.join(str(tmp_path), name)
        m.save(path)
        back = load_model(path)
        assert np.array_equal(back.predict(x, verbose=0), want), name
        kinds = [type(l).__name__ for l in back.layers]
        for k in ("UpSampling3D", "ZeroPadding3D", "Cropping3D", "Identity"):
            assert k in kinds, (name, kinds)
    with zipfile.ZipFile(os.path.join(str(tmp_path), "u.keras")) as z:
        cfgs = {e["class_name"]: e["config"] for e in json.loads(z.read("config.json"))["config"]["layers"]}
    assert cfgs["ZeroPadding3D"]["padding"] == [[1, 0], [1, 1], [0, 1]]
    assert cfgs["UpSampling3D"]["size"] == [2, 2, 1]
    assert cfgs["Cropping3D"]["data_format"] == "channels_last"


@pytest.mark.parametrize("kind,cfg,ours", [
    ("UpSampling3D", {"size": [2, 1, 3], "data_format": "channels_last"}, lambda: layers.UpSampling3D((2, 1, 3))),
    ("ZeroPadding3D", {"padding": [[1, 2], [0, 3], [2, 0]], "data_format": "channels_last"},
     lambda: layers.ZeroPadding3D(((1, 2), (0, 3), (2, 0)))),
    ("Cropping3D", {"cropping": [[1, 0], [0, 2], [1, 1]], "data_format": "channels_last"},
     lambda: layers.Cropping3D(((1, 0), (0, 2), (1, 1)))),
    ("Identity", {}, lambda: layers.Identity()),
])
def test_keras_file_as_keras_writes_it(kind, cfg, ours, tmp_path):
    """the layer's config as Keras 3 writes it (get_config: its arguments,
    data_format; Identity's base keys only) is read and predicts as ours;
    written back with the same keys"""
    shape = (3, 4, 5, 2)
    lays = [input_entry("x", shape), entry(kind, "lay", cfg, [call(tensor(shape, "x"))])]
    p = keras_archive(str(tmp_path / "k.keras"), lays, ["x", 0, 0], ["lay", 0, 0], {}, {})
    m = load_model(p)
    x = keras.Input(shape)
    ref = Model(x, ours()(x))
    xs = _x((2,) + shape, 3)
    want = ref.predict(xs, verbose=0)
    assert np.array_equal(m.predict(xs, verbose=0), want)
    m.save(str(tmp_path / "back.keras"))
    with zipfile.ZipFile(str(tmp_path / "back.keras")) as z:
        back = json.loads(z.read("config.json"))["config"]["layers"][1]
    assert back["class_name"] == kind
    assert {k: back["config"][k] for k in cfg} == cfg
    assert np.array_equal(load_model(str(tmp_path / "back.keras")).predict(xs, verbose=0), want)


def test_identity_keeps_the_padding_mask():
    ids = np.array([[3, 1, 0, 0], [2, 4, 4, 0]], dtype="int32")
    outs = []
    for with_identity in (True, False):
        inp = keras.Input(shape=(4,), dtype="int32")
        e = layers.Embedding(5, 2, mask_zero=True, name="emb")
        h = e(inp)
        if with_identity:
            h = layers.Identity()(h)
        m = Model(inp, layers.GlobalAveragePooling1D()(h))
        m.set_weights([np.arange(10, dtype="float32").reshape(5, 2)])
        outs.append(m.predict(ids, verbose=0))
    table = np.arange(10, dtype="float32").reshape(5, 2)
    want = np.stack([table[[3, 1]].mean(0), table[[2, 4, 4]].mean(0)])
    np.testing.assert_allclose(outs[0], want, rtol=1e-6)
    assert np.array_equal(outs[0], outs[1])


def test_keras_errors():
    inp = keras.Input(shape=(4, 5, 6, 2))
    with pytest.raises(ValueError, match=r"^Values in `cropping` argument should be smaller than the corresponding "
                                         r"spatial dimension of the input. Received: input_shape=\(None, 4, 5, 6, "
                                         r"2\), cropping=\(\(2, 2\), \(0, 0\), \(1, 1\)\)$"):
        layers.Cropping3D(((2, 2), 0, 1))(inp)
    with pytest.raises(ValueError, match=r"^`cropping` cannot be negative. Received: cropping=-1.$"):
        layers.Cropping3D(-1)
    with pytest.raises(ValueError, match=r"^`padding` should have 3 elements. Received: \(1, 2\).$"):
        layers.ZeroPadding3D((1, 2))
    with pytest.raises(ValueError, match=r"^The `2nd entry of cropping` argument must be a tuple of 2 integers. "
                                         r"Received 2nd entry of cropping=\(1, -1\), including values \{-1\} that "
                                         r"do not satisfy `value >= 0`$"):
        layers.Cropping3D((1, (1, -1), 0))
    with pytest.raises(ValueError, match=r"^`padding` should be either an int, a tuple of 3 ints"):
        layers.ZeroPadding3D("same")
    with pytest.raises(ValueError, match=r"^The `size` argument must be a tuple of 3 integers. Received "
                                         r"size=\(2, 0, 2\), including values \{0\} that do not satisfy `value > 0`$"):
        layers.UpSampling3D((2, 0, 2))
    with pytest.raises(ValueError, match=r"^The `size` argument must be a tuple of 3 integers. Received size=\(2, 2\)$"):
        layers.UpSampling3D((2, 2))
    with pytest.raises(ValueError, match="UpSampling3D: data_format must be 'channels_last'"):
        layers.UpSampling3D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"^ZeroPadding3D: input of shape \(None, 4, 2\) must be \(batch, frames, "
                                         r"height, width, channels\)$"):
        layers.ZeroPadding3D()(keras.Input(shape=(4, 2)))
