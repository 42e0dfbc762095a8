/* Checkpoint extras: loader position and caller metadata (ckpt_extras.h). */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/dataset.h"
#include "train/ckpt_extras.h"

/* Metadata keys the checkpoint formats write themselves. */
static const char *const g_reserved[] = {"format", "config", "D_config", "trainer_config", "schedule",
                                         "library"};

void ddgan__ckpt_extras_free(ddgan_ckpt_extras *e)
{
    for (int i = 0; i < e->n_meta; i++) {
        ddgan__free(e->keys[i]);
        ddgan__free(e->values[i]);
    }
    e->n_meta = 0;
    e->ds = NULL;
}

ddgan_status_t ddgan__ckpt_extras_attach(ddgan_ckpt_extras *e, ddgan_dataset_t ds, const char *fn)
{
    if (ds)
        DDGAN_TRY(ddgan__data_check(ds, fn));
    e->ds = ds;
    return DDGAN_OK;
}

static char *dup_str(const char *s, const char *fn)
{
    const size_t n = strlen(s) + 1;
    char *d = ddgan__malloc(n, fn);
    if (d)
        memcpy(d, s, n);
    return d;
}

ddgan_status_t ddgan__ckpt_extras_set_metadata(ddgan_ckpt_extras *e, const char *key, const char *value,
                                               const char *fn)
{
    if (!key || !*key)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: key is NULL or empty", fn);
    for (size_t i = 0; i < sizeof g_reserved / sizeof g_reserved[0]; i++)
        if (!strcmp(key, g_reserved[i]))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "%s: metadata key '%s' is written by the checkpoint format itself", fn, key);
    int at = -1;
    for (int i = 0; i < e->n_meta; i++)
        if (!strcmp(e->keys[i], key))
            at = i;
    if (!value) { /* removal */
        if (at >= 0) {
            ddgan__free(e->keys[at]);
            ddgan__free(e->values[at]);
            for (int i = at + 1; i < e->n_meta; i++) {
                e->keys[i - 1] = e->keys[i];
                e->values[i - 1] = e->values[i];
            }
            e->n_meta--;
        }
        return DDGAN_OK;
    }
    if (at < 0 && e->n_meta == DDGAN_CKPT_MAX_METADATA)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: at most %d metadata strings", fn,
                         DDGAN_CKPT_MAX_METADATA);
    char *v = dup_str(value, fn);
    if (!v)
        return DDGAN_ERR_OUT_OF_MEMORY;
    if (at >= 0) {
        ddgan__free(e->values[at]);
        e->values[at] = v;
        return DDGAN_OK;
    }
    char *k = dup_str(key, fn);
    if (!k) {
        ddgan__free(v);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    e->keys[e->n_meta] = k;
    e->values[e->n_meta] = v;
    e->n_meta++;
    return DDGAN_OK;
}

ddgan_status_t ddgan__ckpt_extras_write(ddgan_ckpt_extras *e, ddgan_st_writer *w)
{
    ddgan_status_t st = DDGAN_OK;
    if (e->ds) {
        st = ddgan_dataset_get_state(e->ds, e->saving, DDGAN_DATASET_STATE_LEN);
        const int64_t shape[1] = {DDGAN_DATASET_STATE_LEN};
        if (st == DDGAN_OK)
            st = ddgan__st_writer_add(w, "data.state", DDGAN_ST_I64, shape, 1, e->saving);
    }
    for (int i = 0; st == DDGAN_OK && i < e->n_meta; i++)
        st = ddgan__st_writer_add_metadata(w, e->keys[i], e->values[i]);
    return st;
}

ddgan_status_t ddgan__ckpt_extras_read(const ddgan_ckpt_extras *e, const ddgan_st_file *f,
                                       ddgan_ckpt_data_state *out, const char *fn)
{
    memset(out, 0, sizeof *out);
    /* A checkpoint written without a loader keeps the attached one where it is. */
    if (!e->ds || !ddgan__st_find(f, "data.state"))
        return DDGAN_OK;
    ddgan_status_t st = ddgan__st_read_i64(f, "data.state", out->state, DDGAN_DATASET_STATE_LEN);
    if (st != DDGAN_OK)
        return ddgan__error_prefix(st, "%s", fn);
    out->present = 1;
    return DDGAN_OK;
}

ddgan_status_t ddgan__ckpt_extras_apply(const ddgan_ckpt_extras *e, const ddgan_ckpt_data_state *ds,
                                        ddgan_ckpt_data_state *old, const char *fn)
{
    memset(old, 0, sizeof *old);
    if (!e->ds || !ds->present)
        return DDGAN_OK;
    DDGAN_TRY(ddgan_dataset_get_state(e->ds, old->state, DDGAN_DATASET_STATE_LEN));
    old->present = 1;
    ddgan_status_t st = ddgan_dataset_set_state(e->ds, ds->state, DDGAN_DATASET_STATE_LEN);
    return st == DDGAN_OK ? st
                          : ddgan__error_prefix(st, "%s: the checkpoint's data-loader position does not fit "
                                                    "the attached dataset",
                                                fn);
}

void ddgan__ckpt_extras_undo(const ddgan_ckpt_extras *e, const ddgan_ckpt_data_state *old)
{
    if (e->ds && old->present)
        (void)ddgan_dataset_set_state(e->ds, old->state, DDGAN_DATASET_STATE_LEN);
}
