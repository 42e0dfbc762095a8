/* The 2-D toy MLPs (model/toy.h): forward against a host reference,
 * backward and the exact R1 gradient against central finite differences in
 * float64, float32 against float64, planned memory, config errors. */
#include "nn_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/context.h"
#include "core/error.h"
#include "core/philox.h"
#include "model/init.h"
#include "model/toy.h"
#include "nn/netmem.h"

/* Small nets so that every parameter is checked: data 2, nz 3, hidden 8,
 * 3 hidden layers, t_emb_dim 8. */
static ddgan_toy_config small_cfg(void)
{
    ddgan_toy_config c;
    ddgan__toy_config_defaults(&c);
    c.nz = 3;
    c.hidden_dim = 8;
    c.t_emb_dim = 8;
    return c;
}

static const int64_t k_t[8] = {0, 1, 2, 3, 3, 2, 1, 0};
#define MAX_B 8
#define FD_H 1e-6
#define FD_TOL 1e-6
#define KINK_MARGIN 1e-3 /* |pre-activation| >= this: FD steps never cross a kink */

/* The env shares the net's parameter table for the allocation helper. */
static void env_for_net(nt_env *e, ddgan_toy_net *net, ddgan_dtype dt)
{
    nt_env_init(e, dt, 1, 16);
    e->pt = net->pt;
    nt_env_alloc_params(e, 1, 0.5);
    e->pt.p = NULL; /* owned by net */
    e->pt.n = e->pt.cap = 0;
}

static void fill_params(nt_env *e, const ddgan_toy_net *net, uint64_t seed, double scale)
{
    for (size_t i = 0; i < net->pt.total; i++) {
        float u;
        ddgan__philox_uniform(seed, 7, i, &u, 1);
        nt_set(e, e->params, i, (2.0 * u - 1.0) * scale);
    }
}

static void zero_grads(nt_env *e, const ddgan_toy_net *net)
{
    memset(e->grads, 0, net->pt.total * e->ex.dsz);
}

/* Smallest |pre-activation| of every LeakyReLU of a forward pass. */
static double kink_margin(const nt_env *e, const ddgan_toy_net *net, const ddgan_toy_acts *a)
{
    double m = INFINITY;
    for (size_t i = 0; i < ddgan__numel(&a->t1); i++)
        m = fmin(m, fabs(nt_get(e, a->t1.data, i)));
    for (int k = 0; k < net->cfg.n_hidden; k++)
        for (size_t i = 0; i < ddgan__numel(&a->pre[k]); i++)
            m = fmin(m, fabs(nt_get(e, a->pre[k].data, i)));
    return m;
}

/* ------------------------------------------------------------------------ */
/* A host reference of both MLPs in double, from the parameter table by name. */

static const double *pparam(const nt_env *e, const ddgan_toy_net *net, const char *name)
{
    const ddgan_param *p = ddgan__params_find(&net->pt, name);
    assert_non_null(p);
    return (const double *)e->params + p->offset;
}

/* y[out] = W x + b for "<name>.weight/bias" */
static void host_linear(const nt_env *e, const ddgan_toy_net *net, const char *name, const double *x,
                        int in, int out, double *y)
{
    char n[64];
    snprintf(n, sizeof n, "%s.weight", name);
    const double *w = pparam(e, net, n);
    snprintf(n, sizeof n, "%s.bias", name);
    const double *b = pparam(e, net, n);
    for (int o = 0; o < out; o++) {
        double s = b[o];
        for (int i = 0; i < in; i++)
            s += w[(size_t)o * in + i] * x[i];
        y[o] = s;
    }
}

static void host_lrelu(double *v, int n, double slope)
{
    for (int i = 0; i < n; i++)
        v[i] = v[i] >= 0 ? v[i] : slope * v[i];
}

/* One example: out = MLP(cat([a (na), b (nb), tembed(t)])) */
static void host_forward(const nt_env *e, const ddgan_toy_net *net, const double *av, int na,
                         const double *bv, int nb, int64_t t, double *out)
{
    const ddgan_toy_config *c = &net->cfg;
    const int td = c->t_emb_dim, half = td / 2, hd = c->hidden_dim;
    double emb[64], t1[64], in[128], h[64], h2[64];
    assert_true(td <= 64 && hd <= 64 && na + nb + td <= 128);
    for (int k = 0; k < half; k++) {
        double f = exp(-(double)k * log(10000.0) / (double)(half - 1));
        emb[k] = sin((double)t * f);
        emb[half + k] = cos((double)t * f);
    }
    if (td % 2)
        emb[td - 1] = 0.0;
    host_linear(e, net, "t_embed.0", emb, td, td, t1);
    host_lrelu(t1, td, c->lrelu_slope);
    memcpy(in, av, sizeof(double) * (size_t)na);
    memcpy(in + na, bv, sizeof(double) * (size_t)nb);
    host_linear(e, net, "t_embed.2", t1, td, td, in + na + nb);
    host_linear(e, net, "net.0", in, na + nb + td, hd, h);
    host_lrelu(h, hd, c->lrelu_slope);
    for (int k = 1; k < c->n_hidden; k++) {
        char n[16];
        snprintf(n, sizeof n, "net.%d", 2 * k);
        host_linear(e, net, n, h, hd, hd, h2);
        host_lrelu(h2, hd, c->lrelu_slope);
        memcpy(h, h2, sizeof(double) * (size_t)hd);
    }
    char n[16];
    snprintf(n, sizeof n, "net.%d", 2 * c->n_hidden);
    host_linear(e, net, n, h, hd, net->out_dim, out);
}

