/* Per-op profile of the "cpu" plug-in (docs/performance.md).
 *
 * With DDGAN_CPU_PROFILE set (non-empty, not "0") when a context is created,
 * the instance gets a compute table whose entries time the real op and add
 * the wall time, the call count and (conv, matmul) the FLOPs to per-instance
 * bins; the table is printed to stderr when the instance is destroyed. It is
 * a measuring tool that a user asks for by name: without the variable the
 * plug-in uses the plain table and nothing is timed.
 *
 * Bins split what differs in cost: conv by direction and kernel size,
 * activations by function, elementwise ops by operation and by whether an
 * operand is broadcast. */
/* clock_gettime and its clocks are POSIX, not C11 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/cpu_backend.h"

enum {
    P_CONV_FWD = 0, /* + 0: 3x3, 1: 1x1, 2: other */
    P_CONV_BWD_DATA = 3,
    P_CONV_BWD_WEIGHTS = 6,
    P_MATMUL = 9,
    P_GN_FWD,
    P_GN_BWD,
    P_ACT_FWD,  /* + ddgan_act (5) */
    P_ACT_BWD = P_ACT_FWD + 5,
    P_UPFIRDN_FWD = P_ACT_BWD + 5,
    P_UPFIRDN_BWD,
    P_SOFTMAX_FWD,
    P_SOFTMAX_BWD,
    P_BINARY,        /* + op (3) x broadcast (2) */
    P_UNARY = P_BINARY + 6, /* + op (8) */
    P_REDUCE = P_UNARY + 8,
    P_ADAM,
    P_EMA,
    P_RAND,
    P_ADAGN_ACT_FWD,
    P_NBINS
};

/* Convolution and matmul calls by shape, for the "top shapes" list. */
#define P_SHAPES 1024
typedef struct p_shape {
    int used, bin;
    int k[12];
    double sec, flops;
    uint64_t calls;
} p_shape;

struct cpu_profile {
    double sec[P_NBINS];
    double flops[P_NBINS];
    uint64_t calls[P_NBINS];
    int cputime; /* DDGAN_CPU_PROFILE=cputime: the calling thread's CPU time */
    p_shape shapes[P_SHAPES];
};

static __thread int g_cputime;

static const char *const ACT_NAMES[5] = {"silu", "lrelu", "tanh", "softplus", "sigmoid"};
static const char *const BIN_NAMES[3] = {"axpby", "mul", "div"};
static const char *const UN_NAMES[8] = {"scale", "square", "sqrt", "rsqrt", "exp", "log", "sin", "cos"};

static void bin_name(int b, char *out, size_t cap)
{
    static const char *const ks[3] = {"3x3", "1x1", "other"};
    if (b < P_MATMUL)
        snprintf(out, cap, "%s %s",
                 b < P_CONV_BWD_DATA      ? "conv2d_fwd"
                 : b < P_CONV_BWD_WEIGHTS ? "conv2d_bwd_data"
                                          : "conv2d_bwd_weights",
                 ks[b % 3]);
    else if (b == P_MATMUL)
        snprintf(out, cap, "matmul");
    else if (b == P_GN_FWD)
        snprintf(out, cap, "group_norm_fwd");
    else if (b == P_GN_BWD)
        snprintf(out, cap, "group_norm_bwd");
    else if (b < P_ACT_BWD)
        snprintf(out, cap, "act_fwd %s", ACT_NAMES[b - P_ACT_FWD]);
    else if (b < P_UPFIRDN_FWD)
        snprintf(out, cap, "act_bwd %s", ACT_NAMES[b - P_ACT_BWD]);
    else if (b == P_UPFIRDN_FWD)
        snprintf(out, cap, "upfirdn_fwd");
    else if (b == P_UPFIRDN_BWD)
        snprintf(out, cap, "upfirdn_bwd");
    else if (b == P_SOFTMAX_FWD)
        snprintf(out, cap, "softmax_fwd");
    else if (b == P_SOFTMAX_BWD)
        snprintf(out, cap, "softmax_bwd");
    else if (b < P_UNARY)
        snprintf(out, cap, "binary %s%s", BIN_NAMES[(b - P_BINARY) / 2],
                 (b - P_BINARY) % 2 ? " (broadcast)" : "");
    else if (b < P_REDUCE)
        snprintf(out, cap, "unary %s", UN_NAMES[b - P_UNARY]);
    else if (b == P_REDUCE)
        snprintf(out, cap, "reduce");
    else if (b == P_ADAM)
        snprintf(out, cap, "adam");
    else if (b == P_EMA)
        snprintf(out, cap, "ema");
    else if (b == P_RAND)
        snprintf(out, cap, "rand");
    else
        snprintf(out, cap, "adagn_act_fwd");
}

