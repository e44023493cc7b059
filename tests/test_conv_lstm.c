/*
 * test_conv_lstm.c — ConvLSTM2D, ConvLSTM1D and ConvLSTM3D (conv_lstm.c) against hand
 * computations: a direct loop (the convolutions by nested loops over
 * Keras' kernel layouts, "same" padding's odd pixel after, then the LSTM
 * cell) over "same" / "valid" padding, strides, dilation, return_sequences
 * and go_backwards; 1x1 kernels against an LSTM run on every pixel's
 * sequence; the output shapes; a model file round trip (model_checks.h
 * check_reload) predicting the same bits; the build-time and file
 * refusals by their exact messages.
 * (Gradients: test_grad.c; PyTorch's numbers: test_golden.c.)
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* output size and "same" padding before the first pixel (Keras/TF: total
 * / 2) of an axis of n pixels under a window k (dilated), stride s */
static size_t pad_before(size_t n, size_t k, size_t s, lf_padding p, size_t *o) {
    if (p == LF_PADDING_VALID) {
        *o = (n - k) / s + 1;
        return 0;
    }
    *o = (n + s - 1) / s;
    size_t need = (*o - 1) * s + k;
    return need > n ? (need - n) / 2 : 0;
}

/* z (Ho, Wo, G) += conv(x (H, W, C), k (kh, kw, C, G)), tap (a, b) of
 * output (oy, ox) at (oy s + a d - pad) */
static void conv_add(double *z, const float *x, const float *k, size_t H, size_t W, size_t C, size_t G, size_t kh,
                     size_t kw, size_t sh, size_t sw, size_t dh, size_t dw, size_t pt, size_t pl, size_t Ho,
                     size_t Wo) {
    for (size_t oy = 0; oy < Ho; oy++)
        for (size_t ox = 0; ox < Wo; ox++)
            for (size_t a = 0; a < kh; a++)
                for (size_t b = 0; b < kw; b++) {
                    long iy = (long)(oy * sh + a * dh) - (long)pt, ix = (long)(ox * sw + b * dw) - (long)pl;
                    if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W) continue;
                    for (size_t ch = 0; ch < C; ch++) {
                        double v = x[((size_t)iy * W + (size_t)ix) * C + ch];
                        for (size_t j = 0; j < G; j++)
                            z[(oy * Wo + ox) * G + j] += v * k[((a * kw + b) * C + ch) * G + j];
                    }
                }
}

static double sig(double v) { return 1.0 / (1.0 + exp(-v)); }

typedef struct spec {
    size_t T, H, W, C, F, kh, kw, sh, sw, dh, dw;
    lf_padding p;
    int seq, back;
} spec;

/* one sample x (T, H, W, C) -> y: every step's h (T, Ho, Wo, F) with seq,
 * else the last one's */
static void conv_lstm_direct(float *y, const float *x, const float *K, const float *U, const float *bias,
                             const spec *s) {
    size_t Ho, Wo, rh, rw, G = 4 * s->F;
    size_t pt = pad_before(s->H, s->dh * (s->kh - 1) + 1, s->sh, s->p, &Ho);
    size_t pl = pad_before(s->W, s->dw * (s->kw - 1) + 1, s->sw, s->p, &Wo);
    size_t rpt = pad_before(Ho, s->kh, 1, LF_PADDING_SAME, &rh), rpl = pad_before(Wo, s->kw, 1, LF_PADDING_SAME, &rw);
    size_t P = Ho * Wo, F = s->F;
    float *h = calloc(P * F, sizeof *h), *c = calloc(P * F, sizeof *c);
    double *z = malloc(P * G * sizeof *z);
    for (size_t k = 0; k < s->T; k++) {
        size_t t = s->back ? s->T - 1 - k : k;
        for (size_t i = 0; i < P * G; i++) z[i] = bias ? bias[i % G] : 0.0;
        conv_add(z, x + t * s->H * s->W * s->C, K, s->H, s->W, s->C, G, s->kh, s->kw, s->sh, s->sw, s->dh, s->dw, pt,
                 pl, Ho, Wo);
        conv_add(z, h, U, Ho, Wo, F, G, s->kh, s->kw, 1, 1, 1, 1, rpt, rpl, Ho, Wo);
        for (size_t p = 0; p < P; p++)
            for (size_t j = 0; j < F; j++) {
                const double *zp = z + p * G;
                double i = sig(zp[j]), f = sig(zp[F + j]), g = tanh(zp[2 * F + j]), o = sig(zp[3 * F + j]);
                double cc = f * c[p * F + j] + i * g;
                c[p * F + j] = (float)cc;
                h[p * F + j] = (float)(o * tanh(cc));
            }
        if (s->seq) memcpy(y + k * P * F, h, P * F * sizeof *y);
    }
    if (!s->seq) memcpy(y, h, P * F * sizeof *y);
    free(h), free(c), free(z);
}

