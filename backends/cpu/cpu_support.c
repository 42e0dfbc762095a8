/* Services of the "cpu" plug-in: what the compiled-in ref sources expect from
 * the core (error reporting, thread count), the shared oneDNN engine, thread
 * control and grow-only buffers. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu/cpu_backend.h"
#include "core/error.h"
#include "ref/ref_backend.h"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

/* The ref sources report errors with ddgan__set_error (core/error.h), a
 * hidden core function a plug-in cannot call. This is the plug-in's own
 * definition: it formats the message and hands it to the core's
 * host->set_error, which sets the calling thread's last error. That function
 * has no per-context state (the message is per thread), so one pointer,
 * taken from the first instance's host table, serves every instance. */
typedef ddgan_status_t (*cpu_set_error_fn)(ddgan_status_t status, const char *msg);
static _Atomic(cpu_set_error_fn) g_set_error;

void ddgan__cpu_bind_host(const ddgan_backend_host *host)
{
    if (host && host->set_error)
        atomic_store(&g_set_error, host->set_error);
}

ddgan_status_t ddgan__set_error(ddgan_status_t status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cpu_set_error_fn fn = atomic_load(&g_set_error);
    return fn ? fn(status, msg) : status;
}

void ddgan__cpu_log(const ddgan_backend *be, ddgan_log_level level, const char *fmt, ...)
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

const char *ddgan__cpu_dnnl_status_str(dnnl_status_t s)
{
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown status";
    }
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */

/* The ref kernels size their OpenMP teams from this (ref_ops.c). */
int ddgan__ref_threads(const ddgan_backend *be)
{
    const cpu_state *st = be->state;
    return st->num_threads > 0 ? st->num_threads : 1;
}

static void signals_hold(sigset_t *saved)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, saved);
}

static void signals_restore(const sigset_t *saved) { pthread_sigmask(SIG_SETMASK, saved, NULL); }

#if defined(_OPENMP)
/* Makes the workers of the calling thread's OpenMP pool (libgomp keeps one
 * per thread that starts parallel regions; the workers live as long as that
 * thread) block every signal from now on, for a team of nt. Workers created
 * later by this thread inside a section inherit the held mask. */
static void block_pool_signals(int nt)
{
#pragma omp parallel num_threads(nt)
    {
        if (omp_get_thread_num() != 0) {
            sigset_t all;
            sigfillset(&all);
            pthread_sigmask(SIG_BLOCK, &all, NULL);
        }
    }
}
#endif

/* oneDNN (OpenMP runtime) sizes its teams from the calling thread's
 * omp_get_max_threads(), at primitive creation (scratchpad, partitioning)
 * and at execution: both run inside a section, which restores the caller's
 * setting afterwards. */
void ddgan__cpu_section_enter(cpu_state *st, int threads, cpu_section *sec)
{
    signals_hold(&sec->saved_mask);
    sec->threads = threads;
#if defined(_OPENMP)
    sec->previous_threads = omp_get_max_threads();
    if (sec->previous_threads != threads)
        omp_set_num_threads(threads);
    /* once per context and calling thread, for its largest team (a context
     * is used by one thread at a time, so st is not shared) */
    if (threads > 1 && (threads > st->pool_blocked || !pthread_equal(st->pool_owner, pthread_self()))) {
        block_pool_signals(threads);
        st->pool_owner = pthread_self();
        st->pool_blocked = threads;
    }
#else
    (void)st;
    sec->previous_threads = 1;
#endif
}

void ddgan__cpu_section_leave(const cpu_section *sec)
{
#if defined(_OPENMP)
    if (sec->previous_threads != sec->threads)
        omp_set_num_threads(sec->previous_threads);
#endif
    signals_restore(&sec->saved_mask);
}

void ddgan__cpu_add_f32(const cpu_state *st, float *dst, const float *src, size_t n)
{
    const int64_t len = (int64_t)n;
#if defined(_OPENMP)
    const int nt = len >= ((int64_t)1 << 16) && st->num_threads > 1 ? st->num_threads : 1;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t i = 0; i < len; i++)
        dst[i] += src[i];
#else
    (void)st;
    for (int64_t i = 0; i < len; i++)
        dst[i] += src[i];
#endif
}

/* ------------------------------------------------------------------------ */
/* Buffers                                                                  */

void *ddgan__cpu_grow(void **buf, size_t *cap, size_t bytes, const char *what)
{
    if (bytes <= *cap && *buf)
        return *buf;
    if (bytes > SIZE_MAX - 128) {
        ddgan__set_error(DDGAN_ERR_OUT_OF_MEMORY, "cpu backend: %s of %zu bytes is too large",
                         what, bytes);
        return NULL;
    }
    /* grow by at least 1/4 so a slowly rising size does not reallocate every call */
    size_t want = bytes;
    if (*cap && want < *cap + *cap / 4 && *cap <= SIZE_MAX / 2)
        want = *cap + *cap / 4;
    want = (want + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, want ? want : 64);
    if (!p) {
        ddgan__set_error(DDGAN_ERR_OUT_OF_MEMORY,
                         "cpu backend: cannot allocate %zu bytes for the %s", want, what);
        return NULL;
    }
    free(*buf);
    *buf = p;
    *cap = want;
    return p;
}

/* ------------------------------------------------------------------------ */
/* The oneDNN engine                                                        */

static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t g_engine;
static char g_engine_why[256];

static void engine_init(void)
{
    const dnnl_version_t *v = dnnl_version();
    if (!v || v->major != DNNL_VERSION_MAJOR || v->minor < DNNL_VERSION_MINOR) {
        snprintf(g_engine_why, sizeof g_engine_why,
                 "oneDNN %d.%d is loaded, the plug-in was built against %d.%d",
                 v ? v->major : -1, v ? v->minor : -1, DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR);
        return;
    }
    if (dnnl_engine_get_count(dnnl_cpu) < 1) {
        snprintf(g_engine_why, sizeof g_engine_why, "oneDNN reports no CPU engine");
        return;
    }
    dnnl_engine_t e = NULL;
    dnnl_status_t s = dnnl_engine_create(&e, dnnl_cpu, 0);
    if (s != dnnl_success || !e) {
        snprintf(g_engine_why, sizeof g_engine_why, "oneDNN cannot create a CPU engine: %s",
                 ddgan__cpu_dnnl_status_str(s));
        return;
    }
    /* Kept until exit: the plug-in is never unloaded. */
    g_engine = e;
}

dnnl_engine_t ddgan__cpu_engine(const char **why)
{
    pthread_once(&g_engine_once, engine_init);
    if (!g_engine && why)
        *why = g_engine_why;
    return g_engine;
}
