/* Public entry points: the diffusion schedule and its host-array helpers.
 * A DDPM schedule (kind DDGAN_SCHEDULE_DDPM_LINEAR, docs/ddpm.md) exposes
 * the "ddpm_*" coefficients instead of DDGAN's names; q_sample then uses
 * DDPM's sqrt(abar_t) / sqrt(1 - abar_t), sample_posterior DDPM's
 * q(x_{t-1} | x_t, x0) (its x_tp1 is x_t), and q_sample_pairs is refused. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/context.h"
#include "core/error.h"
#include "core/struct_io.h"
#include "diffusion/schedule.h"

static const ddgan_schedule_config g_schedule_defaults = {
    .struct_size = sizeof(ddgan_schedule_config),
    .num_timesteps = 4,
    .beta_min = 0.1,
    .beta_max = 20.0,
    .use_geometric = 0,
};

DDGAN_API ddgan_status_t ddgan_schedule_config_init(ddgan_schedule_config *cfg, size_t struct_size)
{
    return ddgan__struct_init(cfg, struct_size, &g_schedule_defaults, sizeof g_schedule_defaults,
                              "ddgan_schedule_config_init");
}

static ddgan_status_t check_schedule(ddgan_schedule_t s, const char *fn)
{
    if (!s)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: schedule is NULL", fn);
    if (s->magic != DDGAN_MAGIC_SCHEDULE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: invalid schedule handle (destroyed, or not a schedule)", fn);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_schedule_create(ddgan_schedule_t *out, ddgan_context_t ctx,
                                               const ddgan_schedule_config *cfg)
{
    static const char fn[] = "ddgan_schedule_create";
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *out = NULL;
    DDGAN_TRY(ddgan__context_check(ctx, fn));
    ddgan_schedule_config c = g_schedule_defaults;
    if (cfg)
        DDGAN_TRY(ddgan__struct_read(&c, sizeof c, cfg, fn, "cfg"));
    DDGAN_TRY(ddgan__schedule_validate(&c, fn));

    const int T = c.num_timesteps;
    size_t total = 0;
    for (int id = 0; id < DDGAN_COEF_COUNT; id++)
        total += ddgan__coef_len((ddgan_coef_id)id, T);

    struct ddgan_schedule *s = ddgan__calloc(1, sizeof *s, fn);
    if (!s)
        return DDGAN_ERR_OUT_OF_MEMORY;
    s->storage_f32 = ddgan__calloc(total, sizeof(float), fn);
    s->storage_f64 = s->storage_f32 ? ddgan__calloc(total, sizeof(double), fn) : NULL;
    if (!s->storage_f64) {
        ddgan__free(s->storage_f32);
        ddgan__free(s);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    size_t off = 0;
    for (int id = 0; id < DDGAN_COEF_COUNT; id++) {
        s->coef_f32[id] = s->storage_f32 + off;
        s->coef_f64[id] = s->storage_f64 + off;
        off += ddgan__coef_len((ddgan_coef_id)id, T);
    }
    s->ctx = ctx;
    s->cfg = c;
    s->T = T;
    ddgan_status_t st = ddgan__schedule_compute(s, fn);
    if (st != DDGAN_OK) {
        ddgan__free(s->storage_f64);
        ddgan__free(s->storage_f32);
        ddgan__free(s);
        return st;
    }
    s->magic = DDGAN_MAGIC_SCHEDULE;
    ctx->live_children++;
    *out = s;
    return DDGAN_OK;
}

DDGAN_API void ddgan_schedule_destroy(ddgan_schedule_t s)
{
    if (!s || s->magic != DDGAN_MAGIC_SCHEDULE)
        return;
    if (s->ctx && s->ctx->magic == DDGAN_MAGIC_CONTEXT)
        s->ctx->live_children--;
    s->magic = 0;
    ddgan__free(s->storage_f64);
    ddgan__free(s->storage_f32);
    ddgan__free(s);
}

DDGAN_API int ddgan_schedule_num_timesteps(ddgan_schedule_t s)
{
    if (check_schedule(s, "ddgan_schedule_num_timesteps") != DDGAN_OK)
        return 0;
    return s->T;
}

/* The coefficients of a DDPM schedule (kind DDGAN_SCHEDULE_DDPM_LINEAR,
 * docs/ddpm.md): DDPM's GaussianDiffusion attributes prefixed "ddpm_", n = T.
 * Most are the stored post_* arrays; two are derived from them when read. */
