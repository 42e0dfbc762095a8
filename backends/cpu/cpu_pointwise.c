/* "cpu" activations and the softmax forward in float32: ref's formulas
 * evaluated in float instead of double (one loop per activation, so the
 * simple ones vectorise). Each element (softmax: each row) is computed by
 * one thread, so the results do not depend on the thread count. float64 and
 * invalid arguments go to the ref ops. Activations are elementwise: the
 * output may alias an input (each element is read before it is written). */
#include <math.h>
#include <stdint.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "cpu/cpu_backend.h"
#include "cpu/cpu_math.h"
#include "ref/ref_ops.h"

/* PyTorch's softplus threshold (beta 1), as ref. */
#define CPU_SOFTPLUS_THRESHOLD 20.0f

/* Below this many elements the loop runs on the calling thread. */
#define CPU_ACT_PARALLEL_MIN ((int64_t)1 << 15)

static int act_team(const ddgan_backend *be, int64_t n)
{
    const cpu_state *st = be->state;
    return n >= CPU_ACT_PARALLEL_MIN && st->num_threads > 1 ? st->num_threads : 1;
}


/* y[lo, hi) = f(x[lo, hi)). Plain serial loops over float arguments, so the
 * compiler vectorises the simple ones. */
CPU_MULTIVERSION
static void act_fwd_range(ddgan_act act, float a, int64_t lo, int64_t hi, const float *x, float *y)
{
    switch (act) {
    case DDGAN_ACT_SILU:
#if defined(_OPENMP)
#pragma omp simd
#endif
        for (int64_t i = lo; i < hi; i++)
            y[i] = x[i] * sigmoid_f(x[i]);
        break;
    case DDGAN_ACT_LRELU:
        for (int64_t i = lo; i < hi; i++) {
            const float v = x[i], m = a * v; /* computed unconditionally: a vector blend */
            y[i] = v > 0.0f ? v : m;
        }
        break;
    case DDGAN_ACT_TANH:
        for (int64_t i = lo; i < hi; i++)
            y[i] = tanhf(x[i]);
        break;
    case DDGAN_ACT_SOFTPLUS:
        for (int64_t i = lo; i < hi; i++)
            y[i] = x[i] > CPU_SOFTPLUS_THRESHOLD ? x[i] : log1pf(expf(x[i]));
        break;
    case DDGAN_ACT_SIGMOID:
#if defined(_OPENMP)
#pragma omp simd
#endif
        for (int64_t i = lo; i < hi; i++)
            y[i] = sigmoid_f(x[i]);
        break;
    }
}

/* dy * f'(x) (y = f(x) for tanh and sigmoid), ref's formulas in float. */
static float act_grad(ddgan_act act, float a, float x, float y, float dy)
{
    switch (act) {
    case DDGAN_ACT_SILU: {
        const float s = sigmoid_f(x);
        return dy * (s * (1.0f + x * (1.0f - s)));
    }
    case DDGAN_ACT_LRELU: {
        const float m = dy * a;
        return x > 0.0f ? dy : m;
    }
    case DDGAN_ACT_TANH:
        return dy * ((1.0f - y) * (1.0f + y)); /* 1 - y^2 without cancellation */
    case DDGAN_ACT_SOFTPLUS: {
        if (x > CPU_SOFTPLUS_THRESHOLD)
            return dy;
        const float z = expf(x);
        return dy * (z / (z + 1.0f));
    }
    case DDGAN_ACT_SIGMOID:
        return dy * (1.0f - y) * y;
    }
    return 0.0f;
}

/* dx[lo, hi) (+)= dy * f'. One loop per activation and mode (act_grad is
 * inlined with a constant act), so LeakyReLU's select vectorises. With
 * accumulate = 0, dx is never read (garbage or NaN in it is overwritten). */
#define ACT_BWD_LOOP(ACT)                                                                        \
    do {                                                                                         \
        if (accumulate)                                                                          \
            for (int64_t i = lo; i < hi; i++)                                                    \
                dx[i] += act_grad(ACT, a, x ? x[i] : 0.0f, y ? y[i] : 0.0f, dy[i]);              \
        else                                                                                     \
            for (int64_t i = lo; i < hi; i++)                                                    \
                dx[i] = act_grad(ACT, a, x ? x[i] : 0.0f, y ? y[i] : 0.0f, dy[i]);               \
    } while (0)

/* SiLU's backward reads x only: its own loops, without the x/y selects, so
 * they vectorise (elementwise: dx may alias dy or x). */
CPU_MULTIVERSION
static void silu_bwd_range(int64_t lo, int64_t hi, const float *x, const float *dy, float *dx,
                           int accumulate)
{
    if (accumulate) {
#if defined(_OPENMP)
#pragma omp simd
#endif
        for (int64_t i = lo; i < hi; i++)
            dx[i] += act_grad(DDGAN_ACT_SILU, 0.0f, x[i], 0.0f, dy[i]);
    } else {
#if defined(_OPENMP)
#pragma omp simd
#endif
        for (int64_t i = lo; i < hi; i++)
            dx[i] = act_grad(DDGAN_ACT_SILU, 0.0f, x[i], 0.0f, dy[i]);
    }
}

