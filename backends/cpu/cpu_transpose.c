/* Matrix transposes of the plug-in's layout changes (cpu_winograd.c:
 * NCHW <-> NHWC): 16x16 blocks in AVX-512 registers where the CPU has
 * them, plain loops otherwise and for the edges. Data movement only (and
 * one addition per element when accumulating), so both paths give the same
 * bits. */
#include <stddef.h>

#include "cpu/cpu_backend.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CPU_HAVE_TR16 1

/* One 16x16 block: dst[j][i] (+)= src[i][j]. The usual four stages:
 * 32-bit and 64-bit interleaves within 128-bit lanes, then two rounds of
 * 128-bit lane shuffles. */
__attribute__((target("avx512f"))) static void tr16_avx512(const float *src, size_t ss, float *dst,
                                                            size_t ds, int accumulate)
{
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++)
        r[i] = _mm512_loadu_ps(src + (size_t)i * ss);
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* r[4i + k], lane L: column 4L + k of rows 4i..4i+3 */
    for (int i = 0; i < 4; i++) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]),
                      c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int k = 0; k < 4; k++) {
        t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
        t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);
        t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
        t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
    }
    for (int k = 0; k < 4; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
        r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
        r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xdd);
    }
    for (int j = 0; j < 16; j++) {
        float *o = dst + (size_t)j * ds;
        _mm512_storeu_ps(o, accumulate ? _mm512_add_ps(_mm512_loadu_ps(o), r[j]) : r[j]);
    }
}
#endif

static void tr_plain(const float *src, size_t ss, float *dst, size_t ds, int rows, int cols,
                     int accumulate)
{
    for (int j = 0; j < cols; j++) {
        float *o = dst + (size_t)j * ds;
        for (int i = 0; i < rows; i++)
            o[i] = accumulate ? o[i] + src[(size_t)i * ss + j] : src[(size_t)i * ss + j];
    }
}

void ddgan__cpu_transpose(const float *src, size_t src_stride, float *dst, size_t dst_stride,
                          int rows, int cols, int accumulate)
{
    int done = 0; /* rows transposed in 16x16 blocks (and their last columns) */
#if defined(CPU_HAVE_TR16)
    if (__builtin_cpu_supports("avx512f")) {
        const int rb = rows - rows % 16, cb = cols - cols % 16;
        for (int i0 = 0; i0 < rb; i0 += 16)
            for (int j0 = 0; j0 < cb; j0 += 16)
                tr16_avx512(src + (size_t)i0 * src_stride + j0, src_stride,
                            dst + (size_t)j0 * dst_stride + i0, dst_stride, accumulate);
        if (cb < cols)
            tr_plain(src + cb, src_stride, dst + (size_t)cb * dst_stride, dst_stride, rb, cols - cb,
                     accumulate);
        done = rb;
    }
#endif
    if (done < rows)
        tr_plain(src + (size_t)done * src_stride, src_stride, dst + done, dst_stride, rows - done,
                 cols, accumulate);
}
