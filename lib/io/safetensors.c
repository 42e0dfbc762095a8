/* safetensors reader and writer; see safetensors.h for the rules. */
#include "io/safetensors.h"

#include "core/alloc.h"
#include "core/error.h"
#include "io/json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* dtypes                                                                   */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t size;
} k_dtypes[DDGAN_ST_DTYPE_COUNT] = {
    [DDGAN_ST_BOOL] = {"BOOL", 1},       [DDGAN_ST_U8] = {"U8", 1},
    [DDGAN_ST_I8] = {"I8", 1},           [DDGAN_ST_F8_E5M2] = {"F8_E5M2", 1},
    [DDGAN_ST_F8_E4M3] = {"F8_E4M3", 1}, [DDGAN_ST_I16] = {"I16", 2},
    [DDGAN_ST_U16] = {"U16", 2},         [DDGAN_ST_F16] = {"F16", 2},
    [DDGAN_ST_BF16] = {"BF16", 2},       [DDGAN_ST_I32] = {"I32", 4},
    [DDGAN_ST_U32] = {"U32", 4},         [DDGAN_ST_F32] = {"F32", 4},
    [DDGAN_ST_F64] = {"F64", 8},         [DDGAN_ST_I64] = {"I64", 8},
    [DDGAN_ST_U64] = {"U64", 8},
};

static int dtype_valid(ddgan_st_dtype dt) { return (unsigned)dt < (unsigned)DDGAN_ST_DTYPE_COUNT; }

const char *ddgan__st_dtype_name(ddgan_st_dtype dtype)
{
    return dtype_valid(dtype) ? k_dtypes[dtype].name : NULL;
}

size_t ddgan__st_dtype_size(ddgan_st_dtype dtype)
{
    return dtype_valid(dtype) ? k_dtypes[dtype].size : 0;
}

