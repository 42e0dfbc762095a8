/* The diffusion schedule against the official float32 arrays and the float64
 * re-derivation in ../shared/spec/vectors/schedule_T4.safetensors, against the
 * spec formulas evaluated here in long double for other T and betas, and its
 * misuse. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

static const char *const k_forward[] = {"betas", "sigmas", "a_s", "a_s_cum", "sigmas_cum", "a_s_prev"};
static const char *const k_post[] = {
    "post_betas",          "post_alphas",       "post_alphas_cumprod",
    "post_alphas_cumprod_prev", "post_variance", "post_log_variance_clipped",
    "post_mean_coef1",     "post_mean_coef2",   "post_sqrt_alphas_cumprod",
    "post_sqrt_recip_alphas_cumprod", "post_sqrt_recipm1_alphas_cumprod"};
#define N_FORWARD (sizeof k_forward / sizeof k_forward[0])
#define N_POST (sizeof k_post / sizeof k_post[0])

typedef struct fixture {
    ddgan_context_t ctx;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || ddgan_context_create(&f->ctx, NULL) != DDGAN_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ddgan_context_destroy(f->ctx);
    free(f);
    return 0;
}

static ddgan_schedule_t make(ddgan_context_t ctx, int T, double bmin, double bmax, int geometric)
{
    ddgan_schedule_config cfg;
    ddgan_schedule_config_init(&cfg, sizeof cfg);
    cfg.num_timesteps = T;
    cfg.beta_min = bmin;
    cfg.beta_max = bmax;
    cfg.use_geometric = geometric;
    ddgan_schedule_t s = NULL;
    ddgan_status_t st = ddgan_schedule_create(&s, ctx, &cfg);
    if (st != DDGAN_OK)
        print_error("schedule_create: %s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return s;
}

static void test_defaults(void **state)
{
    (void)state;
    ddgan_schedule_config cfg;
    assert_int_equal(ddgan_schedule_config_init(&cfg, sizeof cfg), DDGAN_OK);
    assert_int_equal(cfg.struct_size, sizeof cfg);
    assert_int_equal(cfg.num_timesteps, 4);
    assert_true(cfg.beta_min == 0.1);
    assert_true(cfg.beta_max == 20.0);
    assert_int_equal(cfg.use_geometric, 0);
}

/* ------------------------------------------------------------------------ */
/* Golden vectors */

