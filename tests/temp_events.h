/*
 * temp_events.h — a recorder of the temporary-file events (lf_temp_event)
 * that lf_fusion_predict_files and lf_fusion_report tell their caller: the
 * events as letters (c C r R D, '+' after one told with ok), the temporary
 * file's name, and whether it existed when the renaming began.
 */
#ifndef LF_TEST_TEMP_EVENTS_H
#define LF_TEST_TEMP_EVENTS_H

#include "latefuse.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct events {
    char seq[32];
    int tmp_existed;
    char tmp[4096];
} events;

static void on_temp(void *ctx, lf_temp_event ev, const char *path, int ok) {
    events *e = ctx;
    static const char letter[] = "cCrRD";
    size_t n = strlen(e->seq);
    if (n + 2 < sizeof e->seq) e->seq[n] = letter[ev], e->seq[n + 1] = ok ? '+' : '\0';
    if (ev == LF_TEMP_CREATED && path) snprintf(e->tmp, sizeof e->tmp, "%s", path);
    if (ev == LF_TEMP_RENAMING) e->tmp_existed = access(e->tmp, F_OK) == 0;
}

#endif
