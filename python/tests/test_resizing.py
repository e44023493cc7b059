"""
test_resizing.py — Keras 3's Resizing and CenterCrop
(keras/src/layers/preprocessing/image_preprocessing/resizing.py,
center_crop.py) in Python: eager values against a numpy half-pixel resize
written here and against PyTorch's F.interpolate (bilinear, align_corners
False; nearest-exact), pad_to_aspect_ratio against Keras' numpy padding
then both resizes, CenterCrop's offsets and its smart_resize, a model
with Resizing in front trained by fit, the .lf and .keras files (predictions
bit for bit, Keras' config keys), the errors word for word.
"""
import json
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import latefuse as keras
from latefuse import layers
from latefuse.models import Model, load_model


def _axis(n, m, nearest):
    """per output pixel of an axis of n pixels resized to m: (i0, i1, w)"""
    scale = np.float32(n) / np.float32(m)
    out = []
    for o in range(m):
        if nearest:
            i = min(int(np.floor((np.float32(o) + np.float32(0.5)) * scale)), n - 1)
            out.append((i, i, 0.0))
            continue
        s = max(float(scale * (np.float32(o) + np.float32(0.5)) - np.float32(0.5)), 0.0)
        i = min(int(s), n - 1)
        out.append((i, min(i + 1, n - 1), s - i))
    return out


def _resize(x, h, w, nearest=False):
    """numpy: x (B, H, W, C) -> (B, h, w, C), the half-pixel resize"""
    B, H, W, C = x.shape
    y = np.zeros((B, h, w, C))
    for oy, (y0, y1, ly) in enumerate(_axis(H, h, nearest)):
        for ox, (x0, x1, lx) in enumerate(_axis(W, w, nearest)):
            y[:, oy, ox] = ((1 - ly) * ((1 - lx) * x[:, y0, x0] + lx * x[:, y0, x1]) +
                            ly * ((1 - lx) * x[:, y1, x0] + lx * x[:, y1, x1]))
    return y


def _aspect(x, h, w):
    """Keras' crop_to_aspect_ratio / smart_resize window"""
    H, W = x.shape[1], x.shape[2]
    ch = max(min(H, int(float(W * h) / w)), 1)
    cw = max(min(W, int(float(H * w) / h)), 1)
    t, l = int(float(H - ch) / 2), int(float(W - cw) / 2)
    return x[:, t:t + ch, l:l + cw]


def _pad(x, h, w, fill):
    """Keras' pad_to_aspect_ratio (keras/src/backend/numpy/image.py resize):
    fill rows above and below, else fill columns left and right, evenly"""
    B, H, W, C = x.shape
    ph, pw = max(H, int(float(W * h) / w)), max(W, int(float(H * w) / h))
    hs, ws = int(float(ph - H) / 2), int(float(pw - W) / 2)
    if hs > 0:
        f = np.full((B, hs, W, C), fill, x.dtype)
        return np.concatenate([f, x, f], axis=1)
    if ws > 0:
        f = np.full((B, H, ws, C), fill, x.dtype)
        return np.concatenate([f, x, f], axis=2)
    return x


def _torch(x, h, w, mode):
    kw = {"align_corners": False, "antialias": False} if mode == "bilinear" else {}
    t = torch.tensor(x).permute(0, 3, 1, 2)
    return F.interpolate(t, size=(h, w), mode=mode, **kw).permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("H,W,h,w", [(2, 2, 4, 4), (4, 4, 2, 2), (5, 7, 8, 9), (5, 7, 3, 4), (6, 3, 4, 5)])
