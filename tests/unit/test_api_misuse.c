/* API misuse table (docs/hardening.md): every public function of
 * include/ddgan/ddgan.h called with NULL pointers, wrong handles (NULL and a
 * handle of another type), struct_size too small / too large with a non-zero
 * tail, and out-of-range values. Each case checks the status and that the
 * message names the function's argument (or value) at fault. Functions that
 * return a value instead of a status must return their documented sentinel.
 *
 * test_every_function_is_covered reads the header and fails when a DDGAN_API
 * function has no row in the table, so a new function cannot skip this. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "toy_rig.h"


/* ------------------------------------------------------------------------ */
/* Fixture: one valid object of every kind                                  */

static tr_rig R;
static ddgan_schedule_t g_ddpm_s;
static ddgan_ddpm_trainer_t g_ddpm;
static ddgan_dataset_t g_ds;
static char g_dir[4096], g_ckpt[4200], g_gen[4200];
static int g_failures;
static const char *g_fn; /* row being run */

/* handles of the wrong type: every handle struct starts with its magic, so
 * this is how a confused caller's pointer looks to the library */
#define WRONG(T) ((T)(void *)R.ctx)
#define WRONG_CTX ((ddgan_context_t)(void *)R.g)

static void expect_status(int line, const char *call, ddgan_status_t got, ddgan_status_t want,
                          const char *needle)
{
    const char *msg = ddgan_last_error();
    int ok = got == want;
    if (ok && want != DDGAN_OK && (msg[0] == '\0' || (needle && !strstr(msg, needle))))
        ok = 0;
    if (!ok) {
        print_error("line %d [%s] %s\n    -> %d (%s), wanted %d (%s) with \"%s\"; message: \"%s\"\n", line, g_fn,
                    call, (int)got, ddgan_status_string(got), (int)want, ddgan_status_string(want),
                    needle ? needle : "", msg);
        g_failures++;
    }
    ddgan_clear_last_error();
}

static void expect_true(int line, const char *what, int cond)
{
    if (!cond) {
        print_error("line %d [%s] %s is false\n", line, g_fn, what);
        g_failures++;
    }
}

#define S(call, want, needle) expect_status(__LINE__, #call, (call), (want), (needle))
#define BAD(call, needle) S(call, DDGAN_ERR_INVALID_ARGUMENT, needle)
#define OK(call) S(call, DDGAN_OK, NULL)
#define T(cond) expect_true(__LINE__, #cond, (cond))

/* An input config struct: NULL and too-small size at init, then the consumer
 * with struct_size 2, a larger zero tail (accepted) and a non-zero tail
 * (DDGAN_ERR_VERSION_MISMATCH naming the parameter). `USE(p)` calls the
 * consumer with p; `FREE` releases what an accepted call created. */
#define STRUCT_IN(TYPE, INIT, PARAM, USE, FREE)                                              \
    do {                                                                                     \
        union {                                                                              \
            TYPE s;                                                                          \
            unsigned char b[sizeof(TYPE) + 32];                                              \
        } u_;                                                                                \
        TYPE *p = &u_.s;                                                                     \
        BAD(INIT(NULL, sizeof(TYPE)), "NULL");                                               \
        BAD(INIT(p, 2), "struct_size");                                                      \
        BAD(INIT(p, 1u << 20), "struct_size");                                               \
        OK(INIT(p, sizeof(TYPE) + 32));                                                      \
        T(u_.b[sizeof(TYPE) + 31] == 0 && p->struct_size == sizeof(TYPE) + 32);             \
        S(USE, DDGAN_OK, NULL);                                                              \
        FREE;                                                                                \
        u_.b[sizeof(TYPE) + 7] = 1;                                                          \
        S(USE, DDGAN_ERR_VERSION_MISMATCH, PARAM);                                           \
        OK(INIT(p, sizeof(TYPE)));                                                           \
        p->struct_size = 2;                                                                  \
        BAD(USE, "struct_size");                                                             \
        OK(INIT(p, sizeof(TYPE)));                                                           \
    } while (0)

/* An output struct: too small is refused naming struct_size; a larger one
 * gets the known fields and its unknown tail is left untouched. */
#define STRUCT_OUT(TYPE, INIT, USE)                                                          \
    do {                                                                                     \
        union {                                                                              \
            TYPE s;                                                                          \
            unsigned char b[sizeof(TYPE) + 32];                                              \
        } u_;                                                                                \
        TYPE *p = &u_.s;                                                                     \
        BAD(INIT(NULL, sizeof(TYPE)), "NULL");                                               \
        BAD(INIT(p, 2), "struct_size");                                                      \
        OK(INIT(p, sizeof(TYPE) + 32));                                                      \
        u_.b[sizeof(TYPE) + 7] = 0x5a;                                                       \
        S(USE, DDGAN_OK, NULL);                                                              \
        T(u_.b[sizeof(TYPE) + 7] == 0x5a);                                                   \
        p->struct_size = 2;                                                                  \
        BAD(USE, "struct_size");                                                             \
        OK(INIT(p, sizeof(TYPE)));                                                           \
    } while (0)

/* ------------------------------------------------------------------------ */
/* The rows                                                                 */

static float g_buf[4096];
static double g_dbuf[4096];
static int64_t g_t[64];

static void r_version(void)
{
    T(ddgan_version_string() != NULL && strcmp(ddgan_version_string(), DDGAN_VERSION_STRING) == 0);
    T(ddgan_version_number() == DDGAN_VERSION_NUMBER);
}

static void r_errors(void)
{
    T(strlen(ddgan_status_string((ddgan_status_t)-1)) > 0);
    T(strlen(ddgan_status_string((ddgan_status_t)9999)) > 0);
    ddgan_clear_last_error();
    T(ddgan_last_error() != NULL && ddgan_last_error()[0] == '\0');
}

static void r_backend(void)
{
    T(ddgan_backend_count() >= 1);
    STRUCT_OUT(ddgan_backend_info, ddgan_backend_info_init, ddgan_backend_get_info(0, p));
    ddgan_backend_info bi;
    ddgan_backend_info_init(&bi, sizeof bi);
    BAD(ddgan_backend_get_info(0, NULL), "info");
    BAD(ddgan_backend_get_info(ddgan_backend_count(), &bi), "index");
    BAD(ddgan_backend_get_info((size_t)-1, &bi), "index");
}

static void r_context(void)
{
    ddgan_context_t c = NULL;
    STRUCT_IN(ddgan_context_config, ddgan_context_config_init, "cfg", ddgan_context_create(&c, p),
              (ddgan_context_destroy(c), c = NULL));
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    BAD(ddgan_context_create(NULL, &cc), "out");
    cc.backend = "no-such-backend";
    S(ddgan_context_create(&c, &cc), DDGAN_ERR_BACKEND_UNAVAILABLE, "no-such-backend");
    T(c == NULL);
    ddgan_context_config_init(&cc, sizeof cc);
    cc.num_threads = -1;
    BAD(ddgan_context_create(&c, &cc), "num_threads");
    ddgan_context_config_init(&cc, sizeof cc);
    cc.log_level = (ddgan_log_level)17;
    BAD(ddgan_context_create(&c, &cc), "log_level");
    ddgan_context_destroy(NULL);
    T(strcmp(ddgan_context_backend(NULL), "") == 0);
    T(strcmp(ddgan_context_backend(WRONG_CTX), "") == 0);
    T(ddgan_context_seed(NULL) == 0);
    T(ddgan_context_num_threads(NULL) == 0);
    T(ddgan_context_num_threads(WRONG_CTX) == 0);
    BAD(ddgan_context_randn(NULL, g_buf, 4), "context");
    BAD(ddgan_context_randn(WRONG_CTX, g_buf, 4), "context");
    BAD(ddgan_context_randn(R.ctx, NULL, 4), "out");
    OK(ddgan_context_randn(R.ctx, NULL, 0));
    BAD(ddgan_context_rand(NULL, g_buf, 4), "context");
    BAD(ddgan_context_rand(R.ctx, NULL, 4), "out");
}

