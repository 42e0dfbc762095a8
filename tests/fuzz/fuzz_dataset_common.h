/* Opens a dataset on the scratch file and serves from it: what a user's
 * ddgan_dataset_open + training loop would do with a hostile file. */
#ifndef DDGAN_FUZZ_DATASET_COMMON_H
#define DDGAN_FUZZ_DATASET_COMMON_H

#include <stdlib.h>

#include "fuzz_common.h"

static inline void fz_dataset_exercise(const ddgan_dataset_config *cfg, const char *what)
{
    ddgan_dataset_t ds = NULL;
    ddgan_status_t st = ddgan_dataset_open(&ds, cfg);
    fz_check_failure(st, what);
    if (st != DDGAN_OK) {
        FZ_ASSERT(ds == NULL, "failed open leaves *out NULL");
        return;
    }
    int c = 0, h = 0, w = 0;
    FZ_ASSERT(ddgan_dataset_shape(ds, &c, &h, &w) == DDGAN_OK, "shape");
    const int64_t n = ddgan_dataset_size(ds);
    FZ_ASSERT(n >= 1 && c >= 1 && h >= 1 && w >= 1, "an opened dataset is non-empty");
    const size_t per = (size_t)c * (size_t)h * (size_t)w;
    const size_t batch = n >= 2 ? 2 : 1;
    float *buf = malloc(batch * per * sizeof(float));
    int64_t labels[2];
    FZ_ASSERT(buf != NULL, "harness allocation");
    FZ_ASSERT(ddgan_dataset_get(ds, n - 1, buf, labels) == DDGAN_OK, "get(last)");
    for (size_t i = 0; i < per; i++)
        FZ_ASSERT(buf[i] >= -1.0f && buf[i] <= 1.0f, "pixels in [-1, 1]");
    for (int k = 0; k < 3; k++)
        FZ_ASSERT(ddgan_dataset_next_batch(ds, batch, buf, labels) == DDGAN_OK, "next_batch");
    free(buf);
    ddgan_dataset_destroy(ds);
}

#endif
