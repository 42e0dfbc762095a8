/* End-to-end learning: DDGAN (T = 4) on the 25-Gaussian grid (means
 * {-4, -2, 0, 2, 4}^2, sigma 0.05), trained through the public API for a
 * bounded number of steps with fixed seeds, must clearly learn. Scored on
 * 2,500 samples with the VEEGAN / PacGAN protocol: a sample is high quality
 * (HQ) when it lies within 3 sigma = 0.15 of its nearest mode; a mode is
 * covered when it is the nearest mode of at least one HQ sample; the reverse
 * KL of the covered-mode histogram against uniform is printed as extra
 * information. The recipe and the experiments behind it: docs/toy-learning.md.
 *
 * Pass: >= 10 modes and >= 30% HQ. An untrained generator is scored too and
 * must fail that bar (it collapses onto one mode). The figures are printed;
 * nothing about time is asserted. The training test skips itself when
 * DDGAN_SANITIZED is set (sanitizer builds are ~10x slower). */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the recipe (docs/toy-learning.md) ---- */
#define NUM_TIMESTEPS 4
#define HIDDEN_DIM 96
#define N_HIDDEN 3
#define NZ 2
#define T_EMB_DIM 32
#define LRELU_SLOPE 0.0 /* ReLU: learnt the grid clearly faster than 0.2 */
#define DATA_SCALE 1.0  /* grid means at +-4 in diffusion units too */
#define BATCH 64
#define STEPS 12000
#define LR 3e-3f
#define ETA_MIN 1e-5f
#define R1_GAMMA 0.01f
#define EMA_DECAY 0.995f
#define MODEL_SEED 1
#define TRAIN_SEED 101
#define DATA_SEED 2024
#define SAMPLE_SEED 7

/* ---- the data set and the metric ---- */
#define GRID_SIGMA 0.05
#define N_MODES 25
#define N_EVAL 2500
#define HQ_RADIUS (3.0 * GRID_SIGMA)
#define PASS_MODES 10
#define PASS_HQ 30.0 /* percent */

typedef struct score {
    int modes;     /* covered modes (0..25) */
    double hq;     /* percentage of high-quality samples */
    double rev_kl; /* KL(covered-mode histogram || uniform); NaN without HQ samples */
    int count[N_MODES];
} score;

static double mode_coord(int k) { return -4.0 + 2.0 * (double)k; }

/* n samples of the grid: a uniform mode, then N(mean, sigma^2 I). */
static void grid_batch(ddgan_context_t data, float *x, size_t n, float *u, float *e)
{
    assert_int_equal(ddgan_context_rand(data, u, n), DDGAN_OK);
    assert_int_equal(ddgan_context_randn(data, e, 2 * n), DDGAN_OK);
    for (size_t i = 0; i < n; i++) {
        int k = (int)(u[i] * (float)N_MODES);
        k = k < N_MODES ? k : N_MODES - 1;
        x[2 * i] = (float)(mode_coord(k / 5) + GRID_SIGMA * (double)e[2 * i]);
        x[2 * i + 1] = (float)(mode_coord(k % 5) + GRID_SIGMA * (double)e[2 * i + 1]);
    }
}

static score score_samples(const float *x, size_t n)
{
    score s;
    memset(&s, 0, sizeof s);
    size_t n_hq = 0;
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        int best_k = 0;
        for (int k = 0; k < N_MODES; k++) {
            const double dx = (double)x[2 * i] - mode_coord(k / 5);
            const double dy = (double)x[2 * i + 1] - mode_coord(k % 5);
            const double d2 = dx * dx + dy * dy;
            if (d2 < best) {
                best = d2;
                best_k = k;
            }
        }
        if (sqrt(best) <= HQ_RADIUS) { /* NaN samples are never HQ */
            n_hq++;
            s.count[best_k]++;
        }
    }
    s.hq = 100.0 * (double)n_hq / (double)n;
    s.rev_kl = n_hq ? 0.0 : NAN;
    for (int k = 0; k < N_MODES; k++) {
        if (!s.count[k])
            continue;
        s.modes++;
        const double q = (double)s.count[k] / (double)n_hq;
        s.rev_kl += q * log(q * N_MODES);
    }
    return s;
}

static void print_score(const char *what, const score *s)
{
    print_message("[ toy     ] %-28s modes %2d / %d, high quality %5.1f%%, reverse KL %.3f\n", what,
                  s->modes, N_MODES, s->hq, s->rev_kl);
}