static void test_vectors_coefficients(void **state)
{
    fixture *fx = *state;
    const char *path = tu_shared_path("spec/vectors/schedule_T4.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    assert_string_equal(ddgan__st_metadata_get(f, "num_timesteps"), "4");
    ddgan_schedule_t s = make(fx->ctx, 4, 0.1, 20.0, 0);

    float got32[5], want32[5];
    double got64[5], want64[5];
    char name[128];
    for (size_t k = 0; k < N_FORWARD + N_POST; k++) {
        const char *c = k < N_FORWARD ? k_forward[k] : k_post[k - N_FORWARD];
        size_t n = k < N_FORWARD ? 5 : 4;
        assert_int_equal(ddgan__st_read_f32(f, c, want32, n), DDGAN_OK);
        assert_int_equal(ddgan_schedule_coef(s, c, got32, n), DDGAN_OK);
        /* the official float32 arrays to within 1 ulp */
        tu_assert_ulp_f32(got32, want32, n, 1, c);
        snprintf(name, sizeof name, "f64.%s", c);
        assert_int_equal(ddgan__st_read_f64(f, name, want64, n), DDGAN_OK);
        assert_int_equal(ddgan_schedule_coef_f64(s, c, got64, n), DDGAN_OK);
        tu_assert_allclose_f64(got64, want64, n, 1e-12, 1e-300, name);
    }
    /* the quirks of section 1.4, exactly */
    assert_int_equal(ddgan_schedule_coef(s, "a_s_cum", got32, 5), DDGAN_OK);
    assert_true(got32[0] == 1.0f);
    assert_int_equal(ddgan_schedule_coef(s, "sigmas_cum", got32, 5), DDGAN_OK);
    assert_true(got32[0] == 0.0f);
    assert_int_equal(ddgan_schedule_coef(s, "post_mean_coef1", got32, 4), DDGAN_OK);
    assert_true(got32[0] == 1.000000119f);
    /* the time grid (F64 in the file) */
    assert_int_equal(ddgan__st_read_f64(f, "t", want64, 5), DDGAN_OK);
    assert_int_equal(ddgan_schedule_coef_f64(s, "t", got64, 5), DDGAN_OK);
    tu_assert_allclose_f64(got64, want64, 5, 1e-15, 0, "t");
    ddgan_schedule_destroy(s);
    ddgan__st_close(f);
}

/* The worked q_sample_pairs / sample_posterior example of the vectors. */
static void test_vectors_worked_example(void **state)
{
    fixture *fx = *state;
    const char *path = tu_shared_path("spec/vectors/schedule_T4.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    ddgan_schedule_t s = make(fx->ctx, 4, 0.1, 20.0, 0);
    enum { B = 4, P = 9, N = B * P };
    int64_t t[B];
    float x0[N], eps_step[N], eps_q[N], x0_pred[N], eps_post[N];
    float want_xt[N], want_xtp1[N], want_pos[N], xt[N], xtp1[N], pos[N];
    assert_int_equal(ddgan__st_read_i64(f, "example.t", t, B), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.x0", x0, N), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.eps_step", eps_step, N), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.eps_q", eps_q, N), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.x0_pred", x0_pred, N), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.eps_post", eps_post, N), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.x_t", want_xt, N), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.x_tp1", want_xtp1, N), DDGAN_OK);
    assert_int_equal(ddgan__st_read_f32(f, "example.x_pos_sample", want_pos, N), DDGAN_OK);

    assert_int_equal(ddgan_schedule_q_sample_pairs(s, x0, t, B, P, eps_step, eps_q, xt, xtp1), DDGAN_OK);
    tu_assert_ulp_f32(xt, want_xt, N, 1, "example.x_t");
    tu_assert_ulp_f32(xtp1, want_xtp1, N, 1, "example.x_tp1");
    /* t = 0: x_t is the data itself (float32 schedule) */
    assert_memory_equal(xt, x0, P * sizeof(float));
    assert_int_equal(ddgan_schedule_q_sample(s, x0, t, B, P, eps_q, pos), DDGAN_OK);
    assert_memory_equal(pos, xt, sizeof xt);
    assert_int_equal(ddgan_schedule_sample_posterior(s, x0_pred, want_xtp1, t, B, P, eps_post, pos),
                     DDGAN_OK);
    tu_assert_ulp_f32(pos, want_pos, N, 1, "example.x_pos_sample");

    /* float64 path against the f64 references */
    double d_x0[N], d_step[N], d_q[N], d_pred[N], d_post[N], d_xt[N], d_xtp1[N], d_pos[N], w[N];
    for (int i = 0; i < N; i++) {
        d_x0[i] = x0[i];
        d_step[i] = eps_step[i];
        d_q[i] = eps_q[i];
        d_pred[i] = x0_pred[i];
        d_post[i] = eps_post[i];
    }
    assert_int_equal(ddgan_schedule_q_sample_pairs_f64(s, d_x0, t, B, P, d_step, d_q, d_xt, d_xtp1),
                     DDGAN_OK);
    assert_int_equal(ddgan__st_read_f64(f, "f64.example.x_t", w, N), DDGAN_OK);
    tu_assert_allclose_f64(d_xt, w, N, 1e-12, 1e-15, "f64.example.x_t");
    assert_int_equal(ddgan__st_read_f64(f, "f64.example.x_tp1", w, N), DDGAN_OK);
    tu_assert_allclose_f64(d_xtp1, w, N, 1e-12, 1e-15, "f64.example.x_tp1");
    assert_int_equal(ddgan_schedule_sample_posterior_f64(s, d_pred, d_xtp1, t, B, P, d_post, d_pos),
                     DDGAN_OK);
    assert_int_equal(ddgan__st_read_f64(f, "f64.example.x_pos_sample", w, N), DDGAN_OK);
    tu_assert_allclose_f64(d_pos, w, N, 1e-12, 1e-15, "f64.example.x_pos_sample");
    assert_int_equal(ddgan_schedule_q_sample_f64(s, d_x0, t, B, P, d_q, d_pos), DDGAN_OK);
    assert_memory_equal(d_pos, d_xt, sizeof d_xt);

    ddgan_schedule_destroy(s);
    ddgan__st_close(f);
}

/* ------------------------------------------------------------------------ */
/* Other T and betas: the spec formulas in long double */

typedef struct ld_schedule {
    long double betas[1025], a[1025], acum[1025], scum[1025];
    long double var[1024], lv[1024], c1[1024], c2[1024], ac[1024], acp[1024];
} ld_schedule;

