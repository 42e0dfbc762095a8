/*
 * Device memory of one network: the flat parameter-table buffers
 * (parameters, gradients, optionally Adam moments and EMA weights) and the
 * planned activation arena. Planning is a dry run of the layer code with the
 * arena in planning mode (nn/exec.h); its peak is then allocated once, so the
 * planned size can be queried before anything is allocated, and running the
 * network afterwards allocates nothing.
 */
#ifndef DDGAN_NN_NETMEM_H
#define DDGAN_NN_NETMEM_H

#include "nn/exec.h"

typedef enum ddgan_buffer_set {
    DDGAN_BUF_PARAMS = 1u,
    DDGAN_BUF_GRADS = 2u,
    DDGAN_BUF_ADAM = 4u, /* m and v */
    DDGAN_BUF_EMA = 8u
} ddgan_buffer_set;

typedef struct ddgan_netmem {
    ddgan_backend *be;
    ddgan_dtype dt;
    size_t n_params; /* elements per buffer */
    void *params, *grads, *adam_m, *adam_v, *ema;
    ddgan_arena arena;
} ddgan_netmem;

/* Bytes the buffers of `sets` need for n_params elements. */
size_t ddgan__netmem_param_bytes(size_t n_params, ddgan_dtype dt, unsigned sets);

/* Allocates (zero-filled) the buffers of `sets`. On failure nothing stays allocated. */
ddgan_status_t ddgan__netmem_init(ddgan_netmem *m, ddgan_backend *be, ddgan_dtype dt,
                                  size_t n_params, unsigned sets);
void ddgan__netmem_free(ddgan_netmem *m);

/* An exec over this memory (grads NULL unless with_grads). */
ddgan_exec ddgan__netmem_exec(ddgan_netmem *m, int with_grads);

/* Starts a planning dry run (the arena hands out placeholders). */
void ddgan__netmem_plan_begin(ddgan_netmem *m);
/* Ends it: the arena becomes at least the planned peak (reallocated only
 * when it grows). *bytes (may be NULL) receives the planned arena size. */
ddgan_status_t ddgan__netmem_plan_end(ddgan_netmem *m, size_t *bytes);

#endif