static int build(lf_model *m, const spec *s, int one_d, const char *name) {
    lf_conv_lstm_options o = lf_conv_lstm_defaults();
    o.strides[0] = s->sh, o.strides[1] = s->sw, o.dilation_rate[0] = s->dh, o.dilation_rate[1] = s->dw;
    o.padding = s->p, o.return_sequences = s->seq, o.go_backwards = s->back;
    if (one_d) {
        int x = lf_input_shape(m, 3, (size_t[]){s->T, s->H, s->C}, LF_DTYPE_FLOAT32, "seq");
        return lf_conv_lstm1d(m, x, s->F, s->kh, &o, name);
    }
    int x = lf_input_shape(m, 4, (size_t[]){s->T, s->H, s->W, s->C}, LF_DTYPE_FLOAT32, "video");
    return lf_conv_lstm2d(m, x, s->F, s->kh, s->kw, &o, name);
}

/* ConvLSTM2D (and 1D: W = kw = 1) vs the direct loop, random weights */
static void test_by_hand(void) {
    spec cases[] = {
        {3, 5, 4, 2, 3, 3, 3, 1, 1, 1, 1, LF_PADDING_SAME, 1, 0},
        {4, 6, 5, 3, 2, 3, 2, 1, 1, 1, 1, LF_PADDING_VALID, 0, 0},
        {3, 7, 6, 2, 2, 2, 3, 2, 2, 1, 1, LF_PADDING_SAME, 1, 1},
        {2, 6, 7, 1, 3, 2, 2, 1, 1, 2, 2, LF_PADDING_VALID, 0, 1},
        {3, 5, 6, 2, 2, 3, 3, 2, 1, 1, 1, LF_PADDING_VALID, 1, 1},
        {4, 8, 1, 2, 3, 3, 1, 2, 1, 1, 1, LF_PADDING_SAME, 1, 0}, /* ConvLSTM1D */
        {3, 9, 1, 3, 2, 2, 1, 1, 1, 3, 1, LF_PADDING_VALID, 0, 1}, /* ConvLSTM1D dilated */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const spec *s = &cases[k];
        int one_d = s->W == 1 && s->kw == 1;
        lf_model *m;
        lf_model_create(&m, 30 + k);
        int y = build(m, s, one_d, "cl");
        CHECK(y >= 0 && lf_model_compile(m, y, LF_LOSS_MSE, NULL) == LF_OK, "case %zu: compile: %s", k,
              lf_model_error(m));
        if (y < 0) {
            lf_model_free(m);
            continue;
        }
        size_t shp[8], nk, nu, nb, G = 4 * s->F;
        CHECK(lf_layer_weight_shape(m, "cl", 0, shp, &nk) == LF_OK && nk == s->kh * s->kw * s->C * G, "case %zu: kernel",
              k);
        CHECK(lf_layer_weight_shape(m, "cl", 1, shp, &nu) == LF_OK && nu == s->kh * s->kw * s->F * G,
              "case %zu: recurrent_kernel", k);
        CHECK(lf_layer_weight_shape(m, "cl", 2, shp, &nb) == LF_OK && nb == G, "case %zu: bias", k);
        float *K = malloc(nk * sizeof *K), *U = malloc(nu * sizeof *U), *b = malloc(nb * sizeof *b);
        fill_uniform(K, nk, -0.6f, 0.6f, 100 + k);
        fill_uniform(U, nu, -0.6f, 0.6f, 200 + k);
        fill_uniform(b, nb, -0.5f, 0.5f, 300 + k);
        lf_set_weights(m, "cl", 0, K, nk);
        lf_set_weights(m, "cl", 1, U, nu);
        lf_set_weights(m, "cl", 2, b, nb);
        size_t B = 2, nx = s->T * s->H * s->W * s->C, ny = lf_node_dim(m, y);
        float *xv = malloc(B * nx * sizeof *xv), *got = malloc(B * ny * sizeof *got), *want = malloc(B * ny * sizeof *want);
        fill_uniform(xv, B * nx, -1.5f, 1.5f, 400 + k);
        const float *xs[1] = {xv};
        CHECK(lf_model_predict(m, xs, B, got) == LF_OK, "case %zu: predict: %s", k, lf_model_error(m));
        for (size_t r = 0; r < B; r++) conv_lstm_direct(want + r * ny, xv + r * nx, K, U, b, s);
        char what[64];
        snprintf(what, sizeof what, "ConvLSTM case %zu by hand", k);
        CHECK_CLOSE(what, got, want, B * ny, 2e-6, 1e-5);
        free(K), free(U), free(b), free(xv), free(got), free(want);
        lf_model_free(m);
    }
}

