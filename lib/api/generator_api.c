/* Public entry points: the generator handle. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/philox.h"
#include "core/struct_io.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/handles.h"
#include "model/weights.h"

enum { MODE_FORWARD = 1, MODE_BACKWARD = 2 };
/* Largest batch one forward pass plans for; bigger requests run in chunks
 * (every example is independent in G, so chunking changes nothing). */
#define GEN_CHUNK 64

static ddgan_status_t check(ddgan_generator_t g, const char *fn)
{
    if (!g)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: generator is NULL", fn);
    if (g->magic != DDGAN_MAGIC_GENERATOR)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: invalid generator handle (destroyed, or not a generator)", fn);
    return DDGAN_OK;
}

static ddgan_status_t build(ddgan_generator_t *out, ddgan_context_t ctx, const char *json, const char *fn)
{
    DDGAN_TRY(ddgan__context_check(ctx, fn));
    if (!ctx->backend->ops->compute)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "%s: backend \"%s\" has no compute ops", fn,
                         ctx->backend->desc->name);
    ddgan_net_cls cls = DDGAN_CLS_NCSNPP;
    DDGAN_TRY(ddgan__config_cls(json, 1, &cls, fn));
    struct ddgan_generator *g = ddgan__calloc(1, sizeof *g, fn);
    if (!g)
        return DDGAN_ERR_OUT_OF_MEMORY;
    g->ctx = ctx;
    g->cls = cls;
    /* the schedule keys are read for both classes (they travel with the weights) */
    ddgan_status_t st = ddgan__gen_config_parse(json, &g->cfg, fn);
    int net_ok = 0;
    if (st == DDGAN_OK && cls == DDGAN_CLS_TOY) {
        st = ddgan__toy_config_parse(json, 0, &g->tcfg, fn);
        if (st == DDGAN_OK) {
            st = ddgan__toy_gen_init(&g->toy, &g->tcfg, GEN_CHUNK, DDGAN_DT_F32);
            net_ok = st == DDGAN_OK;
        }
        if (st == DDGAN_OK)
            st = ddgan__toy_config_write(&g->tcfg, 0, &g->cfg, &g->config_json);
        g->pt = &g->toy.pt;
    } else if (st == DDGAN_OK) {
        st = ddgan__gen_init(&g->net, &g->cfg, GEN_CHUNK, DDGAN_DT_F32);
        net_ok = st == DDGAN_OK;
        if (st == DDGAN_OK)
            st = ddgan__gen_config_write(&g->cfg, &g->config_json);
        g->pt = &g->net.pt;
    }
    if (st == DDGAN_OK && (g->cfg.num_timesteps < 1))
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: config key \"num_timesteps\" must be >= 1", fn);
    if (st == DDGAN_OK)
        st = ddgan__netmem_init(&g->mem, ctx->backend, DDGAN_DT_F32, g->pt->total,
                                DDGAN_BUF_PARAMS | DDGAN_BUF_GRADS);
    if (st != DDGAN_OK) {
        if (net_ok) {
            if (cls == DDGAN_CLS_TOY)
                ddgan__toy_free(&g->toy);
            else
                ddgan__gen_free(&g->net);
        }
        ddgan__free(g->config_json);
        ddgan__free(g);
        return st;
    }
    for (size_t i = 0; i < g->pt->n; i++)
        g->num_params += g->pt->p[i].count;
    g->magic = DDGAN_MAGIC_GENERATOR;
    ctx->live_children++;
    *out = g;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_generator_create_json(ddgan_generator_t *out, ddgan_context_t ctx,
                                                     const char *config_json)
{
    static const char fn[] = "ddgan_generator_create_json";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    ddgan_generator_t g = NULL;
    DDGAN_TRY(build(&g, ctx, config_json, fn));
    ddgan_status_t st = ddgan__handle_init_params(&g->mem, g->pt, ctx->seed, DDGAN_STREAM_INIT_G, fn);
    if (st != DDGAN_OK) {
        ddgan_generator_destroy(g);
        return st;
    }
    *out = g;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_generator_load_prefixed(ddgan_generator_t *out, ddgan_context_t ctx,
                                                       const char *path, const char *prefix,
                                                       const char *config_key)
{
    static const char fn[] = "ddgan_generator_load";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(ddgan__context_check(ctx, fn));
    ddgan_st_file *f = NULL;
    const char *config = NULL;
    DDGAN_TRY(ddgan__handle_open(path, config_key, &f, &config, fn));
    ddgan_generator_t g = NULL;
    ddgan_status_t st = build(&g, ctx, config, fn);
    if (st == DDGAN_OK)
        st = ddgan__handle_load_params(&g->mem, g->pt, f, prefix, fn);
    ddgan__st_close(f);
    if (st != DDGAN_OK) {
        ddgan_generator_destroy(g);
        return st;
    }
    *out = g;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_generator_load(ddgan_generator_t *out, ddgan_context_t ctx, const char *path)
{
    return ddgan_generator_load_prefixed(out, ctx, path, NULL, NULL);
}

DDGAN_API ddgan_status_t ddgan_generator_save(ddgan_generator_t g, const char *path)
{
    static const char fn[] = "ddgan_generator_save";
    DDGAN_TRY(check(g, fn));
    return ddgan__handle_save(&g->mem, g->pt, g->config_json, path, fn);
}

DDGAN_API void ddgan_generator_destroy(ddgan_generator_t g)
{
    if (!g || g->magic != DDGAN_MAGIC_GENERATOR)
        return;
    if (g->ctx && g->ctx->magic == DDGAN_MAGIC_CONTEXT)
        g->ctx->live_children--;
    g->magic = 0;
    ddgan__netmem_free(&g->mem);
    if (g->cls == DDGAN_CLS_TOY)
        ddgan__toy_free(&g->toy);
    else
        ddgan__gen_free(&g->net);
    ddgan__free(g->config_json);
    ddgan__free(g);
}

DDGAN_API const char *ddgan_generator_config_json(ddgan_generator_t g)
{
    return check(g, "ddgan_generator_config_json") == DDGAN_OK ? g->config_json : "";
}

DDGAN_API ddgan_status_t ddgan_generator_summary(ddgan_generator_t g, ddgan_model_summary *out)
{
    static const char fn[] = "ddgan_generator_summary";
    DDGAN_TRY(check(g, fn));
    double flops = g->cls == DDGAN_CLS_TOY ? ddgan__toy_flops(&g->toy) : ddgan__gen_flops(&g->net);
    return ddgan__handle_summary(g->pt, flops / 1e9, out, fn);
}

DDGAN_API size_t ddgan_generator_num_tensors(ddgan_generator_t g)
{
    return check(g, "ddgan_generator_num_tensors") == DDGAN_OK ? g->pt->n : 0;
}

DDGAN_API ddgan_status_t ddgan_generator_tensor_info(ddgan_generator_t g, size_t index,
                                                     ddgan_tensor_info *out)
{
    static const char fn[] = "ddgan_generator_tensor_info";
    DDGAN_TRY(check(g, fn));
    return ddgan__handle_tensor_info(g->pt, index, out, fn);
}

DDGAN_API ddgan_status_t ddgan_generator_shape(ddgan_generator_t g, int *channels, int *height,
                                               int *width, int *nz)
{
    static const char fn[] = "ddgan_generator_shape";
    DDGAN_TRY(check(g, fn));
    int c, h, w, z;
    ddgan__handle_gen_example_shape(g, &c, &h, &w, &z);
    if (channels)
        *channels = c;
    if (height)
        *height = h;
    if (width)
        *width = w;
    if (nz)
        *nz = z;
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_generator_schedule_config(ddgan_generator_t g, ddgan_schedule_config *out)
{
    static const char fn[] = "ddgan_generator_schedule_config";
    DDGAN_TRY(check(g, fn));
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    ddgan_schedule_config c;
    DDGAN_TRY(ddgan_schedule_config_init(&c, sizeof c));
    c.num_timesteps = g->cfg.num_timesteps;
    c.beta_min = g->cfg.beta_min;
    c.beta_max = g->cfg.beta_max;
    c.use_geometric = g->cfg.use_geometric;
    return ddgan__struct_write(out, &c, sizeof c, fn, "out");
}

/* ------------------------------------------------------------------------ */

typedef struct run_args {
    int mode;
    const float *x_t, *z, *dx0;
    const int64_t *t;
    int batch;
    uint64_t z_block; /* host-stream block of the first drawn z (z == NULL) */
    float *x0;
} run_args;

static ddgan_status_t body(ddgan_generator_t g, const run_args *a)
{
    int c, h, w, nz;
    ddgan__handle_gen_example_shape(g, &c, &h, &w, &nz);
    const int B = a->batch;
    ddgan_exec ex = ddgan__netmem_exec(&g->mem, a->mode == MODE_BACKWARD);
    ddgan__arena_reset(&g->mem.arena);
    const int planning = g->mem.arena.planning;
    ddgan_backend *be = g->mem.be;
    ddgan_tensor x, z, x0 = {0};
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &x, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &z, B, nz, 1, 1));
    const size_t x_bytes = ddgan__numel(&x) * sizeof(float);
    if (!planning) {
        DDGAN_TRY(be->ops->copy_h2d(be, x.data, a->x_t, x_bytes));
        if (a->z)
            DDGAN_TRY(be->ops->copy_h2d(be, z.data, a->z, ddgan__numel(&z) * sizeof(float)));
        else
            DDGAN_TRY(be->ops->compute->rand_normal(be, DDGAN_DT_F32, ddgan__numel(&z), g->ctx->seed,
                                                    DDGAN_STREAM_HOST, a->z_block, z.data));
    }
    const int toy = g->cls == DDGAN_CLS_TOY;
    if (a->mode == MODE_FORWARD) {
        if (toy)
            DDGAN_TRY(ddgan__toy_gen_forward(&ex, &g->toy, &x, a->t, &z, NULL, &x0));
        else
            DDGAN_TRY(ddgan__gen_forward(&ex, &g->net, &x, a->t, &z, NULL, &x0));
        return planning ? DDGAN_OK : be->ops->copy_d2h(be, a->x0, x0.data, x_bytes);
    }
    ddgan_tensor dx0;
    if (toy) {
        ddgan_toy_acts acts;
        DDGAN_TRY(ddgan__toy_gen_forward(&ex, &g->toy, &x, a->t, &z, &acts, &x0));
        DDGAN_TRY(ddgan__tensor_alloc(&ex, &dx0, B, c, h, w));
        if (!planning)
            DDGAN_TRY(be->ops->copy_h2d(be, dx0.data, a->dx0, x_bytes));
        return ddgan__toy_gen_backward(&ex, &g->toy, &acts, &dx0);
    }
    ddgan_gen_acts *acts = NULL;
    DDGAN_TRY(ddgan__gen_acts_create(&ex, &g->net, &acts));
    DDGAN_TRY(ddgan__gen_forward(&ex, &g->net, &x, a->t, &z, acts, &x0));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &dx0, B, c, h, w));
    if (!planning)
        DDGAN_TRY(be->ops->copy_h2d(be, dx0.data, a->dx0, x_bytes));
    return ddgan__gen_backward(&ex, &g->net, acts, &dx0);
}

