/* The context: root of every handle. Holds the backend instance, the seed,
 * the thread count, the log callback and the position of the host random
 * stream. Private; the public face is ddgan_context_* in lib/api/context_api.c. */
#ifndef DDGAN_CORE_CONTEXT_H
#define DDGAN_CORE_CONTEXT_H

#include <stdint.h>

#include "backend/backend_impl.h"
#include "ddgan/ddgan.h"

#define DDGAN_MAGIC_CONTEXT 0x43474444u  /* "DDGC" */
#define DDGAN_MAGIC_SCHEDULE 0x53474444u /* "DDGS" */

/* Random streams of a context (the Philox stream id, docs/rng.md). */
enum {
    DDGAN_STREAM_HOST = 0, /* ddgan_context_randn and the schedule helpers */
};

struct ddgan_context {
    uint32_t magic;
    ddgan_backend *backend;
    ddgan_backend_host host; /* services handed to the backend */
    uint64_t seed;
    int num_threads;
    ddgan_log_fn log_fn;
    void *log_user;
    ddgan_log_level log_level;
    uint64_t host_stream_block; /* next Philox block of DDGAN_STREAM_HOST */
    long live_children;         /* handles created from this context and not destroyed */
};

/* Validates a context handle; on failure sets "fn: invalid context handle". */
ddgan_status_t ddgan__context_check(ddgan_context_t ctx, const char *fn);

/* Logs through the context callback when `level` is enabled. */
void ddgan__log(ddgan_context_t ctx, ddgan_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Draws from the host stream and advances it (whole blocks per call). */
void ddgan__context_randn(ddgan_context_t ctx, float *out, size_t n);
void ddgan__context_randn_f64(ddgan_context_t ctx, double *out, size_t n);

#endif
