/* "cpu" convolutions on oneDNN: forward, backward data and backward weights
 * in float32, with the primitives created once per shape and variant and
 * cached in the instance.
 *
 * Layouts: the op set's arrays are plain NCHW / OIHW. oneDNN's fastest
 * kernels (jit:avx512_core, ...) want blocked layouts (nChw16c, OIhw16i16o),
 * so by default a primitive is created with "any" layouts and each call
 * reorders its inputs into a workspace and its outputs back (for 3x3
 * kernels the blocked kernel plus the reorders is typically 1.6x-2.4x
 * faster than the gemm-based kernel on plain memory). 1x1 convolutions keep
 * the plain layout (cpu_use_blocked); DDGAN_CPU_CONV_LAYOUT=plain|blocked
 * forces one.
 *
 * accumulate = 1: a reordered output is added by the reorder (sum post-op);
 * a plain forward output by the convolution's sum post-op; a plain backward
 * output is written into the workspace and then added.
 *
 * Anything the fast path does not take (float64, invalid descriptors, a
 * shape oneDNN has no implementation for) runs on the ref op, which also
 * produces the error messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_backend.h"
#include "cpu/cpu_smallconv.h"
#include "cpu/cpu_winograd.h"
#include "ref/ref_ops.h"

/* ------------------------------------------------------------------------ */
/* The fast path's preconditions (the ref op validates everything else)     */

static int conv_fast(const ddgan_backend *be, const ddgan_conv2d_desc *in, int accumulate,
                     ddgan_conv2d_desc *d)
{
    if (!be || !be->state || !in || in->dtype != DDGAN_DT_F32 || (accumulate != 0 && accumulate != 1))
        return 0;
    *d = *in;
    const int dims[] = {d->n, d->c_in, d->h, d->w, d->c_out, d->kh, d->kw};
    for (int i = 0; i < 7; i++)
        if (dims[i] < 1 || dims[i] > REF_MAX_DIM)
            return 0;
    const int pads[] = {d->pad_t, d->pad_l, d->pad_b, d->pad_r};
    for (int i = 0; i < 4; i++)
        if (pads[i] < 0 || pads[i] > REF_MAX_DIM)
            return 0;
    if (ddgan__conv2d_desc_finish(d) != 0)
        return 0;
    int64_t nx, nw, ny;
    if (ddgan__ref_count4(d->n, d->c_in, d->h, d->w, &nx) ||
        ddgan__ref_count4(d->c_out, d->c_in, d->kh, d->kw, &nw) ||
        ddgan__ref_count4(d->n, d->c_out, d->h_out, d->w_out, &ny))
        return 0;
    return 1;
}

/* Forward convolutions that run as inference entries inside a const_scope:
 * the plug-in's Winograd (cpu_winograd.h), whose weights are transformed
 * once and kept (scoped_weights), for 3x3 stride-1 layers with padding 1
 * and planes of CPU_SCOPE_MIN_PLANE pixels or more, below the batch
 * Winograd threshold (batch-1 sampling). Measured on the CIFAR-10
 * generator's batch-1 layers, their weights streamed from memory as in a
 * sampling step (docs/backend-cpu.md): 32x32 at 900-1370 model-GFLOP/s
 * (oneDNN's Winograd inference kernels 600-655, direct 410-435), 16x16 at
 * 650-800 (direct 390). Forwards of at most 64 output pixels (a single 8x8
 * or 4x4 image) never get here: the small-plane kernel (cpu_smallconv.h),
 * which reads the plain weights once, runs them faster than either. */
#define CPU_WINO_MIN_PIXELS 4096
#define CPU_SCOPE_MIN_PLANE 64
static int scope_inference(const cpu_state *st, const ddgan_conv2d_desc *d, const void *weight)
{
    if (!st->scope_open || !st->winograd || st->conv_layout == CPU_LAYOUT_PLAIN ||
        (const char *)weight < st->scope_lo || (const char *)weight >= st->scope_hi)
        return 0;
    const int64_t plane = (int64_t)d->h_out * d->w_out;
    return ddgan__cpu_wino_fits(d) && plane >= CPU_SCOPE_MIN_PLANE &&
           (int64_t)d->n * plane < CPU_WINO_MIN_PIXELS;
}

static cpu_conv_key make_key(cpu_conv_kind kind, const ddgan_conv2d_desc *d, int with_bias, int sum)
{
    cpu_conv_key k;
    memset(&k, 0, sizeof k);
    k.kind = (int)kind;
    k.n = d->n;
    k.c_in = d->c_in;
    k.h = d->h;
    k.w = d->w;
    k.c_out = d->c_out;
    k.kh = d->kh;
    k.kw = d->kw;
    k.stride = d->stride;
    k.pad_t = d->pad_t;
    k.pad_l = d->pad_l;
    k.pad_b = d->pad_b;
    k.pad_r = d->pad_r;
    k.with_bias = with_bias;
    k.sum = sum;
    return k;
}

