/*
 * vmath.h — natural logarithm and exponential of float arrays, vectorised
 * (see vmath.c for the method and its accuracy).  Pure functions.  Special
 * values follow C's logf/expf: log of 0 is -Inf, of a negative or NaN is
 * NaN, of +Inf is +Inf; exp underflows to 0 and overflows to +Inf; NaN
 * stays NaN.
 */
#ifndef LF_VMATH_H
#define LF_VMATH_H

#include <stddef.h>

/* y[i] = log(x[i]), i < n; within 1 ulp, almost always correctly rounded.
 * y may be x (in place); otherwise they must not overlap. */
void lf_log_f(const float *x, float *y, size_t n);

/* y[i] = exp(x[i]), i < n; within 1 ulp, almost always correctly rounded.
 * x and y must not overlap. */
void lf_exp_f(const float *x, float *y, size_t n);

#endif
