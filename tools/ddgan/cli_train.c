/*
 * `ddgan train`: a preset plus official train_ddgan.py flags -> a training
 * run in an experiment folder:
 *   checkpoint.safetensors  the full trainer state (+ loader position and the
 *                           run's options), written atomically by the library
 *   log.jsonl               one JSON object per logged step (appended on resume)
 *   samples_<step>.png      sample grids / scatter plots; samples.png at the end
 * Ctrl-C (SIGINT) or SIGTERM only sets a flag; the loop saves a checkpoint at
 * the next step boundary and exits with status 130.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t g_stop;

/* CPU seconds of the whole process (all threads): a training budget that
 * other load on the machine does not eat into. */
static double cpu_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1; /* async-signal-safe: the loop does the rest */
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* a second Ctrl-C terminates at once; checkpoints are written atomically,
     * so the previous one survives */
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void train_usage(void)
{
    printf("usage: ddgan train --preset NAME [--data PATH] [--exp DIR] [--steps N | --num_epoch N]\n"
                    "                   [--backend B] [--resume] [--model ddgan|ddpm] [official flags...]\n\n"
                    "presets:\n");
    cli_print_presets();
    printf("\noptions (official train_ddgan.py names override the preset; booleans: --name / "
                    "--no-name):\n");
    for (int i = 0; i < cli_num_opts(); i++)
        printf("  --%-20s %s\n", cli_opt(i)->name, cli_opt(i)->help);
}

static int make_dir(const char *path)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf) {
        cli_error("--exp: path too long");
        return -1;
    }
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) { /* mkdir -p */
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            cli_error("cannot create %s: %s", buf, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        cli_error("cannot create %s: %s", buf, strerror(errno));
        return -1;
    }
    return 0;
}

/* Everything a run holds. */
typedef struct run {
    run_opts o;
    const char *exp;
    char ckpt[4096], log_path[4096];
    int ddpm, toy;
    ddgan_context_t ctx;
    ddgan_dataset_t ds;
    ddgan_generator_t g;
    ddgan_discriminator_t d;
    ddgan_schedule_t s;
    ddgan_trainer_t tr;
    ddgan_ddpm_trainer_t dtr;
    FILE *log;
    float *batch;
    int c, h, w;
} run;

static int64_t run_step(const run *r)
{
    return r->ddpm ? ddgan_ddpm_trainer_global_step(r->dtr) : ddgan_trainer_global_step(r->tr);
}

static int save_checkpoint(run *r)
{
    char step[32];
    snprintf(step, sizeof step, "%lld", (long long)run_step(r));
    ddgan_status_t st = r->ddpm ? ddgan_ddpm_trainer_set_metadata(r->dtr, "global_step", step)
                                : ddgan_trainer_set_metadata(r->tr, "global_step", step);
    if (st == DDGAN_OK)
        st = r->ddpm ? ddgan_ddpm_trainer_save(r->dtr, r->ckpt) : ddgan_trainer_save(r->tr, r->ckpt);
    if (st != DDGAN_OK) {
        cli_lib_error("saving the checkpoint failed");
        return -1;
    }
    return 0;
}

/* The generator to sample from: the EMA copy when there is one (caller-owned)
 * or the training generator (*owned = 0). */
static int sampling_generator(run *r, ddgan_generator_t *g, int *owned)
{
    /* The EMA starts at the initial weights: until about 3 / (1 - decay)
     * steps (where their share falls below e^-3 = 5%) it draws blobs, so
     * early images come from the training weights. */
    const double decay = run_opts_get(&r->o, "ema_decay") ? opt_float(&r->o, "ema_decay") : 0.9999;
    const int ema = opt_bool(&r->o, "use_ema") && (double)run_step(r) * (1.0 - decay) >= 3.0;
    *owned = 0;
    *g = r->g;
    if (!ema)
        return 0;
    const ddgan_status_t st =
        r->ddpm ? ddgan_ddpm_trainer_ema_generator(g, r->dtr) : ddgan_trainer_ema_generator(g, r->tr);
    if (st != DDGAN_OK) {
        cli_lib_error("EMA generator");
        return -1;
    }
    *owned = 1;
    return 0;
}

