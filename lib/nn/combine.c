/* Parameter-free combinations: channel concat/split, weighted sums, channel
 * broadcast adds and sum pooling. All are linear, so their JVPs are their
 * forwards. */
#include <string.h>

#include "core/error.h"
#include "nn/layers.h"

/* A strided copy (unary SCALE 1) of x [n, c, h, w] into channels
 * [c0, c0 + c) of a tensor with ctot channels, or back (to_slice = 0). */
static ddgan_status_t slice_copy(ddgan_exec *ex, void *slice_base, int ctot, int c0,
                                 const ddgan_tensor *dense, int to_slice, int accumulate)
{
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, dense->n, dense->c, dense->h, dense->w);
    const int64_t hw = (int64_t)dense->h * dense->w;
    const int64_t sl[4] = {(int64_t)ctot * hw, hw, dense->w, 1};
    char *base = (char *)slice_base + (size_t)c0 * (size_t)hw * ex->dsz;
    if (to_slice) {
        memcpy(d.out_strides, sl, sizeof sl);
        return DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, dense->data, base, accumulate);
    }
    memcpy(d.a_strides, sl, sizeof sl);
    return DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, base, dense->data, accumulate);
}

ddgan_status_t ddgan__concat_forward(ddgan_exec *ex, const ddgan_tensor *a, const ddgan_tensor *b,
                                     ddgan_tensor *y)
{
    if (a->n != b->n || a->h != b->h || a->w != b->w)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "concat: [%d,%d,%d,%d] and [%d,%d,%d,%d] differ",
                         a->n, a->c, a->h, a->w, b->n, b->c, b->h, b->w);
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, a->n, a->c + b->c, a->h, a->w));
    DDGAN_TRY(slice_copy(ex, y->data, y->c, 0, a, 1, 0));
    return slice_copy(ex, y->data, y->c, a->c, b, 1, 0);
}

/* da/db carry their channel counts in c (data may be NULL: allocate) */
ddgan_status_t ddgan__concat_backward(ddgan_exec *ex, const ddgan_tensor *dy, ddgan_tensor *da,
                                      ddgan_tensor *db)
{
    ddgan_status_t st = DDGAN_OK;
    int ca = da ? da->c : dy->c - (db ? db->c : 0);
    if (da) {
        int acc = ddgan__grad_target(ex, da, dy->n, da->c, dy->h, dy->w, &st);
        if (acc < 0)
            return st;
        DDGAN_TRY(slice_copy(ex, dy->data, dy->c, 0, da, 0, acc));
    }
    if (db) {
        int acc = ddgan__grad_target(ex, db, dy->n, dy->c - ca, dy->h, dy->w, &st);
        if (acc < 0)
            return st;
        DDGAN_TRY(slice_copy(ex, dy->data, dy->c, ca, db, 0, acc));
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__axpby_forward(ddgan_exec *ex, double alpha, const ddgan_tensor *a, double beta,
                                    const ddgan_tensor *b, ddgan_tensor *y)
{
    if (a->n != b->n || a->c != b->c || a->h != b->h || a->w != b->w)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "sum: [%d,%d,%d,%d] and [%d,%d,%d,%d] differ",
                         a->n, a->c, a->h, a->w, b->n, b->c, b->h, b->w);
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, a->n, a->c, a->h, a->w));
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, a->n, a->c, a->h, a->w);
    return DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, alpha, beta, a->data, b->data, y->data, 0);
}

static ddgan_status_t scaled_into(ddgan_exec *ex, double alpha, const ddgan_tensor *dy,
                                  ddgan_tensor *dx)
{
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, dx, dy->n, dy->c, dy->h, dy->w, &st);
    if (acc < 0)
        return st;
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, dy->n, dy->c, dy->h, dy->w);
    return DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, alpha, 0.0, dy->data, dx->data, acc);
}

ddgan_status_t ddgan__axpby_backward(ddgan_exec *ex, double alpha, double beta,
                                     const ddgan_tensor *dy, ddgan_tensor *da, ddgan_tensor *db)
{
    if (da)
        DDGAN_TRY(scaled_into(ex, alpha, dy, da));
    if (db)
        DDGAN_TRY(scaled_into(ex, beta, dy, db));
    return DDGAN_OK;
}

ddgan_status_t ddgan__add_channel_bias(ddgan_exec *ex, const ddgan_tensor *x, const ddgan_tensor *v,
                                       ddgan_tensor *y)
{
    if (v->n != x->n || v->c * v->h * v->w != x->c)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "channel add: [%d,%d] vs [%d,%d,%d,%d]", v->n,
                         v->c, x->n, x->c, x->h, x->w);
    if (y != x && y->data != x->data)
        DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, x->c, x->h, x->w));
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, x->n, x->c, x->h, x->w);
    d.b_strides[0] = x->c;
    d.b_strides[1] = 1;
    d.b_strides[2] = d.b_strides[3] = 0;
    return DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, 1.0, x->data, v->data, y->data, 0);
}

ddgan_status_t ddgan__add_channel_bias_backward(ddgan_exec *ex, const ddgan_tensor *dy,
                                                ddgan_tensor *dv)
{
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, dv, dy->n, dy->c, 1, 1, &st);
    if (acc < 0)
        return st;
    const int64_t shape[4] = {dy->n, dy->c, dy->h, dy->w};
    return DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, 0xCu, dy->data, dv->data, acc);
}

ddgan_status_t ddgan__sum_pool_forward(ddgan_exec *ex, const ddgan_tensor *x, ddgan_tensor *y)
{
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, x->c, 1, 1));
    const int64_t shape[4] = {x->n, x->c, x->h, x->w};
    return DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, 0xCu, x->data, y->data, 0);
}

ddgan_status_t ddgan__sum_pool_backward(ddgan_exec *ex, const ddgan_tensor *dy, int h, int w,
                                        ddgan_tensor *dx)
{
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, dx, dy->n, dy->c, h, w, &st);
    if (acc < 0)
        return st;
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, dy->n, dy->c, h, w);
    d.a_strides[0] = dy->c;
    d.a_strides[1] = 1;
    d.a_strides[2] = d.a_strides[3] = 0;
    return DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, dy->data, dx->data, acc);
}
