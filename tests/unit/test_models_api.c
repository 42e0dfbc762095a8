/* The public generator/discriminator API: golden vectors through the public
 * functions, interchange-format load/save, config validation, summaries,
 * corrupt files. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"

static ddgan_context_t make_ctx(uint64_t seed)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.seed = seed;
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, &cfg), DDGAN_OK);
    return ctx;
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

static float *read_f32(ddgan_st_file *f, const char *name, size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    assert_non_null(p);
    if (ddgan__st_read_f32(f, name, p, n) != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(ddgan__st_read_f32(f, name, p, n), DDGAN_OK);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Discriminator */

static void test_disc_golden_through_api(void **state)
{
    (void)state;
    const char *path = tu_shared_path("spec/vectors/disc_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_context_t ctx = make_ctx(0);
    ddgan_discriminator_t d = NULL;
    ddgan_status_t st = ddgan_discriminator_load_prefixed(&d, ctx, path, "disc.", "config");
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    ddgan_model_summary sum;
    ddgan_model_summary_init(&sum, sizeof sum);
    assert_int_equal(ddgan_discriminator_summary(d, &sum), DDGAN_OK);
    assert_int_equal(sum.num_params, 53377);
    assert_int_equal(sum.num_tensors, 38);
    print_message("    disc_tiny: %zu parameters, %.4f GFLOPs per image\n", sum.num_params,
                  sum.gflops_per_image);
    assert_true(fabs(sum.gflops_per_image - 0.0029) < 0.0002);

    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    int64_t t[8];
    assert_int_equal(ddgan__st_read_i64(f, "input.t", t, 8), DDGAN_OK);
    float *xp = read_f32(f, "input.x_prev", 8 * 256), *xt = read_f32(f, "input.x_t", 8 * 256);
    float *ref = read_f32(f, "output.logits", 8), logits[8];
    assert_int_equal(ddgan_discriminator_forward(d, xp, t, xt, 8, logits), DDGAN_OK);
    assert_true(rel_l2(logits, ref, 8) <= 1e-5);
    free(ref);
    ref = read_f32(f, "output.logits_b3", 3);
    assert_int_equal(ddgan_discriminator_forward(d, xp, t, xt, 3, logits), DDGAN_OK);
    assert_true(rel_l2(logits, ref, 3) <= 1e-5);
    free(ref);
    tu_assert_status(ddgan_discriminator_forward(d, xp, t, xt, 6, logits), DDGAN_ERR_INVALID_ARGUMENT,
                     "batch 6");

    /* R1 through the API: penalty and every parameter gradient */
    assert_int_equal(ddgan_discriminator_zero_grad(d), DDGAN_OK);
    float pen = 0;
    assert_int_equal(ddgan_discriminator_r1(d, xp, t, xt, 8, 0.02f, &pen), DDGAN_OK);
    ref = read_f32(f, "r1.penalty", 1);
    print_message("    R1 penalty %.9g (reference %.9g)\n", (double)pen, (double)ref[0]);
    assert_true(fabs(pen - ref[0]) <= 1e-5 * fabs(ref[0]));
    free(ref);
    size_t n = ddgan_discriminator_num_tensors(d);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        assert_int_equal(ddgan_discriminator_tensor_info(d, i, &ti), DDGAN_OK);
        char name[160];
        snprintf(name, sizeof name, "r1grad.%s", ti.name);
        float *r = read_f32(f, name, ti.numel), *g = malloc(sizeof(float) * ti.numel);
        assert_int_equal(ddgan_discriminator_get_grad(d, ti.name, g, ti.numel), DDGAN_OK);
        double nrm = 0;
        for (size_t k = 0; k < ti.numel; k++)
            nrm += (double)r[k] * r[k];
        if (sqrt(nrm) > 1e-3) /* tiny references are float32 noise (test_disc checks them) */
            worst = fmax(worst, rel_l2(g, r, ti.numel));
        free(r);
        free(g);
    }
    print_message("    R1 parameter gradients through the API: worst rel L2 %.2e\n", worst);
    assert_true(worst <= 1e-4);

    /* save -> load round trip, bit exact */
    char *dir = tu_make_tmpdir();
    char out[4096];
    snprintf(out, sizeof out, "%s/d.safetensors", dir);
    assert_int_equal(ddgan_discriminator_save(d, out), DDGAN_OK);
    ddgan_discriminator_t d2 = NULL;
    assert_int_equal(ddgan_discriminator_load(&d2, ctx, out), DDGAN_OK);
    for (size_t i = 0; i < n; i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        assert_int_equal(ddgan_discriminator_tensor_info(d, i, &ti), DDGAN_OK);
        float *a = malloc(sizeof(float) * ti.numel), *b = malloc(sizeof(float) * ti.numel);
        assert_int_equal(ddgan_discriminator_get_param(d, ti.name, a, ti.numel), DDGAN_OK);
        assert_int_equal(ddgan_discriminator_get_param(d2, ti.name, b, ti.numel), DDGAN_OK);
        assert_memory_equal(a, b, sizeof(float) * ti.numel);
        free(a);
        free(b);
    }
    assert_string_equal(ddgan_discriminator_config_json(d), ddgan_discriminator_config_json(d2));
    ddgan_discriminator_destroy(d2);

    /* loading without the prefix: every tensor is unexpected or missing -> a clear error */
    tu_assert_status(ddgan_discriminator_load_prefixed(&d2, ctx, path, NULL, "config"), DDGAN_ERR_FORMAT,
                     "tensor");
    assert_null(d2);
    tu_assert_status(ddgan_discriminator_load_prefixed(&d2, ctx, path, "disc.", "nonexistent"),
                     DDGAN_ERR_FORMAT, "__metadata__[\"nonexistent\"]");
    free(xp);
    free(xt);
    ddgan__st_close(f);
    tu_rmdir_recursive(dir);
    free(dir);
    ddgan_discriminator_destroy(d);
    ddgan_context_destroy(ctx);
}

