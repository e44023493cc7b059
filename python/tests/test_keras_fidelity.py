"""
test_keras_fidelity.py — Keras 3's behaviour where latefuse's Python layer
differed (session 34's list): the order of a single output's evaluate list
and logs, the metrics' keys, set_vocabulary with the reserved tokens given,
the latefuse-only TextVectorization options in .keras files and the
optimizer's variables in .keras files.

Each case cites the Keras source it follows (keras-team/keras, keras/src/...).
"""
import numpy as np
import pytest

from latefuse import Model
from latefuse.layers import Dense, Input


def _binary(seed=3, n=48):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(np.float64).reshape(-1, 1)
    return x, y


# ---------------------------------------------------------------- evaluate's order, one output

def test_one_output_evaluate_lists_the_metrics_in_compile_order():
    """keras/src/trainers/trainer.py _flatten_metrics_in_order: loss, then
    CompileMetrics.metrics (compile_utils.py: metrics then weighted_metrics,
    each in compile's order) found in the logs, then the other keys sorted"""
    x, y = _binary()
    inp = Input((3,))
    m = Model(inp, Dense(1, activation="sigmoid")(inp))
    m.compile("adam", "binary_crossentropy", metrics=["mse", "accuracy", "mae"])
    assert m.metrics_names == ["loss", "mse", "accuracy", "mae"]
    d = m.evaluate(x, y, return_dict=True, verbose=0)
    assert list(d) == ["loss", "mse", "accuracy", "mae"]
    v = m.evaluate(x, y, verbose=0)
    assert v == [d[k] for k in m.metrics_names]
    p = m.predict(x, verbose=0).astype(np.float64)
    assert v[1] == pytest.approx(np.mean((p - y) ** 2), rel=1e-6)
    assert v[2] == pytest.approx(np.mean((p > 0.5) == (y > 0.5)), rel=1e-12)
    assert v[3] == pytest.approx(np.mean(np.abs(p - y)), rel=1e-6)
    h = m.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert list(h.history) == ["loss", "mse", "accuracy", "mae", "val_loss", "val_mse", "val_accuracy", "val_mae"]
    # weighted_metrics after the metrics; one renamed weighted_<name> after those under their own names
    m.compile("adam", "binary_crossentropy", metrics=["mae", "accuracy"], weighted_metrics=["mse", "mae"])
    assert list(m.evaluate(x, y, return_dict=True, verbose=0)) == ["loss", "mae", "accuracy", "mse", "weighted_mae"]
    assert m.metrics_names == ["loss", "mae", "accuracy", "mse", "weighted_mae"]


# ---------------------------------------------------------------- the metrics' keys

def test_auc_and_value_metrics_are_keyed_as_keras_3_names_them(tmp_path):
    """keras/src/trainers/compile_utils.py get_metric: a string is its own
    key ('AUC' stays 'AUC': keras/src/metrics/__init__.py maps both 'AUC'
    and 'auc' to the class), an object its name (AUC() 'auc', AUC(name='x')
    'x'); weighted_metrics of a name metrics= has: weighted_<name>"""
    from latefuse import load_model
    from latefuse.metrics import AUC, MeanAbsoluteError
    from latefuse.models import _auc
    x, y = _binary(5, 60)
    inp = Input((3,))
    m = Model(inp, Dense(1, activation="sigmoid")(inp), seed=2)
    p = m.predict(x, verbose=0)[:, 0].astype(np.float64)
    auc = _auc(p, y[:, 0] > 0.5, np.ones(len(y)))
    for metrics, keys in ((["AUC"], ["AUC"]), (["auc"], ["auc"]), ([AUC()], ["auc"]), ([AUC(name="x")], ["x"]),
                          ([AUC(name="x"), "AUC", MeanAbsoluteError(name="err")], ["x", "AUC", "err"])):
        m.compile("sgd", "binary_crossentropy", metrics=metrics)
        assert m.metrics_names == ["loss"] + keys
        d = m.evaluate(x, y, return_dict=True, verbose=0)
        assert list(d) == ["loss"] + keys
        assert d[keys[0]] == pytest.approx(auc, rel=1e-12)
    assert d["err"] == pytest.approx(np.mean(np.abs(p - y[:, 0])), rel=1e-6)
    m.compile("sgd", "binary_crossentropy", metrics=["AUC"], weighted_metrics=["AUC", AUC(name="w")])
    assert list(m.evaluate(x, y, return_dict=True, verbose=0)) == ["loss", "AUC", "weighted_AUC", "w"]
    assert m.metrics_names == ["loss", "AUC", "w", "weighted_AUC"]
    h = m.fit(x, y, epochs=1, verbose=0, validation_split=0.5)
    assert list(h.history) == ["loss", "AUC", "weighted_AUC", "w", "val_loss", "val_AUC", "val_weighted_AUC", "val_w"]
    # a .keras file keeps the keys: AUC(name='w') as Keras serializes a metric object
    m.compile("sgd", "binary_crossentropy", metrics=[AUC(name="x"), "AUC"], weighted_metrics=[AUC()])
    m.save(tmp_path / "m.keras")
    import json
    import zipfile
    cc = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))["compile_config"]
    assert cc["metrics"][0] == {"module": "keras.metrics", "class_name": "AUC", "registered_name": None,
                                "config": {"name": "x", "dtype": None, "num_thresholds": 200, "curve": "ROC",
                                           "summation_method": "interpolation", "multi_label": False,
                                           "num_labels": None, "label_weights": None, "from_logits": False}}
    assert cc["metrics"][1] == "AUC" and cc["weighted_metrics"] == ["auc"]
    back = load_model(tmp_path / "m.keras")
    assert back.metrics_names == m.metrics_names == ["loss", "x", "AUC", "auc"]


