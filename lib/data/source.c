/* Sources: lifetime, per-example access and the small helpers the readers share. */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"
#include "core/philox.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* strerror_r comes in a GNU flavour (returns char *) and an XSI flavour
 * (returns int); pick whichever the C library declared. */
static const char *strerror_pick_gnu(char *ret, char *buf)
{
    (void)buf;
    return ret;
}
static const char *strerror_pick_xsi(int ret, char *buf)
{
    return ret == 0 ? buf : "unknown error";
}
const char *ddgan__data_strerror(int err, char buf[128])
{
    buf[0] = '\0';
    return _Generic(strerror_r(err, buf, 128), char *: strerror_pick_gnu,
                    int: strerror_pick_xsi)(strerror_r(err, buf, 128), buf);
}

char *ddgan__data_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = ddgan__malloc(a + b + 2, "data: path");
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a == 0 || dir[a - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

int ddgan__data_path_kind(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return S_ISDIR(st.st_mode) ? 1 : 0;
}

ddgan_status_t ddgan__data_read_file(const char *tag, const char *path, uint64_t limit,
                                     uint8_t **out, size_t *len)
{
    char eb[128];
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return DDGAN_ERR(DDGAN_ERR_IO, "%s: %s: cannot open: %s", tag, path,
                         ddgan__data_strerror(errno, eb));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return DDGAN_ERR(DDGAN_ERR_IO, "%s: %s: not a regular file", tag, path);
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size > limit || size > (uint64_t)SIZE_MAX - 1) {
        fclose(f);
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s: %s: file of %" PRIu64 " bytes is larger than the %" PRIu64
                         " bytes this reader accepts", tag, path, size, limit);
    }
    uint8_t *buf = ddgan__malloc(size ? (size_t)size : 1, "data: file contents");
    if (!buf) {
        fclose(f);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    size_t got = size ? fread(buf, 1, (size_t)size, f) : 0;
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (got != (size_t)size) {
        ddgan__free(buf);
        if (err)
            return DDGAN_ERR(DDGAN_ERR_IO, "%s: %s: read failed: %s", tag, path,
                             ddgan__data_strerror(err, eb));
        return DDGAN_ERR(DDGAN_ERR_IO, "%s: %s: file shrank while being read", tag, path);
    }
    *out = buf;
    *len = (size_t)size;
    return DDGAN_OK;
}

float ddgan__data_u8_value(uint8_t v)
{
    /* ToTensor (float32 v / 255) then Normalize(0.5, 0.5): (x - 0.5) / 0.5, in float32. */
    float x = (float)v / 255.0f;
    return (x - 0.5f) / 0.5f;
}

/* ------------------------------------------------------------------------ */
/* Sources                                                                  */
/* ------------------------------------------------------------------------ */

ddgan_status_t ddgan__data_source_new(ddgan_data_source **out, ddgan_data_src_type type)
{
    ddgan_data_source *s = ddgan__calloc(1, sizeof *s, "data: source");
    if (!s)
        return DDGAN_ERR_OUT_OF_MEMORY;
    s->type = type;
    *out = s;
    return DDGAN_OK;
}

void ddgan__data_source_free(ddgan_data_source *s)
{
    if (!s)
        return;
    ddgan__free(s->pixels);
    ddgan__free(s->labels);
    ddgan__free(s->labels_file);
    ddgan__data_source_free(s->base);
    ddgan__free(s->stack_idx);
    if (s->files)
        for (size_t i = 0; i < s->nfiles; i++)
            ddgan__free(s->files[i]);
    ddgan__free(s->files);
    ddgan__free(s->one);
    ddgan__free(s);
}

static void u8_to_float(const uint8_t *p, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ddgan__data_u8_value(p[i]);
}

