/* "ref" FIR resampling (upfirdn2d, reference 2.2.7) and its adjoint.
 * Kernels in ref_fir_impl.inc. */
#include "ref/ref_ops.h"

#define REAL float
#define REF_SFX f32
#include "ref_fir_impl.inc"
#undef REAL
#undef REF_SFX

#define REAL double
#define REF_SFX f64
#include "ref_fir_impl.inc"
#undef REAL
#undef REF_SFX

static ddgan_status_t fir_check(const ddgan_backend *be, const char *op,
                                const ddgan_upfirdn_desc *in, int accumulate,
                                ddgan_upfirdn_desc *d)
{
    if (!in)
        return REF_INVALID("%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__ref_check_common(be, op, in->dtype, accumulate));
    *d = *in;
    if (d->n < 1 || d->c < 1 || d->h < 1 || d->w < 1 || d->h > REF_MAX_DIM || d->w > REF_MAX_DIM)
        return REF_INVALID("%s: shape [%d, %d, %d, %d] out of range", op, d->n, d->c, d->h, d->w);
    if (d->up < 1 || d->down < 1 || d->up > 64 || d->down > 64)
        return REF_INVALID("%s: up %d / down %d (must be in [1, 64])", op, d->up, d->down);
    if (d->pad0 < 0 || d->pad1 < 0 || d->pad0 > REF_MAX_DIM || d->pad1 > REF_MAX_DIM)
        return REF_INVALID("%s: pads (%d, %d) out of range", op, d->pad0, d->pad1);
    if (d->taps < 1 || d->taps > DDGAN_UPFIRDN_MAX_TAPS)
        return REF_INVALID("%s: taps %d (must be in [1, %d])", op, d->taps,
                           DDGAN_UPFIRDN_MAX_TAPS);
    if (ddgan__upfirdn_desc_finish(d) != 0)
        return REF_INVALID("%s: %d taps longer than the padded signal (%d x %d + %d + %d)", op,
                           d->taps, d->h < d->w ? d->h : d->w, d->up, d->pad0, d->pad1);
    int64_t nx, ny;
    if (ddgan__ref_count4(d->n, d->c, d->h, d->w, &nx) ||
        ddgan__ref_count4(d->n, d->c, d->h_out, d->w_out, &ny))
        return REF_INVALID("%s: tensor sizes overflow", op);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_upfirdn_fwd(ddgan_backend *be, const ddgan_upfirdn_desc *desc,
                                      const void *x, void *y, int accumulate)
{
    const char *op = "upfirdn_fwd";
    ddgan_upfirdn_desc d;
    DDGAN_TRY(fir_check(be, op, desc, accumulate, &d));
    if (!x || !y)
        return REF_INVALID("%s: x and y must not be NULL", op);
    const double work = 2.0 * d.n * d.c * (double)d.h_out * d.w_out * d.taps * d.taps;
    const int nt = ddgan__ref_team(be, (int64_t)d.n * d.c * d.h_out, work);
    if (d.dtype == DDGAN_DT_F32)
        fir_fwd_f32(&d, x, y, accumulate, nt);
    else
        fir_fwd_f64(&d, x, y, accumulate, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_upfirdn_bwd(ddgan_backend *be, const ddgan_upfirdn_desc *desc,
                                      const void *dy, void *dx, int accumulate)
{
    const char *op = "upfirdn_bwd";
    ddgan_upfirdn_desc d;
    DDGAN_TRY(fir_check(be, op, desc, accumulate, &d));
    if (!dy || !dx)
        return REF_INVALID("%s: dy and dx must not be NULL", op);
    const double work = 2.0 * d.n * d.c * (double)d.h * d.w * d.taps * d.taps;
    const int nt = ddgan__ref_team(be, (int64_t)d.n * d.c * d.h, work);
    if (d.dtype == DDGAN_DT_F32)
        fir_bwd_f32(&d, dy, dx, accumulate, nt);
    else
        fir_bwd_f64(&d, dy, dx, accumulate, nt);
    return DDGAN_OK;
}
