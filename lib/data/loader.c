/*
 * The loader: per-epoch permutations, drop-last batching, padding, flips and
 * the position (docs/data.md).
 *
 * Epoch e serves the examples perm_e[0], perm_e[1], ... in batches; perm_e is
 * ddgan__data_permutation(seed, DDGAN_DATA_STREAM_SHUFFLE + e, N) (the
 * identity without shuffling). A batch that does not fit in what remains of
 * the epoch starts the next epoch instead (the rest is dropped). The example
 * in slot k of epoch e is flipped horizontally when word k of stream
 * DDGAN_DATA_STREAM_FLIP + e (loader seed) has its top bit set. Everything
 * served therefore depends only on (seed, epoch, slot): a loader moved to a
 * saved position serves exactly what an uninterrupted one serves.
 */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"
#include "core/philox.h"

#include <inttypes.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Permutations                                                             */
/* ------------------------------------------------------------------------ */

#define WS_WORDS 64 /* 16 blocks per refill */

typedef struct word_stream {
    uint64_t seed, stream, block;
    uint32_t buf[WS_WORDS];
    int pos;
} word_stream;

static uint32_t ws_next(word_stream *ws)
{
    if (ws->pos == WS_WORDS) {
        ddgan__philox_u32(ws->seed, ws->stream, ws->block, ws->buf, WS_WORDS);
        ws->block += WS_WORDS / 4;
        ws->pos = 0;
    }
    return ws->buf[ws->pos++];
}

