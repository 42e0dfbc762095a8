/* The trainer: replay of one official iteration (train_step_tiny.safetensors),
 * save -> load -> continue equals uninterrupted, corrupt checkpoints, and
 * numerical safety. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/safetensors.h"

static float *read_f32(ddgan_st_file *f, const char *name, size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    if (ddgan__st_read_f32(f, name, p, n) != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(ddgan__st_read_f32(f, name, p, n), DDGAN_OK);
    return p;
}

/* Accumulates ||a - b||^2 and ||b||^2 over a whole parameter set. */
typedef struct l2acc {
    double num, den;
} l2acc;
static void acc(l2acc *a, const float *x, const float *ref, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - (double)ref[i];
        a->num += d * d;
        a->den += (double)ref[i] * (double)ref[i];
    }
}
static double rel(const l2acc *a) { return sqrt(a->num) / (a->den > 0 ? sqrt(a->den) : 1.0); }

typedef ddgan_status_t (*get_fn)(void *h, const char *name, float *out, size_t n);
static ddgan_status_t g_get_param(void *h, const char *n, float *o, size_t c)
{
    return ddgan_generator_get_param(h, n, o, c);
}
static ddgan_status_t g_get_grad(void *h, const char *n, float *o, size_t c)
{
    return ddgan_generator_get_grad(h, n, o, c);
}
static ddgan_status_t d_get_param(void *h, const char *n, float *o, size_t c)
{
    return ddgan_discriminator_get_param(h, n, o, c);
}
static ddgan_status_t d_get_grad(void *h, const char *n, float *o, size_t c)
{
    return ddgan_discriminator_get_grad(h, n, o, c);
}

typedef struct net_view {
    void *h;
    int is_gen;
} net_view;

static size_t n_tensors(net_view v)
{
    return v.is_gen ? ddgan_generator_num_tensors(v.h) : ddgan_discriminator_num_tensors(v.h);
}
static void info(net_view v, size_t i, ddgan_tensor_info *ti)
{
    ddgan_tensor_info_init(ti, sizeof *ti);
    assert_int_equal(v.is_gen ? ddgan_generator_tensor_info(v.h, i, ti) : ddgan_discriminator_tensor_info(v.h, i, ti),
                     DDGAN_OK);
}

/* Loads prefix.<key> into a network. */
static void set_params(net_view v, ddgan_st_file *f, const char *prefix)
{
    char name[200];
    for (size_t i = 0; i < n_tensors(v); i++) {
        ddgan_tensor_info ti;
        info(v, i, &ti);
        snprintf(name, sizeof name, "%s%s", prefix, ti.name);
        float *p = read_f32(f, name, ti.numel);
        assert_int_equal(v.is_gen ? ddgan_generator_set_param(v.h, ti.name, p, ti.numel)
                                  : ddgan_discriminator_set_param(v.h, ti.name, p, ti.numel),
                         DDGAN_OK);
        free(p);
    }
}

/* rel L2 of a network's tensors (getter) against prefix.<key> of the file;
 * with `before` given, compares (x - before) against (ref - before). */
static double compare(net_view v, get_fn get, ddgan_st_file *f, const char *prefix, ddgan_st_file *bf,
                      const char *bprefix)
{
    l2acc a = {0, 0};
    char name[200];
    for (size_t i = 0; i < n_tensors(v); i++) {
        ddgan_tensor_info ti;
        info(v, i, &ti);
        float *x = malloc(sizeof(float) * ti.numel);
        assert_int_equal(get(v.h, ti.name, x, ti.numel), DDGAN_OK);
        snprintf(name, sizeof name, "%s%s", prefix, ti.name);
        float *r = read_f32(f, name, ti.numel);
        if (bf) {
            snprintf(name, sizeof name, "%s%s", bprefix, ti.name);
            float *b = read_f32(bf, name, ti.numel);
            for (size_t k = 0; k < ti.numel; k++) {
                x[k] -= b[k];
                r[k] -= b[k];
            }
            free(b);
        }
        acc(&a, x, r, ti.numel);
        free(x);
        free(r);
    }
    return rel(&a);
}

