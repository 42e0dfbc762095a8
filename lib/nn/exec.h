/*
 * Execution state shared by every layer: the backend and its op table, the
 * precision of the network (float32, or float64 on "ref" for gradient
 * checks), the network's parameter/gradient buffers, and the activation
 * arena.
 *
 * Memory is planned by a dry run: the same layer code runs once with the
 * arena in planning mode, where allocations only advance a counter and no op
 * is executed (DDGAN_K skips the call). The peak is then allocated once, and
 * every later run with the same shapes hands out the same offsets, so a
 * training step allocates nothing.
 */
#ifndef DDGAN_NN_EXEC_H
#define DDGAN_NN_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend_impl.h"

#define DDGAN_ARENA_ALIGN 64

typedef struct ddgan_arena {
    char *base;  /* device memory (NULL while planning) */
    size_t cap;  /* bytes available at base */
    size_t used; /* bytes handed out since the last reset */
    size_t peak; /* most bytes ever in use */
    int planning;
} ddgan_arena;

/* An NCHW tensor in device memory; dense vectors use [n, c, 1, 1]. */
typedef struct ddgan_tensor {
    void *data;
    int n, c, h, w;
} ddgan_tensor;

typedef struct ddgan_exec {
    ddgan_backend *be;
    const ddgan_backend_compute *k;
    ddgan_dtype dt;
    size_t dsz;        /* bytes per element */
    ddgan_arena *arena;
    char *params;      /* device base of the parameters */
    char *grads;       /* device base of the gradients; NULL: weight gradients not wanted */
} ddgan_exec;

static inline size_t ddgan__numel(const ddgan_tensor *t)
{
    return (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

static inline ddgan_tensor ddgan__tensor(void *data, int n, int c, int h, int w)
{
    ddgan_tensor t = {data, n, c, h, w};
    return t;
}

/* Pointer to element `offset` of the parameter / gradient buffers. */
static inline void *ddgan__param_ptr(const ddgan_exec *ex, size_t offset)
{
    return ex->params + offset * ex->dsz;
}
static inline void *ddgan__grad_ptr(const ddgan_exec *ex, size_t offset)
{
    return ex->grads ? ex->grads + offset * ex->dsz : NULL;
}

/* Runs backend op `op` unless the arena is planning. */
#define DDGAN_K(ex, op, ...) \
    ((ex)->arena->planning ? DDGAN_OK : (ex)->k->op((ex)->be, __VA_ARGS__))

/* Arena */
void ddgan__arena_reset(ddgan_arena *a);
/* Allocates `bytes` (64-byte aligned). While planning, returns a non-NULL
 * placeholder that must never be dereferenced. DDGAN_ERR_INTERNAL when a run
 * asks for more than was planned. */
ddgan_status_t ddgan__arena_alloc(ddgan_arena *a, size_t bytes, void **out);
/* Stack discipline for temporaries: release everything allocated after `mark`. */
static inline size_t ddgan__arena_mark(const ddgan_arena *a) { return a->used; }
static inline void ddgan__arena_release(ddgan_arena *a, size_t mark) { a->used = mark; }

/* Allocates t->data for the given shape from the arena. */
ddgan_status_t ddgan__tensor_alloc(ddgan_exec *ex, ddgan_tensor *t, int n, int c, int h, int w);

/*
 * Gradient outputs follow one convention: a gradient tensor whose data is
 * NULL is allocated (shape set) and overwritten; one whose data is set is
 * accumulated into. Returns the `accumulate` flag to pass to the op, or -1
 * after an allocation failure (status in *st).
 */
int ddgan__grad_target(ddgan_exec *ex, ddgan_tensor *g, int n, int c, int h, int w,
                       ddgan_status_t *st);

/* Fills a tensor with zeros (no-op while planning). */
ddgan_status_t ddgan__tensor_zero(ddgan_exec *ex, ddgan_tensor *t);

/* Dense ew descriptor over an NCHW shape with all strides dense. */
void ddgan__ew_dense(ddgan_ew_desc *d, ddgan_dtype dt, int n, int c, int h, int w);

#endif
