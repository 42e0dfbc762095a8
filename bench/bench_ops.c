/*
 * bench_ops: per-op benchmark of a libddgan backend (docs/bench-ops.md).
 *
 * For each configuration (the small MNIST one and CIFAR-10) the program walks
 * the architecture of the NCSN++ generator (reference section 2.6) and of
 * Discriminator_small (section 3.4) the way the layer code in lib/nn calls the
 * backend, and records every backend op with its exact descriptor. Equal
 * calls are merged with a count (calls per network evaluation), then each
 * distinct call is timed on the backend's op table:
 *
 *   - run once (each shape at least once, however slow), then again until
 *     --min-time seconds have passed; ms/call is the median of the repeats
 *     (the single call when there was none), min the fastest call;
 *   - buffers are allocated, filled with normal draws and touched before the
 *     first call, so page faults are not timed;
 *   - the backend is synchronised after every call (asynchronous backends).
 *
 * The totals are sum(ms/call x count) per network and pass. Elementwise ops
 * (binary/unary/reduce: bias adds, AdaGN scale-shift, residual sums, concat,
 * PixelNorm, minibatch std, sum pooling) are not timed and not in the totals.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend_impl.h"
#include "core/context.h"
#include "ddgan/ddgan.h"

/* ------------------------------------------------------------------------ */
/* Configurations */

#define MAX_LEVELS 8

typedef struct gen_cfg {
    int img, c_img, nf;
    int ch_mult[MAX_LEVELS];
    int levels;
    int nrb;      /* residual blocks per level on the way down */
    int attn_res; /* attention after the blocks of this resolution */
    int nz, z_emb, n_mlp;
} gen_cfg;

typedef struct disc_cfg {
    int ngf, nc, t_emb;
} disc_cfg;

typedef struct bench_cfg {
    const char *name;
    gen_cfg g;
    disc_cfg d;
    int quick_batch;        /* batch of --quick (0: keep --batch) */
    long long g_params_doc; /* parameter counts of the reference (section 7) */
    long long d_params_doc;
} bench_cfg;

static const bench_cfg CONFIGS[] = {
    {"mnist", {32, 1, 32, {1, 2, 2}, 3, 1, 16, 32, 64, 2}, {16, 2, 64}, 0, 1538497, 798337},
    {"cifar10", {32, 3, 128, {1, 2, 2, 2}, 4, 2, 16, 100, 256, 4}, {64, 6, 256}, 8, 48432515,
     12741633},
};
#define NUM_CONFIGS (sizeof CONFIGS / sizeof CONFIGS[0])

/* ------------------------------------------------------------------------ */
/* Recorded ops */

typedef enum op_kind {
    K_CONV_FWD,
    K_CONV_BWD_DATA,
    K_CONV_BWD_WEIGHTS,
    K_MATMUL,
    K_GN_FWD,
    K_GN_BWD,
    K_ACT_FWD,
    K_ACT_BWD,
    K_UPFIRDN_FWD,
    K_UPFIRDN_BWD,
    K_SOFTMAX_FWD,
    K_SOFTMAX_BWD,
    K_ADAM,
    K_EMA
} op_kind;

static const char *const KIND_NAME[] = {
    "conv2d_fwd",  "conv2d_bwd_data", "conv2d_bwd_weights", "matmul",      "group_norm_fwd",
    "group_norm_bwd", "act_fwd",      "act_bwd",            "upfirdn_fwd", "upfirdn_bwd",
    "softmax_fwd", "softmax_bwd",     "adam",               "ema"};

enum { PASS_FWD = 0, PASS_BWD = 1, PASS_OPT = 2 };
static const char *const PASS_NAME[] = {"fwd", "bwd", "opt"};

typedef struct op_entry {
    char net; /* 'G', 'D', or 'O' (optimiser step) */
    int pass;
    op_kind kind;
    char variant[28]; /* "3x3", "dense dW", "silu", ... */
    char shape[64];   /* canonical: with kind and variant the merge key */
    long count;       /* calls per network evaluation */
    /* descriptor of `kind` */
    ddgan_conv2d_desc conv;
    int has_bias; /* conv bias / GroupNorm affine */
    ddgan_matmul_desc mm;
    ddgan_group_norm_desc gn;
    ddgan_act act;
    double act_alpha;
    size_t n; /* act, adam, ema element count */
    ddgan_upfirdn_desc fir;
    size_t rows, cols; /* softmax */
    int accumulate;
    /* results */
    int selected, timed, failed;
    long calls;
    double ms, ms_mean, ms_min; /* median, mean of the repeats; fastest call */
    double flops, bytes;
} op_entry;

typedef struct recorder {
    op_entry *v;
    size_t n, cap;
    int batch;
    char net;
    long long params;
    int error; /* an allocation or descriptor failed */
} recorder;

