/* Tests of the datasets and the loader (lib/data, docs/data.md). */
#include "test_util.h"

#include "core/alloc.h"
#include "core/philox.h"
#include "data/data_internal.h"
#include "data/dataset.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#ifdef DDGAN_HAVE_JPEG
#include <jpeglib.h>
#endif

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

static void make_dir(const char *path) { assert_int_equal(mkdir(path, 0755), 0); }

/* Fails unless the status is `code` and the message holds both needles. */
static void expect_err(ddgan_status_t st, ddgan_status_t code, const char *n1, const char *n2)
{
    if (st != code)
        print_error("expected status %d, got %d: %s\n", (int)code, (int)st, ddgan_last_error());
    assert_int_equal(st, code);
    const char *msg = ddgan_last_error();
    if ((n1 && !strstr(msg, n1)) || (n2 && !strstr(msg, n2))) {
        print_error("message \"%s\" lacks \"%s\" / \"%s\"\n", msg, n1 ? n1 : "", n2 ? n2 : "");
        fail();
    }
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    if (len)
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
}

/* An IDX file of unsigned bytes in memory: magic, dims, payload. */
static unsigned char *idx_bytes(int ndim, const uint32_t *dims, const uint8_t *payload, size_t *len)
{
    size_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= dims[d];
    size_t total = 4 + 4 * (size_t)ndim + n;
    unsigned char *b = malloc(total);
    assert_non_null(b);
    b[0] = 0;
    b[1] = 0;
    b[2] = 0x08;
    b[3] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++) {
        b[4 + 4 * d] = (unsigned char)(dims[d] >> 24);
        b[5 + 4 * d] = (unsigned char)(dims[d] >> 16);
        b[6 + 4 * d] = (unsigned char)(dims[d] >> 8);
        b[7 + 4 * d] = (unsigned char)dims[d];
    }
    memcpy(b + 4 + 4 * ndim, payload, n);
    *len = total;
    return b;
}

static void write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *payload, int gz)
{
    size_t len;
    unsigned char *b = idx_bytes(ndim, dims, payload, &len);
    if (gz)
        write_gz(path, b, len);
    else
        assert_int_equal(tu_write_file(path, b, len), 0);
    free(b);
}

/* Synthetic digits: image i has pixel (y, x) = (i * 7 + y * 5 + x * 3) & 255, label i % 10. */
static uint8_t digit_px(int i, int y, int x) { return (uint8_t)((i * 7 + y * 5 + x * 3) & 255); }

static void write_digits(const char *img_path, const char *lab_path, int n, int h, int w, int gz)
{
    uint8_t *px = malloc((size_t)n * (size_t)h * (size_t)w);
    uint8_t *lab = malloc((size_t)n);
    assert_non_null(px);
    assert_non_null(lab);
    for (int i = 0; i < n; i++) {
        lab[i] = (uint8_t)(i % 10);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                px[((size_t)i * (size_t)h + (size_t)y) * (size_t)w + (size_t)x] = digit_px(i, y, x);
    }
    uint32_t idims[3] = {(uint32_t)n, (uint32_t)h, (uint32_t)w}, ldims[1] = {(uint32_t)n};
    write_idx(img_path, 3, idims, px, gz);
    if (lab_path)
        write_idx(lab_path, 1, ldims, lab, gz);
    free(px);
    free(lab);
}

static struct ddgan_dataset *open_ok(const ddgan_data_config *cfg)
{
    struct ddgan_dataset *ds = NULL;
    ddgan_status_t st = ddgan__data_open(&ds, cfg, "test");
    if (st != DDGAN_OK)
        print_error("open failed: %s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    assert_non_null(ds);
    return ds;
}

static ddgan_status_t try_open(const ddgan_data_config *cfg)
{
    struct ddgan_dataset *ds = NULL;
    ddgan_status_t st = ddgan__data_open(&ds, cfg, "test");
    if (st == DDGAN_OK)
        ddgan__data_close(ds);
    else
        assert_null(ds);
    return st;
}

static ddgan_data_config idx_cfg(const char *img, const char *lab)
{
    ddgan_data_config c;
    ddgan__data_config_defaults(&c);
    c.kind = DDGAN_DATA_IDX;
    c.path = img;
    c.labels_path = lab;
    return c;
}

/* ---- PNG writing (libpng) ---- */

static void write_png(const char *path, int w, int h, int color_type, int depth, const uint8_t *rows,
                      const png_color *palette, int npal, const uint8_t *trns, int ntrns)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    assert_non_null(png);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png))) {
        fail_msg("libpng failed to write %s", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, npal);
    if (trns)
        png_set_tRNS(png, info, trns, ntrns, NULL);
    png_write_info(png, info);
    int ch = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 4 :
             color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t rowbytes = (size_t)w * (size_t)ch * (size_t)(depth / 8);
    for (int y = 0; y < h; y++)
        png_write_row(png, rows + (size_t)y * rowbytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

#ifdef DDGAN_HAVE_JPEG
static void write_jpeg(const char *path, int w, int h, int ch, const uint8_t *px)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = ch;
    c.in_color_space = ch == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * (size_t)w * (size_t)ch);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}
#endif

static float u8v(int v) { return ddgan__data_u8_value((uint8_t)v); }

/* ------------------------------------------------------------------------ */
/* IDX                                                                      */
/* ------------------------------------------------------------------------ */

static void check_digits(struct ddgan_dataset *ds, int n, int h, int w, int transposed)
{
    assert_int_equal(ddgan__data_size(ds), n);
    int c, oh, ow;
    ddgan__data_shape(ds, &c, &oh, &ow);
    assert_int_equal(c, 1);
    assert_int_equal(oh, transposed ? w : h);
    assert_int_equal(ow, transposed ? h : w);
    float *x = malloc((size_t)h * (size_t)w * sizeof(float));
    assert_non_null(x);
    for (int i = 0; i < n; i++) {
        int64_t lab = -5;
        assert_int_equal(ddgan__data_get(ds, i, x, &lab, "test"), DDGAN_OK);
        assert_int_equal(lab, i % 10);
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++) {
                uint8_t want = transposed ? digit_px(i, xx, y) : digit_px(i, y, xx);
                assert_true(x[y * ow + xx] == u8v(want));
            }
    }
    free(x);
}

