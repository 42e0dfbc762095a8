/* The 2-D toy MLPs ("ToyMLP", docs/toy.md): generator, discriminator and
 * the discriminator's exact R1 gradient (docs/r1.md). */
#include "model/toy.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

void ddgan__toy_config_defaults(ddgan_toy_config *c)
{
    memset(c, 0, sizeof *c);
    c->data_dim = 2;
    c->nz = 2;
    c->hidden_dim = 128;
    c->n_hidden = 3;
    c->t_emb_dim = 32;
    c->lrelu_slope = 0.2;
    c->data_scale = 4.0;
}

static ddgan_status_t check_range(const char *key, int v, int lo, int hi)
{
    if (v < lo || v > hi)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ToyMLP: %s %d not in [%d, %d]", key, v, lo, hi);
    return DDGAN_OK;
}

ddgan_status_t ddgan__toy_config_check(const ddgan_toy_config *c, int is_disc)
{
    if (!c)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ToyMLP: config is NULL");
    DDGAN_TRY(check_range("data_dim", c->data_dim, 1, DDGAN_TOY_MAX_DIM));
    if (!is_disc)
        DDGAN_TRY(check_range("nz", c->nz, 1, DDGAN_TOY_MAX_DIM));
    DDGAN_TRY(check_range("hidden_dim", c->hidden_dim, 1, DDGAN_TOY_MAX_DIM));
    DDGAN_TRY(check_range("n_hidden", c->n_hidden, 1, DDGAN_TOY_MAX_HIDDEN));
    DDGAN_TRY(check_range("t_emb_dim", c->t_emb_dim, 4, DDGAN_TOY_MAX_DIM));
    if (!(c->lrelu_slope >= 0.0 && c->lrelu_slope < 1.0))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ToyMLP: lrelu_slope %g not in [0, 1)",
                         c->lrelu_slope);
    if (!(c->data_scale > 0.0 && isfinite(c->data_scale)))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "ToyMLP: data_scale %g must be a positive finite number", c->data_scale);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Construction: t_embed.0, t_embed.2, net.0, net.2, ..., net.<2 n_hidden>
 * (the indices of nn.Sequential(Linear, LeakyReLU, Linear, ...)). */

/* PyTorch's nn.Linear default: weight and bias both U(+-1/sqrt(in)). The
 * bias (registered as zero by ddgan__dense_init) gets the weight's fan-in. */
static ddgan_status_t linear_init(ddgan_dense *L, ddgan_param_table *pt, const char *name, int in,
                                  int out)
{
    DDGAN_TRY(ddgan__dense_init(L, pt, name, in, out, 1, DDGAN_INIT_FAN_IN_UNIFORM, 1.0));
    ddgan_param *bias = &pt->p[pt->n - 1];
    if (bias->offset != L->b_off)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "ToyMLP: %s: bias is not the last parameter", name);
    bias->init = DDGAN_INIT_FAN_IN_UNIFORM;
    bias->init_scale = 1.0;
    bias->fan_in = in;
    return DDGAN_OK;
}

