"""
test_keras_file.py — Keras 3's .keras files (python/latefuse/keras_file.py).

No Keras here (Debian has no TensorFlow/Keras), so the golden files are built
by hand in the layout of keras/src/saving/saving_lib.py (Keras 3.16):
config.json as serialize_keras_object writes a Functional model (each layer
{"module", "class_name", "config" (with its DTypePolicy and initializer
dicts), "registered_name", "build_config", "name", "inbound_nodes"} with
__keras_tensor__ arguments; a nested Functional's calls counted from node 1),
model.weights.h5 as H5IOStore writes it (layers/<snake_case class, made
unique>/vars/0, 1, ...; LSTM's cell, MultiHeadAttention's query/key/value/
output_dense sub-groups), weights from a seeded numpy generator.  The
predictions are checked against a numpy forward of the same weights
(Conv2D, BatchNormalization, Embedding, LSTM, MultiHeadAttention as in
Keras' sources); save -> load gives the same bits; each bad file an exact
message, and a failed save writes nothing.
"""
import io
import json
import os
import re
import warnings
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")  # python3-h5py (make deps); a skip fails under CI=true

from latefuse import Input, Model, Sequential, load_model, save_model  # noqa: E402
from latefuse.layers import Dense, LSTM, Bidirectional  # noqa: E402


def policy():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def init(name):
    return {"module": "keras.initializers", "class_name": name, "config": {"seed": None} if name.startswith(
        "Glorot") else {}, "registered_name": None}


def tensor(shape, layer, node=0, dtype="float32"):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None] + list(shape), "dtype": dtype, "keras_history": [layer, node, 0]}}


def entry(kind, name, cfg, calls, build=None):
    e = {"module": "keras.layers", "class_name": kind,
         "config": dict({"name": name, "trainable": True, "dtype": policy()}, **cfg),
         "registered_name": None, "name": name, "inbound_nodes": calls}
    if build is not None:
        e["build_config"] = {"input_shape": build}
    return e


def input_entry(name, shape, dtype="float32"):
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None] + list(shape), "dtype": dtype, "sparse": False, "ragged": False,
                       "name": name}, "registered_name": None, "name": name, "inbound_nodes": []}


def call(*ts, **kw):
    return {"args": list(ts), "kwargs": kw}


def dense_cfg(units, activation):
    return {"units": units, "activation": activation, "use_bias": True,
            "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
            "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None, "quantization_config": None}


def golden_config():
    """A Functional as Keras 3.16 serializes it: an image branch (Conv2D,
    BatchNormalization, pooling, Dense), a token branch (Embedding, LSTM,
    self-attention, pooling), concatenated into a nested Functional head."""
    head = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "name": "head", "build_config": {"input_shape": [None, 11]},
            "config": {"name": "head", "trainable": True,
                       "layers": [input_entry("head_in", (11,)),
                                  entry("Dense", "out", dense_cfg(3, "softmax"),
                                        [call(tensor((11,), "head_in"))], [None, 11])],
                       "input_layers": [["head_in", 0, 0]], "output_layers": [["out", 0, 0]]},
            "inbound_nodes": [call(tensor((11,), "concatenate"))]}
    layers = [
        input_entry("img", (8, 8, 3)),
        input_entry("tokens", (6,), "int32"),
        entry("Conv2D", "conv2d", {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                                   "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
                                   "activation": "relu", "use_bias": True,
                                   "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
                                   "kernel_regularizer": None, "bias_regularizer": None,
                                   "activity_regularizer": None, "kernel_constraint": None,
                                   "bias_constraint": None}, [call(tensor((8, 8, 3), "img"))], [None, 8, 8, 3]),
        entry("Embedding", "embedding", {"input_dim": 20, "output_dim": 8,
                                         "embeddings_initializer": init("RandomUniform"),
                                         "embeddings_regularizer": None, "activity_regularizer": None,
                                         "embeddings_constraint": None, "mask_zero": False},
              [call(tensor((6,), "tokens", dtype="int32"))], [None, 6]),
        entry("BatchNormalization", "batch_normalization",
              {"axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
               "beta_initializer": init("Zeros"), "gamma_initializer": init("Ones"),
               "moving_mean_initializer": init("Zeros"), "moving_variance_initializer": init("Ones"),
               "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
               "gamma_constraint": None, "synchronized": False}, [call(tensor((6, 6, 4), "conv2d"))],
              [None, 6, 6, 4]),
        entry("LSTM", "lstm", {"return_sequences": True, "return_state": False, "go_backwards": False,
                               "stateful": False, "unroll": False, "zero_output_for_mask": False, "units": 6,
                               "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                               "kernel_initializer": init("GlorotUniform"),
                               "recurrent_initializer": init("Orthogonal"), "bias_initializer": init("Zeros"),
                               "unit_forget_bias": True, "kernel_regularizer": None,
                               "recurrent_regularizer": None, "bias_regularizer": None,
                               "activity_regularizer": None, "kernel_constraint": None,
                               "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
                               "recurrent_dropout": 0.0, "seed": None},
              [call(tensor((6, 8), "embedding"))], [None, 6, 8]),
        entry("GlobalAveragePooling2D", "global_average_pooling2d", {"data_format": "channels_last",
                                                                     "keepdims": False},
              [call(tensor((6, 6, 4), "batch_normalization"))], [None, 6, 6, 4]),
        entry("MultiHeadAttention", "multi_head_attention",
              {"num_heads": 2, "key_dim": 3, "value_dim": 3, "dropout": 0.0, "use_bias": True,
               "output_shape": None, "attention_axes": [1], "kernel_initializer": init("GlorotUniform"),
               "bias_initializer": init("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
               "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None, "seed": None},
              [call(tensor((6, 6), "lstm"), tensor((6, 6), "lstm"))]),
        entry("Dense", "dense", dense_cfg(5, "relu"), [call(tensor((4,), "global_average_pooling2d"))], [None, 4]),
        entry("GlobalAveragePooling1D", "global_average_pooling1d", {"data_format": "channels_last",
                                                                     "keepdims": False},
              [call(tensor((6, 6), "multi_head_attention"))], [None, 6, 6]),
        entry("Concatenate", "concatenate", {"axis": -1},
              [call([tensor((5,), "dense"), tensor((6,), "global_average_pooling1d")])], [[None, 5], [None, 6]]),
        head,
    ]
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "fused", "trainable": True, "layers": layers,
                       "input_layers": [["img", 0, 0], ["tokens", 0, 0]], "output_layers": [["head", 1, 0]]},
            "build_config": {"input_shape": None},
            "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam",
                                             "config": {"name": "adam", "learning_rate": 0.0005,
                                                        "weight_decay": None, "clipnorm": None,
                                                        "global_clipnorm": None, "clipvalue": None,
                                                        "use_ema": False, "ema_momentum": 0.99,
                                                        "ema_overwrite_frequency": None,
                                                        "loss_scale_factor": None,
                                                        "gradient_accumulation_steps": None, "beta_1": 0.9,
                                                        "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False},
                                             "registered_name": None},
                               "loss": "sparse_categorical_crossentropy", "loss_weights": None,
                               "metrics": ["accuracy"], "weighted_metrics": None, "run_eagerly": False,
                               "steps_per_execution": 1, "jit_compile": False}}


def golden_weights(seed=0):
    """{h5 group: [arrays]} in save_own_variables' order."""
    rng = np.random.default_rng(seed)

    def r(*shape, scale=0.5):
        return (rng.standard_normal(shape) * scale).astype(np.float32)
    return {
        "layers/conv2d": [r(3, 3, 3, 4), r(4)],
        "layers/embedding": [r(20, 8)],
        "layers/batch_normalization": [1 + r(4, scale=0.1), r(4), r(4), (0.5 + rng.random(4)).astype(np.float32)],
        "layers/lstm/cell": [r(8, 24), r(6, 24), r(24)],
        "layers/multi_head_attention/query_dense": [r(6, 2, 3), r(2, 3)],
        "layers/multi_head_attention/key_dense": [r(6, 2, 3), r(2, 3)],
        "layers/multi_head_attention/value_dense": [r(6, 2, 3), r(2, 3)],
        "layers/multi_head_attention/output_dense": [r(2, 3, 6), r(6)],
        "layers/dense": [r(4, 5), r(5)],
        "layers/functional/layers/dense": [r(11, 3), r(3)],
    }


