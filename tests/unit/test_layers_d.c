/* Discriminator-side layers on "ref": convolution, dense, activations, FIR
 * resampling and the FIR conv-downsample, the combination helpers
 * (concat, axpby, channel bias, sum pooling), the timestep embedding and the
 * minibatch standard deviation.
 *  - float64 central finite differences of every input and weight gradient;
 *  - the R1 sweeps: JVPs against directional central differences, the
 *    _r1_wgrad weight sweeps and the minibatch-std second-order term against
 *    finite differences of <J u, g>, LeakyReLU's zero second-order term;
 *  - forward values against naive float64 loops written from the reference
 *    formulas (2.2.5, 2.2.7, 3.6);
 *  - float32 against float64 on the same (float32-representable) values;
 *  - gradient accumulation / frozen networks, planning dry runs, errors. */
#include "nn_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FD_H 1e-6
#define FD_TOL 1e-6
#define FD_MAX_CHECKS 40
#define F32_TOL 1e-5
#define ARENA_MB 8

enum {
    K_CONV,
    K_DENSE,
    K_ACT,
    K_FIR_UP,
    K_FIR_DOWN,
    K_FIR_CDOWN,
    K_CONCAT,
    K_AXPBY,
    K_CHBIAS,
    K_SUMPOOL,
    K_MBSTD,
    K_COUNT
};

static const char *const kind_name[K_COUNT] = {
    "conv",  "dense", "activation", "fir up x2",    "fir down x2", "fir conv-down",
    "concat", "axpby", "channel bias", "sum pooling", "minibatch std",
};

/* worst errors per layer kind, reported at the end */
static double worst_fd[K_COUNT];  /* backward vs finite differences */
static double worst_jvp[K_COUNT]; /* JVP vs directional differences */
static double worst_r1[K_COUNT];  /* r1_wgrad / hvp vs finite differences */
static double worst_f32[K_COUNT]; /* float32 vs float64 */

/* One layer configuration. */
typedef struct lspec {
    int kind;
    int n, c, h, w;            /* input shape */
    int c_out, k, stride, pad; /* conv / dense (c_out = out features) / conv-down */
    int asym;                  /* conv: pads (t, l, b, r) = (0, 0, 1, 1) */
    int has_bias;
    ddgan_act act;
    double alpha;
    int c2;        /* concat: channels of the second input */
    double ca, cb; /* axpby coefficients */
} lspec;

static lspec conv_spec(int n, int c, int h, int w, int c_out, int k, int stride, int pad, int asym,
                       int has_bias)
{
    lspec s = {K_CONV, n, c, h, w, c_out, k, stride, pad, asym, has_bias, DDGAN_ACT_SILU,
               0, 0, 0, 0};
    return s;
}
static lspec dense_spec(int n, int c, int h, int w, int out, int has_bias)
{
    lspec s = {K_DENSE, n, c, h, w, out, 0, 0, 0, 0, has_bias, DDGAN_ACT_SILU, 0, 0, 0, 0};
    return s;
}
static lspec act_spec(ddgan_act act, double alpha)
{
    lspec s = {K_ACT, 2, 3, 5, 4, 0, 0, 0, 0, 0, 0, act, alpha, 0, 0, 0};
    return s;
}
static lspec plain_spec(int kind, int n, int c, int h, int w)
{
    lspec s = {kind, n, c, h, w, 0, 0, 0, 0, 0, 0, DDGAN_ACT_SILU, 0, 0, 0, 0};
    return s;
}

/* One layer under test, with its inputs and what its forward saved. */
typedef struct lcase {
    nt_env e;
    lspec s;
    ddgan_conv conv;
    ddgan_dense dense;
    ddgan_fir fir;
    ddgan_fir_conv_down fcd;
    ddgan_mbstd_saved ms;
    ddgan_tensor x, b;    /* inputs (b: concat / axpby second input, channel-bias vector) */
    ddgan_tensor u, g;    /* R1 tangent (input shape) and output gradient (output shape) */
    ddgan_tensor y, blurred;
    size_t mark;          /* arena position after the inputs */
    uint64_t pseed, gseed;
    void *dx, *db;        /* host copies of the analytic input gradients */
} lcase;

static const double k1331[4] = {1, 3, 3, 1};

static int has_b(int kind) { return kind == K_CONCAT || kind == K_AXPBY || kind == K_CHBIAS; }

static void *host_copy(const nt_env *e, const ddgan_tensor *t)
{
    size_t bytes = ddgan__numel(t) * e->ex.dsz;
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    memcpy(p, t->data, bytes);
    return p;
}

/* Inputs with |x| in [0.05, 3]: away from the LeakyReLU kink. */
static ddgan_tensor kink_free_tensor(nt_env *e, int n, int c, int h, int w, uint64_t seed)
{
    ddgan_tensor t = nt_rand_tensor(e, n, c, h, w, seed, -1.0, 1.0);
    for (size_t i = 0; i < ddgan__numel(&t); i++) {
        double v = nt_get(e, t.data, i);
        nt_set(e, t.data, i, v >= 0 ? 0.05 + 2.95 * v : -0.05 + 2.95 * v);
    }
    return t;
}

static void lc_setup(lcase *lc, ddgan_dtype dt, const lspec *s)
{
    memset(lc, 0, sizeof *lc);
    lc->s = *s;
    lc->pseed = 9001;
    lc->gseed = 4711;
    nt_env *e = &lc->e;
    nt_env_init(e, dt, 1, ARENA_MB);
    switch (s->kind) {
    case K_CONV:
        assert_int_equal(ddgan__conv_init(&lc->conv, &e->pt, "conv", s->c, s->c_out, s->k,
                                          s->stride, s->pad, s->has_bias,
                                          DDGAN_INIT_FAN_AVG_UNIFORM, 1.0),
                         DDGAN_OK);
        if (s->asym)
            ddgan__conv_set_pads(&lc->conv, 0, 0, 1, 1);
        break;
    case K_DENSE:
        assert_int_equal(ddgan__dense_init(&lc->dense, &e->pt, "dense", s->c * s->h * s->w,
                                           s->c_out, s->has_bias, DDGAN_INIT_FAN_AVG_UNIFORM,
                                           1.0),
                         DDGAN_OK);
        break;
    case K_FIR_UP:
    case K_FIR_DOWN:
        assert_int_equal(ddgan__fir_init(&lc->fir, k1331, 4), DDGAN_OK);
        break;
    case K_FIR_CDOWN:
        assert_int_equal(ddgan__fir_init(&lc->fir, k1331, 4), DDGAN_OK);
        assert_int_equal(ddgan__fir_conv_down_init(&lc->fcd, &e->pt, "Conv2d_0", s->c, s->c_out, 3,
                                                   &lc->fir, 1.0),
                         DDGAN_OK);
        break;
    default:
        break;
    }
    nt_env_alloc_params(e, 77, 0.5);
    if (s->kind == K_ACT)
        lc->x = kink_free_tensor(e, s->n, s->c, s->h, s->w, 1234);
    else
        lc->x = nt_rand_tensor(e, s->n, s->c, s->h, s->w, 1234, -2.0, 2.0);
    if (s->kind == K_CONCAT)
        lc->b = nt_rand_tensor(e, s->n, s->c2, s->h, s->w, 4321, -2.0, 2.0);
    else if (s->kind == K_AXPBY)
        lc->b = nt_rand_tensor(e, s->n, s->c, s->h, s->w, 4321, -2.0, 2.0);
    else if (s->kind == K_CHBIAS)
        lc->b = nt_rand_tensor(e, s->n, s->c, 1, 1, 4321, -2.0, 2.0);
    lc->mark = ddgan__arena_mark(&e->arena);
}

static void lc_free(lcase *lc)
{
    free(lc->dx);
    free(lc->db);
    nt_env_free(&lc->e);
}