/* Wall time, or with DDGAN_CPU_PROFILE=cputime the calling thread's CPU
 * time: on a busy machine and with one thread (every op then runs on the
 * calling thread) it leaves out the time the thread waited for a core. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(g_cputime ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void add_shape(cpu_profile *p, int bin, const int k[12], double sec, double flops)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 12; i++)
        h = (h ^ (uint32_t)k[i] ^ ((uint32_t)bin << 24)) * 16777619u;
    for (int probe = 0; probe < P_SHAPES; probe++) {
        p_shape *e = &p->shapes[(h + (uint32_t)probe) % P_SHAPES];
        if (!e->used) {
            e->used = 1;
            e->bin = bin;
            memcpy(e->k, k, sizeof e->k);
        } else if (e->bin != bin || memcmp(e->k, k, sizeof e->k) != 0) {
            continue;
        }
        e->sec += sec;
        e->flops += flops;
        e->calls++;
        return;
    }
}

static void add_keyed(ddgan_backend *be, int bin, double t0, double flops, const int *k)
{
    cpu_state *st = be->state;
    if (!st->prof || bin < 0 || bin >= P_NBINS)
        return;
    const double sec = now_s() - t0;
    st->prof->sec[bin] += sec;
    st->prof->flops[bin] += flops;
    st->prof->calls[bin]++;
    if (k)
        add_shape(st->prof, bin, k, sec, flops);
}

static void add(ddgan_backend *be, int bin, double t0, double flops) { add_keyed(be, bin, t0, flops, NULL); }

static void conv_key(const ddgan_conv2d_desc *d, int acc, int extra, int k[12])
{
    const int v[12] = {d->n, d->c_in, d->h, d->w, d->c_out, d->kh, d->kw, d->stride, d->pad_t, d->pad_b, acc, extra};
    memcpy(k, v, sizeof v);
}

static int conv_bin(int base, const ddgan_conv2d_desc *d)
{
    return base + (d->kh == 3 && d->kw == 3 ? 0 : d->kh == 1 && d->kw == 1 ? 1 : 2);
}

static double conv_flops(const ddgan_conv2d_desc *d)
{
    ddgan_conv2d_desc c = *d;
    if (ddgan__conv2d_desc_finish(&c) != 0)
        return 0.0;
    return 2.0 * c.n * c.c_out * c.h_out * c.w_out * (double)c.c_in * c.kh * c.kw;
}

static int act_index(ddgan_act a) { return (int)a >= 0 && (int)a < 5 ? (int)a : 0; }

static int broadcast(const ddgan_ew_desc *d)
{
    for (int i = 0; i < 4; i++)
        if (d->shape[i] > 1 && (d->a_strides[i] == 0 || d->b_strides[i] == 0))
            return 1;
    return 0;
}

#define C (&ddgan__cpu_compute)

static ddgan_status_t p_conv2d_fwd(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *x,
                                   const void *w, const void *b, void *y, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->conv2d_fwd(be, d, x, w, b, y, acc);
    int k[12];
    conv_key(d, acc, b != NULL, k);
    add_keyed(be, conv_bin(P_CONV_FWD, d), t0, conv_flops(d), k);
    return s;
}

static ddgan_status_t p_conv2d_bwd_data(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *dy,
                                        const void *w, void *dx, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->conv2d_bwd_data(be, d, dy, w, dx, acc);
    int k[12];
    conv_key(d, acc, 0, k);
    add_keyed(be, conv_bin(P_CONV_BWD_DATA, d), t0, conv_flops(d), k);
    return s;
}

static ddgan_status_t p_conv2d_bwd_weights(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *x,
                                           const void *dy, void *dw, void *db, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->conv2d_bwd_weights(be, d, x, dy, dw, db, acc);
    int k[12];
    conv_key(d, acc, db != NULL, k);
    add_keyed(be, conv_bin(P_CONV_BWD_WEIGHTS, d), t0, conv_flops(d), k);
    return s;
}

static ddgan_status_t p_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a, const void *b,
                               void *c)
{
    double t0 = now_s();
    ddgan_status_t s = C->matmul(be, d, a, b, c);
    const int k[12] = {d->batch, d->m, d->n, d->k, d->trans_a, d->trans_b, d->stride_a == 0, d->stride_b == 0,
                       d->beta != 0.0, 0, 0, 0};
    add_keyed(be, P_MATMUL, t0, 2.0 * d->batch * (double)d->m * d->n * d->k, k);
    return s;
}

static ddgan_status_t p_gn_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d, const void *x,
                               const void *g, const void *b, void *y, void *mean, void *rstd)
{
    double t0 = now_s();
    ddgan_status_t s = C->group_norm_fwd(be, d, x, g, b, y, mean, rstd);
    add(be, P_GN_FWD, t0, 0.0);
    return s;
}

static ddgan_status_t p_gn_bwd(ddgan_backend *be, const ddgan_group_norm_desc *d, const void *dy,
                               const void *x, const void *mean, const void *rstd, const void *g, void *dx,
                               void *dg, void *db, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->group_norm_bwd(be, d, dy, x, mean, rstd, g, dx, dg, db, acc);
    add(be, P_GN_BWD, t0, 0.0);
    return s;
}

static ddgan_status_t p_act_fwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha, size_t n,
                                const void *x, void *y)
{
    double t0 = now_s();
    ddgan_status_t s = C->act_fwd(be, dt, act, alpha, n, x, y);
    add(be, P_ACT_FWD + act_index(act), t0, 0.0);
    return s;
}

static ddgan_status_t p_act_bwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha, size_t n,
                                const void *x, const void *y, const void *dy, void *dx, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->act_bwd(be, dt, act, alpha, n, x, y, dy, dx, acc);
    add(be, P_ACT_BWD + act_index(act), t0, 0.0);
    return s;
}

static ddgan_status_t p_upfirdn_fwd(ddgan_backend *be, const ddgan_upfirdn_desc *d, const void *x, void *y,
                                    int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->upfirdn_fwd(be, d, x, y, acc);
    add(be, P_UPFIRDN_FWD, t0, 0.0);
    return s;
}

static ddgan_status_t p_upfirdn_bwd(ddgan_backend *be, const ddgan_upfirdn_desc *d, const void *dy,
                                    void *dx, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->upfirdn_bwd(be, d, dy, dx, acc);
    add(be, P_UPFIRDN_BWD, t0, 0.0);
    return s;
}

static ddgan_status_t p_softmax_fwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                    const void *x, void *y)
{
    double t0 = now_s();
    ddgan_status_t s = C->softmax_fwd(be, dt, rows, cols, x, y);
    add(be, P_SOFTMAX_FWD, t0, 0.0);
    return s;
}

static ddgan_status_t p_softmax_bwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                    const void *y, const void *dy, void *dx, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->softmax_bwd(be, dt, rows, cols, y, dy, dx, acc);
    add(be, P_SOFTMAX_BWD, t0, 0.0);
    return s;
}

static ddgan_status_t p_binary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op, double alpha,
                               double beta, const void *a, const void *b, void *out, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->binary(be, d, op, alpha, beta, a, b, out, acc);
    const int o = (int)op >= 0 && (int)op < 3 ? (int)op : 0;
    add(be, P_BINARY + 2 * o + broadcast(d), t0, 0.0);
    return s;
}

static ddgan_status_t p_unary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op, double alpha,
                              double beta, const void *a, void *out, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->unary(be, d, op, alpha, beta, a, out, acc);
    add(be, P_UNARY + ((int)op >= 0 && (int)op < 8 ? (int)op : 0), t0, 0.0);
    return s;
}

static ddgan_status_t p_reduce(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op, const int64_t shape[4],
                               unsigned mask, const void *x, void *out, int acc)
{
    double t0 = now_s();
    ddgan_status_t s = C->reduce(be, dt, op, shape, mask, x, out, acc);
    add(be, P_REDUCE, t0, 0.0);
    return s;
}

static ddgan_status_t p_adam(ddgan_backend *be, const ddgan_adam_desc *d, void *p, const void *g, void *m,
                             void *v)
{
    double t0 = now_s();
    ddgan_status_t s = C->adam(be, d, p, g, m, v);
    add(be, P_ADAM, t0, 0.0);
    return s;
}

static ddgan_status_t p_ema(ddgan_backend *be, ddgan_dtype dt, size_t n, double decay, void *ema,
                            const void *param)
{
    double t0 = now_s();
    ddgan_status_t s = C->ema(be, dt, n, decay, ema, param);
    add(be, P_EMA, t0, 0.0);
    return s;
}

static ddgan_status_t p_rand_normal(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                    uint64_t stream, uint64_t first, void *out)
{
    double t0 = now_s();
    ddgan_status_t s = C->rand_normal(be, dt, n, seed, stream, first, out);
    add(be, P_RAND, t0, 0.0);
    return s;
}

static ddgan_status_t p_rand_uniform(ddgan_backend *be, ddgan_dtype dt, size_t n, uint64_t seed,
                                     uint64_t stream, uint64_t first, void *out)
{
    double t0 = now_s();
    ddgan_status_t s = C->rand_uniform(be, dt, n, seed, stream, first, out);
    add(be, P_RAND, t0, 0.0);
    return s;
}

static ddgan_status_t p_adagn_act_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d, const void *x,
                                      const void *style, ddgan_act act, double alpha, void *y)
{
    double t0 = now_s();
    ddgan_status_t s = C->adagn_act_fwd(be, d, x, style, act, alpha, y);
    add(be, P_ADAGN_ACT_FWD, t0, 0.0);
    return s;
}

#undef C

const ddgan_backend_compute ddgan__cpu_compute_profiled = {
    .conv2d_fwd = p_conv2d_fwd,
    .conv2d_bwd_data = p_conv2d_bwd_data,
    .conv2d_bwd_weights = p_conv2d_bwd_weights,
    .matmul = p_matmul,
    .group_norm_fwd = p_gn_fwd,
    .group_norm_bwd = p_gn_bwd,
    .act_fwd = p_act_fwd,
    .act_bwd = p_act_bwd,
    .upfirdn_fwd = p_upfirdn_fwd,
    .upfirdn_bwd = p_upfirdn_bwd,
    .softmax_fwd = p_softmax_fwd,
    .softmax_bwd = p_softmax_bwd,
    .binary = p_binary,
    .unary = p_unary,
    .reduce = p_reduce,
    .adam = p_adam,
    .ema = p_ema,
    .rand_normal = p_rand_normal,
    .rand_uniform = p_rand_uniform,
    .adagn_act_fwd = p_adagn_act_fwd,
    .const_scope = ddgan__cpu_const_scope, /* a hint: not timed */
};

