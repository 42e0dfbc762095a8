/*
 * Private to the "cuda" backend plug-in (backends/cuda/, docs/backend-cuda.md).
 *
 * Layout of the plug-in:
 *   cuda_backend.c   descriptor, probe, create/destroy, caching device memory
 *                    pool, copies, error reporting;
 *   cuda_ops.c       argument checks and launches of the custom kernels
 *                    (everything except convolutions and matmul);
 *   cuda_conv.c      convolutions on cuDNN's legacy API (the only file that
 *                    uses cuDNN);
 *   cuda_matmul.c    matmul on cuBLAS;
 *   cuda_pointwise.cu, cuda_norm.cu   the CUDA kernels (cuda_kernels.h).
 *
 * Everything runs on one CUDA stream per instance; ops enqueue and return,
 * copies to the host and synchronize wait for the stream.
 */
#ifndef DDGAN_CUDA_BACKEND_H
#define DDGAN_CUDA_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backend/backend_impl.h"
#include "core/error.h" /* DDGAN_TRY only: ddgan__set_error is the core's, not ours */

/* Cached convolution plans (cuda_conv.c); round-robin replacement beyond this. */
#define CUDA_CONV_CACHE_CAP 128

typedef struct cuda_conv_plan cuda_conv_plan;

/* One device block of the memory pool. */
typedef struct cuda_block {
    void *ptr;
    size_t size;      /* bytes reserved (rounded) */
    size_t requested; /* bytes asked for (memory_limit accounting) */
    struct cuda_block *next;
} cuda_block;

#define CUDA_POOL_BUCKETS 1024

typedef struct cuda_state {
    int device;
    cudaStream_t stream;
    cublasHandle_t cublas;
    void *cudnn; /* cudnnHandle_t (cuda_conv.c owns its type) */
    int fast;    /* DDGAN_CUDA_FAST=1: TF32 tensor cores allowed */
    char device_name[256];
    /* memory pool: live blocks hashed by pointer, cached free blocks in a list */
    size_t memory_limit; /* bytes; 0 = unlimited */
    size_t in_use;       /* requested bytes of live blocks */
    size_t reserved;     /* bytes held from cudaMalloc (live + cached) */
    cuda_block *live[CUDA_POOL_BUCKETS];
    cuda_block *cached;
    /* grow-only scratch: cuDNN workspace, padded copies */
    void *ws;
    size_t ws_cap;
    /* convolution plans */
    cuda_conv_plan *plans;
    int nplans, next_plan;
    uint64_t plans_created;
} cuda_state;

/* The compute table (cuda_ops.c). */
extern const ddgan_backend_compute ddgan__cuda_compute;

/* Errors: formats the message, sets it through the host and returns status. */
ddgan_status_t ddgan__cuda_fail(const ddgan_backend *be, ddgan_status_t status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* DDGAN_OK for cudaSuccess, else the error (OUT_OF_MEMORY for allocation
 * failures, BACKEND otherwise) with "what: cudaErrorName: description". */
ddgan_status_t ddgan__cuda_check(const ddgan_backend *be, cudaError_t e, const char *what);
ddgan_status_t ddgan__cublas_check(const ddgan_backend *be, cublasStatus_t s, const char *what);

/* Returns the error status of a failing CUDA runtime call. */
#define DDGAN_TRY_CUDA(be, expr, what)                                                           \
    do {                                                                                         \
        const cudaError_t ddgan_cu_e_ = (expr);                                                  \
        if (ddgan_cu_e_ != cudaSuccess)                                                          \
            return ddgan__cuda_check((be), ddgan_cu_e_, (what));                                 \
    } while (0)

void ddgan__cuda_log(const ddgan_backend *be, ddgan_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Makes the instance's device current on the calling thread (contexts may be
 * used from any thread, and the current device is per thread) and returns
 * its stream. Every entry point that touches the device calls it first. */
cudaStream_t ddgan__cuda_bind(const ddgan_backend *be);

/* The grow-only device workspace of at least `bytes` (its previous contents
 * are lost when it grows); NULL after setting the error. */
void *ddgan__cuda_workspace(ddgan_backend *be, size_t bytes);

/* Convolution plans (cuda_conv.c): cuDNN handle creation / destruction. */
ddgan_status_t ddgan__cuda_conv_init(ddgan_backend *be, char *why, size_t why_cap);
void ddgan__cuda_conv_fini(cuda_state *st);

/* The ops implemented on the libraries. */
ddgan_status_t ddgan__cuda_conv2d_fwd(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *x,
                                      const void *weight, const void *bias, void *y, int accumulate);
ddgan_status_t ddgan__cuda_conv2d_bwd_data(ddgan_backend *be, const ddgan_conv2d_desc *d,
                                           const void *dy, const void *weight, void *dx,
                                           int accumulate);
ddgan_status_t ddgan__cuda_conv2d_bwd_weights(ddgan_backend *be, const ddgan_conv2d_desc *d,
                                              const void *x, const void *dy, void *dweight,
                                              void *dbias, int accumulate);
ddgan_status_t ddgan__cuda_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                  const void *b, void *c);

/* Checks shared by the ops (cuda_ops.c): backend, dtype, accumulate flag. */
ddgan_status_t ddgan__cuda_check_common(const ddgan_backend *be, const char *op, ddgan_dtype dt,
                                        int accumulate);

static inline cuda_state *ddgan__cuda_st(const ddgan_backend *be) { return (cuda_state *)be->state; }

#endif
