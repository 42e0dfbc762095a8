/*
 * Schedule arithmetic. The float32 path repeats the official code's
 * operations in their order and precision (train_ddgan.py:
 * get_sigma_schedule, Diffusion_Coefficients, Posterior_Coefficients):
 *   - grid, variance and betas in float64, betas then cast to float32;
 *   - everything after that in float32 elementwise ops, except the two
 *     cumulative products, which PyTorch's CPU cumprod accumulates in double
 *     and rounds once per element.
 * The consequences the reference (section 1.4) insists on follow
 * automatically: 1 - float32(1e-8) == 1, so a_s[0] = a_s_cum[0] = 1 and
 * sigmas_cum[0] = 0. The float64 path evaluates the same formulas without
 * any cast. This file is compiled with -ffp-contract=off so no FMA changes
 * the float32 roundings.
 *
 * Kind DDGAN_SCHEDULE_DDPM_LINEAR (the DDPM baseline, docs/ddpm.md) fills the
 * same storage from betas = linspace(beta_min, beta_max, T) in float64: the
 * post_* arrays are then DDPM's GaussianDiffusion arrays, float32 = float64
 * rounded once.
 */
#include "diffusion/schedule.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

static const char *const g_coef_names[DDGAN_COEF_COUNT] = {
    "t",
    "betas",
    "sigmas",
    "a_s",
    "a_s_cum",
    "sigmas_cum",
    "a_s_prev",
    "post_betas",
    "post_alphas",
    "post_alphas_cumprod",
    "post_alphas_cumprod_prev",
    "post_variance",
    "post_log_variance_clipped",
    "post_mean_coef1",
    "post_mean_coef2",
    "post_sqrt_alphas_cumprod",
    "post_sqrt_recip_alphas_cumprod",
    "post_sqrt_recipm1_alphas_cumprod",
};

int ddgan__coef_id(const char *name)
{
    for (int i = 0; i < DDGAN_COEF_COUNT; i++)
        if (!strcmp(name, g_coef_names[i]))
            return i;
    return -1;
}

const char *ddgan__coef_name(ddgan_coef_id id) { return g_coef_names[id]; }

size_t ddgan__coef_len(ddgan_coef_id id, int T)
{
    return id < DDGAN_COEF_N_FORWARD ? (size_t)T + 1 : (size_t)T;
}

#define EPS_SMALL 1e-3
#define FIRST_BETA 1e-8
#define MAX_TIMESTEPS 100000

/* Variance on the grid, official float64 expressions (order kept). */
static double variance(const ddgan_schedule_config *c, double t)
{
    if (c->use_geometric)
        return c->beta_min * pow(c->beta_max / c->beta_min, t);
    double log_mean = -0.25 * (t * t) * (c->beta_max - c->beta_min) - 0.5 * t * c->beta_min;
    return 1.0 - exp(2.0 * log_mean);
}

static double grid(int i, int T) { return ((double)i / (double)T) * (1.0 - EPS_SMALL) + EPS_SMALL; }

/* The DDPM linear schedule (kind DDGAN_SCHEDULE_DDPM_LINEAR, docs/ddpm.md):
 * T betas in (0, 1), so every alpha is in (0, 1) and abar strictly decreases. */
static ddgan_status_t validate_ddpm(const ddgan_schedule_config *c, const char *fn)
{
    if (c->num_timesteps < 1 || c->num_timesteps > MAX_TIMESTEPS)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: num_timesteps %d not in [1, %d]", fn,
                         c->num_timesteps, MAX_TIMESTEPS);
    if (!isfinite(c->beta_min) || !(c->beta_min > 0.0 && c->beta_min < 1.0))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: beta_min %g must be finite and in (0, 1) for the DDPM linear schedule "
                         "(kind 1; DDPM uses 1e-4)",
                         fn, c->beta_min);
    if (!isfinite(c->beta_max) || !(c->beta_max >= c->beta_min && c->beta_max < 1.0))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: beta_max %g must be finite, >= beta_min %g and < 1 for the DDPM linear "
                         "schedule (kind 1; DDPM uses 0.02)",
                         fn, c->beta_max, c->beta_min);
    if (c->use_geometric != 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: use_geometric %d has no meaning for the DDPM linear schedule (kind 1); "
                         "set it to 0",
                         fn, c->use_geometric);
    return DDGAN_OK;
}

