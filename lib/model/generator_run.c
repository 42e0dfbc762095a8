/*
 * NCSN++ generator: forward (reference 2.3-2.6) and backward to the
 * parameters, over the node list compiled by generator.c.
 *
 * Forward order: zemb = z_transform(z) (PixelNorm, then every dense layer
 * followed by SiLU); temb = Linear_1(SiLU(Linear_0(E(t, nf)))) (E = the
 * sinusoidal embedding, or the Fourier features); x <- 2x - 1 unless
 * centred; the nodes; tanh unless not_use_tanh. Each residual block applies
 * SiLU to temb before its Dense_0; SiLU(temb) is computed once and shared.
 *
 * Memory: a recording forward keeps what the backward needs in the arena
 * (residual blocks keep only Conv_0's output and the resampled shortcut: the
 * backward recomputes their norms, see block_forward). A sampling forward (acts NULL) allocates x0 first and releases everything
 * else at the end; inside each residual block and attention it already
 * releases the block's internals (the node output is allocated first, the
 * internals are computed above it and released once the output is written).
 * The backward allocates each value's gradient (zeroed) when it is first
 * needed and releases every node's temporaries right after the node.
 */
#include "model/generator.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"

#define SQRT1_2 0.70710678118654752440
#define SQRT2 1.41421356237309504880
#define PI_D 3.14159265358979323846

static double merge_scale(const ddgan_gen_net *net) { return net->cfg.skip_rescale ? SQRT1_2 : 1.0; }

/* y (already allocated, same shape) = alpha * x */
static ddgan_status_t scale_into(ddgan_exec *ex, double alpha, const ddgan_tensor *x, void *y)
{
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, x->n, x->c, x->h, x->w);
    return DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, alpha, 0.0, x->data, y, 0);
}

static ddgan_status_t silu(ddgan_exec *ex, const ddgan_tensor *x, ddgan_tensor *y)
{
    return ddgan__act_forward(ex, DDGAN_ACT_SILU, 0.0, x, y);
}

static ddgan_status_t silu_bwd(ddgan_exec *ex, const ddgan_tensor *x, const ddgan_tensor *dy,
                               ddgan_tensor *dx)
{
    return ddgan__act_backward(ex, DDGAN_ACT_SILU, 0.0, x, NULL, dy, dx);
}

/* ------------------------------------------------------------------------ */
/* Time embedding */

/*
 * GaussianFourierProjection (reference 2.7): with W = all_modules.0.W (frozen),
 *   x = ln(t);  p = x * W * 2 * pi  (evaluated left to right, in float32 for a
 *   float32 network, pi rounded to float32 as PyTorch does for a Python
 *   scalar);  E = [sin(p), cos(p)]
 * The official DDGAN loop feeds the integer index t here, so t = 0 gives
 * ln 0 = -inf and the embedding (and that example's output) is NaN. This is
 * reproduced as is.
 */
static ddgan_status_t fourier_forward(ddgan_exec *ex, ddgan_gen_net *net, const int64_t *t, int n,
                                      ddgan_tensor *y)
{
    const int nf = net->cfg.num_channels_dae;
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, n, 2 * nf, 1, 1));
    if (ex->arena->planning)
        return DDGAN_OK;
    const size_t emb = (size_t)net->max_batch * 2 * (size_t)nf;
    if (ex->dt == DDGAN_DT_F32) {
        float *out = net->fourier_host, *w = out + emb;
        DDGAN_TRY(ex->be->ops->copy_d2h(ex->be, w, ddgan__param_ptr(ex, net->fourier_w_off),
                                        (size_t)nf * sizeof *w));
        const float pi = (float)PI_D;
        for (int b = 0; b < n; b++) {
            const float lt = logf((float)t[b]);
            for (int k = 0; k < nf; k++) {
                float p = lt * w[k];
                p = p * 2.0f;
                p = p * pi;
                out[(size_t)b * 2 * nf + k] = sinf(p);
                out[(size_t)b * 2 * nf + nf + k] = cosf(p);
            }
        }
    } else {
        double *out = net->fourier_host, *w = out + emb;
        DDGAN_TRY(ex->be->ops->copy_d2h(ex->be, w, ddgan__param_ptr(ex, net->fourier_w_off),
                                        (size_t)nf * sizeof *w));
        for (int b = 0; b < n; b++) {
            const double lt = log((double)t[b]);
            for (int k = 0; k < nf; k++) {
                const double p = lt * w[k] * 2.0 * PI_D;
                out[(size_t)b * 2 * nf + k] = sin(p);
                out[(size_t)b * 2 * nf + nf + k] = cos(p);
            }
        }
    }
    return ex->be->ops->copy_h2d(ex->be, y->data, net->fourier_host, ddgan__numel(y) * ex->dsz);
}

/* ------------------------------------------------------------------------ */
/* Residual block (reference 2.3) */

/* a = GroupNorm_1(c0): AdaGN, or the plain affine GroupNorm of the oneadagn
 * variant (statistics in sp) */