# ---------------------------------------------------------------- TextVectorization's own options in .keras

# keras/src/layers/preprocessing/text_vectorization.py TextVectorization.__init__'s
# arguments (and the has_input_vocabulary / vocabulary_size it pops from kwargs), and
# keras/src/layers/layer.py Layer.__init__'s (input_dim / input_shape popped; any
# other kwarg: "Unrecognized keyword arguments"): Keras' from_config (cls(**config))
# refuses any other key of the config
_KERAS_TV_ARGS = {"max_tokens", "standardize", "split", "ngrams", "output_mode", "output_sequence_length",
                  "pad_to_max_tokens", "vocabulary", "idf_weights", "sparse", "ragged", "encoding", "name",
                  "has_input_vocabulary", "vocabulary_size", "activity_regularizer", "trainable", "dtype",
                  "autocast", "input_dim", "input_shape"}


def _tv_model(**kw):
    from latefuse.layers import TextVectorization
    vec = TextVectorization(output_mode="int", output_sequence_length=4, **kw)
    vec.adapt(["東京 大阪 the cat", "京都 a dog", "the 東京 dog"])
    s = Input(shape=(1,), dtype="string", name="text")
    from latefuse.layers import Embedding, Flatten
    return Model(s, Dense(1)(Flatten()(Embedding(vec.vocabulary_size(), 2)(vec(s)))), seed=3), vec


def _tv_entry(path):
    import json
    import zipfile
    layers = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]["layers"]
    return next(e for e in layers if e["class_name"] == "TextVectorization")


def test_text_vectorization_own_options_are_kept_where_keras_ignores_them(tmp_path):
    """split_cjk (on by default) and char_ngrams are latefuse's: in the
    layer's config Keras' from_config would refuse the file; beside it (the
    entry's key "latefuse", which keras/src/saving/serialization_lib.py
    deserialize_keras_object does not read) Keras loads the file and
    latefuse's load_model restores them.  char_ngrams warns (Keras' model
    would tokenize otherwise)."""
    import warnings
    from latefuse import load_model
    probe = np.array([["東京 the cat"], ["京都 dog zebra"]], dtype=object)
    m, vec = _tv_model()
    assert vec.get_config()["split_cjk"] is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # split_cjk alone: no warning
        m.save(tmp_path / "cjk.keras")
    e = _tv_entry(tmp_path / "cjk.keras")
    assert set(e["config"]) <= _KERAS_TV_ARGS, sorted(set(e["config"]) - _KERAS_TV_ARGS)
    assert e["latefuse"] == {"split_cjk": True}
    back = load_model(tmp_path / "cjk.keras")
    assert back._tv[0].get_config()["split_cjk"] is True
    np.testing.assert_array_equal(back.predict(probe, verbose=0), m.predict(probe, verbose=0))
    # off: nothing beside the config; read back as Keras' whitespace split
    m, vec = _tv_model(split_cjk=False)
    m.save(tmp_path / "plain.keras")
    assert "latefuse" not in _tv_entry(tmp_path / "plain.keras")
    assert load_model(tmp_path / "plain.keras")._tv[0].get_config()["split_cjk"] is False
    # char_ngrams: kept and restored, with a warning naming the layer
    m, vec = _tv_model(char_ngrams=(1, 2))
    with pytest.warns(UserWarning, match=r"^save: TextVectorization '.*' has char_ngrams=\(1, 2\), which Keras "
                                         r"does not have"):
        m.save(tmp_path / "chars.keras")
    e = _tv_entry(tmp_path / "chars.keras")
    assert set(e["config"]) <= _KERAS_TV_ARGS and e["latefuse"] == {"split_cjk": True, "char_ngrams": [1, 2]}
    back = load_model(tmp_path / "chars.keras")
    assert back._tv[0].get_config()["char_ngrams"] == (1, 2)
    np.testing.assert_array_equal(back.predict(probe, verbose=0), m.predict(probe, verbose=0))


