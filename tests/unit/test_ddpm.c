/* The DDPM baseline (docs/ddpm.md): the linear schedule against the formulas
 * in long double; one step's loss and gradient against a host computation
 * from the same draws (and the documented draw layout); learning a 2-D
 * Gaussian; the respaced sampler against a host chain, its shapes, clipping
 * and chunking; save -> load -> continue equals uninterrupted; corrupt
 * checkpoints; configuration errors. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/philox.h"
#include "io/safetensors.h"
#include "train/ddpm.h"

static int sanitized(void)
{
    const char *s = getenv("DDGAN_SANITIZED");
    return s && *s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ddgan_context_t make_ctx(uint64_t seed)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.seed = seed;
    cfg.num_threads = 1;
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    return ctx;
}

static ddgan_schedule_t make_sched(ddgan_context_t ctx, int T, double bmin, double bmax)
{
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.kind = DDGAN_SCHEDULE_DDPM_LINEAR;
    sc.num_timesteps = T;
    sc.beta_min = bmin;
    sc.beta_max = bmax;
    ddgan_schedule_t s = NULL;
    ddgan_status_t st = ddgan_schedule_create(&s, ctx, &sc);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return s;
}

static ddgan_generator_t make_gen(ddgan_context_t ctx, const char *json)
{
    ddgan_generator_t g = NULL;
    ddgan_status_t st = ddgan_generator_create_json(&g, ctx, json);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return g;
}

static size_t per_example(ddgan_generator_t g)
{
    int c, h, w, nz;
    assert_int_equal(ddgan_generator_shape(g, &c, &h, &w, &nz), DDGAN_OK);
    return (size_t)c * h * w;
}

static void *xmalloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    assert_non_null(p);
    return p;
}

/* A tiny NCSN++ eps-predictor (8x8, 1 channel) for the DDPM schedule of T steps. */
static char *ncsnpp_json(int T, const char *extra)
{
    char *s = xmalloc(1024);
    snprintf(s, 1024,
             "{\"image_size\": 8, \"num_channels\": 1, \"num_channels_dae\": 8, \"ch_mult\": [1, 2], "
             "\"num_res_blocks\": 1, \"attn_resolutions\": [4], \"nz\": 4, \"z_emb_dim\": 8, \"n_mlp\": 1, "
             "\"not_use_tanh\": true, \"num_timesteps\": %d, \"beta_min\": 1e-4, \"beta_max\": 0.02%s}",
             T, extra ? extra : "");
    return s;
}

static char *toy_json(int T, double data_scale, int hidden)
{
    char *s = xmalloc(512);
    snprintf(
        s, 512,
        "{\"cls\": \"ToyMLP\", \"hidden_dim\": %d, \"nz\": 2, \"data_scale\": %g, \"num_timesteps\": %d, "
        "\"beta_min\": 1e-4, \"beta_max\": 0.02}",
        hidden, data_scale, T);
    return s;
}

typedef ddgan_status_t (*get_fn)(ddgan_generator_t g, const char *name, float *out, size_t n);

/* Every parameter (or gradient) of g, flattened in table order. */
static float *flat(ddgan_generator_t g, get_fn get, size_t *n_out)
{
    size_t total = 0, nt = ddgan_generator_num_tensors(g);
    for (size_t i = 0; i < nt; i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        assert_int_equal(ddgan_generator_tensor_info(g, i, &ti), DDGAN_OK);
        total += ti.numel;
    }
    float *p = xmalloc(total * sizeof *p);
    size_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        assert_int_equal(ddgan_generator_tensor_info(g, i, &ti), DDGAN_OK);
        assert_int_equal(get(g, ti.name, p + off, ti.numel), DDGAN_OK);
        off += ti.numel;
    }
    *n_out = total;
    return p;
}

static void copy_params(ddgan_generator_t src, ddgan_generator_t dst)
{
    for (size_t i = 0; i < ddgan_generator_num_tensors(src); i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        assert_int_equal(ddgan_generator_tensor_info(src, i, &ti), DDGAN_OK);
        float *p = xmalloc(ti.numel * sizeof *p);
        assert_int_equal(ddgan_generator_get_param(src, ti.name, p, ti.numel), DDGAN_OK);
        assert_int_equal(ddgan_generator_set_param(dst, ti.name, p, ti.numel), DDGAN_OK);
        free(p);
    }
}

static void assert_same_params(ddgan_generator_t a, ddgan_generator_t b, const char *what)
{
    size_t na, nb;
    float *x = flat(a, ddgan_generator_get_param, &na), *y = flat(b, ddgan_generator_get_param, &nb);
    assert_int_equal(na, nb);
    if (memcmp(x, y, na * sizeof *x) != 0) {
        print_error("%s: parameters differ\n", what);
        fail();
    }
    free(x);
    free(y);
}

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

static ddgan_ddpm_trainer_t make_trainer(ddgan_generator_t g, ddgan_schedule_t s,
                                         const ddgan_ddpm_trainer_config *c)
{
    ddgan_ddpm_trainer_t tr = NULL;
    ddgan_status_t st = ddgan_ddpm_trainer_create(&tr, g, s, c);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return tr;
}

/* ------------------------------------------------------------------------ */
/* The schedule */

typedef struct ddpm_ref {
    long double beta, alpha, abar, prev, var;
} ddpm_ref;

