/* The "cpu" backend plug-in (backends/cpu, docs/backend-cpu.md): the shared
 * parity table in float32 against "ref" in float64 (and float64 against ref,
 * where the plug-in runs the same ref kernels), the oneDNN convolutions with
 * accumulate at DDGAN shapes and layouts, the float32 activations, FIR and
 * softmax with their thread teams, the primitive cache, run-to-run determinism,
 * error reporting through the core, "auto" selection, and the golden
 * discriminator / generator vectors through the public API.
 *
 * The plug-in is loaded from the build tree (DDGAN_BUILD_PLUGIN_DIR). When it
 * was not built (DDGAN_WITH_DNNL=OFF) every test skips; when the file exists
 * but cannot be used, the tests fail. */
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

#define PLUGIN_FILE DDGAN_BUILD_PLUGIN_DIR "/libddgan-backend-cpu.so"

/* Sanitizer builds: oneDNN (dlopen'ed with the plug-in) gives the OpenMP
 * worker threads dynamic TLS, whose ranges the leak checker at exit misreads
 * on this glibc and crashes on ("Tracer caught signal 11", google/sanitizers
 * issue 1322). Not tracking __tls_get_addr avoids that; the leak check itself
 * stays on. Read only by the AddressSanitizer runtime (unused otherwise). */
__attribute__((visibility("default"))) const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
    return "intercept_tls_get_addr=0";
}

static ddgan_context_t g_cpu;  /* "cpu", 2 threads */
static ddgan_context_t g_ref;  /* "ref", 2 threads: the oracle */
static int g_plugin_built;     /* the plug-in file exists */
static char g_why[1024];       /* why g_cpu could not be created */

static ddgan_context_t make_ctx(const char *backend, int threads, ddgan_log_fn log_fn, void *user)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = backend;
    cfg.num_threads = threads;
    cfg.seed = 0;
    if (log_fn) {
        cfg.log_fn = log_fn;
        cfg.log_user = user;
        cfg.log_level = DDGAN_LOG_DEBUG;
    }
    ddgan_context_t ctx = NULL;
    if (ddgan_context_create(&ctx, &cfg) != DDGAN_OK)
        return NULL;
    return ctx;
}

static int group_setup(void **state)
{
    (void)state;
    unsetenv("DDGAN_BACKEND");
    unsetenv("DDGAN_CPU_CONV_LAYOUT");
    unsetenv("DDGAN_CPU_WINOGRAD");
    unsetenv("DDGAN_CPU_SMALL_CONV");
    setenv("DDGAN_BACKEND_PATH", DDGAN_BUILD_PLUGIN_DIR, 1);
    struct stat sb;
    g_plugin_built = stat(PLUGIN_FILE, &sb) == 0;
    g_ref = make_ctx("ref", 2, NULL, NULL);
    if (!g_ref)
        return -1;
    g_cpu = make_ctx("cpu", 2, NULL, NULL);
    if (!g_cpu)
        snprintf(g_why, sizeof g_why, "%s", ddgan_last_error());
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ddgan_context_destroy(g_cpu);
    ddgan_context_destroy(g_ref);
    unsetenv("DDGAN_BACKEND_PATH");
    return 0;
}

/* Skips when the plug-in was not built; fails when it was built but does not load. */
#define REQUIRE_CPU()                                                                            \
    do {                                                                                         \
        if (!g_plugin_built) {                                                                   \
            print_message("[  SKIP    ] the cpu plug-in is not built (DDGAN_WITH_DNNL=OFF?): %s\n", \
                          g_why);                                                                \
            skip();                                                                              \
        }                                                                                        \
        if (!g_cpu)                                                                              \
            print_error("the cpu plug-in exists but no context could be created: %s\n", g_why);  \
        assert_non_null(g_cpu);                                                                  \
    } while (0)

#define OK(expr) assert_int_equal((expr), DDGAN_OK)

static ddgan_backend *cpu_be(void) { return g_cpu->backend; }
static ddgan_backend *ref_be(void) { return g_ref->backend; }

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
    REQUIRE_CPU();
    op_table_report r;
    const int failed = op_table_run(cpu_be(), DDGAN_DT_F32, ref_be(), 1e-5, 1e-4, NULL, &r);
    print_report("cpu f32 vs ref f64", &r);
    assert_int_equal(failed, 0);
    assert_int_equal(r.skipped, 0);
    assert_int_equal((size_t)r.run, op_table_count);
}

/* float64 runs the ref kernels compiled into the plug-in: identical results. */
static void test_table_f64_is_ref(void **state)
{
    (void)state;
    REQUIRE_CPU();
    op_table_report r;
    const int failed = op_table_run(cpu_be(), DDGAN_DT_F64, ref_be(), 0.0, 0.0, NULL, &r);
    print_report("cpu f64 vs ref f64 (exact)", &r);
    assert_int_equal(failed, 0);
    assert_int_equal(r.skipped, 0);
    assert_int_equal((size_t)r.run, op_table_count);
}

/* ======================================================================== */
/* Convolutions at DDGAN shapes, with and without accumulate                */

/* n values in [-1, 1), exactly float-representable, from Philox (seed). */
static double *rand_vals(size_t n, uint64_t seed)
{
    float *u = malloc((n ? n : 1) * sizeof *u);
    double *v = malloc((n ? n : 1) * sizeof *v);
    assert_true(u && v);
    ddgan__philox_uniform(seed, 0, 0, u, n);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)(float)(2.0 * (double)u[i] - 1.0);
    free(u);
    return v;
}

/* A device copy of h (n values) in dtype dt. */
static void *upload(ddgan_backend *be, ddgan_dtype dt, const double *h, size_t n)
{
    void *p = NULL;
    OK(be->ops->alloc(be, n * ddgan_dtype_size(dt), &p));
    if (dt == DDGAN_DT_F64) {
        OK(be->ops->copy_h2d(be, p, h, n * sizeof(double)));
    } else {
        float *f = malloc(n * sizeof *f);
        assert_non_null(f);
        for (size_t i = 0; i < n; i++)
            f[i] = (float)h[i];
        OK(be->ops->copy_h2d(be, p, f, n * sizeof(float)));
        free(f);
    }
    return p;
}

static void download(ddgan_backend *be, ddgan_dtype dt, const void *p, double *h, size_t n)
{
    if (dt == DDGAN_DT_F64) {
        OK(be->ops->copy_d2h(be, h, p, n * sizeof(double)));
        return;
    }
    float *f = malloc(n * sizeof *f);
    assert_non_null(f);
    OK(be->ops->copy_d2h(be, f, p, n * sizeof(float)));
    for (size_t i = 0; i < n; i++)
        h[i] = f[i];
    free(f);
}

/* The parity table's measure: max_i |got - want| / (|want_i| + max_j |want_j|). */
static double norm_err(const double *got, const double *want, size_t n)
{
    double mx = 0, worst = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        const double den = fabs(want[i]) + mx;
        const double e = fabs(got[i] - want[i]) / (den > 0 ? den : 1.0);
        if (isnan(got[i]) || isinf(got[i]))
            return INFINITY;
        worst = fmax(worst, e);
    }
    return worst;
}

/* Outputs of fwd, bwd_data and bwd_weights (+ dbias) of one convolution. */
typedef struct conv_out {
    double *y, *dx, *dw, *db;
} conv_out;

static void conv_run(ddgan_backend *be, ddgan_dtype dt, const ddgan_conv2d_desc *d0, int with_bias,
                     int accumulate, uint64_t seed, conv_out *o)
{
    ddgan_conv2d_desc d = *d0;
    d.dtype = dt;
    assert_int_equal(ddgan__conv2d_desc_finish(&d), 0);
    const size_t nx = (size_t)d.n * d.c_in * d.h * d.w, nw = (size_t)d.c_out * d.c_in * d.kh * d.kw,
                 ny = (size_t)d.n * d.c_out * d.h_out * d.w_out, nb = (size_t)d.c_out;
    double *hx = rand_vals(nx, seed), *hw = rand_vals(nw, seed + 1), *hb = rand_vals(nb, seed + 2),
           *hdy = rand_vals(ny, seed + 3), *hy0 = rand_vals(ny, seed + 4),
           *hdx0 = rand_vals(nx, seed + 5), *hdw0 = rand_vals(nw, seed + 6),
           *hdb0 = rand_vals(nb, seed + 7);
    void *x = upload(be, dt, hx, nx), *w = upload(be, dt, hw, nw), *b = upload(be, dt, hb, nb),
         *dy = upload(be, dt, hdy, ny), *y = upload(be, dt, hy0, ny), *dx = upload(be, dt, hdx0, nx),
         *dw = upload(be, dt, hdw0, nw), *db = upload(be, dt, hdb0, nb);
    const ddgan_backend_compute *c = be->ops->compute;
    OK(c->conv2d_fwd(be, &d, x, w, with_bias ? b : NULL, y, accumulate));
    OK(c->conv2d_bwd_data(be, &d, dy, w, dx, accumulate));
    OK(c->conv2d_bwd_weights(be, &d, x, dy, dw, with_bias ? db : NULL, accumulate));
    o->y = malloc(ny * sizeof(double));
    o->dx = malloc(nx * sizeof(double));
    o->dw = malloc(nw * sizeof(double));
    o->db = malloc(nb * sizeof(double));
    download(be, dt, y, o->y, ny);
    download(be, dt, dx, o->dx, nx);
    download(be, dt, dw, o->dw, nw);
    download(be, dt, db, o->db, nb);
    void *bufs[] = {x, w, b, dy, y, dx, dw, db};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        be->ops->free(be, bufs[i]);
    free(hx), free(hw), free(hb), free(hdy), free(hy0), free(hdx0), free(hdw0), free(hdb0);
}

