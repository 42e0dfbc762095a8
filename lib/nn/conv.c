/* Convolution layer: forward, backward, and the two R1 sweeps. */
#include <stdio.h>

#include "core/error.h"
#include "nn/layers.h"

ddgan_status_t ddgan__conv_init(ddgan_conv *L, ddgan_param_table *pt, const char *name, int c_in,
                                int c_out, int k, int stride, int pad, int has_bias,
                                ddgan_init_kind init, double scale)
{
    if (c_in < 1 || c_out < 1 || k < 1 || (stride != 1 && stride != 2) || pad < 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "conv %s: invalid shape (c_in %d, c_out %d, k %d, stride %d, pad %d)", name,
                         c_in, c_out, k, stride, pad);
    L->c_in = c_in;
    L->c_out = c_out;
    L->k = k;
    L->stride = stride;
    L->pad_t = L->pad_l = L->pad_b = L->pad_r = pad;
    L->has_bias = has_bias;
    const int64_t wshape[4] = {c_out, c_in, k, k};
    DDGAN_TRY(ddgan__params_add(pt, &L->w_off, 4, wshape, init, scale, "%s.weight", name));
    L->b_off = 0;
    if (has_bias) {
        const int64_t bshape[1] = {c_out};
        DDGAN_TRY(ddgan__params_add(pt, &L->b_off, 1, bshape, DDGAN_INIT_ZERO, 0.0, "%s.bias", name));
    }
    return DDGAN_OK;
}

void ddgan__conv_set_pads(ddgan_conv *L, int pad_t, int pad_l, int pad_b, int pad_r)
{
    L->pad_t = pad_t;
    L->pad_l = pad_l;
    L->pad_b = pad_b;
    L->pad_r = pad_r;
}

static ddgan_status_t make_desc(const ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *x,
                                ddgan_conv2d_desc *d)
{
    d->dtype = ex->dt;
    d->n = x->n;
    d->c_in = L->c_in;
    d->h = x->h;
    d->w = x->w;
    d->c_out = L->c_out;
    d->kh = d->kw = L->k;
    d->stride = L->stride;
    d->pad_t = L->pad_t;
    d->pad_l = L->pad_l;
    d->pad_b = L->pad_b;
    d->pad_r = L->pad_r;
    if (x->c != L->c_in || ddgan__conv2d_desc_finish(d) != 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "conv: input [%d,%d,%d,%d] does not fit a %dx%d conv %d->%d stride %d",
                         x->n, x->c, x->h, x->w, L->k, L->k, L->c_in, L->c_out, L->stride);
    return DDGAN_OK;
}

ddgan_status_t ddgan__conv_forward(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *x,
                                   ddgan_tensor *y)
{
    ddgan_conv2d_desc d;
    DDGAN_TRY(make_desc(ex, L, x, &d));
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, d.n, d.c_out, d.h_out, d.w_out));
    return DDGAN_K(ex, conv2d_fwd, &d, x->data, ddgan__param_ptr(ex, L->w_off),
                   L->has_bias ? ddgan__param_ptr(ex, L->b_off) : NULL, y->data, 0);
}

ddgan_status_t ddgan__conv_forward_into(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *x,
                                        const ddgan_tensor *y)
{
    ddgan_conv2d_desc d;
    DDGAN_TRY(make_desc(ex, L, x, &d));
    if (y->n != d.n || y->c != d.c_out || y->h != d.h_out || y->w != d.w_out || !y->data)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "conv: output [%d,%d,%d,%d] does not fit [%d,%d,%d,%d]",
                         y->n, y->c, y->h, y->w, d.n, d.c_out, d.h_out, d.w_out);
    return DDGAN_K(ex, conv2d_fwd, &d, x->data, ddgan__param_ptr(ex, L->w_off),
                   L->has_bias ? ddgan__param_ptr(ex, L->b_off) : NULL, y->data, 0);
}

ddgan_status_t ddgan__conv_backward(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *x,
                                    const ddgan_tensor *dy, ddgan_tensor *dx)
{
    ddgan_conv2d_desc d;
    DDGAN_TRY(make_desc(ex, L, x, &d));
    if (ex->grads)
        DDGAN_TRY(DDGAN_K(ex, conv2d_bwd_weights, &d, x->data, dy->data,
                          ddgan__grad_ptr(ex, L->w_off),
                          L->has_bias ? ddgan__grad_ptr(ex, L->b_off) : NULL, 1));
    if (dx) {
        ddgan_status_t st = DDGAN_OK;
        int acc = ddgan__grad_target(ex, dx, x->n, x->c, x->h, x->w, &st);
        if (acc < 0)
            return st;
        DDGAN_TRY(DDGAN_K(ex, conv2d_bwd_data, &d, dy->data, ddgan__param_ptr(ex, L->w_off),
                          dx->data, acc));
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__conv_jvp(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *u,
                               ddgan_tensor *out)
{
    /* the convolution is linear in its input: J u is the convolution without bias */
    ddgan_conv2d_desc d;
    DDGAN_TRY(make_desc(ex, L, u, &d));
    DDGAN_TRY(ddgan__tensor_alloc(ex, out, d.n, d.c_out, d.h_out, d.w_out));
    return DDGAN_K(ex, conv2d_fwd, &d, u->data, ddgan__param_ptr(ex, L->w_off), NULL, out->data, 0);
}

ddgan_status_t ddgan__conv_r1_wgrad(ddgan_exec *ex, const ddgan_conv *L, const ddgan_tensor *u,
                                    const ddgan_tensor *g)
{
    /* <J(W) u, g> = <conv(u, W), g> is linear in W: its W-gradient is the
     * weight gradient of a convolution with input u and output gradient g;
     * the bias does not enter J, so it gets nothing */
    if (!ex->grads)
        return DDGAN_OK;
    ddgan_conv2d_desc d;
    DDGAN_TRY(make_desc(ex, L, u, &d));
    return DDGAN_K(ex, conv2d_bwd_weights, &d, u->data, g->data, ddgan__grad_ptr(ex, L->w_off),
                   NULL, 1);
}
