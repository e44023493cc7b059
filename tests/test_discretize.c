/*
 * test_discretize.c — Keras' Discretization (discretize.c): the bins of
 * Keras' docstring examples and of ties, NaN and infinities (numpy's
 * digitize); adapt's boundaries against values worked out by hand from
 * Keras' summary (its docstring's example, 0..999 in 4 bins, 0..24 with
 * epsilon 0.1, where the summary is compressed twice); the layer in a fit
 * (its boundaries fixed); the model file's round trip and refusals; the
 * builder's and adapt's errors word for word; the output modes one_hot,
 * multi_hot and count against vectors worked out by hand (boundaries,
 * NaN, infinities; Keras' shapes: a last axis of 1 squeezed by one_hot),
 * their refusals, and their model files (mode and num_bins kept, the same
 * bytes saved again).
 */
#include "check.h"
#include "engine_util.h"

#include <stdlib.h>
#include <unistd.h>

static int same_bytes(const char *a, const char *b) {
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int same = f && g;
    while (same) {
        int c = fgetc(f), d = fgetc(g);
        if (c != d) same = 0;
        if (c == EOF || d == EOF) break;
    }
    if (f) fclose(f);
    if (g) fclose(g);
    return same;
}

/* x (D) -> Discretization(b) "disc", the model's output */
static lf_model *disc_model(size_t D, const float *b, size_t n, int *node) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, D, "x");
    *node = lf_discretization(m, x, b, n, "disc");
    CHECK(*node > 0 && lf_model_compile(m, *node, LF_LOSS_MSE, NULL) == LF_OK, "build: %s", lf_model_error(m));
    return m;
}

