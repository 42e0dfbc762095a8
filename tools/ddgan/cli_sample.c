/* `ddgan sample`, and what other commands share: contexts, loading the model
 * of any file the library writes, drawing samples. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int cli_context(ddgan_context_t *ctx, const char *backend, uint64_t seed, int threads)
{
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = backend && strcmp(backend, "auto") != 0 ? backend : NULL;
    cc.seed = seed;
    cc.num_threads = threads;
    if (ddgan_context_create(ctx, &cc) != DDGAN_OK) {
        cli_lib_error("cannot create a context");
        return -1;
    }
    return 0;
}

char *cli_file_meta(const char *path, const char *key)
{
    size_t len = 0;
    if (ddgan_file_metadata(path, key, NULL, 0, &len) != DDGAN_OK)
        return NULL;
    char *s = malloc(len + 1);
    if (s && ddgan_file_metadata(path, key, s, len + 1, NULL) != DDGAN_OK) {
        free(s);
        s = NULL;
    }
    return s;
}

int cli_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int cli_load_model(ddgan_context_t ctx, const char *path, int no_ema, ddgan_generator_t *g,
                   ddgan_schedule_t *s, int *is_ddpm)
{
    *g = NULL;
    *s = NULL;
    *is_ddpm = 0;
    /* the file must be readable and hold a config: this gives the library's
     * message (missing file, not safetensors, ...) */
    size_t len = 0;
    if (ddgan_file_metadata(path, "config", NULL, 0, &len) != DDGAN_OK) {
        cli_lib_error("cannot read the model");
        return -1;
    }
    char *format = cli_file_meta(path, "format");
    char *tcfg = cli_file_meta(path, "trainer_config");
    ddgan_status_t st;
    if (!format) {
        st = ddgan_generator_load(g, ctx, path);
    } else if (!strcmp(format, "ddgan-checkpoint/1") || !strcmp(format, "ddgan-ddpm-checkpoint/1")) {
        *is_ddpm = format[6] == 'd';
        const int has_ema = tcfg && (strstr(tcfg, "\"use_ema\":1") || strstr(tcfg, "\"use_ema\": 1"));
        st = ddgan_generator_load_prefixed(g, ctx, path, has_ema && !no_ema ? "G_ema." : "G.", "config");
    } else {
        cli_error("%s: unknown file format \"%s\"", path, format);
        free(format);
        free(tcfg);
        return -1;
    }
    free(format);
    free(tcfg);
    if (st != DDGAN_OK) {
        cli_lib_error("cannot load the model");
        return -1;
    }
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    st = ddgan_generator_schedule_config(*g, &sc);
    if (*is_ddpm)
        sc.kind = DDGAN_SCHEDULE_DDPM_LINEAR;
    if (st == DDGAN_OK)
        st = ddgan_schedule_create(s, ctx, &sc);
    if (st != DDGAN_OK) {
        cli_lib_error("cannot build the model's schedule");
        ddgan_generator_destroy(*g);
        *g = NULL;
        return -1;
    }
    return 0;
}

int cli_draw(ddgan_generator_t g, ddgan_schedule_t s, int is_ddpm, int ddpm_steps, size_t n, uint64_t seed,
             float *out, double *seconds)
{
    const double t0 = cli_now();
    const ddgan_status_t st =
        is_ddpm ? ddgan_ddpm_sample(g, s, n, ddpm_steps, seed, out) : ddgan_sample(g, s, n, seed, out);
    if (seconds)
        *seconds = cli_now() - t0;
    if (st != DDGAN_OK) {
        cli_lib_error("sampling failed");
        return -1;
    }
    return 0;
}

/* Mode centres of the 2-D dataset a checkpoint was trained on (from its
 * run options), for the scatter plot; returns the count (0: unknown). */
int cli_mixture_modes(const char *ckpt, float *modes)
{
    char *opts = cli_file_meta(ckpt, "run_options");
    int k = 0;
    if (opts && strstr(opts, "dataset=grid25\n")) {
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++, k++) {
                modes[2 * k] = (float)(-4 + 2 * i);
                modes[2 * k + 1] = (float)(-4 + 2 * j);
            }
    } else if (opts && strstr(opts, "dataset=ring8\n")) {
        for (k = 0; k < 8; k++) {
            modes[2 * k] = (float)cos(2.0 * M_PI * k / 8.0);
            modes[2 * k + 1] = (float)sin(2.0 * M_PI * k / 8.0);
        }
    }
    free(opts);
    return k;
}

static void sample_usage(void)
{
    printf("usage: ddgan sample --ckpt FILE --n N --out FILE.png|FILE.npy [--seed S] [--no-ema]\n"
                    "                    [--steps K] [--backend B] [--threads N]\n"
                    "  --ckpt     a trainer checkpoint or a weights file\n"
                    "  --n        number of samples\n"
                    "  --out      .png: a grid (images) or a scatter plot (2-D data); .npy: float32 array\n"
                    "             [N,C,H,W] (images, in [-1, 1]) or [N,2] (2-D, data units)\n"
                    "  --seed     sampling seed (default 0); the same seed gives the same samples\n"
                    "  --no-ema   use the training weights instead of the EMA weights\n"
                    "  --steps    DDPM models: sampling steps (default 100); DDGAN: must be T\n");
}

