#include "nn_test_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/philox.h"

void nt_env_init(nt_env *e, ddgan_dtype dt, int threads, size_t arena_mb)
{
    memset(e, 0, sizeof *e);
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.num_threads = threads;
    assert_int_equal(ddgan_context_create(&e->ctx, &cfg), DDGAN_OK);
    e->arena.cap = arena_mb << 20;
    ddgan_backend *be = e->ctx->backend;
    void *p = NULL;
    assert_int_equal(be->ops->alloc(be, e->arena.cap, &p), DDGAN_OK);
    e->arena.base = p;
    e->ex.be = be;
    e->ex.k = be->ops->compute;
    e->ex.dt = dt;
    e->ex.dsz = ddgan_dtype_size(dt);
    e->ex.arena = &e->arena;
    ddgan__params_init(&e->pt);
}

void nt_env_alloc_params(nt_env *e, uint64_t seed, double scale)
{
    ddgan_backend *be = e->ctx->backend;
    size_t n = e->pt.total ? e->pt.total : 1;
    assert_int_equal(be->ops->alloc(be, n * e->ex.dsz, &e->params), DDGAN_OK);
    assert_int_equal(be->ops->alloc(be, n * e->ex.dsz, &e->grads), DDGAN_OK);
    for (size_t i = 0; i < n; i++) {
        float u;
        ddgan__philox_uniform(seed, 7, i, &u, 1);
        nt_set(e, e->params, i, (2.0 * u - 1.0) * scale);
        nt_set(e, e->grads, i, 0.0);
    }
    e->ex.params = e->params;
    e->ex.grads = e->grads;
}

void nt_env_free(nt_env *e)
{
    ddgan_backend *be = e->ctx->backend;
    be->ops->free(be, e->arena.base);
    if (e->params)
        be->ops->free(be, e->params);
    if (e->grads)
        be->ops->free(be, e->grads);
    ddgan__params_free(&e->pt);
    ddgan_context_destroy(e->ctx);
}

double nt_get(const nt_env *e, const void *base, size_t i)
{
    return e->ex.dt == DDGAN_DT_F64 ? ((const double *)base)[i] : (double)((const float *)base)[i];
}

void nt_set(const nt_env *e, void *base, size_t i, double v)
{
    if (e->ex.dt == DDGAN_DT_F64)
        ((double *)base)[i] = v;
    else
        ((float *)base)[i] = (float)v;
}

ddgan_tensor nt_rand_tensor(nt_env *e, int n, int c, int h, int w, uint64_t seed, double lo, double hi)
{
    ddgan_tensor t;
    assert_int_equal(ddgan__tensor_alloc(&e->ex, &t, n, c, h, w), DDGAN_OK);
    size_t cnt = ddgan__numel(&t);
    for (size_t i = 0; i < cnt; i++) {
        float u;
        ddgan__philox_uniform(seed, 11, i, &u, 1);
        nt_set(e, t.data, i, lo + (hi - lo) * (double)u);
    }
    return t;
}

double nt_project(const nt_env *e, const ddgan_tensor *t, uint64_t seed)
{
    size_t cnt = ddgan__numel(t);
    double s = 0.0;
    for (size_t i = 0; i < cnt; i++) {
        float u;
        ddgan__philox_uniform(seed, 13, i, &u, 1);
        s += (2.0 * (double)u - 1.0) * nt_get(e, t->data, i);
    }
    return s;
}

ddgan_tensor nt_proj_tensor(nt_env *e, int n, int c, int h, int w, uint64_t seed)
{
    ddgan_tensor t;
    assert_int_equal(ddgan__tensor_alloc(&e->ex, &t, n, c, h, w), DDGAN_OK);
    size_t cnt = ddgan__numel(&t);
    for (size_t i = 0; i < cnt; i++) {
        float u;
        ddgan__philox_uniform(seed, 13, i, &u, 1);
        nt_set(e, t.data, i, 2.0 * (double)u - 1.0);
    }
    return t;
}

double nt_fd_check(nt_env *e, const char *what, void *base, size_t count, const void *analytic,
                   nt_loss_fn loss, void *user, double h, double tol, size_t max_checks)
{
    double scale = 0.0;
    for (size_t i = 0; i < count; i++)
        scale = fmax(scale, fabs(nt_get(e, analytic, i)));
    size_t step = count > max_checks ? count / max_checks : 1;
    double worst = 0.0;
    size_t worst_i = 0;
    double worst_fd = 0, worst_an = 0;
    for (size_t i = 0; i < count; i += step) {
        double orig = nt_get(e, base, i);
        nt_set(e, base, i, orig + h);
        double lp = loss(user);
        nt_set(e, base, i, orig - h);
        double lm = loss(user);
        nt_set(e, base, i, orig);
        double fd = (lp - lm) / (2.0 * h);
        double an = nt_get(e, analytic, i);
        double err = fabs(fd - an) / fmax(scale, 1e-30);
        if (err > worst || isnan(err)) {
            worst = isnan(err) ? INFINITY : err;
            worst_i = i;
            worst_fd = fd;
            worst_an = an;
        }
    }
    print_message("    fd %-40s worst rel err %.2e (of %zu checked)\n", what, worst,
                  (count + step - 1) / step);
    if (!(worst <= tol)) {
        print_error("%s: [%zu] finite difference %.12g vs analytic %.12g (rel %.3g > %.3g)\n", what,
                    worst_i, worst_fd, worst_an, worst, tol);
        fail();
    }
    return worst;
}