static void conv_out_free(conv_out *o)
{
    free(o->y), free(o->dx), free(o->dw), free(o->db);
}

#define CONVD(N, CI, H, W, CO, K, S, PT, PL, PB, PR)                                              \
    {.n = (N), .c_in = (CI), .h = (H), .w = (W), .c_out = (CO), .kh = (K), .kw = (K),           \
     .stride = (S), .pad_t = (PT), .pad_l = (PL), .pad_b = (PB), .pad_r = (PR)}

static const struct {
    const char *name;
    ddgan_conv2d_desc d;
    int bias;
} g_conv_shapes[] = {
    {"3x3 s1 p1 4x32x16x16>32", CONVD(4, 32, 16, 16, 32, 3, 1, 1, 1, 1, 1), 1},
    {"3x3 s1 p1 2x64x8x8>128", CONVD(2, 64, 8, 8, 128, 3, 1, 1, 1, 1, 1), 1},
    {"1x1 2x64x8x8>128 (no bias)", CONVD(2, 64, 8, 8, 128, 1, 1, 0, 0, 0, 0), 0},
    {"down 3x3 s2 p0 2x16x17x17>32", CONVD(2, 16, 17, 17, 32, 3, 2, 0, 0, 0, 0), 1},
    {"first 3x3 2x3x32x32>16", CONVD(2, 3, 32, 32, 16, 3, 1, 1, 1, 1, 1), 1},
    {"4x4 s2 p1 2x8x16x16>8", CONVD(2, 8, 16, 16, 8, 4, 2, 1, 1, 1, 1), 0},
    {"3x3 s2 pads (0,0,1,1) 2x8x16x16>16", CONVD(2, 8, 16, 16, 16, 3, 2, 0, 0, 1, 1), 1},
};

/* A cpu context whose convolutions use `layout` (DDGAN_CPU_CONV_LAYOUT). */
static ddgan_context_t make_layout_ctx(const char *layout, int threads)
{
    setenv("DDGAN_CPU_CONV_LAYOUT", layout, 1);
    ddgan_context_t ctx = make_ctx("cpu", threads, NULL, NULL);
    unsetenv("DDGAN_CPU_CONV_LAYOUT");
    assert_non_null(ctx);
    return ctx;
}

/* Every shape on the three layout policies (auto: blocked for kernels
 * larger than 1x1, plain for 1x1). */
static void test_conv_accumulate_shapes(void **state)
{
    (void)state;
    REQUIRE_CPU();
    const char *layouts[] = {"auto", "plain", "blocked"};
    double worst_fwd = 0, worst_grad = 0;
    for (int l = 0; l < 3; l++) {
        ddgan_context_t ctx = make_layout_ctx(layouts[l], 2);
        for (size_t s = 0; s < sizeof g_conv_shapes / sizeof g_conv_shapes[0]; s++) {
            const ddgan_conv2d_desc *d = &g_conv_shapes[s].d;
            ddgan_conv2d_desc f = *d;
            assert_int_equal(ddgan__conv2d_desc_finish(&f), 0);
            const size_t nx = (size_t)f.n * f.c_in * f.h * f.w,
                         nw = (size_t)f.c_out * f.c_in * f.kh * f.kw,
                         ny = (size_t)f.n * f.c_out * f.h_out * f.w_out;
            for (int acc = 0; acc <= 1; acc++) {
                conv_out got, want;
                conv_run(ctx->backend, DDGAN_DT_F32, d, g_conv_shapes[s].bias, acc, 100 + s, &got);
                conv_run(ref_be(), DDGAN_DT_F64, d, g_conv_shapes[s].bias, acc, 100 + s, &want);
                const double ey = norm_err(got.y, want.y, ny), edx = norm_err(got.dx, want.dx, nx),
                             edw = norm_err(got.dw, want.dw, nw),
                             edb = norm_err(got.db, want.db, (size_t)f.c_out);
                print_message("    %-7s conv %-36s acc %d: fwd %.2e  bwd_data %.2e  "
                              "bwd_weights %.2e  dbias %.2e\n",
                              layouts[l], g_conv_shapes[s].name, acc, ey, edx, edw, edb);
                worst_fwd = fmax(worst_fwd, ey);
                worst_grad = fmax(worst_grad, fmax(edx, fmax(edw, edb)));
                assert_true(ey <= 1e-5);
                assert_true(edx <= 1e-4);
                assert_true(edw <= 1e-4);
                assert_true(edb <= 1e-4);
                conv_out_free(&got);
                conv_out_free(&want);
            }
        }
        ddgan_context_destroy(ctx);
    }
    print_message("[ PARITY   ] cpu conv at DDGAN shapes, 3 layouts, accumulate 0/1: worst fwd %.2e, "
                  "grad %.2e\n",
                  worst_fwd, worst_grad);
}

/* Same instance, same inputs: bit-identical results (oneDNN is run-to-run
 * deterministic for a fixed thread count). Across thread counts the result
 * is compared within float32 rounding and the bitwise outcome printed. */
static void test_conv_determinism(void **state)
{
    (void)state;
    REQUIRE_CPU();
    /* direct kernels; the same at 4096 output pixels, where the forward and
     * the backward-data run on oneDNN's Winograd kernels */
    const ddgan_conv2d_desc descs[2] = {CONVD(8, 32, 16, 16, 32, 3, 1, 1, 1, 1, 1),
                                        CONVD(16, 32, 16, 16, 32, 3, 1, 1, 1, 1, 1)};
    for (int di = 0; di < 2; di++) {
        const ddgan_conv2d_desc d = descs[di];
        ddgan_conv2d_desc f = d;
        assert_int_equal(ddgan__conv2d_desc_finish(&f), 0);
        const size_t nx = (size_t)f.n * f.c_in * f.h * f.w,
                     nw = (size_t)f.c_out * f.c_in * f.kh * f.kw,
                     ny = (size_t)f.n * f.c_out * f.h_out * f.w_out;
        conv_out a, b;
        conv_run(cpu_be(), DDGAN_DT_F32, &d, 1, 1, 7, &a);
        conv_run(cpu_be(), DDGAN_DT_F32, &d, 1, 1, 7, &b);
        assert_memory_equal(a.y, b.y, ny * sizeof(double));
        assert_memory_equal(a.dx, b.dx, nx * sizeof(double));
        assert_memory_equal(a.dw, b.dw, nw * sizeof(double));
        assert_memory_equal(a.db, b.db, (size_t)f.c_out * sizeof(double));
        conv_out_free(&b);
        for (int t = 1; t <= 3; t += 2) {
            ddgan_context_t ctx = make_ctx("cpu", t, NULL, NULL);
            assert_non_null(ctx);
            conv_run(ctx->backend, DDGAN_DT_F32, &d, 1, 1, 7, &b);
            const int same_y = !memcmp(a.y, b.y, ny * sizeof(double)),
                      same_dx = !memcmp(a.dx, b.dx, nx * sizeof(double)),
                      same_dw = !memcmp(a.dw, b.dw, nw * sizeof(double)),
                      same_db = !memcmp(a.db, b.db, (size_t)f.c_out * sizeof(double));
            const double edw = norm_err(b.dw, a.dw, nw), edb = norm_err(b.db, a.db, (size_t)f.c_out);
            print_message("    batch %d: %d vs 2 threads bit-identical: fwd %s, bwd_data %s, "
                          "bwd_weights %s (%.1e), dbias %s (%.1e)\n",
                          f.n, t, same_y ? "yes" : "no", same_dx ? "yes" : "no",
                          same_dw ? "yes" : "no", edw, same_db ? "yes" : "no", edb);
            assert_true(norm_err(b.y, a.y, ny) <= 1e-6);
            assert_true(norm_err(b.dx, a.dx, nx) <= 1e-6);
            /* the weight gradients sum n x 16 x 16 terms in an order that
             * depends on the thread split: float32 rounding of such a sum */
            assert_true(edw <= 4e-6);
            assert_true(edb <= 4e-6);
            conv_out_free(&b);
            ddgan_context_destroy(ctx);
        }
        conv_out_free(&a);
    }
}

/* ======================================================================== */
/* Activations and FIR above the threading threshold                        */

/* The op table's activation, FIR and softmax cases are small (one thread): these run
 * the float32 overrides with their thread teams, against ref float64 and
 * bitwise against a 1-thread cpu instance (elementwise / per-plane work
 * does not depend on the thread count). */
