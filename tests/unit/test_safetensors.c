/* Tests of the safetensors reader/writer (lib/io/safetensors.c). */
#include "test_util.h"

#include "core/alloc.h"
#include "io/safetensors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Number of entries (other than . and ..) in a directory. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* A file image: le64(strlen(header) + pad spaces) + header + spaces + data_len bytes (0..). */
static unsigned char *make_image(const char *header, size_t pad, size_t data_len, size_t *len)
{
    size_t h = strlen(header) + pad;
    *len = 8 + h + data_len;
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, strlen(header));
    memset(b + 8 + strlen(header), ' ', pad);
    for (size_t i = 0; i < data_len; i++)
        b[8 + h + i] = (unsigned char)i;
    return b;
}

/* The writer used by the round-trip tests: several dtypes, a scalar, an
 * empty tensor, a tensor made unaligned by an odd-sized one before it. */
typedef struct sample {
    double f64[4];
    float f32[6];
    int64_t i64[3];
    uint8_t u8[3];
    uint16_t bf16[3];
    uint16_t f16[4];
    int32_t i32[2];
    uint8_t boolean[2];
    double scalar;
    float empty[1];
} sample;

static void fill_sample(sample *s)
{
    const double f64[4] = {0.1, -0.0, 5e-324, 1.7976931348623157e308};
    const float f32[6] = {1.0f, -2.5f, 3.14159274f, 1e-45f, 0.0f, 65504.0f};
    memcpy(s->f64, f64, sizeof f64);
    memcpy(s->f32, f32, sizeof f32);
    /* A NaN with a payload must come back bit-exact through raw reads. */
    uint32_t nan_bits = 0x7fc12345u;
    memcpy(&s->f32[4], &nan_bits, 4);
    s->i64[0] = INT64_MIN;
    s->i64[1] = -1;
    s->i64[2] = INT64_MAX;
    s->u8[0] = 0;
    s->u8[1] = 7;
    s->u8[2] = 255;
    s->bf16[0] = 0x3FC0; /* 1.5 */
    s->bf16[1] = 0xC000; /* -2 */
    s->bf16[2] = 0x7F80; /* +inf */
    s->f16[0] = 0x3C00;  /* 1 */
    s->f16[1] = 0x7BFF;  /* 65504 */
    s->f16[2] = 0x0001;  /* 2^-24, smallest subnormal */
    s->f16[3] = 0xC200;  /* -3 */
    s->i32[0] = -123456;
    s->i32[1] = 2147483647;
    s->boolean[0] = 1;
    s->boolean[1] = 0;
    s->scalar = 0.25;
    s->empty[0] = 0;
}

static void build_sample(ddgan_st_writer *w, const sample *s)
{
    const int64_t sh4[] = {4}, sh23[] = {2, 3}, sh3[] = {3}, sh2[] = {2}, sh22[] = {2, 2};
    const int64_t sh_empty[] = {3, 0, 2};
    /* Added out of order: the writer sorts by name. */
    assert_int_equal(ddgan__st_writer_add(w, "w.f32", DDGAN_ST_F32, sh23, 2, s->f32), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "a.u8", DDGAN_ST_U8, sh3, 1, s->u8), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "b.f64", DDGAN_ST_F64, sh4, 1, s->f64), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "c.i64", DDGAN_ST_I64, sh3, 1, s->i64), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "d.bf16", DDGAN_ST_BF16, sh3, 1, s->bf16), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "e.f16", DDGAN_ST_F16, sh22, 2, s->f16), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "f.i32", DDGAN_ST_I32, sh2, 1, s->i32), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "g.bool", DDGAN_ST_BOOL, sh2, 1, s->boolean), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "scalar", DDGAN_ST_F64, NULL, 0, &s->scalar), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "z.empty", DDGAN_ST_F32, sh_empty, 3, NULL), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add_metadata(w, "format", "1"), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add_metadata(w, "config", "{\"nf\": 16, \"name\": \"caf\xc3\xa9\\n\"}"),
                     DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add_metadata(w, "empty", ""), DDGAN_OK);
}

