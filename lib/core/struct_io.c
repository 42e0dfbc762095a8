#include "core/struct_io.h"

#include <stdint.h>
#include <string.h>

#include "core/error.h"

static ddgan_status_t check_size(uint32_t struct_size, const char *fn, const char *param)
{
    if (struct_size < sizeof(uint32_t))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: %s->struct_size %u is too small (set it with the matching _init "
                         "function or sizeof)",
                         fn, param, (unsigned)struct_size);
    if (struct_size > DDGAN_MAX_STRUCT_SIZE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: %s->struct_size %u is implausible (uninitialised struct?)", fn,
                         param, (unsigned)struct_size);
    return DDGAN_OK;
}

ddgan_status_t ddgan__struct_init(void *caller, size_t struct_size, const void *defaults,
                                  size_t own_size, const char *fn)
{
    if (!caller)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: struct pointer is NULL", fn);
    if (struct_size < sizeof(uint32_t) || struct_size > DDGAN_MAX_STRUCT_SIZE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: struct_size %zu out of range [%zu, %u]", fn, struct_size,
                         sizeof(uint32_t), DDGAN_MAX_STRUCT_SIZE);
    size_t n = struct_size < own_size ? struct_size : own_size;
    memcpy(caller, defaults, n);
    if (struct_size > own_size)
        memset((char *)caller + own_size, 0, struct_size - own_size);
    uint32_t s32 = (uint32_t)struct_size;
    memcpy(caller, &s32, sizeof s32);
    return DDGAN_OK;
}

ddgan_status_t ddgan__struct_read(void *dst, size_t own_size, const void *caller, const char *fn,
                                  const char *param)
{
    uint32_t struct_size;
    memcpy(&struct_size, caller, sizeof struct_size);
    DDGAN_TRY(check_size(struct_size, fn, param));
    if (struct_size > own_size) {
        const unsigned char *tail = (const unsigned char *)caller + own_size;
        for (size_t i = 0; i < struct_size - own_size; i++)
            if (tail[i] != 0)
                return DDGAN_ERR(DDGAN_ERR_VERSION_MISMATCH,
                                 "%s: %s has %u bytes but this libddgan (%s) knows %zu; byte %zu "
                                 "beyond them is non-zero (a newer option this version cannot honour)",
                                 fn, param, (unsigned)struct_size, DDGAN_VERSION_STRING, own_size,
                                 own_size + i);
    }
    size_t n = struct_size < own_size ? struct_size : own_size;
    memcpy(dst, caller, n);
    /* the copy keeps the library's own size: the struct is now complete */
    uint32_t own32 = (uint32_t)own_size;
    memcpy(dst, &own32, sizeof own32);
    return DDGAN_OK;
}

ddgan_status_t ddgan__struct_write(void *caller, const void *src, size_t own_size, const char *fn,
                                   const char *param)
{
    uint32_t struct_size;
    memcpy(&struct_size, caller, sizeof struct_size);
    DDGAN_TRY(check_size(struct_size, fn, param));
    size_t n = struct_size < own_size ? struct_size : own_size;
    memcpy((char *)caller + sizeof(uint32_t), (const char *)src + sizeof(uint32_t),
           n - sizeof(uint32_t));
    return DDGAN_OK;
}
