"""
test_seq.py — the sequence layers through the Keras-style API: shapes and
errors at call time, Keras-layout weights (Embedding (input_dim,
output_dim), Conv1D kernel (k, channels, filters), LayerNormalization's
gamma and beta), the padding mask by hand (masked mean and max, a fully
padded row pooling to 0), refused token ids, a small text model that
fits, saves and loads predicting bit for bit, and MaxPooling1D /
AveragePooling1D against PyTorch, through get_config and a model file.
"""
import os

import numpy as np
import pytest

from latefuse import LatefuseError, Model, load_model
from latefuse.layers import (Add, AveragePooling1D, Conv1D, Dense, Dropout, Embedding, GlobalAveragePooling1D,
                             GlobalMaxPooling1D, Input, LayerNormalization, MaxPooling1D, PositionEmbedding)


def text_model(seed=0):
    inp = Input((10,), dtype="int32")
    e = Embedding(20, 8, mask_zero=True)(inp)
    x = Add()([e, PositionEmbedding(16)(e)])
    x.layer._keep_masks = True  # the mask stays on the sum (earlier files' rule; Keras 3's Add drops it)
    x = LayerNormalization()(x)
    x = Dense(8, activation="relu")(x)
    x = Dropout(0.1)(x)
    a = GlobalAveragePooling1D()(x)
    out = Dense(3, activation="softmax")(LayerNormalization(epsilon=1e-5)(Dense(6)(a)))
    return Model(inp, out, seed=seed)


def test_shapes_and_errors():
    ids = Input((12,), dtype="int32")
    e = Embedding(50, 6)(ids)
    assert e.shape == (None, 12, 6)
    assert Dense(4)(e).shape == (None, 12, 4)
    assert Conv1D(5, 3)(e).shape == (None, 10, 5)
    assert Conv1D(5, 4, strides=3, padding="same")(e).shape == (None, 4, 5)
    assert GlobalMaxPooling1D()(Conv1D(2, 1)(e)).shape == (None, 2)
    assert LayerNormalization()(Dense(3)(e)).shape == (None, 12, 3)
    assert PositionEmbedding(12)(Dense(2)(e)).shape == (None, 12, 2)
    with pytest.raises(ValueError, match=r"Conv1D: input of shape \(None, 5\) must be \(batch, steps, features\)"):
        Conv1D(2, 3)(Input((5,)))
    with pytest.raises(ValueError, match=r"Conv1D: input of shape \(None, 4, 2\) is shorter than the kernel 5"):
        Conv1D(2, 5)(Input((4, 2)))
    with pytest.raises(ValueError, match=r"PositionEmbedding: input of shape \(None, 9, 2\) is longer than "
                                         r"sequence_length 8"):
        PositionEmbedding(8)(Input((9, 2)))
    with pytest.raises(ValueError, match="Embedding: input_dim must be a positive integer, got 0"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match=r"LayerNormalization: only the last axis \(-1, or 2 for an input of shape "
                                         r"\(None, 9, 2\)\) is available, got axis=1"):
        LayerNormalization(axis=1)(Input((9, 2)))


def test_masked_pooling_by_hand():
    ids = Input((4,), dtype="int32")
    e = Embedding(6, 2, mask_zero=True)(ids)
    avg, mx = GlobalAveragePooling1D()(e), GlobalMaxPooling1D()(e)
    m = Model(ids, Add()([avg, mx]), seed=1)
    table = np.stack([np.arange(6), -0.5 * np.arange(6)], axis=1).astype(np.float32)
    m.layers[1].set_weights([table])
    assert m.layers[1].get_weights()[0].shape == (6, 2)
    x = np.array([[3, 5, 0, 0], [0, 0, 0, 0], [1, 4, 2, 5]], np.float32)
    # mean over the unmasked steps + max over them; the padded row gives 0
    want = np.array([[4 + 5, -2 - 1.5], [0, 0], [3 + 5, -1.5 - 0.5]], np.float32)
    np.testing.assert_array_equal(m.predict(x), want)


