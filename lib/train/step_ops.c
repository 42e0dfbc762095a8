/* Per-example helpers of the DDGAN and DDPM training steps (train/step_ops.h). */
#include "train/step_ops.h"

#include "core/error.h"
#include "core/philox.h"

ddgan_status_t ddgan__step_alloc(ddgan_step_ctx *c, ddgan_tensor *t, int ch, int h, int w)
{
    return ddgan__tensor_alloc(c->ex, t, c->B, ch, h, w);
}

ddgan_status_t ddgan__step_draw_t(ddgan_step_ctx *c, int T, int64_t *t, const int64_t *given,
                                  const char *who)
{
    float u[4];
    for (int b = 0; b < c->B; b += 4) {
        ddgan__philox_uniform(c->seed, c->stream, c->block + (uint64_t)b / 4, u, 4);
        for (int k = 0; k < 4 && b + k < c->B; k++) {
            int v = (int)((double)u[k] * T);
            t[b + k] = v < T ? v : T - 1;
        }
    }
    c->block += ddgan__philox_blocks((size_t)c->B);
    if (given) {
        for (int b = 0; b < c->B; b++) {
            if (given[b] < 0 || given[b] >= T)
                return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: t[%d] = %lld not in [0, %d]", who, b,
                                 (long long)given[b], T - 1);
            t[b] = given[b];
        }
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__step_draw_normal(ddgan_step_ctx *c, ddgan_tensor *t, const float *given)
{
    const size_t n = ddgan__numel(t);
    const uint64_t block = c->block;
    c->block += ddgan__philox_blocks(n);
    if (c->planning)
        return DDGAN_OK;
    if (given)
        return c->be->ops->copy_h2d(c->be, t->data, given, n * sizeof(float));
    return c->be->ops->compute->rand_normal(c->be, DDGAN_DT_F32, n, c->seed, c->stream, block, t->data);
}

ddgan_status_t ddgan__step_upload_vec(ddgan_step_ctx *c, ddgan_tensor *v, const float *host)
{
    DDGAN_TRY(ddgan__step_alloc(c, v, 1, 1, 1));
    if (c->planning)
        return DDGAN_OK;
    return c->be->ops->copy_h2d(c->be, v->data, host, (size_t)c->B * sizeof(float));
}

ddgan_status_t ddgan__step_scale2(ddgan_step_ctx *c, const ddgan_tensor *x, const ddgan_tensor *a,
                                  const ddgan_tensor *y, const ddgan_tensor *k, ddgan_tensor *out)
{
    ddgan_tensor tmp;
    ddgan_exec *ex = c->ex;
    DDGAN_TRY(ddgan__tensor_alloc(ex, out, x->n, x->c, x->h, x->w));
    DDGAN_TRY(ddgan__tensor_alloc(ex, &tmp, x->n, x->c, x->h, x->w));
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, DDGAN_DT_F32, x->n, x->c, x->h, x->w);
    /* the coefficient broadcasts over an example (strides 0) */
    d.b_strides[0] = 1;
    d.b_strides[1] = d.b_strides[2] = d.b_strides[3] = 0;
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0, 0.0, x->data, a->data, tmp.data, 0));
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_MUL, 1.0, 0.0, y->data, k->data, out->data, 0));
    ddgan__ew_dense(&d, DDGAN_DT_F32, x->n, x->c, x->h, x->w);
    return DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, 1.0, 1.0, tmp.data, out->data, out->data, 0);
}

ddgan_status_t ddgan__step_sumsq(ddgan_step_ctx *c, const void *x, size_t n, double *out)
{
    ddgan_tensor s;
    ddgan_exec *ex = c->ex;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &s, 1, 1, 1, 1));
    const int64_t shape[4] = {1, 1, 1, (int64_t)n};
    DDGAN_TRY(DDGAN_K(ex, reduce, DDGAN_DT_F32, DDGAN_RED_SUMSQ, shape, 0xFu, x, s.data, 0));
    *out = 0.0;
    if (c->planning)
        return DDGAN_OK;
    float v;
    DDGAN_TRY(c->be->ops->copy_d2h(c->be, &v, s.data, sizeof v));
    *out = v;
    return DDGAN_OK;
}

ddgan_status_t ddgan__step_clear_frozen(ddgan_step_ctx *c, const ddgan_param_table *pt, char *grads)
{
    if (c->planning)
        return DDGAN_OK;
    for (size_t i = 0; i < pt->n; i++)
        if (!pt->p[i].trainable)
            DDGAN_TRY(c->be->ops->fill_f32(c->be, (float *)(void *)(grads + pt->p[i].offset * sizeof(float)),
                                           0.0f, pt->p[i].count));
    return DDGAN_OK;
}

void ddgan__step_plan_begin(ddgan_arena *a)
{
    a->planning = 1;
    a->used = a->peak = 0;
}

ddgan_status_t ddgan__step_plan_end(ddgan_arena *a, ddgan_backend *be, ddgan_status_t planned)
{
    const size_t need = a->peak;
    a->planning = 0;
    a->used = 0;
    DDGAN_TRY(planned);
    if (a->base && need <= a->cap)
        return DDGAN_OK;
    void *p = NULL;
    DDGAN_TRY(be->ops->alloc(be, need ? need : DDGAN_ARENA_ALIGN, &p));
    if (a->base)
        be->ops->free(be, a->base);
    a->base = p;
    a->cap = need;
    return DDGAN_OK;
}
