"""
test_decoder_layers.py — Keras' decoder layers (Conv2DTranspose, UpSampling2D,
ZeroPadding2D, Cropping2D) in Python: outputs against PyTorch through the
public classes (Keras' kernel layout (kh, kw, filters, in) in set_weights),
Keras' output shapes, get_config / from_config, the model file (predictions
bit for bit), Keras' errors, and a small U-Net-like autoencoder that trains.
"""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import latefuse as keras
from latefuse import layers
from latefuse.models import Model, load_model


def _tconv_torch(x, k, b, strides, padding, output_padding):
    """Keras' conv_transpose (TF/JAX padding, keras/src/backend/common/
    backend_utils.py) from PyTorch's full conv_transpose2d, cropped"""
    full = F.conv_transpose2d(torch.tensor(x).permute(0, 3, 1, 2).double(),
                              torch.tensor(k).permute(3, 2, 0, 1).double(), stride=strides)
    out = []
    for a in range(2):
        n, kk, s = x.shape[1 + a], k.shape[a], strides[a]
        op = None if output_padding is None else output_padding[a]
        if padding == "valid":
            left, right = kk - 1, kk - 1 + (max(kk, s) - kk if op is None else op)
        else:
            pad = s + kk - 2 if op is None else kk + kk % 2 - 2 + op
            left = min(pad // 2 + pad % 2, kk - 1)
            right = pad - left
        out.append(((n - 1) * s + left + right - kk + 2, kk - 1 - left))
    (Ho, ph), (Wo, pw) = out
    full = F.pad(full, (0, max(pw + Wo - full.shape[3], 0), 0, max(ph + Ho - full.shape[2], 0)))
    y = full[:, :, ph:ph + Ho, pw:pw + Wo].permute(0, 2, 3, 1).numpy()
    return y + b


@pytest.mark.parametrize("kernel,strides,padding,output_padding", [
    ((3, 3), (2, 2), "same", None), ((4, 2), (2, 2), "same", None), ((3, 2), (1, 2), "valid", None),
    ((3, 3), (2, 3), "valid", (1, 2)), ((3, 4), (2, 2), "same", (1, 0)), ((1, 1), (3, 2), "valid", None)])
def test_conv2d_transpose_against_pytorch(kernel, strides, padding, output_padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4, 3)).astype("float32")
    inp = keras.Input(shape=(3, 4, 3))
    layer = layers.Conv2DTranspose(2, kernel, strides=strides, padding=padding, output_padding=output_padding)
    m = Model(inp, layer(inp))
    k = rng.normal(size=kernel + (2, 3)).astype("float32")
    b = rng.normal(size=(2,)).astype("float32")
    layer.set_weights([k, b])
    want = _tconv_torch(x, k, b, strides, padding, output_padding)
    assert m.output_shape[1:] == want.shape[1:]
    np.testing.assert_allclose(m.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)


def test_resampling_layers_against_pytorch():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 4, 2)).astype("float32")
    inp = keras.Input(shape=(3, 4, 2))
    outs = [layers.UpSampling2D((2, 3))(inp), layers.UpSampling2D(2, interpolation="bilinear")(inp),
            layers.UpSampling2D((3, 1), interpolation="bilinear")(inp),
            layers.ZeroPadding2D(((1, 2), (0, 1)))(inp), layers.ZeroPadding2D(1)(inp),
            layers.Cropping2D(((1, 0), (2, 1)))(inp), layers.Cropping2D(1)(inp)]
    got = Model(inp, outs).predict(x, verbose=0)
    xt = torch.tensor(x).permute(0, 3, 1, 2).double()

    def nhwc(t):
        return t.permute(0, 2, 3, 1).numpy()
    want = [nhwc(torch.nn.Upsample(scale_factor=(2, 3), mode="nearest")(xt)),
            nhwc(torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)(xt)),
            nhwc(torch.nn.Upsample(scale_factor=(3, 1), mode="bilinear", align_corners=False)(xt)),
            nhwc(F.pad(xt, (0, 1, 1, 2))), nhwc(F.pad(xt, (1, 1, 1, 1))), x[:, 1:, 2:-1], x[:, 1:-1, 1:-1]]
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


