/*
 * make_fusion_seeds.c — writes the seed corpus of the fusion-file fuzzer:
 * one real fitted file per fusion method (ok_<method>.lff, plus
 * ok_mean_calibrated.lff and ok_wavg_logits.lff), fitted with the public API
 * on 24 rows of 2 models x 3 classes, and hostile files (bad_*.lff) made by
 * rewriting the settings of a real file; and ok_ensemble.lff, auto's
 * ensemble of three members (ges, stack-lr calibrated, product: tensors, a
 * network, none), made directly (ensemble.c).  Run by fuzz/make_corpus.sh; the
 * outputs are committed under fuzz/corpus/fusion/.
 *
 *   make_fusion_seeds OUTDIR
 */
#include "latefuse.h"
#include "fusion/ensemble.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { M = 2, N = 24, C = 3 };

static float p[M][N * C];

static int fit_and_save(const char *dir, lf_method method, int calibrate, int logits, const char *file) {
    int y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % C;
        for (int k = 0; k < M; k++) {
            float s = 0;
            for (int c = 0; c < C; c++) {
                /* model 0 mostly right, model 1 noisier; deterministic */
                float v = (c == y[i] ? 2.0f + (float)k * 0.5f : 1.0f) + (float)((i * 7 + c * 3 + k) % 5) * 0.3f;
                p[k][i * C + c] = v;
                s += v;
            }
            if (!logits)
                for (int c = 0; c < C; c++) p[k][i * C + c] /= s;
        }
    }
    const float *ps[M] = {p[0], p[1]};
    const char *names[M] = {"image", "text"};
    lf_fusion *f;
    if (lf_fusion_create(&f) != LF_OK) return 1;
    lf_fusion_options o = lf_fusion_defaults();
    o.method = method;
    o.calibrate = calibrate;
    o.logits = logits;
    o.epochs = 2;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int rc = lf_fusion_fit(f, ps, names, M, N, C, y, &o) != LF_OK || lf_fusion_save(f, path, 0) != LF_OK;
    if (rc) fprintf(stderr, "%s: %s\n", path, lf_fusion_error(f));
    lf_fusion_free(f);
    return rc;
}

/* auto's ensemble of three members on the probabilities of the last
 * fit_and_save without logits */
static int ensemble_seed(const char *dir) {
    const float *ps[M] = {p[0], p[1]};
    const char *names[M] = {"image", "text"};
    int y[N];
    for (int i = 0; i < N; i++) y[i] = i % C;
    lf_method methods[3] = {LF_FUSE_GES, LF_FUSE_STACK_LR, LF_FUSE_PRODUCT};
    int cal[3] = {0, 1, 0};
    float counts[3] = {5, 2, 1};
    lf_fusion_options o = lf_fusion_defaults();
    o.epochs = 2;
    lf_fusion *f;
    if (lf_fusion_create(&f) != LF_OK) return 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/ok_ensemble.lff", dir);
    int rc = lf_ensemble_fit(f, ps, names, M, N, C, y, &o, methods, cal, counts, 3, 1) != LF_OK ||
             lf_fusion_save(f, path, 0) != LF_OK;
    if (rc) fprintf(stderr, "%s: %s\n", path, lf_fusion_error(f));
    lf_fusion_free(f);
    return rc;
}

/* Rewrites dir/from as dir/to with the "fusion" settings replaced by
 * `fusion` (and "architecture" by `arch` when not NULL), tensors kept. */