def test_weights_keras_layout():
    inp = Input((7, 3))
    c = Conv1D(4, 2, use_bias=True)(inp)
    ln = LayerNormalization(center=False)(c)
    m = Model(inp, GlobalAveragePooling1D()(ln), seed=2)
    k, b = m.layers[1].get_weights()
    assert k.shape == (2, 3, 4) and b.shape == (4,)
    (g,) = m.layers[2].get_weights()
    np.testing.assert_array_equal(g, np.ones(4, np.float32))
    # Conv1D against numpy: y[t] = sum_j x[t + j] @ k[j] + b, then normalised
    rng = np.random.default_rng(0)
    k = rng.normal(size=k.shape).astype(np.float32)
    m.layers[1].set_weights([k, np.zeros(4, np.float32)])
    x = rng.normal(size=(2, 7, 3)).astype(np.float32)
    conv = np.stack([sum(x[:, t + j] @ k[j] for j in range(2)) for t in range(6)], axis=1)
    norm = (conv - conv.mean(-1, keepdims=True)) / np.sqrt(conv.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(m.predict(x), norm.mean(axis=1), atol=1e-5)


def test_bad_token_ids():
    m = text_model()
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    x = np.ones((4, 10), np.float32)
    x[2, 7] = 20
    with pytest.raises(LatefuseError, match=r"fit: Embedding 'embedding' got token id 20 at row 2, position 7 of "
                                            r"input 'input'; ids must be integers in \[0, 20\)"):
        m.fit(x, np.zeros(4), verbose=0)
    # predict's C call keeps no message: the package says which id, where
    with pytest.raises(LatefuseError, match=r"^predict: Embedding 'embedding' got token id 20 at row 2, position 7 "
                                            r"of input 'input'; ids must be integers in \[0, 20\)$"):
        m.predict(x)
    x[2, 7], x[3, 1] = 1, -1
    with pytest.raises(LatefuseError, match=r"^predict: Embedding 'embedding' got token id -1 at row 3, position 1 "):
        m.predict(x.astype(np.int32))


def test_text_model_fits_and_round_trips(tmp_path):
    m = text_model(seed=3)
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    n = 60
    y = rng.integers(0, 3, n)
    # class k's sentences use tokens 1 + 6k .. 6 + 6k, then padding
    x = np.zeros((n, 10), np.float32)
    for r in range(n):
        length = rng.integers(3, 11)
        x[r, :length] = 1 + 6 * y[r] + rng.integers(0, 6, length)
    h = m.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert h.history["accuracy"][-1] > 0.9
    p = m.predict(x)
    path = os.path.join(tmp_path, "text.lf")
    m.save(path)
    p2 = load_model(path).predict(x)
    np.testing.assert_array_equal(p, p2)
    # the padding's own embedding (row 0) changes nothing: the mask hides it
    emb = m.layers[1]
    (table,) = emb.get_weights()
    table[0] = 5.0
    emb.set_weights([table])
    np.testing.assert_array_equal(m.predict(x), p)
    table[1] += 0.5
    emb.set_weights([table])
    assert not np.array_equal(m.predict(x), p)


def test_conv1d_model_fits():
    inp = Input((9, 2))
    x = Conv1D(4, 3, strides=2, padding="same", activation="relu")(inp)
    out = Dense(1)(GlobalMaxPooling1D()(x))
    m = Model(inp, out, seed=4)
    m.compile(loss="mse", optimizer="adam")
    x = np.random.default_rng(2).normal(size=(32, 9, 2)).astype(np.float32)
    y = x[:, :, 0].max(axis=1, keepdims=True)
    h = m.fit(x, y, epochs=40, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0] / 2


def _torch_pool1d(x, kind, k, s, padding):
    """Keras' MaxPooling1D / AveragePooling1D through PyTorch on (N, D, T):
    'same' pads the odd step after; padded steps take no part."""
    torch = pytest.importorskip("torch")
    xc = torch.tensor(x, dtype=torch.float64).permute(0, 2, 1)
    T = x.shape[1]
    total = max((-(-T // s) - 1) * s + k - T, 0) if padding == "same" else 0
    pads = (total // 2, total - total // 2)
    if kind == "max":
        y = torch.nn.MaxPool1d(k, s)(torch.nn.functional.pad(xc, pads, value=-np.inf))
    else:
        y = (torch.nn.AvgPool1d(k, s)(torch.nn.functional.pad(xc, pads)) /
             torch.nn.AvgPool1d(k, s)(torch.nn.functional.pad(torch.ones_like(xc), pads)))
    return y.permute(0, 2, 1).numpy()


@pytest.mark.parametrize("cls", [MaxPooling1D, AveragePooling1D])
def test_pool1d_against_torch_and_round_trip(cls, tmp_path):
    kind = "max" if cls is MaxPooling1D else "avg"
    x = np.random.default_rng(5).normal(size=(4, 7, 3)).astype(np.float32)
    for k, s, padding in [(2, None, "valid"), (3, 2, "same"), (2, 2, "same"), (2, 3, "same"), (3, 1, "valid")]:
        inp = Input((7, 3))
        layer = cls(k, s, padding)
        out = layer(inp)
        want = _torch_pool1d(x, kind, k, s or k, padding)
        assert out.shape == (None,) + want.shape[1:]
        m = Model(inp, out)
        got = m.predict(x, verbose=0)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        cfg = layer.get_config()
        assert cfg["pool_size"] == [k] and cfg["strides"] == [s or k] and cfg["padding"] == padding
        again = cls.from_config(cfg)
        assert (again.pool_size, again.strides, again.padding) == (layer.pool_size, layer.strides, layer.padding)
        path = os.path.join(tmp_path, "pool.lf")
        m.save(path)
        back = load_model(path)
        assert type(back.layers[1]) is cls and back.layers[1].get_config()["pool_size"] == [k]
        np.testing.assert_array_equal(back.predict(x, verbose=0), got)
    assert cls().pool_size == (2,) and cls().strides == (2,) and cls().padding == "valid"
    with pytest.raises(ValueError, match="shorter than the pool 8 with padding 'valid'"):
        cls(8)(Input((7, 3)))
    with pytest.raises(ValueError, match=r"must be \(batch, steps, features\)"):
        cls(2)(Input((4, 4, 3)))
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        cls(2, padding="causal")


def test_pool1d_ends_the_mask():
    """As Keras' (no compute_mask): the padding steps are pooled too and the
    mask ends there, so a GlobalAveragePooling1D after it averages every step"""
    inp = Input((4,), dtype="int32")
    e = Embedding(6, 1, mask_zero=True)(inp)
    m = Model(inp, GlobalAveragePooling1D()(MaxPooling1D(2)(e)))
    m.layers[1].set_weights([np.arange(6, dtype=np.float32).reshape(6, 1) - 1.0])  # row 0 (padding): -1
    # steps 3, pad, pad, pad -> embeddings 2, -1, -1, -1 -> max pools 2, -1 -> mean 0.5
    np.testing.assert_array_equal(m.predict(np.array([[3, 0, 0, 0]], np.int32), verbose=0), [[0.5]])


def test_conv1d_kernel_regularizer(tmp_path):
    """Conv1D(kernel_regularizer=l2(x)): x * sum(kernel**2) in the loss,
    kept by get_config and the model file"""
    from latefuse.regularizers import l2
    x = np.random.default_rng(0).normal(size=(5, 6, 2)).astype(np.float32)
    y = np.zeros((5, 1), np.float32)
    losses = []
    for reg in (None, l2(0.05)):
        inp = Input((6, 2))
        conv = Conv1D(3, 2, kernel_regularizer=reg, name="c")
        m = Model(inp, Dense(1)(GlobalAveragePooling1D()(conv(inp))), seed=1)
        m.compile(loss="mse")
        losses.append(m.evaluate(x, y, verbose=0))
    assert losses[1] - losses[0] == pytest.approx(0.05 * np.sum(conv.get_weights()[0].astype(np.float64) ** 2),
                                                  rel=1e-5)
    assert Conv1D.from_config(conv.get_config()).l2 == pytest.approx(0.05)
    path = os.path.join(str(tmp_path), "c.lf")
    m.save(path)
    m2 = load_model(path)
    m2.compile(loss="mse")
    assert m2.evaluate(x, y, verbose=0) == pytest.approx(losses[1], rel=1e-6)


def _torch_rnn(kind, x, mask, kernel, rec, bias, return_sequences, go_backwards):
    """Keras' LSTM / GRU (reset_after) on numpy arrays, by PyTorch's nn.LSTMCell
    / nn.GRUCell with the weights mapped (torch's gate order i,f,g,o = Keras'
    i,f,c,o; torch's r,z,n = Keras' z,r,h reordered); a masked step keeps the
    state (Keras' backend rnn)"""
    torch = pytest.importorskip("torch")
    B, T, D = x.shape
    u = rec.shape[0]
    if kind == "lstm":
        cell = torch.nn.LSTMCell(D, u).double()
        w_ih, w_hh, b_ih, b_hh = kernel.T, rec.T, bias, np.zeros_like(bias)
    else:
        cell = torch.nn.GRUCell(D, u).double()
        order = lambda w: np.concatenate([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], axis=-1)
        w_ih, w_hh, b_ih, b_hh = order(kernel).T, order(rec).T, order(bias[0]), order(bias[1])
    with torch.no_grad():
        for name, v in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
            getattr(cell, name).copy_(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)))
        h = torch.zeros(B, u, dtype=torch.float64)
        c = torch.zeros(B, u, dtype=torch.float64)
        outs = []
        for s in range(T):
            t = T - 1 - s if go_backwards else s
            xt = torch.from_numpy(x[:, t].astype(np.float64))
            if kind == "lstm":
                hn, cn = cell(xt, (h, c))
            else:
                hn, cn = cell(xt, h), c
            keep = torch.from_numpy(mask[:, t]).unsqueeze(-1)
            h, c = torch.where(keep, hn, h), torch.where(keep, cn, c)
            outs.append(h)
    return (torch.stack(outs, 1) if return_sequences else h).numpy()


@pytest.mark.parametrize("cls,kind", [("LSTM", "lstm"), ("GRU", "gru")])
@pytest.mark.parametrize("seqs,back", [(False, False), (True, False), (False, True), (True, True)])
def test_recurrent_against_torch_and_round_trip(cls, kind, seqs, back, tmp_path):
    from latefuse import layers
    ids = Input((6,), dtype="int32")
    e = Embedding(12, 4, mask_zero=True)(ids)
    layer = getattr(layers, cls)(3, return_sequences=seqs, go_backwards=back, name="rnn")
    y = layer(e)
    assert y.shape == ((None, 6, 3) if seqs else (None, 3))
    m = Model(ids, y, seed=3)
    kernel, rec = m.get_layer("rnn").get_weights()[:2]
    bias = m.get_layer("rnn").get_weights()[2]
    assert kernel.shape == (4, 12 if kind == "lstm" else 9) and rec.shape == (3, kernel.shape[1])
    assert bias.shape == ((12,) if kind == "lstm" else (2, 9))
    np.testing.assert_allclose(rec @ rec.T, np.eye(3), atol=1e-5)  # orthogonal
    if kind == "lstm":
        assert np.array_equal(bias, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])  # unit_forget_bias
    rng = np.random.default_rng(5)
    layer.set_weights([rng.uniform(-0.7, 0.7, kernel.shape).astype(np.float32),
                       rng.uniform(-0.7, 0.7, rec.shape).astype(np.float32),
                       rng.uniform(-0.3, 0.3, bias.shape).astype(np.float32)])
    x = rng.integers(1, 12, (4, 6)).astype(np.int32)
    x[1, 4:] = 0
    x[2, :] = 0
    x[3, 2] = 0
    got = m.predict(x, verbose=0)
    emb = m.get_layer(e.layer.name).get_weights()[0].astype(np.float64)
    want = _torch_rnn(kind, emb[x], x != 0, *[w.astype(np.float64) for w in layer.get_weights()], seqs, back)
    np.testing.assert_allclose(got, want, atol=1e-5)
    path = str(tmp_path / "rnn.lf")
    m.save(path)
    m2 = load_model(path)
    assert np.array_equal(m2.predict(x, verbose=0), got)
    l2 = m2.get_layer("rnn")
    assert type(l2).__name__ == cls and l2.return_sequences == seqs and l2.go_backwards == back
    cfg = layer.get_config()
    assert cfg["units"] == 3 and cfg["return_sequences"] == seqs and cfg["go_backwards"] == back
    assert cfg["recurrent_initializer"] == "orthogonal"
    assert type(layer).from_config(cfg).get_config() == cfg


def test_recurrent_refusals_and_fit():
    from latefuse.layers import GRU, LSTM
    with pytest.raises(ValueError, match="LSTM: only activation='tanh'"):
        LSTM(3, activation="relu")
    with pytest.raises(ValueError, match="GRU: only reset_after=True"):
        GRU(3, reset_after=False)
    with pytest.raises(ValueError, match="GRU: stateful=True is not available"):
        GRU(3, stateful=True)
    with pytest.raises(ValueError, match=r"LSTM: dropout must be a number in \[0, 1\), got 1.0"):
        LSTM(3, dropout=1.0)
    with pytest.raises(ValueError, match=r"GRU: recurrent_dropout must be a number in \[0, 1\), got -0.1"):
        GRU(3, recurrent_dropout=-0.1)
    with pytest.raises(ValueError, match=r"LSTM: input of shape \(None, 5\) must be \(batch, steps, features\)"):
        LSTM(2)(Input((5,)))
    ids = Input((8,), dtype="int32")
    h = LSTM(8, return_sequences=True)(Embedding(30, 8, mask_zero=True)(ids))
    out = Dense(2, activation="softmax")(GRU(4, go_backwards=True)(h))
    m = Model(ids, out, seed=2)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, (64, 8)).astype(np.int32)
    x[:, 5:] = 0
    y = (x[:, 0] > 15).astype(np.int32)
    hist = m.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_embedding_regularizer(tmp_path):
    """Embedding(embeddings_regularizer=l2(x)): x * sum(embeddings**2) over
    the whole table (rows no id reads too) in the loss, as Keras' L2; kept
    by get_config and the model file"""
    from latefuse.regularizers import l2
    ids = np.array([[1, 2, 0], [2, 2, 1]], np.int32)
    y = np.array([[0.5], [-1.0]], np.float32)
    losses = []
    for reg in (None, l2(0.05)):
        inp = Input((3,), dtype="int32")
        emb = Embedding(8, 2, embeddings_regularizer=reg, name="e")
        m = Model(inp, Dense(1)(GlobalAveragePooling1D()(emb(inp))), seed=1)
        m.compile(loss="mse")
        losses.append(m.evaluate(ids, y, verbose=0))
    table = emb.get_weights()[0].astype(np.float64)
    assert losses[1] - losses[0] == pytest.approx(0.05 * np.sum(table ** 2), rel=1e-5)
    cfg = emb.get_config()
    assert cfg["embeddings_regularizer"] == {"class_name": "L2", "config": {"l2": 0.05}}
    assert Embedding.from_config(cfg).l2 == pytest.approx(0.05)
    path = os.path.join(str(tmp_path), "e.lf")
    m.save(path)
    m2 = load_model(path)
    m2.compile(loss="mse")
    assert m2.evaluate(ids, y, verbose=0) == pytest.approx(losses[1], rel=1e-6)
    with pytest.raises(ValueError, match="Embedding: embeddings_regularizer must be latefuse.regularizers.L1, L2 "
                                         "or L1L2"):
        Embedding(8, 2, embeddings_regularizer=lambda w: 0.0)


def _torch_simple_rnn(x, mask, kernel, rec, bias, activation, return_sequences, go_backwards):
    """Keras' SimpleRNN by PyTorch's nn.RNNCell (tanh or relu) with w_ih =
    kernel^T, w_hh = recurrent_kernel^T, b_ih = bias, b_hh = 0; a masked
    step keeps the state"""
    torch = pytest.importorskip("torch")
    B, T, D = x.shape
    u = rec.shape[0]
    cell = torch.nn.RNNCell(D, u, nonlinearity=activation).double()
    with torch.no_grad():
        for name, v in (("weight_ih", kernel.T), ("weight_hh", rec.T), ("bias_ih", bias),
                        ("bias_hh", np.zeros_like(bias))):
            getattr(cell, name).copy_(torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)))
        h = torch.zeros(B, u, dtype=torch.float64)
        outs = []
        for s in range(T):
            t = T - 1 - s if go_backwards else s
            hn = cell(torch.from_numpy(x[:, t].astype(np.float64)), h)
            h = torch.where(torch.from_numpy(mask[:, t]).unsqueeze(-1), hn, h)
            outs.append(h)
    return (torch.stack(outs, 1) if return_sequences else h).numpy()


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("seqs,back", [(False, False), (True, False), (False, True), (True, True)])
def test_simple_rnn_against_torch_and_round_trip(activation, seqs, back, tmp_path):
    from latefuse.layers import SimpleRNN
    ids = Input((6,), dtype="int32")
    e = Embedding(12, 4, mask_zero=True)(ids)
    layer = SimpleRNN(3, activation=activation, return_sequences=seqs, go_backwards=back, name="rnn")
    y = layer(e)
    assert y.shape == ((None, 6, 3) if seqs else (None, 3))
    m = Model(ids, y, seed=3)
    kernel, rec, bias = m.get_layer("rnn").get_weights()
    assert kernel.shape == (4, 3) and rec.shape == (3, 3) and bias.shape == (3,)
    np.testing.assert_allclose(rec @ rec.T, np.eye(3), atol=1e-5)  # orthogonal
    assert not bias.any()
    rng = np.random.default_rng(6)
    layer.set_weights([rng.uniform(-0.7, 0.7, kernel.shape).astype(np.float32),
                       rng.uniform(-0.7, 0.7, rec.shape).astype(np.float32),
                       rng.uniform(-0.3, 0.3, bias.shape).astype(np.float32)])
    x = rng.integers(1, 12, (4, 6)).astype(np.int32)
    x[1, 4:] = 0
    x[2, :] = 0
    x[3, 2] = 0
    got = m.predict(x, verbose=0)
    emb = m.get_layer(e.layer.name).get_weights()[0].astype(np.float64)
    want = _torch_simple_rnn(emb[x], x != 0, *[w.astype(np.float64) for w in layer.get_weights()], activation,
                             seqs, back)
    np.testing.assert_allclose(got, want, atol=1e-5)
    path = str(tmp_path / "srnn.lf")
    m.save(path)
    m2 = load_model(path)
    assert np.array_equal(m2.predict(x, verbose=0), got)
    l2 = m2.get_layer("rnn")
    assert type(l2).__name__ == "SimpleRNN" and l2.activation == activation and l2.go_backwards == back
    cfg = layer.get_config()
    assert cfg["units"] == 3 and cfg["activation"] == activation and cfg["return_sequences"] == seqs
    assert "recurrent_activation" not in cfg and cfg["recurrent_initializer"] == "orthogonal"
    assert SimpleRNN.from_config(cfg).get_config() == cfg