static void run_act(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, int bwd, int accumulate,
                    size_t n, double *out)
{
    double *hx = rand_vals(n, 11), *hdy = rand_vals(n, 12), *hdx = rand_vals(n, 13);
    for (size_t i = 0; i < n; i++)
        hx[i] = (double)(float)(hx[i] * 6.0); /* [-6, 6): all branches of every activation */
    void *x = upload(be, dt, hx, n), *y = upload(be, dt, hx, n), *dy = upload(be, dt, hdy, n),
         *dx = upload(be, dt, hdx, n);
    const ddgan_backend_compute *c = be->ops->compute;
    OK(c->act_fwd(be, dt, act, 0.2, n, x, y));
    if (bwd) {
        OK(c->act_bwd(be, dt, act, 0.2, n, x, y, dy, dx, accumulate));
        download(be, dt, dx, out, n);
    } else {
        download(be, dt, y, out, n);
    }
    void *bufs[] = {x, y, dy, dx};
    for (size_t i = 0; i < 4; i++)
        be->ops->free(be, bufs[i]);
    free(hx), free(hdy), free(hdx);
}

static void run_fir(ddgan_backend *be, ddgan_dtype dt, const ddgan_upfirdn_desc *d0, int bwd,
                    int accumulate, double *out, size_t *n_out)
{
    ddgan_upfirdn_desc d = *d0;
    d.dtype = dt;
    assert_int_equal(ddgan__upfirdn_desc_finish(&d), 0);
    const size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * d.h_out * d.w_out;
    double *hx = rand_vals(nx, 21), *hy = rand_vals(ny, 22);
    void *x = upload(be, dt, hx, nx), *y = upload(be, dt, hy, ny);
    const ddgan_backend_compute *c = be->ops->compute;
    if (bwd) {
        OK(c->upfirdn_bwd(be, &d, y, x, accumulate));
        download(be, dt, x, out, nx);
        *n_out = nx;
    } else {
        OK(c->upfirdn_fwd(be, &d, x, y, accumulate));
        download(be, dt, y, out, ny);
        *n_out = ny;
    }
    be->ops->free(be, x);
    be->ops->free(be, y);
    free(hx), free(hy);
}

#define FIRD(N, C, H, W, UP, DOWN, P0, P1, DIV)                                                  \
    {.n = (N), .c = (C), .h = (H), .w = (W), .up = (UP), .down = (DOWN), .pad0 = (P0),          \
     .pad1 = (P1), .taps = 4, .kernel = {1.0 / (DIV), 3.0 / (DIV), 3.0 / (DIV), 1.0 / (DIV)}}

/* Group norm and the strided elementwise ops above the threading threshold,
 * at the layers' shapes: cpu float32 against ref float64 (parity bounds),
 * the same on one thread (bit-identical), and the elementwise ops against
 * ref float32 (bit-identical: the same double arithmetic). */