/* 1x1 kernels: an LSTM over every pixel's sequence, the same weights */
static void test_one_by_one_is_lstm(void) {
    enum { T = 4, H = 3, W = 2, C = 3, F = 2, G = 4 * F, B = 2, P = H * W };
    for (int back = 0; back < 2; back++) {
        lf_model *a, *l;
        lf_model_create(&a, 5);
        lf_model_create(&l, 6);
        lf_conv_lstm_options o = lf_conv_lstm_defaults();
        o.return_sequences = 1, o.go_backwards = back;
        int xa = lf_input_shape(a, 4, (size_t[]){T, H, W, C}, LF_DTYPE_FLOAT32, "video");
        int ya = lf_conv_lstm2d(a, xa, F, 1, 1, &o, "cl");
        int xl = lf_input_shape(l, 2, (size_t[]){T, C}, LF_DTYPE_FLOAT32, "seq");
        int yl = lf_lstm(l, xl, F, 1, 1, 1, back, "lstm");
        CHECK(lf_model_compile(a, ya, LF_LOSS_MSE, NULL) == LF_OK && lf_model_compile(l, yl, LF_LOSS_MSE, NULL) == LF_OK,
              "compile");
        float K[C * G], U[F * G], b[G];
        fill_uniform(K, C * G, -0.8f, 0.8f, 11);
        fill_uniform(U, F * G, -0.8f, 0.8f, 12);
        fill_uniform(b, G, -0.5f, 0.5f, 13);
        for (size_t i = 0; i < 3; i++) {
            const float *w = i == 0 ? K : i == 1 ? U : b;
            size_t n = i == 0 ? C * G : i == 1 ? F * G : G;
            lf_set_weights(a, "cl", i, w, n);
            lf_set_weights(l, "lstm", i, w, n);
        }
        float x[B * T * P * C], xp[B * P * T * C], ya_[B * T * P * F], yl_[B * P * T * F], want[B * T * P * F];
        fill_uniform(x, B * T * P * C, -2, 2, 14);
        for (size_t r = 0; r < B; r++) /* the pixel sequences: (r, p) a row of (T, C) */
            for (size_t t = 0; t < T; t++)
                for (size_t p = 0; p < P; p++)
                    memcpy(xp + ((r * P + p) * T + t) * C, x + ((r * T + t) * P + p) * C, C * sizeof *x);
        const float *xs[1] = {x}, *xsl[1] = {xp};
        CHECK(lf_model_predict(a, xs, B, ya_) == LF_OK && lf_model_predict(l, xsl, B * P, yl_) == LF_OK, "predict");
        for (size_t r = 0; r < B; r++)
            for (size_t t = 0; t < T; t++)
                for (size_t p = 0; p < P; p++)
                    memcpy(want + ((r * T + t) * P + p) * F, yl_ + ((r * P + p) * T + t) * F, F * sizeof *want);
        CHECK_CLOSE(back ? "1x1 ConvLSTM2D = LSTM per pixel, go_backwards" : "1x1 ConvLSTM2D = LSTM per pixel", ya_,
                    want, B * T * P * F, 1e-6, 1e-6);
        lf_model_free(a), lf_model_free(l);
    }
}

/* the shapes: return_sequences, "same" with strides; the default bias
 * (forget block ones); a model file round trip after training (with the
 * optimizer) predicting the same bits; the file holds no default fields */
