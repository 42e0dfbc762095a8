/* Fuzz target: checkpoint loading (lib/train/checkpoint.c, lib/model/weights.c,
 * the handle loaders): ddgan_trainer_load into a live toy trainer, and
 * ddgan_generator_load_prefixed / ddgan_discriminator_load_prefixed on the
 * same file. A failed trainer_load must leave the trainer untouched; a
 * successful one must leave it able to step.
 *
 * The context has a memory limit so a config asking for a huge network is
 * refused cleanly (DDGAN_ERR_OUT_OF_MEMORY) instead of exhausting the fuzzer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"

static ddgan_context_t g_ctx;
static ddgan_generator_t g_gen;
static ddgan_discriminator_t g_disc;
static ddgan_schedule_t g_sched;
static ddgan_trainer_t g_tr;
static ddgan_dataset_t g_ds;

static const char k_gen[] = "{\"cls\": \"ToyMLP\", \"hidden_dim\": 8, \"n_hidden\": 1, \"nz\": 2, "
                            "\"t_emb_dim\": 4, \"num_timesteps\": 2}";
static const char k_disc[] = "{\"cls\": \"ToyMLP\", \"hidden_dim\": 8, \"n_hidden\": 1, \"t_emb_dim\": 4}";

static void setup(void)
{
    if (g_tr)
        return;
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = "ref";
    cc.seed = 7;
    cc.num_threads = 1;
    cc.memory_limit = (size_t)64 << 20;
    FZ_ASSERT(ddgan_context_create(&g_ctx, &cc) == DDGAN_OK, "context");
    FZ_ASSERT(ddgan_generator_create_json(&g_gen, g_ctx, k_gen) == DDGAN_OK, "generator");
    FZ_ASSERT(ddgan_discriminator_create_json(&g_disc, g_ctx, k_disc) == DDGAN_OK, "discriminator");
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.num_timesteps = 2;
    FZ_ASSERT(ddgan_schedule_create(&g_sched, g_ctx, &sc) == DDGAN_OK, "schedule");
    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = 4;
    tc.use_ema = 1;
    tc.lazy_reg = 2;
    FZ_ASSERT(ddgan_trainer_create(&g_tr, g_gen, g_disc, g_sched, &tc) == DDGAN_OK, "trainer");
    /* an attached loader: checkpoints carry "data.state", and loading checks it */
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_GRID25;
    dc.num_examples = 64;
    FZ_ASSERT(ddgan_dataset_open(&g_ds, &dc) == DDGAN_OK, "dataset");
    FZ_ASSERT(ddgan_trainer_attach_dataset(g_tr, g_ds) == DDGAN_OK, "attach dataset");
    FZ_ASSERT(ddgan_trainer_set_metadata(g_tr, "note", "fuzz seed") == DDGAN_OK, "metadata");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    const char *path = fz_write_input(data, size, ".safetensors");
    static const float x0[8] = {0.5f, -0.25f, 1.0f, 2.0f, -1.5f, 0.0f, 0.75f, -2.0f};

    /* caller metadata as ddgan_file_metadata reads it: length query, then the value */
    size_t len = 0;
    ddgan_status_t mst = ddgan_file_metadata(path, "note", NULL, 0, &len);
    fz_check_failure(mst, "file_metadata(length)");
    if (mst == DDGAN_OK && len < 4096) {
        char buf[4096];
        size_t len2 = 0;
        FZ_ASSERT(ddgan_file_metadata(path, "note", buf, len + 1, &len2) == DDGAN_OK && len2 == len &&
                      buf[len] == '\0',
                  "file_metadata(value)");
    }

    const int64_t before = ddgan_trainer_global_step(g_tr);
    ddgan_status_t st = ddgan_trainer_load(g_tr, path);
    fz_check_failure(st, "trainer_load");
    if (st != DDGAN_OK) {
        FZ_ASSERT(ddgan_trainer_global_step(g_tr) == before, "failed load changed the trainer");
    } else {
        FZ_ASSERT(ddgan_trainer_global_step(g_tr) >= 0, "loaded step is non-negative");
        /* loaded values may be anything finite or not: the step reports, never crashes */
        fz_check_failure(ddgan_trainer_step(g_tr, x0, 4, NULL), "trainer_step after load");
        /* keep the harness's own state small and valid for the next input */
        FZ_ASSERT(ddgan_trainer_set_global_step(g_tr, 0) == DDGAN_OK, "reset step");
    }

    static const char *const prefixes[] = {"G_ema.", "G.", NULL};
    for (int i = 0; i < 3; i++) {
        ddgan_generator_t g = NULL;
        st = ddgan_generator_load_prefixed(&g, g_ctx, path, prefixes[i], NULL);
        fz_check_failure(st, "generator_load_prefixed");
        FZ_ASSERT((st == DDGAN_OK) == (g != NULL), "out set only on success");
        if (st == DDGAN_OK) {
            int c = 0, h = 0, w = 0, nz = 0;
            FZ_ASSERT(ddgan_generator_shape(g, &c, &h, &w, &nz) == DDGAN_OK, "shape");
            FZ_ASSERT(ddgan_generator_config_json(g)[0] == '{', "config json");
        }
        ddgan_generator_destroy(g);
    }
    ddgan_discriminator_t d = NULL;
    st = ddgan_discriminator_load_prefixed(&d, g_ctx, path, "D.", "D_config");
    fz_check_failure(st, "discriminator_load_prefixed");
    ddgan_discriminator_destroy(d);
    return 0;
}

int fz_make_seeds(const char *dir)
{
    setup();
    static const float x0[8] = {0.5f, -0.25f, 1.0f, 2.0f, -1.5f, 0.0f, 0.75f, -2.0f};
    for (int i = 0; i < 3; i++)
        if (ddgan_trainer_step(g_tr, x0, 4, NULL) != DDGAN_OK)
            return 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/trainer.safetensors", dir);
    if (ddgan_trainer_save(g_tr, path) != DDGAN_OK)
        return 1;
    snprintf(path, sizeof path, "%s/generator.safetensors", dir);
    if (ddgan_generator_save(g_gen, path) != DDGAN_OK)
        return 1;
    snprintf(path, sizeof path, "%s/discriminator.safetensors", dir);
    if (ddgan_discriminator_save(g_disc, path) != DDGAN_OK)
        return 1;
    return 0;
}
