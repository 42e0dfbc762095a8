/* Stub for tests/cuda_emu (host emulation of the cuda plug-in; see run.sh). */
#pragma once
#include <stddef.h>
#include <stdint.h>
typedef enum cudaError { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 } cudaError_t;
typedef void *cudaStream_t;