static void lc_forward(lcase *lc)
{
    ddgan__arena_release(&lc->e.arena, lc->mark);
    ddgan_exec *ex = &lc->e.ex;
    const lspec *s = &lc->s;
    ddgan_status_t st = DDGAN_ERR_INTERNAL;
    lc->y = ddgan__tensor(NULL, 0, 0, 0, 0);
    switch (s->kind) {
    case K_CONV:
        st = ddgan__conv_forward(ex, &lc->conv, &lc->x, &lc->y);
        break;
    case K_DENSE:
        st = ddgan__dense_forward(ex, &lc->dense, &lc->x, &lc->y);
        break;
    case K_ACT:
        st = ddgan__act_forward(ex, s->act, s->alpha, &lc->x, &lc->y);
        break;
    case K_FIR_UP:
        st = ddgan__fir_up_forward(ex, &lc->fir, &lc->x, &lc->y);
        break;
    case K_FIR_DOWN:
        st = ddgan__fir_down_forward(ex, &lc->fir, &lc->x, &lc->y);
        break;
    case K_FIR_CDOWN:
        st = ddgan__fir_conv_down_forward(ex, &lc->fcd, &lc->x, &lc->blurred, &lc->y);
        break;
    case K_CONCAT:
        st = ddgan__concat_forward(ex, &lc->x, &lc->b, &lc->y);
        break;
    case K_AXPBY:
        st = ddgan__axpby_forward(ex, s->ca, &lc->x, s->cb, &lc->b, &lc->y);
        break;
    case K_CHBIAS:
        st = ddgan__add_channel_bias(ex, &lc->x, &lc->b, &lc->y);
        break;
    case K_SUMPOOL:
        st = ddgan__sum_pool_forward(ex, &lc->x, &lc->y);
        break;
    case K_MBSTD:
        st = ddgan__mbstd_forward(ex, &lc->x, &lc->ms, &lc->y);
        break;
    default:
        fail();
    }
    if (st != DDGAN_OK)
        print_error("%s forward: %s\n", kind_name[s->kind], ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
}

static double lc_loss(void *user)
{
    lcase *lc = user;
    lc_forward(lc);
    return nt_project(&lc->e, &lc->y, lc->pseed);
}

/* A tensor of the given shape: placeholder while planning, else U(-1, 1) (seeded). */
static ddgan_tensor lc_tensor(lcase *lc, int n, int c, int h, int w, uint64_t seed, int proj)
{
    ddgan_tensor t;
    if (lc->e.arena.planning) {
        assert_int_equal(ddgan__tensor_alloc(&lc->e.ex, &t, n, c, h, w), DDGAN_OK);
        return t;
    }
    return proj ? nt_proj_tensor(&lc->e, n, c, h, w, seed)
                : nt_rand_tensor(&lc->e, n, c, h, w, seed, -1.0, 1.0);
}

/* Backward of the projection loss (after lc_forward) into dx / db (fresh or
 * accumulating, as given; either may be NULL) and the weight gradients. */
static void lc_backward(lcase *lc, ddgan_tensor *dx, ddgan_tensor *db)
{
    ddgan_exec *ex = &lc->e.ex;
    const lspec *s = &lc->s;
    ddgan_tensor dy = lc_tensor(lc, lc->y.n, lc->y.c, lc->y.h, lc->y.w, lc->pseed, 1);
    ddgan_status_t st = DDGAN_ERR_INTERNAL;
    switch (s->kind) {
    case K_CONV:
        st = ddgan__conv_backward(ex, &lc->conv, &lc->x, &dy, dx);
        break;
    case K_DENSE:
        st = ddgan__dense_backward(ex, &lc->dense, &lc->x, &dy, dx);
        break;
    case K_ACT:
        assert_non_null(dx);
        st = ddgan__act_backward(ex, s->act, s->alpha, &lc->x, &lc->y, &dy, dx);
        break;
    case K_FIR_UP:
        st = dx ? ddgan__fir_up_backward(ex, &lc->fir, &dy, dx) : DDGAN_OK;
        break;
    case K_FIR_DOWN:
        st = dx ? ddgan__fir_down_backward(ex, &lc->fir, &dy, dx) : DDGAN_OK;
        break;
    case K_FIR_CDOWN:
        st = ddgan__fir_conv_down_backward(ex, &lc->fcd, &lc->blurred, &dy, dx);
        break;
    case K_CONCAT:
        st = ddgan__concat_backward(ex, &dy, dx, db);
        break;
    case K_AXPBY:
        st = ddgan__axpby_backward(ex, s->ca, s->cb, &dy, dx, db);
        break;
    case K_CHBIAS:
        st = db ? ddgan__add_channel_bias_backward(ex, &dy, db) : DDGAN_OK;
        /* the x path is the identity (no library code): dx (+)= dy, test side */
        if (st == DDGAN_OK && dx) {
            int acc = dx->data != NULL;
            if (!acc)
                assert_int_equal(ddgan__tensor_alloc(ex, dx, dy.n, dy.c, dy.h, dy.w), DDGAN_OK);
            if (!ex->arena->planning)
                for (size_t i = 0; i < ddgan__numel(&dy); i++)
                    nt_set(&lc->e, dx->data, i,
                           (acc ? nt_get(&lc->e, dx->data, i) : 0.0) + nt_get(&lc->e, dy.data, i));
        }
        break;
    case K_SUMPOOL:
        st = dx ? ddgan__sum_pool_backward(ex, &dy, lc->x.h, lc->x.w, dx) : DDGAN_OK;
        break;
    case K_MBSTD:
        st = dx ? ddgan__mbstd_backward(ex, &lc->ms, &dy, dx) : DDGAN_OK;
        break;
    default:
        fail();
    }
    if (st != DDGAN_OK)
        print_error("%s backward: %s\n", kind_name[s->kind], ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
}

static ddgan_tensor fresh_like(const ddgan_tensor *t)
{
    return ddgan__tensor(NULL, t->n, t->c, t->h, t->w);
}

static void assert_same_shape(const ddgan_tensor *a, const ddgan_tensor *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->c, b->c);
    assert_int_equal(a->h, b->h);
    assert_int_equal(a->w, b->w);
}

static void zero_grads(nt_env *e)
{
    for (size_t i = 0; i < e->pt.total; i++)
        nt_set(e, e->grads, i, 0.0);
}

/* Zeroed weight gradients, forward, backward into fresh tensors; host copies. */
static void lc_grads(lcase *lc)
{
    zero_grads(&lc->e);
    lc_forward(lc);
    ddgan_tensor dx = fresh_like(&lc->x), db = fresh_like(&lc->b);
    int hb = has_b(lc->s.kind);
    lc_backward(lc, &dx, hb ? &db : NULL);
    assert_same_shape(&dx, &lc->x);
    free(lc->dx);
    free(lc->db);
    lc->dx = host_copy(&lc->e, &dx);
    lc->db = NULL;
    if (hb) {
        assert_same_shape(&db, &lc->b);
        lc->db = host_copy(&lc->e, &db);
    }
}

static double fd_note(int kind, double w)
{
    worst_fd[kind] = fmax(worst_fd[kind], w);
    return w;
}

/* Finite differences of every input and weight gradient. */
static void lc_fd_all(lcase *lc)
{
    nt_env *e = &lc->e;
    int kind = lc->s.kind;
    lc_grads(lc);
    fd_note(kind, nt_fd_check(e, "dx", lc->x.data, ddgan__numel(&lc->x), lc->dx, lc_loss, lc, FD_H,
                              FD_TOL, FD_MAX_CHECKS));
    if (has_b(kind))
        fd_note(kind, nt_fd_check(e, kind == K_CHBIAS ? "dv" : "db", lc->b.data,
                                  ddgan__numel(&lc->b), lc->db, lc_loss, lc, FD_H, FD_TOL,
                                  FD_MAX_CHECKS));
    for (size_t i = 0; i < e->pt.n; i++) {
        const ddgan_param *p = &e->pt.p[i];
        char *base = (char *)e->params + p->offset * e->ex.dsz;
        char *an = (char *)e->grads + p->offset * e->ex.dsz;
        fd_note(kind, nt_fd_check(e, p->name, base, p->count, an, lc_loss, lc, FD_H, FD_TOL,
                                  FD_MAX_CHECKS));
    }
}

/* |a - 2 b| <= 1e-12 max|b| elementwise */
static void assert_doubled(const nt_env *e, const void *a, const void *b, size_t cnt,
                           const char *what)
{
    double mx = 0.0;
    for (size_t i = 0; i < cnt; i++)
        mx = fmax(mx, fabs(nt_get(e, b, i)));
    for (size_t i = 0; i < cnt; i++) {
        double d = fabs(nt_get(e, a, i) - 2.0 * nt_get(e, b, i));
        if (!(d <= 1e-12 * fmax(mx, 1e-300))) {
            print_error("%s: [%zu] accumulated %.17g, expected 2 x %.17g\n", what, i,
                        nt_get(e, a, i), nt_get(e, b, i));
            fail();
        }
    }
}

/* Gradient conventions: a set dx / db accumulates, weight gradients
 * accumulate, NULL ex->grads skips them, NULL input gradients are allowed. */
static void lc_conventions(lcase *lc)
{
    nt_env *e = &lc->e;
    size_t total = e->pt.total;
    int hb = has_b(lc->s.kind);
    lc_grads(lc);
    double *g1 = malloc(sizeof(double) * (total ? total : 1));
    assert_non_null(g1);
    for (size_t i = 0; i < total; i++)
        g1[i] = nt_get(e, e->grads, i);
    size_t nx = ddgan__numel(&lc->x), nb = hb ? ddgan__numel(&lc->b) : 0;

    /* accumulate */
    lc_forward(lc);
    ddgan_tensor dx, db;
    assert_int_equal(ddgan__tensor_alloc(&e->ex, &dx, lc->x.n, lc->x.c, lc->x.h, lc->x.w),
                     DDGAN_OK);
    memcpy(dx.data, lc->dx, nx * e->ex.dsz);
    if (hb) {
        assert_int_equal(ddgan__tensor_alloc(&e->ex, &db, lc->b.n, lc->b.c, lc->b.h, lc->b.w),
                         DDGAN_OK);
        memcpy(db.data, lc->db, nb * e->ex.dsz);
    }
    lc_backward(lc, &dx, hb ? &db : NULL);
    assert_doubled(e, dx.data, lc->dx, nx, "accumulated dx");
    if (hb)
        assert_doubled(e, db.data, lc->db, nb, "accumulated db");
    for (size_t i = 0; i < total; i++)
        assert_true(fabs(nt_get(e, e->grads, i) - 2.0 * g1[i]) <= 1e-12 * (1.0 + fabs(g1[i])));

    /* frozen: no weight gradient written, input gradients unchanged */
    zero_grads(e);
    e->ex.grads = NULL;
    lc_forward(lc);
    ddgan_tensor dx2 = fresh_like(&lc->x), db2 = fresh_like(&lc->b);
    lc_backward(lc, &dx2, hb ? &db2 : NULL);
    assert_memory_equal(dx2.data, lc->dx, nx * e->ex.dsz);
    if (hb)
        assert_memory_equal(db2.data, lc->db, nb * e->ex.dsz);
    for (size_t i = 0; i < total; i++)
        assert_true(nt_get(e, e->grads, i) == 0.0);
    e->ex.grads = e->grads;

    /* weight gradients only */
    if (total && lc->s.kind != K_ACT) {
        lc_forward(lc);
        lc_backward(lc, NULL, NULL);
        for (size_t i = 0; i < total; i++)
            assert_true(nt_get(e, e->grads, i) == g1[i]);
    }
    free(g1);
}

/* ------------------------------------------------------------------------ */
/* Naive float64 forwards from the reference formulas. */

static double at4(const double *t, int c, int h, int w, int in, int ic, int iy, int ix)
{
    return t[(((size_t)in * c + ic) * h + iy) * w + ix];
}

/* cross-correlation with zero padding (top, left) and output size ho x wo */
static void naive_conv(const double *x, int n, int ci, int h, int w, const double *wt,
                       const double *bias, int co, int k, int stride, int pt, int pl, int ho,
                       int wo, double *y)
{
    for (int in = 0; in < n; in++)
        for (int o = 0; o < co; o++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double acc = bias ? bias[o] : 0.0;
                    for (int ic = 0; ic < ci; ic++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * stride + ky - pt, ix = ox * stride + kx - pl;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                    continue;
                                acc += wt[(((size_t)o * ci + ic) * k + ky) * k + kx] *
                                       at4(x, ci, h, w, in, ic, iy, ix);
                            }
                    y[(((size_t)in * co + o) * ho + oy) * wo + ox] = acc;
                }
}

/* upfirdn2d per 2.2.7: zero insertion, pads, true convolution with
 * outer(k, k) / sum^2 * gain, keep every down-th sample */
static void naive_upfirdn(const double *x, int n, int c, int h, int w, const double *k, int taps,
                          int up, int down, int p0, int p1, double gain, double *y, int *ho_out,
                          int *wo_out)
{
    double sum = 0.0;
    for (int t = 0; t < taps; t++)
        sum += k[t];
    int hp = h * up + p0 + p1, wp = w * up + p0 + p1;
    int ho = (hp - taps) / down + 1, wo = (wp - taps) / down + 1;
    for (int i = 0; i < n * c; i++)
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                double acc = 0.0;
                for (int ty = 0; ty < taps; ty++)
                    for (int tx = 0; tx < taps; tx++) {
                        /* padded position; conv: kernel index reversed */
                        int py = oy * down + ty - p0, px = ox * down + tx - p0;
                        if (py < 0 || px < 0 || py % up || px % up)
                            continue;
                        int iy = py / up, ix = px / up;
                        if (iy >= h || ix >= w)
                            continue;
                        acc += x[((size_t)i * h + iy) * w + ix] * k[taps - 1 - ty] *
                               k[taps - 1 - tx];
                    }
                y[((size_t)i * ho + oy) * wo + ox] = acc * gain / (sum * sum);
            }
    *ho_out = ho;
    *wo_out = wo;
}

