#include "core/alloc.h"

#include "core/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static ddgan_alloc_hooks g_hooks; /* all NULL: plain malloc/free */

void ddgan__alloc_set_hooks(const ddgan_alloc_hooks *hooks)
{
    if (hooks)
        g_hooks = *hooks;
    else
        memset(&g_hooks, 0, sizeof g_hooks);
}

int ddgan__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > (size_t)-1 / a)
        return 0;
    *out = a * b;
    return 1;
}

void *ddgan__malloc(size_t bytes, const char *what)
{
    if (bytes == 0)
        bytes = 1; /* a valid unique pointer, never NULL-for-success */
    void *p = g_hooks.malloc_fn ? g_hooks.malloc_fn(g_hooks.user, bytes) : malloc(bytes);
    if (!p)
        ddgan__set_error(DDGAN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, bytes);
    return p;
}

void *ddgan__calloc(size_t count, size_t size, const char *what)
{
    size_t bytes;
    if (!ddgan__mul_size(count, size, &bytes)) {
        ddgan__set_error(DDGAN_ERR_OUT_OF_MEMORY, "%s: size %zu x %zu overflows", what, count, size);
        return NULL;
    }
    void *p = ddgan__malloc(bytes, what);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void ddgan__free(void *p)
{
    if (!p)
        return;
    if (g_hooks.free_fn)
        g_hooks.free_fn(g_hooks.user, p);
    else
        free(p);
}

char *ddgan__strdup(const char *s, const char *what)
{
    size_t n = strlen(s) + 1;
    char *p = ddgan__malloc(n, what);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Layout: [padding][original pointer][size][aligned block ...] */
typedef struct aligned_header {
    void *original;
    size_t size;
} aligned_header;

void *ddgan__aligned_malloc(size_t bytes, size_t align, const char *what)
{
    if (align < sizeof(void *) || align > 4096 || (align & (align - 1)))
        align = 64;
    size_t total = bytes + align + sizeof(aligned_header);
    if (total < bytes) {
        ddgan__set_error(DDGAN_ERR_OUT_OF_MEMORY, "%s: size %zu overflows", what, bytes);
        return NULL;
    }
    char *raw = ddgan__malloc(total, what);
    if (!raw)
        return NULL;
    uintptr_t start = (uintptr_t)(raw + sizeof(aligned_header));
    uintptr_t aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
    aligned_header h = {raw, bytes};
    memcpy((char *)aligned - sizeof h, &h, sizeof h);
    return (void *)aligned;
}

static aligned_header header_of(const void *p)
{
    aligned_header h;
    memcpy(&h, (const char *)p - sizeof h, sizeof h);
    return h;
}

void ddgan__aligned_free(void *p)
{
    if (p)
        ddgan__free(header_of(p).original);
}

size_t ddgan__aligned_size(const void *p) { return p ? header_of(p).size : 0; }
