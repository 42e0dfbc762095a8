/*
 * Datasets and the data loader (docs/data.md).
 *
 * A dataset is a fixed, finite list of N examples, each a float32 CHW tensor
 * (images: values in [-1, 1], x = (u8 / 255 - 0.5) / 0.5 computed in float32
 * as ToTensor + Normalize(0.5, 0.5) do; 2-D mixtures: [2, 1, 1] in data units)
 * with an int64 label (-1 when the source has none). Sources:
 *
 *   DDGAN_DATA_IDX            MNIST / Fashion-MNIST / EMNIST IDX files, raw or gzip
 *   DDGAN_DATA_STACKED_MNIST  three MNIST digits on three channels, label 100a+10b+c
 *   DDGAN_DATA_CIFAR10        CIFAR-10 binary batches
 *   DDGAN_DATA_IMAGE_FOLDER   PNG (and, when built with libjpeg, JPEG) files
 *   DDGAN_DATA_GRID25         25 Gaussians, means {-4,-2,0,2,4}^2, sigma 0.05
 *   DDGAN_DATA_RING8          8 Gaussians on a circle, radius 1, sigma 0.01
 *
 * The dataset handle also carries the loader: an optional padding with the
 * background value -1, an optional random horizontal flip, a seeded
 * permutation per epoch (depending only on (seed, epoch)), drop-last
 * batching and a position (epoch, index within the epoch) that a checkpoint
 * saves and restores.
 *
 * Every Philox draw comes from a stream of its own (docs/rng.md, docs/data.md):
 */
#ifndef DDGAN_DATA_DATASET_H
#define DDGAN_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

#define DDGAN_DATA_STREAM_BASE ((uint64_t)0xDA7A << 48)
/* + epoch: the Fisher-Yates words of epoch `epoch` (loader seed) */
#define DDGAN_DATA_STREAM_SHUFFLE (DDGAN_DATA_STREAM_BASE | ((uint64_t)0 << 40))
/* + epoch: the flip words of epoch `epoch` (loader seed); word k is slot k of the epoch */
#define DDGAN_DATA_STREAM_FLIP (DDGAN_DATA_STREAM_BASE | ((uint64_t)1 << 40))
/* + (channel << 20) + r: StackedMNIST's r-th permutation of channel `channel` (data seed) */
#define DDGAN_DATA_STREAM_STACKED (DDGAN_DATA_STREAM_BASE | ((uint64_t)2 << 40))
/* + 0: component words, + 1: normals of the 2-D mixtures (data seed) */
#define DDGAN_DATA_STREAM_MIXTURE (DDGAN_DATA_STREAM_BASE | ((uint64_t)3 << 40))

/* Limits: epochs < 2^40 (the stream offsets above), examples <= INT32_MAX,
 * image sides <= 16384, padding <= 1024 pixels per side. */
#define DDGAN_DATA_MAX_EPOCH ((int64_t)1 << 40)
#define DDGAN_DATA_MAX_EXAMPLES ((int64_t)INT32_MAX)
#define DDGAN_DATA_MAX_SIDE 16384
#define DDGAN_DATA_MAX_PAD 1024

/* Default number of examples of the 2-D mixtures. */
#define DDGAN_DATA_MIXTURE_DEFAULT_N 100000

/* Elements of the serialised loader state (ddgan__data_get_state). */
#define DDGAN_DATA_STATE_LEN 5

#define DDGAN_MAGIC_DATASET 0x41444444u /* "DDDA" */

typedef enum ddgan_data_kind {
    DDGAN_DATA_IDX = 0,
    DDGAN_DATA_STACKED_MNIST = 1,
    DDGAN_DATA_CIFAR10 = 2,
    DDGAN_DATA_IMAGE_FOLDER = 3,
    DDGAN_DATA_GRID25 = 4,
    DDGAN_DATA_RING8 = 5,
    DDGAN_DATA_KIND_COUNT
} ddgan_data_kind;

