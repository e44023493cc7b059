/*
 * test_conv3d_transpose.c — Conv3DTranspose beyond its gradients
 * (test_grad.c) and PyTorch's numbers (test_golden.c): outputs against a
 * direct scatter loop whose sizes and crops follow Keras' own arithmetic
 * (keras/src/backend/common/backend_utils.py,
 * _convert_conv_transpose_padding_args_from_keras_to_jax, written out here
 * apart from the library's), strides 1 and 2, both paddings, with and
 * without output_padding; a hand-computed case; the summary row; the
 * builder's refusals' exact messages; a save / load round trip (the same
 * bits, output_padding in the file only when given, Keras' kernel shape,
 * the reader's refusal of a bad output_padding); OpenMP's thread counts
 * giving the same bits.
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* Keras' transposed-convolution arithmetic of one axis (JAX's form): the
 * input dilated by s, padded left / right, a valid convolution with the
 * flipped kernel; returns the size, *crop = k - 1 - left */
static size_t keras_axis(size_t n, size_t k, size_t s, int same, long op, size_t *crop) {
    size_t left, right;
    if (!same) {
        size_t o = op < 0 ? (k > s ? k : s) - k : (size_t)op;
        left = k - 1, right = k - 1 + o;
    } else {
        size_t pad = op < 0 ? s + k - 2 : k + k % 2 - 2 + (size_t)op;
        left = pad / 2 + pad % 2;
        if (left > k - 1) left = k - 1;
        right = pad - left;
    }
    *crop = k - 1 - left;
    return (n - 1) * s + 1 + left + right - k + 1;
}

/* y (Do, Ho, Wo, F) = bias + sum over input voxels i, taps t of x[i] w[t]
 * at o = i s + t - crop; w (kd, kh, kw, F, C) */
static void direct(float *y, const float *x, const float *w, const float *b, const size_t *in, size_t C, size_t F,
                   const size_t *k, const size_t *s, const size_t *out, const size_t *crop) {
    size_t V = out[0] * out[1] * out[2];
    for (size_t p = 0; p < V; p++)
        for (size_t f = 0; f < F; f++) y[p * F + f] = b ? b[f] : 0;
    for (size_t i0 = 0; i0 < in[0]; i0++)
        for (size_t i1 = 0; i1 < in[1]; i1++)
            for (size_t i2 = 0; i2 < in[2]; i2++)
                for (size_t t0 = 0; t0 < k[0]; t0++)
                    for (size_t t1 = 0; t1 < k[1]; t1++)
                        for (size_t t2 = 0; t2 < k[2]; t2++) {
                            long o0 = (long)(i0 * s[0] + t0) - (long)crop[0];
                            long o1 = (long)(i1 * s[1] + t1) - (long)crop[1];
                            long o2 = (long)(i2 * s[2] + t2) - (long)crop[2];
                            if (o0 < 0 || o1 < 0 || o2 < 0 || o0 >= (long)out[0] || o1 >= (long)out[1] ||
                                o2 >= (long)out[2])
                                continue;
                            const float *xv = x + ((i0 * in[1] + i1) * in[2] + i2) * C;
                            float *yv = y + (((size_t)o0 * out[1] + (size_t)o1) * out[2] + (size_t)o2) * F;
                            const float *wt = w + ((t0 * k[1] + t1) * k[2] + t2) * F * C;
                            for (size_t f = 0; f < F; f++)
                                for (size_t c = 0; c < C; c++) yv[f] += xv[c] * wt[f * C + c];
                        }
}

