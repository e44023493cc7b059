/*
 * fusion_io.c — the fusion model file.  Same container as a network
 * (safetensors, see model_io.c): metadata format = "latefuse-fusion",
 * format_version = "1", fusion = a JSON object {method, calibrated, logits,
 * classes, models: [names], temperatures: [floats], and, optionally,
 * importance: {log_loss: [M + 1], accuracy: [M + 1]}, and, optionally,
 * class_names: [C strings] and, for a learned method, its training
 * history: {loss, val_loss, accuracy, val_accuracy: [epochs], best_epoch,
 * stopped_early}, and, for a learned method that chose an L2 penalty,
 * penalty: {l2, chosen_by: "cv" | "few-rows" | "many-rows"}}; what the method keeps
 * is its own (its record's save and load, method.h): tensors named
 * "fusion.*" (acc-weighted's weights, decision-template's templates), or a
 * network, saved as architecture = its JSON and its weights under the
 * prefix "net.".  auto's ensemble (ensemble.c) adds "ensemble": its
 * members' settings, and their tensors under "member<i>.".  Loading checks
 * every field and tensor as the network loader does.
 */
#include "fusion/ensemble.h"
#include "fusion/method.h"
#include "io/npy_format.h"
#include "model_io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FORMAT "latefuse-fusion"
#define FORMAT_VERSION "1"

lf_status lf_fusion_save(lf_fusion *f, const char *path, unsigned flags) {
    if (!f) return LF_ERR_ARG;
    if (flags & ~(unsigned)LF_WRITE_NO_FSYNC)
        return lf_fail(&f->err, LF_ERR_ARG, "save: unknown flags 0x%x (a fusion model takes LF_WRITE_NO_FSYNC only)",
                       flags & ~(unsigned)LF_WRITE_NO_FSYNC);
    if (!f->fitted) return lf_fail(&f->err, LF_ERR_STATE, "save: the fusion model is not fitted");
    if (!path) return lf_fail(&f->err, LF_ERR_ARG, "save: no path given");
    lf_buf js, arch;
    lf_buf_init(&js);
    lf_buf_init(&arch);
    lf_buf_printf(&js, "{\"method\":\"%s\",\"calibrated\":%s,\"logits\":%s,\"classes\":%zu,\"models\":[",
                  f->def->name, f->calibrated ? "true" : "false",
                  f->logits ? "true" : "false", f->C);
    for (size_t k = 0; k < f->M; k++) {
        if (k) lf_buf_puts(&js, ",");
        lf_buf_json_string(&js, f->names[k]);
    }
    lf_buf_puts(&js, "],\"temperatures\":[");
    for (size_t k = 0; k < f->M; k++) {
        if (k) lf_buf_puts(&js, ",");
        lf_buf_json_float(&js, f->temps[k]);
    }
    lf_buf_puts(&js, "]");
    lf_penalty_json(f, &js);
    if (f->importance) { /* with every model, then without each */
        for (int part = 0; part < 2; part++) {
            lf_buf_puts(&js, part ? "],\"accuracy\":[" : ",\"importance\":{\"log_loss\":[");
            for (size_t k = 0; k <= f->M; k++) {
                if (k) lf_buf_puts(&js, ",");
                lf_buf_json_double(&js, f->importance[part * (f->M + 1) + k]);
            }
        }
        lf_buf_puts(&js, "]}");
    }
    const lf_history *h = lf_fusion_history(f);
    if (h) { /* a learned method's curves, for the report of a loaded model */
        const double *cols[4] = {h->loss, h->val_loss, h->accuracy, h->val_accuracy};
        static const char *const keys[4] = {"loss", "val_loss", "accuracy", "val_accuracy"};
        lf_buf_puts(&js, ",\"history\":{");
        for (int k = 0; k < 4; k++) {
            lf_buf_printf(&js, "%s\"%s\":[", k ? "," : "", keys[k]);
            for (size_t i = 0; i < h->epochs; i++) {
                if (i) lf_buf_puts(&js, ",");
                lf_buf_json_double(&js, cols[k] ? cols[k][i] : NAN); /* NaN: null */
            }
            lf_buf_puts(&js, "]");
        }
        lf_buf_printf(&js, ",\"best_epoch\":%zu,\"stopped_early\":%s}", h->best_epoch,
                      h->stopped_early ? "true" : "false");
    }
    if (f->class_names) {
        lf_buf_puts(&js, ",\"class_names\":[");
        for (size_t c = 0; c < f->C; c++) {
            if (c) lf_buf_puts(&js, ",");
            lf_buf_json_string(&js, f->class_names[c]);
        }
        lf_buf_puts(&js, "]");
    }
    lf_st_out *outs = NULL, *ens = NULL;
    size_t n = 0, n_ens = 0;
    lf_status st = f->def == &lf_ensemble_method ? lf_ensemble_save(f, &js, &ens, &n_ens, &f->err) : LF_OK;
    lf_buf_puts(&js, "}");
    lf_method_save ms = {.n_tensors = 0};
    if (f->def->save) f->def->save(f, &ms);
    if (ms.net) lf_model_arch_json(ms.net, &arch);
    char *names = NULL;
    if (st == LF_OK && (js.failed || arch.failed)) st = lf_fail(&f->err, LF_ERR_NOMEM, "save: out of memory");
    if (st == LF_OK && ms.net) st = lf_model_tensors(ms.net, "net.", 0, &outs, &n, &names, &f->err);
    lf_st_out *all = NULL;
    if (st == LF_OK) {
        all = lf_alloc_array(n + n_ens + ms.n_tensors + 1, sizeof *all);
        if (!all) st = lf_fail(&f->err, LF_ERR_NOMEM, "save: out of memory");
        else {
            memcpy(all, ms.tensors, ms.n_tensors * sizeof *all);
            if (n) memcpy(all + ms.n_tensors, outs, n * sizeof *all);
            if (n_ens) memcpy(all + ms.n_tensors + n, ens, n_ens * sizeof *all); /* an ensemble's members' */
            const char *keys[4] = {"format", "format_version", "fusion", "architecture"};
            const char *vals[4] = {FORMAT, FORMAT_VERSION, js.data, arch.data};
            st = lf_st_write(path, all, n + n_ens + ms.n_tensors, keys, vals, ms.net ? 4 : 3, flags, &f->err);
        }
    }
    LF_FREE(all), LF_FREE(outs), LF_FREE(names);
    lf_ensemble_tensors_free(ens, n_ens);
    lf_buf_free(&js);
    lf_buf_free(&arch);
    return st;
}

