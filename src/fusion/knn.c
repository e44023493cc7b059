/*
 * knn.c — exact k nearest neighbours (knn.h) by an 8-bit filter and exact
 * distances for the few rows it lets through.
 *
 * The first Df values of each row x (in [lo, hi], w = hi - lo; [0, 1] for
 * lf_knn_build) are also kept rounded to x8 = round(255 (x - lo) / w),
 * clamped to 0..255, with the rounding error E_x = ||lo + x8 w / 255 - x||
 * (in double, over those Df values: a value outside [lo, hi] is clamped and
 * its error counted whole); emax is the largest E_x.  A query q gets q8 and
 * E_q the same way.  The distance of the 8-bit vectors, dq = ||q8 - x8|| w
 * / 255, is exact in integers (times w / 255), and by the
 * triangle inequality dq - E_q - E_x <= the distance over the first Df
 * values <= ||q - x||.
 *
 * A value the same in every row (dynamic selection's presence indicators
 * when no fitting row misses that model) is left out of the 8-bit rows:
 * its squared difference to the query is the same for every row, their
 * sum cq is computed in double, and the distance over the other values is
 * at most sqrt(||q - x||^2 - cq) (with 1e-9 relative slack for cq's
 * rounding).  B9's rows: 50 of their 55 values in the filter, 13 groups of
 * 4 bytes instead of 14; a query with a model missing gets cq >= 1 and
 * the filter keeps its strength.
 *
 * A query keeps its K best rows so far by the exact key (knn.h: double,
 * ties to the lower row); the K-th of them, U, bounds from above the K-th
 * distance over all rows.  A row can only be among the final K if
 * ||q - x|| <= U, hence dq <= sqrt(U^2 - cq) + E_q + emax: only the rows that pass this
 * test get their exact key computed and are offered to the K best.  Every
 * row of the final K passes (U only shrinks), so the result is that of the
 * plain scan, bit for bit, whatever the rounding let through; the test is
 * done with 1e-12 relative slack for the rounding of U and the bound.
 *
 * The 8-bit distance: ||q8 - x8||^2 = ||q8||^2 + key, key = cx - 2 q8' . x8
 * with q8' = q8 - 128 (signed bytes) and cx = ||x8||^2 - 256 sum x8 per
 * row, so that unsigned-by-signed byte products accumulated in 32 bits
 * (AVX-512 VNNI's vpdpbusd, 64 a cycle) give it exactly.  A row passes
 * when key <= B, B = floor(t^2) - ||q8||^2 with t the bound above times
 * 255 / w.  The kernel tests instead, with no shift and subtraction after
 * the products (its accumulators start at ch = -ceil(cx / 2) per row),
 *     ch + q8' . x8 >= lim,  lim = -ceil(B / 2),
 * which every row with key <= B passes: key = cx - 2 q8' . x8 <= B gives
 * q8' . x8 >= (cx - B) / 2, so q8' . x8 >= ceil((cx - B) / 2) >=
 * ceil(cx / 2) - ceil(B / 2) (ceil(a + b) <= ceil(a) + ceil(b) with a =
 * cx/2 - B/2, b = B/2).  It lets through more only rows with key = B + 1
 * (cx even, B odd: the key, of cx's parity, is tested against B rounded up
 * to even); the exact key decides those.  The rows are
 * stored 32 at a time, 4 bytes of each row after another: chunk c, group g
 * (bytes 4g..4g+3, zero beyond D), row j of the chunk, byte b at
 * ((c G + g) 32 + j) 4 + b.  A kernel call takes 16 queries against the
 * chunks of a batch, compares each chunk's 512 sums with each query's
 * limit and returns a 32-bit mask per query and chunk: with AMX's int8
 * tile multiply where the CPU has it (tile_amx: 16 x 16 sums an
 * instruction), else with AVX-512 VNNI (tile_vnni: 8 queries by 32 rows at
 * a time, 16 accumulators), else with AVX2 (tile_avx2: 2 queries by 16
 * rows, the bytes widened to 16 bits, as vpmaddwd multiplies them), else
 * in plain loops (tile_portable); the same integers in all four.
 * Queries are taken 16 at a time against blocks of XB rows that stay in
 * the L2 cache, in batches of chunks: the kernel
 * over every chunk of the batch, then the exact keys of the rows that
 * passed, in row order, the bounds updated between batches (one chunk a
 * batch in the first block, where they fall fast; the whole block after,
 * so that the branches on the masks and the rows' fetches are not paid
 * chunk by chunk).
 *
 * A search that starts with no bound pays for it in the first block: on
 * B9's data 81 of a query's 130 exact keys and a fifth of the time were
 * spent there, where a search told its final K-th key from the start
 * needs 18.  So a call over more than one block starts every query's
 * bound at a guess, the GUESS_Q quantile of the K-th keys of the previous
 * call with the same lf_knn_work (dynamic selection's blocks of 1024 rows
 * come from one distribution), and takes every block whole.  A query whose
 * K-th exact key comes out <= the guess g has the plain scan's neighbours:
 * its true K-th key U is no more than that one (the K-th of K rows), so U
 * <= g, and U <= the K-th key found at any time; the limit is the stricter
 * of the bounds of g and of the K-th key found so far, so it let through
 * every row with exact key <= U, and those were offered in row order.  The
 * others (about 1 - GUESS_Q of them: fewer than K rows passed, or the K-th
 * found is above g) are searched again in a second pass, from the K-th key
 * found when there were K (an upper bound of U), else from no bound.  On B9's data: 50 exact
 * keys a query instead of 130, 5 % of the queries searched twice.  The
 * neighbours do not depend on the guess, only the time does.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* syscall(): the kernel's permission to use AMX's tiles */
