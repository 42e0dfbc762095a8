/*
 * Self-attention block AttnBlockpp (reference 2.4). Per example, with the
 * channels-by-positions matrices X, H, Q, K, V, O of [C, P] (P = H*W, row-major
 * positions):
 *   H = GN(X);  Q = W0^T H + b0;  K = W1^T H + b1;  V = W2^T H + b2
 *   S = Q^T K / sqrt(C)              [P, P'] (query rows, key columns)
 *   A = softmax over each row of S
 *   O = V A^T                        [C, P]
 *   Y = (X + W3^T O + b3) / sqrt(2)
 * NIN weights are stored [in, out], so W^T H is a matmul with trans_a.
 * Backward (G = dY / sqrt(2)):
 *   dX  = G + GN^T(dH)
 *   dW3 += sum_n O G^T,  db3 += sum G,  dO = W3 G
 *   dV  = dO A,  dA = dO^T V,  dS = softmax^T(dA)
 *   dQ  = K dS^T / sqrt(C),  dK = Q dS / sqrt(C)
 *   dH  = W0 dQ + W1 dK + W2 dV (and dWi += sum_n H dQi^T, dbi += sum dQi)
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "nn/layers.h"

/* ------------------------------------------------------------------------ */
/* NIN: per-pixel linear map y[n, o, p] = sum_i x[n, i, p] W[i, o] + b[o]. */

static ddgan_status_t nin_init(ddgan_nin *L, ddgan_param_table *pt, const char *name, int k,
                               int in, int out, double scale)
{
    L->in = in;
    L->out = out;
    int64_t wshape[2] = {in, out};
    int64_t bshape[1] = {out};
    DDGAN_TRY(ddgan__params_add(pt, &L->w_off, 2, wshape, DDGAN_INIT_FAN_AVG_UNIFORM, scale,
                                "%s.NIN_%d.W", name, k));
    DDGAN_TRY(ddgan__params_add(pt, &L->b_off, 1, bshape, DDGAN_INIT_ZERO, 1.0, "%s.NIN_%d.b", name,
                                k));
    return DDGAN_OK;
}

static void mm_init(ddgan_matmul_desc *d, ddgan_dtype dt)
{
    memset(d, 0, sizeof *d);
    d->dtype = dt;
    d->alpha = 1.0;
}

/* y [n, out, h, w] (allocated) = NIN(x) */
static ddgan_status_t nin_forward(ddgan_exec *ex, const ddgan_nin *L, const ddgan_tensor *x,
                                  ddgan_tensor *y)
{
    const int n = x->n, p = x->h * x->w;
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, n, L->out, x->h, x->w));
    ddgan_matmul_desc d;
    mm_init(&d, ex->dt);
    d.batch = n;
    d.m = L->out;
    d.n = p;
    d.k = L->in;
    d.trans_a = 1; /* W [in, out] read as W^T [out, in] */
    d.lda = L->out;
    d.ldb = p;
    d.ldc = p;
    d.stride_a = 0;
    d.stride_b = (int64_t)L->in * p;
    d.stride_c = (int64_t)L->out * p;
    DDGAN_TRY(DDGAN_K(ex, matmul, &d, ddgan__param_ptr(ex, L->w_off), x->data, y->data));
    ddgan_ew_desc e;
    ddgan__ew_dense(&e, ex->dt, n, L->out, x->h, x->w);
    e.b_strides[0] = 0;
    e.b_strides[1] = 1;
    e.b_strides[2] = 0;
    e.b_strides[3] = 0;
    return DDGAN_K(ex, binary, &e, DDGAN_BIN_AXPBY, 1.0, 1.0, y->data,
                   ddgan__param_ptr(ex, L->b_off), y->data, 0);
}

/* Weight gradients from the input x and the output gradient dy (skipped
 * without ex->grads); dx (+)= W dy when dx_data is set (dx_acc selects). */