def write_keras(path, config, weights, members=None, optimizer=True):
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        f.create_group("vars").attrs["name"] = "fused"
        for grp, arrays in weights.items():
            g = f.create_group(grp + "/vars")
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a)
        if optimizer:  # not Adam's count of variables: skipped with Keras' warning (a fresh optimizer)
            f.create_group("optimizer/vars").create_dataset("0", data=np.int64(3))
    data = {"metadata.json": json.dumps({"keras_version": "3.16.0", "date_saved": "2026-01-01@00:00:00"}),
            "config.json": json.dumps(config), "model.weights.h5": bio.getvalue()}
    with zipfile.ZipFile(path, "w") as zf:
        for name in (members or data):
            zf.writestr(name, data[name])
    return path


def numpy_forward(w, img, tok):
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    img, tok = img.astype(np.float64), tok
    k, b = w["layers/conv2d"]
    conv = np.zeros((len(img), 6, 6, 4))
    for i in range(6):
        for j in range(6):
            conv[:, i, j] = np.einsum("nabc,abcf->nf", img[:, i:i + 3, j:j + 3], k) + b
    conv = np.maximum(conv, 0)
    g, be, mu, var = w["layers/batch_normalization"]
    bn = (conv - mu) / np.sqrt(var + 1e-3) * g + be
    a = np.maximum(bn.mean(axis=(1, 2)) @ w["layers/dense"][0] + w["layers/dense"][1], 0)
    x = w["layers/embedding"][0][tok].astype(np.float64)  # (n, 6, 8)
    W, U, bias = w["layers/lstm/cell"]
    h, c, hs = np.zeros((len(tok), 6)), np.zeros((len(tok), 6)), []
    for t in range(6):  # keras/src/layers/rnn/lstm.py: gates i, f, c, o
        z = x[:, t] @ W + h @ U + bias
        i_, f_, g_, o_ = z[:, :6], z[:, 6:12], z[:, 12:18], z[:, 18:]
        c = sig(f_) * c + sig(i_) * np.tanh(g_)
        h = sig(o_) * np.tanh(c)
        hs.append(h)
    s = np.stack(hs, 1)  # (n, T, 6)
    m = "layers/multi_head_attention/"
    q = np.einsum("ntd,dhk->nthk", s, w[m + "query_dense"][0]) + w[m + "query_dense"][1]
    kk = np.einsum("ntd,dhk->nthk", s, w[m + "key_dense"][0]) + w[m + "key_dense"][1]
    v = np.einsum("ntd,dhk->nthk", s, w[m + "value_dense"][0]) + w[m + "value_dense"][1]
    sc = np.einsum("nshk,nthk->nhts", kk, q) / np.sqrt(3.0)
    p = np.exp(sc - sc.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = np.einsum("nhts,nshk->nthk", p, v)
    att = np.einsum("nthk,hkd->ntd", o, w[m + "output_dense"][0]) + w[m + "output_dense"][1]
    z = np.concatenate([a, att.mean(1)], 1) @ w["layers/functional/layers/dense"][0] + \
        w["layers/functional/layers/dense"][1]
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def data(n=5, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 3)).astype(np.float32), rng.integers(0, 20, (n, 6)).astype(np.int32)


def _skipped(opt, have, saved):
    """Keras' warning (keras/src/optimizers/base_optimizer.py load_own_variables) when a file's optimizer
    variables do not match the optimizer's, as a pattern"""
    return re.escape("Skipping variable loading for optimizer '%s', because it has %d variables whereas the saved "
                     "optimizer has %d variables." % (opt, have, saved))


def test_golden_keras_file_predicts_as_numpy_and_compiles(tmp_path):
    w = golden_weights()
    path = write_keras(str(tmp_path / "m.keras"), golden_config(), w)
    with pytest.warns(UserWarning, match=_skipped("adam", 42, 1)):  # Keras' warning: the file's optimizer unbuilt
        m = load_model(path)
    assert m.name == "fused"
    img, tok = data()
    got = m.predict([img, tok])
    np.testing.assert_allclose(got, numpy_forward(w, img, tok), rtol=1e-4, atol=1e-6)
    assert type(m.optimizer).__name__ == "Adam" and m.optimizer.learning_rate == pytest.approx(0.0005)
    assert m.loss == "sparse_categorical_crossentropy" and "accuracy" in m.metrics_names
    np.testing.assert_array_equal(m.get_layer("lstm").get_weights()[1], w["layers/lstm/cell"][1])
    h = m.fit([img, tok], np.array([0, 1, 2, 0, 1]), epochs=1, verbose=0)  # compiled: it trains
    assert np.isfinite(h.history["loss"][0])
    u = load_model(path, compile=False)
    assert u.optimizer is None


