/* The NCSN++ generator: the official vectors (gen_tiny.safetensors: forward in
 * float32 and float64, debug activations, the 4-step sampling chain), the
 * parameter tables and FLOPs of reference 7 (names and shapes against
 * official-keys-cifar10.txt), the backward against central finite
 * differences in float64 over every option, config validation, and planned
 * memory. */
#include "nn_test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "model/generator.h"
#include "nn/netmem.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static double rel_l2(const nt_env *e, const void *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = nt_get(e, a, i) - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    return sqrt(num) / (den > 0 ? sqrt(den) : 1.0);
}

static double *read_ref(ddgan_st_file *f, const char *name, size_t n)
{
    double *r = malloc(sizeof(double) * (n ? n : 1));
    assert_non_null(r);
    ddgan_status_t st = ddgan__st_read_f64(f, name, r, n);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    return r;
}

static ddgan_tensor load_tensor(nt_env *e, ddgan_st_file *f, const char *name, int n, int c, int h,
                                int w)
{
    ddgan_tensor t;
    assert_int_equal(ddgan__tensor_alloc(&e->ex, &t, n, c, h, w), DDGAN_OK);
    double *tmp = read_ref(f, name, ddgan__numel(&t));
    for (size_t i = 0; i < ddgan__numel(&t); i++)
        nt_set(e, t.data, i, tmp[i]);
    free(tmp);
    return t;
}

static size_t param_count(const ddgan_gen_net *net)
{
    size_t n = 0;
    for (size_t i = 0; i < net->pt.n; i++)
        n += net->pt.p[i].count;
    return n;
}

/* params/grads buffers for the net's table in the env (U(-scale, scale)) */
static void env_params(nt_env *e, ddgan_gen_net *net, uint64_t seed, double scale)
{
    e->pt = net->pt;
    nt_env_alloc_params(e, seed, scale);
    e->pt.p = NULL; /* owned by net */
    e->pt.n = e->pt.cap = 0;
}

static void zero_grads(nt_env *e, const ddgan_gen_net *net)
{
    memset(e->grads, 0, net->pt.total * e->ex.dsz);
}

static void gen_tiny_config(ddgan_gen_config *c)
{
    ddgan__gen_config_defaults(c);
    c->image_size = 16;
    c->num_channels = 1;
    c->num_channels_dae = 16;
    c->n_levels = 2;
    c->ch_mult[0] = 1;
    c->ch_mult[1] = 2;
    c->num_res_blocks = 1;
    c->n_attn = 1;
    c->attn_resolutions[0] = 8;
    c->nz = 8;
    c->z_emb_dim = 16;
    c->n_mlp = 2;
}

/* ------------------------------------------------------------------------ */
/* Golden vectors */

static void load_params(nt_env *e, const ddgan_gen_net *net, ddgan_st_file *f)
{
    /* 1:1 between the file's gen.* tensors and the table, shapes included */
    size_t in_file = 0;
    for (size_t i = 0; i < ddgan__st_tensor_count(f); i++)
        in_file += !strncmp(ddgan__st_tensor(f, i)->name, "gen.", 4);
    assert_int_equal(in_file, net->pt.n);
    char name[160];
    for (size_t i = 0; i < net->pt.n; i++) {
        const ddgan_param *p = &net->pt.p[i];
        snprintf(name, sizeof name, "gen.%s", p->name);
        const ddgan_st_tensor_info *info = ddgan__st_find(f, name);
        if (!info)
            print_error("no tensor %s in the vectors\n", name);
        assert_non_null(info);
        assert_int_equal(info->ndim, p->ndim);
        for (int k = 0; k < p->ndim; k++)
            assert_int_equal(info->shape[k], p->shape[k]);
        char *dst = (char *)e->params + p->offset * e->ex.dsz;
        ddgan_status_t st = e->ex.dt == DDGAN_DT_F64
                                ? ddgan__st_read_f64(f, name, (double *)(void *)dst, p->count)
                                : ddgan__st_read_f32(f, name, (float *)(void *)dst, p->count);
        assert_int_equal(st, DDGAN_OK);
    }
}

static void check_act(nt_env *e, const ddgan_gen_net *net, const ddgan_gen_acts *a,
                      ddgan_st_file *f, const char *act, const char *ref_name, double tol)
{
    ddgan_tensor t;
    assert_int_equal(ddgan__gen_acts_get(net, a, act, &t), DDGAN_OK);
    const ddgan_st_tensor_info *info = ddgan__st_find(f, ref_name);
    assert_non_null(info);
    assert_int_equal(info->numel, ddgan__numel(&t));
    double *ref = read_ref(f, ref_name, ddgan__numel(&t));
    double err = rel_l2(e, t.data, ref, ddgan__numel(&t));
    print_message("    %-24s rel L2 %.2e\n", ref_name, err);
    assert_true(err <= tol);
    free(ref);
}