static void test_idx_round_trip(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    const int n = 7, h = 5, w = 4;
    for (int gz = 0; gz < 2; gz++) {
        char *img = join(dir, gz ? "im.gz" : "im.raw"), *lab = join(dir, gz ? "lb.gz" : "lb.raw");
        write_digits(img, lab, n, h, w, gz);
        uint32_t dims[3];
        uint8_t *data = NULL;
        size_t len = 0;
        assert_int_equal(ddgan__data_idx_read(img, 3, dims, &data, &len), DDGAN_OK);
        assert_int_equal(dims[0], n);
        assert_int_equal(dims[1], h);
        assert_int_equal(dims[2], w);
        assert_int_equal(len, (size_t)(n * h * w));
        assert_int_equal(data[(size_t)(3 * h + 2) * w + 1], digit_px(3, 2, 1));
        ddgan__free(data);

        ddgan_data_config c = idx_cfg(img, lab);
        struct ddgan_dataset *ds = open_ok(&c);
        check_digits(ds, n, h, w, 0);
        ddgan__data_close(ds);

        c.transpose = 1; /* EMNIST's layout */
        ds = open_ok(&c);
        check_digits(ds, n, h, w, 1);
        ddgan__data_close(ds);

        /* without labels: -1 */
        c = idx_cfg(img, NULL);
        c.num_examples = 3;
        ds = open_ok(&c);
        assert_int_equal(ddgan__data_size(ds), 3);
        float x[20];
        int64_t l = 0;
        assert_int_equal(ddgan__data_get(ds, 2, x, &l, "test"), DDGAN_OK);
        assert_int_equal(l, -1);
        ddgan__data_close(ds);

        /* channels 3 replicate the gray plane */
        c = idx_cfg(img, lab);
        c.channels = 3;
        ds = open_ok(&c);
        float x3[60];
        assert_int_equal(ddgan__data_get(ds, 4, x3, NULL, "test"), DDGAN_OK);
        for (int k = 0; k < h * w; k++) {
            assert_true(x3[k] == u8v(digit_px(4, k / w, k % w)));
            assert_true(x3[k] == x3[20 + k] && x3[k] == x3[40 + k]);
        }
        ddgan__data_close(ds);
        free(img);
        free(lab);
    }

    /* a folder with the MNIST file names: gzip train, raw t10k, an EMNIST prefix */
    char *sub = join(dir, "mnist");
    make_dir(sub);
    char *p1 = join(sub, "train-images-idx3-ubyte.gz"), *p2 = join(sub, "train-labels-idx1-ubyte.gz");
    char *p3 = join(sub, "t10k-images-idx3-ubyte"), *p4 = join(sub, "t10k-labels-idx1-ubyte");
    char *p5 = join(sub, "emnist-x-test-images-idx3-ubyte.gz");
    char *p6 = join(sub, "emnist-x-test-labels-idx1-ubyte.gz");
    write_digits(p1, p2, 11, 3, 3, 1);
    write_digits(p3, p4, 5, 3, 3, 0);
    write_digits(p5, p6, 4, 3, 2, 1);
    ddgan_data_config c = idx_cfg(sub, NULL);
    struct ddgan_dataset *ds = open_ok(&c);
    check_digits(ds, 11, 3, 3, 0);
    ddgan__data_close(ds);
    c.split = DDGAN_DATA_SPLIT_TEST;
    ds = open_ok(&c);
    check_digits(ds, 5, 3, 3, 0);
    ddgan__data_close(ds);
    c.idx_prefix = "emnist-x-";
    c.transpose = 1;
    ds = open_ok(&c);
    check_digits(ds, 4, 3, 2, 1);
    ddgan__data_close(ds);
    c.idx_prefix = "nothing-";
    expect_err(try_open(&c), DDGAN_ERR_IO, sub, "nothing-t10k-images");

    /* a highly compressible file (1000 x 32 x 32 zeros, ~1000:1), read back intact */
    {
        uint8_t *zeros = calloc(1000 * 32 * 32, 1);
        uint32_t zd[3] = {1000, 32, 32};
        char *zp = join(dir, "zeros.gz");
        write_idx(zp, 3, zd, zeros, 1);
        struct stat zs;
        assert_int_equal(stat(zp, &zs), 0);
        print_message("1024000 zero bytes gzip to %lld bytes\n", (long long)zs.st_size);
        uint8_t *data = NULL;
        size_t len = 0;
        assert_int_equal(ddgan__data_idx_read(zp, 3, zd, &data, &len), DDGAN_OK);
        assert_int_equal(len, 1000 * 32 * 32);
        assert_memory_equal(data, zeros, len);
        ddgan__free(data);
        free(zeros);
        free(zp);
    }

    /* two concatenated gzip members (as `cat a.gz b.gz` gives) */
    {
        uint8_t px[2 * 2 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
        uint32_t dims[3] = {2, 2, 2};
        size_t len;
        unsigned char *b = idx_bytes(3, dims, px, &len);
        char *a = join(dir, "a.gz"), *bb = join(dir, "b.gz"), *cat = join(dir, "cat.gz");
        write_gz(a, b, 10);
        write_gz(bb, b + 10, len - 10);
        size_t la, lb;
        unsigned char *ga = tu_read_file(a, &la), *gb = tu_read_file(bb, &lb);
        unsigned char *g = malloc(la + lb);
        memcpy(g, ga, la);
        memcpy(g + la, gb, lb);
        assert_int_equal(tu_write_file(cat, g, la + lb), 0);
        uint8_t *data = NULL;
        assert_int_equal(ddgan__data_idx_read(cat, 3, dims, &data, &len), DDGAN_OK);
        assert_memory_equal(data, px, 8);
        ddgan__free(data);
        free(g);
        free(ga);
        free(gb);
        free(a);
        free(bb);
        free(cat);
        free(b);
    }
    free(p1);
    free(p2);
    free(p3);
    free(p4);
    free(p5);
    free(p6);
    free(sub);
    tu_rmdir_recursive(dir);
    free(dir);
}

/* Writes `b` raw or gzipped to dir/name and returns the path. */
static char *put(const char *dir, const char *name, const unsigned char *b, size_t len, int gz)
{
    char *p = join(dir, name);
    if (gz)
        write_gz(p, b, len);
    else
        assert_int_equal(tu_write_file(p, b, len), 0);
    return p;
}

static void expect_idx_fail(const char *path, int ndim, ddgan_status_t code, const char *what)
{
    uint32_t dims[3];
    uint8_t *data = (uint8_t *)1;
    size_t len = 7;
    expect_err(ddgan__data_idx_read(path, ndim, dims, &data, &len), code, path, what);
    assert_null(data);
    assert_int_equal(len, 0);
}

static void test_idx_corrupt(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    uint8_t px[3 * 4 * 4];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)i;
    uint32_t dims[3] = {3, 4, 4};
    size_t len;
    unsigned char *good = idx_bytes(3, dims, px, &len);
    unsigned char *b = malloc(len + 16);
    assert_non_null(b);
    for (int gz = 0; gz < 2; gz++) {
        char name[64];
#define CASE(tag) (snprintf(name, sizeof name, "%s%s", tag, gz ? ".gz" : ""), name)
        memcpy(b, good, len);
        b[0] = 1;
        char *p = put(dir, CASE("magic"), b, len, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "bad magic");
        free(p);

        memcpy(b, good, len);
        b[2] = 0x0D;
        p = put(dir, CASE("float"), b, len, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_UNSUPPORTED, "float32");
        free(p);

        memcpy(b, good, len);
        b[2] = 0x42;
        p = put(dir, CASE("type"), b, len, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "bad magic");
        free(p);

        p = put(dir, CASE("ndim"), good, len, gz);
        expect_idx_fail(p, 1, DDGAN_ERR_FORMAT, "3 dimensions, expected 1");
        free(p);

        p = put(dir, CASE("short2"), good, 2, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "truncated");
        free(p);

        p = put(dir, CASE("shorthdr"), good, 9, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "truncated in the header");
        free(p);

        p = put(dir, CASE("shortdata"), good, len - 5, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "truncated");
        free(p);

        memcpy(b, good, len);
        memset(b + len, 0xAB, 3);
        p = put(dir, CASE("trailing"), b, len + 3, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "unexpected bytes");
        free(p);

        /* dims inconsistent with the length: 3 x 4 x 5 declared, 3 x 4 x 4 present */
        memcpy(b, good, len);
        b[15] = 5;
        p = put(dir, CASE("dims"), b, len, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "truncated");
        free(p);

        /* huge dims: N beyond INT32_MAX, sides beyond the limit, a payload beyond 8 GiB */
        memcpy(b, good, len);
        b[4] = b[5] = b[6] = b[7] = 0xFF;
        p = put(dir, CASE("hugeN"), b, len, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "dimension 0 is 4294967295");
        free(p);

        memcpy(b, good, len);
        b[8] = 0x7F;
        p = put(dir, CASE("hugeH"), b, len, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "dimension 1");
        free(p);

        const unsigned char big[16] = {0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0x40, 0, 0, 0, 0x40, 0};
        p = put(dir, CASE("hugeP"), big, 16, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "more than the");
        free(p);

        /* plausible but far more than the file holds (2 GB): refused before allocating */
        const unsigned char lots[16] = {0, 0, 8, 3, 0, 0, 0x07, 0xD0, 0, 0, 0x03, 0xE8, 0, 0, 0x03, 0xE8};
        p = put(dir, CASE("lots"), lots, 16, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, gz ? "gzip file can hold" : "truncated");
        free(p);

        memcpy(b, good, len);
        b[11] = 0;
        b[10] = 0;
        b[9] = 0;
        b[8] = 0;
        p = put(dir, CASE("zero"), b, len, gz);
        expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "dimension 1 is 0");
        free(p);
#undef CASE
    }

    /* gzip-level damage */
    char *gzp = put(dir, "good.gz", good, len, 1);
    size_t glen;
    unsigned char *g = tu_read_file(gzp, &glen);
    assert_non_null(g);
    unsigned char *g2 = malloc(glen + 8);
    memcpy(g2, g, glen);
    for (size_t i = 12; i < glen - 8; i++)
        g2[i] ^= 0x5A;
    char *p = put(dir, "corrupt.gz", g2, glen, 0);
    expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "gzip");
    free(p);
    p = put(dir, "cut.gz", g, glen - 10, 0);
    expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "truncated");
    free(p);
    memcpy(g2, g, glen);
    g2[glen - 5] ^= 1; /* the CRC-32 field of the trailer */
    p = put(dir, "crc.gz", g2, glen, 0);
    expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "incorrect data check");
    free(p);
    memcpy(g2, g, glen);
    g2[glen - 2] ^= 1; /* the ISIZE field */
    p = put(dir, "isize.gz", g2, glen, 0);
    expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "incorrect length check");
    free(p);
    memcpy(g2, g, glen);
    memcpy(g2 + glen, "garbage!", 8);
    p = put(dir, "garbage.gz", g2, glen + 8, 0);
    expect_idx_fail(p, 3, DDGAN_ERR_FORMAT, "after the end of the gzip stream");
    free(p);

    /* labels that do not match the images, a missing file */
    char *img = put(dir, "img", good, len, 0);
    uint8_t lb[5] = {0, 1, 2, 3, 4};
    uint32_t ldims[1] = {5};
    char *lab = join(dir, "lab");
    write_idx(lab, 1, ldims, lb, 0);
    ddgan_data_config c = idx_cfg(img, lab);
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, lab, "5 labels");
    char *missing = join(dir, "missing");
    c = idx_cfg(missing, NULL);
    expect_err(try_open(&c), DDGAN_ERR_IO, missing, NULL);
    c = idx_cfg(img, missing);
    expect_err(try_open(&c), DDGAN_ERR_IO, missing, "cannot open");
    c = idx_cfg(dir, NULL);
    expect_err(try_open(&c), DDGAN_ERR_IO, dir, "train-images-idx3-ubyte");

    free(missing);
    free(img);
    free(lab);
    free(gzp);
    free(g);
    free(g2);
    free(b);
    free(good);
    tu_rmdir_recursive(dir);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* The real MNIST subset (../shared/data/mnist-10k)                         */
