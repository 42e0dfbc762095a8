/* "ref" 2-D convolution: forward, backward data (the adjoint), backward
 * weights and bias. Kernels in ref_conv_impl.inc. */
#include "ref/ref_ops.h"

#define REAL float
#define REF_SFX f32
#include "ref_conv_impl.inc"
#undef REAL
#undef REF_SFX

#define REAL double
#define REF_SFX f64
#include "ref_conv_impl.inc"
#undef REAL
#undef REF_SFX

/* Validates *in into *d (derived sizes filled) and the operand sizes. */
static ddgan_status_t conv_check(const ddgan_backend *be, const char *op,
                                 const ddgan_conv2d_desc *in, int accumulate, ddgan_conv2d_desc *d)
{
    if (!in)
        return REF_INVALID("%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__ref_check_common(be, op, in->dtype, accumulate));
    *d = *in;
    const int dims[] = {d->n, d->c_in, d->h, d->w, d->c_out, d->kh, d->kw};
    const char *names[] = {"n", "c_in", "h", "w", "c_out", "kh", "kw"};
    for (int i = 0; i < 7; i++)
        if (dims[i] < 1 || dims[i] > REF_MAX_DIM)
            return REF_INVALID("%s: %s = %d out of range [1, %d]", op, names[i], dims[i],
                               REF_MAX_DIM);
    if (d->stride != 1 && d->stride != 2)
        return REF_INVALID("%s: stride %d (must be 1 or 2)", op, d->stride);
    const int pads[] = {d->pad_t, d->pad_l, d->pad_b, d->pad_r};
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > REF_MAX_DIM)
            return REF_INVALID("%s: padding (%d, %d, %d, %d) out of range", op, d->pad_t,
                               d->pad_l, d->pad_b, d->pad_r);
    if (ddgan__conv2d_desc_finish(d) != 0)
        return REF_INVALID("%s: kernel %dx%d larger than the padded input %dx%d", op, d->kh,
                           d->kw, d->h + d->pad_t + d->pad_b, d->w + d->pad_l + d->pad_r);
    int64_t nx, nw, ny;
    if (ddgan__ref_count4(d->n, d->c_in, d->h, d->w, &nx) ||
        ddgan__ref_count4(d->c_out, d->c_in, d->kh, d->kw, &nw) ||
        ddgan__ref_count4(d->n, d->c_out, d->h_out, d->w_out, &ny))
        return REF_INVALID("%s: tensor sizes overflow", op);
    return DDGAN_OK;
}

static double conv_flops(const ddgan_conv2d_desc *d)
{
    return 2.0 * d->n * d->c_out * d->h_out * d->w_out * (double)d->c_in * d->kh * d->kw;
}

ddgan_status_t ddgan__ref_conv2d_fwd(ddgan_backend *be, const ddgan_conv2d_desc *desc, const void *x,
                                     const void *weight, const void *bias, void *y, int accumulate)
{
    const char *op = "conv2d_fwd";
    ddgan_conv2d_desc d;
    DDGAN_TRY(conv_check(be, op, desc, accumulate, &d));
    if (!x || !weight || !y)
        return REF_INVALID("%s: x, weight and y must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)d.n * d.c_out * d.h_out, conv_flops(&d));
    if (d.dtype == DDGAN_DT_F32)
        conv_fwd_f32(&d, x, weight, bias, y, accumulate, nt);
    else
        conv_fwd_f64(&d, x, weight, bias, y, accumulate, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_conv2d_bwd_data(ddgan_backend *be, const ddgan_conv2d_desc *desc,
                                          const void *dy, const void *weight, void *dx,
                                          int accumulate)
{
    const char *op = "conv2d_bwd_data";
    ddgan_conv2d_desc d;
    DDGAN_TRY(conv_check(be, op, desc, accumulate, &d));
    if (!dy || !weight || !dx)
        return REF_INVALID("%s: dy, weight and dx must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)d.n * d.c_in * d.h, conv_flops(&d));
    if (d.dtype == DDGAN_DT_F32)
        conv_bwd_data_f32(&d, dy, weight, dx, accumulate, nt);
    else
        conv_bwd_data_f64(&d, dy, weight, dx, accumulate, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_conv2d_bwd_weights(ddgan_backend *be, const ddgan_conv2d_desc *desc,
                                             const void *x, const void *dy, void *dweight,
                                             void *dbias, int accumulate)
{
    const char *op = "conv2d_bwd_weights";
    ddgan_conv2d_desc d;
    DDGAN_TRY(conv_check(be, op, desc, accumulate, &d));
    if (!x || !dy || !dweight)
        return REF_INVALID("%s: x, dy and dweight must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)d.c_out * d.c_in, conv_flops(&d));
    const int nt_b = ddgan__ref_team(be, d.c_out, (double)d.n * d.c_out * d.h_out * d.w_out);
    if (d.dtype == DDGAN_DT_F32) {
        conv_bwd_w_f32(&d, x, dy, dweight, accumulate, nt);
        if (dbias)
            conv_bwd_bias_f32(&d, dy, dbias, accumulate, nt_b);
    } else {
        conv_bwd_w_f64(&d, x, dy, dweight, accumulate, nt);
        if (dbias)
            conv_bwd_bias_f64(&d, dy, dbias, accumulate, nt_b);
    }
    return DDGAN_OK;
}
