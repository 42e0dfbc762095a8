#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One message per thread. 1 KiB holds a function name, a file path and the
 * offending value; longer messages are truncated, never overflowed. */
#define DDGAN_ERROR_CAP 1024
static _Thread_local char g_last_error[DDGAN_ERROR_CAP];

ddgan_status_t ddgan__set_error(ddgan_status_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
    va_end(ap);
    return status;
}

ddgan_status_t ddgan__error_prefix(ddgan_status_t status, const char *fmt, ...)
{
    char prefix[256];
    char old[DDGAN_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_last_error, sizeof old);
    snprintf(g_last_error, sizeof g_last_error, "%s: %s", prefix, old);
    return status;
}

DDGAN_API const char *ddgan_last_error(void) { return g_last_error; }

DDGAN_API void ddgan_clear_last_error(void) { g_last_error[0] = '\0'; }

DDGAN_API const char *ddgan_status_string(ddgan_status_t status)
{
    switch (status) {
    case DDGAN_OK: return "ok";
    case DDGAN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DDGAN_ERR_OUT_OF_MEMORY: return "out of memory";
    case DDGAN_ERR_IO: return "input/output error";
    case DDGAN_ERR_FORMAT: return "malformed file or string";
    case DDGAN_ERR_UNSUPPORTED: return "unsupported";
    case DDGAN_ERR_BACKEND_UNAVAILABLE: return "backend unavailable";
    case DDGAN_ERR_BACKEND: return "backend failure";
    case DDGAN_ERR_NUMERICAL: return "numerical failure (non-finite values)";
    case DDGAN_ERR_VERSION_MISMATCH: return "version mismatch";
    case DDGAN_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}
