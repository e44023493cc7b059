/*
 * builder.c — the model builder's model-wide part: compile, summary, L2
 * penalties and weights by layer name, names of losses, default optimizers.
 * Each layer kind's own builder function (lf_dense, ...) lives with its
 * record under src/layers/; the model's lifetime is in model.c.
 */
#include "layers/layer.h"
#include "schedule.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const loss_names[] = {"mse", "mae", "binary_crossentropy",
                                         "categorical_crossentropy",
                                         "sparse_categorical_crossentropy", "none"};

const char *lf_loss_name(lf_loss l) {
    return (unsigned)l <= LF_LOSS_NONE ? loss_names[l] : NULL;
}

int lf_loss_parse(const char *name) {
    for (int l = 0; l <= LF_LOSS_NONE; l++)
        if (name && strcmp(name, loss_names[l]) == 0) return l;
    return -1;
}

lf_optimizer lf_optimizer_default(lf_optimizer_kind kind) {
    lf_optimizer o = {kind, 1e-3f, 0.0f, 0, 0.9f, 0.999f, 1e-7f, 0.9f, 0, 0.99f, 0.0f, 0.0f, 0.0f, 0.0f, 0, 0, 0.1f, {0}};
    if (kind == LF_OPT_SGD) o.learning_rate = 0.01f;
    if (kind == LF_OPT_ADADELTA) o.rho = 0.95f;
    if (kind == LF_OPT_LION) o.beta_2 = 0.99f;
    return o;
}

/* The kinds lf_set_l2 (bias 0) or lf_set_bias_l2 (bias 1) applies to, from
 * the table: "Dense, WeightedAverage or ClassWeightedAverage". */
static int l2_applies(const lf_layer_type *t, int bias) { return bias ? t->bias_l2 : t->l2; }

static void l2_kinds(char *buf, size_t cap, int bias) {
    size_t total = 0, n = 0, used = 0;
    buf[0] = '\0';
    for (int k = 0; k < LF_K_COUNT; k++) total += l2_applies(lf_layer_types[k], bias) != 0;
    for (int k = 0; k < LF_K_COUNT && used < cap; k++) {
        if (!l2_applies(lf_layer_types[k], bias)) continue;
        const char *sep = n == 0 ? "" : n + 1 == total ? " or " : ", ";
        int w = snprintf(buf + used, cap - used, "%s%s", sep, lf_layer_types[k]->type);
        used += w > 0 ? (size_t)w : cap;
        n++;
    }
}

static lf_status set_penalty(lf_model *m, int node, float l2, int bias) {
    const char *fn = bias ? "lf_set_bias_l2" : "lf_set_l2";
    if (!m) return LF_ERR_ARG;
    if (node < 0 || (size_t)node >= m->n_nodes || !l2_applies(lf_type_of(&m->nodes[node]), bias)) {
        char kinds[256];
        l2_kinds(kinds, sizeof kinds, bias);
        return lf_model_fail(m, LF_ERR_ARG, "%s: node %d is not a %s layer", fn, node, kinds);
    }
    if (!(l2 >= 0.0f) || !isfinite(l2))
        return lf_model_fail(m, LF_ERR_ARG, "%s: the penalty must be finite and >= 0", fn);
    /* the penalty is the layer's: a shared node's goes to its owner, which
     * holds the weights (a shared node has none to penalise) */
    if (m->nodes[node].shares) node = m->nodes[node].shares - 1;
    *(bias ? &m->nodes[node].bias_l2 : &m->nodes[node].l2) = l2;
    return LF_OK;
}

lf_status lf_set_l2(lf_model *m, int node, float l2) { return set_penalty(m, node, l2, 0); }

lf_status lf_set_bias_l2(lf_model *m, int node, float l2) { return set_penalty(m, node, l2, 1); }

size_t lf_model_num_nodes(const lf_model *m) { return m ? m->n_nodes : 0; }
size_t lf_node_dim(const lf_model *m, int node) {
    return (m && node >= 0 && (size_t)node < m->n_nodes) ? m->nodes[node].dim : 0;
}
size_t lf_node_shape(const lf_model *m, int node, size_t *dims) {
    if (!m || node < 0 || (size_t)node >= m->n_nodes) return 0;
    const lf_node *nd = &m->nodes[node];
    if (dims) memcpy(dims, nd->shape, nd->rank * sizeof *dims);
    return nd->rank;
}
size_t lf_model_num_inputs(const lf_model *m) { return m ? m->n_inputs : 0; }
size_t lf_model_input_dim(const lf_model *m, size_t i) {
    return (m && i < m->n_inputs) ? m->nodes[m->inputs[i]].dim : 0;
}
size_t lf_model_output_dim(const lf_model *m) {
    return (m && m->output >= 0) ? m->nodes[m->output].dim : 0;
}
size_t lf_model_num_params(const lf_model *m) { return m ? m->n_params : 0; }