/* betas = numpy.linspace(beta_min, beta_max, T) in float64: i * step + beta_min
 * with step = (beta_max - beta_min) / (T - 1), the last one exactly beta_max. */
static double ddpm_beta(const ddgan_schedule_config *c, int i)
{
    const int T = c->num_timesteps;
    if (T == 1 || i == 0)
        return c->beta_min;
    if (i == T - 1)
        return c->beta_max;
    const double step = (c->beta_max - c->beta_min) / (double)(T - 1);
    return (double)i * step + c->beta_min;
}

ddgan_status_t ddgan__schedule_validate(const ddgan_schedule_config *c, const char *fn)
{
    if (c->kind != DDGAN_SCHEDULE_DDGAN && c->kind != DDGAN_SCHEDULE_DDPM_LINEAR)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: kind %d must be 0 (DDGAN_SCHEDULE_DDGAN) or 1 "
                         "(DDGAN_SCHEDULE_DDPM_LINEAR)",
                         fn, c->kind);
    if (c->kind == DDGAN_SCHEDULE_DDPM_LINEAR)
        return validate_ddpm(c, fn);
    if (c->num_timesteps < 1 || c->num_timesteps > MAX_TIMESTEPS)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: num_timesteps %d not in [1, %d]", fn,
                         c->num_timesteps, MAX_TIMESTEPS);
    if (!isfinite(c->beta_min) || c->beta_min <= 0.0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: beta_min %g must be finite and > 0", fn,
                         c->beta_min);
    if (!isfinite(c->beta_max) || c->beta_max <= c->beta_min)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: beta_max %g must be finite and > beta_min %g", fn, c->beta_max,
                         c->beta_min);
    if (c->use_geometric != 0 && c->use_geometric != 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: use_geometric %d must be 0 or 1", fn,
                         c->use_geometric);
    /* Every variance must lie in (0, 1) and abar must strictly decrease, or the
     * betas leave (0, 1) and the square roots below produce NaN. */
    double prev_abar = 1.0 - variance(c, grid(0, c->num_timesteps));
    for (int i = 0; i <= c->num_timesteps; i++) {
        double v = variance(c, grid(i, c->num_timesteps));
        double abar = 1.0 - v;
        if (!(v > 0.0 && v < 1.0) || (i > 0 && !(abar < prev_abar)))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                             "%s: %s variance %g at grid point t=%g (step %d of %d) is outside (0, 1) "
                             "or not increasing; choose other beta_min %g / beta_max %g",
                             fn, c->use_geometric ? "geometric" : "VP", v,
                             grid(i, c->num_timesteps), i, c->num_timesteps, c->beta_min,
                             c->beta_max);
        prev_abar = abar;
    }
    return DDGAN_OK;
}

/* float32 helpers: each returns the float32 result of one official op. */
static float f_sub1(float x) { return 1.0f - x; }

