/*
 * machine.c — the machine's own limits, measured in the same run as the
 * benchmarks so that every ratio in the report is against this machine:
 *
 *   peak FLOP/s   independent FMA chains held in registers (no memory
 *                 traffic), on one thread and on every core at once; AVX2+FMA
 *                 and AVX-512F kernels are chosen at run time with
 *                 __builtin_cpu_supports, a plain C kernel otherwise.
 *   bandwidth     a streaming copy of a buffer much larger than the caches
 *                 (memcpy, and an explicit load/store loop on one thread and
 *                 on every core), counting read + write bytes; plus a
 *                 streaming read (sum).
 *
 * Every figure is the best of several repetitions (as STREAM reports it):
 * a limit is what the machine can reach, not what it reaches on average.
 *
 * Usage: machine [copy_mib]      (default 512 MiB per buffer)
 * Output: "RESULT <key> <value>" lines read by bench/report.py.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86 1
#include <immintrin.h>
#else
#define HAVE_X86 0
#endif

#define REPS 5
#define MAX_THREADS 256

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------------ FMA kernels */
/*
 * Each kernel runs `iters` iterations of NCH independent FMA chains
 * acc_k = acc_k * m + a (m slightly below 1, so values stay finite) and
 * returns the flops done (2 per lane per FMA).  The accumulators are summed
 * and returned through *sink so the compiler cannot drop the work.
 * 12 chains cover FMA latency x pipes (4 x 2 on current x86 cores).
 */
#define NCH 12

static double fma_plain(uint64_t iters, float *sink) {
    float acc[NCH];
    for (int k = 0; k < NCH; k++) acc[k] = 1.0f + 0.01f * (float)k;
    const float m = 0.999999f, a = 1e-7f;
    for (uint64_t i = 0; i < iters; i++)
        for (int k = 0; k < NCH; k++) acc[k] = acc[k] * m + a;
    float s = 0;
    for (int k = 0; k < NCH; k++) s += acc[k];
    *sink = s;
    return 2.0 * NCH * (double)iters;
}

#if HAVE_X86
__attribute__((target("avx2,fma"))) static double fma_avx2(uint64_t iters, float *sink) {
    __m256 acc[NCH];
    for (int k = 0; k < NCH; k++) acc[k] = _mm256_set1_ps(1.0f + 0.01f * (float)k);
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    for (uint64_t i = 0; i < iters; i++) {
        acc[0] = _mm256_fmadd_ps(acc[0], m, a);
        acc[1] = _mm256_fmadd_ps(acc[1], m, a);
        acc[2] = _mm256_fmadd_ps(acc[2], m, a);
        acc[3] = _mm256_fmadd_ps(acc[3], m, a);
        acc[4] = _mm256_fmadd_ps(acc[4], m, a);
        acc[5] = _mm256_fmadd_ps(acc[5], m, a);
        acc[6] = _mm256_fmadd_ps(acc[6], m, a);
        acc[7] = _mm256_fmadd_ps(acc[7], m, a);
        acc[8] = _mm256_fmadd_ps(acc[8], m, a);
        acc[9] = _mm256_fmadd_ps(acc[9], m, a);
        acc[10] = _mm256_fmadd_ps(acc[10], m, a);
        acc[11] = _mm256_fmadd_ps(acc[11], m, a);
    }
    __m256 s = acc[0];
    for (int k = 1; k < NCH; k++) s = _mm256_add_ps(s, acc[k]);
    float out[8];
    _mm256_storeu_ps(out, s);
    *sink = out[0] + out[7];
    return 2.0 * 8 * NCH * (double)iters;
}

__attribute__((target("avx512f"))) static double fma_avx512(uint64_t iters, float *sink) {
    __m512 acc[NCH];
    for (int k = 0; k < NCH; k++) acc[k] = _mm512_set1_ps(1.0f + 0.01f * (float)k);
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (uint64_t i = 0; i < iters; i++) {
        acc[0] = _mm512_fmadd_ps(acc[0], m, a);
        acc[1] = _mm512_fmadd_ps(acc[1], m, a);
        acc[2] = _mm512_fmadd_ps(acc[2], m, a);
        acc[3] = _mm512_fmadd_ps(acc[3], m, a);
        acc[4] = _mm512_fmadd_ps(acc[4], m, a);
        acc[5] = _mm512_fmadd_ps(acc[5], m, a);
        acc[6] = _mm512_fmadd_ps(acc[6], m, a);
        acc[7] = _mm512_fmadd_ps(acc[7], m, a);
        acc[8] = _mm512_fmadd_ps(acc[8], m, a);
        acc[9] = _mm512_fmadd_ps(acc[9], m, a);
        acc[10] = _mm512_fmadd_ps(acc[10], m, a);
        acc[11] = _mm512_fmadd_ps(acc[11], m, a);
    }
    __m512 s = acc[0];
    for (int k = 1; k < NCH; k++) s = _mm512_add_ps(s, acc[k]);
    float out[16];
    _mm512_storeu_ps(out, s);
    *sink = out[0] + out[15];
    return 2.0 * 16 * NCH * (double)iters;
}
#endif