static void test_roundtrip(void) {
    lf_model *m;
    lf_model_create(&m, 7);
    int x = lf_input_shape(m, 4, (size_t[]){3, 7, 6, 2}, LF_DTYPE_FLOAT32, "video");
    lf_conv_lstm_options o = lf_conv_lstm_defaults();
    o.strides[0] = 2, o.padding = LF_PADDING_SAME, o.return_sequences = 1;
    int c1 = lf_conv_lstm2d(m, x, 3, 3, 3, &o, "cl1");
    int c2 = lf_conv_lstm2d(m, c1, 2, 2, 2, NULL, "cl2");
    int o1 = lf_dense(m, lf_flatten(m, c2, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o1, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    size_t dims[LF_MAX_RANK];
    CHECK(lf_node_shape(m, c1, dims) == 4 && dims[0] == 3 && dims[1] == 4 && dims[2] == 6 && dims[3] == 3,
          "cl1: (3, 4, 6, 3)");
    CHECK(lf_node_shape(m, c2, dims) == 3 && dims[0] == 3 && dims[1] == 5 && dims[2] == 2, "cl2: (3, 5, 2)");
    float bias[8];
    CHECK(lf_get_weights(m, "cl2", 2, bias, 8) == LF_OK, "bias");
    int ok = 1;
    for (size_t j = 0; j < 8; j++) ok &= bias[j] == (j >= 2 && j < 4 ? 1.0f : 0.0f);
    CHECK(ok, "unit_forget_bias: the forget block starts at 1, the rest at 0");
    char *s = summary_of(m);
    /* 3 3 (2 + 3) 12 + 12 = 552; 2 2 (3 + 2) 8 + 8 = 168 */
    CHECK(has(s, "cl1 (ConvLSTM2D)") && has(s, "(None, 3, 4, 6, 3)") && has(s, "552") && has(s, "168"),
          "summary:\n%s", s);
    free(s);

    enum { N = 6, NX = 3 * 7 * 6 * 2 };
    float *xv = malloc(N * NX * sizeof *xv), t[N];
    fill_uniform(xv, N * NX, -1, 1, 80);
    for (size_t r = 0; r < N; r++) t[r] = (float)(r % 3);
    const float *xs[1] = {xv};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 3;
    CHECK(lf_model_fit(m, xs, t, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    char path[128], bad[160];
    snprintf(path, sizeof path, "%s/cl.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    lf_model_free(check_reload(m, xs, N, 3, path, "ConvLSTM2D"));
    /* cl2 has Keras' defaults but the required fields: nothing else written */
    static const char *const fields[] = {
        "\"name\":\"cl2\",\"type\":\"ConvLSTM2D\",\"inbound\":[\"cl1\"],\"filters\":2,\"kernel_size\":[2,2]}",
        "\"filters\":3,\"kernel_size\":[3,3],\"strides\":[2,1],\"padding\":\"same\",\"return_sequences\":true}",
    };
    check_arch_fields(path, fields, 2, "ConvLSTM2D");
    /* a file's other activation, or dropout: refused by name */
    check_edit_refused(path, bad, "\\\"return_sequences\\\":true", "\\\"activation\\\":\\\"relu\\\"  ",
                       "layer 'cl1': ConvLSTM2D supports only activation 'tanh' and recurrent_activation 'sigmoid'");
    check_edit_refused(path, bad, "\\\"return_sequences\\\":true", "\\\"dropout\\\":0.5          ",
                       "unknown field 'dropout'");
    unlink(bad);
    unlink(path);
    free(xv);
    lf_model_free(m);
}

/* misuse refused at build time by name */
static void test_refusals(void) {
    static const char *const msgs[] = {
        "ConvLSTM2D: input 'img' has shape (None, 6, 5, 3); it needs rank 5 (batch, time, rows, cols, channels)",
        "ConvLSTM2D: input 'video' of shape (None, 2, 6, 5, 3) is smaller than the kernel (3, 6) with padding "
        "'valid'",
        "ConvLSTM2D: filters must be in 1..67108864, got 0",
        "ConvLSTM2D: strides > 1 not supported in conjunction with dilation_rate > 1, got strides (2, 1) and "
        "dilation_rate (1, 2)",
        "ConvLSTM2D: unknown padding 2 ('causal' is Conv1D's only)",
        "ConvLSTM2D: input 'masking' carries a padding mask, which ConvLSTM2D does not support (the mask would be per "
        "pixel, not per time step)",
        "ConvLSTM1D: input 'video' has shape (None, 2, 6, 5, 3); it needs rank 4 (batch, time, steps, channels)",
        "ConvLSTM1D: input 'seq' of shape (None, 2, 6, 3) is shorter than the kernel 7 with padding 'valid'",
        "ConvLSTM2D: kernel_size and strides must be in 1..1024, got (0, 3) and (1, 1)",
    };
    for (size_t c = 0; c < sizeof msgs / sizeof msgs[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int v = lf_input_shape(m, 4, (size_t[]){2, 6, 5, 3}, LF_DTYPE_FLOAT32, "video");
        int img = lf_input_shape(m, 3, (size_t[]){6, 5, 3}, LF_DTYPE_FLOAT32, "img");
        int sq = lf_input_shape(m, 3, (size_t[]){2, 6, 3}, LF_DTYPE_FLOAT32, "seq");
        lf_conv_lstm_options o = lf_conv_lstm_defaults();
        switch (c) {
        case 0: lf_conv_lstm2d(m, img, 2, 3, 3, NULL, NULL); break;
        case 1: lf_conv_lstm2d(m, v, 2, 3, 6, NULL, NULL); break;
        case 2: lf_conv_lstm2d(m, v, 0, 3, 3, NULL, NULL); break;
        case 3:
            o.strides[0] = 2, o.dilation_rate[1] = 2;
            lf_conv_lstm2d(m, v, 2, 3, 3, &o, NULL);
            break;
        case 4:
            o.padding = LF_PADDING_CAUSAL;
            lf_conv_lstm2d(m, v, 2, 3, 3, &o, NULL);
            break;
        case 5: lf_conv_lstm2d(m, lf_masking(m, v, 0.0f, "masking"), 2, 3, 3, NULL, NULL); break;
        case 6: lf_conv_lstm1d(m, v, 2, 3, NULL, NULL); break;
        case 7: lf_conv_lstm1d(m, sq, 2, 7, NULL, NULL); break;
        default: lf_conv_lstm2d(m, v, 2, 0, 3, NULL, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), msgs[c]) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* z (Do, Ho, Wo, G) += conv3d(x (D, H, W, C), k (kd, kh, kw, C, G)), tap
 * (a, b, e) of output (oz, oy, ox) at (oz s + a d - pad, ...) per axis:
 * n, k, s, d, pad, out of the 3 axes (depth, rows, columns) */
typedef struct ax3 {
    size_t n[3], k[3], s[3], d[3], pad[3], o[3];
} ax3;

static void conv3_add(double *z, const float *x, const float *k, size_t C, size_t G, const ax3 *a) {
    for (size_t oz = 0; oz < a->o[0]; oz++)
        for (size_t oy = 0; oy < a->o[1]; oy++)
            for (size_t ox = 0; ox < a->o[2]; ox++)
                for (size_t p = 0; p < a->k[0]; p++)
                    for (size_t q = 0; q < a->k[1]; q++)
                        for (size_t u = 0; u < a->k[2]; u++) {
                            long iz = (long)(oz * a->s[0] + p * a->d[0]) - (long)a->pad[0];
                            long iy = (long)(oy * a->s[1] + q * a->d[1]) - (long)a->pad[1];
                            long ix = (long)(ox * a->s[2] + u * a->d[2]) - (long)a->pad[2];
                            if (iz < 0 || iy < 0 || ix < 0 || iz >= (long)a->n[0] || iy >= (long)a->n[1] ||
                                ix >= (long)a->n[2])
                                continue;
                            for (size_t ch = 0; ch < C; ch++) {
                                double v = x[(((size_t)iz * a->n[1] + (size_t)iy) * a->n[2] + (size_t)ix) * C + ch];
                                const float *kk = k + (((p * a->k[1] + q) * a->k[2] + u) * C + ch) * G;
                                double *zz = z + ((oz * a->o[1] + oy) * a->o[2] + ox) * G;
                                for (size_t j = 0; j < G; j++) zz[j] += v * kk[j];
                            }
                        }
}

typedef struct spec3 {
    size_t T, n[3], C, F, k[3], s[3], d[3];
    lf_padding p;
    int seq, back;
} spec3;

/* ConvLSTM3D's one sample x (T, D, H, W, C) -> y, as conv_lstm_direct */
static void conv_lstm3_direct(float *y, const float *x, const float *K, const float *U, const float *bias,
                              const spec3 *s) {
    ax3 a, r;
    size_t G = 4 * s->F, F = s->F, P = 1, in = s->n[0] * s->n[1] * s->n[2] * s->C;
    for (size_t i = 0; i < 3; i++) {
        a.n[i] = s->n[i], a.k[i] = s->k[i], a.s[i] = s->s[i], a.d[i] = s->d[i];
        a.pad[i] = pad_before(s->n[i], s->d[i] * (s->k[i] - 1) + 1, s->s[i], s->p, &a.o[i]);
        r.n[i] = a.o[i], r.k[i] = s->k[i], r.s[i] = r.d[i] = 1;
        r.pad[i] = pad_before(a.o[i], s->k[i], 1, LF_PADDING_SAME, &r.o[i]);
        P *= a.o[i];
    }
    float *h = calloc(P * F, sizeof *h), *c = calloc(P * F, sizeof *c);
    double *z = malloc(P * G * sizeof *z);
    for (size_t k = 0; k < s->T; k++) {
        size_t t = s->back ? s->T - 1 - k : k;
        for (size_t i = 0; i < P * G; i++) z[i] = bias ? bias[i % G] : 0.0;
        conv3_add(z, x + t * in, K, s->C, G, &a);
        conv3_add(z, h, U, F, G, &r);
        for (size_t p = 0; p < P; p++)
            for (size_t j = 0; j < F; j++) {
                const double *zp = z + p * G;
                double i = sig(zp[j]), f = sig(zp[F + j]), g = tanh(zp[2 * F + j]), o = sig(zp[3 * F + j]);
                double cc = f * c[p * F + j] + i * g;
                c[p * F + j] = (float)cc;
                h[p * F + j] = (float)(o * tanh(cc));
            }
        if (s->seq) memcpy(y + k * P * F, h, P * F * sizeof *y);
    }
    if (!s->seq) memcpy(y, h, P * F * sizeof *y);
    free(h), free(c), free(z);
}

/* ConvLSTM3D vs the direct loop, random weights: paddings, strides,
 * dilation, return_sequences, go_backwards, no bias */
static void test_3d_by_hand(void) {
    spec3 cases[] = {
        {3, {4, 5, 3}, 2, 2, {3, 3, 2}, {1, 1, 1}, {1, 1, 1}, LF_PADDING_SAME, 1, 0},
        {2, {4, 5, 4}, 3, 3, {2, 3, 2}, {1, 1, 1}, {1, 1, 1}, LF_PADDING_VALID, 0, 1},
        {3, {5, 4, 6}, 2, 2, {2, 2, 3}, {2, 1, 2}, {1, 1, 1}, LF_PADDING_SAME, 1, 1},
        {2, {5, 5, 4}, 1, 2, {2, 2, 2}, {1, 1, 1}, {2, 1, 2}, LF_PADDING_VALID, 0, 0},
        {2, {3, 4, 5}, 2, 3, {2, 3, 3}, {1, 2, 1}, {1, 1, 1}, LF_PADDING_VALID, 1, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const spec3 *s = &cases[k];
        int no_bias = k == 4;
        lf_model *m;
        lf_model_create(&m, 60 + k);
        lf_conv_lstm_options o = lf_conv_lstm_defaults();
        for (size_t i = 0; i < 3; i++) o.strides[i] = s->s[i], o.dilation_rate[i] = s->d[i];
        o.padding = s->p, o.return_sequences = s->seq, o.go_backwards = s->back, o.use_bias = !no_bias;
        int x = lf_input_shape(m, 5, (size_t[]){s->T, s->n[0], s->n[1], s->n[2], s->C}, LF_DTYPE_FLOAT32, "vol");
        int y = lf_conv_lstm3d(m, x, s->F, s->k[0], s->k[1], s->k[2], &o, "cl");
        CHECK(y >= 0 && lf_model_compile(m, y, LF_LOSS_MSE, NULL) == LF_OK, "3-D case %zu: compile: %s", k,
              lf_model_error(m));
        if (y < 0) {
            lf_model_free(m);
            continue;
        }
        size_t shp[8], nk, nu, nb = 0, G = 4 * s->F, kv = s->k[0] * s->k[1] * s->k[2];
        CHECK(lf_layer_weight_shape(m, "cl", 0, shp, &nk) == LF_OK && nk == kv * s->C * G,
              "3-D case %zu: kernel (kd, kh, kw, C, G)", k);
        CHECK(lf_layer_weight_shape(m, "cl", 1, shp, &nu) == LF_OK && nu == kv * s->F * G,
              "3-D case %zu: recurrent_kernel (kd, kh, kw, F, G)", k);
        CHECK(lf_layer_num_weights(m, "cl") == (no_bias ? 2u : 3u), "3-D case %zu: weights", k);
        if (!no_bias) lf_layer_weight_shape(m, "cl", 2, shp, &nb);
        float *K = malloc(nk * sizeof *K), *U = malloc(nu * sizeof *U), *b = malloc((nb + 1) * sizeof *b);
        fill_uniform(K, nk, -0.5f, 0.5f, 500 + k);
        fill_uniform(U, nu, -0.5f, 0.5f, 600 + k);
        fill_uniform(b, nb + 1, -0.5f, 0.5f, 700 + k);
        lf_set_weights(m, "cl", 0, K, nk);
        lf_set_weights(m, "cl", 1, U, nu);
        if (!no_bias) lf_set_weights(m, "cl", 2, b, nb);
        size_t B = 2, nx = s->T * s->n[0] * s->n[1] * s->n[2] * s->C, ny = lf_node_dim(m, y);
        float *xv = malloc(B * nx * sizeof *xv), *got = malloc(B * ny * sizeof *got), *want = malloc(B * ny * sizeof *want);
        fill_uniform(xv, B * nx, -1.5f, 1.5f, 800 + k);
        const float *xs[1] = {xv};
        CHECK(lf_model_predict(m, xs, B, got) == LF_OK, "3-D case %zu: predict: %s", k, lf_model_error(m));
        for (size_t r = 0; r < B; r++) conv_lstm3_direct(want + r * ny, xv + r * nx, K, U, no_bias ? NULL : b, s);
        char what[64];
        snprintf(what, sizeof what, "ConvLSTM3D case %zu by hand", k);
        CHECK_CLOSE(what, got, want, B * ny, 2e-6, 1e-5);
        free(K), free(U), free(b), free(xv), free(got), free(want);
        lf_model_free(m);
    }
}

/* 1x1x1 kernels: an LSTM over every voxel's sequence, the same weights */
static void test_3d_one_is_lstm(void) {
    enum { T = 3, D = 2, H = 3, W = 2, C = 2, F = 3, G = 4 * F, B = 2, P = D * H * W };
    for (int back = 0; back < 2; back++) {
        lf_model *a, *l;
        lf_model_create(&a, 5);
        lf_model_create(&l, 6);
        lf_conv_lstm_options o = lf_conv_lstm_defaults();
        o.return_sequences = 1, o.go_backwards = back;
        int xa = lf_input_shape(a, 5, (size_t[]){T, D, H, W, C}, LF_DTYPE_FLOAT32, "vol");
        int ya = lf_conv_lstm3d(a, xa, F, 1, 1, 1, &o, "cl");
        int xl = lf_input_shape(l, 2, (size_t[]){T, C}, LF_DTYPE_FLOAT32, "seq");
        int yl = lf_lstm(l, xl, F, 1, 1, 1, back, "lstm");
        CHECK(lf_model_compile(a, ya, LF_LOSS_MSE, NULL) == LF_OK && lf_model_compile(l, yl, LF_LOSS_MSE, NULL) == LF_OK,
              "compile: %s", lf_model_error(a));
        float K[C * G], U[F * G], b[G];
        fill_uniform(K, C * G, -0.8f, 0.8f, 21);
        fill_uniform(U, F * G, -0.8f, 0.8f, 22);
        fill_uniform(b, G, -0.5f, 0.5f, 23);
        for (size_t i = 0; i < 3; i++) {
            const float *w = i == 0 ? K : i == 1 ? U : b;
            size_t n = i == 0 ? C * G : i == 1 ? F * G : G;
            lf_set_weights(a, "cl", i, w, n);
            lf_set_weights(l, "lstm", i, w, n);
        }
        float x[B * T * P * C], xp[B * P * T * C], ya_[B * T * P * F], yl_[B * P * T * F], want[B * T * P * F];
        fill_uniform(x, B * T * P * C, -2, 2, 24);
        for (size_t r = 0; r < B; r++)
            for (size_t t = 0; t < T; t++)
                for (size_t p = 0; p < P; p++)
                    memcpy(xp + ((r * P + p) * T + t) * C, x + ((r * T + t) * P + p) * C, C * sizeof *x);
        const float *xs[1] = {x}, *xsl[1] = {xp};
        CHECK(lf_model_predict(a, xs, B, ya_) == LF_OK && lf_model_predict(l, xsl, B * P, yl_) == LF_OK, "predict");
        for (size_t r = 0; r < B; r++)
            for (size_t t = 0; t < T; t++)
                for (size_t p = 0; p < P; p++)
                    memcpy(want + ((r * T + t) * P + p) * F, yl_ + ((r * P + p) * T + t) * F, F * sizeof *want);
        /* the same cell step (lstm_cell.h) and the same sums: the same bits */
        CHECK(memcmp(ya_, want, sizeof want) == 0,
              back ? "1x1x1 ConvLSTM3D = LSTM per voxel, go_backwards" : "1x1x1 ConvLSTM3D = LSTM per voxel");
        lf_model_free(a), lf_model_free(l);
    }
}

/* ConvLSTM3D: the shapes, the summary, a round trip after training with
 * the optimizer, its fields, a file's other activation refused */
static void test_3d_roundtrip(void) {
    lf_model *m;
    lf_model_create(&m, 8);
    int x = lf_input_shape(m, 5, (size_t[]){3, 4, 5, 4, 2}, LF_DTYPE_FLOAT32, "vol");
    lf_conv_lstm_options o = lf_conv_lstm_defaults();
    o.strides[1] = 2, o.padding = LF_PADDING_SAME, o.return_sequences = 1;
    int c1 = lf_conv_lstm3d(m, x, 2, 3, 3, 3, &o, "cl1");
    o = lf_conv_lstm_defaults();
    o.dilation_rate[0] = 2, o.go_backwards = 1;
    int c2 = lf_conv_lstm3d(m, c1, 2, 2, 2, 1, &o, "cl2");
    int o1 = lf_dense(m, lf_flatten(m, c2, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o1, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    size_t dims[LF_MAX_RANK];
    CHECK(lf_node_shape(m, c1, dims) == 5 && dims[0] == 3 && dims[1] == 4 && dims[2] == 3 && dims[3] == 4 &&
              dims[4] == 2,
          "cl1: (3, 4, 3, 4, 2)");
    CHECK(lf_node_shape(m, c2, dims) == 4 && dims[0] == 2 && dims[1] == 2 && dims[2] == 4 && dims[3] == 2,
          "cl2: (2, 2, 4, 2)");
    char *s = summary_of(m);
    /* 27 (2 + 2) 8 + 8 = 872; 4 (2 + 2) 8 + 8 = 136 */
    CHECK(has(s, "cl1 (ConvLSTM3D)") && has(s, "(None, 3, 4, 3, 4, 2)") && has(s, "872") && has(s, "136"),
          "summary:\n%s", s);
    free(s);
    enum { N = 6, NX = 3 * 4 * 5 * 4 * 2 };
    float *xv = malloc(N * NX * sizeof *xv), t[N];
    fill_uniform(xv, N * NX, -1, 1, 81);
    for (size_t r = 0; r < N; r++) t[r] = (float)(r % 3);
    const float *xs[1] = {xv};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 3;
    CHECK(lf_model_fit(m, xs, t, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    char path[128], bad[160];
    snprintf(path, sizeof path, "%s/cl3.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad3.lf", tmpdir);
    lf_model *l = check_reload(m, xs, N, 3, path, "ConvLSTM3D");
    CHECK(l && weights_equal(m, l, "cl1") && weights_equal(m, l, "cl2"), "ConvLSTM3D: the loaded weights");
    lf_model_free(l);
    static const char *const fields[] = {
        "\"name\":\"cl1\",\"type\":\"ConvLSTM3D\",\"inbound\":[\"vol\"],\"filters\":2,\"kernel_size\":[3,3,3],"
        "\"strides\":[1,2,1],\"padding\":\"same\",\"return_sequences\":true}",
        "\"filters\":2,\"kernel_size\":[2,2,1],\"dilation_rate\":[2,1,1],\"go_backwards\":true}",
    };
    check_arch_fields(path, fields, 2, "ConvLSTM3D");
    check_edit_refused(path, bad, "\\\"return_sequences\\\":true", "\\\"activation\\\":\\\"relu\\\"  ",
                       "layer 'cl1': ConvLSTM3D supports only activation 'tanh' and recurrent_activation 'sigmoid'");
    check_edit_refused(path, bad, "\\\"kernel_size\\\":[3,3,3]", "\\\"kernel_size\\\":[3,3]  ",
                       "'kernel_size'");
    unlink(bad);
    unlink(path);
    free(xv);
    lf_model_free(m);
}

/* ConvLSTM3D's misuse refused at build time by name */
static void test_3d_refusals(void) {
    static const char *const msgs[] = {
        "ConvLSTM3D: input 'video' has shape (None, 2, 6, 5, 3); it needs rank 6 (batch, time, depth, rows, cols, "
        "channels)",
        "ConvLSTM3D: input 'vol' of shape (None, 2, 4, 6, 5, 3) is smaller than the kernel (5, 3, 3) with padding "
        "'valid'",
        "ConvLSTM3D: filters must be in 1..67108864, got 0",
        "ConvLSTM3D: strides > 1 not supported in conjunction with dilation_rate > 1, got strides (1, 1, 2) and "
        "dilation_rate (2, 1, 1)",
        "ConvLSTM3D: kernel_size and strides must be in 1..1024, got (3, 3, 0) and (1, 1, 1)",
        "ConvLSTM3D: input 'masking' carries a padding mask, which ConvLSTM3D does not support (the mask would be per "
        "pixel, not per time step)",
    };
    for (size_t c = 0; c < sizeof msgs / sizeof msgs[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int v = lf_input_shape(m, 4, (size_t[]){2, 6, 5, 3}, LF_DTYPE_FLOAT32, "video");
        int vol = lf_input_shape(m, 5, (size_t[]){2, 4, 6, 5, 3}, LF_DTYPE_FLOAT32, "vol");
        lf_conv_lstm_options o = lf_conv_lstm_defaults();
        switch (c) {
        case 0: lf_conv_lstm3d(m, v, 2, 3, 3, 3, NULL, NULL); break;
        case 1: lf_conv_lstm3d(m, vol, 2, 5, 3, 3, NULL, NULL); break;
        case 2: lf_conv_lstm3d(m, vol, 0, 3, 3, 3, NULL, NULL); break;
        case 3:
            o.strides[2] = 2, o.dilation_rate[0] = 2;
            lf_conv_lstm3d(m, vol, 2, 3, 3, 3, &o, NULL);
            break;
        case 4: lf_conv_lstm3d(m, vol, 2, 3, 3, 0, NULL, NULL); break;
        default: lf_conv_lstm3d(m, lf_masking(m, vol, 0.0f, "masking"), 2, 3, 3, 3, NULL, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), msgs[c]) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_conv_lstm_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_by_hand();
    test_one_by_one_is_lstm();
    test_roundtrip();
    test_refusals();
    test_3d_by_hand();
    test_3d_one_is_lstm();
    test_3d_roundtrip();
    test_3d_refusals();
    rmdir(tmpdir);
    return check_report("test_conv_lstm");
}
