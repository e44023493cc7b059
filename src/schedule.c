/*
 * schedule.c — Keras 3's learning-rate schedules (keras.optimizers.
 * schedules: ExponentialDecay, InverseTimeDecay, PolynomialDecay,
 * CosineDecay with its warm-up, CosineDecayRestarts, PiecewiseConstantDecay;
 * keras/src/optimizers/schedules/learning_rate_schedule.py), the rate of
 * each optimizer step as a pure function of the step count.  fit.c asks
 * for the rate once per step (optimizer_step); model_io.c stores the
 * schedule with the optimizer.  The formulas are latefuse.h's, each
 * Keras' __call__ in double (Keras computes in float32: the rates agree to
 * float rounding).
 */
#include "schedule.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define PI 3.14159265358979323846

static const char *const kind_names[] = {"Constant", "ExponentialDecay", "InverseTimeDecay",
                                         "PolynomialDecay", "CosineDecay", "CosineDecayRestarts",
                                         "PiecewiseConstantDecay"};

lf_lr_schedule lf_lr_schedule_default(lf_lr_schedule_kind kind) {
    lf_lr_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.end_learning_rate = 1e-4, s.power = 1.0;
    s.t_mul = 2.0, s.m_mul = 1.0;
    return s;
}

/* CosineDecay's decay from peak over step t of decay_steps d */
static double cosine(double peak, double t, double d, double alpha) {
    double c = 0.5 * (1.0 + cos(PI * (t / d)));
    return peak * ((1.0 - alpha) * c + alpha);
}

/* CosineDecayRestarts (SGDR): the period and the place in it of step t */
static double restarts(const lf_lr_schedule *s, double lr, double t) {
    double f = t / s->decay_steps, i;
    if (s->t_mul == 1.0) {
        i = floor(f);
        f -= i;
    } else { /* periods 1, t_mul, t_mul^2, ... (in first periods) */
        i = floor(log(1.0 - f * (1.0 - s->t_mul)) / log(s->t_mul));
        double before = (1.0 - pow(s->t_mul, i)) / (1.0 - s->t_mul);
        f = (f - before) / pow(s->t_mul, i);
    }
    double c = 0.5 * pow(s->m_mul, i) * (1.0 + cos(PI * f));
    return lr * ((1.0 - s->alpha) * c + s->alpha);
}

float lf_lr_schedule_rate(const lf_lr_schedule *s, float lr, uint64_t step) {
    if (!s || s->kind == LF_LR_CONSTANT) return lr;
    double t = (double)step, d = s->decay_steps, r = lr;
    switch (s->kind) {
    case LF_LR_EXPONENTIAL_DECAY: {
        double p = s->staircase ? floor(t / d) : t / d;
        r = lr * pow(s->decay_rate, p);
        break;
    }
    case LF_LR_INVERSE_TIME_DECAY: {
        double p = s->staircase ? floor(t / d) : t / d;
        r = lr / (1.0 + s->decay_rate * p);
        break;
    }
    case LF_LR_POLYNOMIAL_DECAY: {
        double steps = d;
        if (s->cycle) steps = d * (t == 0 ? 1.0 : ceil(t / d));
        else t = fmin(t, d);
        r = (lr - s->end_learning_rate) * pow(1.0 - t / steps, s->power) + s->end_learning_rate;
        break;
    }
    case LF_LR_COSINE_DECAY:
        if (!s->has_warmup) {
            r = cosine(lr, fmin(t, d), d, s->alpha);
        } else {
            t = fmin(t, d + s->warmup_steps);
            r = t < s->warmup_steps ? (s->warmup_target - lr) * (t / s->warmup_steps) + lr
                                    : cosine(s->warmup_target, t - s->warmup_steps, d, s->alpha);
        }
        break;
    case LF_LR_COSINE_DECAY_RESTARTS:
        r = restarts(s, lr, t);
        break;
    case LF_LR_PIECEWISE_CONSTANT: {
        size_t i = 0;
        while (i < s->n_boundaries && t > s->boundaries[i]) i++;
        r = s->values[i];
        break;
    }
    default:
        break;
    }
    return (float)r;
}

int lf_lr_schedule_warms_up(const lf_lr_schedule *s) {
    return s->kind == LF_LR_COSINE_DECAY && s->has_warmup;
}

static int finite_in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

