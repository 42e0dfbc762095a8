/*
 * Minibatch standard deviation (reference 3.6), with its backward, its JVP
 * and the second-order term R1 needs (docs/r1.md).
 *
 * x [B, C, H, W] is viewed as [G, M, K] (K = C*H*W, example n = g*M + m):
 *   mu[m,k]    = mean_g x[g,m,k]
 *   d[g,m,k]   = x[g,m,k] - mu[m,k]
 *   sigma[m,k] = sqrt(mean_g d^2 + 1e-8)
 *   s[m]       = mean_k sigma[m,k]
 *   y = cat([x, s[n mod M] broadcast over H, W])
 * Derivatives (sums over g run within one statistic m):
 *   ds_m/dx[g,m,k] = d[g,m,k] / (G K sigma[m,k])
 *   (H_m u)[g,k]   = (1/K) [ (u_g - mean_g u) / (G sigma) - d_g P / (G^2 sigma^3) ],
 *                    P[m,k] = sum_g d[g,m,k] u[g,m,k]
 */
#include <string.h>

#include "core/error.h"
#include "nn/layers.h"

ddgan_status_t ddgan__mbstd_check_batch(int n, const char *fn)
{
    if (n < 1 || (n > 4 && n % 4 != 0))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: batch %d is not supported by the minibatch-stddev layer (group size "
                         "min(batch, 4) must divide the batch: use a batch < 4 or a multiple of 4, "
                         "as the official code requires)",
                         fn, n);
    return DDGAN_OK;
}

typedef struct view {
    int G, M, C, H, W;
    int64_t K;
} view;

static view make_view(const ddgan_tensor *x)
{
    view v;
    v.G = x->n < 4 ? x->n : 4;
    v.M = x->n / v.G;
    v.C = x->c;
    v.H = x->h;
    v.W = x->w;
    v.K = (int64_t)x->c * x->h * x->w;
    return v;
}

/* ew descriptor over [G, M, K, 1], all operands dense [G, M, K] unless changed */
static void gmk_desc(ddgan_ew_desc *d, ddgan_dtype dt, const view *v)
{
    memset(d, 0, sizeof *d);
    d->dtype = dt;
    const int64_t shape[4] = {v->G, v->M, v->K, 1};
    const int64_t dense[4] = {(int64_t)v->M * v->K, v->K, 1, 1};
    memcpy(d->shape, shape, sizeof shape);
    memcpy(d->a_strides, dense, sizeof dense);
    memcpy(d->b_strides, dense, sizeof dense);
}
/* operand b (or a) broadcast over g: an [M, K] array */
static const int64_t MK_OVER_G[4] = {0, -1, 1, 0}; /* [1] filled with K */

static void set_mk(int64_t strides[4], const view *v)
{
    memcpy(strides, MK_OVER_G, sizeof MK_OVER_G);
    strides[1] = v->K;
}
static void set_m(int64_t strides[4])
{
    strides[0] = 0;
    strides[1] = 1;
    strides[2] = 0;
    strides[3] = 0;
}

/* Writes s [M] into channel C of y [B, C+1, H, W] (accumulating or not). */
static ddgan_status_t write_stat_channel(ddgan_exec *ex, const view *v, const void *s, void *y,
                                         int accumulate)
{
    ddgan_ew_desc d;
    memset(&d, 0, sizeof d);
    d.dtype = ex->dt;
    const int64_t hw = (int64_t)v->H * v->W, cs = (int64_t)(v->C + 1) * hw;
    const int64_t shape[4] = {v->G, v->M, v->H, v->W};
    const int64_t out[4] = {(int64_t)v->M * cs, cs, v->W, 1};
    memcpy(d.shape, shape, sizeof shape);
    set_m(d.a_strides);
    memcpy(d.out_strides, out, sizeof out);
    char *base = (char *)y + (size_t)v->C * (size_t)hw * ex->dsz;
    return DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, s, base, accumulate);
}

/* x [B, C, ...] into / out of channels [0, C) of y [B, C+1, ...] */
static ddgan_status_t copy_main_channels(ddgan_exec *ex, const view *v, const void *src, void *dst,
                                         int into_y, int accumulate)
{
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, v->G * v->M, v->C, v->H, v->W);
    const int64_t hw = (int64_t)v->H * v->W;
    const int64_t ys[4] = {(int64_t)(v->C + 1) * hw, hw, v->W, 1};
    if (into_y)
        memcpy(d.out_strides, ys, sizeof ys);
    else
        memcpy(d.a_strides, ys, sizeof ys);
    return DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, src, dst, accumulate);
}