static void run_golden(ddgan_dtype dt)
{
    const char *path = tu_shared_path("spec/vectors/gen_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    const int f64 = dt == DDGAN_DT_F64;
    nt_env e;
    nt_env_init(&e, dt, 1, 64);
    ddgan_gen_config cfg;
    gen_tiny_config(&cfg);
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, &cfg, 3, dt), DDGAN_OK);
    assert_int_equal(net.pt.n, 162);
    assert_int_equal(param_count(&net), 208561);
    assert_int_equal(net.n_all_modules, 19);
    env_params(&e, &net, 1, 0.1);
    load_params(&e, &net, f);

    int64_t t[3];
    assert_int_equal(ddgan__st_read_i64(f, "input.t", t, 3), DDGAN_OK);
    ddgan_tensor x = load_tensor(&e, f, "input.x", 3, 1, 16, 16);
    ddgan_tensor z = load_tensor(&e, f, "input.z", 3, 8, 1, 1);
    ddgan_gen_acts *acts = NULL;
    assert_int_equal(ddgan__gen_acts_create(&e.ex, &net, &acts), DDGAN_OK);
    ddgan_tensor x0 = {0};
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x, t, &z, acts, &x0), DDGAN_OK);
    double *ref = read_ref(f, f64 ? "f64.output" : "output", 768);
    double err = rel_l2(&e, x0.data, ref, 768);
    print_message("    %s output rel L2 %.2e\n", f64 ? "f64" : "f32", err);
    assert_true(err <= (f64 ? 1e-10 : 1e-5));
    free(ref);

    /* the debug activations are float32 references */
    const double tol = f64 ? 1e-6 : 1e-5;
    check_act(&e, &net, acts, f, "temb_sinusoidal", "debug.temb_sinusoidal", tol);
    check_act(&e, &net, acts, f, "z_transform", "debug.z_transform", tol);
    static const int mods[] = {0, 1, 2, 3, 4, 5, 6, 7, 10, 14, 18};
    for (size_t k = 0; k < sizeof mods / sizeof mods[0]; k++) {
        char a[32], r[48];
        snprintf(a, sizeof a, "all_modules.%d", mods[k]);
        snprintf(r, sizeof r, "debug.all_modules.%d", mods[k]);
        check_act(&e, &net, acts, f, a, r, tol);
    }
    ddgan_tensor tmp;
    tu_assert_status(ddgan__gen_acts_get(&net, acts, "all_modules.19", &tmp),
                     DDGAN_ERR_INVALID_ARGUMENT, "all_modules.19");

    /* a sampling forward (no record) gives the same numbers and leaves only x0 */
    const size_t before = e.arena.used;
    ddgan_tensor y0 = {0};
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x, t, &z, NULL, &y0), DDGAN_OK);
    assert_int_equal(e.arena.used - before <= 768 * e.ex.dsz + 2 * DDGAN_ARENA_ALIGN, 1);
    assert_memory_equal(y0.data, x0.data, 768 * e.ex.dsz);
    /* into a caller's buffer */
    ddgan_tensor y1;
    assert_int_equal(ddgan__tensor_alloc(&e.ex, &y1, 3, 1, 16, 16), DDGAN_OK);
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x, t, &z, NULL, &y1), DDGAN_OK);
    assert_memory_equal(y1.data, x0.data, 768 * e.ex.dsz);

    ddgan__gen_free(&net);
    nt_env_free(&e);
    ddgan__st_close(f);
}

static void test_golden_f32(void **state)
{
    (void)state;
    run_golden(DDGAN_DT_F32);
}

static void test_golden_f64(void **state)
{
    (void)state;
    run_golden(DDGAN_DT_F64);
}

/* The official 4-step sampling chain, with the float32 posterior of the
 * public schedule API (ref device memory is host memory). */
static void test_sampling_chain(void **state)
{
    (void)state;
    const char *path = tu_shared_path("spec/vectors/gen_tiny.safetensors");
    TU_REQUIRE_SHARED(path);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F32, 1, 64);
    ddgan_gen_config cfg;
    gen_tiny_config(&cfg);
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, &cfg, 3, DDGAN_DT_F32), DDGAN_OK);
    env_params(&e, &net, 1, 0.1);
    load_params(&e, &net, f);
    ddgan_schedule_t sched = NULL;
    assert_int_equal(ddgan_schedule_create(&sched, e.ctx, NULL), DDGAN_OK);
    assert_int_equal(ddgan_schedule_num_timesteps(sched), 4);

    ddgan_tensor x = load_tensor(&e, f, "sample.x_init", 3, 1, 16, 16);
    char name[64];
    double worst = 0;
    for (int i = 3; i >= 0; i--) {
        snprintf(name, sizeof name, "sample.x_in_step%d", i);
        double *ref = read_ref(f, name, 768);
        double ein = rel_l2(&e, x.data, ref, 768);
        free(ref);
        snprintf(name, sizeof name, "sample.z_step%d", i);
        ddgan_tensor z = load_tensor(&e, f, name, 3, 8, 1, 1);
        snprintf(name, sizeof name, "sample.noise_step%d", i);
        ddgan_tensor noise = load_tensor(&e, f, name, 3, 1, 16, 16);
        const int64_t t[3] = {i, i, i};
        ddgan_tensor x0 = {0}, xn;
        assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x, t, &z, NULL, &x0), DDGAN_OK);
        snprintf(name, sizeof name, "sample.x0_pred_step%d", i);
        ref = read_ref(f, name, 768);
        double err = rel_l2(&e, x0.data, ref, 768);
        free(ref);
        print_message("    step %d: x_in rel L2 %.2e, x0_pred rel L2 %.2e\n", i, ein, err);
        assert_true(err <= 1e-4);
        worst = fmax(worst, err);
        assert_int_equal(ddgan__tensor_alloc(&e.ex, &xn, 3, 1, 16, 16), DDGAN_OK);
        assert_int_equal(ddgan_schedule_sample_posterior(sched, x0.data, x.data, t, 3, 256,
                                                         noise.data, xn.data),
                         DDGAN_OK);
        x = xn;
    }
    double *ref = read_ref(f, "sample.output", 768);
    double err = rel_l2(&e, x.data, ref, 768);
    free(ref);
    print_message("    sample.output rel L2 %.2e (worst x0_pred %.2e)\n", err, worst);
    assert_true(err <= 1e-4);

    ddgan_schedule_destroy(sched);
    ddgan__gen_free(&net);
    nt_env_free(&e);
    ddgan__st_close(f);
}

/* ------------------------------------------------------------------------ */
/* Parameter tables, init kinds, FLOPs */

static const ddgan_param *find(const ddgan_gen_net *net, const char *name)
{
    const ddgan_param *p = ddgan__params_find(&net->pt, name);
    if (!p)
        print_error("no parameter %s\n", name);
    assert_non_null(p);
    return p;
}

static void expect_init(const ddgan_gen_net *net, const char *name, ddgan_init_kind kind,
                        double scale)
{
    const ddgan_param *p = find(net, name);
    if (p->init != kind || fabs(p->init_scale - scale) > 1e-12 * fmax(1.0, fabs(scale)))
        print_error("%s: init %d scale %g, expected %d scale %g\n", name, (int)p->init,
                    p->init_scale, (int)kind, scale);
    assert_int_equal(p->init, kind);
    assert_true(fabs(p->init_scale - scale) <= 1e-12 * fmax(1.0, fabs(scale)));
}

