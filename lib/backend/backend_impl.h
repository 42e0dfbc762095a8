/*
 * The private backend interface (never installed). A backend is either built
 * into libddgan ("ref") or a plug-in shared object that exports one symbol,
 * DDGAN_BACKEND_PLUGIN_ENTRY, returning its descriptor. Plug-ins are built
 * from the same source tree and release, so the ABI check is an exact match
 * of DDGAN_BACKEND_ABI_VERSION (bumped whenever this header changes in an
 * incompatible way) plus struct_size sanity checks.
 *
 * Plug-ins cannot call libddgan's hidden functions, so the core hands them a
 * ddgan_backend_host table (error reporting, logging) at creation.
 */
#ifndef DDGAN_BACKEND_IMPL_H
#define DDGAN_BACKEND_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend_ops.h"
#include "ddgan/ddgan.h"

#define DDGAN_BACKEND_ABI_VERSION 3
#define DDGAN_BACKEND_PLUGIN_ENTRY "ddgan_backend_plugin_entry"
/* File name of the plug-in for backend NAME: DDGAN_PLUGIN_PREFIX NAME DDGAN_PLUGIN_SUFFIX */
#define DDGAN_PLUGIN_PREFIX "libddgan-backend-"
#define DDGAN_PLUGIN_SUFFIX ".so"

#if defined(__GNUC__)
#define DDGAN_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define DDGAN_PLUGIN_EXPORT
#endif


/* Services of the core that a backend may use. */
typedef struct ddgan_backend_host {
    uint32_t struct_size;
    /* Sets the caller thread's last-error message; returns status. */
    ddgan_status_t (*set_error)(ddgan_status_t status, const char *msg);
    /* Logs through the owning context's callback (may be a no-op). */
    void (*log)(void *log_ctx, ddgan_log_level level, const char *msg);
    void *log_ctx;
} ddgan_backend_host;

typedef struct ddgan_backend_create_params {
    uint32_t struct_size;
    int num_threads; /* resolved, >= 1 */
    uint64_t seed;
    const ddgan_backend_host *host;
    size_t memory_limit; /* device bytes the backend may hand out; 0 = unlimited */
} ddgan_backend_create_params;

/* Per-instance operations. Memory is device memory of the backend (host
 * memory for CPU backends); `bytes` are byte counts, `n` element counts. */
typedef struct ddgan_backend_ops {
    uint32_t abi_version;
    uint32_t struct_size;
    void (*destroy)(ddgan_backend *be);
    ddgan_status_t (*alloc)(ddgan_backend *be, size_t bytes, void **out);
    void (*free)(ddgan_backend *be, void *p);
    ddgan_status_t (*copy_h2d)(ddgan_backend *be, void *dst, const void *src, size_t bytes);
    ddgan_status_t (*copy_d2h)(ddgan_backend *be, void *dst, const void *src, size_t bytes);
    ddgan_status_t (*copy_d2d)(ddgan_backend *be, void *dst, const void *src, size_t bytes);
    ddgan_status_t (*fill_f32)(ddgan_backend *be, float *dst, float value, size_t n);
    ddgan_status_t (*synchronize)(ddgan_backend *be);
    /* The compute op set (backend_ops.h); NULL for a backend that only
     * manages memory (contexts on it cannot run networks). */
    const ddgan_backend_compute *compute;
} ddgan_backend_ops;

/* A backend instance (one per context). */
struct ddgan_backend {
    const ddgan_backend_ops *ops;
    const struct ddgan_backend_desc *desc;
    const ddgan_backend_host *host;
    void *state; /* backend-private */
};

/* Static description of a backend; returned by the plug-in entry point. */
typedef struct ddgan_backend_desc {
    uint32_t abi_version; /* DDGAN_BACKEND_ABI_VERSION the backend was built with */
    uint32_t struct_size; /* sizeof(ddgan_backend_desc) it was built with */
    const char *name;
    const char *description;
    /* > 0: usable, higher is preferred by "auto". 0: unusable; `why` (capacity
     * why_cap) then says why, e.g. "no CUDA device found". */
    int (*probe)(char *why, size_t why_cap);
    /* Creates an instance; on failure returns a status and fills `why`. */
    ddgan_status_t (*create)(const ddgan_backend_create_params *params, ddgan_backend **out,
                             char *why, size_t why_cap);
} ddgan_backend_desc;

typedef const ddgan_backend_desc *(*ddgan_backend_plugin_entry_fn)(void);

#endif
