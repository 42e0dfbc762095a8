/* Backend discovery and selection (docs/backends.md): the built-in "ref"
 * backend, plus plug-ins loaded with dlopen from $DDGAN_BACKEND_PATH or from
 * the ddgan/ folder next to libddgan.so, never from the current directory. */
#ifndef DDGAN_BACKEND_REGISTRY_H
#define DDGAN_BACKEND_REGISTRY_H

#include <stddef.h>

#include "backend/backend_impl.h"

/* Resolves `requested` (NULL/"auto" consults $DDGAN_BACKEND, then the best
 * score) to a descriptor. On failure returns DDGAN_ERR_BACKEND_UNAVAILABLE or
 * DDGAN_ERR_INVALID_ARGUMENT with a message saying why. `chosen_how` receives
 * a short human explanation for the log. */
ddgan_status_t ddgan__backend_resolve(const char *requested, const ddgan_backend_desc **out,
                                      char *chosen_how, size_t chosen_how_cap);

/* Snapshot for ddgan_backend_count / ddgan_backend_get_info. */
size_t ddgan__backend_snapshot(void);
ddgan_status_t ddgan__backend_snapshot_get(size_t index, ddgan_backend_info *info);

#endif
