/*
 * test_merge.c — the elementwise merges (Add, Subtract, Multiply, Average,
 * Maximum, Minimum) as Keras 3's keras/src/layers/merging/: their padding
 * masks (base_merge.py compute_mask and _apply_merge_op_and_or_mask,
 * multiply.py; the cases of merging_test.py's test_*_with_mask, by hand),
 * the rule of earlier model files (a fixture written by main at d6faae0,
 * tests/compat/merge_masks.lf, predicting the bits it predicted then), and
 * Keras' broadcasting (_compute_elemwise_op_output_shape) with its shape
 * errors.  Gradients: test_grad.c's test_merge_masks / test_merge_broadcast.
 */
#include "check.h"
#include "engine_util.h"
#include "layers/layer.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

enum { T = 4, D = 2 };

typedef int (*merge_fn)(lf_model *, size_t, const int *, const char *);
static int sub2(lf_model *m, size_t n, const int *xs, const char *name) {
    (void)n;
    return lf_subtract(m, xs[0], xs[1], name);
}

/* merging_test.py's inputs: x1 masked at steps 0 and 2 (Masking(0)), x2 at
 * steps 0 and 1 when masked; negated for Maximum, as in Keras' test */
static const float X1[T * D] = {0, 0, 1, 2, 0, 0, 3, 4}, X2[T * D] = {0, 0, 0, 0, 1, 2, 3, 4};

/* One merge of x1 and x2, x1 through Masking(0), x2 too when both; rule:
 * LF_MASK_RULE_*; want: the merged values; mask: its padding mask (NULL:
 * none) */
static void by_hand(const char *what, merge_fn f, int neg, int both, lf_mask_rule rule, const float *want,
                    const int *mask) {
    lf_model *m;
    lf_model_create(&m, 1);
    int a = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x1");
    int b = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x2");
    int ma = lf_masking(m, a, 0.0f, "m1"), mb = both ? lf_masking(m, b, 0.0f, "m2") : b;
    int s = f(m, 2, (int[]){ma, mb}, "merge");
    CHECK(rule == LF_MASK_RULE_KERAS || lf_set_merge_mask_rule(m, s, rule) == LF_OK, "%s: rule: %s", what,
          lf_model_error(m));
    int p = lf_global_average_pooling1d(m, s, "gap");
    CHECK(lf_model_compile(m, p, LF_LOSS_MSE, NULL) == LF_OK, "%s: compile: %s", what, lf_model_error(m));
    float x1[T * D];
    float x2[T * D];
    for (int i = 0; i < T * D; i++) x1[i] = neg ? -X1[i] : X1[i], x2[i] = neg ? -X2[i] : X2[i];
    const float *xs[2] = {x1, x2};
    float *outs[8] = {0}, y[T * D], pooled[D], want_p[D] = {0, 0};
    outs[s] = y, outs[p] = pooled;
    CHECK(lf__forward_nodes(m, xs, 1, outs) == LF_OK, "%s: forward", what);
    CHECK_CLOSE(what, y, want, T * D, 0, 0);
    /* the mask: which node owns it, and the pooling over it */
    int owner = m->nodes[s].seq_mask;
    CHECK(mask ? owner >= 0 : owner == -1, "%s: the output's mask is owned by %d", what, owner);
    int n = 0;
    for (int t = 0; t < T; t++)
        if (!mask || mask[t]) {
            n++;
            for (int d = 0; d < D; d++) want_p[d] += want[t * D + d];
        }
    for (int d = 0; d < D; d++) want_p[d] = n ? want_p[d] / (float)n : 0.0f;
    char pw[160];
    snprintf(pw, sizeof pw, "%s: pooled over the mask", what);
    CHECK_CLOSE(pw, pooled, want_p, D, 1e-7, 1e-6);
    lf_model_free(m);
}

