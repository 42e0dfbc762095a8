/* The "cpu" backend plug-in (libddgan-backend-cpu.so): host memory, the ref
 * op set as the fallback, and for float32 oneDNN convolutions, OpenBLAS
 * matmul, float activations, softmax and upfirdn2d. See docs/backend-cpu.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_backend.h"
#include "core/error.h"
#include "ref/ref_ops.h"

/* Host memory is 64-byte aligned; a 64-byte header in front of each block
 * keeps its size for the memory_limit accounting. */
#define CPU_ALIGN 64

const ddgan_backend_compute ddgan__cpu_compute = {
    .conv2d_fwd = ddgan__cpu_conv2d_fwd,
    .conv2d_bwd_data = ddgan__cpu_conv2d_bwd_data,
    .conv2d_bwd_weights = ddgan__cpu_conv2d_bwd_weights,
    .matmul = ddgan__cpu_matmul,
    .act_fwd = ddgan__cpu_act_fwd,
    .act_bwd = ddgan__cpu_act_bwd,
    .upfirdn_fwd = ddgan__cpu_upfirdn_fwd,
    .upfirdn_bwd = ddgan__cpu_upfirdn_bwd,
    .softmax_fwd = ddgan__cpu_softmax_fwd,
    /* everything else: the ref kernels compiled into this plug-in */
    .group_norm_fwd = ddgan__cpu_group_norm_fwd,
    .group_norm_bwd = ddgan__cpu_group_norm_bwd,
    .softmax_bwd = ddgan__ref_softmax_bwd,
    .binary = ddgan__cpu_binary,
    .unary = ddgan__cpu_unary,
    .reduce = ddgan__cpu_reduce,
    .adam = ddgan__ref_adam,
    .ema = ddgan__ref_ema,
    .rand_normal = ddgan__ref_rand_normal,
    .rand_uniform = ddgan__ref_rand_uniform,
    .adagn_act_fwd = ddgan__cpu_adagn_act_fwd,
    .const_scope = ddgan__cpu_const_scope,
};

static void cpu_destroy(ddgan_backend *be)
{
    if (!be)
        return;
    cpu_state *st = be->state;
    if (st) {
        ddgan__cpu_profile_report(st->prof);
        free(st->prof);
        ddgan__cpu_conv_cache_clear(st);
        free(st->cache);
        if (st->stream)
            dnnl_stream_destroy(st->stream);
        free(st->scratch);
        free(st->ws);
        free(st->fir_buf);
        free(st);
    }
    free(be);
}

static ddgan_status_t cpu_alloc(ddgan_backend *be, size_t bytes, void **out)
{
    cpu_state *st = be->state;
    if (st->memory_limit && (bytes > st->memory_limit || st->in_use > st->memory_limit - bytes)) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "cpu backend: allocating %zu bytes would exceed the context's memory_limit of %zu "
                 "bytes (%zu in use)",
                 bytes, st->memory_limit, st->in_use);
        return be->host->set_error(DDGAN_ERR_OUT_OF_MEMORY, msg);
    }
    if (bytes > SIZE_MAX - 2 * CPU_ALIGN) {
        char msg[128];
        snprintf(msg, sizeof msg, "cpu backend: allocation of %zu bytes is too large", bytes);
        return be->host->set_error(DDGAN_ERR_OUT_OF_MEMORY, msg);
    }
    const size_t total = (bytes + 2 * CPU_ALIGN - 1) & ~(size_t)(CPU_ALIGN - 1);
    unsigned char *base = aligned_alloc(CPU_ALIGN, total);
    if (!base) {
        char msg[128];
        snprintf(msg, sizeof msg, "cpu backend: out of memory allocating %zu bytes", bytes);
        return be->host->set_error(DDGAN_ERR_OUT_OF_MEMORY, msg);
    }
    memcpy(base, &bytes, sizeof bytes);
    st->in_use += bytes;
    *out = base + CPU_ALIGN;
    return DDGAN_OK;
}

static void cpu_free(ddgan_backend *be, void *p)
{
    if (!p)
        return;
    cpu_state *st = be->state;
    unsigned char *base = (unsigned char *)p - CPU_ALIGN;
    size_t bytes;
    memcpy(&bytes, base, sizeof bytes);
    st->in_use -= bytes;
    free(base);
}

static ddgan_status_t cpu_copy(ddgan_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
    return DDGAN_OK;
}

static ddgan_status_t cpu_fill_f32(ddgan_backend *be, float *dst, float value, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        dst[i] = value;
    return DDGAN_OK;
}

static ddgan_status_t cpu_synchronize(ddgan_backend *be)
{
    (void)be;
    return DDGAN_OK; /* every op completes before it returns */
}

static const ddgan_backend_ops g_cpu_ops = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_ops),
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy_h2d = cpu_copy,
    .copy_d2h = cpu_copy,
    .copy_d2d = cpu_copy,
    .fill_f32 = cpu_fill_f32,
    .synchronize = cpu_synchronize,
    .compute = &ddgan__cpu_compute,
};

/* The same operations with timed compute entries (DDGAN_CPU_PROFILE). */
static const ddgan_backend_ops g_cpu_ops_profiled = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_ops),
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy_h2d = cpu_copy,
    .copy_d2h = cpu_copy,
    .copy_d2d = cpu_copy,
    .fill_f32 = cpu_fill_f32,
    .synchronize = cpu_synchronize,
    .compute = &ddgan__cpu_compute_profiled,
};