def test_save_load_roundtrip_bit_identical_and_keras_layout(tmp_path):
    with pytest.warns(UserWarning, match=_skipped("adam", 42, 1)):
        m = load_model(write_keras(str(tmp_path / "g.keras"), golden_config(), golden_weights()))
    out = str(tmp_path / "again.keras")
    m.save(out)
    assert sorted(os.listdir(tmp_path)) == ["again.keras", "g.keras"]  # no temporary file left
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
        meta = json.loads(zf.read("metadata.json"))
        cfg = json.loads(zf.read("config.json"))
        h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
    assert meta["keras_version"] == "3.16.0" and "date_saved" in meta
    assert cfg["class_name"] == "Functional" and cfg["registered_name"] == "Functional"
    assert cfg["compile_config"]["optimizer"]["class_name"] == "Adam"
    lstm = [e for e in cfg["config"]["layers"] if e["name"] == "lstm"][0]
    assert lstm["module"] == "keras.layers" and lstm["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == \
        ["embedding", 0, 0]
    # the nested head is inlined: its Dense is one of the model's layers (dense_1)
    assert h5["layers/dense_1/vars"].attrs["name"] == "out"
    np.testing.assert_array_equal(h5["layers/lstm/cell/vars/1"][()], golden_weights()["layers/lstm/cell"][1])
    assert h5["layers/multi_head_attention/output_dense/vars/0"].shape == (2, 3, 6)
    assert h5["vars"].attrs["name"] == "fused"
    back = load_model(out)
    img, tok = data()
    assert np.array_equal(back.predict([img, tok]), m.predict([img, tok]))
    for a, b in zip(back.get_weights(), m.get_weights()):
        assert a.tobytes() == b.tobytes()
    assert back.loss == m.loss and back.optimizer.learning_rate == m.optimizer.learning_rate


def test_sequential_and_bidirectional_roundtrip(tmp_path):
    s = Sequential([Input((5, 3)), Bidirectional(LSTM(4)), Dense(2)], name="seq")
    path = str(tmp_path / "s.keras")
    save_model(s, path)
    with zipfile.ZipFile(path) as zf:
        cfg = json.loads(zf.read("config.json"))
        h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
    assert cfg["class_name"] == "Sequential" and cfg["config"]["layers"][0]["class_name"] == "InputLayer"
    assert sorted(h5["layers"].keys()) == ["bidirectional", "dense"]  # Sequential.layers: no InputLayer
    assert h5["layers/bidirectional/backward_layer/cell/vars/0"].shape == (3, 16)
    back = load_model(path)
    assert isinstance(back, Sequential) and back.name == "seq"
    x = np.random.default_rng(0).random((4, 5, 3)).astype(np.float32)
    assert np.array_equal(back.predict(x), s.predict(x))


def test_lf_file_still_loads(tmp_path):
    x = Input((3,))
    m = Model(x, Dense(2)(x))
    m.save(str(tmp_path / "m.lf"))
    assert np.array_equal(load_model(str(tmp_path / "m.lf")).get_weights()[0], m.get_weights()[0])


def bad(tmp_path, name="bad.keras", **kw):
    return write_keras(str(tmp_path / name), kw.pop("config", golden_config()), kw.pop("weights", golden_weights()),
                       **kw)


def test_bad_files_exact_messages(tmp_path):
    p = str(tmp_path / "text.keras")
    with open(p, "w") as fh:
        fh.write("not a zip")
    with pytest.raises(ValueError, match=r"^load_model: '%s': not a .keras file \(not a zip archive\)$" % p):
        load_model(p)
    p = bad(tmp_path, "noconfig.keras", members=["metadata.json", "model.weights.h5"])
    with pytest.raises(ValueError, match=r"^load_model: '%s': no config.json in the archive: not a Keras 3 .keras "
                       r"file$" % p):
        load_model(p)
    w = golden_weights()
    w["layers/lstm/cell"] = w["layers/lstm/cell"][:2]
    p = bad(tmp_path, "noweight.keras", weights=w)
    with pytest.raises(ValueError, match=r"^load_model: '%s': model.weights.h5 has no layers/lstm/cell/vars/2 for "
                       r"layer 'lstm' \(LSTM\)$" % p):
        load_model(p)
    w = golden_weights()
    w["layers/dense"][0] = np.zeros((5, 4), np.float32)
    p = bad(tmp_path, "shape.keras", weights=w)
    with pytest.raises(ValueError, match=r"^load_model: '%s': layers/dense/vars/0 \(layer 'dense'\) has shape "
                       r"\(5, 4\), latefuse's Dense weight 0 has shape \(4, 5\)$" % p):
        load_model(p)
    cfg = golden_config()
    cfg["config"]["layers"][6]["class_name"] = "ConvLSTM4D"
    p = bad(tmp_path, "class.keras", config=cfg)
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'global_average_pooling2d': the layer class "
                       r"'ConvLSTM4D' \(module keras.layers\) is not available in latefuse$" % p):
        load_model(p)
    cfg = golden_config()
    cfg["config"]["layers"][2]["config"]["groups"] = 2  # (dilation_rate is read since Conv2D takes it)
    p = bad(tmp_path, "arg.keras", config=cfg)
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'conv2d' \(Conv2D\): the Keras argument "
                       r"groups=2 is not supported by latefuse$" % p):
        load_model(p)
    cfg = golden_config()
    cfg["compile_config"]["optimizer"]["class_name"] = "Ftrl"
    p = bad(tmp_path, "opt.keras", config=cfg)
    with pytest.raises(ValueError, match=r"^load_model: '%s': compile_config: the optimizer Ftrl is not available "
                       r"in latefuse; load_model\(..., compile=False\) loads the model uncompiled$" % p):
        load_model(p)
    load_model(p, compile=False)


def test_failed_save_writes_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    x = Input((3,))
    m = Model(x, Dense(2)(x))
    path = str(tmp_path / "m.keras")
    m.save(path)
    before = open(path, "rb").read()
    from latefuse import keras_file

    def boom(*a):
        raise RuntimeError("disk full")
    monkeypatch.setattr(keras_file, "_weights_h5", boom)
    with pytest.raises(RuntimeError, match="^disk full$"):
        m.save(path)
    assert os.listdir(tmp_path) == ["m.keras"] and open(path, "rb").read() == before
    with pytest.raises(FileExistsError, match=r"^save: '%s' exists and overwrite=False$" % path):
        m.save(path, overwrite=False)


def test_missing_h5py_message(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_h5py(name, *a, **k):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real(name, *a, **k)
    path = write_keras(str(tmp_path / "m.keras"), golden_config(), golden_weights())
    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"^reading .keras files needs h5py: apt install python3-h5py$"):
        load_model(path)
    x = Input((3,))
    with pytest.raises(ImportError, match=r"^writing .keras files needs h5py: apt install python3-h5py$"):
        Model(x, Dense(2)(x)).save(str(tmp_path / "w.keras"))
    assert os.listdir(tmp_path) == ["m.keras"]


# ---- this session's features in .keras files

def test_encoder_decoder_states_roundtrip(tmp_path):
    """Output k of an LSTM(return_state=True) is keras_history [layer, node,
    k]; the decoder's states are its node's initial_state kwarg
    (keras/src/models/functional.py serialize_node)."""
    from test_rnn_state import _data, encoder_decoder
    m = encoder_decoder()
    m.compile(loss="mse", optimizer="adam")
    x, _ = _data()
    path = str(tmp_path / "ed.keras")
    m.save(path)
    with zipfile.ZipFile(path) as zf:
        cfg = json.loads(zf.read("config.json"))
    enc, dec = [next(e for e in cfg["config"]["layers"] if e["name"] == n) for n in ("enc", "dec")]
    assert len(enc["inbound_nodes"]) == 1 and enc["config"]["return_state"] is True
    st = dec["inbound_nodes"][0]["kwargs"]["initial_state"]
    assert [s["config"]["keras_history"] for s in st] == [["enc", 0, 1], ["enc", 0, 2]]
    assert [s["config"]["shape"] for s in st] == [[None, 8], [None, 8]]
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_keras_return_state_refs_and_initial_state_read():
    """A Keras config whose GRU starts from output 2 (c) of an LSTM with
    return_state, and whose outputs are output 0 of the GRU and output 1 (h)
    of the LSTM: the same model built in latefuse with the file's weights
    predicts the same bits (h and c have one shape: a wrong k is seen)."""
    import tempfile
    from latefuse.layers import GRU
    x = Input((5, 3), name="x")
    seq, h, c = LSTM(4, return_sequences=True, return_state=True, name="enc")(x)
    ref = Model(x, [GRU(4, name="g")(seq, initial_state=[c]), h])
    rng = np.random.default_rng(3)
    ws = [(rng.standard_normal(w.shape) * 0.5).astype(np.float32) for w in ref.get_weights()]
    ref.set_weights(ws)
    rnn = {"return_sequences": False, "return_state": False, "go_backwards": False, "stateful": False,
           "unroll": False, "units": 4, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True}
    layers = [input_entry("x", (5, 3)),
              entry("LSTM", "enc", dict(rnn, return_sequences=True, return_state=True),
                    [call(tensor((5, 3), "x"))]),
              entry("GRU", "g", dict(rnn, reset_after=True),
                    [call(tensor((5, 4), "enc"),
                          initial_state=[dict(tensor((4,), "enc"), config=dict(tensor((4,), "enc")["config"],
                                                                                keras_history=["enc", 0, 2]))])])]
    cfg = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
           "config": {"name": "states", "trainable": True, "layers": layers, "input_layers": [["x", 0, 0]],
                      "output_layers": [["g", 0, 0], ["enc", 0, 1]]}}
    with tempfile.TemporaryDirectory() as d:
        m = load_model(write_keras(os.path.join(d, "s.keras"), cfg,
                                   {"layers/lstm/cell": ws[:3], "layers/gru/cell": ws[3:]}))
    xs = rng.standard_normal((6, 5, 3)).astype(np.float32)
    for a, b in zip(m.predict(xs, verbose=0), ref.predict(xs, verbose=0)):
        assert np.array_equal(a, b)


def keras_obj(module, name, config, registered=None):
    """serialize_keras_object's form of a Keras class (serialization_lib.py)"""
    return {"module": module, "class_name": name, "config": config, "registered_name": registered}


