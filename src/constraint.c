/*
 * constraint.c — Keras' weight constraints: MaxNorm, NonNeg, UnitNorm and
 * MinMaxNorm (keras/src/constraints/constraints.py), set on a layer's
 * weights of one role (kernel, recurrent kernel, bias, gamma, beta) by
 * lf_set_constraint, applied after each optimizer step as Keras 3's
 * optimizer.apply (keras/src/optimizers/base_optimizer.py) assigns
 * variable.constraint(variable) after the update, and kept in the model
 * file as the layer's "constraints".
 *
 * A norm runs over the constraint's axes of the weight's Keras shape: one
 * norm per index of the other axes (Keras' keepdims sum), in double.  The
 * library stores Dense's kernel (units, in), the transpose of Keras' (in,
 * units): its axes are swapped (the one weight stored otherwise than Keras).
 */
#include "layers/layer.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CON_EPS 1e-7f /* Keras' backend.epsilon() */

static const char *const role_keys[LF_ROLE_COUNT] = {"kernel", "recurrent_kernel", "bias", "gamma", "beta"};
static const char *const kind_names[] = {"", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm"};

int lf_weight_role_of(const lf_weight *w) {
    const char *dot = strrchr(w->suffix, '.'), *s = dot ? dot + 1 : w->suffix;
    if (strcmp(s, "embeddings") == 0) return LF_ROLE_KERNEL; /* Embedding's embeddings_constraint */
    for (int r = 0; r < LF_ROLE_COUNT; r++)
        if (strcmp(s, role_keys[r]) == 0) return r;
    return -1;
}

lf_constraint lf_constraint_default(lf_constraint_kind kind) {
    lf_constraint c = {kind, 0.0f, 0.0f, 1.0f, {0}, 1};
    if (kind == LF_CONSTRAINT_MAX_NORM) c.max_value = 2.0f;
    if (kind == LF_CONSTRAINT_MIN_MAX_NORM) c.max_value = 1.0f;
    if (kind == LF_CONSTRAINT_NON_NEG || kind == LF_CONSTRAINT_NONE) c.n_axis = 0;
    return c;
}

/* The stored axes (bit a: stored axis a) that Keras' axes of c name on
 * weight w (transposed: Dense's kernel); 0 with *bad the first Keras axis
 * out of range. */
static unsigned stored_axes(const lf_constraint *c, const lf_weight *w, int transposed, int *bad) {
    unsigned mask = 0;
    if (c->n_axis == 0) return (1u << w->ndim) - 1; /* axis=None: the whole tensor */
    for (size_t i = 0; i < c->n_axis; i++) {
        int a = c->axis[i], r = (int)w->ndim;
        if (a < -r || a >= r) return *bad = a, 0;
        if (a < 0) a += r;
        if (transposed && r == 2) a = 1 - a;
        mask |= 1u << a;
    }
    return mask;
}

/* The offset of index idx of the axes in `axes` (row-major among them)
 * within a tensor of the given shape and strides. */
static size_t offset_of(size_t idx, unsigned axes, size_t ndim, const size_t *shape, const size_t *stride) {
    size_t off = 0;
    for (size_t a = ndim; a-- > 0;) {
        if (!(axes >> a & 1u)) continue;
        off += idx % shape[a] * stride[a];
        idx /= shape[a];
    }
    return off;
}

/* Dense's kernel is stored (units, in), Keras' (in, units) */
static int is_transposed(const lf_node *nd, int role) { return nd->kind == LF_K_DENSE && role == LF_ROLE_KERNEL; }

static inline float flush(float x) { return fabsf(x) < FLT_MIN ? 0.0f : x; }

/* w (n values, shape of wt) <- c(w) */
static void apply_one(const lf_constraint *c, const lf_weight *wt, int transposed, float *restrict w) {
    size_t n = lf_weight_count(wt);
    if (c->kind == LF_CONSTRAINT_NON_NEG) {
        for (size_t i = 0; i < n; i++) w[i] = w[i] < 0.0f ? 0.0f : w[i]; /* ops.maximum(w, 0) */
        return;
    }
    int bad = 0;
    unsigned red = stored_axes(c, wt, transposed, &bad), all = (1u << wt->ndim) - 1, keep = all & ~red;
    size_t stride[LF_WEIGHT_DIMS], n_red = 1, n_keep = 1;
    for (size_t a = wt->ndim, s = 1; a-- > 0;) {
        stride[a] = s, s *= wt->shape[a];
        *(red >> a & 1u ? &n_red : &n_keep) *= wt->shape[a];
    }
    for (size_t g = 0; g < n_keep; g++) {
        size_t base = offset_of(g, keep, wt->ndim, wt->shape, stride);
        double ss = 0;
        for (size_t r = 0; r < n_red; r++) {
            float v = w[base + offset_of(r, red, wt->ndim, wt->shape, stride)];
            ss += (double)v * v;
        }
        float norm = (float)sqrt(ss), desired = norm;
        if (c->kind == LF_CONSTRAINT_MAX_NORM) desired = fminf(norm, c->max_value);
        if (c->kind == LF_CONSTRAINT_MIN_MAX_NORM)
            desired = c->rate * fminf(fmaxf(norm, c->min_value), c->max_value) + (1.0f - c->rate) * norm;
        float f = desired / (CON_EPS + norm);
        for (size_t r = 0; r < n_red; r++) {
            float *p = w + base + offset_of(r, red, wt->ndim, wt->shape, stride);
            *p = flush(c->kind == LF_CONSTRAINT_UNIT_NORM ? *p / (CON_EPS + norm) : *p * f);
        }
    }
}

void lf_constraints_apply(lf_model *m) {
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        if (nd->frozen) continue; /* Keras: the trainable variables of the step */
        int any = 0;
        for (int r = 0; r < LF_ROLE_COUNT; r++) any |= nd->con[r].kind != LF_CONSTRAINT_NONE;
        if (!any || !lf_weights_used(m, i)) continue;
        lf_weight wt[LF_MAX_WEIGHTS];
        size_t nt = lf_node_weights(m, nd, wt);
        for (size_t k = 0; k < nt; k++) {
            int r = lf_weight_role_of(&wt[k]);
            if (r >= 0 && !wt[k].fixed && nd->con[r].kind != LF_CONSTRAINT_NONE)
                apply_one(&nd->con[r], &wt[k], is_transposed(nd, r), m->params + nd->param_off + wt[k].off);
        }
    }
}

