/*
 * "cuda" plug-in kernels with reductions: group norm, row softmax, axis
 * reductions, upfirdn2d, and the helpers around the cuDNN convolutions
 * (bias add, bias gradient, explicit padding for asymmetric pads).
 *
 * Sums are accumulated in double like "ref". Where ref runs one long serial
 * sum per output, these kernels give each output one block of kThreads
 * threads: every thread sums a fixed strided subset in ascending order, then a
 * fixed-shape tree combines the partial sums. The order differs from ref's
 * (it stays within float32 rounding of it after the single rounding) but is
 * the same on every run, so results are reproducible bit for bit.
 */
#include <math.h>
#include <stdint.h>

#include "backend/backend_ops.h"
#include "cuda/cuda_kernels.h"

namespace {

constexpr int kThreads = 256;
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

/* Deterministic block sum (blockDim.x == kThreads). Every thread gets the
 * result; `sh` is kThreads doubles of shared memory. */
__device__ inline double block_sum(double v, double *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int st = kThreads / 2; st > 0; st >>= 1) {
        if ((int)threadIdx.x < st)
            sh[threadIdx.x] += sh[threadIdx.x + st];
        __syncthreads();
    }
    const double r = sh[0];
    __syncthreads();
    return r;
}

__device__ inline double block_max(double v, double *sh)
{
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int st = kThreads / 2; st > 0; st >>= 1) {
        if ((int)threadIdx.x < st && sh[threadIdx.x + st] > sh[threadIdx.x])
            sh[threadIdx.x] = sh[threadIdx.x + st];
        __syncthreads();
    }
    const double r = sh[0];
    __syncthreads();
    return r;
}

/* ---- group norm (ref_norm_impl.inc) -------------------------------------- */

/* One block per (sample, group) task; groups are contiguous in [n, c, hw]. */
template <typename T>
__global__ void gn_fwd_k(int groups, int64_t cpg, int64_t hw, double eps, const T *x,
                         const T *gamma, const T *beta, T *y, T *mean, T *rstd)
{
    __shared__ double sh[kThreads];
    const int64_t t = blockIdx.x;
    const int64_t g = t % groups;
    const int64_t cnt = cpg * hw;
    const T *xg = x + t * cnt;
    T *yg = y + t * cnt;
    double sum = 0.0;
    for (int64_t i = threadIdx.x; i < cnt; i += kThreads)
        sum += (double)xg[i];
    const double mu = block_sum(sum, sh) / (double)cnt;
    double ss = 0.0;
    for (int64_t i = threadIdx.x; i < cnt; i += kThreads) {
        const double dv = (double)xg[i] - mu;
        ss += dv * dv;
    }
    const double rs = 1.0 / sqrt(block_sum(ss, sh) / (double)cnt + eps);
    for (int64_t i = threadIdx.x; i < cnt; i += kThreads) {
        const int64_t ch = g * cpg + i / hw;
        double v = ((double)xg[i] - mu) * rs;
        if (gamma)
            v *= (double)gamma[ch];
        if (beta)
            v += (double)beta[ch];
        yg[i] = (T)v;
    }
    if (threadIdx.x == 0) {
        if (mean)
            mean[t] = (T)mu;
        if (rstd)
            rstd[t] = (T)rs;
    }
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma. */
template <typename T>
__global__ void gn_bwd_dx_k(int groups, int64_t cpg, int64_t hw, const T *dy, const T *x,
                            const T *mean, const T *rstd, const T *gamma, T *dx, int acc)
{
    __shared__ double sh[kThreads];
    const int64_t t = blockIdx.x;
    const int64_t g = t % groups;
    const int64_t cnt = cpg * hw;
    const T *xg = x + t * cnt, *dyg = dy + t * cnt;
    T *dxg = dx + t * cnt;
    const double mu = (double)mean[t], rs = (double)rstd[t];
    double sg = 0.0, sgx = 0.0;
    for (int64_t k = threadIdx.x; k < cnt; k += kThreads) {
        const double ga = gamma ? (double)gamma[g * cpg + k / hw] : 1.0;
        const double gv = (double)dyg[k] * ga;
        sg += gv;
        sgx += gv * (((double)xg[k] - mu) * rs);
    }
    const double mg = block_sum(sg, sh) / (double)cnt;
    const double mgx = block_sum(sgx, sh) / (double)cnt;
    for (int64_t k = threadIdx.x; k < cnt; k += kThreads) {
        const double ga = gamma ? (double)gamma[g * cpg + k / hw] : 1.0;
        const double xhat = ((double)xg[k] - mu) * rs;
        double v = rs * ((double)dyg[k] * ga - mg - xhat * mgx);
        if (acc)
            v = (double)dxg[k] + v;
        dxg[k] = (T)v;
    }
}

/* One block per channel: dgamma = sum dy * xhat, dbeta = sum dy over (n, hw). */
template <typename T>
__global__ void gn_bwd_affine_k(int n, int c, int groups, int64_t hw, const T *dy, const T *x,
                                const T *mean, const T *rstd, T *dgamma, T *dbeta, int acc)
{
    __shared__ double sh[kThreads];
    const int64_t ch = blockIdx.x;
    const int64_t cpg = c / groups;
    const int64_t g = ch / cpg;
    const int64_t total = (int64_t)n * hw;
    double sg = 0.0, sgx = 0.0;
    for (int64_t j = threadIdx.x; j < total; j += kThreads) {
        const int64_t b = j / hw, i = j % hw;
        const int64_t off = (b * c + ch) * hw + i;
        const double mu = (double)mean[b * groups + g], rs = (double)rstd[b * groups + g];
        const double gv = (double)dy[off];
        sg += gv;
        sgx += gv * (((double)x[off] - mu) * rs);
    }
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    if (threadIdx.x == 0) {
        if (dgamma)
            dgamma[ch] = (T)(acc ? (double)dgamma[ch] + sgx : sgx);
        if (dbeta)
            dbeta[ch] = (T)(acc ? (double)dbeta[ch] + sg : sg);
    }
}

/* ---- softmax --------------------------------------------------------------- */

template <typename T> __global__ void softmax_fwd_k(int64_t cols, const T *x, T *y)
{
    __shared__ double sh[kThreads];
    const T *xr = x + (int64_t)blockIdx.x * cols;
    T *yr = y + (int64_t)blockIdx.x * cols;
    double mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += kThreads)
        if ((double)xr[j] > mx)
            mx = (double)xr[j];
    mx = block_max(mx, sh);
    double sum = 0.0;
    for (int64_t j = threadIdx.x; j < cols; j += kThreads)
        sum += exp((double)xr[j] - mx);
    sum = block_sum(sum, sh);
    for (int64_t j = threadIdx.x; j < cols; j += kThreads)
        yr[j] = (T)(exp((double)xr[j] - mx) / sum);
}

