"""
test_errors.py — error paths: shapes and arguments raise ValueError with a
message naming what is wrong before any C call; failures inside the library
raise LatefuseError (a RuntimeError) carrying the library's own message.
"""
import numpy as np
import pytest

import latefuse
from latefuse import LatefuseError, Model
from latefuse.layers import Add, Dense, Input, Subtract, WeightedAverage


def small():
    a, b = Input((4,), name="a"), Input((3,), name="b")
    out = Dense(2)(latefuse.layers.Concatenate()([a, b]))
    m = Model([a, b], out)
    m.compile('adam', 'mse')
    return m


def test_shapes_checked_before_the_call():
    m = small()
    with pytest.raises(ValueError, match=r"input 1 \('b'\) must have shape \(N, 3\), got shape \(5, 4\)"):
        m.predict([np.zeros((5, 4)), np.zeros((5, 4))])
    with pytest.raises(ValueError, match=r"the model has 2 input\(s\) \(a, b\), got 1 array"):
        m.predict(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="different numbers of rows"):
        m.predict([np.zeros((5, 4)), np.zeros((6, 3))])
    with pytest.raises(ValueError, match=r"y must have shape \(5, 2\)"):
        m.fit([np.zeros((5, 4)), np.zeros((5, 3))], np.zeros((5, 3)), verbose=0)
    with pytest.raises(ValueError, match="set_weights: the model has 2 weight arrays, got 1"):
        m.set_weights([np.zeros((7, 2))])
    with pytest.raises(ValueError, match=r"weight 0 must have shape \(7, 2\), got shape \(2, 7\)"):
        m.set_weights([np.zeros((2, 7)), np.zeros(2)])
    with pytest.raises(ValueError, match="expected a numeric array"):
        m.predict([np.array([["x"] * 4]), np.zeros((1, 3))])


def test_graph_errors():
    a, b = Input((4,)), Input((5,))
    with pytest.raises(ValueError, match=r"Add: Inputs have incompatible shapes. Received shapes \(4,\) and \(5,\) \(at input 1"):
        Add()([a, b])
    c = Input((4,))
    with pytest.raises(ValueError, match=r"WeightedAverage\(n_output=3\) called on 2 inputs"):
        WeightedAverage(n_output=3)([a, c])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([a, c, Input((4,))])
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        Dense(3, activation="relux")
    d = Dense(3)
    d(a)
    with pytest.raises(ValueError, match=r"^layer Dense was built on input shape \(None, 4\) and is called on "
                       r"\(None, 5\): a layer called again shares its weights, so its input shapes must "
                       r"stay the same$"):
        d(Input((5,)))
    x = Dense(2)(c)
    with pytest.raises(ValueError, match="graph disconnected"):
        Model([a], x)
    n1, n2 = Input((2,), name="same"), Input((2,), name="same")
    with pytest.raises(ValueError, match="'same' is used twice"):
        Model([n1, n2], Add()([n1, n2]))
    m = Model(c, x)
    with pytest.raises(RuntimeError, match="You must compile"):
        m.fit(np.zeros((2, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        m.compile('adam', 'hinge')
    with pytest.raises(ValueError, match="unknown optimizer 'ftrl'"):
        m.compile('ftrl', 'mse')


def test_library_errors_carry_the_library_message(tmp_path):
    m = small()
    x = [np.zeros((5, 4)), np.zeros((5, 3))]
    x[0][2, 1] = np.nan
    with pytest.raises(LatefuseError, match=r"fit: input 'a' holds a non-finite value at row 2, column 1") as ei:
        m.fit(x, np.zeros((5, 2)), verbose=0)
    assert isinstance(ei.value, RuntimeError) and ei.value.status_name
    bad = tmp_path / "bad.lf"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}        ")
    with pytest.raises(LatefuseError) as ei:
        latefuse.load_model(bad)
    assert str(ei.value) and "bad.lf" in str(ei.value) or "tensor" in str(ei.value)
    with pytest.raises(LatefuseError, match="validation_split 0.9 of 5 rows"):
        m.fit([np.zeros((5, 4)), np.zeros((5, 3))], np.zeros((5, 2)), validation_split=0.9, verbose=0)


def test_fusion_errors():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=20).astype(np.float32)
    y = rng.integers(0, 3, 20)
    with pytest.raises(ValueError, match=r"model 1 has shape \(20, 4\)"):
        latefuse.Fusion().fit([p, np.zeros((20, 4))], y)
    with pytest.raises(ValueError, match=r"label 3 at row 0 is out of range 0..2"):
        latefuse.Fusion().fit([p, p], np.r_[3, y[1:]])
    with pytest.raises(ValueError, match="every model is None"):
        latefuse.Fusion().fit([None, None], y)
    with pytest.raises(ValueError, match="unknown method 'avg'"):
        latefuse.Fusion(method="avg").fit([p, p], y)
    with pytest.raises(ValueError, match="not fitted yet"):
        latefuse.Fusion().predict_proba([p, p])
    q = p.copy()
    q[4, 1] += 0.5
    with pytest.raises(LatefuseError, match=r"model 'model1': row 4 sums to 1.5"):
        latefuse.Fusion(method="mean").fit([p, q], y)
    f = latefuse.Fusion(method="mean").fit([p, p], y)
    with pytest.raises(ValueError, match="fitted on 2 models, got 3"):
        f.predict_proba([p, p, p])
    with pytest.raises(LatefuseError, match=r"model 1, row 4: probabilities sum to 1.5"):
        f.predict_proba([p, q])
    with pytest.raises(LatefuseError, match="given twice"):
        latefuse.Fusion(method="mean").fit([p, p], y, names=["x", "x"])


def test_library_lookup_order_and_missing_library(tmp_path):
    import os
    import subprocess
    import sys
    env = dict(os.environ, LATEFUSE_LIB=str(tmp_path / "nope.so"))
    env.pop("LD_PRELOAD", None)
    code = "import latefuse"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=str(tmp_path))
    assert r.returncode != 0
    assert "LATEFUSE_LIB is set to '%s', which is not a file" % (tmp_path / "nope.so") in r.stderr
    if os.environ.get("LATEFUSE_LIB"):
        assert latefuse.library_path == os.environ["LATEFUSE_LIB"]


