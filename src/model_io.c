/*
 * model_io.c — saving and loading models.
 *
 * A model file is a safetensors file: the weights as F32 tensors named
 * "<layer>.kernel", "<layer>.bias" (Dense, PyTorch layout (out, in)) and
 * "<layer>.W" (weighted averages), optionally the optimizer moments
 * "optimizer.m" / "optimizer.v" (and the third of adam's amsgrad or
 * centered rmsprop, "optimizer.velocity_hat" / "optimizer.average_gradient"), and in "__metadata__" the strings
 * format = "latefuse", format_version = "2" and architecture = a JSON
 * object describing the graph (schema in docs/formats.md).  Each layer's own
 * fields, and its tensors, are its kind's record's (layers/layer.h); this
 * file writes and reads what every layer and model has.  The loader
 * validates the container (safetensors.c), then every field of the
 * architecture, rebuilds the graph through the records' builder path (which
 * re-checks shapes and names), and finally requires exactly the expected
 * tensors with exactly the expected shapes and finite values.  Nothing in
 * the file is executed or used as a path.
 */
#include "model_io.h"
#include "layers/layer.h"
#include "schedule.h"

#include <math.h>
#include <string.h>

/* version 2: inputs store their "shape" and "dtype" (version 1 files,
 * flat float inputs with a "dim" only, still load) */
#define FORMAT_VERSION "2"

/* lf_optimizer_kind's order */
static const char *const opt_names[] = {"sgd", "adam", "rmsprop", "adagrad", "adamax", "nadam", "adadelta", "lion"};
#define N_OPT_NAMES (sizeof opt_names / sizeof *opt_names)

/* ------------------------------------------------------------------ save */

static void json_key(lf_buf *b, const char *k) {
    lf_buf_json_string(b, k);
    lf_buf_puts(b, ":");
}

