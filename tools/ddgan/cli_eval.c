/*
 * `ddgan eval` (docs/cli.md, docs/eval.md): the metrics that fit the model's
 * data, each printed next to the same number for real data (the floor at
 * that sample size):
 *   2-D mixtures   modes covered, high-quality fraction, reverse KL
 *   images         modes and KL over the classifier's labels (StackedMNIST:
 *                  1000 modes 100a+10b+c; MNIST-like: 10 classes), Frechet
 *                  distance and precision / recall in the classifier's
 *                  feature space
 *   both           seconds per sample (batch 64, or n when smaller)
 * The classifier comes from --classifier, else classifier.safetensors next to
 * the checkpoint, else it is trained on the data's training split (about a
 * minute on "cpu") and saved there for the next run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- 2-D report after training, and 2-D eval ---------------------------- */

static int mixture_of(const char *dataset)
{
    if (dataset && !strcmp(dataset, "grid25"))
        return DDGAN_TOY_GRID25;
    if (dataset && !strcmp(dataset, "ring8"))
        return DDGAN_TOY_RING8;
    return -1;
}

/* The run option `name` stored in a checkpoint (malloc'd), or NULL. */
static char *stored_option(const char *ckpt, const char *name)
{
    char *text = cli_file_meta(ckpt, "run_options");
    if (!text)
        return NULL;
    char *found = NULL;
    const size_t nl = strlen(name);
    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = 0;
        if (!strncmp(line, name, nl) && line[nl] == '=') {
            found = strdup(line + nl + 1);
            break;
        }
        line = end ? end + 1 : NULL;
    }
    free(text);
    return found;
}

/* Real samples of a 2-D mixture (the floor of the metrics). */
static int real_2d(int mixture, size_t n, float *xy)
{
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = mixture == DDGAN_TOY_GRID25 ? DDGAN_DATASET_GRID25 : DDGAN_DATASET_RING8;
    dc.num_examples = (int64_t)n;
    dc.data_seed = 20260101; /* any fixed seed: a sample of the true distribution */
    dc.shuffle = 0;
    ddgan_dataset_t ds = NULL;
    ddgan_status_t st = ddgan_dataset_open(&ds, &dc);
    if (st == DDGAN_OK)
        st = ddgan_dataset_next_batch(ds, n, xy, NULL);
    ddgan_dataset_destroy(ds);
    if (st != DDGAN_OK) {
        cli_lib_error("real 2-D samples");
        return -1;
    }
    return 0;
}

static int score_2d(const float *xy, size_t n, int mixture, ddgan_toy_metrics *m)
{
    ddgan_toy_metrics_init(m, sizeof *m);
    if (ddgan_eval_toy(xy, n, mixture, m) != DDGAN_OK) {
        cli_lib_error("2-D metrics");
        return -1;
    }
    return 0;
}

static void print_2d(const char *what, const ddgan_toy_metrics *m)
{
    printf("%-22s modes %2d/%d   high quality %5.1f%%   reverse KL %.3f\n", what, m->modes, m->num_modes,
           100.0 * m->hq_fraction, m->reverse_kl);
}

int cli_report_2d(const char *ckpt, const float *xy, size_t n);
int cli_report_2d(const char *ckpt, const float *xy, size_t n)
{
    char *ds = stored_option(ckpt, "dataset");
    const int mixture = mixture_of(ds);
    free(ds);
    if (mixture < 0)
        return 0;
    ddgan_toy_metrics m;
    if (score_2d(xy, n, mixture, &m))
        return -1;
    char what[64];
    snprintf(what, sizeof what, "%zu samples (EMA):", n);
    print_2d(what, &m);
    return 0;
}

/* ---- images ------------------------------------------------------------- */

/* An MNIST-like dataset (IDX, padded to 32) of one split. */
static int open_idx(const char *path, int split, ddgan_dataset_t *ds)
{
    ddgan_dataset_config dc;
    ddgan_dataset_config_init(&dc, sizeof dc);
    dc.kind = DDGAN_DATASET_IDX;
    dc.path = path;
    dc.split = split;
    dc.pad = 2;
    dc.shuffle = 0;
    if (ddgan_dataset_open(ds, &dc) != DDGAN_OK) {
        cli_lib_error("cannot open the data");
        return -1;
    }
    return 0;
}

