/*
 * array.c — lf_array, the float32 matrix that the file readers (.npy,
 * CSV) return (see array.h).
 */
#include "io/array.h"

#include <string.h>

void lf_array_free(lf_array *a) {
    if (!a) return;
    LF_FREE(a->data);
    memset(a, 0, sizeof *a);
}
