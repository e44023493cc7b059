/*
 * targets.c — the bodies of the fuzz targets (see targets.h): one function
 * per parser that runs an untrusted input through it and checks every
 * promise the parser's header makes, so that the fuzzer finds not only
 * crashes, leaks and undefined behaviour but also wrong answers that look
 * right (a success with inconsistent sizes, a value that does not survive a
 * round trip, a failure without a message).
 *
 * Shared by the libFuzzer drivers and tests/test_corpus.c; uses the
 * library's internal headers because the parsers are internal.
 */
#include "targets.h"
#include "cli.h"

#include "io/csv.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/npz.h"
#include "io/safetensors.h"
#include "fusion/fusion_internal.h"
#include "model.h"
#include "model_io.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Models whose nodes hold more floats per row than this are loaded but not
 * run (the workspace would be rows x this many floats). */
#define FZ_MAX_ROW_FLOATS ((size_t)1 << 20)
#define FZ_ROWS 3

static int broken(const char *target, const char *what) {
    fprintf(stderr, "fuzz %s: broken promise: %s\n", target, what);
    return FZ_BROKEN;
}

static int status_valid(int st) { return st >= LF_OK && st <= LF_ERR_NUMERIC; }

/* a failure leaves a non-empty, NUL-terminated message */
static int msg_ok(const lf_err *e) {
    size_t n = strnlen(e->msg, sizeof e->msg);
    return n > 0 && n < sizeof e->msg;
}

/* --------------------------------------------------------- npy and CSV */

/* The promises of array.h / npy.h / csv.h about a parsed lf_array. */
static int check_array(const char *t, lf_status st, const lf_array *a, const lf_err *e) {
    if (!status_valid(st)) return broken(t, "invalid lf_status");
    if (st != LF_OK) {
        if (a->data || a->rows || a->cols || a->is_integer)
            return broken(t, "failure left the array non-zeroed");
        if (!msg_ok(e)) return broken(t, "failure without a message");
        return st;
    }
    size_t count;
    if (!lf_mul_ok(a->rows, a->cols, &count)) return broken(t, "rows * cols overflows");
    if (count && !a->data) return broken(t, "data is NULL for a non-empty array");
    if (a->is_integer != 0 && a->is_integer != 1) return broken(t, "is_integer is not 0/1");
    for (size_t i = 0; i < count; i++) {
        float v = a->data[i]; /* reads every element: ASan checks the size */
        if (a->is_integer && !(v == floorf(v) && fabsf(v) <= 16777216.0f))
            return broken(t, "an integer array holds a value that is not an exact integer");
    }
    return st;
}

/* The promises of lf_npy_parse_nd about an lf_ndarray; where the 2-D
 * reader also read the bytes (a), every element must be the same number
 * (float32 bit for bit: both round float64 the same way). */
static int check_ndarray(lf_status st, const lf_ndarray *n, const lf_err *e, lf_status st2, const lf_array *a) {
    static const lf_ndarray zero;
    const char *t = "npy (N-dimensional)";
    if (!status_valid(st)) return broken(t, "invalid lf_status");
    if (st != LF_OK) {
        if (memcmp(n, &zero, sizeof zero) != 0) return broken(t, "failure left the array non-zeroed");
        return msg_ok(e) ? (int)st : broken(t, "failure without a message");
    }
    if (!n->data) return broken(t, "data is NULL");
    if (n->rank < 1 || n->rank > LF_NDARRAY_MAX_RANK) return broken(t, "rank outside 1..4");
    if (n->dtype != LF_DTYPE_FLOAT32 && n->dtype != LF_DTYPE_INT32 && n->dtype != LF_DTYPE_UINT8)
        return broken(t, "unknown dtype");
    size_t count = 1, row = 1;
    for (size_t d = 0; d < LF_NDARRAY_MAX_RANK; d++) {
        if (d >= n->rank && n->shape[d] != 1) return broken(t, "shape beyond the rank is not 1");
        if (!lf_mul_ok(count, n->shape[d], &count)) return broken(t, "the shape's product overflows");
        if (d > 0 && !lf_mul_ok(row, n->shape[d], &row)) return broken(t, "the row size overflows");
    }
    if (count != n->count || row != n->row_size) return broken(t, "count or row_size is not the shape's");
    int same = st2 == LF_OK && n->rank <= 2 && a->rows * a->cols == count;
    for (size_t k = 0; k < count; k++) { /* reads every element: ASan checks the size */
        float v = n->dtype == LF_DTYPE_FLOAT32 ? ((const float *)n->data)[k]
                  : n->dtype == LF_DTYPE_INT32 ? (float)((const int32_t *)n->data)[k]
                                               : (float)((const unsigned char *)n->data)[k];
        if (same && memcmp(&v, &a->data[k], sizeof v) != 0)
            return broken(t, "an element differs from the 2-D reader's");
    }
    return st;
}

