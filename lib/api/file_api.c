/* Public entry points: reading the metadata of a safetensors file (weights,
 * trainer checkpoints), so tools can tell what a file holds without loading it. */
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"

DDGAN_API ddgan_status_t ddgan_file_metadata(const char *path, const char *key, char *out, size_t cap,
                                             size_t *len)
{
    static const char fn[] = "ddgan_file_metadata";
    if (len)
        *len = 0;
    if (!path || !key)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, !path ? "path" : "key");
    if (!out && cap)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL but cap is %zu", fn, cap);
    ddgan_st_file *f = NULL;
    ddgan_status_t st = ddgan__st_open(&f, path);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    const char *v = ddgan__st_metadata_get(f, key);
    if (!v) {
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s has no metadata key '%s'", fn, path, key);
    } else {
        const size_t n = strlen(v);
        if (len)
            *len = n;
        if (cap > n)
            memcpy(out, v, n + 1);
        else if (cap)
            st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: '%s' of %s needs %zu bytes, cap is %zu", fn, key,
                           path, n + 1, cap);
    }
    ddgan__st_close(f);
    return st;
}
