"""
test_keras_utils.py — Keras' data helpers for sequences: pad_sequences
(latefuse.utils and latefuse.preprocessing.sequence, as keras.utils and
keras.preprocessing.sequence) against the examples of its Keras docstring
(keras/src/utils/sequence_utils.py) and hand-made arrays, its errors word for
word; Embedding.compute_mask (keras/src/layers/core/embedding.py).
"""
import numpy as np
import pytest

import latefuse
from latefuse import layers
from latefuse.utils import pad_sequences


def test_pad_sequences_keras_docstring():
    sequence = [[1], [2, 3], [4, 5, 6]]
    got = pad_sequences(sequence)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(sequence, value=-1), [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(sequence, padding="post"), [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(sequence, maxlen=2), [[0, 1], [2, 3], [5, 6]])


def test_pad_sequences_truncating_items_dtype_and_namespaces():
    seqs = [[1, 2, 3, 4], [], [5]]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3, truncating="post", padding="post"),
                                  [[1, 2, 3], [0, 0, 0], [5, 0, 0]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=3), [[2, 3, 4], [0, 0, 0], [0, 0, 5]])
    f = pad_sequences([[0.5, 1.5], [2.5]], dtype="float32", value=-1.0)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f, [[0.5, 1.5], [-1.0, 2.5]])
    # items of a shape: (samples, maxlen) + item shape
    v = pad_sequences([np.ones((1, 2)), np.full((3, 2), 7)], maxlen=2)
    assert v.shape == (2, 2, 2)
    np.testing.assert_array_equal(v[0], [[0, 0], [1, 1]])
    np.testing.assert_array_equal(v[1], [[7, 7], [7, 7]])
    s = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert s.tolist() == [["a", "b"], ["<pad>", "c"]]
    assert pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    # the same function where Keras exports it
    assert latefuse.preprocessing.sequence.pad_sequences is pad_sequences
    assert latefuse.utils.pad_sequences is pad_sequences
    from latefuse.preprocessing.sequence import pad_sequences as p2
    assert p2 is pad_sequences


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match=r'^Padding type "middle" not understood$'):
        pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match=r'^Truncating type "x" not understood$'):
        pad_sequences([[1]], truncating="x")
    with pytest.raises(ValueError, match=r"^`sequences` must be a list of iterables. Found non-iterable: 3$"):
        pad_sequences([[1], 3])
    with pytest.raises(ValueError, match=r"^`sequences` must be iterable.$"):
        pad_sequences(5)
    with pytest.raises(ValueError, match=r"You should set `dtype=object` for variable length strings"):
        pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match=r"^Shape of sample \(3,\) of sequence at position 1 is different "
                                         r"from expected shape \(2,\)$"):
        pad_sequences([np.ones((1, 2)), np.ones((1, 3))])
    with pytest.raises(ValueError, match=r"^pad_sequences: maxlen must be an integer >= 0 or None, got -1$"):
        pad_sequences([[1]], maxlen=-1)


def test_embedding_compute_mask():
    ids = np.array([[3, 0, 0], [0, 5, 1]])
    np.testing.assert_array_equal(layers.Embedding(10, 4, mask_zero=True).compute_mask(ids),
                                  [[True, False, False], [False, True, True]])
    assert layers.Embedding(10, 4).compute_mask(ids) is None
    inp = latefuse.Input(shape=(3,), dtype="int32")
    with pytest.raises(ValueError, match="its mask is carried by the model"):
        layers.Embedding(10, 4, mask_zero=True).compute_mask(inp)
