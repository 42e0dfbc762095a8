/*
 * IDX files (MNIST, Fashion-MNIST, EMNIST), raw or gzip.
 *
 * Layout: magic 00 00 TT NN (TT: element type, 08 = unsigned byte; NN: the
 * number of dimensions), NN big-endian uint32 sizes, then the elements in
 * row-major order. Only unsigned bytes are accepted here (images [N, H, W],
 * labels [N]). A file starting with the gzip magic 1f 8b is inflated through
 * zlib (several concatenated gzip members are allowed, as gzip(1) writes
 * them); any other file is read raw.
 *
 * Checks, all DDGAN_ERR_FORMAT naming the file: the magic's zero bytes, the
 * element type (other IDX types: DDGAN_ERR_UNSUPPORTED), the dimension count,
 * non-zero sizes, N <= INT32_MAX and sides <= 16384, the payload (computed
 * with overflow checks) <= 8 GiB, and then the payload against the data
 * actually present: a raw file must be exactly header + payload bytes long
 * (checked before anything is allocated); a gzip file must inflate to
 * exactly that many bytes (a payload beyond what deflate can produce from
 * the file's size, 1032:1, is refused before allocating), with intact
 * checksums and nothing after the last member.
 */
#include "data/data_internal.h"

#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_UBYTE 0x08
/* deflate's largest compression ratio (258-byte matches in 2 bits, ~1032:1) */
#define DEFLATE_MAX_RATIO 1032u
#define GZ_CHUNK (1u << 16)

/* ------------------------------------------------------------------------ */
/* Byte source: a raw file or an inflated gzip stream                       */
/* ------------------------------------------------------------------------ */

typedef struct byte_src {
    const char *path;
    FILE *f;
    uint64_t file_size;
    int gz;
    z_stream zs;
    int zs_live;
    int ended;           /* gzip: the last member ended and the file is used up */
    int new_member;      /* gzip: a member ended and nothing of the next one was inflated yet */
    unsigned char *in;   /* gzip input buffer */
} byte_src;

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    size_t bytes;
    if (!ddgan__mul_size(items, size, &bytes))
        return Z_NULL;
    return ddgan__malloc(bytes ? bytes : 1, "idx: zlib state");
}
static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    ddgan__free(p);
}

static void src_close(byte_src *s)
{
    if (s->zs_live)
        inflateEnd(&s->zs);
    s->zs_live = 0;
    ddgan__free(s->in);
    s->in = NULL;
    if (s->f)
        fclose(s->f);
    s->f = NULL;
}

static ddgan_status_t src_open(byte_src *s, const char *path)
{
    char eb[128];
    memset(s, 0, sizeof *s);
    s->path = path;
    s->f = fopen(path, "rb");
    if (!s->f)
        return DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: cannot open: %s", path, ddgan__data_strerror(errno, eb));
    struct stat st;
    if (fstat(fileno(s->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        src_close(s);
        return DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: not a regular file", path);
    }
    s->file_size = (uint64_t)st.st_size;
    unsigned char m[2];
    size_t got = fread(m, 1, 2, s->f);
    if (got == 2 && m[0] == 0x1f && m[1] == 0x8b)
        s->gz = 1;
    if (fseek(s->f, 0, SEEK_SET) != 0) {
        int err = errno;
        src_close(s);
        return DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: seek failed: %s", path, ddgan__data_strerror(err, eb));
    }
    if (!s->gz)
        return DDGAN_OK;
    s->in = ddgan__malloc(GZ_CHUNK, "idx: gzip input buffer");
    if (!s->in) {
        src_close(s);
        return DDGAN_ERR_OUT_OF_MEMORY;
    }
    s->zs.zalloc = z_alloc;
    s->zs.zfree = z_free;
    s->zs.opaque = Z_NULL;
    s->zs.next_in = s->in;
    s->zs.avail_in = 0;
    int zr = inflateInit2(&s->zs, 15 + 16); /* gzip wrapper only */
    if (zr != Z_OK) {
        src_close(s);
        if (zr == Z_MEM_ERROR)
            return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "idx: %s: out of memory for zlib", path);
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "idx: %s: inflateInit2 failed (%d)", path, zr);
    }
    s->zs_live = 1;
    return DDGAN_OK;
}

/* Refills the gzip input buffer when it is empty (it stays empty at the end of the file). */
static ddgan_status_t gz_fill(byte_src *s)
{
    if (s->zs.avail_in > 0)
        return DDGAN_OK;
    size_t got = fread(s->in, 1, GZ_CHUNK, s->f);
    if (got == 0 && ferror(s->f)) {
        char eb[128];
        return DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: read failed: %s", s->path,
                         ddgan__data_strerror(errno, eb));
    }
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)got;
    return DDGAN_OK;
}

