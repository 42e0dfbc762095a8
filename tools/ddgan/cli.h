/*
 * The `ddgan` command-line tool (docs/cli.md). It uses only the public API of
 * libddgan; this header is shared by its source files:
 *   main.c          sub-command dispatch, usage, exit codes
 *   cli_options.c   the option table, presets, parsing, run-option records
 *   cli_train.c     `ddgan train`
 *   cli_sample.c    `ddgan sample` (and loading a model from any file)
 *   cli_info.c      `ddgan info`, `ddgan backends`
 *   cli_eval.c      `ddgan eval`
 *   cli_image.c     PNG grids and scatter plots, .npy files
 */
#ifndef DDGAN_CLI_H
#define DDGAN_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "ddgan/ddgan.h"

/* Exit statuses (the contract: 2 usage errors, 1 failures). */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

/* Prints "ddgan: <message>" on stderr (one line). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "ddgan: <what>: <library's last error>". */
void cli_lib_error(const char *what);

/* ---- options (cli_options.c) ---------------------------------------------- */

typedef enum opt_type { OPT_INT, OPT_FLOAT, OPT_BOOL, OPT_INTS, OPT_FLOATS, OPT_STRING } opt_type;

/* Where an option goes: generator / discriminator JSON, trainer config,
 * schedule (both JSON and schedule), or the tool itself. */
enum { TO_G = 1, TO_D = 2, TO_T = 4, TO_RUN = 8, TO_TOY = 16, TO_NCSN = 32 };

typedef struct opt_def {
    const char *name;
    opt_type type;
    int to;
    const char *help;
} opt_def;

/* The resolved option values of a run, as strings (NULL = unset). */
typedef struct run_opts {
    const char **val; /* [cli_num_opts()], each malloc'd or NULL */
} run_opts;

int cli_num_opts(void);
const opt_def *cli_opt(int i);
int cli_opt_find(const char *name);

int run_opts_init(run_opts *o);
void run_opts_free(run_opts *o);
/* Sets an option from text, checking its type; returns 0 or prints an error. */
int run_opts_set(run_opts *o, const char *name, const char *value, const char *origin);
const char *run_opts_get(const run_opts *o, const char *name);
int opt_int(const run_opts *o, const char *name);
double opt_float(const run_opts *o, const char *name);
int opt_bool(const run_opts *o, const char *name);

/* Applies a preset's values; returns 0, or -1 for an unknown preset (message printed). */
int cli_apply_preset(run_opts *o, const char *preset);
/* Lists the presets with one line each. */
void cli_print_presets(void);

/* Parses `argv` (after the sub-command) against the table: --name value,
 * --name v1 v2 ... for lists, --name / --no-name for booleans, --name=value.
 * `allowed` restricts to options whose `to` has one of these bits (0 = all).
 * Returns 0, or CLI_USAGE after printing the problem. */
int cli_parse(run_opts *o, int argc, char **argv, int allowed);

/* "name=value" lines of every set option (malloc'd), and their inverse. */
char *run_opts_serialise(const run_opts *o);
int run_opts_deserialise(run_opts *o, const char *text, const char *origin);

/* JSON configs of the networks described by the options (malloc'd). */
char *cli_generator_json(const run_opts *o);
char *cli_discriminator_json(const run_opts *o);
/* Trainer configs. */
void cli_trainer_config(const run_opts *o, ddgan_trainer_config *tc);
void cli_ddpm_trainer_config(const run_opts *o, ddgan_ddpm_trainer_config *tc);
/* Dataset config; `path_out` receives a pointer into the options. Returns 0
 * or prints an error (e.g. a preset that needs --data without it). */
int cli_dataset_config(const run_opts *o, ddgan_dataset_config *dc);

/* ---- helpers ---------------------------------------------------------------- */

/* A metadata string of a safetensors file (malloc'd), or NULL when absent or unreadable. */
char *cli_file_meta(const char *path, const char *key);
/* Whether a path exists. */
int cli_file_exists(const char *path);

/* A context on the requested backend (NULL/"auto": the best available). */
int cli_context(ddgan_context_t *ctx, const char *backend, uint64_t seed, int threads);

/* The model of a file: trainer checkpoints (EMA weights unless no_ema or
 * absent), DDPM checkpoints and plain weights files. *is_ddpm tells which
 * sampler the model needs. */
int cli_load_model(ddgan_context_t ctx, const char *path, int no_ema, ddgan_generator_t *g,
                   ddgan_schedule_t *s, int *is_ddpm);

/* Draws n samples (DDGAN: T steps; DDPM: ddpm_steps of T). */
int cli_draw(ddgan_generator_t g, ddgan_schedule_t s, int is_ddpm, int ddpm_steps, size_t n, uint64_t seed,
             float *out, double *seconds);

/* Mode centres of the 2-D mixture a checkpoint was trained on (its run
 * options); modes holds 25 pairs; returns the count (0: unknown). */
int cli_mixture_modes(const char *ckpt, float *modes);

/* "--flag value" / "--flag=value" arguments of sample and eval: names[k]
 * receives values[k]; the switches --no-ema, --ema, --json, --real take no
 * value. Returns CLI_OK, CLI_USAGE, or CLI_OK + 100 after --help. */
int cli_simple_args(int argc, char **argv, const char *const *names, const char **values, int nflags,
                    void (*usage)(void));
/* An integer argument in [min, max] (message and -1 otherwise). */
int cli_parse_count(const char *name, const char *v, long long min, long long max, long long *out);

/* ---- images (cli_image.c) --------------------------------------------------- */

/* A grid PNG of n images [n, c, h, w] in [-1, 1] (c = 1 or 3). */
int cli_write_grid_png(const char *path, const float *x, size_t n, int c, int h, int w);
/* A scatter PNG of n points [n, 2]; `modes` (may be NULL) marks k reference points. */
int cli_write_scatter_png(const char *path, const float *xy, size_t n, const float *modes, int k);
/* A float32 .npy file of the given shape (ndim <= 4). */
int cli_write_npy(const char *path, const float *x, const size_t *shape, int ndim);
/* Whether path ends with ext (case-insensitive). */
int cli_has_ext(const char *path, const char *ext);

/* ---- sub-commands ----------------------------------------------------------- */

int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_backends(int argc, char **argv);
int cmd_eval(int argc, char **argv);

double cli_now(void);

#endif
