/*
 * libddgan -- Denoising Diffusion GANs (Xiao, Kreis, Vahdat, ICLR 2022) in C.
 *
 * This is the one public header. It is valid C99 and C++ and includes only
 * <stddef.h> and <stdint.h>.
 *
 * Conventions (see docs/abi-policy.md):
 *  - Every function returns ddgan_status_t (DDGAN_OK == 0) unless shown
 *    otherwise. On failure a thread-local message naming the function and the
 *    offending value is readable with ddgan_last_error().
 *  - Handles are opaque. ddgan_X_destroy(NULL) is a no-op. Output handle
 *    parameters come first. A context must outlive everything created from it.
 *  - Every config struct starts with `uint32_t struct_size` (sizeof as the
 *    caller compiled it) and has `ddgan_X_config_init(cfg, sizeof *cfg)`, which
 *    fills the defaults. Fields are only ever appended. The library reads
 *    min(struct_size, its own size) bytes; a larger struct is accepted only if
 *    the bytes the library does not know are all zero, otherwise
 *    DDGAN_ERR_VERSION_MISMATCH.
 *  - Arrays cross the API as host memory: images NCHW float32, time indices
 *    int64_t in 0 .. num_timesteps-1.
 *  - Threads: one handle per thread at a time. A handle uses the context it
 *    was created from (its random stream, backend and memory) and a trainer
 *    uses the generator, discriminator and schedule it borrows, so a context
 *    and everything created from it form one unit that one thread uses at a
 *    time; different contexts (with their handles) may be used from
 *    different threads concurrently and give the same results as
 *    sequential runs (docs/hardening.md). Datasets need no context and
 *    follow the same rule per dataset. ddgan_last_error is per thread.
 */
#ifndef DDGAN_DDGAN_H
#define DDGAN_DDGAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define DDGAN_VERSION_MAJOR 0
#define DDGAN_VERSION_MINOR 1
#define DDGAN_VERSION_PATCH 0
/** MAJOR * 10000 + MINOR * 100 + PATCH */
#define DDGAN_VERSION_NUMBER \
    (DDGAN_VERSION_MAJOR * 10000 + DDGAN_VERSION_MINOR * 100 + DDGAN_VERSION_PATCH)
#define DDGAN_VERSION_STRING "0.1.0"

#if defined(_WIN32)
#  if defined(DDGAN_BUILDING_LIBRARY)
#    define DDGAN_API __declspec(dllexport)
#  else
#    define DDGAN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define DDGAN_API __attribute__((visibility("default")))
#else
#  define DDGAN_API
#endif

/** Version of the library actually loaded, as "MAJOR.MINOR.PATCH". */
DDGAN_API const char *ddgan_version_string(void);
/** Version of the library actually loaded, as DDGAN_VERSION_NUMBER. */
DDGAN_API unsigned ddgan_version_number(void);

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                  */
/* ------------------------------------------------------------------------ */

/** Status codes. Append-only: values never change meaning or number. */
typedef enum ddgan_status {
    DDGAN_OK = 0,
    DDGAN_ERR_INVALID_ARGUMENT = 1,    /**< NULL, out of range, wrong length, bad handle */
    DDGAN_ERR_OUT_OF_MEMORY = 2,       /**< an allocation failed or a size overflowed */
    DDGAN_ERR_IO = 3,                  /**< a file could not be opened, read or written */
    DDGAN_ERR_FORMAT = 4,              /**< a file or string is malformed */
    DDGAN_ERR_UNSUPPORTED = 5,         /**< valid request that this build cannot do */
    DDGAN_ERR_BACKEND_UNAVAILABLE = 6, /**< backend not built, not loadable or no device */
    DDGAN_ERR_BACKEND = 7,             /**< a backend call failed */
    DDGAN_ERR_NUMERICAL = 8,           /**< non-finite values where finite ones are needed */
    DDGAN_ERR_VERSION_MISMATCH = 9,    /**< struct or file from an incompatible version */
    DDGAN_ERR_INTERNAL = 10            /**< a bug in libddgan: please report it */
} ddgan_status_t;

/** Static, never NULL, English name of a status ("invalid argument", ...). */
DDGAN_API const char *ddgan_status_string(ddgan_status_t status);

/**
 * Message of the last failing call on this thread, naming the function and
 * the offending value; "" if none failed yet. Never NULL. Valid until the next
 * failing call on the same thread. Successful calls do not clear it.
 */
DDGAN_API const char *ddgan_last_error(void);

/** Clears this thread's last-error message. */
DDGAN_API void ddgan_clear_last_error(void);

/* ------------------------------------------------------------------------ */
/* Handles                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct ddgan_context *ddgan_context_t;             /**< backend, threads, RNG, log */
typedef struct ddgan_schedule *ddgan_schedule_t;           /**< diffusion coefficients */
typedef struct ddgan_generator *ddgan_generator_t;         /**< NCSN++ or toy generator */
typedef struct ddgan_discriminator *ddgan_discriminator_t; /**< time-dependent discriminator */
typedef struct ddgan_trainer *ddgan_trainer_t;             /**< optimizers, EMA, counters */
typedef struct ddgan_dataset *ddgan_dataset_t;             /**< examples + loader position */

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum ddgan_log_level {
    DDGAN_LOG_ERROR = 0,
    DDGAN_LOG_WARN = 1,
    DDGAN_LOG_INFO = 2,
    DDGAN_LOG_DEBUG = 3
} ddgan_log_level;

/**
 * Log callback. Called only on the thread that called into the library, never
 * from worker threads. `msg` is valid for the duration of the call.
 */
typedef void (*ddgan_log_fn)(void *user, ddgan_log_level level, const char *msg);

/* ------------------------------------------------------------------------ */
/* Backends                                                                 */
/* ------------------------------------------------------------------------ */

/** Description of one backend, as filled by ddgan_backend_get_info(). */
typedef struct ddgan_backend_info {
    uint32_t struct_size;
    /** "ref", "cpu", "cuda", ... Owned by the library, valid until exit. */
    const char *name;
    /** One-line description. Owned by the library. */
    const char *description;
    /** 1 if a context can be created on it now, else 0. */
    int available;
    /** Preference of "auto" among available backends (higher wins); 0 if unavailable. */
    int score;
    /** Why it is unavailable ("" when available). Owned by the library. */
    const char *reason;
    /** Plugin file it was (or would be) loaded from; "" for built-in backends. */
    const char *path;
} ddgan_backend_info;

/** Fills defaults (all empty) and sets info->struct_size = struct_size. */
DDGAN_API ddgan_status_t ddgan_backend_info_init(ddgan_backend_info *info, size_t struct_size);

/**
 * Number of known backends: the built-in "ref", the well-known plug-in names
 * ("cpu", "cuda") whether built or not, and any other plug-in found on the
 * search path (see docs/backends.md). Probes plug-ins on first use.
 */
DDGAN_API size_t ddgan_backend_count(void);

/**
 * Describes backend `index` (0 .. ddgan_backend_count()-1), including whether
 * it is available and, if not, why. The strings stay valid until the process
 * exits. `info->struct_size` must be set (ddgan_backend_info_init).
 */
DDGAN_API ddgan_status_t ddgan_backend_get_info(size_t index, ddgan_backend_info *info);

/* ------------------------------------------------------------------------ */
/* Context                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct ddgan_context_config {
    uint32_t struct_size;
    /**
     * Backend name: NULL or "auto" uses $DDGAN_BACKEND when it is set and
     * non-empty, else the available backend with the highest score. Otherwise
     * "ref", "cpu", "cuda" or the name of another plug-in. Default NULL.
     */
    const char *backend;
    /** Seed of every random draw made through this context. Default 0. */
    uint64_t seed;
    /** Worker threads; 0 = all online processors. Default 0. */
    int num_threads;
    /** Optional log callback (default NULL: silent) and its user pointer. */
    ddgan_log_fn log_fn;
    void *log_user;
    /** Most verbose level passed to log_fn. Default DDGAN_LOG_WARN. */
    ddgan_log_level log_level;
    /**
     * Most device memory (bytes) the backend may allocate for this context;
     * 0 = no limit (default). Allocations beyond it fail cleanly with
     * DDGAN_ERR_OUT_OF_MEMORY. Every network plans its memory up front, so
     * the limit is hit when a network is created or a batch size is first
     * planned, never in the middle of a step.
     */
    size_t memory_limit;
} ddgan_context_config;

