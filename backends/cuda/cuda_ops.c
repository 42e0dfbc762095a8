/* The "cuda" op table: argument checks (the same rules and messages as the
 * ref ops, backends/ref/ref_ops_*.c) and the launches of the CUDA kernels
 * (cuda_kernels.h) for every op except convolutions (cuda_conv.c) and matmul
 * (cuda_matmul.c). Scalars are rounded to the tensor type here, once, as
 * backend_ops.h prescribes; the kernels widen them back to double. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_kernels.h"

/* Largest spatial / channel dimension and element count accepted (as ref). */
#define CU_MAX_DIM (1 << 24)
#define CU_MAX_ELEMS ((int64_t)1 << 50)
/* One CUDA block per task (group norm, softmax rows, channels): grid.x limit. */
#define CU_MAX_TASKS (((int64_t)1 << 31) - 1)

#define CU_INVALID(be, ...) ddgan__cuda_fail((be), DDGAN_ERR_INVALID_ARGUMENT, __VA_ARGS__)

ddgan_status_t ddgan__cuda_check_common(const ddgan_backend *be, const char *op, ddgan_dtype dt,
                                        int accumulate)
{
    if (!be || !be->state)
        return DDGAN_ERR_INVALID_ARGUMENT;
    if (dt != DDGAN_DT_F32 && dt != DDGAN_DT_F64)
        return CU_INVALID(be, "%s: unknown dtype %d", op, (int)dt);
    if (accumulate != 0 && accumulate != 1)
        return CU_INVALID(be, "%s: accumulate is %d (must be 0 or 1)", op, accumulate);
    return DDGAN_OK;
}

/* *out = a*b*c*d unless it exceeds CU_MAX_ELEMS (then -1). */
static int count4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t *out)
{
    const int64_t f[4] = {a, b, c, d};
    int64_t p = 1;
    for (int i = 0; i < 4; i++) {
        if (f[i] < 0)
            return -1;
        if (f[i] != 0 && p > CU_MAX_ELEMS / f[i])
            return -1;
        p *= f[i];
    }
    *out = p;
    return 0;
}

/* A double scalar rounded to the tensor type, then widened. */
static double scalar_as(ddgan_dtype dt, double v) { return dt == DDGAN_DT_F32 ? (double)(float)v : v; }

static cudaStream_t stream_of(const ddgan_backend *be) { return ddgan__cuda_bind(be); }

static ddgan_status_t launched(const ddgan_backend *be, cudaError_t e, const char *op)
{
    return ddgan__cuda_check(be, e, op);
}

/* ------------------------------------------------------------------------ */
/* Group norm and softmax                                                   */

static ddgan_status_t gn_check(const ddgan_backend *be, const char *op,
                               const ddgan_group_norm_desc *d, int accumulate)
{
    if (!d)
        return CU_INVALID(be, "%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__cuda_check_common(be, op, d->dtype, accumulate));
    if (d->n < 1 || d->c < 1 || d->hw < 1 || d->groups < 1)
        return CU_INVALID(be, "%s: n %d, c %d, hw %d, groups %d (all must be >= 1)", op, d->n, d->c,
                          d->hw, d->groups);
    if (d->c % d->groups != 0)
        return CU_INVALID(be, "%s: c %d is not divisible by groups %d", op, d->c, d->groups);
    if (!(d->eps >= 0.0) || !isfinite(d->eps))
        return CU_INVALID(be, "%s: eps %g (must be finite and >= 0)", op, d->eps);
    int64_t count;
    if (count4(d->n, d->c, d->hw, 1, &count))
        return CU_INVALID(be, "%s: tensor size overflows", op);
    if ((int64_t)d->n * d->groups > CU_MAX_TASKS)
        return ddgan__cuda_fail(be, DDGAN_ERR_UNSUPPORTED, "%s: n * groups = %lld too large", op,
                                (long long)d->n * d->groups);
    return DDGAN_OK;
}

static ddgan_status_t cu_group_norm_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                        const void *x, const void *gamma, const void *beta, void *y,
                                        void *mean, void *rstd)
{
    const char *op = "group_norm_fwd";
    DDGAN_TRY(gn_check(be, op, d, 0));
    if (!x || !y)
        return CU_INVALID(be, "%s: x and y must not be NULL", op);
    return launched(be,
                    cuk_gn_fwd(stream_of(be), d->dtype == DDGAN_DT_F64, d->n, d->c, d->hw, d->groups,
                               scalar_as(d->dtype, d->eps), x, gamma, beta, y, mean, rstd),
                    op);
}