/* GS[m] = sum over g, h, w of g_out[g*M+m, C, h, w] (the output gradient of the extra channel) */
static ddgan_status_t stat_channel_grad(ddgan_exec *ex, const view *v, const ddgan_tensor *gout,
                                        ddgan_tensor *gs)
{
    ddgan_tensor tmp;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &tmp, v->G, v->M, v->H, v->W));
    DDGAN_TRY(ddgan__tensor_alloc(ex, gs, v->M, 1, 1, 1));
    ddgan_ew_desc d;
    memset(&d, 0, sizeof d);
    d.dtype = ex->dt;
    const int64_t hw = (int64_t)v->H * v->W, cs = (int64_t)(v->C + 1) * hw;
    const int64_t shape[4] = {v->G, v->M, v->H, v->W};
    const int64_t in[4] = {(int64_t)v->M * cs, cs, v->W, 1};
    memcpy(d.shape, shape, sizeof shape);
    memcpy(d.a_strides, in, sizeof in);
    const char *base = (const char *)gout->data + (size_t)v->C * (size_t)hw * ex->dsz;
    DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, base, tmp.data, 0));
    return DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, 0xDu, tmp.data, gs->data, 0);
}

ddgan_status_t ddgan__mbstd_forward(ddgan_exec *ex, const ddgan_tensor *x, ddgan_mbstd_saved *s,
                                    ddgan_tensor *y)
{
    DDGAN_TRY(ddgan__mbstd_check_batch(x->n, "minibatch stddev"));
    const view v = make_view(x);
    s->groups = v.G;
    s->stats = v.M;
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, x->c + 1, x->h, x->w));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s->d, x->n, x->c, x->h, x->w));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s->sigma, v.M, x->c, x->h, x->w));
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_tensor mu, stat;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &mu, v.M, x->c, x->h, x->w));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &stat, v.M, 1, 1, 1));
    const int64_t gmk[4] = {v.G, v.M, v.K, 1};
    const int64_t mk[4] = {v.M, v.K, 1, 1};
    ddgan_ew_desc d;
    gmk_desc(&d, ex->dt, &v);
    set_mk(d.b_strides, &v);
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_MEAN, gmk, 1u, x->data, mu.data, 0));
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, -1.0, x->data, mu.data, s->d.data, 0));
    /* reuse y's storage? no: square into a temporary of the full size */
    ddgan_tensor sq;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &sq, x->n, x->c, x->h, x->w));
    gmk_desc(&d, ex->dt, &v);
    DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SQUARE, 1.0, 0.0, s->d.data, sq.data, 0));
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_MEAN, gmk, 1u, sq.data, s->sigma.data, 0));
    ddgan_ew_desc dm;
    ddgan__ew_dense(&dm, ex->dt, v.M, x->c, x->h, x->w);
    DDGAN_TRY(DDGAN_K(ex, unary, &dm, DDGAN_UN_SQRT, 1.0, 1e-8, s->sigma.data, s->sigma.data, 0));
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_MEAN, mk, 2u, s->sigma.data, stat.data, 0));
    DDGAN_TRY(copy_main_channels(ex, &v, x->data, y->data, 1, 0));
    DDGAN_TRY(write_stat_channel(ex, &v, stat.data, y->data, 0));
    ddgan__arena_release(ex->arena, mark);
    return DDGAN_OK;
}

ddgan_status_t ddgan__mbstd_backward(ddgan_exec *ex, const ddgan_mbstd_saved *s,
                                     const ddgan_tensor *dy, ddgan_tensor *dx)
{
    const view v = make_view(&s->d);
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, dx, s->d.n, s->d.c, s->d.h, s->d.w, &st);
    if (acc < 0)
        return st;
    DDGAN_TRY(copy_main_channels(ex, &v, dy->data, dx->data, 0, acc));
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_tensor gs, r;
    DDGAN_TRY(stat_channel_grad(ex, &v, dy, &gs));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &r, s->d.n, s->d.c, s->d.h, s->d.w));
    ddgan_ew_desc d;
    gmk_desc(&d, ex->dt, &v);
    set_mk(d.b_strides, &v);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_DIV, 1.0, 0.0, s->d.data, s->sigma.data, r.data, 0));
    gmk_desc(&d, ex->dt, &v);
    set_m(d.b_strides);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0 / ((double)v.G * (double)v.K), 0.0, r.data,
                      gs.data, dx->data, 1));
    ddgan__arena_release(ex->arena, mark);
    return DDGAN_OK;
}

