/*
 * The plug-in's own Winograd convolution (cpu_winograd.c): forward 3x3,
 * stride 1, padding 1, for the small-batch forwards of a const_scope
 * (batch-1 sampling), where the weights are transformed once and kept.
 *
 *   y = A^T [ U (.) V ] A,  U = G g G^T (weights),  V = B^T d B (input tiles)
 *
 * The 36 (or 16) elementwise products over channels are matrix products,
 * [tiles x c_in] x [c_in x c_out] per position (dnnl_sgemm); the transforms
 * are float loops of cpu_winograd.c, vectorised over 16 channels.
 *
 *  - F(4x4, 3x3), P = 36: 4x fewer multiplications than direct; planes of
 *    32x32 and more. Interpolation points 0, 1, -1, 1/2, -2: about 2.5x
 *    less rounding error than the common 0, +-1, +-2 (measured, 256-512
 *    channels: 4e-6 against 9e-6-1.1e-5 of the parity metric).
 *  - F(2x2, 3x3), P = 16: 2.25x fewer; smaller planes, where the weights,
 *    which batch 1 streams from memory on every call, dominate (the 4x
 *    larger F(4x4) weights ran 16x16 no faster and 8x8 2x slower on
 *    dnnl_sgemm).
 *  - "Lanes": a single 8x8 image (F(2x2)) or a single 16x16 image of up to
 *    256 input channels (F(4x4)) has 16 tiles, one AVX-512 vector: the
 *    transforms run per channel on whole vectors and the products on the
 *    small-plane kernel (cpu_smallconv.h), which streams the weights
 *    faster than dnnl_sgemm's 16-row products.
 */
#ifndef DDGAN_CPU_WINOGRAD_H
#define DDGAN_CPU_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend_ops.h"

typedef struct cpu_wino_plan {
    int m;     /* output tile side: 4 or 2 */
    int alpha; /* input tile side, m + 2 */
    int n, c_in, h, w, c_out;
    int tiles_h, tiles_w;
    int64_t tiles;  /* n * tiles_h * tiles_w: rows of the matmul */
    int hp, wp;     /* padded input plane, (tiles * m + 2) per side */
    size_t u_bytes; /* transformed weights: P * c_in * c_out floats */
    size_t off_v, off_m, off_yn, ws_bytes; /* workspace: padded NHWC input, V, M, NHWC output */
    /* 1: a single 8x8 image with F(2x2): its 16 tiles are the 16 lanes of a
     * vector (cpu_winograd.c, "Lanes"); U is [P][c_out][c_in] then, the
     * workspace V[P][c_in][16] (off 0) and M[P][c_out][16] (off_m) */
    int lanes;
} cpu_wino_plan;

/* Whether a forward of d can run here (3x3, stride 1, padding 1 on every
 * side, channel counts multiples of 16). */
int ddgan__cpu_wino_fits(const ddgan_conv2d_desc *d);

/* Output tile side for d: 4 for planes of 1024 pixels and more and for a
 * single 16x16 image of up to 256 input channels (with AVX-512: lanes),
 * else 2. */
int ddgan__cpu_wino_tile(const ddgan_conv2d_desc *d);

/* The plan of d (finished descriptor) with tile side m; NULL when out of
 * memory. */
cpu_wino_plan *ddgan__cpu_wino_plan_create(const ddgan_conv2d_desc *d, int m);
void ddgan__cpu_wino_plan_destroy(cpu_wino_plan *p);

/* u = the plan's transform of plain OIHW weights w (u_bytes), in double
 * rounded once; `threads` OpenMP threads. */
void ddgan__cpu_wino_weights(const cpu_wino_plan *p, const float *w, float *u, int threads);

/* y (+)= conv(x) + bias through the plan, with weights u from
 * ddgan__cpu_wino_weights and a workspace of p->ws_bytes (64-byte
 * aligned); `threads` OpenMP threads, inside a cpu section (dnnl_sgemm).
 * Returns 0, or -1 when dnnl_sgemm reported a failure. */
int ddgan__cpu_wino_run(const cpu_wino_plan *p, const float *x, const float *u, const float *bias,
                        float *y, int accumulate, unsigned char *ws, int threads);

#endif
