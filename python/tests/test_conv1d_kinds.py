"""
test_conv1d_kinds.py — Keras 3's DepthwiseConv1D, SeparableConv1D and
Conv1DTranspose in Python: outputs against PyTorch (conv1d with groups=C
and dilation=, conv_transpose1d cropped to Keras' size), Keras' weight
shapes, get_config / from_config, the model file and the .keras archive
(read in the layout Keras 3 writes, written back; predictions bit for
bit), and the errors.
"""
import json
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from latefuse import layers
from latefuse import Input, Model, load_model

from test_keras_file import entry, init, input_entry, call, tensor, keras_archive  # noqa: E402


def _same(n, k, s):
    o = -(-n // s)
    t = max((o - 1) * s + k - n, 0)
    return t // 2, t - t // 2


def _depthwise_torch(x, K, b, s, padding, d):
    """x (B,T,C), Keras' kernel (k,C,M) -> (B,To,C M)"""
    k, C, M = K.shape
    xt = torch.tensor(x).permute(0, 2, 1).double()
    if padding == "same":
        xt = F.pad(xt, _same(x.shape[1], d * (k - 1) + 1, s))
    w = torch.tensor(K).double().reshape(k, C * M).permute(1, 0).unsqueeze(1)
    bt = None if b is None else torch.tensor(b).double()
    return F.conv1d(xt, w, bt, stride=s, dilation=d, groups=C).permute(0, 2, 1).numpy()


def _tconv_torch(x, K, b, s, padding, op):
    """x (B,T,C), Keras' kernel (k,F,C) -> (B,To,F), Keras' size and crop"""
    k = K.shape[0]
    full = F.conv_transpose1d(torch.tensor(x).permute(0, 2, 1).double(), torch.tensor(K).double().permute(2, 1, 0),
                              stride=s)
    if padding == "valid":
        op = max(k, s) - k if op is None else op
        left, right = k - 1, k - 1 + op
    else:
        pad = s + k - 2 if op is None else k + k % 2 - 2 + op
        left = min(pad // 2 + pad % 2, k - 1)
        right = pad - left
    size, crop = (x.shape[1] - 1) * s + left + right - k + 2, k - 1 - left
    full = F.pad(full, (0, max(crop + size - full.shape[2], 0)))
    y = full[:, :, crop:crop + size].permute(0, 2, 1).numpy()
    return y if b is None else y + b


CASES = [  # kind, kwargs, input (T, C)
    ("dw", dict(kernel_size=3, depth_multiplier=2), (8, 3)),
    ("dw", dict(kernel_size=2, strides=2, padding="same", use_bias=False), (7, 2)),
    ("dw", dict(kernel_size=3, dilation_rate=2, padding="same"), (9, 2)),
    ("sep", dict(filters=4, kernel_size=3, depth_multiplier=2, padding="same"), (8, 3)),
    ("sep", dict(filters=3, kernel_size=2, strides=2), (9, 2)),
    ("sep", dict(filters=2, kernel_size=3, dilation_rate=2, use_bias=False), (9, 3)),
    ("tc", dict(filters=3, kernel_size=3, strides=2), (5, 2)),
    ("tc", dict(filters=2, kernel_size=4, strides=2, padding="same"), (5, 3)),
    ("tc", dict(filters=2, kernel_size=3, strides=3, padding="same", output_padding=1, use_bias=False), (4, 2)),
]


def _layer(kind, kw):
    return {"dw": layers.DepthwiseConv1D, "sep": layers.SeparableConv1D, "tc": layers.Conv1DTranspose}[kind](**kw)


def _want(kind, kw, x, ws):
    s, pad, d = kw.get("strides", 1), kw.get("padding", "valid"), kw.get("dilation_rate", 1)
    bias = kw.get("use_bias", True)
    if kind == "dw":
        return _depthwise_torch(x, ws[0], ws[1] if bias else None, s, pad, d)
    if kind == "sep":
        y = _depthwise_torch(x, ws[0], None, s, pad, d) @ ws[1][0].astype(np.float64)
        return y + ws[2] if bias else y
    return _tconv_torch(x, ws[0], ws[1] if bias else None, s, pad, kw.get("output_padding"))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_outputs_against_torch_and_the_file(case, tmp_path):
    """the outputs with Keras-shaped weights against PyTorch; get_config /
    from_config; the model file and a .keras archive predict the same bits"""
    kind, kw, shape = CASES[case]
    x = Input(shape)
    ly = _layer(kind, kw)
    m = Model(x, ly(x))
    rng = np.random.default_rng(case)
    ws = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in ly.get_weights()]
    ly.set_weights(ws)
    xs = rng.normal(size=(3,) + shape).astype(np.float32)
    got = m.predict(xs, verbose=0)
    want = _want(kind, kw, xs.astype(np.float64), [w.astype(np.float64) for w in ws])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    again = type(ly).from_config(ly.get_config())
    assert again.get_config() == dict(ly.get_config(), name=again.name)
    for path in (str(tmp_path / "m.lf"), str(tmp_path / "m.keras")):
        m.save(path)
        assert np.array_equal(load_model(path).predict(xs, verbose=0), got), path


def test_weight_shapes_and_config():
    x = Input((10, 3))
    dw = layers.DepthwiseConv1D(3, depth_multiplier=2)
    sep = layers.SeparableConv1D(5, 2, strides=2)
    tc = layers.Conv1DTranspose(4, 3, strides=2, padding="same")
    y = tc(sep(dw(x)))
    Model(x, y)
    assert [w.shape for w in dw.get_weights()] == [(3, 3, 2), (6,)]
    assert [w.shape for w in sep.get_weights()] == [(2, 6, 1), (1, 6, 5), (5,)]
    assert [w.shape for w in tc.get_weights()] == [(3, 4, 5), (4,)]
    assert y.shape == (None, 8, 4)
    cfg = sep.get_config()
    assert cfg["kernel_size"] == [2] and cfg["strides"] == [2] and cfg["dilation_rate"] == [1]
    assert tc.get_config()["output_padding"] is None


def test_errors():
    with pytest.raises(ValueError, match=r"^DepthwiseConv1D: padding must be 'valid' or 'same', got 'causal'$"):
        layers.DepthwiseConv1D(3, padding="causal")
    with pytest.raises(ValueError, match=r"^`output_padding` must be strictly less than `strides` for all "
                       r"dimensions. At dimension 0, `output_padding` is 2 but `strides` is 2"):
        layers.Conv1DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"^Conv1DTranspose: only dilation_rate=1 is supported, got 2$"):
        layers.Conv1DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(ValueError, match=r"^SeparableConv1D: input of shape \(None, 4, 2\) is shorter than the "
                       r"kernel 3 dilated by 2 with padding 'valid'$"):
        layers.SeparableConv1D(2, 3, dilation_rate=2)(Input((4, 2)))
    with pytest.raises(ValueError, match=r"^DepthwiseConv1D: kernel_size must be a positive integer, got \(3, 3\)$"):
        layers.DepthwiseConv1D((3, 3))
    with pytest.raises(ValueError, match=r"^Conv1DTranspose: output_padding must be None, an integer >= 0 or a "
                       r"tuple of one, got -1$"):
        layers.Conv1DTranspose(2, 3, output_padding=-1)
    with pytest.raises(ValueError, match=r"must be \(batch, steps, features\)"):
        layers.Conv1DTranspose(2, 3)(Input((4, 4, 2)))


