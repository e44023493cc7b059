/*
 * builder.c — the model object and its Keras-style builder: creating nodes
 * (with shape checks and weight initialisation in creation order), compile,
 * summary, and weights by layer name.
 */
#include "model.h"
#include "model_io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const kind_names[LF_K_COUNT] = {
    [LF_K_INPUT] = "InputLayer",       [LF_K_DENSE] = "Dense",
    [LF_K_ACTIVATION] = "Activation",  [LF_K_DROPOUT] = "Dropout",
    [LF_K_ADD] = "Add",                [LF_K_SUBTRACT] = "Subtract",
    [LF_K_MULTIPLY] = "Multiply",      [LF_K_AVERAGE] = "Average",
    [LF_K_MAXIMUM] = "Maximum",        [LF_K_MINIMUM] = "Minimum",
    [LF_K_CONCATENATE] = "Concatenate", [LF_K_DOT] = "Dot",
    [LF_K_WAVG] = "WeightedAverage",   [LF_K_CWAVG] = "ClassWeightedAverage",
    [LF_K_GATED] = "GatedAverage",
};

/* default names, as Keras spells them */
static const char *const kind_prefix[LF_K_COUNT] = {
    [LF_K_INPUT] = "input",       [LF_K_DENSE] = "dense",
    [LF_K_ACTIVATION] = "activation", [LF_K_DROPOUT] = "dropout",
    [LF_K_ADD] = "add",           [LF_K_SUBTRACT] = "subtract",
    [LF_K_MULTIPLY] = "multiply", [LF_K_AVERAGE] = "average",
    [LF_K_MAXIMUM] = "maximum",   [LF_K_MINIMUM] = "minimum",
    [LF_K_CONCATENATE] = "concatenate", [LF_K_DOT] = "dot",
    [LF_K_WAVG] = "weighted_average", [LF_K_CWAVG] = "class_weighted_average",
    [LF_K_GATED] = "gated_average",
};

const char *lf_kind_name(lf_kind k) { return (unsigned)k < LF_K_COUNT ? kind_names[k] : NULL; }

int lf_kind_parse(const char *name) {
    for (int k = 0; k < LF_K_COUNT; k++)
        if (name && strcmp(name, kind_names[k]) == 0) return k;
    return -1;
}

static const char *const act_names[] = {"linear", "relu", "leaky_relu", "elu",
                                        "gelu",   "sigmoid", "tanh", "softmax"};

const char *lf_activation_name(lf_activation a) {
    return (unsigned)a <= LF_SOFTMAX ? act_names[a] : NULL;
}

int lf_activation_parse(const char *name) {
    for (int a = 0; a <= LF_SOFTMAX; a++)
        if (name && strcmp(name, act_names[a]) == 0) return a;
    return -1;
}

static const char *const loss_names[] = {"mse", "mae", "binary_crossentropy",
                                         "categorical_crossentropy",
                                         "sparse_categorical_crossentropy"};

const char *lf_loss_name(lf_loss l) {
    return (unsigned)l <= LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? loss_names[l] : NULL;
}

int lf_loss_parse(const char *name) {
    for (int l = 0; l <= LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY; l++)
        if (name && strcmp(name, loss_names[l]) == 0) return l;
    return -1;
}

lf_optimizer lf_optimizer_default(lf_optimizer_kind kind) {
    lf_optimizer o = {kind, 1e-3f, 0.0f, 0, 0.9f, 0.999f, 1e-7f, 0.9f, 0, 0.99f};
    if (kind == LF_OPT_SGD) o.learning_rate = 0.01f;
    return o;
}

/* ------------------------------------------------------------- lifetime */

lf_status lf_model_create(lf_model **out, uint64_t seed) {
    if (!out) return LF_ERR_ARG;
    lf_model *m = LF_CALLOC(1, sizeof *m);
    *out = m;
    if (!m) return LF_ERR_NOMEM;
    lf_rng_seed(&m->rng, seed);
    m->output = -1;
    return LF_OK;
}