template <typename T>
__global__ void softmax_bwd_k(int64_t cols, const T *y, const T *dy, T *dx, int acc)
{
    __shared__ double sh[kThreads];
    const int64_t off = (int64_t)blockIdx.x * cols;
    const T *yr = y + off, *dyr = dy + off;
    T *dxr = dx + off;
    double dot = 0.0;
    for (int64_t j = threadIdx.x; j < cols; j += kThreads)
        dot += (double)dyr[j] * (double)yr[j];
    dot = block_sum(dot, sh);
    for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
        double v = (double)yr[j] * ((double)dyr[j] - dot);
        if (acc)
            v = (double)dxr[j] + v;
        dxr[j] = (T)v;
    }
}

/* ---- reductions (ref_pointwise_impl.inc) --------------------------------- */

__device__ inline int64_t red_base(const cuk_reduce_plan &p, int64_t o)
{
    int64_t base = 0, rem = o;
    for (int k = p.nk - 1; k >= 0; k--) {
        base += (rem % p.ks[k]) * p.kst[k];
        rem /= p.ks[k];
    }
    return base;
}

__device__ inline int64_t red_off(const cuk_reduce_plan &p, int64_t q)
{
    int64_t off = 0;
    for (int k = p.nr - 1; k >= 0; k--) {
        off += (q % p.rs[k]) * p.rst[k];
        q /= p.rs[k];
    }
    return off;
}

/* Short reductions: one thread per output, terms in ascending order (as ref). */
template <typename T>
__global__ void reduce_serial_k(cuk_reduce_plan p, int op, const T *x, T *out, int acc)
{
    for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < p.n_out;
         o += (int64_t)gridDim.x * blockDim.x) {
        const int64_t base = red_base(p, o);
        double a = 0.0;
        for (int64_t q = 0; q < p.n_red; q++) {
            const double v = (double)x[base + red_off(p, q)];
            a += op == DDGAN_RED_SUMSQ ? v * v : v;
        }
        if (op == DDGAN_RED_MEAN)
            a /= (double)p.n_red;
        out[o] = (T)(acc ? (double)out[o] + a : a);
    }
}