/* -------------------------------------------------------------- compile */

static int valid_optimizer(const lf_optimizer *o) {
    if ((unsigned)o->kind > LF_OPT_LION) return 0;
    /* 0 only as the start of a warm-up */
    int warm = lf_lr_schedule_warms_up(&o->schedule);
    if (!(o->learning_rate > 0.0f || (warm && o->learning_rate == 0.0f)) || !isfinite(o->learning_rate)) return 0;
    if (!(o->momentum >= 0.0f && o->momentum < 1.0f)) return 0;
    if (o->kind == LF_OPT_LION ? !(o->beta_1 > 0.0f && o->beta_1 <= 1.0f) : !(o->beta_1 >= 0.0f && o->beta_1 < 1.0f))
        return 0; /* Keras' Lion: beta_1 in (0, 1] (0 degenerates to SignSGD) */
    if (!(o->beta_2 >= 0.0f && o->beta_2 < 1.0f)) return 0;
    if (!(o->initial_accumulator_value >= 0.0f) || !isfinite(o->initial_accumulator_value)) return 0;
    if (!(o->epsilon > 0.0f) || !isfinite(o->epsilon)) return 0;
    if (!(o->rho >= 0.0f && o->rho < 1.0f)) return 0;
    if (o->use_ema && !(o->ema_momentum >= 0.0f && o->ema_momentum < 1.0f)) return 0;
    return 1;
}

/* weight_decay and the clips: finite and >= 0, at most one clip set (Keras) */
static int valid_clips(const lf_optimizer *o) {
    const float v[4] = {o->weight_decay, o->clipnorm, o->clipvalue, o->global_clipnorm};
    for (size_t i = 0; i < 4; i++)
        if (!(v[i] >= 0.0f) || !isfinite(v[i])) return 0;
    return (o->clipnorm > 0) + (o->clipvalue > 0) + (o->global_clipnorm > 0) <= 1;
}

/* A node read by another node the outputs need (as an input, gate or
 * mask): its value is more than its own loss's. */
static int feeds_others(const lf_model *m, int id) {
    for (size_t i = (size_t)id + 1; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        if (!nd->needed) continue;
        if (nd->gate == id || nd->mask == id) return 1;
        for (size_t j = 0; j < nd->n_in; j++)
            if (nd->in[j] == id) return 1;
    }
    return 0;
}

