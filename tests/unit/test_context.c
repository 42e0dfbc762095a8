/* Contexts, the struct_size protocol, errors, version, and the host RNG. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"

static void test_version_and_status_strings(void **state)
{
    (void)state;
    assert_int_equal(ddgan_version_number(), DDGAN_VERSION_NUMBER);
    assert_string_equal(ddgan_version_string(), DDGAN_VERSION_STRING);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", DDGAN_VERSION_MAJOR, DDGAN_VERSION_MINOR,
             DDGAN_VERSION_PATCH);
    assert_string_equal(ddgan_version_string(), expect);
    for (int s = DDGAN_OK; s <= DDGAN_ERR_INTERNAL; s++) {
        const char *str = ddgan_status_string((ddgan_status_t)s);
        assert_non_null(str);
        assert_true(strlen(str) > 1);
        assert_string_not_equal(str, "unknown status");
    }
    assert_string_equal(ddgan_status_string((ddgan_status_t)999), "unknown status");
    /* the append-only numbering is part of the ABI */
    assert_int_equal(DDGAN_ERR_INVALID_ARGUMENT, 1);
    assert_int_equal(DDGAN_ERR_VERSION_MISMATCH, 9);
    assert_int_equal(DDGAN_ERR_INTERNAL, 10);
}

static void test_last_error_is_thread_state(void **state)
{
    (void)state;
    ddgan_clear_last_error();
    assert_string_equal(ddgan_last_error(), "");
    tu_assert_status(ddgan_context_create(NULL, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "ddgan_context_create: out is NULL");
    /* a later success does not clear it */
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, NULL), DDGAN_OK);
    assert_string_equal(ddgan_last_error(), "ddgan_context_create: out is NULL");
    ddgan_context_destroy(ctx);
    ddgan_clear_last_error();
    assert_string_equal(ddgan_last_error(), "");
}

static void test_defaults(void **state)
{
    (void)state;
    ddgan_context_config cfg;
    memset(&cfg, 0xAB, sizeof cfg);
    assert_int_equal(ddgan_context_config_init(&cfg, sizeof cfg), DDGAN_OK);
    assert_int_equal(cfg.struct_size, sizeof cfg);
    assert_null(cfg.backend);
    assert_int_equal(cfg.seed, 0);
    assert_int_equal(cfg.num_threads, 0);
    assert_null(cfg.log_fn);
    assert_int_equal(cfg.log_level, DDGAN_LOG_WARN);

    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "ref");
    assert_true(ddgan_context_num_threads(ctx) >= 1);
    assert_int_equal(ddgan_context_seed(ctx), 0);
    ddgan_context_destroy(ctx);
    ddgan_context_destroy(NULL); /* no-op */
}

/* An older caller (smaller struct) gets defaults for the fields it lacks. */
static void test_struct_size_smaller(void **state)
{
    (void)state;
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.seed = 77;
    cfg.num_threads = 3;
    /* pretend the caller's struct ends after seed: num_threads is unknown to it */
    cfg.struct_size = (uint32_t)(offsetof(ddgan_context_config, seed) + sizeof cfg.seed);
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    assert_int_equal(ddgan_context_seed(ctx), 77);
    assert_int_not_equal(ddgan_context_num_threads(ctx), 0); /* default: all processors */
    ddgan_context_destroy(ctx);

    /* init of a smaller struct writes only those bytes */
    unsigned char buf[sizeof(ddgan_context_config) + 16];
    memset(buf, 0xCD, sizeof buf);
    size_t small = offsetof(ddgan_context_config, seed);
    assert_int_equal(ddgan_context_config_init((ddgan_context_config *)(void *)buf, small), DDGAN_OK);
    for (size_t i = small; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xCD);

    /* nonsense sizes */
    cfg.struct_size = 2;
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "struct_size 2");
    assert_null(ctx);
    cfg.struct_size = 1u << 20;
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "implausible");
    tu_assert_status(ddgan_context_config_init(&cfg, 0), DDGAN_ERR_INVALID_ARGUMENT, "struct_size 0");
    tu_assert_status(ddgan_context_config_init(NULL, sizeof cfg), DDGAN_ERR_INVALID_ARGUMENT, "NULL");
}

