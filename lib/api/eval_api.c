/* Public entry points: evaluation (docs/eval.md). Argument checks live here;
 * lib/eval does the work. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/struct_io.h"
#include "eval/eval.h"

#define NCLS DDGAN_CLASSIFIER_CLASSES
#define PIX (DDGAN_CLASSIFIER_SIZE * DDGAN_CLASSIFIER_SIZE)
#define STACKED_MODES 1000
/* Bounds that keep every size product far from overflow. */
#define MAX_ROWS ((size_t)1 << 31)

#define BAD_ARG(...) DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, __VA_ARGS__)

static ddgan_status_t check_finite(const float *x, size_t n, const char *what, const char *fn)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "%s: %s[%zu] is not finite", fn, what, i);
    return DDGAN_OK;
}

/* Checks an output struct's struct_size before any work is done. */
static ddgan_status_t check_out(const void *out, const char *fn)
{
    if (!out)
        return BAD_ARG("%s: out is NULL", fn);
    uint32_t size;
    memcpy(&size, out, sizeof size);
    if (size < sizeof(uint32_t) || size > DDGAN_MAX_STRUCT_SIZE)
        return BAD_ARG("%s: out->struct_size %u is invalid (set it with the matching _init function)", fn,
                       (unsigned)size);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* 2-D mixtures */

static const ddgan_toy_metrics g_toy_defaults = {.struct_size = sizeof(ddgan_toy_metrics)};

DDGAN_API ddgan_status_t ddgan_toy_metrics_init(ddgan_toy_metrics *m, size_t struct_size)
{
    return ddgan__struct_init(m, struct_size, &g_toy_defaults, sizeof g_toy_defaults,
                              "ddgan_toy_metrics_init");
}

DDGAN_API ddgan_status_t ddgan_eval_toy(const float *samples, size_t n, int mixture, ddgan_toy_metrics *out)
{
    static const char fn[] = "ddgan_eval_toy";
    DDGAN_TRY(check_out(out, fn));
    if (!samples)
        return BAD_ARG("%s: samples is NULL", fn);
    if (n < 1 || n > MAX_ROWS)
        return BAD_ARG("%s: n %zu not in [1, 2^31]", fn, n);
    if (mixture != DDGAN_TOY_GRID25 && mixture != DDGAN_TOY_RING8)
        return BAD_ARG("%s: mixture %d is neither DDGAN_TOY_GRID25 (0) nor DDGAN_TOY_RING8 (1)", fn, mixture);
    /* the modes and sigmas of lib/data/mixtures.c (ring radius 1) */
    double means[25][2];
    int K;
    double sigma;
    if (mixture == DDGAN_TOY_GRID25) {
        K = 25;
        sigma = 0.05;
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) {
                means[5 * i + j][0] = -4.0 + 2.0 * i;
                means[5 * i + j][1] = -4.0 + 2.0 * j;
            }
    } else {
        K = 8;
        sigma = 0.01;
        const double two_pi = 6.283185307179586476925286766559;
        for (int k = 0; k < 8; k++) {
            means[k][0] = cos(two_pi * k / 8.0);
            means[k][1] = sin(two_pi * k / 8.0);
        }
    }
    ddgan_toy_metrics m;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    m.num_modes = K;
    m.num_samples = (int64_t)n;
    const double r2 = 9.0 * sigma * sigma; /* (3 sigma)^2 */
    for (size_t i = 0; i < n; i++) {
        const double x = samples[2 * i], y = samples[2 * i + 1];
        if (!isfinite(x) || !isfinite(y))
            continue;
        double best = INFINITY;
        int bk = 0;
        for (int k = 0; k < K; k++) {
            const double dx = x - means[k][0], dy = y - means[k][1], d = dx * dx + dy * dy;
            if (d < best) {
                best = d;
                bk = k;
            }
        }
        if (best <= r2) {
            m.num_hq++;
            m.mode_counts[bk]++;
        }
    }
    for (int k = 0; k < K; k++)
        m.modes += m.mode_counts[k] > 0;
    m.hq_fraction = (double)m.num_hq / (double)n;
    m.reverse_kl = ddgan__kl_uniform(m.mode_counts, (size_t)K, m.num_hq);
    return ddgan__struct_write(out, &m, sizeof m, fn, "out");
}