static int passes(const score *s) { return s->modes >= PASS_MODES && s->hq >= PASS_HQ; }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Fails the test with the library's message. */
#define CHECK(call)                                                                        \
    do {                                                                                   \
        const ddgan_status_t st_ = (call);                                                 \
        if (st_ != DDGAN_OK)                                                               \
            fail_msg("%s: %s (%s)", #call, ddgan_status_string(st_), ddgan_last_error()); \
    } while (0)

static ddgan_context_t make_ctx(uint64_t seed)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.seed = seed;
    /* Batches of 64 through 96-wide layers gain nothing from a thread team,
     * and one thread keeps the figures identical on every machine. */
    cfg.num_threads = 1;
    ddgan_context_t ctx = NULL;
    CHECK(ddgan_context_create(&ctx, &cfg));
    return ctx;
}

static ddgan_schedule_t make_schedule(ddgan_context_t ctx)
{
    ddgan_schedule_config cfg;
    ddgan_schedule_config_init(&cfg, sizeof cfg);
    cfg.num_timesteps = NUM_TIMESTEPS; /* beta 0.1 .. 20, VP: the defaults */
    ddgan_schedule_t s = NULL;
    CHECK(ddgan_schedule_create(&s, ctx, &cfg));
    return s;
}

static ddgan_generator_t make_generator(ddgan_context_t ctx)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"cls\": \"ToyMLP\", \"hidden_dim\": %d, \"n_hidden\": %d, \"nz\": %d, "
             "\"t_emb_dim\": %d, \"lrelu_slope\": %g, \"data_scale\": %g, \"num_timesteps\": %d}",
             HIDDEN_DIM, N_HIDDEN, NZ, T_EMB_DIM, LRELU_SLOPE, DATA_SCALE, NUM_TIMESTEPS);
    ddgan_generator_t g = NULL;
    CHECK(ddgan_generator_create_json(&g, ctx, json));
    return g;
}

static ddgan_discriminator_t make_discriminator(ddgan_context_t ctx)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"cls\": \"ToyMLP\", \"hidden_dim\": %d, \"n_hidden\": %d, \"t_emb_dim\": %d, "
             "\"lrelu_slope\": %g}",
             HIDDEN_DIM, N_HIDDEN, T_EMB_DIM, LRELU_SLOPE);
    ddgan_discriminator_t d = NULL;
    CHECK(ddgan_discriminator_create_json(&d, ctx, json));
    return d;
}

/* Scores N_EVAL samples of g (data units). */
static score sample_and_score(ddgan_generator_t g, ddgan_schedule_t s, float *buf)
{
    CHECK(ddgan_sample(g, s, N_EVAL, SAMPLE_SEED, buf));
    return score_samples(buf, N_EVAL);
}

/* The metric itself: exact grid samples score 25 modes and ~99% HQ (3 sigma
 * in 2-D holds 1 - exp(-4.5) = 98.9%); everything at one mode, 1 mode and
 * reverse KL log 25; points between the modes, 0% HQ. */
static void test_metric(void **state)
{
    (void)state;
    ddgan_context_t data = make_ctx(DATA_SEED);
    float *x = malloc(sizeof(float) * 2 * N_EVAL), *u = malloc(sizeof(float) * N_EVAL),
          *e = malloc(sizeof(float) * 2 * N_EVAL);
    assert_non_null(x);
    assert_non_null(u);
    assert_non_null(e);
    grid_batch(data, x, N_EVAL, u, e);
    score s = score_samples(x, N_EVAL);
    print_score("real data:", &s);
    assert_int_equal(s.modes, N_MODES);
    assert_true(s.hq > 97.0);
    assert_true(s.rev_kl < 0.02);

    for (size_t i = 0; i < N_EVAL; i++) {
        x[2 * i] = 2.0f + 0.01f * e[2 * i];
        x[2 * i + 1] = -4.0f;
    }
    s = score_samples(x, N_EVAL);
    assert_int_equal(s.modes, 1);
    assert_true(s.hq == 100.0);
    assert_true(fabs(s.rev_kl - log(25.0)) < 1e-12);

    for (size_t i = 0; i < N_EVAL; i++) {
        x[2 * i] = 1.0f + 0.3f * e[2 * i];
        x[2 * i + 1] = 3.0f + 0.3f * e[2 * i + 1];
    }
    s = score_samples(x, N_EVAL);
    assert_true(s.hq < 1.0);
    free(x);
    free(u);
    free(e);
    ddgan_context_destroy(data);
}

/* An untrained generator with the trained one's config and seed: it must
 * fail the bar the trained one has to clear, so that the learning test
 * cannot pass by accident. Its outputs are all close to 0, so it piles
 * every sample onto the central mode: one mode, maximal reverse KL, and
 * (with data_scale 1) a high-quality fraction near 100% -- which is why the
 * pass criterion needs the mode count as well as the HQ fraction. */
