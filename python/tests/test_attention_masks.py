"""
test_attention_masks.py — MultiHeadAttention's use_causal_mask and
attention_mask (keras/src/layers/attention/multi_head_attention.py
_compute_attention_mask / _compute_causal_mask, the Softmax that zeroes
masked weights) against a PyTorch reference written with explicit matmul
and softmax (torch 1.13 has no scaled_dot_product_attention): predictions
and one SGD step, with padding masks, a query row with no key; the model
file and get_config round trips; the errors.
"""
import os

import numpy as np
import pytest

import latefuse
from latefuse import Model
from latefuse.layers import Add, Embedding, Input, MultiHeadAttention

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (apt-get install python3-torch)")

B, T, D = 4, 5, 6


def add_keeping_mask():
    """Add under the rule of model files written before Keras 3's masks: the
    Embedding's padding mask stays on the sum (Keras 3's Add drops it, the
    other input carrying none); the references here mask that sum"""
    layer = Add()
    layer._keep_masks = True
    return layer


def model(causal, with_mask, padded):
    ids, x = Input((T,), dtype="int32", name="ids"), Input((T, D), name="x")
    ins = [ids, x]
    s = add_keeping_mask()([Embedding(7, D, mask_zero=padded, name="emb")(ids), x])
    am = None
    if with_mask:
        am = Input((T, T), name="am")
        ins.append(am)
    y = MultiHeadAttention(2, 3, name="mha")(s, s, attention_mask=am, use_causal_mask=causal)
    return Model(ins, y, seed=5)


def data():
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 7, (B, T))
    ids[0, 3:] = 0  # padding
    ids[1, :] = 0   # all padding
    x = rng.uniform(-1, 1, (B, T, D)).astype(np.float32)
    am = (rng.uniform(0, 1, (B, T, T)) > 0.3).astype(np.float32)
    am[2, 1, :] = 0  # query step 1 of row 2 may attend no key
    return ids.astype(np.int32), x, am


def reference(w, ids, x, am, causal, padded, with_scores=False):
    """Keras' MultiHeadAttention in float64 from Keras-layout weights"""
    emb, wq, bq, wk, bk, wv, bv, wo, bo = w
    s = emb[torch.tensor(ids, dtype=torch.long)] + torch.tensor(x, dtype=torch.float64)
    q = torch.einsum("btd,dhk->bthk", s, wq) + bq
    k = torch.einsum("btd,dhk->bthk", s, wk) + bk
    v = torch.einsum("btd,dhk->bthk", s, wv) + bv
    scores = torch.einsum("bthk,bshk->bhts", q, k) / np.sqrt(3.0)
    mask = torch.ones(B, 1, T, T, dtype=torch.bool)
    if padded:
        pm = torch.tensor(ids != 0)
        mask = mask & pm[:, None, :, None] & pm[:, None, None, :]
    if causal:
        mask = mask & torch.tril(torch.ones(T, T, dtype=torch.bool))
    if am is not None:
        mask = mask & torch.tensor(am != 0)[:, None]
    p = torch.softmax(torch.where(mask, scores, torch.tensor(-1e9, dtype=torch.float64)), -1)
    p = torch.where(mask, p, torch.zeros((), dtype=torch.float64))  # Keras' Softmax: masked weights 0
    o = torch.einsum("bhts,bshv->bthv", p, v)
    y = torch.einsum("bthv,hvo->bto", o, wo) + bo
    return (y, p) if with_scores else y


@needs_torch
@pytest.mark.parametrize("causal,with_mask,padded", [(True, False, False), (False, True, False), (True, True, False),
                                                     (True, False, True), (True, True, True)])
