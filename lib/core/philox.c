#include "core/philox.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * (uint64_t)b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void ddgan__philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(PHILOX_M0, c0, &hi0, &lo0);
        mulhilo(PHILOX_M1, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0;
        uint32_t n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += PHILOX_W0; /* the key bump after the last round is unused */
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

static void block(uint64_t seed, uint64_t stream, uint64_t b, uint32_t out[4])
{
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), (uint32_t)stream,
                             (uint32_t)(stream >> 32)};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    ddgan__philox4x32_10(ctr, key, out);
}

void ddgan__philox_u32(uint64_t seed, uint64_t stream, uint64_t first_block, uint32_t *out, size_t n)
{
    uint32_t w[4];
    for (size_t i = 0; i < n; i += 4) {
        block(seed, stream, first_block + i / 4, w);
        for (size_t j = 0; j < 4 && i + j < n; j++)
            out[i + j] = w[j];
    }
}

void ddgan__philox_uniform(uint64_t seed, uint64_t stream, uint64_t first_block, float *out, size_t n)
{
    uint32_t w[4];
    for (size_t i = 0; i < n; i += 4) {
        block(seed, stream, first_block + i / 4, w);
        for (size_t j = 0; j < 4 && i + j < n; j++)
            out[i + j] = (float)(((double)(w[j] >> 8) + 0.5) * 0x1p-24); /* exact in float */
    }
}

/* Box-Muller on one word pair, in double. */
static void box_muller(uint32_t a, uint32_t b, double *n0, double *n1)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = ((double)a + 0.5) * 0x1p-32; /* in (0, 1): log is finite */
    double u2 = ((double)b + 0.5) * 0x1p-32;
    double r = sqrt(-2.0 * log(u1));
    double th = two_pi * u2;
    *n0 = r * cos(th);
    *n1 = r * sin(th);
}

void ddgan__philox_normal_f64(uint64_t seed, uint64_t stream, uint64_t first_block, double *out,
                              size_t n)
{
    uint32_t w[4];
    double v[4];
    for (size_t i = 0; i < n; i += 4) {
        block(seed, stream, first_block + i / 4, w);
        box_muller(w[0], w[1], &v[0], &v[1]);
        box_muller(w[2], w[3], &v[2], &v[3]);
        for (size_t j = 0; j < 4 && i + j < n; j++)
            out[i + j] = v[j];
    }
}

void ddgan__philox_normal(uint64_t seed, uint64_t stream, uint64_t first_block, float *out, size_t n)
{
    uint32_t w[4];
    double v[4];
    for (size_t i = 0; i < n; i += 4) {
        block(seed, stream, first_block + i / 4, w);
        box_muller(w[0], w[1], &v[0], &v[1]);
        box_muller(w[2], w[3], &v[2], &v[3]);
        for (size_t j = 0; j < 4 && i + j < n; j++)
            out[i + j] = (float)v[j];
    }
}
