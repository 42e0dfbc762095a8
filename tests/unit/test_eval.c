/* Evaluation module (docs/eval.md): 2-D mixture metrics, Frechet distance,
 * precision / recall, StackedMNIST mode counting, the digit classifier
 * (files, arguments, and, with ../shared, its >= 98% test accuracy), and
 * the sampling-speed helper. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "io/safetensors.h"

#define PIX 1024

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    assert_non_null(p);
    return p;
}

static ddgan_context_t make_ctx(const char *backend, int threads)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = backend;
    cfg.num_threads = threads;
    ddgan_context_t ctx = NULL;
    ddgan_status_t st = ddgan_context_create(&ctx, &cfg);
    if (st != DDGAN_OK)
        return NULL;
    return ctx;
}

/* ------------------------------------------------------------------------ */
/* 2-D mixtures */

static float *mixture_samples(int kind, size_t n)
{
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = kind;
    dc.num_examples = (int64_t)n;
    dc.shuffle = 0;
    dc.data_seed = 5;
    ddgan_dataset_t ds = NULL;
    assert_int_equal(ddgan_dataset_open(&ds, &dc), DDGAN_OK);
    float *x = xcalloc(2 * n, sizeof *x);
    assert_int_equal(ddgan_dataset_next_batch(ds, n, x, NULL), DDGAN_OK);
    ddgan_dataset_destroy(ds);
    return x;
}

static void test_toy_real_data(void **state)
{
    (void)state;
    const size_t n = 20000;
    /* P(|z| <= 3) for a 2-D standard normal: 1 - exp(-9/2) */
    const double hq = 1.0 - exp(-4.5);
    const int kinds[2] = {DDGAN_DATASET_GRID25, DDGAN_DATASET_RING8};
    const int mix[2] = {DDGAN_TOY_GRID25, DDGAN_TOY_RING8};
    for (int i = 0; i < 2; i++) {
        float *x = mixture_samples(kinds[i], n);
        ddgan_toy_metrics m;
        assert_int_equal(ddgan_toy_metrics_init(&m, sizeof m), DDGAN_OK);
        assert_int_equal(ddgan_eval_toy(x, n, mix[i], &m), DDGAN_OK);
        print_message("    %s: %d/%d modes, HQ %.4f (expected %.4f), reverse KL %.5f\n",
                      i ? "ring" : "grid", m.modes, m.num_modes, m.hq_fraction, hq, m.reverse_kl);
        assert_int_equal(m.num_modes, i ? 8 : 25);
        assert_int_equal(m.modes, m.num_modes);
        assert_true(fabs(m.hq_fraction - hq) < 0.004);
        assert_true(m.reverse_kl >= 0.0 && m.reverse_kl < 0.005);
        assert_int_equal(m.num_samples, (int64_t)n);
        int64_t sum = 0;
        for (int k = 0; k < m.num_modes; k++)
            sum += m.mode_counts[k];
        assert_int_equal(sum, m.num_hq);
        free(x);
    }
}

static void test_toy_collapsed(void **state)
{
    (void)state;
    const size_t n = 1000;
    float *x = xcalloc(2 * n, sizeof *x);
    for (size_t i = 0; i < n; i++) { /* all on the mode (2, -4), jittered inside 3 sigma */
        x[2 * i] = 2.0f + 0.01f * (float)((int)(i % 7) - 3);
        x[2 * i + 1] = -4.0f;
    }
    ddgan_toy_metrics m;
    ddgan_toy_metrics_init(&m, sizeof m);
    assert_int_equal(ddgan_eval_toy(x, n, DDGAN_TOY_GRID25, &m), DDGAN_OK);
    assert_int_equal(m.modes, 1);
    assert_true(fabs(m.hq_fraction - 1.0) < 1e-12);
    assert_true(fabs(m.reverse_kl - log(25.0)) < 1e-12);
    assert_int_equal(m.mode_counts[5 * 3 + 0], (int64_t)n);
    /* the ring: collapsed onto mode 3 = (cos 3pi/4, sin 3pi/4) */
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = (float)cos(3.0 * M_PI / 4.0);
        x[2 * i + 1] = (float)sin(3.0 * M_PI / 4.0) + 0.02f;
    }
    assert_int_equal(ddgan_eval_toy(x, n, DDGAN_TOY_RING8, &m), DDGAN_OK);
    assert_int_equal(m.modes, 1);
    assert_int_equal(m.mode_counts[3], (int64_t)n);
    assert_true(fabs(m.reverse_kl - log(8.0)) < 1e-12);
    /* half of them far away (not HQ), one NaN: HQ fraction drops, KL unchanged */
    for (size_t i = 0; i < n / 2; i++)
        x[2 * i] = 0.5f;
    x[1] = NAN;
    assert_int_equal(ddgan_eval_toy(x, n, DDGAN_TOY_RING8, &m), DDGAN_OK);
    assert_true(fabs(m.hq_fraction - 0.5) < 1e-12);
    assert_true(fabs(m.reverse_kl - log(8.0)) < 1e-12);
    /* nothing HQ: 0 modes, KL NaN */
    for (size_t i = 0; i < n; i++)
        x[2 * i] = 0.5f;
    assert_int_equal(ddgan_eval_toy(x, n, DDGAN_TOY_RING8, &m), DDGAN_OK);
    assert_int_equal(m.modes, 0);
    assert_true(isnan(m.reverse_kl));
    /* two modes equally: KL = ln 25 - ln 2 */
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = i % 2 ? 0.0f : 4.0f;
        x[2 * i + 1] = 0.0f;
    }
    assert_int_equal(ddgan_eval_toy(x, n, DDGAN_TOY_GRID25, &m), DDGAN_OK);
    assert_int_equal(m.modes, 2);
    assert_true(fabs(m.reverse_kl - log(12.5)) < 1e-12);
    free(x);
}