static void test_disc_configs(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(3);
    ddgan_discriminator_t d = NULL;
    /* the CIFAR-10 discriminator (typed config defaults) */
    ddgan_discriminator_config cfg;
    assert_int_equal(ddgan_discriminator_config_init(&cfg, sizeof cfg), DDGAN_OK);
    assert_int_equal(ddgan_discriminator_create(&d, ctx, &cfg), DDGAN_OK);
    ddgan_model_summary s;
    ddgan_model_summary_init(&s, sizeof s);
    assert_int_equal(ddgan_discriminator_summary(d, &s), DDGAN_OK);
    print_message("    Discriminator_small ngf 64: %zu parameters, %.4f GFLOPs\n", s.num_params,
                  s.gflops_per_image);
    assert_int_equal(s.num_params, 12741633);
    assert_true(fabs(s.gflops_per_image - 2.9471) < 0.001);
    /* official init: end_linear is U(+-sqrt(3)) (fan_out 1), conv2 ~1e-10 scale */
    float w[512];
    assert_int_equal(ddgan_discriminator_get_param(d, "end_linear.weight", w, 512), DDGAN_OK);
    float mx = 0;
    for (int i = 0; i < 512; i++)
        mx = fmaxf(mx, fabsf(w[i]));
    assert_true(mx > 1.6f && mx <= 1.7321f);
    ddgan_discriminator_destroy(d);
    /* a small one from JSON, unknown keys ignored */
    assert_int_equal(ddgan_discriminator_create_json(
                         &d, ctx,
                         "{\"cls\": \"Discriminator_small\", \"nc\": 2, \"ngf\": 16, \"t_emb_dim\": 64, "
                         "\"act\": \"LeakyReLU(0.2)\", \"whatever\": [1]}"),
                     DDGAN_OK);
    ddgan_discriminator_summary(d, &s);
    assert_int_equal(s.num_params, 798337); /* reference section 7 (d') */
    ddgan_discriminator_destroy(d);
    /* refusals naming key and value */
    struct {
        const char *json;
        ddgan_status_t st;
        const char *needle;
    } bad[] = {
        {"{\"cls\": \"Discriminator_huge\"}", DDGAN_ERR_UNSUPPORTED, "Discriminator_huge"},
        {"{\"nc\": 3}", DDGAN_ERR_INVALID_ARGUMENT, "\"nc\" = 3"},
        {"{\"ngf\": \"many\"}", DDGAN_ERR_INVALID_ARGUMENT, "\"ngf\""},
        {"{\"image_size\": 20}", DDGAN_ERR_INVALID_ARGUMENT, "\"image_size\" = 20"},
        {"[1, 2]", DDGAN_ERR_FORMAT, "object"},
        {"{\"nc\": 2", DDGAN_ERR_FORMAT, "byte"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = NULL;
        tu_assert_status(ddgan_discriminator_create_json(&d, ctx, bad[i].json), bad[i].st, bad[i].needle);
        assert_null(d);
    }
    tu_assert_status(ddgan_discriminator_create_json(&d, ctx, NULL), DDGAN_ERR_INVALID_ARGUMENT, "NULL");
    tu_assert_status(ddgan_discriminator_forward(NULL, w, NULL, w, 1, w), DDGAN_ERR_INVALID_ARGUMENT,
                     "discriminator is NULL");
    ddgan_context_destroy(ctx);
}

/* Corrupt, truncated and mismatched weight files give clear errors. */
static void test_disc_bad_files(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(1);
    ddgan_discriminator_t d = NULL, d2 = NULL;
    assert_int_equal(ddgan_discriminator_create_json(&d, ctx, "{\"nc\": 2, \"ngf\": 2, \"t_emb_dim\": 8, "
                                                              "\"image_size\": 8}"),
                     DDGAN_OK);
    char *dir = tu_make_tmpdir();
    char path[4096], bad[4096];
    snprintf(path, sizeof path, "%s/d.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
    assert_int_equal(ddgan_discriminator_save(d, path), DDGAN_OK);
    size_t len = 0;
    unsigned char *bytes = tu_read_file(path, &len);
    assert_non_null(bytes);
    /* truncations at many lengths */
    for (size_t cut = 0; cut < len; cut += len / 37 + 1) {
        assert_int_equal(tu_write_file(bad, bytes, cut), 0);
        tu_assert_status(ddgan_discriminator_load(&d2, ctx, bad), DDGAN_ERR_FORMAT, "bad.safetensors");
        assert_null(d2);
    }
    /* a flipped byte in the header */
    unsigned char *copy = malloc(len);
    memcpy(copy, bytes, len);
    copy[12] = '!';
    assert_int_equal(tu_write_file(bad, copy, len), 0);
    tu_assert_status(ddgan_discriminator_load(&d2, ctx, bad), DDGAN_ERR_FORMAT, NULL);
    free(copy);
    /* a missing file */
    tu_assert_status(ddgan_discriminator_load(&d2, ctx, "/nonexistent/dir/x.safetensors"), DDGAN_ERR_IO,
                     "x.safetensors");
    /* wrong shape / unexpected / missing tensor: a file written by hand */
    ddgan_st_writer *w = NULL;
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    float zeros[64] = {0};
    const int64_t shp[2] = {8, 8};
    assert_int_equal(ddgan__st_writer_add(w, "t_embed.main.0.weight", DDGAN_ST_F32, shp, 2, zeros), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add_metadata(w, "config", ddgan_discriminator_config_json(d)), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_write(w, bad), DDGAN_OK);
    tu_assert_status(ddgan_discriminator_load(&d2, ctx, bad), DDGAN_ERR_FORMAT, "missing tensor 't_embed.main.0.bias'");
    const int64_t shp_bad[2] = {8, 7};
    ddgan__st_writer_destroy(w);
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "t_embed.main.0.weight", DDGAN_ST_F32, shp_bad, 2, zeros), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add_metadata(w, "config", ddgan_discriminator_config_json(d)), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_write(w, bad), DDGAN_OK);
    tu_assert_status(ddgan_discriminator_load(&d2, ctx, bad), DDGAN_ERR_FORMAT, "has shape [8,7], the model needs [8,8]");
    ddgan__st_writer_destroy(w);
    free(bytes);
    tu_rmdir_recursive(dir);
    free(dir);
    ddgan_discriminator_destroy(d);
    ddgan_context_destroy(ctx);
}