/* ------------------------------------------------------------------------ */
/* Finite differences */

typedef struct fd_ctx {
    nt_env *e;
    ddgan_toy_net *net;
    ddgan_tensor a, b; /* G: x_t, z; D: x_prev, x_t */
    int what;          /* 0: w . G(x0), 1: w . D logits, 2: R1 penalty, 3: sum of D logits */
    double gamma;
} fd_ctx;

static double fd_loss(void *user)
{
    fd_ctx *c = user;
    size_t mark = ddgan__arena_mark(&c->e->arena);
    ddgan_toy_acts a;
    double v = 0.0;
    if (c->what == 0) {
        ddgan_tensor x0;
        assert_int_equal(ddgan__toy_gen_forward(&c->e->ex, c->net, &c->a, k_t, &c->b, NULL, &x0),
                         DDGAN_OK);
        v = nt_project(c->e, &x0, 77);
    } else {
        assert_int_equal(ddgan__toy_disc_forward(&c->e->ex, c->net, &c->a, k_t, &c->b, &a), DDGAN_OK);
        if (c->what == 1) {
            v = nt_project(c->e, &a.out, 77);
        } else if (c->what == 3) {
            for (int i = 0; i < a.batch; i++)
                v += nt_get(c->e, a.out.data, (size_t)i);
        } else {
            ddgan_exec ex = c->e->ex;
            ex.grads = NULL; /* penalty only */
            assert_int_equal(ddgan__toy_disc_r1(&ex, c->net, &a, c->gamma, NULL, &v), DDGAN_OK);
        }
    }
    ddgan__arena_release(&c->e->arena, mark);
    return v;
}

/* Picks parameters (seeds 1, 2, ...) whose forward keeps every LeakyReLU
 * pre-activation KINK_MARGIN away from 0. */
static void pick_params(fd_ctx *c)
{
    for (uint64_t seed = 1; seed < 200; seed++) {
        fill_params(c->e, c->net, seed, 0.6);
        size_t mark = ddgan__arena_mark(&c->e->arena);
        ddgan_toy_acts a;
        ddgan_tensor x0;
        if (c->net->is_disc)
            assert_int_equal(ddgan__toy_disc_forward(&c->e->ex, c->net, &c->a, k_t, &c->b, &a),
                             DDGAN_OK);
        else
            assert_int_equal(ddgan__toy_gen_forward(&c->e->ex, c->net, &c->a, k_t, &c->b, &a, &x0),
                             DDGAN_OK);
        double m = kink_margin(c->e, c->net, &a);
        ddgan__arena_release(&c->e->arena, mark);
        if (m >= KINK_MARGIN)
            return;
    }
    fail_msg("no parameter seed keeps the pre-activations away from the LeakyReLU kink");
}

static void run_gen_fd(int batch)
{
    ddgan_toy_config cfg = small_cfg();
    ddgan_toy_net net;
    assert_int_equal(ddgan__toy_gen_init(&net, &cfg, MAX_B, DDGAN_DT_F64), DDGAN_OK);
    nt_env e;
    env_for_net(&e, &net, DDGAN_DT_F64);
    fd_ctx c = {&e, &net, {0}, {0}, 0, 0.0};
    c.a = nt_rand_tensor(&e, batch, cfg.data_dim, 1, 1, 21, -1.5, 1.5);
    c.b = nt_rand_tensor(&e, batch, cfg.nz, 1, 1, 22, -1, 1);
    pick_params(&c);

    /* forward against the host reference */
    ddgan_toy_acts a;
    ddgan_tensor x0;
    assert_int_equal(ddgan__toy_gen_forward(&e.ex, &net, &c.a, k_t, &c.b, &a, &x0), DDGAN_OK);
    assert_int_equal(x0.n, batch);
    assert_int_equal(x0.c, 2);
    double worst = 0;
    for (int i = 0; i < batch; i++) {
        double ref[2];
        host_forward(&e, &net, (const double *)c.a.data + 2 * i, 2, (const double *)c.b.data + 3 * i, 3,
                     k_t[i], ref);
        for (int k = 0; k < 2; k++)
            worst = fmax(worst, fabs(nt_get(&e, x0.data, (size_t)(2 * i + k)) - ref[k]) /
                                    fmax(1.0, fabs(ref[k])));
    }
    print_message("    G b%d forward vs host reference: max err %.2e\n", batch, worst);
    assert_true(worst <= 1e-13);

    /* backward: every parameter */
    ddgan_tensor w = nt_proj_tensor(&e, batch, 2, 1, 1, 77);
    zero_grads(&e, &net);
    assert_int_equal(ddgan__toy_gen_backward(&e.ex, &net, &a, &w), DDGAN_OK);
    char what[96];
    snprintf(what, sizeof what, "G b%d d(w.x0)/dparams", batch);
    nt_fd_check(&e, what, e.params, net.pt.total, e.grads, fd_loss, &c, FD_H, FD_TOL, net.pt.total);

    ddgan__toy_free(&net);
    nt_env_free(&e);
}

