/* "cpu" batched matmul: one cblas_sgemm (OpenBLAS) per batch entry for
 * float32; float64 and invalid descriptors go to the ref op. */
#include <limits.h>
#include <stdatomic.h>

#include <cblas.h>

#include "cpu/cpu_backend.h"
#include "ref/ref_ops.h"

/* OpenBLAS' thread count is process-wide (openblas_set_num_threads). It is
 * set to the calling instance's num_threads when that differs from the value
 * last set; contexts with different thread counts used at the same time
 * therefore share whichever was set last (results do not depend on it:
 * OpenBLAS splits a product over rows and columns, never over k). */
static atomic_int g_blas_threads;

static void blas_threads(int nt)
{
    if (atomic_exchange(&g_blas_threads, nt) != nt)
        openblas_set_num_threads(nt);
}

static int fits_int(int64_t v) { return v >= 1 && v <= INT_MAX; }

/* The fast path's preconditions: the ref op's checks (it reports the errors). */
static int matmul_fast(const ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                       const void *b, const void *c)
{
    if (!be || !be->state || !d || d->dtype != DDGAN_DT_F32 || !a || !b || !c)
        return 0;
    if (d->batch < 1 || d->m < 1 || d->n < 1 || d->k < 1)
        return 0;
    if ((d->trans_a != 0 && d->trans_a != 1) || (d->trans_b != 0 && d->trans_b != 1))
        return 0;
    const int a_rows = d->trans_a ? d->k : d->m, a_cols = d->trans_a ? d->m : d->k;
    const int b_rows = d->trans_b ? d->n : d->k, b_cols = d->trans_b ? d->k : d->n;
    if (d->lda < a_cols || d->ldb < b_cols || d->ldc < d->n)
        return 0;
    if (!fits_int(d->lda) || !fits_int(d->ldb) || !fits_int(d->ldc))
        return 0;
    if (d->stride_a < 0 || d->stride_b < 0 || d->stride_c < 0)
        return 0;
    if (d->batch > 1 && (double)d->stride_c < (double)(d->m - 1) * (double)d->ldc + d->n)
        return 0;
    const double lim = (double)REF_MAX_ELEMS;
    if ((double)(d->batch - 1) * (double)d->stride_a + (double)(a_rows - 1) * (double)d->lda + a_cols > lim ||
        (double)(d->batch - 1) * (double)d->stride_b + (double)(b_rows - 1) * (double)d->ldb + b_cols > lim ||
        (double)(d->batch - 1) * (double)d->stride_c + (double)(d->m - 1) * (double)d->ldc + d->n > lim)
        return 0;
    return 1;
}

ddgan_status_t ddgan__cpu_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                 const void *b, void *c)
{
    if (!matmul_fast(be, d, a, b, c))
        return ddgan__ref_matmul(be, d, a, b, c);
    const cpu_state *st = be->state;
    blas_threads(st->num_threads);
    const float alpha = (float)d->alpha, beta = (float)d->beta;
    const float *A = a, *B = b;
    float *C = c;
    for (int i = 0; i < d->batch; i++)
        cblas_sgemm(CblasRowMajor, d->trans_a ? CblasTrans : CblasNoTrans,
                    d->trans_b ? CblasTrans : CblasNoTrans, d->m, d->n, d->k, alpha,
                    A + (int64_t)i * d->stride_a, (int)d->lda, B + (int64_t)i * d->stride_b,
                    (int)d->ldb, beta, C + (int64_t)i * d->stride_c, (int)d->ldc);
    return DDGAN_OK;
}