/* ------------------------------------------------------------------------ */

static void test_mnist_shared(void **state)
{
    (void)state;
    const char *found = tu_shared_path("data/mnist-10k");
    TU_REQUIRE_SHARED(found);
    char *dir = strdup(found);
    const int want_n[2] = {9000, 1000};
    for (int split = 0; split < 2; split++) {
        ddgan_data_config c = idx_cfg(dir, NULL);
        c.split = split;
        struct ddgan_dataset *ds = open_ok(&c);
        const int64_t n = ddgan__data_size(ds);
        assert_int_equal(n, want_n[split]);
        int ch, h, w;
        ddgan__data_shape(ds, &ch, &h, &w);
        assert_int_equal(ch, 1);
        assert_int_equal(h, 28);
        assert_int_equal(w, 28);
        int64_t count[10] = {0};
        double sum = 0, sum2 = 0, minv = 1e9, maxv = -1e9, border = 0;
        float x[784];
        for (int64_t i = 0; i < n; i++) {
            int64_t lab;
            assert_int_equal(ddgan__data_get(ds, i, x, &lab, "test"), DDGAN_OK);
            assert_true(lab >= 0 && lab <= 9);
            count[lab]++;
            for (int k = 0; k < 784; k++) {
                sum += x[k];
                sum2 += (double)x[k] * x[k];
                minv = fmin(minv, x[k]);
                maxv = fmax(maxv, x[k]);
            }
            border += x[0] + x[27] + x[27 * 28] + x[783];
        }
        const double m = sum / (double)(n * 784), sd = sqrt(sum2 / (double)(n * 784) - m * m);
        print_message("mnist %s: n %lld mean %.4f std %.4f (in [0,1]: %.4f, %.4f)\n",
                      split ? "t10k" : "train", (long long)n, m, sd, (m + 1) / 2, sd / 2);
        /* MNIST's well-known statistics in [0, 1]: mean 0.1307, std 0.3081 */
        assert_true(fabs((m + 1) / 2 - 0.1307) < 0.01);
        assert_true(fabs(sd / 2 - 0.3081) < 0.01);
        assert_true(minv == -1.0 && maxv == 1.0);
        assert_true(border == -4.0 * (double)n); /* the corners are background */
        for (int d = 0; d < 10; d++)
            assert_true(count[d] > n / 20);
        ddgan__data_close(ds);
    }

    /* StackedMNIST on the real digits: labels, 1000 modes, 28 -> 32 padding */
    ddgan_data_config c = idx_cfg(dir, NULL);
    c.kind = DDGAN_DATA_STACKED_MNIST;
    c.pad = 2;
    c.data_seed = 3;
    struct ddgan_dataset *st = open_ok(&c);
    c = idx_cfg(dir, NULL);
    struct ddgan_dataset *mn = open_ok(&c);
    assert_int_equal(ddgan__data_size(st), 18000);
    int ch, h, w;
    ddgan__data_shape(st, &ch, &h, &w);
    assert_int_equal(ch, 3);
    assert_int_equal(h, 32);
    assert_int_equal(w, 32);
    char *seen = calloc(1000, 1);
    float *x = malloc(3 * 32 * 32 * sizeof(float));
    float d[784];
    int modes = 0;
    for (int64_t j = 0; j < 18000; j++) {
        int64_t lab;
        assert_int_equal(ddgan__data_get(st, j, x, &lab, "test"), DDGAN_OK);
        assert_true(lab >= 0 && lab < 1000);
        if (!seen[lab]) {
            seen[lab] = 1;
            modes++;
        }
        if (j < 30) {
            /* each channel is some MNIST digit whose label is the matching decimal digit */
            for (int cc = 0; cc < 3; cc++) {
                int digit = (int)(cc == 0 ? lab / 100 : cc == 1 ? (lab / 10) % 10 : lab % 10);
                const float *plane = x + cc * 1024;
                for (int k = 0; k < 32; k++) {
                    assert_true(plane[k] == -1.0f && plane[31 * 32 + k] == -1.0f);
                    assert_true(plane[k * 32] == -1.0f && plane[k * 32 + 31] == -1.0f);
                }
                uint32_t di = st->src->stack_idx[(size_t)cc * 18000 + (size_t)j];
                int64_t dl;
                assert_int_equal(ddgan__data_get(mn, di, d, &dl, "test"), DDGAN_OK);
                assert_int_equal(dl, digit);
                for (int y = 0; y < 28; y++)
                    assert_memory_equal(plane + (y + 2) * 32 + 2, d + y * 28, 28 * sizeof(float));
            }
        }
    }
    print_message("stacked mnist: %d of 1000 modes in 18000 examples\n", modes);
    assert_true(modes >= 990);
    free(seen);
    free(x);
    ddgan__data_close(st);
    ddgan__data_close(mn);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* CIFAR-10                                                                 */
/* ------------------------------------------------------------------------ */

static uint8_t cifar_px(int rec, int c, int y, int x) { return (uint8_t)(rec * 31 + c * 85 + y * 3 + x); }

static unsigned char *cifar_bytes(int first, int count, size_t *len)
{
    *len = (size_t)count * 3073;
    unsigned char *b = malloc(*len);
    assert_non_null(b);
    for (int r = 0; r < count; r++) {
        unsigned char *rec = b + (size_t)r * 3073;
        rec[0] = (unsigned char)((first + r) % 10);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    rec[1 + c * 1024 + y * 32 + x] = cifar_px(first + r, c, y, x);
    }
    return b;
}

static void check_cifar(struct ddgan_dataset *ds, int n)
{
    assert_int_equal(ddgan__data_size(ds), n);
    float *x = malloc(3072 * sizeof(float));
    for (int i = 0; i < n; i++) {
        int64_t lab;
        assert_int_equal(ddgan__data_get(ds, i, x, &lab, "test"), DDGAN_OK);
        assert_int_equal(lab, i % 10);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y += 7)
                for (int xx = 0; xx < 32; xx += 5)
                    assert_true(x[c * 1024 + y * 32 + xx] == u8v(cifar_px(i, c, y, xx)));
    }
    free(x);
}

