/* "cpu" group norm (forward, backward) in float32.
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

/* sum x */
static double sum1(const float *x, int64_t n)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            acc[l] += (double)x[i + l];
    for (; i < n; i++)
        acc[i % LANES] += (double)x[i];
    return lanes_total(acc);
}

/* sum (x - mu)^2 */
static double sumsq_dev(const float *x, int64_t n, double mu)
{
    double acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            const double d = (double)x[i + l] - mu;
            acc[l] += d * d;
        }
    for (; i < n; i++) {
        const double d = (double)x[i] - mu;
        acc[i % LANES] += d * d;
    }
    return lanes_total(acc);
}

/* *s1 = sum dy, *s2 = sum dy (x - mu) */
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

ddgan_status_t ddgan__cpu_group_norm_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *xv, const void *gammav, const void *betav,
                                         void *yv, void *meanv, void *rstdv)
{
    if (!be || !be->state || !gn_valid(d, 0) || !xv || !yv)
        return ddgan__ref_group_norm_fwd(be, d, xv, gammav, betav, yv, meanv, rstdv);
    const float *x = xv, *gamma = gammav, *beta = betav;
    float *y = yv, *mean = meanv, *rstd = rstdv;
    const int64_t cpg = d->c / d->groups, hw = d->hw, cnt = cpg * hw;
    const int64_t tasks = (int64_t)d->n * d->groups;
    const int nt = gn_team(be, d);
    (void)nt;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int64_t t = 0; t < tasks; t++) {
        const double eps = (double)(float)d->eps; /* ref's REF_SCALAR, inside the loop */
        const int64_t g = t % d->groups;
        const float *xg = x + t * cnt;
        float *yg = y + t * cnt;
        const double mu = sum1(xg, cnt) / (double)cnt;
        const double rs = 1.0 / sqrt(sumsq_dev(xg, cnt, mu) / (double)cnt + eps);
        for (int64_t cc = 0; cc < cpg; cc++) {
            const int64_t ch = g * cpg + cc;
            const double ga = gamma ? (double)gamma[ch] : 1.0, sh = beta ? (double)beta[ch] : 0.0;
            const float *xc = xg + cc * hw;
            float *yc = yg + cc * hw;
            CPU_SIMD
            for (int64_t i = 0; i < hw; i++)
                yc[i] = (float)(((double)xc[i] - mu) * rs * ga + sh);
        }
        if (mean)
            mean[t] = (float)mu;
        if (rstd)
            rstd[t] = (float)rs;
    }
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
                const float *xc = xg + cc * hw, *dyc = dyg + cc * hw;
                float *dxc = dxg + cc * hw;
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
