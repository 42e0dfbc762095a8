/* Allocation-failure injection (docs/hardening.md): for every n, the n-th
 * host allocation of an operation fails, and the operation must end with a
 * clean status (DDGAN_ERR_OUT_OF_MEMORY, or DDGAN_ERR_IO for a write that
 * could not be completed) and a message, leak nothing (the hooks count live
 * blocks; ASan checks the rest), and leave its objects usable: a failed step
 * can be retried, a failed load leaves the trainer as it was, a failed save
 * leaves the previous file intact, a failed sample can be repeated and gives
 * the same numbers.
 *
 * Operations: create (context .. trainer), trainer load, generator load,
 * step, save, sample, DDPM trainer create + step, dataset open, a tiny
 * NCSN++ create + sample, and checkpoint extras (attached loader, caller
 * metadata: save, load, ddgan_file_metadata).
 * CI runs a sample of the n (the first ones, the last ones and an even
 * spread); DDGAN_FULL_SWEEP=1 runs every n. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "test_util.h"
#include "toy_rig.h"

/* ------------------------------------------------------------------------ */
/* Hooks: count allocations, fail the n-th one, track live blocks           */

static long g_calls;      /* allocations seen since arm() */
static long g_fail_at;    /* index to fail, -1: none */
static int g_failed;      /* the injected failure happened */
static long g_live;       /* blocks allocated through the hooks and not freed */

static void *oom_malloc(void *user, size_t bytes)
{
    (void)user;
    if (g_calls++ == g_fail_at) {
        g_failed = 1;
        return NULL;
    }
    void *p = malloc(bytes);
    if (p)
        g_live++;
    return p;
}

static void oom_free(void *user, void *p)
{
    (void)user;
    g_live--;
    free(p);
}

/* Hooks stay installed for the whole test, so every block is counted from
 * its allocation to its release. */
static void hooks_on(void)
{
    ddgan_alloc_hooks h = {oom_malloc, oom_free, NULL};
    ddgan__alloc_set_hooks(&h);
    g_fail_at = -1;
}

static void arm(long n)
{
    g_calls = 0;
    g_fail_at = n;
    g_failed = 0;
}

static void disarm(void) { g_fail_at = -1; }

/* ------------------------------------------------------------------------ */
/* Which n to try                                                           */

static int full_sweep(void)
{
    const char *e = getenv("DDGAN_FULL_SWEEP");
    return e && e[0] == '1';
}

/* Sampled: the first 12, the last 12 and ~`spread` evenly between. */
static int want(long n, long total, long spread)
{
    if (full_sweep() || total <= 24 + spread)
        return 1;
    if (n < 12 || n >= total - 12)
        return 1;
    const long step = (total - 24) / spread + 1;
    return (n - 12) % step == 0;
}

static long g_tried_total;

/* ------------------------------------------------------------------------ */
/* The scenarios                                                            */

typedef struct fixture {
    tr_rig rig;
    char dir[4096];
    char ckpt[4200];
    char out[4200];
    char idx[4200];
    uint64_t hash;
    float sample_ref[2 * 5];
    ddgan_dataset_t ds;
} fixture;

typedef struct scenario {
    const char *name;
    ddgan_status_t also_ok;                 /* a second acceptable status (IO for writes) */
    void (*setup)(fixture *f);              /* not under injection */
    ddgan_status_t (*op)(fixture *f);       /* under injection */
    void (*after)(fixture *f, ddgan_status_t st); /* usability check, not under injection */
    void (*teardown)(fixture *f);
} scenario;

static void rig_setup(fixture *f) { assert_int_equal(tr_rig_make(&f->rig, 3, 1), DDGAN_OK); }
static void rig_teardown(fixture *f) { tr_rig_free(&f->rig); }
static void nothing(fixture *f) { (void)f; }

/* create: everything from scratch; the op cleans up after itself on failure
 * (tr_rig_make), so teardown only frees a success. */