static void test_untrained(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(MODEL_SEED);
    ddgan_schedule_t s = make_schedule(ctx);
    ddgan_generator_t g = make_generator(ctx);
    float *buf = malloc(sizeof(float) * 2 * N_EVAL);
    assert_non_null(buf);
    score sc = sample_and_score(g, s, buf);
    print_score("untrained G:", &sc);
    assert_false(passes(&sc));
    assert_true(sc.modes <= 3);
    free(buf);
    ddgan_generator_destroy(g);
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(ctx);
}

static void test_learns_grid(void **state)
{
    (void)state;
    const char *san = getenv("DDGAN_SANITIZED");
    if (san && *san && strcmp(san, "0") != 0) {
        print_message("[  SKIP    ] DDGAN_SANITIZED is set: the %d-step learning run is skipped\n",
                      STEPS);
        skip();
    }
    const double t_start = now_s();
    ddgan_context_t ctx = make_ctx(MODEL_SEED);
    ddgan_context_t data = make_ctx(DATA_SEED);
    ddgan_schedule_t s = make_schedule(ctx);
    ddgan_generator_t g = make_generator(ctx);
    ddgan_discriminator_t d = make_discriminator(ctx);

    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = BATCH;
    tc.lr_g = LR;
    tc.lr_d = LR;
    tc.beta1 = 0.5f;
    tc.beta2 = 0.9f;
    tc.r1_gamma = R1_GAMMA;
    tc.lazy_reg = 0; /* R1 every step */
    tc.use_ema = 1;
    tc.ema_decay = EMA_DECAY;
    tc.lr_schedule = DDGAN_LR_COSINE; /* one "epoch" per step: cosine to eta_min over the run */
    tc.eta_min = ETA_MIN;
    tc.num_epoch = STEPS;
    tc.steps_per_epoch = 1;
    tc.seed = TRAIN_SEED;
    ddgan_trainer_t tr = NULL;
    CHECK(ddgan_trainer_create(&tr, g, d, s, &tc));

    ddgan_model_summary ms;
    ddgan_model_summary_init(&ms, sizeof ms);
    CHECK(ddgan_generator_summary(g, &ms));
    print_message("[ toy     ] G %zu parameters, T %d, batch %d, %d steps, lr %g (cosine), R1 %g, "
                  "EMA %g\n",
                  ms.num_params, NUM_TIMESTEPS, BATCH, STEPS, (double)LR, (double)R1_GAMMA,
                  (double)EMA_DECAY);

    float *x = malloc(sizeof(float) * 2 * BATCH), *u = malloc(sizeof(float) * BATCH),
          *e = malloc(sizeof(float) * 2 * BATCH), *buf = malloc(sizeof(float) * 2 * N_EVAL);
    assert_non_null(x);
    assert_non_null(u);
    assert_non_null(e);
    assert_non_null(buf);

    const double t_train = now_s();
    double sum_d = 0.0, sum_g = 0.0;
    int n_avg = 0;
    for (int step = 1; step <= STEPS; step++) {
        grid_batch(data, x, BATCH, u, e);
        ddgan_step_stats st;
        ddgan_step_stats_init(&st, sizeof st);
        CHECK(ddgan_trainer_step(tr, x, BATCH, &st));
        sum_d += st.err_d;
        sum_g += st.err_g;
        n_avg++;
        if (step % (STEPS / 4) == 0) {
            print_message("[ toy     ] step %5d: errD %.3f errG %.3f (means of the last %d steps), "
                          "lr %.2g, %.0f s\n",
                          step, sum_d / n_avg, sum_g / n_avg, n_avg, (double)st.lr_g, now_s() - t_train);
            sum_d = sum_g = 0.0;
            n_avg = 0;
        }
    }
    const double train_s = now_s() - t_train;
    assert_int_equal(ddgan_trainer_skipped_steps(tr), 0);

    const score raw = sample_and_score(g, s, buf);
    print_score("trained G (last weights):", &raw);
    ddgan_generator_t g_ema = NULL;
    CHECK(ddgan_trainer_ema_generator(&g_ema, tr));
    const score ema = sample_and_score(g_ema, s, buf);
    print_score("trained G (EMA):", &ema);
    print_message("[ toy     ] training %.1f s (%.2f ms/step), whole test %.1f s\n", train_s,
                  1e3 * train_s / STEPS, now_s() - t_start);

    assert_true(ema.modes >= PASS_MODES);
    assert_true(ema.hq >= PASS_HQ);

    free(x);
    free(u);
    free(e);
    free(buf);
    ddgan_generator_destroy(g_ema);
    ddgan_trainer_destroy(tr);
    ddgan_discriminator_destroy(d);
    ddgan_generator_destroy(g);
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(data);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metric),
        cmocka_unit_test(test_untrained),
        cmocka_unit_test(test_learns_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