static ddgan_status_t toy_init(ddgan_toy_net *net, const ddgan_toy_config *cfg, int max_batch,
                               ddgan_dtype dt, int is_disc)
{
    memset(net, 0, sizeof *net);
    DDGAN_TRY(ddgan__toy_config_check(cfg, is_disc));
    if (max_batch < 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ToyMLP: max_batch %d must be >= 1", max_batch);
    net->cfg = *cfg;
    net->is_disc = is_disc;
    net->max_batch = max_batch;
    const int dd = cfg->data_dim, td = cfg->t_emb_dim, hd = cfg->hidden_dim;
    net->in_dim = (is_disc ? 2 * dd : dd + cfg->nz) + td;
    net->out_dim = is_disc ? 1 : dd;
    ddgan__params_init(&net->pt);
    ddgan_param_table *pt = &net->pt;
    ddgan_status_t st;
#define TRY_INIT(expr)                 \
    do {                               \
        if ((st = (expr)) != DDGAN_OK) \
            goto fail;                 \
    } while (0)
    TRY_INIT(linear_init(&net->t_dense1, pt, "t_embed.0", td, td));
    TRY_INIT(linear_init(&net->t_dense2, pt, "t_embed.2", td, td));
    for (int i = 0; i <= cfg->n_hidden; i++) {
        char name[16];
        snprintf(name, sizeof name, "net.%d", 2 * i);
        const int in = i == 0 ? net->in_dim : hd, out = i == cfg->n_hidden ? net->out_dim : hd;
        TRY_INIT(linear_init(&net->layers[i], pt, name, in, out));
    }
    TRY_INIT(ddgan__temb_init(&net->temb, td, max_batch, dt));
#undef TRY_INIT
    return DDGAN_OK;
fail:
    ddgan__toy_free(net);
    return st;
}

ddgan_status_t ddgan__toy_gen_init(ddgan_toy_net *net, const ddgan_toy_config *cfg, int max_batch,
                                   ddgan_dtype dt)
{
    return toy_init(net, cfg, max_batch, dt, 0);
}

ddgan_status_t ddgan__toy_disc_init(ddgan_toy_net *net, const ddgan_toy_config *cfg, int max_batch,
                                    ddgan_dtype dt)
{
    return toy_init(net, cfg, max_batch, dt, 1);
}

void ddgan__toy_free(ddgan_toy_net *net)
{
    ddgan__params_free(&net->pt);
    ddgan__temb_free(&net->temb);
}

double ddgan__toy_flops(const ddgan_toy_net *net)
{
    double f = 2.0 * (double)net->t_dense1.in * net->t_dense1.out +
               2.0 * (double)net->t_dense2.in * net->t_dense2.out;
    for (int i = 0; i <= net->cfg.n_hidden; i++)
        f += 2.0 * (double)net->layers[i].in * net->layers[i].out;
    return f;
}

/* ------------------------------------------------------------------------ */
/* Forward */

static ddgan_status_t lrelu(ddgan_exec *ex, const ddgan_toy_net *net, const ddgan_tensor *x,
                            ddgan_tensor *y)
{
    return ddgan__act_forward(ex, DDGAN_ACT_LRELU, net->cfg.lrelu_slope, x, y);
}

static ddgan_status_t lrelu_bwd(ddgan_exec *ex, const ddgan_toy_net *net, const ddgan_tensor *x,
                                const ddgan_tensor *dy, ddgan_tensor *dx)
{
    return ddgan__act_backward(ex, DDGAN_ACT_LRELU, net->cfg.lrelu_slope, x, NULL, dy, dx);
}

static ddgan_status_t check_role(const ddgan_toy_net *net, int is_disc, const char *fn)
{
    if (net->is_disc != is_disc)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "%s: called on the ToyMLP %s", fn,
                         net->is_disc ? "discriminator" : "generator");
    return DDGAN_OK;
}

/* a [B, c, 1, 1] with c = want (a [B, c] row-major array viewed as NCHW) */
static ddgan_status_t check_vec(const char *fn, const char *what, const ddgan_tensor *a, int batch,
                                int want)
{
    if (a->n != batch || a->c != want || a->h != 1 || a->w != 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is [%d,%d,%d,%d], expected [%d,%d,1,1]",
                         fn, what, a->n, a->c, a->h, a->w, batch, want);
    return DDGAN_OK;
}

static ddgan_status_t check_batch(const ddgan_toy_net *net, int batch, const char *fn)
{
    if (batch < 1 || batch > net->max_batch)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: batch %d not in [1, max_batch %d]", fn,
                         batch, net->max_batch);
    return DDGAN_OK;
}

