/* A small ToyMLP training set-up (context, G, D, schedule, trainer) shared by
 * the hardening tests (OOM injection, crash safety, threads): fast enough to
 * create, step and save thousands of times under ASan. */
#ifndef DDGAN_TOY_RIG_H
#define DDGAN_TOY_RIG_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

#define TR_BATCH 8

typedef struct tr_rig {
    ddgan_context_t ctx;
    ddgan_schedule_t s;
    ddgan_generator_t g;
    ddgan_discriminator_t d;
    ddgan_trainer_t tr;
} tr_rig;

/* Creates everything (context on "ref" with `num_threads`, seed `seed`). On
 * failure returns the status (message set) and leaves *r all NULL. */
ddgan_status_t tr_rig_make(tr_rig *r, uint64_t seed, int num_threads);
void tr_rig_free(tr_rig *r);
/* Deterministic batch for a step: TR_BATCH points of a 2-D mixture. */
void tr_rig_batch(int64_t step, float *x);
/* Steps from the trainer's global step up to `to` on tr_rig_batch data. */
ddgan_status_t tr_rig_run_to(tr_rig *r, int64_t to);
/* FNV-1a over every parameter of G and D and the global step. */
uint64_t tr_rig_hash(const tr_rig *r);

#endif