static void test_cifar10(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    size_t l1, l2;
    unsigned char *b1 = cifar_bytes(0, 3, &l1), *b2 = cifar_bytes(3, 2, &l2);
    char *f1 = put(dir, "one.bin", b1, l1, 0), *f2 = put(dir, "two.bin", b2, l2, 0);
    const char *list[2] = {f1, f2};
    ddgan_data_config c;
    ddgan__data_config_defaults(&c);
    c.kind = DDGAN_DATA_CIFAR10;
    c.paths = list;
    c.num_paths = 2;
    struct ddgan_dataset *ds = open_ok(&c);
    check_cifar(ds, 5);
    int ch, h, w;
    ddgan__data_shape(ds, &ch, &h, &w);
    assert_true(ch == 3 && h == 32 && w == 32);
    ddgan__data_close(ds);

    /* one file through `path`; gray conversion is PIL's luma */
    c.paths = NULL;
    c.num_paths = 0;
    c.path = f1;
    c.channels = 1;
    ds = open_ok(&c);
    float g[1024];
    assert_int_equal(ddgan__data_get(ds, 2, g, NULL, "test"), DDGAN_OK);
    for (int k = 0; k < 1024; k += 37) {
        unsigned r = cifar_px(2, 0, k / 32, k % 32), gg = cifar_px(2, 1, k / 32, k % 32),
                 bb = cifar_px(2, 2, k / 32, k % 32);
        assert_true(g[k] == u8v((int)((r * 19595 + gg * 38470 + bb * 7471 + 32768) >> 16)));
    }
    ddgan__data_close(ds);

    /* a folder with the released names, also under cifar-10-batches-bin/ */
    char *sub = join(dir, "cifar"), *inner = join(sub, "cifar-10-batches-bin");
    make_dir(sub);
    make_dir(inner);
    for (int k = 0; k < 6; k++) {
        char name[32];
        if (k < 5)
            snprintf(name, sizeof name, "data_batch_%d.bin", k + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        size_t l;
        unsigned char *bk = cifar_bytes(k < 5 ? 2 * k : 0, k < 5 ? 2 : 3, &l);
        free(put(inner, name, bk, l, 0));
        free(bk);
    }
    ddgan__data_config_defaults(&c);
    c.kind = DDGAN_DATA_CIFAR10;
    c.path = sub;
    ds = open_ok(&c);
    check_cifar(ds, 10);
    ddgan__data_close(ds);
    c.split = DDGAN_DATA_SPLIT_TEST;
    ds = open_ok(&c);
    check_cifar(ds, 3);
    ddgan__data_close(ds);

    /* errors name the file */
    char *b3 = join(inner, "data_batch_3.bin");
    assert_int_equal(remove(b3), 0);
    c.split = DDGAN_DATA_SPLIT_TRAIN;
    expect_err(try_open(&c), DDGAN_ERR_IO, b3, "missing");
    char *bad = put(dir, "bad.bin", b1, l1 - 1, 0);
    c.path = bad;
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, bad, "not a whole number");
    b1[3073] = 10;
    char *badlab = put(dir, "badlab.bin", b1, l1, 0);
    c.path = badlab;
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, badlab, "record 1 has label 10");
    char *empty = put(dir, "empty.bin", b1, 0, 0);
    c.path = empty;
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, empty, "empty");

    free(empty);
    free(badlab);
    free(bad);
    free(b3);
    free(inner);
    free(sub);
    free(f1);
    free(f2);
    free(b1);
    free(b2);
    tu_rmdir_recursive(dir);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* Image folders                                                            */
/* ------------------------------------------------------------------------ */

static const png_color k_pal[4] = {{250, 10, 20}, {30, 200, 40}, {50, 60, 240}, {128, 128, 128}};

/* Writes the test folder; returns the number of images in it. */
static int write_image_folder(const char *dir)
{
    /* a_gray.png: 8x8 gray, 2x2 blocks of value 16 * (by * 4 + bx) */
    uint8_t gray[64];
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            gray[y * 8 + x] = (uint8_t)(16 * ((y / 2) * 4 + x / 2));
    char *p = join(dir, "a_gray.png");
    write_png(p, 8, 8, PNG_COLOR_TYPE_GRAY, 8, gray, NULL, 0, NULL, 0);
    free(p);
    /* b_rgb.png: 18 wide x 12 high RGB; R = 10 * (x / 3), G = 20 * (y / 3), B = 77 */
    uint8_t rgb[12 * 18 * 3];
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 18; x++) {
            uint8_t *px = rgb + (y * 18 + x) * 3;
            px[0] = (uint8_t)(10 * (x / 3));
            px[1] = (uint8_t)(20 * (y / 3));
            px[2] = 77;
        }
    p = join(dir, "b_rgb.png");
    write_png(p, 18, 12, PNG_COLOR_TYPE_RGB, 8, rgb, NULL, 0, NULL, 0);
    free(p);
    /* c_pal.PNG: 10x10 palette image, quadrant q = 2 * (y >= 5) + (x >= 5), with tRNS */
    uint8_t idx[100];
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++)
            idx[y * 10 + x] = (uint8_t)(2 * (y >= 5) + (x >= 5));
    const uint8_t trns[4] = {255, 0, 128, 255};
    char *sub = join(dir, "c");
    make_dir(sub);
    p = join(sub, "pal.PNG");
    write_png(p, 10, 10, PNG_COLOR_TYPE_PALETTE, 8, idx, k_pal, 4, trns, 4);
    free(p);
    /* d_rgba.png: 4x4 RGBA 16-bit, colour (1000, 30000, 65535) >> 8 after stripping */
    uint8_t rgba16[4 * 4 * 8];
    for (int k = 0; k < 16; k++) {
        const unsigned v[4] = {1000, 30000, 65535, 1234};
        for (int c = 0; c < 4; c++) {
            rgba16[k * 8 + c * 2] = (uint8_t)(v[c] >> 8);
            rgba16[k * 8 + c * 2 + 1] = (uint8_t)v[c];
        }
    }
    p = join(dir, "d_rgba.png");
    write_png(p, 4, 4, PNG_COLOR_TYPE_RGB_ALPHA, 16, rgba16, NULL, 0, NULL, 0);
    free(p);
    /* ignored: other extensions, hidden files */
    p = join(dir, "notes.txt");
    assert_int_equal(tu_write_file(p, "x", 1), 0);
    free(p);
    p = join(dir, ".hidden.png");
    assert_int_equal(tu_write_file(p, "x", 1), 0);
    free(p);
    free(sub);
    return 4;
}

static void check_folder(struct ddgan_dataset *ds, int channels)
{
    assert_int_equal(ddgan__data_size(ds), 4);
    int c, h, w;
    ddgan__data_shape(ds, &c, &h, &w);
    assert_int_equal(c, channels);
    assert_int_equal(h, 4);
    assert_int_equal(w, 4);
    float x[3 * 16];
    int64_t lab = 0;
    /* 0: a_gray -> exact 2x2 block means */
    assert_int_equal(ddgan__data_get(ds, 0, x, &lab, "test"), DDGAN_OK);
    assert_int_equal(lab, -1);
    for (int cc = 0; cc < channels; cc++)
        for (int k = 0; k < 16; k++)
            assert_true(x[cc * 16 + k] == u8v(16 * k));
    /* 1: b_rgb 18x12 -> 6x4 (area, scale 3) -> crop left round(1.0) = 1 */
    assert_int_equal(ddgan__data_get(ds, 1, x, NULL, "test"), DDGAN_OK);
    for (int y = 0; y < 4; y++)
        for (int xx = 0; xx < 4; xx++) {
            const unsigned r = 10u * (unsigned)(xx + 1), g = 20u * (unsigned)y, b = 77;
            if (channels == 3) {
                assert_true(x[y * 4 + xx] == u8v((int)r));
                assert_true(x[16 + y * 4 + xx] == u8v((int)g));
                assert_true(x[32 + y * 4 + xx] == u8v((int)b));
            } else {
                assert_true(x[y * 4 + xx] == u8v((int)((r * 19595 + g * 38470 + b * 7471 + 32768) >> 16)));
            }
        }
    /* 2: c/pal.PNG 10x10 -> 4x4 (area, scale 2.5): quadrants stay pure; tRNS ignored */
    assert_int_equal(ddgan__data_get(ds, 2, x, NULL, "test"), DDGAN_OK);
    for (int y = 0; y < 4; y++)
        for (int xx = 0; xx < 4; xx++) {
            const png_color col = k_pal[2 * (y >= 2) + (xx >= 2)];
            if (channels == 3) {
                assert_true(x[y * 4 + xx] == u8v(col.red));
                assert_true(x[16 + y * 4 + xx] == u8v(col.green));
                assert_true(x[32 + y * 4 + xx] == u8v(col.blue));
            } else {
                const unsigned l = (col.red * 19595u + col.green * 38470u + col.blue * 7471u + 32768u) >> 16;
                assert_true(x[y * 4 + xx] == u8v((int)l));
            }
        }
    /* 3: d_rgba 16-bit: alpha dropped, samples reduced to 8 bits */
    assert_int_equal(ddgan__data_get(ds, 3, x, NULL, "test"), DDGAN_OK);
    if (channels == 3) {
        assert_true(fabsf(x[0] - u8v(1000 / 257)) <= 2.0f / 255.0f * 1.01f);
        assert_true(fabsf(x[16] - u8v(30000 / 257)) <= 2.0f / 255.0f * 1.01f);
        assert_true(x[32] == 1.0f);
    }
}

