/* "ref" normalisations: group norm (forward, backward) and row softmax.
 * Kernels in ref_norm_impl.inc. */
#include <math.h>

#include "ref/ref_backend.h"
#include "ref/ref_ops.h"

#define REAL float
#define REF_SFX f32
#include "ref_norm_impl.inc"
#undef REAL
#undef REF_SFX

#define REAL double
#define REF_SFX f64
#include "ref_norm_impl.inc"
#undef REAL
#undef REF_SFX

static ddgan_status_t gn_check(const ddgan_backend *be, const char *op,
                               const ddgan_group_norm_desc *d, int accumulate)
{
    if (!d)
        return REF_INVALID("%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__ref_check_common(be, op, d->dtype, accumulate));
    if (d->n < 1 || d->c < 1 || d->hw < 1 || d->groups < 1)
        return REF_INVALID("%s: n %d, c %d, hw %d, groups %d (all must be >= 1)", op, d->n, d->c,
                           d->hw, d->groups);
    if (d->c % d->groups != 0)
        return REF_INVALID("%s: c %d is not divisible by groups %d", op, d->c, d->groups);
    if (!(d->eps >= 0.0) || !isfinite(d->eps))
        return REF_INVALID("%s: eps %g (must be finite and >= 0)", op, d->eps);
    int64_t count;
    if (ddgan__ref_count4(d->n, d->c, d->hw, 1, &count))
        return REF_INVALID("%s: tensor size overflows", op);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_group_norm_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *x, const void *gamma, const void *beta,
                                         void *y, void *mean, void *rstd)
{
    const char *op = "group_norm_fwd";
    DDGAN_TRY(gn_check(be, op, d, 0));
    if (!x || !y)
        return REF_INVALID("%s: x and y must not be NULL", op);
    const double work = 8.0 * d->n * (double)d->c * d->hw;
    const int nt = ddgan__ref_team(be, (int64_t)d->n * d->groups, work);
    if (d->dtype == DDGAN_DT_F32)
        gn_fwd_f32(d, x, gamma, beta, y, mean, rstd, nt);
    else
        gn_fwd_f64(d, x, gamma, beta, y, mean, rstd, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_group_norm_bwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *dy, const void *x, const void *mean,
                                         const void *rstd, const void *gamma, void *dx,
                                         void *dgamma, void *dbeta, int accumulate)
{
    const char *op = "group_norm_bwd";
    DDGAN_TRY(gn_check(be, op, d, accumulate));
    if (!dy || !x || !mean || !rstd)
        return REF_INVALID("%s: dy, x, mean and rstd must not be NULL", op);
    const double work = 10.0 * d->n * (double)d->c * d->hw;
    if (dx) {
        const int nt = ddgan__ref_team(be, (int64_t)d->n * d->groups, work);
        if (d->dtype == DDGAN_DT_F32)
            gn_bwd_dx_f32(d, dy, x, mean, rstd, gamma, dx, accumulate, nt);
        else
            gn_bwd_dx_f64(d, dy, x, mean, rstd, gamma, dx, accumulate, nt);
    }
    if (dgamma || dbeta) {
        const int nt = ddgan__ref_team(be, d->c, work);
        if (d->dtype == DDGAN_DT_F32)
            gn_bwd_affine_f32(d, dy, x, mean, rstd, dgamma, dbeta, accumulate, nt);
        else
            gn_bwd_affine_f64(d, dy, x, mean, rstd, dgamma, dbeta, accumulate, nt);
    }
    return DDGAN_OK;
}

/* The fused AdaGN + activation is the composition itself (backend_ops.h) on
 * ref's ops, after the checks the composition would report less clearly. */
ddgan_status_t ddgan__ref_adagn_act_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                        const void *x, const void *style, ddgan_act act,
                                        double alpha, void *y)
{
    const char *op = "adagn_act_fwd";
    DDGAN_TRY(gn_check(be, op, d, 0));
    if (!x || !style || !y)
        return REF_INVALID("%s: x, style and y must not be NULL", op);
    if ((unsigned)act > (unsigned)DDGAN_ACT_SIGMOID)
        return REF_INVALID("%s: unknown activation %d", op, (int)act);
    return ddgan__adagn_act_compose(&ddgan__ref_compute, be, d, x, style, act, alpha, y);
}

static ddgan_status_t softmax_check(const ddgan_backend *be, const char *op, ddgan_dtype dt,
                                    size_t rows, size_t cols, int accumulate)
{
    DDGAN_TRY(ddgan__ref_check_common(be, op, dt, accumulate));
    if (rows > (size_t)REF_MAX_ELEMS || cols > (size_t)REF_MAX_ELEMS ||
        (cols && rows > (size_t)REF_MAX_ELEMS / cols))
        return REF_INVALID("%s: %zu x %zu overflows", op, rows, cols);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_softmax_fwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                      const void *x, void *y)
{
    const char *op = "softmax_fwd";
    DDGAN_TRY(softmax_check(be, op, dt, rows, cols, 0));
    if (rows == 0 || cols == 0)
        return DDGAN_OK;
    if (!x || !y)
        return REF_INVALID("%s: x and y must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)rows, 40.0 * (double)rows * (double)cols);
    if (dt == DDGAN_DT_F32)
        softmax_fwd_f32((int64_t)rows, (int64_t)cols, x, y, nt);
    else
        softmax_fwd_f64((int64_t)rows, (int64_t)cols, x, y, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_softmax_bwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                      const void *y, const void *dy, void *dx, int accumulate)
{
    const char *op = "softmax_bwd";
    DDGAN_TRY(softmax_check(be, op, dt, rows, cols, accumulate));
    if (rows == 0 || cols == 0)
        return DDGAN_OK;
    if (!y || !dy || !dx)
        return REF_INVALID("%s: y, dy and dx must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)rows, 4.0 * (double)rows * (double)cols);
    if (dt == DDGAN_DT_F32)
        softmax_bwd_f32((int64_t)rows, (int64_t)cols, y, dy, dx, accumulate, nt);
    else
        softmax_bwd_f64((int64_t)rows, (int64_t)cols, y, dy, dx, accumulate, nt);
    return DDGAN_OK;
}