static void rec_push(recorder *r, int pass, const op_entry *t, long count)
{
    for (size_t i = 0; i < r->n; i++) {
        op_entry *e = &r->v[i];
        if (e->net == r->net && e->pass == pass && e->kind == t->kind &&
            strcmp(e->variant, t->variant) == 0 && strcmp(e->shape, t->shape) == 0) {
            e->count += count;
            return;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        op_entry *v = realloc(r->v, cap * sizeof *v);
        if (!v) {
            r->error = 1;
            return;
        }
        r->v = v;
        r->cap = cap;
    }
    op_entry *e = &r->v[r->n++];
    *e = *t;
    e->net = r->net;
    e->pass = pass;
    e->count = count;
}

static op_entry blank(op_kind kind)
{
    op_entry t;
    memset(&t, 0, sizeof t);
    t.kind = kind;
    return t;
}

/* Convolution, square input h x h, symmetric padding; records the forward,
 * the weight gradient and (need_dx) the data gradient. */
static void rec_conv(recorder *r, int cin, int cout, int h, int k, int stride, int pad, int bias,
                     int need_dx)
{
    op_entry t = blank(K_CONV_FWD);
    ddgan_conv2d_desc *d = &t.conv;
    d->dtype = DDGAN_DT_F32;
    d->n = r->batch;
    d->c_in = cin;
    d->h = d->w = h;
    d->c_out = cout;
    d->kh = d->kw = k;
    d->stride = stride;
    d->pad_t = d->pad_l = d->pad_b = d->pad_r = pad;
    if (ddgan__conv2d_desc_finish(d) != 0) {
        r->error = 1;
        return;
    }
    t.has_bias = bias;
    snprintf(t.variant, sizeof t.variant, "%s%dx%d%s", stride == 2 ? "down " : "", k, k,
             bias ? "" : " nobias");
    snprintf(t.shape, sizeof t.shape, "%dx%dx%dx%d>%dx%dx%d", d->n, cin, h, h, cout, d->h_out,
             d->w_out);
    rec_push(r, PASS_FWD, &t, 1);
    t.kind = K_CONV_BWD_WEIGHTS;
    t.accumulate = 1; /* weight gradients accumulate (lib/nn/conv.c) */
    rec_push(r, PASS_BWD, &t, 1);
    if (need_dx) {
        t.kind = K_CONV_BWD_DATA;
        t.accumulate = 0;
        rec_push(r, PASS_BWD, &t, 1);
    }
    r->params += (long long)cout * cin * k * k + (bias ? cout : 0);
}

/* Packed row-major product (the leading dimensions the layers use). */
static void rec_matmul(recorder *r, int pass, const char *variant, int batch, int m, int n, int k,
                       int ta, int tb, int bcast_a, double beta, long count)
{
    op_entry t = blank(K_MATMUL);
    ddgan_matmul_desc *d = &t.mm;
    d->dtype = DDGAN_DT_F32;
    d->batch = batch;
    d->m = m;
    d->n = n;
    d->k = k;
    d->trans_a = ta;
    d->trans_b = tb;
    d->lda = ta ? m : k;
    d->ldb = tb ? k : n;
    d->ldc = n;
    d->stride_a = bcast_a ? 0 : (int64_t)m * k;
    d->stride_b = (int64_t)k * n;
    d->stride_c = (int64_t)m * n;
    d->alpha = 1.0;
    d->beta = beta;
    t.accumulate = beta != 0.0;
    snprintf(t.variant, sizeof t.variant, "%s", variant);
    snprintf(t.shape, sizeof t.shape, "b%d m%d n%d k%d%s%s%s%s", batch, m, n, k, ta ? " tA" : "",
             tb ? " tB" : "", batch > 1 && bcast_a ? " A-shared" : "", beta != 0.0 ? " +C" : "");
    rec_push(r, pass, &t, count);
}

/* Dense layer in -> out on [batch, in] (lib/nn/dense.c; the AdaGN style
 * product has the same calls): forward, dW, and (need_dx) dx. */
static void rec_dense(recorder *r, const char *what, int in, int out, int need_dx)
{
    char v[28];
    const int nb = r->batch;
    snprintf(v, sizeof v, "%s", what);
    rec_matmul(r, PASS_FWD, v, 1, nb, out, in, 0, 1, 0, 0.0, 1);
    snprintf(v, sizeof v, "%s dW", what);
    rec_matmul(r, PASS_BWD, v, 1, out, in, nb, 1, 0, 0, 1.0, 1);
    if (need_dx) {
        snprintf(v, sizeof v, "%s dx", what);
        rec_matmul(r, PASS_BWD, v, 1, nb, in, out, 0, 0, 0, 0.0, 1);
    }
    r->params += (long long)in * out + out;
}

static void rec_gn(recorder *r, int c, int hw, int groups, int affine)
{
    op_entry t = blank(K_GN_FWD);
    ddgan_group_norm_desc *d = &t.gn;
    d->dtype = DDGAN_DT_F32;
    d->n = r->batch;
    d->c = c;
    d->hw = hw;
    d->groups = groups;
    d->eps = 1e-6;
    t.has_bias = affine;
    snprintf(t.variant, sizeof t.variant, "%s", affine ? "affine" : "adagn");
    snprintf(t.shape, sizeof t.shape, "%dx%dx%d g%d", r->batch, c, hw, groups);
    rec_push(r, PASS_FWD, &t, 1);
    t.kind = K_GN_BWD;
    t.accumulate = affine; /* lib/nn/norm.c: affine zeroes dx and accumulates */
    rec_push(r, PASS_BWD, &t, 1);
    if (affine)
        r->params += 2LL * c;
}

static int g_groups(int c) { return c / 4 < 32 ? c / 4 : 32; }

/* AdaptiveGroupNorm: style dense z_emb -> 2C, non-affine GroupNorm. */
static void rec_adagn(recorder *r, int c, int hw, int z_emb)
{
    rec_dense(r, "adagn style", z_emb, 2 * c, 1);
    rec_gn(r, c, hw, g_groups(c), 0);
}

static const char *act_name(ddgan_act a)
{
    switch (a) {
    case DDGAN_ACT_SILU: return "silu";
    case DDGAN_ACT_LRELU: return "lrelu";
    case DDGAN_ACT_TANH: return "tanh";
    case DDGAN_ACT_SOFTPLUS: return "softplus";
    case DDGAN_ACT_SIGMOID: return "sigmoid";
    }
    return "?";
}

/* Activation over batch x per_example elements: forward and backward. */
static void rec_act(recorder *r, ddgan_act act, double alpha, long per_example)
{
    op_entry t = blank(K_ACT_FWD);
    t.act = act;
    t.act_alpha = alpha;
    t.n = (size_t)r->batch * (size_t)per_example;
    snprintf(t.variant, sizeof t.variant, "%s", act_name(act));
    snprintf(t.shape, sizeof t.shape, "%dx%ld", r->batch, per_example);
    rec_push(r, PASS_FWD, &t, 1);
    t.kind = K_ACT_BWD;
    rec_push(r, PASS_BWD, &t, 1);
}

/* FIR [1,3,3,1] resampling (lib/nn/fir.c): mode 'u' up x2 (pads 2,1, gain 2
 * per axis), 'd' down x2 (pads 1,1), 'b' the stride-1 blur of the pyramid
 * conv-downsample (pads 2,2). */
static void rec_fir(recorder *r, char mode, int c, int h, int need_dx)
{
    op_entry t = blank(K_UPFIRDN_FWD);
    ddgan_upfirdn_desc *d = &t.fir;
    d->dtype = DDGAN_DT_F32;
    d->n = r->batch;
    d->c = c;
    d->h = d->w = h;
    d->up = mode == 'u' ? 2 : 1;
    d->down = mode == 'd' ? 2 : 1;
    d->pad0 = mode == 'd' ? 1 : 2;
    d->pad1 = mode == 'u' ? 1 : (mode == 'd' ? 1 : 2);
    d->taps = 4;
    const double gain = mode == 'u' ? 2.0 : 1.0;
    const double k[4] = {1, 3, 3, 1};
    for (int i = 0; i < 4; i++)
        d->kernel[i] = k[i] / 8.0 * gain;
    if (ddgan__upfirdn_desc_finish(d) != 0) {
        r->error = 1;
        return;
    }
    snprintf(t.variant, sizeof t.variant, "%s",
             mode == 'u' ? "up2" : mode == 'd' ? "down2" : "blur");
    snprintf(t.shape, sizeof t.shape, "%dx%dx%dx%d>%dx%d", d->n, c, h, h, d->h_out, d->w_out);
    rec_push(r, PASS_FWD, &t, 1);
    if (need_dx) {
        t.kind = K_UPFIRDN_BWD;
        rec_push(r, PASS_BWD, &t, 1);
    }
}

static void rec_softmax(recorder *r, size_t rows, size_t cols)
{
    op_entry t = blank(K_SOFTMAX_FWD);
    t.rows = rows;
    t.cols = cols;
    snprintf(t.variant, sizeof t.variant, "attn");
    snprintf(t.shape, sizeof t.shape, "%zux%zu", rows, cols);
    rec_push(r, PASS_FWD, &t, 1);
    t.kind = K_SOFTMAX_BWD;
    rec_push(r, PASS_BWD, &t, 1);
}

/* NIN (per-pixel linear C -> C, lib/nn/attention.c): forward, the weight
 * gradient (one product per example, accumulated) and dx. */
static void rec_nin(recorder *r, int c, int p)
{
    const int nb = r->batch;
    rec_matmul(r, PASS_FWD, "nin", nb, c, p, c, 1, 0, 1, 0.0, 1);
    rec_matmul(r, PASS_BWD, "nin dW", 1, c, c, p, 0, 1, 0, 1.0, nb);
    rec_matmul(r, PASS_BWD, "nin dx", nb, c, p, c, 0, 0, 1, 0.0, 1);
    r->params += (long long)c * c + c;
}

/* AttnBlockpp(C) at h x h. */
static void rec_attn(recorder *r, int c, int h)
{
    const int nb = r->batch, p = h * h;
    rec_gn(r, c, p, g_groups(c), 1);
    for (int i = 0; i < 3; i++)
        rec_nin(r, c, p);
    rec_matmul(r, PASS_FWD, "attn QK^T", nb, p, p, c, 1, 0, 0, 0.0, 1);
    rec_softmax(r, (size_t)nb * p, (size_t)p);
    rec_matmul(r, PASS_FWD, "attn AV", nb, c, p, p, 0, 1, 0, 0.0, 1);
    rec_nin(r, c, p);
    /* backward of the core: dV and dK (same shape), dA, dQ */
    rec_matmul(r, PASS_BWD, "attn dV,dK", nb, c, p, p, 0, 0, 0, 0.0, 2);
    rec_matmul(r, PASS_BWD, "attn dA", nb, p, p, c, 1, 0, 0, 0.0, 1);
    rec_matmul(r, PASS_BWD, "attn dQ", nb, c, p, p, 0, 1, 0, 0.0, 1);
}

/* ResnetBlockBigGANpp_Adagn (reference 2.3) on in x h x h. */
static void rec_resblock(recorder *r, const gen_cfg *g, int in, int out, int h, int up, int down)
{
    rec_adagn(r, in, h * h, g->z_emb);
    rec_act(r, DDGAN_ACT_SILU, 0.0, (long)in * h * h);
    int h2 = h;
    if (up) {
        rec_fir(r, 'u', in, h, 1); /* branch */
        rec_fir(r, 'u', in, h, 1); /* shortcut */
        h2 = 2 * h;
    }
    if (down) {
        rec_fir(r, 'd', in, h, 1);
        rec_fir(r, 'd', in, h, 1);
        h2 = h / 2;
    }
    rec_conv(r, in, out, h2, 3, 1, 1, 1, 1);               /* Conv_0 */
    rec_act(r, DDGAN_ACT_SILU, 0.0, 4L * g->nf);           /* silu(temb) */
    rec_dense(r, "dense", 4 * g->nf, out, 1);              /* Dense_0 */
    rec_adagn(r, out, h2 * h2, g->z_emb);                  /* GroupNorm_1 */
    rec_act(r, DDGAN_ACT_SILU, 0.0, (long)out * h2 * h2);
    rec_conv(r, out, out, h2, 3, 1, 1, 1, 1);              /* Conv_1 */
    if (in != out || up || down)
        rec_conv(r, in, out, h2, 1, 1, 0, 1, 1);           /* Conv_2 */
}

/* NCSN++ generator, forward order of reference 2.6. The backward is the
 * gradient of the G step: weights everywhere, no input gradient for the
 * image x_t (first conv, first pyramid stage), the embedding E(t) and z. */
static void rec_generator(recorder *r, const gen_cfg *g)
{
    int stack[64], sp = 0;
    /* z mapping: PixelNorm (elementwise), n_mlp + 1 dense layers each + SiLU */
    rec_dense(r, "dense", g->nz, g->z_emb, 0);
    rec_act(r, DDGAN_ACT_SILU, 0.0, g->z_emb);
    for (int i = 0; i < g->n_mlp; i++) {
        rec_dense(r, "dense", g->z_emb, g->z_emb, 1);
        rec_act(r, DDGAN_ACT_SILU, 0.0, g->z_emb);
    }
    /* time MLP */
    rec_dense(r, "dense", g->nf, 4 * g->nf, 0);
    rec_act(r, DDGAN_ACT_SILU, 0.0, 4L * g->nf);
    rec_dense(r, "dense", 4 * g->nf, 4 * g->nf, 1);

    int h = g->img, c = g->nf;
    rec_conv(r, g->c_img, g->nf, h, 3, 1, 1, 1, 0);
    stack[sp++] = c;
    int pc = g->c_img, pyr_is_input = 1;
    for (int l = 0; l < g->levels; l++) {
        const int cl = g->nf * g->ch_mult[l];
        for (int b = 0; b < g->nrb; b++) {
            rec_resblock(r, g, c, cl, h, 0, 0);
            c = cl;
            if (h == g->attn_res)
                rec_attn(r, c, h);
            stack[sp++] = c;
        }
        if (l < g->levels - 1) {
            rec_resblock(r, g, c, c, h, 0, 1);
            /* pyramid: blur (pads 2,2) then 3x3 stride 2 without padding */
            rec_fir(r, 'b', pc, h, !pyr_is_input);
            rec_conv(r, pc, c, h + 1, 3, 2, 0, 1, !pyr_is_input);
            pyr_is_input = 0;
            pc = c;
            h /= 2;
            stack[sp++] = c;
        }
    }
    rec_resblock(r, g, c, c, h, 0, 0);
    rec_attn(r, c, h);
    rec_resblock(r, g, c, c, h, 0, 0);
    for (int l = g->levels - 1; l >= 0; l--) {
        const int cl = g->nf * g->ch_mult[l];
        for (int b = 0; b < g->nrb + 1; b++) {
            if (sp < 1) {
                r->error = 1;
                return;
            }
            const int cs = stack[--sp];
            rec_resblock(r, g, c + cs, cl, h, 0, 0);
            c = cl;
        }
        if (h == g->attn_res)
            rec_attn(r, c, h);
        if (l > 0) {
            rec_resblock(r, g, c, c, h, 1, 0);
            h *= 2;
        }
    }
    rec_gn(r, c, h * h, g_groups(c), 1);
    rec_act(r, DDGAN_ACT_SILU, 0.0, (long)c * h * h);
    rec_conv(r, c, g->c_img, h, 3, 1, 1, 1, 1);
    rec_act(r, DDGAN_ACT_TANH, 0.0, (long)g->c_img * h * h);
    if (sp != 0)
        r->error = 1;
}

/* DownConvBlock (reference 3.3). */
static void rec_dblock(recorder *r, const disc_cfg *d, int in, int out, int h, int down)
{
    rec_act(r, DDGAN_ACT_LRELU, 0.2, (long)in * h * h);
    rec_conv(r, in, out, h, 3, 1, 1, 1, 1);      /* conv1 */
    rec_dense(r, "dense", d->t_emb, out, 1);     /* dense_t1 */
    rec_act(r, DDGAN_ACT_LRELU, 0.2, (long)out * h * h);
    int h2 = h;
    if (down) {
        rec_fir(r, 'd', out, h, 1);
        rec_fir(r, 'd', in, h, 1);
        h2 = h / 2;
    }
    rec_conv(r, out, out, h2, 3, 1, 1, 1, 1);    /* conv2 */
    rec_conv(r, in, out, h2, 1, 1, 0, 0, 1);     /* skip, no bias */
}

/* Discriminator_small. The backward includes the input gradient (as in the
 * G step, where it flows into the generator). */
static void rec_discriminator(recorder *r, const disc_cfg *d)
{
    const int ngf = d->ngf, td = d->t_emb;
    rec_dense(r, "dense", td, td, 0);
    rec_act(r, DDGAN_ACT_LRELU, 0.2, td);
    rec_dense(r, "dense", td, td, 1);
    rec_act(r, DDGAN_ACT_LRELU, 0.2, td);
    rec_conv(r, d->nc, 2 * ngf, 32, 1, 1, 0, 1, 1); /* start_conv */
    rec_dblock(r, d, 2 * ngf, 2 * ngf, 32, 0);
    rec_dblock(r, d, 2 * ngf, 4 * ngf, 32, 1);
    rec_dblock(r, d, 4 * ngf, 8 * ngf, 16, 1);
    rec_dblock(r, d, 8 * ngf, 8 * ngf, 8, 1);
    /* minibatch std (elementwise), final_conv, lrelu, sum pool, end_linear */
    rec_conv(r, 8 * ngf + 1, 8 * ngf, 4, 3, 1, 1, 1, 1);
    rec_act(r, DDGAN_ACT_LRELU, 0.2, 8L * ngf * 16);
    rec_dense(r, "dense", 8 * ngf, 1, 1);
}

static void rec_optim(recorder *r, op_kind kind, const char *what, long long n)
{
    op_entry t = blank(kind);
    t.n = (size_t)n;
    snprintf(t.variant, sizeof t.variant, "%s", what);
    snprintf(t.shape, sizeof t.shape, "n%lld", n);
    rec_push(r, PASS_OPT, &t, 1);
}

/* ------------------------------------------------------------------------ */
/* Cost model: FLOPs (2 x MACs) of conv/matmul, minimal bytes of the rest */

static void cost(op_entry *e)
{
    const double f = 4.0; /* float32 */
    double ox, oy;
    e->flops = 0.0;
    e->bytes = 0.0;
    switch (e->kind) {
    case K_CONV_FWD:
    case K_CONV_BWD_DATA:
    case K_CONV_BWD_WEIGHTS:
        e->flops = 2.0 * e->conv.n * e->conv.c_out * e->conv.h_out * e->conv.w_out *
                   (double)e->conv.c_in * e->conv.kh * e->conv.kw;
        break;
    case K_MATMUL:
        e->flops = 2.0 * e->mm.batch * (double)e->mm.m * e->mm.n * e->mm.k;
        break;
    case K_GN_FWD: /* read x, write y */
        e->bytes = 2.0 * f * e->gn.n * e->gn.c * (double)e->gn.hw;
        break;
    case K_GN_BWD: /* read dy, x, write dx (+ read dx when accumulating) */
        e->bytes = (3.0 + e->accumulate) * f * e->gn.n * e->gn.c * (double)e->gn.hw;
        break;
    case K_ACT_FWD:
        e->bytes = 2.0 * f * (double)e->n;
        break;
    case K_ACT_BWD: /* read x (or y), dy, write dx */
        e->bytes = 3.0 * f * (double)e->n;
        break;
    case K_UPFIRDN_FWD:
    case K_UPFIRDN_BWD:
        ox = (double)e->fir.n * e->fir.c * e->fir.h * e->fir.w;
        oy = (double)e->fir.n * e->fir.c * e->fir.h_out * e->fir.w_out;
        e->bytes = f * (ox + oy);
        break;
    case K_SOFTMAX_FWD:
        e->bytes = 2.0 * f * (double)e->rows * (double)e->cols;
        break;
    case K_SOFTMAX_BWD: /* read y, dy, write dx */
        e->bytes = 3.0 * f * (double)e->rows * (double)e->cols;
        break;
    case K_ADAM: /* read p, g, m, v; write p, m, v */
        e->bytes = 7.0 * f * (double)e->n;
        break;
    case K_EMA: /* read ema, p; write ema */
        e->bytes = 3.0 * f * (double)e->n;
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Running one op */

enum { FILL_RANDN, FILL_ZERO, FILL_ONE, FILL_SMALL };
#define MAX_BUFS 8

typedef struct buf_plan {
    size_t n[MAX_BUFS]; /* elements; 0 = NULL pointer */
    int fill[MAX_BUFS];
} buf_plan;

static size_t mm_elems(int64_t stride, int batch, size_t one)
{
    return stride == 0 ? one : (size_t)batch * one;
}

static void plan_buffers(const op_entry *e, buf_plan *p)
{
    memset(p, 0, sizeof *p);
    const ddgan_conv2d_desc *c = &e->conv;
    const size_t cx = (size_t)c->n * c->c_in * c->h * c->w;
    const size_t cy = (size_t)c->n * c->c_out * c->h_out * c->w_out;
    const size_t cw = (size_t)c->c_out * c->c_in * c->kh * c->kw;
    const size_t gn = (size_t)e->gn.n * e->gn.c * e->gn.hw, gs = (size_t)e->gn.n * e->gn.groups;
    const size_t fx = (size_t)e->fir.n * e->fir.c * e->fir.h * e->fir.w;
    const size_t fy = (size_t)e->fir.n * e->fir.c * e->fir.h_out * e->fir.w_out;
    const size_t sm = e->rows * e->cols;
    switch (e->kind) {
    case K_CONV_FWD: /* x, w, b, y */
        p->n[0] = cx, p->n[1] = cw, p->n[2] = e->has_bias ? (size_t)c->c_out : 0, p->n[3] = cy;
        break;
    case K_CONV_BWD_DATA: /* dy, w, dx */
        p->n[0] = cy, p->n[1] = cw, p->n[2] = cx;
        break;
    case K_CONV_BWD_WEIGHTS: /* x, dy, dw, db */
        p->n[0] = cx, p->n[1] = cy, p->n[2] = cw, p->n[3] = e->has_bias ? (size_t)c->c_out : 0;
        break;
    case K_MATMUL: /* a, b, c */
        p->n[0] = mm_elems(e->mm.stride_a, e->mm.batch, (size_t)e->mm.m * e->mm.k);
        p->n[1] = mm_elems(e->mm.stride_b, e->mm.batch, (size_t)e->mm.k * e->mm.n);
        p->n[2] = mm_elems(e->mm.stride_c, e->mm.batch, (size_t)e->mm.m * e->mm.n);
        break;
    case K_GN_FWD: /* x, gamma, beta, y, mean, rstd */
        p->n[0] = gn, p->n[3] = gn, p->n[4] = gs, p->n[5] = gs;
        if (e->has_bias)
            p->n[1] = p->n[2] = (size_t)e->gn.c;
        break;
    case K_GN_BWD: /* dy, x, mean, rstd, gamma, dx, dgamma, dbeta */
        p->n[0] = gn, p->n[1] = gn, p->n[2] = gs, p->n[3] = gs, p->n[5] = gn;
        p->fill[2] = FILL_ZERO;
        p->fill[3] = FILL_ONE;
        if (e->has_bias)
            p->n[4] = p->n[6] = p->n[7] = (size_t)e->gn.c;
        break;
    case K_ACT_FWD: /* x, y */
        p->n[0] = p->n[1] = e->n;
        break;
    case K_ACT_BWD: /* x, y, dy, dx */
        p->n[0] = p->n[1] = p->n[2] = p->n[3] = e->n;
        break;
    case K_UPFIRDN_FWD: /* x, y */
        p->n[0] = fx, p->n[1] = fy;
        break;
    case K_UPFIRDN_BWD: /* dy, dx */
        p->n[0] = fy, p->n[1] = fx;
        break;
    case K_SOFTMAX_FWD: /* x, y */
        p->n[0] = p->n[1] = sm;
        break;
    case K_SOFTMAX_BWD: /* y, dy, dx */
        p->n[0] = p->n[1] = p->n[2] = sm;
        break;
    case K_ADAM: /* param, grad, m, v */
        p->n[0] = p->n[1] = p->n[2] = p->n[3] = e->n;
        p->fill[3] = FILL_SMALL;
        break;
    case K_EMA: /* ema, param */
        p->n[0] = p->n[1] = e->n;
        break;
    }
}

#define NEED(fn)                                                                                   \
    do {                                                                                           \
        if (!k->fn) {                                                                              \
            snprintf(why, why_cap, "the backend has no " #fn " op");                              \
            return DDGAN_ERR_UNSUPPORTED;                                                          \
        }                                                                                          \
    } while (0)

static ddgan_status_t run_op(ddgan_backend *be, const op_entry *e, void *const *b, char *why,
                             size_t why_cap)
{
    const ddgan_backend_compute *k = be->ops->compute;
    const ddgan_dtype dt = DDGAN_DT_F32;
    switch (e->kind) {
    case K_CONV_FWD:
        NEED(conv2d_fwd);
        return k->conv2d_fwd(be, &e->conv, b[0], b[1], b[2], b[3], 0);
    case K_CONV_BWD_DATA:
        NEED(conv2d_bwd_data);
        return k->conv2d_bwd_data(be, &e->conv, b[0], b[1], b[2], e->accumulate);
    case K_CONV_BWD_WEIGHTS:
        NEED(conv2d_bwd_weights);
        return k->conv2d_bwd_weights(be, &e->conv, b[0], b[1], b[2], b[3], e->accumulate);
    case K_MATMUL:
        NEED(matmul);
        return k->matmul(be, &e->mm, b[0], b[1], b[2]);
    case K_GN_FWD:
        NEED(group_norm_fwd);
        return k->group_norm_fwd(be, &e->gn, b[0], b[1], b[2], b[3], b[4], b[5]);
    case K_GN_BWD:
        NEED(group_norm_bwd);
        return k->group_norm_bwd(be, &e->gn, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                                 e->accumulate);
    case K_ACT_FWD:
        NEED(act_fwd);
        return k->act_fwd(be, dt, e->act, e->act_alpha, e->n, b[0], b[1]);
    case K_ACT_BWD:
        NEED(act_bwd);
        return k->act_bwd(be, dt, e->act, e->act_alpha, e->n, b[0], b[1], b[2], b[3],
                          e->accumulate);
    case K_UPFIRDN_FWD:
        NEED(upfirdn_fwd);
        return k->upfirdn_fwd(be, &e->fir, b[0], b[1], 0);
    case K_UPFIRDN_BWD:
        NEED(upfirdn_bwd);
        return k->upfirdn_bwd(be, &e->fir, b[0], b[1], 0);
    case K_SOFTMAX_FWD:
        NEED(softmax_fwd);
        return k->softmax_fwd(be, dt, e->rows, e->cols, b[0], b[1]);
    case K_SOFTMAX_BWD:
        NEED(softmax_bwd);
        return k->softmax_bwd(be, dt, e->rows, e->cols, b[0], b[1], b[2], 0);
    case K_ADAM: {
        NEED(adam);
        ddgan_adam_desc d = {.dtype = dt, .n = e->n, .lr = 2e-4, .beta1 = 0.5, .beta2 = 0.9,
                             .eps = 1e-8, .step = 1};
        return k->adam(be, &d, b[0], b[1], b[2], b[3]);
    }
    case K_EMA:
        NEED(ema);
        return k->ema(be, dt, e->n, 0.9999, b[0], b[1]);
    }
    snprintf(why, why_cap, "unknown op kind %d", (int)e->kind);
    return DDGAN_ERR_INTERNAL;
}

#define MAX_REPS ((size_t)1 << 20)

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Status and the library's message (or `why` when the bench made it up). */
static void report_failure(const op_entry *e, const char *stage, ddgan_status_t st, const char *why)
{
    const char *msg = why && why[0] ? why : ddgan_last_error();
    fprintf(stderr, "bench_ops: %c %s %s %s [%s]: %s failed: %s%s%s\n", e->net,
            PASS_NAME[e->pass], KIND_NAME[e->kind], e->variant, e->shape, stage,
            ddgan_status_string(st), msg[0] ? ": " : "", msg);
}

static ddgan_status_t sync_be(ddgan_backend *be)
{
    return be->ops->synchronize ? be->ops->synchronize(be) : DDGAN_OK;
}

/* Times one entry; fills ms, ms_min, calls or sets failed. */
static void time_entry(ddgan_backend *be, op_entry *e, double min_time, uint64_t seed)
{
    buf_plan p;
    void *b[MAX_BUFS] = {0};
    char why[160] = "";
    ddgan_status_t st = DDGAN_OK;
    const char *stage = "alloc";
    plan_buffers(e, &p);
    ddgan_clear_last_error();
    for (int i = 0; i < MAX_BUFS && st == DDGAN_OK; i++) {
        if (!p.n[i])
            continue;
        stage = "alloc";
        if ((st = be->ops->alloc(be, p.n[i] * sizeof(float), &b[i])) != DDGAN_OK)
            break;
        stage = "fill";
        switch (p.fill[i]) {
        case FILL_RANDN:
            if (!be->ops->compute->rand_normal) {
                st = be->ops->fill_f32(be, (float *)b[i], 0.5f, p.n[i]);
                break;
            }
            st = be->ops->compute->rand_normal(be, DDGAN_DT_F32, p.n[i], seed, (uint64_t)i + 1,
                                               0, b[i]);
            break;
        case FILL_ZERO: st = be->ops->fill_f32(be, (float *)b[i], 0.0f, p.n[i]); break;
        case FILL_ONE: st = be->ops->fill_f32(be, (float *)b[i], 1.0f, p.n[i]); break;
        default: st = be->ops->fill_f32(be, (float *)b[i], 0.01f, p.n[i]); break;
        }
    }
    if (st == DDGAN_OK) {
        stage = "synchronize";
        st = sync_be(be);
    }
    if (st == DDGAN_OK) {
        stage = "run";
        double t0 = now_s();
        st = run_op(be, e, b, why, sizeof why);
        if (st == DDGAN_OK)
            st = sync_be(be);
        const double first = now_s() - t0;
        double *samples = NULL;
        size_t reps = 0, cap = 0;
        const double start = now_s();
        while (st == DDGAN_OK && now_s() - start < min_time && reps < MAX_REPS) {
            if (reps == cap) {
                size_t ncap = cap ? 2 * cap : 256;
                double *ns = realloc(samples, ncap * sizeof *ns);
                if (!ns) {
                    st = DDGAN_ERR_OUT_OF_MEMORY;
                    snprintf(why, sizeof why, "no host memory for the timing samples");
                    break;
                }
                samples = ns;
                cap = ncap;
            }
            t0 = now_s();
            st = run_op(be, e, b, why, sizeof why);
            if (st == DDGAN_OK)
                st = sync_be(be);
            samples[reps++] = now_s() - t0;
        }
        if (st == DDGAN_OK) {
            e->calls = 1 + (long)reps;
            if (reps) {
                double sum = 0.0;
                for (size_t i = 0; i < reps; i++)
                    sum += samples[i];
                qsort(samples, reps, sizeof *samples, cmp_double);
                e->ms = 1e3 * (reps % 2 ? samples[reps / 2]
                                        : 0.5 * (samples[reps / 2 - 1] + samples[reps / 2]));
                e->ms_mean = 1e3 * sum / (double)reps;
                e->ms_min = 1e3 * (samples[0] < first ? samples[0] : first);
            } else {
                e->ms = e->ms_mean = e->ms_min = 1e3 * first;
            }
            e->timed = 1;
        }
        free(samples);
    }
    if (st != DDGAN_OK) {
        e->failed = 1;
        report_failure(e, stage, st, why);
    }
    for (int i = 0; i < MAX_BUFS; i++)
        if (b[i])
            be->ops->free(be, b[i]);
}

/* ------------------------------------------------------------------------ */
/* Output */

#if defined(__clang__)
#define COMPILER_STRING __VERSION__
#elif defined(__GNUC__)
#define COMPILER_STRING "gcc " __VERSION__
#else
#define COMPILER_STRING "unknown compiler"
#endif

typedef struct options {
    const char *backend;
    const char *config; /* "mnist", "cifar10" or "all" */
    const char *filter; /* substring of "NET PASS KIND VARIANT" or NULL */
    int batch, batch_set;
    double min_time;
    int min_time_set;
    int threads;
    int quick;
    int json;
} options;

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void fmt_count(char *out, size_t cap, long long v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
    size_t o = 0;
    if (v < 0 && o + 1 < cap)
        out[o++] = '-';
    for (int i = 0; i < n && o + 1 < cap; i++) {
        out[o++] = digits[i];
        if ((n - 1 - i) % 3 == 0 && i != n - 1 && o + 1 < cap)
            out[o++] = ',';
    }
    out[o] = '\0';
}

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Hardware", 8) == 0 ||
            strncmp(line, "cpu model", 9) == 0) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            size_t len = strcspn(colon, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, colon);
            break;
        }
    }
    fclose(f);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss; /* KiB on Linux */
}