static void run_gn(ddgan_backend *be, ddgan_dtype dt, int bwd, int acc, double *out, size_t *m)
{
    const ddgan_group_norm_desc d = {dt, 8, 64, 256, 16, 1e-6};
    const size_t n = 8 * 64 * 256, s = 8 * 16;
    double *hx = rand_vals(n, 41), *hdy = rand_vals(n, 42), *hg = rand_vals(64, 43), *hb = rand_vals(64, 44);
    for (size_t i = 0; i < n; i++)
        hx[i] = (double)(float)(hx[i] * 3.0 + 0.5);
    void *x = upload(be, dt, hx, n), *dy = upload(be, dt, hdy, n), *g = upload(be, dt, hg, 64),
         *b = upload(be, dt, hb, 64), *y = upload(be, dt, hdy, n), *mean = upload(be, dt, hdy, s),
         *rstd = upload(be, dt, hdy, s), *dg = upload(be, dt, hg, 64), *db = upload(be, dt, hb, 64);
    OK(be->ops->compute->group_norm_fwd(be, &d, x, g, b, y, mean, rstd));
    if (!bwd) {
        download(be, dt, y, out, n);
        *m = n;
    } else {
        OK(be->ops->compute->group_norm_bwd(be, &d, dy, x, mean, rstd, g, y, dg, db, acc));
        download(be, dt, y, out, n);
        download(be, dt, dg, out + n, 64);
        download(be, dt, db, out + n + 64, 64);
        *m = n + 128;
    }
    void *all[] = {x, dy, g, b, y, mean, rstd, dg, db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        be->ops->free(be, all[i]);
    free(hx), free(hdy), free(hg), free(hb);
}

/* case 0: AdaGN-like scale (b broadcast per example and channel), 1: bias
 * add, in place and accumulating, 2: copy into a channel slice (concat). */
static void run_ew(ddgan_backend *be, ddgan_dtype dt, int which, double *out, size_t *m)
{
    const size_t n = 8 * 64 * 256;
    double *ha = rand_vals(3 * n, 51), *hb = rand_vals(8 * 64, 52);
    void *a = upload(be, dt, ha, n), *b = upload(be, dt, hb, 8 * 64), *o = upload(be, dt, ha + n, 2 * n);
    ddgan_ew_desc d = {dt, {8, 64, 16, 16}, {64 * 256, 256, 16, 1}, {64, 1, 0, 0}, {0, 0, 0, 0}};
    if (which == 0) {
        OK(be->ops->compute->binary(be, &d, DDGAN_BIN_MUL, 0.7, 0.0, a, b, o, 0));
    } else if (which == 1) {
        d.b_strides[0] = 0;
        OK(be->ops->compute->binary(be, &d, DDGAN_BIN_AXPBY, 1.0, 1.0, a, b, a, 0));
        OK(be->ops->compute->binary(be, &d, DDGAN_BIN_AXPBY, 0.70710678, -0.3, a, b, o, 1));
    } else {
        const int64_t os[4] = {128 * 256, 256, 16, 1};
        memcpy(d.out_strides, os, sizeof os);
        OK(be->ops->compute->unary(be, &d, DDGAN_UN_SCALE, 1.0, 0.0, a, (char *)o + 64 * 256 * ddgan_dtype_size(dt), 0));
    }
    download(be, dt, o, out, 2 * n);
    *m = 2 * n;
    be->ops->free(be, a), be->ops->free(be, b), be->ops->free(be, o);
    free(ha), free(hb);
}

/* A batched product, cut into row blocks (mode 0: batch 2, m 256), not cut
 * (1: batch 16), or cut into column blocks (2: one product of 3 rows
 * against a transposed 520 x 160 B, as the dense layers of a batch-1
 * forward: 4 blocks, the last one partial). Modes 3-5 are the
 * matrix-vector products of cpu_gemv.c (one row against a transposed B):
 * 3: 1030 x 300 with padded rows of B (ldb 305), accumulating, the last
 * group of four rows and the last vector of each row partial; 4: 512 x 256
 * with beta 0 over a C of NaN (must not propagate); 5: 7 x 13, below one
 * vector and below the threading threshold. */
#define MM_MODES 6
static void run_mm(ddgan_backend *be, ddgan_dtype dt, int mode, double *out, size_t *m)
{
    const int row = mode == 2, vec = mode >= 3;
    static const int vn[3] = {1030, 512, 7}, vk[3] = {300, 256, 13}, vpad[3] = {5, 0, 0};
    const int batch = row || vec ? 1 : mode ? 16 : 2, M = vec ? 1 : row ? 3 : 256,
              N = vec ? vn[mode - 3] : row ? 520 : 64, K = vec ? vk[mode - 3] : row ? 160 : 128;
    const int64_t ldb_vec = vec ? K + vpad[mode - 3] : 0;
    const size_t na = (size_t)batch * K * M,
                 nb = vec ? (size_t)N * (size_t)ldb_vec : (size_t)batch * K * N, nc = (size_t)batch * M * N;
    double *ha = rand_vals(na, 61), *hb = rand_vals(nb, 62), *hc = rand_vals(nc, 63);
    if (mode == 4)
        for (size_t i = 0; i < nc; i++)
            hc[i] = NAN;
    void *a = upload(be, dt, ha, na), *b = upload(be, dt, hb, nb), *c = upload(be, dt, hc, nc);
    /* C = 0.5 A^T B + C (A stored k x m); row: C = 0.5 A B^T + C (B stored n x k) */
    const ddgan_matmul_desc d =
        vec   ? (ddgan_matmul_desc){dt, 1, 1, N, K, 0, 1, K, ldb_vec, N, 0, 0, 0, mode == 4 ? 1.0 : 0.5,
                                    mode == 4 ? 0.0 : 1.0}
        : row ? (ddgan_matmul_desc){dt, batch, M, N, K, 0, 1, K, K, N, 0, 0, 0, 0.5, 1.0}
              : (ddgan_matmul_desc){dt, batch, M, N, K, 1, 0, M, N, N, (int64_t)K * M, (int64_t)K * N,
                                    (int64_t)M * N, 0.5, 1.0};
    OK(be->ops->compute->matmul(be, &d, a, b, c));
    download(be, dt, c, out, nc);
    *m = nc;
    be->ops->free(be, a), be->ops->free(be, b), be->ops->free(be, c);
    free(ha), free(hb), free(hc);
}

/* Inner reductions: per-(n, c) sums over H x W, and one sum of squares over
 * more than one block (a gradient norm), accumulating. */
static void run_red(ddgan_backend *be, ddgan_dtype dt, int whole, double *out, size_t *m)
{
    const size_t n = 8 * 64 * 400 + 3;
    double *hx = rand_vals(n, 71), *ho = rand_vals(512, 72);
    void *x = upload(be, dt, hx, n), *o = upload(be, dt, ho, 512);
    if (whole) {
        const int64_t shape[4] = {1, 1, 1, (int64_t)n};
        OK(be->ops->compute->reduce(be, dt, DDGAN_RED_SUMSQ, shape, 0xFu, x, o, 1));
        *m = 1;
    } else {
        const int64_t shape[4] = {8, 64, 20, 20};
        OK(be->ops->compute->reduce(be, dt, DDGAN_RED_SUM, shape, 0xCu, x, o, 0));
        *m = 512;
    }
    download(be, dt, o, out, *m);
    be->ops->free(be, x), be->ops->free(be, o);
    free(hx), free(ho);
}

static void test_norm_ew_threaded(void **state)
{
    (void)state;
    REQUIRE_CPU();
    ddgan_context_t one = make_ctx("cpu", 1, NULL, NULL);
    assert_non_null(one);
    const size_t cap = 2 * 8 * 64 * 256 + 128;
    double *got = malloc(cap * sizeof *got), *want = malloc(cap * sizeof *want), *solo = malloc(cap * sizeof *solo),
           *ref32 = malloc(cap * sizeof *ref32);
    assert_true(got && want && solo && ref32);
    for (int mode = 0; mode < 3; mode++) {
        const int bwd = mode > 0, acc = mode == 2;
        size_t m = 0;
        run_gn(cpu_be(), DDGAN_DT_F32, bwd, acc, got, &m);
        run_gn(ref_be(), DDGAN_DT_F64, bwd, acc, want, &m);
        run_gn(one->backend, DDGAN_DT_F32, bwd, acc, solo, &m);
        const double e = norm_err(got, want, m);
        print_message("    group norm 8x64x256 g16 %s: %.2e\n", mode == 0 ? "fwd" : acc ? "bwd acc" : "bwd", e);
        assert_true(e <= (bwd ? 1e-4 : 1e-5));
        assert_memory_equal(got, solo, m * sizeof(double));
    }
    for (int which = 0; which < 3; which++) {
        size_t m = 0;
        run_ew(cpu_be(), DDGAN_DT_F32, which, got, &m);
        run_ew(ref_be(), DDGAN_DT_F64, which, want, &m);
        run_ew(one->backend, DDGAN_DT_F32, which, solo, &m);
        run_ew(ref_be(), DDGAN_DT_F32, which, ref32, &m);
        const double e = norm_err(got, want, m);
        print_message("    elementwise case %d: %.2e\n", which, e);
        assert_true(e <= 1e-5);
        assert_memory_equal(got, solo, m * sizeof(double));
        assert_memory_equal(got, ref32, m * sizeof(double));
    }
    for (int whole = 0; whole < 2; whole++) {
        size_t m = 0;
        run_red(cpu_be(), DDGAN_DT_F32, whole, got, &m);
        run_red(ref_be(), DDGAN_DT_F64, whole, want, &m);
        run_red(one->backend, DDGAN_DT_F32, whole, solo, &m);
        const double e = norm_err(got, want, m);
        print_message("    reduce %s: %.2e\n", whole ? "sumsq of 204803" : "8x64 sums over 20x20", e);
        assert_true(e <= 1e-5);
        assert_memory_equal(got, solo, m * sizeof(double));
    }
    /* the matrix-vector kernel ran: other bits than the sgemm path that
     * $DDGAN_CPU_GEMM=openblas takes (where the CPU has AVX-512) */
    assert_int_equal(setenv("DDGAN_CPU_GEMM", "openblas", 1), 0);
    ddgan_context_t blas = make_ctx("cpu", 2, NULL, NULL);
    assert_int_equal(unsetenv("DDGAN_CPU_GEMM"), 0);
    assert_non_null(blas);
    const int avx512 =
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        __builtin_cpu_supports("avx512f");
#else
        0;
#endif
    static const char *const mm_name[MM_MODES] = {
        "batch 2", "batch 16", "3x520x160 (column blocks)", "1x1030x300 ldb 305 (vector)",
        "1x512x256 beta 0 over NaN (vector)", "1x7x13 (vector)"};
    for (int mode = 0; mode < MM_MODES; mode++) {
        size_t m = 0;
        run_mm(cpu_be(), DDGAN_DT_F32, mode, got, &m);
        run_mm(ref_be(), DDGAN_DT_F64, mode, want, &m);
        run_mm(one->backend, DDGAN_DT_F32, mode, solo, &m);
        const double e = norm_err(got, want, m);
        print_message("    matmul %s: %.2e\n", mm_name[mode], e);
        assert_true(e <= 1e-5);
        assert_memory_equal(got, solo, m * sizeof(double));
        if (mode == 3 || mode == 4) {
            run_mm(blas->backend, DDGAN_DT_F32, mode, ref32, &m);
            assert_true(norm_err(ref32, want, m) <= 1e-5);
            if (avx512)
                assert_memory_not_equal(got, ref32, m * sizeof(double));
        }
    }
    ddgan_context_destroy(blas);
    free(got), free(want), free(solo), free(ref32);
    ddgan_context_destroy(one);
}

/* The fused AdaGN + SiLU against the composition on the same backend (the
 * generator's forward uses the fused op, its backward recomputes the norm
 * with the composition: the two must agree bit for bit), on 2 threads and
 * on 1, at shapes on both sides of the threading threshold, with a partial
 * block (hw 300), one element per channel, and a constant group (zero
 * variance, every normalised value 0 with the sign of x - mean). */
static void test_adagn_fused_bits(void **state)
{
    (void)state;
    REQUIRE_CPU();
    ddgan_context_t one = make_ctx("cpu", 1, NULL, NULL);
    assert_non_null(one);
    static const int shapes[][4] = {/* n, c, hw, groups */
                                    {1, 32, 1024, 8}, {2, 64, 512, 16}, {1, 4, 300, 2},
                                    {3, 8, 1, 4},     {1, 256, 64, 32}, {2, 96, 256, 24}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int n = shapes[si][0], c = shapes[si][1], hw = shapes[si][2], g = shapes[si][3];
        const size_t nx = (size_t)n * c * hw, ns = (size_t)n * 2 * c;
        double *hx = rand_vals(nx, 61 + si), *hs = rand_vals(ns, 71 + si);
        for (size_t i = 0; i < nx; i++)
            hx[i] = (double)(float)(hx[i] * 4.0 + 0.25);
        for (size_t i = 0; i < ns; i++)
            hs[i] = (double)(float)(hs[i] * 2.5 + 0.5);
        const size_t cnt = (size_t)(c / g) * hw;
        for (size_t i = 0; i < cnt; i++) /* the first group of sample 0 constant */
            hx[i] = 0.75;
        double *fused = malloc(nx * sizeof *fused), *comp = malloc(nx * sizeof *comp);
        assert_true(fused && comp);
        ddgan_backend *bes[2] = {cpu_be(), one->backend};
        for (int k = 0; k < 2; k++) {
            ddgan_backend *be = bes[k];
            const ddgan_group_norm_desc d = {DDGAN_DT_F32, n, c, hw, g, 1e-6};
            void *x = upload(be, DDGAN_DT_F32, hx, nx), *st = upload(be, DDGAN_DT_F32, hs, ns),
                 *y1 = upload(be, DDGAN_DT_F32, hx, nx), *y2 = upload(be, DDGAN_DT_F32, hx, nx);
            OK(be->ops->compute->adagn_act_fwd(be, &d, x, st, DDGAN_ACT_SILU, 0.0, y1));
            OK(ddgan__adagn_act_compose(be->ops->compute, be, &d, x, st, DDGAN_ACT_SILU, 0.0, y2));
            download(be, DDGAN_DT_F32, y1, fused, nx);
            download(be, DDGAN_DT_F32, y2, comp, nx);
            print_message("    adagn silu %dx%dx%d g%d, %d thread(s): fused %s the composition\n", n,
                          c, hw, g, 2 - k,
                          memcmp(fused, comp, nx * sizeof *fused) ? "DIFFERS from" : "equals");
            assert_memory_equal(fused, comp, nx * sizeof *fused);
            void *all[] = {x, st, y1, y2};
            for (int i = 0; i < 4; i++)
                be->ops->free(be, all[i]);
        }
        free(hx), free(hs), free(fused), free(comp);
    }
    ddgan_context_destroy(one);
}

static void test_act_fir_threaded(void **state)
{
    (void)state;
    REQUIRE_CPU();
    ddgan_context_t one = make_ctx("cpu", 1, NULL, NULL);
    assert_non_null(one);
    const size_t n = 3 * 65536 + 5;
    double *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want),
           *solo = malloc(n * sizeof *solo);
    assert_true(got && want && solo);
    const char *names[] = {"silu", "lrelu", "tanh", "softplus", "sigmoid"};
    double worst_fwd = 0, worst_grad = 0;
    for (int a = DDGAN_ACT_SILU; a <= DDGAN_ACT_SIGMOID; a++) {
        for (int mode = 0; mode < 3; mode++) { /* fwd, bwd, bwd accumulate */
            const int bwd = mode > 0, acc = mode == 2;
            run_act(cpu_be(), DDGAN_DT_F32, (ddgan_act)a, bwd, acc, n, got);
            run_act(ref_be(), DDGAN_DT_F64, (ddgan_act)a, bwd, acc, n, want);
            run_act(one->backend, DDGAN_DT_F32, (ddgan_act)a, bwd, acc, n, solo);
            const double e = norm_err(got, want, n);
            print_message("    act %-8s %-8s: %.2e\n", names[a], mode == 0 ? "fwd" : acc ? "bwd acc" : "bwd",
                          e);
            assert_true(e <= (bwd ? 1e-4 : 1e-5));
            assert_memory_equal(got, solo, n * sizeof(double));
            if (bwd)
                worst_grad = fmax(worst_grad, e);
            else
                worst_fwd = fmax(worst_fwd, e);
        }
    }
    const ddgan_upfirdn_desc firs[] = {
        FIRD(8, 16, 32, 32, 1, 2, 1, 1, 8), /* down2 */
        FIRD(8, 16, 16, 16, 2, 1, 2, 1, 4), /* up2 */
        FIRD(4, 16, 33, 31, 1, 1, 2, 2, 8), /* blur */
        FIRD(3, 5, 7, 9, 2, 2, 3, 1, 8),    /* odd sizes, up and down */
    };
    const char *fir_names[] = {"down2", "up2", "blur", "up2 down2 7x9"};
    for (size_t f = 0; f < sizeof firs / sizeof firs[0]; f++) {
        for (int mode = 0; mode < 4; mode++) {
            const int bwd = mode & 1, acc = mode >> 1;
            size_t m = 0;
            run_fir(cpu_be(), DDGAN_DT_F32, &firs[f], bwd, acc, got, &m);
            run_fir(ref_be(), DDGAN_DT_F64, &firs[f], bwd, acc, want, &m);
            run_fir(one->backend, DDGAN_DT_F32, &firs[f], bwd, acc, solo, &m);
            const double e = norm_err(got, want, m);
            print_message("    upfirdn %-14s %s%s: %.2e\n", fir_names[f], bwd ? "bwd" : "fwd",
                          acc ? " acc" : "", e);
            assert_true(e <= (bwd ? 1e-4 : 1e-5));
            assert_memory_equal(got, solo, m * sizeof(double));
            if (bwd)
                worst_grad = fmax(worst_grad, e);
            else
                worst_fwd = fmax(worst_fwd, e);
        }
    }
    /* softmax forward: 768 rows of 256 (the attention's shape) */
    {
        const size_t rows = 768, cols = 256, m = rows * cols;
        double *hx = rand_vals(m, 31);
        for (size_t i = 0; i < m; i++)
            hx[i] = (double)(float)(hx[i] * 8.0);
        ddgan_backend *bes[3] = {cpu_be(), ref_be(), one->backend};
        double *outs[3] = {got, want, solo};
        for (int b = 0; b < 3; b++) {
            const ddgan_dtype dt = b == 1 ? DDGAN_DT_F64 : DDGAN_DT_F32;
            void *x = upload(bes[b], dt, hx, m), *y = upload(bes[b], dt, hx, m);
            OK(bes[b]->ops->compute->softmax_fwd(bes[b], dt, rows, cols, x, y));
            download(bes[b], dt, y, outs[b], m);
            bes[b]->ops->free(bes[b], x);
            bes[b]->ops->free(bes[b], y);
        }
        const double e = norm_err(got, want, m);
        print_message("    softmax 768x256 fwd: %.2e\n", e);
        assert_true(e <= 1e-5);
        assert_memory_equal(got, solo, m * sizeof(double));
        worst_fwd = fmax(worst_fwd, e);
        free(hx);
    }
    print_message("[ PARITY   ] cpu act + upfirdn + softmax, threaded: worst fwd %.2e, grad %.2e\n",
                  worst_fwd, worst_grad);
    free(got), free(want), free(solo);
    ddgan_context_destroy(one);
}

