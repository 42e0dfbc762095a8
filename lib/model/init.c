#include "model/init.h"

#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/philox.h"

/* "scale 0" is replaced by 1e-10 in the official helpers (weights tiny but non-zero) */
static double nonzero(double s) { return s == 0.0 ? 1e-10 : s; }

static void fans(const ddgan_param *p, double *fan_in, double *fan_out)
{
    double receptive = 1.0;
    for (int i = 2; i < p->ndim; i++)
        receptive *= (double)p->shape[i];
    *fan_in = (p->ndim >= 2 ? (double)p->shape[1] : 1.0) * receptive;
    *fan_out = (double)p->shape[0] * receptive;
}

double ddgan__init_bound(const ddgan_param *p)
{
    double fi, fo;
    fans(p, &fi, &fo);
    switch (p->init) {
    case DDGAN_INIT_FAN_AVG_UNIFORM: /* layers.default_init: variance scaling, fan_avg, uniform */
        return sqrt(3.0 * nonzero(p->init_scale) / ((fi + fo) / 2.0));
    case DDGAN_INIT_FAN_OUT_UNIFORM: /* dense_layer helpers: effectively fan_out (reference 4b) */
        return sqrt(3.0 * nonzero(p->init_scale) / fmax(1.0, fo));
    case DDGAN_INIT_FAN_IN_UNIFORM: /* PyTorch's nn.Linear/Conv default: U(+-scale/sqrt(fan_in)) */
        return p->init_scale / sqrt(p->fan_in > 0 ? (double)p->fan_in : fi);
    default:
        return 0.0;
    }
}

ddgan_status_t ddgan__init_params(const ddgan_param_table *t, uint64_t seed, uint64_t stream,
                                  double *out)
{
    memset(out, 0, t->total * sizeof *out);
    uint64_t block = 0;
    for (size_t i = 0; i < t->n; i++) {
        const ddgan_param *p = &t->p[i];
        double *dst = out + p->offset;
        switch (p->init) {
        case DDGAN_INIT_ZERO:
            break;
        case DDGAN_INIT_ONES:
            for (size_t k = 0; k < p->count; k++)
                dst[k] = 1.0;
            break;
        case DDGAN_INIT_STYLE_BIAS: /* AdaGN style bias: gamma part 1, beta part 0 */
            for (size_t k = 0; k < p->count / 2; k++)
                dst[k] = 1.0;
            break;
        case DDGAN_INIT_FAN_AVG_UNIFORM:
        case DDGAN_INIT_FAN_OUT_UNIFORM:
        case DDGAN_INIT_FAN_IN_UNIFORM: {
            const double b = ddgan__init_bound(p);
            for (size_t k = 0; k < p->count; k += 4) {
                float u[4];
                ddgan__philox_uniform(seed, stream, block + k / 4, u, 4);
                for (size_t q = 0; q < 4 && k + q < p->count; q++)
                    dst[k + q] = (2.0 * (double)u[q] - 1.0) * b;
            }
            break;
        }
        case DDGAN_INIT_NORMAL: {
            for (size_t k = 0; k < p->count; k += 4) {
                double z[4];
                ddgan__philox_normal_f64(seed, stream, block + k / 4, z, 4);
                for (size_t q = 0; q < 4 && k + q < p->count; q++)
                    dst[k + q] = z[q] * p->init_scale;
            }
            break;
        }
        default:
            return DDGAN_ERR(DDGAN_ERR_INTERNAL, "init: parameter %s has unknown init kind %d", p->name,
                             (int)p->init);
        }
        block += ddgan__philox_blocks(p->count);
    }
    return DDGAN_OK;
}