static ddgan_status_t op_create(fixture *f) { return tr_rig_make(&f->rig, 3, 1); }
static void after_create(fixture *f, ddgan_status_t st)
{
    if (st != DDGAN_OK) {
        assert_null(f->rig.ctx);
        assert_int_equal(tr_rig_make(&f->rig, 3, 1), DDGAN_OK);
    }
    assert_int_equal(tr_rig_run_to(&f->rig, 2), DDGAN_OK);
}

/* load: a checkpoint at step 3 into a trainer at step 1 */
static void load_setup(fixture *f)
{
    rig_setup(f);
    assert_int_equal(tr_rig_run_to(&f->rig, 1), DDGAN_OK);
    f->hash = tr_rig_hash(&f->rig);
}
static ddgan_status_t op_load(fixture *f) { return ddgan_trainer_load(f->rig.tr, f->ckpt); }
static void after_load(fixture *f, ddgan_status_t st)
{
    if (st != DDGAN_OK) {
        /* untouched: same step, same weights; and it loads fine afterwards */
        assert_int_equal(ddgan_trainer_global_step(f->rig.tr), 1);
        assert_true(tr_rig_hash(&f->rig) == f->hash);
        assert_int_equal(ddgan_trainer_load(f->rig.tr, f->ckpt), DDGAN_OK);
    }
    assert_int_equal(ddgan_trainer_global_step(f->rig.tr), 3);
    assert_int_equal(tr_rig_run_to(&f->rig, 4), DDGAN_OK);
}

/* generator load (the EMA weights of the checkpoint) */
static ddgan_status_t op_gen_load(fixture *f)
{
    ddgan_generator_t g = NULL;
    ddgan_status_t st = ddgan_generator_load_prefixed(&g, f->rig.ctx, f->ckpt, "G_ema.", NULL);
    if (st != DDGAN_OK)
        assert_null(g);
    ddgan_generator_destroy(g);
    return st;
}
static void after_gen_load(fixture *f, ddgan_status_t st)
{
    (void)st;
    assert_int_equal(op_gen_load(f), DDGAN_OK);
}

/* step: the first steps of a fresh trainer (with and without R1) */
static ddgan_status_t op_step(fixture *f) { return tr_rig_run_to(&f->rig, 2); }
static void after_step(fixture *f, ddgan_status_t st)
{
    (void)st;
    assert_int_equal(tr_rig_run_to(&f->rig, 3), DDGAN_OK);
}

/* save over an existing checkpoint */
static void save_setup(fixture *f)
{
    rig_setup(f);
    assert_int_equal(tr_rig_run_to(&f->rig, 2), DDGAN_OK);
    assert_int_equal(ddgan_trainer_save(f->rig.tr, f->out), DDGAN_OK);
    assert_int_equal(tr_rig_run_to(&f->rig, 3), DDGAN_OK);
}
static ddgan_status_t op_save(fixture *f) { return ddgan_trainer_save(f->rig.tr, f->out); }
static void count_files(const char *dir, int expect)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
            n++;
    closedir(d);
    if (n != expect)
        print_error("%d files in the folder, expected %d (a temporary file left behind?)\n", n, expect);
    assert_int_equal(n, expect);
}
static void after_save(fixture *f, ddgan_status_t st)
{
    /* the folder holds ckpt, idx and out only: no temporary file left behind */
    count_files(f->dir, 3);
    tr_rig other;
    assert_int_equal(tr_rig_make(&other, 3, 1), DDGAN_OK);
    assert_int_equal(ddgan_trainer_load(other.tr, f->out), DDGAN_OK);
    /* a failed save left the previous version, a successful one the new one */
    assert_int_equal(ddgan_trainer_global_step(other.tr), st == DDGAN_OK ? 3 : 2);
    tr_rig_free(&other);
    assert_int_equal(ddgan_trainer_save(f->rig.tr, f->out), DDGAN_OK);
}