/* merging_test.py's six test_*_with_mask, and the rule of earlier files */
static void test_masks_by_hand(void) {
    static const int one[T] = {0, 1, 0, 1}, or[T] = {0, 1, 1, 1};
    struct {
        const char *name;
        merge_fn f;
        int neg;
        float one[T * D], both[T * D], keep[T * D]; /* x1 masked / both / earlier files' rule */
    } c[] = {
        {"Add", lf_add, 0, {0, 0, 1, 2, 1, 2, 6, 8}, {0, 0, 1, 2, 1, 2, 6, 8}, {0, 0, 1, 2, 1, 2, 6, 8}},
        {"Subtract", sub2, 0, {0, 0, 1, 2, -1, -2, 0, 0}, {0, 0, 1, 2, -1, -2, 0, 0}, {0, 0, 1, 2, -1, -2, 0, 0}},
        {"Average", lf_average, 0, {0, 0, .5f, 1, .5f, 1, 3, 4}, {0, 0, .5f, 1, .5f, 1, 3, 4},
         {0, 0, .5f, 1, .5f, 1, 3, 4}},
        /* a masked step reads as 1; every input masked: 0 where the OR is 0 */
        {"Multiply", lf_multiply, 0, {0, 0, 0, 0, 1, 2, 9, 16}, {0, 0, 1, 2, 1, 2, 9, 16},
         {0, 0, 0, 0, 0, 0, 9, 16}},
        /* x2's masked steps read as the running output; x1's masked steps
         * (while all so far are masked) take x2's value */
        {"Maximum", lf_maximum, 1, {0, 0, 0, 0, -1, -2, -3, -4}, {0, 0, -1, -2, -1, -2, -3, -4},
         {0, 0, 0, 0, 0, 0, -3, -4}},
        {"Minimum", lf_minimum, 0, {0, 0, 0, 0, 1, 2, 3, 4}, {0, 0, 1, 2, 1, 2, 3, 4}, {0, 0, 0, 0, 0, 0, 3, 4}},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char w[96];
        snprintf(w, sizeof w, "%s, x1 masked (Keras 3: no mask)", c[i].name);
        by_hand(w, c[i].f, c[i].neg, 0, LF_MASK_RULE_KERAS, c[i].one, NULL);
        snprintf(w, sizeof w, "%s, both masked (Keras 3: the OR)", c[i].name);
        by_hand(w, c[i].f, c[i].neg, 1, LF_MASK_RULE_KERAS, c[i].both, or);
        snprintf(w, sizeof w, "%s, x1 masked, earlier files' rule (x1's mask)", c[i].name);
        by_hand(w, c[i].f, c[i].neg, 0, LF_MASK_RULE_KEEP, c[i].keep, one);
    }
}

/* a model file's header, its JSON unescaped (the architecture is a string
 * in the safetensors metadata) */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 1 << 16);
    size_t n = b ? fread(b, 1, (1 << 16) - 1, f) : 0, k = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i] != '\\' && b[i] != '\0') b[k++] = b[i];
    if (b) b[k] = '\0';
    fclose(f);
    return b;
}

/* the fixture's model (tests/compat/merge_masks.lf, written by main at
 * d6faae0): Multiply, Maximum, Minimum of a masked Embedding and an
 * unmasked Dense, added, pooled, a Dense */
static int fixture_model(lf_model *m) {
    int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "x");
    int e = lf_embedding(m, ids, 6, 2, 1, "emb");
    int dx = lf_dense(m, x, 2, LF_ACT_LINEAR, 1, "dx");
    int mul = lf_multiply(m, 2, (int[]){e, dx}, "mul");
    int mx = lf_maximum(m, 2, (int[]){e, dx}, "max");
    int mn = lf_minimum(m, 2, (int[]){dx, e}, "min");
    int s = lf_add(m, 3, (int[]){mul, mx, mn}, "sum");
    int p = lf_global_average_pooling1d(m, s, "gap");
    return lf_dense(m, p, 1, LF_ACT_LINEAR, 1, "out");
}

