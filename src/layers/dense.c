/*
 * dense.c — the fully connected layer, y = x w^T + b, on top of the one
 * sgemm interface (kernels.h).  w is (out, in) like PyTorch's nn.Linear.
 */
#include "layers/layers.h"
#include "kernels.h"

// x: (B, in)  w: (out, in)  b: (out)  y: (B, out); relu: y = max(y, 0),
// applied with the bias while each tile of y is in registers
void lf_dense_forward(float *restrict y, const float *restrict x, const float *restrict w,
                      const float *restrict b, size_t B, size_t in, size_t out, int relu) {
    lf_sgemm_bias_relu(0, 1, B, out, in, x, in, w, in, b, relu, y, out);
}

// dz: (B, out)  x: (B, in)  w: (out, in)
// dx (B, in) += dz w;  dw (out, in) += dz^T x;  db (out) += sum_rows dz
void lf_dense_backward(float *restrict dx, float *restrict dw, float *restrict db,
                       const float *restrict dz, const float *restrict x,
                       const float *restrict w, size_t B, size_t in, size_t out) {
    if (dx) lf_sgemm(0, 0, B, in, out, 1.0f, dz, out, w, in, 1.0f, dx, in);
    if (dw) lf_sgemm(1, 0, out, in, B, 1.0f, dz, out, x, in, 1.0f, dw, in);
    if (db)
        for (size_t r = 0; r < B; r++)
            for (size_t j = 0; j < out; j++) db[j] += dz[r * out + j];
}