static int cpu_probe(char *why, size_t why_cap)
{
    const char *reason = "";
    if (!ddgan__cpu_engine(&reason)) {
        snprintf(why, why_cap, "%s", reason);
        return 0;
    }
    if (why_cap)
        why[0] = '\0';
    return 10; /* preferred over ref (1) by "auto" */
}

static const ddgan_backend_desc g_cpu_desc;

/* The index in `choices` (NULL-terminated; choices[0] is the default, also
 * for an unset or empty variable) of $name's value; -1 with the reason in
 * why for anything else (`use` lists the accepted values). */
static int env_choice(const char *name, const char *const *choices, const char *use, char *why,
                      size_t why_cap)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        return 0;
    for (int i = 0; choices[i]; i++)
        if (!strcmp(v, choices[i]))
            return i;
    snprintf(why, why_cap, "$%s is \"%.40s\" (use %s)", name, v, use);
    return -1;
}

static ddgan_status_t cpu_create(const ddgan_backend_create_params *params, ddgan_backend **out,
                                 char *why, size_t why_cap)
{
    const char *reason = "";
    dnnl_engine_t engine = ddgan__cpu_engine(&reason);
    if (!engine) {
        snprintf(why, why_cap, "%s", reason);
        return DDGAN_ERR_BACKEND_UNAVAILABLE;
    }
    if (!params || params->struct_size < sizeof(ddgan_backend_create_params) || !params->host ||
        !params->host->set_error) {
        snprintf(why, why_cap, "incomplete creation parameters");
        return DDGAN_ERR_INTERNAL;
    }
    ddgan__cpu_bind_host(params->host);
    static const char *const layouts[] = {"auto", "plain", "blocked", NULL}; /* cpu_conv_layout */
    static const char *const winos[] = {"auto", "off", NULL};
    static const char *const gemms[] = {"onednn", "openblas", NULL};
    static const char *const smalls[] = {"auto", "off", NULL};
    int lay, wino, gemm, small;
    if ((lay = env_choice("DDGAN_CPU_CONV_LAYOUT", layouts, "auto, plain or blocked", why, why_cap)) < 0 ||
        (wino = env_choice("DDGAN_CPU_WINOGRAD", winos, "auto or off", why, why_cap)) < 0 ||
        (gemm = env_choice("DDGAN_CPU_GEMM", gemms, "onednn or openblas", why, why_cap)) < 0 ||
        (small = env_choice("DDGAN_CPU_SMALL_CONV", smalls, "auto or off", why, why_cap)) < 0)
        return DDGAN_ERR_INVALID_ARGUMENT;
    const cpu_conv_layout layout = (cpu_conv_layout)lay;
    const int winograd = wino == 0, gemm_openblas = gemm == 1;
    ddgan_backend *be = calloc(1, sizeof *be);
    cpu_state *st = calloc(1, sizeof *st);
    cpu_conv_entry *cache = calloc(CPU_CONV_CACHE_CAP, sizeof *cache);
    if (!be || !st || !cache) {
        free(be);
        free(st);
        free(cache);
        snprintf(why, why_cap, "out of memory");
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    st->num_threads = params->num_threads > 0 ? params->num_threads : 1;
    st->memory_limit = params->memory_limit;
    st->engine = engine;
    st->cache = cache;
    st->conv_layout = layout;
    st->winograd = winograd;
    st->small_conv = small == 0;
    st->gemm_openblas = gemm_openblas;
    dnnl_status_t s = dnnl_stream_create(&st->stream, engine, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        snprintf(why, why_cap, "oneDNN cannot create a stream: %s", ddgan__cpu_dnnl_status_str(s));
        free(cache);
        free(st);
        free(be);
        return DDGAN_ERR_BACKEND_UNAVAILABLE;
    }
    st->prof = ddgan__cpu_profile_create();
    be->ops = st->prof ? &g_cpu_ops_profiled : &g_cpu_ops;
    be->desc = &g_cpu_desc;
    be->host = params->host;
    be->state = st;
    const dnnl_version_t *v = dnnl_version();
    ddgan__cpu_log(be, DDGAN_LOG_DEBUG,
                   "cpu backend: oneDNN %d.%d.%d (%s), %d threads, %s conv layouts, Winograd %s, "
                   "small-plane convolutions %s",
                   v->major, v->minor, v->patch,
                   v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other runtime", st->num_threads,
                   layout == CPU_LAYOUT_PLAIN     ? "plain"
                   : layout == CPU_LAYOUT_BLOCKED ? "blocked"
                                                  : "auto",
                   winograd ? "auto" : "off", st->small_conv ? "auto" : "off");
    *out = be;
    return DDGAN_OK;
}

static const ddgan_backend_desc g_cpu_desc = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_desc),
    .name = "cpu",
    .description = "oneDNN convolutions, OpenBLAS matmul, float32 activations, softmax and "
                   "FIR; ref kernels for the rest and for float64",
    .probe = cpu_probe,
    .create = cpu_create,
};

DDGAN_PLUGIN_EXPORT const ddgan_backend_desc *ddgan_backend_plugin_entry(void);

DDGAN_PLUGIN_EXPORT const ddgan_backend_desc *ddgan_backend_plugin_entry(void)
{
    return &g_cpu_desc;
}