def test_early_stopping_without_validation_warns():
    a = Input((3,))
    m = Model(a, Dense(1)(a))
    m.compile('sgd', 'mse')
    x, y = np.zeros((8, 3)), np.zeros((8, 1))
    with pytest.warns(RuntimeWarning, match="val_loss"):
        h = m.fit(x, y, epochs=3, verbose=0, callbacks=[latefuse.callbacks.EarlyStopping(patience=1)])
    assert len(h.history["loss"]) == 3
    with pytest.raises(ValueError, match="monitor='loss'"):
        m.fit(x, y, epochs=2, verbose=0, validation_split=0.5,
              callbacks=[latefuse.callbacks.EarlyStopping(monitor='loss')])
    with pytest.raises(ValueError, match=r"^fit: callbacks must be latefuse.callbacks.Callback objects "
                       r"\(EarlyStopping, ModelCheckpoint or a subclass\), got 'object'$"):
        m.fit(x, y, verbose=0, callbacks=[object()])


def test_dot_of_sequences_is_keras_batch_dot():
    # Keras' Dot(axes=1) on (batch, steps, features) is a batch matrix
    # product over the steps (keras/src/layers/merging/dot.py), not the
    # inner product of flattened rows
    a, b = Input((3, 4)), Input((3, 4))
    assert latefuse.layers.Dot(axes=1)([a, b]).shape == (None, 4, 4)
    with pytest.raises(ValueError, match=r"^Incompatible input shapes: axis values 4 \(at axis 2\) != 3 \(at axis "
                       r"1\)\. Full input shapes: \(None, 3, 4\), \(None, 3, 4\)$"):
        latefuse.layers.Dot(axes=(2, 1))([a, b])


def test_normalization_axis_as_keras_spells_it():
    # Keras code often names the last axis by its index: axis=3 on images,
    # axis=1 after a Dense; other axes are refused with the shape
    from latefuse.layers import BatchNormalization, Input, LayerNormalization
    img, vec, seq = Input((8, 8, 3)), Input((5,)), Input((4, 6))
    assert BatchNormalization(axis=3)(img).shape == (None, 8, 8, 3)
    assert BatchNormalization(axis=[3])(img).shape == (None, 8, 8, 3)
    assert BatchNormalization(axis=1)(vec).shape == (None, 5)
    assert LayerNormalization(axis=2)(seq).shape == (None, 4, 6)
    assert LayerNormalization(axis=[-1])(seq).shape == (None, 4, 6)
    with pytest.raises(ValueError, match=r"BatchNormalization: only the last axis \(-1, or 3 for an input of "
                                         r"shape \(None, 8, 8, 3\)\) is available, got axis=2"):
        BatchNormalization(axis=2)(img)
    with pytest.raises(ValueError, match=r"LayerNormalization: only the last axis \(-1, or 2"):
        LayerNormalization(axis=1)(seq)
    with pytest.raises(ValueError, match=r"LayerNormalization: axis must be -1 or the last axis, got \[1, 2\]"):
        LayerNormalization(axis=[1, 2])
