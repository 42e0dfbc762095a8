/* Device pieces of the sampling chain: draw layout and posterior step. */
#include "diffusion/sampler.h"

#include <math.h>

#include "core/error.h"
#include "core/philox.h"

void ddgan__sample_layout_init(ddgan_sample_layout *l, size_t per_example, size_t nz, int T)
{
    l->x_blocks = ddgan__philox_blocks(per_example);
    l->z_blocks = ddgan__philox_blocks(nz);
    l->T = T;
}

/* Steps run i = T-1 first: step i is the (T-1-i)-th after x_init. */
uint64_t ddgan__sample_block_z(const ddgan_sample_layout *l, int i)
{
    const uint64_t j = (uint64_t)(l->T - 1 - i);
    return l->x_blocks + j * (l->z_blocks + l->x_blocks);
}

uint64_t ddgan__sample_block_eps(const ddgan_sample_layout *l, int i)
{
    return ddgan__sample_block_z(l, i) + l->z_blocks;
}

ddgan_status_t ddgan__sample_draw(ddgan_exec *ex, uint64_t seed, uint64_t first_index, int batch,
                                  size_t count, uint64_t block, void *out)
{
    if (ex->arena->planning)
        return DDGAN_OK;
    if (ex->dt != DDGAN_DT_F32)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "sampler: draws are float32 only");
    char *o = out;
    for (int b = 0; b < batch; b++)
        DDGAN_TRY(ex->k->rand_normal(ex->be, DDGAN_DT_F32, count, seed,
                                     DDGAN_SAMPLE_STREAM_BASE + first_index + (uint64_t)b, block,
                                     o + (size_t)b * count * sizeof(float)));
    return DDGAN_OK;
}

ddgan_status_t ddgan__posterior_device(ddgan_exec *ex, const struct ddgan_schedule *s, const int64_t *t,
                                       float *host_scratch, void *coef_dev, const ddgan_tensor *x0,
                                       const ddgan_tensor *x_tp1, const ddgan_tensor *eps,
                                       ddgan_tensor *out)
{
    const int B = x0->n;
    const size_t per = ddgan__numel(x0) / (size_t)(B > 0 ? B : 1);
    if (B < 1 || x_tp1->n != B || eps->n != B || out->n != B || ddgan__numel(x_tp1) != ddgan__numel(x0) ||
        ddgan__numel(eps) != ddgan__numel(x0) || ddgan__numel(out) != ddgan__numel(x0))
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "sampler: posterior operands differ in shape");
    if (ex->dt != DDGAN_DT_F32)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "sampler: posterior is float32 only");
    if (ex->arena->planning)
        return DDGAN_OK;
    /* the official float32 coefficients, per example (as the host helper
     * ddgan_schedule_sample_posterior computes them) */
    ddgan__schedule_posterior_coefs(s, t, B, host_scratch, host_scratch + B, host_scratch + 2 * B);
    DDGAN_TRY(ex->be->ops->copy_h2d(ex->be, coef_dev, host_scratch, 3 * (size_t)B * sizeof(float)));
    /* [B, 1, 1, per]: the coefficient broadcasts over an example (stride 0) */
    ddgan_ew_desc d = {0};
    d.dtype = DDGAN_DT_F32;
    d.shape[0] = B;
    d.shape[1] = d.shape[2] = 1;
    d.shape[3] = (int64_t)per;
    d.a_strides[0] = 1;
    d.b_strides[0] = (int64_t)per;
    d.b_strides[3] = 1;
    const float *cd = coef_dev;
    DDGAN_TRY(ex->k->binary(ex->be, &d, DDGAN_BIN_MUL, 1.0, 0.0, cd, x0->data, out->data, 0));
    DDGAN_TRY(ex->k->binary(ex->be, &d, DDGAN_BIN_MUL, 1.0, 0.0, cd + B, x_tp1->data, out->data, 1));
    return ex->k->binary(ex->be, &d, DDGAN_BIN_MUL, 1.0, 0.0, cd + 2 * B, eps->data, out->data, 1);
}