static ddgan_status_t ensure_batch_capacity(ddgan_generator_t g, int batch)
{
    if (g->cls != DDGAN_CLS_TOY) /* only ever raised: a trainer may rely on a larger limit */
        return batch > g->net.max_batch ? ddgan__gen_set_max_batch(&g->net, batch) : DDGAN_OK;
    return batch <= g->toy.temb.max_batch ? DDGAN_OK : ddgan__handle_gen_toy_batch(g, batch);
}

static ddgan_status_t run(ddgan_generator_t g, const run_args *a, const char *fn)
{
    DDGAN_TRY(ensure_batch_capacity(g, a->batch));
    const ddgan_plan_key key = {a->mode, a->batch, 0, 0};
    if (ddgan__handle_plan_begin(&g->mem, &g->plan, &key)) {
        const ddgan_status_t st = ddgan__handle_plan_end(&g->mem, &g->plan, &key, body(g, a));
        if (st != DDGAN_OK)
            return ddgan__error_prefix(st, "%s", fn);
    }
    ddgan_status_t st = body(g, a);
    return st == DDGAN_OK ? st : ddgan__error_prefix(st, "%s", fn);
}

static ddgan_status_t check_io(ddgan_generator_t g, const float *x_t, const int64_t *t, size_t batch,
                               const char *fn)
{
    DDGAN_TRY(check(g, fn));
    if (!x_t || !t)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !x_t ? "x_t" : "t");
    if (batch < 1 || batch > ((size_t)1 << 30))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: batch %zu out of range", fn, batch);
    for (size_t b = 0; b < batch; b++)
        if (t[b] < 0 || t[b] >= g->cfg.num_timesteps)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: t[%zu] = %lld not in [0, %d]", fn, b,
                             (long long)t[b], g->cfg.num_timesteps - 1);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_generator_forward(ddgan_generator_t g, const float *x_t, const int64_t *t,
                                                 const float *z, size_t batch, float *x0_out)
{
    static const char fn[] = "ddgan_generator_forward";
    DDGAN_TRY(check_io(g, x_t, t, batch, fn));
    if (!x0_out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: x0_out is NULL", fn);
    int c, h, w, nz;
    ddgan__handle_gen_example_shape(g, &c, &h, &w, &nz);
    const size_t per = (size_t)c * h * w;
    /* drawn latents: consecutive normals of the host stream, whatever the chunking */
    const uint64_t first = g->ctx->host_stream_block;
    if (!z)
        g->ctx->host_stream_block += ddgan__philox_blocks(batch * (size_t)nz);
    for (size_t off = 0; off < batch; off += GEN_CHUNK) {
        const size_t n = batch - off < GEN_CHUNK ? batch - off : GEN_CHUNK;
        if (!z && (off * (size_t)nz) % 4 != 0)
            return DDGAN_ERR(DDGAN_ERR_INTERNAL, "%s: chunk not block aligned", fn);
        run_args a = {MODE_FORWARD, x_t + off * per, z ? z + off * (size_t)nz : NULL, NULL, t + off,
                      (int)n, first + (off * (size_t)nz) / 4, x0_out + off * per};
        DDGAN_TRY(run(g, &a, fn));
    }
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_generator_backward(ddgan_generator_t g, const float *x_t, const int64_t *t,
                                                  const float *z, size_t batch, const float *dx0)
{
    static const char fn[] = "ddgan_generator_backward";
    DDGAN_TRY(check_io(g, x_t, t, batch, fn));
    if (!z || !dx0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !z ? "z" : "dx0");
    if (batch > 65536)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: batch %zu > 65536", fn, batch);
    run_args a = {MODE_BACKWARD, x_t, z, dx0, t, (int)batch, 0, NULL};
    return run(g, &a, fn);
}

DDGAN_API ddgan_status_t ddgan_generator_zero_grad(ddgan_generator_t g)
{
    static const char fn[] = "ddgan_generator_zero_grad";
    DDGAN_TRY(check(g, fn));
    return g->mem.be->ops->fill_f32(g->mem.be, g->mem.grads, 0.0f, g->pt->total);
}

DDGAN_API ddgan_status_t ddgan_generator_get_param(ddgan_generator_t g, const char *name, float *out,
                                                   size_t n)
{
    static const char fn[] = "ddgan_generator_get_param";
    DDGAN_TRY(check(g, fn));
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    return ddgan__handle_tensor_io(&g->mem, g->pt, 0, name, out, NULL, n, fn);
}

DDGAN_API ddgan_status_t ddgan_generator_set_param(ddgan_generator_t g, const char *name, const float *in,
                                                   size_t n)
{
    static const char fn[] = "ddgan_generator_set_param";
    DDGAN_TRY(check(g, fn));
    if (!in)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: in is NULL", fn);
    return ddgan__handle_tensor_io(&g->mem, g->pt, 0, name, NULL, in, n, fn);
}

DDGAN_API ddgan_status_t ddgan_generator_get_grad(ddgan_generator_t g, const char *name, float *out,
                                                  size_t n)
{
    static const char fn[] = "ddgan_generator_get_grad";
    DDGAN_TRY(check(g, fn));
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    return ddgan__handle_tensor_io(&g->mem, g->pt, 1, name, out, NULL, n, fn);
}

/* ------------------------------------------------------------------------ */
/* Typed config: mirrors the JSON; create goes through the JSON path. */

static ddgan_generator_config gen_defaults(void)
{
    ddgan_gen_config g;
    ddgan__gen_config_defaults(&g);
    ddgan_toy_config t;
    ddgan__toy_config_defaults(&t);
    ddgan_generator_config c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.image_size = g.image_size;
    c.num_channels = g.num_channels;
    c.num_channels_dae = g.num_channels_dae;
    for (int i = 0; i < g.n_levels && i < 8; i++)
        c.ch_mult[i] = g.ch_mult[i];
    c.ch_mult_len = g.n_levels;
    c.num_res_blocks = g.num_res_blocks;
    for (int i = 0; i < g.n_attn && i < 8; i++)
        c.attn_resolutions[i] = g.attn_resolutions[i];
    c.attn_resolutions_len = g.n_attn;
    c.nz = g.nz;
    c.z_emb_dim = g.z_emb_dim;
    c.n_mlp = 4; /* the CIFAR-10 command's value (train_ddgan.py's default is 3) */
    c.centered = g.centered;
    c.not_use_tanh = g.not_use_tanh;
    c.conditional = g.conditional;
    c.fir = g.fir;
    for (int i = 0; i < g.n_fir && i < 8; i++)
        c.fir_kernel[i] = g.fir_kernel[i];
    c.fir_kernel_len = g.n_fir;
    c.skip_rescale = g.skip_rescale;
    c.resamp_with_conv = g.resamp_with_conv;
    c.dropout = g.dropout;
    c.num_timesteps = g.num_timesteps;
    c.beta_min = g.beta_min;
    c.beta_max = g.beta_max;
    c.use_geometric = g.use_geometric;
    c.data_dim = t.data_dim;
    c.hidden_dim = t.hidden_dim;
    c.n_hidden = t.n_hidden;
    c.t_emb_dim = t.t_emb_dim;
    c.lrelu_slope = t.lrelu_slope;
    c.data_scale = t.data_scale;
    return c;
}

DDGAN_API ddgan_status_t ddgan_generator_config_init(ddgan_generator_config *cfg, size_t struct_size)
{
    const ddgan_generator_config d = gen_defaults();
    return ddgan__struct_init(cfg, struct_size, &d, sizeof d, "ddgan_generator_config_init");
}

static void w_int_list(ddgan_json_writer *w, const char *key, const int *v, int n)
{
    ddgan__json_write_key(w, key);
    ddgan__json_write_array_begin(w);
    for (int i = 0; i < n; i++)
        ddgan__json_write_int64(w, v[i]);
    ddgan__json_write_array_end(w);
}

DDGAN_API ddgan_status_t ddgan_generator_create(ddgan_generator_t *out, ddgan_context_t ctx,
                                                const ddgan_generator_config *cfg)
{
    static const char fn[] = "ddgan_generator_create";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    ddgan_generator_config c = gen_defaults();
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&c, sizeof c, cfg, fn, "cfg"));
    if (c.ch_mult_len < 0 || c.ch_mult_len > 8 || c.attn_resolutions_len < 0 ||
        c.attn_resolutions_len > 8 || c.fir_kernel_len < 0 || c.fir_kernel_len > 8)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: list lengths must be in [0, 8] (ch_mult_len %d, attn_resolutions_len "
                         "%d, fir_kernel_len %d)",
                         fn, c.ch_mult_len, c.attn_resolutions_len, c.fir_kernel_len);
    ddgan_json_writer w;
    ddgan__json_writer_init(&w);
#define KI(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_int64(&w, v))
#define KB(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_bool(&w, (v) != 0))
#define KD(k, v) (ddgan__json_write_key(&w, k), ddgan__json_write_double(&w, v))
#define KS(k, v)                                 \
    do {                                         \
        if (v) {                                 \
            ddgan__json_write_key(&w, k);        \
            ddgan__json_write_string(&w, v);     \
        }                                        \
    } while (0)
    ddgan__json_write_object_begin(&w);
    KS("cls", c.cls);
    KI("image_size", c.image_size);
    KI("num_channels", c.num_channels);
    KI("num_channels_dae", c.num_channels_dae);
    w_int_list(&w, "ch_mult", c.ch_mult, c.ch_mult_len);
    KI("num_res_blocks", c.num_res_blocks);
    w_int_list(&w, "attn_resolutions", c.attn_resolutions, c.attn_resolutions_len);
    KI("nz", c.nz);
    KI("z_emb_dim", c.z_emb_dim);
    KI("n_mlp", c.n_mlp);
    KB("centered", c.centered);
    KB("not_use_tanh", c.not_use_tanh);
    KB("conditional", c.conditional);
    KB("fir", c.fir);
    ddgan__json_write_key(&w, "fir_kernel");
    ddgan__json_write_array_begin(&w);
    for (int i = 0; i < c.fir_kernel_len; i++)
        ddgan__json_write_double(&w, c.fir_kernel[i]);
    ddgan__json_write_array_end(&w);
    KB("skip_rescale", c.skip_rescale);
    KB("resamp_with_conv", c.resamp_with_conv);
    KD("dropout", c.dropout);
    KS("resblock_type", c.resblock_type);
    KS("progressive", c.progressive);
    KS("progressive_input", c.progressive_input);
    KS("progressive_combine", c.progressive_combine);
    KS("embedding_type", c.embedding_type);
    KI("num_timesteps", c.num_timesteps);
    KD("beta_min", c.beta_min);
    KD("beta_max", c.beta_max);
    KB("use_geometric", c.use_geometric);
    KI("data_dim", c.data_dim);
    KI("hidden_dim", c.hidden_dim);
    KI("n_hidden", c.n_hidden);
    KI("t_emb_dim", c.t_emb_dim);
    KD("lrelu_slope", c.lrelu_slope);
    KD("data_scale", c.data_scale);
    ddgan__json_write_object_end(&w);
#undef KI
#undef KB
#undef KD
#undef KS
    char *json = NULL;
    ddgan_status_t st = ddgan__json_writer_finish(&w, &json, NULL);
    ddgan__json_writer_free(&w);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    st = ddgan_generator_create_json(out, ctx, json);
    ddgan__free(json);
    return st;
}