# ---------------------------------------------------------------- set_vocabulary with the reserved tokens

def test_set_vocabulary_with_unk_or_mask_given_as_keras_3(tmp_path):
    """keras/src/layers/preprocessing/index_lookup.py set_vocabulary: the
    reserved entries ([mask] in int mode with a mask token, then the OOV
    token) are dropped only when they lead the vocabulary in that order;
    otherwise '[UNK]' is a term like any other, at its own index (refused
    only with invert=True), and the mask token anywhere is refused.
    TextVectorization's lookup has mask_token '' (text_vectorization.py)."""
    from latefuse import load_model
    from latefuse.layers import Embedding, Flatten, TextVectorization
    from latefuse.lookup import StringLookup
    tv = TextVectorization(standardize=None, output_sequence_length=4)
    tv.set_vocabulary(["[UNK]", "a", "b"])  # not ['', '[UNK]'] in front: '[UNK]' is a term
    assert tv.get_vocabulary() == ["", "[UNK]", "[UNK]", "a", "b"]
    assert tv(["a [UNK] zz b"]).tolist() == [[3, 2, 1, 4]]
    tv.set_vocabulary(["", "[UNK]", "a", "b"])  # leading in order: dropped
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "b"] and tv(["a [UNK] zz b"]).tolist() == [[2, 1, 1, 3]]
    mh = TextVectorization(standardize=None, output_mode="multi_hot")
    mh.set_vocabulary(["a", "[UNK]", "b"])
    assert mh.get_vocabulary() == ["[UNK]", "a", "[UNK]", "b"] and mh(["[UNK] zz"]).tolist() == [[1, 0, 1, 0]]
    with pytest.raises(ValueError, match=r"^Found reserved mask token at unexpected location in `vocabulary`"):
        mh.set_vocabulary(["", "[UNK]", "a"])  # '' is not reserved outside int mode
    # StringLookup(mask_token=''): the same rule through index_lookup.py
    sl = StringLookup(mask_token="")
    sl.set_vocabulary(["[UNK]", "a"])
    assert sl.get_vocabulary() == ["", "[UNK]", "[UNK]", "a"] and sl(["a", "[UNK]", "zz", ""]).tolist() == [3, 2, 1, 0]
    with pytest.raises(ValueError, match=r"^Found reserved OOV token at unexpected location in `vocabulary`"):
        StringLookup(invert=True).set_vocabulary(["a", "[UNK]"])
    # a model's vectorizer with such a vocabulary: its .keras file (assets/.../vocabulary.txt) reads back
    tv = TextVectorization(standardize=None, output_sequence_length=4)
    tv.set_vocabulary(["[UNK]", "a", "b"])
    s = Input(shape=(1,), dtype="string", name="text")
    m = Model(s, Dense(1)(Flatten()(Embedding(5, 2)(tv(s)))), seed=3)
    m.save(tmp_path / "unk.keras")
    back = load_model(tmp_path / "unk.keras")
    assert back._tv[0].get_vocabulary() == ["", "[UNK]", "[UNK]", "a", "b"]
    probe = np.array([["a [UNK] zz b"], ["b b"]], dtype=object)
    np.testing.assert_array_equal(back.predict(probe, verbose=0), m.predict(probe, verbose=0))
    m.save(tmp_path / "unk.lf")
    assert load_model(tmp_path / "unk.lf")._tv[0].get_vocabulary() == ["", "[UNK]", "[UNK]", "a", "b"]


# ---------------------------------------------------------------- the optimizer's variables in .keras

def _regression_model(opt, seed=5):
    from latefuse.layers import BatchNormalization
    inp = Input((4,))
    h = BatchNormalization()(Dense(6, activation="tanh")(inp))
    frozen = Dense(5, name="frozen")
    m = Model(inp, Dense(2)(frozen(h)), seed=seed)
    frozen.trainable = False  # not among Keras' trainable variables: no optimizer state
    m.compile(opt, "mse")
    return m


@pytest.mark.parametrize("make, k", [
    (lambda O: O.Adam(0.01), 2), (lambda O: O.Adam(0.01, amsgrad=True), 3), (lambda O: O.AdamW(0.01), 2),
    (lambda O: O.SGD(0.05, momentum=0.9), 1), (lambda O: O.SGD(0.05, momentum=0.8, nesterov=True), 1),
    (lambda O: O.RMSprop(0.01), 1), (lambda O: O.RMSprop(0.01, momentum=0.5, centered=True), 3),
    (lambda O: O.Adagrad(0.05), 1), (lambda O: O.Lion(0.001), 1)],
    ids=["adam", "amsgrad", "adamw", "sgd_momentum", "nesterov", "rmsprop", "rmsprop_centered", "adagrad", "lion"])
