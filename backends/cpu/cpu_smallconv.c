/* Forward convolution for small output planes (cpu_smallconv.h).
 *
 * Data flow of one call, P = n * h_out * w_out <= 64 output pixels, S = P
 * rounded up to a multiple of 16 (NV vectors of 16 floats):
 *   x (NCHW) -> col[k][S]: the input unfolded, zeros where the window
 *               leaves the plane and in the pixels P..S-1;
 *   out[co][S] = sum_k w[co][k] * col[k]: each weight broadcast against
 *               the NV vectors of its col row, R rows of w at a time
 *               (R * NV accumulators), in blocks of CPU_SMALL_KB terms;
 *   out -> y (NCHW) + bias, added when accumulating.
 * The threads share the output channels in blocks of R rows.
 */
#include <stdint.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu/cpu_backend.h"
#include "cpu/cpu_smallconv.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CPU_HAVE_SMALL 1
#endif

#define CPU_SMALL_MAX_PIXELS 64
/* Terms per partial sum; also the k-extent of col that a block of rows
 * reuses (S * 256 floats: 16-64 KiB, in L2). */
#define CPU_SMALL_KB 256
/* How far ahead (floats) each weight row is prefetched: 1 KiB, measured
 * best of 256-2048 bytes (the rows are R separate streams, too many for the
 * hardware prefetcher to run far enough ahead alone). */
#define CPU_SMALL_PF 256

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

static int pixels(const ddgan_conv2d_desc *d) { return d->n * d->h_out * d->w_out; }
static int padded(int p) { return (p + 15) / 16 * 16; }

int ddgan__cpu_small_fits(const ddgan_conv2d_desc *d)
{
#if defined(CPU_HAVE_SMALL)
    return (int64_t)d->n * d->h_out * d->w_out <= CPU_SMALL_MAX_PIXELS &&
           __builtin_cpu_supports("avx512f");
#else
    (void)d;
    return 0;
#endif
}

size_t ddgan__cpu_small_ws_bytes(const ddgan_conv2d_desc *d)
{
    const size_t s = (size_t)padded(pixels(d)), k = (size_t)d->c_in * d->kh * d->kw;
    return align64(k * s * sizeof(float)) + align64((size_t)d->c_out * s * sizeof(float));
}

#if defined(CPU_HAVE_SMALL)

/* col from x, any geometry. Per output pixel p: the offset of its image
 * and the top-left corner of its window (may be outside the plane:
 * padding). */
static void unfold_any(const ddgan_conv2d_desc *d, const float *x, float *col, int s, int threads)
{
    const int np = pixels(d), ohw = d->h_out * d->w_out;
    size_t img_off[CPU_SMALL_MAX_PIXELS];
    int y0[CPU_SMALL_MAX_PIXELS], x0[CPU_SMALL_MAX_PIXELS];
    for (int p = 0; p < np; p++) {
        const int q = p % ohw;
        img_off[p] = (size_t)(p / ohw) * d->c_in * d->h * d->w;
        y0[p] = q / d->w_out * d->stride - d->pad_t;
        x0[p] = q % d->w_out * d->stride - d->pad_l;
    }
    const size_t plane = (size_t)d->h * d->w;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int ci = 0; ci < d->c_in; ci++)
        for (int i = 0; i < d->kh; i++)
            for (int j = 0; j < d->kw; j++) {
                float *row = col + ((size_t)(ci * d->kh + i) * d->kw + j) * s;
                const float *xc = x + (size_t)ci * plane;
                for (int p = 0; p < np; p++) {
                    const int yy = y0[p] + i, xx = x0[p] + j;
                    row[p] = yy >= 0 && yy < d->h && xx >= 0 && xx < d->w
                                 ? xc[img_off[p] + (size_t)yy * d->w + xx]
                                 : 0.0f;
                }
                for (int p = np; p < s; p++)
                    row[p] = 0.0f;
            }
}

/* The common case of a single image, 3x3, stride 1, padding 1, rows of 4
 * or 8 pixels and a plane of whole vectors (4x4, 8x8): the nine rows of a
 * channel are its plane, flattened into NV registers, shifted by
 * (i - 1) * w + (j - 1) floats (two-register permutes, zeros beyond the
 * plane) with the pixels whose column leaves the plane masked to zero.
 * The per-element unfold took 63 us for the 256-channel 8x8 layer, this
 * one a few. */
static int unfold_fits_w48(const ddgan_conv2d_desc *d)
{
    return d->n == 1 && d->kh == 3 && d->kw == 3 && d->stride == 1 && d->pad_t == 1 &&
           d->pad_l == 1 && d->pad_b == 1 && d->pad_r == 1 && (d->w == 4 || d->w == 8) &&
           d->h * d->w % 16 == 0;
}

