/* Fuzz target: the safetensors reader (lib/io/safetensors.c), from memory and
 * from a file, then every accessor and conversion on whatever it accepted. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "fuzz_common.h"
#include "io/safetensors.h"

/* Conversions allocate numel elements; the file bounds nbytes, but BOOL/U8
 * tensors expand 8x to double. Keep each buffer modest so the fuzzer's RSS
 * limit measures the library, not this harness. */
#define MAX_ELEMS ((uint64_t)1 << 22)

static void exercise(const ddgan_st_file *f)
{
    FZ_ASSERT(ddgan__st_name(f) != NULL, "name");
    const size_t n = ddgan__st_tensor_count(f);
    for (size_t i = 0; i < n; i++) {
        const ddgan_st_tensor_info *t = ddgan__st_tensor(f, i);
        FZ_ASSERT(t != NULL && t->name != NULL, "tensor info");
        FZ_ASSERT(t->data_begin <= t->data_end && t->data_end - t->data_begin == t->nbytes, "offsets");
        FZ_ASSERT(ddgan__st_find(f, t->name) == t, "find by name");
        if (i > 0)
            FZ_ASSERT(strcmp(ddgan__st_tensor(f, i - 1)->name, t->name) < 0, "sorted, unique");
        if (t->numel > MAX_ELEMS)
            continue;
        const size_t cnt = (size_t)t->numel;
        void *raw = malloc(t->nbytes ? (size_t)t->nbytes : 1);
        float *f32 = malloc(cnt ? cnt * sizeof(float) : 1);
        double *f64 = malloc(cnt ? cnt * sizeof(double) : 1);
        int64_t *i64 = malloc(cnt ? cnt * sizeof(int64_t) : 1);
        FZ_ASSERT(raw && f32 && f64 && i64, "harness allocation");
        fz_check_failure(ddgan__st_read_raw(f, t->name, raw, (size_t)t->nbytes), "read_raw");
        fz_check_failure(ddgan__st_read_f32(f, t->name, f32, cnt), "read_f32");
        fz_check_failure(ddgan__st_read_f64(f, t->name, f64, cnt), "read_f64");
        fz_check_failure(ddgan__st_read_i64(f, t->name, i64, cnt), "read_i64");
        /* a wrong count must be refused, never read past the buffer */
        FZ_ASSERT(ddgan__st_read_f32(f, t->name, f32, cnt + 1) != DDGAN_OK, "wrong count accepted");
        free(raw);
        free(f32);
        free(f64);
        free(i64);
    }
    FZ_ASSERT(ddgan__st_tensor(f, n) == NULL, "index past the end");
    const size_t m = ddgan__st_metadata_count(f);
    for (size_t i = 0; i < m; i++) {
        const char *k = NULL, *v = NULL;
        FZ_ASSERT(ddgan__st_metadata_at(f, i, &k, &v) == DDGAN_OK && k && v, "metadata_at");
        FZ_ASSERT(ddgan__st_metadata_get(f, k) != NULL, "metadata_get");
    }
    const char *k = NULL, *v = NULL;
    FZ_ASSERT(ddgan__st_metadata_at(f, m, &k, &v) != DDGAN_OK, "metadata index past the end");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ddgan_st_file *f = NULL;
    ddgan_status_t st = ddgan__st_open_memory(&f, data, size, "fuzz");
    fz_check_failure(st, "st_open_memory");
    if (st == DDGAN_OK) {
        exercise(f);
        ddgan__st_close(f);
    }
    /* the file path (pread, size checks against fstat) must agree with memory */
    const char *path = fz_write_input(data, size, ".safetensors");
    ddgan_st_file *g = NULL;
    ddgan_status_t st2 = ddgan__st_open(&g, path);
    fz_check_failure(st2, "st_open");
    FZ_ASSERT((st == DDGAN_OK) == (st2 == DDGAN_OK), "memory and file readers disagree");
    if (st2 == DDGAN_OK) {
        exercise(g);
        ddgan__st_close(g);
    }
    return 0;
}
