/* What the files of lib/data share: the source layout, the format readers
 * and the image helpers. Private to lib/data (and its white-box test). */
#ifndef DDGAN_DATA_INTERNAL_H
#define DDGAN_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

/* Largest decoded IDX payload, raw file read in one piece, or decoded image. */
#define DDGAN_DATA_MAX_BYTES ((uint64_t)1 << 33)

typedef enum ddgan_data_src_type {
    DDGAN_SRC_U8 = 0, /* uint8 CHW images in memory */
    DDGAN_SRC_STACKED,
    DDGAN_SRC_MIXTURE,
    DDGAN_SRC_FILES   /* image files decoded on demand */
} ddgan_data_src_type;

struct ddgan_data_source {
    ddgan_data_src_type type;
    int64_t n;
    int c, h, w;            /* native example shape (after channel conversion / resize) */
    /* DDGAN_SRC_U8 (also the digits under StackedMNIST) */
    uint8_t *pixels;        /* [n, c, h, w] */
    int64_t *labels;        /* [n], or NULL: every label is -1 */
    char *labels_file;      /* where the labels came from (messages), or NULL */
    /* DDGAN_SRC_STACKED */
    ddgan_data_source *base; /* owned MNIST digits (1 x 28 x 28, labels 0..9) */
    uint32_t *stack_idx;     /* [3][n]: digit of each channel */
    /* DDGAN_SRC_MIXTURE */
    int ncomp;
    double means[25][2];
    double sigma;
    uint64_t data_seed;
    /* DDGAN_SRC_FILES (lazy image folder) */
    char **files;
    size_t nfiles;
    int size, resize;       /* image_size (0: native, all files the same size) and mode */
    uint8_t *one;           /* [c, h, w] decode buffer */
};

void ddgan__data_source_free(ddgan_data_source *s);
ddgan_status_t ddgan__data_source_new(ddgan_data_source **out, ddgan_data_src_type type);

/* Example i (0 <= i < n) as float32 CHW: images (u8/255 - 0.5)/0.5, mixtures
 * in data units. label may be NULL. */
ddgan_status_t ddgan__data_source_get(ddgan_data_source *s, int64_t i, float *out, int64_t *label);

/* uint8 -> the float32 value ToTensor + Normalize(0.5, 0.5) give. */
float ddgan__data_u8_value(uint8_t v);

/* ---- readers (each fills a new source, or fails naming the file) ---- */

/* One IDX file of unsigned bytes with `want_ndim` dimensions (1: labels,
 * 3: images), raw or gzip. dims[0..want_ndim-1] receive the sizes, *data a
 * ddgan__malloc'd payload of dims[0] * ... bytes. */
ddgan_status_t ddgan__data_idx_read(const char *path, int want_ndim, uint32_t dims[3], uint8_t **data,
                                    size_t *len);
ddgan_status_t ddgan__data_open_idx(ddgan_data_source **out, const ddgan_data_config *cfg,
                                    const char *fn);
ddgan_status_t ddgan__data_open_cifar10(ddgan_data_source **out, const ddgan_data_config *cfg,
                                        const char *fn);
ddgan_status_t ddgan__data_open_image_folder(ddgan_data_source **out, const ddgan_data_config *cfg,
                                             const char *fn);
ddgan_status_t ddgan__data_open_stacked(ddgan_data_source **out, const ddgan_data_config *cfg,
                                        const char *fn);
ddgan_status_t ddgan__data_open_mixture(ddgan_data_source **out, const ddgan_data_config *cfg,
                                        const char *fn);

/* Applies cfg->channels and cfg->image_size to a DDGAN_SRC_U8 source. */
ddgan_status_t ddgan__data_u8_transform(ddgan_data_source *s, const ddgan_data_config *cfg,
                                        const char *what);

/* ---- image helpers (image.c) ---- */

/* Decodes one PNG (or JPEG) file into a ddgan__malloc'd interleaved HWC
 * buffer of 1 (gray) or 3 (RGB) channels; alpha is dropped, palettes
 * expanded, 16-bit samples reduced to 8. */
ddgan_status_t ddgan__data_decode_image(const char *path, uint8_t **pixels, int *h, int *w,
                                        int *channels);

/* Decodes `path` and returns it as uint8 CHW with `channels` channels,
 * resized and centre-cropped to size x size (size 0: native; *h, *w then
 * report it). *out is ddgan__malloc'd unless `into` is given (size > 0 or the
 * caller knows h, w). */
ddgan_status_t ddgan__data_load_image(const char *path, int channels, int size, int resize,
                                      uint8_t *into, uint8_t **out, int *h, int *w);

/* Interleaved HWC (sc channels) -> planar CHW (dc channels); 1 -> 3
 * replicates, 3 -> 1 is PIL's luma (R*19595 + G*38470 + B*7471 + 2^15) >> 16. */
void ddgan__data_hwc_to_chw(const uint8_t *src, int sc, int h, int w, int dc, uint8_t *dst);
/* The same on planar CHW input. */
void ddgan__data_chw_convert(const uint8_t *src, int sc, int h, int w, int dc, uint8_t *dst);

/* torchvision Resize(size) + CenterCrop(size) on a uint8 CHW image: the
 * shorter side becomes `size`, the longer int(size * long / short); the crop
 * starts at round((resized - size) / 2) (half to even). BILINEAR is PIL's
 * triangle filter, widened by the scale when shrinking (antialiased);
 * AREA averages with exact fractional coverage when shrinking and is
 * bilinear when enlarging. Computed in double, rounded half up to uint8.
 * dst is [c, size, size]. */
ddgan_status_t ddgan__data_resize_crop(const uint8_t *src, int c, int h, int w, int size, int mode,
                                       uint8_t *dst);

/* ---- small shared helpers (source.c) ---- */

/* Thread-safe strerror into buf. */
const char *ddgan__data_strerror(int err, char buf[128]);
/* "dir/name", ddgan__malloc'd (NULL and the error set on failure). */
char *ddgan__data_join(const char *dir, const char *name);
/* 1 if path is a directory, 0 if it is something else, -1 if it cannot be stat'ed. */
int ddgan__data_path_kind(const char *path);
/* Reads a whole regular file of at most `limit` bytes (tag names the reader
 * in messages). */
ddgan_status_t ddgan__data_read_file(const char *tag, const char *path, uint64_t limit,
                                     uint8_t **out, size_t *len);

#endif