/* The nine rows of channel ci. (Its own function: OpenMP's outlined loop
 * body would not inherit the target attribute.) */
__attribute__((target("avx512f"))) static void unfold_w48_channel(const ddgan_conv2d_desc *d,
                                                                  const float *x, float *col, int ci)
{
    const int w = d->w, nv = d->h * d->w / 16;
    const size_t plane = (size_t)d->h * d->w;
    /* lanes whose column is 0 (j = 0 reads column -1) or w - 1 (j = 2) */
    const __mmask16 keep_j0 = w == 8 ? 0xFEFE : 0xEEEE, keep_j2 = w == 8 ? 0x7F7F : 0x7777;
    __m512 xv[CPU_SMALL_MAX_PIXELS / 16 + 2];
    xv[0] = _mm512_setzero_ps();
    for (int v = 0; v < nv; v++)
        xv[v + 1] = _mm512_loadu_ps(x + (size_t)ci * plane + 16 * (size_t)v);
    xv[nv + 1] = _mm512_setzero_ps();
    float *rows = col + (size_t)ci * 9 * plane;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            const int k = (i - 1) * w + (j - 1); /* lane L of vector v reads pixel 16v + L + k */
            const int lo = k >= 0 ? 1 : 0;       /* the register pair holding those pixels */
            const __m512i idx =
                _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                 _mm512_set1_epi32(k >= 0 ? k : 16 + k));
            const __mmask16 keep = j == 0 ? keep_j0 : j == 2 ? keep_j2 : (__mmask16)0xFFFF;
            float *row = rows + (size_t)(i * 3 + j) * plane;
            for (int v = 0; v < nv; v++)
                _mm512_storeu_ps(row + 16 * v,
                                 _mm512_maskz_permutex2var_ps(keep, xv[v + lo], idx, xv[v + lo + 1]));
        }
}

static void unfold_w48(const ddgan_conv2d_desc *d, const float *x, float *col, int threads)
{
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int ci = 0; ci < d->c_in; ci++)
        unfold_w48_channel(d, x, col, ci);
}

/* col for d: the input itself where it already is col (one image, 1x1,
 * stride 1, no padding, a plane of whole vectors), else unfolded into buf. */
static const float *unfold(const ddgan_conv2d_desc *d, const float *x, float *buf, int s, int threads)
{
    if (d->n == 1 && d->kh == 1 && d->kw == 1 && d->stride == 1 && d->pad_t == 0 && d->pad_l == 0 &&
        d->pad_b == 0 && d->pad_r == 0 && d->h * d->w == s)
        return x;
    if (unfold_fits_w48(d))
        unfold_w48(d, x, buf, threads);
    else
        unfold_any(d, x, buf, s, threads);
    return buf;
}

/* out rows [co0, co1) = w rows x col, NV vectors per row, R rows at a time
 * (the last block repeats its last row in the unused slots and does not
 * store them). Always inlined into the per-NV versions below, where nv and
 * r are constants: the accumulators become registers. */
__attribute__((target("avx512f"), always_inline)) static inline void
rows_body(const float *w, size_t k_len, const float *col, float *out, int co0, int co1, const int nv,
          const int r)
{
    const size_t s = (size_t)nv * 16;
    for (int c = co0; c < co1; c += r) {
        const int rr = co1 - c < r ? co1 - c : r;
        const float *wr[12];
#pragma GCC unroll 12
        for (int i = 0; i < r; i++)
            wr[i] = w + (size_t)(c + (i < rr ? i : rr - 1)) * k_len;
        for (size_t k0 = 0; k0 < k_len; k0 += CPU_SMALL_KB) {
            const size_t k1 = k_len - k0 < CPU_SMALL_KB ? k_len : k0 + CPU_SMALL_KB;
            __m512 acc[12][4];
#pragma GCC unroll 12
            for (int i = 0; i < r; i++)
#pragma GCC unroll 4
                for (int v = 0; v < nv; v++)
                    acc[i][v] = _mm512_setzero_ps();
            for (size_t kk = k0; kk < k1; kk += 16) {
                if (kk + CPU_SMALL_PF < k_len) {
                    for (int i = 0; i < r; i++)
                        _mm_prefetch((const char *)(wr[i] + kk + CPU_SMALL_PF), _MM_HINT_T0);
                } else {
                    const size_t ahead = (size_t)r * k_len + kk + CPU_SMALL_PF - k_len;
                    for (int i = 0; i < r && c + r + i < co1; i++)
                        _mm_prefetch((const char *)(wr[i] + ahead), _MM_HINT_T0);
                }
                const size_t ke = k1 - kk < 16 ? k1 : kk + 16;
                for (size_t k = kk; k < ke; k++) {
                    const float *cr = col + k * s;
                    __m512 xv[4];
#pragma GCC unroll 4
                    for (int v = 0; v < nv; v++)
                        xv[v] = _mm512_loadu_ps(cr + 16 * v); /* col may be x */
#pragma GCC unroll 12
                    for (int i = 0; i < r; i++) {
                        const __m512 b = _mm512_set1_ps(wr[i][k]);
#pragma GCC unroll 4
                        for (int v = 0; v < nv; v++)
                            acc[i][v] = _mm512_fmadd_ps(b, xv[v], acc[i][v]);
                    }
                }
            }
#pragma GCC unroll 12
            for (int i = 0; i < rr; i++)
#pragma GCC unroll 4
                for (int v = 0; v < nv; v++) {
                    float *o = out + (size_t)(c + i) * s + 16 * (size_t)v;
                    _mm512_store_ps(o, k0 ? _mm512_add_ps(_mm512_load_ps(o), acc[i][v]) : acc[i][v]);
                }
        }
    }
}

