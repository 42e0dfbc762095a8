/* The plug-in's own Winograd forward convolution (cpu_winograd.h): input
 * and output transforms in float code here, the products over channels as
 * one batched oneDNN matmul.
 *
 * Data flow of one call, batch n, tiles T = n * tiles_h * tiles_w:
 *   x (NCHW) -> xp: zero-padded NHWC planes, so that a tile's 16 channels
 *               are one contiguous vector (16x16 block transposes);
 *   xp -> V[T][P][c_in]:  V = B^T d B per tile (in_tile*);
 *   M[T][P][c_out] = V[., p] x U[p] for every p: one single-threaded
 *               dnnl_sgemm per position (rows at a stride of P vectors),
 *               the positions shared among the threads;
 *   M -> yn (NHWC): A^T m A + bias per tile (out_tile*), only the pixels
 *               inside the plane;
 *   yn -> y (NCHW): block transposes, adding to y when accumulating.
 * (A single image whose 16 tiles fill one vector takes "Lanes" below.)
 * V and M keep a tile's P positions together: in position-major order the
 * P vectors a tile writes or reads lay a multiple of 4 KiB apart and
 * thrashed the L1 cache (transforms 3-4x slower, the matmul 10% faster).
 * Every value is computed by one thread in a fixed order, so the result
 * does not depend on the thread count (test_wino_scope: 1, 2 and 3
 * threads). A batched oneDNN matmul primitive ran as fast, but split its
 * sums over 3 threads at 512 input channels (other bits than on 1 or 2). */
#include <stdlib.h>
#include <string.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu/cpu_backend.h"
#include "cpu/cpu_smallconv.h"
#include "cpu/cpu_winograd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CPU_HAVE_LANES 1
#endif

#define CB 16 /* channels per vector */

/* The channel loops are independent iterations (the compiler cannot see
 * that stores at o + k * pstride never overlap, and would not vectorise). */
#if defined(_OPENMP)
#define WINO_SIMD _Pragma("omp simd")
#else
#define WINO_SIMD
#endif

int ddgan__cpu_wino_fits(const ddgan_conv2d_desc *d)
{
    return d->kh == 3 && d->kw == 3 && d->stride == 1 && d->pad_t == 1 && d->pad_l == 1 &&
           d->pad_b == 1 && d->pad_r == 1 && d->c_in % CB == 0 && d->c_out % CB == 0 &&
           d->h >= 1 && d->w >= 1;
}

int ddgan__cpu_wino_tile(const ddgan_conv2d_desc *d)
{
#if defined(CPU_HAVE_LANES)
    /* a single 16x16 image of up to 256 input channels: F(4x4) in vector
     * lanes (its 4x4 tiles one vector; 2.25x fewer multiplications than
     * F(2x2), 2.25x more weights to stream: 256 channels 474 -> 404 us
     * stand-alone, 384 and 512 no faster, so F(2x2) there) */
    if (d->n == 1 && d->h == 16 && d->w == 16 && d->c_in <= 256 && __builtin_cpu_supports("avx512f"))
        return 4;
#endif
    return (int64_t)d->h * d->w >= 1024 ? 4 : 2;
}

/* ------------------------------------------------------------------------ */
/* Weights: U[p][ci][co] = (G g G^T)[p], in double, rounded once            */

/* F(4x4, 3x3) with points 0, 1, -1, 1/2, -2 (and infinity); F(2x2, 3x3)
 * with 0, 1, -1. Row j of G is (1, a_j, a_j^2) / prod_{l != j} (a_j - a_l). */
static const double G4[6][3] = {{1.0, 0.0, 0.0},
                                {1.0 / 3, 1.0 / 3, 1.0 / 3},
                                {-1.0 / 3, 1.0 / 3, -1.0 / 3},
                                {-16.0 / 15, -8.0 / 15, -4.0 / 15},
                                {1.0 / 15, -2.0 / 15, 4.0 / 15},
                                {0.0, 0.0, 1.0}};
static const double G2[4][3] = {{1.0, 0.0, 0.0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0.0, 0.0, 1.0}};