int fz_run_npy(const unsigned char *data, size_t len) {
    lf_array a;
    lf_err e;
    memset(&a, 0x5a, sizeof a); /* the parser must overwrite it either way */
    e.msg[0] = 0;
    lf_status st = lf_npy_parse(data, len, "fuzz.npy", &a, &e);
    int r = check_array("npy", st, &a, &e);
    if (r != FZ_BROKEN) { /* the same bytes through the N-dimensional reader */
        lf_ndarray n;
        lf_err e2;
        memset(&n, 0x5a, sizeof n);
        e2.msg[0] = 0;
        lf_status st2 = lf_npy_parse_nd(data, len, "fuzz.npy", &n, &e2);
        if (check_ndarray(st2, &n, &e2, st, &a) == FZ_BROKEN) r = FZ_BROKEN;
        if (st2 == LF_OK) lf_ndarray_free(&n);
    }
    if (st == LF_OK) lf_array_free(&a);
    return r;
}

/* The .npz reader (npz.c): the only array, then the array "b" by key (the
 * bad seeds must fail the first way; the key lookup only must not crash). */
int fz_run_npz(const unsigned char *data, size_t len) {
    lf_array a;
    lf_err e;
    memset(&a, 0x5a, sizeof a);
    e.msg[0] = 0;
    lf_status st = lf_npz_parse(data, len, NULL, "fuzz.npz", &a, &e);
    int r = check_array("npz", st, &a, &e);
    if (st == LF_OK) lf_array_free(&a);
    if (r == FZ_BROKEN) return r;
    memset(&a, 0x5a, sizeof a);
    e.msg[0] = 0;
    lf_status st2 = lf_npz_parse(data, len, "b", "fuzz.npz", &a, &e);
    if (check_array("npz", st2, &a, &e) == FZ_BROKEN) return FZ_BROKEN;
    if (st2 == LF_OK) lf_array_free(&a);
    return r;
}

int fz_run_csv(const unsigned char *data, size_t len) {
    lf_array a;
    lf_err e;
    memset(&a, 0x5a, sizeof a);
    e.msg[0] = 0;
    lf_status st = lf_csv_parse((const char *)data, len, "fuzz.csv", &a, &e);
    int r = check_array("csv", st, &a, &e);
    if (st == LF_OK) lf_array_free(&a);
    return r;
}

/* ---------------------------------------------------------------- JSON */

/* The promises of json.h about a parsed tree (recursion is bounded by
 * LF_JSON_MAX_DEPTH, which the parser enforces; the depth check makes sure
 * it does). */
static int check_json(const lf_json *j, size_t len, size_t depth) {
    if (!j) return broken("json", "NULL node");
    if (depth > LF_JSON_MAX_DEPTH + 1) return broken("json", "nesting beyond LF_JSON_MAX_DEPTH");
    if (len && j->offset >= len) return broken("json", "node offset beyond the input");
    switch (j->type) {
    case LF_JSON_NULL: return 0;
    case LF_JSON_BOOL: return (j->boolean == 0 || j->boolean == 1) ? 0 : broken("json", "bool not 0/1");
    case LF_JSON_NUMBER:
        if (!isfinite(j->number)) return broken("json", "non-finite number");
        if (j->is_int && (double)j->integer != j->number)
            return broken("json", "integer and number disagree");
        return 0;
    case LF_JSON_STRING:
        if (!j->str || strlen(j->str) != j->str_len) return broken("json", "string length wrong");
        if (!lf_utf8_valid(j->str, j->str_len)) return broken("json", "string is not UTF-8");
        return 0;
    case LF_JSON_ARRAY:
    case LF_JSON_OBJECT:
        if (j->n && !j->items) return broken("json", "items missing");
        for (size_t i = 0; i < j->n; i++) {
            const lf_json *c = j->items[i];
            if (!c) return broken("json", "NULL item");
            if (j->type == LF_JSON_OBJECT) {
                if (!c->key || !lf_utf8_valid(c->key, strlen(c->key)))
                    return broken("json", "member without a UTF-8 key");
                if (lf_json_get(j, c->key) != c) return broken("json", "duplicate key accepted");
                if (lf_json_key_at(j, i) != c->key) return broken("json", "lf_json_key_at wrong");
            } else if (c->key) {
                return broken("json", "array item with a key");
            }
            if (lf_json_at(j, i) != c) return broken("json", "lf_json_at wrong");
            if (check_json(c, len, depth + 1)) return FZ_BROKEN;
        }
        return lf_json_len(j) == j->n ? 0 : broken("json", "lf_json_len wrong");
    }
    return broken("json", "unknown node type");
}

