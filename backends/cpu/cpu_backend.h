/*
 * Private to the "cpu" backend plug-in (backends/cpu/, docs/backend-cpu.md).
 *
 * The plug-in compiles the "ref" op sources into itself: ddgan__ref_compute
 * is the fallback for every op, and the hot ones (convolutions, matmul) are
 * replaced for float32: convolutions on oneDNN, matmul on OpenBLAS,
 * activations, softmax and upfirdn2d in float code of the plug-in. float64 always runs the
 * ref kernels. The shims in cpu_support.c provide what the ref sources
 * expect from the core (ddgan__set_error, ddgan__ref_threads).
 */
#ifndef DDGAN_CPU_BACKEND_H
#define DDGAN_CPU_BACKEND_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <dnnl.h>

#include "backend/backend_impl.h"

/* Convolution primitives cached per instance (LRU beyond this). */
/*
 * The hand-written loops (activations, elementwise ops, group norm, FIR,
 * softmax) are compiled three times -- baseline x86-64 (SSE2), x86-64-v3
 * (AVX2) and x86-64-v4 (AVX-512) -- and the loader picks the widest one the
 * CPU has (GCC/clang function multi-versioning, an ifunc), so the plug-in
 * still loads on any x86-64 while using 16-wide vectors where they exist.
 * These files are compiled with -ffp-contract=off (CMakeLists.txt): no
 * version fuses a multiply-add, so all three give identical results.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && defined(__ELF__) && \
    !defined(DDGAN_CPU_NO_MULTIVERSION)
#define CPU_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CPU_MULTIVERSION
#endif

#define CPU_CONV_CACHE_CAP 256
/* Tensors of one convolution (x, weight, bias, y and their gradients). */
#define CPU_CONV_MAX_TENSORS 4

typedef enum cpu_conv_kind {
    CPU_CONV_FWD = 0,
    CPU_CONV_BWD_DATA = 1,
    CPU_CONV_BWD_WEIGHTS = 2
} cpu_conv_kind;

/* Memory layouts of the convolution primitives (DDGAN_CPU_CONV_LAYOUT). */
typedef enum cpu_conv_layout {
    CPU_LAYOUT_AUTO = 0,    /* blocked for kernels larger than 1x1 (cpu_conv.c), else plain */
    CPU_LAYOUT_PLAIN = 1,   /* NCHW / OIHW as the op set: oneDNN's gemm-based kernels */
    CPU_LAYOUT_BLOCKED = 2  /* oneDNN's choice (nChw16c, ...): reorders around each call */
} cpu_conv_layout;

/* What a cached convolution primitive was made for: the full descriptor plus
 * the variant flags (all int, compared with memcmp). */
typedef struct cpu_conv_key {
    int kind; /* cpu_conv_kind */
    int n, c_in, h, w, c_out, kh, kw, stride, pad_t, pad_l, pad_b, pad_r;
    int with_bias; /* fwd: bias given; bwd_weights: dbias computed */
    int sum;       /* accumulate = 1 */
    int inference; /* fwd inside a const_scope: the plug-in's Winograd, whose
                    * transformed weights are kept (cpu_conv.c, scoped_weights) */
} cpu_conv_key;

/* How one tensor of the op reaches the primitive. */
typedef enum cpu_tensor_mode {
    CPU_T_DIRECT = 0,      /* the primitive reads / writes the caller's array */
    CPU_T_REORDER_IN = 1,  /* caller's NCHW array -> blocked workspace, before */
    CPU_T_REORDER_OUT = 2, /* blocked workspace -> caller's array, after (adding when accumulating) */
    CPU_T_TMP_ADD = 3      /* plain workspace, added to the caller's array after */
} cpu_tensor_mode;

typedef struct cpu_conv_tensor {
    int arg;  /* DNNL_ARG_* */
    int mode; /* cpu_tensor_mode */
    dnnl_memory_t mem;        /* what the primitive sees */
    dnnl_memory_t user;       /* the caller's array (REORDER_*) */
    dnnl_primitive_t reorder; /* REORDER_* */
    size_t ws_off;            /* REORDER_* / TMP_ADD: offset in the workspace */
    size_t elems;             /* TMP_ADD: elements to add */
} cpu_conv_tensor;

typedef struct cpu_conv_entry {
    cpu_conv_key key;
    uint32_t hash;
    int used;     /* slot holds an entry */
    int fallback; /* oneDNN has no implementation: the op runs on ref */
    uint64_t last_use;
    dnnl_primitive_t prim;
    int ntensors;
    cpu_conv_tensor t[CPU_CONV_MAX_TENSORS]; /* in the order of the op's pointers */
    dnnl_memory_t scratch_mem;
    size_t scratch_bytes; /* oneDNN scratchpad */
    size_t ws_bytes;      /* blocked copies and temporaries */
    int blocked;          /* some tensor is reordered */
    uint64_t serial;      /* creation number: tells a slot's successive entries apart */
    char impl[64];        /* the implementation, e.g. oneDNN's "jit:avx512_core" */
    struct cpu_wino_plan *wino; /* set: the plug-in's Winograd (cpu_winograd.h) instead of prim */
} cpu_conv_entry;

