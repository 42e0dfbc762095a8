/*
 * The time-dependent discriminators of reference section 3
 * (Discriminator_small, Discriminator_large): forward, backward, and the exact
 * R1 gradient (docs/r1.md). Internal API; the public handle wraps it.
 */
#ifndef DDGAN_MODEL_DISCRIMINATOR_H
#define DDGAN_MODEL_DISCRIMINATOR_H

#include "nn/layers.h"

#define DDGAN_DISC_MAX_BLOCKS 6

typedef struct ddgan_disc_config {
    int large;     /* 0: Discriminator_small (4 blocks), 1: Discriminator_large (6 blocks) */
    int nc;        /* input channels = 2 x image channels */
    int ngf;
    int t_emb_dim;
    double lrelu_slope; /* 0.2 */
    int image_size;     /* H = W of the inputs (the API needs it; the network accepts any size
                           divisible by 2^downsamplings) */
} ddgan_disc_config;

typedef struct ddgan_dblock {
    int c_in, c_out, down;
    ddgan_conv conv1, conv2, skip;
    ddgan_dense dense_t1;
} ddgan_dblock;

typedef struct ddgan_disc_net {
    ddgan_disc_config cfg;
    ddgan_param_table pt;
    ddgan_dense t_dense1, t_dense2;
    ddgan_conv start_conv;
    ddgan_dblock blocks[DDGAN_DISC_MAX_BLOCKS];
    int nblocks;
    ddgan_conv final_conv;
    ddgan_dense end_linear;
    ddgan_fir fir;
    ddgan_temb temb;
} ddgan_disc_net;

/* Activations of one forward pass, kept for the backward and the R1 sweeps.
 * A block keeps its input, conv1's output (+ dense_t1), its output and, when
 * it downsamples, the downsampled lrelu(c1) and x (a1d, xd; without
 * downsampling a1d is not kept and xd is x); the backward recomputes
 * lrelu(x) and lrelu(c1) (memory, see block_forward in discriminator.c). */
typedef struct ddgan_dblock_acts {
    ddgan_tensor x, c1, a1d, xd, out;
} ddgan_dblock_acts;

typedef struct ddgan_disc_acts {
    int batch;
    ddgan_tensor e, t1, t1a, t2, tembed; /* time path: E(t), dense_1, lrelu, dense_2, lrelu */
    ddgan_tensor xin, h0;                /* cat([x_prev, x_t]), start_conv */
    ddgan_dblock_acts b[DDGAN_DISC_MAX_BLOCKS];
    ddgan_mbstd_saved mb;
    ddgan_tensor mbout, f, fa, pooled, logits;
} ddgan_disc_acts;

/* Builds the network (parameter table in official state_dict order). */
ddgan_status_t ddgan__disc_init(ddgan_disc_net *net, const ddgan_disc_config *cfg, int max_batch,
                                ddgan_dtype dt);
void ddgan__disc_free(ddgan_disc_net *net);

/* logits [B, 1] = D(x_prev, t, x_t); t is a host array. */
ddgan_status_t ddgan__disc_forward(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_tensor *x_prev,
                                   const int64_t *t, const ddgan_tensor *x_t, ddgan_disc_acts *a);

/* Backward from dlogits [B, 1]: weight gradients accumulate into ex->grads
 * (if set); dx_prev (may be NULL) receives the gradient w.r.t. x_prev. */
ddgan_status_t ddgan__disc_backward(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_disc_acts *a,
                                    const ddgan_tensor *dlogits, ddgan_tensor *dx_prev);

/* R1 after a forward: penalty = gamma/2 * mean_b ||d(sum D)/d x_prev_b||^2;
 * its exact parameter gradient is ADDED to ex->grads. grad_x_prev (may be
 * NULL) receives d(sum D)/d x_prev. *penalty is computed on the host. */
ddgan_status_t ddgan__disc_r1(ddgan_exec *ex, ddgan_disc_net *net, const ddgan_disc_acts *a,
                              double gamma, ddgan_tensor *grad_x_prev, double *penalty);

#endif