static void check_schedule(ddgan_context_t ctx, int T, double bmin, double bmax)
{
    ddgan_schedule_t s = make_sched(ctx, T, bmin, bmax);
    assert_int_equal(ddgan_schedule_num_timesteps(s), T);
    ddpm_ref *r = xmalloc((size_t)T * sizeof *r);
    long double acc = 1.0L;
    for (int k = 0; k < T; k++) {
        r[k].beta =
            T == 1 ? (long double)bmin
                   : (long double)bmin + (long double)k * ((long double)bmax - (long double)bmin) / (T - 1);
        r[k].alpha = 1.0L - r[k].beta;
        r[k].prev = acc;
        acc *= r[k].alpha;
        r[k].abar = acc;
        r[k].var = r[k].beta * (1.0L - r[k].prev) / (1.0L - r[k].abar);
    }
    static const char *const names[] = {
        "ddpm_betas",
        "ddpm_alphas",
        "ddpm_alphas_cumprod",
        "ddpm_alphas_cumprod_prev",
        "ddpm_sqrt_alphas_cumprod",
        "ddpm_sqrt_one_minus_alphas_cumprod",
        "ddpm_sqrt_recip_alphas_cumprod",
        "ddpm_sqrt_recipm1_alphas_cumprod",
        "ddpm_posterior_variance",
        "ddpm_posterior_log_variance_clipped",
        "ddpm_posterior_mean_coef1",
        "ddpm_posterior_mean_coef2",
    };
    double *want = xmalloc((size_t)T * sizeof *want), *got = xmalloc((size_t)T * sizeof *got);
    float *want32 = xmalloc((size_t)T * sizeof *want32), *got32 = xmalloc((size_t)T * sizeof *got32);
    double worst = 0.0;
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        for (int k = 0; k < T; k++) {
            const ddpm_ref *e = &r[k];
            long double v = 0;
            switch (n) {
            case 0: v = e->beta; break;
            case 1: v = e->alpha; break;
            case 2: v = e->abar; break;
            case 3: v = e->prev; break;
            case 4: v = sqrtl(e->abar); break;
            case 5: v = sqrtl(1.0L - e->abar); break;
            case 6: v = 1.0L / sqrtl(e->abar); break;
            case 7: v = sqrtl(1.0L / e->abar - 1.0L); break;
            case 8: v = e->var; break;
            case 9: {
                long double x = k == 0 && T > 1 ? r[1].var : e->var;
                v = logl(x < 1e-20L ? 1e-20L : x);
                break;
            }
            case 10: v = e->beta * sqrtl(e->prev) / (1.0L - e->abar); break;
            default: v = (1.0L - e->prev) * sqrtl(e->alpha) / (1.0L - e->abar); break;
            }
            want[k] = (double)v;
            want32[k] = (float)v;
        }
        ddgan_status_t st = ddgan_schedule_coef_f64(s, names[n], got, (size_t)T);
        if (st != DDGAN_OK)
            print_error("%s\n", ddgan_last_error());
        assert_int_equal(st, DDGAN_OK);
        assert_int_equal(ddgan_schedule_coef(s, names[n], got32, (size_t)T), DDGAN_OK);
        for (int k = 0; k < T; k++)
            if (want[k] != 0.0)
                worst = fmax(worst, fabs(got[k] - want[k]) / fabs(want[k]));
        tu_assert_allclose_f64(got, want, (size_t)T, 1e-11, 1e-300, names[n]);
        tu_assert_ulp_f32(got32, want32, (size_t)T, 1, names[n]);
    }
    /* numpy.linspace: the end points exactly */
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_betas", got, (size_t)T), DDGAN_OK);
    assert_true(got[0] == bmin);
    assert_true(got[T - 1] == (T == 1 ? bmin : bmax));
    print_message("    T = %4d, betas %g .. %g: worst relative error vs long double %.2e\n", T, bmin, bmax,
                  worst);
    free(r);
    free(want);
    free(got);
    free(want32);
    free(got32);
    ddgan_schedule_destroy(s);
}

