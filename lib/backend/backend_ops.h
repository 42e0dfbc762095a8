/*
 * The compute op set of the backend interface (part of backend_impl.h's ABI).
 *
 * Conventions shared by every op:
 *  - Tensors are dense, row-major NCHW device arrays of `dtype` elements.
 *    DDGAN_DT_F64 exists so the reference backend can run whole networks in
 *    float64 for tight gradient checks; other backends may refuse it with
 *    DDGAN_ERR_UNSUPPORTED.
 *  - `accumulate` = 0 overwrites the output, 1 adds the result to it. Backward
 *    ops use it to sum gradients from several consumers.
 *  - Optional pointers (bias, gradients that are not needed) may be NULL.
 *  - Outputs never alias inputs, except in the elementwise ops (binary,
 *    unary, act_fwd, act_bwd): there `out` may be the same array as an input
 *    read with the same layout (in-place updates such as y = y + bias).
 *  - Results must be reproducible: "ref" is bit-for-bit identical for any
 *    thread count (fixed-order reductions); other backends must at least be
 *    bit-identical for a fixed thread count (the cpu plug-in's oneDNN
 *    weight-gradient reduction depends on the thread split).
 *  - Scalars (alpha, eps, lr, ...) are passed as double and converted to the
 *    tensor type once, inside the op.
 */
#ifndef DDGAN_BACKEND_OPS_H
#define DDGAN_BACKEND_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

typedef struct ddgan_backend ddgan_backend;

typedef enum ddgan_dtype {
    DDGAN_DT_F32 = 0,
    DDGAN_DT_F64 = 1
} ddgan_dtype;

static inline size_t ddgan_dtype_size(ddgan_dtype dt) { return dt == DDGAN_DT_F64 ? 8 : 4; }

/* ------------------------------------------------------------------------ */
/* 2-D convolution (cross-correlation, as PyTorch), groups = 1, dilation 1.
 *   x [n, c_in, h, w], weight [c_out, c_in, kh, kw], bias [c_out],
 *   y [n, c_out, h_out, w_out], h_out = (h + pad_t + pad_b - kh) / stride + 1.
 * Padding is zero and may be asymmetric (the non-FIR pyramid pads right and
 * bottom only). ddgan__conv2d_desc_finish fills h_out/w_out and validates. */
typedef struct ddgan_conv2d_desc {
    ddgan_dtype dtype;
    int n, c_in, h, w;
    int c_out, kh, kw;
    int stride; /* both axes */
    int pad_t, pad_l, pad_b, pad_r;
    int h_out, w_out; /* derived */
} ddgan_conv2d_desc;

/* ------------------------------------------------------------------------ */
/* Batched matrix product, row-major:
 *   C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b],  b = 0..batch-1
 * op(A) is m x k (A is m x k, or k x m when trans_a), op(B) is k x n.
 * lda/ldb/ldc are row strides in elements; stride_a/b/c the batch strides
 * (0 broadcasts one matrix over the batch). beta = 0 ignores C's contents
 * (NaN in C does not propagate). */
typedef struct ddgan_matmul_desc {
    ddgan_dtype dtype;
    int batch, m, n, k;
    int trans_a, trans_b;
    int64_t lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c;
    double alpha, beta;
} ddgan_matmul_desc;

/* ------------------------------------------------------------------------ */
/* Group normalisation over x [n, c, hw] with `groups` groups of c/groups
 * consecutive channels; biased variance; y = (x - mean) * rstd (* gamma[c] +
 * beta[c] when gamma/beta are given). mean and rstd [n * groups] are saved
 * for the backward. */
typedef struct ddgan_group_norm_desc {
    ddgan_dtype dtype;
    int n, c, hw, groups;
    double eps;
} ddgan_group_norm_desc;

/* ------------------------------------------------------------------------ */
/* Pointwise activations. */
typedef enum ddgan_act {
    DDGAN_ACT_SILU = 0,     /* x * sigmoid(x) */
    DDGAN_ACT_LRELU = 1,    /* x >= 0 ? x : alpha * x  (the official LeakyReLU(0.2)) */
    DDGAN_ACT_TANH = 2,
    DDGAN_ACT_SOFTPLUS = 3, /* log(1 + exp(x)), computed stably */
    DDGAN_ACT_SIGMOID = 4
} ddgan_act;

