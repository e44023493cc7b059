/*
 * des.c — benchmark B9 (see bench/README.md): dynamic selection's predict.
 * knora-e fitted on NF rows of 5 models x 10 classes, then predict on NQ
 * rows (the region of competence of every row: exact 7 nearest fitting
 * rows by brute force).  The outputs are random softmax rows, each model
 * better than chance on the row's label.  Prints the wall time of the fit
 * and of the predict, the predict's user CPU time (all threads), and a
 * RESULT line per number.
 *
 *   des [NF [NQ [METHOD]]]    defaults 100000 1000000 knora-e
 */
#include "latefuse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { M = 5, C = 10 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double user_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec;
}

static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void outputs(float **p, int *y, size_t N, uint64_t *s) {
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(urand(s) * C);
        for (size_t k = 0; k < M; k++) {
            float *row = p[k] + r * C;
            double e[C], z = 0;
            for (size_t c = 0; c < C; c++)
                z += e[c] = exp(3.0 * urand(s) + ((int)c == y[r] ? 1.0 + 0.3 * (double)k : 0.0));
            for (size_t c = 0; c < C; c++) row[c] = (float)(e[c] / z);
        }
    }
}

int main(int argc, char **argv) {
    size_t NF = argc > 1 ? strtoull(argv[1], NULL, 10) : 100000, NQ = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
    const char *mname = argc > 3 ? argv[3] : "knora-e";
    int method = lf_method_parse(mname);
    if (NF == 0 || NQ == 0 || method < 0) {
        fprintf(stderr, "usage: des [NF [NQ [METHOD]]]\n");
        return 2;
    }
    float *pf[M], *pq[M];
    int *yf = malloc(NF * sizeof *yf), *yq = malloc(NQ * sizeof *yq);
    float *out = malloc(NQ * C * sizeof *out);
    for (size_t k = 0; k < M; k++) pf[k] = malloc(NF * C * sizeof(float)), pq[k] = malloc(NQ * C * sizeof(float));
    uint64_t s = 9;
    outputs(pf, yf, NF, &s);
    outputs(pq, yq, NQ, &s);
    const char *names[M] = {"m0", "m1", "m2", "m3", "m4"};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = (lf_method)method;
    double t0 = now();
    lf_status st = lf_fusion_fit(f, (const float *const *)pf, names, M, NF, C, yf, &o);
    double t_fit = now() - t0;
    if (st != LF_OK) {
        fprintf(stderr, "des: fit: %s\n", lf_fusion_error(f));
        return 1;
    }
    double u0 = user_cpu();
    t0 = now();
    st = lf_fusion_predict(f, (const float *const *)pq, NQ, out);
    double t_pred = now() - t0, u_pred = user_cpu() - u0;
    if (st != LF_OK) {
        fprintf(stderr, "des: predict: %s\n", lf_status_string(st));
        return 1;
    }
    double right = 0;
    for (size_t r = 0; r < NQ; r++) {
        size_t b = 0;
        for (size_t c = 1; c < C; c++) b = out[r * C + c] > out[r * C + b] ? c : b;
        right += (int)b == yq[r];
    }
    fprintf(stderr, "des: %s, %zu fitting rows, %zu query rows, %d x %d: fit %.3f s, predict %.3f s (user CPU %.3f s), accuracy %.4f\n",
            mname, NF, NQ, M, C, t_fit, t_pred, u_pred, right / (double)NQ);
    printf("RESULT b9.fit_rows %zu\nRESULT b9.rows %zu\nRESULT b9.fit_s %.4f\nRESULT b9.predict_s %.4f\n"
           "RESULT b9.predict_user_s %.4f\nRESULT b9.accuracy %.4f\n",
           NF, NQ, t_fit, t_pred, u_pred, right / (double)NQ);
    lf_fusion_free(f);
    for (size_t k = 0; k < M; k++) free(pf[k]), free(pq[k]);
    free(yf), free(yq), free(out);
    return 0;
}