static void test_against_direct(void) {
    static const struct {
        size_t in[3], C, F, k[3], s[3];
        int same, bias;
        long op[3]; /* -1: None */
    } cases[] = {
        {{3, 4, 2}, 2, 3, {2, 3, 2}, {1, 1, 1}, 0, 1, {-1, -1, -1}},
        {{3, 2, 4}, 3, 2, {3, 3, 3}, {1, 1, 1}, 1, 1, {-1, -1, -1}},
        {{2, 3, 3}, 2, 2, {3, 2, 3}, {2, 2, 2}, 0, 1, {-1, -1, -1}},
        {{2, 3, 2}, 2, 3, {3, 3, 2}, {2, 2, 2}, 1, 0, {-1, -1, -1}},
        {{2, 2, 3}, 3, 2, {3, 2, 2}, {2, 1, 2}, 0, 1, {1, 0, 1}},
        {{3, 2, 2}, 2, 2, {3, 4, 2}, {2, 2, 3}, 1, 1, {1, 0, 2}},
        {{2, 2, 2}, 1, 2, {2, 2, 1}, {3, 3, 3}, 0, 1, {-1, -1, -1}}, /* k < s: the gaps stay zero (bias) */
        {{2, 3, 2}, 2, 2, {4, 3, 2}, {2, 3, 2}, 1, 1, {0, 2, 1}},
    };
    enum { N = 3 };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t out[3], crop[3], op[3];
        for (int a = 0; a < 3; a++) {
            out[a] = keras_axis(cases[c].in[a], cases[c].k[a], cases[c].s[a], cases[c].same, cases[c].op[a],
                                &crop[a]);
            op[a] = (size_t)cases[c].op[a];
        }
        size_t C = cases[c].C, F = cases[c].F, Din = cases[c].in[0] * cases[c].in[1] * cases[c].in[2] * C;
        size_t Dout = out[0] * out[1] * out[2] * F, nk = cases[c].k[0] * cases[c].k[1] * cases[c].k[2] * F * C;
        lf_model *m;
        lf_model_create(&m, 11 + (uint64_t)c);
        int x = lf_input_shape(m, 4, (size_t[]){cases[c].in[0], cases[c].in[1], cases[c].in[2], C},
                               LF_DTYPE_FLOAT32, "v");
        int t = lf_conv3d_transpose(m, x, F, cases[c].k[0], cases[c].k[1], cases[c].k[2], cases[c].s[0],
                                    cases[c].s[1], cases[c].s[2], cases[c].same ? LF_PADDING_SAME : LF_PADDING_VALID,
                                    cases[c].op[0] < 0 ? NULL : op, LF_ACT_LINEAR, cases[c].bias, "t");
        CHECK(t >= 0, "case %zu: %s", c, lf_model_error(m));
        size_t dims[LF_MAX_RANK] = {0};
        CHECK(lf_node_shape(m, t, dims) == 4 && dims[0] == out[0] && dims[1] == out[1] && dims[2] == out[2] &&
                  dims[3] == F,
              "case %zu: shape (%zu, %zu, %zu, %zu), Keras' (%zu, %zu, %zu, %zu)", c, dims[0], dims[1], dims[2],
              dims[3], out[0], out[1], out[2], F);
        CHECK(lf_model_compile(m, lf_flatten(m, t, NULL), LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
        float *w = malloc(nk * sizeof *w), b[8], *xv = malloc(N * Din * sizeof *xv);
        float *got = malloc(N * Dout * sizeof *got), *want = malloc(Dout * sizeof *want);
        fill_uniform(w, nk, -1, 1, 100 + c);
        fill_uniform(b, F, -1, 1, 200 + c);
        fill_uniform(xv, N * Din, -1, 1, 300 + c);
        CHECK(lf_set_weights(m, "t", 0, w, nk) == LF_OK, "%s", lf_model_error(m));
        if (cases[c].bias) CHECK(lf_set_weights(m, "t", 1, b, F) == LF_OK, "%s", lf_model_error(m));
        const float *xs[1] = {xv};
        CHECK(lf_model_predict(m, xs, N, got) == LF_OK, "%s", lf_model_error(m));
        for (size_t r = 0; r < N; r++) {
            direct(want, xv + r * Din, w, cases[c].bias ? b : NULL, cases[c].in, C, F, cases[c].k, cases[c].s, out,
                   crop);
            char what[64];
            snprintf(what, sizeof what, "Conv3DTranspose case %zu sample %zu", c, r);
            CHECK_CLOSE(what, got + r * Dout, want, Dout, 1e-5, 1e-5);
        }
        free(w), free(xv), free(got), free(want);
        lf_model_free(m);
    }
}

/* x (1, 1, 2, 1) = [1, 2], kernel (1, 1, 3, 1, 1) = [1, 10, 100], strides
 * (1, 1, 2), valid: [1, 10, 100 + 2, 20, 200]; same (None): Wo = 4, pad =
 * 2 + 3 - 2 = 3, left 2, crop 0: the first four; bias 0.5 on all */
static void test_hand(void) {
    for (int same = 0; same < 2; same++) {
        lf_model *h;
        lf_model_create(&h, 1);
        int xi = lf_input_shape(h, 4, (size_t[]){1, 1, 2, 1}, LF_DTYPE_FLOAT32, "x");
        int tc = lf_conv3d_transpose(h, xi, 1, 1, 1, 3, 1, 1, 2, same ? LF_PADDING_SAME : LF_PADDING_VALID, NULL,
                                     LF_ACT_LINEAR, 1, "t");
        CHECK(lf_model_compile(h, lf_flatten(h, tc, NULL), LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "t", 0, (float[]){1, 10, 100}, 3) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "t", 1, (float[]){0.5f}, 1) == LF_OK, "%s", lf_model_error(h));
        float yv[5] = {0};
        const float *xv[1] = {(float[]){1, 2}};
        CHECK(lf_model_predict(h, xv, 1, yv) == LF_OK, "%s", lf_model_error(h));
        CHECK(yv[0] == 1.5f && yv[1] == 10.5f && yv[2] == 102.5f && yv[3] == 20.5f &&
                  (same || yv[4] == 200.5f),
              "Conv3DTranspose hand values (%s): %g %g %g %g %g", same ? "same" : "valid", (double)yv[0],
              (double)yv[1], (double)yv[2], (double)yv[3], (double)yv[4]);
        lf_model_free(h);
    }
}

