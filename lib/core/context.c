#include "core/context.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/error.h"
#include "core/philox.h"

ddgan_status_t ddgan__context_check(ddgan_context_t ctx, const char *fn)
{
    if (!ctx)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: context is NULL", fn);
    if (ctx->magic != DDGAN_MAGIC_CONTEXT)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: invalid context handle (destroyed, or not a context)", fn);
    return DDGAN_OK;
}

void ddgan__log(ddgan_context_t ctx, ddgan_log_level level, const char *fmt, ...)
{
    if (!ctx || !ctx->log_fn || level > ctx->log_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctx->log_fn(ctx->log_user, level, msg);
}

void ddgan__context_randn(ddgan_context_t ctx, float *out, size_t n)
{
    ddgan__philox_normal(ctx->seed, DDGAN_STREAM_HOST, ctx->host_stream_block, out, n);
    ctx->host_stream_block += ddgan__philox_blocks(n);
}

void ddgan__context_randn_f64(ddgan_context_t ctx, double *out, size_t n)
{
    ddgan__philox_normal_f64(ctx->seed, DDGAN_STREAM_HOST, ctx->host_stream_block, out, n);
    ctx->host_stream_block += ddgan__philox_blocks(n);
}
