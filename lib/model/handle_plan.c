/* Plan-once-per-key of a network handle's arena (model/handles.h). */
#include <string.h>

#include "model/handles.h"

int ddgan__handle_plan_begin(ddgan_netmem *m, const ddgan_plan_key *plan, const ddgan_plan_key *key)
{
    if (memcmp(key, plan, sizeof *key) == 0)
        return 0;
    ddgan__netmem_plan_begin(m);
    return 1;
}

ddgan_status_t ddgan__handle_plan_end(ddgan_netmem *m, ddgan_plan_key *plan, const ddgan_plan_key *key,
                                      ddgan_status_t planned)
{
    ddgan_status_t st = planned;
    if (st == DDGAN_OK)
        st = ddgan__netmem_plan_end(m, NULL);
    else
        m->arena.planning = 0;
    if (st != DDGAN_OK) {
        memset(plan, 0, sizeof *plan);
        return st;
    }
    *plan = *key;
    return DDGAN_OK;
}
