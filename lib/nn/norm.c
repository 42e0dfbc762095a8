/*
 * Group normalisation and AdaptiveGroupNorm (reference 2.2.2, 2.2.3).
 *
 * GroupNorm: one backend call each way; the saved mean / rstd [n, groups]
 * feed the backward.
 *
 * AdaGN: s = style(zemb) = zemb W^T + b (W [2C, z_dim], the dense_layer init
 * with fan_out and the bias [1..1, 0..0]); gamma = s[:, :C], beta = s[:, C:];
 * y = gamma * GN(x) + beta with GN non-affine. The style product is done with
 * matmul directly (no dependency on the dense layer), and the struct's
 * ddgan_dense is filled so that the same parameters can be used as a dense
 * layer. Backward:
 *   dgamma[n, c] = sum_hw dy * GN(x),  dbeta[n, c] = sum_hw dy
 *   d(GN(x)) = gamma * dy  -> GroupNorm backward -> dx
 *   ds = [dgamma, dbeta]:  dW += ds^T zemb,  db += sum_n ds,  dzemb (+)= ds W
 */
#include <string.h>

#include "core/error.h"
#include "nn/layers.h"

/* ------------------------------------------------------------------------ */
/* GroupNorm */

ddgan_status_t ddgan__group_norm_init(ddgan_group_norm *L, ddgan_param_table *pt, const char *name,
                                      int c, int groups, double eps, int affine)
{
    memset(L, 0, sizeof *L);
    if (c < 1 || groups < 1 || c % groups != 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "GroupNorm %s: %d channels not divisible by %d groups", name, c, groups);
    if (!(eps > 0.0))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "GroupNorm %s: eps must be positive", name);
    L->c = c;
    L->groups = groups;
    L->eps = eps;
    L->affine = affine ? 1 : 0;
    if (L->affine) {
        int64_t shape[1] = {c};
        DDGAN_TRY(ddgan__params_add(pt, &L->w_off, 1, shape, DDGAN_INIT_ONES, 1.0, "%s.weight",
                                    name));
        DDGAN_TRY(ddgan__params_add(pt, &L->b_off, 1, shape, DDGAN_INIT_ZERO, 1.0, "%s.bias", name));
    }
    return DDGAN_OK;
}

static void gn_desc(const ddgan_exec *ex, const ddgan_group_norm *L, const ddgan_tensor *x,
                    ddgan_group_norm_desc *d)
{
    memset(d, 0, sizeof *d);
    d->dtype = ex->dt;
    d->n = x->n;
    d->c = x->c;
    d->hw = x->h * x->w;
    d->groups = L->groups;
    d->eps = L->eps;
}

ddgan_status_t ddgan__group_norm_forward(ddgan_exec *ex, const ddgan_group_norm *L,
                                         const ddgan_tensor *x, ddgan_gn_saved *s, ddgan_tensor *y)
{
    if (x->c != L->c)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "GroupNorm: input has %d channels, layer %d", x->c,
                         L->c);
    ddgan_group_norm_desc d;
    gn_desc(ex, L, x, &d);
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s->mean, x->n, L->groups, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s->rstd, x->n, L->groups, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, x->c, x->h, x->w));
    const void *gamma = L->affine ? ddgan__param_ptr(ex, L->w_off) : NULL;
    const void *beta = L->affine ? ddgan__param_ptr(ex, L->b_off) : NULL;
    return DDGAN_K(ex, group_norm_fwd, &d, x->data, gamma, beta, y->data, s->mean.data,
                   s->rstd.data);
}