/* Writes samples of the current model to `name` in the experiment folder;
 * `xy_out` (may be NULL) receives the 2-D samples (malloc'd) for scoring. */
static int write_samples(run *r, const char *name, float **xy_out, size_t *n_out)
{
    ddgan_generator_t g = NULL;
    int owned = 0;
    if (sampling_generator(r, &g, &owned))
        return -1;
    const size_t n = (size_t)(opt_int(&r->o, "n_samples") > 0 ? opt_int(&r->o, "n_samples") : 64);
    const size_t per = (size_t)r->c * (size_t)r->h * (size_t)r->w;
    float *x = malloc(n * per * sizeof(float));
    int rc = -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", r->exp, name);
    if (!x) {
        cli_error("out of memory for %zu samples", n);
    } else if (!cli_draw(g, r->s, r->ddpm, opt_int(&r->o, "ddpm_steps") > 0 ? opt_int(&r->o, "ddpm_steps") : 100,
                         n, 0, x, NULL)) {
        if (r->toy) {
            float modes[50];
            const int k = cli_mixture_modes(r->ckpt, modes);
            rc = cli_write_scatter_png(path, x, n, modes, k);
        } else {
            rc = cli_write_grid_png(path, x, n, r->c, r->h, r->w);
        }
    }
    if (owned)
        ddgan_generator_destroy(g);
    if (rc == 0 && xy_out) {
        *xy_out = x;
        *n_out = n;
    } else {
        free(x);
    }
    return rc;
}

static void fmt_duration(char *buf, size_t cap, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, cap, "?");
    else if (s < 3600)
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
}

static void json_num(FILE *f, const char *key, double v)
{
    if (isfinite(v))
        fprintf(f, ", \"%s\": %.7g", key, v);
    else
        fprintf(f, ", \"%s\": null", key);
}

/* Builds the option set: stored options on --resume, else the preset; then
 * the command line. */
static int resolve_options(run *r, const run_opts *cli)
{
    const char *preset = run_opts_get(cli, "preset");
    const int resume = opt_bool(cli, "resume");
    if (!preset && !resume) {
        cli_error("train needs --preset NAME (or --resume with --exp DIR)");
        return CLI_USAGE;
    }
    if (preset && cli_apply_preset(&r->o, preset))
        return CLI_USAGE;
    const char *exp = run_opts_get(cli, "exp");
    static char default_exp[256];
    if (!exp) {
        if (!preset) {
            cli_error("--resume needs --exp DIR or --preset NAME");
            return CLI_USAGE;
        }
        snprintf(default_exp, sizeof default_exp, "runs/%s", preset);
        exp = default_exp;
    }
    r->exp = exp;
    snprintf(r->ckpt, sizeof r->ckpt, "%s/checkpoint.safetensors", exp);
    snprintf(r->log_path, sizeof r->log_path, "%s/log.jsonl", exp);
    if (resume) {
        if (!cli_file_exists(r->ckpt)) {
            cli_error("--resume: no checkpoint at %s", r->ckpt);
            return CLI_FAIL;
        }
        char *text = cli_file_meta(r->ckpt, "run_options");
        if (!text) {
            cli_error("--resume: %s has no run options (not written by `ddgan train`, or unreadable)",
                      r->ckpt);
            return CLI_FAIL;
        }
        const int rc = run_opts_deserialise(&r->o, text, r->ckpt);
        free(text);
        if (rc)
            return CLI_FAIL;
        const char *stored = run_opts_get(&r->o, "preset");
        if (preset && stored && strcmp(preset, stored) != 0) {
            cli_error("--resume: %s was trained with --preset %s, not %s", r->ckpt, stored, preset);
            return CLI_USAGE;
        }
    } else if (cli_file_exists(r->ckpt)) {
        cli_error("%s already exists: continue it with --resume, or choose another --exp", r->ckpt);
        return CLI_USAGE;
    }
    /* the command line wins */
    for (int i = 0; i < cli_num_opts(); i++) {
        const char *name = cli_opt(i)->name;
        const char *v = run_opts_get(cli, name);
        if (v && strcmp(name, "resume") != 0 && run_opts_set(&r->o, name, v, "command line"))
            return CLI_USAGE;
    }
    if (run_opts_set(&r->o, "exp", exp, "run"))
        return CLI_FAIL;
    r->exp = run_opts_get(&r->o, "exp"); /* the command line's copy is freed after this */
    const char *model = run_opts_get(&r->o, "model");
    if (model && strcmp(model, "ddgan") != 0 && strcmp(model, "ddpm") != 0) {
        cli_error("--model must be ddgan or ddpm, not '%s'", model);
        return CLI_USAGE;
    }
    r->ddpm = model && !strcmp(model, "ddpm");
    const char *ds = run_opts_get(&r->o, "dataset");
    r->toy = ds && (!strcmp(ds, "grid25") || !strcmp(ds, "ring8"));
    return CLI_OK;
}