static ddgan_status_t block_norm1(ddgan_exec *ex, const ddgan_gblock *b, const ddgan_tensor *c0,
                                  const ddgan_tensor *zemb, ddgan_adagn_saved *s,
                                  ddgan_gn_saved *sp, ddgan_tensor *a)
{
    if (b->one_adagn)
        return ddgan__group_norm_forward(ex, &b->gn1_plain, c0, sp, a);
    return ddgan__adagn_forward(ex, &b->gn1, c0, zemb, s, a);
}

/* h0r = h0 = SiLU(a0), resampled in up / down blocks */
static ddgan_status_t block_resample0(ddgan_exec *ex, const ddgan_gen_net *net,
                                      const ddgan_gblock *b, const ddgan_tensor *h0,
                                      ddgan_tensor *h0r)
{
    if (b->up)
        return ddgan__fir_up_forward(ex, &net->fir, h0, h0r);
    if (b->down)
        return ddgan__fir_down_forward(ex, &net->fir, h0, h0r);
    *h0r = *h0;
    return DDGAN_OK;
}

/* h0r = the resampled SiLU(a0) of the residual branch */
static ddgan_status_t block_h0r(ddgan_exec *ex, const ddgan_gen_net *net, const ddgan_gblock *b,
                                const ddgan_tensor *a0, ddgan_tensor *h0r)
{
    ddgan_tensor h0;
    DDGAN_TRY(silu(ex, a0, &h0));
    return block_resample0(ex, net, b, &h0, h0r);
}

/* h1 = SiLU(GroupNorm_1(c0)), fused for AdaGN (the forward keeps neither
 * the norm nor a1: the backward recomputes them, with the same bits) */
static ddgan_status_t block_h1(ddgan_exec *ex, const ddgan_gblock *b, const ddgan_tensor *c0,
                               const ddgan_tensor *zemb, ddgan_tensor *h1)
{
    if (b->one_adagn) {
        ddgan_gn_saved sp;
        ddgan_tensor a1;
        DDGAN_TRY(ddgan__group_norm_forward(ex, &b->gn1_plain, c0, &sp, &a1));
        return silu(ex, &a1, h1);
    }
    return ddgan__adagn_act_forward(ex, &b->gn1, c0, zemb, DDGAN_ACT_SILU, 0.0, h1);
}

/* The block input: x, or (cat set) the skip concatenation before the block,
 * which a recording forward does not keep (ddgan_gnode.fused): recomputed
 * from the concatenation's inputs as a temporary. */
static ddgan_status_t block_input(ddgan_exec *ex, const ddgan_gen_acts *rec, const ddgan_gnode *cat,
                                  const ddgan_tensor *x, ddgan_tensor *xt)
{
    if (!cat) {
        *xt = *x;
        return DDGAN_OK;
    }
    return ddgan__concat_forward(ex, &rec->val[cat->in0], &rec->val[cat->in1], xt);
}

/* xr = the shortcut: x, resampled in up / down blocks */
static ddgan_status_t block_xr(ddgan_exec *ex, const ddgan_gen_net *net, const ddgan_gblock *b,
                               const ddgan_tensor *x, ddgan_tensor *xr)
{
    if (b->up)
        return ddgan__fir_up_forward(ex, &net->fir, x, xr);
    if (b->down)
        return ddgan__fir_down_forward(ex, &net->fir, x, xr);
    *xr = *x;
    return DDGAN_OK;
}

/*
 * Memory: the record keeps only Conv_0's output c0 (+ Dense_0), with the
 * block output (a value). The norms' outputs a0 = AdaGN_0(x) and
 * a1 = GroupNorm_1(c0) (with their GN(x) copies and statistics), the SiLUs,
 * the resampled branch and shortcut, Conv_1's and the skip conv's outputs
 * are computed above a mark and released as soon as the conv they feed has
 * written its output: the backward recomputes them from x and c0 with the
 * same layer functions (bit-identical values; one AdaGN, one GroupNorm, two
 * SiLUs and at most two FIRs per block, no convolution), for several
 * activations of the block's size less per block in the training step's
 * peak (the recorded generator dominates it). The forward itself runs each
 * AdaGN with its SiLU as one fused op (ddgan__adagn_act_forward: no GN(x)
 * copy, no a0 / a1), which gives the same bits as the backward's unfused
 * recomputation. With cat set (a recording
 * forward, x = the up path's skip concatenation, not kept), x itself is
 * recomputed where it is read, here and in the backward: a copy, for one
 * activation of the input's size less per up-path block.
 */
