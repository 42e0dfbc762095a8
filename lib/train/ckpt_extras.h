/*
 * What a training program adds to a trainer checkpoint beyond the trainer's
 * own state (docs/training.md, "Checkpoint extras"): the position of an
 * attached data loader (tensor "data.state", so a resumed run sees the same
 * batches as an uninterrupted one) and caller metadata strings (e.g. the
 * `ddgan` tool's run description). Shared by the DDGAN and DDPM trainers.
 */
#ifndef DDGAN_TRAIN_CKPT_EXTRAS_H
#define DDGAN_TRAIN_CKPT_EXTRAS_H

#include "ddgan/ddgan.h"
#include "io/safetensors.h"

#define DDGAN_CKPT_MAX_METADATA 16

typedef struct ddgan_ckpt_extras {
    ddgan_dataset_t ds; /* borrowed; NULL: none attached */
    int n_meta;
    char *keys[DDGAN_CKPT_MAX_METADATA];
    char *values[DDGAN_CKPT_MAX_METADATA];
    /* the position being written: the writer keeps a pointer until it writes */
    int64_t saving[DDGAN_DATASET_STATE_LEN];
} ddgan_ckpt_extras;

/* A restored loader position, read and checked before anything changes. */
typedef struct ddgan_ckpt_data_state {
    int present;
    int64_t state[DDGAN_DATASET_STATE_LEN];
} ddgan_ckpt_data_state;

void ddgan__ckpt_extras_free(ddgan_ckpt_extras *e);

/* Attaches ds (checked; NULL detaches): its position is saved and restored
 * with the checkpoints. */
ddgan_status_t ddgan__ckpt_extras_attach(ddgan_ckpt_extras *e, ddgan_dataset_t ds, const char *fn);

/* Sets (or replaces; value NULL removes) a metadata string. Keys the
 * checkpoint formats use themselves are refused. */
ddgan_status_t ddgan__ckpt_extras_set_metadata(ddgan_ckpt_extras *e, const char *key, const char *value,
                                               const char *fn);

/* Adds "data.state" (when a dataset is attached) and the metadata strings. */
ddgan_status_t ddgan__ckpt_extras_write(ddgan_ckpt_extras *e, ddgan_st_writer *w);

/* Reads "data.state" when a dataset is attached and the file has one; its
 * consistency with the dataset is checked by ddgan__ckpt_extras_apply. */
ddgan_status_t ddgan__ckpt_extras_read(const ddgan_ckpt_extras *e, const ddgan_st_file *f,
                                       ddgan_ckpt_data_state *out, const char *fn);

/* Moves the attached dataset to the restored position; `old` receives the
 * previous one so that a later failure can undo it (ddgan__ckpt_extras_undo). */
ddgan_status_t ddgan__ckpt_extras_apply(const ddgan_ckpt_extras *e, const ddgan_ckpt_data_state *ds,
                                        ddgan_ckpt_data_state *old, const char *fn);
void ddgan__ckpt_extras_undo(const ddgan_ckpt_extras *e, const ddgan_ckpt_data_state *old);

#endif