static void r_schedule(void)
{
    ddgan_schedule_t s = NULL;
    STRUCT_IN(ddgan_schedule_config, ddgan_schedule_config_init, "cfg", ddgan_schedule_create(&s, R.ctx, p),
              (ddgan_schedule_destroy(s), s = NULL));
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    BAD(ddgan_schedule_create(NULL, R.ctx, &sc), "out");
    BAD(ddgan_schedule_create(&s, NULL, &sc), "context");
    BAD(ddgan_schedule_create(&s, WRONG_CTX, &sc), "context");
    sc.num_timesteps = 0;
    BAD(ddgan_schedule_create(&s, R.ctx, &sc), "num_timesteps");
    sc.num_timesteps = 100001;
    BAD(ddgan_schedule_create(&s, R.ctx, &sc), "num_timesteps");
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.beta_min = -1;
    BAD(ddgan_schedule_create(&s, R.ctx, &sc), "beta_min");
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.beta_max = 0.05;
    BAD(ddgan_schedule_create(&s, R.ctx, &sc), "beta");
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.kind = 7;
    BAD(ddgan_schedule_create(&s, R.ctx, &sc), "kind");
    T(s == NULL);
    ddgan_schedule_destroy(NULL);
    T(ddgan_schedule_num_timesteps(NULL) == 0);
    T(ddgan_schedule_num_timesteps(WRONG(ddgan_schedule_t)) == 0);
    BAD(ddgan_schedule_coef(NULL, "betas", g_buf, 3), "schedule");
    BAD(ddgan_schedule_coef(WRONG(ddgan_schedule_t), "betas", g_buf, 3), "schedule");
    BAD(ddgan_schedule_coef(R.s, NULL, g_buf, 3), "name");
    BAD(ddgan_schedule_coef(R.s, "betas", NULL, 3), "out");
    BAD(ddgan_schedule_coef(R.s, "betas", g_buf, 2), "2");
    BAD(ddgan_schedule_coef(R.s, "no_such_coef", g_buf, 3), "no_such_coef");
    BAD(ddgan_schedule_coef_f64(NULL, "betas", g_dbuf, 3), "schedule");
    BAD(ddgan_schedule_coef_f64(R.s, "betas", g_dbuf, 4), "4");
    BAD(ddgan_schedule_coef_f64(R.s, "ddpm_betas", g_dbuf, 2), "ddpm_betas");
}

static void r_schedule_helpers(void)
{
    int64_t bad_t[2] = {0, 2}; /* T = 2: t in 0..1 */
    float *a = g_buf, *b = g_buf + 64, *c = g_buf + 128, *d = g_buf + 192, *e = g_buf + 256;
    double *da = g_dbuf, *db = g_dbuf + 64, *dc = g_dbuf + 128, *dd = g_dbuf + 192, *de = g_dbuf + 256;
    BAD(ddgan_schedule_q_sample(NULL, a, g_t, 2, 2, b, c), "schedule");
    BAD(ddgan_schedule_q_sample(R.s, NULL, g_t, 2, 2, b, c), "x0");
    BAD(ddgan_schedule_q_sample(R.s, a, NULL, 2, 2, b, c), "t");
    BAD(ddgan_schedule_q_sample(R.s, a, g_t, 2, 2, b, NULL), "x_t");
    BAD(ddgan_schedule_q_sample(R.s, a, bad_t, 2, 2, b, c), "t[1]");
    BAD(ddgan_schedule_q_sample(R.s, a, g_t, 2, 0, b, c), "per_example");
    BAD(ddgan_schedule_q_sample(R.s, a, g_t, (size_t)1 << 62, 8, b, c), "batch");
    BAD(ddgan_schedule_q_sample_pairs(NULL, a, g_t, 2, 2, b, c, d, e), "schedule");
    BAD(ddgan_schedule_q_sample_pairs(R.s, a, g_t, 2, 2, b, c, NULL, e), "x_t");
    BAD(ddgan_schedule_q_sample_pairs(R.s, a, g_t, 2, 2, b, c, d, NULL), "x_tp1");
    BAD(ddgan_schedule_q_sample_pairs(R.s, a, g_t, 2, 2, b, c, d, d), "same");
    BAD(ddgan_schedule_q_sample_pairs(R.s, a, bad_t, 2, 2, b, c, d, e), "t[1]");
    BAD(ddgan_schedule_sample_posterior(NULL, a, b, g_t, 2, 2, c, d), "schedule");
    BAD(ddgan_schedule_sample_posterior(R.s, NULL, b, g_t, 2, 2, c, d), "x0_pred");
    BAD(ddgan_schedule_sample_posterior(R.s, a, NULL, g_t, 2, 2, c, d), "x_tp1");
    BAD(ddgan_schedule_sample_posterior(R.s, a, b, g_t, 2, 2, c, NULL), "out");
    BAD(ddgan_schedule_sample_posterior(R.s, a, b, bad_t, 2, 2, c, d), "t[1]");
    BAD(ddgan_schedule_q_sample_f64(NULL, da, g_t, 2, 2, db, dc), "schedule");
    BAD(ddgan_schedule_q_sample_f64(R.s, NULL, g_t, 2, 2, db, dc), "x0");
    BAD(ddgan_schedule_q_sample_f64(R.s, da, bad_t, 2, 2, db, dc), "t[1]");
    BAD(ddgan_schedule_q_sample_pairs_f64(NULL, da, g_t, 2, 2, db, dc, dd, de), "schedule");
    BAD(ddgan_schedule_q_sample_pairs_f64(R.s, da, g_t, 2, 2, db, dc, NULL, de), "x_t");
    BAD(ddgan_schedule_sample_posterior_f64(NULL, da, db, g_t, 2, 2, dc, dd), "schedule");
    BAD(ddgan_schedule_sample_posterior_f64(R.s, da, db, g_t, 2, 2, dc, NULL), "out");
    BAD(ddgan_schedule_q_sample_pairs(g_ddpm_s, a, g_t, 2, 2, b, c, d, e), "DDPM");
}

static void r_summary_info(void)
{
    STRUCT_OUT(ddgan_model_summary, ddgan_model_summary_init, ddgan_generator_summary(R.g, p));
    STRUCT_OUT(ddgan_model_summary, ddgan_model_summary_init, ddgan_discriminator_summary(R.d, p));
    STRUCT_OUT(ddgan_tensor_info, ddgan_tensor_info_init, ddgan_generator_tensor_info(R.g, 0, p));
    STRUCT_OUT(ddgan_tensor_info, ddgan_tensor_info_init, ddgan_discriminator_tensor_info(R.d, 0, p));
}

