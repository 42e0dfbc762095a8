/* "ref" pointwise ops: activations (forward, backward), strided elementwise
 * binary and unary ops, reductions. Kernels in ref_pointwise_impl.inc; the
 * scalar maths below is in double (the result is rounded once). */
#include <math.h>

#include "ref/ref_ops.h"

/* PyTorch's softplus threshold (beta 1): above it softplus(x) = x. */
#define REF_SOFTPLUS_THRESHOLD 20.0

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static double act_f(ddgan_act act, double alpha, double x)
{
    switch (act) {
    case DDGAN_ACT_SILU:
        return x * sigmoid(x);
    case DDGAN_ACT_LRELU:
        return x > 0.0 ? x : alpha * x; /* same values as x >= 0 ? x : alpha x */
    case DDGAN_ACT_TANH:
        return tanh(x);
    case DDGAN_ACT_SOFTPLUS:
        return x > REF_SOFTPLUS_THRESHOLD ? x : log1p(exp(x));
    case DDGAN_ACT_SIGMOID:
        return sigmoid(x);
    }
    return 0.0;
}

/* dy * f'(x), with y = f(x) for tanh and sigmoid (PyTorch's formulas:
 * LeakyReLU's slope is alpha at x == 0, as torch's leaky_relu_backward's
 * `x > 0 ? dy : dy * alpha`; softplus' is exactly 1 above the threshold). */
static double act_df(ddgan_act act, double alpha, double x, double y, double dy)
{
    switch (act) {
    case DDGAN_ACT_SILU: {
        const double s = sigmoid(x);
        return dy * (s * (1.0 + x * (1.0 - s)));
    }
    case DDGAN_ACT_LRELU:
        return x > 0.0 ? dy : dy * alpha;
    case DDGAN_ACT_TANH:
        return dy * (1.0 - y * y);
    case DDGAN_ACT_SOFTPLUS: {
        if (x > REF_SOFTPLUS_THRESHOLD)
            return dy;
        const double z = exp(x);
        return dy * (z / (z + 1.0));
    }
    case DDGAN_ACT_SIGMOID:
        return dy * (1.0 - y) * y;
    }
    return 0.0;
}

static double bin_f(ddgan_binary_op op, double alpha, double beta, double a, double b)
{
    switch (op) {
    case DDGAN_BIN_AXPBY:
        return alpha * a + beta * b;
    case DDGAN_BIN_MUL:
        return alpha * a * b;
    case DDGAN_BIN_DIV:
        return alpha * a / b;
    }
    return 0.0;
}

static double un_f(ddgan_unary_op op, double alpha, double beta, double a)
{
    switch (op) {
    case DDGAN_UN_SCALE:
        return alpha * a + beta;
    case DDGAN_UN_SQUARE:
        return alpha * a * a;
    case DDGAN_UN_SQRT:
        return alpha * sqrt(a + beta);
    case DDGAN_UN_RSQRT:
        return alpha / sqrt(a + beta);
    case DDGAN_UN_EXP:
        return alpha * exp(a);
    case DDGAN_UN_LOG:
        return alpha * log(a);
    case DDGAN_UN_SIN:
        return alpha * sin(a);
    case DDGAN_UN_COS:
        return alpha * cos(a);
    }
    return 0.0;
}

/* A reduction: kept axes (sizes ks, x strides kst) and reduced axes (rs, rst). */
typedef struct reduce_plan {
    int nk, nr;
    int64_t ks[4], kst[4], rs[4], rst[4];
    int64_t n_out, n_red;
} reduce_plan;

#define REAL float
#define REF_SFX f32
#include "ref_pointwise_impl.inc"
#undef REAL
#undef REF_SFX

#define REAL double
#define REF_SFX f64
#include "ref_pointwise_impl.inc"
#undef REAL
#undef REF_SFX