static uint32_t key_hash(const cpu_conv_key *k)
{
    const unsigned char *p = (const unsigned char *)k;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < sizeof *k; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static const char *kind_name(int kind)
{
    return kind == CPU_CONV_FWD ? "conv2d_fwd"
           : kind == CPU_CONV_BWD_DATA ? "conv2d_bwd_data"
                                       : "conv2d_bwd_weights";
}

/* The finished float32 descriptor of key k. */
static ddgan_conv2d_desc key_desc(const cpu_conv_key *k)
{
    ddgan_conv2d_desc d = {.dtype = DDGAN_DT_F32, .n = k->n, .c_in = k->c_in, .h = k->h,
                           .w = k->w, .c_out = k->c_out, .kh = k->kh, .kw = k->kw,
                           .stride = k->stride, .pad_t = k->pad_t, .pad_l = k->pad_l,
                           .pad_b = k->pad_b, .pad_r = k->pad_r};
    ddgan__conv2d_desc_finish(&d);
    return d;
}

/* Output pixels per image of key k (h_out x w_out). */
static int64_t key_plane(const cpu_conv_key *k)
{
    const int64_t h_out = (k->h + k->pad_t + k->pad_b - k->kh) / k->stride + 1;
    const int64_t w_out = (k->w + k->pad_l + k->pad_r - k->kw) / k->stride + 1;
    return h_out * w_out;
}

/* Measured on the DDGAN shapes (docs/backend-cpu.md): with blocked layouts
 * 3x3 convolutions run 1.3x-6x faster including the reorders (also with one
 * input channel), 1x1 ones mostly slower (little compute per byte
 * reordered): blocked for every kernel larger than 1x1. Except where the
 * weights' reorder, paid on every call, outweighs the convolution: at most
 * CPU_PLAIN_MAX_PIXELS output pixels in the whole batch with weights of
 * CPU_PLAIN_MIN_WEIGHT_BYTES or more (beyond the L2 cache, so the reorder
 * streams them from L3 twice). Batch-1 sampling of the CIFAR-10 generator:
 * 256 channels at 8x8 run at 366 GFLOP/s plain against 275 blocked, 4x4 at
 * 178 against 109, 16x16 alike; 64 channels (147 KiB of weights) stay
 * faster blocked at every size. */
#define CPU_PLAIN_MAX_PIXELS 256
#define CPU_PLAIN_MIN_WEIGHT_BYTES ((int64_t)1 << 20)
static int cpu_use_blocked(const cpu_state *st, const cpu_conv_key *k)
{
    switch (st->conv_layout) {
    case CPU_LAYOUT_PLAIN: return 0;
    case CPU_LAYOUT_BLOCKED: return 1;
    case CPU_LAYOUT_AUTO: break;
    }
    if (k->kh * k->kw <= 1)
        return 0;
    const int64_t wbytes = (int64_t)k->c_out * k->c_in * k->kh * k->kw * (int64_t)sizeof(float);
    return !(k->n * key_plane(k) <= CPU_PLAIN_MAX_PIXELS && wbytes >= CPU_PLAIN_MIN_WEIGHT_BYTES);
}

/* oneDNN's Winograd (F(4x4, 3x3) / F(2x2, 3x3) kernels: about 2x fewer
 * multiplications than direct, relative error about 1e-6) for forward and
 * backward-data 3x3 stride-1 convolutions with at least CPU_WINO_MIN_PIXELS
 * output pixels in the batch. A training primitive transforms the weights
 * on every call; oneDNN parallelises over tiles, which pays at training and
 * large sampling batches and loses at batch 1 (measured:
 * docs/backend-cpu.md). Tried first, in the blocked layout; where oneDNN
 * has no Winograd kernel the direct one is used. */
static int cpu_use_winograd(const cpu_state *st, const cpu_conv_key *k)
{
    if (k->inference)
        return 0; /* the plug-in's own (entry_create) */
    if (!st->winograd || st->conv_layout == CPU_LAYOUT_PLAIN || k->kind == CPU_CONV_BWD_WEIGHTS ||
        k->kh != 3 || k->kw != 3 || k->stride != 1 || k->c_in < 16 || k->c_out < 16)
        return 0;
    return k->n * key_plane(k) >= CPU_WINO_MIN_PIXELS;
}

/* ------------------------------------------------------------------------ */
/* The primitive cache                                                      */

static void entry_release(cpu_conv_entry *e)
{
    for (int i = 0; i < e->ntensors; i++) {
        cpu_conv_tensor *t = &e->t[i];
        if (t->reorder)
            dnnl_primitive_destroy(t->reorder);
        if (t->mem)
            dnnl_memory_destroy(t->mem);
        if (t->user)
            dnnl_memory_destroy(t->user);
    }
    if (e->scratch_mem)
        dnnl_memory_destroy(e->scratch_mem);
    if (e->prim)
        dnnl_primitive_destroy(e->prim);
    ddgan__cpu_wino_plan_destroy(e->wino);
    memset(e, 0, sizeof *e);
}

void ddgan__cpu_conv_cache_clear(cpu_state *st)
{
    if (st->wcache) {
        for (int i = 0; i < CPU_WCACHE_CAP; i++) {
            free(st->wcache[i].buf);
            free(st->wcache[i].copy);
        }
        free(st->wcache);
        st->wcache = NULL;
    }
    if (!st->cache)
        return;
    for (int i = 0; i < CPU_CONV_CACHE_CAP; i++)
        if (st->cache[i].used)
            entry_release(&st->cache[i]);
}

#define DNNL_TRY(call, what)                                                                     \
    do {                                                                                         \
        s = (call);                                                                              \
        if (s != dnnl_success) {                                                                 \
            step = (what);                                                                       \
            goto done;                                                                           \
        }                                                                                        \
    } while (0)

static size_t align64(size_t v) { return (v + 63) & ~(size_t)63; }

/* A reorder primitive from -> to; `sum`: adds to the destination. */
static dnnl_status_t make_reorder(dnnl_engine_t eng, const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to, int sum, dnnl_primitive_t *out)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success && sum) {
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success)
            s = dnnl_post_ops_append_sum(po, 1.0f);
        if (s == dnnl_success)
            s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success)
        s = dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, attr);
    if (s == dnnl_success)
        s = dnnl_primitive_create(out, pd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return s;
}

