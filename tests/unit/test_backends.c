/* Run-time backend selection and the plug-in loader, with fixture plug-ins
 * (tests/plugins) that work, have the wrong ABI, find no device, lack the
 * entry point, misname themselves, or are not shared objects at all. */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ddgan_status_t create_on(const char *backend, ddgan_context_t *ctx)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = backend;
    *ctx = NULL;
    return ddgan_context_create(ctx, &cfg);
}

static int reset_env(void **state)
{
    (void)state;
    unsetenv("DDGAN_BACKEND");
    unsetenv("DDGAN_BACKEND_PATH");
    return 0;
}

static void test_ref_always_there(void **state)
{
    (void)state;
    ddgan_context_t ctx;
    assert_int_equal(create_on("ref", &ctx), DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "ref");
    ddgan_context_destroy(ctx);
    assert_int_equal(create_on("auto", &ctx), DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "ref"); /* no plug-in on the path */
    ddgan_context_destroy(ctx);
}

static void test_not_built_plugins_say_why(void **state)
{
    (void)state;
    ddgan_context_t ctx;
    tu_assert_status(create_on("cuda", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "not built or not installed");
    assert_null(ctx);
    tu_assert_status(create_on("cpu", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "libddgan-backend-cpu.so");
    tu_assert_status(create_on("nosuchbackend", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE,
                     "backend \"nosuchbackend\"");
}

static void test_listing(void **state)
{
    (void)state;
    size_t n = ddgan_backend_count();
    assert_true(n >= 3);
    int saw_ref = 0, saw_cpu = 0, saw_cuda = 0;
    for (size_t i = 0; i < n; i++) {
        ddgan_backend_info info;
        assert_int_equal(ddgan_backend_info_init(&info, sizeof info), DDGAN_OK);
        assert_int_equal(ddgan_backend_get_info(i, &info), DDGAN_OK);
        assert_non_null(info.name);
        assert_non_null(info.reason);
        if (!strcmp(info.name, "ref")) {
            saw_ref = 1;
            assert_int_equal(info.available, 1);
            assert_true(info.score > 0);
            assert_string_equal(info.reason, "");
        }
        if (!strcmp(info.name, "cpu") || !strcmp(info.name, "cuda")) {
            saw_cpu |= !strcmp(info.name, "cpu");
            saw_cuda |= !strcmp(info.name, "cuda");
            if (!info.available)
                assert_true(strlen(info.reason) > 10);
        }
    }
    assert_true(saw_ref && saw_cpu && saw_cuda);
    ddgan_backend_info info;
    ddgan_backend_info_init(&info, sizeof info);
    tu_assert_status(ddgan_backend_get_info(n, &info), DDGAN_ERR_INVALID_ARGUMENT, "out of range");
    tu_assert_status(ddgan_backend_get_info(0, NULL), DDGAN_ERR_INVALID_ARGUMENT, "info is NULL");
    /* an older caller's smaller info struct: only the fields it has are written */
    struct {
        ddgan_backend_info info;
        char guard[8];
    } small;
    memset(&small, 0x5A, sizeof small);
    small.info.struct_size = (uint32_t)offsetof(ddgan_backend_info, available);
    assert_int_equal(ddgan_backend_get_info(0, &small.info), DDGAN_OK);
    const unsigned char *tail = (const unsigned char *)&small.info + offsetof(ddgan_backend_info, available);
    assert_int_equal(tail[0], 0x5A);
}

static void test_plugin_loading(void **state)
{
    (void)state;
    setenv("DDGAN_BACKEND_PATH", DDGAN_TEST_PLUGIN_DIR, 1);
    ddgan_context_t ctx;
    assert_int_equal(create_on("testgood", &ctx), DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "testgood");
    ddgan_context_destroy(ctx);

    /* "auto" prefers the higher score of the working plug-in */
    assert_int_equal(create_on(NULL, &ctx), DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "testgood");
    ddgan_context_destroy(ctx);

    tu_assert_status(create_on("testabi", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "backend ABI 999");
    tu_assert_status(create_on("testnodev", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "no test device present");
    tu_assert_status(create_on("testnoentry", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "no entry point");
    tu_assert_status(create_on("testname", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "calls itself 'somethingelse'");
    tu_assert_status(create_on("testgarbage", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "cannot load plug-in");

    /* the listing shows every fixture with its reason */
    size_t n = ddgan_backend_count();
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        ddgan_backend_info info;
        ddgan_backend_info_init(&info, sizeof info);
        assert_int_equal(ddgan_backend_get_info(i, &info), DDGAN_OK);
        if (!strcmp(info.name, "testgood")) {
            seen++;
            assert_int_equal(info.available, 1);
            assert_int_equal(info.score, 100);
            assert_non_null(strstr(info.path, "libddgan-backend-testgood.so"));
        } else if (!strcmp(info.name, "testabi")) {
            seen++;
            assert_int_equal(info.available, 0);
            assert_non_null(strstr(info.reason, "ABI"));
        } else if (!strcmp(info.name, "testnodev")) {
            seen++;
            assert_int_equal(info.available, 0);
        }
    }
    assert_int_equal(seen, 3);
    unsetenv("DDGAN_BACKEND_PATH");
}

static void test_env_variable(void **state)
{
    (void)state;
    ddgan_context_t ctx;
    setenv("DDGAN_BACKEND_PATH", DDGAN_TEST_PLUGIN_DIR, 1);
    setenv("DDGAN_BACKEND", "ref", 1);
    assert_int_equal(create_on(NULL, &ctx), DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "ref"); /* env beats the score */
    ddgan_context_destroy(ctx);
    /* an explicit config value beats the environment */
    assert_int_equal(create_on("testgood", &ctx), DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "testgood");
    ddgan_context_destroy(ctx);
    /* an unavailable backend named by the environment is an error that says so */
    setenv("DDGAN_BACKEND", "cuda", 1);
    tu_assert_status(create_on("auto", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "$DDGAN_BACKEND");
    setenv("DDGAN_BACKEND", "auto", 1);
    assert_int_equal(create_on(NULL, &ctx), DDGAN_OK);
    ddgan_context_destroy(ctx);
    setenv("DDGAN_BACKEND", "", 1);
    assert_int_equal(create_on(NULL, &ctx), DDGAN_OK);
    ddgan_context_destroy(ctx);
    unsetenv("DDGAN_BACKEND");
    unsetenv("DDGAN_BACKEND_PATH");
}

/* Plug-ins are never loaded from the current directory, nor through a
 * relative entry in DDGAN_BACKEND_PATH. */
static void test_never_current_directory(void **state)
{
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(DDGAN_TEST_PLUGIN_DIR), 0);
    ddgan_context_t ctx;
    tu_assert_status(create_on("testgood", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, "not built or not installed");
    setenv("DDGAN_BACKEND_PATH", ".", 1);
    tu_assert_status(create_on("testgood", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, NULL);
    setenv("DDGAN_BACKEND_PATH", "plugins:./", 1);
    tu_assert_status(create_on("testgood", &ctx), DDGAN_ERR_BACKEND_UNAVAILABLE, NULL);
    unsetenv("DDGAN_BACKEND_PATH");
    assert_int_equal(chdir(cwd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ref_always_there, reset_env),
        cmocka_unit_test_setup(test_not_built_plugins_say_why, reset_env),
        cmocka_unit_test_setup(test_listing, reset_env),
        cmocka_unit_test_setup(test_plugin_loading, reset_env),
        cmocka_unit_test_setup(test_env_variable, reset_env),
        cmocka_unit_test_setup(test_never_current_directory, reset_env),
    };
    return cmocka_run_group_tests_name("backends", tests, NULL, NULL);
}