/* A convolution's weights as the plug-in's Winograd wants them (cpu_conv.c,
 * scoped_weights), with a copy of the weights they were
 * derived from: reused in a later scope only when the weights still equal
 * the copy. */
#define CPU_WCACHE_CAP 256
typedef struct cpu_wcache {
    const void *w;         /* the caller's weights */
    uint64_t entry_serial; /* the primitive (cache entry) they were laid out for */
    uint64_t epoch;        /* the scope that last checked or derived them */
    void *buf;             /* derived weights, grow-only */
    size_t cap;
    void *copy;            /* the plain weights they were derived from */
    size_t copy_cap, copy_bytes;
} cpu_wcache;

/* Per-op timers of DDGAN_CPU_PROFILE (cpu_profile.c). */
typedef struct cpu_profile cpu_profile;

typedef struct cpu_state {
    int num_threads;
    size_t memory_limit; /* bytes; 0 = unlimited */
    size_t in_use;
    dnnl_engine_t engine; /* process-wide, shared (cpu_engine) */
    dnnl_stream_t stream; /* this instance's */
    /* convolution primitive cache */
    cpu_conv_entry *cache; /* CPU_CONV_CACHE_CAP slots */
    uint64_t tick;
    cpu_conv_layout conv_layout;
    int winograd; /* 1: Winograd for large forward 3x3 convolutions (cpu_conv.c); 0: direct only */
    int small_conv; /* 1: forwards of <= 64 output pixels on cpu_smallconv.c; 0: oneDNN */
    int gemm_openblas; /* $DDGAN_CPU_GEMM=openblas: matmul on OpenBLAS instead of oneDNN (comparisons) */
    /* the workers of pool_owner's OpenMP pool, for teams of up to
     * pool_blocked threads, block signals (oneDNN section) */
    int pool_blocked;
    pthread_t pool_owner;
    /* user-managed oneDNN scratchpad and the convolutions' workspace
     * (blocked copies, temporaries); both grow on demand and are kept */
    void *scratch;
    size_t scratch_cap;
    void *ws;
    size_t ws_cap;
    /* upfirdn tables and per-thread planes */
    void *fir_buf;
    size_t fir_cap;
    /* const_scope: [scope_lo, scope_hi) is not written while scope_open;
     * each scope has its own epoch (scoped_weights) */
    const char *scope_lo, *scope_hi;
    int scope_open;
    uint64_t scope_epoch;
    cpu_wcache *wcache; /* CPU_WCACHE_CAP slots, allocated by the first scope */
    /* counters (docs, debugging) */
    uint64_t prims_created, cache_evictions;
    /* DDGAN_CPU_PROFILE: per-op timers, NULL when off */
    cpu_profile *prof;
} cpu_state;

/* Thread t's contiguous share [*lo, *hi) of n items among nt threads, cut
 * at multiples of `unit` (the activations, cpu_gemv.c, the Winograd
 * lanes): where a share ends depends on nt, so kernels that use it compute
 * each item the same way whatever its share. */
static inline void ddgan__cpu_share(int64_t n, int64_t unit, int t, int nt, int64_t *lo, int64_t *hi)
{
    const int64_t blocks = (n + unit - 1) / unit;
    const int64_t b0 = blocks * t / nt, b1 = blocks * (t + 1) / nt;
    *lo = b0 * unit;
    *hi = b1 * unit < n ? b1 * unit : n;
}

/* Batch-1 matrix-vector products (cpu_gemv.c): whether d (a valid
 * float32 descriptor) is one -- batch 1, m 1, A plain, B transposed -- and
 * the CPU has AVX-512; and c = alpha * a B^T (+ beta * c) on `threads`
 * OpenMP threads. */
int ddgan__cpu_gemv_fits(const ddgan_matmul_desc *d);
void ddgan__cpu_gemv(const ddgan_matmul_desc *d, const float *a, const float *b, float *c, int threads);

/* The compute table: ddgan__ref_compute with the overrides. */
extern const ddgan_backend_compute ddgan__cpu_compute;

/* The same table with every entry timed into cpu_state.prof (cpu_profile.c). */
extern const ddgan_backend_compute ddgan__cpu_compute_profiled;
/* The timers when $DDGAN_CPU_PROFILE asks for them, else NULL (also when out
 * of memory: profiling is optional). */
cpu_profile *ddgan__cpu_profile_create(void);
/* Prints the timers to stderr, largest first. */
void ddgan__cpu_profile_report(const cpu_profile *p);

/* The process-wide oneDNN CPU engine, created once; NULL on failure with the
 * reason in *why (static text). */
dnnl_engine_t ddgan__cpu_engine(const char **why);
/* Human-readable name of a oneDNN status. */
const char *ddgan__cpu_dnnl_status_str(dnnl_status_t s);

/* Remembers the core's set_error (cpu_support.c); the ref sources and this
 * plug-in report errors through it. */
void ddgan__cpu_bind_host(const ddgan_backend_host *host);