lf_status lf_model_compile_outputs(lf_model *m, size_t n_out, const int *outputs, const lf_loss *losses,
                                   const float *loss_weights, const lf_optimizer *opt) {
    if (!m) return LF_ERR_ARG;
    if (lf_build_stuck(m)) return m->sticky;
    if (m->compiled) return lf_model_fail(m, LF_ERR_STATE, "the model is already compiled");
    if (n_out == 0 || !outputs || !losses)
        return lf_model_fail(m, LF_ERR_ARG, "compile: give at least one output and one loss per output");
    for (size_t k = 0; k < n_out; k++) {
        int output = outputs[k];
        if (output < 0 || (size_t)output >= m->n_nodes)
            return n_out > 1 ? lf_model_fail(m, LF_ERR_ARG, "compile: output %zu (%d) is not a node of this model",
                                             k, output)
                             : lf_model_fail(m, LF_ERR_ARG, "compile: output %d is not a node of this model", output);
        for (size_t j = 0; j < k; j++)
            if (outputs[j] == output)
                return lf_model_fail(m, LF_ERR_ARG, "compile: '%s' is listed twice as an output",
                                     m->nodes[output].name);
        if ((unsigned)losses[k] > LF_LOSS_NONE)
            return lf_model_fail(m, LF_ERR_ARG, "compile: unknown loss %d", (int)losses[k]);
        float w = loss_weights ? loss_weights[k] : 1.0f;
        if (!(w >= 0.0f) || !isfinite(w))
            return lf_model_fail(m, LF_ERR_ARG, "compile: the loss weight of output '%s' must be finite and >= 0",
                                 m->nodes[output].name);
    }
    size_t with_loss = 0;
    for (size_t k = 0; k < n_out; k++) with_loss += losses[k] != LF_LOSS_NONE;
    if (with_loss == 0)
        return lf_model_fail(m, LF_ERR_ARG, n_out > 1 ? "compile: every output's loss is none: give at least one "
                                                        "output a loss"
                                                      : "compile: the output's loss is none: give it a loss");
    lf_optimizer o = opt ? *opt : lf_optimizer_default(LF_OPT_ADAM);
    if (!valid_optimizer(&o))
        return lf_model_fail(m, LF_ERR_ARG,
                             "compile: invalid optimizer settings (a known kind; learning rate and epsilon must "
                             "be > 0, momentum, rho, betas and ema_momentum in [0, 1) (lion's beta_1 in (0, 1]), "
                             "initial_accumulator_value finite and >= 0)");
    if (!valid_clips(&o))
        return lf_model_fail(m, LF_ERR_ARG,
                             "compile: weight_decay, clipnorm, clipvalue and global_clipnorm must be finite and "
                             ">= 0, and at most one of clipnorm, clipvalue and global_clipnorm set (as Keras)");
    const char *bad_schedule = lf_lr_schedule_invalid(&o.schedule);
    if (bad_schedule) return lf_model_fail(m, LF_ERR_ARG, "compile: %s", bad_schedule);
    if (m->n_inputs == 0) return lf_model_fail(m, LF_ERR_STATE, "compile: the model has no input");
    for (size_t k = 0; k < n_out; k++) {
        const lf_node *out = &m->nodes[outputs[k]];
        if (lf_type_of(out)->is_input)
            return lf_model_fail(m, LF_ERR_ARG, n_out > 1 ? "compile: output '%s' is an input layer"
                                                          : "compile: the output is an input layer",
                                 out->name);
        if (out->n_outs > 1)
            return lf_model_fail(m, LF_ERR_ARG, "compile: output '%s' has %zu outputs (Keras returns a list); "
                                 "pick one with lf_output_view", out->name, out->n_outs);
        if (out->td)
            return lf_model_fail(m, LF_ERR_ARG, "compile: output '%s' is on the steps of TimeDistributed '%s'; "
                                 "close them with lf_time_distributed_end", out->name, m->nodes[out->td - 1].name);
        /* the categorical losses score one distribution per sample: a (T, C)
         * output would be scored as one distribution over T x C values,
         * unlike Keras' per-step loss */
        if ((losses[k] == LF_LOSS_CATEGORICAL_CROSSENTROPY || losses[k] == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) &&
            out->rank > 1) {
            char shape[64];
            lf_shape_str(out, shape, sizeof shape);
            return lf_model_fail(m, LF_ERR_SHAPE,
                                 "compile: %s needs an output of one axis, but '%s' has shape %s (pool or "
                                 "flatten before the classifier)",
                                 losses[k] == LF_LOSS_CATEGORICAL_CROSSENTROPY ? "categorical_crossentropy"
                                                                                : "sparse_categorical_crossentropy",
                                 out->name, shape);
        }
        if (losses[k] == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && out->dim < 2)
            return lf_model_fail(m, LF_ERR_SHAPE,
                                 n_out > 1 ? "compile: sparse_categorical_crossentropy needs an output of at "
                                             "least 2 classes ('%s' has 1)"
                                           : "compile: sparse_categorical_crossentropy needs an output of at "
                                             "least 2 classes",
                                 out->name);
    }

    /* mark the ancestors of the outputs (creation order is topological) */
    int last = outputs[0];
    for (size_t i = 0; i < m->n_nodes; i++) m->nodes[i].needed = 0, m->nodes[i].out_k = -1;
    for (size_t k = 0; k < n_out; k++) {
        m->nodes[outputs[k]].needed = 1;
        last = outputs[k] > last ? outputs[k] : last;
    }
    for (size_t i = (size_t)last + 1; i-- > 0;) {
        lf_node *nd = &m->nodes[i];
        if (!nd->needed) continue;
        for (size_t j = 0; j < nd->n_in; j++) m->nodes[nd->in[j]].needed = 1;
        if (nd->gate >= 0) m->nodes[nd->gate].needed = 1;
        if (nd->mask >= 0) m->nodes[nd->mask].needed = 1;
    }
    for (size_t i = 0; i < m->n_inputs; i++)
        if (!m->nodes[m->inputs[i]].needed)
            return lf_model_fail(m, LF_ERR_ARG, n_out > 1 ? "compile: input '%s' is not connected to any output"
                                                          : "compile: input '%s' is not connected to the output",
                                 m->nodes[m->inputs[i]].name);

    size_t n = m->n_params ? m->n_params : 1;
    m->grads = LF_CALLOC(n, sizeof(float));
    m->m1 = LF_CALLOC(n, sizeof(float));
    m->m2 = LF_CALLOC(n, sizeof(float));
    m->m3 = lf_optim_third(&o) ? LF_CALLOC(n, sizeof(float)) : NULL;
    m->outs = LF_CALLOC(n_out, sizeof *m->outs);
    if (!m->grads || !m->m1 || !m->m2 || (lf_optim_third(&o) && !m->m3) || !m->outs) {
        LF_FREE(m->grads), LF_FREE(m->m1), LF_FREE(m->m2), LF_FREE(m->m3), LF_FREE(m->outs);
        m->grads = m->m1 = m->m2 = m->m3 = NULL;
        m->outs = NULL;
        return lf_model_fail(m, LF_ERR_NOMEM, "out of memory compiling %zu parameters", m->n_params);
    }
    if (o.kind == LF_OPT_ADAGRAD) /* Keras' accumulators start at initial_accumulator_value */
        for (size_t i = 0; i < n; i++) m->m2[i] = o.initial_accumulator_value;
    for (size_t k = 0; k < n_out; k++) {
        const lf_node *out = &m->nodes[outputs[k]];
        lf_loss loss = losses[k];
        /* a kind that ends in its activation exposes the logits to the loss
         * (unless the output feeds other layers, which read its values) */
        int ends_in_act = lf_type_of(out)->logits != NULL && !feeds_others(m, outputs[k]);
        int softmax_out = ends_in_act && out->act == LF_ACT_SOFTMAX;
        int sigmoid_out = ends_in_act && out->act == LF_ACT_SIGMOID;
        m->outs[k].node = outputs[k];
        m->outs[k].loss = loss;
        m->outs[k].weight = loss_weights ? loss_weights[k] : 1.0f;
        m->outs[k].fused = ((softmax_out && (loss == LF_LOSS_CATEGORICAL_CROSSENTROPY ||
                                             loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)) ||
                            (sigmoid_out && loss == LF_LOSS_BINARY_CROSSENTROPY)) &&
                           !lf_node_has_activity(m, outputs[k]); /* its penalty reads the probabilities */
        m->nodes[outputs[k]].out_k = (int)k;
    }
    m->n_outputs = n_out;
    m->output = m->outs[0].node;
    m->loss = m->outs[0].loss;
    m->fused = m->outs[0].fused;
    m->opt = o;
    m->step = 0;
    lf_graph_plan(m);
    m->compiled = 1;
    return LF_OK;
}

