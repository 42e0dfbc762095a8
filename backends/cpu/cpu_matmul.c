/* "cpu" batched matmul: one cblas_sgemm (OpenBLAS) per batch entry for
 * float32; float64 and invalid descriptors go to the ref op. */
#include <limits.h>
#include <stdatomic.h>

#include <cblas.h>

#include "cpu/cpu_backend.h"
#include "ref/ref_ops.h"

/* OpenBLAS' thread count is process-wide (openblas_set_num_threads); the
 * plug-in keeps it at 1 and threads over products itself (below). */
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

/* Row blocks of one product: a function of the shape only (never of the
 * thread count), so how a product is cut cannot change its values. Small
 * batches of large products are cut into blocks of at least 64 rows, so
 * that the blocks can be shared among threads. */
static int row_blocks(const ddgan_matmul_desc *d)
{
    if (d->batch >= 8 || d->m < 128)
        return 1;
    int nb = d->m / 64;
    return nb > 8 ? 8 : nb;
}

/* Every sgemm runs single-threaded in OpenBLAS; the plug-in shares the
 * (batch entry, row block) tasks among its own OpenMP threads. OpenBLAS'
 * pthreads pool is then never woken: its idle threads spin for a while
 * after each call and took cores from the OpenMP teams of the convolutions
 * that follow (4,000 products per MNIST training step, most of them small). */
ddgan_status_t ddgan__cpu_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                 const void *b, void *c)
{
    if (!matmul_fast(be, d, a, b, c))
        return ddgan__ref_matmul(be, d, a, b, c);
    const cpu_state *st = be->state;
    blas_threads(1);
    const float *A = a, *B = b;
    float *C = c;
    const int nb = row_blocks(d);
    const int rows = (d->m + nb - 1) / nb;
    const int64_t tasks = (int64_t)d->batch * nb;
    const double flops = 2.0 * d->batch * (double)d->m * d->n * d->k;
    int nt = st->num_threads > 1 && flops >= 4e6 ? st->num_threads : 1;
    if (nt > tasks)
        nt = (int)tasks;
    (void)nt;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int64_t t = 0; t < tasks; t++) {
        const float alpha = (float)d->alpha, beta = (float)d->beta; /* inside: see REF_SCALAR */
        const int64_t i = t / nb;
        const int r0 = (int)(t % nb) * rows;
        const int mr = d->m - r0 < rows ? d->m - r0 : rows;
        if (mr <= 0)
            continue;
        /* rows r0.. of op(A): rows of A, or columns of A when transposed */
        const float *Ai = A + i * d->stride_a + (d->trans_a ? (int64_t)r0 : (int64_t)r0 * d->lda);
        cblas_sgemm(CblasRowMajor, d->trans_a ? CblasTrans : CblasNoTrans,
                    d->trans_b ? CblasTrans : CblasNoTrans, mr, d->n, d->k, alpha, Ai, (int)d->lda,
                    B + i * d->stride_b, (int)d->ldb, beta, C + i * d->stride_c + (int64_t)r0 * d->ldc,
                    (int)d->ldc);
    }
    return DDGAN_OK;
}
