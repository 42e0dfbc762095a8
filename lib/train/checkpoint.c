/*
 * Trainer checkpoints (docs/training.md): one safetensors file with
 *   G.<key>, G_ema.<key> (use_ema), D.<key>         official names
 *   opt.G.exp_avg, opt.G.exp_avg_sq,
 *   opt.D.exp_avg, opt.D.exp_avg_sq                 flat F32 Adam moments
 *   state.counters                                  I64 [global_step, adam_step_g,
 *                                                        adam_step_d, skipped, ema_ready]
 *   __metadata__: format "ddgan-checkpoint/1", config (G JSON), D_config,
 *                 trainer_config (JSON), library
 * Written atomically (temporary file, fsync, rename, fsync of the folder).
 * Loading reads and checks everything into host memory first and only then
 * replaces the trainer's state, so a bad file leaves the trainer untouched.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "train/ckpt_state.h"
#include "train/trainer.h"

#define CKPT_FORMAT "ddgan-checkpoint/1"
enum { N_COUNTERS = 5 };

static ddgan_status_t trainer_config_json(const struct ddgan_trainer *tr, char **out)
{
    const ddgan_trainer_config *c = &tr->cfg;
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
#define KI(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_int64(&w, (int64_t)(v)))
#define KD(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_double(&w, (double)(v)))
    KI("batch_size", c->batch_size);
    KD("lr_g", c->lr_g);
    KD("lr_d", c->lr_d);
    KD("beta1", c->beta1);
    KD("beta2", c->beta2);
    KD("adam_eps", c->adam_eps);
    KD("r1_gamma", c->r1_gamma);
    KI("lazy_reg", c->lazy_reg);
    KI("use_ema", c->use_ema);
    KD("ema_decay", c->ema_decay);
    ddgan__json_write_key(&w, "lr_schedule");
    ddgan__json_write_string(&w, c->lr_schedule == DDGAN_LR_COSINE ? "cosine" : "constant");
    KD("eta_min", c->eta_min);
    KI("num_epoch", c->num_epoch);
    KI("steps_per_epoch", c->steps_per_epoch);
    ddgan__json_write_key(&w, "seed");
    ddgan__json_write_string(&w, ""); /* placeholder replaced below: uint64 does not fit a double */
#undef KI
#undef KD
    ddgan__json_write_object_end(&w);
    char *json = NULL;
    ddgan_status_t st = ddgan__json_writer_finish(&w, &json, NULL);
    ddgan__json_writer_free(&w);
    DDGAN_TRY(st);
    /* the seed as a decimal string: exact for every uint64 */
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    const char *hole = strstr(json, "\"seed\":\"\"");
    size_t len = strlen(json), need = len + strlen(seed) + 1;
    char *full = ddgan__malloc(need, "checkpoint");
    if (!full) {
        ddgan__free(json);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    size_t pre = (size_t)(hole - json) + strlen("\"seed\":\"");
    memcpy(full, json, pre);
    memcpy(full + pre, seed, strlen(seed));
    memcpy(full + pre + strlen(seed), json + pre, len - pre + 1);
    ddgan__free(json);
    *out = full;
    return DDGAN_OK;
}

/* The trainer's state as the shared checkpoint body sees it (ckpt_state.h). */
static void describe(struct ddgan_trainer *tr, ddgan_ckpt_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->be = tr->ctx->backend;
    cs->n_nets = 2;
    cs->nets[0] =
        ddgan__ckpt_net_g(tr->g, tr->n_g, tr->g_m, tr->g_v, tr->g_ema, tr->cfg.use_ema, tr->ema_ready);
    cs->nets[1] = (ddgan_ckpt_net){.prefix = "D.",
                                   .exp_avg = "opt.D.exp_avg",
                                   .exp_avg_sq = "opt.D.exp_avg_sq",
                                   .pt = tr->d->pt,
                                   .n = tr->n_d,
                                   .params = tr->d->mem.params,
                                   .m = tr->d_m,
                                   .v = tr->d_v};
    cs->n_counters = N_COUNTERS;
    cs->counters[0] = tr->global_step;
    cs->counters[1] = tr->adam_step_g;
    cs->counters[2] = tr->adam_step_d;
    cs->counters[3] = tr->skipped;
    cs->counters[4] = tr->ema_ready;
    cs->extras = &tr->extras;
}

ddgan_status_t ddgan__trainer_save(struct ddgan_trainer *tr, const char *path)
{
    static const char fn[] = "ddgan_trainer_save";
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    char *tcfg = NULL;
    ddgan_status_t st = trainer_config_json(tr, &tcfg);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    ddgan_ckpt_state cs;
    describe(tr, &cs);
    const char *const meta[] = {"format",   CKPT_FORMAT,        "config",         tr->g->config_json,
                                "D_config", tr->d->config_json, "trainer_config", tcfg,
                                NULL};
    st = ddgan__ckpt_save(&cs, meta, path, fn);
    ddgan__free(tcfg);
    return st;
}

ddgan_status_t ddgan__trainer_load(struct ddgan_trainer *tr, const char *path)
{
    static const char fn[] = "ddgan_trainer_load";
    ddgan_st_file *f = NULL;
    DDGAN_TRY(ddgan__ckpt_open(&f, path, fn));
    const char *format = ddgan__st_metadata_get(f, "format");
    ddgan_status_t st = DDGAN_OK;
    if (!format || strcmp(format, CKPT_FORMAT) != 0)
        st = DDGAN_ERR(format ? DDGAN_ERR_VERSION_MISMATCH : DDGAN_ERR_FORMAT,
                       "%s: %s is not a trainer checkpoint of this version (format \"%s\", expected \"%s\")",
                       fn, path, format ? format : "(none)", CKPT_FORMAT);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_check_config(f, "config", tr->g->config_json, "generator", path, fn);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_check_config(f, "D_config", tr->d->config_json, "discriminator", path, fn);
    if (st != DDGAN_OK) {
        ddgan__st_close(f);
        return st;
    }
    ddgan_ckpt_state cs;
    describe(tr, &cs);
    DDGAN_TRY(ddgan__ckpt_load(&cs, f, path, fn));
    tr->global_step = cs.counters[0];
    tr->adam_step_g = cs.counters[1];
    tr->adam_step_d = cs.counters[2];
    tr->skipped = cs.counters[3];
    tr->ema_ready = (int)cs.counters[4] && tr->cfg.use_ema;
    return DDGAN_OK;
}