/* sample with the toy generator; a repeat gives the same numbers */
static void sample_setup(fixture *f)
{
    rig_setup(f);
    assert_int_equal(ddgan_sample(f->rig.g, f->rig.s, 5, 42, f->sample_ref), DDGAN_OK);
}
static ddgan_status_t op_sample(fixture *f)
{
    float out[2 * 5];
    ddgan_status_t st = ddgan_sample(f->rig.g, f->rig.s, 5, 42, out);
    if (st == DDGAN_OK)
        assert_memory_equal(out, f->sample_ref, sizeof out);
    return st;
}
static void after_sample(fixture *f, ddgan_status_t st)
{
    (void)st;
    assert_int_equal(op_sample(f), DDGAN_OK);
}

/* DDPM: a trainer on the toy generator, created and stepped */
static ddgan_status_t op_ddpm(fixture *f)
{
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.kind = DDGAN_SCHEDULE_DDPM_LINEAR;
    sc.num_timesteps = 2;
    sc.beta_min = 1e-4;
    sc.beta_max = 0.02;
    ddgan_schedule_t s = NULL;
    ddgan_ddpm_trainer_t t = NULL;
    ddgan_ddpm_trainer_config tc;
    ddgan_ddpm_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = TR_BATCH;
    ddgan_status_t st = ddgan_schedule_create(&s, f->rig.ctx, &sc);
    if (st == DDGAN_OK)
        st = ddgan_ddpm_trainer_create(&t, f->rig.g, s, &tc);
    float x[2 * TR_BATCH];
    tr_rig_batch(0, x);
    if (st == DDGAN_OK)
        st = ddgan_ddpm_trainer_step(t, x, TR_BATCH, NULL);
    ddgan_ddpm_trainer_destroy(t);
    ddgan_schedule_destroy(s);
    return st;
}
static void after_ddpm(fixture *f, ddgan_status_t st)
{
    (void)st;
    assert_int_equal(op_ddpm(f), DDGAN_OK);
}

/* dataset: an IDX images file opened and served */
static ddgan_status_t op_dataset(fixture *f)
{
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_IDX;
    dc.path = f->idx;
    ddgan_dataset_t ds = NULL;
    ddgan_status_t st = ddgan_dataset_open(&ds, &dc);
    float buf[2 * 3 * 4];
    if (st == DDGAN_OK)
        st = ddgan_dataset_next_batch(ds, 2, buf, NULL);
    ddgan_dataset_destroy(ds);
    return st;
}
static void after_dataset(fixture *f, ddgan_status_t st)
{
    (void)st;
    assert_int_equal(op_dataset(f), DDGAN_OK);
}

/* a tiny NCSN++ generator (the image path: attention, FIR, resblocks) created and sampled */
static const char k_ncsnpp[] =
    "{\"image_size\": 8, \"num_channels\": 1, \"num_channels_dae\": 8, \"ch_mult\": [1, 2], "
    "\"num_res_blocks\": 1, \"attn_resolutions\": [4], \"nz\": 4, \"z_emb_dim\": 8, \"n_mlp\": 2, "
    "\"num_timesteps\": 2, \"fir\": true, \"resblock_type\": \"biggan\", \"progressive\": \"none\", "
    "\"progressive_input\": \"residual\", \"embedding_type\": \"positional\"}";
static ddgan_status_t op_ncsnpp(fixture *f)
{
    ddgan_generator_t g = NULL;
    float out[2 * 8 * 8];
    ddgan_status_t st = ddgan_generator_create_json(&g, f->rig.ctx, k_ncsnpp);
    if (st == DDGAN_OK)
        st = ddgan_sample(g, f->rig.s, 2, 5, out);
    ddgan_generator_destroy(g);
    return st;
}
static void after_ncsnpp(fixture *f, ddgan_status_t st)
{
    (void)st;
    assert_int_equal(op_ncsnpp(f), DDGAN_OK);
}

/* checkpoint extras: an attached loader ("data.state") and caller metadata,
 * saved, loaded back, and the metadata read with ddgan_file_metadata */