static void r_discriminator(void)
{
    ddgan_discriminator_t d = NULL;
    STRUCT_IN(ddgan_discriminator_config, ddgan_discriminator_config_init, "cfg",
              (p->cls = "ToyMLP", p->hidden_dim = 8, ddgan_discriminator_create(&d, R.ctx, p)),
              (ddgan_discriminator_destroy(d), d = NULL));
    ddgan_discriminator_config dc;
    ddgan_discriminator_config_init(&dc, sizeof dc);
    BAD(ddgan_discriminator_create(NULL, R.ctx, &dc), "out");
    BAD(ddgan_discriminator_create(&d, NULL, &dc), "context");
    BAD(ddgan_discriminator_create(&d, WRONG_CTX, &dc), "context");
    dc.cls = "Discriminator_huge";
    /* an unknown class is a request this library cannot serve */
    S(ddgan_discriminator_create(&d, R.ctx, &dc), DDGAN_ERR_UNSUPPORTED, "Discriminator_huge");
    ddgan_discriminator_config_init(&dc, sizeof dc);
    dc.ngf = 0;
    BAD(ddgan_discriminator_create(&d, R.ctx, &dc), "ngf");
    BAD(ddgan_discriminator_create_json(NULL, R.ctx, "{}"), "out");
    BAD(ddgan_discriminator_create_json(&d, NULL, "{}"), "context");
    BAD(ddgan_discriminator_create_json(&d, R.ctx, NULL), "config JSON");
    S(ddgan_discriminator_create_json(&d, R.ctx, "{\"nc\": "), DDGAN_ERR_FORMAT, "json");
    BAD(ddgan_discriminator_create_json(&d, R.ctx, "{\"cls\": \"ToyMLP\", \"hidden_dim\": -3}"), "hidden_dim");
    BAD(ddgan_discriminator_load(NULL, R.ctx, g_ckpt), "out");
    BAD(ddgan_discriminator_load(&d, NULL, g_ckpt), "context");
    BAD(ddgan_discriminator_load(&d, R.ctx, NULL), "path");
    S(ddgan_discriminator_load(&d, R.ctx, "/nonexistent/d.safetensors"), DDGAN_ERR_IO, "/nonexistent/d.safetensors");
    BAD(ddgan_discriminator_load_prefixed(&d, R.ctx, NULL, "D.", "D_config"), "path");
    S(ddgan_discriminator_load_prefixed(&d, R.ctx, g_ckpt, "D.", "no_such_key"), DDGAN_ERR_FORMAT, "no_such_key");
    S(ddgan_discriminator_load_prefixed(&d, R.ctx, g_ckpt, "X.", "D_config"), DDGAN_ERR_FORMAT, "X.");
    T(d == NULL);
    BAD(ddgan_discriminator_save(NULL, g_gen), "discriminator");
    BAD(ddgan_discriminator_save(WRONG(ddgan_discriminator_t), g_gen), "discriminator");
    BAD(ddgan_discriminator_save(R.d, NULL), "path");
    S(ddgan_discriminator_save(R.d, "/nonexistent/dir/d.safetensors"), DDGAN_ERR_IO, "/nonexistent/dir");
    ddgan_discriminator_destroy(NULL);
    T(strcmp(ddgan_discriminator_config_json(NULL), "") == 0);
    T(strcmp(ddgan_discriminator_config_json(WRONG(ddgan_discriminator_t)), "") == 0);
    ddgan_model_summary ms;
    ddgan_model_summary_init(&ms, sizeof ms);
    BAD(ddgan_discriminator_summary(NULL, &ms), "discriminator");
    BAD(ddgan_discriminator_summary(R.d, NULL), "out");
    T(ddgan_discriminator_num_tensors(NULL) == 0);
    T(ddgan_discriminator_num_tensors(WRONG(ddgan_discriminator_t)) == 0);
    ddgan_tensor_info ti;
    ddgan_tensor_info_init(&ti, sizeof ti);
    BAD(ddgan_discriminator_tensor_info(NULL, 0, &ti), "discriminator");
    BAD(ddgan_discriminator_tensor_info(R.d, 0, NULL), "out");
    BAD(ddgan_discriminator_tensor_info(R.d, 1000, &ti), "1000");
    float *x = g_buf, *y = g_buf + 256, *o = g_buf + 512;
    BAD(ddgan_discriminator_forward(NULL, x, g_t, y, 2, o), "discriminator");
    BAD(ddgan_discriminator_forward(R.d, NULL, g_t, y, 2, o), "x_prev");
    BAD(ddgan_discriminator_forward(R.d, x, NULL, y, 2, o), "t");
    BAD(ddgan_discriminator_forward(R.d, x, g_t, NULL, 2, o), "x_t");
    BAD(ddgan_discriminator_forward(R.d, x, g_t, y, 2, NULL), "logits");
    BAD(ddgan_discriminator_forward(R.d, x, g_t, y, 0, o), "batch");
    /* (D has no num_timesteps: any t only feeds its time embedding) */
    BAD(ddgan_discriminator_r1(NULL, x, g_t, y, 2, 0.05f, o), "discriminator");
    BAD(ddgan_discriminator_r1(R.d, NULL, g_t, y, 2, 0.05f, o), "x_prev");
    BAD(ddgan_discriminator_r1(R.d, x, g_t, y, 2, -1.0f, o), "gamma");
    BAD(ddgan_discriminator_backward(NULL, x, g_t, y, 2, o, NULL), "discriminator");
    BAD(ddgan_discriminator_backward(R.d, x, g_t, y, 2, NULL, NULL), "dlogits");
    BAD(ddgan_discriminator_zero_grad(NULL), "discriminator");
    BAD(ddgan_discriminator_zero_grad(WRONG(ddgan_discriminator_t)), "discriminator");
    BAD(ddgan_discriminator_get_param(NULL, "net.0.weight", g_buf, 1), "discriminator");
    BAD(ddgan_discriminator_get_param(R.d, NULL, g_buf, 1), "name");
    BAD(ddgan_discriminator_get_param(R.d, "no.such.tensor", g_buf, 1), "no.such.tensor");
    BAD(ddgan_discriminator_set_param(R.d, "no.such.tensor", g_buf, 1), "no.such.tensor");
    BAD(ddgan_discriminator_get_grad(R.d, "no.such.tensor", g_buf, 1), "no.such.tensor");
    ddgan_discriminator_tensor_info(R.d, 0, &ti);
    BAD(ddgan_discriminator_get_param(R.d, ti.name, NULL, ti.numel), "out");
    BAD(ddgan_discriminator_get_param(R.d, ti.name, g_buf, ti.numel + 1), "n");
    BAD(ddgan_discriminator_set_param(R.d, ti.name, NULL, ti.numel), "in");
    BAD(ddgan_discriminator_get_grad(NULL, ti.name, g_buf, ti.numel), "discriminator");
}

static void r_generator(void)
{
    ddgan_generator_t g = NULL;
    STRUCT_IN(ddgan_generator_config, ddgan_generator_config_init, "cfg",
              (p->cls = "ToyMLP", p->hidden_dim = 8, ddgan_generator_create(&g, R.ctx, p)),
              (ddgan_generator_destroy(g), g = NULL));
    ddgan_generator_config gc;
    ddgan_generator_config_init(&gc, sizeof gc);
    BAD(ddgan_generator_create(NULL, R.ctx, &gc), "out");
    BAD(ddgan_generator_create(&g, NULL, &gc), "context");
    BAD(ddgan_generator_create(&g, WRONG_CTX, &gc), "context");
    gc.ch_mult_len = 9;
    BAD(ddgan_generator_create(&g, R.ctx, &gc), "ch_mult");
    ddgan_generator_config_init(&gc, sizeof gc);
    gc.resblock_type = "resnext";
    BAD(ddgan_generator_create(&g, R.ctx, &gc), "resnext");
    BAD(ddgan_generator_create_json(NULL, R.ctx, "{}"), "out");
    BAD(ddgan_generator_create_json(&g, NULL, "{}"), "context");
    BAD(ddgan_generator_create_json(&g, R.ctx, NULL), "config JSON");
    BAD(ddgan_generator_create_json(&g, R.ctx, "{\"image_size\": 7}"), "image_size");
    S(ddgan_generator_create_json(&g, R.ctx, "[1,"), DDGAN_ERR_FORMAT, "json");
    BAD(ddgan_generator_load(NULL, R.ctx, g_gen), "out");
    BAD(ddgan_generator_load(&g, NULL, g_gen), "context");
    BAD(ddgan_generator_load(&g, R.ctx, NULL), "path");
    S(ddgan_generator_load(&g, R.ctx, "/nonexistent/g.safetensors"), DDGAN_ERR_IO, "/nonexistent/g.safetensors");
    S(ddgan_generator_load_prefixed(&g, R.ctx, g_ckpt, "G_ema.", "no_such_key"), DDGAN_ERR_FORMAT, "no_such_key");
    S(ddgan_generator_load_prefixed(&g, R.ctx, g_ckpt, "X.", NULL), DDGAN_ERR_FORMAT, "X.");
    BAD(ddgan_generator_load_prefixed(&g, R.ctx, NULL, NULL, NULL), "path");
    T(g == NULL);
    BAD(ddgan_generator_save(NULL, g_gen), "generator");
    BAD(ddgan_generator_save(WRONG(ddgan_generator_t), g_gen), "generator");
    BAD(ddgan_generator_save(R.g, NULL), "path");
    S(ddgan_generator_save(R.g, "/nonexistent/dir/g.safetensors"), DDGAN_ERR_IO, "/nonexistent/dir");
    ddgan_generator_destroy(NULL);
    T(strcmp(ddgan_generator_config_json(NULL), "") == 0);
    T(strcmp(ddgan_generator_config_json(WRONG(ddgan_generator_t)), "") == 0);
    ddgan_model_summary ms;
    ddgan_model_summary_init(&ms, sizeof ms);
    BAD(ddgan_generator_summary(NULL, &ms), "generator");
    BAD(ddgan_generator_summary(R.g, NULL), "out");
    T(ddgan_generator_num_tensors(NULL) == 0);
    T(ddgan_generator_num_tensors(WRONG(ddgan_generator_t)) == 0);
    ddgan_tensor_info ti;
    ddgan_tensor_info_init(&ti, sizeof ti);
    BAD(ddgan_generator_tensor_info(NULL, 0, &ti), "generator");
    BAD(ddgan_generator_tensor_info(R.g, 0, NULL), "out");
    BAD(ddgan_generator_tensor_info(R.g, 1000, &ti), "1000");
    int c;
    BAD(ddgan_generator_shape(NULL, &c, &c, &c, &c), "generator");
    BAD(ddgan_generator_shape(WRONG(ddgan_generator_t), &c, &c, &c, &c), "generator");
    OK(ddgan_generator_shape(R.g, NULL, NULL, NULL, NULL));
    float *x = g_buf, *z = g_buf + 256, *o = g_buf + 512;
    int64_t bad_t[2] = {0, -1};
    BAD(ddgan_generator_forward(NULL, x, g_t, z, 2, o), "generator");
    BAD(ddgan_generator_forward(R.g, NULL, g_t, z, 2, o), "x_t");
    BAD(ddgan_generator_forward(R.g, x, NULL, z, 2, o), "t");
    BAD(ddgan_generator_forward(R.g, x, g_t, z, 2, NULL), "x0_out");
    BAD(ddgan_generator_forward(R.g, x, g_t, z, 0, o), "batch");
    BAD(ddgan_generator_forward(R.g, x, bad_t, z, 2, o), "t[1]");
    BAD(ddgan_generator_backward(NULL, x, g_t, z, 2, o), "generator");
    BAD(ddgan_generator_backward(R.g, x, g_t, NULL, 2, o), "z");
    BAD(ddgan_generator_backward(R.g, x, g_t, z, 2, NULL), "dx0");
    BAD(ddgan_generator_zero_grad(NULL), "generator");
    BAD(ddgan_generator_zero_grad(WRONG(ddgan_generator_t)), "generator");
    BAD(ddgan_generator_get_param(NULL, "x", g_buf, 1), "generator");
    BAD(ddgan_generator_get_param(R.g, NULL, g_buf, 1), "name");
    BAD(ddgan_generator_get_param(R.g, "no.such.tensor", g_buf, 1), "no.such.tensor");
    BAD(ddgan_generator_set_param(R.g, "no.such.tensor", g_buf, 1), "no.such.tensor");
    BAD(ddgan_generator_get_grad(R.g, "no.such.tensor", g_buf, 1), "no.such.tensor");
    ddgan_generator_tensor_info(R.g, 0, &ti);
    BAD(ddgan_generator_get_param(R.g, ti.name, g_buf, ti.numel + 1), "n");
    BAD(ddgan_generator_set_param(R.g, ti.name, NULL, ti.numel), "in");
    BAD(ddgan_generator_get_grad(NULL, ti.name, g_buf, ti.numel), "generator");
}

