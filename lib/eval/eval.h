/* Evaluation internals (docs/eval.md): host metrics in float64 and the digit
 * classifier built on lib/nn. The public face is lib/api/eval_api.c, which
 * checks arguments; these functions assume valid ones. */
#ifndef DDGAN_EVAL_EVAL_H
#define DDGAN_EVAL_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/context.h"
#include "nn/layers.h"
#include "nn/netmem.h"

/* ---- linear algebra (linalg.c) ---- */

/* Eigen-decomposition of the symmetric n x n matrix a (row-major, destroyed):
 * w [n] eigenvalues, vt [n x n] (may be NULL) eigenvectors in its rows, so
 * a = vt^T diag(w) vt. Cyclic Jacobi in float64. DDGAN_ERR_NUMERICAL when it
 * does not converge or meets a non-finite value. */
ddgan_status_t ddgan__sym_eig(double *a, size_t n, double *w, double *vt, const char *fn);

/* tr sqrt(s1 s2) for symmetric positive semi-definite s1, s2 [n x n]. */
ddgan_status_t ddgan__trace_sqrt_product(const double *s1, const double *s2, size_t n, double *out,
                                         const char *fn);

/* ---- metrics (metrics.c) ---- */

void ddgan__feature_stats(const float *f, size_t n, size_t dim, double *mu, double *sigma);
ddgan_status_t ddgan__frechet(const double *mu1, const double *s1, const double *mu2, const double *s2,
                              size_t dim, double *out, const char *fn);
ddgan_status_t ddgan__frechet_features(const float *a, size_t na, const float *b, size_t nb, size_t dim,
                                       double *out, const char *fn);
/* Largest feature dimension of the Frechet distance (O(dim^3) Jacobi). */
#define DDGAN_EVAL_MAX_DIM 1024
/* Largest k of the k-NN radii (a small stack buffer per point). */
#define DDGAN_PR_MAX_K 64
ddgan_status_t ddgan__precision_recall(const float *real, size_t n_real, const float *fake,
                                       size_t n_fake, size_t dim, int k, double *precision,
                                       double *recall, const char *fn);
/* KL(histogram || uniform) over `bins` bins of `total` counts; NaN when total is 0. */
double ddgan__kl_uniform(const int64_t *counts, size_t bins, int64_t total);

/* ---- the digit classifier (classifier.c) ---- */

#define DDGAN_MAGIC_CLASSIFIER 0x4b474444u /* "DDGK" */

typedef struct ddgan_clf_plan {
    int mode, batch;
} ddgan_clf_plan;

struct ddgan_classifier {
    uint32_t magic;
    ddgan_context_t ctx;
    int width, hidden;
    ddgan_param_table pt;
    ddgan_conv conv[3];
    ddgan_dense fc1, fc2;
    ddgan_fir pool; /* [1, 1]: 2 x 2 average pooling */
    ddgan_netmem mem;
    ddgan_clf_plan plan;
    char *config_json;
};

/* Builds the network (parameters allocated; training buffers when `train`). */
ddgan_status_t ddgan__clf_create(struct ddgan_classifier **out, ddgan_context_t ctx, int width, int hidden,
                                 int train, const char *fn);
void ddgan__clf_destroy(struct ddgan_classifier *c);

typedef struct ddgan_clf_train_args {
    int epochs, batch_size, max_shift;
    double lr, beta1, beta2, eps;
    uint64_t seed;
} ddgan_clf_train_args;

ddgan_status_t ddgan__clf_train(struct ddgan_classifier *c, const float *images, const int64_t *labels,
                                size_t n, const ddgan_clf_train_args *a, const char *fn);
/* n single-channel 32 x 32 images: logits [n, 10] and/or features [n, hidden] (either may be NULL). */
ddgan_status_t ddgan__clf_run(struct ddgan_classifier *c, const float *images, size_t n, float *logits,
                              float *features, const char *fn);
ddgan_status_t ddgan__clf_save(struct ddgan_classifier *c, const char *path, const char *fn);
ddgan_status_t ddgan__clf_load(struct ddgan_classifier **out, ddgan_context_t ctx, const char *path,
                               const char *fn);

#endif