lf_status lf_set_constraint(lf_model *m, int node, lf_weight_role role, const lf_constraint *c) {
    static const char fn[] = "lf_set_constraint";
    if (!m) return LF_ERR_ARG;
    if (node < 0 || (size_t)node >= m->n_nodes)
        return lf_model_fail(m, LF_ERR_ARG, "%s: node %d is not a node of the model", fn, node);
    if ((unsigned)role >= LF_ROLE_COUNT)
        return lf_model_fail(m, LF_ERR_ARG, "%s: role %d is not an lf_weight_role", fn, (int)role);
    /* the constraint is the layer's: a shared node's goes to its owner */
    if (m->nodes[node].shares) node = m->nodes[node].shares - 1;
    lf_node *nd = &m->nodes[node];
    lf_constraint none = {LF_CONSTRAINT_NONE, 0, 0, 0, {0}, 0}, v = c ? *c : none;
    if ((unsigned)v.kind > LF_CONSTRAINT_MIN_MAX_NORM)
        return lf_model_fail(m, LF_ERR_ARG, "%s: kind %d is not an lf_constraint_kind", fn, (int)v.kind);
    if (v.kind == LF_CONSTRAINT_NONE) return nd->con[role] = none, LF_OK;
    if (v.kind == LF_CONSTRAINT_NON_NEG) v.n_axis = 0; /* takes no axis */
    lf_weight wt[LF_MAX_WEIGHTS];
    size_t nt = lf_node_weights(m, nd, wt), found = 0;
    if (v.n_axis > LF_CONSTRAINT_AXES)
        return lf_model_fail(m, LF_ERR_ARG, "%s: n_axis %zu is more than %d axes", fn, v.n_axis,
                             LF_CONSTRAINT_AXES);
    for (size_t i = 0; i < v.n_axis; i++)
        for (size_t j = 0; j < i; j++)
            if (v.axis[i] == v.axis[j])
                return lf_model_fail(m, LF_ERR_ARG, "%s: axis %d is given twice", fn, v.axis[i]);
    for (size_t k = 0; k < nt; k++) {
        if (lf_weight_role_of(&wt[k]) != (int)role || wt[k].fixed) continue;
        found++;
        int bad = 0;
        if (v.n_axis && !stored_axes(&v, &wt[k], is_transposed(nd, (int)role), &bad))
            return lf_model_fail(m, LF_ERR_ARG, "%s: axis %d is out of range for '%s.%s' of rank %zu", fn, bad,
                                 nd->name, wt[k].suffix, wt[k].ndim);
        /* 0 and -r name one axis: Keras' sum over both fails */
        const int r = (int)wt[k].ndim;
        for (size_t i = 0; i < v.n_axis; i++)
            for (size_t j = 0; j < i; j++)
                if ((v.axis[i] + r) % r == (v.axis[j] + r) % r)
                    return lf_model_fail(m, LF_ERR_ARG, "%s: axes %d and %d are the same axis of '%s.%s' of rank %zu",
                                         fn, v.axis[j], v.axis[i], nd->name, wt[k].suffix, wt[k].ndim);
    }
    /* a layer without its bias (use_bias 0, center or scale False) takes
     * the constraint, as Keras; a kind without weights of the role does not */
    int kind_has = found > 0;
    if (!found && (role == LF_ROLE_BIAS || role == LF_ROLE_GAMMA || role == LF_ROLE_BETA)) {
        lf_node probe = *nd; /* with its bias (BatchNormalization's center, scale) */
        probe.use_bias = 1;
        if (role == LF_ROLE_GAMMA) probe.mode = 1;
        nt = lf_node_weights(m, &probe, wt);
        for (size_t k = 0; k < nt; k++) kind_has |= lf_weight_role_of(&wt[k]) == (int)role && !wt[k].fixed;
    }
    if (!kind_has) {
        const char *what = role == LF_ROLE_RECURRENT_KERNEL ? "recurrent kernel" : role_keys[role];
        return lf_model_fail(m, LF_ERR_ARG, "%s: layer '%s' (%s) has no %s", fn, nd->name, lf_type_of(nd)->type,
                             what);
    }
    if (v.kind == LF_CONSTRAINT_MAX_NORM || v.kind == LF_CONSTRAINT_MIN_MAX_NORM) {
        if (!(v.max_value >= 0.0f) || !isfinite(v.max_value))
            return lf_model_fail(m, LF_ERR_ARG, "%s: max_value must be finite and >= 0, got %g", fn,
                                 (double)v.max_value);
    }
    if (v.kind == LF_CONSTRAINT_MIN_MAX_NORM) {
        if (!(v.min_value >= 0.0f) || !isfinite(v.min_value) || v.min_value > v.max_value)
            return lf_model_fail(m, LF_ERR_ARG, "%s: min_value must be finite, >= 0 and <= max_value %g, got %g",
                                 fn, (double)v.max_value, (double)v.min_value);
        if (!(v.rate >= 0.0f && v.rate <= 1.0f))
            return lf_model_fail(m, LF_ERR_ARG, "%s: rate must be in [0, 1], got %g", fn, (double)v.rate);
    }
    if (v.kind != LF_CONSTRAINT_MAX_NORM && v.kind != LF_CONSTRAINT_MIN_MAX_NORM) v.max_value = 0.0f;
    if (v.kind != LF_CONSTRAINT_MIN_MAX_NORM) v.min_value = 0.0f, v.rate = 0.0f;
    for (size_t i = v.n_axis; i < LF_CONSTRAINT_AXES; i++) v.axis[i] = 0;
    nd->con[role] = v;
    return LF_OK;
}