/* ------------------------------------------------------------------------ */
/* upfirdn2d (reference 2.2.7) on x [n, c, h, w], per channel and separably:
 * upsample by `up` (insert up-1 zeros), pad pad0 before and pad1 after on
 * both axes, correlate with the 2-D kernel outer(k, k) where k = kernel[0..taps)
 * (already scaled, e.g. [1,3,3,1]/8), keep every `down`-th sample.
 * h_out = (h*up + pad0 + pad1 - taps) / down + 1 (filled by _finish). */
#define DDGAN_UPFIRDN_MAX_TAPS 8
typedef struct ddgan_upfirdn_desc {
    ddgan_dtype dtype;
    int n, c, h, w;
    int up, down;
    int pad0, pad1;
    int taps;
    double kernel[DDGAN_UPFIRDN_MAX_TAPS];
    int h_out, w_out; /* derived */
} ddgan_upfirdn_desc;

/* ------------------------------------------------------------------------ */
/* Elementwise ops over a 4-D index space `shape` with per-operand strides in
 * elements (stride 0 broadcasts). The output is the dense tensor of `shape`
 * unless out_strides are given (non-NULL): that is how channel concat/split
 * write into and read out of slices. */
typedef enum ddgan_binary_op {
    DDGAN_BIN_AXPBY = 0, /* out = alpha * a + beta * b */
    DDGAN_BIN_MUL = 1,   /* out = alpha * a * b */
    DDGAN_BIN_DIV = 2    /* out = alpha * a / b */
} ddgan_binary_op;

typedef struct ddgan_ew_desc {
    ddgan_dtype dtype;
    int64_t shape[4];
    int64_t a_strides[4];
    int64_t b_strides[4];   /* ignored by unary ops */
    int64_t out_strides[4]; /* all zero = dense output of `shape` */
} ddgan_ew_desc;

typedef enum ddgan_unary_op {
    DDGAN_UN_SCALE = 0,  /* out = alpha * a + beta   (also copy: alpha 1, beta 0) */
    DDGAN_UN_SQUARE = 1, /* out = alpha * a * a */
    DDGAN_UN_SQRT = 2,   /* out = alpha * sqrt(a + beta) */
    DDGAN_UN_RSQRT = 3,  /* out = alpha / sqrt(a + beta) */
    DDGAN_UN_EXP = 4,    /* out = alpha * exp(a) */
    DDGAN_UN_LOG = 5,    /* out = alpha * log(a) */
    DDGAN_UN_SIN = 6,    /* out = alpha * sin(a) */
    DDGAN_UN_COS = 7     /* out = alpha * cos(a) */
} ddgan_unary_op;

/* Reductions over the axes whose bit is set in axes_mask (bit i = axis i of
 * the 4-D `shape`); the output keeps the other axes in order, dense. The
 * summation order is fixed: ascending index, one accumulator of the tensor
 * type per output element ("ref" accumulates float32 in double and rounds
 * once; other backends must stay within float32 rounding of that). */
typedef enum ddgan_reduce_op {
    DDGAN_RED_SUM = 0,
    DDGAN_RED_MEAN = 1,
    DDGAN_RED_SUMSQ = 2
} ddgan_reduce_op;

/* ------------------------------------------------------------------------ */
/* Adam over flat buffers, PyTorch's formula (reference 5.3), step s >= 1:
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   p -= (lr / (1 - b1^s)) * m / (sqrt(v) / sqrt(1 - b2^s) + eps) */
typedef struct ddgan_adam_desc {
    ddgan_dtype dtype;
    size_t n;
    double lr, beta1, beta2, eps;
    int64_t step;
} ddgan_adam_desc;

/* ------------------------------------------------------------------------ */
/* The ops table (appended to ddgan_backend_ops). Every function returns a
 * status; DDGAN_ERR_UNSUPPORTED for a dtype or shape the backend cannot do. */