enum { DDPM_STORED = 0, DDPM_SQRT_ONE_MINUS = 1, DDPM_LOGVAR = 2 };
static const struct ddpm_coef {
    const char *name;
    int id;     /* stored array */
    int derive; /* DDPM_* */
} g_ddpm_coefs[] = {
    {"ddpm_betas", DDGAN_COEF_POST_BETAS, DDPM_STORED},
    {"ddpm_alphas", DDGAN_COEF_POST_ALPHAS, DDPM_STORED},
    {"ddpm_alphas_cumprod", DDGAN_COEF_POST_ALPHAS_CUMPROD, DDPM_STORED},
    {"ddpm_alphas_cumprod_prev", DDGAN_COEF_POST_ALPHAS_CUMPROD_PREV, DDPM_STORED},
    {"ddpm_sqrt_alphas_cumprod", DDGAN_COEF_POST_SQRT_ALPHAS_CUMPROD, DDPM_STORED},
    {"ddpm_sqrt_one_minus_alphas_cumprod", DDGAN_COEF_POST_ALPHAS_CUMPROD, DDPM_SQRT_ONE_MINUS},
    {"ddpm_sqrt_recip_alphas_cumprod", DDGAN_COEF_POST_SQRT_RECIP_ALPHAS_CUMPROD, DDPM_STORED},
    {"ddpm_sqrt_recipm1_alphas_cumprod", DDGAN_COEF_POST_SQRT_RECIPM1_ALPHAS_CUMPROD, DDPM_STORED},
    {"ddpm_posterior_variance", DDGAN_COEF_POST_VARIANCE, DDPM_STORED},
    {"ddpm_posterior_log_variance_clipped", DDGAN_COEF_POST_VARIANCE, DDPM_LOGVAR},
    {"ddpm_posterior_mean_coef1", DDGAN_COEF_POST_MEAN_COEF1, DDPM_STORED},
    {"ddpm_posterior_mean_coef2", DDGAN_COEF_POST_MEAN_COEF2, DDPM_STORED},
};
#define N_DDPM_COEFS (sizeof g_ddpm_coefs / sizeof g_ddpm_coefs[0])

static const struct ddpm_coef *ddpm_coef(const char *name)
{
    for (size_t i = 0; i < N_DDPM_COEFS; i++)
        if (!strcmp(name, g_ddpm_coefs[i].name))
            return &g_ddpm_coefs[i];
    return NULL;
}

/* Element k of a DDPM coefficient in float64. */
static double ddpm_value(ddgan_schedule_t s, const struct ddpm_coef *c, int k)
{
    const double *a = s->coef_f64[c->id];
    switch (c->derive) {
    case DDPM_SQRT_ONE_MINUS:
        return sqrt(1.0 - a[k]);
    case DDPM_LOGVAR: {
        /* DDPM: log(append(posterior_variance[1], posterior_variance[1:])) */
        const double v = k == 0 && s->T > 1 ? a[1] : a[k];
        return log(v < 1e-20 ? 1e-20 : v);
    }
    default:
        return a[k];
    }
}

/* The DDPM names, for a DDPM schedule: *dc is set when the name is one. */
static ddgan_status_t ddpm_lookup(ddgan_schedule_t s, const char *name, size_t n, const char *fn,
                                  const struct ddpm_coef **dc)
{
    *dc = ddpm_coef(name);
    const int ddpm = s->cfg.kind == DDGAN_SCHEDULE_DDPM_LINEAR;
    if (*dc && !ddpm)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: \"%s\" exists only for a DDPM schedule (kind "
                         "DDGAN_SCHEDULE_DDPM_LINEAR); this schedule is kind 0 (DDGAN)",
                         fn, name);
    if (!*dc && ddpm)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: \"%.64s\" is not a coefficient of a DDPM schedule (kind 1); its names "
                         "are ddpm_betas, ddpm_alphas, ddpm_alphas_cumprod, ddpm_alphas_cumprod_prev, "
                         "ddpm_sqrt_alphas_cumprod, ddpm_sqrt_one_minus_alphas_cumprod, "
                         "ddpm_sqrt_recip_alphas_cumprod, ddpm_sqrt_recipm1_alphas_cumprod, "
                         "ddpm_posterior_variance, ddpm_posterior_log_variance_clipped, "
                         "ddpm_posterior_mean_coef1, ddpm_posterior_mean_coef2",
                         fn, name);
    if (*dc && n != (size_t)s->T)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: \"%s\" has %d elements for T = %d, but n = %zu", fn, name, s->T, s->T, n);
    return DDGAN_OK;
}

/* Shared checks of the coefficient getters; returns the id through *id, or
 * the DDPM coefficient through *dc (then *id is -1). */