CPU_MULTIVERSION
static void act_bwd_range(ddgan_act act, float a, int64_t lo, int64_t hi, const float *x,
                          const float *y, const float *dy, float *dx, int accumulate)
{
    switch (act) {
    case DDGAN_ACT_SILU: silu_bwd_range(lo, hi, x, dy, dx, accumulate); break;
    case DDGAN_ACT_LRELU: ACT_BWD_LOOP(DDGAN_ACT_LRELU); break;
    case DDGAN_ACT_TANH: ACT_BWD_LOOP(DDGAN_ACT_TANH); break;
    case DDGAN_ACT_SOFTPLUS: ACT_BWD_LOOP(DDGAN_ACT_SOFTPLUS); break;
    case DDGAN_ACT_SIGMOID: ACT_BWD_LOOP(DDGAN_ACT_SIGMOID); break;
    }
}

/* alpha is rounded to float inside the parallel region, never before it
 * (REF_SCALAR in ref_ops.h: GCC 12 miscompiles such roundings hoisted into
 * the OpenMP data block). */
static void act_fwd_f32(ddgan_act act, double alpha, int64_t n, const float *x, float *y, int nt)
{
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        ddgan__cpu_share(n, 16, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        act_fwd_range(act, (float)alpha, lo, hi, x, y);
    }
#else
    (void)nt;
    act_fwd_range(act, (float)alpha, 0, n, x, y);
#endif
}

static void act_bwd_f32(ddgan_act act, double alpha, int64_t n, const float *x, const float *y,
                        const float *dy, float *dx, int accumulate, int nt)
{
#if defined(_OPENMP)
#pragma omp parallel num_threads(nt)
    {
        int64_t lo, hi;
        ddgan__cpu_share(n, 16, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        act_bwd_range(act, (float)alpha, lo, hi, x, y, dy, dx, accumulate);
    }
#else
    (void)nt;
    act_bwd_range(act, (float)alpha, 0, n, x, y, dy, dx, accumulate);
#endif
}

ddgan_status_t ddgan__cpu_act_fwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, void *y)
{
    if (!be || !be->state || dt != DDGAN_DT_F32 || (unsigned)act > (unsigned)DDGAN_ACT_SIGMOID ||
        n == 0 || n > (size_t)REF_MAX_ELEMS || !x || !y)
        return ddgan__ref_act_fwd(be, dt, act, alpha, n, x, y);
    act_fwd_f32(act, alpha, (int64_t)n, x, y, act_team(be, (int64_t)n));
    return DDGAN_OK;
}

ddgan_status_t ddgan__cpu_act_bwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, const void *y, const void *dy, void *dx,
                                  int accumulate)
{
    const int from_y = act == DDGAN_ACT_TANH || act == DDGAN_ACT_SIGMOID;
    if (!be || !be->state || dt != DDGAN_DT_F32 || (unsigned)act > (unsigned)DDGAN_ACT_SIGMOID ||
        (accumulate != 0 && accumulate != 1) || n == 0 || n > (size_t)REF_MAX_ELEMS || !dy || !dx ||
        (from_y ? !y : !x))
        return ddgan__ref_act_bwd(be, dt, act, alpha, n, x, y, dy, dx, accumulate);
    act_bwd_f32(act, alpha, (int64_t)n, x, y, dy, dx, accumulate, act_team(be, (int64_t)n));
    return DDGAN_OK;
}

/* Row softmax forward in float32: the row maximum, float exponentials
 * summed in double, one scaling. Each row is computed by one thread. */
CPU_MULTIVERSION
static void softmax_row(int64_t cols, const float *xr, float *yr)
{
    float mx = xr[0];
    for (int64_t j = 1; j < cols; j++)
        if (xr[j] > mx)
            mx = xr[j];
    /* the exponentials in a loop of their own (it vectorises), then the
     * sum in double in index order (a reduction the compiler keeps serial) */
#if defined(_OPENMP)
#pragma omp simd
#endif
    for (int64_t j = 0; j < cols; j++)
        yr[j] = cpu_expf(xr[j] - mx);
    double sum = 0.0;
    for (int64_t j = 0; j < cols; j++)
        sum += (double)yr[j];
    const float inv = (float)(1.0 / sum);
    for (int64_t j = 0; j < cols; j++)
        yr[j] *= inv;
}

ddgan_status_t ddgan__cpu_softmax_fwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                      const void *x, void *y)
{
    if (!be || !be->state || dt != DDGAN_DT_F32 || rows == 0 || cols == 0 || !x || !y ||
        rows > (size_t)REF_MAX_ELEMS || cols > (size_t)REF_MAX_ELEMS ||
        rows > (size_t)REF_MAX_ELEMS / cols)
        return ddgan__ref_softmax_fwd(be, dt, rows, cols, x, y);
    const int64_t nr = (int64_t)rows, nc = (int64_t)cols;
    const float *xs = x;
    float *ys = y;
    const int nt = nr > 1 ? act_team(be, nr * nc) : 1;
    (void)nt; /* unused without OpenMP */
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(nt)
#endif
    for (int64_t r = 0; r < nr; r++)
        softmax_row(nc, xs + r * nc, ys + r * nc);
    return DDGAN_OK;
}
