/*
 * Device pieces of the sampling chain (reference 1.7, sample_from_model):
 * the per-sample Philox draw layout and the posterior step as backend
 * elementwise ops. The chain itself (which calls the generator) lives in
 * lib/api/sample_api.c, the layer that may call both model and diffusion.
 *
 * Every function here follows the planning convention of nn/exec.h: while the
 * arena is planning, nothing is uploaded, drawn or computed.
 */
#ifndef DDGAN_DIFFUSION_SAMPLER_H
#define DDGAN_DIFFUSION_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "diffusion/schedule.h"
#include "nn/exec.h"

/* Sample k (0-based over one request) draws everything from Philox stream
 * DDGAN_SAMPLE_STREAM_BASE + k of the request's seed (docs/rng.md). The base
 * keeps these streams clear of the context's own streams (0, 16, 17, ...). */
#define DDGAN_SAMPLE_STREAM_BASE ((uint64_t)1 << 32)

/* Block layout of one sample's stream: x_init (per normals) from block 0,
 * then for each step i = T-1 .. 0 its z (nz normals), then its eps (per
 * normals); every draw starts on a fresh block of 4 normals. */
typedef struct ddgan_sample_layout {
    uint64_t x_blocks; /* blocks of one [C, H, W] draw */
    uint64_t z_blocks; /* blocks of one [nz] draw */
    int T;
} ddgan_sample_layout;

void ddgan__sample_layout_init(ddgan_sample_layout *l, size_t per_example, size_t nz, int T);
/* First block of x_init, and of step i's z and eps (i in 0 .. T-1). */
static inline uint64_t ddgan__sample_block_x_init(const ddgan_sample_layout *l)
{
    (void)l;
    return 0;
}
uint64_t ddgan__sample_block_z(const ddgan_sample_layout *l, int i);
uint64_t ddgan__sample_block_eps(const ddgan_sample_layout *l, int i);

/* out[b * count .. (b+1) * count) = `count` normals of stream
 * DDGAN_SAMPLE_STREAM_BASE + first_index + b of `seed`, from block `block`,
 * for b = 0 .. batch-1 (out: a float32 device array). */
ddgan_status_t ddgan__sample_draw(ddgan_exec *ex, uint64_t seed, uint64_t first_index, int batch,
                                  size_t count, uint64_t block, void *out);

/* Device posterior of the official sample_posterior with a given eps:
 *   out = coef1[t] * x0 + coef2[t] * x_tp1 + (t != 0) * exp(0.5 * logvar[t]) * eps
 * with float32 coefficients from the schedule, built per example on the host
 * (into host_scratch, 3 * batch floats) and uploaded into coef_dev (device,
 * 3 * batch floats), then applied by three broadcast multiply(-accumulate)
 * ops. x0, x_tp1, eps and out share one shape [batch, ...]; out must not
 * alias an input. t: host, batch entries in 0 .. T-1 (not checked here). */
ddgan_status_t ddgan__posterior_device(ddgan_exec *ex, const struct ddgan_schedule *s, const int64_t *t,
                                       float *host_scratch, void *coef_dev, const ddgan_tensor *x0,
                                       const ddgan_tensor *x_tp1, const ddgan_tensor *eps,
                                       ddgan_tensor *out);

#endif
