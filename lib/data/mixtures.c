/*
 * 2-D Gaussian mixtures, generated on the fly from the data seed:
 *
 *   GRID25: 25 components, means (a, b) for a, b in {-4, -2, 0, 2, 4}
 *           (component k = 5 i + j has mean (-4 + 2 i, -4 + 2 j)), sigma 0.05;
 *   RING8:  8 components, mean r (cos 2 pi k / 8, sin 2 pi k / 8), radius r
 *           (default 1), sigma 0.01.
 *
 * Example i: component k = floor(w * K / 2^32) with w the i-th 32-bit word
 * of stream DDGAN_DATA_STREAM_MIXTURE + 0 (words 4b..4b+3 from block b), and
 * x = mean_k + sigma * (z0, z1) with z0, z1 the first two normals of block i
 * of stream DDGAN_DATA_STREAM_MIXTURE + 1 (docs/rng.md's Box-Muller, in
 * double), rounded once to float32. The label is k. Nothing is stored: an
 * example depends only on (data_seed, i).
 */
#include "data/data_internal.h"

#include "core/error.h"

#include <math.h>

ddgan_status_t ddgan__data_open_mixture(ddgan_data_source **out, const ddgan_data_config *cfg,
                                        const char *fn)
{
    *out = NULL;
    const int grid = cfg->kind == DDGAN_DATA_GRID25;
    double sigma = cfg->sigma != 0.0 ? cfg->sigma : (grid ? 0.05 : 0.01);
    double radius = cfg->radius != 0.0 ? cfg->radius : 1.0;
    if (!(sigma > 0.0) || !isfinite(sigma))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: sigma %g must be positive and finite", fn, sigma);
    if (!grid && (!(radius > 0.0) || !isfinite(radius)))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: radius %g must be positive and finite", fn,
                         radius);
    if (grid && cfg->radius != 0.0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: radius applies to the ring, not the grid", fn);
    ddgan_data_source *s = NULL;
    DDGAN_TRY(ddgan__data_source_new(&s, DDGAN_SRC_MIXTURE));
    s->n = cfg->num_examples > 0 ? cfg->num_examples : DDGAN_DATA_MIXTURE_DEFAULT_N;
    s->c = 2;
    s->h = s->w = 1;
    s->sigma = sigma;
    s->data_seed = cfg->data_seed;
    if (grid) {
        s->ncomp = 25;
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) {
                s->means[5 * i + j][0] = -4.0 + 2.0 * i;
                s->means[5 * i + j][1] = -4.0 + 2.0 * j;
            }
    } else {
        s->ncomp = 8;
        const double two_pi = 6.283185307179586476925286766559;
        for (int k = 0; k < 8; k++) {
            s->means[k][0] = radius * cos(two_pi * k / 8.0);
            s->means[k][1] = radius * sin(two_pi * k / 8.0);
        }
    }
    *out = s;
    return DDGAN_OK;
}