int ddgan__st_dtype_parse(const char *name, size_t len, ddgan_st_dtype *out)
{
    for (int i = 0; i < (int)DDGAN_ST_DTYPE_COUNT; i++) {
        if (strlen(k_dtypes[i].name) == len && memcmp(k_dtypes[i].name, name, len) == 0) {
            *out = (ddgan_st_dtype)i;
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

/* strerror_r comes in a GNU flavour (returns char *) and an XSI flavour
 * (returns int); pick whichever the C library declared. Thread-safe, unlike
 * strerror(). */
static const char *strerror_pick_gnu(char *ret, char *buf)
{
    (void)buf;
    return ret;
}
static const char *strerror_pick_xsi(int ret, char *buf)
{
    return ret == 0 ? buf : "unknown error";
}
static const char *sys_error(int err, char buf[128])
{
    buf[0] = '\0';
    return _Generic(strerror_r(err, buf, 128), char *: strerror_pick_gnu,
                    int: strerror_pick_xsi)(strerror_r(err, buf, 128), buf);
}

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int host_is_big_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* "a number", "an array", ... for messages. */
static const char *a_type(const ddgan_json_value *v)
{
    switch (ddgan__json_type(v)) {
    case DDGAN_JSON_NULL: return "null";
    case DDGAN_JSON_BOOL: return "a bool";
    case DDGAN_JSON_NUMBER: return "a number";
    case DDGAN_JSON_STRING: return "a string";
    case DDGAN_JSON_ARRAY: return "an array";
    case DDGAN_JSON_OBJECT: return "an object";
    }
    return "an unknown value";
}

/* "[3, 4, 5]" for messages. */
static void format_shape(const int64_t *shape, int ndim, char out[160])
{
    size_t n = 0;
    out[n++] = '[';
    out[n] = '\0';
    for (int i = 0; i < ndim && n < 140; i++) {
        int k = snprintf(out + n, 160 - n, "%s%" PRId64, i ? ", " : "", shape[i]);
        if (k < 0)
            break;
        n += (size_t)k;
    }
    if (n > 150)
        n = 150;
    snprintf(out + n, 160 - n, "]");
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

struct ddgan_st_file {
    char *name;
    int fd;                       /* -1 when reading from memory */
    const unsigned char *mem;     /* borrowed file image, or NULL */
    uint64_t file_size;
    uint64_t data_start;          /* 8 + header length */
    ddgan_json_doc *doc;          /* owns tensor names and metadata strings */
    const ddgan_json_value *meta; /* "__metadata__" object, or NULL */
    size_t ntensors;
    ddgan_st_tensor_info *tensors; /* sorted by name */
};

const char *ddgan__st_name(const ddgan_st_file *f) { return f ? f->name : ""; }

void ddgan__st_close(ddgan_st_file *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    ddgan__json_free(f->doc);
    ddgan__free(f->tensors);
    ddgan__free(f->name);
    ddgan__free(f);
}

static ddgan_status_t st_new(ddgan_st_file **out, const char *name)
{
    ddgan_st_file *f = ddgan__calloc(1, sizeof *f, "safetensors: file handle");
    if (!f)
        return DDGAN_ERR_OUT_OF_MEMORY;
    f->fd = -1;
    f->name = ddgan__strdup(name, "safetensors: file name");
    if (!f->name) {
        ddgan__free(f);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    *out = f;
    return DDGAN_OK;
}

/* Copies n bytes at absolute file offset `off` (already validated to lie
 * inside the file). */
static ddgan_status_t st_read_at(const ddgan_st_file *f, uint64_t off, void *dst, size_t n)
{
    if (n == 0)
        return DDGAN_OK;
    if (f->mem) {
        memcpy(dst, f->mem + off, n);
        return DDGAN_OK;
    }
    unsigned char *p = dst;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        if (off > (uint64_t)INT64_MAX || (sizeof(off_t) < 8 && off > (uint64_t)INT32_MAX))
            return DDGAN_ERR(DDGAN_ERR_IO, "safetensors: %s: offset %" PRIu64 " is beyond what this "
                             "platform can read", f->name, off);
        ssize_t r = pread(f->fd, p, chunk, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            char eb[128];
            return DDGAN_ERR(DDGAN_ERR_IO, "safetensors: %s: read of %zu bytes at offset %" PRIu64
                             " failed: %s", f->name, chunk, off, sys_error(errno, eb));
        }
        if (r == 0)
            return DDGAN_ERR(DDGAN_ERR_IO, "safetensors: %s: unexpected end of file at offset %" PRIu64
                             " (was the file truncated after it was opened?)", f->name, off);
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return DDGAN_OK;
}

/* Non-negative int64 from a JSON value, for shape dims and offsets. */
static ddgan_status_t st_get_uint(const ddgan_st_file *f, const char *tname, const char *field,
                                  size_t idx, const ddgan_json_value *v, uint64_t *out)
{
    int64_t x;
    if (ddgan__json_type(v) != DDGAN_JSON_NUMBER)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': %s[%zu] is %s, not an integer",
                         f->name, tname, field, idx, a_type(v));
    ddgan_status_t st = ddgan__json_get_int64(v, &x);
    if (st != DDGAN_OK) /* "not written as an integer" / "outside the int64 range" */
        return ddgan__error_prefix(st, "safetensors: %s: tensor '%s': %s[%zu]", f->name, tname, field,
                                   idx);
    if (x < 0)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': %s[%zu] = %" PRId64
                         " is negative", f->name, tname, field, idx, x);
    *out = (uint64_t)x;
    return DDGAN_OK;
}

/* Parses and validates one tensor entry (everything but the layout). */
static ddgan_status_t st_parse_tensor(const ddgan_st_file *f, const char *tname,
                                      const ddgan_json_value *v, ddgan_st_tensor_info *t)
{
    if (ddgan__json_type(v) != DDGAN_JSON_OBJECT)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': entry is %s, not an object",
                         f->name, tname, a_type(v));
    const ddgan_json_value *vd = NULL, *vs = NULL, *vo = NULL;
    for (size_t i = 0; i < ddgan__json_length(v); i++) {
        size_t klen;
        const char *k = ddgan__json_object_key(v, i, &klen);
        const ddgan_json_value *x = ddgan__json_object_value(v, i);
        if (klen == 5 && memcmp(k, "dtype", 5) == 0)
            vd = x;
        else if (klen == 5 && memcmp(k, "shape", 5) == 0)
            vs = x;
        else if (klen == 12 && memcmp(k, "data_offsets", 12) == 0)
            vo = x;
        else
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': unknown field '%.64s' "
                             "(expected dtype, shape, data_offsets)", f->name, tname, k);
    }
    const char *missing = !vd ? "dtype" : !vs ? "shape" : !vo ? "data_offsets" : NULL;
    if (missing)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': missing field '%s'", f->name,
                         tname, missing);

    memset(t, 0, sizeof *t);
    t->name = tname;

    size_t dlen;
    const char *ds = ddgan__json_string(vd, &dlen);
    if (!ds)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': dtype is %s, not a string",
                         f->name, tname, a_type(vd));
    if (!ddgan__st_dtype_parse(ds, dlen, &t->dtype))
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': unknown dtype '%.32s'",
                         f->name, tname, ds);

    if (ddgan__json_type(vs) != DDGAN_JSON_ARRAY)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': shape is %s, not an array",
                         f->name, tname, a_type(vs));
    size_t ndim = ddgan__json_length(vs);
    if (ndim > DDGAN_ST_MAX_DIMS)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': shape has %zu dims, at most %d "
                         "are supported", f->name, tname, ndim, DDGAN_ST_MAX_DIMS);
    t->ndim = (int)ndim;
    uint64_t numel = 1;
    int overflow = 0;
    for (size_t i = 0; i < ndim; i++) {
        uint64_t d;
        DDGAN_TRY(st_get_uint(f, tname, "shape", i, ddgan__json_array_item(vs, i), &d));
        t->shape[i] = (int64_t)d;
        /* Multiply on; remember overflow but keep going so a later 0 dim is
         * still checked for validity. A product involving 0 is 0. */
        if (d != 0 && numel > UINT64_MAX / d)
            overflow = 1;
        else
            numel *= d;
    }
    char sb[160];
    if (overflow) {
        /* An overflowed product is only harmless if some dim is 0. */
        int has_zero = 0;
        for (int i = 0; i < t->ndim; i++)
            has_zero |= t->shape[i] == 0;
        if (!has_zero) {
            format_shape(t->shape, t->ndim, sb);
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': shape %s: the number of "
                             "elements overflows 64 bits", f->name, tname, sb);
        }
        numel = 0;
    }
    const uint64_t esz = k_dtypes[t->dtype].size;
    if (numel > UINT64_MAX / esz) {
        format_shape(t->shape, t->ndim, sb);
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': shape %s x %s: the byte size "
                         "overflows 64 bits", f->name, tname, sb, k_dtypes[t->dtype].name);
    }
    t->numel = numel;
    t->nbytes = numel * esz;

    if (ddgan__json_type(vo) != DDGAN_JSON_ARRAY || ddgan__json_length(vo) != 2)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': data_offsets must be an array "
                         "of 2 integers (got %s of length %zu)", f->name, tname, a_type(vo),
                         ddgan__json_length(vo));
    DDGAN_TRY(st_get_uint(f, tname, "data_offsets", 0, ddgan__json_array_item(vo, 0), &t->data_begin));
    DDGAN_TRY(st_get_uint(f, tname, "data_offsets", 1, ddgan__json_array_item(vo, 1), &t->data_end));
    if (t->data_end < t->data_begin)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': data_offsets [%" PRIu64
                         ", %" PRIu64 "] end before they begin", f->name, tname, t->data_begin,
                         t->data_end);
    if (t->data_end - t->data_begin != t->nbytes) {
        format_shape(t->shape, t->ndim, sb);
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': shape %s x %s is %" PRIu64
                         " bytes but data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64,
                         f->name, tname, sb, k_dtypes[t->dtype].name, t->nbytes, t->data_begin,
                         t->data_end, t->data_end - t->data_begin);
    }
    return DDGAN_OK;
}

