/* Generator-side layers on "ref": GroupNorm (affine or not), AdaptiveGroupNorm,
 * PixelNorm and the attention block AttnBlockpp.
 *  - float64 central finite differences of every input and parameter gradient;
 *  - forward values against naive float64 loops written from the reference
 *    formulas (reference 2.2.2-2.2.4, 2.4);
 *  - float32 against float64 on the same (float32-representable) values;
 *  - gradient accumulation, frozen networks (no weight gradients), planning
 *    dry runs, parameter names / init kinds, and the GroupNorm divisibility error. */
#include "nn_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_GN, K_ADAGN, K_PIX, K_ATTN };

#define FD_H 1e-5
#define FD_TOL 1e-6
#define FD_MAX_CHECKS 48
/* float32 vs float64: max |f32 - f64| over a tensor <= tol * max |f64| */
#define F32_TOL 1e-5

/* One layer under test, with its inputs and what its forward saved. */
typedef struct gcase {
    nt_env e;
    int kind;
    int n, c, h, w, groups, affine, zdim;
    ddgan_group_norm gn;
    ddgan_adagn ada;
    ddgan_attn attn;
    ddgan_gn_saved gns;
    ddgan_adagn_saved adas;
    ddgan_pixelnorm_saved pixs;
    ddgan_attn_saved atts;
    ddgan_tensor x, z, y;
    size_t mark; /* arena position after the inputs */
    uint64_t pseed;
    /* host copies of the analytic input gradients */
    void *dx, *dz;
} gcase;

static double worst_fd = 0.0;
static double worst_f32 = 0.0;

/* One backend thread except in the float32 comparisons: results do not
 * depend on the thread count, and tiny ops on a loaded machine run faster
 * without a thread team. */
static int g_threads = 1;

static void gc_setup(gcase *g, ddgan_dtype dt, int kind, int n, int c, int h, int w, int groups,
                     int affine, int zdim)
{
    memset(g, 0, sizeof *g);
    g->kind = kind;
    g->n = n;
    g->c = c;
    g->h = h;
    g->w = w;
    g->groups = groups;
    g->affine = affine;
    g->zdim = zdim;
    g->pseed = 4242;
    nt_env_init(&g->e, dt, g_threads, 32);
    switch (kind) {
    case K_GN:
        assert_int_equal(ddgan__group_norm_init(&g->gn, &g->e.pt, "gn", c, groups, 1e-6, affine),
                         DDGAN_OK);
        break;
    case K_ADAGN:
        assert_int_equal(ddgan__adagn_init(&g->ada, &g->e.pt, "blk.GroupNorm_0", c, zdim), DDGAN_OK);
        break;
    case K_ATTN:
        assert_int_equal(ddgan__attn_init(&g->attn, &g->e.pt, "attn", c), DDGAN_OK);
        break;
    default:
        break;
    }
    nt_env_alloc_params(&g->e, 99, 0.8);
    g->x = nt_rand_tensor(&g->e, n, c, h, w, 1234, -2.0, 2.0);
    if (kind == K_ADAGN)
        g->z = nt_rand_tensor(&g->e, n, zdim, 1, 1, 5678, -1.5, 1.5);
    g->mark = ddgan__arena_mark(&g->e.arena);
}

static void gc_free(gcase *g)
{
    free(g->dx);
    free(g->dz);
    nt_env_free(&g->e);
}

static void gc_forward(gcase *g)
{
    ddgan__arena_release(&g->e.arena, g->mark);
    ddgan_exec *ex = &g->e.ex;
    ddgan_status_t st = DDGAN_OK;
    switch (g->kind) {
    case K_GN:
        st = ddgan__group_norm_forward(ex, &g->gn, &g->x, &g->gns, &g->y);
        break;
    case K_ADAGN:
        st = ddgan__adagn_forward(ex, &g->ada, &g->x, &g->z, &g->adas, &g->y);
        break;
    case K_PIX:
        st = ddgan__pixelnorm_forward(ex, &g->x, &g->pixs, &g->y);
        break;
    case K_ATTN:
        st = ddgan__attn_forward(ex, &g->attn, &g->x, &g->atts, &g->y);
        break;
    default:
        fail();
    }
    assert_int_equal(st, DDGAN_OK);
}