static void ld_compute(ld_schedule *L, int T, long double bmin, long double bmax, int geometric)
{
    long double prev = 0;
    for (int i = 0; i <= T; i++) {
        long double t = ((long double)i / T) * (1.0L - 1e-3L) + 1e-3L;
        long double v = geometric ? bmin * powl(bmax / bmin, t)
                                  : 1.0L - expl(2.0L * (-0.25L * t * t * (bmax - bmin) - 0.5L * t * bmin));
        long double abar = 1.0L - v;
        L->betas[i] = i == 0 ? 1e-8L : 1.0L - abar / prev;
        prev = abar;
        L->a[i] = sqrtl(1.0L - L->betas[i]);
        L->acum[i] = i == 0 ? L->a[0] : L->acum[i - 1] * L->a[i];
        L->scum[i] = sqrtl(1.0L - L->acum[i] * L->acum[i]);
    }
    long double acc = 1.0L;
    for (int k = 0; k < T; k++) {
        long double b = L->betas[k + 1], alpha = 1.0L - b, p = acc;
        acc *= alpha;
        L->ac[k] = acc;
        L->acp[k] = p;
        L->var[k] = b * (1.0L - p) / (1.0L - acc);
        L->lv[k] = logl(L->var[k] < 1e-20L ? 1e-20L : L->var[k]);
        L->c1[k] = b * sqrtl(p) / (1.0L - acc);
        L->c2[k] = (1.0L - p) * sqrtl(alpha) / (1.0L - acc);
    }
}

static void check_against_ld(ddgan_schedule_t s, int T, double bmin, double bmax, int geometric)
{
    static ld_schedule L;
    ld_compute(&L, T, bmin, bmax, geometric);
    static double got[1025], want[1025];
    static float g32[1025];
    struct {
        const char *name;
        const long double *ref;
        size_t n;
    } arrays[] = {
        {"betas", L.betas, (size_t)T + 1},   {"a_s", L.a, (size_t)T + 1},
        {"a_s_cum", L.acum, (size_t)T + 1},  {"sigmas_cum", L.scum, (size_t)T + 1},
        {"post_variance", L.var, (size_t)T}, {"post_log_variance_clipped", L.lv, (size_t)T},
        {"post_mean_coef1", L.c1, (size_t)T}, {"post_mean_coef2", L.c2, (size_t)T},
        {"post_alphas_cumprod", L.ac, (size_t)T}, {"post_alphas_cumprod_prev", L.acp, (size_t)T},
    };
    char what[160];
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
        assert_int_equal(ddgan_schedule_coef_f64(s, arrays[k].name, got, arrays[k].n), DDGAN_OK);
        for (size_t i = 0; i < arrays[k].n; i++)
            want[i] = (double)arrays[k].ref[i];
        snprintf(what, sizeof what, "T=%d beta=[%g,%g]%s f64 %s", T, bmin, bmax,
                 geometric ? " geometric" : "", arrays[k].name);
        if (!strcmp(arrays[k].name, "sigmas_cum")) {
            /* sqrt(1 - a^2) cancels where a ~ 1 (index 0: a^2 = 1 - 1e-8): double
             * evaluates 1 - a^2 with an absolute error of a few 1e-16, so compare
             * the squares absolutely */
            for (size_t i = 0; i < arrays[k].n; i++) {
                got[i] *= got[i];
                want[i] *= want[i];
            }
            tu_assert_allclose_f64(got, want, arrays[k].n, 0, 1e-15, what);
            assert_int_equal(ddgan_schedule_coef_f64(s, arrays[k].name, got, arrays[k].n), DDGAN_OK);
            for (size_t i = 0; i < arrays[k].n; i++)
                want[i] = (double)arrays[k].ref[i];
        } else {
            /* the official expressions form abar = 1 - var with var = 1 - exp(..):
             * for abar(1) ~ 4e-5 that costs ~5 digits in double, so 1e-10, not 1e-15 */
            tu_assert_allclose_f64(got, want, arrays[k].n, 1e-10, 1e-15, what);
        }
        /* the float32 arrays follow the float64 ones except at index 0 of the
         * forward chain, where float32 rounds 1 - 1e-8 to 1 (section 1.4) */
        assert_int_equal(ddgan_schedule_coef(s, arrays[k].name, g32, arrays[k].n), DDGAN_OK);
        size_t skip0 = strcmp(arrays[k].name, "a_s_cum") == 0 || strcmp(arrays[k].name, "sigmas_cum") == 0;
        for (size_t i = skip0; i < arrays[k].n; i++) {
            /* float32 cancellation in 1 - abar_prev grows with T (the vectors pin
             * the exact float32 values; this only guards against gross errors) */
            double r = T <= 8 && bmin >= 0.1 ? 2e-5 : 1e-3;
            double tol = r * fabs(want[i]) + r / 10;
            if (fabs((double)g32[i] - want[i]) > tol) {
                print_error("%s float32[%zu] = %.9g, long double %.12g\n", what, i, (double)g32[i], want[i]);
                fail();
            }
        }
    }
}