static ddgan_status_t block_forward(ddgan_exec *ex, const ddgan_gen_net *net, const ddgan_gblock *b,
                                    const ddgan_tensor *x_in, const ddgan_gnode *cat,
                                    const ddgan_gen_acts *rec, ddgan_gblock_acts *ra, int keep,
                                    ddgan_tensor *out)
{
    ddgan_tensor xt; /* x_in, or the concatenation recomputed */
    const ddgan_tensor *x = x_in;
    const int ho = b->up ? 2 * x->h : b->down ? x->h / 2 : x->h;
    const int wo = b->up ? 2 * x->w : b->down ? x->w / 2 : x->w;
    const ddgan_tensor *zemb = &rec->zact[net->n_z_dense - 1];
    DDGAN_TRY(ddgan__tensor_alloc(ex, out, x->n, b->c_out, ho, wo));
    const size_t mark = ddgan__arena_mark(ex->arena);
    /* Conv_0(resample(silu(AdaGN_0(x, zemb)))) into c0, allocated first:
     * the norm and what follows it are released once c0 is written */
    DDGAN_TRY(ddgan__tensor_alloc(ex, &ra->c0, x->n, b->c_out, ho, wo));
    const size_t m1 = ddgan__arena_mark(ex->arena);
    ddgan_tensor h0, h0r;
    DDGAN_TRY(block_input(ex, rec, cat, x_in, &xt));
    DDGAN_TRY(ddgan__adagn_act_forward(ex, &b->gn0, &xt, zemb, DDGAN_ACT_SILU, 0.0, &h0));
    DDGAN_TRY(block_resample0(ex, net, b, &h0, &h0r));
    DDGAN_TRY(ddgan__conv_forward_into(ex, &b->conv0, &h0r, &ra->c0));
    ddgan__arena_release(ex->arena, m1);
    if (net->cfg.conditional) {
        /* h += Dense_0(silu(temb)) */
        ddgan_tensor tp;
        DDGAN_TRY(ddgan__dense_forward(ex, &b->dense0, &rec->temb_act, &tp));
        DDGAN_TRY(ddgan__add_channel_bias(ex, &ra->c0, &tp, &ra->c0));
        ddgan__arena_release(ex->arena, m1);
    }
    /* h1 = silu(GroupNorm_1(c0)); Dropout(p = 0) is the identity; then
     * Conv_1, the shortcut, the merge into out */
    ddgan_tensor h1, c1, xr, sk;
    DDGAN_TRY(block_h1(ex, b, &ra->c0, zemb, &h1));
    DDGAN_TRY(ddgan__conv_forward(ex, &b->conv1, &h1, &c1));
    DDGAN_TRY(block_input(ex, rec, cat, x_in, &xt));
    DDGAN_TRY(block_xr(ex, net, b, &xt, &xr));
    sk = xr;
    if (b->has_skip_conv)
        DDGAN_TRY(ddgan__conv_forward(ex, &b->conv2, &xr, &sk));
    const double r = merge_scale(net);
    ddgan_ew_desc d;
    ddgan__ew_dense(&d, ex->dt, out->n, out->c, out->h, out->w);
    DDGAN_TRY(DDGAN_K(ex, binary, &d, DDGAN_BIN_AXPBY, r, r, sk.data, c1.data, out->data, 0));
    ddgan__arena_release(ex->arena, keep ? m1 : mark);
    return DDGAN_OK;
}

/* A zeroed gradient buffer shaped like v (accumulated into afterwards). */
static ddgan_status_t zeroed_like(ddgan_exec *ex, const ddgan_tensor *v, ddgan_tensor *g)
{
    DDGAN_TRY(ddgan__tensor_alloc(ex, g, v->n, v->c, v->h, v->w));
    return ddgan__tensor_zero(ex, g);
}

/*
 * Memory: besides recomputing what the forward released, the backward runs
 * in phases, each above a mark released at its end, with the gradients that
 * cross a phase (dc0, dh0r, da0) allocated zeroed before the mark and
 * accumulated into: the GroupNorm_1 branch down to dc0; Conv_0 down to
 * dh0r; the first SiLU down to da0; AdaGN_0 and the shortcut down to dx.
 * The order of every accumulation (dx, dzemb, dtemb_act, the weight
 * gradients) is the same as without the phases.
 */