static ddgan_status_t st_parse_metadata(const ddgan_st_file *f, const ddgan_json_value *m)
{
    if (ddgan__json_type(m) != DDGAN_JSON_OBJECT)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: __metadata__ is %s, not an object",
                         f->name, a_type(m));
    for (size_t i = 0; i < ddgan__json_length(m); i++) {
        size_t klen, vlen;
        const char *k = ddgan__json_object_key(m, i, &klen);
        const ddgan_json_value *v = ddgan__json_object_value(m, i);
        const char *s = ddgan__json_string(v, &vlen);
        if (memchr(k, '\0', klen))
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: __metadata__ key '%s' contains a NUL "
                             "character", f->name, k);
        if (!s)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: __metadata__ '%.64s' is %s, not a "
                             "string", f->name, k, a_type(v));
        if (memchr(s, '\0', vlen))
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: __metadata__ '%.64s': value contains a "
                             "NUL character", f->name, k);
    }
    return DDGAN_OK;
}

static int cmp_by_offsets(const void *a, const void *b)
{
    const ddgan_st_tensor_info *x = a, *y = b;
    if (x->data_begin != y->data_begin)
        return x->data_begin < y->data_begin ? -1 : 1;
    if (x->data_end != y->data_end)
        return x->data_end < y->data_end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_by_name(const void *a, const void *b)
{
    const ddgan_st_tensor_info *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Validates the header text (n bytes) and fills f->doc, f->meta, f->tensors.
 * f->file_size and f->data_start are set. */
static ddgan_status_t st_parse_header(ddgan_st_file *f, const char *header, size_t n)
{
    char what[512];
    snprintf(what, sizeof what, "safetensors: %s: header", f->name);
    if (n == 0)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s is empty (header length 0)", what);
    DDGAN_TRY(ddgan__json_parse(&f->doc, header, n, what));
    const ddgan_json_value *root = ddgan__json_root(f->doc);
    if (ddgan__json_type(root) != DDGAN_JSON_OBJECT)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s is %s, not a JSON object", what, a_type(root));
    /* The reference reader requires the first byte to be '{' (no leading whitespace). */
    if (header[0] != '{')
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "%s must start with '{' (starts with byte 0x%02X)", what,
                         (unsigned)(unsigned char)header[0]);

    const size_t members = ddgan__json_length(root);
    f->tensors = ddgan__calloc(members ? members : 1, sizeof *f->tensors, "safetensors: tensor table");
    if (!f->tensors)
        return DDGAN_ERR_OUT_OF_MEMORY;
    size_t nt = 0;
    for (size_t i = 0; i < members; i++) {
        size_t klen;
        const char *k = ddgan__json_object_key(root, i, &klen);
        const ddgan_json_value *v = ddgan__json_object_value(root, i);
        if (klen == 12 && memcmp(k, "__metadata__", 12) == 0) {
            DDGAN_TRY(st_parse_metadata(f, v));
            f->meta = v;
            continue;
        }
        if (memchr(k, '\0', klen))
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor name '%s' (byte %zu of the header) "
                             "contains a NUL character", f->name, k, ddgan__json_offset(v));
        DDGAN_TRY(st_parse_tensor(f, k, v, &f->tensors[nt]));
        nt++;
    }
    f->ntensors = nt;

    /* Layout: sorted by offsets, the tensors must tile [0, data size) exactly. */
    const uint64_t data_size = f->file_size - f->data_start;
    if (nt > 1)
        qsort(f->tensors, nt, sizeof *f->tensors, cmp_by_offsets);
    uint64_t pos = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < nt; i++) {
        const ddgan_st_tensor_info *t = &f->tensors[i];
        if (t->data_begin < pos)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': data_offsets [%" PRIu64
                             ", %" PRIu64 "] overlap tensor '%s', which ends at %" PRIu64, f->name,
                             t->name, t->data_begin, t->data_end, prev, pos);
        if (t->data_begin > pos) {
            if (prev)
                return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: gap of %" PRIu64 " bytes between "
                                 "tensor '%s' (ends at %" PRIu64 ") and tensor '%s' (begins at %" PRIu64
                                 ")", f->name, t->data_begin - pos, prev, pos, t->name, t->data_begin);
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: gap of %" PRIu64 " bytes at the start of "
                             "the data: the first tensor '%s' begins at %" PRIu64 ", not 0", f->name,
                             t->data_begin, t->name, t->data_begin);
        }
        if (t->data_end > data_size)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: tensor '%s': data_offsets [%" PRIu64
                             ", %" PRIu64 "] extend past the end of the file (data block is %" PRIu64
                             " bytes)", f->name, t->name, t->data_begin, t->data_end, data_size);
        pos = t->data_end;
        prev = t->name;
    }
    if (pos != data_size)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: %" PRIu64 " trailing bytes after the last "
                         "tensor (tensors end at %" PRIu64 ", the data block is %" PRIu64 " bytes)",
                         f->name, data_size - pos, pos, data_size);

    if (nt > 1)
        qsort(f->tensors, nt, sizeof *f->tensors, cmp_by_name);
    return DDGAN_OK;
}