static void write_json(lf_buf *b, const lf_json *j) {
    switch (j->type) {
    case LF_JSON_NULL: lf_buf_puts(b, "null"); break;
    case LF_JSON_BOOL: lf_buf_puts(b, j->boolean ? "true" : "false"); break;
    case LF_JSON_NUMBER:
        if (j->is_int) lf_buf_printf(b, "%" PRId64, j->integer);
        else lf_buf_json_double(b, j->number);
        break;
    case LF_JSON_STRING: lf_buf_json_string(b, j->str); break;
    case LF_JSON_ARRAY:
    case LF_JSON_OBJECT:
        lf_buf_puts(b, j->type == LF_JSON_ARRAY ? "[" : "{");
        for (size_t i = 0; i < j->n; i++) {
            if (i) lf_buf_puts(b, ",");
            if (j->type == LF_JSON_OBJECT) {
                lf_buf_json_string(b, j->items[i]->key);
                lf_buf_puts(b, ":");
            }
            write_json(b, j->items[i]);
        }
        lf_buf_puts(b, j->type == LF_JSON_ARRAY ? "]" : "}");
        break;
    }
}

static int same_json(const lf_json *a, const lf_json *b) {
    if (a->type != b->type || a->n != b->n) return 0;
    if ((a->key || b->key) && (!a->key || !b->key || strcmp(a->key, b->key) != 0)) return 0;
    switch (a->type) {
    case LF_JSON_NULL: return 1;
    case LF_JSON_BOOL: return a->boolean == b->boolean;
    case LF_JSON_NUMBER:
        if (a->is_int && b->is_int) return a->integer == b->integer;
        return a->number == b->number;
    case LF_JSON_STRING: return a->str_len == b->str_len && memcmp(a->str, b->str, a->str_len) == 0;
    default:
        for (size_t i = 0; i < a->n; i++)
            if (!same_json(a->items[i], b->items[i])) return 0;
        return 1;
    }
}

int fz_run_json(const unsigned char *data, size_t len) {
    lf_json *root = (lf_json *)&root; /* must become NULL on failure */
    lf_err e;
    e.msg[0] = 0;
    lf_status st = lf_json_parse((const char *)data, len, &root, &e);
    if (!status_valid(st)) return broken("json", "invalid lf_status");
    if (st != LF_OK) {
        if (root) return broken("json", "failure left *out non-NULL");
        if (!msg_ok(&e)) return broken("json", "failure without a message");
        return st;
    }
    int r = check_json(root, len, 1) ? FZ_BROKEN : LF_OK;
    if (r == LF_OK) {
        /* what we write from the tree must read back as the same tree */
        lf_buf b;
        lf_buf_init(&b);
        write_json(&b, root);
        if (b.failed) {
            r = LF_ERR_NOMEM;
        } else {
            lf_json *again = NULL;
            lf_status st2 = lf_json_parse(b.data, b.len, &again, &e);
            if (st2 == LF_ERR_NOMEM) r = LF_ERR_NOMEM;
            else if (st2 != LF_OK) r = broken("json", "the re-written document does not parse");
            else if (!same_json(root, again)) r = broken("json", "the re-written document differs");
            lf_json_free(again);
        }
        lf_buf_free(&b);
    }
    lf_json_free(root);
    return r;
}

/* --------------------------------------------------------- safetensors */

static int st_empty(const lf_st_file *f) {
    return f->n_tensors == 0 && !f->tensors && !f->by_name && !f->metadata && !f->header &&
           !f->owned;
}

