/*
 * The NCSN++ generator with adaptive group norm (reference section 2):
 * construction in the official module order (= parameter table order),
 * forward, and backward to the parameters. Internal API; the public handle
 * (lib/api/generator_api.c) wraps it.
 *
 * The network is compiled at init into a flat list of nodes in forward order
 * (modules of all_modules plus the parameter-free steps between them: skip
 * concatenations, pyramid resampling, residual sums, activations). Each node
 * output is a "value"; value 0 is the (centred) input image. The skip stack of
 * reference 2.6 is resolved at build time into value ids, so the forward is a
 * loop over the nodes and the backward the same loop reversed, accumulating
 * gradients per value.
 *
 * Supported options (anything else is refused at init with a message naming
 * the option and its value):
 *   resblock_type        "biggan" (AdaGN in both norms), "biggan_oneadagn"
 *                        ("ddpm": DDGAN_ERR_UNSUPPORTED, the official code
 *                        crashes on its up path)
 *   progressive          "none", "output_skip" ("residual": UNSUPPORTED, crashes
 *                        in the official code)
 *   progressive_input    "residual", "input_skip", "none"
 *   progressive_combine  "sum", "cat" (only read with input_skip)
 *   embedding_type       "positional", "fourier" (NaN at t = 0 as officially)
 *   fir                  1 only, fir_kernel of 2..8 taps (fir = 0: UNSUPPORTED)
 *   dropout              0 only (UNSUPPORTED otherwise)
 *   skip_rescale, centered, conditional, not_use_tanh: both values
 *   resamp_with_conv     read by nothing here: the official code only uses it
 *                        for the "ddpm" blocks (the residual input pyramid
 *                        always has its conv)
 */
#ifndef DDGAN_MODEL_GENERATOR_H
#define DDGAN_MODEL_GENERATOR_H

#include "nn/layers.h"

#define DDGAN_GEN_MAX_LEVELS 8
#define DDGAN_GEN_MAX_ATTN 8
#define DDGAN_GEN_MAX_FIR 8
#define DDGAN_GEN_MAX_MODULES 256
#define DDGAN_GEN_MAX_MLP 16 /* dense layers of z_transform (n_mlp + 1) */

/* The official NCSNpp arguments (names as in train_ddgan.py). */
typedef struct ddgan_gen_config {
    int image_size;
    int num_channels;      /* C_img */
    int num_channels_dae;  /* nf */
    int ch_mult[DDGAN_GEN_MAX_LEVELS];
    int n_levels;          /* len(ch_mult) */
    int num_res_blocks;
    int attn_resolutions[DDGAN_GEN_MAX_ATTN];
    int n_attn;
    int nz, z_emb_dim, n_mlp;
    int num_timesteps;     /* carried with the weights (schedule); not read by the network */
    double beta_min, beta_max;
    int use_geometric;
    int centered;          /* 0: x <- 2x - 1 at the input */
    int not_use_tanh;
    int conditional;       /* 0: no time conditioning: the time Linears are not built (module
                            * indices shift by 2), Dense_0 layers exist but are skipped */
    int fir;               /* 1: FIR resampling (only 1 is supported) */
    double fir_kernel[DDGAN_GEN_MAX_FIR];
    int n_fir;
    int skip_rescale;      /* 1: residual merges divided by sqrt 2 */
    int resamp_with_conv;  /* inert for the BigGAN blocks (see above) */
    double dropout;        /* must be 0 (dropout is identity at p = 0) */
    char resblock_type[24];       /* "biggan" | "biggan_oneadagn" | "ddpm" (refused) */
    char progressive[24];         /* "none" | "output_skip" | "residual" (refused) */
    char progressive_input[24];   /* "residual" | "input_skip" | "none" */
    char progressive_combine[24]; /* "sum" | "cat" */
    char embedding_type[24];      /* "positional" | "fourier" */
    double fourier_scale;         /* 16: init std of all_modules.0.W (fourier only) */
} ddgan_gen_config;

/* Fills the official defaults of train_ddgan.py (CIFAR-10 values for what
 * has no default: ch_mult 1 2 2 2). */
void ddgan__gen_config_defaults(ddgan_gen_config *c);

/* One BigGAN++ residual block with AdaGN (reference 2.3; 2.7 for the
 * "oneadagn" variant, whose GroupNorm_1 is a plain affine GroupNorm). */