/* One tensor of the op: its argument, whether the primitive writes it, and
 * its plain (NCHW / OIHW / x) descriptor. */
typedef struct tensor_spec {
    int arg, is_out;
    const dnnl_memory_desc_t *plain;
} tensor_spec;

/* Creates the primitive of key `k` into the (empty) slot e, with blocked
 * layouts or plain ones. Returns oneDNN's status (unimplemented: try
 * otherwise); *step names the failing call. */
static dnnl_status_t entry_build(cpu_state *st, const cpu_conv_key *k, int blocked,
                                 dnnl_alg_kind_t alg, cpu_conv_entry *e, const char **step_out)
{
    const ddgan_conv2d_desc d = key_desc(k);
    const dnnl_dims_t src_dims = {d.n, d.c_in, d.h, d.w};
    const dnnl_dims_t wei_dims = {d.c_out, d.c_in, d.kh, d.kw};
    const dnnl_dims_t bia_dims = {d.c_out};
    const dnnl_dims_t dst_dims = {d.n, d.c_out, d.h_out, d.w_out};
    const dnnl_dims_t strides = {d.stride, d.stride};
    const dnnl_dims_t pad_l = {d.pad_t, d.pad_l};
    const dnnl_dims_t pad_r = {d.pad_b, d.pad_r};
    /* the forward's sum post-op adds into a plain y directly */
    const int post_sum = !blocked && k->kind == CPU_CONV_FWD && k->sum;

    dnnl_status_t s = dnnl_success;
    const char *step = "";
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t post_ops = NULL;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    dnnl_memory_desc_t src_p, wei_p, bia_p, dst_p, src_c, wei_c, dst_c;
    dnnl_convolution_desc_t fwd_desc, op_desc;
    const dnnl_format_tag_t any = dnnl_format_tag_any;

    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_p, 4, src_dims, dnnl_f32, dnnl_nchw), "memory desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&wei_p, 4, wei_dims, dnnl_f32, dnnl_oihw), "memory desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&bia_p, 1, bia_dims, dnnl_f32, dnnl_x), "memory desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_p, 4, dst_dims, dnnl_f32, dnnl_nchw), "memory desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_c, 4, src_dims, dnnl_f32, blocked ? any : dnnl_nchw),
             "memory desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&wei_c, 4, wei_dims, dnnl_f32, blocked ? any : dnnl_oihw),
             "memory desc");
    DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_c, 4, dst_dims, dnnl_f32, blocked ? any : dnnl_nchw),
             "memory desc");
    DNNL_TRY(dnnl_primitive_attr_create(&attr), "attributes");
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "attributes");
    if (post_sum) {
        DNNL_TRY(dnnl_post_ops_create(&post_ops), "post-ops");
        DNNL_TRY(dnnl_post_ops_append_sum(post_ops, 1.0f), "post-ops");
        DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, post_ops), "post-ops");
    }
    DNNL_TRY(dnnl_convolution_forward_desc_init(&fwd_desc,
                                                k->inference ? dnnl_forward_inference
                                                             : dnnl_forward_training,
                                                alg, &src_c, &wei_c,
                                                k->with_bias ? &bia_p : NULL, &dst_c, strides,
                                                pad_l, pad_r),
             "convolution descriptor");
    if (k->kind == CPU_CONV_FWD) {
        DNNL_TRY(dnnl_primitive_desc_create(&pd, &fwd_desc, attr, st->engine, NULL),
                 "primitive descriptor");
    } else {
        DNNL_TRY(dnnl_primitive_desc_create(&hint, &fwd_desc, NULL, st->engine, NULL),
                 "forward hint");
        if (k->kind == CPU_CONV_BWD_DATA)
            DNNL_TRY(dnnl_convolution_backward_data_desc_init(&op_desc, alg, &src_c, &wei_c,
                                                              &dst_c, strides, pad_l, pad_r),
                     "convolution descriptor");
        else
            DNNL_TRY(dnnl_convolution_backward_weights_desc_init(
                         &op_desc, dnnl_convolution_direct, &src_c, &wei_c,
                         k->with_bias ? &bia_p : NULL, &dst_c, strides, pad_l, pad_r),
                     "convolution descriptor");
        DNNL_TRY(dnnl_primitive_desc_create(&pd, &op_desc, attr, st->engine, hint),
                 "primitive descriptor");
    }

    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)&impl) == dnnl_success &&
        impl)
        snprintf(e->impl, sizeof e->impl, "%s", impl);

    /* the tensors, in the order the op passes its pointers */
    tensor_spec spec[CPU_CONV_MAX_TENSORS];
    int n = 0;
