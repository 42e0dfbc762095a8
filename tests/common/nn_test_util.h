/* Test scaffolding for layers: a "ref" context, an exec in float32 or
 * float64, a large unplanned arena, a parameter table, and finite-difference
 * helpers. On "ref", device memory is host memory, so tests read and write
 * tensors directly. */
#ifndef DDGAN_NN_TEST_UTIL_H
#define DDGAN_NN_TEST_UTIL_H

#include "test_util.h"

#include "core/context.h"
#include "nn/layers.h"

typedef struct nt_env {
    ddgan_context_t ctx;
    ddgan_arena arena;
    ddgan_exec ex;
    ddgan_param_table pt;
    void *params, *grads;
} nt_env;

/* Creates the env (ref backend, `threads` threads, arena of arena_mb MiB). */
void nt_env_init(nt_env *e, ddgan_dtype dt, int threads, size_t arena_mb);
/* After the layers registered their parameters: allocates params and grads,
 * fills params with U(-scale, scale) from `seed`, zeroes grads. */
void nt_env_alloc_params(nt_env *e, uint64_t seed, double scale);
void nt_env_free(nt_env *e);

/* Tensor from the arena filled with U(lo, hi) (seeded). */
ddgan_tensor nt_rand_tensor(nt_env *e, int n, int c, int h, int w, uint64_t seed, double lo, double hi);
/* Element i of a tensor / parameter buffer as double, and setter (either dtype). */
double nt_get(const nt_env *e, const void *base, size_t i);
void nt_set(const nt_env *e, void *base, size_t i, double v);
/* sum_i w_i * t_i with w = U(-1,1) from seed (the projection that turns a
 * tensor into a scalar loss); nt_proj_tensor gives w as a tensor (the dy). */
double nt_project(const nt_env *e, const ddgan_tensor *t, uint64_t seed);
ddgan_tensor nt_proj_tensor(nt_env *e, int n, int c, int h, int w, uint64_t seed);

/* Central finite differences of loss() with respect to `count` elements of
 * `base` (chosen evenly, at most max_checks), compared with analytic[i]
 * (same indexing as base); fails when |fd - an| > tol * max(1, |fd|, |an|)...
 * relative to the largest analytic magnitude of the set. Returns the worst
 * relative error. */
typedef double (*nt_loss_fn)(void *user);
double nt_fd_check(nt_env *e, const char *what, void *base, size_t count, const void *analytic,
                   nt_loss_fn loss, void *user, double h, double tol, size_t max_checks);

#endif