void lf_model_free(lf_model *m) {
    if (!m) return;
    lf_model_reset(m); /* model_io.c: frees everything the model owns */
    LF_FREE(m);
}

const char *lf_model_error(const lf_model *m) {
    return m ? m->err.msg : "no model (NULL)";
}

lf_status lf_model_fail(lf_model *m, lf_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err.msg, sizeof m->err.msg, fmt, ap);
    va_end(ap);
    return st;
}

/* -------------------------------------------------------------- builder */

static int valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= LF_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int lf_node_find(const lf_model *m, const char *name) {
    if (!m || !name) return -1;
    for (size_t i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0) return (int)i;
    return -1;
}

/* sticky failure of a builder call: returns -1 */
static int build_fail(lf_model *m, lf_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int build_fail(lf_model *m, lf_status st, const char *fmt, ...) {
    if (m->sticky == LF_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->err.msg, sizeof m->err.msg, fmt, ap);
        va_end(ap);
        m->sticky = st;
    }
    return -1;
}

static int grow_params(lf_model *m, size_t extra) {
    if (extra > SIZE_MAX / sizeof(float) - m->n_params) return 0;
    size_t need = m->n_params + extra;
    /* the block always exists once a node does, so that param_off
     * arithmetic is valid even for layers without weights */
    if (need <= m->cap_params && m->params) return 1;
    size_t cap = m->cap_params ? m->cap_params : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 / sizeof(float) ? need : cap * 2;
    float *p = LF_REALLOC(m->params, cap * sizeof *p);
    if (!p) return 0;
    m->params = p;
    m->cap_params = cap;
    return 1;
}

