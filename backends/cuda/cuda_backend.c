/* The "cuda" backend plug-in (libddgan-backend-cuda.so): descriptor, probe,
 * instance creation, the caching device-memory pool, copies and error
 * reporting. See docs/backend-cuda.md. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_kernels.h"

/* ------------------------------------------------------------------------ */
/* Errors and logging                                                       */

ddgan_status_t ddgan__cuda_fail(const ddgan_backend *be, ddgan_status_t status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (be && be->host && be->host->set_error)
        return be->host->set_error(status, msg);
    return status;
}

ddgan_status_t ddgan__cuda_check(const ddgan_backend *be, cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return DDGAN_OK;
    /* A launch or an earlier asynchronous failure may have left a
     * non-sticky error behind; clear it so the next call starts clean. */
    (void)cudaGetLastError();
    const ddgan_status_t st =
        e == cudaErrorMemoryAllocation ? DDGAN_ERR_OUT_OF_MEMORY : DDGAN_ERR_BACKEND;
    return ddgan__cuda_fail(be, st, "cuda backend: %s: %s (%s)", what, cudaGetErrorName(e),
                            cudaGetErrorString(e));
}

static const char *cublas_status_name(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "unknown cuBLAS status";
}

ddgan_status_t ddgan__cublas_check(const ddgan_backend *be, cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return DDGAN_OK;
    const ddgan_status_t st =
        s == CUBLAS_STATUS_ALLOC_FAILED ? DDGAN_ERR_OUT_OF_MEMORY : DDGAN_ERR_BACKEND;
    return ddgan__cuda_fail(be, st, "cuda backend: %s: %s (%d)", what, cublas_status_name(s), (int)s);
}

void ddgan__cuda_log(const ddgan_backend *be, ddgan_log_level level, const char *fmt, ...)
{
    if (!be || !be->host || !be->host->log)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    be->host->log(be->host->log_ctx, level, msg);
}

cudaStream_t ddgan__cuda_bind(const ddgan_backend *be)
{
    const cuda_state *st = ddgan__cuda_st(be);
    /* a per-thread setting without synchronisation: cheap; its only failure
     * (invalid device) cannot happen for a device the instance was created on */
    (void)cudaSetDevice(st->device);
    return st->stream;
}

/* ------------------------------------------------------------------------ */
/* Caching device-memory pool                                               */
/*
 * cudaMalloc / cudaFree synchronise the device and cost tens of
 * microseconds, and a training step frees and re-allocates the same tensor
 * sizes every iteration. Freed blocks are therefore kept (in `cached`) and
 * handed out again for requests of a similar size. All work is on the
 * instance's one stream, so a block reused by a later op is only touched
 * after the earlier ops that used it, in stream order. When cudaMalloc
 * fails, the cache is released and the allocation retried once.
 */

/* Requests are rounded to 512 bytes (up to 1 MiB) or to 2 MiB multiples. */
static size_t pool_round(size_t bytes)
{
    const size_t small = 512, large = (size_t)2 << 20;
    if (bytes == 0)
        bytes = 1;
    if (bytes <= ((size_t)1 << 20))
        return (bytes + small - 1) / small * small;
    return (bytes + large - 1) / large * large;
}

static size_t pool_hash(const void *p)
{
    return (size_t)(((uintptr_t)p >> 9) % CUDA_POOL_BUCKETS);
}

static void pool_release_cached(cuda_state *st)
{
    /* queued ops may still use cached blocks: wait for them first */
    if (st->stream)
        (void)cudaStreamSynchronize(st->stream);
    cuda_block *b = st->cached;
    while (b) {
        cuda_block *next = b->next;
        (void)cudaFree(b->ptr); /* nothing to report: the memory is gone either way */
        st->reserved -= b->size;
        free(b);
        b = next;
    }
    st->cached = NULL;
}

