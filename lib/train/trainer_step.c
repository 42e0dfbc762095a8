/*
 * One DDGAN training iteration in the official order (reference 5.2):
 *
 *   D step: t, eps_pair, eps_q -> (x_t, x_tp1); D on the real pair,
 *           softplus(-D) backward; lazy R1; z -> x0_pred = G(x_tp1, t, z)
 *           (G frozen); eps_post -> x_pos; D on the fake pair, softplus(D)
 *           backward; Adam on D.
 *   G step: fresh t, eps_pair, eps_q on the same batch; z -> G (recorded);
 *           eps_post -> x_pos; softplus(-D(x_pos)) through the updated,
 *           frozen D, back through the posterior mean (coef1) into G; Adam
 *           on G; EMA.
 *
 * The same code runs as a planning dry run (the arena only counts bytes and
 * no op runs) and for real, so a step allocates nothing. Every random draw
 * has a fixed position in the step's own Philox stream, whether or not the
 * caller supplies it (replay).
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "train/step_ops.h"
#include "train/trainer.h"

typedef struct step {
    struct ddgan_trainer *tr;
    const ddgan_step_draws *dr;
    ddgan_exec ex_d, ex_d_frozen, ex_g, ex_g_frozen;
    ddgan_step_ctx c; /* c.ex: one of the four above, for arena allocations */
} step;

static ddgan_exec make_exec(struct ddgan_trainer *tr, ddgan_netmem *m, int grads)
{
    ddgan_exec ex;
    memset(&ex, 0, sizeof ex);
    ex.be = m->be;
    ex.k = m->be->ops->compute;
    ex.dt = DDGAN_DT_F32;
    ex.dsz = sizeof(float);
    ex.arena = &tr->arena;
    ex.params = m->params;
    ex.grads = grads ? m->grads : NULL;
    return ex;
}

/* q_sample_pairs (reference 1.7): draws eps_pair, then eps_q */
static ddgan_status_t q_pairs(step *st, const ddgan_tensor *x0, const int64_t *t, const float *g_pair,
                              const float *g_q, ddgan_tensor *x_t, ddgan_tensor *x_tp1)
{
    const ddgan_schedule_t s = st->tr->s;
    float *h = st->tr->host_vec;
    const int B = st->c.B;
    ddgan_tensor ep, eq, a, sg, a1, s1;
    DDGAN_TRY(ddgan__step_alloc(&st->c, &ep, x0->c, x0->h, x0->w));
    DDGAN_TRY(ddgan__step_alloc(&st->c, &eq, x0->c, x0->h, x0->w));
    DDGAN_TRY(ddgan__step_draw_normal(&st->c, &ep, g_pair));
    DDGAN_TRY(ddgan__step_draw_normal(&st->c, &eq, g_q));
    for (int b = 0; b < B; b++) {
        h[b] = s->coef_f32[DDGAN_COEF_A_S_CUM][t[b]];
        h[B + b] = s->coef_f32[DDGAN_COEF_SIGMAS_CUM][t[b]];
        h[2 * B + b] = s->coef_f32[DDGAN_COEF_A_S][t[b] + 1];
        h[3 * B + b] = s->coef_f32[DDGAN_COEF_SIGMAS][t[b] + 1];
    }
    DDGAN_TRY(ddgan__step_upload_vec(&st->c, &a, h));
    DDGAN_TRY(ddgan__step_upload_vec(&st->c, &sg, h + B));
    DDGAN_TRY(ddgan__step_upload_vec(&st->c, &a1, h + 2 * B));
    DDGAN_TRY(ddgan__step_upload_vec(&st->c, &s1, h + 3 * B));
    DDGAN_TRY(ddgan__step_scale2(&st->c, x0, &a, &eq, &sg, x_t));
    return ddgan__step_scale2(&st->c, x_t, &a1, &ep, &s1, x_tp1);
}

/* sample_posterior: draws eps (also for t = 0), out = c1 x0 + c2 x_tp1 + (t != 0) std eps.
 * c1 (the vector) is returned for the G step's backward. */