/* Appends a node (kind, inputs, dim, params) and returns its id, or -1. */
static int add_node(lf_model *m, lf_kind kind, const char *name, const int *in, size_t n_in,
                    size_t dim, size_t n_params) {
    if (!m) return -1;
    if (m->sticky != LF_OK) return -1;
    if (m->compiled)
        return build_fail(m, LF_ERR_STATE, "cannot add layer '%s': the model is already compiled",
                          name ? name : kind_prefix[kind]);
    char buf[LF_NAME_MAX];
    if (name) {
        if (!valid_name(name))
            return build_fail(m, LF_ERR_ARG,
                              "invalid layer name '%.80s': use 1-63 characters of A-Z a-z 0-9 _ . -",
                              name);
        if (lf_node_find(m, name) >= 0)
            return build_fail(m, LF_ERR_ARG, "layer name '%s' is used twice", name);
        snprintf(buf, sizeof buf, "%s", name);
    } else {
        snprintf(buf, sizeof buf, "%s", kind_prefix[kind]);
        for (unsigned i = 1; lf_node_find(m, buf) >= 0; i++)
            snprintf(buf, sizeof buf, "%s_%u", kind_prefix[kind], i);
    }
    for (size_t i = 0; i < n_in; i++)
        if (in[i] < 0 || (size_t)in[i] >= m->n_nodes)
            return build_fail(m, LF_ERR_ARG, "layer '%s': input %zu is not a node of this model (id %d)",
                              buf, i, in[i]);
    if (dim == 0) return build_fail(m, LF_ERR_SHAPE, "layer '%s' would have 0 features", buf);
    if (m->n_nodes >= (size_t)0x7fffffff)
        return build_fail(m, LF_ERR_ARG, "too many layers");
    if (m->n_nodes == m->cap_nodes) {
        size_t cap = m->cap_nodes ? 2 * m->cap_nodes : 16;
        lf_node *nn = LF_REALLOC(m->nodes, cap * sizeof *nn);
        if (!nn) return build_fail(m, LF_ERR_NOMEM, "out of memory adding layer '%s'", buf);
        m->nodes = nn;
        m->cap_nodes = cap;
    }
    if (!grow_params(m, n_params))
        return build_fail(m, LF_ERR_NOMEM, "out of memory for the %zu weights of layer '%s'",
                          n_params, buf);
    int *ins = NULL;
    if (n_in) {
        ins = LF_MALLOC(n_in * sizeof *ins);
        if (!ins) return build_fail(m, LF_ERR_NOMEM, "out of memory adding layer '%s'", buf);
        memcpy(ins, in, n_in * sizeof *ins);
    }
    lf_node *nd = &m->nodes[m->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->kind = kind;
    memcpy(nd->name, buf, sizeof buf);
    nd->dim = dim;
    nd->n_in = n_in;
    nd->in = ins;
    nd->gate = nd->mask = -1;
    nd->param_off = m->n_params;
    nd->n_params = n_params;
    m->n_params += n_params;
    return (int)m->n_nodes++;
}

int lf_input(lf_model *m, size_t dim, const char *name) {
    if (!m) return -1;
    int *ins = LF_REALLOC(m->inputs, (m->n_inputs + 1) * sizeof *ins);
    if (!ins) return build_fail(m, LF_ERR_NOMEM, "out of memory adding an input");
    m->inputs = ins;
    int id = add_node(m, LF_K_INPUT, name, NULL, 0, dim, 0);
    if (id >= 0) m->inputs[m->n_inputs++] = id;
    return id;
}

static int check_act(lf_model *m, lf_activation act) {
    if ((unsigned)act > LF_SOFTMAX) {
        build_fail(m, LF_ERR_ARG, "unknown activation %d", (int)act);
        return 0;
    }
    return 1;
}

int lf_dense(lf_model *m, int x, size_t units, lf_activation act, int use_bias,
             const char *name) {
    if (!m || m->sticky != LF_OK) return -1;
    if (!check_act(m, act)) return -1;
    if (x < 0 || (size_t)x >= m->n_nodes)
        return build_fail(m, LF_ERR_ARG, "Dense: input is not a node of this model (id %d)", x);
    size_t in = m->nodes[x].dim, nw;
    if (!lf_mul_ok(units, in, &nw) || nw > SIZE_MAX / 8 - units)
        return build_fail(m, LF_ERR_ARG, "Dense: %zu x %zu weights overflow", units, in);
    int id = add_node(m, LF_K_DENSE, name, &x, 1, units, nw + (use_bias ? units : 0));
    if (id < 0) return -1;
    lf_node *nd = &m->nodes[id];
    nd->act = act;
    nd->use_bias = use_bias != 0;
    nd->aux_per_row = act == LF_LINEAR ? 0 : 2 * units; /* z and dz */
    /* glorot_uniform kernel, zero bias */
    float *w = m->params + nd->param_off;
    float limit = sqrtf(6.0f / (float)(in + units));
    for (size_t i = 0; i < nw; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * limit;
    if (use_bias) memset(w + nw, 0, units * sizeof *w);
    return id;
}

int lf_activation_layer(lf_model *m, int x, lf_activation act, const char *name) {
    if (!m || m->sticky != LF_OK) return -1;
    if (!check_act(m, act)) return -1;
    size_t dim = (x >= 0 && (size_t)x < m->n_nodes) ? m->nodes[x].dim : 1;
    int id = add_node(m, LF_K_ACTIVATION, name, &x, 1, dim, 0);
    if (id >= 0) {
        m->nodes[id].act = act;
        m->nodes[id].aux_per_row = dim; /* dz */
    }
    return id;
}

int lf_dropout(lf_model *m, int x, float rate, const char *name) {
    if (!m || m->sticky != LF_OK) return -1;
    if (!(rate >= 0.0f && rate < 1.0f))
        return build_fail(m, LF_ERR_ARG, "Dropout rate must be in [0, 1), got %g", (double)rate);
    size_t dim = (x >= 0 && (size_t)x < m->n_nodes) ? m->nodes[x].dim : 1;
    int id = add_node(m, LF_K_DROPOUT, name, &x, 1, dim, 0);
    if (id >= 0) {
        m->nodes[id].rate = rate;
        m->nodes[id].aux_per_row = dim; /* mask */
    }
    return id;
}

/* inputs of a merge: n >= min, all valid; equal dims unless concat */
static int merge_dims(lf_model *m, lf_kind kind, size_t n, const int *xs, size_t min_n,
                      int equal, size_t *dim) {
    const char *kn = kind_names[kind];
    if (!xs) return build_fail(m, LF_ERR_ARG, "%s: no inputs given", kn), 0;
    if (n < min_n)
        return build_fail(m, LF_ERR_ARG, "%s needs at least %zu inputs, got %zu", kn, min_n, n), 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (xs[i] < 0 || (size_t)xs[i] >= m->n_nodes)
            return build_fail(m, LF_ERR_ARG, "%s: input %zu is not a node of this model (id %d)",
                              kn, i, xs[i]), 0;
        size_t d = m->nodes[xs[i]].dim;
        if (equal && d != m->nodes[xs[0]].dim)
            return build_fail(m, LF_ERR_SHAPE,
                              "%s: inputs must have equal shapes, got %zu ('%s') and %zu ('%s')", kn,
                              m->nodes[xs[0]].dim, m->nodes[xs[0]].name, d, m->nodes[xs[i]].name),
                   0;
        if (total > SIZE_MAX / 2) return build_fail(m, LF_ERR_ARG, "%s: too many features", kn), 0;
        total += d;
    }
    *dim = equal ? m->nodes[xs[0]].dim : total;
    return 1;
}

static int merge(lf_model *m, lf_kind kind, size_t n, const int *xs, const char *name) {
    if (!m || m->sticky != LF_OK) return -1;
    size_t dim;
    if (!merge_dims(m, kind, n, xs, 2, kind != LF_K_CONCATENATE, &dim)) return -1;
    return add_node(m, kind, name, xs, n, dim, 0);
}

int lf_add(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, LF_K_ADD, n, xs, name);
}
int lf_subtract(lf_model *m, int a, int b, const char *name) {
    int xs[2] = {a, b};
    return merge(m, LF_K_SUBTRACT, 2, xs, name);
}
int lf_multiply(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, LF_K_MULTIPLY, n, xs, name);
}
int lf_average(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, LF_K_AVERAGE, n, xs, name);
}
int lf_maximum(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, LF_K_MAXIMUM, n, xs, name);
}
int lf_minimum(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, LF_K_MINIMUM, n, xs, name);
}
int lf_concatenate(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, LF_K_CONCATENATE, n, xs, name);
}

