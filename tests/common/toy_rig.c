#include "toy_rig.h"

#include <stdlib.h>
#include <string.h>

static const char k_gen[] = "{\"cls\": \"ToyMLP\", \"hidden_dim\": 16, \"n_hidden\": 2, \"nz\": 2, "
                            "\"t_emb_dim\": 8, \"num_timesteps\": 2, \"data_scale\": 2.0}";
static const char k_disc[] = "{\"cls\": \"ToyMLP\", \"hidden_dim\": 16, \"n_hidden\": 2, \"t_emb_dim\": 8}";

ddgan_status_t tr_rig_make(tr_rig *r, uint64_t seed, int num_threads)
{
    memset(r, 0, sizeof *r);
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = "ref";
    cc.seed = seed;
    cc.num_threads = num_threads;
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.num_timesteps = 2;
    ddgan_trainer_config tc;
    ddgan_trainer_config_init(&tc, sizeof tc);
    tc.batch_size = TR_BATCH;
    tc.use_ema = 1;
    tc.lazy_reg = 2;
    tc.seed = seed + 1;
    ddgan_status_t st = ddgan_context_create(&r->ctx, &cc);
    if (st == DDGAN_OK)
        st = ddgan_schedule_create(&r->s, r->ctx, &sc);
    if (st == DDGAN_OK)
        st = ddgan_generator_create_json(&r->g, r->ctx, k_gen);
    if (st == DDGAN_OK)
        st = ddgan_discriminator_create_json(&r->d, r->ctx, k_disc);
    if (st == DDGAN_OK)
        st = ddgan_trainer_create(&r->tr, r->g, r->d, r->s, &tc);
    if (st != DDGAN_OK)
        tr_rig_free(r);
    return st;
}

void tr_rig_free(tr_rig *r)
{
    ddgan_trainer_destroy(r->tr);
    ddgan_generator_destroy(r->g);
    ddgan_discriminator_destroy(r->d);
    ddgan_schedule_destroy(r->s);
    ddgan_context_destroy(r->ctx);
    memset(r, 0, sizeof *r);
}

void tr_rig_batch(int64_t step, float *x)
{
    /* points near (+-1, +-1), varied by step: no RNG shared with anything else */
    for (int i = 0; i < TR_BATCH; i++) {
        const uint64_t k = (uint64_t)step * 2654435761u + (uint64_t)i * 40503u;
        x[2 * i] = (k & 1 ? 1.0f : -1.0f) + (float)((k >> 8) % 97) / 970.0f;
        x[2 * i + 1] = (k & 2 ? 1.0f : -1.0f) - (float)((k >> 16) % 89) / 890.0f;
    }
}

ddgan_status_t tr_rig_run_to(tr_rig *r, int64_t to)
{
    float x[2 * TR_BATCH];
    for (int64_t s = ddgan_trainer_global_step(r->tr); s < to; s++) {
        tr_rig_batch(s, x);
        ddgan_status_t st = ddgan_trainer_step(r->tr, x, TR_BATCH, NULL);
        if (st != DDGAN_OK)
            return st;
    }
    return DDGAN_OK;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t tr_rig_hash(const tr_rig *r)
{
    uint64_t h = 1469598103934665603ull;
    const int64_t step = ddgan_trainer_global_step(r->tr);
    h = fnv(h, &step, sizeof step);
    for (int net = 0; net < 2; net++) {
        const size_t n = net ? ddgan_discriminator_num_tensors(r->d) : ddgan_generator_num_tensors(r->g);
        for (size_t i = 0; i < n; i++) {
            ddgan_tensor_info ti;
            ddgan_tensor_info_init(&ti, sizeof ti);
            if (net ? ddgan_discriminator_tensor_info(r->d, i, &ti) : ddgan_generator_tensor_info(r->g, i, &ti))
                return 0;
            float *v = malloc(ti.numel * sizeof *v);
            if (!v)
                return 0;
            ddgan_status_t st = net ? ddgan_discriminator_get_param(r->d, ti.name, v, ti.numel)
                                    : ddgan_generator_get_param(r->g, ti.name, v, ti.numel);
            if (st == DDGAN_OK)
                h = fnv(fnv(h, ti.name, strlen(ti.name)), v, ti.numel * sizeof *v);
            free(v);
            if (st != DDGAN_OK)
                return 0;
        }
    }
    return h;
}