static void rate(const op_entry *e, double *val, const char **unit)
{
    double s = e->ms * 1e-3;
    if (e->flops > 0.0) {
        *val = s > 0.0 ? e->flops / s * 1e-9 : 0.0;
        *unit = "GFLOP/s";
    } else {
        *val = s > 0.0 ? e->bytes / s * 1e-9 : 0.0;
        *unit = "GB/s";
    }
}

static void print_header(void)
{
    printf("%-3s %-4s %-31s %-30s %6s %11s %11s %12s  %s\n", "net", "pass", "op", "shape", "count",
           "ms/call", "min ms", "ms x count", "rate");
}

static void print_row(const op_entry *e, const options *o, const char *cfg)
{
    char op[64];
    snprintf(op, sizeof op, "%s %s", KIND_NAME[e->kind], e->variant);
    if (o->json) {
        printf("{\"type\":\"op\",\"config\":");
        json_str(stdout, cfg);
        printf(",\"net\":\"%c\",\"pass\":\"%s\",\"op\":\"%s\",\"variant\":", e->net,
               PASS_NAME[e->pass], KIND_NAME[e->kind]);
        json_str(stdout, e->variant);
        printf(",\"shape\":");
        json_str(stdout, e->shape);
        printf(",\"count\":%ld", e->count);
        if (e->timed)
            printf(",\"calls\":%ld,\"ms\":%.6g,\"ms_mean\":%.6g,\"ms_min\":%.6g,\"ms_total\":%.6g",
                   e->calls, e->ms, e->ms_mean, e->ms_min, e->ms * (double)e->count);
        else
            printf(",\"calls\":0,\"ms\":null,\"ms_mean\":null,\"ms_min\":null,"
                   "\"ms_total\":null");
        printf(",\"flops\":%.0f,\"bytes\":%.0f", e->flops, e->bytes);
        if (e->timed) {
            double v;
            const char *u;
            rate(e, &v, &u);
            printf(",\"%s\":%.6g", e->flops > 0.0 ? "gflops_per_s" : "gbytes_per_s", v);
        }
        printf(",\"failed\":%s}\n", e->failed ? "true" : "false");
    } else if (e->timed) {
        double v;
        const char *u;
        rate(e, &v, &u);
        printf("%-3c %-4s %-31s %-30s %6ld %11.4f %11.4f %12.3f  %7.2f %s\n", e->net,
               PASS_NAME[e->pass], op, e->shape, e->count, e->ms, e->ms_min,
               e->ms * (double)e->count, v, u);
    } else {
        printf("%-3c %-4s %-31s %-30s %6ld %11s %11s %12s  %s\n", e->net, PASS_NAME[e->pass], op,
               e->shape, e->count, e->failed ? "FAILED" : "skipped", "-", "-", "-");
    }
    fflush(stdout);
}