static ddgan_status_t block_backward(ddgan_exec *ex, const ddgan_gen_net *net,
                                     const ddgan_gblock *b, const ddgan_tensor *x_in,
                                     const ddgan_gnode *cat, const ddgan_gen_acts *rec,
                                     const ddgan_gblock_acts *ra,
                                     const ddgan_tensor *g, ddgan_tensor *dx, ddgan_tensor *dzemb,
                                     ddgan_tensor *dtemb_act)
{
    const ddgan_tensor *zemb = &rec->zact[net->n_z_dense - 1];
    const double r = merge_scale(net);
    ddgan_tensor dh = {0}, dc0;
    /* out = r (shortcut + Conv_1(h1)) */
    DDGAN_TRY(ddgan__axpby_backward(ex, r, 0.0, g, &dh, NULL));
    DDGAN_TRY(zeroed_like(ex, &ra->c0, &dc0));
    ddgan_tensor xt; /* x_in, or the concatenation recomputed (read by phases 2 and 3) */
    DDGAN_TRY(block_input(ex, rec, cat, x_in, &xt));
    const ddgan_tensor *x = &xt;
    /* 1. a1 = GroupNorm_1(c0) (its statistics) and h1 = silu(a1), recomputed */
    const size_t m1 = ddgan__arena_mark(ex->arena);
    {
        ddgan_adagn_saved s1;
        ddgan_gn_saved s1p;
        ddgan_tensor a1, h1, dh1 = {0}, da1 = {0};
        DDGAN_TRY(block_norm1(ex, b, &ra->c0, zemb, &s1, &s1p, &a1));
        DDGAN_TRY(silu(ex, &a1, &h1));
        DDGAN_TRY(ddgan__conv_backward(ex, &b->conv1, &h1, &dh, &dh1));
        DDGAN_TRY(silu_bwd(ex, &a1, &dh1, &da1));
        if (b->one_adagn)
            DDGAN_TRY(ddgan__group_norm_backward(ex, &b->gn1_plain, &ra->c0, &s1p, &da1, &dc0));
        else
            DDGAN_TRY(ddgan__adagn_backward(ex, &b->gn1, &ra->c0, zemb, &s1, &da1, &dc0, dzemb));
        if (net->cfg.conditional) {
            ddgan_tensor dtp = {0};
            DDGAN_TRY(ddgan__add_channel_bias_backward(ex, &dc0, &dtp));
            DDGAN_TRY(ddgan__dense_backward(ex, &b->dense0, &rec->temb_act, &dtp, dtemb_act));
        }
    }
    ddgan__arena_release(ex->arena, m1);
    /* 2. AdaGN_0's style, statistics and GN(x) (kept to its backward), then
     * a0 = AdaGN_0(x, zemb) and h0r = resample(silu(a0)), recomputed for
     * Conv_0's backward into dh0r and released; a0 recomputed once more
     * (two elementwise passes) for the SiLU's backward into da0, so that
     * neither copy of a0 is held under AdaGN_0's backward */
    ddgan_adagn_saved s0;
    ddgan_tensor da0, dh0r;
    DDGAN_TRY(ddgan__tensor_alloc(ex, &dh0r, x->n, x->c, ra->c0.h, ra->c0.w));
    DDGAN_TRY(ddgan__tensor_zero(ex, &dh0r));
    DDGAN_TRY(ddgan__adagn_stats(ex, &b->gn0, x, zemb, &s0));
    const size_t m2 = ddgan__arena_mark(ex->arena);
    {
        ddgan_tensor a0, h0r;
        DDGAN_TRY(ddgan__adagn_apply(ex, &b->gn0, &s0, &a0));
        DDGAN_TRY(block_h0r(ex, net, b, &a0, &h0r));
        DDGAN_TRY(ddgan__conv_backward(ex, &b->conv0, &h0r, &dc0, &dh0r));
    }
    ddgan__arena_release(ex->arena, m2);
    DDGAN_TRY(zeroed_like(ex, x, &da0));
    const size_t m3 = ddgan__arena_mark(ex->arena);
    {
        ddgan_tensor a0, dh0 = {0};
        if (b->up)
            DDGAN_TRY(ddgan__fir_up_backward(ex, &net->fir, &dh0r, &dh0));
        else if (b->down)
            DDGAN_TRY(ddgan__fir_down_backward(ex, &net->fir, &dh0r, &dh0));
        else
            dh0 = dh0r;
        DDGAN_TRY(ddgan__adagn_apply(ex, &b->gn0, &s0, &a0));
        DDGAN_TRY(silu_bwd(ex, &a0, &dh0, &da0));
    }
    ddgan__arena_release(ex->arena, m3);
    /* 3. AdaGN_0, then the shortcut (its resampled input recomputed) */
    DDGAN_TRY(ddgan__adagn_backward(ex, &b->gn0, x, zemb, &s0, &da0, dx, dzemb));
    ddgan__arena_release(ex->arena, m1);
    if (b->has_skip_conv) {
        if (b->up || b->down) {
            ddgan_tensor xr, dxr = {0};
            DDGAN_TRY(block_xr(ex, net, b, x, &xr));
            DDGAN_TRY(ddgan__conv_backward(ex, &b->conv2, &xr, &dh, dx ? &dxr : NULL));
            if (dx && b->up)
                DDGAN_TRY(ddgan__fir_up_backward(ex, &net->fir, &dxr, dx));
            else if (dx)
                DDGAN_TRY(ddgan__fir_down_backward(ex, &net->fir, &dxr, dx));
        } else {
            DDGAN_TRY(ddgan__conv_backward(ex, &b->conv2, x, &dh, dx));
        }
    } else if (dx) {
        DDGAN_TRY(ddgan__axpby_backward(ex, r, 0.0, g, dx, NULL));
    }
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Nodes */

static ddgan_status_t node_forward(ddgan_exec *ex, const ddgan_gen_net *net, ddgan_gen_acts *rec,
                                   int i, int keep)
{
    const ddgan_gnode *n = &net->nodes[i];
    const ddgan_tensor *in0 = &rec->val[n->in0];
    const ddgan_tensor *in1 = n->in1 >= 0 ? &rec->val[n->in1] : NULL;
    ddgan_tensor *out = &rec->val[n->out];
    ddgan_gnode_acts *na = &rec->node[i];
    switch (n->op) {
    case DDGAN_GOP_CONV:
        return ddgan__conv_forward(ex, &net->convs[n->mod], in0, out);
    case DDGAN_GOP_CONV_DOWN:
        return ddgan__fir_conv_down_forward(ex, &net->cdowns[n->mod], in0, &na->blurred, out);
    case DDGAN_GOP_FIR_DOWN:
        return ddgan__fir_down_forward(ex, &net->fir, in0, out);
    case DDGAN_GOP_FIR_UP:
        return ddgan__fir_up_forward(ex, &net->fir, in0, out);
    case DDGAN_GOP_GROUPNORM:
        return ddgan__group_norm_forward(ex, &net->gns[n->mod], in0, &na->gn, out);
    case DDGAN_GOP_SILU:
        return silu(ex, in0, out);
    case DDGAN_GOP_CONCAT:
        if (keep && n->fused) {
            /* not kept: the residual block after it recomputes it */
            *out = ddgan__tensor(NULL, in0->n, in0->c + in1->c, in0->h, in0->w);
            return DDGAN_OK;
        }
        return ddgan__concat_forward(ex, in0, in1, out);
    case DDGAN_GOP_SUM:
        return ddgan__axpby_forward(ex, n->alpha, in0, n->beta, in1, out);
    case DDGAN_GOP_RESBLOCK:
        return block_forward(ex, net, &net->blocks[n->mod], in0,
                             keep && i > 0 && net->nodes[i - 1].fused ? &net->nodes[i - 1] : NULL,
                             rec, &na->rb, keep, out);
    case DDGAN_GOP_ATTN: {
        /* skip_rescale = 0: x + h = sqrt 2 * the layer's (x + h) / sqrt 2.
         * A recording forward keeps the layer's saved tensors: recomputing
         * them in the backward would take about 300 MB off the CIFAR-10
         * training step's peak but cost about 3% of the step's time (the
         * softmax and the batched matmuls) */
        const double s = net->cfg.skip_rescale ? 1.0 : SQRT2;
        if (keep) {
            DDGAN_TRY(ddgan__attn_forward(ex, &net->attns[n->mod], in0, &na->at, out));
            return s != 1.0 ? scale_into(ex, s, out, out->data) : DDGAN_OK;
        }
        DDGAN_TRY(ddgan__tensor_alloc(ex, out, in0->n, in0->c, in0->h, in0->w));
        const size_t mark = ddgan__arena_mark(ex->arena);
        ddgan_tensor y;
        DDGAN_TRY(ddgan__attn_forward(ex, &net->attns[n->mod], in0, &na->at, &y));
        DDGAN_TRY(scale_into(ex, s, &y, out->data));
        ddgan__arena_release(ex->arena, mark);
        return DDGAN_OK;
    }
    }
    return DDGAN_ERR(DDGAN_ERR_INTERNAL, "generator: unknown node op %d", (int)n->op);
}

static ddgan_status_t node_backward(ddgan_exec *ex, const ddgan_gen_net *net, ddgan_gen_acts *rec,
                                    int i, ddgan_tensor *dzemb, ddgan_tensor *dtemb_act)
{
    const ddgan_gnode *n = &net->nodes[i];
    const ddgan_tensor *in0 = &rec->val[n->in0];
    const ddgan_tensor *g = &rec->grad[n->out];
    ddgan_tensor *d0 = net->vshape[n->in0].needs_grad ? &rec->grad[n->in0] : NULL;
    ddgan_tensor *d1 = n->in1 >= 0 && net->vshape[n->in1].needs_grad ? &rec->grad[n->in1] : NULL;
    const ddgan_gnode_acts *na = &rec->node[i];
    switch (n->op) {
    case DDGAN_GOP_CONV:
        return ddgan__conv_backward(ex, &net->convs[n->mod], in0, g, d0);
    case DDGAN_GOP_CONV_DOWN:
        return ddgan__fir_conv_down_backward(ex, &net->cdowns[n->mod], &na->blurred, g, d0);
    case DDGAN_GOP_FIR_DOWN:
        return d0 ? ddgan__fir_down_backward(ex, &net->fir, g, d0) : DDGAN_OK;
    case DDGAN_GOP_FIR_UP:
        return d0 ? ddgan__fir_up_backward(ex, &net->fir, g, d0) : DDGAN_OK;
    case DDGAN_GOP_GROUPNORM:
        return ddgan__group_norm_backward(ex, &net->gns[n->mod], in0, &na->gn, g, d0);
    case DDGAN_GOP_SILU:
        return d0 ? silu_bwd(ex, in0, g, d0) : DDGAN_OK;
    case DDGAN_GOP_CONCAT:
        return d0 || d1 ? ddgan__concat_backward(ex, g, d0, d1) : DDGAN_OK;
    case DDGAN_GOP_SUM:
        return ddgan__axpby_backward(ex, n->alpha, n->beta, g, d0, d1);
    case DDGAN_GOP_RESBLOCK:
        return block_backward(ex, net, &net->blocks[n->mod], in0,
                              i > 0 && net->nodes[i - 1].fused ? &net->nodes[i - 1] : NULL, rec,
                              &na->rb, g, d0, dzemb, dtemb_act);
    case DDGAN_GOP_ATTN: {
        ddgan_tensor gs = *g;
        if (!net->cfg.skip_rescale) {
            gs.data = NULL;
            DDGAN_TRY(ddgan__axpby_backward(ex, SQRT2, 0.0, g, &gs, NULL));
        }
        return ddgan__attn_backward(ex, &net->attns[n->mod], in0, &na->at, &gs, d0);
    }
    }
    return DDGAN_ERR(DDGAN_ERR_INTERNAL, "generator: unknown node op %d", (int)n->op);
}

/* ------------------------------------------------------------------------ */
/* Forward */

static ddgan_status_t forward_body(ddgan_exec *ex, ddgan_gen_net *net, const ddgan_tensor *x,
                                   const int64_t *t, const ddgan_tensor *z, ddgan_gen_acts *rec,
                                   int keep, ddgan_tensor *x0)
{
    const ddgan_gen_config *c = &net->cfg;
    const int B = x->n;
    /* z mapping: PixelNorm, then (dense, SiLU) x (n_mlp + 1) */
    rec->z = ddgan__tensor(z->data, B, c->nz, 1, 1);
    DDGAN_TRY(ddgan__pixelnorm_forward(ex, &rec->z, &rec->pn, &rec->zn));
    const ddgan_tensor *in = &rec->zn;
    for (int j = 0; j < net->n_z_dense; j++) {
        DDGAN_TRY(ddgan__dense_forward(ex, &net->z_dense[j], in, &rec->zpre[j]));
        DDGAN_TRY(silu(ex, &rec->zpre[j], &rec->zact[j]));
        in = &rec->zact[j];
    }
    /* time */
    if (net->fourier)
        DDGAN_TRY(fourier_forward(ex, net, t, B, &rec->temb_sin));
    else
        DDGAN_TRY(ddgan__temb_forward(ex, &net->temb, t, B, &rec->temb_sin));
    if (c->conditional) {
        DDGAN_TRY(ddgan__dense_forward(ex, &net->t_dense0, &rec->temb_sin, &rec->t0));
        DDGAN_TRY(silu(ex, &rec->t0, &rec->t0a));
        DDGAN_TRY(ddgan__dense_forward(ex, &net->t_dense1, &rec->t0a, &rec->temb));
        DDGAN_TRY(silu(ex, &rec->temb, &rec->temb_act)); /* what every Dense_0 receives */
    }
    /* input */
    if (c->centered) {
        rec->val[0] = *x;
    } else {
        /* x <- 2x - 1 */
        DDGAN_TRY(ddgan__tensor_alloc(ex, &rec->val[0], x->n, x->c, x->h, x->w));
        ddgan_ew_desc d;
        ddgan__ew_dense(&d, ex->dt, x->n, x->c, x->h, x->w);
        DDGAN_TRY(DDGAN_K(ex, unary, &d, DDGAN_UN_SCALE, 2.0, -1.0, x->data, rec->val[0].data, 0));
    }
    for (int i = 0; i < net->n_nodes; i++)
        DDGAN_TRY(node_forward(ex, net, rec, i, keep));
    /* output */
    const ddgan_tensor *pre = &rec->val[net->n_nodes];
    if (keep) {
        if (c->not_use_tanh)
            rec->out = *pre;
        else
            DDGAN_TRY(ddgan__act_forward(ex, DDGAN_ACT_TANH, 0.0, pre, &rec->out));
        return scale_into(ex, 1.0, &rec->out, x0->data);
    }
    if (c->not_use_tanh)
        return scale_into(ex, 1.0, pre, x0->data);
    return DDGAN_K(ex, act_fwd, ex->dt, DDGAN_ACT_TANH, 0.0, ddgan__numel(pre), pre->data,
                   x0->data);
}

ddgan_status_t ddgan__gen_forward(ddgan_exec *ex, ddgan_gen_net *net, const ddgan_tensor *x,
                                  const int64_t *t, const ddgan_tensor *z, ddgan_gen_acts *acts,
                                  ddgan_tensor *x0)
{
    if (!ex || !net || !x || !t || !z || !x0 || !net->rec)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator forward: NULL argument");
    const ddgan_gen_config *c = &net->cfg;
    if (ex->dt != net->dt)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator forward: network built for %s, run in %s",
                         net->dt == DDGAN_DT_F64 ? "float64" : "float32",
                         ex->dt == DDGAN_DT_F64 ? "float64" : "float32");
    const int B = x->n, S = c->image_size;
    if (B < 1 || B > net->max_batch)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator forward: batch %d not in 1..%d (max_batch)", B, net->max_batch);
    if (x->c != c->num_channels || x->h != S || x->w != S)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator forward: x is [%d,%d,%d,%d], expected [%d,%d,%d,%d] "
                         "(num_channels, image_size)",
                         x->n, x->c, x->h, x->w, B, c->num_channels, S, S);
    if (z->n != B || (long long)z->c * z->h * z->w != c->nz)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator forward: z is [%d,%d,%d,%d], expected [%d,%d,1,1] (nz)", z->n,
                         z->c, z->h, z->w, B, c->nz);
    if (x0->data && (x0->n != B || x0->c != c->num_channels || x0->h != S || x0->w != S))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator forward: x0 is [%d,%d,%d,%d], expected [%d,%d,%d,%d]", x0->n,
                         x0->c, x0->h, x0->w, B, c->num_channels, S, S);
    if (acts && acts != net->rec)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator forward: acts is not this network's record (acts_create)");
    if (!x0->data)
        DDGAN_TRY(ddgan__tensor_alloc(ex, x0, B, c->num_channels, S, S));
    const int keep = acts != NULL;
    ddgan_gen_acts *rec = keep ? acts : net->scratch;
    rec->recorded = 0;
    rec->batch = B;
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_status_t st = forward_body(ex, net, x, t, z, rec, keep, x0);
    if (st != DDGAN_OK || !keep) {
        ddgan__arena_release(ex->arena, mark);
        return st;
    }
    rec->recorded = 1;
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Backward */