static ddgan_status_t cuda_alloc(ddgan_backend *be, size_t bytes, void **out)
{
    cuda_state *st = ddgan__cuda_st(be);
    if (!out)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT, "cuda backend: alloc: out is NULL");
    ddgan__cuda_bind(be);
    *out = NULL;
    if (st->memory_limit && (bytes > st->memory_limit || st->in_use > st->memory_limit - bytes))
        return ddgan__cuda_fail(be, DDGAN_ERR_OUT_OF_MEMORY,
                                "cuda backend: allocating %zu bytes would exceed the context's "
                                "memory_limit of %zu bytes (%zu in use)",
                                bytes, st->memory_limit, st->in_use);
    if (bytes > SIZE_MAX / 2)
        return ddgan__cuda_fail(be, DDGAN_ERR_OUT_OF_MEMORY,
                                "cuda backend: allocation of %zu bytes is too large", bytes);
    const size_t size = pool_round(bytes);
    /* best fit among the cached blocks, wasting at most a quarter */
    cuda_block **best = NULL;
    for (cuda_block **pp = &st->cached; *pp; pp = &(*pp)->next) {
        const size_t s = (*pp)->size;
        if (s >= size && s - size <= size / 4 && (!best || s < (*best)->size))
            best = pp;
    }
    cuda_block *b = NULL;
    if (best) {
        b = *best;
        *best = b->next;
    } else {
        b = calloc(1, sizeof *b);
        if (!b)
            return ddgan__cuda_fail(be, DDGAN_ERR_OUT_OF_MEMORY, "cuda backend: out of host memory");
        cudaError_t e = cudaMalloc(&b->ptr, size);
        if (e == cudaErrorMemoryAllocation && st->cached) {
            (void)cudaGetLastError();
            pool_release_cached(st);
            e = cudaMalloc(&b->ptr, size);
        }
        if (e != cudaSuccess) {
            free(b);
            char what[96];
            snprintf(what, sizeof what, "cudaMalloc(%zu bytes)", size);
            return ddgan__cuda_check(be, e, what);
        }
        b->size = size;
        st->reserved += size;
    }
    b->requested = bytes;
    const size_t h = pool_hash(b->ptr);
    b->next = st->live[h];
    st->live[h] = b;
    st->in_use += bytes;
    *out = b->ptr;
    return DDGAN_OK;
}

static void cuda_free(ddgan_backend *be, void *p)
{
    if (!p || !be)
        return;
    cuda_state *st = ddgan__cuda_st(be);
    for (cuda_block **pp = &st->live[pool_hash(p)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->ptr != p)
            continue;
        cuda_block *b = *pp;
        *pp = b->next;
        st->in_use -= b->requested;
        b->next = st->cached;
        st->cached = b;
        return;
    }
    ddgan__cuda_log(be, DDGAN_LOG_WARN, "cuda backend: free of unknown pointer %p ignored", p);
}

void *ddgan__cuda_workspace(ddgan_backend *be, size_t bytes)
{
    cuda_state *st = ddgan__cuda_st(be);
    if (bytes <= st->ws_cap && st->ws)
        return st->ws;
    if (st->ws) {
        /* queued ops may still use the old workspace: wait for them first */
        (void)cudaStreamSynchronize(st->stream);
        (void)cudaFree(st->ws);
        st->reserved -= st->ws_cap;
        st->ws = NULL;
        st->ws_cap = 0;
    }
    const size_t cap = pool_round(bytes + bytes / 4);
    cudaError_t e = cudaMalloc(&st->ws, cap);
    if (e == cudaErrorMemoryAllocation && st->cached) {
        (void)cudaGetLastError();
        pool_release_cached(st);
        e = cudaMalloc(&st->ws, cap);
    }
    if (e != cudaSuccess) {
        st->ws = NULL;
        char what[96];
        snprintf(what, sizeof what, "cudaMalloc(%zu bytes) for the workspace", cap);
        ddgan__cuda_check(be, e, what);
        return NULL;
    }
    st->ws_cap = cap;
    st->reserved += cap;
    return st->ws;
}

/* ------------------------------------------------------------------------ */
/* Copies                                                                   */

static ddgan_status_t cuda_copy_h2d(ddgan_backend *be, void *dst, const void *src, size_t bytes)
{
    cuda_state *st = ddgan__cuda_st(be);
    ddgan__cuda_bind(be);
    if (!bytes)
        return DDGAN_OK;
    /* Synchronous for the caller: it may overwrite `src` (pinned or not)
     * as soon as this returns. */
    DDGAN_TRY_CUDA(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st->stream),
                   "copy_h2d");
    DDGAN_TRY_CUDA(be, cudaStreamSynchronize(st->stream), "copy_h2d: cudaStreamSynchronize");
    return DDGAN_OK;
}

static ddgan_status_t cuda_copy_d2h(ddgan_backend *be, void *dst, const void *src, size_t bytes)
{
    cuda_state *st = ddgan__cuda_st(be);
    ddgan__cuda_bind(be);
    if (!bytes)
        return DDGAN_OK;
    DDGAN_TRY_CUDA(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, st->stream),
                   "copy_d2h");
    DDGAN_TRY_CUDA(be, cudaStreamSynchronize(st->stream), "copy_d2h: cudaStreamSynchronize");
    return DDGAN_OK;
}

