/* Dataset handles: configuration, opening, closing and accessors (docs/data.md). */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static const char *const k_kind_names[DDGAN_DATA_KIND_COUNT] = {
    [DDGAN_DATA_IDX] = "IDX",           [DDGAN_DATA_STACKED_MNIST] = "StackedMNIST",
    [DDGAN_DATA_CIFAR10] = "CIFAR-10",  [DDGAN_DATA_IMAGE_FOLDER] = "image folder",
    [DDGAN_DATA_GRID25] = "25-Gaussian grid", [DDGAN_DATA_RING8] = "8-Gaussian ring",
};

void ddgan__data_config_defaults(ddgan_data_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = DDGAN_DATA_IDX;
    cfg->split = DDGAN_DATA_SPLIT_TRAIN;
    cfg->resize = DDGAN_DATA_RESIZE_BILINEAR;
    cfg->shuffle = 1;
}

static ddgan_status_t flag(int v, const char *name, const char *fn)
{
    if (v != 0 && v != 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s %d must be 0 or 1", fn, name, v);
    return DDGAN_OK;
}

static ddgan_status_t validate(const ddgan_data_config *c, const char *fn)
{
    if (c->kind < 0 || c->kind >= DDGAN_DATA_KIND_COUNT)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: kind %d is not a dataset kind (0..%d)", fn,
                         c->kind, DDGAN_DATA_KIND_COUNT - 1);
    const char *kn = k_kind_names[c->kind];
    if (c->split != DDGAN_DATA_SPLIT_TRAIN && c->split != DDGAN_DATA_SPLIT_TEST)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: split %d must be 0 (train) or 1 (test)", fn,
                         c->split);
    if (c->channels != 0 && c->channels != 1 && c->channels != 3)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: channels %d must be 0 (the source's), 1 or 3",
                         fn, c->channels);
    if (c->image_size < 0 || c->image_size > DDGAN_DATA_MAX_SIDE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: image_size %d not in [0, %d]", fn,
                         c->image_size, DDGAN_DATA_MAX_SIDE);
    if (c->resize != DDGAN_DATA_RESIZE_BILINEAR && c->resize != DDGAN_DATA_RESIZE_AREA)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: resize %d must be 0 (bilinear) or 1 (area)",
                         fn, c->resize);
    if (c->pad < 0 || c->pad > DDGAN_DATA_MAX_PAD)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: pad %d not in [0, %d]", fn, c->pad,
                         DDGAN_DATA_MAX_PAD);
    DDGAN_TRY(flag(c->hflip, "hflip", fn));
    DDGAN_TRY(flag(c->shuffle, "shuffle", fn));
    DDGAN_TRY(flag(c->lazy, "lazy", fn));
    DDGAN_TRY(flag(c->transpose, "transpose", fn));
    if (c->num_examples < 0 || c->num_examples > DDGAN_DATA_MAX_EXAMPLES)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: num_examples %" PRId64 " not in [0, %" PRId64
                         "]", fn, c->num_examples, DDGAN_DATA_MAX_EXAMPLES);
    if (c->paths == NULL && c->num_paths > 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: num_paths is %zu but paths is NULL", fn,
                         c->num_paths);
    const int mixture = c->kind == DDGAN_DATA_GRID25 || c->kind == DDGAN_DATA_RING8;
    if (mixture) {
        if (c->pad || c->hflip || c->channels || c->image_size)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: pad, hflip, channels and image_size do "
                             "not apply to 2-D data (%s)", fn, kn);
    } else if (c->sigma != 0.0 || c->radius != 0.0) {
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: sigma and radius apply to the 2-D mixtures, "
                         "not to %s data", fn, kn);
    }
    if (c->lazy && c->kind != DDGAN_DATA_IMAGE_FOLDER)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: lazy applies to image folders, not to %s data",
                         fn, kn);
    if (c->paths && c->num_paths > 0 && c->kind != DDGAN_DATA_CIFAR10 &&
        c->kind != DDGAN_DATA_IMAGE_FOLDER)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: a list of paths applies to CIFAR-10 and image "
                         "folders, not to %s data", fn, kn);
    return DDGAN_OK;
}

