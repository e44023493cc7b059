/*
 * regularizer.c — Keras' L1, L2 and L1L2 regularizers
 * (keras/src/regularizers/regularizers.py): l1 * sum(|x|) + l2 * sum(x^2)
 * added to the training loss, on a layer's weights of one target (kernel,
 * bias, recurrent kernel: lf_weight_penalty, once per step) or on its output
 * (activity: lf_activity_penalty / lf_activity_grad, per batch).  The
 * gradient of |x| is sign(x), 0 at 0 (TF's and torch's sign).
 *
 * Activity follows Keras 3's Layer.__call__ (keras/src/layers/layer.py):
 * the regularizer of each output tensor divided by the batch's rows, so
 * that a batch adds (1/B) sum_r (l1 |y_r| + l2 y_r^2) — a per-row term
 * beside the loss's mean, which evaluate averages over every row as it
 * does the loss.  A node of several outputs (return_state) penalises all
 * of them, as Keras' tree.flatten(outputs).  An output with one is not
 * fused with its cross-entropy: the loss reads its probabilities.
 *
 * The settings live in the node (the weights' owner for a shared layer),
 * and in the model file as the layer's optional "regularizers", beside the
 * older "l2" and "bias_l2" fields that keep the kernel's and bias's l2.
 */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* the targets' keys in the model file, NULL-terminated for lf_json_unknown_key */
static const char *const target_keys[LF_REG_COUNT + 1] = {"kernel", "bias", "recurrent_kernel", "activity", NULL};

/* the node's factors of one target */
static float *l1_of(lf_node *nd, lf_reg_target t) {
    return t == LF_REG_KERNEL ? &nd->l1 : t == LF_REG_BIAS ? &nd->bias_l1 : t == LF_REG_RECURRENT ? &nd->rec_l1
                                                                                                  : &nd->act_l1;
}
static float *l2_of(lf_node *nd, lf_reg_target t) {
    return t == LF_REG_KERNEL ? &nd->l2 : t == LF_REG_BIAS ? &nd->bias_l2 : t == LF_REG_RECURRENT ? &nd->rec_l2
                                                                                                  : &nd->act_l2;
}

/* whether the target applies to a kind (its record's flags) */
static int applies(const lf_layer_type *t, lf_reg_target r) {
    return r == LF_REG_KERNEL ? t->l2 : r == LF_REG_BIAS ? t->bias_l2 : r == LF_REG_RECURRENT ? t->recurrent_reg
                                                                                              : t->activity_reg;
}

/* "Dense, Conv2D or LSTM": the kinds a target applies to, from the table */
static void kinds_of(char *buf, size_t cap, lf_reg_target r) {
    size_t total = 0, n = 0, used = 0;
    buf[0] = '\0';
    for (int k = 0; k < LF_K_COUNT; k++) total += applies(lf_layer_types[k], r) != 0;
    for (int k = 0; k < LF_K_COUNT && used < cap; k++) {
        if (!applies(lf_layer_types[k], r)) continue;
        const char *sep = n == 0 ? "" : n + 1 == total ? " or " : ", ";
        int w = snprintf(buf + used, cap - used, "%s%s", sep, lf_layer_types[k]->type);
        used += w > 0 ? (size_t)w : cap;
        n++;
    }
}

/* whether weight wt of a node takes the target's penalty */
static int marked(const lf_weight *wt, lf_reg_target r) {
    return r == LF_REG_KERNEL ? wt->l2 : r == LF_REG_BIAS ? wt->bias_l2 : wt->recurrent;
}

/* the node holding nd's settings: its own, or a shared layer's owner */
static const lf_node *owner_of(const lf_model *m, const lf_node *nd) {
    return nd->shares ? &m->nodes[nd->shares - 1] : nd;
}

int lf_node_has_activity(const lf_model *m, int id) {
    const lf_node *o = owner_of(m, &m->nodes[id]);
    return o->act_l1 != 0.0f || o->act_l2 != 0.0f;
}

