/* The trainer's view of its networks: one call per operation whatever the
 * network class (NCSN++ / Discriminator_small/large / ToyMLP), on device
 * tensors, with explicit execs (params, grads or frozen). */
#ifndef DDGAN_TRAIN_NETOPS_H
#define DDGAN_TRAIN_NETOPS_H

#include "model/handles.h"

/* Activation records the trainer keeps (host structs; tensors live in the arena). */
typedef struct ddgan_d_record {
    ddgan_disc_acts img;
    ddgan_toy_acts toy;
} ddgan_d_record;

typedef struct ddgan_g_record {
    ddgan_gen_acts *img;
    ddgan_toy_acts toy;
} ddgan_g_record;

/* x0 = G(x, t, z); rec may be NULL (no backward will follow). */
ddgan_status_t ddgan__net_g_forward(ddgan_exec *ex, ddgan_generator_t g, const ddgan_tensor *x,
                                    const int64_t *t, const ddgan_tensor *z, ddgan_g_record *rec,
                                    ddgan_tensor *x0);
ddgan_status_t ddgan__net_g_backward(ddgan_exec *ex, ddgan_generator_t g, ddgan_g_record *rec,
                                     const ddgan_tensor *dx0);
/* logits (rec's tensor) = D(x_prev, t, x_t) */
ddgan_status_t ddgan__net_d_forward(ddgan_exec *ex, ddgan_discriminator_t d, const ddgan_tensor *x_prev,
                                    const int64_t *t, const ddgan_tensor *x_t, ddgan_d_record *rec,
                                    ddgan_tensor *logits);
ddgan_status_t ddgan__net_d_backward(ddgan_exec *ex, ddgan_discriminator_t d, ddgan_d_record *rec,
                                     const ddgan_tensor *dlogits, ddgan_tensor *dx_prev);
ddgan_status_t ddgan__net_d_r1(ddgan_exec *ex, ddgan_discriminator_t d, ddgan_d_record *rec,
                               double gamma, double *penalty);
/* Makes sure the networks accept batches up to `batch`. */
ddgan_status_t ddgan__net_set_max_batch(ddgan_generator_t g, ddgan_discriminator_t d, int batch);

#endif
