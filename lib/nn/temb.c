/* Sinusoidal timestep embedding E(t, dim) (reference 2.2.5), evaluated on the
 * host with the official float32 operations, then copied to the device. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/layers.h"

ddgan_status_t ddgan__temb_init(ddgan_temb *e, int dim, int max_batch, ddgan_dtype dt)
{
    memset(e, 0, sizeof *e);
    if (dim < 4 || max_batch < 1)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT,
                         "timestep embedding: dim %d must be >= 4 (the frequencies divide by dim/2 - 1)",
                         dim);
    e->host = ddgan__calloc((size_t)dim * (size_t)max_batch, ddgan_dtype_size(dt), "timestep embedding");
    if (!e->host)
        return DDGAN_ERR_OUT_OF_MEMORY;
    e->dim = dim;
    e->max_batch = max_batch;
    e->dt = dt;
    return DDGAN_OK;
}

void ddgan__temb_free(ddgan_temb *e)
{
    ddgan__free(e->host);
    e->host = NULL;
}

static void embed_f32(float *out, int dim, const int64_t *t, int n)
{
    const int half = dim / 2;
    /* emb = log(10000) / (half - 1) in double; arange(half, float32) * -emb in float32 */
    const float neg = (float)-(log(10000.0) / (double)(half - 1));
    for (int b = 0; b < n; b++) {
        const float tf = (float)t[b];
        float *row = out + (size_t)b * (size_t)dim;
        for (int k = 0; k < half; k++) {
            const float w = expf((float)k * neg);
            const float a = tf * w;
            row[k] = sinf(a);
            row[half + k] = cosf(a);
        }
        if (dim % 2)
            row[dim - 1] = 0.0f;
    }
}

static void embed_f64(double *out, int dim, const int64_t *t, int n)
{
    const int half = dim / 2;
    const double neg = -(log(10000.0) / (double)(half - 1));
    for (int b = 0; b < n; b++) {
        double *row = out + (size_t)b * (size_t)dim;
        for (int k = 0; k < half; k++) {
            const double a = (double)t[b] * exp((double)k * neg);
            row[k] = sin(a);
            row[half + k] = cos(a);
        }
        if (dim % 2)
            row[dim - 1] = 0.0;
    }
}

ddgan_status_t ddgan__temb_forward(ddgan_exec *ex, ddgan_temb *e, const int64_t *t, int n,
                                   ddgan_tensor *y)
{
    if (ex->dt != e->dt)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "timestep embedding: built for %s, run in %s",
                         e->dt == DDGAN_DT_F64 ? "float64" : "float32",
                         ex->dt == DDGAN_DT_F64 ? "float64" : "float32");
    if (n > e->max_batch)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "timestep embedding: batch %d > planned %d", n,
                         e->max_batch);
    DDGAN_TRY(ddgan__tensor_alloc(ex, y, n, e->dim, 1, 1));
    if (ex->arena->planning)
        return DDGAN_OK;
    if (e->dt == DDGAN_DT_F32)
        embed_f32(e->host, e->dim, t, n);
    else
        embed_f64(e->host, e->dim, t, n);
    return ex->be->ops->copy_h2d(ex->be, y->data, e->host, ddgan__numel(y) * ex->dsz);
}
