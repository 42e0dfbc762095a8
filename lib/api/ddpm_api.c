/* Public entry points: the DDPM baseline (docs/ddpm.md). */
#include <math.h>
#include <string.h>

#include "api/trainer_common.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/struct_io.h"
#include "train/ddpm.h"

static const ddgan_ddpm_trainer_config g_ddpm_defaults = {
    .struct_size = sizeof(ddgan_ddpm_trainer_config),
    .batch_size = 128,
    .lr = 2e-4f,
    .beta1 = 0.9f,
    .beta2 = 0.999f,
    .adam_eps = 1e-8f,
    .warmup = 0,
    .grad_clip = 1.0f,
    .use_ema = 1,
    .ema_decay = 0.9999f,
    .seed = 1024,
    .skip_nonfinite = 0,
};

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_config_init(ddgan_ddpm_trainer_config *cfg, size_t struct_size)
{
    return ddgan__struct_init(cfg, struct_size, &g_ddpm_defaults, sizeof g_ddpm_defaults,
                              "ddgan_ddpm_trainer_config_init");
}

static ddgan_status_t check(ddgan_ddpm_trainer_t tr, const char *fn)
{
    if (!tr)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: trainer is NULL", fn);
    if (tr->magic != DDGAN_MAGIC_DDPM_TRAINER)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: invalid DDPM trainer handle", fn);
    if (tr->g->magic != DDGAN_MAGIC_GENERATOR || tr->s->magic != DDGAN_MAGIC_SCHEDULE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the trainer's generator or schedule was destroyed (they must outlive the "
                         "trainer)",
                         fn);
    return DDGAN_OK;
}

static ddgan_status_t validate(const ddgan_ddpm_trainer_config *c, const char *fn)
{
#define BAD(cond, ...)                                                                                       \
    if (cond)                                                                                                \
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, __VA_ARGS__);
    BAD(c->batch_size < 1 || c->batch_size > 65536, "%s: batch_size %d not in [1, 65536]", fn, c->batch_size);
    BAD(!(c->lr > 0.0f) || !isfinite(c->lr), "%s: lr %g must be > 0", fn, (double)c->lr);
    BAD(!(c->beta1 >= 0.0f && c->beta1 < 1.0f), "%s: beta1 %g not in [0, 1)", fn, (double)c->beta1);
    BAD(!(c->beta2 >= 0.0f && c->beta2 < 1.0f), "%s: beta2 %g not in [0, 1)", fn, (double)c->beta2);
    BAD(!(c->adam_eps > 0.0f) || !isfinite(c->adam_eps), "%s: adam_eps %g must be > 0", fn,
        (double)c->adam_eps);
    BAD(c->warmup < 0, "%s: warmup %d must be >= 0 (0 = none)", fn, c->warmup);
    BAD(!(c->grad_clip >= 0.0f) || !isfinite(c->grad_clip), "%s: grad_clip %g must be >= 0 (0 = off)", fn,
        (double)c->grad_clip);
    BAD(c->use_ema != 0 && c->use_ema != 1, "%s: use_ema %d must be 0 or 1", fn, c->use_ema);
    BAD(!(c->ema_decay >= 0.0f && c->ema_decay <= 1.0f), "%s: ema_decay %g not in [0, 1]", fn,
        (double)c->ema_decay);
    BAD(c->skip_nonfinite != 0 && c->skip_nonfinite != 1, "%s: skip_nonfinite %d must be 0 or 1", fn,
        c->skip_nonfinite);
#undef BAD
    return DDGAN_OK;
}