/* ======================================================================== */
/* The primitive cache: one creation per shape and variant                  */

typedef struct log_count {
    int created;      /* primitives created (the DEBUG line of each) */
    char impl[256];   /* the last one's line */
} log_count;

static void count_log(void *user, ddgan_log_level level, const char *msg)
{
    log_count *lc = user;
    (void)level;
    if (strstr(msg, "cpu backend: conv2d_") && strstr(msg, "scratchpad")) {
        lc->created++;
        snprintf(lc->impl, sizeof lc->impl, "%s", msg);
    }
}

/* A forward of d (bias, accumulate 0) on `be` with weights at w (device),
 * the rest from seeds; y downloaded into out. */
static void scoped_fwd(ddgan_backend *be, const ddgan_conv2d_desc *d, void *x, void *w, void *b,
                       void *y, double *out, size_t ny)
{
    OK(be->ops->compute->conv2d_fwd(be, d, x, w, b, y, 0));
    download(be, DDGAN_DT_F32, y, out, ny);
}

/* const_scope: inside it a batch-1 32x32 3x3 forward with 64 input
 * channels runs on the plug-in's Winograd (weights transformed once and
 * kept); its results stay within the parity bound, repeat bit for
 * bit within a scope and across scopes, and follow the weights when they
 * change between scopes (the kept transform is checked against them), also
 * when the weights lie outside the scope's range. */
static void test_const_scope(void **state)
{
    (void)state;
    REQUIRE_CPU();
    log_count lc = {0, ""};
    ddgan_context_t ctx = make_ctx("cpu", 2, count_log, &lc);
    assert_non_null(ctx);
    ddgan_backend *be = ctx->backend;
    const ddgan_backend_compute *c = be->ops->compute;
    assert_non_null(c->const_scope);
    ddgan_conv2d_desc d = CONVD(1, 64, 32, 32, 32, 3, 1, 1, 1, 1, 1);
    d.dtype = DDGAN_DT_F32;
    assert_int_equal(ddgan__conv2d_desc_finish(&d), 0);
    const size_t nx = 64 * 32 * 32, nw = 32 * 64 * 9, ny = 32 * 32 * 32, off = 16;
    double *hx = rand_vals(nx, 81), *hw1 = rand_vals(nw, 82), *hw2 = rand_vals(nw, 83),
           *hb = rand_vals(32, 84), *hp = rand_vals(nw + 2 * off, 85);
    /* the "parameters": one buffer with the weights at element `off` */
    void *params = upload(be, DDGAN_DT_F32, hp, nw + 2 * off);
    void *w = (float *)params + off;
    float *f1 = malloc(nw * sizeof *f1), *f2 = malloc(nw * sizeof *f2);
    double *y1 = malloc(ny * sizeof *y1), *y2 = malloc(ny * sizeof *y2), *want = malloc(ny * sizeof *want);
    assert_true(f1 && f2 && y1 && y2 && want);
    for (size_t i = 0; i < nw; i++) {
        f1[i] = (float)hw1[i];
        f2[i] = (float)hw2[i];
    }
    OK(be->ops->copy_h2d(be, w, f1, nw * sizeof *f1));
    void *x = upload(be, DDGAN_DT_F32, hx, nx), *b = upload(be, DDGAN_DT_F32, hb, 32),
         *y = upload(be, DDGAN_DT_F32, hx, ny);
    /* ref float64 with weights 1 */
    ddgan_conv2d_desc d64 = d;
    d64.dtype = DDGAN_DT_F64;
    ddgan_backend *rb = ref_be();
    void *rx = upload(rb, DDGAN_DT_F64, hx, nx), *rw = upload(rb, DDGAN_DT_F64, hw1, nw),
         *rbias = upload(rb, DDGAN_DT_F64, hb, 32), *ry = upload(rb, DDGAN_DT_F64, hx, ny);
    OK(rb->ops->compute->conv2d_fwd(rb, &d64, rx, rw, rbias, ry, 0));
    download(rb, DDGAN_DT_F64, ry, want, ny);

    const size_t pbytes = (nw + 2 * off) * sizeof(float);
    OK(c->const_scope(be, params, pbytes, 1));
    const int before = lc.created;
    scoped_fwd(be, &d, x, w, b, y, y1, ny);
    print_message("    in scope: %s\n", lc.impl);
    assert_int_equal(lc.created, before + 1);
    assert_non_null(strstr(lc.impl, "Winograd"));
    const double e1 = norm_err(y1, want, ny);
    print_message("    scoped forward vs ref f64: %.2e\n", e1);
    assert_true(e1 <= 1e-5);
    scoped_fwd(be, &d, x, w, b, y, y2, ny); /* the kept transform */
    assert_memory_equal(y1, y2, ny * sizeof *y1);
    OK(c->const_scope(be, params, pbytes, 0));
    OK(c->const_scope(be, params, pbytes, 1)); /* a later scope: checked, reused */
    scoped_fwd(be, &d, x, w, b, y, y2, ny);
    assert_memory_equal(y1, y2, ny * sizeof *y1);
    OK(c->const_scope(be, params, pbytes, 0));

    /* new weights between scopes: the transform follows them */
    OK(be->ops->copy_h2d(be, w, f2, nw * sizeof *f2));
    void *rw2 = upload(rb, DDGAN_DT_F64, hw2, nw);
    OK(rb->ops->compute->conv2d_fwd(rb, &d64, rx, rw2, rbias, ry, 0));
    download(rb, DDGAN_DT_F64, ry, want, ny);
    OK(c->const_scope(be, params, pbytes, 1));
    scoped_fwd(be, &d, x, w, b, y, y2, ny);
    OK(c->const_scope(be, params, pbytes, 0));
    const double e2 = norm_err(y2, want, ny);
    print_message("    after new weights vs ref f64: %.2e\n", e2);
    assert_true(e2 <= 1e-5);
    /* outside any scope, and with the weights outside the scope's range */
    scoped_fwd(be, &d, x, w, b, y, y1, ny);
    assert_true(norm_err(y1, want, ny) <= 1e-5);
    OK(c->const_scope(be, x, nx * sizeof(float), 1));
    scoped_fwd(be, &d, x, w, b, y, y1, ny);
    OK(c->const_scope(be, x, nx * sizeof(float), 0));
    assert_true(norm_err(y1, want, ny) <= 1e-5);
    /* degenerate hints are no-ops */
    OK(c->const_scope(be, NULL, 0, 1));
    OK(c->const_scope(be, NULL, 0, 0));

    void *dev[] = {params, x, b, y};
    for (int i = 0; i < 4; i++)
        be->ops->free(be, dev[i]);
    void *rdev[] = {rx, rw, rw2, rbias, ry};
    for (int i = 0; i < 5; i++)
        rb->ops->free(rb, rdev[i]);
    free(hx), free(hw1), free(hw2), free(hb), free(hp), free(f1), free(f2);
    free(y1), free(y2), free(want);
    ddgan_context_destroy(ctx);
}