void ddgan__cpu_wino_weights(const cpu_wino_plan *p, const float *w, float *u, int threads)
{
    const int a = p->alpha, ci = p->c_in, co = p->c_out;
    const double(*g)[3] = p->m == 4 ? G4 : G2;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int o = 0; o < co; o++)
        for (int i = 0; i < ci; i++) {
            const float *k = w + ((size_t)o * ci + i) * 9;
            double t[6][3];
            for (int r = 0; r < a; r++)
                for (int c = 0; c < 3; c++)
                    t[r][c] = g[r][0] * k[c] + g[r][1] * k[3 + c] + g[r][2] * k[6 + c];
            for (int r = 0; r < a; r++)
                for (int c = 0; c < a; c++) {
                    const size_t q = (size_t)(r * a + c);
                    u[p->lanes ? (q * co + o) * ci + i : (q * ci + i) * co + o] =
                        (float)(t[r][0] * g[c][0] + t[r][1] * g[c][1] + t[r][2] * g[c][2]);
                }
        }
}

/* ------------------------------------------------------------------------ */
/* Input: padded NHWC -> V                                                  */

/* V = B^T d B for the 6x6 tile at src (row stride `row` floats, pixel
 * stride c_in), every channel; position p of the tile at v + p * pstride. */
CPU_MULTIVERSION
static void in_tile4(const float *src, size_t row, int c_in, float *v, size_t pstride)
{
    for (int c0 = 0; c0 < c_in; c0 += CB) {
        float t[6][6][CB];
        for (int j = 0; j < 6; j++) {
            const float *s = src + (size_t)j * c_in + c0;
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float d0 = s[c], d1 = s[row + c], d2 = s[2 * row + c], d3 = s[3 * row + c],
                            d4 = s[4 * row + c], d5 = s[5 * row + c];
                t[0][j][c] = d0 - 1.5f * d1 - 2.0f * d2 + 1.5f * d3 + d4;
                t[1][j][c] = -d1 + 0.5f * d2 + 2.5f * d3 + d4;
                t[2][j][c] = d1 - 2.5f * d2 + 0.5f * d3 + d4;
                t[3][j][c] = -2.0f * d1 - d2 + 2.0f * d3 + d4;
                t[4][j][c] = 0.5f * d1 - d2 - 0.5f * d3 + d4;
                t[5][j][c] = d1 - 1.5f * d2 - 2.0f * d3 + 1.5f * d4 + d5;
            }
        }
        for (int i = 0; i < 6; i++) {
            float *o = v + (size_t)(i * 6) * pstride + c0;
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float d0 = t[i][0][c], d1 = t[i][1][c], d2 = t[i][2][c], d3 = t[i][3][c],
                            d4 = t[i][4][c], d5 = t[i][5][c];
                o[c] = d0 - 1.5f * d1 - 2.0f * d2 + 1.5f * d3 + d4;
                o[pstride + c] = -d1 + 0.5f * d2 + 2.5f * d3 + d4;
                o[2 * pstride + c] = d1 - 2.5f * d2 + 0.5f * d3 + d4;
                o[3 * pstride + c] = -2.0f * d1 - d2 + 2.0f * d3 + d4;
                o[4 * pstride + c] = 0.5f * d1 - d2 - 0.5f * d3 + d4;
                o[5 * pstride + c] = d1 - 1.5f * d2 - 2.0f * d3 + 1.5f * d4 + d5;
            }
        }
    }
}