ddgan_status_t ddgan__group_norm_backward(ddgan_exec *ex, const ddgan_group_norm *L,
                                          const ddgan_tensor *x, const ddgan_gn_saved *s,
                                          const ddgan_tensor *dy, ddgan_tensor *dx)
{
    if (x->c != L->c || dy->n != x->n || dy->c != x->c || dy->h != x->h || dy->w != x->w)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "GroupNorm backward: shape mismatch");
    ddgan_group_norm_desc d;
    gn_desc(ex, L, x, &d);
    void *dgamma = L->affine ? ddgan__grad_ptr(ex, L->w_off) : NULL;
    void *dbeta = L->affine ? ddgan__grad_ptr(ex, L->b_off) : NULL;
    const void *gamma = L->affine ? ddgan__param_ptr(ex, L->w_off) : NULL;
    void *dxp = NULL;
    int acc = 1;
    if (dx) {
        ddgan_status_t st = DDGAN_OK;
        acc = ddgan__grad_target(ex, dx, x->n, x->c, x->h, x->w, &st);
        if (acc < 0)
            return st;
        dxp = dx->data;
        /* One call with one accumulate flag: the weight gradients always
         * accumulate, so a fresh dx is zeroed first. */
        if (!acc && dgamma) {
            DDGAN_TRY(ddgan__tensor_zero(ex, dx));
            acc = 1;
        }
    }
    if (!dxp && !dgamma)
        return DDGAN_OK;
    return DDGAN_K(ex, group_norm_bwd, &d, dy->data, x->data, s->mean.data, s->rstd.data, gamma,
                   dxp, dgamma, dbeta, acc);
}

/* ------------------------------------------------------------------------ */
/* AdaptiveGroupNorm */

static int adagn_groups(int c) { return c / 4 < 32 ? c / 4 : 32; }

ddgan_status_t ddgan__adagn_init(ddgan_adagn *L, ddgan_param_table *pt, const char *name, int c,
                                 int z_dim)
{
    memset(L, 0, sizeof *L);
    DDGAN_TRY(ddgan__group_norm_init(&L->gn, pt, name, c, adagn_groups(c), 1e-6, 0));
    if (z_dim < 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "AdaGN %s: z_dim %d", name, z_dim);
    L->style.in = z_dim;
    L->style.out = 2 * c;
    L->style.has_bias = 1;
    int64_t wshape[2] = {2 * (int64_t)c, z_dim};
    int64_t bshape[1] = {2 * (int64_t)c};
    DDGAN_TRY(ddgan__params_add(pt, &L->style.w_off, 2, wshape, DDGAN_INIT_FAN_OUT_UNIFORM, 1.0,
                                "%s.style.weight", name));
    DDGAN_TRY(ddgan__params_add(pt, &L->style.b_off, 1, bshape, DDGAN_INIT_STYLE_BIAS, 1.0,
                                "%s.style.bias", name));
    return DDGAN_OK;
}

/* Strides of a [n, c] block that lives in a [n, 2c] style tensor, broadcast over h, w. */
static void style_strides(int64_t st[4], int c)
{
    st[0] = 2 * (int64_t)c;
    st[1] = 1;
    st[2] = 0;
    st[3] = 0;
}

/* style: s = zemb W^T + b, [n, 2C] */
static ddgan_status_t adagn_style(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                  const ddgan_tensor *zemb, ddgan_tensor *style)
{
    const int c = L->gn.c, z = L->style.in;
    if (x->c != c || zemb->n != x->n || zemb->c * zemb->h * zemb->w != z)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL,
                         "AdaGN: x [%d,%d,%d,%d] / zemb [%d,%d,%d,%d] do not match C %d, z_dim %d",
                         x->n, x->c, x->h, x->w, zemb->n, zemb->c, zemb->h, zemb->w, c, z);
    DDGAN_TRY(ddgan__tensor_alloc(ex, style, x->n, 2 * c, 1, 1));
    ddgan_matmul_desc md;
    memset(&md, 0, sizeof md);
    md.dtype = ex->dt;
    md.batch = 1;
    md.m = x->n;
    md.n = 2 * c;
    md.k = z;
    md.trans_b = 1;
    md.lda = z;
    md.ldb = z;
    md.ldc = 2 * c;
    md.alpha = 1.0;
    md.beta = 0.0;
    DDGAN_TRY(DDGAN_K(ex, matmul, &md, zemb->data, ddgan__param_ptr(ex, L->style.w_off),
                      style->data));
    ddgan_ew_desc e;
    ddgan__ew_dense(&e, ex->dt, x->n, 2 * c, 1, 1);
    e.b_strides[0] = 0; /* bias broadcast over n */
    return DDGAN_K(ex, binary, &e, DDGAN_BIN_AXPBY, 1.0, 1.0, style->data,
                   ddgan__param_ptr(ex, L->style.b_off), style->data, 0);
}