static void run_disc_fd(int batch)
{
    ddgan_toy_config cfg = small_cfg();
    ddgan_toy_net net;
    assert_int_equal(ddgan__toy_disc_init(&net, &cfg, MAX_B, DDGAN_DT_F64), DDGAN_OK);
    nt_env e;
    env_for_net(&e, &net, DDGAN_DT_F64);
    fd_ctx c = {&e, &net, {0}, {0}, 1, 0.7};
    c.a = nt_rand_tensor(&e, batch, 2, 1, 1, 31, -1.5, 1.5);
    c.b = nt_rand_tensor(&e, batch, 2, 1, 1, 32, -1.5, 1.5);
    pick_params(&c);

    ddgan_toy_acts a;
    assert_int_equal(ddgan__toy_disc_forward(&e.ex, &net, &c.a, k_t, &c.b, &a), DDGAN_OK);
    assert_int_equal(a.out.n, batch);
    assert_int_equal(a.out.c, 1);
    double worst = 0;
    for (int i = 0; i < batch; i++) {
        double ref;
        host_forward(&e, &net, (const double *)c.a.data + 2 * i, 2, (const double *)c.b.data + 2 * i, 2,
                     k_t[i], &ref);
        worst = fmax(worst, fabs(nt_get(&e, a.out.data, (size_t)i) - ref) / fmax(1.0, fabs(ref)));
    }
    print_message("    D b%d forward vs host reference: max err %.2e\n", batch, worst);
    assert_true(worst <= 1e-13);

    /* first order: every parameter and x_prev */
    ddgan_tensor w = nt_proj_tensor(&e, batch, 1, 1, 1, 77);
    ddgan_tensor dxp = {0};
    zero_grads(&e, &net);
    assert_int_equal(ddgan__toy_disc_backward(&e.ex, &net, &a, &w, &dxp), DDGAN_OK);
    assert_int_equal(dxp.n, batch);
    assert_int_equal(dxp.c, 2);
    char what[96];
    snprintf(what, sizeof what, "D b%d d(w.logits)/dparams", batch);
    nt_fd_check(&e, what, e.params, net.pt.total, e.grads, fd_loss, &c, FD_H, FD_TOL, net.pt.total);
    snprintf(what, sizeof what, "D b%d d(w.logits)/dx_prev", batch);
    nt_fd_check(&e, what, c.a.data, ddgan__numel(&c.a), dxp.data, fd_loss, &c, FD_H, FD_TOL, 64);
    /* a frozen D (the G step): the same dx_prev, accumulated into a set
     * tensor, and no weight gradient */
    {
        ddgan_exec frozen = e.ex;
        frozen.grads = NULL;
        zero_grads(&e, &net);
        ddgan_tensor dxf = {0};
        assert_int_equal(ddgan__toy_disc_backward(&frozen, &net, &a, &w, &dxf), DDGAN_OK);
        assert_memory_equal(dxf.data, dxp.data, ddgan__numel(&dxp) * sizeof(double));
        assert_int_equal(ddgan__toy_disc_backward(&frozen, &net, &a, &w, &dxf), DDGAN_OK);
        for (size_t i = 0; i < ddgan__numel(&dxp); i++)
            assert_true(nt_get(&e, dxf.data, i) == 2.0 * nt_get(&e, dxp.data, i));
        for (size_t i = 0; i < net.pt.total; i++)
            assert_true(nt_get(&e, e.grads, i) == 0.0);
    }

    /* R1: input gradient and penalty against a direct FD of d(sum D)/dx_prev */
    ddgan_tensor gx = {0};
    double pen = 0;
    zero_grads(&e, &net);
    assert_int_equal(ddgan__toy_disc_r1(&e.ex, &net, &a, c.gamma, &gx, &pen), DDGAN_OK);
    c.what = 3;
    double fd_sq = 0, gmax = 0, gerr = 0;
    for (size_t i = 0; i < ddgan__numel(&c.a); i++) {
        double orig = nt_get(&e, c.a.data, i);
        nt_set(&e, c.a.data, i, orig + FD_H);
        double lp = fd_loss(&c);
        nt_set(&e, c.a.data, i, orig - FD_H);
        double lm = fd_loss(&c);
        nt_set(&e, c.a.data, i, orig);
        double fd = (lp - lm) / (2 * FD_H), an = nt_get(&e, gx.data, i);
        fd_sq += fd * fd;
        gmax = fmax(gmax, fabs(an));
        gerr = fmax(gerr, fabs(fd - an));
    }
    const double pen_fd = c.gamma / (2.0 * batch) * fd_sq;
    print_message("    D b%d R1 d(sum D)/dx_prev vs FD: max err %.2e x max|g|; penalty %.12g vs FD "
                  "%.12g (rel %.2e)\n",
                  batch, gerr / gmax, pen, pen_fd, fabs(pen - pen_fd) / pen_fd);
    assert_true(gerr <= 1e-8 * gmax);
    assert_true(pen > 0 && fabs(pen - pen_fd) <= 1e-8 * pen_fd);

    /* R1: the exact parameter gradient against FD of the penalty */
    c.what = 2;
    snprintf(what, sizeof what, "D b%d dR1/dparams", batch);
    nt_fd_check(&e, what, e.params, net.pt.total, e.grads, fd_loss, &c, FD_H, FD_TOL, net.pt.total);

    ddgan__toy_free(&net);
    nt_env_free(&e);
}