CPU_MULTIVERSION
static void in_tile2(const float *src, size_t row, int c_in, float *v, size_t pstride)
{
    for (int c0 = 0; c0 < c_in; c0 += CB) {
        float t[4][4][CB];
        for (int j = 0; j < 4; j++) {
            const float *s = src + (size_t)j * c_in + c0;
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float d0 = s[c], d1 = s[row + c], d2 = s[2 * row + c], d3 = s[3 * row + c];
                t[0][j][c] = d0 - d2;
                t[1][j][c] = d1 + d2;
                t[2][j][c] = d2 - d1;
                t[3][j][c] = d1 - d3;
            }
        }
        for (int i = 0; i < 4; i++) {
            float *o = v + (size_t)(i * 4) * pstride + c0;
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float d0 = t[i][0][c], d1 = t[i][1][c], d2 = t[i][2][c], d3 = t[i][3][c];
                o[c] = d0 - d2;
                o[pstride + c] = d1 + d2;
                o[2 * pstride + c] = d2 - d1;
                o[3 * pstride + c] = d1 - d3;
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Output: M -> NHWC                                                        */

/* Writes the rows x cols valid pixels of a tile's m x m results
 * r[i][j][c] + bias into the NHWC output at yn (row stride `row` floats,
 * pixel stride c_out). */
static inline void put_tile(float *yn, size_t row, int c_out, int rows, int cols, int m,
                            const float *r, const float *bias)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float *o = yn + (size_t)i * row + (size_t)j * c_out;
            const float *ri = r + (i * m + j) * CB;
            WINO_SIMD
            for (int c = 0; c < CB; c++)
                o[c] = ri[c] + (bias ? bias[c] : 0.0f);
        }
}

/* y tile = A^T m A from the tile's 36 products (position p of channel
 * block c0 at mm + p * pstride + c0). */
CPU_MULTIVERSION
static void out_tile4(const float *mm, size_t pstride, int c_out, float *yn, size_t row, int rows,
                      int cols, const float *bias)
{
    for (int c0 = 0; c0 < c_out; c0 += CB) {
        float q[4][6][CB], r[4][4][CB];
        for (int j = 0; j < 6; j++) {
            const float *s = mm + (size_t)j * pstride + c0;
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float a0 = s[c], a1 = s[6 * pstride + c], a2 = s[12 * pstride + c],
                            a3 = s[18 * pstride + c], a4 = s[24 * pstride + c],
                            a5 = s[30 * pstride + c];
                q[0][j][c] = a0 + a1 + a2 + a3 + a4;
                q[1][j][c] = a1 - a2 + 0.5f * a3 - 2.0f * a4;
                q[2][j][c] = a1 + a2 + 0.25f * a3 + 4.0f * a4;
                q[3][j][c] = a1 - a2 + 0.125f * a3 - 8.0f * a4 + a5;
            }
        }
        for (int i = 0; i < 4; i++)
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float a0 = q[i][0][c], a1 = q[i][1][c], a2 = q[i][2][c], a3 = q[i][3][c],
                            a4 = q[i][4][c], a5 = q[i][5][c];
                r[i][0][c] = a0 + a1 + a2 + a3 + a4;
                r[i][1][c] = a1 - a2 + 0.5f * a3 - 2.0f * a4;
                r[i][2][c] = a1 + a2 + 0.25f * a3 + 4.0f * a4;
                r[i][3][c] = a1 - a2 + 0.125f * a3 - 8.0f * a4 + a5;
            }
        put_tile(yn + c0, row, c_out, rows, cols, 4, &r[0][0][0], bias ? bias + c0 : NULL);
    }
}

