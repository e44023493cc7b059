/*
 * dropout.c — inverted dropout (Keras' Dropout): while training each unit
 * is kept with probability 1-rate and scaled by 1/(1-rate), so inference is
 * the identity.  The mask is drawn from the model's own generator.
 */
#include "layers/layers.h"

// x, y, mask: (n) = (B * D)
void lf_dropout_forward(float *restrict y, float *restrict mask, const float *restrict x,
                        size_t n, float rate, lf_rng *rng) {
    float keep = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < n; i++) {
        mask[i] = lf_rng_uniform(rng) < rate ? 0.0f : keep;
        y[i] = x[i] * mask[i];
    }
}

void lf_dropout_backward(float *restrict dx, const float *restrict dy,
                         const float *restrict mask, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * mask[i];
}