/* ------------------------------------------------------------------------ */
/* Generator */

static void test_gen_golden_through_api(void **state)
{
    (void)state;
    const char *path = tu_shared_path("spec/vectors/gen_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_context_t ctx = make_ctx(0);
    ddgan_generator_t g = NULL;
    ddgan_status_t st = ddgan_generator_load_prefixed(&g, ctx, path, "gen.", "config");
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    ddgan_model_summary sum;
    ddgan_model_summary_init(&sum, sizeof sum);
    assert_int_equal(ddgan_generator_summary(g, &sum), DDGAN_OK);
    assert_int_equal(sum.num_params, 208561);
    assert_int_equal(sum.num_tensors, 162);
    int c, h, w, nz;
    assert_int_equal(ddgan_generator_shape(g, &c, &h, &w, &nz), DDGAN_OK);
    assert_true(c == 1 && h == 16 && w == 16 && nz == 8);

    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    enum { B = 3, P = 256 };
    int64_t t[B];
    assert_int_equal(ddgan__st_read_i64(f, "input.t", t, B), DDGAN_OK);
    float *x = read_f32(f, "input.x", B * P), *z = read_f32(f, "input.z", B * 8);
    float *ref = read_f32(f, "output", B * P), out[B * P];
    assert_int_equal(ddgan_generator_forward(g, x, t, z, B, out), DDGAN_OK);
    double err = rel_l2(out, ref, B * P);
    print_message("    gen_tiny forward through the API: rel L2 %.2e\n", err);
    assert_true(err <= 1e-5);
    free(ref);
    free(x);
    free(z);

    /* the 4-step sampling chain with the stored draws */
    ddgan_schedule_t s = NULL;
    assert_int_equal(ddgan_schedule_create(&s, ctx, NULL), DDGAN_OK);
    float *xcur = read_f32(f, "sample.x_init", B * P), x0[B * P], next[B * P];
    for (int i = 3; i >= 0; i--) {
        char name[64];
        snprintf(name, sizeof name, "sample.z_step%d", i);
        float *zi = read_f32(f, name, B * 8);
        snprintf(name, sizeof name, "sample.noise_step%d", i);
        float *ni = read_f32(f, name, B * P);
        const int64_t ti[B] = {i, i, i};
        assert_int_equal(ddgan_generator_forward(g, xcur, ti, zi, B, x0), DDGAN_OK);
        snprintf(name, sizeof name, "sample.x0_pred_step%d", i);
        float *r = read_f32(f, name, B * P);
        assert_true(rel_l2(x0, r, B * P) <= 1e-4);
        free(r);
        assert_int_equal(ddgan_schedule_sample_posterior(s, x0, xcur, ti, B, P, ni, next), DDGAN_OK);
        memcpy(xcur, next, sizeof next);
        free(zi);
        free(ni);
    }
    ref = read_f32(f, "sample.output", B * P);
    err = rel_l2(xcur, ref, B * P);
    print_message("    gen_tiny 4-step sampling chain: rel L2 %.2e\n", err);
    assert_true(err <= 1e-4);
    free(ref);
    free(xcur);
    ddgan_schedule_destroy(s);
    ddgan__st_close(f);

    /* save -> load: bit exact, same config */
    char *dir = tu_make_tmpdir();
    char out_path[4096];
    snprintf(out_path, sizeof out_path, "%s/g.safetensors", dir);
    assert_int_equal(ddgan_generator_save(g, out_path), DDGAN_OK);
    ddgan_generator_t g2 = NULL;
    assert_int_equal(ddgan_generator_load(&g2, ctx, out_path), DDGAN_OK);
    assert_string_equal(ddgan_generator_config_json(g), ddgan_generator_config_json(g2));
    for (size_t i = 0; i < ddgan_generator_num_tensors(g); i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        assert_int_equal(ddgan_generator_tensor_info(g, i, &ti), DDGAN_OK);
        float *a = malloc(sizeof(float) * ti.numel), *b = malloc(sizeof(float) * ti.numel);
        assert_int_equal(ddgan_generator_get_param(g, ti.name, a, ti.numel), DDGAN_OK);
        assert_int_equal(ddgan_generator_get_param(g2, ti.name, b, ti.numel), DDGAN_OK);
        assert_memory_equal(a, b, sizeof(float) * ti.numel);
        free(a);
        free(b);
    }
    ddgan_generator_destroy(g2);
    tu_rmdir_recursive(dir);
    free(dir);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

static void test_gen_configs_and_draws(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(11);
    ddgan_generator_t g = NULL;
    /* CIFAR-10 (typed defaults) */
    ddgan_generator_config cfg;
    assert_int_equal(ddgan_generator_config_init(&cfg, sizeof cfg), DDGAN_OK);
    assert_int_equal(ddgan_generator_create(&g, ctx, &cfg), DDGAN_OK);
    ddgan_model_summary s;
    ddgan_model_summary_init(&s, sizeof s);
    assert_int_equal(ddgan_generator_summary(g, &s), DDGAN_OK);
    print_message("    CIFAR-10 generator: %zu parameters in %zu tensors, %.4f GFLOPs\n", s.num_params,
                  s.num_tensors, s.gflops_per_image);
    assert_int_equal(s.num_params, 48432515);
    assert_int_equal(s.num_tensors, 384);
    assert_true(fabs(s.gflops_per_image - 14.0676) < 0.01);
    ddgan_generator_destroy(g);
    /* the small MNIST config, from JSON */
    const char *small = "{\"image_size\": 32, \"num_channels\": 1, \"num_channels_dae\": 32, \"ch_mult\": [1, 2, 2], "
                        "\"num_res_blocks\": 1, \"attn_resolutions\": [16], \"nz\": 32, \"z_emb_dim\": 64, \"n_mlp\": 2}";
    assert_int_equal(ddgan_generator_create_json(&g, ctx, small), DDGAN_OK);
    ddgan_generator_summary(g, &s);
    assert_int_equal(s.num_params, 1538497);
    ddgan_generator_destroy(g);

    /* a tiny generator: drawn latents equal explicit draws of a twin context,
     * and chunked batches (> 64) equal separate calls */
    const char *tiny = "{\"image_size\": 8, \"num_channels\": 1, \"num_channels_dae\": 8, \"ch_mult\": [1, 2], "
                       "\"num_res_blocks\": 1, \"attn_resolutions\": [], \"nz\": 4, \"z_emb_dim\": 8, \"n_mlp\": 1}";
    ddgan_context_t twin = make_ctx(11);
    ddgan_generator_t g1 = NULL, g2 = NULL;
    assert_int_equal(ddgan_generator_create_json(&g1, ctx, tiny), DDGAN_OK);
    assert_int_equal(ddgan_generator_create_json(&g2, twin, tiny), DDGAN_OK);
    enum { N = 70, P = 64 };
    static float x[N * P], a[N * P], b[N * P], z[N * 4];
    static int64_t t[N];
    for (int i = 0; i < N * P; i++)
        x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (int i = 0; i < N; i++)
        t[i] = i % 4;
    assert_int_equal(ddgan_generator_forward(g1, x, t, NULL, N, a), DDGAN_OK);
    assert_int_equal(ddgan_context_randn(twin, z, N * 4), DDGAN_OK);
    assert_int_equal(ddgan_generator_forward(g2, x, t, z, 64, b), DDGAN_OK);
    assert_int_equal(ddgan_generator_forward(g2, x + 64 * P, t + 64, z + 64 * 4, N - 64, b + 64 * P), DDGAN_OK);
    assert_memory_equal(a, b, sizeof a);
    /* misuse */
    int64_t tb[1] = {4};
    tu_assert_status(ddgan_generator_forward(g1, x, tb, z, 1, a), DDGAN_ERR_INVALID_ARGUMENT, "t[0] = 4");
    tu_assert_status(ddgan_generator_forward(g1, x, t, z, 1, NULL), DDGAN_ERR_INVALID_ARGUMENT, "x0_out");
    tu_assert_status(ddgan_generator_get_param(g1, "nope", a, 1), DDGAN_ERR_INVALID_ARGUMENT, "\"nope\"");
    ddgan_generator_destroy(g1);
    ddgan_generator_destroy(g2);
    ddgan_context_destroy(twin);
    /* refused configs name the key and value */
    struct {
        const char *json;
        const char *needle;
    } bad[] = {
        {"{\"image_size\": 30, \"ch_mult\": [1, 2, 2]}", "image_size"},
        {"{\"num_channels_dae\": 30, \"ch_mult\": [1], \"attn_resolutions\": []}", "30"},
        {"{\"ch_mult\": [1], \"attn_resolutions\": [16]}", "attn_resolutions"},
        {"{\"resblock_type\": \"ddpm\"}", "ddpm"},
        {"{\"dropout\": 0.1}", "dropout"},
        {"{\"cls\": \"UNet\"}", "UNet"},
        {"{\"ch_mult\": \"1 2 2\"}", "ch_mult"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = NULL;
        ddgan_status_t st = ddgan_generator_create_json(&g, ctx, bad[i].json);
        assert_int_not_equal(st, DDGAN_OK);
        assert_null(g);
        if (!strstr(ddgan_last_error(), bad[i].needle)) {
            print_error("\"%s\" -> \"%s\" lacks \"%s\"\n", bad[i].json, ddgan_last_error(), bad[i].needle);
            fail();
        }
    }
    ddgan_context_destroy(ctx);
}

static void test_toy_networks_through_api(void **state)
{
    (void)state;
    ddgan_context_t ctx = make_ctx(5);
    ddgan_generator_t g = NULL;
    ddgan_discriminator_t d = NULL;
    assert_int_equal(ddgan_generator_create_json(&g, ctx, "{\"cls\": \"ToyMLP\", \"hidden_dim\": 64, \"nz\": 2}"),
                     DDGAN_OK);
    assert_int_equal(ddgan_discriminator_create_json(&d, ctx, "{\"cls\": \"ToyMLP\", \"hidden_dim\": 64}"), DDGAN_OK);
    int c, h, w, nz;
    assert_int_equal(ddgan_generator_shape(g, &c, &h, &w, &nz), DDGAN_OK);
    assert_true(c == 2 && h == 1 && w == 1 && nz == 2);
    float x[10] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f, 0.9f, 1.0f}, y[10], logits[5];
    const int64_t t[5] = {0, 1, 2, 3, 0};
    assert_int_equal(ddgan_generator_forward(g, x, t, NULL, 5, y), DDGAN_OK);
    for (int i = 0; i < 10; i++)
        assert_true(isfinite(y[i]));
    assert_int_equal(ddgan_discriminator_forward(d, y, t, x, 5, logits), DDGAN_OK); /* any batch: no minibatch std */
    float pen = -1;
    assert_int_equal(ddgan_discriminator_r1(d, x, t, x, 5, 0.05f, &pen), DDGAN_OK);
    assert_true(pen >= 0);
    char *dir = tu_make_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/toy.safetensors", dir);
    assert_int_equal(ddgan_generator_save(g, path), DDGAN_OK);
    ddgan_generator_t g2 = NULL;
    assert_int_equal(ddgan_generator_load(&g2, ctx, path), DDGAN_OK);
    float y2[10];
    static const float zz[10] = {0.5f, -0.5f, 1, 0, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    assert_int_equal(ddgan_generator_forward(g, x, t, zz, 5, y), DDGAN_OK);
    assert_int_equal(ddgan_generator_forward(g2, x, t, zz, 5, y2), DDGAN_OK);
    assert_memory_equal(y, y2, sizeof y);
    assert_non_null(strstr(ddgan_generator_config_json(g2), "\"ToyMLP\""));
    ddgan_generator_destroy(g2);
    tu_rmdir_recursive(dir);
    free(dir);
    ddgan_generator_destroy(g);
    ddgan_discriminator_destroy(d);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disc_golden_through_api),
        cmocka_unit_test(test_disc_configs),
        cmocka_unit_test(test_disc_bad_files),
        cmocka_unit_test(test_gen_golden_through_api),
        cmocka_unit_test(test_gen_configs_and_draws),
        cmocka_unit_test(test_toy_networks_through_api),
    };
    return cmocka_run_group_tests_name("models_api", tests, NULL, NULL);
}
