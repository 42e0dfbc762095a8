/* "cuda" convolutions on cuDNN: forward, backward data, backward filter.
 *
 * This is the only file of the plug-in that uses cuDNN. It uses cuDNN's
 * legacy convolution API (cudnnConvolutionForward & co.), deprecated in cuDNN
 * 9 but present and far smaller than the graph API for three fixed ops;
 * moving to the graph API later touches this file only.
 *
 * Conventions bridged here:
 *  - cuDNN pads symmetrically. The op set allows asymmetric zero padding
 *    (pad_t != pad_b or pad_l != pad_r, e.g. the right/bottom-only pad of the
 *    non-FIR pyramid). Those cases run on an explicitly padded copy of x
 *    (cuk_pad) with cuDNN padding 0; backward data writes the padded
 *    gradient to scratch and crops it into dx (cuk_crop). Output sizes are
 *    then identical to ddgan__conv2d_desc_finish's.
 *  - accumulate = 1 is cuDNN's beta = 1; bias add and the bias gradient are
 *    kernels of cuda_norm.cu (double sums).
 *  - Exact mode sets CUDNN_FMA_MATH on every convolution descriptor: since
 *    cuDNN 8, CUDNN_DEFAULT_MATH lets float32 convolutions use TF32 tensor
 *    cores on Ampere and newer. Only deterministic algorithms are taken, and
 *    in exact mode not the FFT / Winograd ones (their rounding error grows
 *    with the transform, beyond the 1e-5 parity bound). DDGAN_CUDA_FAST=1
 *    allows tensor-op math (TF32) and every deterministic algorithm.
 *  - Algorithms come from cuDNN's heuristics (the *_v7 queries, no timing
 *    runs) and are cached per shape with their descriptors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cudnn.h>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_kernels.h"

/* Largest cuDNN workspace an algorithm may ask for. */
#define CONV_MAX_WS ((size_t)1 << 30)
/* The padded copy starts at this alignment inside the scratch buffer. */
#define CONV_ALIGN ((size_t)256)

typedef enum conv_kind { CONV_FWD = 0, CONV_BWD_DATA = 1, CONV_BWD_FILTER = 2 } conv_kind;

/* What a plan was made for (all int, compared with memcmp). */
typedef struct conv_key {
    int kind, f64, n, c_in, h, w, c_out, kh, kw, stride, pad_h, pad_w;
} conv_key;

struct cuda_conv_plan {
    conv_key key;
    int used;
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t wt;
    cudnnConvolutionDescriptor_t conv;
    int algo; /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    size_t ws_bytes;
};

static cudnnHandle_t handle_of(const cuda_state *st) { return (cudnnHandle_t)st->cudnn; }

static ddgan_status_t cudnn_fail(const ddgan_backend *be, cudnnStatus_t s, const char *what)
{
    char detail[512] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    const ddgan_status_t st =
        s == CUDNN_STATUS_ALLOC_FAILED ? DDGAN_ERR_OUT_OF_MEMORY
        : s == CUDNN_STATUS_NOT_SUPPORTED ? DDGAN_ERR_UNSUPPORTED
                                          : DDGAN_ERR_BACKEND;
    return ddgan__cuda_fail(be, st, "cuda backend: %s: %s%s%s", what, cudnnGetErrorString(s),
                            detail[0] ? ": " : "", detail);
}

#define TRY_DNN(be, expr, what)                                                                  \
    do {                                                                                         \
        const cudnnStatus_t dnn_s_ = (expr);                                                     \
        if (dnn_s_ != CUDNN_STATUS_SUCCESS)                                                      \
            return cudnn_fail((be), dnn_s_, (what));                                             \
    } while (0)

