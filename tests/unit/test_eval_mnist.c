/* The digit classifier on mnist-10k (../shared): trained with the defaults
 * of ddgan_classifier_train on the 9,000 training digits (padded to 32 x 32,
 * [-1, 1]) on the "cpu" plug-in, it must reach >= 98% on the 1,000 test
 * digits; then the real-vs-real floors of the image metrics and StackedMNIST
 * labels through the classifier. Skipped without ../shared, in sanitizer
 * builds, and when the cpu plug-in is not built ("ref" takes many minutes).
 * About 50 s on two busy cores. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIX 1024

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    assert_non_null(p);
    return p;
}

static float *load_mnist(const char *dir, int split, size_t *n, int64_t **labels)
{
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_IDX;
    dc.path = dir;
    dc.split = split;
    dc.pad = 2;
    dc.shuffle = 0;
    ddgan_dataset_t ds = NULL;
    ddgan_status_t st = ddgan_dataset_open(&ds, &dc);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    *n = (size_t)ddgan_dataset_size(ds);
    float *x = xcalloc(*n * PIX, sizeof *x);
    *labels = xcalloc(*n, sizeof **labels);
    for (size_t i = 0; i < *n; i++)
        assert_int_equal(ddgan_dataset_get(ds, (int64_t)i, x + i * PIX, *labels + i), DDGAN_OK);
    ddgan_dataset_destroy(ds);
    return x;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void test_classifier_mnist(void **state)
{
    (void)state;
    const char *dir = tu_shared_path("data/mnist-10k");
    TU_REQUIRE_SHARED(dir);
    const char *san = getenv("DDGAN_SANITIZED");
    if (san && *san) {
        print_message("[  SKIP    ] sanitizer build: the MNIST training run is skipped\n");
        skip();
    }
    setenv("DDGAN_BACKEND_PATH", DDGAN_BUILD_PLUGIN_DIR, 1);
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = "cpu";
    cc.num_threads = 2; /* the cpu plug-in's results depend on the thread count */
    ddgan_context_t ctx = NULL;
    ddgan_status_t cst = ddgan_context_create(&ctx, &cc);
    unsetenv("DDGAN_BACKEND_PATH");
    if (cst != DDGAN_OK) {
        print_message("[  SKIP    ] the cpu plug-in is unavailable (%s)\n", ddgan_last_error());
        skip();
    }
    size_t ntr = 0, nte = 0;
    int64_t *ltr = NULL, *lte = NULL;
    float *xtr = load_mnist(dir, DDGAN_DATASET_TRAIN, &ntr, &ltr);
    float *xte = load_mnist(dir, DDGAN_DATASET_TEST, &nte, &lte);
    assert_int_equal(ntr, 9000);
    assert_int_equal(nte, 1000);
    const double t0 = now();
    ddgan_classifier_t c = NULL;
    ddgan_status_t st = ddgan_classifier_train(&c, ctx, xtr, ltr, ntr, NULL);
    if (st != DDGAN_OK)
        print_error("%s\n", ddgan_last_error());
    assert_int_equal(st, DDGAN_OK);
    const double t1 = now();
    double acc = 0.0;
    assert_int_equal(ddgan_classifier_accuracy(c, xte, lte, nte, &acc), DDGAN_OK);
    print_message("    classifier (backend %s): test accuracy %.4f, training %.1f s\n",
                  ddgan_context_backend(ctx), acc, t1 - t0);
    assert_true(acc >= 0.98);

    /* floors: real against real (test set halves) */
    ddgan_image_metrics im;
    ddgan_image_metrics_init(&im, sizeof im);
    assert_int_equal(ddgan_eval_images(c, xte, 500, xte + 500 * PIX, 500, 1, &im), DDGAN_OK);
    print_message("    real vs real (500/500): Frechet %.3f, precision %.3f, recall %.3f\n", im.frechet,
                  im.precision, im.recall);
    assert_true(im.precision > 0.6 && im.recall > 0.6);
    /* a "generator" collapsed onto one digit is far worse */
    float *one = xcalloc(500 * PIX, sizeof *one);
    size_t k = 0;
    for (size_t i = 0; i < nte && k < 500; i++)
        if (lte[i] == 1)
            memcpy(one + (k++) * PIX, xte + i * PIX, PIX * sizeof *one);
    for (size_t j = k; j < 500; j++)
        memcpy(one + j * PIX, one + (j % k) * PIX, PIX * sizeof *one);
    ddgan_image_metrics bad;
    ddgan_image_metrics_init(&bad, sizeof bad);
    assert_int_equal(ddgan_eval_images(c, xte, 500, one, 500, 1, &bad), DDGAN_OK);
    print_message("    real vs only ones: Frechet %.3f, precision %.3f, recall %.3f\n", bad.frechet,
                  bad.precision, bad.recall);
    assert_true(bad.frechet > 5.0 * im.frechet);
    assert_true(bad.recall < 0.5 * im.recall);

    /* StackedMNIST from the test digits: labels through the classifier match the truth
     * for nearly every example (each channel right with p >= 0.98) */
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_STACKED_MNIST;
    dc.path = dir;
    dc.split = DDGAN_DATASET_TEST;
    dc.pad = 2;
    dc.shuffle = 0;
    dc.num_examples = 5000;
    ddgan_dataset_t ds = NULL;
    assert_int_equal(ddgan_dataset_open(&ds, &dc), DDGAN_OK);
    const size_t ns = 5000;
    float *xs = xcalloc(ns * 3 * PIX, sizeof *xs);
    int64_t *truth = xcalloc(ns, sizeof *truth), *pred = xcalloc(ns, sizeof *pred);
    for (size_t i = 0; i < ns; i++)
        assert_int_equal(ddgan_dataset_get(ds, (int64_t)i, xs + i * 3 * PIX, truth + i), DDGAN_OK);
    ddgan_stacked_metrics sm, st_true, sm_ds;
    ddgan_stacked_metrics_init(&sm, sizeof sm);
    ddgan_stacked_metrics_init(&st_true, sizeof st_true);
    ddgan_stacked_metrics_init(&sm_ds, sizeof sm_ds);
    assert_int_equal(ddgan_eval_stacked(c, xs, ns, &sm, pred), DDGAN_OK);
    assert_int_equal(ddgan_stacked_metrics_from_labels(truth, ns, &st_true), DDGAN_OK);
    assert_int_equal(ddgan_eval_stacked_dataset(c, ds, ns, &sm_ds), DDGAN_OK);
    size_t agree = 0;
    for (size_t i = 0; i < ns; i++)
        agree += pred[i] == truth[i];
    print_message("    StackedMNIST (%zu real): classifier %d modes KL %.4f; true labels %d modes KL %.4f; "
                  "label agreement %.4f\n",
                  ns, sm.modes, sm.kl, st_true.modes, st_true.kl, (double)agree / (double)ns);
    assert_true((double)agree / (double)ns >= 0.94);
    assert_int_equal(sm.modes, sm_ds.modes);
    assert_true(sm.kl == sm_ds.kl);
    assert_true(abs(sm.modes - st_true.modes) <= 10);
    ddgan_dataset_destroy(ds);

    free(xs);
    free(truth);
    free(pred);
    free(one);
    ddgan_classifier_destroy(c);
    free(xtr);
    free(xte);
    free(ltr);
    free(lte);
    ddgan_context_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classifier_mnist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
