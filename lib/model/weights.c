#include "model/weights.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

#define NAME_CAP 256

/* The file tensor holding parameter `key`, or NULL. */
static const ddgan_st_tensor_info *find(const ddgan_st_file *f, const char *prefix, const char *key)
{
    char name[NAME_CAP];
    snprintf(name, sizeof name, "%s%s", prefix, key);
    const ddgan_st_tensor_info *t = ddgan__st_find(f, name);
    if (t)
        return t;
    snprintf(name, sizeof name, "%smodule.%s", prefix, key);
    return ddgan__st_find(f, name);
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

ddgan_status_t ddgan__weights_read(const ddgan_param_table *pt, const ddgan_st_file *f,
                                   const char *prefix, float *out, const char *fn)
{
    if (!prefix)
        prefix = "";
    const char *file = ddgan__st_name(f);
    memset(out, 0, pt->total * sizeof *out);
    /* every parameter present, with its shape */
    for (size_t i = 0; i < pt->n; i++) {
        const ddgan_param *p = &pt->p[i];
        const ddgan_st_tensor_info *t = find(f, prefix, p->name);
        if (!t)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: missing tensor '%s%s' (%zu of %zu parameters read)",
                             fn, file, prefix, p->name, i, pt->n);
        int same = t->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++)
            same = t->shape[d] == p->shape[d];
        if (!same) {
            char want[96], got[96];
            shape_str(want, sizeof want, p->ndim, p->shape);
            shape_str(got, sizeof got, t->ndim, t->shape);
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: tensor '%s' has shape %s, the model needs %s", fn,
                             file, t->name, got, want);
        }
        ddgan_status_t st = ddgan__st_read_f32(f, t->name, out + p->offset, p->count);
        if (st != DDGAN_OK)
            return ddgan__error_prefix(st, "%s", fn);
    }
    /* nothing else under the prefix */
    const size_t plen = strlen(prefix);
    for (size_t i = 0; i < ddgan__st_tensor_count(f); i++) {
        const ddgan_st_tensor_info *t = ddgan__st_tensor(f, i);
        if (strncmp(t->name, prefix, plen) != 0)
            continue;
        const char *key = t->name + plen;
        if (!strncmp(key, "module.", 7))
            key += 7;
        if (!ddgan__params_find(pt, key))
            return DDGAN_ERR(DDGAN_ERR_FORMAT,
                             "%s: %s: unexpected tensor '%s' (not a parameter of this model; a "
                             "different config, or load with a prefix?)",
                             fn, file, t->name);
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__weights_add(const ddgan_param_table *pt, ddgan_st_writer *w, const char *prefix,
                                  const float *params)
{
    char name[NAME_CAP];
    for (size_t i = 0; i < pt->n; i++) {
        const ddgan_param *p = &pt->p[i];
        snprintf(name, sizeof name, "%s%s", prefix ? prefix : "", p->name);
        DDGAN_TRY(ddgan__st_writer_add(w, name, DDGAN_ST_F32, p->shape, p->ndim, params + p->offset));
    }
    return DDGAN_OK;
}
