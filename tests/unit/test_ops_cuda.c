/* The "cuda" backend plug-in (backends/cuda, docs/backend-cuda.md): the shared
 * parity table in float32 (1e-5 forward / 1e-4 gradients) and float64
 * against "ref" in float64, Philox draws against the host generator,
 * run-to-run determinism of the convolutions, error reporting, "auto"
 * selection, and the golden discriminator / generator vectors through the
 * public API.
 *
 * The plug-in is loaded from the build tree (DDGAN_BUILD_PLUGIN_DIR).
 *  - Not built (no nvcc / cuDNN, DDGAN_WITH_CUDA=OFF): every test skips.
 *  - Built but no usable GPU (no driver, no device): the GPU tests skip with
 *    the probe's reason, and test_unavailable checks that asking for "cuda"
 *    fails with DDGAN_ERR_BACKEND_UNAVAILABLE and that reason, and that
 *    "auto" falls back to another backend.
 *  - Built and a GPU present: everything runs, and a context that cannot
 *    be created is a failure. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/context.h"
#include "core/philox.h"
#include "io/safetensors.h"
#include "op_table.h"

#define PLUGIN_FILE DDGAN_BUILD_PLUGIN_DIR "/libddgan-backend-cuda.so"

static ddgan_context_t g_cuda; /* "cuda" */
static ddgan_context_t g_ref;  /* "ref", 2 threads: the oracle */
static int g_plugin_built;     /* the plug-in file exists */
static int g_available;        /* its probe found a usable device */
static char g_why[1024];       /* the probe's reason, or why g_cuda could not be created */

static ddgan_context_t make_ctx(const char *backend, int threads)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = backend;
    cfg.num_threads = threads;
    ddgan_context_t ctx = NULL;
    if (ddgan_context_create(&ctx, &cfg) != DDGAN_OK)
        return NULL;
    return ctx;
}

