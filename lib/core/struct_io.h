/*
 * The struct_size protocol of every config, stats and info struct
 * (docs/abi-policy.md). A caller compiled against an older header passes a
 * smaller struct: the library reads what is there and keeps defaults for the
 * rest. A caller compiled against a newer header passes a larger struct: it is
 * accepted only if the bytes this library does not know are zero, because a
 * non-zero value there asks for a feature this library cannot honour.
 */
#ifndef DDGAN_CORE_STRUCT_IO_H
#define DDGAN_CORE_STRUCT_IO_H

#include <stddef.h>

#include "ddgan/ddgan.h"

/* Largest struct_size accepted: anything bigger is garbage, not a future version. */
#define DDGAN_MAX_STRUCT_SIZE 4096u

/* `init` of a public struct: fills the caller's `struct_size` bytes from
 * `defaults` (own_size bytes; the caller's extra bytes are zeroed) and stores
 * struct_size. `fn` names the public function for messages. */
ddgan_status_t ddgan__struct_init(void *caller, size_t struct_size, const void *defaults,
                                  size_t own_size, const char *fn);

/* Reads a caller struct into `dst` (own_size bytes already holding defaults). */
ddgan_status_t ddgan__struct_read(void *dst, size_t own_size, const void *caller, const char *fn,
                                  const char *param);

/* Writes `src` (own_size bytes, a complete struct) into a caller output
 * struct, keeping the caller's struct_size and not touching bytes beyond it. */
ddgan_status_t ddgan__struct_write(void *caller, const void *src, size_t own_size, const char *fn,
                                   const char *param);

#endif