def _unet(seed=0):
    inp = keras.Input(shape=(8, 8, 1), name="img")
    e = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    d = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(e)        # (4, 4, 8)
    u = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(d)  # (8, 8, 4)
    b = layers.UpSampling2D(2, interpolation="bilinear")(layers.Conv2D(4, 1)(d))      # (8, 8, 4)
    p = layers.Cropping2D(1)(layers.ZeroPadding2D(1)(e))                               # (8, 8, 4)
    x = layers.concatenate([u, b, p])  # U-Net's skips joined on the channels, as Keras: (8, 8, 12)
    out = layers.Conv2D(1, 1, name="out")(x)
    return Model(inp, out)


def test_unet_trains_saves_and_loads(tmp_path):
    m = _unet()
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (32, 8, 8, 1)).astype("float32")
    y = np.sqrt(x)
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    h = m.fit(x, y, batch_size=8, epochs=8, verbose=0)
    loss = h.history["loss"]
    assert loss[-1] < 0.5 * loss[0], loss
    path = os.path.join(str(tmp_path), "unet.lf")
    m.save(path)
    back = load_model(path)
    assert np.array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    kinds = [type(l).__name__ for l in back.layers]
    for k in ("Conv2DTranspose", "UpSampling2D", "ZeroPadding2D", "Cropping2D"):
        assert k in kinds


def test_get_config_round_trip():
    made = [layers.Conv2DTranspose(3, (3, 2), strides=2, padding="same", output_padding=(1, 0), activation="relu",
                                   use_bias=False, name="t"),
            layers.UpSampling2D((2, 3), interpolation="bilinear", name="u"),
            layers.ZeroPadding2D(((1, 2), (3, 4)), name="z"), layers.Cropping2D((1, 2), name="c")]
    for l in made:
        cfg = l.get_config()
        again = type(l).from_config(cfg)
        assert again.get_config() == cfg
    assert made[0].get_config()["output_padding"] == [1, 0]
    assert made[0].get_config()["kernel_size"] == [3, 2] and made[0].get_config()["data_format"] == "channels_last"
    assert made[2].get_config()["padding"] == [[1, 2], [3, 4]]
    assert made[3].get_config()["cropping"] == [[1, 1], [2, 2]]
    assert layers.Conv2DTranspose(1, 3).get_config()["output_padding"] is None
    assert layers.UpSampling2D().get_config()["size"] == [2, 2]  # Keras' defaults
    assert layers.UpSampling2D().get_config()["interpolation"] == "nearest"
    assert layers.ZeroPadding2D().get_config()["padding"] == [[1, 1], [1, 1]]


def test_keras_errors():
    with pytest.raises(ValueError, match=r"`output_padding` must be strictly less than `strides` for all "
                                         r"dimensions. At dimension 1, `output_padding` is 2 but `strides` is 2"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=(1, 2))
    with pytest.raises(ValueError, match="Conv2DTranspose: data_format must be 'channels_last'"):
        layers.Conv2DTranspose(2, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="only dilation_rate=\\(1, 1\\)"):
        layers.Conv2DTranspose(2, 3, dilation_rate=2)
    with pytest.raises(ValueError, match="UpSampling2D: interpolation must be 'nearest' or 'bilinear'"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="UpSampling2D: data_format must be 'channels_last'"):
        layers.UpSampling2D(data_format="channels_first")
    inp = keras.Input(shape=(4, 4, 2))
    with pytest.raises(ValueError, match=r"Values in `cropping` argument should be smaller than the "
                                         r"corresponding spatial dimension of the input. Received: "
                                         r"input_shape=\(None, 4, 4, 2\), cropping=\(\(2, 2\), \(0, 0\)\)"):
        layers.Cropping2D(((2, 2), (0, 0)))(inp)
    with pytest.raises(ValueError, match="ZeroPadding2D: `padding` should be either an int"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="must be \\(batch, height, width, channels\\)"):
        layers.ZeroPadding2D()(keras.Input(shape=(4, 2)))