static void compute_f32(struct ddgan_schedule *s, const double *betas64)
{
    const int T = s->T;
    float *const *C = s->coef_f32;
    for (int i = 0; i <= T; i++) {
        C[DDGAN_COEF_T][i] = (float)grid(i, T);
        C[DDGAN_COEF_BETAS][i] = (float)betas64[i];
    }
    /* Diffusion_Coefficients */
    double acc = 1.0;
    for (int i = 0; i <= T; i++) {
        float b = C[DDGAN_COEF_BETAS][i];
        C[DDGAN_COEF_SIGMAS][i] = sqrtf(b);
        C[DDGAN_COEF_A_S][i] = sqrtf(f_sub1(b));
        acc *= (double)C[DDGAN_COEF_A_S][i]; /* cumprod: double accumulator */
        C[DDGAN_COEF_A_S_CUM][i] = (float)acc;
        float sq = C[DDGAN_COEF_A_S_CUM][i] * C[DDGAN_COEF_A_S_CUM][i];
        C[DDGAN_COEF_SIGMAS_CUM][i] = sqrtf(f_sub1(sq));
        C[DDGAN_COEF_A_S_PREV][i] = i == T ? 1.0f : C[DDGAN_COEF_A_S][i];
    }
    /* Posterior_Coefficients (betas without the dummy first entry) */
    acc = 1.0;
    for (int k = 0; k < T; k++) {
        float b = C[DDGAN_COEF_BETAS][k + 1];
        float alpha = f_sub1(b);
        acc *= (double)alpha;
        float ac = (float)acc;
        float prev = k == 0 ? 1.0f : C[DDGAN_COEF_POST_ALPHAS_CUMPROD][k - 1];
        float one_m_ac = f_sub1(ac);
        float one_m_prev = f_sub1(prev);
        float var = (b * one_m_prev) / one_m_ac;
        C[DDGAN_COEF_POST_BETAS][k] = b;
        C[DDGAN_COEF_POST_ALPHAS][k] = alpha;
        C[DDGAN_COEF_POST_ALPHAS_CUMPROD][k] = ac;
        C[DDGAN_COEF_POST_ALPHAS_CUMPROD_PREV][k] = prev;
        C[DDGAN_COEF_POST_VARIANCE][k] = var;
        C[DDGAN_COEF_POST_LOG_VARIANCE_CLIPPED][k] = logf(var < 1e-20f ? 1e-20f : var);
        C[DDGAN_COEF_POST_MEAN_COEF1][k] = (b * sqrtf(prev)) / one_m_ac;
        C[DDGAN_COEF_POST_MEAN_COEF2][k] = (one_m_prev * sqrtf(alpha)) / one_m_ac;
        C[DDGAN_COEF_POST_SQRT_ALPHAS_CUMPROD][k] = sqrtf(ac);
        C[DDGAN_COEF_POST_SQRT_RECIP_ALPHAS_CUMPROD][k] = 1.0f / sqrtf(ac);
        C[DDGAN_COEF_POST_SQRT_RECIPM1_ALPHAS_CUMPROD][k] = sqrtf(1.0f / ac - 1.0f);
    }
}

static void compute_f64(struct ddgan_schedule *s, const double *betas64)
{
    const int T = s->T;
    double *const *C = s->coef_f64;
    double acc = 1.0;
    for (int i = 0; i <= T; i++) {
        double b = betas64[i];
        C[DDGAN_COEF_T][i] = grid(i, T);
        C[DDGAN_COEF_BETAS][i] = b;
        C[DDGAN_COEF_SIGMAS][i] = sqrt(b);
        C[DDGAN_COEF_A_S][i] = sqrt(1.0 - b);
        acc *= C[DDGAN_COEF_A_S][i];
        C[DDGAN_COEF_A_S_CUM][i] = acc;
        C[DDGAN_COEF_SIGMAS_CUM][i] = sqrt(1.0 - acc * acc);
        C[DDGAN_COEF_A_S_PREV][i] = i == T ? 1.0 : C[DDGAN_COEF_A_S][i];
    }
    acc = 1.0;
    for (int k = 0; k < T; k++) {
        double b = betas64[k + 1];
        double alpha = 1.0 - b;
        double prev = acc;
        acc *= alpha;
        double var = b * (1.0 - prev) / (1.0 - acc);
        C[DDGAN_COEF_POST_BETAS][k] = b;
        C[DDGAN_COEF_POST_ALPHAS][k] = alpha;
        C[DDGAN_COEF_POST_ALPHAS_CUMPROD][k] = acc;
        C[DDGAN_COEF_POST_ALPHAS_CUMPROD_PREV][k] = prev;
        C[DDGAN_COEF_POST_VARIANCE][k] = var;
        C[DDGAN_COEF_POST_LOG_VARIANCE_CLIPPED][k] = log(var < 1e-20 ? 1e-20 : var);
        C[DDGAN_COEF_POST_MEAN_COEF1][k] = b * sqrt(prev) / (1.0 - acc);
        C[DDGAN_COEF_POST_MEAN_COEF2][k] = (1.0 - prev) * sqrt(alpha) / (1.0 - acc);
        C[DDGAN_COEF_POST_SQRT_ALPHAS_CUMPROD][k] = sqrt(acc);
        C[DDGAN_COEF_POST_SQRT_RECIP_ALPHAS_CUMPROD][k] = 1.0 / sqrt(acc);
        C[DDGAN_COEF_POST_SQRT_RECIPM1_ALPHAS_CUMPROD][k] = sqrt(1.0 / acc - 1.0);
    }
}