const char *lf_lr_schedule_invalid(const lf_lr_schedule *s) {
    if ((unsigned)s->kind > LF_LR_PIECEWISE_CONSTANT) return "the schedule's kind is unknown";
    if (s->kind == LF_LR_CONSTANT) return NULL;
    if (s->kind == LF_LR_PIECEWISE_CONSTANT) {
        if (s->n_boundaries < 1 || s->n_boundaries > LF_LR_MAX_BOUNDARIES)
            return "a piecewise-constant schedule needs 1 to 32 boundaries (and one value more)";
        for (size_t i = 0; i < s->n_boundaries; i++)
            if (!finite_in(s->boundaries[i], 0, 9e15) || (i && !(s->boundaries[i] > s->boundaries[i - 1])))
                return "the schedule's boundaries must be finite, >= 0 and increasing";
        for (size_t i = 0; i <= s->n_boundaries; i++)
            if (!(s->values[i] > 0) || !isfinite(s->values[i]))
                return "the schedule's values must be finite and > 0";
        return NULL;
    }
    if (!(s->decay_steps > 0) || !isfinite(s->decay_steps)) return "the schedule's decay_steps must be finite and > 0";
    switch (s->kind) {
    case LF_LR_EXPONENTIAL_DECAY:
        if (!(s->decay_rate > 0) || !isfinite(s->decay_rate)) return "the schedule's decay_rate must be finite and > 0";
        break;
    case LF_LR_INVERSE_TIME_DECAY:
        if (!finite_in(s->decay_rate, 0, INFINITY)) return "the schedule's decay_rate must be finite and >= 0";
        break;
    case LF_LR_POLYNOMIAL_DECAY:
        if (!finite_in(s->end_learning_rate, 0, INFINITY)) return "the schedule's end_learning_rate must be finite and >= 0";
        if (!(s->power > 0) || !isfinite(s->power)) return "the schedule's power must be finite and > 0";
        break;
    case LF_LR_COSINE_DECAY:
        if (!finite_in(s->alpha, 0, 1)) return "the schedule's alpha must be in [0, 1]";
        if (s->has_warmup && (!(s->warmup_target > 0) || !isfinite(s->warmup_target) ||
                              !finite_in(s->warmup_steps, 0, 9e15)))
            return "the schedule's warmup_target must be finite and > 0, its warmup_steps finite and >= 0";
        break;
    case LF_LR_COSINE_DECAY_RESTARTS:
        if (!finite_in(s->alpha, 0, 1)) return "the schedule's alpha must be in [0, 1]";
        if (!(s->t_mul > 0) || !isfinite(s->t_mul) || !finite_in(s->m_mul, 0, INFINITY))
            return "the schedule's t_mul must be finite and > 0, its m_mul finite and >= 0";
        break;
    default:
        break;
    }
    return NULL;
}

/* the fields each kind writes and reads, beside "name" */
enum { F_STEPS = 1, F_RATE = 2, F_STAIR = 4, F_POLY = 8, F_ALPHA = 16, F_WARM = 32, F_MUL = 64, F_PIECE = 128 };
static const unsigned kind_fields[] = {0,
                                       F_STEPS | F_RATE | F_STAIR,
                                       F_STEPS | F_RATE | F_STAIR,
                                       F_STEPS | F_POLY,
                                       F_STEPS | F_ALPHA | F_WARM,
                                       F_STEPS | F_ALPHA | F_MUL,
                                       F_PIECE};

static void put_num(lf_buf *b, const char *key, double v) {
    lf_buf_printf(b, ",\"%s\":", key);
    lf_buf_json_double(b, v);
}

void lf_lr_schedule_write(lf_buf *b, const lf_lr_schedule *s) {
    if (s->kind == LF_LR_CONSTANT || (unsigned)s->kind > LF_LR_PIECEWISE_CONSTANT) return;
    unsigned f = kind_fields[s->kind];
    lf_buf_printf(b, ",\"schedule\":{\"name\":\"%s\"", kind_names[s->kind]);
    if (f & F_STEPS) put_num(b, "decay_steps", s->decay_steps);
    if (f & F_RATE) put_num(b, "decay_rate", s->decay_rate);
    if (f & F_STAIR) lf_buf_printf(b, ",\"staircase\":%s", s->staircase ? "true" : "false");
    if (f & F_POLY) {
        put_num(b, "end_learning_rate", s->end_learning_rate);
        put_num(b, "power", s->power);
        lf_buf_printf(b, ",\"cycle\":%s", s->cycle ? "true" : "false");
    }
    if (f & F_ALPHA) put_num(b, "alpha", s->alpha);
    if ((f & F_WARM) && s->has_warmup) {
        put_num(b, "warmup_target", s->warmup_target);
        put_num(b, "warmup_steps", s->warmup_steps);
    }
    if (f & F_MUL) put_num(b, "t_mul", s->t_mul), put_num(b, "m_mul", s->m_mul);
    if (f & F_PIECE) {
        lf_buf_puts(b, ",\"boundaries\":[");
        for (size_t i = 0; i < s->n_boundaries; i++) {
            if (i) lf_buf_puts(b, ",");
            lf_buf_json_double(b, s->boundaries[i]);
        }
        lf_buf_puts(b, "],\"values\":[");
        for (size_t i = 0; i <= s->n_boundaries; i++) {
            if (i) lf_buf_puts(b, ",");
            lf_buf_json_float(b, s->values[i]);
        }
        lf_buf_puts(b, "]");
    }
    lf_buf_puts(b, "}");
}

/* a number member (required): 0, or the key that is missing or not a number */
static const char *get_num(const lf_json *j, const char *key, double *v) {
    return lf_json_num(lf_json_get(j, key), v) ? NULL : key;
}

/* a true / false member (required): 0, or the key */
static const char *get_bool(const lf_json *j, const char *key, int *v) {
    return lf_json_bool(lf_json_get(j, key), v) ? NULL : key;
}

