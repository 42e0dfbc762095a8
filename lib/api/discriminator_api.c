/* Public entry points: the discriminator handle. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/handles.h"
#include "model/weights.h"

enum { MODE_FORWARD = 1, MODE_BACKWARD = 2, MODE_R1 = 3 };

static ddgan_status_t check(ddgan_discriminator_t d, const char *fn)
{
    if (!d)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: discriminator is NULL", fn);
    if (d->magic != DDGAN_MAGIC_DISCRIMINATOR)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: invalid discriminator handle (destroyed, or not a discriminator)", fn);
    return DDGAN_OK;
}

/* Builds the handle for a parsed config; parameters uninitialised. */
static ddgan_status_t build(ddgan_discriminator_t *out, ddgan_context_t ctx, const char *json,
                            const char *fn)
{
    DDGAN_TRY(ddgan__context_check(ctx, fn));
    if (!ctx->backend->ops->compute)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "%s: backend \"%s\" has no compute ops", fn,
                         ctx->backend->desc->name);
    ddgan_net_cls cls = DDGAN_CLS_NCSNPP;
    DDGAN_TRY(ddgan__config_cls(json, 0, &cls, fn));
    struct ddgan_discriminator *d = ddgan__calloc(1, sizeof *d, fn);
    if (!d)
        return DDGAN_ERR_OUT_OF_MEMORY;
    d->ctx = ctx;
    d->cls = cls;
    if (cls == DDGAN_CLS_TOY) {
        ddgan_status_t st = ddgan__toy_config_parse(json, 1, &d->tcfg, fn);
        int net_ok = 0;
        if (st == DDGAN_OK) {
            st = ddgan__toy_disc_init(&d->toy, &d->tcfg, 1, DDGAN_DT_F32);
            net_ok = st == DDGAN_OK;
        }
        if (st == DDGAN_OK)
            st = ddgan__toy_config_write(&d->tcfg, 1, NULL, &d->config_json);
        if (st == DDGAN_OK)
            st = ddgan__netmem_init(&d->mem, ctx->backend, DDGAN_DT_F32, d->toy.pt.total,
                                    DDGAN_BUF_PARAMS | DDGAN_BUF_GRADS);
        if (st != DDGAN_OK) {
            if (net_ok)
                ddgan__toy_free(&d->toy);
            ddgan__free(d->config_json);
            ddgan__free(d);
            return st;
        }
        d->pt = &d->toy.pt;
        goto done;
    }
    ddgan_status_t st = ddgan__disc_config_parse(json, &d->cfg, fn);
    if (st == DDGAN_OK && (d->cfg.image_size % (1 << (d->cfg.large ? 6 : 3)) != 0))
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                       "%s: config key \"image_size\" = %d is not divisible by %d (%s downsamples "
                       "%d times)",
                       fn, d->cfg.image_size, 1 << (d->cfg.large ? 6 : 3),
                       d->cfg.large ? "Discriminator_large" : "Discriminator_small",
                       d->cfg.large ? 6 : 3);
    int net_ok = 0;
    if (st == DDGAN_OK) {
        st = ddgan__disc_init(&d->net, &d->cfg, 4, DDGAN_DT_F32);
        net_ok = st == DDGAN_OK;
    }
    if (st == DDGAN_OK)
        st = ddgan__disc_config_write(&d->cfg, &d->config_json);
    if (st == DDGAN_OK)
        st = ddgan__netmem_init(&d->mem, ctx->backend, DDGAN_DT_F32, d->net.pt.total,
                                DDGAN_BUF_PARAMS | DDGAN_BUF_GRADS);
    if (st != DDGAN_OK) {
        if (net_ok)
            ddgan__disc_free(&d->net);
        ddgan__free(d->config_json);
        ddgan__free(d);
        return st;
    }
    d->pt = &d->net.pt;
