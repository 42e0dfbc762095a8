/* FIR up/down-sampling (upfirdn2d semantics, reference 2.2.7) and the FIR
 * conv-downsample of the input pyramid. */
#include <math.h>

#include "core/error.h"
#include "nn/layers.h"

ddgan_status_t ddgan__fir_init(ddgan_fir *f, const double *kernel, int taps)
{
    if (taps < 1 || taps > DDGAN_UPFIRDN_MAX_TAPS)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "fir_kernel: %d taps not in [1, %d]", taps,
                         DDGAN_UPFIRDN_MAX_TAPS);
    double sum = 0.0;
    for (int i = 0; i < taps; i++) {
        if (!isfinite(kernel[i]))
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "fir_kernel: tap %d is not finite", i);
        sum += kernel[i];
    }
    if (!(fabs(sum) > 0.0))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "fir_kernel: taps sum to zero");
    f->taps = taps;
    /* upfirdn2d *convolves*; the backend op correlates, so the taps are
     * stored flipped (the official [1,3,3,1] is symmetric anyway) */
    for (int i = 0; i < taps; i++)
        f->k[i] = kernel[taps - 1 - i] / sum;
    for (int i = taps; i < DDGAN_UPFIRDN_MAX_TAPS; i++)
        f->k[i] = 0.0;
    return DDGAN_OK;
}

/* desc for x with up/down and pads; per-axis gain g multiplies the taps */
static ddgan_status_t make_desc(const ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *x,
                                int up, int down, int pad0, int pad1, double gain,
                                ddgan_upfirdn_desc *d)
{
    d->dtype = ex->dt;
    d->n = x->n;
    d->c = x->c;
    d->h = x->h;
    d->w = x->w;
    d->up = up;
    d->down = down;
    d->pad0 = pad0;
    d->pad1 = pad1;
    d->taps = f->taps;
    for (int i = 0; i < DDGAN_UPFIRDN_MAX_TAPS; i++)
        d->kernel[i] = f->k[i] * gain;
    if (ddgan__upfirdn_desc_finish(d) != 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "FIR resampling: input %dx%d too small for %d taps",
                         x->h, x->w, f->taps);
    return DDGAN_OK;
}

/* upsample_2d: factor 2, gain 4 (2 per axis), p = taps - 2 */
static ddgan_status_t up_desc(const ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *x,
                              ddgan_upfirdn_desc *d)
{
    int p = f->taps - 2;
    return make_desc(ex, f, x, 2, 1, (p + 1) / 2 + 1, p / 2, 2.0, d);
}

/* downsample_2d: factor 2, gain 1 */
static ddgan_status_t down_desc(const ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *x,
                                ddgan_upfirdn_desc *d)
{
    int p = f->taps - 2;
    return make_desc(ex, f, x, 1, 2, (p + 1) / 2, p / 2, 1.0, d);
}

static ddgan_status_t run_fwd(ddgan_exec *ex, const ddgan_upfirdn_desc *d, const ddgan_tensor *x,
                              ddgan_tensor *y)
{
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, d->n, d->c, d->h_out, d->w_out));
    return DDGAN_K(ex, upfirdn_fwd, d, x->data, y->data, 0);
}

static ddgan_status_t run_bwd(ddgan_exec *ex, const ddgan_upfirdn_desc *d, const ddgan_tensor *dy,
                              ddgan_tensor *dx)
{
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, dx, d->n, d->c, d->h, d->w, &st);
    if (acc < 0)
        return st;
    return DDGAN_K(ex, upfirdn_bwd, d, dy->data, dx->data, acc);
}

/* The backward needs the input shape; an x2 resampling fixes it from dy. */
static ddgan_tensor shape_only(int n, int c, int h, int w) { return ddgan__tensor(NULL, n, c, h, w); }

ddgan_status_t ddgan__fir_up_forward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *x,
                                     ddgan_tensor *y)
{
    ddgan_upfirdn_desc d;
    DDGAN_TRY(up_desc(ex, f, x, &d));
    return run_fwd(ex, &d, x, y);
}

ddgan_status_t ddgan__fir_up_backward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *dy,
                                      ddgan_tensor *dx)
{
    ddgan_tensor x = shape_only(dy->n, dy->c, dy->h / 2, dy->w / 2);
    ddgan_upfirdn_desc d;
    DDGAN_TRY(up_desc(ex, f, &x, &d));
    return run_bwd(ex, &d, dy, dx);
}

