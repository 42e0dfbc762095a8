/* Discriminator_small / Discriminator_large (reference section 3). */
#include "model/discriminator.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define SQRT1_2 0.70710678118654752440

/* ------------------------------------------------------------------------ */
/* Construction, in official state_dict order (t_embed, start_conv, blocks, final, end). */

static ddgan_status_t block_init(ddgan_dblock *b, ddgan_param_table *pt, const char *name, int c_in,
                                 int c_out, int down, int t_emb_dim)
{
    char n[64];
    b->c_in = c_in;
    b->c_out = c_out;
    b->down = down;
    snprintf(n, sizeof n, "%s.conv1.0", name);
    DDGAN_TRY(ddgan__conv_init(&b->conv1, pt, n, c_in, c_out, 3, 1, 1, 1, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0));
    snprintf(n, sizeof n, "%s.conv2.0", name);
    DDGAN_TRY(ddgan__conv_init(&b->conv2, pt, n, c_out, c_out, 3, 1, 1, 1, DDGAN_INIT_FAN_OUT_UNIFORM, 0.0));
    snprintf(n, sizeof n, "%s.dense_t1", name);
    DDGAN_TRY(ddgan__dense_init(&b->dense_t1, pt, n, t_emb_dim, c_out, 1, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0));
    snprintf(n, sizeof n, "%s.skip.0", name);
    return ddgan__conv_init(&b->skip, pt, n, c_in, c_out, 1, 1, 0, 0, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0);
}

ddgan_status_t ddgan__disc_init(ddgan_disc_net *net, const ddgan_disc_config *cfg, int max_batch,
                                ddgan_dtype dt)
{
    memset(net, 0, sizeof *net);
    if (cfg->nc < 1 || cfg->nc % 2 || cfg->ngf < 1 || cfg->t_emb_dim < 4)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "discriminator: nc %d must be a positive even number (2 x image channels), "
                         "ngf %d >= 1, t_emb_dim %d >= 4",
                         cfg->nc, cfg->ngf, cfg->t_emb_dim);
    net->cfg = *cfg;
    ddgan__params_init(&net->pt);
    ddgan_param_table *pt = &net->pt;
    const int ngf = cfg->ngf, td = cfg->t_emb_dim;
    ddgan_status_t st;
#define TRY_INIT(expr)                  \
    do {                                \
        if ((st = (expr)) != DDGAN_OK)  \
            goto fail;                  \
    } while (0)
    TRY_INIT(ddgan__dense_init(&net->t_dense1, pt, "t_embed.main.0", td, td, 1, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0));
    TRY_INIT(ddgan__dense_init(&net->t_dense2, pt, "t_embed.main.2", td, td, 1, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0));
    TRY_INIT(ddgan__conv_init(&net->start_conv, pt, "start_conv", cfg->nc, 2 * ngf, 1, 1, 0, 1,
                              DDGAN_INIT_FAN_OUT_UNIFORM, 1.0));
    if (!cfg->large) {
        const int cin[4] = {2 * ngf, 2 * ngf, 4 * ngf, 8 * ngf}, cout[4] = {2 * ngf, 4 * ngf, 8 * ngf, 8 * ngf};
        const int down[4] = {0, 1, 1, 1};
        net->nblocks = 4;
        for (int i = 0; i < 4; i++) {
            char name[16];
            snprintf(name, sizeof name, "conv%d", i + 1);
            TRY_INIT(block_init(&net->blocks[i], pt, name, cin[i], cout[i], down[i], td));
        }
    } else {
        const int cin[6] = {2 * ngf, 4 * ngf, 8 * ngf, 8 * ngf, 8 * ngf, 8 * ngf};
        const int cout[6] = {4 * ngf, 8 * ngf, 8 * ngf, 8 * ngf, 8 * ngf, 8 * ngf};
        net->nblocks = 6;
        for (int i = 0; i < 6; i++) {
            char name[16];
            snprintf(name, sizeof name, "conv%d", i + 1);
            TRY_INIT(block_init(&net->blocks[i], pt, name, cin[i], cout[i], 1, td));
        }
    }
    TRY_INIT(ddgan__conv_init(&net->final_conv, pt, "final_conv", 8 * ngf + 1, 8 * ngf, 3, 1, 1, 1,
                              DDGAN_INIT_FAN_OUT_UNIFORM, cfg->large ? 1.0 : 0.0));
    TRY_INIT(ddgan__dense_init(&net->end_linear, pt, "end_linear", 8 * ngf, 1, 1, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0));
    const double k[4] = {1, 3, 3, 1};
    TRY_INIT(ddgan__fir_init(&net->fir, k, 4));
    TRY_INIT(ddgan__temb_init(&net->temb, td, max_batch, dt));