/*
 * Memory: the value gradients of the backward. A value's gradient is needed
 * from its first consumer's backward (in reverse node order) until its
 * producer's backward is done; in a U-Net the long-lived skip gradients sit
 * between short-lived ones, so a stack would keep every gradient to the end
 * of the backward (about the recorded values' size again). They live instead
 * in one pool allocated from the arena, at offsets planned on the host by a
 * first-fit allocator over these lifetimes: the pool holds only the
 * gradients alive at the same time. The plan depends on the node list and
 * the shapes only, so the planning run and every real run agree.
 */
#define GOFF_NONE ((size_t)-1)

static size_t grad_bytes(const ddgan_exec *ex, const ddgan_tensor *v)
{
    const size_t b = ddgan__numel(v) * ex->dsz;
    return (b + DDGAN_ARENA_ALIGN - 1) / DDGAN_ARENA_ALIGN * DDGAN_ARENA_ALIGN;
}

/* First fit of value v's gradient among the live ones (kept sorted by offset). */
static void pool_take(const ddgan_exec *ex, ddgan_gen_acts *rec, int *nlive, size_t *high, int v)
{
    const size_t need = grad_bytes(ex, &rec->val[v]);
    size_t at = 0;
    int k = 0;
    for (; k < *nlive; k++) {
        const int u = rec->glive[k];
        if (rec->goff[u] >= at + need)
            break;
        at = rec->goff[u] + grad_bytes(ex, &rec->val[u]);
    }
    memmove(rec->glive + k + 1, rec->glive + k, (size_t)(*nlive - k) * sizeof *rec->glive);
    rec->glive[k] = v;
    (*nlive)++;
    rec->goff[v] = at;
    if (at + need > *high)
        *high = at + need;
}