ddgan_status_t ddgan__data_check(const struct ddgan_dataset *ds, const char *fn)
{
    if (!ds)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: dataset is NULL", fn);
    if (ds->magic != DDGAN_MAGIC_DATASET)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: invalid dataset handle (destroyed, or not a dataset)", fn);
    return DDGAN_OK;
}

ddgan_status_t ddgan__data_open(struct ddgan_dataset **out, const ddgan_data_config *cfg,
                                const char *fn)
{
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    if (!cfg)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: cfg is NULL", fn);
    DDGAN_TRY(validate(cfg, fn));
    ddgan_data_source *src = NULL;
    switch ((ddgan_data_kind)cfg->kind) {
    case DDGAN_DATA_IDX: DDGAN_TRY(ddgan__data_open_idx(&src, cfg, fn)); break;
    case DDGAN_DATA_STACKED_MNIST: DDGAN_TRY(ddgan__data_open_stacked(&src, cfg, fn)); break;
    case DDGAN_DATA_CIFAR10: DDGAN_TRY(ddgan__data_open_cifar10(&src, cfg, fn)); break;
    case DDGAN_DATA_IMAGE_FOLDER: DDGAN_TRY(ddgan__data_open_image_folder(&src, cfg, fn)); break;
    case DDGAN_DATA_GRID25:
    case DDGAN_DATA_RING8: DDGAN_TRY(ddgan__data_open_mixture(&src, cfg, fn)); break;
    case DDGAN_DATA_KIND_COUNT: break;
    }
    if (!src)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "%s: no source for kind %d", fn, cfg->kind);
    struct ddgan_dataset *ds = ddgan__calloc(1, sizeof *ds, "dataset: handle");
    if (!ds) {
        ddgan__data_source_free(src);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    ds->src = src;
    ds->n = src->n;
    ds->c = src->c;
    ds->src_h = src->h;
    ds->src_w = src->w;
    ds->pad = cfg->pad;
    ds->h = src->h + 2 * cfg->pad;
    ds->w = src->w + 2 * cfg->pad;
    ds->hflip = cfg->hflip;
    ds->shuffle = cfg->shuffle;
    ds->seed = cfg->seed;
    ds->perm_epoch = -1;
    ds->scratch = ddgan__malloc((size_t)src->c * (size_t)src->h * (size_t)src->w * sizeof(float),
                                "dataset: example buffer");
    if (ds->scratch && ds->shuffle)
        ds->perm = ddgan__malloc((size_t)ds->n * sizeof(uint32_t), "dataset: permutation");
    if (!ds->scratch || (ds->shuffle && !ds->perm)) {
        ddgan__data_close(ds);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    ds->magic = DDGAN_MAGIC_DATASET;
    *out = ds;
    return DDGAN_OK;
}

void ddgan__data_close(struct ddgan_dataset *ds)
{
    if (!ds)
        return;
    ds->magic = 0;
    ddgan__data_source_free(ds->src);
    ddgan__free(ds->perm);
    ddgan__free(ds->scratch);
    ddgan__free(ds);
}

int64_t ddgan__data_size(const struct ddgan_dataset *ds) { return ds->n; }

void ddgan__data_shape(const struct ddgan_dataset *ds, int *c, int *h, int *w)
{
    if (c)
        *c = ds->c;
    if (h)
        *h = ds->h;
    if (w)
        *w = ds->w;
}

int64_t ddgan__data_batches_per_epoch(const struct ddgan_dataset *ds, size_t batch)
{
    if (batch == 0 || batch > (size_t)ds->n)
        return 0;
    return ds->n / (int64_t)batch;
}
