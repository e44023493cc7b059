"""
test_weights_h5.py — Keras 3's weights file: save_weights / load_weights on
a name ending in .weights.h5 (keras/src/saving/saving_lib.py
save_weights_only / load_weights_only), the H5 store a .keras file holds as
model.weights.h5: each layer's group named by its class in snake case made
unique (layers/dense, layers/dense_1, ...), variables "0", "1", ... in Keras'
layout.  Checked: the layout by h5py, a bit-identical round trip into a new
model, the transfer-learning idiom of the serialization guide, errors.
"""
import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import latefuse as keras


def _mlp(name="3_layer_mlp"):
    inputs = keras.Input(shape=(12,), name="digits")
    x = keras.layers.Dense(8, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(8, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(3, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def test_layout_and_round_trip(tmp_path):
    m = _mlp()
    path = str(tmp_path / "my_model.weights.h5")
    m.save_weights(path)
    with h5py.File(path, "r") as f:
        k = np.asarray(f["layers/dense/vars/0"])
        np.testing.assert_array_equal(k, m.get_layer("dense_1").get_weights()[0])  # Keras' (in, units) kernel
        assert k.shape == (12, 8) and f["layers/dense_2/vars/1"].shape == (3,)
    x = np.random.default_rng(0).normal(size=(5, 12)).astype("float32")
    other = _mlp()
    other.set_weights([w + 1 for w in other.get_weights()])
    assert not np.array_equal(other.predict(x, verbose=0), m.predict(x, verbose=0))
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), m.predict(x, verbose=0))
    # a Sequential of the same layers reads the same file (its InputLayer is not a layer there)
    seq = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"),
                            keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)])
    seq.load_weights(path)
    np.testing.assert_array_equal(seq.predict(x, verbose=0), m.predict(x, verbose=0))
    seq.save_weights(str(tmp_path / "seq.weights.h5"))
    m2 = _mlp()
    m2.load_weights(str(tmp_path / "seq.weights.h5"))
    np.testing.assert_array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))


def test_transfer_learning_extracts_layers(tmp_path):
    # the serialization guide's transfer-learning example
    functional_model = _mlp()
    functional_model.save_weights(str(tmp_path / "pretrained.weights.h5"))
    pretrained_model = _mlp()
    pretrained_model.load_weights(str(tmp_path / "pretrained.weights.h5"))
    extracted_layers = pretrained_model.layers[:-1]
    extracted_layers.append(keras.layers.Dense(5, name="dense_3"))
    model = keras.Sequential(extracted_layers)
    assert [type(ly).__name__ for ly in model.layers] == ["Dense", "Dense", "Dense"]
    assert model.count_params() == 12 * 8 + 8 + 8 * 8 + 8 + 8 * 5 + 5
    np.testing.assert_array_equal(model.get_layer("dense_1").get_weights()[0],
                                  functional_model.get_layer("dense_1").get_weights()[0])


def test_errors_leave_the_weights(tmp_path):
    m = _mlp()
    path = str(tmp_path / "w.weights.h5")
    m.save_weights(path)
    with pytest.raises(FileExistsError, match="exists and overwrite=False"):
        m.save_weights(path, overwrite=False)
    small = keras.Sequential([keras.Input((12,)), keras.layers.Dense(4), keras.layers.Dense(8), keras.layers.Dense(3)])
    before = small.get_weights()
    with pytest.raises(ValueError, match=r"^load_weights: '.*w.weights.h5': layers/dense/vars/0 \(layer 'dense'\) "
                                         r"has shape \(12, 8\), latefuse's Dense weight 0 has shape \(12, 4\)$"):
        small.load_weights(path)
    for a, b in zip(before, small.get_weights()):
        np.testing.assert_array_equal(a, b)
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match=r"^load_weights: '.*bad.weights.h5' is not a readable HDF5 file"):
        m.load_weights(str(bad))
    # a plain .h5 is still refused (Keras 2's format)
    with pytest.raises(ValueError, match=r"asks for Keras' HDF5 format \(\.h5\)"):
        m.save_weights(str(tmp_path / "w.h5"))