/* Reads up to n bytes; *got < n only at the end of the data. */
static ddgan_status_t src_read(byte_src *s, void *dst, size_t n, size_t *got)
{
    *got = 0;
    if (!s->gz) {
        size_t r = n ? fread(dst, 1, n, s->f) : 0;
        if (r < n && ferror(s->f)) {
            char eb[128];
            return DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: read failed: %s", s->path,
                             ddgan__data_strerror(errno, eb));
        }
        *got = r;
        return DDGAN_OK;
    }
    unsigned char *out = dst;
    size_t done = 0;
    while (done < n && !s->ended) {
        DDGAN_TRY(gz_fill(s));
        /* inflate may still hold output (and bits) with no input left: only
         * "no progress possible" at the end of the file means truncation */
        const int at_eof = s->zs.avail_in == 0 && feof(s->f);
        size_t want = n - done;
        if (want > ((size_t)1 << 30))
            want = (size_t)1 << 30;
        s->zs.next_out = out + done;
        s->zs.avail_out = (uInt)want;
        int zr = inflate(&s->zs, Z_NO_FLUSH);
        done += want - s->zs.avail_out;
        if (want - s->zs.avail_out > 0)
            s->new_member = 0;
        if (zr == Z_STREAM_END) {
            /* Another member may follow (concatenated gzip); anything else is an error. */
            DDGAN_TRY(gz_fill(s));
            if (s->zs.avail_in == 0 && feof(s->f)) {
                s->ended = 1;
                break;
            }
            int rr = inflateReset(&s->zs);
            if (rr != Z_OK)
                return DDGAN_ERR(DDGAN_ERR_INTERNAL, "idx: %s: inflateReset failed (%d)", s->path, rr);
            s->new_member = 1;
            continue;
        }
        if (zr == Z_DATA_ERROR && s->new_member)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: unexpected bytes after the end of the gzip "
                             "stream (%s)", s->path, s->zs.msg ? s->zs.msg : "not a gzip member");
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR && at_eof)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: gzip stream ends early (truncated file)",
                             s->path);
        if (zr == Z_BUF_ERROR && s->zs.avail_in == 0)
            continue;
        if (zr == Z_MEM_ERROR)
            return DDGAN_ERR(DDGAN_ERR_OUT_OF_MEMORY, "idx: %s: out of memory in zlib", s->path);
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: corrupt gzip data (%s)", s->path,
                         s->zs.msg ? s->zs.msg : "inflate failed");
    }
    *got = done;
    return DDGAN_OK;
}

/* ------------------------------------------------------------------------ */
/* IDX                                                                      */
/* ------------------------------------------------------------------------ */

static const char *idx_type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