def test_keras_file_keeps_the_optimizer_state(tmp_path, make, k):
    """keras/src/optimizers/base_optimizer.py save_own_variables: the
    group optimizer/vars of model.weights.h5 holds iterations, learning_rate,
    then each build's add_optimizer_variables per trainable variable
    (interleaved: Adam's momentum and velocity of variable 0, of variable 1,
    ...): written so, and read back, a fit continued after save and
    load_model gives the same bits as one continued without them."""
    import h5py
    import io
    import zipfile
    from latefuse import load_model, optimizers as O
    rng = np.random.default_rng(7)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.c_[x[:, 0] - x[:, 1], x[:, 2] * 0.5].astype(np.float32)
    m = _regression_model(make(O))
    m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    m.save(tmp_path / "m.keras")
    back = load_model(tmp_path / "m.keras")
    assert back.optimizer.iterations == m.optimizer.iterations == 10
    m.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    back.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(m.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)
    # the layout: iterations, learning_rate, then the per-variable state over the
    # trainable variables (dense kernel, bias, BatchNormalization gamma, beta, dense_1
    # kernel, bias: the frozen layer and the moving statistics have none)
    with zipfile.ZipFile(tmp_path / "m.keras") as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
        g = f["optimizer/vars"]
        n = len(g)
        assert g["0"][()] == 10 and g["0"].dtype == np.int64
        assert g["1"][()] == np.float32(m.optimizer.learning_rate) and g["1"].dtype == np.float32
        shapes = [g[str(i)].shape for i in range(2, n)]
    tv = [(4, 6), (6,), (6,), (6,), (5, 2), (2,)]
    assert len(shapes) == k * len(tv)
    if type(m.optimizer) in (O.Adam, O.AdamW):  # momentum, velocity interleaved per variable
        assert shapes[:2 * len(tv)] == [s for s in tv for _ in range(2)]
    else:
        assert shapes[:len(tv)] == tv


def test_keras_file_optimizer_state_absent_mismatched_or_bad(tmp_path):
    """no optimizer/vars: a fresh optimizer; another count of variables
    than the optimizer has: Keras' warning, a fresh optimizer; a bad value:
    load_model's error naming the dataset"""
    import h5py
    import io
    import zipfile
    from latefuse import load_model
    from latefuse.optimizers import Adam, Nadam, SGD
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    m = _regression_model(Adam(0.01))
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    m.save(tmp_path / "m.keras")

    def rewrite(name, edit):
        src, dst = zipfile.ZipFile(tmp_path / "m.keras"), tmp_path / name
        with zipfile.ZipFile(dst, "w") as out:
            for item in src.namelist():
                data = src.read(item)
                if item == "model.weights.h5":
                    bio = io.BytesIO(data)
                    with h5py.File(bio, "a") as f:
                        edit(f)
                    data = bio.getvalue()
                out.writestr(item, data)
        return dst

    fresh = load_model(rewrite("none.keras", lambda f: f.__delitem__("optimizer")))
    assert fresh.optimizer.iterations == 0
    assert np.all(fresh._optimizer_slots()[0][2][0] == 0)
    with pytest.warns(UserWarning, match=r"^Skipping variable loading for optimizer 'adam', because it has 14 "
                                         r"variables whereas the saved optimizer has 13 variables. $"):
        short = load_model(rewrite("short.keras", lambda f: f["optimizer/vars"].__delitem__("13")))
    assert short.optimizer.iterations == 0

    def negative(f):
        v = f["optimizer/vars/3"][()]  # the velocity of dense's kernel
        del f["optimizer/vars/3"]
        f["optimizer/vars"].create_dataset("3", data=-np.abs(v) - 1)
    with pytest.raises(ValueError, match=r"^load_model: '.*neg.keras': model.weights.h5 optimizer/vars/3 \(layer "
                                         r"'dense' weight 0\) holds a negative value \(Adam keeps it >= 0\)$"):
        load_model(rewrite("neg.keras", negative))
    # an optimizer whose variables latefuse does not map: written without them, read fresh
    n = _regression_model(Nadam(0.01))
    n.fit(x, y, epochs=1, batch_size=8, verbose=0)
    n.save(tmp_path / "nadam.keras")
    with zipfile.ZipFile(tmp_path / "nadam.keras") as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
        assert "optimizer" not in f
    assert load_model(tmp_path / "nadam.keras").optimizer.iterations == 0
    # plain SGD: iterations and learning_rate only
    s = _regression_model(SGD(0.1))
    s.fit(x, y, epochs=1, batch_size=8, verbose=0)
    s.save(tmp_path / "sgd.keras")
    with zipfile.ZipFile(tmp_path / "sgd.keras") as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
        assert sorted(f["optimizer/vars"]) == ["0", "1"]
    assert load_model(tmp_path / "sgd.keras").optimizer.iterations == 2
