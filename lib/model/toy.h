/*
 * The 2-D toy networks ("cls": "ToyMLP"), for the mode-coverage experiments
 * on 2-D data (25-Gaussian grid, 8-Gaussian ring): an MLP generator
 * G(x_t, z, t) -> x0 prediction and an MLP discriminator
 * D(x_prev, x_t, t) -> logit with the exact R1 gradient (docs/r1.md).
 * Architecture, parameter names, initialisation and the data scaling the
 * trainer applies: docs/toy.md. Internal API with the shape of the image
 * networks' (model/generator.h, model/discriminator.h); the public handles
 * wrap it.
 *
 * Data are [B, data_dim] viewed as [B, data_dim, 1, 1]; every tensor here
 * is a dense vector [B, c, 1, 1]. The networks work in diffusion units
 * (data / data_scale); they never apply data_scale themselves.
 */
#ifndef DDGAN_MODEL_TOY_H
#define DDGAN_MODEL_TOY_H

#include "nn/layers.h"

#define DDGAN_TOY_MAX_HIDDEN 8
#define DDGAN_TOY_MAX_DIM 65536 /* bound on data_dim, nz, hidden_dim, t_emb_dim */

/* One config for both networks (JSON keys = field names; D ignores nz). */
typedef struct ddgan_toy_config {
    int data_dim;       /* 2 */
    int nz;             /* G's latent size, >= 1 (D: ignored) */
    int hidden_dim;     /* width of every hidden layer */
    int n_hidden;       /* hidden layers, 3 (1..DDGAN_TOY_MAX_HIDDEN) */
    int t_emb_dim;      /* sinusoidal embedding size and time-MLP width, >= 4 */
    double lrelu_slope; /* LeakyReLU negative slope, 0.2 (in [0, 1)) */
    double data_scale;  /* data units per diffusion unit (> 0): carried with the
                           weights for the trainer and the sampler, unused by the
                           networks (docs/toy.md) */
} ddgan_toy_config;

/* data_dim 2, nz 2, hidden_dim 128, n_hidden 3, t_emb_dim 32, lrelu_slope 0.2,
 * data_scale 4 (the 25-Gaussian grid; docs/toy.md gives the ring's). */
void ddgan__toy_config_defaults(ddgan_toy_config *c);

/* Validates a config for G (is_disc 0, checks nz) or D; messages name the
 * option and its value ("ToyMLP: hidden_dim 0 not in [1, 65536]"). */
ddgan_status_t ddgan__toy_config_check(const ddgan_toy_config *c, int is_disc);

typedef struct ddgan_toy_net {
    ddgan_toy_config cfg;
    int is_disc;
    int in_dim;  /* features into net.0: data_dim + nz (G) or 2 data_dim (D), + t_emb_dim */
    int out_dim; /* data_dim (G) or 1 (D) */
    int max_batch;
    ddgan_param_table pt;
    ddgan_temb temb;
    ddgan_dense t_dense1, t_dense2;               /* t_embed.0, t_embed.2 */
    ddgan_dense layers[DDGAN_TOY_MAX_HIDDEN + 1]; /* net.0, net.2, ..., net.<2 n_hidden> */
} ddgan_toy_net;

/* Activations of one forward pass, kept for the backward and the R1 sweep. */
typedef struct ddgan_toy_acts {
    int batch;
    ddgan_tensor e, t1, t1a, tembed; /* E(t), t_embed.0, LeakyReLU, t_embed.2 */
    ddgan_tensor xin;                /* cat([x_t, z]) (G) or cat([x_prev, x_t]) (D) */
    ddgan_tensor in;                 /* cat([xin, tembed]) */
    ddgan_tensor pre[DDGAN_TOY_MAX_HIDDEN], act[DDGAN_TOY_MAX_HIDDEN];
    ddgan_tensor out;                /* x0 [B, data_dim, 1, 1] (G) or logits [B, 1, 1, 1] (D) */
} ddgan_toy_acts;

/* Builds G / D (parameter table in the order of docs/toy.md); max_batch
 * bounds every later batch. */
ddgan_status_t ddgan__toy_gen_init(ddgan_toy_net *net, const ddgan_toy_config *cfg, int max_batch,
                                   ddgan_dtype dt);
ddgan_status_t ddgan__toy_disc_init(ddgan_toy_net *net, const ddgan_toy_config *cfg, int max_batch,
                                    ddgan_dtype dt);
void ddgan__toy_free(ddgan_toy_net *net);

/* x0 [B, data_dim, 1, 1] = G(x_t [B, data_dim, 1, 1], t (host, B), z [B, nz, 1, 1])
 * (linear output). `acts` may be NULL when no backward follows (sampling). */
ddgan_status_t ddgan__toy_gen_forward(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_tensor *x_t,
                                      const int64_t *t, const ddgan_tensor *z, ddgan_toy_acts *acts,
                                      ddgan_tensor *x0);

/* Backward from dx0 [B, data_dim, 1, 1]: parameter gradients accumulate into
 * ex->grads (nothing to do when it is NULL). */
ddgan_status_t ddgan__toy_gen_backward(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_toy_acts *acts,
                                       const ddgan_tensor *dx0);

/* logits [B, 1, 1, 1] (in a->out) = D(x_prev, t, x_t); t is a host array. */
ddgan_status_t ddgan__toy_disc_forward(ddgan_exec *ex, ddgan_toy_net *net,
                                       const ddgan_tensor *x_prev, const int64_t *t,
                                       const ddgan_tensor *x_t, ddgan_toy_acts *a);

/* Backward from dlogits [B, 1]: weight gradients accumulate into ex->grads
 * (if set); dx_prev (may be NULL) receives the gradient w.r.t. x_prev
 * (ddgan__grad_target convention: data NULL = allocate, set = accumulate). */
ddgan_status_t ddgan__toy_disc_backward(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_toy_acts *a,
                                        const ddgan_tensor *dlogits, ddgan_tensor *dx_prev);

/* R1 after a forward: penalty = gamma/2 * mean_b ||d(sum D)/d x_prev_b||^2;
 * its exact parameter gradient is ADDED to ex->grads (skipped when NULL).
 * grad_x_prev (may be NULL; data NULL = allocate, set = overwritten) receives
 * d(sum D)/d x_prev.
 * *penalty is computed on the host (0 while planning). */
ddgan_status_t ddgan__toy_disc_r1(ddgan_exec *ex, ddgan_toy_net *net, const ddgan_toy_acts *a,
                                  double gamma, ddgan_tensor *grad_x_prev, double *penalty);

/* Forward FLOPs per example (2 x MACs of the dense layers). */
double ddgan__toy_flops(const ddgan_toy_net *net);

#endif
