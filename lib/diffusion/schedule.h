/* The diffusion schedule of reference section 1: coefficient arrays held in
 * float32 exactly as the official code computes them, and in float64. */
#ifndef DDGAN_DIFFUSION_SCHEDULE_H
#define DDGAN_DIFFUSION_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

/* Coefficient ids; the first DDGAN_COEF_N_FORWARD have length T+1, the rest T. */
typedef enum ddgan_coef_id {
    DDGAN_COEF_T = 0,
    DDGAN_COEF_BETAS,
    DDGAN_COEF_SIGMAS,
    DDGAN_COEF_A_S,
    DDGAN_COEF_A_S_CUM,
    DDGAN_COEF_SIGMAS_CUM,
    DDGAN_COEF_A_S_PREV,
    DDGAN_COEF_N_FORWARD,
    DDGAN_COEF_POST_BETAS = DDGAN_COEF_N_FORWARD,
    DDGAN_COEF_POST_ALPHAS,
    DDGAN_COEF_POST_ALPHAS_CUMPROD,
    DDGAN_COEF_POST_ALPHAS_CUMPROD_PREV,
    DDGAN_COEF_POST_VARIANCE,
    DDGAN_COEF_POST_LOG_VARIANCE_CLIPPED,
    DDGAN_COEF_POST_MEAN_COEF1,
    DDGAN_COEF_POST_MEAN_COEF2,
    DDGAN_COEF_POST_SQRT_ALPHAS_CUMPROD,
    DDGAN_COEF_POST_SQRT_RECIP_ALPHAS_CUMPROD,
    DDGAN_COEF_POST_SQRT_RECIPM1_ALPHAS_CUMPROD,
    DDGAN_COEF_COUNT
} ddgan_coef_id;

struct ddgan_schedule {
    uint32_t magic;
    ddgan_context_t ctx;
    ddgan_schedule_config cfg;
    int T;
    /* coef_f32[id] / coef_f64[id] point into one allocation each */
    float *coef_f32[DDGAN_COEF_COUNT];
    double *coef_f64[DDGAN_COEF_COUNT];
    float *storage_f32;
    double *storage_f64;
};

/* Name <-> id ("betas" -> DDGAN_COEF_BETAS); -1 when unknown. */
int ddgan__coef_id(const char *name);
const char *ddgan__coef_name(ddgan_coef_id id);
/* Length of a coefficient array for T steps. */
size_t ddgan__coef_len(ddgan_coef_id id, int T);

/* Validates cfg (with a message naming the offending field) and fills the
 * arrays of an allocated schedule. */
ddgan_status_t ddgan__schedule_validate(const ddgan_schedule_config *cfg, const char *fn);
ddgan_status_t ddgan__schedule_compute(struct ddgan_schedule *s, const char *fn);

/* The float32 coefficients of the official sample_posterior gathered per
 * example (the DDGAN training step and the device sampler both apply them):
 *   c1[b] = coef1[t[b]], c2[b] = coef2[t[b]],
 *   sd[b] = (t[b] != 0) * exp(0.5 * logvar_clipped[t[b]]).
 * t: batch entries in 0 .. T-1 (not checked here). */
void ddgan__schedule_posterior_coefs(const struct ddgan_schedule *s, const int64_t *t, int batch, float *c1,
                                     float *c2, float *sd);

#endif
