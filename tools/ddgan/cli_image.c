/* Output files of the tool: PNG sample grids (libpng), scatter plots of 2-D
 * samples, and .npy arrays (NumPy format 1.0, little-endian float32). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_has_ext(const char *path, const char *ext)
{
    const size_t n = strlen(path), e = strlen(ext);
    if (n < e)
        return 0;
    for (size_t i = 0; i < e; i++)
        if (tolower((unsigned char)path[n - e + i]) != tolower((unsigned char)ext[i]))
            return 0;
    return 1;
}

/* Writes an 8-bit RGB image; the file appears complete or not at all
 * (written to path.tmp, then renamed). */
static int write_rgb_png(const char *path, const unsigned char *rgb, int w, int h)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        cli_error("%s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc((size_t)h * sizeof *rows);
    int rc = -1;
    if (png && info && rows && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        for (int y = 0; y < h; y++)
            rows[y] = (png_bytep)(rgb + (size_t)y * (size_t)w * 3);
        png_set_rows(png, info, rows);
        png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
        rc = 0;
    }
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    free(rows);
    if (fclose(f) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        remove(tmp);
        cli_error("cannot write %s", path);
    }
    return rc;
}

static unsigned char to_byte(float v)
{
    /* [-1, 1] -> [0, 255], as torchvision's save_image of (x + 1) / 2 */
    const float u = (v + 1.0f) * 0.5f * 255.0f + 0.5f;
    return (unsigned char)(u < 0.0f ? 0.0f : u > 255.0f ? 255.0f : u);
}

int cli_write_grid_png(const char *path, const float *x, size_t n, int c, int h, int w)
{
    if (n == 0 || (c != 1 && c != 3)) {
        cli_error("%s: cannot draw %zu images of %d channels", path, n, c);
        return -1;
    }
    const int pad = 2;
    int cols = (int)ceil(sqrt((double)n));
    const int rows = (int)((n + (size_t)cols - 1) / (size_t)cols);
    const int W = cols * (w + pad) + pad, H = rows * (h + pad) + pad;
    unsigned char *rgb = malloc((size_t)W * (size_t)H * 3);
    if (!rgb) {
        cli_error("out of memory");
        return -1;
    }
    memset(rgb, 40, (size_t)W * (size_t)H * 3); /* dark grey border */
    const size_t plane = (size_t)h * (size_t)w;
    for (size_t i = 0; i < n; i++) {
        const int gx = (int)(i % (size_t)cols), gy = (int)(i / (size_t)cols);
        const float *img = x + i * (size_t)c * plane;
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++) {
                unsigned char *px =
                    rgb + ((size_t)(gy * (h + pad) + pad + y) * (size_t)W + (size_t)(gx * (w + pad) + pad + xx)) * 3;
                for (int k = 0; k < 3; k++)
                    px[k] = to_byte(img[(size_t)(c == 3 ? k : 0) * plane + (size_t)y * (size_t)w + (size_t)xx]);
            }
    }
    const int rc = write_rgb_png(path, rgb, W, H);
    free(rgb);
    return rc;
}

static void dot(unsigned char *rgb, int S, int cx, int cy, int r, const unsigned char col[3])
{
    for (int y = cy - r; y <= cy + r; y++)
        for (int x = cx - r; x <= cx + r; x++)
            if (x >= 0 && y >= 0 && x < S && y < S && (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
                memcpy(rgb + ((size_t)y * (size_t)S + (size_t)x) * 3, col, 3);
}

int cli_write_scatter_png(const char *path, const float *xy, size_t n, const float *modes, int k)
{
    const int S = 512;
    /* a square view around the reference points (or the samples), with a margin */
    double ext = 0.0;
    for (int i = 0; i < 2 * k; i++)
        ext = fmax(ext, fabs((double)modes[i]));
    if (k == 0)
        for (size_t i = 0; i < 2 * n; i++)
            if (isfinite(xy[i]))
                ext = fmax(ext, fabs((double)xy[i]));
    ext = ext > 0.0 ? ext * 1.25 : 1.0;
    unsigned char *rgb = malloc((size_t)S * S * 3);
    if (!rgb) {
        cli_error("out of memory");
        return -1;
    }
    memset(rgb, 255, (size_t)S * S * 3);
    const unsigned char axis[3] = {225, 225, 225}, mode_col[3] = {230, 60, 40}, pt[3] = {30, 80, 200};
    for (int i = 0; i < S; i++) {
        memcpy(rgb + ((size_t)(S / 2) * S + (size_t)i) * 3, axis, 3);
        memcpy(rgb + ((size_t)i * S + (size_t)(S / 2)) * 3, axis, 3);
    }
#define PX(v) ((int)lround(((v) / ext + 1.0) * 0.5 * (S - 1)))
    for (size_t i = 0; i < n; i++) {
        const double x = xy[2 * i], y = xy[2 * i + 1];
        if (isfinite(x) && isfinite(y))
            dot(rgb, S, PX(x), S - 1 - PX(y), 1, pt);
    }
    for (int i = 0; i < k; i++) /* modes on top, as small red rings' centres */
        dot(rgb, S, PX(modes[2 * i]), S - 1 - PX(modes[2 * i + 1]), 2, mode_col);
#undef PX
    const int rc = write_rgb_png(path, rgb, S, S);
    free(rgb);
    return rc;
}

int cli_write_npy(const char *path, const float *x, const size_t *shape, int ndim)
{
    char dims[128] = "";
    size_t count = 1, at = 0;
    for (int i = 0; i < ndim; i++) {
        at += (size_t)snprintf(dims + at, sizeof dims - at, "%zu,%s", shape[i], ndim > 1 && i < ndim - 1 ? " " : "");
        count *= shape[i];
    }
    if (ndim > 1 && at > 0 && dims[at - 1] == ',') /* (a, b) rather than (a, b,) */
        dims[--at] = 0;
    char header[256];
    int hl = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", dims);
    /* magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in \n */
    const int total = ((10 + hl + 1 + 63) / 64) * 64;
    while (10 + hl < total - 1)
        header[hl++] = ' ';
    header[hl++] = '\n';
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        cli_error("%s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                                   (unsigned char)(hl >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)hl, f) == (size_t)hl &&
             fwrite(x, sizeof(float), count, f) == count; /* the host is little-endian (x86-64, arm64) */
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        cli_error("cannot write %s", path);
        return -1;
    }
    return 0;
}