static ddgan_status_t idx_parse(byte_src *s, int want_ndim, uint32_t dims[3], uint8_t **data,
                                size_t *len)
{
    const char *path = s->path;
    const char *comp = s->gz ? " (after gunzip)" : "";
    unsigned char hdr[4 + 4 * 3];
    size_t got;
    DDGAN_TRY(src_read(s, hdr, 4, &got));
    if (got < 4)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: truncated: %zu bytes%s, the IDX magic alone needs 4",
                         path, got, comp);
    if (hdr[0] != 0 || hdr[1] != 0 || !idx_type_name(hdr[2]))
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: bad magic %02x %02x %02x %02x: not an IDX file "
                         "(expected 00 00 08 %02x)", path, hdr[0], hdr[1], hdr[2], hdr[3], want_ndim);
    if (hdr[2] != IDX_UBYTE)
        return DDGAN_ERR(DDGAN_ERR_UNSUPPORTED, "idx: %s: element type 0x%02x (%s) is not supported: "
                         "only unsigned bytes (0x08)", path, hdr[2], idx_type_name(hdr[2]));
    if (hdr[3] != (unsigned)want_ndim)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: %u dimensions, expected %d (%s)", path, hdr[3],
                         want_ndim, want_ndim == 3 ? "images [N, H, W]" : "labels [N]");
    const size_t dlen = 4u * (size_t)want_ndim;
    DDGAN_TRY(src_read(s, hdr + 4, dlen, &got));
    if (got < dlen)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: truncated in the header: %zu of the %zu bytes of "
                         "dimension sizes%s", path, got, dlen, comp);
    uint64_t payload = 1;
    for (int d = 0; d < want_ndim; d++) {
        const unsigned char *p = hdr + 4 + 4 * d;
        dims[d] = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
        if (dims[d] == 0)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: dimension %d is 0 (empty)", path, d);
        uint64_t lim = d == 0 ? (uint64_t)DDGAN_DATA_MAX_EXAMPLES : (uint64_t)DDGAN_DATA_MAX_SIDE;
        if (dims[d] > lim)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: dimension %d is %" PRIu32 ", more than the "
                             "%" PRIu64 " this reader accepts", path, d, dims[d], lim);
        payload *= dims[d]; /* <= 2^31 * 2^14 * 2^14: no overflow */
    }
    if (payload > DDGAN_DATA_MAX_BYTES)
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: the dimensions declare %" PRIu64 " bytes of data, "
                         "more than the %" PRIu64 " this reader accepts", path, payload,
                         DDGAN_DATA_MAX_BYTES);
    const uint64_t header = 4 + dlen;
    if (!s->gz) {
        uint64_t have = s->file_size > header ? s->file_size - header : 0;
        if (have < payload)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: truncated: the dimensions declare %" PRIu64
                             " bytes of data but the file has %" PRIu64 " after its header", path,
                             payload, have);
        if (have > payload)
            return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: %" PRIu64 " unexpected bytes after the %" PRIu64
                             " bytes of data the dimensions declare", path, have - payload, payload);
    } else if (payload / DEFLATE_MAX_RATIO > s->file_size) {
        return DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: the dimensions declare %" PRIu64 " bytes of data, "
                         "more than a %" PRIu64 "-byte gzip file can hold (truncated or corrupt)", path,
                         payload, s->file_size);
    }
    uint8_t *buf = ddgan__malloc((size_t)payload, "idx: data");
    if (!buf)
        return DDGAN_ERR_OUT_OF_MEMORY;
    ddgan_status_t st = src_read(s, buf, (size_t)payload, &got);
    if (st == DDGAN_OK && got < payload)
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: truncated: the dimensions declare %" PRIu64 " bytes "
                       "of data but only %zu follow the header%s", path, payload, got, comp);
    if (st == DDGAN_OK && s->gz) {
        unsigned char extra[64];
        st = src_read(s, extra, sizeof extra, &got);
        if (st == DDGAN_OK && got > 0)
            st = DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s: unexpected bytes after the %" PRIu64 " bytes of "
                           "data the dimensions declare%s", path, payload, comp);
    }
    if (st != DDGAN_OK) {
        ddgan__free(buf);
        return st;
    }
    *data = buf;
    *len = (size_t)payload;
    return DDGAN_OK;
}

ddgan_status_t ddgan__data_idx_read(const char *path, int want_ndim, uint32_t dims[3], uint8_t **data,
                                    size_t *len)
{
    *data = NULL;
    *len = 0;
    if (want_ndim < 1 || want_ndim > 3)
        return DDGAN_ERR(DDGAN_ERR_INTERNAL, "idx: %d dimensions requested", want_ndim);
    byte_src s;
    DDGAN_TRY(src_open(&s, path));
    ddgan_status_t st = idx_parse(&s, want_ndim, dims, data, len);
    src_close(&s);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Folder look-up and the dataset source                                    */
/* ------------------------------------------------------------------------ */

/* <dir>/<prefix><split>-<what>-idx<nd>-ubyte[.gz] (also the "<split>-<what>.idx<nd>-ubyte" spelling). */
static ddgan_status_t find_idx(const char *dir, const char *prefix, const char *split,
                               const char *what, int nd, char **out)
{
    *out = NULL;
    char name[512];
    for (int k = 0; k < 4; k++) {
        switch (k) {
        case 0: snprintf(name, sizeof name, "%s%s-%s-idx%d-ubyte.gz", prefix, split, what, nd); break;
        case 1: snprintf(name, sizeof name, "%s%s-%s-idx%d-ubyte", prefix, split, what, nd); break;
        case 2: snprintf(name, sizeof name, "%s%s-%s.idx%d-ubyte.gz", prefix, split, what, nd); break;
        default: snprintf(name, sizeof name, "%s%s-%s.idx%d-ubyte", prefix, split, what, nd); break;
        }
        char *p = ddgan__data_join(dir, name);
        if (!p)
            return DDGAN_ERR_OUT_OF_MEMORY;
        if (ddgan__data_path_kind(p) == 0) {
            *out = p;
            return DDGAN_OK;
        }
        ddgan__free(p);
    }
    return DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: no %s%s-%s-idx%d-ubyte[.gz] in this folder", dir, prefix,
                     split, what, nd);
}

