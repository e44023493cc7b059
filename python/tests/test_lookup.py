"""
test_lookup.py — StringLookup, IntegerLookup (lookup.py) and CategoryEncoding
(src/layers/preprocess.c) against Keras 3's semantics: the examples of
Keras' docstrings (keras/src/layers/preprocessing/string_lookup.py,
integer_lookup.py, category_encoding.py) and hand-computed cases of
index_lookup.py's rules (OOV and mask indices, frequency ties, max_tokens,
invert), get_config / from_config through JSON, CategoryEncoding in a
model saved and loaded, and the refusals' messages.
"""
import json

import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.layers import CategoryEncoding, Input, IntegerLookup, StringLookup


def test_string_lookup_keras_examples():
    vocab = ["a", "b", "c", "d"]
    data = [["a", "c", "d"], ["d", "z", "b"]]
    assert StringLookup(vocabulary=vocab)(data).tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = StringLookup()
    layer.adapt([["a", "c", "d"], ["d", "z", "b"]])
    # d counted twice first; ties (a, b, c, z) high to low
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    assert layer(data).tolist() == [[5, 3, 1], [1, 2, 4]]
    assert layer.vocabulary_size() == 6
    assert StringLookup(vocabulary=vocab, output_mode="one_hot")(["a", "b", "c", "d", "z"]).tolist() == \
        np.eye(5)[[1, 2, 3, 4, 0]].tolist()
    assert StringLookup(vocabulary=vocab, output_mode="multi_hot")([["a", "c", "d", "d"], ["d", "z", "b", "z"]]) \
        .tolist() == [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]
    assert StringLookup(vocabulary=vocab, output_mode="count")([["a", "c", "d", "d"], ["d", "z", "b", "z"]]) \
        .tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    inv = StringLookup(vocabulary=vocab, invert=True)([[1, 3, 4], [4, 0, 2]])
    assert inv.tolist() == [["a", "c", "d"], ["d", "[UNK]", "b"]]