/* The promises of safetensors.h about a parsed file of len bytes at buf. */
static int check_st(const lf_st_file *f, const unsigned char *buf, size_t len) {
    const char *t = "safetensors";
    if (len < 8) return broken(t, "accepted fewer than 8 bytes");
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
    if (hlen > len - 8 || 8 + hlen + f->data_len != len)
        return broken(t, "header length + byte buffer do not make up the file");
    if (lf_st_count(f) != f->n_tensors) return broken(t, "lf_st_count wrong");
    size_t total = 0;
    unsigned sink = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const lf_st_tensor *x = lf_st_at(f, i);
        if (!x || !x->name) return broken(t, "tensor without a name");
        size_t nl = strlen(x->name);
        if (nl < 1 || nl > LF_ST_MAX_NAME || !lf_utf8_valid(x->name, nl))
            return broken(t, "tensor name not 1..255 bytes of UTF-8");
        if ((unsigned)x->dtype >= LF_ST_NUM_DTYPES || x->ndim > LF_ST_MAX_DIMS)
            return broken(t, "dtype or ndim out of range");
        size_t count = 1, nbytes;
        for (size_t d = 0; d < x->ndim; d++)
            if (!lf_mul_ok(count, x->shape[d], &count)) return broken(t, "shape product overflows");
        if (count != x->count || !lf_mul_ok(count, lf_st_dtype_size(x->dtype), &nbytes) ||
            nbytes != x->nbytes)
            return broken(t, "count or nbytes disagree with the shape");
        size_t begin = 8 + (size_t)hlen;
        if (x->nbytes && (x->data != buf + begin + x->offset || x->offset > f->data_len ||
                          x->nbytes > f->data_len - x->offset))
            return broken(t, "tensor data outside the byte buffer");
        for (size_t k = 0; k < x->nbytes; k++) sink += x->data[k]; /* ASan checks */
        if (lf_st_find(f, x->name) != x) return broken(t, "lf_st_find does not find a tensor");
        total += x->nbytes;
    }
    (void)sink;
    if (total != f->data_len) return broken(t, "tensors do not tile the byte buffer");
    for (size_t i = 0; i < lf_st_metadata_count(f); i++) {
        const char *k = lf_st_metadata_key(f, i), *v = lf_st_metadata_value(f, i);
        if (!k || !v || lf_st_metadata(f, k) != v) return broken(t, "metadata accessors disagree");
    }
    return 0;
}

/* Re-writes a file whose tensors are all finite F32 and checks that it
 * reads back with the same tensors and metadata. */