lf_status lf_set_regularizer(lf_model *m, int node, lf_reg_target target, float l1, float l2) {
    if (!m) return LF_ERR_ARG;
    if ((unsigned)target >= LF_REG_COUNT)
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_regularizer: unknown target %d", (int)target);
    if (node < 0 || (size_t)node >= m->n_nodes || !applies(lf_type_of(&m->nodes[node]), target)) {
        char kinds[256];
        kinds_of(kinds, sizeof kinds, target);
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_regularizer: %s: node %d is not a %s layer", target_keys[target],
                             node, kinds);
    }
    if (!(l1 >= 0.0f) || !isfinite(l1) || !(l2 >= 0.0f) || !isfinite(l2))
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_regularizer: %s: l1 and l2 must be finite and >= 0",
                             target_keys[target]);
    if (m->nodes[node].shares) node = m->nodes[node].shares - 1; /* the layer's: its owner holds it */
    *l1_of(&m->nodes[node], target) = l1;
    *l2_of(&m->nodes[node], target) = l2;
    /* an output with an activity penalty reads its probabilities, not its logits */
    for (size_t k = 0; m->compiled && target == LF_REG_ACTIVITY && k < m->n_outputs; k++)
        if (lf_node_has_activity(m, m->outs[k].node)) m->outs[k].fused = 0;
    if (m->compiled) m->fused = m->outs[0].fused;
    return LF_OK;
}

lf_status lf_get_regularizer(const lf_model *m, int node, lf_reg_target target, float *l1, float *l2) {
    if (!m || (unsigned)target >= LF_REG_COUNT || node < 0 || (size_t)node >= m->n_nodes) return LF_ERR_ARG;
    lf_node *nd = (lf_node *)owner_of(m, &m->nodes[node]); /* read only */
    if (l1) *l1 = *l1_of(nd, target);
    if (l2) *l2 = *l2_of(nd, target);
    return LF_OK;
}

/* ------------------------------------------------------- weight penalties */

double lf_weight_penalty(const lf_model *m, float *grads) {
    double pen = 0;
    for (size_t i = 0; i < m->n_nodes; i++) {
        lf_node *nd = &((lf_model *)m)->nodes[i]; /* l1_of's pointers: read only */
        if ((nd->l2 == 0.0f && nd->bias_l2 == 0.0f && nd->l1 == 0.0f && nd->bias_l1 == 0.0f && nd->rec_l1 == 0.0f &&
             nd->rec_l2 == 0.0f) ||
            nd->frozen || !lf_weights_used(m, i))
            continue; /* Keras 3: trainable weights' only; a shared layer's when any call of it is used */
        lf_weight wt[LF_MAX_WEIGHTS];
        size_t nt = lf_node_weights(m, nd, wt);
        for (int r = LF_REG_KERNEL; r <= LF_REG_RECURRENT; r++) {
            float f2 = *l2_of(nd, (lf_reg_target)r), f1 = *l1_of(nd, (lf_reg_target)r);
            if (f2 == 0.0f && f1 == 0.0f) continue;
            double s2 = 0, s1 = 0;
            for (size_t k = 0; k < nt; k++) {
                if (!marked(&wt[k], (lf_reg_target)r)) continue;
                const float *w = m->params + nd->param_off + wt[k].off;
                size_t nw = lf_weight_count(&wt[k]);
                if (f2 != 0.0f)
                    for (size_t j = 0; j < nw; j++) s2 += (double)w[j] * w[j];
                if (f1 != 0.0f)
                    for (size_t j = 0; j < nw; j++) s1 += fabs((double)w[j]);
            }
            if (f2 != 0.0f) pen += f2 * s2;
            if (f1 != 0.0f) pen += f1 * s1;
            for (size_t k = 0; grads && k < nt; k++) {
                if (!marked(&wt[k], (lf_reg_target)r)) continue;
                const float *w = m->params + nd->param_off + wt[k].off;
                float *g = grads + nd->param_off + wt[k].off;
                size_t nw = lf_weight_count(&wt[k]);
                if (f2 != 0.0f)
                    for (size_t j = 0; j < nw; j++) g[j] += 2.0f * f2 * w[j];
                if (f1 != 0.0f)
                    for (size_t j = 0; j < nw; j++) g[j] += w[j] > 0.0f ? f1 : w[j] < 0.0f ? -f1 : 0.0f;
            }
        }
    }
    return pen;
}

/* ------------------------------------------------------- activity */