done:
    for (size_t i = 0; i < d->pt->n; i++)
        d->num_params += d->pt->p[i].count;
    d->magic = DDGAN_MAGIC_DISCRIMINATOR;
    ctx->live_children++;
    *out = d;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_discriminator_create_json(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                         const char *config_json)
{
    static const char fn[] = "ddgan_discriminator_create_json";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    ddgan_discriminator_t d = NULL;
    DDGAN_TRY(build(&d, ctx, config_json, fn));
    ddgan_status_t st = ddgan__handle_init_params(&d->mem, d->pt, ctx->seed, DDGAN_STREAM_INIT_D, fn);
    if (st != DDGAN_OK) {
        ddgan_discriminator_destroy(d);
        return st;
    }
    *out = d;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_discriminator_load_prefixed(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                           const char *path, const char *prefix,
                                                           const char *config_key)
{
    static const char fn[] = "ddgan_discriminator_load";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(ddgan__context_check(ctx, fn));
    ddgan_st_file *f = NULL;
    const char *config = NULL;
    DDGAN_TRY(ddgan__handle_open(path, config_key, &f, &config, fn));
    ddgan_discriminator_t d = NULL;
    ddgan_status_t st = build(&d, ctx, config, fn);
    if (st == DDGAN_OK)
        st = ddgan__handle_load_params(&d->mem, d->pt, f, prefix, fn);
    ddgan__st_close(f);
    if (st != DDGAN_OK) {
        ddgan_discriminator_destroy(d);
        return st;
    }
    *out = d;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_discriminator_load(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                  const char *path)
{
    return ddgan_discriminator_load_prefixed(out, ctx, path, NULL, NULL);
}

DDGAN_API ddgan_status_t ddgan_discriminator_save(ddgan_discriminator_t d, const char *path)
{
    static const char fn[] = "ddgan_discriminator_save";
    DDGAN_TRY(check(d, fn));
    return ddgan__handle_save(&d->mem, d->pt, d->config_json, path, fn);
}

DDGAN_API void ddgan_discriminator_destroy(ddgan_discriminator_t d)
{
    if (!d || d->magic != DDGAN_MAGIC_DISCRIMINATOR)
        return;
    if (d->ctx && d->ctx->magic == DDGAN_MAGIC_CONTEXT)
        d->ctx->live_children--;
    d->magic = 0;
    ddgan__netmem_free(&d->mem);
    if (d->cls == DDGAN_CLS_TOY)
        ddgan__toy_free(&d->toy);
    else
        ddgan__disc_free(&d->net);
    ddgan__free(d->config_json);
    ddgan__free(d);
}

DDGAN_API const char *ddgan_discriminator_config_json(ddgan_discriminator_t d)
{
    return check(d, "ddgan_discriminator_config_json") == DDGAN_OK ? d->config_json : "";
}

DDGAN_API ddgan_status_t ddgan_discriminator_summary(ddgan_discriminator_t d, ddgan_model_summary *out)
{
    static const char fn[] = "ddgan_discriminator_summary";
    DDGAN_TRY(check(d, fn));
    if (d->cls == DDGAN_CLS_TOY)
        return ddgan__handle_summary(d->pt, ddgan__toy_flops(&d->toy) / 1e9, out, fn);
    /* 2 x MACs of the convolutions and dense layers at the configured image size */
    double flops = 0.0;
    int s = d->cfg.image_size;
    const ddgan_disc_net *n = &d->net;
    const double td = n->cfg.t_emb_dim;
    flops += 2.0 * 2.0 * td * td; /* t_embed */
    flops += 2.0 * (double)s * s * n->start_conv.c_in * n->start_conv.c_out;
    for (int i = 0; i < n->nblocks; i++) {
        const ddgan_dblock *b = &n->blocks[i];
        flops += 2.0 * (double)s * s * b->c_in * b->c_out * 9; /* conv1 at the input size */
        flops += 2.0 * td * b->c_out;                            /* dense_t1 */
        if (b->down)
            s /= 2;
        flops += 2.0 * (double)s * s * b->c_out * b->c_out * 9; /* conv2 */
        flops += 2.0 * (double)s * s * b->c_in * b->c_out;      /* skip 1x1 */
    }
    flops += 2.0 * (double)s * s * n->final_conv.c_in * n->final_conv.c_out * 9;
    flops += 2.0 * n->end_linear.in;
    return ddgan__handle_summary(&d->net.pt, flops / 1e9, out, fn);
}

DDGAN_API size_t ddgan_discriminator_num_tensors(ddgan_discriminator_t d)
{
    return check(d, "ddgan_discriminator_num_tensors") == DDGAN_OK ? d->pt->n : 0;
}

DDGAN_API ddgan_status_t ddgan_discriminator_tensor_info(ddgan_discriminator_t d, size_t index,
                                                         ddgan_tensor_info *out)
{
    static const char fn[] = "ddgan_discriminator_tensor_info";
    DDGAN_TRY(check(d, fn));
    return ddgan__handle_tensor_info(d->pt, index, out, fn);
}

/* ------------------------------------------------------------------------ */
/* Running: plan (dry run) for a new (mode, batch), then run for real. */

typedef struct run_args {
    int mode;
    const float *x_prev, *x_t, *dlogits;
    const int64_t *t;
    int batch;
    float gamma;
    float *logits, *dx_prev, *penalty;
} run_args;

static ddgan_status_t body_toy(ddgan_discriminator_t d, const run_args *a)
{
    const int dd = d->tcfg.data_dim, B = a->batch;
    ddgan_exec ex = ddgan__netmem_exec(&d->mem, a->mode != MODE_FORWARD);
    ddgan__arena_reset(&d->mem.arena);
    const int planning = d->mem.arena.planning;
    ddgan_backend *be = d->mem.be;
    ddgan_tensor xp, xt;
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xp, B, dd, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xt, B, dd, 1, 1));
    const size_t in_bytes = ddgan__numel(&xp) * sizeof(float);
    if (!planning) {
        DDGAN_TRY(be->ops->copy_h2d(be, xp.data, a->x_prev, in_bytes));
        DDGAN_TRY(be->ops->copy_h2d(be, xt.data, a->x_t, in_bytes));
    }
    ddgan_toy_acts acts;
    DDGAN_TRY(ddgan__toy_disc_forward(&ex, &d->toy, &xp, a->t, &xt, &acts));
    if (a->mode == MODE_FORWARD)
        return planning ? DDGAN_OK
                        : be->ops->copy_d2h(be, a->logits, acts.out.data, (size_t)B * sizeof(float));
    if (a->mode == MODE_BACKWARD) {
        ddgan_tensor dl, dx = {0};
        DDGAN_TRY(ddgan__tensor_alloc(&ex, &dl, B, 1, 1, 1));
        if (!planning)
            DDGAN_TRY(be->ops->copy_h2d(be, dl.data, a->dlogits, (size_t)B * sizeof(float)));
        DDGAN_TRY(ddgan__toy_disc_backward(&ex, &d->toy, &acts, &dl, &dx));
        if (!planning && a->dx_prev)
            DDGAN_TRY(be->ops->copy_d2h(be, a->dx_prev, dx.data, in_bytes));
        return DDGAN_OK;
    }
    double pen = 0.0;
    DDGAN_TRY(ddgan__toy_disc_r1(&ex, &d->toy, &acts, a->gamma, NULL, &pen));
    if (!planning && a->penalty)
        *a->penalty = (float)pen;
    return DDGAN_OK;
}

