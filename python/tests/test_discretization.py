"""
test_discretization.py — Keras 3's Discretization (src/layers/discretize.c;
tests/test_discretize.c checks the bins and adapt's summary in C): Keras'
docstring examples, adapt against boundaries worked out by hand, Keras'
argument errors word for word, the layer in a fit (boundaries fixed), a
model's adapt, and the .lf and .keras files (Keras' config: no
"trainable", no variables; an adapted layer's config has both
bin_boundaries and num_bins, which from_config takes as Keras' does);
the output modes one_hot, multi_hot and count against values worked out
by hand (Keras' shapes, NaN and infinities), their refusal, and their
files (.lf and .keras keep output_mode and num_bins).
"""
import json
import zipfile

import numpy as np
import pytest

import latefuse as keras
from latefuse import layers as L
from latefuse.models import Model, load_model

X = np.array([[-1.5, 1.0, 3.4, .5], [0.0, 3.0, 1.3, 0.0]])


def test_docstring_examples():
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=[0., 1., 2.])(X), [[0, 2, 3, 1], [1, 3, 2, 1]])
    d = L.Discretization(num_bins=4, epsilon=0.01)
    d.adapt(X)
    assert d.bin_boundaries == [0.0, 0.5, float(np.float32(1.3))]
    np.testing.assert_array_equal(d(X), [[0, 2, 3, 2], [1, 3, 3, 1]])


def test_adapt_is_keras_summary_not_exact_quantiles():
    d = L.Discretization(num_bins=4)
    d.adapt(np.arange(1000, dtype="float32")[::-1].reshape(100, 10))
    # every 10th value from 10 on (99 points), interpolated at 1/4, 1/2, 3/4 of the weight
    np.testing.assert_allclose(d.bin_boundaries, [247.5, 495.0, 742.5], atol=1e-3)
    # a list of batches is one array
    d2 = L.Discretization(num_bins=4)
    d2.adapt([np.arange(500, dtype="float32"), np.arange(500, 1000, dtype="float32")])
    assert d2.bin_boundaries == d.bin_boundaries


def test_errors_as_keras():
    with pytest.raises(ValueError, match=r"^Both `num_bins` and `bin_boundaries` should not be set\. Received: "
                                         r"`num_bins=3` and `bin_boundaries=\[0\.0\]`$"):
        L.Discretization(bin_boundaries=[0.0], num_bins=3)
    with pytest.raises(ValueError, match=r"^You need to set either `num_bins` or `bin_boundaries`\.$"):
        L.Discretization()
    with pytest.raises(ValueError, match=r"^`num_bins` must be greater than or equal to 0\. Received: `num_bins=-1`$"):
        L.Discretization(num_bins=-1)
    with pytest.raises(ValueError, match=r"^Invalid value for argument `output_mode`"):
        L.Discretization(bin_boundaries=[0.0], output_mode="bins")
    with pytest.raises(ValueError, match=r"^Discretization: sparse=True is not supported: the outputs are dense "
                                         r"float32 arrays$"):
        L.Discretization(bin_boundaries=[0.0], output_mode="one_hot", sparse=True)
    with pytest.raises(ValueError, match=r"^Discretization: bin_boundaries must be sorted numbers, got \[1, 0\]$"):
        L.Discretization(bin_boundaries=[1, 0])
    with pytest.raises(ValueError, match=r"^Cannot adapt a Discretization layer that has been initialized with "
                                         r"`bin_boundaries`, use `num_bins` instead\.$"):
        L.Discretization(bin_boundaries=[0.0]).adapt(X)
    with pytest.raises(ValueError, match=r"^You need to either pass the `bin_boundaries` argument at construction "
                                         r"time or call `adapt\(dataset\)`"):
        L.Discretization(num_bins=3)(keras.Input((4,)))
    with pytest.raises(ValueError, match=r"^Discretization\.adapt: value 1 is NaN$"):
        L.Discretization(num_bins=3).adapt(np.array([[0.0, np.nan, 1.0]]))


def _model(d):
    i = keras.Input((4,))
    m = Model(i, L.Dense(1, name="o")(L.CategoryEncoding(4, "multi_hot")(d(i))))
    m.compile(optimizer="adam", loss="mse")
    return m


def test_in_a_model_and_files(tmp_path):
    d = L.Discretization(num_bins=4, name="disc")
    d.adapt(X)
    m = _model(d)
    m.fit(X, np.ones((2, 1)), epochs=3, verbose=0)
    np.testing.assert_array_equal(d.get_weights()[0], np.float32([0.0, 0.5, 1.3]))  # not trained
    assert d.get_weights()[0].shape == (3,) and d.trainable_weights == []
    d.adapt(X * 2)  # adapted again in the model: its C weights follow
    np.testing.assert_array_equal(d.get_weights()[0], np.float32([0.0, 1.0, 2.6]))
    p = m.predict(X, verbose=0)
    for ext in (".lf", ".keras"):
        if ext == ".keras":
            pytest.importorskip("h5py")
        path = str(tmp_path / ("m" + ext))
        m.save(path)
        m2 = load_model(path)
        np.testing.assert_array_equal(m2.predict(X, verbose=0), p)
        assert m2.get_layer("disc").get_config()["bin_boundaries"] == [0.0, 1.0, float(np.float32(2.6))]
    with zipfile.ZipFile(str(tmp_path / "m.keras")) as z:
        cfg = [e for e in json.loads(z.read("config.json"))["config"]["layers"] if e["class_name"] == "Discretization"]
    assert cfg[0]["config"] == {"name": "disc", "bin_boundaries": [0.0, 1.0, float(np.float32(2.6))], "num_bins": 4,
                                "epsilon": 0.01, "output_mode": "int", "sparse": False}
    import h5py
    with zipfile.ZipFile(str(tmp_path / "m.keras")) as z, h5py.File(__import__("io").BytesIO(z.read("model.weights.h5")),
                                                                    "r") as f:
        assert len(f["layers/discretization/vars"].keys()) == 0  # Keras' layer has no variables
    # Keras' from_config of an adapted layer's config
    again = L.Discretization.from_config(cfg[0]["config"])
    assert again.bin_boundaries == cfg[0]["config"]["bin_boundaries"] and again.num_bins == 4


