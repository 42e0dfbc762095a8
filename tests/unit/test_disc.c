/* The discriminator against the official vectors (disc_tiny.safetensors) and
 * its exact R1 gradient against central finite differences in float64. */
#include "nn_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "model/discriminator.h"

/* Relative L2 error ||a - b|| / ||b|| */
static double rel_l2(const nt_env *e, const void *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = nt_get(e, a, i) - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

static void load_params(nt_env *e, ddgan_disc_net *net, ddgan_st_file *f, const char *prefix)
{
    char name[160];
    for (size_t i = 0; i < net->pt.n; i++) {
        const ddgan_param *p = &net->pt.p[i];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        char *dst = (char *)e->params + p->offset * e->ex.dsz;
        ddgan_status_t st = e->ex.dt == DDGAN_DT_F64 ? ddgan__st_read_f64(f, name, (double *)(void *)dst, p->count)
                                                     : ddgan__st_read_f32(f, name, (float *)(void *)dst, p->count);
        if (st != DDGAN_OK)
            print_error("%s\n", ddgan_last_error());
        assert_int_equal(st, DDGAN_OK);
    }
}

static ddgan_tensor load_tensor(nt_env *e, ddgan_st_file *f, const char *name, int n, int c, int h, int w)
{
    ddgan_tensor t;
    assert_int_equal(ddgan__tensor_alloc(&e->ex, &t, n, c, h, w), DDGAN_OK);
    double *tmp = malloc(sizeof(double) * ddgan__numel(&t));
    assert_non_null(tmp);
    assert_int_equal(ddgan__st_read_f64(f, name, tmp, ddgan__numel(&t)), DDGAN_OK);
    for (size_t i = 0; i < ddgan__numel(&t); i++)
        nt_set(e, t.data, i, tmp[i]);
    free(tmp);
    return t;
}

static double *read_ref(ddgan_st_file *f, const char *name, size_t n)
{
    double *r = malloc(sizeof(double) * (n ? n : 1));
    assert_non_null(r);
    assert_int_equal(ddgan__st_read_f64(f, name, r, n), DDGAN_OK);
    return r;
}

static const ddgan_disc_config k_tiny = {0, 2, 4, 32, 0.2, 16};

/* Golden vectors, in float32 (against the official float32 outputs) or
 * float64 (against the f64.* references). */
static void run_golden(ddgan_dtype dt)
{
    const char *path = tu_shared_path("spec/vectors/disc_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    nt_env e;
    nt_env_init(&e, dt, 2, 64);
    ddgan_disc_net net;
    assert_int_equal(ddgan__disc_init(&net, &k_tiny, 8, dt), DDGAN_OK);
    assert_int_equal(net.pt.total >= 53377, 1);
    size_t count = 0;
    for (size_t i = 0; i < net.pt.n; i++)
        count += net.pt.p[i].count;
    assert_int_equal(count, 53377); /* the vectors' parameter count */
    assert_int_equal(net.pt.n, 38);
    e.pt = net.pt; /* share the table for the allocation helper */
    nt_env_alloc_params(&e, 1, 0.1);
    e.pt.p = NULL; /* owned by net */
    e.pt.n = e.pt.cap = 0;
    load_params(&e, &net, f, "disc.");

    int64_t t[8];
    assert_int_equal(ddgan__st_read_i64(f, "input.t", t, 8), DDGAN_OK);
    ddgan_tensor xp = load_tensor(&e, f, "input.x_prev", 8, 1, 16, 16);
    ddgan_tensor xt = load_tensor(&e, f, "input.x_t", 8, 1, 16, 16);
    ddgan_disc_acts acts;
    assert_int_equal(ddgan__disc_forward(&e.ex, &net, &xp, t, &xt, &acts), DDGAN_OK);
    const int f64 = dt == DDGAN_DT_F64;
    const double tol_out = f64 ? 1e-10 : 1e-5;
    double *ref = read_ref(f, f64 ? "f64.output.logits" : "output.logits", 8);
    double err = rel_l2(&e, acts.logits.data, ref, 8);
    print_message("    %s logits (batch 8) rel L2 %.2e\n", f64 ? "f64" : "f32", err);
    assert_true(err <= tol_out);
    free(ref);
    /* intermediate activations (float32 only; they are stored as float32) */
    if (!f64) {
        ref = read_ref(f, "debug.minibatch_std", 8);
        for (int b = 0; b < 8; b++) {
            double v = nt_get(&e, acts.mbout.data, ((size_t)b * 33 + 32) * 4);
            assert_true(fabs(v - ref[b]) <= 1e-5 * fabs(ref[b]) + 1e-7);
        }
        free(ref);
        ref = read_ref(f, "debug.pooled", 8 * 32);
        assert_true(rel_l2(&e, acts.pooled.data, ref, 8 * 32) <= 1e-5);
        free(ref);
    }

    /* R1 on zero gradients: penalty, input gradient and every parameter gradient */
    memset(e.grads, 0, net.pt.total * e.ex.dsz);
    ddgan_tensor gx = {0};
    double penalty = 0;
    assert_int_equal(ddgan__disc_r1(&e.ex, &net, &acts, 0.02, &gx, &penalty), DDGAN_OK);
    ref = read_ref(f, f64 ? "f64.r1.grad_x_prev" : "r1.grad_x_prev", 8 * 256);
    err = rel_l2(&e, gx.data, ref, 8 * 256);
    print_message("    %s R1 input gradient rel L2 %.2e\n", f64 ? "f64" : "f32", err);
    assert_true(err <= tol_out);
    free(ref);
    ref = read_ref(f, f64 ? "f64.r1.penalty" : "r1.penalty", 1);
    print_message("    %s R1 penalty %.10g (reference %.10g)\n", f64 ? "f64" : "f32", penalty, ref[0]);
    assert_true(fabs(penalty - ref[0]) <= tol_out * fabs(ref[0]));
    free(ref);
    /* r1grad.* are float32 references accurate to ~1.3e-7 x (largest |r1grad|)
     * (vectors README): each tensor must agree as one relative L2 error
     * <= 1e-4; tensors whose reference is so small that its own float32
     * noise exceeds that (tiny biases, and the exact zeros) are held to an
     * absolute 1e-6 x the largest |r1grad| instead. */
    double gmax = 0;
    char name[160];
    for (size_t i = 0; i < net.pt.n; i++) {
        const ddgan_param *p = &net.pt.p[i];
        snprintf(name, sizeof name, "r1grad.%s", p->name);
        ref = read_ref(f, name, p->count);
        for (size_t k = 0; k < p->count; k++)
            gmax = fmax(gmax, fabs(ref[k]));
        free(ref);
    }
    double worst = 0, worst_abs = 0;
    const char *worst_name = "";
    for (size_t i = 0; i < net.pt.n; i++) {
        const ddgan_param *p = &net.pt.p[i];
        const char *g = (const char *)e.grads + p->offset * e.ex.dsz;
        snprintf(name, sizeof name, "r1grad.%s", p->name);
        ref = read_ref(f, name, p->count);
        double nrm = 0, maxabs = 0;
        for (size_t k = 0; k < p->count; k++) {
            nrm += ref[k] * ref[k];
            maxabs = fmax(maxabs, fabs(nt_get(&e, g, k) - ref[k]));
        }
        if (sqrt(nrm) >= 1e-2 * gmax) {
            double ev = rel_l2(&e, g, ref, p->count);
            if (ev > worst) {
                worst = ev;
                worst_name = p->name;
            }
        } else {
            worst_abs = fmax(worst_abs, maxabs / gmax);
        }
        free(ref);
    }
    print_message("    %s R1 parameter gradients: worst rel L2 %.2e (%s); small tensors: max abs "
                  "%.2e x max|r1grad|\n", f64 ? "f64" : "f32", worst, worst_name, worst_abs);
    assert_true(worst <= 1e-4);
    assert_true(worst_abs <= 1e-6);

    /* batch 3: one minibatch-std group of 3 */
    xp.n = xt.n = 3;
    ddgan_disc_acts a3;
    assert_int_equal(ddgan__disc_forward(&e.ex, &net, &xp, t, &xt, &a3), DDGAN_OK);
    ref = read_ref(f, f64 ? "f64.output.logits_b3" : "output.logits_b3", 3);
    err = rel_l2(&e, a3.logits.data, ref, 3);
    print_message("    %s logits (batch 3) rel L2 %.2e\n", f64 ? "f64" : "f32", err);
    assert_true(err <= tol_out);
    free(ref);
    /* batches the official code refuses */
    xp.n = xt.n = 6;
    tu_assert_status(ddgan__disc_forward(&e.ex, &net, &xp, t, &xt, &a3), DDGAN_ERR_INVALID_ARGUMENT,
                     "batch 6");

    ddgan__disc_free(&net);
    nt_env_free(&e);
    ddgan__st_close(f);
}

static void test_golden_f32(void **state)
{
    (void)state;
    run_golden(DDGAN_DT_F32);
}

static void test_golden_f64(void **state)
{
    (void)state;
    run_golden(DDGAN_DT_F64);
}

/* ------------------------------------------------------------------------ */
/* Finite differences in float64 on a small random discriminator */

typedef struct fd_ctx {
    nt_env *e;
    ddgan_disc_net *net;
    ddgan_tensor xp, xt;
    int64_t t[8];
    int what; /* 0: projected logits, 1: R1 penalty */
} fd_ctx;

static double fd_loss(void *user)
{
    fd_ctx *c = user;
    size_t mark = ddgan__arena_mark(&c->e->arena);
    ddgan_disc_acts a;
    assert_int_equal(ddgan__disc_forward(&c->e->ex, c->net, &c->xp, c->t, &c->xt, &a), DDGAN_OK);
    double v;
    if (c->what == 0) {
        v = nt_project(c->e, &a.logits, 77);
    } else {
        ddgan_exec ex = c->e->ex;
        ex.grads = NULL; /* penalty only */
        assert_int_equal(ddgan__disc_r1(&ex, c->net, &a, 0.7, NULL, &v), DDGAN_OK);
    }
    ddgan__arena_release(&c->e->arena, mark);
    return v;
}

static void run_fd(int batch, int large)
{
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F64, 1, 64);
    ddgan_disc_net net;
    const ddgan_disc_config cfg = {large, 2, large ? 1 : 2, 8, 0.2, large ? 64 : 8};
    assert_int_equal(ddgan__disc_init(&net, &cfg, 8, DDGAN_DT_F64), DDGAN_OK);
    e.pt = net.pt;
    /* weights large enough that every path matters (init_scale 0 layers too) */
    nt_env_alloc_params(&e, 5, 0.6);
    e.pt.p = NULL;
    e.pt.n = e.pt.cap = 0;
    const int hw = large ? 64 : 8;
    fd_ctx c = {&e, &net, {0}, {0}, {0, 1, 2, 3, 3, 2, 1, 0}, 0};
    c.xp = nt_rand_tensor(&e, batch, 1, hw, hw, 21, -1, 1);
    c.xt = nt_rand_tensor(&e, batch, 1, hw, hw, 22, -1, 1);

    /* first order: logits projected on w, w.r.t. every parameter and x_prev */
    ddgan_disc_acts a;
    assert_int_equal(ddgan__disc_forward(&e.ex, &net, &c.xp, c.t, &c.xt, &a), DDGAN_OK);
    ddgan_tensor w = nt_proj_tensor(&e, batch, 1, 1, 1, 77);
    ddgan_tensor dxp = {0};
    memset(e.grads, 0, net.pt.total * 8);
    assert_int_equal(ddgan__disc_backward(&e.ex, &net, &a, &w, &dxp), DDGAN_OK);
    char what[160];
    snprintf(what, sizeof what, "D%s b%d d(w.logits)/dparams", large ? "large" : "small", batch);
    nt_fd_check(&e, what, e.params, net.pt.total, e.grads, fd_loss, &c, 1e-6, 1e-6, large ? 120 : 250);
    snprintf(what, sizeof what, "D%s b%d d(w.logits)/dx_prev", large ? "large" : "small", batch);
    nt_fd_check(&e, what, c.xp.data, ddgan__numel(&c.xp), dxp.data, fd_loss, &c, 1e-5, 1e-6, large ? 60 : 120);

    /* R1: the exact parameter gradient of the penalty against its finite differences */
    c.what = 1;
    memset(e.grads, 0, net.pt.total * 8);
    double pen = 0;
    assert_int_equal(ddgan__disc_r1(&e.ex, &net, &a, 0.7, NULL, &pen), DDGAN_OK);
    assert_true(pen > 0);
    snprintf(what, sizeof what, "D%s b%d dR1/dparams", large ? "large" : "small", batch);
    nt_fd_check(&e, what, e.params, net.pt.total, e.grads, fd_loss, &c, 1e-6, 1e-6, large ? 150 : 300);

    ddgan__disc_free(&net);
    nt_env_free(&e);
}

static void test_fd_small_batch4(void **state)
{
    (void)state;
    run_fd(4, 0);
}
static void test_fd_small_batch8(void **state)
{
    (void)state;
    run_fd(8, 0);
}
static void test_fd_small_batch3(void **state)
{
    (void)state;
    run_fd(3, 0);
}
static void test_fd_small_batch1(void **state)
{
    (void)state;
    run_fd(1, 0);
}
static void test_fd_large_batch4(void **state)
{
    (void)state;
    run_fd(4, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_f32),      cmocka_unit_test(test_golden_f64),
        cmocka_unit_test(test_fd_small_batch4), cmocka_unit_test(test_fd_small_batch8),
        cmocka_unit_test(test_fd_small_batch3), cmocka_unit_test(test_fd_small_batch1),
        cmocka_unit_test(test_fd_large_batch4),
    };
    return cmocka_run_group_tests_name("discriminator", tests, NULL, NULL);
}