/** Fills the defaults above; struct_size = sizeof(ddgan_context_config) of the caller. */
DDGAN_API ddgan_status_t ddgan_context_config_init(ddgan_context_config *cfg, size_t struct_size);

/**
 * Creates a context on the requested backend. `cfg` may be NULL (defaults).
 * An explicitly requested backend that cannot be used gives
 * DDGAN_ERR_BACKEND_UNAVAILABLE and a message saying why (not built, plug-in
 * missing or incompatible, no device). "auto" never fails for that reason: the
 * built-in "ref" backend is always there.
 */
DDGAN_API ddgan_status_t ddgan_context_create(ddgan_context_t *out, const ddgan_context_config *cfg);

/** Destroys a context. NULL is a no-op. Everything created from it must already be destroyed. */
DDGAN_API void ddgan_context_destroy(ddgan_context_t ctx);

/** Name of the backend in use ("ref", "cpu", ...); "" for an invalid handle. */
DDGAN_API const char *ddgan_context_backend(ddgan_context_t ctx);

/** Seed the context was created with (0 for an invalid handle). */
DDGAN_API uint64_t ddgan_context_seed(ddgan_context_t ctx);

/** Resolved worker thread count (>= 1; 0 for an invalid handle). */
DDGAN_API int ddgan_context_num_threads(ddgan_context_t ctx);

/**
 * Fills out[0..n-1] with standard normal draws from the context's host random
 * stream (Philox4x32-10 keyed by the context seed, see docs/rng.md) and
 * advances the stream. The same seed gives the same sequence on every backend
 * and thread count. n == 0 is allowed (out may then be NULL).
 */
DDGAN_API ddgan_status_t ddgan_context_randn(ddgan_context_t ctx, float *out, size_t n);

/** As ddgan_context_randn, uniform in the open interval (0, 1). */
DDGAN_API ddgan_status_t ddgan_context_rand(ddgan_context_t ctx, float *out, size_t n);

/* ------------------------------------------------------------------------ */
/* Diffusion schedule (reference section 1)                                 */
/* ------------------------------------------------------------------------ */

typedef struct ddgan_schedule_config {
    uint32_t struct_size;
    int num_timesteps;  /**< T >= 1. Default 4. */
    double beta_min;    /**< > 0. Default 0.1. */
    double beta_max;    /**< > beta_min. Default 20. */
    int use_geometric;  /**< 0: VP variance (default); 1: geometric variance. */
    /**
     * DDGAN_SCHEDULE_DDGAN (0, default): the DDGAN grid above.
     * DDGAN_SCHEDULE_DDPM_LINEAR (1): the DDPM baseline's schedule, betas =
     * linspace(beta_min, beta_max, num_timesteps) in float64 (DDPM: 1e-4,
     * 0.02, 1000), use_geometric 0. See "DDPM baseline" below.
     */
    int kind;
    /* appended fields may follow */
} ddgan_schedule_config;

/** Fills the defaults: 4, 0.1, 20, 0. */
DDGAN_API ddgan_status_t ddgan_schedule_config_init(ddgan_schedule_config *cfg, size_t struct_size);

/**
 * Computes the schedule on the host, once in float32 exactly as the official
 * code does (same operations in the same order) and once in float64.
 * `cfg` may be NULL (defaults). Refuses T < 1, T > 100000, non-finite or
 * non-positive betas, beta_min >= beta_max, and geometric schedules whose
 * variance leaves (0, 1) on the grid.
 */
DDGAN_API ddgan_status_t ddgan_schedule_create(ddgan_schedule_t *out, ddgan_context_t ctx,
                                               const ddgan_schedule_config *cfg);

/** Destroys a schedule. NULL is a no-op. */
DDGAN_API void ddgan_schedule_destroy(ddgan_schedule_t s);

/** T of the schedule (0 for an invalid handle). */
DDGAN_API int ddgan_schedule_num_timesteps(ddgan_schedule_t s);

/**
 * Copies a coefficient array as float32 (as held by the official code; within
 * 1 ulp of it). Names and lengths:
 *   n = T+1: "t" (the time grid), "betas", "sigmas", "a_s", "a_s_cum",
 *            "sigmas_cum", "a_s_prev"
 *   n = T:   "post_betas", "post_alphas", "post_alphas_cumprod",
 *            "post_alphas_cumprod_prev", "post_variance",
 *            "post_log_variance_clipped", "post_mean_coef1", "post_mean_coef2",
 *            "post_sqrt_alphas_cumprod", "post_sqrt_recip_alphas_cumprod",
 *            "post_sqrt_recipm1_alphas_cumprod"
 * Unknown name or n not equal to the array length: DDGAN_ERR_INVALID_ARGUMENT.
 */
DDGAN_API ddgan_status_t ddgan_schedule_coef(ddgan_schedule_t s, const char *name, float *out, size_t n);

/** As ddgan_schedule_coef, with the same formulas evaluated entirely in float64. */
DDGAN_API ddgan_status_t ddgan_schedule_coef_f64(ddgan_schedule_t s, const char *name, double *out,
                                                 size_t n);

/*
 * Host-array diffusion helpers. Arrays hold `batch` examples of `per_example`
 * elements each (C*H*W, or 2 for 2-D data); t[b] in 0 .. T-1. A NULL noise
 * pointer means "draw it from the context's host stream" (ddgan_context_randn),
 * in the official draw order; a non-NULL one is used as given (replay).
 * Outputs must not overlap inputs.
 */

/** x_t = a_s_cum[t] * x0 + sigmas_cum[t] * eps. */
DDGAN_API ddgan_status_t ddgan_schedule_q_sample(ddgan_schedule_t s, const float *x0, const int64_t *t,
                                                 size_t batch, size_t per_example, const float *eps,
                                                 float *x_t);

/**
 * The official q_sample_pairs: draws eps_pair first, then eps_q, then
 *   x_t   = a_s_cum[t] * x0 + sigmas_cum[t] * eps_q
 *   x_tp1 = a_s[t+1] * x_t + sigmas[t+1] * eps_pair
 */
DDGAN_API ddgan_status_t ddgan_schedule_q_sample_pairs(ddgan_schedule_t s, const float *x0,
                                                       const int64_t *t, size_t batch,
                                                       size_t per_example, const float *eps_pair,
                                                       const float *eps_q, float *x_t, float *x_tp1);

/**
 * The official sample_posterior: draws eps (even for t = 0), then
 *   out = coef1[t] * x0_pred + coef2[t] * x_tp1 + (t != 0) * exp(0.5 * logvar[t]) * eps
 */
DDGAN_API ddgan_status_t ddgan_schedule_sample_posterior(ddgan_schedule_t s, const float *x0_pred,
                                                         const float *x_tp1, const int64_t *t,
                                                         size_t batch, size_t per_example,
                                                         const float *eps, float *out);

/** float64 versions of the three helpers above, using the float64 coefficients. */
DDGAN_API ddgan_status_t ddgan_schedule_q_sample_f64(ddgan_schedule_t s, const double *x0,
                                                     const int64_t *t, size_t batch,
                                                     size_t per_example, const double *eps,
                                                     double *x_t);
DDGAN_API ddgan_status_t ddgan_schedule_q_sample_pairs_f64(ddgan_schedule_t s, const double *x0,
                                                           const int64_t *t, size_t batch,
                                                           size_t per_example, const double *eps_pair,
                                                           const double *eps_q, double *x_t,
                                                           double *x_tp1);
DDGAN_API ddgan_status_t ddgan_schedule_sample_posterior_f64(ddgan_schedule_t s, const double *x0_pred,
                                                             const double *x_tp1, const int64_t *t,
                                                             size_t batch, size_t per_example,
                                                             const double *eps, double *out);

/* ------------------------------------------------------------------------ */
/* Networks: common description                                             */
/* ------------------------------------------------------------------------ */

/** Size and cost of a network, filled by ddgan_generator_summary() /
 *  ddgan_discriminator_summary(). */