enum { DDGAN_DATA_SPLIT_TRAIN = 0, DDGAN_DATA_SPLIT_TEST = 1 };
enum { DDGAN_DATA_RESIZE_BILINEAR = 0, DDGAN_DATA_RESIZE_AREA = 1 };

/* What to open and how to serve it. ddgan__data_config_defaults fills the
 * defaults given here; the proposed public ddgan_dataset_config has the same
 * fields after struct_size. */
typedef struct ddgan_data_config {
    int kind;                 /* ddgan_data_kind; default DDGAN_DATA_IDX */
    /* IDX: a folder holding <prefix><split>-images-idx3-ubyte[.gz] and
     *      <prefix><split>-labels-idx1-ubyte[.gz] (split "train" or "t10k"),
     *      or the images file itself (labels then from labels_path, or none).
     * STACKED_MNIST: as IDX; always the training split unless `split` says test.
     * CIFAR10: a folder holding data_batch_1..5.bin (train) or test_batch.bin
     *      (test), directly or in cifar-10-batches-bin/, or one batch file.
     * IMAGE_FOLDER: a folder, searched recursively (hidden entries skipped),
     *      for *.png, *.jpg, *.jpeg (any case), in byte-wise sorted path order.
     * Mixtures: unused. Default NULL. */
    const char *path;
    const char *labels_path;  /* IDX labels file when `path` is an images file; default NULL */
    /* Instead of `path`: an explicit list of files (CIFAR-10 batches, or
     * image files in this order). Default NULL, 0. */
    const char *const *paths;
    size_t num_paths;
    const char *idx_prefix;   /* IDX file-name prefix, e.g. "emnist-balanced-"; default NULL ("") */
    int split;                /* DDGAN_DATA_SPLIT_TRAIN (default) or _TEST */
    int transpose;            /* IDX: swap H and W of every image (EMNIST is stored transposed); 0 */
    int channels;             /* 0: the source's (IDX 1, CIFAR 3, folder 3); 1 or 3 converts */
    int image_size;           /* 0: native size; S: resize the shorter side to S, centre-crop S x S */
    int resize;               /* DDGAN_DATA_RESIZE_BILINEAR (default, PIL's antialiased bilinear)
                                 or DDGAN_DATA_RESIZE_AREA */
    int lazy;                 /* IMAGE_FOLDER: 1 decodes on demand instead of at open; default 0 */
    int pad;                  /* pixels added on every side with the background value -1; 0 */
    int hflip;                /* 1: random horizontal flip (probability 1/2); default 0 */
    int shuffle;              /* 1 (default): a seeded permutation per epoch; 0: file order */
    uint64_t seed;            /* loader seed: permutations and flips; default 0 */
    uint64_t data_seed;       /* StackedMNIST composition and mixture draws; default 0 */
    /* 0: all (StackedMNIST: twice the MNIST count; mixtures: 100000).
     * Files: keep the first N examples (at most the count present).
     * StackedMNIST and mixtures: exactly N. */
    int64_t num_examples;
    double radius;            /* RING8: circle radius; 0 = default 1 */
    double sigma;             /* mixtures: standard deviation; 0 = default (0.05 grid, 0.01 ring) */
} ddgan_data_config;

void ddgan__data_config_defaults(ddgan_data_config *cfg);

/* Examples of one source (private layout: lib/data/data_internal.h). */
typedef struct ddgan_data_source ddgan_data_source;

/* A dataset with its loader. The proposed public handle ddgan_dataset_t is a
 * pointer to this struct. Not thread-safe: one thread at a time. */
struct ddgan_dataset {
    uint32_t magic;
    ddgan_data_source *src;
    int64_t n;              /* examples */
    int c, h, w;            /* served shape (after padding) */
    int src_h, src_w;       /* shape before padding */
    int pad, hflip, shuffle;
    uint64_t seed;
    int64_t epoch, index;   /* position: the next batch starts at slot `index` of epoch `epoch` */
    int64_t perm_epoch;     /* epoch whose permutation `perm` holds, -1: none */
    uint32_t *perm;         /* [n] when shuffling */
    float *scratch;         /* one unpadded example */
};