static void test_replay_official_iteration(void **state)
{
    (void)state;
    const char *path = tu_shared_path("spec/vectors/train_step_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = "ref";
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cc), DDGAN_OK);
    ddgan_generator_t g = NULL;
    ddgan_discriminator_t d = NULL, d_r1 = NULL;
    assert_int_equal(ddgan_generator_create_json(&g, ctx, ddgan__st_metadata_get(f, "G_config")), DDGAN_OK);
    /* the official D config has no image size; ours needs it to read the inputs (default 32) */
    char dcfg[512];
    const char *official = ddgan__st_metadata_get(f, "D_config");
    assert_true(strlen(official) < 400 && official[0] == '{');
    snprintf(dcfg, sizeof dcfg, "{\"image_size\": 16, %s", official + 1);
    assert_int_equal(ddgan_discriminator_create_json(&d, ctx, dcfg), DDGAN_OK);
    assert_int_equal(ddgan_discriminator_create_json(&d_r1, ctx, dcfg), DDGAN_OK);
    net_view gv = {g, 1}, dv = {d, 0}, d1v = {d_r1, 0};
    set_params(gv, f, "G.");
    set_params(dv, f, "D.");
    set_params(d1v, f, "D.");
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);

    /* R1 alone, on the traced real pair, against D_grad_r1.* */
    enum { B = 4, P = 256 };
    int64_t dt[B], gt[B];
    assert_int_equal(ddgan__st_read_i64(f, "input.d.t", dt, B), DDGAN_OK);
    assert_int_equal(ddgan__st_read_i64(f, "input.g.t", gt, B), DDGAN_OK);
    float *tx_t = read_f32(f, "trace.d.x_t", B * P), *tx_tp1 = read_f32(f, "trace.d.x_tp1", B * P);
    float pen = 0;
    assert_int_equal(ddgan_discriminator_zero_grad(d_r1), DDGAN_OK);
    assert_int_equal(ddgan_discriminator_r1(d_r1, tx_t, dt, tx_tp1, B, 0.02f, &pen), DDGAN_OK);
    double e_r1 = compare(d1v, d_get_grad, f, "D_grad_r1.", NULL, NULL);
    print_message("    R1 part of the D gradient: rel L2 %.2e\n", e_r1);
    assert_true(e_r1 <= 1e-4);

    /* the iteration with every draw given */
    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = B;
    tc.lr_d = 1.25e-4f;
    tc.lr_g = 1.6e-4f;
    tc.r1_gamma = 0.02f;
    tc.lazy_reg = 15;
    tc.use_ema = 1;
    tc.ema_decay = 0.9999f;
    tc.lr_schedule = DDGAN_LR_CONSTANT;
    ddgan_trainer_t tr = NULL;
    ddgan_status_t st = ddgan_trainer_create(&tr, g, d, s, &tc);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    float *x0 = read_f32(f, "input.real_data", B * P);
    float *dp = read_f32(f, "input.d.eps_pair", B * P), *dq = read_f32(f, "input.d.eps_q", B * P);
    float *dz = read_f32(f, "input.d.z", B * 8), *dpost = read_f32(f, "input.d.eps_post", B * P);
    float *gp = read_f32(f, "input.g.eps_pair", B * P), *gq = read_f32(f, "input.g.eps_q", B * P);
    float *gz = read_f32(f, "input.g.z", B * 8), *gpost = read_f32(f, "input.g.eps_post", B * P);
    ddgan_step_draws dr;
    ddgan_step_draws_init(&dr, sizeof dr);
    dr.d_t = dt;
    dr.d_eps_pair = dp;
    dr.d_eps_q = dq;
    dr.d_z = dz;
    dr.d_eps_post = dpost;
    dr.g_t = gt;
    dr.g_eps_pair = gp;
    dr.g_eps_q = gq;
    dr.g_z = gz;
    dr.g_eps_post = gpost;
    ddgan_step_stats stats;
    ddgan_step_stats_init(&stats, sizeof stats);
    st = ddgan_trainer_step_with_draws(tr, x0, B, &dr, &stats);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    assert_int_equal(stats.global_step, 1);
    assert_int_equal(ddgan_trainer_global_step(tr), 1);

    struct {
        const char *name;
        float got;
    } losses[] = {
        {"trace.d.errD_real", stats.err_d_real},
        {"trace.d.errD_fake", stats.err_d_fake},
        {"trace.d.errD", stats.err_d},
        {"trace.d.grad_penalty", stats.r1_penalty},
        {"trace.g.errG", stats.err_g},
    };
    for (size_t i = 0; i < sizeof losses / sizeof losses[0]; i++) {
        float *r = read_f32(f, losses[i].name, 1);
        print_message("    %-22s %.9g (reference %.9g)\n", losses[i].name, (double)losses[i].got, (double)r[0]);
        assert_true(fabs((double)losses[i].got - (double)r[0]) <= 1e-5 * fabs((double)r[0]) + 1e-9);
        free(r);
    }
    double e_dg = compare(dv, d_get_grad, f, "D_grad.", NULL, NULL);
    double e_gg = compare(gv, g_get_grad, f, "G_grad.", NULL, NULL);
    double e_du = compare(dv, d_get_param, f, "D_after.", f, "D.");
    double e_gu = compare(gv, g_get_param, f, "G_after.", f, "G.");
    print_message("    D gradient rel L2 %.2e, G gradient %.2e; updates: D %.2e, G %.2e\n", e_dg, e_gg, e_du,
                  e_gu);
    assert_true(e_dg <= 1e-4);
    assert_true(e_gg <= 1e-4);
    assert_true(e_du <= 1e-3);
    assert_true(e_gu <= 1e-3);
    /* EMA after the first step equals the parameters (the slot starts as a copy) */
    ddgan_generator_t ema = NULL;
    assert_int_equal(ddgan_trainer_ema_generator(&ema, tr), DDGAN_OK);
    net_view ev = {ema, 1};
    double e_ema = compare(ev, g_get_param, f, "G_after.", NULL, NULL);
    print_message("    EMA weights vs G_after: rel L2 %.2e\n", e_ema);
    assert_true(e_ema <= 1e-6);
    ddgan_generator_destroy(ema);

    float *bufs[] = {tx_t, tx_tp1, x0, dp, dq, dz, dpost, gp, gq, gz, gpost};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
    ddgan_trainer_destroy(tr);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_discriminator_destroy(d);
    ddgan_discriminator_destroy(d_r1);
    ddgan_context_destroy(ctx);
    ddgan__st_close(f);
}

