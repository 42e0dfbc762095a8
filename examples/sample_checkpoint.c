/*
 * Draws samples from a trained model: a trainer checkpoint written by
 * ddgan_trainer_save or `ddgan train` (its EMA weights when it has them), or
 * a weights file. Prints the first samples (2-D data) or their statistics.
 *
 *   sample_checkpoint FILE [n] [seed]
 */
#include <ddgan/ddgan.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sample_checkpoint FILE [n] [seed]\n");
        return 2;
    }
    const char *path = argv[1];
    const size_t n = argc > 2 ? (size_t)atol(argv[2]) : 16;
    const uint64_t seed = argc > 3 ? (uint64_t)atoll(argv[3]) : 0;
    ddgan_context_t ctx = NULL;
    ddgan_generator_t g = NULL;
    ddgan_schedule_t s = NULL;
    float *x = NULL;
    int rc = 1;
    if (ddgan_context_create(&ctx, NULL) != DDGAN_OK)
        goto fail;
    /* A trainer checkpoint has a "format" key; it holds G. (training) and,
     * with use_ema, G_ema. weights. A weights file has neither prefix. */
    char format[64] = "";
    if (ddgan_file_metadata(path, "format", format, sizeof format, NULL) == DDGAN_OK) {
        if (ddgan_generator_load_prefixed(&g, ctx, path, "G_ema.", "config") != DDGAN_OK &&
            ddgan_generator_load_prefixed(&g, ctx, path, "G.", "config") != DDGAN_OK)
            goto fail;
    } else if (ddgan_generator_load(&g, ctx, path) != DDGAN_OK) {
        goto fail;
    }
    /* the schedule travels with the weights */
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    if (ddgan_generator_schedule_config(g, &sc) != DDGAN_OK || ddgan_schedule_create(&s, ctx, &sc) != DDGAN_OK)
        goto fail;
    int c = 0, h = 0, w = 0;
    ddgan_generator_shape(g, &c, &h, &w, NULL);
    const size_t per = (size_t)c * (size_t)h * (size_t)w;
    x = malloc(n * per * sizeof(float));
    if (!x) {
        fprintf(stderr, "sample_checkpoint: out of memory\n");
        goto done;
    }
    if (ddgan_sample(g, s, n, seed, x) != DDGAN_OK)
        goto fail;
    printf("%zu samples of %d x %d x %d from %s (%s, T = %d, backend %s)\n", n, c, h, w, path,
           *format ? format : "weights", sc.num_timesteps, ddgan_context_backend(ctx));
    if (per == 2) {
        for (size_t i = 0; i < n && i < 8; i++)
            printf("  (%+.3f, %+.3f)\n", x[2 * i], x[2 * i + 1]);
    } else {
        double sum = 0, sq = 0;
        for (size_t i = 0; i < n * per; i++) {
            sum += x[i];
            sq += (double)x[i] * x[i];
        }
        const double mean = sum / (double)(n * per);
        printf("  pixel mean %.4f, std %.4f\n", mean, sqrt(sq / (double)(n * per) - mean * mean));
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "sample_checkpoint: %s\n", ddgan_last_error());
done:
    free(x);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
    return rc;
}