/* P[m,k] = sum_g d u */
static ddgan_status_t sum_d_u(ddgan_exec *ex, const view *v, const ddgan_mbstd_saved *s,
                              const ddgan_tensor *u, ddgan_tensor *P)
{
    ddgan_tensor du;
    DDGAN_TRY(ddgan__tensor_alloc(ex, P, v->M, v->C, v->H, v->W));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &du, s->d.n, v->C, v->H, v->W));
    ddgan_ew_desc d;
    gmk_desc(&d, ex->dt, v);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0, 0.0, s->d.data, u->data, du.data, 0));
    const int64_t gmk[4] = {v->G, v->M, v->K, 1};
    return DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, gmk, 1u, du.data, P->data, 0);
}

ddgan_status_t ddgan__mbstd_jvp(ddgan_exec *ex, const ddgan_mbstd_saved *s, const ddgan_tensor *u,
                                ddgan_tensor *out)
{
    const view v = make_view(&s->d);
    DDGAN_TRY(ddgan__tensor_alloc(ex, out, u->n, u->c + 1, u->h, u->w));
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_tensor P, ds;
    DDGAN_TRY(sum_d_u(ex, &v, s, u, &P));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &ds, v.M, 1, 1, 1));
    ddgan_ew_desc dm;
    ddgan__ew_dense(&dm, ex->dt, v.M, v.C, v.H, v.W);
    /* P / (G sigma), then the mean over k */
    DDGAN_TRY(DDGAN_K(ex, binary, &dm, DDGAN_BIN_DIV, 1.0 / v.G, 0.0, P.data, s->sigma.data, P.data, 0));
    const int64_t mk[4] = {v.M, v.K, 1, 1};
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_MEAN, mk, 2u, P.data, ds.data, 0));
    DDGAN_TRY(copy_main_channels(ex, &v, u->data, out->data, 1, 0));
    DDGAN_TRY(write_stat_channel(ex, &v, ds.data, out->data, 0));
    ddgan__arena_release(ex->arena, mark);
    return DDGAN_OK;
}

ddgan_status_t ddgan__mbstd_hvp(ddgan_exec *ex, const ddgan_mbstd_saved *s, const ddgan_tensor *u,
                                const ddgan_tensor *g, ddgan_tensor *a)
{
    const view v = make_view(&s->d);
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, a, u->n, u->c, u->h, u->w, &st);
    if (acc < 0)
        return st;
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_tensor gs, P, ubar, t1, t2;
    DDGAN_TRY(stat_channel_grad(ex, &v, g, &gs));
    DDGAN_TRY(sum_d_u(ex, &v, s, u, &P));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &ubar, v.M, v.C, v.H, v.W));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &t1, u->n, v.C, v.H, v.W));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &t2, u->n, v.C, v.H, v.W));
    const int64_t gmk[4] = {v.G, v.M, v.K, 1};
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_MEAN, gmk, 1u, u->data, ubar.data, 0));
    ddgan_ew_desc d;
    /* t1 = (u - ubar) / (G sigma) */
    gmk_desc(&d, ex->dt, &v);
    set_mk(d.b_strides, &v);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, -1.0, u->data, ubar.data, t1.data, 0));
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_DIV, 1.0 / v.G, 0.0, t1.data, s->sigma.data, t1.data, 0));
    /* Q = P / (G^2 sigma^3) (in place in P) */
    ddgan_ew_desc dm;
    ddgan__ew_dense(&dm, ex->dt, v.M, v.C, v.H, v.W);
    DDGAN_TRY(DDGAN_K(ex, binary, &dm, DDGAN_BIN_DIV, 1.0 / ((double)v.G * v.G), 0.0, P.data,
                      s->sigma.data, P.data, 0));
    DDGAN_TRY(DDGAN_K(ex, binary, &dm, DDGAN_BIN_DIV, 1.0, 0.0, P.data, s->sigma.data, P.data, 0));
    DDGAN_TRY(DDGAN_K(ex, binary, &dm, DDGAN_BIN_DIV, 1.0, 0.0, P.data, s->sigma.data, P.data, 0));
    /* t2 = d * Q;  t1 = t1 - t2 */
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0, 0.0, s->d.data, P.data, t2.data, 0));
    gmk_desc(&d, ex->dt, &v);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, -1.0, t1.data, t2.data, t1.data, 0));
    /* a (+)= t1 * GS[m] / K */
    set_m(d.b_strides);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0 / (double)v.K, 0.0, t1.data, gs.data,
                      a->data, acc));
    ddgan__arena_release(ex->arena, mark);
    return DDGAN_OK;
}