double lf_activity_penalty(const lf_model *m, const lf_ws *ws, size_t B) {
    double pen = 0;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i], *o = owner_of(m, nd);
        if (!nd->needed || (o->act_l1 == 0.0f && o->act_l2 == 0.0f)) continue;
        const float *y = ws->out[i];
        double s1 = 0, s2 = 0;
        for (size_t j = 0, n = B * lf_node_rows(nd) * nd->dim; j < n; j++)
            s1 += fabs((double)y[j]), s2 += (double)y[j] * y[j];
        pen += (double)o->act_l1 * s1 + (double)o->act_l2 * s2;
    }
    return pen;
}

void lf_activity_grad(const lf_model *m, const lf_node *nd, const float *restrict y, float *restrict dy, size_t B,
                      float scale) {
    const lf_node *o = owner_of(m, nd);
    float a1 = o->act_l1 * scale, a2 = 2.0f * o->act_l2 * scale;
    if (a1 == 0.0f && a2 == 0.0f) return;
    for (size_t j = 0; j < B * nd->dim; j++)
        dy[j] += a2 * y[j] + (y[j] > 0.0f ? a1 : y[j] < 0.0f ? -a1 : 0.0f);
}

/* ------------------------------------------------------- the model file */

void lf_arch_write_regularizers(const lf_node *nd, lf_buf *b) {
    int n = 0;
    for (int r = 0; r < LF_REG_COUNT; r++) {
        float f1 = *l1_of((lf_node *)nd, (lf_reg_target)r), f2 = *l2_of((lf_node *)nd, (lf_reg_target)r);
        int own_l2 = r == LF_REG_RECURRENT || r == LF_REG_ACTIVITY; /* kernel's and bias's l2: "l2", "bias_l2" */
        if (f1 == 0.0f && (!own_l2 || f2 == 0.0f)) continue;
        lf_buf_printf(b, "%s\"%s\":{", n++ ? "," : ",\"regularizers\":{", target_keys[r]);
        lf_buf_puts(b, "\"l1\":");
        lf_buf_json_float(b, f1);
        if (own_l2) {
            lf_buf_puts(b, ",\"l2\":");
            lf_buf_json_float(b, f2);
        }
        lf_buf_puts(b, "}");
    }
    if (n) lf_buf_puts(b, "}");
}

lf_status lf_arch_read_regularizers(lf_model *m, int id, const lf_json *L, const char *where, lf_err *e) {
    const lf_json *rs = lf_json_get(L, "regularizers");
    if (!rs) return LF_OK;
    char esc[LF_MSG_STR];
    const char *unknown = lf_json_is(rs, LF_JSON_OBJECT) ? lf_json_unknown_key(rs, target_keys) : "";
    if (unknown)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'regularizers' must be an object over kernel, bias, recurrent_kernel, "
                       "activity%s%s", where, *unknown ? ", not " : "", lf_str_for_msg(esc, unknown));
    for (int r = 0; r < LF_REG_COUNT; r++) {
        const lf_json *o = lf_json_get(rs, target_keys[r]);
        if (!o) continue;
        int own_l2 = r == LF_REG_RECURRENT || r == LF_REG_ACTIVITY;
        const char *const keys2[] = {"l1", "l2", NULL}, *const keys1[] = {"l1", NULL};
        if (!lf_json_is(o, LF_JSON_OBJECT) || lf_json_unknown_key(o, own_l2 ? keys2 : keys1))
            return lf_fail(e, LF_ERR_FORMAT, "%s: regularizer '%s' must be an object {%s}", where, target_keys[r],
                           own_l2 ? "\"l1\", \"l2\"" : "\"l1\"");
        float f1 = 0.0f, f2 = 0.0f;
        lf_get_regularizer(m, id, (lf_reg_target)r, NULL, &f2); /* kernel, bias: the "l2" / "bias_l2" read */
        if (own_l2) f2 = 0.0f;
        char w2[160];
        snprintf(w2, sizeof w2, "%s: regularizer '%s'", where, target_keys[r]);
        lf_status st;
        if (lf_json_get(o, "l1") && (st = lf_arch_float_in(o, "l1", 0, INFINITY, 0, &f1, w2, e)) != LF_OK) return st;
        if (own_l2 && lf_json_get(o, "l2") && (st = lf_arch_float_in(o, "l2", 0, INFINITY, 0, &f2, w2, e)) != LF_OK)
            return st;
        if (lf_set_regularizer(m, id, (lf_reg_target)r, f1, f2) != LF_OK)
            return lf_fail(e, LF_ERR_FORMAT, "%s: %s", where, m->err.msg);
    }
    return LF_OK;
}
