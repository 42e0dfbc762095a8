/* Checkpoint extras: the attached data loader's position, caller metadata,
 * ddgan_file_metadata and ddgan_generator_schedule_config (docs/training.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

enum { BATCH = 16, STEPS_A = 5, STEPS_B = 4 };

typedef struct rig {
    ddgan_context_t ctx;
    ddgan_schedule_t s;
    ddgan_generator_t g;
    ddgan_discriminator_t d;
    ddgan_trainer_t tr;
    ddgan_dataset_t ds;
} rig;

static void rig_open(rig *r, int with_dataset, uint64_t data_seed)
{
    memset(r, 0, sizeof *r);
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = "ref";
    cc.seed = 7;
    cc.num_threads = 1;
    assert_int_equal(ddgan_context_create(&r->ctx, &cc), DDGAN_OK);
    assert_int_equal(ddgan_schedule_create(&r->s, r->ctx, NULL), DDGAN_OK);
    assert_int_equal(ddgan_generator_create_json(&r->g, r->ctx,
                                                 "{\"cls\": \"ToyMLP\", \"hidden_dim\": 16, \"n_hidden\": 2,"
                                                 " \"nz\": 2, \"t_emb_dim\": 8, \"num_timesteps\": 4}"),
                     DDGAN_OK);
    assert_int_equal(ddgan_discriminator_create_json(
                         &r->d, r->ctx, "{\"cls\": \"ToyMLP\", \"hidden_dim\": 16, \"n_hidden\": 2, \"t_emb_dim\": 8}"),
                     DDGAN_OK);
    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = BATCH;
    tc.use_ema = 1;
    assert_int_equal(ddgan_trainer_create(&r->tr, r->g, r->d, r->s, &tc), DDGAN_OK);
    if (with_dataset) {
        ddgan_dataset_config dc;
        ddgan_dataset_config_init(&dc, sizeof dc);
        dc.kind = DDGAN_DATASET_GRID25;
        dc.num_examples = 100; /* 6 batches an epoch: the run crosses epochs */
        dc.seed = 3;
        dc.data_seed = data_seed;
        assert_int_equal(ddgan_dataset_open(&r->ds, &dc), DDGAN_OK);
        assert_int_equal(ddgan_trainer_attach_dataset(r->tr, r->ds), DDGAN_OK);
    }
}

static void rig_close(rig *r)
{
    ddgan_trainer_destroy(r->tr);
    ddgan_dataset_destroy(r->ds);
    ddgan_discriminator_destroy(r->d);
    ddgan_generator_destroy(r->g);
    ddgan_schedule_destroy(r->s);
    ddgan_context_destroy(r->ctx);
}

/* Steps on the loader's batches; records err_d of every step. */
static void run_steps(rig *r, int n, float *err_d)
{
    float x[BATCH * 2];
    for (int i = 0; i < n; i++) {
        assert_int_equal(ddgan_dataset_next_batch(r->ds, BATCH, x, NULL), DDGAN_OK);
        ddgan_step_stats st;
        ddgan_step_stats_init(&st, sizeof st);
        assert_int_equal(ddgan_trainer_step(r->tr, x, BATCH, &st), DDGAN_OK);
        err_d[i] = st.err_d;
    }
}