lf_status lf_model_compile(lf_model *m, int output, lf_loss loss, const lf_optimizer *opt) {
    return lf_model_compile_outputs(m, 1, &output, &loss, NULL, opt);
}

/* Keras' Model(inputs, outputs) before compile: the outputs an uncompiled
 * model names (its file keeps them as "model_outputs"); compile's outputs
 * take their place */
lf_status lf_model_set_outputs(lf_model *m, size_t n, const int *outputs) {
    if (!m) return LF_ERR_ARG;
    if (lf_build_stuck(m)) return m->sticky;
    if (m->compiled)
        return lf_model_fail(m, LF_ERR_STATE, "lf_model_set_outputs: the model is compiled: its outputs are compile's");
    if (n > 1024 || (n && !outputs))
        return lf_model_fail(m, LF_ERR_ARG, "lf_model_set_outputs: give 0..1024 output node ids");
    for (size_t k = 0; k < n; k++) {
        int o = outputs[k];
        if (o < 0 || (size_t)o >= m->n_nodes)
            return lf_model_fail(m, LF_ERR_ARG, "lf_model_set_outputs: output %zu (%d) is not a node of this model", k, o);
        for (size_t j = 0; j < k; j++)
            if (outputs[j] == o)
                return lf_model_fail(m, LF_ERR_ARG, "lf_model_set_outputs: '%s' is listed twice as an output",
                                     m->nodes[o].name);
        if (lf_type_of(&m->nodes[o])->is_input)
            return lf_model_fail(m, LF_ERR_ARG, "lf_model_set_outputs: output '%s' is an input layer", m->nodes[o].name);
        if (m->nodes[o].n_outs > 1)
            return lf_model_fail(m, LF_ERR_ARG, "lf_model_set_outputs: output '%s' has %zu outputs (Keras returns a "
                                 "list); pick one with lf_output_view", m->nodes[o].name, m->nodes[o].n_outs);
    }
    int *ids = NULL;
    if (n && !(ids = LF_MALLOC(n * sizeof *ids))) return lf_model_fail(m, LF_ERR_NOMEM, "out of memory");
    if (n) memcpy(ids, outputs, n * sizeof *ids);
    LF_FREE(m->decl_outs);
    m->decl_outs = ids, m->n_decl_outs = n;
    return LF_OK;
}