static double gc_loss(void *user)
{
    gcase *g = user;
    gc_forward(g);
    return nt_project(&g->e, &g->y, g->pseed);
}

/* Backward of the projection loss into dx / dz (fresh or accumulating
 * tensors, as given) and the parameter gradients. */
static void gc_backward(gcase *g, ddgan_tensor *dx, ddgan_tensor *dz)
{
    ddgan_exec *ex = &g->e.ex;
    ddgan_tensor dy;
    if (g->e.arena.planning) /* placeholders only: nothing may be written */
        assert_int_equal(ddgan__tensor_alloc(ex, &dy, g->y.n, g->y.c, g->y.h, g->y.w), DDGAN_OK);
    else
        dy = nt_proj_tensor(&g->e, g->y.n, g->y.c, g->y.h, g->y.w, g->pseed);
    ddgan_status_t st = DDGAN_OK;
    switch (g->kind) {
    case K_GN:
        st = ddgan__group_norm_backward(ex, &g->gn, &g->x, &g->gns, &dy, dx);
        break;
    case K_ADAGN:
        st = ddgan__adagn_backward(ex, &g->ada, &g->x, &g->z, &g->adas, &dy, dx, dz);
        break;
    case K_PIX:
        st = ddgan__pixelnorm_backward(ex, &g->x, &g->pixs, &dy, dx);
        break;
    case K_ATTN:
        st = ddgan__attn_backward(ex, &g->attn, &g->x, &g->atts, &dy, dx);
        break;
    default:
        fail();
    }
    assert_int_equal(st, DDGAN_OK);
}

static void *host_copy(const nt_env *e, const ddgan_tensor *t)
{
    size_t bytes = ddgan__numel(t) * e->ex.dsz;
    void *p = malloc(bytes);
    assert_non_null(p);
    memcpy(p, t->data, bytes);
    return p;
}

/* Zeroed weight gradients, forward, backward; host copies of dx (and dz). */
static void gc_grads(gcase *g)
{
    size_t total = g->e.pt.total;
    for (size_t i = 0; i < total; i++)
        nt_set(&g->e, g->e.grads, i, 0.0);
    gc_forward(g);
    ddgan_tensor dx = {0}, dz = {0};
    gc_backward(g, &dx, g->kind == K_ADAGN ? &dz : NULL);
    free(g->dx);
    free(g->dz);
    g->dx = host_copy(&g->e, &dx);
    assert_int_equal(dx.n, g->n);
    assert_int_equal(dx.c, g->c);
    assert_int_equal(dx.h, g->h);
    assert_int_equal(dx.w, g->w);
    g->dz = NULL;
    if (g->kind == K_ADAGN) {
        assert_int_equal(dz.n, g->n);
        assert_int_equal(dz.c, g->zdim);
        g->dz = host_copy(&g->e, &dz);
    }
}

static int is_nin1_bias(const char *name)
{
    static const char suffix[] = ".NIN_1.b";
    size_t l = strlen(name), ls = sizeof suffix - 1;
    return l >= ls && !strcmp(name + l - ls, suffix);
}

/* Finite differences of every input and parameter gradient. */
static void gc_fd_all(gcase *g)
{
    nt_env *e = &g->e;
    gc_grads(g);
    double wst = nt_fd_check(e, "dx", g->x.data, ddgan__numel(&g->x), g->dx, gc_loss, g,
                             FD_H, FD_TOL, FD_MAX_CHECKS);
    worst_fd = fmax(worst_fd, wst);
    if (g->kind == K_ADAGN) {
        wst = nt_fd_check(e, "dzemb", g->z.data, ddgan__numel(&g->z), g->dz, gc_loss, g, FD_H,
                          FD_TOL, FD_MAX_CHECKS);
        worst_fd = fmax(worst_fd, wst);
    }
    for (size_t i = 0; i < e->pt.n; i++) {
        const ddgan_param *p = &e->pt.p[i];
        char *base = (char *)e->params + p->offset * e->ex.dsz;
        char *an = (char *)e->grads + p->offset * e->ex.dsz;
        if (is_nin1_bias(p->name)) {
            /* softmax is shift-invariant over the keys: exactly zero gradient */
            double amax = 0.0;
            for (size_t j = 0; j < p->count; j++)
                amax = fmax(amax, fabs(nt_get(e, an, j)));
            double fmax_fd = 0.0;
            for (size_t j = 0; j < p->count; j++) {
                double orig = nt_get(e, base, j);
                nt_set(e, base, j, orig + FD_H);
                double lp = gc_loss(g);
                nt_set(e, base, j, orig - FD_H);
                double lm = gc_loss(g);
                nt_set(e, base, j, orig);
                fmax_fd = fmax(fmax_fd, fabs((lp - lm) / (2 * FD_H)));
            }
            print_message("    %s: max |analytic| %.2e, max |fd| %.2e (zero expected)\n", p->name,
                          amax, fmax_fd);
            assert_true(amax < 1e-12);
            assert_true(fmax_fd < 1e-8);
            continue;
        }
        wst = nt_fd_check(e, p->name, base, p->count, an, gc_loss, g, FD_H, FD_TOL, FD_MAX_CHECKS);
        worst_fd = fmax(worst_fd, wst);
    }
}