/* ------------------------------------------------------------------------ */
/* Frechet distance, precision / recall */

static ddgan_status_t check_dim(size_t dim, const char *fn)
{
    if (dim < 1 || dim > DDGAN_EVAL_MAX_DIM)
        return BAD_ARG("%s: dim %zu not in [1, %d]", fn, dim, DDGAN_EVAL_MAX_DIM);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_feature_stats(const float *features, size_t n, size_t dim, double *mu,
                                             double *sigma)
{
    static const char fn[] = "ddgan_feature_stats";
    if (!features || !mu || !sigma)
        return BAD_ARG("%s: %s is NULL", fn, !features ? "features" : !mu ? "mu" : "sigma");
    DDGAN_TRY(check_dim(dim, fn));
    if (n < 2 || n > MAX_ROWS)
        return BAD_ARG("%s: n %zu not in [2, 2^31] (a covariance needs two rows)", fn, n);
    DDGAN_TRY(check_finite(features, n * dim, "features", fn));
    ddgan__feature_stats(features, n, dim, mu, sigma);
    return DDGAN_OK;
}

static ddgan_status_t check_cov(const double *s, size_t dim, const char *what, const char *fn)
{
    double big = 0.0;
    for (size_t i = 0; i < dim * dim; i++) {
        if (!isfinite(s[i]))
            return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "%s: %s[%zu] is not finite", fn, what, i);
        big = fmax(big, fabs(s[i]));
    }
    for (size_t i = 0; i < dim; i++)
        for (size_t j = i + 1; j < dim; j++)
            if (fabs(s[i * dim + j] - s[j * dim + i]) > 1e-9 * big)
                return BAD_ARG("%s: %s is not symmetric (entries (%zu,%zu) and (%zu,%zu) differ)", fn, what,
                               i, j, j, i);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_frechet_distance(const double *mu1, const double *sigma1,
                                                const double *mu2, const double *sigma2, size_t dim,
                                                double *out)
{
    static const char fn[] = "ddgan_frechet_distance";
    if (!mu1 || !sigma1 || !mu2 || !sigma2 || !out)
        return BAD_ARG("%s: %s is NULL", fn,
                       !mu1 ? "mu1" : !sigma1 ? "sigma1" : !mu2 ? "mu2" : !sigma2 ? "sigma2" : "out");
    DDGAN_TRY(check_dim(dim, fn));
    DDGAN_TRY(check_cov(sigma1, dim, "sigma1", fn));
    DDGAN_TRY(check_cov(sigma2, dim, "sigma2", fn));
    return ddgan__frechet(mu1, sigma1, mu2, sigma2, dim, out, fn);
}

DDGAN_API ddgan_status_t ddgan_frechet_distance_features(const float *real, size_t n_real,
                                                         const float *fake, size_t n_fake, size_t dim,
                                                         double *out)
{
    static const char fn[] = "ddgan_frechet_distance_features";
    if (!real || !fake || !out)
        return BAD_ARG("%s: %s is NULL", fn, !real ? "real" : !fake ? "fake" : "out");
    DDGAN_TRY(check_dim(dim, fn));
    if (n_real < 2 || n_fake < 2 || n_real > MAX_ROWS || n_fake > MAX_ROWS)
        return BAD_ARG("%s: n_real %zu and n_fake %zu must be in [2, 2^31]", fn, n_real, n_fake);
    DDGAN_TRY(check_finite(real, n_real * dim, "real", fn));
    DDGAN_TRY(check_finite(fake, n_fake * dim, "fake", fn));
    return ddgan__frechet_features(real, n_real, fake, n_fake, dim, out, fn);
}

static ddgan_status_t check_pr(const float *real, size_t n_real, const float *fake, size_t n_fake,
                               size_t dim, int k, const char *fn)
{
    if (!real || !fake)
        return BAD_ARG("%s: %s is NULL", fn, !real ? "real" : "fake");
    if (dim < 1 || dim > ((size_t)1 << 20))
        return BAD_ARG("%s: dim %zu not in [1, 2^20]", fn, dim);
    if (k < 1 || k > DDGAN_PR_MAX_K)
        return BAD_ARG("%s: k %d not in [1, %d]", fn, k, DDGAN_PR_MAX_K);
    if (n_real <= (size_t)k || n_fake <= (size_t)k || n_real > MAX_ROWS || n_fake > MAX_ROWS)
        return BAD_ARG("%s: n_real %zu and n_fake %zu must be in [k + 1 = %d, 2^31]", fn, n_real, n_fake,
                       k + 1);
    DDGAN_TRY(check_finite(real, n_real * dim, "real", fn));
    return check_finite(fake, n_fake * dim, "fake", fn);
}

DDGAN_API ddgan_status_t ddgan_precision_recall(const float *real, size_t n_real, const float *fake,
                                                size_t n_fake, size_t dim, int k, double *precision,
                                                double *recall)
{
    static const char fn[] = "ddgan_precision_recall";
    DDGAN_TRY(check_pr(real, n_real, fake, n_fake, dim, k, fn));
    return ddgan__precision_recall(real, n_real, fake, n_fake, dim, k, precision, recall, fn);
}

/* ------------------------------------------------------------------------ */
/* Classifier */

static const ddgan_classifier_config g_clf_defaults = {
    .struct_size = sizeof(ddgan_classifier_config),
    .epochs = 6,
    .batch_size = 64,
    .lr = 3e-3f,
    .beta1 = 0.9f,
    .beta2 = 0.999f,
    .adam_eps = 1e-8f,
    .max_shift = 2,
    .seed = 0,
    .width = 32,
    .hidden = 128,
};

DDGAN_API ddgan_status_t ddgan_classifier_config_init(ddgan_classifier_config *cfg, size_t struct_size)
{
    return ddgan__struct_init(cfg, struct_size, &g_clf_defaults, sizeof g_clf_defaults,
                              "ddgan_classifier_config_init");
}

static ddgan_status_t check_clf(ddgan_classifier_t c, const char *fn)
{
    if (!c)
        return BAD_ARG("%s: classifier is NULL", fn);
    if (c->magic != DDGAN_MAGIC_CLASSIFIER)
        return BAD_ARG("%s: invalid classifier handle", fn);
    return DDGAN_OK;
}

static ddgan_status_t check_images(const float *images, size_t n, int channels, const char *fn)
{
    if (!images)
        return BAD_ARG("%s: images is NULL", fn);
    if (channels < 1 || channels > 64)
        return BAD_ARG("%s: channels %d not in [1, 64]", fn, channels);
    if (n < 1 || n > MAX_ROWS / 64)
        return BAD_ARG("%s: n %zu not in [1, 2^25]", fn, n);
    return check_finite(images, n * (size_t)channels * PIX, "images", fn);
}

DDGAN_API ddgan_status_t ddgan_classifier_train(ddgan_classifier_t *out, ddgan_context_t ctx,
                                                const float *images, const int64_t *labels, size_t n,
                                                const ddgan_classifier_config *cfg)
{
    static const char fn[] = "ddgan_classifier_train";
    if (!out)
        return BAD_ARG("%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(ddgan__context_check(ctx, fn));
    if (!labels)
        return BAD_ARG("%s: labels is NULL", fn);
    DDGAN_TRY(check_images(images, n, 1, fn));
    ddgan_classifier_config c = g_clf_defaults;
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&c, sizeof c, cfg, fn, "cfg"));
    if (c.epochs < 1 || c.epochs > 1000)
        return BAD_ARG("%s: epochs %d not in [1, 1000]", fn, c.epochs);
    if (c.batch_size < 1 || c.batch_size > 4096 || (size_t)c.batch_size > n)
        return BAD_ARG("%s: batch_size %d not in [1, min(4096, n = %zu)]", fn, c.batch_size, n);
    if (!(c.lr > 0.0f) || !isfinite(c.lr))
        return BAD_ARG("%s: lr %g must be > 0", fn, (double)c.lr);
    if (!(c.beta1 >= 0.0f && c.beta1 < 1.0f) || !(c.beta2 >= 0.0f && c.beta2 < 1.0f))
        return BAD_ARG("%s: beta1 %g and beta2 %g must be in [0, 1)", fn, (double)c.beta1, (double)c.beta2);
    if (!(c.adam_eps > 0.0f) || !isfinite(c.adam_eps))
        return BAD_ARG("%s: adam_eps %g must be > 0", fn, (double)c.adam_eps);
    if (c.max_shift < 0 || c.max_shift > 8)
        return BAD_ARG("%s: max_shift %d not in [0, 8]", fn, c.max_shift);
    if (c.width < 1 || c.width > 256)
        return BAD_ARG("%s: width %d not in [1, 256]", fn, c.width);
    if (c.hidden < 1 || c.hidden > 4096)
        return BAD_ARG("%s: hidden %d not in [1, 4096]", fn, c.hidden);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= NCLS)
            return BAD_ARG("%s: labels[%zu] = %lld is not a digit 0..9", fn, i, (long long)labels[i]);
    ddgan_clf_train_args a = {
        .epochs = c.epochs, .batch_size = c.batch_size, .max_shift = c.max_shift, .lr = c.lr,
        .beta1 = c.beta1, .beta2 = c.beta2, .eps = c.adam_eps, .seed = c.seed,
    };
    struct ddgan_classifier *clf = NULL;
    DDGAN_TRY(ddgan__clf_create(&clf, ctx, c.width, c.hidden, 1, fn));
    ddgan_status_t st = ddgan__clf_train(clf, images, labels, n, &a, fn);
    if (st != DDGAN_OK) {
        ddgan__clf_destroy(clf);
        return st;
    }
    ctx->live_children++;
    *out = clf;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_classifier_load(ddgan_classifier_t *out, ddgan_context_t ctx, const char *path)
{
    static const char fn[] = "ddgan_classifier_load";
    if (!out)
        return BAD_ARG("%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(ddgan__context_check(ctx, fn));
    if (!path)
        return BAD_ARG("%s: path is NULL", fn);
    DDGAN_TRY(ddgan__clf_load(out, ctx, path, fn));
    ctx->live_children++;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_classifier_save(ddgan_classifier_t c, const char *path)
{
    static const char fn[] = "ddgan_classifier_save";
    DDGAN_TRY(check_clf(c, fn));
    if (!path)
        return BAD_ARG("%s: path is NULL", fn);
    return ddgan__clf_save(c, path, fn);
}

DDGAN_API void ddgan_classifier_destroy(ddgan_classifier_t c)
{
    if (!c || c->magic != DDGAN_MAGIC_CLASSIFIER)
        return;
    c->ctx->live_children--;
    ddgan__clf_destroy(c);
}

DDGAN_API size_t ddgan_classifier_feature_dim(ddgan_classifier_t c)
{
    return c && c->magic == DDGAN_MAGIC_CLASSIFIER ? (size_t)c->hidden : 0;
}

DDGAN_API const char *ddgan_classifier_config_json(ddgan_classifier_t c)
{
    return c && c->magic == DDGAN_MAGIC_CLASSIFIER ? c->config_json : NULL;
}

/* softmax of one row of logits in float64 */
static void softmax_row(const float *z, float *p)
{
    double m = z[0], e[NCLS], s = 0.0;
    for (int k = 1; k < NCLS; k++)
        m = fmax(m, (double)z[k]);
    for (int k = 0; k < NCLS; k++)
        s += (e[k] = exp((double)z[k] - m));
    for (int k = 0; k < NCLS; k++)
        p[k] = (float)(e[k] / s);
}

static int64_t argmax_row(const float *z)
{
    int64_t best = 0;
    for (int k = 1; k < NCLS; k++)
        if (z[k] > z[best])
            best = k;
    return best;
}

/* Labels (and probabilities) of m single-channel images. */
static ddgan_status_t predict_flat(ddgan_classifier_t c, const float *images, size_t m, int64_t *labels,
                                   float *probs, const char *fn)
{
    float *logits = ddgan__malloc(m * NCLS * sizeof(float), fn);
    if (!logits)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_status_t st = ddgan__clf_run(c, images, m, logits, NULL, fn);
    for (size_t i = 0; st == DDGAN_OK && i < m; i++) {
        if (labels)
            labels[i] = argmax_row(logits + i * NCLS);
        if (probs)
            softmax_row(logits + i * NCLS, probs + i * NCLS);
    }
    ddgan__free(logits);
    return st;
}

DDGAN_API ddgan_status_t ddgan_classifier_predict(ddgan_classifier_t c, const float *images, size_t n,
                                                  int channels, int64_t *labels, float *probs)
{
    static const char fn[] = "ddgan_classifier_predict";
    DDGAN_TRY(check_clf(c, fn));
    DDGAN_TRY(check_images(images, n, channels, fn));
    /* channel c of image i is the contiguous 32 x 32 block i * channels + c */
    return predict_flat(c, images, n * (size_t)channels, labels, probs, fn);
}

DDGAN_API ddgan_status_t ddgan_classifier_features(ddgan_classifier_t c, const float *images, size_t n,
                                                   int channels, float *features)
{
    static const char fn[] = "ddgan_classifier_features";
    DDGAN_TRY(check_clf(c, fn));
    if (!features)
        return BAD_ARG("%s: features is NULL", fn);
    DDGAN_TRY(check_images(images, n, channels, fn));
    /* rows of the flat run are (image, channel) pairs: exactly [n, channels * hidden] */
    return ddgan__clf_run(c, images, n * (size_t)channels, NULL, features, fn);
}

DDGAN_API ddgan_status_t ddgan_classifier_accuracy(ddgan_classifier_t c, const float *images,
                                                   const int64_t *labels, size_t n, double *accuracy)
{
    static const char fn[] = "ddgan_classifier_accuracy";
    DDGAN_TRY(check_clf(c, fn));
    if (!labels || !accuracy)
        return BAD_ARG("%s: %s is NULL", fn, !labels ? "labels" : "accuracy");
    DDGAN_TRY(check_images(images, n, 1, fn));
    int64_t *pred = ddgan__malloc(n * sizeof *pred, fn);
    if (!pred)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_status_t st = predict_flat(c, images, n, pred, NULL, fn);
    if (st == DDGAN_OK) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += pred[i] == labels[i];
        *accuracy = (double)ok / (double)n;
    }
    ddgan__free(pred);
    return st;
}

/* ------------------------------------------------------------------------ */
/* StackedMNIST */

static const ddgan_stacked_metrics g_stacked_defaults = {.struct_size = sizeof(ddgan_stacked_metrics)};

DDGAN_API ddgan_status_t ddgan_stacked_metrics_init(ddgan_stacked_metrics *m, size_t struct_size)
{
    return ddgan__struct_init(m, struct_size, &g_stacked_defaults, sizeof g_stacked_defaults,
                              "ddgan_stacked_metrics_init");
}

static ddgan_status_t stacked_from_labels(const int64_t *labels, size_t n, ddgan_stacked_metrics *out,
                                          const char *fn)
{
    int64_t *counts = ddgan__calloc(STACKED_MODES, sizeof *counts, fn);
    if (!counts)
        return DDGAN_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= STACKED_MODES) {
            ddgan__free(counts);
            return BAD_ARG("%s: labels[%zu] = %lld not in [0, 999]", fn, i, (long long)labels[i]);
        }
        counts[labels[i]]++;
    }
    ddgan_stacked_metrics m;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    for (int k = 0; k < STACKED_MODES; k++)
        m.modes += counts[k] > 0;
    m.kl = ddgan__kl_uniform(counts, STACKED_MODES, (int64_t)n);
    m.num_samples = (int64_t)n;
    ddgan__free(counts);
    return ddgan__struct_write(out, &m, sizeof m, fn, "out");
}