static ddgan_status_t nin_backward(ddgan_exec *ex, const ddgan_nin *L, const ddgan_tensor *x,
                                   const ddgan_tensor *dy, void *dx_data, int dx_acc)
{
    const int n = x->n, p = x->h * x->w;
    void *dW = ddgan__grad_ptr(ex, L->w_off);
    void *db = ddgan__grad_ptr(ex, L->b_off);
    ddgan_matmul_desc d;
    if (dW) {
        /* dW [in, out] += X_n [in, P] dY_n^T [P, out], summed over n in order */
        mm_init(&d, ex->dt);
        d.batch = 1;
        d.m = L->in;
        d.n = L->out;
        d.k = p;
        d.trans_b = 1;
        d.lda = p;
        d.ldb = p;
        d.ldc = L->out;
        d.beta = 1.0;
        for (int i = 0; i < n; i++) {
            const char *xa = (const char *)x->data + (size_t)i * L->in * p * ex->dsz;
            const char *ya = (const char *)dy->data + (size_t)i * L->out * p * ex->dsz;
            DDGAN_TRY(DDGAN_K(ex, matmul, &d, xa, ya, dW));
        }
        int64_t shape[4] = {n, L->out, p, 1};
        DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, (1u << 0) | (1u << 2),
                          dy->data, db, 1));
    }
    if (dx_data) {
        /* dX_n [in, P] (+)= W [in, out] dY_n [out, P] */
        mm_init(&d, ex->dt);
        d.batch = n;
        d.m = L->in;
        d.n = p;
        d.k = L->out;
        d.lda = L->out;
        d.ldb = p;
        d.ldc = p;
        d.stride_a = 0;
        d.stride_b = (int64_t)L->out * p;
        d.stride_c = (int64_t)L->in * p;
        d.beta = dx_acc ? 1.0 : 0.0;
        DDGAN_TRY(DDGAN_K(ex, matmul, &d, ddgan__param_ptr(ex, L->w_off), dy->data, dx_data));
    }
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */

ddgan_status_t ddgan__attn_init(ddgan_attn *L, ddgan_param_table *pt, const char *name, int c)
{
    memset(L, 0, sizeof *L);
    if (c < 4)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "attention %s: %d channels (GroupNorm needs at least 4)", name, c);
    L->c = c;
    int groups = c / 4 < 32 ? c / 4 : 32;
    char gn_name[DDGAN_PARAM_NAME_MAX];
    int len = snprintf(gn_name, sizeof gn_name, "%s.GroupNorm_0", name);
    if (len < 0 || (size_t)len >= sizeof gn_name)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "attention %s: name too long", name);
    DDGAN_TRY(ddgan__group_norm_init(&L->gn, pt, gn_name, c, groups, 1e-6, 1));
    for (int k = 0; k < 4; k++) /* NIN_3: init_scale 0, which the official code turns into 1e-10 */
        DDGAN_TRY(nin_init(&L->nin[k], pt, name, k, c, c, k < 3 ? 0.1 : 1e-10));
    return DDGAN_OK;
}