static void cifar_config(ddgan_gen_config *c)
{
    ddgan__gen_config_defaults(c); /* ch_mult 1 2 2 2, nf 128, nrb 2, attn 16, 32x32x3 */
    c->n_mlp = 4;
}

static void test_cifar10_table(void **state)
{
    (void)state;
    ddgan_gen_config cfg;
    cifar_config(&cfg);
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, &cfg, 1, DDGAN_DT_F32), DDGAN_OK);
    assert_int_equal(net.pt.n, 384);
    assert_int_equal(param_count(&net), 48432515);
    assert_int_equal(net.n_all_modules, 40);
    const double gf = ddgan__gen_flops(&net) / 1e9;
    print_message("    CIFAR-10 G: %zu parameters, %.4f GFLOPs\n", param_count(&net), gf);
    assert_true(fabs(gf - 14.0676) < 5e-5);

    /* init kinds (reference 4) */
    expect_init(&net, "all_modules.0.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 1.0);
    expect_init(&net, "all_modules.1.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 1.0);
    expect_init(&net, "all_modules.2.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 1.0);
    expect_init(&net, "all_modules.3.GroupNorm_0.style.weight", DDGAN_INIT_FAN_OUT_UNIFORM, 1.0);
    expect_init(&net, "all_modules.3.GroupNorm_0.style.bias", DDGAN_INIT_STYLE_BIAS, 1.0);
    expect_init(&net, "all_modules.3.Conv_0.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 1.0);
    expect_init(&net, "all_modules.3.Dense_0.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 1.0);
    expect_init(&net, "all_modules.3.GroupNorm_1.style.weight", DDGAN_INIT_FAN_OUT_UNIFORM, 1.0);
    expect_init(&net, "all_modules.3.Conv_1.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 0.0);
    expect_init(&net, "all_modules.5.Conv_2.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 1.0);
    expect_init(&net, "all_modules.6.Conv2d_0.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 1.0);
    expect_init(&net, "all_modules.8.GroupNorm_0.weight", DDGAN_INIT_ONES, 1.0);
    expect_init(&net, "all_modules.8.NIN_0.W", DDGAN_INIT_FAN_AVG_UNIFORM, 0.1);
    expect_init(&net, "all_modules.8.NIN_2.W", DDGAN_INIT_FAN_AVG_UNIFORM, 0.1);
    expect_init(&net, "all_modules.8.NIN_3.W", DDGAN_INIT_FAN_AVG_UNIFORM, 1e-10);
    expect_init(&net, "all_modules.38.weight", DDGAN_INIT_ONES, 1.0);
    assert_int_equal(find(&net, "all_modules.38.bias")->init, DDGAN_INIT_ZERO);
    expect_init(&net, "all_modules.39.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 0.0);
    expect_init(&net, "z_transform.1.weight", DDGAN_INIT_FAN_OUT_UNIFORM, 1.0);
    expect_init(&net, "z_transform.9.weight", DDGAN_INIT_FAN_OUT_UNIFORM, 1.0);
    for (size_t i = 0; i < net.pt.n; i++) {
        const ddgan_param *p = &net.pt.p[i];
        assert_int_equal(p->trainable, 1);
        const size_t l = strlen(p->name);
        if ((l > 5 && !strcmp(p->name + l - 5, ".bias") && !strstr(p->name, "style")) ||
            (l > 2 && !strcmp(p->name + l - 2, ".b")))
            assert_int_equal(p->init, DDGAN_INIT_ZERO);
    }

    /* names and shapes, in order, against the official state_dict */
    const char *keys = tu_shared_path("spec/official-keys-cifar10.txt");
    if (keys) {
        size_t len = 0;
        char *txt = (char *)tu_read_file(keys, &len);
        assert_non_null(txt);
        char *save = NULL;
        int in_gen = 0;
        size_t k = 0;
        for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (line[0] == '#' || !line[0])
                continue;
            if (line[0] == '[') {
                in_gen = !strcmp(line, "[generator]");
                continue;
            }
            if (!in_gen)
                continue;
            char name[128], shape[64];
            assert_int_equal(sscanf(line, "%127s %63s", name, shape), 2);
            assert_true(k < net.pt.n);
            const ddgan_param *p = &net.pt.p[k];
            char mine[64] = "";
            for (int d = 0; d < p->ndim; d++) {
                size_t ml = strlen(mine);
                snprintf(mine + ml, sizeof mine - ml, "%s%lld", d ? "x" : "", (long long)p->shape[d]);
            }
            if (strcmp(name, p->name) || strcmp(shape, mine))
                print_error("tensor %zu: official %s %s, ours %s %s\n", k, name, shape, p->name, mine);
            assert_string_equal(name, p->name);
            assert_string_equal(shape, mine);
            k++;
        }
        assert_int_equal(k, 384);
        free(txt);
    } else {
        print_message("    (official-keys-cifar10.txt absent: names not compared)\n");
    }
    ddgan__gen_free(&net);
}

static void expect_count(const ddgan_gen_config *cfg, size_t params, size_t tensors, double gflops)
{
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, cfg, 1, DDGAN_DT_F32), DDGAN_OK);
    const double gf = ddgan__gen_flops(&net) / 1e9;
    print_message("    %zu parameters in %zu tensors, %.4f GFLOPs\n", param_count(&net), net.pt.n, gf);
    assert_int_equal(param_count(&net), params);
    if (tensors)
        assert_int_equal(net.pt.n, tensors);
    assert_true(fabs(gf - gflops) < 5e-5 * fmax(1.0, gflops / 10));
    ddgan__gen_free(&net);
}

static void test_counts_and_flops(void **state)
{
    (void)state;
    ddgan_gen_config c;
    /* (c) small: nf 32, ch 1 2 2, nrb 1, attn 16, nz 32, z 64, n_mlp 2, 32x32x1 */
    ddgan__gen_config_defaults(&c);
    c.num_channels = 1;
    c.num_channels_dae = 32;
    c.n_levels = 3;
    c.ch_mult[0] = 1;
    c.ch_mult[1] = 2;
    c.ch_mult[2] = 2;
    c.num_res_blocks = 1;
    c.nz = 32;
    c.z_emb_dim = 64;
    c.n_mlp = 2;
    expect_count(&c, 1538497, 0, 0.6567);
    /* (c') without attention at 16 */
    c.n_attn = 0;
    expect_count(&c, 1504961, 0, 0.6063);
    /* the vectors' tiny G */
    gen_tiny_config(&c);
    expect_count(&c, 208561, 162, 0.0388);
    /* LSUN / CelebA-HQ 256 */
    ddgan__gen_config_defaults(&c);
    c.image_size = 256;
    c.num_channels_dae = 64;
    c.n_levels = 6;
    const int m[6] = {1, 1, 2, 2, 4, 4};
    memcpy(c.ch_mult, m, sizeof m);
    expect_count(&c, 39726979, 0, 140.8288);
}

/* Module index shifts and names of the other options. */
static void test_option_tables(void **state)
{
    (void)state;
    ddgan_gen_config c;
    gen_tiny_config(&c);
    ddgan_gen_net net;
    /* conditional = 0: no time Linears, all_modules.0 is the first conv */
    c.conditional = 0;
    assert_int_equal(ddgan__gen_init(&net, &c, 1, DDGAN_DT_F32), DDGAN_OK);
    assert_int_equal(net.n_all_modules, 17);
    assert_int_equal(find(&net, "all_modules.0.weight")->ndim, 4);
    find(&net, "all_modules.1.Dense_0.weight"); /* Dense_0 layers still exist */
    assert_null(ddgan__params_find(&net.pt, "all_modules.17.weight"));
    ddgan__gen_free(&net);
    /* fourier: all_modules.0.W [nf], frozen, N(0, 16^2); Linear_0 takes 2nf */
    gen_tiny_config(&c);
    snprintf(c.embedding_type, sizeof c.embedding_type, "Fourier");
    assert_int_equal(ddgan__gen_init(&net, &c, 1, DDGAN_DT_F32), DDGAN_OK);
    assert_int_equal(net.n_all_modules, 20);
    const ddgan_param *w = find(&net, "all_modules.0.W");
    assert_int_equal(w->trainable, 0);
    assert_int_equal(w->init, DDGAN_INIT_NORMAL);
    assert_true(w->init_scale == 16.0);
    assert_int_equal(w->shape[0], 16);
    assert_int_equal(find(&net, "all_modules.1.weight")->shape[1], 32);
    assert_int_equal(&net.pt.p[0], w);
    ddgan__gen_free(&net);
    /* input_skip + cat, output_skip, oneadagn */
    gen_tiny_config(&c);
    snprintf(c.progressive_input, sizeof c.progressive_input, "input_skip");
    snprintf(c.progressive_combine, sizeof c.progressive_combine, "cat");
    snprintf(c.progressive, sizeof c.progressive, "output_skip");
    snprintf(c.resblock_type, sizeof c.resblock_type, "biggan_oneadagn");
    assert_int_equal(ddgan__gen_init(&net, &c, 1, DDGAN_DT_F32), DDGAN_OK);
    /* 0,1 time, 2 conv, 3 RB, 4 RB down, 5 Combine, 6 RB (32 -> 32), 7 attn, 8-10 mid,
     * 11, 12 RB, 13 attn, 14 GN, 15 conv, 16 RB up, 17, 18 RB, 19 GN, 20 conv */
    assert_int_equal(net.n_all_modules, 21);
    const ddgan_param *cmb = find(&net, "all_modules.5.Conv_0.weight");
    assert_int_equal(cmb->shape[0], 16);
    assert_int_equal(cmb->shape[1], 1);
    assert_int_equal(cmb->shape[2], 1);
    assert_int_equal(find(&net, "all_modules.6.Conv_0.weight")->shape[1], 32); /* cat doubled */
    assert_int_equal(find(&net, "all_modules.3.GroupNorm_1.weight")->shape[0], 16);
    assert_null(ddgan__params_find(&net.pt, "all_modules.3.GroupNorm_1.style.weight"));
    assert_int_equal(find(&net, "all_modules.14.weight")->shape[0], 32);
    assert_int_equal(find(&net, "all_modules.15.weight")->shape[0], 1);
    expect_init(&net, "all_modules.15.weight", DDGAN_INIT_FAN_AVG_UNIFORM, 0.0);
    assert_int_equal(find(&net, "all_modules.20.weight")->shape[1], 16);
    assert_null(ddgan__params_find(&net.pt, "all_modules.21.weight"));
    ddgan__gen_free(&net);
}

/* ------------------------------------------------------------------------ */
/* Finite differences in float64 */

typedef struct fd_ctx {
    nt_env *e;
    ddgan_gen_net *net;
    ddgan_tensor x, z;
    int64_t t[4];
} fd_ctx;

static double fd_loss(void *user)
{
    fd_ctx *c = user;
    const size_t mark = ddgan__arena_mark(&c->e->arena);
    ddgan_tensor y = {0};
    assert_int_equal(ddgan__gen_forward(&c->e->ex, c->net, &c->x, c->t, &c->z, NULL, &y), DDGAN_OK);
    double v = nt_project(c->e, &y, 77);
    ddgan__arena_release(&c->e->arena, mark);
    return v;
}

static void fd_config(ddgan_gen_config *c)
{
    ddgan__gen_config_defaults(c);
    c->image_size = 8;
    c->num_channels = 2;
    c->num_channels_dae = 8;
    c->n_levels = 2;
    c->ch_mult[0] = 1;
    c->ch_mult[1] = 2;
    c->num_res_blocks = 1;
    c->n_attn = 1;
    c->attn_resolutions[0] = 4;
    c->nz = 4;
    c->z_emb_dim = 8;
    c->n_mlp = 1;
}

static void run_fd(const ddgan_gen_config *cfg, const char *what, const int64_t *t, int batch,
                   size_t checks)
{
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F64, 1, 64);
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, cfg, batch, DDGAN_DT_F64), DDGAN_OK);
    /* weights large enough that every path matters (the 1e-10-gain layers too) */
    env_params(&e, &net, 5, 0.3);
    fd_ctx c = {&e, &net, {0}, {0}, {0}};
    memcpy(c.t, t, sizeof(int64_t) * (size_t)batch);
    const int S = cfg->image_size;
    c.x = nt_rand_tensor(&e, batch, cfg->num_channels, S, S, 21, -1, 1);
    c.z = nt_rand_tensor(&e, batch, cfg->nz, 1, 1, 22, -2, 2);

    ddgan_gen_acts *acts = NULL;
    assert_int_equal(ddgan__gen_acts_create(&e.ex, &net, &acts), DDGAN_OK);
    ddgan_tensor y = {0};
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &c.x, c.t, &c.z, acts, &y), DDGAN_OK);
    ddgan_tensor w = nt_proj_tensor(&e, batch, cfg->num_channels, S, S, 77);
    zero_grads(&e, &net);
    const size_t used = e.arena.used;
    assert_int_equal(ddgan__gen_backward(&e.ex, &net, acts, &w), DDGAN_OK);
    assert_int_equal(e.arena.used, used); /* the backward releases its temporaries */

    /* the frozen Fourier W is skipped (no gradient, by design) */
    size_t first = 0;
    for (size_t i = 0; i < net.pt.n; i++) {
        if (!net.pt.p[i].trainable) {
            for (size_t k = 0; k < net.pt.p[i].count; k++)
                assert_true(nt_get(&e, e.grads, net.pt.p[i].offset + k) == 0.0);
            first = net.pt.p[i].offset + net.pt.p[i].count;
        }
    }
    char name[160];
    snprintf(name, sizeof name, "G %s b%d d(w.x0)/dparams", what, batch);
    nt_fd_check(&e, name, (char *)e.params + first * 8, net.pt.total - first,
                (char *)e.grads + first * 8, fd_loss, &c, 1e-6, 1e-6, checks);
    /* every tensor that the forward uses must get some gradient */
    for (size_t i = 0; i < net.pt.n; i++) {
        const ddgan_param *p = &net.pt.p[i];
        if (!p->trainable || (!cfg->conditional && strstr(p->name, "Dense_0")) ||
            strstr(p->name, "NIN_1.b"))
            continue;
        double s = 0;
        for (size_t k = 0; k < p->count; k++)
            s += fabs(nt_get(&e, e.grads, p->offset + k));
        if (!(s > 0))
            print_error("%s: no gradient\n", p->name);
        assert_true(s > 0);
    }
    ddgan__gen_free(&net);
    nt_env_free(&e);
}