/* All generator parameters, flattened in tensor order (malloc'd). */
static float *all_params(ddgan_generator_t g, size_t *n_out)
{
    ddgan_model_summary sum;
    ddgan_model_summary_init(&sum, sizeof sum);
    assert_int_equal(ddgan_generator_summary(g, &sum), DDGAN_OK);
    float *p = malloc(sum.num_params * sizeof(float)), *at = p;
    assert_non_null(p);
    for (size_t i = 0; i < ddgan_generator_num_tensors(g); i++) {
        ddgan_tensor_info ti;
        ddgan_tensor_info_init(&ti, sizeof ti);
        assert_int_equal(ddgan_generator_tensor_info(g, i, &ti), DDGAN_OK);
        assert_int_equal(ddgan_generator_get_param(g, ti.name, at, ti.numel), DDGAN_OK);
        at += ti.numel;
    }
    *n_out = sum.num_params;
    return p;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* A resumed run sees the batches of an uninterrupted one: same losses, same weights. */
static void test_resume_same_batches(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char *ck = path_in(dir, "ck.safetensors");
    float straight[STEPS_A + STEPS_B], resumed[STEPS_B];
    rig a;
    rig_open(&a, 1, 11);
    run_steps(&a, STEPS_A, straight);
    assert_int_equal(ddgan_trainer_save(a.tr, ck), DDGAN_OK);
    run_steps(&a, STEPS_B, straight + STEPS_A);
    size_t na = 0, nb = 0;
    float *wa = all_params(a.g, &na);

    rig b;
    rig_open(&b, 1, 11);
    ddgan_status_t lst = ddgan_trainer_load(b.tr, ck);
    if (lst != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(lst, DDGAN_OK);
    int64_t pos[DDGAN_DATASET_STATE_LEN];
    assert_int_equal(ddgan_dataset_get_state(b.ds, pos, DDGAN_DATASET_STATE_LEN), DDGAN_OK);
    assert_int_equal(pos[0] * 6 + pos[1] / BATCH, STEPS_A); /* epoch 0, slot 80 */
    run_steps(&b, STEPS_B, resumed);
    float *wb = all_params(b.g, &nb);
    for (int i = 0; i < STEPS_B; i++)
        assert_true(resumed[i] == straight[STEPS_A + i]);
    assert_int_equal(na, nb);
    assert_memory_equal(wa, wb, na * sizeof(float));
    free(wa);
    free(wb);
    rig_close(&b);

    /* another dataset (other size) refuses the position and changes nothing */
    rig c;
    rig_open(&c, 0, 11);
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_GRID25;
    dc.num_examples = 64;
    assert_int_equal(ddgan_dataset_open(&c.ds, &dc), DDGAN_OK);
    assert_int_equal(ddgan_trainer_attach_dataset(c.tr, c.ds), DDGAN_OK);
    tu_assert_status(ddgan_trainer_load(c.tr, ck), DDGAN_ERR_INVALID_ARGUMENT, "data-loader position");
    assert_int_equal(ddgan_trainer_global_step(c.tr), 0);
    int64_t ep = -1, idx = -1;
    assert_int_equal(ddgan_dataset_get_position(c.ds, &ep, &idx), DDGAN_OK);
    assert_true(ep == 0 && idx == 0);
    /* detached: the same file loads and the loader is not consulted */
    assert_int_equal(ddgan_trainer_attach_dataset(c.tr, NULL), DDGAN_OK);
    assert_int_equal(ddgan_trainer_load(c.tr, ck), DDGAN_OK);
    assert_int_equal(ddgan_trainer_global_step(c.tr), STEPS_A);
    rig_close(&c);
    rig_close(&a);
    remove(ck);
    tu_rmdir_recursive(dir);
    free(ck);
    free(dir);
}

static void test_metadata(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char *ck = path_in(dir, "ck.safetensors");
    rig r;
    rig_open(&r, 0, 0);
    assert_int_equal(ddgan_trainer_set_metadata(r.tr, "run", "{\"preset\": \"x\"}"), DDGAN_OK);
    assert_int_equal(ddgan_trainer_set_metadata(r.tr, "run", "{\"preset\": \"toy25\"}"), DDGAN_OK);
    assert_int_equal(ddgan_trainer_set_metadata(r.tr, "note", "gone"), DDGAN_OK);
    assert_int_equal(ddgan_trainer_set_metadata(r.tr, "note", NULL), DDGAN_OK);
    tu_assert_status(ddgan_trainer_set_metadata(r.tr, "config", "x"), DDGAN_ERR_INVALID_ARGUMENT, "config");
    tu_assert_status(ddgan_trainer_set_metadata(r.tr, "", "x"), DDGAN_ERR_INVALID_ARGUMENT, "key");
    tu_assert_status(ddgan_trainer_set_metadata(NULL, "k", "x"), DDGAN_ERR_INVALID_ARGUMENT, "NULL");
    assert_int_equal(ddgan_trainer_save(r.tr, ck), DDGAN_OK);

    char buf[64];
    size_t len = 0;
    assert_int_equal(ddgan_file_metadata(ck, "run", buf, sizeof buf, &len), DDGAN_OK);
    assert_string_equal(buf, "{\"preset\": \"toy25\"}");
    assert_int_equal(len, strlen(buf));
    assert_int_equal(ddgan_file_metadata(ck, "format", NULL, 0, &len), DDGAN_OK);
    assert_int_equal(len, strlen("ddgan-checkpoint/1"));
    tu_assert_status(ddgan_file_metadata(ck, "format", buf, 4, &len), DDGAN_ERR_INVALID_ARGUMENT, "needs 19");
    assert_int_equal(len, 18);
    tu_assert_status(ddgan_file_metadata(ck, "note", buf, sizeof buf, NULL), DDGAN_ERR_FORMAT, "'note'");
    tu_assert_status(ddgan_file_metadata(ck, NULL, buf, sizeof buf, NULL), DDGAN_ERR_INVALID_ARGUMENT, "key");
    tu_assert_status(ddgan_file_metadata(ck, "run", NULL, 8, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out");
    char *missing = path_in(dir, "missing.safetensors");
    tu_assert_status(ddgan_file_metadata(missing, "run", buf, sizeof buf, NULL), DDGAN_ERR_IO,
                     "missing.safetensors");
    char *junk = path_in(dir, "junk.safetensors");
    assert_int_equal(tu_write_file(junk, "\x05\0\0\0\0\0\0\0{}", 10), 0);
    ddgan_status_t st = ddgan_file_metadata(junk, "run", buf, sizeof buf, NULL);
    assert_int_equal(st, DDGAN_ERR_FORMAT);
    rig_close(&r);
    remove(ck);
    remove(junk);
    tu_rmdir_recursive(dir);
    free(missing);
    free(junk);
    free(ck);
    free(dir);
}

static void test_generator_schedule_config(void **state)
{
    (void)state;
    rig r;
    rig_open(&r, 0, 0);
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.num_timesteps = 99;
    assert_int_equal(ddgan_generator_schedule_config(r.g, &sc), DDGAN_OK);
    assert_int_equal(sc.num_timesteps, 4);
    assert_true(sc.beta_min == 0.1 && sc.beta_max == 20.0 && sc.use_geometric == 0 && sc.kind == 0);
    tu_assert_status(ddgan_generator_schedule_config(r.g, NULL), DDGAN_ERR_INVALID_ARGUMENT, "out");
    tu_assert_status(ddgan_generator_schedule_config(NULL, &sc), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    sc.struct_size = 3;
    tu_assert_status(ddgan_generator_schedule_config(r.g, &sc), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_same_batches),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_generator_schedule_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