/* Rows per block for NV vectors: 24 accumulators (12 for one vector, where
 * more rows would only lengthen the weight streams), of the 32 registers. */
static int rows_per_block(int nv) { return nv == 1 ? 12 : 24 / nv; }

/* rows_body for NV vectors and R rows (rows_per_block(NV)) as constants. */
#define CPU_SMALL_ROWS_VARIANT(NV, R)                                                              \
    __attribute__((target("avx512f"))) static void rows_nv##NV(                                    \
        const float *w, size_t k, const float *col, float *out, int co0, int co1)                  \
    {                                                                                              \
        rows_body(w, k, col, out, co0, co1, NV, R);                                                \
    }
CPU_SMALL_ROWS_VARIANT(1, 12)
CPU_SMALL_ROWS_VARIANT(2, 12)
CPU_SMALL_ROWS_VARIANT(3, 8)
CPU_SMALL_ROWS_VARIANT(4, 6)

void ddgan__cpu_small_rows(const float *w, size_t k_len, const float *col, float *out, int co0, int co1,
                           int nv)
{
    if (nv == 1)
        rows_nv1(w, k_len, col, out, co0, co1);
    else if (nv == 2)
        rows_nv2(w, k_len, col, out, co0, co1);
    else if (nv == 3)
        rows_nv3(w, k_len, col, out, co0, co1);
    else
        rows_nv4(w, k_len, col, out, co0, co1);
}

/* y from out: bias added, NCHW, added to y when accumulating. */
static void fold(const ddgan_conv2d_desc *d, const float *out, int s, const float *bias, float *y,
                 int accumulate)
{
    const int ohw = d->h_out * d->w_out;
    for (int img = 0; img < d->n; img++)
        for (int co = 0; co < d->c_out; co++) {
            const float *o = out + (size_t)co * s + (size_t)img * ohw;
            float *yc = y + ((size_t)img * d->c_out + co) * ohw;
            const float b = bias ? bias[co] : 0.0f;
            for (int q = 0; q < ohw; q++)
                yc[q] = accumulate ? yc[q] + (o[q] + b) : o[q] + b;
        }
}

void ddgan__cpu_small_fwd(const ddgan_conv2d_desc *d, const float *x, const float *w,
                          const float *bias, float *y, int accumulate, unsigned char *ws, int threads)
{
    const int s = padded(pixels(d)), nv = s / 16, r = rows_per_block(nv);
    const size_t k_len = (size_t)d->c_in * d->kh * d->kw;
    float *out = (float *)(void *)(ws + align64(k_len * s * sizeof(float)));
    const float *col = unfold(d, x, (float *)(void *)ws, s, threads);
    const int blocks = (d->c_out + r - 1) / r;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads < blocks ? threads : blocks)
#endif
    for (int blk = 0; blk < blocks; blk++) {
        const int co0 = blk * r, co1 = co0 + r < d->c_out ? co0 + r : d->c_out;
        ddgan__cpu_small_rows(w, k_len, col, out, co0, co1, nv);
    }
    fold(d, out, s, bias, y, accumulate);
}

#else /* no AVX-512 kernel: never called (ddgan__cpu_small_fits is 0) */

void ddgan__cpu_small_rows(const float *w, size_t k_len, const float *col, float *out, int co0, int co1,
                           int nv)
{
    (void)w, (void)k_len, (void)col, (void)out, (void)co0, (void)co1, (void)nv;
}

void ddgan__cpu_small_fwd(const ddgan_conv2d_desc *d, const float *x, const float *w,
                          const float *bias, float *y, int accumulate, unsigned char *ws, int threads)
{
    (void)d, (void)x, (void)w, (void)bias, (void)y, (void)accumulate, (void)ws, (void)threads;
}

#endif
