"""
test_lookup.py — CategoryEncoding (src/layers/preprocess.c) against Keras
3's semantics: the examples of Keras' docstring
(keras/src/layers/preprocessing/category_encoding.py), the layer in a
model saved and loaded, and the refusals' messages.
"""
import numpy as np
import pytest

from latefuse import Model, load_model
from latefuse.layers import CategoryEncoding, Input


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