static const float IDS[3 * 4] = {1, 2, 0, 0, 3, 0, 4, 5, 0, 0, 0, 0};
static const float XV[3 * 8] = {0.5f, -1, 2, 0.25f, -0.75f, 1.5f, 1, -2, 0.1f, 0.2f, -0.3f, 0.4f,
                                1, 1, -1, 0.5f, 2, -2, 0.3f, 0.7f, -0.2f, 0.9f, 1.1f, -0.6f};

/* A file written before Keras 3's rule predicts what it predicted then
 * (main's bits), and keeps its rule through a save; the same model built
 * today follows Keras 3 and its file says so */
static void test_old_file(void) {
    const float then[3] = {-0x1.76d684p-1f, -0x1.804ac2p-2f, 0.0f}; /* main at d6faae0 */
    const float *xs[2] = {IDS, XV};
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, "tests/compat/merge_masks.lf") == LF_OK, "load the fixture: %s", lf_model_error(l));
    float y[3], y2[3];
    CHECK(lf_model_predict(l, xs, 3, y) == LF_OK && memcmp(y, then, sizeof y) == 0,
          "the fixture predicts %a %a %a, main predicted %a %a %a", y[0], y[1], y[2], then[0], then[1], then[2]);
    int mul = lf_node_find(l, "mul");
    CHECK(mul >= 0 && !l->nodes[mul].keras_masks && l->nodes[mul].seq_mask == lf_node_find(l, "emb"),
          "the old file's Multiply keeps the Embedding's mask");
    char path[128];
    snprintf(path, sizeof path, "%s/old_again.lf", tmpdir);
    CHECK(lf_model_save(l, path, 0) == LF_OK, "save: %s", lf_model_error(l));
    char *txt = slurp(path);
    CHECK(txt && !strstr(txt, "keras_masks"), "saved again, the old model's file has no keras_masks");
    free(txt);
    lf_model *l2;
    lf_model_create(&l2, 0);
    CHECK(lf_model_load(l2, path) == LF_OK && lf_model_predict(l2, xs, 3, y2) == LF_OK &&
              memcmp(y2, then, sizeof y2) == 0,
          "saved and loaded again, the same bits");
    lf_model_free(l2);

    /* today's build of that model, with the fixture's weights: Keras 3 */
    lf_model *m;
    lf_model_create(&m, 7);
    int o = fixture_model(m);
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    const char *names[] = {"emb", "dx", "out"};
    for (size_t k = 0; k < 3; k++)
        for (size_t w = 0; w < lf_layer_num_weights(l, names[k]); w++) {
            float buf[64];
            size_t sh[2], n = 0;
            CHECK(lf_layer_weight_shape(l, names[k], w, sh, &n) == LF_OK && n <= 64 &&
                      lf_get_weights(l, names[k], w, buf, n) == LF_OK &&
                      lf_set_weights(m, names[k], w, buf, n) == LF_OK,
                  "copy %s.%zu: %s", names[k], w, lf_model_error(m));
        }
    CHECK(m->nodes[lf_node_find(m, "mul")].seq_mask == -1, "Keras 3: Multiply of a masked and an unmasked input has no mask");
    CHECK(lf_model_predict(m, xs, 3, y) == LF_OK && memcmp(y, then, sizeof y) != 0, "Keras 3's rule predicts otherwise");
    /* by hand, row 0 (ids 1 2 0 0): at the padded steps 2, 3 Multiply reads
     * the Embedding as 1 and Maximum / Minimum read it as the Dense's value:
     * sum = 3 dx; the real steps: e dx + max + min = e dx + e + dx; pooled
     * over all four steps (no mask), then the Dense */
    float E[12], dk[4], db[2], ok[2], ob[1];
    CHECK(lf_get_weights(l, "emb", 0, E, 12) == LF_OK && lf_get_weights(l, "dx", 0, dk, 4) == LF_OK &&
              lf_get_weights(l, "dx", 1, db, 2) == LF_OK && lf_get_weights(l, "out", 0, ok, 2) == LF_OK &&
              lf_get_weights(l, "out", 1, ob, 1) == LF_OK,
          "the fixture's weights");
    double pool[2] = {0, 0};
    for (int t = 0; t < 4; t++)
        for (int d = 0; d < 2; d++) {
            double v = db[d] + (double)dk[d * 2] * XV[t * 2] + (double)dk[d * 2 + 1] * XV[t * 2 + 1];
            int id = (int)IDS[t];
            double e = E[id * 2 + d];
            pool[d] += id ? e * v + e + v : 3 * v;
        }
    double want = ob[0] + ok[0] * pool[0] / 4 + ok[1] * pool[1] / 4;
    CHECK(fabs(y[0] - want) < 1e-5, "Keras 3's rule, row 0 by hand: %.9g, want %.9g", y[0], want);
    snprintf(path, sizeof path, "%s/new.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    txt = slurp(path);
    CHECK(txt && strstr(txt, "\"name\":\"mul\",\"type\":\"Multiply\",\"inbound\":[\"emb\",\"dx\"],\"keras_masks\":true"),
          "the new file marks its merges of masked inputs");
    CHECK(txt && strstr(txt, "\"name\":\"sum\",\"type\":\"Add\",\"inbound\":[\"mul\",\"max\",\"min\"]}"),
          "a merge of unmasked inputs is written as before");
    free(txt);
    lf_model_create(&l2, 0);
    CHECK(lf_model_load(l2, path) == LF_OK && lf_model_predict(l2, xs, 3, y2) == LF_OK &&
              memcmp(y2, y, sizeof y) == 0,
          "the new file loads with Keras 3's rule: %s", lf_model_error(l2));
    lf_model_free(l2);
    /* a bad flag */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    CHECK(check_edit_file(path, bad, "keras_masks\\\":true", "keras_masks\\\":3333"), "edit the flag");
    lf_model_create(&l2, 0);
    CHECK(lf_model_load(l2, bad) == LF_ERR_FORMAT && strstr(lf_model_error(l2), "'keras_masks'"),
          "keras_masks 3333 is refused: %s", lf_model_error(l2));
    lf_model_free(l2);
    lf_model_free(m);
    lf_model_free(l);
}