typedef struct ddgan_model_summary {
    uint32_t struct_size;
    size_t num_params;        /**< parameters (elements) */
    size_t num_tensors;       /**< parameter tensors (state_dict entries) */
    double gflops_per_image;  /**< forward GFLOPs per example: 2 x MACs of convolutions and
                                   matrix products (FIR filters, norms and activations excluded) */
} ddgan_model_summary;

DDGAN_API ddgan_status_t ddgan_model_summary_init(ddgan_model_summary *s, size_t struct_size);

/** Description of one parameter tensor (ddgan_generator_tensor_info / ..._discriminator_...). */
typedef struct ddgan_tensor_info {
    uint32_t struct_size;
    const char *name;  /**< official state_dict key; owned by the network handle */
    int ndim;
    int64_t shape[4];
    size_t numel;
} ddgan_tensor_info;

DDGAN_API ddgan_status_t ddgan_tensor_info_init(ddgan_tensor_info *t, size_t struct_size);

/* ------------------------------------------------------------------------ */
/* Discriminator (reference section 3; 2-D toy networks: docs/toy.md)       */
/* ------------------------------------------------------------------------ */

/** Typed mirror of the discriminator's JSON config. Defaults: Discriminator_small,
 *  nc 6, ngf 64, t_emb_dim 256, image_size 32 (256 for Discriminator_large). */
typedef struct ddgan_discriminator_config {
    uint32_t struct_size;
    const char *cls; /**< "Discriminator_small" (default), "Discriminator_large" or "ToyMLP" */
    int nc;          /**< 2 x image channels */
    int ngf;
    int t_emb_dim;
    int image_size;  /**< H = W of the inputs */
    /** ToyMLP only (docs/toy.md) */
    int data_dim, hidden_dim, n_hidden;
    double lrelu_slope;
} ddgan_discriminator_config;

DDGAN_API ddgan_status_t ddgan_discriminator_config_init(ddgan_discriminator_config *cfg,
                                                         size_t struct_size);
/** Creates a discriminator from the typed config (official initialisation). */
DDGAN_API ddgan_status_t ddgan_discriminator_create(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                    const ddgan_discriminator_config *cfg);

/**
 * Creates a discriminator from its JSON config: {"cls": "Discriminator_small"
 * | "Discriminator_large" | "ToyMLP", "nc", "ngf", "t_emb_dim", ...}; unknown
 * keys are ignored, known keys with unsupported values refused naming the key
 * and value. Parameters get the official initialisation (reference section 4)
 * drawn from the context seed.
 */
DDGAN_API ddgan_status_t ddgan_discriminator_create_json(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                         const char *config_json);
/** Loads a discriminator from an interchange-format file (config from
 *  __metadata__["config"], tensors by official name; a leading "module." is
 *  stripped). Equivalent to ddgan_discriminator_load_prefixed(out, ctx, path, NULL, NULL). */
DDGAN_API ddgan_status_t ddgan_discriminator_load(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                  const char *path);
/** prefix NULL or "" = none; config_key NULL = "config". Only tensors whose
 *  name starts with prefix are considered; among those, a missing, unexpected
 *  or misshaped tensor is DDGAN_ERR_FORMAT naming it. */
DDGAN_API ddgan_status_t ddgan_discriminator_load_prefixed(ddgan_discriminator_t *out, ddgan_context_t ctx,
                                                           const char *path, const char *prefix,
                                                           const char *config_key);
/** Writes the interchange format (no prefix), atomically. */
DDGAN_API ddgan_status_t ddgan_discriminator_save(ddgan_discriminator_t d, const char *path);
/** NULL is a no-op. */
DDGAN_API void ddgan_discriminator_destroy(ddgan_discriminator_t d);
/** The config JSON (owned by the handle; "" for an invalid handle). */
DDGAN_API const char *ddgan_discriminator_config_json(ddgan_discriminator_t d);
DDGAN_API ddgan_status_t ddgan_discriminator_summary(ddgan_discriminator_t d, ddgan_model_summary *out);
DDGAN_API size_t ddgan_discriminator_num_tensors(ddgan_discriminator_t d);
DDGAN_API ddgan_status_t ddgan_discriminator_tensor_info(ddgan_discriminator_t d, size_t index,
                                                         ddgan_tensor_info *out);

/**
 * logits[batch] = D(x_prev, t, x_t). Images: x_prev and x_t [batch, nc/2, H, W]
 * (H, W divisible by 8 for Discriminator_small, 64 for _large); batch must be
 * < 4 or a multiple of 4 (minibatch standard deviation, as the official code).
 * 2-D toy: [batch, 2].
 */
DDGAN_API ddgan_status_t ddgan_discriminator_forward(ddgan_discriminator_t d, const float *x_prev,
                                                     const int64_t *t, const float *x_t, size_t batch,
                                                     float *logits);
/**
 * R1: penalty = gamma/2 * mean_b ||d(sum D)/d x_prev_b||^2; its exact gradient
 * w.r.t. every parameter is ADDED to the discriminator's gradient buffers.
 * penalty_out may be NULL.
 */
DDGAN_API ddgan_status_t ddgan_discriminator_r1(ddgan_discriminator_t d, const float *x_prev,
                                                const int64_t *t, const float *x_t, size_t batch,
                                                float gamma, float *penalty_out);
/** Backward of sum_b dlogits[b] * D_b: parameter gradients are ADDED to the
 *  gradient buffers; dx_prev (may be NULL) receives d/dx_prev. */
DDGAN_API ddgan_status_t ddgan_discriminator_backward(ddgan_discriminator_t d, const float *x_prev,
                                                      const int64_t *t, const float *x_t, size_t batch,
                                                      const float *dlogits, float *dx_prev);
DDGAN_API ddgan_status_t ddgan_discriminator_zero_grad(ddgan_discriminator_t d);
/** name: official state_dict key; n must equal the tensor's element count. */
DDGAN_API ddgan_status_t ddgan_discriminator_get_param(ddgan_discriminator_t d, const char *name,
                                                       float *out, size_t n);
DDGAN_API ddgan_status_t ddgan_discriminator_set_param(ddgan_discriminator_t d, const char *name,
                                                       const float *in, size_t n);
DDGAN_API ddgan_status_t ddgan_discriminator_get_grad(ddgan_discriminator_t d, const char *name,
                                                      float *out, size_t n);

/* ------------------------------------------------------------------------ */
/* Generator (reference section 2; 2-D toy networks: docs/toy.md)           */
/* ------------------------------------------------------------------------ */

/**
 * Typed mirror of the generator's JSON config (official NCSNpp argument
 * names). ddgan_generator_config_init fills train_ddgan.py's defaults with
 * the CIFAR-10 architecture (image_size 32, num_channels 3, nf 128, ch_mult
 * 1 2 2 2, 2 res blocks, attention at 16, nz 100, z_emb_dim 256, n_mlp 4).
 * Strings may be NULL (= default). List lengths are given by the *_len fields.
 */
typedef struct ddgan_generator_config {
    uint32_t struct_size;
    const char *cls; /**< "NCSNpp" (default) or "ToyMLP" */
    int image_size, num_channels, num_channels_dae;
    int ch_mult[8];
    int ch_mult_len;
    int num_res_blocks;
    int attn_resolutions[8];
    int attn_resolutions_len;
    int nz, z_emb_dim, n_mlp;
    int centered, not_use_tanh, conditional, fir;
    double fir_kernel[8];
    int fir_kernel_len;
    int skip_rescale, resamp_with_conv;
    double dropout;
    const char *resblock_type, *progressive, *progressive_input, *progressive_combine, *embedding_type;
    /** The schedule travels with the weights, so a file alone can be sampled. */
    int num_timesteps;
    double beta_min, beta_max;
    int use_geometric;
    /** ToyMLP only (docs/toy.md): 2-D data. */
    int data_dim, hidden_dim, n_hidden, t_emb_dim;
    double lrelu_slope, data_scale;
} ddgan_generator_config;

DDGAN_API ddgan_status_t ddgan_generator_config_init(ddgan_generator_config *cfg, size_t struct_size);

/** Creates a generator from the typed config (official initialisation from the context seed). */
DDGAN_API ddgan_status_t ddgan_generator_create(ddgan_generator_t *out, ddgan_context_t ctx,
                                                const ddgan_generator_config *cfg);
/** Creates a generator from its JSON config (official argument names, as in
 *  the interchange format's __metadata__["config"]); unknown keys are ignored,
 *  unsupported values refused naming the key and value. */