DDGAN_API void ddgan_ddpm_trainer_destroy(ddgan_ddpm_trainer_t tr)
{
    if (!tr || tr->magic != DDGAN_MAGIC_DDPM_TRAINER)
        return;
    tr->magic = 0;
    void *const bufs[4] = {tr->m, tr->v, tr->ema, tr->arena.base};
    ddgan__trainer_release(tr->ctx, bufs, 4, &tr->extras);
    ddgan__free(tr->t);
    ddgan__free(tr->host_vec);
    ddgan__free(tr);
}

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_create(ddgan_ddpm_trainer_t *out, ddgan_generator_t g,
                                                   ddgan_schedule_t s, const ddgan_ddpm_trainer_config *cfg)
{
    static const char fn[] = "ddgan_ddpm_trainer_create";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(ddgan__ddpm_check_models(g, s, fn));
    ddgan_ddpm_trainer_config c = g_ddpm_defaults;
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&c, sizeof c, cfg, fn, "cfg"));
    DDGAN_TRY(validate(&c, fn));

    struct ddgan_ddpm_trainer *tr = ddgan__calloc(1, sizeof *tr, fn);
    if (!tr)
        return DDGAN_ERR_OUT_OF_MEMORY;
    tr->ctx = g->ctx;
    tr->g = g;
    tr->s = s;
    tr->cfg = c;
    tr->n_g = g->pt->total;
    ddgan_generator_shape(g, &tr->c, &tr->h, &tr->w, &tr->nz);
    tr->data_scale = g->cls == DDGAN_CLS_TOY ? g->tcfg.data_scale : 1.0;
    tr->magic = DDGAN_MAGIC_DDPM_TRAINER; /* so destroy cleans up partial state */
    tr->ctx->live_children++;
    ddgan_backend *be = tr->ctx->backend;
    const size_t B = (size_t)c.batch_size;
    ddgan_status_t st = DDGAN_OK;
    tr->t = ddgan__calloc(B, sizeof(int64_t), fn);
    tr->host_vec = ddgan__calloc(2 * B, sizeof(float), fn);
    if (!tr->t || !tr->host_vec)
        st = DDGAN_ERR_OUT_OF_MEMORY;
    if (st == DDGAN_OK)
        st = ddgan__trainer_zeroed(be, tr->n_g, &tr->m);
    if (st == DDGAN_OK)
        st = ddgan__trainer_zeroed(be, tr->n_g, &tr->v);
    if (st == DDGAN_OK && c.use_ema)
        st = ddgan__trainer_zeroed(be, tr->n_g, &tr->ema);
    if (st == DDGAN_OK)
        st = ddgan__handle_gen_raise_batch(g, c.batch_size);
    if (st == DDGAN_OK)
        st = ddgan__ddpm_plan(tr, c.batch_size);
    if (st != DDGAN_OK) {
        ddgan_ddpm_trainer_destroy(tr);
        return ddgan__error_prefix(st, "%s", fn);
    }
    ddgan__log(tr->ctx, DDGAN_LOG_INFO, "ddpm trainer: batch %d, T %d, step arena %zu bytes", c.batch_size,
               s->T, tr->arena.cap);
    *out = tr;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_step(ddgan_ddpm_trainer_t tr, const float *x0, size_t batch,
                                                 float *loss)
{
    static const char fn[] = "ddgan_ddpm_trainer_step";
    DDGAN_TRY(check(tr, fn));
    DDGAN_TRY(ddgan__trainer_check_step(x0, batch, tr->cfg.batch_size, fn));
    double l = 0.0;
    DDGAN_TRY(ddgan__ddpm_step(tr, x0, (int)batch, NULL, NULL, &l, NULL));
    if (loss)
        *loss = (float)l;
    return DDGAN_OK;
}

DDGAN_API int64_t ddgan_ddpm_trainer_global_step(ddgan_ddpm_trainer_t tr)
{
    return check(tr, "ddgan_ddpm_trainer_global_step") == DDGAN_OK ? tr->global_step : -1;
}

DDGAN_API int64_t ddgan_ddpm_trainer_skipped_steps(ddgan_ddpm_trainer_t tr)
{
    return check(tr, "ddgan_ddpm_trainer_skipped_steps") == DDGAN_OK ? tr->skipped : -1;
}

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_save(ddgan_ddpm_trainer_t tr, const char *path)
{
    DDGAN_TRY(check(tr, "ddgan_ddpm_trainer_save"));
    return ddgan__ddpm_save(tr, path);
}

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_load(ddgan_ddpm_trainer_t tr, const char *path)
{
    DDGAN_TRY(check(tr, "ddgan_ddpm_trainer_load"));
    return ddgan__ddpm_load(tr, path);
}

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_ema_generator(ddgan_generator_t *out, ddgan_ddpm_trainer_t tr)
{
    static const char fn[] = "ddgan_ddpm_trainer_ema_generator";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(check(tr, fn));
    /* before the first step the EMA slot does not exist yet: it equals the parameters */
    const void *src = tr->ema_ready ? tr->ema : tr->g->mem.params;
    return ddgan__trainer_ema_generator(out, tr->g, tr->cfg.use_ema, src, tr->n_g, fn);
}

DDGAN_API ddgan_status_t ddgan_ddpm_sample(ddgan_generator_t g, ddgan_schedule_t s, size_t n, int num_steps,
                                           uint64_t seed, float *out)
{
    static const char fn[] = "ddgan_ddpm_sample";
    DDGAN_TRY(ddgan__ddpm_check_models(g, s, fn));
    if (n < 1 || n > ((size_t)1 << 30))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: n = %zu not in [1, 2^30]", fn, n);
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if (num_steps < 1 || num_steps > s->T)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: num_steps %d not in [1, %d] (the schedule's T; T is the full chain)", fn,
                         num_steps, s->T);
    int c, h, w, nz;
    DDGAN_TRY(ddgan_generator_shape(g, &c, &h, &w, &nz));
    size_t total;
    if (!ddgan__mul_size(n, (size_t)c * (size_t)h * (size_t)w, &total) || total > ((size_t)1 << 40))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: n = %zu samples are too many", fn, n);
    ddgan_status_t st = ddgan__ddpm_sample(g, s, n, num_steps, seed, out);
    return st == DDGAN_OK ? st : ddgan__error_prefix(st, "%s", fn);
}

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_attach_dataset(ddgan_ddpm_trainer_t tr, ddgan_dataset_t ds)
{
    static const char fn[] = "ddgan_ddpm_trainer_attach_dataset";
    DDGAN_TRY(check(tr, fn));
    return ddgan__ckpt_extras_attach(&tr->extras, ds, fn);
}

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_set_metadata(ddgan_ddpm_trainer_t tr, const char *key, const char *value)
{
    static const char fn[] = "ddgan_ddpm_trainer_set_metadata";
    DDGAN_TRY(check(tr, fn));
    return ddgan__ckpt_extras_set_metadata(&tr->extras, key, value, fn);
}