lf_status lf_get_constraint(const lf_model *m, int node, lf_weight_role role, lf_constraint *c) {
    if (!m || !c || node < 0 || (size_t)node >= m->n_nodes || (unsigned)role >= LF_ROLE_COUNT) return LF_ERR_ARG;
    if (m->nodes[node].shares) node = m->nodes[node].shares - 1;
    *c = m->nodes[node].con[role];
    return LF_OK;
}

/* ------------------------------------------------------- the model file */

void lf_arch_write_constraints(const lf_node *nd, lf_buf *b) {
    int n = 0;
    for (int r = 0; r < LF_ROLE_COUNT; r++) {
        const lf_constraint *c = &nd->con[r];
        if (c->kind == LF_CONSTRAINT_NONE) continue;
        lf_buf_printf(b, "%s\"%s\":{\"type\":\"%s\"", n++ ? "," : ",\"constraints\":{", role_keys[r],
                      kind_names[c->kind]);
        if (c->kind == LF_CONSTRAINT_NON_NEG) {
            lf_buf_puts(b, "}");
            continue;
        }
        if (c->kind == LF_CONSTRAINT_MIN_MAX_NORM) {
            lf_buf_puts(b, ",\"min_value\":");
            lf_buf_json_float(b, c->min_value);
            lf_buf_puts(b, ",\"rate\":");
            lf_buf_json_float(b, c->rate);
        }
        if (c->kind != LF_CONSTRAINT_UNIT_NORM) {
            lf_buf_puts(b, ",\"max_value\":");
            lf_buf_json_float(b, c->max_value);
        }
        if (c->n_axis == 0) {
            lf_buf_puts(b, ",\"axis\":null}");
            continue;
        }
        lf_buf_puts(b, ",\"axis\":[");
        for (size_t i = 0; i < c->n_axis; i++) lf_buf_printf(b, "%s%d", i ? "," : "", c->axis[i]);
        lf_buf_puts(b, "]}");
    }
    if (n) lf_buf_puts(b, "}");
}