static void test_linear_schedule(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(0);
    check_schedule(ctx, 1000, 1e-4, 0.02);
    check_schedule(ctx, 1, 1e-4, 0.02);
    check_schedule(ctx, 2, 0.1, 0.2);
    check_schedule(ctx, 7, 0.05, 0.05); /* constant betas */
    check_schedule(ctx, 50, 1e-3, 0.5);

    /* the DDGAN names are not defined for kind 1, nor the DDPM names for kind 0 */
    ddgan_schedule_t s = make_sched(ctx, 10, 1e-4, 0.02), sd = NULL;
    assert_int_equal(ddgan_schedule_create(&sd, ctx, NULL), DDGAN_OK);
    float buf[16];
    double dbuf[16];
    tu_assert_status(ddgan_schedule_coef(s, "betas", buf, 11), DDGAN_ERR_INVALID_ARGUMENT,
                     "\"betas\" is not a coefficient of a DDPM schedule");
    tu_assert_status(ddgan_schedule_coef_f64(s, "post_variance", dbuf, 10), DDGAN_ERR_INVALID_ARGUMENT,
                     "ddpm_betas");
    tu_assert_status(ddgan_schedule_coef(s, "ddpm_betas", buf, 11), DDGAN_ERR_INVALID_ARGUMENT,
                     "\"ddpm_betas\" has 10 elements for T = 10, but n = 11");
    tu_assert_status(ddgan_schedule_coef(sd, "ddpm_betas", buf, 4), DDGAN_ERR_INVALID_ARGUMENT,
                     "exists only for a DDPM schedule");
    assert_int_equal(ddgan_schedule_coef(sd, "betas", buf, 5), DDGAN_OK); /* kind 0 unchanged */

    /* host helpers: DDPM's q_sample and posterior; no DDGAN pairs */
    double abar[10], c1[10], c2[10], var[10];
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_alphas_cumprod", abar, 10), DDGAN_OK);
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_posterior_mean_coef1", c1, 10), DDGAN_OK);
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_posterior_mean_coef2", c2, 10), DDGAN_OK);
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_posterior_variance", var, 10), DDGAN_OK);
    const int64_t t[3] = {0, 4, 9};
    double x0[6] = {0.5, -0.25, 1.0, 0.0, -1.0, 0.75}, e[6] = {1.0, 2.0, -0.5, 0.3, 0.1, -1.2}, xt[6],
           post[6], want[6];
    assert_int_equal(ddgan_schedule_q_sample_f64(s, x0, t, 3, 2, e, xt), DDGAN_OK);
    for (int i = 0; i < 6; i++)
        want[i] = sqrt(abar[t[i / 2]]) * x0[i] + sqrt(1.0 - abar[t[i / 2]]) * e[i];
    tu_assert_allclose_f64(xt, want, 6, 1e-15, 1e-15, "q_sample_f64 (DDPM)");
    float x0f[6], ef[6], xtf[6], wantf[6];
    for (int i = 0; i < 6; i++) {
        x0f[i] = (float)x0[i];
        ef[i] = (float)e[i];
        wantf[i] = (float)want[i];
    }
    assert_int_equal(ddgan_schedule_q_sample(s, x0f, t, 3, 2, ef, xtf), DDGAN_OK);
    tu_assert_allclose_f32(xtf, wantf, 6, 1e-6, 1e-7, "q_sample (DDPM)");
    assert_int_equal(ddgan_schedule_sample_posterior_f64(s, x0, xt, t, 3, 2, e, post), DDGAN_OK);
    for (int i = 0; i < 6; i++) {
        const int64_t k = t[i / 2];
        want[i] = c1[k] * x0[i] + c2[k] * xt[i] + (k != 0 ? sqrt(var[k]) * e[i] : 0.0);
    }
    tu_assert_allclose_f64(post, want, 6, 1e-14, 1e-15, "sample_posterior_f64 (DDPM)");
    tu_assert_status(ddgan_schedule_q_sample_pairs(s, x0f, t, 3, 2, ef, ef, xtf, buf),
                     DDGAN_ERR_INVALID_ARGUMENT, "use ddgan_schedule_q_sample");

    /* configuration errors */
    struct {
        int kind, T;
        double bmin, bmax;
        int geo;
        const char *needle;
    } bad[] = {
        {2, 1000, 1e-4, 0.02, 0, "kind 2 must be 0"},
        {-1, 1000, 1e-4, 0.02, 0, "kind -1"},
        {1, 1000, 0.1, 20, 0, "beta_max 20 must be finite, >= beta_min 0.1 and < 1"},
        {1, 1000, 0.0, 0.02, 0, "beta_min 0 must be finite and in (0, 1)"},
        {1, 1000, 0.02, 1e-4, 0, "beta_max 0.0001"},
        {1, 1000, NAN, 0.02, 0, "beta_min nan"},
        {1, 0, 1e-4, 0.02, 0, "num_timesteps 0"},
        {1, 1000, 1e-4, 0.02, 1, "use_geometric 1 has no meaning"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ddgan_schedule_config sc;
        ddgan_schedule_config_init(&sc, sizeof sc);
        assert_int_equal(sc.kind, DDGAN_SCHEDULE_DDGAN);
        sc.kind = bad[i].kind;
        sc.num_timesteps = bad[i].T;
        sc.beta_min = bad[i].bmin;
        sc.beta_max = bad[i].bmax;
        sc.use_geometric = bad[i].geo;
        ddgan_schedule_t x = NULL;
        tu_assert_status(ddgan_schedule_create(&x, ctx, &sc), DDGAN_ERR_INVALID_ARGUMENT, bad[i].needle);
        assert_null(x);
    }
    ddgan_schedule_destroy(s);
    ddgan_schedule_destroy(sd);
    ddgan_context_destroy(ctx);
}

/* ------------------------------------------------------------------------ */
/* One step against a host computation */

static void check_step(const char *json, int T, double data_scale, const char *what)
{
    ddgan_context_t ctx = make_ctx(11);
    ddgan_schedule_t s = make_sched(ctx, T, 1e-4, 0.02);
    ddgan_generator_t g = make_gen(ctx, json), ref = make_gen(ctx, json), twin = make_gen(ctx, json);
    copy_params(g, ref);
    copy_params(g, twin);
    enum { B = 5 };
    const size_t per = per_example(g), N = B * per;
    ddgan_ddpm_trainer_config c;
    ddgan_ddpm_trainer_config_init(&c, sizeof c);
    c.batch_size = 8;
    c.lr = 1e-3f;
    c.grad_clip = 0.0f;
    c.use_ema = 0;
    c.seed = 77;
    ddgan_ddpm_trainer_t tr = make_trainer(g, s, &c), trt = make_trainer(twin, s, &c);

    float *x0 = xmalloc(N * sizeof *x0), *eps = xmalloc(N * sizeof *eps);
    for (size_t i = 0; i < N; i++)
        x0[i] = (float)(0.8 * sin(0.37 * (double)i + 0.2));
    ddgan__philox_normal(5, 6, 0, eps, N);
    const int64_t t[B] = {0, T - 1, T / 2, 1, T / 3};
    size_t np;
    float *before = flat(g, ddgan_generator_get_param, &np);
    double loss = 0, gnorm = 0;
    ddgan_status_t st = ddgan__ddpm_step(tr, x0, B, t, eps, &loss, &gnorm);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    assert_int_equal(ddgan_ddpm_trainer_global_step(tr), 1);

    /* host: x_t from the same draws, eps_hat = G(x_t, t, 0) through the public API */
    double abar[4096];
    assert_true(T <= 4096);
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_alphas_cumprod", abar, (size_t)T), DDGAN_OK);
    float *xt = xmalloc(N * sizeof *xt), *eh = xmalloc(N * sizeof *eh), *dx = xmalloc(N * sizeof *dx);
    float z[B * 4] = {0};
    const float inv = (float)(1.0 / data_scale);
    for (int b = 0; b < B; b++) {
        const float a = (float)sqrt(abar[t[b]]), sg = (float)sqrt(1.0 - abar[t[b]]);
        for (size_t i = b * per; i < (b + 1) * per; i++) {
            const float xd = data_scale == 1.0 ? x0[i] : inv * x0[i];
            const float p = a * xd, q = sg * eps[i];
            xt[i] = p + q;
        }
    }
    assert_int_equal(ddgan_generator_forward(ref, xt, t, z, B, eh), DDGAN_OK);
    double ss = 0;
    for (size_t i = 0; i < N; i++) {
        const double d = (double)eh[i] - (double)eps[i];
        ss += d * d;
        dx[i] = (float)(2.0 / (double)N) * (eh[i] - eps[i]);
    }
    const double host_loss = ss / (double)N;
    assert_int_equal(ddgan_generator_zero_grad(ref), DDGAN_OK);
    assert_int_equal(ddgan_generator_backward(ref, xt, t, z, B, dx), DDGAN_OK);
    size_t ng;
    float *gg = flat(g, ddgan_generator_get_grad, &ng), *gr = flat(ref, ddgan_generator_get_grad, &ng);
    double gsq = 0;
    for (size_t i = 0; i < ng; i++)
        gsq += (double)gr[i] * (double)gr[i];
    const double eg = rel_l2(gg, gr, ng);
    print_message("    %s: loss %.9g (host %.9g), gradient rel L2 %.2e, |grad| %.6g (host %.6g)\n", what,
                  loss, host_loss, eg, gnorm, sqrt(gsq));
    assert_true(fabs(loss - host_loss) <= 2e-6 * host_loss);
    assert_true(eg <= 1e-5);
    assert_true(fabs(gnorm - sqrt(gsq)) <= 1e-5 * sqrt(gsq));

    /* the first Adam step moves every parameter by about lr * sign(grad) */
    float *after = flat(g, ddgan_generator_get_param, &np);
    size_t checked = 0;
    for (size_t i = 0; i < np; i++) {
        if (fabsf(gr[i]) < 1e-3f)
            continue;
        const double want = -1e-3 * (double)gg[i] / (fabs((double)gg[i]) + 1e-8);
        const double got = (double)after[i] - (double)before[i];
        if (fabs(got - want) > 1e-6 + 1e-6 * fabs((double)before[i])) {
            print_error("param %zu: update %g, expected %g\n", i, got, want);
            fail();
        }
        checked++;
    }
    assert_true(checked > 10);

    /* the documented draws (stream 3 * 2^40 + step of the seed: t from block 0, then eps) */
    int64_t tdraw[B];
    float u[8];
    const uint64_t stream = DDGAN_DDPM_STREAM_TRAIN_BASE + 0;
    ddgan__philox_uniform(77, stream, 0, u, 8);
    for (int b = 0; b < B; b++) {
        int v = (int)((double)u[b] * T);
        tdraw[b] = v < T ? v : T - 1;
    }
    ddgan__philox_normal(77, stream, ddgan__philox_blocks(B), eps, N);
    double l1 = 0, l2 = 0;
    assert_int_equal(ddgan__ddpm_step(trt, x0, B, NULL, NULL, &l1, NULL), DDGAN_OK);
    ddgan_ddpm_trainer_destroy(trt);
    ddgan_generator_t twin2 = make_gen(ctx, json);
    copy_params(ref, twin2); /* ref still holds the initial parameters */
    trt = make_trainer(twin2, s, &c);
    assert_int_equal(ddgan__ddpm_step(trt, x0, B, tdraw, eps, &l2, NULL), DDGAN_OK);
    assert_true(l1 == l2);
    assert_same_params(twin, twin2, "drawn vs documented draws");

    free(before);
    free(after);
    free(gg);
    free(gr);
    free(x0);
    free(eps);
    free(xt);
    free(eh);
    free(dx);
    ddgan_ddpm_trainer_destroy(tr);
    ddgan_ddpm_trainer_destroy(trt);
    ddgan_generator_destroy(g);
    ddgan_generator_destroy(ref);
    ddgan_generator_destroy(twin);
    ddgan_generator_destroy(twin2);
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(ctx);
}

static void test_step_matches_host(void **state)
{
    (void)state;
    char *toy = toy_json(100, 2.0, 32);
    check_step(toy, 100, 2.0, "ToyMLP");
    free(toy);
    char *img = ncsnpp_json(1000, NULL);
    check_step(img, 1000, 1.0, "NCSNpp");
    free(img);
}

/* ------------------------------------------------------------------------ */
/* Learning: a single Gaussian at (1, -1) with sigma 0.1 */

static void gaussian_batch(int step, int B, float *x)
{
    ddgan__philox_normal(2024, (uint64_t)step, 0, x, (size_t)2 * B);
    for (int b = 0; b < B; b++) {
        x[2 * b] = 1.0f + 0.1f * x[2 * b];
        x[2 * b + 1] = -1.0f + 0.1f * x[2 * b + 1];
    }
}

static void moments(const float *x, size_t n, double mean[2], double sd[2])
{
    for (int k = 0; k < 2; k++) {
        double s = 0, q = 0;
        for (size_t i = 0; i < n; i++)
            s += x[2 * i + k];
        mean[k] = s / (double)n;
        for (size_t i = 0; i < n; i++)
            q += (x[2 * i + k] - mean[k]) * (x[2 * i + k] - mean[k]);
        sd[k] = sqrt(q / (double)(n - 1));
    }
}

static void test_learns_a_gaussian(void **state)
{
    (void)state;
    if (sanitized()) {
        print_message("[  SKIP    ] learning run skipped under sanitizers\n");
        skip();
    }
    const double t0 = now_s();
    ddgan_context_t ctx = make_ctx(3);
    const int T = 1000;
    ddgan_schedule_t s = make_sched(ctx, T, 1e-4, 0.02);
    char *json = toy_json(T, 1.0, 64);
    ddgan_generator_t g = make_gen(ctx, json);
    free(json);
    enum { B = 128, STEPS = 1500, W = 50 };
    ddgan_ddpm_trainer_config c;
    ddgan_ddpm_trainer_config_init(&c, sizeof c);
    c.batch_size = B;
    c.lr = 2e-3f;
    c.ema_decay = 0.99f;
    ddgan_ddpm_trainer_t tr = make_trainer(g, s, &c);
    float x[2 * B];
    double first = 0, last = 0;
    for (int k = 0; k < STEPS; k++) {
        gaussian_batch(k, B, x);
        float loss = 0;
        ddgan_status_t st = ddgan_ddpm_trainer_step(tr, x, B, &loss);
        if (st != DDGAN_OK)
            print_error("%s\n", ddgan_last_error());
        assert_int_equal(st, DDGAN_OK);
        assert_true(isfinite(loss));
        if (k < W)
            first += loss / W;
        if (k >= STEPS - W)
            last += loss / W;
    }
    const double t_train = now_s() - t0;
    print_message("    %d steps of batch %d: mean loss %.4f (first %d steps) -> %.4f (last %d), %.2f s\n",
                  STEPS, B, first, W, last, W, t_train);
    assert_true(last < 0.5 * first);

    ddgan_generator_t ema = NULL;
    assert_int_equal(ddgan_ddpm_trainer_ema_generator(&ema, tr), DDGAN_OK);
    enum { N = 512 };
    float *out = xmalloc(sizeof(float) * 2 * N);
    const int steps[3] = {T, 100, 20};
    for (int i = 0; i < 3; i++) {
        const double ts = now_s();
        assert_int_equal(ddgan_ddpm_sample(ema, s, N, steps[i], 9, out), DDGAN_OK);
        double m[2], sd[2];
        moments(out, N, m, sd);
        print_message("    %4d sampling steps: mean (%.3f, %.3f), std (%.3f, %.3f) [data: (1, -1), 0.1]; "
                      "%.2f s\n",
                      steps[i], m[0], m[1], sd[0], sd[1], now_s() - ts);
        for (int k = 0; k < 2; k++) {
            assert_true(fabs(m[k] - (k == 0 ? 1.0 : -1.0)) < 0.1);
            assert_true(sd[k] > 0.03 && sd[k] < 0.3);
        }
    }
    free(out);
    ddgan_generator_destroy(ema);
    ddgan_ddpm_trainer_destroy(tr);
    ddgan_generator_destroy(g);
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(ctx);
}

/* ------------------------------------------------------------------------ */
/* Sampling */

static int64_t round_half_even(int64_t num, int64_t den)
{
    int64_t q = num / den, r = num % den;
    if (2 * r > den || (2 * r == den && (q & 1)))
        q++;
    return q;
}

static void test_respacing(void **state)
{
    (void)state;
    int tau[1000];
    ddgan__ddpm_respace(1000, 1000, tau);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tau[i], i);
    ddgan__ddpm_respace(1000, 200, tau);
    assert_int_equal(tau[0], 0);
    assert_int_equal(tau[199], 999);
    for (int i = 1; i < 200; i++) {
        assert_true(tau[i] > tau[i - 1]);
        assert_int_equal(tau[i], (int)round_half_even((int64_t)i * 999, 199));
    }
    ddgan__ddpm_respace(1000, 1, tau);
    assert_int_equal(tau[0], 999);
    ddgan__ddpm_respace(5, 3, tau);
    assert_int_equal(tau[0], 0);
    assert_int_equal(tau[1], 2);
    assert_int_equal(tau[2], 4);
    ddgan__ddpm_respace(4, 3, tau); /* 0, 1.5 -> 2 (half to even), 3 */
    assert_int_equal(tau[1], 2);

    /* K = T: the recomputed betas are the schedule's */
    ddgan_context_t ctx = make_ctx(0);
    ddgan_schedule_t s = make_sched(ctx, 1000, 1e-4, 0.02);
    double abar[1000], betas[1000], var[1000];
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_alphas_cumprod", abar, 1000), DDGAN_OK);
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_betas", betas, 1000), DDGAN_OK);
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_posterior_variance", var, 1000), DDGAN_OK);
    ddgan__ddpm_respace(1000, 1000, tau);
    double worst = 0;
    for (int i = 0; i < 1000; i++) {
        ddgan_ddpm_coef k;
        ddgan__ddpm_step_coef(abar, tau, i, &k);
        worst = fmax(worst, fabs(k.beta - betas[i]) / betas[i]);
        if (i > 0)
            assert_true(fabs(k.sigma * k.sigma - var[i]) <= 1e-9 * var[i]);
        else
            assert_true(k.sigma == 0.0 && k.c1 == 1.0 && k.c2 == 0.0);
    }
    print_message("    K = T: recomputed betas within %.1e of the schedule's\n", worst);
    assert_true(worst < 1e-9);
    /* K = 200: abar at the kept steps, betas from their ratios */
    ddgan__ddpm_respace(1000, 200, tau);
    for (int i = 0; i < 200; i++) {
        ddgan_ddpm_coef k;
        ddgan__ddpm_step_coef(abar, tau, i, &k);
        const double prev = i ? abar[tau[i - 1]] : 1.0;
        assert_true(k.abar == abar[tau[i]]);
        assert_true(fabs(k.beta - (1.0 - abar[tau[i]] / prev)) <= 1e-15);
        assert_true(k.beta > 0.0 && k.beta < 1.0);
    }
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(ctx);
}