/* Shared trunk: time MLP, cat([xin, tembed]), hidden layers, output layer. */
static ddgan_status_t trunk_forward(ddgan_exec *ex, ddgan_toy_net *net, const int64_t *t,
                                    ddgan_toy_acts *a)
{
    const int B = a->batch;
    DDGAN_TRY(ddgan__temb_forward(ex, &net->temb, t, B, &a->e));
    DDGAN_TRY(ddgan__dense_forward(ex, &net->t_dense1, &a->e, &a->t1));
    DDGAN_TRY(lrelu(ex, net, &a->t1, &a->t1a));
    DDGAN_TRY(ddgan__dense_forward(ex, &net->t_dense2, &a->t1a, &a->tembed));
    DDGAN_TRY(ddgan__concat_forward(ex, &a->xin, &a->tembed, &a->in));
    const ddgan_tensor *h = &a->in;
    for (int i = 0; i < net->cfg.n_hidden; i++) {
        DDGAN_TRY(ddgan__dense_forward(ex, &net->layers[i], h, &a->pre[i]));
        DDGAN_TRY(lrelu(ex, net, &a->pre[i], &a->act[i]));
        h = &a->act[i];
    }
    return ddgan__dense_forward(ex, &net->layers[net->cfg.n_hidden], h, &a->out);
}

ddgan_status_t ddgan__toy_gen_forward(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_tensor *x_t,
                                      const int64_t *t, const ddgan_tensor *z, ddgan_toy_acts *acts,
                                      ddgan_tensor *x0)
{
    static const char fn[] = "ToyMLP generator";
    DDGAN_TRY(check_role(net, 0, fn));
    const int B = x_t->n;
    DDGAN_TRY(check_batch(net, B, fn));
    DDGAN_TRY(check_vec(fn, "x_t", x_t, B, net->cfg.data_dim));
    DDGAN_TRY(check_vec(fn, "z", z, B, net->cfg.nz));
    ddgan_toy_acts local;
    ddgan_toy_acts *a = acts ? acts : &local;
    memset(a, 0, sizeof *a);
    a->batch = B;
    DDGAN_TRY(ddgan__concat_forward(ex, x_t, z, &a->xin));
    DDGAN_TRY(trunk_forward(ex, net, t, a));
    *x0 = a->out;
    return DDGAN_OK;
}

ddgan_status_t ddgan__toy_disc_forward(ddgan_exec *ex, ddgan_toy_net *net,
                                       const ddgan_tensor *x_prev, const int64_t *t,
                                       const ddgan_tensor *x_t, ddgan_toy_acts *a)
{
    static const char fn[] = "ToyMLP discriminator";
    DDGAN_TRY(check_role(net, 1, fn));
    const int B = x_prev->n;
    DDGAN_TRY(check_batch(net, B, fn));
    DDGAN_TRY(check_vec(fn, "x_prev", x_prev, B, net->cfg.data_dim));
    DDGAN_TRY(check_vec(fn, "x_t", x_t, B, net->cfg.data_dim));
    memset(a, 0, sizeof *a);
    a->batch = B;
    DDGAN_TRY(ddgan__concat_forward(ex, x_prev, x_t, &a->xin));
    return trunk_forward(ex, net, t, a);
}

/* ------------------------------------------------------------------------ */
/* Backward */

/* From the gradient at the output layer down to net.0's input. g_out[k]
 * (may be NULL) receives the gradient at layer k's output (pre-activation),
 * k = 0..n_hidden. din (may be NULL) receives the gradient at net.0's input. */
