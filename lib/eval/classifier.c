/*
 * The digit classifier used by the image metrics (docs/eval.md): a small CNN
 * on lib/nn layers, trained with the library's own Adam, on 32 x 32 digits in
 * [-1, 1] (what the image generators produce for MNIST-like data).
 *
 *   conv1 3x3 1 -> W, ReLU, 2x2 average pool      32 -> 16
 *   conv2 3x3 W -> 2W, ReLU, 2x2 average pool     16 -> 8
 *   conv3 3x3 2W -> 4W, ReLU, 2x2 average pool     8 -> 4
 *   fc1 (4W * 16) -> H, ReLU                      the features
 *   fc2 H -> 10                                   logits
 *
 * Pooling is the FIR down-sampler with the kernel [1, 1] (exactly 2 x 2
 * averaging). Softmax cross-entropy and its gradient are computed on the
 * host in float64: they touch 10 numbers per example, and the host code
 * keeps the loss stable (log-sum-exp) on every backend.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/philox.h"
#include "eval/eval.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/handles.h"
#include "model/weights.h"

#define NCLS DDGAN_CLASSIFIER_CLASSES
#define SZ DDGAN_CLASSIFIER_SIZE
#define PIX (SZ * SZ)
#define INFER_CHUNK 128
#define CLS_NAME "DigitCNN"
#define FORMAT_NAME "ddgan-classifier/1"

/* Philox streams of the training draws (order, shifts) and the initialisation. */
enum { STREAM_INIT = 1, STREAM_ORDER = 2, STREAM_SHIFT = 3 };
enum { MODE_INFER = 1, MODE_TRAIN = 2 };

static ddgan_status_t build_config_json(struct ddgan_classifier *c)
{
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    ddgan__json_write_key(&w, "cls");
    ddgan__json_write_string(&w, CLS_NAME);
    ddgan__json_write_key(&w, "image_size");
    ddgan__json_write_int64(&w, SZ);
    ddgan__json_write_key(&w, "in_channels");
    ddgan__json_write_int64(&w, 1);
    ddgan__json_write_key(&w, "num_classes");
    ddgan__json_write_int64(&w, NCLS);
    ddgan__json_write_key(&w, "width");
    ddgan__json_write_int64(&w, c->width);
    ddgan__json_write_key(&w, "hidden");
    ddgan__json_write_int64(&w, c->hidden);
    ddgan__json_write_key(&w, "input_range");
    ddgan__json_write_array_begin(&w);
    ddgan__json_write_int64(&w, -1);
    ddgan__json_write_int64(&w, 1);
    ddgan__json_write_array_end(&w);
    ddgan__json_write_object_end(&w);
    size_t len = 0;
    return ddgan__json_writer_finish(&w, &c->config_json, &len);
}

ddgan_status_t ddgan__clf_create(struct ddgan_classifier **out, ddgan_context_t ctx, int width, int hidden,
                                 int train, const char *fn)
{
    *out = NULL;
    if (!ctx->backend->ops->compute)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "%s: backend \"%s\" has no compute ops", fn,
                         ctx->backend->desc->name);
    struct ddgan_classifier *c = ddgan__calloc(1, sizeof *c, fn);
    if (!c)
        return DDGAN_ERR_OUT_OF_MEMORY;
    c->ctx = ctx;
    c->width = width;
    c->hidden = hidden;
    ddgan__params_init(&c->pt);
    ddgan_status_t st = DDGAN_OK;
    const int ch[4] = {1, width, 2 * width, 4 * width};
    static const char *names[3] = {"conv1", "conv2", "conv3"};
    /* He-uniform for the ReLU layers (U(+-sqrt(6 / fan_in))), PyTorch's default for the logits */
    for (int i = 0; i < 3 && st == DDGAN_OK; i++)
        st = ddgan__conv_init(&c->conv[i], &c->pt, names[i], ch[i], ch[i + 1], 3, 1, 1, 1,
                              DDGAN_INIT_FAN_IN_UNIFORM, sqrt(6.0));
    if (st == DDGAN_OK)
        st = ddgan__dense_init(&c->fc1, &c->pt, "fc1", 4 * width * 16, hidden, 1,
                               DDGAN_INIT_FAN_IN_UNIFORM, sqrt(6.0));
    if (st == DDGAN_OK)
        st = ddgan__dense_init(&c->fc2, &c->pt, "fc2", hidden, NCLS, 1, DDGAN_INIT_FAN_IN_UNIFORM, 1.0);
    const double box[2] = {1.0, 1.0};
    if (st == DDGAN_OK)
        st = ddgan__fir_init(&c->pool, box, 2);
    if (st == DDGAN_OK)
        st = build_config_json(c);
    if (st == DDGAN_OK)
        st = ddgan__netmem_init(&c->mem, ctx->backend, DDGAN_DT_F32, c->pt.total,
                                DDGAN_BUF_PARAMS | (train ? DDGAN_BUF_GRADS | DDGAN_BUF_ADAM : 0u));
    if (st != DDGAN_OK) {
        ddgan__clf_destroy(c);
        return st;
    }
    c->magic = DDGAN_MAGIC_CLASSIFIER;
    *out = c;
    return DDGAN_OK;
}

