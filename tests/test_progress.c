/*
 * test_progress.c — progress through the options' callback: the text of
 * every event (lf_progress_format, exact strings, cut to a short buffer),
 * the events a fit sends (counts, order, last step, early stop) and
 * compare's method events; without a callback nothing is called.
 */
#include "check.h"
#include "latefuse.h"

#include <math.h>
#include <string.h>

static void test_format(void) {
    char b[256];
    lf_progress p;
    memset(&p, 0, sizeof p);
    p.event = LF_PROGRESS_EPOCH_BEGIN, p.epoch = 2, p.epochs = 10;
    lf_progress_format(&p, b, sizeof b);
    CHECK(strcmp(b, "Epoch 2/10\n") == 0, "[%s]", b);
    p.event = LF_PROGRESS_STEP, p.step = 3, p.steps = 10, p.seconds = 3.0, p.loss = 0.25, p.accuracy = NAN;
    lf_progress_format(&p, b, sizeof b);
    CHECK(strcmp(b, "\r3/10 [=========>....................] - ETA: 7s - loss: 0.2500   ") == 0, "[%s]", b);
    p.event = LF_PROGRESS_EPOCH_END, p.step = 10, p.seconds = 2.0, p.accuracy = 0.5, p.val_loss = 1.5,
    p.val_accuracy = NAN;
    size_t n = lf_progress_format(&p, b, sizeof b);
    const char *want = "\r10/10 [==============================] - 2s 200ms/step - loss: 0.2500 - accuracy: "
                       "0.5000 - val_loss: 1.5000\n";
    CHECK(strcmp(b, want) == 0 && n == strlen(want), "[%s] %zu", b, n);
    p.seconds = 0.0005;
    lf_progress_format(&p, b, sizeof b);
    CHECK(strstr(b, " - 0s 50us/step - ") != NULL, "[%s]", b);
    char small[8];
    CHECK(lf_progress_format(&p, small, sizeof small) == strlen(b) && strlen(small) == 7, "cut: [%s]", small);
    p.event = LF_PROGRESS_EARLY_STOP, p.epoch = 5, p.best_epoch = 2, p.restored = 1;
    lf_progress_format(&p, b, sizeof b);
    CHECK(strcmp(b, "Early stopping at epoch 5; best epoch 2 (weights restored)\n") == 0, "[%s]", b);
    /* method 3 of 21 starts after 2 done in 4 s: 19 left take 38 s */
    p.event = LF_PROGRESS_METHOD, p.item = 3, p.items = 21, p.method = "wavg", p.seconds = 4.0;
    lf_progress_format(&p, b, sizeof b);
    CHECK(strcmp(b, "\r2/21 [==>...........................] - ETA: 38s - wavg                        ") == 0,
          "[%s]", b);
    p.item = 1, p.seconds = 0.0;
    lf_progress_format(&p, b, sizeof b);
    CHECK(strcmp(b, "\r0/21 [>.............................] - ETA: ? - wavg                        ") == 0,
          "[%s]", b);
    p.event = LF_PROGRESS_METHODS_DONE;
    CHECK(lf_progress_format(&p, b, sizeof b) == 92 && b[0] == '\r' && b[91] == '\r', "done: %zu", strlen(b));
}

typedef struct seen {
    size_t n[6], last_step, steps, epochs_begun;
    double last_loss;
    int order_ok;
} seen;

static void count(void *ctx, const lf_progress *p) {
    seen *s = ctx;
    s->n[p->event]++;
    if (p->event == LF_PROGRESS_EPOCH_BEGIN) {
        if (p->epoch != s->epochs_begun + 1) s->order_ok = 0;
        s->epochs_begun = p->epoch;
    }
    if (p->event == LF_PROGRESS_STEP) s->last_step = p->step, s->steps = p->steps;
    if (p->event == LF_PROGRESS_EPOCH_END) s->last_loss = p->loss;
}