def test_integer_lookup_keras_examples():
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    out = IntegerLookup(vocabulary=vocab)(data)
    assert out.dtype == np.int64 and out.tolist() == [[1, 3, 4], [4, 0, 2]]
    layer = IntegerLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    assert layer(data).tolist() == [[5, 2, 1], [1, 3, 4]]
    # num_oov_indices=2: OOV values floormod 2 after the in-vocabulary shift
    two = IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    assert two(np.array([[12, 1138, 42], [37, 1000, 36]])).tolist() == [[2, 4, 5], [1, 0, 3]]
    assert two.get_vocabulary() == [-1, -1, 12, 36, 1138, 42]
    assert IntegerLookup(vocabulary=vocab, num_oov_indices=4)(np.array([100, 300, 700, 1100, 1700, 2000])) \
        .tolist() == [0] * 6
    assert IntegerLookup(vocabulary=vocab, output_mode="count")(
        np.array([[12, 1138, 42, 42], [42, 7, 36, 7]])).tolist() == [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]
    assert IntegerLookup(vocabulary=vocab, invert=True)(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == \
        [[12, 1138, 42], [42, -1, 36]]


def test_mask_token_and_oov_placement():
    # int mode: the mask is index 0, the OOV entry index 1, tokens from 2
    layer = StringLookup(vocabulary=["a", "b"], mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b"] and layer.vocabulary_size() == 4
    assert layer([["a", "", "z"], ["b", "b", ""]]).tolist() == [[2, 0, 1], [3, 3, 0]]
    # other modes: no mask entry, the mask dropped from the counts
    hot = StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="count")
    assert hot.get_vocabulary() == ["[UNK]", "a", "b"]
    assert hot([["a", "", "z", "a"]]).tolist() == [[1, 2, 0]]
    # the given vocabulary may start with the reserved entries, in order
    same = StringLookup(vocabulary=["", "[UNK]", "a", "b"], mask_token="")
    assert same.get_vocabulary() == ["", "[UNK]", "a", "b"]
    # invert: 0 is the mask, the OOV index and out-of-range indices oov_token
    inv = IntegerLookup(vocabulary=[7, 9], mask_token=0, invert=True)
    assert inv(np.array([0, 1, 2, 3, 4, -3])).tolist() == [0, -1, 7, 9, -1, -1]
    # adapt leaves mask and oov tokens out of the vocabulary
    ad = IntegerLookup(mask_token=0)
    ad.adapt(np.array([0, 0, 0, -1, -1, 5, 6, 6]))
    assert ad.get_vocabulary() == [0, -1, 6, 5]
    assert ad.get_vocabulary(include_special_tokens=False) == [6, 5]


def test_adapt_ties_and_max_tokens():
    layer = StringLookup(max_tokens=4)
    # counts: b 3, a 2, c 2, d 2, e 1; ties high to low: d, c, a; max 4 = [UNK] + 3
    layer.adapt(np.array(["a", "b", "c", "d", "e", "b", "b", "a", "c", "d"]))
    assert layer.get_vocabulary() == ["[UNK]", "b", "d", "c"]
    assert layer(["a", "e", "d"]).tolist() == [0, 0, 2]
    ints = IntegerLookup(max_tokens=2, num_oov_indices=0)
    ints.adapt([3, 1, 2, 2, 1])  # 1 and 2 twice: 2 first
    assert ints.get_vocabulary() == [2, 1]
    # pad_to_max_tokens: the encoding's width is max_tokens
    pad = StringLookup(vocabulary=["x"], max_tokens=5, pad_to_max_tokens=True, output_mode="multi_hot")
    assert pad([["x", "q"]]).tolist() == [[1, 1, 0, 0, 0]]
    # adapting on batches counts them all; adapting again starts afresh
    it = IntegerLookup()
    it.adapt(iter([np.array([4, 4]), np.array([5, 5, 5])]))
    assert it.get_vocabulary() == [-1, 5, 4]
    it.adapt(np.array([8]))
    assert it.get_vocabulary() == [-1, 8]


def test_lookup_config_round_trip(tmp_path):
    layer = StringLookup(mask_token="[PAD]", name="words")
    layer.adapt([["x", "y", "y"], ["z", "y", "[PAD]"]])
    path = tmp_path / "lookup.json"
    path.write_text(json.dumps(layer.get_config()))
    back = StringLookup.from_config(json.loads(path.read_text()))
    data = [["y", "[PAD]", "q"], ["x", "z", "z"]]
    assert back.get_vocabulary() == layer.get_vocabulary() == ["[PAD]", "[UNK]", "y", "z", "x"]
    assert back(data).tolist() == layer(data).tolist() == [[2, 0, 1], [4, 3, 3]]
    back.adapt(["q"])  # an adapted layer may be adapted again after the round trip
    assert back.get_vocabulary() == ["[PAD]", "[UNK]", "q"]
    given = IntegerLookup(vocabulary=[3, 4], num_oov_indices=2, output_mode="one_hot")
    cfg = json.loads(json.dumps(given.get_config()))
    again = IntegerLookup.from_config(cfg)
    assert again(np.array([4, 9])).tolist() == given(np.array([4, 9])).tolist()
    with pytest.raises(ValueError, match="Cannot adapt layer"):
        again.adapt([1])


def test_lookup_refusals():
    with pytest.raises(ValueError, match="all inputs should be in vocabulary, found OOV values \\['z'\\]"):
        StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "z"])
    with pytest.raises(ValueError, match="repeated term.*\\['a'\\]"):
        StringLookup(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match="reserved mask token at unexpected location.*index 1"):
        StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ValueError, match="reserved OOV token"):
        StringLookup(vocabulary=["a", "[UNK]"], invert=True)
    with pytest.raises(ValueError, match="vocabulary size is 4; `max_tokens` is 3"):
        StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="Cannot adapt layer 'w'"):
        StringLookup(vocabulary=["a"], name="w").adapt(["b"])
    with pytest.raises(ValueError, match="must be `'int'` when `invert` is true"):
        IntegerLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="num_oov_indices > 1 is not supported"):
        StringLookup(num_oov_indices=2)
    with pytest.raises(ValueError, match="tf_idf"):
        StringLookup(output_mode="tf_idf")
    with pytest.raises(ValueError, match="value 1 is 3, not a string"):
        StringLookup(vocabulary=["a"])(["a", 3])
    with pytest.raises(ValueError, match="must be integers, got <U1 values"):
        IntegerLookup(vocabulary=[1])(["a"])
    with pytest.raises(ValueError, match="maximum supported output rank is 2"):
        StringLookup(vocabulary=["a"], output_mode="one_hot")([["a", "a"]])
    with pytest.raises(ValueError, match="`max_tokens` must be greater than 1"):
        IntegerLookup(max_tokens=1)