/* ------------------------------------------------------------------------ */
/* Naive float64 forwards from the reference formulas. */

static void naive_gn(const double *x, int n, int c, int hw, int groups, double eps,
                     const double *gw, const double *gb, double *y)
{
    int cg = c / groups;
    for (int i = 0; i < n; i++)
        for (int gi = 0; gi < groups; gi++) {
            const double *xs = x + ((size_t)i * c + (size_t)gi * cg) * hw;
            double *ys = y + ((size_t)i * c + (size_t)gi * cg) * hw;
            size_t cnt = (size_t)cg * hw;
            double mu = 0.0, var = 0.0;
            for (size_t j = 0; j < cnt; j++)
                mu += xs[j];
            mu /= (double)cnt;
            for (size_t j = 0; j < cnt; j++)
                var += (xs[j] - mu) * (xs[j] - mu);
            var /= (double)cnt;
            for (size_t j = 0; j < cnt; j++) {
                int ch = gi * cg + (int)(j / (size_t)hw);
                double v = (xs[j] - mu) / sqrt(var + eps);
                ys[j] = gw ? v * gw[ch] + gb[ch] : v;
            }
        }
}

static void naive_adagn(const gcase *g, double *y)
{
    const nt_env *e = &g->e;
    const double *x = g->x.data, *z = g->z.data;
    const double *W = (const double *)e->params + g->ada.style.w_off;
    const double *b = (const double *)e->params + g->ada.style.b_off;
    int n = g->n, c = g->c, hw = g->h * g->w, zd = g->zdim;
    int groups = c / 4 < 32 ? c / 4 : 32;
    double *normed = malloc(sizeof(double) * (size_t)n * c * hw);
    double *s = malloc(sizeof(double) * (size_t)2 * c);
    assert_non_null(normed);
    assert_non_null(s);
    naive_gn(x, n, c, hw, groups, 1e-6, NULL, NULL, normed);
    for (int i = 0; i < n; i++) {
        for (int o = 0; o < 2 * c; o++) {
            double acc = b[o];
            for (int k = 0; k < zd; k++)
                acc += W[(size_t)o * zd + k] * z[(size_t)i * zd + k];
            s[o] = acc;
        }
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++) {
                size_t idx = ((size_t)i * c + ch) * hw + p;
                y[idx] = s[ch] * normed[idx] + s[c + ch];
            }
    }
    free(normed);
    free(s);
}

static void naive_pixelnorm(const gcase *g, double *y)
{
    const double *x = g->x.data;
    for (int i = 0; i < g->n; i++) {
        double ms = 0.0;
        for (int ch = 0; ch < g->c; ch++)
            ms += x[(size_t)i * g->c + ch] * x[(size_t)i * g->c + ch];
        ms /= g->c;
        for (int ch = 0; ch < g->c; ch++)
            y[(size_t)i * g->c + ch] = x[(size_t)i * g->c + ch] / sqrt(ms + 1e-8);
    }
}

/* y[n, o, p] = sum_i x[n, i, p] W[i, o] + b[o] for one example */
static void naive_nin(const double *x, const double *W, const double *b, int c, int P, double *y)
{
    for (int o = 0; o < c; o++)
        for (int p = 0; p < P; p++) {
            double acc = b[o];
            for (int i = 0; i < c; i++)
                acc += x[(size_t)i * P + p] * W[(size_t)i * c + o];
            y[(size_t)o * P + p] = acc;
        }
}

