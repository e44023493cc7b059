"""
test_merge_axes.py — Concatenate along Keras' axis on (H, W, C) maps and
(T, D) sequences (keras/src/layers/merging/concatenate.py): shapes,
predictions and one SGD step against PyTorch's torch.cat, the model file
round trip, get_config, and Keras' shape error.
"""
import os

import numpy as np
import pytest

import latefuse
from latefuse import Model
from latefuse.layers import Concatenate, Conv2D, Dense, Dot, Flatten, Input

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs PyTorch (apt-get install python3-torch)")

CASES = [(-1, (3, 2, 2), (3, 2, 3)), (1, (2, 3, 2), (1, 3, 2)), (2, (2, 1, 2), (2, 3, 2)),
         (-3, (1, 2, 2), (3, 2, 2))]


def cat_model(axis, sa, sb):
    a, b = Input(sa, name="a"), Input(sb, name="b")
    ca = Conv2D(sa[2], 1, activation="tanh", name="ca")(a)
    cb = Conv2D(sb[2], 1, name="cb")(b)
    c = Concatenate(axis=axis, name="cat")([ca, cb])
    return Model([a, b], Dense(2, name="o")(Flatten()(c)), seed=3), c


@pytest.mark.parametrize("axis,sa,sb", CASES)
def test_shape(axis, sa, sb):
    _, c = cat_model(axis, sa, sb)
    ax = axis - 1 if axis > 0 else 3 + axis
    want = list(sa)
    want[ax] += sb[ax]
    assert c.sample_shape == tuple(want)