/* Checks the 8-byte length prefix against the limits and the file size. */
static ddgan_status_t st_check_prefix(ddgan_st_file *f, const unsigned char prefix[8], uint64_t *n)
{
    *n = le64(prefix);
    if (*n > DDGAN_ST_MAX_HEADER)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: header length %" PRIu64 " exceeds the "
                         "limit of %" PRIu64 " bytes", f->name, *n, DDGAN_ST_MAX_HEADER);
    if (*n > f->file_size - 8)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: header length %" PRIu64 " is larger than "
                         "the %" PRIu64 " bytes that follow the length in the file (file is truncated?)",
                         f->name, *n, f->file_size - 8);
    f->data_start = 8 + *n;
    return DDGAN_OK;
}

static ddgan_status_t st_check_size(const ddgan_st_file *f)
{
    if (f->file_size < 8)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: file is %" PRIu64 " bytes, too short for "
                         "the 8-byte header length", f->name, f->file_size);
    return DDGAN_OK;
}

ddgan_status_t ddgan__st_open_memory(ddgan_st_file **out, const void *data, size_t len,
                                     const char *name)
{
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_open_memory: out is NULL");
    *out = NULL;
    if (!data && len)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_open_memory: data is NULL");
    ddgan_st_file *f;
    DDGAN_TRY(st_new(&f, name ? name : "<memory>"));
    f->mem = data ? data : (const unsigned char *)"";
    f->file_size = len;
    uint64_t n = 0;
    ddgan_status_t st = st_check_size(f);
    if (st == DDGAN_OK)
        st = st_check_prefix(f, f->mem, &n);
    if (st == DDGAN_OK)
        st = st_parse_header(f, (const char *)f->mem + 8, (size_t)n);
    if (st != DDGAN_OK) {
        ddgan__st_close(f);
        return st;
    }
    *out = f;
    return DDGAN_OK;
}

ddgan_status_t ddgan__st_open(ddgan_st_file **out, const char *path)
{
    char eb[128];
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_open: out is NULL");
    *out = NULL;
    if (!path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_open: path is NULL");
    ddgan_st_file *f;
    DDGAN_TRY(st_new(&f, path));
    ddgan_status_t st = DDGAN_OK;
    char *header = NULL;
    /* O_NONBLOCK: opening a FIFO must not hang (it is rejected below); it
     * has no effect on reads from regular files. */
    f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f->fd < 0) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: cannot open '%s': %s", path, sys_error(errno, eb));
        goto done;
    }
    struct stat sb;
    if (fstat(f->fd, &sb) != 0) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: cannot stat '%s': %s", path, sys_error(errno, eb));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: '%s' is not a regular file", path);
        goto done;
    }
    f->file_size = (uint64_t)sb.st_size;
    if ((st = st_check_size(f)) != DDGAN_OK)
        goto done;
    unsigned char prefix[8];
    uint64_t n = 0;
    if ((st = st_read_at(f, 0, prefix, 8)) != DDGAN_OK)
        goto done;
    if ((st = st_check_prefix(f, prefix, &n)) != DDGAN_OK)
        goto done;
    header = ddgan__malloc((size_t)n, "safetensors: header");
    if (!header) {
        st = DDGAN_ERR_OUT_OF_MEMORY;
        goto done;
    }
    if ((st = st_read_at(f, 8, header, (size_t)n)) != DDGAN_OK)
        goto done;
    st = st_parse_header(f, header, (size_t)n);
done:
    /* The JSON document holds copies of all strings; the text is not needed. */
    ddgan__free(header);
    if (st != DDGAN_OK) {
        ddgan__st_close(f);
        return st;
    }
    *out = f;
    return DDGAN_OK;
}

size_t ddgan__st_tensor_count(const ddgan_st_file *f) { return f ? f->ntensors : 0; }

const ddgan_st_tensor_info *ddgan__st_tensor(const ddgan_st_file *f, size_t index)
{
    if (!f || index >= f->ntensors)
        return NULL;
    return &f->tensors[index];
}

const ddgan_st_tensor_info *ddgan__st_find(const ddgan_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    size_t lo = 0, hi = f->ntensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->tensors[mid].name, name);
        if (c == 0)
            return &f->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

ddgan_status_t ddgan__st_get(const ddgan_st_file *f, const char *name,
                             const ddgan_st_tensor_info **out)
{
    if (!f || !name || !out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_get: NULL argument");
    *out = ddgan__st_find(f, name);
    if (!*out)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "safetensors: %s: no tensor '%s'", f->name, name);
    return DDGAN_OK;
}

size_t ddgan__st_metadata_count(const ddgan_st_file *f)
{
    return f ? ddgan__json_length(f->meta) : 0;
}

ddgan_status_t ddgan__st_metadata_at(const ddgan_st_file *f, size_t index, const char **key,
                                     const char **value)
{
    if (!f || !key || !value)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_metadata_at: NULL argument");
    if (index >= ddgan__json_length(f->meta))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors: %s: metadata index %zu out of range "
                         "(%zu entries)", f->name, index, ddgan__json_length(f->meta));
    *key = ddgan__json_object_key(f->meta, index, NULL);
    *value = ddgan__json_string(ddgan__json_object_value(f->meta, index), NULL);
    return DDGAN_OK;
}

const char *ddgan__st_metadata_get(const ddgan_st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    return ddgan__json_string(ddgan__json_object_get(f->meta, key), NULL);
}

ddgan_status_t ddgan__st_read_raw(const ddgan_st_file *f, const char *name, void *dst,
                                  size_t dst_bytes)
{
    const ddgan_st_tensor_info *t;
    DDGAN_TRY(ddgan__st_get(f, name, &t));
    if ((uint64_t)dst_bytes != t->nbytes)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors: %s: tensor '%s' is %" PRIu64
                         " bytes but the buffer is %zu bytes", f->name, name, t->nbytes, dst_bytes);
    if (!dst && dst_bytes)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors: %s: tensor '%s': buffer is NULL",
                         f->name, name);
    return st_read_at(f, f->data_start + t->data_begin, dst, dst_bytes);
}