/* Checks everything about a file made by build_sample. */
static void check_sample(const ddgan_st_file *f, const sample *s)
{
    static const char *names[] = {"a.u8",   "b.f64",  "c.i64",  "d.bf16", "e.f16",
                                  "f.i32",  "g.bool", "scalar", "w.f32",  "z.empty"};
    assert_int_equal(ddgan__st_tensor_count(f), 10);
    uint64_t expect_begin = 0;
    for (size_t i = 0; i < 10; i++) {
        const ddgan_st_tensor_info *t = ddgan__st_tensor(f, i);
        assert_non_null(t);
        assert_string_equal(t->name, names[i]);
        assert_ptr_equal(ddgan__st_find(f, names[i]), t);
        /* Laid out contiguously in name order. */
        assert_true(t->data_begin == expect_begin);
        assert_true(t->data_end - t->data_begin == t->nbytes);
        expect_begin = t->data_end;
    }
    assert_null(ddgan__st_tensor(f, 10));
    assert_null(ddgan__st_find(f, "nope"));
    assert_null(ddgan__st_find(f, "a.u"));

    const ddgan_st_tensor_info *t = ddgan__st_find(f, "w.f32");
    assert_int_equal(t->dtype, DDGAN_ST_F32);
    assert_int_equal(t->ndim, 2);
    assert_true(t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 0);
    assert_true(t->numel == 6 && t->nbytes == 24);
    /* After a.u8 (3 bytes) etc. the F32 data is not 4-aligned: reads still work. */
    t = ddgan__st_find(f, "scalar");
    assert_int_equal(t->ndim, 0);
    assert_true(t->numel == 1 && t->nbytes == 8);
    t = ddgan__st_find(f, "z.empty");
    assert_int_equal(t->ndim, 3);
    assert_true(t->numel == 0 && t->nbytes == 0);
    assert_true(t->shape[0] == 3 && t->shape[1] == 0 && t->shape[2] == 2);

    /* Raw reads are bit-exact. */
    float f32[6];
    double f64[4], sc = 0;
    int64_t i64[3];
    uint8_t u8[3], bl[2];
    uint16_t bf16[3], f16[4];
    int32_t i32[2];
    assert_int_equal(ddgan__st_read_raw(f, "w.f32", f32, sizeof f32), DDGAN_OK);
    assert_memory_equal(f32, s->f32, sizeof f32);
    assert_int_equal(ddgan__st_read_raw(f, "b.f64", f64, sizeof f64), DDGAN_OK);
    assert_memory_equal(f64, s->f64, sizeof f64);
    assert_int_equal(ddgan__st_read_raw(f, "c.i64", i64, sizeof i64), DDGAN_OK);
    assert_memory_equal(i64, s->i64, sizeof i64);
    assert_int_equal(ddgan__st_read_raw(f, "a.u8", u8, sizeof u8), DDGAN_OK);
    assert_memory_equal(u8, s->u8, sizeof u8);
    assert_int_equal(ddgan__st_read_raw(f, "d.bf16", bf16, sizeof bf16), DDGAN_OK);
    assert_memory_equal(bf16, s->bf16, sizeof bf16);
    assert_int_equal(ddgan__st_read_raw(f, "e.f16", f16, sizeof f16), DDGAN_OK);
    assert_memory_equal(f16, s->f16, sizeof f16);
    assert_int_equal(ddgan__st_read_raw(f, "f.i32", i32, sizeof i32), DDGAN_OK);
    assert_memory_equal(i32, s->i32, sizeof i32);
    assert_int_equal(ddgan__st_read_raw(f, "g.bool", bl, sizeof bl), DDGAN_OK);
    assert_memory_equal(bl, s->boolean, sizeof bl);
    assert_int_equal(ddgan__st_read_raw(f, "scalar", &sc, sizeof sc), DDGAN_OK);
    assert_true(sc == 0.25);
    assert_int_equal(ddgan__st_read_raw(f, "z.empty", NULL, 0), DDGAN_OK);

    /* Same-type typed reads are bit-exact too. */
    assert_int_equal(ddgan__st_read_f32(f, "w.f32", f32, 6), DDGAN_OK);
    assert_memory_equal(f32, s->f32, sizeof f32);
    assert_int_equal(ddgan__st_read_f64(f, "b.f64", f64, 4), DDGAN_OK);
    assert_memory_equal(f64, s->f64, sizeof f64);
    assert_int_equal(ddgan__st_read_i64(f, "c.i64", i64, 3), DDGAN_OK);
    assert_memory_equal(i64, s->i64, sizeof i64);
    assert_int_equal(ddgan__st_read_f32(f, "z.empty", NULL, 0), DDGAN_OK);

    /* Metadata in insertion order, and by key. */
    assert_int_equal(ddgan__st_metadata_count(f), 3);
    const char *k = NULL, *v = NULL;
    assert_int_equal(ddgan__st_metadata_at(f, 0, &k, &v), DDGAN_OK);
    assert_string_equal(k, "format");
    assert_string_equal(v, "1");
    assert_int_equal(ddgan__st_metadata_at(f, 1, &k, &v), DDGAN_OK);
    assert_string_equal(k, "config");
    assert_string_equal(v, "{\"nf\": 16, \"name\": \"caf\xc3\xa9\\n\"}");
    assert_string_equal(ddgan__st_metadata_get(f, "empty"), "");
    assert_null(ddgan__st_metadata_get(f, "absent"));
    tu_assert_status(ddgan__st_metadata_at(f, 3, &k, &v), DDGAN_ERR_INVALID_ARGUMENT, "out of range");
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

static void test_round_trip_file(void **state)
{
    (void)state;
    sample s;
    fill_sample(&s);
    ddgan_st_writer *w = NULL;
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    build_sample(w, &s);

    char *dir = tu_make_tmpdir();
    char *path = join(dir, "model.safetensors");
    assert_int_equal(ddgan__st_writer_write(w, path), DDGAN_OK);

    /* The file is byte-identical to the in-memory serialization. */
    unsigned char *img = NULL;
    size_t img_len = 0, file_len = 0;
    assert_int_equal(ddgan__st_writer_serialize(w, &img, &img_len), DDGAN_OK);
    unsigned char *file = tu_read_file(path, &file_len);
    assert_non_null(file);
    assert_int_equal(file_len, img_len);
    assert_memory_equal(file, img, img_len);
    /* Header: length multiple of 8, starts with '{', "__metadata__" first, space padding. */
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | file[i];
    assert_true(n % 8 == 0);
    assert_int_equal(file[8], '{');
    const char *head = "{\"__metadata__\":{\"format\":\"1\"";
    assert_memory_equal(file + 8, head, strlen(head));
    ddgan__free(img);
    free(file);
    ddgan__st_writer_destroy(w);

    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    assert_string_equal(ddgan__st_name(f), path);
    check_sample(f, &s);

    /* Conversions. */
    float f32[4];
    double f64[6];
    int64_t i64[6];
    assert_int_equal(ddgan__st_read_f32(f, "b.f64", f32, 4), DDGAN_ERR_NUMERICAL); /* DBL_MAX */
    tu_assert_status(ddgan__st_read_f32(f, "b.f64", f32, 4), DDGAN_ERR_NUMERICAL, "float32 range");
    assert_int_equal(ddgan__st_read_f64(f, "w.f32", f64, 6), DDGAN_OK);
    for (int i = 0; i < 6; i++)
        assert_true(i == 4 ? isnan(f64[i]) : f64[i] == (double)s.f32[i]);
    assert_int_equal(ddgan__st_read_f32(f, "d.bf16", f32, 3), DDGAN_OK);
    assert_true(f32[0] == 1.5f && f32[1] == -2.0f && isinf(f32[2]) && f32[2] > 0);
    assert_int_equal(ddgan__st_read_f32(f, "e.f16", f32, 4), DDGAN_OK);
    assert_true(f32[0] == 1.0f && f32[1] == 65504.0f && f32[2] == ldexpf(1.0f, -24) && f32[3] == -3.0f);
    assert_int_equal(ddgan__st_read_f64(f, "c.i64", f64, 3), DDGAN_OK);
    assert_true(f64[0] == -9223372036854775808.0 && f64[1] == -1.0);
    assert_int_equal(ddgan__st_read_i64(f, "f.i32", i64, 2), DDGAN_OK);
    assert_true(i64[0] == -123456 && i64[1] == 2147483647);
    assert_int_equal(ddgan__st_read_i64(f, "a.u8", i64, 3), DDGAN_OK);
    assert_true(i64[0] == 0 && i64[1] == 7 && i64[2] == 255);
    assert_int_equal(ddgan__st_read_i64(f, "g.bool", i64, 2), DDGAN_OK);
    assert_true(i64[0] == 1 && i64[1] == 0);
    assert_int_equal(ddgan__st_read_i64(f, "e.f16", i64, 4), DDGAN_ERR_NUMERICAL); /* 2^-24 */
    tu_assert_status(ddgan__st_read_i64(f, "b.f64", i64, 4), DDGAN_ERR_NUMERICAL, "element 0");
    assert_int_equal(ddgan__st_read_i64(f, "scalar", i64, 1), DDGAN_ERR_NUMERICAL); /* 0.25 */

    /* Buffer checks and missing tensors. */
    tu_assert_status(ddgan__st_read_raw(f, "w.f32", f32, 8), DDGAN_ERR_INVALID_ARGUMENT,
                     "tensor 'w.f32' is 24 bytes but the buffer is 8 bytes");
    tu_assert_status(ddgan__st_read_f32(f, "w.f32", f32, 4), DDGAN_ERR_INVALID_ARGUMENT,
                     "has 6 elements but the buffer holds 4");
    tu_assert_status(ddgan__st_read_f32(f, "nope", f32, 4), DDGAN_ERR_FORMAT, "no tensor 'nope'");
    const ddgan_st_tensor_info *t = NULL;
    tu_assert_status(ddgan__st_get(f, "nope", &t), DDGAN_ERR_FORMAT, "model.safetensors: no tensor");
    assert_int_equal(ddgan__st_get(f, "scalar", &t), DDGAN_OK);
    assert_string_equal(t->name, "scalar");
    ddgan__st_close(f);
    ddgan__st_close(NULL);

    tu_rmdir_recursive(dir);
    free(path);
    free(dir);
}

static void test_round_trip_memory(void **state)
{
    (void)state;
    sample s;
    fill_sample(&s);
    ddgan_st_writer *w = NULL;
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    build_sample(w, &s);
    unsigned char *img = NULL;
    size_t len = 0;
    assert_int_equal(ddgan__st_writer_serialize(w, &img, &len), DDGAN_OK);
    ddgan__st_writer_destroy(w);

    /* An exactly sized heap copy, so ASan sees any read past the end. */
    unsigned char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, img, len);
    ddgan__free(img);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open_memory(&f, copy, len, "mem.st"), DDGAN_OK);
    assert_string_equal(ddgan__st_name(f), "mem.st");
    check_sample(f, &s);
    ddgan__st_close(f);
    assert_int_equal(ddgan__st_open_memory(&f, copy, len, NULL), DDGAN_OK);
    assert_string_equal(ddgan__st_name(f), "<memory>");
    ddgan__st_close(f);
    free(copy);

    /* Minimal valid files. */
    size_t n;
    unsigned char *b = make_image("{}", 6, 0, &n);
    assert_int_equal(ddgan__st_open_memory(&f, b, n, "empty.st"), DDGAN_OK);
    assert_int_equal(ddgan__st_tensor_count(f), 0);
    assert_int_equal(ddgan__st_metadata_count(f), 0);
    assert_null(ddgan__st_metadata_get(f, "x"));
    ddgan__st_close(f);
    free(b);
    /* Zero-sized tensors may share an offset; unknown-to-us F8 types are accepted. */
    b = make_image("{\"x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                   "\"y\":{\"dtype\":\"I64\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
                   "\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                   0, 2, &n);
    assert_int_equal(ddgan__st_open_memory(&f, b, n, "zero.st"), DDGAN_OK);
    assert_int_equal(ddgan__st_tensor_count(f), 3);
    float dummy[2];
    tu_assert_status(ddgan__st_read_f32(f, "q", dummy, 2), DDGAN_ERR_UNSUPPORTED, "F8_E4M3");
    ddgan__st_close(f);
    free(b);
    /* A U64 above INT64_MAX does not fit int64. */
    b = make_image("{\"u\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 0, 8, &n);
    memset(b + n - 8, 0xff, 8);
    assert_int_equal(ddgan__st_open_memory(&f, b, n, "u64.st"), DDGAN_OK);
    int64_t i64;
    tu_assert_status(ddgan__st_read_i64(f, "u", &i64, 1), DDGAN_ERR_NUMERICAL, "does not fit int64");
    double d;
    assert_int_equal(ddgan__st_read_f64(f, "u", &d, 1), DDGAN_OK);
    assert_true(d == 18446744073709551615.0);
    ddgan__st_close(f);
    free(b);
}

/* ------------------------------------------------------------------------ */
/* The real vectors                                                         */
/* ------------------------------------------------------------------------ */

static void test_real_schedule_file(void **state)
{
    (void)state;
    const char *p = tu_shared_path("spec/vectors/schedule_T4.safetensors");
    TU_REQUIRE_SHARED(p);
    char *path = strdup(p);
    assert_non_null(path);
    ddgan_st_file *f = NULL;
    ddgan_status_t st = ddgan__st_open(&f, path);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    assert_int_equal(ddgan__st_tensor_count(f), 48);

    const ddgan_st_tensor_info *t = ddgan__st_find(f, "betas");
    assert_non_null(t);
    assert_int_equal(t->dtype, DDGAN_ST_F32);
    assert_int_equal(t->ndim, 1);
    assert_true(t->shape[0] == 5);
    float betas[5];
    assert_int_equal(ddgan__st_read_f32(f, "betas", betas, 5), DDGAN_OK);
    assert_true(betas[0] == 1e-8f);
    assert_true(fabsf(betas[1] - 0.4782553017139435f) < 1e-7f);
    assert_true(betas[4] > 0.98f && betas[4] < 0.99f);

    t = ddgan__st_find(f, "t");
    assert_non_null(t);
    assert_int_equal(t->dtype, DDGAN_ST_F64);
    assert_true(t->ndim == 1 && t->shape[0] == 5);
    double tt[5];
    assert_int_equal(ddgan__st_read_f64(f, "t", tt, 5), DDGAN_OK);
    assert_true(tt[0] == 0.001);
    assert_true(tt[4] == 1.0);
    assert_true(tt[2] == 0.5005);

    t = ddgan__st_find(f, "example.x0");
    assert_non_null(t);
    assert_true(t->ndim == 4 && t->shape[0] == 4 && t->shape[1] == 1 && t->shape[2] == 3 && t->shape[3] == 3);
    int64_t ti[4];
    assert_int_equal(ddgan__st_read_i64(f, "example.t", ti, 4), DDGAN_OK);
    assert_true(ti[0] == 0 && ti[1] == 1 && ti[2] == 2 && ti[3] == 3);

    assert_string_equal(ddgan__st_metadata_get(f, "num_timesteps"), "4");
    assert_string_equal(ddgan__st_metadata_get(f, "beta_min"), "0.1");
    assert_string_equal(ddgan__st_metadata_get(f, "beta_max"), "20.0");
    assert_string_equal(ddgan__st_metadata_get(f, "eps_small"), "1e-3");
    assert_int_equal(ddgan__st_metadata_count(f), 7);
    ddgan__st_close(f);

    /* The other vector files validate too (they come from another writer). */
    const char *others[] = {"spec/vectors/gen_tiny.safetensors", "spec/vectors/disc_tiny.safetensors",
                            "spec/vectors/train_step_tiny.safetensors"};
    for (size_t i = 0; i < 3; i++) {
        const char *q = tu_shared_path(others[i]);
        if (!q)
            continue;
        st = ddgan__st_open(&f, q);
        if (st != DDGAN_OK)
            print_error("%s\n", ddgan_last_error());
        assert_int_equal(st, DDGAN_OK);
        assert_true(ddgan__st_tensor_count(f) > 50);
        ddgan__st_close(f);
    }
    free(path);
}

/* ------------------------------------------------------------------------ */
/* Corrupt files                                                            */
/* ------------------------------------------------------------------------ */

static void expect_format(const unsigned char *img, size_t len, const char *needle)
{
    /* Exactly sized heap copy so ASan catches overreads. */
    unsigned char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, img, len);
    ddgan_st_file *f = (ddgan_st_file *)1;
    ddgan_clear_last_error();
    ddgan_status_t st = ddgan__st_open_memory(&f, copy, len, "bad.st");
    free(copy);
    if (st != DDGAN_ERR_FORMAT)
        print_error("expected FORMAT (%s), got %d: %s\n", needle ? needle : "-", (int)st, ddgan_last_error());
    tu_assert_status(st, DDGAN_ERR_FORMAT, needle);
    /* Every message names the file. */
    tu_assert_status(st, DDGAN_ERR_FORMAT, "bad.st");
    assert_null(f);
}

