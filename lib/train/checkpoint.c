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
#include "model/weights.h"
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

/* Host copies of everything a checkpoint holds. */
typedef struct snapshot {
    float *g, *g_ema, *d, *g_m, *g_v, *d_m, *d_v;
    int64_t counters[N_COUNTERS];
} snapshot;

static void snapshot_free(snapshot *s)
{
    float *p[7] = {s->g, s->g_ema, s->d, s->g_m, s->g_v, s->d_m, s->d_v};
    for (int i = 0; i < 7; i++)
        ddgan__free(p[i]);
    memset(s, 0, sizeof *s);
}

static ddgan_status_t snapshot_alloc(snapshot *s, const struct ddgan_trainer *tr, const char *fn)
{
    memset(s, 0, sizeof *s);
    float **gp[4] = {&s->g, &s->g_m, &s->g_v, &s->g_ema};
    float **dp[3] = {&s->d, &s->d_m, &s->d_v};
    for (int i = 0; i < 4; i++) {
        if (i == 3 && !tr->cfg.use_ema)
            break;
        if (!(*gp[i] = ddgan__calloc(tr->n_g ? tr->n_g : 1, sizeof(float), fn))) {
            snapshot_free(s);
            return DDGAN_ERR_OUT_OF_MEMORY;
        }
    }
    for (int i = 0; i < 3; i++)
        if (!(*dp[i] = ddgan__calloc(tr->n_d ? tr->n_d : 1, sizeof(float), fn))) {
            snapshot_free(s);
            return DDGAN_ERR_OUT_OF_MEMORY;
        }
    return DDGAN_OK;
}

ddgan_status_t ddgan__trainer_save(struct ddgan_trainer *tr, const char *path)
{
    static const char fn[] = "ddgan_trainer_save";
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    ddgan_backend *be = tr->ctx->backend;
    snapshot s;
    DDGAN_TRY(snapshot_alloc(&s, tr, fn));
    const size_t gb = tr->n_g * sizeof(float), db = tr->n_d * sizeof(float);
    ddgan_status_t st = be->ops->copy_d2h(be, s.g, tr->g->mem.params, gb);
    if (st == DDGAN_OK)
        st = be->ops->copy_d2h(be, s.g_m, tr->g_m, gb);
    if (st == DDGAN_OK)
        st = be->ops->copy_d2h(be, s.g_v, tr->g_v, gb);
    if (st == DDGAN_OK && tr->cfg.use_ema)
        st = be->ops->copy_d2h(be, s.g_ema, tr->ema_ready ? tr->g_ema : tr->g->mem.params, gb);
    if (st == DDGAN_OK)
        st = be->ops->copy_d2h(be, s.d, tr->d->mem.params, db);
    if (st == DDGAN_OK)
        st = be->ops->copy_d2h(be, s.d_m, tr->d_m, db);
    if (st == DDGAN_OK)
        st = be->ops->copy_d2h(be, s.d_v, tr->d_v, db);
    s.counters[0] = tr->global_step;
    s.counters[1] = tr->adam_step_g;
    s.counters[2] = tr->adam_step_d;
    s.counters[3] = tr->skipped;
    s.counters[4] = tr->ema_ready;
    char *tcfg = NULL;
    if (st == DDGAN_OK)
        st = trainer_config_json(tr, &tcfg);
    ddgan_st_writer *w = NULL;
    if (st == DDGAN_OK)
        st = ddgan__st_writer_create(&w);
    if (st == DDGAN_OK)
        st = ddgan__weights_add(tr->g->pt, w, "G.", s.g);
    if (st == DDGAN_OK && tr->cfg.use_ema)
        st = ddgan__weights_add(tr->g->pt, w, "G_ema.", s.g_ema);
    if (st == DDGAN_OK)
        st = ddgan__weights_add(tr->d->pt, w, "D.", s.d);
    const int64_t ng[1] = {(int64_t)tr->n_g}, nd[1] = {(int64_t)tr->n_d}, nc[1] = {N_COUNTERS};
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add(w, "opt.G.exp_avg", DDGAN_ST_F32, ng, 1, s.g_m);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add(w, "opt.G.exp_avg_sq", DDGAN_ST_F32, ng, 1, s.g_v);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add(w, "opt.D.exp_avg", DDGAN_ST_F32, nd, 1, s.d_m);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add(w, "opt.D.exp_avg_sq", DDGAN_ST_F32, nd, 1, s.d_v);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add(w, "state.counters", DDGAN_ST_I64, nc, 1, s.counters);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "format", CKPT_FORMAT);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "config", tr->g->config_json);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "D_config", tr->d->config_json);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "trainer_config", tcfg);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "library", "libddgan " DDGAN_VERSION_STRING);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_extras_write(&tr->extras, w);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_write(w, path);
    ddgan__st_writer_destroy(w);
    ddgan__free(tcfg);
    snapshot_free(&s);
    return st == DDGAN_OK ? st : ddgan__error_prefix(st, "%s", fn);
}