DDGAN_API ddgan_status_t ddgan_generator_create_json(ddgan_generator_t *out, ddgan_context_t ctx,
                                                     const char *config_json);
DDGAN_API ddgan_status_t ddgan_generator_load(ddgan_generator_t *out, ddgan_context_t ctx, const char *path);
/** prefix NULL or "" = none (e.g. "G_ema." in a trainer checkpoint, "gen." in
 *  the test vectors); config_key NULL = "config". */
DDGAN_API ddgan_status_t ddgan_generator_load_prefixed(ddgan_generator_t *out, ddgan_context_t ctx,
                                                       const char *path, const char *prefix,
                                                       const char *config_key);
DDGAN_API ddgan_status_t ddgan_generator_save(ddgan_generator_t g, const char *path);
DDGAN_API void ddgan_generator_destroy(ddgan_generator_t g);
DDGAN_API const char *ddgan_generator_config_json(ddgan_generator_t g);
DDGAN_API ddgan_status_t ddgan_generator_summary(ddgan_generator_t g, ddgan_model_summary *out);
DDGAN_API size_t ddgan_generator_num_tensors(ddgan_generator_t g);
DDGAN_API ddgan_status_t ddgan_generator_tensor_info(ddgan_generator_t g, size_t index,
                                                     ddgan_tensor_info *out);
/** The schedule the generator was trained with (num_timesteps, beta_min,
 *  beta_max, use_geometric of its config; kind 0), so that a weights file
 *  alone can be sampled: pass it to ddgan_schedule_create (a DDPM model's
 *  caller sets kind = DDGAN_SCHEDULE_DDPM_LINEAR). */
DDGAN_API ddgan_status_t ddgan_generator_schedule_config(ddgan_generator_t g, ddgan_schedule_config *out);
/** Shape of one example: images C, H, W; 2-D toy data (2, 1, 1). nz receives the latent size. */
DDGAN_API ddgan_status_t ddgan_generator_shape(ddgan_generator_t g, int *channels, int *height,
                                               int *width, int *nz);

/**
 * x0_out = G(x_t, t, z): x_t [batch, C, H, W] (2-D: [batch, 2]), t in
 * 0 .. num_timesteps-1, z [batch, nz] or NULL (drawn from the context's host
 * stream). Any batch: the library splits large batches internally.
 */
DDGAN_API ddgan_status_t ddgan_generator_forward(ddgan_generator_t g, const float *x_t, const int64_t *t,
                                                 const float *z, size_t batch, float *x0_out);
/** Backward of sum(dx0 * G(x_t, t, z)): parameter gradients are ADDED to the
 *  gradient buffers (z must be given). */
DDGAN_API ddgan_status_t ddgan_generator_backward(ddgan_generator_t g, const float *x_t, const int64_t *t,
                                                  const float *z, size_t batch, const float *dx0);
DDGAN_API ddgan_status_t ddgan_generator_zero_grad(ddgan_generator_t g);
DDGAN_API ddgan_status_t ddgan_generator_get_param(ddgan_generator_t g, const char *name, float *out,
                                                   size_t n);
DDGAN_API ddgan_status_t ddgan_generator_set_param(ddgan_generator_t g, const char *name, const float *in,
                                                   size_t n);
DDGAN_API ddgan_status_t ddgan_generator_get_grad(ddgan_generator_t g, const char *name, float *out,
                                                  size_t n);

/* ------------------------------------------------------------------------ */
/* Sampling (reference 1.7)                                                 */
/* ------------------------------------------------------------------------ */

/**
 * Draws n samples with T = num_timesteps generator steps: x_T ~ N(0, I), then
 * for i = T-1 .. 0: z ~ N(0, I), x0 = G(x, i, z), x = posterior(x0, x, i).
 * out: [n, C, H, W] (2-D toy data: [n, 2], in data units: multiplied by the
 * config's data_scale). All draws come from (seed, sample index) — Philox
 * stream DDGAN_SAMPLE_STREAM_BASE + index of `seed` (docs/rng.md) — so the
 * result does not depend on internal batching or threads. The schedule must
 * have the generator's num_timesteps.
 */
DDGAN_API ddgan_status_t ddgan_sample(ddgan_generator_t g, ddgan_schedule_t s, size_t n, uint64_t seed,
                                      float *out);
/** Replay variant: x_init [n, C, H, W]; z_steps[i] [n, nz] and noise_steps[i]
 *  [n, C, H, W] for step i = T-1 .. 0, indexed by i (the official draw order
 *  per step is z, then noise). A NULL array (or NULL entry) is drawn as in
 *  ddgan_sample with seed 0. x_init and noise are in diffusion units. */
DDGAN_API ddgan_status_t ddgan_sample_with_draws(ddgan_generator_t g, ddgan_schedule_t s, size_t n,
                                                 const float *x_init, const float *const *z_steps,
                                                 const float *const *noise_steps, float *out);
/** As ddgan_sample, also writing every intermediate x: trajectory
 *  [(T + 1), n, C, H, W] holds x_T, x_{T-1}, ..., x_0 (data units). */
DDGAN_API ddgan_status_t ddgan_sample_trajectory(ddgan_generator_t g, ddgan_schedule_t s, size_t n,
                                                 uint64_t seed, float *trajectory);

/* ------------------------------------------------------------------------ */
/* Trainer (reference section 5)                                            */
/* ------------------------------------------------------------------------ */

typedef enum ddgan_lr_schedule {
    DDGAN_LR_CONSTANT = 0,
    DDGAN_LR_COSINE = 1 /**< cosine annealing per epoch to eta_min over num_epoch epochs */
} ddgan_lr_schedule;

/** Trainer configuration (official names; defaults of train_ddgan.py). */
typedef struct ddgan_trainer_config {
    uint32_t struct_size;
    int batch_size;   /**< the largest batch a step may take (memory is planned for it). Default 64 */
    float lr_g;       /**< 1.5e-4 */
    float lr_d;       /**< 1e-4 */
    float beta1;      /**< 0.5 */
    float beta2;      /**< 0.9 */
    float adam_eps;   /**< 1e-8 */
    float r1_gamma;   /**< 0.05 */
    int lazy_reg;     /**< R1 when global_step % lazy_reg == 0; 0 = every step (default) */
    int use_ema;      /**< 0 */
    float ema_decay;  /**< 0.9999 */
    int lr_schedule;  /**< DDGAN_LR_COSINE (default) or DDGAN_LR_CONSTANT */
    float eta_min;    /**< 1e-5 */
    int num_epoch;    /**< 1200 */
    int steps_per_epoch; /**< steps per epoch for the cosine schedule (epoch = global_step /
                              steps_per_epoch); default 1 */
    uint64_t seed;    /**< seed of the training draws. Default 1024 */
    int skip_nonfinite; /**< 1: a step with non-finite losses/gradients changes nothing and is
                             counted (ddgan_trainer_skipped_steps) instead of failing. Default 0 */
} ddgan_trainer_config;

DDGAN_API ddgan_status_t ddgan_trainer_config_init(ddgan_trainer_config *cfg, size_t struct_size);

/** Statistics of one step (float unless noted). */
typedef struct ddgan_step_stats {
    uint32_t struct_size;
    float err_d;        /**< err_d_real + err_d_fake (without R1, as the official log) */
    float err_d_real, err_d_fake, err_g;
    float r1_penalty;   /**< NaN when R1 was not applied this step */
    float d_real_mean, d_fake_mean;
    int64_t global_step; /**< after the step */
    float grad_norm_d, grad_norm_g; /**< L2 norms of the gradients the Adam steps used */
    float lr_d, lr_g;   /**< learning rates used */
    double seconds;     /**< wall time of the step */
} ddgan_step_stats;

DDGAN_API ddgan_status_t ddgan_step_stats_init(ddgan_step_stats *s, size_t struct_size);

/** Every random draw of one iteration (names as in the vectors: input.d.t, ...).
 *  A NULL member is drawn from the trainer's RNG. */
typedef struct ddgan_step_draws {
    uint32_t struct_size;
    const int64_t *d_t;
    const float *d_eps_pair, *d_eps_q, *d_z, *d_eps_post;
    const int64_t *g_t;
    const float *g_eps_pair, *g_eps_q, *g_z, *g_eps_post;
} ddgan_step_draws;

