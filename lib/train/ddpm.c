/*
 * The DDPM baseline (Ho, Jain, Abbeel 2020; docs/ddpm.md) on the library's
 * generator networks.
 *
 * Training step (planned like the DDGAN step: the same code runs as a dry
 * run that only counts arena bytes, then for real, allocating nothing):
 *   t ~ U{0..T-1}, eps ~ N(0, I)        the step's own Philox stream
 *   x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
 *   loss = mean over all elements of (G(x_t, t, z = 0) - eps)^2
 *   backward into G; clip the global gradient norm; Adam; EMA.
 *
 * Sampling: ancestral sampling over K evenly strided timesteps of the T-step
 * schedule with the betas recomputed for the subsequence (Improved DDPM's
 * respacing), x0-parameterised posterior mean (x0 clipped to [-1, 1] for
 * image generators), posterior variance beta-tilde.
 *
 * Checkpoints: the DDGAN trainer's layout without D (see ddgan__ddpm_save).
 */
#include "train/ddpm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/philox.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "train/ckpt_state.h"
#include "train/step_ops.h"

/* ------------------------------------------------------------------------ */
/* Checks shared by the trainer and the sampler */

static int differs(double a, double b)
{
    return fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b));
}

ddgan_status_t ddgan__ddpm_check_models(ddgan_generator_t g, ddgan_schedule_t s, const char *fn)
{
    if (!g || g->magic != DDGAN_MAGIC_GENERATOR)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: generator is %s", fn, g ? "invalid" : "NULL");
    if (!s || s->magic != DDGAN_MAGIC_SCHEDULE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: schedule is %s", fn, s ? "invalid" : "NULL");
    if (g->ctx != s->ctx)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the generator and the schedule must share one context", fn);
    if (s->cfg.kind != DDGAN_SCHEDULE_DDPM_LINEAR)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the schedule is kind %d (DDGAN); DDPM needs a schedule of kind "
                         "DDGAN_SCHEDULE_DDPM_LINEAR (1), e.g. T = 1000, beta_min 1e-4, beta_max 0.02",
                         fn, s->cfg.kind);
    if (s->T != g->cfg.num_timesteps)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the schedule has %d steps but the generator was configured for "
                         "num_timesteps %d (they must be equal: the network is called with t in [0, T))",
                         fn, s->T, g->cfg.num_timesteps);
    if (g->cls != DDGAN_CLS_TOY) {
        if (!g->cfg.not_use_tanh)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "%s: the generator ends in tanh (not_use_tanh false), but DDPM's epsilon "
                             "prediction is unbounded; create it with \"not_use_tanh\": true",
                             fn);
        if (!strcmp(g->cfg.embedding_type, "fourier"))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "%s: embedding_type \"fourier\" embeds log(t), which is -inf at DDPM's "
                             "t = 0; use \"positional\"",
                             fn);
    }
    if (differs(g->cfg.beta_min, s->cfg.beta_min) || differs(g->cfg.beta_max, s->cfg.beta_max))
        ddgan__log(g->ctx, DDGAN_LOG_WARN,
                   "%s: the generator's config carries beta_min %g / beta_max %g but the DDPM "
                   "schedule has %g / %g; using the schedule",
                   fn, g->cfg.beta_min, g->cfg.beta_max, s->cfg.beta_min, s->cfg.beta_max);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Training step */

typedef struct dstep {
    struct ddgan_ddpm_trainer *tr;
    ddgan_exec ex;    /* G's parameters and gradients, the trainer's arena */
    ddgan_step_ctx c; /* c.ex = &ex */
} dstep;

/* A flat [1, 1, 1, n] elementwise descriptor. */
static void flat_desc(ddgan_ew_desc *d, size_t n)
{
    memset(d, 0, sizeof *d);
    d->dtype = DDGAN_DT_F32;
    d->shape[0] = d->shape[1] = d->shape[2] = 1;
    d->shape[3] = (int64_t)n;
    d->a_strides[3] = d->b_strides[3] = 1;
    d->a_strides[0] = d->a_strides[1] = d->a_strides[2] = (int64_t)n;
    d->b_strides[0] = d->b_strides[1] = d->b_strides[2] = (int64_t)n;
}