def penalty_config(kernel_constraint=None, kernel_regularizer=None):
    d = dict(dense_cfg(3, None), kernel_constraint=kernel_constraint or keras_obj(
        "keras.constraints", "MaxNorm", {"max_value": 1, "axis": 0}),
        bias_constraint=keras_obj("keras.constraints", "NonNeg", {}),
        kernel_regularizer=kernel_regularizer or keras_obj("keras.regularizers", "L2", {"l2": 0.05}))
    emb = {"input_dim": 7, "output_dim": 4, "embeddings_initializer": init("RandomUniform"),
           "embeddings_regularizer": None, "activity_regularizer": None, "mask_zero": False,
           "embeddings_constraint": keras_obj("keras.constraints", "UnitNorm", {"axis": 1})}
    layers = [input_entry("ids", (2,), "int32"),
              entry("Embedding", "emb", emb, [call(tensor((2,), "ids", dtype="int32"))]),
              entry("Flatten", "flat", {"data_format": "channels_last"}, [call(tensor((2, 4), "emb"))]),
              entry("Dense", "d", d, [call(tensor((8,), "flat"))])]
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "pen", "trainable": True, "layers": layers, "input_layers": [["ids", 0, 0]],
                       "output_layers": [["d", 0, 0]]},
            "compile_config": {"optimizer": keras_obj("keras.optimizers", "SGD", {"learning_rate": 5.0}),
                               "loss": "mse", "loss_weights": None, "metrics": None}}


def penalty_weights():
    rng = np.random.default_rng(5)
    return {"layers/embedding": [rng.standard_normal((7, 4)).astype(np.float32)],
            "layers/dense": [rng.standard_normal((8, 3)).astype(np.float32) * 3,
                             rng.standard_normal(3).astype(np.float32)]}


def test_constraints_and_regularizers_read_and_written(tmp_path):
    """Keras' {"module": "keras.constraints", "class_name": "MaxNorm",
    "config": {...}, "registered_name": null} (and keras.regularizers' L2)
    in a layer's config: a step holds the constraints; written back in
    Keras' exact form."""
    cfg = penalty_config()
    with pytest.warns(UserWarning, match=_skipped("sgd", 2, 1)):
        m = load_model(write_keras(str(tmp_path / "p.keras"), cfg, penalty_weights()))
    d = m.get_layer("d")
    assert d.get_config()["kernel_constraint"] == {"class_name": "MaxNorm", "config": {"max_value": 1, "axis": 0}}
    assert d.get_config()["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.05}}
    rng = np.random.default_rng(0)
    m.train_on_batch(rng.integers(0, 7, (16, 2)), rng.standard_normal((16, 3)).astype(np.float32) * 9)
    k, b = d.get_weights()
    assert np.linalg.norm(k, axis=0).max() <= 1 + 1e-5 and b.min() >= 0  # MaxNorm(1, axis=0), NonNeg
    assert np.allclose(np.linalg.norm(m.get_layer("emb").get_weights()[0], axis=1), 1, atol=1e-5)  # UnitNorm(1)
    out = str(tmp_path / "again.keras")
    m.save(out)
    with zipfile.ZipFile(out) as zf:
        got = {e["name"]: e["config"] for e in json.loads(zf.read("config.json"))["config"]["layers"]}
    want = {e["name"]: e["config"] for e in cfg["config"]["layers"]}
    for name, key in (("d", "kernel_constraint"), ("d", "bias_constraint"), ("d", "kernel_regularizer"),
                      ("emb", "embeddings_constraint")):
        assert got[name][key] == want[name][key]
    back = load_model(out)
    assert back.get_layer("d").get_config()["kernel_constraint"] == d.get_config()["kernel_constraint"]


def test_unsupported_constraint_or_regularizer_exact_messages(tmp_path):
    clip = keras_obj("my_pkg", "Clip", {"c": 1}, "my_pkg>Clip")
    p = bad(tmp_path, "clip.keras", config=penalty_config(kernel_constraint=clip), weights=penalty_weights())
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'd' \(Dense\): the Keras argument "
                       r"kernel_constraint=%s is not supported by latefuse$" % (p, _re(json.dumps(clip)))):
        load_model(p)
    orth = keras_obj("keras.regularizers", "OrthogonalRegularizer", {"factor": 0.01, "mode": "rows"})
    p = bad(tmp_path, "orth.keras", config=penalty_config(kernel_regularizer=orth), weights=penalty_weights())
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'd' \(Dense\): the Keras argument "
                       r"kernel_regularizer=%s is not supported by latefuse$" % (p, _re(json.dumps(orth)))):
        load_model(p)
    mx = keras_obj("keras.constraints", "MaxNorm", {"max_value": 1, "axis": 0, "rate": 2})
    p = bad(tmp_path, "mx.keras", config=penalty_config(kernel_constraint=mx), weights=penalty_weights())
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'd' \(Dense\): kernel_constraint=%s: "
                       r".*unexpected keyword argument 'rate'$" % (p, _re(json.dumps(mx)))):
        load_model(p)


def _re(s):
    import re
    return re.escape(s)


SCCE_LOGITS = keras_obj("keras.losses", "SparseCategoricalCrossentropy",  # Keras 3.16's get_config
                        {"name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size",
                         "from_logits": True, "ignore_class": None, "axis": -1})
SCA = keras_obj("keras.metrics", "SparseCategoricalAccuracy", {"name": "sparse_categorical_accuracy",
                                                                "dtype": "float32"})


def logits_config(loss=SCCE_LOGITS, metrics=(SCA,)):
    layers = [input_entry("x", (4,)), entry("Dense", "logits", dense_cfg(3, "linear"), [call(tensor((4,), "x"))])]
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "clf", "trainable": True, "layers": layers, "input_layers": [["x", 0, 0]],
                       "output_layers": [["logits", 0, 0]]},
            "compile_config": {"optimizer": keras_obj("keras.optimizers", "Adam", {"learning_rate": 0.01}),
                               "loss": loss, "loss_weights": None, "metrics": list(metrics) or None,
                               "weighted_metrics": None}}


def logits_data():
    rng = np.random.default_rng(7)
    w = {"layers/dense": [rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)]}
    x = rng.standard_normal((10, 4)).astype(np.float32)
    return w, x, rng.integers(0, 3, 10)


def test_loss_from_logits_and_metric_objects_in_compile_config(tmp_path):
    """compile_config's SparseCategoricalCrossentropy(from_logits=True) and
    SparseCategoricalAccuracy objects: evaluate gives the crossentropy of
    the softmax of the logits and the accuracy, by hand; written back as
    Keras' objects (the loss's from_logits kept), read again the same."""
    w, x, y = logits_data()
    with pytest.warns(UserWarning, match=_skipped("adam", 6, 1)):
        m = load_model(write_keras(str(tmp_path / "l.keras"), logits_config(), w))
    z = x.astype(np.float64) @ w["layers/dense"][0] + w["layers/dense"][1]
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    ce, acc = -logp[np.arange(10), y].mean(), (z.argmax(1) == y).mean()
    assert m.metrics_names == ["loss", "sparse_categorical_accuracy"]
    got = m.evaluate(x, y, verbose=0)
    assert got[0] == pytest.approx(ce, rel=1e-5) and got[1] == pytest.approx(acc)
    out = str(tmp_path / "again.keras")
    m.save(out)
    with zipfile.ZipFile(out) as zf:
        cc = json.loads(zf.read("config.json"))["compile_config"]
    assert cc["loss"] == SCCE_LOGITS and cc["metrics"] == ["sparse_categorical_accuracy"]
    back = load_model(out)
    assert back.evaluate(x, y, verbose=0) == got
    # Keras' serialized functions (serialize_with_public_fn)
    fn = {"module": "keras.losses", "class_name": "function", "config": "mean_squared_error",
          "registered_name": "mean_squared_error"}
    mae = {"module": "keras.metrics", "class_name": "function", "config": "mean_absolute_error",
           "registered_name": "mean_absolute_error"}
    with pytest.warns(UserWarning, match=_skipped("adam", 6, 1)):
        m = load_model(write_keras(str(tmp_path / "f.keras"), logits_config(fn, [mae]), w))
    assert m.loss == "mse" and m.metrics_names == ["loss", "mean_absolute_error"]
    assert m.evaluate(x, np.eye(3, dtype=np.float32)[y], verbose=0)[1] == pytest.approx(
        np.abs(z - np.eye(3)[y]).mean(), rel=1e-5)