static void test_bins(void) {
    /* Keras' docstring: bin_boundaries=[0., 1., 2.] */
    const float b[3] = {0, 1, 2};
    const float x[8] = {-1.5f, 1.0f, 3.4f, 0.5f, 0.0f, 3.0f, 1.3f, 0.0f};
    const float want[8] = {0, 2, 3, 1, 1, 3, 2, 1};
    int node;
    lf_model *m = disc_model(4, b, 3, &node);
    float y[8];
    const float *xs[1] = {x};
    CHECK(lf_model_predict(m, xs, 2, y) == LF_OK && memcmp(y, want, sizeof y) == 0,
          "docstring: %g %g %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]);
    lf_model_free(m);
    /* ties go up (b[k] <= x), repeated boundaries, NaN last, infinities */
    const float b2[4] = {-1, 1, 1, 2};
    const float x2[8] = {-1, 1, 0.999f, 2, NAN, -INFINITY, INFINITY, -1.0001f};
    const float want2[8] = {1, 3, 1, 4, 4, 0, 4, 0};
    m = disc_model(8, b2, 4, &node);
    const float *xs2[1] = {x2};
    CHECK(lf_model_predict(m, xs2, 1, y) == LF_OK && memcmp(y, want2, sizeof y) == 0,
          "ties: %g %g %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]);
    lf_model_free(m);
}

/* adapt against Keras' summary worked out by hand */
static void test_adapt(void) {
    float bins[8];
    size_t nb = 0;
    char err[200];
    /* Keras' docstring: num_bins=4, epsilon=0.01 -> [0, 0.5, 1.3] (8 values,
     * each its own summary point; compressed to 4 at 1/4: the values at
     * cumulative weights 2/8, 4/8, 6/8 and 8/8, the last dropped); its
     * layer then maps the input to [[0, 2, 3, 2], [1, 3, 3, 1]] */
    const float x[8] = {-1.5f, 1.0f, 3.4f, 0.5f, 0.0f, 3.0f, 1.3f, 0.0f};
    CHECK(lf_discretization_adapt(x, 8, 4, 0.01, bins, &nb, err, sizeof err) == LF_OK && nb == 3 && bins[0] == 0.0f &&
              bins[1] == 0.5f && bins[2] == 1.3f,
          "docstring: %zu boundaries %g %g %g (%s)", nb, bins[0], bins[1], bins[2], err);
    int node;
    lf_model *m = disc_model(4, bins, nb, &node);
    float y[8];
    const float want[8] = {0, 2, 3, 2, 1, 3, 3, 1}, *xs[1] = {x};
    CHECK(lf_model_predict(m, xs, 2, y) == LF_OK && memcmp(y, want, sizeof y) == 0, "docstring's adapted layer");
    lf_model_free(m);
    /* 0..999, 4 bins: summarize takes 10, 20, ..., 990 (every 10th from
     * index int(1000 * 0.01) = 10), 99 points weighing 10; at 1/4 the
     * values at cumulative share p = 1/4, 1/2, 3/4 lie at 99 p points:
     * 240 + 0.75 * 10, 490 + 0.5 * 10, 740 + 0.25 * 10 (exact quantiles
     * would be 249.75, 499.5, 749.25) */
    float *big = malloc(1000 * sizeof *big);
    for (int i = 0; i < 1000; i++) big[999 - i] = (float)i; /* unsorted: adapt sorts */
    CHECK(lf_discretization_adapt(big, 1000, 4, 0.01, bins, &nb, err, sizeof err) == LF_OK && nb == 3 &&
              fabsf(bins[0] - 247.5f) < 1e-3f && fabsf(bins[1] - 495.0f) < 1e-3f && fabsf(bins[2] - 742.5f) < 1e-3f,
          "0..999: %zu boundaries %.6g %.6g %.6g (%s)", nb, bins[0], bins[1], bins[2], err);
    /* 0..24, epsilon 0.1, 3 bins: summarize takes 2, 4, ..., 24 (from
     * int(2.5) every int(2.5)), 12 points weighing 2.5; 12 * 0.1 >= 1, so
     * compressed to 10 points at p = 0.1 .. 1: the line through them is
     * 24 p (value) and 30 p (weight): 2.4, 4.8, ..., 24 weighing 3; at
     * 1/3: 24 / 3, 48 / 3 */
    for (int i = 0; i < 25; i++) big[i] = (float)((i * 7) % 25);
    CHECK(lf_discretization_adapt(big, 25, 3, 0.1, bins, &nb, err, sizeof err) == LF_OK && nb == 2 &&
              fabsf(bins[0] - 8.0f) < 1e-5f && fabsf(bins[1] - 16.0f) < 1e-5f,
          "0..24: %zu boundaries %.7g %.7g (%s)", nb, bins[0], bins[1], err);
    /* fewer values than bins: Keras' summary keeps them, all but the last */
    const float few[3] = {5, 1, 3};
    CHECK(lf_discretization_adapt(few, 3, 10, 0.01, bins, &nb, err, sizeof err) == LF_OK && nb == 2 &&
              bins[0] == 1.0f && bins[1] == 3.0f,
          "3 values, 10 bins: %zu boundaries %g %g", nb, bins[0], bins[1]);
    free(big);
    static const struct {
        size_t n, num_bins;
        double eps;
        const char *msg;
    } cases[] = {
        {0, 4, 0.01, "Discretization.adapt: no data (0 values)"},
        {8, 1, 0.01, "Discretization.adapt: num_bins must be >= 2 (a boundary between two bins), got 1"},
        {8, 4, 0.0, "Discretization.adapt: epsilon must be in (0, 1], got 0"},
        {8, 4, 1.5, "Discretization.adapt: epsilon must be in (0, 1], got 1.5"},
        {1, 4, 0.01, "Discretization.adapt: 1 values give no bin boundary (Keras' summary of them has one point)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lf_status st = lf_discretization_adapt(x, cases[c].n, cases[c].num_bins, cases[c].eps, bins, &nb, err,
                                               sizeof err);
        CHECK(st == LF_ERR_ARG && strcmp(err, cases[c].msg) == 0, "case %zu: want \"%s\", got \"%s\"", c,
              cases[c].msg, err);
    }
    const float withnan[3] = {1, NAN, 2};
    CHECK(lf_discretization_adapt(withnan, 3, 2, 0.01, bins, &nb, err, sizeof err) == LF_ERR_ARG &&
              strcmp(err, "Discretization.adapt: value 1 is NaN") == 0,
          "%s", err);
}

static void test_errors(void) {
    static const struct {
        float b[3];
        size_t n;
        const char *msg;
    } cases[] = {
        {{0, 0, 0}, 0, "Discretization: 0 bin boundaries; it needs 1..268435456"},
        {{0, 3, 1}, 3, "Discretization: bin_boundaries must be sorted: bin_boundaries[2] = 1 < bin_boundaries[1] = 3"},
        {{0, NAN, 1}, 3, "Discretization: bin_boundaries[1] is NaN"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = lf_input(m, 2, "x");
        CHECK(lf_discretization(m, x, cases[c].b, cases[c].n, NULL) == -1 &&
                  strcmp(lf_model_error(m), cases[c].msg) == 0,
              "case %zu: want \"%s\", got \"%s\"", c, cases[c].msg, lf_model_error(m));
        lf_model_free(m);
    }
}

/* x (3) -> Discretization -> CategoryEncoding(4, multi_hot) -> Dense(1):
 * the fit trains the Dense only (no gradient through the bins; their
 * weight fixed); saved and loaded, the same predictions and boundaries;
 * the file's refusal of a bad count */
static void test_fit_and_file(void) {
    enum { N = 64 };
    const float b[3] = {-0.5f, 0.0f, 0.5f};
    lf_model *m;
    lf_model_create(&m, 2);
    int x = lf_input(m, 3, "x");
    int d = lf_discretization(m, x, b, 3, "disc");
    CHECK(d > 0, "%s", lf_model_error(m));
    int o = lf_dense(m, lf_category_encoding(m, d, 4, LF_CATEGORY_MULTI_HOT, NULL), 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float xv[N * 3], yv[N];
    fill_uniform(xv, N * 3, -1, 1, 3);
    for (int r = 0; r < N; r++) yv[r] = xv[3 * r] > 0 ? 1.0f : -1.0f;
    const float *xs[1] = {xv};
    lf_fit_options opt = lf_fit_defaults();
    opt.epochs = 3, opt.batch_size = 16;
    CHECK(lf_model_fit(m, xs, yv, N, &opt) == LF_OK, "fit: %s", lf_model_error(m));
    float got[3] = {0};
    CHECK(lf_get_weights(m, "disc", 0, got, 3) == LF_OK && memcmp(got, b, sizeof got) == 0,
          "the boundaries are not trained: %g %g %g", got[0], got[1], got[2]);
    char dir[] = "/tmp/lf_disc_XXXXXX";
    if (!mkdtemp(dir)) return;
    char path[64], bad[64];
    snprintf(path, sizeof path, "%s/d.lf", dir);
    snprintf(bad, sizeof bad, "%s/b.lf", dir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    float p1[N], p2[N];
    CHECK(lf_model_predict(m, xs, N, p1) == LF_OK && lf_model_predict(l, xs, N, p2) == LF_OK &&
              memcmp(p1, p2, sizeof p1) == 0,
          "the loaded model predicts the same bits");
    int dl = lf_node_find(l, "disc");
    memset(got, 0, sizeof got);
    CHECK(dl > 0 && lf_get_weights(l, "disc", 0, got, 3) == LF_OK && memcmp(got, b, sizeof got) == 0,
          "loaded boundaries %g %g %g", got[0], got[1], got[2]);
    lf_model_free(l);
    CHECK(check_edit_file(path, bad, "num_boundaries\\\":3", "num_boundaries\\\":0"), "edit");
    lf_model_create(&l, 0);
    char want[160];
    snprintf(want, sizeof want, "'%s': architecture: layer 'disc': 'num_boundaries' must be an integer in 1..268435456",
             bad);
    CHECK(lf_model_load(l, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(l), want) == 0, "got \"%s\"",
          lf_model_error(l));
    lf_model_free(l);
    remove(path), remove(bad), rmdir(dir);
    lf_model_free(m);
}

/* x (shape) -> Discretization(b, mode, num_bins) "disc", the output; NULL
 * when the builder refuses, its message in err */
static lf_model *mode_model(const size_t *shape, size_t rank, const float *b, size_t n, lf_discretization_mode mode,
                            size_t num_bins, char *err, size_t cap) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input_shape(m, rank, shape, LF_DTYPE_FLOAT32, "x");
    lf_discretization_options opt = {mode, num_bins, 0};
    int d = lf_discretization_opt(m, x, b, n, &opt, "disc");
    if (d < 0 || lf_model_compile(m, d, LF_LOSS_MSE, NULL) != LF_OK) {
        snprintf(err, cap, "%s", lf_model_error(m));
        lf_model_free(m);
        return NULL;
    }
    return m;
}

/* the output modes by hand: b = {0, 1, 2}, depth 4; a boundary is in the
 * bin it opens, -inf in bin 0, +inf and NaN in bin 3 */
static void test_modes(void) {
    const float b[3] = {0, 1, 2};
    char err[256] = "";
    size_t dims[LF_MAX_RANK] = {0};
    /* one_hot of (1,): Keras squeezes the last axis: (4,) a sample */
    const float x1[7] = {-1, 0, 1, 2, NAN, -INFINITY, INFINITY};
    const float want1[28] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1};
    size_t s1[1] = {1};
    lf_model *m = mode_model(s1, 1, b, 3, LF_DISCRETIZATION_ONE_HOT, 0, err, sizeof err);
    CHECK(m != NULL, "one_hot (1,): %s", err);
    if (m) {
        float y[28];
        const float *xs[1] = {x1};
        CHECK(lf_node_shape(m, lf_node_find(m, "disc"), dims) == 1 && dims[0] == 4, "one_hot (1,) -> (4,)");
        CHECK(lf_model_predict(m, xs, 7, y) == LF_OK && memcmp(y, want1, sizeof y) == 0, "one_hot (1,) values");
        lf_model_free(m);
    }
    /* one_hot of (3,): (3, 4) */
    const float x3[6] = {0.5f, 2, -3, 0.999f, NAN, 1};
    const float want3[24] = {0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0};
    size_t s3[1] = {3};
    m = mode_model(s3, 1, b, 3, LF_DISCRETIZATION_ONE_HOT, 0, err, sizeof err);
    CHECK(m != NULL, "one_hot (3,): %s", err);
    if (m) {
        float y[24];
        const float *xs[1] = {x3};
        CHECK(lf_node_shape(m, lf_node_find(m, "disc"), dims) == 2 && dims[0] == 3 && dims[1] == 4,
              "one_hot (3,) -> (3, 4)");
        CHECK(lf_model_predict(m, xs, 2, y) == LF_OK && memcmp(y, want3, sizeof y) == 0, "one_hot (3,) values");
        lf_model_free(m);
    }
    /* one_hot of (2, 1): (2, 4); of (2, 3): (2, 3, 4) */
    size_t s21[2] = {2, 1}, s23[2] = {2, 3};
    m = mode_model(s21, 2, b, 3, LF_DISCRETIZATION_ONE_HOT, 0, err, sizeof err);
    CHECK(m && lf_node_shape(m, lf_node_find(m, "disc"), dims) == 2 && dims[0] == 2 && dims[1] == 4,
          "one_hot (2, 1) -> (2, 4): %s", err);
    lf_model_free(m);
    m = mode_model(s23, 2, b, 3, LF_DISCRETIZATION_ONE_HOT, 0, err, sizeof err);
    CHECK(m && lf_node_shape(m, lf_node_find(m, "disc"), dims) == 3 && dims[0] == 2 && dims[1] == 3 && dims[2] == 4,
          "one_hot (2, 3) -> (2, 3, 4): %s", err);
    lf_model_free(m);
    /* multi_hot and count of (4,): (4,), over each row's values */
    const float x4[8] = {0, 0.5f, 3, NAN, -INFINITY, 1, 1.5f, 2};
    const float want_mh[8] = {0, 1, 0, 1, 1, 0, 1, 1}, want_ct[8] = {0, 2, 0, 2, 1, 0, 2, 1};
    size_t s4[1] = {4};
    for (int c = 0; c < 2; c++) {
        m = mode_model(s4, 1, b, 3, c ? LF_DISCRETIZATION_COUNT : LF_DISCRETIZATION_MULTI_HOT, 0, err, sizeof err);
        CHECK(m != NULL, "%s: %s", c ? "count" : "multi_hot", err);
        if (!m) continue;
        float y[8];
        const float *xs[1] = {x4};
        CHECK(lf_node_shape(m, lf_node_find(m, "disc"), dims) == 1 && dims[0] == 4, "(4,) -> (4,)");
        CHECK(lf_model_predict(m, xs, 2, y) == LF_OK && memcmp(y, c ? want_ct : want_mh, sizeof y) == 0,
              "%s: %g %g %g %g  %g %g %g %g", c ? "count" : "multi_hot", y[0], y[1], y[2], y[3], y[4], y[5], y[6],
              y[7]);
        lf_model_free(m);
    }
    /* refusals, word for word */
    size_t s5d[5] = {2, 2, 2, 2, 2};
    struct {
        const size_t *shape;
        size_t rank;
        int mode;
        const char *want;
    } cases[] = {
        {s23, 2, LF_DISCRETIZATION_MULTI_HOT,
         "Discretization: output_mode \"multi_hot\" takes inputs of shape (batch, d); input 'x' has shape (None, 2, 3) (Keras 3 "
         "reduces such an input over its axis 1, not its last axis)"},
        {s21, 2, LF_DISCRETIZATION_COUNT,
         "Discretization: output_mode \"count\" takes inputs of shape (batch, d); input 'x' has shape (None, 2, 1) (Keras 3 "
         "reduces such an input over its axis 1, not its last axis)"},
        {s5d, 5, LF_DISCRETIZATION_ONE_HOT,
         "Discretization: output_mode \"one_hot\" of input 'x' of shape (None, 2, 2, 2, 2, 2) in 4 bins is too large "
         "(rank at most 5, 268435456 values)"},
        {s4, 1, 7,
         "Discretization: output_mode 7 is none of LF_DISCRETIZATION_INT, LF_DISCRETIZATION_ONE_HOT, "
         "LF_DISCRETIZATION_MULTI_HOT, LF_DISCRETIZATION_COUNT"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        err[0] = '\0';
        m = mode_model(cases[c].shape, cases[c].rank, b, 3, (lf_discretization_mode)cases[c].mode, 0, err,
                       sizeof err);
        CHECK(m == NULL && strcmp(err, cases[c].want) == 0, "case %zu: got \"%s\"", c, err);
        lf_model_free(m);
    }
}

/* each mode and num_bins through a model file: the same predictions, the
 * same bytes saved again, the fields in the file; a bad mode refused */
static void test_mode_files(void) {
    const float b[3] = {-0.5f, 0.0f, 0.5f};
    char dir[] = "/tmp/lf_discm_XXXXXX";
    if (!mkdtemp(dir)) return;
    char path[64], path2[64], bad[64], err[256] = "";
    snprintf(path, sizeof path, "%s/d.lf", dir);
    snprintf(path2, sizeof path2, "%s/e.lf", dir);
    snprintf(bad, sizeof bad, "%s/b.lf", dir);
    static const char *const field[4] = {NULL, "output_mode\\\":\\\"one_hot", "output_mode\\\":\\\"multi_hot",
                                         "output_mode\\\":\\\"count"};
    size_t s3[1] = {3};
    float xv[12];
    fill_uniform(xv, 12, -1, 1, 5);
    xv[1] = NAN, xv[2] = 0.0f;
    for (int mode = 0; mode < 4; mode++) {
        lf_model *m = mode_model(s3, 1, b, 3, (lf_discretization_mode)mode, mode ? 4 : 0, err, sizeof err);
        CHECK(m != NULL, "mode %d: %s", mode, err);
        if (!m) continue;
        CHECK(lf_model_save(m, path, LF_WRITE_NO_FSYNC) == LF_OK, "save: %s", lf_model_error(m));
        lf_model *l;
        lf_model_create(&l, 0);
        CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
        float p1[48], p2[48];
        const float *xs[1] = {xv};
        CHECK(lf_model_predict(m, xs, 4, p1) == LF_OK && lf_model_predict(l, xs, 4, p2) == LF_OK &&
                  memcmp(p1, p2, lf_model_output_dim(m) * 4 * sizeof(float)) == 0,
              "mode %d: the loaded model predicts the same bits", mode);
        CHECK(lf_model_save(l, path2, LF_WRITE_NO_FSYNC) == LF_OK && same_bytes(path, path2),
              "mode %d: saved again, the same bytes", mode);
        lf_model_free(l);
        /* the fields are there (or, for "int" without num_bins, absent as in earlier files) */
        CHECK(check_edit_file(path, bad, "num_bins\\\":4", "num_bins\\\":0") == (mode != 0), "mode %d: num_bins",
              mode);
        if (mode) {
            lf_model_create(&l, 0);
            char want[200];
            snprintf(want, sizeof want, "'%s': architecture: layer 'disc': 'num_bins' must be an integer in "
                     "1..268435456", bad);
            CHECK(lf_model_load(l, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(l), want) == 0, "got \"%s\"",
                  lf_model_error(l));
            lf_model_free(l);
            char to[40];
            snprintf(to, sizeof to, "%s", field[mode]);
            to[strlen(to) - 1] = 'X';
            CHECK(check_edit_file(path, bad, field[mode], to), "mode %d: field", mode);
            lf_model_create(&l, 0);
            snprintf(want, sizeof want, "'%s': architecture: layer 'disc': 'output_mode' must be \"int\", "
                     "\"one_hot\", \"multi_hot\" or \"count\"", bad);
            CHECK(lf_model_load(l, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(l), want) == 0, "got \"%s\"",
                  lf_model_error(l));
            lf_model_free(l);
        } else {
            CHECK(!check_edit_file(path, bad, "output_mode", "output_modX"), "int: no output_mode written");
        }
        lf_model_free(m);
    }
    /* Keras' epsilon: kept when not its default 0.01, read back to the bit */
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input_shape(m, 1, s3, LF_DTYPE_FLOAT32, "x");
    lf_discretization_options eo = {LF_DISCRETIZATION_INT, 4, 0.05};
    int d = lf_discretization_opt(m, x, b, 3, &eo, "disc");
    CHECK(d >= 0 && lf_model_compile(m, d, LF_LOSS_MSE, NULL) == LF_OK, "epsilon 0.05: %s", lf_model_error(m));
    CHECK(lf_model_save(m, path, LF_WRITE_NO_FSYNC) == LF_OK, "save: %s", lf_model_error(m));
    CHECK(check_edit_file(path, bad, "epsilon\\\":0.050000000000000003",
                          "epsilon\\\":1.500000000000000000"),
          "epsilon 0.05 written as the double it is");
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    CHECK(lf_model_save(l, path2, LF_WRITE_NO_FSYNC) == LF_OK && same_bytes(path, path2), "epsilon: saved again, "
          "the same bytes");
    lf_model_free(l);
    lf_model_create(&l, 0);
    char want[200];
    snprintf(want, sizeof want, "'%s': architecture: layer 'disc': 'epsilon' must be a number in (0, 1]", bad);
    CHECK(lf_model_load(l, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(l), want) == 0, "got \"%s\"",
          lf_model_error(l));
    lf_model_free(l);
    lf_model_free(m);
    /* 0.01 (and 0, its stand-in) are not written: the files before the field */
    for (int i = 0; i < 2; i++) {
        lf_model_create(&m, 1);
        x = lf_input_shape(m, 1, s3, LF_DTYPE_FLOAT32, "x");
        eo.epsilon = i ? 0.01 : 0;
        d = lf_discretization_opt(m, x, b, 3, &eo, "disc");
        CHECK(d >= 0 && lf_model_compile(m, d, LF_LOSS_MSE, NULL) == LF_OK &&
                  lf_model_save(m, path, LF_WRITE_NO_FSYNC) == LF_OK,
              "epsilon %g: %s", eo.epsilon, lf_model_error(m));
        CHECK(check_edit_file(path, bad, "num_bins\\\":4}", "num_bins\\\":4 "), "epsilon %g: not written",
              eo.epsilon);
        lf_model_free(m);
    }
    /* the builder refuses an epsilon outside (0, 1] */
    const double bad_eps[3] = {1.5, -0.1, NAN};
    const char *const want_eps[3] = {"Discretization: epsilon must be in (0, 1], got 1.5",
                                     "Discretization: epsilon must be in (0, 1], got -0.1",
                                     "Discretization: epsilon must be in (0, 1], got nan"};
    for (int i = 0; i < 3; i++) {
        lf_model_create(&m, 1);
        x = lf_input_shape(m, 1, s3, LF_DTYPE_FLOAT32, "x");
        eo.epsilon = bad_eps[i];
        CHECK(lf_discretization_opt(m, x, b, 3, &eo, "disc") == -1 && strcmp(lf_model_error(m), want_eps[i]) == 0,
              "epsilon %g: got \"%s\"", bad_eps[i], lf_model_error(m));
        lf_model_free(m);
    }
    remove(path), remove(path2), remove(bad), rmdir(dir);
}

int main(void) {
    test_bins();
    test_modes();
    test_mode_files();
    test_adapt();
    test_errors();
    test_fit_and_file();
    return check_report("test_discretize");
}