CPU_MULTIVERSION
static void out_tile2(const float *mm, size_t pstride, int c_out, float *yn, size_t row, int rows,
                      int cols, const float *bias)
{
    for (int c0 = 0; c0 < c_out; c0 += CB) {
        float q[2][4][CB], r[2][2][CB];
        for (int j = 0; j < 4; j++) {
            const float *s = mm + (size_t)j * pstride + c0;
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float a0 = s[c], a1 = s[4 * pstride + c], a2 = s[8 * pstride + c],
                            a3 = s[12 * pstride + c];
                q[0][j][c] = a0 + a1 + a2;
                q[1][j][c] = a1 - a2 - a3;
            }
        }
        for (int i = 0; i < 2; i++)
            WINO_SIMD
            for (int c = 0; c < CB; c++) {
                const float a0 = q[i][0][c], a1 = q[i][1][c], a2 = q[i][2][c], a3 = q[i][3][c];
                r[i][0][c] = a0 + a1 + a2;
                r[i][1][c] = a1 - a2 - a3;
            }
        put_tile(yn + c0, row, c_out, rows, cols, 2, &r[0][0][0], bias ? bias + c0 : NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* Plan and run                                                             */

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

cpu_wino_plan *ddgan__cpu_wino_plan_create(const ddgan_conv2d_desc *d, int m)
{
    cpu_wino_plan *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->m = m;
    p->alpha = m + 2;
    p->n = d->n;
    p->c_in = d->c_in;
    p->h = d->h;
    p->w = d->w;
    p->c_out = d->c_out;
    p->tiles_h = (d->h + m - 1) / m;
    p->tiles_w = (d->w + m - 1) / m;
    p->tiles = (int64_t)d->n * p->tiles_h * p->tiles_w;
    p->hp = p->tiles_h * m + 2;
    p->wp = p->tiles_w * m + 2;
    const size_t P = (size_t)p->alpha * p->alpha;
    p->u_bytes = P * d->c_in * d->c_out * sizeof(float);
    const size_t xp_bytes = (size_t)d->n * p->hp * p->wp * d->c_in * sizeof(float);
    p->off_v = align64(xp_bytes);
    p->off_m = p->off_v + align64(P * p->tiles * d->c_in * sizeof(float));
    p->off_yn = p->off_m + align64(P * p->tiles * d->c_out * sizeof(float));
    p->ws_bytes = p->off_yn + align64((size_t)d->n * d->h * d->w * d->c_out * sizeof(float));
#if defined(CPU_HAVE_LANES)
    if (d->n == 1 && d->h == 4 * m && d->w == 4 * m && __builtin_cpu_supports("avx512f")) {
        p->lanes = 1;
        p->off_v = 0;
        p->off_m = align64(P * 16 * d->c_in * sizeof(float));
        p->ws_bytes = p->off_m + align64(P * 16 * d->c_out * sizeof(float));
    }
#endif
    return p;
}

void ddgan__cpu_wino_plan_destroy(cpu_wino_plan *p) { free(p); }

/* x (NCHW) -> the padded NHWC planes xp, border zeroed. */
static void to_padded_nhwc(const cpu_wino_plan *p, const float *x, float *xp, int threads)
{
    const int c = p->c_in;
    const size_t row = (size_t)p->wp * c, plane = (size_t)p->h * p->w;
    const int64_t rows = (int64_t)p->n * p->hp;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int64_t r = 0; r < rows; r++) {
        const int64_t img = r / p->hp;
        const int y = (int)(r % p->hp) - 1;
        float *dst = xp + (size_t)r * row;
        if (y < 0 || y >= p->h) {
            memset(dst, 0, row * sizeof *dst);
            continue;
        }
        memset(dst, 0, (size_t)c * sizeof *dst);
        memset(dst + (size_t)(p->w + 1) * c, 0, (size_t)(p->wp - p->w - 1) * c * sizeof *dst);
        /* pixels 1..w of the row: channel-major -> pixel-major */
        ddgan__cpu_transpose(x + (size_t)img * c * plane + (size_t)y * p->w, plane, dst + c, (size_t)c,
                             c, p->w, 0);
    }
}

/* yn (NHWC) -> y (NCHW), added when accumulating. */
static void to_nchw(const cpu_wino_plan *p, const float *yn, float *y, int accumulate, int threads)
{
    const int c = p->c_out;
    const size_t plane = (size_t)p->h * p->w, row = (size_t)p->w * c;
    const int64_t rows = (int64_t)p->n * p->h;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int64_t r = 0; r < rows; r++) {
        const int64_t img = r / p->h, yy = r % p->h;
        ddgan__cpu_transpose(yn + (size_t)r * row, (size_t)c, y + (size_t)img * c * plane + (size_t)yy * p->w,
                             plane, p->w, c, accumulate);
    }
}

/* V from the padded planes xp. */
static void input_transform(const cpu_wino_plan *p, const float *xp, float *v, int threads)
{
    const int c = p->c_in, m = p->m;
    const size_t row = (size_t)p->wp * c, P = (size_t)p->alpha * p->alpha;
    const int64_t per_img = (int64_t)p->tiles_h * p->tiles_w;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int64_t t = 0; t < p->tiles; t++) {
        const int64_t img = t / per_img, ty = (t % per_img) / p->tiles_w, tx = t % p->tiles_w;
        const float *src = xp + ((size_t)img * p->hp + (size_t)ty * m) * row + (size_t)tx * m * c;
        if (m == 4)
            in_tile4(src, row, c, v + (size_t)t * P * c, (size_t)c);
        else
            in_tile2(src, row, c, v + (size_t)t * P * c, (size_t)c);
    }
}

