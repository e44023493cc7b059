"""
test_separable_layers.py — Keras 3's DepthwiseConv2D, SeparableConv2D,
dilation_rate on Conv1D / Conv2D, Conv1D(padding='causal') and Masking in
Python: outputs against PyTorch (conv2d with dilation= and groups=C,
F.pad for 'causal'), Keras' weight shapes in set_weights, summary counts,
get_config / from_config, the model file (predictions bit for bit), the
mask reaching an LSTM and a pooling, and Keras' errors.
"""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import latefuse as keras
from latefuse import layers
from latefuse.models import Model, load_model


def _same(n, k, s):
    o = -(-n // s)
    t = max((o - 1) * s + k - n, 0)
    return t // 2, t - t // 2


def _conv2d_torch(x, w, b, strides, padding, dilation, groups=1):
    """x (B,H,W,C), w torch (O, C/groups, kh, kw) -> (B,Ho,Wo,O); 'same' over the dilated window"""
    xt = torch.tensor(x).permute(0, 3, 1, 2).double()
    if padding == "same":
        (pt, pb), (pl, pr) = [_same(x.shape[1 + a], dilation[a] * (w.shape[2 + a] - 1) + 1, strides[a])
                              for a in range(2)]
        xt = F.pad(xt, (pl, pr, pt, pb))
    y = F.conv2d(xt, w.double(), None if b is None else torch.tensor(b).double(), stride=strides,
                 dilation=dilation, groups=groups)
    return y.permute(0, 2, 3, 1).numpy()


def _depthwise_torch(x, k, b, strides, padding, dilation):
    kh, kw, C, M = k.shape
    w = torch.tensor(k).reshape(kh, kw, C * M).permute(2, 0, 1).unsqueeze(1)
    return _conv2d_torch(x, w, b, strides, padding, dilation, groups=C)


@pytest.mark.parametrize("kernel,strides,padding,M,dilation", [
    ((3, 3), (1, 1), "valid", 1, (1, 1)), ((3, 2), (1, 1), "same", 2, (1, 2)), ((2, 2), (2, 3), "same", 1, (1, 1)),
    ((3, 3), (1, 1), "valid", 3, (2, 2))])
def test_depthwise_and_separable_against_pytorch(kernel, strides, padding, M, dilation):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 8, 3)).astype("float32")
    inp = keras.Input(shape=(7, 8, 3))
    dw = layers.DepthwiseConv2D(kernel, strides=strides, padding=padding, depth_multiplier=M, dilation_rate=dilation)
    sep = layers.SeparableConv2D(4, kernel, strides=strides, padding=padding, depth_multiplier=M,
                                 dilation_rate=dilation)
    m = Model(inp, [dw(inp), sep(inp)])
    k = rng.normal(size=kernel + (3, M)).astype("float32")
    b = rng.normal(size=(3 * M,)).astype("float32")
    dw.set_weights([k, b])
    kd = rng.normal(size=kernel + (3, M)).astype("float32")
    kp = rng.normal(size=(1, 1, 3 * M, 4)).astype("float32")
    bs = rng.normal(size=(4,)).astype("float32")
    sep.set_weights([kd, kp, bs])
    assert [w.shape for w in sep.get_weights()] == [kernel + (3, M), (1, 1, 3 * M, 4), (4,)]
    got = m.predict(x, verbose=0)
    want_dw = _depthwise_torch(x, k, b, strides, padding, dilation)
    want_sep = _depthwise_torch(x, kd, None, strides, padding, dilation) @ kp[0, 0].astype("float64") + bs
    np.testing.assert_allclose(got[0], want_dw, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], want_sep, rtol=1e-5, atol=1e-5)


