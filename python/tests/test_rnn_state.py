"""
test_rnn_state.py — Keras' return_state, initial_state and
Bidirectional(merge_mode=None) (keras/src/layers/rnn/rnn.py,
bidirectional.py): the encoder-decoder idiom (`_, h, c = LSTM(...,
return_state=True)(x); LSTM(...)(y, initial_state=[h, c])`) fitting, saving
and loading bit for bit and through get_config; the outputs against
PyTorch's nn.LSTM / nn.GRU (which return (output, (h_n, c_n)) and take
(h0, c0)) with Keras' weights mapped; Keras' states under a padding mask;
Bidirectional's list order; the errors, naming the layer.
"""
import numpy as np
import pytest
import torch

from latefuse import Model, load_model
from latefuse.layers import GRU, LSTM, Bidirectional, Dense, Embedding, Flatten, Input, SimpleRNN


def encoder_decoder(seed=0):
    enc_in, dec_in = Input((6, 5)), Input((4, 3))
    _, h, c = LSTM(8, return_state=True, name="enc")(enc_in)
    d = LSTM(8, return_sequences=True, name="dec")(dec_in, initial_state=[h, c])
    return Model([enc_in, dec_in], Dense(2)(Flatten()(d)), seed=seed)


def _data(n=32):
    rng = np.random.default_rng(0)
    return ([rng.normal(size=(n, 6, 5)).astype("float32"), rng.normal(size=(n, 4, 3)).astype("float32")],
            rng.normal(size=(n, 2)).astype("float32"))


def test_encoder_decoder_fits_saves_loads(tmp_path):
    m = encoder_decoder()
    assert [t.shape for t in m.get_layer("enc").output] == [(None, 8)] * 3
    m.compile(loss="mse", optimizer="adam")
    x, y = _data()
    hist = m.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    p = m.predict(x, verbose=0)
    path = str(tmp_path / "ed.lf")
    m.save(path)
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), p)
    assert [ly.name for ly in back.layers] == [ly.name for ly in m.layers]
    # Keras' config: the decoder's call has the encoder's outputs 1 and 2 as initial_state
    cfg = m.get_config()
    dec = next(ly for ly in cfg["layers"] if ly["name"] == "dec")
    assert dec["inbound_nodes"][0]["kwargs"] == {"initial_state": [["enc", 0, 1], ["enc", 0, 2]]}
    assert next(ly for ly in cfg["layers"] if ly["name"] == "enc")["config"]["return_state"] is True
    again = Model.from_config(cfg)
    again.set_weights(m.get_weights())
    assert np.array_equal(again.predict(x, verbose=0), p)
    # the model called on new inputs (Model.__call__) keeps the graph
    a, b = Input((6, 5)), Input((4, 3))
    wrapped = Model([a, b], m([a, b]))
    assert np.array_equal(wrapped.predict(x, verbose=0), p)


def _torch_lstm(x, h0, c0, kernel, rec, bias):
    u = rec.shape[0]
    mod = torch.nn.LSTM(x.shape[2], u, batch_first=True).double()
    with torch.no_grad():  # Keras' gate blocks i, f, c, o are torch's i, f, g, o
        mod.weight_ih_l0.copy_(torch.tensor(kernel.T)), mod.weight_hh_l0.copy_(torch.tensor(rec.T))
        mod.bias_ih_l0.copy_(torch.tensor(bias)), mod.bias_hh_l0.zero_()
        out, (hn, cn) = mod(torch.tensor(x, dtype=torch.float64),
                            (torch.tensor(h0, dtype=torch.float64)[None], torch.tensor(c0, dtype=torch.float64)[None]))
    return out.numpy(), hn[0].numpy(), cn[0].numpy()


def _gru_order(w, u):  # Keras' z, r, h blocks -> torch's r, z, n
    return np.concatenate([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], axis=-1)