/* The NHWC output yn from M. */
static void output_transform(const cpu_wino_plan *p, const float *mm, const float *bias, float *yn,
                             int threads)
{
    const int c = p->c_out, m = p->m;
    const size_t row = (size_t)p->w * c, P = (size_t)p->alpha * p->alpha;
    const int64_t per_img = (int64_t)p->tiles_h * p->tiles_w;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int64_t t = 0; t < p->tiles; t++) {
        const int64_t img = t / per_img;
        const int ty = (int)((t % per_img) / p->tiles_w), tx = (int)(t % p->tiles_w);
        const int rows = p->h - ty * m < m ? p->h - ty * m : m;
        const int cols = p->w - tx * m < m ? p->w - tx * m : m;
        float *yt = yn + ((size_t)img * p->h + (size_t)ty * m) * row + (size_t)tx * m * c;
        if (m == 4)
            out_tile4(mm + (size_t)t * P * c, (size_t)c, c, yt, row, rows, cols, bias);
        else
            out_tile2(mm + (size_t)t * P * c, (size_t)c, c, yt, row, rows, cols, bias);
    }
}

/* M from V and U: position q is the product of the tiles' q-th vectors
 * (rows P * c_in apart) with U[q]. Returns 1 when an sgemm failed. */
static int products(const cpu_wino_plan *p, const float *v, const float *u, float *mm, int threads)
{
    const int P = p->alpha * p->alpha;
    const dnnl_dim_t ci = p->c_in, co = p->c_out;
    int failed = 0;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads) reduction(| : failed)
#endif
    for (int q = 0; q < P; q++) {
#if defined(_OPENMP)
        omp_set_num_threads(1); /* this thread's nested teams: the sgemm stays on it */
#endif
        failed |= dnnl_sgemm('N', 'N', p->tiles, co, ci, 1.0f, v + (size_t)q * ci, P * ci,
                             u + (size_t)q * ci * co, co, 0.0f, mm + (size_t)q * co, P * co) !=
                  dnnl_success;
    }
    return failed;
}

/* ------------------------------------------------------------------------ */
/* Lanes: a single image whose tiles fill one vector                        */
/*
 * A single 8x8 image with F(2x2) or a 16x16 one with F(4x4) has a 4x4 grid
 * of tiles: exactly the 16 lanes of an AVX-512 vector (lane t is tile
 * (t / 4, t % 4)). Per input channel, one masked gather per window offset
 * builds d[j][k] for all 16 tiles at once (zeros outside the plane), the
 * transform runs on whole vectors, and V[q][ci][16] is the "col" of the
 * small-plane kernel (cpu_smallconv.h): M[q][co][16] = U[q] x V[q], the
 * rows of U[q] [c_out x c_in] streamed once with prefetch -- where the
 * general path ran P dnnl_sgemm of 16 rows, bound by streaming U at about
 * 20 GB/s. The output transform is per channel on vectors too, scattered
 * into the plane. Every output is computed by one thread in a fixed order
 * (the kernel's rows are independent), so the bits do not depend on the
 * thread count.
 */
#if defined(CPU_HAVE_LANES)

/* Lane t's pixel index in the side x side plane for window offset (j, k) of
 * its m x m tile, and whether it lies inside the plane. */
__attribute__((target("avx512f"))) static __m512i lanes_index(int m, int side, int j, int k,
                                                              __mmask16 *inside)
{
    const __m512i t = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i mv = _mm512_set1_epi32(m);
    const __m512i py = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srli_epi32(t, 2), mv), _mm512_set1_epi32(j - 1));
    const __m512i px = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_and_si512(t, _mm512_set1_epi32(3)), mv),
                                        _mm512_set1_epi32(k - 1));
    const __m512i zero = _mm512_setzero_si512(), sv = _mm512_set1_epi32(side);
    *inside = _mm512_cmpge_epi32_mask(py, zero) & _mm512_cmplt_epi32_mask(py, sv) &
              _mm512_cmpge_epi32_mask(px, zero) & _mm512_cmplt_epi32_mask(px, sv);
    return _mm512_add_epi32(_mm512_mullo_epi32(py, sv), px);
}