/* Uniform in [0, range), range >= 1: Lemire's multiply-shift with rejection. */
static uint32_t ws_bounded(word_stream *ws, uint32_t range)
{
    uint64_t m = (uint64_t)ws_next(ws) * range;
    uint32_t low = (uint32_t)m;
    if (low < range) {
        const uint32_t threshold = (uint32_t)(0u - range) % range; /* 2^32 mod range */
        while (low < threshold) {
            m = (uint64_t)ws_next(ws) * range;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void ddgan__data_permutation(uint64_t seed, uint64_t stream, uint32_t n, uint32_t *perm)
{
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    word_stream ws;
    ws.seed = seed;
    ws.stream = stream;
    ws.block = 0;
    ws.pos = WS_WORDS;
    for (uint32_t i = n; i-- > 1;) {
        uint32_t j = ws_bounded(&ws, i + 1);
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ------------------------------------------------------------------------ */
/* Serving examples                                                         */
/* ------------------------------------------------------------------------ */

/* Example `ex` into out (served shape), flipped when asked. */
static ddgan_status_t emit(struct ddgan_dataset *ds, int64_t ex, int flip, float *out, int64_t *label)
{
    if (ds->pad == 0 && !flip)
        return ddgan__data_source_get(ds->src, ex, out, label);
    DDGAN_TRY(ddgan__data_source_get(ds->src, ex, ds->scratch, label));
    const int sh = ds->src_h, sw = ds->src_w, p = ds->pad, H = ds->h, W = ds->w;
    for (int c = 0; c < ds->c; c++) {
        const float *in = ds->scratch + (size_t)c * (size_t)sh * (size_t)sw;
        float *o = out + (size_t)c * (size_t)H * (size_t)W;
        if (p > 0) {
            for (size_t k = 0; k < (size_t)H * (size_t)W; k++)
                o[k] = -1.0f; /* the background: u8 0 -> (0/255 - 0.5)/0.5 */
        }
        for (int y = 0; y < sh; y++) {
            const float *row = in + (size_t)y * (size_t)sw;
            float *orow = o + (size_t)(y + p) * (size_t)W + (size_t)p;
            if (flip) {
                for (int x = 0; x < sw; x++)
                    orow[x] = row[sw - 1 - x];
            } else {
                memcpy(orow, row, (size_t)sw * sizeof(float));
            }
        }
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__data_get(struct ddgan_dataset *ds, int64_t index, float *out, int64_t *label,
                               const char *fn)
{
    DDGAN_TRY(ddgan__data_check(ds, fn));
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if (index < 0 || index >= ds->n)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: index %" PRId64 " not in [0, %" PRId64 ")", fn,
                         index, ds->n);
    return emit(ds, index, 0, out, label);
}

ddgan_status_t ddgan__data_next_batch(struct ddgan_dataset *ds, size_t batch, float *out,
                                      int64_t *labels, const char *fn)
{
    DDGAN_TRY(ddgan__data_check(ds, fn));
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if (batch < 1 || batch > (size_t)ds->n)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: batch %zu not in [1, %" PRId64 "] (the "
                         "dataset's size)", fn, batch, ds->n);
    int64_t epoch = ds->epoch, index = ds->index;
    if (index + (int64_t)batch > ds->n) {
        if (epoch + 1 >= DDGAN_DATA_MAX_EPOCH)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: epoch %" PRId64 " is the last one the "
                             "loader can serve", fn, epoch);
        epoch++;
        index = 0;
    }
    if (ds->shuffle && ds->perm_epoch != epoch) {
        ddgan__data_permutation(ds->seed, DDGAN_DATA_STREAM_SHUFFLE + (uint64_t)epoch, (uint32_t)ds->n,
                                ds->perm);
        ds->perm_epoch = epoch;
    }
    const size_t stride = (size_t)ds->c * (size_t)ds->h * (size_t)ds->w;
    uint32_t words[4];
    int64_t words_block = -1;
    for (size_t k = 0; k < batch; k++) {
        const int64_t slot = index + (int64_t)k;
        const int64_t ex = ds->shuffle ? (int64_t)ds->perm[slot] : slot;
        int flip = 0;
        if (ds->hflip) {
            if (slot / 4 != words_block) {
                words_block = slot / 4;
                ddgan__philox_u32(ds->seed, DDGAN_DATA_STREAM_FLIP + (uint64_t)epoch,
                                  (uint64_t)words_block, words, 4);
            }
            flip = (int)(words[slot % 4] >> 31);
        }
        DDGAN_TRY(emit(ds, ex, flip, out + k * stride, labels ? &labels[k] : NULL));
    }
    ds->epoch = epoch;
    ds->index = index + (int64_t)batch;
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* Position                                                                 */
/* ------------------------------------------------------------------------ */

void ddgan__data_get_position(const struct ddgan_dataset *ds, int64_t *epoch, int64_t *index)
{
    if (epoch)
        *epoch = ds->epoch;
    if (index)
        *index = ds->index;
}

ddgan_status_t ddgan__data_set_position(struct ddgan_dataset *ds, int64_t epoch, int64_t index,
                                        const char *fn)
{
    DDGAN_TRY(ddgan__data_check(ds, fn));
    if (epoch < 0 || epoch >= DDGAN_DATA_MAX_EPOCH)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: epoch %" PRId64 " not in [0, 2^40)", fn, epoch);
    if (index < 0 || index > ds->n)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: index %" PRId64 " not in [0, %" PRId64 "]", fn,
                         index, ds->n);
    ds->epoch = epoch;
    ds->index = index;
    return DDGAN_OK;
}

void ddgan__data_get_state(const struct ddgan_dataset *ds, int64_t state[DDGAN_DATA_STATE_LEN])
{
    state[0] = ds->epoch;
    state[1] = ds->index;
    state[2] = ds->n;
    int64_t seed;
    memcpy(&seed, &ds->seed, sizeof seed);
    state[3] = seed;
    state[4] = ds->shuffle;
}

ddgan_status_t ddgan__data_set_state(struct ddgan_dataset *ds,
                                     const int64_t state[DDGAN_DATA_STATE_LEN], const char *fn)
{
    DDGAN_TRY(ddgan__data_check(ds, fn));
    if (!state)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: state is NULL", fn);
    uint64_t seed;
    memcpy(&seed, &state[3], sizeof seed);
    if (state[2] != ds->n)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: the saved data position is for %" PRId64
                         " examples, this dataset has %" PRId64, fn, state[2], ds->n);
    if (seed != ds->seed)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: the saved data position is for loader seed %"
                         PRIu64 ", this dataset has seed %" PRIu64, fn, seed, ds->seed);
    if (state[4] != ds->shuffle)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: the saved data position is for shuffle %" PRId64
                         ", this dataset has shuffle %d", fn, state[4], ds->shuffle);
    return ddgan__data_set_position(ds, state[0], state[1], fn);
}