def test_dilated_and_causal_convolutions_against_pytorch():
    rng = np.random.default_rng(2)
    img = rng.normal(size=(2, 9, 8, 16)).astype("float32")
    seq = rng.normal(size=(2, 9, 3)).astype("float32")
    ii, si = keras.Input(shape=(9, 8, 16)), keras.Input(shape=(9, 3))
    c2 = layers.Conv2D(16, 3, padding="same", dilation_rate=2)  # Winograd's shape when undilated
    c1 = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    c1s = layers.Conv1D(2, 2, strides=2, padding="causal")
    m = Model([ii, si], [c2(ii), c1(si), c1s(si)])
    k2, b2 = rng.normal(size=(3, 3, 16, 16)).astype("float32"), rng.normal(size=(16,)).astype("float32")
    k1, b1 = rng.normal(size=(3, 3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    k1s, b1s = rng.normal(size=(2, 3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")
    c2.set_weights([k2, b2]), c1.set_weights([k1, b1]), c1s.set_weights([k1s, b1s])
    got = m.predict([img, seq], verbose=0)
    np.testing.assert_allclose(got[0], _conv2d_torch(img, torch.tensor(k2).permute(3, 2, 0, 1), b2, (1, 1), "same",
                                                     (2, 2)), rtol=1e-4, atol=1e-4)

    def causal(x, k, b, s, d):
        xt = F.pad(torch.tensor(x).permute(0, 2, 1).double(), (d * (k.shape[0] - 1), 0))
        return (F.conv1d(xt, torch.tensor(k).permute(2, 1, 0).double(), torch.tensor(b).double(), stride=s,
                         dilation=d).permute(0, 2, 1).numpy())
    np.testing.assert_allclose(got[1], causal(seq, k1, b1, 1, 2), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[2], causal(seq, k1s, b1s, 2, 1), rtol=1e-5, atol=1e-5)
    assert got[2].shape == (2, 5, 2)  # ceil(9 / 2)


def test_masking_reaches_the_lstm_and_the_pooling():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0  # trailing padding
    x[1, :] = 0.0  # all padding
    x[2, 1] = x[2, 4] = 0.0
    x[2, 3, 0] = 0.0  # one feature only: kept
    inp = keras.Input(shape=(5, 2))
    mk = layers.Masking()(inp)
    lstm = layers.LSTM(3)
    m = Model(inp, [mk, layers.GlobalAveragePooling1D()(mk), lstm(mk)])
    got = m.predict(x, verbose=0)
    keep = np.any(x != 0.0, axis=-1)
    np.testing.assert_array_equal(got[0], np.where(keep[..., None], x, 0.0))
    want_avg = np.array([x[r][keep[r]].mean(axis=0) if keep[r].any() else np.zeros(2) for r in range(3)])
    np.testing.assert_allclose(got[1], want_avg, rtol=1e-6, atol=1e-6)
    # the LSTM skips masked steps: row 0 as its first 3 steps alone, row 1 the zero state
    ref_in = keras.Input(shape=(3, 2))
    ref_lstm = layers.LSTM(3)
    ref = Model(ref_in, ref_lstm(ref_in))
    ref_lstm.set_weights(lstm.get_weights())
    np.testing.assert_allclose(got[2][0], ref.predict(x[:1, :3], verbose=0)[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(got[2][1], np.zeros(3, dtype="float32"))
    np.testing.assert_allclose(got[2][2], ref.predict(x[2:, [0, 2, 3]], verbose=0)[0], rtol=1e-6, atol=1e-6)


def test_summary_config_and_file(tmp_path):
    inp = keras.Input(shape=(9, 8, 3))
    h = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu", name="dw")(inp)
    h = layers.SeparableConv2D(8, 3, strides=2, activation="relu", name="sep")(h)
    h = layers.Conv2D(4, 2, dilation_rate=(2, 1), name="dil")(h)
    seq = keras.Input(shape=(7, 2))
    s = layers.Masking(mask_value=-1.0, name="masking")(seq)
    s = layers.Conv1D(3, 3, padding="causal", dilation_rate=2, name="causal")(s)
    out = layers.Dense(3, activation="softmax")(layers.Concatenate()(
        [layers.GlobalAveragePooling2D()(h), layers.Flatten()(s)]))
    m = Model([inp, seq], out)
    lines = []
    m.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "DepthwiseConv2D" in text and "SeparableConv2D" in text and "Masking" in text
    assert m.get_layer("dw").count_params() == 3 * 3 * 3 * 2 + 6  # Keras' count
    assert m.get_layer("sep").count_params() == 3 * 3 * 6 + 6 * 8 + 8
    for name in ("dw", "sep", "dil", "masking", "causal"):
        layer = m.get_layer(name)
        cfg = layer.get_config()
        again = type(layer).from_config(cfg)
        assert again.get_config() == cfg
    assert m.get_layer("sep").get_config()["depth_multiplier"] == 1
    assert m.get_layer("causal").get_config()["padding"] == "causal"
    assert m.get_layer("masking").get_config()["mask_value"] == -1.0
    rng = np.random.default_rng(4)
    xs = [rng.normal(size=(6, 9, 8, 3)).astype("float32"), rng.normal(size=(6, 7, 2)).astype("float32")]
    xs[1][:, 5:] = -1.0
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(xs, np.arange(6) % 3, epochs=1, batch_size=3, verbose=0)
    path = os.path.join(str(tmp_path), "sep.lf")
    m.save(path)
    back = load_model(path)
    np.testing.assert_array_equal(back.predict(xs, verbose=0), m.predict(xs, verbose=0))
    assert back.get_layer("causal").dilation_rate == 2 and back.get_layer("dil").dilation_rate == (2, 1)


def test_keras_errors():
    with pytest.raises(ValueError, match=r"`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                                         r"Received: strides=\(2, 2\) and dilation_rate=\(2, 2\)"):
        layers.Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="Conv1D: `strides > 1` not supported"):
        layers.Conv1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        layers.Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="depth_multiplier must be a positive integer"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="depthwise_regularizer and pointwise_regularizer must be the same"):
        layers.SeparableConv2D(2, 3, depthwise_regularizer=keras.regularizers.l2(0.1))
    with pytest.raises(ValueError, match="mask_value must be a finite number"):
        layers.Masking(float("nan"))
    with pytest.raises(ValueError, match="SeparableConv1D: depthwise_regularizer and pointwise_regularizer must be "
                       "the same"):
        layers.SeparableConv1D(2, 3, pointwise_regularizer=keras.regularizers.l2(0.1))


def test_numpy_integers_taken_and_other_types_refused_by_name(tmp_path):
    """sizes computed with numpy (np.int64) are taken as Keras' int() check
    takes them (keras/src/utils/argument_validation.py standardize_tuple)
    and kept as Python numbers, so to_json and .keras files can write them;
    a float or a non-iterable is a ValueError naming the argument, not a
    TypeError from tuple()"""
    import json
    i64, f32 = np.int64, np.float32
    x = layers.Input((5, 4, 2))
    h = layers.Conv2D(i64(3), (i64(3), 3), padding="same")(x)
    h = layers.UpSampling2D(i64(2))(h)
    h = layers.Conv2DTranspose(i64(2), i64(2), strides=(i64(2), 2), output_padding=i64(1))(h)
    h = layers.DepthwiseConv2D(i64(3), depth_multiplier=i64(2))(h)
    h = layers.Concatenate(axis=i64(-1))([h, h])
    s = layers.Input((6, 3))
    r = layers.Conv1D(i64(2), i64(3), padding="causal", dilation_rate=i64(2))(layers.Masking(f32(0.5))(s))
    m = Model([x, s], [h, layers.GlobalAveragePooling1D()(r)])
    assert m.outputs[0].shape == (None, 19, 15, 8)  # (5, 4) -> (10, 8) -> (21, 17) -> (19, 15), 2 x 2 x 2 channels
    cfg = json.loads(m.to_json())  # numpy numbers in a config would not be JSON
    kinds = {ly["class_name"]: ly["config"] for ly in cfg["config"]["layers"]}
    assert kinds["Masking"]["mask_value"] == 0.5 and kinds["Concatenate"]["axis"] == -1
    assert kinds["UpSampling2D"]["size"] == [2, 2] and kinds["Conv2DTranspose"]["output_padding"] == [1, 1]
    m.save(str(tmp_path / "m.keras"))
    xs = [np.ones((1, 5, 4, 2), np.float32), np.ones((1, 6, 3), np.float32)]
    for a, b in zip(m.predict(xs, verbose=0), load_model(str(tmp_path / "m.keras")).predict(xs, verbose=0)):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"^UpSampling2D: size must be a positive integer or a pair of them, got 2.0$"):
        layers.UpSampling2D(2.0)
    with pytest.raises(ValueError, match=r"^Conv2DTranspose: output_padding must be None, an integer >= 0 or a pair "
                                         r"of them, got 1.5$"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=1.5)
    with pytest.raises(ValueError, match=r"^Conv2D: kernel_size must be a positive integer or a pair of them, got "
                                         r"\(3, True\)$"):
        layers.Conv2D(2, (3, True))
    with pytest.raises(ValueError, match=r"^Conv2D: filters must be a positive integer, got 2.0$"):
        layers.Conv2D(2.0, 3)