ddgan_status_t ddgan__cuda_conv_init(ddgan_backend *be, char *why, size_t why_cap)
{
    cuda_state *st = ddgan__cuda_st(be);
    const size_t v = cudnnGetVersion();
    if (v / 10000 != CUDNN_MAJOR) {
        snprintf(why, why_cap, "cuDNN %zu.%zu loaded, the plug-in was built for cuDNN %d", v / 10000,
                 (v % 10000) / 100, CUDNN_MAJOR);
        return DDGAN_ERR_BACKEND_UNAVAILABLE;
    }
    /* cuDNN 9 loads its sub-libraries on first use; load the ones used here
     * now, so a missing libcudnn_cnn / libcudnn_ops makes the backend
     * unavailable at creation instead of failing the first convolution. */
    cudnnStatus_t s = cudnnOpsVersionCheck();
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnCnnVersionCheck();
    cudnnHandle_t h = NULL;
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnCreate(&h);
    if (s == CUDNN_STATUS_SUCCESS)
        s = cudnnSetStream(h, st->stream);
    if (s != CUDNN_STATUS_SUCCESS) {
        char detail[256] = "";
        cudnnGetLastErrorString(detail, sizeof detail);
        snprintf(why, why_cap, "cuDNN initialisation failed: %s%s%s", cudnnGetErrorString(s),
                 detail[0] ? ": " : "", detail);
        if (h)
            cudnnDestroy(h);
        return DDGAN_ERR_BACKEND_UNAVAILABLE;
    }
    st->cudnn = h;
    st->plans = calloc(CUDA_CONV_CACHE_CAP, sizeof *st->plans);
    if (!st->plans) {
        snprintf(why, why_cap, "out of memory");
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    return DDGAN_OK;
}

static void plan_release(cuda_conv_plan *p)
{
    if (!p->used)
        return;
    if (p->x)
        cudnnDestroyTensorDescriptor(p->x);
    if (p->y)
        cudnnDestroyTensorDescriptor(p->y);
    if (p->wt)
        cudnnDestroyFilterDescriptor(p->wt);
    if (p->conv)
        cudnnDestroyConvolutionDescriptor(p->conv);
    memset(p, 0, sizeof *p);
}

void ddgan__cuda_conv_fini(cuda_state *st)
{
    if (st->plans) {
        for (int i = 0; i < CUDA_CONV_CACHE_CAP; i++)
            plan_release(&st->plans[i]);
        free(st->plans);
        st->plans = NULL;
    }
    if (st->cudnn) {
        cudnnDestroy(handle_of(st));
        st->cudnn = NULL;
    }
}

/* Whether heuristic result (status, determinism, math type, workspace) of
 * algorithm `algo` may be used; `slow_exact` flags the FFT / Winograd ones. */
static int algo_ok(const cuda_state *st, cudnnStatus_t status, cudnnDeterminism_t det,
                   cudnnMathType_t math, size_t mem, int slow_exact)
{
    if (status != CUDNN_STATUS_SUCCESS || det != CUDNN_DETERMINISTIC || mem > CONV_MAX_WS)
        return 0;
    if (!st->fast && (slow_exact || math == CUDNN_TENSOR_OP_MATH ||
                      math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
        return 0;
    return 1;
}

static ddgan_status_t pick_algo(ddgan_backend *be, cuda_conv_plan *p)
{
    cuda_state *st = ddgan__cuda_st(be);
    cudnnHandle_t h = handle_of(st);
    int found = 0, got = 0;
    switch ((conv_kind)p->key.kind) {
    case CONV_FWD: {
        cudnnConvolutionFwdAlgoPerf_t r[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        TRY_DNN(be,
                cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->wt, p->conv, p->y,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, r),
                "cudnnGetConvolutionForwardAlgorithm_v7");
        for (int i = 0; i < got && !found; i++) {
            const int slow = r[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT ||
                             r[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
                             r[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD ||
                             r[i].algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED;
            if (algo_ok(st, r[i].status, r[i].determinism, r[i].mathType, r[i].memory, slow)) {
                p->algo = (int)r[i].algo;
                found = 1;
            }
        }
        if (!found)
            p->algo = (int)CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM; /* always available */
        TRY_DNN(be,
                cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->wt, p->conv, p->y,
                                                        (cudnnConvolutionFwdAlgo_t)p->algo,
                                                        &p->ws_bytes),
                "cudnnGetConvolutionForwardWorkspaceSize");
        break;
    }
    case CONV_BWD_DATA: {
        cudnnConvolutionBwdDataAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        TRY_DNN(be,
                cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p->wt, p->y, p->conv, p->x,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                                                            &got, r),
                "cudnnGetConvolutionBackwardDataAlgorithm_v7");
        for (int i = 0; i < got && !found; i++) {
            const int slow = r[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT ||
                             r[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
                             r[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD ||
                             r[i].algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED;
            if (algo_ok(st, r[i].status, r[i].determinism, r[i].mathType, r[i].memory, slow)) {
                p->algo = (int)r[i].algo;
                found = 1;
            }
        }
        if (!found)
            p->algo = (int)CUDNN_CONVOLUTION_BWD_DATA_ALGO_1; /* deterministic */
        TRY_DNN(be,
                cudnnGetConvolutionBackwardDataWorkspaceSize(h, p->wt, p->y, p->conv, p->x,
                                                             (cudnnConvolutionBwdDataAlgo_t)p->algo,
                                                             &p->ws_bytes),
                "cudnnGetConvolutionBackwardDataWorkspaceSize");
        break;
    }
    case CONV_BWD_FILTER: {
        cudnnConvolutionBwdFilterAlgoPerf_t r[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        TRY_DNN(be,
                cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                    h, p->x, p->y, p->conv, p->wt, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, r),
                "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
        for (int i = 0; i < got && !found; i++) {
            const int slow = r[i].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT ||
                             r[i].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING ||
                             r[i].algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED;
            if (algo_ok(st, r[i].status, r[i].determinism, r[i].mathType, r[i].memory, slow)) {
                p->algo = (int)r[i].algo;
                found = 1;
            }
        }
        if (!found)
            p->algo = (int)CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1; /* deterministic */
        TRY_DNN(be,
                cudnnGetConvolutionBackwardFilterWorkspaceSize(
                    h, p->x, p->y, p->conv, p->wt, (cudnnConvolutionBwdFilterAlgo_t)p->algo,
                    &p->ws_bytes),
                "cudnnGetConvolutionBackwardFilterWorkspaceSize");
        break;
    }
    }
    return DDGAN_OK;
}

static ddgan_status_t plan_build(ddgan_backend *be, cuda_conv_plan *p, const ddgan_conv2d_desc *d)
{
    cuda_state *st = ddgan__cuda_st(be);
    const conv_key *k = &p->key;
    const cudnnDataType_t dt = k->f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    TRY_DNN(be, cudnnCreateTensorDescriptor(&p->x), "cudnnCreateTensorDescriptor");
    TRY_DNN(be, cudnnCreateTensorDescriptor(&p->y), "cudnnCreateTensorDescriptor");
    TRY_DNN(be, cudnnCreateFilterDescriptor(&p->wt), "cudnnCreateFilterDescriptor");
    TRY_DNN(be, cudnnCreateConvolutionDescriptor(&p->conv), "cudnnCreateConvolutionDescriptor");
    TRY_DNN(be, cudnnSetTensor4dDescriptor(p->x, CUDNN_TENSOR_NCHW, dt, k->n, k->c_in, k->h, k->w),
            "cudnnSetTensor4dDescriptor(x)");
    TRY_DNN(be,
            cudnnSetFilter4dDescriptor(p->wt, dt, CUDNN_TENSOR_NCHW, k->c_out, k->c_in, k->kh, k->kw),
            "cudnnSetFilter4dDescriptor");
    TRY_DNN(be,
            cudnnSetConvolution2dDescriptor(p->conv, k->pad_h, k->pad_w, k->stride, k->stride, 1, 1,
                                            CUDNN_CROSS_CORRELATION, dt),
            "cudnnSetConvolution2dDescriptor");
    TRY_DNN(be, cudnnSetConvolutionMathType(p->conv, st->fast ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH),
            "cudnnSetConvolutionMathType");
    int on, oc, oh, ow;
    TRY_DNN(be, cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->wt, &on, &oc, &oh, &ow),
            "cudnnGetConvolution2dForwardOutputDim");
    if (on != d->n || oc != d->c_out || oh != d->h_out || ow != d->w_out)
        return ddgan__cuda_fail(be, DDGAN_ERR_INTERNAL,
                                "cuda backend: cuDNN output %dx%dx%dx%d differs from the op's "
                                "%dx%dx%dx%d",
                                on, oc, oh, ow, d->n, d->c_out, d->h_out, d->w_out);
    TRY_DNN(be, cudnnSetTensor4dDescriptor(p->y, CUDNN_TENSOR_NCHW, dt, on, oc, oh, ow),
            "cudnnSetTensor4dDescriptor(y)");
    return pick_algo(be, p);
}

/* The cached plan for (kind, d) with the effective input size and padding. */
static ddgan_status_t get_plan(ddgan_backend *be, conv_kind kind, const ddgan_conv2d_desc *d,
                               int sym, cuda_conv_plan **out)
{
    cuda_state *st = ddgan__cuda_st(be);
    ddgan__cuda_bind(be);
    conv_key key;
    memset(&key, 0, sizeof key);
    key.kind = (int)kind;
    key.f64 = d->dtype == DDGAN_DT_F64;
    key.n = d->n;
    key.c_in = d->c_in;
    key.h = sym ? d->h : d->h + d->pad_t + d->pad_b;
    key.w = sym ? d->w : d->w + d->pad_l + d->pad_r;
    key.c_out = d->c_out;
    key.kh = d->kh;
    key.kw = d->kw;
    key.stride = d->stride;
    key.pad_h = sym ? d->pad_t : 0;
    key.pad_w = sym ? d->pad_l : 0;
    for (int i = 0; i < CUDA_CONV_CACHE_CAP; i++) {
        if (st->plans[i].used && !memcmp(&st->plans[i].key, &key, sizeof key)) {
            *out = &st->plans[i];
            return DDGAN_OK;
        }
    }
    cuda_conv_plan *p = &st->plans[st->next_plan];
    st->next_plan = (st->next_plan + 1) % CUDA_CONV_CACHE_CAP;
    plan_release(p);
    p->used = 1;
    p->key = key;
    const ddgan_status_t s = plan_build(be, p, d);
    if (s != DDGAN_OK) {
        plan_release(p);
        return s;
    }
    st->plans_created++;
    ddgan__cuda_log(be, DDGAN_LOG_DEBUG,
                    "cuda backend: conv plan %d (kind %d, n %d, %dx%dx%d -> %d, k %dx%d, s %d, "
                    "pad %d/%d%s): algo %d, workspace %zu bytes",
                    (int)st->plans_created, (int)kind, d->n, d->c_in, key.h, key.w, d->c_out, d->kh,
                    d->kw, d->stride, key.pad_h, key.pad_w, sym ? "" : " explicit", p->algo,
                    p->ws_bytes);
    *out = p;
    return DDGAN_OK;
}

/* Argument checks of ref_ops_conv.c (shape ranges, stride, pads, sizes). */
static ddgan_status_t conv_check(const ddgan_backend *be, const char *op,
                                 const ddgan_conv2d_desc *in, int accumulate, ddgan_conv2d_desc *d)
{
    if (!in)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT, "%s: descriptor is NULL", op);
    DDGAN_TRY(ddgan__cuda_check_common(be, op, in->dtype, accumulate));
    *d = *in;
    const int dims[] = {d->n, d->c_in, d->h, d->w, d->c_out, d->kh, d->kw};
    const char *names[] = {"n", "c_in", "h", "w", "c_out", "kh", "kw"};
    for (int i = 0; i < 7; i++)
        if (dims[i] < 1 || dims[i] > (1 << 24))
            return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT, "%s: %s = %d out of range", op,
                                    names[i], dims[i]);
    if (d->stride != 1 && d->stride != 2)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT, "%s: stride %d (must be 1 or 2)",
                                op, d->stride);
    if (d->pad_t < 0 || d->pad_l < 0 || d->pad_b < 0 || d->pad_r < 0 || d->pad_t > (1 << 24) ||
        d->pad_l > (1 << 24) || d->pad_b > (1 << 24) || d->pad_r > (1 << 24))
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: padding (%d, %d, %d, %d) out of range", op, d->pad_t, d->pad_l,
                                d->pad_b, d->pad_r);
    if (ddgan__conv2d_desc_finish(d) != 0)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: kernel %dx%d larger than the padded input %dx%d", op, d->kh,
                                d->kw, d->h + d->pad_t + d->pad_b, d->w + d->pad_l + d->pad_r);
    /* cuDNN's legacy descriptors take int sizes and int element counts */
    const double big = 2147483647.0;
    if ((double)d->n * d->c_in * (d->h + d->pad_t + d->pad_b) * (d->w + d->pad_l + d->pad_r) > big ||
        (double)d->n * d->c_out * d->h_out * d->w_out > big ||
        (double)d->c_out * d->c_in * d->kh * d->kw > big)
        return ddgan__cuda_fail(be, DDGAN_ERR_UNSUPPORTED,
                                "%s: tensors of 2^31 elements or more are not supported", op);
    return DDGAN_OK;
}

static int is_symmetric(const ddgan_conv2d_desc *d)
{
    return d->pad_t == d->pad_b && d->pad_l == d->pad_r;
}

static size_t elem_size(const ddgan_conv2d_desc *d) { return ddgan_dtype_size(d->dtype); }

/* Bytes of the explicitly padded x (or dx) of an asymmetric convolution. */
static size_t padded_bytes(const ddgan_conv2d_desc *d)
{
    return (size_t)d->n * d->c_in * (size_t)(d->h + d->pad_t + d->pad_b) *
           (size_t)(d->w + d->pad_l + d->pad_r) * elem_size(d);
}

static size_t align_up(size_t v) { return (v + CONV_ALIGN - 1) / CONV_ALIGN * CONV_ALIGN; }

ddgan_status_t ddgan__cuda_conv2d_fwd(ddgan_backend *be, const ddgan_conv2d_desc *desc, const void *x,
                                      const void *weight, const void *bias, void *y, int accumulate)
{
    const char *op = "conv2d_fwd";
    ddgan_conv2d_desc d;
    DDGAN_TRY(conv_check(be, op, desc, accumulate, &d));
    if (!x || !weight || !y)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: x, weight and y must not be NULL", op);
    cuda_state *st = ddgan__cuda_st(be);
    const int sym = is_symmetric(&d), f64 = d.dtype == DDGAN_DT_F64;
    cuda_conv_plan *p;
    DDGAN_TRY(get_plan(be, CONV_FWD, &d, sym, &p));
    const size_t ws_off = align_up(p->ws_bytes);
    unsigned char *ws = ddgan__cuda_workspace(be, ws_off + (sym ? 0 : padded_bytes(&d)) + 1);
    if (!ws)
        return DDGAN_ERR_OUT_OF_MEMORY;
    const void *xin = x;
    if (!sym) {
        DDGAN_TRY(ddgan__cuda_check(be,
                                    cuk_pad(st->stream, f64, (int64_t)d.n * d.c_in, d.h, d.w,
                                            d.pad_t, d.pad_l, d.pad_b, d.pad_r, x, ws + ws_off),
                                    "conv2d_fwd: pad"));
        xin = ws + ws_off;
    }
    const float a32 = 1.0f, b32 = accumulate ? 1.0f : 0.0f;
    const double a64 = 1.0, b64 = accumulate ? 1.0 : 0.0;
    TRY_DNN(be,
            cudnnConvolutionForward(handle_of(st), f64 ? (const void *)&a64 : (const void *)&a32,
                                    p->x, xin, p->wt, weight, p->conv,
                                    (cudnnConvolutionFwdAlgo_t)p->algo, p->ws_bytes ? ws : NULL,
                                    p->ws_bytes, f64 ? (const void *)&b64 : (const void *)&b32, p->y,
                                    y),
            "cudnnConvolutionForward");
    if (bias)
        DDGAN_TRY(ddgan__cuda_check(be,
                                    cuk_add_bias(st->stream, f64, d.n, d.c_out,
                                                 (int64_t)d.h_out * d.w_out, bias, y),
                                    "conv2d_fwd: bias"));
    return DDGAN_OK;
}

ddgan_status_t ddgan__cuda_conv2d_bwd_data(ddgan_backend *be, const ddgan_conv2d_desc *desc,
                                           const void *dy, const void *weight, void *dx,
                                           int accumulate)
{
    const char *op = "conv2d_bwd_data";
    ddgan_conv2d_desc d;
    DDGAN_TRY(conv_check(be, op, desc, accumulate, &d));
    if (!dy || !weight || !dx)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: dy, weight and dx must not be NULL", op);
    cuda_state *st = ddgan__cuda_st(be);
    const int sym = is_symmetric(&d), f64 = d.dtype == DDGAN_DT_F64;
    cuda_conv_plan *p;
    DDGAN_TRY(get_plan(be, CONV_BWD_DATA, &d, sym, &p));
    const size_t ws_off = align_up(p->ws_bytes);
    unsigned char *ws = ddgan__cuda_workspace(be, ws_off + (sym ? 0 : padded_bytes(&d)) + 1);
    if (!ws)
        return DDGAN_ERR_OUT_OF_MEMORY;
    /* asymmetric: the padded gradient goes to scratch (overwritten), then is cropped */
    void *dst = sym ? dx : (void *)(ws + ws_off);
    const int acc = sym ? accumulate : 0;
    const float a32 = 1.0f, b32 = acc ? 1.0f : 0.0f;
    const double a64 = 1.0, b64 = acc ? 1.0 : 0.0;
    TRY_DNN(be,
            cudnnConvolutionBackwardData(handle_of(st), f64 ? (const void *)&a64 : (const void *)&a32,
                                         p->wt, weight, p->y, dy, p->conv,
                                         (cudnnConvolutionBwdDataAlgo_t)p->algo,
                                         p->ws_bytes ? ws : NULL, p->ws_bytes,
                                         f64 ? (const void *)&b64 : (const void *)&b32, p->x, dst),
            "cudnnConvolutionBackwardData");
    if (!sym)
        DDGAN_TRY(ddgan__cuda_check(be,
                                    cuk_crop(st->stream, f64, (int64_t)d.n * d.c_in, d.h, d.w,
                                             d.h + d.pad_t + d.pad_b, d.w + d.pad_l + d.pad_r,
                                             d.pad_t, d.pad_l, dst, dx, accumulate),
                                    "conv2d_bwd_data: crop"));
    return DDGAN_OK;
}

ddgan_status_t ddgan__cuda_conv2d_bwd_weights(ddgan_backend *be, const ddgan_conv2d_desc *desc,
                                              const void *x, const void *dy, void *dweight,
                                              void *dbias, int accumulate)
{
    const char *op = "conv2d_bwd_weights";
    ddgan_conv2d_desc d;
    DDGAN_TRY(conv_check(be, op, desc, accumulate, &d));
    if (!x || !dy || !dweight)
        return ddgan__cuda_fail(be, DDGAN_ERR_INVALID_ARGUMENT,
                                "%s: x, dy and dweight must not be NULL", op);
    cuda_state *st = ddgan__cuda_st(be);
    const int sym = is_symmetric(&d), f64 = d.dtype == DDGAN_DT_F64;
    cuda_conv_plan *p;
    DDGAN_TRY(get_plan(be, CONV_BWD_FILTER, &d, sym, &p));
    const size_t ws_off = align_up(p->ws_bytes);
    unsigned char *ws = ddgan__cuda_workspace(be, ws_off + (sym ? 0 : padded_bytes(&d)) + 1);
    if (!ws)
        return DDGAN_ERR_OUT_OF_MEMORY;
    const void *xin = x;
    if (!sym) {
        DDGAN_TRY(ddgan__cuda_check(be,
                                    cuk_pad(st->stream, f64, (int64_t)d.n * d.c_in, d.h, d.w,
                                            d.pad_t, d.pad_l, d.pad_b, d.pad_r, x, ws + ws_off),
                                    "conv2d_bwd_weights: pad"));
        xin = ws + ws_off;
    }
    const float a32 = 1.0f, b32 = accumulate ? 1.0f : 0.0f;
    const double a64 = 1.0, b64 = accumulate ? 1.0 : 0.0;
    TRY_DNN(be,
            cudnnConvolutionBackwardFilter(handle_of(st), f64 ? (const void *)&a64 : (const void *)&a32,
                                           p->x, xin, p->y, dy, p->conv,
                                           (cudnnConvolutionBwdFilterAlgo_t)p->algo,
                                           p->ws_bytes ? ws : NULL, p->ws_bytes,
                                           f64 ? (const void *)&b64 : (const void *)&b32, p->wt,
                                           dweight),
            "cudnnConvolutionBackwardFilter");
    if (dbias)
        DDGAN_TRY(ddgan__cuda_check(be,
                                    cuk_bias_grad(st->stream, f64, d.n, d.c_out,
                                                  (int64_t)d.h_out * d.w_out, dy, dbias, accumulate),
                                    "conv2d_bwd_weights: bias"));
    return DDGAN_OK;
}