/* One role's {"type": ..., ...} into c; the values' ranges are
 * lf_set_constraint's. */
static lf_status read_one(const lf_json *o, const char *role, lf_constraint *c, const char *where, lf_err *e) {
    static const char *const keys[] = {"type", "max_value", "min_value", "rate", "axis", NULL};
    const char *type = lf_json_str(lf_json_get(o, "type"));
    int kind = -1;
    for (int k = 1; type && k <= LF_CONSTRAINT_MIN_MAX_NORM; k++)
        if (strcmp(type, kind_names[k]) == 0) kind = k;
    if (!lf_json_is(o, LF_JSON_OBJECT) || lf_json_unknown_key(o, keys) || kind < 0)
        return lf_fail(e, LF_ERR_FORMAT,
                       "%s: constraint '%s' must be an object {\"type\": MaxNorm, NonNeg, UnitNorm or MinMaxNorm, "
                       "max_value, min_value, rate, axis}",
                       where, role);
    *c = lf_constraint_default((lf_constraint_kind)kind);
    static const char *const num_keys[] = {"max_value", "min_value", "rate"};
    float *num[] = {&c->max_value, &c->min_value, &c->rate};
    for (int i = 0; i < 3; i++) {
        const lf_json *v = lf_json_get(o, num_keys[i]);
        double d;
        if (!v) continue;
        if (!lf_json_num(v, &d) || !(fabs(d) <= FLT_MAX))
            return lf_fail(e, LF_ERR_FORMAT, "%s: constraint '%s': '%s' must be a finite number", where, role,
                           num_keys[i]);
        *num[i] = (float)d;
    }
    const lf_json *ax = lf_json_get(o, "axis");
    if (ax && lf_json_is(ax, LF_JSON_NULL)) {
        c->n_axis = 0;
    } else if (ax) {
        size_t n = lf_json_len(ax);
        if (!lf_json_is(ax, LF_JSON_ARRAY) || n < 1 || n > LF_CONSTRAINT_AXES)
            return lf_fail(e, LF_ERR_FORMAT, "%s: constraint '%s': 'axis' must be null or a list of 1 to %d integers",
                           where, role, LF_CONSTRAINT_AXES);
        for (size_t i = 0; i < n; i++) {
            double d;
            if (!lf_json_num(lf_json_at(ax, i), &d) || d != floor(d) || fabs(d) > LF_CONSTRAINT_AXES)
                return lf_fail(e, LF_ERR_FORMAT, "%s: constraint '%s': 'axis' must be null or a list of 1 to %d "
                               "integers", where, role, LF_CONSTRAINT_AXES);
            c->axis[i] = (int)d;
        }
        c->n_axis = n;
    }
    return LF_OK;
}

lf_status lf_arch_read_constraints(lf_model *m, int id, const lf_json *L, const char *where, lf_err *e) {
    const lf_json *cs = lf_json_get(L, "constraints");
    if (!cs) return LF_OK;
    const char *unknown = lf_json_is(cs, LF_JSON_OBJECT) ? lf_json_unknown_key(cs, (const char *const[]){
                                                               "kernel", "recurrent_kernel", "bias", "gamma",
                                                               "beta", NULL})
                                                         : "";
    if (unknown) {
        char esc[LF_MSG_STR];
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'constraints' must be an object over kernel, recurrent_kernel, bias, "
                       "gamma, beta%s%s", where, *unknown ? ", not " : "", lf_str_for_msg(esc, unknown));
    }
    for (int r = 0; r < LF_ROLE_COUNT; r++) {
        const lf_json *o = lf_json_get(cs, role_keys[r]);
        lf_constraint c;
        lf_status st;
        if (!o) continue;
        if ((st = read_one(o, role_keys[r], &c, where, e)) != LF_OK) return st;
        if (lf_set_constraint(m, id, (lf_weight_role)r, &c) != LF_OK)
            return lf_fail(e, LF_ERR_FORMAT, "%s: %s", where, m->err.msg);
    }
    return LF_OK;
}
