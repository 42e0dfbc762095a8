/* Plain regression driver: feeds every file named on the command line (or
 * found directly in a folder named there) to LLVMFuzzerTestOneInput, in
 * sorted order. Built in every configuration, so each ctest suite replays
 * the fuzz corpora under its own compiler and sanitizers. A crash aborts the
 * process (ASan/UBSan or FZ_ASSERT); an empty corpus is an error, so a lost
 * corpus folder cannot pass silently. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0;
    if (argc == 3 && strcmp(argv[1], "--make-seeds") == 0) {
        if (!fz_make_seeds) {
            fprintf(stderr, "replay: this target makes no seeds\n");
            return 1;
        }
        return fz_make_seeds(argv[2]) == 0 ? 0 : 1;
    }
    for (int a = 1; a < argc; a++) {
        struct stat sb;
        if (stat(argv[a], &sb) != 0) {
            fprintf(stderr, "replay: %s does not exist\n", argv[a]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[a]) != 0)
                return 1;
            count++;
            continue;
        }
        DIR *d = opendir(argv[a]);
        if (!d)
            return 1;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                names = realloc(names, cap * sizeof *names);
                if (!names)
                    return 1;
            }
            size_t len = strlen(argv[a]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            if (!names[n])
                return 1;
            snprintf(names[n], len, "%s/%s", argv[a], e->d_name);
            n++;
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp);
        for (size_t i = 0; i < n; i++) {
            if (run_file(names[i]) != 0)
                return 1;
            free(names[i]);
            count++;
        }
        free(names);
    }
    printf("replay: %d inputs, no crash\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no input files\n");
        return 1;
    }
    return 0;
}