void lf_model_arch_json(const lf_model *m, lf_buf *b) {
    lf_buf_puts(b, "{\"layers\":[");
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        const lf_layer_type *t = lf_type_of(nd);
        lf_buf_puts(b, i ? ",{" : "{");
        json_key(b, "name");
        lf_buf_json_string(b, nd->name);
        lf_buf_puts(b, ",");
        json_key(b, "type");
        lf_buf_json_string(b, t->type);
        if (nd->n_in) {
            lf_buf_puts(b, ",\"inbound\":[");
            for (size_t j = 0; j < nd->n_in; j++) {
                if (j) lf_buf_puts(b, ",");
                lf_buf_json_string(b, m->nodes[nd->in[j]].name);
            }
            lf_buf_puts(b, "]");
        }
        if (nd->shares) { /* Keras' shared layer: the weights of an earlier layer */
            lf_buf_puts(b, ",\"shares\":");
            lf_buf_json_string(b, m->nodes[nd->shares - 1].name);
        }
        if (t->write_json) t->write_json(m, nd, b);
        lf_arch_write_constraints(nd, b);
        lf_arch_write_regularizers(nd, b);
        if (nd->frozen) lf_buf_puts(b, ",\"trainable\":false"); /* Keras' default true is not written */
        lf_buf_puts(b, "}");
    }
    lf_buf_puts(b, "]");
    if (m->compiled && m->n_outputs == 1 && m->outs[0].weight == 1.0f) {
        lf_buf_puts(b, ",\"output\":");
        lf_buf_json_string(b, m->nodes[m->output].name);
        lf_buf_printf(b, ",\"loss\":\"%s\"", lf_loss_name(m->loss));
    } else if (m->compiled) {
        /* several outputs (or a loss weight): lists, output by output */
        lf_buf_puts(b, ",\"outputs\":[");
        for (size_t k = 0; k < m->n_outputs; k++) {
            if (k) lf_buf_puts(b, ",");
            lf_buf_json_string(b, m->nodes[m->outs[k].node].name);
        }
        lf_buf_puts(b, "],\"losses\":[");
        for (size_t k = 0; k < m->n_outputs; k++) lf_buf_printf(b, "%s\"%s\"", k ? "," : "", lf_loss_name(m->outs[k].loss));
        lf_buf_puts(b, "],\"loss_weights\":[");
        for (size_t k = 0; k < m->n_outputs; k++) {
            if (k) lf_buf_puts(b, ",");
            lf_buf_json_float(b, m->outs[k].weight);
        }
        lf_buf_puts(b, "]");
    }
    if (!m->compiled && m->n_decl_outs) { /* lf_model_set_outputs: an uncompiled model's outputs */
        lf_buf_puts(b, ",\"model_outputs\":[");
        for (size_t k = 0; k < m->n_decl_outs; k++) {
            if (k) lf_buf_puts(b, ",");
            lf_buf_json_string(b, m->nodes[m->decl_outs[k]].name);
        }
        lf_buf_puts(b, "]");
    }
    int any_logits = 0;
    for (size_t k = 0; m->compiled && k < m->n_outputs; k++) any_logits |= m->outs[k].from_logits;
    if (any_logits) { /* Keras' from_logits=True, output by output; not written when none has it */
        lf_buf_puts(b, ",\"from_logits\":[");
        for (size_t k = 0; k < m->n_outputs; k++) lf_buf_printf(b, "%s%s", k ? "," : "", m->outs[k].from_logits ? "true" : "false");
        lf_buf_puts(b, "]");
    }
    for (int k = 0; m->compiled && k < 2; k++) /* lf_model_set_metrics' JSON, checked there; not written when unset */
        if (m->metrics[k]) {
            lf_buf_puts(b, k ? ",\"weighted_metrics\":" : ",\"metrics\":");
            lf_buf_puts(b, m->metrics[k]);
        }
    if (m->compiled) {
        lf_buf_printf(b, ",\"optimizer\":{\"name\":\"%s\",\"learning_rate\":", opt_names[m->opt.kind]);
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
        /* Keras' weight decay and clips, written only when set */
        const char *const extra[] = {"weight_decay", "clipnorm", "clipvalue", "global_clipnorm"};
        const float extra_v[] = {o->weight_decay, o->clipnorm, o->clipvalue, o->global_clipnorm};
        for (size_t k = 0; k < 4; k++) {
            if (!(extra_v[k] > 0)) continue;
            lf_buf_printf(b, ",\"%s\":", extra[k]);
            lf_buf_json_float(b, extra_v[k]);
        }
        /* each kind's own, written only for it (and the flags only when on) */
        if (o->kind == LF_OPT_ADAM && o->amsgrad) lf_buf_puts(b, ",\"amsgrad\":true");
        if (o->kind == LF_OPT_RMSPROP && o->centered) lf_buf_puts(b, ",\"centered\":true");
        if (o->kind == LF_OPT_ADAGRAD) {
            lf_buf_puts(b, ",\"initial_accumulator_value\":");
            lf_buf_json_float(b, o->initial_accumulator_value);
        }
        lf_lr_schedule_write(b, &o->schedule);
        lf_buf_printf(b, ",\"iterations\":%llu}", (unsigned long long)m->step);
    }
    lf_buf_puts(b, "}");
}

lf_status lf_model_tensors(const lf_model *m, const char *prefix, int with_opt, lf_st_out **outs,
                           size_t *n, char **names, lf_err *e) {
    const char *third = with_opt ? lf_optim_third(&m->opt) : NULL;
    size_t count = with_opt ? 2 + (third != NULL) : 0, name_bytes = 64;
    size_t plen = strlen(prefix);
    lf_weight w[LF_MAX_WEIGHTS];
    for (size_t i = 0; i < m->n_nodes; i++) {
        size_t nw = lf_node_weights(m, &m->nodes[i], w);
        count += nw;
        for (size_t j = 0; j < nw; j++)
            name_bytes += plen + strlen(m->nodes[i].name) + strlen(w[j].suffix) + 2;
    }
    name_bytes += 3 * (plen + 32);
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
        size_t nw = lf_node_weights(m, nd, w);
        for (size_t j = 0; j < nw; j++) {
            lf_st_out *t = &(*outs)[k++];
            int len = sprintf(np, "%s%s.%s", prefix, nd->name, w[j].suffix);
            t->name = np;
            np += len + 1;
            t->data = m->params + nd->param_off + w[j].off;
            t->ndim = w[j].ndim;
            for (size_t d = 0; d < w[j].ndim; d++) t->shape[d] = w[j].shape[d];
        }
    }
    if (with_opt) {
        for (int j = 0; j < 2 + (third != NULL); j++) {
            lf_st_out *t = &(*outs)[k++];
            int len = sprintf(np, "%soptimizer.%s", prefix, j == 2 ? third : j ? "v" : "m");
            t->name = np;
            np += len + 1;
            t->data = j == 2 ? m->m3 : j ? m->m2 : m->m1;
            t->ndim = 1, t->shape[0] = m->n_params;
        }
    }
    *n = k;
    return LF_OK;
}

