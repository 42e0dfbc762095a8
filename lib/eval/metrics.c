/* Host metrics (docs/eval.md): feature statistics, the Frechet distance,
 * improved precision / recall and the KL divergence to uniform. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "eval/eval.h"

void ddgan__feature_stats(const float *f, size_t n, size_t dim, double *mu, double *sigma)
{
    /* two passes (mean, then centred products) in float64: one pass with
     * sum x x^T - n mu mu^T loses the small variances to cancellation */
    memset(mu, 0, dim * sizeof *mu);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++)
            mu[j] += (double)f[i * dim + j];
    for (size_t j = 0; j < dim; j++)
        mu[j] /= (double)n;
    memset(sigma, 0, dim * dim * sizeof *sigma);
    for (size_t i = 0; i < n; i++) {
        const float *row = f + i * dim;
        for (size_t a = 0; a < dim; a++) {
            const double da = (double)row[a] - mu[a];
            if (da == 0.0)
                continue;
            double *srow = sigma + a * dim;
            for (size_t b = a; b < dim; b++)
                srow[b] += da * ((double)row[b] - mu[b]);
        }
    }
    for (size_t a = 0; a < dim; a++)
        for (size_t b = a; b < dim; b++) {
            const double v = sigma[a * dim + b] / (double)(n - 1);
            sigma[a * dim + b] = sigma[b * dim + a] = v;
        }
}

ddgan_status_t ddgan__frechet(const double *mu1, const double *s1, const double *mu2, const double *s2,
                              size_t dim, double *out, const char *fn)
{
    double d2 = 0.0, tr = 0.0;
    for (size_t i = 0; i < dim; i++) {
        const double d = mu1[i] - mu2[i];
        d2 += d * d;
        tr += s1[i * dim + i] + s2[i * dim + i];
    }
    if (!isfinite(d2) || !isfinite(tr))
        return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "%s: non-finite means or covariances", fn);
    double trs = 0.0;
    DDGAN_TRY(ddgan__trace_sqrt_product(s1, s2, dim, &trs, fn));
    const double fd = d2 + tr - 2.0 * trs;
    /* mathematically >= 0; rounding can leave a tiny negative value */
    *out = fd > 0.0 ? fd : 0.0;
    return DDGAN_OK;
}

ddgan_status_t ddgan__frechet_features(const float *a, size_t na, const float *b, size_t nb, size_t dim,
                                       double *out, const char *fn)
{
    const size_t nn = dim * dim;
    double *buf = ddgan__malloc((2 * nn + 2 * dim) * sizeof(double), fn);
    if (!buf)
        return DDGAN_ERR_OUT_OF_MEMORY;
    double *s1 = buf, *s2 = buf + nn, *m1 = buf + 2 * nn, *m2 = m1 + dim;
    ddgan__feature_stats(a, na, dim, m1, s1);
    ddgan__feature_stats(b, nb, dim, m2, s2);
    ddgan_status_t st = ddgan__frechet(m1, s1, m2, s2, dim, out, fn);
    ddgan__free(buf);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Precision / recall */

static double sqdist(const float *a, const float *b, size_t dim)
{
    /* four independent accumulators: the sum is the hot loop of precision / recall, and
     * one accumulator would serialise it on the add latency */
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    size_t j = 0;
    for (; j + 4 <= dim; j += 4)
        for (int u = 0; u < 4; u++) {
            const double d = (double)a[j + u] - (double)b[j + u];
            acc[u] += d * d;
        }
    for (; j < dim; j++) {
        const double d = (double)a[j] - (double)b[j];
        acc[0] += d * d;
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

/* radius[i] = squared distance from x_i to its k-th nearest other point of x */
static void knn_radii(const float *x, size_t n, size_t dim, int k, double *radius)
{
#if defined(DDGAN_HAVE_OPENMP)
#pragma omp parallel for schedule(dynamic, 16)
#endif
    for (long long ii = 0; ii < (long long)n; ii++) {
        const size_t i = (size_t)ii;
        double best[DDGAN_PR_MAX_K]; /* ascending, the k smallest so far */
        int have = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            const double d = sqdist(x + i * dim, x + j * dim, dim);
            if (have == k && d >= best[k - 1])
                continue;
            int pos = have < k ? have++ : k - 1;
            while (pos > 0 && best[pos - 1] > d) {
                best[pos] = best[pos - 1];
                pos--;
            }
            best[pos] = d;
        }
        radius[i] = best[k - 1];
    }
}

/* Fraction of the points of q inside the manifold of (x, radius). */
static double coverage(const float *x, size_t nx, const double *radius, const float *q, size_t nq,
                       size_t dim)
{
    long long inside = 0;
#if defined(DDGAN_HAVE_OPENMP)
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : inside)
#endif
    for (long long ii = 0; ii < (long long)nq; ii++) {
        const float *p = q + (size_t)ii * dim;
        for (size_t j = 0; j < nx; j++)
            if (sqdist(p, x + j * dim, dim) <= radius[j]) {
                inside++;
                break;
            }
    }
    return (double)inside / (double)nq;
}

ddgan_status_t ddgan__precision_recall(const float *real, size_t n_real, const float *fake,
                                       size_t n_fake, size_t dim, int k, double *precision,
                                       double *recall, const char *fn)
{
    double *r_real = ddgan__malloc(n_real * sizeof(double), fn);
    double *r_fake = r_real ? ddgan__malloc(n_fake * sizeof(double), fn) : NULL;
    if (!r_fake) {
        ddgan__free(r_real);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    if (precision) {
        knn_radii(real, n_real, dim, k, r_real);
        *precision = coverage(real, n_real, r_real, fake, n_fake, dim);
    }
    if (recall) {
        knn_radii(fake, n_fake, dim, k, r_fake);
        *recall = coverage(fake, n_fake, r_fake, real, n_real, dim);
    }
    ddgan__free(r_fake);
    ddgan__free(r_real);
    return DDGAN_OK;
}

double ddgan__kl_uniform(const int64_t *counts, size_t bins, int64_t total)
{
    if (total <= 0)
        return NAN;
    /* KL(p || u) = sum_k p_k ln(p_k / (1 / K)); empty bins contribute 0 */
    double kl = 0.0;
    for (size_t i = 0; i < bins; i++)
        if (counts[i] > 0) {
            const double p = (double)counts[i] / (double)total;
            kl += p * log(p * (double)bins);
        }
    return kl > 0.0 ? kl : 0.0;
}
