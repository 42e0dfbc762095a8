/* Public entry points: the trainer. */
#include <math.h>
#include <string.h>

#include "api/trainer_common.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/struct_io.h"
#include "train/trainer.h"

static const ddgan_trainer_config g_trainer_defaults = {
    .struct_size = sizeof(ddgan_trainer_config),
    .batch_size = 64,
    .lr_g = 1.5e-4f,
    .lr_d = 1e-4f,
    .beta1 = 0.5f,
    .beta2 = 0.9f,
    .adam_eps = 1e-8f,
    .r1_gamma = 0.05f,
    .lazy_reg = 0,
    .use_ema = 0,
    .ema_decay = 0.9999f,
    .lr_schedule = DDGAN_LR_COSINE,
    .eta_min = 1e-5f,
    .num_epoch = 1200,
    .steps_per_epoch = 1,
    .seed = 1024,
    .skip_nonfinite = 0,
};

DDGAN_API ddgan_status_t ddgan_trainer_config_init(ddgan_trainer_config *cfg, size_t struct_size)
{
    return ddgan__struct_init(cfg, struct_size, &g_trainer_defaults, sizeof g_trainer_defaults,
                              "ddgan_trainer_config_init");
}

DDGAN_API ddgan_status_t ddgan_step_stats_init(ddgan_step_stats *s, size_t struct_size)
{
    ddgan_step_stats d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.r1_penalty = NAN;
    return ddgan__struct_init(s, struct_size, &d, sizeof d, "ddgan_step_stats_init");
}

DDGAN_API ddgan_status_t ddgan_step_draws_init(ddgan_step_draws *d, size_t struct_size)
{
    ddgan_step_draws z;
    memset(&z, 0, sizeof z);
    z.struct_size = sizeof z;
    return ddgan__struct_init(d, struct_size, &z, sizeof z, "ddgan_step_draws_init");
}

static ddgan_status_t check(ddgan_trainer_t tr, const char *fn)
{
    if (!tr)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: trainer is NULL", fn);
    if (tr->magic != DDGAN_MAGIC_TRAINER)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: invalid trainer handle", fn);
    if (tr->g->magic != DDGAN_MAGIC_GENERATOR || tr->d->magic != DDGAN_MAGIC_DISCRIMINATOR ||
        tr->s->magic != DDGAN_MAGIC_SCHEDULE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the trainer's generator, discriminator or schedule was destroyed (they "
                         "must outlive the trainer)",
                         fn);
    return DDGAN_OK;
}

static ddgan_status_t validate(const ddgan_trainer_config *c, const char *fn)
{
#define BAD(cond, ...)                                                  \
    if (cond)                                                           \
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, __VA_ARGS__);
    BAD(c->batch_size < 1 || c->batch_size > 65536, "%s: batch_size %d not in [1, 65536]", fn, c->batch_size);
    BAD(!(c->lr_g > 0.0f) || !isfinite(c->lr_g), "%s: lr_g %g must be > 0", fn, (double)c->lr_g);
    BAD(!(c->lr_d > 0.0f) || !isfinite(c->lr_d), "%s: lr_d %g must be > 0", fn, (double)c->lr_d);
    BAD(!(c->beta1 >= 0.0f && c->beta1 < 1.0f), "%s: beta1 %g not in [0, 1)", fn, (double)c->beta1);
    BAD(!(c->beta2 >= 0.0f && c->beta2 < 1.0f), "%s: beta2 %g not in [0, 1)", fn, (double)c->beta2);
    BAD(!(c->adam_eps > 0.0f), "%s: adam_eps %g must be > 0", fn, (double)c->adam_eps);
    BAD(!(c->r1_gamma >= 0.0f) || !isfinite(c->r1_gamma), "%s: r1_gamma %g must be >= 0", fn,
        (double)c->r1_gamma);
    BAD(c->lazy_reg < 0, "%s: lazy_reg %d must be >= 0 (0 = every step)", fn, c->lazy_reg);
    BAD(c->use_ema != 0 && c->use_ema != 1, "%s: use_ema %d must be 0 or 1", fn, c->use_ema);
    BAD(!(c->ema_decay >= 0.0f && c->ema_decay <= 1.0f), "%s: ema_decay %g not in [0, 1]", fn,
        (double)c->ema_decay);
    BAD(c->lr_schedule != DDGAN_LR_CONSTANT && c->lr_schedule != DDGAN_LR_COSINE,
        "%s: lr_schedule %d unknown", fn, c->lr_schedule);
    BAD(!(c->eta_min >= 0.0f), "%s: eta_min %g must be >= 0", fn, (double)c->eta_min);
    BAD(c->num_epoch < 1, "%s: num_epoch %d must be >= 1", fn, c->num_epoch);
    BAD(c->steps_per_epoch < 1, "%s: steps_per_epoch %d must be >= 1", fn, c->steps_per_epoch);
    BAD(c->skip_nonfinite != 0 && c->skip_nonfinite != 1, "%s: skip_nonfinite %d must be 0 or 1", fn,
        c->skip_nonfinite);