lf_status lf_fusion_load_floats(const lf_st_file *sf, const char *arch, const lf_method_def *d, const char *name,
                                size_t ndim, const size_t *shape, float **dst, lf_err *e) {
    if (arch)
        return lf_fail(e, LF_ERR_FORMAT, "the %s method has no network, but the file holds an architecture", d->name);
    if (lf_st_count(sf) != 1)
        return lf_fail(e, LF_ERR_FORMAT, "the file holds %zu tensors, the %s method has 1", lf_st_count(sf), d->name);
    /* the size comes from the settings: allocated only when the file
     * stores exactly that many elements, so a file that declares a large
     * model but stores little fails on the shape, before any allocation
     * (with a shape that differs, lf_load_tensor fails without touching
     * dst) */
    const lf_st_tensor *t = lf_st_find(sf, name);
    size_t count = shape[0];
    for (size_t k = 1; k < ndim; k++)
        if (!lf_mul_ok(count, shape[k], &count)) count = 0;
    if (!t || count == 0 || t->count != count) return lf_load_tensor(sf, name, NULL, ndim, shape, e);
    if (!(*dst = lf_alloc_array(count, sizeof **dst))) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    return lf_load_tensor(sf, name, *dst, ndim, shape, e);
}

static const char *const PENALTY_BY[] = {"", "cv", "few-rows", "many-rows"};

void lf_penalty_json(const lf_fusion *f, lf_buf *js) {
    if (f->penalty_by == LF_PENALTY_NONE) return;
    lf_buf_puts(js, ",\"penalty\":{\"l2\":");
    lf_buf_json_float(js, f->penalty);
    lf_buf_printf(js, ",\"chosen_by\":\"%s\"}", PENALTY_BY[f->penalty_by]);
}

/* "penalty": {"l2": a finite number >= 0, "chosen_by": one of PENALTY_BY},
 * for a method (def) that trains a network */