size_t lf_model_num_outputs(const lf_model *m) {
    return !m ? 0 : m->compiled ? m->n_outputs : m->n_decl_outs;
}

int lf_model_output_node(const lf_model *m, size_t k) {
    if (!m) return -1;
    if (m->compiled) return k < m->n_outputs ? m->outs[k].node : -1;
    return k < m->n_decl_outs ? m->decl_outs[k] : -1;
}

/* Keras' from_logits=True (keras/src/losses/losses.py, BinaryCrossentropy and
 * the categorical ones): output k's values are taken as the logits of its
 * crossentropy, computed by loss.c's log-sigmoid / log-softmax */
lf_status lf_model_set_from_logits(lf_model *m, size_t k, int from_logits) {
    if (!m) return LF_ERR_ARG;
    if (!m->compiled) return lf_model_fail(m, LF_ERR_STATE, "lf_model_set_from_logits: compile the model first");
    if (k >= m->n_outputs)
        return lf_model_fail(m, LF_ERR_ARG, "lf_model_set_from_logits: output %zu does not exist (the model has %zu)",
                             k, m->n_outputs);
    lf_output *o = &m->outs[k];
    if (from_logits && o->loss != LF_LOSS_BINARY_CROSSENTROPY && o->loss != LF_LOSS_CATEGORICAL_CROSSENTROPY &&
        o->loss != LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
        return lf_model_fail(m, LF_ERR_ARG, "from_logits needs a crossentropy loss; output '%s' has %s",
                             m->nodes[o->node].name, lf_loss_name(o->loss));
    o->from_logits = from_logits != 0;
    return LF_OK;
}

int lf_model_from_logits(const lf_model *m, size_t k) {
    return m && m->compiled && k < m->n_outputs ? m->outs[k].from_logits : -1;
}

/* ---- Keras' compile(metrics=, weighted_metrics=) kept for callers */
#define METRICS_MAX_BYTES 4096
#define METRICS_MAX_ITEMS 64
#define METRIC_NAME_MAX 64

/* 1 if j is a metric name: 1..64 printable ASCII characters */
static int metric_name(const lf_json *j) {
    if (!lf_json_is(j, LF_JSON_STRING) || j->str_len == 0 || j->str_len > METRIC_NAME_MAX) return 0;
    for (size_t i = 0; i < j->str_len; i++)
        if (j->str[i] < 0x20 || j->str[i] > 0x7e) return 0;
    return 1;
}

/* 1 if j is an output's entry: a name, null or a list of names */
static int metric_entry(const lf_json *j) {
    if (lf_json_is(j, LF_JSON_NULL) || metric_name(j)) return 1;
    if (!lf_json_is(j, LF_JSON_ARRAY) || lf_json_len(j) > METRICS_MAX_ITEMS) return 0;
    for (size_t i = 0; i < lf_json_len(j); i++)
        if (!metric_name(lf_json_at(j, i))) return 0;
    return 1;
}

/* j written back as compact JSON (names, null, lists, an object) */
static void metrics_write(lf_buf *b, const lf_json *j) {
    if (lf_json_is(j, LF_JSON_STRING)) {
        lf_buf_json_string(b, j->str);
    } else if (lf_json_is(j, LF_JSON_ARRAY) || lf_json_is(j, LF_JSON_OBJECT)) {
        int obj = lf_json_is(j, LF_JSON_OBJECT);
        lf_buf_puts(b, obj ? "{" : "[");
        for (size_t i = 0; i < lf_json_len(j); i++) {
            if (i) lf_buf_puts(b, ",");
            if (obj) {
                lf_buf_json_string(b, lf_json_key_at(j, i));
                lf_buf_puts(b, ":");
            }
            metrics_write(b, lf_json_at(j, i));
        }
        lf_buf_puts(b, obj ? "}" : "]");
    } else {
        lf_buf_puts(b, "null");
    }
}

lf_status lf_metrics_json(const char *what, const lf_json *j, char **out, lf_err *e) {
    *out = NULL;
    /* a list (Keras' metrics of one output, or one entry per output) or an
     * object by output name */
    int ok = (lf_json_is(j, LF_JSON_ARRAY) || lf_json_is(j, LF_JSON_OBJECT)) && lf_json_len(j) <= METRICS_MAX_ITEMS;
    for (size_t i = 0; ok && i < lf_json_len(j); i++) {
        const char *key = lf_json_key_at(j, i);
        ok = metric_entry(lf_json_at(j, i)) && (!key || (key[0] && strlen(key) <= 256 && lf_utf8_valid(key, strlen(key))));
    }
    if (!ok)
        return lf_fail(e, LF_ERR_ARG, "%s must be a list of at most %d metric names (1..%d printable ASCII characters), "
                       "nulls or lists of names, or an object of them by output name", what, METRICS_MAX_ITEMS,
                       METRIC_NAME_MAX);
    lf_buf b;
    lf_buf_init(&b);
    metrics_write(&b, j);
    if (b.failed) {
        lf_buf_free(&b);
        return lf_fail(e, LF_ERR_NOMEM, "%s: out of memory", what);
    }
    *out = b.data;
    return LF_OK;
}

lf_status lf_model_set_metrics(lf_model *m, const char *metrics, const char *weighted_metrics) {
    if (!m) return LF_ERR_ARG;
    if (!m->compiled) return lf_model_fail(m, LF_ERR_STATE, "lf_model_set_metrics: compile the model first");
    const char *text[2] = {metrics, weighted_metrics}, *what[2] = {"metrics", "weighted_metrics"};
    char *copy[2] = {NULL, NULL};
    lf_status st = LF_OK;
    lf_err e;
    for (int k = 0; st == LF_OK && k < 2; k++) {
        if (!text[k]) continue;
        lf_json *j = NULL;
        size_t len = strlen(text[k]);
        if (len > METRICS_MAX_BYTES)
            st = lf_fail(&e, LF_ERR_ARG, "%s is %zu bytes, at most %d", what[k], len, METRICS_MAX_BYTES);
        else if ((st = lf_json_parse(text[k], len, &j, &e)) != LF_OK) {
            char msg[sizeof e.msg];
            memcpy(msg, e.msg, sizeof msg);
            st = lf_fail(&e, st == LF_ERR_NOMEM ? st : LF_ERR_ARG, "%s is not JSON (%.200s)", what[k], msg);
        } else st = lf_metrics_json(what[k], j, &copy[k], &e);
        lf_json_free(j);
    }
    if (st != LF_OK) {
        LF_FREE(copy[0]);
        return lf_model_fail(m, st, "lf_model_set_metrics: %s", e.msg);
    }
    for (int k = 0; k < 2; k++) {
        LF_FREE(m->metrics[k]);
        m->metrics[k] = copy[k];
    }
    return LF_OK;
}

const char *lf_model_metrics(const lf_model *m, int weighted) {
    return m && m->compiled ? m->metrics[weighted != 0] : NULL;
}

lf_status lf_set_trainable(lf_model *m, int node, int trainable) {
    if (!m) return LF_ERR_ARG;
    if (node < 0 || (size_t)node >= m->n_nodes)
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_trainable: node %d is not a node of this model", node);
    if (m->nodes[node].shares) node = m->nodes[node].shares - 1; /* the flag is the layer's: its owner's */
    m->nodes[node].frozen = !trainable;
    lf_graph_plan(m);
    return LF_OK;
}

int lf_node_trainable(const lf_model *m, int node) {
    if (!m || node < 0 || (size_t)node >= m->n_nodes) return -1;
    if (m->nodes[node].shares) node = m->nodes[node].shares - 1;
    return !m->nodes[node].frozen;
}

/* -------------------------------------------------------------- summary */

lf_status lf_model_summary(const lf_model *m, FILE *f) {
    if (!m || !f) return LF_ERR_ARG;
    const char *rule = "______________________________________________________________________________________________________________\n";
    const char *dbl = "==============================================================================================================\n";
    fprintf(f, "Model: \"functional\"\n%s", rule);
    fprintf(f, "%-50s %-20s %10s  %s\n", "Layer (type)", "Output Shape", "Param #", "Connected to");
    fputs(dbl, f);
    size_t trainable = 0, fixed = 0;
    size_t last = m->n_nodes; /* the last row printed: views print none */
    while (last > 0 && m->nodes[last - 1].kind == LF_K_OUTPUT_VIEW) last--;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        if (nd->kind == LF_K_OUTPUT_VIEW) continue; /* Keras: not a layer; named node[0][k] where read */
        char lt[96], shape[256], conn[160];
        snprintf(lt, sizeof lt, "%s (%s)", nd->name, lf_type_of(nd)->type);
        lf_shape_str(nd, shape, sizeof shape);
        if (nd->td_steps) { /* on a TimeDistributed's steps: Keras' (None, T, ...) */
            char per_step[sizeof shape];
            memcpy(per_step, shape, sizeof shape);
            snprintf(shape, sizeof shape, "(None, %zu%.200s", nd->td_steps, per_step + 5); /* after "(None" */
        }
        if (nd->n_outs > 1 && lf_type_of(nd)->outputs) { /* Keras' list: [(None, 8), (None, 8)] */
            lf_out_view v[LF_MAX_OUTS];
            size_t n = lf_type_of(nd)->outputs(m, nd, v), used = 1;
            shape[0] = '[', shape[1] = '\0';
            for (size_t k = 0; k < n && used < sizeof shape; k++) {
                lf_node tmp = *nd;
                tmp.rank = v[k].rank;
                memcpy(tmp.shape, v[k].shape, sizeof tmp.shape);
                char one[96];
                lf_shape_str(&tmp, one, sizeof one);
                used += (size_t)snprintf(shape + used, sizeof shape - used, "%s%s", k ? ", " : "", one);
            }
            if (used < sizeof shape) snprintf(shape + used, sizeof shape - used, "]");
        }
        conn[0] = '\0';
        size_t used = 0;
        for (size_t j = 0; j < nd->n_in + 2; j++) {
            int src = j < nd->n_in ? nd->in[j] : j == nd->n_in ? nd->gate : nd->mask;
            if (src < 0) continue;
            const lf_node *sn = &m->nodes[src];
            int w = sn->kind == LF_K_OUTPUT_VIEW
                        ? snprintf(conn + used, sizeof conn - used, "%s%s[0][%zu]", used ? ", " : "",
                                   m->nodes[sn->in[0]].name, sn->view)
                        : snprintf(conn + used, sizeof conn - used, "%s%s", used ? ", " : "", sn->name);
            if (w < 0 || (size_t)w >= sizeof conn - used) break;
            used += (size_t)w;
        }
        if (lf_type_of(nd)->is_input) snprintf(conn, sizeof conn, "-");
        fprintf(f, "%-50s %-20s %10zu  %s\n", lt, shape, nd->n_params, conn);
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, nd, w);
        for (size_t j = 0; j < nw; j++) fixed += w[j].fixed || nd->frozen ? lf_weight_count(&w[j]) : 0;
        trainable += nd->n_params;
        fputs(i + 1 < last ? rule : dbl, f);
    }
    if (m->n_nodes == 0) fputs(dbl, f);
    size_t total = trainable;
    trainable -= fixed;
    fprintf(f, " Total params: %zu (%.2f KB)\n", total, total * 4.0 / 1024.0);
    fprintf(f, " Trainable params: %zu (%.2f KB)\n", trainable, trainable * 4.0 / 1024.0);
    if (fixed) fprintf(f, " Non-trainable params: %zu (%.2f KB)\n", fixed, fixed * 4.0 / 1024.0);
    else fprintf(f, " Non-trainable params: 0 (0.00 B)\n");
    return ferror(f) ? LF_ERR_IO : LF_OK;
}