/* Opens a dataset. Files are read (and, unless lazy, decoded) here. `fn`
 * names the caller in argument messages; file problems name the file:
 * DDGAN_ERR_IO (missing, unreadable), DDGAN_ERR_FORMAT (malformed),
 * DDGAN_ERR_UNSUPPORTED (valid but not handled: IDX element types other
 * than ubyte, JPEG without libjpeg, CMYK JPEG). */
ddgan_status_t ddgan__data_open(struct ddgan_dataset **out, const ddgan_data_config *cfg,
                                const char *fn);
void ddgan__data_close(struct ddgan_dataset *ds);

/* Handle check for the API layer (NULL or wrong magic: DDGAN_ERR_INVALID_ARGUMENT). */
ddgan_status_t ddgan__data_check(const struct ddgan_dataset *ds, const char *fn);

int64_t ddgan__data_size(const struct ddgan_dataset *ds);
/* Served example shape (after padding); 2-D mixtures: 2, 1, 1. */
void ddgan__data_shape(const struct ddgan_dataset *ds, int *c, int *h, int *w);
/* Full batches per epoch at this batch size (drop-last): N / batch. */
int64_t ddgan__data_batches_per_epoch(const struct ddgan_dataset *ds, size_t batch);

/* Example `index` in source order, padded, never flipped: out[c*h*w]; label may be NULL. */
ddgan_status_t ddgan__data_get(struct ddgan_dataset *ds, int64_t index, float *out, int64_t *label,
                               const char *fn);

/* The next `batch` examples: out[batch, c, h, w], labels[batch] (may be
 * NULL). When fewer than `batch` examples remain in the epoch, the rest is
 * dropped and the batch is the first of the next epoch. 1 <= batch <= N.
 * A failing call (a lazily decoded file that turned out bad) leaves the
 * position unchanged. */
ddgan_status_t ddgan__data_next_batch(struct ddgan_dataset *ds, size_t batch, float *out,
                                      int64_t *labels, const char *fn);

/* Position: the next batch starts at slot `index` (0..N) of epoch `epoch`
 * (index N means the epoch is used up). set refuses epoch outside
 * [0, 2^40) and index outside [0, N]. */
void ddgan__data_get_position(const struct ddgan_dataset *ds, int64_t *epoch, int64_t *index);
ddgan_status_t ddgan__data_set_position(struct ddgan_dataset *ds, int64_t epoch, int64_t index,
                                        const char *fn);

/* Serialised position for checkpoints: {epoch, index, N, seed (bits as
 * int64), shuffle}. set_state checks that N, seed and shuffle match this
 * dataset (DDGAN_ERR_INVALID_ARGUMENT naming the mismatch) before moving. */
void ddgan__data_get_state(const struct ddgan_dataset *ds, int64_t state[DDGAN_DATA_STATE_LEN]);
ddgan_status_t ddgan__data_set_state(struct ddgan_dataset *ds,
                                     const int64_t state[DDGAN_DATA_STATE_LEN], const char *fn);

/* The permutation of `n` items drawn from Philox stream (seed, stream):
 * Fisher-Yates from the identity, i = n-1 down to 1, j uniform in [0, i]
 * by Lemire's multiply-and-reject on successive 32-bit words of the stream
 * (words 4b..4b+3 from block b, from block 0). The loader's epoch e uses
 * stream DDGAN_DATA_STREAM_SHUFFLE + e. */
void ddgan__data_permutation(uint64_t seed, uint64_t stream, uint32_t n, uint32_t *perm);

/* Whether JPEG files can be decoded (built with libjpeg). */
int ddgan__data_have_jpeg(void);

#endif
