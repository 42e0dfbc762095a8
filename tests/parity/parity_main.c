/* parity_main: the backend-parity table (tests/common/op_table.c) as a plain
 * program, without CMocka, for machines that have a GPU but not the test
 * dependencies (scripts/gpu-check.sh). It runs every case on a backend in
 * float32 (and float64) against "ref" in float64 and checks the Philox draws
 * against the host generator, printing one summary line per check.
 *
 *   parity_main [--backend NAME] [--fast] [--filter TEXT] [--verbose] [--no-f64]
 *               [--vectors DIR]
 *
 * The golden generator / discriminator vectors (gen_tiny, disc_tiny: forward,
 * R1 penalty and R1 parameter gradients, thresholds of test_ops_cpu.c) are
 * checked too when DIR (default: shared/spec/vectors beside the checkout)
 * holds them; otherwise that check is reported as skipped.
 *
 * --fast sets DDGAN_CUDA_FAST=1 before the backend is created and judges
 * with the fast-mode tolerance (docs/backend-cuda.md). Exit status: 0 all
 * passed, 1 some check failed, 2 the backend is unavailable or set-up failed.
 * Plug-ins are taken from the build tree unless DDGAN_BACKEND_PATH is set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "core/context.h"
#include "core/philox.h"
#include "io/safetensors.h"
#include "op_table.h"

/* Tolerances (normalised error, op_table.h): exact float32 as the CMocka
 * tests; float64 on a device differs from ref only by summation order and
 * libm ulps; TF32 keeps 10 mantissa bits (relative rounding 2^-11 per input). */
#define RTOL_F32_FWD 1e-5
#define RTOL_F32_GRAD 1e-4
#define RTOL_F64 1e-12
#define RTOL_FAST 5e-3

static ddgan_context_t make_ctx(const char *backend)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = backend;
    cfg.num_threads = 0;
    ddgan_context_t ctx = NULL;
    if (ddgan_context_create(&ctx, &cfg) != DDGAN_OK)
        return NULL;
    return ctx;
}

static void report(const char *what, int failed, const op_table_report *r)
{
    printf("%-34s %s  %3d cases, %d failed, %d skipped; worst fwd %.2e (%s), grad %.2e (%s)\n", what,
           failed == 0 ? "PASS" : "FAIL", r->run, failed < 0 ? -1 : failed, r->skipped, r->worst_fwd,
           r->worst_fwd_case ? r->worst_fwd_case : "-", r->worst_grad,
           r->worst_grad_case ? r->worst_grad_case : "-");
}

/* Philox draws: uniforms must be bit-identical, normals within 4 float ulps
 * (docs/rng.md); returns the number of failures. */
static int check_rand(ddgan_backend *be)
{
    const size_t n = ((size_t)1 << 22) + 3;
    const uint64_t seed = 0x5eedULL, stream = ((uint64_t)1 << 32) + 11, first = 77;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    void *dev = NULL;
    if (!want || !got || be->ops->alloc(be, n * sizeof(float), &dev) != DDGAN_OK) {
        fprintf(stderr, "parity_main: allocation failed: %s\n", ddgan_last_error());
        free(want);
        free(got);
        return 1;
    }
    int fails = 0;
    ddgan__philox_uniform(seed, stream, first, want, n);
    if (be->ops->compute->rand_uniform(be, DDGAN_DT_F32, n, seed, stream, first, dev) != DDGAN_OK ||
        be->ops->copy_d2h(be, got, dev, n * sizeof(float)) != DDGAN_OK) {
        fprintf(stderr, "parity_main: rand_uniform: %s\n", ddgan_last_error());
        fails++;
    } else {
        const int same = memcmp(got, want, n * sizeof(float)) == 0;
        printf("%-34s %s  %zu uniforms %s\n", "philox uniform f32", same ? "PASS" : "FAIL", n,
               same ? "bit-identical" : "DIFFER");
        fails += !same;
    }
    ddgan__philox_normal(seed, stream, first, want, n);
    if (be->ops->compute->rand_normal(be, DDGAN_DT_F32, n, seed, stream, first, dev) != DDGAN_OK ||
        be->ops->copy_d2h(be, got, dev, n * sizeof(float)) != DDGAN_OK) {
        fprintf(stderr, "parity_main: rand_normal: %s\n", ddgan_last_error());
        fails++;
    } else {
        size_t differ = 0, bad = 0;
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            if (got[i] == want[i])
                continue;
            differ++;
            const double ulp = fabs((double)got[i] - want[i]) /
                               (double)(nextafterf(fabsf(want[i]), INFINITY) - fabsf(want[i]));
            worst = fmax(worst, ulp);
            if (!(ulp <= 4.0 || fabs((double)got[i] - want[i]) <= 1e-6))
                bad++;
        }
        printf("%-34s %s  %zu normals, %zu not bit-identical (worst %.1f ulp)\n", "philox normal f32",
               bad == 0 ? "PASS" : "FAIL", n, differ, worst);
        fails += bad != 0;
    }
    be->ops->free(be, dev);
    free(want);
    free(got);
    return fails;
}

