/* The compute ops of the "ref" backend: the parity table (float32 against
 * float64, and float64 against an independent naive oracle written here),
 * central finite-difference checks of every backward op in float64, closed
 * forms from the reference (FIR 2.2.7, Adam 5.3, EMA 5.5, Philox draws),
 * bit-for-bit determinism across thread counts, and invalid arguments. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/philox.h"
#include "op_table.h"

static ddgan_context_t g_ctx[4]; /* g_ctx[t]: "ref" with t threads (t = 1..3) */
static ddgan_backend *g_be;      /* the 2-thread instance */

static ddgan_context_t make_ctx(int threads)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.num_threads = threads;
    ddgan_context_t ctx = NULL;
    if (ddgan_context_create(&ctx, &cfg) != DDGAN_OK)
        return NULL;
    return ctx;
}

static int group_setup(void **state)
{
    (void)state;
    for (int t = 1; t <= 3; t++)
        if (!(g_ctx[t] = make_ctx(t)))
            return -1;
    g_be = g_ctx[2]->backend;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int t = 1; t <= 3; t++)
        ddgan_context_destroy(g_ctx[t]);
    return 0;
}

static const ddgan_backend_compute *ops(void) { return g_be->ops->compute; }

/* n uniforms in [lo, hi) from Philox (seed, stream 0), exactly float-representable. */
static void fill(double *v, size_t n, uint64_t seed, double lo, double hi)
{
    float *u = malloc(n * sizeof *u);
    assert_non_null(u);
    ddgan__philox_uniform(seed, 0, 0, u, n);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)(float)(lo + (hi - lo) * (double)u[i]);
    free(u);
}

static double *dalloc(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

#define OK(expr) assert_int_equal((expr), DDGAN_OK)

/* ======================================================================== */
/* An independent naive float64 oracle: a host-memory backend whose forward */
/* ops follow the definitions literally (materialised arrays, nested loops) */

static ddgan_status_t nv_alloc(ddgan_backend *be, size_t bytes, void **out)
{
    (void)be;
    *out = malloc(bytes ? bytes : 1);
    return *out ? DDGAN_OK : DDGAN_ERR_OUT_OF_MEMORY;
}
static void nv_free(ddgan_backend *be, void *p)
{
    (void)be;
    free(p);
}
static ddgan_status_t nv_copy(ddgan_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    memmove(dst, src, bytes);
    return DDGAN_OK;
}
static ddgan_status_t nv_sync(ddgan_backend *be)
{
    (void)be;
    return DDGAN_OK;
}

/* 7-loop direct convolution */
static ddgan_status_t nv_conv_fwd(ddgan_backend *be, const ddgan_conv2d_desc *dd, const void *xv,
                                  const void *wv, const void *bv, void *yv, int acc)
{
    (void)be;
    ddgan_conv2d_desc d = *dd;
    if (d.dtype != DDGAN_DT_F64 || ddgan__conv2d_desc_finish(&d))
        return DDGAN_ERR_UNSUPPORTED;
    const double *x = xv, *w = wv, *b = bv;
    double *y = yv;
    for (int n = 0; n < d.n; n++)
        for (int co = 0; co < d.c_out; co++)
            for (int oy = 0; oy < d.h_out; oy++)
                for (int ox = 0; ox < d.w_out; ox++) {
                    double s = b ? b[co] : 0.0;
                    for (int ci = 0; ci < d.c_in; ci++)
                        for (int ky = 0; ky < d.kh; ky++)
                            for (int kx = 0; kx < d.kw; kx++) {
                                const int iy = oy * d.stride - d.pad_t + ky;
                                const int ix = ox * d.stride - d.pad_l + kx;
                                if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w)
                                    continue;
                                s += x[((n * d.c_in + ci) * d.h + iy) * d.w + ix] *
                                     w[((co * d.c_in + ci) * d.kh + ky) * d.kw + kx];
                            }
                    double *o = &y[((n * d.c_out + co) * d.h_out + oy) * d.w_out + ox];
                    *o = acc ? *o + s : s;
                }
    return DDGAN_OK;
}

static ddgan_status_t nv_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *av,
                                const void *bv, void *cv)
{
    (void)be;
    if (d->dtype != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    const double *a = av, *b = bv;
    double *c = cv;
    for (int t = 0; t < d->batch; t++)
        for (int i = 0; i < d->m; i++)
            for (int j = 0; j < d->n; j++) {
                double s = 0;
                for (int p = 0; p < d->k; p++) {
                    const double opa = d->trans_a ? a[t * d->stride_a + p * d->lda + i]
                                                  : a[t * d->stride_a + i * d->lda + p];
                    const double opb = d->trans_b ? b[t * d->stride_b + j * d->ldb + p]
                                                  : b[t * d->stride_b + p * d->ldb + j];
                    s += opa * opb;
                }
                double *o = &c[t * d->stride_c + i * d->ldc + j];
                *o = d->beta == 0.0 ? d->alpha * s : d->alpha * s + d->beta * *o;
            }
    return DDGAN_OK;
}

/* group norm from its definition */
static ddgan_status_t nv_gn_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d, const void *xv,
                                const void *gv, const void *bv, void *yv, void *mv, void *rv)
{
    (void)be;
    if (d->dtype != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    const double *x = xv, *gamma = gv, *beta = bv;
    double *y = yv, *mean = mv, *rstd = rv;
    const int cpg = d->c / d->groups;
    for (int n = 0; n < d->n; n++)
        for (int g = 0; g < d->groups; g++) {
            double mu = 0, var = 0;
            for (int c = g * cpg; c < (g + 1) * cpg; c++)
                for (int i = 0; i < d->hw; i++)
                    mu += x[(n * d->c + c) * d->hw + i];
            mu /= (double)cpg * d->hw;
            for (int c = g * cpg; c < (g + 1) * cpg; c++)
                for (int i = 0; i < d->hw; i++) {
                    const double e = x[(n * d->c + c) * d->hw + i] - mu;
                    var += e * e;
                }
            var /= (double)cpg * d->hw;
            for (int c = g * cpg; c < (g + 1) * cpg; c++)
                for (int i = 0; i < d->hw; i++) {
                    const int k = (n * d->c + c) * d->hw + i;
                    double v = (x[k] - mu) / sqrt(var + d->eps);
                    if (gamma)
                        v *= gamma[c];
                    if (beta)
                        v += beta[c];
                    y[k] = v;
                }
            if (mean)
                mean[n * d->groups + g] = mu;
            if (rstd)
                rstd[n * d->groups + g] = 1.0 / sqrt(var + d->eps);
        }
    return DDGAN_OK;
}

static double nv_act(ddgan_act a, double alpha, double x)
{
    switch (a) {
    case DDGAN_ACT_SILU:
        return x * (1.0 / (1.0 + exp(-x)));
    case DDGAN_ACT_LRELU:
        return x >= 0 ? x : alpha * x;
    case DDGAN_ACT_TANH:
        return (exp(2 * x) - 1) / (exp(2 * x) + 1);
    case DDGAN_ACT_SOFTPLUS:
        return x > 20 ? x : log(1.0 + exp(x));
    case DDGAN_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    }
    return NAN;
}

static ddgan_status_t nv_act_fwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                 size_t n, const void *xv, void *yv)
{
    (void)be;
    if (dt != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    for (size_t i = 0; i < n; i++)
        ((double *)yv)[i] = nv_act(act, alpha, ((const double *)xv)[i]);
    return DDGAN_OK;
}

/* upfirdn by explicit zero insertion + padding into a materialised array,
 * 2-D correlation with outer(k, k), decimation */
static ddgan_status_t nv_upfirdn_fwd(ddgan_backend *be, const ddgan_upfirdn_desc *dd,
                                     const void *xv, void *yv, int acc)
{
    (void)be;
    ddgan_upfirdn_desc d = *dd;
    if (d.dtype != DDGAN_DT_F64 || ddgan__upfirdn_desc_finish(&d))
        return DDGAN_ERR_UNSUPPORTED;
    const int H2 = d.h * d.up + d.pad0 + d.pad1, W2 = d.w * d.up + d.pad0 + d.pad1;
    double *u = calloc((size_t)H2 * W2, sizeof *u);
    if (!u)
        return DDGAN_ERR_OUT_OF_MEMORY;
    const double *x = xv;
    double *y = yv;
    for (int p = 0; p < d.n * d.c; p++) {
        memset(u, 0, (size_t)H2 * W2 * sizeof *u);
        for (int iy = 0; iy < d.h; iy++)
            for (int ix = 0; ix < d.w; ix++)
                u[(iy * d.up + d.pad0) * W2 + ix * d.up + d.pad0] = x[(p * d.h + iy) * d.w + ix];
        for (int oy = 0; oy < d.h_out; oy++)
            for (int ox = 0; ox < d.w_out; ox++) {
                double s = 0;
                for (int ty = 0; ty < d.taps; ty++)
                    for (int tx = 0; tx < d.taps; tx++)
                        s += d.kernel[ty] * d.kernel[tx] *
                             u[(oy * d.down + ty) * W2 + ox * d.down + tx];
                double *o = &y[(p * d.h_out + oy) * d.w_out + ox];
                *o = acc ? *o + s : s;
            }
    }
    free(u);
    return DDGAN_OK;
}

static ddgan_status_t nv_softmax_fwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                     const void *xv, void *yv)
{
    (void)be;
    if (dt != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    const double *x = xv;
    double *y = yv;
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (size_t j = 0; j < cols; j++)
            s += exp(x[r * cols + j]);
        for (size_t j = 0; j < cols; j++)
            y[r * cols + j] = exp(x[r * cols + j]) / s;
    }
    return DDGAN_OK;
}