static void test_fd_default(void **state)
{
    (void)state;
    ddgan_gen_config c;
    fd_config(&c);
    const int64_t t[2] = {0, 3};
    run_fd(&c, "default", t, 2, 400);
}

static void test_fd_skips_oneadagn(void **state)
{
    (void)state;
    ddgan_gen_config c;
    fd_config(&c);
    snprintf(c.progressive, sizeof c.progressive, "output_skip");
    snprintf(c.progressive_input, sizeof c.progressive_input, "input_skip");
    snprintf(c.progressive_combine, sizeof c.progressive_combine, "cat");
    snprintf(c.resblock_type, sizeof c.resblock_type, "biggan_oneadagn");
    c.centered = 0;
    c.not_use_tanh = 1;
    c.skip_rescale = 0;
    const int64_t t[2] = {2, 1};
    run_fd(&c, "output_skip/input_skip cat/oneadagn/uncentred/no tanh/no rescale", t, 2, 300);
}

static void test_fd_fourier_fir5(void **state)
{
    (void)state;
    ddgan_gen_config c;
    fd_config(&c);
    snprintf(c.embedding_type, sizeof c.embedding_type, "fourier");
    snprintf(c.progressive_input, sizeof c.progressive_input, "input_skip");
    c.fourier_scale = 0.5;
    c.n_fir = 5;
    const double k[5] = {1, 4, 6, 4, 1};
    memcpy(c.fir_kernel, k, sizeof k);
    c.n_levels = 3;
    c.ch_mult[2] = 1;
    c.num_res_blocks = 2;
    c.n_attn = 2;
    c.attn_resolutions[1] = 2;
    const int64_t t[3] = {1, 2, 3};
    run_fd(&c, "fourier/input_skip sum/5-tap FIR/3 levels nrb 2", t, 3, 300);
}

