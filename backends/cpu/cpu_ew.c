/* "cpu" strided elementwise ops (binary, unary scale) in float32.
 *
 * The layers use them for bias adds, the AdaGN scale and shift, residual sums,
 * the 1/sqrt(2) merges and channel concat / split: about 15% of a training
 * step when they ran on ref's generic kernel (a switch and four stride
 * multiplies per element, not vectorisable). Here the descriptor is first
 * simplified: axes of extent 1 are dropped and neighbouring axes that every
 * operand walks contiguously are merged (a bias over [N, C, H, W] becomes
 * [N*C rows] x [H*W contiguous elements, bias constant]). When the innermost
 * merged axis has unit output stride and unit or zero input strides, one
 * specialised loop per case runs over it; anything else goes to ref.
 *
 * The arithmetic is ref's exactly: the operands are widened to double, the
 * operation is evaluated in double in the same order (alpha a + beta b,
 * (alpha a) b, (alpha a) / b, alpha a + beta; accumulate adds the old output
 * in double) and rounded once. The results are therefore bit-identical to
 * ref's, for any thread count (elementwise: no reduction). */
#include <stdint.h>
#include <string.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu/cpu_backend.h"
#include "ref/ref_ops.h"

/* Below this many elements the op runs on the calling thread. */
#define CPU_EW_PARALLEL_MIN ((int64_t)1 << 15)
/* Inner runs are split into blocks of at least this many elements when
 * there are too few rows to share among the threads. */
#define CPU_EW_BLOCK ((int64_t)4096)

typedef struct ew_plan {
    int nd;                          /* kept axes, outermost first; the last is the inner one */
    int64_t n[4], as[4], bs[4], os[4];
} ew_plan;

/* Output strides of a dense [shape] tensor, or the given ones after ref's
 * overlap rule (no two index tuples may share an output element). Returns 0
 * when the descriptor is one the fast path may take. */
static int out_strides(const ddgan_ew_desc *d, int64_t os[4])
{
    int dense = 1;
    for (int i = 0; i < 4; i++)
        if (d->out_strides[i] != 0)
            dense = 0;
    if (dense) {
        os[3] = 1;
        for (int i = 2; i >= 0; i--)
            os[i] = os[i + 1] * d->shape[i + 1];
        return 0;
    }
    for (int i = 0; i < 4; i++)
        os[i] = d->out_strides[i];
    int ord[4] = {0, 1, 2, 3};
    for (int i = 1; i < 4; i++)
        for (int j = i; j > 0 && os[ord[j]] < os[ord[j - 1]]; j--) {
            const int t = ord[j];
            ord[j] = ord[j - 1];
            ord[j - 1] = t;
        }
    double reach = 0.0;
    for (int i = 0; i < 4; i++) {
        const int ax = ord[i];
        if (d->shape[ax] == 1)
            continue;
        if ((double)os[ax] <= reach)
            return -1; /* overlapping: ref reports it */
        reach += (double)(d->shape[ax] - 1) * (double)os[ax];
    }
    return 0;
}

static double span(const int64_t shape[4], const int64_t st[4])
{
    double s = 1.0;
    for (int i = 0; i < 4; i++)
        s += (double)(shape[i] - 1) * (double)st[i];
    return s;
}

/* Validates what ref validates (anything unusual returns -1 and the caller
 * hands the call to ref, which reports it) and simplifies the axes. */