#undef TRY_INIT
    return DDGAN_OK;
fail:
    ddgan__disc_free(net);
    return st;
}

void ddgan__disc_free(ddgan_disc_net *net)
{
    ddgan__params_free(&net->pt);
    ddgan__temb_free(&net->temb);
}

/* ------------------------------------------------------------------------ */
/* Forward */

static ddgan_status_t lrelu(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_tensor *x,
                            ddgan_tensor *y)
{
    return ddgan__act_forward(ex, DDGAN_ACT_LRELU, net->cfg.lrelu_slope, x, y);
}

static ddgan_status_t lrelu_bwd(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_tensor *x,
                                const ddgan_tensor *dy, ddgan_tensor *dx)
{
    return ddgan__act_backward(ex, DDGAN_ACT_LRELU, net->cfg.lrelu_slope, x, NULL, dy, dx);
}

/* a0 = lrelu(x), recomputed where it is read (not kept) */
static ddgan_status_t block_a0(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_tensor *x,
                               ddgan_tensor *a0)
{
    return lrelu(ex, net, x, a0);
}

/* conv2's input a1d = down(lrelu(c1)): kept by a downsampling block (a
 * quarter of lrelu(c1)'s size), else a1 = lrelu(c1), recomputed. */
static ddgan_status_t block_a1d(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_dblock *b,
                                const ddgan_dblock_acts *a, ddgan_tensor *a1d)
{
    if (b->down) {
        *a1d = a->a1d;
        return DDGAN_OK;
    }
    return lrelu(ex, net, &a->c1, a1d);
}

/*
 * Memory: the record keeps the block input x (the previous output), conv1's
 * output c1 (+ dense_t1), the block output and, in downsampling blocks, the
 * downsampled lrelu(c1) and x (a quarter of the size each, and the FIR is
 * not cheap to recompute). These are allocated first; a0 = lrelu(x),
 * a1 = lrelu(c1), conv2's and the skip's outputs are computed above a mark
 * and released once out is written. The backward recomputes a0 (and a1 in
 * a block that does not downsample), one LeakyReLU each (bit-identical
 * values), where conv1's and conv2's weight gradients read them; the R1
 * tangent sweep only reads x and c1. This takes several activations per
 * block out of the training step's peak (the D record is held through the
 * real pair's backward and R1, and under G's record in the G step).
 */