/* -------------------------------------------------------------- weights */

/* finds weight idx of a layer: offset into params and shape (shape[1] = 1
 * for vectors) */
static lf_status weight_slot(lf_model *m, const char *layer, size_t idx, size_t *off,
                             size_t shape[2]) {
    if (!m) return LF_ERR_ARG;
    int id = lf_node_find(m, layer);
    if (id < 0) return lf_model_fail(m, LF_ERR_ARG, "no layer named '%s'", layer ? layer : "(null)");
    const lf_node *nd = &m->nodes[id];
    lf_weight w[LF_MAX_WEIGHTS];
    size_t nw = lf_node_weights(m, nd, w);
    if (idx >= nw)
        return lf_model_fail(m, LF_ERR_ARG, "layer '%s' has %zu weight arrays, index %zu asked", layer,
                             nw, idx);
    *off = nd->param_off + w[idx].off;
    shape[0] = w[idx].shape[0];
    shape[1] = lf_weight_count(&w[idx]) / (shape[0] ? shape[0] : 1);
    return LF_OK;
}

size_t lf_layer_num_weights(const lf_model *m, const char *layer) {
    int id = lf_node_find(m, layer);
    if (id < 0) return 0;
    lf_weight w[LF_MAX_WEIGHTS];
    return lf_node_weights(m, &m->nodes[id], w);
}