static ddgan_status_t posterior(step *st, const ddgan_tensor *x0p, const ddgan_tensor *x_tp1,
                                const int64_t *t, const float *g_eps, ddgan_tensor *out, ddgan_tensor *c1)
{
    const ddgan_schedule_t s = st->tr->s;
    float *h = st->tr->host_vec;
    const int B = st->c.B;
    ddgan_tensor eps, c2, sd, mean, noise;
    DDGAN_TRY(ddgan__step_alloc(&st->c, &eps, x0p->c, x0p->h, x0p->w));
    DDGAN_TRY(ddgan__step_draw_normal(&st->c, &eps, g_eps));
    ddgan__schedule_posterior_coefs(s, t, B, h, h + B, h + 2 * B);
    DDGAN_TRY(ddgan__step_upload_vec(&st->c, c1, h));
    DDGAN_TRY(ddgan__step_upload_vec(&st->c, &c2, h + B));
    DDGAN_TRY(ddgan__step_upload_vec(&st->c, &sd, h + 2 * B));
    DDGAN_TRY(ddgan__step_scale2(&st->c, x0p, c1, x_tp1, &c2, &mean));
    DDGAN_TRY(ddgan__tensor_alloc(st->c.ex, &noise, x0p->n, x0p->c, x0p->h, x0p->w));
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, DDGAN_DT_F32, x0p->n, x0p->c, x0p->h, x0p->w);
    d.b_strides[0] = 1;
    d.b_strides[1] = d.b_strides[2] = d.b_strides[3] = 0;
    ddgan_exec *ex = st->c.ex;
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0, 0.0, eps.data, sd.data, noise.data, 0));
    DDGAN_TRY(ddgan__tensor_alloc(st->c.ex, out, x0p->n, x0p->c, x0p->h, x0p->w));
    ddgan__ew_dense(&d, DDGAN_DT_F32, x0p->n, x0p->c, x0p->h, x0p->w);
    return DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, 1.0, mean.data, noise.data, out->data, 0);
}

static double softplus(double x) { return x > 20.0 ? x : log1p(exp(x)); }
static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Reads the logits, returns mean softplus(sign * l) and uploads its gradient
 * w.r.t. the logits into dl. */
static ddgan_status_t loss_and_grad(step *st, const ddgan_tensor *logits, double sign, double *loss,
                                    double *mean_logit, ddgan_tensor *dl)
{
    const int B = st->c.B;
    DDGAN_TRY(ddgan__step_alloc(&st->c, dl, 1, 1, 1));
    *loss = 0.0;
    *mean_logit = 0.0;
    if (st->c.planning)
        return DDGAN_OK;
    float *l = st->tr->host_vec + 4 * B, *g = st->tr->host_vec + 5 * B;
    DDGAN_TRY(st->c.be->ops->copy_d2h(st->c.be, l, logits->data, (size_t)B * sizeof(float)));
    double sum = 0.0, sl = 0.0;
    for (int b = 0; b < B; b++) {
        sum += softplus(sign * (double)l[b]);
        sl += l[b];
        /* d/dl softplus(sign l) / B = sign sigmoid(sign l) / B */
        g[b] = (float)sign * sigmoidf((float)sign * l[b]) / (float)B;
    }
    *loss = sum / B;
    *mean_logit = sl / B;
    return st->c.be->ops->copy_h2d(st->c.be, dl->data, g, (size_t)B * sizeof(float));
}

static ddgan_status_t adam(step *st, void *params, const void *grads, void *m, void *v, size_t n,
                           double lr, int64_t adam_step)
{
    const struct ddgan_trainer *tr = st->tr;
    ddgan_adam_desc d = {DDGAN_DT_F32, n, lr, tr->cfg.beta1, tr->cfg.beta2, tr->cfg.adam_eps, adam_step};
    ddgan_exec *ex = st->c.ex;
    return DDGAN_K(ex, adam, &d, params, grads, m, v);
}

static ddgan_status_t copy_dev(step *st, void *dst, const void *src, size_t n)
{
    return st->c.planning ? DDGAN_OK : st->c.be->ops->copy_d2d(st->c.be, dst, src, n * sizeof(float));
}

double ddgan__trainer_lr(const struct ddgan_trainer *tr, double base)
{
    if (tr->cfg.lr_schedule != DDGAN_LR_COSINE || tr->cfg.num_epoch < 1)
        return base;
    const int64_t spe = tr->cfg.steps_per_epoch > 0 ? tr->cfg.steps_per_epoch : 1;
    double e = (double)(tr->global_step / spe);
    if (e > tr->cfg.num_epoch)
        e = tr->cfg.num_epoch;
    const double pi = 3.14159265358979323846;
    return tr->cfg.eta_min + (base - tr->cfg.eta_min) * (1.0 + cos(pi * e / tr->cfg.num_epoch)) / 2.0;
}