/* A newer caller (larger struct) is accepted only when the unknown tail is zero. */
static void test_struct_size_larger(void **state)
{
    (void)state;
    struct {
        ddgan_context_config base;
        uint64_t future_field;
    } big;
    assert_int_equal(ddgan_context_config_init(&big.base, sizeof big), DDGAN_OK);
    assert_int_equal(big.base.struct_size, sizeof big);
    assert_int_equal(big.future_field, 0); /* init zeroes what it does not know */
    big.base.seed = 5;
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &big.base), DDGAN_OK);
    assert_int_equal(ddgan_context_seed(ctx), 5);
    ddgan_context_destroy(ctx);

    big.future_field = 1;
    ctx = NULL;
    tu_assert_status(ddgan_context_create(&ctx, &big.base), DDGAN_ERR_VERSION_MISMATCH, "non-zero");
    assert_null(ctx);
}

static void test_bad_config_values(void **state)
{
    (void)state;
    ddgan_context_config cfg;
    ddgan_context_t ctx = NULL;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.num_threads = -1;
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "num_threads -1");
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.log_level = (ddgan_log_level)7;
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "log_level 7");
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "../../tmp/evil";
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "not a valid name");
    assert_null(ctx);
}

static void test_invalid_handles(void **state)
{
    (void)state;
    assert_string_equal(ddgan_context_backend(NULL), "");
    assert_int_equal(ddgan_context_num_threads(NULL), 0);
    float x[4];
    tu_assert_status(ddgan_context_randn(NULL, x, 4), DDGAN_ERR_INVALID_ARGUMENT, "context is NULL");
    /* a pointer to something that is not a context */
    uint64_t junk[16] = {0};
    tu_assert_status(ddgan_context_randn((ddgan_context_t)(void *)junk, x, 4),
                     DDGAN_ERR_INVALID_ARGUMENT, "invalid context handle");
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, NULL), DDGAN_OK);
    tu_assert_status(ddgan_context_randn(ctx, NULL, 4), DDGAN_ERR_INVALID_ARGUMENT, "out is NULL");
    assert_int_equal(ddgan_context_randn(ctx, NULL, 0), DDGAN_OK);
    ddgan_context_destroy(ctx);
}

/* Host draws: Philox stream 0 keyed by the seed, whole blocks per call. */
static void test_host_random_stream(void **state)
{
    (void)state;
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.seed = 2024;
    ddgan_context_t a = NULL, b = NULL;
    assert_int_equal(ddgan_context_create(&a, &cfg), DDGAN_OK);
    cfg.num_threads = 1; /* thread count must not matter */
    assert_int_equal(ddgan_context_create(&b, &cfg), DDGAN_OK);
    float x[10], y[10], expect[16];
    assert_int_equal(ddgan_context_randn(a, x, 10), DDGAN_OK);
    assert_int_equal(ddgan_context_randn(b, y, 10), DDGAN_OK);
    assert_memory_equal(x, y, sizeof x);
    ddgan__philox_normal(2024, 0, 0, expect, 10);
    assert_memory_equal(x, expect, sizeof x);
    /* the second call starts at block 3 (10 draws used 3 blocks of 4) */
    assert_int_equal(ddgan_context_randn(a, x, 5), DDGAN_OK);
    ddgan__philox_normal(2024, 0, 3, expect, 5);
    assert_memory_equal(x, expect, 5 * sizeof(float));
    assert_int_equal(ddgan_context_rand(a, x, 6), DDGAN_OK);
    for (int i = 0; i < 6; i++)
        assert_true(x[i] > 0.0f && x[i] < 1.0f);
    ddgan_context_destroy(a);
    ddgan_context_destroy(b);
}

typedef struct log_capture {
    int calls;
    char last[512];
} log_capture;

static void capture_log(void *user, ddgan_log_level level, const char *msg)
{
    log_capture *c = user;
    (void)level;
    c->calls++;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

static void test_log_callback(void **state)
{
    (void)state;
    log_capture cap = {0};
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.log_fn = capture_log;
    cfg.log_user = &cap;
    cfg.log_level = DDGAN_LOG_INFO;
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    assert_true(cap.calls >= 1);
    assert_non_null(strstr(cap.last, "backend ref"));
    ddgan_context_destroy(ctx);

    /* at the default level (warnings) the same creation is silent */
    cap.calls = 0;
    cfg.log_level = DDGAN_LOG_WARN;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    assert_int_equal(cap.calls, 0);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_status_strings),
        cmocka_unit_test(test_last_error_is_thread_state),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_struct_size_smaller),
        cmocka_unit_test(test_struct_size_larger),
        cmocka_unit_test(test_bad_config_values),
        cmocka_unit_test(test_invalid_handles),
        cmocka_unit_test(test_host_random_stream),
        cmocka_unit_test(test_log_callback),
    };
    return cmocka_run_group_tests_name("context", tests, NULL, NULL);
}