/* ------------------------------------------------------------------------ */
/* Resume and robustness, on small image networks (minibatch std and all) */

static const char *k_gcfg = "{\"image_size\": 8, \"num_channels\": 1, \"num_channels_dae\": 8, "
                            "\"ch_mult\": [1, 2], \"num_res_blocks\": 1, \"attn_resolutions\": [4], "
                            "\"nz\": 4, \"z_emb_dim\": 8, \"n_mlp\": 1}";
static const char *k_dcfg = "{\"nc\": 2, \"ngf\": 2, \"t_emb_dim\": 8, \"image_size\": 8}";

typedef struct rig {
    ddgan_context_t ctx;
    ddgan_generator_t g;
    ddgan_discriminator_t d;
    ddgan_schedule_t s;
    ddgan_trainer_t tr;
} rig;

static void rig_make(rig *r, uint64_t init_seed, int skip_nonfinite)
{
    memset(r, 0, sizeof *r);
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = "ref";
    cc.seed = init_seed;
    assert_int_equal(ddgan_context_create(&r->ctx, &cc), DDGAN_OK);
    assert_int_equal(ddgan_generator_create_json(&r->g, r->ctx, k_gcfg), DDGAN_OK);
    assert_int_equal(ddgan_discriminator_create_json(&r->d, r->ctx, k_dcfg), DDGAN_OK);
    assert_int_equal(ddgan_schedule_create(&r->s, r->ctx, NULL), DDGAN_OK);
    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = 8;
    tc.lazy_reg = 2;
    tc.use_ema = 1;
    tc.ema_decay = 0.9f;
    tc.steps_per_epoch = 2;
    tc.num_epoch = 5;
    tc.lr_g = tc.lr_d = 1e-3f;
    tc.skip_nonfinite = skip_nonfinite;
    assert_int_equal(ddgan_trainer_create(&r->tr, r->g, r->d, r->s, &tc), DDGAN_OK);
}