/* The registry's view of "cuda": available flag and reason. */
static int cuda_info(ddgan_backend_info *out)
{
    const size_t n = ddgan_backend_count();
    for (size_t i = 0; i < n; i++) {
        ddgan_backend_info info;
        ddgan_backend_info_init(&info, sizeof info);
        if (ddgan_backend_get_info(i, &info) != DDGAN_OK)
            continue;
        if (!strcmp(info.name, "cuda")) {
            *out = info;
            return 1;
        }
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    unsetenv("DDGAN_BACKEND");
    unsetenv("DDGAN_CUDA_FAST");
    setenv("DDGAN_BACKEND_PATH", DDGAN_BUILD_PLUGIN_DIR, 1);
    struct stat sb;
    g_plugin_built = stat(PLUGIN_FILE, &sb) == 0;
    g_ref = make_ctx("ref", 2);
    if (!g_ref)
        return -1;
    ddgan_backend_info info;
    memset(&info, 0, sizeof info);
    if (cuda_info(&info)) {
        g_available = info.available;
        snprintf(g_why, sizeof g_why, "%s", info.reason);
    }
    if (g_available) {
        g_cuda = make_ctx("cuda", 1);
        if (!g_cuda)
            snprintf(g_why, sizeof g_why, "%s", ddgan_last_error());
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ddgan_context_destroy(g_cuda);
    ddgan_context_destroy(g_ref);
    unsetenv("DDGAN_BACKEND_PATH");
    return 0;
}

/* Skips visibly when the plug-in is not built or finds no GPU; fails when a
 * GPU is there but no context could be created. */
#define REQUIRE_CUDA()                                                                           \
    do {                                                                                         \
        if (!g_plugin_built) {                                                                   \
            print_message("[  SKIP    ] the cuda plug-in is not built (no nvcc/cuDNN, or "       \
                          "DDGAN_WITH_CUDA=OFF)\n");                                             \
            skip();                                                                              \
        }                                                                                        \
        if (!g_available) {                                                                      \
            print_message("[  SKIP    ] the cuda backend is unavailable: %s\n", g_why);          \
            skip();                                                                              \
        }                                                                                        \
        if (!g_cuda)                                                                             \
            print_error("a GPU is present but no cuda context could be created: %s\n", g_why);   \
        assert_non_null(g_cuda);                                                                 \
    } while (0)

#define OK(expr) assert_int_equal((expr), DDGAN_OK)

static ddgan_backend *cuda_be(void) { return g_cuda->backend; }
static ddgan_backend *ref_be(void) { return g_ref->backend; }

/* ======================================================================== */
/* Availability                                                             */

/* No GPU: explicit requests fail with the probe's reason, "auto" falls back.
 * GPU: "cuda" works and "auto" prefers it. */
static void test_unavailable(void **state)
{
    (void)state;
    if (!g_plugin_built) {
        print_message("[  SKIP    ] the cuda plug-in is not built\n");
        skip();
    }
    ddgan_backend_info info;
    memset(&info, 0, sizeof info);
    assert_true(cuda_info(&info));
    print_message("    cuda: available %d, score %d, %s (%s)\n", info.available, info.score,
                  info.available ? info.description : info.reason, info.path);
    assert_non_null(strstr(info.path, "libddgan-backend-cuda.so"));

    setenv("DDGAN_BACKEND", "cuda", 1);
    ddgan_context_t ctx = NULL;
    ddgan_status_t st = ddgan_context_create(&ctx, NULL);
    const char *msg = ddgan_last_error();
    unsetenv("DDGAN_BACKEND");
    if (!info.available) {
        print_message("    DDGAN_BACKEND=cuda: status %d, \"%s\"\n", (int)st, msg);
        assert_int_equal(st, DDGAN_ERR_BACKEND_UNAVAILABLE);
        assert_null(ctx);
        assert_true(info.reason[0] != '\0');
        assert_non_null(strstr(msg, "cuda"));
        assert_non_null(strstr(msg, info.reason)); /* the probe's reason reaches the user */
        /* the config's name gives the same answer */
        assert_null(make_ctx("cuda", 1));
        /* "auto" falls back to an available backend */
        ctx = make_ctx("auto", 1);
        assert_non_null(ctx);
        print_message("    auto selects %s\n", ddgan_context_backend(ctx));
        assert_string_not_equal(ddgan_context_backend(ctx), "cuda");
        ddgan_context_destroy(ctx);
        return;
    }
    if (st != DDGAN_OK)
        print_error("%s\n", msg);
    assert_int_equal(st, DDGAN_OK);
    assert_string_equal(ddgan_context_backend(ctx), "cuda");
    ddgan_context_destroy(ctx);
    assert_int_equal(info.score, 20);
    ctx = make_ctx("auto", 1);
    assert_non_null(ctx);
    assert_string_equal(ddgan_context_backend(ctx), "cuda");
    ddgan_context_destroy(ctx);
}

/* ======================================================================== */
/* The parity table                                                         */

static void print_report(const char *what, const op_table_report *r)
{
    print_message("[ PARITY   ] %s: %d cases (%d skipped), worst normalised error fwd %.2e (%s), "
                  "grad %.2e (%s); worst element-relative %.2e (%s)\n",
                  what, r->run, r->skipped, r->worst_fwd, r->worst_fwd_case ? r->worst_fwd_case : "-",
                  r->worst_grad, r->worst_grad_case ? r->worst_grad_case : "-", r->worst_elem_rel,
                  r->worst_elem_case ? r->worst_elem_case : "-");
}

static void test_table_f32_vs_ref_f64(void **state)
{
    (void)state;
    REQUIRE_CUDA();
    op_table_report r;
    const int failed = op_table_run(cuda_be(), DDGAN_DT_F32, ref_be(), 1e-5, 1e-4, NULL, &r);
    print_report("cuda f32 vs ref f64", &r);
    assert_int_equal(failed, 0);
    assert_int_equal(r.skipped, 0);
    assert_int_equal((size_t)r.run, op_table_count);
}

/* float64 on the device: double sums in another order than ref's and the
 * device's libm (within 2 ulp), so close to but not bit-identical to ref. */
static void test_table_f64_vs_ref_f64(void **state)
{
    (void)state;
    REQUIRE_CUDA();
    op_table_report r;
    const int failed = op_table_run(cuda_be(), DDGAN_DT_F64, ref_be(), 1e-12, 1e-12, NULL, &r);
    print_report("cuda f64 vs ref f64", &r);
    assert_int_equal(failed, 0);
    assert_int_equal(r.skipped, 0);
    assert_int_equal((size_t)r.run, op_table_count);
}

/* ======================================================================== */
/* Philox draws against lib/core/philox.c                                   */

static void test_philox_draws(void **state)
{
    (void)state;
    REQUIRE_CUDA();
    ddgan_backend *be = cuda_be();
    const size_t n = (size_t)1 << 20 | 3; /* a partial last block */
    const uint64_t seed = 0x1234abcdULL, stream = ((uint64_t)1 << 40) + 7, first = 1000;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    assert_non_null(want);
    assert_non_null(got);
    void *dev = NULL;
    OK(be->ops->alloc(be, n * sizeof(float), &dev));

    /* uniforms: integer arithmetic and an exact conversion, bit-identical */
    ddgan__philox_uniform(seed, stream, first, want, n);
    OK(be->ops->compute->rand_uniform(be, DDGAN_DT_F32, n, seed, stream, first, dev));
    OK(be->ops->copy_d2h(be, got, dev, n * sizeof(float)));
    assert_memory_equal(got, want, n * sizeof(float));

    /* normals: double Box-Muller rounded once; the device's log/sin/cos may
     * differ from glibc's by an ulp of double, which changes the float only
     * next to a rounding boundary (docs/rng.md allows 4 float ulps) */
    ddgan__philox_normal(seed, stream, first, want, n);
    OK(be->ops->compute->rand_normal(be, DDGAN_DT_F32, n, seed, stream, first, dev));
    OK(be->ops->copy_d2h(be, got, dev, n * sizeof(float)));
    size_t differ = 0;
    double worst_ulp = 0;
    for (size_t i = 0; i < n; i++) {
        if (got[i] == want[i])
            continue;
        differ++;
        const double ulp = fabs((double)got[i] - want[i]) /
                           (double)(nextafterf(fabsf(want[i]), INFINITY) - fabsf(want[i]));
        worst_ulp = fmax(worst_ulp, ulp);
        assert_true(ulp <= 4.0 || fabs((double)got[i] - want[i]) <= 1e-6);
    }
    print_message("    %zu normals: %zu not bit-identical to the host's (worst %.1f ulp)\n", n,
                  differ, worst_ulp);
    be->ops->free(be, dev);
    free(want);
    free(got);
}

/* ======================================================================== */
/* Determinism and errors                                                   */

static void conv_bwd_weights_once(ddgan_backend *be, const ddgan_conv2d_desc *d, float *dw_host)
{
    const size_t nx = (size_t)d->n * d->c_in * d->h * d->w;
    const size_t ny = (size_t)d->n * d->c_out * d->h_out * d->w_out;
    const size_t nw = (size_t)d->c_out * d->c_in * d->kh * d->kw;
    float *hx = malloc(nx * sizeof *hx), *hy = malloc(ny * sizeof *hy);
    assert_non_null(hx);
    assert_non_null(hy);
    ddgan__philox_normal(1, 2, 0, hx, nx);
    ddgan__philox_normal(1, 3, 0, hy, ny);
    void *x, *dy, *dw;
    OK(be->ops->alloc(be, nx * 4, &x));
    OK(be->ops->alloc(be, ny * 4, &dy));
    OK(be->ops->alloc(be, nw * 4, &dw));
    OK(be->ops->copy_h2d(be, x, hx, nx * 4));
    OK(be->ops->copy_h2d(be, dy, hy, ny * 4));
    OK(be->ops->compute->conv2d_bwd_weights(be, d, x, dy, dw, NULL, 0));
    OK(be->ops->copy_d2h(be, dw_host, dw, nw * 4));
    be->ops->free(be, x);
    be->ops->free(be, dy);
    be->ops->free(be, dw);
    free(hx);
    free(hy);
}

/* The op set requires reproducible results: only deterministic cuDNN
 * algorithms are used, so two runs agree bit for bit. */
static void test_conv_determinism(void **state)
{
    (void)state;
    REQUIRE_CUDA();
    ddgan_conv2d_desc d = {.dtype = DDGAN_DT_F32, .n = 64, .c_in = 128, .h = 16, .w = 16,
                           .c_out = 128, .kh = 3, .kw = 3, .stride = 1,
                           .pad_t = 1, .pad_l = 1, .pad_b = 1, .pad_r = 1};
    assert_int_equal(ddgan__conv2d_desc_finish(&d), 0);
    const size_t nw = (size_t)d.c_out * d.c_in * d.kh * d.kw;
    float *a = malloc(nw * sizeof *a), *b = malloc(nw * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    conv_bwd_weights_once(cuda_be(), &d, a);
    conv_bwd_weights_once(cuda_be(), &d, b);
    assert_memory_equal(a, b, nw * sizeof *a);
    free(a);
    free(b);
}

static void test_errors(void **state)
{
    (void)state;
    REQUIRE_CUDA();
    ddgan_backend *be = cuda_be();
    ddgan_conv2d_desc d = {.dtype = DDGAN_DT_F32, .n = 1, .c_in = 1, .h = 4, .w = 4, .c_out = 1,
                           .kh = 3, .kw = 3, .stride = 3};
    void *buf = NULL;
    OK(be->ops->alloc(be, 64 * sizeof(float), &buf));
    assert_int_equal(be->ops->compute->conv2d_fwd(be, &d, buf, buf, NULL, buf, 0),
                     DDGAN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(ddgan_last_error(), "stride"));
    ddgan_group_norm_desc g = {.dtype = DDGAN_DT_F32, .n = 1, .c = 6, .hw = 4, .groups = 4,
                               .eps = 1e-6};
    assert_int_equal(be->ops->compute->group_norm_fwd(be, &g, buf, NULL, NULL, buf, NULL, NULL),
                     DDGAN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(ddgan_last_error(), "divisible"));
    be->ops->free(be, buf);
    /* an allocation far beyond any GPU fails cleanly with OUT_OF_MEMORY */
    void *huge = NULL;
    assert_int_equal(be->ops->alloc(be, (size_t)1 << 50, &huge), DDGAN_ERR_OUT_OF_MEMORY);
    assert_null(huge);
    print_message("    huge allocation: %s\n", ddgan_last_error());
    OK(be->ops->synchronize(be));
}

/* ======================================================================== */
/* Golden vectors through the public API                                    */

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

static float *read_f32(ddgan_st_file *f, const char *name, size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    if (ddgan__st_read_f32(f, name, p, n) != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(ddgan__st_read_f32(f, name, p, n), DDGAN_OK);
    return p;
}

static void test_disc_golden(void **state)
{
    (void)state;
    REQUIRE_CUDA();
    const char *path = tu_shared_path("spec/vectors/disc_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_discriminator_t d = NULL;
    ddgan_status_t st = ddgan_discriminator_load_prefixed(&d, g_cuda, path, "disc.", "config");
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    ddgan_st_file *f = NULL;
    OK(ddgan__st_open(&f, path));
    int64_t t[8];
    OK(ddgan__st_read_i64(f, "input.t", t, 8));
    float *xp = read_f32(f, "input.x_prev", 8 * 256), *xt = read_f32(f, "input.x_t", 8 * 256);
    float *ref = read_f32(f, "output.logits", 8), logits[8];
    OK(ddgan_discriminator_forward(d, xp, t, xt, 8, logits));
    double err = rel_l2(logits, ref, 8);
    print_message("    disc_tiny forward batch 8 on cuda: rel L2 %.2e\n", err);
    assert_true(err <= 1e-5);
    free(ref);

    OK(ddgan_discriminator_zero_grad(d));
    float pen = 0;
    OK(ddgan_discriminator_r1(d, xp, t, xt, 8, 0.02f, &pen));
    ref = read_f32(f, "r1.penalty", 1);
    const double pen_err = fabs(pen - ref[0]) / fabs(ref[0]);
    print_message("    R1 penalty on cuda %.9g (reference %.9g): rel %.2e\n", (double)pen,
                  (double)ref[0], pen_err);
    assert_true(pen_err <= 1e-5);
    free(ref);
    size_t n = ddgan_discriminator_num_tensors(d);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        OK(ddgan_discriminator_tensor_info(d, i, &ti));
        char name[160];
        snprintf(name, sizeof name, "r1grad.%s", ti.name);
        float *r = read_f32(f, name, ti.numel), *g = malloc(sizeof(float) * ti.numel);
        assert_non_null(g);
        OK(ddgan_discriminator_get_grad(d, ti.name, g, ti.numel));
        double nrm = 0;
        for (size_t k = 0; k < ti.numel; k++)
            nrm += (double)r[k] * r[k];
        if (sqrt(nrm) > 1e-3) /* tiny references are float32 noise (as test_ops_cpu) */
            worst = fmax(worst, rel_l2(g, r, ti.numel));
        free(r);
        free(g);
    }
    print_message("    R1 parameter gradients on cuda: worst rel L2 %.2e\n", worst);
    assert_true(worst <= 1e-4);
    free(xp);
    free(xt);
    ddgan__st_close(f);
    ddgan_discriminator_destroy(d);
}

static void test_gen_golden(void **state)
{
    (void)state;
    REQUIRE_CUDA();
    const char *path = tu_shared_path("spec/vectors/gen_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_generator_t g = NULL;
    ddgan_status_t st = ddgan_generator_load_prefixed(&g, g_cuda, path, "gen.", "config");
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    ddgan_st_file *f = NULL;
    OK(ddgan__st_open(&f, path));
    enum { B = 3, P = 256 };
    int64_t t[B];
    OK(ddgan__st_read_i64(f, "input.t", t, B));
    float *x = read_f32(f, "input.x", B * P), *z = read_f32(f, "input.z", B * 8);
    float *ref = read_f32(f, "output", B * P), out[B * P];
    OK(ddgan_generator_forward(g, x, t, z, B, out));
    const double err = rel_l2(out, ref, B * P);
    print_message("    gen_tiny forward on cuda: rel L2 %.2e\n", err);
    assert_true(err <= 1e-5);
    free(ref);
    free(x);
    free(z);
    ddgan__st_close(f);
    ddgan_generator_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_table_f32_vs_ref_f64),
        cmocka_unit_test(test_table_f64_vs_ref_f64),
        cmocka_unit_test(test_philox_draws),
        cmocka_unit_test(test_conv_determinism),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_disc_golden),
        cmocka_unit_test(test_gen_golden),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