/* The documented chain in float64 on the host, G through the public API. */
static void host_chain(ddgan_generator_t g, ddgan_schedule_t s, size_t n, int K, uint64_t seed,
                       double data_scale, float *out)
{
    const int T = ddgan_schedule_num_timesteps(s);
    const size_t per = per_example(g);
    double *abar = xmalloc((size_t)T * sizeof *abar), *x = xmalloc(n * per * sizeof *x);
    assert_int_equal(ddgan_schedule_coef_f64(s, "ddpm_alphas_cumprod", abar, (size_t)T), DDGAN_OK);
    int *tau = xmalloc((size_t)K * sizeof *tau);
    for (int i = 0; i < K; i++)
        tau[i] = K == 1 ? T - 1 : (int)round_half_even((int64_t)i * (T - 1), K - 1);
    float *xf = xmalloc(n * per * sizeof *xf), *eh = xmalloc(n * per * sizeof *eh),
          *nz = xmalloc(n * per * sizeof *nz), *z = xmalloc(n * 8 * sizeof *z);
    int64_t *t = xmalloc(n * sizeof *t);
    const uint64_t xb = (per + 3) / 4;
    for (size_t k = 0; k < n; k++) {
        ddgan__philox_normal(seed, ((uint64_t)3 << 32) + k, 0, xf + k * per, per);
        for (size_t i = 0; i < per; i++)
            x[k * per + i] = xf[k * per + i];
    }
    for (int j = 0; j < K; j++) {
        const int i = K - 1 - j;
        const double a = abar[tau[i]], ap = i ? abar[tau[i - 1]] : 1.0, beta = 1.0 - a / ap;
        for (size_t k = 0; k < n; k++)
            t[k] = tau[i];
        for (size_t q = 0; q < n * per; q++)
            xf[q] = (float)x[q];
        assert_int_equal(ddgan_generator_forward(g, xf, t, z, n, eh), DDGAN_OK);
        if (i > 0)
            for (size_t k = 0; k < n; k++)
                ddgan__philox_normal(seed, ((uint64_t)3 << 32) + k, xb * (uint64_t)(1 + j), nz + k * per,
                                     per);
        for (size_t q = 0; q < n * per; q++) {
            const double x0 = x[q] / sqrt(a) - sqrt(1.0 / a - 1.0) * eh[q];
            const double mean =
                beta * sqrt(ap) / (1.0 - a) * x0 + (1.0 - ap) * sqrt(1.0 - beta) / (1.0 - a) * x[q];
            x[q] = i > 0 ? mean + sqrt(beta * (1.0 - ap) / (1.0 - a)) * nz[q] : mean;
        }
    }
    for (size_t q = 0; q < n * per; q++)
        out[q] = (float)(x[q] * data_scale);
    free(abar);
    free(x);
    free(tau);
    free(xf);
    free(eh);
    free(nz);
    free(z);
    free(t);
}