static void rig_free(rig *r)
{
    ddgan_trainer_destroy(r->tr);
    ddgan_schedule_destroy(r->s);
    ddgan_generator_destroy(r->g);
    ddgan_discriminator_destroy(r->d);
    ddgan_context_destroy(r->ctx);
}

static void batch_for(int step, float *x)
{
    for (int i = 0; i < 8 * 64; i++)
        x[i] = (float)sin(0.37 * i + 1.3 * step) * 0.9f;
}

static void run_steps(rig *r, int from, int to)
{
    float x[8 * 64];
    for (int k = from; k < to; k++) {
        batch_for(k, x);
        ddgan_step_stats s;
        ddgan_step_stats_init(&s, sizeof s);
        ddgan_status_t st = ddgan_trainer_step(r->tr, x, 8, &s);
        if (st != DDGAN_OK)
            print_error("%s\n", ddgan_last_error());
        assert_int_equal(st, DDGAN_OK);
        assert_true(isfinite(s.err_d) && isfinite(s.err_g));
        assert_true((k % 2 == 0) == !isnan(s.r1_penalty)); /* lazy_reg 2 */
    }
}

/* Bitwise equality of every parameter of two networks. */
static void assert_same(net_view a, net_view b, get_fn get)
{
    for (size_t i = 0; i < n_tensors(a); i++) {
        ddgan_tensor_info ti;
        info(a, i, &ti);
        float *x = malloc(sizeof(float) * ti.numel), *y = malloc(sizeof(float) * ti.numel);
        assert_int_equal(get(a.h, ti.name, x, ti.numel), DDGAN_OK);
        assert_int_equal(get(b.h, ti.name, y, ti.numel), DDGAN_OK);
        if (memcmp(x, y, sizeof(float) * ti.numel) != 0) {
            print_error("tensor %s differs\n", ti.name);
            fail();
        }
        free(x);
        free(y);
    }
}

static void test_resume_is_bit_identical(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char ck[4096];
    snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", dir);
    rig a, b, c;
    rig_make(&a, 7, 0);
    run_steps(&a, 0, 6);
    rig_make(&b, 7, 0);
    run_steps(&b, 0, 3);
    assert_int_equal(ddgan_trainer_save(b.tr, ck), DDGAN_OK);
    /* a fresh trainer with other initial weights takes the checkpoint and continues */
    rig_make(&c, 99, 0);
    assert_int_equal(ddgan_trainer_load(c.tr, ck), DDGAN_OK);
    assert_int_equal(ddgan_trainer_global_step(c.tr), 3);
    run_steps(&c, 3, 6);
    net_view ag = {a.g, 1}, cg = {c.g, 1}, ad = {a.d, 0}, cd = {c.d, 0};
    assert_same(ag, cg, g_get_param);
    assert_same(ad, cd, d_get_param);
    ddgan_generator_t ea = NULL, ec = NULL;
    assert_int_equal(ddgan_trainer_ema_generator(&ea, a.tr), DDGAN_OK);
    assert_int_equal(ddgan_trainer_ema_generator(&ec, c.tr), DDGAN_OK);
    net_view eav = {ea, 1}, ecv = {ec, 1};
    assert_same(eav, ecv, g_get_param);
    ddgan_generator_destroy(ea);
    ddgan_generator_destroy(ec);
    /* the checkpoint also loads as a generator (EMA weights) */
    ddgan_generator_t ge = NULL;
    assert_int_equal(ddgan_generator_load_prefixed(&ge, c.ctx, ck, "G_ema.", "config"), DDGAN_OK);
    ddgan_generator_destroy(ge);
    rig_free(&a);
    rig_free(&b);
    rig_free(&c);
    tu_rmdir_recursive(dir);
    free(dir);
}

