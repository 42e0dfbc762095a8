/* The reference backend "ref": portable C, built into libddgan, the numerical
 * oracle for every other backend. */
#ifndef DDGAN_REF_BACKEND_H
#define DDGAN_REF_BACKEND_H

#include "backend/backend_impl.h"

const ddgan_backend_desc *ddgan__ref_backend_desc(void);

#endif
