/* "cpu" group norm (forward, backward) and inner reductions in float32.
 *
 * ref's kernel sums each group serially in double (a dependency chain the
 * compiler may not reorder) and tests gamma/beta per element; GroupNorm was
 * 5-13% of a step on it. Here the sums run in 8 independent double lanes
 * (combined in a fixed order, so the result does not depend on the thread
 * count or on anything but the data), the per-channel factors are hoisted,
 * and the elementwise passes are branch-free loops in double that vectorise.
 * Values are ref's up to the order of the double additions (far below float
 * rounding). One task per (sample, group), or per channel for dgamma/dbeta,
 * as ref. float64 and invalid arguments go to ref. */
#include <math.h>
#include <stdint.h>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_math.h"
#include "ref/ref_ops.h"

#define CPU_GN_PARALLEL_MIN ((int64_t)1 << 15)
#define LANES 8

#if defined(_OPENMP)
#define CPU_SIMD _Pragma("omp simd")
#else
#define CPU_SIMD
#endif

static double lanes_total(const double acc[LANES])
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* The forward statistics sum in STAT_LANES double lanes (four AVX-512
 * vectors: independent add chains, so the loop is not bound by the add
 * latency), combined pairwise in a fixed order. */
#define STAT_LANES 32

static double stat_total(double acc[STAT_LANES])
{
    for (int w = STAT_LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    return acc[0];
}

/* sum x */
CPU_MULTIVERSION
static double sum1(const float *x, int64_t n)
{
    double acc[STAT_LANES] = {0};
    int64_t i = 0;
    for (; i + STAT_LANES <= n; i += STAT_LANES)
        for (int l = 0; l < STAT_LANES; l++)
            acc[l] += (double)x[i + l];
    for (; i < n; i++)
        acc[i % STAT_LANES] += (double)x[i];
    return stat_total(acc);
}

/* sum (x - mu)^2 */
CPU_MULTIVERSION
static double sumsq_dev(const float *x, int64_t n, double mu)
{
    double acc[STAT_LANES] = {0};
    int64_t i = 0;
    for (; i + STAT_LANES <= n; i += STAT_LANES)
        for (int l = 0; l < STAT_LANES; l++) {
            const double d = (double)x[i + l] - mu;
            acc[l] += d * d;
        }
    for (; i < n; i++) {
        const double d = (double)x[i] - mu;
        acc[i % STAT_LANES] += d * d;
    }
    return stat_total(acc);
}

/* *s1 = sum dy, *s2 = sum dy (x - mu) */
CPU_MULTIVERSION
static void sum_dy(const float *dy, const float *x, int64_t n, double mu, double *s1, double *s2)
{
    double a[LANES] = {0}, b[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            const double g = (double)dy[i + l];
            a[l] += g;
            b[l] += g * ((double)x[i + l] - mu);
        }
    for (; i < n; i++) {
        const double g = (double)dy[i];
        a[i % LANES] += g;
        b[i % LANES] += g * ((double)x[i] - mu);
    }
    *s1 = lanes_total(a);
    *s2 = lanes_total(b);
}

/* mean and 1 / sqrt(biased variance + eps) of one (sample, group) */
static void group_stats(const float *xg, int64_t cnt, double eps, double *mu, double *rs)
{
    *mu = sum1(xg, cnt) / (double)cnt;
    *rs = 1.0 / sqrt(sumsq_dev(xg, cnt, *mu) / (double)cnt + eps);
}

/* y = (x - mu) rs ga + sh over one channel of hw elements */
CPU_MULTIVERSION
static void gn_apply(const float *xc, float *yc, int64_t hw, double mu, double rs, double ga, double sh)
{
    CPU_SIMD
    for (int64_t i = 0; i < hw; i++)
        yc[i] = (float)(((double)xc[i] - mu) * rs * ga + sh);
}

/* dx (+)= rs (dy ga - mg - xhat mgx) over one channel of hw elements */
CPU_MULTIVERSION
static void gn_dx(const float *xc, const float *dyc, float *dxc, int64_t hw, double mu, double rs, double ga,
                  double mg, double mgx, int accumulate)
{
    if (accumulate) {
        CPU_SIMD
        for (int64_t i = 0; i < hw; i++) {
            const double xhat = ((double)xc[i] - mu) * rs;
            dxc[i] = (float)((double)dxc[i] + rs * ((double)dyc[i] * ga - mg - xhat * mgx));
        }
    } else {
        CPU_SIMD
        for (int64_t i = 0; i < hw; i++) {
            const double xhat = ((double)xc[i] - mu) * rs;
            dxc[i] = (float)(rs * ((double)dyc[i] * ga - mg - xhat * mgx));
        }
    }
}

static int gn_team(const ddgan_backend *be, const ddgan_group_norm_desc *d)
{
    const cpu_state *st = be->state;
    return (int64_t)d->n * d->c * d->hw >= CPU_GN_PARALLEL_MIN && st->num_threads > 1 ? st->num_threads
                                                                                         : 1;
}

static int gn_valid(const ddgan_group_norm_desc *d, int accumulate)
{
    return d && d->dtype == DDGAN_DT_F32 && (accumulate == 0 || accumulate == 1) && d->n >= 1 &&
           d->c >= 1 && d->hw >= 1 && d->groups >= 1 && d->c % d->groups == 0 && d->eps >= 0.0 &&
           isfinite(d->eps) && (double)d->n * d->c * d->hw < (double)REF_MAX_ELEMS;
}

/* One channel of the fused AdaGN + SiLU, rounded as the composition
 * rounds: group_norm_fwd's (double, gamma 1 and beta 0, rounded to float),
 * then binary MUL (alpha 1) and AXPBY (alpha = beta = 1), which evaluate
 * in double and round once: for a product or a sum of two floats that is
 * the float operation's result (double has more than 2 x 24 + 2 bits), so
 * they run in float here; then act_fwd's SiLU. Blocks of ADAGN_BLK
 * elements, each loop of one width, so both vectorise. */
#define ADAGN_BLK 256
CPU_MULTIVERSION
static void adagn_silu_apply(const float *xc, float *yc, int64_t hw, double mu, double rs, float ga,
                             float sh)
{
    float n[ADAGN_BLK];
    for (int64_t i0 = 0; i0 < hw; i0 += ADAGN_BLK) {
        const int64_t len = hw - i0 < ADAGN_BLK ? hw - i0 : ADAGN_BLK;
        const float *xb = xc + i0;
        float *yb = yc + i0;
        CPU_SIMD
        for (int64_t i = 0; i < len; i++)
            n[i] = (float)(((double)xb[i] - mu) * rs * 1.0 + 0.0);
        CPU_SIMD
        for (int64_t i = 0; i < len; i++) {
            const float h = n[i] * ga + sh;
            yb[i] = h * sigmoid_f(h);
        }
    }
}

/* The forward's tasks, one per (sample, group): the statistics, then
 * either the affine group norm (gamma / beta per channel, each optional;
 * style NULL) or the fused AdaGN + SiLU (style [n, 2c]). */
static void gn_forward_tasks(const ddgan_backend *be, const ddgan_group_norm_desc *d, const float *x,
                             const float *gamma, const float *beta, const float *style, float *y,
                             float *mean, float *rstd)
{
    const int64_t c = d->c, cpg = c / d->groups, hw = d->hw, cnt = cpg * hw;
    const int64_t tasks = (int64_t)d->n * d->groups;
    const int nt = gn_team(be, d);
    (void)nt;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int64_t t = 0; t < tasks; t++) {
        const double eps = (double)(float)d->eps; /* ref's REF_SCALAR, inside the loop */
        const int64_t b = t / d->groups, g = t % d->groups;
        const float *xg = x + t * cnt;
        float *yg = y + t * cnt;
        double mu, rs;
        group_stats(xg, cnt, eps, &mu, &rs);
        for (int64_t cc = 0; cc < cpg; cc++) {
            const int64_t ch = g * cpg + cc;
            if (style) {
                adagn_silu_apply(xg + cc * hw, yg + cc * hw, hw, mu, rs, style[b * 2 * c + ch],
                                 style[b * 2 * c + c + ch]);
            } else {
                const double ga = gamma ? (double)gamma[ch] : 1.0;
                const double sh = beta ? (double)beta[ch] : 0.0;
                gn_apply(xg + cc * hw, yg + cc * hw, hw, mu, rs, ga, sh);
            }
        }
        if (mean)
            mean[t] = (float)mu;
        if (rstd)
            rstd[t] = (float)rs;
    }
}