lf_status lf_model_save(lf_model *m, const char *path, unsigned flags) {
    if (!m) return LF_ERR_ARG;
    const unsigned known = LF_WRITE_NO_FSYNC | LF_SAVE_OPTIMIZER;
    if (flags & ~known) return lf_model_fail(m, LF_ERR_ARG, "save: unknown flags 0x%x", flags & ~known);
    int with_optimizer = (flags & LF_SAVE_OPTIMIZER) != 0;
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
    lf_textvec_parts tp;
    lf_lookup_parts lp;
    memset(&lp, 0, sizeof lp);
    lf_status st = lf_model_textvec_parts(m, &tp, &m->err);
    if (st == LF_OK && (st = lf_model_lookup_parts(m, &lp, &m->err)) != LF_OK) lf_textvec_parts_free(&tp);
    if (st != LF_OK) {
        lf_buf_free(&arch);
        return st;
    }
    st = lf_model_tensors(m, "", with_optimizer, &outs, &n, &names, &m->err);
    /* the attached text vectorizers' metadata and idf tensors follow, then
     * the lookups' metadata */
    const size_t n_meta = 3 + 2 * tp.n + 2 * lp.n;
    const char **keys = st == LF_OK ? lf_alloc_array(n_meta, sizeof *keys) : NULL;
    const char **vals = st == LF_OK ? lf_alloc_array(n_meta, sizeof *vals) : NULL;
    lf_st_out *all = st == LF_OK ? lf_alloc_array(n + tp.n_idf + 1, sizeof *all) : NULL;
    if (st == LF_OK && (!keys || !vals || !all)) st = lf_model_fail(m, LF_ERR_NOMEM, "save: out of memory");
    if (st == LF_OK) {
        keys[0] = "format", keys[1] = "format_version", keys[2] = "architecture";
        vals[0] = "latefuse", vals[1] = FORMAT_VERSION, vals[2] = arch.data;
        for (size_t i = 0; i < 2 * tp.n; i++) keys[3 + i] = tp.keys[i], vals[3 + i] = tp.vals[i];
        for (size_t i = 0; i < 2 * lp.n; i++) keys[3 + 2 * tp.n + i] = lp.keys[i], vals[3 + 2 * tp.n + i] = lp.vals[i];
        memcpy(all, outs, n * sizeof *all);
        for (size_t i = 0; i < tp.n_idf; i++) all[n + i] = tp.idf[i];
        st = lf_st_write(path, all, n + tp.n_idf, keys, vals, n_meta, flags & LF_WRITE_NO_FSYNC, &m->err);
    }
    if (outs) LF_FREE(outs), LF_FREE(names);
    LF_FREE(keys), LF_FREE(vals), LF_FREE(all);
    lf_textvec_parts_free(&tp);
    lf_lookup_parts_free(&lp);
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

static lf_status build_layer(lf_model *m, const lf_json *L, size_t idx, lf_err *e) {
    char where[96], esc[LF_MSG_STR];
    snprintf(where, sizeof where, "architecture: layer %zu", idx);
    if (!lf_json_is(L, LF_JSON_OBJECT)) return lf_fail(e, LF_ERR_FORMAT, "%s is not an object", where);
    const char *name = lf_arch_str(L, "name"), *type = lf_arch_str(L, "type");
    if (!name || !type) return lf_fail(e, LF_ERR_FORMAT, "%s: 'name' and 'type' must be strings", where);
    if (!lf_name_valid(name, strlen(name)))
        return lf_fail(e, LF_ERR_FORMAT, "%s: the name '%s' is not 1-63 characters of A-Z a-z 0-9 _ . -",
                       where, lf_str_for_msg(esc, name));
    snprintf(where, sizeof where, "architecture: layer '%s'", name);
    int kind = lf_kind_parse(type);
    if (kind < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown layer type '%s'", where, lf_str_for_msg(esc, type));
    const lf_layer_type *t = lf_layer_types[kind];

    /* inbound nodes, by name, all earlier layers */
    const lf_json *inb = lf_json_get(L, "inbound");
    size_t n_in = inb ? lf_json_len(inb) : 0;
    if (t->is_input ? inb != NULL : (!lf_json_is(inb, LF_JSON_ARRAY) || n_in == 0 || n_in > 1024))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'inbound' must be %s", where,
                       t->is_input ? "absent for an input" : "a list of 1..1024 layer names");
    int ids[1024];
    for (size_t j = 0; j < n_in; j++) {
        ids[j] = lf_arch_node(m, lf_json_at(inb, j));
        if (ids[j] < 0)
            return lf_fail(e, LF_ERR_FORMAT, "%s: inbound %zu does not name an earlier layer", where, j);
    }
    /* the kind's fields, plus "trainable", "shares", "constraints" and "regularizers" that any layer may have */
    for (size_t i = 0; i < lf_json_len(L); i++) {
        const char *k = lf_json_key_at(L, i);
        int known = strcmp(k, "shares") == 0 || strcmp(k, "trainable") == 0 || strcmp(k, "constraints") == 0 ||
                    strcmp(k, "regularizers") == 0;
        for (size_t j = 0; !known && t->keys[j]; j++) known = strcmp(k, t->keys[j]) == 0;
        if (!known) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown field '%s'", where, lf_str_for_msg(esc, k));
    }
    const lf_json *tr = lf_json_get(L, "trainable");
    int trainable = 1;
    lf_status st = LF_OK;
    if (tr && (st = lf_arch_bool(L, "trainable", &trainable, where, e)) != LF_OK) return st;

    /* the kind's own fields, then the builder's checks */
    lf_node proto = LF_NODE_PROTO;
    if (t->read_json && (st = t->read_json(m, L, n_in, &proto, where, e)) != LF_OK) return st;
    const lf_json *sh = lf_json_get(L, "shares");
    if (sh) {
        int owner = lf_arch_node(m, sh);
        if (owner < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: 'shares' does not name an earlier layer", where);
        proto.shares = owner + 1;
    }
    int id = lf_node_add(m, t, (lf_kind)kind, proto, ids, n_in, name);
    if (id < 0) return lf_fail(e, m->sticky == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "%s: %s",
                               where, m->err.msg);
    if ((st = lf_arch_read_constraints(m, id, L, where, e)) != LF_OK) return st;
    if ((st = lf_arch_read_regularizers(m, id, L, where, e)) != LF_OK) return st;
    m->nodes[id].frozen = !trainable;
    return LF_OK;
}

static lf_status read_optimizer(const lf_json *o, lf_optimizer *opt, uint64_t *iters, lf_err *e) {
    static const char *const keys[] = {"name", "learning_rate", "momentum", "nesterov", "beta_1",
                                       "beta_2", "epsilon", "rho", "use_ema", "ema_momentum",
                                       "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
                                       "amsgrad", "centered", "initial_accumulator_value", "schedule", "iterations", NULL};
    const char *where = "architecture: optimizer";
    if (!lf_json_is(o, LF_JSON_OBJECT)) return lf_fail(e, LF_ERR_FORMAT, "%s must be an object", where);
    lf_status st = only_keys(o, keys, where, e);
    if (st != LF_OK) return st;
    const char *name = lf_arch_str(o, "name");
    int kind = -1;
    for (int k = 0; k < (int)N_OPT_NAMES; k++)
        if (name && strcmp(name, opt_names[k]) == 0) kind = k;
    if (kind < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown optimizer name", where);
    *opt = lf_optimizer_default((lf_optimizer_kind)kind);
    /* the ranges lf_model_compile accepts (builder.c's valid_optimizer) */
    if ((st = lf_arch_float_in(o, "learning_rate", 0, INFINITY, LF_ARCH_HI_OPEN, &opt->learning_rate, where, e)) ||
        (st = lf_arch_float_in(o, "momentum", 0, 1, LF_ARCH_HI_OPEN, &opt->momentum, where, e)) ||
        (st = lf_arch_bool(o, "nesterov", &opt->nesterov, where, e)) ||
        (st = lf_arch_float_in(o, "beta_1", 0, 1, kind == LF_OPT_LION ? LF_ARCH_LO_OPEN : LF_ARCH_HI_OPEN,
                               &opt->beta_1, where, e)) ||
        (st = lf_arch_float_in(o, "beta_2", 0, 1, LF_ARCH_HI_OPEN, &opt->beta_2, where, e)) ||
        (st = lf_arch_float_in(o, "epsilon", 0, INFINITY, LF_ARCH_LO_OPEN, &opt->epsilon, where, e)) ||
        (st = lf_arch_float_in(o, "rho", 0, 1, LF_ARCH_HI_OPEN, &opt->rho, where, e)))
        return st;
    /* optional (written only when on) */
    if (lf_json_get(o, "use_ema") && (st = lf_arch_bool(o, "use_ema", &opt->use_ema, where, e))) return st;
    if (lf_json_get(o, "ema_momentum") &&
        (st = lf_arch_float_in(o, "ema_momentum", 0, 1, LF_ARCH_HI_OPEN, &opt->ema_momentum, where, e)))
        return st;
    const char *const extra[] = {"weight_decay", "clipnorm", "clipvalue", "global_clipnorm"};
    float *const extra_v[] = {&opt->weight_decay, &opt->clipnorm, &opt->clipvalue, &opt->global_clipnorm};
    for (size_t k = 0; k < 4; k++)
        if (lf_json_get(o, extra[k]) &&
            (st = lf_arch_float_in(o, extra[k], 0, INFINITY, LF_ARCH_HI_OPEN, extra_v[k], where, e)))
            return st;
    if ((opt->clipnorm > 0) + (opt->clipvalue > 0) + (opt->global_clipnorm > 0) > 1)
        return lf_fail(e, LF_ERR_FORMAT, "%s: at most one of clipnorm, clipvalue and global_clipnorm", where);
    /* each kind's own field, written only for it (Keras' other optimizers
     * have no such argument) */
    static const struct {
        const char *key;
        lf_optimizer_kind kind;
    } own[] = {{"amsgrad", LF_OPT_ADAM}, {"centered", LF_OPT_RMSPROP}, {"initial_accumulator_value", LF_OPT_ADAGRAD}};
    for (size_t k = 0; k < sizeof own / sizeof *own; k++)
        if (lf_json_get(o, own[k].key) && kind != (int)own[k].kind)
            return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' is %s's field, not %s's", where, own[k].key,
                           opt_names[own[k].kind], opt_names[kind]);
    if ((lf_json_get(o, "amsgrad") && (st = lf_arch_bool(o, "amsgrad", &opt->amsgrad, where, e))) ||
        (lf_json_get(o, "centered") && (st = lf_arch_bool(o, "centered", &opt->centered, where, e))) ||
        (lf_json_get(o, "initial_accumulator_value") &&
         (st = lf_arch_float_in(o, "initial_accumulator_value", 0, INFINITY, LF_ARCH_HI_OPEN,
                                &opt->initial_accumulator_value, where, e))))
        return st;
    if (lf_json_get(o, "schedule") && (st = lf_lr_schedule_read(lf_json_get(o, "schedule"), &opt->schedule, where, e)))
        return st;
    if (opt->learning_rate == 0.0f && !lf_lr_schedule_warms_up(&opt->schedule))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'learning_rate' must be > 0 (0 only as a warm-up's start)", where);
    /* Keras' int64 count, read exactly (fit stops counting at its end, so
     * every count a model reaches is one a file may hold) */
    if (!lf_json_u63(lf_json_get(o, "iterations"), iters))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'iterations' must be an integer in 0..%lld", where,
                       (long long)INT64_MAX);
    return LF_OK;
}

/* The optimizer's moments that are >= 0 in every state the updates leave
 * (optim.c: second moments, accumulators, adamax's norm, amsgrad's
 * maximum; adadelta's both): a negative one, which no fit writes, would
 * make the first step of a resumed fit NaN (the root of a negative). */
static lf_status check_moments(const lf_model *m, const char *prefix, lf_err *e) {
    const lf_optimizer *o = &m->opt;
    const float *const state[3] = {m->m1, m->m2, m->m3};
    const char *const names[3] = {"m", "v", lf_optim_third(o)};
    const int keep[3] = {lf_optim_nonneg(o, 0), lf_optim_nonneg(o, 1), lf_optim_nonneg(o, 2)};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; keep[k] && state[k] && i < m->n_params; i++)
            if (state[k][i] < 0.0f)
                return lf_fail(e, LF_ERR_FORMAT,
                               "tensor '%.80soptimizer.%s' holds a negative value at element %zu (%s keeps it >= 0)",
                               prefix, names[k], i, opt_names[o->kind]);
    return LF_OK;
}

lf_status lf_load_tensor(const lf_st_file *f, const char *name, float *dst, size_t ndim,
                         const size_t *shape, lf_err *e) {
    const lf_st_tensor *t = lf_st_find(f, name);
    if (!t) return lf_fail(e, LF_ERR_FORMAT, "tensor '%.80s' is missing", name);
    int same = t->ndim == ndim && t->dtype == LF_ST_F32;
    for (size_t d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char dims[96] = "";
        size_t used = 0;
        for (size_t d = 0; d < ndim && used < sizeof dims; d++)
            used += (size_t)snprintf(dims + used, sizeof dims - used, d ? ", %zu" : "%zu", shape[d]);
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%.80s' must be F32 of shape (%s)", name, dims);
    }
    return lf_st_tensor_f32(t, dst, t->count, e);
}

/* "outputs", "losses", "loss_weights" (lists of equal length, 1..1024)
 * and "optimizer": compiles m with them */
static lf_status read_outputs(lf_model *m, const lf_json *root, lf_err *e) {
    const lf_json *outs = lf_json_get(root, "outputs"), *ls = lf_json_get(root, "losses"),
                  *ws = lf_json_get(root, "loss_weights");
    size_t n = lf_json_len(outs);
    if (!lf_json_is(outs, LF_JSON_ARRAY) || n == 0 || n > 1024 || !lf_json_is(ls, LF_JSON_ARRAY) ||
        lf_json_len(ls) != n || !lf_json_is(ws, LF_JSON_ARRAY) || lf_json_len(ws) != n)
        return lf_fail(e, LF_ERR_FORMAT, "architecture: 'outputs', 'losses' and 'loss_weights' must be lists "
                                         "of 1..1024 entries, as many of each");
    int ids[1024];
    lf_loss losses[1024];
    float weights[1024];
    for (size_t k = 0; k < n; k++) {
        int loss = lf_loss_parse(lf_json_str(lf_json_at(ls, k)));
        double w;
        ids[k] = lf_arch_node(m, lf_json_at(outs, k));
        if (ids[k] < 0) return lf_fail(e, LF_ERR_FORMAT, "architecture: output %zu does not name a layer", k);
        if (loss < 0) return lf_fail(e, LF_ERR_FORMAT, "architecture: loss %zu is unknown", k);
        if (!lf_json_num(lf_json_at(ws, k), &w) || !(w >= 0 && w <= 1e6))
            return lf_fail(e, LF_ERR_FORMAT, "architecture: loss weight %zu must be a number in [0, 1e6]", k);
        losses[k] = (lf_loss)loss;
        weights[k] = (float)w;
    }
    lf_optimizer opt;
    uint64_t iters = 0;
    lf_status st = read_optimizer(lf_json_get(root, "optimizer"), &opt, &iters, e);
    if (st != LF_OK) return st;
    if ((st = lf_model_compile_outputs(m, n, ids, losses, weights, &opt)) != LF_OK) /* out of memory stays so */
        return lf_fail(e, st == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "architecture: %s", m->err.msg);
    m->step = iters;
    return LF_OK;
}

/* "from_logits" (after compile): a list of one boolean per output */
static lf_status read_from_logits(lf_model *m, const lf_json *fl, lf_err *e) {
    if (!fl) return LF_OK;
    if (!m->compiled) return lf_fail(e, LF_ERR_FORMAT, "architecture: 'from_logits' needs 'output' or 'outputs'");
    if (!lf_json_is(fl, LF_JSON_ARRAY) || lf_json_len(fl) != m->n_outputs)
        return lf_fail(e, LF_ERR_FORMAT, "architecture: 'from_logits' must be a list of %zu booleans, one per output",
                       m->n_outputs);
    for (size_t k = 0; k < m->n_outputs; k++) {
        int on;
        if (!lf_json_bool(lf_json_at(fl, k), &on))
            return lf_fail(e, LF_ERR_FORMAT, "architecture: 'from_logits' entry %zu is not a boolean", k);
        if (lf_model_set_from_logits(m, k, on) != LF_OK)
            return lf_fail(e, LF_ERR_FORMAT, "architecture: %s", m->err.msg);
    }
    return LF_OK;
}

/* "model_outputs" (an uncompiled model's, lf_model_set_outputs): a list of
 * 1..1024 layer names */
static lf_status read_model_outputs(lf_model *m, const lf_json *mo, lf_err *e) {
    if (!mo) return LF_OK;
    if (m->compiled)
        return lf_fail(e, LF_ERR_FORMAT, "architecture: 'model_outputs' is for an uncompiled model; a compiled "
                                         "model's outputs are 'output' or 'outputs'");
    size_t n = lf_json_len(mo);
    if (!lf_json_is(mo, LF_JSON_ARRAY) || n == 0 || n > 1024)
        return lf_fail(e, LF_ERR_FORMAT, "architecture: 'model_outputs' must be a list of 1..1024 layer names");
    int ids[1024];
    for (size_t k = 0; k < n; k++)
        if ((ids[k] = lf_arch_node(m, lf_json_at(mo, k))) < 0)
            return lf_fail(e, LF_ERR_FORMAT, "architecture: model output %zu does not name a layer", k);
    lf_status st = lf_model_set_outputs(m, n, ids);
    if (st != LF_OK) return lf_fail(e, st == LF_ERR_NOMEM ? st : LF_ERR_FORMAT, "architecture: %s", m->err.msg);
    return LF_OK;
}

/* "metrics" and "weighted_metrics" (after compile): lf_model_set_metrics' */
static lf_status read_metrics(lf_model *m, const lf_json *root, lf_err *e) {
    static const char *const what[2] = {"metrics", "weighted_metrics"};
    for (int k = 0; k < 2; k++) {
        const lf_json *j = lf_json_get(root, what[k]);
        if (!j) continue;
        if (!m->compiled) return lf_fail(e, LF_ERR_FORMAT, "architecture: '%s' needs 'output' or 'outputs'", what[k]);
        char *copy;
        lf_status st = lf_metrics_json(what[k], j, &copy, e);
        if (st != LF_OK) {
            char msg[sizeof e->msg];
            memcpy(msg, e->msg, sizeof msg);
            return lf_fail(e, st == LF_ERR_NOMEM ? st : LF_ERR_FORMAT, "architecture: %s", msg);
        }
        LF_FREE(m->metrics[k]);
        m->metrics[k] = copy;
    }
    return LF_OK;
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
        return lf_fail(e, st == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "architecture: %.400s", msg);
    }
    static const char *const keys[] = {"layers", "output", "loss", "outputs", "losses", "loss_weights",
                                       "from_logits", "metrics", "weighted_metrics", "optimizer",
                                       "model_outputs", NULL};
    if (!lf_json_is(root, LF_JSON_OBJECT)) st = lf_fail(e, LF_ERR_FORMAT, "architecture: not a JSON object");
    else st = only_keys(root, keys, "architecture", e);
    const lf_json *layers = lf_json_get(root, "layers");
    if (st == LF_OK && (!lf_json_is(layers, LF_JSON_ARRAY) || lf_json_len(layers) == 0 ||
                        lf_json_len(layers) > 100000))
        st = lf_fail(e, LF_ERR_FORMAT, "architecture: 'layers' must be a list of 1..100000 layers");
    size_t stored = 0, plen = strlen(prefix);
    for (size_t i = 0; i < lf_st_count(f); i++)
        if (strncmp(lf_st_at(f, i)->name, prefix, plen) == 0) stored += lf_st_at(f, i)->count;
    m->load_limited = 1, m->load_stored = stored; /* layer.c's lf_node_add checks it */
    for (size_t i = 0; st == LF_OK && i < lf_json_len(layers); i++)
        st = build_layer(m, lf_json_at(layers, i), i, e);
    m->load_limited = 0;
    const lf_json *out = lf_json_get(root, "output"), *out_list = lf_json_get(root, "outputs");
    if (st == LF_OK && out && out_list)
        st = lf_fail(e, LF_ERR_FORMAT, "architecture: give 'output' or 'outputs', not both");
    if (st == LF_OK && out) {
        int oid = lf_arch_node(m, out);
        int loss = lf_loss_parse(lf_arch_str(root, "loss"));
        lf_optimizer opt;
        uint64_t iters = 0;
        if (oid < 0) st = lf_fail(e, LF_ERR_FORMAT, "architecture: 'output' does not name a layer");
        else if (loss < 0) st = lf_fail(e, LF_ERR_FORMAT, "architecture: unknown or missing loss");
        else if (lf_json_get(root, "losses") || lf_json_get(root, "loss_weights"))
            st = lf_fail(e, LF_ERR_FORMAT, "architecture: 'losses' and 'loss_weights' go with 'outputs'");
        else st = read_optimizer(lf_json_get(root, "optimizer"), &opt, &iters, e);
        if (st == LF_OK && (st = lf_model_compile(m, oid, (lf_loss)loss, &opt)) != LF_OK) /* out of memory stays so */
            st = lf_fail(e, st == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "architecture: %s", m->err.msg);
        m->step = iters;
    } else if (st == LF_OK && out_list) {
        st = read_outputs(m, root, e);
    } else if (st == LF_OK && (lf_json_get(root, "loss") || lf_json_get(root, "optimizer") ||
                               lf_json_get(root, "losses") || lf_json_get(root, "loss_weights"))) {
        st = lf_fail(e, LF_ERR_FORMAT, "architecture: 'loss' and 'optimizer' need 'output'");
    }
    if (st == LF_OK) st = read_model_outputs(m, lf_json_get(root, "model_outputs"), e);
    if (st == LF_OK) st = read_from_logits(m, lf_json_get(root, "from_logits"), e);
    if (st == LF_OK) st = read_metrics(m, root, e);
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
    if (st == LF_OK && with_opt) st = check_moments(m, prefix, e);
    /* (the tensors of attached text vectorizers, "textvec:...", are
     * model_textvec.c's) */
    size_t ours = 0;
    for (size_t i = 0; i < lf_st_count(f); i++)
        ours += strncmp(lf_st_at(f, i)->name, prefix, plen) == 0 &&
                strncmp(lf_st_at(f, i)->name + plen, "textvec:", 8) != 0;
    if (st == LF_OK && ours != n) {
        for (size_t i = 0; i < lf_st_count(f); i++) {
            const char *tn = lf_st_at(f, i)->name;
            int expected = 0;
            for (size_t j = 0; j < n; j++) expected |= strcmp(tn, outs[j].name) == 0;
            if (!expected && strncmp(tn, prefix, plen) == 0 && strncmp(tn + plen, "textvec:", 8) != 0) {
                char esc[LF_MSG_STR];
                st = lf_fail(e, LF_ERR_FORMAT, "unexpected tensor '%s'", lf_str_for_msg(esc, tn));
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

lf_status lf_model_from_file(lf_model *m, const char *arch, const lf_st_file *f, lf_err *e) {
    lf_status st = lf_model_from_parts(m, arch, strlen(arch), f, "", e);
    if (st == LF_OK && ((st = lf_textvec_restore(m, f, e)) != LF_OK || (st = lf_lookup_restore(m, f, e)) != LF_OK))
        lf_model_reset(m);
    return st;
}

int lf_model_input_of_key(const lf_model *m, const char *key, const char *prefix, const char *suffix) {
    size_t n = strlen(key), prefix_len = strlen(prefix), sl = strlen(suffix);
    if (n <= prefix_len + sl || strncmp(key, prefix, prefix_len) != 0 || strcmp(key + n - sl, suffix) != 0)
        return -1;
    char name[LF_NAME_MAX];
    size_t len = n - prefix_len - sl;
    if (len >= sizeof name) return -1;
    memcpy(name, key + prefix_len, len);
    name[len] = 0;
    int id = lf_node_find(m, name);
    return id >= 0 && lf_type_of(&m->nodes[id])->is_input ? id : -1;
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
    if (fmt && strcmp(fmt, "latefuse-fusion") == 0)
        st = lf_model_fail(m, LF_ERR_FORMAT, "'%s' is a latefuse fusion model, not a network model (as lf_fusion_save, "
                           "Fusion.save and `latefuse fit` write)", path);
    else if (!fmt || strcmp(fmt, "latefuse") != 0)
        st = lf_model_fail(m, LF_ERR_FORMAT, "'%s' is a safetensors file but not a latefuse model", path);
    else if (!ver || (strcmp(ver, FORMAT_VERSION) != 0 && strcmp(ver, "1") != 0))
        st = lf_model_fail(m, LF_ERR_FORMAT,
                           "'%s': unsupported latefuse format version '%s' (this latefuse reads versions 1 and %s; "
                           "a newer one may have written it)", path, ver ? lf_str_for_msg(esc, ver) : "(none)",
                           FORMAT_VERSION);
    else if (!arch)
        st = lf_model_fail(m, LF_ERR_FORMAT, "'%s': the metadata has no architecture", path);
    else {
        lf_err e;
        st = lf_model_from_file(m, arch, &f, &e);
        if (st != LF_OK) lf_model_fail(m, st, "'%s': %s", path, e.msg);
    }
    lf_st_free(&f);
    return st;
}
