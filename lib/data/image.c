/*
 * Image decoding (PNG through libpng; JPEG through libjpeg when built with
 * DDGAN_HAVE_JPEG), channel conversion and torchvision-style
 * Resize(size) + CenterCrop(size).
 *
 * Both decoders report errors by longjmp from their error callbacks; every
 * object that must be released lives in a job struct outside the frame that
 * calls setjmp, so nothing depends on locals modified after setjmp. Neither
 * library prints anything: warnings are dropped, errors become the message.
 * libpng allocates through ddgan__malloc (png_create_read_struct_2); libjpeg
 * uses its own allocator.
 */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"

#include <inttypes.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#ifdef DDGAN_HAVE_JPEG
#include <jpeglib.h>
#include <jerror.h>
#endif

int ddgan__data_have_jpeg(void)
{
#ifdef DDGAN_HAVE_JPEG
    return 1;
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------------ */
/* PNG                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct png_job {
    const char *path;
    const uint8_t *data;
    size_t len, pos;
    png_structp png;
    png_infop info;
    uint8_t *pixels;
    png_bytep *rows;
    int h, w, channels;
    int oom;
    char msg[200];
} png_job;

static void png_err_cb(png_structp png, png_const_charp msg)
{
    png_job *j = png_get_error_ptr(png);
    snprintf(j->msg, sizeof j->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void png_warn_cb(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static png_voidp png_malloc_cb(png_structp png, png_alloc_size_t size)
{
    png_job *j = png_get_mem_ptr(png);
    void *p = ddgan__malloc(size ? (size_t)size : 1, "png: libpng memory");
    if (!p && j)
        j->oom = 1;
    return p;
}

static void png_free_cb(png_structp png, png_voidp p)
{
    (void)png;
    ddgan__free(p);
}

static void png_read_cb(png_structp png, png_bytep out, png_size_t n)
{
    png_job *j = png_get_io_ptr(png);
    if (n > j->len - j->pos)
        png_error(png, "file ends early (truncated)");
    memcpy(out, j->data + j->pos, n);
    j->pos += n;
}

static void png_job_release(png_job *j)
{
    if (j->png)
        png_destroy_read_struct(&j->png, j->info ? &j->info : NULL, NULL);
    j->png = NULL;
    j->info = NULL;
    ddgan__free(j->rows);
    j->rows = NULL;
}

/* The frame that calls setjmp: only `j` (never modified) is used after it. */
static int png_run(png_job *j)
{
    j->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, j, png_err_cb, png_warn_cb, j,
                                      png_malloc_cb, png_free_cb);
    if (!j->png) {
        snprintf(j->msg, sizeof j->msg, "cannot create the libpng reader");
        j->oom = 1;
        return -1;
    }
    if (setjmp(png_jmpbuf(j->png)))
        return -1;
    j->info = png_create_info_struct(j->png);
    if (!j->info)
        png_error(j->png, "cannot create the libpng info struct");
    png_set_user_limits(j->png, DDGAN_DATA_MAX_SIDE, DDGAN_DATA_MAX_SIDE);
    png_set_read_fn(j->png, j, png_read_cb);
    png_read_info(j->png, j->info);
    png_uint_32 w = 0, h = 0;
    int depth = 0, ctype = 0, interlace = 0;
    png_get_IHDR(j->png, j->info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    if (depth == 16)
        png_set_strip_16(j->png);
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(j->png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(j->png);
    /* alpha (and tRNS transparency, which the palette expansion turns into
     * alpha) is dropped, as PIL's convert("RGB") does */
    png_set_strip_alpha(j->png);
    png_set_interlace_handling(j->png);
    png_read_update_info(j->png, j->info);
    int ch = png_get_channels(j->png, j->info);
    if (png_get_bit_depth(j->png, j->info) != 8 || (ch != 1 && ch != 3))
        png_error(j->png, "unexpected layout after the colour conversions");
    size_t rowbytes = png_get_rowbytes(j->png, j->info);
    if (rowbytes != (size_t)w * (size_t)ch)
        png_error(j->png, "unexpected row size");
    j->pixels = ddgan__malloc((size_t)h * rowbytes, "png: pixels");
    j->rows = ddgan__malloc((size_t)h * sizeof *j->rows, "png: row pointers");
    if (!j->pixels || !j->rows) {
        j->oom = 1;
        png_error(j->png, "out of memory");
    }
    for (png_uint_32 y = 0; y < h; y++)
        j->rows[y] = j->pixels + (size_t)y * rowbytes;
    png_read_image(j->png, j->rows);
    png_read_end(j->png, NULL);
    j->h = (int)h;
    j->w = (int)w;
    j->channels = ch;
    return 0;
}

static ddgan_status_t decode_png(const char *path, const uint8_t *data, size_t len, uint8_t **pixels,
                                 int *h, int *w, int *channels)
{
    png_job j;
    memset(&j, 0, sizeof j);
    j.path = path;
    j.data = data;
    j.len = len;
    int r = png_run(&j);
    png_job_release(&j);
    if (r != 0) {
        ddgan__free(j.pixels);
        if (j.oom)
            return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "png: %s: out of memory while decoding", path);
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "png: %s: %s", path, j.msg);
    }
    *pixels = j.pixels;
    *h = j.h;
    *w = j.w;
    *channels = j.channels;
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* JPEG                                                                     */
/* ------------------------------------------------------------------------ */

#ifdef DDGAN_HAVE_JPEG
typedef struct jpeg_job {
    struct jpeg_error_mgr mgr; /* first: the error manager libjpeg sees */
    jmp_buf jb;
    struct jpeg_decompress_struct cinfo;
    int live;
    uint8_t *pixels;
    int h, w, channels;
    int unsupported;
    char msg[JMSG_LENGTH_MAX + 64];
} jpeg_job;

static void jpeg_err_cb(j_common_ptr cinfo)
{
    jpeg_job *j = (jpeg_job *)(void *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, j->msg);
    longjmp(j->jb, 1);
}

static void jpeg_msg_cb(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Warnings are dropped, except running out of data: a truncated file is an
 * error (libjpeg would pad it with gray). */
static void jpeg_emit_cb(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
        jpeg_err_cb(cinfo);
}

static int jpeg_run(jpeg_job *j, const uint8_t *data, size_t len)
{
    j->cinfo.err = jpeg_std_error(&j->mgr);
    j->mgr.error_exit = jpeg_err_cb;
    j->mgr.output_message = jpeg_msg_cb;
    j->mgr.emit_message = jpeg_emit_cb;
    if (setjmp(j->jb))
        return -1;
    jpeg_create_decompress(&j->cinfo);
    j->live = 1;
    jpeg_mem_src(&j->cinfo, (const unsigned char *)data, (unsigned long)len);
    jpeg_read_header(&j->cinfo, TRUE);
    switch (j->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: j->cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: j->cinfo.out_color_space = JCS_RGB; break;
    default:
        j->unsupported = 1;
        snprintf(j->msg, sizeof j->msg, "colour space %d (CMYK/YCCK) is not supported",
                 (int)j->cinfo.jpeg_color_space);
        return -1;
    }
    if (j->cinfo.image_width > DDGAN_DATA_MAX_SIDE || j->cinfo.image_height > DDGAN_DATA_MAX_SIDE) {
        snprintf(j->msg, sizeof j->msg, "image of %ux%u is larger than %d on a side",
                 (unsigned)j->cinfo.image_width, (unsigned)j->cinfo.image_height, DDGAN_DATA_MAX_SIDE);
        return -1;
    }
    jpeg_start_decompress(&j->cinfo);
    const int ch = j->cinfo.output_components;
    const size_t W = j->cinfo.output_width, H = j->cinfo.output_height;
    if (ch != 1 && ch != 3) {
        snprintf(j->msg, sizeof j->msg, "%d output components", ch);
        return -1;
    }
    j->pixels = ddgan__malloc(H * W * (size_t)ch, "jpeg: pixels");
    if (!j->pixels) {
        snprintf(j->msg, sizeof j->msg, "out of memory");
        return -1;
    }
    while (j->cinfo.output_scanline < j->cinfo.output_height) {
        JSAMPROW row = j->pixels + (size_t)j->cinfo.output_scanline * W * (size_t)ch;
        jpeg_read_scanlines(&j->cinfo, &row, 1);
    }
    jpeg_finish_decompress(&j->cinfo);
    j->h = (int)H;
    j->w = (int)W;
    j->channels = ch;
    return 0;
}
#endif

static ddgan_status_t decode_jpeg(const char *path, const uint8_t *data, size_t len, uint8_t **pixels,
                                  int *h, int *w, int *channels)
{
#ifdef DDGAN_HAVE_JPEG
    jpeg_job *j = ddgan__calloc(1, sizeof *j, "jpeg: decoder");
    if (!j)
        return DDGAN_ERR_OUT_OF_MEMORY;
    int r = jpeg_run(j, data, len);
    if (j->live)
        jpeg_destroy_decompress(&j->cinfo);
    ddgan_status_t st = DDGAN_OK;
    if (r != 0) {
        ddgan__free(j->pixels);
        st = DDGAN_ERR(j->unsupported ? DDGAN_ERR_UNSUPPORTED : DDGAN_ERR_FORMAT, "jpeg: %s: %s", path,
                       j->msg);
    } else {
        *pixels = j->pixels;
        *h = j->h;
        *w = j->w;
        *channels = j->channels;
    }
    ddgan__free(j);
    return st;
#else
    (void)data;
    (void)len;
    (void)pixels;
    (void)h;
    (void)w;
    (void)channels;
    return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "jpeg: %s: this build of libddgan cannot read JPEG files "
                     "(libjpeg was not found when it was built)", path);
#endif
}

ddgan_status_t ddgan__data_decode_image(const char *path, uint8_t **pixels, int *h, int *w,
                                        int *channels)
{
    *pixels = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    DDGAN_TRY(ddgan__data_read_file("image", path, (uint64_t)1 << 31, &data, &len));
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ddgan_status_t st;
    if (len >= 8 && memcmp(data, png_sig, 8) == 0)
        st = decode_png(path, data, len, pixels, h, w, channels);
    else if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        st = decode_jpeg(path, data, len, pixels, h, w, channels);
    else
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "image: %s: neither a PNG nor a JPEG file (bad signature%s)",
                       path, len < 8 ? ", file too short" : "");
    ddgan__free(data);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Channels                                                                 */
/* ------------------------------------------------------------------------ */

static uint8_t luma(unsigned r, unsigned g, unsigned b)
{
    return (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

void ddgan__data_hwc_to_chw(const uint8_t *src, int sc, int h, int w, int dc, uint8_t *dst)
{
    const size_t plane = (size_t)h * (size_t)w;
    for (size_t p = 0; p < plane; p++) {
        const uint8_t *px = src + p * (size_t)sc;
        if (dc == 1) {
            dst[p] = sc == 1 ? px[0] : luma(px[0], px[1], px[2]);
        } else {
            for (int c = 0; c < 3; c++)
                dst[(size_t)c * plane + p] = sc == 1 ? px[0] : px[c];
        }
    }
}

void ddgan__data_chw_convert(const uint8_t *src, int sc, int h, int w, int dc, uint8_t *dst)
{
    const size_t plane = (size_t)h * (size_t)w;
    if (sc == dc) {
        memcpy(dst, src, plane * (size_t)sc);
    } else if (dc == 3) { /* 1 -> 3 */
        for (int c = 0; c < 3; c++)
            memcpy(dst + (size_t)c * plane, src, plane);
    } else { /* 3 -> 1 */
        for (size_t p = 0; p < plane; p++)
            dst[p] = luma(src[p], src[plane + p], src[2 * plane + p]);
    }
}

/* ------------------------------------------------------------------------ */
/* Resize + centre crop                                                     */
/* ------------------------------------------------------------------------ */

/* Python's round() of d / 2 (half to even). */
static int crop_offset(int d)
{
    int k = d / 2;
    if (d % 2 == 0)
        return k;
    return (k % 2 == 0) ? k : k + 1;
}

static double tri(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Taps of the output samples [first, first + count) of a resampling of
 * `in` samples to `out`: tap range [lo[i], lo[i] + nt[i]) and weights
 * wt[i * kmax ...]. */
typedef struct taps {
    int kmax;
    int *lo, *nt;
    double *wt;
} taps;

static void taps_free(taps *t)
{
    ddgan__free(t->lo);
    ddgan__free(t->nt);
    ddgan__free(t->wt);
}

static ddgan_status_t taps_make(taps *t, int in, int out, int first, int count, int mode)
{
    memset(t, 0, sizeof *t);
    const double scale = (double)in / (double)out;
    const int area = mode == DDGAN_DATA_RESIZE_AREA && scale > 1.0;
    const double fscale = scale > 1.0 ? scale : 1.0;
    const double support = area ? 0.5 * scale : 1.0 * fscale;
    t->kmax = (int)ceil(support) * 2 + 2;
    t->lo = ddgan__malloc((size_t)count * sizeof(int), "resize: taps");
    t->nt = ddgan__malloc((size_t)count * sizeof(int), "resize: taps");
    t->wt = ddgan__malloc((size_t)count * (size_t)t->kmax * sizeof(double), "resize: weights");
    if (!t->lo || !t->nt || !t->wt) {
        taps_free(t);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < count; i++) {
        const int o = first + i;
        double *wt = t->wt + (size_t)i * (size_t)t->kmax;
        int lo, hi;
        if (area) {
            /* output pixel o covers [o * scale, (o + 1) * scale) of the input */
            const double a = o * scale, b = (o + 1) * scale;
            lo = (int)floor(a);
            hi = (int)ceil(b);
            if (hi > in)
                hi = in;
            for (int k = lo; k < hi; k++) {
                double l = k > a ? k : a, r = k + 1 < b ? k + 1 : b;
                wt[k - lo] = r > l ? r - l : 0.0;
            }
        } else {
            /* PIL: centre (o + 0.5) * scale, triangle of half-width `support`,
             * samples at k + 0.5 */
            const double centre = (o + 0.5) * scale;
            lo = (int)floor(centre - support + 0.5);
            hi = (int)floor(centre + support + 0.5);
            if (lo < 0)
                lo = 0;
            if (hi > in)
                hi = in;
            for (int k = lo; k < hi; k++)
                wt[k - lo] = tri((k + 0.5 - centre) / fscale);
        }
        int n = hi - lo;
        if (n > t->kmax)
            n = t->kmax; /* cannot happen: kmax covers 2 * support + 2 */
        double sum = 0.0;
        for (int k = 0; k < n; k++)
            sum += wt[k];
        if (sum > 0.0)
            for (int k = 0; k < n; k++)
                wt[k] /= sum;
        t->lo[i] = lo;
        t->nt[i] = n;
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__data_resize_crop(const uint8_t *src, int c, int h, int w, int size, int mode,
                                       uint8_t *dst)
{
    if (size < 1 || h < 1 || w < 1)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "resize: bad sizes %dx%d -> %d", w, h, size);
    int rh, rw;
    if (h <= w) {
        rh = size;
        rw = (int)((int64_t)size * w / h);
    } else {
        rw = size;
        rh = (int)((int64_t)size * h / w);
    }
    if (rw < size)
        rw = size;
    if (rh < size)
        rh = size;
    const int top = crop_offset(rh - size), left = crop_offset(rw - size);
    const size_t oplane = (size_t)size * (size_t)size, iplane = (size_t)h * (size_t)w;
    if (rh == h && rw == w) {
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < size; y++)
                memcpy(dst + (size_t)ch * oplane + (size_t)y * (size_t)size,
                       src + (size_t)ch * iplane + (size_t)(y + top) * (size_t)w + (size_t)left,
                       (size_t)size);
        return DDGAN_OK;
    }
    taps tx, ty;
    DDGAN_TRY(taps_make(&tx, w, rw, left, size, mode));
    ddgan_status_t st = taps_make(&ty, h, rh, top, size, mode);
    if (st != DDGAN_OK) {
        taps_free(&tx);
        return st;
    }
    double *mid = ddgan__malloc((size_t)h * (size_t)size * sizeof(double), "resize: intermediate");
    if (!mid) {
        taps_free(&tx);
        taps_free(&ty);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    for (int ch = 0; ch < c; ch++) {
        const uint8_t *in = src + (size_t)ch * iplane;
        /* horizontal pass: [h, w] -> [h, size] */
        for (int y = 0; y < h; y++) {
            const uint8_t *row = in + (size_t)y * (size_t)w;
            for (int x = 0; x < size; x++) {
                const double *wt = tx.wt + (size_t)x * (size_t)tx.kmax;
                double acc = 0.0;
                for (int k = 0; k < tx.nt[x]; k++)
                    acc += wt[k] * row[tx.lo[x] + k];
                mid[(size_t)y * (size_t)size + (size_t)x] = acc;
            }
        }
        /* vertical pass: [h, size] -> [size, size] */
        uint8_t *out = dst + (size_t)ch * oplane;
        for (int y = 0; y < size; y++) {
            const double *wt = ty.wt + (size_t)y * (size_t)ty.kmax;
            for (int x = 0; x < size; x++) {
                double acc = 0.0;
                for (int k = 0; k < ty.nt[y]; k++)
                    acc += wt[k] * mid[(size_t)(ty.lo[y] + k) * (size_t)size + (size_t)x];
                double v = floor(acc + 0.5);
                out[(size_t)y * (size_t)size + (size_t)x] = (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
            }
        }
    }
    ddgan__free(mid);
    taps_free(&tx);
    taps_free(&ty);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Decode + convert + resize                                                */
/* ------------------------------------------------------------------------ */

ddgan_status_t ddgan__data_load_image(const char *path, int channels, int size, int resize,
                                      uint8_t *into, uint8_t **out, int *h, int *w)
{
    if (out)
        *out = NULL;
    uint8_t *hwc = NULL;
    int ih = 0, iw = 0, sc = 0;
    DDGAN_TRY(ddgan__data_decode_image(path, &hwc, &ih, &iw, &sc));
    const size_t plane = (size_t)ih * (size_t)iw;
    uint8_t *chw = ddgan__malloc(plane * (size_t)channels, "image: planar pixels");
    if (!chw) {
        ddgan__free(hwc);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    ddgan__data_hwc_to_chw(hwc, sc, ih, iw, channels, chw);
    ddgan__free(hwc);
    if (size == 0) {
        /* native size: the caller's buffer must match it */
        if (into && (ih != *h || iw != *w)) {
            ddgan__free(chw);
            *h = ih;
            *w = iw;
            return DDGAN_OK; /* the caller compares and reports */
        }
        *h = ih;
        *w = iw;
        if (into) {
            memcpy(into, chw, plane * (size_t)channels);
            ddgan__free(chw);
        } else {
            *out = chw;
        }
        return DDGAN_OK;
    }
    uint8_t *dst = into;
    if (!dst) {
        dst = ddgan__malloc((size_t)size * (size_t)size * (size_t)channels, "image: resized pixels");
        if (!dst) {
            ddgan__free(chw);
            return DDGAN_ERR_OUT_OF_MEMORY;
        }
    }
    ddgan_status_t st = ddgan__data_resize_crop(chw, channels, ih, iw, size, resize, dst);
    ddgan__free(chw);
    if (st != DDGAN_OK) {
        if (!into)
            ddgan__free(dst);
        return st;
    }
    *h = size;
    *w = size;
    if (!into)
        *out = dst;
    return DDGAN_OK;
}
