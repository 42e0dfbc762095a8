/* A minimal backend plug-in with host memory, compiled in several broken and
 * working variants to exercise the loader (see CMakeLists.txt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_impl.h"

static void tp_destroy(ddgan_backend *be) { free(be); }

static ddgan_status_t tp_alloc(ddgan_backend *be, size_t bytes, void **out)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        return be->host->set_error(DDGAN_ERR_OUT_OF_MEMORY, "test plug-in: out of memory");
    *out = p;
    return DDGAN_OK;
}

static void tp_free(ddgan_backend *be, void *p)
{
    (void)be;
    free(p);
}

static ddgan_status_t tp_copy(ddgan_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    memmove(dst, src, bytes);
    return DDGAN_OK;
}

static ddgan_status_t tp_fill(ddgan_backend *be, float *dst, float v, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        dst[i] = v;
    return DDGAN_OK;
}

static ddgan_status_t tp_sync(ddgan_backend *be)
{
    (void)be;
    return DDGAN_OK;
}

static const ddgan_backend_ops tp_ops = {
    DDGAN_BACKEND_ABI_VERSION, sizeof(ddgan_backend_ops), tp_destroy, tp_alloc, tp_free, tp_copy,
    tp_copy, tp_copy, tp_fill, tp_sync, NULL,
};

static int tp_probe(char *why, size_t cap)
{
#if defined(TEST_PLUGIN_NO_DEVICE)
    snprintf(why, cap, "no test device present");
    return 0;
#else
    if (cap)
        why[0] = '\0';
    return 100; /* preferred over ref by "auto" */
#endif
}

static const ddgan_backend_desc tp_desc;

static ddgan_status_t tp_create(const ddgan_backend_create_params *p, ddgan_backend **out, char *why,
                                size_t cap)
{
    ddgan_backend *be = calloc(1, sizeof *be);
    if (!be) {
        snprintf(why, cap, "out of memory");
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    be->ops = &tp_ops;
    be->desc = &tp_desc;
    be->host = p->host;
    *out = be;
    return DDGAN_OK;
}

static const ddgan_backend_desc tp_desc = {
#if defined(TEST_PLUGIN_BAD_ABI)
    999, /* an ABI this libddgan does not speak */
#else
    DDGAN_BACKEND_ABI_VERSION,
#endif
    sizeof(ddgan_backend_desc),
#if defined(TEST_PLUGIN_WRONG_NAME)
    "somethingelse",
#else
    TEST_PLUGIN_NAME,
#endif
    "test fixture plug-in",
    tp_probe,
    tp_create,
};

#if !defined(TEST_PLUGIN_NO_ENTRY)
DDGAN_PLUGIN_EXPORT const ddgan_backend_desc *ddgan_backend_plugin_entry(void);
DDGAN_PLUGIN_EXPORT const ddgan_backend_desc *ddgan_backend_plugin_entry(void) { return &tp_desc; }
#endif