static int make_plan(const ddgan_ew_desc *d, int has_b, int accumulate, ew_plan *p)
{
    if (!d || d->dtype != DDGAN_DT_F32 || (accumulate != 0 && accumulate != 1))
        return -1;
    double count = 1.0;
    for (int i = 0; i < 4; i++) {
        if (d->shape[i] < 1 || d->a_strides[i] < 0 || (has_b && d->b_strides[i] < 0) ||
            d->out_strides[i] < 0)
            return -1;
        count *= (double)d->shape[i];
    }
    if (count > (double)REF_MAX_ELEMS)
        return -1;
    int64_t os[4];
    if (out_strides(d, os) != 0)
        return -1;
    static const int64_t zero[4] = {0, 0, 0, 0};
    const int64_t *bs = has_b ? d->b_strides : zero;
    if (span(d->shape, d->a_strides) > (double)REF_MAX_ELEMS ||
        span(d->shape, bs) > (double)REF_MAX_ELEMS || span(d->shape, os) > (double)REF_MAX_ELEMS)
        return -1;
    /* innermost first, then reversed */
    int nd = 0;
    int64_t n[4], as[4], b[4], o[4];
    for (int i = 3; i >= 0; i--) {
        if (d->shape[i] == 1)
            continue;
        if (nd > 0 && d->a_strides[i] == as[nd - 1] * n[nd - 1] && bs[i] == b[nd - 1] * n[nd - 1] &&
            os[i] == o[nd - 1] * n[nd - 1]) {
            n[nd - 1] *= d->shape[i];
            continue;
        }
        n[nd] = d->shape[i];
        as[nd] = d->a_strides[i];
        b[nd] = bs[i];
        o[nd] = os[i];
        nd++;
    }
    if (nd == 0) { /* a single element */
        n[0] = 1;
        as[0] = b[0] = o[0] = 1;
        nd = 1;
    }
    p->nd = nd;
    for (int i = 0; i < nd; i++) {
        p->n[i] = n[nd - 1 - i];
        p->as[i] = as[nd - 1 - i];
        p->bs[i] = b[nd - 1 - i];
        p->os[i] = o[nd - 1 - i];
    }
    const int k = nd - 1;
    if (p->os[k] != 1 || (p->as[k] != 0 && p->as[k] != 1) || (p->bs[k] != 0 && p->bs[k] != 1))
        return -1;
    return 0;
}

/* The inner loops. SA and SB are 0 or 1 (constant after inlining: one
 * vectorised loop per case); the scalars come already rounded to float and
 * widened, as ref's REF_SCALAR. */
#if defined(_OPENMP)
#define CPU_SIMD _Pragma("omp simd")
#else
#define CPU_SIMD
#endif

