/* safetensors reader and writer.
 *
 * Format: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
 * {string: string}}, then the data block; offsets are relative to the data
 * block, data is little-endian and row-major.
 *
 * Reading validates like the reference implementation (huggingface
 * safetensors): N <= 100,000,000 and N <= file size - 8; the header is a JSON
 * object starting with '{' (duplicate keys rejected); every tensor entry has
 * exactly the fields dtype (a known name), shape (non-negative integers) and
 * data_offsets (two non-negative integers, begin <= end); numel x dtype size,
 * computed with overflow checks, equals end - begin; sorted by offsets, the
 * tensors cover the data block contiguously from 0 with no gap or overlap
 * and end exactly at the end of the file; "__metadata__" is an object of
 * strings. Stricter than the reference: at most DDGAN_ST_MAX_DIMS dims, dims
 * and offsets must fit int64, and names, metadata keys and metadata values
 * must not contain NUL characters (this API hands them out as C strings).
 * Every violation is DDGAN_ERR_FORMAT with a message naming the file (and
 * the tensor); I/O failures are DDGAN_ERR_IO.
 *
 * Data is not memory-mapped: tensors are copied (pread or memcpy) into caller
 * buffers, because tensors in the wild are not necessarily aligned.
 *
 * A ddgan_st_file is immutable after opening; concurrent reads from several
 * threads on one handle are safe (pread has no shared file position).
 */
#ifndef DDGAN_IO_SAFETENSORS_H
#define DDGAN_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

#define DDGAN_ST_MAX_DIMS 8
/* The reference implementation's limit on the JSON header (a DoS guard). */
#define DDGAN_ST_MAX_HEADER ((uint64_t)100000000)

typedef enum ddgan_st_dtype {
    DDGAN_ST_BOOL = 0,
    DDGAN_ST_U8,
    DDGAN_ST_I8,
    DDGAN_ST_F8_E5M2,
    DDGAN_ST_F8_E4M3,
    DDGAN_ST_I16,
    DDGAN_ST_U16,
    DDGAN_ST_F16,
    DDGAN_ST_BF16,
    DDGAN_ST_I32,
    DDGAN_ST_U32,
    DDGAN_ST_F32,
    DDGAN_ST_F64,
    DDGAN_ST_I64,
    DDGAN_ST_U64,
    DDGAN_ST_DTYPE_COUNT
} ddgan_st_dtype;

/* "F32", ...; NULL for an invalid value. */
const char *ddgan__st_dtype_name(ddgan_st_dtype dtype);
/* Bytes per element; 0 for an invalid value. */
size_t ddgan__st_dtype_size(ddgan_st_dtype dtype);
/* Parses a dtype name (exact, case-sensitive); returns 0 if unknown. */
int ddgan__st_dtype_parse(const char *name, size_t len, ddgan_st_dtype *out);

/* Description of one tensor. All pointers are owned by the file handle. */
typedef struct ddgan_st_tensor_info {
    const char *name;
    ddgan_st_dtype dtype;
    int ndim;                          /* 0 for a scalar */
    int64_t shape[DDGAN_ST_MAX_DIMS];  /* shape[ndim..] are 0 */
    uint64_t numel;                    /* product of the dims (1 for a scalar) */
    uint64_t nbytes;                   /* numel * dtype size == data_end - data_begin */
    uint64_t data_begin, data_end;     /* data_offsets, relative to the data block */
} ddgan_st_tensor_info;

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct ddgan_st_file ddgan_st_file;

/* Opens and validates a file; keeps it open for reads until close. */
ddgan_status_t ddgan__st_open(ddgan_st_file **out, const char *path);
/* Validates a whole file image in memory. The buffer is borrowed: it must
 * stay valid and unchanged until ddgan__st_close. `name` is used in messages
 * (NULL -> "<memory>") and copied. */
ddgan_status_t ddgan__st_open_memory(ddgan_st_file **out, const void *data, size_t len,
                                     const char *name);
/* NULL is a no-op. */
void ddgan__st_close(ddgan_st_file *f);

/* The path or name given at open. */
const char *ddgan__st_name(const ddgan_st_file *f);