static ddgan_status_t cu_group_norm_bwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                        const void *dy, const void *x, const void *mean,
                                        const void *rstd, const void *gamma, void *dx, void *dgamma,
                                        void *dbeta, int accumulate)
{
    const char *op = "group_norm_bwd";
    DDGAN_TRY(gn_check(be, op, d, accumulate));
    if (!dy || !x || !mean || !rstd)
        return CU_INVALID(be, "%s: dy, x, mean and rstd must not be NULL", op);
    return launched(be,
                    cuk_gn_bwd(stream_of(be), d->dtype == DDGAN_DT_F64, d->n, d->c, d->hw, d->groups,
                               dy, x, mean, rstd, gamma, dx, dgamma, dbeta, accumulate),
                    op);
}

static ddgan_status_t softmax_check(const ddgan_backend *be, const char *op, ddgan_dtype dt,
                                    size_t rows, size_t cols, int accumulate)
{
    DDGAN_TRY(ddgan__cuda_check_common(be, op, dt, accumulate));
    if (rows > (size_t)CU_MAX_ELEMS || cols > (size_t)CU_MAX_ELEMS ||
        (cols && rows > (size_t)CU_MAX_ELEMS / cols))
        return CU_INVALID(be, "%s: %zu x %zu overflows", op, rows, cols);
    if (rows > (size_t)CU_MAX_TASKS)
        return ddgan__cuda_fail(be, DDGAN_ERR_UNSUPPORTED, "%s: %zu rows too many", op, rows);
    return DDGAN_OK;
}

static ddgan_status_t cu_softmax_fwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                     const void *x, void *y)
{
    const char *op = "softmax_fwd";
    DDGAN_TRY(softmax_check(be, op, dt, rows, cols, 0));
    if (rows == 0 || cols == 0)
        return DDGAN_OK;
    if (!x || !y)
        return CU_INVALID(be, "%s: x and y must not be NULL", op);
    return launched(be,
                    cuk_softmax_fwd(stream_of(be), dt == DDGAN_DT_F64, (int64_t)rows, (int64_t)cols,
                                    x, y),
                    op);
}

static ddgan_status_t cu_softmax_bwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                     const void *y, const void *dy, void *dx, int accumulate)
{
    const char *op = "softmax_bwd";
    DDGAN_TRY(softmax_check(be, op, dt, rows, cols, accumulate));
    if (rows == 0 || cols == 0)
        return DDGAN_OK;
    if (!y || !dy || !dx)
        return CU_INVALID(be, "%s: y, dy and dx must not be NULL", op);
    return launched(be,
                    cuk_softmax_bwd(stream_of(be), dt == DDGAN_DT_F64, (int64_t)rows, (int64_t)cols,
                                    y, dy, dx, accumulate),
                    op);
}

/* ------------------------------------------------------------------------ */
/* Activations                                                              */

static ddgan_status_t flat_check(const ddgan_backend *be, const char *op, ddgan_dtype dt, size_t n,
                                 int accumulate)
{
    DDGAN_TRY(ddgan__cuda_check_common(be, op, dt, accumulate));
    if (n > (size_t)CU_MAX_ELEMS)
        return CU_INVALID(be, "%s: n = %zu too large", op, n);
    return DDGAN_OK;
}

static ddgan_status_t cu_act_fwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                 size_t n, const void *x, void *y)
{
    const char *op = "act_fwd";
    DDGAN_TRY(flat_check(be, op, dt, n, 0));
    if ((unsigned)act > (unsigned)DDGAN_ACT_SIGMOID)
        return CU_INVALID(be, "%s: unknown activation %d", op, (int)act);
    if (n == 0)
        return DDGAN_OK;
    if (!x || !y)
        return CU_INVALID(be, "%s: x and y must not be NULL", op);
    return launched(be,
                    cuk_act_fwd(stream_of(be), dt == DDGAN_DT_F64, (int)act, scalar_as(dt, alpha),
                                (int64_t)n, x, y),
                    op);
}