static void naive_attn(const gcase *g, double *y)
{
    const nt_env *e = &g->e;
    const double *prm = e->params;
    const ddgan_attn *L = &g->attn;
    int n = g->n, c = g->c, P = g->h * g->w;
    size_t cp = (size_t)c * P;
    double *h = malloc(sizeof(double) * n * cp);
    double *q = malloc(sizeof(double) * cp), *k = malloc(sizeof(double) * cp);
    double *v = malloc(sizeof(double) * cp), *o = malloc(sizeof(double) * cp);
    double *t = malloc(sizeof(double) * cp);
    double *A = malloc(sizeof(double) * (size_t)P * P);
    assert_true(h && q && k && v && o && t && A);
    naive_gn(g->x.data, n, c, P, L->gn.groups, 1e-6, prm + L->gn.w_off, prm + L->gn.b_off, h);
    for (int i = 0; i < n; i++) {
        const double *hi = h + i * cp;
        naive_nin(hi, prm + L->nin[0].w_off, prm + L->nin[0].b_off, c, P, q);
        naive_nin(hi, prm + L->nin[1].w_off, prm + L->nin[1].b_off, c, P, k);
        naive_nin(hi, prm + L->nin[2].w_off, prm + L->nin[2].b_off, c, P, v);
        for (int p = 0; p < P; p++) {
            double mx = -INFINITY;
            for (int pp = 0; pp < P; pp++) {
                double s = 0.0;
                for (int ch = 0; ch < c; ch++)
                    s += q[(size_t)ch * P + p] * k[(size_t)ch * P + pp];
                s /= sqrt((double)c);
                A[(size_t)p * P + pp] = s;
                mx = fmax(mx, s);
            }
            double den = 0.0;
            for (int pp = 0; pp < P; pp++) {
                A[(size_t)p * P + pp] = exp(A[(size_t)p * P + pp] - mx);
                den += A[(size_t)p * P + pp];
            }
            for (int pp = 0; pp < P; pp++)
                A[(size_t)p * P + pp] /= den;
        }
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < P; p++) {
                double s = 0.0;
                for (int pp = 0; pp < P; pp++)
                    s += A[(size_t)p * P + pp] * v[(size_t)ch * P + pp];
                o[(size_t)ch * P + p] = s;
            }
        naive_nin(o, prm + L->nin[3].w_off, prm + L->nin[3].b_off, c, P, t);
        const double *xi = (const double *)g->x.data + i * cp;
        for (size_t j = 0; j < cp; j++)
            y[i * cp + j] = (xi[j] + t[j]) / sqrt(2.0);
    }
    free(h);
    free(q);
    free(k);
    free(v);
    free(o);
    free(t);
    free(A);
}

static void check_naive(gcase *g)
{
    assert_int_equal(g->e.ex.dt, DDGAN_DT_F64);
    gc_forward(g);
    size_t cnt = ddgan__numel(&g->y);
    assert_int_equal(cnt, ddgan__numel(&g->x));
    double *ref = malloc(sizeof(double) * cnt);
    assert_non_null(ref);
    switch (g->kind) {
    case K_GN: {
        const double *prm = g->e.params;
        naive_gn(g->x.data, g->n, g->c, g->h * g->w, g->groups, 1e-6,
                 g->affine ? prm + g->gn.w_off : NULL, g->affine ? prm + g->gn.b_off : NULL, ref);
        break;
    }
    case K_ADAGN:
        naive_adagn(g, ref);
        break;
    case K_PIX:
        naive_pixelnorm(g, ref);
        break;
    case K_ATTN:
        naive_attn(g, ref);
        break;
    default:
        fail();
    }
    tu_assert_allclose_f64(g->y.data, ref, cnt, 1e-12, 1e-12, "forward vs naive");
    free(ref);
}

/* ------------------------------------------------------------------------ */

static void run_case(int kind, int n, int c, int h, int w, int groups, int affine, int zdim)
{
    gcase g;
    gc_setup(&g, DDGAN_DT_F64, kind, n, c, h, w, groups, affine, zdim);
    check_naive(&g);
    gc_fd_all(&g);
    gc_free(&g);
}