DDGAN_API ddgan_status_t ddgan_stacked_metrics_from_labels(const int64_t *labels, size_t n,
                                                           ddgan_stacked_metrics *out)
{
    static const char fn[] = "ddgan_stacked_metrics_from_labels";
    DDGAN_TRY(check_out(out, fn));
    if (!labels)
        return BAD_ARG("%s: labels is NULL", fn);
    if (n < 1 || n > MAX_ROWS)
        return BAD_ARG("%s: n %zu not in [1, 2^31]", fn, n);
    return stacked_from_labels(labels, n, out, fn);
}

/* per-channel digits (a, b, c) of n images -> lab[i] = 100 a + 10 b + c */
static ddgan_status_t stacked_labels(ddgan_classifier_t c, const float *images, size_t n, int64_t *lab,
                                     const char *fn)
{
    int64_t *digits = ddgan__malloc(3 * n * sizeof *digits, fn);
    if (!digits)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_status_t st = predict_flat(c, images, 3 * n, digits, NULL, fn);
    for (size_t i = 0; st == DDGAN_OK && i < n; i++)
        lab[i] = 100 * digits[3 * i] + 10 * digits[3 * i + 1] + digits[3 * i + 2];
    ddgan__free(digits);
    return st;
}

static ddgan_status_t stacked_score(ddgan_classifier_t c, const float *images, size_t n,
                                    ddgan_stacked_metrics *out, int64_t *labels, const char *fn)
{
    int64_t *lab = ddgan__malloc(n * sizeof *lab, fn);
    if (!lab)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_status_t st = stacked_labels(c, images, n, lab, fn);
    if (st == DDGAN_OK)
        st = stacked_from_labels(lab, n, out, fn);
    if (st == DDGAN_OK && labels)
        memcpy(labels, lab, n * sizeof *lab);
    ddgan__free(lab);
    return st;
}