lf_status lf_lr_schedule_read(const lf_json *j, lf_lr_schedule *s, const char *where, lf_err *e) {
    if (!lf_json_is(j, LF_JSON_OBJECT)) return lf_fail(e, LF_ERR_FORMAT, "%s: 'schedule' must be an object", where);
    const char *name = lf_json_str(lf_json_get(j, "name"));
    int kind = -1;
    for (int k = 1; k <= LF_LR_PIECEWISE_CONSTANT; k++)
        if (name && strcmp(name, kind_names[k]) == 0) kind = k;
    if (kind < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: the schedule's name is unknown", where);
    *s = lf_lr_schedule_default((lf_lr_schedule_kind)kind);
    unsigned f = kind_fields[kind];
    const char *keys[12];
    size_t nk = 0;
    keys[nk++] = "name";
    if (f & F_STEPS) keys[nk++] = "decay_steps";
    if (f & F_RATE) keys[nk++] = "decay_rate";
    if (f & F_STAIR) keys[nk++] = "staircase";
    if (f & F_POLY) keys[nk++] = "end_learning_rate", keys[nk++] = "power", keys[nk++] = "cycle";
    if (f & F_ALPHA) keys[nk++] = "alpha";
    if (f & F_WARM) keys[nk++] = "warmup_target", keys[nk++] = "warmup_steps";
    if (f & F_MUL) keys[nk++] = "t_mul", keys[nk++] = "m_mul";
    if (f & F_PIECE) keys[nk++] = "boundaries", keys[nk++] = "values";
    keys[nk] = NULL;
    const char *bad = lf_json_unknown_key(j, keys);
    if (bad) {
        char msg[LF_MSG_STR];
        return lf_fail(e, LF_ERR_FORMAT, "%s: the %s schedule has no field '%s'", where, kind_names[kind],
                       lf_str_for_msg(msg, bad));
    }
    const char *miss = NULL; /* the first field missing or of the wrong type */
    if (f & F_STEPS) miss = get_num(j, "decay_steps", &s->decay_steps);
    if ((f & F_RATE) && !miss) miss = get_num(j, "decay_rate", &s->decay_rate);
    if ((f & F_STAIR) && !miss) miss = get_bool(j, "staircase", &s->staircase);
    if ((f & F_POLY) && !miss) miss = get_num(j, "end_learning_rate", &s->end_learning_rate);
    if ((f & F_POLY) && !miss) miss = get_num(j, "power", &s->power);
    if ((f & F_POLY) && !miss) miss = get_bool(j, "cycle", &s->cycle);
    if ((f & F_ALPHA) && !miss) miss = get_num(j, "alpha", &s->alpha);
    if ((f & F_WARM) && !miss && (lf_json_get(j, "warmup_target") || lf_json_get(j, "warmup_steps"))) {
        s->has_warmup = 1; /* both or neither */
        miss = get_num(j, "warmup_target", &s->warmup_target);
        if (!miss) miss = get_num(j, "warmup_steps", &s->warmup_steps);
    }
    if ((f & F_MUL) && !miss) miss = get_num(j, "t_mul", &s->t_mul);
    if ((f & F_MUL) && !miss) miss = get_num(j, "m_mul", &s->m_mul);
    if (miss)
        return lf_fail(e, LF_ERR_FORMAT, "%s: the %s schedule's '%s' must be %s", where, kind_names[kind], miss,
                       strcmp(miss, "staircase") == 0 || strcmp(miss, "cycle") == 0 ? "true or false" : "a number");
    if (f & F_PIECE) {
        const lf_json *bs = lf_json_get(j, "boundaries"), *vs = lf_json_get(j, "values");
        size_t n = lf_json_len(bs);
        if (!lf_json_is(bs, LF_JSON_ARRAY) || n < 1 || n > LF_LR_MAX_BOUNDARIES || !lf_json_is(vs, LF_JSON_ARRAY) ||
            lf_json_len(vs) != n + 1)
            return lf_fail(e, LF_ERR_FORMAT,
                           "%s: the %s schedule's 'boundaries' must be a list of 1 to %d numbers and its 'values' "
                           "a list of one more",
                           where, kind_names[kind], LF_LR_MAX_BOUNDARIES);
        s->n_boundaries = n;
        for (size_t i = 0; i <= n; i++) {
            double v;
            if (i < n && !lf_json_num(lf_json_at(bs, i), &s->boundaries[i]))
                return lf_fail(e, LF_ERR_FORMAT, "%s: the %s schedule's boundary %zu is not a number", where,
                               kind_names[kind], i);
            if (!lf_json_num(lf_json_at(vs, i), &v))
                return lf_fail(e, LF_ERR_FORMAT, "%s: the %s schedule's value %zu is not a number", where,
                               kind_names[kind], i);
            s->values[i] = fabs(v) <= FLT_MAX ? (float)v : INFINITY; /* refused below */
        }
    }
    const char *why = lf_lr_schedule_invalid(s);
    if (why) return lf_fail(e, LF_ERR_FORMAT, "%s: %s", where, why);
    return LF_OK;
}