/* Keras' broadcasting: (T, D) with (1, D) and (D), (H, W, C) with
 * (1, 1, C), by hand; and its error */
static void test_broadcast(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int a = lf_input_shape(m, 2, (size_t[]){3, 2}, LF_DTYPE_FLOAT32, "a");
    int b = lf_input_shape(m, 2, (size_t[]){1, 2}, LF_DTYPE_FLOAT32, "b");
    int c = lf_input(m, 2, "c");
    int col = lf_input_shape(m, 2, (size_t[]){3, 1}, LF_DTYPE_FLOAT32, "col");
    int s1 = lf_add(m, 2, (int[]){a, b}, "s1");
    int s2 = lf_subtract(m, c, a, "s2");
    int s3 = lf_multiply(m, 3, (int[]){col, b, a}, "s3");
    int s4 = lf_maximum(m, 2, (int[]){col, c}, "s4"); /* (3, 1) with (2): (3, 2) */
    size_t dims[3];
    for (int s = s1; s <= s4; s++)
        CHECK(lf_node_shape(m, s, dims) == 2 && dims[0] == 3 && dims[1] == 2, "node %d: (3, 2)", s);
    int cat = lf_concatenate(m, 4, (int[]){lf_flatten(m, s1, NULL), lf_flatten(m, s2, NULL), lf_flatten(m, s3, NULL),
                                           lf_flatten(m, s4, NULL)},
                             "cat");
    CHECK(lf_model_compile(m, cat, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float av[6] = {1, 2, 3, 4, 5, 6}, bv[2] = {10, 20}, cv[2] = {-1, 7}, colv[3] = {2, -3, 0.5f};
    const float *xs[4] = {av, bv, cv, colv};
    float y[24];
    CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict: %s", lf_model_error(m));
    float want[24];
    for (int t = 0; t < 3; t++)
        for (int d = 0; d < 2; d++) {
            want[t * 2 + d] = av[t * 2 + d] + bv[d];
            want[6 + t * 2 + d] = cv[d] - av[t * 2 + d];
            want[12 + t * 2 + d] = colv[t] * bv[d] * av[t * 2 + d];
            want[18 + t * 2 + d] = colv[t] > cv[d] ? colv[t] : cv[d];
        }
    CHECK_CLOSE("broadcast by hand", y, want, 24, 0, 0);
    lf_model_free(m);

    lf_model_create(&m, 1);
    int img = lf_input_shape(m, 3, (size_t[]){2, 2, 3}, LF_DTYPE_FLOAT32, "img");
    int ch = lf_input_shape(m, 3, (size_t[]){1, 1, 3}, LF_DTYPE_FLOAT32, "ch");
    int s = lf_average(m, 2, (int[]){img, ch}, "avg");
    CHECK(lf_node_shape(m, s, dims) == 3 && dims[0] == 2 && dims[1] == 2 && dims[2] == 3, "(2, 2, 3)");
    CHECK(lf_model_compile(m, lf_flatten(m, s, NULL), LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float iv[12], cv3[3] = {1, 2, 3}, w12[12], y12[12];
    for (int i = 0; i < 12; i++) iv[i] = (float)i, w12[i] = 0.5f * ((float)i + cv3[i % 3]);
    const float *xs2[2] = {iv, cv3};
    CHECK(lf_model_predict(m, xs2, 1, y12) == LF_OK, "predict");
    CHECK_CLOSE("(H, W, C) with (1, 1, C)", y12, w12, 12, 0, 0);
    lf_model_free(m);
    /* Keras' error: the shapes so far and the next input's */
    lf_model_create(&m, 1);
    img = lf_input_shape(m, 3, (size_t[]){2, 2, 3}, LF_DTYPE_FLOAT32, "img");
    int odd = lf_input_shape(m, 2, (size_t[]){3, 2}, LF_DTYPE_FLOAT32, "odd");
    CHECK(lf_add(m, 2, (int[]){img, odd}, "bad") == -1 &&
              strcmp(lf_model_error(m), "Add: Inputs have incompatible shapes. Received shapes (2, 2, 3) and (3, 2) "
                                        "(at input 1, 'odd')") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);

    /* a masked input broadcast along the steps is refused; on the features, kept */
    lf_model_create(&m, 1);
    int x = lf_input_shape(m, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "x");
    int one = lf_input_shape(m, 2, (size_t[]){1, 2}, LF_DTYPE_FLOAT32, "one");
    int feat = lf_input_shape(m, 2, (size_t[]){4, 1}, LF_DTYPE_FLOAT32, "feat");
    int mo = lf_masking(m, one, 0.0f, "mone"), mx = lf_masking(m, x, 0.0f, "mx"), mf = lf_masking(m, feat, 0.0f, "mf");
    int ok = lf_multiply(m, 2, (int[]){mx, mf}, "ok");
    CHECK(ok >= 0 && m->nodes[ok].seq_mask == ok, "(4, 2) and (4, 1), both masked: the OR (%s)", lf_model_error(m));
    CHECK(lf_add(m, 2, (int[]){mx, mo}, "steps") == -1 &&
              strcmp(lf_model_error(m), "Add: input 'mone' of shape (None, 1, 2) carries a padding mask but is "
                                        "broadcast along the steps of the output (None, 4, 2); a broadcast padding "
                                        "mask is not supported") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
}

/* Dot(axes=2, normalize=True) of a (B, 3, 4) and b (B, 2, 4), forward and
 * backward against the cosine and its derivative in double: backward reads
 * the sums of squares, norms and inner products forward kept (aux) instead
 * of summing them again.  A zero fiber and a fiber whose |a|^2 is below
 * Keras' 1e-12 (the norm the constant 1e-6: d/da = b / (na nb)) */
static void test_dot_normalized(void) {
    enum { B = 2, FA = 3, FB = 2, K = 4 };
    lf_model *m;
    lf_model_create(&m, 3);
    int a = lf_input_shape(m, 2, (size_t[]){FA, K}, LF_DTYPE_FLOAT32, "a");
    int b = lf_input_shape(m, 2, (size_t[]){FB, K}, LF_DTYPE_FLOAT32, "b");
    int d = lf_dot_axes(m, a, b, 2, 2, 1, "dot");
    int f = lf_flatten(m, d, "f");
    CHECK(lf_model_compile(m, f, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float xa[B * FA * K], xb[B * FB * K], t[B * FA * FB];
    for (int i = 0; i < B * FA * K; i++) xa[i] = (float)((i * 7) % 11) / 4.0f - 1.2f;
    for (int i = 0; i < B * FB * K; i++) xb[i] = (float)((i * 5) % 13) / 5.0f - 1.1f;
    for (int i = 0; i < B * FA * FB; i++) t[i] = (float)(i % 3) - 1.0f;
    for (int k = 0; k < K; k++) xa[1 * K + k] = 0.0f, xa[(FA + 2) * K + k] = 1e-7f * (float)(k + 1);
    const float *xs[2] = {xa, xb};
    float y[B * FA * FB], *outs[8] = {0};
    outs[d] = y;
    CHECK(lf__forward_nodes(m, xs, B, outs) == LF_OK, "forward");
    float ga[B * FA * K], gb[B * FB * K], *ig[2] = {ga, gb};
    double loss;
    CHECK(lf__loss_and_grads(m, xs, t, B, 0, 0, &loss, ig) == LF_OK, "gradients: %s", lf_model_error(m));
    double ra[B * FA * K] = {0}, rb[B * FB * K] = {0};
    int ok_y = 1, ok_g = 1;
    for (int r = 0; r < B; r++)
        for (int i = 0; i < FA; i++)
            for (int j = 0; j < FB; j++) {
                const float *u = xa + (r * FA + i) * K, *v = xb + (r * FB + j) * K;
                double uv = 0, uu = 0, vv = 0;
                for (int k = 0; k < K; k++) uv += (double)u[k] * v[k], uu += (double)u[k] * u[k], vv += (double)v[k] * v[k];
                double nu = sqrt(uu > 1e-12 ? uu : 1e-12), nv = sqrt(vv > 1e-12 ? vv : 1e-12), c = uv / (nu * nv);
                size_t at = (size_t)(r * FA + i) * FB + (size_t)j;
                ok_y &= fabs(y[at] - c) <= 1e-6 * (fabs(c) + 1e-3);
                double g = 2.0 * ((double)y[at] - t[at]) / (B * FA * FB); /* MSE's dL/dy */
                for (int k = 0; k < K; k++) {
                    ra[(r * FA + i) * K + k] += g * (v[k] / nv - (uu > 1e-12 ? c * u[k] / nu : 0.0)) / nu;
                    rb[(r * FB + j) * K + k] += g * (u[k] / nu - (vv > 1e-12 ? c * v[k] / nv : 0.0)) / nv;
                }
            }
    double worst = 0;
    for (int i = 0; i < B * FA * K; i++) {
        double e = fabs(ga[i] - ra[i]) / (fabs(ra[i]) + 1e-3);
        worst = e > worst ? e : worst;
    }
    for (int i = 0; i < B * FB * K; i++) {
        double e = fabs(gb[i] - rb[i]) / (fabs(rb[i]) + 1e-3);
        worst = e > worst ? e : worst;
    }
    ok_g = worst < 1e-5;
    /* the clamped fiber's gradient is b / (na nb) times g: large, not 0 */
    CHECK(ok_y, "cosines against double");
    CHECK(ok_g && fabs(ra[(FA + 2) * K]) > 1e3, "gradients against double: worst relative error %g", worst);
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_merge_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_masks_by_hand();
    test_old_file();
    test_broadcast();
    test_dot_normalized();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return check_report("test_merge");
}