cpu_profile *ddgan__cpu_profile_create(void)
{
    const char *v = getenv("DDGAN_CPU_PROFILE");
    if (!v || !v[0] || strcmp(v, "0") == 0)
        return NULL;
    cpu_profile *p = calloc(1, sizeof(cpu_profile));
    if (p) {
        p->cputime = strcmp(v, "cputime") == 0;
        g_cputime = p->cputime; /* the thread that creates the context runs it (one thread per context) */
    }
    return p;
}

void ddgan__cpu_profile_report(const cpu_profile *p)
{
    if (!p)
        return;
    double total = 0.0;
    int order[P_NBINS], n = 0;
    for (int b = 0; b < P_NBINS; b++) {
        total += p->sec[b];
        if (p->calls[b])
            order[n++] = b;
    }
    if (total <= 0.0)
        return;
    /* by time, largest first (insertion sort: a few dozen bins) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && p->sec[order[j]] > p->sec[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    fprintf(stderr, "cpu backend profile (DDGAN_CPU_PROFILE): %.3f s in ops\n", total);
    fprintf(stderr, "| op | calls | seconds | share | GFLOP/s |\n|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const int b = order[i];
        char name[48];
        bin_name(b, name, sizeof name);
        char rate[32] = "";
        if (p->flops[b] > 0.0 && p->sec[b] > 0.0)
            snprintf(rate, sizeof rate, "%.1f", p->flops[b] / p->sec[b] * 1e-9);
        fprintf(stderr, "| %s | %llu | %.3f | %.1f%% | %s |\n", name, (unsigned long long)p->calls[b], p->sec[b],
                100.0 * p->sec[b] / total, rate);
    }
    /* the 30 most expensive conv / matmul shapes */
    int top[30], nt = 0;
    for (int i = 0; i < P_SHAPES; i++) {
        if (!p->shapes[i].used)
            continue;
        int pos = nt < 30 ? nt++ : 30;
        if (pos == 30 && p->shapes[i].sec <= p->shapes[top[29]].sec)
            continue;
        if (pos == 30)
            pos = 29;
        top[pos] = i;
        for (int j = pos; j > 0 && p->shapes[top[j]].sec > p->shapes[top[j - 1]].sec; j--) {
            int t = top[j];
            top[j] = top[j - 1];
            top[j - 1] = t;
        }
    }
    fprintf(stderr, "\n| op | shape | calls | seconds | share | GFLOP/s |\n|---|---|---|---|---|---|\n");
    for (int i = 0; i < nt; i++) {
        const p_shape *e = &p->shapes[top[i]];
        char name[48], shape[96];
        bin_name(e->bin, name, sizeof name);
        if (e->bin == P_MATMUL)
            snprintf(shape, sizeof shape, "b%d m%d n%d k%d%s%s%s%s%s", e->k[0], e->k[1], e->k[2], e->k[3],
                     e->k[4] ? " tA" : "", e->k[5] ? " tB" : "", e->k[6] ? " A-shared" : "",
                     e->k[7] ? " B-shared" : "", e->k[8] ? " +C" : "");
        else
            snprintf(shape, sizeof shape, "%dx%dx%dx%d>%d k%dx%d s%d p%d,%d%s%s", e->k[0], e->k[1], e->k[2], e->k[3],
                     e->k[4], e->k[5], e->k[6], e->k[7], e->k[8], e->k[9], e->k[10] ? " acc" : "",
                     e->k[11] ? " bias" : "");
        fprintf(stderr, "| %s | %s | %llu | %.3f | %.1f%% | %.1f |\n", name, shape, (unsigned long long)e->calls,
                e->sec, 100.0 * e->sec / total, e->sec > 0.0 ? e->flops / e->sec * 1e-9 : 0.0);
    }
}