ddgan_status_t ddgan__adagn_stats(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                  const ddgan_tensor *zemb, ddgan_adagn_saved *s)
{
    DDGAN_TRY(adagn_style(ex, L, x, zemb, &s->style));
    /* normalise */
    return ddgan__group_norm_forward(ex, &L->gn, x, &s->gn, &s->normed);
}

ddgan_status_t ddgan__adagn_act_forward(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                        const ddgan_tensor *zemb, ddgan_act act, double alpha,
                                        ddgan_tensor *y)
{
    ddgan_tensor style;
    DDGAN_TRY(adagn_style(ex, L, x, zemb, &style));
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, x->c, x->h, x->w));
    if (ex->arena->planning)
        return DDGAN_OK;
    ddgan_group_norm_desc d;
    gn_desc(ex, &L->gn, x, &d);
    if (ex->k->adagn_act_fwd)
        return ex->k->adagn_act_fwd(ex->be, &d, x->data, style.data, act, alpha, y->data);
    return ddgan__adagn_act_compose(ex->k, ex->be, &d, x->data, style.data, act, alpha, y->data);
}

ddgan_status_t ddgan__adagn_apply(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_adagn_saved *s,
                                  ddgan_tensor *y)
{
    /* y = gamma * normed + beta */
    const int c = L->gn.c;
    const ddgan_tensor *x = &s->normed;
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, c, x->h, x->w));
    ddgan_ew_desc e;
    ddgan__ew_dense(&e, ex->dt, x->n, c, x->h, x->w);
    style_strides(e.b_strides, c);
    DDGAN_TRY(DDGAN_K(ex, binary, &e, DDGAN_BIN_MUL, 1.0, 0.0, s->normed.data, s->style.data,
                      y->data, 0));
    const void *beta = (const char *)s->style.data + (size_t)c * ex->dsz;
    DDGAN_TRY(DDGAN_K(ex, binary, &e, DDGAN_BIN_AXPBY, 1.0, 1.0, y->data, beta, y->data, 0));
    return DDGAN_OK;
}

ddgan_status_t ddgan__adagn_forward(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                    const ddgan_tensor *zemb, ddgan_adagn_saved *s, ddgan_tensor *y)
{
    DDGAN_TRY(ddgan__adagn_stats(ex, L, x, zemb, s));
    return ddgan__adagn_apply(ex, L, s, y);
}