static int st_round_trip(const lf_st_file *f) {
    const char *t = "safetensors";
    size_t n = f->n_tensors, nm = lf_st_metadata_count(f);
    for (size_t i = 0; i < n; i++)
        if (f->tensors[i].dtype != LF_ST_F32) return LF_OK;
    lf_st_out *outs = lf_alloc_array(n ? n : 1, sizeof *outs);
    float **vals = lf_alloc_array(n ? n : 1, sizeof *vals);
    const char **keys = lf_alloc_array(nm ? nm : 1, sizeof *keys);
    const char **mv = lf_alloc_array(nm ? nm : 1, sizeof *mv);
    int r = (outs && vals && keys && mv) ? LF_OK : LF_ERR_NOMEM;
    lf_err e;
    for (size_t i = 0; r == LF_OK && i < n; i++) {
        const lf_st_tensor *x = &f->tensors[i];
        vals[i] = lf_alloc_array(x->count ? x->count : 1, sizeof(float));
        if (!vals[i]) {
            r = LF_ERR_NOMEM;
            break;
        }
        lf_status st = lf_st_tensor_f32(x, vals[i], x->count, &e);
        if (st == LF_ERR_FORMAT) r = -2; /* non-finite: the writer refuses, nothing to check */
        else if (st != LF_OK) r = broken(t, "lf_st_tensor_f32 failed on a valid F32 tensor");
        outs[i].name = x->name;
        outs[i].data = vals[i];
        outs[i].ndim = x->ndim;
        memcpy(outs[i].shape, x->shape, sizeof outs[i].shape);
    }
    for (size_t i = 0; r == LF_OK && i < nm; i++) {
        keys[i] = lf_st_metadata_key(f, i);
        mv[i] = lf_st_metadata_value(f, i);
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    if (r == LF_OK) {
        lf_status st = lf_st_serialize(outs, n, keys, mv, nm, &buf, &len, &e);
        if (st == LF_ERR_NOMEM) r = LF_ERR_NOMEM;
        else if (st != LF_OK) r = broken(t, "a valid file cannot be written back");
    }
    if (r == LF_OK) {
        lf_st_file g;
        lf_status st = lf_st_parse(buf, len, &g, &e);
        if (st == LF_ERR_NOMEM) r = LF_ERR_NOMEM;
        else if (st != LF_OK) r = broken(t, "a written file does not read back");
        else if (g.n_tensors != n || lf_st_metadata_count(&g) != nm) r = broken(t, "round trip changed counts");
        for (size_t i = 0; r == LF_OK && i < n; i++) {
            const lf_st_tensor *a = &f->tensors[i], *b = &g.tensors[i];
            if (strcmp(a->name, b->name) != 0 || b->dtype != LF_ST_F32 || a->ndim != b->ndim ||
                memcmp(a->shape, b->shape, a->ndim * sizeof *a->shape) != 0 ||
                a->nbytes != b->nbytes || (a->nbytes && memcmp(a->data, b->data, a->nbytes) != 0))
                r = broken(t, "round trip changed a tensor");
        }
        for (size_t i = 0; r == LF_OK && i < nm; i++)
            if (strcmp(keys[i], lf_st_metadata_key(&g, i)) != 0 ||
                strcmp(mv[i], lf_st_metadata_value(&g, i)) != 0)
                r = broken(t, "round trip changed the metadata");
        lf_st_free(&g);
    }
    LF_FREE(buf);
    for (size_t i = 0; vals && i < n; i++) LF_FREE(vals[i]);
    LF_FREE(vals);
    LF_FREE(outs);
    LF_FREE((void *)keys);
    LF_FREE((void *)mv);
    return r == -2 ? LF_OK : r;
}

int fz_run_safetensors(const unsigned char *data, size_t len) {
    lf_st_file f;
    lf_err e;
    memset(&f, 0x5a, sizeof f);
    e.msg[0] = 0;
    lf_status st = lf_st_parse(data, len, &f, &e);
    if (!status_valid(st)) return broken("safetensors", "invalid lf_status");
    if (st != LF_OK) {
        int r = st;
        if (!st_empty(&f)) r = broken("safetensors", "failure left the file non-empty");
        else if (!msg_ok(&e)) r = broken("safetensors", "failure without a message");
        lf_st_free(&f);
        return r;
    }
    int r = check_st(&f, data, len) ? FZ_BROKEN : LF_OK;
    for (size_t i = 0; r == LF_OK && i < f.n_tensors; i++) {
        const lf_st_tensor *x = &f.tensors[i];
        float *tmp = lf_alloc_array(x->count ? x->count : 1, sizeof *tmp);
        if (!tmp) {
            r = LF_ERR_NOMEM;
            break;
        }
        lf_status s2 = lf_st_tensor_f32(x, tmp, x->count, &e);
        if (!status_valid(s2) || (s2 != LF_OK && !msg_ok(&e)))
            r = broken("safetensors", "lf_st_tensor_f32 gave no valid status/message");
        else if (s2 == LF_OK && x->dtype != LF_ST_F32 && x->dtype != LF_ST_F64)
            r = broken("safetensors", "lf_st_tensor_f32 converted a dtype it must refuse");
        for (size_t k = 0; r == LF_OK && s2 == LF_OK && k < x->count; k++)
            if (!isfinite(tmp[k])) r = broken("safetensors", "lf_st_tensor_f32 gave a non-finite value");
        LF_FREE(tmp);
    }
    if (r == LF_OK) r = st_round_trip(&f);
    lf_st_free(&f);
    return r;
}

/* --------------------------------------------------------------- model */

/* Predicts FZ_ROWS rows (zeros, ones, minus a half: token ids 2 for an
 * int32 input) into y. */
static lf_status predict_rows(const lf_model *m, float *y) {
    size_t ni = lf_model_num_inputs(m);
    float *x[64] = {0};
    lf_status st = LF_OK;
    for (size_t i = 0; i < ni && st == LF_OK; i++) {
        size_t d = lf_model_input_dim(m, i);
        float third = m->nodes[m->inputs[i]].dtype == LF_DTYPE_INT32 ? 2.0f : -0.5f;
        x[i] = lf_alloc_array(FZ_ROWS * d, sizeof(float));
        if (!x[i]) st = LF_ERR_NOMEM;
        for (size_t k = 0; x[i] && k < d; k++) x[i][d + k] = 1.0f, x[i][2 * d + k] = third;
    }
    if (st == LF_OK) st = lf_model_predict(m, (const float *const *)x, FZ_ROWS, y);
    for (size_t i = 0; i < ni; i++) LF_FREE(x[i]);
    return st;
}

static int has_embedding(const lf_model *m) {
    for (size_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].kind == LF_K_EMBEDDING) return 1;
    return 0;
}

/* One train_on_batch step on the FZ_ROWS rows of predict_rows (int32
 * inputs as int32), targets 0 (a valid target of every loss): the
 * optimizer runs with the file's state, schedule and step count.  Any
 * valid status is allowed (an Embedding refuses id 2 beyond its
 * input_dim; the weights may become non-finite); on success the step
 * count moved by one and the model still predicts. */