/* ---- conversions ---- */

static uint64_t ld_uint(const unsigned char *p, size_t size)
{
    uint64_t v = 0;
    for (size_t i = size; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static double half_to_double(uint16_t h)
{
    const int e = (h >> 10) & 0x1F;
    const int m = h & 0x3FF;
    double v;
    if (e == 0)
        v = ldexp((double)m, -24); /* zero or subnormal */
    else if (e == 31)
        v = m ? (double)NAN : (double)INFINITY;
    else
        v = ldexp((double)(m | 0x400), e - 25);
    return (h & 0x8000) ? -v : v;
}

static int dtype_is_float(ddgan_st_dtype dt)
{
    return dt == DDGAN_ST_F16 || dt == DDGAN_ST_BF16 || dt == DDGAN_ST_F32 || dt == DDGAN_ST_F64;
}

static int dtype_is_signed_int(ddgan_st_dtype dt)
{
    return dt == DDGAN_ST_I8 || dt == DDGAN_ST_I16 || dt == DDGAN_ST_I32 || dt == DDGAN_ST_I64;
}

/* Decodes one float element (exactly) as a double. */
static double decode_float(ddgan_st_dtype dt, const unsigned char *p)
{
    switch (dt) {
    case DDGAN_ST_F16:
        return half_to_double((uint16_t)ld_uint(p, 2));
    case DDGAN_ST_BF16: {
        uint32_t bits = (uint32_t)ld_uint(p, 2) << 16;
        float x;
        memcpy(&x, &bits, 4);
        return (double)x;
    }
    case DDGAN_ST_F32: {
        uint32_t bits = (uint32_t)ld_uint(p, 4);
        float x;
        memcpy(&x, &bits, 4);
        return (double)x;
    }
    default: {
        uint64_t bits = ld_uint(p, 8);
        double x;
        memcpy(&x, &bits, 8);
        return x;
    }
    }
}

/* Decodes one integer/BOOL element: signed value in *s or unsigned in *u. */
static int decode_int(ddgan_st_dtype dt, const unsigned char *p, int64_t *s, uint64_t *u)
{
    const size_t size = k_dtypes[dt].size;
    uint64_t raw = ld_uint(p, size);
    if (dtype_is_signed_int(dt)) {
        /* Sign-extend without shifting into the sign bit. */
        const unsigned bits = (unsigned)(8 * size);
        if (bits < 64 && (raw >> (bits - 1)) & 1u)
            raw |= ~(uint64_t)0 << bits;
        int64_t v;
        memcpy(&v, &raw, 8);
        *s = v;
        return 1; /* signed */
    }
    *u = raw;
    return 0; /* unsigned */
}

enum { TO_F32, TO_F64, TO_I64 };

static ddgan_status_t st_read_convert(const ddgan_st_file *f, const char *name, void *dst,
                                      size_t count, int to)
{
    static const char *const to_name[] = {"float32", "float64", "int64"};
    static const ddgan_st_dtype same[] = {DDGAN_ST_F32, DDGAN_ST_F64, DDGAN_ST_I64};
    const ddgan_st_tensor_info *t;
    DDGAN_TRY(ddgan__st_get(f, name, &t));
    if ((uint64_t)count != t->numel)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors: %s: tensor '%s' has %" PRIu64
                         " elements but the buffer holds %zu", f->name, name, t->numel, count);
    if (!dst && count)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors: %s: tensor '%s': buffer is NULL",
                         f->name, name);
    const ddgan_st_dtype dt = t->dtype;
    if (dt == DDGAN_ST_F8_E5M2 || dt == DDGAN_ST_F8_E4M3)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "safetensors: %s: tensor '%s': cannot convert %s to %s",
                         f->name, name, k_dtypes[dt].name, to_name[to]);
    const uint64_t base = f->data_start + t->data_begin;
    const size_t esz = k_dtypes[dt].size;

    if (dt == same[to]) {
        /* Same type: copy straight into dst, then fix the byte order. */
        DDGAN_TRY(st_read_at(f, base, dst, (size_t)t->nbytes));
        if (host_is_big_endian()) {
            unsigned char *b = dst;
            for (size_t i = 0; i < count; i++)
                for (size_t k = 0; k < esz / 2; k++) {
                    unsigned char c = b[i * esz + k];
                    b[i * esz + k] = b[i * esz + esz - 1 - k];
                    b[i * esz + esz - 1 - k] = c;
                }
        }
        return DDGAN_OK;
    }

    unsigned char buf[8192];
    const size_t per = sizeof buf / esz;
    for (size_t i = 0; i < count;) {
        const size_t k = count - i < per ? count - i : per;
        DDGAN_TRY(st_read_at(f, base + (uint64_t)i * esz, buf, k * esz));
        for (size_t j = 0; j < k; j++) {
            const unsigned char *p = buf + j * esz;
            const size_t idx = i + j;
            if (dtype_is_float(dt)) {
                const double d = decode_float(dt, p);
                if (to == TO_F64) {
                    ((double *)dst)[idx] = d;
                } else if (to == TO_F32) {
                    const float r = (float)d; /* IEEE: rounds, overflows to inf */
                    if (isinf(r) && isfinite(d))
                        return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "safetensors: %s: tensor '%s': element %zu "
                                         "= %.17g is outside the float32 range", f->name, name, idx, d);
                    ((float *)dst)[idx] = r;
                } else {
                    /* Exact integers only; 2^63 itself is out of range. */
                    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != trunc(d))
                        return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "safetensors: %s: tensor '%s': element %zu "
                                         "= %.17g (%s) is not an integer in the int64 range", f->name,
                                         name, idx, d, k_dtypes[dt].name);
                    ((int64_t *)dst)[idx] = (int64_t)d;
                }
            } else {
                int64_t s = 0;
                uint64_t u = 0;
                const int is_signed = decode_int(dt, p, &s, &u);
                if (to == TO_I64) {
                    if (!is_signed && u > (uint64_t)INT64_MAX)
                        return DDGAN_ERR(DDGAN_ERR_NUMERICAL, "safetensors: %s: tensor '%s': element %zu "
                                         "= %" PRIu64 " (%s) does not fit int64", f->name, name, idx, u,
                                         k_dtypes[dt].name);
                    ((int64_t *)dst)[idx] = is_signed ? s : (int64_t)u;
                } else if (to == TO_F64) {
                    ((double *)dst)[idx] = is_signed ? (double)s : (double)u;
                } else {
                    ((float *)dst)[idx] = is_signed ? (float)s : (float)u;
                }
            }
        }
        i += k;
    }
    return DDGAN_OK;
}