static void test_gen_fd_batch1(void **state)
{
    (void)state;
    run_gen_fd(1);
}
static void test_gen_fd_batch3(void **state)
{
    (void)state;
    run_gen_fd(3);
}
static void test_gen_fd_batch8(void **state)
{
    (void)state;
    run_gen_fd(8);
}
static void test_disc_fd_batch1(void **state)
{
    (void)state;
    run_disc_fd(1);
}
static void test_disc_fd_batch5(void **state)
{
    (void)state;
    run_disc_fd(5);
}
static void test_disc_fd_batch8(void **state)
{
    (void)state;
    run_disc_fd(8);
}

/* ------------------------------------------------------------------------ */
/* R1 adds to the gradient buffer; time MLP and biases get exactly 0. */

static void test_r1_accumulates(void **state)
{
    (void)state;
    ddgan_toy_config cfg = small_cfg();
    ddgan_toy_net net;
    assert_int_equal(ddgan__toy_disc_init(&net, &cfg, MAX_B, DDGAN_DT_F64), DDGAN_OK);
    nt_env e;
    env_for_net(&e, &net, DDGAN_DT_F64);
    fill_params(&e, &net, 3, 0.6);
    ddgan_tensor xp = nt_rand_tensor(&e, 3, 2, 1, 1, 41, -1, 1);
    ddgan_tensor xt = nt_rand_tensor(&e, 3, 2, 1, 1, 42, -1, 1);
    ddgan_toy_acts a;
    assert_int_equal(ddgan__toy_disc_forward(&e.ex, &net, &xp, k_t, &xt, &a), DDGAN_OK);
    const size_t n = net.pt.total;
    double *fresh = malloc(n * sizeof *fresh);
    assert_non_null(fresh);
    double p1 = 0, p2 = 0, p3 = 0;
    zero_grads(&e, &net);
    assert_int_equal(ddgan__toy_disc_r1(&e.ex, &net, &a, 0.3, NULL, &p1), DDGAN_OK);
    memcpy(fresh, e.grads, n * sizeof *fresh);
    for (size_t i = 0; i < n; i++)
        nt_set(&e, e.grads, i, 0.5);
    assert_int_equal(ddgan__toy_disc_r1(&e.ex, &net, &a, 0.3, NULL, &p2), DDGAN_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(nt_get(&e, e.grads, i) - 0.5 - fresh[i]) <= 1e-14);
    /* no gradient buffer: penalty only, buffer untouched */
    ddgan_exec frozen = e.ex;
    frozen.grads = NULL;
    memcpy(e.grads, fresh, n * sizeof *fresh);
    assert_int_equal(ddgan__toy_disc_r1(&frozen, &net, &a, 0.3, NULL, &p3), DDGAN_OK);
    assert_memory_equal(e.grads, fresh, n * sizeof *fresh);
    assert_true(p1 > 0 && p1 == p2 && p1 == p3);
    /* which tensors R1 reaches: the weights of net.*, nothing else */
    double sum_w = 0;
    for (size_t i = 0; i < net.pt.n; i++) {
        const ddgan_param *p = &net.pt.p[i];
        double s = 0;
        for (size_t k = 0; k < p->count; k++)
            s += fabs(fresh[p->offset + k]);
        const int reached = !strncmp(p->name, "net.", 4) && strstr(p->name, ".weight");
        if (reached)
            sum_w += s;
        else if (s != 0.0)
            fail_msg("R1 gradient of %s is %g, expected exactly 0", p->name, s);
    }
    assert_true(sum_w > 0);
    free(fresh);
    ddgan__toy_free(&net);
    nt_env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* float32 against float64 on the same parameters and inputs */

static double rel_l2_bufs(const nt_env *ea, const void *a, const nt_env *eb, const void *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double x = nt_get(ea, a, i), y = nt_get(eb, b, i);
        num += (x - y) * (x - y);
        den += y * y;
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

static void test_f32_vs_f64(void **state)
{
    (void)state;
    ddgan_toy_config cfg = small_cfg();
    cfg.hidden_dim = 32;
    cfg.t_emb_dim = 16;
    const int B = 5;
    ddgan_toy_net g[2], d[2];
    nt_env eg[2], ed[2];
    ddgan_tensor xt[2], z[2], xp[2];
    const ddgan_dtype dts[2] = {DDGAN_DT_F64, DDGAN_DT_F32};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(ddgan__toy_gen_init(&g[k], &cfg, MAX_B, dts[k]), DDGAN_OK);
        assert_int_equal(ddgan__toy_disc_init(&d[k], &cfg, MAX_B, dts[k]), DDGAN_OK);
        env_for_net(&eg[k], &g[k], dts[k]);
        env_for_net(&ed[k], &d[k], dts[k]);
        fill_params(&eg[k], &g[k], 9, 0.4);
        fill_params(&ed[k], &d[k], 10, 0.4);
        xt[k] = nt_rand_tensor(&eg[k], B, 2, 1, 1, 51, -1.5, 1.5);
        z[k] = nt_rand_tensor(&eg[k], B, 3, 1, 1, 52, -1, 1);
        xp[k] = nt_rand_tensor(&ed[k], B, 2, 1, 1, 53, -1.5, 1.5);
    }
    /* the float32 values are the rounded float64 ones: use them in float64 too */
    for (size_t i = 0; i < g[0].pt.total; i++)
        nt_set(&eg[0], eg[0].params, i, nt_get(&eg[1], eg[1].params, i));
    for (size_t i = 0; i < d[0].pt.total; i++)
        nt_set(&ed[0], ed[0].params, i, nt_get(&ed[1], ed[1].params, i));
    for (int i = 0; i < B * 2; i++) {
        nt_set(&eg[0], xt[0].data, (size_t)i, nt_get(&eg[1], xt[1].data, (size_t)i));
        nt_set(&ed[0], xp[0].data, (size_t)i, nt_get(&ed[1], xp[1].data, (size_t)i));
    }
    for (int i = 0; i < B * 3; i++)
        nt_set(&eg[0], z[0].data, (size_t)i, nt_get(&eg[1], z[1].data, (size_t)i));

    ddgan_tensor x0[2], dxp[2] = {{0}, {0}}, gx[2] = {{0}, {0}};
    ddgan_toy_acts ga[2], da[2];
    double pen[2], margin = INFINITY;
    void *g_bw[2], *d_bw[2];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(
            ddgan__toy_gen_forward(&eg[k].ex, &g[k], &xt[k], k_t, &z[k], &ga[k], &x0[k]), DDGAN_OK);
        ddgan_tensor w = nt_proj_tensor(&eg[k], B, 2, 1, 1, 77);
        zero_grads(&eg[k], &g[k]);
        assert_int_equal(ddgan__toy_gen_backward(&eg[k].ex, &g[k], &ga[k], &w), DDGAN_OK);
        g_bw[k] = eg[k].grads;
        /* D: the generator's x0 as x_t */
        ddgan_tensor dxt;
        assert_int_equal(ddgan__tensor_alloc(&ed[k].ex, &dxt, B, 2, 1, 1), DDGAN_OK);
        for (int i = 0; i < B * 2; i++)
            nt_set(&ed[k], dxt.data, (size_t)i, nt_get(&eg[k], x0[k].data, (size_t)i));
        assert_int_equal(ddgan__toy_disc_forward(&ed[k].ex, &d[k], &xp[k], k_t, &dxt, &da[k]), DDGAN_OK);
        ddgan_tensor wd = nt_proj_tensor(&ed[k], B, 1, 1, 1, 78);
        zero_grads(&ed[k], &d[k]);
        assert_int_equal(ddgan__toy_disc_backward(&ed[k].ex, &d[k], &da[k], &wd, &dxp[k]), DDGAN_OK);
        assert_int_equal(ddgan__toy_disc_r1(&ed[k].ex, &d[k], &da[k], 0.05, &gx[k], &pen[k]), DDGAN_OK);
        d_bw[k] = ed[k].grads; /* backward + R1 gradients together */
        margin = fmin(margin, kink_margin(&eg[k], &g[k], &ga[k]));
        margin = fmin(margin, kink_margin(&ed[k], &d[k], &da[k]));
    }
    assert_true(margin > 1e-4); /* no LeakyReLU flips between the precisions */
    const double e_x0 = rel_l2_bufs(&eg[1], x0[1].data, &eg[0], x0[0].data, (size_t)B * 2);
    const double e_gg = rel_l2_bufs(&eg[1], g_bw[1], &eg[0], g_bw[0], g[0].pt.total);
    const double e_lg = rel_l2_bufs(&ed[1], da[1].out.data, &ed[0], da[0].out.data, (size_t)B);
    const double e_dx = rel_l2_bufs(&ed[1], dxp[1].data, &ed[0], dxp[0].data, (size_t)B * 2);
    const double e_gx = rel_l2_bufs(&ed[1], gx[1].data, &ed[0], gx[0].data, (size_t)B * 2);
    const double e_dg = rel_l2_bufs(&ed[1], d_bw[1], &ed[0], d_bw[0], d[0].pt.total);
    const double e_pen = fabs(pen[1] - pen[0]) / pen[0];
    print_message("    f32 vs f64 rel L2: G x0 %.2e, G grads %.2e, D logits %.2e, D dx_prev %.2e, "
                  "R1 grad_x %.2e, R1 penalty %.2e, D grads (+R1) %.2e\n",
                  e_x0, e_gg, e_lg, e_dx, e_gx, e_pen, e_dg);
    assert_true(e_x0 <= 1e-5 && e_gg <= 1e-5 && e_lg <= 1e-5 && e_dx <= 1e-5);
    assert_true(e_gx <= 1e-5 && e_pen <= 1e-5 && e_dg <= 1e-5);
    for (int k = 0; k < 2; k++) {
        ddgan__toy_free(&g[k]);
        ddgan__toy_free(&d[k]);
        nt_env_free(&eg[k]);
        nt_env_free(&ed[k]);
    }
}