/* Reads "--flag value" style arguments shared by sample and eval. */
int cli_simple_args(int argc, char **argv, const char *const *names, const char **values, int nflags,
                    void (*usage)(void))
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return CLI_OK + 100;
        }
        int found = -1;
        const char *a = argv[i];
        for (int k = 0; k < nflags; k++) {
            const size_t l = strlen(names[k]);
            if (!strncmp(a, names[k], l) && (a[l] == 0 || a[l] == '='))
                found = k;
        }
        if (found < 0) {
            cli_error("unknown option '%s' (--help lists the options)", a);
            return CLI_USAGE;
        }
        const char *eq = strchr(a, '=');
        const char *name = names[found];
        if (eq) {
            values[found] = eq + 1;
        } else if (strcmp(name, "--no-ema") == 0 || strcmp(name, "--ema") == 0 || strcmp(name, "--json") == 0 ||
                   strcmp(name, "--real") == 0) {
            values[found] = "1";
        } else {
            if (i + 1 >= argc) {
                cli_error("%s needs a value", name);
                return CLI_USAGE;
            }
            values[found] = argv[++i];
        }
    }
    return CLI_OK;
}

/* Parses a non-negative integer argument. */
int cli_parse_count(const char *name, const char *v, long long min, long long max, long long *out)
{
    char *end = NULL;
    const long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || end == v || *end || x < min || x > max) {
        cli_error("%s must be an integer in [%lld, %lld], not '%s'", name, min, max, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

int cmd_sample(int argc, char **argv)
{
    static const char *const names[] = {"--ckpt", "--n", "--out", "--seed", "--no-ema", "--ema",
                                        "--steps", "--backend", "--threads"};
    enum { CKPT, N, OUT, SEED, NO_EMA, EMA, STEPS, BACKEND, THREADS, NF };
    const char *v[NF] = {0};
    int rc = cli_simple_args(argc, argv, names, v, NF, sample_usage);
    if (rc != CLI_OK)
        return rc == CLI_OK + 100 ? CLI_OK : rc;
    if (!v[CKPT] || !v[N] || !v[OUT]) {
        cli_error("sample needs --ckpt FILE, --n N and --out FILE.png|FILE.npy (ddgan sample --help)");
        return CLI_USAGE;
    }
    long long n = 0, seed = 0, steps = 0, threads = 0;
    if (cli_parse_count("--n", v[N], 1, 1000000, &n) ||
        (v[SEED] && cli_parse_count("--seed", v[SEED], 0, INT64_MAX, &seed)) ||
        (v[STEPS] && cli_parse_count("--steps", v[STEPS], 1, 100000, &steps)) ||
        (v[THREADS] && cli_parse_count("--threads", v[THREADS], 0, 4096, &threads)))
        return CLI_USAGE;
    const int png = cli_has_ext(v[OUT], ".png"), npy = cli_has_ext(v[OUT], ".npy");
    if (!png && !npy) {
        cli_error("--out must end in .png or .npy: '%s'", v[OUT]);
        return CLI_USAGE;
    }
    ddgan_context_t ctx = NULL;
    if (cli_context(&ctx, v[BACKEND], 0, (int)threads))
        return CLI_FAIL;
    ddgan_generator_t g = NULL;
    ddgan_schedule_t s = NULL;
    int is_ddpm = 0;
    rc = CLI_FAIL;
    float *out = NULL;
    if (cli_load_model(ctx, v[CKPT], v[NO_EMA] != NULL, &g, &s, &is_ddpm))
        goto done;
    const int T = ddgan_schedule_num_timesteps(s);
    if (!is_ddpm && steps && steps != T) {
        cli_error("--steps %lld: this DDGAN model takes exactly T = %d steps", steps, T);
        rc = CLI_USAGE;
        goto done;
    }
    const int ddpm_steps = steps ? (int)steps : (T < 100 ? T : 100);
    int c = 0, h = 0, w = 0;
    ddgan_generator_shape(g, &c, &h, &w, NULL);
    const size_t per = (size_t)c * (size_t)h * (size_t)w;
    out = malloc((size_t)n * per * sizeof(float));
    if (!out) {
        cli_error("out of memory for %lld samples", n);
        goto done;
    }
    double sec = 0;
    if (cli_draw(g, s, is_ddpm, ddpm_steps, (size_t)n, (uint64_t)seed, out, &sec))
        goto done;
    const int two_d = c == 2 && h == 1 && w == 1;
    if (npy) {
        const size_t shape4[4] = {(size_t)n, (size_t)c, (size_t)h, (size_t)w}, shape2[2] = {(size_t)n, 2};
        if (cli_write_npy(v[OUT], out, two_d ? shape2 : shape4, two_d ? 2 : 4))
            goto done;
    } else if (two_d) {
        float modes[2 * 25];
        const int k = cli_mixture_modes(v[CKPT], modes);
        if (cli_write_scatter_png(v[OUT], out, (size_t)n, modes, k))
            goto done;
    } else if (cli_write_grid_png(v[OUT], out, (size_t)n, c, h, w)) {
        goto done;
    }
    printf("wrote %lld samples to %s: %d %s steps, %.3f s, %.1f samples/s (backend %s)\n", n, v[OUT],
           is_ddpm ? ddpm_steps : T, is_ddpm ? "DDPM" : "DDGAN", sec, sec > 0 ? (double)n / sec : 0.0,
           ddgan_context_backend(ctx));
    rc = CLI_OK;
done:
    free(out);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
    return rc;
}