ddgan_status_t ddgan__trainer_load(struct ddgan_trainer *tr, const char *path)
{
    static const char fn[] = "ddgan_trainer_load";
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    ddgan_st_file *f = NULL;
    ddgan_status_t st = ddgan__st_open(&f, path);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    const char *format = ddgan__st_metadata_get(f, "format");
    const char *gcfg = ddgan__st_metadata_get(f, "config");
    const char *dcfg = ddgan__st_metadata_get(f, "D_config");
    if (!format || strcmp(format, CKPT_FORMAT) != 0) {
        st = DDGAN_ERR(format ? DDGAN_ERR_VERSION_MISMATCH : DDGAN_ERR_FORMAT,
                       "%s: %s is not a trainer checkpoint of this version (format \"%s\", expected \"%s\")",
                       fn, path, format ? format : "(none)", CKPT_FORMAT);
    } else if (!gcfg || strcmp(gcfg, tr->g->config_json) != 0) {
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                       "%s: %s was written for another generator config (%.200s)", fn, path,
                       gcfg ? gcfg : "(none)");
    } else if (!dcfg || strcmp(dcfg, tr->d->config_json) != 0) {
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                       "%s: %s was written for another discriminator config (%.200s)", fn, path,
                       dcfg ? dcfg : "(none)");
    }
    snapshot s;
    memset(&s, 0, sizeof s);
    if (st == DDGAN_OK)
        st = snapshot_alloc(&s, tr, fn);
    if (st == DDGAN_OK)
        st = ddgan__weights_read(tr->g->pt, f, "G.", s.g, fn);
    if (st == DDGAN_OK && tr->cfg.use_ema)
        st = ddgan__weights_read(tr->g->pt, f, "G_ema.", s.g_ema, fn);
    if (st == DDGAN_OK)
        st = ddgan__weights_read(tr->d->pt, f, "D.", s.d, fn);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_read_flat(f, "opt.G.exp_avg", s.g_m, tr->n_g, fn);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_read_flat(f, "opt.G.exp_avg_sq", s.g_v, tr->n_g, fn);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_read_flat(f, "opt.D.exp_avg", s.d_m, tr->n_d, fn);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_read_flat(f, "opt.D.exp_avg_sq", s.d_v, tr->n_d, fn);
    if (st == DDGAN_OK) {
        st = ddgan__st_read_i64(f, "state.counters", s.counters, N_COUNTERS);
        if (st != DDGAN_OK)
            st = ddgan__error_prefix(st, "%s", fn);
    }
    if (st == DDGAN_OK && (s.counters[0] < 0 || s.counters[1] < 0 || s.counters[2] < 0 ||
                           s.counters[3] < 0 || (s.counters[4] != 0 && s.counters[4] != 1)))
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: invalid counters", fn, path);
    ddgan_ckpt_data_state data = {0}, old_data = {0};
    if (st == DDGAN_OK)
        st = ddgan__ckpt_extras_read(&tr->extras, f, &data, fn);
    ddgan__st_close(f);
    /* the loader moves last among the checks: its set_state validates the
     * position against the dataset and is undone if a copy below fails */
    if (st == DDGAN_OK)
        st = ddgan__ckpt_extras_apply(&tr->extras, &data, &old_data, fn);
    if (st != DDGAN_OK) {
        snapshot_free(&s);
        return st;
    }
    /* everything is read and valid: replace the state */
    ddgan_backend *be = tr->ctx->backend;
    const size_t gb = tr->n_g * sizeof(float), db = tr->n_d * sizeof(float);
    st = be->ops->copy_h2d(be, tr->g->mem.params, s.g, gb);
    if (st == DDGAN_OK)
        st = be->ops->copy_h2d(be, tr->g_m, s.g_m, gb);
    if (st == DDGAN_OK)
        st = be->ops->copy_h2d(be, tr->g_v, s.g_v, gb);
    if (st == DDGAN_OK && tr->cfg.use_ema)
        st = be->ops->copy_h2d(be, tr->g_ema, s.g_ema, gb);
    if (st == DDGAN_OK)
        st = be->ops->copy_h2d(be, tr->d->mem.params, s.d, db);
    if (st == DDGAN_OK)
        st = be->ops->copy_h2d(be, tr->d_m, s.d_m, db);
    if (st == DDGAN_OK)
        st = be->ops->copy_h2d(be, tr->d_v, s.d_v, db);
    if (st == DDGAN_OK) {
        tr->global_step = s.counters[0];
        tr->adam_step_g = s.counters[1];
        tr->adam_step_d = s.counters[2];
        tr->skipped = s.counters[3];
        tr->ema_ready = (int)s.counters[4] && tr->cfg.use_ema;
    } else {
        ddgan__ckpt_extras_undo(&tr->extras, &old_data);
    }
    snapshot_free(&s);
    return st;
}