static void extras_setup(fixture *f)
{
    rig_setup(f);
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_GRID25;
    dc.num_examples = 64;
    assert_int_equal(ddgan_dataset_open(&f->ds, &dc), DDGAN_OK);
    assert_int_equal(ddgan_trainer_attach_dataset(f->rig.tr, f->ds), DDGAN_OK);
    assert_int_equal(ddgan_trainer_set_metadata(f->rig.tr, "note", "oom"), DDGAN_OK);
}
static ddgan_status_t op_extras(fixture *f)
{
    float x[2 * TR_BATCH];
    ddgan_status_t st = ddgan_dataset_next_batch(f->ds, TR_BATCH, x, NULL);
    if (st == DDGAN_OK)
        st = ddgan_trainer_save(f->rig.tr, f->out);
    if (st == DDGAN_OK)
        st = ddgan_trainer_load(f->rig.tr, f->out);
    char note[16];
    if (st == DDGAN_OK)
        st = ddgan_file_metadata(f->out, "note", note, sizeof note, NULL);
    if (st == DDGAN_OK)
        assert_string_equal(note, "oom");
    return st;
}
static void after_extras(fixture *f, ddgan_status_t st)
{
    (void)st;
    assert_int_equal(op_extras(f), DDGAN_OK);
}
static void extras_teardown(fixture *f)
{
    rig_teardown(f);
    ddgan_dataset_destroy(f->ds);
    f->ds = NULL;
    remove(f->out);
}

static const scenario k_scenarios[] = {
    {"create", DDGAN_OK, nothing, op_create, after_create, rig_teardown},
    {"trainer_load", DDGAN_OK, load_setup, op_load, after_load, rig_teardown},
    {"generator_load", DDGAN_OK, rig_setup, op_gen_load, after_gen_load, rig_teardown},
    {"step", DDGAN_OK, rig_setup, op_step, after_step, rig_teardown},
    {"save", DDGAN_ERR_IO, save_setup, op_save, after_save, rig_teardown},
    {"sample", DDGAN_OK, sample_setup, op_sample, after_sample, rig_teardown},
    {"ddpm_create_step", DDGAN_OK, rig_setup, op_ddpm, after_ddpm, rig_teardown},
    {"dataset_open", DDGAN_OK, nothing, op_dataset, after_dataset, nothing},
    {"ncsnpp_create_sample", DDGAN_OK, rig_setup, op_ncsnpp, after_ncsnpp, rig_teardown},
    {"checkpoint_extras", DDGAN_ERR_IO, extras_setup, op_extras, after_extras, extras_teardown},
};

/* ------------------------------------------------------------------------ */

static fixture g_fx;

static void prepare_files(fixture *f)
{
    char *dir = tu_make_tmpdir();
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    free(dir);
    snprintf(f->ckpt, sizeof f->ckpt, "%s/ckpt.safetensors", f->dir);
    snprintf(f->out, sizeof f->out, "%s/out.safetensors", f->dir);
    snprintf(f->idx, sizeof f->idx, "%s/images.idx", f->dir);
    tr_rig r;
    assert_int_equal(tr_rig_make(&r, 11, 1), DDGAN_OK);
    assert_int_equal(tr_rig_run_to(&r, 3), DDGAN_OK);
    assert_int_equal(ddgan_trainer_save(r.tr, f->ckpt), DDGAN_OK);
    tr_rig_free(&r);
    unsigned char idx[4 + 12 + 24] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    for (int i = 0; i < 24; i++)
        idx[16 + i] = (unsigned char)(i * 10);
    assert_int_equal(tu_write_file(f->idx, idx, sizeof idx), 0);
}

