/* Philox4x32-10 known answers, stream layout and the derived draws. */
#include "test_util.h"

#include <math.h>
#include <string.h>

#include "core/philox.h"

/* Known-answer vectors published with Random123 (kat_vectors): counter[4], key[2] -> out[4]. */
static void test_known_answers(void **state)
{
    (void)state;
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        ddgan__philox4x32_10(kat[k], kat[k] + 4, out);
        for (int j = 0; j < 4; j++)
            assert_int_equal(out[j], kat[k][6 + j]);
    }
}

/* Block b of stream (seed, stream) is Philox at counter {b_lo, b_hi, stream_lo, stream_hi}. */
static void test_stream_layout(void **state)
{
    (void)state;
    const uint64_t seed = 0x299f31d0a4093822ull, stream = 0x0370734413198a2eull;
    const uint64_t first = 0x85a308d3243f6a88ull;
    uint32_t words[4];
    ddgan__philox_u32(seed, stream, first, words, 4);
    assert_int_equal(words[0], 0xd16cfe09);
    assert_int_equal(words[3], 0x24126ea1);

    /* Any split of a range gives the same words: the draws do not depend on batching. */
    uint32_t whole[37], part[37];
    ddgan__philox_u32(7, 3, 10, whole, 37);
    ddgan__philox_u32(7, 3, 10, part, 16);
    ddgan__philox_u32(7, 3, 14, part + 16, 21);
    assert_memory_equal(whole, part, sizeof whole);
    /* Different streams and seeds differ. */
    uint32_t other[4];
    ddgan__philox_u32(7, 4, 10, other, 4);
    assert_memory_not_equal(whole, other, sizeof other);
    ddgan__philox_u32(8, 3, 10, other, 4);
    assert_memory_not_equal(whole, other, sizeof other);
}

static void test_uniform_and_normal_derivation(void **state)
{
    (void)state;
    uint32_t w[8];
    float u[8], z[8];
    double zd[8];
    ddgan__philox_u32(42, 1, 5, w, 8);
    ddgan__philox_uniform(42, 1, 5, u, 8);
    ddgan__philox_normal(42, 1, 5, z, 8);
    ddgan__philox_normal_f64(42, 1, 5, zd, 8);
    for (int i = 0; i < 8; i++) {
        /* uniform: exactly ((w >> 8) + 0.5) * 2^-24 */
        assert_true(u[i] == (float)(((double)(w[i] >> 8) + 0.5) / 16777216.0));
        assert_true(u[i] > 0.0f && u[i] < 1.0f);
        /* float normals are the double normals rounded once */
        assert_true(z[i] == (float)zd[i]);
    }
    for (int p = 0; p < 4; p++) {
        double u1 = ((double)w[2 * p] + 0.5) / 4294967296.0;
        double u2 = ((double)w[2 * p + 1] + 0.5) / 4294967296.0;
        double r = sqrt(-2.0 * log(u1));
        assert_true(fabs(zd[2 * p] - r * cos(2.0 * M_PI * u2)) < 1e-12);
        assert_true(fabs(zd[2 * p + 1] - r * sin(2.0 * M_PI * u2)) < 1e-12);
    }
}

/* The normal draws are standard normal: moments over 1M draws. */
static void test_normal_moments(void **state)
{
    (void)state;
    enum { N = 1 << 20 };
    static float z[N];
    ddgan__philox_normal(123, 0, 0, z, N);
    double s1 = 0, s2 = 0, s4 = 0;
    size_t beyond3 = 0;
    for (size_t i = 0; i < N; i++) {
        double v = z[i];
        assert_true(isfinite(v));
        s1 += v;
        s2 += v * v;
        s4 += v * v * v * v;
        beyond3 += fabs(v) > 3.0;
    }
    double mean = s1 / N, var = s2 / N - mean * mean, kurt = s4 / N;
    print_message("normal moments: mean %.5f var %.5f E[z^4] %.4f P(|z|>3) %.5f\n", mean, var, kurt,
                  (double)beyond3 / N);
    assert_true(fabs(mean) < 5.0 / sqrt(N));           /* 5 sigma */
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / N)); /* 5 sigma */
    assert_true(fabs(kurt - 3.0) < 0.05);
    assert_true(fabs((double)beyond3 / N - 0.0026998) < 0.0004);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_stream_layout),
        cmocka_unit_test(test_uniform_and_normal_derivation),
        cmocka_unit_test(test_normal_moments),
    };
    return cmocka_run_group_tests_name("philox", tests, NULL, NULL);
}