/* Long reductions: one block per output. */
template <typename T>
__global__ void reduce_block_k(cuk_reduce_plan p, int op, const T *x, T *out, int acc)
{
    __shared__ double sh[kThreads];
    const int64_t o = blockIdx.x;
    const int64_t base = red_base(p, o);
    double a = 0.0;
    for (int64_t q = threadIdx.x; q < p.n_red; q += kThreads) {
        const double v = (double)x[base + red_off(p, q)];
        a += op == DDGAN_RED_SUMSQ ? v * v : v;
    }
    a = block_sum(a, sh);
    if (threadIdx.x == 0) {
        if (op == DDGAN_RED_MEAN)
            a /= (double)p.n_red;
        out[o] = (T)(acc ? (double)out[o] + a : a);
    }
}

/* ---- upfirdn2d (ref_fir_impl.inc): one thread per output element ----------- */

template <typename T> __global__ void fir_fwd_k(cuk_fir d, int64_t total, const T *x, T *y, int acc)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ox = e % d.w_out;
        const int64_t oy = (e / d.w_out) % d.h_out;
        const int64_t plane = e / ((int64_t)d.w_out * d.h_out);
        const T *xp = x + plane * d.h * d.w;
        double a = 0.0;
        for (int ty = 0; ty < d.taps; ty++) {
            const int64_t uy = oy * d.down + ty - d.pad0;
            if (uy < 0 || uy % d.up != 0 || uy / d.up >= d.h)
                continue;
            const T *xrow = xp + (uy / d.up) * d.w;
            for (int tx = 0; tx < d.taps; tx++) {
                const int64_t ux = ox * d.down + tx - d.pad0;
                if (ux < 0 || ux % d.up != 0 || ux / d.up >= d.w)
                    continue;
                a += (d.k[ty] * d.k[tx]) * (double)xrow[ux / d.up];
            }
        }
        y[e] = (T)(acc ? (double)y[e] + a : a);
    }
}

template <typename T>
__global__ void fir_bwd_k(cuk_fir d, int64_t total, const T *dy, T *dx, int acc)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ix = e % d.w;
        const int64_t iy = (e / d.w) % d.h;
        const int64_t plane = e / ((int64_t)d.w * d.h);
        const T *dyp = dy + plane * d.h_out * d.w_out;
        double a = 0.0;
        for (int ty = 0; ty < d.taps; ty++) {
            const int64_t sy = iy * d.up + d.pad0 - ty;
            if (sy < 0 || sy % d.down != 0 || sy / d.down >= d.h_out)
                continue;
            const T *dyrow = dyp + (sy / d.down) * d.w_out;
            for (int tx = 0; tx < d.taps; tx++) {
                const int64_t sx = ix * d.up + d.pad0 - tx;
                if (sx < 0 || sx % d.down != 0 || sx / d.down >= d.w_out)
                    continue;
                a += (d.k[ty] * d.k[tx]) * (double)dyrow[sx / d.down];
            }
        }
        dx[e] = (T)(acc ? (double)dx[e] + a : a);
    }
}

/* ---- convolution helpers ----------------------------------------------------- */

template <typename T>
__global__ void add_bias_k(int c, int64_t plane, int64_t total, const T *bias, T *y)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ch = (e / plane) % c;
        y[e] = (T)((double)y[e] + (double)bias[ch]);
    }
}

template <typename T>
__global__ void bias_grad_k(int n, int c, int64_t plane, const T *dy, T *dbias, int acc)
{
    __shared__ double sh[kThreads];
    const int64_t ch = blockIdx.x;
    const int64_t total = (int64_t)n * plane;
    double a = 0.0;
    for (int64_t j = threadIdx.x; j < total; j += kThreads) {
        const int64_t b = j / plane, i = j % plane;
        a += (double)dy[(b * c + ch) * plane + i];
    }
    a = block_sum(a, sh);
    if (threadIdx.x == 0)
        dbias[ch] = (T)(acc ? (double)dbias[ch] + a : a);
}

template <typename T>
__global__ void pad_k(int64_t total, int h, int w, int hp, int wp, int pad_t, int pad_l, const T *x,
                      T *xp)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t px = e % wp;
        const int64_t py = (e / wp) % hp;
        const int64_t p = e / ((int64_t)wp * hp);
        const int64_t iy = py - pad_t, ix = px - pad_l;
        xp[e] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(p * h + iy) * w + ix] : (T)0;
    }
}

template <typename T>
__global__ void crop_k(int64_t total, int h, int w, int hp, int wp, int pad_t, int pad_l,
                       const T *src, T *dst, int acc)
{
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t ix = e % w;
        const int64_t iy = (e / w) % h;
        const int64_t p = e / ((int64_t)w * h);
        const T v = src[(p * hp + iy + pad_t) * wp + ix + pad_l];
        dst[e] = acc ? (T)((double)dst[e] + (double)v) : v;
    }
}

