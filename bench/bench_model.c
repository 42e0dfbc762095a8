/* bench_model: whole-model timings through the public API on one backend,
 * for scripts/gpu-check.sh (docs/backend-cuda.md):
 *  - sampling: N images (default 100) of the CIFAR-10 generator (the
 *    defaults of ddgan_generator_config_init: NCSN++ nf 128, ch_mult 1 2 2 2,
 *    2 res blocks, attention at 16, 32x32x3) with T = 4 steps (ddgan_sample);
 *  - training: iterations per second of ddgan_trainer_step at batch B
 *    (default 64) with the CIFAR-10 Discriminator_small (R1 every step, the
 *    train_ddgan.py default lazy_reg).
 * One warm-up call each (memory planning, cuDNN plans) is not timed. The
 * result is one line "bench_model backend=... key=value ..." for the script.
 *
 *   bench_model [--backend NAME] [--samples N] [--train-batch B]
 *               [--train-iters K] [--nf NF] [--no-train] [--no-sample]
 *
 * --nf shrinks the generator width (smoke runs on slow machines only; the
 * reported numbers are only comparable at the default 128). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddgan/ddgan.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_model: %s: %s\n", what, ddgan_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *backend = "auto";
    int samples = 100, batch = 64, iters = 10, nf = 128, do_train = 1, do_sample = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc)
            backend = argv[++i];
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train-batch") && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--train-iters") && i + 1 < argc)
            iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--nf") && i + 1 < argc)
            nf = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-train"))
            do_train = 0;
        else if (!strcmp(argv[i], "--no-sample"))
            do_sample = 0;
        else {
            fprintf(stderr,
                    "usage: %s [--backend NAME] [--samples N] [--train-batch B] [--train-iters K] "
                    "[--nf NF] [--no-train] [--no-sample]\n",
                    argv[0]);
            return 2;
        }
    }
    if (samples < 1 || batch < 1 || iters < 1 || nf < 8) {
        fprintf(stderr, "bench_model: sizes must be positive (nf >= 8)\n");
        return 2;
    }
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = backend;
    cc.seed = 1;
    ddgan_context_t ctx = NULL;
    if (ddgan_context_create(&ctx, &cc) != DDGAN_OK)
        return fail("ddgan_context_create");

    ddgan_generator_config gc;
    ddgan_generator_config_init(&gc, sizeof gc); /* the CIFAR-10 architecture, T = 4 */
    gc.num_channels_dae = nf;
    ddgan_generator_t g = NULL;
    if (ddgan_generator_create(&g, ctx, &gc) != DDGAN_OK)
        return fail("ddgan_generator_create");
    int C, H, W, nz;
    if (ddgan_generator_shape(g, &C, &H, &W, &nz) != DDGAN_OK)
        return fail("ddgan_generator_shape");
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    sc.num_timesteps = gc.num_timesteps;
    ddgan_schedule_t s = NULL;
    if (ddgan_schedule_create(&s, ctx, &sc) != DDGAN_OK)
        return fail("ddgan_schedule_create");
    const size_t img = (size_t)C * H * W;
    double sample_s = -1, train_its = -1;

    if (do_sample) {
        float *out = malloc(sizeof(float) * img * (size_t)samples);
        if (!out)
            return 1;
        if (ddgan_sample(g, s, (size_t)samples, 7, out) != DDGAN_OK) /* warm-up */
            return fail("ddgan_sample");
        const double t0 = now();
        if (ddgan_sample(g, s, (size_t)samples, 8, out) != DDGAN_OK)
            return fail("ddgan_sample");
        sample_s = now() - t0;
        free(out);
    }

    if (do_train) {
        ddgan_discriminator_config dc;
        ddgan_discriminator_config_init(&dc, sizeof dc); /* CIFAR-10 Discriminator_small */
        dc.nc = 2 * C;
        dc.image_size = H;
        ddgan_discriminator_t d = NULL;
        if (ddgan_discriminator_create(&d, ctx, &dc) != DDGAN_OK)
            return fail("ddgan_discriminator_create");
        ddgan_trainer_config tc;
        ddgan_trainer_config_init(&tc, sizeof tc);
        tc.batch_size = batch;
        ddgan_trainer_t tr = NULL;
        if (ddgan_trainer_create(&tr, g, d, s, &tc) != DDGAN_OK)
            return fail("ddgan_trainer_create");
        float *x0 = malloc(sizeof(float) * img * (size_t)batch);
        if (!x0)
            return 1;
        /* data in [-1, 1]: a fixed smooth pattern (the timing does not depend on it) */
        for (size_t i = 0; i < img * (size_t)batch; i++)
            x0[i] = (float)((int)(i * 2654435761u % 2001u) - 1000) / 1000.0f;
        if (ddgan_trainer_step(tr, x0, (size_t)batch, NULL) != DDGAN_OK) /* warm-up */
            return fail("ddgan_trainer_step");
        const double t0 = now();
        for (int k = 0; k < iters; k++)
            if (ddgan_trainer_step(tr, x0, (size_t)batch, NULL) != DDGAN_OK)
                return fail("ddgan_trainer_step");
        train_its = iters / (now() - t0);
        free(x0);
        ddgan_trainer_destroy(tr);
        ddgan_discriminator_destroy(d);
    }

    printf("bench_model backend=%s nf=%d samples=%d steps=%d sample_s=%.4f train_batch=%d "
           "train_iters=%d train_it_per_s=%.4f\n",
           ddgan_context_backend(ctx), nf, samples, gc.num_timesteps, sample_s, batch, iters,
           train_its);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
    return 0;
}
