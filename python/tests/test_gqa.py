"""
test_gqa.py — GroupedQueryAttention through the Keras-style API: Keras'
weight shapes, eager values and a model's predictions against numpy (the
key/value heads repeated, as Keras' ops.repeat), the padding mask and
use_causal_mask, attention_mask and return_attention_scores, a fit, .lf and
.keras round trips predicting the same bits
(the .keras weights under Keras' private _query_dense ... paths), get_config,
and the argument errors word for word.
"""
import json
import os
import zipfile

import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.layers import (Dense, Embedding, GlobalAveragePooling1D, GroupedQueryAttention, Input,
                             MultiHeadAttention)


def numpy_gqa(q_in, v_in, k_in, w, hq, hk, hd, qmask=None, kmask=None, causal=False, amask=None, scores=False):
    """Keras' GroupedQueryAttention in numpy (float64), weights in Keras' order;
    with scores, (output, the softmax weights (B, hq, T, S))"""
    w = [a.astype(np.float64) for a in w]
    wq, bq, wk, bk, wv, bv, wo, bo = w if len(w) == 8 else [w[0], 0, w[1], 0, w[2], 0, w[3], 0]
    q = np.einsum("btd,dhk->bthk", q_in, wq) + bq
    k = np.repeat(np.einsum("bsd,dhk->bshk", k_in, wk) + bk, hq // hk, axis=2)
    v = np.repeat(np.einsum("bsd,dhk->bshk", v_in, wv) + bv, hq // hk, axis=2)
    s = np.einsum("bthk,bshk->bhts", q / np.sqrt(hd), k)
    B, T, S = q_in.shape[0], q_in.shape[1], v_in.shape[1]
    ok = np.ones((B, 1, T, S), bool)
    if qmask is not None:
        ok &= qmask[:, None, :, None]
    if kmask is not None:
        ok &= kmask[:, None, None, :]
    if causal:
        ok &= np.tril(np.ones((T, S), bool))
    if amask is not None:
        ok &= amask[:, None, :, :] != 0
    s = np.where(ok, s, -np.inf)
    s = s - np.where(ok.any(-1, keepdims=True), s.max(-1, keepdims=True), 0)
    p = np.where(ok, np.exp(s), 0)
    p /= np.maximum(p.sum(-1, keepdims=True), 1e-300)
    o = np.einsum("bhts,bshk->bthk", p, v)
    y = np.einsum("bthk,hko->bto", o, wo) + bo
    return (y, p) if scores else y


def test_shapes_and_weights():
    x = Input((7, 16))
    g = GroupedQueryAttention(8, 4, 2)
    y = g(x, x)
    assert y.shape == (None, 7, 16)
    m = Model(x, y, seed=1)
    ws = g.get_weights()
    assert [w.shape for w in ws] == [(16, 4, 8), (4, 8), (16, 2, 8), (2, 8), (16, 2, 8), (2, 8), (4, 8, 16), (16,)]
    assert not ws[1].any() and not ws[7].any()
    assert np.abs(ws[2]).max() <= np.sqrt(6 / (16 * 2 + 16 * 8))
    assert m.count_params() == 16 * 32 + 32 + 2 * (16 * 16 + 16) + 32 * 16 + 16
    q, v, k = Input((5, 6)), Input((4, 6)), Input((4, 2))
    c = GroupedQueryAttention(3, 2, 1, use_bias=False)
    Model([q, v, k], c(q, v, k))
    assert [w.shape for w in c.get_weights()] == [(6, 2, 3), (2, 1, 3), (6, 1, 3), (2, 3, 6)]


@pytest.mark.parametrize("hk", [1, 2, 4])
def test_eager_against_numpy(hk):
    rng = np.random.default_rng(hk)
    g = GroupedQueryAttention(3, 4, hk)
    xq = rng.normal(size=(2, 5, 6)).astype(np.float32)
    xv = rng.normal(size=(2, 3, 6)).astype(np.float32)
    first = np.asarray(g(xq, xv))  # eager: builds the layer on these shapes
    ws = [rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in g.get_weights()]
    g.set_weights(ws)
    got = np.asarray(g(xq, xv))
    want = numpy_gqa(xq.astype(np.float64), xv.astype(np.float64), xv.astype(np.float64), ws, 4, hk, 3)
    assert first.shape == (2, 5, 6)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_masks_against_numpy(causal):
    rng = np.random.default_rng(7)
    ids = Input((6,), dtype="int32")
    e = Embedding(9, 4, mask_zero=True)(ids)
    g = GroupedQueryAttention(2, 4, 2, name="gqa")
    m = Model(ids, g(e, e, use_causal_mask=causal), seed=3)
    ws = [rng.normal(size=w.shape).astype(np.float32) * 0.7 for w in g.get_weights()]
    g.set_weights(ws)
    tok = np.array([[1, 2, 3, 4, 5, 6], [3, 1, 4, 0, 0, 0], [0] * 6], np.int32)
    got = m.predict(tok, verbose=0)
    emb = m.layers[1].get_weights()[0].astype(np.float64)[tok]
    mask = tok != 0
    want = numpy_gqa(emb, emb, emb, ws, 4, 2, 2, mask, mask, causal)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got[2], np.broadcast_to(ws[7], (6, 4)))  # a padded row: the output bias


def model(seed=0, dropout=0.1):
    ids = Input((6,), dtype="int32")
    e = Embedding(11, 8, mask_zero=True)(ids)
    a = GroupedQueryAttention(4, 4, 2, dropout=dropout, name="gqa")(e, e, use_causal_mask=True)
    b = GroupedQueryAttention(2, 2, 1, use_bias=False, name="mqa")(a, e)
    return Model(ids, Dense(3, activation="softmax")(GlobalAveragePooling1D()(b)), seed=seed)


def data():
    rng = np.random.default_rng(5)
    tok = rng.integers(0, 11, size=(32, 6)).astype(np.int32)
    tok[:, 0] = 1 + np.arange(32) % 10
    return tok, (np.arange(32) % 3).astype(np.float32)


def test_fit_and_lf_round_trip(tmp_path):
    m = model()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    tok, ys = data()
    h = m.fit(tok, ys, epochs=3, batch_size=8, verbose=0)
    assert len(h.history["loss"]) == 3 and np.isfinite(h.history["loss"]).all()
    assert h.history["loss"][-1] < h.history["loss"][0]
    path = os.path.join(tmp_path, "gqa.lf")
    m.save(path)
    loaded = load_model(path)
    np.testing.assert_array_equal(m.predict(tok, verbose=0), loaded.predict(tok, verbose=0))
    g = loaded.get_layer("gqa")
    assert isinstance(g, GroupedQueryAttention) and (g.head_dim, g.num_query_heads, g.num_key_value_heads) == (4, 4, 2)
    assert g.dropout == pytest.approx(0.1) and g.use_bias and not loaded.get_layer("mqa").use_bias


def test_keras_file_round_trip(tmp_path):
    pytest.importorskip("h5py")
    m = model(seed=2)
    tok, _ = data()
    path = os.path.join(tmp_path, "gqa.keras")
    m.save(path)
    with zipfile.ZipFile(path) as z:
        cfg = json.loads(z.read("config.json"))
        import h5py
        import io
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            names = []
            f.visit(names.append)
    layers = {l["config"]["name"]: l for l in cfg["config"]["layers"]}
    c = layers["gqa"]
    assert c["class_name"] == "GroupedQueryAttention"
    assert {k: c["config"][k] for k in ("head_dim", "num_query_heads", "num_key_value_heads", "dropout",
                                        "use_bias")} == {"head_dim": 4, "num_query_heads": 4,
                                                         "num_key_value_heads": 2, "dropout": 0.1,
                                                         "use_bias": True}
    assert "flash_attention" not in c["config"]
    assert c["inbound_nodes"][0]["kwargs"].get("use_causal_mask") is True
    g = [n for n in names if n.startswith("layers/grouped_query_attention/") and n.endswith("/vars/0")]
    assert sorted(g) == ["layers/grouped_query_attention/_%s_dense/vars/0" % s
                         for s in ("key", "output", "query", "value")]
    loaded = load_model(path)
    np.testing.assert_array_equal(m.predict(tok, verbose=0), loaded.predict(tok, verbose=0))
    for a, b in zip(m.get_layer("gqa").get_weights(), loaded.get_layer("gqa").get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_mask_and_scores(tmp_path, causal):
    """Keras' call arguments attention_mask and return_attention_scores: the
    output and the weights against numpy, a query row with no key left
    giving zero weights and the output bias; .lf and .keras round trips"""
    x, am = Input((4, 6), name="x"), Input((4, 4), name="am")
    g = GroupedQueryAttention(3, 4, 2, name="gqa")
    y, sc = g(x, x, attention_mask=am, use_causal_mask=causal, return_attention_scores=True)
    assert tuple(sc.shape) == (None, 4, 4, 4) and tuple(y.shape) == (None, 4, 6)
    m = Model([x, am], [y, sc], seed=5)
    rng = np.random.default_rng(3)
    g.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in g.get_weights()])
    xs = rng.normal(size=(3, 4, 6)).astype(np.float32)
    ms = (rng.uniform(size=(3, 4, 4)) > 0.3).astype(np.float32)
    ms[1, 2, :] = 0  # sample 1, query 2: no key
    yo, so = m.predict([xs, ms], verbose=0)
    want, wp = numpy_gqa(xs.astype(np.float64), xs.astype(np.float64), xs.astype(np.float64), g.get_weights(),
                         4, 2, 3, causal=causal, amask=ms, scores=True)
    np.testing.assert_allclose(yo, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(so, wp, rtol=1e-4, atol=1e-6)
    assert (so[1, :, 2, :] == 0).all() and (yo[1, 2] == g.get_weights()[-1]).all()
    pytest.importorskip("h5py")
    for ext in ("lf", "keras"):
        path = os.path.join(tmp_path, "gqa_args." + ext)
        m.save(path)
        loaded = load_model(path)
        for a, b in zip(m.predict([xs, ms], verbose=0), loaded.predict([xs, ms], verbose=0)):
            np.testing.assert_array_equal(a, b)
        # the loaded model's layer keeps its call arguments: its own .keras file says so
        again = os.path.join(tmp_path, "again_%s.keras" % ext)
        loaded.save(again)
        with zipfile.ZipFile(again) as z:
            cfg = json.loads(z.read("config.json"))
        c = {l["config"]["name"]: l for l in cfg["config"]["layers"]}["gqa"]
        kw = c["inbound_nodes"][0]["kwargs"]
        assert kw.get("return_attention_scores") is True and kw["attention_mask"]["config"]["keras_history"][0] == "am"
        assert kw.get("use_causal_mask", False) is causal


def test_equals_multi_head_attention():
    x = Input((5, 6))
    g, h = GroupedQueryAttention(3, 2, 2), MultiHeadAttention(2, 3)
    mg, mh = Model(x, g(x, x), seed=1), Model(x, h(x, x), seed=2)
    h.set_weights(g.get_weights())
    xs = np.random.default_rng(0).normal(size=(3, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(mg.predict(xs, verbose=0), mh.predict(xs, verbose=0), rtol=1e-6, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"^`num_query_heads` must be divisible by `num_key_value_heads`\.$"):
        GroupedQueryAttention(4, 6, 4)
    with pytest.raises(ValueError, match="^GroupedQueryAttention: head_dim must be a positive integer, got 0$"):
        GroupedQueryAttention(0, 4, 2)
    with pytest.raises(ValueError, match=r"^GroupedQueryAttention: dropout must be in \[0, 1\), got 1$"):
        GroupedQueryAttention(4, 4, 2, dropout=1)
    with pytest.raises(ValueError, match="^Dropout is not supported when flash attention is enabled"):
        GroupedQueryAttention(4, 4, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match="^GroupedQueryAttention: unsupported arguments use_gate$"):
        GroupedQueryAttention(4, 4, 2, use_gate=True)
    with pytest.raises(ValueError, match="^GroupedQueryAttention: the last dimension of the query and the value "
                                         "must be equal, but are 6, 4$"):
        GroupedQueryAttention(4, 4, 2)(Input((5, 6)), Input((3, 4)))
    with pytest.raises(ValueError, match=r"^GroupedQueryAttention: the query of shape \(None, 12\) must be "
                                         r"\(batch, steps, features\)$"):
        GroupedQueryAttention(4, 4, 2)(Input((12,)), Input((3, 12)))
    with pytest.raises(ValueError, match=r"^GroupedQueryAttention: the attention_mask of shape \(None, 5, 4\) "
                                         r"must be \(None, 5, 5\) \(batch, query steps, key steps\)$"):
        x = Input((5, 6))
        GroupedQueryAttention(4, 4, 2)(x, x, attention_mask=Input((5, 4)))