DDGAN_API ddgan_status_t ddgan_step_draws_init(ddgan_step_draws *d, size_t struct_size);

/**
 * Creates a trainer. It borrows g, d and s (they must outlive it); they must
 * share one context, and the schedule must have the generator's
 * num_timesteps. Adam and EMA state are allocated and the memory for a step of
 * cfg->batch_size is planned here.
 */
DDGAN_API ddgan_status_t ddgan_trainer_create(ddgan_trainer_t *out, ddgan_generator_t g,
                                              ddgan_discriminator_t d, ddgan_schedule_t s,
                                              const ddgan_trainer_config *cfg);
DDGAN_API void ddgan_trainer_destroy(ddgan_trainer_t tr);

/** One iteration in the official order (reference 5.2) on real data x0
 *  [batch, C, H, W] in [-1, 1] (2-D toy data: [batch, 2] in data units).
 *  stats may be NULL. */
DDGAN_API ddgan_status_t ddgan_trainer_step(ddgan_trainer_t tr, const float *x0, size_t batch,
                                            ddgan_step_stats *stats);
DDGAN_API ddgan_status_t ddgan_trainer_step_with_draws(ddgan_trainer_t tr, const float *x0, size_t batch,
                                                       const ddgan_step_draws *draws,
                                                       ddgan_step_stats *stats);
/** Moves the lazy-R1 phase, the epoch and the learning rate. */
DDGAN_API ddgan_status_t ddgan_trainer_set_global_step(ddgan_trainer_t tr, int64_t step);
DDGAN_API int64_t ddgan_trainer_global_step(ddgan_trainer_t tr);
/** Steps skipped because of non-finite values (skip_nonfinite = 1). */
DDGAN_API int64_t ddgan_trainer_skipped_steps(ddgan_trainer_t tr);
/** Full state in one safetensors file, written atomically (docs/training.md). */
DDGAN_API ddgan_status_t ddgan_trainer_save(ddgan_trainer_t tr, const char *path);
/** Restores a checkpoint into a trainer built with the same configs. On any
 *  error the trainer is left untouched. */
DDGAN_API ddgan_status_t ddgan_trainer_load(ddgan_trainer_t tr, const char *path);
/**
 * Attaches a data loader (borrowed: it must outlive the trainer or be
 * detached with ds = NULL). Checkpoints then hold its position (tensor
 * "data.state", ddgan_dataset_get_state), and ddgan_trainer_load moves it
 * back, so a resumed run sees exactly the batches of an uninterrupted one.
 * A checkpoint without "data.state" leaves the loader where it is; one whose
 * position does not fit the dataset (another size, seed or shuffle) is
 * refused and nothing changes.
 */
DDGAN_API ddgan_status_t ddgan_trainer_attach_dataset(ddgan_trainer_t tr, ddgan_dataset_t ds);
/** Sets a string stored in the __metadata__ of the checkpoints this trainer
 *  writes (value NULL removes it; at most 16 keys). The format's own keys
 *  (format, config, D_config, trainer_config, schedule, library) are refused.
 *  Read it back with ddgan_file_metadata. */
DDGAN_API ddgan_status_t ddgan_trainer_set_metadata(ddgan_trainer_t tr, const char *key, const char *value);
/** A new caller-owned generator holding a copy of the current EMA weights
 *  (DDGAN_ERR_UNSUPPORTED when use_ema is off). */
DDGAN_API ddgan_status_t ddgan_trainer_ema_generator(ddgan_generator_t *out, ddgan_trainer_t tr);

/* ------------------------------------------------------------------------ */
/* DDPM baseline (docs/ddpm.md)                                             */
/* ------------------------------------------------------------------------ */

/*
 * The comparison of the seed experiment: DDPM (Ho et al. 2020) with the same
 * generator network used as an epsilon-predictor eps_theta(x_t, t) with a
 * zero latent, trained with the MSE objective on a linear beta schedule, and
 * sampled by ancestral sampling over a configurable number of strided steps.
 * No discriminator. Checkpoints use the trainer's layout, so
 * ddgan_generator_load_prefixed(path, "G_ema.", "config") loads a DDPM model.
 */

/** Values of ddgan_schedule_config.kind. */
typedef enum ddgan_schedule_kind {
    DDGAN_SCHEDULE_DDGAN = 0,      /**< DDGAN's VP (or geometric) grid of T + 1 points */
    DDGAN_SCHEDULE_DDPM_LINEAR = 1 /**< DDPM: betas = linspace(beta_min, beta_max, T), float64 */
} ddgan_schedule_kind;

/*
 * A DDPM schedule (kind DDGAN_SCHEDULE_DDPM_LINEAR) needs 0 < beta_min <=
 * beta_max < 1 and use_geometric 0 (DDPM: T = 1000, 1e-4, 0.02). Its
 * coefficients, read with ddgan_schedule_coef / _coef_f64, all have n = T and
 * index t = 0 .. T-1 (DDPM's GaussianDiffusion names with a "ddpm_" prefix):
 *   "ddpm_betas", "ddpm_alphas", "ddpm_alphas_cumprod" (abar_t),
 *   "ddpm_alphas_cumprod_prev", "ddpm_sqrt_alphas_cumprod",
 *   "ddpm_sqrt_one_minus_alphas_cumprod", "ddpm_sqrt_recip_alphas_cumprod",
 *   "ddpm_sqrt_recipm1_alphas_cumprod", "ddpm_posterior_variance",
 *   "ddpm_posterior_log_variance_clipped" (index 0 takes index 1's variance,
 *   as DDPM), "ddpm_posterior_mean_coef1", "ddpm_posterior_mean_coef2".
 * float64 as DDPM computes them (numpy float64); float32 = the float64 value
 * rounded once. The DDGAN names are refused for this kind, and the "ddpm_*"
 * names for kind 0 (DDGAN_ERR_INVALID_ARGUMENT). The host helpers:
 * ddgan_schedule_q_sample gives x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps;
 * ddgan_schedule_sample_posterior samples DDPM's q(x_{t-1} | x_t, x0) (pass
 * x_t as x_tp1); ddgan_schedule_q_sample_pairs is refused.
 */

typedef struct ddgan_ddpm_trainer *ddgan_ddpm_trainer_t; /**< Adam, EMA, counters */

/** DDPM trainer configuration (defaults of the DDPM CIFAR-10 run, Ho et al. 2020). */
typedef struct ddgan_ddpm_trainer_config {
    uint32_t struct_size;
    int batch_size;   /**< the largest batch a step may take (memory is planned for it). Default 128 */
    float lr;         /**< 2e-4 */
    float beta1;      /**< Adam beta1, 0.9 */
    float beta2;      /**< Adam beta2, 0.999 */
    float adam_eps;   /**< 1e-8 */
    int warmup;       /**< linear learning-rate warm-up: lr * min(1, (global_step + 1) / warmup);
                           0 = none (default; DDPM used 5000) */
    float grad_clip;  /**< clip the gradient's global L2 norm to this (g *= clip / max(norm,
                           clip)); 0 = off. Default 1.0 */
    int use_ema;      /**< 1 */
    float ema_decay;  /**< 0.9999 */
    uint64_t seed;    /**< seed of the training draws (t, eps). Default 1024 */
    int skip_nonfinite; /**< 1: a step with a non-finite loss or gradient changes nothing and
                             is counted (ddgan_ddpm_trainer_skipped_steps) instead of failing.
                             Default 0 */
} ddgan_ddpm_trainer_config;

DDGAN_API ddgan_status_t ddgan_ddpm_trainer_config_init(ddgan_ddpm_trainer_config *cfg,
                                                        size_t struct_size);

/**
 * Creates a DDPM trainer. It borrows g and s (they must outlive it and share
 * one context). s must be a DDPM schedule (kind DDGAN_SCHEDULE_DDPM_LINEAR)
 * with T equal to the generator's num_timesteps. g is "NCSNpp" with
 * not_use_tanh true (eps is unbounded) and the positional time embedding
 * (Fourier takes log t), or "ToyMLP" (2-D data; x0 is divided by data_scale).
 * The memory of a step of cfg->batch_size is planned here. cfg may be NULL.
 */
