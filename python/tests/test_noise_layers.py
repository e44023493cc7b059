"""
test_noise_layers.py — Keras 3's SpatialDropout1D / 2D, GaussianNoise,
GaussianDropout, AlphaDropout and ActivityRegularization (src/layers/
noise.c; tests/test_noise.c checks their draws, statistics and
gradients): predict and an eager call the identity, fit runs and
reproduces from its seed, the arguments' checks and messages, get_config,
the model file and the .keras file (Keras' SpatialDropout configs have no
"trainable"), and ActivityRegularization's penalty in evaluate's loss
against numpy.
"""
import json
import zipfile

import numpy as np
import pytest

from latefuse import layers as L
from latefuse.models import Model, load_model


def _noisy_model(seed=0):
    x = L.Input((6, 4), name="x")
    h = L.SpatialDropout1D(0.3, name="sd")(x)
    h = L.GaussianNoise(0.1, name="gn")(h)
    h = L.GaussianDropout(0.2, name="gd")(h)
    h = L.AlphaDropout(0.1, name="ad")(h)
    h = L.ActivityRegularization(0.01, 0.02, name="ar")(h)
    m = Model(x, L.Dense(1, name="o")(L.Flatten()(h)), seed=seed)
    m.compile(optimizer="adam", loss="mse")
    return m


def _data():
    r = np.random.RandomState(0)
    x = r.rand(32, 6, 4).astype("float32")
    return x, x.sum((1, 2))[:, None]


def test_predict_is_the_identity_and_fit_reproduces():
    x, y = _data()
    m = _noisy_model()
    sub = Model(m.inputs, m.get_layer("ar").output)
    np.testing.assert_array_equal(sub.predict(x, verbose=0), x)  # every noise layer: identity at inference
    for cls, arg in ((L.SpatialDropout1D, 0.5), (L.GaussianNoise, 0.5), (L.GaussianDropout, 0.5), (L.AlphaDropout, 0.5),
                     (L.ActivityRegularization, 0.5)):
        np.testing.assert_array_equal(cls(arg)(x), x)
    np.testing.assert_array_equal(L.SpatialDropout2D(0.5)(x.reshape(32, 2, 3, 4)), x.reshape(32, 2, 3, 4))
    h1 = m.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"]
    m2 = _noisy_model()
    h2 = m2.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"]
    assert h1 == h2  # the same seed, the same draws, the same bits
    for a, b in zip(m.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    m3 = _noisy_model()
    assert m3.fit(x, y, epochs=1, batch_size=8, verbose=0, seed=1).history["loss"][0] != h1[0]  # other draws
    # without the noise layers' draws (their rates 0) the first epoch's loss is another
    xi = L.Input((6, 4), name="x")
    h = L.AlphaDropout(0.0, name="ad")(L.GaussianDropout(0.0, name="gd")(L.GaussianNoise(0.0, name="gn")(
        L.SpatialDropout1D(0.0, name="sd")(xi))))
    m4 = Model(xi, L.Dense(1, name="o")(L.Flatten()(L.ActivityRegularization(0.01, 0.02, name="ar")(h))))
    m4.compile(optimizer="adam", loss="mse")
    assert m4.fit(x, y, epochs=1, batch_size=8, verbose=0).history["loss"][0] != h1[0]


def test_arguments_refused():
    with pytest.raises(ValueError, match=r"^SpatialDropout1D: rate must be in \[0, 1\), got 1$"):
        L.SpatialDropout1D(1)
    with pytest.raises(ValueError, match=r"^GaussianDropout: rate must be in \[0, 1\), got -0.1$"):
        L.GaussianDropout(-0.1)
    with pytest.raises(ValueError, match=r"^AlphaDropout: rate must be in \[0, 1\), got 'x'$"):
        L.AlphaDropout("x")
    with pytest.raises(ValueError, match=r"^GaussianNoise: stddev must be in \[0, 1\], got 1.5$"):
        L.GaussianNoise(1.5)
    assert L.GaussianNoise(1).stddev == 1.0  # Keras' closed range
    with pytest.raises(ValueError, match=r"^AlphaDropout: noise_shape is not supported \(a draw per value\)$"):
        L.AlphaDropout(0.1, noise_shape=(None, 1))
    with pytest.raises(ValueError, match="^SpatialDropout2D: data_format must be 'channels_last'"):
        L.SpatialDropout2D(0.1, data_format="channels_first")
    with pytest.raises(ValueError, match=r"^ActivityRegularization: l2 must be a finite number >= 0, got -1$"):
        L.ActivityRegularization(0.0, -1)
    x = L.Input((12,))
    with pytest.raises(ValueError, match=r"^SpatialDropout1D: input of shape \(None, 12\) must be \(batch, steps, "
                                         r"channels\)$"):
        L.SpatialDropout1D(0.2)(x)
    with pytest.raises(ValueError, match=r"^SpatialDropout2D: input of shape \(None, 12\) must be \(batch, height, "
                                         r"width, channels\)$"):
        L.SpatialDropout2D(0.2)(x)


def test_activity_regularization_in_the_loss():
    x = L.Input((4,))
    m = Model(x, L.ActivityRegularization(l1=0.25, l2=0.5)(x))
    m.compile(optimizer="sgd", loss="mse")
    a = np.array([[1, -2, 3, -4], [0.5, 0.5, -0.5, 2], [0, 1, -1, 3]], "float32")
    t = np.zeros_like(a)
    want = np.mean(a.astype(np.float64) ** 2) + np.mean(0.25 * np.abs(a).sum(1) + 0.5 * (a.astype(np.float64) ** 2).sum(1))
    assert abs(m.evaluate(a, t, verbose=0) - want) < 1e-6 * want


@pytest.mark.parametrize("ext", [".lf", ".keras"])
def test_files_keep_the_layers(tmp_path, ext):
    pytest.importorskip("h5py") if ext == ".keras" else None
    x, y = _data()
    m = _noisy_model()
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / ("m" + ext))
    m.save(path)
    m2 = load_model(path)
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    for name in ("sd", "gn", "gd", "ad", "ar"):
        assert m2.get_layer(name).get_config() == m.get_layer(name).get_config()
    assert m2.get_layer("ar").get_config()["l2"] == 0.02 and m2.get_layer("gn").get_config()["stddev"] == 0.1


def test_keras_file_configs(tmp_path):
    pytest.importorskip("h5py")
    x = L.Input((4, 4, 3))
    m = Model(x, L.SpatialDropout2D(0.5, name="s")(L.GaussianNoise(0.2, name="g")(x)))
    path = str(tmp_path / "s.keras")
    m.save(path)
    layers = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]["layers"]
    by = {e["class_name"]: e for e in layers}
    # Keras' SpatialDropout get_config (spatial_dropout.py): rate, seed, name, dtype (+ data_format); no trainable
    assert by["SpatialDropout2D"]["config"] == {"name": "s", "rate": 0.5, "data_format": "channels_last", "seed": None}
    assert by["SpatialDropout2D"]["module"] == "keras.layers"
    assert by["GaussianNoise"]["config"] == {"name": "g", "trainable": True, "stddev": 0.2, "seed": None}


def test_importable_not_refused():
    from latefuse.layers import ActivityRegularization, GaussianNoise, SpatialDropout1D  # noqa: F401
    assert "SpatialDropout2D" not in L._NOT_HERE and "GaussianDropout" not in L._NOT_HERE