ddgan_status_t ddgan__st_read_f32(const ddgan_st_file *f, const char *name, float *dst, size_t count)
{
    return st_read_convert(f, name, dst, count, TO_F32);
}

ddgan_status_t ddgan__st_read_f64(const ddgan_st_file *f, const char *name, double *dst, size_t count)
{
    return st_read_convert(f, name, dst, count, TO_F64);
}

ddgan_status_t ddgan__st_read_i64(const ddgan_st_file *f, const char *name, int64_t *dst, size_t count)
{
    return st_read_convert(f, name, dst, count, TO_I64);
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct st_wtensor {
    char *name;
    ddgan_st_dtype dtype;
    int ndim;
    int64_t shape[DDGAN_ST_MAX_DIMS];
    uint64_t nbytes;
    const void *data;
} st_wtensor;

typedef struct st_wmeta {
    char *key, *value;
} st_wmeta;

struct ddgan_st_writer {
    st_wtensor *t; /* sorted by name */
    size_t n, cap;
    st_wmeta *m; /* in insertion order */
    size_t nm, mcap;
};

ddgan_status_t ddgan__st_writer_create(ddgan_st_writer **out)
{
    if (!out)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_writer_create: out is NULL");
    *out = ddgan__calloc(1, sizeof **out, "safetensors writer");
    return *out ? DDGAN_OK : DDGAN_ERR_OUT_OF_MEMORY;
}

void ddgan__st_writer_destroy(ddgan_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        ddgan__free(w->t[i].name);
    for (size_t i = 0; i < w->nm; i++) {
        ddgan__free(w->m[i].key);
        ddgan__free(w->m[i].value);
    }
    ddgan__free(w->t);
    ddgan__free(w->m);
    ddgan__free(w);
}

/* Replaces *arr (capacity *cap, n used elements of `elem` bytes) by a larger copy. */
static ddgan_status_t w_grow(void **arr, size_t *cap, size_t n, size_t elem, const char *what)
{
    if (n < *cap)
        return DDGAN_OK;
    size_t ncap = *cap ? *cap * 2 : 16, bytes;
    if (ncap < *cap || !ddgan__mul_size(ncap, elem, &bytes))
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "%s: too many entries", what);
    void *p = ddgan__malloc(bytes, what);
    if (!p)
        return DDGAN_ERR_OUT_OF_MEMORY;
    if (n)
        memcpy(p, *arr, n * elem);
    ddgan__free(*arr);
    *arr = p;
    *cap = ncap;
    return DDGAN_OK;
}

ddgan_status_t ddgan__st_writer_add(ddgan_st_writer *w, const char *name, ddgan_st_dtype dtype,
                                    const int64_t *shape, int ndim, const void *data)
{
    if (!w || !name)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_writer_add: %s is NULL",
                         !w ? "writer" : "name");
    const size_t nlen = strlen(name);
    size_t bad = 0;
    if (nlen == 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: empty tensor name");
    if (!ddgan__json_utf8_valid(name, nlen, &bad))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: tensor name '%s' is not valid "
                         "UTF-8 (byte %zu)", name, bad);
    if (strcmp(name, "__metadata__") == 0)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: '__metadata__' is reserved and "
                         "cannot be a tensor name");
    if (!dtype_valid(dtype))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': invalid dtype %d",
                         name, (int)dtype);
    if (ndim < 0 || ndim > DDGAN_ST_MAX_DIMS)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': ndim %d is outside "
                         "0..%d", name, ndim, DDGAN_ST_MAX_DIMS);
    if (ndim > 0 && !shape)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': shape is NULL",
                         name);
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': shape[%d] = %"
                             PRId64 " is negative", name, i, shape[i]);
        const uint64_t d = (uint64_t)shape[i];
        if (d != 0 && numel > UINT64_MAX / d)
            overflow = 1;
        else
            numel *= d;
    }
    if (overflow) {
        for (int i = 0; i < ndim; i++)
            if (shape[i] == 0)
                overflow = 0, numel = 0;
    }
    const uint64_t esz = k_dtypes[dtype].size;
    /* Offsets are written as JSON int64, so the size must fit int64 too. */
    if (overflow || numel > (uint64_t)INT64_MAX / esz)
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "safetensors writer: tensor '%s': the byte size "
                         "overflows", name);
    const uint64_t nbytes = numel * esz;
    if (nbytes > (uint64_t)SIZE_MAX)
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "safetensors writer: tensor '%s': %" PRIu64 " bytes "
                         "do not fit in memory", name, nbytes);
    if (nbytes && !data)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: tensor '%s': data is NULL for "
                         "%" PRIu64 " bytes", name, nbytes);

    /* Binary search for the insertion point (keeps the array sorted by name). */
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(w->t[mid].name, name);
        if (c == 0)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: duplicate tensor name '%s'",
                             name);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    void *arr = w->t;
    DDGAN_TRY(w_grow(&arr, &w->cap, w->n, sizeof *w->t, "safetensors writer: tensors"));
    w->t = arr;
    char *copy = ddgan__strdup(name, "safetensors writer: tensor name");
    if (!copy)
        return DDGAN_ERR_OUT_OF_MEMORY;
    memmove(&w->t[lo + 1], &w->t[lo], (w->n - lo) * sizeof *w->t);
    st_wtensor *t = &w->t[lo];
    memset(t, 0, sizeof *t);
    t->name = copy;
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->nbytes = nbytes;
    t->data = data;
    w->n++;
    return DDGAN_OK;
}