static void test_toy_args(void **state)
{
    (void)state;
    float x[4] = {0};
    ddgan_toy_metrics m;
    ddgan_toy_metrics_init(&m, sizeof m);
    tu_assert_status(ddgan_eval_toy(NULL, 2, DDGAN_TOY_GRID25, &m), DDGAN_ERR_INVALID_ARGUMENT, "samples");
    tu_assert_status(ddgan_eval_toy(x, 0, DDGAN_TOY_GRID25, &m), DDGAN_ERR_INVALID_ARGUMENT, "n 0");
    tu_assert_status(ddgan_eval_toy(x, 2, 7, &m), DDGAN_ERR_INVALID_ARGUMENT, "mixture 7");
    tu_assert_status(ddgan_eval_toy(x, 2, DDGAN_TOY_GRID25, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out");
    m.struct_size = 0;
    tu_assert_status(ddgan_eval_toy(x, 2, DDGAN_TOY_GRID25, &m), DDGAN_ERR_INVALID_ARGUMENT, "struct_size");
    tu_assert_status(ddgan_toy_metrics_init(NULL, sizeof m), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    /* an older caller's smaller struct gets only its fields */
    struct {
        uint32_t struct_size;
        int num_modes, modes;
    } old;
    old.struct_size = sizeof old;
    assert_int_equal(ddgan_eval_toy(x, 2, DDGAN_TOY_GRID25, (ddgan_toy_metrics *)&old), DDGAN_OK);
    assert_int_equal(old.num_modes, 25);
    assert_int_equal(old.modes, 1);
}

/* ------------------------------------------------------------------------ */
/* Frechet distance */

static void test_frechet_closed_form(void **state)
{
    (void)state;
    /* diagonal covariances: FD = |mu1 - mu2|^2 + sum (sqrt a_i - sqrt b_i)^2 */
    enum { D = 6 };
    double mu1[D], mu2[D], s1[D * D] = {0}, s2[D * D] = {0}, want = 0.0;
    for (int i = 0; i < D; i++) {
        mu1[i] = 0.3 * i;
        mu2[i] = -0.1 * i + 1.0;
        s1[i * D + i] = 0.5 + i;
        s2[i * D + i] = 2.0 / (1.0 + i);
        want += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) +
                (sqrt(s1[i * D + i]) - sqrt(s2[i * D + i])) * (sqrt(s1[i * D + i]) - sqrt(s2[i * D + i]));
    }
    double fd = -1.0;
    assert_int_equal(ddgan_frechet_distance(mu1, s1, mu2, s2, D, &fd), DDGAN_OK);
    print_message("    diagonal: FD %.15g, closed form %.15g\n", fd, want);
    assert_true(fabs(fd - want) <= 1e-10 * want);
    /* non-commuting 2 x 2: tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det(S1 S2))) (two eigenvalues) */
    const double a[4] = {2.0, 0.7, 0.7, 1.0}, b[4] = {0.5, -0.3, -0.3, 3.0}, m0[2] = {0, 0};
    const double ab_tr = a[0] * b[0] + a[1] * b[2] + a[2] * b[1] + a[3] * b[3];
    const double det = (a[0] * a[3] - a[1] * a[2]) * (b[0] * b[3] - b[1] * b[2]);
    const double want2 = a[0] + a[3] + b[0] + b[3] - 2.0 * sqrt(ab_tr + 2.0 * sqrt(det));
    assert_int_equal(ddgan_frechet_distance(m0, a, m0, b, 2, &fd), DDGAN_OK);
    print_message("    2x2 non-commuting: FD %.15g, closed form %.15g\n", fd, want2);
    assert_true(fabs(fd - want2) <= 1e-12 * fabs(want2));
    /* symmetric in its arguments */
    double fd_ba = -1.0;
    assert_int_equal(ddgan_frechet_distance(m0, b, m0, a, 2, &fd_ba), DDGAN_OK);
    assert_true(fabs(fd - fd_ba) <= 1e-12 * fabs(want2));
    /* a dense random 64 x 64 covariance against itself: only the mean term remains */
    enum { N = 64 };
    double *l = xcalloc(N * N, sizeof *l), *s = xcalloc(N * N, sizeof *s);
    double *ma = xcalloc(N, sizeof *ma), *mb = xcalloc(N, sizeof *mb);
    uint32_t r = 12345;
    for (int i = 0; i < N * N; i++) {
        r = r * 1664525u + 1013904223u;
        l[i] = ((double)(r >> 8) / 16777216.0) - 0.5;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < N; k++)
                acc += l[i * N + k] * l[j * N + k];
            s[i * N + j] = acc;
        }
    for (int i = 0; i < N; i++)
        mb[i] = i == 3 ? 2.0 : 0.0;
    assert_int_equal(ddgan_frechet_distance(ma, s, mb, s, N, &fd), DDGAN_OK);
    print_message("    64x64 dense, same covariance: FD %.3e (want 4)\n", fd);
    assert_true(fabs(fd - 4.0) < 1e-8);
    /* a singular covariance (rank 1) against a scaled copy: FD = tr((sqrt(c) - 1)^2 S) */
    double v[N], sr[N * N], sc[N * N];
    for (int i = 0; i < N; i++)
        v[i] = sin(0.3 * i);
    double vv = 0.0;
    for (int i = 0; i < N; i++) {
        vv += v[i] * v[i];
        for (int j = 0; j < N; j++) {
            sr[i * N + j] = v[i] * v[j];
            sc[i * N + j] = 4.0 * v[i] * v[j];
        }
    }
    assert_int_equal(ddgan_frechet_distance(ma, sr, ma, sc, N, &fd), DDGAN_OK);
    /* (2 - 1)^2 tr S = |v|^2; the 63 zero eigenvalues carry rounding noise that must be
     * dropped, not square-rooted (sqrt(1e-16) = 1e-8 each) */
    print_message("    rank 1: FD %.12g, closed form %.12g\n", fd, vv);
    assert_true(fabs(fd - vv) < 1e-10 * vv);
    free(l);
    free(s);
    free(ma);
    free(mb);
}

/* Box-Muller from a LCG: test data only */
static double gauss(uint64_t *st)
{
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    const double u1 = ((double)(*st >> 11) + 0.5) / 9007199254740992.0;
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    const double u2 = ((double)(*st >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static void test_frechet_sampled(void **state)
{
    (void)state;
    /* x ~ N(0, diag(1, 4, 0.25)), y ~ N((1, 0, 0), I): FD = 1 + (1-1)^2 + (2-1)^2 + (0.5-1)^2 = 2.25 */
    enum { D = 3 };
    const size_t n = 40000;
    float *x = xcalloc(n * D, sizeof *x), *y = xcalloc(n * D, sizeof *y);
    uint64_t st = 42;
    const double sd[D] = {1.0, 2.0, 0.5};
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < D; j++) {
            x[i * D + j] = (float)(sd[j] * gauss(&st));
            y[i * D + j] = (float)((j == 0 ? 1.0 : 0.0) + gauss(&st));
        }
    double fd = -1.0;
    assert_int_equal(ddgan_frechet_distance_features(x, n, y, n, D, &fd), DDGAN_OK);
    print_message("    sampled (n = %zu): FD %.4f, closed form 2.25\n", n, fd);
    assert_true(fabs(fd - 2.25) < 0.05);
    /* the statistics themselves */
    double mu[D], cov[D * D];
    assert_int_equal(ddgan_feature_stats(x, n, D, mu, cov), DDGAN_OK);
    for (int j = 0; j < D; j++) {
        assert_true(fabs(mu[j]) < 0.05);
        assert_true(fabs(cov[j * D + j] - sd[j] * sd[j]) < 0.05 * sd[j] * sd[j]);
    }
    /* identical sets: 0 */
    assert_int_equal(ddgan_frechet_distance_features(x, n, x, n, D, &fd), DDGAN_OK);
    assert_true(fd < 1e-9);
    free(x);
    free(y);
}

static void test_frechet_args(void **state)
{
    (void)state;
    double mu[2] = {0, 0}, s[4] = {1, 0, 0, 1}, asym[4] = {1, 0.5, 0, 1}, neg[4] = {1, 0, 0, -1};
    double nan_s[4] = {1, 0, 0, NAN}, fd;
    float f[4] = {0, 1, 2, 3};
    tu_assert_status(ddgan_frechet_distance(NULL, s, mu, s, 2, &fd), DDGAN_ERR_INVALID_ARGUMENT, "mu1");
    tu_assert_status(ddgan_frechet_distance(mu, s, mu, s, 2, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out");
    tu_assert_status(ddgan_frechet_distance(mu, s, mu, s, 0, &fd), DDGAN_ERR_INVALID_ARGUMENT, "dim 0");
    tu_assert_status(ddgan_frechet_distance(mu, s, mu, s, 5000, &fd), DDGAN_ERR_INVALID_ARGUMENT, "dim 5000");
    tu_assert_status(ddgan_frechet_distance(mu, asym, mu, s, 2, &fd), DDGAN_ERR_INVALID_ARGUMENT, "symmetric");
    tu_assert_status(ddgan_frechet_distance(mu, s, mu, neg, 2, &fd), DDGAN_ERR_INVALID_ARGUMENT,
                     "positive semi-definite");
    tu_assert_status(ddgan_frechet_distance(mu, nan_s, mu, s, 2, &fd), DDGAN_ERR_NUMERICAL, "not finite");
    tu_assert_status(ddgan_feature_stats(f, 1, 2, mu, s), DDGAN_ERR_INVALID_ARGUMENT, "n 1");
    tu_assert_status(ddgan_frechet_distance_features(f, 2, NULL, 2, 2, &fd), DDGAN_ERR_INVALID_ARGUMENT,
                     "fake");
    f[3] = INFINITY;
    tu_assert_status(ddgan_frechet_distance_features(f, 2, f, 2, 2, &fd), DDGAN_ERR_NUMERICAL, "real[3]");
}

/* ------------------------------------------------------------------------ */
/* Precision / recall */

static void test_precision_recall(void **state)
{
    (void)state;
    enum { D = 8 };
    const size_t n = 300;
    float *a = xcalloc(n * D, sizeof *a), *b = xcalloc(n * D, sizeof *b);
    uint64_t st = 7;
    for (size_t i = 0; i < n * D; i++) {
        a[i] = (float)gauss(&st);
        b[i] = a[i] + 100.0f; /* far away */
    }
    double p = -1, r = -1;
    assert_int_equal(ddgan_precision_recall(a, n, a, n, D, 3, &p, &r), DDGAN_OK);
    assert_true(p == 1.0 && r == 1.0);
    assert_int_equal(ddgan_precision_recall(a, n, b, n, D, 3, &p, &r), DDGAN_OK);
    assert_true(p == 0.0 && r == 0.0);
    /* a fake set collapsed onto one real point: precision 1, recall small */
    float *c = xcalloc(n * D, sizeof *c);
    for (size_t i = 0; i < n; i++)
        memcpy(c + i * D, a, D * sizeof *a);
    assert_int_equal(ddgan_precision_recall(a, n, c, n, D, 3, &p, &r), DDGAN_OK);
    print_message("    collapsed fake set: precision %.3f, recall %.3f\n", p, r);
    assert_true(p == 1.0);
    assert_true(r < 0.05);
    /* two samples of the same distribution: both high */
    for (size_t i = 0; i < n * D; i++)
        c[i] = (float)gauss(&st);
    assert_int_equal(ddgan_precision_recall(a, n, c, n, D, 3, &p, NULL), DDGAN_OK);
    assert_int_equal(ddgan_precision_recall(a, n, c, n, D, 3, NULL, &r), DDGAN_OK);
    print_message("    same distribution: precision %.3f, recall %.3f\n", p, r);
    assert_true(p > 0.6 && r > 0.6);
    tu_assert_status(ddgan_precision_recall(a, n, c, n, D, 0, &p, &r), DDGAN_ERR_INVALID_ARGUMENT, "k 0");
    tu_assert_status(ddgan_precision_recall(a, 3, c, n, D, 3, &p, &r), DDGAN_ERR_INVALID_ARGUMENT, "n_real 3");
    tu_assert_status(ddgan_precision_recall(NULL, n, c, n, D, 3, &p, &r), DDGAN_ERR_INVALID_ARGUMENT, "real");
    tu_assert_status(ddgan_precision_recall(a, n, c, n, 0, 3, &p, &r), DDGAN_ERR_INVALID_ARGUMENT, "dim 0");
    c[5] = NAN;
    tu_assert_status(ddgan_precision_recall(a, n, c, n, D, 3, &p, &r), DDGAN_ERR_NUMERICAL, "fake[5]");
    free(a);
    free(b);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* StackedMNIST counting */

static void test_stacked_counting(void **state)
{
    (void)state;
    const size_t n = 2000;
    int64_t *lab = xcalloc(n, sizeof *lab);
    ddgan_stacked_metrics m;
    assert_int_equal(ddgan_stacked_metrics_init(&m, sizeof m), DDGAN_OK);
    for (size_t i = 0; i < n; i++)
        lab[i] = (int64_t)(i % 1000); /* every mode twice: uniform */
    assert_int_equal(ddgan_stacked_metrics_from_labels(lab, n, &m), DDGAN_OK);
    assert_int_equal(m.modes, 1000);
    assert_true(fabs(m.kl) < 1e-12);
    assert_int_equal(m.num_samples, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        lab[i] = 417;
    assert_int_equal(ddgan_stacked_metrics_from_labels(lab, n, &m), DDGAN_OK);
    assert_int_equal(m.modes, 1);
    assert_true(fabs(m.kl - log(1000.0)) < 1e-12);
    for (size_t i = 0; i < n; i++) /* 10 modes, equally: KL = ln 100 */
        lab[i] = (int64_t)(100 * (i % 10));
    assert_int_equal(ddgan_stacked_metrics_from_labels(lab, n, &m), DDGAN_OK);
    assert_int_equal(m.modes, 10);
    assert_true(fabs(m.kl - log(100.0)) < 1e-12);
    lab[7] = 1000;
    tu_assert_status(ddgan_stacked_metrics_from_labels(lab, n, &m), DDGAN_ERR_INVALID_ARGUMENT, "labels[7]");
    tu_assert_status(ddgan_stacked_metrics_from_labels(NULL, n, &m), DDGAN_ERR_INVALID_ARGUMENT, "labels");
    tu_assert_status(ddgan_stacked_metrics_from_labels(lab, 0, &m), DDGAN_ERR_INVALID_ARGUMENT, "n 0");
    tu_assert_status(ddgan_stacked_metrics_from_labels(lab, n, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out");
    free(lab);
}

/* ------------------------------------------------------------------------ */
/* Classifier: a tiny network trained for a few steps on synthetic digits */

/* Synthetic "digits": class k is a bright horizontal bar at row 4 + 2k. */
static void synth_digits(float *x, int64_t *lab, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const int k = (int)(i % 10);
        lab[i] = k;
        for (int p = 0; p < PIX; p++)
            x[i * PIX + p] = -1.0f;
        for (int c = 6; c < 26; c++) {
            x[i * PIX + (4 + 2 * k) * 32 + c] = 1.0f;
            x[i * PIX + (5 + 2 * k) * 32 + c] = 1.0f;
        }
    }
}

static ddgan_classifier_t tiny_classifier(ddgan_context_t ctx, const float *x, const int64_t *lab, size_t n)
{
    ddgan_classifier_config cfg;
    assert_int_equal(ddgan_classifier_config_init(&cfg, sizeof cfg), DDGAN_OK);
    assert_int_equal(cfg.epochs, 6);
    assert_int_equal(cfg.hidden, 128);
    cfg.epochs = 40;
    cfg.width = 4;
    cfg.hidden = 16;
    cfg.batch_size = 20;
    cfg.max_shift = 0;
    cfg.lr = 1e-2f;
    ddgan_classifier_t c = NULL;
    ddgan_status_t st = ddgan_classifier_train(&c, ctx, x, lab, n, &cfg);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return c;
}

static void test_classifier_roundtrip(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx("ref", 2);
    assert_non_null(ctx);
    const size_t n = 100;
    float *x = xcalloc(n * PIX, sizeof *x);
    int64_t *lab = xcalloc(n, sizeof *lab);
    synth_digits(x, lab, n);
    ddgan_classifier_t c = tiny_classifier(ctx, x, lab, n);
    assert_int_equal(ddgan_classifier_feature_dim(c), 16);
    assert_non_null(strstr(ddgan_classifier_config_json(c), "\"DigitCNN\""));
    double acc = 0.0;
    assert_int_equal(ddgan_classifier_accuracy(c, x, lab, n, &acc), DDGAN_OK);
    print_message("    tiny classifier on bars: accuracy %.2f\n", acc);
    assert_true(acc >= 0.9);
    /* predict: labels and probabilities agree, probabilities sum to 1 */
    int64_t *pl = xcalloc(n, sizeof *pl);
    float *pr = xcalloc(n * 10, sizeof *pr);
    assert_int_equal(ddgan_classifier_predict(c, x, n, 1, pl, pr), DDGAN_OK);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        int arg = 0;
        for (int k = 0; k < 10; k++) {
            s += pr[i * 10 + k];
            if (pr[i * 10 + k] > pr[i * 10 + arg])
                arg = k;
        }
        assert_true(fabs(s - 1.0) < 1e-5);
        assert_int_equal(arg, pl[i]);
    }
    /* StackedMNIST composition: channels (a, b, c) of synthetic digits -> 100a + 10b + c */
    const size_t ns = 30;
    float *xs = xcalloc(ns * 3 * PIX, sizeof *xs);
    int64_t *want = xcalloc(ns, sizeof *want), *got = xcalloc(ns, sizeof *got);
    for (size_t i = 0; i < ns; i++) {
        const size_t d[3] = {i % n, (7 * i + 3) % n, (3 * i + 1) % n};
        for (int ch = 0; ch < 3; ch++)
            memcpy(xs + (i * 3 + (size_t)ch) * PIX, x + d[ch] * PIX, PIX * sizeof *x);
        want[i] = 100 * pl[d[0]] + 10 * pl[d[1]] + pl[d[2]];
    }
    ddgan_stacked_metrics sm;
    ddgan_stacked_metrics_init(&sm, sizeof sm);
    assert_int_equal(ddgan_eval_stacked(c, xs, ns, &sm, got), DDGAN_OK);
    for (size_t i = 0; i < ns; i++)
        assert_int_equal(got[i], want[i]);
    ddgan_stacked_metrics sm2;
    ddgan_stacked_metrics_init(&sm2, sizeof sm2);
    assert_int_equal(ddgan_stacked_metrics_from_labels(want, ns, &sm2), DDGAN_OK);
    assert_int_equal(sm.modes, sm2.modes);
    assert_true(sm.kl == sm2.kl);
    /* features of 3-channel images: [n, 3 * 16], channel blocks equal the 1-channel features */
    float *f3 = xcalloc(ns * 48, sizeof *f3), *f1 = xcalloc(16, sizeof *f1);
    assert_int_equal(ddgan_classifier_features(c, xs, ns, 3, f3), DDGAN_OK);
    assert_int_equal(ddgan_classifier_features(c, xs + (2 * 3 + 1) * PIX, 1, 1, f1), DDGAN_OK);
    for (int k = 0; k < 16; k++)
        assert_true(f1[k] == f3[2 * 48 + 16 + k]);

    /* save / load: identical outputs */
    char *dir = tu_make_tmpdir();
    char path[512], bad[512];
    snprintf(path, sizeof path, "%s/clf.safetensors", dir);
    assert_int_equal(ddgan_classifier_save(c, path), DDGAN_OK);
    ddgan_classifier_t c2 = NULL;
    assert_int_equal(ddgan_classifier_load(&c2, ctx, path), DDGAN_OK);
    assert_string_equal(ddgan_classifier_config_json(c), ddgan_classifier_config_json(c2));
    float *fa = xcalloc(n * 16, sizeof *fa), *fb = xcalloc(n * 16, sizeof *fb);
    assert_int_equal(ddgan_classifier_features(c, x, n, 1, fa), DDGAN_OK);
    assert_int_equal(ddgan_classifier_features(c2, x, n, 1, fb), DDGAN_OK);
    assert_memory_equal(fa, fb, n * 16 * sizeof *fa);
    /* image metrics: a set against itself */
    ddgan_image_metrics im;
    assert_int_equal(ddgan_image_metrics_init(&im, sizeof im), DDGAN_OK);
    assert_int_equal(ddgan_eval_images(c2, x, n, x, n, 1, &im), DDGAN_OK);
    assert_true(im.frechet < 1e-6 && im.precision == 1.0 && im.recall == 1.0);
    assert_int_equal(im.feature_dim, 16);
    ddgan_classifier_destroy(c2);

    /* bad files */
    c2 = (ddgan_classifier_t)1;
    snprintf(bad, sizeof bad, "%s/missing.safetensors", dir);
    tu_assert_status(ddgan_classifier_load(&c2, ctx, bad), DDGAN_ERR_IO, "missing.safetensors");
    assert_null(c2);
    snprintf(bad, sizeof bad, "%s/garbage.safetensors", dir);
    assert_int_equal(tu_write_file(bad, "not a safetensors file at all", 29), 0);
    tu_assert_status(ddgan_classifier_load(&c2, ctx, bad), DDGAN_ERR_FORMAT, NULL);
    /* a valid safetensors file without the config, then with another class, then a missing tensor */
    float t = 1.0f;
    const int64_t shape[1] = {1};
    const char *configs[3] = {NULL, "{\"cls\": \"NCSNpp\"}",
                              "{\"cls\": \"DigitCNN\", \"image_size\": 32, \"in_channels\": 1, "
                              "\"num_classes\": 10, \"width\": 4, \"hidden\": 16}"};
    const char *needles[3] = {"config", "DigitCNN", "missing tensor"};
    for (int i = 0; i < 3; i++) {
        ddgan_st_writer *w = NULL;
        assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
        assert_int_equal(ddgan__st_writer_add(w, "other", DDGAN_ST_F32, shape, 1, &t), DDGAN_OK);
        if (configs[i])
            assert_int_equal(ddgan__st_writer_add_metadata(w, "config", configs[i]), DDGAN_OK);
        assert_int_equal(ddgan__st_writer_write(w, bad), DDGAN_OK);
        ddgan__st_writer_destroy(w);
        tu_assert_status(ddgan_classifier_load(&c2, ctx, bad), DDGAN_ERR_FORMAT, needles[i]);
    }
    tu_assert_status(ddgan_classifier_save(c, NULL), DDGAN_ERR_INVALID_ARGUMENT, "path");
    snprintf(bad, sizeof bad, "%s/no/such/dir/clf.safetensors", dir);
    tu_assert_status(ddgan_classifier_save(c, bad), DDGAN_ERR_IO, NULL);

    free(fa);
    free(fb);
    free(f1);
    free(f3);
    free(xs);
    free(want);
    free(got);
    free(pl);
    free(pr);
    tu_rmdir_recursive(dir);
    free(dir);
    ddgan_classifier_destroy(c);
    free(x);
    free(lab);
    ddgan_context_destroy(ctx);
}

static void test_classifier_args(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx("ref", 1);
    const size_t n = 20;
    float *x = xcalloc(n * 3 * PIX, sizeof *x);
    int64_t *lab = xcalloc(n, sizeof *lab);
    synth_digits(x, lab, n);
    ddgan_classifier_t c = NULL;
    ddgan_classifier_config cfg;
    ddgan_classifier_config_init(&cfg, sizeof cfg);
    tu_assert_status(ddgan_classifier_train(NULL, ctx, x, lab, n, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out");
    tu_assert_status(ddgan_classifier_train(&c, NULL, x, lab, n, NULL), DDGAN_ERR_INVALID_ARGUMENT, "context");
    tu_assert_status(ddgan_classifier_train(&c, ctx, NULL, lab, n, NULL), DDGAN_ERR_INVALID_ARGUMENT, "images");
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, NULL, n, NULL), DDGAN_ERR_INVALID_ARGUMENT, "labels");
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, lab, 0, NULL), DDGAN_ERR_INVALID_ARGUMENT, "n 0");
    cfg.batch_size = 64; /* > n */
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, lab, n, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "batch_size");
    ddgan_classifier_config_init(&cfg, sizeof cfg);
    cfg.epochs = 0;
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, lab, n, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "epochs");
    ddgan_classifier_config_init(&cfg, sizeof cfg);
    cfg.struct_size = 2;
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, lab, n, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "struct_size");
    ddgan_classifier_config_init(&cfg, sizeof cfg);
    cfg.batch_size = 10;
    lab[3] = 10;
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, lab, n, &cfg), DDGAN_ERR_INVALID_ARGUMENT, "labels[3]");
    lab[3] = 3;
    x[5] = NAN;
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, lab, n, &cfg), DDGAN_ERR_NUMERICAL, "images[5]");
    x[5] = -1.0f;
    assert_null(c);
    /* a larger config struct with non-zero unknown bytes */
    struct {
        ddgan_classifier_config c;
        uint64_t extra;
    } big;
    ddgan_classifier_config_init(&big.c, sizeof big);
    big.extra = 1;
    tu_assert_status(ddgan_classifier_train(&c, ctx, x, lab, n, &big.c), DDGAN_ERR_VERSION_MISMATCH, NULL);

    int64_t pl[3];
    float f[3];
    double acc;
    ddgan_stacked_metrics sm;
    ddgan_stacked_metrics_init(&sm, sizeof sm);
    ddgan_image_metrics im;
    ddgan_image_metrics_init(&im, sizeof im);
    tu_assert_status(ddgan_classifier_predict(NULL, x, 1, 1, pl, NULL), DDGAN_ERR_INVALID_ARGUMENT, "classifier");
    tu_assert_status(ddgan_classifier_predict((ddgan_classifier_t)x, x, 1, 1, pl, NULL),
                     DDGAN_ERR_INVALID_ARGUMENT, "invalid classifier");
    tu_assert_status(ddgan_classifier_features(NULL, x, 1, 1, f), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    tu_assert_status(ddgan_classifier_accuracy(NULL, x, lab, 1, &acc), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    tu_assert_status(ddgan_eval_stacked(NULL, x, 1, &sm, NULL), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    tu_assert_status(ddgan_eval_images(NULL, x, 5, x, 5, 1, &im), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    tu_assert_status(ddgan_classifier_load(&c, ctx, NULL), DDGAN_ERR_INVALID_ARGUMENT, "path");
    tu_assert_status(ddgan_classifier_load(&c, NULL, "x"), DDGAN_ERR_INVALID_ARGUMENT, "context");
    tu_assert_status(ddgan_classifier_save(NULL, "x"), DDGAN_ERR_INVALID_ARGUMENT, "classifier");
    assert_int_equal(ddgan_classifier_feature_dim(NULL), 0);
    assert_null(ddgan_classifier_config_json(NULL));
    ddgan_classifier_destroy(NULL);
    /* with a real handle: channels, n and NULL outputs */
    ddgan_classifier_config_init(&cfg, sizeof cfg);
    cfg.epochs = 1;
    cfg.width = 2;
    cfg.hidden = 4;
    cfg.batch_size = 10;
    assert_int_equal(ddgan_classifier_train(&c, ctx, x, lab, n, &cfg), DDGAN_OK);
    tu_assert_status(ddgan_classifier_predict(c, x, 1, 0, pl, NULL), DDGAN_ERR_INVALID_ARGUMENT, "channels 0");
    tu_assert_status(ddgan_classifier_predict(c, x, 0, 1, pl, NULL), DDGAN_ERR_INVALID_ARGUMENT, "n 0");
    tu_assert_status(ddgan_classifier_features(c, x, 1, 1, NULL), DDGAN_ERR_INVALID_ARGUMENT, "features");
    tu_assert_status(ddgan_classifier_accuracy(c, x, lab, 1, NULL), DDGAN_ERR_INVALID_ARGUMENT, "accuracy");
    tu_assert_status(ddgan_eval_stacked(c, x, 1, NULL, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out");
    tu_assert_status(ddgan_eval_images(c, x, 3, x, 5, 1, &im), DDGAN_ERR_INVALID_ARGUMENT, "n_real 3");
    tu_assert_status(ddgan_eval_stacked_dataset(c, NULL, 1, &sm), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    ddgan_classifier_destroy(c);
    free(x);
    free(lab);
    ddgan_context_destroy(ctx);
}

/* ------------------------------------------------------------------------ */
/* StackedMNIST from a dataset: a synthetic IDX folder of bar digits */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void test_stacked_dataset(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx("ref", 2);
    const size_t n = 100;
    float *x = xcalloc(n * PIX, sizeof *x);
    int64_t *lab = xcalloc(n, sizeof *lab);
    synth_digits(x, lab, n);
    ddgan_classifier_t c = tiny_classifier(ctx, x, lab, n);
    /* the same bars as 28 x 28 IDX digits (pad 2 puts them where synth_digits draws them) */
    char *dir = tu_make_tmpdir();
    const size_t nd = 40;
    unsigned char *img = xcalloc(16 + nd * 784, 1), *lb = xcalloc(8 + nd, 1);
    put_be32(img, 0x00000803u);
    put_be32(img + 4, (uint32_t)nd);
    put_be32(img + 8, 28);
    put_be32(img + 12, 28);
    put_be32(lb, 0x00000801u);
    put_be32(lb + 4, (uint32_t)nd);
    for (size_t i = 0; i < nd; i++) {
        const int k = (int)((i * 7) % 10);
        lb[8 + i] = (unsigned char)k;
        for (int col = 4; col < 24; col++) {
            img[16 + i * 784 + (size_t)(2 + 2 * k) * 28 + (size_t)col] = 255;
            img[16 + i * 784 + (size_t)(3 + 2 * k) * 28 + (size_t)col] = 255;
        }
    }
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/train-images-idx3-ubyte", dir);
    snprintf(p2, sizeof p2, "%s/train-labels-idx1-ubyte", dir);
    assert_int_equal(tu_write_file(p1, img, 16 + nd * 784), 0);
    assert_int_equal(tu_write_file(p2, lb, 8 + nd), 0);
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_STACKED_MNIST;
    dc.path = dir;
    dc.pad = 2;
    dc.shuffle = 0;
    dc.num_examples = 1500; /* more than one chunk of the scorer */
    ddgan_dataset_t ds = NULL;
    assert_int_equal(ddgan_dataset_open(&ds, &dc), DDGAN_OK);
    const size_t ns = 1500;
    float *xs = xcalloc(ns * 3 * PIX, sizeof *xs);
    int64_t *truth = xcalloc(ns, sizeof *truth), *pred = xcalloc(ns, sizeof *pred);
    for (size_t i = 0; i < ns; i++)
        assert_int_equal(ddgan_dataset_get(ds, (int64_t)i, xs + i * 3 * PIX, truth + i), DDGAN_OK);
    ddgan_stacked_metrics a, b, t;
    ddgan_stacked_metrics_init(&a, sizeof a);
    ddgan_stacked_metrics_init(&b, sizeof b);
    ddgan_stacked_metrics_init(&t, sizeof t);
    assert_int_equal(ddgan_eval_stacked(c, xs, ns, &a, pred), DDGAN_OK);
    assert_int_equal(ddgan_eval_stacked_dataset(c, ds, ns, &b), DDGAN_OK);
    assert_int_equal(ddgan_stacked_metrics_from_labels(truth, ns, &t), DDGAN_OK);
    for (size_t i = 0; i < ns; i++)
        assert_int_equal(pred[i], truth[i]);
    assert_int_equal(a.modes, b.modes);
    assert_true(a.kl == b.kl);
    assert_int_equal(a.modes, t.modes);
    assert_true(a.kl == t.kl);
    print_message("    synthetic StackedMNIST (%zu): %d modes, KL %.4f, every label right\n", ns, a.modes, a.kl);
    tu_assert_status(ddgan_eval_stacked_dataset(c, ds, ns + 1, &b), DDGAN_ERR_INVALID_ARGUMENT, "n 1501");
    ddgan_dataset_destroy(ds);
    dc.kind = DDGAN_DATASET_IDX; /* one channel: refused */
    dc.num_examples = 0;
    assert_int_equal(ddgan_dataset_open(&ds, &dc), DDGAN_OK);
    tu_assert_status(ddgan_eval_stacked_dataset(c, ds, 4, &b), DDGAN_ERR_INVALID_ARGUMENT, "not 3x32x32");
    ddgan_dataset_destroy(ds);
    free(xs);
    free(truth);
    free(pred);
    free(img);
    free(lb);
    tu_rmdir_recursive(dir);
    free(dir);
    ddgan_classifier_destroy(c);
    free(x);
    free(lab);
    ddgan_context_destroy(ctx);
}

/* ------------------------------------------------------------------------ */
/* Sampling speed */

static void test_time_sampling(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx("ref", 1);
    ddgan_generator_t g = NULL;
    assert_int_equal(ddgan_generator_create_json(&g, ctx,
                                                 "{\"cls\": \"ToyMLP\", \"hidden_dim\": 16, \"nz\": 2, "
                                                 "\"num_timesteps\": 4}"),
                     DDGAN_OK);
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.num_timesteps = 4;
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, &sc), DDGAN_OK);
    double spi = -1.0;
    assert_int_equal(ddgan_time_sampling(g, s, 64, 0, 2, 1, &spi), DDGAN_OK);
    print_message("    ToyMLP DDGAN T = 4: %.3g s/sample\n", spi);
    assert_true(spi > 0.0 && isfinite(spi));
    /* DDPM needs its own schedule kind: the DDGAN one is refused with the sampler's message */
    ddgan_status_t st = ddgan_time_sampling(g, s, 64, 4, 1, 1, &spi);
    assert_int_not_equal(st, DDGAN_OK);
    assert_non_null(strstr(ddgan_last_error(), "ddgan_time_sampling"));
    ddgan_schedule_t sd = NULL;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.kind = DDGAN_SCHEDULE_DDPM_LINEAR;
    sc.num_timesteps = 4;
    sc.beta_min = 1e-4;
    sc.beta_max = 0.02;
    assert_int_equal(ddgan_schedule_create(&sd, ctx, &sc), DDGAN_OK);
    ddgan_generator_t gd = NULL;
    assert_int_equal(ddgan_generator_create_json(&gd, ctx,
                                                 "{\"cls\": \"ToyMLP\", \"hidden_dim\": 16, \"nz\": 2, "
                                                 "\"num_timesteps\": 4, \"beta_min\": 1e-4, \"beta_max\": 0.02}"),
                     DDGAN_OK);
    st = ddgan_time_sampling(gd, sd, 64, 4, 1, 1, &spi);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    print_message("    ToyMLP DDPM 4 steps: %.3g s/sample\n", spi);
    assert_true(spi > 0.0);
    tu_assert_status(ddgan_time_sampling(g, s, 0, 0, 1, 1, &spi), DDGAN_ERR_INVALID_ARGUMENT, "n 0");
    tu_assert_status(ddgan_time_sampling(g, s, 4, -1, 1, 1, &spi), DDGAN_ERR_INVALID_ARGUMENT, "num_steps");
    tu_assert_status(ddgan_time_sampling(g, s, 4, 0, 0, 1, &spi), DDGAN_ERR_INVALID_ARGUMENT, "repeats");
    tu_assert_status(ddgan_time_sampling(g, s, 4, 0, 1, 1, NULL), DDGAN_ERR_INVALID_ARGUMENT, "sec_per_image");
    tu_assert_status(ddgan_time_sampling(NULL, s, 4, 0, 1, 1, &spi), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    ddgan_generator_destroy(gd);
    ddgan_schedule_destroy(sd);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

/* ------------------------------------------------------------------------ */
/* Allocation failures: every allocation of the evaluation path is checked */

typedef struct fail_state {
    int countdown; /* allocations left before the failing one */
} fail_state;

static void *failing_malloc(void *user, size_t bytes)
{
    fail_state *fs = user;
    if (fs->countdown-- == 0)
        return NULL;
    return malloc(bytes);
}

static void plain_free(void *user, void *p)
{
    (void)user;
    free(p);
}

/* The whole evaluation path once; returns the first failing status. */
static ddgan_status_t eval_path(ddgan_context_t ctx, const float *x, const int64_t *lab, size_t n,
                                const char *path)
{
    ddgan_classifier_config cfg;
    ddgan_classifier_config_init(&cfg, sizeof cfg);
    cfg.epochs = 1;
    cfg.width = 2;
    cfg.hidden = 4;
    cfg.batch_size = 10;
    ddgan_classifier_t c = NULL, c2 = NULL;
    ddgan_status_t st = ddgan_classifier_train(&c, ctx, x, lab, n, &cfg);
    if (st == DDGAN_OK)
        st = ddgan_classifier_save(c, path);
    if (st == DDGAN_OK)
        st = ddgan_classifier_load(&c2, ctx, path);
    ddgan_image_metrics im;
    ddgan_image_metrics_init(&im, sizeof im);
    if (st == DDGAN_OK)
        st = ddgan_eval_images(c2, x, n, x, n, 1, &im);
    ddgan_stacked_metrics sm;
    ddgan_stacked_metrics_init(&sm, sizeof sm);
    if (st == DDGAN_OK)
        st = ddgan_eval_stacked(c2, x, n / 3, &sm, NULL);
    double acc;
    if (st == DDGAN_OK)
        st = ddgan_classifier_accuracy(c2, x, lab, n, &acc);
    double fd;
    if (st == DDGAN_OK)
        st = ddgan_frechet_distance_features(x, n, x, n, 16, &fd);
    ddgan_classifier_destroy(c2);
    ddgan_classifier_destroy(c);
    return st;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx("ref", 1);
    const size_t n = 30;
    float *x = xcalloc(n * PIX, sizeof *x);
    int64_t *lab = xcalloc(n, sizeof *lab);
    synth_digits(x, lab, n);
    char *dir = tu_make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/clf.safetensors", dir);
    int done = 0, failures = 0;
    for (int k = 0; k < 2000 && !done; k++) {
        fail_state fs = {k};
        ddgan_alloc_hooks hooks = {failing_malloc, plain_free, &fs};
        ddgan__alloc_set_hooks(&hooks);
        ddgan_status_t st = eval_path(ctx, x, lab, n, path);
        ddgan__alloc_set_hooks(NULL);
        if (st == DDGAN_OK) {
            done = 1;
        } else {
            tu_assert_status(st, DDGAN_ERR_OUT_OF_MEMORY, NULL);
            failures++;
        }
    }
    print_message("    %d injected allocation failures, each reported as DDGAN_ERR_OUT_OF_MEMORY\n", failures);
    assert_true(done);
    assert_true(failures > 10);
    tu_rmdir_recursive(dir);
    free(dir);
    free(x);
    free(lab);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy_real_data),
        cmocka_unit_test(test_toy_collapsed),
        cmocka_unit_test(test_toy_args),
        cmocka_unit_test(test_frechet_closed_form),
        cmocka_unit_test(test_frechet_sampled),
        cmocka_unit_test(test_frechet_args),
        cmocka_unit_test(test_precision_recall),
        cmocka_unit_test(test_stacked_counting),
        cmocka_unit_test(test_classifier_roundtrip),
        cmocka_unit_test(test_classifier_args),
        cmocka_unit_test(test_stacked_dataset),
        cmocka_unit_test(test_time_sampling),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
