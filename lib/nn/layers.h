/*
 * Layers: explicit forward / backward code per layer (llm.c style), built on
 * the backend op set. Shapes are NCHW; vectors are [n, c, 1, 1].
 *
 * Conventions (docs/engine.md):
 *  - Forward functions allocate their outputs from the exec arena.
 *  - Backward functions take the forward inputs (and outputs where needed),
 *    the output gradient, and an input-gradient tensor `dx` that may be NULL
 *    (not needed); gradient tensors follow ddgan__grad_target: data NULL =
 *    allocate and overwrite, data set = accumulate. Weight gradients are
 *    ACCUMULATED into ex->grads at the parameters' offsets, and skipped when
 *    ex->grads is NULL (a frozen network).
 *  - Layers on the discriminator's input path also have the two R1 sweeps
 *    (docs/r1.md): `_jvp` propagates a tangent u forward (J u, no bias), and
 *    `_r1_wgrad` adds d/dtheta <J(theta) u, g> to the weight gradients.
 */
#ifndef DDGAN_NN_LAYERS_H
#define DDGAN_NN_LAYERS_H

#include "nn/exec.h"
#include "nn/params.h"

/* ------------------------------------------------------------------------ */
/* Convolution: "<name>.weight" [c_out, c_in, k, k], "<name>.bias" [c_out]. */
typedef struct ddgan_conv {
    int c_in, c_out, k, stride;
    int pad_t, pad_l, pad_b, pad_r;
    int has_bias;
    size_t w_off, b_off;
} ddgan_conv;

ddgan_status_t ddgan__conv_init(ddgan_conv *L, ddgan_param_table *pt, const char *name, int c_in,
                                int c_out, int k, int stride, int pad, int has_bias,
                                ddgan_init_kind init, double scale);
/* Asymmetric zero padding (top, left, bottom, right). */
void ddgan__conv_set_pads(ddgan_conv *L, int pad_t, int pad_l, int pad_b, int pad_r);
ddgan_status_t ddgan__conv_forward(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *x,
                                   ddgan_tensor *y);
/* The same into y, allocated by the caller with the output's shape (so that
 * the caller can release what it allocated after y). */
ddgan_status_t ddgan__conv_forward_into(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *x,
                                        const ddgan_tensor *y);
ddgan_status_t ddgan__conv_backward(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *x,
                                    const ddgan_tensor *dy, ddgan_tensor *dx);
ddgan_status_t ddgan__conv_jvp(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *u,
                               ddgan_tensor *out);
ddgan_status_t ddgan__conv_r1_wgrad(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *u,
                                    const ddgan_tensor *g);

/* ------------------------------------------------------------------------ */
/* Dense (Linear): "<name>.weight" [out, in], "<name>.bias" [out]; x [n, in, 1, 1]. */
typedef struct ddgan_dense {
    int in, out;
    int has_bias;
    size_t w_off, b_off;
} ddgan_dense;

ddgan_status_t ddgan__dense_init(ddgan_dense *L, ddgan_param_table *pt, const char *name, int in,
                                 int out, int has_bias, ddgan_init_kind init, double scale);
ddgan_status_t ddgan__dense_forward(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *x,
                                    ddgan_tensor *y);
ddgan_status_t ddgan__dense_backward(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *x,
                                     const ddgan_tensor *dy, ddgan_tensor *dx);
ddgan_status_t ddgan__dense_jvp(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *u,
                                ddgan_tensor *out);
ddgan_status_t ddgan__dense_r1_wgrad(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *u,
                                     const ddgan_tensor *g);

/* ------------------------------------------------------------------------ */
/* Activations (no parameters). For LeakyReLU the JVP is the backward applied
 * to the tangent (the slope pattern of x), and its second-order term is zero. */
ddgan_status_t ddgan__act_forward(ddgan_exec *ex, ddgan_act act, double alpha, const ddgan_tensor *x,
                                  ddgan_tensor *y);
/* y (the forward output) is needed for tanh and sigmoid; may be NULL otherwise */
ddgan_status_t ddgan__act_backward(ddgan_exec *ex, ddgan_act act, double alpha,
                                   const ddgan_tensor *x, const ddgan_tensor *y,
                                   const ddgan_tensor *dy, ddgan_tensor *dx);

