/* Dense (Linear) layer: y = x W^T + b, x [n, in], W [out, in]. */
#include "core/error.h"
#include "nn/layers.h"

ddgan_status_t ddgan__dense_init(ddgan_dense *L, ddgan_param_table *pt, const char *name, int in,
                                 int out, int has_bias, ddgan_init_kind init, double scale)
{
    if (in < 1 || out < 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "dense %s: invalid shape %d -> %d", name, in, out);
    L->in = in;
    L->out = out;
    L->has_bias = has_bias;
    const int64_t wshape[2] = {out, in};
    DDGAN_TRY(ddgan__params_add(pt, &L->w_off, 2, wshape, init, scale, "%s.weight", name));
    L->b_off = 0;
    if (has_bias) {
        const int64_t bshape[1] = {out};
        DDGAN_TRY(ddgan__params_add(pt, &L->b_off, 1, bshape, DDGAN_INIT_ZERO, 0.0, "%s.bias", name));
    }
    return DDGAN_OK;
}

static ddgan_status_t check_in(const ddgan_dense *L, const ddgan_tensor *x)
{
    if (x->c * x->h * x->w != L->in)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "dense: input [%d,%d,%d,%d] has not %d features",
                         x->n, x->c, x->h, x->w, L->in);
    return DDGAN_OK;
}

/* C [m, n] = alpha * op(A) op(B) + beta * C, one matrix */
static ddgan_status_t gemm(ddgan_exec *ex, int ta, int tb, int m, int n, int k, const void *a,
                           int64_t lda, const void *b, int64_t ldb, void *c, int64_t ldc, double beta)
{
    ddgan_matmul_desc d = {
        .dtype = ex->dt, .batch = 1, .m = m, .n = n, .k = k, .trans_a = ta, .trans_b = tb,
        .lda = lda, .ldb = ldb, .ldc = ldc, .alpha = 1.0, .beta = beta,
    };
    return DDGAN_K(ex, matmul, &d, a, b, c);
}

static ddgan_status_t add_bias(ddgan_exec *ex, const ddgan_dense *L, ddgan_tensor *y)
{
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, y->n, L->out, 1, 1);
    d.b_strides[0] = 0; /* the bias row broadcast over the batch */
    return DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, 1.0, y->data,
                   ddgan__param_ptr(ex, L->b_off), y->data, 0);
}

ddgan_status_t ddgan__dense_forward(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *x,
                                    ddgan_tensor *y)
{
    DDGAN_TRY(check_in(L, x));
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, L->out, 1, 1));
    DDGAN_TRY(gemm(ex, 0, 1, x->n, L->out, L->in, x->data, L->in, ddgan__param_ptr(ex, L->w_off),
                   L->in, y->data, L->out, 0.0));
    return L->has_bias ? add_bias(ex, L, y) : DDGAN_OK;
}

ddgan_status_t ddgan__dense_backward(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *x,
                                     const ddgan_tensor *dy, ddgan_tensor *dx)
{
    DDGAN_TRY(check_in(L, x));
    if (ex->grads) {
        /* dW [out, in] += dy^T x */
        DDGAN_TRY(gemm(ex, 1, 0, L->out, L->in, x->n, dy->data, L->out, x->data, L->in,
                       ddgan__grad_ptr(ex, L->w_off), L->in, 1.0));
        if (L->has_bias) {
            const int64_t shape[4] = {dy->n, L->out, 1, 1};
            DDGAN_TRY(DDGAN_K(ex, reduce, ex->dt, DDGAN_RED_SUM, shape, 1u,
                              dy->data, ddgan__grad_ptr(ex, L->b_off), 1));
        }
    }
    if (dx) {
        ddgan_status_t st = DDGAN_OK;
        int acc = ddgan__grad_target(ex, dx, x->n, x->c, x->h, x->w, &st);
        if (acc < 0)
            return st;
        /* dx [n, in] (+)= dy W */
        DDGAN_TRY(gemm(ex, 0, 0, x->n, L->in, L->out, dy->data, L->out,
                       ddgan__param_ptr(ex, L->w_off), L->in, dx->data, L->in, acc ? 1.0 : 0.0));
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__dense_jvp(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *u,
                                ddgan_tensor *out)
{
    DDGAN_TRY(check_in(L, u));
    DDGAN_TRY(ddgan__tensor_alloc(ex, out, u->n, L->out, 1, 1));
    return gemm(ex, 0, 1, u->n, L->out, L->in, u->data, L->in, ddgan__param_ptr(ex, L->w_off), L->in,
                out->data, L->out, 0.0);
}

ddgan_status_t ddgan__dense_r1_wgrad(ddgan_exec *ex, const ddgan_dense *L, const ddgan_tensor *u,
                                     const ddgan_tensor *g)
{
    /* d/dW <u W^T, g> = g^T u; the bias is not in J */
    if (!ex->grads)
        return DDGAN_OK;
    DDGAN_TRY(check_in(L, u));
    return gemm(ex, 1, 0, L->out, L->in, u->n, g->data, L->out, u->data, L->in,
                ddgan__grad_ptr(ex, L->w_off), L->in, 1.0);
}