static ddgan_status_t flat_check(const ddgan_backend *be, const char *op, ddgan_dtype dt, size_t n,
                                 int accumulate)
{
    DDGAN_TRY(ddgan__ref_check_common(be, op, dt, accumulate));
    if (n > (size_t)REF_MAX_ELEMS)
        return REF_INVALID("%s: n = %zu too large", op, n);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_act_fwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, void *y)
{
    const char *op = "act_fwd";
    DDGAN_TRY(flat_check(be, op, dt, n, 0));
    if ((unsigned)act > (unsigned)DDGAN_ACT_SIGMOID)
        return REF_INVALID("%s: unknown activation %d", op, (int)act);
    if (n == 0)
        return DDGAN_OK;
    if (!x || !y)
        return REF_INVALID("%s: x and y must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)n, 20.0 * (double)n);
    if (dt == DDGAN_DT_F32)
        act_fwd_f32(act, alpha, (int64_t)n, x, y, nt);
    else
        act_fwd_f64(act, alpha, (int64_t)n, x, y, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_act_bwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, const void *y, const void *dy, void *dx,
                                  int accumulate)
{
    const char *op = "act_bwd";
    DDGAN_TRY(flat_check(be, op, dt, n, accumulate));
    if ((unsigned)act > (unsigned)DDGAN_ACT_SIGMOID)
        return REF_INVALID("%s: unknown activation %d", op, (int)act);
    if (n == 0)
        return DDGAN_OK;
    const int from_y = act == DDGAN_ACT_TANH || act == DDGAN_ACT_SIGMOID;
    if (!dy || !dx)
        return REF_INVALID("%s: dy and dx must not be NULL", op);
    if (from_y ? !y : !x)
        return REF_INVALID("%s: activation %d needs %s (NULL given)", op, (int)act,
                           from_y ? "y" : "x");
    const int nt = ddgan__ref_team(be, (int64_t)n, 20.0 * (double)n);
    if (dt == DDGAN_DT_F32)
        act_bwd_f32(act, alpha, (int64_t)n, from_y ? NULL : x, from_y ? y : NULL, dy, dx, accumulate,
                    nt);
    else
        act_bwd_f64(act, alpha, (int64_t)n, from_y ? NULL : x, from_y ? y : NULL, dy, dx, accumulate,
                    nt);
    return DDGAN_OK;
}

/* Elements spanned by strides st over shape (in double: cannot overflow). */
static double ew_span(const int64_t shape[4], const int64_t st[4])
{
    double s = 1.0;
    for (int i = 0; i < 4; i++)
        s += (double)(shape[i] - 1) * (double)st[i];
    return s;
}

/* Validates an elementwise descriptor and fills the output strides. */
static ddgan_status_t ew_check(const ddgan_backend *be, const char *op, const ddgan_ew_desc *d,
                               int has_b, int accumulate, int64_t os[4])
{
    if (!d)
        return REF_INVALID("%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__ref_check_common(be, op, d->dtype, accumulate));
    int64_t count;
    for (int i = 0; i < 4; i++)
        if (d->shape[i] < 1)
            return REF_INVALID("%s: shape[%d] = %lld (must be >= 1)", op, i,
                               (long long)d->shape[i]);
    if (ddgan__ref_count4(d->shape[0], d->shape[1], d->shape[2], d->shape[3], &count))
        return REF_INVALID("%s: shape overflows", op);
    int dense = 1;
    for (int i = 0; i < 4; i++) {
        if (d->a_strides[i] < 0 || (has_b && d->b_strides[i] < 0) || d->out_strides[i] < 0)
            return REF_INVALID("%s: negative stride on axis %d", op, i);
        if (d->out_strides[i] != 0)
            dense = 0;
    }
    if (dense) {
        os[3] = 1;
        for (int i = 2; i >= 0; i--)
            os[i] = os[i + 1] * d->shape[i + 1];
    } else {
        for (int i = 0; i < 4; i++)
            os[i] = d->out_strides[i];
        /* no two index tuples may share an output element: sorted by stride,
         * each axis must step over everything the smaller ones span */
        int ord[4] = {0, 1, 2, 3};
        for (int i = 1; i < 4; i++)
            for (int j = i; j > 0 && os[ord[j]] < os[ord[j - 1]]; j--) {
                const int t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        double reach = 0.0; /* largest offset spanned by the axes so far */
        for (int i = 0; i < 4; i++) {
            const int ax = ord[i];
            if (d->shape[ax] == 1)
                continue;
            if ((double)os[ax] <= reach)
                return REF_INVALID("%s: out_strides overlap (axis %d stride %lld)", op, ax,
                                   (long long)os[ax]);
            reach += (double)(d->shape[ax] - 1) * (double)os[ax];
        }
    }
    if (ew_span(d->shape, d->a_strides) > (double)REF_MAX_ELEMS ||
        (has_b && ew_span(d->shape, d->b_strides) > (double)REF_MAX_ELEMS) ||
        ew_span(d->shape, os) > (double)REF_MAX_ELEMS)
        return REF_INVALID("%s: strides overflow", op);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_binary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op,
                                 double alpha, double beta, const void *a, const void *b,
                                 void *out, int accumulate)
{
    const char *name = "binary";
    int64_t os[4];
    DDGAN_TRY(ew_check(be, name, d, 1, accumulate, os));
    if ((unsigned)op > (unsigned)DDGAN_BIN_DIV)
        return REF_INVALID("%s: unknown op %d", name, (int)op);
    if (!a || !b || !out)
        return REF_INVALID("%s: a, b and out must not be NULL", name);
    const int64_t rows = d->shape[0] * d->shape[1] * d->shape[2];
    const int nt = ddgan__ref_team(be, rows, 3.0 * (double)rows * (double)d->shape[3]);
    if (d->dtype == DDGAN_DT_F32)
        binary_f32(d, os, op, alpha, beta, a, b, out, accumulate, nt);
    else
        binary_f64(d, os, op, alpha, beta, a, b, out, accumulate, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_unary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op,
                                double alpha, double beta, const void *a, void *out,
                                int accumulate)
{
    const char *name = "unary";
    int64_t os[4];
    DDGAN_TRY(ew_check(be, name, d, 0, accumulate, os));
    if ((unsigned)op > (unsigned)DDGAN_UN_COS)
        return REF_INVALID("%s: unknown op %d", name, (int)op);
    if (!a || !out)
        return REF_INVALID("%s: a and out must not be NULL", name);
    const int64_t rows = d->shape[0] * d->shape[1] * d->shape[2];
    const int nt = ddgan__ref_team(be, rows, 20.0 * (double)rows * (double)d->shape[3]);
    if (d->dtype == DDGAN_DT_F32)
        unary_f32(d, os, op, alpha, beta, a, out, accumulate, nt);
    else
        unary_f64(d, os, op, alpha, beta, a, out, accumulate, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_reduce(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op,
                                 const int64_t shape[4], unsigned axes_mask, const void *x,
                                 void *out, int accumulate)
{
    const char *name = "reduce";
    DDGAN_TRY(ddgan__ref_check_common(be, name, dt, accumulate));
    if ((unsigned)op > (unsigned)DDGAN_RED_SUMSQ)
        return REF_INVALID("%s: unknown op %d", name, (int)op);
    if (!shape)
        return REF_INVALID("%s: shape is NULL", name);
    if (axes_mask > 15u)
        return REF_INVALID("%s: axes_mask 0x%x has bits beyond axis 3", name, axes_mask);
    for (int i = 0; i < 4; i++)
        if (shape[i] < 1)
            return REF_INVALID("%s: shape[%d] = %lld (must be >= 1)", name, i,
                               (long long)shape[i]);
    int64_t count;
    if (ddgan__ref_count4(shape[0], shape[1], shape[2], shape[3], &count))
        return REF_INVALID("%s: shape overflows", name);
    if (!x || !out)
        return REF_INVALID("%s: x and out must not be NULL", name);
    reduce_plan p = {0};
    int64_t st = 1;
    p.n_out = p.n_red = 1;
    for (int i = 3; i >= 0; i--) { /* filled innermost first, then reversed */
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
        int64_t t = p.ks[i];
        p.ks[i] = p.ks[p.nk - 1 - i];
        p.ks[p.nk - 1 - i] = t;
        t = p.kst[i];
        p.kst[i] = p.kst[p.nk - 1 - i];
        p.kst[p.nk - 1 - i] = t;
    }
    for (int i = 0; i < p.nr / 2; i++) {
        int64_t t = p.rs[i];
        p.rs[i] = p.rs[p.nr - 1 - i];
        p.rs[p.nr - 1 - i] = t;
        t = p.rst[i];
        p.rst[i] = p.rst[p.nr - 1 - i];
        p.rst[p.nr - 1 - i] = t;
    }
    const int nt = ddgan__ref_team(be, p.n_out, 2.0 * (double)count);
    if (dt == DDGAN_DT_F32)
        reduce_f32(&p, op, x, out, accumulate, nt);
    else
        reduce_f64(&p, op, x, out, accumulate, nt);
    return DDGAN_OK;
}
