/* The trainers' shared checkpoint body (ckpt_state.h). */
#include "train/ckpt_state.h"

#include <string.h>

#include "backend/backend_impl.h"
#include "core/alloc.h"
#include "core/error.h"
#include "model/handles.h"
#include "model/weights.h"

ddgan_ckpt_net ddgan__ckpt_net_g(ddgan_generator_t g, size_t n, void *m, void *v, void *ema, int use_ema,
                                 int ema_ready)
{
    return (ddgan_ckpt_net){.prefix = "G.",
                            .ema_prefix = use_ema ? "G_ema." : NULL,
                            .exp_avg = "opt.G.exp_avg",
                            .exp_avg_sq = "opt.G.exp_avg_sq",
                            .pt = g->pt,
                            .n = n,
                            .params = g->mem.params,
                            .m = m,
                            .v = v,
                            .ema = ema,
                            .ema_ready = ema_ready};
}

/* Host copies of one network's buffers. */
typedef struct host_net {
    float *params, *m, *v, *ema;
} host_net;

static void host_free(host_net *h)
{
    for (int i = 0; i < DDGAN_CKPT_MAX_NETS; i++) {
        ddgan__free(h[i].params);
        ddgan__free(h[i].m);
        ddgan__free(h[i].v);
        ddgan__free(h[i].ema);
    }
    memset(h, 0, DDGAN_CKPT_MAX_NETS * sizeof *h);
}

static ddgan_status_t host_alloc(host_net *h, const ddgan_ckpt_state *cs, const char *fn)
{
    memset(h, 0, DDGAN_CKPT_MAX_NETS * sizeof *h);
    for (int i = 0; i < cs->n_nets; i++) {
        const ddgan_ckpt_net *net = &cs->nets[i];
        float **p[4] = {&h[i].params, &h[i].m, &h[i].v, &h[i].ema};
        for (int k = 0; k < 4; k++) {
            if (k == 3 && !net->ema_prefix)
                break;
            if (!(*p[k] = ddgan__calloc(net->n ? net->n : 1, sizeof(float), fn))) {
                host_free(h);
                return DDGAN_ERR_OUT_OF_MEMORY;
            }
        }
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__ckpt_save(const ddgan_ckpt_state *cs, const char *const *meta, const char *path,
                                const char *fn)
{
    ddgan_backend *be = cs->be;
    host_net h[DDGAN_CKPT_MAX_NETS];
    DDGAN_TRY(host_alloc(h, cs, fn));
    ddgan_status_t st = DDGAN_OK;
    for (int i = 0; i < cs->n_nets; i++) {
        const ddgan_ckpt_net *net = &cs->nets[i];
        const size_t bytes = net->n * sizeof(float);
        if (st == DDGAN_OK)
            st = be->ops->copy_d2h(be, h[i].params, net->params, bytes);
        if (st == DDGAN_OK)
            st = be->ops->copy_d2h(be, h[i].m, net->m, bytes);
        if (st == DDGAN_OK)
            st = be->ops->copy_d2h(be, h[i].v, net->v, bytes);
        if (st == DDGAN_OK && net->ema_prefix)
            st = be->ops->copy_d2h(be, h[i].ema, net->ema_ready ? net->ema : net->params, bytes);
    }
    ddgan_st_writer *w = NULL;
    if (st == DDGAN_OK)
        st = ddgan__st_writer_create(&w);
    for (int i = 0; i < cs->n_nets; i++) {
        const ddgan_ckpt_net *net = &cs->nets[i];
        if (st == DDGAN_OK)
            st = ddgan__weights_add(net->pt, w, net->prefix, h[i].params);
        if (st == DDGAN_OK && net->ema_prefix)
            st = ddgan__weights_add(net->pt, w, net->ema_prefix, h[i].ema);
    }
    for (int i = 0; i < cs->n_nets; i++) {
        const ddgan_ckpt_net *net = &cs->nets[i];
        const int64_t shape[1] = {(int64_t)net->n};
        if (st == DDGAN_OK)
            st = ddgan__st_writer_add(w, net->exp_avg, DDGAN_ST_F32, shape, 1, h[i].m);
        if (st == DDGAN_OK)
            st = ddgan__st_writer_add(w, net->exp_avg_sq, DDGAN_ST_F32, shape, 1, h[i].v);
    }
    const int64_t nc[1] = {cs->n_counters};
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add(w, "state.counters", DDGAN_ST_I64, nc, 1, cs->counters);
    for (int i = 0; st == DDGAN_OK && meta[i]; i += 2)
        st = ddgan__st_writer_add_metadata(w, meta[i], meta[i + 1]);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_add_metadata(w, "library", "libddgan " DDGAN_VERSION_STRING);
    if (st == DDGAN_OK)
        st = ddgan__ckpt_extras_write(cs->extras, w);
    if (st == DDGAN_OK)
        st = ddgan__st_writer_write(w, path);
    ddgan__st_writer_destroy(w);
    host_free(h);
    return st == DDGAN_OK ? st : ddgan__error_prefix(st, "%s", fn);
}

ddgan_status_t ddgan__ckpt_open(ddgan_st_file **f, const char *path, const char *fn)
{
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: path is NULL", fn);
    const ddgan_status_t st = ddgan__st_open(f, path);
    return st == DDGAN_OK ? st : ddgan__error_prefix(st, "%s", fn);
}

ddgan_status_t ddgan__ckpt_check_config(const ddgan_st_file *f, const char *key, const char *expected,
                                        const char *what, const char *path, const char *fn)
{
    const char *cfg = ddgan__st_metadata_get(f, key);
    if (cfg && !strcmp(cfg, expected))
        return DDGAN_OK;
    return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s was written for another %s config (%.200s)", fn,
                     path, what, cfg ? cfg : "(none)");
}

/* The flat float32 tensor `name` of exactly n elements (an Adam moment). */
static ddgan_status_t read_flat(const ddgan_st_file *f, const char *name, float *dst, size_t n,
                                const char *fn)
{
    const ddgan_st_tensor_info *t = NULL;
    ddgan_status_t st = ddgan__st_get(f, name, &t);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    if (t->ndim != 1 || (size_t)t->shape[0] != n)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: '%s' has %lld elements, this trainer needs %zu", fn,
                         ddgan__st_name(f), name, (long long)(t->ndim ? t->shape[0] : 1), n);
    st = ddgan__st_read_f32(f, name, dst, n);
    return st == DDGAN_OK ? st : ddgan__error_prefix(st, "%s", fn);
}