def test_simple_rnn_refusals():
    from latefuse.layers import SimpleRNN
    assert SimpleRNN(2, activation=None).activation == "linear"
    with pytest.raises(ValueError, match="unknown activation 'glu'"):
        SimpleRNN(3, activation="glu")
    with pytest.raises(ValueError, match=r"SimpleRNN: recurrent_dropout must be a number in \[0, 1\)"):
        SimpleRNN(3, recurrent_dropout=1.5)


def _torch_bidirectional(kind, x, mask, weights, seqs, merge_mode):
    """Keras' Bidirectional by the torch cells above: the forward copy, the
    go_backwards copy flipped back; masked steps' outputs zeros with
    return_sequences (Keras forces zero_output_for_mask)"""
    n = len(weights) // 2
    ys = []
    for back, w in ((False, weights[:n]), (True, weights[n:])):
        if kind == "simple":
            y = _torch_simple_rnn(x, mask, *w, "tanh", seqs, back)
        else:
            y = _torch_rnn(kind, x, mask, *w, seqs, back)
        if seqs:
            y = (y[:, ::-1] if back else y) * mask[..., None]
        ys.append(y)
    y, y_rev = ys
    return {"concat": lambda: np.concatenate([y, y_rev], -1), "sum": lambda: y + y_rev,
            "mul": lambda: y * y_rev, "ave": lambda: (y + y_rev) / 2}[merge_mode]()