DDGAN_API ddgan_status_t ddgan_ddpm_trainer_create(ddgan_ddpm_trainer_t *out, ddgan_generator_t g,
                                                   ddgan_schedule_t s,
                                                   const ddgan_ddpm_trainer_config *cfg);
DDGAN_API void ddgan_ddpm_trainer_destroy(ddgan_ddpm_trainer_t tr);

/**
 * One step on x0 [batch, C, H, W] (images in [-1, 1]; 2-D toy data [batch, 2]
 * in data units), 1 <= batch <= batch_size: t ~ U{0..T-1}, eps ~ N(0, I),
 * x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, loss = mean over all elements
 * of (G(x_t, t, z = 0) - eps)^2; backward, gradient clipping, Adam, EMA.
 * loss (may be NULL) receives the loss of the step.
 */
DDGAN_API ddgan_status_t ddgan_ddpm_trainer_step(ddgan_ddpm_trainer_t tr, const float *x0, size_t batch,
                                                 float *loss);
/** Steps taken (-1 for an invalid handle). */
DDGAN_API int64_t ddgan_ddpm_trainer_global_step(ddgan_ddpm_trainer_t tr);
/** Steps skipped because of non-finite values (skip_nonfinite = 1). */
DDGAN_API int64_t ddgan_ddpm_trainer_skipped_steps(ddgan_ddpm_trainer_t tr);
/** Full state in one safetensors file, written atomically (docs/ddpm.md):
 *  G., G_ema. (use_ema), flat Adam moments, counters; format
 *  "ddgan-ddpm-checkpoint/1". */
DDGAN_API ddgan_status_t ddgan_ddpm_trainer_save(ddgan_ddpm_trainer_t tr, const char *path);
/** Restores a checkpoint into a trainer built with the same generator config
 *  and schedule. On any error the trainer is left untouched. */
DDGAN_API ddgan_status_t ddgan_ddpm_trainer_load(ddgan_ddpm_trainer_t tr, const char *path);
/** A new caller-owned generator holding a copy of the current EMA weights
 *  (DDGAN_ERR_UNSUPPORTED when use_ema is off). */
DDGAN_API ddgan_status_t ddgan_ddpm_trainer_ema_generator(ddgan_generator_t *out,
                                                          ddgan_ddpm_trainer_t tr);
/** As ddgan_trainer_attach_dataset and ddgan_trainer_set_metadata. */
DDGAN_API ddgan_status_t ddgan_ddpm_trainer_attach_dataset(ddgan_ddpm_trainer_t tr, ddgan_dataset_t ds);
DDGAN_API ddgan_status_t ddgan_ddpm_trainer_set_metadata(ddgan_ddpm_trainer_t tr, const char *key,
                                                         const char *value);

/**
 * DDPM ancestral sampling with an eps-predicting generator (as trained
 * above) over num_steps (1 .. T) evenly strided timesteps of the DDPM
 * schedule s (T = the generator's num_timesteps): num_steps = T is the full
 * chain; fewer respace it (Improved DDPM): kept steps tau_i =
 * round(i (T-1) / (num_steps-1)), abar'_i = abar[tau_i],
 * beta'_i = 1 - abar'_i / abar'_{i-1}. x_T ~ N(0, I); each step predicts
 * x0 = (x - sqrt(1 - abar'_i) eps_theta(x, tau_i, z = 0)) / sqrt(abar'_i)
 * (clipped to [-1, 1] for image generators), takes the posterior mean and
 * adds sqrt(beta-tilde'_i) noise (none at the last step). out: [n, C, H, W]
 * (2-D toy data: [n, 2] in data units). All draws come from (seed, sample
 * index): Philox stream 3 * 2^32 + index of `seed` (docs/ddpm.md), so
 * results do not depend on internal batching, and x_T does not depend on
 * num_steps.
 */
DDGAN_API ddgan_status_t ddgan_ddpm_sample(ddgan_generator_t g, ddgan_schedule_t s, size_t n,
                                           int num_steps, uint64_t seed, float *out);

/* ------------------------------------------------------------------------ */
/* Datasets and the data loader (docs/data.md)                              */
/* ------------------------------------------------------------------------ */

/* ddgan_dataset_t (a fixed list of examples with its loader position) is declared with the other handles. */

/** Values of ddgan_dataset_config.kind. */
typedef enum ddgan_dataset_kind {
    DDGAN_DATASET_IDX = 0,           /**< MNIST / Fashion-MNIST / EMNIST IDX files, raw or gzip */
    DDGAN_DATASET_STACKED_MNIST = 1, /**< three MNIST digits on three channels, label 100a+10b+c */
    DDGAN_DATASET_CIFAR10 = 2,       /**< CIFAR-10 binary batches */
    DDGAN_DATASET_IMAGE_FOLDER = 3,  /**< PNG (and JPEG, when built with libjpeg) files */
    DDGAN_DATASET_GRID25 = 4,        /**< 25 Gaussians, means {-4,-2,0,2,4}^2, sigma 0.05 */
    DDGAN_DATASET_RING8 = 5          /**< 8 Gaussians at radius (cos, sin)(2 pi k/8), sigma 0.01 */
} ddgan_dataset_kind;

/** Values of ddgan_dataset_config.split and .resize. */
typedef enum ddgan_dataset_split { DDGAN_DATASET_TRAIN = 0, DDGAN_DATASET_TEST = 1 } ddgan_dataset_split;
typedef enum ddgan_resize_filter { DDGAN_RESIZE_BILINEAR = 0, DDGAN_RESIZE_AREA = 1 } ddgan_resize_filter;

/** Length of the serialised loader state (ddgan_dataset_get_state). */
#define DDGAN_DATASET_STATE_LEN 5

typedef struct ddgan_dataset_config {
    uint32_t struct_size;
    int kind;                  /**< ddgan_dataset_kind. Default DDGAN_DATASET_IDX */
    /** IDX / StackedMNIST: a folder with <idx_prefix><train|t10k>-{images-idx3,labels-idx1}-ubyte[.gz],
     *  or the images file. CIFAR-10: a folder with data_batch_1..5.bin / test_batch.bin (directly or
     *  in cifar-10-batches-bin/), or one batch file. Image folder: searched recursively. Default NULL */
    const char *path;
    const char *labels_path;   /**< IDX labels file when path is an images file (NULL: labels -1) */
    const char *const *paths;  /**< instead of path: CIFAR-10 batch files or image files, in order */
    size_t num_paths;
    const char *idx_prefix;    /**< e.g. "emnist-balanced-"; default NULL ("") */
    int split;                 /**< DDGAN_DATASET_TRAIN (default) or DDGAN_DATASET_TEST */
    int transpose;             /**< IDX: swap H and W of every image (EMNIST). Default 0 */
    int channels;              /**< 0: the source's (IDX 1, others 3); 1 or 3 converts. Default 0 */
    int image_size;            /**< 0: native; S: resize the shorter side to S, centre-crop S x S */
    int resize;                /**< DDGAN_RESIZE_BILINEAR (default, PIL-like antialiased) or _AREA */
    int lazy;                  /**< image folder: decode when served instead of at open. Default 0 */
    int pad;                   /**< pixels added on each side with the background value -1. Default 0 */
    int hflip;                 /**< random horizontal flips (p = 1/2). Default 0 */
    int shuffle;               /**< seeded permutation per epoch (default 1); 0: source order */
    uint64_t seed;             /**< loader seed (order, flips). Default 0 */
    uint64_t data_seed;        /**< StackedMNIST composition, mixture draws. Default 0 */
    int64_t num_examples;      /**< 0: all / default (StackedMNIST 2 x digits, mixtures 100000);
                                    files: the first N; StackedMNIST, mixtures: exactly N */
    double radius;             /**< RING8 radius; 0 = 1 */
    double sigma;              /**< mixtures' standard deviation; 0 = 0.05 (grid) / 0.01 (ring) */
    /* appended fields may follow */
} ddgan_dataset_config;

/** Fills the defaults above; struct_size = sizeof(ddgan_dataset_config) of the caller. */
DDGAN_API ddgan_status_t ddgan_dataset_config_init(ddgan_dataset_config *cfg, size_t struct_size);