static ddgan_status_t cuda_copy_d2d(ddgan_backend *be, void *dst, const void *src, size_t bytes)
{
    cuda_state *st = ddgan__cuda_st(be);
    ddgan__cuda_bind(be);
    if (!bytes || dst == src)
        return DDGAN_OK;
    const uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (d < s + bytes && s < d + bytes) {
        /* overlapping (memmove semantics, as the host backends): through the workspace */
        void *ws = ddgan__cuda_workspace(be, bytes);
        if (!ws)
            return DDGAN_ERR_OUT_OF_MEMORY;
        DDGAN_TRY_CUDA(be, cudaMemcpyAsync(ws, src, bytes, cudaMemcpyDeviceToDevice, st->stream),
                       "copy_d2d");
        src = ws;
    }
    DDGAN_TRY_CUDA(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, st->stream),
                   "copy_d2d");
    return DDGAN_OK;
}

static ddgan_status_t cuda_fill_f32(ddgan_backend *be, float *dst, float value, size_t n)
{
    if (!n)
        return DDGAN_OK;
    return ddgan__cuda_check(be, cuk_fill_f32(ddgan__cuda_bind(be), dst, value, (int64_t)n),
                             "fill_f32");
}

static ddgan_status_t cuda_synchronize(ddgan_backend *be)
{
    return ddgan__cuda_check(be, cudaStreamSynchronize(ddgan__cuda_bind(be)),
                             "cudaStreamSynchronize");
}

/* ------------------------------------------------------------------------ */
/* Instances                                                                */

static void cuda_destroy(ddgan_backend *be)
{
    if (!be)
        return;
    cuda_state *st = be->state;
    if (st) {
        (void)cudaSetDevice(st->device);
        if (st->stream)
            (void)cudaStreamSynchronize(st->stream);
        ddgan__cuda_conv_fini(st);
        if (st->cublas)
            (void)cublasDestroy(st->cublas);
        for (int i = 0; i < CUDA_POOL_BUCKETS; i++) {
            /* blocks the caller never freed: released with the instance */
            cuda_block *b = st->live[i];
            while (b) {
                cuda_block *next = b->next;
                (void)cudaFree(b->ptr);
                free(b);
                b = next;
            }
        }
        pool_release_cached(st);
        if (st->ws)
            (void)cudaFree(st->ws);
        if (st->stream)
            (void)cudaStreamDestroy(st->stream);
        (void)cudaGetLastError();
        free(st);
    }
    free(be);
}

static const ddgan_backend_ops g_cuda_ops = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_ops),
    .destroy = cuda_destroy,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .copy_h2d = cuda_copy_h2d,
    .copy_d2h = cuda_copy_d2h,
    .copy_d2d = cuda_copy_d2d,
    .fill_f32 = cuda_fill_f32,
    .synchronize = cuda_synchronize,
    .compute = &ddgan__cuda_compute,
};

/* Why no device can be used, in words; 0 when one can. The CUDA runtime is
 * linked statically and loads the driver (libcuda.so.1) itself; when that
 * library is missing it reports an "insufficient driver", which is
 * misleading, so the driver's presence is checked first. */
static int cuda_unusable(char *why, size_t why_cap, int *count)
{
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!drv) {
        const char *e = dlerror();
        snprintf(why, why_cap, "CUDA driver not found (%s)", e ? e : "libcuda.so.1 cannot be loaded");
        return 1;
    }
    dlclose(drv);
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(why, why_cap, "cudaGetDeviceCount: %s (%s)", cudaGetErrorString(e),
                 cudaGetErrorName(e));
        (void)cudaGetLastError();
        return 1;
    }
    if (n < 1) {
        snprintf(why, why_cap, "no CUDA device found");
        return 1;
    }
    *count = n;
    return 0;
}

static int cuda_probe(char *why, size_t why_cap)
{
    int n = 0;
    if (cuda_unusable(why, why_cap, &n))
        return 0;
    if (why_cap)
        why[0] = '\0';
    return 20; /* preferred over cpu (10) and ref (1) by "auto" */
}

/* DDGAN_CUDA_FAST: unset, "" or "0" = exact float32 (default), "1" = TF32. */
static int parse_fast(int *fast, char *why, size_t why_cap)
{
    const char *v = getenv("DDGAN_CUDA_FAST");
    *fast = 0;
    if (!v || !v[0] || !strcmp(v, "0"))
        return 0;
    if (!strcmp(v, "1")) {
        *fast = 1;
        return 0;
    }
    snprintf(why, why_cap, "$DDGAN_CUDA_FAST is \"%.40s\" (use 0 or 1)", v);
    return -1;
}

