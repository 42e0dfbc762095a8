/* Helpers shared by the CMocka tests. Include after <cmocka.h>'s prerequisites
 * (this header includes them itself). */
#ifndef DDGAN_TEST_UTIL_H
#define DDGAN_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ddgan/ddgan.h"

/* Path of a file under ../shared (the project's shared inputs), or NULL (and a
 * message on stderr) when ../shared is absent: callers then skip(). */
const char *tu_shared_path(const char *relative);

/* Skips the current test with a message when `path` is NULL. */
#define TU_REQUIRE_SHARED(path)                                                  \
    do {                                                                         \
        if (!(path)) {                                                           \
            print_message("[  SKIP    ] ../shared is absent: test skipped\n");  \
            skip();                                                              \
        }                                                                        \
    } while (0)

/* Fails (with the worst index and values) unless |a-b| <= atol + rtol*|b| for all i. */
void tu_assert_allclose_f32(const float *a, const float *b, size_t n, double rtol, double atol,
                            const char *what);
void tu_assert_allclose_f64(const double *a, const double *b, size_t n, double rtol, double atol,
                            const char *what);

/* Fails unless a and b differ by at most max_ulp units in the last place (float32). */
void tu_assert_ulp_f32(const float *a, const float *b, size_t n, uint32_t max_ulp, const char *what);

/* Asserts that `status` equals `expected` and, for failures, that the
 * last-error message contains `needle` (NULL: only non-empty). */
void tu_assert_status(ddgan_status_t status, ddgan_status_t expected, const char *needle);

/* A fresh temporary directory (removed with tu_rmdir_recursive); returns a static-free malloc'd path. */
char *tu_make_tmpdir(void);
void tu_rmdir_recursive(const char *path);

/* Reads a whole file (malloc'd, *len set); NULL on failure. */
unsigned char *tu_read_file(const char *path, size_t *len);
/* Writes a whole file; returns 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

#endif