#endif
#include "fusion/knn.h"

#include <math.h>
#include <string.h>

#define QT 16     /* queries per kernel call */
#define RC 32     /* rows per chunk */
#define XB 4096   /* rows per cache block */
#ifndef GUESS_Q
#define GUESS_Q 0.95 /* the quantile of a call's K-th keys the next call's limits start from */
#endif
#define PAD_KEY (1 << 29) /* key of a padding row (never compared: rows >= n are skipped) */
#define DF_MAX 8192       /* values the filter sees at most: its keys stay within +-2^30 */

/* ceil(v / 2) */
static int32_t half_up(int32_t v) { return v >= 0 ? v / 2 + v % 2 : -(-v / 2); }

/* round(255 (v - lo) / w) clamped to 0..255, and its error lo + v8 w / 255
 * - v added squared to *e2 (lo = 0, w = 1: round(255 v), error v8 / 255 - v) */
static int quantise(float v, double lo, double w, double *e2) {
    double t = ((double)v - lo) / w * 255.0;
    int i = t >= 255.0 ? 255 : t > 0.0 ? (int)(t + 0.5) : 0;
    double e = lo + (double)i * w / 255.0 - (double)v;
    *e2 += e * e;
    return i;
}

lf_status lf_knn_build(lf_knn *ix, const float *rows, size_t n, size_t D, size_t Df) {
    return lf_knn_build_range(ix, rows, n, D, Df, 0.0, 1.0);
}

lf_status lf_knn_build_range(lf_knn *ix, const float *rows, size_t n, size_t D, size_t Df, double lo, double hi) {
    memset(ix, 0, sizeof *ix);
    ix->lo = lo, ix->w = hi > lo ? hi - lo : 1.0;
    Df = Df < D ? Df : D;
    Df = Df < DF_MAX ? Df : DF_MAX;
    ix->n = n, ix->D = D, ix->Df = Df, ix->rows = rows;
    ix->cmap = lf_alloc_array(Df, sizeof *ix->cmap);
    if (!ix->cmap) return LF_ERR_NOMEM;
    size_t Dc = 0; /* the values that vary over the rows get the filter's places 0.. */
    for (size_t d = 0; d < Df; d++) {
        size_t r = 1;
        while (r < n && rows[r * D + d] == rows[d]) r++;
        ix->cmap[d] = n > 0 && r == n ? -1 : (int32_t)Dc++;
    }
    ix->G = (Dc + 3) / 4;
    size_t nc = (n + RC - 1) / RC;
    ix->packed = lf_alloc_array(nc * ix->G, RC * 4);
    ix->ch = lf_alloc_array(nc, RC * sizeof *ix->ch);
    if (!ix->packed || !ix->ch) {
        lf_knn_free(ix);
        return LF_ERR_NOMEM;
    }
    for (size_t r = n; r < nc * RC; r++) ix->ch[r] = -half_up(PAD_KEY);
    double emax = 0;
    for (size_t r = 0; r < n; r++) {
        const float *x = rows + r * D;
        uint8_t *dst = ix->packed + (r / RC) * ix->G * RC * 4 + (r % RC) * 4;
        double e2 = 0;
        int32_t sq = 0, sum = 0;
        for (size_t d = 0; d < Df; d++) {
            int32_t k = ix->cmap[d];
            if (k < 0) continue;
            int v = quantise(x[d], ix->lo, ix->w, &e2);
            dst[(size_t)(k / 4) * RC * 4 + (size_t)(k % 4)] = (uint8_t)v;
            sq += v * v, sum += v;
        }
        ix->ch[r] = -half_up(sq - 256 * sum);
        double e = sqrt(e2);
        if (e > emax) emax = e;
    }
    ix->emax = emax * (1 + 1e-12);
    return LF_OK;
}

void lf_knn_free(lf_knn *ix) {
    LF_FREE(ix->packed), LF_FREE(ix->ch), LF_FREE(ix->cmap);
    ix->packed = NULL, ix->ch = NULL, ix->cmap = NULL;
}