static void test_image_folder(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    write_image_folder(dir);
    for (int lazy = 0; lazy < 2; lazy++)
        for (int channels = 1; channels <= 3; channels += 2) {
            ddgan_data_config c;
            ddgan__data_config_defaults(&c);
            c.kind = DDGAN_DATA_IMAGE_FOLDER;
            c.path = dir;
            c.image_size = 4;
            c.resize = DDGAN_DATA_RESIZE_AREA;
            c.channels = channels;
            c.lazy = lazy;
            struct ddgan_dataset *ds = open_ok(&c);
            check_folder(ds, channels);
            ddgan__data_close(ds);
        }

    /* bilinear enlargement (align_corners False, edge clamp): a 2x2 [0 200; 0 200] -> 4x4 rows
     * [0 50 150 200]; bilinear shrinking is antialiased (a 2x box-like triangle) */
    char *small = join(dir, "two.png");
    const uint8_t two[4] = {0, 200, 0, 200};
    write_png(small, 2, 2, PNG_COLOR_TYPE_GRAY, 8, two, NULL, 0, NULL, 0);
    const char *list[1] = {small};
    ddgan_data_config c;
    ddgan__data_config_defaults(&c);
    c.kind = DDGAN_DATA_IMAGE_FOLDER;
    c.paths = list;
    c.num_paths = 1;
    c.image_size = 4;
    c.channels = 1;
    struct ddgan_dataset *ds = open_ok(&c);
    float x[16];
    assert_int_equal(ddgan__data_get(ds, 0, x, NULL, "test"), DDGAN_OK);
    const int row[4] = {0, 50, 150, 200};
    for (int k = 0; k < 16; k++)
        assert_true(x[k] == u8v(row[k % 4]));
    ddgan__data_close(ds);

    uint8_t stripes[8 * 8];
    for (int k = 0; k < 64; k++)
        stripes[k] = (k % 8) % 2 ? 200 : 0;
    char *sp = join(dir, "stripes.png");
    write_png(sp, 8, 8, PNG_COLOR_TYPE_GRAY, 8, stripes, NULL, 0, NULL, 0);
    list[0] = sp;
    ds = open_ok(&c);
    assert_int_equal(ddgan__data_get(ds, 0, x, NULL, "test"), DDGAN_OK);
    /* triangle of half-width 2 over 1-pixel stripes: weights 1/8 3/8 3/8 1/8 (inner pixels) */
    assert_true(x[5] == u8v(100));
    ddgan__data_close(ds);

    /* native size: all images must agree */
    c.paths = NULL;
    c.num_paths = 0;
    c.path = dir;
    c.image_size = 0;
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, "b_rgb.png", "set image_size");

    /* damaged files name the file */
    char *bad = tu_make_tmpdir();
    char *bp = join(bad, "x.png");
    char *src = join(dir, "a_gray.png");
    size_t len;
    unsigned char *png = tu_read_file(src, &len);
    assert_int_equal(tu_write_file(bp, png, len - 20), 0);
    c.path = bad;
    c.image_size = 4;
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, bp, NULL);
    png[20] ^= 0xFF; /* IHDR CRC */
    assert_int_equal(tu_write_file(bp, png, len), 0);
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, bp, NULL);
    assert_int_equal(tu_write_file(bp, "GIF89a....", 10), 0);
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, bp, "neither a PNG nor a JPEG");
    /* lazy: the open succeeds on the first file, the bad one fails when served,
     * and the position does not move */
    png[20] ^= 0xFF;
    assert_int_equal(tu_write_file(bp, png, len), 0);
    char *bp2 = join(bad, "y.png");
    assert_int_equal(tu_write_file(bp2, png, len / 2), 0);
    c.lazy = 1;
    c.shuffle = 0;
    ds = open_ok(&c);
    float xb[2 * 48];
    expect_err(ddgan__data_next_batch(ds, 2, xb, NULL, "test"), DDGAN_ERR_FORMAT, bp2, NULL);
    int64_t e, i;
    ddgan__data_get_position(ds, &e, &i);
    assert_true(e == 0 && i == 0);
    assert_int_equal(ddgan__data_next_batch(ds, 1, xb, NULL, "test"), DDGAN_OK);
    ddgan__data_close(ds);
    c.lazy = 0;
    c.shuffle = 1;
    char *empty = tu_make_tmpdir();
    c.path = empty;
    expect_err(try_open(&c), DDGAN_ERR_IO, empty, "no .png");

#ifdef DDGAN_HAVE_JPEG
    assert_true(ddgan__data_have_jpeg());
    char *jd = tu_make_tmpdir();
    uint8_t solid[16 * 16 * 3];
    for (int k = 0; k < 256; k++) {
        solid[k * 3] = 100;
        solid[k * 3 + 1] = 150;
        solid[k * 3 + 2] = 200;
    }
    char *jp = join(jd, "a.jpg"), *jg = join(jd, "b.JPEG");
    write_jpeg(jp, 16, 16, 3, solid);
    uint8_t g16[16 * 16];
    memset(g16, 90, sizeof g16);
    write_jpeg(jg, 16, 16, 1, g16);
    ddgan__data_config_defaults(&c);
    c.kind = DDGAN_DATA_IMAGE_FOLDER;
    c.path = jd;
    c.image_size = 8;
    ds = open_ok(&c);
    float xj[3 * 64];
    assert_int_equal(ddgan__data_get(ds, 0, xj, NULL, "test"), DDGAN_OK);
    for (int k = 0; k < 64; k++) {
        assert_true(fabsf(xj[k] - u8v(100)) <= 3 * 2.0f / 255.0f);
        assert_true(fabsf(xj[64 + k] - u8v(150)) <= 3 * 2.0f / 255.0f);
        assert_true(fabsf(xj[128 + k] - u8v(200)) <= 3 * 2.0f / 255.0f);
    }
    assert_int_equal(ddgan__data_get(ds, 1, xj, NULL, "test"), DDGAN_OK);
    for (int k = 0; k < 3 * 64; k++)
        assert_true(fabsf(xj[k] - u8v(90)) <= 2 * 2.0f / 255.0f);
    ddgan__data_close(ds);
    /* truncated JPEGs: in the header, and in the middle of the entropy-coded data
     * (libjpeg would pad the rest with gray; here it is an error) */
    unsigned char *jb = tu_read_file(jp, &len);
    assert_int_equal(tu_write_file(jp, jb, 40), 0);
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, jp, NULL);
    free(jb);
    uint8_t *noise = malloc(64 * 64 * 3);
    for (int k = 0; k < 64 * 64 * 3; k++)
        noise[k] = (uint8_t)((k * 2654435761u) >> 24);
    write_jpeg(jp, 64, 64, 3, noise);
    free(noise);
    jb = tu_read_file(jp, &len);
    assert_true(len > 2000);
    assert_int_equal(tu_write_file(jp, jb, len * 2 / 3), 0);
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, jp, "Premature end");
    free(jb);
    free(jp);
    free(jg);
    tu_rmdir_recursive(jd);
    free(jd);
#else
    assert_false(ddgan__data_have_jpeg());
#endif

    free(png);
    free(src);
    free(bp);
    free(bp2);
    tu_rmdir_recursive(bad);
    free(bad);
    tu_rmdir_recursive(empty);
    free(empty);
    free(sp);
    free(small);
    tu_rmdir_recursive(dir);
    free(dir);
}

/* The resize rules on their own: crop offsets (half to even) and exact area means. */
static void test_resize(void **state)
{
    (void)state;
    /* 1 x 3 x 7 -> size 3: no scaling, crop left round(2.0) = 2 */
    uint8_t src[21], dst[9];
    for (int k = 0; k < 21; k++)
        src[k] = (uint8_t)k;
    assert_int_equal(ddgan__data_resize_crop(src, 1, 3, 7, 3, DDGAN_DATA_RESIZE_AREA, dst), DDGAN_OK);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
            assert_int_equal(dst[y * 3 + x], y * 7 + x + 2);
    /* 1 x 3 x 6 -> crop left round(1.5) = 2 (half to even) */
    assert_int_equal(ddgan__data_resize_crop(src, 1, 3, 6, 3, DDGAN_DATA_RESIZE_AREA, dst), DDGAN_OK);
    assert_int_equal(dst[0], 2);
    /* 1 x 3 x 4 -> crop left round(0.5) = 0 */
    assert_int_equal(ddgan__data_resize_crop(src, 1, 3, 4, 3, DDGAN_DATA_RESIZE_AREA, dst), DDGAN_OK);
    assert_int_equal(dst[0], 0);
    /* area 3 -> 2 (scale 1.5): fractional coverage, (a + b/2) / 1.5 */
    uint8_t s3[9] = {30, 60, 90, 30, 60, 90, 30, 60, 90}, d2[4];
    assert_int_equal(ddgan__data_resize_crop(s3, 1, 3, 3, 2, DDGAN_DATA_RESIZE_AREA, d2), DDGAN_OK);
    assert_int_equal(d2[0], 40); /* (30 + 30) / 1.5 */
    assert_int_equal(d2[1], 80); /* (30 + 90) / 1.5 */
}