def test_eager_values(H, W, h, w):
    x = np.random.default_rng(H * 10 + W).normal(size=(2, H, W, 3)).astype("float32")
    for interp, mode in (("bilinear", "bilinear"), ("nearest", "nearest-exact")):
        y = layers.Resizing(h, w, interpolation=interp)(x)
        assert y.shape == (2, h, w, 3)
        np.testing.assert_allclose(y, _resize(x, h, w, interp == "nearest"), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y, _torch(x, h, w, mode), rtol=1e-6, atol=1e-6)
        y = layers.Resizing(h, w, interpolation=interp, crop_to_aspect_ratio=True)(x)
        np.testing.assert_allclose(y, _resize(_aspect(x, h, w), h, w, interp == "nearest"), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("H,W,h,w", [(2, 4, 4, 4), (4, 2, 2, 2), (5, 7, 8, 9), (3, 9, 4, 4), (9, 4, 3, 5),
                                     (3, 4, 4, 4)])
def test_pad_to_aspect_ratio_values(H, W, h, w):
    x = np.random.default_rng(H * 10 + W).normal(size=(2, H, W, 3)).astype("float32")
    for interp, mode in (("bilinear", "bilinear"), ("nearest", "nearest-exact")):
        y = layers.Resizing(h, w, interpolation=interp, pad_to_aspect_ratio=True, fill_value=-2.5)(x)
        padded = _pad(x, h, w, -2.5)
        assert y.shape == (2, h, w, 3)
        np.testing.assert_allclose(y, _resize(padded, h, w, interp == "nearest"), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(y, _torch(padded, h, w, mode), rtol=1e-6, atol=1e-6)


def test_center_crop_values():
    x = np.arange(2 * 5 * 6 * 2, dtype="float32").reshape(2, 5, 6, 2)
    # differences 3 and 3: Keras' (H - h) // 2 = 1, the odd pixel after
    np.testing.assert_array_equal(layers.CenterCrop(2, 3)(x), x[:, 1:3, 1:4])
    np.testing.assert_array_equal(layers.CenterCrop(5, 6)(x), x)
    # smaller than the target on an axis: smart_resize (window, bilinear)
    for h, w in ((7, 7), (4, 8), (2, 9)):
        y = layers.CenterCrop(h, w)(x)
        assert y.shape == (2, h, w, 2)
        np.testing.assert_allclose(y, _resize(_aspect(x, h, w), h, w), rtol=1e-6, atol=1e-5)


def _model():
    img = keras.Input(shape=(9, 11, 3), name="img")
    a = layers.Resizing(6, 6, name="rs")(img)
    a = layers.Rescaling(1 / 255, name="scale")(a)
    a = layers.Conv2D(4, 3, activation="relu", name="conv")(a)
    b = layers.CenterCrop(5, 4, name="cc")(img)
    c = layers.Resizing(4, 8, interpolation="nearest", crop_to_aspect_ratio=True, name="rs_n")(img)
    d = layers.Resizing(6, 3, pad_to_aspect_ratio=True, fill_value=128.0, name="rs_pad")(img)
    cat = layers.Concatenate()([layers.Flatten()(a), layers.Flatten()(layers.Rescaling(1 / 255)(b)),
                                layers.Flatten()(layers.Rescaling(1 / 255)(c)),
                                layers.Flatten()(layers.Rescaling(1 / 255)(d))])
    return Model(img, layers.Dense(3, activation="softmax", name="out")(cat))


def _images(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, size=(n, 9, 11, 3)).astype("float32"), rng.integers(0, 3, size=n)


def test_fit_and_files(tmp_path):
    m = _model()
    assert m.get_layer("rs").output.shape[1:] == (6, 6, 3) and m.get_layer("cc").output.shape[1:] == (5, 4, 3)
    assert m.get_layer("rs").count_params() == 0 and m.get_layer("cc").count_params() == 0
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _images(24, 1)
    hist = m.fit(x, y, epochs=4, batch_size=8, verbose=0)
    losses = hist.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    want = m.predict(x, verbose=0)
    for name in ("m.lf", "m.keras"):
        path = str(tmp_path / name)
        m.save(path)
        np.testing.assert_array_equal(load_model(path).predict(x, verbose=0), want)
    with zipfile.ZipFile(str(tmp_path / "m.keras")) as z:
        cfg = json.loads(z.read("config.json"))
    by = {e["config"]["name"]: e for e in cfg["config"]["layers"]}
    rs = by["rs_n"]["config"]
    assert by["rs_n"]["class_name"] == "Resizing" and by["cc"]["class_name"] == "CenterCrop"
    assert {k: rs[k] for k in ("height", "width", "interpolation", "crop_to_aspect_ratio", "pad_to_aspect_ratio",
                               "fill_mode", "fill_value", "antialias", "data_format")} == {
        "height": 4, "width": 8, "interpolation": "nearest", "crop_to_aspect_ratio": True,
        "pad_to_aspect_ratio": False, "fill_mode": "constant", "fill_value": 0.0, "antialias": False,
        "data_format": "channels_last"}
    pad = by["rs_pad"]["config"]
    assert (pad["pad_to_aspect_ratio"], pad["fill_value"], pad["crop_to_aspect_ratio"]) == (True, 128.0, False)
    again = str(tmp_path / "again.keras")  # the layer read from the .lf keeps its arguments
    load_model(str(tmp_path / "m.lf")).save(again)
    with zipfile.ZipFile(again) as z:
        back = {e["config"]["name"]: e for e in json.loads(z.read("config.json"))["config"]["layers"]}
    assert back["rs_pad"]["config"] == pad
    assert {k: by["cc"]["config"][k] for k in ("height", "width", "data_format")} == {
        "height": 5, "width": 4, "data_format": "channels_last"}
    # Keras' antialias=True in a .keras file: refused by name
    bad = str(tmp_path / "bad.keras")
    with zipfile.ZipFile(str(tmp_path / "m.keras")) as z, zipfile.ZipFile(bad, "w") as out:
        for item in z.infolist():
            data = z.read(item.filename)
            if item.filename == "config.json":
                by["rs"]["config"]["antialias"] = True
                data = json.dumps(cfg).encode()
            out.writestr(item, data)
    with pytest.raises(ValueError, match=r"layer 'rs' \(Resizing\): Resizing: antialias=True is not supported$"):
        load_model(bad)


def test_config_round_trip():
    for layer in (layers.Resizing(3, 4, interpolation="nearest", crop_to_aspect_ratio=True),
                  layers.CenterCrop(2, 5)):
        cfg = layer.get_config()
        assert type(layer).from_config(cfg).get_config() == cfg


def test_errors():
    with pytest.raises(ValueError, match=r"^Resizing: interpolation must be 'bilinear' or 'nearest' \(Keras' "
                                         r"'bicubic', 'lanczos3', 'lanczos5' and 'area' are not supported\), got "
                                         r"'bicubic'$"):
        layers.Resizing(2, 2, interpolation="bicubic")
    with pytest.raises(ValueError, match=r"^Invalid value for argument `interpolation`\. Expected of one "
                                         r"\('bilinear', 'nearest', 'lanczos3', 'lanczos5', 'bicubic', 'area'\)\. "
                                         r"Received: interpolation=cubic$"):
        layers.Resizing(2, 2, interpolation="cubic")
    with pytest.raises(ValueError, match=r"^Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be "
                                         r"`True`\.$"):
        layers.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match=r"^Resizing: fill_value must be a finite number, got nan$"):
        layers.Resizing(2, 2, pad_to_aspect_ratio=True, fill_value=float("nan"))
    with pytest.raises(ValueError, match=r"^Resizing: antialias=True is not supported$"):
        layers.Resizing(2, 2, antialias=True)
    with pytest.raises(ValueError, match=r"^Invalid value for argument `fill_mode`\. Only `'constant'` is "
                                         r"supported\. Received: fill_mode=reflect$"):
        layers.Resizing(2, 2, fill_mode="reflect")
    with pytest.raises(ValueError, match=r"^Resizing: `height` must be a positive integer, got 0$"):
        layers.Resizing(0, 2)
    with pytest.raises(ValueError, match=r"^CenterCrop: `width` must be a positive integer, got 2\.5$"):
        layers.CenterCrop(2, 2.5)
    with pytest.raises(ValueError, match=r"^CenterCrop: data_format must be 'channels_last'"):
        layers.CenterCrop(2, 2, data_format="channels_first")
    with pytest.raises(ValueError, match=r"^Resizing: input of shape \(None, 4, 3\) must be \(batch, height, "
                                         r"width, channels\)$"):
        layers.Resizing(2, 2)(keras.Input(shape=(4, 3)))