int lf_knn_work_alloc(lf_knn_work *w, const lf_knn *ix, size_t nq_max, size_t K) {
    memset(w, 0, sizeof *w);
    size_t nt = (nq_max + QT - 1) / QT * QT, k = K ? K : 1;
    w->nq_max = nq_max, w->K = K;
    w->q8 = lf_alloc_array(nt, ix->G * 4);
    w->q16 = lf_alloc_array(nt, ix->G * 4 * sizeof *w->q16);
    w->thr = lf_alloc_array(nt, sizeof *w->thr);
    w->eq = lf_alloc_array(nt, sizeof *w->eq);
    w->cq = lf_alloc_array(nt, sizeof *w->cq);
    w->qn = lf_alloc_array(nt, sizeof *w->qn);
    w->bd = lf_alloc_array(nq_max, k * sizeof *w->bd);
    w->bi = lf_alloc_array(nq_max, k * sizeof *w->bi);
    w->cnt = lf_alloc_array(nq_max, sizeof *w->cnt);
    w->id = lf_alloc_array(nq_max, sizeof *w->id);
    w->kth = lf_alloc_array(nq_max, sizeof *w->kth);
    w->start = lf_alloc_array(nq_max, sizeof *w->start);
    w->mk = lf_alloc_array(XB / RC * QT, sizeof *w->mk);
    w->lst = lf_alloc_array(XB / RC * QT * RC, sizeof *w->lst);
    if (w->q8 && w->q16 && w->thr && w->eq && w->cq && w->qn && w->bd && w->bi && w->cnt && w->id && w->kth && w->start && w->mk && w->lst)
        return 1;
    lf_knn_work_free(w);
    return 0;
}

void lf_knn_work_free(lf_knn_work *w) {
    LF_FREE(w->q8), LF_FREE(w->q16), LF_FREE(w->thr), LF_FREE(w->eq), LF_FREE(w->cq), LF_FREE(w->qn), LF_FREE(w->bd), LF_FREE(w->bi),
        LF_FREE(w->cnt), LF_FREE(w->id), LF_FREE(w->kth), LF_FREE(w->start), LF_FREE(w->mk), LF_FREE(w->lst);
    memset(w, 0, sizeof *w);
}

/* Each of the QT queries q8 (QT x 4G signed bytes) against the 32 rows
 * of one chunk: per query the mask of the rows with ch + q8' . x8 >= lim
 * (knn.c's top). */
static void tile_portable1(const uint8_t *xc, const int32_t *ch, const int8_t *q8, size_t G, const int32_t *lim,
                           uint32_t *mask) {
    for (int t = 0; t < QT; t++) {
        const int8_t *q = q8 + (size_t)t * G * 4;
        uint32_t m = 0;
        for (int j = 0; j < RC; j++) {
            int32_t dot = 0;
            for (size_t g = 0; g < G; g++)
                for (int b = 0; b < 4; b++) dot += (int32_t)xc[(g * RC + (size_t)j) * 4 + (size_t)b] * q[g * 4 + (size_t)b];
            m |= (uint32_t)(ch[j] + dot >= lim[t]) << j;
        }
        mask[t] = m;
    }
}

/* tile_portable1 over nch chunks after one another (QT masks a chunk) */
static void tile_portable(const uint8_t *xc, const int32_t *ch, const int8_t *q8, const int16_t *q16, size_t G,
                          const int32_t *lim, uint32_t *mask, size_t nch) {
    (void)q16;
    for (size_t c = 0; c < nch; c++) tile_portable1(xc + c * G * RC * 4, ch + c * RC, q8, G, lim, mask + c * QT);
}

/* A row that passed, in a batch's list: its chunk in the batch (< XB /
 * RC), the query's place in the tile (< QT) and the row in the chunk (<
 * RC), as chunk << 9 | query << 5 | row. */
static inline uint32_t entry(uint32_t c, uint32_t t, uint32_t j) { return c << 9 | t << 5 | j; }
static inline size_t entry_chunk(uint32_t e) { return e >> 9; }
static inline size_t entry_query(uint32_t e) { return e >> 5 & (QT - 1); }
static inline size_t entry_row(uint32_t e) { return e & (RC - 1); }

/* The rows that passed in nch chunks' masks (QT a chunk) into lst (entry()),
 * in chunk order (rows in order for each query); returns how many. */
static uint32_t passed_portable(const uint32_t *mk, size_t nch, uint32_t *lst) {
    uint32_t nl = 0;
    for (uint32_t c = 0; c < nch; c++)
        for (uint32_t t = 0; t < QT; t++)
            for (uint32_t m = mk[c * QT + t]; m; m &= m - 1) lst[nl++] = entry(c, t, (uint32_t)__builtin_ctz(m));
    return nl;
}

/* the exact key of knn.h: eight partial sums, so that the additions do not
 * wait for each other */