/**
 * Opens a dataset; files are read (and, unless lazy, decoded) here. A missing
 * or unreadable file is DDGAN_ERR_IO, a malformed one DDGAN_ERR_FORMAT, a valid
 * but unhandled one (IDX types other than ubyte, JPEG without libjpeg, CMYK)
 * DDGAN_ERR_UNSUPPORTED, each with a message naming the file and the problem.
 * The position starts at (epoch 0, index 0).
 */
DDGAN_API ddgan_status_t ddgan_dataset_open(ddgan_dataset_t *out, const ddgan_dataset_config *cfg);
/** Destroys a dataset. NULL is a no-op. */
DDGAN_API void ddgan_dataset_destroy(ddgan_dataset_t ds);
/** Number of examples N (0 for an invalid handle). */
DDGAN_API int64_t ddgan_dataset_size(ddgan_dataset_t ds);
/** Shape of one served example (after padding); 2-D mixtures: 2, 1, 1. Any pointer may be NULL. */
DDGAN_API ddgan_status_t ddgan_dataset_shape(ddgan_dataset_t ds, int *channels, int *height, int *width);
/** Full batches per epoch at this batch size: N / batch (0 for batch 0, batch > N or an invalid handle). */
DDGAN_API int64_t ddgan_dataset_batches_per_epoch(ddgan_dataset_t ds, size_t batch);
/** Example `index` in source order, padded, never flipped: out [C, H, W]; label may be NULL. */
DDGAN_API ddgan_status_t ddgan_dataset_get(ddgan_dataset_t ds, int64_t index, float *out, int64_t *label);
/**
 * The next batch: out [batch, C, H, W] (images in [-1, 1]; 2-D data [batch, 2]
 * in data units), labels [batch] (may be NULL; -1 when the source has none).
 * 1 <= batch <= N. When fewer than `batch` examples remain in the epoch they
 * are dropped and the batch starts the next epoch, whose permutation depends
 * only on (seed, epoch). A failing call leaves the position unchanged.
 */
DDGAN_API ddgan_status_t ddgan_dataset_next_batch(ddgan_dataset_t ds, size_t batch, float *out,
                                                  int64_t *labels);
/** Position: the next batch starts at slot `index` (0..N) of epoch `epoch`. */
DDGAN_API ddgan_status_t ddgan_dataset_get_position(ddgan_dataset_t ds, int64_t *epoch, int64_t *index);
/** Moves to a position: 0 <= epoch < 2^40, 0 <= index <= N. */
DDGAN_API ddgan_status_t ddgan_dataset_set_position(ddgan_dataset_t ds, int64_t epoch, int64_t index);
/**
 * The position for a checkpoint: out[0..n-1] = {epoch, index, N, seed (as
 * int64 bits), shuffle}; n must be DDGAN_DATASET_STATE_LEN. set_state checks
 * N, seed and shuffle against this dataset, then moves to the position: the
 * batches that follow are exactly those an uninterrupted run would get.
 */
DDGAN_API ddgan_status_t ddgan_dataset_get_state(ddgan_dataset_t ds, int64_t *out, size_t n);
DDGAN_API ddgan_status_t ddgan_dataset_set_state(ddgan_dataset_t ds, const int64_t *state, size_t n);

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

/**
 * Reads the string `key` of a safetensors file's __metadata__ (weights files:
 * "config"; trainer checkpoints: "format", "config", "D_config",
 * "trainer_config", ..., and the strings set with ddgan_trainer_set_metadata).
 * *len (may be NULL) receives its length without the terminating NUL. With
 * out NULL and cap 0 only the length is returned; otherwise cap must exceed
 * the length (DDGAN_ERR_INVALID_ARGUMENT, *len set, when it does not). A file
 * without the key is DDGAN_ERR_FORMAT; unreadable or malformed files as
 * ddgan_generator_load.
 */
DDGAN_API ddgan_status_t ddgan_file_metadata(const char *path, const char *key, char *out, size_t cap,
                                             size_t *len);

/* ------------------------------------------------------------------------ */
/* Evaluation (docs/eval.md)                                                */
/* ------------------------------------------------------------------------ */

/*
 * Metrics of the paper's experiments: the 2-D mixtures (VEEGAN / PacGAN
 * protocol), a digit classifier trained with this library, StackedMNIST mode
 * counting, the Frechet distance and improved precision / recall in the
 * classifier's feature space, and sampling speed. Everything runs on the host
 * in float64 except the classifier, which runs on the context's backend.
 */

/** Values of the `mixture` argument of ddgan_eval_toy. */
typedef enum ddgan_toy_mixture {
    DDGAN_TOY_GRID25 = 0, /**< 25 modes (a, b), a, b in {-4,-2,0,2,4}; sigma 0.05 */
    DDGAN_TOY_RING8 = 1   /**< 8 modes (cos 2 pi k/8, sin 2 pi k/8) (radius 1); sigma 0.01 */
} ddgan_toy_mixture;

/** Most modes a 2-D mixture has (the size of ddgan_toy_metrics.mode_counts). */
#define DDGAN_TOY_MAX_MODES 32

/** Result of ddgan_eval_toy. */
typedef struct ddgan_toy_metrics {
    uint32_t struct_size;
    int num_modes;        /**< modes of the mixture: 25 or 8 */
    int modes;            /**< covered modes: nearest mode of at least one high-quality sample */
    double hq_fraction;   /**< high-quality samples / samples, in [0, 1] */
    double reverse_kl;    /**< KL(p || uniform) in nats, p = nearest-mode histogram of the
                               high-quality samples; ln(num_modes) for a collapse onto one mode;
                               NaN when there is no high-quality sample */
    int64_t num_samples;  /**< n */
    int64_t num_hq;       /**< high-quality samples */
    int64_t mode_counts[DDGAN_TOY_MAX_MODES]; /**< high-quality samples per mode (num_modes used) */
} ddgan_toy_metrics;

/** Zeroes a result struct and sets struct_size (= sizeof of the caller's struct). */
DDGAN_API ddgan_status_t ddgan_toy_metrics_init(ddgan_toy_metrics *m, size_t struct_size);

/**
 * Scores n >= 1 2-D samples [n, 2] in data units (what ddgan_sample returns
 * for a ToyMLP generator, i.e. after data_scale) against `mixture`: a sample
 * is high quality when its distance to the nearest mode is at most 3 sigma.
 * Non-finite samples count as samples that are not high quality.
 */
DDGAN_API ddgan_status_t ddgan_eval_toy(const float *samples, size_t n, int mixture,
                                        ddgan_toy_metrics *out);

/* ---- Frechet distance and precision / recall ---------------------------- */

/**
 * Mean mu [dim] and covariance sigma [dim, dim] (unbiased, divided by n - 1)
 * of n >= 2 feature rows [n, dim], accumulated in float64.
 */
DDGAN_API ddgan_status_t ddgan_feature_stats(const float *features, size_t n, size_t dim, double *mu,
                                             double *sigma);

/**
 * Frechet distance between N(mu1, sigma1) and N(mu2, sigma2):
 *   |mu1 - mu2|^2 + tr(sigma1) + tr(sigma2) - 2 tr sqrt(sigma1 sigma2),
 * with tr sqrt(sigma1 sigma2) = sum_i sqrt(lambda_i(sqrt(sigma1) sigma2 sqrt(sigma1)))
 * from two symmetric eigendecompositions (docs/eval.md). Covariances must be
 * symmetric positive semi-definite (tiny negative eigenvalues from rounding
 * are clamped to 0); 1 <= dim <= 1024 (O(dim^3)). *out >= 0.
 */
DDGAN_API ddgan_status_t ddgan_frechet_distance(const double *mu1, const double *sigma1,
                                                const double *mu2, const double *sigma2, size_t dim,
                                                double *out);

/** ddgan_feature_stats of both sets, then ddgan_frechet_distance. */
DDGAN_API ddgan_status_t ddgan_frechet_distance_features(const float *real, size_t n_real,
                                                         const float *fake, size_t n_fake, size_t dim,
                                                         double *out);

/**
 * Improved precision and recall (Kynkaenniemi et al. 2019) of feature sets
 * real [n_real, dim] and fake [n_fake, dim]: the manifold of a set is the
 * union of balls around its points, each with the radius of the distance to
 * its k-th nearest other point of the same set. precision = fraction of fake
 * points inside the real manifold, recall = fraction of real points inside
 * the fake manifold. 1 <= k <= 64 (the paper: 3); both sets need more than k points.
 * Either output may be NULL. Cost O((n_real + n_fake)^2 dim).
 */