/* The plug-in's own Winograd (cpu_winograd.c), which const_scope forwards
 * of 3x3 stride-1 padding-1 layers take at small batches: F(4x4, 3x3) on
 * planes of 1024 pixels and more, F(2x2, 3x3) from 64 (more than 64 pixels
 * in the batch: below, the small-plane kernel). Each case against
 * ref float64 (with and without bias, written and accumulated), on planes
 * whose sides are no multiple of the tile or of 16 (partial tiles, the
 * transposes' edges), batch 2; and bit-identical on 1, 2 and 3 threads. */
typedef struct wino_case {
    ddgan_conv2d_desc d;
    const char *tile; /* expected in the log line */
} wino_case;

/* One forward of d on backend be (d->dtype), on inputs drawn from `seed`
 * (x, weights, bias, the initial y for accumulate), inside a const_scope
 * over the weights when `scoped`; the result in out. */
static void conv_seeded(ddgan_backend *be, const ddgan_conv2d_desc *d, int with_bias, int accumulate,
                        uint64_t seed, int scoped, double *out)
{
    const size_t nx = (size_t)d->n * d->c_in * d->h * d->w,
                 nw = (size_t)d->c_out * d->c_in * d->kh * d->kw,
                 ny = (size_t)d->n * d->c_out * d->h_out * d->w_out,
                 es = ddgan_dtype_size(d->dtype);
    double *hx = rand_vals(nx, seed), *hw = rand_vals(nw, seed + 1), *hb = rand_vals(d->c_out, seed + 2),
           *hy = rand_vals(ny, seed + 3);
    void *x = upload(be, d->dtype, hx, nx), *w = upload(be, d->dtype, hw, nw),
         *b = upload(be, d->dtype, hb, d->c_out), *y = upload(be, d->dtype, hy, ny);
    if (scoped)
        OK(be->ops->compute->const_scope(be, w, nw * es, 1));
    OK(be->ops->compute->conv2d_fwd(be, d, x, w, with_bias ? b : NULL, y, accumulate));
    if (scoped)
        OK(be->ops->compute->const_scope(be, w, nw * es, 0));
    download(be, d->dtype, y, out, ny);
    void *dev[] = {x, w, b, y};
    for (int i = 0; i < 4; i++)
        be->ops->free(be, dev[i]);
    free(hx), free(hw), free(hb), free(hy);
}

/* conv_seeded on ref in float64 (the reference of both tests below). */
static void conv_seeded_ref64(const ddgan_conv2d_desc *d, int with_bias, int accumulate, uint64_t seed,
                              double *out)
{
    ddgan_conv2d_desc d64 = *d;
    d64.dtype = DDGAN_DT_F64;
    conv_seeded(ref_be(), &d64, with_bias, accumulate, seed, 0, out);
}

/* conv_seeded (bias, no accumulate, seed 77) on cpu contexts of 1 and 3
 * threads gives the bits of `got`, the 2-thread result. */
static void assert_thread_count_free(const ddgan_conv2d_desc *d, int scoped, const double *got,
                                     double *again)
{
    const size_t ny = (size_t)d->n * d->c_out * d->h_out * d->w_out;
    for (int t = 1; t <= 3; t += 2) {
        ddgan_context_t other = make_ctx("cpu", t, NULL, NULL);
        assert_non_null(other);
        conv_seeded(other->backend, d, 1, 0, 77, scoped, again);
        assert_memory_equal(got, again, ny * sizeof *got);
        ddgan_context_destroy(other);
    }
}

static void wino_scope_run(ddgan_context_t ctx, const ddgan_conv2d_desc *d, int with_bias,
                           int accumulate, uint64_t seed, double *out)
{
    conv_seeded(ctx->backend, d, with_bias, accumulate, seed, 1, out);
}

/* what the log line of a single 8x8 (16x16) image's entry says */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LANES_TILE (__builtin_cpu_supports("avx512f") ? "F(2x2,3x3) on vector lanes" : "F(2x2,3x3) on dnnl_sgemm")
#define LANES4_TILE (__builtin_cpu_supports("avx512f") ? "F(4x4,3x3) on vector lanes" : "F(2x2,3x3) on dnnl_sgemm")
#else
#define LANES_TILE "F(2x2,3x3) on dnnl_sgemm"
#define LANES4_TILE "F(2x2,3x3) on dnnl_sgemm"
#endif

static void test_wino_scope(void **state)
{
    (void)state;
    REQUIRE_CPU();
    const wino_case cases[] = {
        {CONVD(1, 128, 32, 32, 128, 3, 1, 1, 1, 1, 1), "F(4x4,3x3)"},
        {CONVD(1, 16, 34, 34, 32, 3, 1, 1, 1, 1, 1), "F(4x4,3x3)"},
        /* a single 16x16 image of up to 256 channels: F(4x4) in lanes */
        {CONVD(1, 64, 16, 16, 32, 3, 1, 1, 1, 1, 1), LANES4_TILE},
        {CONVD(1, 256, 16, 16, 256, 3, 1, 1, 1, 1, 1), LANES4_TILE},
        {CONVD(1, 128, 16, 16, 48, 3, 1, 1, 1, 1, 1), LANES4_TILE},
        {CONVD(1, 384, 16, 16, 32, 3, 1, 1, 1, 1, 1), "F(2x2,3x3) on dnnl_sgemm"},
        /* a single 8x8 image: the 16 tiles in vector lanes (AVX-512) */
        {CONVD(1, 256, 8, 8, 64, 3, 1, 1, 1, 1, 1), LANES_TILE},
        {CONVD(1, 512, 8, 8, 256, 3, 1, 1, 1, 1, 1), LANES_TILE},
        {CONVD(1, 32, 8, 8, 48, 3, 1, 1, 1, 1, 1), LANES_TILE},
        /* batch 2: the general F(2x2) path */
        {CONVD(2, 256, 8, 8, 64, 3, 1, 1, 1, 1, 1), "F(2x2,3x3) on dnnl_sgemm"},
        /* a batched oneDNN matmul split these sums over 3 threads */
        {CONVD(2, 512, 8, 8, 256, 3, 1, 1, 1, 1, 1), "F(2x2,3x3)"},
        {CONVD(1, 32, 17, 17, 16, 3, 1, 1, 1, 1, 1), "F(2x2,3x3)"},
        {CONVD(2, 32, 16, 24, 48, 3, 1, 1, 1, 1, 1), "F(2x2,3x3)"},
    };
    log_count lc = {0, ""};
    ddgan_context_t ctx = make_ctx("cpu", 2, count_log, &lc);
    assert_non_null(ctx);
    double worst = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        ddgan_conv2d_desc d = cases[ci].d;
        d.dtype = DDGAN_DT_F32;
        assert_int_equal(ddgan__conv2d_desc_finish(&d), 0);
        const size_t ny = (size_t)d.n * d.c_out * d.h_out * d.w_out;
        double *got = malloc(ny * sizeof *got), *want = malloc(ny * sizeof *want),
               *again = malloc(ny * sizeof *again);
        assert_true(got && want && again);
        for (int variant = 0; variant < 4; variant++) {
            const int with_bias = variant & 1, accumulate = variant >> 1;
            const uint64_t seed = 300 + 10 * ci;
            const int before = lc.created;
            wino_scope_run(ctx, &d, with_bias, accumulate, seed, got);
            if (lc.created > before) /* the line of a new entry */
                assert_non_null(strstr(lc.impl, cases[ci].tile));
            conv_seeded_ref64(&d, with_bias, accumulate, seed, want);
            const double e = norm_err(got, want, ny);
            print_message("    %dx%dx%dx%d>%d %s bias %d accumulate %d: %.2e\n", d.n, d.c_in, d.h, d.w,
                          d.c_out, cases[ci].tile, with_bias, accumulate, e);
            assert_true(e <= 1e-5);
            worst = fmax(worst, e);
        }
        /* the thread count does not change a bit */
        wino_scope_run(ctx, &d, 1, 0, 77, got);
        assert_thread_count_free(&d, 1, got, again);
        free(got), free(want), free(again);
    }
    print_message("[ PARITY   ] cpu scoped Winograd vs ref f64: worst %.2e\n", worst);
    ddgan_context_destroy(ctx);
}