/* one axis of the 2.2.7 closed forms, zero outside */
static double tap(const double *v, int len, int stride, int i)
{
    return i < 0 || i >= len ? 0.0 : v[(size_t)i * stride];
}

/* Separable application of a 1-D map `f` over H then W of each plane. */
typedef void (*axis_fn)(const double *in, int len, int stride, double *out, int out_stride);

static void up_axis(const double *x, int len, int s, double *y, int os)
{
    for (int i = 0; i < len; i++) {
        y[(size_t)(2 * i) * os] = 0.25 * tap(x, len, s, i - 1) + 0.75 * tap(x, len, s, i);
        y[(size_t)(2 * i + 1) * os] = 0.75 * tap(x, len, s, i) + 0.25 * tap(x, len, s, i + 1);
    }
}
static void down_axis(const double *x, int len, int s, double *y, int os)
{
    for (int i = 0; i < len / 2; i++)
        y[(size_t)i * os] = (tap(x, len, s, 2 * i - 1) + 3 * tap(x, len, s, 2 * i) +
                             3 * tap(x, len, s, 2 * i + 1) + tap(x, len, s, 2 * i + 2)) /
                            8.0;
}
/* conv-downsample blur: b[n] = (x[n-2] + 3x[n-1] + 3x[n] + x[n+1]) / 8, n = 0..len */
static void blur_axis(const double *x, int len, int s, double *y, int os)
{
    for (int i = 0; i <= len; i++)
        y[(size_t)i * os] = (tap(x, len, s, i - 2) + 3 * tap(x, len, s, i - 1) +
                             3 * tap(x, len, s, i) + tap(x, len, s, i + 1)) /
                            8.0;
}

/* planes [np, h, w] -> [np, ho, wo] with f along H, then W */
static void separable(const double *x, int np, int h, int w, axis_fn f, int ho, int wo, double *y)
{
    double *t = malloc(sizeof(double) * (size_t)ho * w);
    assert_non_null(t);
    for (int p = 0; p < np; p++) {
        const double *xp = x + (size_t)p * h * w;
        for (int ix = 0; ix < w; ix++)
            f(xp + ix, h, w, t + ix, w);
        for (int oy = 0; oy < ho; oy++)
            f(t + (size_t)oy * w, w, 1, y + ((size_t)p * ho + oy) * wo, 1);
    }
    free(t);
}

