"""
test_text.py — latefuse.layers.TextVectorization: Keras' own documentation
example gives Keras' answer (its vocabulary order and reserved ids), Chinese
text split into characters, the dense modes against values computed by
hand (idf = ln(1 + D / (1 + d)), OOV = the mean), character n-grams, the
save/load round trip, and the argument and input errors.
"""
import math

import numpy as np
import pytest

from latefuse import LatefuseError
from latefuse.layers import TextVectorization


def test_keras_docstring_example():
    vec = TextVectorization(max_tokens=5000, output_mode="int", output_sequence_length=4)
    vec.adapt(["foo bar", "bar baz", "baz bada boom"])
    out = vec([["foo qux bar"], ["qux baz"]])
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[4, 1, 3, 0], [1, 2, 0, 0]])
    assert vec.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo", "boom", "bada"]
    assert vec.get_vocabulary(include_special_tokens=False)[:2] == ["baz", "bar"]
    assert vec.vocabulary_size() == 7


def test_int_pads_to_the_longest_without_output_sequence_length():
    vec = TextVectorization()
    vec.adapt(["a b c", "a"])
    out = vec(["c b a", "a", "zz"])
    # vocabulary "", [UNK], a, c, b (c > b among the counts of 1)
    np.testing.assert_array_equal(out, [[3, 4, 2], [2, 0, 0], [1, 0, 0]])


def test_chinese_characters_and_punctuation():
    vec = TextVectorization()
    vec.adapt(["种子包衣，的种子。"])
    assert vec.get_vocabulary() == ["", "[UNK]", "种", "子", "衣", "的", "包"]
    np.testing.assert_array_equal(vec(["包衣！2019年"]), [[6, 4, 1, 1]])


def test_tf_idf_by_hand():
    vec = TextVectorization(output_mode="tf_idf")
    vec.adapt(["a b", "a a c", "b d"])
    assert vec.get_vocabulary() == ["[UNK]", "a", "b", "d", "c"]
    l2, l25 = math.log(2), math.log(2.5)
    np.testing.assert_allclose(vec.idf_weights(), [(l2 + l25) / 2, l2, l2, l25, l25], rtol=1e-6)
    got = vec(["a a e c"])
    assert got.dtype == np.float32 and got.shape == (1, 5)
    np.testing.assert_allclose(got, [[(l2 + l25) / 2, 2 * l2, 0, 0, l25]], rtol=1e-6)
    mh = TextVectorization(output_mode="binary", max_tokens=7, pad_to_max_tokens=True)
    mh.adapt(["a b", "a a c", "b d"])
    np.testing.assert_array_equal(mh(["a a e c"]), [[1, 1, 0, 0, 1, 0, 0]])


def test_char_ngrams_and_word_ngrams():
    vec = TextVectorization(char_ngrams=(1, 2), output_mode="count")
    vec.adapt(["abc ab"])
    assert vec.get_vocabulary() == ["[UNK]", "b", "ab", "a", "c", "bc"]
    np.testing.assert_array_equal(vec(["ABD!"]), [[2, 1, 1, 1, 0, 0]])
    w = TextVectorization(ngrams=(1, 2), standardize=None)
    w.adapt(["a b c"])
    assert w.get_vocabulary() == ["", "[UNK]", "c", "b c", "b", "a b", "a"]
    assert w.get_config()["ngrams"] == (1, 2)


def test_save_load_round_trip(tmp_path):
    vec = TextVectorization(output_mode="tf_idf", char_ngrams=2, max_tokens=30)
    vec.adapt(["南宁青秀山郁金香盛开", "彩色包衣的蔬菜种子", "捷克馆展示的玻璃"])
    path = tmp_path / "vec.safetensors"
    vec.save(path)
    back = TextVectorization.load(path)
    assert back.get_vocabulary() == vec.get_vocabulary()
    assert back.get_config() == {**vec.get_config(), "ngrams": None}
    x = ["青秀山的玻璃种子", "other words"]
    np.testing.assert_array_equal(back(x), vec(x))


def test_errors():
    with pytest.raises(ValueError, match="standardize must be one of"):
        TextVectorization(standardize=str.lower)
    with pytest.raises(ValueError, match="output_sequence_length is only valid in int mode"):
        TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match=r"^Cannot set an empty vocabulary\.$"):
        TextVectorization(vocabulary=[])
    with pytest.raises(ValueError, match=r"^`idf_weights` must be set if output_mode is 'tf_idf'\.$"):
        TextVectorization(output_mode="tf_idf", vocabulary=["a"])
    with pytest.raises(ValueError, match="a single string"):
        TextVectorization().adapt("abc")
    vec = TextVectorization()
    with pytest.raises(LatefuseError, match="not adapted"):
        vec(["a"])
    with pytest.raises(LatefuseError, match=r"text 2, line 1: invalid UTF-8 \(byte 0xFF at byte 3 of the line\)"):
        vec.adapt(["ok", b"ab\xff"])
    with pytest.raises(LatefuseError, match="text 1, line 2: invalid UTF-8"):
        vec.adapt(["a\nb\ud800"])
    with pytest.raises(ValueError, match="text 1 holds a NUL character"):
        vec.adapt(["a\0b"])


def test_vocabulary_given_as_keras():
    """Keras' vocabulary= / idf_weights= (index_lookup.py set_vocabulary):
    the terms' ids follow the reserved entries; tf_idf's reserved weight is
    the mean of those given"""
    vec = TextVectorization(output_sequence_length=4, vocabulary=["the", "cat", "sat"])
    assert vec.get_vocabulary() == ["", "[UNK]", "the", "cat", "sat"]
    assert vec([["The cat sat on"]]).tolist() == [[2, 3, 4, 1]]
    tf = TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"], idf_weights=[0.5, 1.5])
    np.testing.assert_array_equal(tf.idf_weights(), np.float32([1.0, 0.5, 1.5]))
    np.testing.assert_array_equal(tf(["b b z"]), np.float32([[1.0, 0, 3.0]]))