/* The first n examples (source order) of a dataset, and their labels. */
static int read_examples(ddgan_dataset_t ds, size_t n, size_t per, float *x, int64_t *labels)
{
    for (size_t i = 0; i < n; i++)
        if (ddgan_dataset_get(ds, (int64_t)i, x + i * per, labels ? labels + i : NULL) != DDGAN_OK) {
            cli_lib_error("reading the data");
            return -1;
        }
    return 0;
}

/* --classifier, the cached one next to the checkpoint, or a new one. */
static int get_classifier(ddgan_context_t ctx, const char *explicit_path, const char *ckpt, const char *data,
                          int json, ddgan_classifier_t *c)
{
    char cached[4200];
    const char *slash = strrchr(ckpt, '/');
    if (slash)
        snprintf(cached, sizeof cached, "%.*s/classifier.safetensors", (int)(slash - ckpt), ckpt);
    else
        snprintf(cached, sizeof cached, "classifier.safetensors");
    const char *path = explicit_path ? explicit_path : cli_file_exists(cached) ? cached : NULL;
    if (path) {
        if (ddgan_classifier_load(c, ctx, path) != DDGAN_OK) {
            cli_lib_error("classifier");
            return -1;
        }
        return 0;
    }
    /* train one on the labelled training split */
    ddgan_dataset_t train = NULL, test = NULL;
    if (open_idx(data, DDGAN_DATASET_TRAIN, &train))
        return -1;
    const size_t n = (size_t)ddgan_dataset_size(train), per = 32 * 32;
    float *x = malloc(n * per * sizeof(float));
    int64_t *y = malloc(n * sizeof(int64_t));
    int rc = -1;
    if (!x || !y) {
        cli_error("out of memory");
    } else if (!read_examples(train, n, per, x, y)) {
        if (!json)
            printf("training the digit classifier on %zu examples of %s (saved to %s) ...\n", n, data, cached);
        fflush(stdout);
        if (ddgan_classifier_train(c, ctx, x, y, n, NULL) != DDGAN_OK) {
            cli_lib_error("classifier training");
        } else if (ddgan_classifier_save(*c, cached) != DDGAN_OK) {
            cli_lib_error("saving the classifier");
        } else {
            rc = 0;
            /* its accuracy on the test split, when there is one */
            if (open_idx(data, DDGAN_DATASET_TEST, &test) == 0) {
                const size_t nt = (size_t)ddgan_dataset_size(test);
                float *xt = malloc(nt * per * sizeof(float));
                int64_t *yt = malloc(nt * sizeof(int64_t));
                double acc = 0;
                if (xt && yt && !read_examples(test, nt, per, xt, yt) &&
                    ddgan_classifier_accuracy(*c, xt, yt, nt, &acc) == DDGAN_OK && !json)
                    printf("classifier test accuracy: %.2f%% (%zu examples)\n", 100.0 * acc, nt);
                free(xt);
                free(yt);
            }
        }
    }
    free(x);
    free(y);
    ddgan_dataset_destroy(train);
    ddgan_dataset_destroy(test);
    return rc;
}

/* modes and KL(p || uniform) of labels over k classes */
static void label_stats(const int64_t *labels, size_t n, int k, int *modes, double *kl)
{
    int64_t counts[1000] = {0};
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= 0 && labels[i] < k)
            counts[labels[i]]++;
    *modes = 0;
    *kl = 0;
    for (int i = 0; i < k; i++)
        if (counts[i]) {
            const double p = (double)counts[i] / (double)n;
            (*modes)++;
            *kl += p * log(p * k);
        }
}

typedef struct image_scores {
    int modes, num_modes;
    double kl, frechet, precision, recall;
} image_scores;