int lf_dot(lf_model *m, int a, int b, int normalize, const char *name) {
    if (!m || m->sticky != LF_OK) return -1;
    int xs[2] = {a, b};
    size_t dim;
    if (!merge_dims(m, LF_K_DOT, 2, xs, 2, 1, &dim)) return -1;
    int id = add_node(m, LF_K_DOT, name, xs, 2, 1, 0);
    if (id >= 0) {
        m->nodes[id].normalize = normalize != 0;
        m->nodes[id].aux_per_row = 2; /* norms */
    }
    return id;
}

/* WeightedAverage / ClassWeightedAverage / GatedAverage share their checks */
static int weighted(lf_model *m, lf_kind kind, size_t n, const int *xs, int gate, int mask,
                    const char *name) {
    if (!m || m->sticky != LF_OK) return -1;
    size_t dim;
    if (!merge_dims(m, kind, n, xs, 1, 1, &dim)) return -1;
    const char *kn = kind_names[kind];
    if (n > 1024) return build_fail(m, LF_ERR_ARG, "%s: at most 1024 inputs, got %zu", kn, n);
    if (mask != -1) {
        if (mask < 0 || (size_t)mask >= m->n_nodes)
            return build_fail(m, LF_ERR_ARG, "%s: mask is not a node of this model (id %d)", kn, mask);
        if (m->nodes[mask].dim != n)
            return build_fail(m, LF_ERR_SHAPE, "%s: the mask must have %zu features (one per input), got %zu",
                              kn, n, m->nodes[mask].dim);
    }
    if (kind == LF_K_GATED) {
        if (gate < 0 || (size_t)gate >= m->n_nodes)
            return build_fail(m, LF_ERR_ARG, "%s: gate is not a node of this model (id %d)", kn, gate);
        if (m->nodes[gate].dim != n)
            return build_fail(m, LF_ERR_SHAPE, "%s: the gate must have %zu features (one per input), got %zu",
                              kn, n, m->nodes[gate].dim);
    }
    size_t np = kind == LF_K_WAVG ? n : kind == LF_K_CWAVG ? n * dim : 0;
    int id = add_node(m, kind, name, xs, n, dim, np);
    if (id < 0) return -1;
    lf_node *nd = &m->nodes[id];
    nd->gate = gate;
    nd->mask = mask;
    nd->aux_per_row = kind == LF_K_CWAVG ? n * dim : n; /* the weights used, per row */
    float *w = m->params + nd->param_off;
    for (size_t i = 0; i < np; i++) w[i] = lf_rng_uniform(&m->rng); /* U(0,1), as the seed */
    return id;
}