static void r_sample(void)
{
    BAD(ddgan_sample(NULL, R.s, 2, 0, g_buf), "generator");
    BAD(ddgan_sample(R.g, NULL, 2, 0, g_buf), "schedule");
    BAD(ddgan_sample(WRONG(ddgan_generator_t), R.s, 2, 0, g_buf), "generator");
    BAD(ddgan_sample(R.g, WRONG(ddgan_schedule_t), 2, 0, g_buf), "schedule");
    BAD(ddgan_sample(R.g, R.s, 2, 0, NULL), "out");
    BAD(ddgan_sample(R.g, g_ddpm_s, 2, 0, g_buf), "schedule");
    BAD(ddgan_sample_with_draws(NULL, R.s, 2, NULL, NULL, NULL, g_buf), "generator");
    BAD(ddgan_sample_with_draws(R.g, NULL, 2, NULL, NULL, NULL, g_buf), "schedule");
    BAD(ddgan_sample_with_draws(R.g, R.s, 2, NULL, NULL, NULL, NULL), "out");
    BAD(ddgan_sample_trajectory(NULL, R.s, 2, 0, g_buf), "generator");
    BAD(ddgan_sample_trajectory(R.g, R.s, 2, 0, NULL), "trajectory");
    BAD(ddgan_sample(R.g, R.s, (size_t)1 << 62, 0, g_buf), "n");
}

static void r_trainer(void)
{
    ddgan_trainer_t t = NULL;
    ddgan_generator_t g2 = NULL;
    ddgan_discriminator_t d2 = NULL;
    ddgan_generator_create_json(&g2, R.ctx, ddgan_generator_config_json(R.g));
    ddgan_discriminator_create_json(&d2, R.ctx, ddgan_discriminator_config_json(R.d));
    STRUCT_IN(ddgan_trainer_config, ddgan_trainer_config_init, "cfg",
              (p->batch_size = 4, ddgan_trainer_create(&t, g2, d2, R.s, p)), (ddgan_trainer_destroy(t), t = NULL));
    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = 4;
    BAD(ddgan_trainer_create(NULL, g2, d2, R.s, &tc), "out");
    BAD(ddgan_trainer_create(&t, NULL, d2, R.s, &tc), "generator");
    BAD(ddgan_trainer_create(&t, g2, NULL, R.s, &tc), "discriminator");
    BAD(ddgan_trainer_create(&t, g2, d2, NULL, &tc), "schedule");
    BAD(ddgan_trainer_create(&t, WRONG(ddgan_generator_t), d2, R.s, &tc), "generator");
    BAD(ddgan_trainer_create(&t, g2, d2, g_ddpm_s, &tc), "schedule");
    tc.beta2 = 1.5f;
    BAD(ddgan_trainer_create(&t, g2, d2, R.s, &tc), "beta2");
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.lr_schedule = 9;
    BAD(ddgan_trainer_create(&t, g2, d2, R.s, &tc), "lr_schedule");
    T(t == NULL);
    ddgan_trainer_destroy(NULL);
    float x[2 * TR_BATCH] = {0};
    STRUCT_OUT(ddgan_step_stats, ddgan_step_stats_init, ddgan_trainer_step(R.tr, x, TR_BATCH, p));
    STRUCT_IN(ddgan_step_draws, ddgan_step_draws_init, "draws",
              ddgan_trainer_step_with_draws(R.tr, x, TR_BATCH, p, NULL), (void)0);
    BAD(ddgan_trainer_step(NULL, x, TR_BATCH, NULL), "trainer");
    BAD(ddgan_trainer_step(WRONG(ddgan_trainer_t), x, TR_BATCH, NULL), "trainer");
    BAD(ddgan_trainer_step(R.tr, NULL, TR_BATCH, NULL), "x0");
    BAD(ddgan_trainer_step(R.tr, x, 0, NULL), "batch 0");
    BAD(ddgan_trainer_step(R.tr, x, TR_BATCH + 1, NULL), "batch");
    BAD(ddgan_trainer_step_with_draws(NULL, x, TR_BATCH, NULL, NULL), "trainer");
    BAD(ddgan_trainer_step_with_draws(R.tr, NULL, TR_BATCH, NULL, NULL), "x0");
    ddgan_step_draws dr;
    ddgan_step_draws_init(&dr, sizeof dr);
    int64_t bad_t[TR_BATCH] = {0, 0, 0, 0, 0, 0, 0, 9};
    dr.d_t = bad_t;
    BAD(ddgan_trainer_step_with_draws(R.tr, x, TR_BATCH, &dr, NULL), "9");
    BAD(ddgan_trainer_set_global_step(NULL, 1), "trainer");
    BAD(ddgan_trainer_set_global_step(R.tr, -5), "-5");
    T(ddgan_trainer_global_step(NULL) == -1);
    T(ddgan_trainer_global_step(WRONG(ddgan_trainer_t)) == -1);
    T(ddgan_trainer_skipped_steps(NULL) == -1);
    BAD(ddgan_trainer_save(NULL, g_gen), "trainer");
    BAD(ddgan_trainer_save(R.tr, NULL), "path");
    S(ddgan_trainer_save(R.tr, "/nonexistent/dir/ck.safetensors"), DDGAN_ERR_IO, "/nonexistent/dir");
    BAD(ddgan_trainer_load(NULL, g_ckpt), "trainer");
    BAD(ddgan_trainer_load(R.tr, NULL), "path");
    S(ddgan_trainer_load(R.tr, "/nonexistent/ck.safetensors"), DDGAN_ERR_IO, "/nonexistent/ck.safetensors");
    /* a generator file is not a trainer checkpoint: its format string says so */
    S(ddgan_trainer_load(R.tr, g_gen), DDGAN_ERR_VERSION_MISMATCH, "ddgan-checkpoint/1");
    ddgan_generator_t e = NULL;
    BAD(ddgan_trainer_ema_generator(NULL, R.tr), "out");
    BAD(ddgan_trainer_ema_generator(&e, NULL), "trainer");
    BAD(ddgan_trainer_ema_generator(&e, WRONG(ddgan_trainer_t)), "trainer");
    T(e == NULL);
    ddgan_generator_destroy(g2);
    ddgan_discriminator_destroy(d2);
}