DDGAN_API ddgan_status_t ddgan_eval_stacked(ddgan_classifier_t c, const float *images, size_t n,
                                            ddgan_stacked_metrics *out, int64_t *labels)
{
    static const char fn[] = "ddgan_eval_stacked";
    DDGAN_TRY(check_clf(c, fn));
    DDGAN_TRY(check_out(out, fn));
    DDGAN_TRY(check_images(images, n, 3, fn));
    return stacked_score(c, images, n, out, labels, fn);
}

DDGAN_API ddgan_status_t ddgan_eval_stacked_dataset(ddgan_classifier_t c, ddgan_dataset_t ds, size_t n,
                                                    ddgan_stacked_metrics *out)
{
    static const char fn[] = "ddgan_eval_stacked_dataset";
    DDGAN_TRY(check_clf(c, fn));
    DDGAN_TRY(check_out(out, fn));
    int ch = 0, h = 0, w = 0;
    ddgan_status_t st = ddgan_dataset_shape(ds, &ch, &h, &w);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    if (ch != 3 || h != DDGAN_CLASSIFIER_SIZE || w != DDGAN_CLASSIFIER_SIZE)
        return BAD_ARG("%s: the dataset serves %dx%dx%d examples, not 3x32x32 (StackedMNIST with pad 2)", fn,
                       ch, h, w);
    const int64_t size = ddgan_dataset_size(ds);
    if (n < 1 || (int64_t)n > size)
        return BAD_ARG("%s: n %zu not in [1, dataset size %lld]", fn, n, (long long)size);
    /* in chunks: 26,000 images at once would be 320 MB */
    enum { CHUNK = 1024 };
    float *x = ddgan__malloc((size_t)CHUNK * 3 * PIX * sizeof(float), fn);
    int64_t *lab = x ? ddgan__malloc(n * sizeof *lab, fn) : NULL;
    if (!lab) {
        ddgan__free(x);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    for (size_t off = 0; st == DDGAN_OK && off < n; off += CHUNK) {
        const size_t m = n - off < CHUNK ? n - off : CHUNK;
        for (size_t i = 0; st == DDGAN_OK && i < m; i++)
            if ((st = ddgan_dataset_get(ds, (int64_t)(off + i), x + i * 3 * PIX, NULL)) != DDGAN_OK)
                st = ddgan__error_prefix(st, "%s", fn);
        if (st == DDGAN_OK)
            st = stacked_labels(c, x, m, lab + off, fn);
    }
    if (st == DDGAN_OK)
        st = stacked_from_labels(lab, n, out, fn);
    ddgan__free(lab);
    ddgan__free(x);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Image quality */

static const ddgan_image_metrics g_image_defaults = {.struct_size = sizeof(ddgan_image_metrics)};

DDGAN_API ddgan_status_t ddgan_image_metrics_init(ddgan_image_metrics *m, size_t struct_size)
{
    return ddgan__struct_init(m, struct_size, &g_image_defaults, sizeof g_image_defaults,
                              "ddgan_image_metrics_init");
}

DDGAN_API ddgan_status_t ddgan_eval_images(ddgan_classifier_t c, const float *real, size_t n_real,
                                           const float *fake, size_t n_fake, int channels,
                                           ddgan_image_metrics *out)
{
    static const char fn[] = "ddgan_eval_images";
    DDGAN_TRY(check_clf(c, fn));
    DDGAN_TRY(check_out(out, fn));
    /* name the argument (check_images would say "images" for both) */
    if (!real || !fake)
        return BAD_ARG("%s: %s is NULL", fn, real ? "fake" : "real");
    DDGAN_TRY(check_images(real, n_real, channels, fn));
    DDGAN_TRY(check_images(fake, n_fake, channels, fn));
    const int k = 3;
    if (n_real <= (size_t)k || n_fake <= (size_t)k)
        return BAD_ARG("%s: n_real %zu and n_fake %zu must both be > %d", fn, n_real, n_fake, k);
    const size_t dim = (size_t)channels * (size_t)c->hidden;
    if (dim > DDGAN_EVAL_MAX_DIM)
        return BAD_ARG("%s: %d channels x %d features = %zu exceed %d", fn, channels, c->hidden, dim,
                       DDGAN_EVAL_MAX_DIM);
    float *fr = ddgan__malloc(n_real * dim * sizeof(float), fn);
    float *ff = fr ? ddgan__malloc(n_fake * dim * sizeof(float), fn) : NULL;
    if (!ff) {
        ddgan__free(fr);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    ddgan_image_metrics m;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    m.feature_dim = dim;
    ddgan_status_t st = ddgan__clf_run(c, real, n_real * (size_t)channels, NULL, fr, fn);
    if (st == DDGAN_OK)
        st = ddgan__clf_run(c, fake, n_fake * (size_t)channels, NULL, ff, fn);
    if (st == DDGAN_OK)
        st = ddgan__frechet_features(fr, n_real, ff, n_fake, dim, &m.frechet, fn);
    if (st == DDGAN_OK)
        st = ddgan__precision_recall(fr, n_real, ff, n_fake, dim, k, &m.precision, &m.recall, fn);
    ddgan__free(ff);
    ddgan__free(fr);
    if (st != DDGAN_OK)
        return st;
    return ddgan__struct_write(out, &m, sizeof m, fn, "out");
}

/* ------------------------------------------------------------------------ */
/* Sampling speed */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

DDGAN_API ddgan_status_t ddgan_time_sampling(ddgan_generator_t g, ddgan_schedule_t s, size_t n,
                                             int num_steps, int repeats, uint64_t seed,
                                             double *sec_per_image)
{
    static const char fn[] = "ddgan_time_sampling";
    if (!sec_per_image)
        return BAD_ARG("%s: sec_per_image is NULL", fn);
    if (n < 1 || n > ((size_t)1 << 20))
        return BAD_ARG("%s: n %zu not in [1, 2^20]", fn, n);
    if (num_steps < 0)
        return BAD_ARG("%s: num_steps %d must be >= 0 (0 = DDGAN sampling)", fn, num_steps);
    if (repeats < 1 || repeats > 1000)
        return BAD_ARG("%s: repeats %d not in [1, 1000]", fn, repeats);
    int c = 0, h = 0, w = 0;
    ddgan_status_t st = ddgan_generator_shape(g, &c, &h, &w, NULL);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    const size_t per = (size_t)c * (size_t)h * (size_t)w;
    float *out = ddgan__malloc(n * per * sizeof(float), fn);
    if (!out)
        return DDGAN_ERR_OUT_OF_MEMORY;
    double best = INFINITY;
    /* run 0 is the untimed warm-up: memory planning and first-touch costs */
    for (int r = 0; r <= repeats && st == DDGAN_OK; r++) {
        const double t0 = now_seconds();
        st = num_steps == 0 ? ddgan_sample(g, s, n, seed, out) : ddgan_ddpm_sample(g, s, n, num_steps, seed, out);
        const double dt = now_seconds() - t0;
        if (r > 0 && dt < best)
            best = dt;
    }
    ddgan__free(out);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    *sec_per_image = best / (double)n;
    return DDGAN_OK;
}