typedef struct ddgan_gblock {
    int c_in, c_out, up, down, has_skip_conv, one_adagn;
    ddgan_adagn gn0, gn1;
    ddgan_group_norm gn1_plain; /* one_adagn only */
    ddgan_conv conv0, conv1, conv2;
    ddgan_dense dense0;
} ddgan_gblock;

/* Node operations, in forward order. */
typedef enum ddgan_gop {
    DDGAN_GOP_CONV,      /* a convolution module: first conv, Combine.Conv_0, output convs */
    DDGAN_GOP_RESBLOCK,  /* ddgan_gblock, inputs (value, temb, zemb) */
    DDGAN_GOP_ATTN,      /* AttnBlockpp */
    DDGAN_GOP_CONV_DOWN, /* residual input pyramid: FIR blur + 3x3 stride-2 conv (Conv2d_0) */
    DDGAN_GOP_FIR_DOWN,  /* input_skip pyramid: FIR downsample, no parameters */
    DDGAN_GOP_FIR_UP,    /* output_skip pyramid: FIR upsample, no parameters */
    DDGAN_GOP_GROUPNORM, /* affine GroupNorm module (output heads) */
    DDGAN_GOP_SILU,
    DDGAN_GOP_CONCAT,    /* cat([in0, in1], channels) */
    DDGAN_GOP_SUM        /* alpha * in0 + beta * in1 */
} ddgan_gop;

typedef struct ddgan_gnode {
    ddgan_gop op;
    int mod;          /* index into the op's module array, -1 for none */
    int in0, in1;     /* value ids, -1 for none */
    int out;          /* value id (= node index + 1) */
    double alpha, beta;
    int module_index; /* all_modules.<i> whose output this is (-1: none) */
    int fused;        /* CONCAT read only by the next node, a residual block (as its input): a
                         recording forward does not keep its output, the block recomputes it
                         (memory, see block_forward in generator_run.c) */
} ddgan_gnode;

/* Shape of a value for one example at image_size. */
typedef struct ddgan_gshape {
    int c, h, w;
    int needs_grad; /* depends on parameters (the input image does not) */
} ddgan_gshape;

/* Activations of one forward pass (host-side record; the tensors live in the
 * arena). Internal layout, shared by generator.c and generator_run.c. */
typedef struct ddgan_gblock_acts {
    /* Only Conv_0's output (+ Dense_0) is kept (with the block output, a
     * value): the backward recomputes the norms AdaGN_0(x), GroupNorm_1(c0),
     * their SiLUs and the resampled branch and shortcut (memory, see
     * block_forward in generator_run.c). */
    ddgan_tensor c0;
} ddgan_gblock_acts;

typedef union ddgan_gnode_acts {
    ddgan_gblock_acts rb;
    ddgan_attn_saved at;
    ddgan_gn_saved gn;
    ddgan_tensor blurred; /* CONV_DOWN */
} ddgan_gnode_acts;

typedef struct ddgan_gen_acts {
    int batch;
    int recorded; /* a recording forward completed */
    /* time path: E(t) (or Fourier features), Linear_0, SiLU, Linear_1 = temb, SiLU(temb) */
    ddgan_tensor temb_sin, t0, t0a, temb, temb_act;
    /* z path: z, PixelNorm(z), each dense before and after its SiLU */
    ddgan_tensor z, zn;
    ddgan_pixelnorm_saved pn;
    ddgan_tensor zpre[DDGAN_GEN_MAX_MLP], zact[DDGAN_GEN_MAX_MLP];
    ddgan_tensor *val;  /* n_nodes + 1 values (0: the centred input) */
    ddgan_tensor *grad; /* their gradients during a backward */
    size_t *goff;       /* byte offset of each value's gradient in the backward's gradient
                           pool (SIZE_MAX: none), and the pool's live gradients by offset */
    int *glive;
    ddgan_gnode_acts *node;
    ddgan_tensor out;   /* after tanh (= the last value with not_use_tanh) */
} ddgan_gen_acts;

