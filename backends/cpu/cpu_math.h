/* Float math the "cpu" kernels share, inline so that loops over it
 * vectorise. Every file that includes it is compiled with
 * -ffp-contract=off (backends/cpu/CMakeLists.txt), so a function gives the same bits in
 * each of them: the fused AdaGN + SiLU (cpu_norm.c) must match act_fwd's
 * SiLU (cpu_pointwise.c) exactly. */
#ifndef DDGAN_CPU_MATH_H
#define DDGAN_CPU_MATH_H

#include <stdint.h>

/* exp(x) in float without a library call, so that loops over it vectorise
 * (libm's expf is a scalar call: it made SiLU 10-20x slower than LeakyReLU).
 * x = n ln2 + r with |r| <= ln2/2 (ln2 split in two parts, so r is exact to
 * float rounding), exp(r) by its degree-6 Taylor/minimax polynomial, 2^n put
 * into the exponent bits. Arguments are clamped to [-87.3, 88.376] (88.376 <
 * 127.5 ln2), so that n stays in [-126, 127] and 2^n a normal float (above
 * the clamp the result saturates at about 2.4e38 instead of overflowing to
 * infinity near 88.72); the error is about 2 ulp (far inside the parity
 * bound of 1e-5; the activations' results stay within float rounding of ref).
 * Branch-free: the clamps are selects. */
static inline float cpu_expf(float x)
{
    const float hi = 88.376f, lo = -87.3f;
    x = x > hi ? hi : x;
    x = x < lo ? lo : x;
    /* n = round(x / ln2) with the 1.5 * 2^23 trick: adding it leaves the
     * rounded integer in the low mantissa bits of t, so neither floorf nor a
     * float-to-int conversion is needed (GCC turned that conversion into
     * branches for AVX-512 and stopped vectorising: 5x slower) */
    const float t = x * 1.44269504088896341f + 12582912.0f;
    const float n = t - 12582912.0f;
    uint32_t tb;
    __builtin_memcpy(&tb, &t, sizeof tb);
    float r = x - n * 0.693359375f;        /* ln2, high part (exact product) */
    r = r - n * -2.12194440e-4f;           /* ln2, low part */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n: n + 127 into the exponent field (tb - bits(1.5 * 2^23) = n) */
    const uint32_t e = (tb - 0x4B400000u + 127u) << 23;
    float scale;
    __builtin_memcpy(&scale, &e, sizeof scale);
    return p * scale;
}

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + cpu_expf(-x)); }

#endif
