/*
 * test_schedule.c — Keras 3's learning-rate schedules (lf_lr_schedule):
 * each kind's rate against values worked out by hand from Keras' formulas
 * (keras/src/optimizers/schedules/learning_rate_schedule.py); a fit with
 * a schedule against one train_on_batch per step at the rates set by
 * hand; the step count carried by a model file (a resumed fit goes on
 * with the schedule, bit for bit); compile's, set_learning_rate's and the
 * loader's refusals.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "check.h"
#include "latefuse.h"
#include "model.h" /* m->step, to start near the count's end */
#include "testing.h" /* lf__loss_and_grads: the gradient tests' step */

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static float rate(const lf_lr_schedule *s, float lr, uint64_t t) { return lf_lr_schedule_rate(s, lr, t); }

/* each kind at hand-worked steps (the rates are exact in binary, or
 * within float rounding of the decimal given) */
static void test_rates(void) {
    lf_lr_schedule s = lf_lr_schedule_default(LF_LR_EXPONENTIAL_DECAY);
    s.decay_steps = 10, s.decay_rate = 0.5;
    CHECK(rate(&s, 0.1f, 0) == 0.1f && rate(&s, 0.1f, 10) == 0.05f && rate(&s, 0.1f, 20) == 0.025f,
          "exponential: %g %g %g", rate(&s, 0.1f, 0), rate(&s, 0.1f, 10), rate(&s, 0.1f, 20));
    CHECK(fabsf(rate(&s, 1.0f, 15) - 0.35355339f) < 1e-7f, "exponential at 15: %g", rate(&s, 1.0f, 15));
    s.staircase = 1;
    CHECK(rate(&s, 1.0f, 15) == 0.5f && rate(&s, 1.0f, 9) == 1.0f, "staircase: %g %g", rate(&s, 1.0f, 15),
          rate(&s, 1.0f, 9));

    s = lf_lr_schedule_default(LF_LR_INVERSE_TIME_DECAY);
    s.decay_steps = 2, s.decay_rate = 1;
    CHECK(rate(&s, 1.0f, 6) == 0.25f && rate(&s, 1.0f, 1) == 1.0f / 1.5f, "inverse time: %g %g", rate(&s, 1.0f, 6),
          rate(&s, 1.0f, 1));
    s.staircase = 1;
    CHECK(rate(&s, 1.0f, 1) == 1.0f && rate(&s, 1.0f, 3) == 0.5f, "inverse time staircase: %g %g",
          rate(&s, 1.0f, 1), rate(&s, 1.0f, 3));

    s = lf_lr_schedule_default(LF_LR_POLYNOMIAL_DECAY);
    CHECK(s.end_learning_rate == 1e-4 && s.power == 1.0, "Keras' defaults: end %g power %g", s.end_learning_rate,
          s.power);
    s.decay_steps = 10, s.end_learning_rate = 0, s.power = 2;
    CHECK(rate(&s, 1.0f, 5) == 0.25f && rate(&s, 1.0f, 20) == 0.0f, "polynomial: %g %g", rate(&s, 1.0f, 5),
          rate(&s, 1.0f, 20));
    s.cycle = 1; /* at 15 the decay runs over 20 steps: (1 - 15/20)^2 */
    CHECK(rate(&s, 1.0f, 15) == 0.0625f && rate(&s, 1.0f, 0) == 1.0f, "polynomial cycle: %g %g",
          rate(&s, 1.0f, 15), rate(&s, 1.0f, 0));

    s = lf_lr_schedule_default(LF_LR_COSINE_DECAY);
    s.decay_steps = 10;
    CHECK(fabsf(rate(&s, 1.0f, 5) - 0.5f) < 1e-7f && rate(&s, 1.0f, 10) < 1e-7f && rate(&s, 1.0f, 30) < 1e-7f,
          "cosine: %g %g %g", rate(&s, 1.0f, 5), rate(&s, 1.0f, 10), rate(&s, 1.0f, 30));
    s.alpha = 0.1; /* the floor: 0.1 at the end, 0.55 halfway */
    CHECK(fabsf(rate(&s, 1.0f, 10) - 0.1f) < 1e-7f && fabsf(rate(&s, 1.0f, 5) - 0.55f) < 1e-7f,
          "cosine alpha: %g %g", rate(&s, 1.0f, 10), rate(&s, 1.0f, 5));
    s.alpha = 0, s.has_warmup = 1, s.warmup_target = 1.0, s.warmup_steps = 4; /* from 0 up to 1 in 4 steps */
    CHECK(rate(&s, 0.0f, 2) == 0.5f && rate(&s, 0.0f, 4) == 1.0f && fabsf(rate(&s, 0.0f, 9) - 0.5f) < 1e-7f &&
              rate(&s, 0.0f, 100) < 1e-7f,
          "cosine warm-up: %g %g %g %g", rate(&s, 0.0f, 2), rate(&s, 0.0f, 4), rate(&s, 0.0f, 9),
          rate(&s, 0.0f, 100));

    s = lf_lr_schedule_default(LF_LR_COSINE_DECAY_RESTARTS);
    s.decay_steps = 10, s.m_mul = 0.5; /* periods 10, 20, 40 from steps 0, 10, 30; peaks 1, 0.5, 0.25 */
    float want[][2] = {{0, 1.0f}, {5, 0.5f}, {10, 0.5f}, {20, 0.25f}, {30, 0.25f}, {50, 0.125f}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK(fabsf(rate(&s, 1.0f, (uint64_t)want[i][0]) - want[i][1]) < 1e-6f, "restarts at %g: %g, want %g",
              want[i][0], rate(&s, 1.0f, (uint64_t)want[i][0]), want[i][1]);
    s.t_mul = 1; /* equal periods */
    CHECK(fabsf(rate(&s, 1.0f, 15) - 0.25f) < 1e-6f, "restarts t_mul 1 at 15: %g", rate(&s, 1.0f, 15));

    s = lf_lr_schedule_default(LF_LR_PIECEWISE_CONSTANT);
    s.n_boundaries = 2, s.boundaries[0] = 2, s.boundaries[1] = 4;
    s.values[0] = 1.0f, s.values[1] = 0.5f, s.values[2] = 0.125f;
    float pw[] = {1, 1, 1, 0.5f, 0.5f, 0.125f, 0.125f};
    for (uint64_t t = 0; t < 7; t++) CHECK(rate(&s, 9.0f, t) == pw[t], "piecewise at %d: %g", (int)t, rate(&s, 9.0f, t));
    s = lf_lr_schedule_default(LF_LR_CONSTANT);
    CHECK(rate(&s, 0.3f, 99) == 0.3f && rate(NULL, 0.3f, 5) == 0.3f, "constant");
}

static void make_rows(float *x, float *y, size_t n) {
    uint64_t r = 99;
    for (size_t i = 0; i < n * 3; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(r >> 40) / 16777216.0f - 0.5f;
    }
    for (size_t i = 0; i < n; i++) y[i] = x[3 * i] - 2.0f * x[3 * i + 1] + 0.5f * x[3 * i + 2];
}

static lf_model *net(const lf_optimizer *o) {
    lf_model *m;
    lf_model_create(&m, 5);
    int in = lf_input(m, 3, "x");
    int h = lf_dense(m, in, 8, LF_ACT_TANH, 1, "h");
    lf_model_compile(m, lf_dense(m, h, 1, LF_ACT_LINEAR, 1, "out"), LF_LOSS_MSE, o);
    return m;
}

static int same_weights(lf_model *a, lf_model *b) {
    float wa[24], wb[24];
    for (int k = 0; k < 2; k++) {
        size_t n = k ? 8 : 24;
        if (lf_get_weights(a, "h", 0, wa, 24) || lf_get_weights(b, "h", 0, wb, 24)) return 0;
        if (k) lf_get_weights(a, "out", 0, wa, 8), lf_get_weights(b, "out", 0, wb, 8);
        if (memcmp(wa, wb, n * sizeof(float)) != 0) return 0;
    }
    return 1;
}

/* fit with Adam under ExponentialDecay = train_on_batch per step at the
 * schedule's rates set by hand; the step count and the next rate; a model
 * saved with its optimizer goes on with the schedule bit for bit */
static void test_fit(void) {
    enum { N = 40, B = 8 };
    float x[N * 3], y[N];
    make_rows(x, y, N);
    lf_optimizer o = lf_optimizer_default(LF_OPT_ADAM);
    o.learning_rate = 0.05f;
    o.schedule = lf_lr_schedule_default(LF_LR_EXPONENTIAL_DECAY);
    o.schedule.decay_steps = 3, o.schedule.decay_rate = 0.5;
    lf_model *a = net(&o);
    lf_optimizer c = lf_optimizer_default(LF_OPT_ADAM);
    c.learning_rate = 0.05f;
    lf_model *b = net(&c);
    const float *xs[1] = {x};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = B, fo.shuffle = 0;
    CHECK(lf_model_fit(a, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(a));
    for (uint64_t t = 0; t < 2 * N / B; t++) {
        size_t at = (size_t)(t % (N / B)) * B;
        lf_typed_array xa = {LF_DTYPE_FLOAT32, x + 3 * at};
        const float *ys[1] = {y + at};
        lf_model_set_learning_rate(b, rate(&o.schedule, 0.05f, t));
        lf_model_train_on_batch(b, &xa, ys, B, NULL, NULL, NULL);
    }
    CHECK(same_weights(a, b), "a fit under the schedule is not train_on_batch at its rates");
    CHECK(lf_model_iterations(a) == 10 && lf_model_learning_rate(a) == rate(&o.schedule, 0.05f, 10),
          "after 10 steps: iterations %llu, next rate %g", (unsigned long long)lf_model_iterations(a),
          (double)lf_model_learning_rate(a));
    /* the constant-rate model reaches the same weights only at those rates */
    lf_model *d = net(&c);
    CHECK(lf_model_fit(d, xs, y, N, &fo) == LF_OK && !same_weights(a, d), "the schedule changed nothing");
    /* saved with the optimizer after 10 steps: 5 more steps go on as a's */
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/sched.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    CHECK(lf_model_save(a, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(a));
    lf_model *e;
    lf_model_create(&e, 0);
    CHECK(lf_model_load(e, path) == LF_OK, "load: %s", lf_model_error(e));
    CHECK(lf_model_iterations(e) == 10 && lf_model_learning_rate(e) == lf_model_learning_rate(a),
          "loaded: iterations %llu, rate %g", (unsigned long long)lf_model_iterations(e),
          (double)lf_model_learning_rate(e));
    fo.epochs = 1;
    CHECK(lf_model_fit(a, xs, y, N, &fo) == LF_OK && lf_model_fit(e, xs, y, N, &fo) == LF_OK && same_weights(a, e),
          "a loaded model does not go on with the schedule");
    /* refusals: setting the rate, compile's ranges, the file's (its
     * architecture is a JSON string inside the header: quotes escaped) */
    CHECK(lf_model_set_learning_rate(a, 0.1f) == LF_ERR_ARG &&
              strstr(lf_model_error(a), "follows a schedule and cannot be set"),
          "set_learning_rate under a schedule: %s", lf_model_error(a));
    lf_optimizer z = o;
    z.schedule.decay_steps = 0;
    lf_model *f = net(&z);
    CHECK(strcmp(lf_model_error(f), "compile: the schedule's decay_steps must be finite and > 0") == 0,
          "decay_steps 0: %s", lf_model_error(f));
    lf_model_free(f);
    z = o;
    z.schedule.kind = LF_LR_PIECEWISE_CONSTANT, z.schedule.n_boundaries = 2;
    z.schedule.boundaries[0] = 5, z.schedule.boundaries[1] = 5, z.schedule.values[0] = z.schedule.values[1] =
                                                                   z.schedule.values[2] = 1.0f;
    f = net(&z);
    CHECK(strcmp(lf_model_error(f), "compile: the schedule's boundaries must be finite, >= 0 and increasing") == 0,
          "boundaries 5, 5: %s", lf_model_error(f));
    lf_model_free(f);
    z = o;
    z.learning_rate = 0; /* only a warm-up may start from 0 */
    f = net(&z);
    CHECK(strstr(lf_model_error(f), "learning rate and epsilon must be > 0") != NULL, "rate 0: %s",
          lf_model_error(f));
    lf_model_free(f);
    z.schedule = lf_lr_schedule_default(LF_LR_COSINE_DECAY);
    z.schedule.decay_steps = 10, z.schedule.has_warmup = 1, z.schedule.warmup_target = 0.1, z.schedule.warmup_steps = 3;
    f = net(&z);
    CHECK(strcmp(lf_model_error(f), "") == 0 && lf_model_learning_rate(f) == 0.0f, "a warm-up from 0: '%s'",
          lf_model_error(f));
    lf_model_free(f);
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"decay_rate\\\":0.5", "decay_rate\\\":0e0", "optimizer: the schedule's decay_rate must be finite and > 0"},
        {"staircase\\\":false", "staircaze\\\":false", "the ExponentialDecay schedule has no field 'staircaze'"},
        /* a field missing or of the wrong type, a list of the wrong length: the
         * message names the field */
        {"decay_rate\\\":0.5", "decay_rate\\\":[0]", "optimizer: the ExponentialDecay schedule's 'decay_rate' must be a number"},
        {"staircase\\\":false", "staircase\\\":\\\"0\\\"", "the ExponentialDecay schedule's 'staircase' must be true or false"},
        {"ExponentialDecay\\\",\\\"decay_steps\\\":3,\\\"decay_rate\\\":0.5,\\\"staircase\\\":false}",
         "PiecewiseConstantDecay\\\",\\\"boundaries\\\":[1,2],\\\"values\\\":[1,2]             }",
         "the PiecewiseConstantDecay schedule's 'boundaries' must be a list of 1 to 32 numbers and its 'values' a list "
         "of one more"},
        {"ExponentialDecay\\\",\\\"decay_steps\\\":3,\\\"decay_rate\\\":0.5,\\\"staircase\\\":false}",
         "PiecewiseConstantDecay\\\",\\\"boundaries\\\":[1,2],\\\"values\\\":[1,2,\\\"3\\\"]       }",
         "the PiecewiseConstantDecay schedule's value 2 is not a number"},
        {"iterations\\\":10", "iterations\\\":-1", "optimizer: 'iterations' must be an integer in 0..9223372036854775807"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        CHECK(check_edit_file(path, bad, cases[k].from, cases[k].to), "edit the file: %s", cases[k].from);
        lf_model_create(&f, 0);
        CHECK(lf_model_load(f, bad) == LF_ERR_FORMAT && strstr(lf_model_error(f), cases[k].msg), "%s: %s",
              cases[k].to, lf_model_error(f));
        lf_model_free(f);
    }
    /* the count near Keras' int64 end: saved and loaded exactly, and it
     * stops at 2^63 - 1, a count the file still holds */
    for (int k = 0; k < 2; k++) {
        a->step = (uint64_t)INT64_MAX - 1;
        lf_typed_array xa = {LF_DTYPE_FLOAT32, x};
        const float *ys[1] = {y};
        CHECK(lf_model_train_on_batch(a, &xa, ys, B, NULL, NULL, NULL) == LF_OK, "a step: %s", lf_model_error(a));
        if (k) CHECK(lf_model_train_on_batch(a, &xa, ys, B, NULL, NULL, NULL) == LF_OK, "a step");
        CHECK(lf_model_iterations(a) == (uint64_t)INT64_MAX, "%d steps from 2^63 - 2: %llu", k + 1,
              (unsigned long long)lf_model_iterations(a));
        CHECK(lf_model_save(a, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(a));
        lf_model_create(&f, 0);
        CHECK(lf_model_load(f, path) == LF_OK && lf_model_iterations(f) == (uint64_t)INT64_MAX,
              "loaded at 2^63 - 1: %s (%llu)", lf_model_error(f), (unsigned long long)lf_model_iterations(f));
        lf_model_free(f);
    }
    remove(path), remove(bad);
    lf_model_free(a), lf_model_free(b), lf_model_free(d), lf_model_free(e);
}

/* lf_model_set_rate_fn: a step function of the step count (a schedule of
 * the caller's own), then NaN from step `bad_at` on; counts its calls */
typedef struct steps_fn {
    uint64_t bad_at;
    size_t calls;
} steps_fn;

static double step_rate(void *ctx, uint64_t t) {
    steps_fn *f = ctx;
    f->calls++;
    if (t >= f->bad_at) return t == f->bad_at ? NAN : -1.0;
    return t < 3 ? 0.0 : t < 7 ? 0.05 : 0.01; /* 0 first: a warm-up's start, as Keras allows */
}

/* a rate function gives fit the weights of train_on_batch at its rates set
 * by hand (a rate of 0 included: a step that moves nothing, the Adam
 * state and count going on), train_on_batch uses it too; a rate that is
 * not finite or below 0 fails the call before its step, with the weights
 * of the steps done; the refusals; NULL gives back compile's rate */
static void test_rate_fn(void) {
    enum { N = 40, B = 8 };
    float x[N * 3], y[N];
    make_rows(x, y, N);
    lf_optimizer c = lf_optimizer_default(LF_OPT_ADAM);
    c.learning_rate = 0.05f;
    lf_model *a = net(&c), *b = net(&c), *z = net(&c);
    steps_fn f = {UINT64_MAX, 0};
    CHECK(lf_model_set_rate_fn(a, step_rate, &f) == LF_OK, "set_rate_fn: %s", lf_model_error(a));
    CHECK(lf_model_learning_rate(a) == 0.0f, "the next rate %g, want the function's 0",
          (double)lf_model_learning_rate(a));
    const float *xs[1] = {x};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = B, fo.shuffle = 0;
    f.calls = 0;
    CHECK(lf_model_fit(a, xs, y, N, &fo) == LF_OK && f.calls == 10, "fit: %s (%zu calls)", lf_model_error(a),
          f.calls);
    /* b: its first 3 steps at rate 0 through the function too
     * (set_learning_rate refuses 0), the others at the rates set by hand */
    steps_fn g = {UINT64_MAX, 0};
    lf_model_set_rate_fn(b, step_rate, &g);
    for (uint64_t t = 0; t < 10; t++) {
        size_t at = (size_t)(t % (N / B)) * B;
        lf_typed_array xa = {LF_DTYPE_FLOAT32, x + 3 * at};
        const float *ys[1] = {y + at};
        if (t == 3) { /* from here the rates by hand */
            CHECK(lf_model_set_learning_rate(b, 0.05f) == LF_ERR_ARG &&
                      strcmp(lf_model_error(b), "set_learning_rate: the optimizer's learning rate follows a "
                                                "function (lf_model_set_rate_fn) and cannot be set") == 0,
                  "set_learning_rate with a function: %s", lf_model_error(b));
            lf_model_set_rate_fn(b, NULL, NULL);
        }
        if (t >= 3) lf_model_set_learning_rate(b, t < 7 ? 0.05f : 0.01f);
        CHECK(lf_model_train_on_batch(b, &xa, ys, B, NULL, NULL, NULL) == LF_OK, "train_on_batch %llu: %s",
              (unsigned long long)t, lf_model_error(b));
    }
    CHECK(same_weights(a, b), "a fit under the function is not train_on_batch at its rates");
    /* the 3 steps at rate 0 moved no weight: z's weights after them are its
     * initial ones, its step count 3 */
    float w0[24], w3[24];
    lf_get_weights(z, "h", 0, w0, 24);
    steps_fn h = {UINT64_MAX, 0};
    lf_model_set_rate_fn(z, step_rate, &h);
    fo.epochs = 1, fo.steps_per_epoch = 3;
    CHECK(lf_model_fit(z, xs, y, N, &fo) == LF_OK && lf_model_iterations(z) == 3, "fit of 3 steps: %s",
          lf_model_error(z));
    lf_get_weights(z, "h", 0, w3, 24);
    CHECK(memcmp(w0, w3, sizeof w0) == 0, "a rate of 0 moved the weights");
    /* NaN at step 5 (z at 3): two steps taken, then the message; -1 after */
    h.bad_at = 5;
    fo.epochs = 2, fo.steps_per_epoch = 0;
    CHECK(lf_model_fit(z, xs, y, N, &fo) == LF_ERR_NUMERIC && lf_model_iterations(z) == 5 &&
              strcmp(lf_model_error(z), "fit: the learning rate function gave nan at step 5: a rate must be "
                                        "finite and >= 0") == 0,
          "NaN at step 5: %s (iterations %llu)", lf_model_error(z), (unsigned long long)lf_model_iterations(z));
    lf_typed_array xa = {LF_DTYPE_FLOAT32, x};
    const float *ys[1] = {y};
    lf_get_weights(z, "h", 0, w0, 24);
    h.bad_at = 4;
    CHECK(lf_model_train_on_batch(z, &xa, ys, B, NULL, NULL, NULL) == LF_ERR_NUMERIC &&
              strcmp(lf_model_error(z), "train_on_batch: the learning rate function gave -1 at step 5: a rate "
                                        "must be finite and >= 0") == 0 && lf_model_iterations(z) == 5,
          "-1 in train_on_batch: %s", lf_model_error(z));
    lf_get_weights(z, "h", 0, w3, 24);
    CHECK(memcmp(w0, w3, sizeof w0) == 0, "a refused rate moved the weights");
    /* refusals: a built-in schedule, before compile; compile forgets it */
    lf_optimizer o = c;
    o.schedule = lf_lr_schedule_default(LF_LR_EXPONENTIAL_DECAY);
    o.schedule.decay_steps = 3, o.schedule.decay_rate = 0.5;
    lf_model *s = net(&o), *u;
    CHECK(lf_model_set_rate_fn(s, step_rate, &f) == LF_ERR_ARG &&
              strcmp(lf_model_error(s), "set_rate_fn: the optimizer's learning rate follows a schedule (compile "
                                        "with a constant rate to give a function)") == 0,
          "a schedule and a function: %s", lf_model_error(s));
    lf_model_create(&u, 1);
    CHECK(lf_model_set_rate_fn(u, step_rate, &f) == LF_ERR_STATE && lf_model_set_rate_fn(NULL, NULL, NULL) ==
          LF_ERR_ARG, "set_rate_fn before compile or on NULL");
    CHECK(lf_model_set_rate_fn(a, NULL, NULL) == LF_OK && lf_model_learning_rate(a) == 0.05f,
          "without the function: the rate %g, want compile's", (double)lf_model_learning_rate(a));
    /* testing.h's step (the gradient tests') takes the function's rate
     * too: 3 steps at 0 leave the weights, the 4th (0.05) moves them, a
     * NaN fails before its step */
    lf_model *k = net(&c);
    steps_fn kf = {4, 0};
    lf_model_set_rate_fn(k, step_rate, &kf);
    lf_get_weights(k, "h", 0, w0, 24);
    for (int t = 0; t < 3; t++) CHECK(lf__loss_and_grads(k, xs, y, B, 1, 1, NULL, NULL) == LF_OK, "hook step");
    lf_get_weights(k, "h", 0, w3, 24);
    CHECK(kf.calls == 3 && memcmp(w0, w3, sizeof w0) == 0, "the hook's 3 steps at rate 0: %zu calls, moved %d",
          kf.calls, memcmp(w0, w3, sizeof w0) != 0);
    CHECK(lf__loss_and_grads(k, xs, y, B, 1, 1, NULL, NULL) == LF_OK, "hook step 4");
    lf_get_weights(k, "h", 0, w3, 24);
    CHECK(memcmp(w0, w3, sizeof w0) != 0, "the hook's step at the function's 0.05 moved no weight");
    CHECK(lf__loss_and_grads(k, xs, y, B, 1, 1, NULL, NULL) == LF_ERR_NUMERIC &&
              strcmp(lf_model_error(k), "lf__loss_and_grads: the learning rate function gave nan at step 4: a "
                                        "rate must be finite and >= 0") == 0,
          "the hook's NaN rate: %s", lf_model_error(k));
    lf_model_free(a), lf_model_free(b), lf_model_free(z), lf_model_free(s), lf_model_free(u), lf_model_free(k);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_schedule_XXXXXX");
    if (!mkdtemp(tmpdir)) return 2;
    test_rates();
    test_fit();
    test_rate_fn();
    rmdir(tmpdir);
    return check_report("test_schedule");
}