/* ------------------------------------------------------------------------ */
/* Parameter table: names, shapes, init */

/* shape [d0] or [d0, d1]; nn.Linear's init U(+-1/sqrt(in)) for weight and bias */
static void expect_param(const ddgan_toy_net *net, const char *name, int64_t d0, int64_t d1, int in)
{
    const ddgan_param *p = ddgan__params_find(&net->pt, name);
    if (!p)
        fail_msg("parameter %s missing", name);
    assert_int_equal(p->ndim, d1 ? 2 : 1);
    assert_int_equal(p->shape[0], d0);
    if (d1)
        assert_int_equal(p->shape[1], d1);
    assert_int_equal(p->init, DDGAN_INIT_FAN_IN_UNIFORM);
    assert_true(fabs(ddgan__init_bound(p) - 1.0 / sqrt((double)in)) <= 1e-15);
}

static void test_param_table(void **state)
{
    (void)state;
    ddgan_toy_config cfg;
    ddgan__toy_config_defaults(&cfg);
    assert_int_equal(cfg.data_dim, 2);
    assert_int_equal(cfg.n_hidden, 3);
    assert_true(cfg.lrelu_slope == 0.2);
    ddgan_toy_net g, d;
    assert_int_equal(ddgan__toy_gen_init(&g, &cfg, 4, DDGAN_DT_F32), DDGAN_OK);
    assert_int_equal(ddgan__toy_disc_init(&d, &cfg, 4, DDGAN_DT_F32), DDGAN_OK);
    const int td = cfg.t_emb_dim, hd = cfg.hidden_dim;
    static const char *const order[12] = {
        "t_embed.0.weight", "t_embed.0.bias", "t_embed.2.weight", "t_embed.2.bias",
        "net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias",
        "net.4.weight", "net.4.bias", "net.6.weight", "net.6.bias"};
    for (int k = 0; k < 2; k++) {
        const ddgan_toy_net *n = k ? &d : &g;
        assert_int_equal(n->pt.n, 12);
        for (int i = 0; i < 12; i++)
            assert_string_equal(n->pt.p[i].name, order[i]);
        const int in0 = k ? 2 + 2 + td : 2 + cfg.nz + td, no = k ? 1 : 2;
        expect_param(n, "t_embed.0.weight", td, td, td);
        expect_param(n, "t_embed.0.bias", td, 0, td);
        expect_param(n, "t_embed.2.weight", td, td, td);
        expect_param(n, "t_embed.2.bias", td, 0, td);
        expect_param(n, "net.0.weight", hd, in0, in0);
        expect_param(n, "net.0.bias", hd, 0, in0);
        expect_param(n, "net.2.weight", hd, hd, hd);
        expect_param(n, "net.4.bias", hd, 0, hd);
        expect_param(n, "net.6.weight", no, hd, hd);
        expect_param(n, "net.6.bias", no, 0, hd);
        /* the drawn values: within the bound, biases not zero */
        double *v = malloc(n->pt.total * sizeof *v);
        assert_non_null(v);
        assert_int_equal(ddgan__init_params(&n->pt, 5, 0, v), DDGAN_OK);
        for (size_t i = 0; i < n->pt.n; i++) {
            const ddgan_param *p = &n->pt.p[i];
            const double b = ddgan__init_bound(p);
            double mx = 0;
            for (size_t q = 0; q < p->count; q++)
                mx = fmax(mx, fabs(v[p->offset + q]));
            assert_true(mx <= b && mx > (p->count >= 16 ? 0.5 * b : 0.0));
        }
        free(v);
    }
    size_t count = 0;
    for (size_t i = 0; i < g.pt.n; i++)
        count += g.pt.p[i].count;
    print_message("    default G (hidden 128, t_emb 32, nz 2): %zu parameters, %.0f FLOPs/example\n",
                  count, ddgan__toy_flops(&g));
    assert_int_equal(count, (size_t)(2 * (td * td + td) + (2 + 2 + td) * hd + hd +
                                     2 * (hd * hd + hd) + hd * 2 + 2));
    ddgan__toy_free(&g);
    ddgan__toy_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Planned memory: a dry run, then real runs with the same peak and no allocation */

static size_t g_allocs;
static void *count_malloc(void *user, size_t n)
{
    (void)user;
    g_allocs++;
    return malloc(n);
}
static void count_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static ddgan_status_t toy_step(ddgan_netmem *m, ddgan_toy_net *net, int batch)
{
    ddgan_exec ex = ddgan__netmem_exec(m, 1);
    ddgan__arena_reset(&m->arena);
    ddgan_tensor a, b, dout, dx = {0}, gx = {0}, out;
    ddgan_toy_acts acts;
    int64_t t[64];
    for (int i = 0; i < 64; i++)
        t[i] = i % 4;
    if (batch > 64)
        return DDGAN_ERR_INVALID_ARGUMENT;
    const int nb = net->is_disc ? net->cfg.data_dim : net->cfg.nz;
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &a, batch, net->cfg.data_dim, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &b, batch, nb, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &dout, batch, net->out_dim, 1, 1));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &a));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &b));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &dout));
    if (!net->is_disc) {
        DDGAN_TRY(ddgan__toy_gen_forward(&ex, net, &a, t, &b, &acts, &out));
        return ddgan__toy_gen_backward(&ex, net, &acts, &dout);
    }
    DDGAN_TRY(ddgan__toy_disc_forward(&ex, net, &a, t, &b, &acts));
    DDGAN_TRY(ddgan__toy_disc_backward(&ex, net, &acts, &dout, &dx));
    double pen;
    return ddgan__toy_disc_r1(&ex, net, &acts, 0.05, &gx, &pen);
}

