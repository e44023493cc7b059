/*
 * model_io.c — saving and loading models.
 *
 * A model file is a safetensors file: the weights as F32 tensors named
 * "<layer>.kernel", "<layer>.bias" (Dense, PyTorch layout (out, in)) and
 * "<layer>.W" (weighted averages), optionally the optimizer moments
 * "optimizer.m" / "optimizer.v", and in "__metadata__" the strings
 * format = "latefuse", format_version = "1" and architecture = a JSON
 * object describing the graph (schema in README.md).  The loader validates
 * the container (safetensors.c), then every field of the architecture,
 * rebuilds the graph with the public builder (which re-checks shapes and
 * names), and finally requires exactly the expected tensors with exactly the
 * expected shapes and finite values.  Nothing in the file is executed or
 * used as a path.
 */
#include "model_io.h"

#include <math.h>
#include <string.h>

#define FORMAT_VERSION "1"

static const char *const opt_names[] = {"sgd", "adam", "rmsprop"};

void lf_model_reset(lf_model *m) {
    lf_rng rng = m->rng;
    for (size_t i = 0; i < m->n_nodes; i++) LF_FREE(m->nodes[i].in);
    LF_FREE(m->nodes);
    LF_FREE(m->inputs);
    LF_FREE(m->params);
    LF_FREE(m->grads);
    LF_FREE(m->m1);
    LF_FREE(m->m2);
    LF_FREE(m->hist);
    lf_ws_free(&m->train_ws);
    lf_err err = m->err;
    memset(m, 0, sizeof *m);
    m->err = err;
    m->rng = rng;
    m->output = -1;
}

/* ------------------------------------------------------------------ save */

static void json_key(lf_buf *b, const char *k) {
    lf_buf_json_string(b, k);
    lf_buf_puts(b, ":");
}

void lf_model_arch_json(const lf_model *m, lf_buf *b) {
    lf_buf_puts(b, "{\"layers\":[");
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        lf_buf_puts(b, i ? ",{" : "{");
        json_key(b, "name");
        lf_buf_json_string(b, nd->name);
        lf_buf_puts(b, ",");
        json_key(b, "type");
        lf_buf_json_string(b, lf_kind_name(nd->kind));
        if (nd->kind == LF_K_INPUT) lf_buf_printf(b, ",\"dim\":%zu", nd->dim);
        if (nd->n_in) {
            lf_buf_puts(b, ",\"inbound\":[");
            for (size_t j = 0; j < nd->n_in; j++) {
                if (j) lf_buf_puts(b, ",");
                lf_buf_json_string(b, m->nodes[nd->in[j]].name);
            }
            lf_buf_puts(b, "]");
        }
        switch (nd->kind) {
        case LF_K_DENSE:
            lf_buf_printf(b, ",\"units\":%zu,\"activation\":\"%s\",\"use_bias\":%s,\"l2\":", nd->dim,
                          lf_activation_name(nd->act), nd->use_bias ? "true" : "false");
            lf_buf_json_float(b, nd->l2);
            break;
        case LF_K_ACTIVATION:
            lf_buf_printf(b, ",\"activation\":\"%s\"", lf_activation_name(nd->act));
            break;
        case LF_K_DROPOUT:
            lf_buf_puts(b, ",\"rate\":");
            lf_buf_json_float(b, nd->rate);
            break;
        case LF_K_DOT:
            lf_buf_printf(b, ",\"normalize\":%s", nd->normalize ? "true" : "false");
            break;
        case LF_K_WAVG:
        case LF_K_CWAVG:
        case LF_K_GATED:
            if (nd->kind != LF_K_GATED) {
                lf_buf_puts(b, ",\"l2\":");
                lf_buf_json_float(b, nd->l2);
            }
            if (nd->kind == LF_K_GATED) {
                lf_buf_puts(b, ",\"gate\":");
                lf_buf_json_string(b, m->nodes[nd->gate].name);
            }
            lf_buf_puts(b, ",\"mask\":");
            if (nd->mask >= 0) lf_buf_json_string(b, m->nodes[nd->mask].name);
            else lf_buf_puts(b, "null");
            break;
        default:
            break;
        }
        lf_buf_puts(b, "}");
    }
    lf_buf_puts(b, "]");
    if (m->compiled) {
        lf_buf_puts(b, ",\"output\":");
        lf_buf_json_string(b, m->nodes[m->output].name);
        lf_buf_printf(b, ",\"loss\":\"%s\",\"optimizer\":{\"name\":\"%s\",\"learning_rate\":",
                      lf_loss_name(m->loss), opt_names[m->opt.kind]);
        const lf_optimizer *o = &m->opt;
        lf_buf_json_float(b, o->learning_rate);
        lf_buf_puts(b, ",\"momentum\":");
        lf_buf_json_float(b, o->momentum);
        lf_buf_printf(b, ",\"nesterov\":%s,\"beta_1\":", o->nesterov ? "true" : "false");
        lf_buf_json_float(b, o->beta_1);
        lf_buf_puts(b, ",\"beta_2\":");
        lf_buf_json_float(b, o->beta_2);
        lf_buf_puts(b, ",\"epsilon\":");
        lf_buf_json_float(b, o->epsilon);
        lf_buf_puts(b, ",\"rho\":");
        lf_buf_json_float(b, o->rho);
        if (o->use_ema) {
            lf_buf_puts(b, ",\"use_ema\":true,\"ema_momentum\":");
            lf_buf_json_float(b, o->ema_momentum);
        }
        lf_buf_printf(b, ",\"iterations\":%llu}", (unsigned long long)m->step);
    }
    lf_buf_puts(b, "}");
}