static ddgan_status_t cu_act_bwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                 size_t n, const void *x, const void *y, const void *dy, void *dx,
                                 int accumulate)
{
    const char *op = "act_bwd";
    DDGAN_TRY(flat_check(be, op, dt, n, accumulate));
    if ((unsigned)act > (unsigned)DDGAN_ACT_SIGMOID)
        return CU_INVALID(be, "%s: unknown activation %d", op, (int)act);
    if (n == 0)
        return DDGAN_OK;
    const int from_y = act == DDGAN_ACT_TANH || act == DDGAN_ACT_SIGMOID;
    if (!dy || !dx)
        return CU_INVALID(be, "%s: dy and dx must not be NULL", op);
    if (from_y ? !y : !x)
        return CU_INVALID(be, "%s: activation %d needs %s (NULL given)", op, (int)act,
                          from_y ? "y" : "x");
    return launched(be,
                    cuk_act_bwd(stream_of(be), dt == DDGAN_DT_F64, (int)act, scalar_as(dt, alpha),
                                (int64_t)n, from_y ? NULL : x, from_y ? y : NULL, dy, dx,
                                accumulate),
                    op);
}

/* ------------------------------------------------------------------------ */
/* FIR resampling                                                           */

static ddgan_status_t fir_check(const ddgan_backend *be, const char *op,
                                const ddgan_upfirdn_desc *in, int accumulate, cuk_fir *k)
{
    if (!in)
        return CU_INVALID(be, "%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__cuda_check_common(be, op, in->dtype, accumulate));
    ddgan_upfirdn_desc d = *in;
    if (d.n < 1 || d.c < 1 || d.h < 1 || d.w < 1 || d.h > CU_MAX_DIM || d.w > CU_MAX_DIM)
        return CU_INVALID(be, "%s: shape [%d, %d, %d, %d] out of range", op, d.n, d.c, d.h, d.w);
    if (d.up < 1 || d.down < 1 || d.up > 64 || d.down > 64)
        return CU_INVALID(be, "%s: up %d / down %d (must be in [1, 64])", op, d.up, d.down);
    if (d.pad0 < 0 || d.pad1 < 0 || d.pad0 > CU_MAX_DIM || d.pad1 > CU_MAX_DIM)
        return CU_INVALID(be, "%s: pads (%d, %d) out of range", op, d.pad0, d.pad1);
    if (d.taps < 1 || d.taps > DDGAN_UPFIRDN_MAX_TAPS)
        return CU_INVALID(be, "%s: taps %d (must be in [1, %d])", op, d.taps, DDGAN_UPFIRDN_MAX_TAPS);
    if (ddgan__upfirdn_desc_finish(&d) != 0)
        return CU_INVALID(be, "%s: %d taps longer than the padded signal (%d x %d + %d + %d)", op,
                          d.taps, d.h < d.w ? d.h : d.w, d.up, d.pad0, d.pad1);
    int64_t nx, ny;
    if (count4(d.n, d.c, d.h, d.w, &nx) || count4(d.n, d.c, d.h_out, d.w_out, &ny))
        return CU_INVALID(be, "%s: tensor sizes overflow", op);
    memset(k, 0, sizeof *k);
    k->n = d.n;
    k->c = d.c;
    k->h = d.h;
    k->w = d.w;
    k->up = d.up;
    k->down = d.down;
    k->pad0 = d.pad0;
    k->pad1 = d.pad1;
    k->taps = d.taps;
    k->h_out = d.h_out;
    k->w_out = d.w_out;
    for (int t = 0; t < d.taps; t++)
        k->k[t] = scalar_as(d.dtype, d.kernel[t]); /* taps in the tensor type, as ref */
    return DDGAN_OK;
}

static ddgan_status_t cu_upfirdn_fwd(ddgan_backend *be, const ddgan_upfirdn_desc *d, const void *x,
                                     void *y, int accumulate)
{
    const char *op = "upfirdn_fwd";
    cuk_fir k;
    DDGAN_TRY(fir_check(be, op, d, accumulate, &k));
    if (!x || !y)
        return CU_INVALID(be, "%s: x and y must not be NULL", op);
    return launched(be, cuk_fir_fwd(stream_of(be), d->dtype == DDGAN_DT_F64, &k, x, y, accumulate),
                    op);
}

static ddgan_status_t cu_upfirdn_bwd(ddgan_backend *be, const ddgan_upfirdn_desc *d, const void *dy,
                                     void *dx, int accumulate)
{
    const char *op = "upfirdn_bwd";
    cuk_fir k;
    DDGAN_TRY(fir_check(be, op, d, accumulate, &k));
    if (!dy || !dx)
        return CU_INVALID(be, "%s: dy and dx must not be NULL", op);
    return launched(be, cuk_fir_bwd(stream_of(be), d->dtype == DDGAN_DT_F64, &k, dy, dx, accumulate),
                    op);
}

/* ------------------------------------------------------------------------ */
/* Elementwise and reductions                                               */

static double ew_span(const int64_t shape[4], const int64_t st[4])
{
    double s = 1.0;
    for (int i = 0; i < 4; i++)
        s += (double)(shape[i] - 1) * (double)st[i];
    return s;
}

/* Validates an elementwise descriptor (ref's rules: positive shape,
 * non-negative strides, non-overlapping output) into the kernel's form. */
static ddgan_status_t ew_check(const ddgan_backend *be, const char *op, const ddgan_ew_desc *d,
                               int has_b, int accumulate, cuk_ew *k)
{
    if (!d)
        return CU_INVALID(be, "%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__cuda_check_common(be, op, d->dtype, accumulate));
    int64_t count;
    for (int i = 0; i < 4; i++)
        if (d->shape[i] < 1)
            return CU_INVALID(be, "%s: shape[%d] = %lld (must be >= 1)", op, i,
                              (long long)d->shape[i]);
    if (count4(d->shape[0], d->shape[1], d->shape[2], d->shape[3], &count))
        return CU_INVALID(be, "%s: shape overflows", op);
    int dense = 1;
    for (int i = 0; i < 4; i++) {
        if (d->a_strides[i] < 0 || (has_b && d->b_strides[i] < 0) || d->out_strides[i] < 0)
            return CU_INVALID(be, "%s: negative stride on axis %d", op, i);
        if (d->out_strides[i] != 0)
            dense = 0;
    }
    memset(k, 0, sizeof *k);
    int64_t *os = k->os;
    if (dense) {
        os[3] = 1;
        for (int i = 2; i >= 0; i--)
            os[i] = os[i + 1] * d->shape[i + 1];
    } else {
        for (int i = 0; i < 4; i++)
            os[i] = d->out_strides[i];
        /* distinct index tuples must write distinct elements (threads write in parallel) */
        int ord[4] = {0, 1, 2, 3};
        for (int i = 1; i < 4; i++)
            for (int j = i; j > 0 && os[ord[j]] < os[ord[j - 1]]; j--) {
                const int t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        double reach = 0.0;
        for (int i = 0; i < 4; i++) {
            const int ax = ord[i];
            if (d->shape[ax] == 1)
                continue;
            if ((double)os[ax] <= reach)
                return CU_INVALID(be, "%s: out_strides overlap (axis %d stride %lld)", op, ax,
                                  (long long)os[ax]);
            reach += (double)(d->shape[ax] - 1) * (double)os[ax];
        }
    }
    if (ew_span(d->shape, d->a_strides) > (double)CU_MAX_ELEMS ||
        (has_b && ew_span(d->shape, d->b_strides) > (double)CU_MAX_ELEMS) ||
        ew_span(d->shape, os) > (double)CU_MAX_ELEMS)
        return CU_INVALID(be, "%s: strides overflow", op);
    for (int i = 0; i < 4; i++) {
        k->shape[i] = d->shape[i];
        k->as[i] = d->a_strides[i];
        k->bs[i] = has_b ? d->b_strides[i] : 0;
    }
    return DDGAN_OK;
}

static ddgan_status_t cu_binary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op,
                                double alpha, double beta, const void *a, const void *b, void *out,
                                int accumulate)
{
    const char *name = "binary";
    cuk_ew k;
    DDGAN_TRY(ew_check(be, name, d, 1, accumulate, &k));
    if ((unsigned)op > (unsigned)DDGAN_BIN_DIV)
        return CU_INVALID(be, "%s: unknown op %d", name, (int)op);
    if (!a || !b || !out)
        return CU_INVALID(be, "%s: a, b and out must not be NULL", name);
    return launched(be,
                    cuk_binary(stream_of(be), d->dtype == DDGAN_DT_F64, &k, (int)op,
                               scalar_as(d->dtype, alpha), scalar_as(d->dtype, beta), a, b, out,
                               accumulate),
                    name);
}

static ddgan_status_t cu_unary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op,
                               double alpha, double beta, const void *a, void *out, int accumulate)
{
    const char *name = "unary";
    cuk_ew k;
    DDGAN_TRY(ew_check(be, name, d, 0, accumulate, &k));
    if ((unsigned)op > (unsigned)DDGAN_UN_COS)
        return CU_INVALID(be, "%s: unknown op %d", name, (int)op);
    if (!a || !out)
        return CU_INVALID(be, "%s: a and out must not be NULL", name);
    return launched(be,
                    cuk_unary(stream_of(be), d->dtype == DDGAN_DT_F64, &k, (int)op,
                              scalar_as(d->dtype, alpha), scalar_as(d->dtype, beta), a, out,
                              accumulate),
                    name);
}

static void swap64(int64_t *a, int64_t *b)
{
    const int64_t t = *a;
    *a = *b;
    *b = t;
}

static ddgan_status_t cu_reduce(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op,
                                const int64_t shape[4], unsigned axes_mask, const void *x, void *out,
                                int accumulate)
{
    const char *name = "reduce";
    DDGAN_TRY(ddgan__cuda_check_common(be, name, dt, accumulate));
    if ((unsigned)op > (unsigned)DDGAN_RED_SUMSQ)
        return CU_INVALID(be, "%s: unknown op %d", name, (int)op);
    if (!shape)
        return CU_INVALID(be, "%s: shape is NULL", name);
    if (axes_mask > 15u)
        return CU_INVALID(be, "%s: axes_mask 0x%x has bits beyond axis 3", name, axes_mask);
    for (int i = 0; i < 4; i++)
        if (shape[i] < 1)
            return CU_INVALID(be, "%s: shape[%d] = %lld (must be >= 1)", name, i,
                              (long long)shape[i]);
    int64_t count;
    if (count4(shape[0], shape[1], shape[2], shape[3], &count))
        return CU_INVALID(be, "%s: shape overflows", name);
    if (!x || !out)
        return CU_INVALID(be, "%s: x and out must not be NULL", name);
    /* the plan of ref_ops_pointwise.c: kept and reduced axes, outermost first */
    cuk_reduce_plan p;
    memset(&p, 0, sizeof p);
    int64_t st = 1;
    p.n_out = p.n_red = 1;
    for (int i = 3; i >= 0; i--) {
        if (axes_mask & (1u << i)) {
            p.rs[p.nr] = shape[i];
            p.rst[p.nr++] = st;
            p.n_red *= shape[i];
        } else {
            p.ks[p.nk] = shape[i];
            p.kst[p.nk++] = st;
            p.n_out *= shape[i];
        }
        st *= shape[i];
    }
    for (int i = 0; i < p.nk / 2; i++) {
        swap64(&p.ks[i], &p.ks[p.nk - 1 - i]);
        swap64(&p.kst[i], &p.kst[p.nk - 1 - i]);
    }
    for (int i = 0; i < p.nr / 2; i++) {
        swap64(&p.rs[i], &p.rs[p.nr - 1 - i]);
        swap64(&p.rst[i], &p.rst[p.nr - 1 - i]);
    }
    return launched(be, cuk_reduce(stream_of(be), dt == DDGAN_DT_F64, &p, (int)op, x, out, accumulate),
                    name);
}

/* ------------------------------------------------------------------------ */
/* Optimisers                                                               */

static ddgan_status_t cu_adam(ddgan_backend *be, const ddgan_adam_desc *d, void *param,
                              const void *grad, void *m, void *v)
{
    const char *op = "adam";
    if (!d)
        return CU_INVALID(be, "%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__cuda_check_common(be, op, d->dtype, 0));
    if (d->step < 1)
        return CU_INVALID(be, "%s: step %lld (must be >= 1)", op, (long long)d->step);
    if (!(d->lr >= 0.0) || !isfinite(d->lr))
        return CU_INVALID(be, "%s: lr %g (must be finite and >= 0)", op, d->lr);
    if (!(d->beta1 >= 0.0 && d->beta1 < 1.0) || !(d->beta2 >= 0.0 && d->beta2 < 1.0))
        return CU_INVALID(be, "%s: betas (%g, %g) (must be in [0, 1))", op, d->beta1, d->beta2);
    if (!(d->eps >= 0.0) || !isfinite(d->eps))
        return CU_INVALID(be, "%s: eps %g (must be finite and >= 0)", op, d->eps);
    if (d->n > (size_t)CU_MAX_ELEMS)
        return CU_INVALID(be, "%s: n = %zu too large", op, d->n);
    if (d->n == 0)
        return DDGAN_OK;
    if (!param || !grad || !m || !v)
        return CU_INVALID(be, "%s: param, grad, m and v must not be NULL", op);
    /* bias corrections and step size in double on the host, as ref (Python floats) */
    const double bc1 = 1.0 - pow(d->beta1, (double)d->step);
    const double bc2 = 1.0 - pow(d->beta2, (double)d->step);
    return launched(be,
                    cuk_adam(stream_of(be), d->dtype == DDGAN_DT_F64, (int64_t)d->n, d->beta1,
                             d->beta2, 1.0 - d->beta1, 1.0 - d->beta2, -(d->lr / bc1), sqrt(bc2),
                             d->eps, param, grad, m, v),
                    op);
}

static ddgan_status_t cu_ema(ddgan_backend *be, ddgan_dtype dt, size_t n, double decay, void *ema,
                             const void *param)
{
    const char *op = "ema";
    DDGAN_TRY(ddgan__cuda_check_common(be, op, dt, 0));
    if (!(decay >= 0.0 && decay <= 1.0))
        return CU_INVALID(be, "%s: decay %g (must be in [0, 1])", op, decay);
    if (n > (size_t)CU_MAX_ELEMS)
        return CU_INVALID(be, "%s: n = %zu too large", op, n);
    if (n == 0)
        return DDGAN_OK;
    if (!ema || !param)
        return CU_INVALID(be, "%s: ema and param must not be NULL", op);
    return launched(be, cuk_ema(stream_of(be), dt == DDGAN_DT_F64, (int64_t)n, decay, ema, param), op);
}

/* ------------------------------------------------------------------------ */
/* Philox draws                                                             */

static ddgan_status_t rand_run(ddgan_backend *be, const char *op, int normal, ddgan_dtype dt,
                               size_t n, uint64_t seed, uint64_t stream, uint64_t first_block,
                               void *out)
{
    DDGAN_TRY(ddgan__cuda_check_common(be, op, dt, 0));
    if (n > (size_t)CU_MAX_ELEMS)
        return CU_INVALID(be, "%s: n = %zu too large", op, n);
    if (n == 0)
        return DDGAN_OK;
    if (!out)
        return CU_INVALID(be, "%s: out must not be NULL", op);
    return launched(be,
                    cuk_rand(stream_of(be), dt == DDGAN_DT_F64, normal, (int64_t)n, seed, stream,
                             first_block, out),
                    op);
}

static ddgan_status_t cu_rand_normal(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                     uint64_t stream, uint64_t first_block, void *out)
{
    return rand_run(be, "rand_normal", 1, dt, n, seed, stream, first_block, out);
}

static ddgan_status_t cu_rand_uniform(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                      uint64_t stream, uint64_t first_block, void *out)
{
    return rand_run(be, "rand_uniform", 0, dt, n, seed, stream, first_block, out);
}

const ddgan_backend_compute ddgan__cuda_compute = {
    .conv2d_fwd = ddgan__cuda_conv2d_fwd,
    .conv2d_bwd_data = ddgan__cuda_conv2d_bwd_data,
    .conv2d_bwd_weights = ddgan__cuda_conv2d_bwd_weights,
    .matmul = ddgan__cuda_matmul,
    .group_norm_fwd = cu_group_norm_fwd,
    .group_norm_bwd = cu_group_norm_bwd,
    .act_fwd = cu_act_fwd,
    .act_bwd = cu_act_bwd,
    .upfirdn_fwd = cu_upfirdn_fwd,
    .upfirdn_bwd = cu_upfirdn_bwd,
    .softmax_fwd = cu_softmax_fwd,
    .softmax_bwd = cu_softmax_bwd,
    .binary = cu_binary,
    .unary = cu_unary,
    .reduce = cu_reduce,
    .adam = cu_adam,
    .ema = cu_ema,
    .rand_normal = cu_rand_normal,
    .rand_uniform = cu_rand_uniform,
};