static int train_step(lf_model *m, float *y) {
    size_t ni = lf_model_num_inputs(m), D = lf_model_output_dim(m);
    lf_typed_array x[64];
    void *bufs[64] = {0};
    float *t = lf_alloc_array(FZ_ROWS * D, sizeof *t);
    int r = t ? LF_OK : LF_ERR_NOMEM;
    for (size_t i = 0; i < ni && r == LF_OK; i++) {
        size_t d = lf_model_input_dim(m, i);
        int ints = m->nodes[m->inputs[i]].dtype == LF_DTYPE_INT32;
        bufs[i] = lf_alloc_array(FZ_ROWS * d, 4);
        if (!bufs[i]) r = LF_ERR_NOMEM;
        for (size_t k = 0; bufs[i] && k < FZ_ROWS * d; k++) {
            if (ints) ((int32_t *)bufs[i])[k] = (int32_t)(k / d);
            else ((float *)bufs[i])[k] = k < d ? 0.0f : k < 2 * d ? 1.0f : -0.5f;
        }
        x[i].dtype = ints ? LF_DTYPE_INT32 : LF_DTYPE_FLOAT32, x[i].data = bufs[i];
    }
    if (r == LF_OK) {
        memset(t, 0, FZ_ROWS * D * sizeof *t);
        const float *ys[1] = {t};
        uint64_t before = lf_model_iterations(m);
        lf_status st = lf_model_train_on_batch(m, x, ys, FZ_ROWS, NULL, NULL, NULL);
        if (!status_valid(st)) r = broken("model", "invalid lf_status from lf_model_train_on_batch");
        else if (st == LF_OK && lf_model_iterations(m) != before + 1)
            r = broken("model", "a training step did not count");
        else if (st == LF_OK && !status_valid(predict_rows(m, y)))
            r = broken("model", "invalid lf_status from lf_model_predict after a step");
    }
    for (size_t i = 0; i < ni; i++) LF_FREE(bufs[i]);
    LF_FREE(t);
    return r;
}

/* Saves m in memory (as lf_model_save does, without the optimizer state),
 * loads the bytes into a fresh model and predicts with it into y2. */
static int model_round_trip(lf_model *m, float *y2) {
    lf_buf arch;
    lf_buf_init(&arch);
    lf_model_arch_json(m, &arch);
    lf_st_out *outs = NULL;
    char *names = NULL;
    size_t n = 0, len = 0;
    unsigned char *buf = NULL;
    lf_err e;
    int r = arch.failed ? LF_ERR_NOMEM : LF_OK;
    if (r == LF_OK) r = lf_model_tensors(m, "", 0, &outs, &n, &names, &e);
    if (r == LF_OK) {
        const char *keys[1] = {"architecture"}, *vals[1] = {arch.data};
        r = lf_st_serialize(outs, n, keys, vals, 1, &buf, &len, &e);
        LF_FREE(outs);
        LF_FREE(names);
        if (r != LF_OK && r != LF_ERR_NOMEM) r = broken("model", "a loaded model cannot be saved");
    }
    lf_st_file f;
    if (r == LF_OK) {
        r = lf_st_parse(buf, len, &f, &e);
        if (r != LF_OK && r != LF_ERR_NOMEM) r = broken("model", "a saved model is not valid safetensors");
    }
    if (r == LF_OK) {
        lf_model *m2 = NULL;
        r = lf_model_create(&m2, 7);
        if (r == LF_OK) {
            r = lf_model_from_parts(m2, arch.data, arch.len, &f, "", &e);
            if (r == LF_OK) r = predict_rows(m2, y2);
            if (r != LF_OK && r != LF_ERR_NOMEM) {
                fprintf(stderr, "fuzz model: reload: %s\n", e.msg);
                r = broken("model", "a saved model does not load and predict again");
            }
        }
        lf_model_free(m2);
        lf_st_free(&f);
    }
    LF_FREE(buf);
    lf_buf_free(&arch);
    return r;
}