/* ------------------------------------------------------------------------ */
/* FIR resampling with a 1-D kernel k (reference 2.2.7): the 2-D kernel is
 * outer(k, k) / sum(outer(k, k)) * gain. Linear: the JVP is the forward. */
typedef struct ddgan_fir {
    int taps;
    double k[DDGAN_UPFIRDN_MAX_TAPS]; /* normalised so sum(k) = 1 */
} ddgan_fir;

/* From the official fir_kernel list (e.g. {1,3,3,1}); refuses empty/too long/zero-sum kernels. */
ddgan_status_t ddgan__fir_init(ddgan_fir *f, const double *kernel, int taps);
/* x2 up as upsample_2d: gain 4, pads ((p+1)/2 + 1, p/2) with p = taps - 2;
 * x2 down as downsample_2d: pads ((p+1)/2, p/2). [1,3,3,1] gives (2,1) and (1,1). */
ddgan_status_t ddgan__fir_up_forward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *x,
                                     ddgan_tensor *y);
ddgan_status_t ddgan__fir_up_backward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *dy,
                                      ddgan_tensor *dx);
ddgan_status_t ddgan__fir_down_forward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *x,
                                       ddgan_tensor *y);
/* The same into an allocated y of the output's shape. */
ddgan_status_t ddgan__fir_down_forward_into(ddgan_exec *ex, const ddgan_fir *f,
                                            const ddgan_tensor *x, const ddgan_tensor *y);
ddgan_status_t ddgan__fir_down_backward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *dy,
                                        ddgan_tensor *dx);

/* FIR conv-downsample (the input pyramid's Conv2d_0, conv_downsample_2d):
 * blur (up 1, down 1) with pads ((p+1)/2, p/2), p = taps - 2 + k - 1, i.e.
 * (2, 2) for [1,3,3,1] and a 3x3 conv, then the k x k convolution with
 * stride 2 and no padding, plus bias. */
typedef struct ddgan_fir_conv_down {
    ddgan_fir fir;
    ddgan_conv conv; /* stride 2, pad 0 */
} ddgan_fir_conv_down;

ddgan_status_t ddgan__fir_conv_down_init(ddgan_fir_conv_down *L, ddgan_param_table *pt,
                                         const char *name, int c_in, int c_out, int k,
                                         const ddgan_fir *fir, double init_scale);
/* `blurred` receives the intermediate (kept for the backward). */
ddgan_status_t ddgan__fir_conv_down_forward(ddgan_exec *ex, const ddgan_fir_conv_down *L,
                                            const ddgan_tensor *x, ddgan_tensor *blurred,
                                            ddgan_tensor *y);
ddgan_status_t ddgan__fir_conv_down_backward(ddgan_exec *ex, const ddgan_fir_conv_down *L,
                                             const ddgan_tensor *blurred, const ddgan_tensor *dy,
                                             ddgan_tensor *dx);

/* ------------------------------------------------------------------------ */
/* Shape and combination helpers (no parameters). */

/* y = cat([a, b], channels) */
ddgan_status_t ddgan__concat_forward(ddgan_exec *ex, const ddgan_tensor *a, const ddgan_tensor *b,
                                     ddgan_tensor *y);
/* da/db (each may be NULL) from dy */
ddgan_status_t ddgan__concat_backward(ddgan_exec *ex, const ddgan_tensor *dy, ddgan_tensor *da,
                                      ddgan_tensor *db);
/* y = alpha * a + beta * b (same shapes); backward: da += alpha dy, db += beta dy */
ddgan_status_t ddgan__axpby_forward(ddgan_exec *ex, double alpha, const ddgan_tensor *a, double beta,
                                    const ddgan_tensor *b, ddgan_tensor *y);
ddgan_status_t ddgan__axpby_backward(ddgan_exec *ex, double alpha, double beta,
                                     const ddgan_tensor *dy, ddgan_tensor *da, ddgan_tensor *db);
/* y [n,c,h,w] = x + v[n,c] broadcast over h, w (in place allowed: y == x) */
ddgan_status_t ddgan__add_channel_bias(ddgan_exec *ex, const ddgan_tensor *x, const ddgan_tensor *v,
                                       ddgan_tensor *y);
/* dv (+)= sum over h, w of dy */
ddgan_status_t ddgan__add_channel_bias_backward(ddgan_exec *ex, const ddgan_tensor *dy,
                                                ddgan_tensor *dv);