/* Creates the dataset, networks, schedule and trainer. */
static int build(run *r, int64_t *total, int *batch_size)
{
    ddgan_dataset_config dc;
    if (cli_dataset_config(&r->o, &dc))
        return CLI_USAGE;
    if (ddgan_dataset_open(&r->ds, &dc) != DDGAN_OK) {
        cli_lib_error("cannot open the dataset");
        return CLI_FAIL;
    }
    if (cli_context(&r->ctx, run_opts_get(&r->o, "backend"), (uint64_t)opt_int(&r->o, "seed"),
                    opt_int(&r->o, "threads")))
        return CLI_FAIL;
    char *gj = cli_generator_json(&r->o);
    char *dj = r->ddpm ? NULL : cli_discriminator_json(&r->o);
    if (!gj || (!r->ddpm && !dj)) {
        free(gj);
        free(dj);
        return CLI_FAIL;
    }
    ddgan_status_t st = ddgan_generator_create_json(&r->g, r->ctx, gj);
    if (st != DDGAN_OK)
        cli_lib_error("generator");
    if (st == DDGAN_OK && !r->ddpm && (st = ddgan_discriminator_create_json(&r->d, r->ctx, dj)) != DDGAN_OK)
        cli_lib_error("discriminator");
    free(gj);
    free(dj);
    if (st != DDGAN_OK)
        return CLI_FAIL;
    /* the data must have the model's shape */
    int c, h, w, dcc, dh, dw;
    ddgan_generator_shape(r->g, &c, &h, &w, NULL);
    ddgan_dataset_shape(r->ds, &dcc, &dh, &dw);
    if (c != dcc || h != dh || w != dw) {
        cli_error("the data is %d x %d x %d but the model expects %d x %d x %d (check --num_channels / "
                  "--image_size)",
                  dcc, dh, dw, c, h, w);
        return CLI_USAGE;
    }
    r->c = c;
    r->h = h;
    r->w = w;
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    ddgan_generator_schedule_config(r->g, &sc);
    if (r->ddpm)
        sc.kind = DDGAN_SCHEDULE_DDPM_LINEAR;
    if (ddgan_schedule_create(&r->s, r->ctx, &sc) != DDGAN_OK) {
        cli_lib_error("schedule");
        return CLI_USAGE;
    }
    /* length of the run */
    int bs = opt_int(&r->o, "batch_size");
    if (bs <= 0 || bs > ddgan_dataset_size(r->ds)) {
        cli_error("--batch_size %d must be between 1 and the dataset size %lld", bs,
                  (long long)ddgan_dataset_size(r->ds));
        return CLI_USAGE;
    }
    const int64_t bpe = ddgan_dataset_batches_per_epoch(r->ds, (size_t)bs);
    const int epochs = opt_int(&r->o, "num_epoch");
    *total = run_opts_get(&r->o, "steps") ? opt_int(&r->o, "steps") : (int64_t)epochs * bpe;
    if (*total <= 0) {
        cli_error("nothing to do: give --steps N or --num_epoch N (> 0)");
        return CLI_USAGE;
    }
    *batch_size = bs;
    if (r->ddpm) {
        ddgan_ddpm_trainer_config tc;
        cli_ddpm_trainer_config(&r->o, &tc);
        st = ddgan_ddpm_trainer_create(&r->dtr, r->g, r->s, &tc);
    } else {
        ddgan_trainer_config tc;
        cli_trainer_config(&r->o, &tc);
        if (opt_bool(&r->o, "lr_per_step")) { /* 2-D data: cosine over the steps of the run */
            tc.steps_per_epoch = 1;
            tc.num_epoch = (int)(*total < 2000000000 ? *total : 2000000000);
        } else { /* official: per epoch, over num_epoch (or the epochs of --steps) */
            tc.steps_per_epoch = (int)bpe;
            tc.num_epoch = epochs > 0 && !run_opts_get(&r->o, "steps") ? epochs : (int)((*total + bpe - 1) / bpe);
        }
        st = ddgan_trainer_create(&r->tr, r->g, r->d, r->s, &tc);
    }
    if (st != DDGAN_OK) {
        cli_lib_error("trainer");
        return CLI_USAGE;
    }
    char *opts = run_opts_serialise(&r->o);
    if (!opts) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    st = r->ddpm ? ddgan_ddpm_trainer_attach_dataset(r->dtr, r->ds) : ddgan_trainer_attach_dataset(r->tr, r->ds);
    if (st == DDGAN_OK)
        st = r->ddpm ? ddgan_ddpm_trainer_set_metadata(r->dtr, "run_options", opts)
                     : ddgan_trainer_set_metadata(r->tr, "run_options", opts);
    free(opts);
    if (st != DDGAN_OK) {
        cli_lib_error("trainer");
        return CLI_FAIL;
    }
    r->batch = malloc((size_t)bs * (size_t)c * (size_t)h * (size_t)w * sizeof(float));
    if (!r->batch) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    return CLI_OK;
}