static ddgan_status_t body(ddgan_discriminator_t d, const run_args *a)
{
    if (d->cls == DDGAN_CLS_TOY)
        return body_toy(d, a);
    const int ci = d->cfg.nc / 2, s = d->cfg.image_size, B = a->batch;
    ddgan_exec ex = ddgan__netmem_exec(&d->mem, a->mode != MODE_FORWARD);
    ddgan__arena_reset(&d->mem.arena);
    const int planning = d->mem.arena.planning;
    ddgan_backend *be = d->mem.be;
    ddgan_tensor xp, xt;
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xp, B, ci, s, s));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xt, B, ci, s, s));
    const size_t in_bytes = ddgan__numel(&xp) * sizeof(float);
    if (!planning) {
        DDGAN_TRY(be->ops->copy_h2d(be, xp.data, a->x_prev, in_bytes));
        DDGAN_TRY(be->ops->copy_h2d(be, xt.data, a->x_t, in_bytes));
    }
    ddgan_disc_acts acts;
    DDGAN_TRY(ddgan__disc_forward(&ex, &d->net, &xp, a->t, &xt, &acts));
    if (a->mode == MODE_FORWARD) {
        if (!planning)
            DDGAN_TRY(be->ops->copy_d2h(be, a->logits, acts.logits.data, (size_t)B * sizeof(float)));
        return DDGAN_OK;
    }
    if (a->mode == MODE_BACKWARD) {
        ddgan_tensor dl, dx = {0};
        DDGAN_TRY(ddgan__tensor_alloc(&ex, &dl, B, 1, 1, 1));
        if (!planning)
            DDGAN_TRY(be->ops->copy_h2d(be, dl.data, a->dlogits, (size_t)B * sizeof(float)));
        DDGAN_TRY(ddgan__disc_backward(&ex, &d->net, &acts, &dl, &dx));
        if (!planning && a->dx_prev)
            DDGAN_TRY(be->ops->copy_d2h(be, a->dx_prev, dx.data, in_bytes));
        return DDGAN_OK;
    }
    double pen = 0.0;
    DDGAN_TRY(ddgan__disc_r1(&ex, &d->net, &acts, a->gamma, NULL, &pen));
    if (!planning && a->penalty)
        *a->penalty = (float)pen;
    return DDGAN_OK;
}

