"""
test_attention.py — MultiHeadAttention through the Keras-style API: called
as layer(x, x) (and with a separate value and key), Keras-layout weights
(kernels (features, heads, dim), output kernel (heads, value_dim, out)),
the output against a numpy implementation of Keras' formula, argument
errors, and the save/load round trip predicting bit for bit.
"""
import os

import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.regularizers import l2
from latefuse.layers import (Add, Dense, Embedding, Flatten, GlobalAveragePooling1D, Input, LayerNormalization,
                             MultiHeadAttention, PositionEmbedding)


def add_keeping_mask():
    """Add under the rule of model files written before Keras 3's masks: the
    Embedding's padding mask stays on the sum (Keras 3's Add drops it, the
    other input carrying none); the references here mask that sum"""
    layer = Add()
    layer._keep_masks = True
    return layer


def numpy_mha(q_in, v_in, k_in, w, heads, kd):
    """Keras' MultiHeadAttention in numpy (float64), weights in Keras' order."""
    wq, bq, wk, bk, wv, bv, wo, bo = [a.astype(np.float64) for a in w]
    q = np.einsum("btd,dhk->bthk", q_in, wq) + bq
    k = np.einsum("bsd,dhk->bshk", k_in, wk) + bk
    v = np.einsum("bsd,dhk->bshk", v_in, wv) + bv
    s = np.einsum("bthk,bshk->bhts", q / np.sqrt(kd), k)
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    o = np.einsum("bhts,bshk->bthk", p, v)
    return np.einsum("bthk,hko->bto", o, wo) + bo


def test_shapes_weights_and_errors():
    x = Input((7, 16))
    mha = MultiHeadAttention(num_heads=4, key_dim=8)
    y = mha(x, x)
    assert y.shape == (None, 7, 16)
    m = Model(x, y, seed=1)
    ws = mha.get_weights()
    assert [w.shape for w in ws] == [(16, 4, 8), (4, 8)] * 3 + [(4, 8, 16), (16,)]
    assert not ws[1].any() and not ws[7].any()
    assert np.abs(ws[0]).max() <= np.sqrt(6 / (16 * 4 + 16 * 8))
    assert m.count_params() == 3 * (16 * 32 + 32) + 32 * 16 + 16
    q, v = Input((5, 6)), Input((3, 4))
    assert MultiHeadAttention(2, 3, value_dim=5, output_shape=9)(q, v).shape == (None, 5, 9)
    with pytest.raises(ValueError, match=r"the query of shape \(None, 12\) must be \(batch, steps, features\)"):
        MultiHeadAttention(2, 4)(Input((12,)), x)
    with pytest.raises(ValueError, match="the key has 5 steps and the value 3; they must be equal"):
        MultiHeadAttention(2, 4)(q, v, Input((5, 4)))
    with pytest.raises(ValueError, match="num_heads must be a positive integer, got 0"):
        MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1"):
        MultiHeadAttention(2, 4, dropout=1)


@pytest.mark.parametrize("cross", [False, True])
def test_against_numpy(cross):
    rng = np.random.default_rng(3)
    q_in = Input((5, 6))
    v_in = Input((4, 3)) if cross else q_in
    k_in = Input((4, 2)) if cross else None
    mha = MultiHeadAttention(2, 3, value_dim=4, output_shape=5) if cross else MultiHeadAttention(2, 3)
    out = mha(q_in, v_in, k_in) if cross else mha(q_in, q_in)
    m = Model([q_in, v_in, k_in] if cross else q_in, out, seed=2)
    ws = [rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in mha.get_weights()]
    mha.set_weights(ws)
    xq = rng.normal(size=(3, 5, 6)).astype(np.float32)
    xv = rng.normal(size=(3, 4, 3)).astype(np.float32) if cross else xq
    xk = rng.normal(size=(3, 4, 2)).astype(np.float32) if cross else xq
    got = m.predict([xq, xv, xk] if cross else xq)
    want = numpy_mha(xq.astype(np.float64), xv.astype(np.float64), xk.astype(np.float64), ws, 2, 3)
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)