void ddgan__clf_destroy(struct ddgan_classifier *c)
{
    if (!c)
        return;
    if (c->mem.be)
        ddgan__netmem_free(&c->mem);
    ddgan__params_free(&c->pt);
    ddgan__free(c->config_json);
    c->magic = 0;
    ddgan__free(c);
}

/* ------------------------------------------------------------------------ */
/* Forward / backward */

typedef struct clf_acts {
    ddgan_tensor x, c[3], a[3], p[3], f1, h, logits;
} clf_acts;

static ddgan_status_t relu(ddgan_exec *ex, const ddgan_tensor *x, ddgan_tensor *y)
{
    return ddgan__act_forward(ex, DDGAN_ACT_LRELU, 0.0, x, y);
}

static ddgan_status_t forward(ddgan_exec *ex, const struct ddgan_classifier *c, clf_acts *a)
{
    const ddgan_tensor *in = &a->x;
    for (int i = 0; i < 3; i++) {
        DDGAN_TRY(ddgan__conv_forward(ex, &c->conv[i], in, &a->c[i]));
        DDGAN_TRY(relu(ex, &a->c[i], &a->a[i]));
        DDGAN_TRY(ddgan__fir_down_forward(ex, &c->pool, &a->a[i], &a->p[i]));
        in = &a->p[i];
    }
    DDGAN_TRY(ddgan__dense_forward(ex, &c->fc1, &a->p[2], &a->f1));
    DDGAN_TRY(relu(ex, &a->f1, &a->h));
    return ddgan__dense_forward(ex, &c->fc2, &a->h, &a->logits);
}

static ddgan_status_t backward(ddgan_exec *ex, const struct ddgan_classifier *c, const clf_acts *a,
                               const ddgan_tensor *dlogits)
{
    ddgan_tensor dh = {0}, df1 = {0}, dp = {0};
    DDGAN_TRY(ddgan__dense_backward(ex, &c->fc2, &a->h, dlogits, &dh));
    DDGAN_TRY(ddgan__act_backward(ex, DDGAN_ACT_LRELU, 0.0, &a->f1, NULL, &dh, &df1));
    DDGAN_TRY(ddgan__dense_backward(ex, &c->fc1, &a->p[2], &df1, &dp));
    for (int i = 2; i >= 0; i--) {
        ddgan_tensor da = {0}, dc = {0}, dx = {0};
        DDGAN_TRY(ddgan__fir_down_backward(ex, &c->pool, &dp, &da));
        DDGAN_TRY(ddgan__act_backward(ex, DDGAN_ACT_LRELU, 0.0, &a->c[i], NULL, &da, &dc));
        DDGAN_TRY(ddgan__conv_backward(ex, &c->conv[i], i ? &a->p[i - 1] : &a->x, &dc, i ? &dx : NULL));
        dp = dx;
    }
    return DDGAN_OK;
}

/* Inference on B images (host in), logits/features to host (either may be NULL). */
static ddgan_status_t infer_body(struct ddgan_classifier *c, const float *host, int B, float *logits,
                                 float *features)
{
    ddgan_exec ex = ddgan__netmem_exec(&c->mem, 0);
    ddgan__arena_reset(ex.arena);
    clf_acts a;
    memset(&a, 0, sizeof a);
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &a.x, B, 1, SZ, SZ));
    if (!ex.arena->planning)
        DDGAN_TRY(ex.be->ops->copy_h2d(ex.be, a.x.data, host, (size_t)B * PIX * sizeof(float)));
    DDGAN_TRY(forward(&ex, c, &a));
    if (ex.arena->planning)
        return DDGAN_OK;
    if (logits)
        DDGAN_TRY(ex.be->ops->copy_d2h(ex.be, logits, a.logits.data, (size_t)B * NCLS * sizeof(float)));
    if (features)
        DDGAN_TRY(ex.be->ops->copy_d2h(ex.be, features, a.h.data,
                                       (size_t)B * (size_t)c->hidden * sizeof(float)));
    return DDGAN_OK;
}