int fz_run_model(const unsigned char *data, size_t len) {
    lf_st_file f;
    lf_err e;
    e.msg[0] = 0;
    lf_status st = lf_st_parse(data, len, &f, &e);
    if (!status_valid(st)) return broken("model", "invalid lf_status from lf_st_parse");
    if (st != LF_OK) {
        lf_st_free(&f);
        return st;
    }
    const char *arch = lf_st_metadata(&f, "architecture");
    if (!arch) {
        lf_st_free(&f);
        return LF_ERR_FORMAT;
    }
    lf_model *m = NULL;
    if (lf_model_create(&m, 1) != LF_OK) {
        lf_st_free(&f);
        return LF_ERR_NOMEM;
    }
    st = lf_model_from_file(m, arch, &f, &e); /* lf_model_load's: the lookups and vectorizers too */
    lf_st_free(&f); /* the model owns copies of everything it keeps */
    int r = st;
    if (!status_valid(st)) {
        r = broken("model", "invalid lf_status from lf_model_from_file");
    } else if (st != LF_OK) {
        if (lf_model_num_nodes(m) != 0 || lf_model_num_params(m) != 0)
            r = broken("model", "a failed load left the model non-empty");
        else if (!msg_ok(&e))
            r = broken("model", "a failed load without a message");
    } else if (m->compiled && lf_model_num_inputs(m) <= 64) {
        size_t row = 0;
        for (size_t i = 0; i < lf_model_num_nodes(m); i++) row += lf_node_dim(m, (int)i);
        size_t D = lf_model_output_dim(m);
        if (row <= FZ_MAX_ROW_FLOATS && D > 0) {
            float *y = lf_alloc_array(FZ_ROWS * D, sizeof *y);
            float *y2 = lf_alloc_array(FZ_ROWS * D, sizeof *y2);
            if (!y || !y2) r = LF_ERR_NOMEM;
            else if ((r = predict_rows(m, y)) == LF_ERR_ARG && has_embedding(m))
                r = LF_OK; /* these rows hold token ids outside its input_dim: refused, rightly */
            else if (r != LF_OK && r != LF_ERR_NOMEM)
                r = broken("model", "a loaded model does not predict");
            else if (r == LF_OK && (r = model_round_trip(m, y2)) == LF_OK &&
                     memcmp(y, y2, FZ_ROWS * D * sizeof *y) != 0)
                r = broken("model", "a saved and reloaded model predicts differently");
            if (r == LF_OK && lf_model_num_outputs(m) == 1) r = train_step(m, y);
            LF_FREE(y);
            LF_FREE(y2);
        }
    }
    lf_model_free(m);
    return r;
}

/* ------------------------------------------------------------- fusion */

/* Fusion models with more than this many inputs per row are loaded but
 * not run. */
#define FZ_MAX_FUSION_FLOATS ((size_t)1 << 16)

/* lf_fusion_load_bytes: a failure leaves an unfitted model and a message
 * naming the file; a success has 1..1024 valid, distinct names, 2 or more
 * classes, temperatures in [0.01, 100], and predicts probability rows for
 * uniform inputs (and the uniform row for a row with every model missing). */
int fz_run_fusion(const unsigned char *data, size_t len) {
    lf_fusion *f = NULL;
    if (lf_fusion_create(&f) != LF_OK) return LF_ERR_NOMEM;
    lf_status st = lf_fusion_load_bytes(f, data, len, "fuzz.lff");
    int r = st;
    size_t M = lf_fusion_num_models(f), C = lf_fusion_num_classes(f);
    if (!status_valid(st)) {
        r = broken("fusion", "invalid lf_status");
    } else if (st != LF_OK) {
        if (M || C) r = broken("fusion", "a failed load left the model fitted");
        else if (!msg_ok(&f->err) || !strstr(f->err.msg, "'fuzz.lff'"))
            r = broken("fusion", "a failed load without a message naming the file");
    } else if (M == 0 || M > 1024 || C < 2) {
        r = broken("fusion", "a loaded model with no models or fewer than 2 classes");
    } else {
        for (size_t k = 0; k < M && r == LF_OK; k++) {
            const char *nm = lf_fusion_model_name(f, k);
            float T = lf_fusion_temperature(f, k);
            if (!nm || !lf_name_valid(nm, strlen(nm))) r = broken("fusion", "a model name outside the name set");
            for (size_t j = 0; j < k && r == LF_OK; j++)
                if (strcmp(nm, lf_fusion_model_name(f, j)) == 0) r = broken("fusion", "a model name twice");
            if (r == LF_OK && !(T >= 0.01f && T <= 100)) r = broken("fusion", "a temperature out of range");
        }
        /* class names: none, or C of them, each a valid one */
        for (size_t c = 0; r == LF_OK && lf_fusion_class_name(f, 0) && c < C; c++) {
            const char *cn = lf_fusion_class_name(f, c);
            if (!cn || lf_class_name_check(cn, strlen(cn), c, NULL, 0))
                r = broken("fusion", "a class name missing or outside the rule");
        }
        size_t MC;
        if (r == LF_OK && lf_mul_ok(M, C, &MC) && MC <= FZ_MAX_FUSION_FLOATS) {
            /* row 0 uniform everywhere, row 1 every model missing */
            float *in = lf_alloc_array(2 * MC, sizeof *in), *out = lf_alloc_array(2 * C, sizeof *out);
            const float **p = lf_alloc_array(M, sizeof *p);
            size_t F = lf_fusion_n_features(f); /* dynamic selection in a feature space: rows of zeros */
            float *feat = F ? LF_CALLOC(2 * F, sizeof *feat) : NULL;
            if (!in || !out || !p || (F && !feat)) r = LF_ERR_NOMEM;
            for (size_t k = 0; r == LF_OK && k < M; k++) {
                for (size_t c = 0; c < C; c++) in[k * 2 * C + c] = 1.0f / (float)C, in[k * 2 * C + C + c] = NAN;
                p[k] = in + k * 2 * C;
            }
            if (r == LF_OK && (st = lf_fusion_predict_features(f, p, 2, feat, F, out, NULL, 0)) != LF_OK) {
                if (st != LF_ERR_NOMEM) r = broken("fusion", "a loaded model does not predict");
            } else if (r == LF_OK) {
                for (size_t i = 0; i < 2 && r == LF_OK; i++) {
                    double s = 0;
                    for (size_t c = 0; c < C; c++) {
                        float v = out[i * C + c];
                        if (!(v >= 0 && v <= 1)) r = broken("fusion", "a fused value outside [0, 1]");
                        s += v;
                    }
                    if (r == LF_OK && !(fabs(s - 1) < 1e-3)) r = broken("fusion", "a fused row that does not sum to 1");
                }
            }
            LF_FREE(in), LF_FREE(out), LF_FREE(p), LF_FREE(feat);
        }
    }
    lf_fusion_free(f);
    return r;
}