/* Tensors sorted by name (byte order, i.e. strcmp). */
size_t ddgan__st_tensor_count(const ddgan_st_file *f);
/* NULL when index is out of range. */
const ddgan_st_tensor_info *ddgan__st_tensor(const ddgan_st_file *f, size_t index);
/* Binary search by name; NULL (no message set) when absent. */
const ddgan_st_tensor_info *ddgan__st_find(const ddgan_st_file *f, const char *name);
/* Same, but a missing tensor is DDGAN_ERR_FORMAT "<file>: no tensor 'name'". */
ddgan_status_t ddgan__st_get(const ddgan_st_file *f, const char *name,
                             const ddgan_st_tensor_info **out);

/* Metadata (the "__metadata__" object), in file order. */
size_t ddgan__st_metadata_count(const ddgan_st_file *f);
/* DDGAN_ERR_INVALID_ARGUMENT when index is out of range. */
ddgan_status_t ddgan__st_metadata_at(const ddgan_st_file *f, size_t index, const char **key,
                                     const char **value);
/* Value for key; NULL when absent. */
const char *ddgan__st_metadata_get(const ddgan_st_file *f, const char *key);

/* Copies the raw little-endian bytes of tensor `name`; dst_bytes must equal
 * its nbytes (DDGAN_ERR_INVALID_ARGUMENT otherwise). */
ddgan_status_t ddgan__st_read_raw(const ddgan_st_file *f, const char *name, void *dst,
                                  size_t dst_bytes);

/* Read a tensor converted to host float / double / int64; `count` must equal
 * its numel. Conversions:
 *  - f32, f64: from F16, BF16, F32, F64 and all integer types and BOOL
 *    (integers round to nearest); F64 -> f32 rounds to nearest, and a finite
 *    value beyond the float range is DDGAN_ERR_NUMERICAL.
 *  - i64: from all integer types and BOOL; a U64 value above INT64_MAX is
 *    DDGAN_ERR_NUMERICAL; from F16/BF16/F32/F64 only when every value is an
 *    integer within the int64 range (else DDGAN_ERR_NUMERICAL).
 *  - F8 types: DDGAN_ERR_UNSUPPORTED (use ddgan__st_read_raw). */
ddgan_status_t ddgan__st_read_f32(const ddgan_st_file *f, const char *name, float *dst, size_t count);
ddgan_status_t ddgan__st_read_f64(const ddgan_st_file *f, const char *name, double *dst, size_t count);
ddgan_status_t ddgan__st_read_i64(const ddgan_st_file *f, const char *name, int64_t *dst, size_t count);

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct ddgan_st_writer ddgan_st_writer;

ddgan_status_t ddgan__st_writer_create(ddgan_st_writer **out);
/* NULL is a no-op. */
void ddgan__st_writer_destroy(ddgan_st_writer *w);

/* Adds a tensor. The name is copied; `data` (numel * dtype size bytes,
 * little-endian, row-major; may be NULL only when that is 0) is borrowed and
 * must stay valid until ddgan__st_writer_write returns. `shape` may be NULL
 * when ndim == 0. Rejected with DDGAN_ERR_INVALID_ARGUMENT: an empty name, a
 * name that is not valid UTF-8 or is "__metadata__", a duplicate name, an
 * invalid dtype, ndim outside 0..DDGAN_ST_MAX_DIMS, a negative dim; a size
 * overflow is DDGAN_ERR_OUT_OF_MEMORY. */
ddgan_status_t ddgan__st_writer_add(ddgan_st_writer *w, const char *name, ddgan_st_dtype dtype,
                                    const int64_t *shape, int ndim, const void *data);
/* Adds a "__metadata__" entry (both strings copied, valid UTF-8; duplicate
 * keys rejected with DDGAN_ERR_INVALID_ARGUMENT). */
ddgan_status_t ddgan__st_writer_add_metadata(ddgan_st_writer *w, const char *key, const char *value);

/* Writes the file: header with "__metadata__" first (when there is any) and
 * the tensors sorted by name, padded with spaces to a multiple of 8 bytes,
 * then the data of the tensors contiguously in the same order.
 * Atomic: the bytes go to a new temporary file in the target's directory,
 * which is fsync'ed and renamed over `path`; the directory is then fsync'ed.
 * On failure the temporary file is removed and an existing `path` is left
 * untouched (DDGAN_ERR_IO with the path and the system error). The writer
 * can be written again or destroyed afterwards. */
ddgan_status_t ddgan__st_writer_write(ddgan_st_writer *w, const char *path);

/* Builds the same file image in memory (for tests and fuzz seeds): *out is
 * allocated with ddgan__malloc (free with ddgan__free). */
ddgan_status_t ddgan__st_writer_serialize(ddgan_st_writer *w, unsigned char **out, size_t *len);

#endif