/* Host softmax cross-entropy: dlogits = (softmax - onehot) / B; returns the mean loss and
 * counts correct predictions. */
static double softmax_xent(const float *logits, const int64_t *labels, int B, float *dlogits,
                           int *correct)
{
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * NCLS;
        double m = z[0];
        int arg = 0;
        for (int k = 1; k < NCLS; k++)
            if (z[k] > m) {
                m = z[k];
                arg = k;
            }
        double e[NCLS], sum = 0.0;
        for (int k = 0; k < NCLS; k++)
            sum += (e[k] = exp((double)z[k] - m));
        loss += log(sum) + m - (double)z[labels[i]];
        for (int k = 0; k < NCLS; k++)
            dlogits[(size_t)i * NCLS + k] = (float)((e[k] / sum - (k == labels[i] ? 1.0 : 0.0)) / B);
        *correct += arg == labels[i];
    }
    return loss / B;
}

typedef struct train_batch {
    const float *x;        /* host [B, 1, 32, 32] */
    const int64_t *labels; /* host [B] */
    int B;
    float *logits, *dlogits; /* host scratch [B, 10] */
    double loss;
    int correct;
} train_batch;

static ddgan_status_t train_body(struct ddgan_classifier *c, train_batch *tb)
{
    ddgan_exec ex = ddgan__netmem_exec(&c->mem, 1);
    ddgan__arena_reset(ex.arena);
    const int planning = ex.arena->planning;
    clf_acts a;
    memset(&a, 0, sizeof a);
    const int B = tb->B;
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &a.x, B, 1, SZ, SZ));
    ddgan_tensor dlog;
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &dlog, B, NCLS, 1, 1));
    if (!planning)
        DDGAN_TRY(ex.be->ops->copy_h2d(ex.be, a.x.data, tb->x, (size_t)B * PIX * sizeof(float)));
    DDGAN_TRY(forward(&ex, c, &a));
    if (!planning) {
        DDGAN_TRY(ex.be->ops->copy_d2h(ex.be, tb->logits, a.logits.data, (size_t)B * NCLS * sizeof(float)));
        tb->loss = softmax_xent(tb->logits, tb->labels, B, tb->dlogits, &tb->correct);
        if (!isfinite(tb->loss))
            return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "classifier training: the loss is not finite");
        DDGAN_TRY(ex.be->ops->copy_h2d(ex.be, dlog.data, tb->dlogits, (size_t)B * NCLS * sizeof(float)));
        DDGAN_TRY(ex.be->ops->fill_f32(ex.be, c->mem.grads, 0.0f, c->pt.total));
    }
    return backward(&ex, c, &a, &dlog);
}

/* Plans the arena for (mode, B) when it was planned for something else. */
static ddgan_status_t ensure_plan(struct ddgan_classifier *c, int mode, int B, train_batch *tb)
{
    if (c->plan.mode == mode && c->plan.batch == B)
        return DDGAN_OK;
    ddgan__netmem_plan_begin(&c->mem);
    ddgan_status_t st = mode == MODE_TRAIN ? train_body(c, tb) : infer_body(c, NULL, B, NULL, NULL);
    if (st == DDGAN_OK)
        st = ddgan__netmem_plan_end(&c->mem, NULL);
    else
        c->mem.arena.planning = 0;
    c->plan.mode = st == DDGAN_OK ? mode : 0;
    c->plan.batch = st == DDGAN_OK ? B : 0;
    return st;
}