template <typename T> inline const T *cp(const void *p) { return static_cast<const T *>(p); }
template <typename T> inline T *mp(void *p) { return static_cast<T *>(p); }

/* The grid of the one-block-per-task kernels (tasks < 2^31 is checked by the caller). */
inline unsigned tasks_grid(int64_t tasks) { return (unsigned)tasks; }

} // namespace

extern "C" cudaError_t cuk_gn_fwd(cudaStream_t s, int f64, int n, int c, int64_t hw, int groups,
                                  double eps, const void *x, const void *gamma, const void *beta,
                                  void *y, void *mean, void *rstd)
{
    const int64_t tasks = (int64_t)n * groups, cpg = c / groups;
    if (tasks <= 0)
        return cudaSuccess;
    if (f64)
        gn_fwd_k<double><<<tasks_grid(tasks), kThreads, 0, s>>>(
            groups, cpg, hw, eps, cp<double>(x), cp<double>(gamma), cp<double>(beta), mp<double>(y),
            mp<double>(mean), mp<double>(rstd));
    else
        gn_fwd_k<float><<<tasks_grid(tasks), kThreads, 0, s>>>(
            groups, cpg, hw, eps, cp<float>(x), cp<float>(gamma), cp<float>(beta), mp<float>(y),
            mp<float>(mean), mp<float>(rstd));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_gn_bwd(cudaStream_t s, int f64, int n, int c, int64_t hw, int groups,
                                  const void *dy, const void *x, const void *mean, const void *rstd,
                                  const void *gamma, void *dx, void *dgamma, void *dbeta, int acc)
{
    const int64_t tasks = (int64_t)n * groups, cpg = c / groups;
    if (tasks <= 0)
        return cudaSuccess;
    if (dx) {
        if (f64)
            gn_bwd_dx_k<double><<<tasks_grid(tasks), kThreads, 0, s>>>(
                groups, cpg, hw, cp<double>(dy), cp<double>(x), cp<double>(mean), cp<double>(rstd),
                cp<double>(gamma), mp<double>(dx), acc);
        else
            gn_bwd_dx_k<float><<<tasks_grid(tasks), kThreads, 0, s>>>(
                groups, cpg, hw, cp<float>(dy), cp<float>(x), cp<float>(mean), cp<float>(rstd),
                cp<float>(gamma), mp<float>(dx), acc);
        const cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess)
            return e;
    }
    if (dgamma || dbeta) {
        if (f64)
            gn_bwd_affine_k<double><<<tasks_grid(c), kThreads, 0, s>>>(
                n, c, groups, hw, cp<double>(dy), cp<double>(x), cp<double>(mean), cp<double>(rstd),
                mp<double>(dgamma), mp<double>(dbeta), acc);
        else
            gn_bwd_affine_k<float><<<tasks_grid(c), kThreads, 0, s>>>(
                n, c, groups, hw, cp<float>(dy), cp<float>(x), cp<float>(mean), cp<float>(rstd),
                mp<float>(dgamma), mp<float>(dbeta), acc);
    }
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_softmax_fwd(cudaStream_t s, int f64, int64_t rows, int64_t cols,
                                       const void *x, void *y)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    if (f64)
        softmax_fwd_k<double><<<tasks_grid(rows), kThreads, 0, s>>>(cols, cp<double>(x), mp<double>(y));
    else
        softmax_fwd_k<float><<<tasks_grid(rows), kThreads, 0, s>>>(cols, cp<float>(x), mp<float>(y));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_softmax_bwd(cudaStream_t s, int f64, int64_t rows, int64_t cols,
                                       const void *y, const void *dy, void *dx, int acc)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    if (f64)
        softmax_bwd_k<double><<<tasks_grid(rows), kThreads, 0, s>>>(cols, cp<double>(y), cp<double>(dy),
                                                                     mp<double>(dx), acc);
    else
        softmax_bwd_k<float><<<tasks_grid(rows), kThreads, 0, s>>>(cols, cp<float>(y), cp<float>(dy),
                                                                    mp<float>(dx), acc);
    return cudaGetLastError();
}

/* Below this many terms per output a serial thread per output beats a block. */
#define CUK_REDUCE_SERIAL_MAX 256

