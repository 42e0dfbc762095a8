/* "ref" batched matrix product (row-major, lda/ldb/ldc, batch strides). */
#include "ref/ref_ops.h"

#define REAL float
#define REF_SFX f32
#include "ref_linear_impl.inc"
#undef REAL
#undef REF_SFX

#define REAL double
#define REF_SFX f64
#include "ref_linear_impl.inc"
#undef REAL
#undef REF_SFX

/* Elements spanned by `batch` matrices of rows x cols (row stride ld, batch
 * stride bs), in double so the bound check itself cannot overflow. */
static double span(int batch, int64_t bs, int rows, int cols, int64_t ld)
{
    return (double)(batch - 1) * (double)bs + (double)(rows - 1) * (double)ld + (double)cols;
}

ddgan_status_t ddgan__ref_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                 const void *b, void *c)
{
    const char *op = "matmul";
    if (!d)
        return REF_INVALID("%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__ref_check_common(be, op, d->dtype, 0));
    if (d->batch < 1 || d->m < 1 || d->n < 1 || d->k < 1)
        return REF_INVALID("%s: batch %d, m %d, n %d, k %d (all must be >= 1)", op, d->batch,
                           d->m, d->n, d->k);
    if ((d->trans_a != 0 && d->trans_a != 1) || (d->trans_b != 0 && d->trans_b != 1))
        return REF_INVALID("%s: trans_a %d / trans_b %d (must be 0 or 1)", op, d->trans_a,
                           d->trans_b);
    const int a_rows = d->trans_a ? d->k : d->m, a_cols = d->trans_a ? d->m : d->k;
    const int b_rows = d->trans_b ? d->n : d->k, b_cols = d->trans_b ? d->k : d->n;
    if (d->lda < a_cols)
        return REF_INVALID("%s: lda %lld < %d", op, (long long)d->lda, a_cols);
    if (d->ldb < b_cols)
        return REF_INVALID("%s: ldb %lld < %d", op, (long long)d->ldb, b_cols);
    if (d->ldc < d->n)
        return REF_INVALID("%s: ldc %lld < n %d", op, (long long)d->ldc, d->n);
    if (d->stride_a < 0 || d->stride_b < 0 || d->stride_c < 0)
        return REF_INVALID("%s: negative batch stride (%lld, %lld, %lld)", op,
                           (long long)d->stride_a, (long long)d->stride_b,
                           (long long)d->stride_c);
    if (d->batch > 1 && (double)d->stride_c < (double)(d->m - 1) * (double)d->ldc + d->n)
        return REF_INVALID("%s: stride_c %lld makes the output matrices overlap", op,
                           (long long)d->stride_c);
    if (span(d->batch, d->stride_a, a_rows, a_cols, d->lda) > (double)REF_MAX_ELEMS ||
        span(d->batch, d->stride_b, b_rows, b_cols, d->ldb) > (double)REF_MAX_ELEMS ||
        span(d->batch, d->stride_c, d->m, d->n, d->ldc) > (double)REF_MAX_ELEMS)
        return REF_INVALID("%s: operand sizes overflow", op);
    if (!a || !b || !c)
        return REF_INVALID("%s: a, b and c must not be NULL", op);
    const int nt = ddgan__ref_team(be, (int64_t)d->batch * d->m,
                                   2.0 * d->batch * d->m * (double)d->n * d->k);
    if (d->dtype == DDGAN_DT_F32)
        matmul_f32(d, a, b, c, nt);
    else
        matmul_f64(d, a, b, c, nt);
    return DDGAN_OK;
}