ddgan_status_t ddgan__st_writer_add_metadata(ddgan_st_writer *w, const char *key, const char *value)
{
    if (!w || !key || !value)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_writer_add_metadata: NULL argument");
    size_t bad = 0;
    if (!ddgan__json_utf8_valid(key, strlen(key), &bad))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: metadata key is not valid UTF-8 "
                         "(byte %zu)", bad);
    if (!ddgan__json_utf8_valid(value, strlen(value), &bad))
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: metadata '%s': value is not "
                         "valid UTF-8 (byte %zu)", key, bad);
    for (size_t i = 0; i < w->nm; i++)
        if (strcmp(w->m[i].key, key) == 0)
            return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "safetensors writer: duplicate metadata key '%s'",
                             key);
    void *arr = w->m;
    DDGAN_TRY(w_grow(&arr, &w->mcap, w->nm, sizeof *w->m, "safetensors writer: metadata"));
    w->m = arr;
    char *k = ddgan__strdup(key, "safetensors writer: metadata key");
    char *v = k ? ddgan__strdup(value, "safetensors writer: metadata value") : NULL;
    if (!v) {
        ddgan__free(k);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    w->m[w->nm].key = k;
    w->m[w->nm].value = v;
    w->nm++;
    return DDGAN_OK;
}

/* Builds the JSON header, padded with spaces to a multiple of 8 bytes. */
static ddgan_status_t st_build_header(const ddgan_st_writer *w, char **out, size_t *out_len,
                                      uint64_t *data_size)
{
    ddgan_json_writer j;
    ddgan__json_writer_init(&j);
    ddgan__json_write_object_begin(&j);
    if (w->nm) {
        ddgan__json_write_key(&j, "__metadata__");
        ddgan__json_write_object_begin(&j);
        for (size_t i = 0; i < w->nm; i++) {
            ddgan__json_write_key(&j, w->m[i].key);
            ddgan__json_write_string(&j, w->m[i].value);
        }
        ddgan__json_write_object_end(&j);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const st_wtensor *t = &w->t[i];
        if (t->nbytes > (uint64_t)INT64_MAX - off) {
            ddgan__json_writer_free(&j);
            return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "safetensors writer: total data size overflows");
        }
        ddgan__json_write_key(&j, t->name);
        ddgan__json_write_object_begin(&j);
        ddgan__json_write_key(&j, "dtype");
        ddgan__json_write_string(&j, k_dtypes[t->dtype].name);
        ddgan__json_write_key(&j, "shape");
        ddgan__json_write_array_begin(&j);
        for (int d = 0; d < t->ndim; d++)
            ddgan__json_write_int64(&j, t->shape[d]);
        ddgan__json_write_array_end(&j);
        ddgan__json_write_key(&j, "data_offsets");
        ddgan__json_write_array_begin(&j);
        ddgan__json_write_int64(&j, (int64_t)off);
        ddgan__json_write_int64(&j, (int64_t)(off + t->nbytes));
        ddgan__json_write_array_end(&j);
        ddgan__json_write_object_end(&j);
        off += t->nbytes;
    }
    ddgan__json_write_object_end(&j);
    char *text = NULL;
    size_t len = 0;
    /* The writer's errors are sticky: finish reports the first one. */
    DDGAN_TRY(ddgan__json_writer_finish(&j, &text, &len));
    const size_t padded = (len + 7) & ~(size_t)7;
    char *hdr = ddgan__malloc(padded, "safetensors writer: header");
    if (!hdr) {
        ddgan__free(text);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    memcpy(hdr, text, len);
    memset(hdr + len, ' ', padded - len);
    ddgan__free(text);
    *out = hdr;
    *out_len = padded;
    *data_size = off;
    return DDGAN_OK;
}

static void put_le64(unsigned char out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (8 * i));
}

ddgan_status_t ddgan__st_writer_serialize(ddgan_st_writer *w, unsigned char **out, size_t *len)
{
    if (!w || !out || !len)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_writer_serialize: NULL argument");
    *out = NULL;
    char *hdr;
    size_t hlen;
    uint64_t dsize;
    DDGAN_TRY(st_build_header(w, &hdr, &hlen, &dsize));
    if (dsize > (uint64_t)(SIZE_MAX - 8 - hlen)) {
        ddgan__free(hdr);
        return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "safetensors writer: file size overflows");
    }
    const size_t total = 8 + hlen + (size_t)dsize;
    unsigned char *buf = ddgan__malloc(total, "safetensors writer: file image");
    if (!buf) {
        ddgan__free(hdr);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    put_le64(buf, hlen);
    memcpy(buf + 8, hdr, hlen);
    size_t pos = 8 + hlen;
    for (size_t i = 0; i < w->n; i++) {
        if (w->t[i].nbytes)
            memcpy(buf + pos, w->t[i].data, (size_t)w->t[i].nbytes);
        pos += (size_t)w->t[i].nbytes;
    }
    ddgan__free(hdr);
    *out = buf;
    *len = total;
    return DDGAN_OK;
}