double ddgan__ddpm_lr(const struct ddgan_ddpm_trainer *tr)
{
    const double lr = tr->cfg.lr;
    if (tr->cfg.warmup <= 0)
        return lr;
    const double f = (double)(tr->global_step + 1) / (double)tr->cfg.warmup;
    return f < 1.0 ? lr * f : lr;
}

ddgan_status_t ddgan__ddpm_step(struct ddgan_ddpm_trainer *tr, const float *x0_host, int B,
                                const int64_t *t_given, const float *eps_given, double *loss_out,
                                double *grad_norm_out)
{
    static const char fn[] = "ddgan_ddpm_trainer_step";
    dstep st;
    memset(&st, 0, sizeof st);
    st.tr = tr;
    st.c.B = B;
    st.c.planning = tr->arena.planning;
    st.c.be = tr->ctx->backend;
    st.c.seed = tr->cfg.seed;
    st.c.stream = DDGAN_DDPM_STREAM_TRAIN_BASE + (uint64_t)tr->global_step;
    st.ex.be = st.c.be;
    st.ex.k = st.c.be->ops->compute;
    st.ex.dt = DDGAN_DT_F32;
    st.ex.dsz = sizeof(float);
    st.ex.arena = &tr->arena;
    st.ex.params = tr->g->mem.params;
    st.ex.grads = tr->g->mem.grads;
    st.c.ex = &st.ex;
    ddgan_exec *ex = &st.ex;
    ddgan_backend *be = st.c.be;
    ddgan__arena_reset(&tr->arena);

    /* real data in diffusion units */
    ddgan_tensor x0;
    DDGAN_TRY(ddgan__step_alloc(&st.c, &x0, tr->c, tr->h, tr->w));
    const size_t N = ddgan__numel(&x0);
    if (!st.c.planning) {
        DDGAN_TRY(be->ops->copy_h2d(be, x0.data, x0_host, N * sizeof(float)));
        if (tr->data_scale != 1.0) {
            ddgan_ew_desc d;
            ddgan__ew_dense(&d, DDGAN_DT_F32, B, tr->c, tr->h, tr->w);
            DDGAN_TRY(be->ops->compute->unary(be, &d, DDGAN_UN_SCALE, 1.0 / tr->data_scale, 0.0, x0.data,
                                              x0.data, 0));
        }
        DDGAN_TRY(be->ops->fill_f32(be, tr->g->mem.grads, 0.0f, tr->n_g));
    }

    /* draws: t, then eps */
    DDGAN_TRY(ddgan__step_draw_t(&st.c, tr->s->T, tr->t, t_given, "ddpm step"));
    ddgan_tensor eps, a, sg, x_t, z, eps_hat, diff, dout;
    DDGAN_TRY(ddgan__step_alloc(&st.c, &eps, tr->c, tr->h, tr->w));
    DDGAN_TRY(ddgan__step_draw_normal(&st.c, &eps, eps_given));

    /* x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (float64 coefficients rounded once) */
    float *h = tr->host_vec;
    const double *abar = tr->s->coef_f64[DDGAN_COEF_POST_ALPHAS_CUMPROD];
    for (int b = 0; b < B; b++) {
        h[b] = (float)sqrt(abar[tr->t[b]]);
        h[B + b] = (float)sqrt(1.0 - abar[tr->t[b]]);
    }
    DDGAN_TRY(ddgan__step_upload_vec(&st.c, &a, h));
    DDGAN_TRY(ddgan__step_upload_vec(&st.c, &sg, h + B));
    DDGAN_TRY(ddgan__step_scale2(&st.c, &x0, &a, &eps, &sg, &x_t));

    /* eps_hat = G(x_t, t, z = 0) */
    DDGAN_TRY(ddgan__step_alloc(&st.c, &z, tr->nz, 1, 1));
    DDGAN_TRY(ddgan__tensor_zero(ex, &z));
    ddgan_g_record rec;
    memset(&rec, 0, sizeof rec);
    DDGAN_TRY(ddgan__net_g_forward(ex, tr->g, &x_t, tr->t, &z, &rec, &eps_hat));

    /* loss = mean (eps_hat - eps)^2; d loss / d eps_hat = 2 (eps_hat - eps) / N */
    DDGAN_TRY(ddgan__step_alloc(&st.c, &diff, tr->c, tr->h, tr->w));
    DDGAN_TRY(ddgan__step_alloc(&st.c, &dout, tr->c, tr->h, tr->w));
    {
        ddgan_ew_desc d;
        ddgan__ew_dense(&d, DDGAN_DT_F32, B, tr->c, tr->h, tr->w);
        DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, -1.0, eps_hat.data, eps.data, diff.data, 0));
        DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 2.0 / (double)N, 0.0, diff.data, dout.data, 0));
    }
    double ss;
    DDGAN_TRY(ddgan__step_sumsq(&st.c, diff.data, N, &ss));
    const double loss = ss / (double)N;
    DDGAN_TRY(ddgan__net_g_backward(ex, tr->g, &rec, &dout));
    DDGAN_TRY(ddgan__step_clear_frozen(&st.c, tr->g->pt, tr->g->mem.grads));
    double gsq;
    DDGAN_TRY(ddgan__step_sumsq(&st.c, tr->g->mem.grads, tr->n_g, &gsq));
    const double gnorm = sqrt(gsq);
    if (!st.c.planning && !(isfinite(loss) && isfinite(gsq))) {
        if (tr->cfg.skip_nonfinite) {
            tr->skipped++;
            if (loss_out)
                *loss_out = loss;
            if (grad_norm_out)
                *grad_norm_out = gnorm;
            return DDGAN_OK;
        }
        return DDGAN_ERR(DDGAN_ERR_NUMERICAL,
                         "%s: step %lld: non-finite loss %g or gradient (|grad|^2 %g); nothing was changed",
                         fn, (long long)tr->global_step, loss, gsq);
    }

    /* global-norm clipping (tf.clip_by_global_norm: g * clip / max(norm, clip)) */
    if (tr->cfg.grad_clip > 0.0f && (st.c.planning || gnorm > (double)tr->cfg.grad_clip)) {
        ddgan_ew_desc d;
        flat_desc(&d, tr->n_g);
        const double f = st.c.planning ? 1.0 : (double)tr->cfg.grad_clip / gnorm;
        DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, f, 0.0, tr->g->mem.grads, tr->g->mem.grads, 0));
    }
    ddgan_adam_desc ad;
    memset(&ad, 0, sizeof ad);
    ad.dtype = DDGAN_DT_F32;
    ad.n = tr->n_g;
    ad.lr = ddgan__ddpm_lr(tr);
    ad.beta1 = tr->cfg.beta1;
    ad.beta2 = tr->cfg.beta2;
    ad.eps = tr->cfg.adam_eps;
    ad.step = tr->adam_step + 1;
    DDGAN_TRY(DDGAN_K(ex, adam, &ad, tr->g->mem.params, tr->g->mem.grads, tr->m, tr->v));
    if (tr->cfg.use_ema) {
        /* as the DDGAN trainer (EMA.py): the slot starts as a copy of the post-step parameters */
        if (!tr->ema_ready && !st.c.planning)
            DDGAN_TRY(be->ops->copy_d2d(be, tr->ema, tr->g->mem.params, tr->n_g * sizeof(float)));
        DDGAN_TRY(DDGAN_K(ex, ema, DDGAN_DT_F32, tr->n_g, tr->cfg.ema_decay, tr->ema, tr->g->mem.params));
    }
    if (st.c.planning)
        return DDGAN_OK;
    tr->adam_step++;
    tr->ema_ready = tr->cfg.use_ema;
    tr->global_step++;
    if (loss_out)
        *loss_out = loss;
    if (grad_norm_out)
        *grad_norm_out = gnorm;
    return DDGAN_OK;
}