lf_status lf_model_tensors(const lf_model *m, const char *prefix, int with_opt, lf_st_out **outs,
                           size_t *n, char **names, lf_err *e) {
    size_t count = with_opt ? 2 : 0, name_bytes = 64;
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < m->n_nodes; i++) {
        size_t nw = lf_layer_num_weights(m, m->nodes[i].name);
        count += nw;
        name_bytes += nw * (plen + strlen(m->nodes[i].name) + 8);
    }
    name_bytes += 2 * (plen + 16);
    *outs = lf_alloc_array(count ? count : 1, sizeof **outs);
    *names = LF_MALLOC(name_bytes);
    if (!*outs || !*names) {
        LF_FREE(*outs), LF_FREE(*names);
        *outs = NULL, *names = NULL;
        return lf_fail(e, LF_ERR_NOMEM, "out of memory listing the model's tensors");
    }
    char *np = *names;
    size_t k = 0;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        size_t nw = lf_layer_num_weights(m, nd->name);
        size_t in = nd->n_in ? m->nodes[nd->in[0]].dim : 0;
        for (size_t j = 0; j < nw; j++) {
            lf_st_out *t = &(*outs)[k++];
            const char *suffix = nd->kind == LF_K_DENSE ? (j ? "bias" : "kernel") : "W";
            int w = sprintf(np, "%s%s.%s", prefix, nd->name, suffix);
            t->name = np;
            np += w + 1;
            if (nd->kind == LF_K_DENSE && j == 0) {
                t->data = m->params + nd->param_off;
                t->ndim = 2, t->shape[0] = nd->dim, t->shape[1] = in;
            } else if (nd->kind == LF_K_DENSE) {
                t->data = m->params + nd->param_off + nd->dim * in;
                t->ndim = 1, t->shape[0] = nd->dim;
            } else if (nd->kind == LF_K_WAVG) {
                t->data = m->params + nd->param_off;
                t->ndim = 1, t->shape[0] = nd->n_in;
            } else {
                t->data = m->params + nd->param_off;
                t->ndim = 2, t->shape[0] = nd->n_in, t->shape[1] = nd->dim;
            }
        }
    }
    if (with_opt) {
        for (int j = 0; j < 2; j++) {
            lf_st_out *t = &(*outs)[k++];
            int w = sprintf(np, "%soptimizer.%s", prefix, j ? "v" : "m");
            t->name = np;
            np += w + 1;
            t->data = j ? m->m2 : m->m1;
            t->ndim = 1, t->shape[0] = m->n_params;
        }
    }
    *n = k;
    return LF_OK;
}