static ddgan_status_t run(ddgan_discriminator_t d, const run_args *a, const char *fn)
{
    ddgan_temb *temb = d->cls == DDGAN_CLS_TOY ? &d->toy.temb : &d->net.temb;
    if (a->batch > temb->max_batch) {
        /* the time embedding's host scratch grows with the largest batch seen */
        const int dim = temb->dim;
        ddgan__temb_free(temb);
        DDGAN_TRY(ddgan__temb_init(temb, dim, a->batch, DDGAN_DT_F32));
        if (d->cls == DDGAN_CLS_TOY)
            d->toy.max_batch = a->batch;
    }
    const ddgan_plan_key key = {a->mode, a->batch, d->cfg.image_size, d->cfg.image_size};
    if (ddgan__handle_plan_begin(&d->mem, &d->plan, &key)) {
        const ddgan_status_t st = ddgan__handle_plan_end(&d->mem, &d->plan, &key, body(d, a));
        if (st != DDGAN_OK)
            return ddgan__error_prefix(st, "%s", fn);
    }
    ddgan_status_t st = body(d, a);
    return st == DDGAN_OK ? st : ddgan__error_prefix(st, "%s", fn);
}

static ddgan_status_t check_io(ddgan_discriminator_t d, const float *x_prev, const int64_t *t,
                               const float *x_t, size_t batch, const char *fn)
{
    DDGAN_TRY(check(d, fn));
    if (!x_prev || !t || !x_t)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                         !x_prev ? "x_prev" : !t ? "t" : "x_t");
    if (batch < 1 || batch > 65536)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: batch %zu not in [1, 65536]", fn, batch);
    if (d->cls != DDGAN_CLS_TOY)
        DDGAN_TRY(ddgan__mbstd_check_batch((int)batch, fn));
    for (size_t b = 0; b < batch; b++)
        if (t[b] < 0 || t[b] > 1000000)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: t[%zu] = %lld is negative or absurd", fn,
                             b, (long long)t[b]);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_discriminator_forward(ddgan_discriminator_t d, const float *x_prev,
                                                     const int64_t *t, const float *x_t, size_t batch,
                                                     float *logits)
{
    static const char fn[] = "ddgan_discriminator_forward";
    DDGAN_TRY(check_io(d, x_prev, t, x_t, batch, fn));
    if (!logits)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: logits is NULL", fn);
    run_args a = {MODE_FORWARD, x_prev, x_t, NULL, t, (int)batch, 0.0f, logits, NULL, NULL};
    return run(d, &a, fn);
}

DDGAN_API ddgan_status_t ddgan_discriminator_backward(ddgan_discriminator_t d, const float *x_prev,
                                                      const int64_t *t, const float *x_t, size_t batch,
                                                      const float *dlogits, float *dx_prev)
{
    static const char fn[] = "ddgan_discriminator_backward";
    DDGAN_TRY(check_io(d, x_prev, t, x_t, batch, fn));
    if (!dlogits)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: dlogits is NULL", fn);
    run_args a = {MODE_BACKWARD, x_prev, x_t, dlogits, t, (int)batch, 0.0f, NULL, dx_prev, NULL};
    return run(d, &a, fn);
}

DDGAN_API ddgan_status_t ddgan_discriminator_r1(ddgan_discriminator_t d, const float *x_prev,
                                                const int64_t *t, const float *x_t, size_t batch,
                                                float gamma, float *penalty_out)
{
    static const char fn[] = "ddgan_discriminator_r1";
    DDGAN_TRY(check_io(d, x_prev, t, x_t, batch, fn));
    if (!isfinite(gamma) || gamma < 0.0f)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: gamma %g must be finite and >= 0", fn,
                         (double)gamma);
    run_args a = {MODE_R1, x_prev, x_t, NULL, t, (int)batch, gamma, NULL, NULL, penalty_out};
    return run(d, &a, fn);
}

DDGAN_API ddgan_status_t ddgan_discriminator_zero_grad(ddgan_discriminator_t d)
{
    static const char fn[] = "ddgan_discriminator_zero_grad";
    DDGAN_TRY(check(d, fn));
    return d->mem.be->ops->fill_f32(d->mem.be, d->mem.grads, 0.0f, d->pt->total);
}

