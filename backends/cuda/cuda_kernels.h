/*
 * Private to the "cuda" backend plug-in: the CUDA kernels' launchers
 * (cuda_pointwise.cu, cuda_norm.cu), callable from the plug-in's C11 host
 * code. Every launcher enqueues on `s` and returns the launch status
 * (cudaGetLastError); it never synchronises. Arguments are validated by the
 * caller (cuda_ops.c). `f64` selects double tensors, else float.
 *
 * Numerical policy (same as "ref", backends/ref/ref_ops.h): each output is
 * evaluated in double and rounded once to the tensor type; scalars arrive
 * already rounded to the tensor type (the host does that); adam and ema run
 * in the tensor type in PyTorch's order. The kernels are compiled with
 * --fmad=false so no multiply-add is contracted (ref builds with
 * -ffp-contract=off).
 */
#ifndef DDGAN_CUDA_KERNELS_H
#define DDGAN_CUDA_KERNELS_H

#include <stdint.h>

#include <cuda_runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 4-D elementwise index space with per-operand strides (elements). */
typedef struct cuk_ew {
    int64_t shape[4];
    int64_t as[4], bs[4], os[4];
} cuk_ew;

/* A reduction plan: kept axes (sizes ks, strides kst, outermost first) and
 * reduced axes (rs, rst), as ref_ops_pointwise.c builds it. */
typedef struct cuk_reduce_plan {
    int nk, nr;
    int64_t ks[4], kst[4], rs[4], rst[4];
    int64_t n_out, n_red;
} cuk_reduce_plan;

/* upfirdn2d with its taps already rounded to the tensor type (then widened). */
typedef struct cuk_fir {
    int n, c, h, w, up, down, pad0, pad1, taps, h_out, w_out;
    double k[8];
} cuk_fir;

cudaError_t cuk_fill_f32(cudaStream_t s, float *dst, float value, int64_t n);

cudaError_t cuk_act_fwd(cudaStream_t s, int f64, int act, double alpha, int64_t n, const void *x,
                        void *y);
cudaError_t cuk_act_bwd(cudaStream_t s, int f64, int act, double alpha, int64_t n, const void *x,
                        const void *y, const void *dy, void *dx, int acc);
cudaError_t cuk_binary(cudaStream_t s, int f64, const cuk_ew *d, int op, double alpha, double beta,
                       const void *a, const void *b, void *out, int acc);
cudaError_t cuk_unary(cudaStream_t s, int f64, const cuk_ew *d, int op, double alpha, double beta,
                      const void *a, void *out, int acc);
cudaError_t cuk_reduce(cudaStream_t s, int f64, const cuk_reduce_plan *p, int op, const void *x,
                       void *out, int acc);

/* Adam with the host-computed constants (ref_optim_impl.inc). */
cudaError_t cuk_adam(cudaStream_t s, int f64, int64_t n, double b1, double b2, double omb1,
                     double omb2, double neg_step_size, double bc2_sqrt, double eps, void *p,
                     const void *g, void *m, void *v);
cudaError_t cuk_ema(cudaStream_t s, int f64, int64_t n, double decay, void *ema, const void *param);

/* Philox draws (docs/rng.md): normal != 0 -> normals, else uniforms. */
cudaError_t cuk_rand(cudaStream_t s, int f64, int normal, int64_t n, uint64_t seed, uint64_t stream,
                     uint64_t first_block, void *out);

/* Group norm (eps already rounded to the tensor type). */
cudaError_t cuk_gn_fwd(cudaStream_t s, int f64, int n, int c, int64_t hw, int groups, double eps,
                       const void *x, const void *gamma, const void *beta, void *y, void *mean,
                       void *rstd);
cudaError_t cuk_gn_bwd(cudaStream_t s, int f64, int n, int c, int64_t hw, int groups,
                       const void *dy, const void *x, const void *mean, const void *rstd,
                       const void *gamma, void *dx, void *dgamma, void *dbeta, int acc);

cudaError_t cuk_softmax_fwd(cudaStream_t s, int f64, int64_t rows, int64_t cols, const void *x,
                            void *y);
cudaError_t cuk_softmax_bwd(cudaStream_t s, int f64, int64_t rows, int64_t cols, const void *y,
                            const void *dy, void *dx, int acc);

cudaError_t cuk_fir_fwd(cudaStream_t s, int f64, const cuk_fir *d, const void *x, void *y, int acc);
cudaError_t cuk_fir_bwd(cudaStream_t s, int f64, const cuk_fir *d, const void *dy, void *dx,
                        int acc);

/* Convolution helpers around cuDNN (cuda_conv.c):
 *  y[b, c, :] += bias[c] over planes of `plane` elements;
 *  dbias[c] (+)= sum over b and the plane of dy[b, c, :];
 *  xp = x zero-padded (pad_t, pad_l, pad_b, pad_r) per plane;
 *  dst[p, y, x] (+)= src[p, y + pad_t, x + pad_l] (src planes hp x wp). */
cudaError_t cuk_add_bias(cudaStream_t s, int f64, int n, int c, int64_t plane, const void *bias,
                         void *y);
cudaError_t cuk_bias_grad(cudaStream_t s, int f64, int n, int c, int64_t plane, const void *dy,
                          void *dbias, int acc);
cudaError_t cuk_pad(cudaStream_t s, int f64, int64_t planes, int h, int w, int pad_t, int pad_l,
                    int pad_b, int pad_r, const void *x, void *xp);
cudaError_t cuk_crop(cudaStream_t s, int f64, int64_t planes, int h, int w, int hp, int wp,
                     int pad_t, int pad_l, const void *src, void *dst, int acc);

#ifdef __cplusplus
}
#endif

#endif
