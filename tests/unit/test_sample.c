/* Sampling (reference 1.7): the gen_tiny chain through ddgan_sample_with_draws,
 * determinism and independence of the internal chunking, trajectories, the
 * toy generator's data scaling, the Philox draw layout, planned memory, and
 * argument errors. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/philox.h"
#include "diffusion/sampler.h"
#include "io/safetensors.h"

static ddgan_context_t make_ctx(uint64_t seed)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.seed = seed;
    cfg.num_threads = 1; /* tiny ops: a thread team only costs time when cores are shared */
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    return ctx;
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

static float *read_f32(ddgan_st_file *f, const char *name, size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    ddgan_status_t st = ddgan__st_read_f32(f, name, p, n);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return p;
}

static float *alloc_f32(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    assert_non_null(p);
    return p;
}

/* A small image generator (8x8, 1 channel, nz 4), T = 4. */
static const char *k_tiny_ncsnpp =
    "{\"image_size\": 8, \"num_channels\": 1, \"num_channels_dae\": 8, \"ch_mult\": [1, 2], "
    "\"num_res_blocks\": 1, \"attn_resolutions\": [], \"nz\": 4, \"z_emb_dim\": 8, \"n_mlp\": 1}";
/* A toy generator with a non-default data scale, T = 4. */
static const char *k_toy =
    "{\"cls\": \"ToyMLP\", \"hidden_dim\": 32, \"nz\": 3, \"data_scale\": 3.5}";

static ddgan_generator_t make_gen(ddgan_context_t ctx, const char *json)
{
    ddgan_generator_t g = NULL;
    ddgan_status_t st = ddgan_generator_create_json(&g, ctx, json);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return g;
}

static size_t per_example(ddgan_generator_t g, int *nz)
{
    int c, h, w;
    assert_int_equal(ddgan_generator_shape(g, &c, &h, &w, nz), DDGAN_OK);
    return (size_t)c * h * w;
}

/* The chain on the host through the public per-step functions:
 * ddgan_generator_forward + ddgan_schedule_sample_posterior, then * scale.
 * frames (may be NULL): [T+1, n, per], x_T .. x_0 scaled. */
static void host_chain(ddgan_generator_t g, ddgan_schedule_t s, size_t n, const float *x_init,
                       const float *const *z, const float *const *noise, float scale, float *out,
                       float *frames)
{
    int nz;
    const size_t per = per_example(g, &nz);
    const int T = ddgan_schedule_num_timesteps(s);
    float *x = alloc_f32(n * per), *x0 = alloc_f32(n * per);
    int64_t *t = malloc(n * sizeof *t);
    assert_non_null(t);
    memcpy(x, x_init, n * per * sizeof *x);
    for (size_t k = 0; frames && k < n * per; k++)
        frames[k] = x[k] * scale;
    for (int i = T - 1; i >= 0; i--) {
        for (size_t b = 0; b < n; b++)
            t[b] = i;
        assert_int_equal(ddgan_generator_forward(g, x, t, z[i], n, x0), DDGAN_OK);
        assert_int_equal(ddgan_schedule_sample_posterior(s, x0, x, t, n, per, noise[i], out), DDGAN_OK);
        memcpy(x, out, n * per * sizeof *x);
        for (size_t k = 0; frames && k < n * per; k++)
            frames[(size_t)(T - i) * n * per + k] = x[k] * scale;
    }
    for (size_t k = 0; k < n * per; k++)
        out[k] = x[k] * scale;
    free(t);
    free(x0);
    free(x);
}

/* The draws of ddgan_sample(seed) for samples 0..n-1, computed on the host
 * from the documented layout (docs/rng.md). z[i], noise[i] indexed by step. */
typedef struct host_draws {
    float *x_init;
    float *z[8], *noise[8];
} host_draws;

static void draws_make(host_draws *d, uint64_t seed, size_t n, size_t per, size_t nz, int T)
{
    assert_true(T <= 8);
    memset(d, 0, sizeof *d);
    ddgan_sample_layout lay;
    ddgan__sample_layout_init(&lay, per, nz, T);
    d->x_init = alloc_f32(n * per);
    for (int i = 0; i < T; i++) {
        d->z[i] = alloc_f32(n * nz);
        d->noise[i] = alloc_f32(n * per);
    }
    for (size_t k = 0; k < n; k++) {
        const uint64_t stream = DDGAN_SAMPLE_STREAM_BASE + k;
        ddgan__philox_normal(seed, stream, ddgan__sample_block_x_init(&lay), d->x_init + k * per, per);
        for (int i = 0; i < T; i++) {
            ddgan__philox_normal(seed, stream, ddgan__sample_block_z(&lay, i), d->z[i] + k * nz, nz);
            ddgan__philox_normal(seed, stream, ddgan__sample_block_eps(&lay, i), d->noise[i] + k * per,
                                 per);
        }
    }
}