static void test_planned_memory(void **state)
{
    (void)state;
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, NULL), DDGAN_OK);
    ddgan_toy_config cfg;
    ddgan__toy_config_defaults(&cfg);
    for (int k = 0; k < 2; k++) {
        ddgan_toy_net net;
        assert_int_equal(k ? ddgan__toy_disc_init(&net, &cfg, 64, DDGAN_DT_F32)
                           : ddgan__toy_gen_init(&net, &cfg, 64, DDGAN_DT_F32),
                         DDGAN_OK);
        ddgan_netmem m;
        assert_int_equal(ddgan__netmem_init(&m, ctx->backend, DDGAN_DT_F32, net.pt.total,
                                            DDGAN_BUF_PARAMS | DDGAN_BUF_GRADS), DDGAN_OK);
        ddgan__netmem_plan_begin(&m);
        assert_int_equal(toy_step(&m, &net, 64), DDGAN_OK);
        size_t planned = 0;
        assert_int_equal(ddgan__netmem_plan_end(&m, &planned), DDGAN_OK);
        assert_true(planned > 0);
        m.arena.peak = 0;
        ddgan_alloc_hooks hooks = {count_malloc, count_free, NULL};
        ddgan__alloc_set_hooks(&hooks);
        g_allocs = 0;
        ddgan_status_t st = toy_step(&m, &net, 64);
        const size_t peak = m.arena.peak;
        st = st == DDGAN_OK ? toy_step(&m, &net, 64) : st;
        st = st == DDGAN_OK ? toy_step(&m, &net, 7) : st; /* a smaller batch fits the plan */
        ddgan__alloc_set_hooks(NULL);
        assert_int_equal(st, DDGAN_OK);
        print_message("    %s step (batch 64): planned arena %zu bytes, real run peak %zu\n",
                      k ? "D forward+backward+R1" : "G forward+backward", planned, peak);
        assert_int_equal(peak, planned);
        assert_int_equal(g_allocs, 0);
        assert_true(m.arena.peak <= planned);
        ddgan__netmem_free(&m);
        ddgan__toy_free(&net);
    }
    ddgan_context_destroy(ctx);
}