#define ADD_TENSOR(ARG, OUT, PLAIN)                                                              \
    do {                                                                                         \
        spec[n].arg = (ARG);                                                                     \
        spec[n].is_out = (OUT);                                                                  \
        spec[n].plain = (PLAIN);                                                                 \
        n++;                                                                                     \
    } while (0)
    if (k->kind == CPU_CONV_FWD) {
        ADD_TENSOR(DNNL_ARG_SRC, 0, &src_p);
        ADD_TENSOR(DNNL_ARG_WEIGHTS, 0, &wei_p);
        if (k->with_bias)
            ADD_TENSOR(DNNL_ARG_BIAS, 0, &bia_p);
        ADD_TENSOR(DNNL_ARG_DST, 1, &dst_p);
    } else if (k->kind == CPU_CONV_BWD_DATA) {
        ADD_TENSOR(DNNL_ARG_DIFF_DST, 0, &dst_p);
        ADD_TENSOR(DNNL_ARG_WEIGHTS, 0, &wei_p);
        ADD_TENSOR(DNNL_ARG_DIFF_SRC, 1, &src_p);
    } else {
        ADD_TENSOR(DNNL_ARG_SRC, 0, &src_p);
        ADD_TENSOR(DNNL_ARG_DIFF_DST, 0, &dst_p);
        ADD_TENSOR(DNNL_ARG_DIFF_WEIGHTS, 1, &wei_p);
        if (k->with_bias)
            ADD_TENSOR(DNNL_ARG_DIFF_BIAS, 1, &bia_p);
    }
#undef ADD_TENSOR
    size_t ws = 0;
    for (int i = 0; i < n; i++) {
        cpu_conv_tensor *t = &e->t[i];
        e->ntensors = i + 1;
        t->arg = spec[i].arg;
        const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md,
                                                                        spec[i].arg);
        if (!chosen) {
            s = dnnl_runtime_error;
            step = "memory descriptor query";
            goto done;
        }
        DNNL_TRY(dnnl_memory_create(&t->mem, chosen, st->engine, DNNL_MEMORY_NONE), "memory object");
        if (!dnnl_memory_desc_equal(chosen, spec[i].plain)) {
            t->mode = spec[i].is_out ? CPU_T_REORDER_OUT : CPU_T_REORDER_IN;
            t->ws_off = ws;
            ws += align64(dnnl_memory_desc_get_size(chosen));
            DNNL_TRY(dnnl_memory_create(&t->user, spec[i].plain, st->engine, DNNL_MEMORY_NONE),
                     "memory object");
            if (spec[i].is_out)
                DNNL_TRY(make_reorder(st->engine, chosen, spec[i].plain, k->sum, &t->reorder),
                         "reorder");
            else
                DNNL_TRY(make_reorder(st->engine, spec[i].plain, chosen, 0, &t->reorder), "reorder");
            e->blocked = 1;
        } else if (spec[i].is_out && k->sum && !post_sum) {
            t->mode = CPU_T_TMP_ADD;
            t->ws_off = ws;
            t->elems = dnnl_memory_desc_get_size(chosen) / sizeof(float);
            ws += align64(dnnl_memory_desc_get_size(chosen));
        } else {
            t->mode = CPU_T_DIRECT;
        }
    }
    e->ws_bytes = ws;
    const dnnl_memory_desc_t *scratch_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch_bytes = scratch_md ? dnnl_memory_desc_get_size(scratch_md) : 0;
    if (e->scratch_bytes)
        DNNL_TRY(dnnl_memory_create(&e->scratch_mem, scratch_md, st->engine, DNNL_MEMORY_NONE),
                 "memory object");
    DNNL_TRY(dnnl_primitive_create(&e->prim, pd), "primitive");

done:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (hint)
        dnnl_primitive_desc_destroy(hint);
    if (post_ops)
        dnnl_post_ops_destroy(post_ops);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    *step_out = step;
    return s;
}

/* Creates the entry of key `k` into slot e: blocked layouts when they pay,
 * else (or when oneDNN has no blocked implementation) plain ones; no
 * implementation at all is not an error, the entry is marked fallback. */
static ddgan_status_t entry_create(ddgan_backend *be, const cpu_conv_key *k, uint32_t hash,
                                   cpu_conv_entry *e)
{
    cpu_state *st = be->state;
    const char *step = "";
    dnnl_status_t s = dnnl_unimplemented;
    cpu_section sec;
    ddgan__cpu_section_enter(st, st->num_threads, &sec);
    if (k->inference) {
        /* the plug-in's Winograd; failing that, oneDNN's direct kernel */
        memset(e, 0, sizeof *e);
        const ddgan_conv2d_desc d = key_desc(k);
        const int m = ddgan__cpu_wino_tile(&d);
        e->wino = ddgan__cpu_wino_plan_create(&d, m);
        if (e->wino) {
            s = dnnl_success;
            e->ws_bytes = e->wino->ws_bytes;
            snprintf(e->impl, sizeof e->impl, "plug-in Winograd F(%dx%d,3x3) on %s", m, m,
                     e->wino->lanes ? "vector lanes" : "dnnl_sgemm");
        }
    }
    if (s != dnnl_success && cpu_use_winograd(st, k)) {
        /* any failure here (no Winograd kernel for the shape, ...): direct */
        memset(e, 0, sizeof *e);
        s = entry_build(st, k, 1, dnnl_convolution_winograd, e, &step);
        if (s != dnnl_success) {
            entry_release(e);
            s = dnnl_unimplemented;
        }
    }
    for (int blocked = cpu_use_blocked(st, k); blocked >= 0 && s != dnnl_success; blocked--) {
        memset(e, 0, sizeof *e);
        s = entry_build(st, k, blocked, dnnl_convolution_direct, e, &step);
        if (s != dnnl_unimplemented)
            break;
        entry_release(e);
    }
    ddgan__cpu_section_leave(&sec);
    if (s == dnnl_unimplemented) {
        memset(e, 0, sizeof *e);
        e->key = *k;
        e->hash = hash;
        e->used = 1;
        e->fallback = 1;
        ddgan__cpu_log(be, DDGAN_LOG_DEBUG,
                       "cpu backend: %s %dx%dx%dx%d>%d k%dx%d s%d: oneDNN has no implementation "
                       "(%s), using ref",
                       kind_name(k->kind), k->n, k->c_in, k->h, k->w, k->c_out, k->kh, k->kw,
                       k->stride, step);
        return DDGAN_OK;
    }
    if (s != dnnl_success) {
        entry_release(e);
        return ddgan__set_error(s == dnnl_out_of_memory ? DDGAN_ERR_OUT_OF_MEMORY : DDGAN_ERR_BACKEND,
                                "%s: oneDNN failed to create the %s: %s", kind_name(k->kind), step,
                                ddgan__cpu_dnnl_status_str(s));
    }
    e->key = *k;
    e->hash = hash;
    e->used = 1;
    st->prims_created++;
    e->serial = st->prims_created;
    ddgan__cpu_log(be, DDGAN_LOG_DEBUG,
                   "cpu backend: %s %dx%dx%dx%d>%d k%dx%d s%d pads (%d,%d,%d,%d)%s%s: %s%s, "
                   "%s layout, scratchpad %zu bytes, workspace %zu bytes",
                   kind_name(k->kind), k->n, k->c_in, k->h, k->w, k->c_out, k->kh, k->kw, k->stride,
                   k->pad_t, k->pad_l, k->pad_b, k->pad_r, k->with_bias ? " bias" : "",
                   k->sum ? " accumulate" : "", e->wino ? "" : "oneDNN ", e->impl,
                   e->wino ? "Winograd-domain" : e->blocked ? "blocked" : "plain",
                   e->scratch_bytes, e->ws_bytes);
    return DDGAN_OK;
}

/* The cached entry for key k, created on first use (least recently used
 * slot evicted when the cache is full). */
