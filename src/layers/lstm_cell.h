/*
 * lstm_cell.h — one LSTM cell step over a vector of u units, shared by
 * rnn.c's LSTM (and Bidirectional's) and conv_lstm.c's ConvLSTM1D/2D/3D
 * (keras/src/layers/rnn/lstm.py LSTMCell, conv_lstm.py ConvLSTMCell: the
 * same gates after the input and recurrent transformations).
 *
 * z (4u) holds the gate blocks in Keras' order i, f, c, o (sigma the
 * sigmoid):
 *   forward   i, f, o = sigma(z_i, z_f, z_o), g = tanh(z_c)
 *             c' = f c + i g,  h' = o tanh(c')
 *             z is overwritten by i, f, g, o, kept for the backward step
 *   backward  from dh (d loss / d h'), dc (d loss / d c' through the next
 *             step) and the saved gates: z becomes d z (the
 *             pre-activations' gradients), dc becomes d c, dh becomes 0
 *             (h reaches h' only through the recurrent transformation,
 *             which the caller adds)
 * A NULL c (c_prev) is the zero initial state.
 */
#ifndef LF_LSTM_CELL_H
#define LF_LSTM_CELL_H

#include <math.h>
#include <stddef.h>

static inline float lf_lstm_sigm(float v) { return 1.0f / (1.0f + expf(-v)); }

/* z: (4u) pre-activations in, gates out   c_prev, c_next, h_next: (u) */
static inline void lf_lstm_cell_forward(float *restrict z, const float *restrict c_prev, float *restrict c_next,
                                        float *restrict h_next, size_t u) {
    for (size_t j = 0; j < u; j++) {
        float i = lf_lstm_sigm(z[j]), f = lf_lstm_sigm(z[u + j]), g = tanhf(z[2 * u + j]),
              o = lf_lstm_sigm(z[3 * u + j]);
        z[j] = i, z[u + j] = f, z[2 * u + j] = g, z[3 * u + j] = o;
        c_next[j] = f * (c_prev ? c_prev[j] : 0.0f) + i * g;
        h_next[j] = o * tanhf(c_next[j]);
    }
}

/* z: (4u) gates in, d pre-activations out   c_next (the step's c'),
 * c_prev: (u)   dh: (u) in, zeros out   dc: (u) d c' in, d c_prev out */
static inline void lf_lstm_cell_backward(float *restrict z, const float *restrict c_next, const float *restrict c_prev,
                                         float *restrict dh, float *restrict dc, size_t u) {
    for (size_t j = 0; j < u; j++) {
        float i = z[j], f = z[u + j], g = z[2 * u + j], o = z[3 * u + j];
        float tc = tanhf(c_next[j]), c0 = c_prev ? c_prev[j] : 0.0f;
        float dct = dc[j] + dh[j] * o * (1.0f - tc * tc);
        z[3 * u + j] = dh[j] * tc * o * (1.0f - o);
        z[j] = dct * g * i * (1.0f - i);
        z[u + j] = dct * c0 * f * (1.0f - f);
        z[2 * u + j] = dct * i * (1.0f - g * g);
        dc[j] = dct * f;
        dh[j] = 0.0f;
    }
}

#endif