static void test_gn_fd(void **state)
{
    (void)state;
    run_case(K_GN, 2, 12, 7, 5, 3, 1, 0);  /* affine, C=12, 3 groups, 7x5 */
    run_case(K_GN, 2, 12, 7, 5, 3, 0, 0);  /* non-affine */
    run_case(K_GN, 2, 8, 3, 4, 1, 1, 0);   /* one group */
    run_case(K_GN, 1, 6, 5, 3, 6, 1, 0);   /* groups = C, batch 1 */
    run_case(K_GN, 1, 6, 5, 3, 1, 0, 0);   /* one group, non-affine */
}

static void test_adagn_fd(void **state)
{
    (void)state;
    run_case(K_ADAGN, 2, 12, 7, 5, 0, 0, 5); /* groups min(12/4, 32) = 3 */
    run_case(K_ADAGN, 1, 8, 4, 4, 0, 0, 3);  /* batch 1, 2 groups */
}

static void test_pixelnorm_fd(void **state)
{
    (void)state;
    run_case(K_PIX, 3, 10, 1, 1, 0, 0, 0);
    run_case(K_PIX, 1, 7, 1, 1, 0, 0, 0);
}

static void test_attn_fd(void **state)
{
    (void)state;
    run_case(K_ATTN, 2, 12, 7, 5, 0, 0, 0); /* groups 3, P = 35 */
    run_case(K_ATTN, 1, 8, 4, 4, 0, 0, 0);  /* batch 1, groups 2 */
}

/* ------------------------------------------------------------------------ */
/* float32 vs float64 on identical values */

static double normwise_dev(const gcase *g32, const void *a32, const gcase *g64, const void *a64,
                           size_t cnt)
{
    double mx = 0.0, d = 0.0;
    for (size_t i = 0; i < cnt; i++) {
        double r = nt_get(&g64->e, a64, i);
        mx = fmax(mx, fabs(r));
        d = fmax(d, fabs(nt_get(&g32->e, a32, i) - r));
    }
    return d / fmax(mx, 1e-300);
}

static void round_to_f32(gcase *g32, gcase *g64, void *b32, void *b64, size_t cnt)
{
    for (size_t i = 0; i < cnt; i++) {
        float v = (float)nt_get(&g64->e, b64, i);
        nt_set(&g32->e, b32, i, (double)v);
        nt_set(&g64->e, b64, i, (double)v);
    }
}

static void check_dev(const char *what, double dev)
{
    print_message("    f32 vs f64 %-40s %.2e\n", what, dev);
    worst_f32 = fmax(worst_f32, dev);
    if (!(dev <= F32_TOL)) {
        print_error("%s: float32 deviates by %.3g (normwise) > %.3g\n", what, dev, F32_TOL);
        fail();
    }
}

static void run_f32_case(int kind, int n, int c, int h, int w, int groups, int affine, int zdim)
{
    gcase g64, g32;
    gc_setup(&g64, DDGAN_DT_F64, kind, n, c, h, w, groups, affine, zdim);
    gc_setup(&g32, DDGAN_DT_F32, kind, n, c, h, w, groups, affine, zdim);
    assert_int_equal(g64.e.pt.total, g32.e.pt.total);
    round_to_f32(&g32, &g64, g32.e.params, g64.e.params, g64.e.pt.total);
    round_to_f32(&g32, &g64, g32.x.data, g64.x.data, ddgan__numel(&g64.x));
    if (kind == K_ADAGN)
        round_to_f32(&g32, &g64, g32.z.data, g64.z.data, ddgan__numel(&g64.z));

    gc_grads(&g64);
    gc_grads(&g32);
    check_dev("y", normwise_dev(&g32, g32.y.data, &g64, g64.y.data, ddgan__numel(&g64.y)));
    check_dev("dx", normwise_dev(&g32, g32.dx, &g64, g64.dx, ddgan__numel(&g64.x)));
    if (kind == K_ADAGN)
        check_dev("dzemb", normwise_dev(&g32, g32.dz, &g64, g64.dz, ddgan__numel(&g64.z)));
    for (size_t i = 0; i < g64.e.pt.n; i++) {
        const ddgan_param *p = &g64.e.pt.p[i];
        const char *a32 = (const char *)g32.e.grads + p->offset * g32.e.ex.dsz;
        const char *a64 = (const char *)g64.e.grads + p->offset * g64.e.ex.dsz;
        if (is_nin1_bias(p->name)) {
            /* rounding noise around an exact zero, relative to the query bias
             * gradient (the same kind of sum) */
            const ddgan_param *q = p - 2;
            assert_non_null(strstr(q->name, ".NIN_0.b"));
            const char *q64 = (const char *)g64.e.grads + q->offset * g64.e.ex.dsz;
            double mx = 0.0, qmx = 0.0;
            for (size_t j = 0; j < p->count; j++) {
                mx = fmax(mx, fabs(nt_get(&g32.e, a32, j)));
                qmx = fmax(qmx, fabs(nt_get(&g64.e, q64, j)));
            }
            print_message("    f32 %-40s max |grad| %.2e, %.2e of NIN_0.b's (zero expected)\n",
                          p->name, mx, mx / qmx);
            assert_true(mx <= 1e-5 * qmx);
            continue;
        }
        check_dev(p->name, normwise_dev(&g32, a32, &g64, a64, p->count));
    }
    gc_free(&g64);
    gc_free(&g32);
}