ddgan_status_t ddgan__cpu_group_norm_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *xv, const void *gammav, const void *betav,
                                         void *yv, void *meanv, void *rstdv)
{
    if (!be || !be->state || !gn_valid(d, 0) || !xv || !yv)
        return ddgan__ref_group_norm_fwd(be, d, xv, gammav, betav, yv, meanv, rstdv);
    gn_forward_tasks(be, d, xv, gammav, betav, NULL, yv, meanv, rstdv);
    return DDGAN_OK;
}

/* adagn_act_fwd (backend_ops.h): one pass over each (sample, group) for its
 * statistics and one that writes y, instead of the composition's four ops
 * and eight passes. SiLU in float32 only; other activations and float64 run
 * the composition on this backend's ops (same bits by definition), invalid
 * arguments go to ref (its messages). */
ddgan_status_t ddgan__cpu_adagn_act_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                        const void *xv, const void *stylev, ddgan_act act,
                                        double alpha, void *yv)
{
    if (!be || !be->state || !d || !gn_valid(d, 0) || !xv || !stylev || !yv ||
        (unsigned)act > (unsigned)DDGAN_ACT_SIGMOID)
        return ddgan__ref_adagn_act_fwd(be, d, xv, stylev, act, alpha, yv);
    if (act != DDGAN_ACT_SILU)
        return ddgan__adagn_act_compose(&ddgan__cpu_compute, be, d, xv, stylev, act, alpha, yv);
    gn_forward_tasks(be, d, xv, NULL, NULL, stylev, yv, NULL, NULL);
    return DDGAN_OK;
}