def test_against_torch(causal, with_mask, padded, tmp_path):
    m = model(causal, with_mask, padded)
    m.compile(optimizer=latefuse.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(11)
    m.set_weights([rng.uniform(-1, 1, np.shape(v)).astype(np.float32) for v in m.get_weights()])
    ids, x, am = data()
    xs = [ids, x] + ([am] if with_mask else [])
    w = [torch.tensor(np.asarray(v, np.float64), requires_grad=True) for v in m.get_weights()]
    ref = reference(w, ids, x, am if with_mask else None, causal, padded)
    got = m.predict(xs, verbose=0)
    np.testing.assert_allclose(got, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    if with_mask:  # a query row with no key: the output bias exactly
        np.testing.assert_array_equal(got[2, 1], m.get_weights()[-1])
    if not padded:  # (the padding mask also masks the loss: test_masked_loss; the C FD tests cover it)
        y = rng.uniform(-1, 1, (B, T, D)).astype(np.float32)
        ((ref - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
        m.train_on_batch(xs, y)
        for k, (new, t) in enumerate(zip(m.get_weights(), w)):
            np.testing.assert_allclose(new, (t - 0.1 * t.grad).detach().numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg="weight %d" % k)
    path = os.path.join(tmp_path, "mha.lfm")
    m.save(path)
    l = latefuse.load_model(path)
    np.testing.assert_array_equal(l.predict(xs, verbose=0), m.predict(xs, verbose=0))
    c = Model.from_config(m.get_config())
    c.set_weights(m.get_weights())
    np.testing.assert_array_equal(c.predict(xs, verbose=0), m.predict(xs, verbose=0))


def test_causal_changes_the_output():
    a, b = model(True, False, False), model(False, False, False)
    ids, x, _ = data()
    b.set_weights(a.get_weights())
    pa, pb = a.predict([ids, x], verbose=0), b.predict([ids, x], verbose=0)
    np.testing.assert_array_equal(pa[:, -1], pb[:, -1])  # the last step sees every key either way
    assert not np.array_equal(pa[:, 0], pb[:, 0])


@needs_torch
@pytest.mark.parametrize("padded", [False, True])
def test_return_attention_scores(padded, tmp_path):
    """Keras' [output, scores] (scores: the softmax weights (batch, heads, T,
    S)); one SGD step on both outputs' losses against torch"""
    ids, x, am = Input((T,), dtype="int32", name="ids"), Input((T, D), name="x"), Input((T, T), name="am")
    s = add_keeping_mask()([Embedding(7, D, mask_zero=padded, name="emb")(ids), x])
    y, sc = MultiHeadAttention(2, 3, name="mha")(s, s, attention_mask=am, use_causal_mask=True,
                                                  return_attention_scores=True)
    assert y.shape == (None, T, D) and sc.shape == (None, 2, T, T)
    m = Model([ids, x, am], [y, sc], seed=6)
    m.compile(optimizer=latefuse.optimizers.SGD(0.1), loss=["mse", "mse"])
    rng = np.random.default_rng(12)
    m.set_weights([rng.uniform(-1, 1, np.shape(v)).astype(np.float32) for v in m.get_weights()])
    i, xv, a = data()
    w = [torch.tensor(np.asarray(v, np.float64), requires_grad=True) for v in m.get_weights()]
    ry, rp = reference(w, i, xv, a, True, padded, with_scores=True)
    gy, gp = m.predict([i, xv, a], verbose=0)
    np.testing.assert_allclose(gy, ry.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gp, rp.detach().numpy(), rtol=1e-5, atol=1e-6)
    if not padded:  # (a padded output's loss is masked: test_masked_loss)
        ty, tp = rng.uniform(-1, 1, gy.shape).astype(np.float32), rng.uniform(0, 1, gp.shape).astype(np.float32)
        (((ry - torch.tensor(ty, dtype=torch.float64)) ** 2).mean() +
         ((rp - torch.tensor(tp, dtype=torch.float64)) ** 2).mean()).backward()
        m.train_on_batch([i, xv, a], [ty, tp])
        for k, (new, t) in enumerate(zip(m.get_weights(), w)):
            np.testing.assert_allclose(new, (t - 0.1 * t.grad).detach().numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg="weight %d" % k)
    path = os.path.join(tmp_path, "scores.lfm")
    m.save(path)
    l = latefuse.load_model(path)
    for p, q in zip(l.predict([i, xv, a], verbose=0), m.predict([i, xv, a], verbose=0)):
        np.testing.assert_array_equal(p, q)
    c = Model.from_config(m.get_config())
    c.set_weights(m.get_weights())
    for p, q in zip(c.predict([i, xv, a], verbose=0), m.predict([i, xv, a], verbose=0)):
        np.testing.assert_array_equal(p, q)
    called = m([ids, x, am])  # the functional model called again: the same two outputs
    assert [t.shape for t in called] == [(None, T, D), (None, 2, T, T)]


def test_errors():
    x = Input((T, D))
    with pytest.raises(ValueError, match=r"^MultiHeadAttention: the attention_mask of shape \(None, 5, 4\) must be "
                       r"\(None, 5, 5\) \(batch, query steps, key steps\)$"):
        MultiHeadAttention(2, 3)(x, x, attention_mask=Input((T, 4)))
    with pytest.raises(ValueError, match="^MultiHeadAttention: attention_mask must be a tensor"):
        MultiHeadAttention(2, 3)(x, x, attention_mask=np.ones((T, T)))


def test_keras_file_keeps_the_call_arguments(tmp_path):
    """a .keras file writes use_causal_mask and the attention_mask tensor in
    the call's kwargs, as Keras' inbound_nodes; loading it predicts the same"""
    pytest.importorskip("h5py")
    x, am = Input((T, D)), Input((T, T))
    y = MultiHeadAttention(2, 3)(x, x, attention_mask=am, use_causal_mask=True)
    m = Model([x, am], y, seed=2)
    path = os.path.join(tmp_path, "m.keras")
    m.save(path)
    _, xv, a = data()
    np.testing.assert_array_equal(latefuse.load_model(path).predict([xv, a], verbose=0),
                                  m.predict([xv, a], verbose=0))


def test_shared_layer_file_round_trip(tmp_path):
    """one MultiHeadAttention called twice (its weights shared), each call
    with its own arguments: the model file loads it back (it failed to,
    calling the layer on a list) and predicts the same"""
    x, z, am = Input((T, D)), Input((T, D)), Input((T, T))
    mha = MultiHeadAttention(2, 3)
    y = Add()([mha(x, x, use_causal_mask=True), mha(z, z, attention_mask=am)])
    m = Model([x, z, am], y, seed=1)
    path = os.path.join(tmp_path, "shared.lfm")
    m.save(path)
    _, xv, a = data()
    np.testing.assert_array_equal(latefuse.load_model(path).predict([xv, xv[::-1], a], verbose=0),
                                  m.predict([xv, xv[::-1], a], verbose=0))