ddgan_status_t ddgan__adagn_backward(ddgan_exec *ex, const ddgan_adagn *L, const ddgan_tensor *x,
                                     const ddgan_tensor *zemb, const ddgan_adagn_saved *s,
                                     const ddgan_tensor *dy, ddgan_tensor *dx,
                                     ddgan_tensor *dzemb)
{
    const int c = L->gn.c, z = L->style.in;
    const int n = x->n, h = x->h, w = x->w;
    if (x->c != c || dy->n != n || dy->c != c || dy->h != h || dy->w != w || zemb->n != n ||
        zemb->c * zemb->h * zemb->w != z)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "AdaGN backward: shape mismatch");
    void *dW = ddgan__grad_ptr(ex, L->style.w_off);
    void *db = ddgan__grad_ptr(ex, L->style.b_off);
    ddgan_status_t st = DDGAN_OK;

    /* gradient targets first: they outlive the temporaries released below */
    int acc_dx = 0, acc_dz = 0;
    if (dx && (acc_dx = ddgan__grad_target(ex, dx, n, c, h, w, &st)) < 0)
        return st;
    if (dzemb && (acc_dz = ddgan__grad_target(ex, dzemb, n, zemb->c, zemb->h, zemb->w, &st)) < 0)
        return st;
    if (!dx && !dzemb && !dW)
        return DDGAN_OK;

    ddgan_arena *a = ex->arena;
    size_t mark = ddgan__arena_mark(a);

    if (dx) {
        /* d(normed) = gamma * dy, then through the normalisation */
        ddgan_tensor dn;
        if ((st = ddgan__tensor_alloc(ex, &dn, n, c, h, w)) != DDGAN_OK)
            goto out;
        ddgan_ew_desc e;
        ddgan__ew_dense(&e, ex->dt, n, c, h, w);
        style_strides(e.b_strides, c);
        if ((st = DDGAN_K(ex, binary, &e, DDGAN_BIN_MUL, 1.0, 0.0, dy->data, s->style.data,
                          dn.data, 0)) != DDGAN_OK)
            goto out;
        /* the GN here is non-affine, so its backward only writes dx */
        ddgan_group_norm_desc d;
        gn_desc(ex, &L->gn, x, &d);
        if ((st = DDGAN_K(ex, group_norm_bwd, &d, dn.data, x->data, s->gn.mean.data,
                          s->gn.rstd.data, NULL, dx->data, NULL, NULL, acc_dx)) != DDGAN_OK)
            goto out;
        ddgan__arena_release(a, mark);
    }

    if (dzemb || dW) {
        /* ds = [sum_hw dy * normed, sum_hw dy] as [n, 2C] */
        ddgan_tensor ds, prod, red;
        if ((st = ddgan__tensor_alloc(ex, &ds, n, 2 * c, 1, 1)) != DDGAN_OK ||
            (st = ddgan__tensor_alloc(ex, &prod, n, c, h, w)) != DDGAN_OK ||
            (st = ddgan__tensor_alloc(ex, &red, n, c, 1, 1)) != DDGAN_OK)
            goto out;
        ddgan_ew_desc e;
        ddgan__ew_dense(&e, ex->dt, n, c, h, w);
        if ((st = DDGAN_K(ex, binary, &e, DDGAN_BIN_MUL, 1.0, 0.0, dy->data, s->normed.data,
                          prod.data, 0)) != DDGAN_OK)
            goto out;
        int64_t shape[4] = {n, c, (int64_t)h * w, 1};
        ddgan_ew_desc cp; /* copy of a dense [n, c] into one half of ds */
        ddgan__ew_dense(&cp, ex->dt, n, c, 1, 1);
        cp.out_strides[0] = 2 * (int64_t)c;
        cp.out_strides[1] = 1;
        if ((st = DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, 1u << 2, prod.data, red.data,
                          0)) != DDGAN_OK ||
            (st = DDGAN_K(ex, unary, &cp, DDGAN_UN_SCALE, 1.0, 0.0, red.data, ds.data, 0)) !=
                DDGAN_OK)
            goto out;
        void *ds_beta = (char *)ds.data + (size_t)c * ex->dsz;
        if ((st = DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, 1u << 2, dy->data, red.data,
                          0)) != DDGAN_OK ||
            (st = DDGAN_K(ex, unary, &cp, DDGAN_UN_SCALE, 1.0, 0.0, red.data, ds_beta, 0)) !=
                DDGAN_OK)
            goto out;

        ddgan_matmul_desc md;
        if (dW) {
            /* dW [2C, z] += ds^T [2C, n] zemb [n, z] */
            memset(&md, 0, sizeof md);
            md.dtype = ex->dt;
            md.batch = 1;
            md.m = 2 * c;
            md.n = z;
            md.k = n;
            md.trans_a = 1;
            md.lda = 2 * c;
            md.ldb = z;
            md.ldc = z;
            md.alpha = 1.0;
            md.beta = 1.0;
            if ((st = DDGAN_K(ex, matmul, &md, ds.data, zemb->data, dW)) != DDGAN_OK)
                goto out;
            int64_t bs[4] = {n, 2 * (int64_t)c, 1, 1};
            if ((st = DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, bs, 1u << 0, ds.data, db, 1)) !=
                DDGAN_OK)
                goto out;
        }
        if (dzemb) {
            /* dzemb [n, z] (+)= ds [n, 2C] W [2C, z] */
            memset(&md, 0, sizeof md);
            md.dtype = ex->dt;
            md.batch = 1;
            md.m = n;
            md.n = z;
            md.k = 2 * c;
            md.lda = 2 * c;
            md.ldb = z;
            md.ldc = z;
            md.alpha = 1.0;
            md.beta = acc_dz ? 1.0 : 0.0;
            if ((st = DDGAN_K(ex, matmul, &md, ds.data, ddgan__param_ptr(ex, L->style.w_off),
                              dzemb->data)) != DDGAN_OK)
                goto out;
        }
    }
out:
    ddgan__arena_release(a, mark);
    return st;
}