static void test_fd_unconditional(void **state)
{
    (void)state;
    ddgan_gen_config c;
    fd_config(&c);
    c.conditional = 0;
    snprintf(c.progressive_input, sizeof c.progressive_input, "none");
    c.num_res_blocks = 0;
    c.n_attn = 0;
    c.n_mlp = 0;
    const int64_t t[1] = {1};
    run_fd(&c, "unconditional/no pyramid/nrb 0/n_mlp 0", t, 1, 300);
}

/* Fourier features of the integer t = 0 are ln 0 = -inf: the official code
 * returns NaN for that example (reproduced); the others are finite. */
static void test_fourier_nan_at_t0(void **state)
{
    (void)state;
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F32, 1, 16);
    ddgan_gen_config c;
    fd_config(&c);
    snprintf(c.embedding_type, sizeof c.embedding_type, "fourier");
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, &c, 2, DDGAN_DT_F32), DDGAN_OK);
    env_params(&e, &net, 3, 0.3);
    ddgan_tensor x = nt_rand_tensor(&e, 2, 2, 8, 8, 1, -1, 1);
    ddgan_tensor z = nt_rand_tensor(&e, 2, 4, 1, 1, 2, -1, 1);
    const int64_t t[2] = {0, 2};
    ddgan_tensor y = {0};
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x, t, &z, NULL, &y), DDGAN_OK);
    for (int i = 0; i < 128; i++) {
        assert_true(isnan(nt_get(&e, y.data, (size_t)i)));
        assert_true(isfinite(nt_get(&e, y.data, (size_t)(128 + i))));
    }
    /* the Fourier scratch follows a new batch bound */
    assert_int_equal(ddgan__gen_set_max_batch(&net, 5), DDGAN_OK);
    ddgan_tensor y2 = {0};
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x, t, &z, NULL, &y2), DDGAN_OK);
    assert_true(isfinite(nt_get(&e, y2.data, 200)) && isnan(nt_get(&e, y2.data, 5)));
    ddgan__gen_free(&net);
    nt_env_free(&e);
}

