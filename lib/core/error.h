/* Internal error reporting: every failing path sets the thread-local message
 * and returns its status, so callers can write `return DDGAN_ERR(...)`. */
#ifndef DDGAN_CORE_ERROR_H
#define DDGAN_CORE_ERROR_H

#include "ddgan/ddgan.h"

#if defined(__GNUC__)
#define DDGAN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DDGAN_PRINTF(f, a)
#endif

/* Formats the thread's last-error message and returns `status` unchanged. */
ddgan_status_t ddgan__set_error(ddgan_status_t status, const char *fmt, ...) DDGAN_PRINTF(2, 3);

/* Prefixes the current message with "fn: " context, keeping the status (used
 * when a lower layer's message should be attributed to the public entry point
 * the user called). Returns `status`. */
ddgan_status_t ddgan__error_prefix(ddgan_status_t status, const char *fmt, ...) DDGAN_PRINTF(2, 3);

/* Convenience: `return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: x is NULL", __func__);` */
#define DDGAN_ERR(status, ...) ddgan__set_error((status), __VA_ARGS__)

/* Propagate a failing status unchanged (the callee already set the message). */
#define DDGAN_TRY(expr)                          \
    do {                                         \
        ddgan_status_t ddgan_try_st_ = (expr);   \
        if (ddgan_try_st_ != DDGAN_OK)           \
            return ddgan_try_st_;                \
    } while (0)

#endif