lf_status lf_penalty_read(lf_fusion *f, const lf_method_def *def, const lf_json *j, const char *who, lf_err *e) {
    static const char *const keys[] = {"l2", "chosen_by", NULL};
    if (def->family != LF_FAMILY_LEARNED)
        return lf_fail(e, LF_ERR_FORMAT, "%s: the %s method trains no network and has no 'penalty'", who,
                       def->name);
    const char *by = lf_json_str(lf_json_get(j, "chosen_by"));
    double l2;
    int k = 0;
    if (lf_json_is(j, LF_JSON_OBJECT) && !lf_json_unknown_key(j, keys) && by)
        for (k = LF_PENALTY_MANY_ROWS; k > LF_PENALTY_NONE && strcmp(by, PENALTY_BY[k]) != 0; k--) {}
    if (!k || !lf_json_num(lf_json_get(j, "l2"), &l2) || !(l2 >= 0 && l2 <= 1e6))
        return lf_fail(e, LF_ERR_FORMAT,
                       "%s: 'penalty' must be {\"l2\": a number in [0, 1e6], \"chosen_by\": \"cv\", \"few-rows\" or "
                       "\"many-rows\"}", who);
    f->penalty = (float)l2, f->penalty_by = k;
    return LF_OK;
}

/* the optional "importance": {"log_loss": [M + 1 numbers >= 0], "accuracy":
 * [M + 1 numbers in 0..1]} (lf_fusion_importance) */
static lf_status read_importance(lf_fusion *f, const lf_json *j, size_t M, lf_err *e) {
    static const char *const keys[] = {"log_loss", "accuracy", NULL};
    const lf_json *ll = lf_json_get(j, "log_loss"), *acc = lf_json_get(j, "accuracy");
    if (!lf_json_is(j, LF_JSON_OBJECT) || lf_json_unknown_key(j, keys) || !lf_json_is(ll, LF_JSON_ARRAY) ||
        !lf_json_is(acc, LF_JSON_ARRAY) || lf_json_len(ll) != M + 1 || lf_json_len(acc) != M + 1)
        return lf_fail(e, LF_ERR_FORMAT,
                       "fusion settings: 'importance' must be {\"log_loss\": [...], \"accuracy\": [...]} with %zu numbers each",
                       M + 1);
    double *imp = lf_alloc_array(2 * (M + 1), sizeof *imp);
    if (!imp) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k <= M; k++)
        if (!lf_json_num(lf_json_at(ll, k), &imp[k]) || !(imp[k] >= 0 && imp[k] < 1e6) ||
            !lf_json_num(lf_json_at(acc, k), &imp[M + 1 + k]) || !(imp[M + 1 + k] >= 0 && imp[M + 1 + k] <= 1)) {
            LF_FREE(imp);
            return lf_fail(e, LF_ERR_FORMAT,
                           "fusion settings: importance %zu must be a log-loss in [0, 1e6) and an accuracy in [0, 1]", k);
        }
    f->importance = imp;
    return LF_OK;
}

/* the optional "class_names": C strings, each a valid class name
 * (lf_class_name_check); f->C is set */
static lf_status read_class_names(lf_fusion *f, const lf_json *j, lf_err *e) {
    if (!lf_json_is(j, LF_JSON_ARRAY) || lf_json_len(j) != f->C)
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: 'class_names' must be a list of %zu strings", f->C);
    char msg[128];
    if (!(f->class_names = lf_alloc_array(f->C, sizeof *f->class_names)))
        return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < f->C; c++) {
        const lf_json *s = lf_json_at(j, c);
        if (!lf_json_is(s, LF_JSON_STRING))
            return lf_fail(e, LF_ERR_FORMAT, "fusion settings: class name %zu is not a string", c + 1);
        if (lf_class_name_check(s->str, s->str_len, c, msg, sizeof msg))
            return lf_fail(e, LF_ERR_FORMAT, "fusion settings: %s", msg);
        if (!(f->class_names[c] = LF_MALLOC(s->str_len + 1))) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
        memcpy(f->class_names[c], s->str, s->str_len + 1);
    }
    size_t a, b;
    lf_status st = lf_class_names_distinct((const char *const *)f->class_names, f->C, &a, &b);
    if (st == LF_ERR_NOMEM) return lf_fail(e, st, "out of memory");
    if (st != LF_OK) return lf_fail(e, st, "fusion settings: class names %zu and %zu are the same", a + 1, b + 1);
    return LF_OK;
}