/* minibatch std per reference 3.6: x [B, C, H, W] -> y [B, C+1, H, W] */
static void naive_mbstd(const double *x, int B, int C, int H, int W, double *y)
{
    int G = B < 4 ? B : 4, M = B / G;
    size_t K = (size_t)C * H * W;
    for (int m = 0; m < M; m++) {
        double s = 0.0;
        for (size_t k = 0; k < K; k++) {
            double mu = 0.0;
            for (int gi = 0; gi < G; gi++)
                mu += x[(size_t)(gi * M + m) * K + k];
            mu /= G;
            double var = 0.0;
            for (int gi = 0; gi < G; gi++) {
                double d = x[(size_t)(gi * M + m) * K + k] - mu;
                var += d * d;
            }
            var /= G;
            s += sqrt(var + 1e-8);
        }
        s /= (double)K;
        for (int b = 0; b < B; b++) {
            if (b % M != m)
                continue;
            double *yb = y + (size_t)b * (K + (size_t)H * W);
            memcpy(yb, x + (size_t)b * K, K * sizeof(double));
            for (int p = 0; p < H * W; p++)
                yb[K + p] = s;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* 1. finite differences of every gradient (float64) */

static void run_fd(const lspec *s)
{
    lcase lc;
    lc_setup(&lc, DDGAN_DT_F64, s);
    lc_fd_all(&lc);
    lc_conventions(&lc);
    lc_free(&lc);
}

static const lspec *conv_specs(size_t *count)
{
    static lspec specs[8];
    specs[0] = conv_spec(2, 3, 7, 5, 4, 3, 1, 1, 0, 1); /* 3x3 pad 1, odd sizes */
    specs[1] = conv_spec(2, 5, 7, 5, 2, 1, 1, 0, 0, 1); /* 1x1 */
    specs[2] = conv_spec(2, 3, 7, 5, 4, 3, 2, 0, 0, 1); /* 3x3 stride 2 pad 0 */
    specs[3] = conv_spec(1, 2, 7, 5, 3, 3, 2, 0, 1, 1); /* pads (0,0,1,1), stride 2, batch 1 */
    specs[4] = conv_spec(1, 3, 8, 6, 2, 3, 2, 0, 1, 1); /* pads (0,0,1,1), even size */
    specs[5] = conv_spec(1, 4, 5, 5, 4, 3, 1, 1, 0, 0); /* batch 1, no bias */
    specs[6] = conv_spec(3, 2, 4, 6, 5, 3, 2, 1, 0, 1); /* stride 2 pad 1 */
    *count = 7;
    return specs;
}

static void test_conv_fd(void **state)
{
    (void)state;
    size_t n;
    const lspec *s = conv_specs(&n);
    for (size_t i = 0; i < n; i++)
        run_fd(&s[i]);
}

static void test_dense_fd(void **state)
{
    (void)state;
    lspec s = dense_spec(3, 6, 1, 1, 5, 1);
    run_fd(&s);
    s = dense_spec(2, 3, 2, 1, 4, 1); /* features from c*h*w */
    run_fd(&s);
    s = dense_spec(1, 7, 1, 1, 3, 0); /* batch 1, no bias */
    run_fd(&s);
}

static void test_act_fd(void **state)
{
    (void)state;
    const ddgan_act acts[5] = {DDGAN_ACT_SILU, DDGAN_ACT_LRELU, DDGAN_ACT_TANH, DDGAN_ACT_SOFTPLUS,
                               DDGAN_ACT_SIGMOID};
    for (int i = 0; i < 5; i++) {
        lspec s = act_spec(acts[i], acts[i] == DDGAN_ACT_LRELU ? 0.2 : 0.0);
        run_fd(&s);
    }
}

static void test_fir_fd(void **state)
{
    (void)state;
    lspec s = plain_spec(K_FIR_UP, 2, 2, 3, 5);
    run_fd(&s);
    s = plain_spec(K_FIR_DOWN, 2, 2, 6, 4);
    run_fd(&s);
    s = plain_spec(K_FIR_DOWN, 1, 1, 2, 2);
    run_fd(&s);
    s = plain_spec(K_FIR_CDOWN, 2, 2, 8, 8);
    s.c_out = 3;
    run_fd(&s);
    s = plain_spec(K_FIR_CDOWN, 1, 3, 6, 4);
    s.c_out = 2;
    run_fd(&s);
}

static void test_combine_fd(void **state)
{
    (void)state;
    lspec s = plain_spec(K_CONCAT, 2, 3, 4, 5);
    s.c2 = 2;
    run_fd(&s);
    s = plain_spec(K_AXPBY, 2, 3, 4, 5);
    s.ca = 0.7;
    s.cb = -1.3;
    run_fd(&s);
    s = plain_spec(K_CHBIAS, 2, 3, 4, 5);
    run_fd(&s);
    s = plain_spec(K_SUMPOOL, 2, 3, 4, 5);
    run_fd(&s);
}

static void test_mbstd_fd(void **state)
{
    (void)state;
    const int batches[4] = {1, 3, 4, 8};
    for (int i = 0; i < 4; i++) {
        lspec s = plain_spec(K_MBSTD, batches[i], 3, 4, 3);
        run_fd(&s);
    }
    lspec s = plain_spec(K_MBSTD, 12, 2, 2, 3); /* three strided statistics */
    run_fd(&s);
}

/* ------------------------------------------------------------------------ */
/* 2. R1 sweep pieces */

/* u over the input and g over the output, kept past the mark */
static void lc_tangents(lcase *lc)
{
    lc_forward(lc);
    int n = lc->y.n, c = lc->y.c, h = lc->y.h, w = lc->y.w;
    ddgan__arena_release(&lc->e.arena, lc->mark);
    if (lc->s.kind == K_ACT)
        lc->u = kink_free_tensor(&lc->e, lc->x.n, lc->x.c, lc->x.h, lc->x.w, 555);
    else
        lc->u = nt_rand_tensor(&lc->e, lc->x.n, lc->x.c, lc->x.h, lc->x.w, 555, -1.0, 1.0);
    lc->g = nt_proj_tensor(&lc->e, n, c, h, w, lc->gseed);
    lc->mark = ddgan__arena_mark(&lc->e.arena);
}

/* out = J(x) u after lc_forward: the layer's _jvp, the backward with dy = u
 * for pointwise activations, or the forward of u for linear parameter-free
 * layers */
static void lc_jvp(lcase *lc, ddgan_tensor *out)
{
    ddgan_exec *ex = &lc->e.ex;
    const lspec *s = &lc->s;
    ddgan_status_t st = DDGAN_ERR_INTERNAL;
    *out = fresh_like(&lc->u);
    switch (s->kind) {
    case K_CONV:
        st = ddgan__conv_jvp(ex, &lc->conv, &lc->u, out);
        break;
    case K_DENSE:
        st = ddgan__dense_jvp(ex, &lc->dense, &lc->u, out);
        break;
    case K_MBSTD:
        st = ddgan__mbstd_jvp(ex, &lc->ms, &lc->u, out);
        break;
    case K_ACT:
        st = ddgan__act_backward(ex, s->act, s->alpha, &lc->x, &lc->y, &lc->u, out);
        break;
    case K_FIR_UP:
        st = ddgan__fir_up_forward(ex, &lc->fir, &lc->u, out);
        break;
    case K_FIR_DOWN:
        st = ddgan__fir_down_forward(ex, &lc->fir, &lc->u, out);
        break;
    case K_SUMPOOL:
        st = ddgan__sum_pool_forward(ex, &lc->u, out);
        break;
    default:
        fail();
    }
    if (st != DDGAN_OK)
        print_error("%s jvp: %s\n", kind_name[s->kind], ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
}

/* J(x) u against (f(x + h u) - f(x - h u)) / 2h */
static void check_jvp(const lspec *s)
{
    lcase lc;
    lc_setup(&lc, DDGAN_DT_F64, s);
    nt_env *e = &lc.e;
    lc_tangents(&lc);
    lc_forward(&lc);
    ddgan_tensor out;
    lc_jvp(&lc, &out);
    assert_int_equal(ddgan__numel(&out), ddgan__numel(&lc.y));
    size_t ny = ddgan__numel(&out), nx = ddgan__numel(&lc.x);
    double *an = host_copy(e, &out);
    double *x0 = host_copy(e, &lc.x);
    double *yp = malloc(sizeof(double) * ny);
    assert_non_null(yp);
    for (size_t i = 0; i < nx; i++)
        nt_set(e, lc.x.data, i, x0[i] + FD_H * nt_get(e, lc.u.data, i));
    lc_forward(&lc);
    memcpy(yp, lc.y.data, ny * sizeof(double));
    for (size_t i = 0; i < nx; i++)
        nt_set(e, lc.x.data, i, x0[i] - FD_H * nt_get(e, lc.u.data, i));
    lc_forward(&lc);
    memcpy(lc.x.data, x0, nx * sizeof(double));
    double mx = 0.0, err = 0.0;
    size_t worst = 0;
    for (size_t i = 0; i < ny; i++)
        mx = fmax(mx, fabs(an[i]));
    for (size_t i = 0; i < ny; i++) {
        double fd = (yp[i] - nt_get(e, lc.y.data, i)) / (2.0 * FD_H);
        double d = fabs(fd - an[i]) / fmax(mx, 1e-30);
        if (d > err || isnan(d)) {
            err = isnan(d) ? INFINITY : d;
            worst = i;
        }
    }
    print_message("    jvp %-14s [%d,%d,%d,%d] worst rel err %.2e\n", kind_name[s->kind], s->n,
                  s->c, s->h, s->w, err);
    worst_jvp[s->kind] = fmax(worst_jvp[s->kind], err);
    if (!(err <= FD_TOL)) {
        print_error("%s jvp: [%zu] analytic %.12g vs directional difference %.12g\n",
                    kind_name[s->kind], worst, an[worst],
                    (yp[worst] - nt_get(e, lc.y.data, worst)) / (2.0 * FD_H));
        fail();
    }
    free(an);
    free(x0);
    free(yp);
    lc_free(&lc);
}

static void test_jvp(void **state)
{
    (void)state;
    size_t n;
    const lspec *cs = conv_specs(&n);
    for (size_t i = 0; i < n; i++)
        check_jvp(&cs[i]);
    lspec s = dense_spec(3, 6, 1, 1, 5, 1);
    check_jvp(&s);
    s = dense_spec(2, 3, 2, 1, 4, 0);
    check_jvp(&s);
    s = plain_spec(K_FIR_DOWN, 2, 2, 6, 4);
    check_jvp(&s);
    s = plain_spec(K_FIR_UP, 2, 2, 3, 5);
    check_jvp(&s);
    s = plain_spec(K_SUMPOOL, 2, 3, 4, 5);
    check_jvp(&s);
    const int batches[5] = {1, 3, 4, 8, 12};
    for (int i = 0; i < 5; i++) {
        s = plain_spec(K_MBSTD, batches[i], 3, 4, 3);
        check_jvp(&s);
    }
    /* pointwise activations: the JVP is the backward applied to u */
    const ddgan_act acts[5] = {DDGAN_ACT_LRELU, DDGAN_ACT_SILU, DDGAN_ACT_TANH, DDGAN_ACT_SOFTPLUS,
                               DDGAN_ACT_SIGMOID};
    for (int i = 0; i < 5; i++) {
        s = act_spec(acts[i], acts[i] == DDGAN_ACT_LRELU ? 0.2 : 0.0);
        check_jvp(&s);
    }
}

/* theta -> <J(theta) u, g> (r1_wgrad) or x -> <J(x) u, g> (hvp) */
static double lc_r1_loss(void *user)
{
    lcase *lc = user;
    lc_forward(lc);
    ddgan_tensor out;
    lc_jvp(lc, &out);
    return nt_project(&lc->e, &out, lc->gseed);
}

static ddgan_status_t lc_r1_wgrad(lcase *lc)
{
    ddgan__arena_release(&lc->e.arena, lc->mark);
    if (lc->s.kind == K_CONV)
        return ddgan__conv_r1_wgrad(&lc->e.ex, &lc->conv, &lc->u, &lc->g);
    return ddgan__dense_r1_wgrad(&lc->e.ex, &lc->dense, &lc->u, &lc->g);
}

static void check_r1_wgrad(const lspec *s)
{
    lcase lc;
    lc_setup(&lc, DDGAN_DT_F64, s);
    nt_env *e = &lc.e;
    lc_tangents(&lc);
    zero_grads(e);
    assert_int_equal(lc_r1_wgrad(&lc), DDGAN_OK);
    size_t total = e->pt.total;
    double *g1 = malloc(sizeof(double) * total);
    assert_non_null(g1);
    memcpy(g1, e->grads, sizeof(double) * total);
    const ddgan_param *w = &e->pt.p[0];
    assert_non_null(strstr(w->name, ".weight"));
    double err = nt_fd_check(e, "r1_wgrad weight", (double *)e->params + w->offset, w->count,
                             g1 + w->offset, lc_r1_loss, &lc, FD_H, FD_TOL, FD_MAX_CHECKS);
    worst_r1[s->kind] = fmax(worst_r1[s->kind], err);
    /* the bias is not in J: its gradient stays untouched */
    for (size_t i = 1; i < e->pt.n; i++) {
        const ddgan_param *b = &e->pt.p[i];
        for (size_t j = 0; j < b->count; j++)
            assert_true(g1[b->offset + j] == 0.0);
    }
    /* it adds */
    assert_int_equal(lc_r1_wgrad(&lc), DDGAN_OK);
    assert_doubled(e, e->grads, g1, total, "r1_wgrad accumulation");
    /* frozen: nothing */
    zero_grads(e);
    e->ex.grads = NULL;
    assert_int_equal(lc_r1_wgrad(&lc), DDGAN_OK);
    e->ex.grads = e->grads;
    for (size_t i = 0; i < total; i++)
        assert_true(((double *)e->grads)[i] == 0.0);
    free(g1);
    lc_free(&lc);
}

static void test_r1_wgrad(void **state)
{
    (void)state;
    size_t n;
    const lspec *cs = conv_specs(&n);
    for (size_t i = 0; i < n; i++)
        check_r1_wgrad(&cs[i]);
    lspec s = dense_spec(3, 6, 1, 1, 5, 1);
    check_r1_wgrad(&s);
    s = dense_spec(2, 3, 2, 1, 4, 1);
    check_r1_wgrad(&s);
    s = dense_spec(1, 7, 1, 1, 3, 0);
    check_r1_wgrad(&s);
}

static void check_mbstd_hvp(int batch, int c, int h, int w)
{
    lspec s = plain_spec(K_MBSTD, batch, c, h, w);
    lcase lc;
    lc_setup(&lc, DDGAN_DT_F64, &s);
    nt_env *e = &lc.e;
    lc_tangents(&lc);
    lc_forward(&lc);
    ddgan_tensor a = fresh_like(&lc.x);
    assert_int_equal(ddgan__mbstd_hvp(&e->ex, &lc.ms, &lc.u, &lc.g, &a), DDGAN_OK);
    assert_same_shape(&a, &lc.x);
    double *an = host_copy(e, &a);
    size_t nx = ddgan__numel(&lc.x);
    char what[64];
    snprintf(what, sizeof what, "mbstd hvp batch %d", batch);
    double err = nt_fd_check(e, what, lc.x.data, nx, an, lc_r1_loss, &lc, FD_H, FD_TOL,
                             FD_MAX_CHECKS);
    worst_r1[K_MBSTD] = fmax(worst_r1[K_MBSTD], err);
    /* it adds */
    lc_forward(&lc);
    ddgan_tensor a2;
    assert_int_equal(ddgan__tensor_alloc(&e->ex, &a2, lc.x.n, lc.x.c, lc.x.h, lc.x.w), DDGAN_OK);
    memcpy(a2.data, an, nx * sizeof(double));
    assert_int_equal(ddgan__mbstd_hvp(&e->ex, &lc.ms, &lc.u, &lc.g, &a2), DDGAN_OK);
    assert_doubled(e, a2.data, an, nx, "mbstd hvp accumulation");
    free(an);
    lc_free(&lc);
}

static void test_mbstd_hvp(void **state)
{
    (void)state;
    check_mbstd_hvp(3, 3, 4, 3);
    check_mbstd_hvp(4, 3, 4, 3);
    check_mbstd_hvp(8, 3, 4, 3);
    check_mbstd_hvp(12, 2, 3, 2);
    /* (batch 2 is left out: with two examples sigma = sqrt(d^2 + 1e-8) ~ |d|,
     * the exact second-order term is O(1e-8 / |d|^3) and float64 central
     * differences cannot resolve it to 1e-6) */
}

/* LeakyReLU: the second-order term of <lrelu'(x) u, g> is zero away from the kink */
static void test_lrelu_second_order(void **state)
{
    (void)state;
    lspec s = act_spec(DDGAN_ACT_LRELU, 0.2);
    lcase lc;
    lc_setup(&lc, DDGAN_DT_F64, &s);
    nt_env *e = &lc.e;
    lc_tangents(&lc);
    size_t nx = ddgan__numel(&lc.x);
    double mx = 0.0, base = lc_r1_loss(&lc);
    assert_true(fabs(base) > 0.0);
    for (size_t i = 0; i < nx; i++) {
        double x0 = nt_get(e, lc.x.data, i);
        nt_set(e, lc.x.data, i, x0 + FD_H);
        double lp = lc_r1_loss(&lc);
        nt_set(e, lc.x.data, i, x0 - FD_H);
        double lm = lc_r1_loss(&lc);
        nt_set(e, lc.x.data, i, x0);
        mx = fmax(mx, fabs((lp - lm) / (2.0 * FD_H)));
    }
    print_message("    lrelu second order: max |fd| %.2e over %zu inputs (zero expected)\n", mx,
                  nx);
    worst_r1[K_ACT] = fmax(worst_r1[K_ACT], mx);
    assert_true(mx == 0.0);
    lc_free(&lc);
}

/* ------------------------------------------------------------------------ */
/* 3. forward values against naive code */

static void check_close(const double *got, const double *ref, size_t n, double tol,
                        const char *what)
{
    tu_assert_allclose_f64(got, ref, n, tol, tol, what);
}

static void test_conv_dense_naive(void **state)
{
    (void)state;
    size_t n;
    const lspec *cs = conv_specs(&n);
    for (size_t i = 0; i < n; i++) {
        lcase lc;
        lc_setup(&lc, DDGAN_DT_F64, &cs[i]);
        lc_forward(&lc);
        const lspec *s = &cs[i];
        int pb = s->asym ? 1 : s->pad, pt = s->asym ? 0 : s->pad;
        int ho = (s->h + pt + pb - s->k) / s->stride + 1;
        int wo = (s->w + pt + pb - s->k) / s->stride + 1;
        assert_int_equal(lc.y.n, s->n);
        assert_int_equal(lc.y.c, s->c_out);
        assert_int_equal(lc.y.h, ho);
        assert_int_equal(lc.y.w, wo);
        double *ref = malloc(sizeof(double) * ddgan__numel(&lc.y));
        assert_non_null(ref);
        const double *prm = lc.e.params;
        naive_conv(lc.x.data, s->n, s->c, s->h, s->w, prm + lc.conv.w_off,
                   s->has_bias ? prm + lc.conv.b_off : NULL, s->c_out, s->k, s->stride, pt, pt, ho,
                   wo, ref);
        check_close(lc.y.data, ref, ddgan__numel(&lc.y), 1e-13, "conv forward vs naive");
        free(ref);
        lc_free(&lc);
    }
    lspec ds[2] = {dense_spec(3, 6, 1, 1, 5, 1), dense_spec(2, 3, 2, 1, 4, 0)};
    for (int i = 0; i < 2; i++) {
        lcase lc;
        lc_setup(&lc, DDGAN_DT_F64, &ds[i]);
        lc_forward(&lc);
        int in = ds[i].c * ds[i].h * ds[i].w, out = ds[i].c_out;
        assert_int_equal(lc.y.c, out);
        double ref[64];
        const double *x = lc.x.data, *W = (const double *)lc.e.params + lc.dense.w_off;
        const double *b = (const double *)lc.e.params + lc.dense.b_off;
        for (int r = 0; r < ds[i].n; r++)
            for (int o = 0; o < out; o++) {
                double acc = ds[i].has_bias ? b[o] : 0.0;
                for (int k = 0; k < in; k++)
                    acc += W[o * in + k] * x[r * in + k];
                ref[r * out + o] = acc;
            }
        check_close(lc.y.data, ref, ddgan__numel(&lc.y), 1e-13, "dense forward vs naive");
        lc_free(&lc);
    }
}

static void fir_case(nt_env *e, const ddgan_fir *f, int up, int n, int c, int h, int w,
                     const double *kernel, int taps, int use_closed_form)
{
    ddgan__arena_reset(&e->arena);
    ddgan_tensor x = nt_rand_tensor(e, n, c, h, w, 31 + (uint64_t)h, -2.0, 2.0), y;
    if (up)
        assert_int_equal(ddgan__fir_up_forward(&e->ex, f, &x, &y), DDGAN_OK);
    else
        assert_int_equal(ddgan__fir_down_forward(&e->ex, f, &x, &y), DDGAN_OK);
    int ho = up ? 2 * h : h / 2, wo = up ? 2 * w : w / 2;
    assert_int_equal(y.n, n);
    assert_int_equal(y.c, c);
    assert_int_equal(y.h, ho);
    assert_int_equal(y.w, wo);
    size_t cnt = ddgan__numel(&y);
    double *ref = malloc(sizeof(double) * cnt);
    assert_non_null(ref);
    if (use_closed_form) {
        separable(x.data, n * c, h, w, up ? up_axis : down_axis, ho, wo, ref);
        check_close(y.data, ref, cnt, 1e-14, up ? "fir up closed form" : "fir down closed form");
    }
    int p = taps - 2, h2 = 0, w2 = 0;
    naive_upfirdn(x.data, n, c, h, w, kernel, taps, up ? 2 : 1, up ? 1 : 2,
                  up ? (p + 1) / 2 + 1 : (p + 1) / 2, p / 2, up ? 4.0 : 1.0, ref, &h2, &w2);
    assert_int_equal(h2, ho);
    assert_int_equal(w2, wo);
    check_close(y.data, ref, cnt, 1e-14,
                up ? "fir up vs naive upfirdn2d" : "fir down vs naive upfirdn2d");
    free(ref);
}

static void test_fir_naive(void **state)
{
    (void)state;
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F64, 1, ARENA_MB);
    ddgan_fir f;
    assert_int_equal(ddgan__fir_init(&f, k1331, 4), DDGAN_OK);
    /* constant 1, 4x4 -> 2x2: 7/8 per axis at every border */
    ddgan_tensor one, y;
    assert_int_equal(ddgan__tensor_alloc(&e.ex, &one, 1, 1, 4, 4), DDGAN_OK);
    for (int i = 0; i < 16; i++)
        nt_set(&e, one.data, (size_t)i, 1.0);
    assert_int_equal(ddgan__fir_down_forward(&e.ex, &f, &one, &y), DDGAN_OK);
    assert_int_equal(y.h, 2);
    assert_int_equal(y.w, 2);
    for (int i = 0; i < 4; i++)
        assert_true(fabs(nt_get(&e, y.data, (size_t)i) - 0.765625) <= 1e-15);
    /* constant 1 upsampled: 0.75 * 0.75 in the output corners, 1 inside */
    assert_int_equal(ddgan__fir_up_forward(&e.ex, &f, &one, &y), DDGAN_OK);
    assert_int_equal(y.h, 8);
    assert_true(fabs(nt_get(&e, y.data, 0) - 0.5625) <= 1e-15);
    assert_true(fabs(nt_get(&e, y.data, 9) - 1.0) <= 1e-15);

    fir_case(&e, &f, 1, 2, 2, 3, 5, k1331, 4, 1);
    fir_case(&e, &f, 1, 1, 1, 1, 1, k1331, 4, 1);
    fir_case(&e, &f, 0, 2, 2, 6, 4, k1331, 4, 1);
    fir_case(&e, &f, 0, 1, 3, 8, 2, k1331, 4, 1);
    /* an asymmetric kernel: upfirdn2d convolves (2.2.7 step 3) */
    const double k4[4] = {1, 2, 3, 4};
    ddgan_fir fa;
    assert_int_equal(ddgan__fir_init(&fa, k4, 4), DDGAN_OK);
    fir_case(&e, &fa, 1, 1, 2, 3, 4, k4, 4, 0);
    fir_case(&e, &fa, 0, 1, 2, 6, 4, k4, 4, 0);
    const double k2[2] = {1, 3};
    assert_int_equal(ddgan__fir_init(&fa, k2, 2), DDGAN_OK);
    fir_case(&e, &fa, 1, 1, 2, 3, 4, k2, 2, 0);
    fir_case(&e, &fa, 0, 1, 2, 6, 4, k2, 2, 0);
    nt_env_free(&e);

    /* the same constant image in float32 */
    nt_env_init(&e, DDGAN_DT_F32, 1, ARENA_MB);
    assert_int_equal(ddgan__tensor_alloc(&e.ex, &one, 1, 1, 4, 4), DDGAN_OK);
    for (int i = 0; i < 16; i++)
        nt_set(&e, one.data, (size_t)i, 1.0);
    assert_int_equal(ddgan__fir_down_forward(&e.ex, &f, &one, &y), DDGAN_OK);
    for (int i = 0; i < 4; i++)
        assert_true(fabs(nt_get(&e, y.data, (size_t)i) - 0.765625) <= 1e-7);
    nt_env_free(&e);
}

static void conv_down_case(int n, int c, int h, int w, int c_out)
{
    lspec s = plain_spec(K_FIR_CDOWN, n, c, h, w);
    s.c_out = c_out;
    lcase lc;
    lc_setup(&lc, DDGAN_DT_F64, &s);
    lc_forward(&lc);
    assert_int_equal(lc.y.n, n);
    assert_int_equal(lc.y.c, c_out);
    assert_int_equal(lc.y.h, h / 2);
    assert_int_equal(lc.y.w, w / 2);
    assert_int_equal(lc.blurred.h, h + 1);
    assert_int_equal(lc.blurred.w, w + 1);
    size_t nb = (size_t)n * c * (h + 1) * (w + 1);
    double *blur = malloc(sizeof(double) * nb);
    double *ref = malloc(sizeof(double) * ddgan__numel(&lc.y));
    assert_true(blur && ref);
    separable(lc.x.data, n * c, h, w, blur_axis, h + 1, w + 1, blur);
    check_close(lc.blurred.data, blur, nb, 1e-14, "conv-down blur");
    const double *prm = lc.e.params;
    naive_conv(blur, n, c, h + 1, w + 1, prm + lc.fcd.conv.w_off, prm + lc.fcd.conv.b_off, c_out, 3,
               2, 0, 0, h / 2, w / 2, ref);
    check_close(lc.y.data, ref, ddgan__numel(&lc.y), 1e-13, "conv-down vs blur + strided conv");
    free(blur);
    free(ref);
    lc_free(&lc);
}

static void test_conv_down_naive(void **state)
{
    (void)state;
    conv_down_case(2, 2, 8, 8, 3);
    conv_down_case(1, 3, 16, 16, 2);
    conv_down_case(1, 1, 8, 16, 2);
}

static void test_mbstd_naive(void **state)
{
    (void)state;
    const int batches[6] = {1, 2, 3, 4, 8, 12};
    for (int i = 0; i < 6; i++) {
        for (int dti = 0; dti < 2; dti++) {
            lspec s = plain_spec(K_MBSTD, batches[i], 3, 4, 3);
            lcase lc;
            lc_setup(&lc, dti ? DDGAN_DT_F32 : DDGAN_DT_F64, &s);
            lc_forward(&lc);
            assert_int_equal(lc.y.c, 4);
            size_t nx = ddgan__numel(&lc.x), ny = ddgan__numel(&lc.y);
            double *x = malloc(sizeof(double) * nx), *ref = malloc(sizeof(double) * ny),
                   *got = malloc(sizeof(double) * ny);
            assert_true(x && ref && got);
            for (size_t j = 0; j < nx; j++)
                x[j] = nt_get(&lc.e, lc.x.data, j);
            for (size_t j = 0; j < ny; j++)
                got[j] = nt_get(&lc.e, lc.y.data, j);
            naive_mbstd(x, s.n, s.c, s.h, s.w, ref);
            check_close(got, ref, ny, dti ? 2e-6 : 1e-13, "minibatch std vs 3.6");
            if (batches[i] == 1) /* one example: sqrt(1e-8) */
                assert_true(fabs(got[ny - 1] - 1e-4) <= (dti ? 1e-10 : 1e-18));
            assert_int_equal(lc.ms.groups, batches[i] < 4 ? batches[i] : 4);
            assert_int_equal(lc.ms.stats, batches[i] < 4 ? 1 : batches[i] / 4);
            free(x);
            free(ref);
            free(got);
            lc_free(&lc);
        }
    }
}

static void temb_case(ddgan_dtype dt, int dim)
{
    nt_env e;
    nt_env_init(&e, dt, 1, ARENA_MB);
    ddgan_temb tb;
    const int64_t t[4] = {0, 3, 1, 2};
    assert_int_equal(ddgan__temb_init(&tb, dim, 4, dt), DDGAN_OK);
    ddgan_tensor y;
    assert_int_equal(ddgan__temb_forward(&e.ex, &tb, t, 4, &y), DDGAN_OK);
    assert_int_equal(y.n, 4);
    assert_int_equal(y.c, dim);
    assert_int_equal(y.h, 1);
    assert_int_equal(y.w, 1);
    int half = dim / 2;
    double worst = 0.0;
    for (int b = 0; b < 4; b++)
        for (int j = 0; j < dim; j++) {
            double ref;
            if (j >= 2 * half)
                ref = 0.0;
            else {
                int k = j % half;
                double om = exp(-(double)k * log(10000.0) / (double)(half - 1));
                ref = j < half ? sin((double)t[b] * om) : cos((double)t[b] * om);
            }
            double got = nt_get(&e, y.data, (size_t)b * dim + (size_t)j);
            if (t[b] == 0 || j >= 2 * half) /* [0..0, 1..1 (, 0)] exactly */
                assert_true(got == ref);
            worst = fmax(worst, fabs(got - ref));
        }
    print_message("    temb %s d=%d: max |err| %.2e\n", dt == DDGAN_DT_F64 ? "f64" : "f32", dim,
                  worst);
    assert_true(worst <= (dt == DDGAN_DT_F64 ? 1e-14 : 1e-6));
    /* a smaller batch reuses the scratch; more than planned is refused */
    assert_int_equal(ddgan__temb_forward(&e.ex, &tb, t + 1, 1, &y), DDGAN_OK);
    assert_int_equal(y.n, 1);
    const int64_t t5[5] = {0, 1, 2, 3, 4};
    tu_assert_status(ddgan__temb_forward(&e.ex, &tb, t5, 5, &y), DDGAN_ERR_INTERNAL, "batch 5");
    ddgan__temb_free(&tb);
    nt_env_free(&e);
}

static void test_temb(void **state)
{
    (void)state;
    temb_case(DDGAN_DT_F64, 16);
    temb_case(DDGAN_DT_F64, 17);
    temb_case(DDGAN_DT_F32, 16);
    temb_case(DDGAN_DT_F32, 17);
    temb_case(DDGAN_DT_F32, 4);
}

static void test_combine_naive(void **state)
{
    (void)state;
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F64, 1, ARENA_MB);
    ddgan_exec *ex = &e.ex;
    int n = 2, c = 3, c2 = 2, h = 4, w = 5, hw = h * w;
    ddgan_tensor a = nt_rand_tensor(&e, n, c, h, w, 1, -2, 2);
    ddgan_tensor b = nt_rand_tensor(&e, n, c2, h, w, 2, -2, 2);
    ddgan_tensor a2 = nt_rand_tensor(&e, n, c, h, w, 3, -2, 2);
    ddgan_tensor v = nt_rand_tensor(&e, n, c, 1, 1, 4, -2, 2);
    const double *A = a.data, *B = b.data, *A2 = a2.data, *V = v.data;
    ddgan_tensor y;
    assert_int_equal(ddgan__concat_forward(ex, &a, &b, &y), DDGAN_OK);
    assert_int_equal(y.c, c + c2);
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c + c2; ch++)
            for (int p = 0; p < hw; p++) {
                double ref = ch < c ? A[((size_t)i * c + ch) * hw + p]
                                    : B[((size_t)i * c2 + ch - c) * hw + p];
                assert_true(((double *)y.data)[((size_t)i * (c + c2) + ch) * hw + p] == ref);
            }
    assert_int_equal(ddgan__axpby_forward(ex, 0.5, &a, -2.0, &a2, &y), DDGAN_OK);
    for (int i = 0; i < n * c * hw; i++)
        assert_true(fabs(((double *)y.data)[i] - (0.5 * A[i] - 2.0 * A2[i])) <= 1e-15);
    y = ddgan__tensor(NULL, 0, 0, 0, 0);
    assert_int_equal(ddgan__add_channel_bias(ex, &a, &v, &y), DDGAN_OK);
    assert_true(y.data != a.data);
    double *ref = malloc(sizeof(double) * (size_t)n * c * hw);
    assert_non_null(ref);
    for (int i = 0; i < n * c * hw; i++)
        ref[i] = A[i] + V[i / hw];
    check_close(y.data, ref, (size_t)n * c * hw, 0.0, "channel bias");
    assert_int_equal(ddgan__add_channel_bias(ex, &a, &v, &a), DDGAN_OK); /* in place */
    check_close(a.data, ref, (size_t)n * c * hw, 0.0, "channel bias in place");
    /* concat backward into one side only */
    assert_int_equal(ddgan__concat_forward(ex, &a2, &b, &y), DDGAN_OK);
    ddgan_tensor da = ddgan__tensor(NULL, 0, c, 0, 0), db = ddgan__tensor(NULL, 0, c2, 0, 0);
    assert_int_equal(ddgan__concat_backward(ex, &y, NULL, &db), DDGAN_OK);
    assert_same_shape(&db, &b);
    check_close(db.data, B, ddgan__numel(&b), 0.0, "concat backward, second part only");
    assert_int_equal(ddgan__concat_backward(ex, &y, &da, NULL), DDGAN_OK);
    assert_same_shape(&da, &a2);
    check_close(da.data, A2, ddgan__numel(&a2), 0.0, "concat backward, first part only");
    assert_int_equal(ddgan__sum_pool_forward(ex, &a2, &y), DDGAN_OK);
    assert_int_equal(y.h, 1);
    assert_int_equal(y.w, 1);
    for (int i = 0; i < n * c; i++) {
        double s = 0.0;
        for (int p = 0; p < hw; p++)
            s += A2[(size_t)i * hw + p];
        assert_true(fabs(((double *)y.data)[i] - s) <= 1e-13);
    }
    free(ref);
    nt_env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* 4. float32 vs float64 on identical values */

static double normwise_dev(const nt_env *e32, const void *a32, const nt_env *e64, const void *a64,
                           size_t cnt)
{
    double mx = 0.0, d = 0.0;
    for (size_t i = 0; i < cnt; i++) {
        double r = nt_get(e64, a64, i);
        mx = fmax(mx, fabs(r));
        d = fmax(d, fabs(nt_get(e32, a32, i) - r));
    }
    return d / fmax(mx, 1e-300);
}

static void round_to_f32(nt_env *e32, nt_env *e64, void *b32, void *b64, size_t cnt)
{
    for (size_t i = 0; i < cnt; i++) {
        float v = (float)nt_get(e64, b64, i);
        nt_set(e32, b32, i, (double)v);
        nt_set(e64, b64, i, (double)v);
    }
}

static void check_dev(int kind, const char *what, double dev)
{
    print_message("    f32 vs f64 %-14s %-20s %.2e\n", kind_name[kind], what, dev);
    worst_f32[kind] = fmax(worst_f32[kind], dev);
    if (!(dev <= F32_TOL)) {
        print_error("%s %s: float32 deviates by %.3g (normwise) > %.3g\n", kind_name[kind], what,
                    dev, F32_TOL);
        fail();
    }
}

static void run_f32_case(const lspec *s)
{
    lcase *l64 = malloc(sizeof *l64), *l32 = malloc(sizeof *l32);
    assert_true(l64 && l32);
    lc_setup(l64, DDGAN_DT_F64, s);
    lc_setup(l32, DDGAN_DT_F32, s);
    nt_env *e64 = &l64->e, *e32 = &l32->e;
    assert_int_equal(e64->pt.total, e32->pt.total);
    round_to_f32(e32, e64, e32->params, e64->params, e64->pt.total);
    round_to_f32(e32, e64, l32->x.data, l64->x.data, ddgan__numel(&l64->x));
    lc_grads(l64);
    lc_grads(l32);
    int k = s->kind;
    check_dev(k, "y", normwise_dev(e32, l32->y.data, e64, l64->y.data, ddgan__numel(&l64->y)));
    check_dev(k, "dx", normwise_dev(e32, l32->dx, e64, l64->dx, ddgan__numel(&l64->x)));
    for (size_t i = 0; i < e64->pt.n; i++) {
        const ddgan_param *p = &e64->pt.p[i];
        const char *a32 = (const char *)e32->grads + p->offset * e32->ex.dsz;
        const char *a64 = (const char *)e64->grads + p->offset * e64->ex.dsz;
        check_dev(k, p->name, normwise_dev(e32, a32, e64, a64, p->count));
    }
    if (k == K_MBSTD) {
        /* the JVP and the second-order term too */
        lc_tangents(l64);
        lc_tangents(l32);
        round_to_f32(e32, e64, l32->u.data, l64->u.data, ddgan__numel(&l64->u));
        lcase *both[2] = {l64, l32};
        void *jv[2], *hv[2];
        for (int j = 0; j < 2; j++) {
            lcase *lc = both[j];
            lc_forward(lc);
            ddgan_tensor out, a = fresh_like(&lc->x);
            lc_jvp(lc, &out);
            jv[j] = host_copy(&lc->e, &out);
            assert_int_equal(ddgan__mbstd_hvp(&lc->e.ex, &lc->ms, &lc->u, &lc->g, &a), DDGAN_OK);
            hv[j] = host_copy(&lc->e, &a);
        }
        check_dev(k, "jvp", normwise_dev(e32, jv[1], e64, jv[0], ddgan__numel(&l64->y)));
        check_dev(k, "hvp", normwise_dev(e32, hv[1], e64, hv[0], ddgan__numel(&l64->x)));
        for (int j = 0; j < 2; j++) {
            free(jv[j]);
            free(hv[j]);
        }
    }
    lc_free(l64);
    lc_free(l32);
    free(l64);
    free(l32);
}

static void test_f32_vs_f64(void **state)
{
    (void)state;
    size_t n;
    const lspec *cs = conv_specs(&n);
    for (size_t i = 0; i < n; i++)
        run_f32_case(&cs[i]);
    lspec s = conv_spec(2, 16, 8, 8, 8, 3, 1, 1, 0, 1); /* longer sums */
    run_f32_case(&s);
    s = dense_spec(3, 6, 1, 1, 5, 1);
    run_f32_case(&s);
    s = dense_spec(4, 64, 1, 1, 16, 1);
    run_f32_case(&s);
    const int batches[5] = {1, 3, 4, 8, 12};
    for (int i = 0; i < 5; i++) {
        s = plain_spec(K_MBSTD, batches[i], 3, 4, 3);
        run_f32_case(&s);
    }
}

/* ------------------------------------------------------------------------ */
/* 5. errors */

static void test_errors(void **state)
{
    (void)state;
    tu_assert_status(ddgan__mbstd_check_batch(6, "train"), DDGAN_ERR_INVALID_ARGUMENT, "batch 6");
    tu_assert_status(ddgan__mbstd_check_batch(5, "train"), DDGAN_ERR_INVALID_ARGUMENT, "batch 5");
    tu_assert_status(ddgan__mbstd_check_batch(10, "train"), DDGAN_ERR_INVALID_ARGUMENT, "batch 10");
    tu_assert_status(ddgan__mbstd_check_batch(0, "train"), DDGAN_ERR_INVALID_ARGUMENT, "batch 0");
    const int ok[7] = {1, 2, 3, 4, 8, 12, 64};
    for (int i = 0; i < 7; i++)
        assert_int_equal(ddgan__mbstd_check_batch(ok[i], "train"), DDGAN_OK);

    ddgan_param_table pt;
    ddgan__params_init(&pt);
    ddgan_conv conv;
    tu_assert_status(ddgan__conv_init(&conv, &pt, "bad", 3, 4, 3, 3, 1, 1,
                                      DDGAN_INIT_FAN_AVG_UNIFORM, 1.0),
                     DDGAN_ERR_INVALID_ARGUMENT, "stride 3");
    tu_assert_status(ddgan__conv_init(&conv, &pt, "bad", 0, 4, 3, 1, 1, 1,
                                      DDGAN_INIT_FAN_AVG_UNIFORM, 1.0),
                     DDGAN_ERR_INVALID_ARGUMENT, "c_in 0");
    assert_int_equal(pt.n, 0); /* nothing registered by a refused layer */
    ddgan_dense dense;
    tu_assert_status(ddgan__dense_init(&dense, &pt, "bad", 0, 3, 1, DDGAN_INIT_FAN_AVG_UNIFORM,
                                       1.0),
                     DDGAN_ERR_INVALID_ARGUMENT, "0 -> 3");
    assert_int_equal(pt.n, 0);

    ddgan_fir f;
    tu_assert_status(ddgan__fir_init(&f, k1331, 0), DDGAN_ERR_INVALID_ARGUMENT, "0 taps");
    const double zero_sum[2] = {1.0, -1.0};
    tu_assert_status(ddgan__fir_init(&f, zero_sum, 2), DDGAN_ERR_INVALID_ARGUMENT, "sum to zero");
    const double nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    tu_assert_status(ddgan__fir_init(&f, nine, 9), DDGAN_ERR_INVALID_ARGUMENT, "9 taps");
    const double bad[2] = {1.0, NAN};
    tu_assert_status(ddgan__fir_init(&f, bad, 2), DDGAN_ERR_INVALID_ARGUMENT, "not finite");

    ddgan_temb tb;
    tu_assert_status(ddgan__temb_init(&tb, 2, 4, DDGAN_DT_F32), DDGAN_ERR_INVALID_ARGUMENT,
                     "dim 2");
    ddgan__temb_free(&tb);

    /* layer-level shape errors */
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F64, 1, ARENA_MB);
    assert_int_equal(ddgan__conv_init(&conv, &e.pt, "c", 3, 4, 3, 1, 1, 1,
                                      DDGAN_INIT_FAN_AVG_UNIFORM, 1.0),
                     DDGAN_OK);
    assert_int_equal(ddgan__dense_init(&dense, &e.pt, "d", 6, 2, 1, DDGAN_INIT_FAN_AVG_UNIFORM,
                                       1.0),
                     DDGAN_OK);
    ddgan_conv c3;
    assert_int_equal(ddgan__conv_init(&c3, &e.pt, "c3", 3, 2, 3, 1, 0, 0,
                                      DDGAN_INIT_FAN_AVG_UNIFORM, 1.0),
                     DDGAN_OK);
    nt_env_alloc_params(&e, 1, 0.5);
    ddgan_tensor x = nt_rand_tensor(&e, 1, 2, 5, 5, 1, -1, 1), y, dx = {0};
    tu_assert_status(ddgan__conv_forward(&e.ex, &conv, &x, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "does not fit");
    tu_assert_status(ddgan__conv_backward(&e.ex, &conv, &x, &x, &dx), DDGAN_ERR_INVALID_ARGUMENT,
                     "does not fit");
    tu_assert_status(ddgan__conv_jvp(&e.ex, &conv, &x, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "does not fit");
    ddgan_tensor tiny = nt_rand_tensor(&e, 1, 3, 1, 1, 2, -1, 1);
    tu_assert_status(ddgan__conv_forward(&e.ex, &c3, &tiny, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "does not fit"); /* 1x1 input, 3x3 kernel, no padding */
    tu_assert_status(ddgan__dense_forward(&e.ex, &dense, &x, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "features");
    ddgan_fir fir;
    assert_int_equal(ddgan__fir_init(&fir, k1331, 4), DDGAN_OK);
    ddgan_tensor odd = nt_rand_tensor(&e, 1, 1, 5, 4, 3, -1, 1);
    tu_assert_status(ddgan__fir_down_forward(&e.ex, &fir, &odd, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "odd size 5x4");
    ddgan_tensor six = nt_rand_tensor(&e, 6, 1, 2, 2, 4, -1, 1);
    ddgan_mbstd_saved ms;
    tu_assert_status(ddgan__mbstd_forward(&e.ex, &six, &ms, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "batch 6");
    ddgan_tensor a = nt_rand_tensor(&e, 2, 1, 2, 2, 5, -1, 1);
    ddgan_tensor b = nt_rand_tensor(&e, 1, 1, 2, 2, 6, -1, 1);
    tu_assert_status(ddgan__concat_forward(&e.ex, &a, &b, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "differ");
    tu_assert_status(ddgan__axpby_forward(&e.ex, 1.0, &a, 1.0, &b, &y), DDGAN_ERR_INVALID_ARGUMENT,
                     "differ");
    /* an embedding prepared for float32 used by a float64 network */
    assert_int_equal(ddgan__temb_init(&tb, 8, 2, DDGAN_DT_F32), DDGAN_OK);
    const int64_t t1[1] = {1};
    tu_assert_status(ddgan__temb_forward(&e.ex, &tb, t1, 1, &y), DDGAN_ERR_INTERNAL, NULL);
    ddgan__temb_free(&tb);
    nt_env_free(&e);
    ddgan__params_free(&pt);
}

/* ------------------------------------------------------------------------ */
/* 6. planning dry runs: no memory touched, the real run uses what was planned */

static void lc_sequence(lcase *lc)
{
    ddgan_exec *ex = &lc->e.ex;
    int kind = lc->s.kind;
    lc_forward(lc);
    ddgan_tensor dx = fresh_like(&lc->x), db = fresh_like(&lc->b);
    lc_backward(lc, &dx, has_b(kind) ? &db : NULL);
    if (kind == K_CONV || kind == K_DENSE || kind == K_MBSTD) {
        ddgan_tensor u = lc_tensor(lc, lc->x.n, lc->x.c, lc->x.h, lc->x.w, 555, 0);
        ddgan_tensor g = lc_tensor(lc, lc->y.n, lc->y.c, lc->y.h, lc->y.w, lc->gseed, 1);
        ddgan_tensor out = fresh_like(&u), a = fresh_like(&u);
        if (kind == K_CONV) {
            assert_int_equal(ddgan__conv_jvp(ex, &lc->conv, &u, &out), DDGAN_OK);
            assert_int_equal(ddgan__conv_r1_wgrad(ex, &lc->conv, &u, &g), DDGAN_OK);
        } else if (kind == K_DENSE) {
            assert_int_equal(ddgan__dense_jvp(ex, &lc->dense, &u, &out), DDGAN_OK);
            assert_int_equal(ddgan__dense_r1_wgrad(ex, &lc->dense, &u, &g), DDGAN_OK);
        } else {
            assert_int_equal(ddgan__mbstd_jvp(ex, &lc->ms, &u, &out), DDGAN_OK);
            assert_int_equal(ddgan__mbstd_hvp(ex, &lc->ms, &u, &g, &a), DDGAN_OK);
        }
    }
}

static void check_planning(const lspec *s)
{
    lcase lc;
    lc_setup(&lc, DDGAN_DT_F32, s);
    nt_env *e = &lc.e;
    ddgan_arena *a = &e->arena;
    size_t total = e->pt.total ? e->pt.total : 1;
    /* a write through a planning placeholder would fault; the pattern also
     * catches writes to real arena memory */
    size_t free_bytes = a->cap - lc.mark < ((size_t)1 << 20) ? a->cap - lc.mark : (size_t)1 << 20;
    memset(a->base + lc.mark, 0x5A, free_bytes);
    void *p0 = malloc(total * e->ex.dsz), *x0 = host_copy(e, &lc.x);
    assert_non_null(p0);
    memcpy(p0, e->params, total * e->ex.dsz);
    zero_grads(e);

    a->planning = 1;
    a->used = a->peak = lc.mark;
    lc_sequence(&lc);
    size_t planned_used = a->used, planned_peak = a->peak;
    a->planning = 0;
    assert_true(planned_peak > lc.mark);
    /* nothing written: arena, parameters, gradients, inputs */
    for (size_t i = 0; i < free_bytes; i++)
        if ((unsigned char)a->base[lc.mark + i] != 0x5A) {
            print_error("%s: planning wrote arena byte %zu\n", kind_name[s->kind], lc.mark + i);
            fail();
        }
    assert_memory_equal(e->params, p0, total * e->ex.dsz);
    for (size_t i = 0; i < e->pt.total; i++)
        assert_true(nt_get(e, e->grads, i) == 0.0);
    assert_memory_equal(lc.x.data, x0, ddgan__numel(&lc.x) * e->ex.dsz);

    /* the real run fits exactly what was planned */
    size_t cap = a->cap;
    a->cap = planned_peak;
    a->used = a->peak = lc.mark;
    lc_sequence(&lc);
    print_message("    planning %-14s peak %zu bytes, real run %zu / end %zu\n", kind_name[s->kind],
                  planned_peak, a->peak, a->used);
    assert_int_equal(a->peak, planned_peak);
    assert_int_equal(a->used, planned_used);
    a->cap = cap;
    free(p0);
    free(x0);
    lc_free(&lc);
}

static void test_planning(void **state)
{
    (void)state;
    size_t n;
    const lspec *cs = conv_specs(&n);
    check_planning(&cs[0]);
    check_planning(&cs[3]);
    lspec s = dense_spec(3, 6, 1, 1, 5, 1);
    check_planning(&s);
    s = act_spec(DDGAN_ACT_LRELU, 0.2);
    check_planning(&s);
    s = act_spec(DDGAN_ACT_TANH, 0.0);
    check_planning(&s);
    s = plain_spec(K_FIR_UP, 2, 2, 3, 5);
    check_planning(&s);
    s = plain_spec(K_FIR_DOWN, 2, 2, 6, 4);
    check_planning(&s);
    s = plain_spec(K_FIR_CDOWN, 2, 2, 8, 8);
    s.c_out = 3;
    check_planning(&s);
    s = plain_spec(K_CONCAT, 2, 3, 4, 5);
    s.c2 = 2;
    check_planning(&s);
    s = plain_spec(K_AXPBY, 2, 3, 4, 5);
    s.ca = 0.7;
    s.cb = -1.3;
    check_planning(&s);
    s = plain_spec(K_CHBIAS, 2, 3, 4, 5);
    check_planning(&s);
    s = plain_spec(K_SUMPOOL, 2, 3, 4, 5);
    check_planning(&s);
    const int batches[4] = {1, 3, 4, 8};
    for (int i = 0; i < 4; i++) {
        s = plain_spec(K_MBSTD, batches[i], 3, 4, 3);
        check_planning(&s);
    }

    /* the timestep embedding: a planned forward writes neither arena nor scratch */
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F32, 1, ARENA_MB);
    ddgan_temb tb;
    assert_int_equal(ddgan__temb_init(&tb, 8, 2, DDGAN_DT_F32), DDGAN_OK);
    memset(e.arena.base, 0x5A, 4096);
    const int64_t t[2] = {3, 5};
    ddgan_tensor y;
    e.arena.planning = 1;
    assert_int_equal(ddgan__temb_forward(&e.ex, &tb, t, 2, &y), DDGAN_OK);
    e.arena.planning = 0;
    size_t planned = e.arena.used;
    assert_true(planned >= 2 * 8 * sizeof(float));
    for (size_t i = 0; i < 4096; i++)
        assert_int_equal((unsigned char)e.arena.base[i], 0x5A);
    for (int i = 0; i < 16; i++)
        assert_true(((float *)tb.host)[i] == 0.0f);
    ddgan__arena_reset(&e.arena);
    assert_int_equal(ddgan__temb_forward(&e.ex, &tb, t, 2, &y), DDGAN_OK);
    assert_int_equal(e.arena.used, planned);
    ddgan__temb_free(&tb);
    nt_env_free(&e);
}

/* ------------------------------------------------------------------------ */

static void test_report(void **state)
{
    (void)state;
    print_message("    %-14s %12s %12s %12s %12s\n", "layer", "fd grad", "jvp", "r1/hvp",
                  "f32-f64");
    for (int k = 0; k < K_COUNT; k++)
        print_message("    %-14s %12.2e %12.2e %12.2e %12.2e\n", kind_name[k], worst_fd[k],
                      worst_jvp[k], worst_r1[k], worst_f32[k]);
    print_message("    (fd tolerance %.0e with h %.0e; f32 tolerance %.0e)\n", FD_TOL, FD_H,
                  F32_TOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_conv_fd),
        cmocka_unit_test(test_dense_fd),
        cmocka_unit_test(test_act_fd),
        cmocka_unit_test(test_fir_fd),
        cmocka_unit_test(test_combine_fd),
        cmocka_unit_test(test_mbstd_fd),
        cmocka_unit_test(test_jvp),
        cmocka_unit_test(test_r1_wgrad),
        cmocka_unit_test(test_mbstd_hvp),
        cmocka_unit_test(test_lrelu_second_order),
        cmocka_unit_test(test_conv_dense_naive),
        cmocka_unit_test(test_fir_naive),
        cmocka_unit_test(test_conv_down_naive),
        cmocka_unit_test(test_mbstd_naive),
        cmocka_unit_test(test_temb),
        cmocka_unit_test(test_combine_naive),
        cmocka_unit_test(test_f32_vs_f64),
        cmocka_unit_test(test_planning),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
