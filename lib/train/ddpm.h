/*
 * The DDPM baseline (docs/ddpm.md): the generator network as an
 * epsilon-predictor eps_theta(x_t, t) with a zero latent, trained with the
 * MSE objective on the linear DDPM schedule (kind DDGAN_SCHEDULE_DDPM_LINEAR),
 * and the respaced ancestral sampler. Private layout shared by the step, the
 * checkpoint code and the public API (lib/api/ddpm_api.c).
 */
#ifndef DDGAN_TRAIN_DDPM_H
#define DDGAN_TRAIN_DDPM_H

#include "diffusion/schedule.h"
#include "train/ckpt_extras.h"
#include "train/netops.h"

#define DDGAN_MAGIC_DDPM_TRAINER 0x50474444u /* "DDGP" */
/* Philox streams (docs/ddpm.md, docs/rng.md): DDPM training step k draws
 * from stream DDGAN_DDPM_STREAM_TRAIN_BASE + k of the trainer seed; sample k
 * of a ddgan_ddpm_sample request from DDGAN_DDPM_SAMPLE_STREAM_BASE + k of
 * the request's seed. Both are clear of DDGAN's streams (2^32 + k, 2^40 + k). */
#define DDGAN_DDPM_STREAM_TRAIN_BASE ((uint64_t)3 << 40)
#define DDGAN_DDPM_SAMPLE_STREAM_BASE ((uint64_t)3 << 32)
/* Largest chunk of examples one sampling pass plans for. */
#define DDGAN_DDPM_SAMPLE_CHUNK 64

struct ddgan_ddpm_trainer {
    uint32_t magic;
    ddgan_context_t ctx;
    ddgan_generator_t g;
    ddgan_schedule_t s;
    ddgan_ddpm_trainer_config cfg;
    size_t n_g;        /* elements of the flat parameter buffer */
    void *m, *v, *ema; /* device: Adam moments, EMA weights (use_ema) */
    ddgan_arena arena; /* activations of a whole step, planned at create */
    int64_t global_step;
    int64_t adam_step; /* successful optimizer steps */
    int64_t skipped;
    int ema_ready;
    int64_t *t;        /* host scratch [batch_size] */
    float *host_vec;   /* host scratch [2 * batch_size] */
    int c, h, w, nz;   /* one example; the latent size */
    double data_scale; /* ToyMLP: data units per diffusion unit; 1 for images */
    ddgan_ckpt_extras extras; /* attached loader, caller metadata (checkpoints) */
};

/* Whether g and s can be trained / sampled as DDPM (same context, DDPM
 * schedule with the generator's T, no tanh, no Fourier embedding), with a
 * message naming fn and the reason. */
ddgan_status_t ddgan__ddpm_check_models(ddgan_generator_t g, ddgan_schedule_t s, const char *fn);

/* One step on x0 (host, batch examples). t (host, batch) and eps (host,
 * batch x C*H*W, diffusion units) replace the step's draws when non-NULL
 * (their stream positions are consumed either way). *loss (may be NULL)
 * receives the loss; *grad_norm (may be NULL) the L2 norm of the gradient
 * before clipping. */
ddgan_status_t ddgan__ddpm_step(struct ddgan_ddpm_trainer *tr, const float *x0, int batch, const int64_t *t,
                                const float *eps, double *loss, double *grad_norm);

/* Plans the arena for a step of `batch` (dry run) and allocates it. */
ddgan_status_t ddgan__ddpm_plan(struct ddgan_ddpm_trainer *tr, int batch);

/* Learning rate of the next step (warm-up). */
double ddgan__ddpm_lr(const struct ddgan_ddpm_trainer *tr);

ddgan_status_t ddgan__ddpm_save(struct ddgan_ddpm_trainer *tr, const char *path);
ddgan_status_t ddgan__ddpm_load(struct ddgan_ddpm_trainer *tr, const char *path);

/* ---- respaced ancestral sampling ---- */

/* The kept timesteps of a chain of K steps out of T (1 <= K <= T), increasing:
 * tau_i = round_half_even(i (T-1) / (K-1)), so tau_0 = 0 and tau_{K-1} = T-1
 * (K = T: every step); K = 1: {T-1}. */
void ddgan__ddpm_respace(int T, int K, int *tau);

/* Coefficients of step i (0 .. K-1) of the respaced chain, float64:
 *   abar = abar[tau_i], abar_prev = abar[tau_{i-1}] (1 for i = 0),
 *   beta = 1 - abar / abar_prev,
 *   x0 = recip * x - recipm1 * eps_hat,
 *   mean = c1 * x0 + c2 * x, x_prev = mean + sigma * noise, sigma =
 *   sqrt(beta (1 - abar_prev) / (1 - abar)) (beta-tilde; 0 for i = 0). */
typedef struct ddgan_ddpm_coef {
    double abar, abar_prev, beta, recip, recipm1, c1, c2, sigma;
} ddgan_ddpm_coef;
void ddgan__ddpm_step_coef(const double *abar, const int *tau, int i, ddgan_ddpm_coef *out);

/* The whole sampler (arguments already checked by the caller: n >= 1,
 * 1 <= K <= T, models checked). */
ddgan_status_t ddgan__ddpm_sample(ddgan_generator_t g, ddgan_schedule_t s, size_t n, int K, uint64_t seed,
                                  float *out);

#endif