def test_output_modes_by_hand():
    b = [0., 1., 2.]  # depth 4; X's bins [[0, 2, 3, 1], [1, 3, 2, 1]]
    oh = L.Discretization(bin_boundaries=b, output_mode="one_hot")(X)
    assert oh.shape == (2, 4, 4) and oh.dtype == np.float32
    np.testing.assert_array_equal(oh, np.eye(4)[[[0, 2, 3, 1], [1, 3, 2, 1]]])
    # a last axis of 1 is squeezed (Keras' encode_categorical_inputs)
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="one_hot")(X[:, :1]),
                                  [[1, 0, 0, 0], [0, 1, 0, 0]])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="multi_hot")(X),
                                  [[1, 1, 1, 1], [0, 1, 1, 1]])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="count")(X),
                                  [[1, 1, 1, 1], [0, 2, 1, 1]])
    # NaN and +inf in the last bin (numpy's digitize), -inf in the first, a boundary in the bin it opens
    odd = np.array([[np.nan, np.inf, -np.inf, 2.0]])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="count")(odd), [[1, 0, 0, 3]])
    i = keras.Input((2, 3))
    assert L.Discretization(bin_boundaries=b, output_mode="one_hot")(i).shape == (None, 2, 3, 4)
    with pytest.raises(ValueError, match=r'^Discretization: output_mode "multi_hot" takes inputs of shape '
                                         r'\(batch, d\); got shape \(None, 2, 3\) \(Keras 3 reduces such an input '
                                         r'over its axis 1, not its last axis\)$'):
        L.Discretization(bin_boundaries=b, output_mode="multi_hot")(i)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_output_mode_files(tmp_path, mode):
    d = L.Discretization(num_bins=4, output_mode=mode, name="disc")
    d.adapt(X)
    i = keras.Input((4,))
    m = Model(i, L.Dense(1, name="o")(L.Flatten()(d(i))))
    m.compile(optimizer="adam", loss="mse")
    p = m.predict(X, verbose=0)
    for ext in (".lf", ".keras"):
        if ext == ".keras":
            pytest.importorskip("h5py")
        path = str(tmp_path / ("m" + ext))
        m.save(path)
        m2 = load_model(path)
        np.testing.assert_array_equal(m2.predict(X, verbose=0), p)
        cfg = m2.get_layer("disc").get_config()
        assert (cfg["output_mode"], cfg["num_bins"], cfg["bin_boundaries"]) == (mode, 4, d.bin_boundaries), ext
    with zipfile.ZipFile(str(tmp_path / "m.keras")) as z:
        cfg = [e for e in json.loads(z.read("config.json"))["config"]["layers"] if e["class_name"] == "Discretization"]
    assert cfg[0]["config"]["output_mode"] == mode and cfg[0]["config"]["num_bins"] == 4


def test_epsilon_kept_in_files(tmp_path):
    d = L.Discretization(num_bins=4, epsilon=0.05, name="disc")
    d.adapt(X)
    m = _model(d)
    for ext in (".lf", ".keras"):
        if ext == ".keras":
            pytest.importorskip("h5py")
        path = str(tmp_path / ("m" + ext))
        m.save(path)
        assert load_model(path).get_layer("disc").get_config()["epsilon"] == 0.05, ext


def test_rank_0_and_1_arrays_as_keras():
    # Keras' Discretization takes a vector: digitize each value, then encode_categorical_inputs
    # for that rank (one_hot (n, depth); multi_hot and count one (depth,) over all the values)
    b, v = [0., 1., 2.], np.array([-1.5, 1.0, 3.0, 0.5, np.nan, 1.0])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b)(v), [0, 2, 3, 1, 3, 2])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b)([2.0, -0.5]), [3, 0])
    assert L.Discretization(bin_boundaries=b)(0.5).shape == () and L.Discretization(bin_boundaries=b)(0.5) == 1
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="one_hot")(v),
                                  np.eye(4)[[0, 2, 3, 1, 3, 2]])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="one_hot")(0.5), [[0, 1, 0, 0]])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="multi_hot")(v), [1, 1, 1, 1])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="count")(v), [1, 1, 2, 2])
    np.testing.assert_array_equal(L.Discretization(bin_boundaries=b, output_mode="count")(1.5), [0, 0, 1, 0])
    # the boundaries of a layer in a model are the C model's (set_weights)
    d = L.Discretization(bin_boundaries=b, name="disc")
    m = _model(d)
    d.set_weights([np.float32([10, 20, 30])])
    np.testing.assert_array_equal(d(np.array([15.0, 5.0])), [1, 0])
    assert m.get_layer("disc") is d
    with pytest.raises(ValueError, match="You need to either pass the `bin_boundaries`"):
        L.Discretization(num_bins=3)(v)