@pytest.mark.parametrize("cls,kind,mode", [("LSTM", "lstm", "concat"), ("GRU", "gru", "sum"),
                                           ("SimpleRNN", "simple", "mul"), ("LSTM", "lstm", "ave")])
@pytest.mark.parametrize("seqs", [True, False])
def test_bidirectional_against_torch_and_round_trip(cls, kind, mode, seqs, tmp_path):
    from latefuse import layers
    from latefuse.layers import Bidirectional
    ids = Input((6,), dtype="int32")
    e = Embedding(12, 4, mask_zero=True)(ids)
    layer = Bidirectional(getattr(layers, cls)(3, return_sequences=seqs), merge_mode=mode, name="bi")
    y = layer(e)
    w = 6 if mode == "concat" else 3
    assert y.shape == ((None, 6, w) if seqs else (None, w))
    assert layer.forward_layer.name == "forward_" + layer.layer.prefix and not layer.forward_layer.go_backwards
    assert layer.backward_layer.name == "backward_" + layer.layer.prefix and layer.backward_layer.go_backwards
    m = Model(ids, y, seed=3)
    ws = layer.get_weights()
    assert len(ws) == 6 and [a.shape for a in ws[:3]] == [a.shape for a in ws[3:]]
    assert not np.array_equal(ws[0], ws[3])  # two copies, their own weights
    rng = np.random.default_rng(7)
    new = [rng.uniform(-0.7, 0.7, a.shape).astype(np.float32) for a in ws]
    layer.set_weights(new)
    assert all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), new))  # forward's, then backward's
    x = rng.integers(1, 12, (4, 6)).astype(np.int32)
    x[1, 4:] = 0
    x[2, :] = 0
    x[3, 2] = 0
    got = m.predict(x, verbose=0)
    emb = m.get_layer(e.layer.name).get_weights()[0].astype(np.float64)
    want = _torch_bidirectional(kind, emb[x], x != 0, [a.astype(np.float64) for a in new], seqs, mode)
    np.testing.assert_allclose(got, want, atol=1e-5)
    path = str(tmp_path / "bi.lf")
    m.save(path)
    m2 = load_model(path)
    assert np.array_equal(m2.predict(x, verbose=0), got)
    l2 = m2.get_layer("bi")
    assert type(l2).__name__ == "Bidirectional" and l2.merge_mode == mode and type(l2.layer).__name__ == cls
    assert all(np.array_equal(a, b) for a, b in zip(l2.get_weights(), new))
    cfg = layer.get_config()
    assert cfg["merge_mode"] == mode and cfg["layer"]["class_name"] == cls
    assert cfg["layer"]["config"]["name"].startswith("forward_") and not cfg["layer"]["config"]["go_backwards"]
    assert cfg["backward_layer"]["config"]["go_backwards"]
    assert Bidirectional.from_config(cfg).get_config() == cfg