/* Every tensor of the body into host memory, checked. */
static ddgan_status_t read_body(const ddgan_ckpt_state *cs, const ddgan_st_file *f, host_net *h,
                                int64_t *counters, const char *path, const char *fn)
{
    for (int i = 0; i < cs->n_nets; i++) {
        const ddgan_ckpt_net *net = &cs->nets[i];
        DDGAN_TRY(ddgan__weights_read(net->pt, f, net->prefix, h[i].params, fn));
        if (net->ema_prefix)
            DDGAN_TRY(ddgan__weights_read(net->pt, f, net->ema_prefix, h[i].ema, fn));
    }
    for (int i = 0; i < cs->n_nets; i++) {
        const ddgan_ckpt_net *net = &cs->nets[i];
        DDGAN_TRY(read_flat(f, net->exp_avg, h[i].m, net->n, fn));
        DDGAN_TRY(read_flat(f, net->exp_avg_sq, h[i].v, net->n, fn));
    }
    const int n = cs->n_counters;
    const ddgan_status_t st = ddgan__st_read_i64(f, "state.counters", counters, (size_t)n);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    int valid = counters[n - 1] == 0 || counters[n - 1] == 1; /* ema_ready */
    for (int i = 0; i < n - 1; i++)
        valid = valid && counters[i] >= 0;
    return valid ? DDGAN_OK : DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: invalid counters", fn, path);
}

/* The host copies onto the device. */
static ddgan_status_t upload(const ddgan_ckpt_state *cs, const host_net *h)
{
    ddgan_backend *be = cs->be;
    for (int i = 0; i < cs->n_nets; i++) {
        const ddgan_ckpt_net *net = &cs->nets[i];
        const size_t bytes = net->n * sizeof(float);
        DDGAN_TRY(be->ops->copy_h2d(be, net->params, h[i].params, bytes));
        DDGAN_TRY(be->ops->copy_h2d(be, net->m, h[i].m, bytes));
        DDGAN_TRY(be->ops->copy_h2d(be, net->v, h[i].v, bytes));
        if (net->ema_prefix)
            DDGAN_TRY(be->ops->copy_h2d(be, net->ema, h[i].ema, bytes));
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__ckpt_load(ddgan_ckpt_state *cs, ddgan_st_file *f, const char *path, const char *fn)
{
    host_net h[DDGAN_CKPT_MAX_NETS];
    int64_t counters[DDGAN_CKPT_MAX_COUNTERS];
    ddgan_status_t st = host_alloc(h, cs, fn);
    if (st == DDGAN_OK)
        st = read_body(cs, f, h, counters, path, fn);
    ddgan_ckpt_data_state data = {0}, old_data = {0};
    if (st == DDGAN_OK)
        st = ddgan__ckpt_extras_read(cs->extras, f, &data, fn);
    ddgan__st_close(f);
    /* the loader moves last among the checks: its set_state validates the
     * position against the dataset and is undone if a copy below fails */
    if (st == DDGAN_OK)
        st = ddgan__ckpt_extras_apply(cs->extras, &data, &old_data, fn);
    if (st != DDGAN_OK) {
        host_free(h);
        return st;
    }
    /* everything is read and valid: replace the state */
    st = upload(cs, h);
    if (st == DDGAN_OK)
        memcpy(cs->counters, counters, (size_t)cs->n_counters * sizeof *counters);
    else
        ddgan__ckpt_extras_undo(cs->extras, &old_data);
    host_free(h);
    return st;
}
