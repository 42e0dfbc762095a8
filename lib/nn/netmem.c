#include "nn/netmem.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

static int count_sets(unsigned sets)
{
    return !!(sets & DDGAN_BUF_PARAMS) + !!(sets & DDGAN_BUF_GRADS) + 2 * !!(sets & DDGAN_BUF_ADAM) +
           !!(sets & DDGAN_BUF_EMA);
}

size_t ddgan__netmem_param_bytes(size_t n_params, ddgan_dtype dt, unsigned sets)
{
    return (size_t)count_sets(sets) * n_params * ddgan_dtype_size(dt);
}

static ddgan_status_t alloc_zero(ddgan_netmem *m, void **p, size_t bytes)
{
    DDGAN_TRY(m->be->ops->alloc(m->be, bytes, p));
    ddgan_status_t st = m->be->ops->fill_f32(m->be, *p, 0.0f, bytes / sizeof(float));
    if (st != DDGAN_OK) {
        m->be->ops->free(m->be, *p);
        *p = NULL;
    }
    return st;
}

ddgan_status_t ddgan__netmem_init(ddgan_netmem *m, ddgan_backend *be, ddgan_dtype dt,
                                  size_t n_params, unsigned sets)
{
    memset(m, 0, sizeof *m);
    m->be = be;
    m->dt = dt;
    m->n_params = n_params;
    size_t bytes;
    if (!ddgan__mul_size(n_params ? n_params : 1, ddgan_dtype_size(dt), &bytes))
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "network: %zu parameters overflow", n_params);
    void **slots[5] = {&m->params, &m->grads, &m->adam_m, &m->adam_v, &m->ema};
    const unsigned want[5] = {DDGAN_BUF_PARAMS, DDGAN_BUF_GRADS, DDGAN_BUF_ADAM, DDGAN_BUF_ADAM,
                              DDGAN_BUF_EMA};
    for (int i = 0; i < 5; i++) {
        if (!(sets & want[i]))
            continue;
        ddgan_status_t st = alloc_zero(m, slots[i], bytes);
        if (st != DDGAN_OK) {
            ddgan__netmem_free(m);
            return st;
        }
    }
    return DDGAN_OK;
}

void ddgan__netmem_free(ddgan_netmem *m)
{
    if (!m->be)
        return;
    void *bufs[6] = {m->params, m->grads, m->adam_m, m->adam_v, m->ema, m->arena.base};
    for (int i = 0; i < 6; i++)
        if (bufs[i])
            m->be->ops->free(m->be, bufs[i]);
    memset(m, 0, sizeof *m);
}

ddgan_exec ddgan__netmem_exec(ddgan_netmem *m, int with_grads)
{
    ddgan_exec ex;
    memset(&ex, 0, sizeof ex);
    ex.be = m->be;
    ex.k = m->be->ops->compute;
    ex.dt = m->dt;
    ex.dsz = ddgan_dtype_size(m->dt);
    ex.arena = &m->arena;
    ex.params = m->params;
    ex.grads = with_grads ? m->grads : NULL;
    return ex;
}

void ddgan__netmem_plan_begin(ddgan_netmem *m)
{
    m->arena.planning = 1;
    m->arena.used = 0;
    m->arena.peak = 0;
}

ddgan_status_t ddgan__netmem_plan_end(ddgan_netmem *m, size_t *bytes)
{
    const size_t need = m->arena.peak;
    m->arena.planning = 0;
    m->arena.used = 0;
    if (bytes)
        *bytes = need;
    if (need <= m->arena.cap && m->arena.base)
        return DDGAN_OK;
    void *p = NULL;
    DDGAN_TRY(m->be->ops->alloc(m->be, need ? need : DDGAN_ARENA_ALIGN, &p));
    if (m->arena.base)
        m->be->ops->free(m->be, m->arena.base);
    m->arena.base = p;
    m->arena.cap = need;
    return DDGAN_OK;
}