/* ------------------------------------------------------------------------ */
/* StackedMNIST on synthetic digits                                         */
/* ------------------------------------------------------------------------ */

static void test_stacked_synthetic(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    char *img = join(dir, "train-images-idx3-ubyte"), *lab = join(dir, "train-labels-idx1-ubyte");
    /* digit i: every pixel equals i (identifies it), label i % 10 */
    const int m = 50;
    uint8_t px[50 * 4], lb[50];
    for (int i = 0; i < m; i++) {
        memset(px + i * 4, i, 4);
        lb[i] = (uint8_t)(i % 10);
    }
    uint32_t idims[3] = {50, 2, 2}, ldims[1] = {50};
    write_idx(img, 3, idims, px, 0);
    write_idx(lab, 1, ldims, lb, 0);
    ddgan_data_config c = idx_cfg(dir, NULL);
    c.kind = DDGAN_DATA_STACKED_MNIST;
    c.data_seed = 11;
    int64_t labels[3][100];
    for (int run = 0; run < 3; run++) {
        c.data_seed = run == 2 ? 12 : 11;
        struct ddgan_dataset *ds = open_ok(&c);
        assert_int_equal(ddgan__data_size(ds), 100);
        int ch, h, w;
        ddgan__data_shape(ds, &ch, &h, &w);
        assert_true(ch == 3 && h == 2 && w == 2);
        int used[3][50];
        memset(used, 0, sizeof used);
        for (int j = 0; j < 100; j++) {
            float x[12];
            assert_int_equal(ddgan__data_get(ds, j, x, &labels[run][j], "test"), DDGAN_OK);
            int d[3];
            for (int cc = 0; cc < 3; cc++) {
                d[cc] = (int)lround((x[cc * 4] + 1.0f) * 0.5f * 255.0f);
                assert_true(d[cc] >= 0 && d[cc] < m);
                assert_true(x[cc * 4 + 3] == u8v(d[cc]));
                used[cc][d[cc]]++;
            }
            assert_int_equal(labels[run][j], 100 * (d[0] % 10) + 10 * (d[1] % 10) + d[2] % 10);
            if (j == 49 || j == 99) {
                /* each half of every channel's list is a permutation of the digits */
                for (int cc = 0; cc < 3; cc++)
                    for (int i = 0; i < m; i++) {
                        assert_int_equal(used[cc][i], 1);
                        used[cc][i] = 0;
                    }
            }
        }
        ddgan__data_close(ds);
    }
    assert_memory_equal(labels[0], labels[1], sizeof labels[0]);                 /* seeded */
    assert_true(memcmp(labels[0], labels[2], sizeof labels[0]) != 0);           /* by the seed */

    c.num_examples = 120;
    c.pad = 2;
    struct ddgan_dataset *ds = open_ok(&c);
    assert_int_equal(ddgan__data_size(ds), 120);
    ddgan__data_close(ds);
    c.image_size = 32;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "image_size", NULL);
    c.image_size = 0;

    lb[7] = 12;
    write_idx(lab, 1, ldims, lb, 0);
    expect_err(try_open(&c), DDGAN_ERR_FORMAT, "label 12 of digit 7", lab);
    free(img);
    free(lab);
    tu_rmdir_recursive(dir);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* 2-D mixtures                                                             */
/* ------------------------------------------------------------------------ */

static void check_mixture(int kind, double radius, double sigma_arg, double sigma, int ncomp)
{
    ddgan_data_config c;
    ddgan__data_config_defaults(&c);
    c.kind = kind;
    c.radius = radius;
    c.sigma = sigma_arg;
    c.num_examples = 40000;
    c.data_seed = 5;
    struct ddgan_dataset *ds = open_ok(&c);
    int ch, h, w;
    ddgan__data_shape(ds, &ch, &h, &w);
    assert_true(ch == 2 && h == 1 && w == 1);
    double means[25][2];
    const double r = radius ? radius : 1.0;
    for (int k = 0; k < ncomp; k++) {
        if (ncomp == 25) {
            means[k][0] = -4.0 + 2.0 * (k / 5);
            means[k][1] = -4.0 + 2.0 * (k % 5);
        } else {
            means[k][0] = r * cos(2.0 * M_PI * k / 8.0);
            means[k][1] = r * sin(2.0 * M_PI * k / 8.0);
        }
    }
    double s1[25][2] = {{0}}, s2[25][2] = {{0}};
    int64_t cnt[25] = {0};
    int64_t in3_coord = 0, in3_eucl = 0;
    const int64_t n = ddgan__data_size(ds);
    for (int64_t i = 0; i < n; i++) {
        float x[2];
        int64_t k;
        assert_int_equal(ddgan__data_get(ds, i, x, &k, "test"), DDGAN_OK);
        assert_true(k >= 0 && k < ncomp);
        cnt[k]++;
        /* the nearest mean is the label's */
        int best = 0;
        double bd = 1e30;
        for (int q = 0; q < ncomp; q++) {
            double d = hypot(x[0] - means[q][0], x[1] - means[q][1]);
            if (d < bd) {
                bd = d;
                best = q;
            }
        }
        assert_int_equal(best, k);
        for (int a = 0; a < 2; a++) {
            double z = (x[a] - means[k][a]) / sigma;
            s1[k][a] += z;
            s2[k][a] += z * z;
            in3_coord += fabs(z) <= 3.0;
        }
        in3_eucl += bd <= 3.0 * sigma;
    }
    const double fc = (double)in3_coord / (2.0 * (double)n), fe = (double)in3_eucl / (double)n;
    print_message("mixture K=%d: %.4f of coordinates within 3 sigma (0.9973), %.4f of points within "
                  "3 sigma of their mode (0.9889)\n", ncomp, fc, fe);
    assert_true(fabs(fc - 0.9973) < 0.002);
    assert_true(fabs(fe - 0.98889) < 0.004);
    for (int k = 0; k < ncomp; k++) {
        assert_true(fabs((double)cnt[k] - (double)n / ncomp) < 0.15 * (double)n / ncomp);
        for (int a = 0; a < 2; a++) {
            double m = s1[k][a] / (double)cnt[k], sd = sqrt(s2[k][a] / (double)cnt[k] - m * m);
            assert_true(fabs(m) < 5.0 / sqrt((double)cnt[k])); /* mean within 5 standard errors */
            assert_true(fabs(sd - 1.0) < 0.08);
        }
    }
    /* an example depends only on (data_seed, index) */
    float a[2], b[2];
    assert_int_equal(ddgan__data_get(ds, 1234, a, NULL, "test"), DDGAN_OK);
    ddgan__data_close(ds);
    c.num_examples = 2000;
    ds = open_ok(&c);
    assert_int_equal(ddgan__data_get(ds, 1234, b, NULL, "test"), DDGAN_OK);
    assert_memory_equal(a, b, sizeof a);
    ddgan__data_close(ds);
    c.data_seed = 6;
    ds = open_ok(&c);
    assert_int_equal(ddgan__data_get(ds, 1234, b, NULL, "test"), DDGAN_OK);
    assert_true(memcmp(a, b, sizeof a) != 0);
    ddgan__data_close(ds);
}

static void test_mixtures(void **state)
{
    (void)state;
    check_mixture(DDGAN_DATA_GRID25, 0.0, 0.0, 0.05, 25);
    check_mixture(DDGAN_DATA_RING8, 0.0, 0.0, 0.01, 8);
    check_mixture(DDGAN_DATA_RING8, 2.0, 0.02, 0.02, 8);
    ddgan_data_config c;
    ddgan__data_config_defaults(&c);
    c.kind = DDGAN_DATA_GRID25;
    struct ddgan_dataset *ds = open_ok(&c);
    assert_int_equal(ddgan__data_size(ds), DDGAN_DATA_MIXTURE_DEFAULT_N);
    ddgan__data_close(ds);
    c.sigma = -1;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "sigma", NULL);
    c.sigma = 0;
    c.radius = 2;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "radius", NULL);
    c.kind = DDGAN_DATA_RING8;
    c.radius = NAN;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "radius", NULL);
    c.radius = 0;
    c.pad = 2;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "2-D", NULL);
}

/* ------------------------------------------------------------------------ */
/* Loader                                                                   */
/* ------------------------------------------------------------------------ */