DDGAN_API ddgan_status_t ddgan_discriminator_get_param(ddgan_discriminator_t d, const char *name,
                                                       float *out, size_t n)
{
    static const char fn[] = "ddgan_discriminator_get_param";
    DDGAN_TRY(check(d, fn));
    return ddgan__handle_tensor_io(&d->mem, d->pt, 0, name, out, NULL, n, fn);
}

DDGAN_API ddgan_status_t ddgan_discriminator_set_param(ddgan_discriminator_t d, const char *name,
                                                       const float *in, size_t n)
{
    static const char fn[] = "ddgan_discriminator_set_param";
    DDGAN_TRY(check(d, fn));
    if (!in)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: in is NULL", fn);
    return ddgan__handle_tensor_io(&d->mem, d->pt, 0, name, NULL, in, n, fn);
}

DDGAN_API ddgan_status_t ddgan_discriminator_get_grad(ddgan_discriminator_t d, const char *name,
                                                      float *out, size_t n)
{
    static const char fn[] = "ddgan_discriminator_get_grad";
    DDGAN_TRY(check(d, fn));
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    return ddgan__handle_tensor_io(&d->mem, d->pt, 1, name, out, NULL, n, fn);
}

/* ------------------------------------------------------------------------ */
/* Typed config: mirrors the JSON; create goes through the JSON path so both
 * are validated by the same code. */

#include "core/struct_io.h"
#include "io/json.h"

static ddgan_discriminator_config disc_defaults(void)
{
    ddgan_toy_config toy;
    ddgan__toy_config_defaults(&toy);
    ddgan_discriminator_config c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.cls = NULL;
    c.nc = 6;
    c.ngf = 64;
    c.t_emb_dim = 256;
    c.image_size = 32;
    c.data_dim = toy.data_dim;
    c.hidden_dim = toy.hidden_dim;
    c.n_hidden = toy.n_hidden;
    c.lrelu_slope = toy.lrelu_slope;
    return c;
}

DDGAN_API ddgan_status_t ddgan_discriminator_config_init(ddgan_discriminator_config *cfg,
                                                         size_t struct_size)
{
    const ddgan_discriminator_config d = disc_defaults();
    return ddgan__struct_init(cfg, struct_size, &d, sizeof d, "ddgan_discriminator_config_init");
}

DDGAN_API ddgan_status_t ddgan_discriminator_create(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                    const ddgan_discriminator_config *cfg)
{
    static const char fn[] = "ddgan_discriminator_create";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    ddgan_discriminator_config c = disc_defaults();
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&c, sizeof c, cfg, fn, "cfg"));
    const char *cls = c.cls ? c.cls : "Discriminator_small";
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
    ddgan__json_write_object_begin(&w);
    ddgan__json_write_key(&w, "cls");
    ddgan__json_write_string(&w, cls);
    if (!strcmp(cls, "ToyMLP")) {
        ddgan__json_write_key(&w, "data_dim");
        ddgan__json_write_int64(&w, c.data_dim);
        ddgan__json_write_key(&w, "hidden_dim");
        ddgan__json_write_int64(&w, c.hidden_dim);
        ddgan__json_write_key(&w, "n_hidden");
        ddgan__json_write_int64(&w, c.n_hidden);
        ddgan__json_write_key(&w, "t_emb_dim");
        ddgan__json_write_int64(&w, c.t_emb_dim);
        ddgan__json_write_key(&w, "lrelu_slope");
        ddgan__json_write_double(&w, c.lrelu_slope);
    } else {
        ddgan__json_write_key(&w, "nc");
        ddgan__json_write_int64(&w, c.nc);
        ddgan__json_write_key(&w, "ngf");
        ddgan__json_write_int64(&w, c.ngf);
        ddgan__json_write_key(&w, "t_emb_dim");
        ddgan__json_write_int64(&w, c.t_emb_dim);
        ddgan__json_write_key(&w, "image_size");
        ddgan__json_write_int64(&w, c.image_size);
    }
    ddgan__json_write_object_end(&w);
    char *json = NULL;
    ddgan_status_t st = ddgan__json_writer_finish(&w, &json, NULL);
    ddgan__json_writer_free(&w);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    st = ddgan_discriminator_create_json(out, ctx, json);
    ddgan__free(json);
    return st;
}