static void test_corrupt_table(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        size_t data_len;
        const char *needle;
    } cases[] = {
        {"{not json}", 0, "header: byte 1: expected a string key"},
        {"[1, 2]", 0, "header is an array, not a JSON object"},
        {"\"str\"", 0, "header is a string, not a JSON object"},
        {" {}", 0, "must start with '{'"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a': missing field 'data_offsets'"},
        {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "missing field 'dtype'"},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "missing field 'shape'"},
        {"{\"a\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'F17'"},
        {"{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'f32'"},
        {"{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype is a number, not a string"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", 8,
         "unknown field 'extra'"},
        {"{\"a.weight\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,40]}}", 40,
         "tensor 'a.weight': shape [3, 4] x F32 is 48 bytes but data_offsets [0, 40] span 40"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "tensor 'b': data_offsets [4, 12] overlap tensor 'a', which ends at 8"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         8, "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
         20, "gap of 4 bytes between tensor 'a' (ends at 8) and tensor 'b' (begins at 12)"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
         "the first tensor 'a' begins at 4, not 0"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4,
         "tensor 'a': data_offsets [0, 8] extend past the end of the file"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12,
         "4 trailing bytes after the last tensor"},
        {"{}", 3, "3 trailing bytes"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}", 0,
         "the number of elements overflows 64 bits"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,0]}}", 0,
         "byte size overflows 64 bits"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape[0] = -2 is negative"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
         "tensor 'a': shape[0]: json: number at byte 29 (2) is not written as an integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
         "shape[0] is a string, not an integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
         "shape is a number, not an array"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
         "shape has 9 dims, at most 8"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
         "data_offsets must be an array of 2 integers"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,16]}}", 8, "array of 2"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "end before they begin"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8,
         "data_offsets[0] = -8 is negative"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],"
         "\"data_offsets\":[9223372036854775808,9223372036854775808]}}",
         0, "data_offsets[0]: json: integer at byte 48 (9.2233720368547758e+18) is outside the int64 range"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         16, "duplicate key \"a\""},
        {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ 'k' is a number, not a string"},
        {"{\"__metadata__\":{\"k\":null}}", 0, "'k' is null, not a string"},
        {"{\"__metadata__\":[\"k\"]}", 0, "__metadata__ is an array, not an object"},
        {"{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "NUL"},
        {"{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, "NUL"},
        {"{\"a\":5}", 0, "tensor 'a': entry is a number, not an object"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} x", 8, "after the JSON value"},
        {"{\"a\":\"\xff\"}", 0, "invalid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        unsigned char *b = make_image(cases[i].header, 0, cases[i].data_len, &len);
        expect_format(b, len, cases[i].needle);
        free(b);
    }

    /* Length-prefix problems. */
    unsigned char small[16] = {0};
    expect_format(small, 0, "file is 0 bytes, too short");
    expect_format(small, 7, "file is 7 bytes, too short");
    expect_format(small, 8, "header length 0"); /* N = 0: empty header */
    size_t len;
    unsigned char *b = make_image("{}", 6, 0, &len);
    b[0] = 0xe8; /* N = 1000 > file */
    b[1] = 0x03;
    expect_format(b, len, "header length 1000 is larger than the 8 bytes that follow");
    memset(b, 0, 8);
    b[7] = 0x80; /* N = 2^63 */
    expect_format(b, len, "header length 9223372036854775808 exceeds the limit of 100000000 bytes");
    memset(b, 0xff, 8); /* N = 2^64 - 1 */
    expect_format(b, len, "exceeds the limit");
    free(b);
}

static void test_truncation(void **state)
{
    (void)state;
    /* A small valid file; every truncation must be an error, never a crash. */
    ddgan_st_writer *w = NULL;
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    const float x[3] = {1, 2, 3};
    const int64_t k[2] = {7, 8};
    const int64_t sh3[] = {3}, sh2[] = {2};
    assert_int_equal(ddgan__st_writer_add(w, "x", DDGAN_ST_F32, sh3, 1, x), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "k", DDGAN_ST_I64, sh2, 1, k), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add_metadata(w, "m", "v"), DDGAN_OK);
    unsigned char *img = NULL;
    size_t len = 0;
    assert_int_equal(ddgan__st_writer_serialize(w, &img, &len), DDGAN_OK);
    ddgan__st_writer_destroy(w);

    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open_memory(&f, img, len, "ok.st"), DDGAN_OK);
    ddgan__st_close(f);
    for (size_t n = 0; n < len; n++)
        expect_format(img, n, NULL);

    /* Same through real files for a few lengths. */
    char *dir = tu_make_tmpdir();
    char *path = join(dir, "trunc.st");
    const size_t lens[] = {0, 4, 8, 9, len / 2, len - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(tu_write_file(path, img, lens[i]), 0);
        f = (ddgan_st_file *)1;
        tu_assert_status(ddgan__st_open(&f, path), DDGAN_ERR_FORMAT, "trunc.st");
        assert_null(f);
    }
    assert_int_equal(tu_write_file(path, img, len), 0);
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    float xr[3];
    assert_int_equal(ddgan__st_read_f32(f, "x", xr, 3), DDGAN_OK);
    assert_memory_equal(xr, x, sizeof x);
    ddgan__st_close(f);
    ddgan__free(img);
    tu_rmdir_recursive(dir);
    free(path);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

static void test_writer_rejects(void **state)
{
    (void)state;
    ddgan_st_writer *w = NULL;
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    const float x[4] = {0};
    const int64_t sh[] = {4}, neg[] = {2, -1}, huge[] = {INT64_MAX, INT64_MAX},
                  nine[] = {1, 1, 1, 1, 1, 1, 1, 1, 4};
    assert_int_equal(ddgan__st_writer_add(w, "x", DDGAN_ST_F32, sh, 1, x), DDGAN_OK);
    tu_assert_status(ddgan__st_writer_add(w, "x", DDGAN_ST_F32, sh, 1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "duplicate tensor name 'x'");
    tu_assert_status(ddgan__st_writer_add(w, "", DDGAN_ST_F32, sh, 1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "empty tensor name");
    tu_assert_status(ddgan__st_writer_add(w, NULL, DDGAN_ST_F32, sh, 1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "name is NULL");
    tu_assert_status(ddgan__st_writer_add(w, "__metadata__", DDGAN_ST_F32, sh, 1, x),
                     DDGAN_ERR_INVALID_ARGUMENT, "reserved");
    tu_assert_status(ddgan__st_writer_add(w, "bad\xff", DDGAN_ST_F32, sh, 1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "UTF-8");
    tu_assert_status(ddgan__st_writer_add(w, "y", DDGAN_ST_DTYPE_COUNT, sh, 1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "invalid dtype");
    tu_assert_status(ddgan__st_writer_add(w, "y", (ddgan_st_dtype)-1, sh, 1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "invalid dtype -1");
    tu_assert_status(ddgan__st_writer_add(w, "y", DDGAN_ST_F32, nine, 9, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "ndim 9");
    tu_assert_status(ddgan__st_writer_add(w, "y", DDGAN_ST_F32, sh, -1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "ndim -1");
    tu_assert_status(ddgan__st_writer_add(w, "y", DDGAN_ST_F32, NULL, 1, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "shape is NULL");
    tu_assert_status(ddgan__st_writer_add(w, "y", DDGAN_ST_F32, neg, 2, x), DDGAN_ERR_INVALID_ARGUMENT,
                     "shape[1] = -1 is negative");
    tu_assert_status(ddgan__st_writer_add(w, "y", DDGAN_ST_F32, sh, 1, NULL), DDGAN_ERR_INVALID_ARGUMENT,
                     "data is NULL");
    tu_assert_status(ddgan__st_writer_add(w, "y", DDGAN_ST_U8, huge, 2, x), DDGAN_ERR_OUT_OF_MEMORY,
                     "overflows");
    tu_assert_status(ddgan__st_writer_add_metadata(w, "k", NULL), DDGAN_ERR_INVALID_ARGUMENT, "NULL");
    assert_int_equal(ddgan__st_writer_add_metadata(w, "k", "v"), DDGAN_OK);
    tu_assert_status(ddgan__st_writer_add_metadata(w, "k", "v2"), DDGAN_ERR_INVALID_ARGUMENT,
                     "duplicate metadata key 'k'");
    tu_assert_status(ddgan__st_writer_add_metadata(w, "k2", "\xc3"), DDGAN_ERR_INVALID_ARGUMENT, "UTF-8");

    /* The rejected calls left the writer usable: exactly x and k. */
    unsigned char *img = NULL;
    size_t len = 0;
    assert_int_equal(ddgan__st_writer_serialize(w, &img, &len), DDGAN_OK);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open_memory(&f, img, len, "w.st"), DDGAN_OK);
    assert_int_equal(ddgan__st_tensor_count(f), 1);
    assert_int_equal(ddgan__st_metadata_count(f), 1);
    ddgan__st_close(f);
    ddgan__free(img);
    ddgan__st_writer_destroy(w);
    ddgan__st_writer_destroy(NULL);

    /* Many tensors added in reverse order come out sorted. */
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    const int64_t one[] = {1};
    static float vals[300];
    for (int i = 299; i >= 0; i--) {
        char name[32];
        snprintf(name, sizeof name, "t%03d", i);
        vals[i] = (float)i;
        assert_int_equal(ddgan__st_writer_add(w, name, DDGAN_ST_F32, one, 1, &vals[i]), DDGAN_OK);
    }
    assert_int_equal(ddgan__st_writer_serialize(w, &img, &len), DDGAN_OK);
    ddgan__st_writer_destroy(w);
    assert_int_equal(ddgan__st_open_memory(&f, img, len, "many.st"), DDGAN_OK);
    assert_int_equal(ddgan__st_tensor_count(f), 300);
    for (size_t i = 0; i < 300; i++) {
        const ddgan_st_tensor_info *t = ddgan__st_tensor(f, i);
        assert_true(t->data_begin == 4 * i);
        float v;
        assert_int_equal(ddgan__st_read_f32(f, t->name, &v, 1), DDGAN_OK);
        assert_true(v == (float)i);
    }
    ddgan__st_close(f);
    ddgan__free(img);
}

static void test_atomic_write(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char *path = join(dir, "ckpt.safetensors");
    const int64_t sh[] = {2};
    const double a[2] = {1.0, 2.0};
    const int64_t b[2] = {3, 4};

    ddgan_st_writer *w1 = NULL, *w2 = NULL;
    assert_int_equal(ddgan__st_writer_create(&w1), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w1, "a", DDGAN_ST_F64, sh, 1, a), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_write(w1, path), DDGAN_OK);
    assert_int_equal(count_entries(dir), 1);

    /* Overwrite with different content: replaced, no temporary files left. */
    assert_int_equal(ddgan__st_writer_create(&w2), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w2, "b", DDGAN_ST_I64, sh, 1, b), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add_metadata(w2, "step", "2"), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_write(w2, path), DDGAN_OK);
    assert_int_equal(count_entries(dir), 1);
    ddgan_st_file *f = NULL;
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    assert_null(ddgan__st_find(f, "a"));
    int64_t br[2];
    assert_int_equal(ddgan__st_read_i64(f, "b", br, 2), DDGAN_OK);
    assert_true(br[0] == 3 && br[1] == 4);
    assert_string_equal(ddgan__st_metadata_get(f, "step"), "2");
    ddgan__st_close(f);
    /* Writing again with the same writer works too. */
    assert_int_equal(ddgan__st_writer_write(w2, path), DDGAN_OK);
    assert_int_equal(count_entries(dir), 1);

    /* A write that fails at the rename (the target is a directory) removes
     * its temporary file and leaves the target as it was. */
    char *sub = join(dir, "target_dir");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *inner = join(sub, "keep.txt");
    assert_int_equal(tu_write_file(inner, "keep", 4), 0);
    tu_assert_status(ddgan__st_writer_write(w1, sub), DDGAN_ERR_IO, "cannot rename");
    tu_assert_status(ddgan__st_writer_write(w1, sub), DDGAN_ERR_IO, "target_dir");
    assert_int_equal(count_entries(dir), 2); /* ckpt.safetensors + target_dir */
    assert_int_equal(count_entries(sub), 1);
    size_t kl = 0;
    unsigned char *keep = tu_read_file(inner, &kl);
    assert_non_null(keep);
    assert_int_equal(kl, 4);
    free(keep);

    /* The previous checkpoint is untouched by the failed writes. */
    assert_int_equal(ddgan__st_open(&f, path), DDGAN_OK);
    assert_non_null(ddgan__st_find(f, "b"));
    ddgan__st_close(f);

    /* A missing directory is an I/O error naming the path. */
    char *missing = join(dir, "no/such/dir/x.safetensors");
    ddgan_clear_last_error();
    tu_assert_status(ddgan__st_writer_write(w1, missing), DDGAN_ERR_IO, "no/such/dir/x.safetensors");
    tu_assert_status(ddgan__st_writer_write(w1, missing), DDGAN_ERR_IO, "No such file or directory");
    tu_assert_status(ddgan__st_writer_write(w1, ""), DDGAN_ERR_INVALID_ARGUMENT, "path");

    /* Relative path (no directory part) works. */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(ddgan__st_writer_write(w1, "rel.safetensors"), DDGAN_OK);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(count_entries(dir), 3);

    ddgan__st_writer_destroy(w1);
    ddgan__st_writer_destroy(w2);
    tu_rmdir_recursive(dir);
    free(missing);
    free(inner);
    free(sub);
    free(path);
    free(dir);
}

/* Creates an empty file `name` in dir, its modification time `age` seconds ago. */
static void make_file_aged(const char *dir, const char *name, int age)
{
    char *p = join(dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs("partial", f);
    fclose(f);
    struct timespec ts[2];
    clock_gettime(CLOCK_REALTIME, &ts[0]);
    ts[0].tv_sec -= age;
    ts[1] = ts[0];
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    free(p);
}

static int file_exists(const char *dir, const char *name)
{
    char *p = join(dir, name);
    struct stat sb;
    const int r = stat(p, &sb) == 0;
    free(p);
    return r;
}

/* A save removes the temporary files that killed writers of the same path
 * left behind, and nothing else. */
static void test_stale_temporaries(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char *path = join(dir, "ck.safetensors");
    /* a pid that is surely not running: a child that has exited and been reaped */
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);
    char stale[64], fresh[64], alive[64], mine[64];
    snprintf(stale, sizeof stale, "ck.safetensors.tmp.%ld.3", (long)dead);
    snprintf(fresh, sizeof fresh, "ck.safetensors.tmp.%ld.4", (long)dead);
    snprintf(alive, sizeof alive, "ck.safetensors.tmp.%ld.0", (long)getppid());
    snprintf(mine, sizeof mine, "ck.safetensors.tmp.%ld.99", (long)getpid());
    make_file_aged(dir, stale, 3600);   /* dead writer, old: removed */
    make_file_aged(dir, fresh, 0);      /* dead writer, just written: kept */
    make_file_aged(dir, alive, 3600);   /* live writer: kept */
    make_file_aged(dir, mine, 3600);    /* this process: kept */
    make_file_aged(dir, "other.safetensors.tmp.1.1", 3600); /* another path: kept */
    make_file_aged(dir, "ck.safetensors.tmp.x.1", 3600);     /* not the pattern: kept */

    ddgan_st_writer *w = NULL;
    const int64_t sh[] = {2};
    const float a[2] = {1.0f, 2.0f};
    assert_int_equal(ddgan__st_writer_create(&w), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_add(w, "a", DDGAN_ST_F32, sh, 1, a), DDGAN_OK);
    assert_int_equal(ddgan__st_writer_write(w, path), DDGAN_OK);
    ddgan__st_writer_destroy(w);

    assert_false(file_exists(dir, stale));
    assert_true(file_exists(dir, fresh));
    assert_true(file_exists(dir, alive));
    assert_true(file_exists(dir, mine));
    assert_true(file_exists(dir, "other.safetensors.tmp.1.1"));
    assert_true(file_exists(dir, "ck.safetensors.tmp.x.1"));
    assert_true(file_exists(dir, "ck.safetensors"));
    assert_int_equal(count_entries(dir), 6);
    tu_rmdir_recursive(dir);
    free(path);
    free(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char *path = join(dir, "absent.safetensors");
    ddgan_st_file *f = (ddgan_st_file *)1;
    tu_assert_status(ddgan__st_open(&f, path), DDGAN_ERR_IO, "cannot open");
    assert_null(f);
    tu_assert_status(ddgan__st_open(&f, path), DDGAN_ERR_IO, "absent.safetensors");
    tu_assert_status(ddgan__st_open(&f, dir), DDGAN_ERR_IO, "not a regular file");
    /* A FIFO with no writer is rejected, not waited on. */
    char *fifo = join(dir, "fifo");
    if (mkfifo(fifo, 0600) == 0)
        tu_assert_status(ddgan__st_open(&f, fifo), DDGAN_ERR_IO, "not a regular file");
    free(fifo);
    tu_assert_status(ddgan__st_open(&f, NULL), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    tu_assert_status(ddgan__st_open(NULL, path), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    tu_assert_status(ddgan__st_open_memory(&f, NULL, 16, "x"), DDGAN_ERR_INVALID_ARGUMENT, NULL);
    tu_assert_status(ddgan__st_open_memory(&f, NULL, 0, "x"), DDGAN_ERR_FORMAT, "too short");
    tu_rmdir_recursive(dir);
    free(path);
    free(dir);

    /* dtype table helpers */
    ddgan_st_dtype dt;
    assert_true(ddgan__st_dtype_parse("BF16", 4, &dt) && dt == DDGAN_ST_BF16);
    assert_false(ddgan__st_dtype_parse("BF1", 3, &dt));
    assert_string_equal(ddgan__st_dtype_name(DDGAN_ST_U64), "U64");
    assert_null(ddgan__st_dtype_name(DDGAN_ST_DTYPE_COUNT));
    assert_int_equal(ddgan__st_dtype_size(DDGAN_ST_F64), 8);
    assert_int_equal(ddgan__st_dtype_size(DDGAN_ST_DTYPE_COUNT), 0);
}

/* Allocation hooks that fail the n-th allocation. */
typedef struct fail_state {
    int countdown;
} fail_state;

static void *failing_malloc(void *user, size_t bytes)
{
    fail_state *fs = user;
    if (fs->countdown >= 0 && fs->countdown-- == 0)
        return NULL;
    return malloc(bytes);
}

static void plain_free(void *user, void *p)
{
    (void)user;
    free(p);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    sample s;
    fill_sample(&s);
    char *dir = tu_make_tmpdir();
    char *path = join(dir, "oom.safetensors");

    /* Writer build + write, then open from file and memory, with every
     * allocation failing in turn: only OK or OUT_OF_MEMORY, never a leak. */
    int done = 0;
    for (int k = 0; k < 500 && !done; k++) {
        fail_state fs = {k};
        ddgan_alloc_hooks hooks = {failing_malloc, plain_free, &fs};
        ddgan__alloc_set_hooks(&hooks);
        ddgan_st_writer *w = NULL;
        ddgan_status_t st = ddgan__st_writer_create(&w);
        const int64_t sh[] = {4};
        if (st == DDGAN_OK)
            st = ddgan__st_writer_add(w, "b.f64", DDGAN_ST_F64, sh, 1, s.f64);
        if (st == DDGAN_OK)
            st = ddgan__st_writer_add(w, "a.f32", DDGAN_ST_F32, sh, 1, s.f32);
        if (st == DDGAN_OK)
            st = ddgan__st_writer_add_metadata(w, "k", "v");
        if (st == DDGAN_OK)
            st = ddgan__st_writer_write(w, path);
        ddgan_st_file *f = NULL;
        if (st == DDGAN_OK)
            st = ddgan__st_open(&f, path);
        ddgan__st_close(f);
        unsigned char *img = NULL;
        size_t len = 0;
        if (st == DDGAN_OK)
            st = ddgan__st_writer_serialize(w, &img, &len);
        f = NULL;
        if (st == DDGAN_OK)
            st = ddgan__st_open_memory(&f, img, len, "oom");
        ddgan__st_close(f);
        ddgan__free(img);
        ddgan__st_writer_destroy(w);
        ddgan__alloc_set_hooks(NULL);
        if (st == DDGAN_OK)
            done = 1;
        else
            tu_assert_status(st, DDGAN_ERR_OUT_OF_MEMORY, NULL);
        /* Whatever failed, no temporary file is left behind. */
        assert_true(count_entries(dir) <= 1);
    }
    assert_true(done);
    tu_rmdir_recursive(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_file),
        cmocka_unit_test(test_round_trip_memory),
        cmocka_unit_test(test_real_schedule_file),
        cmocka_unit_test(test_corrupt_table),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_stale_temporaries),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