static void pool_give(ddgan_gen_acts *rec, int *nlive, int v)
{
    for (int k = 0; k < *nlive; k++)
        if (rec->glive[k] == v) {
            memmove(rec->glive + k, rec->glive + k + 1, (size_t)(*nlive - k - 1) * sizeof *rec->glive);
            (*nlive)--;
            return;
        }
}

/* Plans the offsets of the value gradients (the same walk as backward_body);
 * returns the pool size in bytes. */
static size_t plan_grad_pool(const ddgan_exec *ex, const ddgan_gen_net *net, ddgan_gen_acts *rec)
{
    const int nv = net->n_nodes + 1;
    for (int v = 0; v < nv; v++)
        rec->goff[v] = GOFF_NONE;
    int nlive = 0;
    size_t high = 0;
    pool_take(ex, rec, &nlive, &high, net->n_nodes);
    for (int i = net->n_nodes - 1; i >= 0; i--) {
        const ddgan_gnode *n = &net->nodes[i];
        if (rec->goff[n->out] == GOFF_NONE)
            continue; /* nothing reaches this value */
        const int ins[2] = {n->in0, n->in1};
        for (int k = 0; k < 2; k++)
            if (ins[k] >= 0 && net->vshape[ins[k]].needs_grad && rec->goff[ins[k]] == GOFF_NONE)
                pool_take(ex, rec, &nlive, &high, ins[k]);
        pool_give(rec, &nlive, n->out);
    }
    return high;
}