def test_compile_config_refusals_exact(tmp_path):
    w, _, _ = logits_data()
    smooth = keras_obj("keras.losses", "CategoricalCrossentropy", {"name": "categorical_crossentropy",
                                                                   "reduction": "sum_over_batch_size",
                                                                   "from_logits": True, "label_smoothing": 0.1,
                                                                   "axis": -1})
    p = write_keras(str(tmp_path / "s.keras"), logits_config(smooth), w)
    with pytest.raises(ValueError, match=r"^load_model: '%s': compile_config: the loss %s: CategoricalCrossentropy: "
                       r"label_smoothing=0.1 is not supported \(only 0\); load_model\(..., compile=False\) loads "
                       r"the model uncompiled$" % (p, _re(json.dumps(smooth)))):
        load_model(p)
    assert load_model(p, compile=False).optimizer is None
    own = keras_obj("my_pkg", "FocalLoss", {"gamma": 2}, "my_pkg>FocalLoss")
    p = write_keras(str(tmp_path / "o.keras"), logits_config(own), w)
    with pytest.raises(ValueError, match=r"^load_model: '%s': compile_config: the loss %s is not available in "
                       r"latefuse; load_model\(..., compile=False\) loads the model uncompiled$"
                       % (p, _re(json.dumps(own)))):
        load_model(p)
    prec = keras_obj("keras.metrics", "Precision", {"name": "precision", "dtype": "float32", "thresholds": None,
                                                    "top_k": None, "class_id": None})
    p = write_keras(str(tmp_path / "p.keras"), logits_config(metrics=[prec]), w)
    with pytest.raises(ValueError, match=r"^load_model: '%s': compile_config: the metric %s is not available in "
                       r"latefuse; load_model\(..., compile=False\) loads the model uncompiled$"
                       % (p, _re(json.dumps(prec)))):
        load_model(p)