/* Forward (recorded and sampling) + backward over corner configurations: one
 * level, the smallest resolutions with an 8-tap FIR kernel, nrb 0, every
 * pyramid combination, uncentred input. Outputs and gradients must be
 * finite and both forward modes identical. */
static void smoke(const ddgan_gen_config *cfg, const char *what)
{
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F32, 1, 32);
    ddgan_gen_net net;
    ddgan_status_t st = ddgan__gen_init(&net, cfg, 2, DDGAN_DT_F32);
    if (st != DDGAN_OK)
        print_error("%s: %s\n", what, ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    env_params(&e, &net, 9, 0.3);
    const int S = cfg->image_size, C = cfg->num_channels;
    ddgan_tensor x = nt_rand_tensor(&e, 2, C, S, S, 1, -1, 1);
    ddgan_tensor z = nt_rand_tensor(&e, 2, cfg->nz, 1, 1, 2, -1, 1);
    const int64_t t[2] = {1, 3};
    ddgan_gen_acts *acts = NULL;
    assert_int_equal(ddgan__gen_acts_create(&e.ex, &net, &acts), DDGAN_OK);
    ddgan_tensor y = {0}, y2 = {0};
    st = ddgan__gen_forward(&e.ex, &net, &x, t, &z, acts, &y);
    if (st != DDGAN_OK)
        print_error("%s: %s\n", what, ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x, t, &z, NULL, &y2), DDGAN_OK);
    assert_memory_equal(y.data, y2.data, ddgan__numel(&y) * 4);
    for (size_t i = 0; i < ddgan__numel(&y); i++)
        assert_true(isfinite(nt_get(&e, y.data, i)));
    ddgan_tensor w = nt_proj_tensor(&e, 2, C, S, S, 77);
    zero_grads(&e, &net);
    assert_int_equal(ddgan__gen_backward(&e.ex, &net, acts, &w), DDGAN_OK);
    double gs = 0;
    for (size_t i = 0; i < net.pt.total; i++) {
        const double g = nt_get(&e, e.grads, i);
        assert_true(isfinite(g));
        gs += fabs(g);
    }
    assert_true(gs > 0);
    print_message("    %-44s %zu params, %.4g MFLOPs\n", what, param_count(&net),
                  ddgan__gen_flops(&net) / 1e6);
    ddgan__gen_free(&net);
    nt_env_free(&e);
}

static void test_option_smoke(void **state)
{
    (void)state;
    ddgan_gen_config c;
    /* one level: no down/up blocks, no pyramid steps */
    fd_config(&c);
    c.n_levels = 1;
    c.attn_resolutions[0] = 8;
    snprintf(c.progressive, sizeof c.progressive, "output_skip");
    smoke(&c, "1 level, output_skip");
    /* 4 -> 2 -> 1 with an 8-tap kernel, attention at 1x1, nrb 0 */
    fd_config(&c);
    c.image_size = 4;
    c.n_levels = 3;
    c.ch_mult[2] = 1;
    c.num_res_blocks = 0;
    c.attn_resolutions[0] = 1;
    c.n_fir = 8;
    for (int k = 0; k < 8; k++)
        c.fir_kernel[k] = 1 + (k < 4 ? k : 7 - k);
    smoke(&c, "4x4 -> 1x1, 8 taps, nrb 0, attn 1");
    snprintf(c.progressive_input, sizeof c.progressive_input, "input_skip");
    snprintf(c.progressive_combine, sizeof c.progressive_combine, "cat");
    snprintf(c.progressive, sizeof c.progressive, "output_skip");
    c.centered = 0;
    smoke(&c, "same, input_skip cat, output_skip, uncentred");
    /* 3 levels, nrb 2, input_skip cat, non-square channel growth */
    fd_config(&c);
    c.image_size = 16;
    c.n_levels = 3;
    c.ch_mult[1] = 3;
    c.ch_mult[2] = 2;
    c.num_res_blocks = 2;
    c.attn_resolutions[0] = 8;
    snprintf(c.progressive_input, sizeof c.progressive_input, "input_skip");
    snprintf(c.progressive_combine, sizeof c.progressive_combine, "CAT");
    snprintf(c.resblock_type, sizeof c.resblock_type, "BigGAN_OneAdaGN");
    smoke(&c, "16x16, ch 1 3 2, nrb 2, input_skip cat, oneadagn");
    snprintf(c.progressive_input, sizeof c.progressive_input, "none");
    c.conditional = 0;
    c.skip_rescale = 0;
    smoke(&c, "same, no pyramid, unconditional, no rescale");
}

/* ------------------------------------------------------------------------ */
/* Validation */

typedef void (*mutate_fn)(ddgan_gen_config *c);

static void expect_refused(mutate_fn m, ddgan_status_t status, const char *needle)
{
    ddgan_gen_config c;
    gen_tiny_config(&c);
    m(&c);
    ddgan_gen_net net;
    ddgan_status_t st = ddgan__gen_init(&net, &c, 2, DDGAN_DT_F32);
    print_message("    refused: %s\n", ddgan_last_error());
    tu_assert_status(st, status, needle);
}