/* The input transforms of one vector line d[0..a-1] (B^T d), in the
 * general path's formulas (in_tile2, in_tile4). */
__attribute__((target("avx512f"))) static void lanes_bt2(const __m512 *d, __m512 *o)
{
    o[0] = d[0] - d[2];
    o[1] = d[1] + d[2];
    o[2] = d[2] - d[1];
    o[3] = d[1] - d[3];
}

__attribute__((target("avx512f"))) static void lanes_bt4(const __m512 *d, __m512 *o)
{
    const __m512 h = _mm512_set1_ps(0.5f), h3 = _mm512_set1_ps(1.5f), two = _mm512_set1_ps(2.0f),
                 h5 = _mm512_set1_ps(2.5f);
    o[0] = d[0] - h3 * d[1] - two * d[2] + h3 * d[3] + d[4];
    o[1] = -d[1] + h * d[2] + h5 * d[3] + d[4];
    o[2] = d[1] - h5 * d[2] + h * d[3] + d[4];
    o[3] = -two * d[1] - d[2] + two * d[3] + d[4];
    o[4] = h * d[1] - d[2] - h * d[3] + d[4];
    o[5] = d[1] - h3 * d[2] - two * d[3] + h3 * d[4] + d[5];
}

/* The output transforms of one line a[0..alpha-1] (A^T a) (out_tile2,
 * out_tile4). */
__attribute__((target("avx512f"))) static void lanes_at2(const __m512 *a, __m512 *o)
{
    o[0] = a[0] + a[1] + a[2];
    o[1] = a[1] - a[2] - a[3];
}

__attribute__((target("avx512f"))) static void lanes_at4(const __m512 *a, __m512 *o)
{
    const __m512 h = _mm512_set1_ps(0.5f), two = _mm512_set1_ps(2.0f), q = _mm512_set1_ps(0.25f),
                 four = _mm512_set1_ps(4.0f), e = _mm512_set1_ps(0.125f), eight = _mm512_set1_ps(8.0f);
    o[0] = a[0] + a[1] + a[2] + a[3] + a[4];
    o[1] = a[1] - a[2] + h * a[3] - two * a[4];
    o[2] = a[1] + a[2] + q * a[3] + four * a[4];
    o[3] = a[1] - a[2] + e * a[3] - eight * a[4] + a[5];
}

/* B^T d and A^T a of tile side m (4 or 2). */
__attribute__((target("avx512f"))) static inline void lanes_bt(int m, const __m512 *d, __m512 *o)
{
    if (m == 4)
        lanes_bt4(d, o);
    else
        lanes_bt2(d, o);
}

__attribute__((target("avx512f"))) static inline void lanes_at(int m, const __m512 *a, __m512 *o)
{
    if (m == 4)
        lanes_at4(a, o);
    else
        lanes_at2(a, o);
}