static void r_ddpm(void)
{
    ddgan_ddpm_trainer_t t = NULL;
    ddgan_generator_t g2 = NULL;
    ddgan_generator_create_json(&g2, R.ctx, ddgan_generator_config_json(R.g));
    STRUCT_IN(ddgan_ddpm_trainer_config, ddgan_ddpm_trainer_config_init, "cfg",
              (p->batch_size = 4, ddgan_ddpm_trainer_create(&t, g2, g_ddpm_s, p)),
              (ddgan_ddpm_trainer_destroy(t), t = NULL));
    ddgan_ddpm_trainer_config tc;
    ddgan_ddpm_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = 4;
    BAD(ddgan_ddpm_trainer_create(NULL, g2, g_ddpm_s, &tc), "out");
    BAD(ddgan_ddpm_trainer_create(&t, NULL, g_ddpm_s, &tc), "generator");
    BAD(ddgan_ddpm_trainer_create(&t, g2, NULL, &tc), "schedule");
    BAD(ddgan_ddpm_trainer_create(&t, g2, R.s, &tc), "schedule"); /* a DDGAN schedule */
    tc.batch_size = -1;
    BAD(ddgan_ddpm_trainer_create(&t, g2, g_ddpm_s, &tc), "batch_size");
    T(t == NULL);
    ddgan_ddpm_trainer_destroy(NULL);
    float x[2 * TR_BATCH] = {0}, loss;
    BAD(ddgan_ddpm_trainer_step(NULL, x, 2, &loss), "trainer");
    BAD(ddgan_ddpm_trainer_step(WRONG(ddgan_ddpm_trainer_t), x, 2, &loss), "trainer");
    BAD(ddgan_ddpm_trainer_step(g_ddpm, NULL, 2, &loss), "x0");
    BAD(ddgan_ddpm_trainer_step(g_ddpm, x, 0, &loss), "batch");
    BAD(ddgan_ddpm_trainer_step(g_ddpm, x, TR_BATCH + 1, &loss), "batch");
    T(ddgan_ddpm_trainer_global_step(NULL) == -1);
    T(ddgan_ddpm_trainer_skipped_steps(NULL) == -1);
    T(ddgan_ddpm_trainer_global_step(WRONG(ddgan_ddpm_trainer_t)) == -1);
    BAD(ddgan_ddpm_trainer_save(NULL, g_gen), "trainer");
    BAD(ddgan_ddpm_trainer_save(g_ddpm, NULL), "path");
    BAD(ddgan_ddpm_trainer_load(NULL, g_ckpt), "trainer");
    BAD(ddgan_ddpm_trainer_load(g_ddpm, NULL), "path");
    S(ddgan_ddpm_trainer_load(g_ddpm, g_ckpt), DDGAN_ERR_FORMAT, "format"); /* a DDGAN checkpoint */
    ddgan_generator_t e = NULL;
    BAD(ddgan_ddpm_trainer_ema_generator(NULL, g_ddpm), "out");
    BAD(ddgan_ddpm_trainer_ema_generator(&e, NULL), "trainer");
    BAD(ddgan_ddpm_sample(NULL, g_ddpm_s, 2, 2, 0, g_buf), "generator");
    BAD(ddgan_ddpm_sample(R.g, NULL, 2, 2, 0, g_buf), "schedule");
    BAD(ddgan_ddpm_sample(R.g, g_ddpm_s, 2, 0, 0, g_buf), "num_steps");
    BAD(ddgan_ddpm_sample(R.g, g_ddpm_s, 2, 3, 0, g_buf), "num_steps");
    BAD(ddgan_ddpm_sample(R.g, g_ddpm_s, 2, 2, 0, NULL), "out");
    BAD(ddgan_ddpm_sample(R.g, R.s, 2, 2, 0, g_buf), "schedule");
    ddgan_generator_destroy(g2);
}

static void r_dataset(void)
{
    ddgan_dataset_t ds = NULL;
    STRUCT_IN(ddgan_dataset_config, ddgan_dataset_config_init, "cfg",
              (p->kind = DDGAN_DATASET_RING8, p->num_examples = 8, ddgan_dataset_open(&ds, p)),
              (ddgan_dataset_destroy(ds), ds = NULL));
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    BAD(ddgan_dataset_open(NULL, &dc), "out");
    BAD(ddgan_dataset_open(&ds, NULL), "path"); /* NULL cfg = defaults: IDX without a path */
    dc.kind = 42;
    BAD(ddgan_dataset_open(&ds, &dc), "kind");
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_IDX;
    BAD(ddgan_dataset_open(&ds, &dc), "path");
    dc.path = "/nonexistent/mnist";
    S(ddgan_dataset_open(&ds, &dc), DDGAN_ERR_IO, "/nonexistent/mnist");
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_GRID25;
    dc.num_examples = -3;
    BAD(ddgan_dataset_open(&ds, &dc), "num_examples");
    dc.num_examples = 0;
    dc.split = 5;
    BAD(ddgan_dataset_open(&ds, &dc), "split");
    dc.split = 0;
    dc.image_size = -1;
    BAD(ddgan_dataset_open(&ds, &dc), "image_size");
    T(ds == NULL);
    ddgan_dataset_destroy(NULL);
    T(ddgan_dataset_size(NULL) == 0);
    T(ddgan_dataset_size(WRONG(ddgan_dataset_t)) == 0);
    int c;
    BAD(ddgan_dataset_shape(NULL, &c, &c, &c), "dataset");
    BAD(ddgan_dataset_shape(WRONG(ddgan_dataset_t), &c, &c, &c), "dataset");
    T(ddgan_dataset_batches_per_epoch(NULL, 2) == 0);
    T(ddgan_dataset_batches_per_epoch(g_ds, 0) == 0);
    T(ddgan_dataset_batches_per_epoch(g_ds, 1000) == 0);
    int64_t lab[64];
    BAD(ddgan_dataset_get(NULL, 0, g_buf, lab), "dataset");
    BAD(ddgan_dataset_get(g_ds, -1, g_buf, lab), "-1");
    BAD(ddgan_dataset_get(g_ds, 16, g_buf, lab), "16");
    BAD(ddgan_dataset_get(g_ds, 0, NULL, lab), "out");
    BAD(ddgan_dataset_next_batch(NULL, 2, g_buf, lab), "dataset");
    BAD(ddgan_dataset_next_batch(g_ds, 0, g_buf, lab), "batch");
    BAD(ddgan_dataset_next_batch(g_ds, 17, g_buf, lab), "17");
    BAD(ddgan_dataset_next_batch(g_ds, 2, NULL, lab), "out");
    int64_t e, i;
    BAD(ddgan_dataset_get_position(NULL, &e, &i), "dataset");
    BAD(ddgan_dataset_set_position(NULL, 0, 0), "dataset");
    BAD(ddgan_dataset_set_position(g_ds, -1, 0), "-1");
    BAD(ddgan_dataset_set_position(g_ds, (int64_t)1 << 41, 0), "epoch");
    BAD(ddgan_dataset_set_position(g_ds, 0, 17), "17");
    int64_t st[DDGAN_DATASET_STATE_LEN];
    BAD(ddgan_dataset_get_state(NULL, st, DDGAN_DATASET_STATE_LEN), "dataset");
    BAD(ddgan_dataset_get_state(g_ds, NULL, DDGAN_DATASET_STATE_LEN), "out");
    BAD(ddgan_dataset_get_state(g_ds, st, 4), "4");
    OK(ddgan_dataset_get_state(g_ds, st, DDGAN_DATASET_STATE_LEN));
    BAD(ddgan_dataset_set_state(NULL, st, DDGAN_DATASET_STATE_LEN), "dataset");
    BAD(ddgan_dataset_set_state(g_ds, NULL, DDGAN_DATASET_STATE_LEN), "state");
    BAD(ddgan_dataset_set_state(g_ds, st, 6), "6");
    st[2] = 99; /* N of another dataset */
    BAD(ddgan_dataset_set_state(g_ds, st, DDGAN_DATASET_STATE_LEN), "99");
}