typedef struct ddgan_gen_net {
    ddgan_gen_config cfg;
    int max_batch;
    ddgan_dtype dt;
    ddgan_param_table pt;
    ddgan_fir fir;
    int fourier, one_adagn;
    int n_all_modules;               /* len(all_modules) */
    int time_index;                  /* all_modules index of the first time Linear (-1 without) */
    /* time path */
    ddgan_temb temb;                 /* positional */
    size_t fourier_w_off;            /* all_modules.0.W (fourier) */
    void *fourier_host;              /* max_batch * 2nf + nf elements of dt (fourier) */
    ddgan_dense t_dense0, t_dense1;  /* the time Linears (conditional) */
    /* z_transform.1, .3, ... (n_mlp + 1 layers) */
    ddgan_dense z_dense[DDGAN_GEN_MAX_MLP];
    int n_z_dense;
    /* modules */
    ddgan_gblock *blocks;
    ddgan_attn *attns;
    ddgan_conv *convs;
    ddgan_fir_conv_down *cdowns;
    ddgan_group_norm *gns;
    int n_blocks, n_attns, n_convs, n_cdowns, n_gns;
    /* the compiled forward */
    ddgan_gnode *nodes;
    int n_nodes;
    ddgan_gshape *vshape; /* n_nodes + 1 values */
    /* activation records, host memory owned by the network (see acts_create) */
    ddgan_gen_acts *rec, *scratch;
} ddgan_gen_net;

/* Builds the network (parameter table in the official state_dict order:
 * all_modules.*, then z_transform.*; init kinds and scales of reference 4);
 * validates the config with messages naming the option and value
 * (unsupported options -> DDGAN_ERR_UNSUPPORTED, invalid ones ->
 * DDGAN_ERR_INVALID_ARGUMENT). max_batch bounds the batch of every run. */
ddgan_status_t ddgan__gen_init(ddgan_gen_net *net, const ddgan_gen_config *cfg, int max_batch,
                               ddgan_dtype dt);
void ddgan__gen_free(ddgan_gen_net *net);

/* Raises (or lowers) the batch bound of later runs: reallocates the host
 * scratch of the time embedding. On failure the network keeps its old bound. */
ddgan_status_t ddgan__gen_set_max_batch(ddgan_gen_net *net, int max_batch);

/* Hands out the network's activation record (host memory owned by the
 * network, allocated at init: nothing is allocated here, and the arena is
 * not touched). There is one such record per network: a forward that records
 * into it overwrites the previous recording. */
ddgan_status_t ddgan__gen_acts_create(ddgan_exec *ex, const ddgan_gen_net *net, ddgan_gen_acts **out);

/* x0 [B, C_img, S, S] = G(x [B, C_img, S, S], t (host, B), z [B, nz, 1, 1]),
 * S = image_size, B <= max_batch. x0->data NULL: x0 is allocated from the
 * arena (before anything else of the pass); otherwise written in place.
 * With `acts`, every activation the backward needs stays in the arena (until
 * the caller releases it). `acts` NULL (sampling): the pass releases all its
 * temporaries and leaves only x0 allocated. */
ddgan_status_t ddgan__gen_forward(ddgan_exec *ex, ddgan_gen_net *net, const ddgan_tensor *x,
                                  const int64_t *t, const ddgan_tensor *z, ddgan_gen_acts *acts,
                                  ddgan_tensor *x0);

/* Backward from dx0 (gradient at the output x0 of the forward that recorded
 * `acts`): parameter gradients accumulate into ex->grads (nothing to do when
 * it is NULL). Temporaries are released before returning. The frozen Fourier
 * W gets no gradient. */
ddgan_status_t ddgan__gen_backward(ddgan_exec *ex, ddgan_gen_net *net, ddgan_gen_acts *acts,
                                   const ddgan_tensor *dx0);

/* An activation of the recorded forward, by the names of the reference
 * vectors: "input" (after centring), "temb_sinusoidal" (E(t) or the Fourier
 * features), "z_transform" (zemb), "all_modules.<i>" (output of module i:
 * the time Linears before any SiLU, PyramidDown before the merge, GroupNorm
 * modules before their SiLU, the last conv before tanh), "output".
 * DDGAN_ERR_INVALID_ARGUMENT for unknown names. */
ddgan_status_t ddgan__gen_acts_get(const ddgan_gen_net *net, const ddgan_gen_acts *acts,
                                   const char *name, ddgan_tensor *out);

/* Forward FLOPs per image (2 x MACs of convolutions, Linear layers, NIN,
 * attention QK^T and AV; FIR, norms, activations excluded). */
double ddgan__gen_flops(const ddgan_gen_net *net);

#endif