static void test_f32_vs_f64(void **state)
{
    (void)state;
    g_threads = 2;
    run_f32_case(K_GN, 2, 12, 7, 5, 3, 1, 0);
    run_f32_case(K_GN, 1, 12, 7, 5, 12, 0, 0);
    run_f32_case(K_ADAGN, 2, 12, 7, 5, 0, 0, 5);
    run_f32_case(K_PIX, 3, 10, 1, 1, 0, 0, 0);
    run_f32_case(K_ATTN, 2, 12, 7, 5, 0, 0, 0);
    run_f32_case(K_ATTN, 2, 32, 8, 8, 0, 0, 0);
    g_threads = 1;
}

/* ------------------------------------------------------------------------ */
/* Gradient conventions: a set dx accumulates, weight gradients accumulate,
 * a NULL ex->grads skips them, and NULL input gradients are allowed. */

static void check_conventions(int kind, int c, int zdim)
{
    gcase g;
    int h = kind == K_PIX ? 1 : 3, w = kind == K_PIX ? 1 : 5;
    gc_setup(&g, DDGAN_DT_F64, kind, 2, c, h, w, kind == K_GN ? 2 : 0, 1, zdim);
    nt_env *e = &g.e;
    size_t total = e->pt.total;
    gc_grads(&g);
    size_t nx = ddgan__numel(&g.x), nz = kind == K_ADAGN ? ddgan__numel(&g.z) : 0;
    double *g1 = malloc(sizeof(double) * (total ? total : 1));
    assert_non_null(g1);
    memcpy(g1, e->grads, sizeof(double) * total);

    /* accumulate: dx / dz preset to the first result, weight grads not cleared */
    gc_forward(&g);
    ddgan_tensor dx, dz;
    assert_int_equal(ddgan__tensor_alloc(&e->ex, &dx, g.n, g.c, g.h, g.w), DDGAN_OK);
    memcpy(dx.data, g.dx, nx * sizeof(double));
    if (kind == K_ADAGN) {
        assert_int_equal(ddgan__tensor_alloc(&e->ex, &dz, g.n, g.zdim, 1, 1), DDGAN_OK);
        memcpy(dz.data, g.dz, nz * sizeof(double));
    }
    gc_backward(&g, &dx, kind == K_ADAGN ? &dz : NULL);
    for (size_t i = 0; i < nx; i++)
        assert_true(fabs(((double *)dx.data)[i] - 2.0 * ((double *)g.dx)[i]) <=
                    1e-12 * (1.0 + fabs(((double *)g.dx)[i])));
    for (size_t i = 0; i < nz; i++)
        assert_true(fabs(((double *)dz.data)[i] - 2.0 * ((double *)g.dz)[i]) <=
                    1e-12 * (1.0 + fabs(((double *)g.dz)[i])));
    for (size_t i = 0; i < total; i++)
        assert_true(fabs(((double *)e->grads)[i] - 2.0 * g1[i]) <= 1e-12 * (1.0 + fabs(g1[i])));

    /* frozen: no weight gradients written; dx unchanged */
    for (size_t i = 0; i < total; i++)
        nt_set(e, e->grads, i, 0.0);
    e->ex.grads = NULL;
    gc_forward(&g);
    ddgan_tensor dx2 = {0}, dz2 = {0};
    gc_backward(&g, &dx2, kind == K_ADAGN ? &dz2 : NULL);
    tu_assert_allclose_f64(dx2.data, g.dx, nx, 0.0, 0.0, "frozen dx");
    if (kind == K_ADAGN)
        tu_assert_allclose_f64(dz2.data, g.dz, nz, 0.0, 0.0, "frozen dzemb");
    for (size_t i = 0; i < total; i++)
        assert_true(((double *)e->grads)[i] == 0.0);

    /* weight gradients only (dx NULL) */
    e->ex.grads = e->grads;
    if (kind != K_PIX) {
        gc_forward(&g);
        gc_backward(&g, NULL, NULL);
        tu_assert_allclose_f64(e->grads, g1, total, 0.0, 0.0, "weight grads without dx");
    }
    free(g1);
    gc_free(&g);
}

