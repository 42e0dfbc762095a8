/* tests/cuda_emu (see run.sh): just enough CUDA to run the plug-in's kernels
 * on the host. Blocks run one after another; the threads of a block run as
 * std::threads meeting at a std::barrier for __syncthreads, and __shared__
 * arrays become statics (one block at a time, so they are not shared across
 * blocks). Host <cmath> replaces the device's libm. */
#pragma once
#include <barrier>
#include <cmath>
#include <thread>
#include <vector>
#include "cuda_runtime.h"
#define __global__
#define __device__
#define __shared__ static
struct emu_uint3 { unsigned x, y, z; };
inline thread_local emu_uint3 threadIdx, blockIdx;
inline emu_uint3 blockDim, gridDim;
inline std::barrier<> *emu_bar;
inline void __syncthreads() { emu_bar->arrive_and_wait(); }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
template <class F, class... A> void emu_launch(unsigned g, int b, F f, A... a)
{
    gridDim = {g, 1, 1};
    blockDim = {(unsigned)b, 1, 1};
    for (unsigned bi = 0; bi < g; bi++) {
        std::barrier<> bar(b);
        emu_bar = &bar;
        std::vector<std::thread> ts;
        for (int t = 0; t < b; t++)
            ts.emplace_back([&, t] { threadIdx = {(unsigned)t, 0, 0}; blockIdx = {bi, 0, 0}; f(a...); });
        for (auto &th : ts)
            th.join();
    }
}