static ddgan_status_t coef_lookup(ddgan_schedule_t s, const char *name, const void *out, size_t n,
                                  const char *fn, int *id, const struct ddpm_coef **dc)
{
    DDGAN_TRY(check_schedule(s, fn));
    if (!name)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: name is NULL", fn);
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    *id = -1;
    DDGAN_TRY(ddpm_lookup(s, name, n, fn, dc));
    if (*dc)
        return DDGAN_OK;
    *id = ddgan__coef_id(name);
    if (*id < 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: unknown coefficient \"%.64s\" (known: betas, sigmas, a_s, a_s_cum, "
                         "sigmas_cum, post_variance, post_log_variance_clipped, post_mean_coef1, "
                         "post_mean_coef2, post_alphas_cumprod, post_alphas_cumprod_prev, ...; see "
                         "ddgan.h)",
                         fn, name);
    size_t len = ddgan__coef_len((ddgan_coef_id)*id, s->T);
    if (n != len)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: \"%s\" has %zu elements for T = %d, but n = %zu", fn, name, len, s->T, n);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_schedule_coef(ddgan_schedule_t s, const char *name, float *out, size_t n)
{
    int id = 0;
    const struct ddpm_coef *dc = NULL;
    DDGAN_TRY(coef_lookup(s, name, out, n, "ddgan_schedule_coef", &id, &dc));
    if (dc) { /* float64 value rounded once (stored arrays: the same as their float32 copy) */
        for (size_t k = 0; k < n; k++)
            out[k] = (float)ddpm_value(s, dc, (int)k);
        return DDGAN_OK;
    }
    memcpy(out, s->coef_f32[id], n * sizeof *out);
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_schedule_coef_f64(ddgan_schedule_t s, const char *name, double *out,
                                                 size_t n)
{
    int id = 0;
    const struct ddpm_coef *dc = NULL;
    DDGAN_TRY(coef_lookup(s, name, out, n, "ddgan_schedule_coef_f64", &id, &dc));
    if (dc) {
        for (size_t k = 0; k < n; k++)
            out[k] = ddpm_value(s, dc, (int)k);
        return DDGAN_OK;
    }
    memcpy(out, s->coef_f64[id], n * sizeof *out);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Host-array helpers. The float and double versions share one body each,
 * instantiated by the macros below, so both precisions follow the same
 * formula and draw order. When a noise pointer is NULL the draw is written
 * into the output array first and combined in place (no allocation). */

static ddgan_status_t check_batch(ddgan_schedule_t s, const int64_t *t, size_t batch,
                                  size_t per_example, size_t *total, const char *fn)
{
    DDGAN_TRY(check_schedule(s, fn));
    if (!t)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: t is NULL", fn);
    if (per_example == 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: per_example is 0", fn);
    if (!ddgan__mul_size(batch, per_example, total) || *total > ((size_t)1 << 40))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: batch %zu x per_example %zu is too large",
                         fn, batch, per_example);
    for (size_t b = 0; b < batch; b++)
        if (t[b] < 0 || t[b] >= s->T)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: t[%zu] = %lld not in [0, %d]", fn, b,
                             (long long)t[b], s->T - 1);
    return DDGAN_OK;
}

#define REQUIRE_PTR(p, fn)                                                               \
    do {                                                                                 \
        if (!(p))                                                                        \
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: " #p " is NULL", fn);     \
    } while (0)

#define DEFINE_HELPERS(SUFFIX, REAL, COEF, RANDN)                                                  \
    DDGAN_API ddgan_status_t ddgan_schedule_q_sample##SUFFIX(                                     \
        ddgan_schedule_t s, const REAL *x0, const int64_t *t, size_t batch, size_t per_example,    \
        const REAL *eps, REAL *x_t)                                                                \
    {                                                                                              \
        static const char fn[] = "ddgan_schedule_q_sample" #SUFFIX;                                \
        size_t total;                                                                              \
        DDGAN_TRY(check_batch(s, t, batch, per_example, &total, fn));                              \
        REQUIRE_PTR(x0, fn);                                                                       \
        REQUIRE_PTR(x_t, fn);                                                                      \
        if (!eps)                                                                                  \
            RANDN(s->ctx, x_t, total);                                                             \
        const REAL *e = eps ? eps : x_t;                                                           \
        /* DDPM schedule: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps (docs/ddpm.md) */             \
        const int ddpm = s->cfg.kind == DDGAN_SCHEDULE_DDPM_LINEAR;                                \
        for (size_t b = 0; b < batch; b++) {                                                       \
            const REAL a = ddpm ? s->COEF[DDGAN_COEF_POST_SQRT_ALPHAS_CUMPROD][t[b]]              \
                                : s->COEF[DDGAN_COEF_A_S_CUM][t[b]];                              \
            const REAL sg =                                                                        \
                ddpm ? (REAL)sqrt(1.0 - s->coef_f64[DDGAN_COEF_POST_ALPHAS_CUMPROD][t[b]])         \
                     : s->COEF[DDGAN_COEF_SIGMAS_CUM][t[b]];                                      \
            for (size_t i = b * per_example; i < (b + 1) * per_example; i++)                      \
                x_t[i] = a * x0[i] + sg * e[i];                                                    \
        }                                                                                          \
        return DDGAN_OK;                                                                           \
    }                                                                                              \
                                                                                                   \
    DDGAN_API ddgan_status_t ddgan_schedule_q_sample_pairs##SUFFIX(                               \
        ddgan_schedule_t s, const REAL *x0, const int64_t *t, size_t batch, size_t per_example,    \
        const REAL *eps_pair, const REAL *eps_q, REAL *x_t, REAL *x_tp1)                           \
    {                                                                                              \
        static const char fn[] = "ddgan_schedule_q_sample_pairs" #SUFFIX;                          \
        size_t total;                                                                              \
        DDGAN_TRY(check_batch(s, t, batch, per_example, &total, fn));                              \
        REQUIRE_PTR(x0, fn);                                                                       \
        REQUIRE_PTR(x_t, fn);                                                                      \
        REQUIRE_PTR(x_tp1, fn);                                                                    \
        if (x_t == x_tp1)                                                                          \
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: x_t and x_tp1 are the same array",   \
                             fn);                                                                  \
        if (s->cfg.kind == DDGAN_SCHEDULE_DDPM_LINEAR)                                             \
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,                                           \
                             "%s: a DDPM schedule (kind 1) has no DDGAN (x_t, x_t+1) pairs; use "  \
                             "ddgan_schedule_q_sample",                                            \
                             fn);                                                                  \
        /* official order: eps_pair (randn_like in q_sample_pairs), then eps_q (in q_sample) */    \
        if (!eps_pair)                                                                             \
            RANDN(s->ctx, x_tp1, total);                                                           \
        if (!eps_q)                                                                                \
            RANDN(s->ctx, x_t, total);                                                             \
        const REAL *ep = eps_pair ? eps_pair : x_tp1;                                              \
        const REAL *eq = eps_q ? eps_q : x_t;                                                      \
        for (size_t b = 0; b < batch; b++) {                                                       \
            const REAL ac = s->COEF[DDGAN_COEF_A_S_CUM][t[b]];                                    \
            const REAL sc = s->COEF[DDGAN_COEF_SIGMAS_CUM][t[b]];                                 \
            const REAL a1 = s->COEF[DDGAN_COEF_A_S][t[b] + 1];                                    \
            const REAL s1 = s->COEF[DDGAN_COEF_SIGMAS][t[b] + 1];                                 \
            for (size_t i = b * per_example; i < (b + 1) * per_example; i++) {                     \
                const REAL xt = ac * x0[i] + sc * eq[i];                                           \
                x_tp1[i] = a1 * xt + s1 * ep[i];                                                   \
                x_t[i] = xt;                                                                       \
            }                                                                                      \
        }                                                                                          \
        return DDGAN_OK;                                                                           \
    }                                                                                              \
                                                                                                   \
    DDGAN_API ddgan_status_t ddgan_schedule_sample_posterior##SUFFIX(                             \
        ddgan_schedule_t s, const REAL *x0_pred, const REAL *x_tp1, const int64_t *t,              \
        size_t batch, size_t per_example, const REAL *eps, REAL *out)                              \
    {                                                                                              \
        static const char fn[] = "ddgan_schedule_sample_posterior" #SUFFIX;                        \
        size_t total;                                                                              \
        DDGAN_TRY(check_batch(s, t, batch, per_example, &total, fn));                              \
        REQUIRE_PTR(x0_pred, fn);                                                                  \
        REQUIRE_PTR(x_tp1, fn);                                                                    \
        REQUIRE_PTR(out, fn);                                                                      \
        if (!eps)                                                                                  \
            RANDN(s->ctx, out, total); /* drawn even for t = 0, as the official code does */     \
        const REAL *e = eps ? eps : out;                                                           \
        for (size_t b = 0; b < batch; b++) {                                                       \
            const REAL c1 = s->COEF[DDGAN_COEF_POST_MEAN_COEF1][t[b]];                            \
            const REAL c2 = s->COEF[DDGAN_COEF_POST_MEAN_COEF2][t[b]];                            \
            const REAL lv = s->COEF[DDGAN_COEF_POST_LOG_VARIANCE_CLIPPED][t[b]];                  \
            const REAL sd = (REAL)(t[b] != 0) * EXP((REAL)0.5 * lv);                              \
            for (size_t i = b * per_example; i < (b + 1) * per_example; i++) {                     \
                const REAL mean = c1 * x0_pred[i] + c2 * x_tp1[i];                                 \
                out[i] = mean + sd * e[i];                                                         \
            }                                                                                      \
        }                                                                                          \
        return DDGAN_OK;                                                                           \
    }

#define EXP expf
DEFINE_HELPERS(, float, coef_f32, ddgan__context_randn)
#undef EXP
#define EXP exp
DEFINE_HELPERS(_f64, double, coef_f64, ddgan__context_randn_f64)
#undef EXP
