/*
 * PixelNorm (reference 2.2.4) over the channels of z [n, c, 1, 1]:
 *   r = 1 / sqrt(mean_c(z^2) + 1e-8),  y = z * r
 * computed as the official code does (square, mean, + eps, rsqrt, multiply).
 * Backward, with dr/dz_j = -r^3 z_j / c:
 *   dz = r dy - (r^3 / c) * (sum_c dy z) * z
 */
#include <string.h>

#include "core/error.h"
#include "nn/layers.h"

#define PIXELNORM_EPS 1e-8

/* A [n, c] tensor broadcast with a per-example scalar [n]. */
static void row_scalar_desc(ddgan_ew_desc *e, ddgan_dtype dt, int n, int c)
{
    ddgan__ew_dense(e, dt, n, c, 1, 1);
    e->b_strides[0] = 1;
    e->b_strides[1] = 0;
    e->b_strides[2] = 0;
    e->b_strides[3] = 0;
}

ddgan_status_t ddgan__pixelnorm_forward(ddgan_exec *ex, const ddgan_tensor *x,
                                        ddgan_pixelnorm_saved *s, ddgan_tensor *y)
{
    const int n = x->n, c = x->c * x->h * x->w;
    if (x->h != 1 || x->w != 1)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "PixelNorm: input [%d,%d,%d,%d] is not a vector",
                         x->n, x->c, x->h, x->w);
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s->rnorm, n, 1, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, n, x->c, 1, 1));
    /* y temporarily holds z^2 */
    ddgan_ew_desc e;
    ddgan__ew_dense(&e, ex->dt, n, c, 1, 1);
    DDGAN_TRY(DDGAN_K(ex, unary, &e, DDGAN_UN_SQUARE, 1.0, 0.0, x->data, y->data, 0));
    int64_t shape[4] = {n, c, 1, 1};
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_MEAN, shape, 1u << 1, y->data, s->rnorm.data,
                      0));
    ddgan_ew_desc r;
    ddgan__ew_dense(&r, ex->dt, n, 1, 1, 1);
    DDGAN_TRY(DDGAN_K(ex, unary, &r, DDGAN_UN_RSQRT, 1.0, PIXELNORM_EPS, s->rnorm.data,
                      s->rnorm.data, 0));
    row_scalar_desc(&e, ex->dt, n, c);
    return DDGAN_K(ex, binary, &e, DDGAN_BIN_MUL, 1.0, 0.0, x->data, s->rnorm.data, y->data, 0);
}

ddgan_status_t ddgan__pixelnorm_backward(ddgan_exec *ex, const ddgan_tensor *x,
                                         const ddgan_pixelnorm_saved *s, const ddgan_tensor *dy,
                                         ddgan_tensor *dx)
{
    const int n = x->n, c = x->c * x->h * x->w;
    if (!dx)
        return DDGAN_OK;
    if (dy->n != n || dy->c * dy->h * dy->w != c)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "PixelNorm backward: shape mismatch");
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, dx, x->n, x->c, x->h, x->w, &st);
    if (acc < 0)
        return st;
    ddgan_arena *a = ex->arena;
    size_t mark = ddgan__arena_mark(a);
    ddgan_tensor prod, dot, coef;
    ddgan_ew_desc e, v;
    int64_t shape[4] = {n, c, 1, 1};
    ddgan__ew_dense(&e, ex->dt, n, c, 1, 1);
    ddgan__ew_dense(&v, ex->dt, n, 1, 1, 1);
    if ((st = ddgan__tensor_alloc(ex, &prod, n, c, 1, 1)) != DDGAN_OK ||
        (st = ddgan__tensor_alloc(ex, &dot, n, 1, 1, 1)) != DDGAN_OK ||
        (st = ddgan__tensor_alloc(ex, &coef, n, 1, 1, 1)) != DDGAN_OK)
        goto out;
    /* dot = sum_c dy * z */
    if ((st = DDGAN_K(ex, binary, &e, DDGAN_BIN_MUL, 1.0, 0.0, dy->data, x->data, prod.data, 0)) !=
            DDGAN_OK ||
        (st = DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, 1u << 1, prod.data, dot.data, 0)) !=
            DDGAN_OK)
        goto out;
    /* coef = -(r^3 / c) * dot */
    if ((st = DDGAN_K(ex, unary, &v, DDGAN_UN_SQUARE, 1.0, 0.0, s->rnorm.data, coef.data, 0)) !=
            DDGAN_OK ||
        (st = DDGAN_K(ex, binary, &v, DDGAN_BIN_MUL, 1.0, 0.0, coef.data, s->rnorm.data, coef.data,
                      0)) != DDGAN_OK ||
        (st = DDGAN_K(ex, binary, &v, DDGAN_BIN_MUL, -1.0 / (double)c, 0.0, coef.data, dot.data,
                      coef.data, 0)) != DDGAN_OK)
        goto out;
    /* dx (+)= r dy;  dx += coef z */
    row_scalar_desc(&e, ex->dt, n, c);
    if ((st = DDGAN_K(ex, binary, &e, DDGAN_BIN_MUL, 1.0, 0.0, dy->data, s->rnorm.data, dx->data,
                      acc)) != DDGAN_OK ||
        (st = DDGAN_K(ex, binary, &e, DDGAN_BIN_MUL, 1.0, 0.0, x->data, coef.data, dx->data, 1)) !=
            DDGAN_OK)
        goto out;
out:
    ddgan__arena_release(a, mark);
    return st;
}