/* A dataset whose label is its index: n digits of h x w. */
static struct ddgan_dataset *indexed(const char *dir, int n, int h, int w, uint64_t seed, int shuffle,
                                     int hflip, int pad)
{
    char *img = join(dir, "ix-img"), *lab = join(dir, "ix-lab");
    uint8_t *px = malloc((size_t)n * (size_t)h * (size_t)w), *lb = malloc((size_t)n);
    for (int i = 0; i < n; i++) {
        lb[i] = (uint8_t)i;
        for (int k = 0; k < h * w; k++)
            px[(size_t)i * (size_t)(h * w) + (size_t)k] = (uint8_t)(i + 3 * k + 1);
    }
    uint32_t idims[3] = {(uint32_t)n, (uint32_t)h, (uint32_t)w}, ldims[1] = {(uint32_t)n};
    write_idx(img, 3, idims, px, 0);
    write_idx(lab, 1, ldims, lb, 0);
    ddgan_data_config c = idx_cfg(img, lab);
    c.seed = seed;
    c.shuffle = shuffle;
    c.hflip = hflip;
    c.pad = pad;
    struct ddgan_dataset *ds = open_ok(&c);
    free(px);
    free(lb);
    free(img);
    free(lab);
    return ds;
}

static void test_loader_epochs(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    const int n = 23;
    struct ddgan_dataset *ds = indexed(dir, n, 2, 3, 99, 1, 0, 0);
    assert_int_equal(ddgan__data_batches_per_epoch(ds, 5), 4);
    float x[5 * 6];
    int64_t lab[5];
    uint32_t perm[23], prev[23];
    for (int e = 0; e < 6; e++) {
        int seen[23] = {0};
        ddgan__data_permutation(99, DDGAN_DATA_STREAM_SHUFFLE + (uint64_t)e, n, perm);
        for (int b = 0; b < 4; b++) {
            assert_int_equal(ddgan__data_next_batch(ds, 5, x, lab, "test"), DDGAN_OK);
            for (int k = 0; k < 5; k++) {
                assert_true(lab[k] >= 0 && lab[k] < n);
                assert_int_equal(seen[lab[k]], 0); /* at most once per epoch */
                seen[lab[k]] = 1;
                assert_int_equal(lab[k], perm[b * 5 + k]);
                assert_true(x[k * 6] == u8v((int)lab[k] + 1));
            }
            int64_t ep, ix;
            ddgan__data_get_position(ds, &ep, &ix);
            assert_int_equal(ep, e);
            assert_int_equal(ix, (b + 1) * 5);
        }
        if (e > 0)
            assert_true(memcmp(perm, prev, sizeof perm) != 0); /* a new order every epoch */
        memcpy(prev, perm, sizeof perm);
    }
    ddgan__data_close(ds);

    /* batch = N: every example exactly once per epoch; shuffle 0: file order */
    ds = indexed(dir, n, 2, 3, 99, 0, 0, 0);
    float *xa = malloc((size_t)n * 6 * sizeof(float));
    int64_t la[23];
    for (int e = 0; e < 2; e++) {
        assert_int_equal(ddgan__data_next_batch(ds, (size_t)n, xa, la, "test"), DDGAN_OK);
        for (int k = 0; k < n; k++)
            assert_int_equal(la[k], k);
    }
    ddgan__data_close(ds);
    ds = indexed(dir, n, 2, 3, 7, 1, 0, 0);
    for (int e = 0; e < 3; e++) {
        int seen[23] = {0};
        assert_int_equal(ddgan__data_next_batch(ds, (size_t)n, xa, la, "test"), DDGAN_OK);
        for (int k = 0; k < n; k++)
            seen[la[k]]++;
        for (int k = 0; k < n; k++)
            assert_int_equal(seen[k], 1);
    }
    /* batch sizes may vary; a batch that does not fit starts the next epoch */
    assert_int_equal(ddgan__data_set_position(ds, 4, 0, "test"), DDGAN_OK);
    assert_int_equal(ddgan__data_next_batch(ds, 20, xa, la, "test"), DDGAN_OK);
    assert_int_equal(ddgan__data_next_batch(ds, 3, xa, la, "test"), DDGAN_OK);
    int64_t ep, ix;
    ddgan__data_get_position(ds, &ep, &ix);
    assert_true(ep == 4 && ix == 23);
    assert_int_equal(ddgan__data_next_batch(ds, 1, xa, la, "test"), DDGAN_OK);
    ddgan__data_get_position(ds, &ep, &ix);
    assert_true(ep == 5 && ix == 1);
    ddgan__data_permutation(7, DDGAN_DATA_STREAM_SHUFFLE + 5, n, perm);
    assert_int_equal(la[0], perm[0]);
    /* errors */
    expect_err(ddgan__data_next_batch(ds, 0, xa, la, "test"), DDGAN_ERR_INVALID_ARGUMENT, "batch 0", NULL);
    expect_err(ddgan__data_next_batch(ds, 24, xa, la, "test"), DDGAN_ERR_INVALID_ARGUMENT, "batch 24", NULL);
    expect_err(ddgan__data_next_batch(ds, 2, NULL, la, "test"), DDGAN_ERR_INVALID_ARGUMENT, "out", NULL);
    expect_err(ddgan__data_set_position(ds, -1, 0, "test"), DDGAN_ERR_INVALID_ARGUMENT, "epoch", NULL);
    expect_err(ddgan__data_set_position(ds, 0, 24, "test"), DDGAN_ERR_INVALID_ARGUMENT, "index 24", NULL);
    expect_err(ddgan__data_get(ds, 23, xa, NULL, "test"), DDGAN_ERR_INVALID_ARGUMENT, "index 23", NULL);
    ddgan__data_close(ds);
    free(xa);

    /* the permutation is uniform: the 6 orders of 3 items over 6000 epochs */
    int hist[6] = {0};
    for (uint64_t e = 0; e < 6000; e++) {
        uint32_t p3[3];
        ddgan__data_permutation(1, DDGAN_DATA_STREAM_SHUFFLE + e, 3, p3);
        hist[p3[0] * 2 + (p3[1] > p3[2])]++;
    }
    for (int k = 0; k < 6; k++)
        assert_true(hist[k] > 850 && hist[k] < 1150);
    /* the same (seed, stream) gives the same permutation; another seed another */
    uint32_t q1[100], q2[100];
    ddgan__data_permutation(5, 77, 100, q1);
    ddgan__data_permutation(5, 77, 100, q2);
    assert_memory_equal(q1, q2, sizeof q1);
    ddgan__data_permutation(6, 77, 100, q2);
    assert_true(memcmp(q1, q2, sizeof q1) != 0);
    tu_rmdir_recursive(dir);
    free(dir);
}

static void test_loader_resume(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    const int n = 37, B = 8, steps = 20; /* 4 batches per epoch: 5 epochs */
    const size_t ex = 1 * 8 * 9;         /* 4x5 digits padded by 2 */
    float *ref = malloc((size_t)steps * B * ex * sizeof(float));
    int64_t *rl = malloc((size_t)steps * B * sizeof(int64_t));
    struct ddgan_dataset *ds = indexed(dir, n, 4, 5, 1234, 1, 1, 2);
    for (int s = 0; s < steps; s++)
        assert_int_equal(ddgan__data_next_batch(ds, B, ref + (size_t)s * B * ex, rl + s * B, "test"),
                         DDGAN_OK);
    ddgan__data_close(ds);

    for (int cut = 1; cut < steps; cut += 6) {
        ds = indexed(dir, n, 4, 5, 1234, 1, 1, 2);
        float *x = malloc((size_t)B * ex * sizeof(float));
        int64_t l[8];
        for (int s = 0; s < cut; s++)
            assert_int_equal(ddgan__data_next_batch(ds, B, x, l, "test"), DDGAN_OK);
        int64_t saved[DDGAN_DATA_STATE_LEN];
        ddgan__data_get_state(ds, saved);
        ddgan__data_close(ds);
        /* a fresh loader (a resumed run) continues with exactly the same batches */
        ds = indexed(dir, n, 4, 5, 1234, 1, 1, 2);
        assert_int_equal(ddgan__data_set_state(ds, saved, "test"), DDGAN_OK);
        for (int s = cut; s < steps; s++) {
            assert_int_equal(ddgan__data_next_batch(ds, B, x, l, "test"), DDGAN_OK);
            assert_memory_equal(x, ref + (size_t)s * B * ex, (size_t)B * ex * sizeof(float));
            assert_memory_equal(l, rl + s * B, B * sizeof(int64_t));
        }
        ddgan__data_close(ds);
        free(x);
    }
    /* a state saved for another dataset / seed is refused */
    ds = indexed(dir, n, 4, 5, 1234, 1, 1, 2);
    int64_t st[DDGAN_DATA_STATE_LEN];
    ddgan__data_get_state(ds, st);
    ddgan__data_close(ds);
    ds = indexed(dir, n, 4, 5, 4321, 1, 1, 2);
    expect_err(ddgan__data_set_state(ds, st, "test"), DDGAN_ERR_INVALID_ARGUMENT, "seed 1234", NULL);
    ddgan__data_close(ds);
    ds = indexed(dir, n - 1, 4, 5, 1234, 1, 1, 2);
    expect_err(ddgan__data_set_state(ds, st, "test"), DDGAN_ERR_INVALID_ARGUMENT, "37 examples", NULL);
    ddgan__data_close(ds);
    ds = indexed(dir, n, 4, 5, 1234, 0, 1, 2);
    expect_err(ddgan__data_set_state(ds, st, "test"), DDGAN_ERR_INVALID_ARGUMENT, "shuffle", NULL);
    ddgan__data_close(ds);
    free(ref);
    free(rl);
    tu_rmdir_recursive(dir);
    free(dir);
}

