#include "nn/exec.h"

#include <string.h>

#include "core/error.h"

void ddgan__arena_reset(ddgan_arena *a) { a->used = 0; }

ddgan_status_t ddgan__arena_alloc(ddgan_arena *a, size_t bytes, void **out)
{
    size_t start = (a->used + DDGAN_ARENA_ALIGN - 1) / DDGAN_ARENA_ALIGN * DDGAN_ARENA_ALIGN;
    size_t rounded = (bytes + DDGAN_ARENA_ALIGN - 1) / DDGAN_ARENA_ALIGN * DDGAN_ARENA_ALIGN;
    if (start < a->used || rounded < bytes || start + rounded < start)
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "activation arena: size overflow");
    size_t end = start + rounded;
    if (a->planning) {
        /* a placeholder that is distinct per allocation and never NULL */
        *out = (void *)(uintptr_t)(start + DDGAN_ARENA_ALIGN);
    } else {
        if (end > a->cap)
            return DDGAN_ERR(DDGAN_ERR_INTERNAL,
                             "activation arena: run needs %zu bytes but %zu were planned", end, a->cap);
        *out = a->base + start;
    }
    a->used = end;
    if (end > a->peak)
        a->peak = end;
    return DDGAN_OK;
}

ddgan_status_t ddgan__tensor_alloc(ddgan_exec *ex, ddgan_tensor *t, int n, int c, int h, int w)
{
    t->n = n;
    t->c = c;
    t->h = h;
    t->w = w;
    return ddgan__arena_alloc(ex->arena, ddgan__numel(t) * ex->dsz, &t->data);
}

int ddgan__grad_target(ddgan_exec *ex, ddgan_tensor *g, int n, int c, int h, int w,
                       ddgan_status_t *st)
{
    if (g->data) {
        if (g->n != n || g->c != c || g->h != h || g->w != w) {
            *st = DDGAN_ERR(DDGAN_ERR_INTERNAL,
                            "gradient accumulation into [%d,%d,%d,%d] from [%d,%d,%d,%d]", g->n,
                            g->c, g->h, g->w, n, c, h, w);
            return -1;
        }
        return 1;
    }
    *st = ddgan__tensor_alloc(ex, g, n, c, h, w);
    return *st == DDGAN_OK ? 0 : -1;
}

ddgan_status_t ddgan__tensor_zero(ddgan_exec *ex, ddgan_tensor *t)
{
    if (ex->arena->planning)
        return DDGAN_OK;
    if (ex->dt == DDGAN_DT_F32)
        return ex->be->ops->fill_f32(ex->be, t->data, 0.0f, ddgan__numel(t));
    /* float64: two float32 zeros per element are the same bytes */
    return ex->be->ops->fill_f32(ex->be, t->data, 0.0f, 2 * ddgan__numel(t));
}

void ddgan__ew_dense(ddgan_ew_desc *d, ddgan_dtype dt, int n, int c, int h, int w)
{
    memset(d, 0, sizeof *d);
    d->dtype = dt;
    d->shape[0] = n;
    d->shape[1] = c;
    d->shape[2] = h;
    d->shape[3] = w;
    d->a_strides[3] = d->b_strides[3] = 1;
    d->a_strides[2] = d->b_strides[2] = w;
    d->a_strides[1] = d->b_strides[1] = (int64_t)h * w;
    d->a_strides[0] = d->b_strides[0] = (int64_t)c * h * w;
}