def test_fit_save_load(tmp_path):
    x = Input((6, 8))
    a = MultiHeadAttention(2, 4, dropout=0.1, kernel_regularizer=l2(1e-3), name="att")(x, x)
    out = Dense(3, activation="softmax")(Flatten()(a))
    m = Model(x, out, seed=4)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(5)
    xs = rng.normal(size=(32, 6, 8)).astype(np.float32)
    ys = (np.arange(32) % 3).astype(np.float32)
    h = m.fit(xs, ys, epochs=3, batch_size=8, verbose=0)
    assert len(h.history["loss"]) == 3 and np.isfinite(h.history["loss"]).all()
    path = os.path.join(tmp_path, "mha.lf")
    m.save(path)
    loaded = load_model(path)
    assert np.array_equal(m.predict(xs), loaded.predict(xs))
    att = loaded.get_layer("att")
    assert isinstance(att, MultiHeadAttention) and att.num_heads == 2 and att.dropout == pytest.approx(0.1)
    assert att.l2 == pytest.approx(1e-3)
    # the penalty is in the loss: the same weights without it give less
    x2 = Input((6, 8))
    a2 = MultiHeadAttention(2, 4, name="att")(x2, x2)
    bare = Model(x2, Dense(3, activation="softmax")(Flatten()(a2)), seed=4)
    bare.set_weights(m.get_weights())
    bare.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    w = m.get_layer("att").get_weights()
    pen = 1e-3 * sum(float((k.astype(np.float64) ** 2).sum()) for k in w[0::2])
    assert m.evaluate(xs, ys) - bare.evaluate(xs, ys) == pytest.approx(pen, rel=1e-3)
    for w1, w2 in zip(m.get_layer("att").get_weights(), att.get_weights()):
        assert np.array_equal(w1, w2)


def encoder(seed=0):
    ids = Input((6,), dtype="int32")
    emb = Embedding(11, 8, mask_zero=True)(ids)
    x = add_keeping_mask()([emb, PositionEmbedding(6)(emb)])
    a = MultiHeadAttention(2, 4, dropout=0.1)(x, x)
    h = LayerNormalization()(Add()([x, a]))
    f = Dense(8)(Dense(16, activation="relu")(h))
    h = LayerNormalization()(Add()([h, f]))
    out = Dense(3, activation="softmax")(GlobalAveragePooling1D()(h))
    return Model(ids, out, seed=seed)


def test_encoder_padding_mask(tmp_path):
    """A transformer encoder block on padded ids (a row of padding only):
    the padding id's embedding reaches no output (its keys are masked and
    its steps pooled out), and the block fits and round-trips."""
    m = encoder(6)
    rng = np.random.default_rng(7)
    ids = rng.integers(1, 11, size=(40, 6)).astype(np.float32)
    ids[::2, 4:] = 0
    ids[3, :] = 0
    p1 = m.predict(ids)
    emb = m.layers[1]
    (table,) = emb.get_weights()
    table[0] = rng.normal(size=8).astype(np.float32) * 5
    emb.set_weights([table])
    np.testing.assert_array_equal(m.predict(ids), p1)
    table[1] += 1  # a real token's row does reach them
    emb.set_weights([table])
    assert not np.array_equal(m.predict(ids), p1)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    y = (ids[:, 0] % 3).astype(np.float32)
    h = m.fit(ids, y, epochs=3, batch_size=8, verbose=0)
    assert np.isfinite(h.history["loss"]).all()
    path = os.path.join(tmp_path, "enc.lf")
    m.save(path)
    assert np.array_equal(load_model(path).predict(ids), m.predict(ids))


def test_get_config_and_to_json():
    """model.get_config() / to_json() with a MultiHeadAttention (it kept no
    attention_axes nor initializers, and get_config raised NotImplementedError)."""
    from latefuse import model_from_json
    x = Input((5, 4))
    m = Model(x, GlobalAveragePooling1D()(MultiHeadAttention(2, 3)(x, x)))
    cfg = [e for e in m.get_config()["layers"] if e["class_name"] == "MultiHeadAttention"][0]["config"]
    assert (cfg["attention_axes"], cfg["kernel_initializer"], cfg["bias_initializer"]) == (None, "glorot_uniform",
                                                                                         "zeros")
    assert model_from_json(m.to_json()).count_params() == m.count_params()
