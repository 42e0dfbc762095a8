/* "cpu" batched matmul: one single-threaded sgemm per (batch entry, row
 * block) for float32, oneDNN's dnnl_sgemm by default; float64 and invalid
 * descriptors go to the ref op.
 *
 * oneDNN rather than OpenBLAS: on the development machine (Zen 5, AVX-512)
 * Debian's OpenBLAS runs its AVX2 kernels (114-126 GFLOP/s on one core for
 * 64..256 x 256 x 256 products) where dnnl_sgemm's AVX-512 JIT reaches
 * 236-250 GFLOP/s, and a 1 x 512 x 256 product (the per-block dense layers
 * at batch 1) takes 2.7 us instead of 28.6 us. $DDGAN_CPU_GEMM=openblas
 * selects OpenBLAS again, for comparisons.
 *
 * Like every oneDNN call, dnnl_sgemm runs with signals held on its thread
 * (cpu_backend.h, "oneDNN section"): a signal handled inside it corrupted
 * the heap (3 of 15 Ctrl-C'ed toy runs of the ddgan tool on a loaded
 * machine; 0 of 20 with the signals held). */
#include <limits.h>
#include <stdatomic.h>

#include <cblas.h>
#include <dnnl.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

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

/* Column blocks: products of a few rows against a large B (the dense
 * layers of a batch-1 forward, 1 x 512 x 256 and alike) stream B from
 * memory and are bound by one core's bandwidth; blocks of at least 128
 * columns let the threads share B. Also a function of the shape only: each
 * column's sum is the same whichever block computes it. */
static int col_blocks(const ddgan_matmul_desc *d)
{
    if (d->batch > 1 || d->m > 4 || d->n < 256 || (int64_t)d->n * d->k < ((int64_t)1 << 16))
        return 1;
    int nb = d->n / 128;
    return nb > 8 ? 8 : nb;
}

/* Task t of a product cut into nb row blocks of `rows` rows and nc column
 * blocks of `cols` columns: one sgemm on the calling thread. Returns 1 when
 * oneDNN reports a failure. */
static int gemm_task(const ddgan_matmul_desc *d, int openblas, const float *A, const float *B, float *C,
                     int nb, int rows, int nc, int cols, int64_t t)
{
    const float alpha = (float)d->alpha, beta = (float)d->beta; /* here: see REF_SCALAR */
    const int64_t i = t / ((int64_t)nb * nc), rc = t % ((int64_t)nb * nc);
    const int r0 = (int)(rc / nc) * rows, c0 = (int)(rc % nc) * cols;
    const int mr = d->m - r0 < rows ? d->m - r0 : rows;
    const int nr = d->n - c0 < cols ? d->n - c0 : cols;
    if (mr <= 0 || nr <= 0)
        return 0;
    /* rows r0.. of op(A): rows of A, or columns of A when transposed;
     * columns c0.. of op(B): columns of B, or rows of B when transposed */
    const float *Ai = A + i * d->stride_a + (d->trans_a ? (int64_t)r0 : (int64_t)r0 * d->lda);
    const float *Bi = B + i * d->stride_b + (d->trans_b ? (int64_t)c0 * d->ldb : (int64_t)c0);
    float *Ci = C + i * d->stride_c + (int64_t)r0 * d->ldc + c0;
    if (openblas) {
        cblas_sgemm(CblasRowMajor, d->trans_a ? CblasTrans : CblasNoTrans, d->trans_b ? CblasTrans : CblasNoTrans,
                    mr, nr, d->k, alpha, Ai, (int)d->lda, Bi, (int)d->ldb, beta, Ci, (int)d->ldc);
        return 0;
    }
    return dnnl_sgemm(d->trans_a ? 'T' : 'N', d->trans_b ? 'T' : 'N', mr, nr, d->k, alpha, Ai, d->lda, Bi,
                      d->ldb, beta, Ci, d->ldc) != dnnl_success;
}

/* Every sgemm runs single-threaded; the plug-in shares the (batch entry,
 * row block) tasks among its own OpenMP threads, so that a product's values
 * depend on its shape only. dnnl_sgemm would start its own OpenMP team
 * (whose split along k could change the sums): each thread of ours sets its
 * nested team size to 1 first. OpenBLAS is kept at one thread: its pthreads
 * pool, when woken, spins for a while after each call and took cores from
 * the OpenMP teams of the convolutions that follow (4,000 products per MNIST
 * training step, most of them small). */
ddgan_status_t ddgan__cpu_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                 const void *b, void *c)
{
    if (!matmul_fast(be, d, a, b, c))
        return ddgan__ref_matmul(be, d, a, b, c);
    cpu_state *st = be->state;
    const int openblas = st->gemm_openblas;
    if (!openblas && ddgan__cpu_gemv_fits(d)) {
        ddgan__cpu_gemv(d, a, b, c, st->num_threads);
        return DDGAN_OK;
    }
    if (openblas)
        blas_threads(1);
    const float *A = a, *B = b;
    float *C = c;
    const int nb = row_blocks(d), nc = col_blocks(d);
    const int rows = (d->m + nb - 1) / nb, cols = (d->n + nc - 1) / nc;
    const int64_t tasks = (int64_t)d->batch * nb * nc;
    const double flops = 2.0 * d->batch * (double)d->m * d->n * d->k;
    int nt = st->num_threads > 1 && (flops >= 4e6 || nc > 1) ? st->num_threads : 1;
    if (nt > tasks)
        nt = (int)tasks;
    int failed = 0;
    /* a oneDNN section: signals held here and blocked by the pool's
     * workers; with one thread (most products at batch 1 are tiny) no
     * parallel region and dnnl_sgemm kept on this thread */
    cpu_section sec;
    ddgan__cpu_section_enter(st, nt == 1 ? 1 : st->num_threads, &sec);
    if (nt == 1) {
        for (int64_t t = 0; t < tasks && !failed; t++)
            failed = gemm_task(d, openblas, A, B, C, nb, rows, nc, cols, t);
    } else {
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt) reduction(| : failed)
#endif
        {
#if defined(_OPENMP)
            omp_set_num_threads(1); /* this thread's nested teams: dnnl_sgemm stays on it */
#pragma omp for schedule(static)
#endif
            for (int64_t t = 0; t < tasks; t++)
                failed |= gemm_task(d, openblas, A, B, C, nb, rows, nc, cols, t);
        }
    }
    ddgan__cpu_section_leave(&sec);
    if (failed)
        return ddgan__set_error(DDGAN_ERR_BACKEND, "matmul: oneDNN's sgemm failed (m %d, n %d, k %d)",
                                d->m, d->n, d->k);
    return DDGAN_OK;
}