ddgan_status_t ddgan__data_open_idx(ddgan_data_source **out, const ddgan_data_config *cfg,
                                    const char *fn)
{
    *out = NULL;
    if (!cfg->path)
        return DDGAN_ERR(DDGAN_ERR_INVALID_ARGUMENT, "%s: IDX data needs a path (a folder or an "
                         "images file)", fn);
    char *img_path = NULL, *lab_path = NULL;
    int kind = ddgan__data_path_kind(cfg->path);
    if (kind < 0) {
        char eb[128];
        return DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: %s", cfg->path, ddgan__data_strerror(errno, eb));
    }
    ddgan_status_t st = DDGAN_OK;
    if (kind == 1) {
        const char *prefix = cfg->idx_prefix ? cfg->idx_prefix : "";
        const char *split = cfg->split == DDGAN_DATA_SPLIT_TEST ? "t10k" : "train";
        /* EMNIST names its test split "test" */
        st = find_idx(cfg->path, prefix, split, "images", 3, &img_path);
        if (st != DDGAN_OK && cfg->split == DDGAN_DATA_SPLIT_TEST) {
            ddgan_status_t st2 = find_idx(cfg->path, prefix, "test", "images", 3, &img_path);
            if (st2 == DDGAN_OK) {
                split = "test";
                st = DDGAN_OK;
            } else if (st2 == DDGAN_ERR_IO) {
                st = DDGAN_ERR(DDGAN_ERR_IO, "idx: %s: no %st10k-images-idx3-ubyte[.gz] (nor %stest-"
                               "images-idx3-ubyte[.gz]) in this folder", cfg->path, prefix, prefix);
            } else {
                st = st2;
            }
        }
        if (st == DDGAN_OK)
            st = find_idx(cfg->path, prefix, split, "labels", 1, &lab_path);
    } else {
        img_path = ddgan__strdup(cfg->path, "idx: path");
        if (!img_path)
            st = DDGAN_ERR_OUT_OF_MEMORY;
        if (st == DDGAN_OK && cfg->labels_path) {
            lab_path = ddgan__strdup(cfg->labels_path, "idx: path");
            if (!lab_path)
                st = DDGAN_ERR_OUT_OF_MEMORY;
        }
    }
    ddgan_data_source *s = NULL;
    uint8_t *pix = NULL, *lab = NULL;
    uint32_t idim[3] = {0, 0, 0}, ldim[3] = {0, 0, 0};
    size_t ilen = 0, llen = 0;
    if (st == DDGAN_OK)
        st = ddgan__data_idx_read(img_path, 3, idim, &pix, &ilen);
    if (st == DDGAN_OK && lab_path)
        st = ddgan__data_idx_read(lab_path, 1, ldim, &lab, &llen);
    if (st == DDGAN_OK && lab_path && ldim[0] != idim[0])
        st = DDGAN_ERR(DDGAN_ERR_FORMAT, "idx: %s holds %" PRIu32 " labels but %s holds %" PRIu32
                       " images", lab_path, ldim[0], img_path, idim[0]);
    if (st == DDGAN_OK)
        st = ddgan__data_source_new(&s, DDGAN_SRC_U8);
    if (st == DDGAN_OK) {
        int64_t n = idim[0];
        if (cfg->num_examples > 0 && cfg->num_examples < n)
            n = cfg->num_examples;
        s->n = n;
        s->c = 1;
        s->h = (int)idim[1];
        s->w = (int)idim[2];
        if (cfg->transpose) {
            /* swap H and W of every image (EMNIST stores them column-major) */
            const size_t H = idim[1], W = idim[2];
            uint8_t *t = ddgan__malloc(H * W, "idx: transpose buffer");
            if (!t) {
                st = DDGAN_ERR_OUT_OF_MEMORY;
            } else {
                for (int64_t i = 0; i < n; i++) {
                    uint8_t *img = pix + (size_t)i * H * W;
                    memcpy(t, img, H * W);
                    for (size_t y = 0; y < W; y++)
                        for (size_t x = 0; x < H; x++)
                            img[y * H + x] = t[x * W + y];
                }
                ddgan__free(t);
                s->h = (int)idim[2];
                s->w = (int)idim[1];
            }
        }
        s->pixels = pix;
        pix = NULL;
        if (st == DDGAN_OK && lab) {
            s->labels = ddgan__malloc((size_t)n * sizeof(int64_t), "idx: labels");
            if (!s->labels)
                st = DDGAN_ERR_OUT_OF_MEMORY;
            else
                for (int64_t i = 0; i < n; i++)
                    s->labels[i] = lab[i];
            s->labels_file = lab_path;
            lab_path = NULL;
        }
    }
    if (st == DDGAN_OK)
        st = ddgan__data_u8_transform(s, cfg, img_path);
    ddgan__free(pix);
    ddgan__free(lab);
    ddgan__free(img_path);
    ddgan__free(lab_path);
    if (st != DDGAN_OK) {
        ddgan__data_source_free(s);
        return st;
    }
    *out = s;
    return DDGAN_OK;
}
