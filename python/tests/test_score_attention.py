"""
test_score_attention.py — Keras' Attention and AdditiveAttention
(keras/src/layers/attention/attention.py, additive_attention.py) against a PyTorch reference written with explicit matmul and
softmax in float32, as Keras computes it: score_mode dot and concat,
use_scale, a separate key, use_causal_mask, return_attention_scores, the
query's and the value's padding masks (Keras' mask=[query_mask, value_mask]:
scores - 1e9, so a fully padded value row gets uniform weights; masked query
steps output 0); parameter counts, the output's mask, get_config keys and
round trips, the model file and .keras predictions bit for bit after fit,
and the errors word for word.
"""
import json
import zipfile

import numpy as np
import pytest

import latefuse as keras
from latefuse import Model, layers, load_model

torch = pytest.importorskip("torch")

T, S = 4, 5


def _masked_model():
    iq, iv = keras.Input((T,), dtype="int32", name="iq"), keras.Input((S,), dtype="int32", name="iv")
    q = layers.Embedding(9, 3, mask_zero=True, name="eq")(iq)
    v = layers.Embedding(9, 3, mask_zero=True, name="ev")(iv)
    y, s = layers.Attention(use_scale=True, name="att")([q, v], use_causal_mask=True, return_attention_scores=True)
    return Model([iq, iv], [y, s], seed=3)


def _concat_model():
    xq, xv, xk = keras.Input((T, 3), name="xq"), keras.Input((S, 2), name="xv"), keras.Input((S, 3), name="xk")
    y = layers.Attention(use_scale=True, score_mode="concat", name="att")([xq, xv, xk])
    return Model([xq, xv, xk], y, seed=4)


def _ids(seed):
    rng = np.random.default_rng(seed)
    iq, iv = rng.integers(1, 9, (3, T)), rng.integers(1, 9, (3, S))
    iq[0, 2:] = 0  # padded query steps
    iv[1, 3:] = 0  # padded values
    iv[2, :] = 0   # every value padded: Keras' weights are uniform
    return iq.astype("int32"), iv.astype("int32")


def _reference(q, v, k, qm, vm, causal, mode, scale, csw):
    """Keras' Attention in float32 (attention.py's _calculate_scores,
    _apply_scores, call)"""
    if mode == "dot":
        scores = q @ k.transpose(1, 2) * scale
    elif mode == "additive":  # additive_attention.py's _calculate_scores
        scores = (scale * torch.tanh(q[:, :, None, :] + k[:, None, :, :])).sum(-1)
    else:
        scores = csw * torch.tanh(scale * (q[:, :, None, :] + k[:, None, :, :])).sum(-1)
    mask = torch.ones(scores.shape, dtype=torch.bool)
    if vm is not None:
        mask = mask & vm[:, None, :]
    if causal:
        mask = mask & torch.tril(torch.ones(scores.shape[1:], dtype=torch.bool))
    w = torch.softmax(torch.where(mask, scores, scores - 1e9), -1)
    y = w @ v
    if qm is not None:
        y = torch.where(qm[:, :, None], y, torch.zeros(()))
    return y, w


def test_masked_dot_against_pytorch():
    m = _masked_model()
    m.get_layer("att").set_weights([np.array(1.5, "float32")])
    iq, iv = _ids(0)
    y, s = m.predict([iq, iv], verbose=0)
    eq, ev = m.get_layer("eq").get_weights()[0], m.get_layer("ev").get_weights()[0]
    q, v = torch.tensor(eq[iq]), torch.tensor(ev[iv])
    wy, ws = _reference(q, v, v, torch.tensor(iq != 0), torch.tensor(iv != 0), True, "dot", 1.5, None)
    np.testing.assert_allclose(y, wy.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s, ws.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y[0, 2:], 0)  # the padded query steps
    np.testing.assert_allclose(s[2], 1.0 / S, rtol=1e-6)  # no value left: uniform, as Keras' - 1e9


def test_concat_with_key_against_pytorch():
    m = _concat_model()
    m.get_layer("att").set_weights([np.array(0.8, "float32"), np.array(-1.3, "float32")])
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(3,) + sh).astype("float32") for sh in ((T, 3), (S, 2), (S, 3))]
    y = m.predict(xs, verbose=0)
    wy, _ = _reference(torch.tensor(xs[0]), torch.tensor(xs[1]), torch.tensor(xs[2]), None, None, False, "concat",
                       0.8, -1.3)
    np.testing.assert_allclose(y, wy.numpy(), rtol=1e-5, atol=1e-6)


def _additive_model(use_scale=True):
    iq, iv = keras.Input((T,), dtype="int32", name="iq"), keras.Input((S, 2), name="xv")
    xk = keras.Input((S, 3), name="xk")
    q = layers.Embedding(9, 3, mask_zero=True, name="eq")(iq)
    y = layers.AdditiveAttention(use_scale=use_scale, name="att")([q, iv, xk])
    return Model([iq, iv, xk], y, seed=8)


def test_additive_against_pytorch():
    rng = np.random.default_rng(9)
    iq = rng.integers(1, 9, (3, T)).astype("int32")
    iq[1, 1:] = 0
    xv, xk = rng.normal(size=(3, S, 2)).astype("float32"), rng.normal(size=(3, S, 3)).astype("float32")
    for use_scale in (True, False):
        m = _additive_model(use_scale)
        y = m.predict([iq, xv, xk], verbose=0)
        scale = torch.tensor(m.get_layer("att").get_weights()[0]) if use_scale else 1.0
        q = torch.tensor(m.get_layer("eq").get_weights()[0][iq])
        wy, _ = _reference(q, torch.tensor(xv), torch.tensor(xk), torch.tensor(iq != 0), None, False, "additive",
                           scale, None)
        np.testing.assert_allclose(y, wy.numpy(), rtol=1e-5, atol=1e-6)
        assert m.get_layer("att").count_params() == (3 if use_scale else 0)
    limit = np.sqrt(6.0 / (3 + 3))  # glorot_uniform of (3,): fan_in = fan_out = 3
    w = _additive_model().get_layer("att").get_weights()[0]
    assert w.shape == (3,) and np.all(np.abs(w) <= limit) and np.any(w != 0)