ddgan_status_t ddgan__clf_run(struct ddgan_classifier *c, const float *images, size_t n, float *logits,
                              float *features, const char *fn)
{
    for (size_t off = 0; off < n; off += INFER_CHUNK) {
        const int B = (int)(n - off < INFER_CHUNK ? n - off : INFER_CHUNK);
        ddgan_status_t st = ensure_plan(c, MODE_INFER, B, NULL);
        if (st == DDGAN_OK)
            st = infer_body(c, images + off * PIX, B, logits ? logits + off * NCLS : NULL,
                            features ? features + off * (size_t)c->hidden : NULL);
        if (st != DDGAN_OK)
            return ddgan__error_prefix(st, "%s", fn);
    }
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Training */

/* dst = src translated by (dy, dx) pixels, background -1 where nothing moves in. */
static void shift_image(const float *src, float *dst, int dy, int dx)
{
    for (int y = 0; y < SZ; y++) {
        const int sy = y - dy;
        for (int x = 0; x < SZ; x++) {
            const int sx = x - dx;
            dst[y * SZ + x] = (sy >= 0 && sy < SZ && sx >= 0 && sx < SZ) ? src[sy * SZ + sx] : -1.0f;
        }
    }
}

/* Fisher-Yates permutation of 0..n-1 from stream (seed, STREAM_ORDER, epoch). */
static void permutation(uint64_t seed, int64_t epoch, uint32_t *perm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    const uint64_t stream = ((uint64_t)STREAM_ORDER << 32) + (uint64_t)epoch;
    for (size_t i = n - 1; i > 0; i--) {
        uint32_t w[4];
        ddgan__philox_u32(seed, stream, i, w, 4);
        /* 64 random bits make the modulo bias negligible (< 2^-32 for n < 2^32) */
        const uint64_t r = ((uint64_t)w[0] << 32) | w[1];
        const size_t j = (size_t)(r % (uint64_t)(i + 1));
        const uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

ddgan_status_t ddgan__clf_train(struct ddgan_classifier *c, const float *images, const int64_t *labels,
                                size_t n, const ddgan_clf_train_args *a, const char *fn)
{
    const int B = a->batch_size;
    const size_t per_epoch = n / (size_t)B; /* drop the last partial batch */
    const int64_t total = (int64_t)per_epoch * a->epochs;
    ddgan_backend *be = c->mem.be;
    DDGAN_TRY(ddgan__handle_init_params(&c->mem, &c->pt, a->seed, STREAM_INIT, fn));
    float *xb = ddgan__malloc((size_t)B * PIX * sizeof(float), fn);
    int64_t *lb = ddgan__malloc((size_t)B * sizeof(int64_t), fn);
    float *lg = ddgan__malloc((size_t)B * NCLS * 2 * sizeof(float), fn);
    uint32_t *perm = ddgan__malloc(n * sizeof(uint32_t), fn);
    ddgan_status_t st = xb && lb && lg && perm ? DDGAN_OK : DDGAN_ERR_OUT_OF_MEMORY;
    train_batch tb;
    memset(&tb, 0, sizeof tb);
    tb.x = xb;
    tb.labels = lb;
    tb.B = B;
    tb.logits = lg;
    tb.dlogits = lg ? lg + (size_t)B * NCLS : NULL;
    if (st == DDGAN_OK)
        st = ensure_plan(c, MODE_TRAIN, B, &tb);
    int64_t step = 0;
    for (int ep = 0; ep < a->epochs && st == DDGAN_OK; ep++) {
        permutation(a->seed, ep, perm, n);
        double loss_sum = 0.0;
        int64_t correct = 0;
        for (size_t bi = 0; bi < per_epoch && st == DDGAN_OK; bi++, step++) {
            for (int i = 0; i < B; i++) {
                const size_t idx = perm[bi * (size_t)B + (size_t)i];
                int dy = 0, dx = 0;
                if (a->max_shift > 0) {
                    uint32_t w[4];
                    ddgan__philox_u32(a->seed, ((uint64_t)STREAM_SHIFT << 32) + (uint64_t)ep, idx, w, 4);
                    const uint32_t span = 2u * (uint32_t)a->max_shift + 1u;
                    dy = (int)(w[0] % span) - a->max_shift;
                    dx = (int)(w[1] % span) - a->max_shift;
                }
                shift_image(images + idx * PIX, xb + (size_t)i * PIX, dy, dx);
                lb[i] = labels[idx];
            }
            tb.correct = 0;
            st = train_body(c, &tb);
            if (st != DDGAN_OK)
                break;
            loss_sum += tb.loss;
            correct += tb.correct;
            /* cosine annealing of the learning rate over all steps, to 0 */
            const double lr = 0.5 * a->lr * (1.0 + cos(M_PI * (double)step / (double)total));
            ddgan_adam_desc ad;
            memset(&ad, 0, sizeof ad);
            ad.dtype = DDGAN_DT_F32;
            ad.n = c->pt.total;
            ad.lr = lr;
            ad.beta1 = a->beta1;
            ad.beta2 = a->beta2;
            ad.eps = a->eps;
            ad.step = step + 1;
            st = be->ops->compute->adam(be, &ad, c->mem.params, c->mem.grads, c->mem.adam_m, c->mem.adam_v);
        }
        if (st == DDGAN_OK)
            ddgan__log(c->ctx, DDGAN_LOG_INFO, "classifier: epoch %d/%d: loss %.4f, train accuracy %.4f",
                       ep + 1, a->epochs, loss_sum / (double)per_epoch,
                       (double)correct / (double)(per_epoch * (size_t)B));
    }
    ddgan__free(perm);
    ddgan__free(lg);
    ddgan__free(lb);
    ddgan__free(xb);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Files */

ddgan_status_t ddgan__clf_save(struct ddgan_classifier *c, const char *path, const char *fn)
{
    float *host = ddgan__malloc(c->pt.total * sizeof(float), fn);
    if (!host)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_st_writer *w = NULL;
    ddgan_status_t st = c->mem.be->ops->copy_d2h(c->mem.be, host, c->mem.params, c->pt.total * sizeof(float));
    if (st == DDGAN_OK)
        st = ddgan__st_writer_create(&w);
    if (st == DDGAN_OK)
        st = ddgan__weights_add(&c->pt, w, "", host);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "config", c->config_json);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "format", FORMAT_NAME);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "library", "libddgan " DDGAN_VERSION_STRING);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_write(w, path);
    ddgan__st_writer_destroy(w);
    ddgan__free(host);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    return DDGAN_OK;
}

static ddgan_status_t json_int(const ddgan_json_value *root, const char *key, int64_t lo, int64_t hi,
                               int64_t *out, const char *what, const char *fn)
{
    const ddgan_json_value *v = ddgan__json_object_get(root, key);
    if (!v || ddgan__json_get_int64(v, out) != DDGAN_OK || *out < lo || *out > hi)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: config key \"%s\" missing or not an integer in [%lld, %lld]",
                         fn, what, key, (long long)lo, (long long)hi);
    return DDGAN_OK;
}

