/* "cpu" upfirdn2d and its adjoint in float32, separably: per axis a table
 * lists, for every output sample, the input samples and taps it gathers
 * (the upsampling zeros and the padding are simply absent), then each plane
 * is filtered along rows into a temporary and along columns into the
 * output. The backward is the same two passes with the transposed tables.
 * float64 and invalid arguments go to the ref ops. */
#include <string.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu/cpu_backend.h"
#include "ref/ref_ops.h"

/* The inputs of one output sample along one axis. */
typedef struct fir_tap {
    int cnt;
    int idx[DDGAN_UPFIRDN_MAX_TAPS];
    float w[DDGAN_UPFIRDN_MAX_TAPS];
} fir_tap;

static int fir_fast(const ddgan_backend *be, const ddgan_upfirdn_desc *in, int accumulate,
                    ddgan_upfirdn_desc *d)
{
    if (!be || !be->state || !in || in->dtype != DDGAN_DT_F32 || (accumulate != 0 && accumulate != 1))
        return 0;
    *d = *in;
    if (d->n < 1 || d->c < 1 || d->h < 1 || d->w < 1 || d->h > REF_MAX_DIM || d->w > REF_MAX_DIM ||
        d->up < 1 || d->down < 1 || d->up > 64 || d->down > 64 || d->pad0 < 0 || d->pad1 < 0 ||
        d->pad0 > REF_MAX_DIM || d->pad1 > REF_MAX_DIM || d->taps < 1 ||
        d->taps > DDGAN_UPFIRDN_MAX_TAPS || ddgan__upfirdn_desc_finish(d) != 0)
        return 0;
    int64_t nx, ny;
    return !ddgan__ref_count4(d->n, d->c, d->h, d->w, &nx) &&
           !ddgan__ref_count4(d->n, d->c, d->h_out, d->w_out, &ny);
}

/* Forward table: output o gathers u[o*down + t - pad0] = x[(o*down + t - pad0) / up]. */
static void table_fwd(const ddgan_upfirdn_desc *d, int n_in, int n_out, fir_tap *tab)
{
    for (int o = 0; o < n_out; o++) {
        fir_tap *e = &tab[o];
        e->cnt = 0;
        for (int t = 0; t < d->taps; t++) {
            const int64_t u = (int64_t)o * d->down + t - d->pad0;
            if (u < 0 || u % d->up != 0 || u / d->up >= n_in)
                continue;
            e->idx[e->cnt] = (int)(u / d->up);
            e->w[e->cnt] = (float)d->kernel[t];
            e->cnt++;
        }
    }
}

/* Adjoint table: input i receives from outputs o with o*down = i*up + pad0 - t. */
static void table_bwd(const ddgan_upfirdn_desc *d, int n_in, int n_out, fir_tap *tab)
{
    for (int i = 0; i < n_in; i++) {
        fir_tap *e = &tab[i];
        e->cnt = 0;
        for (int t = 0; t < d->taps; t++) {
            const int64_t s = (int64_t)i * d->up + d->pad0 - t;
            if (s < 0 || s % d->down != 0 || s / d->down >= n_out)
                continue;
            e->idx[e->cnt] = (int)(s / d->down);
            e->w[e->cnt] = (float)d->kernel[t];
            e->cnt++;
        }
    }
}

/* dp (+)= rows(ly) o cols(lx) applied to the plane s; tmp holds hs x wd
 * column-filtered rows and one output row. */
CPU_MULTIVERSION
static void fir_plane(const fir_tap *ly, const fir_tap *lx, int64_t hs, int64_t ws, int64_t hd, int64_t wd,
                      const float *s, float *dp, int accumulate, float *tmp)
{
    float *row = tmp + hs * wd;
    for (int64_t r = 0; r < hs; r++) {
        const float *srow = s + r * ws;
        float *trow = tmp + r * wd;
        for (int64_t c = 0; c < wd; c++) {
            const fir_tap *e = &lx[c];
            float acc = 0.0f;
            for (int j = 0; j < e->cnt; j++)
                acc += e->w[j] * srow[e->idx[j]];
            trow[c] = acc;
        }
    }
    for (int64_t r = 0; r < hd; r++) {
        const fir_tap *e = &ly[r];
        memset(row, 0, (size_t)wd * sizeof *row);
        for (int j = 0; j < e->cnt; j++) {
            const float wj = e->w[j];
            const float *trow = tmp + (int64_t)e->idx[j] * wd;
            for (int64_t c = 0; c < wd; c++)
                row[c] += wj * trow[c];
        }
        float *drow = dp + r * wd;
        if (accumulate)
            for (int64_t c = 0; c < wd; c++)
                drow[c] += row[c];
        else
            memcpy(drow, row, (size_t)wd * sizeof *row);
    }
}