#undef BAD
    return DDGAN_OK;
}

DDGAN_API void ddgan_trainer_destroy(ddgan_trainer_t tr)
{
    if (!tr || tr->magic != DDGAN_MAGIC_TRAINER)
        return;
    tr->magic = 0;
    void *const bufs[9] = {tr->g_m,   tr->g_v,     tr->d_m,     tr->d_v,       tr->g_ema,
                           tr->d_bak, tr->d_m_bak, tr->d_v_bak, tr->arena.base};
    ddgan__trainer_release(tr->ctx, bufs, 9, &tr->extras);
    ddgan__free(tr->t_d);
    ddgan__free(tr->t_g);
    ddgan__free(tr->host_vec);
    ddgan__free(tr);
}

DDGAN_API ddgan_status_t ddgan_trainer_create(ddgan_trainer_t *out, ddgan_generator_t g,
                                              ddgan_discriminator_t d, ddgan_schedule_t s,
                                              const ddgan_trainer_config *cfg)
{
    static const char fn[] = "ddgan_trainer_create";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    if (!g || g->magic != DDGAN_MAGIC_GENERATOR || !d || d->magic != DDGAN_MAGIC_DISCRIMINATOR || !s ||
        s->magic != DDGAN_MAGIC_SCHEDULE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is NULL or invalid", fn,
                         !g || g->magic != DDGAN_MAGIC_GENERATOR ? "generator"
                         : !d || d->magic != DDGAN_MAGIC_DISCRIMINATOR ? "discriminator" : "schedule");
    if (g->ctx != d->ctx || g->ctx != s->ctx)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the generator, discriminator and schedule must share one context", fn);
    ddgan_trainer_config c = g_trainer_defaults;
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&c, sizeof c, cfg, fn, "cfg"));
    DDGAN_TRY(validate(&c, fn));
    if (s->cfg.kind != DDGAN_SCHEDULE_DDGAN)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the schedule is a DDPM schedule (kind %d); DDGAN needs kind "
                         "DDGAN_SCHEDULE_DDGAN (use ddgan_ddpm_* for the DDPM baseline)",
                         fn, (int)s->cfg.kind);
    if (s->T != g->cfg.num_timesteps)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the schedule has %d steps but the generator was configured for "
                         "num_timesteps %d",
                         fn, s->T, g->cfg.num_timesteps);
    /* shapes: the discriminator judges pairs of the generator's examples */
    const int toy_g = g->cls == DDGAN_CLS_TOY, toy_d = d->cls == DDGAN_CLS_TOY;
    if (toy_g != toy_d)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: a %s generator needs a %s discriminator", fn,
                         toy_g ? "ToyMLP" : "NCSNpp", toy_g ? "ToyMLP" : "image");
    if (toy_g ? g->tcfg.data_dim != d->tcfg.data_dim
              : (2 * g->cfg.num_channels != d->cfg.nc || g->cfg.image_size != d->cfg.image_size))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the discriminator's inputs do not match the generator's examples (nc must "
                         "be 2 x num_channels and image_size equal)",
                         fn);
    if (!toy_g)
        DDGAN_TRY(ddgan__mbstd_check_batch(c.batch_size, fn));

    struct ddgan_trainer *tr = ddgan__calloc(1, sizeof *tr, fn);
    if (!tr)
        return DDGAN_ERR_OUT_OF_MEMORY;
    tr->ctx = g->ctx;
    tr->g = g;
    tr->d = d;
    tr->s = s;
    tr->cfg = c;
    tr->n_g = g->pt->total;
    tr->n_d = d->pt->total;
    ddgan_generator_shape(g, &tr->c, &tr->h, &tr->w, &tr->nz);
    tr->data_scale = toy_g ? g->tcfg.data_scale : 1.0;
    tr->magic = DDGAN_MAGIC_TRAINER; /* so destroy cleans up partial state */
    tr->ctx->live_children++;
    ddgan_backend *be = tr->ctx->backend;
    const size_t B = (size_t)c.batch_size;
    ddgan_status_t st = DDGAN_OK;
    tr->t_d = ddgan__calloc(B, sizeof(int64_t), fn);
    tr->t_g = ddgan__calloc(B, sizeof(int64_t), fn);
    tr->host_vec = ddgan__calloc(8 * B, sizeof(float), fn);
    if (!tr->t_d || !tr->t_g || !tr->host_vec)
        st = DDGAN_ERR_OUT_OF_MEMORY;
    void **g_bufs[3] = {&tr->g_m, &tr->g_v, &tr->g_ema};
    void **d_bufs[5] = {&tr->d_m, &tr->d_v, &tr->d_bak, &tr->d_m_bak, &tr->d_v_bak};
    for (int i = 0; st == DDGAN_OK && i < 3; i++)
        if (i < 2 || c.use_ema)
            st = ddgan__trainer_zeroed(be, tr->n_g, g_bufs[i]);
    for (int i = 0; st == DDGAN_OK && i < 5; i++)
        st = ddgan__trainer_zeroed(be, tr->n_d, d_bufs[i]);
    if (st == DDGAN_OK)
        st = ddgan__net_set_max_batch(g, d, c.batch_size);
    if (st == DDGAN_OK)
        st = ddgan__trainer_plan(tr, c.batch_size);
    if (st != DDGAN_OK) {
        ddgan_trainer_destroy(tr);
        return ddgan__error_prefix(st, "%s", fn);
    }
    ddgan__log(tr->ctx, DDGAN_LOG_INFO, "trainer: batch %d, step arena %zu bytes", c.batch_size,
               tr->arena.cap);
    *out = tr;
    return DDGAN_OK;
}

