/*
 * Private to the "ref" backend's compute ops (backends/ref/ref_ops_*.c).
 *
 * Numerical policy (what makes "ref" the oracle):
 *  - every op evaluates in double and rounds once to the tensor type per
 *    output element (float32 sums are accumulated in double), except adam and
 *    ema, which reproduce PyTorch's order of operations in the tensor type;
 *  - scalars are converted to the tensor type first (backend_ops.h), then
 *    widened;
 *  - with accumulate = 1 the old output value is added in double before the
 *    single rounding;
 *  - each output element is computed by one thread in a fixed order, so the
 *    results are bit-for-bit independent of the thread count.
 *
 * Kernels are written once in ref_*_impl.inc and instantiated for float and
 * double: the including file defines REAL (the element type) and REF_SFX
 * (f32 / f64) and includes the .inc file twice; REF_T(name) names the
 * instance.
 */
#ifndef DDGAN_REF_OPS_H
#define DDGAN_REF_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "ref/ref_backend.h"

#define REF_CAT_(a, b) a##_##b
#define REF_CAT(a, b) REF_CAT_(a, b)
#define REF_T(name) REF_CAT(name, REF_SFX)

/* Parallel loop over independent outputs; the enclosing scope must define
 * `int ref_nt` (the team size, from ddgan__ref_team). Static schedule, no
 * reductions across threads. */
#if defined(DDGAN_HAVE_OPENMP)
#define REF_PARALLEL_FOR _Pragma("omp parallel for schedule(static) num_threads(ref_nt)")
#else
#define REF_PARALLEL_FOR
#endif

/* A double scalar rounded to REAL, then widened. Use it INSIDE the body of
 * a REF_PARALLEL_FOR loop, never before it: GCC 12.2 at -O2/-O3 with
 * -fopenmp miscompiles such roundings computed in the enclosing function
 * (its SLP vectoriser stores the unrounded pair {a, b} into the OpenMP data
 * block; see test_f32_scalar_rounding in tests/unit/test_ops_ref.c). */
#define REF_SCALAR(v) ((double)(REAL)(v))

/* Row tile (elements) of the on-stack double accumulators. */
#define REF_TILE 64

/* Largest spatial / channel / batch dimension accepted by a descriptor, and
 * largest element count of one operand (keeps every index in int64_t). */
#define REF_MAX_DIM (1 << 24)
#define REF_MAX_ELEMS ((int64_t)1 << 50)

/* Team size for `tasks` independent outputs of `work` flops in total: 1 for
 * small problems (no thread start-up), else min(threads, tasks). */
int ddgan__ref_team(const ddgan_backend *be, int64_t tasks, double work);

/* Common argument checks; each sets the last error (naming `op`) and returns
 * DDGAN_ERR_INVALID_ARGUMENT on failure. */
ddgan_status_t ddgan__ref_check_common(const ddgan_backend *be, const char *op, ddgan_dtype dt,
                                       int accumulate);
/* *out = a*b*c*d (all >= 0) unless that exceeds REF_MAX_ELEMS (then -1). */
int ddgan__ref_count4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out);

#define REF_INVALID(...) DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, __VA_ARGS__)

/* Valid output positions o in [0, n_out) with 0 <= o*s + off < lim:
 * [*lo, *hi) (empty when *lo >= *hi). */
static inline void ddgan__ref_valid_range(int64_t off, int64_t s, int64_t lim, int64_t n_out,
                                          int64_t *lo, int64_t *hi)
{
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = lim - 1 - off >= 0 ? (lim - 1 - off) / s + 1 : 0;
    if (h > n_out)
        h = n_out;
    *lo = l;
    *hi = h;
}

/* The ops (ddgan__ref_compute in ref_ops.c lists them). */
ddgan_status_t ddgan__ref_conv2d_fwd(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *x,
                                     const void *weight, const void *bias, void *y, int accumulate);
ddgan_status_t ddgan__ref_conv2d_bwd_data(ddgan_backend *be, const ddgan_conv2d_desc *d,
                                          const void *dy, const void *weight, void *dx,
                                          int accumulate);
ddgan_status_t ddgan__ref_conv2d_bwd_weights(ddgan_backend *be, const ddgan_conv2d_desc *d,
                                             const void *x, const void *dy, void *dweight,
                                             void *dbias, int accumulate);
ddgan_status_t ddgan__ref_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                 const void *b, void *c);
ddgan_status_t ddgan__ref_group_norm_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *x, const void *gamma, const void *beta,
                                         void *y, void *mean, void *rstd);
ddgan_status_t ddgan__ref_group_norm_bwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *dy, const void *x, const void *mean,
                                         const void *rstd, const void *gamma, void *dx,
                                         void *dgamma, void *dbeta, int accumulate);
ddgan_status_t ddgan__ref_adagn_act_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                        const void *x, const void *style, ddgan_act act,
                                        double alpha, void *y);
ddgan_status_t ddgan__ref_softmax_fwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                      const void *x, void *y);
ddgan_status_t ddgan__ref_softmax_bwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                      const void *y, const void *dy, void *dx, int accumulate);
ddgan_status_t ddgan__ref_act_fwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, void *y);
ddgan_status_t ddgan__ref_act_bwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, const void *y, const void *dy, void *dx,
                                  int accumulate);
ddgan_status_t ddgan__ref_upfirdn_fwd(ddgan_backend *be, const ddgan_upfirdn_desc *d,
                                      const void *x, void *y, int accumulate);
ddgan_status_t ddgan__ref_upfirdn_bwd(ddgan_backend *be, const ddgan_upfirdn_desc *d,
                                      const void *dy, void *dx, int accumulate);
ddgan_status_t ddgan__ref_binary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op,
                                 double alpha, double beta, const void *a, const void *b,
                                 void *out, int accumulate);
ddgan_status_t ddgan__ref_unary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op,
                                double alpha, double beta, const void *a, void *out,
                                int accumulate);
ddgan_status_t ddgan__ref_reduce(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op,
                                 const int64_t shape[4], unsigned axes_mask, const void *x,
                                 void *out, int accumulate);
ddgan_status_t ddgan__ref_adam(ddgan_backend *be, const ddgan_adam_desc *d, void *param,
                               const void *grad, void *m, void *v);
ddgan_status_t ddgan__ref_ema(ddgan_backend *be, ddgan_dtype dt, size_t n, double decay, void *ema,
                              const void *param);
ddgan_status_t ddgan__ref_rand_normal(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                      uint64_t stream, uint64_t first_block, void *out);
ddgan_status_t ddgan__ref_rand_uniform(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                       uint64_t stream, uint64_t first_block, void *out);

#endif