static ddgan_status_t block_forward(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_dblock *b,
                                    const ddgan_tensor *x, const ddgan_tensor *tembed,
                                    ddgan_dblock_acts *a)
{
    const int ho = b->down ? x->h / 2 : x->h, wo = b->down ? x->w / 2 : x->w;
    a->x = *x;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &a->c1, x->n, b->c_out, x->h, x->w));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &a->out, x->n, b->c_out, ho, wo));
    if (b->down) {
        DDGAN_TRY(ddgan__tensor_alloc(ex, &a->a1d, x->n, b->c_out, ho, wo));
        DDGAN_TRY(ddgan__tensor_alloc(ex, &a->xd, x->n, x->c, ho, wo));
    } else {
        a->a1d = ddgan__tensor(NULL, 0, 0, 0, 0); /* not kept */
        a->xd = *x;
    }
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_tensor a0, tproj;
    DDGAN_TRY(block_a0(ex, net, x, &a0));
    DDGAN_TRY(ddgan__conv_forward_into(ex, &b->conv1, &a0, &a->c1));
    DDGAN_TRY(ddgan__dense_forward(ex, &b->dense_t1, tembed, &tproj));
    DDGAN_TRY(ddgan__add_channel_bias(ex, &a->c1, &tproj, &a->c1)); /* in place: c1 + dense_t1(t) */
    ddgan__arena_release(ex->arena, mark);
    ddgan_tensor a1, a1d, c2, sk;
    DDGAN_TRY(lrelu(ex, net, &a->c1, &a1));
    if (b->down) {
        DDGAN_TRY(ddgan__fir_down_forward_into(ex, &net->fir, &a1, &a->a1d));
        DDGAN_TRY(ddgan__fir_down_forward_into(ex, &net->fir, x, &a->xd));
        a1d = a->a1d;
    } else {
        a1d = a1;
    }
    DDGAN_TRY(ddgan__conv_forward(ex, &b->conv2, &a1d, &c2));
    DDGAN_TRY(ddgan__conv_forward(ex, &b->skip, &a->xd, &sk));
    /* out = (c2 + sk) / sqrt 2 */
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, a->out.n, a->out.c, a->out.h, a->out.w);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, SQRT1_2, SQRT1_2, c2.data, sk.data,
                      a->out.data, 0));
    ddgan__arena_release(ex->arena, mark);
    return DDGAN_OK;
}

ddgan_status_t ddgan__disc_forward(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_tensor *x_prev,
                                   const int64_t *t, const ddgan_tensor *x_t, ddgan_disc_acts *a)
{
    const int B = x_prev->n;
    if (x_t->n != B || x_prev->c + x_t->c != net->cfg.nc || x_prev->c != x_t->c ||
        x_prev->h != x_t->h || x_prev->w != x_t->w)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "discriminator: inputs [%d,%d,%d,%d] and [%d,%d,%d,%d] do not make nc = %d",
                         x_prev->n, x_prev->c, x_prev->h, x_prev->w, x_t->n, x_t->c, x_t->h, x_t->w,
                         net->cfg.nc);
    const int downs = net->cfg.large ? 6 : 3;
    if (x_prev->h % (1 << downs) || x_prev->w % (1 << downs))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "discriminator: image %dx%d is not divisible by %d (%d downsamplings)",
                         x_prev->h, x_prev->w, 1 << downs, downs);
    DDGAN_TRY(ddgan__mbstd_check_batch(B, "discriminator"));
    a->batch = B;
    /* time path: t_embed = lrelu(dense_2(lrelu(dense_1(E(t))))) */
    DDGAN_TRY(ddgan__temb_forward(ex, &net->temb, t, B, &a->e));
    DDGAN_TRY(ddgan__dense_forward(ex, &net->t_dense1, &a->e, &a->t1));
    DDGAN_TRY(lrelu(ex, net, &a->t1, &a->t1a));
    DDGAN_TRY(ddgan__dense_forward(ex, &net->t_dense2, &a->t1a, &a->t2));
    DDGAN_TRY(lrelu(ex, net, &a->t2, &a->tembed));
    /* image path */
    DDGAN_TRY(ddgan__concat_forward(ex, x_prev, x_t, &a->xin));
    DDGAN_TRY(ddgan__conv_forward(ex, &net->start_conv, &a->xin, &a->h0));
    const ddgan_tensor *h = &a->h0;
    for (int i = 0; i < net->nblocks; i++) {
        DDGAN_TRY(block_forward(ex, net, &net->blocks[i], h, &a->tembed, &a->b[i]));
        h = &a->b[i].out;
    }
    DDGAN_TRY(ddgan__mbstd_forward(ex, h, &a->mb, &a->mbout));
    DDGAN_TRY(ddgan__conv_forward(ex, &net->final_conv, &a->mbout, &a->f));
    DDGAN_TRY(lrelu(ex, net, &a->f, &a->fa));
    DDGAN_TRY(ddgan__sum_pool_forward(ex, &a->fa, &a->pooled));
    return ddgan__dense_forward(ex, &net->end_linear, &a->pooled, &a->logits);
}