/* Sum pooling over h, w: y [n, c, 1, 1]; backward broadcasts. */
ddgan_status_t ddgan__sum_pool_forward(ddgan_exec *ex, const ddgan_tensor *x, ddgan_tensor *y);
ddgan_status_t ddgan__sum_pool_backward(ddgan_exec *ex, const ddgan_tensor *dy, int h, int w,
                                        ddgan_tensor *dx);

/* ------------------------------------------------------------------------ */
/* Sinusoidal timestep embedding E(t, dim) (reference 2.2.5), computed in the
 * network's precision with the official float32 operations. The host scratch
 * is allocated once (ddgan__temb_init) for up to max_batch examples. */
typedef struct ddgan_temb {
    int dim;
    int max_batch;
    void *host; /* max_batch * dim elements of the exec dtype */
    ddgan_dtype dt;
} ddgan_temb;

ddgan_status_t ddgan__temb_init(ddgan_temb *e, int dim, int max_batch, ddgan_dtype dt);
void ddgan__temb_free(ddgan_temb *e);
/* y [n, dim, 1, 1] from integer t[0..n) (host array) */
ddgan_status_t ddgan__temb_forward(ddgan_exec *ex, ddgan_temb *e, const int64_t *t, int n,
                                   ddgan_tensor *y);

/* ------------------------------------------------------------------------ */
/* Minibatch standard deviation (reference 3.6): y = cat([x, s]) with one
 * extra channel; group G = min(n, 4), M = n / G statistics, strided groups
 * (example i uses statistic i mod M). n must be < 4 or a multiple of 4.
 * The forward keeps what the backward and the R1 sweeps need. */
typedef struct ddgan_mbstd_saved {
    ddgan_tensor d;     /* x - mean over the group, [G, M, C*H*W] as [n, c, h, w] */
    ddgan_tensor sigma; /* sqrt(var + 1e-8), [M, C*H*W] as [M, c, h, w] */
    int groups, stats;
} ddgan_mbstd_saved;

/* Refuses batches the official code cannot reshape, with a clear message. */
ddgan_status_t ddgan__mbstd_check_batch(int n, const char *fn);
ddgan_status_t ddgan__mbstd_forward(ddgan_exec *ex, const ddgan_tensor *x, ddgan_mbstd_saved *s,
                                    ddgan_tensor *y);
ddgan_status_t ddgan__mbstd_backward(ddgan_exec *ex, const ddgan_mbstd_saved *s,
                                     const ddgan_tensor *dy, ddgan_tensor *dx);
/* Tangent: out = J u (u over the input, out over the output incl. the extra channel). */
ddgan_status_t ddgan__mbstd_jvp(ddgan_exec *ex, const ddgan_mbstd_saved *s, const ddgan_tensor *u,
                                ddgan_tensor *out);
/* Second-order term of R1: a (+)= d/dx <J(x) u, g> where g is the first-order
 * output gradient (over the output incl. the extra channel). */
ddgan_status_t ddgan__mbstd_hvp(ddgan_exec *ex, const ddgan_mbstd_saved *s, const ddgan_tensor *u,
                                const ddgan_tensor *g, ddgan_tensor *a);

/* ------------------------------------------------------------------------ */
/* Group normalisation (reference 2.2.2): groups G = min(C / 4, 32) in G; eps 1e-6.
 * "<name>.weight"/"<name>.bias" [C] when affine. */
typedef struct ddgan_group_norm {
    int c, groups;
    double eps;
    int affine;
    size_t w_off, b_off;
} ddgan_group_norm;

typedef struct ddgan_gn_saved {
    ddgan_tensor mean, rstd; /* [n, groups] */
} ddgan_gn_saved;

/* Refuses c not divisible by groups with a message naming both. */
ddgan_status_t ddgan__group_norm_init(ddgan_group_norm *L, ddgan_param_table *pt, const char *name,
                                      int c, int groups, double eps, int affine);
ddgan_status_t ddgan__group_norm_forward(ddgan_exec *ex, const ddgan_group_norm *L,
                                         const ddgan_tensor *x, ddgan_gn_saved *s, ddgan_tensor *y);