ddgan_status_t ddgan__ddpm_plan(struct ddgan_ddpm_trainer *tr, int batch)
{
    ddgan__step_plan_begin(&tr->arena);
    const ddgan_status_t st = ddgan__ddpm_step(tr, NULL, batch, NULL, NULL, NULL, NULL);
    return ddgan__step_plan_end(&tr->arena, tr->ctx->backend, st);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints:
 *   G.<key>, G_ema.<key> (use_ema)                 official names
 *   opt.G.exp_avg, opt.G.exp_avg_sq                flat F32 Adam moments
 *   state.counters                                 I64 [global_step, adam_step, skipped, ema_ready]
 *   __metadata__: format "ddgan-ddpm-checkpoint/1", config (G JSON),
 *                 schedule (JSON), trainer_config (JSON), library
 * Written atomically by the safetensors writer; loading reads and checks
 * everything into host memory before replacing any state. */

#define DDPM_CKPT_FORMAT "ddgan-ddpm-checkpoint/1"
enum { N_COUNTERS = 4 };

static ddgan_status_t finish_json(ddgan_json_writer *w, char **out)
{
    ddgan__json_write_object_end(w);
    ddgan_status_t st = ddgan__json_writer_finish(w, out, NULL);
    ddgan__json_writer_free(w);
    return st;
}

#define KI(w, k, v) (ddgan__json_write_key(w, k), ddgan__json_write_int64(w, (int64_t)(v)))
#define KD(w, k, v) (ddgan__json_write_key(w, k), ddgan__json_write_double(w, (double)(v)))
#define KS(w, k, v) (ddgan__json_write_key(w, k), ddgan__json_write_string(w, v))

static ddgan_status_t schedule_json(const struct ddgan_ddpm_trainer *tr, char **out)
{
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    KS(&w, "kind", "ddpm_linear");
    KI(&w, "num_timesteps", tr->s->cfg.num_timesteps);
    KD(&w, "beta_min", tr->s->cfg.beta_min);
    KD(&w, "beta_max", tr->s->cfg.beta_max);
    return finish_json(&w, out);
}

static ddgan_status_t trainer_config_json(const struct ddgan_ddpm_trainer *tr, char **out)
{
    const ddgan_ddpm_trainer_config *c = &tr->cfg;
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    KI(&w, "batch_size", c->batch_size);
    KD(&w, "lr", c->lr);
    KD(&w, "beta1", c->beta1);
    KD(&w, "beta2", c->beta2);
    KD(&w, "adam_eps", c->adam_eps);
    KI(&w, "warmup", c->warmup);
    KD(&w, "grad_clip", c->grad_clip);
    KI(&w, "use_ema", c->use_ema);
    KD(&w, "ema_decay", c->ema_decay);
    KS(&w, "seed", seed); /* a decimal string: exact for every uint64 */
    KI(&w, "skip_nonfinite", c->skip_nonfinite);
    return finish_json(&w, out);
}

#undef KI
#undef KD
#undef KS

/* The trainer's state as the shared checkpoint body sees it (ckpt_state.h). */
static void describe(struct ddgan_ddpm_trainer *tr, ddgan_ckpt_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->be = tr->ctx->backend;
    cs->n_nets = 1;
    cs->nets[0] = ddgan__ckpt_net_g(tr->g, tr->n_g, tr->m, tr->v, tr->ema, tr->cfg.use_ema, tr->ema_ready);
    cs->n_counters = N_COUNTERS;
    cs->counters[0] = tr->global_step;
    cs->counters[1] = tr->adam_step;
    cs->counters[2] = tr->skipped;
    cs->counters[3] = tr->ema_ready;
    cs->extras = &tr->extras;
}

ddgan_status_t ddgan__ddpm_save(struct ddgan_ddpm_trainer *tr, const char *path)
{
    static const char fn[] = "ddgan_ddpm_trainer_save";
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    char *tcfg = NULL, *scfg = NULL;
    ddgan_status_t st = trainer_config_json(tr, &tcfg);
    if (st == DDGAN_OK)
        st = schedule_json(tr, &scfg);
    if (st == DDGAN_OK) {
        ddgan_ckpt_state cs;
        describe(tr, &cs);
        const char *const meta[] = {"format",   DDPM_CKPT_FORMAT, "config",         tr->g->config_json,
                                    "schedule", scfg,             "trainer_config", tcfg,
                                    NULL};
        st = ddgan__ckpt_save(&cs, meta, path, fn);
    } else {
        st = ddgan__error_prefix(st, "%s", fn);
    }
    ddgan__free(tcfg);
    ddgan__free(scfg);
    return st;
}

ddgan_status_t ddgan__ddpm_load(struct ddgan_ddpm_trainer *tr, const char *path)
{
    static const char fn[] = "ddgan_ddpm_trainer_load";
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    char *scfg = NULL;
    DDGAN_TRY(schedule_json(tr, &scfg));
    ddgan_st_file *f = NULL;
    ddgan_status_t st = ddgan__ckpt_open(&f, path, fn);
    if (st != DDGAN_OK) {
        ddgan__free(scfg);
        return st;
    }
    const char *format = ddgan__st_metadata_get(f, "format");
    const char *fsched = ddgan__st_metadata_get(f, "schedule");
    if (!format || strcmp(format, DDPM_CKPT_FORMAT) != 0) {
        /* another version of this format: version mismatch; anything else
         * (a weights file, a DDGAN trainer checkpoint): not this format */
        const int other_version = format && !strncmp(format, "ddgan-ddpm-checkpoint/", 22);
        st = DDGAN_ERR(other_version ? DDGAN_ERR_VERSION_MISMATCH : DDGAN_ERR_FORMAT,
                       "%s: %s is not a DDPM trainer checkpoint of this version (format \"%s\", expected "
                       "\"%s\")",
                       fn, path, format ? format : "(none)", DDPM_CKPT_FORMAT);
    }
    if (st == DDGAN_OK)
        st = ddgan__ckpt_check_config(f, "config", tr->g->config_json, "generator", path, fn);
    if (st == DDGAN_OK && (!fsched || strcmp(fsched, scfg) != 0))
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                       "%s: %s was written for another schedule (%.200s; this trainer's: %s)", fn, path,
                       fsched ? fsched : "(none)", scfg);
    ddgan__free(scfg);
    if (st != DDGAN_OK) {
        ddgan__st_close(f);
        return st;
    }
    ddgan_ckpt_state cs;
    describe(tr, &cs);
    DDGAN_TRY(ddgan__ckpt_load(&cs, f, path, fn));
    tr->global_step = cs.counters[0];
    tr->adam_step = cs.counters[1];
    tr->skipped = cs.counters[2];
    tr->ema_ready = (int)cs.counters[3] && tr->cfg.use_ema;
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Respaced ancestral sampling */

void ddgan__ddpm_respace(int T, int K, int *tau)
{
    if (K <= 1) {
        tau[0] = T - 1;
        return;
    }
    const int64_t den = K - 1;
    for (int i = 0; i < K; i++) {
        const int64_t num = (int64_t)i * (T - 1);
        int64_t q = num / den;
        const int64_t r2 = 2 * (num % den);
        if (r2 > den || (r2 == den && (q & 1)))
            q++;
        tau[i] = (int)q;
    }
}

void ddgan__ddpm_step_coef(const double *abar, const int *tau, int i, ddgan_ddpm_coef *c)
{
    c->abar = abar[tau[i]];
    c->abar_prev = i > 0 ? abar[tau[i - 1]] : 1.0;
    const double alpha = c->abar / c->abar_prev;
    c->beta = 1.0 - alpha;
    c->recip = 1.0 / sqrt(c->abar);
    c->recipm1 = sqrt(1.0 / c->abar - 1.0);
    c->c1 = c->beta * sqrt(c->abar_prev) / (1.0 - c->abar);
    c->c2 = (1.0 - c->abar_prev) * sqrt(alpha) / (1.0 - c->abar);
    c->sigma = i > 0 ? sqrt(c->beta * (1.0 - c->abar_prev) / (1.0 - c->abar)) : 0.0;
}

/* Plan-key mode of a DDPM sampling chunk (distinct from the generator's own
 * modes and ddgan_sample's). */
enum { MODE_DDPM_SAMPLE = 0x44445053 };

typedef struct chunk_args {
    size_t off; /* first example of this chunk within the request */
    int batch;
    int K;
    const int *tau; /* K kept steps */
    uint64_t seed;
    float *out; /* [n, per] */
} chunk_args;

/* x0 <- clamp(x0, -1, 1) = x0 - relu(x0 - 1) + relu(-x0 - 1) (exact for |x0| < 2^24). */
static ddgan_status_t clip_unit(ddgan_exec *ex, const ddgan_tensor *x, const ddgan_tensor *r1,
                                const ddgan_tensor *r2)
{
    const size_t n = ddgan__numel(x);
    ddgan_ew_desc d;
    flat_desc(&d, n);
    DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, -1.0, x->data, r1->data, 0));
    DDGAN_TRY(DDGAN_K(ex, act_fwd, DDGAN_DT_F32, DDGAN_ACT_LRELU, 0.0, n, r1->data, r1->data));
    DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, -1.0, -1.0, x->data, r2->data, 0));
    DDGAN_TRY(DDGAN_K(ex, act_fwd, DDGAN_DT_F32, DDGAN_ACT_LRELU, 0.0, n, r2->data, r2->data));
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, -1.0, x->data, r1->data, x->data, 0));
    return DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, 1.0, x->data, r2->data, x->data, 0);
}