/* The small-plane kernel (cpu_smallconv.c), which every float32 forward
 * with at most 64 output pixels in the batch takes where the CPU has
 * AVX-512: each case against ref float64 (bias x accumulate), bit-identical
 * on 1, 2 and 3 threads, and -- to show that the kernel ran -- not bit-equal
 * to the oneDNN path that $DDGAN_CPU_SMALL_CONV=off selects (other
 * summation order), which matches ref as well. The cases cover its unfold
 * paths (4x4 and 8-wide planes by register shifts, the input itself for
 * 1x1, the general one for batch 2, stride 2, 5x5, odd planes), 1-4
 * vectors of pixels, channel counts that are no multiple of the row
 * blocks, and sums longer than one block (512 x 9 terms). */
static void small_conv_run(ddgan_context_t ctx, const ddgan_conv2d_desc *d, int with_bias,
                           int accumulate, uint64_t seed, double *out)
{
    conv_seeded(ctx->backend, d, with_bias, accumulate, seed, 0, out);
}

static void test_small_conv(void **state)
{
    (void)state;
    REQUIRE_CPU();
    const ddgan_conv2d_desc cases[] = {
        CONVD(1, 256, 4, 4, 256, 3, 1, 1, 1, 1, 1), /* the generator's 4x4 layer */
        CONVD(1, 512, 8, 8, 256, 3, 1, 1, 1, 1, 1), /* 8x8, 4608-term sums */
        CONVD(1, 64, 8, 4, 40, 3, 1, 1, 1, 1, 1),   /* 4-wide rows, 2 vectors, 40 channels */
        CONVD(1, 48, 4, 8, 30, 3, 1, 1, 1, 1, 1),   /* 8-wide rows, 2 vectors */
        CONVD(1, 128, 17, 17, 24, 3, 2, 0, 0, 0, 0), /* the 8x8 downsampling, stride 2 */
        CONVD(2, 32, 4, 4, 16, 3, 1, 1, 1, 1, 1),   /* batch 2 */
        CONVD(1, 512, 8, 8, 256, 1, 1, 0, 0, 0, 0), /* 1x1: the input is col */
        CONVD(1, 48, 6, 6, 13, 1, 1, 0, 0, 0, 0),   /* 1x1 on 36 pixels */
        CONVD(1, 24, 3, 3, 20, 3, 1, 1, 1, 1, 1),   /* 9 pixels, 24 channels */
        CONVD(1, 16, 4, 4, 8, 5, 1, 2, 2, 2, 2),    /* 5x5 */
        CONVD(1, 3, 7, 9, 5, 3, 1, 1, 0, 1, 2),     /* uneven padding, 48 pixels */
    };
    const int avx512 =
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        __builtin_cpu_supports("avx512f");
#else
        0;
#endif
    ddgan_context_t ctx = make_ctx("cpu", 2, NULL, NULL);
    assert_non_null(ctx);
    assert_int_equal(setenv("DDGAN_CPU_SMALL_CONV", "off", 1), 0);
    ddgan_context_t onednn = make_ctx("cpu", 2, NULL, NULL);
    assert_int_equal(unsetenv("DDGAN_CPU_SMALL_CONV"), 0);
    assert_non_null(onednn);
    double worst = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        ddgan_conv2d_desc d = cases[ci];
        d.dtype = DDGAN_DT_F32;
        assert_int_equal(ddgan__conv2d_desc_finish(&d), 0);
        assert_true(d.n * d.h_out * d.w_out <= 64);
        const size_t ny = (size_t)d.n * d.c_out * d.h_out * d.w_out;
        double *got = malloc(ny * sizeof *got), *want = malloc(ny * sizeof *want),
               *again = malloc(ny * sizeof *again);
        assert_true(got && want && again);
        for (int variant = 0; variant < 4; variant++) {
            const int with_bias = variant & 1, accumulate = variant >> 1;
            const uint64_t seed = 500 + 10 * ci;
            small_conv_run(ctx, &d, with_bias, accumulate, seed, got);
            conv_seeded_ref64(&d, with_bias, accumulate, seed, want);
            const double e = norm_err(got, want, ny);
            small_conv_run(onednn, &d, with_bias, accumulate, seed, again);
            const double e_onednn = norm_err(again, want, ny);
            print_message("    %dx%dx%dx%d>%d k%d s%d bias %d accumulate %d: %.2e (oneDNN path %.2e)\n",
                          d.n, d.c_in, d.h, d.w, d.c_out, d.kh, d.stride, with_bias, accumulate, e,
                          e_onednn);
            assert_true(e <= 1e-5);
            assert_true(e_onednn <= 1e-5);
            worst = fmax(worst, e);
        }
        /* the kernel ran: other bits than oneDNN's (where it can run), for
         * sums longer than the kernel's blocks of 256 terms (shorter ones
         * may come out in the same order) over more than one tap (oneDNN
         * blocks 1x1 sums by 256 too, so those agree bit for bit) */
        small_conv_run(ctx, &d, 1, 0, 77, got);
        small_conv_run(onednn, &d, 1, 0, 77, again);
        if (avx512 && d.c_in * d.kh * d.kw > 256 && d.kh * d.kw > 1)
            assert_memory_not_equal(got, again, ny * sizeof *got);
        /* the thread count does not change a bit */
        assert_thread_count_free(&d, 0, got, again);
        free(got), free(want), free(again);
    }
    print_message("[ PARITY   ] cpu small-plane convolutions vs ref f64: worst %.2e%s\n", worst,
                  avx512 ? "" : " (no AVX-512: the oneDNN path)");
    ddgan_context_destroy(onednn);
    ddgan_context_destroy(ctx);
}

static void test_primitive_cache(void **state)
{
    (void)state;
    REQUIRE_CPU();
    log_count lc = {0, ""};
    ddgan_context_t ctx = make_ctx("cpu", 2, count_log, &lc);
    assert_non_null(ctx);
    ddgan_backend *be = ctx->backend;
    const ddgan_backend_compute *c = be->ops->compute;
    /* "auto": the plain layout for a 1x1 kernel, the blocked one for 3x3 */
    for (int ch = 8; ch <= 16; ch += 8) {
        const int base = lc.created, k = ch == 8 ? 1 : 3, p = k / 2;
        ddgan_conv2d_desc d = CONVD(2, ch, 8, 8, ch, k, 1, p, p, p, p);
        d.dtype = DDGAN_DT_F32;
        assert_int_equal(ddgan__conv2d_desc_finish(&d), 0);
        const size_t n = (size_t)2 * ch * 8 * 8, nw = (size_t)ch * ch * k * k;
        double *h = rand_vals(3 * n, 3), *hw = rand_vals(nw, 4);
        void *x = upload(be, DDGAN_DT_F32, h, n), *w = upload(be, DDGAN_DT_F32, hw, nw),
             *y = upload(be, DDGAN_DT_F32, h, n);
        for (int i = 0; i < 3; i++)
            OK(c->conv2d_fwd(be, &d, x, w, NULL, y, 0));
        assert_int_equal(lc.created, base + 1);
        print_message("    %s\n", lc.impl);
        assert_non_null(strstr(lc.impl, ch == 8 ? "plain layout" : "blocked layout"));
        OK(c->conv2d_fwd(be, &d, x, w, NULL, y, 1)); /* accumulate: another variant */
        OK(c->conv2d_fwd(be, &d, x, w, NULL, y, 1));
        assert_int_equal(lc.created, base + 2);
        OK(c->conv2d_bwd_data(be, &d, y, w, x, 0));
        OK(c->conv2d_bwd_data(be, &d, y, w, x, 1));
        OK(c->conv2d_bwd_data(be, &d, y, w, x, 1));
        assert_int_equal(lc.created, base + 4);
        OK(c->conv2d_bwd_weights(be, &d, x, y, w, NULL, 1));
        OK(c->conv2d_bwd_weights(be, &d, x, y, w, NULL, 0));
        OK(c->conv2d_bwd_weights(be, &d, x, y, w, NULL, 0));
        assert_int_equal(lc.created, base + 6);
        d.n = 3; /* another batch: another primitive */
        ddgan__conv2d_desc_finish(&d);
        void *x3 = upload(be, DDGAN_DT_F32, h, 3 * n / 2), *y3 = upload(be, DDGAN_DT_F32, h, 3 * n / 2);
        OK(c->conv2d_fwd(be, &d, x3, w, NULL, y3, 0));
        assert_int_equal(lc.created, base + 7);
        /* float64 runs ref: no primitive */
        d.dtype = DDGAN_DT_F64;
        void *x64 = upload(be, DDGAN_DT_F64, h, 3 * n / 2), *w64 = upload(be, DDGAN_DT_F64, hw, nw),
             *y64 = upload(be, DDGAN_DT_F64, h, 3 * n / 2);
        OK(c->conv2d_fwd(be, &d, x64, w64, NULL, y64, 0));
        assert_int_equal(lc.created, base + 7);
        void *bufs[] = {x, w, y, x3, y3, x64, w64, y64};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
            be->ops->free(be, bufs[i]);
        free(h), free(hw);
    }
    ddgan_context_destroy(ctx);
}