def test_bidirectional_refusals():
    from latefuse.layers import GRU, LSTM, Bidirectional
    with pytest.raises(ValueError, match="Invalid merge mode. Received: 'max'"):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="should have different `go_backwards` value"):
        Bidirectional(GRU(2, go_backwards=True))
    with pytest.raises(ValueError, match="only LSTM, GRU and SimpleRNN can be wrapped"):
        Bidirectional(Dense(2))
    with pytest.raises(ValueError, match="a backward_layer other than"):
        Bidirectional(LSTM(2), backward_layer=LSTM(3, go_backwards=True))
    b = Bidirectional(LSTM(2), backward_layer=LSTM(2, go_backwards=True, name="back"))
    assert b.backward_layer.name == "back"
    with pytest.raises(ValueError, match="input of shape"):
        Bidirectional(LSTM(2))(Input((4,)))


@pytest.mark.parametrize("cls,wrap", [("LSTM", False), ("GRU", False), ("SimpleRNN", False), ("LSTM", True),
                                      ("GRU", True)])
def test_recurrent_dropout(cls, wrap, tmp_path):
    """dropout / recurrent_dropout, Keras' arguments: inference drops
    nothing (predict equals the same weights without dropout, bit for bit),
    a training pass drops (train_on_batch's loss is not evaluate's, as it
    is without), the same seed fits the same weights, the rates survive
    get_config, Bidirectional's copies and save / load, summary() as
    without.  The masks by hand: tests/test_seq_layers.c (rnn_reference)."""
    from latefuse import layers
    from latefuse.layers import Bidirectional

    def build(dp, rdp, seed=4):
        inp = Input((5, 3))
        r = getattr(layers, cls)(4, dropout=dp, recurrent_dropout=rdp, return_sequences=True, name="r")
        h = Bidirectional(r, name="r") if wrap else r
        out = Dense(2, activation="softmax")(GlobalAveragePooling1D()(h(inp)))
        m = Model(inp, out, seed=seed)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return m

    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (32, 5, 3)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int32)
    plain, m = build(0.0, 0.0), build(0.3, 0.4)
    layer = m.get_layer("r")
    inner = layer.layer if wrap else layer
    assert (inner.dropout, inner.recurrent_dropout) == (0.3, 0.4)
    if wrap:
        for copy in (layer.forward_layer, layer.backward_layer):
            assert (copy.dropout, copy.recurrent_dropout) == (0.3, 0.4)
    plain.set_weights(m.get_weights())
    assert np.array_equal(m.predict(x, verbose=0), plain.predict(x, verbose=0))
    for mm, same in ((plain, True), (m, False)):  # evaluate first: train_on_batch steps
        e = mm.evaluate(x, y, verbose=0)
        assert (mm.train_on_batch(x, y) == pytest.approx(e, rel=1e-6)) == same
    cfg = layer.get_config()
    c = cfg["layer"]["config"] if wrap else cfg
    assert (c["dropout"], c["recurrent_dropout"], c["seed"]) == (0.3, 0.4, None)
    assert type(layer).from_config(cfg).get_config() == cfg
    fits = []
    for _ in range(2):
        mm = build(0.3, 0.4)
        mm.fit(x, y, epochs=2, batch_size=8, verbose=0)
        fits.append(mm.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*fits))
    pp = build(0.0, 0.0)
    pp.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert not all(np.array_equal(a, b) for a, b in zip(fits[0], pp.get_weights()))
    path = str(tmp_path / "rd.lf")
    m.save(path)
    m2 = load_model(path)
    l2 = m2.get_layer("r")
    i2 = l2.layer if wrap else l2
    assert (i2.dropout, i2.recurrent_dropout) == (0.3, 0.4)
    assert np.array_equal(m2.predict(x, verbose=0), m.predict(x, verbose=0))
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    m2.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), m2.get_weights()))
    lines = [[], []]
    m.summary(print_fn=lines[0].append)
    plain.summary(print_fn=lines[1].append)
    assert lines[0] == lines[1] and any("Total params" in ln for ln in lines[0])