/* ------------------------------------------------------------------------ */
/* Errors */

static void expect_cfg_error(const ddgan_toy_config *c, int is_disc, const char *needle)
{
    ddgan_toy_net net;
    ddgan_status_t st = is_disc ? ddgan__toy_disc_init(&net, c, 4, DDGAN_DT_F32)
                                : ddgan__toy_gen_init(&net, c, 4, DDGAN_DT_F32);
    tu_assert_status(st, DDGAN_ERR_INVALID_ARGUMENT, needle);
}

static void test_config_errors(void **state)
{
    (void)state;
    ddgan_toy_config base;
    ddgan__toy_config_defaults(&base);
    ddgan_toy_config c;
#define BAD(field, value, is_disc, needle) \
    do {                                   \
        c = base;                          \
        c.field = value;                   \
        expect_cfg_error(&c, is_disc, needle); \
    } while (0)
    BAD(data_dim, 0, 0, "data_dim 0");
    BAD(data_dim, -2, 1, "data_dim -2");
    BAD(nz, 0, 0, "nz 0");
    BAD(hidden_dim, 0, 1, "hidden_dim 0");
    BAD(hidden_dim, 70000, 0, "hidden_dim 70000");
    BAD(n_hidden, 0, 0, "n_hidden 0");
    BAD(n_hidden, 9, 1, "n_hidden 9");
    BAD(t_emb_dim, 3, 0, "t_emb_dim 3");
    BAD(lrelu_slope, -0.1, 1, "lrelu_slope -0.1");
    BAD(lrelu_slope, 1.0, 0, "lrelu_slope 1");
    BAD(lrelu_slope, NAN, 0, "lrelu_slope");
    BAD(data_scale, 0.0, 0, "data_scale 0");
    BAD(data_scale, INFINITY, 1, "data_scale inf");
#undef BAD
    /* D ignores nz */
    c = base;
    c.nz = 0;
    ddgan_toy_net net;
    assert_int_equal(ddgan__toy_disc_init(&net, &c, 4, DDGAN_DT_F32), DDGAN_OK);
    ddgan__toy_free(&net);
    tu_assert_status(ddgan__toy_gen_init(&net, &base, 0, DDGAN_DT_F32), DDGAN_ERR_INVALID_ARGUMENT,
                     "max_batch 0");
    tu_assert_status(ddgan__toy_config_check(NULL, 0), DDGAN_ERR_INVALID_ARGUMENT, "config");
}

