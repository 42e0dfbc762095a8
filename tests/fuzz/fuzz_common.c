#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_paths[4][512];
static int g_registered;

static void remove_scratch(void)
{
    for (int i = 0; i < 4; i++)
        if (g_paths[i][0])
            unlink(g_paths[i]);
}

void fz_assert(int ok, const char *cond, const char *what, const char *file, int line)
{
    if (ok)
        return;
    fprintf(stderr, "%s:%d: fuzz invariant failed: %s (%s); last error: \"%s\"\n", file, line, cond,
            what ? what : "", ddgan_last_error());
    abort();
}

void fz_check_failure(ddgan_status_t st, const char *what)
{
    if (st == DDGAN_OK)
        return;
    FZ_ASSERT(st >= DDGAN_ERR_INVALID_ARGUMENT && st <= DDGAN_ERR_INTERNAL, what);
    /* an input can never be the library's bug: INTERNAL on bad input is a finding */
    FZ_ASSERT(st != DDGAN_ERR_INTERNAL, what);
    FZ_ASSERT(ddgan_last_error()[0] != '\0', what);
}

const char *fz_write_input(const uint8_t *data, size_t size, const char *suffix)
{
    /* one scratch file per suffix slot (a target may need ".png" and ".gz") */
    int slot = 0;
    if (suffix && strcmp(suffix, ".gz") == 0)
        slot = 1;
    else if (suffix && strcmp(suffix, ".png") == 0)
        slot = 2;
    else if (suffix && suffix[0])
        slot = 3;
    if (!g_paths[slot][0]) {
        const char *dir = getenv("TMPDIR");
        if (!dir || !dir[0])
            dir = "/tmp";
        snprintf(g_paths[slot], sizeof g_paths[slot], "%s/ddgan-fuzz-%ld-%d%s", dir, (long)getpid(),
                 slot, suffix ? suffix : "");
        if (!g_registered) {
            atexit(remove_scratch);
            g_registered = 1;
        }
    }
    FILE *f = fopen(g_paths[slot], "wb");
    FZ_ASSERT(f != NULL, g_paths[slot]);
    FZ_ASSERT(size == 0 || fwrite(data, 1, size, f) == size, "writing the scratch file");
    FZ_ASSERT(fclose(f) == 0, "closing the scratch file");
    return g_paths[slot];
}
