/* Thread safety (docs/hardening.md, header rule "one handle per thread at a
 * time"): two contexts, each with its own networks and trainer, train in two
 * threads at the same time and must give bit-identical results to the same
 * runs done one after the other; concurrent sampling likewise; last-error
 * messages are per thread. Built in every suite and in the ThreadSanitizer
 * suite (scripts/test.sh: tsan-ref, OpenMP off), where a data race between
 * the two handles is reported as an error. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "toy_rig.h"

#define STEPS 40

typedef struct job {
    uint64_t seed;
    int threads;
    uint64_t hash;
    float samples[2 * 16];
    ddgan_status_t st;
    char ckpt[4200];
    pthread_barrier_t *start;
} job;

static void *train(void *arg)
{
    job *j = arg;
    tr_rig r;
    j->st = tr_rig_make(&r, j->seed, j->threads);
    if (j->start)
        pthread_barrier_wait(j->start); /* both threads step at the same time */
    if (j->st != DDGAN_OK)
        return NULL;
    j->st = tr_rig_run_to(&r, STEPS);
    if (j->st == DDGAN_OK && j->ckpt[0])
        j->st = ddgan_trainer_save(r.tr, j->ckpt);
    if (j->st == DDGAN_OK)
        j->st = ddgan_sample(r.g, r.s, 16, j->seed, j->samples);
    j->hash = tr_rig_hash(&r);
    tr_rig_free(&r);
    return NULL;
}

static void run_pair(int threads, int concurrent, job out[2], const char *dir)
{
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    for (int i = 0; i < 2; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].seed = 100 + (uint64_t)i;
        out[i].threads = threads;
        out[i].start = concurrent ? &bar : NULL;
        if (dir)
            snprintf(out[i].ckpt, sizeof out[i].ckpt, "%s/ck%d-%d.safetensors", dir, i, concurrent);
    }
    if (concurrent) {
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&t[i], NULL, train, &out[i]), 0);
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
    } else {
        for (int i = 0; i < 2; i++)
            train(&out[i]);
    }
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < 2; i++) {
        if (out[i].st != DDGAN_OK)
            print_error("run %d: %s\n", i, ddgan_last_error());
        assert_int_equal(out[i].st, DDGAN_OK);
    }
}

static void test_two_trainers_concurrently(void **state)
{
    (void)state;
    char *dir = tu_make_tmpdir();
    for (int threads = 1; threads <= 2; threads++) {
        job seq[2], par[2];
        run_pair(threads, 0, seq, dir);
        run_pair(threads, 1, par, dir);
        assert_true(seq[0].hash != seq[1].hash); /* different seeds: the comparison means something */
        for (int i = 0; i < 2; i++) {
            assert_true(seq[i].hash == par[i].hash);
            assert_memory_equal(seq[i].samples, par[i].samples, sizeof seq[i].samples);
            /* the checkpoints written concurrently are byte-identical to the sequential ones */
            size_t la = 0, lb = 0;
            unsigned char *a = tu_read_file(seq[i].ckpt, &la), *b = tu_read_file(par[i].ckpt, &lb);
            assert_non_null(a);
            assert_non_null(b);
            assert_int_equal(la, lb);
            assert_memory_equal(a, b, la);
            free(a);
            free(b);
        }
        print_message("    %d worker thread(s) per context: 2 concurrent runs of %d steps == sequential\n",
                      threads, STEPS);
    }
    tu_rmdir_recursive(dir);
    free(dir);
}

/* Last-error messages are thread-local: a failure on one thread does not
 * change what another thread reads. */
static void *fail_here(void *arg)
{
    (void)arg;
    ddgan_clear_last_error();
    ddgan_status_t st = ddgan_schedule_create(NULL, NULL, NULL);
    return (void *)(intptr_t)(st != DDGAN_OK && strstr(ddgan_last_error(), "out") != NULL);
}

static void test_last_error_is_per_thread(void **state)
{
    (void)state;
    ddgan_clear_last_error();
    assert_int_not_equal(ddgan_trainer_step(NULL, NULL, 1, NULL), DDGAN_OK);
    char mine[512];
    snprintf(mine, sizeof mine, "%s", ddgan_last_error());
    assert_true(mine[0] != '\0');
    pthread_t t;
    void *ok = NULL;
    assert_int_equal(pthread_create(&t, NULL, fail_here, NULL), 0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_true(ok != NULL);
    assert_string_equal(ddgan_last_error(), mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_trainers_concurrently),
        cmocka_unit_test(test_last_error_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