/* V for channels [c0, c1). */
__attribute__((target("avx512f"))) static void lanes_in(const cpu_wino_plan *p, const float *x, float *v,
                                                        int c0, int c1)
{
    const int m = p->m, a = p->alpha, side = p->h, c_in = p->c_in;
    /* 8x8 planes: gather indices and masks per window offset */
    __m512i idx[4][4];
    __mmask16 inside[4][4];
    for (int j = 0; j < 4 && m == 2; j++)
        for (int k = 0; k < 4; k++)
            idx[j][k] = lanes_index(m, side, j, k, &inside[j][k]);
    const size_t plane = (size_t)side * side, ps = (size_t)c_in * 16;
    /* 16x16 planes: each row is a register, and d[j][k] takes lanes 0-7 from
     * the rows of tile rows 0 and 1 and lanes 8-15 from those of 2 and 3
     * (two-register permutes; AMD's gathers ran at ~90 cycles here) */
    __m512i pidx[6];
    __mmask16 pok[6];
    for (int k = 0; k < a && m == 4; k++) {
        const __m512i l = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        const __m512i col = _mm512_add_epi32(_mm512_slli_epi32(_mm512_and_si512(l, _mm512_set1_epi32(3)), 2),
                                             _mm512_set1_epi32(k - 1));
        pok[k] = _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512()) &
                 _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32(16));
        pidx[k] = _mm512_add_epi32(_mm512_and_si512(col, _mm512_set1_epi32(15)),
                                   _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(l, 2), _mm512_set1_epi32(1)), 4));
    }
    for (int ci = c0; ci < c1; ci++) {
        const float *xc = x + (size_t)ci * plane;
        __m512 d[6][6], t[6][6], col[6], o[6];
        if (m == 4) {
            __m512 rows[18]; /* rows[r + 1] = plane row r; zeros above and below */
            rows[0] = rows[17] = _mm512_setzero_ps();
            for (int r = 0; r < 16; r++)
                rows[r + 1] = _mm512_loadu_ps(xc + 16 * (size_t)r);
            for (int j = 0; j < a; j++) {
                /* plane row 4 ty + j - 1 of tile row ty, clamped to the zero rows */
                int rr[4];
                for (int ty = 0; ty < 4; ty++) {
                    const int r = 4 * ty + j;
                    rr[ty] = r > 17 ? 17 : r;
                }
                for (int k = 0; k < a; k++) {
                    const __m512 lo = _mm512_maskz_permutex2var_ps(pok[k] & 0x00FF, rows[rr[0]], pidx[k], rows[rr[1]]);
                    const __m512 hi = _mm512_maskz_permutex2var_ps(pok[k] & 0xFF00, rows[rr[2]], pidx[k], rows[rr[3]]);
                    d[j][k] = _mm512_mask_mov_ps(lo, 0xFF00, hi);
                }
            }
        } else {
            for (int j = 0; j < a; j++)
                for (int k = 0; k < a; k++)
                    d[j][k] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), inside[j][k], idx[j][k], xc, 4);
        }
        for (int k = 0; k < a; k++) { /* B^T d: along the rows of the window */
            for (int j = 0; j < a; j++)
                col[j] = d[j][k];
            lanes_bt(m, col, o);
            for (int i = 0; i < a; i++)
                t[i][k] = o[i];
        }
        for (int i = 0; i < a; i++) { /* (B^T d) B: along the columns; position a i + l */
            lanes_bt(m, t[i], o);
            float *dst = v + ((size_t)(a * i) * c_in + ci) * 16;
            for (int l = 0; l < a; l++)
                _mm512_store_ps(dst + (size_t)l * ps, o[l]);
        }
    }
}

/* y channels [c0, c1) from M: A^T m A + bias per tile, scattered into the
 * plane, written or added. */