static void test_bad_checkpoints_leave_trainer_untouched(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char ck[4096], bad[4096];
    snprintf(ck, sizeof ck, "%s/ck.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    rig a, b;
    rig_make(&a, 1, 0);
    run_steps(&a, 0, 2);
    assert_int_equal(ddgan_trainer_save(a.tr, ck), DDGAN_OK);
    rig_make(&b, 2, 0);
    run_steps(&b, 0, 1);
    size_t len = 0;
    unsigned char *bytes = tu_read_file(ck, &len);
    assert_non_null(bytes);
    /* reference copy of b's state */
    rig ref;
    rig_make(&ref, 2, 0);
    run_steps(&ref, 0, 1);
    net_view bg = {b.g, 1}, rg = {ref.g, 1}, bd = {b.d, 0}, rd = {ref.d, 0};
    for (size_t cut = 0; cut < len; cut += len / 23 + 1) {
        assert_int_equal(tu_write_file(bad, bytes, cut), 0);
        tu_assert_status(ddgan_trainer_load(b.tr, bad), DDGAN_ERR_FORMAT, "bad.safetensors");
    }
    /* a checkpoint of another model */
    tu_assert_status(ddgan_trainer_load(b.tr, "/nonexistent/ck.safetensors"), DDGAN_ERR_IO, NULL);
    assert_int_equal(ddgan_trainer_global_step(b.tr), 1);
    assert_same(bg, rg, g_get_param);
    assert_same(bd, rd, d_get_param);
    /* and b still trains exactly like its twin */
    run_steps(&b, 1, 2);
    run_steps(&ref, 1, 2);
    assert_same(bg, rg, g_get_param);
    free(bytes);
    rig_free(&a);
    rig_free(&b);
    rig_free(&ref);
    tu_rmdir_recursive(dir);
    free(dir);
}

static void test_nonfinite_step_changes_nothing(void **state)
{
    (void)state;
    rig a, ref;
    rig_make(&a, 3, 0);
    rig_make(&ref, 3, 0);
    run_steps(&a, 0, 1);
    run_steps(&ref, 0, 1);
    float x[8 * 64];
    batch_for(1, x);
    x[5] = NAN;
    tu_assert_status(ddgan_trainer_step(a.tr, x, 8, NULL), DDGAN_ERR_NUMERICAL, "non-finite");
    assert_int_equal(ddgan_trainer_global_step(a.tr), 1);
    net_view ag = {a.g, 1}, rg = {ref.g, 1}, ad = {a.d, 0}, rd = {ref.d, 0};
    assert_same(ag, rg, g_get_param);
    assert_same(ad, rd, d_get_param);
    /* afterwards the trainer continues exactly like its twin */
    run_steps(&a, 1, 2);
    run_steps(&ref, 1, 2);
    assert_same(ag, rg, g_get_param);
    rig_free(&a);
    rig_free(&ref);
    /* skip mode counts instead */
    rig s;
    rig_make(&s, 3, 1);
    assert_int_equal(ddgan_trainer_step(s.tr, x, 8, NULL), DDGAN_OK);
    assert_int_equal(ddgan_trainer_skipped_steps(s.tr), 1);
    assert_int_equal(ddgan_trainer_global_step(s.tr), 0);
    rig_free(&s);
}

/* Cosine learning rate per epoch (epoch = step / steps_per_epoch, eta_min 1e-5). */
static void test_learning_rate_schedule(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, 6, 0); /* lr 1e-3, steps_per_epoch 2, num_epoch 5 */
    float x[8 * 64];
    for (int k = 0; k < 12; k++) {
        batch_for(k, x);
        ddgan_step_stats s;
        ddgan_step_stats_init(&s, sizeof s);
        assert_int_equal(ddgan_trainer_step(r.tr, x, 8, &s), DDGAN_OK);
        int e = k / 2 > 5 ? 5 : k / 2;
        double want = 1e-5 + (1e-3 - 1e-5) * (1.0 + cos(M_PI * e / 5.0)) / 2.0;
        if (fabs(s.lr_g - want) > 1e-9 || fabs(s.lr_d - want) > 1e-9) {
            print_error("step %d: lr %g / %g, expected %g\n", k, (double)s.lr_g, (double)s.lr_d, want);
            fail();
        }
        assert_true(s.grad_norm_d > 0 && s.grad_norm_g > 0 && s.seconds > 0);
    }
    rig_free(&r);
}