lf_status lf_model_save(lf_model *m, const char *path, int with_optimizer) {
    if (!m) return LF_ERR_ARG;
    if (!path) return lf_model_fail(m, LF_ERR_ARG, "save: no path given");
    if (with_optimizer && !m->compiled)
        return lf_model_fail(m, LF_ERR_STATE, "save: the optimizer state needs a compiled model");
    lf_buf arch;
    lf_buf_init(&arch);
    lf_model_arch_json(m, &arch);
    if (arch.failed) {
        lf_buf_free(&arch);
        return lf_model_fail(m, LF_ERR_NOMEM, "save: out of memory");
    }
    lf_st_out *outs;
    char *names;
    size_t n;
    lf_status st = lf_model_tensors(m, "", with_optimizer, &outs, &n, &names, &m->err);
    if (st == LF_OK) {
        const char *keys[3] = {"format", "format_version", "architecture"};
        const char *vals[3] = {"latefuse", FORMAT_VERSION, arch.data};
        st = lf_st_write(path, outs, n, keys, vals, 3, &m->err);
        LF_FREE(outs);
        LF_FREE(names);
    }
    lf_buf_free(&arch);
    return st;
}

/* ------------------------------------------------------------------ load */

/* checks that obj has only the allowed keys */
static lf_status only_keys(const lf_json *obj, const char *const *allowed, const char *where,
                           lf_err *e) {
    char k[LF_MSG_STR];
    const char *bad = lf_json_unknown_key(obj, allowed);
    if (bad) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown field '%s'", where, lf_str_for_msg(k, bad));
    return LF_OK;
}

static const char *get_str(const lf_json *obj, const char *key) {
    return lf_json_str(lf_json_get(obj, key));
}

static int node_by_name(const lf_model *m, const lf_json *j) {
    const char *s = lf_json_str(j);
    return s ? lf_node_find(m, s) : -1;
}

static lf_status get_float(const lf_json *obj, const char *key, float lo, float hi, float *out,
                           const char *where, lf_err *e) {
    double v;
    if (!lf_json_num(lf_json_get(obj, key), &v) || !(v >= lo && v <= hi))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a number in [%g, %g]", where, key,
                       (double)lo, (double)hi);
    *out = (float)v;
    return LF_OK;
}

static lf_status get_bool(const lf_json *obj, const char *key, int *out, const char *where,
                          lf_err *e) {
    if (!lf_json_bool(lf_json_get(obj, key), out))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be true or false", where, key);
    return LF_OK;
}

#define MAX_DIM ((size_t)1 << 28)

/* The a x b weights of a layer, with the earlier layers', must fit in the
 * floats the file stores, checked before the builder allocates them, so
 * that a small file cannot make the loader allocate gigabytes.  Up to
 * BUDGET_SLACK floats more are let through to be built, so that a file
 * missing a tensor or two is reported by the tensor's name. */
#define BUDGET_SLACK ((size_t)1 << 20)
static lf_status check_budget(const lf_model *m, size_t a, size_t b, size_t stored, const char *where,
                              lf_err *e) {
    size_t need, limit = stored + BUDGET_SLACK;
    if (!lf_mul_ok(a, b, &need) || m->n_params > limit || need > limit - m->n_params)
        return lf_fail(e, LF_ERR_FORMAT, "%s: needs more weights than the file stores (%zu floats)", where,
                       stored);
    return LF_OK;
}

/* stored: the floats the file stores, which bound the weights a layer may
 * allocate before they are compared with the stored tensors */