/* `count` normals per example of the chunk from block `block` of each
 * example's stream (DDGAN_DDPM_SAMPLE_STREAM_BASE + its index). */
static ddgan_status_t draw_chunk(ddgan_exec *ex, const chunk_args *a, size_t count, uint64_t block,
                                 const ddgan_tensor *dst)
{
    if (ex->arena->planning)
        return DDGAN_OK;
    char *o = dst->data;
    for (int b = 0; b < a->batch; b++)
        DDGAN_TRY(ex->k->rand_normal(ex->be, DDGAN_DT_F32, count, a->seed,
                                     DDGAN_DDPM_SAMPLE_STREAM_BASE + a->off + (uint64_t)b, block,
                                     o + (size_t)b * count * sizeof(float)));
    return DDGAN_OK;
}

static ddgan_status_t chunk_body(ddgan_generator_t g, ddgan_schedule_t s, const chunk_args *a)
{
    int c, h, w, nz;
    ddgan__handle_gen_example_shape(g, &c, &h, &w, &nz);
    const size_t per = (size_t)c * h * w;
    const int B = a->batch;
    if (B < 1 || B > DDGAN_DDPM_SAMPLE_CHUNK)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "ddpm sampler: chunk of %d examples", B);
    const int toy = g->cls == DDGAN_CLS_TOY;
    ddgan_exec ex = ddgan__netmem_exec(&g->mem, 0);
    ddgan__arena_reset(&g->mem.arena);
    const int planning = ex.arena->planning;
    ddgan_tensor xa, xb, x0, noise, z, r1, r2;
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xa, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xb, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &x0, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &noise, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &r1, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &r2, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &z, B, nz, 1, 1));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &z));
    const uint64_t xblocks = ddgan__philox_blocks(per);
    DDGAN_TRY(draw_chunk(&ex, a, per, 0, &xa)); /* x_T from block 0 */
    int64_t t[DDGAN_DDPM_SAMPLE_CHUNK];
    const double *abar = s->coef_f64[DDGAN_COEF_POST_ALPHAS_CUMPROD];
    ddgan_ew_desc d;
    flat_desc(&d, (size_t)B * per);
    /* a dry run needs one step of each kind (memory does not grow with K) */
    const int last = planning && a->K > 2 ? a->K - 2 : 0;
    for (int i = a->K - 1; i >= last; i--) {
        const int j = a->K - 1 - i; /* steps taken before this one */
        ddgan_ddpm_coef k;
        ddgan__ddpm_step_coef(abar, a->tau, i, &k);
        for (int b = 0; b < B; b++)
            t[b] = a->tau[i];
        const size_t mark = ddgan__arena_mark(ex.arena);
        ddgan_tensor eps_hat = {0};
        DDGAN_TRY(ddgan__net_g_forward(&ex, g, &xa, t, &z, NULL, &eps_hat));
        /* x0 = x / sqrt(abar) - sqrt(1 / abar - 1) eps_hat */
        DDGAN_TRY(DDGAN_K(&ex, binary, &d, DDGAN_BIN_AXPBY, k.recip, -k.recipm1, xa.data, eps_hat.data,
                          x0.data, 0));
        ddgan__arena_release(ex.arena, mark);
        if (!toy)
            DDGAN_TRY(clip_unit(&ex, &x0, &r1, &r2));
        /* posterior mean, plus beta-tilde noise except at the last step */
        DDGAN_TRY(DDGAN_K(&ex, binary, &d, DDGAN_BIN_AXPBY, k.c1, k.c2, x0.data, xa.data, xb.data, 0));
        if (i > 0) {
            DDGAN_TRY(draw_chunk(&ex, a, per, xblocks * (uint64_t)(1 + j), &noise));
            DDGAN_TRY(
                DDGAN_K(&ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, k.sigma, xb.data, noise.data, xb.data, 0));
        }
        const ddgan_tensor tmp = xa;
        xa = xb;
        xb = tmp;
    }
    if (planning)
        return DDGAN_OK;
    const size_t bytes = (size_t)B * per * sizeof(float);
    if (toy) { /* data units */
        DDGAN_TRY(ex.k->unary(ex.be, &d, DDGAN_UN_SCALE, g->tcfg.data_scale, 0.0, xa.data, r1.data, 0));
        return ex.be->ops->copy_d2h(ex.be, a->out + a->off * per, r1.data, bytes);
    }
    return ex.be->ops->copy_d2h(ex.be, a->out + a->off * per, xa.data, bytes);
}

