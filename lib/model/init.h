/* The official weight initialisation (reference section 4) over a parameter
 * table, drawn from a Philox stream of the context seed. The distributions
 * follow the official helpers exactly; the random numbers are ours (PyTorch's
 * generator is not reproduced), so an initialised network is a sample of the
 * same distribution, not the same weights. */
#ifndef DDGAN_MODEL_INIT_H
#define DDGAN_MODEL_INIT_H

#include "nn/params.h"

/* Fills host array `out` (t->total elements, gaps zero) with the initial
 * values of every parameter; draws come from Philox stream `stream` of
 * `seed`, one block range per tensor in table order. */
ddgan_status_t ddgan__init_params(const ddgan_param_table *t, uint64_t seed, uint64_t stream,
                                  double *out);

/* Bound of the uniform init of parameter p (0 for non-uniform kinds). */
double ddgan__init_bound(const ddgan_param *p);

#endif
