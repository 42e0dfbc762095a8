/*
 * Forward convolution for small output planes (cpu_smallconv.c): at most 64
 * output pixels in the whole batch, such as the 4x4 and 8x8 layers of a
 * batch-1 sampling step.
 *
 * There a convolution is a matrix product whose weights
 * [c_out x c_in*kh*kw] are used for only 16-64 columns, so it is bound by
 * streaming the weights from memory: oneDNN's GEMM convolution took 148 us
 * for the CIFAR-10 generator's 256-channel 4x4 layer (16 GB/s of weights),
 * the plug-in's F(2x2) Winograd 205-250 us for the 8x8 one (its transformed
 * weights are 1.8x larger). Here the input is unfolded into
 * col[k][pixels] (k = (ci * kh + i) * kw + j, pixels padded with zeros to
 * a multiple of 16) and an AVX-512 kernel multiplies weight rows, read
 * once in order with software prefetch, by the whole of col: 4x4 in about
 * 60 us, 8x8 at about 450 GFLOP/s (docs/backend-cpu.md).
 *
 * Sums run in blocks of CPU_SMALL_KB terms (each block summed on its own,
 * then added to the total: float rounding grows with the block length, not
 * with c_in * 9), and every output is computed by one thread in a fixed
 * order, so the result does not depend on the thread count.
 */
#ifndef DDGAN_CPU_SMALLCONV_H
#define DDGAN_CPU_SMALLCONV_H

#include <stddef.h>

#include "backend/backend_ops.h"

/* Whether the forward of d (finished descriptor: h_out, w_out set) runs
 * here: n * h_out * w_out <= 64 and the CPU has AVX-512 (otherwise the
 * oneDNN path runs it). */
int ddgan__cpu_small_fits(const ddgan_conv2d_desc *d);

/* Workspace bytes the forward of d needs (64-byte aligned base). */
size_t ddgan__cpu_small_ws_bytes(const ddgan_conv2d_desc *d);

/* y (+)= conv(x, w) + bias (bias may be NULL) for a d that fits; ws holds
 * ddgan__cpu_small_ws_bytes(d) bytes; `threads` OpenMP threads. */
void ddgan__cpu_small_fwd(const ddgan_conv2d_desc *d, const float *x, const float *w,
                          const float *bias, float *y, int accumulate, unsigned char *ws, int threads);

/* The kernel alone: out rows [co0, co1) = w rows x col, out[co][nv * 16],
 * col[k][nv * 16], w[co][k_len] (k_len terms per row, summed in blocks as
 * above), nv 1-4; one thread. Only where ddgan__cpu_small_fits can be true
 * (AVX-512). */
void ddgan__cpu_small_rows(const float *w, size_t k_len, const float *col, float *out, int co0, int co1,
                           int nv);

#endif