ddgan_status_t ddgan__schedule_compute(struct ddgan_schedule *s, const char *fn)
{
    const int T = s->T;
    /* betas in float64; the official first beta is float32(1e-8) (torch.tensor
     * defaults to float32), promoted to float64 by torch.cat */
    double *betas32src = ddgan__calloc((size_t)T + 1, 2 * sizeof(double), fn);
    if (!betas32src)
        return DDGAN_ERR_OUT_OF_MEMORY;
    double *betas64 = betas32src + T + 1;
    double prev_abar = 1.0 - variance(&s->cfg, grid(0, T));
    betas32src[0] = (double)(float)FIRST_BETA;
    betas64[0] = FIRST_BETA;
    const int ddpm = s->cfg.kind == DDGAN_SCHEDULE_DDPM_LINEAR;
    for (int i = 1; i <= T; i++) {
        if (ddpm) { /* DDPM's beta_{i-1}; the posterior loops below read betas[k + 1] */
            betas32src[i] = betas64[i] = ddpm_beta(&s->cfg, i - 1);
            continue;
        }
        double abar = 1.0 - variance(&s->cfg, grid(i, T));
        betas32src[i] = betas64[i] = 1.0 - abar / prev_abar;
        prev_abar = abar;
    }
    compute_f32(s, betas32src);
    compute_f64(s, betas64);
    ddgan__free(betas32src);
    if (ddpm) {
        /* The post_* slots hold DDPM's GaussianDiffusion arrays (float64
         * numpy in the DDPM code); their float32 copies are the float64
         * values rounded once, as the DDPM code casts them at use. The T+1
         * forward arrays are DDGAN's and are not exposed for this kind. */
        for (int id = DDGAN_COEF_N_FORWARD; id < DDGAN_COEF_COUNT; id++)
            for (int k = 0; k < T; k++)
                s->coef_f32[id][k] = (float)s->coef_f64[id][k];
    }
    for (int id = 0; id < DDGAN_COEF_COUNT; id++)
        for (size_t i = 0; i < ddgan__coef_len((ddgan_coef_id)id, T); i++)
            if (!isfinite(s->coef_f32[id][i]) || !isfinite(s->coef_f64[id][i]))
                return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "%s: coefficient %s[%zu] is not finite", fn,
                                 g_coef_names[id], i);
    return DDGAN_OK;
}

void ddgan__schedule_posterior_coefs(const struct ddgan_schedule *s, const int64_t *t, int batch, float *c1,
                                     float *c2, float *sd)
{
    for (int b = 0; b < batch; b++) {
        c1[b] = s->coef_f32[DDGAN_COEF_POST_MEAN_COEF1][t[b]];
        c2[b] = s->coef_f32[DDGAN_COEF_POST_MEAN_COEF2][t[b]];
        const float lv = s->coef_f32[DDGAN_COEF_POST_LOG_VARIANCE_CLIPPED][t[b]];
        sd[b] = (float)(t[b] != 0) * expf(0.5f * lv);
    }
}