ddgan_status_t ddgan__fir_down_forward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *x,
                                       ddgan_tensor *y)
{
    if (x->h % 2 || x->w % 2)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "FIR downsample: odd size %dx%d", x->h, x->w);
    ddgan_upfirdn_desc d;
    DDGAN_TRY(down_desc(ex, f, x, &d));
    return run_fwd(ex, &d, x, y);
}

ddgan_status_t ddgan__fir_down_forward_into(ddgan_exec *ex, const ddgan_fir *f,
                                            const ddgan_tensor *x, const ddgan_tensor *y)
{
    if (x->h % 2 || x->w % 2)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "FIR downsample: odd size %dx%d", x->h, x->w);
    ddgan_upfirdn_desc d;
    DDGAN_TRY(down_desc(ex, f, x, &d));
    if (y->n != d.n || y->c != d.c || y->h != d.h_out || y->w != d.w_out || !y->data)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "FIR downsample: output [%d,%d,%d,%d] does not fit [%d,%d,%d,%d]",
                         y->n, y->c, y->h, y->w, d.n, d.c, d.h_out, d.w_out);
    return DDGAN_K(ex, upfirdn_fwd, &d, x->data, y->data, 0);
}

ddgan_status_t ddgan__fir_down_backward(ddgan_exec *ex, const ddgan_fir *f, const ddgan_tensor *dy,
                                        ddgan_tensor *dx)
{
    ddgan_tensor x = shape_only(dy->n, dy->c, dy->h * 2, dy->w * 2);
    ddgan_upfirdn_desc d;
    DDGAN_TRY(down_desc(ex, f, &x, &d));
    return run_bwd(ex, &d, dy, dx);
}

/* ------------------------------------------------------------------------ */

ddgan_status_t ddgan__fir_conv_down_init(ddgan_fir_conv_down *L, ddgan_param_table *pt,
                                         const char *name, int c_in, int c_out, int k,
                                         const ddgan_fir *fir, double init_scale)
{
    L->fir = *fir;
    return ddgan__conv_init(&L->conv, pt, name, c_in, c_out, k, 2, 0, 1,
                            DDGAN_INIT_FAN_AVG_UNIFORM, init_scale);
}

static ddgan_status_t blur_desc(const ddgan_exec *ex, const ddgan_fir_conv_down *L,
                                const ddgan_tensor *x, ddgan_upfirdn_desc *d)
{
    int p = (L->fir.taps - 2) + (L->conv.k - 1);
    return make_desc(ex, &L->fir, x, 1, 1, (p + 1) / 2, p / 2, 1.0, d);
}

ddgan_status_t ddgan__fir_conv_down_forward(ddgan_exec *ex, const ddgan_fir_conv_down *L,
                                            const ddgan_tensor *x, ddgan_tensor *blurred,
                                            ddgan_tensor *y)
{
    ddgan_upfirdn_desc d;
    DDGAN_TRY(blur_desc(ex, L, x, &d));
    DDGAN_TRY(run_fwd(ex, &d, x, blurred));
    return ddgan__conv_forward(ex, &L->conv, blurred, y);
}

ddgan_status_t ddgan__fir_conv_down_backward(ddgan_exec *ex, const ddgan_fir_conv_down *L,
                                             const ddgan_tensor *blurred, const ddgan_tensor *dy,
                                             ddgan_tensor *dx)
{
    ddgan_tensor dblur = ddgan__tensor(NULL, 0, 0, 0, 0);
    DDGAN_TRY(ddgan__conv_backward(ex, &L->conv, blurred, dy, dx ? &dblur : NULL));
    if (!dx)
        return DDGAN_OK;
    /* the blur keeps size + p - taps + 1: recover the input size */
    int p = (L->fir.taps - 2) + (L->conv.k - 1);
    int grow = p - L->fir.taps + 1;
    ddgan_tensor x = shape_only(blurred->n, blurred->c, blurred->h - grow, blurred->w - grow);
    ddgan_upfirdn_desc d;
    DDGAN_TRY(blur_desc(ex, L, &x, &d));
    return run_bwd(ex, &d, &dblur, dx);
}
