#include "nn/params.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

void ddgan__params_init(ddgan_param_table *t) { memset(t, 0, sizeof *t); }

void ddgan__params_free(ddgan_param_table *t)
{
    ddgan__free(t->p);
    memset(t, 0, sizeof *t);
}

ddgan_status_t ddgan__params_add(ddgan_param_table *t, size_t *offset, int ndim,
                                 const int64_t *shape, ddgan_init_kind init, double init_scale,
                                 const char *name_fmt, ...)
{
    char name[DDGAN_PARAM_NAME_MAX];
    va_list ap;
    va_start(ap, name_fmt);
    int len = vsnprintf(name, sizeof name, name_fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof name)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "parameter name too long: %s...", name);
    if (ndim < 1 || ndim > DDGAN_PARAM_MAX_DIMS)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "parameter %s: %d dims", name, ndim);
    if (ddgan__params_find(t, name))
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "parameter %s registered twice", name);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1 || !ddgan__mul_size(count, (size_t)shape[i], &count))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "parameter %s: invalid or too large shape",
                             name);
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        ddgan_param *p = ddgan__calloc(cap, sizeof *p, "parameter table");
        if (!p)
            return DDGAN_ERR_OUT_OF_MEMORY;
        if (t->n)
            memcpy(p, t->p, t->n * sizeof *p);
        ddgan__free(t->p);
        t->p = p;
        t->cap = cap;
    }
    ddgan_param *p = &t->p[t->n++];
    memset(p, 0, sizeof *p);
    memcpy(p->name, name, (size_t)len + 1);
    p->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        p->shape[i] = shape[i];
    p->count = count;
    /* Every tensor starts on a 16-element boundary so that vector kernels of
     * other backends see aligned parameter slices. */
    p->offset = (t->total + 15) / 16 * 16;
    p->init = init;
    p->init_scale = init_scale;
    p->trainable = 1;
    t->total = p->offset + count;
    *offset = p->offset;
    return DDGAN_OK;
}

const ddgan_param *ddgan__params_find(const ddgan_param_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->p[i].name, name))
            return &t->p[i];
    return NULL;
}