static void run_scenario(const scenario *sc)
{
    fixture *f = &g_fx;
    /* count the allocations of one clean run */
    const long live0 = g_live;
    sc->setup(f);
    arm(-1);
    ddgan_status_t st = sc->op(f);
    const long total = g_calls;
    disarm();
    assert_int_equal(st, DDGAN_OK);
    sc->teardown(f);
    assert_int_equal(g_live, live0);
    if (strcmp(sc->name, "save") == 0)
        remove(f->out);

    long tried = 0, oom = 0, io = 0;
    for (long n = 0; n < total; n++) {
        if (!want(n, total, 40))
            continue;
        tried++;
        sc->setup(f);
        ddgan_clear_last_error();
        arm(n);
        st = sc->op(f);
        disarm();
        if (!g_failed) {
            print_error("%s: allocation %ld of %ld was never made\n", sc->name, n, total);
            fail();
        }
        if (st == DDGAN_OK || (st != DDGAN_ERR_OUT_OF_MEMORY && st != sc->also_ok)) {
            print_error("%s: allocation %ld of %ld failed -> status %d (%s): \"%s\"\n", sc->name, n, total,
                        (int)st, ddgan_status_string(st), ddgan_last_error());
            fail();
        }
        if (ddgan_last_error()[0] == '\0') {
            print_error("%s: allocation %ld failed without a message\n", sc->name, n);
            fail();
        }
        oom += st == DDGAN_ERR_OUT_OF_MEMORY;
        io += st == DDGAN_ERR_IO;
        sc->after(f, st);
        sc->teardown(f);
        if (g_live != live0) {
            print_error("%s: allocation %ld failed: %ld blocks leaked\n", sc->name, n, g_live - live0);
            fail();
        }
        if (strcmp(sc->name, "save") == 0)
            remove(f->out);
    }
    g_tried_total += tried;
    print_message("    %-17s %5ld allocations, %5ld injected (%ld out of memory, %ld I/O)%s\n", sc->name,
                  total, tried, oom, io, full_sweep() ? " [full sweep]" : "");
}

static void test_create(void **state) { (void)state; run_scenario(&k_scenarios[0]); }
static void test_trainer_load(void **state) { (void)state; run_scenario(&k_scenarios[1]); }
static void test_generator_load(void **state) { (void)state; run_scenario(&k_scenarios[2]); }
static void test_step(void **state) { (void)state; run_scenario(&k_scenarios[3]); }
static void test_save(void **state) { (void)state; run_scenario(&k_scenarios[4]); }
static void test_sample(void **state) { (void)state; run_scenario(&k_scenarios[5]); }
static void test_ddpm(void **state) { (void)state; run_scenario(&k_scenarios[6]); }
static void test_dataset(void **state) { (void)state; run_scenario(&k_scenarios[7]); }
static void test_ncsnpp(void **state) { (void)state; run_scenario(&k_scenarios[8]); }
static void test_extras(void **state) { (void)state; run_scenario(&k_scenarios[9]); }

/* The sweep itself must be able to fail: a library that swallowed a failed
 * allocation (returned OK) or leaked would be caught. Check the checker on
 * a fake operation that does exactly that. */
static ddgan_status_t op_swallow(fixture *f)
{
    (void)f;
    void *p = ddgan__malloc(16, "test");
    void *q = ddgan__malloc(16, "test"); /* failure ignored: the bug the sweep looks for */
    ddgan__free(p);
    ddgan__free(q);
    return DDGAN_OK;
}
static void test_sweep_detects_swallowed_failure(void **state)
{
    (void)state;
    arm(1);
    ddgan_status_t st = op_swallow(&g_fx);
    disarm();
    assert_true(g_failed);
    assert_int_equal(st, DDGAN_OK); /* what run_scenario reports as a failure */
}

static int group_setup(void **state)
{
    (void)state;
    prepare_files(&g_fx);
    hooks_on();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ddgan__alloc_set_hooks(NULL);
    tu_rmdir_recursive(g_fx.dir);
    print_message("    %ld failure points tried in all\n", g_tried_total);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_detects_swallowed_failure),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_trainer_load),
        cmocka_unit_test(test_generator_load),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_save),
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_ddpm),
        cmocka_unit_test(test_dataset),
        cmocka_unit_test(test_ncsnpp),
        cmocka_unit_test(test_extras),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