typedef struct ddgan_backend_compute {
    /* convolution */
    ddgan_status_t (*conv2d_fwd)(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *x,
                                 const void *weight, const void *bias, void *y, int accumulate);
    /* dx (+)= the adjoint of the convolution applied to dy (= transposed conv) */
    ddgan_status_t (*conv2d_bwd_data)(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *dy,
                                      const void *weight, void *dx, int accumulate);
    /* dweight (+)= dL/dweight, dbias (+)= sum of dy over n, h, w (dbias may be NULL) */
    ddgan_status_t (*conv2d_bwd_weights)(ddgan_backend *be, const ddgan_conv2d_desc *d,
                                         const void *x, const void *dy, void *dweight, void *dbias,
                                         int accumulate);
    /* matrix product */
    ddgan_status_t (*matmul)(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                             const void *b, void *c);
    /* group norm */
    ddgan_status_t (*group_norm_fwd)(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                     const void *x, const void *gamma, const void *beta, void *y,
                                     void *mean, void *rstd);
    /* dx (+)= ..., dgamma/dbeta (+)= ... (each may be NULL; gamma NULL = non-affine) */
    ddgan_status_t (*group_norm_bwd)(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                     const void *dy, const void *x, const void *mean,
                                     const void *rstd, const void *gamma, void *dx, void *dgamma,
                                     void *dbeta, int accumulate);
    /* activations: y = f(x); dx (+)= dy * f'(x) (y = f(x) is passed for tanh/sigmoid) */
    ddgan_status_t (*act_fwd)(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                              size_t n, const void *x, void *y);
    ddgan_status_t (*act_bwd)(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                              size_t n, const void *x, const void *y, const void *dy, void *dx,
                              int accumulate);
    /* FIR resampling and its adjoint */
    ddgan_status_t (*upfirdn_fwd)(ddgan_backend *be, const ddgan_upfirdn_desc *d, const void *x,
                                  void *y, int accumulate);
    ddgan_status_t (*upfirdn_bwd)(ddgan_backend *be, const ddgan_upfirdn_desc *d, const void *dy,
                                  void *dx, int accumulate);
    /* row softmax over x [rows, cols]; backward dx (+)= y * (dy - sum(dy * y)) */
    ddgan_status_t (*softmax_fwd)(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                  const void *x, void *y);
    ddgan_status_t (*softmax_bwd)(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                  const void *y, const void *dy, void *dx, int accumulate);
    /* elementwise */
    ddgan_status_t (*binary)(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op,
                             double alpha, double beta, const void *a, const void *b, void *out,
                             int accumulate);
    ddgan_status_t (*unary)(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op,
                            double alpha, double beta, const void *a, void *out, int accumulate);
    ddgan_status_t (*reduce)(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op,
                             const int64_t shape[4], unsigned axes_mask, const void *x, void *out,
                             int accumulate);
    /* optimisers over flat buffers */
    ddgan_status_t (*adam)(ddgan_backend *be, const ddgan_adam_desc *d, void *param,
                           const void *grad, void *m, void *v);
    /* ema = decay * ema + (1 - decay) * param */
    ddgan_status_t (*ema)(ddgan_backend *be, ddgan_dtype dt, size_t n, double decay, void *ema,
                          const void *param);
    /* Philox draws (docs/rng.md) of stream (seed, stream) from block first_block */
    ddgan_status_t (*rand_normal)(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                  uint64_t stream, uint64_t first_block, void *out);
    ddgan_status_t (*rand_uniform)(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                   uint64_t stream, uint64_t first_block, void *out);
    /* Optional fused forward of AdaGN and an activation (NULL: the core runs
     * ddgan__adagn_act_compose below). x, y [n, c, hw]; d describes the
     * non-affine group norm; style [n, 2c] holds each sample's gamma (first
     * c) and beta (last c):
     *     y = act(gamma[n, c] * GN(x) + beta[n, c])
     * with every intermediate rounded to the tensor type exactly as the
     * composition rounds it, so a backend's fused op and its own composed
     * ops give the same bits (the generator uses both: the fused op in its
     * forward, the composition where the backward recomputes the norm). */
    ddgan_status_t (*adagn_act_fwd)(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                    const void *x, const void *style, ddgan_act act, double alpha,
                                    void *y);
    /* Optional hint (NULL: none). begin = 1 opens a scope in which the
     * device bytes [base, base + bytes) are not written (the sampler's
     * generator weights); until the matching call with begin = 0 the
     * backend may derive data from them (re-laid-out or transformed
     * convolution weights) and reuse it. A backend that keeps such data
     * beyond the scope must check that the weights are unchanged before
     * using it again. Scopes do not nest; results stay within the parity
     * bounds either way. */
    ddgan_status_t (*const_scope)(ddgan_backend *be, const void *base, size_t bytes, int begin);
} ddgan_backend_compute;