static ddgan_status_t conv_entry(ddgan_backend *be, const cpu_conv_key *k, cpu_conv_entry **out)
{
    cpu_state *st = be->state;
    const uint32_t h = key_hash(k);
    cpu_conv_entry *victim = NULL;
    for (int i = 0; i < CPU_CONV_CACHE_CAP; i++) {
        cpu_conv_entry *e = &st->cache[i];
        if (e->used && e->hash == h && !memcmp(&e->key, k, sizeof *k)) {
            e->last_use = ++st->tick;
            *out = e;
            return DDGAN_OK;
        }
        if (!victim || (victim->used && (!e->used || e->last_use < victim->last_use)))
            victim = e;
    }
    if (victim->used) {
        entry_release(victim);
        st->cache_evictions++;
    }
    DDGAN_TRY(entry_create(be, k, h, victim));
    victim->last_use = ++st->tick;
    *out = victim;
    return DDGAN_OK;
}

/* Grows *buf to hold `bytes` (64-byte aligned; contents not kept). */
static int grow_plain(void **buf, size_t *cap, size_t bytes)
{
    if (*cap >= bytes && *buf)
        return 0;
    free(*buf);
    *cap = 0;
    *buf = aligned_alloc(64, align64(bytes));
    if (!*buf)
        return -1;
    *cap = align64(bytes);
    return 0;
}

/* The buffer that holds weights w as inference entry e wants them (derived
 * from the plain weights into `derived` bytes) inside the open scope.
 * *fresh = 1: the caller must derive them into it; 0: it holds them
 * already, derived in this scope or in an earlier one from weights equal to
 * w's current contents (compared byte for byte once per scope: 2.4 MB take
 * about 0.1 ms, a transform milliseconds). NULL when no slot or memory is
 * free (short of memory is not an error for a cache). Slots are found by
 * the weights' address and the entry's serial (an evicted and re-created
 * entry may want another layout). */
static void *scoped_weights(cpu_state *st, const cpu_conv_entry *e, size_t derived, const void *w,
                            int *fresh)
{
    if (!st->wcache)
        return NULL;
    cpu_wcache *slot = NULL;
    const size_t h = ((uintptr_t)w >> 6) % CPU_WCACHE_CAP;
    for (size_t p = 0; p < CPU_WCACHE_CAP && !slot; p++) {
        cpu_wcache *c = &st->wcache[(h + p) % CPU_WCACHE_CAP];
        if (!c->w || (c->w == w && c->entry_serial == e->serial))
            slot = c;
    }
    if (!slot)
        return NULL;
    const size_t plain = (size_t)e->key.c_out * e->key.c_in * e->key.kh * e->key.kw * sizeof(float);
    if (slot->w == w && slot->copy_bytes == plain &&
        (slot->epoch == st->scope_epoch || memcmp(slot->copy, w, plain) == 0)) {
        slot->epoch = st->scope_epoch;
        *fresh = 0;
        return slot->buf;
    }
    slot->w = NULL; /* until derived again */
    if (grow_plain(&slot->buf, &slot->cap, derived) != 0 ||
        grow_plain(&slot->copy, &slot->copy_cap, plain) != 0)
        return NULL;
    memcpy(slot->copy, w, plain);
    slot->copy_bytes = plain;
    slot->w = w;
    slot->entry_serial = e->serial;
    slot->epoch = st->scope_epoch;
    *fresh = 1;
    return slot->buf;
}

ddgan_status_t ddgan__cpu_const_scope(ddgan_backend *be, const void *base, size_t bytes, int begin)
{
    if (!be || !be->state)
        return ddgan__set_error(DDGAN_ERR_INVALID_ARGUMENT, "const_scope: backend is NULL");
    cpu_state *st = be->state;
    st->scope_open = 0;
    if (!begin || !base || bytes == 0)
        return DDGAN_OK;
    if (!st->wcache) {
        st->wcache = calloc(CPU_WCACHE_CAP, sizeof *st->wcache);
        if (!st->wcache)
            return DDGAN_OK; /* a hint: without the table there is no scope */
    }
    st->scope_epoch++;
    st->scope_lo = base;
    st->scope_hi = (const char *)base + bytes;
    st->scope_open = 1;
    return DDGAN_OK;
}