def test_states_against_pytorch():
    x, h0, c0 = Input((5, 4)), Input((3,)), Input((3,))
    y, h, c = LSTM(3, return_sequences=True, return_state=True, name="l")(x, initial_state=[h0, c0])
    g, gh = GRU(3, return_state=True, name="g")([x, h])  # Keras' list form
    m = Model([x, h0, c0], [y, h, c, g, gh])
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(4, 5, 4)).astype("float32"), rng.normal(size=(4, 3)).astype("float32"),
          rng.normal(size=(4, 3)).astype("float32")]
    ys = m.predict(xs, verbose=0)
    kernel, rec, bias = [w.astype(np.float64) for w in m.get_layer("l").get_weights()]
    bias = bias + rng.uniform(-0.3, 0.3, size=bias.shape)
    m.get_layer("l").set_weights([kernel.astype("float32"), rec.astype("float32"), bias.astype("float32")])
    ys = m.predict(xs, verbose=0)
    want_y, want_h, want_c = _torch_lstm(xs[0], xs[1], xs[2], kernel, rec, bias.astype("float32").astype(np.float64))
    np.testing.assert_allclose(ys[0], want_y, atol=2e-6)
    np.testing.assert_allclose(ys[1], want_h, atol=2e-6)
    np.testing.assert_allclose(ys[2], want_c, atol=2e-6)
    gk, gr, gb = [w.astype(np.float64) for w in m.get_layer("g").get_weights()]
    mod = torch.nn.GRU(4, 3, batch_first=True).double()
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.tensor(_gru_order(gk, 3).T)), mod.weight_hh_l0.copy_(torch.tensor(_gru_order(gr, 3).T))
        mod.bias_ih_l0.copy_(torch.tensor(_gru_order(gb[0], 3))), mod.bias_hh_l0.copy_(torch.tensor(_gru_order(gb[1], 3)))
        out, hn = mod(torch.tensor(xs[0], dtype=torch.float64), torch.tensor(ys[1], dtype=torch.float64)[None])
    np.testing.assert_allclose(ys[3], out[:, -1].numpy(), atol=2e-6)
    np.testing.assert_allclose(ys[4], hn[0].numpy(), atol=2e-6)
    assert np.array_equal(ys[3], ys[4])  # Keras: with return_sequences=False the output is h


def test_masked_states_and_bidirectional_order():
    ids = Input((6,), dtype="int32")
    e = Embedding(20, 4, mask_zero=True)(ids)
    seq, h = SimpleRNN(3, return_sequences=True, return_state=True)(e)
    outs = Bidirectional(LSTM(2, return_state=True), merge_mode=None)(e)
    assert [t.shape for t in outs] == [(None, 2)] * 6  # [y, y_rev, h_f, c_f, h_b, c_b]
    m = Model(ids, [seq, h] + outs)
    x = np.array([[3, 4, 7, 0, 0, 0], [0] * 6, [1, 2, 3, 4, 5, 6]], dtype=np.int32)
    r = m.predict(x, verbose=0)
    # Keras: the state of each row's last real step; a fully padded row keeps the initial (zero) states
    assert np.array_equal(r[1][0], r[0][0, 2]) and np.array_equal(r[1][2], r[0][2, 5])
    assert not r[1][1].any()
    assert np.array_equal(r[2], r[4]) and np.array_equal(r[3], r[6])  # each copy's output is its h
    assert not np.array_equal(r[4], r[6])


def test_initial_state_errors():
    x, h = Input((5, 4)), Input((3,))
    with pytest.raises(ValueError, match=r"LSTM 'dec': initial_state has 1 tensors; it needs 2 \(h and c\)"):
        LSTM(3, name="dec")(x, initial_state=[h])
    with pytest.raises(ValueError, match=r"GRU 'g': initial_state 0 has shape \(None, 4\); it needs \(None, 3\)"):
        GRU(3, name="g")(x, initial_state=[Input((4,))])
    with pytest.raises(ValueError, match=r"Bidirectional: initial_state has 1 tensors; it needs 2 \(h of each "
                                         r"direction\)"):
        Bidirectional(GRU(3))(x, initial_state=[h])
    with pytest.raises(ValueError, match="not a tensor"):
        SimpleRNN(3)(x, initial_state=[np.zeros((1, 3))])
    # a list output is used by picking its tensors, as in Keras
    outs = LSTM(3, return_state=True)(x)
    assert isinstance(outs, list) and len(outs) == 3


def test_pickled_state_model_keeps_its_outputs():
    """pickle / copy.deepcopy of an uncompiled model of several outputs (the
    encoder of the inference idiom, Model(x, [y, h, c])): its file names no
    outputs, and it came back as a model of its last layer's output alone
    (c); now the pickle names them and the copy predicts the three, bit
    for bit"""
    import copy
    import pickle
    x = Input((6, 5))
    y, h, c = LSTM(4, return_state=True, name="enc")(x)
    enc = Model(x, [y, h, c], name="encoder")
    side = Model(x, [Dense(2, name="d")(h), y])  # a view, then a plain layer, not the last one first
    xs = np.random.default_rng(3).normal(size=(5, 6, 5)).astype("float32")
    for m in (enc, side):
        want = m.predict(xs, verbose=0)
        for back in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
            assert [t.shape for t in back.outputs] == [t.shape for t in m.outputs]
            got = back.predict(xs, verbose=0)
            assert len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))
    assert pickle.loads(pickle.dumps(enc)).name == "encoder"