static void m_image(ddgan_gen_config *c) { c->image_size = 15; }
static void m_attn(ddgan_gen_config *c) { c->attn_resolutions[0] = 12; }
static void m_nf_groups(ddgan_gen_config *c) { c->num_channels_dae = 18; }
static void m_nf_small(ddgan_gen_config *c) { c->num_channels_dae = 3; }
static void m_nz(ddgan_gen_config *c) { c->nz = 0; }
static void m_zdim(ddgan_gen_config *c) { c->z_emb_dim = 0; }
static void m_nmlp(ddgan_gen_config *c) { c->n_mlp = 16; }
static void m_nmlp_neg(ddgan_gen_config *c) { c->n_mlp = -1; }
static void m_nrb(ddgan_gen_config *c) { c->num_res_blocks = -1; }
static void m_modules(ddgan_gen_config *c) { c->num_res_blocks = 100; }
static void m_levels(ddgan_gen_config *c) { c->n_levels = 9; }
static void m_mult(ddgan_gen_config *c) { c->ch_mult[1] = 0; }
static void m_dropout(ddgan_gen_config *c) { c->dropout = 0.1; }
static void m_fir(ddgan_gen_config *c) { c->fir = 0; }
static void m_fir_taps(ddgan_gen_config *c) { c->n_fir = 1; }
static void m_fir_zero(ddgan_gen_config *c)
{
    c->fir_kernel[0] = 1;
    c->fir_kernel[1] = -1;
    c->n_fir = 2;
}
static void m_ddpm(ddgan_gen_config *c) { snprintf(c->resblock_type, sizeof c->resblock_type, "ddpm"); }
static void m_rbtype(ddgan_gen_config *c) { snprintf(c->resblock_type, sizeof c->resblock_type, "resnet"); }
static void m_prog(ddgan_gen_config *c) { snprintf(c->progressive, sizeof c->progressive, "residual"); }
static void m_pin(ddgan_gen_config *c)
{
    snprintf(c->progressive_input, sizeof c->progressive_input, "skip");
}
static void m_comb(ddgan_gen_config *c)
{
    snprintf(c->progressive_combine, sizeof c->progressive_combine, "max");
}
static void m_emb(ddgan_gen_config *c) { snprintf(c->embedding_type, sizeof c->embedding_type, "learned"); }
static void m_nchan(ddgan_gen_config *c) { c->num_channels = 0; }
static void m_nattn(ddgan_gen_config *c) { c->n_attn = 9; }
static void m_cat_groups(ddgan_gen_config *c)
{
    /* nf 48, ch_mult 1 1: with "sum" every GroupNorm sees 48 or 96 channels; "cat" doubles the
     * combined skip to 96, and the up path's cat([h 48, skip 96]) = 144 is not a multiple of 32 */
    snprintf(c->progressive_input, sizeof c->progressive_input, "input_skip");
    snprintf(c->progressive_combine, sizeof c->progressive_combine, "cat");
    c->num_channels_dae = 48;
    c->ch_mult[1] = 1;
}

static void m_sum_ok(ddgan_gen_config *c)
{
    snprintf(c->progressive_input, sizeof c->progressive_input, "input_skip");
    c->num_channels_dae = 48;
    c->ch_mult[1] = 1;
}

static void test_validation(void **state)
{
    (void)state;
    expect_refused(m_image, DDGAN_ERR_INVALID_ARGUMENT, "image_size 15");
    expect_refused(m_attn, DDGAN_ERR_INVALID_ARGUMENT, "attn_resolutions entry 12");
    expect_refused(m_nf_groups, DDGAN_ERR_INVALID_ARGUMENT, "num_channels_dae 18");
    expect_refused(m_nf_small, DDGAN_ERR_INVALID_ARGUMENT, "num_channels_dae 3");
    expect_refused(m_nz, DDGAN_ERR_INVALID_ARGUMENT, "nz 0");
    expect_refused(m_zdim, DDGAN_ERR_INVALID_ARGUMENT, "z_emb_dim 0");
    expect_refused(m_nmlp, DDGAN_ERR_INVALID_ARGUMENT, "n_mlp 16");
    expect_refused(m_nmlp_neg, DDGAN_ERR_INVALID_ARGUMENT, "n_mlp -1");
    expect_refused(m_nrb, DDGAN_ERR_INVALID_ARGUMENT, "num_res_blocks -1");
    expect_refused(m_modules, DDGAN_ERR_INVALID_ARGUMENT, "num_res_blocks 100");
    expect_refused(m_levels, DDGAN_ERR_INVALID_ARGUMENT, "ch_mult has 9 levels");
    expect_refused(m_mult, DDGAN_ERR_INVALID_ARGUMENT, "ch_mult [1 0]");
    expect_refused(m_dropout, DDGAN_ERR_UNSUPPORTED, "dropout 0.1");
    expect_refused(m_fir, DDGAN_ERR_UNSUPPORTED, "fir 0");
    expect_refused(m_fir_taps, DDGAN_ERR_UNSUPPORTED, "fir_kernel with 1 taps");
    expect_refused(m_fir_zero, DDGAN_ERR_INVALID_ARGUMENT, "fir_kernel");
    expect_refused(m_ddpm, DDGAN_ERR_UNSUPPORTED, "resblock_type \"ddpm\"");
    expect_refused(m_rbtype, DDGAN_ERR_INVALID_ARGUMENT, "resblock_type \"resnet\"");
    expect_refused(m_prog, DDGAN_ERR_UNSUPPORTED, "progressive \"residual\"");
    expect_refused(m_pin, DDGAN_ERR_INVALID_ARGUMENT, "progressive_input \"skip\"");
    expect_refused(m_comb, DDGAN_ERR_INVALID_ARGUMENT, "progressive_combine \"max\"");
    expect_refused(m_emb, DDGAN_ERR_INVALID_ARGUMENT, "embedding_type \"learned\"");
    expect_refused(m_nchan, DDGAN_ERR_INVALID_ARGUMENT, "num_channels 0");
    expect_refused(m_nattn, DDGAN_ERR_INVALID_ARGUMENT, "9 attn_resolutions");
    expect_refused(m_cat_groups, DDGAN_ERR_INVALID_ARGUMENT, "144 channels");
    {
        ddgan_gen_config ok;
        gen_tiny_config(&ok);
        m_sum_ok(&ok);
        ddgan_gen_net n2;
        assert_int_equal(ddgan__gen_init(&n2, &ok, 1, DDGAN_DT_F32), DDGAN_OK);
        ddgan__gen_free(&n2);
    }

    /* run-time shape checks */
    nt_env e;
    nt_env_init(&e, DDGAN_DT_F32, 1, 16);
    ddgan_gen_config c;
    gen_tiny_config(&c);
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, &c, 2, DDGAN_DT_F32), DDGAN_OK);
    env_params(&e, &net, 1, 0.1);
    const int64_t t[3] = {0, 1, 2};
    ddgan_tensor x = nt_rand_tensor(&e, 2, 1, 16, 16, 1, -1, 1);
    ddgan_tensor z = nt_rand_tensor(&e, 2, 8, 1, 1, 2, -1, 1);
    ddgan_tensor y = {0};
    ddgan_tensor bad = nt_rand_tensor(&e, 2, 1, 8, 8, 1, -1, 1);
    tu_assert_status(ddgan__gen_forward(&e.ex, &net, &bad, t, &z, NULL, &y),
                     DDGAN_ERR_INVALID_ARGUMENT, "image_size");
    ddgan_tensor x3 = nt_rand_tensor(&e, 3, 1, 16, 16, 1, -1, 1);
    ddgan_tensor z3 = nt_rand_tensor(&e, 3, 8, 1, 1, 2, -1, 1);
    tu_assert_status(ddgan__gen_forward(&e.ex, &net, &x3, t, &z3, NULL, &y),
                     DDGAN_ERR_INVALID_ARGUMENT, "max_batch");
    tu_assert_status(ddgan__gen_forward(&e.ex, &net, &x, t, &x, NULL, &y),
                     DDGAN_ERR_INVALID_ARGUMENT, "nz");
    ddgan_gen_acts *acts = NULL;
    assert_int_equal(ddgan__gen_acts_create(&e.ex, &net, &acts), DDGAN_OK);
    tu_assert_status(ddgan__gen_backward(&e.ex, &net, acts, &x), DDGAN_ERR_INVALID_ARGUMENT,
                     "no recorded forward");
    /* a raised batch bound admits the batch of 3 */
    assert_int_equal(ddgan__gen_set_max_batch(&net, 3), DDGAN_OK);
    assert_int_equal(ddgan__gen_forward(&e.ex, &net, &x3, t, &z3, NULL, &y), DDGAN_OK);
    tu_assert_status(ddgan__gen_set_max_batch(&net, 0), DDGAN_ERR_INVALID_ARGUMENT, "max_batch 0");
    ddgan__gen_free(&net);
    nt_env_free(&e);
}

