/*
 * random_crop.c — Keras 3's RandomCrop(height, width) on channels-last
 * images x (B, H, W, C), no weights
 * (keras/src/layers/preprocessing/image_preprocessing/random_crop.py).
 *
 * In a training pass that draws, when H > height and W > width (both
 * strictly, as Keras' get_random_transformation), the window of
 * (height, width) pixels from row top = int(u (H - height + 1)), column
 * left = int(v (W - width + 1)) (u, v uniform in [0, 1); Keras' int32 cast
 * of uniform(0, maxval)) is sliced out.  Keras draws ONE location for the
 * whole batch ("the layer will crop all the images in the same batch to
 * the same cropping location"): here draws 0 and 1 of the stream of (the
 * pass's key, the node, row 0), the same on every MPI rank and thread
 * whatever row0 their part of the batch starts at.
 *
 * Otherwise in training (the image not larger than the target on some
 * axis) Keras takes, with no draw, the aspect-ratio window's start
 * (resizing.c: lf_aspect_window) but slices height x width pixels from it,
 * x[top : top + height, left : left + width] (clipped to the image), and
 * when that slice is not (height, width) resizes it bilinearly to
 * (height, width) (backend.image.resize, no aspect crop).
 *
 * At inference (and in a training pass without draws) the layer is
 * Resizing(height, width, crop_to_aspect_ratio=True): the docstring's
 * "resized and cropped so as to return the largest possible window in the
 * image that matches the target aspect ratio", the same bits as
 * lf_resizing.  Keras 3's code instead returns the images unchanged when
 * training is False (transform_images), whose shape then differs from
 * its own compute_output_shape unless the image is (height, width): a
 * graph of fixed shapes cannot follow it; for an image of the target size
 * both are the identity.
 *
 * Settings: nd->kernel = (height, width); nd->crop[0..4) the inference
 * window (top, rows, left, cols).  aux (row 0): the window the training
 * pass used and whether it was sliced (RC_WIN size_t values, memcpy'd), for
 * the backward pass: a slice adds dy back onto the window, a resize runs
 * resizing.c's backward.  Keras' `seed` is not kept (the draws come from
 * the model's seed, as every augmentation layer here); no padding mask.
 */
#include "layers/layer.h"
#include "layers/layers.h"

#include <string.h>

/* the training window kept in aux: top, rows, left, cols, sliced */
#define RC_WIN 5
#define RC_AUX ((RC_WIN * sizeof(size_t) + sizeof(float) - 1) / sizeof(float))

static int rc_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "RandomCrop", in, n_in, 3);
    if (!x) return 0;
    size_t th = nd->kernel[0], tw = nd->kernel[1];
    if (th == 0 || tw == 0 || th > LF_ARCH_MAX_DIM || tw > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "RandomCrop: height and width must be in 1..%zu, got (%zu, %zu)",
                             LF_ARCH_MAX_DIM, th, tw);
    lf_aspect_window(x->shape[0], x->shape[1], th, tw, nd->crop);
    nd->aux_per_row = RC_AUX;
    size_t out[3] = {th, tw, x->shape[2]};
    return lf_shape_set(m, "RandomCrop", nd, 3, out);
}

/* the geometry of window win (top, rows, left, cols) of nd's input */
static lf_resize_geom rc_geom(const lf_layer_ctx *c, const size_t *win) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    lf_resize_geom g = {.W = xn->shape[1], .C = xn->shape[2], .top = win[0], .rows = win[1], .left = win[2],
                        .cols = win[3], .Ho = nd->shape[0], .Wo = nd->shape[1], .in = xn->dim, .out = nd->dim};
    return g;
}

/* A start in 0..n-1 from a uniform u in [0, 1): int(u n), kept below n
 * where the float product rounds up to n */
static size_t rc_start(float u, size_t n) {
    size_t s = (size_t)(u * (float)n);
    return s < n ? s : n - 1;
}