static void test_fit_events(void) {
    enum { N = 100, D = 3 };
    static float x[N * D], y[N];
    for (int i = 0; i < N * D; i++) x[i] = (float)((i * 37) % 11) / 11.0f;
    for (int i = 0; i < N; i++) y[i] = (float)(i % 2);
    lf_model *m;
    CHECK(lf_model_create(&m, 1) == LF_OK, "create");
    int in = lf_input(m, D, "x");
    int o = lf_dense(m, in, 2, LF_ACT_SOFTMAX, 1, "o");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile");
    lf_fit_options fo = lf_fit_defaults();
    CHECK(fo.progress == NULL && fo.progress_ctx == NULL, "defaults: no callback");
    seen s;
    memset(&s, 0, sizeof s);
    s.order_ok = 1;
    fo.epochs = 3, fo.batch_size = 16, fo.progress = count, fo.progress_ctx = &s;
    const float *xs[1] = {x};
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    const lf_history *h = lf_model_history(m);
    CHECK(s.n[LF_PROGRESS_EPOCH_BEGIN] == 3 && s.n[LF_PROGRESS_EPOCH_END] == 3 && s.order_ok, "epochs %zu %zu",
          s.n[LF_PROGRESS_EPOCH_BEGIN], s.n[LF_PROGRESS_EPOCH_END]);
    CHECK(s.n[LF_PROGRESS_STEP] >= 3 && s.last_step == 7 && s.steps == 7, "steps %zu last %zu of %zu",
          s.n[LF_PROGRESS_STEP], s.last_step, s.steps);
    CHECK(s.last_loss == h->loss[2], "the last epoch's loss %g, history %g", s.last_loss, h->loss[2]);
    CHECK(s.n[LF_PROGRESS_EARLY_STOP] == 0 && s.n[LF_PROGRESS_METHOD] == 0, "no other events");
    /* early stopping: a huge min_delta stops after patience epochs */
    memset(&s, 0, sizeof s);
    s.order_ok = 1;
    fo.epochs = 10, fo.patience = 2, fo.min_delta = 1e9f;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    CHECK(s.n[LF_PROGRESS_EARLY_STOP] == 1 && s.n[LF_PROGRESS_EPOCH_END] == 3, "early stop %zu after %zu epochs",
          s.n[LF_PROGRESS_EARLY_STOP], s.n[LF_PROGRESS_EPOCH_END]);
    lf_model_free(m);
}

static void test_compare_events(void) {
    enum { N = 40, C = 2 };
    static float p1[N * C], p2[N * C];
    int y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 2;
        float a = (float)(0.6 + 0.3 * ((i * 7) % 5) / 5.0), b = (float)(0.55 + 0.1 * ((i * 3) % 4) / 4.0);
        p1[i * C + y[i]] = a, p1[i * C + 1 - y[i]] = 1 - a;
        p2[i * C + 1 - y[i]] = b, p2[i * C + y[i]] = 1 - b;
    }
    const float *p[2] = {p1, p2};
    const char *names[2] = {"a", "b"};
    lf_method ms[2] = {LF_FUSE_MEAN, LF_FUSE_PRODUCT};
    lf_fusion *f;
    CHECK(lf_fusion_create(&f) == LF_OK, "create");
    lf_fusion_options o = lf_fusion_defaults();
    seen s;
    memset(&s, 0, sizeof s);
    o.progress = count, o.progress_ctx = &s, o.folds = 2;
    lf_compare_table *t = NULL;
    CHECK(lf_fusion_compare(f, p, names, 2, N, C, y, ms, 2, &o, &t) == LF_OK, "compare: %s", lf_fusion_error(f));
    CHECK(s.n[LF_PROGRESS_METHOD] == 2 && s.n[LF_PROGRESS_METHODS_DONE] == 1 && s.n[LF_PROGRESS_EPOCH_BEGIN] == 0,
          "compare events %zu %zu %zu", s.n[LF_PROGRESS_METHOD], s.n[LF_PROGRESS_METHODS_DONE],
          s.n[LF_PROGRESS_EPOCH_BEGIN]);
    lf_compare_table_free(t);
    /* auto: one event per candidate (every method, with and without
     * calibration), numbered 1..items, then one at the end */
    memset(&s, 0, sizeof s);
    o.method = LF_FUSE_AUTO;
    CHECK(lf_fusion_fit(f, p, names, 2, N, C, y, &o) == LF_OK, "auto: %s", lf_fusion_error(f));
    CHECK(s.n[LF_PROGRESS_METHOD] == 2 * (size_t)lf_method_list(NULL, 0) && s.n[LF_PROGRESS_METHODS_DONE] == 1,
          "auto events %zu %zu", s.n[LF_PROGRESS_METHOD], s.n[LF_PROGRESS_METHODS_DONE]);
    lf_fusion_free(f);
}

int main(void) {
    test_format();
    test_fit_events();
    test_compare_events();
    return check_report("progress");
}