static void draws_free(host_draws *d, int T)
{
    free(d->x_init);
    for (int i = 0; i < T; i++) {
        free(d->z[i]);
        free(d->noise[i]);
    }
}

/* ------------------------------------------------------------------------ */

static void test_layout(void **state)
{
    (void)state;
    ddgan_sample_layout l;
    /* per 9 -> 3 blocks, nz 5 -> 2 blocks, T 4: x [0,3), then per step 5 blocks */
    ddgan__sample_layout_init(&l, 9, 5, 4);
    assert_int_equal(ddgan__sample_block_x_init(&l), 0);
    assert_int_equal(ddgan__sample_block_z(&l, 3), 3);
    assert_int_equal(ddgan__sample_block_eps(&l, 3), 5);
    assert_int_equal(ddgan__sample_block_z(&l, 2), 8);
    assert_int_equal(ddgan__sample_block_eps(&l, 2), 10);
    assert_int_equal(ddgan__sample_block_z(&l, 0), 18);
    assert_int_equal(ddgan__sample_block_eps(&l, 0), 20);
    assert_true(DDGAN_SAMPLE_STREAM_BASE == ((uint64_t)1 << 32));
}

/* The official 4-step chain of the golden vectors, with the stored draws. */
static void test_gen_tiny_chain(void **state)
{
    (void)state;
    const char *path = tu_shared_path("spec/vectors/gen_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_context_t ctx = make_ctx(0);
    ddgan_generator_t g = NULL;
    ddgan_status_t st = ddgan_generator_load_prefixed(&g, ctx, path, "gen.", "config");
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    enum { B = 3, P = 256, NZ = 8, T = 4 };
    float *x_init = read_f32(f, "sample.x_init", B * P);
    float *z[T], *noise[T];
    for (int i = 0; i < T; i++) {
        char name[64];
        snprintf(name, sizeof name, "sample.z_step%d", i);
        z[i] = read_f32(f, name, B * NZ);
        snprintf(name, sizeof name, "sample.noise_step%d", i);
        noise[i] = read_f32(f, name, B * P);
    }
    float *ref = read_f32(f, "sample.output", B * P);
    float out[B * P], host[B * P];
    st = ddgan_sample_with_draws(g, s, B, x_init, (const float *const *)z, (const float *const *)noise,
                                 out);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    const double err = rel_l2(out, ref, B * P);
    host_chain(g, s, B, x_init, (const float *const *)z, (const float *const *)noise, 1.0f, host, NULL);
    const double err_host = rel_l2(out, host, B * P);
    print_message("    gen_tiny chain via ddgan_sample_with_draws: rel L2 %.2e vs sample.output, "
                  "%.2e vs the host chain\n",
                  err, err_host);
    assert_true(err <= 1e-4);
    assert_true(err_host <= 1e-5);

    /* a file alone can be sampled: nothing drawn is NaN, the result is finite */
    float drawn[B * P];
    assert_int_equal(ddgan_sample(g, s, B, 1, drawn), DDGAN_OK);
    for (int k = 0; k < B * P; k++)
        assert_true(isfinite(drawn[k]));

    free(ref);
    free(x_init);
    for (int i = 0; i < T; i++) {
        free(z[i]);
        free(noise[i]);
    }
    ddgan__st_close(f);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

/* Same seed: bit-identical; different seed: different; the first samples of a
 * chunked request equal a small request's; the draws follow the documented
 * layout across the chunk boundary (64). `full`: also the replay variants
 * (NULL entries, given draws); left to the cheap toy network. */
static void check_determinism(const char *json, int full, const char *what)
{
    ddgan_context_t ctx = make_ctx(3);
    ddgan_generator_t g = make_gen(ctx, json);
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);
    int nz;
    const size_t per = per_example(g, &nz);
    enum { N = 70, SMALL = 5, T = 4 };
    float *a = alloc_f32(N * per), *b = alloc_f32(N * per), *c = alloc_f32(N * per);
    assert_int_equal(ddgan_sample(g, s, N, 7, a), DDGAN_OK);
    assert_int_equal(ddgan_sample(g, s, N, 7, b), DDGAN_OK);
    assert_memory_equal(a, b, N * per * sizeof *a);
    assert_int_equal(ddgan_sample(g, s, SMALL, 7, c), DDGAN_OK);
    assert_memory_equal(a, c, SMALL * per * sizeof *a);
    assert_int_equal(ddgan_sample(g, s, SMALL, 8, b), DDGAN_OK);
    size_t same = 0;
    for (size_t k = 0; k < SMALL * per; k++)
        same += a[k] == b[k];
    assert_true(same < SMALL * per / 100 + 1);
    for (size_t k = 0; k < N * per; k++)
        assert_true(isfinite(a[k]));

    /* the draws: every NULL draw equals the documented stream (seed 0 for
     * with_draws), in both chunks of a 70-sample request */
    host_draws d;
    draws_make(&d, 0, N, per, (size_t)nz, T);
    assert_int_equal(ddgan_sample(g, s, N, 0, b), DDGAN_OK);
    assert_int_equal(ddgan_sample_with_draws(g, s, N, d.x_init, (const float *const *)d.z,
                                             (const float *const *)d.noise, c),
                     DDGAN_OK);
    assert_memory_equal(b, c, N * per * sizeof *b);
    if (full) {
        assert_int_equal(ddgan_sample_with_draws(g, s, N, NULL, NULL, NULL, c), DDGAN_OK);
        assert_memory_equal(b, c, N * per * sizeof *b);
        /* a NULL entry is drawn, the others are used as given */
        const float *zmix[T] = {d.z[0], NULL, d.z[2], NULL};
        const float *nmix[T] = {NULL, d.noise[1], NULL, d.noise[3]};
        assert_int_equal(ddgan_sample_with_draws(g, s, N, NULL, zmix, nmix, c), DDGAN_OK);
        assert_memory_equal(b, c, N * per * sizeof *b);
        /* and given draws are really used */
        for (size_t k = 0; k < (size_t)N * nz; k++)
            d.z[1][k] = -d.z[1][k];
        assert_int_equal(ddgan_sample_with_draws(g, s, N, d.x_init, (const float *const *)d.z,
                                                 (const float *const *)d.noise, c),
                         DDGAN_OK);
        assert_true(memcmp(b, c, N * per * sizeof *b) != 0);
    }
    draws_free(&d, T);
    print_message("    %s: deterministic, chunking-independent, documented draw layout\n", what);

    free(a);
    free(b);
    free(c);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

static void test_determinism_ncsnpp(void **state)
{
    (void)state;
    check_determinism(k_tiny_ncsnpp, 0, "tiny NCSN++");
}

static void test_determinism_toy(void **state)
{
    (void)state;
    check_determinism(k_toy, 1, "ToyMLP");
}

/* trajectory: frame 0 = the drawn x_init (data units), frame T = ddgan_sample's
 * output; every frame equals the host chain's x after that step. */
static void check_trajectory(const char *json, float scale, const char *what)
{
    ddgan_context_t ctx = make_ctx(4);
    ddgan_generator_t g = make_gen(ctx, json);
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);
    int nz;
    const size_t per = per_example(g, &nz);
    enum { N = 67, T = 4 };
    const uint64_t seed = 12345;
    float *traj = alloc_f32((T + 1) * N * per), *out = alloc_f32(N * per);
    assert_int_equal(ddgan_sample_trajectory(g, s, N, seed, traj), DDGAN_OK);
    assert_int_equal(ddgan_sample(g, s, N, seed, out), DDGAN_OK);
    assert_memory_equal(traj + (size_t)T * N * per, out, N * per * sizeof *out);
    host_draws d;
    draws_make(&d, seed, N, per, (size_t)nz, T);
    for (size_t k = 0; k < N * per; k++)
        assert_true(traj[k] == d.x_init[k] * scale);
    /* every frame against the host chain with the same draws */
    float *host = alloc_f32(N * per), *hframes = alloc_f32((T + 1) * N * per);
    host_chain(g, s, N, d.x_init, (const float *const *)d.z, (const float *const *)d.noise, scale, host,
               hframes);
    double worst = 0;
    for (int f = 0; f <= T; f++) {
        const double e = rel_l2(traj + (size_t)f * N * per, hframes + (size_t)f * N * per, N * per);
        worst = e > worst ? e : worst;
    }
    print_message("    %s trajectory: first frame = x_init (x %g), last = ddgan_sample; frames vs "
                  "host chain: worst rel L2 %.2e\n",
                  what, (double)scale, worst);
    assert_true(worst <= 1e-5);
    free(hframes);
    /* frames move: consecutive frames differ */
    for (int f = 0; f < T; f++)
        assert_true(memcmp(traj + (size_t)f * N * per, traj + (size_t)(f + 1) * N * per,
                           N * per * sizeof *traj) != 0);
    draws_free(&d, T);
    free(host);
    free(traj);
    free(out);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

static void test_trajectory_ncsnpp(void **state)
{
    (void)state;
    check_trajectory(k_tiny_ncsnpp, 1.0f, "tiny NCSN++");
}

static void test_trajectory_toy(void **state)
{
    (void)state;
    check_trajectory(k_toy, 3.5f, "ToyMLP");
}

/* The toy generator: draws and the chain in diffusion units, output scaled by
 * data_scale: with_draws against the host chain with the same draws. */
static void test_toy_scaling(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(9);
    ddgan_generator_t g = make_gen(ctx, k_toy);
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);
    enum { N = 9, P = 2, NZ = 3, T = 4 };
    float x_init[N * P], zb[T][N * NZ], nb[T][N * P];
    assert_int_equal(ddgan_context_randn(ctx, x_init, N * P), DDGAN_OK);
    const float *z[T], *noise[T];
    for (int i = 0; i < T; i++) {
        assert_int_equal(ddgan_context_randn(ctx, zb[i], N * NZ), DDGAN_OK);
        assert_int_equal(ddgan_context_randn(ctx, nb[i], N * P), DDGAN_OK);
        z[i] = zb[i];
        noise[i] = nb[i];
    }
    float out[N * P], host[N * P], unscaled[N * P];
    assert_int_equal(ddgan_sample_with_draws(g, s, N, x_init, z, noise, out), DDGAN_OK);
    host_chain(g, s, N, x_init, z, noise, 3.5f, host, NULL);
    host_chain(g, s, N, x_init, z, noise, 1.0f, unscaled, NULL);
    const double err = rel_l2(out, host, N * P);
    const double err_unscaled = rel_l2(out, unscaled, N * P);
    print_message("    ToyMLP with_draws vs host chain x data_scale: rel L2 %.2e (unscaled: %.2f)\n",
                  err, err_unscaled);
    assert_true(err <= 1e-6);
    assert_true(err_unscaled > 0.5);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

/* Repeated calls with the same sizes allocate nothing (host or device), also
 * after the generator's own forward re-planned the shared arena. */
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

static void check_no_alloc(const char *json, const char *what)
{
    ddgan_context_t ctx = make_ctx(1);
    ddgan_generator_t g = make_gen(ctx, json);
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);
    int nz;
    const size_t per = per_example(g, &nz);
    enum { N = 70 };
    float *out = alloc_f32(N * per), *traj = alloc_f32(5 * N * per), *x0 = alloc_f32(64 * per);
    float *x = alloc_f32(64 * per), *zz = alloc_f32(64 * (size_t)nz);
    int64_t t[64] = {0};
    assert_int_equal(ddgan_sample(g, s, N, 1, out), DDGAN_OK);
    assert_int_equal(ddgan_sample_trajectory(g, s, N, 1, traj), DDGAN_OK);
    assert_int_equal(ddgan_generator_forward(g, x, t, zz, 64, x0), DDGAN_OK);
    ddgan_alloc_hooks hooks = {count_malloc, count_free, NULL};
    ddgan__alloc_set_hooks(&hooks);
    g_allocs = 0;
    ddgan_status_t st = ddgan_sample(g, s, N, 2, out);
    st = st == DDGAN_OK ? ddgan_sample_trajectory(g, s, N, 2, traj) : st;
    st = st == DDGAN_OK ? ddgan_sample_with_draws(g, s, 3, NULL, NULL, NULL, out) : st;
    st = st == DDGAN_OK ? ddgan_generator_forward(g, x, t, zz, 64, x0) : st;
    st = st == DDGAN_OK ? ddgan_sample(g, s, N, 2, out) : st;
    ddgan__alloc_set_hooks(NULL);
    assert_int_equal(st, DDGAN_OK);
    print_message("    %s: %zu allocations in repeated sampling calls\n", what, g_allocs);
    assert_int_equal(g_allocs, 0);
    free(out);
    free(traj);
    free(x0);
    free(x);
    free(zz);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

static void test_no_alloc_ncsnpp(void **state)
{
    (void)state;
    check_no_alloc(k_tiny_ncsnpp, "tiny NCSN++");
}

static void test_no_alloc_toy(void **state)
{
    (void)state;
    check_no_alloc(k_toy, "ToyMLP");
}

/* ------------------------------------------------------------------------ */
/* Errors */

typedef struct log_capture {
    int warns;
    char last[512];
} log_capture;

static void capture_log(void *user, ddgan_log_level level, const char *msg)
{
    log_capture *c = user;
    if (level == DDGAN_LOG_WARN) {
        c->warns++;
        snprintf(c->last, sizeof c->last, "%s", msg);
    }
}

static void test_errors(void **state)
{
    (void)state;
    log_capture cap = {0};
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.num_threads = 1;
    cfg.log_fn = capture_log;
    cfg.log_user = &cap;
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    ddgan_generator_t g = make_gen(ctx, k_toy);
    ddgan_schedule_t s = NULL, s8 = NULL, sb = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.num_timesteps = 8;
    assert_int_equal(ddgan_schedule_create(&s8, ctx, &sc), DDGAN_OK);
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.beta_max = 10.0;
    assert_int_equal(ddgan_schedule_create(&sb, ctx, &sc), DDGAN_OK);
    float out[4 * 2], traj[5 * 4 * 2];

    tu_assert_status(ddgan_sample(NULL, s, 4, 0, out), DDGAN_ERR_INVALID_ARGUMENT, "ddgan_sample: generator is NULL");
    tu_assert_status(ddgan_sample(g, NULL, 4, 0, out), DDGAN_ERR_INVALID_ARGUMENT, "schedule is NULL");
    tu_assert_status(ddgan_sample((ddgan_generator_t)(void *)s, s, 4, 0, out), DDGAN_ERR_INVALID_ARGUMENT,
                     "invalid generator handle");
    tu_assert_status(ddgan_sample(g, (ddgan_schedule_t)(void *)ctx, 4, 0, out), DDGAN_ERR_INVALID_ARGUMENT,
                     "invalid schedule handle");
    tu_assert_status(ddgan_sample(g, s, 0, 0, out), DDGAN_ERR_INVALID_ARGUMENT, "n = 0");
    tu_assert_status(ddgan_sample(g, s, 4, 0, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out is NULL");
    tu_assert_status(ddgan_sample(g, s, (size_t)1 << 31, 0, out), DDGAN_ERR_INVALID_ARGUMENT, "not in");
    tu_assert_status(ddgan_sample(g, s8, 4, 0, out), DDGAN_ERR_INVALID_ARGUMENT,
                     "the schedule has num_timesteps 8 but the generator's config has 4");
    tu_assert_status(ddgan_sample_with_draws(g, s8, 4, NULL, NULL, NULL, out), DDGAN_ERR_INVALID_ARGUMENT,
                     "ddgan_sample_with_draws: the schedule has num_timesteps 8");
    tu_assert_status(ddgan_sample_with_draws(g, s, 4, NULL, NULL, NULL, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "out is NULL");
    tu_assert_status(ddgan_sample_with_draws(NULL, s, 4, NULL, NULL, NULL, out), DDGAN_ERR_INVALID_ARGUMENT,
                     "generator is NULL");
    tu_assert_status(ddgan_sample_trajectory(g, s, 4, 0, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "ddgan_sample_trajectory: trajectory is NULL");
    tu_assert_status(ddgan_sample_trajectory(g, s8, 4, 0, traj), DDGAN_ERR_INVALID_ARGUMENT, "num_timesteps");
    tu_assert_status(ddgan_sample_trajectory(g, NULL, 4, 0, traj), DDGAN_ERR_INVALID_ARGUMENT,
                     "schedule is NULL");
    tu_assert_status(ddgan_sample_trajectory(NULL, s, 4, 0, traj), DDGAN_ERR_INVALID_ARGUMENT,
                     "generator is NULL");
    assert_int_equal(cap.warns, 0);

    /* other betas: sampled as given, with a warning */
    float a[4 * 2], b[4 * 2];
    assert_int_equal(ddgan_sample(g, sb, 4, 0, a), DDGAN_OK);
    assert_int_equal(cap.warns, 1);
    assert_non_null(strstr(cap.last, "differs from the generator's config"));
    assert_int_equal(ddgan_sample(g, s, 4, 0, b), DDGAN_OK);
    assert_int_equal(cap.warns, 1);
    assert_true(memcmp(a, b, sizeof a) != 0);

    ddgan_schedule_destroy(sb);
    ddgan_schedule_destroy(s8);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_gen_tiny_chain),
        cmocka_unit_test(test_determinism_ncsnpp),
        cmocka_unit_test(test_determinism_toy),
        cmocka_unit_test(test_trajectory_ncsnpp),
        cmocka_unit_test(test_trajectory_toy),
        cmocka_unit_test(test_toy_scaling),
        cmocka_unit_test(test_no_alloc_ncsnpp),
        cmocka_unit_test(test_no_alloc_toy),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
