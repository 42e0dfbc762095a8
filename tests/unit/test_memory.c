/* Memory planning: the activation arena is sized by a dry run, a planned
 * run allocates nothing (counting allocator), the plan can be queried before
 * allocating, and too little memory is a clean DDGAN_ERR_OUT_OF_MEMORY. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/context.h"
#include "model/discriminator.h"
#include "nn/netmem.h"

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

static const ddgan_disc_config k_cfg = {0, 2, 4, 32, 0.2, 16};

/* Forward + backward + R1 of the discriminator, the heaviest step pattern. */
static ddgan_status_t d_step(ddgan_netmem *m, ddgan_disc_net *net, int batch)
{
    ddgan_exec ex = ddgan__netmem_exec(m, 1);
    ddgan__arena_reset(&m->arena);
    static const int64_t t[8] = {0, 1, 2, 3, 3, 2, 1, 0};
    ddgan_tensor xp, xt, dl, dx = {0}, gx = {0};
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xp, batch, 1, 16, 16));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &xt, batch, 1, 16, 16));
    DDGAN_TRY(ddgan__tensor_alloc(&ex, &dl, batch, 1, 1, 1));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &xp));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &xt));
    DDGAN_TRY(ddgan__tensor_zero(&ex, &dl));
    ddgan_disc_acts a;
    DDGAN_TRY(ddgan__disc_forward(&ex, net, &xp, t, &xt, &a));
    DDGAN_TRY(ddgan__disc_backward(&ex, net, &a, &dl, &dx));
    double pen;
    return ddgan__disc_r1(&ex, net, &a, 0.05, &gx, &pen);
}

static void test_planned_step_allocates_nothing(void **state)
{
    (void)state;
    ddgan_context_t ctx = NULL;
    assert_int_equal(ddgan_context_create(&ctx, NULL), DDGAN_OK);
    ddgan_disc_net net;
    assert_int_equal(ddgan__disc_init(&net, &k_cfg, 8, DDGAN_DT_F32), DDGAN_OK);
    ddgan_netmem m;
    assert_int_equal(ddgan__netmem_init(&m, ctx->backend, DDGAN_DT_F32, net.pt.total,
                                        DDGAN_BUF_PARAMS | DDGAN_BUF_GRADS), DDGAN_OK);
    ddgan__netmem_plan_begin(&m);
    assert_int_equal(d_step(&m, &net, 8), DDGAN_OK);
    size_t planned = 0;
    assert_int_equal(ddgan__netmem_plan_end(&m, &planned), DDGAN_OK);
    print_message("    planned activation arena for D (ngf 4, 16x16, batch 8): %zu bytes\n", planned);
    assert_true(planned > 0);

    ddgan_alloc_hooks hooks = {count_malloc, count_free, NULL};
    ddgan__alloc_set_hooks(&hooks);
    g_allocs = 0;
    ddgan_status_t st = d_step(&m, &net, 8);
    st = st == DDGAN_OK ? d_step(&m, &net, 8) : st;
    /* a smaller batch fits the same plan */
    st = st == DDGAN_OK ? d_step(&m, &net, 4) : st;
    ddgan__alloc_set_hooks(NULL);
    assert_int_equal(st, DDGAN_OK);
    assert_int_equal(g_allocs, 0);
    assert_true(m.arena.peak <= planned);

    ddgan__netmem_free(&m);
    ddgan__disc_free(&net);
    ddgan_context_destroy(ctx);
}

static void test_memory_limit_is_a_clean_error(void **state)
{
    (void)state;
    ddgan_disc_net net;
    assert_int_equal(ddgan__disc_init(&net, &k_cfg, 8, DDGAN_DT_F32), DDGAN_OK);
    /* plan on an unlimited context to learn the need */
    ddgan_context_t big = NULL;
    assert_int_equal(ddgan_context_create(&big, NULL), DDGAN_OK);
    ddgan_netmem m;
    const unsigned sets = DDGAN_BUF_PARAMS | DDGAN_BUF_GRADS;
    assert_int_equal(ddgan__netmem_init(&m, big->backend, DDGAN_DT_F32, net.pt.total, sets), DDGAN_OK);
    ddgan__netmem_plan_begin(&m);
    assert_int_equal(d_step(&m, &net, 8), DDGAN_OK);
    size_t planned = 0;
    m.arena.planning = 0; /* query only: nothing allocated yet */
    planned = m.arena.peak;
    const size_t params = ddgan__netmem_param_bytes(net.pt.total, DDGAN_DT_F32, sets);
    ddgan__netmem_free(&m);
    ddgan_context_destroy(big);

    /* a context with less than parameters + plan fails at plan time, cleanly */
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.memory_limit = params + planned / 2;
    ddgan_context_t small = NULL;
    assert_int_equal(ddgan_context_create(&small, &cfg), DDGAN_OK);
    assert_int_equal(ddgan__netmem_init(&m, small->backend, DDGAN_DT_F32, net.pt.total, sets), DDGAN_OK);
    ddgan__netmem_plan_begin(&m);
    assert_int_equal(d_step(&m, &net, 8), DDGAN_OK);
    tu_assert_status(ddgan__netmem_plan_end(&m, NULL), DDGAN_ERR_OUT_OF_MEMORY, "memory_limit");
    ddgan__netmem_free(&m);
    /* too little even for the parameters */
    cfg.memory_limit = params / 3;
    ddgan_context_destroy(small);
    assert_int_equal(ddgan_context_create(&small, &cfg), DDGAN_OK);
    tu_assert_status(ddgan__netmem_init(&m, small->backend, DDGAN_DT_F32, net.pt.total, sets),
                     DDGAN_ERR_OUT_OF_MEMORY, "exceed");
    ddgan_context_destroy(small);
    /* and exactly enough works */
    cfg.memory_limit = params + planned;
    assert_int_equal(ddgan_context_create(&small, &cfg), DDGAN_OK);
    assert_int_equal(ddgan__netmem_init(&m, small->backend, DDGAN_DT_F32, net.pt.total, sets), DDGAN_OK);
    ddgan__netmem_plan_begin(&m);
    assert_int_equal(d_step(&m, &net, 8), DDGAN_OK);
    assert_int_equal(ddgan__netmem_plan_end(&m, NULL), DDGAN_OK);
    assert_int_equal(d_step(&m, &net, 8), DDGAN_OK);
    ddgan__netmem_free(&m);
    ddgan_context_destroy(small);
    ddgan__disc_free(&net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planned_step_allocates_nothing),
        cmocka_unit_test(test_memory_limit_is_a_clean_error),
    };
    return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