static lf_status build_layer(lf_model *m, const lf_json *L, size_t idx, size_t stored, lf_err *e) {
    char where[96], esc[LF_MSG_STR];
    snprintf(where, sizeof where, "architecture: layer %zu", idx);
    if (!lf_json_is(L, LF_JSON_OBJECT)) return lf_fail(e, LF_ERR_FORMAT, "%s is not an object", where);
    const char *name = get_str(L, "name"), *type = get_str(L, "type");
    if (!name || !type) return lf_fail(e, LF_ERR_FORMAT, "%s: 'name' and 'type' must be strings", where);
    if (!lf_name_valid(name, strlen(name)))
        return lf_fail(e, LF_ERR_FORMAT, "%s: the name '%s' is not 1-63 characters of A-Z a-z 0-9 _ . -",
                       where, lf_str_for_msg(esc, name));
    snprintf(where, sizeof where, "architecture: layer '%s'", name);
    int kind = lf_kind_parse(type);
    if (kind < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown layer type '%s'", where, lf_str_for_msg(esc, type));

    /* inbound nodes, by name, all earlier layers */
    const lf_json *inb = lf_json_get(L, "inbound");
    size_t n_in = inb ? lf_json_len(inb) : 0;
    if (kind == LF_K_INPUT ? inb != NULL : (!lf_json_is(inb, LF_JSON_ARRAY) || n_in == 0 || n_in > 1024))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'inbound' must be %s", where,
                       kind == LF_K_INPUT ? "absent for an input" : "a list of 1..1024 layer names");
    int ids[1024];
    for (size_t j = 0; j < n_in; j++) {
        ids[j] = node_by_name(m, lf_json_at(inb, j));
        if (ids[j] < 0)
            return lf_fail(e, LF_ERR_FORMAT, "%s: inbound %zu does not name an earlier layer", where, j);
    }
    static const char *const k_input[] = {"name", "type", "dim", NULL};
    static const char *const k_dense[] = {"name", "type", "inbound", "units", "activation", "use_bias", "l2", NULL};
    static const char *const k_act[] = {"name", "type", "inbound", "activation", NULL};
    static const char *const k_drop[] = {"name", "type", "inbound", "rate", NULL};
    static const char *const k_merge[] = {"name", "type", "inbound", NULL};
    static const char *const k_dot[] = {"name", "type", "inbound", "normalize", NULL};
    static const char *const k_wavg[] = {"name", "type", "inbound", "mask", "l2", NULL};
    static const char *const k_gated[] = {"name", "type", "inbound", "gate", "mask", NULL};
    const char *const *allowed = kind == LF_K_INPUT ? k_input : kind == LF_K_DENSE ? k_dense
                                 : kind == LF_K_ACTIVATION ? k_act : kind == LF_K_DROPOUT ? k_drop
                                 : kind == LF_K_DOT ? k_dot : kind == LF_K_GATED ? k_gated
                                 : (kind == LF_K_WAVG || kind == LF_K_CWAVG) ? k_wavg : k_merge;
    lf_status st = only_keys(L, allowed, where, e);
    if (st != LF_OK) return st;

    int id = -1, act = 0, flag = 0, mask = -1;
    size_t units = 0;
    float f = 0;
    if (kind == LF_K_DENSE || kind == LF_K_ACTIVATION) {
        act = lf_activation_parse(get_str(L, "activation"));
        if (act < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown or missing activation", where);
    }
    if ((kind == LF_K_WAVG || kind == LF_K_CWAVG || kind == LF_K_GATED)) {
        const lf_json *mj = lf_json_get(L, "mask");
        if (!mj) return lf_fail(e, LF_ERR_FORMAT, "%s: 'mask' is missing", where);
        if (!lf_json_is(mj, LF_JSON_NULL) && (mask = node_by_name(m, mj)) < 0)
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'mask' does not name an earlier layer", where);
    }
    switch (kind) {
    case LF_K_INPUT:
        if (!lf_json_size(lf_json_get(L, "dim"), &units) || units == 0 || units > MAX_DIM)
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'dim' must be an integer in 1..%zu", where, MAX_DIM);
        id = lf_input(m, units, name);
        break;
    case LF_K_DENSE:
        if (n_in != 1) return lf_fail(e, LF_ERR_FORMAT, "%s: Dense takes 1 inbound layer", where);
        if (!lf_json_size(lf_json_get(L, "units"), &units) || units == 0 || units > MAX_DIM)
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'units' must be an integer in 1..%zu", where, MAX_DIM);
        if ((st = get_bool(L, "use_bias", &flag, where, e)) != LF_OK) return st;
        if ((st = check_budget(m, units, lf_node_dim(m, ids[0]) + (flag != 0), stored, where, e)) != LF_OK)
            return st;
        f = 0; /* "l2" is optional: absent means no penalty */
        if (lf_json_get(L, "l2") && (st = get_float(L, "l2", 0, 1e6f, &f, where, e)) != LF_OK) return st;
        id = lf_dense(m, ids[0], units, act, flag, name);
        if (id >= 0) lf_set_l2(m, id, f);
        break;
    case LF_K_ACTIVATION:
        if (n_in != 1) return lf_fail(e, LF_ERR_FORMAT, "%s: Activation takes 1 inbound layer", where);
        id = lf_activation_layer(m, ids[0], act, name);
        break;
    case LF_K_DROPOUT:
        if (n_in != 1) return lf_fail(e, LF_ERR_FORMAT, "%s: Dropout takes 1 inbound layer", where);
        if ((st = get_float(L, "rate", 0, 0.999f, &f, where, e)) != LF_OK) return st;
        id = lf_dropout(m, ids[0], f, name);
        break;
    case LF_K_SUBTRACT:
    case LF_K_DOT:
        if (n_in != 2) return lf_fail(e, LF_ERR_FORMAT, "%s: %s takes 2 inbound layers", where, type);
        if (kind == LF_K_SUBTRACT) id = lf_subtract(m, ids[0], ids[1], name);
        else {
            if ((st = get_bool(L, "normalize", &flag, where, e)) != LF_OK) return st;
            id = lf_dot(m, ids[0], ids[1], flag, name);
        }
        break;
    case LF_K_ADD: id = lf_add(m, n_in, ids, name); break;
    case LF_K_MULTIPLY: id = lf_multiply(m, n_in, ids, name); break;
    case LF_K_AVERAGE: id = lf_average(m, n_in, ids, name); break;
    case LF_K_MAXIMUM: id = lf_maximum(m, n_in, ids, name); break;
    case LF_K_MINIMUM: id = lf_minimum(m, n_in, ids, name); break;
    case LF_K_CONCATENATE: id = lf_concatenate(m, n_in, ids, name); break;
    case LF_K_WAVG:
    case LF_K_CWAVG:
        if ((st = check_budget(m, n_in, kind == LF_K_WAVG ? 1 : lf_node_dim(m, ids[0]), stored, where, e)) != LF_OK)
            return st;
        f = 0;
        if (lf_json_get(L, "l2") && (st = get_float(L, "l2", 0, 1e6f, &f, where, e)) != LF_OK) return st;
        id = kind == LF_K_WAVG ? lf_weighted_average(m, n_in, ids, mask, name)
                               : lf_class_weighted_average(m, n_in, ids, mask, name);
        if (id >= 0) lf_set_l2(m, id, f);
        break;
    case LF_K_GATED: {
        int gate = node_by_name(m, lf_json_get(L, "gate"));
        if (gate < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: 'gate' does not name an earlier layer", where);
        id = lf_gated_average(m, n_in, ids, gate, mask, name);
        break;
    }
    }
    if (id < 0) return lf_fail(e, m->sticky == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "%s: %s",
                               where, m->err.msg);
    return LF_OK;
}

static lf_status read_optimizer(const lf_json *o, lf_optimizer *opt, uint64_t *iters, lf_err *e) {
    static const char *const keys[] = {"name", "learning_rate", "momentum", "nesterov", "beta_1",
                                       "beta_2", "epsilon", "rho", "use_ema", "ema_momentum",
                                       "iterations", NULL};
    const char *where = "architecture: optimizer";
    if (!lf_json_is(o, LF_JSON_OBJECT)) return lf_fail(e, LF_ERR_FORMAT, "%s must be an object", where);
    lf_status st = only_keys(o, keys, where, e);
    if (st != LF_OK) return st;
    const char *name = get_str(o, "name");
    int kind = -1;
    for (int k = 0; k < 3; k++)
        if (name && strcmp(name, opt_names[k]) == 0) kind = k;
    if (kind < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown optimizer name", where);
    *opt = lf_optimizer_default((lf_optimizer_kind)kind);
    if ((st = get_float(o, "learning_rate", 1e-12f, 1e6f, &opt->learning_rate, where, e)) ||
        (st = get_float(o, "momentum", 0, 0.9999f, &opt->momentum, where, e)) ||
        (st = get_bool(o, "nesterov", &opt->nesterov, where, e)) ||
        (st = get_float(o, "beta_1", 0, 0.9999999f, &opt->beta_1, where, e)) ||
        (st = get_float(o, "beta_2", 0, 0.9999999f, &opt->beta_2, where, e)) ||
        (st = get_float(o, "epsilon", 1e-30f, 1.0f, &opt->epsilon, where, e)) ||
        (st = get_float(o, "rho", 0, 0.9999999f, &opt->rho, where, e)))
        return st;
    /* optional (written only when on) */
    if (lf_json_get(o, "use_ema") && (st = get_bool(o, "use_ema", &opt->use_ema, where, e))) return st;
    if (lf_json_get(o, "ema_momentum") &&
        (st = get_float(o, "ema_momentum", 0, 0.9999999f, &opt->ema_momentum, where, e)))
        return st;
    double it;
    if (!lf_json_num(lf_json_get(o, "iterations"), &it) || !(it >= 0 && it < 9e15) || it != floor(it))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'iterations' must be a non-negative integer", where);
    *iters = (uint64_t)it;
    return LF_OK;
}

lf_status lf_load_tensor(const lf_st_file *f, const char *name, float *dst, size_t ndim,
                         const size_t *shape, lf_err *e) {
    const lf_st_tensor *t = lf_st_find(f, name);
    if (!t) return lf_fail(e, LF_ERR_FORMAT, "model file: tensor '%.80s' is missing", name);
    int same = t->ndim == ndim && t->dtype == LF_ST_F32;
    for (size_t d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    char dims[48];
    if (ndim > 1) snprintf(dims, sizeof dims, "%zu, %zu", shape[0], shape[1]);
    else snprintf(dims, sizeof dims, "%zu", shape[0]);
    if (!same) return lf_fail(e, LF_ERR_FORMAT, "model file: tensor '%.80s' must be F32 of shape (%s)", name, dims);
    return lf_st_tensor_f32(t, dst, t->count, e);
}

static lf_status rebuild(lf_model *m, const char *arch, size_t arch_len, const lf_st_file *f,
                         const char *prefix, lf_err *e) {
    if (m->n_nodes || m->compiled)
        return lf_fail(e, LF_ERR_STATE, "load: the model must be empty (freshly created)");
    lf_json *root;
    lf_status st = lf_json_parse(arch, arch_len, &root, e);
    if (st != LF_OK) {
        char msg[sizeof e->msg];
        memcpy(msg, e->msg, sizeof msg);
        return lf_fail(e, LF_ERR_FORMAT, "architecture: %.400s", msg);
    }
    static const char *const keys[] = {"layers", "output", "loss", "optimizer", NULL};
    if (!lf_json_is(root, LF_JSON_OBJECT)) st = lf_fail(e, LF_ERR_FORMAT, "architecture: not a JSON object");
    else st = only_keys(root, keys, "architecture", e);
    const lf_json *layers = lf_json_get(root, "layers");
    if (st == LF_OK && (!lf_json_is(layers, LF_JSON_ARRAY) || lf_json_len(layers) == 0 ||
                        lf_json_len(layers) > 100000))
        st = lf_fail(e, LF_ERR_FORMAT, "architecture: 'layers' must be a list of 1..100000 layers");
    size_t stored = 0, plen = strlen(prefix);
    for (size_t i = 0; i < lf_st_count(f); i++)
        if (strncmp(lf_st_at(f, i)->name, prefix, plen) == 0) stored += lf_st_at(f, i)->count;
    for (size_t i = 0; st == LF_OK && i < lf_json_len(layers); i++)
        st = build_layer(m, lf_json_at(layers, i), i, stored, e);
    const lf_json *out = lf_json_get(root, "output");
    if (st == LF_OK && out) {
        int oid = node_by_name(m, out);
        int loss = lf_loss_parse(get_str(root, "loss"));
        lf_optimizer opt;
        uint64_t iters = 0;
        if (oid < 0) st = lf_fail(e, LF_ERR_FORMAT, "architecture: 'output' does not name a layer");
        else if (loss < 0) st = lf_fail(e, LF_ERR_FORMAT, "architecture: unknown or missing loss");
        else st = read_optimizer(lf_json_get(root, "optimizer"), &opt, &iters, e);
        if (st == LF_OK && lf_model_compile(m, oid, (lf_loss)loss, &opt) != LF_OK)
            st = lf_fail(e, LF_ERR_FORMAT, "architecture: %s", m->err.msg);
        m->step = iters;
    } else if (st == LF_OK && (lf_json_get(root, "loss") || lf_json_get(root, "optimizer"))) {
        st = lf_fail(e, LF_ERR_FORMAT, "architecture: 'loss' and 'optimizer' need 'output'");
    }
    lf_json_free(root);
    if (st != LF_OK) return st;

    /* exactly the expected tensors, with the expected shapes */
    lf_st_out *outs;
    char *names;
    size_t n;
    int with_opt = 0;
    char oname[160];
    snprintf(oname, sizeof oname, "%soptimizer.m", prefix);
    with_opt = m->compiled && lf_st_find(f, oname) != NULL;
    if ((st = lf_model_tensors(m, prefix, with_opt, &outs, &n, &names, e)) != LF_OK) return st;
    for (size_t i = 0; st == LF_OK && i < n; i++)
        st = lf_load_tensor(f, outs[i].name, (float *)outs[i].data, outs[i].ndim, outs[i].shape, e);
    size_t ours = 0;
    for (size_t i = 0; i < lf_st_count(f); i++)
        ours += strncmp(lf_st_at(f, i)->name, prefix, plen) == 0;
    if (st == LF_OK && ours != n) {
        for (size_t i = 0; i < lf_st_count(f); i++) {
            const char *tn = lf_st_at(f, i)->name;
            int expected = 0;
            for (size_t j = 0; j < n; j++) expected |= strcmp(tn, outs[j].name) == 0;
            if (!expected && strncmp(tn, prefix, plen) == 0) {
                char esc[LF_MSG_STR];
                st = lf_fail(e, LF_ERR_FORMAT, "model file: unexpected tensor '%s'", lf_str_for_msg(esc, tn));
                break;
            }
        }
    }
    LF_FREE(outs);
    LF_FREE(names);
    return st;
}

lf_status lf_model_from_parts(lf_model *m, const char *arch, size_t arch_len,
                              const lf_st_file *f, const char *prefix, lf_err *e) {
    lf_status st = rebuild(m, arch, arch_len, f, prefix, e);
    if (st != LF_OK && st != LF_ERR_STATE) lf_model_reset(m);
    return st;
}

lf_status lf_model_load(lf_model *m, const char *path) {
    if (!m) return LF_ERR_ARG;
    if (!path) return lf_model_fail(m, LF_ERR_ARG, "load: no path given");
    lf_st_file f;
    lf_status st = lf_st_read(path, &f, &m->err);
    if (st != LF_OK) return st;
    const char *fmt = lf_st_metadata(&f, "format"), *ver = lf_st_metadata(&f, "format_version");
    const char *arch = lf_st_metadata(&f, "architecture");
    char esc[LF_MSG_STR];
    if (!fmt || strcmp(fmt, "latefuse") != 0)
        st = lf_model_fail(m, LF_ERR_FORMAT, "'%s' is a safetensors file but not a latefuse model", path);
    else if (!ver || strcmp(ver, FORMAT_VERSION) != 0)
        st = lf_model_fail(m, LF_ERR_FORMAT, "'%s': unsupported latefuse format version '%s'", path,
                           ver ? lf_str_for_msg(esc, ver) : "(none)");
    else if (!arch)
        st = lf_model_fail(m, LF_ERR_FORMAT, "'%s': the metadata has no architecture", path);
    else {
        lf_err e;
        st = lf_model_from_parts(m, arch, strlen(arch), &f, "", &e);
        if (st != LF_OK) lf_model_fail(m, st, "'%s': %s", path, e.msg);
    }
    lf_st_free(&f);
    return st;
}