ddgan_status_t ddgan__data_source_get(ddgan_data_source *s, int64_t i, float *out, int64_t *label)
{
    const size_t plane = (size_t)s->h * (size_t)s->w;
    const size_t ex = plane * (size_t)s->c;
    switch (s->type) {
    case DDGAN_SRC_U8:
        u8_to_float(s->pixels + (size_t)i * ex, ex, out);
        if (label)
            *label = s->labels ? s->labels[i] : -1;
        return DDGAN_OK;
    case DDGAN_SRC_STACKED: {
        const ddgan_data_source *b = s->base;
        int64_t lab = 0;
        for (int ch = 0; ch < 3; ch++) {
            uint32_t d = s->stack_idx[(size_t)ch * (size_t)s->n + (size_t)i];
            u8_to_float(b->pixels + (size_t)d * plane, plane, out + (size_t)ch * plane);
            lab = lab * 10 + b->labels[d];
        }
        if (label)
            *label = lab;
        return DDGAN_OK;
    }
    case DDGAN_SRC_MIXTURE: {
        /* component: word i of stream +0, uniform index floor(w * K / 2^32);
         * noise: normals 4i, 4i+1 (block i) of stream +1. */
        uint32_t w4[4];
        ddgan__philox_u32(s->data_seed, DDGAN_DATA_STREAM_MIXTURE + 0, (uint64_t)i / 4u, w4, 4);
        uint32_t w = w4[(uint64_t)i % 4u];
        int k = (int)(((uint64_t)w * (uint64_t)s->ncomp) >> 32);
        double z[4];
        ddgan__philox_normal_f64(s->data_seed, DDGAN_DATA_STREAM_MIXTURE + 1, (uint64_t)i, z, 4);
        out[0] = (float)(s->means[k][0] + s->sigma * z[0]);
        out[1] = (float)(s->means[k][1] + s->sigma * z[1]);
        if (label)
            *label = k;
        return DDGAN_OK;
    }
    case DDGAN_SRC_FILES: {
        int h = s->h, w = s->w;
        DDGAN_TRY(ddgan__data_load_image(s->files[i], s->c, s->size, s->resize, s->one, NULL, &h, &w));
        if (h != s->h || w != s->w)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "image folder: %s: image is %dx%d but the dataset's "
                             "images are %dx%d (set image_size to resize)", s->files[i], w, h, s->w, s->h);
        u8_to_float(s->one, ex, out);
        if (label)
            *label = -1;
        return DDGAN_OK;
    }
    }
    return DDGAN_ERR(DDGAN_ERR_INTERNAL, "data: unknown source type %d", (int)s->type);
}

ddgan_status_t ddgan__data_u8_transform(ddgan_data_source *s, const ddgan_data_config *cfg,
                                        const char *what)
{
    int dc = cfg->channels ? cfg->channels : s->c;
    int size = cfg->image_size;
    int same_size = size == 0 || (size == s->h && size == s->w);
    if (dc == s->c && same_size)
        return DDGAN_OK;
    const int oh = same_size ? s->h : size, ow = same_size ? s->w : size;
    size_t out_ex = (size_t)dc * (size_t)oh * (size_t)ow;
    size_t conv_ex = (size_t)dc * (size_t)s->h * (size_t)s->w;
    size_t total;
    if (!ddgan__mul_size(out_ex, (size_t)s->n, &total) || total > DDGAN_DATA_MAX_BYTES)
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "%s: %" PRId64 " images of %dx%dx%d do not fit the "
                         "%" PRIu64 "-byte limit", what, s->n, dc, oh, ow, DDGAN_DATA_MAX_BYTES);
    uint8_t *dst = ddgan__malloc(total ? total : 1, "data: converted images");
    uint8_t *tmp = same_size ? NULL : ddgan__malloc(conv_ex, "data: converted image");
    if (!dst || (!same_size && !tmp)) {
        ddgan__free(dst);
        ddgan__free(tmp);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    const size_t in_ex = (size_t)s->c * (size_t)s->h * (size_t)s->w;
    for (int64_t i = 0; i < s->n; i++) {
        const uint8_t *src = s->pixels + (size_t)i * in_ex;
        uint8_t *d = dst + (size_t)i * out_ex;
        if (same_size) {
            ddgan__data_chw_convert(src, s->c, s->h, s->w, dc, d);
            continue;
        }
        ddgan__data_chw_convert(src, s->c, s->h, s->w, dc, tmp);
        ddgan_status_t st = ddgan__data_resize_crop(tmp, dc, s->h, s->w, size, cfg->resize, d);
        if (st != DDGAN_OK) {
            ddgan__free(dst);
            ddgan__free(tmp);
            return st;
        }
    }
    ddgan__free(tmp);
    ddgan__free(s->pixels);
    s->pixels = dst;
    s->c = dc;
    s->h = oh;
    s->w = ow;
    return DDGAN_OK;
}
