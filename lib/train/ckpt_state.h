/*
 * The body both trainer checkpoints share (docs/training.md, docs/ddpm.md):
 * per trained network its weights (<prefix><key>), optionally its EMA
 * weights, its flat F32 Adam moments, then one I64 "state.counters" tensor,
 * the caller's metadata, "library" and the checkpoint extras. The DDGAN
 * trainer saves G and D, the DDPM trainer G alone; each keeps its own format
 * string, counters and metadata checks, and describes its state in a
 * ddgan_ckpt_state for the save and load here, so that the two file layouts
 * and the load's all-or-nothing rule cannot drift apart.
 */
#ifndef DDGAN_TRAIN_CKPT_STATE_H
#define DDGAN_TRAIN_CKPT_STATE_H

#include "backend/backend_ops.h"
#include "io/safetensors.h"
#include "nn/params.h"
#include "train/ckpt_extras.h"

#define DDGAN_CKPT_MAX_NETS 2
#define DDGAN_CKPT_MAX_COUNTERS 8

/* One trained network; the device buffers are borrowed. */
typedef struct ddgan_ckpt_net {
    const char *prefix;                /* weights, e.g. "G." */
    const char *ema_prefix;            /* EMA weights ("G_ema."); NULL: the net keeps no EMA */
    const char *exp_avg, *exp_avg_sq;  /* the Adam moments, e.g. "opt.G.exp_avg" */
    const ddgan_param_table *pt;       /* tensor names and shapes */
    size_t n;                          /* elements of each flat buffer */
    void *params, *m, *v, *ema;        /* device */
    int ema_ready;                     /* save: ema holds an average yet (else params stand in) */
} ddgan_ckpt_net;

/* The generator's entry, the same in both trainers' files: weights "G.",
 * EMA weights "G_ema." (when use_ema), moments "opt.G.exp_avg(_sq)". */
ddgan_ckpt_net ddgan__ckpt_net_g(ddgan_generator_t g, size_t n, void *m, void *v, void *ema, int use_ema,
                                 int ema_ready);

typedef struct ddgan_ckpt_state {
    ddgan_backend *be;
    int n_nets;
    ddgan_ckpt_net nets[DDGAN_CKPT_MAX_NETS]; /* in file order */
    /* save: written; load: the file's, set only on success. The last one is
     * the ema_ready flag (0 or 1), the others are counts (>= 0). */
    int n_counters;
    int64_t counters[DDGAN_CKPT_MAX_COUNTERS];
    ddgan_ckpt_extras *extras;
} ddgan_ckpt_state;

/* Writes the checkpoint atomically to path (not NULL: the callers check it
 * first). `meta` holds key, value pairs ending in NULL (the format first);
 * "library" and the extras follow them. Errors are prefixed by fn. */
ddgan_status_t ddgan__ckpt_save(const ddgan_ckpt_state *cs, const char *const *meta, const char *path,
                                const char *fn);

/* Opens path for a load (errors prefixed by fn), for the caller's metadata
 * checks before ddgan__ckpt_load. */
ddgan_status_t ddgan__ckpt_open(ddgan_st_file **f, const char *path, const char *fn);

/* One of those checks: metadata `key` must equal the trainer's `expected`
 * network config, else "<fn>: <path> was written for another <what> config". */
ddgan_status_t ddgan__ckpt_check_config(const ddgan_st_file *f, const char *key, const char *expected,
                                        const char *what, const char *path, const char *fn);

/* Reads and checks every tensor and the extras into host memory, closes f,
 * and only then moves the attached loader and replaces the device state, so
 * a bad file leaves the trainer untouched; the counters land in cs. */
ddgan_status_t ddgan__ckpt_load(ddgan_ckpt_state *cs, ddgan_st_file *f, const char *path, const char *fn);

#endif
