/* tests/cuda_emu (see run.sh): a naive column-major strided batched GEMM
 * standing in for cuBLAS, so cuda_matmul.c's row-major mapping is checked.
 * Like cuBLAS it does not read C when beta is 0. */
#include "cublas_v2.h"
#define GEMM(NAME, T) \
cublasStatus_t NAME(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T *alpha, const T *A, int lda, long long sA, const T *B, int ldb, long long sB, const T *beta, T *C, int ldc, long long sC, int batch) \
{ (void)h; \
  if (lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) || ldc < m) return CUBLAS_STATUS_INVALID_VALUE; \
  for (int b = 0; b < batch; b++) for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) { \
    double acc = 0; \
    for (int p = 0; p < k; p++) { \
      double av = ta == CUBLAS_OP_N ? A[b * sA + i + (long long)p * lda] : A[b * sA + p + (long long)i * lda]; \
      double bv = tb == CUBLAS_OP_N ? B[b * sB + p + (long long)j * ldb] : B[b * sB + j + (long long)p * ldb]; \
      acc += av * bv; } \
    T *c = &C[b * sC + i + (long long)j * ldc]; \
    double v = (double)*alpha * acc; if (*beta != 0) v += (double)*beta * (double)*c; *c = (T)v; } \
  return CUBLAS_STATUS_SUCCESS; }
GEMM(cublasSgemmStridedBatched, float)
GEMM(cublasDgemmStridedBatched, double)