static void r_extras(void)
{
    STRUCT_OUT(ddgan_schedule_config, ddgan_schedule_config_init, ddgan_generator_schedule_config(R.g, p));
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    BAD(ddgan_generator_schedule_config(NULL, &sc), "generator");
    BAD(ddgan_generator_schedule_config(WRONG(ddgan_generator_t), &sc), "generator");
    BAD(ddgan_generator_schedule_config(R.g, NULL), "out");
    BAD(ddgan_trainer_attach_dataset(NULL, g_ds), "trainer");
    BAD(ddgan_trainer_attach_dataset(WRONG(ddgan_trainer_t), g_ds), "trainer");
    BAD(ddgan_trainer_attach_dataset(R.tr, WRONG(ddgan_dataset_t)), "dataset");
    OK(ddgan_trainer_attach_dataset(R.tr, NULL));
    BAD(ddgan_trainer_set_metadata(NULL, "k", "v"), "trainer");
    BAD(ddgan_trainer_set_metadata(R.tr, NULL, "v"), "key");
    BAD(ddgan_trainer_set_metadata(R.tr, "format", "v"), "format");
    BAD(ddgan_ddpm_trainer_attach_dataset(NULL, g_ds), "trainer");
    BAD(ddgan_ddpm_trainer_attach_dataset(WRONG(ddgan_ddpm_trainer_t), g_ds), "trainer");
    BAD(ddgan_ddpm_trainer_attach_dataset(g_ddpm, WRONG(ddgan_dataset_t)), "dataset");
    OK(ddgan_ddpm_trainer_attach_dataset(g_ddpm, NULL));
    BAD(ddgan_ddpm_trainer_set_metadata(NULL, "k", "v"), "trainer");
    BAD(ddgan_ddpm_trainer_set_metadata(g_ddpm, NULL, "v"), "key");
    BAD(ddgan_ddpm_trainer_set_metadata(g_ddpm, "config", "v"), "config");
    char buf[8];
    size_t len = 0;
    BAD(ddgan_file_metadata(NULL, "config", buf, sizeof buf, &len), "path");
    BAD(ddgan_file_metadata(g_gen, NULL, buf, sizeof buf, &len), "key");
    BAD(ddgan_file_metadata(g_gen, "config", NULL, 5, &len), "out");
    BAD(ddgan_file_metadata(g_gen, "config", buf, sizeof buf, &len), "cap");
    T(len > sizeof buf); /* the length is reported for the retry */
    S(ddgan_file_metadata(g_gen, "no_such_key", buf, sizeof buf, &len), DDGAN_ERR_FORMAT, "no_such_key");
    S(ddgan_file_metadata("/nonexistent/f.safetensors", "config", buf, sizeof buf, &len), DDGAN_ERR_IO,
      "/nonexistent/f.safetensors");
}

static void r_eval(void)
{
    static float img[4 * 32 * 32], img3[2 * 3 * 32 * 32];
    int64_t lab[4] = {0, 1, 2, 3};
    ddgan_classifier_t c = NULL;
    /* a tiny classifier: 4 images, one epoch */
    STRUCT_IN(ddgan_classifier_config, ddgan_classifier_config_init, "cfg",
              (p->epochs = 1, p->batch_size = 4, p->width = 2, p->hidden = 4,
               ddgan_classifier_train(&c, R.ctx, img, lab, 4, p)),
              (ddgan_classifier_destroy(c), c = NULL));
    ddgan_classifier_config cc;
    ddgan_classifier_config_init(&cc, sizeof cc);
    cc.epochs = 1;
    cc.batch_size = 4;
    cc.width = 2;
    cc.hidden = 4;
    BAD(ddgan_classifier_train(NULL, R.ctx, img, lab, 4, &cc), "out");
    BAD(ddgan_classifier_train(&c, NULL, img, lab, 4, &cc), "context");
    BAD(ddgan_classifier_train(&c, R.ctx, NULL, lab, 4, &cc), "images");
    BAD(ddgan_classifier_train(&c, R.ctx, img, NULL, 4, &cc), "labels");
    BAD(ddgan_classifier_train(&c, R.ctx, img, lab, 0, &cc), "n");
    cc.epochs = 0;
    BAD(ddgan_classifier_train(&c, R.ctx, img, lab, 4, &cc), "epochs");
    cc.epochs = 1;
    int64_t bad_lab[4] = {0, 1, 2, 10};
    BAD(ddgan_classifier_train(&c, R.ctx, img, bad_lab, 4, &cc), "10");
    T(c == NULL);
    OK(ddgan_classifier_train(&c, R.ctx, img, lab, 4, &cc));
    BAD(ddgan_classifier_load(NULL, R.ctx, g_gen), "out");
    ddgan_classifier_t c2 = NULL;
    BAD(ddgan_classifier_load(&c2, NULL, g_gen), "context");
    BAD(ddgan_classifier_load(&c2, R.ctx, NULL), "path");
    S(ddgan_classifier_load(&c2, R.ctx, "/nonexistent/c.safetensors"), DDGAN_ERR_IO, "/nonexistent/c.safetensors");
    T(c2 == NULL);
    BAD(ddgan_classifier_save(NULL, g_gen), "classifier");
    BAD(ddgan_classifier_save(WRONG(ddgan_classifier_t), g_gen), "classifier");
    BAD(ddgan_classifier_save(c, NULL), "path");
    ddgan_classifier_destroy(NULL);
    T(ddgan_classifier_feature_dim(NULL) == 0);
    T(ddgan_classifier_feature_dim(WRONG(ddgan_classifier_t)) == 0);
    T(ddgan_classifier_config_json(NULL) == NULL);
    float probs[4 * 10], feats[4 * 64];
    int64_t pl[4];
    BAD(ddgan_classifier_predict(NULL, img, 4, 1, pl, probs), "classifier");
    BAD(ddgan_classifier_predict(c, NULL, 4, 1, pl, probs), "images");
    BAD(ddgan_classifier_predict(c, img, 4, 65, pl, probs), "channels");
    BAD(ddgan_classifier_features(NULL, img, 4, 1, feats), "classifier");
    BAD(ddgan_classifier_features(c, img, 4, 1, NULL), "features");
    BAD(ddgan_classifier_features(c, img, 4, 0, feats), "channels");
    double acc;
    BAD(ddgan_classifier_accuracy(NULL, img, lab, 4, &acc), "classifier");
    BAD(ddgan_classifier_accuracy(c, img, NULL, 4, &acc), "labels");
    BAD(ddgan_classifier_accuracy(c, img, lab, 4, NULL), "accuracy");
    /* metrics structs */
    STRUCT_OUT(ddgan_toy_metrics, ddgan_toy_metrics_init, ddgan_eval_toy(g_buf, 16, DDGAN_TOY_GRID25, p));
    ddgan_toy_metrics tm0;
    ddgan_toy_metrics_init(&tm0, sizeof tm0);
    BAD(ddgan_eval_toy(NULL, 16, DDGAN_TOY_GRID25, &tm0), "samples");
    ddgan_toy_metrics tm;
    ddgan_toy_metrics_init(&tm, sizeof tm);
    BAD(ddgan_eval_toy(g_buf, 16, 7, &tm), "mixture");
    BAD(ddgan_eval_toy(g_buf, 0, DDGAN_TOY_GRID25, &tm), "n");
    BAD(ddgan_eval_toy(g_buf, 16, DDGAN_TOY_GRID25, NULL), "out");
    STRUCT_OUT(ddgan_stacked_metrics, ddgan_stacked_metrics_init, ddgan_stacked_metrics_from_labels(lab, 4, p));
    ddgan_stacked_metrics sm;
    ddgan_stacked_metrics_init(&sm, sizeof sm);
    int64_t bad_sl[2] = {0, 1000};
    BAD(ddgan_stacked_metrics_from_labels(NULL, 4, &sm), "labels");
    BAD(ddgan_stacked_metrics_from_labels(lab, 0, &sm), "n");
    BAD(ddgan_stacked_metrics_from_labels(bad_sl, 2, &sm), "1000");
    BAD(ddgan_stacked_metrics_from_labels(lab, 4, NULL), "out");
    BAD(ddgan_eval_stacked(NULL, img3, 2, &sm, NULL), "classifier");
    BAD(ddgan_eval_stacked(c, NULL, 2, &sm, NULL), "images");
    BAD(ddgan_eval_stacked(c, img3, 2, NULL, NULL), "out");
    BAD(ddgan_eval_stacked_dataset(NULL, g_ds, 2, &sm), "classifier");
    BAD(ddgan_eval_stacked_dataset(c, NULL, 2, &sm), "dataset");
    BAD(ddgan_eval_stacked_dataset(c, g_ds, 2, &sm), "dataset"); /* 2-D data is not StackedMNIST */
    STRUCT_OUT(ddgan_image_metrics, ddgan_image_metrics_init, ddgan_eval_images(c, img, 4, img, 4, 1, p));
    ddgan_image_metrics im;
    ddgan_image_metrics_init(&im, sizeof im);
    BAD(ddgan_eval_images(NULL, img, 4, img, 4, 1, &im), "classifier");
    BAD(ddgan_eval_images(c, NULL, 4, img, 4, 1, &im), "real");
    BAD(ddgan_eval_images(c, img, 4, NULL, 4, 1, &im), "fake");
    BAD(ddgan_eval_images(c, img, 4, img, 4, 1, NULL), "out");
    BAD(ddgan_eval_images(c, img, 4, img, 4, 0, &im), "channels");
    /* statistics */
    double mu[2], sigma[4], fd;
    BAD(ddgan_feature_stats(NULL, 4, 2, mu, sigma), "features");
    BAD(ddgan_feature_stats(g_buf, 1, 2, mu, sigma), "n");
    BAD(ddgan_feature_stats(g_buf, 4, 0, mu, sigma), "dim");
    BAD(ddgan_feature_stats(g_buf, 4, 2, NULL, sigma), "mu");
    BAD(ddgan_frechet_distance(NULL, sigma, mu, sigma, 2, &fd), "mu1");
    BAD(ddgan_frechet_distance(mu, sigma, mu, sigma, 0, &fd), "dim");
    BAD(ddgan_frechet_distance(mu, sigma, mu, sigma, 2, NULL), "out");
    BAD(ddgan_frechet_distance_features(NULL, 4, g_buf, 4, 2, &fd), "real");
    BAD(ddgan_frechet_distance_features(g_buf, 4, g_buf, 1, 2, &fd), "n");
    double pr, rc;
    BAD(ddgan_precision_recall(NULL, 4, g_buf, 4, 2, 3, &pr, &rc), "real");
    BAD(ddgan_precision_recall(g_buf, 4, g_buf, 4, 2, 0, &pr, &rc), "k");
    BAD(ddgan_precision_recall(g_buf, 4, g_buf, 4, 2, 4, &pr, &rc), "k");
    BAD(ddgan_precision_recall(g_buf, 4, g_buf, 4, 2, 65, &pr, &rc), "65");
    OK(ddgan_precision_recall(g_buf, 4, g_buf, 4, 2, 3, NULL, NULL)); /* either output may be NULL */
    double spi;
    BAD(ddgan_time_sampling(NULL, R.s, 2, 2, 1, 0, &spi), "generator");
    BAD(ddgan_time_sampling(R.g, NULL, 2, 2, 1, 0, &spi), "schedule");
    BAD(ddgan_time_sampling(R.g, R.s, 0, 2, 1, 0, &spi), "n");
    BAD(ddgan_time_sampling(R.g, R.s, 2, 2, 0, 0, &spi), "repeats");
    BAD(ddgan_time_sampling(R.g, R.s, 2, 2, 1, 0, NULL), "sec_per_image");
    ddgan_classifier_destroy(c);
}