static int is_finite(double v) { return isfinite(v); }

ddgan_status_t ddgan__trainer_step(struct ddgan_trainer *tr, const float *x0_host, int B,
                                   const ddgan_step_draws *dr, ddgan_step_stats *stats)
{
    static const char fn[] = "ddgan_trainer_step";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ddgan_step_draws none;
    memset(&none, 0, sizeof none);
    if (!dr)
        dr = &none;
    step st;
    memset(&st, 0, sizeof st);
    st.tr = tr;
    st.c.B = B;
    st.c.planning = tr->arena.planning;
    st.c.be = tr->ctx->backend;
    st.dr = dr;
    st.c.seed = tr->cfg.seed;
    st.c.stream = DDGAN_STREAM_TRAIN_BASE + (uint64_t)tr->global_step;
    st.ex_d = make_exec(tr, &tr->d->mem, 1);
    st.ex_d_frozen = make_exec(tr, &tr->d->mem, 0);
    st.ex_g = make_exec(tr, &tr->g->mem, 1);
    st.ex_g_frozen = make_exec(tr, &tr->g->mem, 0);
    st.c.ex = &st.ex_d;
    ddgan__arena_reset(&tr->arena);
    ddgan_backend *be = st.c.be;
    const double lr_d = ddgan__trainer_lr(tr, tr->cfg.lr_d), lr_g = ddgan__trainer_lr(tr, tr->cfg.lr_g);

    /* real data, in diffusion units */
    ddgan_tensor x0;
    DDGAN_TRY(ddgan__step_alloc(&st.c, &x0, tr->c, tr->h, tr->w));
    if (!st.c.planning) {
        DDGAN_TRY(be->ops->copy_h2d(be, x0.data, x0_host, ddgan__numel(&x0) * sizeof(float)));
        if (tr->data_scale != 1.0) {
            ddgan_ew_desc d;
            ddgan__ew_dense(&d, DDGAN_DT_F32, B, tr->c, tr->h, tr->w);
            DDGAN_TRY(be->ops->compute->unary(be, &d, DDGAN_UN_SCALE, 1.0 / tr->data_scale, 0.0, x0.data,
                                              x0.data, 0));
        }
    }

    /* The arena is a stack: what a phase allocates after a mark is dead once
     * the phase is over and its space is reused by the next phase (the
     * planning dry run takes the same path, so the planned peak is the
     * largest phase, not the sum of all of them). */
    const size_t mark_step = ddgan__arena_mark(&tr->arena);

    /* ---------------- D step ---------------- */
    if (!st.c.planning)
        DDGAN_TRY(be->ops->fill_f32(be, tr->d->mem.grads, 0.0f, tr->n_d));
    DDGAN_TRY(ddgan__step_draw_t(&st.c, tr->s->T, tr->t_d, dr->d_t, "draws"));
    ddgan_tensor x_t, x_tp1, logits, dl, z, x0p, x_pos, c1;
    DDGAN_TRY(q_pairs(&st, &x0, tr->t_d, dr->d_eps_pair, dr->d_eps_q, &x_t, &x_tp1));
    ddgan_d_record rec_real, rec_fake;
    /* the real pass (record, backward, R1) is dead before the fake one */
    const size_t mark_pair = ddgan__arena_mark(&tr->arena);
    DDGAN_TRY(ddgan__net_d_forward(&st.ex_d, tr->d, &x_t, tr->t_d, &x_tp1, &rec_real, &logits));
    double err_real, d_real_mean;
    DDGAN_TRY(loss_and_grad(&st, &logits, -1.0, &err_real, &d_real_mean, &dl));
    DDGAN_TRY(ddgan__net_d_backward(&st.ex_d, tr->d, &rec_real, &dl, NULL));
    double penalty = NAN;
    const int do_r1 = tr->cfg.lazy_reg <= 0 || tr->global_step % tr->cfg.lazy_reg == 0;
    if (do_r1 && tr->cfg.r1_gamma > 0.0f)
        DDGAN_TRY(ddgan__net_d_r1(&st.ex_d, tr->d, &rec_real, tr->cfg.r1_gamma, &penalty));
    else if (do_r1)
        penalty = 0.0;
    ddgan__arena_release(&tr->arena, mark_pair);
    DDGAN_TRY(ddgan__step_alloc(&st.c, &z, tr->nz, 1, 1));
    DDGAN_TRY(ddgan__step_draw_normal(&st.c, &z, dr->d_z));
    DDGAN_TRY(ddgan__net_g_forward(&st.ex_g_frozen, tr->g, &x_tp1, tr->t_d, &z, NULL, &x0p));
    DDGAN_TRY(posterior(&st, &x0p, &x_tp1, tr->t_d, dr->d_eps_post, &x_pos, &c1));
    DDGAN_TRY(ddgan__net_d_forward(&st.ex_d, tr->d, &x_pos, tr->t_d, &x_tp1, &rec_fake, &logits));
    double err_fake, d_fake_mean;
    DDGAN_TRY(loss_and_grad(&st, &logits, 1.0, &err_fake, &d_fake_mean, &dl));
    DDGAN_TRY(ddgan__net_d_backward(&st.ex_d, tr->d, &rec_fake, &dl, NULL));
    double gsq_d;
    DDGAN_TRY(ddgan__step_sumsq(&st.c, tr->d->mem.grads, tr->n_d, &gsq_d));
    if (!st.c.planning && !(is_finite(err_real) && is_finite(err_fake) && is_finite(gsq_d) &&
                          (isnan(penalty) ? !do_r1 : is_finite(penalty)))) {
        if (tr->cfg.skip_nonfinite) {
            tr->skipped++;
            return DDGAN_OK;
        }
        return DDGAN_ERR(DDGAN_ERR_NUMERICAL,
                         "%s: step %lld: non-finite value in the discriminator step (errD_real %g, "
                         "errD_fake %g, R1 %g, |grad D|^2 %g); nothing was changed",
                         fn, (long long)tr->global_step, err_real, err_fake, penalty, gsq_d);
    }
    DDGAN_TRY(copy_dev(&st, tr->d_bak, tr->d->mem.params, tr->n_d));
    DDGAN_TRY(copy_dev(&st, tr->d_m_bak, tr->d_m, tr->n_d));
    DDGAN_TRY(copy_dev(&st, tr->d_v_bak, tr->d_v, tr->n_d));
    DDGAN_TRY(adam(&st, tr->d->mem.params, tr->d->mem.grads, tr->d_m, tr->d_v, tr->n_d, lr_d,
                   tr->adam_step_d + 1));

    /* ---------------- G step (through the updated D) ---------------- */
    ddgan__arena_release(&tr->arena, mark_step); /* only x0 outlives the D step */
    st.c.ex = &st.ex_g;
    if (!st.c.planning)
        DDGAN_TRY(be->ops->fill_f32(be, tr->g->mem.grads, 0.0f, tr->n_g));
    DDGAN_TRY(ddgan__step_draw_t(&st.c, tr->s->T, tr->t_g, dr->g_t, "draws"));
    DDGAN_TRY(q_pairs(&st, &x0, tr->t_g, dr->g_eps_pair, dr->g_eps_q, &x_t, &x_tp1));
    DDGAN_TRY(ddgan__step_alloc(&st.c, &z, tr->nz, 1, 1));
    DDGAN_TRY(ddgan__step_draw_normal(&st.c, &z, dr->g_z));
    ddgan_g_record grec;
    DDGAN_TRY(ddgan__net_g_forward(&st.ex_g, tr->g, &x_tp1, tr->t_g, &z, &grec, &x0p));
    DDGAN_TRY(posterior(&st, &x0p, &x_tp1, tr->t_g, dr->g_eps_post, &x_pos, &c1));
    /* dx0 is allocated before the D pass, so the D pass (record and
     * backward) is released before G's backward */
    ddgan_tensor dx_pos = {0}, dx0;
    DDGAN_TRY(ddgan__tensor_alloc(st.c.ex, &dx0, x0p.n, x0p.c, x0p.h, x0p.w));
    const size_t mark_dpass = ddgan__arena_mark(&tr->arena);
    ddgan_d_record rec_g;
    DDGAN_TRY(ddgan__net_d_forward(&st.ex_d_frozen, tr->d, &x_pos, tr->t_g, &x_tp1, &rec_g, &logits));
    double err_g, dummy;
    DDGAN_TRY(loss_and_grad(&st, &logits, -1.0, &err_g, &dummy, &dl));
    DDGAN_TRY(ddgan__net_d_backward(&st.ex_d_frozen, tr->d, &rec_g, &dl, &dx_pos));
    /* through the posterior mean: d x_pos / d x0_pred = coef1[t] */
    {
        ddgan_ew_desc d;
        ddgan__ew_dense(&d, DDGAN_DT_F32, x0p.n, x0p.c, x0p.h, x0p.w);
        d.b_strides[0] = 1;
        d.b_strides[1] = d.b_strides[2] = d.b_strides[3] = 0;
        ddgan_exec *ex = st.c.ex;
        DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0, 0.0, dx_pos.data, c1.data, dx0.data, 0));
    }
    ddgan__arena_release(&tr->arena, mark_dpass);
    DDGAN_TRY(ddgan__net_g_backward(&st.ex_g, tr->g, &grec, &dx0));
    DDGAN_TRY(ddgan__step_clear_frozen(&st.c, tr->g->pt, tr->g->mem.grads));
    double gsq_g;
    DDGAN_TRY(ddgan__step_sumsq(&st.c, tr->g->mem.grads, tr->n_g, &gsq_g));
    if (!st.c.planning && !(is_finite(err_g) && is_finite(gsq_g))) {
        /* undo D's update: the step changes nothing */
        DDGAN_TRY(copy_dev(&st, tr->d->mem.params, tr->d_bak, tr->n_d));
        DDGAN_TRY(copy_dev(&st, tr->d_m, tr->d_m_bak, tr->n_d));
        DDGAN_TRY(copy_dev(&st, tr->d_v, tr->d_v_bak, tr->n_d));
        if (tr->cfg.skip_nonfinite) {
            tr->skipped++;
            return DDGAN_OK;
        }
        return DDGAN_ERR(DDGAN_ERR_NUMERICAL,
                         "%s: step %lld: non-finite value in the generator step (errG %g, |grad G|^2 "
                         "%g); the discriminator update was undone, nothing was changed",
                         fn, (long long)tr->global_step, err_g, gsq_g);
    }
    DDGAN_TRY(adam(&st, tr->g->mem.params, tr->g->mem.grads, tr->g_m, tr->g_v, tr->n_g, lr_g,
                   tr->adam_step_g + 1));
    if (tr->cfg.use_ema) {
        /* EMA.py: the slot starts as a copy of the post-step parameters */
        if (!tr->ema_ready)
            DDGAN_TRY(copy_dev(&st, tr->g_ema, tr->g->mem.params, tr->n_g));
        ddgan_exec *ex = st.c.ex;
        DDGAN_TRY(DDGAN_K(ex, ema, DDGAN_DT_F32, tr->n_g, tr->cfg.ema_decay, tr->g_ema, tr->g->mem.params));
    }
    if (st.c.planning)
        return DDGAN_OK;

    tr->adam_step_d++;
    tr->adam_step_g++;
    tr->ema_ready = tr->cfg.use_ema;
    tr->global_step++;
    if (stats) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ddgan_step_stats s;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        s.err_d_real = (float)err_real;
        s.err_d_fake = (float)err_fake;
        s.err_d = (float)(err_real + err_fake);
        s.err_g = (float)err_g;
        s.r1_penalty = (float)penalty;
        s.d_real_mean = (float)d_real_mean;
        s.d_fake_mean = (float)d_fake_mean;
        s.global_step = tr->global_step;
        s.grad_norm_d = (float)sqrt(gsq_d);
        s.grad_norm_g = (float)sqrt(gsq_g);
        s.lr_d = (float)lr_d;
        s.lr_g = (float)lr_g;
        s.seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        memcpy(stats, &s, sizeof s); /* the API copies into the caller's size */
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__trainer_plan(struct ddgan_trainer *tr, int batch)
{
    ddgan__step_plan_begin(&tr->arena);
    const ddgan_status_t st = ddgan__trainer_step(tr, NULL, batch, NULL, NULL);
    return ddgan__step_plan_end(&tr->arena, tr->ctx->backend, st);
}