/* the optional "history" of a learned method: {"loss", "val_loss",
 * "accuracy", "val_accuracy": lists of one length (1..HISTORY_MAX) of
 * numbers or null (not measured), "best_epoch": an epoch of them (0-based),
 * "stopped_early": true or false} */
#define HISTORY_MAX 1000000
static lf_status read_history(lf_fusion *f, const lf_json *j, lf_err *e) {
    static const char *const keys[] = {"loss", "val_loss", "accuracy", "val_accuracy", "best_epoch",
                                       "stopped_early", NULL};
    size_t n = lf_json_len(lf_json_get(j, "loss")), best;
    int early, ok = lf_json_is(j, LF_JSON_OBJECT) && !lf_json_unknown_key(j, keys) && n >= 1 && n <= HISTORY_MAX &&
                    lf_json_size(lf_json_get(j, "best_epoch"), &best) && best < n &&
                    lf_json_bool(lf_json_get(j, "stopped_early"), &early);
    for (int k = 0; ok && k < 4; k++) {
        const lf_json *a = lf_json_get(j, keys[k]);
        ok = lf_json_is(a, LF_JSON_ARRAY) && lf_json_len(a) == n;
    }
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: 'history' must be {\"loss\", \"val_loss\", \"accuracy\", "
                       "\"val_accuracy\": lists of one length of numbers or null, \"best_epoch\", \"stopped_early\"}");
    if (!(f->history = lf_alloc_array(4 * n, sizeof *f->history))) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < n; i++) {
            const lf_json *v = lf_json_at(lf_json_get(j, keys[k]), i);
            double *d = &f->history[(size_t)k * n + i];
            if (lf_json_is(v, LF_JSON_NULL)) *d = NAN;
            else if (!lf_json_num(v, d) || !(*d >= 0 && *d < 1e30))
                return lf_fail(e, LF_ERR_FORMAT, "fusion settings: history %s %zu must be a number >= 0 or null",
                               keys[k], i + 1);
        }
    f->history_view = (lf_history){.epochs = n, .loss = f->history, .val_loss = f->history + n,
                                   .accuracy = f->history + 2 * n, .val_accuracy = f->history + 3 * n,
                                   .best_epoch = best, .stopped_early = early};
    return LF_OK;
}