/* ------------------------------------------------------------------------ */
/* The table: one row per public function (several may share a routine)   */

typedef struct row {
    const char *fn;
    void (*run)(void);
} row;

static const row k_table[] = {
    {"ddgan_version_string", r_version}, {"ddgan_version_number", r_version},
    {"ddgan_status_string", r_errors}, {"ddgan_last_error", r_errors}, {"ddgan_clear_last_error", r_errors},
    {"ddgan_backend_info_init", r_backend}, {"ddgan_backend_count", r_backend},
    {"ddgan_backend_get_info", r_backend},
    {"ddgan_context_config_init", r_context}, {"ddgan_context_create", r_context},
    {"ddgan_context_destroy", r_context}, {"ddgan_context_backend", r_context},
    {"ddgan_context_seed", r_context}, {"ddgan_context_num_threads", r_context},
    {"ddgan_context_randn", r_context}, {"ddgan_context_rand", r_context},
    {"ddgan_schedule_config_init", r_schedule}, {"ddgan_schedule_create", r_schedule},
    {"ddgan_schedule_destroy", r_schedule}, {"ddgan_schedule_num_timesteps", r_schedule},
    {"ddgan_schedule_coef", r_schedule}, {"ddgan_schedule_coef_f64", r_schedule},
    {"ddgan_schedule_q_sample", r_schedule_helpers}, {"ddgan_schedule_q_sample_pairs", r_schedule_helpers},
    {"ddgan_schedule_sample_posterior", r_schedule_helpers},
    {"ddgan_schedule_q_sample_f64", r_schedule_helpers},
    {"ddgan_schedule_q_sample_pairs_f64", r_schedule_helpers},
    {"ddgan_schedule_sample_posterior_f64", r_schedule_helpers},
    {"ddgan_model_summary_init", r_summary_info}, {"ddgan_tensor_info_init", r_summary_info},
    {"ddgan_discriminator_config_init", r_discriminator}, {"ddgan_discriminator_create", r_discriminator},
    {"ddgan_discriminator_create_json", r_discriminator}, {"ddgan_discriminator_load", r_discriminator},
    {"ddgan_discriminator_load_prefixed", r_discriminator}, {"ddgan_discriminator_save", r_discriminator},
    {"ddgan_discriminator_destroy", r_discriminator}, {"ddgan_discriminator_config_json", r_discriminator},
    {"ddgan_discriminator_summary", r_discriminator}, {"ddgan_discriminator_num_tensors", r_discriminator},
    {"ddgan_discriminator_tensor_info", r_discriminator}, {"ddgan_discriminator_forward", r_discriminator},
    {"ddgan_discriminator_r1", r_discriminator}, {"ddgan_discriminator_backward", r_discriminator},
    {"ddgan_discriminator_zero_grad", r_discriminator}, {"ddgan_discriminator_get_param", r_discriminator},
    {"ddgan_discriminator_set_param", r_discriminator}, {"ddgan_discriminator_get_grad", r_discriminator},
    {"ddgan_generator_config_init", r_generator}, {"ddgan_generator_create", r_generator},
    {"ddgan_generator_create_json", r_generator}, {"ddgan_generator_load", r_generator},
    {"ddgan_generator_load_prefixed", r_generator}, {"ddgan_generator_save", r_generator},
    {"ddgan_generator_destroy", r_generator}, {"ddgan_generator_config_json", r_generator},
    {"ddgan_generator_summary", r_generator}, {"ddgan_generator_num_tensors", r_generator},
    {"ddgan_generator_tensor_info", r_generator}, {"ddgan_generator_shape", r_generator},
    {"ddgan_generator_forward", r_generator}, {"ddgan_generator_backward", r_generator},
    {"ddgan_generator_zero_grad", r_generator}, {"ddgan_generator_get_param", r_generator},
    {"ddgan_generator_set_param", r_generator}, {"ddgan_generator_get_grad", r_generator},
    {"ddgan_sample", r_sample}, {"ddgan_sample_with_draws", r_sample}, {"ddgan_sample_trajectory", r_sample},
    {"ddgan_trainer_config_init", r_trainer}, {"ddgan_step_stats_init", r_trainer},
    {"ddgan_step_draws_init", r_trainer}, {"ddgan_trainer_create", r_trainer},
    {"ddgan_trainer_destroy", r_trainer}, {"ddgan_trainer_step", r_trainer},
    {"ddgan_trainer_step_with_draws", r_trainer}, {"ddgan_trainer_set_global_step", r_trainer},
    {"ddgan_trainer_global_step", r_trainer}, {"ddgan_trainer_skipped_steps", r_trainer},
    {"ddgan_trainer_save", r_trainer}, {"ddgan_trainer_load", r_trainer},
    {"ddgan_trainer_ema_generator", r_trainer},
    {"ddgan_ddpm_trainer_config_init", r_ddpm}, {"ddgan_ddpm_trainer_create", r_ddpm},
    {"ddgan_ddpm_trainer_destroy", r_ddpm}, {"ddgan_ddpm_trainer_step", r_ddpm},
    {"ddgan_ddpm_trainer_global_step", r_ddpm}, {"ddgan_ddpm_trainer_skipped_steps", r_ddpm},
    {"ddgan_ddpm_trainer_save", r_ddpm}, {"ddgan_ddpm_trainer_load", r_ddpm},
    {"ddgan_ddpm_trainer_ema_generator", r_ddpm}, {"ddgan_ddpm_sample", r_ddpm},
    {"ddgan_dataset_config_init", r_dataset}, {"ddgan_dataset_open", r_dataset},
    {"ddgan_dataset_destroy", r_dataset}, {"ddgan_dataset_size", r_dataset},
    {"ddgan_dataset_shape", r_dataset}, {"ddgan_dataset_batches_per_epoch", r_dataset},
    {"ddgan_dataset_get", r_dataset}, {"ddgan_dataset_next_batch", r_dataset},
    {"ddgan_dataset_get_position", r_dataset}, {"ddgan_dataset_set_position", r_dataset},
    {"ddgan_dataset_get_state", r_dataset}, {"ddgan_dataset_set_state", r_dataset},
    {"ddgan_generator_schedule_config", r_extras}, {"ddgan_trainer_attach_dataset", r_extras},
    {"ddgan_trainer_set_metadata", r_extras}, {"ddgan_ddpm_trainer_attach_dataset", r_extras},
    {"ddgan_ddpm_trainer_set_metadata", r_extras}, {"ddgan_file_metadata", r_extras},
    {"ddgan_classifier_accuracy", r_eval},
    {"ddgan_classifier_config_init", r_eval},
    {"ddgan_classifier_config_json", r_eval},
    {"ddgan_classifier_destroy", r_eval},
    {"ddgan_classifier_feature_dim", r_eval},
    {"ddgan_classifier_features", r_eval},
    {"ddgan_classifier_load", r_eval},
    {"ddgan_classifier_predict", r_eval},
    {"ddgan_classifier_save", r_eval},
    {"ddgan_classifier_train", r_eval},
    {"ddgan_eval_images", r_eval},
    {"ddgan_eval_stacked", r_eval},
    {"ddgan_eval_stacked_dataset", r_eval},
    {"ddgan_eval_toy", r_eval},
    {"ddgan_feature_stats", r_eval},
    {"ddgan_frechet_distance", r_eval},
    {"ddgan_frechet_distance_features", r_eval},
    {"ddgan_image_metrics_init", r_eval},
    {"ddgan_precision_recall", r_eval},
    {"ddgan_stacked_metrics_from_labels", r_eval},
    {"ddgan_stacked_metrics_init", r_eval},
    {"ddgan_time_sampling", r_eval},
    {"ddgan_toy_metrics_init", r_eval},
};
#define N_ROWS (sizeof k_table / sizeof k_table[0])

