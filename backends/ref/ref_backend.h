/* The reference backend "ref": portable C, built into libddgan, the numerical
 * oracle for every other backend. */
#ifndef DDGAN_REF_BACKEND_H
#define DDGAN_REF_BACKEND_H

#include "backend/backend_impl.h"

const ddgan_backend_desc *ddgan__ref_backend_desc(void);

/* The op set (backends/ref/ref_ops_*.c), float32 and float64. */
extern const ddgan_backend_compute ddgan__ref_compute;

/* Worker threads of a ref instance (its context's num_threads). */
int ddgan__ref_threads(const ddgan_backend *be);

#endif