static int matches(const op_entry *e, const char *filter)
{
    if (!filter)
        return 1;
    char key[160];
    snprintf(key, sizeof key, "%c %s %s %s %s", e->net, PASS_NAME[e->pass], KIND_NAME[e->kind],
             e->variant, e->shape);
    return strstr(key, filter) != NULL;
}

/* ------------------------------------------------------------------------ */

static int run_config(ddgan_backend *be, const bench_cfg *cfg, const options *o)
{
    int batch = o->batch;
    if (o->quick && !o->batch_set && cfg->quick_batch)
        batch = cfg->quick_batch;
    const double min_time = o->quick && !o->min_time_set ? 0.0 : o->min_time;

    recorder r;
    memset(&r, 0, sizeof r);
    r.batch = batch;
    r.net = 'G';
    rec_generator(&r, &cfg->g);
    const long long g_params = r.params;
    r.params = 0;
    r.net = 'D';
    rec_discriminator(&r, &cfg->d);
    const long long d_params = r.params;
    r.net = 'O';
    rec_optim(&r, K_ADAM, "G", g_params);
    rec_optim(&r, K_EMA, "G", g_params);
    rec_optim(&r, K_ADAM, "D", d_params);
    if (r.error) {
        fprintf(stderr, "bench_ops: %s: could not derive the layer shapes (out of memory or an "
                        "invalid descriptor)\n", cfg->name);
        free(r.v);
        return 1;
    }

    char gp[32], dp[32];
    fmt_count(gp, sizeof gp, g_params);
    fmt_count(dp, sizeof dp, d_params);
    const gen_cfg *g = &cfg->g;
    char mult[64] = "";
    for (int l = 0; l < g->levels; l++) {
        size_t len = strlen(mult);
        snprintf(mult + len, sizeof mult - len, "%s%d", l ? " " : "", g->ch_mult[l]);
    }
    if (o->json) {
        printf("{\"type\":\"config\",\"config\":\"%s\",\"batch\":%d,\"min_time_s\":%g,"
               "\"g_params\":%lld,\"g_params_reference\":%lld,\"d_params\":%lld,"
               "\"d_params_reference\":%lld,\"distinct_ops\":%zu}\n",
               cfg->name, batch, min_time, g_params, cfg->g_params_doc, d_params,
               cfg->d_params_doc, r.n);
    } else {
        printf("\n== config %s, batch %d, min-time %g s ==\n", cfg->name, batch, min_time);
        printf("G: NCSN++ %dx%dx%d, nf %d, ch_mult %s, %d res block%s per level, attention at "
               "%d, nz %d, z_emb_dim %d, n_mlp %d: %s parameters%s\n",
               g->img, g->img, g->c_img, g->nf, mult, g->nrb, g->nrb == 1 ? "" : "s", g->attn_res,
               g->nz, g->z_emb, g->n_mlp, gp,
               g_params == cfg->g_params_doc ? " (= reference)" : " (DIFFERS from reference)");
        printf("D: Discriminator_small ngf %d, nc %d, t_emb_dim %d: %s parameters%s\n",
               cfg->d.ngf, cfg->d.nc, cfg->d.t_emb, dp,
               d_params == cfg->d_params_doc ? " (= reference)" : " (DIFFERS from reference)");
        printf("%zu distinct calls; count = calls per network evaluation (per optimiser step for "
               "'O')\n\n", r.n);
        print_header();
    }

    int failures = 0;
    for (int pass_net = 0; pass_net < 5; pass_net++) {
        const char net = pass_net < 2 ? 'G' : pass_net < 4 ? 'D' : 'O';
        const int pass = pass_net == 4 ? PASS_OPT : pass_net % 2;
        for (size_t i = 0; i < r.n; i++) {
            op_entry *e = &r.v[i];
            if (e->net != net || e->pass != pass)
                continue;
            cost(e);
            e->selected = matches(e, o->filter);
            if (!e->selected)
                continue;
            /* the same call measured already (another network or role)? */
            for (size_t j = 0; j < r.n; j++) {
                const op_entry *s = &r.v[j];
                if (s->timed && s->kind == e->kind && strcmp(s->variant, e->variant) == 0 &&
                    strcmp(s->shape, e->shape) == 0) {
                    e->timed = 1;
                    e->calls = s->calls;
                    e->ms = s->ms;
                    e->ms_mean = s->ms_mean;
                    e->ms_min = s->ms_min;
                    break;
                }
            }
            if (!e->timed)
                time_entry(be, e, min_time, 0x5eedULL + i);
            if (e->failed)
                failures++;
            print_row(e, o, cfg->name);
        }
    }

    /* totals */
    static const char *const what[5] = {"G forward", "G backward", "D forward", "D backward",
                                        "optimiser step (Adam G + EMA G + Adam D)"};
    if (!o->json)
        printf("\ntotals for batch %d (sum of ms/call x count; elementwise ops not included):\n",
               batch);
    for (int pass_net = 0; pass_net < 5; pass_net++) {
        const char net = pass_net < 2 ? 'G' : pass_net < 4 ? 'D' : 'O';
        const int pass = pass_net == 4 ? PASS_OPT : pass_net % 2;
        double ms = 0.0, flops = 0.0;
        int complete = 1;
        for (size_t i = 0; i < r.n; i++) {
            const op_entry *e = &r.v[i];
            if (e->net != net || e->pass != pass)
                continue;
            flops += e->flops * (double)e->count;
            if (e->timed)
                ms += e->ms * (double)e->count;
            else
                complete = 0;
        }
        if (o->json) {
            printf("{\"type\":\"total\",\"config\":\"%s\",\"net\":\"%c\",\"pass\":\"%s\","
                   "\"batch\":%d,\"ms\":%.6g,\"flops\":%.0f,\"complete\":%s}\n",
                   cfg->name, net, PASS_NAME[pass], batch, ms, flops,
                   complete ? "true" : "false");
        } else if (flops > 0.0) {
            printf("  %-12s %12.2f ms  %9.3f GFLOP conv+matmul (%.4f GFLOP/image), %.2f "
                   "GFLOP/s%s\n",
                   what[pass_net], ms, flops * 1e-9, flops * 1e-9 / batch,
                   ms > 0.0 ? flops / (ms * 1e-3) * 1e-9 : 0.0,
                   complete ? "" : "  [INCOMPLETE: failed or filtered ops]");
        } else {
            printf("  %-12s %12.2f ms%s\n", what[pass_net], ms,
                   complete ? "" : "  [INCOMPLETE: failed or filtered ops]");
        }
    }
    fflush(stdout);
    free(r.v);
    return failures ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_ops [options]\n"
            "  --backend NAME     backend to time (default ref)\n"
            "  --config C         mnist, cifar10 or all (default all)\n"
            "  --batch N          batch size (default 64)\n"
            "  --min-time S       after the first call, repeat each op for S seconds (default 0.5)\n"
            "  --threads N        worker threads, 0 = all online CPUs (default 0)\n"
            "  --quick            min-time 0 and batch 8 for cifar10 (explicit options win)\n"
            "  --filter TEXT      only ops whose \"NET PASS OP VARIANT SHAPE\" contains TEXT\n"
            "  --json             one JSON object per line instead of the table\n"
            "  --help             this text\n"
            "Plug-in backends are looked up in $DDGAN_BACKEND_PATH, else in ../lib/ddgan\n"
            "next to this program (the build tree).\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Without DDGAN_BACKEND_PATH, look for plug-ins where the build tree puts
 * them (DDGAN_BENCH_PLUGIN_REL from the program's folder, bin/ -> lib/ddgan):
 * linked statically, the registry would only search next to the program. */
static void default_plugin_path(void)
{
    if (getenv("DDGAN_BACKEND_PATH"))
        return;
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return;
    *slash = '\0';
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", exe, DDGAN_BENCH_PLUGIN_REL);
    if (access(dir, R_OK | X_OK) == 0)
        setenv("DDGAN_BACKEND_PATH", dir, 0);
}

int main(int argc, char **argv)
{
    options o = {.backend = "ref", .config = "all", .batch = 64, .min_time = 0.5};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            o.quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (!v) {
            fprintf(stderr, "bench_ops: %s needs a value (or is unknown)\n", a);
            usage(stderr);
            return 2;
        } else if (strcmp(a, "--backend") == 0) {
            o.backend = v, i++;
        } else if (strcmp(a, "--config") == 0) {
            o.config = v, i++;
        } else if (strcmp(a, "--filter") == 0) {
            o.filter = v, i++;
        } else if (strcmp(a, "--batch") == 0) {
            if (parse_int(v, 1, 1 << 16, &o.batch) != 0) {
                fprintf(stderr, "bench_ops: --batch %s: expected an integer in [1, 65536]\n", v);
                return 2;
            }
            o.batch_set = 1, i++;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_int(v, 0, 4096, &o.threads) != 0) {
                fprintf(stderr, "bench_ops: --threads %s: expected an integer in [0, 4096]\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--min-time") == 0) {
            char *end;
            errno = 0;
            o.min_time = strtod(v, &end);
            if (errno || end == v || *end || !(o.min_time >= 0.0) || o.min_time > 3600.0) {
                fprintf(stderr, "bench_ops: --min-time %s: expected seconds in [0, 3600]\n", v);
                return 2;
            }
            o.min_time_set = 1, i++;
        } else {
            fprintf(stderr, "bench_ops: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    const bench_cfg *run[NUM_CONFIGS];
    size_t nrun = 0;
    for (size_t c = 0; c < NUM_CONFIGS; c++)
        if (strcmp(o.config, "all") == 0 || strcmp(o.config, CONFIGS[c].name) == 0)
            run[nrun++] = &CONFIGS[c];
    if (!nrun) {
        fprintf(stderr, "bench_ops: --config %s: expected mnist, cifar10 or all\n", o.config);
        return 2;
    }

    default_plugin_path();
    ddgan_context_config cc;
    ddgan_context_t ctx = NULL;
    ddgan_status_t st = ddgan_context_config_init(&cc, sizeof cc);
    if (st == DDGAN_OK) {
        cc.backend = o.backend;
        cc.num_threads = o.threads;
        st = ddgan_context_create(&ctx, &cc);
    }
    if (st != DDGAN_OK) {
        fprintf(stderr, "bench_ops: cannot create a context on backend '%s': %s: %s\n", o.backend,
                ddgan_status_string(st), ddgan_last_error());
        return 1;
    }
    ddgan_backend *be = ctx->backend;
    if (!be || !be->ops || !be->ops->compute || !be->ops->alloc || !be->ops->free ||
        !be->ops->fill_f32) {
        fprintf(stderr, "bench_ops: backend '%s' has no compute op table\n",
                ddgan_context_backend(ctx));
        ddgan_context_destroy(ctx);
        return 1;
    }

    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const int threads = ddgan_context_num_threads(ctx);
    if (o.json) {
        printf("{\"type\":\"machine\",\"nproc\":%ld,\"cpu\":", ncpu);
        json_str(stdout, cpu);
        printf(",\"backend\":");
        json_str(stdout, ddgan_context_backend(ctx));
        printf(",\"threads\":%d,\"dtype\":\"float32\",\"libddgan\":", threads);
        json_str(stdout, ddgan_version_string());
        printf(",\"compiler\":");
        json_str(stdout, COMPILER_STRING);
        printf("}\n");
    } else {
        printf("bench_ops: libddgan %s, backend %s, %d thread%s, float32\n",
               ddgan_version_string(), ddgan_context_backend(ctx), threads,
               threads == 1 ? "" : "s");
        printf("machine: %ld CPUs online, %s; compiler %s\n", ncpu, cpu, COMPILER_STRING);
        printf("rate: GFLOP/s = 2 x MACs / time for conv and matmul; GB/s = minimal bytes read + "
               "written / time for the others\n");
    }
    fflush(stdout);

    int rc = 0;
    for (size_t c = 0; c < nrun; c++)
        rc |= run_config(be, run[c], &o);

    const long rss = peak_rss_kib();
    if (o.json)
        printf("{\"type\":\"end\",\"peak_rss_kib\":%ld,\"failures\":%s}\n", rss,
               rc ? "true" : "false");
    else
        printf("\npeak RSS %.1f MiB%s\n", rss / 1024.0,
               rc ? "; SOME OPS FAILED (messages on stderr)" : "");
    ddgan_context_destroy(ctx);
    return rc;
}