static ddgan_status_t trunk_backward(ddgan_exec *ex, const ddgan_toy_net *net,
                                     const ddgan_toy_acts *a, const ddgan_tensor *dout,
                                     ddgan_tensor *g_out, ddgan_tensor *din)
{
    const int L = net->cfg.n_hidden;
    ddgan_tensor g = *dout;
    for (int k = L; k >= 0; k--) {
        if (g_out)
            g_out[k] = g;
        const ddgan_tensor *x = k ? &a->act[k - 1] : &a->in;
        if (k == 0) {
            DDGAN_TRY(ddgan__dense_backward(ex, &net->layers[0], x, &g, din));
            break;
        }
        ddgan_tensor dx = {0}, dpre = {0};
        DDGAN_TRY(ddgan__dense_backward(ex, &net->layers[k], x, &g, &dx));
        DDGAN_TRY(lrelu_bwd(ex, net, &a->pre[k - 1], &dx, &dpre));
        g = dpre;
    }
    return DDGAN_OK;
}

/* Parameter gradients of the time MLP from the gradient at tembed. */
static ddgan_status_t time_backward(ddgan_exec *ex, const ddgan_toy_net *net,
                                    const ddgan_toy_acts *a, const ddgan_tensor *dtembed)
{
    ddgan_tensor dt1a = {0}, dt1 = {0};
    DDGAN_TRY(ddgan__dense_backward(ex, &net->t_dense2, &a->t1a, dtembed, &dt1a));
    DDGAN_TRY(lrelu_bwd(ex, net, &a->t1, &dt1a, &dt1));
    return ddgan__dense_backward(ex, &net->t_dense1, &a->e, &dt1, NULL);
}

ddgan_status_t ddgan__toy_gen_backward(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_toy_acts *acts,
                                       const ddgan_tensor *dx0)
{
    static const char fn[] = "ToyMLP generator backward";
    DDGAN_TRY(check_role(net, 0, fn));
    DDGAN_TRY(check_vec(fn, "dx0", dx0, acts->batch, net->cfg.data_dim));
    if (!ex->grads)
        return DDGAN_OK; /* no input gradients are offered: nothing to compute */
    ddgan_tensor din = {0}, dtembed = {0};
    DDGAN_TRY(trunk_backward(ex, net, acts, dx0, NULL, &din));
    dtembed.c = net->cfg.t_emb_dim;
    DDGAN_TRY(ddgan__concat_backward(ex, &din, NULL, &dtembed));
    return time_backward(ex, net, acts, &dtembed);
}

