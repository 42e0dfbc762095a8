/* tests/cuda_emu (see run.sh): the parity table on the cuda plug-in's host
 * code and kernels, emulated on the host. The backend under test uses ref's
 * memory (host arrays), the plug-in's op table (cuda_ops.c, cuda_conv.c,
 * cuda_matmul.c) and the kernels of the .cu files run on host threads;
 * cuDNN and cuBLAS are the stand-ins of fake_cudnn.c / fake_cublas.c.
 * Usage: cuda_emu [case-name filter]. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "core/philox.h"
#include "cuda/cuda_backend.h"
#include "op_table.h"

ddgan_backend *g_ref; /* an f32-capable ref instance that owns the memory */

ddgan_status_t ddgan__cuda_fail(const ddgan_backend *be, ddgan_status_t status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return be->host->set_error(status, msg);
}
ddgan_status_t ddgan__cuda_check(const ddgan_backend *be, cudaError_t e, const char *what)
{
    return e == cudaSuccess ? DDGAN_OK : ddgan__cuda_fail(be, DDGAN_ERR_BACKEND, "%s failed", what);
}
cudaStream_t ddgan__cuda_bind(const ddgan_backend *be) { return ddgan__cuda_st(be)->stream; }
void *ddgan__cuda_workspace(ddgan_backend *be, size_t bytes)
{
    cuda_state *st = ddgan__cuda_st(be);
    if (bytes > st->ws_cap) { free(st->ws); st->ws = malloc(bytes); st->ws_cap = bytes; }
    return st->ws;
}
void ddgan__cuda_log(const ddgan_backend *be, ddgan_log_level level, const char *fmt, ...) { (void)be; (void)level; (void)fmt; }
ddgan_status_t ddgan__cublas_check(const ddgan_backend *be, cublasStatus_t s, const char *what)
{ return s == CUBLAS_STATUS_SUCCESS ? DDGAN_OK : ddgan__cuda_fail(be, DDGAN_ERR_BACKEND, "%s: %d", what, (int)s); }
static ddgan_status_t e_alloc(ddgan_backend *be, size_t bytes, void **out) { (void)be; return g_ref->ops->alloc(g_ref, bytes, out); }
static void e_free(ddgan_backend *be, void *p) { (void)be; g_ref->ops->free(g_ref, p); }
static ddgan_status_t e_h2d(ddgan_backend *be, void *d, const void *s, size_t n) { (void)be; return g_ref->ops->copy_h2d(g_ref, d, s, n); }
static ddgan_status_t e_d2h(ddgan_backend *be, void *d, const void *s, size_t n) { (void)be; return g_ref->ops->copy_d2h(g_ref, d, s, n); }
static ddgan_status_t e_d2d(ddgan_backend *be, void *d, const void *s, size_t n) { (void)be; return g_ref->ops->copy_d2d(g_ref, d, s, n); }
static ddgan_status_t e_fill(ddgan_backend *be, float *d, float v, size_t n) { (void)be; return g_ref->ops->fill_f32(g_ref, d, v, n); }
static ddgan_status_t e_sync(ddgan_backend *be) { (void)be; return DDGAN_OK; }

int main(int argc, char **argv)
{
    ddgan_context_config cfg;
    ddgan_context_config_init(&cfg, sizeof cfg);
    cfg.backend = "ref";
    cfg.num_threads = 1;
    ddgan_context_t rctx = NULL, octx = NULL;
    if (ddgan_context_create(&rctx, &cfg) || ddgan_context_create(&octx, &cfg))
        return 2;
    g_ref = rctx->backend;
    static ddgan_backend_ops ops;
    ops = *g_ref->ops;
    ops.alloc = e_alloc; ops.free = e_free; ops.copy_h2d = e_h2d; ops.copy_d2h = e_d2h;
    ops.copy_d2d = e_d2d; ops.fill_f32 = e_fill; ops.synchronize = e_sync;
    ops.compute = &ddgan__cuda_compute;
    ddgan_backend be = *g_ref;
    be.ops = &ops;
    be.state = calloc(1, sizeof(cuda_state));
    { char why[256]; if (ddgan__cuda_conv_init(&be, why, sizeof why)) { printf("conv init: %s\n", why); return 2; } }
    op_table_opts o = {0};
    if (argc > 1) o.filter = argv[1];
    o.verbose = 0;
    op_table_report r;
    int f = op_table_run(&be, DDGAN_DT_F32, octx->backend, 1e-5, 1e-4, &o, &r);
    printf("emu f32: failed %d run %d skipped %d worst fwd %.2e (%s) grad %.2e (%s)\n", f, r.run, r.skipped,
           r.worst_fwd, r.worst_fwd_case ? r.worst_fwd_case : "-", r.worst_grad, r.worst_grad_case ? r.worst_grad_case : "-");
    int f2 = op_table_run(&be, DDGAN_DT_F64, octx->backend, 1e-12, 1e-12, &o, &r);
    printf("emu f64: failed %d run %d skipped %d worst fwd %.2e (%s) grad %.2e (%s)\n", f2, r.run, r.skipped,
           r.worst_fwd, r.worst_fwd_case ? r.worst_fwd_case : "-", r.worst_grad, r.worst_grad_case ? r.worst_grad_case : "-");
    /* Philox */
    size_t n = 100003;
    float *w = malloc(n * 4), *g = malloc(n * 4);
    void *dev; e_alloc(&be, n * 4, &dev);
    ddgan__philox_normal(5, 9, 3, w, n);
    ddgan__cuda_compute.rand_normal(&be, DDGAN_DT_F32, n, 5, 9, 3, dev);
    e_d2h(&be, g, dev, n * 4);
    const int same_n = !memcmp(w, g, n * 4);
    printf("philox normals bit-identical (host libm): %d\n", same_n);
    ddgan__philox_uniform(5, 9, 3, w, n);
    ddgan__cuda_compute.rand_uniform(&be, DDGAN_DT_F32, n, 5, 9, 3, dev);
    e_d2h(&be, g, dev, n * 4);
    const int same_u = !memcmp(w, g, n * 4);
    printf("philox uniforms bit-identical: %d\n", same_u);
    printf("cuda_emu: %s\n", f || f2 || !same_n || !same_u ? "FAILED" : "passed");
    return f || f2 || !same_n || !same_u;
}