static void test_other_schedules_long_double(void **state)
{
    fixture *fx = *state;
    const int Ts[] = {1, 2, 3, 4, 8, 100};
    const double betas[][2] = {{0.1, 20.0}, {0.5, 10.0}, {1e-3, 1.0}};
    for (size_t a = 0; a < sizeof Ts / sizeof Ts[0]; a++)
        for (size_t b = 0; b < sizeof betas / sizeof betas[0]; b++) {
            ddgan_schedule_t s = make(fx->ctx, Ts[a], betas[b][0], betas[b][1], 0);
            assert_int_equal(ddgan_schedule_num_timesteps(s), Ts[a]);
            check_against_ld(s, Ts[a], betas[b][0], betas[b][1], 0);
            ddgan_schedule_destroy(s);
        }
    /* the geometric variance, where it is meaningful (var < 1 on the grid) */
    ddgan_schedule_t s = make(fx->ctx, 4, 1e-4, 0.5, 1);
    check_against_ld(s, 4, 1e-4, 0.5, 1);
    ddgan_schedule_destroy(s);
}

/* Spot values of the tables in ddgan-reference.md section 1.9 (T = 2). */
static void test_reference_tables(void **state)
{
    fixture *fx = *state;
    ddgan_schedule_t s = make(fx->ctx, 2, 0.1, 20.0, 0);
    double v[3];
    assert_int_equal(ddgan_schedule_coef_f64(s, "betas", v, 3), DDGAN_OK);
    assert_true(fabs(v[1] - 0.9213240324) < 1e-10 && fabs(v[2] - 0.9994510332) < 1e-10);
    assert_int_equal(ddgan_schedule_coef_f64(s, "sigmas_cum", v, 3), DDGAN_OK);
    assert_true(fabs(v[0] - 0.0001000000008) < 1e-13 && fabs(v[2] - 0.9999784045) < 1e-10);
    assert_int_equal(ddgan_schedule_coef_f64(s, "post_variance", v, 2), DDGAN_OK);
    assert_true(v[0] == 0.0 && fabs(v[1] - 0.9208580284) < 1e-10);
    assert_int_equal(ddgan_schedule_coef_f64(s, "post_mean_coef1", v, 2), DDGAN_OK);
    assert_true(fabs(v[1] - 0.2803504938) < 1e-10);
    assert_int_equal(ddgan_schedule_coef_f64(s, "post_mean_coef2", v, 2), DDGAN_OK);
    assert_true(v[0] == 0.0 && fabs(v[1] - 0.02158759267) < 1e-11);
    assert_int_equal(ddgan_schedule_coef_f64(s, "post_log_variance_clipped", v, 2), DDGAN_OK);
    assert_true(fabs(v[0] - -46.05170186) < 1e-8 && fabs(v[1] - -0.08244940404) < 1e-10);
    ddgan_schedule_destroy(s);
}

/* ------------------------------------------------------------------------ */
/* Draws from the context */