static void run_free(run *r)
{
    if (r->log)
        fclose(r->log);
    free(r->batch);
    ddgan_trainer_destroy(r->tr);
    ddgan_ddpm_trainer_destroy(r->dtr);
    ddgan_schedule_destroy(r->s);
    ddgan_discriminator_destroy(r->d);
    ddgan_generator_destroy(r->g);
    ddgan_dataset_destroy(r->ds);
    ddgan_context_destroy(r->ctx);
    run_opts_free(&r->o);
}

/* One line of progress: a bar redrawn in place on a terminal. */
static void progress(const run *r, int64_t step, int64_t total, double rate, double err_d, double err_g,
                     int tty)
{
    char eta[32];
    fmt_duration(eta, sizeof eta, rate > 0 ? (double)(total - step) / rate : -1);
    if (tty) {
        const int width = 24, fill = (int)((double)width * (double)step / (double)total);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        if (r->ddpm)
            fprintf(stderr, "\rstep %lld/%lld [%s] %.1f it/s ETA %s loss %.4f   ", (long long)step,
                    (long long)total, bar, rate, eta, err_g);
        else
            fprintf(stderr, "\rstep %lld/%lld [%s] %.1f it/s ETA %s err_d %.3f err_g %.3f   ", (long long)step,
                    (long long)total, bar, rate, eta, err_d, err_g);
        fflush(stderr);
    } else if (r->ddpm) {
        printf("step %lld/%lld  %.2f it/s  ETA %s  loss %.5f\n", (long long)step, (long long)total, rate, eta,
               err_g);
        fflush(stdout);
    } else {
        printf("step %lld/%lld  %.2f it/s  ETA %s  err_d %.4f  err_g %.4f\n", (long long)step, (long long)total,
               rate, eta, err_d, err_g);
        fflush(stdout);
    }
}

int cli_report_2d(const char *ckpt, const float *xy, size_t n);