/* ---- golden vectors through the public API ------------------------------ */

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

static float *read_f32(ddgan_st_file *f, const char *name, size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (p && ddgan__st_read_f32(f, name, p, n) != DDGAN_OK) {
        fprintf(stderr, "parity_main: %s: %s\n", name, ddgan_last_error());
        free(p);
        return NULL;
    }
    return p;
}

/* Returns the number of failures; 0 also when the files are absent (skipped). */
static int check_golden(ddgan_context_t ctx, const char *dir)
{
    char gpath[1024], dpath[1024];
    snprintf(gpath, sizeof gpath, "%s/gen_tiny.safetensors", dir);
    snprintf(dpath, sizeof dpath, "%s/disc_tiny.safetensors", dir);
    struct stat sb;
    if (stat(gpath, &sb) != 0 || stat(dpath, &sb) != 0) {
        printf("%-34s SKIP  no vectors in %s\n", "golden vectors", dir);
        return 0;
    }
    int fails = 0;
    /* generator forward, batch 3 */
    ddgan_generator_t g = NULL;
    ddgan_st_file *f = NULL;
    enum { B = 3, P = 256 };
    int64_t t[8];
    float out[B * P];
    if (ddgan_generator_load_prefixed(&g, ctx, gpath, "gen.", "config") != DDGAN_OK ||
        ddgan__st_open(&f, gpath) != DDGAN_OK || ddgan__st_read_i64(f, "input.t", t, B) != DDGAN_OK) {
        printf("%-34s FAIL  %s\n", "golden gen_tiny forward", ddgan_last_error());
        fails++;
    } else {
        float *x = read_f32(f, "input.x", B * P), *z = read_f32(f, "input.z", B * 8),
              *want = read_f32(f, "output", B * P);
        if (!x || !z || !want || ddgan_generator_forward(g, x, t, z, B, out) != DDGAN_OK) {
            printf("%-34s FAIL  %s\n", "golden gen_tiny forward", ddgan_last_error());
            fails++;
        } else {
            const double e = rel_l2(out, want, B * P);
            printf("%-34s %s  rel L2 %.2e (bound 1e-5)\n", "golden gen_tiny forward",
                   e <= 1e-5 ? "PASS" : "FAIL", e);
            fails += !(e <= 1e-5);
        }
        free(x);
        free(z);
        free(want);
    }
    ddgan__st_close(f);
    f = NULL;
    ddgan_generator_destroy(g);

    /* discriminator forward (batch 8), R1 penalty and its parameter gradients */
    ddgan_discriminator_t d = NULL;
    if (ddgan_discriminator_load_prefixed(&d, ctx, dpath, "disc.", "config") != DDGAN_OK ||
        ddgan__st_open(&f, dpath) != DDGAN_OK || ddgan__st_read_i64(f, "input.t", t, 8) != DDGAN_OK) {
        printf("%-34s FAIL  %s\n", "golden disc_tiny", ddgan_last_error());
        ddgan__st_close(f);
        ddgan_discriminator_destroy(d);
        return fails + 1;
    }
    float *xp = read_f32(f, "input.x_prev", 8 * 256), *xt = read_f32(f, "input.x_t", 8 * 256);
    float *want = read_f32(f, "output.logits", 8), *pen_want = read_f32(f, "r1.penalty", 1);
    float logits[8], pen = 0;
    if (!xp || !xt || !want || !pen_want ||
        ddgan_discriminator_forward(d, xp, t, xt, 8, logits) != DDGAN_OK ||
        ddgan_discriminator_zero_grad(d) != DDGAN_OK ||
        ddgan_discriminator_r1(d, xp, t, xt, 8, 0.02f, &pen) != DDGAN_OK) {
        printf("%-34s FAIL  %s\n", "golden disc_tiny", ddgan_last_error());
        fails++;
    } else {
        const double e = rel_l2(logits, want, 8);
        const double pe = fabs((double)pen - pen_want[0]) / fabs((double)pen_want[0]);
        double worst = 0;
        const size_t nt = ddgan_discriminator_num_tensors(d);
        for (size_t i = 0; i < nt; i++) {
            ddgan_tensor_info ti;
            ddgan_tensor_info_init(&ti, sizeof ti);
            char name[160];
            if (ddgan_discriminator_tensor_info(d, i, &ti) != DDGAN_OK)
                continue;
            snprintf(name, sizeof name, "r1grad.%s", ti.name);
            float *r = read_f32(f, name, ti.numel), *gr = malloc(sizeof(float) * ti.numel);
            if (r && gr && ddgan_discriminator_get_grad(d, ti.name, gr, ti.numel) == DDGAN_OK) {
                double nrm = 0;
                for (size_t k = 0; k < ti.numel; k++)
                    nrm += (double)r[k] * r[k];
                if (sqrt(nrm) > 1e-3) /* tiny references are float32 noise (as test_ops_cpu) */
                    worst = fmax(worst, rel_l2(gr, r, ti.numel));
            } else {
                worst = INFINITY;
            }
            free(r);
            free(gr);
        }
        printf("%-34s %s  rel L2 %.2e (bound 1e-5)\n", "golden disc_tiny forward",
               e <= 1e-5 ? "PASS" : "FAIL", e);
        printf("%-34s %s  rel %.2e (bound 1e-5)\n", "golden R1 penalty", pe <= 1e-5 ? "PASS" : "FAIL",
               pe);
        printf("%-34s %s  worst rel L2 %.2e (bound 1e-4)\n", "golden R1 parameter gradients",
               worst <= 1e-4 ? "PASS" : "FAIL", worst);
        fails += !(e <= 1e-5) + !(pe <= 1e-5) + !(worst <= 1e-4);
    }
    free(xp);
    free(xt);
    free(want);
    free(pen_want);
    ddgan__st_close(f);
    ddgan_discriminator_destroy(d);
    return fails;
}

