/*
 * test_crash.c — crash safety of saving.  A child process saves two
 * different models in turn over the same path, forever; the parent kills it
 * with SIGKILL after a random delay, a few hundred times, and after each
 * kill the file must load and be exactly the old or the new model (its
 * predictions bit-identical to one of the two).  Stray temporary files are
 * the only thing a kill may leave behind; they are counted and removed.
 */
#include "check.h"
#include "latefuse.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KILLS 200

static lf_model *make(uint64_t seed) {
    lf_model *m;
    lf_model_create(&m, seed);
    int x = lf_input(m, 64, "x");
    int h = lf_dense(m, x, 256, LF_ACT_RELU, 1, "h");
    lf_model_compile(m, lf_dense(m, h, 10, LF_ACT_SOFTMAX, 1, "o"), LF_LOSS_MSE, NULL);
    return m;
}

int main(void) {
    char dir[] = "/tmp/lf_crash_XXXXXX", path[64];
    if (!mkdtemp(dir)) return 2;
    snprintf(path, sizeof path, "%s/model.lf", dir);
    lf_model *m[2] = {make(1), make(2)};
    float x[64], ref[2][10];
    for (int i = 0; i < 64; i++) x[i] = (float)i / 64.0f;
    const float *xs[1] = {x};
    for (int k = 0; k < 2; k++) lf_model_predict(m[k], xs, 1, ref[k]);
    CHECK(lf_model_save(m[0], path, LF_SAVE_OPTIMIZER) == LF_OK, "initial save");
    srand(12345);
    int old_or_new = 0, strays = 0;
    for (int kill_no = 0; kill_no < KILLS; kill_no++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (unsigned i = 0;; i++) lf_model_save(m[i & 1], path, LF_SAVE_OPTIMIZER);
        }
        struct timespec d = {0, 200000 + (rand() % 3000) * 1000L}; /* 0.2-3.2 ms */
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        lf_model *l;
        lf_model_create(&l, 0);
        lf_status st = lf_model_load(l, path);
        float out[10];
        int match = 0;
        if (st == LF_OK && lf_model_predict(l, xs, 1, out) == LF_OK)
            match = memcmp(out, ref[0], sizeof out) == 0 || memcmp(out, ref[1], sizeof out) == 0;
        if (match) old_or_new++;
        else fprintf(stderr, "kill %d: the file is damaged (%s)\n", kill_no, lf_model_error(l));
        lf_model_free(l);
        /* remove temporary files a kill left behind */
        DIR *dd = opendir(dir);
        struct dirent *de;
        while (dd && (de = readdir(dd)))
            if (strstr(de->d_name, ".tmp-")) {
                char tmp[320];
                snprintf(tmp, sizeof tmp, "%s/%s", dir, de->d_name);
                unlink(tmp);
                strays++;
            }
        if (dd) closedir(dd);
    }
    CHECK(old_or_new == KILLS, "%d of %d kills left a complete old or new model", old_or_new, KILLS);
    printf("crash: %d kills, %d complete models after them, %d temporary files removed\n", KILLS, old_or_new,
           strays);
    unlink(path);
    rmdir(dir);
    lf_model_free(m[0]), lf_model_free(m[1]);
    return check_report("test_crash");
}