/* Logs through the instance's host at `level` (printf-style). */
void ddgan__cpu_log(const ddgan_backend *be, ddgan_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * A oneDNN section: what every call into oneDNN runs inside.
 *  - the calling thread's OpenMP team size is the context's thread count
 *    (oneDNN sizes its teams from omp_get_max_threads());
 *  - signals are held on the calling thread, and the worker threads of its
 *    OpenMP pool block them for good. oneDNN 2.6's GEMM kernels (dnnl_sgemm
 *    and the GEMM-based convolutions) corrupt the heap when a signal handler
 *    runs on a thread inside them (tests/unit/test_signals.c crashed within
 *    a second under a 4 kHz SIGALRM). A signal that arrives meanwhile is
 *    delivered when the section ends, on the calling thread or on any other
 *    thread of the program that does not block it.
 * enter fills *sec for leave.
 */
typedef struct cpu_section {
    int threads, previous_threads;
    sigset_t saved_mask;
} cpu_section;
/* threads: the team size oneDNN may use inside (the context's num_threads,
 * or 1 to keep a call on the calling thread). */
void ddgan__cpu_section_enter(cpu_state *st, int threads, cpu_section *sec);
void ddgan__cpu_section_leave(const cpu_section *sec);

/* A grow-only buffer of at least `bytes` (64-byte aligned); NULL after
 * setting the error on failure. */
void *ddgan__cpu_grow(void **buf, size_t *cap, size_t bytes, const char *what);

/* dst[i] += src[i] with the instance's threads. */
void ddgan__cpu_add_f32(const cpu_state *st, float *dst, const float *src, size_t n);

/* dst[j * dst_stride + i] = src[i * src_stride + j] (+= when accumulating)
 * for i < rows, j < cols (cpu_transpose.c). */
void ddgan__cpu_transpose(const float *src, size_t src_stride, float *dst, size_t dst_stride,
                          int rows, int cols, int accumulate);

/* Releases the cached primitives (cpu_conv.c). */
void ddgan__cpu_conv_cache_clear(cpu_state *st);

/* The overrides. Each runs float32 (oneDNN, OpenBLAS or float code of its
 * own) and hands every other case (float64, invalid arguments) to the ref op
 * of the same name, which also reports the errors. */
ddgan_status_t ddgan__cpu_conv2d_fwd(ddgan_backend *be, const ddgan_conv2d_desc *d, const void *x,
                                     const void *weight, const void *bias, void *y, int accumulate);
ddgan_status_t ddgan__cpu_conv2d_bwd_data(ddgan_backend *be, const ddgan_conv2d_desc *d,
                                          const void *dy, const void *weight, void *dx,
                                          int accumulate);
ddgan_status_t ddgan__cpu_conv2d_bwd_weights(ddgan_backend *be, const ddgan_conv2d_desc *d,
                                             const void *x, const void *dy, void *dweight,
                                             void *dbias, int accumulate);
ddgan_status_t ddgan__cpu_matmul(ddgan_backend *be, const ddgan_matmul_desc *d, const void *a,
                                 const void *b, void *c);
ddgan_status_t ddgan__cpu_act_fwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, void *y);
ddgan_status_t ddgan__cpu_act_bwd(ddgan_backend *be, ddgan_dtype dt, ddgan_act act, double alpha,
                                  size_t n, const void *x, const void *y, const void *dy, void *dx,
                                  int accumulate);
ddgan_status_t ddgan__cpu_softmax_fwd(ddgan_backend *be, ddgan_dtype dt, size_t rows, size_t cols,
                                      const void *x, void *y);
ddgan_status_t ddgan__cpu_const_scope(ddgan_backend *be, const void *base, size_t bytes, int begin);
ddgan_status_t ddgan__cpu_adagn_act_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                        const void *x, const void *style, ddgan_act act,
                                        double alpha, void *y);
ddgan_status_t ddgan__cpu_group_norm_fwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *x, const void *gamma, const void *beta, void *y,
                                         void *mean, void *rstd);
ddgan_status_t ddgan__cpu_group_norm_bwd(ddgan_backend *be, const ddgan_group_norm_desc *d,
                                         const void *dy, const void *x, const void *mean,
                                         const void *rstd, const void *gamma, void *dx, void *dgamma,
                                         void *dbeta, int accumulate);
ddgan_status_t ddgan__cpu_reduce(ddgan_backend *be, ddgan_dtype dt, ddgan_reduce_op op,
                                 const int64_t shape[4], unsigned axes_mask, const void *x, void *out,
                                 int accumulate);
ddgan_status_t ddgan__cpu_binary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_binary_op op,
                                 double alpha, double beta, const void *a, const void *b, void *out,
                                 int accumulate);
ddgan_status_t ddgan__cpu_unary(ddgan_backend *be, const ddgan_ew_desc *d, ddgan_unary_op op,
                                double alpha, double beta, const void *a, void *out, int accumulate);
ddgan_status_t ddgan__cpu_upfirdn_fwd(ddgan_backend *be, const ddgan_upfirdn_desc *d,
                                      const void *x, void *y, int accumulate);
ddgan_status_t ddgan__cpu_upfirdn_bwd(ddgan_backend *be, const ddgan_upfirdn_desc *d,
                                      const void *dy, void *dx, int accumulate);

#endif