int cmd_train(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            train_usage();
            return CLI_OK;
        }
    run r;
    memset(&r, 0, sizeof r);
    run_opts cli = {0};
    if (run_opts_init(&r.o) || run_opts_init(&cli))
        return CLI_FAIL;
    int rc = cli_parse(&cli, argc, argv, 0);
    if (rc == CLI_OK)
        rc = resolve_options(&r, &cli);
    const int resume = opt_bool(&cli, "resume");
    run_opts_free(&cli);
    if (rc != CLI_OK) {
        run_opts_free(&r.o);
        return rc;
    }
    int64_t total = 0;
    int bs = 0;
    if (make_dir(r.exp)) {
        run_opts_free(&r.o);
        return CLI_FAIL;
    }
    rc = build(&r, &total, &bs);
    if (rc != CLI_OK)
        goto out;
    if (resume) {
        const ddgan_status_t st = r.ddpm ? ddgan_ddpm_trainer_load(r.dtr, r.ckpt) : ddgan_trainer_load(r.tr, r.ckpt);
        if (st != DDGAN_OK) {
            cli_lib_error("--resume");
            rc = CLI_FAIL;
            goto out;
        }
    }
    const int64_t start = run_step(&r);
    const int quiet = opt_bool(&r.o, "quiet");
    if (!quiet)
        printf("ddgan train: %s%s, %s backend, batch %d, steps %lld -> %lld, folder %s\n",
               run_opts_get(&r.o, "preset") ? run_opts_get(&r.o, "preset") : "custom", r.ddpm ? " (DDPM)" : "",
               ddgan_context_backend(r.ctx), bs, (long long)start, (long long)total, r.exp);
    fflush(stdout);
    if (start >= total) {
        printf("already at step %lld (>= --steps %lld): nothing to train\n", (long long)start, (long long)total);
        rc = CLI_OK;
        goto out;
    }
    r.log = fopen(r.log_path, "a");
    if (!r.log) {
        cli_error("cannot open %s: %s", r.log_path, strerror(errno));
        rc = CLI_FAIL;
        goto out;
    }
    install_signals();
    const int tty = !quiet && isatty(STDERR_FILENO);
    const int log_every = opt_int(&r.o, "log_every") > 0 ? opt_int(&r.o, "log_every") : 100;
    const int save_every = opt_int(&r.o, "save_every");
    const int sample_every = opt_int(&r.o, "sample_every");
    const double t_begin = cli_now();
    double t_last = t_begin, t_draw = 0;
    int64_t step = start, last_log = start, last_save = start;
    double err_d = NAN, err_g = NAN;
    rc = CLI_OK;
    const double max_seconds = opt_float(&r.o, "max_seconds");
    const double max_cpu = opt_float(&r.o, "max_cpu_seconds"), cpu0 = cpu_seconds();
    int out_of_time = 0;
    while (step < total && !g_stop && !out_of_time) {
        if (ddgan_dataset_next_batch(r.ds, (size_t)bs, r.batch, NULL) != DDGAN_OK) {
            cli_lib_error("data");
            rc = CLI_FAIL;
            break;
        }
        ddgan_step_stats ss;
        ddgan_step_stats_init(&ss, sizeof ss);
        float loss = NAN;
        const ddgan_status_t st = r.ddpm ? ddgan_ddpm_trainer_step(r.dtr, r.batch, (size_t)bs, &loss)
                                         : ddgan_trainer_step(r.tr, r.batch, (size_t)bs, &ss);
        if (st != DDGAN_OK) {
            if (tty)
                fputc('\n', stderr);
            cli_lib_error("training step failed (the checkpoint keeps the last good state)");
            rc = CLI_FAIL;
            break;
        }
        step = run_step(&r);
        err_d = r.ddpm ? NAN : ss.err_d;
        err_g = r.ddpm ? loss : ss.err_g;
        const double now = cli_now();
        out_of_time = (max_seconds > 0 && now - t_begin >= max_seconds) ||
                      (max_cpu > 0 && cpu_seconds() - cpu0 >= max_cpu);
        if (step % log_every == 0 || step == total || out_of_time) {
            const double sps = (now - t_last) / (double)(step - last_log);
            fprintf(r.log, "{\"step\": %lld", (long long)step);
            if (r.ddpm) {
                json_num(r.log, "loss", loss);
                json_num(r.log, "err_g", loss);
                fprintf(r.log, ", \"err_d\": null");
                const int warm = opt_int(&r.o, "warmup");
                const double lr = opt_float(&r.o, "lr") *
                                  (warm > 0 ? fmin(1.0, (double)step / (double)warm) : 1.0);
                json_num(r.log, "lr_g", lr);
                fprintf(r.log, ", \"lr_d\": null");
            } else {
                json_num(r.log, "err_d", ss.err_d);
                json_num(r.log, "err_d_real", ss.err_d_real);
                json_num(r.log, "err_d_fake", ss.err_d_fake);
                json_num(r.log, "err_g", ss.err_g);
                json_num(r.log, "r1", ss.r1_penalty);
                json_num(r.log, "d_real", ss.d_real_mean);
                json_num(r.log, "d_fake", ss.d_fake_mean);
                json_num(r.log, "lr_g", ss.lr_g);
                json_num(r.log, "lr_d", ss.lr_d);
            }
            json_num(r.log, "sec_per_step", sps);
            json_num(r.log, "elapsed", now - t_begin);
            fprintf(r.log, "}\n");
            fflush(r.log);
            if (!tty && !quiet)
                progress(&r, step, total, sps > 0 ? 1.0 / sps : 0, err_d, err_g, 0);
            t_last = now;
            last_log = step;
        }
        if (tty && now - t_draw > 0.25) {
            progress(&r, step, total, (double)(step - start) / (now - t_begin), err_d, err_g, 1);
            t_draw = now;
        }
        if (save_every > 0 && step % save_every == 0 && step < total) {
            if (save_checkpoint(&r)) {
                rc = CLI_FAIL;
                break;
            }
            last_save = step;
        }
        if (sample_every > 0 && step % sample_every == 0 && step < total) {
            char name[64];
            snprintf(name, sizeof name, "samples_%06lld.png", (long long)step);
            if (write_samples(&r, name, NULL, NULL)) {
                rc = CLI_FAIL;
                break;
            }
        }
    }
    if (tty)
        fputc('\n', stderr);
    /* the state after the last good step is never lost */
    if (step != last_save || g_stop || rc != CLI_OK) {
        if (save_checkpoint(&r) != 0) {
            if (rc == CLI_OK)
                rc = CLI_FAIL;
        } else if (!quiet) {
            printf("saved %s at step %lld\n", r.ckpt, (long long)step);
        }
    }
    if (g_stop) {
        fprintf(stderr, "ddgan: interrupted at step %lld; continue with: ddgan train --exp %s --resume\n",
                (long long)step, r.exp);
        rc = CLI_INTERRUPTED;
        goto out;
    }
    if (rc != CLI_OK)
        goto out;
    const double secs = cli_now() - t_begin;
    if (out_of_time && !quiet)
        printf("stopped at step %lld: the time budget is spent (%.1f s wall, %.1f s CPU)\n", (long long)step,
               cli_now() - t_begin, cpu_seconds() - cpu0);
    if (!quiet)
        printf("trained %lld steps in %.1f s (%.2f it/s)\n", (long long)(step - start), secs,
               (double)(step - start) / secs);
    float *xy = NULL;
    size_t n = 0;
    if (write_samples(&r, "samples.png", r.toy ? &xy : NULL, &n)) {
        rc = CLI_FAIL;
        goto out;
    }
    if (!quiet)
        printf("samples: %s/samples.png\n", r.exp);
    if (r.toy && xy)
        rc = cli_report_2d(r.ckpt, xy, n) == 0 ? CLI_OK : CLI_FAIL;
    free(xy);
out:
    run_free(&r);
    return rc;
}