ddgan_status_t ddgan__attn_forward(ddgan_exec *ex, const ddgan_attn *L, const ddgan_tensor *x,
                                   ddgan_attn_saved *s, ddgan_tensor *y)
{
    const int n = x->n, c = L->c, p = x->h * x->w;
    if (x->c != c)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "attention: input has %d channels, layer %d", x->c, c);
    DDGAN_TRY(ddgan__group_norm_forward(ex, &L->gn, x, &s->gn, &s->h));
    DDGAN_TRY(nin_forward(ex, &L->nin[0], &s->h, &s->q));
    DDGAN_TRY(nin_forward(ex, &L->nin[1], &s->h, &s->k));
    DDGAN_TRY(nin_forward(ex, &L->nin[2], &s->h, &s->v));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s->w, n, p, p, 1));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s->o, n, c, x->h, x->w));

    ddgan_arena *a = ex->arena;
    size_t mark = ddgan__arena_mark(a);
    ddgan_status_t st;
    ddgan_tensor logits;
    if ((st = ddgan__tensor_alloc(ex, &logits, n, p, p, 1)) != DDGAN_OK)
        goto out;
    /* S [P, P'] = Q^T [P, C] K [C, P'] / sqrt(C) */
    ddgan_matmul_desc d;
    mm_init(&d, ex->dt);
    d.batch = n;
    d.m = p;
    d.n = p;
    d.k = c;
    d.trans_a = 1;
    d.lda = p;
    d.ldb = p;
    d.ldc = p;
    d.stride_a = d.stride_b = (int64_t)c * p;
    d.stride_c = (int64_t)p * p;
    d.alpha = 1.0 / sqrt((double)c);
    if ((st = DDGAN_K(ex, matmul, &d, s->q.data, s->k.data, logits.data)) != DDGAN_OK)
        goto out;
    if ((st = DDGAN_K(ex, softmax_fwd, ex->dt, (size_t)n * p, (size_t)p, logits.data,
                      s->w.data)) != DDGAN_OK)
        goto out;
    /* O [C, P] = V [C, P'] A^T [P', P] */
    mm_init(&d, ex->dt);
    d.batch = n;
    d.m = c;
    d.n = p;
    d.k = p;
    d.trans_b = 1;
    d.lda = p;
    d.ldb = p;
    d.ldc = p;
    d.stride_a = (int64_t)c * p;
    d.stride_b = (int64_t)p * p;
    d.stride_c = (int64_t)c * p;
    if ((st = DDGAN_K(ex, matmul, &d, s->v.data, s->w.data, s->o.data)) != DDGAN_OK)
        goto out;
    ddgan__arena_release(a, mark);

    /* y = (x + NIN_3(o)) / sqrt(2) */
    DDGAN_TRY(nin_forward(ex, &L->nin[3], &s->o, y));
    ddgan_ew_desc e;
    ddgan__ew_dense(&e, ex->dt, n, c, x->h, x->w);
    const double r2 = 1.0 / sqrt(2.0);
    return DDGAN_K(ex, binary, &e, DDGAN_BIN_AXPBY, r2, r2, x->data, y->data, y->data, 0);
out:
    ddgan__arena_release(a, mark);
    return st;
}

