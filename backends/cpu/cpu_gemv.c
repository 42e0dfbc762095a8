/* Matrix-vector products of the batch-1 dense layers (cpu_matmul.c): the
 * time embedding's and the AdaGN styles' projections, 1 x k times the
 * transpose of an n x k weight matrix, 256-1024 rows of 256-512 floats.
 * Each is one pass over the weights, so it is bound by their traffic:
 * dnnl_sgemm took about 17 us for 512 x 256 (31 GB/s on two threads, its
 * packing and call overhead included); this loop streams the rows directly
 * (docs/backend-cpu.md has the figures).
 *
 * Each row's sum is 16 partial sums over the lanes, added by
 * _mm512_reduce_add_ps (a fixed tree): the same bits whichever thread
 * computes the row and whether it is computed in a group of four or alone. */
#include <stdint.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu/cpu_backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CPU_HAVE_GEMV 1

/* One row: the sum of a[i] * b[i], i < k. */
__attribute__((target("avx512f"))) static inline __m512 row_sums(const float *a, const float *b, int k)
{
    __m512 s = _mm512_setzero_ps();
    int i = 0;
    for (; i + 16 <= k; i += 16)
        s = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s);
    if (i < k) {
        const __mmask16 m = (__mmask16)((1u << (k - i)) - 1);
        s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s);
    }
    return s;
}

static inline float finish(float dot, float alpha, float beta, const float *c)
{
    return beta != 0.0f ? alpha * dot + beta * *c : alpha * dot;
}

/* Rows [j0, j1): four at a time (four independent streams and FMA chains),
 * in the same per-row order as row_sums. */
__attribute__((target("avx512f"))) static void gemv_rows(const float *a, const float *b, int64_t ldb,
                                                         int k, float *c, int j0, int j1, float alpha,
                                                         float beta)
{
    int j = j0;
    for (; j + 4 <= j1; j += 4) {
        const float *b0 = b + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (; i + 16 <= k; i += 16) {
            const __m512 av = _mm512_loadu_ps(a + i);
            s0 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b0 + i), s0);
            s1 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b1 + i), s1);
            s2 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b2 + i), s2);
            s3 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b3 + i), s3);
        }
        if (i < k) {
            const __mmask16 m = (__mmask16)((1u << (k - i)) - 1);
            const __m512 av = _mm512_maskz_loadu_ps(m, a + i);
            s0 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b0 + i), s0);
            s1 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b1 + i), s1);
            s2 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b2 + i), s2);
            s3 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b3 + i), s3);
        }
        c[j] = finish(_mm512_reduce_add_ps(s0), alpha, beta, c + j);
        c[j + 1] = finish(_mm512_reduce_add_ps(s1), alpha, beta, c + j + 1);
        c[j + 2] = finish(_mm512_reduce_add_ps(s2), alpha, beta, c + j + 2);
        c[j + 3] = finish(_mm512_reduce_add_ps(s3), alpha, beta, c + j + 3);
    }
    for (; j < j1; j++)
        c[j] = finish(_mm512_reduce_add_ps(row_sums(a, b + j * ldb, k)), alpha, beta, c + j);
}
#endif

int ddgan__cpu_gemv_fits(const ddgan_matmul_desc *d)
{
#if defined(CPU_HAVE_GEMV)
    return d->batch == 1 && d->m == 1 && !d->trans_a && d->trans_b && __builtin_cpu_supports("avx512f");
#else
    (void)d;
    return 0;
#endif
}

void ddgan__cpu_gemv(const ddgan_matmul_desc *d, const float *a, const float *b, float *c, int threads)
{
#if defined(CPU_HAVE_GEMV)
    const float alpha = (float)d->alpha, beta = (float)d->beta;
    /* two threads from 64 K weights (256 KB) on: below, a team costs more
     * than it saves */
    const int nt = (int64_t)d->n * d->k >= ((int64_t)1 << 16) && d->n >= 8 ? threads : 1;
    (void)nt;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
    {
#if defined(_OPENMP)
        const int t = omp_get_thread_num(), tn = omp_get_num_threads();
#else
        const int t = 0, tn = 1;
#endif
        int64_t j0, j1; /* contiguous row ranges, cut at multiples of 4 */
        ddgan__cpu_share(d->n, 4, t, tn, &j0, &j1);
        if (j0 < j1)
            gemv_rows(a, b, d->ldb, d->k, c, (int)j0, (int)j1, alpha, beta);
    }
#else
    (void)d, (void)a, (void)b, (void)c, (void)threads;
#endif
}