static double exact(const float *q, const float *x, size_t D) {
    double p[8] = {0};
    size_t d = 0;
    for (; d + 8 <= D; d += 8)
        for (size_t j = 0; j < 8; j++) {
            double t = (double)q[d + j] - (double)x[d + j];
            p[j] += t * t;
        }
    for (size_t j = 0; d + j < D; j++) {
        double t = (double)q[d + j] - (double)x[d + j];
        p[j] += t * t;
    }
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(LF_NO_SIMD)
#include <immintrin.h>
#define HAVE_X86_KERNELS 1

/* acc + the byte products of x (unsigned) and b (signed), 4 to a lane; as
 * inline assembly because GCC 12 copies the accumulator around each
 * _mm512_dpbusd_epi32 (twice the instructions) */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static inline __m512i dpbusd(__m512i acc, __m512i x,
                                                                                     __m512i b) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(b));
    return acc;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void
tile_vnni1(const uint8_t *xc, const int32_t *ch, const int8_t *q8, size_t G, const int32_t *lim, uint32_t *mask) {
    __m512i a0 = _mm512_loadu_si512(ch), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m512i b0 = _mm512_loadu_si512(ch + 16), b1 = b0, b2 = b0, b3 = b0, b4 = b0, b5 = b0, b6 = b0, b7 = b0;
    size_t ld = G * 4;
    for (size_t g = 0; g < G; g++) {
        __m512i x0 = _mm512_loadu_si512(xc + g * RC * 4), x1 = _mm512_loadu_si512(xc + g * RC * 4 + 64);
        const int8_t *q = q8 + g * 4;
        int32_t v;
#define STEP(t, A, B)                                                                                          \
    memcpy(&v, q + (t) * ld, 4);                                                                               \
    A = dpbusd(A, x0, _mm512_set1_epi32(v));                                                      \
    B = dpbusd(B, x1, _mm512_set1_epi32(v));
        STEP(0, a0, b0) STEP(1, a1, b1) STEP(2, a2, b2) STEP(3, a3, b3)
        STEP(4, a4, b4) STEP(5, a5, b5) STEP(6, a6, b6) STEP(7, a7, b7)
#undef STEP
    }
#define OUT(t, A, B)                                                                                           \
    {                                                                                                          \
        __m512i l = _mm512_set1_epi32(lim[t]);                                                                 \
        _store_mask32((__mmask32 *)(mask + (t)),                                                               \
                      _mm512_kunpackw(_mm512_cmpge_epi32_mask(B, l), _mm512_cmpge_epi32_mask(A, l)));          \
    }
    OUT(0, a0, b0) OUT(1, a1, b1) OUT(2, a2, b2) OUT(3, a3, b3)
    OUT(4, a4, b4) OUT(5, a5, b5) OUT(6, a6, b6) OUT(7, a7, b7)
#undef OUT
}

/* tile_vnni1 over nch chunks after one another, for the two halves of the
 * QT queries (QT masks a chunk) */
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void
tile_vnni(const uint8_t *xc, const int32_t *ch, const int8_t *q8, const int16_t *q16, size_t G, const int32_t *lim,
          uint32_t *mask, size_t nch) {
    (void)q16;
    for (size_t c = 0; c < nch; c++)
        for (size_t h = 0; h < QT; h += 8)
            tile_vnni1(xc + c * G * RC * 4, ch + c * RC, q8 + h * G * 4, G, lim + h, mask + c * QT + h);
}

/* passed_portable with a chunk's QT masks tested at once: most are 0 */
__attribute__((target("avx512f"))) static uint32_t passed_avx512(const uint32_t *mk, size_t nch, uint32_t *lst) {
    uint32_t nl = 0;
    for (uint32_t c = 0; c < nch; c++) {
        __m512i v = _mm512_loadu_si512(mk + c * QT);
        for (uint32_t lanes = _mm512_test_epi32_mask(v, v); lanes; lanes &= lanes - 1) {
            uint32_t t = (uint32_t)__builtin_ctz(lanes);
            for (uint32_t m = mk[c * QT + t]; m; m &= m - 1) lst[nl++] = entry(c, t, (uint32_t)__builtin_ctz(m));
        }
    }
    return nl;
}

/* exact() with the eight partial sums in one register: the same additions
 * (the lanes past D add 0) */
__attribute__((target("avx512f,avx512vl"))) static double exact_avx512(const float *q, const float *x, size_t D) {
    __m512d p = _mm512_setzero_pd();
    for (size_t d = 0; d < D; d += 8) {
        __mmask8 m = D - d >= 8 ? 0xff : (__mmask8)((1u << (D - d)) - 1);
        __m512d t = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, q + d)),
                                  _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + d)));
        p = _mm512_add_pd(p, _mm512_mul_pd(t, t));
    }
    double v[8];
    _mm512_storeu_pd(v, p);
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* One query's mask of 16 rows from tile_avx2's sums: s0..s3 hold 4 rows
 * each, a row's sum in two lanes after another (vpmaddwd adds 2 of its 4
 * products); ch: the rows' accumulators' start (knn.c's top). */
__attribute__((target("avx2"))) static inline uint32_t mask16_avx2(__m256i s0, __m256i s1, __m256i s2, __m256i s3,
                                                                   const int32_t *ch, int32_t lim) {
    /* hadd: rows 0 1 4 5 | 2 3 6 7; the permute puts them in order */
    __m256i r0 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(s0, s1), 0xD8),
            r1 = _mm256_permute4x64_epi64(_mm256_hadd_epi32(s2, s3), 0xD8);
    r0 = _mm256_add_epi32(r0, _mm256_loadu_si256((const __m256i *)ch));
    r1 = _mm256_add_epi32(r1, _mm256_loadu_si256((const __m256i *)(ch + 8)));
    __m256i l = _mm256_set1_epi32(lim); /* sum >= lim: not lim > sum */
    uint32_t below = (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(l, r0))) |
                     (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(l, r1))) << 8;
    return ~below & 0xffff;
}