int lf_weighted_average(lf_model *m, size_t n, const int *xs, int mask, const char *name) {
    return weighted(m, LF_K_WAVG, n, xs, -1, mask, name);
}
int lf_class_weighted_average(lf_model *m, size_t n, const int *xs, int mask, const char *name) {
    return weighted(m, LF_K_CWAVG, n, xs, -1, mask, name);
}
int lf_gated_average(lf_model *m, size_t n, const int *xs, int gate, int mask, const char *name) {
    return weighted(m, LF_K_GATED, n, xs, gate, mask, name);
}

lf_status lf_set_l2(lf_model *m, int node, float l2) {
    if (!m) return LF_ERR_ARG;
    lf_kind k = (node >= 0 && (size_t)node < m->n_nodes) ? m->nodes[node].kind : LF_K_COUNT;
    if (k != LF_K_DENSE && k != LF_K_WAVG && k != LF_K_CWAVG)
        return lf_model_fail(m, LF_ERR_ARG,
                             "lf_set_l2: node %d is not a Dense, WeightedAverage or ClassWeightedAverage layer",
                             node);
    if (!(l2 >= 0.0f) || !isfinite(l2))
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_l2: the penalty must be finite and >= 0");
    m->nodes[node].l2 = l2;
    return LF_OK;
}

size_t lf_model_num_nodes(const lf_model *m) { return m ? m->n_nodes : 0; }
size_t lf_node_dim(const lf_model *m, int node) {
    return (m && node >= 0 && (size_t)node < m->n_nodes) ? m->nodes[node].dim : 0;
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
    if ((unsigned)o->kind > LF_OPT_RMSPROP) return 0;
    if (!(o->learning_rate > 0.0f) || !isfinite(o->learning_rate)) return 0;
    if (!(o->momentum >= 0.0f && o->momentum < 1.0f)) return 0;
    if (!(o->beta_1 >= 0.0f && o->beta_1 < 1.0f) || !(o->beta_2 >= 0.0f && o->beta_2 < 1.0f)) return 0;
    if (!(o->epsilon > 0.0f) || !isfinite(o->epsilon)) return 0;
    if (!(o->rho >= 0.0f && o->rho < 1.0f)) return 0;
    if (o->use_ema && !(o->ema_momentum >= 0.0f && o->ema_momentum < 1.0f)) return 0;
    return 1;
}