static ddgan_status_t run_chunk(ddgan_generator_t g, ddgan_schedule_t s, const chunk_args *a)
{
    DDGAN_TRY(ddgan__handle_gen_raise_batch(g, a->batch));
    const ddgan_plan_key key = {MODE_DDPM_SAMPLE, a->batch, 0, 0};
    if (ddgan__handle_plan_begin(&g->mem, &g->plan, &key))
        DDGAN_TRY(ddgan__handle_plan_end(&g->mem, &g->plan, &key, chunk_body(g, s, a)));
    return chunk_body(g, s, a);
}

ddgan_status_t ddgan__ddpm_sample(ddgan_generator_t g, ddgan_schedule_t s, size_t n, int K, uint64_t seed,
                                  float *out)
{
    int *tau = ddgan__malloc((size_t)K * sizeof *tau, "ddgan_ddpm_sample");
    if (!tau)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan__ddpm_respace(s->T, K, tau);
    chunk_args a;
    memset(&a, 0, sizeof a);
    a.K = K;
    a.tau = tau;
    a.seed = seed;
    a.out = out;
    ddgan_status_t st = DDGAN_OK;
    for (size_t off = 0; off < n && st == DDGAN_OK; off += DDGAN_DDPM_SAMPLE_CHUNK) {
        a.off = off;
        a.batch = (int)(n - off < DDGAN_DDPM_SAMPLE_CHUNK ? n - off : DDGAN_DDPM_SAMPLE_CHUNK);
        st = run_chunk(g, s, &a);
    }
    ddgan__free(tau);
    return st;
}