/* tile_portable with AVX2: per chunk, each half of 16 rows against the
 * queries two at a time (8 accumulators, 4 registers of rows, 2 of query
 * values).  A group's 4 bytes of each row are widened to 16 bits, as are
 * the query's (q16, filled with q8), and vpmaddwd adds each 2 products in
 * 32 bits, exactly (|255 * 128 * 2| < 2^31). */
__attribute__((target("avx2"))) static void tile_avx2(const uint8_t *xc, const int32_t *ch, const int8_t *q8,
                                                      const int16_t *q16, size_t G, const int32_t *lim,
                                                      uint32_t *mask, size_t nch) {
    (void)q8;
    for (size_t c = 0; c < nch; c++) {
        const uint8_t *x = xc + c * G * RC * 4;
        for (size_t t = 0; t < QT; t++) mask[c * QT + t] = 0;
        for (size_t h = 0; h < RC; h += 16)
            for (size_t t = 0; t < QT; t += 2) {
                __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                const int16_t *qa = q16 + t * G * 4, *qb = qa + G * 4;
                for (size_t g = 0; g < G; g++) {
                    const uint8_t *xg = x + (g * RC + h) * 4;
                    __m256i x0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)xg)),
                            x1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(xg + 16))),
                            x2 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(xg + 32))),
                            x3 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(xg + 48)));
                    int64_t va, vb;
                    memcpy(&va, qa + g * 4, 8), memcpy(&vb, qb + g * 4, 8);
                    __m256i wa = _mm256_set1_epi64x(va), wb = _mm256_set1_epi64x(vb);
                    /* the product first: GCC 12 then keeps the accumulators in registers */
                    a0 = _mm256_add_epi32(_mm256_madd_epi16(x0, wa), a0);
                    b0 = _mm256_add_epi32(_mm256_madd_epi16(x0, wb), b0);
                    a1 = _mm256_add_epi32(_mm256_madd_epi16(x1, wa), a1);
                    b1 = _mm256_add_epi32(_mm256_madd_epi16(x1, wb), b1);
                    a2 = _mm256_add_epi32(_mm256_madd_epi16(x2, wa), a2);
                    b2 = _mm256_add_epi32(_mm256_madd_epi16(x2, wb), b2);
                    a3 = _mm256_add_epi32(_mm256_madd_epi16(x3, wa), a3);
                    b3 = _mm256_add_epi32(_mm256_madd_epi16(x3, wb), b3);
                }
                const int32_t *cc = ch + c * RC + h;
                mask[c * QT + t] |= mask16_avx2(a0, a1, a2, a3, cc, lim[t]) << h;
                mask[c * QT + t + 1] |= mask16_avx2(b0, b1, b2, b3, cc, lim[t + 1]) << h;
            }
    }
}

/* exact() with its eight partial sums in two registers: the same additions */
__attribute__((target("avx2"))) static double exact_avx2(const float *q, const float *x, size_t D) {
    __m256d p0 = _mm256_setzero_pd(), p1 = p0;
    size_t d = 0;
    for (; d + 8 <= D; d += 8) {
        __m256d t0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(q + d)), _mm256_cvtps_pd(_mm_loadu_ps(x + d))),
                t1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(q + d + 4)), _mm256_cvtps_pd(_mm_loadu_ps(x + d + 4)));
        p0 = _mm256_add_pd(p0, _mm256_mul_pd(t0, t0)), p1 = _mm256_add_pd(p1, _mm256_mul_pd(t1, t1));
    }
    double p[8];
    _mm256_storeu_pd(p, p0), _mm256_storeu_pd(p + 4, p1);
    for (size_t j = 0; d + j < D; j++) {
        double t = (double)q[d + j] - (double)x[d + j];
        p[j] += t * t;
    }
    return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
}

static int has_vnni(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}

#if defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#define HAVE_AMX_KERNEL 1

