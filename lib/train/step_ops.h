/*
 * The per-example pieces both training steps use (the DDGAN step,
 * train/trainer_step.c, and the DDPM step, train/ddpm.c): their draws from
 * the step's Philox stream, host-to-device per-example vectors, the
 * per-example weighted sum, gradient norms and frozen-parameter masking. Kept
 * in one place so that the two trainers' draw layouts and float32 operation
 * order cannot drift apart.
 *
 * Every function follows the planning convention of nn/exec.h: while the
 * arena is planning, allocations are counted and nothing is uploaded, drawn
 * or computed (the stream position still advances).
 */
#ifndef DDGAN_TRAIN_STEP_OPS_H
#define DDGAN_TRAIN_STEP_OPS_H

#include <stdint.h>

#include "nn/exec.h"
#include "nn/params.h"

/* What one step's helpers share: the exec they allocate and compute in (a
 * trainer may switch it between networks), the batch and the step's stream. */
typedef struct ddgan_step_ctx {
    ddgan_exec *ex;
    ddgan_backend *be;
    int B;
    int planning;
    uint64_t seed, stream, block; /* the step's Philox stream and next block */
} ddgan_step_ctx;

/* t: a [B, c, h, w] tensor in the arena. */
ddgan_status_t ddgan__step_alloc(ddgan_step_ctx *c, ddgan_tensor *t, int ch, int h, int w);

/* Time indices, uniform integers in [0, T) from the step's stream; `given`
 * (replay) replaces them after the draw, checked, an error naming `who`. */
ddgan_status_t ddgan__step_draw_t(ddgan_step_ctx *c, int T, int64_t *t, const int64_t *given,
                                  const char *who);

/* A normal draw of t's shape: given (replay) or from the step's stream. The
 * stream position advances either way. */
ddgan_status_t ddgan__step_draw_normal(ddgan_step_ctx *c, ddgan_tensor *t, const float *given);

/* A per-example vector [B] uploaded from the host. */
ddgan_status_t ddgan__step_upload_vec(ddgan_step_ctx *c, ddgan_tensor *v, const float *host);

/* out = a[b] * x + k[b] * y per example ((a x) + (k y) in float32, as the
 * official code); out is allocated here. */
ddgan_status_t ddgan__step_scale2(ddgan_step_ctx *c, const ddgan_tensor *x, const ddgan_tensor *a,
                                  const ddgan_tensor *y, const ddgan_tensor *k, ddgan_tensor *out);

/* Sum of squares of a flat device buffer of n floats (host value; 0 while planning). */
ddgan_status_t ddgan__step_sumsq(ddgan_step_ctx *c, const void *x, size_t n, double *out);

/* Zeroes the gradients of frozen parameters (the Fourier embedding's W), so
 * the flat Adam/EMA updates leave them unchanged. */
ddgan_status_t ddgan__step_clear_frozen(ddgan_step_ctx *c, const ddgan_param_table *pt, char *grads);

/* A step's planning dry run in the trainer's arena a: begin, run the step,
 * then end with its status. When the dry run succeeded the arena becomes at
 * least its peak (reallocated only when it grows); either way it leaves
 * planning mode. */
void ddgan__step_plan_begin(ddgan_arena *a);
ddgan_status_t ddgan__step_plan_end(ddgan_arena *a, ddgan_backend *be, ddgan_status_t planned);

#endif