#define BIN_LOOPS(EXPR)                                                                            \
    do {                                                                                           \
        if (acc) {                                                                                 \
            CPU_SIMD                                                                               \
            for (int64_t i = 0; i < len; i++) {                                                    \
                const double x = (double)a[i * SA], y = (double)b[i * SB];                         \
                o[i] = (float)((double)o[i] + (EXPR));                                             \
            }                                                                                      \
        } else {                                                                                   \
            CPU_SIMD                                                                               \
            for (int64_t i = 0; i < len; i++) {                                                    \
                const double x = (double)a[i * SA], y = (double)b[i * SB];                         \
                o[i] = (float)(EXPR);                                                              \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static inline __attribute__((always_inline)) void bin_run(int op, int acc, double al, double be,
                                                          const float *a, const float *b, float *o,
                                                          int64_t len, const int SA, const int SB)
{
    switch (op) {
    case DDGAN_BIN_AXPBY: BIN_LOOPS(al * x + be * y); break;
    case DDGAN_BIN_MUL: BIN_LOOPS(al * x * y); break;
    default: BIN_LOOPS(al * x / y); break;
    }
}

CPU_MULTIVERSION
static void bin_inner(int op, int acc, double al, double be, const float *a, int sa, const float *b, int sb,
                      float *o, int64_t len)
{
    if (sa && sb)
        bin_run(op, acc, al, be, a, b, o, len, 1, 1);
    else if (sa)
        bin_run(op, acc, al, be, a, b, o, len, 1, 0);
    else if (sb)
        bin_run(op, acc, al, be, a, b, o, len, 0, 1);
    else
        bin_run(op, acc, al, be, a, b, o, len, 0, 0);
}

CPU_MULTIVERSION
static void scale_inner(int acc, double al, double be, const float *a, int sa, float *o, int64_t len)
{
#define SCALE_LOOPS(SA)                                                                            \
    do {                                                                                           \
        if (acc) {                                                                                 \
            CPU_SIMD                                                                               \
            for (int64_t i = 0; i < len; i++)                                                      \
                o[i] = (float)((double)o[i] + (al * (double)a[i * (SA)] + be));                    \
        } else {                                                                                   \
            CPU_SIMD                                                                               \
            for (int64_t i = 0; i < len; i++)                                                      \
                o[i] = (float)(al * (double)a[i * (SA)] + be);                                     \
        }                                                                                          \
    } while (0)
    if (sa)
        SCALE_LOOPS(1);
    else
        SCALE_LOOPS(0);
#undef SCALE_LOOPS
}

/* Offsets of outer row r (all kept axes but the inner one). */
static void row_offsets(const ew_plan *p, int64_t r, int64_t *oa, int64_t *ob, int64_t *oo)
{
    int64_t a = 0, b = 0, o = 0;
    for (int k = p->nd - 2; k >= 0; k--) {
        const int64_t i = r % p->n[k];
        r /= p->n[k];
        a += i * p->as[k];
        b += i * p->bs[k];
        o += i * p->os[k];
    }
    *oa = a;
    *ob = b;
    *oo = o;
}

/* Task t of the op: (row, block of the inner axis). */
typedef struct ew_tasks {
    int64_t rows, blocks, blk;
} ew_tasks;

static ew_tasks split(const ew_plan *p, int nt)
{
    ew_tasks t;
    const int64_t len = p->n[p->nd - 1];
    t.rows = 1;
    for (int k = 0; k < p->nd - 1; k++)
        t.rows *= p->n[k];
    t.blocks = 1;
    if (nt > 1 && t.rows < 4 * (int64_t)nt && len >= 2 * CPU_EW_BLOCK) {
        t.blocks = (4 * (int64_t)nt + t.rows - 1) / t.rows;
        if (t.blocks > len / CPU_EW_BLOCK)
            t.blocks = len / CPU_EW_BLOCK;
    }
    t.blk = ((len + t.blocks - 1) / t.blocks + 15) & ~(int64_t)15;
    return t;
}

static int ew_team(const ddgan_backend *be, const ew_plan *p)
{
    const cpu_state *st = be->state;
    double count = 1.0;
    for (int k = 0; k < p->nd; k++)
        count *= (double)p->n[k];
    return count >= (double)CPU_EW_PARALLEL_MIN && st->num_threads > 1 ? st->num_threads : 1;
}

/* The scalars are rounded inside the parallel region (see REF_SCALAR in
 * ref_ops.h for the GCC 12 miscompile this avoids). */
static void binary_run(const ew_plan *p, int op, double alpha, double beta, const float *a, const float *b,
                       float *out, int acc, int nt)
{
    const ew_tasks t = split(p, nt);
    const int64_t len = p->n[p->nd - 1];
    const int sa = p->as[p->nd - 1] != 0, sb = p->bs[p->nd - 1] != 0;
    (void)nt;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int64_t task = 0; task < t.rows * t.blocks; task++) {
        const double al = (double)(float)alpha, be = (double)(float)beta;
        const int64_t r = task / t.blocks, lo = (task % t.blocks) * t.blk;
        const int64_t hi = lo + t.blk < len ? lo + t.blk : len;
        if (lo >= hi)
            continue;
        int64_t oa, ob, oo;
        row_offsets(p, r, &oa, &ob, &oo);
        bin_inner(op, acc, al, be, a + oa + (sa ? lo : 0), sa, b + ob + (sb ? lo : 0), sb, out + oo + lo,
                  hi - lo);
    }
}

static void scale_run(const ew_plan *p, double alpha, double beta, const float *a, float *out, int acc, int nt)
{
    const ew_tasks t = split(p, nt);
    const int64_t len = p->n[p->nd - 1];
    const int sa = p->as[p->nd - 1] != 0;
    (void)nt;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int64_t task = 0; task < t.rows * t.blocks; task++) {
        const double al = (double)(float)alpha, be = (double)(float)beta;
        const int64_t r = task / t.blocks, lo = (task % t.blocks) * t.blk;
        const int64_t hi = lo + t.blk < len ? lo + t.blk : len;
        if (lo >= hi)
            continue;
        int64_t oa, ob, oo;
        row_offsets(p, r, &oa, &ob, &oo);
        scale_inner(acc, al, be, a + oa + (sa ? lo : 0), sa, out + oo + lo, hi - lo);
    }
}

ddgan_status_t ddgan__cpu_binary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op, double alpha,
                                 double beta, const void *a, const void *b, void *out, int accumulate)
{
    ew_plan p;
    if (!be || !be->state || (unsigned)op > (unsigned)DDGAN_BIN_DIV || !a || !b || !out ||
        make_plan(d, 1, accumulate, &p) != 0)
        return ddgan__ref_binary(be, d, op, alpha, beta, a, b, out, accumulate);
    binary_run(&p, (int)op, alpha, beta, a, b, out, accumulate, ew_team(be, &p));
    return DDGAN_OK;
}

ddgan_status_t ddgan__cpu_unary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op, double alpha,
                                double beta, const void *a, void *out, int accumulate)
{
    ew_plan p;
    if (!be || !be->state || op != DDGAN_UN_SCALE || !a || !out || make_plan(d, 0, accumulate, &p) != 0)
        return ddgan__ref_unary(be, d, op, alpha, beta, a, out, accumulate);
    scale_run(&p, alpha, beta, a, out, accumulate, ew_team(be, &p));
    return DDGAN_OK;
}