__attribute__((target("avx512f"))) static void lanes_out(const cpu_wino_plan *p, const float *mm,
                                                         const float *bias, float *y, int accumulate,
                                                         int c0, int c1)
{
    const int m = p->m, a = p->alpha, side = p->h, c_out = p->c_out;
    const __m512i t = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    /* tile t's top-left output pixel: (m (t / 4), m (t % 4)) */
    const __m512i base = _mm512_mullo_epi32(
        _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srli_epi32(t, 2), _mm512_set1_epi32(side)),
                         _mm512_and_si512(t, _mm512_set1_epi32(3))),
        _mm512_set1_epi32(m));
    const size_t ps = (size_t)c_out * 16, plane = (size_t)side * side;
    float buf[64] __attribute__((aligned(64))); /* m = 2: the 8x8 plane */
    /* m = 4: lane px of plane row 4 ty + i reads lane 4 ty + px / 4 of o[px % 4]
     * (o[0], o[1] and o[2], o[3] as register pairs) */
    __m512i oidx[4];
    const __m512i px = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for (int ty = 0; ty < 4; ty++)
        oidx[ty] = _mm512_add_epi32(
            _mm512_add_epi32(_mm512_slli_epi32(_mm512_and_si512(px, _mm512_set1_epi32(1)), 4), _mm512_srli_epi32(px, 2)),
            _mm512_set1_epi32(4 * ty));
    for (int co = c0; co < c1; co++) {
        const float *mc = mm + (size_t)co * 16;
        __m512 q[4][6], line[6], o[4];
        for (int j = 0; j < a; j++) { /* A^T m: along the rows (positions j, a + j, ...) */
            for (int i = 0; i < a; i++)
                line[i] = _mm512_load_ps(mc + (size_t)(a * i + j) * ps);
            lanes_at(m, line, o);
            for (int i = 0; i < m; i++)
                q[i][j] = o[i];
        }
        const __m512 bv = _mm512_set1_ps(bias ? bias[co] : 0.0f);
        float *yc = y + (size_t)co * plane;
        if (m == 4) {
            /* plane row 4 ty + i: pixel px from o[px % 4], lane 4 ty + px / 4 */
            for (int i = 0; i < 4; i++) {
                lanes_at4(q[i], o);
                for (int ty = 0; ty < 4; ty++) {
                    const __m512 lo = _mm512_maskz_permutex2var_ps(0x3333, o[0], oidx[ty], o[1]);
                    const __m512 r = _mm512_add_ps(
                        _mm512_mask_mov_ps(lo, 0xCCCC, _mm512_maskz_permutex2var_ps(0xCCCC, o[2], oidx[ty], o[3])), bv);
                    float *yr = yc + (size_t)(4 * ty + i) * 16;
                    _mm512_storeu_ps(yr, accumulate ? _mm512_add_ps(_mm512_loadu_ps(yr), r) : r);
                }
            }
            continue;
        }
        for (int i = 0; i < m; i++) { /* (A^T m) A: along the columns; pixel (i, b) of each tile */
            lanes_at2(q[i], o);
            const __m512i row = _mm512_add_epi32(base, _mm512_set1_epi32(side * i));
            for (int b = 0; b < m; b++)
                _mm512_i32scatter_ps(buf, _mm512_add_epi32(row, _mm512_set1_epi32(b)), o[b], 4);
        }
        for (size_t v4 = 0; v4 < plane; v4 += 16) {
            const __m512 r = _mm512_add_ps(_mm512_load_ps(buf + v4), bv);
            _mm512_storeu_ps(yc + v4, accumulate ? _mm512_add_ps(_mm512_loadu_ps(yc + v4), r) : r);
        }
    }
}

static int lanes_run(const cpu_wino_plan *p, const float *x, const float *u, const float *bias, float *y,
                     int accumulate, unsigned char *ws, int threads)
{
    float *v = (float *)(void *)ws, *mm = (float *)(void *)(ws + p->off_m);
    const int ci = p->c_in, co = p->c_out, P = p->alpha * p->alpha;
    (void)threads;
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
#endif
    {
#if defined(_OPENMP)
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int t = 0, nt = 1;
#endif
        int64_t lo, hi;
        ddgan__cpu_share(ci, 16, t, nt, &lo, &hi);
        if (lo < hi)
            lanes_in(p, x, v, (int)lo, (int)hi);
#if defined(_OPENMP)
#pragma omp barrier
#endif
        ddgan__cpu_share(co, 12, t, nt, &lo, &hi);
        if (lo < hi) {
            for (int q = 0; q < P; q++)
                ddgan__cpu_small_rows(u + (size_t)q * co * ci, (size_t)ci, v + (size_t)q * ci * 16,
                                      mm + (size_t)q * co * 16, (int)lo, (int)hi, 1);
            lanes_out(p, mm, bias, y, accumulate, (int)lo, (int)hi);
        }
    }
    return 0;
}
#endif

int ddgan__cpu_wino_run(const cpu_wino_plan *p, const float *x, const float *u, const float *bias,
                        float *y, int accumulate, unsigned char *ws, int threads)
{
#if defined(CPU_HAVE_LANES)
    if (p->lanes)
        return lanes_run(p, x, u, bias, y, accumulate, ws, threads);
#endif
    float *xp = (float *)(void *)ws, *v = (float *)(void *)(ws + p->off_v),
          *mm = (float *)(void *)(ws + p->off_m), *yn = (float *)(void *)(ws + p->off_yn);
    to_padded_nhwc(p, x, xp, threads);
    input_transform(p, xp, v, threads);
    if (products(p, v, u, mm, threads))
        return -1;
    output_transform(p, mm, bias, yn, threads);
    to_nchw(p, yn, y, accumulate, threads);
    return 0;
}