static ddgan_status_t parse_config(const char *json, const char *what, int *width, int *hidden,
                                   const char *fn)
{
    ddgan_json_doc *doc = NULL;
    ddgan_status_t st = ddgan__json_parse(&doc, json, strlen(json), what);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    const ddgan_json_value *root = ddgan__json_root(doc);
    const ddgan_json_value *cls = ddgan__json_object_get(root, "cls");
    const char *name = cls ? ddgan__json_string(cls, NULL) : NULL;
    int64_t v = 0;
    if (ddgan__json_type(root) != DDGAN_JSON_OBJECT)
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: the config is not a JSON object", fn, what);
    else if (!name || strcmp(name, CLS_NAME) != 0)
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: config \"cls\" is not \"%s\" (not a classifier file?)", fn,
                       what, CLS_NAME);
    if (st == DDGAN_OK)
        st = json_int(root, "image_size", SZ, SZ, &v, what, fn);
    if (st == DDGAN_OK)
        st = json_int(root, "in_channels", 1, 1, &v, what, fn);
    if (st == DDGAN_OK)
        st = json_int(root, "num_classes", NCLS, NCLS, &v, what, fn);
    if (st == DDGAN_OK && (st = json_int(root, "width", 1, 256, &v, what, fn)) == DDGAN_OK)
        *width = (int)v;
    if (st == DDGAN_OK && (st = json_int(root, "hidden", 1, 4096, &v, what, fn)) == DDGAN_OK)
        *hidden = (int)v;
    ddgan__json_free(doc);
    return st;
}

ddgan_status_t ddgan__clf_load(struct ddgan_classifier **out, ddgan_context_t ctx, const char *path,
                               const char *fn)
{
    *out = NULL;
    ddgan_st_file *f = NULL;
    ddgan_status_t st = ddgan__st_open(&f, path);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    const char *config = ddgan__st_metadata_get(f, "config");
    int width = 0, hidden = 0;
    if (!config)
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s has no __metadata__[\"config\"] (not a classifier file)", fn,
                       path);
    if (st == DDGAN_OK)
        st = parse_config(config, path, &width, &hidden, fn);
    struct ddgan_classifier *c = NULL;
    if (st == DDGAN_OK)
        st = ddgan__clf_create(&c, ctx, width, hidden, 0, fn);
    float *host = NULL;
    if (st == DDGAN_OK) {
        host = ddgan__malloc(c->pt.total * sizeof(float), fn);
        st = host ? ddgan__weights_read(&c->pt, f, "", host, fn) : DDGAN_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; st == DDGAN_OK && i < c->pt.total; i++)
        if (!isfinite(host[i]))
            st = DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: non-finite weights", fn, path);
    if (st == DDGAN_OK)
        st = c->mem.be->ops->copy_h2d(c->mem.be, c->mem.params, host, c->pt.total * sizeof(float));
    ddgan__free(host);
    ddgan__st_close(f);
    if (st != DDGAN_OK) {
        ddgan__clf_destroy(c);
        return st;
    }
    *out = c;
    return DDGAN_OK;
}