static void test_sampling(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(21);
    /* ToyMLP (no clipping) against the host chain */
    ddgan_schedule_t s20 = make_sched(ctx, 20, 1e-3, 0.2);
    char *json = toy_json(20, 2.5, 32);
    ddgan_generator_t toy = make_gen(ctx, json);
    free(json);
    enum { N = 5 };
    float got[2 * N], want[2 * N];
    const int Ks[4] = {20, 7, 2, 1};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ddgan_ddpm_sample(toy, s20, N, Ks[i], 1234, got), DDGAN_OK);
        host_chain(toy, s20, N, Ks[i], 1234, 2.5, want);
        const double e = rel_l2(got, want, 2 * N);
        print_message("    ToyMLP, T = 20, %2d steps: rel L2 vs host chain %.2e\n", Ks[i], e);
        assert_true(e <= 1e-5);
    }
    /* per-sample draws: independent of the chunking, seeds differ */
    enum { BIG = 70 };
    float *big = xmalloc(sizeof(float) * 2 * BIG), small[6], other[6];
    assert_int_equal(ddgan_ddpm_sample(toy, s20, BIG, 7, 99, big), DDGAN_OK);
    assert_int_equal(ddgan_ddpm_sample(toy, s20, 3, 7, 99, small), DDGAN_OK);
    assert_memory_equal(big, small, sizeof small);
    assert_int_equal(ddgan_ddpm_sample(toy, s20, 3, 7, 100, other), DDGAN_OK);
    assert_true(memcmp(small, other, sizeof small) != 0);
    free(big);

    /* NCSN++: finite, the right shape (nothing written past it), x0 clipped to [-1, 1] */
    const int T = sanitized() ? 30 : 200;
    ddgan_schedule_t s = make_sched(ctx, T, 1e-4, 0.02);
    json = ncsnpp_json(T, NULL);
    ddgan_generator_t g = make_gen(ctx, json);
    free(json);
    enum { NI = 3, P = 64, GUARD = 16 };
    float buf[NI * P + GUARD];
    const int iK[3] = {T, 10, 1};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < NI * P + GUARD; k++)
            buf[k] = 12345.0f;
        const double ts = now_s();
        ddgan_status_t st = ddgan_ddpm_sample(g, s, NI, iK[i], 5, buf);
        if (st != DDGAN_OK)
            print_error("%s\n", ddgan_last_error());
        assert_int_equal(st, DDGAN_OK);
        double sum = 0;
        for (int k = 0; k < NI * P; k++) {
            assert_true(isfinite(buf[k]) && buf[k] >= -1.0f && buf[k] <= 1.0f);
            sum += fabs(buf[k]);
        }
        for (int k = NI * P; k < NI * P + GUARD; k++)
            assert_true(buf[k] == 12345.0f);
        print_message("    NCSNpp 8x8, T = %d, %3d steps: finite, in [-1, 1], mean |x| %.3f, %.2f s\n", T,
                      iK[i], sum / (NI * P), now_s() - ts);
    }
    ddgan_generator_destroy(g);
    ddgan_generator_destroy(toy);
    ddgan_schedule_destroy(s);
    ddgan_schedule_destroy(s20);
    ddgan_context_destroy(ctx);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints */

typedef struct rig {
    ddgan_context_t ctx;
    ddgan_schedule_t s;
    ddgan_generator_t g;
    ddgan_ddpm_trainer_t tr;
} rig;

static void rig_make(rig *r, uint64_t init_seed, double beta_max, const char *extra)
{
    memset(r, 0, sizeof *r);
    r->ctx = make_ctx(init_seed);
    r->s = make_sched(r->ctx, 1000, 1e-4, beta_max);
    char *json = ncsnpp_json(1000, extra);
    r->g = make_gen(r->ctx, json);
    free(json);
    ddgan_ddpm_trainer_config c;
    ddgan_ddpm_trainer_config_init(&c, sizeof c);
    c.batch_size = 4;
    c.lr = 1e-3f;
    c.warmup = 3;
    c.grad_clip = 0.5f;
    c.ema_decay = 0.9f;
    c.seed = 31;
    r->tr = make_trainer(r->g, r->s, &c);
}

static void rig_free(rig *r)
{
    ddgan_ddpm_trainer_destroy(r->tr);
    ddgan_generator_destroy(r->g);
    ddgan_schedule_destroy(r->s);
    ddgan_context_destroy(r->ctx);
}

static void run_steps(rig *r, int from, int to)
{
    float x[4 * 64];
    for (int k = from; k < to; k++) {
        for (int i = 0; i < 4 * 64; i++)
            x[i] = (float)sin(0.37 * i + 1.3 * k) * 0.9f;
        float loss = 0;
        ddgan_status_t st = ddgan_ddpm_trainer_step(r->tr, x, 4, &loss);
        if (st != DDGAN_OK)
            print_error("%s\n", ddgan_last_error());
        assert_int_equal(st, DDGAN_OK);
        assert_true(isfinite(loss) && loss > 0);
    }
}

static void test_resume_is_bit_identical(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char ck[4096];
    snprintf(ck, sizeof ck, "%s/ddpm.safetensors", dir);
    rig a, b, c;
    rig_make(&a, 7, 0.02, NULL);
    run_steps(&a, 0, 6);
    rig_make(&b, 7, 0.02, NULL);
    run_steps(&b, 0, 3);
    assert_int_equal(ddgan_ddpm_trainer_save(b.tr, ck), DDGAN_OK);
    rig_make(&c, 99, 0.02, NULL); /* other initial weights */
    assert_int_equal(ddgan_ddpm_trainer_load(c.tr, ck), DDGAN_OK);
    assert_int_equal(ddgan_ddpm_trainer_global_step(c.tr), 3);
    run_steps(&c, 3, 6);
    assert_same_params(a.g, c.g, "resumed G");
    ddgan_generator_t ea = NULL, ec = NULL, ge = NULL;
    assert_int_equal(ddgan_ddpm_trainer_ema_generator(&ea, a.tr), DDGAN_OK);
    assert_int_equal(ddgan_ddpm_trainer_ema_generator(&ec, c.tr), DDGAN_OK);
    assert_same_params(ea, ec, "resumed EMA");
    /* the checkpoint is a generator file too (G_ema.), and its metadata says what it is */
    assert_int_equal(ddgan_ddpm_trainer_save(c.tr, ck), DDGAN_OK);
    assert_int_equal(ddgan_generator_load_prefixed(&ge, c.ctx, ck, "G_ema.", "config"), DDGAN_OK);
    assert_same_params(ec, ge, "G_ema. of the checkpoint");
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, ck), DDGAN_OK);
    assert_string_equal(ddgan__st_metadata_get(f, "format"), "ddgan-ddpm-checkpoint/1");
    assert_non_null(strstr(ddgan__st_metadata_get(f, "schedule"), "\"ddpm_linear\""));
    assert_non_null(strstr(ddgan__st_metadata_get(f, "trainer_config"), "\"seed\":\"31\""));
    assert_non_null(ddgan__st_find(f, "opt.G.exp_avg_sq"));
    ddgan__st_close(f);
    float x[2 * 64];
    assert_int_equal(ddgan_ddpm_sample(ge, c.s, 2, 4, 1, x), DDGAN_OK);
    for (int i = 0; i < 2 * 64; i++)
        assert_true(isfinite(x[i]));
    ddgan_generator_destroy(ea);
    ddgan_generator_destroy(ec);
    ddgan_generator_destroy(ge);
    rig_free(&a);
    rig_free(&b);
    rig_free(&c);
    tu_rmdir_recursive(dir);
    free(dir);
}