/* ------------------------------------------------------------------------ */
/* Backward */

/* Per-block first-order gradients the R1 sweep needs. */
typedef struct block_grads {
    ddgan_tensor g_c1;  /* at conv1's output (= at c1 + dense_t1) */
    ddgan_tensor g_out; /* at the block output (conv2 and skip see g_out / sqrt 2) */
} block_grads;

/* dx and (with save) save->g_c1 may come preallocated (data set): they are
 * then accumulated into. */
static ddgan_status_t block_backward(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_dblock *b,
                                     const ddgan_dblock_acts *a, const ddgan_tensor *tembed,
                                     const ddgan_tensor *dout, ddgan_tensor *dx,
                                     ddgan_tensor *dtembed, block_grads *save)
{
    ddgan_tensor dc2 = {0}, dsk, da1d = {0}, da1 = {0}, dc1 = {0}, da0 = {0}, dxd = {0};
    if (save)
        dc1 = save->g_c1;
    /* out = (c2 + sk) / sqrt 2: both branches see dout / sqrt 2 */
    DDGAN_TRY(ddgan__axpby_backward(ex, SQRT1_2, SQRT1_2, dout, &dc2, NULL));
    dsk = dc2;
    if (save)
        save->g_out = *dout;
    /* a0 and (without downsampling) a1d = lrelu(c1) are recomputed: the
     * forward does not keep them (see block_forward) */
    ddgan_tensor a1d, a0;
    DDGAN_TRY(ddgan__conv_backward(ex, &b->skip, &a->xd, &dsk, b->down ? &dxd : dx));
    DDGAN_TRY(block_a1d(ex, net, b, a, &a1d));
    DDGAN_TRY(ddgan__conv_backward(ex, &b->conv2, &a1d, &dc2, &da1d));
    if (b->down) {
        DDGAN_TRY(ddgan__fir_down_backward(ex, &net->fir, &da1d, &da1));
        DDGAN_TRY(ddgan__fir_down_backward(ex, &net->fir, &dxd, dx));
    } else {
        da1 = da1d;
    }
    DDGAN_TRY(lrelu_bwd(ex, net, &a->c1, &da1, &dc1));
    if (save)
        save->g_c1 = dc1;
    /* c1 + dense_t1(tembed) */
    ddgan_tensor dtproj = {0};
    DDGAN_TRY(ddgan__add_channel_bias_backward(ex, &dc1, &dtproj));
    DDGAN_TRY(ddgan__dense_backward(ex, &b->dense_t1, tembed, &dtproj, dtembed));
    DDGAN_TRY(block_a0(ex, net, &a->x, &a0));
    DDGAN_TRY(ddgan__conv_backward(ex, &b->conv1, &a0, &dc1, &da0));
    return lrelu_bwd(ex, net, &a->x, &da0, dx);
}

/* A zeroed tensor shaped like v (a gradient accumulated into afterwards). */
static ddgan_status_t zeroed_like(ddgan_exec *ex, const ddgan_tensor *v, ddgan_tensor *g)
{
    DDGAN_TRY(ddgan__tensor_alloc(ex, g, v->n, v->c, v->h, v->w));
    return ddgan__tensor_zero(ex, g);
}

/* Backward through the blocks from the gradient at block `from`'s output
 * down to the discriminator input; the time path too. */