ddgan_status_t ddgan__cpu_group_norm_bwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *dyv, const void *xv, const void *meanv,
                                         const void *rstdv, const void *gammav, void *dxv,
                                         void *dgammav, void *dbetav, int accumulate)
{
    if (!be || !be->state || !gn_valid(d, accumulate) || !dyv || !xv || !meanv || !rstdv)
        return ddgan__ref_group_norm_bwd(be, d, dyv, xv, meanv, rstdv, gammav, dxv, dgammav, dbetav,
                                         accumulate);
    const float *dy = dyv, *x = xv, *mean = meanv, *rstd = rstdv, *gamma = gammav;
    float *dx = dxv, *dgamma = dgammav, *dbeta = dbetav;
    const int64_t cpg = d->c / d->groups, hw = d->hw, cnt = cpg * hw;
    const int nt = gn_team(be, d);
    (void)nt;
    if (dx) {
        const int64_t tasks = (int64_t)d->n * d->groups;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t g = t % d->groups;
            const float *xg = x + t * cnt, *dyg = dy + t * cnt;
            float *dxg = dx + t * cnt;
            const double mu = (double)mean[t], rs = (double)rstd[t];
            /* sum g and sum g xhat with g = dy gamma: gamma is constant per channel */
            double sg = 0.0, sgx = 0.0;
            for (int64_t cc = 0; cc < cpg; cc++) {
                const double ga = gamma ? (double)gamma[g * cpg + cc] : 1.0;
                double s1, s2;
                sum_dy(dyg + cc * hw, xg + cc * hw, hw, mu, &s1, &s2);
                sg += ga * s1;
                sgx += ga * s2 * rs;
            }
            const double mg = sg / (double)cnt, mgx = sgx / (double)cnt;
            for (int64_t cc = 0; cc < cpg; cc++) {
                const double ga = gamma ? (double)gamma[g * cpg + cc] : 1.0;
                gn_dx(xg + cc * hw, dyg + cc * hw, dxg + cc * hw, hw, mu, rs, ga, mg, mgx, accumulate);
            }
        }
    }
    if (dgamma || dbeta) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
        for (int64_t ch = 0; ch < d->c; ch++) {
            const int64_t g = ch / cpg;
            double sg = 0.0, sgx = 0.0;
            for (int64_t b = 0; b < d->n; b++) {
                const int64_t off = (b * d->c + ch) * hw, s = b * d->groups + g;
                double s1, s2;
                sum_dy(dy + off, x + off, hw, (double)mean[s], &s1, &s2);
                sg += s1;
                sgx += s2 * (double)rstd[s];
            }
            if (dgamma)
                dgamma[ch] = (float)(accumulate ? (double)dgamma[ch] + sgx : sgx);
            if (dbeta)
                dbeta[ch] = (float)(accumulate ? (double)dbeta[ch] + sg : sg);
        }
    }
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* reduce (float32) when the reduced axes are the innermost ones: one
 * contiguous run of `len` elements per output (per-(n, c) sums over H x W of
 * the AdaGN and bias gradients, sum pooling, the gradient norms of the
 * trainer). Each run is summed in 8 double lanes over fixed blocks of
 * CPU_RED_BLOCK elements whose partial sums are added in block order, so a
 * long run (a 48 M-parameter gradient norm) is shared among threads while
 * the result depends on neither the thread count nor the schedule. ref sums
 * serially in double; the two agree to double rounding, far inside float
 * rounding (the op's contract). Other axis patterns go to ref. */
#define CPU_RED_BLOCK ((int64_t)1 << 16)

CPU_MULTIVERSION
static double sum_run(const float *x, int64_t n, int sq)
{
    if (!sq)
        return sum1(x, n);
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            const double v = (double)x[i + l];
            acc[l] += v * v;
        }
    for (; i < n; i++) {
        const double v = (double)x[i];
        acc[i % LANES] += v * v;
    }
    return lanes_total(acc);
}

