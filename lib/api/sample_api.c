/*
 * Public entry points: sampling (reference 1.7, sample_from_model).
 *
 *   x <- x_init; for i = T-1 .. 0: z ~ N(0, I); x0 = G(x, i, z);
 *   x <- posterior(x0, x, i) (eps drawn even at i = 0, multiplied by 0)
 *
 * The whole chain runs on the device of the generator's context: draws with
 * the backend's Philox op, G's forward, and the posterior as broadcast
 * elementwise ops (diffusion/sampler.h). Requests run in chunks of at most
 * SAMPLE_CHUNK examples; each chunk's memory is planned by a dry run in the
 * generator handle's arena (plan key mode MODE_SAMPLE), so repeated calls
 * with the same chunk sizes allocate nothing.
 *
 * Randomness: sample k of a request (0-based) draws from Philox stream
 * DDGAN_SAMPLE_STREAM_BASE + k of the seed, x_init first, then z and eps of
 * each step (docs/rng.md), so results do not depend on the chunking.
 *
 * Units: the generator and the posterior work in diffusion units. A ToyMLP
 * generator's results (output and trajectory) are multiplied by its config's
 * data_scale (docs/toy.md); image generators are not scaled.
 *
 * Schedule checks: only a different num_timesteps is refused (the chain would
 * call G with time indices it was not trained on, or skip some). A schedule
 * whose beta_min / beta_max / use_geometric differ from the generator's
 * config is used as given, with a warning through the context's log.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "diffusion/sampler.h"
#include "model/handles.h"

/* Plan-key mode of a sampling chunk; the generator's own forward (1) and
 * backward (2) see a different key and re-plan. */
enum { MODE_SAMPLE = 3 };
/* Largest chunk one pass plans for (the generator handle's initial batch bound). */
#define SAMPLE_CHUNK 64

static ddgan_status_t check_gen(ddgan_generator_t g, const char *fn)
{
    if (!g)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: generator is NULL", fn);
    if (g->magic != DDGAN_MAGIC_GENERATOR)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: invalid generator handle (destroyed, or not a generator)", fn);
    return DDGAN_OK;
}

static ddgan_status_t check_sched(ddgan_schedule_t s, const char *fn)
{
    if (!s)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: schedule is NULL", fn);
    if (s->magic != DDGAN_MAGIC_SCHEDULE)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: invalid schedule handle (destroyed, or not a schedule)", fn);
    return DDGAN_OK;
}

static int differs(double a, double b) { return fabs(a - b) > 1e-12 * fmax(fabs(a), fabs(b)); }

/* Shared argument checks; *per receives C*H*W. */
static ddgan_status_t validate(ddgan_generator_t g, ddgan_schedule_t s, size_t n, const void *out,
                               size_t frames, size_t *per, const char *fn)
{
    DDGAN_TRY(check_gen(g, fn));
    DDGAN_TRY(check_sched(s, fn));
    if (n < 1 || n > ((size_t)1 << 30))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: n = %zu not in [1, 2^30]", fn, n);
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                         frames > 1 ? "trajectory" : "out");
    if (s->cfg.kind != DDGAN_SCHEDULE_DDGAN)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the schedule is a DDPM schedule (kind %d); DDGAN needs kind "
                         "DDGAN_SCHEDULE_DDGAN (use ddgan_ddpm_* for the DDPM baseline)",
                         fn, (int)s->cfg.kind);
    if (s->T != g->cfg.num_timesteps)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "%s: the schedule has num_timesteps %d but the generator's config has %d", fn,
                         s->T, g->cfg.num_timesteps);
    int c, h, w, nz;
    ddgan__handle_gen_example_shape(g, &c, &h, &w, &nz);
    *per = (size_t)c * (size_t)h * (size_t)w;
    size_t total;
    if (!ddgan__mul_size(n, *per, &total) || !ddgan__mul_size(total, frames, &total) ||
        total > ((size_t)1 << 40))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: n = %zu samples of %zu values are too many",
                         fn, n, *per);
    if (differs(s->cfg.beta_min, g->cfg.beta_min) || differs(s->cfg.beta_max, g->cfg.beta_max) ||
        (s->cfg.use_geometric != 0) != (g->cfg.use_geometric != 0))
        ddgan__log(g->ctx, DDGAN_LOG_WARN,
                   "%s: the schedule (beta_min %g, beta_max %g, use_geometric %d) differs from the "
                   "generator's config (beta_min %g, beta_max %g, use_geometric %d); sampling with "
                   "the schedule given",
                   fn, s->cfg.beta_min, s->cfg.beta_max, s->cfg.use_geometric != 0, g->cfg.beta_min,
                   g->cfg.beta_max, g->cfg.use_geometric != 0);
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */

typedef struct chain_args {
    size_t n;          /* whole request */
    size_t off;        /* first example of this chunk */
    int batch;         /* examples in this chunk */
    uint64_t seed;     /* of the drawn parts */
    const float *x_init;               /* [n, per] or NULL (drawn) */
    const float *const *z_steps;       /* indexed by step, NULL (entries) drawn */
    const float *const *noise_steps;   /* idem */
    float *out;        /* [n, per] or NULL */
    float *trajectory; /* [T+1, n, per] or NULL */
} chain_args;

/* Copies x (diffusion units) to the host slice dst, in data units. tmp: a
 * spare device tensor of x's shape. */
static ddgan_status_t emit(ddgan_generator_t g, ddgan_exec *ex, const ddgan_tensor *x,
                           const ddgan_tensor *tmp, float *dst)
{
    if (ex->arena->planning)
        return DDGAN_OK;
    const size_t bytes = ddgan__numel(x) * sizeof(float);
    if (g->cls != DDGAN_CLS_TOY)
        return ex->be->ops->copy_d2h(ex->be, dst, x->data, bytes);
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, DDGAN_DT_F32, x->n, x->c, x->h, x->w);
    DDGAN_TRY(ex->k->unary(ex->be, &d, DDGAN_UN_SCALE, g->tcfg.data_scale, 0.0, x->data, tmp->data, 0));
    return ex->be->ops->copy_d2h(ex->be, dst, tmp->data, bytes);
}

/* A given host array (chunk slice) or the chunk's draws from block `block`. */
static ddgan_status_t load_or_draw(ddgan_exec *ex, const chain_args *a, const float *given,
                                   size_t count, uint64_t block, const ddgan_tensor *dst)
{
    if (ex->arena->planning)
        return DDGAN_OK;
    if (given)
        return ex->be->ops->copy_h2d(ex->be, dst->data, given + a->off * count,
                                     (size_t)a->batch * count * sizeof(float));
    return ddgan__sample_draw(ex, a->seed, a->off, a->batch, count, block, dst->data);
}

static ddgan_status_t body(ddgan_generator_t g, ddgan_schedule_t s, const chain_args *a)
{
    int c, h, w, nz;
    ddgan__handle_gen_example_shape(g, &c, &h, &w, &nz);
    const size_t per = (size_t)c * h * w;
    const int B = a->batch, T = s->T;
    if (B < 1 || B > SAMPLE_CHUNK)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "sampler: chunk of %d examples", B);
    ddgan_exec ex = ddgan__netmem_exec(&g->mem, 0);
    ddgan__arena_reset(&g->mem.arena);
    ddgan_tensor xa, xb, z, eps;
    void *coef = NULL;
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xa, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xb, B, c, h, w));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &z, B, nz, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &eps, B, c, h, w));
    DDGAN_TRY(ddgan__arena_alloc(ex.arena, 3 * (size_t)B * sizeof(float), &coef));
    ddgan_sample_layout lay;
    ddgan__sample_layout_init(&lay, per, (size_t)nz, T);
    float scratch[3 * SAMPLE_CHUNK];
    int64_t t[SAMPLE_CHUNK];
    const size_t frame = a->n * per; /* one trajectory frame */

    DDGAN_TRY(load_or_draw(&ex, a, a->x_init, per, ddgan__sample_block_x_init(&lay), &xa));
    if (a->trajectory)
        DDGAN_TRY(emit(g, &ex, &xa, &eps, a->trajectory + a->off * per));
    const int toy = g->cls == DDGAN_CLS_TOY;
    for (int i = T - 1; i >= 0; i--) {
        DDGAN_TRY(load_or_draw(&ex, a, a->z_steps ? a->z_steps[i] : NULL, (size_t)nz,
                               ddgan__sample_block_z(&lay, i), &z));
        DDGAN_TRY(load_or_draw(&ex, a, a->noise_steps ? a->noise_steps[i] : NULL, per,
                               ddgan__sample_block_eps(&lay, i), &eps));
        for (int b = 0; b < B; b++)
            t[b] = i;
        const size_t mark = ddgan__arena_mark(ex.arena);
        ddgan_tensor x0 = {0};
        if (toy)
            DDGAN_TRY(ddgan__toy_gen_forward(&ex, &g->toy, &xa, t, &z, NULL, &x0));
        else
            DDGAN_TRY(ddgan__gen_forward(&ex, &g->net, &xa, t, &z, NULL, &x0));
        DDGAN_TRY(ddgan__posterior_device(&ex, s, t, scratch, coef, &x0, &xa, &eps, &xb));
        ddgan__arena_release(ex.arena, mark); /* x0 and G's temporaries */
        const ddgan_tensor tmp = xa;
        xa = xb;
        xb = tmp;
        if (a->trajectory)
            DDGAN_TRY(emit(g, &ex, &xa, &eps, a->trajectory + (size_t)(T - i) * frame + a->off * per));
    }
    return a->out ? emit(g, &ex, &xa, &eps, a->out + a->off * per) : DDGAN_OK;
}