lf_status lf_layer_weight_shape(lf_model *m, const char *layer, size_t idx, size_t shape[2],
                                size_t *count) {
    size_t off = 0, s[2] = {0, 0};
    lf_status st = weight_slot(m, layer, idx, &off, s);
    if (st != LF_OK) return st;
    if (shape) shape[0] = s[0], shape[1] = s[1];
    if (count) *count = s[0] * s[1];
    return LF_OK;
}

/* checks layer/idx/count for a weight transfer; *off is its offset */
static lf_status weight_checked(lf_model *m, const char *layer, size_t idx, const void *buf,
                                size_t count, size_t *off) {
    size_t s[2] = {0, 0};
    *off = 0;
    lf_status st = weight_slot(m, layer, idx, off, s);
    if (st != LF_OK) return st;
    if (!m->params) return lf_model_fail(m, LF_ERR_STATE, "layer '%s' has no weights yet", layer);
    if (count != s[0] * s[1])
        return lf_model_fail(m, LF_ERR_SHAPE, "layer '%s' weight %zu holds %zu values, %zu given", layer,
                             idx, s[0] * s[1], count);
    if (!buf) return lf_model_fail(m, LF_ERR_ARG, "NULL weight buffer");
    return LF_OK;
}

lf_status lf_get_weights(lf_model *m, const char *layer, size_t idx, float *out, size_t count) {
    size_t off;
    lf_status st = weight_checked(m, layer, idx, out, count, &off);
    if (st == LF_OK) memcpy(out, m->params + off, count * sizeof *out);
    return st;
}