ddgan_status_t ddgan__cpu_reduce(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op, const int64_t shape[4],
                                 unsigned axes_mask, const void *xv, void *outv, int accumulate)
{
    int inner_ok = be && be->state && dt == DDGAN_DT_F32 && shape && xv && outv &&
                   (unsigned)op <= (unsigned)DDGAN_RED_SUMSQ && axes_mask != 0 && axes_mask <= 15u &&
                   (accumulate == 0 || accumulate == 1);
    int64_t n_out = 1, len = 1;
    double count = 1.0;
    if (inner_ok) {
        /* the reduced axes must be a suffix of the non-trivial axes */
        int seen_kept = 0;
        for (int i = 3; i >= 0; i--) {
            if (shape[i] < 1) {
                inner_ok = 0;
                break;
            }
            count *= (double)shape[i];
            const int red = (axes_mask >> i) & 1u;
            if (red && shape[i] > 1 && seen_kept)
                inner_ok = 0;
            if (!red && shape[i] > 1)
                seen_kept = 1;
            if (red)
                len *= shape[i];
            else
                n_out *= shape[i];
        }
        if (count > (double)REF_MAX_ELEMS)
            inner_ok = 0;
    }
    if (!inner_ok)
        return ddgan__ref_reduce(be, dt, op, shape, axes_mask, xv, outv, accumulate);
    const float *x = xv;
    float *out = outv;
    const cpu_state *st = be->state;
    const int nt = count >= (double)CPU_GN_PARALLEL_MIN && st->num_threads > 1 ? st->num_threads : 1;
    const int sq = op == DDGAN_RED_SUMSQ;
    (void)nt;
    if (len <= CPU_RED_BLOCK || n_out > 1) {
        /* one task per output */
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
        for (int64_t o = 0; o < n_out; o++) {
            double s = 0.0;
            for (int64_t b0 = 0; b0 < len; b0 += CPU_RED_BLOCK)
                s += sum_run(x + o * len + b0, len - b0 < CPU_RED_BLOCK ? len - b0 : CPU_RED_BLOCK, sq);
            if (op == DDGAN_RED_MEAN)
                s /= (double)len;
            out[o] = (float)(accumulate ? (double)out[o] + s : s);
        }
        return DDGAN_OK;
    }
    /* one long run: blocks shared among threads, partial sums added in order */
    const int64_t nb = (len + CPU_RED_BLOCK - 1) / CPU_RED_BLOCK;
    double part_stack[256];
    double *part = part_stack;
    cpu_state *mst = be->state;
    if (nb > 256) {
        part = ddgan__cpu_grow(&mst->fir_buf, &mst->fir_cap, (size_t)nb * sizeof(double), "reduce");
        if (!part)
            return DDGAN_ERR_OUT_OF_MEMORY;
    }
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int64_t b = 0; b < nb; b++) {
        const int64_t b0 = b * CPU_RED_BLOCK;
        part[b] = sum_run(x + b0, len - b0 < CPU_RED_BLOCK ? len - b0 : CPU_RED_BLOCK, sq);
    }
    double s = 0.0;
    for (int64_t b = 0; b < nb; b++)
        s += part[b];
    if (op == DDGAN_RED_MEAN)
        s /= (double)len;
    out[0] = (float)(accumulate ? (double)out[0] + s : s);
    return DDGAN_OK;
}
