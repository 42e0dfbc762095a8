/* Public entry points: datasets and the data loader (docs/data.md). The work
 * is done in lib/data; this file checks arguments and maps the public config. */
#include <string.h>

#include "core/error.h"
#include "core/struct_io.h"
#include "data/dataset.h"

#define SAME(a, b) ((int)(a) == (int)(b))
_Static_assert(SAME(DDGAN_DATASET_IDX, DDGAN_DATA_IDX) &&
                   SAME(DDGAN_DATASET_STACKED_MNIST, DDGAN_DATA_STACKED_MNIST) &&
                   SAME(DDGAN_DATASET_CIFAR10, DDGAN_DATA_CIFAR10) &&
                   SAME(DDGAN_DATASET_IMAGE_FOLDER, DDGAN_DATA_IMAGE_FOLDER) &&
                   SAME(DDGAN_DATASET_GRID25, DDGAN_DATA_GRID25) && SAME(DDGAN_DATASET_RING8, DDGAN_DATA_RING8),
               "public and internal dataset kinds agree");
_Static_assert(SAME(DDGAN_DATASET_TEST, DDGAN_DATA_SPLIT_TEST) && SAME(DDGAN_RESIZE_AREA, DDGAN_DATA_RESIZE_AREA) &&
                   SAME(DDGAN_DATASET_STATE_LEN, DDGAN_DATA_STATE_LEN),
               "public and internal dataset constants agree");
#undef SAME

static const ddgan_dataset_config g_dataset_defaults = {
    .struct_size = sizeof(ddgan_dataset_config),
    .kind = DDGAN_DATASET_IDX,
    .split = DDGAN_DATASET_TRAIN,
    .resize = DDGAN_RESIZE_BILINEAR,
    .shuffle = 1,
};

DDGAN_API ddgan_status_t ddgan_dataset_config_init(ddgan_dataset_config *cfg, size_t struct_size)
{
    return ddgan__struct_init(cfg, struct_size, &g_dataset_defaults, sizeof g_dataset_defaults,
                              "ddgan_dataset_config_init");
}

static void to_internal(const ddgan_dataset_config *p, ddgan_data_config *c)
{
    ddgan__data_config_defaults(c);
    c->kind = p->kind;
    c->path = p->path;
    c->labels_path = p->labels_path;
    c->paths = p->paths;
    c->num_paths = p->num_paths;
    c->idx_prefix = p->idx_prefix;
    c->split = p->split;
    c->transpose = p->transpose;
    c->channels = p->channels;
    c->image_size = p->image_size;
    c->resize = p->resize;
    c->lazy = p->lazy;
    c->pad = p->pad;
    c->hflip = p->hflip;
    c->shuffle = p->shuffle;
    c->seed = p->seed;
    c->data_seed = p->data_seed;
    c->num_examples = p->num_examples;
    c->radius = p->radius;
    c->sigma = p->sigma;
}

DDGAN_API ddgan_status_t ddgan_dataset_open(ddgan_dataset_t *out, const ddgan_dataset_config *cfg)
{
    static const char fn[] = "ddgan_dataset_open";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    ddgan_dataset_config p = g_dataset_defaults;
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&p, sizeof p, cfg, fn, "cfg"));
    ddgan_data_config c;
    to_internal(&p, &c);
    /* argument messages start with fn; file messages name the reader and the file */
    return ddgan__data_open(out, &c, fn);
}

DDGAN_API void ddgan_dataset_destroy(ddgan_dataset_t ds)
{
    if (ds && ds->magic == DDGAN_MAGIC_DATASET)
        ddgan__data_close(ds);
}

DDGAN_API int64_t ddgan_dataset_size(ddgan_dataset_t ds)
{
    return ddgan__data_check(ds, "ddgan_dataset_size") == DDGAN_OK ? ddgan__data_size(ds) : 0;
}

DDGAN_API ddgan_status_t ddgan_dataset_shape(ddgan_dataset_t ds, int *channels, int *height, int *width)
{
    DDGAN_TRY(ddgan__data_check(ds, "ddgan_dataset_shape"));
    ddgan__data_shape(ds, channels, height, width);
    return DDGAN_OK;
}

DDGAN_API int64_t ddgan_dataset_batches_per_epoch(ddgan_dataset_t ds, size_t batch)
{
    if (ddgan__data_check(ds, "ddgan_dataset_batches_per_epoch") != DDGAN_OK)
        return 0;
    return ddgan__data_batches_per_epoch(ds, batch);
}

DDGAN_API ddgan_status_t ddgan_dataset_get(ddgan_dataset_t ds, int64_t index, float *out, int64_t *label)
{
    return ddgan__data_get(ds, index, out, label, "ddgan_dataset_get");
}

DDGAN_API ddgan_status_t ddgan_dataset_next_batch(ddgan_dataset_t ds, size_t batch, float *out,
                                                  int64_t *labels)
{
    return ddgan__data_next_batch(ds, batch, out, labels, "ddgan_dataset_next_batch");
}

DDGAN_API ddgan_status_t ddgan_dataset_get_position(ddgan_dataset_t ds, int64_t *epoch, int64_t *index)
{
    DDGAN_TRY(ddgan__data_check(ds, "ddgan_dataset_get_position"));
    ddgan__data_get_position(ds, epoch, index);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_dataset_set_position(ddgan_dataset_t ds, int64_t epoch, int64_t index)
{
    return ddgan__data_set_position(ds, epoch, index, "ddgan_dataset_set_position");
}

DDGAN_API ddgan_status_t ddgan_dataset_get_state(ddgan_dataset_t ds, int64_t *out, size_t n)
{
    static const char fn[] = "ddgan_dataset_get_state";
    DDGAN_TRY(ddgan__data_check(ds, fn));
    if (!out || n != DDGAN_DATASET_STATE_LEN)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out must hold %d values (n = %zu)", fn,
                         DDGAN_DATASET_STATE_LEN, n);
    ddgan__data_get_state(ds, out);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_dataset_set_state(ddgan_dataset_t ds, const int64_t *state, size_t n)
{
    static const char fn[] = "ddgan_dataset_set_state";
    DDGAN_TRY(ddgan__data_check(ds, fn));
    if (!state || n != DDGAN_DATASET_STATE_LEN)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: state must hold %d values (n = %zu)", fn,
                         DDGAN_DATASET_STATE_LEN, n);
    return ddgan__data_set_state(ds, state, fn);
}