static void test_refusals(void) {
    static const char *const want[] = {
        ("Conv3DTranspose: `output_padding` must be strictly less than `strides` for all dimensions. At dimension 2, "
         "`output_padding` is 2 but `strides` is 2"),
        "Conv3DTranspose: unknown padding 2",
        "Conv3DTranspose: input 'v' of shape (None, 1, 1, 1, 2) gives an output of 0 x 0 x 0 voxels",
        "Conv3DTranspose: kernel_size and strides must be in 1..1024, got (3, 0, 3) and (1, 1, 1)",
        "Conv3DTranspose: filters must be in 1..268435456, got 0",
        "Conv3DTranspose: input 'img' has shape (None, 4, 4, 2); it needs rank 5 (batch, frames, height, width, channels)",
    };
    for (int k = 0; k < (int)(sizeof want / sizeof *want); k++) {
        lf_model *e;
        lf_model_create(&e, 1);
        size_t n = k == 2 ? 1 : 4;
        int v = lf_input_shape(e, 4, (size_t[]){n, n, n, 2}, LF_DTYPE_FLOAT32, "v");
        int img = lf_input_shape(e, 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "img");
        size_t op[3] = {1, 0, 2}, op0[3] = {0, 0, 0};
        int r;
        switch (k) {
        case 0: r = lf_conv3d_transpose(e, v, 2, 3, 3, 3, 2, 2, 2, LF_PADDING_SAME, op, LF_ACT_LINEAR, 1, NULL); break;
        case 1:
            r = lf_conv3d_transpose(e, v, 2, 3, 3, 3, 1, 1, 1, LF_PADDING_CAUSAL, NULL, LF_ACT_LINEAR, 1, NULL);
            break;
        case 2: r = lf_conv3d_transpose(e, v, 2, 2, 2, 2, 1, 1, 1, LF_PADDING_SAME, op0, LF_ACT_LINEAR, 1, NULL); break;
        case 3: r = lf_conv3d_transpose(e, v, 2, 3, 0, 3, 1, 1, 1, LF_PADDING_SAME, NULL, LF_ACT_LINEAR, 1, NULL); break;
        case 4: r = lf_conv3d_transpose(e, v, 0, 3, 3, 3, 1, 1, 1, LF_PADDING_SAME, NULL, LF_ACT_LINEAR, 1, NULL); break;
        default:
            r = lf_conv3d_transpose(e, img, 2, 3, 3, 3, 1, 1, 1, LF_PADDING_SAME, NULL, LF_ACT_LINEAR, 1, NULL);
            break;
        }
        CHECK(r < 0 && strcmp(lf_model_error(e), want[k]) == 0, "refusal %d: %s", k, lf_model_error(e));
        lf_model_free(e);
    }
}

/* a small decoder: (2, 3, 3, 2) -> up (stride 2, same, op (1, 0, 1)) ->
 * up2 (valid, None) -> pooled -> softmax; the summary, fit, save, load */