static void test_misuse_table(void **state)
{
    (void)state;
    void (*done[N_ROWS])(void);
    size_t n_done = 0;
    for (size_t i = 0; i < N_ROWS; i++) {
        int seen = 0;
        for (size_t k = 0; k < n_done; k++)
            seen |= done[k] == k_table[i].run;
        if (seen)
            continue;
        g_fn = k_table[i].fn;
        k_table[i].run();
        done[n_done++] = k_table[i].run;
    }
    print_message("    %zu functions in the table, %zu routines run, %d failures\n", N_ROWS, n_done, g_failures);
    assert_int_equal(g_failures, 0);
}

/* Every `DDGAN_API <type> name(` of the header has a row. */
static void test_every_function_is_covered(void **state)
{
    (void)state;
    /* the header, found from this source file: <root>/tests/unit/test_api_misuse.c */
    char header[4096];
    snprintf(header, sizeof header, "%s", __FILE__);
    char *cut = strstr(header, "tests/unit/test_api_misuse.c");
    assert_non_null(cut);
    snprintf(cut, sizeof header - (size_t)(cut - header), "include/ddgan/ddgan.h");
    size_t len = 0;
    unsigned char *text = tu_read_file(header, &len);
    if (!text)
        print_error("cannot read %s\n", header);
    assert_non_null(text);
    char *s = (char *)text;
    s[len - 1] = '\0';
    int missing = 0, found = 0;
    for (char *p = strstr(s, "DDGAN_API "); p; p = strstr(p + 1, "DDGAN_API ")) {
        if (p > s && p[-1] != '\n')
            continue; /* the #define lines */
        char *paren = strchr(p, '(');
        if (!paren)
            break;
        char *e = paren;
        while (e > p && (e[-1] == ' '))
            e--;
        char *b = e;
        while (b > p && (b[-1] == '_' || (b[-1] >= 'a' && b[-1] <= 'z') || (b[-1] >= '0' && b[-1] <= '9')))
            b--;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(e - b), b);
        if (strncmp(name, "ddgan_", 6) != 0)
            continue;
        found++;
        int have = 0;
        for (size_t i = 0; i < N_ROWS; i++)
            have |= strcmp(k_table[i].fn, name) == 0;
        if (!have) {
            print_error("public function %s has no row in the misuse table (tests/unit/test_api_misuse.c)\n",
                        name);
            missing++;
        }
    }
    free(text);
    print_message("    %d public functions in the header, %d without a row\n", found, missing);
    assert_true(found >= 100);
    assert_int_equal(missing, 0);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(tr_rig_make(&R, 1, 1), DDGAN_OK);
    assert_int_equal(tr_rig_run_to(&R, 1), DDGAN_OK);
    char *d = tu_make_tmpdir();
    snprintf(g_dir, sizeof g_dir, "%s", d);
    free(d);
    snprintf(g_ckpt, sizeof g_ckpt, "%s/ck.safetensors", g_dir);
    snprintf(g_gen, sizeof g_gen, "%s/gen.safetensors", g_dir);
    assert_int_equal(ddgan_trainer_save(R.tr, g_ckpt), DDGAN_OK);
    assert_int_equal(ddgan_generator_save(R.g, g_gen), DDGAN_OK);
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.kind = DDGAN_SCHEDULE_DDPM_LINEAR;
    sc.num_timesteps = 2;
    sc.beta_min = 1e-4;
    sc.beta_max = 0.02;
    assert_int_equal(ddgan_schedule_create(&g_ddpm_s, R.ctx, &sc), DDGAN_OK);
    ddgan_ddpm_trainer_config tc;
    ddgan_ddpm_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = TR_BATCH;
    assert_int_equal(ddgan_ddpm_trainer_create(&g_ddpm, R.g, g_ddpm_s, &tc), DDGAN_OK);
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_GRID25;
    dc.num_examples = 16;
    assert_int_equal(ddgan_dataset_open(&g_ds, &dc), DDGAN_OK);
    for (int i = 0; i < 64; i++)
        g_t[i] = i % 2;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ddgan_dataset_destroy(g_ds);
    ddgan_ddpm_trainer_destroy(g_ddpm);
    ddgan_schedule_destroy(g_ddpm_s);
    tr_rig_free(&R);
    tu_rmdir_recursive(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_function_is_covered),
        cmocka_unit_test(test_misuse_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
