#include "train/netops.h"

#include "core/error.h"

ddgan_status_t ddgan__net_g_forward(ddgan_exec *ex, ddgan_generator_t g, const ddgan_tensor *x,
                                    const int64_t *t, const ddgan_tensor *z, ddgan_g_record *rec,
                                    ddgan_tensor *x0)
{
    *x0 = ddgan__tensor(NULL, 0, 0, 0, 0);
    if (g->cls == DDGAN_CLS_TOY)
        return ddgan__toy_gen_forward(ex, &g->toy, x, t, z, rec ? &rec->toy : NULL, x0);
    ddgan_gen_acts *acts = NULL;
    if (rec) {
        DDGAN_TRY(ddgan__gen_acts_create(ex, &g->net, &acts));
        rec->img = acts;
    }
    return ddgan__gen_forward(ex, &g->net, x, t, z, acts, x0);
}

ddgan_status_t ddgan__net_g_backward(ddgan_exec *ex, ddgan_generator_t g, ddgan_g_record *rec,
                                     const ddgan_tensor *dx0)
{
    if (g->cls == DDGAN_CLS_TOY)
        return ddgan__toy_gen_backward(ex, &g->toy, &rec->toy, dx0);
    return ddgan__gen_backward(ex, &g->net, rec->img, dx0);
}

ddgan_status_t ddgan__net_d_forward(ddgan_exec *ex, ddgan_discriminator_t d, const ddgan_tensor *x_prev,
                                    const int64_t *t, const ddgan_tensor *x_t, ddgan_d_record *rec,
                                    ddgan_tensor *logits)
{
    if (d->cls == DDGAN_CLS_TOY) {
        DDGAN_TRY(ddgan__toy_disc_forward(ex, &d->toy, x_prev, t, x_t, &rec->toy));
        *logits = rec->toy.out;
        return DDGAN_OK;
    }
    DDGAN_TRY(ddgan__disc_forward(ex, &d->net, x_prev, t, x_t, &rec->img));
    *logits = rec->img.logits;
    return DDGAN_OK;
}

ddgan_status_t ddgan__net_d_backward(ddgan_exec *ex, ddgan_discriminator_t d, ddgan_d_record *rec,
                                     const ddgan_tensor *dlogits, ddgan_tensor *dx_prev)
{
    if (d->cls == DDGAN_CLS_TOY)
        return ddgan__toy_disc_backward(ex, &d->toy, &rec->toy, dlogits, dx_prev);
    return ddgan__disc_backward(ex, &d->net, &rec->img, dlogits, dx_prev);
}

ddgan_status_t ddgan__net_d_r1(ddgan_exec *ex, ddgan_discriminator_t d, ddgan_d_record *rec,
                               double gamma, double *penalty)
{
    if (d->cls == DDGAN_CLS_TOY)
        return ddgan__toy_disc_r1(ex, &d->toy, &rec->toy, gamma, NULL, penalty);
    return ddgan__disc_r1(ex, &d->net, &rec->img, gamma, NULL, penalty);
}

static ddgan_status_t grow_temb(ddgan_temb *e, int batch)
{
    if (batch <= e->max_batch)
        return DDGAN_OK;
    const int dim = e->dim;
    const ddgan_dtype dt = e->dt;
    ddgan__temb_free(e);
    return ddgan__temb_init(e, dim, batch, dt);
}

ddgan_status_t ddgan__net_set_max_batch(ddgan_generator_t g, ddgan_discriminator_t d, int batch)
{
    if (g->cls == DDGAN_CLS_TOY) {
        DDGAN_TRY(grow_temb(&g->toy.temb, batch));
        if (g->toy.max_batch < batch)
            g->toy.max_batch = batch;
    } else {
        if (batch > g->net.max_batch)
            DDGAN_TRY(ddgan__gen_set_max_batch(&g->net, batch));
    }
    if (d->cls == DDGAN_CLS_TOY) {
        DDGAN_TRY(grow_temb(&d->toy.temb, batch));
        if (d->toy.max_batch < batch)
            d->toy.max_batch = batch;
        return DDGAN_OK;
    }
    return grow_temb(&d->net.temb, batch);
}
