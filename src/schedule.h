/*
 * schedule.h — the learning-rate schedules' checks and their place in the
 * model file (schedule.c); the rate itself is public (lf_lr_schedule_rate).
 */
#ifndef LF_SCHEDULE_H
#define LF_SCHEDULE_H

#include "internal.h"
#include "io/json.h"

/* Whether s starts with a warm-up (CosineDecay's warmup_target): then the
 * optimizer's learning_rate, the warm-up's start, may be 0 (Keras'
 * CosineDecay(0.0, ..., warmup_target=...)) */
int lf_lr_schedule_warms_up(const lf_lr_schedule *s);

/* NULL when s is a valid schedule (lf_lr_schedule's ranges), else what is
 * wrong, a static string naming the field */
const char *lf_lr_schedule_invalid(const lf_lr_schedule *s);

/* Appends ,"schedule":{...} (Keras' class name and the kind's fields) to
 * an optimizer's JSON object; nothing for CONSTANT */
void lf_lr_schedule_write(lf_buf *b, const lf_lr_schedule *s);

/* Reads the "schedule" object j (as written above) into *s: unknown keys,
 * a missing field or one out of range are LF_ERR_FORMAT naming it (where:
 * the message's prefix) */
lf_status lf_lr_schedule_read(const lf_json *j, lf_lr_schedule *s, const char *where, lf_err *e);

#endif