static void test_grad_conventions(void **state)
{
    (void)state;
    check_conventions(K_GN, 8, 0);
    check_conventions(K_ADAGN, 8, 4);
    check_conventions(K_PIX, 6, 0);
    check_conventions(K_ATTN, 8, 0);
}

/* The dry run (arena planning) touches no memory and hands out exactly the
 * bytes the real run uses. */
static void check_planning(int kind, int c, int h, int w, int zdim)
{
    gcase g;
    gc_setup(&g, DDGAN_DT_F32, kind, 2, c, h, w, 0, 0, zdim);
    ddgan_arena *a = &g.e.arena;

    a->planning = 1;
    gc_forward(&g);
    ddgan_tensor dx = {0}, dz = {0};
    gc_backward(&g, &dx, kind == K_ADAGN ? &dz : NULL);
    size_t planned = a->used;
    a->planning = 0;

    gc_forward(&g);
    ddgan_tensor dx2 = {0}, dz2 = {0};
    gc_backward(&g, &dx2, kind == K_ADAGN ? &dz2 : NULL);
    assert_int_equal(a->used, planned);
    gc_free(&g);
}

static void test_planning(void **state)
{
    (void)state;
    check_planning(K_ADAGN, 12, 7, 5, 5);
    check_planning(K_PIX, 10, 1, 1, 0);
    check_planning(K_ATTN, 12, 7, 5, 0);
    gcase g;
    gc_setup(&g, DDGAN_DT_F32, K_GN, 2, 12, 7, 5, 4, 1, 0);
    g.e.arena.planning = 1;
    gc_forward(&g);
    ddgan_tensor dx = {0};
    gc_backward(&g, &dx, NULL);
    g.e.arena.planning = 0;
    gc_free(&g);
}

/* ------------------------------------------------------------------------ */

static void expect_param(const ddgan_param_table *pt, const char *name, int ndim, int64_t d0,
                         int64_t d1, ddgan_init_kind init, double scale)
{
    const ddgan_param *p = ddgan__params_find(pt, name);
    if (!p) {
        print_error("parameter %s not registered\n", name);
        fail();
    }
    assert_int_equal(p->ndim, ndim);
    assert_int_equal(p->shape[0], d0);
    if (ndim > 1)
        assert_int_equal(p->shape[1], d1);
    assert_int_equal(p->init, init);
    assert_true(fabs(p->init_scale - scale) <= 1e-12 * fabs(scale));
}