def keras_archive(path, layers, ins, outs, h5, assets):
    """a .keras zip as Keras 3.16 writes it: config.json of a Functional,
    model.weights.h5 ({group: {dataset name: array}}, every layer's group
    named), the assets/ members ({path: text})"""
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        f.create_group("vars").attrs["name"] = "functional"
        for grp, arrays in h5.items():
            g = f.create_group(grp + "/vars")
            g.attrs["name"] = grp.split("/")[-1]
            for k, a in arrays.items():
                g.create_dataset(k, data=a)
    cfg = {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
           "config": {"name": "functional", "trainable": True, "layers": layers, "input_layers": ins,
                      "output_layers": outs}, "build_config": {"input_shape": None}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.16.0", "date_saved": "2026-01-01@00:00:00"}))
        zf.writestr("config.json", json.dumps(cfg))
        zf.writestr("model.weights.h5", bio.getvalue())
        for member, text in assets.items():
            zf.writestr(member, text)
    return path


def lookup_cfg(vocabulary=None, **kw):
    """StringLookup.get_config (index_lookup.py, string_lookup.py: no vocabulary_dtype)"""
    return dict({"invert": False, "max_tokens": None, "num_oov_indices": 1, "oov_token": "[UNK]",
                 "mask_token": None, "output_mode": "int", "sparse": False, "pad_to_max_tokens": False,
                 "idf_weights": None, "vocabulary": vocabulary, "vocabulary_size": 5, "oov_method": "floormod",
                 "salt": None, "encoding": "utf-8"}, **kw)


def tv_cfg(**kw):
    """TextVectorization.get_config (text_vectorization.py)"""
    return dict({"max_tokens": None, "standardize": "lower_and_strip_punctuation", "split": "whitespace",
                 "ngrams": None, "output_mode": "int", "output_sequence_length": 4, "pad_to_max_tokens": False,
                 "sparse": False, "ragged": False, "vocabulary": None, "idf_weights": None, "encoding": "utf-8",
                 "vocabulary_size": 6}, **kw)


def lookup_golden(path, vocabulary_in_config=False):
    """Input((3,), dtype='string') -> StringLookup (adapted: its vocabulary
    in assets/layers/string_lookup/vocabulary.txt, index_lookup.py
    save_assets) -> Embedding(5, 2) -> Flatten -> Dense(2)"""
    rng = np.random.default_rng(3)
    emb, k, b = (rng.standard_normal(s).astype(np.float32) for s in ((5, 2), (6, 2), (2,)))
    vocab = ["c", "b", "a", "d"]
    layers = [input_entry("words", (3,), "string"),
              entry("StringLookup", "string_lookup", lookup_cfg(vocab if vocabulary_in_config else None),
                    [call(tensor((3,), "words", dtype="string"))]),
              entry("Embedding", "embedding", {"input_dim": 5, "output_dim": 2, "mask_zero": False,
                                               "embeddings_initializer": init("RandomUniform")},
                    [call(tensor((3,), "string_lookup", dtype="int64"))]),
              entry("Flatten", "flatten", {"data_format": "channels_last"}, [call(tensor((3, 2), "embedding"))]),
              entry("Dense", "dense", dense_cfg(2, "linear"), [call(tensor((6,), "flatten"))])]
    assets = {} if vocabulary_in_config else {"assets/layers/string_lookup/vocabulary.txt": "[UNK]\nc\nb\na\nd"}
    keras_archive(path, layers, [["words", 0, 0]], [["dense", 0, 0]],
                  {"layers/string_lookup": {}, "layers/embedding": {"0": emb}, "layers/dense": {"0": k, "1": b}},
                  assets)
    index = {"[UNK]": 0, "c": 1, "b": 2, "a": 3, "d": 4}

    def forward(x):
        ids = np.vectorize(lambda v: index.get(v, 0))(x)
        return emb[ids].reshape(len(x), 6) @ k + b
    return forward


def test_keras_string_lookup_read_from_assets_or_config_and_written_back(tmp_path):
    """A Keras model fed by a StringLookup: the vocabulary from assets/
    (adapted) or from the config (given) is attached to the loaded model,
    which predicts on raw strings as numpy does with Keras' indices (OOV 0,
    tokens from 1); saving writes Keras' layout back (the string Input, the
    StringLookup layer, assets/layers/string_lookup/vocabulary.txt with the
    reserved entries first) and reads back to the same predictions"""
    x = np.array([["a", "zz", "d"], ["c", "b", "b"]], dtype=object)
    for in_config in (False, True):
        path = str(tmp_path / ("lk%d.keras" % in_config))
        forward = lookup_golden(path, in_config)
        m = load_model(path)
        np.testing.assert_allclose(m.predict(x), forward(x), rtol=1e-5, atol=1e-6)
        out = str(tmp_path / ("back%d.keras" % in_config))
        m.save(out)
        with zipfile.ZipFile(out) as zf:
            names = zf.namelist()
            cfg = json.loads(zf.read("config.json"))["config"]
            h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
            vocab = zf.read("assets/layers/string_lookup/vocabulary.txt").decode() if not in_config else None
        ly = cfg["layers"]
        assert [e["class_name"] for e in ly[:3]] == ["InputLayer", "StringLookup", "Embedding"]
        assert ly[0]["config"]["dtype"] == "string" and ly[0]["config"]["batch_shape"] == [None, 3]
        assert ly[1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["words", 0, 0]
        assert ly[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["string_lookup", 0, 0]
        assert cfg["input_layers"] == ["words", 0, 0]
        assert ly[1]["config"]["vocabulary"] == (["c", "b", "a", "d"] if in_config else None)
        assert "layers/string_lookup/vars" in h5 and len(h5["layers/string_lookup/vars"]) == 0
        if in_config:
            assert not any(n.startswith("assets/") for n in names)
        else:
            assert vocab == "[UNK]\nc\nb\na\nd"
        np.testing.assert_allclose(load_model(out).predict(x), forward(x), rtol=1e-5, atol=1e-6)


def test_keras_text_vectorization_int_and_tf_idf_read_and_round_trip(tmp_path):
    """Input((1,), dtype='string') -> TextVectorization: int mode with its
    vocabulary in assets/layers/text_vectorization/vocabulary.txt (the
    reserved '' and '[UNK]' first) feeding an Embedding; tf_idf with the idf
    weights in model.weights.h5 layers/text_vectorization/vars/idf_weights
    (save_own_variables) feeding a Dense: predictions as numpy's, and the
    round trip keeps both (the _lookup_layer copy written as Keras does)"""
    rng = np.random.default_rng(4)
    emb, k, b = (rng.standard_normal(s).astype(np.float32) for s in ((6, 2), (8, 1), (1,)))
    layers = [input_entry("text", (1,), "string"),
              entry("TextVectorization", "text_vectorization", tv_cfg(), [call(tensor((1,), "text", dtype="string"))]),
              entry("Embedding", "embedding", {"input_dim": 6, "output_dim": 2, "mask_zero": False},
                    [call(tensor((4,), "text_vectorization", dtype="int64"))]),
              entry("Flatten", "flatten", {}, [call(tensor((4, 2), "embedding"))]),
              entry("Dense", "dense", dense_cfg(1, "linear"), [call(tensor((8,), "flatten"))])]
    path = keras_archive(str(tmp_path / "tv.keras"), layers, [["text", 0, 0]], [["dense", 0, 0]],
                         {"layers/text_vectorization": {}, "layers/embedding": {"0": emb},
                          "layers/dense": {"0": k, "1": b}},
                         {"assets/layers/text_vectorization/vocabulary.txt": "\n[UNK]\nthe\ncat\nsat\ndog\n"})
    x = np.array([["The cat, SAT!"], ["a dog"]], dtype=object)
    ids = np.array([[2, 3, 4, 0], [1, 5, 0, 0]])
    want = emb[ids].reshape(2, 8) @ k + b
    m = load_model(path)
    np.testing.assert_allclose(m.predict(x), want, rtol=1e-5, atol=1e-6)
    out = str(tmp_path / "tv_back.keras")
    m.save(out)
    with zipfile.ZipFile(out) as zf:
        for member in ("assets/layers/text_vectorization/vocabulary.txt",
                       "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt"):
            assert zf.read(member).decode() == "\n[UNK]\nthe\ncat\nsat\ndog"
    np.testing.assert_allclose(load_model(out).predict(x), want, rtol=1e-5, atol=1e-6)
    # tf_idf: idf weights of every entry ([UNK] first) in the H5 store
    idf = np.float32([0.7, 0.2, 1.1, 1.3, 0.9])
    kd, bd = rng.standard_normal((5, 2)).astype(np.float32), np.float32([0.1, -0.2])
    layers = [input_entry("text", (1,), "string"),
              entry("TextVectorization", "text_vectorization", tv_cfg(output_mode="tf_idf", output_sequence_length=None,
                                                                      vocabulary_size=5),
                    [call(tensor((1,), "text", dtype="string"))]),
              entry("Dense", "dense", dense_cfg(2, "linear"), [call(tensor((5,), "text_vectorization"))])]
    path = keras_archive(str(tmp_path / "tfidf.keras"), layers, [["text", 0, 0]], [["dense", 0, 0]],
                         {"layers/text_vectorization": {"idf_weights": idf},
                          "layers/text_vectorization/_lookup_layer": {"idf_weights": idf},
                          "layers/dense": {"0": kd, "1": bd}},
                         {"assets/layers/text_vectorization/vocabulary.txt": "[UNK]\nthe\ncat\nsat\ndog"})
    x = np.array([["the cat the zebra"]], dtype=object)
    tf = np.float32([[1 * 0.7, 2 * 0.2, 1 * 1.1, 0, 0]])  # counts times idf, OOV at 0
    m = load_model(path)
    np.testing.assert_allclose(m.predict(x), tf @ kd + bd, rtol=1e-5, atol=1e-6)
    out = str(tmp_path / "tfidf_back.keras")
    m.save(out)
    with zipfile.ZipFile(out) as zf:
        h5 = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
        np.testing.assert_array_equal(h5["layers/text_vectorization/vars/idf_weights"][()], idf)
        np.testing.assert_array_equal(h5["layers/text_vectorization/_lookup_layer/vars/idf_weights"][()], idf)
    np.testing.assert_allclose(load_model(out).predict(x), tf @ kd + bd, rtol=1e-5, atol=1e-6)


def test_keras_preprocessing_refusals_exact(tmp_path):
    """no vocabulary anywhere, no idf weights, a rank-0 string Input: each
    an error naming the layer and what is missing"""
    path = str(tmp_path / "noasset.keras")
    lookup_golden(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if not n.startswith("assets/")}
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'string_lookup' \(StringLookup\): no vocabulary: "
                       r"the config has none and the archive has no assets/layers/string_lookup/vocabulary.txt$"
                       % _re(path)):
        load_model(path)
    layers = [input_entry("text", (1,), "string"),
              entry("TextVectorization", "tv", tv_cfg(output_mode="tf_idf", output_sequence_length=None),
                    [call(tensor((1,), "text", dtype="string"))]),
              entry("Dense", "dense", dense_cfg(2, "linear"), [call(tensor((5,), "tv"))])]
    p2 = keras_archive(str(tmp_path / "noidf.keras"), layers, [["text", 0, 0]], [["dense", 0, 0]],
                       {"layers/dense": {"0": np.zeros((5, 2), np.float32), "1": np.zeros(2, np.float32)}},
                       {"assets/layers/text_vectorization/vocabulary.txt": "[UNK]\nthe\ncat\nsat\ndog"})
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'tv' \(TextVectorization\): model.weights.h5 has "
                       r"no layers/text_vectorization/vars/idf_weights$" % _re(p2)):
        load_model(p2)
    layers = [input_entry("w", (), "string")]
    p3 = keras_archive(str(tmp_path / "rank0.keras"), layers, [["w", 0, 0]], [["w", 0, 0]], {}, {})
    with pytest.raises(ValueError, match=r"^load_model: '%s': InputLayer 'w' has shape \(\) \(one value per sample\); "
                       r"latefuse's inputs have an axis: Input\(shape=\(1,\), dtype='string'\)$" % _re(p3)):
        load_model(p3)


def test_initializers_written_as_keras_dicts_and_read_in_both_forms(tmp_path):
    """Keras 3.16 serializes initializers as {"module": "keras.initializers",
    "class_name", "config", "registered_name": null} (serialize_keras_object;
    the configs of keras/src/initializers/random_initializers.py and
    constant_initializers.py get_config): written so, the Bidirectional's
    inner layer too; read back, and the older string form still reads"""
    from latefuse.layers import Embedding
    x = Input((5,), dtype="int32")
    h = Bidirectional(LSTM(3))(Embedding(10, 4)(x))
    m = Model(x, Dense(2, kernel_initializer="he_normal", bias_initializer="ones")(h))
    path = str(tmp_path / "i.keras")
    m.save(path)
    with zipfile.ZipFile(path) as zf:
        cfg = json.loads(zf.read("config.json"))
    ly = {e["class_name"]: e["config"] for e in cfg["config"]["layers"]}

    def k(name, config):
        return {"module": "keras.initializers", "class_name": name, "config": config, "registered_name": None}
    vs = {"seed": None, "input_axes": None, "output_axes": None}
    assert ly["Dense"]["kernel_initializer"] == k("HeNormal", vs)
    assert ly["Dense"]["bias_initializer"] == k("Ones", {})
    assert ly["Embedding"]["embeddings_initializer"] == k("RandomUniform", {"seed": None, "minval": -0.05,
                                                                             "maxval": 0.05})
    inner = ly["Bidirectional"]["layer"]["config"]
    assert inner["kernel_initializer"] == k("GlorotUniform", vs)
    assert inner["recurrent_initializer"] == k("Orthogonal", {"seed": None, "gain": 1.0})
    assert inner["bias_initializer"] == k("Zeros", {})
    xs = np.random.default_rng(0).integers(0, 10, (4, 5)).astype(np.int32)
    assert np.array_equal(load_model(path).predict(xs), m.predict(xs))
    # the string form (latefuse's files before): the same model
    for e in cfg["config"]["layers"]:
        for key, v in list(e["config"].items()):
            if key.endswith("_initializer"):
                e["config"][key] = {"HeNormal": "he_normal", "Ones": "ones"}.get(v["class_name"], "zeros")
    with zipfile.ZipFile(path) as zf:
        weights = zf.read("model.weights.h5")
    old = str(tmp_path / "old.keras")
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("config.json", json.dumps(cfg))
        zf.writestr("model.weights.h5", weights)
    assert np.array_equal(load_model(old).predict(xs), m.predict(xs))


def _mutated(src, dst, edit):
    """a copy of the archive src with edit(config) applied to its config.json"""
    with zipfile.ZipFile(src) as z:
        cfg = json.loads(z.read("config.json"))
        edit(cfg)
        with zipfile.ZipFile(dst, "w") as w:
            for n in z.namelist():
                w.writestr(n, json.dumps(cfg) if n == "config.json" else z.read(n))
    return dst


def test_malformed_configs_are_load_model_errors(tmp_path):
    """a config.json with a value of another type where Keras 3 writes one
    (a tensor without a layer's keras_history, as for a mask made outside
    the layers; a layer entry that is not a dict; a missing argument; a bad
    optimizer config) is load_model's ValueError naming the file and the
    layer, never a TypeError / AttributeError from inside the reader"""
    from latefuse import LatefuseError
    from latefuse.layers import MultiHeadAttention
    x = Input((4, 3), name="x")
    o, s = MultiHeadAttention(2, 2, name="mha")(x, x, use_causal_mask=True, return_attention_scores=True)
    m = Model(x, [o, s])
    m.compile(optimizer="adam", loss=["mse", "mse"])
    src = str(tmp_path / "m.keras")
    m.save(src)
    p = str(tmp_path / "bad.keras")

    def mha(cfg):
        return next(e for e in cfg["config"]["layers"] if e["name"] == "mha")

    def no_history(cfg):
        mha(cfg)["inbound_nodes"][0]["kwargs"]["query_mask"] = {
            "class_name": "__keras_tensor__", "config": {"shape": [None, 4], "dtype": "bool", "keras_history": None}}
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'mha': a call argument is a tensor with "
                                         r"keras_history null, not \[layer, node, index\] of a layer in the model$"
                       % p):
        load_model(_mutated(src, p, no_history))
    with pytest.raises(ValueError, match=r"^load_model: '%s': config.json is not a Keras 3 model config \("
                                         r"AttributeError: 'NoneType' object has no attribute 'get'\)$" % p):
        load_model(_mutated(src, p, lambda cfg: cfg["config"]["layers"].__setitem__(1, None)))
    with pytest.raises(ValueError, match=r"^load_model: '%s': layer 'mha' \(MultiHeadAttention\): .*missing 2 "
                                         r"required positional arguments: 'num_heads' and 'key_dim'$" % p):
        load_model(_mutated(src, p, lambda cfg: mha(cfg).__setitem__("config", None)))
    with pytest.raises(ValueError, match=r"^load_model: '%s': config.json is not a Keras 3 model config \(at layer "
                                         r"'mha': TypeError: .*\)$" % p):
        load_model(_mutated(src, p, lambda cfg: mha(cfg).__setitem__("inbound_nodes", True)))
    with pytest.raises(ValueError, match=r"^load_model: '%s': compile_config is not Keras 3's \(TypeError: .*\); "
                                         r"load_model\(..., compile=False\) loads the model uncompiled$" % p):
        load_model(_mutated(src, p, lambda cfg: cfg["compile_config"]["optimizer"].__setitem__("config", 1.5)))
    # every value of the file replaced by one of another type, seeded: only the errors of a bad file
    rng = np.random.default_rng(7)
    with zipfile.ZipFile(src) as z:
        good = json.loads(z.read("config.json"))

    def spots(v, at=()):
        yield at
        for k, c in (v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()):
            yield from spots(c, at + (k,))
    where = list(spots(good))[1:]
    values = [None, 0, -1, 1.5, "x", [], {}, [None], True, {"class_name": "L1"}]
    for _ in range(200):
        at, v = where[rng.integers(len(where))], values[rng.integers(len(values))]

        def edit(cfg, at=at, v=v):
            for k in at[:-1]:
                cfg = cfg[k]
            cfg[at[-1]] = v
        try:
            with warnings.catch_warnings():  # an edit may leave the optimizer's variables a different count
                warnings.simplefilter("ignore", UserWarning)
                load_model(_mutated(src, p, edit))
        except (ValueError, LatefuseError):
            pass