lf_status lf_model_compile(lf_model *m, int output, lf_loss loss, const lf_optimizer *opt) {
    if (!m) return LF_ERR_ARG;
    if (m->sticky != LF_OK) return m->sticky;
    if (m->compiled) return lf_model_fail(m, LF_ERR_STATE, "the model is already compiled");
    if (output < 0 || (size_t)output >= m->n_nodes)
        return lf_model_fail(m, LF_ERR_ARG, "compile: output %d is not a node of this model", output);
    if ((unsigned)loss > LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
        return lf_model_fail(m, LF_ERR_ARG, "compile: unknown loss %d", (int)loss);
    lf_optimizer o = opt ? *opt : lf_optimizer_default(LF_OPT_ADAM);
    if (!valid_optimizer(&o))
        return lf_model_fail(m, LF_ERR_ARG,
                             "compile: invalid optimizer settings (learning rate and epsilon must be > 0, "
                             "momentum, rho, betas and ema_momentum in [0, 1))");
    if (m->n_inputs == 0) return lf_model_fail(m, LF_ERR_STATE, "compile: the model has no input");
    const lf_node *out = &m->nodes[output];
    if (out->kind == LF_K_INPUT)
        return lf_model_fail(m, LF_ERR_ARG, "compile: the output is an input layer");
    if ((loss == LF_LOSS_BINARY_CROSSENTROPY || loss == LF_LOSS_CATEGORICAL_CROSSENTROPY ||
         loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) && 0) {
    }
    if (loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && out->dim < 2)
        return lf_model_fail(m, LF_ERR_SHAPE,
                             "compile: sparse_categorical_crossentropy needs an output of at least 2 classes");

    /* mark the ancestors of the output (creation order is topological) */
    for (size_t i = 0; i < m->n_nodes; i++) m->nodes[i].needed = 0;
    m->nodes[output].needed = 1;
    for (size_t i = (size_t)output + 1; i-- > 0;) {
        lf_node *nd = &m->nodes[i];
        if (!nd->needed) continue;
        for (size_t j = 0; j < nd->n_in; j++) m->nodes[nd->in[j]].needed = 1;
        if (nd->gate >= 0) m->nodes[nd->gate].needed = 1;
        if (nd->mask >= 0) m->nodes[nd->mask].needed = 1;
    }
    for (size_t i = 0; i < m->n_inputs; i++)
        if (!m->nodes[m->inputs[i]].needed)
            return lf_model_fail(m, LF_ERR_ARG, "compile: input '%s' is not connected to the output",
                                 m->nodes[m->inputs[i]].name);

    size_t n = m->n_params ? m->n_params : 1;
    m->grads = LF_CALLOC(n, sizeof(float));
    m->m1 = LF_CALLOC(n, sizeof(float));
    m->m2 = LF_CALLOC(n, sizeof(float));
    if (!m->grads || !m->m1 || !m->m2) {
        LF_FREE(m->grads), LF_FREE(m->m1), LF_FREE(m->m2);
        m->grads = m->m1 = m->m2 = NULL;
        return lf_model_fail(m, LF_ERR_NOMEM, "out of memory compiling %zu parameters", m->n_params);
    }
    m->output = output;
    m->loss = loss;
    m->opt = o;
    m->step = 0;
    int softmax_out = (out->kind == LF_K_DENSE || out->kind == LF_K_ACTIVATION) && out->act == LF_SOFTMAX;
    int sigmoid_out = (out->kind == LF_K_DENSE || out->kind == LF_K_ACTIVATION) && out->act == LF_SIGMOID;
    m->fused = (softmax_out && (loss == LF_LOSS_CATEGORICAL_CROSSENTROPY ||
                                loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)) ||
               (sigmoid_out && loss == LF_LOSS_BINARY_CROSSENTROPY);
    m->compiled = 1;
    return LF_OK;
}

/* -------------------------------------------------------------- summary */

lf_status lf_model_summary(const lf_model *m, FILE *f) {
    if (!m || !f) return LF_ERR_ARG;
    const char *rule = "________________________________________________________________________________________\n";
    const char *dbl = "========================================================================================\n";
    fprintf(f, "Model: \"functional\"\n%s", rule);
    fprintf(f, "%-34s %-14s %10s  %s\n", "Layer (type)", "Output Shape", "Param #", "Connected to");
    fputs(dbl, f);
    size_t trainable = 0;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        char lt[96], shape[32], conn[160];
        snprintf(lt, sizeof lt, "%s (%s)", nd->name, kind_names[nd->kind]);
        snprintf(shape, sizeof shape, "(None, %zu)", nd->dim);
        conn[0] = '\0';
        size_t used = 0;
        for (size_t j = 0; j < nd->n_in + 2; j++) {
            int src = j < nd->n_in ? nd->in[j] : j == nd->n_in ? nd->gate : nd->mask;
            if (src < 0) continue;
            int w = snprintf(conn + used, sizeof conn - used, "%s%s", used ? ", " : "",
                             m->nodes[src].name);
            if (w < 0 || (size_t)w >= sizeof conn - used) break;
            used += (size_t)w;
        }
        if (nd->kind == LF_K_INPUT) snprintf(conn, sizeof conn, "-");
        fprintf(f, "%-34s %-14s %10zu  %s\n", lt, shape, nd->n_params, conn);
        trainable += nd->n_params;
        fputs(i + 1 < m->n_nodes ? rule : dbl, f);
    }
    if (m->n_nodes == 0) fputs(dbl, f);
    fprintf(f, " Total params: %zu (%.2f KB)\n", trainable, trainable * 4.0 / 1024.0);
    fprintf(f, " Trainable params: %zu (%.2f KB)\n", trainable, trainable * 4.0 / 1024.0);
    fprintf(f, " Non-trainable params: 0 (0.00 B)\n");
    return ferror(f) ? LF_ERR_IO : LF_OK;
}