ddgan_status_t ddgan__attn_backward(ddgan_exec *ex, const ddgan_attn *L, const ddgan_tensor *x,
                                    const ddgan_attn_saved *s, const ddgan_tensor *dy,
                                    ddgan_tensor *dx)
{
    const int n = x->n, c = L->c, hh = x->h, ww = x->w, p = hh * ww;
    if (x->c != c || dy->n != n || dy->c != c || dy->h != hh || dy->w != ww)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "attention backward: shape mismatch");
    if (!dx && !ex->grads)
        return DDGAN_OK;
    ddgan_status_t st = DDGAN_OK;
    int acc_dx = 0;
    if (dx && (acc_dx = ddgan__grad_target(ex, dx, n, c, hh, ww, &st)) < 0)
        return st;

    ddgan_arena *a = ex->arena;
    size_t mark = ddgan__arena_mark(a);
    const double r2 = 1.0 / sqrt(2.0), rc = 1.0 / sqrt((double)c);
    ddgan_tensor g, dO, dbuf, dh, dA, dS;
    if ((st = ddgan__tensor_alloc(ex, &g, n, c, hh, ww)) != DDGAN_OK ||
        (st = ddgan__tensor_alloc(ex, &dO, n, c, hh, ww)) != DDGAN_OK ||
        (st = ddgan__tensor_alloc(ex, &dbuf, n, c, hh, ww)) != DDGAN_OK ||
        (st = ddgan__tensor_alloc(ex, &dh, n, c, hh, ww)) != DDGAN_OK ||
        (st = ddgan__tensor_alloc(ex, &dA, n, p, p, 1)) != DDGAN_OK ||
        (st = ddgan__tensor_alloc(ex, &dS, n, p, p, 1)) != DDGAN_OK)
        goto out;

    /* g = dy / sqrt(2): the gradient of both the residual and NIN_3's output */
    ddgan_ew_desc e;
    ddgan__ew_dense(&e, ex->dt, n, c, hh, ww);
    if ((st = DDGAN_K(ex, unary, &e, DDGAN_UN_SCALE, r2, 0.0, dy->data, g.data, 0)) != DDGAN_OK)
        goto out;
    if (dx && (st = DDGAN_K(ex, unary, &e, DDGAN_UN_SCALE, r2, 0.0, dy->data, dx->data, acc_dx)) !=
                  DDGAN_OK)
        goto out;

    /* NIN_3 */
    if ((st = nin_backward(ex, &L->nin[3], &s->o, &g, dO.data, 0)) != DDGAN_OK)
        goto out;

    ddgan_matmul_desc d;
    /* dV [C, P'] = dO [C, P] A [P, P'] */
    mm_init(&d, ex->dt);
    d.batch = n;
    d.m = c;
    d.n = p;
    d.k = p;
    d.lda = p;
    d.ldb = p;
    d.ldc = p;
    d.stride_a = (int64_t)c * p;
    d.stride_b = (int64_t)p * p;
    d.stride_c = (int64_t)c * p;
    if ((st = DDGAN_K(ex, matmul, &d, dO.data, s->w.data, dbuf.data)) != DDGAN_OK)
        goto out;
    if ((st = nin_backward(ex, &L->nin[2], &s->h, &dbuf, dh.data, 0)) != DDGAN_OK)
        goto out;

    /* dA [P, P'] = dO^T [P, C] V [C, P'] */
    mm_init(&d, ex->dt);
    d.batch = n;
    d.m = p;
    d.n = p;
    d.k = c;
    d.trans_a = 1;
    d.lda = p;
    d.ldb = p;
    d.ldc = p;
    d.stride_a = d.stride_b = (int64_t)c * p;
    d.stride_c = (int64_t)p * p;
    if ((st = DDGAN_K(ex, matmul, &d, dO.data, s->v.data, dA.data)) != DDGAN_OK)
        goto out;
    if ((st = DDGAN_K(ex, softmax_bwd, ex->dt, (size_t)n * p, (size_t)p, s->w.data, dA.data,
                      dS.data, 0)) != DDGAN_OK)
        goto out;

    /* dQ [C, P] = K [C, P'] dS^T [P', P] / sqrt(C) */
    mm_init(&d, ex->dt);
    d.batch = n;
    d.m = c;
    d.n = p;
    d.k = p;
    d.trans_b = 1;
    d.lda = p;
    d.ldb = p;
    d.ldc = p;
    d.stride_a = (int64_t)c * p;
    d.stride_b = (int64_t)p * p;
    d.stride_c = (int64_t)c * p;
    d.alpha = rc;
    if ((st = DDGAN_K(ex, matmul, &d, s->k.data, dS.data, dbuf.data)) != DDGAN_OK)
        goto out;
    if ((st = nin_backward(ex, &L->nin[0], &s->h, &dbuf, dh.data, 1)) != DDGAN_OK)
        goto out;

    /* dK [C, P'] = Q [C, P] dS [P, P'] / sqrt(C) */
    d.trans_b = 0;
    if ((st = DDGAN_K(ex, matmul, &d, s->q.data, dS.data, dbuf.data)) != DDGAN_OK)
        goto out;
    if ((st = nin_backward(ex, &L->nin[1], &s->h, &dbuf, dh.data, 1)) != DDGAN_OK)
        goto out;

    /* through the GroupNorm: dx += GN^T(dh), GN weight / bias gradients */
    if (dx) {
        ddgan_tensor dxa = *dx; /* already holds g: accumulate */
        st = ddgan__group_norm_backward(ex, &L->gn, x, &s->gn, &dh, &dxa);
    } else {
        st = ddgan__group_norm_backward(ex, &L->gn, x, &s->gn, &dh, NULL);
    }
out:
    ddgan__arena_release(a, mark);
    return st;
}
