/* Activation layers (no parameters). */
#include "core/error.h"
#include "nn/layers.h"

ddgan_status_t ddgan__act_forward(ddgan_exec *ex, ddgan_act act, double alpha, const ddgan_tensor *x,
                                  ddgan_tensor *y)
{
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, x->n, x->c, x->h, x->w));
    return DDGAN_K(ex, act_fwd, ex->dt, act, alpha, ddgan__numel(x), x->data, y->data);
}

ddgan_status_t ddgan__act_backward(ddgan_exec *ex, ddgan_act act, double alpha,
                                   const ddgan_tensor *x, const ddgan_tensor *y,
                                   const ddgan_tensor *dy, ddgan_tensor *dx)
{
    ddgan_status_t st = DDGAN_OK;
    int acc = ddgan__grad_target(ex, dx, x->n, x->c, x->h, x->w, &st);
    if (acc < 0)
        return st;
    return DDGAN_K(ex, act_bwd, ex->dt, act, alpha, ddgan__numel(x), x->data, y ? y->data : NULL,
                   dy->data, dx->data, acc);
}