static ddgan_status_t backward_blocks(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_disc_acts *a,
                                      int from, const ddgan_tensor *g_top, ddgan_tensor *dx_prev,
                                      block_grads *save, ddgan_tensor *dh0_out)
{
    /*
     * Memory: each block's gradient at its input (and, for the R1 sweep, its
     * gradient at c1, which the sweep keeps) is allocated zeroed before a
     * mark and the block's other temporaries (its recomputed activations and
     * inner gradients) are released right after it, so the sweep holds one
     * block's temporaries at a time. The shared time-embedding gradient is
     * allocated (zeroed) before the loop for the same reason.
     */
    ddgan_tensor dtembed;
    DDGAN_TRY(zeroed_like(ex, &a->tembed, &dtembed));
    ddgan_tensor g = *g_top;
    for (int i = from; i >= 0; i--) {
        const ddgan_dblock_acts *ba = &a->b[i];
        ddgan_tensor dx;
        DDGAN_TRY(zeroed_like(ex, &ba->x, &dx));
        if (save)
            DDGAN_TRY(zeroed_like(ex, &ba->c1, &save[i].g_c1));
        const size_t mark = ddgan__arena_mark(ex->arena);
        DDGAN_TRY(block_backward(ex, net, &net->blocks[i], ba, &a->tembed, &g, &dx, &dtembed,
                                 save ? &save[i] : NULL));
        ddgan__arena_release(ex->arena, mark);
        g = dx;
    }
    if (dh0_out)
        *dh0_out = g;
    ddgan_tensor dxin = {0};
    DDGAN_TRY(ddgan__conv_backward(ex, &net->start_conv, &a->xin, &g, dx_prev ? &dxin : NULL));
    if (dx_prev) {
        if (!dx_prev->data)
            dx_prev->c = a->xin.c / 2; /* x_prev is the first half of cat([x_prev, x_t]) */
        DDGAN_TRY(ddgan__concat_backward(ex, &dxin, dx_prev, NULL));
    }
    if (ex->grads) {
        /* time path (only parameters depend on it) */
        ddgan_tensor d2 = {0}, dt2 = {0}, d1 = {0};
        DDGAN_TRY(lrelu_bwd(ex, net, &a->t2, &dtembed, &d2));
        DDGAN_TRY(ddgan__dense_backward(ex, &net->t_dense2, &a->t1a, &d2, &dt2));
        DDGAN_TRY(lrelu_bwd(ex, net, &a->t1, &dt2, &d1));
        DDGAN_TRY(ddgan__dense_backward(ex, &net->t_dense1, &a->e, &d1, NULL));
    }
    return DDGAN_OK;
}

/* Top part: end_linear, sum pool, lrelu, final_conv, minibatch std. */
typedef struct top_grads {
    ddgan_tensor g_pooled, g_f, g_mbout;
} top_grads;

static ddgan_status_t backward_top(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_disc_acts *a,
                                   const ddgan_tensor *dlogits, ddgan_tensor *dh, top_grads *save)
{
    ddgan_tensor dp = {0}, dfa = {0}, df = {0}, dmb = {0};
    DDGAN_TRY(ddgan__dense_backward(ex, &net->end_linear, &a->pooled, dlogits, &dp));
    DDGAN_TRY(ddgan__sum_pool_backward(ex, &dp, a->fa.h, a->fa.w, &dfa));
    DDGAN_TRY(lrelu_bwd(ex, net, &a->f, &dfa, &df));
    DDGAN_TRY(ddgan__conv_backward(ex, &net->final_conv, &a->mbout, &df, &dmb));
    if (save) {
        save->g_pooled = dp;
        save->g_f = df;
        save->g_mbout = dmb;
    }
    return ddgan__mbstd_backward(ex, &a->mb, &dmb, dh);
}

ddgan_status_t ddgan__disc_backward(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_disc_acts *a,
                                    const ddgan_tensor *dlogits, ddgan_tensor *dx_prev)
{
    /* Memory: everything but dx_prev is released before returning (dx_prev
     * is allocated zeroed first when the caller passed data NULL). */
    if (dx_prev && !dx_prev->data) {
        /* x_prev is the first half of cat([x_prev, x_t]) */
        DDGAN_TRY(ddgan__tensor_alloc(ex, dx_prev, a->xin.n, a->xin.c / 2, a->xin.h, a->xin.w));
        DDGAN_TRY(ddgan__tensor_zero(ex, dx_prev));
    }
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_tensor dh = {0};
    ddgan_status_t st = backward_top(ex, net, a, dlogits, &dh, NULL);
    if (st == DDGAN_OK)
        st = backward_blocks(ex, net, a, net->nblocks - 1, &dh, dx_prev, NULL, NULL);
    ddgan__arena_release(ex->arena, mark);
    return st;
}