static void test_loader_flip_pad(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    const int n = 40, h = 3, w = 4, pad = 2, H = h + 2 * pad, W = w + 2 * pad;
    struct ddgan_dataset *plain = indexed(dir, n, h, w, 8, 0, 0, 0);
    struct ddgan_dataset *ds = indexed(dir, n, h, w, 8, 1, 1, pad);
    int c, oh, ow;
    ddgan__data_shape(ds, &c, &oh, &ow);
    assert_true(c == 1 && oh == H && ow == W);
    float *x = malloc((size_t)n * (size_t)(H * W) * sizeof(float));
    int64_t lab[40];
    float ref[12];
    int flipped = 0;
    for (int e = 0; e < 5; e++) {
        assert_int_equal(ddgan__data_next_batch(ds, (size_t)n, x, lab, "test"), DDGAN_OK);
        for (int k = 0; k < n; k++) {
            const float *o = x + (size_t)k * (size_t)(H * W);
            assert_int_equal(ddgan__data_get(plain, lab[k], ref, NULL, "test"), DDGAN_OK);
            /* the flip of slot k of epoch e: the top bit of word k of the flip stream */
            uint32_t words[4];
            ddgan__philox_u32(8, DDGAN_DATA_STREAM_FLIP + (uint64_t)e, (uint64_t)k / 4, words, 4);
            const int flip = (int)(words[k % 4] >> 31);
            flipped += flip;
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < W; xx++) {
                    const float v = o[y * W + xx];
                    if (y < pad || y >= pad + h || xx < pad || xx >= pad + w) {
                        assert_true(v == -1.0f); /* the padding is the background value */
                    } else {
                        int sx = xx - pad;
                        if (flip)
                            sx = w - 1 - sx;
                        assert_true(v == ref[(y - pad) * w + sx]);
                    }
                }
        }
    }
    assert_true(flipped > 70 && flipped < 130); /* about half of 200 */
    /* get() pads but never flips */
    float g[7 * 8];
    assert_int_equal(ddgan__data_get(ds, 5, g, NULL, "test"), DDGAN_OK);
    assert_int_equal(ddgan__data_get(plain, 5, ref, NULL, "test"), DDGAN_OK);
    for (int y = 0; y < h; y++)
        assert_memory_equal(g + (y + pad) * W + pad, ref + y * w, (size_t)w * sizeof(float));
    free(x);
    ddgan__data_close(ds);
    ddgan__data_close(plain);
    tu_rmdir_recursive(dir);
    free(dir);
}

/* ------------------------------------------------------------------------ */
/* Configuration errors and allocation failures                             */
/* ------------------------------------------------------------------------ */

static void test_config_errors(void **state)
{
    (void)state;
    ddgan_data_config c;
    ddgan__data_config_defaults(&c);
    struct ddgan_dataset *ds = (struct ddgan_dataset *)1;
    expect_err(ddgan__data_open(&ds, NULL, "fnname"), DDGAN_ERR_INVALID_ARGUMENT, "fnname: cfg", NULL);
    assert_null(ds);
    expect_err(ddgan__data_open(NULL, &c, "fnname"), DDGAN_ERR_INVALID_ARGUMENT, "out", NULL);
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "needs a path", NULL);
    struct {
        int field, value;
        const char *needle;
    } cases[] = {
        {0, 9, "kind 9"}, {1, 2, "split 2"},  {2, 2, "channels 2"}, {3, -1, "image_size -1"},
        {4, 3, "resize 3"}, {5, 2000, "pad 2000"}, {6, 2, "hflip 2"}, {7, -1, "shuffle -1"},
        {8, 1, "lazy applies"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ddgan__data_config_defaults(&c);
        c.path = "x";
        int *f[] = {&c.kind, &c.split, &c.channels, &c.image_size, &c.resize, &c.pad, &c.hflip,
                    &c.shuffle, &c.lazy};
        *f[cases[i].field] = cases[i].value;
        expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, cases[i].needle, NULL);
    }
    ddgan__data_config_defaults(&c);
    c.path = "x";
    c.sigma = 0.1;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "sigma", NULL);
    ddgan__data_config_defaults(&c);
    c.num_examples = -3;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "num_examples -3", NULL);
    ddgan__data_config_defaults(&c);
    c.num_paths = 2;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "paths is NULL", NULL);
    const char *plist[2] = {"a", NULL};
    ddgan__data_config_defaults(&c);
    c.kind = DDGAN_DATA_IMAGE_FOLDER;
    c.paths = plist;
    c.num_paths = 2;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "paths[1] is NULL", NULL);
    c.kind = DDGAN_DATA_CIFAR10;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "paths[1] is NULL", NULL);
    c.kind = DDGAN_DATA_IDX;
    expect_err(try_open(&c), DDGAN_ERR_INVALID_ARGUMENT, "list of paths", NULL);
    expect_err(ddgan__data_check(NULL, "fnname"), DDGAN_ERR_INVALID_ARGUMENT, "NULL", NULL);
    struct ddgan_dataset fake;
    memset(&fake, 0, sizeof fake);
    expect_err(ddgan__data_check(&fake, "fnname"), DDGAN_ERR_INVALID_ARGUMENT, "invalid dataset", NULL);
}

typedef struct fail_state {
    int remaining;
} fail_state;

static void *failing_malloc(void *user, size_t bytes)
{
    fail_state *fs = user;
    if (fs->remaining-- == 0)
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
    char *dir = tu_make_tmpdir();
    char *img = join(dir, "train-images-idx3-ubyte.gz"), *lab = join(dir, "train-labels-idx1-ubyte.gz");
    write_digits(img, lab, 12, 4, 4, 1);
    char *pdir = join(dir, "png");
    make_dir(pdir);
    write_image_folder(pdir);
    ddgan_data_config cfgs[4];
    ddgan__data_config_defaults(&cfgs[0]);
    cfgs[0].path = dir;
    cfgs[0].pad = 2;
    cfgs[0].hflip = 1;
    cfgs[1] = cfgs[0];
    cfgs[1].kind = DDGAN_DATA_STACKED_MNIST;
    cfgs[1].hflip = 0;
    ddgan__data_config_defaults(&cfgs[2]);
    cfgs[2].kind = DDGAN_DATA_IMAGE_FOLDER;
    cfgs[2].path = pdir;
    cfgs[2].image_size = 5;
    cfgs[3] = cfgs[2];
    cfgs[3].lazy = 1;
    for (int ci = 0; ci < 4; ci++) {
        int done = 0;
        for (int k = 0; k < 400 && !done; k++) {
            fail_state fs = {k};
            ddgan_alloc_hooks hooks = {failing_malloc, plain_free, &fs};
            ddgan__alloc_set_hooks(&hooks);
            struct ddgan_dataset *ds = NULL;
            ddgan_status_t st = ddgan__data_open(&ds, &cfgs[ci], "test");
            float x[4 * 3 * 8 * 8];
            if (st == DDGAN_OK)
                st = ddgan__data_next_batch(ds, 4, x, NULL, "test");
            ddgan__data_close(ds);
            ddgan__alloc_set_hooks(NULL);
            if (st == DDGAN_OK)
                done = 1;
            else
                tu_assert_status(st, DDGAN_ERR_OUT_OF_MEMORY, NULL);
        }
        assert_true(done);
    }
    free(img);
    free(lab);
    free(pdir);
    tu_rmdir_recursive(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_round_trip),
        cmocka_unit_test(test_idx_corrupt),
        cmocka_unit_test(test_mnist_shared),
        cmocka_unit_test(test_cifar10),
        cmocka_unit_test(test_image_folder),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_stacked_synthetic),
        cmocka_unit_test(test_mixtures),
        cmocka_unit_test(test_loader_epochs),
        cmocka_unit_test(test_loader_resume),
        cmocka_unit_test(test_loader_flip_pad),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
