/* The trainer (reference section 5): private layout shared by the step,
 * the checkpoint code and the public API. */
#ifndef DDGAN_TRAIN_TRAINER_H
#define DDGAN_TRAIN_TRAINER_H

#include "diffusion/schedule.h"
#include "train/ckpt_extras.h"
#include "train/netops.h"

#define DDGAN_MAGIC_TRAINER 0x54474444u /* "DDGT" */
/* Each step draws from its own Philox stream of the trainer seed:
 * DDGAN_STREAM_TRAIN_BASE + global_step (docs/rng.md), so a resumed run
 * draws exactly what an uninterrupted one would. */
#define DDGAN_STREAM_TRAIN_BASE ((uint64_t)1 << 40)

struct ddgan_trainer {
    uint32_t magic;
    ddgan_context_t ctx;
    ddgan_generator_t g;
    ddgan_discriminator_t d;
    ddgan_schedule_t s;
    ddgan_trainer_config cfg;
    size_t n_g, n_d; /* elements of the flat parameter buffers */
    /* device state */
    void *g_m, *g_v, *d_m, *d_v, *g_ema;
    void *d_bak, *d_m_bak, *d_v_bak; /* D before its Adam step (undone if G's half fails) */
    ddgan_arena arena;               /* activations of a whole step, planned at create */
    /* counters */
    int64_t global_step;
    int64_t adam_step_g, adam_step_d; /* successful optimizer steps */
    int64_t skipped;
    int ema_ready;
    /* host scratch, sized for cfg.batch_size at create */
    int64_t *t_d, *t_g;
    float *host_vec; /* 8 * batch floats: coefficients, logits, gradients */
    /* example shape */
    int c, h, w, nz;
    double data_scale; /* toy data: data units per diffusion unit */
    ddgan_ckpt_extras extras; /* attached loader, caller metadata (checkpoints) */
};

/* One iteration; draws may be NULL. */
ddgan_status_t ddgan__trainer_step(struct ddgan_trainer *tr, const float *x0, int batch,
                                   const ddgan_step_draws *draws, ddgan_step_stats *stats);

/* Learning rate of the given base at the trainer's current epoch. */
double ddgan__trainer_lr(const struct ddgan_trainer *tr, double base);

/* Plans the arena for a step of `batch` (dry run) and allocates it. */
ddgan_status_t ddgan__trainer_plan(struct ddgan_trainer *tr, int batch);

ddgan_status_t ddgan__trainer_save(struct ddgan_trainer *tr, const char *path);
ddgan_status_t ddgan__trainer_load(struct ddgan_trainer *tr, const char *path);

#endif