/* body() inside the backend's const_scope over the generator's weights:
 * nothing writes them while a chunk is sampled, so the backend may derive
 * transformed copies for the chunk's T evaluations (backend_ops.h). */
static ddgan_status_t body_const_weights(ddgan_generator_t g, ddgan_schedule_t s,
                                         const chain_args *a)
{
    const ddgan_exec ex = ddgan__netmem_exec(&g->mem, 0);
    if (!ex.k->const_scope || !ex.params)
        return body(g, s, a);
    const size_t bytes = g->mem.n_params * ex.dsz;
    DDGAN_TRY(ex.k->const_scope(ex.be, ex.params, bytes, 1));
    const ddgan_status_t st = body(g, s, a);
    const ddgan_status_t end = ex.k->const_scope(ex.be, ex.params, bytes, 0);
    return st != DDGAN_OK ? st : end;
}

static ddgan_status_t run(ddgan_generator_t g, ddgan_schedule_t s, const chain_args *a)
{
    DDGAN_TRY(ddgan__handle_gen_raise_batch(g, a->batch));
    const ddgan_plan_key key = {MODE_SAMPLE, a->batch, 0, 0};
    if (ddgan__handle_plan_begin(&g->mem, &g->plan, &key))
        DDGAN_TRY(ddgan__handle_plan_end(&g->mem, &g->plan, &key, body(g, s, a)));
    return body_const_weights(g, s, a);
}

static ddgan_status_t chain(ddgan_generator_t g, ddgan_schedule_t s, chain_args a, const char *fn)
{
    for (size_t off = 0; off < a.n; off += SAMPLE_CHUNK) {
        a.off = off;
        a.batch = (int)(a.n - off < SAMPLE_CHUNK ? a.n - off : SAMPLE_CHUNK);
        ddgan_status_t st = run(g, s, &a);
        if (st != DDGAN_OK)
            return ddgan__error_prefix(st, "%s", fn);
    }
    return DDGAN_OK;
}

DDGAN_API ddgan_status_t ddgan_sample(ddgan_generator_t g, ddgan_schedule_t s, size_t n, uint64_t seed,
                                      float *out)
{
    static const char fn[] = "ddgan_sample";
    size_t per;
    DDGAN_TRY(validate(g, s, n, out, 1, &per, fn));
    chain_args a = {0};
    a.n = n;
    a.seed = seed;
    a.out = out;
    return chain(g, s, a, fn);
}

DDGAN_API ddgan_status_t ddgan_sample_with_draws(ddgan_generator_t g, ddgan_schedule_t s, size_t n,
                                                 const float *x_init, const float *const *z_steps,
                                                 const float *const *noise_steps, float *out)
{
    static const char fn[] = "ddgan_sample_with_draws";
    size_t per;
    DDGAN_TRY(validate(g, s, n, out, 1, &per, fn));
    chain_args a = {0};
    a.n = n;
    a.seed = 0; /* what is not given is drawn as ddgan_sample with seed 0 */
    a.x_init = x_init;
    a.z_steps = z_steps;
    a.noise_steps = noise_steps;
    a.out = out;
    return chain(g, s, a, fn);
}

DDGAN_API ddgan_status_t ddgan_sample_trajectory(ddgan_generator_t g, ddgan_schedule_t s, size_t n,
                                                 uint64_t seed, float *trajectory)
{
    static const char fn[] = "ddgan_sample_trajectory";
    DDGAN_TRY(check_sched(s, fn));
    size_t per;
    DDGAN_TRY(validate(g, s, n, trajectory, (size_t)s->T + 1, &per, fn));
    chain_args a = {0};
    a.n = n;
    a.seed = seed;
    a.trajectory = trajectory;
    return chain(g, s, a, fn);
}