def test_category_encoding_eager_keras_examples():
    assert CategoryEncoding(num_tokens=4, output_mode="one_hot")([3, 2, 0, 1]).tolist() == \
        np.eye(4)[[3, 2, 0, 1]].tolist()
    assert CategoryEncoding(num_tokens=4, output_mode="multi_hot")([[0, 1], [0, 0], [1, 2], [3, 1]]).tolist() == \
        [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    w = np.array([[.1, .2], [.1, .1], [.2, .3], [.4, .2]], dtype=np.float32)
    got = CategoryEncoding(num_tokens=4, output_mode="count")([[0, 1], [0, 0], [1, 2], [3, 1]], count_weights=w)
    np.testing.assert_allclose(got, [[.1, .2, 0, 0], [.2, 0, 0, 0], [0, .2, .3, 0], [0, .2, 0, .4]], rtol=1e-6)
    # one_hot squeezes a last axis of 1
    assert CategoryEncoding(3, "one_hot")([[2], [0]]).shape == (2, 3)


def test_category_encoding_model_round_trip(tmp_path):
    ids = np.array([[0, 1, 1], [3, 3, 2]], dtype=np.int32)
    for mode, want in (("multi_hot", [[1, 1, 0, 0], [0, 0, 1, 1]]), ("count", [[1, 2, 0, 0], [0, 0, 1, 2]]),
                       ("one_hot", np.eye(4)[ids].tolist())):
        x = Input(shape=(3,), dtype="int32")
        enc = CategoryEncoding(num_tokens=4, output_mode=mode, name="enc")
        y = enc(x)
        assert y.shape == ((None, 3, 4) if mode == "one_hot" else (None, 4))
        m = Model(x, y)
        assert m.predict(ids, verbose=0).tolist() == want
        assert enc(ids).tolist() == want  # eager: the same numbers
        path = str(tmp_path / ("cat_%s.lf" % mode))
        m.save(path)
        back = load_model(path)
        assert back.predict(ids, verbose=0).tolist() == want
        cfg = back.get_layer("enc").get_config()
        assert cfg["num_tokens"] == 4 and cfg["output_mode"] == mode
    with pytest.raises(Exception, match="CategoryEncoding 'enc' got token id 4 at row 0, position 2"):
        m.predict(np.array([[0, 1, 4]], dtype=np.int32), verbose=0)


def test_category_encoding_refusals():
    with pytest.raises(ValueError, match="num_tokens must be set"):
        CategoryEncoding()
    with pytest.raises(ValueError, match="`num_tokens` must be >= 1"):
        CategoryEncoding(0)
    with pytest.raises(ValueError, match="Unknown arg for output_mode: tf_idf"):
        CategoryEncoding(3, "tf_idf")
    with pytest.raises(ValueError, match="input value 3 at flat position 1 is not an integer in \\[0, 3\\)"):
        CategoryEncoding(3)([0, 3])
    with pytest.raises(ValueError, match="`count_weights` is not used"):
        CategoryEncoding(3)([0, 1], count_weights=[1, 1])
    with pytest.raises(ValueError, match="must be token ids \\(batch, n\\)"):
        CategoryEncoding(3)(Input(shape=(2, 2)))


def test_lookup_in_model_saved_and_loaded(tmp_path):
    """A lookup called on a string / integer Input is kept in the C model
    (lf_model_attach_lookup): fit and predict take the raw values, the model
    file carries the lookup, load_model restores it."""
    from latefuse.layers import Dense, Embedding, Flatten
    words = StringLookup(name="words")
    words.adapt([["red", "green", "green"], ["blue", "blue", "blue"]])
    s = Input(shape=(3,), dtype="string", name="colours")
    ids = words(s)
    assert ids.shape == (None, 3)
    m = Model(s, Dense(2, activation="softmax")(Flatten()(Embedding(words.vocabulary_size(), 4)(ids))))
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    raw = np.array([["red", "blue", "pink"], ["green", "green", "blue"]])
    m.fit(raw, np.array([0, 1]), epochs=2, verbose=0)
    want = m.predict(raw, verbose=0)
    path = str(tmp_path / "words.lf")
    m.save(path)
    with open(path, "rb") as f:
        head = f.read(8 + int.from_bytes(f.read(8), "little"))
    assert b'"lookup:colours.config"' in head and b'"lookup:colours.vocabulary"' in head
    back = load_model(path)
    assert back.predict(raw, verbose=0).tolist() == want.tolist()
    lk = back._tv[0]
    assert isinstance(lk, StringLookup) and lk.get_vocabulary() == ["[UNK]", "blue", "green", "red"]
    assert lk(raw).tolist() == words(raw).tolist() == [[3, 1, 0], [2, 2, 1]]
    # an integer multi_hot lookup: the prediction is the hand-computed dense of its encoding
    nums = IntegerLookup(output_mode="multi_hot")
    nums.adapt(np.array([[7, 7, 9, 4]]))  # 7 twice, then 9 and 4 high to low
    x = Input(shape=(4,), dtype="int64")
    m2 = Model(x, Dense(1)(nums(x)))
    ids2 = np.array([[7, 4, 4, 100], [9, 9, 9, 9]])
    mh = np.array([[1, 1, 0, 1], [0, 0, 1, 0]], dtype=np.float32)  # [-1 (OOV), 7, 9, 4]
    assert nums(ids2).tolist() == mh.tolist()
    w, b = m2.get_weights()
    np.testing.assert_allclose(m2.predict(ids2, verbose=0), mh @ w + b, rtol=1e-6)
    path2 = str(tmp_path / "nums.lf")
    m2.save(path2)
    back2 = load_model(path2)
    assert back2.predict(ids2, verbose=0).tolist() == m2.predict(ids2, verbose=0).tolist()
    assert back2._tv[0].get_vocabulary() == [-1, 7, 9, 4] and back2._tv[0].output_mode == "multi_hot"


def test_lookup_model_refusals():
    with pytest.raises(ValueError, match="StringLookup: call it on a string Input of shape \\(n,\\)"):
        StringLookup(vocabulary=["a"])(Input(shape=(2,), dtype="int64"))
    with pytest.raises(ValueError, match="gives tokens: it cannot feed a model input"):
        IntegerLookup(vocabulary=[1], invert=True)(Input(shape=(2,), dtype="int64"))
    with pytest.raises(ValueError, match="value 1: invalid UTF-8 \\(byte 0xFF at byte 0\\)"):
        StringLookup(vocabulary=["a"])([b"a", b"\xff"])


def test_pickle_and_deepcopy():
    """StringLookup / IntegerLookup pickle and deepcopy as Keras' layers do
    (and as they did before they held a C object: 'ctypes objects
    containing pointers cannot be pickled'): the same vocabulary, settings
    and lookups; an adapted layer stays adaptable"""
    import copy
    import pickle
    s = StringLookup(mask_token="", output_mode="int")
    s.adapt(["b", "a", "b", "c", "c", "c"])
    i = IntegerLookup(vocabulary=[7, 3], num_oov_indices=2, output_mode="multi_hot")
    for lk, x in ((s, ["a", "b", "z", ""]), (i, [[7, 3, 9]])):
        for back in (pickle.loads(pickle.dumps(lk)), copy.deepcopy(lk), copy.copy(lk)):
            assert type(back) is type(lk) and back.get_config() == lk.get_config()
            assert back.get_vocabulary() == lk.get_vocabulary()
            assert np.array_equal(back(x), lk(x))
    back = copy.deepcopy(s)
    back.adapt(["q", "q"])  # adapted, not given: adapt again, as the original could
    assert back.get_vocabulary() == ["", "[UNK]", "q"] and s.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]
