"""
test_image.py — the image layers through the Keras-style API: shapes at
call time, a small CNN that fits on (N, H, W, C) arrays, Keras-layout
weights (Conv2D kernel (kh, kw, C, filters), BatchNormalization's four
vectors), the Conv2D output against a direct numpy convolution, and the
save/load round trip predicting bit for bit.
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
    with pytest.raises(ValueError, match="RandomTranslation: only fill_mode='constant'"):
        RandomTranslation(0.1, 0.1, fill_mode="reflect")


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