/* ------------------------------------------------------------------------ */
/* R1: forward-over-reverse (docs/r1.md) */

/* u (+)= slope(x) * u_in: the LeakyReLU JVP is its backward applied to the tangent */
static ddgan_status_t lrelu_jvp(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_tensor *x,
                                const ddgan_tensor *u, ddgan_tensor *out)
{
    *out = ddgan__tensor(NULL, 0, 0, 0, 0);
    return lrelu_bwd(ex, net, x, u, out);
}

static ddgan_status_t block_tangent(ddgan_exec *ex, const ddgan_disc_net *net, const ddgan_dblock *b,
                                    const ddgan_dblock_acts *a, const block_grads *g,
                                    const ddgan_tensor *u_x, ddgan_tensor *u_out)
{
    ddgan_tensor u_a0, u_c1, u_a1, u_a1d, u_xd, u_c2, u_sk, g_branch = {0};
    DDGAN_TRY(lrelu_jvp(ex, net, &a->x, u_x, &u_a0));
    DDGAN_TRY(ddgan__conv_r1_wgrad(ex, &b->conv1, &u_a0, &g->g_c1));
    DDGAN_TRY(ddgan__conv_jvp(ex, &b->conv1, &u_a0, &u_c1));
    DDGAN_TRY(lrelu_jvp(ex, net, &a->c1, &u_c1, &u_a1));
    if (b->down) {
        DDGAN_TRY(ddgan__fir_down_forward(ex, &net->fir, &u_a1, &u_a1d));
        DDGAN_TRY(ddgan__fir_down_forward(ex, &net->fir, u_x, &u_xd));
    } else {
        u_a1d = u_a1;
        u_xd = *u_x;
    }
    /* conv2 and skip both see g_out / sqrt 2 */
    DDGAN_TRY(ddgan__axpby_backward(ex, SQRT1_2, 0.0, &g->g_out, &g_branch, NULL));
    DDGAN_TRY(ddgan__conv_r1_wgrad(ex, &b->conv2, &u_a1d, &g_branch));
    DDGAN_TRY(ddgan__conv_r1_wgrad(ex, &b->skip, &u_xd, &g_branch));
    DDGAN_TRY(ddgan__conv_jvp(ex, &b->conv2, &u_a1d, &u_c2));
    DDGAN_TRY(ddgan__conv_jvp(ex, &b->skip, &u_xd, &u_sk));
    /* u_out (allocated by the caller, shaped like the block output) */
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, u_out->n, u_out->c, u_out->h, u_out->w);
    return DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, SQRT1_2, SQRT1_2, u_c2.data, u_sk.data,
                   u_out->data, 0);
}

