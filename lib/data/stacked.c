/*
 * StackedMNIST (reference 6.1), seeded.
 *
 * From M MNIST digits (an IDX source: 1 x H x W images, labels 0..9) and a
 * length L (default 2M, as the official 120,000 from 60,000): for each
 * channel c = 0, 1, 2 an index list of length L, the concatenation of the
 * permutations r = 0, 1, ... of 0..M-1 (ddgan__data_permutation with the
 * data seed and stream DDGAN_DATA_STREAM_STACKED + (c << 20) + r), cut to L.
 * Example j puts digit idx_c[j] on channel c; its label is
 * 100 a + 10 b + c for the digits' labels (a, b, c): 1000 modes. The official
 * code draws the lists from numpy's unseeded global RNG; here they depend
 * only on the data seed. Only the index lists are stored (12 bytes per example).
 */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"

#include <inttypes.h>

#define STACK_MAX_PERMS ((int64_t)1 << 20)

ddgan_status_t ddgan__data_open_stacked(ddgan_data_source **out, const ddgan_data_config *cfg,
                                        const char *fn)
{
    *out = NULL;
    if (cfg->channels != 0 && cfg->channels != 3)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: StackedMNIST has 3 channels, not %d", fn,
                         cfg->channels);
    if (cfg->image_size != 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: StackedMNIST is served at the digits' size "
                         "(image_size must be 0; pad 2 gives 32x32)", fn);
    ddgan_data_config bc = *cfg;
    bc.kind = DDGAN_DATA_IDX;
    bc.channels = 0;
    bc.image_size = 0;
    bc.num_examples = 0;
    ddgan_data_source *base = NULL;
    DDGAN_TRY(ddgan__data_open_idx(&base, &bc, fn));
    const char *what = cfg->path;
    ddgan_status_t st = DDGAN_OK;
    if (base->c != 1)
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "stacked mnist: %s: digits must have 1 channel", what);
    if (st == DDGAN_OK && !base->labels)
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: StackedMNIST needs the digits' labels "
                       "(labels_path)", fn);
    for (int64_t i = 0; st == DDGAN_OK && i < base->n; i++)
        if (base->labels[i] < 0 || base->labels[i] > 9)
            st = DDGAN_ERR(DDGAN_ERR_FORMAT, "stacked mnist: %s: label %" PRId64 " of digit %" PRId64
                           " is not a digit 0..9", base->labels_file ? base->labels_file : what,
                           base->labels[i], i);
    const int64_t m = base->n;
    const int64_t len = cfg->num_examples > 0 ? cfg->num_examples : 2 * m;
    if (st == DDGAN_OK && len > DDGAN_DATA_MAX_EXAMPLES)
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: StackedMNIST length %" PRId64 " exceeds %" PRId64,
                       fn, len, DDGAN_DATA_MAX_EXAMPLES);
    if (st == DDGAN_OK && (len + m - 1) / m > STACK_MAX_PERMS)
        st = DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: StackedMNIST length %" PRId64 " needs more "
                       "than %" PRId64 " permutations of %" PRId64 " digits", fn, len, STACK_MAX_PERMS, m);
    ddgan_data_source *s = NULL;
    uint32_t *perm = NULL;
    if (st == DDGAN_OK)
        st = ddgan__data_source_new(&s, DDGAN_SRC_STACKED);
    if (st == DDGAN_OK) {
        s->stack_idx = ddgan__malloc((size_t)len * 3 * sizeof(uint32_t), "stacked mnist: index lists");
        perm = ddgan__malloc((size_t)m * sizeof(uint32_t), "stacked mnist: permutation");
        if (!s->stack_idx || !perm)
            st = DDGAN_ERR_OUT_OF_MEMORY;
    }
    if (st == DDGAN_OK) {
        for (int ch = 0; ch < 3; ch++) {
            uint32_t *list = s->stack_idx + (size_t)ch * (size_t)len;
            int64_t filled = 0;
            for (int64_t r = 0; filled < len; r++) {
                ddgan__data_permutation(cfg->data_seed,
                                        DDGAN_DATA_STREAM_STACKED + ((uint64_t)ch << 20) + (uint64_t)r,
                                        (uint32_t)m, perm);
                int64_t take = len - filled < m ? len - filled : m;
                for (int64_t k = 0; k < take; k++)
                    list[filled + k] = perm[k];
                filled += take;
            }
        }
        s->n = len;
        s->c = 3;
        s->h = base->h;
        s->w = base->w;
        s->base = base;
        base = NULL;
    }
    ddgan__free(perm);
    ddgan__data_source_free(base);
    if (st != DDGAN_OK) {
        ddgan__data_source_free(s);
        return st;
    }
    *out = s;
    return DDGAN_OK;
}