static lf_status parse(lf_fusion *f, const lf_st_file *sf, lf_err *e) {
    const char *fmt = lf_st_metadata(sf, "format"), *ver = lf_st_metadata(sf, "format_version");
    const char *fj = lf_st_metadata(sf, "fusion"), *arch = lf_st_metadata(sf, "architecture");
    char esc[LF_MSG_STR];
    if (fmt && strcmp(fmt, "latefuse") == 0) /* the slip of a network's file for a fusion model's */
        return lf_fail(e, LF_ERR_FORMAT, "not a latefuse fusion model but a network model (as lf_model_save and "
                                         "Model.save write)");
    if (!fmt || strcmp(fmt, FORMAT) != 0) return lf_fail(e, LF_ERR_FORMAT, "not a latefuse fusion model");
    if (!ver || strcmp(ver, FORMAT_VERSION) != 0)
        return lf_fail(e, LF_ERR_FORMAT, "unsupported fusion format version '%s' (this latefuse reads version %s; "
                                         "a newer one may have written it)",
                       ver ? lf_str_for_msg(esc, ver) : "(none)", FORMAT_VERSION);
    if (!fj) return lf_fail(e, LF_ERR_FORMAT, "the metadata has no 'fusion' entry");
    lf_json *root;
    lf_status st = lf_json_parse(fj, strlen(fj), &root, e);
    if (st != LF_OK) {
        char msg[sizeof e->msg];
        memcpy(msg, e->msg, sizeof msg);
        return lf_fail(e, st == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "fusion settings: %.400s", msg);
    }
    static const char *const keys[] = {"method", "calibrated", "logits", "classes", "models", "temperatures",
                                       "importance", "class_names", "history", "ensemble", "penalty", NULL};
    const char *unknown = lf_json_unknown_key(root, keys);
    const lf_method_def *def = NULL;
    const char *mname = lf_json_str(lf_json_get(root, "method"));
    int method = lf_method_parse(mname);
    if (method >= 0) def = lf_method_def_of((lf_method)method);
    else if (mname && strcmp(mname, LF_ENSEMBLE_NAME) == 0) def = &lf_ensemble_method;
    const lf_json *models = lf_json_get(root, "models"), *temps = lf_json_get(root, "temperatures");
    size_t C = 0, M = lf_json_len(models);
    if (!lf_json_is(root, LF_JSON_OBJECT))
        st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: not a JSON object");
    else if (unknown)
        st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: unknown field '%s'", lf_str_for_msg(esc, unknown));
    else if (!def)
        st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: unknown or missing method");
    else if (!lf_json_bool(lf_json_get(root, "calibrated"), &f->calibrated) ||
             !lf_json_bool(lf_json_get(root, "logits"), &f->logits))
        st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: 'calibrated' and 'logits' must be true or false");
    else if (!lf_json_size(lf_json_get(root, "classes"), &C) || C < 2 || C > (1u << 20))
        st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: 'classes' must be an integer in 2..1048576");
    else if (!lf_json_is(models, LF_JSON_ARRAY) || M == 0 || M > 1024 ||
             !lf_json_is(temps, LF_JSON_ARRAY) || lf_json_len(temps) != M)
        st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: 'models' and 'temperatures' must be lists of 1..1024 entries of equal length");
    if (st == LF_OK) {
        f->names = lf_alloc_array(M, sizeof *f->names);
        f->temps = lf_alloc_array(M, sizeof *f->temps);
        if (!f->names || !f->temps) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; st == LF_OK && k < M; k++) {
        const char *nm = lf_json_str(lf_json_at(models, k));
        double T;
        if (!nm || !lf_name_valid(nm, strlen(nm)))
            st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: model name %zu must be a string of 1..63 letters, digits, '_', '.' or '-'", k);
        else if (!lf_json_num(lf_json_at(temps, k), &T) || !(T >= 0.01 && T <= 100))
            st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: temperature %zu must be a number in [0.01, 100]", k);
        else {
            for (size_t j = 0; j < k; j++)
                if (strcmp(f->names[j], nm) == 0)
                    st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: model name '%s' appears twice", nm);
            snprintf(f->names[k], LF_FUSION_NAME_MAX, "%s", nm);
            f->temps[k] = (float)T;
        }
    }
    if (st == LF_OK && lf_json_get(root, "importance")) st = read_importance(f, lf_json_get(root, "importance"), M, e);
    if (st == LF_OK && lf_json_get(root, "history")) {
        if (def->family != LF_FAMILY_LEARNED)
            st = lf_fail(e, LF_ERR_FORMAT, "fusion settings: the %s method trains no network and has no 'history'", def->name);
        else
            st = read_history(f, lf_json_get(root, "history"), e);
    }
    if (st == LF_OK && lf_json_get(root, "penalty"))
        st = lf_penalty_read(f, def, lf_json_get(root, "penalty"), "fusion settings", e);
    if (st == LF_OK && lf_json_get(root, "class_names")) {
        f->C = C; /* the names' count, and what lf_fusion_clear frees */
        st = read_class_names(f, lf_json_get(root, "class_names"), e);
    }
    const lf_json *ens = lf_json_get(root, "ensemble");
    if (st == LF_OK && (def == &lf_ensemble_method) != (ens != NULL))
        st = lf_fail(e, LF_ERR_FORMAT, ens ? "fusion settings: the %s method has no 'ensemble'"
                                           : "fusion settings: an %s needs its 'ensemble' entry", def->name);
    if (st == LF_OK && ens) { /* auto's ensemble: its members, read while the settings are at hand */
        f->M = M, f->C = C;
        st = lf_ensemble_load(f, ens, sf, arch, e);
    }
    lf_json_free(root);
    if (st != LF_OK || ens) return st;
    f->def = def, f->M = M, f->C = C;
    if (def->load) return def->load(f, sf, arch, e);
    if (arch) return lf_fail(e, LF_ERR_FORMAT, "the %s method has no network, but the file holds an architecture", def->name);
    if (lf_st_count(sf) != 0)
        return lf_fail(e, LF_ERR_FORMAT, "the file holds %zu tensors, the %s method has 0", lf_st_count(sf), def->name);
    return LF_OK;
}