static ddgan_status_t do_step(ddgan_trainer_t tr, const float *x0, size_t batch,
                              const ddgan_step_draws *draws, ddgan_step_stats *stats, const char *fn)
{
    DDGAN_TRY(check(tr, fn));
    DDGAN_TRY(ddgan__trainer_check_step(x0, batch, tr->cfg.batch_size, fn));
    if (tr->d->cls != DDGAN_CLS_TOY)
        DDGAN_TRY(ddgan__mbstd_check_batch((int)batch, fn));
    ddgan_step_draws dr;
    if (draws) {
        ddgan_step_draws_init(&dr, sizeof dr);
        DDGAN_TRY(ddgan__struct_read(&dr, sizeof dr, draws, fn, "draws"));
    }
    ddgan_step_stats s;
    if (stats) {
        uint32_t ss;
        memcpy(&ss, stats, sizeof ss);
        if (ss < sizeof(uint32_t) || ss > DDGAN_MAX_STRUCT_SIZE)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: stats->struct_size %u invalid", fn, (unsigned)ss);
    }
    ddgan_status_t st = ddgan__trainer_step(tr, x0, (int)batch, draws ? &dr : NULL, stats ? &s : NULL);
    if (st != DDGAN_OK)
        return st;
    return stats ? ddgan__struct_write(stats, &s, sizeof s, fn, "stats") : DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_trainer_step(ddgan_trainer_t tr, const float *x0, size_t batch,
                                            ddgan_step_stats *stats)
{
    return do_step(tr, x0, batch, NULL, stats, "ddgan_trainer_step");
}

DDGAN_API ddgan_status_t ddgan_trainer_step_with_draws(ddgan_trainer_t tr, const float *x0, size_t batch,
                                                       const ddgan_step_draws *draws,
                                                       ddgan_step_stats *stats)
{
    return do_step(tr, x0, batch, draws, stats, "ddgan_trainer_step_with_draws");
}

DDGAN_API ddgan_status_t ddgan_trainer_set_global_step(ddgan_trainer_t tr, int64_t step)
{
    static const char fn[] = "ddgan_trainer_set_global_step";
    DDGAN_TRY(check(tr, fn));
    if (step < 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: step %lld must be >= 0", fn, (long long)step);
    tr->global_step = step;
    return DDGAN_OK;
}

DDGAN_API int64_t ddgan_trainer_global_step(ddgan_trainer_t tr)
{
    return check(tr, "ddgan_trainer_global_step") == DDGAN_OK ? tr->global_step : -1;
}

DDGAN_API int64_t ddgan_trainer_skipped_steps(ddgan_trainer_t tr)
{
    return check(tr, "ddgan_trainer_skipped_steps") == DDGAN_OK ? tr->skipped : -1;
}

DDGAN_API ddgan_status_t ddgan_trainer_save(ddgan_trainer_t tr, const char *path)
{
    DDGAN_TRY(check(tr, "ddgan_trainer_save"));
    return ddgan__trainer_save(tr, path);
}

DDGAN_API ddgan_status_t ddgan_trainer_load(ddgan_trainer_t tr, const char *path)
{
    DDGAN_TRY(check(tr, "ddgan_trainer_load"));
    return ddgan__trainer_load(tr, path);
}

DDGAN_API ddgan_status_t ddgan_trainer_attach_dataset(ddgan_trainer_t tr, ddgan_dataset_t ds)
{
    static const char fn[] = "ddgan_trainer_attach_dataset";
    DDGAN_TRY(check(tr, fn));
    return ddgan__ckpt_extras_attach(&tr->extras, ds, fn);
}

DDGAN_API ddgan_status_t ddgan_trainer_set_metadata(ddgan_trainer_t tr, const char *key, const char *value)
{
    static const char fn[] = "ddgan_trainer_set_metadata";
    DDGAN_TRY(check(tr, fn));
    return ddgan__ckpt_extras_set_metadata(&tr->extras, key, value, fn);
}

DDGAN_API ddgan_status_t ddgan_trainer_ema_generator(ddgan_generator_t *out, ddgan_trainer_t tr)
{
    static const char fn[] = "ddgan_trainer_ema_generator";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(check(tr, fn));
    /* before the first step the EMA slot does not exist yet: it equals the parameters */
    const void *src = tr->ema_ready ? tr->g_ema : tr->g->mem.params;
    return ddgan__trainer_ema_generator(out, tr->g, tr->cfg.use_ema, src, tr->n_g, fn);
}
