/*
 * "cuda" plug-in kernels: activations, strided elementwise ops, fill, Adam,
 * EMA and the Philox draws. Each mirrors its "ref" kernel (backends/ref/
 * ref_pointwise_impl.inc, ref_optim_impl.inc, lib/core/philox.c) element by
 * element: the same double-precision expression in the same order, rounded
 * once to the tensor type. One thread per output element (grid-stride loops),
 * so results never depend on the launch shape.
 */
#include <math.h>
#include <stdint.h>

#include "backend/backend_ops.h"
#include "cuda/cuda_kernels.h"

namespace {

constexpr int kThreads = 256;
/* Grid-stride loops: enough blocks to fill an H100/H200, never more than the
 * work needs. */
constexpr int64_t kMaxBlocks = 65536;

inline unsigned grid_for(int64_t n)
{
    int64_t b = (n + kThreads - 1) / kThreads;
    if (b < 1)
        b = 1;
    if (b > kMaxBlocks)
        b = kMaxBlocks;
    return (unsigned)b;
}

/* PyTorch's softplus threshold (beta 1), as ref. */
constexpr double kSoftplusThreshold = 20.0;

__device__ inline double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

__device__ inline double act_f(int act, double alpha, double x)
{
    switch (act) {
    case DDGAN_ACT_SILU:
        return x * sigmoid_d(x);
    case DDGAN_ACT_LRELU:
        return x > 0.0 ? x : alpha * x;
    case DDGAN_ACT_TANH:
        return tanh(x);
    case DDGAN_ACT_SOFTPLUS:
        return x > kSoftplusThreshold ? x : log1p(exp(x));
    case DDGAN_ACT_SIGMOID:
        return sigmoid_d(x);
    }
    return 0.0;
}

__device__ inline double act_df(int act, double alpha, double x, double y, double dy)
{
    switch (act) {
    case DDGAN_ACT_SILU: {
        const double s = sigmoid_d(x);
        return dy * (s * (1.0 + x * (1.0 - s)));
    }
    case DDGAN_ACT_LRELU:
        return x > 0.0 ? dy : dy * alpha;
    case DDGAN_ACT_TANH:
        return dy * (1.0 - y * y);
    case DDGAN_ACT_SOFTPLUS: {
        if (x > kSoftplusThreshold)
            return dy;
        const double z = exp(x);
        return dy * (z / (z + 1.0));
    }
    case DDGAN_ACT_SIGMOID:
        return dy * (1.0 - y) * y;
    }
    return 0.0;
}

__device__ inline double bin_f(int op, double alpha, double beta, double a, double b)
{
    switch (op) {
    case DDGAN_BIN_AXPBY:
        return alpha * a + beta * b;
    case DDGAN_BIN_MUL:
        return alpha * a * b;
    case DDGAN_BIN_DIV:
        return alpha * a / b;
    }
    return 0.0;
}

__device__ inline double un_f(int op, double alpha, double beta, double a)
{
    switch (op) {
    case DDGAN_UN_SCALE:
        return alpha * a + beta;
    case DDGAN_UN_SQUARE:
        return alpha * a * a;
    case DDGAN_UN_SQRT:
        return alpha * sqrt(a + beta);
    case DDGAN_UN_RSQRT:
        return alpha / sqrt(a + beta);
    case DDGAN_UN_EXP:
        return alpha * exp(a);
    case DDGAN_UN_LOG:
        return alpha * log(a);
    case DDGAN_UN_SIN:
        return alpha * sin(a);
    case DDGAN_UN_COS:
        return alpha * cos(a);
    }
    return 0.0;
}

__global__ void fill_f32_k(float *dst, float v, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = v;
}

template <typename T>
__global__ void act_fwd_k(int act, double alpha, int64_t n, const T *x, T *y)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = (T)act_f(act, alpha, (double)x[i]);
}

/* x is NULL for tanh / sigmoid (derivative from y), y is NULL otherwise. */
template <typename T>
__global__ void act_bwd_k(int act, double alpha, int64_t n, const T *x, const T *y, const T *dy,
                          T *dx, int acc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const double xv = x ? (double)x[i] : 0.0, yv = y ? (double)y[i] : 0.0;
        double v = act_df(act, alpha, xv, yv, (double)dy[i]);
        if (acc)
            v = (double)dx[i] + v;
        dx[i] = (T)v;
    }
}