@needs_torch
@pytest.mark.parametrize("axis,sa,sb", CASES)
def test_against_torch_cat(axis, sa, sb, tmp_path):
    m, _ = cat_model(axis, sa, sb)
    m.compile(optimizer=latefuse.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(7)
    xa = rng.uniform(-1, 1, (4,) + sa).astype(np.float32)
    xb = rng.uniform(-1, 1, (4,) + sb).astype(np.float32)
    y = rng.uniform(-1, 1, (4, 2)).astype(np.float32)
    w = [torch.tensor(np.asarray(v, np.float64), requires_grad=True) for v in m.get_weights()]
    ka, ba, kb, bb, ko, bo = w

    def fwd(xa, xb):
        ha = torch.tanh(torch.einsum("nhwc,cf->nhwf", torch.tensor(xa, dtype=torch.float64), ka[0, 0]) + ba)
        hb = torch.einsum("nhwc,cf->nhwf", torch.tensor(xb, dtype=torch.float64), kb[0, 0]) + bb
        return torch.cat([ha, hb], dim=axis).reshape(len(xa), -1) @ ko + bo

    p = fwd(xa, xb)
    np.testing.assert_allclose(m.predict([xa, xb], verbose=0), p.detach().numpy(), rtol=1e-5, atol=1e-6)
    ((p - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    m.train_on_batch([xa, xb], y)
    for got, t in zip(m.get_weights(), w):
        np.testing.assert_allclose(got, (t - 0.1 * t.grad).detach().numpy(), rtol=1e-5, atol=1e-6)
    path = os.path.join(tmp_path, "cat.lfm")
    m.save(path)
    l = latefuse.load_model(path)
    np.testing.assert_array_equal(l.predict([xa, xb], verbose=0), m.predict([xa, xb], verbose=0))
    assert l.get_layer("cat").axis == axis


def test_sequences_on_the_steps():
    a, b = Input((3, 2)), Input((2, 2))
    c = Concatenate(axis=1)([a, b])
    m = Model([a, b], c)
    xa = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    xb = -np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    np.testing.assert_array_equal(m.predict([xa, xb], verbose=0), np.concatenate([xa, xb], 1))
    assert c.sample_shape == (5, 2)


def test_config_and_errors():
    cat = Concatenate(axis=-2)
    assert cat.get_config()["axis"] == -2
    assert Concatenate.from_config(cat.get_config()).axis == -2
    with pytest.raises(ValueError, match=r"^A `Concatenate` layer requires inputs with matching shapes except "
                       r"for the concatenation axis\. Received: input_shape=\[\(None, 3, 2\), \(None, 2, 3\)\]$"):
        Concatenate(axis=1)([Input((3, 2)), Input((2, 3))])
    with pytest.raises(ValueError, match=r"^Concatenate: axis 0 is not an axis of inputs of shape \(None, 3, 2\): "
                       r"use 1\.\.2 or -2\.\.-1 \(0 is the batch axis\)$"):
        Concatenate(axis=0)([Input((3, 2)), Input((3, 2))])
    # the founding question's (rows, features) concatenation is as it was
    a, b = Input((3,)), Input((4,))
    assert Concatenate()([a, b]).sample_shape == (7,)


DOT_CASES = [((3, 4), (2, 4), 2), ((3, 4), (2, 4), -1), ((3, 4), (3, 2), 1), ((4,), (3, 4), (1, 2)),
             ((2, 2, 3), (3,), (-1, 1)), ((3, 4), (4, 2), (-1, 1)), ((5,), (5,), 1),
             ((2, 3, 2), (2, 3), (2, 2)), ((3, 2), (2, 3, 2), (1, -2))]


@needs_torch
@pytest.mark.parametrize("sa,sb,axes", DOT_CASES)
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_against_torch(sa, sb, axes, normalize, tmp_path):
    """Keras' batch_dot: the axes' sizes summed, the other positions of the
    first then of the second (keras/src/layers/merging/dot.py)"""
    a, b = Input(sa, name="a"), Input(sb, name="b")
    d = Dot(axes=axes, normalize=normalize, name="dot")([Dense(sa[-1], activation="tanh", name="da")(a),
                                                        Dense(sb[-1], name="db")(b)])
    m = Model([a, b], Dense(2, name="o")(Flatten()(d)), seed=4)
    m.compile(optimizer=latefuse.optimizers.SGD(0.1), loss="mse")
    rng = np.random.default_rng(9)
    xa = rng.uniform(-1, 1, (3,) + sa).astype(np.float32)
    xb = rng.uniform(-1, 1, (3,) + sb).astype(np.float32)
    y = rng.uniform(-1, 1, (3, 2)).astype(np.float32)
    w = [torch.tensor(np.asarray(v, np.float64), requires_grad=True) for v in m.get_weights()]
    ka, ba, kb, bb, ko, bo = w
    ax = list(axes) if isinstance(axes, tuple) else [axes, axes]
    ax = [q % (len(s) + 1) for q, s in zip(ax, (sa, sb))]
    ha = torch.tanh(torch.tensor(xa, dtype=torch.float64) @ ka + ba)
    hb = torch.tensor(xb, dtype=torch.float64) @ kb + bb
    if normalize:
        ha = ha / torch.sqrt(torch.clamp((ha * ha).sum(ax[0], keepdim=True), min=1e-12))
        hb = hb / torch.sqrt(torch.clamp((hb * hb).sum(ax[1], keepdim=True), min=1e-12))
    dd = torch.tensordot(ha, hb, dims=0)  # (3, *sa, 3, *sb): keep the batch diagonal, sum the axes
    dd = torch.diagonal(dd, dim1=0, dim2=len(sa) + 1)  # (*sa, *sb, 3)
    dd = torch.diagonal(dd, dim1=ax[0] - 1, dim2=len(sa) + ax[1] - 1).sum(-1)  # (*sa', *sb', 3)
    dd = dd.permute(dd.dim() - 1, *range(dd.dim() - 1)).reshape(3, -1)
    assert d.dim == dd.shape[1]
    p = dd @ ko + bo
    np.testing.assert_allclose(m.predict([xa, xb], verbose=0), p.detach().numpy(), rtol=1e-5, atol=1e-5)
    ((p - torch.tensor(y, dtype=torch.float64)) ** 2).mean().backward()
    m.train_on_batch([xa, xb], y)
    for got, t in zip(m.get_weights(), w):
        np.testing.assert_allclose(got, (t - 0.1 * t.grad).detach().numpy(), rtol=1e-4, atol=1e-5)
    path = os.path.join(tmp_path, "dot.lfm")
    m.save(path)
    np.testing.assert_array_equal(latefuse.load_model(path).predict([xa, xb], verbose=0),
                                  m.predict([xa, xb], verbose=0))


def test_dot_errors():
    with pytest.raises(TypeError, match=r"^Invalid type for argument `axes`: it should be a list or an int\. "
                       r"Received: axes='x'$"):
        Dot(axes="x")
    with pytest.raises(ValueError, match=r"^Invalid format for argument `axes`: it should contain two elements\. "
                       r"Received: axes=\[1, 2, 3\]$"):
        Dot(axes=[1, 2, 3])
    assert Dot(axes=(2, 2))([Input((3, 4)), Input((5, 4))]).shape == (None, 3, 5)
    with pytest.raises(ValueError, match=r"^Dot: axes \[0, 1\] do not fit"):
        Dot(axes=[0, 1])([Input((3, 4)), Input((5, 4))])
