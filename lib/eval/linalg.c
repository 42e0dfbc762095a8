/*
 * Symmetric eigen-decomposition for the Frechet distance (docs/eval.md).
 *
 * Why not LAPACK: the core library must load without OpenBLAS/LAPACK
 * (docs/architecture.md: only backend plug-ins link them), and the feature
 * spaces here are small (the classifier's 128 features per channel, 384 for
 * StackedMNIST), where cyclic Jacobi in float64 takes milliseconds to a few
 * seconds and is accurate to rounding: each sweep reduces the off-diagonal
 * mass quadratically once it is small, and eigenvalues are obtained to high
 * relative accuracy for positive semi-definite matrices.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "eval/eval.h"

#define JACOBI_MAX_SWEEPS 60

ddgan_status_t ddgan__sym_eig(double *a, size_t n, double *w, double *vt, const char *fn)
{
    double total = 0.0;
    for (size_t i = 0; i < n * n; i++) {
        if (!isfinite(a[i]))
            return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "%s: non-finite matrix entry", fn);
        total += a[i] * a[i];
    }
    if (vt) {
        memset(vt, 0, n * n * sizeof *vt);
        for (size_t i = 0; i < n; i++)
            vt[i * n + i] = 1.0;
    }
    /* stop when the off-diagonal mass is below 1e-24 of the total: the
     * eigenvalues are then exact to about 1e-24 relative (second order) */
    const double tol = total * 1e-24;
    int converged = total == 0.0;
    for (int sweep = 0; sweep < JACOBI_MAX_SWEEPS && !converged; sweep++) {
        double off = 0.0;
        for (size_t p = 0; p < n; p++)
            for (size_t q = p + 1; q < n; q++)
                off += 2.0 * a[p * n + q] * a[p * n + q];
        if (off <= tol || off == 0.0) {
            converged = 1;
            break;
        }
        for (size_t p = 0; p + 1 < n; p++) {
            for (size_t q = p + 1; q < n; q++) {
                const double apq = a[p * n + q];
                if (apq == 0.0)
                    continue;
                /* rotation J (J_pp = J_qq = c, J_pq = s, J_qp = -s) that zeroes a_pq in J^T A J:
                 * cot(2 phi) = (a_qq - a_pp) / (2 a_pq); the smaller root t = tan(phi) keeps
                 * the rotation angle below pi/4, which is what makes the sweep converge */
                const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                double t = 1.0 / (fabs(theta) + sqrt(theta * theta + 1.0));
                if (theta < 0.0)
                    t = -t;
                const double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                /* A stays symmetric, so one pass over the contiguous rows p and q does it:
                 * a'_pk = c a_pk - s a_qk, a'_qk = s a_pk + c a_qk for k != p, q, mirrored
                 * into the columns; the 2 x 2 block has the closed form below */
                double *rp = a + p * n, *rq = a + q * n;
                for (size_t k = 0; k < n; k++) {
                    if (k == p || k == q)
                        continue;
                    const double apk = rp[k], aqk = rq[k];
                    rp[k] = a[k * n + p] = c * apk - s * aqk;
                    rq[k] = a[k * n + q] = s * apk + c * aqk;
                }
                rp[p] -= t * apq;
                rq[q] += t * apq;
                rp[q] = rq[p] = 0.0;
                if (vt) { /* eigenvectors as rows: V J acts on rows p, q of V^T */
                    double *vp = vt + p * n, *vq = vt + q * n;
                    for (size_t k = 0; k < n; k++) {
                        const double x = vp[k], y = vq[k];
                        vp[k] = c * x - s * y;
                        vq[k] = s * x + c * y;
                    }
                }
            }
        }
    }
    if (!converged)
        return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "%s: the eigen-decomposition did not converge in %d sweeps",
                         fn, JACOBI_MAX_SWEEPS);
    for (size_t i = 0; i < n; i++)
        w[i] = a[i * n + i];
    return DDGAN_OK;
}

/* c = a b for n x n matrices */
static void matmul(const double *a, const double *b, double *c, size_t n)
{
    memset(c, 0, n * n * sizeof *c);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < n; k++) {
            const double aik = a[i * n + k];
            if (aik == 0.0)
                continue;
            for (size_t j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
}

/* Eigenvalues below -PSD_TOL * (largest |eigenvalue|) mean the matrix is not
 * a covariance; smaller negative ones are rounding and are clamped to 0. */
#define PSD_TOL 1e-6

static ddgan_status_t clamp_psd(double *w, size_t n, const char *what, const char *fn)
{
    double big = 0.0;
    for (size_t i = 0; i < n; i++)
        big = fmax(big, fabs(w[i]));
    /* eigenvalues of a matrix with entries of size `big` carry rounding noise of about
     * n eps big; below that they are zero for all we know, and their square roots (which
     * would be ~sqrt(n eps big), far above the noise) must not enter the trace */
    const double noise = (double)n * 1e-15 * big;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < -PSD_TOL * big)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "%s: %s is not positive semi-definite (eigenvalue %g, largest %g)", fn,
                             what, w[i], big);
        if (w[i] < noise)
            w[i] = 0.0;
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__trace_sqrt_product(const double *s1, const double *s2, size_t n, double *out,
                                         const char *fn)
{
    /* tr sqrt(S1 S2) = sum sqrt(eig(R S2 R)) with R = sqrt(S1) symmetric: S1 S2 = R (R S2 R) R^-1
     * is similar to the symmetric PSD matrix R S2 R (by continuity also for singular S1), so both
     * decompositions stay symmetric and real. */
    const size_t nn = n * n; /* n is bounded by the API (DDGAN_EVAL_MAX_DIM) */
    double *buf = ddgan__malloc(4 * nn * sizeof(double) + n * sizeof(double), fn);
    if (!buf)
        return DDGAN_ERR_OUT_OF_MEMORY;
    double *a = buf, *v = buf + nn, *r = buf + 2 * nn, *t = buf + 3 * nn, *w = buf + 4 * nn;
    memcpy(a, s1, nn * sizeof *a);
    ddgan_status_t st = ddgan__sym_eig(a, n, w, v, fn);
    if (st == DDGAN_OK)
        st = clamp_psd(w, n, "sigma1", fn);
    if (st == DDGAN_OK) {
        /* r = V diag(sqrt w) V^T = sum_k sqrt(w_k) u_k u_k^T over the eigenvectors u_k
         * (the rows of v) */
        memset(r, 0, nn * sizeof *r);
        for (size_t k = 0; k < n; k++) {
            if (w[k] == 0.0)
                continue;
            const double sw = sqrt(w[k]);
            const double *u = v + k * n;
            for (size_t i = 0; i < n; i++) {
                const double ui = sw * u[i];
                for (size_t j = 0; j < n; j++)
                    r[i * n + j] += ui * u[j];
            }
        }
        matmul(r, s2, t, n); /* t = R S2 */
        matmul(t, r, a, n);  /* a = R S2 R */
        for (size_t i = 0; i < n; i++) /* symmetric up to rounding: make it exact */
            for (size_t j = i + 1; j < n; j++)
                a[i * n + j] = a[j * n + i] = 0.5 * (a[i * n + j] + a[j * n + i]);
        st = ddgan__sym_eig(a, n, w, NULL, fn);
    }
    if (st == DDGAN_OK)
        st = clamp_psd(w, n, "sqrt(sigma1) sigma2 sqrt(sigma1)", fn);
    if (st == DDGAN_OK) {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++)
            acc += sqrt(w[i]);
        *out = acc;
    }
    ddgan__free(buf);
    return st;
}