/* -------------------------------------------------------------- weights */

/* finds weight idx of a layer: offset into params and shape */
static lf_status weight_slot(lf_model *m, const char *layer, size_t idx, size_t *off,
                             size_t shape[2]) {
    if (!m) return LF_ERR_ARG;
    int id = lf_node_find(m, layer);
    if (id < 0) return lf_model_fail(m, LF_ERR_ARG, "no layer named '%s'", layer ? layer : "(null)");
    const lf_node *nd = &m->nodes[id];
    size_t nw = lf_layer_num_weights(m, layer);
    if (idx >= nw)
        return lf_model_fail(m, LF_ERR_ARG, "layer '%s' has %zu weight arrays, index %zu asked", layer,
                             nw, idx);
    size_t in = nd->n_in ? m->nodes[nd->in[0]].dim : 0;
    switch (nd->kind) {
    case LF_K_DENSE:
        if (idx == 0) shape[0] = nd->dim, shape[1] = in, *off = nd->param_off;
        else shape[0] = nd->dim, shape[1] = 1, *off = nd->param_off + nd->dim * in;
        break;
    case LF_K_WAVG: shape[0] = nd->n_in, shape[1] = 1, *off = nd->param_off; break;
    case LF_K_CWAVG: shape[0] = nd->n_in, shape[1] = nd->dim, *off = nd->param_off; break;
    default: return lf_model_fail(m, LF_ERR_ARG, "layer '%s' has no weights", layer);
    }
    return LF_OK;
}

size_t lf_layer_num_weights(const lf_model *m, const char *layer) {
    int id = lf_node_find(m, layer);
    if (id < 0) return 0;
    const lf_node *nd = &m->nodes[id];
    if (nd->kind == LF_K_DENSE) return nd->use_bias ? 2 : 1;
    return (nd->kind == LF_K_WAVG || nd->kind == LF_K_CWAVG) ? 1 : 0;
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