ddgan_status_t ddgan__disc_r1(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_disc_acts *a,
                              double gamma, ddgan_tensor *grad_x_prev, double *penalty)
{
    const int B = a->batch;
    const int ci = net->cfg.nc / 2;
    /* 1. first-order backward of sum(D), data only, keeping every gradient */
    ddgan_exec data_only = *ex;
    data_only.grads = NULL;
    ddgan_tensor ones, dh = {0}, g0 = {0};
    DDGAN_TRY(ddgan__tensor_alloc(ex, &ones, B, 1, 1, 1));
    if (!ex->arena->planning) {
        ddgan_ew_desc d;
        ddgan__ew_dense(&d, ex->dt, B, 1, 1, 1);
        /* ones = 0 * x + 1 via SCALE on a zeroed buffer */
        DDGAN_TRY(ddgan__tensor_zero(ex, &ones));
        DDGAN_TRY(ex->k->unary(ex->be, &d, DDGAN_UN_SCALE, 0.0, 1.0, ones.data, ones.data, 0));
    }
    top_grads tg;
    block_grads bg[DDGAN_DISC_MAX_BLOCKS];
    ddgan_tensor g_h0 = {0};
    DDGAN_TRY(backward_top(&data_only, net, a, &ones, &dh, &tg));
    DDGAN_TRY(backward_blocks(&data_only, net, a, net->nblocks - 1, &dh, &g0, bg, &g_h0));

    /* 2. penalty = gamma / (2B) * sum g0^2 */
    ddgan_tensor sumsq;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &sumsq, 1, 1, 1, 1));
    const int64_t shape[4] = {1, 1, 1, (int64_t)ddgan__numel(&g0)};
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUMSQ, shape, 0xFu, g0.data, sumsq.data, 0));
    *penalty = 0.0;
    if (!ex->arena->planning) {
        double s;
        if (ex->dt == DDGAN_DT_F64) {
            DDGAN_TRY(ex->be->ops->copy_d2h(ex->be, &s, sumsq.data, sizeof s));
        } else {
            float f;
            DDGAN_TRY(ex->be->ops->copy_d2h(ex->be, &f, sumsq.data, sizeof f));
            s = f;
        }
        *penalty = gamma / (2.0 * B) * s;
    }
    if (grad_x_prev) {
        ddgan_ew_desc d;
        ddgan__ew_dense(&d, ex->dt, g0.n, g0.c, g0.h, g0.w);
        if (!grad_x_prev->data)
            DDGAN_TRY(ddgan__tensor_alloc(ex, grad_x_prev, g0.n, g0.c, g0.h, g0.w));
        DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, g0.data, grad_x_prev->data, 0));
    }
    if (!ex->grads)
        return DDGAN_OK;

    /* 3. tangent u0 = dP/dg0 = (gamma / B) g0 on the x_prev channels, 0 on x_t */
    ddgan_tensor zeros, u_prev = {0}, u_in, u;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &zeros, B, ci, g0.h, g0.w));
    DDGAN_TRY(ddgan__tensor_zero(ex, &zeros));
    DDGAN_TRY(ddgan__axpby_backward(ex, gamma / B, 0.0, &g0, &u_prev, NULL));
    DDGAN_TRY(ddgan__concat_forward(ex, &u_prev, &zeros, &u_in));
    /* start_conv's output gradient is g_h0 (saved by the first sweep) */
    DDGAN_TRY(ddgan__conv_r1_wgrad(ex, &net->start_conv, &u_in, &g_h0));
    DDGAN_TRY(ddgan__conv_jvp(ex, &net->start_conv, &u_in, &u));
    /* Memory: each block's tangent output is allocated before a mark and the
     * block's other tangents are released right after it */
    for (int i = 0; i < net->nblocks; i++) {
        const ddgan_tensor *o = &a->b[i].out;
        ddgan_tensor next;
        DDGAN_TRY(ddgan__tensor_alloc(ex, &next, o->n, o->c, o->h, o->w));
        const size_t mark = ddgan__arena_mark(ex->arena);
        DDGAN_TRY(block_tangent(ex, net, &net->blocks[i], &a->b[i], &bg[i], &u, &next));
        ddgan__arena_release(ex->arena, mark);
        u = next;
    }
    /* minibatch std: tangent, and the second-order term at its input */
    ddgan_tensor u_mb, u_f, u_fa, u_p, second = {0};
    DDGAN_TRY(ddgan__mbstd_jvp(ex, &a->mb, &u, &u_mb));
    DDGAN_TRY(ddgan__mbstd_hvp(ex, &a->mb, &u, &tg.g_mbout, &second));
    DDGAN_TRY(ddgan__conv_r1_wgrad(ex, &net->final_conv, &u_mb, &tg.g_f));
    DDGAN_TRY(ddgan__conv_jvp(ex, &net->final_conv, &u_mb, &u_f));
    DDGAN_TRY(lrelu_jvp(ex, net, &a->f, &u_f, &u_fa));
    DDGAN_TRY(ddgan__sum_pool_forward(ex, &u_fa, &u_p));
    DDGAN_TRY(ddgan__dense_r1_wgrad(ex, &net->end_linear, &u_p, &ones));
    /* 4. the second-order term flows back through the blocks with weight gradients on */
    return backward_blocks(ex, net, a, net->nblocks - 1, &second, NULL, NULL, NULL);
}