/* Loads from a parsed file; `label` (the path) starts the messages. */
static lf_status load_st(lf_fusion *f, lf_st_file *sf, const char *label) {
    lf_err e;
    lf_status st = parse(f, sf, &e);
    lf_st_free(sf);
    if (st != LF_OK) {
        lf_fusion_clear(f);
        return lf_fail(&f->err, st, "'%s': %s", label, e.msg);
    }
    f->fitted = 1;
    return LF_OK;
}

/* A .npy file (by its magic bytes) where a fusion model is expected: the
 * usual slip is FUSION and a -m file swapped, and the safetensors reader
 * would only say that the header length (the magic read as a number) is
 * absurd. */
static int is_npy(const unsigned char *b, size_t len) {
    return len >= LF_NPY_MAGIC_LEN && memcmp(b, LF_NPY_MAGIC, LF_NPY_MAGIC_LEN) == 0;
}

static lf_status not_a_fusion_npy(lf_fusion *f, const char *label) {
    return lf_fail(&f->err, LF_ERR_FORMAT,
                   "'%s' is a .npy file, not a fusion model (a fusion model is the safetensors file that fit "
                   "writes; were the fusion model and a model's outputs swapped?)",
                   label);
}

/* f becomes what was loaded into fresh (a fusion of its own, zeroed
 * before the load) when the load went well (status st); else f keeps its
 * fit and gets fresh's message: a failed load loses nothing. */
static lf_status load_fresh(lf_fusion *f, lf_status st, lf_fusion *fresh) {
    if (st != LF_OK) {
        f->err = fresh->err;
        lf_fusion_clear(fresh);
        return st;
    }
    lf_fusion_clear(f);
    *f = *fresh;
    return LF_OK;
}

static lf_status load_path(lf_fusion *f, const char *path) {
    lf_st_file sf;
    lf_status st = lf_st_read(path, &sf, &f->err);
    if (st == LF_ERR_FORMAT) {
        /* only a file that failed: its first bytes, when it is a regular
         * file (a pipe's bytes were read once, by lf_st_read) */
        unsigned char magic[LF_NPY_MAGIC_LEN];
        struct stat sb;
        FILE *peek = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? fopen(path, "rb") : NULL;
        size_t got = peek ? fread(magic, 1, sizeof magic, peek) : 0;
        if (peek) fclose(peek);
        if (is_npy(magic, got)) return not_a_fusion_npy(f, path);
    }
    if (st != LF_OK) return st;
    return load_st(f, &sf, path);
}

lf_status lf_fusion_load(lf_fusion *f, const char *path) {
    if (!f) return LF_ERR_ARG;
    if (!path) return lf_fail(&f->err, LF_ERR_ARG, "load: no path given");
    lf_fusion fresh;
    memset(&fresh, 0, sizeof fresh);
    return load_fresh(f, load_path(&fresh, path), &fresh);
}

static lf_status load_bytes(lf_fusion *f, const unsigned char *buf, size_t len, const char *label) {
    if (is_npy(buf, len)) return not_a_fusion_npy(f, label);
    lf_st_file sf;
    lf_err e;
    lf_status st = lf_st_parse(buf, len, &sf, &e);
    if (st != LF_OK)
        return lf_fail(&f->err, st, st == LF_ERR_FORMAT ? "'%s' is not a valid safetensors file: %s" : "reading '%s': %s",
                       label, e.msg);
    return load_st(f, &sf, label);
}

lf_status lf_fusion_load_bytes(lf_fusion *f, const unsigned char *buf, size_t len, const char *label) {
    if (!f) return LF_ERR_ARG;
    if (!buf || !label) return lf_fail(&f->err, LF_ERR_ARG, "load: no bytes or no label given");
    lf_fusion fresh;
    memset(&fresh, 0, sizeof fresh);
    return load_fresh(f, load_bytes(&fresh, buf, len, label), &fresh);
}