def test_counts_shapes_and_mask():
    m = _masked_model()
    att = m.get_layer("att")
    assert att.count_params() == 1 and [w.shape for w in att.get_weights()] == [()]
    assert [tuple(o.shape) for o in m.outputs] == [(None, T, 3), (None, T, S)]
    assert _concat_model().get_layer("att").count_params() == 2
    x = keras.Input((T, 3))
    assert layers.Attention()([x, x]).shape == (None, T, 3)
    assert Model(x, layers.Attention()([x, x])).count_params() == 0
    # the output keeps the query's mask: a pooling after it averages the real steps only
    iq, iv = keras.Input((T,), dtype="int32"), keras.Input((S, 3))
    emb = layers.Embedding(9, 3, mask_zero=True)
    y = layers.Attention()([emb(iq), iv])
    mp = Model([iq, iv], layers.GlobalAveragePooling1D()(y))
    ids = np.array([[1, 2, 0, 0]], "int32")
    xv = np.random.default_rng(2).normal(size=(1, S, 3)).astype("float32")
    full = Model([iq, iv], y).predict([ids, xv], verbose=0)
    np.testing.assert_allclose(mp.predict([ids, xv], verbose=0), full[:, :2].mean(1), rtol=1e-6, atol=1e-7)


def test_config_keys_and_round_trip():
    for layer, want in [(layers.Attention(), {"use_scale": False, "score_mode": "dot", "dropout": 0.0, "seed": None}),
                        (layers.Attention(True, "concat", 0.25, seed=7),
                         {"use_scale": True, "score_mode": "concat", "dropout": 0.25, "seed": 7})]:
        cfg = layer.get_config()
        assert {k: v for k, v in cfg.items() if k not in ("name", "trainable")} == want
        assert type(layer).from_config(cfg).get_config() == cfg
    cfg = layers.AdditiveAttention(dropout=0.5).get_config()  # Keras' get_config deletes score_mode
    assert {k: v for k, v in cfg.items() if k not in ("name", "trainable")} == {"use_scale": True, "dropout": 0.5,
                                                                                "seed": None}
    assert layers.AdditiveAttention.from_config(cfg).get_config() == cfg


def test_model_files_bit_for_bit(tmp_path):
    rng = np.random.default_rng(10)
    for m, xs in [(_additive_model(), [rng.integers(0, 9, (8, T)).astype("int32"),
                                       rng.normal(size=(8, S, 2)).astype("float32"),
                                       rng.normal(size=(8, S, 3)).astype("float32")]),
                  (_masked_model(), list(_ids(5))),
                  (_concat_model(), [np.random.default_rng(6).normal(size=(8,) + sh).astype("float32")
                                     for sh in ((T, 3), (S, 2), (S, 3))])]:
        m.compile(optimizer="adam", loss="mse")
        n = len(xs[0])
        ys = [np.ones((n,) + tuple(o.shape[1:]), "float32") for o in m.outputs]
        m.fit(xs, ys if len(ys) > 1 else ys[0], epochs=2, verbose=0)
        want = m.predict(xs, verbose=0)
        want = want if isinstance(want, list) else [want]
        for name in ("m.lf", "m.keras"):
            path = str(tmp_path / name)
            m.save(path)
            got = load_model(path).predict(xs, verbose=0)
            for g, w in zip(got if isinstance(got, list) else [got], want):
                np.testing.assert_array_equal(g, w)
        with zipfile.ZipFile(str(tmp_path / "m.keras")) as z:
            cfg = json.loads(z.read("config.json"))
        att = [e for e in cfg["config"]["layers"] if e["config"]["name"] == "att"][0]
        assert att["config"]["use_scale"] is True
        assert ("score_mode" in att["config"]) == (att["class_name"] == "Attention")


def test_keras_errors():
    x, y = keras.Input((T, 3)), keras.Input((S, 2))
    with pytest.raises(ValueError, match=r"^Invalid value for argument score_mode\. Expected one of \{'dot', "
                                         r"'concat'\}\. Received: score_mode=add$"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match=r"^Attention layer must be called on a list of inputs, namely \[query, "
                                         r"value\] or \[query, value, key\]\. Received: inputs="):
        layers.Attention()(x)
    with pytest.raises(ValueError, match=r"^Attention layer accepts inputs list of length 2 or 3, namely \[query, "
                                         r"value\] or \[query, value, key\]\. Received length: 1\.$"):
        layers.Attention()([x])
    with pytest.raises(ValueError, match=r"^Attention: the query has 3 features and the value \(the key\) 2; the "
                                         r"scores need them equal$"):
        layers.Attention()([x, y])
    with pytest.raises(ValueError, match=r"^Attention: the key has 4 steps and the value 5; they must be equal$"):
        layers.Attention()([x, y, x])
    with pytest.raises(ValueError, match=r"^Attention: dropout must be in \[0, 1\), got 1\.0$"):
        layers.Attention(dropout=1.0)
    with pytest.raises(ValueError, match=r"^AdditiveAttention layer accepts inputs list of length 2 or 3, namely "
                                         r"\[query, value\] or \[query, value, key\]\. Received length: 4\.$"):
        layers.AdditiveAttention()([x, x, x, x])
