#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/struct_io.h"
#include "io/safetensors.h"
#include "model/handles.h"
#include "model/init.h"
#include "model/weights.h"

ddgan_status_t ddgan__handle_upload_params(ddgan_netmem *m, const ddgan_param_table *pt,
                                           const float *host)
{
    return m->be->ops->copy_h2d(m->be, m->params, host, pt->total * sizeof(float));
}

ddgan_status_t ddgan__handle_load_params(ddgan_netmem *m, const ddgan_param_table *pt,
                                         const ddgan_st_file *f, const char *prefix, const char *fn)
{
    float *host = ddgan__calloc(pt->total ? pt->total : 1, sizeof *host, fn);
    if (!host)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_status_t st = ddgan__weights_read(pt, f, prefix, host, fn);
    if (st == DDGAN_OK)
        st = ddgan__handle_upload_params(m, pt, host);
    ddgan__free(host);
    return st;
}

ddgan_status_t ddgan__handle_download(ddgan_netmem *m, const ddgan_param_table *pt, const void *dev,
                                      float *host)
{
    return m->be->ops->copy_d2h(m->be, host, dev, pt->total * sizeof(float));
}

ddgan_status_t ddgan__handle_tensor_io(ddgan_netmem *m, const ddgan_param_table *pt, int which,
                                       const char *name, float *out, const float *in, size_t n,
                                       const char *fn)
{
    if (!name)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: name is NULL", fn);
    if (!out && !in) /* name the caller's parameter: `in` for set_param, `out` for the getters */
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                         strstr(fn, "_set_") ? "in" : "out");
    const ddgan_param *p = ddgan__params_find(pt, name);
    if (!p && !strncmp(name, "module.", 7))
        p = ddgan__params_find(pt, name + 7);
    if (!p)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: no parameter named \"%.120s\"", fn, name);
    if (n != p->count)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: \"%s\" has %zu elements, n = %zu", fn, p->name,
                         p->count, n);
    char *base = which ? m->grads : m->params;
    if (!base)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "%s: buffer not allocated", fn);
    char *dev = base + p->offset * sizeof(float);
    if (out)
        return m->be->ops->copy_d2h(m->be, out, dev, n * sizeof(float));
    return m->be->ops->copy_h2d(m->be, dev, in, n * sizeof(float));
}

ddgan_status_t ddgan__handle_init_params(ddgan_netmem *m, const ddgan_param_table *pt, uint64_t seed,
                                         uint64_t stream, const char *fn)
{
    double *d = ddgan__calloc(pt->total ? pt->total : 1, sizeof *d, fn);
    float *f = d ? ddgan__calloc(pt->total ? pt->total : 1, sizeof *f, fn) : NULL;
    if (!f) {
        ddgan__free(d);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    ddgan_status_t st = ddgan__init_params(pt, seed, stream, d);
    if (st == DDGAN_OK) {
        for (size_t i = 0; i < pt->total; i++)
            f[i] = (float)d[i];
        st = ddgan__handle_upload_params(m, pt, f);
    }
    ddgan__free(f);
    ddgan__free(d);
    return st;
}

ddgan_status_t ddgan__handle_summary(const ddgan_param_table *pt, double gflops,
                                     ddgan_model_summary *out, const char *fn)
{
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    ddgan_model_summary s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    for (size_t i = 0; i < pt->n; i++)
        s.num_params += pt->p[i].count;
    s.num_tensors = pt->n;
    s.gflops_per_image = gflops;
    return ddgan__struct_write(out, &s, sizeof s, fn, "out");
}

ddgan_status_t ddgan__handle_tensor_info(const ddgan_param_table *pt, size_t index,
                                         ddgan_tensor_info *out, const char *fn)
{
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if (index >= pt->n)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: index %zu out of range (%zu tensors)", fn,
                         index, pt->n);
    const ddgan_param *p = &pt->p[index];
    ddgan_tensor_info t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    t.name = p->name;
    t.ndim = p->ndim;
    for (int i = 0; i < p->ndim; i++)
        t.shape[i] = p->shape[i];
    t.numel = p->count;
    return ddgan__struct_write(out, &t, sizeof t, fn, "out");
}

ddgan_status_t ddgan__handle_save(ddgan_netmem *m, const ddgan_param_table *pt, const char *config_json,
                                  const char *path, const char *fn)
{
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    float *host = ddgan__calloc(pt->total ? pt->total : 1, sizeof *host, fn);
    if (!host)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_st_writer *w = NULL;
    ddgan_status_t st = ddgan__handle_download(m, pt, m->params, host);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_create(&w);
    if (st == DDGAN_OK)
        st = ddgan__weights_add(pt, w, "", host);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "config", config_json);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "format", "ddgan-weights/1");
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "library", "libddgan " DDGAN_VERSION_STRING);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_write(w, path);
    ddgan__st_writer_destroy(w);
    ddgan__free(host);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    return DDGAN_OK;
}

ddgan_status_t ddgan__handle_open(const char *path, const char *config_key, ddgan_st_file **f,
                                  const char **config, const char *fn)
{
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    ddgan_status_t st = ddgan__st_open(f, path);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    const char *key = config_key ? config_key : "config";
    *config = ddgan__st_metadata_get(*f, key);
    if (!*config) {
        ddgan__st_close(*f);
        *f = NULL;
        return DDGAN_ERR(DDGAN_ERR_FORMAT,
                         "%s: %s has no __metadata__[\"%s\"] with the network config (not an "
                         "interchange-format file? convert official checkpoints with "
                         "bindings/python/tools/convert_official.py)",
                         fn, path, key);
    }
    return DDGAN_OK;
}
