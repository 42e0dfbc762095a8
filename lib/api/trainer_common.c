/* What the DDGAN and DDPM trainer entry points share (trainer_common.h). */
#include "api/trainer_common.h"

#include "core/error.h"
#include "model/handles.h"

void ddgan__trainer_release(ddgan_context_t ctx, void *const *bufs, int n, ddgan_ckpt_extras *extras)
{
    ddgan_backend *be = ctx->backend;
    for (int i = 0; i < n; i++)
        if (bufs[i])
            be->ops->free(be, bufs[i]);
    if (ctx->magic == DDGAN_MAGIC_CONTEXT)
        ctx->live_children--;
    ddgan__ckpt_extras_free(extras);
}

ddgan_status_t ddgan__trainer_zeroed(ddgan_backend *be, size_t n, void **out)
{
    DDGAN_TRY(be->ops->alloc(be, (n ? n : 1) * sizeof(float), out));
    return be->ops->fill_f32(be, *out, 0.0f, n);
}

ddgan_status_t ddgan__trainer_check_step(const float *x0, size_t batch, int batch_size, const char *fn)
{
    if (!x0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: x0 is NULL", fn);
    if (batch < 1 || batch > (size_t)batch_size)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: batch %zu not in [1, %d] (the trainer's batch_size)", fn, batch, batch_size);
    return DDGAN_OK;
}

ddgan_status_t ddgan__trainer_ema_generator(ddgan_generator_t *out, ddgan_generator_t g, int use_ema,
                                            const void *src, size_t n, const char *fn)
{
    *out = NULL;
    if (!use_ema)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "%s: the trainer was created with use_ema = 0", fn);
    ddgan_generator_t e = NULL;
    DDGAN_TRY(ddgan_generator_create_json(&e, g->ctx, g->config_json));
    ddgan_status_t st = e->mem.be->ops->copy_d2d(e->mem.be, e->mem.params, src, n * sizeof(float));
    if (st != DDGAN_OK) {
        ddgan_generator_destroy(e);
        return st;
    }
    *out = e;
    return DDGAN_OK;
}
