/* Shared by the libFuzzer targets and their plain replay driver.
 *
 * Every target defines LLVMFuzzerTestOneInput(); with -DDDGAN_FUZZ=ON (clang)
 * it is linked with libFuzzer, and in every build it is also linked with
 * replay_main.c, which feeds it each file of tests/fuzz/corpus/<target>/ so
 * ctest replays the corpora (and every reproducer of a past finding). */
#ifndef DDGAN_FUZZ_COMMON_H
#define DDGAN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes the input to this process's scratch file (created on first use in
 * $TMPDIR or /tmp, removed at exit) and returns its path. The loaders under
 * test take paths, so the bytes must go through a real file. Aborts the
 * harness (never the library) if the file cannot be written. */
const char *fz_write_input(const uint8_t *data, size_t size, const char *suffix);

/* Optional, defined by targets whose seeds must come from the library itself
 * (fuzz_checkpoint): writes valid files into `dir`. `fuzz_replay_<t>
 * --make-seeds DIR` calls it (tests/fuzz/make_corpus.py). */
int fz_make_seeds(const char *dir) __attribute__((weak));

/* Harness invariant: a failing call must leave a non-empty message. */
void fz_check_failure(ddgan_status_t st, const char *what);

/* Aborts the harness with a message when `cond` is false (a finding). */
#define FZ_ASSERT(cond, what) fz_assert((cond), #cond, (what), __FILE__, __LINE__)
void fz_assert(int ok, const char *cond, const char *what, const char *file, int line);

#endif