/* Value v's gradient at its planned place in the pool, zeroed (accumulated
 * into afterwards). */
static ddgan_status_t pool_grad(ddgan_exec *ex, ddgan_gen_acts *rec, void *pool, int v)
{
    const ddgan_tensor *x = &rec->val[v];
    rec->grad[v] = ddgan__tensor((void *)((uintptr_t)pool + rec->goff[v]), x->n, x->c, x->h, x->w);
    return ddgan__tensor_zero(ex, &rec->grad[v]);
}

static ddgan_status_t backward_body(ddgan_exec *ex, ddgan_gen_net *net, ddgan_gen_acts *rec,
                                    const ddgan_tensor *dx0)
{
    const ddgan_gen_config *c = &net->cfg;
    const int nv = net->n_nodes + 1;
    for (int v = 0; v < nv; v++)
        rec->grad[v] = ddgan__tensor(NULL, 0, 0, 0, 0);
    const ddgan_tensor *zemb = &rec->zact[net->n_z_dense - 1];
    ddgan_tensor dzemb, dtemb_act = {0};
    DDGAN_TRY(zeroed_like(ex, zemb, &dzemb));
    if (c->conditional)
        DDGAN_TRY(zeroed_like(ex, &rec->temb_act, &dtemb_act));
    void *pool;
    DDGAN_TRY(ddgan__arena_alloc(ex->arena, plan_grad_pool(ex, net, rec), &pool));
    /* through tanh into the last value */
    const ddgan_tensor *pre = &rec->val[net->n_nodes];
    DDGAN_TRY(pool_grad(ex, rec, pool, net->n_nodes));
    if (c->not_use_tanh)
        DDGAN_TRY(ddgan__axpby_backward(ex, 1.0, 0.0, dx0, &rec->grad[net->n_nodes], NULL));
    else
        DDGAN_TRY(ddgan__act_backward(ex, DDGAN_ACT_TANH, 0.0, pre, &rec->out, dx0,
                                      &rec->grad[net->n_nodes]));
    for (int i = net->n_nodes - 1; i >= 0; i--) {
        const ddgan_gnode *n = &net->nodes[i];
        if (!rec->grad[n->out].data)
            continue; /* nothing reached this value */
        const int ins[2] = {n->in0, n->in1};
        for (int k = 0; k < 2; k++)
            if (ins[k] >= 0 && net->vshape[ins[k]].needs_grad && !rec->grad[ins[k]].data)
                DDGAN_TRY(pool_grad(ex, rec, pool, ins[k]));
        const size_t mark = ddgan__arena_mark(ex->arena);
        DDGAN_TRY(node_backward(ex, net, rec, i, &dzemb, c->conditional ? &dtemb_act : NULL));
        ddgan__arena_release(ex->arena, mark);
        /* the gradient at node i's output is dead: the plan reuses its place */
    }
    /* time path: temb = Linear_1(silu(Linear_0(E))) */
    if (c->conditional) {
        ddgan_tensor dtemb = {0}, dt0a = {0}, dt0 = {0};
        DDGAN_TRY(silu_bwd(ex, &rec->temb, &dtemb_act, &dtemb));
        DDGAN_TRY(ddgan__dense_backward(ex, &net->t_dense1, &rec->t0a, &dtemb, &dt0a));
        DDGAN_TRY(silu_bwd(ex, &rec->t0, &dt0a, &dt0));
        DDGAN_TRY(ddgan__dense_backward(ex, &net->t_dense0, &rec->temb_sin, &dt0, NULL));
    }
    /* z mapping (PixelNorm has no parameters: stop at the first dense layer) */
    ddgan_tensor gz = dzemb;
    for (int j = net->n_z_dense - 1; j >= 0; j--) {
        ddgan_tensor dpre = {0}, dprev = {0};
        DDGAN_TRY(silu_bwd(ex, &rec->zpre[j], &gz, &dpre));
        DDGAN_TRY(ddgan__dense_backward(ex, &net->z_dense[j], j ? &rec->zact[j - 1] : &rec->zn,
                                        &dpre, j ? &dprev : NULL));
        gz = dprev;
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__gen_backward(ddgan_exec *ex, ddgan_gen_net *net, ddgan_gen_acts *acts,
                                   const ddgan_tensor *dx0)
{
    if (!ex || !net || !acts || !dx0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator backward: NULL argument");
    if (acts != net->rec || !acts->recorded)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator backward: no recorded forward (pass acts to the forward)");
    const ddgan_tensor *o = &acts->out;
    if (dx0->n != o->n || dx0->c != o->c || dx0->h != o->h || dx0->w != o->w)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "generator backward: dx0 is [%d,%d,%d,%d], the output [%d,%d,%d,%d]",
                         dx0->n, dx0->c, dx0->h, dx0->w, o->n, o->c, o->h, o->w);
    if (ex->dt != net->dt)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "generator backward: dtype mismatch");
    if (!ex->grads)
        return DDGAN_OK;
    const size_t mark = ddgan__arena_mark(ex->arena);
    ddgan_status_t st = backward_body(ex, net, acts, dx0);
    ddgan__arena_release(ex->arena, mark);
    return st;
}