/* dst[p] (+)= rows(ly) o cols(lx) applied to src[p] for every plane p. */
static void fir_planes(const fir_tap *ly, const fir_tap *lx, int64_t hs, int64_t ws, int64_t hd,
                       int64_t wd, int64_t planes, const float *src, float *dst, int accumulate,
                       float *work, int nt)
{
    const int64_t per_thread = hs * wd + wd;
    (void)nt;
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
#endif
    {
#if defined(_OPENMP)
        float *tmp = work + (int64_t)omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
#else
        float *tmp = work;
#endif
        for (int64_t p = 0; p < planes; p++)
            fir_plane(ly, lx, hs, ws, hd, wd, src + p * hs * ws, dst + p * hd * wd, accumulate, tmp);
    }
}

/* Builds the tables (forward or adjoint) and runs the two passes. */
static ddgan_status_t fir_run(ddgan_backend *be, const ddgan_upfirdn_desc *d, int adjoint,
                              const float *src, float *dst, int accumulate)
{
    cpu_state *st = be->state;
    const int64_t hs = adjoint ? d->h_out : d->h, ws = adjoint ? d->w_out : d->w;
    const int64_t hd = adjoint ? d->h : d->h_out, wd = adjoint ? d->w : d->w_out;
    const int64_t planes = (int64_t)d->n * d->c;
    int nt = st->num_threads;
    if (nt > planes)
        nt = (int)planes;
    if ((double)planes * (double)(hd * wd + hs * wd) * d->taps < 65536.0)
        nt = 1;
    /* tables, then one temporary plane + one row per thread */
    const size_t tab_bytes = (size_t)(hd + wd) * sizeof(fir_tap);
    const size_t tab_floats = (tab_bytes + 63) / 64 * 16;
    const size_t bytes = (tab_floats + (size_t)nt * (size_t)(hs * wd + wd)) * sizeof(float);
    float *buf = ddgan__cpu_grow(&st->fir_buf, &st->fir_cap, bytes, "upfirdn temporary");
    if (!buf)
        return DDGAN_ERR_OUT_OF_MEMORY;
    fir_tap *ly = (fir_tap *)(void *)buf, *lx = ly + hd;
    if (adjoint) {
        table_bwd(d, d->h, d->h_out, ly);
        table_bwd(d, d->w, d->w_out, lx);
    } else {
        table_fwd(d, d->h, d->h_out, ly);
        table_fwd(d, d->w, d->w_out, lx);
    }
    fir_planes(ly, lx, hs, ws, hd, wd, planes, src, dst, accumulate, buf + tab_floats, nt);
    return DDGAN_OK;
}

ddgan_status_t ddgan__cpu_upfirdn_fwd(ddgan_backend *be, const ddgan_upfirdn_desc *desc,
                                      const void *x, void *y, int accumulate)
{
    ddgan_upfirdn_desc d;
    if (!x || !y || !fir_fast(be, desc, accumulate, &d))
        return ddgan__ref_upfirdn_fwd(be, desc, x, y, accumulate);
    return fir_run(be, &d, 0, x, y, accumulate);
}

ddgan_status_t ddgan__cpu_upfirdn_bwd(ddgan_backend *be, const ddgan_upfirdn_desc *desc,
                                      const void *dy, void *dx, int accumulate)
{
    ddgan_upfirdn_desc d;
    if (!dy || !dx || !fir_fast(be, desc, accumulate, &d))
        return ddgan__ref_upfirdn_bwd(be, desc, dy, dx, accumulate);
    return fir_run(be, &d, 1, dy, dx, accumulate);
}