static int parse_device(int count, int *dev, char *why, size_t why_cap)
{
    const char *v = getenv("DDGAN_CUDA_DEVICE");
    *dev = 0;
    if (!v || !v[0])
        return 0;
    char *end = NULL;
    const long d = strtol(v, &end, 10);
    if (*end || d < 0 || d >= count) {
        snprintf(why, why_cap, "$DDGAN_CUDA_DEVICE is \"%.40s\" (%d device(s): use 0..%d)", v, count,
                 count - 1);
        return -1;
    }
    *dev = (int)d;
    return 0;
}

static const ddgan_backend_desc g_cuda_desc;

static ddgan_status_t cuda_create(const ddgan_backend_create_params *params, ddgan_backend **out,
                                  char *why, size_t why_cap)
{
    int count = 0;
    if (cuda_unusable(why, why_cap, &count))
        return DDGAN_ERR_BACKEND_UNAVAILABLE;
    if (!params || params->struct_size < sizeof(ddgan_backend_create_params) || !params->host ||
        !params->host->set_error || !out) {
        snprintf(why, why_cap, "incomplete creation parameters");
        return DDGAN_ERR_INTERNAL;
    }
    int fast = 0, dev = 0;
    if (parse_fast(&fast, why, why_cap) || parse_device(count, &dev, why, why_cap))
        return DDGAN_ERR_INVALID_ARGUMENT;
    ddgan_backend *be = calloc(1, sizeof *be);
    cuda_state *st = calloc(1, sizeof *st);
    if (!be || !st) {
        free(be);
        free(st);
        snprintf(why, why_cap, "out of memory");
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    be->ops = &g_cuda_ops;
    be->desc = &g_cuda_desc;
    be->host = params->host;
    be->state = st;
    st->device = dev;
    st->fast = fast;
    st->memory_limit = params->memory_limit;
    ddgan_status_t status = DDGAN_ERR_BACKEND_UNAVAILABLE;
    struct cudaDeviceProp prop;
    cudaError_t e = cudaSetDevice(dev);
    if (e == cudaSuccess)
        e = cudaGetDeviceProperties(&prop, dev);
    if (e != cudaSuccess) {
        snprintf(why, why_cap, "cannot use CUDA device %d: %s (%s)", dev, cudaGetErrorString(e),
                 cudaGetErrorName(e));
        goto fail;
    }
    snprintf(st->device_name, sizeof st->device_name, "%s", prop.name);
    if (prop.major < 8) {
        /* the plug-in carries code for sm_80 and sm_90 only */
        snprintf(why, why_cap, "CUDA device %d (%s) has compute capability %d.%d; this build needs >= 8.0",
                 dev, prop.name, prop.major, prop.minor);
        goto fail;
    }
    e = cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        snprintf(why, why_cap, "cudaStreamCreate: %s", cudaGetErrorString(e));
        goto fail;
    }
    cublasStatus_t cs = cublasCreate(&st->cublas);
    if (cs == CUBLAS_STATUS_SUCCESS)
        cs = cublasSetStream(st->cublas, st->stream);
    /* exact mode: true float32 GEMMs (no TF32); fast mode allows TF32 tensor cores */
    if (cs == CUBLAS_STATUS_SUCCESS)
        cs = cublasSetMathMode(st->cublas, fast ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
    if (cs != CUBLAS_STATUS_SUCCESS) {
        snprintf(why, why_cap, "cuBLAS initialisation failed: %s", cublas_status_name(cs));
        goto fail;
    }
    status = ddgan__cuda_conv_init(be, why, why_cap);
    if (status != DDGAN_OK)
        goto fail;
    ddgan__cuda_log(be, DDGAN_LOG_DEBUG,
                    "cuda backend: device %d %s (sm_%d%d, %.1f GiB), %s float32 math", dev, prop.name,
                    prop.major, prop.minor, (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0),
                    fast ? "fast (TF32)" : "exact");
    *out = be;
    return DDGAN_OK;
fail:
    cuda_destroy(be);
    return status;
}

static const ddgan_backend_desc g_cuda_desc = {
    .abi_version = DDGAN_BACKEND_ABI_VERSION,
    .struct_size = sizeof(ddgan_backend_desc),
    .name = "cuda",
    .description = "NVIDIA GPU: cuDNN convolutions, cuBLAS matmul, CUDA kernels for the rest "
                   "(float32 and float64)",
    .probe = cuda_probe,
    .create = cuda_create,
};

DDGAN_PLUGIN_EXPORT const ddgan_backend_desc *ddgan_backend_plugin_entry(void);

DDGAN_PLUGIN_EXPORT const ddgan_backend_desc *ddgan_backend_plugin_entry(void)
{
    return &g_cuda_desc;
}