extern "C" cudaError_t cuk_reduce(cudaStream_t s, int f64, const cuk_reduce_plan *p, int op,
                                  const void *x, void *out, int acc)
{
    if (p->n_out <= 0)
        return cudaSuccess;
    if (p->n_red <= CUK_REDUCE_SERIAL_MAX || p->n_out > ((int64_t)1 << 31) - 1) {
        if (f64)
            reduce_serial_k<double><<<grid_for(p->n_out), kThreads, 0, s>>>(*p, op, cp<double>(x),
                                                                             mp<double>(out), acc);
        else
            reduce_serial_k<float><<<grid_for(p->n_out), kThreads, 0, s>>>(*p, op, cp<float>(x),
                                                                            mp<float>(out), acc);
    } else {
        if (f64)
            reduce_block_k<double><<<tasks_grid(p->n_out), kThreads, 0, s>>>(*p, op, cp<double>(x),
                                                                              mp<double>(out), acc);
        else
            reduce_block_k<float><<<tasks_grid(p->n_out), kThreads, 0, s>>>(*p, op, cp<float>(x),
                                                                             mp<float>(out), acc);
    }
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_fir_fwd(cudaStream_t s, int f64, const cuk_fir *d, const void *x, void *y,
                                   int acc)
{
    const int64_t total = (int64_t)d->n * d->c * d->h_out * d->w_out;
    if (total <= 0)
        return cudaSuccess;
    if (f64)
        fir_fwd_k<double><<<grid_for(total), kThreads, 0, s>>>(*d, total, cp<double>(x), mp<double>(y),
                                                                acc);
    else
        fir_fwd_k<float><<<grid_for(total), kThreads, 0, s>>>(*d, total, cp<float>(x), mp<float>(y), acc);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_fir_bwd(cudaStream_t s, int f64, const cuk_fir *d, const void *dy,
                                   void *dx, int acc)
{
    const int64_t total = (int64_t)d->n * d->c * d->h * d->w;
    if (total <= 0)
        return cudaSuccess;
    if (f64)
        fir_bwd_k<double><<<grid_for(total), kThreads, 0, s>>>(*d, total, cp<double>(dy),
                                                                mp<double>(dx), acc);
    else
        fir_bwd_k<float><<<grid_for(total), kThreads, 0, s>>>(*d, total, cp<float>(dy), mp<float>(dx),
                                                               acc);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_add_bias(cudaStream_t s, int f64, int n, int c, int64_t plane,
                                    const void *bias, void *y)
{
    const int64_t total = (int64_t)n * c * plane;
    if (total <= 0)
        return cudaSuccess;
    if (f64)
        add_bias_k<double><<<grid_for(total), kThreads, 0, s>>>(c, plane, total, cp<double>(bias),
                                                                 mp<double>(y));
    else
        add_bias_k<float><<<grid_for(total), kThreads, 0, s>>>(c, plane, total, cp<float>(bias),
                                                                mp<float>(y));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_bias_grad(cudaStream_t s, int f64, int n, int c, int64_t plane,
                                     const void *dy, void *dbias, int acc)
{
    if (c <= 0)
        return cudaSuccess;
    if (f64)
        bias_grad_k<double><<<tasks_grid(c), kThreads, 0, s>>>(n, c, plane, cp<double>(dy),
                                                                mp<double>(dbias), acc);
    else
        bias_grad_k<float><<<tasks_grid(c), kThreads, 0, s>>>(n, c, plane, cp<float>(dy),
                                                               mp<float>(dbias), acc);
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_pad(cudaStream_t s, int f64, int64_t planes, int h, int w, int pad_t,
                               int pad_l, int pad_b, int pad_r, const void *x, void *xp)
{
    const int hp = h + pad_t + pad_b, wp = w + pad_l + pad_r;
    const int64_t total = planes * hp * wp;
    if (total <= 0)
        return cudaSuccess;
    if (f64)
        pad_k<double><<<grid_for(total), kThreads, 0, s>>>(total, h, w, hp, wp, pad_t, pad_l,
                                                            cp<double>(x), mp<double>(xp));
    else
        pad_k<float><<<grid_for(total), kThreads, 0, s>>>(total, h, w, hp, wp, pad_t, pad_l,
                                                           cp<float>(x), mp<float>(xp));
    return cudaGetLastError();
}

extern "C" cudaError_t cuk_crop(cudaStream_t s, int f64, int64_t planes, int h, int w, int hp,
                                int wp, int pad_t, int pad_l, const void *src, void *dst, int acc)
{
    const int64_t total = planes * h * w;
    if (total <= 0)
        return cudaSuccess;
    if (f64)
        crop_k<double><<<grid_for(total), kThreads, 0, s>>>(total, h, w, hp, wp, pad_t, pad_l,
                                                             cp<double>(src), mp<double>(dst), acc);
    else
        crop_k<float><<<grid_for(total), kThreads, 0, s>>>(total, h, w, hp, wp, pad_t, pad_l,
                                                            cp<float>(src), mp<float>(dst), acc);
    return cudaGetLastError();
}