/* ------------------------------------------------------------------------ */
/* Planning: a dry run of forward + backward sizes the arena exactly */

static ddgan_status_t g_step(ddgan_netmem *m, ddgan_gen_net *net, int batch)
{
    ddgan_exec ex = ddgan__netmem_exec(m, 1);
    ddgan__arena_reset(&m->arena);
    static const int64_t t[4] = {0, 1, 2, 3};
    const ddgan_gen_config *c = &net->cfg;
    ddgan_tensor x, z, dy, y = {0}, s = {0};
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &x, batch, c->num_channels, c->image_size, c->image_size));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &z, batch, c->nz, 1, 1));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &dy, batch, c->num_channels, c->image_size, c->image_size));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &x));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &z));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &dy));
    /* a sampling pass, then a recorded pass and its backward */
    DDGAN_TRY(ddgan__gen_forward(&ex, net, &x, t, &z, NULL, &s));
    ddgan_gen_acts *acts = NULL;
    DDGAN_TRY(ddgan__gen_acts_create(&ex, net, &acts));
    DDGAN_TRY(ddgan__gen_forward(&ex, net, &x, t, &z, acts, &y));
    return ddgan__gen_backward(&ex, net, acts, &dy);
}

static void test_planning(void **state)
{
    (void)state;
    ddgan_context_t ctx = NULL;
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = "ref";
    cc.num_threads = 1;
    assert_int_equal(ddgan_context_create(&ctx, &cc), DDGAN_OK);
    ddgan_gen_config c;
    gen_tiny_config(&c);
    ddgan_gen_net net;
    assert_int_equal(ddgan__gen_init(&net, &c, 4, DDGAN_DT_F32), DDGAN_OK);
    ddgan_netmem m;
    assert_int_equal(ddgan__netmem_init(&m, ctx->backend, DDGAN_DT_F32, net.pt.total,
                                        DDGAN_BUF_PARAMS | DDGAN_BUF_GRADS),
                     DDGAN_OK);
    ddgan__netmem_plan_begin(&m);
    assert_int_equal(g_step(&m, &net, 4), DDGAN_OK);
    size_t planned = 0;
    assert_int_equal(ddgan__netmem_plan_end(&m, &planned), DDGAN_OK);
    print_message("    planned arena for G tiny (batch 4, forward + backward): %zu bytes\n",
                  planned);
    assert_true(planned > 0);
    m.arena.peak = 0;
    assert_int_equal(g_step(&m, &net, 4), DDGAN_OK);
    assert_int_equal(m.arena.peak, planned);
    /* a smaller batch fits the same plan */
    m.arena.peak = 0;
    assert_int_equal(g_step(&m, &net, 2), DDGAN_OK);
    assert_true(m.arena.peak < planned);
    ddgan__netmem_free(&m);
    ddgan__gen_free(&net);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_f32),
        cmocka_unit_test(test_golden_f64),
        cmocka_unit_test(test_sampling_chain),
        cmocka_unit_test(test_cifar10_table),
        cmocka_unit_test(test_counts_and_flops),
        cmocka_unit_test(test_option_tables),
        cmocka_unit_test(test_fd_default),
        cmocka_unit_test(test_fd_skips_oneadagn),
        cmocka_unit_test(test_fd_fourier_fir5),
        cmocka_unit_test(test_fd_unconditional),
        cmocka_unit_test(test_fourier_nan_at_t0),
        cmocka_unit_test(test_option_smoke),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_planning),
    };
    return cmocka_run_group_tests_name("generator", tests, NULL, NULL);
}