/* Offsets of flat index i of the 4-D space (i3 fastest). */
__device__ inline void ew_offsets(const cuk_ew &d, int64_t i, int64_t *oa, int64_t *ob, int64_t *oo)
{
    const int64_t i3 = i % d.shape[3];
    int64_t r = i / d.shape[3];
    const int64_t i2 = r % d.shape[2];
    r /= d.shape[2];
    const int64_t i1 = r % d.shape[1];
    const int64_t i0 = r / d.shape[1];
    *oa = i0 * d.as[0] + i1 * d.as[1] + i2 * d.as[2] + i3 * d.as[3];
    *ob = i0 * d.bs[0] + i1 * d.bs[1] + i2 * d.bs[2] + i3 * d.bs[3];
    *oo = i0 * d.os[0] + i1 * d.os[1] + i2 * d.os[2] + i3 * d.os[3];
}

/* `out` may alias an input read with the same layout: each element is read
 * and written by the same thread. */
template <typename T>
__global__ void binary_k(cuk_ew d, int64_t total, int op, double alpha, double beta, const T *a,
                         const T *b, T *out, int acc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t oa, ob, oo;
        ew_offsets(d, i, &oa, &ob, &oo);
        double v = bin_f(op, alpha, beta, (double)a[oa], (double)b[ob]);
        if (acc)
            v = (double)out[oo] + v;
        out[oo] = (T)v;
    }
}

template <typename T>
__global__ void unary_k(cuk_ew d, int64_t total, int op, double alpha, double beta, const T *a,
                        T *out, int acc)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t oa, ob, oo;
        ew_offsets(d, i, &oa, &ob, &oo);
        double v = un_f(op, alpha, beta, (double)a[oa]);
        if (acc)
            v = (double)out[oo] + v;
        out[oo] = (T)v;
    }
}

/* Adam in the tensor type, one operation at a time in PyTorch 1.13's order
 * (ref_optim_impl.inc); sqrt of a float is correctly rounded on the device
 * (-prec-sqrt=true, nvcc's default), as (float)sqrt((double)v) is in ref. */
template <typename T>
__global__ void adam_k(int64_t n, T b1, T b2, T omb1, T omb2, T neg_step_size, T bc2_sqrt, T eps,
                       T *p, const T *g, T *m, T *v)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const T gi = g[i];
        T mi = m[i] * b1;
        mi = mi + omb1 * gi;
        T vi = v[i] * b2;
        vi = vi + omb2 * gi * gi;
        T denom = sqrt(vi);
        denom = denom / bc2_sqrt;
        denom = denom + eps;
        p[i] = p[i] + neg_step_size * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}

template <typename T>
__global__ void ema_k(int64_t n, T dc, T omd, T *ema, const T *param)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const T e = ema[i] * dc;
        ema[i] = e + omd * param[i];
    }
}

/* ---- Philox4x32-10, exactly lib/core/philox.c ---------------------------- */

__device__ inline void philox_block(uint64_t seed, uint64_t stream, uint64_t b, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)b, c1 = (uint32_t)(b >> 32), c2 = (uint32_t)stream,
             c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        const uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        const uint32_t n0 = hi1 ^ c1 ^ k0;
        const uint32_t n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* Box-Muller in double, the same expression as philox.c (no contraction:
 * --fmad=false). The device log/cos/sin are within 1-2 double ulps of
 * glibc's, so the float32 values agree except in the rare case where the
 * double lies that close to a float rounding boundary (docs/backend-cuda.md). */
__device__ inline void box_muller(uint32_t a, uint32_t b, double *n0, double *n1)
{
    const double two_pi = 6.283185307179586476925286766559;
    const double u1 = ((double)a + 0.5) * 0x1p-32;
    const double u2 = ((double)b + 0.5) * 0x1p-32;
    const double r = sqrt(-2.0 * log(u1));
    const double th = two_pi * u2;
    *n0 = r * cos(th);
    *n1 = r * sin(th);
}

/* One thread per Philox block: outputs 4i .. 4i+3. */
template <typename T>
__global__ void rand_k(int normal, int64_t n, uint64_t seed, uint64_t stream, uint64_t first_block,
                       T *out)
{
    const int64_t blocks = (n + 3) / 4;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < blocks;
         i += (int64_t)gridDim.x * blockDim.x) {
        uint32_t w[4];
        philox_block(seed, stream, first_block + (uint64_t)i, w);
        double v[4];
        if (normal) {
            box_muller(w[0], w[1], &v[0], &v[1]);
            box_muller(w[2], w[3], &v[2], &v[3]);
        } else {
            /* float uniforms (exact), widened for float64 as ref does */
            for (int j = 0; j < 4; j++)
                v[j] = (double)(float)(((double)(w[j] >> 8) + 0.5) * 0x1p-24);
        }
        for (int j = 0; j < 4 && 4 * i + j < n; j++)
            out[4 * i + j] = (T)v[j];
    }
}

template <typename T> inline const T *cp(const void *p) { return static_cast<const T *>(p); }
template <typename T> inline T *mp(void *p) { return static_cast<T *>(p); }

inline int64_t ew_total(const cuk_ew *d) { return d->shape[0] * d->shape[1] * d->shape[2] * d->shape[3]; }

} // namespace