static void test_drawn_noise_matches_explicit(void **state)
{
    (void)state;
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.seed = 99;
    ddgan_context_t a = NULL, b = NULL;
    assert_int_equal(ddgan_context_create(&a, &cc), DDGAN_OK);
    assert_int_equal(ddgan_context_create(&b, &cc), DDGAN_OK);
    ddgan_schedule_t sa = make(a, 4, 0.1, 20.0, 0), sb = make(b, 4, 0.1, 20.0, 0);
    enum { B = 3, P = 5, N = B * P };
    const int64_t t[B] = {3, 0, 1};
    float x0[N], e_pair[N], e_q[N], xt1[N], xtp1_1[N], xt2[N], xtp1_2[N], o1[N], o2[N], e_post[N];
    for (int i = 0; i < N; i++)
        x0[i] = (float)(i % 7) / 3.0f - 1.0f;
    /* drawn: eps_pair first, then eps_q (official order) */
    assert_int_equal(ddgan_schedule_q_sample_pairs(sa, x0, t, B, P, NULL, NULL, xt1, xtp1_1), DDGAN_OK);
    assert_int_equal(ddgan_context_randn(b, e_pair, N), DDGAN_OK);
    assert_int_equal(ddgan_context_randn(b, e_q, N), DDGAN_OK);
    assert_int_equal(ddgan_schedule_q_sample_pairs(sb, x0, t, B, P, e_pair, e_q, xt2, xtp1_2), DDGAN_OK);
    assert_memory_equal(xt1, xt2, sizeof xt1);
    assert_memory_equal(xtp1_1, xtp1_2, sizeof xtp1_1);
    /* posterior: one draw, also for t = 0 */
    assert_int_equal(ddgan_schedule_sample_posterior(sa, x0, xtp1_1, t, B, P, NULL, o1), DDGAN_OK);
    assert_int_equal(ddgan_context_randn(b, e_post, N), DDGAN_OK);
    assert_int_equal(ddgan_schedule_sample_posterior(sb, x0, xtp1_1, t, B, P, e_post, o2), DDGAN_OK);
    assert_memory_equal(o1, o2, sizeof o1);
    /* the two contexts are still in step */
    float r1[4], r2[4];
    ddgan_context_randn(a, r1, 4);
    ddgan_context_randn(b, r2, 4);
    assert_memory_equal(r1, r2, sizeof r1);
    ddgan_schedule_destroy(sa);
    ddgan_schedule_destroy(sb);
    ddgan_context_destroy(a);
    ddgan_context_destroy(b);
}

/* ------------------------------------------------------------------------ */
/* Misuse */

