/*
 * What the public entry points of the two trainers (trainer_api.c: DDGAN,
 * ddpm_api.c: the DDPM baseline) do alike: release a handle, create its
 * zero-filled device buffers, check a step's arguments and hand out the EMA
 * generator. Written once so that both APIs keep the same rules and
 * messages.
 */
#ifndef DDGAN_API_TRAINER_COMMON_H
#define DDGAN_API_TRAINER_COMMON_H

#include "backend/backend_impl.h"
#include "core/context.h"
#include "train/ckpt_extras.h"

/* The part of a destroy both trainers share: frees the device buffers that
 * exist (NULL entries are skipped), drops the trainer from its context's
 * live handles and frees the checkpoint extras. */
void ddgan__trainer_release(ddgan_context_t ctx, void *const *bufs, int n, ddgan_ckpt_extras *extras);

/* A device buffer of n float32 zeros (Adam moments, EMA weights, backups). */
ddgan_status_t ddgan__trainer_zeroed(ddgan_backend *be, size_t n, void **out);

/* x0 present and batch in [1, batch_size] (the trainer's). */
ddgan_status_t ddgan__trainer_check_step(const float *x0, size_t batch, int batch_size, const char *fn);

/* *out = a new generator with g's config and the n weights at src (device:
 * the EMA weights, or g's own before the first step); DDGAN_ERR_UNSUPPORTED
 * unless use_ema. *out is NULL on failure. */
ddgan_status_t ddgan__trainer_ema_generator(ddgan_generator_t *out, ddgan_generator_t g, int use_ema,
                                            const void *src, size_t n, const char *fn);

#endif