/* ======================================================================== */
/* Errors reach the caller's last error                                     */

static void test_errors(void **state)
{
    (void)state;
    REQUIRE_CPU();
    ddgan_backend *be = cpu_be();
    const ddgan_backend_compute *c = be->ops->compute;
    float buf[64] = {0};
    ddgan_conv2d_desc d = CONVD(1, 1, 4, 4, 1, 3, 3, 0, 0, 0, 0);
    d.dtype = DDGAN_DT_F32;
    ddgan_clear_last_error();
    tu_assert_status(c->conv2d_fwd(be, &d, buf, buf, NULL, buf + 32, 0), DDGAN_ERR_INVALID_ARGUMENT,
                     "stride 3");
    tu_assert_status(c->conv2d_bwd_data(be, NULL, buf, buf, buf, 0), DDGAN_ERR_INVALID_ARGUMENT,
                     "descriptor is NULL");
    d.stride = 1;
    tu_assert_status(c->conv2d_bwd_weights(be, &d, buf, buf, NULL, NULL, 0),
                     DDGAN_ERR_INVALID_ARGUMENT, "must not be NULL");
    tu_assert_status(c->conv2d_fwd(be, &d, buf, buf, NULL, buf, 2), DDGAN_ERR_INVALID_ARGUMENT,
                     "accumulate is 2");
    ddgan_matmul_desc m = {.dtype = DDGAN_DT_F32, .batch = 1, .m = 2, .n = 2, .k = 3, .lda = 2,
                           .ldb = 2, .ldc = 2, .alpha = 1.0};
    tu_assert_status(c->matmul(be, &m, buf, buf, buf + 32), DDGAN_ERR_INVALID_ARGUMENT, "lda 2 < 3");
    m.dtype = (ddgan_dtype)7;
    tu_assert_status(c->matmul(be, &m, buf, buf, buf + 32), DDGAN_ERR_INVALID_ARGUMENT, "dtype 7");
    /* a fallback op's error */
    tu_assert_status(c->softmax_fwd(be, DDGAN_DT_F32, 2, 3, NULL, buf), DDGAN_ERR_INVALID_ARGUMENT,
                     NULL);

    /* the memory limit */
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "cpu";
    cfg.num_threads = 1;
    cfg.memory_limit = 4096;
    ddgan_context_t ctx = NULL;
    OK(ddgan_context_create(&ctx, &cfg));
    ddgan_backend *lb = ctx->backend;
    void *p = NULL, *q = NULL;
    OK(lb->ops->alloc(lb, 4000, &p));
    assert_true(((uintptr_t)p & 63) == 0);
    tu_assert_status(lb->ops->alloc(lb, 200, &q), DDGAN_ERR_OUT_OF_MEMORY, "memory_limit");
    lb->ops->free(lb, p);
    OK(lb->ops->alloc(lb, 4096, &q));
    lb->ops->free(lb, q);
    ddgan_context_destroy(ctx);

    /* a bad layout policy is refused at creation, naming the variable */
    setenv("DDGAN_CPU_CONV_LAYOUT", "fast", 1);
    ctx = NULL;
    cfg.memory_limit = 0;
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_BACKEND_UNAVAILABLE,
                     "DDGAN_CPU_CONV_LAYOUT");
    unsetenv("DDGAN_CPU_CONV_LAYOUT");
    assert_null(ctx);

    /* likewise a bad Winograd policy */
    setenv("DDGAN_CPU_WINOGRAD", "always", 1);
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_BACKEND_UNAVAILABLE,
                     "DDGAN_CPU_WINOGRAD");
    unsetenv("DDGAN_CPU_WINOGRAD");
    assert_null(ctx);

    /* and a bad small-plane policy */
    setenv("DDGAN_CPU_SMALL_CONV", "on", 1);
    tu_assert_status(ddgan_context_create(&ctx, &cfg), DDGAN_ERR_BACKEND_UNAVAILABLE,
                     "DDGAN_CPU_SMALL_CONV");
    unsetenv("DDGAN_CPU_SMALL_CONV");
    assert_null(ctx);
}

/* ======================================================================== */
/* Selection                                                                */

static void test_auto_selects_cpu(void **state)
{
    (void)state;
    REQUIRE_CPU();
    ddgan_context_t ctx = make_ctx(NULL, 1, NULL, NULL);
    assert_non_null(ctx);
    assert_string_equal(ddgan_context_backend(ctx), "cpu");
    ddgan_context_destroy(ctx);
    ctx = make_ctx("auto", 1, NULL, NULL);
    assert_non_null(ctx);
    assert_string_equal(ddgan_context_backend(ctx), "cpu");
    ddgan_context_destroy(ctx);
    /* $DDGAN_BACKEND still wins */
    setenv("DDGAN_BACKEND", "ref", 1);
    ctx = make_ctx(NULL, 1, NULL, NULL);
    unsetenv("DDGAN_BACKEND");
    assert_non_null(ctx);
    assert_string_equal(ddgan_context_backend(ctx), "ref");
    ddgan_context_destroy(ctx);

    size_t n = ddgan_backend_count();
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        ddgan_backend_info info;
        OK(ddgan_backend_info_init(&info, sizeof info));
        OK(ddgan_backend_get_info(i, &info));
        if (strcmp(info.name, "cpu") != 0)
            continue;
        seen = 1;
        print_message("    cpu: available %d, score %d, %s (%s)\n", info.available, info.score,
                      info.description, info.path);
        assert_int_equal(info.available, 1);
        assert_int_equal(info.score, 10);
        assert_non_null(strstr(info.path, "libddgan-backend-cpu.so"));
    }
    assert_true(seen);
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
    REQUIRE_CPU();
    const char *path = tu_shared_path("spec/vectors/disc_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_discriminator_t d = NULL;
    ddgan_status_t st = ddgan_discriminator_load_prefixed(&d, g_cpu, path, "disc.", "config");
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
    print_message("    disc_tiny forward batch 8 on cpu: rel L2 %.2e\n", err);
    assert_true(err <= 1e-5);
    free(ref);
    ref = read_f32(f, "output.logits_b3", 3);
    OK(ddgan_discriminator_forward(d, xp, t, xt, 3, logits));
    err = rel_l2(logits, ref, 3);
    print_message("    disc_tiny forward batch 3 on cpu: rel L2 %.2e\n", err);
    assert_true(err <= 1e-5);
    free(ref);

    OK(ddgan_discriminator_zero_grad(d));
    float pen = 0;
    OK(ddgan_discriminator_r1(d, xp, t, xt, 8, 0.02f, &pen));
    ref = read_f32(f, "r1.penalty", 1);
    const double pen_err = fabs(pen - ref[0]) / fabs(ref[0]);
    print_message("    R1 penalty on cpu %.9g (reference %.9g): rel %.2e\n", (double)pen,
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
        OK(ddgan_discriminator_get_grad(d, ti.name, g, ti.numel));
        double nrm = 0;
        for (size_t k = 0; k < ti.numel; k++)
            nrm += (double)r[k] * r[k];
        if (sqrt(nrm) > 1e-3) /* tiny references are float32 noise (as test_models_api) */
            worst = fmax(worst, rel_l2(g, r, ti.numel));
        free(r);
        free(g);
    }
    print_message("    R1 parameter gradients on cpu: worst rel L2 %.2e\n", worst);
    assert_true(worst <= 1e-4);
    free(xp);
    free(xt);
    ddgan__st_close(f);
    ddgan_discriminator_destroy(d);
}

static void test_gen_golden(void **state)
{
    (void)state;
    REQUIRE_CPU();
    const char *path = tu_shared_path("spec/vectors/gen_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_generator_t g = NULL;
    ddgan_status_t st = ddgan_generator_load_prefixed(&g, g_cpu, path, "gen.", "config");
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
    print_message("    gen_tiny forward on cpu: rel L2 %.2e\n", err);
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
        cmocka_unit_test(test_table_f32_vs_ref_f64),
        cmocka_unit_test(test_table_f64_is_ref),
        cmocka_unit_test(test_conv_accumulate_shapes),
        cmocka_unit_test(test_conv_determinism),
        cmocka_unit_test(test_act_fir_threaded),
        cmocka_unit_test(test_norm_ew_threaded),
        cmocka_unit_test(test_adagn_fused_bits),
        cmocka_unit_test(test_primitive_cache),
        cmocka_unit_test(test_const_scope),
        cmocka_unit_test(test_wino_scope),
        cmocka_unit_test(test_small_conv),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_auto_selects_cpu),
        cmocka_unit_test(test_disc_golden),
        cmocka_unit_test(test_gen_golden),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
