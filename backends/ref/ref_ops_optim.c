/* "ref" optimiser updates over flat buffers: Adam (reference 5.3, PyTorch
 * 1.13 single-tensor order of operations) and the EMA of the weights
 * (reference 5.5). Kernels in ref_optim_impl.inc. */
#include <math.h>

#include "ref/ref_ops.h"

#define REAL float
#define REF_SFX f32
#include "ref_optim_impl.inc"
#undef REAL
#undef REF_SFX

#define REAL double
#define REF_SFX f64
#include "ref_optim_impl.inc"
#undef REAL
#undef REF_SFX

ddgan_status_t ddgan__ref_adam(ddgan_backend *be, const ddgan_adam_desc *d, void *param,
                               const void *grad, void *m, void *v)
{
    const char *op = "adam";
    if (!d)
        return REF_INVALID("%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__ref_check_common(be, op, d->dtype, 0));
    if (d->step < 1)
        return REF_INVALID("%s: step %lld (must be >= 1)", op, (long long)d->step);
    if (!(d->lr >= 0.0) || !isfinite(d->lr))
        return REF_INVALID("%s: lr %g (must be finite and >= 0)", op, d->lr);
    if (!(d->beta1 >= 0.0 && d->beta1 < 1.0) || !(d->beta2 >= 0.0 && d->beta2 < 1.0))
        return REF_INVALID("%s: betas (%g, %g) (must be in [0, 1))", op, d->beta1, d->beta2);
    if (!(d->eps >= 0.0) || !isfinite(d->eps))
        return REF_INVALID("%s: eps %g (must be finite and >= 0)", op, d->eps);
    if (d->n > (size_t)REF_MAX_ELEMS)
        return REF_INVALID("%s: n = %zu too large", op, d->n);
    if (d->n == 0)
        return DDGAN_OK;
    if (!param || !grad || !m || !v)
        return REF_INVALID("%s: param, grad, m and v must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)d->n, 12.0 * (double)d->n);
    if (d->dtype == DDGAN_DT_F32)
        adam_f32(d, param, grad, m, v, nt);
    else
        adam_f64(d, param, grad, m, v, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_ema(ddgan_backend *be, ddgan_dtype dt, size_t n, double decay, void *ema,
                              const void *param)
{
    const char *op = "ema";
    DDGAN_TRY(ddgan__ref_check_common(be, op, dt, 0));
    if (!(decay >= 0.0 && decay <= 1.0))
        return REF_INVALID("%s: decay %g (must be in [0, 1])", op, decay);
    if (n > (size_t)REF_MAX_ELEMS)
        return REF_INVALID("%s: n = %zu too large", op, n);
    if (n == 0)
        return DDGAN_OK;
    if (!ema || !param)
        return REF_INVALID("%s: ema and param must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)n, 3.0 * (double)n);
    if (dt == DDGAN_DT_F32)
        ema_f32((int64_t)n, decay, ema, param, nt);
    else
        ema_f64((int64_t)n, decay, ema, param, nt);
    return DDGAN_OK;
}