def _depthwise_keys(**kw):
    """base_depthwise_conv.py / base_separable_conv.py get_config's keys"""
    return dict({"data_format": "channels_last", "activation": "linear", "use_bias": True,
                 "depthwise_initializer": init("GlorotUniform"), "bias_initializer": init("Zeros"),
                 "depthwise_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
                 "depthwise_constraint": None, "bias_constraint": None}, **kw)


KERAS_CASES = [  # Keras class, its config as Keras 3 writes it, input shape, weight shapes, snake name
    ("DepthwiseConv1D", _depthwise_keys(depth_multiplier=2, kernel_size=[3], strides=[1], padding="valid",
                                        dilation_rate=[2]),
     (8, 3), [(3, 3, 2), (6,)], "depthwise_conv1d"),
    ("SeparableConv1D", _depthwise_keys(filters=4, depth_multiplier=2, kernel_size=[3], strides=[1],
                                        padding="same", dilation_rate=[1], pointwise_initializer=init("GlorotUniform"),
                                        pointwise_regularizer=None, pointwise_constraint=None),
     (7, 3), [(3, 3, 2), (1, 6, 4), (4,)], "separable_conv1d"),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": [3], "strides": [2], "padding": "same", "output_padding": [1],
                         "data_format": "channels_last", "dilation_rate": [1], "activation": "linear",
                         "use_bias": True, "kernel_initializer": init("GlorotUniform"),
                         "bias_initializer": init("Zeros"), "kernel_regularizer": None, "bias_regularizer": None,
                         "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None},
     (5, 3), [(3, 2, 3), (2,)], "conv1d_transpose"),
]


@pytest.mark.parametrize("case", range(len(KERAS_CASES)))
def test_keras_archive_read_and_written_back(case, tmp_path):
    """each layer as Keras 3 writes it (the keys of its get_config, the
    weights at layers/<snake case>/vars/0, 1, ...) predicts as the latefuse
    layer of the same settings with those weights, bit for bit; written
    back, the config keeps Keras' keys and the weights their shapes"""
    pytest.importorskip("h5py")
    import h5py
    import io
    kind, cfg, shape, wshapes, snake = KERAS_CASES[case]
    rng = np.random.default_rng(10 + case)
    ws = [rng.normal(scale=0.4, size=s).astype(np.float32) for s in wshapes]
    ly = [input_entry("x", shape), entry(kind, "lay", cfg, [call(tensor(shape, "x"))])]
    p = keras_archive(str(tmp_path / "k.keras"), ly, ["x", 0, 0], ["lay", 0, 0],
                      {"layers/" + snake: {str(i): w for i, w in enumerate(ws)}}, {})
    m = load_model(p)
    x = Input(shape)
    args = {k: v for k, v in cfg.items() if k in ("filters", "kernel_size", "strides", "padding", "depth_multiplier",
                                                  "dilation_rate", "output_padding")}
    ref = Model(x, getattr(layers, kind)(**args)(x))
    ref.set_weights(ws)
    xs = rng.normal(size=(2,) + shape).astype(np.float32)
    assert np.array_equal(m.predict(xs, verbose=0), ref.predict(xs, verbose=0))
    m.save(str(tmp_path / "back.keras"))
    with zipfile.ZipFile(str(tmp_path / "back.keras")) as z:
        back = json.loads(z.read("config.json"))["config"]["layers"][1]["config"]
        with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
            assert [f["layers/%s/vars/%d" % (snake, i)].shape for i in range(len(ws))] == wshapes
    assert set(cfg) - {"activity_regularizer"} <= set(back), sorted(set(cfg) - set(back))


def test_not_missing_any_more():
    for name in ("DepthwiseConv1D", "SeparableConv1D", "Conv1DTranspose"):
        assert name in layers.__all__ and hasattr(layers, name)
