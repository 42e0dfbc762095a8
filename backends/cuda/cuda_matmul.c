/* "cuda" matmul on cuBLAS (strided batched GEMM).
 *
 * The op set is row-major; cuBLAS is column-major. A row-major matrix with
 * row stride ld is, read column-major with the same ld, its transpose, so
 *   C = op(A) op(B)   (row-major, m x n)
 * is computed as the column-major product
 *   C^T = op(B)^T op(A)^T   (n x m)
 * i.e. cuBLAS's first operand is B (transposed when trans_b) and its second
 * is A (transposed when trans_a), with m and n exchanged.
 *
 * Exact mode leaves the handle in CUBLAS_DEFAULT_MATH (true float32 FMA
 * GEMMs, no TF32); DDGAN_CUDA_FAST=1 sets CUBLAS_TF32_TENSOR_OP_MATH
 * (cuda_backend.c). With beta = 0 cuBLAS does not read C, so NaN in C does
 * not propagate (as the op set requires). */
#include <limits.h>

#include "cuda/cuda_backend.h"

static double span(int batch, int64_t bs, int rows, int cols, int64_t ld)
{
    return (double)(batch - 1) * (double)bs + (double)(rows - 1) * (double)ld + (double)cols;
}

#define CU_MAX_ELEMS ((int64_t)1 << 50)

ddgan_status_t ddgan__cuda_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                  const void *b, void *c)
{
    const char *op = "matmul";
    if (!d)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT, "%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__cuda_check_common(be, op, d->dtype, 0));
    if (d->batch < 1 || d->m < 1 || d->n < 1 || d->k < 1)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: batch %d, m %d, n %d, k %d (all must be >= 1)", op, d->batch,
                                d->m, d->n, d->k);
    if ((d->trans_a != 0 && d->trans_a != 1) || (d->trans_b != 0 && d->trans_b != 1))
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: trans_a %d / trans_b %d (must be 0 or 1)", op, d->trans_a,
                                d->trans_b);
    const int a_rows = d->trans_a ? d->k : d->m, a_cols = d->trans_a ? d->m : d->k;
    const int b_rows = d->trans_b ? d->n : d->k, b_cols = d->trans_b ? d->k : d->n;
    if (d->lda < a_cols || d->ldb < b_cols || d->ldc < d->n)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: lda %lld / ldb %lld / ldc %lld smaller than the rows (%d, %d, %d)",
                                op, (long long)d->lda, (long long)d->ldb, (long long)d->ldc, a_cols,
                                b_cols, d->n);
    if (d->stride_a < 0 || d->stride_b < 0 || d->stride_c < 0)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: negative batch stride (%lld, %lld, %lld)", op,
                                (long long)d->stride_a, (long long)d->stride_b,
                                (long long)d->stride_c);
    if (d->batch > 1 && (double)d->stride_c < (double)(d->m - 1) * (double)d->ldc + d->n)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: stride_c %lld makes the output matrices overlap", op,
                                (long long)d->stride_c);
    if (span(d->batch, d->stride_a, a_rows, a_cols, d->lda) > (double)CU_MAX_ELEMS ||
        span(d->batch, d->stride_b, b_rows, b_cols, d->ldb) > (double)CU_MAX_ELEMS ||
        span(d->batch, d->stride_c, d->m, d->n, d->ldc) > (double)CU_MAX_ELEMS)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT, "%s: operand sizes overflow", op);
    if (!a || !b || !c)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: a, b and c must not be NULL", op);
    if (d->lda > INT_MAX || d->ldb > INT_MAX || d->ldc > INT_MAX)
        return ddgan__cuda_fail(be, DDGAN_ERR_UNSUPPORTED,
                                "%s: leading dimensions beyond INT_MAX are not supported", op);
    cuda_state *st = ddgan__cuda_st(be);
    ddgan__cuda_bind(be);
    const cublasOperation_t ta = d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t tb = d->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t s;
    if (d->dtype == DDGAN_DT_F32) {
        /* scalars rounded to float once (backend_ops.h) */
        const float alpha = (float)d->alpha, beta = (float)d->beta;
        s = cublasSgemmStridedBatched(st->cublas, ta, tb, d->n, d->m, d->k, &alpha, (const float *)b,
                                      (int)d->ldb, (long long)d->stride_b, (const float *)a,
                                      (int)d->lda, (long long)d->stride_a, &beta, (float *)c,
                                      (int)d->ldc, (long long)d->stride_c, d->batch);
    } else {
        const double alpha = d->alpha, beta = d->beta;
        s = cublasDgemmStridedBatched(st->cublas, ta, tb, d->n, d->m, d->k, &alpha,
                                      (const double *)b, (int)d->ldb, (long long)d->stride_b,
                                      (const double *)a, (int)d->lda, (long long)d->stride_a, &beta,
                                      (double *)c, (int)d->ldc, (long long)d->stride_c, d->batch);
    }
    return ddgan__cublas_check(be, s, "matmul: cublas{S,D}gemmStridedBatched");
}
