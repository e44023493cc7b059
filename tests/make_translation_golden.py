#!/usr/bin/env python3
"""make_translation_golden.py - RandomTranslation's golden values for
tests/test_translation.c, from Keras 3's numpy backend.

Why: latefuse's RandomTranslation promises Keras 3's semantics (the fill
modes' edge rules, bilinear and nearest interpolation, the direction of a
shift).  The reference below is keras/src/backend/numpy/image.py's
affine_transform and map_coordinates (keras-team/keras, 2025), copied line
by line less their argument checks, fed the matrix that
keras/src/layers/preprocessing/image_preprocessing/random_translation.py's
_get_translation_matrix builds from a translation (dx, dy) in pixels.  It
needs numpy and scipy (as Keras' numpy backend does), not Keras.

Each case: one image (H, W, C) of float32 values, a fill_mode, an
interpolation, a fill_value and a shift (dy, dx) in pixels (float32:
positive, negative, fractional, ties at a half, larger than the image);
the output as float32.  Written as a C header.

Usage:  /usr/bin/python3 tests/make_translation_golden.py > tests/translation_golden.h
        (also run by `make golden`)
"""

import numpy as np
import scipy.ndimage

AFFINE_TRANSFORM_INTERPOLATIONS = {"nearest": 0, "bilinear": 1}


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0.0):
    # keras/src/backend/numpy/image.py map_coordinates, less the checks
    padding = [
        (
            max(-np.floor(c.min()).astype(int) + 1, 0),
            max(np.ceil(c.max()).astype(int) + 1 - size, 0),
        )
        for c, size in zip(coordinates, inputs.shape)
    ]
    shifted_coords = [c + p[0] for p, c in zip(padding, coordinates)]
    pad_mode = {
        "nearest": "edge",
        "mirror": "reflect",
        "reflect": "symmetric",
    }.get(fill_mode, fill_mode)
    if fill_mode == "constant":
        padded = np.pad(inputs, padding, mode=pad_mode, constant_values=fill_value)
    else:
        padded = np.pad(inputs, padding, mode=pad_mode)
    padded = padded.astype("float32")
    result = scipy.ndimage.map_coordinates(padded, shifted_coords, order=order, mode=fill_mode, cval=fill_value)
    return result.astype(inputs.dtype)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0):
    # keras/src/backend/numpy/image.py affine_transform (channels_last),
    # less the checks
    images = images.astype("float32")
    transform = transform.astype("float32")
    need_squeeze = False
    if len(images.shape) == 3:
        images = np.expand_dims(images, axis=0)
        need_squeeze = True
    if len(transform.shape) == 1:
        transform = np.expand_dims(transform, axis=0)
    batch_size = images.shape[0]
    meshgrid = np.meshgrid(*[np.arange(size) for size in images.shape[1:]], indexing="ij")
    indices = np.concatenate([np.expand_dims(x, axis=-1) for x in meshgrid], axis=-1)
    indices = np.tile(indices, (batch_size, 1, 1, 1, 1))
    a0 = transform[:, 0].copy()
    a2 = transform[:, 2].copy()
    b1 = transform[:, 4].copy()
    b2 = transform[:, 5].copy()
    transform[:, 0] = b1
    transform[:, 2] = b2
    transform[:, 4] = a0
    transform[:, 5] = a2
    transform = np.pad(transform, pad_width=[[0, 0], [0, 1]], constant_values=1)
    transform = np.reshape(transform, (batch_size, 3, 3))
    offset = transform[:, 0:2, 2].copy()
    offset = np.pad(offset, pad_width=[[0, 0], [0, 1]])
    transform[:, 0:2, 2] = 0
    coordinates = np.einsum("Bhwij, Bjk -> Bhwik", indices, transform)
    coordinates = np.moveaxis(coordinates, source=-1, destination=1)
    coordinates += np.reshape(offset, (*offset.shape, 1, 1, 1))
    affined = np.stack(
        [
            map_coordinates(images[i], coordinates[i], order=AFFINE_TRANSFORM_INTERPOLATIONS[interpolation],
                            fill_mode=fill_mode, fill_value=fill_value)
            for i in range(batch_size)
        ],
        axis=0,
    )
    if need_squeeze:
        affined = np.squeeze(affined, axis=0)
    return affined.astype("float32")


def translation_matrix(translations):
    # random_translation.py _get_translation_matrix; translations (n, 2) =
    # (width, height) shifts in pixels
    n = translations.shape[0]
    return np.concatenate(
        [np.ones((n, 1)), np.zeros((n, 1)), -translations[:, 0:1], np.zeros((n, 1)), np.ones((n, 1)),
         -translations[:, 1:], np.zeros((n, 2))], axis=1)


FILL_MODES = ["reflect", "wrap", "nearest", "constant"]   # lf_fill_mode's order
INTERPOLATIONS = ["bilinear", "nearest"]                  # lf_interpolation's
# (dy, dx) in pixels of a 5 x 4 image: fractional both ways, a half (ties of
# nearest), whole, larger than the image (several periods of reflect/wrap)
SHIFTS = [(1.25, -0.75), (-0.5, 1.5), (2.0, -1.0), (-2.3, 0.6), (0.3, 3.6), (7.7, -9.2), (-13.4, 10.5),
          (0.0, 0.0)]
H, W, C = 5, 4, 2


def main():
    rng = np.random.default_rng(17)
    image = rng.uniform(-1.0, 1.0, size=(H, W, C)).astype(np.float32)
    cases = []
    for fm in FILL_MODES:
        for ip in INTERPOLATIONS:
            for dy, dx in SHIFTS:
                fill = 0.5 if fm == "constant" and dy > 0 else 0.0
                t = np.array([[dx, dy]], dtype=np.float32)   # as get_random_transformation's float32
                y = affine_transform(image, translation_matrix(t), interpolation=ip, fill_mode=fm,
                                     fill_value=fill)
                cases.append((fm, ip, fill, float(np.float32(dy)), float(np.float32(dx)), y))
    # sanity: the direction (a positive dy moves the image down) and reflect's edge
    y = affine_transform(image, translation_matrix(np.array([[0.0, 1.0]], np.float32)), "nearest", "reflect")
    assert np.array_equal(y[1:], image[:-1]) and np.array_equal(y[0], image[0])
    out = ["/* tests/translation_golden.h - generated by tests/make_translation_golden.py from Keras 3's",
           " * numpy backend (affine_transform, map_coordinates); do not edit. */",
           "enum { TG_H = %d, TG_W = %d, TG_C = %d, TG_CASES = %d };" % (H, W, C, len(cases)),
           "static const float tg_image[TG_H * TG_W * TG_C] = {%s};" % ", ".join("%.9g" % v for v in image.ravel()),
           "static const struct tg_case {",
           "    int fill_mode, interpolation; /* lf_fill_mode, lf_interpolation */",
           "    float fill_value, dy, dx;",
           "    float y[TG_H * TG_W * TG_C];",
           "} tg_cases[TG_CASES] = {"]
    for fm, ip, fill, dy, dx, y in cases:
        out.append("    {%d, %d, %.9g, %.9g, %.9g, /* %s, %s */" % (FILL_MODES.index(fm), INTERPOLATIONS.index(ip),
                                                                    fill, dy, dx, fm, ip))
        out.append("     {%s}}," % ", ".join("%.9g" % v for v in y.ravel()))
    out.append("};")
    print("\n".join(out))


if __name__ == "__main__":
    main()
