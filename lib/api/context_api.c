/* Public entry points: contexts and backend listing. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/registry.h"
#include "core/alloc.h"
#include "core/context.h"
#include "core/error.h"
#include "core/philox.h"
#include "core/struct_io.h"

#define MAX_THREADS 4096

static const ddgan_context_config g_context_defaults = {
    .struct_size = sizeof(ddgan_context_config),
    .backend = NULL,
    .seed = 0,
    .num_threads = 0,
    .log_fn = NULL,
    .log_user = NULL,
    .log_level = DDGAN_LOG_WARN,
    .memory_limit = 0,
};

DDGAN_API ddgan_status_t ddgan_context_config_init(ddgan_context_config *cfg, size_t struct_size)
{
    return ddgan__struct_init(cfg, struct_size, &g_context_defaults, sizeof g_context_defaults,
                              "ddgan_context_config_init");
}

static ddgan_status_t host_set_error(ddgan_status_t status, const char *msg)
{
    return ddgan__set_error(status, "%s", msg);
}

static void host_log(void *log_ctx, ddgan_log_level level, const char *msg)
{
    ddgan__log((ddgan_context_t)log_ctx, level, "%s", msg);
}

DDGAN_API ddgan_status_t ddgan_context_create(ddgan_context_t *out, const ddgan_context_config *cfg)
{
    static const char fn[] = "ddgan_context_create";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    ddgan_context_config c = g_context_defaults;
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&c, sizeof c, cfg, fn, "cfg"));
    if (c.num_threads < 0 || c.num_threads > MAX_THREADS)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: cfg->num_threads %d not in [0, %d] (0 = all processors)", fn,
                         c.num_threads, MAX_THREADS);
    if ((int)c.log_level < DDGAN_LOG_ERROR || (int)c.log_level > DDGAN_LOG_DEBUG)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: cfg->log_level %d not in [0, 3]", fn,
                         (int)c.log_level);

    const ddgan_backend_desc *desc = NULL;
    char how[512] = "";
    DDGAN_TRY(ddgan__backend_resolve(c.backend, &desc, how, sizeof how));

    ddgan_context_t ctx = ddgan__calloc(1, sizeof *ctx, fn);
    if (!ctx)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ctx->seed = c.seed;
    if (c.num_threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        ctx->num_threads = online < 1 ? 1 : online > MAX_THREADS ? MAX_THREADS : (int)online;
    } else {
        ctx->num_threads = c.num_threads;
    }
    ctx->log_fn = c.log_fn;
    ctx->log_user = c.log_user;
    ctx->log_level = c.log_level;
    ctx->host.struct_size = sizeof ctx->host;
    ctx->host.set_error = host_set_error;
    ctx->host.log = host_log;
    ctx->host.log_ctx = ctx;

    ddgan_backend_create_params params = {
        .struct_size = sizeof params,
        .num_threads = ctx->num_threads,
        .seed = ctx->seed,
        .host = &ctx->host,
        .memory_limit = c.memory_limit,
    };
    char why[512] = "";
    ddgan_status_t st = desc->create(&params, &ctx->backend, why, sizeof why);
    if (st != DDGAN_OK || !ctx->backend) {
        ddgan__free(ctx);
        if (st == DDGAN_OK)
            st = DDGAN_ERR_BACKEND;
        return DDGAN_ERR(st == DDGAN_ERR_OUT_OF_MEMORY ? st : DDGAN_ERR_BACKEND_UNAVAILABLE,
                         "%s: backend \"%s\" could not start: %s", fn, desc->name,
                         why[0] ? why : ddgan_status_string(st));
    }
    ctx->magic = DDGAN_MAGIC_CONTEXT;
    ddgan__log(ctx, DDGAN_LOG_INFO, "context: backend %s (%s), %d threads, seed %llu", desc->name,
               how, ctx->num_threads, (unsigned long long)ctx->seed);
    *out = ctx;
    return DDGAN_OK;
}

DDGAN_API void ddgan_context_destroy(ddgan_context_t ctx)
{
    if (!ctx || ctx->magic != DDGAN_MAGIC_CONTEXT)
        return;
    if (ctx->live_children > 0)
        ddgan__log(ctx, DDGAN_LOG_ERROR,
                   "ddgan_context_destroy: %ld handles created from this context are still alive; "
                   "destroy them first (they are now invalid)",
                   ctx->live_children);
    ctx->backend->ops->destroy(ctx->backend);
    ctx->magic = 0;
    ddgan__free(ctx);
}

DDGAN_API const char *ddgan_context_backend(ddgan_context_t ctx)
{
    if (ddgan__context_check(ctx, "ddgan_context_backend") != DDGAN_OK)
        return "";
    return ctx->backend->desc->name;
}

DDGAN_API uint64_t ddgan_context_seed(ddgan_context_t ctx)
{
    if (ddgan__context_check(ctx, "ddgan_context_seed") != DDGAN_OK)
        return 0;
    return ctx->seed;
}

DDGAN_API int ddgan_context_num_threads(ddgan_context_t ctx)
{
    if (ddgan__context_check(ctx, "ddgan_context_num_threads") != DDGAN_OK)
        return 0;
    return ctx->num_threads;
}

DDGAN_API ddgan_status_t ddgan_context_randn(ddgan_context_t ctx, float *out, size_t n)
{
    DDGAN_TRY(ddgan__context_check(ctx, "ddgan_context_randn"));
    if (n && !out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan_context_randn: out is NULL with n = %zu", n);
    ddgan__context_randn(ctx, out, n);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_context_rand(ddgan_context_t ctx, float *out, size_t n)
{
    DDGAN_TRY(ddgan__context_check(ctx, "ddgan_context_rand"));
    if (n && !out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan_context_rand: out is NULL with n = %zu", n);
    ddgan__philox_uniform(ctx->seed, DDGAN_STREAM_HOST, ctx->host_stream_block, out, n);
    ctx->host_stream_block += ddgan__philox_blocks(n);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */

static const ddgan_backend_info g_info_defaults = {
    .struct_size = sizeof(ddgan_backend_info),
    .name = "",
    .description = "",
    .available = 0,
    .score = 0,
    .reason = "",
    .path = "",
};

DDGAN_API ddgan_status_t ddgan_backend_info_init(ddgan_backend_info *info, size_t struct_size)
{
    return ddgan__struct_init(info, struct_size, &g_info_defaults, sizeof g_info_defaults,
                              "ddgan_backend_info_init");
}

DDGAN_API size_t ddgan_backend_count(void) { return ddgan__backend_snapshot(); }

DDGAN_API ddgan_status_t ddgan_backend_get_info(size_t index, ddgan_backend_info *info)
{
    static const char fn[] = "ddgan_backend_get_info";
    if (!info)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: info is NULL", fn);
    ddgan_backend_info full = g_info_defaults;
    DDGAN_TRY(ddgan__backend_snapshot_get(index, &full));
    return ddgan__struct_write(info, &full, sizeof full, fn, "info");
}