/* The window of a training pass (Keras' get_random_transformation and
 * _random_crop): win = (top, rows, left, cols, sliced) */
static void rc_train_window(const lf_layer_ctx *c, size_t *win) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    size_t H = xn->shape[0], W = xn->shape[1], th = nd->kernel[0], tw = nd->kernel[1];
    if (H > th && W > tw) {
        uint64_t s = lf_draw_stream(c->draws->key, c->draw_id, 0);
        win[0] = rc_start(lf_draw_uniform(s, 0), H - th + 1), win[1] = th;
        win[2] = rc_start(lf_draw_uniform(s, 1), W - tw + 1), win[3] = tw;
    } else {
        size_t a[4];
        lf_aspect_window(H, W, th, tw, a);
        win[0] = a[0], win[1] = H - a[0] < th ? H - a[0] : th;
        win[2] = a[2], win[3] = W - a[2] < tw ? W - a[2] : tw;
    }
    win[4] = win[1] == th && win[3] == tw;
}

// x: (B, H, W, C)  y: (B, height, width, C): the window's rows copied
static void rc_slice_forward(float *restrict y, const float *restrict x, size_t B, const lf_resize_geom *g) {
    size_t C = g->C, n = g->Wo * C;
    for (size_t r = 0; r < B; r++)
        for (size_t i = 0; i < g->Ho; i++)
            memcpy(y + r * g->out + i * n, x + r * g->in + ((g->top + i) * g->W + g->left) * C, n * sizeof *y);
}

// dy: (B, height, width, C)  dx: (B, H, W, C), added to the window
static void rc_slice_backward(float *restrict dx, const float *restrict dy, size_t B, const lf_resize_geom *g) {
    size_t C = g->C, n = g->Wo * C;
    for (size_t r = 0; r < B; r++)
        for (size_t i = 0; i < g->Ho; i++) {
            float *d = dx + r * g->in + ((g->top + i) * g->W + g->left) * C;
            const float *s = dy + r * g->out + i * n;
            for (size_t j = 0; j < n; j++) d[j] += s[j];
        }
}

static void rc_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t win[RC_WIN] = {nd->crop[0], nd->crop[1], nd->crop[2], nd->crop[3], 0};
    if (c->training && c->draws) rc_train_window(c, win);
    if (c->training) memcpy(c->aux, win, sizeof win);
    lf_resize_geom g = rc_geom(c, win);
    if (win[4]) rc_slice_forward(c->y, c->xs[0], c->B, &g);
    else lf_resize_forward(c->y, c->xs[0], c->B, &g);
}

static void rc_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t win[RC_WIN] = {nd->crop[0], nd->crop[1], nd->crop[2], nd->crop[3], 0};
    if (c->training) memcpy(win, c->aux, sizeof win);
    lf_resize_geom g = rc_geom(c, win);
    if (win[4]) rc_slice_backward(dx, c->dy, c->B, &g);
    else lf_resize_backward(dx, c->dy, c->B, &g);
}

static void rc_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"height\":%zu,\"width\":%zu", nd->kernel[0], nd->kernel[1]);
}

static lf_status rc_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    return lf_arch_height_width(L, n_in, nd, "RandomCrop", where, e);
}

static const char *const rc_keys[] = {"name", "type", "inbound", "height", "width", NULL};

const lf_layer_type lf_type_random_crop = {
    .type = "RandomCrop",
    .prefix = "random_crop",
    .keys = rc_keys,
    .draws = 1,
    .infer = rc_infer,
    .forward = rc_forward,
    .backward = rc_backward,
    .write_json = rc_json,
    .read_json = rc_read,
};

int lf_random_crop(lf_model *m, int x, size_t height, size_t width, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = height, nd.kernel[1] = width;
    return lf_node_add(m, &lf_type_random_crop, LF_K_RANDOM_CROP, nd, &x, 1, name);
}
