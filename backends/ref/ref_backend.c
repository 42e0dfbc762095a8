#include "ref/ref_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* Host memory, 64-byte aligned so vector loads never straddle lines. */
#define REF_ALIGN 64

typedef struct ref_state {
    int num_threads;
    size_t memory_limit; /* bytes; 0 = unlimited */
    size_t in_use;
} ref_state;

static void ref_destroy(ddgan_backend *be)
{
    if (!be)
        return;
    ddgan__free(be->state);
    ddgan__free(be);
}

static ddgan_status_t ref_alloc(ddgan_backend *be, size_t bytes, void **out)
{
    ref_state *st = be->state;
    if (st->memory_limit && (bytes > st->memory_limit || st->in_use > st->memory_limit - bytes)) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "ref backend: allocating %zu bytes would exceed the context's memory_limit of %zu "
                 "bytes (%zu in use)",
                 bytes, st->memory_limit, st->in_use);
        return be->host->set_error(DDGAN_ERR_OUT_OF_MEMORY, msg);
    }
    void *p = ddgan__aligned_malloc(bytes, REF_ALIGN, "ref backend");
    if (!p)
        return DDGAN_ERR_OUT_OF_MEMORY; /* message set by the allocator */
    st->in_use += bytes;
    *out = p;
    return DDGAN_OK;
}

static void ref_free(ddgan_backend *be, void *p)
{
    ref_state *st = be->state;
    if (!p)
        return;
    st->in_use -= ddgan__aligned_size(p);
    ddgan__aligned_free(p);
}

static ddgan_status_t ref_copy(ddgan_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
    return DDGAN_OK;
}

static ddgan_status_t ref_fill_f32(ddgan_backend *be, float *dst, float value, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        dst[i] = value;
    return DDGAN_OK;
}

static ddgan_status_t ref_synchronize(ddgan_backend *be)
{
    (void)be;
    return DDGAN_OK;
}

int ddgan__ref_threads(const ddgan_backend *be)
{
    const ref_state *st = be->state;
    return st->num_threads > 0 ? st->num_threads : 1;
}

static const ddgan_backend_ops g_ref_ops = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_ops),
    .destroy = ref_destroy,
    .alloc = ref_alloc,
    .free = ref_free,
    .copy_h2d = ref_copy,
    .copy_d2h = ref_copy,
    .copy_d2d = ref_copy,
    .fill_f32 = ref_fill_f32,
    .synchronize = ref_synchronize,
    .compute = &ddgan__ref_compute,
};

static int ref_probe(char *why, size_t why_cap)
{
    if (why_cap)
        why[0] = '\0';
    return 1; /* always usable, least preferred */
}

static ddgan_status_t ref_create(const ddgan_backend_create_params *params, ddgan_backend **out,
                                 char *why, size_t why_cap)
{
    ddgan_backend *be = ddgan__calloc(1, sizeof *be, "ref backend");
    ref_state *st = ddgan__calloc(1, sizeof *st, "ref backend");
    if (!be || !st) {
        ddgan__free(be);
        ddgan__free(st);
        snprintf(why, why_cap, "out of memory");
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    st->num_threads = params->num_threads;
    st->memory_limit = params->memory_limit;
    be->ops = &g_ref_ops;
    be->desc = ddgan__ref_backend_desc();
    be->host = params->host;
    be->state = st;
    *out = be;
    return DDGAN_OK;
}

static const ddgan_backend_desc g_ref_desc = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_desc),
    .name = "ref",
    .description = "reference backend: portable C, deterministic, the numerical oracle",
    .probe = ref_probe,
    .create = ref_create,
};

const ddgan_backend_desc *ddgan__ref_backend_desc(void) { return &g_ref_desc; }
