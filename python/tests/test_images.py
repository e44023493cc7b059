"""
test_images.py — latefuse.images: PNG files written here with zlib (exact
pixels), a resize value computed by hand (TensorFlow's half-pixel bilinear),
a folder of two classes in Keras' order, a truncated file's message, and
the resize against PyTorch's bilinear interpolate (align_corners=False, no
antialiasing: the same half-pixel rule as tf.image.resize).
"""
import struct
import zlib

import numpy as np
import pytest

from latefuse import LatefuseError, images

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

needs_png = pytest.mark.skipif("png" not in images.formats(), reason="latefuse was built without libpng")


def png(rgb):
    """PNG bytes of an (h, w, 3) uint8 array (filter 0 on every row)."""
    h, w, _ = rgb.shape

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + rgb[i].tobytes() for i in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


PIX = np.array([[[0, 10, 1], [100, 21, 2], [30, 40, 50]],
                [[200, 20, 3], [40, 10, 4], [60, 70, 80]]], dtype=np.uint8)


@needs_png
def test_decode_exact_and_resized():
    np.testing.assert_array_equal(images.decode_image(png(PIX), (2, 3)), PIX)
    # 1 x 1: rows 0 and 1 half each, column 1: (100+40)/2, (21+10)/2 = 15.5 -> 16, 3
    np.testing.assert_array_equal(images.decode_image(png(PIX), (1, 1)), [[[70, 16, 3]]])
    # 4 x 6 at (1, 1): 25 + (160 - 25) * 0.25 = 58.75 -> 59
    assert images.decode_image(png(PIX), (4, 6))[1, 1, 0] == 59


@needs_png
def test_folder_in_keras_order(tmp_path):
    for cls, files in (("dogs", ("b.png", "a.png")), ("cats", ("z.png",))):
        (tmp_path / cls).mkdir()
        for k, f in enumerate(files):
            (tmp_path / cls / f).write_bytes(png(np.full((4, 4, 3), 10 * (k + 1) + len(cls), np.uint8)))
    (tmp_path / "cats" / "readme.txt").write_text("ignored")
    x, y, names = images.load_image_folder(tmp_path, image_size=(2, 2))
    assert names == ["cats", "dogs"]
    np.testing.assert_array_equal(y, [0, 1, 1])
    assert x.shape == (3, 2, 2, 3) and x.dtype == np.uint8
    assert [int(v) for v in x[:, 0, 0, 0]] == [14, 24, 14]  # cats/z, dogs/a (k=1), dogs/b (k=0)
    (tmp_path / "dogs" / "c.png").write_bytes(png(PIX)[:40])
    with pytest.raises(LatefuseError, match=r"dogs/c\.png: corrupt or truncated PNG: the data end early"):
        images.load_image_folder(tmp_path, image_size=(2, 2))


def test_errors():
    with pytest.raises(LatefuseError, match=r"not a PNG or JPEG image"):
        images.decode_image(b"hello world", (2, 2))
    with pytest.raises(ValueError, match="image_size must be"):
        images.decode_image(b"x", 3)


@needs_png
@pytest.mark.skipif(torch is None, reason="needs PyTorch (apt-get install python3-torch)")
def test_resize_matches_pytorch_bilinear():
    rng = np.random.default_rng(0)
    src = rng.integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
    t = torch.from_numpy(src.astype(np.float32)).permute(2, 0, 1)[None]
    for size in ((8, 11), (40, 50), (17, 5), (1, 1)):
        ours = images.decode_image(png(src), size).astype(np.int32)
        ref = torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=False,
                                              antialias=False)[0].permute(1, 2, 0).numpy()
        want = np.floor(ref + 0.5).astype(np.int32)
        diff = np.abs(ours - want)
        # float rounding may put a value on the other side of .5: never more
        assert diff.max() <= 1, size
        assert (diff == 0).mean() > 0.99, size