static void test_params_and_errors(void **state)
{
    (void)state;
    ddgan_param_table pt;
    ddgan__params_init(&pt);
    ddgan_attn at;
    ddgan_adagn ad;
    ddgan_group_norm gn;
    assert_int_equal(ddgan__attn_init(&at, &pt, "all_modules.8", 256), DDGAN_OK);
    assert_int_equal(at.gn.groups, 32);
    assert_int_equal(at.gn.affine, 1);
    assert_true(at.gn.eps == 1e-6);
    expect_param(&pt, "all_modules.8.GroupNorm_0.weight", 1, 256, 0, DDGAN_INIT_ONES, 1.0);
    expect_param(&pt, "all_modules.8.GroupNorm_0.bias", 1, 256, 0, DDGAN_INIT_ZERO, 1.0);
    for (int k = 0; k < 4; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "all_modules.8.NIN_%d.W", k);
        expect_param(&pt, nm, 2, 256, 256, DDGAN_INIT_FAN_AVG_UNIFORM, k < 3 ? 0.1 : 1e-10);
        snprintf(nm, sizeof nm, "all_modules.8.NIN_%d.b", k);
        expect_param(&pt, nm, 1, 256, 0, DDGAN_INIT_ZERO, 1.0);
    }
    assert_int_equal(ddgan__adagn_init(&ad, &pt, "all_modules.3.GroupNorm_0", 128, 256), DDGAN_OK);
    assert_int_equal(ad.gn.groups, 32);
    assert_int_equal(ad.gn.affine, 0);
    expect_param(&pt, "all_modules.3.GroupNorm_0.style.weight", 2, 256, 256,
                 DDGAN_INIT_FAN_OUT_UNIFORM, 1.0);
    expect_param(&pt, "all_modules.3.GroupNorm_0.style.bias", 1, 256, 0, DDGAN_INIT_STYLE_BIAS, 1.0);
    assert_null(ddgan__params_find(&pt, "all_modules.3.GroupNorm_0.weight"));
    assert_int_equal(ddgan__group_norm_init(&gn, &pt, "all_modules.30", 64, 16, 1e-6, 1), DDGAN_OK);
    expect_param(&pt, "all_modules.30.weight", 1, 64, 0, DDGAN_INIT_ONES, 1.0);
    expect_param(&pt, "all_modules.30.bias", 1, 64, 0, DDGAN_INIT_ZERO, 1.0);
    assert_int_equal(ad.gn.groups, 32);
    assert_int_equal(ddgan__adagn_init(&ad, &pt, "small", 12, 7), DDGAN_OK);
    assert_int_equal(ad.gn.groups, 3);

    /* AdaGN over 30 channels: groups min(30 // 4, 32) = 7 do not divide 30 */
    tu_assert_status(ddgan__adagn_init(&ad, &pt, "all_modules.3.GroupNorm_0x", 30, 16),
                     DDGAN_ERR_INVALID_ARGUMENT,
                     "GroupNorm all_modules.3.GroupNorm_0x: 30 channels not divisible by 7 groups");
    tu_assert_status(ddgan__group_norm_init(&gn, &pt, "g", 30, 7, 1e-6, 1),
                     DDGAN_ERR_INVALID_ARGUMENT, "30 channels not divisible by 7 groups");
    tu_assert_status(ddgan__group_norm_init(&gn, &pt, "g", 12, 0, 1e-6, 1),
                     DDGAN_ERR_INVALID_ARGUMENT, "12 channels not divisible by 0 groups");
    tu_assert_status(ddgan__group_norm_init(&gn, &pt, "g", 12, -3, 1e-6, 0),
                     DDGAN_ERR_INVALID_ARGUMENT, "-3 groups");
    tu_assert_status(ddgan__attn_init(&at, &pt, "a", 3), DDGAN_ERR_INVALID_ARGUMENT, "3 channels");
    /* attention over 36 channels: groups 9 divide 36; over 50: 12 do not */
    assert_int_equal(ddgan__attn_init(&at, &pt, "a36", 36), DDGAN_OK);
    assert_int_equal(at.gn.groups, 9);
    size_t before = pt.n;
    tu_assert_status(ddgan__attn_init(&at, &pt, "a50", 50), DDGAN_ERR_INVALID_ARGUMENT,
                     "50 channels not divisible by 12 groups");
    assert_int_equal(pt.n, before); /* nothing registered by a refused layer */
    ddgan__params_free(&pt);
}

static void test_report(void **state)
{
    (void)state;
    print_message("    worst FD relative error %.2e (tolerance %.0e, h %.0e)\n", worst_fd, FD_TOL,
                  FD_H);
    print_message("    worst f32 vs f64 normwise deviation %.2e (tolerance %.0e)\n", worst_f32,
                  F32_TOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_and_errors),
        cmocka_unit_test(test_gn_fd),
        cmocka_unit_test(test_adagn_fd),
        cmocka_unit_test(test_pixelnorm_fd),
        cmocka_unit_test(test_attn_fd),
        cmocka_unit_test(test_f32_vs_f64),
        cmocka_unit_test(test_grad_conventions),
        cmocka_unit_test(test_planning),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