extern "C" cudaError_t cuk_fill_f32(cudaStream_t s, float *dst, float value, int64_t n)
{
    if (n <= 0)
        return cudaSuccess;
    fill_f32_k<<<grid_for(n), kThreads, 0, s>>>(dst, value, n);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_act_fwd(cudaStream_t s, int f64, int act, double alpha, int64_t n,
                                   const void *x, void *y)
{
    if (n <= 0)
        return cudaSuccess;
    if (f64)
        act_fwd_k<double><<<grid_for(n), kThreads, 0, s>>>(act, alpha, n, cp<double>(x), mp<double>(y));
    else
        act_fwd_k<float><<<grid_for(n), kThreads, 0, s>>>(act, alpha, n, cp<float>(x), mp<float>(y));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_act_bwd(cudaStream_t s, int f64, int act, double alpha, int64_t n,
                                   const void *x, const void *y, const void *dy, void *dx, int acc)
{
    if (n <= 0)
        return cudaSuccess;
    if (f64)
        act_bwd_k<double><<<grid_for(n), kThreads, 0, s>>>(act, alpha, n, cp<double>(x), cp<double>(y),
                                                            cp<double>(dy), mp<double>(dx), acc);
    else
        act_bwd_k<float><<<grid_for(n), kThreads, 0, s>>>(act, alpha, n, cp<float>(x), cp<float>(y),
                                                           cp<float>(dy), mp<float>(dx), acc);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_binary(cudaStream_t s, int f64, const cuk_ew *d, int op, double alpha,
                                  double beta, const void *a, const void *b, void *out, int acc)
{
    const int64_t total = ew_total(d);
    if (total <= 0)
        return cudaSuccess;
    if (f64)
        binary_k<double><<<grid_for(total), kThreads, 0, s>>>(*d, total, op, alpha, beta, cp<double>(a),
                                                               cp<double>(b), mp<double>(out), acc);
    else
        binary_k<float><<<grid_for(total), kThreads, 0, s>>>(*d, total, op, alpha, beta, cp<float>(a),
                                                              cp<float>(b), mp<float>(out), acc);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_unary(cudaStream_t s, int f64, const cuk_ew *d, int op, double alpha,
                                 double beta, const void *a, void *out, int acc)
{
    const int64_t total = ew_total(d);
    if (total <= 0)
        return cudaSuccess;
    if (f64)
        unary_k<double><<<grid_for(total), kThreads, 0, s>>>(*d, total, op, alpha, beta, cp<double>(a),
                                                              mp<double>(out), acc);
    else
        unary_k<float><<<grid_for(total), kThreads, 0, s>>>(*d, total, op, alpha, beta, cp<float>(a),
                                                             mp<float>(out), acc);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_adam(cudaStream_t s, int f64, int64_t n, double b1, double b2, double omb1,
                                double omb2, double neg_step_size, double bc2_sqrt, double eps, void *p,
                                const void *g, void *m, void *v)
{
    if (n <= 0)
        return cudaSuccess;
    if (f64)
        adam_k<double><<<grid_for(n), kThreads, 0, s>>>(n, b1, b2, omb1, omb2, neg_step_size, bc2_sqrt,
                                                         eps, mp<double>(p), cp<double>(g), mp<double>(m),
                                                         mp<double>(v));
    else
        adam_k<float><<<grid_for(n), kThreads, 0, s>>>(
            n, (float)b1, (float)b2, (float)omb1, (float)omb2, (float)neg_step_size, (float)bc2_sqrt,
            (float)eps, mp<float>(p), cp<float>(g), mp<float>(m), mp<float>(v));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_ema(cudaStream_t s, int f64, int64_t n, double decay, void *ema,
                               const void *param)
{
    if (n <= 0)
        return cudaSuccess;
    if (f64)
        ema_k<double><<<grid_for(n), kThreads, 0, s>>>(n, decay, 1.0 - decay, mp<double>(ema),
                                                        cp<double>(param));
    else
        ema_k<float><<<grid_for(n), kThreads, 0, s>>>(n, (float)decay, (float)(1.0 - decay),
                                                       mp<float>(ema), cp<float>(param));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_rand(cudaStream_t s, int f64, int normal, int64_t n, uint64_t seed,
                                uint64_t stream, uint64_t first_block, void *out)
{
    if (n <= 0)
        return cudaSuccess;
    const int64_t blocks = (n + 3) / 4;
    if (f64)
        rand_k<double><<<grid_for(blocks), kThreads, 0, s>>>(normal, n, seed, stream, first_block,
                                                              mp<double>(out));
    else
        rand_k<float><<<grid_for(blocks), kThreads, 0, s>>>(normal, n, seed, stream, first_block,
                                                             mp<float>(out));
    return cudaGetLastError();
}