typedef double (*fma_fn)(uint64_t, float *);

/* --------------------------------------------------------- copy kernels */

static void copy_loop_plain(float *restrict dst, const float *restrict src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

#if HAVE_X86
/* explicit vector loads/stores, so no compiler turns the loop into memcpy */
__attribute__((target("avx2"))) static void copy_loop_avx2(float *restrict dst,
                                                            const float *restrict src, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a = _mm256_loadu_ps(src + i), b = _mm256_loadu_ps(src + i + 8);
        __m256 c = _mm256_loadu_ps(src + i + 16), d = _mm256_loadu_ps(src + i + 24);
        _mm256_storeu_ps(dst + i, a);
        _mm256_storeu_ps(dst + i + 8, b);
        _mm256_storeu_ps(dst + i + 16, c);
        _mm256_storeu_ps(dst + i + 24, d);
    }
    for (; i < n; i++) dst[i] = src[i];
}

__attribute__((target("avx2"))) static float sum_avx2(const float *src, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(src + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(src + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(src + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(src + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    float s = 0;
    for (int k = 0; k < 8; k++) s += out[k];
    for (; i < n; i++) s += src[i];
    return s;
}
#endif

static float sum_plain(const float *src, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += src[i];
        s1 += src[i + 1];
        s2 += src[i + 2];
        s3 += src[i + 3];
    }
    for (; i < n; i++) s0 += src[i];
    return (s0 + s1) + (s2 + s3);
}

/* ------------------------------------------------------------- threads */

enum job_kind { JOB_FMA, JOB_COPY, JOB_SUM };

typedef struct job {
    enum job_kind kind;
    fma_fn fma;
    uint64_t iters;
    double flops;
    float sink;
    int vec;                  /* copy/sum: use the AVX2 loop */
    float *dst;
    const float *src;
    size_t n;
    pthread_barrier_t *start; /* all threads start together */
} job;

static void run_job(job *j) {
    switch (j->kind) {
    case JOB_FMA: j->flops = j->fma(j->iters, &j->sink); break;
    case JOB_COPY:
#if HAVE_X86
        if (j->vec) {
            copy_loop_avx2(j->dst, j->src, j->n);
            break;
        }
#endif
        copy_loop_plain(j->dst, j->src, j->n);
        break;
    case JOB_SUM:
#if HAVE_X86
        if (j->vec) {
            j->sink = sum_avx2(j->src, j->n);
            break;
        }
#endif
        j->sink = sum_plain(j->src, j->n);
        break;
    }
}

static void *thread_main(void *arg) {
    job *j = arg;
    pthread_barrier_wait(j->start);
    run_job(j);
    return NULL;
}

/* Runs jobs[0..nt) on nt threads (the caller runs jobs[0]); returns the
 * wall time from the common start to the last finish. */
static double run_parallel(job *jobs, int nt) {
    pthread_t tid[MAX_THREADS];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)nt);
    int started = 1;
    for (int t = 1; t < nt; t++) {
        jobs[t].start = &bar;
        if (pthread_create(&tid[t], NULL, thread_main, &jobs[t]) != 0) break;
        started++;
    }
    if (started != nt) { /* could not start every thread: release them, report failure */
        fprintf(stderr, "machine: could not start %d threads\n", nt);
        exit(1);
    }
    pthread_barrier_wait(&bar);
    double t0 = now_s();
    run_job(&jobs[0]);
    for (int t = 1; t < nt; t++) pthread_join(tid[t], NULL);
    double t1 = now_s();
    pthread_barrier_destroy(&bar);
    return t1 - t0;
}

/* best GFLOP/s of REPS runs of `fn` on nt threads, each about `target` s */
static double peak_gflops(fma_fn fn, int nt, double target, float *sink) {
    /* calibrate the iteration count on one thread */
    uint64_t iters = 1u << 16;
    for (;;) {
        double t0 = now_s();
        fn(iters, sink);
        double dt = now_s() - t0;
        if (dt > 0.02) {
            iters = (uint64_t)((double)iters * target / dt) + 1;
            break;
        }
        iters *= 4;
    }
    double best = 0;
    job jobs[MAX_THREADS];
    for (int r = 0; r < REPS; r++) {
        memset(jobs, 0, sizeof jobs[0] * (size_t)nt);
        for (int t = 0; t < nt; t++) {
            jobs[t].kind = JOB_FMA;
            jobs[t].fma = fn;
            jobs[t].iters = iters;
        }
        double dt = run_parallel(jobs, nt);
        double flops = 0;
        for (int t = 0; t < nt; t++) {
            flops += jobs[t].flops;
            *sink += jobs[t].sink;
        }
        double g = flops / dt * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

/* best GB/s of REPS passes of a copy (read + write bytes) or a sum (read
 * bytes), split in nt contiguous slices */
static double stream_gbs(enum job_kind kind, int vec, float *dst, const float *src, size_t n,
                         int nt, float *sink) {
    job jobs[MAX_THREADS];
    double best = 0;
    for (int r = 0; r < REPS; r++) {
        memset(jobs, 0, sizeof jobs[0] * (size_t)nt);
        for (int t = 0; t < nt; t++) {
            size_t lo = n * (size_t)t / (size_t)nt, hi = n * (size_t)(t + 1) / (size_t)nt;
            jobs[t].kind = kind;
            jobs[t].vec = vec;
            jobs[t].dst = dst ? dst + lo : NULL;
            jobs[t].src = src + lo;
            jobs[t].n = hi - lo;
        }
        double dt = run_parallel(jobs, nt);
        for (int t = 0; t < nt; t++) *sink += jobs[t].sink;
        double bytes = (double)n * sizeof(float) * (kind == JOB_COPY ? 2.0 : 1.0);
        double g = bytes / dt * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

static double best_memcpy_gbs(float *dst, const float *src, size_t n) {
    double best = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = now_s();
        memcpy(dst, src, n * sizeof(float));
        double dt = now_s() - t0;
        double g = 2.0 * (double)n * sizeof(float) / dt * 1e-9;
        if (g > best) best = g;
    }
    return best;
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 512;
    if (mib == 0) mib = 512;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = ncpu < 1 ? 1 : ncpu > MAX_THREADS ? MAX_THREADS : (int)ncpu;
    float sink = 0;

    printf("RESULT machine.threads %d\n", nt);

    /* ---- peak FLOP/s */
    const char *isa = "plain";
    fma_fn best_fn = fma_plain;
    double g1 = peak_gflops(fma_plain, 1, 0.1, &sink), gn;
    printf("RESULT peak.plain.1t_gflops %.2f\n", g1);
#if HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        double g = peak_gflops(fma_avx2, 1, 0.1, &sink);
        printf("RESULT peak.avx2.1t_gflops %.2f\n", g);
        printf("RESULT peak.avx2.nt_gflops %.2f\n", peak_gflops(fma_avx2, nt, 0.1, &sink));
        if (g > g1) {
            g1 = g;
            isa = "avx2+fma";
            best_fn = fma_avx2;
        }
    }
    if (__builtin_cpu_supports("avx512f")) {
        double g = peak_gflops(fma_avx512, 1, 0.1, &sink);
        printf("RESULT peak.avx512.1t_gflops %.2f\n", g);
        printf("RESULT peak.avx512.nt_gflops %.2f\n", peak_gflops(fma_avx512, nt, 0.1, &sink));
        if (g > g1 * 1.02) { /* only when clearly faster (Zen 4 double-pumps it) */
            g1 = g;
            isa = "avx512f";
            best_fn = fma_avx512;
        }
    }
#endif
    gn = peak_gflops(best_fn, nt, 0.1, &sink);
    printf("RESULT peak.isa %s\n", isa);
    printf("RESULT peak.1t_gflops %.2f\n", g1);
    printf("RESULT peak.nt_gflops %.2f\n", gn);

    /* ---- bandwidth */
    size_t n = mib * 1024 * 1024 / sizeof(float);
    float *src = malloc(n * sizeof(float)), *dst = malloc(n * sizeof(float));
    if (!src || !dst) {
        fprintf(stderr, "machine: cannot allocate 2 x %zu MiB\n", mib);
        free(src);
        free(dst);
        return 1;
    }
    /* touch every page before timing (no page faults inside the timed passes) */
    for (size_t i = 0; i < n; i++) src[i] = (float)(i & 1023);
    memset(dst, 0, n * sizeof(float));
    int vec = 0;
#if HAVE_X86
    vec = __builtin_cpu_supports("avx2");
#endif
    double bw_memcpy = best_memcpy_gbs(dst, src, n);
    double bw_loop1 = stream_gbs(JOB_COPY, vec, dst, src, n, 1, &sink);
    double bw_loopn = stream_gbs(JOB_COPY, vec, dst, src, n, nt, &sink);
    double bw_read1 = stream_gbs(JOB_SUM, vec, NULL, src, n, 1, &sink);
    double bw_readn = stream_gbs(JOB_SUM, vec, NULL, src, n, nt, &sink);
    sink += dst[n / 3];
    printf("RESULT bw.mib %zu\n", mib);
    printf("RESULT bw.memcpy_gbs %.2f\n", bw_memcpy);
    printf("RESULT bw.copy_1t_gbs %.2f\n", bw_loop1);
    printf("RESULT bw.copy_nt_gbs %.2f\n", bw_loopn);
    printf("RESULT bw.read_1t_gbs %.2f\n", bw_read1);
    printf("RESULT bw.read_nt_gbs %.2f\n", bw_readn);
    double bw = bw_memcpy;
    if (bw_loop1 > bw) bw = bw_loop1;
    if (bw_loopn > bw) bw = bw_loopn;
    printf("RESULT bw.copy_gbs %.2f\n", bw);
    /* keep every result observable */
    fprintf(stderr, "machine: checksum %g\n", (double)sink);
    free(src);
    free(dst);
    return 0;
}
