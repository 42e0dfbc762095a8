/* What the generator handle's sampling and network calls share (model/handles.h). */
#include "core/error.h"
#include "model/handles.h"

void ddgan__handle_gen_example_shape(ddgan_generator_t g, int *c, int *h, int *w, int *nz)
{
    if (g->cls == DDGAN_CLS_TOY) {
        *c = g->tcfg.data_dim;
        *h = *w = 1;
        *nz = g->tcfg.nz;
    } else {
        *c = g->cfg.num_channels;
        *h = *w = g->cfg.image_size;
        *nz = g->cfg.nz;
    }
}

ddgan_status_t ddgan__handle_gen_toy_batch(ddgan_generator_t g, int batch)
{
    ddgan_temb *temb = &g->toy.temb;
    const int dim = temb->dim;
    ddgan__temb_free(temb);
    DDGAN_TRY(ddgan__temb_init(temb, dim, batch, DDGAN_DT_F32));
    g->toy.max_batch = batch;
    return DDGAN_OK;
}

ddgan_status_t ddgan__handle_gen_raise_batch(ddgan_generator_t g, int batch)
{
    if (g->cls != DDGAN_CLS_TOY)
        return batch <= g->net.max_batch ? DDGAN_OK : ddgan__gen_set_max_batch(&g->net, batch);
    if (batch <= g->toy.temb.max_batch && batch <= g->toy.max_batch)
        return DDGAN_OK;
    return ddgan__handle_gen_toy_batch(g, batch);
}