static void test_bad_configs(void **state)
{
    fixture *fx = *state;
    ddgan_schedule_config cfg;
    ddgan_schedule_t s = NULL;
    tu_assert_status(ddgan_schedule_create(NULL, fx->ctx, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out is NULL");
    tu_assert_status(ddgan_schedule_create(&s, NULL, NULL), DDGAN_ERR_INVALID_ARGUMENT, "context is NULL");
    assert_null(s);
    struct {
        int T;
        double bmin, bmax;
        int geo;
        const char *needle;
    } bad[] = {
        {0, 0.1, 20, 0, "num_timesteps 0"},
        {-3, 0.1, 20, 0, "num_timesteps -3"},
        {100001, 0.1, 20, 0, "num_timesteps 100001"},
        {4, 20, 20, 0, "beta_max 20 must be finite and > beta_min 20"},
        {4, 20, 0.1, 0, "beta_max 0.1"},
        {4, 0, 20, 0, "beta_min 0"},
        {4, -1, 20, 0, "beta_min -1"},
        {4, NAN, 20, 0, "beta_min nan"},
        {4, 0.1, INFINITY, 0, "beta_max inf"},
        {4, 0.1, 20, 2, "use_geometric 2"},
        {4, 0.1, 20, 1, "geometric variance"}, /* var > 1 on the grid: refused, not NaN */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ddgan_schedule_config_init(&cfg, sizeof cfg);
        cfg.num_timesteps = bad[i].T;
        cfg.beta_min = bad[i].bmin;
        cfg.beta_max = bad[i].bmax;
        cfg.use_geometric = bad[i].geo;
        s = NULL;
        tu_assert_status(ddgan_schedule_create(&s, fx->ctx, &cfg), DDGAN_ERR_INVALID_ARGUMENT, bad[i].needle);
        assert_null(s);
    }
    /* struct_size: smaller (older caller: use_geometric defaults), larger with a non-zero tail */
    ddgan_schedule_config_init(&cfg, sizeof cfg);
    cfg.num_timesteps = 2;
    cfg.use_geometric = 1; /* beyond the smaller size: ignored */
    cfg.struct_size = (uint32_t)offsetof(ddgan_schedule_config, use_geometric);
    assert_int_equal(ddgan_schedule_create(&s, fx->ctx, &cfg), DDGAN_OK);
    assert_int_equal(ddgan_schedule_num_timesteps(s), 2);
    ddgan_schedule_destroy(s);
    struct {
        ddgan_schedule_config c;
        double future;
    } big;
    ddgan_schedule_config_init(&big.c, sizeof big);
    big.future = 1.0;
    s = NULL;
    tu_assert_status(ddgan_schedule_create(&s, fx->ctx, &big.c), DDGAN_ERR_VERSION_MISMATCH, "non-zero");
    assert_null(s);
    big.future = 0.0;
    assert_int_equal(ddgan_schedule_create(&s, fx->ctx, &big.c), DDGAN_OK);
    ddgan_schedule_destroy(s);
}

static void test_bad_calls(void **state)
{
    fixture *fx = *state;
    ddgan_schedule_t s = make(fx->ctx, 4, 0.1, 20.0, 0);
    float buf[16];
    double dbuf[16];
    tu_assert_status(ddgan_schedule_coef(s, "bogus", buf, 5), DDGAN_ERR_INVALID_ARGUMENT,
                     "unknown coefficient \"bogus\"");
    tu_assert_status(ddgan_schedule_coef(s, "betas", buf, 4), DDGAN_ERR_INVALID_ARGUMENT,
                     "\"betas\" has 5 elements for T = 4, but n = 4");
    tu_assert_status(ddgan_schedule_coef(s, "post_variance", buf, 5), DDGAN_ERR_INVALID_ARGUMENT, "n = 5");
    tu_assert_status(ddgan_schedule_coef_f64(s, "betas", dbuf, 6), DDGAN_ERR_INVALID_ARGUMENT, "n = 6");
    tu_assert_status(ddgan_schedule_coef(s, NULL, buf, 5), DDGAN_ERR_INVALID_ARGUMENT, "name is NULL");
    tu_assert_status(ddgan_schedule_coef(s, "betas", NULL, 5), DDGAN_ERR_INVALID_ARGUMENT, "out is NULL");
    tu_assert_status(ddgan_schedule_coef(NULL, "betas", buf, 5), DDGAN_ERR_INVALID_ARGUMENT,
                     "schedule is NULL");
    assert_int_equal(ddgan_schedule_num_timesteps(NULL), 0);

    const int64_t t_ok[2] = {0, 3}, t_bad[2] = {0, 4}, t_neg[2] = {-1, 0};
    float x[8] = {0}, y[8], z[8];
    tu_assert_status(ddgan_schedule_q_sample(s, x, t_bad, 2, 4, x, y), DDGAN_ERR_INVALID_ARGUMENT,
                     "t[1] = 4 not in [0, 3]");
    tu_assert_status(ddgan_schedule_q_sample(s, x, t_neg, 2, 4, x, y), DDGAN_ERR_INVALID_ARGUMENT, "t[0] = -1");
    tu_assert_status(ddgan_schedule_q_sample(s, NULL, t_ok, 2, 4, x, y), DDGAN_ERR_INVALID_ARGUMENT, "x0 is NULL");
    tu_assert_status(ddgan_schedule_q_sample(s, x, NULL, 2, 4, x, y), DDGAN_ERR_INVALID_ARGUMENT, "t is NULL");
    tu_assert_status(ddgan_schedule_q_sample(s, x, t_ok, 2, 0, x, y), DDGAN_ERR_INVALID_ARGUMENT,
                     "per_example is 0");
    tu_assert_status(ddgan_schedule_q_sample(s, x, t_ok, SIZE_MAX / 2, 4, x, y), DDGAN_ERR_INVALID_ARGUMENT,
                     "too large");
    tu_assert_status(ddgan_schedule_q_sample_pairs(s, x, t_ok, 2, 4, NULL, NULL, y, y),
                     DDGAN_ERR_INVALID_ARGUMENT, "same array");
    tu_assert_status(ddgan_schedule_q_sample_pairs(s, x, t_ok, 2, 4, NULL, NULL, y, NULL),
                     DDGAN_ERR_INVALID_ARGUMENT, "x_tp1 is NULL");
    tu_assert_status(ddgan_schedule_sample_posterior(s, x, NULL, t_ok, 2, 4, NULL, z),
                     DDGAN_ERR_INVALID_ARGUMENT, "x_tp1 is NULL");
    tu_assert_status(ddgan_schedule_sample_posterior_f64(s, dbuf, dbuf, t_bad, 2, 4, NULL, dbuf),
                     DDGAN_ERR_INVALID_ARGUMENT, "ddgan_schedule_sample_posterior_f64: t[1] = 4");
    /* batch 0 is a valid no-op */
    assert_int_equal(ddgan_schedule_q_sample(s, x, t_ok, 0, 4, x, y), DDGAN_OK);
    ddgan_schedule_destroy(s);
    ddgan_schedule_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test_setup_teardown(test_vectors_coefficients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vectors_worked_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_schedules_long_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_tables, setup, teardown),
        cmocka_unit_test(test_drawn_noise_matches_explicit),
        cmocka_unit_test_setup_teardown(test_bad_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_calls, setup, teardown),
    };
    return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
