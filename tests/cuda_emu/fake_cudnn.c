/* tests/cuda_emu (see run.sh): the cuDNN stand-in. Convolutions run on the
 * ref backend (g_ref, harness.c) with symmetric padding; the exact-mode math
 * type (CUDNN_FMA_MATH) is required, anything else is an error. */
#include <stdlib.h>
#include <string.h>
#include "cudnn.h"
#include "core/context.h"
extern ddgan_backend *g_ref;
const char *cudnnGetErrorString(cudnnStatus_t s) { (void)s; return "emu"; }
void cudnnGetLastErrorString(char *m, size_t n) { if (n) m[0] = 0; }
size_t cudnnGetVersion(void) { return 91900; }
cudnnStatus_t cudnnOpsVersionCheck(void) { return 0; }
cudnnStatus_t cudnnCnnVersionCheck(void) { return 0; }
cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { *h = calloc(1, sizeof **h); return 0; }
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { free(h); return 0; }
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) { (void)h; (void)s; return 0; }
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) { *d = calloc(1, sizeof **d); return 0; }
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d) { *d = calloc(1, sizeof **d); return 0; }
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d) { *d = calloc(1, sizeof **d); return 0; }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { free(d); return 0; }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { free(d); return 0; }
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) { free(d); return 0; }
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n, int c, int h, int w)
{ (void)f; d->dt = t; d->n = n; d->c = c; d->h = h; d->w = w; return 0; }
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k, int c, int h, int w)
{ (void)f; d->dt = t; d->n = k; d->c = c; d->h = h; d->w = w; return 0; }
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw, int u, int v, int d1, int d2, cudnnConvolutionMode_t m, cudnnDataType_t t)
{ if (u != v || d1 != 1 || d2 != 1 || m != CUDNN_CROSS_CORRELATION) return CUDNN_STATUS_BAD_PARAM; d->ph = ph; d->pw = pw; d->s = u; d->dt = t; return 0; }
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m) { (void)d; return m == CUDNN_FMA_MATH ? 0 : CUDNN_STATUS_BAD_PARAM; }
cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(cudnnConvolutionDescriptor_t c, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, int *n, int *k, int *h, int *wo)
{ *n = x->n; *k = w->n; *h = (x->h + 2 * c->ph - w->h) / c->s + 1; *wo = (x->w + 2 * c->pw - w->w) / c->s + 1; return 0; }
#define PERF(T, A) do { r[0].algo = (A); r[0].status = 0; r[0].memory = 64; r[0].determinism = CUDNN_DETERMINISTIC; r[0].mathType = CUDNN_FMA_MATH; *got = 1; (void)h; (void)req; return 0; } while (0)
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, cudnnTensorDescriptor_t a, cudnnFilterDescriptor_t b, cudnnConvolutionDescriptor_t c, cudnnTensorDescriptor_t d, int req, int *got, cudnnConvolutionFwdAlgoPerf_t *r)
{ (void)a; (void)b; (void)c; (void)d; PERF(x, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM); }
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h, cudnnFilterDescriptor_t a, cudnnTensorDescriptor_t b, cudnnConvolutionDescriptor_t c, cudnnTensorDescriptor_t d, int req, int *got, cudnnConvolutionBwdDataAlgoPerf_t *r)
{ (void)a; (void)b; (void)c; (void)d; PERF(x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1); }
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h, cudnnTensorDescriptor_t a, cudnnTensorDescriptor_t b, cudnnConvolutionDescriptor_t c, cudnnFilterDescriptor_t d, int req, int *got, cudnnConvolutionBwdFilterAlgoPerf_t *r)
{ (void)a; (void)b; (void)c; (void)d; PERF(x, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1); }
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, cudnnTensorDescriptor_t a, cudnnFilterDescriptor_t b, cudnnConvolutionDescriptor_t c, cudnnTensorDescriptor_t d, cudnnConvolutionFwdAlgo_t e, size_t *s) { (void)h; (void)a; (void)b; (void)c; (void)d; (void)e; *s = 64; return 0; }
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t h, cudnnFilterDescriptor_t a, cudnnTensorDescriptor_t b, cudnnConvolutionDescriptor_t c, cudnnTensorDescriptor_t d, cudnnConvolutionBwdDataAlgo_t e, size_t *s) { (void)h; (void)a; (void)b; (void)c; (void)d; (void)e; *s = 64; return 0; }
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t h, cudnnTensorDescriptor_t a, cudnnTensorDescriptor_t b, cudnnConvolutionDescriptor_t c, cudnnFilterDescriptor_t d, cudnnConvolutionBwdFilterAlgo_t e, size_t *s) { (void)h; (void)a; (void)b; (void)c; (void)d; (void)e; *s = 64; return 0; }

static ddgan_conv2d_desc mk(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c)
{
    ddgan_conv2d_desc d = {.dtype = x->dt == CUDNN_DATA_DOUBLE ? DDGAN_DT_F64 : DDGAN_DT_F32, .n = x->n, .c_in = x->c, .h = x->h, .w = x->w,
                           .c_out = w->n, .kh = w->h, .kw = w->w, .stride = c->s, .pad_t = c->ph, .pad_b = c->ph, .pad_l = c->pw, .pad_r = c->pw};
    return d;
}
static int beta_of(const ddgan_conv2d_desc *d, const void *b) { return d->dtype == DDGAN_DT_F64 ? *(const double *)b != 0 : *(const float *)b != 0; }
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x, cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t a, void *ws, size_t wsb, const void *beta, cudnnTensorDescriptor_t yd, void *y)
{ (void)h; (void)alpha; (void)a; (void)ws; (void)wsb; (void)yd; ddgan_conv2d_desc d = mk(xd, wd, cd); return g_ref->ops->compute->conv2d_fwd(g_ref, &d, x, w, NULL, y, beta_of(&d, beta)) ? CUDNN_STATUS_BAD_PARAM : 0; }
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha, cudnnFilterDescriptor_t wd, const void *w, cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdDataAlgo_t a, void *ws, size_t wsb, const void *beta, cudnnTensorDescriptor_t dxd, void *dx)
{ (void)h; (void)alpha; (void)a; (void)ws; (void)wsb; (void)dyd; ddgan_conv2d_desc d = mk(dxd, wd, cd); return g_ref->ops->compute->conv2d_bwd_data(g_ref, &d, dy, w, dx, beta_of(&d, beta)) ? CUDNN_STATUS_BAD_PARAM : 0; }
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x, cudnnTensorDescriptor_t dyd, const void *dy, cudnnConvolutionDescriptor_t cd, cudnnConvolutionBwdFilterAlgo_t a, void *ws, size_t wsb, const void *beta, cudnnFilterDescriptor_t dwd, void *dw)
{ (void)h; (void)alpha; (void)a; (void)ws; (void)wsb; (void)dyd; ddgan_conv2d_desc d = mk(xd, dwd, cd); return g_ref->ops->compute->conv2d_bwd_weights(g_ref, &d, x, dy, dw, NULL, beta_of(&d, beta)) ? CUDNN_STATUS_BAD_PARAM : 0; }