static void test_shape_errors(void **state)
{
    (void)state;
    ddgan_toy_config cfg = small_cfg();
    ddgan_toy_net g, d;
    assert_int_equal(ddgan__toy_gen_init(&g, &cfg, 4, DDGAN_DT_F64), DDGAN_OK);
    assert_int_equal(ddgan__toy_disc_init(&d, &cfg, 4, DDGAN_DT_F64), DDGAN_OK);
    nt_env e;
    env_for_net(&e, &g, DDGAN_DT_F64);
    ddgan_tensor x2 = nt_rand_tensor(&e, 3, 2, 1, 1, 1, -1, 1);
    ddgan_tensor x3 = nt_rand_tensor(&e, 3, 3, 1, 1, 2, -1, 1);
    ddgan_tensor img = nt_rand_tensor(&e, 3, 2, 2, 2, 3, -1, 1);
    ddgan_tensor big = nt_rand_tensor(&e, 5, 2, 1, 1, 4, -1, 1);
    ddgan_tensor bigz = nt_rand_tensor(&e, 5, 3, 1, 1, 5, -1, 1);
    ddgan_tensor x0;
    ddgan_toy_acts a;
    tu_assert_status(ddgan__toy_gen_forward(&e.ex, &g, &x3, k_t, &x3, NULL, &x0),
                     DDGAN_ERR_INVALID_ARGUMENT, "x_t is [3,3,1,1], expected [3,2,1,1]");
    tu_assert_status(ddgan__toy_gen_forward(&e.ex, &g, &x2, k_t, &x2, NULL, &x0),
                     DDGAN_ERR_INVALID_ARGUMENT, "z is [3,2,1,1]");
    tu_assert_status(ddgan__toy_gen_forward(&e.ex, &g, &big, k_t, &bigz, NULL, &x0),
                     DDGAN_ERR_INVALID_ARGUMENT, "batch 5 not in [1, max_batch 4]");
    tu_assert_status(ddgan__toy_disc_forward(&e.ex, &d, &img, k_t, &img, &a),
                     DDGAN_ERR_INVALID_ARGUMENT, "x_prev is [3,2,2,2]");
    tu_assert_status(ddgan__toy_disc_forward(&e.ex, &d, &x2, k_t, &x3, &a),
                     DDGAN_ERR_INVALID_ARGUMENT, "x_t is [3,3,1,1]");
    /* the wrong network */
    tu_assert_status(ddgan__toy_disc_forward(&e.ex, &g, &x2, k_t, &x2, &a), DDGAN_ERR_INTERNAL,
                     "generator");
    tu_assert_status(ddgan__toy_gen_forward(&e.ex, &d, &x2, k_t, &x3, NULL, &x0), DDGAN_ERR_INTERNAL,
                     "discriminator");
    /* G runs without an activation record (sampling) */
    assert_int_equal(ddgan__toy_gen_forward(&e.ex, &g, &x2, k_t, &x3, NULL, &x0), DDGAN_OK);
    assert_int_equal(x0.n, 3);
    assert_int_equal(x0.c, 2);
    ddgan__toy_free(&g);
    ddgan__toy_free(&d);
    nt_env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_table),    cmocka_unit_test(test_gen_fd_batch1),
        cmocka_unit_test(test_gen_fd_batch3),  cmocka_unit_test(test_gen_fd_batch8),
        cmocka_unit_test(test_disc_fd_batch1), cmocka_unit_test(test_disc_fd_batch5),
        cmocka_unit_test(test_disc_fd_batch8), cmocka_unit_test(test_r1_accumulates),
        cmocka_unit_test(test_f32_vs_f64),     cmocka_unit_test(test_planned_memory),
        cmocka_unit_test(test_config_errors),  cmocka_unit_test(test_shape_errors),
    };
    return cmocka_run_group_tests_name("toy", tests, NULL, NULL);
}