static void nv_dense(const int64_t shape[4], const int64_t st[4], int64_t out[4])
{
    if (st[0] == 0 && st[1] == 0 && st[2] == 0 && st[3] == 0) {
        out[3] = 1;
        out[2] = shape[3];
        out[1] = shape[2] * shape[3];
        out[0] = shape[1] * shape[2] * shape[3];
    } else {
        memcpy(out, st, 4 * sizeof *out);
    }
}

static ddgan_status_t nv_binary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op,
                                double alpha, double beta, const void *av, const void *bv,
                                void *ov, int acc)
{
    (void)be;
    if (d->dtype != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    const double *a = av, *b = bv;
    double *o = ov;
    int64_t os[4];
    nv_dense(d->shape, d->out_strides, os);
    const int64_t *as = d->a_strides, *bs = d->b_strides;
    for (int64_t i = 0; i < d->shape[0]; i++)
        for (int64_t j = 0; j < d->shape[1]; j++)
            for (int64_t k = 0; k < d->shape[2]; k++)
                for (int64_t l = 0; l < d->shape[3]; l++) {
                    const double x = a[i * as[0] + j * as[1] + k * as[2] + l * as[3]];
                    const double z = b[i * bs[0] + j * bs[1] + k * bs[2] + l * bs[3]];
                    const double v = op == DDGAN_BIN_AXPBY ? alpha * x + beta * z
                                     : op == DDGAN_BIN_MUL ? alpha * x * z
                                                           : alpha * x / z;
                    double *t = &o[i * os[0] + j * os[1] + k * os[2] + l * os[3]];
                    *t = acc ? *t + v : v;
                }
    return DDGAN_OK;
}

static ddgan_status_t nv_unary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op,
                               double alpha, double beta, const void *av, void *ov, int acc)
{
    (void)be;
    if (d->dtype != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    const double *a = av;
    double *o = ov;
    int64_t os[4];
    nv_dense(d->shape, d->out_strides, os);
    const int64_t *as = d->a_strides;
    for (int64_t i = 0; i < d->shape[0]; i++)
        for (int64_t j = 0; j < d->shape[1]; j++)
            for (int64_t k = 0; k < d->shape[2]; k++)
                for (int64_t l = 0; l < d->shape[3]; l++) {
                    const double x = a[i * as[0] + j * as[1] + k * as[2] + l * as[3]];
                    double v = NAN;
                    switch (op) {
                    case DDGAN_UN_SCALE: v = alpha * x + beta; break;
                    case DDGAN_UN_SQUARE: v = alpha * x * x; break;
                    case DDGAN_UN_SQRT: v = alpha * sqrt(x + beta); break;
                    case DDGAN_UN_RSQRT: v = alpha / sqrt(x + beta); break;
                    case DDGAN_UN_EXP: v = alpha * exp(x); break;
                    case DDGAN_UN_LOG: v = alpha * log(x); break;
                    case DDGAN_UN_SIN: v = alpha * sin(x); break;
                    case DDGAN_UN_COS: v = alpha * cos(x); break;
                    }
                    double *t = &o[i * os[0] + j * os[1] + k * os[2] + l * os[3]];
                    *t = acc ? *t + v : v;
                }
    return DDGAN_OK;
}

static ddgan_status_t nv_reduce(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op,
                                const int64_t s[4], unsigned mask, const void *xv, void *ov, int acc)
{
    (void)be;
    if (dt != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    const double *x = xv;
    double *o = ov;
    int64_t nout = 1, nred = 1;
    for (int a = 0; a < 4; a++)
        *(mask & (1u << a) ? &nred : &nout) *= s[a];
    double *sum = calloc((size_t)nout, sizeof *sum);
    if (!sum)
        return DDGAN_ERR_OUT_OF_MEMORY;
    int64_t idx[4];
    for (idx[0] = 0; idx[0] < s[0]; idx[0]++)
        for (idx[1] = 0; idx[1] < s[1]; idx[1]++)
            for (idx[2] = 0; idx[2] < s[2]; idx[2]++)
                for (idx[3] = 0; idx[3] < s[3]; idx[3]++) {
                    int64_t oi = 0;
                    for (int a = 0; a < 4; a++)
                        if (!(mask & (1u << a)))
                            oi = oi * s[a] + idx[a];
                    const double v =
                        x[((idx[0] * s[1] + idx[1]) * s[2] + idx[2]) * s[3] + idx[3]];
                    sum[oi] += op == DDGAN_RED_SUMSQ ? v * v : v;
                }
    for (int64_t i = 0; i < nout; i++) {
        const double v = op == DDGAN_RED_MEAN ? sum[i] / (double)nred : sum[i];
        o[i] = acc ? o[i] + v : v;
    }
    free(sum);
    return DDGAN_OK;
}

/* Adam as written in reference 5.3 */
static ddgan_status_t nv_adam(ddgan_backend *be, const ddgan_adam_desc *d, void *pv,
                              const void *gv, void *mv, void *vv)
{
    (void)be;
    if (d->dtype != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    double *p = pv, *m = mv, *v = vv;
    const double *g = gv;
    const double s = (double)d->step;
    for (size_t i = 0; i < d->n; i++) {
        m[i] = d->beta1 * m[i] + (1 - d->beta1) * g[i];
        v[i] = d->beta2 * v[i] + (1 - d->beta2) * g[i] * g[i];
        p[i] -= (d->lr / (1 - pow(d->beta1, s))) * m[i] /
                (sqrt(v[i]) / sqrt(1 - pow(d->beta2, s)) + d->eps);
    }
    return DDGAN_OK;
}

static ddgan_status_t nv_ema(ddgan_backend *be, ddgan_dtype dt, size_t n, double decay, void *ev,
                             const void *pv)
{
    (void)be;
    if (dt != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    for (size_t i = 0; i < n; i++)
        ((double *)ev)[i] = decay * ((double *)ev)[i] + (1 - decay) * ((const double *)pv)[i];
    return DDGAN_OK;
}

static ddgan_status_t nv_rand_normal(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                     uint64_t stream, uint64_t first_block, void *out)
{
    (void)be;
    if (dt != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    ddgan__philox_normal_f64(seed, stream, first_block, out, n);
    return DDGAN_OK;
}

static ddgan_status_t nv_rand_uniform(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                      uint64_t stream, uint64_t first_block, void *out)
{
    (void)be;
    if (dt != DDGAN_DT_F64)
        return DDGAN_ERR_UNSUPPORTED;
    float *u = malloc(n * sizeof *u);
    if (!u)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan__philox_uniform(seed, stream, first_block, u, n);
    for (size_t i = 0; i < n; i++)
        ((double *)out)[i] = u[i];
    free(u);
    return DDGAN_OK;
}

/* forward ops only: the backward ops are checked by finite differences */
static const ddgan_backend_compute g_naive_compute = {
    .conv2d_fwd = nv_conv_fwd,
    .matmul = nv_matmul,
    .group_norm_fwd = nv_gn_fwd,
    .act_fwd = nv_act_fwd,
    .upfirdn_fwd = nv_upfirdn_fwd,
    .softmax_fwd = nv_softmax_fwd,
    .binary = nv_binary,
    .unary = nv_unary,
    .reduce = nv_reduce,
    .adam = nv_adam,
    .ema = nv_ema,
    .rand_normal = nv_rand_normal,
    .rand_uniform = nv_rand_uniform,
};

static const ddgan_backend_ops g_naive_ops = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_ops),
    .alloc = nv_alloc,
    .free = nv_free,
    .copy_h2d = nv_copy,
    .copy_d2h = nv_copy,
    .copy_d2d = nv_copy,
    .synchronize = nv_sync,
    .compute = &g_naive_compute,
};

static ddgan_backend g_naive = {.ops = &g_naive_ops};

/* ======================================================================== */
/* The parity table                                                         */

static void test_table_f32_vs_f64(void **state)
{
    (void)state;
    op_table_report r;
    const int failed = op_table_run(g_be, DDGAN_DT_F32, g_be, 3e-7, 3e-7, NULL, &r);
    print_message("[ PARITY   ] ref f32 vs ref f64: %d cases, worst normalised error fwd %.2e "
                  "(%s), grad %.2e (%s); worst element-relative %.2e (%s)\n",
                  r.run, r.worst_fwd, r.worst_fwd_case ? r.worst_fwd_case : "-", r.worst_grad,
                  r.worst_grad_case ? r.worst_grad_case : "-", r.worst_elem_rel,
                  r.worst_elem_case ? r.worst_elem_case : "-");
    assert_int_equal(failed, 0);
    assert_int_equal(r.skipped, 0);
    assert_int_equal((size_t)r.run, op_table_count);
}

static void test_table_f64_vs_naive(void **state)
{
    (void)state;
    op_table_report r;
    const int failed = op_table_run(g_be, DDGAN_DT_F64, &g_naive, 1e-12, 1e-12, NULL, &r);
    print_message("[ PARITY   ] ref f64 vs naive oracle: %d cases (%d backward skipped), worst "
                  "normalised error %.2e (%s)\n",
                  r.run, r.skipped, r.worst_fwd, r.worst_fwd_case ? r.worst_fwd_case : "-");
    assert_int_equal(failed, 0);
    assert_true(r.run > 80);
}

/* ======================================================================== */
/* Finite differences (float64)                                             */

#define FD_H 1e-5
#define FD_TOL 1e-6

/* The loss sum_i r[i] * out[i] of a forward evaluated at the current inputs. */
typedef struct fd_problem {
    void (*fwd)(struct fd_problem *p);
    double *out;
    const double *r;
    size_t nout;
    void *ud;
} fd_problem;

static double fd_loss(fd_problem *p)
{
    p->fwd(p);
    return dot(p->r, p->out, p->nout);
}

/* Worst |fd - an| / max(|an|, 1e-3 max|an|) over var[0..n). */
static double fd_worst(fd_problem *p, double *var, size_t n, const double *an)
{
    double gmax = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        gmax = fabs(an[i]) > gmax ? fabs(an[i]) : gmax;
    for (size_t i = 0; i < n; i++) {
        const double save = var[i];
        var[i] = save + FD_H;
        const double lp = fd_loss(p);
        var[i] = save - FD_H;
        const double lm = fd_loss(p);
        var[i] = save;
        const double fd = (lp - lm) / (2 * FD_H);
        double den = fabs(an[i]) > 1e-3 * gmax ? fabs(an[i]) : 1e-3 * gmax;
        if (den == 0)
            den = 1e-300;
        const double e = fabs(fd - an[i]) / den;
        worst = e > worst ? e : worst;
    }
    return worst;
}

static double g_fd_worst[8]; /* per op family, for the summary */
enum { FD_CONV, FD_GN, FD_ACT, FD_FIR, FD_SOFTMAX, FD_MATMUL };
static const char *const k_fd_names[] = {"conv", "group norm", "activations", "upfirdn",
                                          "softmax", "matmul"};

static void fd_note(int fam, double e, const char *what)
{
    if (e > g_fd_worst[fam])
        g_fd_worst[fam] = e;
    if (e > FD_TOL)
        print_error("FD %s: relative error %.3g > %.1g\n", what, e, FD_TOL);
    assert_true(e <= FD_TOL);
}

/* --- convolution --- */
typedef struct conv_fd {
    ddgan_conv2d_desc d;
    double *x, *w, *b;
} conv_fd;

static void conv_fd_fwd(fd_problem *p)
{
    conv_fd *c = p->ud;
    OK(ops()->conv2d_fwd(g_be, &c->d, c->x, c->w, c->b, p->out, 0));
}

static void check_conv_fd2(int n, int ci, int h, int w, int co, int kh, int kw, int s, int pt,
                           int pl, int pb, int pr)
{
    conv_fd c = {.d = {.dtype = DDGAN_DT_F64, .n = n, .c_in = ci, .h = h, .w = w, .c_out = co,
                       .kh = kh, .kw = kw, .stride = s, .pad_t = pt, .pad_l = pl, .pad_b = pb,
                       .pad_r = pr}};
    ddgan_conv2d_desc d = c.d;
    assert_int_equal(ddgan__conv2d_desc_finish(&d), 0);
    const size_t nx = (size_t)n * ci * h * w, nw = (size_t)co * ci * kh * kw;
    const size_t ny = (size_t)n * co * d.h_out * d.w_out;
    c.x = dalloc(nx);
    c.w = dalloc(nw);
    c.b = dalloc(co);
    double *y = dalloc(ny), *r = dalloc(ny), *dx = dalloc(nx), *dw = dalloc(nw), *db = dalloc(co);
    fill(c.x, nx, 11, -1, 1);
    fill(c.w, nw, 12, -1, 1);
    fill(c.b, co, 13, -1, 1);
    fill(r, ny, 14, -1, 1);
    OK(ops()->conv2d_bwd_data(g_be, &c.d, r, c.w, dx, 0));
    OK(ops()->conv2d_bwd_weights(g_be, &c.d, c.x, r, dw, db, 0));
    /* the convolution is bilinear: exact adjoint identities (catch what FD cannot resolve) */
    OK(ops()->conv2d_fwd(g_be, &c.d, c.x, c.w, NULL, y, 0));
    const double l0 = dot(y, r, ny);
    OK(ops()->conv2d_fwd(g_be, &c.d, c.x, c.w, c.b, y, 0));
    const double lb = dot(y, r, ny) - l0;
    const double ex = fabs(l0 - dot(c.x, dx, nx)) / fabs(l0);
    const double ew = fabs(l0 - dot(c.w, dw, nw)) / fabs(l0);
    const double eb = fabs(lb - dot(c.b, db, co)) / fabs(lb);
    assert_true(ex < 1e-13 && ew < 1e-13 && eb < 1e-12);
    fd_problem p = {.fwd = conv_fd_fwd, .out = y, .r = r, .nout = ny, .ud = &c};
    char what[96];
    snprintf(what, sizeof what, "conv %dx%d s%d pad (%d,%d,%d,%d) %dx%d", kh, kw, s, pt, pl, pb,
             pr, h, w);
    fd_note(FD_CONV, fd_worst(&p, c.x, nx, dx), what);
    fd_note(FD_CONV, fd_worst(&p, c.w, nw, dw), what);
    fd_note(FD_CONV, fd_worst(&p, c.b, co, db), what);
    free(c.x), free(c.w), free(c.b), free(y), free(r), free(dx), free(dw), free(db);
}

static void check_conv_fd(int n, int ci, int h, int w, int co, int k, int s, int pt, int pl,
                          int pb, int pr)
{
    check_conv_fd2(n, ci, h, w, co, k, k, s, pt, pl, pb, pr);
}

static void test_fd_conv(void **state)
{
    (void)state;
    check_conv_fd(2, 3, 6, 6, 4, 3, 1, 1, 1, 1, 1);  /* 3x3 pad 1 */
    check_conv_fd(1, 3, 7, 5, 2, 3, 1, 1, 1, 1, 1);  /* odd, batch 1 */
    check_conv_fd(2, 3, 5, 4, 2, 1, 1, 0, 0, 0, 0);  /* 1x1 */
    check_conv_fd(1, 2, 7, 7, 3, 3, 2, 0, 0, 0, 0);  /* stride 2 pad 0 */
    check_conv_fd(2, 2, 6, 6, 3, 3, 2, 0, 0, 1, 1);  /* asymmetric (0,0,1,1) */
    check_conv_fd(1, 2, 7, 5, 2, 3, 2, 1, 1, 1, 1);  /* stride 2 odd */
    check_conv_fd(1, 2, 6, 6, 2, 4, 2, 1, 1, 1, 1);  /* 4x4 stride 2 (transposed use) */
    check_conv_fd2(1, 2, 6, 7, 2, 3, 2, 1, 1, 0, 2, 1);  /* every pad different, 3x2 kernel */
    check_conv_fd2(2, 1, 5, 6, 2, 2, 3, 2, 0, 2, 1, 0);  /* the same, stride 2 */
}

/* --- group norm --- */
typedef struct gn_fd {
    ddgan_group_norm_desc d;
    double *x, *gamma, *beta, *mean, *rstd;
} gn_fd;

static void gn_fd_fwd(fd_problem *p)
{
    gn_fd *g = p->ud;
    OK(ops()->group_norm_fwd(g_be, &g->d, g->x, g->gamma, g->beta, p->out, g->mean, g->rstd));
}

static void check_gn_fd(int n, int c, int hw, int groups, int affine)
{
    gn_fd g = {.d = {.dtype = DDGAN_DT_F64, .n = n, .c = c, .hw = hw, .groups = groups,
                     .eps = 1e-6}};
    const size_t nx = (size_t)n * c * hw;
    g.x = dalloc(nx);
    g.mean = dalloc((size_t)n * groups);
    g.rstd = dalloc((size_t)n * groups);
    double *y = dalloc(nx), *r = dalloc(nx), *dx = dalloc(nx);
    double *dgamma = dalloc(c), *dbeta = dalloc(c);
    fill(g.x, nx, 21, -2, 3);
    fill(r, nx, 22, -1, 1);
    if (affine) {
        g.gamma = dalloc(c);
        g.beta = dalloc(c);
        fill(g.gamma, c, 23, 0.5, 1.5);
        fill(g.beta, c, 24, -1, 1);
    }
    OK(ops()->group_norm_fwd(g_be, &g.d, g.x, g.gamma, g.beta, y, g.mean, g.rstd));
    OK(ops()->group_norm_bwd(g_be, &g.d, r, g.x, g.mean, g.rstd, g.gamma, dx,
                             affine ? dgamma : NULL, affine ? dbeta : NULL, 0));
    fd_problem p = {.fwd = gn_fd_fwd, .out = y, .r = r, .nout = nx, .ud = &g};
    fd_note(FD_GN, fd_worst(&p, g.x, nx, dx), "group norm dx");
    if (affine) {
        fd_note(FD_GN, fd_worst(&p, g.gamma, c, dgamma), "group norm dgamma");
        fd_note(FD_GN, fd_worst(&p, g.beta, c, dbeta), "group norm dbeta");
    }
    free(g.x), free(g.gamma), free(g.beta), free(g.mean), free(g.rstd);
    free(y), free(r), free(dx), free(dgamma), free(dbeta);
}

static void test_fd_group_norm(void **state)
{
    (void)state;
    check_gn_fd(2, 6, 5, 3, 1);
    check_gn_fd(2, 4, 6, 1, 0); /* groups 1, non-affine */
    check_gn_fd(1, 4, 7, 4, 1); /* groups = c */
    check_gn_fd(2, 8, 3, 2, 0);
}

/* --- activations --- */
typedef struct act_fd {
    ddgan_act act;
    double alpha, *x;
} act_fd;

static void act_fd_fwd(fd_problem *p)
{
    act_fd *a = p->ud;
    OK(ops()->act_fwd(g_be, DDGAN_DT_F64, a->act, a->alpha, p->nout, a->x, p->out));
}

static void test_fd_activations(void **state)
{
    (void)state;
    const size_t n = 64;
    const struct {
        ddgan_act act;
        double alpha, lo, hi;
        const char *name;
    } k[] = {{DDGAN_ACT_SILU, 0, -6, 6, "silu"},
             {DDGAN_ACT_LRELU, 0.2, -3, 3, "lrelu"},
             {DDGAN_ACT_TANH, 0, -3, 3, "tanh"},
             {DDGAN_ACT_SOFTPLUS, 0, -25, 25, "softplus"},
             {DDGAN_ACT_SIGMOID, 0, -8, 8, "sigmoid"}};
    for (size_t a = 0; a < sizeof k / sizeof k[0]; a++) {
        act_fd f = {.act = k[a].act, .alpha = k[a].alpha, .x = dalloc(n)};
        double *y = dalloc(n), *r = dalloc(n), *dx = dalloc(n);
        fill(f.x, n, 31 + a, k[a].lo, k[a].hi);
        for (size_t i = 0; i < n; i++) {
            if (fabs(f.x[i]) < 0.05) /* LeakyReLU's kink */
                f.x[i] += 0.1;
            if (fabs(f.x[i] - 20.0) < 0.01) /* softplus' threshold */
                f.x[i] -= 0.1;
        }
        fill(r, n, 41 + a, -1, 1);
        OK(ops()->act_fwd(g_be, DDGAN_DT_F64, f.act, f.alpha, n, f.x, y));
        OK(ops()->act_bwd(g_be, DDGAN_DT_F64, f.act, f.alpha, n, f.x, y, r, dx, 0));
        fd_problem p = {.fwd = act_fd_fwd, .out = y, .r = r, .nout = n, .ud = &f};
        fd_note(FD_ACT, fd_worst(&p, f.x, n, dx), k[a].name);
        free(f.x), free(y), free(r), free(dx);
    }
}

/* --- upfirdn: exact adjoint, and finite differences --- */
typedef struct fir_fd {
    ddgan_upfirdn_desc d;
    double *x;
} fir_fd;

static void fir_fd_fwd(fd_problem *p)
{
    fir_fd *f = p->ud;
    OK(ops()->upfirdn_fwd(g_be, &f->d, f->x, p->out, 0));
}

static ddgan_upfirdn_desc fir_desc(ddgan_dtype dt, int n, int c, int h, int w, int up, int down,
                                   int p0, int p1, double div)
{
    ddgan_upfirdn_desc d = {.dtype = dt, .n = n, .c = c, .h = h, .w = w, .up = up, .down = down,
                            .pad0 = p0, .pad1 = p1, .taps = 4,
                            .kernel = {1 / div, 3 / div, 3 / div, 1 / div}};
    return d;
}

static void check_fir_adjoint(ddgan_upfirdn_desc d)
{
    ddgan_upfirdn_desc f = d;
    assert_int_equal(ddgan__upfirdn_desc_finish(&f), 0);
    const size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * f.h_out * f.w_out;
    double *x = dalloc(nx), *y = dalloc(ny), *ax = dalloc(ny), *aty = dalloc(nx);
    fill(x, nx, 51, -1, 1);
    fill(y, ny, 52, -1, 1);
    OK(ops()->upfirdn_fwd(g_be, &d, x, ax, 0));
    OK(ops()->upfirdn_bwd(g_be, &d, y, aty, 0));
    const double l = dot(ax, y, ny), r = dot(x, aty, nx);
    const double e = fabs(l - r) / fabs(l);
    fd_note(FD_FIR, e, "upfirdn adjoint <Ax,y> = <x,A^T y>");
    assert_true(e < 1e-13);
    /* and central differences of <A x, y> */
    fir_fd ud = {.d = d, .x = x};
    double *out = dalloc(ny);
    fd_problem p = {.fwd = fir_fd_fwd, .out = out, .r = y, .nout = ny, .ud = &ud};
    fd_note(FD_FIR, fd_worst(&p, x, nx, aty), "upfirdn bwd");
    free(x), free(y), free(ax), free(aty), free(out);
}

static void test_fd_upfirdn(void **state)
{
    (void)state;
    check_fir_adjoint(fir_desc(DDGAN_DT_F64, 2, 2, 5, 4, 2, 1, 2, 1, 4)); /* up x2 */
    check_fir_adjoint(fir_desc(DDGAN_DT_F64, 1, 3, 8, 6, 1, 2, 1, 1, 8)); /* down x2 */
    check_fir_adjoint(fir_desc(DDGAN_DT_F64, 1, 2, 7, 5, 1, 2, 1, 1, 8)); /* down x2 odd */
    check_fir_adjoint(fir_desc(DDGAN_DT_F64, 2, 1, 6, 7, 1, 1, 2, 2, 8)); /* blur */
    check_fir_adjoint(fir_desc(DDGAN_DT_F64, 1, 1, 4, 5, 3, 2, 1, 3, 8)); /* up 3 down 2 */
}

/* --- softmax --- */
typedef struct softmax_fd {
    size_t rows, cols;
    double *x;
} softmax_fd;

static void softmax_fd_fwd(fd_problem *p)
{
    const softmax_fd *s = p->ud;
    OK(ops()->softmax_fwd(g_be, DDGAN_DT_F64, s->rows, s->cols, s->x, p->out));
}

static void test_fd_softmax(void **state)
{
    (void)state;
    const size_t shapes[][2] = {{3, 7}, {2, 1}, {4, 16}};
    for (size_t s = 0; s < 3; s++) {
        const size_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
        double *x = dalloc(n), *y = dalloc(n), *r = dalloc(n), *dx = dalloc(n);
        fill(x, n, 61 + s, -3, 3);
        fill(r, n, 71 + s, -1, 1);
        OK(ops()->softmax_fwd(g_be, DDGAN_DT_F64, rows, cols, x, y));
        OK(ops()->softmax_bwd(g_be, DDGAN_DT_F64, rows, cols, y, r, dx, 0));
        softmax_fd ud = {rows, cols, x};
        fd_problem p = {.fwd = softmax_fd_fwd, .out = y, .r = r, .nout = n, .ud = &ud};
        const double e = fd_worst(&p, x, n, dx);
        if (cols == 1) /* the gradient is exactly 0 */
            for (size_t i = 0; i < n; i++)
                assert_true(dx[i] == 0.0);
        else
            fd_note(FD_SOFTMAX, e, "softmax");
        free(x), free(y), free(r), free(dx);
    }
}

/* --- matmul: the gradients computed with matmul itself must be the adjoint --- */
static void mm_call(int batch, int m, int n, int k, int ta, int tb, const double *a, int64_t lda,
                    int64_t sa, const double *b, int64_t ldb, int64_t sb, double *c)
{
    ddgan_matmul_desc d = {.dtype = DDGAN_DT_F64, .batch = batch, .m = m, .n = n, .k = k,
                           .trans_a = ta, .trans_b = tb, .lda = lda, .ldb = ldb, .ldc = n,
                           .stride_a = sa, .stride_b = sb, .stride_c = (int64_t)m * n,
                           .alpha = 1.0, .beta = 0.0};
    OK(ops()->matmul(g_be, &d, a, b, c));
}

typedef struct mm_fd {
    int ta, tb;
    double *a, *b;
} mm_fd;

enum { MM_B = 2, MM_M = 4, MM_N = 5, MM_K = 3 };

static void mm_fd_fwd(fd_problem *p)
{
    mm_fd *f = p->ud;
    mm_call(MM_B, MM_M, MM_N, MM_K, f->ta, f->tb, f->a, f->ta ? MM_M : MM_K, MM_M * MM_K, f->b,
            f->tb ? MM_K : MM_N, MM_K * MM_N, p->out);
}

static void test_matmul_adjoint(void **state)
{
    (void)state;
    const int B = MM_B, m = MM_M, n = MM_N, k = MM_K;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int64_t lda = ta ? m : k, ldb = tb ? k : n;
            double *a = dalloc(B * m * k), *b = dalloc(B * k * n), *c = dalloc(B * m * n);
            double *y = dalloc(B * m * n), *ga = dalloc(B * m * k), *gb = dalloc(B * k * n);
            fill(a, B * m * k, 81, -1, 1);
            fill(b, B * k * n, 82, -1, 1);
            fill(y, B * m * n, 83, -1, 1);
            mm_call(B, m, n, k, ta, tb, a, lda, m * k, b, ldb, k * n, c);
            if (!ta) /* gA [m,k] = Y op(B)^T */
                mm_call(B, m, k, n, 0, !tb, y, n, m * n, b, ldb, k * n, ga);
            else /* gA [k,m] = op(B) Y^T */
                mm_call(B, k, m, n, tb, 1, b, ldb, k * n, y, n, m * n, ga);
            if (!tb) /* gB [k,n] = op(A)^T Y */
                mm_call(B, k, n, m, !ta, 0, a, lda, m * k, y, n, m * n, gb);
            else /* gB [n,k] = Y^T op(A) */
                mm_call(B, n, k, m, 1, ta, y, n, m * n, a, lda, m * k, gb);
            const double l = dot(c, y, B * m * n);
            const double ea = fabs(l - dot(a, ga, B * m * k)) / fabs(l);
            const double eb = fabs(l - dot(b, gb, B * k * n)) / fabs(l);
            fd_note(FD_MATMUL, ea, "matmul <op(A)op(B), Y> = <A, gA>");
            fd_note(FD_MATMUL, eb, "matmul <op(A)op(B), Y> = <B, gB>");
            assert_true(ea < 1e-13 && eb < 1e-13);
            mm_fd f = {.ta = ta, .tb = tb, .a = a, .b = b};
            fd_problem p = {.fwd = mm_fd_fwd, .out = c, .r = y, .nout = B * m * n, .ud = &f};
            fd_note(FD_MATMUL, fd_worst(&p, a, B * m * k, ga), "matmul dA");
            fd_note(FD_MATMUL, fd_worst(&p, b, B * k * n, gb), "matmul dB");
            free(a), free(b), free(c), free(y), free(ga), free(gb);
        }
}

static void test_fd_summary(void **state)
{
    (void)state;
    for (int f = 0; f <= FD_MATMUL; f++)
        print_message("[ FD       ] %-12s worst relative error %.2e\n", k_fd_names[f],
                      g_fd_worst[f]);
}

/* ======================================================================== */
/* Closed forms                                                             */

/* FIR down x2 of a constant-1 4x4 image: 0.765625 everywhere (all corners). */
static void test_fir_down_constant(void **state)
{
    (void)state;
    for (int dt = 0; dt < 2; dt++) {
        ddgan_upfirdn_desc d = fir_desc((ddgan_dtype)dt, 1, 1, 4, 4, 1, 2, 1, 1, 8);
        double xd[16], yd[4];
        float xf[16], yf[4];
        for (int i = 0; i < 16; i++)
            xd[i] = xf[i] = 1.0f;
        OK(ops()->upfirdn_fwd(g_be, &d, dt ? (void *)xd : (void *)xf, dt ? (void *)yd : (void *)yf, 0));
        for (int i = 0; i < 4; i++)
            assert_true((dt ? yd[i] : (double)yf[i]) == 0.765625);
    }
}

/* 1-D closed forms of reference 2.2.7 along an axis (zero outside). */
static double at(const double *v, int n, int i, int stride) { return i < 0 || i >= n ? 0 : v[i * stride]; }

static void up_axis(const double *x, int n, int sx, double *y, int sy)
{
    for (int i = 0; i < n; i++) {
        y[(2 * i) * sy] = 0.25 * at(x, n, i - 1, sx) + 0.75 * at(x, n, i, sx);
        y[(2 * i + 1) * sy] = 0.75 * at(x, n, i, sx) + 0.25 * at(x, n, i + 1, sx);
    }
}

static void down_axis(const double *x, int n, int sx, double *y, int sy)
{
    for (int i = 0; i < n / 2; i++)
        y[i * sy] = (at(x, n, 2 * i - 1, sx) + 3 * at(x, n, 2 * i, sx) +
                     3 * at(x, n, 2 * i + 1, sx) + at(x, n, 2 * i + 2, sx)) / 8;
}

static void blur_axis(const double *x, int n, int sx, double *y, int sy)
{
    for (int i = 0; i <= n; i++)
        y[i * sy] = (at(x, n, i - 2, sx) + 3 * at(x, n, i - 1, sx) + 3 * at(x, n, i, sx) +
                     at(x, n, i + 1, sx)) / 8;
}

typedef void (*axis_fn)(const double *, int, int, double *, int);

/* Separable closed form: rows then columns. */
static void closed_2d(axis_fn f, const double *x, int h, int w, int ho, int wo, double *y)
{
    double *t = dalloc((size_t)h * wo);
    for (int r = 0; r < h; r++)
        f(x + r * w, w, 1, t + r * wo, 1);
    for (int c = 0; c < wo; c++)
        f(t + c, h, wo, y + c, wo);
    (void)ho;
    free(t);
}

static void check_fir_closed(axis_fn f, int up, int down, int p0, int p1, double div, int h, int w)
{
    ddgan_upfirdn_desc d = fir_desc(DDGAN_DT_F64, 1, 1, h, w, up, down, p0, p1, div);
    ddgan_upfirdn_desc e = d;
    assert_int_equal(ddgan__upfirdn_desc_finish(&e), 0);
    double *x = dalloc((size_t)h * w), *y = dalloc((size_t)e.h_out * e.w_out);
    double *want = dalloc((size_t)e.h_out * e.w_out);
    fill(x, (size_t)h * w, 91, -1, 1);
    OK(ops()->upfirdn_fwd(g_be, &d, x, y, 0));
    closed_2d(f, x, h, w, e.h_out, e.w_out, want);
    tu_assert_allclose_f64(y, want, (size_t)e.h_out * e.w_out, 1e-15, 1e-15, "fir closed form");
    free(x), free(y), free(want);
}

static void test_fir_closed_forms(void **state)
{
    (void)state;
    check_fir_closed(up_axis, 2, 1, 2, 1, 4, 5, 3);   /* output 2H x 2W */
    check_fir_closed(down_axis, 1, 2, 1, 1, 8, 6, 8); /* output H/2 */
    check_fir_closed(blur_axis, 1, 1, 2, 2, 8, 5, 4); /* output H+1 */
}

/* Adam step 1 moves p by about lr * sign(g) and matches reference 5.3. */
static void test_adam_closed_form(void **state)
{
    (void)state;
    enum { N = 64 };
    const double lr = 2e-4, b1 = 0.5, b2 = 0.9, eps = 1e-8;
    double p[N], g[N], m[N] = {0}, v[N] = {0}, p0[N];
    fill(p, N, 101, -1, 1);
    fill(g, N, 102, -1, 1);
    memcpy(p0, p, sizeof p);
    ddgan_adam_desc d = {.dtype = DDGAN_DT_F64, .n = N, .lr = lr, .beta1 = b1, .beta2 = b2,
                         .eps = eps, .step = 1};
    OK(ops()->adam(g_be, &d, p, g, m, v));
    for (int i = 0; i < N; i++) {
        const double mm = (1 - b1) * g[i], vv = (1 - b2) * g[i] * g[i];
        const double want = p0[i] - (lr / (1 - b1)) * mm / (sqrt(vv) / sqrt(1 - b2) + eps);
        assert_true(fabs(p[i] - want) <= 1e-15 * (fabs(p0[i]) + lr));
        assert_true(fabs(m[i] - mm) <= 1e-16 && fabs(v[i] - vv) <= 1e-16);
        const double step = p0[i] - p[i], sign = g[i] > 0 ? 1 : -1;
        assert_true(fabs(step - lr * sign) <= lr * 1e-6 / fabs(g[i]) + 1e-18);
    }
    /* step 10 from nonzero moments against the formula */
    double m2[N], v2[N];
    fill(m2, N, 103, -0.1, 0.1);
    fill(v2, N, 104, 0, 0.01);
    memcpy(p, p0, sizeof p);
    double mw[N], vw[N];
    memcpy(mw, m2, sizeof mw);
    memcpy(vw, v2, sizeof vw);
    d.step = 10;
    OK(ops()->adam(g_be, &d, p, g, m2, v2));
    for (int i = 0; i < N; i++) {
        mw[i] = b1 * mw[i] + (1 - b1) * g[i];
        vw[i] = b2 * vw[i] + (1 - b2) * g[i] * g[i];
        const double want = p0[i] - (lr / (1 - pow(b1, 10))) * mw[i] /
                                        (sqrt(vw[i]) / sqrt(1 - pow(b2, 10)) + eps);
        assert_true(fabs(p[i] - want) <= 1e-15);
    }
}

/* float32 Adam follows PyTorch 1.13's single-tensor order of operations. */
static void test_adam_f32_torch_order(void **state)
{
    (void)state;
    enum { N = 256 };
    double pd[N], gd[N], md[N], vd[N];
    fill(pd, N, 111, -1, 1);
    fill(gd, N, 112, -1e-3, 1e-3);
    fill(md, N, 113, -1e-4, 1e-4);
    fill(vd, N, 114, 0, 1e-6);
    float p[N], g[N], m[N], v[N], pw[N], mw[N], vw[N];
    for (int i = 0; i < N; i++) {
        pw[i] = p[i] = (float)pd[i];
        g[i] = (float)gd[i];
        mw[i] = m[i] = (float)md[i];
        vw[i] = v[i] = (float)vd[i];
    }
    const double lr = 1.6e-4, b1 = 0.5, b2 = 0.9, eps = 1e-8;
    const int64_t step = 7;
    ddgan_adam_desc d = {.dtype = DDGAN_DT_F32, .n = N, .lr = lr, .beta1 = b1, .beta2 = b2,
                         .eps = eps, .step = step};
    OK(ops()->adam(g_be, &d, p, g, m, v));
    /* exp_avg.mul_(b1).add_(g, alpha=1-b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2);
     * denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps); p.addcdiv_(m, denom, value=-lr/bc1) */
    const double bc1 = 1 - pow(b1, (double)step), bc2 = 1 - pow(b2, (double)step);
    for (int i = 0; i < N; i++) {
        volatile float t = mw[i] * (float)b1;
        mw[i] = t + (float)(1 - b1) * g[i];
        t = vw[i] * (float)b2;
        t = t + ((float)(1 - b2) * g[i]) * g[i];
        vw[i] = t;
        volatile float den = sqrtf(vw[i]);
        den = den / (float)sqrt(bc2);
        den = den + (float)eps;
        volatile float u = (float)(-(lr / bc1)) * mw[i];
        u = u / den;
        pw[i] = pw[i] + u;
    }
    assert_memory_equal(m, mw, sizeof m);
    assert_memory_equal(v, vw, sizeof v);
    assert_memory_equal(p, pw, sizeof p);
}

static void test_ema_closed_form(void **state)
{
    (void)state;
    enum { N = 100 };
    double e[N], p[N], w[N];
    fill(e, N, 121, -1, 1);
    fill(p, N, 122, -1, 1);
    for (int i = 0; i < N; i++)
        w[i] = 0.999 * e[i] + (1 - 0.999) * p[i];
    OK(ops()->ema(g_be, DDGAN_DT_F64, N, 0.999, e, p));
    tu_assert_allclose_f64(e, w, N, 1e-15, 1e-16, "ema f64");
    /* decay 0: ema = param exactly; float32 order ema*d + p*(1-d) */
    float ef[N], pf[N], wf[N];
    for (int i = 0; i < N; i++) {
        ef[i] = (float)e[i];
        pf[i] = (float)p[i];
        volatile float t = ef[i] * 0.9999f;
        wf[i] = t + (float)(1 - 0.9999) * pf[i];
    }
    OK(ops()->ema(g_be, DDGAN_DT_F32, N, 0.9999, ef, pf));
    assert_memory_equal(ef, wf, sizeof ef);
    OK(ops()->ema(g_be, DDGAN_DT_F32, N, 0.0, ef, pf));
    assert_memory_equal(ef, pf, sizeof ef);
}

/* rand_* give exactly the numbers of lib/core/philox.c, chunked or not. */
static void test_rand_matches_philox(void **state)
{
    (void)state;
    const size_t ns[] = {1, 3, 4, 1023, 2501};
    for (size_t q = 0; q < sizeof ns / sizeof ns[0]; q++) {
        const size_t n = ns[q];
        float *f = malloc(n * sizeof *f), *fw = malloc(n * sizeof *fw);
        double *d = malloc(n * sizeof *d), *dw = malloc(n * sizeof *dw);
        assert_true(f && fw && d && dw);
        for (int t = 1; t <= 3; t++) {
            ddgan_backend *be = g_ctx[t]->backend;
            const ddgan_backend_compute *c = be->ops->compute;
            OK(c->rand_normal(be, DDGAN_DT_F32, n, 1234, 5, 77, f));
            ddgan__philox_normal(1234, 5, 77, fw, n);
            assert_memory_equal(f, fw, n * sizeof *f);
            OK(c->rand_normal(be, DDGAN_DT_F64, n, 1234, 5, 77, d));
            ddgan__philox_normal_f64(1234, 5, 77, dw, n);
            assert_memory_equal(d, dw, n * sizeof *d);
            OK(c->rand_uniform(be, DDGAN_DT_F32, n, 99, 0, 3, f));
            ddgan__philox_uniform(99, 0, 3, fw, n);
            assert_memory_equal(f, fw, n * sizeof *f);
            OK(c->rand_uniform(be, DDGAN_DT_F64, n, 99, 0, 3, d));
            for (size_t i = 0; i < n; i++)
                assert_true(d[i] == (double)fw[i]);
        }
        free(f), free(fw), free(d), free(dw);
    }
}

/* Activation values at the edges: LeakyReLU's slope at x == 0 is alpha (as
 * torch's leaky_relu_backward: x > 0 ? dy : dy * alpha), softplus is x above
 * 20 with slope exactly 1, sigmoid/tanh backward use y. */
static void test_act_edges(void **state)
{
    (void)state;
    double x[4] = {0.0, -0.0, 1e-300, -1e-300}, y[4], dy[4] = {1, 1, 1, 1}, dx[4];
    OK(ops()->act_bwd(g_be, DDGAN_DT_F64, DDGAN_ACT_LRELU, 0.2, 4, x, NULL, dy, dx, 0));
    assert_true(dx[0] == 0.2 && dx[1] == 0.2 && dx[2] == 1.0 && dx[3] == 0.2);
    OK(ops()->act_fwd(g_be, DDGAN_DT_F64, DDGAN_ACT_LRELU, 0.2, 4, x, y));
    assert_true(y[0] == 0.0 && y[2] == 1e-300 && y[3] == -0.2e-300);
    double s[3] = {20.5, 19.5, -800}, sy[3], sd[3];
    OK(ops()->act_fwd(g_be, DDGAN_DT_F64, DDGAN_ACT_SOFTPLUS, 0, 3, s, sy));
    assert_true(sy[0] == 20.5 && fabs(sy[1] - (19.5 + log1p(exp(-19.5)))) < 1e-14 && sy[2] == 0.0);
    OK(ops()->act_bwd(g_be, DDGAN_DT_F64, DDGAN_ACT_SOFTPLUS, 0, 3, s, NULL, dy, sd, 0));
    assert_true(sd[0] == 1.0 && sd[1] < 1.0 && sd[2] == 0.0);
    double t[2] = {0.5, -0.25}, td[2];
    OK(ops()->act_bwd(g_be, DDGAN_DT_F64, DDGAN_ACT_TANH, 0, 2, NULL, t, dy, td, 0));
    assert_true(td[0] == 0.75 && td[1] == 1 - 0.0625);
    OK(ops()->act_bwd(g_be, DDGAN_DT_F64, DDGAN_ACT_SIGMOID, 0, 2, NULL, t, dy, td, 0));
    assert_true(td[0] == 0.25 && td[1] == 1.25 * -0.25);
}

/* float32 ops round their scalars to float first, then evaluate in double
 * and round once: exact bits. (Guards against the GCC 12 -O2 -fopenmp
 * miscompilation that once dropped the scalar rounding.) */
static void test_f32_scalar_rounding(void **state)
{
    (void)state;
    enum { N = 64 };
    const double al = 0.7, be = -1.3;
    const double alr = (double)(float)al, ber = (double)(float)be;
    double ad[N], bd[N];
    fill(ad, N, 191, 0.1, 2);
    fill(bd, N, 192, 0.1, 2);
    float a[N], b[N], o[N];
    for (int i = 0; i < N; i++) {
        a[i] = (float)ad[i];
        b[i] = (float)bd[i];
    }
    ddgan_ew_desc e = {.dtype = DDGAN_DT_F32, .shape = {1, 2, 4, 8}, .a_strides = {64, 32, 8, 1},
                       .b_strides = {64, 32, 8, 1}};
    OK(ops()->binary(g_be, &e, DDGAN_BIN_AXPBY, al, be, a, b, o, 0));
    for (int i = 0; i < N; i++)
        assert_true(o[i] == (float)(alr * a[i] + ber * b[i]));
    OK(ops()->unary(g_be, &e, DDGAN_UN_SQRT, al, be + 2, a, o, 0));
    for (int i = 0; i < N; i++)
        assert_true(o[i] == (float)(alr * sqrt(a[i] + (double)(float)(be + 2))));
    OK(ops()->act_fwd(g_be, DDGAN_DT_F32, DDGAN_ACT_LRELU, 0.3, N, b, o));
    for (int i = 0; i < N; i++)
        b[i] = -b[i];
    OK(ops()->act_fwd(g_be, DDGAN_DT_F32, DDGAN_ACT_LRELU, 0.3, N, b, o));
    for (int i = 0; i < N; i++)
        assert_true(o[i] == (float)((double)0.3f * b[i]));
    ddgan_upfirdn_desc f = {.dtype = DDGAN_DT_F32, .n = 1, .c = 1, .h = 8, .w = 8, .up = 1,
                            .down = 1, .taps = 1, .kernel = {0.1}};
    OK(ops()->upfirdn_fwd(g_be, &f, a, o, 0));
    for (int i = 0; i < N; i++)
        assert_true(o[i] == (float)((double)0.1f * (double)0.1f * a[i]));
    ddgan_matmul_desc m = {.dtype = DDGAN_DT_F32, .batch = 1, .m = 8, .n = 8, .k = 1, .lda = 1,
                           .ldb = 8, .ldc = 8, .alpha = al, .beta = be};
    for (int i = 0; i < N; i++)
        o[i] = b[i];
    OK(ops()->matmul(g_be, &m, a, a, o));
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            assert_true(o[i * 8 + j] ==
                        (float)(alr * ((double)a[i] * a[j]) + ber * b[i * 8 + j]));
}

/* matmul with beta = 0 ignores NaN in C; optional pointers may be NULL. */
static void test_nan_and_optional(void **state)
{
    (void)state;
    double a[6], b[6], c[4] = {NAN, NAN, NAN, NAN};
    fill(a, 6, 131, -1, 1);
    fill(b, 6, 132, -1, 1);
    ddgan_matmul_desc d = {.dtype = DDGAN_DT_F64, .batch = 1, .m = 2, .n = 2, .k = 3, .lda = 3,
                           .ldb = 2, .ldc = 2, .alpha = 1, .beta = 0};
    OK(ops()->matmul(g_be, &d, a, b, c));
    for (int i = 0; i < 4; i++)
        assert_true(isfinite(c[i]));
    /* conv without bias / dbias, group norm without stats and affine */
    ddgan_conv2d_desc cd = {.dtype = DDGAN_DT_F32, .n = 1, .c_in = 1, .h = 3, .w = 3, .c_out = 1,
                            .kh = 3, .kw = 3, .stride = 1, .pad_t = 1, .pad_l = 1, .pad_b = 1,
                            .pad_r = 1};
    float x[9], w[9], y[9], dw[9];
    for (int i = 0; i < 9; i++)
        x[i] = w[i] = 1.0f;
    OK(ops()->conv2d_fwd(g_be, &cd, x, w, NULL, y, 0));
    assert_true(y[4] == 9.0f && y[0] == 4.0f);
    OK(ops()->conv2d_bwd_weights(g_be, &cd, x, y, dw, NULL, 0));
    ddgan_group_norm_desc gd = {.dtype = DDGAN_DT_F32, .n = 1, .c = 1, .hw = 9, .groups = 1,
                                .eps = 1e-6};
    OK(ops()->group_norm_fwd(g_be, &gd, x, NULL, NULL, y, NULL, NULL));
    for (int i = 0; i < 9; i++)
        assert_true(y[i] == 0.0f);
}

/* ======================================================================== */
/* Determinism across thread counts                                         */

/* Runs `run` on the 1, 2 and 3 thread instances and compares the bytes. */
static void det_check(const char *what, size_t bytes,
                      void (*run)(ddgan_backend *be, ddgan_dtype dt, void *out), ddgan_dtype dt)
{
    unsigned char *o[4] = {0};
    for (int t = 1; t <= 3; t++) {
        o[t] = calloc(1, bytes);
        assert_non_null(o[t]);
        run(g_ctx[t]->backend, dt, o[t]);
    }
    for (int t = 2; t <= 3; t++)
        if (memcmp(o[1], o[t], bytes) != 0) {
            print_error("%s (%s): %d threads differ from 1 thread\n", what,
                        dt == DDGAN_DT_F32 ? "f32" : "f64", t);
            fail();
        }
    for (int t = 1; t <= 3; t++)
        free(o[t]);
}

/* Inputs of the determinism runs (float values, stored per dtype). */
static void *det_input(ddgan_dtype dt, size_t n, uint64_t seed, double lo, double hi)
{
    double *v = dalloc(n);
    fill(v, n, seed, lo, hi);
    if (dt == DDGAN_DT_F64)
        return v;
    float *f = malloc(n * sizeof *f);
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        f[i] = (float)v[i];
    free(v);
    return f;
}

static const ddgan_conv2d_desc k_det_conv = {.n = 2, .c_in = 8, .h = 16, .w = 15, .c_out = 6,
                                             .kh = 3, .kw = 3, .stride = 2, .pad_t = 0,
                                             .pad_l = 0, .pad_b = 1, .pad_r = 1};
/* y [2,6,8,7], x [2,8,16,15] */
#define DET_NX (2 * 8 * 16 * 15)
#define DET_NY (2 * 6 * 8 * 7)
#define DET_NW (6 * 8 * 9)

static void det_conv(ddgan_backend *be, ddgan_dtype dt, void *out)
{
    const size_t es = ddgan_dtype_size(dt);
    ddgan_conv2d_desc d = k_det_conv;
    d.dtype = dt;
    void *x = det_input(dt, DET_NX, 141, -1, 1), *w = det_input(dt, DET_NW, 142, -1, 1);
    void *b = det_input(dt, 6, 143, -1, 1), *dy = det_input(dt, DET_NY, 144, -1, 1);
    char *o = out;
    const ddgan_backend_compute *c = be->ops->compute;
    OK(c->conv2d_fwd(be, &d, x, w, b, o, 0));
    OK(c->conv2d_bwd_data(be, &d, dy, w, o + DET_NY * es, 0));
    OK(c->conv2d_bwd_weights(be, &d, x, dy, o + (DET_NY + DET_NX) * es,
                             o + (DET_NY + DET_NX + DET_NW) * es, 0));
    free(x), free(w), free(b), free(dy);
}

static void det_gn(ddgan_backend *be, ddgan_dtype dt, void *out)
{
    const size_t es = ddgan_dtype_size(dt), n = 2 * 64 * 256;
    ddgan_group_norm_desc d = {.dtype = dt, .n = 2, .c = 64, .hw = 256, .groups = 32, .eps = 1e-6};
    void *x = det_input(dt, n, 151, -2, 3), *g = det_input(dt, 64, 152, 0.5, 1.5);
    void *bt = det_input(dt, 64, 153, -1, 1), *dy = det_input(dt, n, 154, -1, 1);
    char *o = out;
    const ddgan_backend_compute *c = be->ops->compute;
    char *y = o, *mean = y + n * es, *rstd = mean + 64 * es, *dx = rstd + 64 * es;
    char *dg = dx + n * es, *db = dg + 64 * es;
    OK(c->group_norm_fwd(be, &d, x, g, bt, y, mean, rstd));
    OK(c->group_norm_bwd(be, &d, dy, x, mean, rstd, g, dx, dg, db, 0));
    free(x), free(g), free(bt), free(dy);
}
#define DET_GN_BYTES(es) ((2 * (2 * 64 * 256) + 4 * 64) * (es))

static void det_matmul(ddgan_backend *be, ddgan_dtype dt, void *out)
{
    ddgan_matmul_desc d = {.dtype = dt, .batch = 2, .m = 64, .n = 80, .k = 40, .trans_a = 1,
                           .lda = 64, .ldb = 40, .ldc = 80, .stride_a = 64 * 40, .stride_b = 0,
                           .stride_c = 64 * 80, .alpha = 0.5, .beta = 0.0, .trans_b = 1};
    void *a = det_input(dt, 2 * 64 * 40, 161, -1, 1), *b = det_input(dt, 80 * 40, 162, -1, 1);
    OK(be->ops->compute->matmul(be, &d, a, b, out));
    free(a), free(b);
}

static void det_reduce(ddgan_backend *be, ddgan_dtype dt, void *out)
{
    const int64_t shape[4] = {4, 16, 32, 32};
    const size_t es = ddgan_dtype_size(dt);
    void *x = det_input(dt, 4 * 16 * 32 * 32, 171, -1, 1);
    const ddgan_backend_compute *c = be->ops->compute;
    char *o = out;
    OK(c->reduce(be, dt, DDGAN_RED_SUM, shape, 0xD, x, o, 0));            /* 16 */
    OK(c->reduce(be, dt, DDGAN_RED_MEAN, shape, 0xF, x, o + 16 * es, 0)); /* 1 */
    OK(c->reduce(be, dt, DDGAN_RED_SUMSQ, shape, 0x1, x, o + 17 * es, 0)); /* 16384 */
    free(x);
}
#define DET_RED_BYTES(es) ((17 + 16 * 32 * 32) * (es))

static void det_misc(ddgan_backend *be, ddgan_dtype dt, void *out)
{
    const size_t es = ddgan_dtype_size(dt);
    const ddgan_backend_compute *c = be->ops->compute;
    char *o = out;
    void *x = det_input(dt, 64 * 256, 181, -4, 4), *dy = det_input(dt, 64 * 256, 182, -1, 1);
    OK(c->softmax_fwd(be, dt, 64, 256, x, o));
    OK(c->softmax_bwd(be, dt, 64, 256, o, dy, o + 64 * 256 * es, 0));
    ddgan_upfirdn_desc f = fir_desc(dt, 2, 8, 32, 32, 1, 2, 1, 1, 8);
    void *img = det_input(dt, 2 * 8 * 32 * 32, 183, -1, 1);
    OK(c->upfirdn_fwd(be, &f, img, o + 2 * 64 * 256 * es, 0));            /* 2*8*16*16 */
    OK(c->upfirdn_bwd(be, &f, o + 2 * 64 * 256 * es, o + (2 * 64 * 256 + 4096) * es, 0));
    free(x), free(dy), free(img);
}
#define DET_MISC_BYTES(es) ((2 * 64 * 256 + 4096 + 2 * 8 * 32 * 32) * (es))

static void test_determinism_threads(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        const ddgan_dtype dt = (ddgan_dtype)dti;
        const size_t es = ddgan_dtype_size(dt);
        det_check("conv fwd/bwd", (DET_NY + DET_NX + DET_NW + 6) * es, det_conv, dt);
        det_check("group norm", DET_GN_BYTES(es), det_gn, dt);
        det_check("matmul", 2 * 64 * 80 * es, det_matmul, dt);
        det_check("reduce", DET_RED_BYTES(es), det_reduce, dt);
        det_check("softmax, upfirdn", DET_MISC_BYTES(es), det_misc, dt);
    }
}

/* ======================================================================== */
/* Invalid arguments                                                        */

#define BAD(expr, needle) tu_assert_status((expr), DDGAN_ERR_INVALID_ARGUMENT, (needle))

static void test_bad_arguments(void **state)
{
    (void)state;
    const ddgan_backend_compute *c = ops();
    ddgan_backend *be = g_be;
    float buf[4096] = {0}, out[4096];
    const ddgan_conv2d_desc good = {.dtype = DDGAN_DT_F32, .n = 1, .c_in = 2, .h = 5, .w = 5,
                                    .c_out = 2, .kh = 3, .kw = 3, .stride = 1, .pad_t = 1,
                                    .pad_l = 1, .pad_b = 1, .pad_r = 1};
    OK(c->conv2d_fwd(be, &good, buf, buf, NULL, out, 0));
    ddgan_conv2d_desc d = good;
    d.stride = 3;
    BAD(c->conv2d_fwd(be, &d, buf, buf, NULL, out, 0), "stride 3");
    BAD(c->conv2d_bwd_data(be, &d, buf, buf, out, 0), "conv2d_bwd_data");
    d = good;
    d.kh = 9;
    BAD(c->conv2d_bwd_weights(be, &d, buf, buf, out, NULL, 0), "larger than");
    d = good;
    d.n = 0;
    BAD(c->conv2d_fwd(be, &d, buf, buf, NULL, out, 0), "n = 0");
    d = good;
    d.pad_b = -1;
    BAD(c->conv2d_fwd(be, &d, buf, buf, NULL, out, 0), "padding");
    d = good;
    d.dtype = (ddgan_dtype)7;
    BAD(c->conv2d_fwd(be, &d, buf, buf, NULL, out, 0), "dtype 7");
    d = good;
    d.n = d.c_in = d.c_out = 1 << 24;
    d.h = d.w = 1 << 10;
    BAD(c->conv2d_fwd(be, &d, buf, buf, NULL, out, 0), "overflow");
    BAD(c->conv2d_fwd(be, &good, NULL, buf, NULL, out, 0), "NULL");
    BAD(c->conv2d_bwd_weights(be, &good, buf, buf, NULL, NULL, 0), "NULL");
    BAD(c->conv2d_fwd(be, NULL, buf, buf, NULL, out, 0), "descriptor");
    BAD(c->conv2d_fwd(be, &good, buf, buf, NULL, out, 2), "accumulate");

    ddgan_matmul_desc m = {.dtype = DDGAN_DT_F32, .batch = 2, .m = 3, .n = 4, .k = 5, .lda = 5,
                           .ldb = 4, .ldc = 4, .stride_a = 15, .stride_b = 20, .stride_c = 12,
                           .alpha = 1};
    OK(c->matmul(be, &m, buf, buf, out));
    m.lda = 4;
    BAD(c->matmul(be, &m, buf, buf, out), "lda");
    m.lda = 5;
    m.trans_b = 2;
    BAD(c->matmul(be, &m, buf, buf, out), "trans");
    m.trans_b = 0;
    m.stride_c = 4;
    BAD(c->matmul(be, &m, buf, buf, out), "overlap");
    m.stride_c = 12;
    m.k = 0;
    BAD(c->matmul(be, &m, buf, buf, out), "k 0");
    m.k = 5;
    BAD(c->matmul(be, &m, buf, NULL, out), "NULL");

    ddgan_group_norm_desc g = {.dtype = DDGAN_DT_F32, .n = 1, .c = 6, .hw = 4, .groups = 4,
                               .eps = 1e-6};
    BAD(c->group_norm_fwd(be, &g, buf, NULL, NULL, out, NULL, NULL), "not divisible");
    g.groups = 3;
    g.eps = -1;
    BAD(c->group_norm_fwd(be, &g, buf, NULL, NULL, out, NULL, NULL), "eps");
    g.eps = 1e-6;
    BAD(c->group_norm_bwd(be, &g, buf, buf, NULL, buf, NULL, out, NULL, NULL, 0), "NULL");

    ddgan_upfirdn_desc f = fir_desc(DDGAN_DT_F32, 1, 1, 4, 4, 1, 2, 1, 1, 8);
    OK(c->upfirdn_fwd(be, &f, buf, out, 0));
    f.taps = 0;
    BAD(c->upfirdn_fwd(be, &f, buf, out, 0), "taps 0");
    f.taps = 9;
    BAD(c->upfirdn_bwd(be, &f, buf, out, 0), "taps 9");
    f.taps = 4;
    f.up = 0;
    BAD(c->upfirdn_fwd(be, &f, buf, out, 0), "up 0");
    f = fir_desc(DDGAN_DT_F32, 1, 1, 1, 1, 1, 1, 0, 0, 8);
    BAD(c->upfirdn_fwd(be, &f, buf, out, 0), "longer than");

    BAD(c->act_fwd(be, DDGAN_DT_F32, (ddgan_act)99, 0, 4, buf, out), "activation 99");
    BAD(c->act_fwd(be, (ddgan_dtype)-1, DDGAN_ACT_TANH, 0, 4, buf, out), "dtype");
    BAD(c->act_bwd(be, DDGAN_DT_F32, DDGAN_ACT_TANH, 0, 4, buf, NULL, buf, out, 0), "needs y");
    BAD(c->act_bwd(be, DDGAN_DT_F32, DDGAN_ACT_SILU, 0, 4, NULL, buf, buf, out, 0), "needs x");
    BAD(c->softmax_fwd(be, DDGAN_DT_F32, 2, 2, NULL, out), "NULL");

    ddgan_ew_desc e = {.dtype = DDGAN_DT_F32, .shape = {1, 2, 3, 4}, .a_strides = {24, 12, 4, 1},
                       .b_strides = {24, 12, 4, 1}};
    OK(c->binary(be, &e, DDGAN_BIN_MUL, 1, 0, buf, buf, out, 0));
    BAD(c->binary(be, &e, (ddgan_binary_op)3, 1, 0, buf, buf, out, 0), "unknown op 3");
    BAD(c->unary(be, &e, (ddgan_unary_op)8, 1, 0, buf, out, 0), "unknown op 8");
    e.out_strides[1] = 1;
    e.out_strides[2] = 1;
    e.out_strides[3] = 1;
    BAD(c->unary(be, &e, DDGAN_UN_SCALE, 1, 0, buf, out, 0), "overlap");
    e.out_strides[1] = e.out_strides[2] = e.out_strides[3] = 0;
    e.shape[2] = 0;
    BAD(c->unary(be, &e, DDGAN_UN_SCALE, 1, 0, buf, out, 0), "shape[2]");
    e.shape[2] = 3;
    e.a_strides[0] = -1;
    BAD(c->binary(be, &e, DDGAN_BIN_AXPBY, 1, 0, buf, buf, out, 0), "negative stride");

    const int64_t shape[4] = {2, 3, 4, 5};
    OK(c->reduce(be, DDGAN_DT_F32, DDGAN_RED_SUM, shape, 0xF, buf, out, 0));
    BAD(c->reduce(be, DDGAN_DT_F32, DDGAN_RED_SUM, shape, 0x10, buf, out, 0), "axes_mask");
    BAD(c->reduce(be, DDGAN_DT_F32, (ddgan_reduce_op)5, shape, 0x1, buf, out, 0), "unknown op 5");

    ddgan_adam_desc a = {.dtype = DDGAN_DT_F32, .n = 4, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.99,
                         .eps = 1e-8, .step = 0};
    BAD(c->adam(be, &a, out, buf, out + 8, out + 16), "step 0");
    a.step = 1;
    a.beta2 = 1.0;
    BAD(c->adam(be, &a, out, buf, out + 8, out + 16), "betas");
    a.beta2 = 0.99;
    BAD(c->adam(be, &a, out, NULL, out + 8, out + 16), "NULL");
    BAD(c->ema(be, DDGAN_DT_F32, 4, 1.5, out, buf), "decay");
    BAD(c->rand_normal(be, DDGAN_DT_F32, 4, 1, 2, 3, NULL), "NULL");
    BAD(c->rand_uniform(be, (ddgan_dtype)2, 4, 1, 2, 3, out), "dtype 2");
    /* n == 0 is a no-op, even with NULL pointers */
    OK(c->rand_uniform(be, DDGAN_DT_F32, 0, 1, 2, 3, NULL));
    OK(c->act_fwd(be, DDGAN_DT_F64, DDGAN_ACT_SILU, 0, 0, NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_f32_vs_f64),
        cmocka_unit_test(test_table_f64_vs_naive),
        cmocka_unit_test(test_fd_conv),
        cmocka_unit_test(test_fd_group_norm),
        cmocka_unit_test(test_fd_activations),
        cmocka_unit_test(test_fd_upfirdn),
        cmocka_unit_test(test_fd_softmax),
        cmocka_unit_test(test_matmul_adjoint),
        cmocka_unit_test(test_fd_summary),
        cmocka_unit_test(test_fir_down_constant),
        cmocka_unit_test(test_fir_closed_forms),
        cmocka_unit_test(test_adam_closed_form),
        cmocka_unit_test(test_adam_f32_torch_order),
        cmocka_unit_test(test_ema_closed_form),
        cmocka_unit_test(test_rand_matches_philox),
        cmocka_unit_test(test_act_edges),
        cmocka_unit_test(test_f32_scalar_rounding),
        cmocka_unit_test(test_nan_and_optional),
        cmocka_unit_test(test_determinism_threads),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
