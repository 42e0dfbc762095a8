/*
 * CIFAR-10 binary batches (the "binary version" of the dataset):
 * data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin (test),
 * each a sequence of 3073-byte records: one label byte (0..9), then the
 * 32x32 red plane, the green plane and the blue plane, each row-major. The
 * released files hold 10000 records; any whole number (>= 1) is accepted.
 * A length that is not a multiple of 3073, an empty file or a label above 9
 * is DDGAN_ERR_FORMAT naming the file (and the record).
 */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define CIFAR_MAX_FILES 1024

/* The batch files of a folder: <dir>/<name> or <dir>/cifar-10-batches-bin/<name>. */
static ddgan_status_t folder_files(const char *dir, int split, char **files, size_t *count)
{
    static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const test[] = {"test_batch.bin"};
    const char *const *names = split == DDGAN_DATA_SPLIT_TEST ? test : train;
    size_t n = split == DDGAN_DATA_SPLIT_TEST ? 1 : 5;
    char *base = NULL;
    char *probe = ddgan__data_join(dir, names[0]);
    if (!probe)
        return DDGAN_ERR_OUT_OF_MEMORY;
    if (ddgan__data_path_kind(probe) != 0) {
        char *sub = ddgan__data_join(dir, "cifar-10-batches-bin");
        if (!sub) {
            ddgan__free(probe);
            return DDGAN_ERR_OUT_OF_MEMORY;
        }
        if (ddgan__data_path_kind(sub) == 1)
            base = sub;
        else
            ddgan__free(sub);
    }
    ddgan__free(probe);
    const char *root = base ? base : dir;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        files[i] = ddgan__data_join(root, names[i]);
        if (!files[i]) {
            ddgan__free(base);
            return DDGAN_ERR_OUT_OF_MEMORY;
        }
        *count = i + 1;
        if (ddgan__data_path_kind(files[i]) != 0) {
            ddgan_status_t st = DDGAN_ERR(DDGAN_ERR_IO, "cifar10: %s: missing (a CIFAR-10 folder holds "
                                          "%s, directly or in cifar-10-batches-bin/)", files[i],
                                          split == DDGAN_DATA_SPLIT_TEST ? "test_batch.bin"
                                                                         : "data_batch_1..5.bin");
            ddgan__free(base);
            return st;
        }
    }
    ddgan__free(base);
    return DDGAN_OK;
}

ddgan_status_t ddgan__data_open_cifar10(ddgan_data_source **out, const ddgan_data_config *cfg,
                                        const char *fn)
{
    *out = NULL;
    char *owned[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t nowned = 0;
    const char *const *list;
    size_t nfiles;
    ddgan_status_t st = DDGAN_OK;
    if (cfg->paths && cfg->num_paths > 0) {
        if (cfg->num_paths > CIFAR_MAX_FILES)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %zu CIFAR-10 files, at most %d", fn,
                             cfg->num_paths, CIFAR_MAX_FILES);
        for (size_t i = 0; i < cfg->num_paths; i++)
            if (!cfg->paths[i])
                return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: paths[%zu] is NULL", fn, i);
        list = cfg->paths;
        nfiles = cfg->num_paths;
    } else if (cfg->path) {
        int kind = ddgan__data_path_kind(cfg->path);
        if (kind == 1) {
            st = folder_files(cfg->path, cfg->split, owned, &nowned);
            list = (const char *const *)owned;
            nfiles = nowned;
        } else {
            list = &cfg->path;
            nfiles = 1;
        }
    } else {
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: CIFAR-10 needs a path (a folder or a batch "
                         "file) or a list of batch files", fn);
    }

    uint8_t **bufs = NULL;
    size_t *lens = NULL;
    uint64_t total = 0;
    ddgan_data_source *s = NULL;
    if (st == DDGAN_OK) {
        bufs = ddgan__calloc(nfiles, sizeof *bufs, "cifar10: file buffers");
        lens = ddgan__calloc(nfiles, sizeof *lens, "cifar10: file lengths");
        if (!bufs || !lens)
            st = DDGAN_ERR_OUT_OF_MEMORY;
    }
    for (size_t f = 0; st == DDGAN_OK && f < nfiles; f++) {
        st = ddgan__data_read_file("cifar10", list[f], DDGAN_DATA_MAX_BYTES, &bufs[f], &lens[f]);
        if (st != DDGAN_OK)
            break;
        if (lens[f] == 0 || lens[f] % CIFAR_RECORD != 0) {
            st = DDGAN_ERR(DDGAN_ERR_FORMAT, "cifar10: %s: %zu bytes is not a whole number of %d-byte "
                           "records (1 label byte + 3x32x32 pixels)%s", list[f], lens[f], CIFAR_RECORD,
                           lens[f] == 0 ? " (empty file)" : "");
            break;
        }
        size_t recs = lens[f] / CIFAR_RECORD;
        for (size_t r = 0; r < recs; r++) {
            uint8_t lab = bufs[f][r * CIFAR_RECORD];
            if (lab > 9) {
                st = DDGAN_ERR(DDGAN_ERR_FORMAT, "cifar10: %s: record %zu has label %u; CIFAR-10 labels "
                               "are 0..9", list[f], r, (unsigned)lab);
                break;
            }
        }
        total += recs;
        if (st == DDGAN_OK && total > (uint64_t)DDGAN_DATA_MAX_EXAMPLES)
            st = DDGAN_ERR(DDGAN_ERR_FORMAT, "cifar10: %s: more than %" PRId64 " records in all", list[f],
                           DDGAN_DATA_MAX_EXAMPLES);
    }
    int64_t n = (int64_t)total;
    if (cfg->num_examples > 0 && cfg->num_examples < n)
        n = cfg->num_examples;
    if (st == DDGAN_OK)
        st = ddgan__data_source_new(&s, DDGAN_SRC_U8);
    if (st == DDGAN_OK) {
        s->n = n;
        s->c = 3;
        s->h = s->w = CIFAR_SIDE;
        s->pixels = ddgan__malloc((size_t)n * CIFAR_PIXELS, "cifar10: pixels");
        s->labels = ddgan__malloc((size_t)n * sizeof(int64_t), "cifar10: labels");
        if (!s->pixels || !s->labels)
            st = DDGAN_ERR_OUT_OF_MEMORY;
    }
    if (st == DDGAN_OK) {
        int64_t k = 0;
        for (size_t f = 0; f < nfiles && k < n; f++) {
            size_t recs = lens[f] / CIFAR_RECORD;
            for (size_t r = 0; r < recs && k < n; r++, k++) {
                const uint8_t *rec = bufs[f] + r * CIFAR_RECORD;
                s->labels[k] = rec[0];
                memcpy(s->pixels + (size_t)k * CIFAR_PIXELS, rec + 1, CIFAR_PIXELS);
            }
        }
    }
    if (bufs)
        for (size_t f = 0; f < nfiles; f++)
            ddgan__free(bufs[f]);
    ddgan__free(bufs);
    ddgan__free(lens);
    if (st == DDGAN_OK)
        st = ddgan__data_u8_transform(s, cfg, list[0]);
    for (size_t i = 0; i < nowned; i++)
        ddgan__free(owned[i]);
    if (st != DDGAN_OK) {
        ddgan__data_source_free(s);
        return st;
    }
    *out = s;
    return DDGAN_OK;
}
