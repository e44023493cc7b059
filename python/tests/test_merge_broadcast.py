"""The elementwise merges as Keras 3's (keras/src/layers/merging/base_merge.py):
broadcast shapes against torch's broadcasting (values, one SGD step), Keras'
shape error, save / load / from_config; Keras 3's padding masks; a model file
written before them (tests/compat/merge_masks.lf, main at d6faae0) predicting
its bits, also rebuilt from Python."""
import os

import numpy as np
import pytest
import torch

import latefuse
from latefuse import Model, load_model
from latefuse.layers import (Add, Average, Dense, Embedding, Flatten, GlobalAveragePooling1D, Input, Maximum,
                             Minimum, Multiply, Subtract)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_broadcast_values_against_torch(tmp_path):
    a, b, c, d = Input((4, 3), name="a"), Input((1, 3), name="b"), Input((3,), name="c"), Input((4, 1), name="d")
    outs = [Add()([a, b]), Subtract()([c, a]), Multiply()([d, b, a]), Maximum()([a, c]), Minimum()([d, a]),
            Average()([b, d])]
    assert all(o.shape == (None, 4, 3) for o in outs)
    m = Model([a, b, c, d], outs)
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(5,) + s).astype(np.float32) for s in ((4, 3), (1, 3), (3,), (4, 1))]
    ta, tb, tc, td = (torch.tensor(x) for x in xs)
    want = [ta + tb, tc[:, None, :] - ta, td * tb * ta, torch.maximum(ta, tc[:, None, :]), torch.minimum(td, ta),
            (tb + td) / 2]
    got = m.predict(xs, verbose=0)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-6, atol=1e-6)
    path = os.path.join(tmp_path, "bc.lf")
    m.save(path)
    for p, q in zip(load_model(path).predict(xs, verbose=0), got):
        np.testing.assert_array_equal(p, q)
    c2 = Model.from_config(m.get_config())
    for p, q in zip(c2.predict(xs, verbose=0), got):
        np.testing.assert_array_equal(p, q)


def test_broadcast_gradient_against_torch():
    """the gradient of a broadcast input is summed over its broadcast axes:
    one SGD step of Dense layers on both sides of Multiply((4, 3), (3,))"""
    x, u = Input((4, 2), name="x"), Input((5,), name="u")
    h = Multiply()([Dense(3, name="dx")(x), Dense(3, name="du")(u)])
    out = Dense(2, name="o")(Flatten()(h))
    m = Model([x, u], out, seed=3)
    m.compile(optimizer=latefuse.optimizers.SGD(learning_rate=0.1), loss="mse")
    rng = np.random.default_rng(1)
    xv, uv = rng.normal(size=(6, 4, 2)).astype(np.float32), rng.normal(size=(6, 5)).astype(np.float32)
    y = rng.normal(size=(6, 2)).astype(np.float32)
    w = [torch.tensor(t.astype(np.float64), requires_grad=True) for t in m.get_weights()]
    kx, bx, ku, bu, ko, bo = w
    hx = torch.tensor(xv, dtype=torch.float64) @ kx + bx
    hu = torch.tensor(uv, dtype=torch.float64) @ ku + bu
    p = (hx * hu[:, None, :]).reshape(6, -1) @ ko + bo
    ((p - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    m.train_on_batch([xv, uv], y)
    for k, (new, t) in enumerate(zip(m.get_weights(), w)):
        np.testing.assert_allclose(new, (t - 0.1 * t.grad).detach().numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg="weight %d" % k)


def test_shape_error():
    with pytest.raises(ValueError, match=r"Maximum: Inputs have incompatible shapes. Received shapes \(2, 2, 3\) "
                                         r"and \(3, 2\) \(at input 1, 'odd'\)"):
        Maximum()([Input((2, 2, 3)), Input((3, 2), name="odd")])
    assert Add()([Input((2, 2, 3)), Input((2, 3))]).shape == (None, 2, 2, 3)


def test_keras3_masks_by_hand():
    """Add of a masked Embedding and an unmasked input carries no mask (the
    pooling averages every step); Multiply reads the masked steps as 1"""
    ids, x = Input((4,), dtype="int32"), Input((4, 2))
    e = Embedding(5, 2, mask_zero=True, name="emb")(ids)
    m = Model([ids, x], [GlobalAveragePooling1D()(Add()([e, x])), GlobalAveragePooling1D()(Multiply()([e, x]))])
    table = np.arange(10, dtype=np.float32).reshape(5, 2) / 10
    m.get_layer("emb").set_weights([table])
    iv = np.array([[1, 2, 0, 0]], np.float32)
    xv = np.array([[[1, 2], [3, 4], [5, 6], [7, 8]]], np.float32)
    s, p = m.predict([iv, xv], verbose=0)
    ev = table[iv[0].astype(int)]
    np.testing.assert_allclose(s[0], (ev + xv[0]).mean(0), rtol=1e-6)
    ev1 = np.where(iv[0, :, None] == 0, 1.0, ev)
    np.testing.assert_allclose(p[0], (ev1 * xv[0]).mean(0), rtol=1e-6)


def test_old_file_keeps_its_rule(tmp_path):
    """main's file (d6faae0): the bits it predicted, loaded, saved again,
    and rebuilt from its Python layers (Model on its tensors)"""
    ids = np.array([[1, 2, 0, 0], [3, 0, 4, 5], [0, 0, 0, 0]], np.float32)
    xv = np.array([0.5, -1, 2, 0.25, -0.75, 1.5, 1, -2, 0.1, 0.2, -0.3, 0.4, 1, 1, -1, 0.5, 2, -2, 0.3, 0.7, -0.2,
                   0.9, 1.1, -0.6], np.float32).reshape(3, 4, 2)
    then = np.array([float.fromhex("-0x1.76d684p-1"), float.fromhex("-0x1.804ac2p-2"), 0.0], np.float32)
    m = load_model(os.path.join(ROOT, "tests", "compat", "merge_masks.lf"))
    np.testing.assert_array_equal(m.predict([ids, xv], verbose=0)[:, 0], then)
    path = os.path.join(tmp_path, "again.lf")
    m.save(path)
    np.testing.assert_array_equal(load_model(path).predict([ids, xv], verbose=0)[:, 0], then)
    r = Model(m.inputs, m.outputs)
    np.testing.assert_array_equal(r.predict([ids, xv], verbose=0)[:, 0], then)
    c = Model.from_config(m.get_config())
    c.set_weights(m.get_weights())
    np.testing.assert_array_equal(c.predict([ids, xv], verbose=0)[:, 0], then)