def _conv_keys(**kw):
    """the keys keras/src/layers/convolutional/base_conv.py get_config writes (Keras 3.16)"""
    return dict({"data_format": "channels_last", "groups": 1, "activation": "linear", "use_bias": True,
                 "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
                 "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                 "kernel_constraint": None, "bias_constraint": None}, **kw)


def _depthwise_keys(**kw):
    """base_depthwise_conv.py / base_separable_conv.py get_config's keys"""
    return dict({"data_format": "channels_last", "activation": "linear", "use_bias": True,
                 "depthwise_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
                 "depthwise_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                 "depthwise_constraint": None, "bias_constraint": None}, **kw)


def _l1(v):
    return {"module": "keras.regularizers", "class_name": "L1", "config": {"l1": v}, "registered_name": None}


def _new_layer_cases():
    """(Keras class, its config as Keras 3 writes it, input shape, weight
    shapes in the H5 store's order, latefuse's own layer of the same settings)"""
    from latefuse import layers as Ly, regularizers as R
    tc = dict(_conv_keys(), output_padding=[1, 1], dilation_rate=[1, 1])
    tc.pop("groups")
    sep = _depthwise_keys(pointwise_initializer=init("GlorotUniform"), pointwise_regularizer=_l1(0.01),
                          pointwise_constraint=None, depthwise_regularizer=_l1(0.01))
    return [
        ("Conv1D", _conv_keys(filters=3, kernel_size=[3], strides=[1], padding="causal", dilation_rate=[2]),
         (7, 4), [(3, 4, 3), (3,)], lambda: Ly.Conv1D(3, 3, padding="causal", dilation_rate=2)),
        ("Conv2D", _conv_keys(filters=2, kernel_size=[3, 3], strides=[1, 1], padding="same", dilation_rate=[2, 1]),
         (6, 5, 3), [(3, 3, 3, 2), (2,)], lambda: Ly.Conv2D(2, 3, padding="same", dilation_rate=(2, 1))),
        ("Conv2DTranspose", dict(tc, filters=2, kernel_size=[3, 3], strides=[2, 2], padding="same"),
         (4, 5, 3), [(3, 3, 2, 3), (2,)], lambda: Ly.Conv2DTranspose(2, 3, strides=2, padding="same",
                                                                     output_padding=1)),
        ("UpSampling2D", {"size": [2, 3], "data_format": "channels_last", "interpolation": "bilinear"},
         (3, 4, 2), [], lambda: Ly.UpSampling2D((2, 3), interpolation="bilinear")),
        ("ZeroPadding2D", {"padding": [[1, 2], [0, 3]], "data_format": "channels_last"},
         (3, 4, 2), [], lambda: Ly.ZeroPadding2D(((1, 2), (0, 3)))),
        ("Cropping2D", {"cropping": [[1, 0], [0, 2]], "data_format": "channels_last"},
         (3, 4, 2), [], lambda: Ly.Cropping2D(((1, 0), (0, 2)))),
        ("DepthwiseConv2D", _depthwise_keys(depth_multiplier=2, kernel_size=[3, 3], strides=[1, 1], padding="valid",
                                            dilation_rate=[2, 2], depthwise_regularizer=_l1(0.02)),
         (6, 6, 3), [(3, 3, 3, 2), (6,)], lambda: Ly.DepthwiseConv2D(3, depth_multiplier=2, dilation_rate=2,
                                                                     depthwise_regularizer=R.L1(0.02))),
        ("SeparableConv2D", dict(sep, depth_multiplier=2, filters=4, kernel_size=[3, 3], strides=[1, 1],
                                 padding="same", dilation_rate=[1, 1]),
         (5, 5, 3), [(3, 3, 3, 2), (1, 1, 6, 4), (4,)],  # depthwise_kernel, pointwise_kernel, bias
         lambda: Ly.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, depthwise_regularizer=R.L1(0.01),
                                    pointwise_regularizer=R.L1(0.01))),
        ("Masking", {"mask_value": 0.0}, (5, 3), [], lambda: Ly.Masking()),
    ]


@pytest.mark.parametrize("case", range(9))
def test_new_layers_read_in_keras_layout_and_written_back(case, tmp_path):
    """each layer class of this session as Keras 3 writes it (the keys of
    its get_config; the weights at layers/<snake case>/vars/0, 1, ...)
    predicts as the latefuse layer of the same settings with those weights,
    bit for bit, with the regularizers' loss; written back, the config keeps
    Keras' keys and the archive loads to the same bits"""
    kind, cfg, shape, wshapes, ours = _new_layer_cases()[case]
    rng = np.random.default_rng(case)
    ws = [rng.normal(scale=0.4, size=s).astype(np.float32) for s in wshapes]
    snake = {"Conv1D": "conv1d", "Conv2D": "conv2d", "Conv2DTranspose": "conv2d_transpose",
             "UpSampling2D": "up_sampling2d", "ZeroPadding2D": "zero_padding2d", "Cropping2D": "cropping2d",
             "DepthwiseConv2D": "depthwise_conv2d", "SeparableConv2D": "separable_conv2d", "Masking": "masking"}[kind]
    layers = [input_entry("x", shape), entry(kind, "lay", cfg, [call(tensor(shape, "x"))])]
    p = keras_archive(str(tmp_path / "k.keras"), layers, ["x", 0, 0], ["lay", 0, 0],
                      {"layers/" + snake: {str(i): w for i, w in enumerate(ws)}}, {})
    m = load_model(p)
    x = Input(shape)
    ref = Model(x, ours()(x))
    ref.set_weights(ws)
    xs = rng.normal(size=(2,) + shape).astype(np.float32)
    if kind == "Masking":
        xs[0, 2:] = 0.0
    want = ref.predict(xs, verbose=0)
    assert np.array_equal(m.predict(xs, verbose=0), want)
    for model in (m, ref):
        model.compile(optimizer="sgd", loss="mse")
    y = np.zeros_like(want)
    got = m.evaluate(xs, y, verbose=0)
    assert got == ref.evaluate(xs, y, verbose=0)
    slot = {"depthwise_regularizer": 0, "pointwise_regularizer": 1}  # the kernels they penalise
    penalty = sum(v["config"]["l1"] * float(np.abs(ws[slot[k]]).sum()) for k, v in cfg.items() if k in slot and v)
    if penalty:  # the regularizers' penalties in the loss
        mse = float((want.astype(np.float64) ** 2).mean())
        assert abs(got - (mse + penalty)) <= 1e-5 * (mse + penalty)
    m.save(str(tmp_path / "back.keras"))
    with zipfile.ZipFile(str(tmp_path / "back.keras")) as z:
        back = json.loads(z.read("config.json"))["config"]["layers"][1]["config"]
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            assert [f["layers/%s/vars/%d" % (snake, i)].shape for i in range(len(ws))] == wshapes
    # written where latefuse has them (Conv1D / Conv2D leave Keras' default data_format out, as before)
    keras_keys = set(cfg) - {"groups", "activity_regularizer"} - ({"data_format"} if kind in ("Conv1D", "Conv2D")
                                                                  else set())
    assert keras_keys <= set(back), sorted(keras_keys - set(back))
    assert {k: back[k] for k in back if k.endswith("_regularizer")} == \
        {k: cfg[k] for k in back if k.endswith("_regularizer")}
    m2 = load_model(str(tmp_path / "back.keras"))
    assert np.array_equal(m2.predict(xs, verbose=0), want)
    assert m2.evaluate(xs, y, verbose=0) == m.evaluate(xs, y, verbose=0)


def test_merges_and_attention_call_arguments_in_keras_layout(tmp_path):
    """Concatenate(axis=1), Dot(axes=[2, 2]) and a MultiHeadAttention called
    with Keras' call arguments as Keras 3 records them in the inbound node
    (keras/src/layers/layer.py fills query_mask / value_mask with the inputs'
    masks, null here; use_causal_mask and return_attention_scores as given;
    the scores the call's output 1) and with the keys of its get_config
    (use_gate, sliding_window, seed, attention_axes [1] once built): the
    same bits as latefuse's model of those calls"""
    from latefuse.layers import Concatenate, Dot, MultiHeadAttention
    rng = np.random.default_rng(11)
    a, b = (5, 4), (3, 4)
    mha_cfg = {"num_heads": 2, "key_dim": 3, "value_dim": 3, "dropout": 0.0, "use_bias": True, "use_gate": False,
               "output_shape": None, "attention_axes": [1], "sliding_window": None,
               "kernel_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
               "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
               "kernel_constraint": None, "bias_constraint": None, "seed": None}
    ta, tb = tensor(a, "a"), tensor(b, "b")
    layers = [input_entry("a", a), input_entry("b", b),
              entry("Concatenate", "cat", {"axis": 1}, [call([ta, tb])]),
              entry("MultiHeadAttention", "mha", mha_cfg,
                    [call(ta, tensor((8, 4), "cat"), query_mask=None, value_mask=None, use_causal_mask=True,
                          return_attention_scores=True)]),
              entry("Dot", "dot", {"axes": [2, 2], "normalize": False},
                    [call([tensor(a, "mha"), tensor(b, "b")])])]
    ws = [rng.normal(scale=0.4, size=s).astype(np.float32)
          for s in [(4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (4, 2, 3), (2, 3), (2, 3, 4), (4,)]]
    h5 = {"layers/multi_head_attention/" + sub: {"0": ws[2 * j], "1": ws[2 * j + 1]}
          for j, sub in enumerate(["query_dense", "key_dense", "value_dense", "output_dense"])}
    for grp in ("concatenate", "multi_head_attention", "dot"):
        h5["layers/" + grp] = {}
    p = keras_archive(str(tmp_path / "k.keras"), layers, [["a", 0, 0], ["b", 0, 0]],
                      [["dot", 0, 0], ["mha", 0, 1]], h5, {})
    m = load_model(p)
    xa, xb = Input(a), Input(b)
    out, scores = MultiHeadAttention(2, 3)(xa, Concatenate(axis=1)([xa, xb]), use_causal_mask=True,
                                           return_attention_scores=True)
    ref = Model([xa, xb], [Dot(axes=[2, 2])([out, xb]), scores])
    ref.set_weights(ws)
    xs = [rng.normal(size=(2,) + a).astype(np.float32), rng.normal(size=(2,) + b).astype(np.float32)]
    got, want = m.predict(xs, verbose=0), ref.predict(xs, verbose=0)
    assert [g.shape for g in got] == [(2, 5, 3), (2, 2, 5, 8)]
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert (want[1][:, :, 1, 2:] == 0).all()  # causal: query step 1 sees keys 0 and 1 only
    m.save(str(tmp_path / "back.keras"))
    assert all(np.array_equal(g, w) for g, w in zip(load_model(str(tmp_path / "back.keras")).predict(xs, verbose=0),
                                                     want))
