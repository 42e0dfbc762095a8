#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_shared_path(const char *relative)
{
    static char buf[4096];
    struct stat st;
    if (stat(DDGAN_SHARED_DIR, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "note: %s not found; tests that need ../shared are skipped\n",
                DDGAN_SHARED_DIR);
        return NULL;
    }
    snprintf(buf, sizeof buf, "%s/%s", DDGAN_SHARED_DIR, relative);
    if (stat(buf, &st) != 0) {
        fprintf(stderr, "note: %s not found; test skipped\n", buf);
        return NULL;
    }
    return buf;
}

void tu_assert_allclose_f32(const float *a, const float *b, size_t n, double rtol, double atol,
                            const char *what)
{
    size_t worst = 0;
    double worst_excess = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        double lim = atol + rtol * fabs((double)b[i]);
        if (!(d <= lim)) {
            double excess = isnan(d) ? INFINITY : d - lim;
            if (!bad || excess > worst_excess) {
                worst = i;
                worst_excess = excess;
            }
            bad = 1;
        }
    }
    if (bad) {
        print_error("%s: mismatch at [%zu]: got %.9g expected %.9g (rtol %g atol %g)\n", what, worst,
                    (double)a[worst], (double)b[worst], rtol, atol);
        fail();
    }
}

void tu_assert_allclose_f64(const double *a, const double *b, size_t n, double rtol, double atol,
                            const char *what)
{
    size_t worst = 0;
    double worst_excess = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        double lim = atol + rtol * fabs(b[i]);
        if (!(d <= lim)) {
            double excess = isnan(d) ? INFINITY : d - lim;
            if (!bad || excess > worst_excess) {
                worst = i;
                worst_excess = excess;
            }
            bad = 1;
        }
    }
    if (bad) {
        print_error("%s: mismatch at [%zu]: got %.17g expected %.17g (rtol %g atol %g)\n", what,
                    worst, a[worst], b[worst], rtol, atol);
        fail();
    }
}

/* Maps a float's bits onto a monotonically ordered integer line. */
static int64_t ordered_bits(float f)
{
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i < 0 ? (int64_t)INT32_MIN - (int64_t)i : (int64_t)i;
}

void tu_assert_ulp_f32(const float *a, const float *b, size_t n, uint32_t max_ulp, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        int64_t d = ordered_bits(a[i]) - ordered_bits(b[i]);
        if (d < 0)
            d = -d;
        if (isnan(a[i]) || isnan(b[i]) || d > (int64_t)max_ulp) {
            print_error("%s: [%zu] got %.9g expected %.9g (%lld ulp > %u)\n", what, i, (double)a[i],
                        (double)b[i], (long long)d, max_ulp);
            fail();
        }
    }
}

void tu_assert_status(ddgan_status_t status, ddgan_status_t expected, const char *needle)
{
    if (status != expected) {
        print_error("status %d (%s) expected %d (%s); last error: %s\n", (int)status,
                    ddgan_status_string(status), (int)expected, ddgan_status_string(expected),
                    ddgan_last_error());
        fail();
    }
    if (expected != DDGAN_OK) {
        const char *msg = ddgan_last_error();
        if (msg[0] == '\0') {
            print_error("status %d but the last-error message is empty\n", (int)status);
            fail();
        }
        if (needle && !strstr(msg, needle)) {
            print_error("last error \"%s\" does not mention \"%s\"\n", msg, needle);
            fail();
        }
    }
}

char *tu_make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/ddgan-test-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    char *copy = strdup(dir);
    assert_non_null(copy);
    return copy;
}

void tu_rmdir_recursive(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    char child[4096];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            tu_rmdir_recursive(child);
        else
            unlink(child);
    }
    closedir(d);
    rmdir(path);
}

unsigned char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long sz = ftell(f);
    if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    unsigned char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)sz;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}