static void test_bad_checkpoints_leave_trainer_untouched(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char ck[4096], bad[4096], other[4096];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    snprintf(other, sizeof other, "%s/other.safetensors", dir);
    rig a, b, ref;
    rig_make(&a, 1, 0.02, NULL);
    run_steps(&a, 0, 2);
    assert_int_equal(ddgan_ddpm_trainer_save(a.tr, ck), DDGAN_OK);
    rig_make(&b, 2, 0.02, NULL);
    run_steps(&b, 0, 1);
    rig_make(&ref, 2, 0.02, NULL);
    run_steps(&ref, 0, 1);
    size_t len = 0;
    unsigned char *bytes = tu_read_file(ck, &len);
    assert_non_null(bytes);
    int cuts = 0;
    for (size_t cut = 0; cut < len; cut += len / 23 + 1, cuts++) {
        assert_int_equal(tu_write_file(bad, bytes, cut), 0);
        tu_assert_status(ddgan_ddpm_trainer_load(b.tr, bad), DDGAN_ERR_FORMAT, "bad.safetensors");
    }
    /* one flipped byte in the header */
    bytes[10] = (unsigned char)'#';
    assert_int_equal(tu_write_file(bad, bytes, len), 0);
    tu_assert_status(ddgan_ddpm_trainer_load(b.tr, bad), DDGAN_ERR_FORMAT, NULL);
    tu_assert_status(ddgan_ddpm_trainer_load(b.tr, "/nonexistent/ck.safetensors"), DDGAN_ERR_IO, NULL);
    tu_assert_status(ddgan_ddpm_trainer_load(b.tr, NULL), DDGAN_ERR_INVALID_ARGUMENT, "path is NULL");
    /* checkpoints of another generator config or another schedule */
    rig o;
    rig_make(&o, 1, 0.02, ", \"skip_rescale\": false");
    assert_int_equal(ddgan_ddpm_trainer_save(o.tr, other), DDGAN_OK);
    tu_assert_status(ddgan_ddpm_trainer_load(b.tr, other), DDGAN_ERR_INVALID_ARGUMENT,
                     "another generator config");
    rig_free(&o);
    rig_make(&o, 1, 0.03, NULL);
    assert_int_equal(ddgan_ddpm_trainer_save(o.tr, other), DDGAN_OK);
    tu_assert_status(ddgan_ddpm_trainer_load(b.tr, other), DDGAN_ERR_INVALID_ARGUMENT, "another schedule");
    rig_free(&o);
    /* a plain generator file is not a checkpoint */
    assert_int_equal(ddgan_generator_save(a.g, other), DDGAN_OK);
    tu_assert_status(ddgan_ddpm_trainer_load(b.tr, other), DDGAN_ERR_FORMAT, "not a DDPM trainer checkpoint");
    /* a DDGAN trainer checkpoint is another format; another DDPM version a version mismatch */
    const char *formats[2] = {"ddgan-checkpoint/1", "ddgan-ddpm-checkpoint/2"};
    const ddgan_status_t want[2] = {DDGAN_ERR_FORMAT, DDGAN_ERR_VERSION_MISMATCH};
    for (int i = 0; i < 2; i++) {
        ddgan_st_writer *w = NULL;
        const int64_t one[1] = {1};
        const float v = 0.0f;
        assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
        assert_int_equal(ddgan__st_writer_add(w, "x", DDGAN_ST_F32, one, 1, &v), DDGAN_OK);
        assert_int_equal(ddgan__st_writer_add_metadata(w, "format", formats[i]), DDGAN_OK);
        assert_int_equal(ddgan__st_writer_write(w, other), DDGAN_OK);
        ddgan__st_writer_destroy(w);
        tu_assert_status(ddgan_ddpm_trainer_load(b.tr, other), want[i], formats[i]);
    }
    print_message("    %d truncations, a corrupt header, a missing file, other configs: all refused\n", cuts);
    assert_int_equal(ddgan_ddpm_trainer_global_step(b.tr), 1);
    assert_same_params(b.g, ref.g, "after failed loads");
    run_steps(&b, 1, 3);
    run_steps(&ref, 1, 3);
    assert_same_params(b.g, ref.g, "continued after failed loads");
    free(bytes);
    rig_free(&a);
    rig_free(&b);
    rig_free(&ref);
    tu_rmdir_recursive(dir);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* Errors, numerical safety, allocation */

static void test_config_errors(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(4), ctx2 = make_ctx(4);
    ddgan_ddpm_trainer_config c;
    assert_int_equal(ddgan_ddpm_trainer_config_init(&c, sizeof c), DDGAN_OK);
    assert_int_equal(c.batch_size, 128);
    assert_true(c.lr == 2e-4f && c.beta1 == 0.9f && c.beta2 == 0.999f && c.adam_eps == 1e-8f);
    assert_true(c.grad_clip == 1.0f && c.use_ema == 1 && c.ema_decay == 0.9999f && c.warmup == 0);
    assert_int_equal(c.seed, 1024);
    c.batch_size = 4;

    ddgan_schedule_t s = make_sched(ctx, 1000, 1e-4, 0.02), s4 = NULL,
                     s_other = make_sched(ctx2, 1000, 1e-4, 0.02);
    assert_int_equal(ddgan_schedule_create(&s4, ctx, NULL), DDGAN_OK); /* DDGAN, T = 4 */
    char *js = ncsnpp_json(1000, NULL);
    ddgan_generator_t g = make_gen(ctx, js);
    free(js);
    ddgan_generator_t tanh_g =
        make_gen(ctx, "{\"image_size\": 8, \"num_channels\": 1, \"num_channels_dae\": 8, "
                      "\"ch_mult\": [1, 2], \"num_res_blocks\": 1, \"attn_resolutions\": [], "
                      "\"nz\": 4, \"z_emb_dim\": 8, \"n_mlp\": 1, \"num_timesteps\": 1000}");
    js = ncsnpp_json(1000, ", \"embedding_type\": \"fourier\"");
    ddgan_generator_t fourier = make_gen(ctx, js);
    free(js);
    js = ncsnpp_json(4, NULL);
    ddgan_generator_t g4 = make_gen(ctx, js);
    free(js);
    ddgan_ddpm_trainer_t tr = NULL;
    tu_assert_status(ddgan_ddpm_trainer_create(NULL, g, s, &c), DDGAN_ERR_INVALID_ARGUMENT, "out is NULL");
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, NULL, s, &c), DDGAN_ERR_INVALID_ARGUMENT,
                     "generator is NULL");
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, g, NULL, &c), DDGAN_ERR_INVALID_ARGUMENT,
                     "schedule is NULL");
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, tanh_g, s, &c), DDGAN_ERR_INVALID_ARGUMENT,
                     "not_use_tanh");
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, fourier, s, &c), DDGAN_ERR_INVALID_ARGUMENT, "fourier");
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, g4, s, &c), DDGAN_ERR_INVALID_ARGUMENT,
                     "the schedule has 1000 steps but the generator was configured for num_timesteps 4");
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, g4, s4, &c), DDGAN_ERR_INVALID_ARGUMENT,
                     "DDGAN_SCHEDULE_DDPM_LINEAR");
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, g, s_other, &c), DDGAN_ERR_INVALID_ARGUMENT,
                     "one context");
    assert_null(tr);
    struct {
        int field;
        const char *needle;
    } bad[] = {{0, "batch_size 0"},    {1, "lr 0"},       {2, "beta1 1"},
               {3, "beta2 -0.5"},      {4, "adam_eps 0"}, {5, "warmup -1"},
               {6, "grad_clip -1"},    {7, "use_ema 2"},  {8, "ema_decay 2"},
               {9, "skip_nonfinite 3"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ddgan_ddpm_trainer_config b = c;
        switch (bad[i].field) {
        case 0: b.batch_size = 0; break;
        case 1: b.lr = 0.0f; break;
        case 2: b.beta1 = 1.0f; break;
        case 3: b.beta2 = -0.5f; break;
        case 4: b.adam_eps = 0.0f; break;
        case 5: b.warmup = -1; break;
        case 6: b.grad_clip = -1.0f; break;
        case 7: b.use_ema = 2; break;
        case 8: b.ema_decay = 2.0f; break;
        default: b.skip_nonfinite = 3; break;
        }
        tu_assert_status(ddgan_ddpm_trainer_create(&tr, g, s, &b), DDGAN_ERR_INVALID_ARGUMENT, bad[i].needle);
        assert_null(tr);
    }
    struct {
        ddgan_ddpm_trainer_config c;
        int future;
    } big;
    ddgan_ddpm_trainer_config_init(&big.c, sizeof big);
    big.c.batch_size = 4;
    big.future = 1;
    tu_assert_status(ddgan_ddpm_trainer_create(&tr, g, s, &big.c), DDGAN_ERR_VERSION_MISMATCH, "non-zero");

    /* sampling */
    float out[64];
    tu_assert_status(ddgan_ddpm_sample(g, s, 1, 0, 0, out), DDGAN_ERR_INVALID_ARGUMENT,
                     "num_steps 0 not in [1, 1000]");
    tu_assert_status(ddgan_ddpm_sample(g, s, 1, 1001, 0, out), DDGAN_ERR_INVALID_ARGUMENT, "num_steps 1001");
    tu_assert_status(ddgan_ddpm_sample(g, s, 0, 10, 0, out), DDGAN_ERR_INVALID_ARGUMENT, "n = 0");
    tu_assert_status(ddgan_ddpm_sample(g, s, 1, 10, 0, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out is NULL");
    tu_assert_status(ddgan_ddpm_sample(tanh_g, s, 1, 10, 0, out), DDGAN_ERR_INVALID_ARGUMENT, "not_use_tanh");
    tu_assert_status(ddgan_ddpm_sample(g4, s4, 1, 4, 0, out), DDGAN_ERR_INVALID_ARGUMENT,
                     "ddgan_ddpm_sample: the schedule is kind 0");

    /* a working trainer: step errors, EMA off, non-finite data */
    c.use_ema = 0;
    tr = make_trainer(g, s, &c);
    float x[4 * 64] = {0};
    tu_assert_status(ddgan_ddpm_trainer_step(tr, x, 5, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "batch 5 not in [1, 4]");
    tu_assert_status(ddgan_ddpm_trainer_step(tr, x, 0, NULL), DDGAN_ERR_INVALID_ARGUMENT, "batch 0");
    tu_assert_status(ddgan_ddpm_trainer_step(tr, NULL, 4, NULL), DDGAN_ERR_INVALID_ARGUMENT, "x0 is NULL");
    tu_assert_status(ddgan_ddpm_trainer_step(NULL, x, 4, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "trainer is NULL");
    ddgan_generator_t e = NULL;
    tu_assert_status(ddgan_ddpm_trainer_ema_generator(&e, tr), DDGAN_ERR_UNSUPPORTED, "use_ema = 0");
    assert_int_equal(ddgan_ddpm_trainer_global_step(NULL), -1);
    size_t np;
    float *p0 = flat(g, ddgan_generator_get_param, &np);
    x[7] = NAN;
    tu_assert_status(ddgan_ddpm_trainer_step(tr, x, 4, NULL), DDGAN_ERR_NUMERICAL, "non-finite");
    assert_int_equal(ddgan_ddpm_trainer_global_step(tr), 0);
    float *p1 = flat(g, ddgan_generator_get_param, &np);
    assert_memory_equal(p0, p1, np * sizeof *p0);
    free(p1);
    ddgan_ddpm_trainer_destroy(tr);
    c.skip_nonfinite = 1;
    tr = make_trainer(g, s, &c);
    assert_int_equal(ddgan_ddpm_trainer_step(tr, x, 4, NULL), DDGAN_OK);
    assert_int_equal(ddgan_ddpm_trainer_skipped_steps(tr), 1);
    assert_int_equal(ddgan_ddpm_trainer_global_step(tr), 0);
    p1 = flat(g, ddgan_generator_get_param, &np);
    assert_memory_equal(p0, p1, np * sizeof *p0);
    free(p0);
    free(p1);
    ddgan_ddpm_trainer_destroy(tr);
    ddgan_ddpm_trainer_destroy(NULL);

    ddgan_generator_destroy(g);
    ddgan_generator_destroy(tanh_g);
    ddgan_generator_destroy(fourier);
    ddgan_generator_destroy(g4);
    ddgan_schedule_destroy(s);
    ddgan_schedule_destroy(s4);
    ddgan_schedule_destroy(s_other);
    ddgan_context_destroy(ctx);
    ddgan_context_destroy(ctx2);
}

static size_t g_allocs;
static void *count_malloc(void *user, size_t n)
{
    (void)user;
    g_allocs++;
    return malloc(n);
}
static void count_free(void *user, void *p)
{
    (void)user;
    free(p);
}

/* A step allocates nothing on the host: its memory was planned at creation. */
static void test_step_allocates_nothing(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(8);
    ddgan_schedule_t s = make_sched(ctx, 100, 1e-4, 0.02);
    char *json = toy_json(100, 4.0, 16);
    ddgan_generator_t g = make_gen(ctx, json);
    free(json);
    ddgan_ddpm_trainer_config c;
    ddgan_ddpm_trainer_config_init(&c, sizeof c);
    c.batch_size = 16;
    ddgan_ddpm_trainer_t tr = make_trainer(g, s, &c);
    float x[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)i / 8.0f - 2.0f;
    assert_int_equal(ddgan_ddpm_trainer_step(tr, x, 16, NULL), DDGAN_OK);
    ddgan_alloc_hooks h = {count_malloc, count_free, NULL};
    ddgan__alloc_set_hooks(&h);
    g_allocs = 0;
    for (int k = 0; k < 3; k++)
        assert_int_equal(ddgan_ddpm_trainer_step(tr, x, (size_t)(16 - k), NULL), DDGAN_OK);
    ddgan__alloc_set_hooks(NULL);
    assert_int_equal(g_allocs, 0);
    ddgan_ddpm_trainer_destroy(tr);
    ddgan_generator_destroy(g);
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_schedule),
        cmocka_unit_test(test_step_matches_host),
        cmocka_unit_test(test_respacing),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_learns_a_gaussian),
        cmocka_unit_test(test_resume_is_bit_identical),
        cmocka_unit_test(test_bad_checkpoints_leave_trainer_untouched),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_step_allocates_nothing),
    };
    return cmocka_run_group_tests_name("ddpm", tests, NULL, NULL);
}