ddgan_status_t ddgan__group_norm_backward(ddgan_exec *ex, const ddgan_group_norm *L,
                                          const ddgan_tensor *x, const ddgan_gn_saved *s,
                                          const ddgan_tensor *dy, ddgan_tensor *dx);

/* AdaptiveGroupNorm (reference 2.2.3): non-affine GN, then gamma * GN(x) + beta
 * with [gamma, beta] = style(zemb), style "<name>.style" dense z_dim -> 2C. */
typedef struct ddgan_adagn {
    ddgan_group_norm gn;
    ddgan_dense style;
} ddgan_adagn;

typedef struct ddgan_adagn_saved {
    ddgan_gn_saved gn;
    ddgan_tensor normed; /* GN(x) */
    ddgan_tensor style;  /* [n, 2C] */
} ddgan_adagn_saved;

ddgan_status_t ddgan__adagn_init(ddgan_adagn *L, ddgan_param_table *pt, const char *name, int c,
                                 int z_dim);
ddgan_status_t ddgan__adagn_forward(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                    const ddgan_tensor *zemb, ddgan_adagn_saved *s, ddgan_tensor *y);
/* The forward in two steps (adagn_forward = stats, then apply; the same ops):
 * stats fills s (style, GN statistics, GN(x)); apply computes y from s. A
 * backward that recomputes the layer can keep s and recompute y when needed. */
ddgan_status_t ddgan__adagn_stats(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                  const ddgan_tensor *zemb, ddgan_adagn_saved *s);
ddgan_status_t ddgan__adagn_apply(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_adagn_saved *s,
                                  ddgan_tensor *y);
/* y = act(AdaGN(x, zemb)) for inference and recording forwards that do not
 * keep the norm: the backend's fused op when it has one (same bits as
 * adagn_forward followed by act_forward), else those ops. */
ddgan_status_t ddgan__adagn_act_forward(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                        const ddgan_tensor *zemb, ddgan_act act, double alpha,
                                        ddgan_tensor *y);
/* dzemb may be NULL */
ddgan_status_t ddgan__adagn_backward(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                     const ddgan_tensor *zemb, const ddgan_adagn_saved *s,
                                     const ddgan_tensor *dy, ddgan_tensor *dx,
                                     ddgan_tensor *dzemb);

/* PixelNorm (reference 2.2.4) over the channel axis of z [n, c, 1, 1]. */
typedef struct ddgan_pixelnorm_saved {
    ddgan_tensor rnorm; /* [n] 1 / sqrt(mean(z^2) + 1e-8) */
} ddgan_pixelnorm_saved;
ddgan_status_t ddgan__pixelnorm_forward(ddgan_exec *ex, const ddgan_tensor *x,
                                        ddgan_pixelnorm_saved *s, ddgan_tensor *y);
ddgan_status_t ddgan__pixelnorm_backward(ddgan_exec *ex, const ddgan_tensor *x,
                                         const ddgan_pixelnorm_saved *s, const ddgan_tensor *dy,
                                         ddgan_tensor *dx);

/* Self-attention block AttnBlockpp (reference 2.4):
 * (x + NIN_3(attend(NIN_0..2(GN(x))))) / sqrt(2). NIN weights are [in, out]. */
typedef struct ddgan_nin {
    int in, out;
    size_t w_off, b_off;
} ddgan_nin;

typedef struct ddgan_attn {
    int c;
    ddgan_group_norm gn;
    ddgan_nin nin[4];
} ddgan_attn;

typedef struct ddgan_attn_saved {
    ddgan_gn_saved gn;
    ddgan_tensor h, q, k, v; /* GN output and the projections [n, c, h, w] */
    ddgan_tensor w;          /* softmax weights [n, hw, hw] */
    ddgan_tensor o;          /* attention output before NIN_3 */
} ddgan_attn_saved;

ddgan_status_t ddgan__attn_init(ddgan_attn *L, ddgan_param_table *pt, const char *name, int c);
ddgan_status_t ddgan__attn_forward(ddgan_exec *ex, const ddgan_attn *L, const ddgan_tensor *x,
                                   ddgan_attn_saved *s, ddgan_tensor *y);
ddgan_status_t ddgan__attn_backward(ddgan_exec *ex, const ddgan_attn *L, const ddgan_tensor *x,
                                    const ddgan_attn_saved *s, const ddgan_tensor *dy,
                                    ddgan_tensor *dx);

#endif