static int score_images(ddgan_classifier_t c, const float *real, size_t n_real, const float *x, size_t n, int ch,
                        int stacked, image_scores *out)
{
    int64_t *labels = malloc(n * (size_t)ch * sizeof(int64_t));
    if (!labels) {
        cli_error("out of memory");
        return -1;
    }
    ddgan_status_t st;
    if (stacked) {
        ddgan_stacked_metrics sm;
        ddgan_stacked_metrics_init(&sm, sizeof sm);
        st = ddgan_eval_stacked(c, x, n, &sm, labels);
        out->modes = sm.modes;
        out->kl = sm.kl;
        out->num_modes = 1000;
    } else {
        st = ddgan_classifier_predict(c, x, n, ch, labels, NULL);
        if (st == DDGAN_OK)
            label_stats(labels, n * (size_t)ch, 10, &out->modes, &out->kl);
        out->num_modes = 10;
    }
    free(labels);
    ddgan_image_metrics im;
    ddgan_image_metrics_init(&im, sizeof im);
    if (st == DDGAN_OK)
        st = ddgan_eval_images(c, real, n_real, x, n, ch, &im);
    if (st != DDGAN_OK) {
        cli_lib_error("image metrics");
        return -1;
    }
    out->frechet = im.frechet;
    out->precision = im.precision;
    out->recall = im.recall;
    return 0;
}

static void eval_usage(void)
{
    printf("usage: ddgan eval --ckpt FILE [--n N] [--data PATH] [--dataset KIND] [--classifier FILE]\n"
           "                  [--json] [--seed S] [--steps K] [--no-ema] [--backend B] [--threads N]\n"
           "  2-D models: modes covered, high-quality fraction, reverse KL (default n 2500)\n"
           "  image models: modes and KL of the classifier's labels, Frechet distance, precision,\n"
           "  recall (default n 1000; the StackedMNIST protocol uses --n 26000); --data defaults to\n"
           "  the training data of the checkpoint's run\n"
           "  every number is also given for real data (the floor at that sample size)\n");
}

static void json_or_null(const char *key, double v, int last)
{
    if (isfinite(v))
        printf("\"%s\": %.6g%s", key, v, last ? "" : ", ");
    else
        printf("\"%s\": null%s", key, last ? "" : ", ");
}