/* Runs entry e on the caller's arrays (in the order of its tensors). */
static ddgan_status_t conv_exec(ddgan_backend *be, cpu_conv_entry *e, void *const *ptrs)
{
    cpu_state *st = be->state;
    const char *op = kind_name(e->key.kind);
    unsigned char *ws = NULL;
    if (e->ws_bytes) {
        ws = ddgan__cpu_grow(&st->ws, &st->ws_cap, e->ws_bytes, "convolution workspace");
        if (!ws)
            return DDGAN_ERR_OUT_OF_MEMORY;
    }
    dnnl_exec_arg_t args[CPU_CONV_MAX_TENSORS + 1];
    int nargs = 0;
    dnnl_status_t s = dnnl_success;
    for (int i = 0; i < e->ntensors && s == dnnl_success; i++) {
        cpu_conv_tensor *t = &e->t[i];
        if (t->mode == CPU_T_DIRECT) {
            s = dnnl_memory_set_data_handle(t->mem, ptrs[i]);
        } else {
            s = dnnl_memory_set_data_handle(t->mem, ws + t->ws_off);
            if (s == dnnl_success && t->user)
                s = dnnl_memory_set_data_handle(t->user, ptrs[i]);
        }
        args[nargs].arg = t->arg;
        args[nargs].memory = t->mem;
        nargs++;
    }
    if (s == dnnl_success && e->scratch_bytes) {
        void *p = ddgan__cpu_grow(&st->scratch, &st->scratch_cap, e->scratch_bytes,
                                  "oneDNN scratchpad");
        if (!p)
            return DDGAN_ERR_OUT_OF_MEMORY;
        s = dnnl_memory_set_data_handle(e->scratch_mem, p);
        args[nargs].arg = DNNL_ARG_SCRATCHPAD;
        args[nargs].memory = e->scratch_mem;
        nargs++;
    }
    if (s != dnnl_success)
        return ddgan__set_error(DDGAN_ERR_BACKEND, "%s: oneDNN cannot set a memory handle: %s", op,
                                ddgan__cpu_dnnl_status_str(s));

    cpu_section sec;
    ddgan__cpu_section_enter(st, st->num_threads, &sec);
    for (int i = 0; i < e->ntensors && s == dnnl_success; i++) {
        const cpu_conv_tensor *t = &e->t[i];
        if (t->mode == CPU_T_REORDER_IN) {
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, t->user}, {DNNL_ARG_TO, t->mem}};
            s = dnnl_primitive_execute(t->reorder, st->stream, 2, ra);
        }
    }
    if (s == dnnl_success)
        s = dnnl_primitive_execute(e->prim, st->stream, nargs, args);
    for (int i = 0; i < e->ntensors && s == dnnl_success; i++) {
        const cpu_conv_tensor *t = &e->t[i];
        if (t->mode == CPU_T_REORDER_OUT) {
            dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, t->mem}, {DNNL_ARG_TO, t->user}};
            s = dnnl_primitive_execute(t->reorder, st->stream, 2, ra);
        }
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(st->stream);
    ddgan__cpu_section_leave(&sec);
    if (s != dnnl_success)
        return ddgan__set_error(DDGAN_ERR_BACKEND, "%s: oneDNN execution failed: %s", op,
                                ddgan__cpu_dnnl_status_str(s));
    for (int i = 0; i < e->ntensors; i++) {
        const cpu_conv_tensor *t = &e->t[i];
        if (t->mode == CPU_T_TMP_ADD)
            ddgan__cpu_add_f32(st, ptrs[i], (const float *)(const void *)(ws + t->ws_off), t->elems);
    }
    return DDGAN_OK;
}

/* Runs Winograd entry e: y (+)= conv(x, weight) + bias. *declined = 1 (and
 * nothing done) when the transformed weights cannot be kept (no cache slot
 * or memory): the caller runs the direct kernel instead, as transforming
 * them on every call would cost more than the convolution. */
static ddgan_status_t wino_exec(ddgan_backend *be, cpu_conv_entry *e, const float *x,
                                const float *weight, const float *bias, float *y, int accumulate,
                                int *declined)
{
    cpu_state *st = be->state;
    const cpu_wino_plan *p = e->wino;
    int fresh = 0;
    *declined = 0;
    unsigned char *ws = ddgan__cpu_grow(&st->ws, &st->ws_cap, p->ws_bytes, "convolution workspace");
    if (!ws)
        return DDGAN_ERR_OUT_OF_MEMORY;
    float *u = scoped_weights(st, e, p->u_bytes, weight, &fresh);
    if (!u) {
        *declined = 1;
        return DDGAN_OK;
    }
    cpu_section sec;
    ddgan__cpu_section_enter(st, st->num_threads, &sec);
    if (fresh)
        ddgan__cpu_wino_weights(p, weight, u, st->num_threads);
    const int failed = ddgan__cpu_wino_run(p, x, u, bias, y, accumulate, ws, st->num_threads);
    ddgan__cpu_section_leave(&sec);
    if (failed)
        return ddgan__set_error(DDGAN_ERR_BACKEND,
                                "conv2d_fwd: oneDNN's sgemm failed (Winograd, %dx%dx%dx%d>%d)", p->n,
                                p->c_in, p->h, p->w, p->c_out);
    return DDGAN_OK;
}