/* adagn_act_fwd's definition, on the ops of table k: group_norm_fwd into y,
 * then y = 1 * y * gamma, y = 1 * y + 1 * beta, y = act(y), in place. */
static inline ddgan_status_t ddgan__adagn_act_compose(const ddgan_backend_compute *k,
                                                      ddgan_backend *be,
                                                      const ddgan_group_norm_desc *d,
                                                      const void *x, const void *style,
                                                      ddgan_act act, double alpha, void *y)
{
    ddgan_status_t s = k->group_norm_fwd(be, d, x, NULL, NULL, y, NULL, NULL);
    if (s != DDGAN_OK)
        return s;
    const int64_t c = d->c, hw = d->hw;
    const ddgan_ew_desc e = {.dtype = d->dtype,
                             .shape = {d->n, c, hw, 1},
                             .a_strides = {c * hw, hw, 1, 1},
                             .b_strides = {2 * c, 1, 0, 0},
                             .out_strides = {0, 0, 0, 0}};
    s = k->binary(be, &e, DDGAN_BIN_MUL, 1.0, 0.0, y, style, y, 0);
    if (s != DDGAN_OK)
        return s;
    const void *beta = (const char *)style + (size_t)c * ddgan_dtype_size(d->dtype);
    s = k->binary(be, &e, DDGAN_BIN_AXPBY, 1.0, 1.0, y, beta, y, 0);
    if (s != DDGAN_OK)
        return s;
    return k->act_fwd(be, d->dtype, act, alpha, (size_t)d->n * (size_t)c * (size_t)hw, y, y);
}

/* Validation helpers shared by the core and every backend (header-only so
 * plug-ins need no core symbol). They return 0 and fill the derived fields
 * when the descriptor is consistent, -1 otherwise. */
static inline int ddgan__conv2d_desc_finish(ddgan_conv2d_desc *d)
{
    if (d->n < 1 || d->c_in < 1 || d->h < 1 || d->w < 1 || d->c_out < 1 || d->kh < 1 ||
        d->kw < 1 || (d->stride != 1 && d->stride != 2) || d->pad_t < 0 || d->pad_l < 0 ||
        d->pad_b < 0 || d->pad_r < 0)
        return -1;
    int hp = d->h + d->pad_t + d->pad_b, wp = d->w + d->pad_l + d->pad_r;
    if (hp < d->kh || wp < d->kw)
        return -1;
    d->h_out = (hp - d->kh) / d->stride + 1;
    d->w_out = (wp - d->kw) / d->stride + 1;
    return 0;
}

static inline int ddgan__upfirdn_desc_finish(ddgan_upfirdn_desc *d)
{
    if (d->n < 1 || d->c < 1 || d->h < 1 || d->w < 1 || d->up < 1 || d->down < 1 || d->pad0 < 0 ||
        d->pad1 < 0 || d->taps < 1 || d->taps > DDGAN_UPFIRDN_MAX_TAPS)
        return -1;
    int hp = d->h * d->up + d->pad0 + d->pad1, wp = d->w * d->up + d->pad0 + d->pad1;
    if (hp < d->taps || wp < d->taps)
        return -1;
    d->h_out = (hp - d->taps) / d->down + 1;
    d->w_out = (wp - d->taps) / d->down + 1;
    return 0;
}

#endif