DDGAN_API ddgan_status_t ddgan_precision_recall(const float *real, size_t n_real, const float *fake,
                                                size_t n_fake, size_t dim, int k, double *precision,
                                                double *recall);

/* ---- digit classifier ---------------------------------------------------- */

/** A small CNN classifying 32 x 32 digits (MNIST padded 28 -> 32, in [-1, 1]). */
typedef struct ddgan_classifier *ddgan_classifier_t;

/** Number of classes and input size of the classifier. */
#define DDGAN_CLASSIFIER_CLASSES 10
#define DDGAN_CLASSIFIER_SIZE 32

/** Training configuration of ddgan_classifier_train. */
typedef struct ddgan_classifier_config {
    uint32_t struct_size;
    int epochs;        /**< passes over the training set. Default 6 */
    int batch_size;    /**< default 64 */
    float lr;          /**< Adam learning rate (cosine-annealed to 0 over training). Default 3e-3 */
    float beta1;       /**< 0.9 */
    float beta2;       /**< 0.999 */
    float adam_eps;    /**< 1e-8 */
    int max_shift;     /**< augmentation: random translation by up to this many pixels. Default 2 */
    uint64_t seed;     /**< initialisation, order and augmentation. Default 0 */
    int width;         /**< channels of the first conv (then 2x, 4x). Default 32 */
    int hidden;        /**< width of the penultimate (feature) layer. Default 128 */
} ddgan_classifier_config;

/** Fills the defaults above; struct_size = sizeof(ddgan_classifier_config) of the caller. */
DDGAN_API ddgan_status_t ddgan_classifier_config_init(ddgan_classifier_config *cfg, size_t struct_size);

/**
 * Trains a classifier on n examples: images [n, 1, 32, 32] in [-1, 1] (as
 * ddgan_dataset_open serves MNIST with pad = 2), labels [n] in 0..9. Runs on
 * ctx's backend ("cpu" is much faster than "ref"); progress is logged at
 * DDGAN_LOG_INFO. cfg may be NULL (defaults). The result depends only on the
 * inputs, cfg and the backend (and, for "cpu", its thread count).
 */
DDGAN_API ddgan_status_t ddgan_classifier_train(ddgan_classifier_t *out, ddgan_context_t ctx,
                                                const float *images, const int64_t *labels, size_t n,
                                                const ddgan_classifier_config *cfg);
/** Loads a classifier saved by ddgan_classifier_save (safetensors, config JSON in
 *  __metadata__["config"], "format": "ddgan-classifier/1"). */
DDGAN_API ddgan_status_t ddgan_classifier_load(ddgan_classifier_t *out, ddgan_context_t ctx,
                                               const char *path);
/** Saves the weights atomically. */
DDGAN_API ddgan_status_t ddgan_classifier_save(ddgan_classifier_t c, const char *path);
/** NULL is a no-op. */
DDGAN_API void ddgan_classifier_destroy(ddgan_classifier_t c);
/** Length of the feature vector of one image channel (the hidden width; 0 for an invalid handle). */
DDGAN_API size_t ddgan_classifier_feature_dim(ddgan_classifier_t c);
/** The config JSON (owned by the handle; NULL for an invalid handle). */
DDGAN_API const char *ddgan_classifier_config_json(ddgan_classifier_t c);

/**
 * Classifies every channel of n images [n, channels, 32, 32] in [-1, 1] as
 * a digit: labels [n * channels] (label of channel c of image i at
 * i * channels + c); probs [n * channels, 10] softmax probabilities (may be
 * NULL; labels may be NULL too).
 */
DDGAN_API ddgan_status_t ddgan_classifier_predict(ddgan_classifier_t c, const float *images, size_t n,
                                                  int channels, int64_t *labels, float *probs);
/**
 * Penultimate-layer features: features [n, channels * feature_dim], the
 * features of channel 0, then of channel 1, ... of each image.
 */
DDGAN_API ddgan_status_t ddgan_classifier_features(ddgan_classifier_t c, const float *images, size_t n,
                                                   int channels, float *features);
/** Fraction of n single-channel images whose predicted label equals labels[i]. */
DDGAN_API ddgan_status_t ddgan_classifier_accuracy(ddgan_classifier_t c, const float *images,
                                                   const int64_t *labels, size_t n, double *accuracy);

/* ---- StackedMNIST --------------------------------------------------------- */

/** StackedMNIST mode statistics (1000 modes 100 a + 10 b + c). */
typedef struct ddgan_stacked_metrics {
    uint32_t struct_size;
    int modes;           /**< labels seen at least once, of 1000 */
    double kl;           /**< KL(p || uniform) = sum_m p_m ln(1000 p_m), nats */
    int64_t num_samples;
} ddgan_stacked_metrics;

/** Zeroes a result struct and sets struct_size (= sizeof of the caller's struct). */
DDGAN_API ddgan_status_t ddgan_stacked_metrics_init(ddgan_stacked_metrics *m, size_t struct_size);

/** Mode statistics of n >= 1 labels in 0..999 (e.g. a dataset's true labels). */
DDGAN_API ddgan_status_t ddgan_stacked_metrics_from_labels(const int64_t *labels, size_t n,
                                                           ddgan_stacked_metrics *out);

/**
 * Classifies each channel of n StackedMNIST images [n, 3, 32, 32] and scores
 * the labels 100 a + 10 b + c (a = channel 0). labels (may be NULL) receives
 * them [n]. The paper's protocol uses n = 26,000; uniform data then gives
 * KL ~ 0.019 (finite-sample floor, (1000 - 1) / (2 n)).
 */
DDGAN_API ddgan_status_t ddgan_eval_stacked(ddgan_classifier_t c, const float *images, size_t n,
                                            ddgan_stacked_metrics *out, int64_t *labels);

/**
 * The same for real data: the first n examples (source order) of a dataset
 * of 3 x 32 x 32 images (StackedMNIST opened with pad = 2).
 */
DDGAN_API ddgan_status_t ddgan_eval_stacked_dataset(ddgan_classifier_t c, ddgan_dataset_t ds, size_t n,
                                                    ddgan_stacked_metrics *out);

/* ---- image quality -------------------------------------------------------- */

/** Result of ddgan_eval_images. */
typedef struct ddgan_image_metrics {
    uint32_t struct_size;
    double frechet;     /**< Frechet distance of the classifier features */
    double precision;   /**< improved precision (k = 3) */
    double recall;      /**< improved recall (k = 3) */
    size_t feature_dim; /**< channels * ddgan_classifier_feature_dim */
} ddgan_image_metrics;

/** Zeroes a result struct and sets struct_size (= sizeof of the caller's struct). */
DDGAN_API ddgan_status_t ddgan_image_metrics_init(ddgan_image_metrics *m, size_t struct_size);

/**
 * Frechet distance and precision / recall (k = 3) between real [n_real,
 * channels, 32, 32] and fake [n_fake, channels, 32, 32] images in the
 * classifier's feature space (ddgan_classifier_features). Real against other
 * real images gives the floor of each number at that sample size.
 */
DDGAN_API ddgan_status_t ddgan_eval_images(ddgan_classifier_t c, const float *real, size_t n_real,
                                           const float *fake, size_t n_fake, int channels,
                                           ddgan_image_metrics *out);

/* ---- sampling speed ------------------------------------------------------- */

/**
 * Wall-clock seconds per image of sampling n images with generator g:
 * num_steps = 0 times ddgan_sample (s a DDGAN schedule, T = its steps);
 * num_steps >= 1 times ddgan_ddpm_sample with that many steps (s a DDPM
 * schedule). One untimed run of the same n first (memory planning, caches),
 * then `repeats` >= 1 timed runs; *sec_per_image is the fastest run / n.
 * The same g, backend and n for both calls make the two numbers comparable.
 */
DDGAN_API ddgan_status_t ddgan_time_sampling(ddgan_generator_t g, ddgan_schedule_t s, size_t n,
                                             int num_steps, int repeats, uint64_t seed,
                                             double *sec_per_image);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DDGAN_DDGAN_H */