/* Runs the forward of d on the small-plane kernel (cpu_smallconv.h). */
static ddgan_status_t small_exec(ddgan_backend *be, const ddgan_conv2d_desc *d, const float *x,
                                 const float *weight, const float *bias, float *y, int accumulate)
{
    cpu_state *st = be->state;
    unsigned char *ws = ddgan__cpu_grow(&st->ws, &st->ws_cap, ddgan__cpu_small_ws_bytes(d),
                                        "convolution workspace");
    if (!ws)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan__cpu_small_fwd(d, x, weight, bias, y, accumulate, ws, st->num_threads);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* The ops                                                                  */

ddgan_status_t ddgan__cpu_conv2d_fwd(ddgan_backend *be, const ddgan_conv2d_desc *desc, const void *x,
                                     const void *weight, const void *bias, void *y, int accumulate)
{
    ddgan_conv2d_desc d;
    if (!x || !weight || !y || !conv_fast(be, desc, accumulate, &d))
        return ddgan__ref_conv2d_fwd(be, desc, x, weight, bias, y, accumulate);
    const cpu_state *st = be->state;
    const int inference = scope_inference(st, &d, weight);
    /* at most 64 output pixels: bound by the weights' traffic, which the
     * small-plane kernel keeps to one pass over the plain weights (inside
     * the sampling scope a single 8x8 image takes the Winograd lanes of
     * cpu_winograd.c, faster still) */
    const int small = st->small_conv && ddgan__cpu_small_fits(&d);
    if (small && !inference)
        return small_exec(be, &d, x, weight, bias, y, accumulate);
    cpu_conv_key k = make_key(CPU_CONV_FWD, &d, bias != NULL, accumulate);
    k.inference = inference;
    cpu_conv_entry *e;
    DDGAN_TRY(conv_entry(be, &k, &e));
    if (e->wino) {
        int declined = 0;
        const ddgan_status_t s = wino_exec(be, e, x, weight, bias, y, accumulate, &declined);
        if (!declined)
            return s;
        if (small)
            return small_exec(be, &d, x, weight, bias, y, accumulate);
        k.inference = 0; /* the direct kernel, as outside a scope */
        DDGAN_TRY(conv_entry(be, &k, &e));
    }
    if (e->fallback)
        return ddgan__ref_conv2d_fwd(be, desc, x, weight, bias, y, accumulate);
    void *ptrs[CPU_CONV_MAX_TENSORS];
    int n = 0;
    ptrs[n++] = (void *)x;
    ptrs[n++] = (void *)weight;
    if (bias)
        ptrs[n++] = (void *)bias;
    ptrs[n++] = y;
    return conv_exec(be, e, ptrs);
}

ddgan_status_t ddgan__cpu_conv2d_bwd_data(ddgan_backend *be, const ddgan_conv2d_desc *desc,
                                          const void *dy, const void *weight, void *dx,
                                          int accumulate)
{
    ddgan_conv2d_desc d;
    if (!dy || !weight || !dx || !conv_fast(be, desc, accumulate, &d))
        return ddgan__ref_conv2d_bwd_data(be, desc, dy, weight, dx, accumulate);
    const cpu_conv_key k = make_key(CPU_CONV_BWD_DATA, &d, 0, accumulate);
    cpu_conv_entry *e;
    DDGAN_TRY(conv_entry(be, &k, &e));
    if (e->fallback)
        return ddgan__ref_conv2d_bwd_data(be, desc, dy, weight, dx, accumulate);
    void *ptrs[CPU_CONV_MAX_TENSORS] = {(void *)dy, (void *)weight, dx};
    return conv_exec(be, e, ptrs);
}

ddgan_status_t ddgan__cpu_conv2d_bwd_weights(ddgan_backend *be, const ddgan_conv2d_desc *desc,
                                             const void *x, const void *dy, void *dweight,
                                             void *dbias, int accumulate)
{
    ddgan_conv2d_desc d;
    if (!x || !dy || !dweight || !conv_fast(be, desc, accumulate, &d))
        return ddgan__ref_conv2d_bwd_weights(be, desc, x, dy, dweight, dbias, accumulate);
    const cpu_conv_key k = make_key(CPU_CONV_BWD_WEIGHTS, &d, dbias != NULL, accumulate);
    cpu_conv_entry *e;
    DDGAN_TRY(conv_entry(be, &k, &e));
    if (e->fallback)
        return ddgan__ref_conv2d_bwd_weights(be, desc, x, dy, dweight, dbias, accumulate);
    void *ptrs[CPU_CONV_MAX_TENSORS];
    int n = 0;
    ptrs[n++] = (void *)x;
    ptrs[n++] = (void *)dy;
    ptrs[n++] = dweight;
    if (dbias)
        ptrs[n++] = dbias;
    return conv_exec(be, e, ptrs);
}