static void test_round_trip(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input_shape(m, 4, (size_t[]){2, 3, 3, 2}, LF_DTYPE_FLOAT32, "vol");
    size_t op[3] = {1, 0, 1};
    int a = lf_conv3d_transpose(m, x, 3, 3, 3, 2, 2, 2, 2, LF_PADDING_SAME, op, LF_ACT_RELU, 1, "up");
    int b = lf_conv3d_transpose(m, a, 2, 2, 2, 2, 1, 1, 1, LF_PADDING_VALID, NULL, LF_ACT_TANH, 0, "up2");
    CHECK(a >= 0 && b >= 0, "build: %s", lf_model_error(m));
    size_t dims[LF_MAX_RANK] = {0};
    /* up: (2 - 1) 2 + 3 % 2 + 1 = 4, (3 - 1) 2 + 1 + 0 = 5, (3 - 1) 2 + 0 + 1 = 5; up2: + 2 - 1 */
    CHECK(lf_node_shape(m, a, dims) == 4 && dims[0] == 4 && dims[1] == 5 && dims[2] == 5 && dims[3] == 3,
          "up: (%zu, %zu, %zu, %zu)", dims[0], dims[1], dims[2], dims[3]);
    CHECK(lf_node_shape(m, b, dims) == 4 && dims[0] == 5 && dims[1] == 6 && dims[2] == 6 && dims[3] == 2,
          "up2: (%zu, %zu, %zu, %zu)", dims[0], dims[1], dims[2], dims[3]);
    int o = lf_dense(m, lf_global_average_pooling3d(m, b, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    char *buf = summary_of(m);
    CHECK(has(buf, "up (Conv3DTranspose)                               (None, 4, 5, 5, 3)          111  vol"),
          "summary Conv3DTranspose row (3 3 2 3 2 + 3):\n%s", buf);
    CHECK(has(buf, "up2 (Conv3DTranspose)                              (None, 5, 6, 6, 2)           48  up"),
          "summary Conv3DTranspose row (2 2 2 2 3, no bias):\n%s", buf);
    free(buf);

    enum { N = 6, D = 2 * 3 * 3 * 2 };
    float *xin = malloc(N * D * sizeof *xin), y[N];
    fill_uniform(xin, N * D, -1, 1, 5);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 2);
    const float *xs[1] = {xin};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 3;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    char path[128], bad[140];
    snprintf(path, sizeof path, "%s/conv3d_transpose.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    lf_model *l = check_reload(m, xs, N, 2, path, "Conv3DTranspose");
    fo.epochs = 1;
    lf_model_fit(m, xs, y, N, &fo);
    if (l) lf_model_fit(l, xs, y, N, &fo);
    CHECK(l && weights_equal(m, l, "up") && weights_equal(m, l, "up2"), "the loaded model trains differently");
    lf_model_free(l);
    static const char *const fields[] = {
        "\"name\":\"up\",\"type\":\"Conv3DTranspose\",\"inbound\":[\"vol\"],\"filters\":3,"
        "\"kernel_size\":[3,3,2],\"strides\":[2,2,2],\"padding\":\"same\",\"activation\":\"relu\","
        "\"use_bias\":true,\"l2\":0,\"output_padding\":[1,0,1]}",
        /* up2 without output_padding */
        "\"name\":\"up2\",\"type\":\"Conv3DTranspose\",\"inbound\":[\"up\"],\"filters\":2,"
        "\"kernel_size\":[2,2,2],\"strides\":[1,1,1],\"padding\":\"valid\",\"activation\":\"tanh\","
        "\"use_bias\":false,\"l2\":0}",
    };
    check_arch_fields(path, fields, sizeof fields / sizeof *fields, "Conv3DTranspose");
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const lf_st_tensor *t = lf_st_find(&f, "up.kernel");
    CHECK(t && t->ndim == 5 && t->shape[0] == 3 && t->shape[1] == 3 && t->shape[2] == 2 && t->shape[3] == 3 &&
              t->shape[4] == 2,
          "up.kernel is Keras' (3, 3, 2, 3, 2): (kd, kh, kw, filters, C)");
    lf_st_free(&f);
    /* the reader's refusals: output_padding of 2 values, and one not below its stride */
    static const struct {
        const char *from, *to, *msg;
    } edits[] = {
        {"[1,0,1]", "[1,0]  ", "layer 'up': 'output_padding' must be a list of 3..3 integers in 0..1023"},
        {"[1,0,1]", "[1,0,2]",
         "Conv3DTranspose: `output_padding` must be strictly less than `strides` for all dimensions. At dimension "
         "2, `output_padding` is 2 but `strides` is 2"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++)
        check_edit_refused(path, bad, edits[i].from, edits[i].to, edits[i].msg);
    unlink(bad);
    unlink(path);
    lf_model_free(m);
    free(xin);
}

/* a strided and a valid Conv3DTranspose, pooled, a softmax Dense */
static int build_decoder(lf_model *m) {
    int h = lf_input_shape(m, 4, (size_t[]){4, 6, 6, 3}, LF_DTYPE_FLOAT32, "vol");
    h = lf_conv3d_transpose(m, h, 6, 3, 3, 3, 2, 2, 2, LF_PADDING_SAME, NULL, LF_ACT_RELU, 1, NULL);
    h = lf_conv3d_transpose(m, h, 4, 3, 3, 3, 1, 1, 1, LF_PADDING_VALID, NULL, LF_ACT_TANH, 1, NULL);
    return lf_dense(m, lf_global_average_pooling3d(m, h, NULL), 4, LF_ACT_SOFTMAX, 1, "out");
}

/* chunks on OpenMP's threads (above Conv2D's threshold): trained on 3 and
 * 1 threads, the same bits */
static void test_threads(void) { check_fit_same_on_threads("Conv3DTranspose", build_decoder, 48, 4 * 6 * 6 * 3, 4, 1, 24); }

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_conv3dt_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_against_direct();
    test_hand();
    test_refusals();
    test_round_trip();
    test_threads();
    rmdir(tmpdir);
    return check_report("test_conv3d_transpose");
}