int cmd_eval(int argc, char **argv)
{
    static const char *const names[] = {"--ckpt", "--n", "--data", "--dataset", "--classifier", "--json",
                                        "--seed", "--steps", "--no-ema", "--backend", "--threads"};
    enum { CKPT, N, DATA, DATASET, CLASSIFIER, JSON, SEED, STEPS, NO_EMA, BACKEND, THREADS, NF };
    const char *v[NF] = {0};
    int rc = cli_simple_args(argc, argv, names, v, NF, eval_usage);
    if (rc != CLI_OK)
        return rc == CLI_OK + 100 ? CLI_OK : rc;
    if (!v[CKPT]) {
        cli_error("eval needs --ckpt FILE (ddgan eval --help)");
        return CLI_USAGE;
    }
    long long n = 0, seed = 1, steps = 0, threads = 0;
    if ((v[N] && cli_parse_count("--n", v[N], 16, 1000000, &n)) ||
        (v[SEED] && cli_parse_count("--seed", v[SEED], 0, INT64_MAX, &seed)) ||
        (v[STEPS] && cli_parse_count("--steps", v[STEPS], 1, 100000, &steps)) ||
        (v[THREADS] && cli_parse_count("--threads", v[THREADS], 0, 4096, &threads)))
        return CLI_USAGE;
    const int json = v[JSON] != NULL;
    ddgan_context_t ctx = NULL;
    if (cli_context(&ctx, v[BACKEND], 0, (int)threads))
        return CLI_FAIL;
    ddgan_generator_t g = NULL;
    ddgan_schedule_t s = NULL;
    ddgan_classifier_t clf = NULL;
    int is_ddpm = 0;
    float *x = NULL, *real = NULL, *floor_x = NULL;
    char *stored_ds = NULL, *stored_data = NULL;
    rc = CLI_FAIL;
    if (cli_load_model(ctx, v[CKPT], v[NO_EMA] != NULL, &g, &s, &is_ddpm))
        goto done;
    const int T = ddgan_schedule_num_timesteps(s);
    const int ddpm_steps = steps ? (int)steps : (T < 100 ? T : 100);
    int c = 0, h = 0, w = 0;
    ddgan_generator_shape(g, &c, &h, &w, NULL);
    const int two_d = c == 2 && h == 1 && w == 1;
    stored_ds = stored_option(v[CKPT], "dataset");
    const char *dataset = v[DATASET] ? v[DATASET] : stored_ds;
    if (!n)
        n = two_d ? 2500 : 1000;
    const size_t per = (size_t)c * (size_t)h * (size_t)w;
    x = malloc((size_t)n * per * sizeof(float));
    real = malloc((size_t)n * per * sizeof(float));
    floor_x = malloc((size_t)n * per * sizeof(float));
    if (!x || !real || !floor_x) {
        cli_error("out of memory for %lld samples", n);
        goto done;
    }
    if (!json)
        printf("sampling %lld from %s ...\n", n, v[CKPT]);
    fflush(stdout);
    double sample_sec = 0, spi = 0;
    if (cli_draw(g, s, is_ddpm, ddpm_steps, (size_t)n, (uint64_t)seed, x, &sample_sec))
        goto done;
    const size_t nt = n < 64 ? (size_t)n : 64;
    if (ddgan_time_sampling(g, s, nt, is_ddpm ? ddpm_steps : 0, 1, (uint64_t)seed, &spi) != DDGAN_OK) {
        cli_lib_error("timing");
        goto done;
    }
    const int nsteps = is_ddpm ? ddpm_steps : T;
    if (two_d) {
        const int mixture = mixture_of(dataset);
        if (mixture < 0) {
            cli_error("which 2-D data? give --dataset grid25 or ring8");
            rc = CLI_USAGE;
            goto done;
        }
        ddgan_toy_metrics m, f;
        if (score_2d(x, (size_t)n, mixture, &m) || real_2d(mixture, (size_t)n, real) ||
            score_2d(real, (size_t)n, mixture, &f))
            goto done;
        if (json) {
            printf("{\"modes\": %d, \"num_modes\": %d, ", m.modes, m.num_modes);
            json_or_null("hq_fraction", m.hq_fraction, 0);
            json_or_null("reverse_kl", m.reverse_kl, 0);
            printf("\"num_samples\": %lld, \"steps\": %d, ", n, nsteps);
            json_or_null("sec_per_image", spi, 0);
            printf("\"floor\": {\"modes\": %d, ", f.modes);
            json_or_null("hq_fraction", f.hq_fraction, 0);
            json_or_null("reverse_kl", f.reverse_kl, 1);
            printf("}}\n");
        } else {
            char what[64];
            snprintf(what, sizeof what, "model (%lld samples):", n);
            print_2d(what, &m);
            print_2d("real data (floor):", &f);
            printf("sampling: %d steps, %.3g s per sample (batch %zu, backend %s)\n", nsteps, spi, nt,
                   ddgan_context_backend(ctx));
        }
        rc = CLI_OK;
        goto done;
    }
    /* images */
    if (!dataset || (strcmp(dataset, "mnist") && strcmp(dataset, "fashion") && strcmp(dataset, "stackmnist"))) {
        cli_error("eval scores MNIST, Fashion-MNIST and StackedMNIST models; give --dataset mnist|fashion|stackmnist");
        rc = CLI_USAGE;
        goto done;
    }
    if (h != 32 || w != 32) {
        cli_error("the classifier takes 32 x 32 images; this model makes %d x %d", h, w);
        goto done;
    }
    stored_data = stored_option(v[CKPT], "data");
    const char *data = v[DATA] ? v[DATA] : stored_data;
    if (!data) {
        cli_error("eval needs --data PATH (the MNIST-like folder the model was trained on)");
        rc = CLI_USAGE;
        goto done;
    }
    const int stacked = !strcmp(dataset, "stackmnist");
    if (get_classifier(ctx, v[CLASSIFIER], v[CKPT], data, json, &clf))
        goto done;
    /* real sets: the model's data and an independent draw of it (the floor) */
    size_t n_floor = 0;
    ddgan_dataset_t ds = NULL;
    if (stacked) {
        ddgan_dataset_config dc;
        ddgan_dataset_config_init(&dc, sizeof dc);
        dc.kind = DDGAN_DATASET_STACKED_MNIST;
        dc.path = data;
        dc.pad = 2;
        dc.shuffle = 0;
        dc.num_examples = 2 * n;
        dc.data_seed = 20260101;
        if (ddgan_dataset_open(&ds, &dc) != DDGAN_OK) {
            cli_lib_error("cannot open the data");
            goto done;
        }
        n_floor = (size_t)n;
        if (read_examples(ds, (size_t)n, per, real, NULL)) {
            ddgan_dataset_destroy(ds);
            goto done;
        }
        for (size_t i = 0; i < n_floor; i++)
            if (ddgan_dataset_get(ds, (int64_t)((size_t)n + i), floor_x + i * per, NULL) != DDGAN_OK) {
                cli_lib_error("reading the data");
                ddgan_dataset_destroy(ds);
                goto done;
            }
        ddgan_dataset_destroy(ds);
    } else {
        ddgan_dataset_t test = NULL;
        if (open_idx(data, DDGAN_DATASET_TRAIN, &ds))
            goto done;
        const int64_t size = ddgan_dataset_size(ds);
        if (c != 1 || size < n) {
            if (c != 1)
                cli_error("a %d-channel model on MNIST-like data", c);
            else
                cli_error("--n %lld exceeds the %lld examples of the data", n, (long long)size);
            ddgan_dataset_destroy(ds);
            goto done;
        }
        int bad = read_examples(ds, (size_t)n, per, real, NULL);
        /* the floor: the test split, or the rest of the training split */
        if (!bad && open_idx(data, DDGAN_DATASET_TEST, &test) == 0 && ddgan_dataset_size(test) >= 16) {
            n_floor = (size_t)(ddgan_dataset_size(test) < n ? ddgan_dataset_size(test) : n);
            bad = read_examples(test, n_floor, per, floor_x, NULL);
        } else if (!bad) {
            n_floor = (size_t)(size - n < n ? size - n : n);
            for (size_t i = 0; i < n_floor && !bad; i++)
                bad = ddgan_dataset_get(ds, (int64_t)((size_t)n + i), floor_x + i * per, NULL) != DDGAN_OK;
        }
        ddgan_dataset_destroy(ds);
        ddgan_dataset_destroy(test);
        if (bad || n_floor < 16) {
            cli_error("not enough real data for the floor");
            goto done;
        }
    }
    image_scores m = {0}, f = {0};
    if (score_images(clf, real, (size_t)n, x, (size_t)n, c, stacked, &m) ||
        score_images(clf, real, (size_t)n, floor_x, n_floor, c, stacked, &f))
        goto done;
    if (json) {
        printf("{\"modes\": %d, \"num_modes\": %d, ", m.modes, m.num_modes);
        json_or_null("kl", m.kl, 0);
        json_or_null("frechet", m.frechet, 0);
        json_or_null("precision", m.precision, 0);
        json_or_null("recall", m.recall, 0);
        json_or_null("sec_per_image", spi, 0);
        printf("\"num_samples\": %lld, \"steps\": %d, \"floor\": {\"modes\": %d, \"num_samples\": %zu, ", n,
               nsteps, f.modes, n_floor);
        json_or_null("kl", f.kl, 0);
        json_or_null("frechet", f.frechet, 0);
        json_or_null("precision", f.precision, 0);
        json_or_null("recall", f.recall, 1);
        printf("}}\n");
    } else {
        printf("%-20s %8s %8s %10s %10s %8s\n", "", "modes", "KL", "Frechet", "precision", "recall");
        printf("%-20s %4d/%-4d %8.4f %10.3f %10.3f %8.3f\n", "model", m.modes, m.num_modes, m.kl, m.frechet,
               m.precision, m.recall);
        printf("%-20s %4d/%-4d %8.4f %10.3f %10.3f %8.3f\n", "real data (floor)", f.modes, f.num_modes, f.kl,
               f.frechet, f.precision, f.recall);
        printf("(%lld samples against %lld real images; floor: %zu other real images)\n", n, n, n_floor);
        printf("sampling: %d %s steps, %.3g s per image (batch %zu, backend %s)\n", nsteps, is_ddpm ? "DDPM" : "DDGAN",
               spi, nt, ddgan_context_backend(ctx));
    }
    rc = CLI_OK;
done:
    free(x);
    free(real);
    free(floor_x);
    free(stored_ds);
    free(stored_data);
    ddgan_classifier_destroy(clf);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
    return rc;
}