static int rewrite(const char *dir, const char *from, const char *to, const char *fusion, const char *arch) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, from);
    lf_st_file sf;
    lf_err e;
    if (lf_st_read(path, &sf, &e) != LF_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    size_t n = lf_st_count(&sf);
    lf_st_out *outs = calloc(n + 1, sizeof *outs);
    float **data = calloc(n + 1, sizeof *data);
    int rc = !outs || !data;
    for (size_t i = 0; !rc && i < n; i++) {
        const lf_st_tensor *t = lf_st_at(&sf, i);
        data[i] = malloc((t->count + 1) * sizeof(float));
        rc = !data[i] || lf_st_tensor_f32(t, data[i], t->count, &e) != LF_OK;
        outs[i].name = t->name;
        outs[i].data = data[i];
        outs[i].ndim = t->ndim;
        memcpy(outs[i].shape, t->shape, sizeof t->shape);
    }
    const char *keys[4] = {"format", "format_version", "fusion", "architecture"};
    const char *vals[4] = {lf_st_metadata(&sf, "format"), lf_st_metadata(&sf, "format_version"), fusion,
                           arch ? arch : lf_st_metadata(&sf, "architecture")};
    snprintf(path, sizeof path, "%s/%s", dir, to);
    if (!rc && lf_st_write(path, outs, n, keys, vals, vals[3] ? 4 : 3, 0, &e) != LF_OK) {
        fprintf(stderr, "%s: %s\n", path, e.msg);
        rc = 1;
    }
    for (size_t i = 0; data && i < n; i++) free(data[i]);
    free(data);
    free(outs);
    lf_st_free(&sf);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_fusion_seeds OUTDIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int rc = 0;
    lf_method ms[64];
    size_t n = lf_method_list(ms, 64);
    for (size_t i = 0; i < n && i < 64; i++) {
        char file[64];
        snprintf(file, sizeof file, "ok_%s.lff", lf_method_name(ms[i]));
        rc |= fit_and_save(dir, ms[i], 0, 0, file);
    }
    rc |= fit_and_save(dir, LF_FUSE_MEAN, 1, 0, "ok_mean_calibrated.lff");
    rc |= fit_and_save(dir, LF_FUSE_WAVG, 0, 1, "ok_wavg_logits.lff");
    rc |= fit_and_save(dir, LF_FUSE_MEAN, 0, 0, "ok_mean.lff"); /* probabilities for the ensemble */
    rc |= ensemble_seed(dir);
    const char *set = "{\"method\":\"mean\",\"calibrated\":false,\"logits\":false,\"classes\":%d,"
                      "\"models\":[%s],\"temperatures\":[1,1]}";
    char s[512];
    rc |= rewrite(dir, "ok_mean.lff", "bad_settings_array.lff", "[\"method\",\"mean\"]", NULL);
    rc |= rewrite(dir, "ok_mean.lff", "bad_settings_string.lff", "\"mean\"", NULL);
    snprintf(s, sizeof s, set, 1, "\"image\",\"text\"");
    rc |= rewrite(dir, "ok_mean.lff", "bad_one_class.lff", s, NULL);
    snprintf(s, sizeof s, set, 3, "\"image\",\"\\u001b[2J\"");
    rc |= rewrite(dir, "ok_mean.lff", "bad_name_escape.lff", s, NULL);
    rc |= rewrite(dir, "ok_mean.lff", "bad_unknown_field.lff",
                  "{\"method\":\"mean\",\"calibrated\":false,\"logits\":false,\"classes\":3,"
                  "\"models\":[\"image\",\"text\"],\"temperatures\":[1,1],\"\\u0007bell\":1}", NULL);
    /* 1024 models x 16000 classes declared beside the tensors of 2 x 3 */
    char big[1024 * 12 + 200], *b = big;
    for (int pass = 0; pass < 2; pass++) {
        b = big;
        b += sprintf(b, "{\"method\":\"%s\",\"calibrated\":false,\"logits\":false,\"classes\":16000,\"models\":[",
                     pass ? "mlp" : "decision-template");
        for (int k = 0; k < 1024; k++) b += sprintf(b, "%s\"m%d\"", k ? "," : "", k);
        b += sprintf(b, "],\"temperatures\":[");
        for (int k = 0; k < 1024; k++) b += sprintf(b, "%s1", k ? "," : "");
        sprintf(b, "]}");
        rc |= rewrite(dir, pass ? "ok_mlp.lff" : "ok_decision-template.lff",
                      pass ? "bad_mlp_1024x16000.lff" : "bad_templates_1024x16000.lff", big, NULL);
    }
    return rc;
}