lf_status lf_set_weights(lf_model *m, const char *layer, size_t idx, const float *in,
                         size_t count) {
    size_t off;
    lf_status st = weight_checked(m, layer, idx, in, count, &off);
    if (st != LF_OK) return st;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(in[i]))
            return lf_model_fail(m, LF_ERR_NUMERIC, "layer '%s' weight %zu: value %zu is not finite",
                                 layer, idx, i);
    memcpy(m->params + off, in, count * sizeof *in);
    return LF_OK;
}

/* ------------------------------------------------ the optimizer's state */

int lf_model_optimizer_slots(const lf_model *m) { return !m || !m->compiled ? 0 : m->m3 ? 3 : 2; }

/* The state array `slot` of a compiled model, and the offset of the
 * layer's weight idx in it (count checked as lf_get_weights does). */
static lf_status slot_checked(lf_model *m, const char *layer, size_t idx, int slot, const void *buf, size_t count,
                              size_t *off, float **state) {
    *state = NULL;
    if (!m) return LF_ERR_ARG;
    if (!m->compiled) return lf_model_fail(m, LF_ERR_STATE, "the optimizer's state needs a compiled model");
    if (slot < 0 || slot >= lf_model_optimizer_slots(m))
        return lf_model_fail(m, LF_ERR_ARG, "optimizer slot %d: the optimizer keeps slots 0..%d", slot,
                             lf_model_optimizer_slots(m) - 1);
    lf_status st = weight_checked(m, layer, idx, buf, count, off);
    if (st == LF_OK) *state = slot == 0 ? m->m1 : slot == 1 ? m->m2 : m->m3;
    return st;
}

lf_status lf_get_optimizer_slot(lf_model *m, const char *layer, size_t idx, int slot, float *out, size_t count) {
    size_t off;
    float *state;
    lf_status st = slot_checked(m, layer, idx, slot, out, count, &off, &state);
    if (st == LF_OK) memcpy(out, state + off, count * sizeof *out);
    return st;
}

lf_status lf_set_optimizer_slot(lf_model *m, const char *layer, size_t idx, int slot, const float *in,
                                size_t count) {
    size_t off;
    float *state;
    lf_status st = slot_checked(m, layer, idx, slot, in, count, &off, &state);
    if (st != LF_OK) return st;
    const int nonneg = lf_optim_nonneg(&m->opt, slot);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(in[i]) || (nonneg && in[i] < 0.0f))
            return lf_model_fail(m, LF_ERR_NUMERIC, "layer '%s' weight %zu, optimizer slot %d: value %zu is %s",
                                 layer, idx, slot, i, isfinite(in[i]) ? "negative (this optimizer keeps it >= 0)"
                                                                      : "not finite");
    memcpy(state + off, in, count * sizeof *in);
    return LF_OK;
}

lf_status lf_model_set_iterations(lf_model *m, uint64_t iterations) {
    if (!m) return LF_ERR_ARG;
    if (!m->compiled) return lf_model_fail(m, LF_ERR_STATE, "set_iterations needs a compiled model");
    if (iterations > (uint64_t)INT64_MAX)
        return lf_model_fail(m, LF_ERR_ARG, "iterations %llu is more than 2^63 - 1", (unsigned long long)iterations);
    m->step = iterations;
    return LF_OK;
}