static size_t g_allocs;
static void *count_malloc(void *user, size_t n)
{
    (void)user;
    g_allocs++;
    return malloc(n);
}
static void count_free(void *user, void *p)
{
    (void)user;
    free(p);
}

/* A training step allocates nothing: every byte was planned at creation. */
static void test_step_allocates_nothing(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, 5, 0);
    float x[8 * 64];
    batch_for(0, x);
    ddgan_alloc_hooks hooks = {count_malloc, count_free, NULL};
    ddgan__alloc_set_hooks(&hooks);
    g_allocs = 0;
    ddgan_status_t st = DDGAN_OK;
    for (int k = 0; k < 3 && st == DDGAN_OK; k++) /* with and without R1 (lazy_reg 2) */
        st = ddgan_trainer_step(r.tr, x, k == 2 ? 4 : 8, NULL);
    ddgan__alloc_set_hooks(NULL);
    assert_int_equal(st, DDGAN_OK);
    print_message("    allocations during 3 training steps: %zu\n", g_allocs);
    assert_int_equal(g_allocs, 0);
    rig_free(&r);
}

static void test_misuse(void **state)
{
    (void)state;
    rig r;
    rig_make(&r, 4, 0);
    float x[16 * 64] = {0};
    tu_assert_status(ddgan_trainer_step(r.tr, x, 16, NULL), DDGAN_ERR_INVALID_ARGUMENT, "batch 16");
    tu_assert_status(ddgan_trainer_step(r.tr, x, 6, NULL), DDGAN_ERR_INVALID_ARGUMENT, "batch 6");
    tu_assert_status(ddgan_trainer_step(r.tr, NULL, 8, NULL), DDGAN_ERR_INVALID_ARGUMENT, "x0 is NULL");
    tu_assert_status(ddgan_trainer_step(NULL, x, 8, NULL), DDGAN_ERR_INVALID_ARGUMENT, "trainer is NULL");
    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    ddgan_trainer_t t2 = NULL;
    tc.batch_size = 0;
    tu_assert_status(ddgan_trainer_create(&t2, r.g, r.d, r.s, &tc), DDGAN_ERR_INVALID_ARGUMENT, "batch_size 0");
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.lr_g = -1;
    tu_assert_status(ddgan_trainer_create(&t2, r.g, r.d, r.s, &tc), DDGAN_ERR_INVALID_ARGUMENT, "lr_g");
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.num_timesteps = 2;
    ddgan_schedule_t s2 = NULL;
    assert_int_equal(ddgan_schedule_create(&s2, r.ctx, &sc), DDGAN_OK);
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = 8;
    tu_assert_status(ddgan_trainer_create(&t2, r.g, r.d, s2, &tc), DDGAN_ERR_INVALID_ARGUMENT, "num_timesteps");
    ddgan_schedule_destroy(s2);
    tu_assert_status(ddgan_trainer_set_global_step(r.tr, -1), DDGAN_ERR_INVALID_ARGUMENT, "-1");
    assert_int_equal(ddgan_trainer_set_global_step(r.tr, 10), DDGAN_OK);
    assert_int_equal(ddgan_trainer_global_step(r.tr), 10);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_official_iteration),
        cmocka_unit_test(test_resume_is_bit_identical),
        cmocka_unit_test(test_bad_checkpoints_leave_trainer_untouched),
        cmocka_unit_test(test_nonfinite_step_changes_nothing),
        cmocka_unit_test(test_learning_rate_schedule),
        cmocka_unit_test(test_step_allocates_nothing),
        cmocka_unit_test(test_misuse),
    };
    return cmocka_run_group_tests_name("trainer", tests, NULL, NULL);
}