/* The same masks as tile_vnni by AMX's tile multiply, tdpbsud: C += A B
 * with A signed and B unsigned bytes, 4 products to an int32, as
 * vpdpbusd with the operands swapped (the same integers).  A = the QT
 * queries' bytes of 16 groups (QT rows of 64 bytes; fewer groups when G <
 * 16), B = the same groups of 16 rows of a chunk (row k of B: group k's 4
 * bytes of each of the 16 rows, which is the chunk's own layout with a
 * stride of RC * 4 bytes), C = QT x 16 sums.  Over more than 16 groups,
 * slices of 16; the last one ends at group G, and the queries' bytes of
 * the groups it shares with the slice before are zeroed in its A (alast),
 * so each group counts once.  Tiles: 0 A (7 the last slice's A), 1-2 B
 * for a chunk's two halves of 16 rows, 3-4 C for even chunks and 5-6 for
 * odd ones, so that a chunk's multiply does not wait for the store of the
 * chunk before; each chunk's sums are compared (+ ch >= lim) while the
 * next chunk's multiply runs. */
typedef struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_config;

#define AMX_MULTIPLY(CL, CH)                                                                                   \
    _tile_zero(CL);                                                                                            \
    _tile_zero(CH);                                                                                            \
    for (size_t s = 0; s < ns; s++) {                                                                          \
        const uint8_t *xs = x + (s + 1 < ns ? s * 16 : G - gs) * RC * 4;                                        \
        if (ns > 2 && s + 1 < ns) _tile_loadd(0, q8 + s * 64, ld);                                             \
        _tile_loadd(1, xs, RC * 4);                                                                            \
        _tile_loadd(2, xs + 64, RC * 4);                                                                       \
        if (s + 1 < ns) {                                                                                      \
            _tile_dpbsud(CL, 0, 1);                                                                            \
            _tile_dpbsud(CH, 0, 2);                                                                            \
        } else {                                                                                               \
            _tile_dpbsud(CL, 7, 1);                                                                            \
            _tile_dpbsud(CH, 7, 2);                                                                            \
        }                                                                                                      \
    }

__attribute__((target("amx-tile,amx-int8,avx512f,avx512bw"))) static void
tile_amx(const uint8_t *xc, const int32_t *ch, const int8_t *q8, const int16_t *q16, size_t G, const int32_t *lim,
         uint32_t *mask, size_t nch) {
    (void)q16;
    size_t gs = G < 16 ? G : 16, ns = (G + 15) / 16, ld = G * 4;
    amx_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    cfg.rows[0] = cfg.rows[7] = QT, cfg.colsb[0] = cfg.colsb[7] = (uint16_t)(gs * 4);
    cfg.rows[1] = cfg.rows[2] = (uint8_t)gs, cfg.colsb[1] = cfg.colsb[2] = 64;
    for (int i = 3; i <= 6; i++) cfg.rows[i] = QT, cfg.colsb[i] = 64;
    _tile_loadconfig(&cfg);
    int8_t alast[QT * 64]; /* the last slice: groups G - gs .. G - 1, those of the slice before zeroed */
    size_t shared = (ns - 1) * 16 - (G - gs);
    for (size_t t = 0; t < QT; t++) {
        memset(alast + t * gs * 4, 0, shared * 4);
        memcpy(alast + t * gs * 4 + shared * 4, q8 + t * ld + (ns - 1) * 64, (gs - shared) * 4);
    }
    _tile_loadd(7, alast, gs * 4);
    if (ns == 2) _tile_loadd(0, q8, ld);
    int32_t out[2][2][QT * 16]; /* [chunk parity][half] */
    for (size_t c = 0; c <= nch; c++) {
        const uint8_t *x = xc + c * G * RC * 4;
        if (c < nch && !(c & 1)) {
            AMX_MULTIPLY(3, 4)
        } else if (c < nch) {
            AMX_MULTIPLY(5, 6)
        }
        if (c > 0) { /* the chunk before: its sums, stored last time */
            size_t pc = c - 1;
            int32_t(*po)[QT * 16] = out[pc & 1];
            __m512i c0 = _mm512_loadu_si512(ch + pc * RC), c1 = _mm512_loadu_si512(ch + pc * RC + 16);
            for (size_t t = 0; t < QT; t++) {
                __m512i l = _mm512_set1_epi32(lim[t]);
                __mmask16 lo = _mm512_cmpge_epi32_mask(_mm512_add_epi32(c0, _mm512_loadu_si512(po[0] + t * 16)), l),
                          hi = _mm512_cmpge_epi32_mask(_mm512_add_epi32(c1, _mm512_loadu_si512(po[1] + t * 16)), l);
                mask[pc * QT + t] = (uint32_t)lo | (uint32_t)hi << 16;
            }
        }
        if (c < nch && !(c & 1)) {
            _tile_stored(3, out[0][0], 64);
            _tile_stored(4, out[0][1], 64);
        } else if (c < nch) {
            _tile_stored(5, out[1][0], 64);
            _tile_stored(6, out[1][1], 64);
        }
    }
    _tile_release();
}
#undef AMX_MULTIPLY

/* The CPU has AMX's int8 tiles and the kernel lets this process use them
 * (Linux asks each process to request them: the request is idempotent). */
static int has_amx(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d >> 24 & 1) || !(d >> 25 & 1)) return 0;
    return syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
}
#endif
#endif