int main(int argc, char **argv)
{
    const char *backend = "cuda";
    op_table_opts opts = {0};
    int fast = 0, f64 = 1;
    const char *vectors = DDGAN_SHARED_DIR "/spec/vectors";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            backend = argv[++i];
        } else if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
            opts.filter = argv[++i];
        } else if (!strcmp(argv[i], "--fast")) {
            fast = 1;
        } else if (!strcmp(argv[i], "--verbose")) {
            opts.verbose = 1;
        } else if (!strcmp(argv[i], "--no-f64")) {
            f64 = 0;
        } else if (!strcmp(argv[i], "--vectors") && i + 1 < argc) {
            vectors = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [--backend NAME] [--fast] [--filter TEXT] [--verbose] [--no-f64] "
                    "[--vectors DIR]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!getenv("DDGAN_BACKEND_PATH"))
        setenv("DDGAN_BACKEND_PATH", DDGAN_BUILD_PLUGIN_DIR, 1);
    unsetenv("DDGAN_BACKEND");
    if (fast)
        setenv("DDGAN_CUDA_FAST", "1", 1);
    ddgan_context_t ref = make_ctx("ref");
    if (!ref) {
        fprintf(stderr, "parity_main: cannot create the ref context: %s\n", ddgan_last_error());
        return 2;
    }
    ddgan_context_t ctx = make_ctx(backend);
    if (!ctx) {
        fprintf(stderr, "parity_main: backend %s unavailable: %s\n", backend, ddgan_last_error());
        ddgan_context_destroy(ref);
        return 2;
    }
    printf("parity of backend %s%s against ref float64 (%zu cases)\n", backend,
           fast ? " (fast mode)" : "", op_table_count);
    int failures = 0;
    op_table_report r;
    const double rf = fast ? RTOL_FAST : RTOL_F32_FWD, rg = fast ? RTOL_FAST : RTOL_F32_GRAD;
    int failed = op_table_run(ctx->backend, DDGAN_DT_F32, ref->backend, rf, rg, &opts, &r);
    char what[64];
    snprintf(what, sizeof what, "op table f32 (rtol %.0e/%.0e)", rf, rg);
    report(what, failed, &r);
    failures += failed != 0;
    if (f64) {
        failed = op_table_run(ctx->backend, DDGAN_DT_F64, ref->backend, RTOL_F64, RTOL_F64, &opts, &r);
        report("op table f64 (rtol 1e-12)", failed, &r);
        failures += failed != 0;
    }
    failures += check_rand(ctx->backend);
    if (!opts.filter)
        failures += check_golden(ctx, vectors);
    printf("parity %s: %s\n", backend, failures ? "FAILED" : "passed");
    ddgan_context_destroy(ctx);
    ddgan_context_destroy(ref);
    return failures ? 1 : 0;
}