static ddgan_status_t write_all(int fd, const void *data, size_t n, const char *tmp, const char *path)
{
    const unsigned char *p = data;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t r = write(fd, p, chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            char eb[128];
            return DDGAN_ERR(DDGAN_ERR_IO, "safetensors: writing '%s' (temporary file for '%s') failed: %s",
                             tmp, path, sys_error(errno, eb));
        }
        p += r;
        n -= (size_t)r;
    }
    return DDGAN_OK;
}

/* The directory part of path ("." when there is none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ddgan__strdup(".", "safetensors writer: directory name");
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/file" -> "/" */
    char *d = ddgan__malloc(n + 1, "safetensors writer: directory name");
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static atomic_uint g_tmp_counter;

/* Temporary files of writers that died mid-save are at least this old
 * (seconds) before a later save removes them. */
#define ST_STALE_TMP_AGE 60

/* If name is "<base>.tmp.<pid>.<n>", returns the pid, else 0. */
static long stale_tmp_pid(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0)
        return 0;
    const char *p = name + blen + 5;
    long pid = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
        pid = pid * 10 + (*p - '0');
    if (!digits || *p++ != '.' || !(*p >= '0' && *p <= '9'))
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p ? 0 : pid;
}

/*
 * Best effort, after a successful save: removes the temporary files that
 * earlier saves of the same path left behind when their process was killed
 * inside the write window ("<path>.tmp.<pid>.<n>"). A file is only removed
 * when no process with that pid exists and the file has not been modified
 * for ST_STALE_TMP_AGE seconds, so a save in progress in another process,
 * even one in another pid namespace sharing the folder, is left alone; this
 * process' own pid is skipped (it removes its own temporaries when a save
 * fails). Errors are ignored: the checkpoint itself is already written.
 */
static void remove_stale_temporaries(const char *dir, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    const long self = (long)getpid();
    const time_t now = time(NULL);
    const size_t dlen = strlen(dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const long pid = stale_tmp_pid(e->d_name, base, blen);
        if (pid <= 0 || pid == self)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* the writer may still be alive */
        const size_t need = dlen + 1 + strlen(e->d_name) + 1;
        char *full = ddgan__malloc(need, "safetensors writer: stale temporary name");
        if (!full)
            break;
        snprintf(full, need, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(full, &sb) == 0 && S_ISREG(sb.st_mode) && now - sb.st_mtime >= ST_STALE_TMP_AGE)
            unlink(full);
        ddgan__free(full);
    }
    closedir(d);
}

ddgan_status_t ddgan__st_writer_write(ddgan_st_writer *w, const char *path)
{
    char eb[128];
    if (!w || !path || !*path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "ddgan__st_writer_write: %s",
                         !w ? "writer is NULL" : "path is NULL or empty");
    char *hdr = NULL, *tmp = NULL, *dir = NULL;
    size_t hlen = 0;
    uint64_t dsize = 0;
    int fd = -1, created = 0;
    ddgan_status_t st = st_build_header(w, &hdr, &hlen, &dsize);
    if (st != DDGAN_OK)
        goto done;

    /* Temporary file next to the target (rename is only atomic within one
     * file system): "<path>.tmp.<pid>.<n>", created exclusively. */
    const size_t plen = strlen(path);
    const size_t tcap = plen + 64;
    tmp = ddgan__malloc(tcap, "safetensors writer: temporary name");
    dir = dir_of(path);
    if (!tmp || !dir) {
        st = DDGAN_ERR_OUT_OF_MEMORY;
        goto done;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = atomic_fetch_add(&g_tmp_counter, 1u);
        snprintf(tmp, tcap, "%s.tmp.%ld.%u", path, (long)getpid(), n);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: cannot create temporary file '%s' for '%s': %s", tmp,
                       path, sys_error(errno, eb));
        goto done;
    }
    created = 1;

    unsigned char prefix[8];
    put_le64(prefix, hlen);
    if ((st = write_all(fd, prefix, 8, tmp, path)) != DDGAN_OK ||
        (st = write_all(fd, hdr, hlen, tmp, path)) != DDGAN_OK)
        goto done;
    for (size_t i = 0; i < w->n; i++)
        if ((st = write_all(fd, w->t[i].data, (size_t)w->t[i].nbytes, tmp, path)) != DDGAN_OK)
            goto done;
    if (fsync(fd) != 0) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: fsync of '%s' (temporary file for '%s') failed: %s",
                       tmp, path, sys_error(errno, eb));
        goto done;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: closing '%s' (temporary file for '%s') failed: %s",
                       tmp, path, sys_error(errno, eb));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: cannot rename '%s' to '%s': %s", tmp, path,
                       sys_error(errno, eb));
        goto done;
    }
    created = 0; /* the temporary name no longer exists */

    /* Make the rename itself durable. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: '%s' was written, but its directory '%s' cannot be "
                       "opened to fsync it: %s", path, dir, sys_error(errno, eb));
        goto done;
    }
    if (fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        /* EINVAL/ENOTSUP: the file system does not support syncing directories. */
        st = DDGAN_ERR(DDGAN_ERR_IO, "safetensors: '%s' was written, but fsync of its directory '%s' "
                       "failed: %s", path, dir, sys_error(errno, eb));
    }
    close(dfd);
    if (st == DDGAN_OK)
        remove_stale_temporaries(dir, path);

done:
    if (fd >= 0)
        close(fd);
    if (created)
        unlink(tmp);
    ddgan__free(hdr);
    ddgan__free(tmp);
    ddgan__free(dir);
    return st;
}
