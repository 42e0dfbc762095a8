/* "ref" Philox draws (docs/rng.md): exactly the numbers of lib/core/philox.c.
 * The range is cut into chunks of whole blocks that threads draw
 * independently (a counter-based generator needs no sequential state). */
#include "core/philox.h"
#include "ref/ref_ops.h"

/* Elements per chunk: a multiple of 4 (whole Philox blocks). */
#define REF_RAND_CHUNK 1024

typedef enum rand_kind { RAND_NORMAL, RAND_UNIFORM } rand_kind;

static void draw_chunk(rand_kind kind, ddgan_dtype dt, uint64_t seed, uint64_t stream,
                       uint64_t block, void *out, size_t off, size_t cnt)
{
    if (dt == DDGAN_DT_F32) {
        float *o = (float *)out + off;
        if (kind == RAND_NORMAL)
            ddgan__philox_normal(seed, stream, block, o, cnt);
        else
            ddgan__philox_uniform(seed, stream, block, o, cnt);
        return;
    }
    double *o = (double *)out + off;
    if (kind == RAND_NORMAL) {
        ddgan__philox_normal_f64(seed, stream, block, o, cnt);
        return;
    }
    float tmp[REF_RAND_CHUNK]; /* F64 uniforms are the float uniforms widened */
    ddgan__philox_uniform(seed, stream, block, tmp, cnt);
    for (size_t i = 0; i < cnt; i++)
        o[i] = (double)tmp[i];
}

static ddgan_status_t rand_run(ddgan_backend *be, const char *op, rand_kind kind, ddgan_dtype dt,
                               size_t n, uint64_t seed, uint64_t stream, uint64_t first_block,
                               void *out)
{
    DDGAN_TRY(ddgan__ref_check_common(be, op, dt, 0));
    if (n > (size_t)REF_MAX_ELEMS)
        return REF_INVALID("%s: n = %zu too large", op, n);
    if (n == 0)
        return DDGAN_OK;
    if (!out)
        return REF_INVALID("%s: out must not be NULL", op);
    const int64_t chunks = (int64_t)((n + REF_RAND_CHUNK - 1) / REF_RAND_CHUNK);
    const int ref_nt = ddgan__ref_team(be, chunks, 50.0 * (double)n);
    (void)ref_nt;
    REF_PARALLEL_FOR
    for (int64_t q = 0; q < chunks; q++) {
        const size_t off = (size_t)q * REF_RAND_CHUNK;
        const size_t cnt = n - off < REF_RAND_CHUNK ? n - off : REF_RAND_CHUNK;
        draw_chunk(kind, dt, seed, stream, first_block + (uint64_t)q * (REF_RAND_CHUNK / 4), out,
                   off, cnt);
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__ref_rand_normal(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                      uint64_t stream, uint64_t first_block, void *out)
{
    return rand_run(be, "rand_normal", RAND_NORMAL, dt, n, seed, stream, first_block, out);
}

ddgan_status_t ddgan__ref_rand_uniform(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                       uint64_t stream, uint64_t first_block, void *out)
{
    return rand_run(be, "rand_uniform", RAND_UNIFORM, dt, n, seed, stream, first_block, out);
}
