/* The library's allocation entry points. Everything the library allocates on
 * the host goes through these, so tests can count allocations and inject
 * failures (ddgan__alloc_set_hooks), and sizes are overflow-checked. */
#ifndef DDGAN_CORE_ALLOC_H
#define DDGAN_CORE_ALLOC_H

#include <stddef.h>

/* malloc/calloc/free that report failure through the last-error message.
 * `what` names the caller and the object for the message. */
void *ddgan__malloc(size_t bytes, const char *what);
void *ddgan__calloc(size_t count, size_t size, const char *what);
void ddgan__free(void *p);
char *ddgan__strdup(const char *s, const char *what);

/* `bytes` aligned to `align` (a power of two <= 4096), through the same
 * hooks; the block's size is kept so callers can account for it. */
void *ddgan__aligned_malloc(size_t bytes, size_t align, const char *what);
void ddgan__aligned_free(void *p);
size_t ddgan__aligned_size(const void *p);

/* a * b with overflow detection: returns 0 and leaves *out unchanged on overflow. */
int ddgan__mul_size(size_t a, size_t b, size_t *out);

/* Test hooks (not exported): replace the allocator, e.g. to count calls or to
 * make the n-th one fail. NULL restores malloc/free. */
typedef struct ddgan_alloc_hooks {
    void *(*malloc_fn)(void *user, size_t bytes);
    void (*free_fn)(void *user, void *p);
    void *user;
} ddgan_alloc_hooks;
void ddgan__alloc_set_hooks(const ddgan_alloc_hooks *hooks);

#endif