typedef void (*tile_fn)(const uint8_t *, const int32_t *, const int8_t *, const int16_t *, size_t, const int32_t *,
                        uint32_t *, size_t);
typedef double (*exact_fn)(const float *, const float *, size_t);
typedef uint32_t (*passed_fn)(const uint32_t *, size_t, uint32_t *);
typedef struct kernels { /* the functions a search uses: portable, or for the CPU's AVX-512 */
    tile_fn tile;
    exact_fn ex;
    passed_fn passed;
} kernels;

/* the key bound of a query whose K-th best exact key so far is bd, cq its
 * squared distance over the values the filter leaves out for being the
 * same in every row: the distance over the others is at most sqrt(bd -
 * cq) (NaN passes on) */
static int32_t bound(double bd, double cq, double eq, double emax, double w, int32_t qn) {
    double u2 = bd * ((1 + 1e-12) * (1 + 1e-12)) - cq * (1 - 1e-9), u = u2 > 0 ? sqrt(u2) : u2 <= 0 ? 0.0 : u2;
    double t = 255.0 * (u * (1 + 1e-12) + eq + emax) / w * (1 + 1e-12) + 1e-9;
    double l = floor(-0.5 * (floor(t * t) - (double)qn)); /* -ceil(b / 2), b the key bound */
    return l > (double)INT32_MIN ? (int32_t)l : INT32_MIN; /* NaN: every row passes */
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One pass over the rows for the m queries id[0..m) (slot s is query
 * id[s]), each starting from the limit of a K-th key start[s] (known to be
 * at least the true one, or a guess; 0: none), into the slots' K best
 * (w->bd, w->bi, w->cnt). */
static void search_pass(const lf_knn *ix, const float *q, const size_t *id, size_t m, size_t K, const size_t *excl,
                        lf_knn_work *w, const double *start, const kernels *kn) {
    tile_fn tile = kn->tile;
    exact_fn ex = kn->ex;
    passed_fn passed = kn->passed;
    int cold = 0; /* some query starts with no limit */
    size_t D = ix->D, G = ix->G, n = ix->n, nchunks = (n + RC - 1) / RC, ntiles = (m + QT - 1) / QT;
    for (size_t i = 0; i < ntiles * QT; i++) {
        int8_t *q8 = w->q8 + i * G * 4;
        int16_t *q16 = w->q16 + i * G * 4;
        memset(q8, -128, G * 4); /* 0 after the shift by 128 */
        for (size_t j = 0; j < G * 4; j++) q16[j] = -128;
        w->thr[i] = INT32_MAX;   /* a padding query: no row passes */
        if (i >= m) continue;
        const float *qi = q + id[i] * D;
        double e2 = 0, c2 = 0;
        int32_t sq = 0;
        for (size_t d = 0; d < ix->Df; d++) {
            int32_t k = ix->cmap[d];
            if (k < 0) { /* the same in every row: apart, exactly */
                double t = (double)qi[d] - (double)ix->rows[d];
                c2 += t * t;
                continue;
            }
            int v = quantise(qi[d], ix->lo, ix->w, &e2);
            q8[k] = (int8_t)(v - 128), q16[k] = (int16_t)(v - 128);
            sq += v * v;
        }
        w->eq[i] = sqrt(e2) * (1 + 1e-12), w->cq[i] = c2, w->qn[i] = sq, w->cnt[i] = 0;
        w->thr[i] = !K ? INT32_MAX : start[i] > 0 ? bound(start[i], c2, w->eq[i], ix->emax, ix->w, sq) : INT32_MIN;
        cold |= K && !(start[i] > 0);
    }
    /* Each tile meets the rows of a block in batches of chunks: the
     * kernel over the batch's chunks, then the rows that passed (in row
     * order, their rows fetched meanwhile) get their exact keys.  The
     * bounds are updated between batches: a batch of one chunk in the
     * first block, where they fall fast (unless they start from a guess),
     * the whole block after. */
    uint32_t *mk = w->mk, *lst = w->lst;
    for (size_t c0 = 0; c0 < nchunks; c0 += XB / RC) {
        size_t c1 = nchunks - c0 < XB / RC ? nchunks : c0 + XB / RC, sb = c0 || !cold ? XB / RC : 1;
        for (size_t T = 0; T < ntiles; T++) {
            int32_t *thr = w->thr + T * QT;
            const int8_t *q8 = w->q8 + T * QT * G * 4;
            const int16_t *q16 = w->q16 + T * QT * G * 4;
            for (size_t cb = c0; cb < c1; cb += sb) {
                size_t ce = c1 - cb < sb ? c1 : cb + sb;
                tile(ix->packed + cb * G * RC * 4, ix->ch + cb * RC, q8, q16, G, thr, mk, ce - cb);
                uint32_t nl = passed(mk, ce - cb, lst); /* entry(c - cb, t, j) */
                if (nl && (excl || ce == nchunks)) { /* rows left out, rows past n */
                    uint32_t k = 0;
                    for (uint32_t h = 0; h < nl; h++) {
                        size_t r = (cb + entry_chunk(lst[h])) * RC + entry_row(lst[h]);
                        lst[k] = lst[h];
                        k += !(r >= n || (excl && excl[id[T * QT + entry_query(lst[h])]] == r));
                    }
                    nl = k;
                }
                w->exact += nl;
                for (uint32_t h = 0; h < nl; h++)
                    for (size_t b = 0; b < D * sizeof(float); b += 64)
                        __builtin_prefetch((const char *)(ix->rows + ((cb + entry_chunk(lst[h])) * RC + entry_row(lst[h])) * D) + b);
                for (uint32_t h = 0; h < nl; h++) {
                    uint32_t e = lst[h];
                    size_t t = entry_query(e), sl = T * QT + t, r = (cb + entry_chunk(e)) * RC + entry_row(e);
                    double v = ex(q + id[sl] * D, ix->rows + r * D, D);
                    double *bd = w->bd + sl * K;
                    size_t *bi = w->bi + sl * K, pos = w->cnt[sl];
                    if (pos == K) {
                        if (!(v < bd[K - 1])) continue;
                        pos = K - 1;
                    } else {
                        w->cnt[sl]++;
                    }
                    while (pos > 0 && bd[pos - 1] > v) bd[pos] = bd[pos - 1], bi[pos] = bi[pos - 1], pos--;
                    bd[pos] = v, bi[pos] = r;
                    if (w->cnt[sl] == K) { /* never looser than a start from a guess */
                        int32_t l = bound(bd[K - 1], w->cq[sl], w->eq[sl], ix->emax, ix->w, w->qn[sl]);
                        thr[t] = l > thr[t] ? l : thr[t];
                    }
                }
            }
        }
    }
}

void lf_knn_search(const lf_knn *ix, const float *q, size_t nq, size_t K, const size_t *excl, size_t *nb,
                   size_t *cnt, lf_knn_work *w, lf_knn_kernel kernel) {
    kernels kn = {tile_portable, exact, passed_portable};
#ifdef HAVE_X86_KERNELS
    if (kernel != LF_KNN_PORTABLE && __builtin_cpu_supports("avx2")) kn.tile = tile_avx2, kn.ex = exact_avx2;
    if ((kernel == LF_KNN_BEST || kernel == LF_KNN_VNNI) && has_vnni()) kn.tile = tile_vnni;
#ifdef HAVE_AMX_KERNEL
    if (kernel == LF_KNN_BEST && kn.tile == tile_vnni && ix->G > 0 && has_amx()) kn.tile = tile_amx; /* G 0: no tile */
#endif
    if ((kernel == LF_KNN_BEST || kernel == LF_KNN_VNNI) && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl"))
        kn.ex = exact_avx512, kn.passed = passed_avx512;
#else
    (void)kernel;
#endif
    /* With a guess of the K-th key from the previous call (only over more
     * than one block of rows: few rows are cheap to scan), the first pass
     * starts every query's limit there.  A query whose K-th key comes out
     * <= the guess is exact (knn.c's top); the others are searched again,
     * from the K-th key they found if they found K rows. */
    double guess = K && ix->n > XB ? w->guess : 0, *start = w->start, *kth = w->kth;
    size_t *id = w->id, nf = 0;
    for (size_t i = 0; i < nq; i++) id[i] = i, start[i] = guess;
    search_pass(ix, q, id, nq, K, excl, w, start, &kn);
    for (size_t s = 0; s < nq; s++) {
        kth[s] = K && w->cnt[s] == K ? w->bd[s * K + K - 1] : NAN;
        if (guess > 0 && !(kth[s] <= guess)) { /* again, from the K-th key found if K were */
            start[nf] = kth[s] > 0 ? kth[s] : 0, id[nf++] = s; /* slot s is query s in the first pass */
            continue;
        }
        cnt[s] = w->cnt[s];
        memcpy(nb + s * K, w->bi + s * K, w->cnt[s] * sizeof *nb);
    }
    w->failed += nf;
    if (nf) search_pass(ix, q, id, nf, K, excl, w, start, &kn);
    for (size_t s = 0; s < nf; s++) {
        size_t i = id[s];
        cnt[i] = w->cnt[s];
        memcpy(nb + i * K, w->bi + s * K, w->cnt[s] * sizeof *nb);
        kth[i] = K && w->cnt[s] == K ? w->bd[s * K + K - 1] : NAN;
    }
    /* the next call's guess: the GUESS_Q quantile of this call's K-th keys */
    if (!K || ix->n <= XB) return;
    size_t m = 0;
    for (size_t i = 0; i < nq; i++)
        if (isfinite(kth[i])) kth[m++] = kth[i];
    w->guess = 0;
    if (m > 0) {
        qsort(kth, m, sizeof *kth, cmp_double);
        w->guess = kth[(size_t)((double)(m - 1) * GUESS_Q)];
    }
}