ddgan_status_t ddgan__toy_disc_backward(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_toy_acts *a,
                                        const ddgan_tensor *dlogits, ddgan_tensor *dx_prev)
{
    static const char fn[] = "ToyMLP discriminator backward";
    DDGAN_TRY(check_role(net, 1, fn));
    DDGAN_TRY(check_vec(fn, "dlogits", dlogits, a->batch, 1));
    if (!ex->grads && !dx_prev)
        return DDGAN_OK;
    const int dd = net->cfg.data_dim;
    ddgan_tensor din = {0}, dxin = {0}, dtembed = {0};
    DDGAN_TRY(trunk_backward(ex, net, a, dlogits, NULL, &din));
    dxin.c = 2 * dd;
    dtembed.c = net->cfg.t_emb_dim;
    DDGAN_TRY(ddgan__concat_backward(ex, &din, dx_prev ? &dxin : NULL, ex->grads ? &dtembed : NULL));
    if (dx_prev) {
        if (!dx_prev->data)
            dx_prev->c = dd; /* x_prev is the first half of cat([x_prev, x_t]) */
        DDGAN_TRY(ddgan__concat_backward(ex, &dxin, dx_prev, NULL));
    }
    return ex->grads ? time_backward(ex, net, a, &dtembed) : DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* R1: forward-over-reverse (docs/r1.md). Every layer on the x_prev path is a
 * dense layer or a LeakyReLU, so there is no second-order term: one
 * data-only backward of sum(D) keeping the gradient at every layer output,
 * then one tangent sweep with dense_r1_wgrad at every layer. The time MLP
 * only shifts net.0's pre-activation, so its R1 gradient is 0. */

ddgan_status_t ddgan__toy_disc_r1(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_toy_acts *a,
                                  double gamma, ddgan_tensor *grad_x_prev, double *penalty)
{
    DDGAN_TRY(check_role(net, 1, "ToyMLP discriminator R1"));
    if (!isfinite(gamma))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ToyMLP discriminator R1: gamma %g is not finite",
                         gamma);
    const int B = a->batch, L = net->cfg.n_hidden, dd = net->cfg.data_dim;
    *penalty = 0.0;
    /* 1. first-order backward of sum(D), data only, keeping every layer's output gradient */
    ddgan_exec data_only = *ex;
    data_only.grads = NULL;
    ddgan_tensor ones, din = {0}, dxin = {0}, g0 = {0};
    ddgan_tensor g_out[DDGAN_TOY_MAX_HIDDEN + 1];
    DDGAN_TRY(ddgan__tensor_alloc(ex, &ones, B, 1, 1, 1));
    if (!ex->arena->planning) {
        ddgan_ew_desc d;
        ddgan__ew_dense(&d, ex->dt, B, 1, 1, 1);
        /* ones = 0 * x + 1 via SCALE on a zeroed buffer */
        DDGAN_TRY(ddgan__tensor_zero(ex, &ones));
        DDGAN_TRY(ex->k->unary(ex->be, &d, DDGAN_UN_SCALE, 0.0, 1.0, ones.data, ones.data, 0));
    }
    DDGAN_TRY(trunk_backward(&data_only, net, a, &ones, g_out, &din));
    dxin.c = 2 * dd;
    DDGAN_TRY(ddgan__concat_backward(ex, &din, &dxin, NULL));
    g0.c = dd;
    DDGAN_TRY(ddgan__concat_backward(ex, &dxin, &g0, NULL));

    /* 2. penalty = gamma / (2B) * sum g0^2 */
    ddgan_tensor sumsq;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &sumsq, 1, 1, 1, 1));
    const int64_t shape[4] = {1, 1, 1, (int64_t)ddgan__numel(&g0)};
    DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUMSQ, shape, 0xFu, g0.data, sumsq.data, 0));
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
        if (!grad_x_prev->data)
            DDGAN_TRY(ddgan__tensor_alloc(ex, grad_x_prev, g0.n, g0.c, g0.h, g0.w));
        else
            DDGAN_TRY(check_vec("ToyMLP discriminator R1", "grad_x_prev", grad_x_prev, B, dd));
        ddgan_ew_desc d;
        ddgan__ew_dense(&d, ex->dt, g0.n, g0.c, g0.h, g0.w);
        DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 1.0, 0.0, g0.data, grad_x_prev->data, 0));
    }
    if (!ex->grads)
        return DDGAN_OK;

    /* 3. tangent u0 = dP/dg0 = (gamma / B) g0 on x_prev, 0 on x_t and tembed */
    ddgan_tensor zeros, u_prev = {0}, u;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &zeros, B, net->in_dim - dd, 1, 1));
    DDGAN_TRY(ddgan__tensor_zero(ex, &zeros));
    DDGAN_TRY(ddgan__axpby_backward(ex, gamma / B, 0.0, &g0, &u_prev, NULL));
    DDGAN_TRY(ddgan__concat_forward(ex, &u_prev, &zeros, &u));
    /* 4. tangent sweep: each layer adds d/dW <J u, g_out> = g_out^T u; biases get 0 */
    for (int k = 0; k <= L; k++) {
        DDGAN_TRY(ddgan__dense_r1_wgrad(ex, &net->layers[k], &u, &g_out[k]));
        if (k == L)
            break;
        ddgan_tensor u_pre, u_act = {0};
        DDGAN_TRY(ddgan__dense_jvp(ex, &net->layers[k], &u, &u_pre));
        /* the LeakyReLU JVP is its backward applied to the tangent */
        DDGAN_TRY(lrelu_bwd(ex, net, &a->pre[k], &u_pre, &u_act));
        u = u_act;
    }
    return DDGAN_OK;
}