/* ---------------------------------------------------------------- cli */

/* The bytes are the arguments, separated by NUL bytes (at most 64; the
 * program name is prepended).  lf_cli_parse must return 0 or the usage exit
 * status with a one-sentence message, and on success give a command. */
int fz_run_cli(const unsigned char *data, size_t len) {
    enum { MAX_ARGS = 64 };
    char *buf = malloc(len + 1);
    if (!buf) return 0;
    memcpy(buf, data, len);
    buf[len] = '\0';
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "latefuse";
    for (size_t i = 0; i <= len && argc <= MAX_ARGS;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    struct cli_opts o;
    char err[256];
    err[0] = '\0';
    int rc = lf_cli_parse(argc, argv, &o, err, sizeof err);
    int broken = 0;
    if (rc != 0 && rc != CLI_EXIT_USAGE) broken = 1, fprintf(stderr, "cli: exit code %d\n", rc);
    if (rc == CLI_EXIT_USAGE && (err[0] == '\0' || strchr(err, '\n')))
        broken = 1, fprintf(stderr, "cli: usage error without a one-line message\n");
    if (rc == 0 && !o.help && !o.version && o.command == CLI_NONE)
        broken = 1, fprintf(stderr, "cli: success without a command\n");
    if (rc == 0 && o.n_models > CLI_MAX_MODELS) broken = 1, fprintf(stderr, "cli: too many models\n");
    free(buf);
    return broken ? FZ_BROKEN : rc;
}

/* --------------------------------------------------------------- image */

int fz_run_image(const unsigned char *data, size_t len) {
    static const size_t sizes[2][2] = {{8, 8}, {3, 5}};
    uint8_t out[8 * 8 * 3];
    char msg[512];
    int first = 0;
    for (int k = 0; k < 2; k++) {
        memset(msg, 'x', sizeof msg);
        lf_status st = lf_image_decode(data, len, sizes[k][0], sizes[k][1], out, msg, sizeof msg);
        if (!status_valid(st)) return broken("image", "invalid lf_status");
        size_t n = strnlen(msg, sizeof msg);
        if (n == sizeof msg) return broken("image", "the message is not NUL-terminated");
        if (st != LF_OK && n == 0) return broken("image", "a failure without a message");
        if (st == LF_OK && n != 0) return broken("image", "a success with a message");
        if (k == 1 && (int)st != first) return broken("image", "the status depends on the output size");
        first = st;
    }
    return first;
}

const fz_target fz_targets[] = {
    {"npy", fz_run_npy},   {"csv", fz_run_csv},     {"json", fz_run_json},
    {"safetensors", fz_run_safetensors}, {"model", fz_run_model}, {"image", fz_run_image},
    {"cli", fz_run_cli}, {"fusion", fz_run_fusion}, {"npz", fz_run_npz},
};
const size_t fz_num_targets = sizeof fz_targets / sizeof fz_targets[0];
