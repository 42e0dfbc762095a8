/*
 * Options of `ddgan train`: one table of every flag (official train_ddgan.py
 * names where one exists), the presets as lists of name=value pairs, the
 * parser, and the translation into the library's configs. Values are kept as
 * validated strings so that a run's options can be stored in its checkpoint
 * ("run_options" metadata, one name=value per line) and restored on --resume.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* clang-format off */
static const opt_def g_opts[] = {
    /* the tool */
    {"preset", OPT_STRING, TO_RUN, "toy25 | ring8 | mnist | fashion | stackmnist | stackmnist-paper | cifar10"},
    {"model", OPT_STRING, TO_RUN, "ddgan (default) or ddpm (the baseline, same network)"},
    {"data", OPT_STRING, TO_RUN, "dataset folder or file (image presets)"},
    {"exp", OPT_STRING, TO_RUN, "output folder (default runs/<preset>)"},
    {"steps", OPT_INT, TO_RUN, "total number of steps to reach (also with --resume)"},
    {"backend", OPT_STRING, TO_RUN, "ref | cpu | cuda | auto (default)"},
    {"threads", OPT_INT, TO_RUN, "threads of the backend (0 = all)"},
    {"resume", OPT_BOOL, TO_RUN, "continue from <exp>/checkpoint.safetensors"},
    {"log_every", OPT_INT, TO_RUN, "steps between log lines (log.jsonl)"},
    {"save_every", OPT_INT, TO_RUN, "steps between checkpoints (and at the end)"},
    {"sample_every", OPT_INT, TO_RUN, "steps between sample images (0 = only at the end)"},
    {"n_samples", OPT_INT, TO_RUN, "samples per image (grid or scatter)"},
    {"discriminator", OPT_STRING, TO_RUN, "small | large (default: small up to 64x64)"},
    {"dataset", OPT_STRING, TO_RUN, "grid25 | ring8 | mnist | fashion | stackmnist | cifar10 | folder"},
    {"num_examples", OPT_INT, TO_RUN, "examples of the 2-D mixtures / StackedMNIST (0 = default)"},
    {"lr_per_step", OPT_BOOL, TO_RUN, "cosine lr per step instead of per epoch (2-D presets)"},
    {"ddpm_steps", OPT_INT, TO_RUN, "DDPM: sampling steps of the sample images"},
    {"quiet", OPT_BOOL, TO_RUN, "no progress output"},
    {"max_seconds", OPT_FLOAT, TO_RUN, "stop (and save) after this much wall time (0 = no limit)"},
    {"max_cpu_seconds", OPT_FLOAT, TO_RUN, "stop (and save) after this much CPU time of the process (0 = no limit)"},
    /* schedule (both networks carry it) */
    {"num_timesteps", OPT_INT, TO_G | TO_TOY | TO_NCSN, "denoising steps T"},
    {"beta_min", OPT_FLOAT, TO_G | TO_TOY | TO_NCSN, "schedule beta_min"},
    {"beta_max", OPT_FLOAT, TO_G | TO_TOY | TO_NCSN, "schedule beta_max"},
    {"use_geometric", OPT_BOOL, TO_G | TO_TOY | TO_NCSN, "geometric variance schedule"},
    /* NCSN++ generator */
    {"image_size", OPT_INT, TO_G | TO_NCSN, "image size"},
    {"num_channels", OPT_INT, TO_G | TO_NCSN, "image channels"},
    {"num_channels_dae", OPT_INT, TO_G | TO_NCSN, "base width nf"},
    {"ch_mult", OPT_INTS, TO_G | TO_NCSN, "channel multipliers, e.g. 1 2 2"},
    {"num_res_blocks", OPT_INT, TO_G | TO_NCSN, "residual blocks per level"},
    {"attn_resolutions", OPT_INTS, TO_G | TO_NCSN, "resolutions with attention"},
    {"nz", OPT_INT, TO_G | TO_NCSN | TO_TOY, "latent size"},
    {"z_emb_dim", OPT_INT, TO_G | TO_NCSN, "latent embedding size"},
    {"n_mlp", OPT_INT, TO_G | TO_NCSN, "layers of the z mapping"},
    {"centered", OPT_BOOL, TO_G | TO_NCSN, "data centred in [-1, 1]"},
    {"dropout", OPT_FLOAT, TO_G | TO_NCSN, "dropout"},
    {"resamp_with_conv", OPT_BOOL, TO_G | TO_NCSN, "convolutional resampling"},
    {"conditional", OPT_BOOL, TO_G | TO_NCSN, "time conditioning"},
    {"fir", OPT_BOOL, TO_G | TO_NCSN, "FIR resampling"},
    {"fir_kernel", OPT_FLOATS, TO_G | TO_NCSN, "FIR kernel"},
    {"skip_rescale", OPT_BOOL, TO_G | TO_NCSN, "skip rescale"},
    {"resblock_type", OPT_STRING, TO_G | TO_NCSN, "biggan"},
    {"progressive", OPT_STRING, TO_G | TO_NCSN, "none | output_skip | residual"},
    {"progressive_input", OPT_STRING, TO_G | TO_NCSN, "none | input_skip | residual"},
    {"progressive_combine", OPT_STRING, TO_G | TO_NCSN, "sum | cat"},
    {"embedding_type", OPT_STRING, TO_G | TO_NCSN, "positional | fourier"},
    {"fourier_scale", OPT_FLOAT, TO_G | TO_NCSN, "Fourier scale"},
    {"not_use_tanh", OPT_BOOL, TO_G | TO_NCSN, "no tanh at the output"},
    /* 2-D networks (ToyMLP, docs/toy.md) */
    {"hidden_dim", OPT_INT, TO_G | TO_D | TO_TOY, "2-D networks: width"},
    {"n_hidden", OPT_INT, TO_G | TO_D | TO_TOY, "2-D networks: hidden layers"},
    {"lrelu_slope", OPT_FLOAT, TO_G | TO_D | TO_TOY, "2-D networks: LeakyReLU slope"},
    {"data_scale", OPT_FLOAT, TO_G | TO_TOY, "2-D networks: data units per diffusion unit"},
    /* discriminator */
    {"ngf", OPT_INT, TO_D | TO_NCSN, "discriminator width"},
    {"t_emb_dim", OPT_INT, TO_D | TO_NCSN | TO_TOY, "time embedding size (2-D: both networks)"},
    /* trainer */
    {"batch_size", OPT_INT, TO_T, "batch size"},
    {"num_epoch", OPT_INT, TO_T, "epochs (length of the run when --steps is not given; cosine lr span)"},
    {"lr_g", OPT_FLOAT, TO_T, "generator learning rate"},
    {"lr_d", OPT_FLOAT, TO_T, "discriminator learning rate"},
    {"beta1", OPT_FLOAT, TO_T, "Adam beta1"},
    {"beta2", OPT_FLOAT, TO_T, "Adam beta2"},
    {"no_lr_decay", OPT_BOOL, TO_T, "constant learning rates"},
    {"eta_min", OPT_FLOAT, TO_T, "final learning rate of the cosine schedule"},
    {"use_ema", OPT_BOOL, TO_T, "keep an EMA of the generator"},
    {"ema_decay", OPT_FLOAT, TO_T, "EMA decay"},
    {"r1_gamma", OPT_FLOAT, TO_T, "R1 weight"},
    {"lazy_reg", OPT_INT, TO_T, "R1 every N steps (0 = every step)"},
    {"seed", OPT_INT, TO_T, "seed (weights, training draws, data order)"},
    {"lr", OPT_FLOAT, TO_T, "DDPM: learning rate"},
    {"grad_clip", OPT_FLOAT, TO_T, "DDPM: gradient clipping norm (0 = off)"},
    {"warmup", OPT_INT, TO_T, "DDPM: learning-rate warm-up steps"},
    {"ddpm_timesteps", OPT_INT, TO_T, "DDPM: diffusion steps of the schedule"},
};
/* clang-format on */

#define N_OPTS ((int)(sizeof g_opts / sizeof g_opts[0]))

typedef struct preset {
    const char *name;
    const char *summary;
    const char *values; /* "name=value;..." */
} preset;

#define TOY_COMMON                                                                                       \
    "model=ddgan;hidden_dim=96;n_hidden=3;nz=2;t_emb_dim=32;lrelu_slope=0;data_scale=1;"                \
    "num_timesteps=4;beta_min=0.1;beta_max=20;batch_size=64;lr_g=3e-3;lr_d=3e-3;beta1=0.5;beta2=0.9;"   \
    "r1_gamma=0.01;lazy_reg=0;use_ema=1;ema_decay=0.995;eta_min=1e-5;lr_per_step=1;steps=12000;"        \
    "threads=1;log_every=500;save_every=2000;sample_every=0;n_samples=2500;seed=1;num_examples=100000;" \
    "ddpm_timesteps=1000;ddpm_steps=100;lr=1e-3;grad_clip=1;warmup=0"
#define SMALL_IMAGE                                                                                     \
    "model=ddgan;image_size=32;num_channels_dae=32;ch_mult=1 2 2;num_res_blocks=1;attn_resolutions=16;" \
    "nz=32;z_emb_dim=64;n_mlp=2;ngf=16;t_emb_dim=64;num_timesteps=4;beta_min=0.1;beta_max=20;"          \
    "batch_size=64;lr_g=1.6e-4;lr_d=1.25e-4;beta1=0.5;beta2=0.9;r1_gamma=0.02;lazy_reg=15;use_ema=1;"   \
    "ema_decay=0.999;eta_min=1e-5;steps=5000;log_every=10;save_every=250;sample_every=250;"             \
    "n_samples=64;seed=1024;ddpm_timesteps=1000;ddpm_steps=100;lr=2e-4;grad_clip=1;warmup=100"
#define PAPER_IMAGE                                                                                     \
    "model=ddgan;image_size=32;num_channels=3;num_channels_dae=128;ch_mult=1 2 2 2;num_res_blocks=2;"   \
    "attn_resolutions=16;nz=100;z_emb_dim=256;n_mlp=4;ngf=64;t_emb_dim=256;num_timesteps=4;"            \
    "beta_min=0.1;beta_max=20;batch_size=64;lr_g=1.6e-4;lr_d=1.25e-4;beta1=0.5;beta2=0.9;"              \
    "r1_gamma=0.02;lazy_reg=15;eta_min=1e-5;log_every=10;save_every=500;sample_every=500;n_samples=64;" \
    "seed=1024;ddpm_timesteps=1000;ddpm_steps=100;lr=2e-4;grad_clip=1;warmup=5000"

static const preset g_presets[] = {
    {"toy25", "DDGAN on the 25-Gaussian grid (ToyMLP, 12,000 steps, about a minute on 2 cores)",
     TOY_COMMON ";dataset=grid25"},
    {"ring8", "DDGAN on the 8-Gaussian ring (ToyMLP)", TOY_COMMON ";dataset=ring8"},
    {"mnist", "MNIST, small CPU config (32x32x1, nf 32, ch_mult 1 2 2, D ngf 16); needs --data",
     SMALL_IMAGE ";dataset=mnist;num_channels=1"},
    {"fashion", "Fashion-MNIST, small CPU config (default data: Debian's dataset-fashion-mnist)",
     SMALL_IMAGE ";dataset=fashion;num_channels=1;data=/usr/share/datasets/fashion-mnist"},
    {"stackmnist", "StackedMNIST (3 digits on 3 channels), small CPU config; --data is an MNIST folder",
     SMALL_IMAGE ";dataset=stackmnist;num_channels=3"},
    {"stackmnist-paper", "StackedMNIST, the paper's config (48.4M-parameter G; for GPU machines)",
     PAPER_IMAGE ";dataset=stackmnist;use_ema=0;steps=150000"},
    {"cifar10", "CIFAR-10, the paper's config (GPU machines); --data is the binary-batches folder",
     PAPER_IMAGE ";dataset=cifar10;use_ema=1;ema_decay=0.9999;num_epoch=1800"},
};
#define N_PRESETS ((int)(sizeof g_presets / sizeof g_presets[0]))

int cli_num_opts(void)
{
    return N_OPTS;
}

const opt_def *cli_opt(int i)
{
    return i >= 0 && i < N_OPTS ? &g_opts[i] : NULL;
}

int cli_opt_find(const char *name)
{
    for (int i = 0; i < N_OPTS; i++)
        if (!strcmp(g_opts[i].name, name))
            return i;
    return -1;
}

int run_opts_init(run_opts *o)
{
    o->val = calloc((size_t)N_OPTS, sizeof *o->val);
    if (!o->val) {
        cli_error("out of memory");
        return -1;
    }
    return 0;
}

void run_opts_free(run_opts *o)
{
    if (!o->val)
        return;
    for (int i = 0; i < N_OPTS; i++)
        free((void *)o->val[i]);
    free(o->val);
    o->val = NULL;
}

/* strtol/strtod that accept only a whole, finite, in-range number */
static int parse_int(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < -2147483647L || v > 2147483647L)
        return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcmp(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Checks a value against the option's type; lists are space-separated. */
static int check_value(const opt_def *d, const char *v)
{
    long l;
    double f;
    int b;
    switch (d->type) {
    case OPT_INT:
        return parse_int(v, &l);
    case OPT_FLOAT:
        return parse_float(v, &f);
    case OPT_BOOL:
        return parse_bool(v, &b);
    case OPT_STRING:
        return *v ? 0 : -1;
    case OPT_INTS:
    case OPT_FLOATS: {
        char buf[256];
        if (strlen(v) >= sizeof buf)
            return -1;
        strcpy(buf, v);
        int n = 0;
        for (char *tok = strtok(buf, " ,"); tok; tok = strtok(NULL, " ,"), n++)
            if (d->type == OPT_INTS ? parse_int(tok, &l) : parse_float(tok, &f))
                return -1;
        return n >= 1 && n <= 8 ? 0 : -1;
    }
    }
    return -1;
}

static const char *type_name(opt_type t)
{
    static const char *const names[] = {"an integer", "a number", "true or false", "1 to 8 integers",
                                        "1 to 8 numbers", "a non-empty string"};
    return names[t];
}

int run_opts_set(run_opts *o, const char *name, const char *value, const char *origin)
{
    const int i = cli_opt_find(name);
    if (i < 0) {
        cli_error("%s: unknown option --%s (ddgan train --help lists them)", origin, name);
        return -1;
    }
    if (check_value(&g_opts[i], value)) {
        cli_error("%s: --%s must be %s, not '%s'", origin, name, type_name(g_opts[i].type), value);
        return -1;
    }
    char *copy = strdup(value);
    if (!copy) {
        cli_error("out of memory");
        return -1;
    }
    free((void *)o->val[i]);
    o->val[i] = copy;
    return 0;
}

const char *run_opts_get(const run_opts *o, const char *name)
{
    const int i = cli_opt_find(name);
    return i >= 0 ? o->val[i] : NULL;
}

int opt_int(const run_opts *o, const char *name)
{
    const char *v = run_opts_get(o, name);
    long l = 0;
    return v && !parse_int(v, &l) ? (int)l : 0;
}

double opt_float(const run_opts *o, const char *name)
{
    const char *v = run_opts_get(o, name);
    double f = 0;
    return v && !parse_float(v, &f) ? f : 0.0;
}

int opt_bool(const run_opts *o, const char *name)
{
    const char *v = run_opts_get(o, name);
    int b = 0;
    return v && !parse_bool(v, &b) ? b : 0;
}

/* Applies "name=value;name=value" pairs. */
static int apply_pairs(run_opts *o, const char *pairs, const char *origin, char sep)
{
    char *buf = strdup(pairs);
    if (!buf) {
        cli_error("out of memory");
        return -1;
    }
    int rc = 0;
    char *save = NULL, seps[2] = {sep, 0};
    for (char *item = strtok_r(buf, seps, &save); item && !rc; item = strtok_r(NULL, seps, &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            cli_error("%s: malformed entry '%s'", origin, item);
            rc = -1;
            break;
        }
        *eq = 0;
        rc = run_opts_set(o, item, eq + 1, origin);
    }
    free(buf);
    return rc;
}

int cli_apply_preset(run_opts *o, const char *name)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (!strcmp(g_presets[i].name, name))
            return apply_pairs(o, g_presets[i].values, "preset", ';');
    cli_error("unknown preset '%s' (toy25, ring8, mnist, fashion, stackmnist, stackmnist-paper, cifar10)", name);
    return -1;
}

void cli_print_presets(void)
{
    for (int i = 0; i < N_PRESETS; i++)
        fprintf(stdout, "  %-17s %s\n", g_presets[i].name, g_presets[i].summary);
}

int cli_parse(run_opts *o, int argc, char **argv, int allowed)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            cli_error("unexpected argument '%s' (options start with --)", a);
            return CLI_USAGE;
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        const size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (len >= sizeof name) {
            cli_error("unknown option '%s'", a);
            return CLI_USAGE;
        }
        memcpy(name, a + 2, len);
        name[len] = 0;
        for (char *p = name; *p; p++) /* --num-timesteps is --num_timesteps */
            if (*p == '-' && strcmp(name, "stackmnist-paper") != 0)
                *p = '_';
        int id = cli_opt_find(name);
        const char *value = eq ? eq + 1 : NULL;
        if (id < 0 && !eq && !strncmp(name, "no_", 3) && (id = cli_opt_find(name + 3)) >= 0 &&
            g_opts[id].type == OPT_BOOL) {
            if (allowed && !(g_opts[id].to & allowed))
                id = -1;
            else {
                if (run_opts_set(o, name + 3, "0", "command line"))
                    return CLI_USAGE;
                continue;
            }
        }
        if (id < 0 || (allowed && !(g_opts[id].to & allowed))) {
            cli_error("unknown option '%s'", a);
            return CLI_USAGE;
        }
        const opt_def *d = &g_opts[id];
        char list[256];
        if (!value) {
            if (d->type == OPT_BOOL) {
                value = "1";
            } else if (d->type == OPT_INTS || d->type == OPT_FLOATS) {
                /* --ch_mult 1 2 2: every following token that is not an option */
                list[0] = 0;
                int n = 0;
                while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                    if (strlen(list) + strlen(argv[i + 1]) + 2 >= sizeof list) {
                        cli_error("--%s: list too long", name);
                        return CLI_USAGE;
                    }
                    if (n++)
                        strcat(list, " ");
                    strcat(list, argv[++i]);
                }
                if (!n) {
                    cli_error("--%s needs %s", name, type_name(d->type));
                    return CLI_USAGE;
                }
                value = list;
            } else {
                if (i + 1 >= argc) {
                    cli_error("--%s needs a value (%s)", name, type_name(d->type));
                    return CLI_USAGE;
                }
                value = argv[++i];
            }
        }
        if (run_opts_set(o, name, value, "command line"))
            return CLI_USAGE;
    }
    return CLI_OK;
}

char *run_opts_serialise(const run_opts *o)
{
    size_t cap = 1;
    for (int i = 0; i < N_OPTS; i++)
        if (o->val[i])
            cap += strlen(g_opts[i].name) + strlen(o->val[i]) + 2;
    char *s = malloc(cap), *p = s;
    if (!s)
        return NULL;
    for (int i = 0; i < N_OPTS; i++)
        if (o->val[i])
            p += sprintf(p, "%s=%s\n", g_opts[i].name, o->val[i]);
    *p = 0;
    return s;
}

int run_opts_deserialise(run_opts *o, const char *text, const char *origin)
{
    return apply_pairs(o, text, origin, '\n');
}

/* ---- configs -------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        const int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        const size_t cap = (b->cap + (size_t)n + 256) * 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static char *sb_finish(sbuf *b)
{
    if (b->failed) {
        free(b->p);
        cli_error("out of memory");
        return NULL;
    }
    return b->p;
}

/* Appends `"name": value` (JSON) for every set option with all bits of
 * `mask`, except the names in `skip` (NULL-terminated, may be NULL). */
static void put_keys(sbuf *b, const run_opts *o, int mask, const char *const *skip, int *first)
{
    for (int i = 0; i < N_OPTS; i++) {
        const opt_def *d = &g_opts[i];
        const char *v = o->val[i];
        if (!v || (d->to & mask) != mask)
            continue;
        int skipped = 0;
        for (const char *const *k = skip; k && *k; k++)
            skipped |= !strcmp(*k, d->name);
        if (skipped)
            continue;
        sb_put(b, "%s\"%s\": ", *first ? "" : ", ", d->name);
        *first = 0;
        switch (d->type) {
        case OPT_INT:
        case OPT_FLOAT:
            sb_put(b, "%s", v);
            break;
        case OPT_BOOL:
            sb_put(b, "%s", opt_bool(o, d->name) ? "true" : "false");
            break;
        case OPT_STRING:
            sb_put(b, "\"%s\"", v);
            break;
        case OPT_INTS:
        case OPT_FLOATS: {
            sb_put(b, "[");
            int n = 0;
            for (const char *p = v; *p;) {
                while (*p == ' ' || *p == ',')
                    p++;
                if (!*p)
                    break;
                const size_t l = strcspn(p, " ,");
                sb_put(b, "%s%.*s", n++ ? ", " : "", (int)l, p);
                p += l;
            }
            sb_put(b, "]");
            break;
        }
        }
    }
}

static int is_toy(const run_opts *o)
{
    const char *ds = run_opts_get(o, "dataset");
    return ds && (!strcmp(ds, "grid25") || !strcmp(ds, "ring8"));
}

static int is_ddpm(const run_opts *o)
{
    const char *m = run_opts_get(o, "model");
    return m && !strcmp(m, "ddpm");
}

char *cli_generator_json(const run_opts *o)
{
    sbuf b = {0};
    int first = 0;
    sb_put(&b, "{\"cls\": \"%s\"", is_toy(o) ? "ToyMLP" : "NCSNpp");
    const int mask = TO_G | (is_toy(o) ? TO_TOY : TO_NCSN);
    if (is_toy(o) && run_opts_get(o, "t_emb_dim")) /* the 2-D generator has a time MLP too */
        sb_put(&b, ", \"t_emb_dim\": %s", run_opts_get(o, "t_emb_dim"));
    if (!is_ddpm(o)) {
        put_keys(&b, o, mask, NULL, &first);
    } else {
        /* the DDPM baseline: the same network as an eps-predictor on DDPM's
         * linear schedule (docs/ddpm.md): no tanh, positional embedding */
        static const char *const replaced[] = {"num_timesteps", "beta_min", "beta_max", "use_geometric",
                                               "not_use_tanh", "embedding_type", NULL};
        put_keys(&b, o, mask, replaced, &first);
        const int T = opt_int(o, "ddpm_timesteps") > 0 ? opt_int(o, "ddpm_timesteps") : 1000;
        sb_put(&b, ", \"num_timesteps\": %d, \"beta_min\": 0.0001, \"beta_max\": 0.02", T);
        if (!is_toy(o))
            sb_put(&b, ", \"not_use_tanh\": true, \"embedding_type\": \"positional\"");
    }
    sb_put(&b, "}");
    return sb_finish(&b);
}

char *cli_discriminator_json(const run_opts *o)
{
    sbuf b = {0};
    int first = 0;
    if (is_toy(o)) {
        sb_put(&b, "{\"cls\": \"ToyMLP\"");
        put_keys(&b, o, TO_D | TO_TOY, NULL, &first);
    } else {
        const char *dc = run_opts_get(o, "discriminator");
        const int size = opt_int(o, "image_size") > 0 ? opt_int(o, "image_size") : 32;
        const int large = dc ? !strcmp(dc, "large") : size > 64;
        /* D sees cat(x_{t-1}, x_t): nc = 2 x the image channels, as the official code */
        const int nc = 2 * (opt_int(o, "num_channels") > 0 ? opt_int(o, "num_channels") : 3);
        sb_put(&b, "{\"cls\": \"%s\", \"nc\": %d, \"image_size\": %d", large ? "Discriminator_large"
                                                                              : "Discriminator_small",
               nc, size);
        put_keys(&b, o, TO_D | TO_NCSN, NULL, &first);
    }
    sb_put(&b, "}");
    return sb_finish(&b);
}

void cli_trainer_config(const run_opts *o, ddgan_trainer_config *tc)
{
    ddgan_trainer_config_init(tc, sizeof *tc);
#define F(name)                           \
    if (run_opts_get(o, #name))           \
    tc->name = (float)opt_float(o, #name)
#define I(name)                           \
    if (run_opts_get(o, #name))           \
    tc->name = opt_int(o, #name)
    I(batch_size);
    F(lr_g);
    F(lr_d);
    F(beta1);
    F(beta2);
    F(r1_gamma);
    I(lazy_reg);
    I(use_ema);
    F(ema_decay);
    F(eta_min);
#undef F
#undef I
    if (run_opts_get(o, "use_ema"))
        tc->use_ema = opt_bool(o, "use_ema");
    tc->lr_schedule = opt_bool(o, "no_lr_decay") ? DDGAN_LR_CONSTANT : DDGAN_LR_COSINE;
    if (run_opts_get(o, "seed"))
        tc->seed = (uint64_t)opt_int(o, "seed") + 100; /* the training draws' own stream */
}

void cli_ddpm_trainer_config(const run_opts *o, ddgan_ddpm_trainer_config *tc)
{
    ddgan_ddpm_trainer_config_init(tc, sizeof *tc);
    if (run_opts_get(o, "batch_size"))
        tc->batch_size = opt_int(o, "batch_size");
    if (run_opts_get(o, "lr"))
        tc->lr = (float)opt_float(o, "lr");
    if (run_opts_get(o, "grad_clip"))
        tc->grad_clip = (float)opt_float(o, "grad_clip");
    if (run_opts_get(o, "warmup"))
        tc->warmup = opt_int(o, "warmup");
    if (run_opts_get(o, "use_ema"))
        tc->use_ema = opt_bool(o, "use_ema");
    if (run_opts_get(o, "ema_decay"))
        tc->ema_decay = (float)opt_float(o, "ema_decay");
    if (run_opts_get(o, "seed"))
        tc->seed = (uint64_t)opt_int(o, "seed") + 100;
}

int cli_dataset_config(const run_opts *o, ddgan_dataset_config *dc)
{
    ddgan_dataset_config_init(dc, sizeof *dc);
    const char *kind = run_opts_get(o, "dataset");
    const char *data = run_opts_get(o, "data");
    if (!kind) {
        cli_error("no dataset: give --preset or --dataset");
        return -1;
    }
    const uint64_t seed = (uint64_t)opt_int(o, "seed");
    dc->seed = seed;
    dc->data_seed = seed;
    dc->num_examples = opt_int(o, "num_examples");
    const int size = opt_int(o, "image_size") > 0 ? opt_int(o, "image_size") : 32;
    if (!strcmp(kind, "grid25") || !strcmp(kind, "ring8")) {
        dc->kind = !strcmp(kind, "grid25") ? DDGAN_DATASET_GRID25 : DDGAN_DATASET_RING8;
        return 0;
    }
    if (!data) {
        cli_error("the %s dataset needs --data PATH (%s)", kind,
                  !strcmp(kind, "cifar10") ? "the folder of the CIFAR-10 binary batches"
                                           : "a folder with the MNIST IDX files, gzipped or not");
        return -1;
    }
    dc->path = data;
    if (!strcmp(kind, "mnist") || !strcmp(kind, "fashion")) {
        dc->kind = DDGAN_DATASET_IDX;
        dc->pad = (size - 28) / 2; /* 28 -> 32 as the official padding */
        if (size < 28 || (size - 28) % 2) {
            cli_error("--image_size %d: MNIST-like data needs 28 + an even padding", size);
            return -1;
        }
    } else if (!strcmp(kind, "stackmnist")) {
        dc->kind = DDGAN_DATASET_STACKED_MNIST;
        dc->pad = (size - 28) / 2;
    } else if (!strcmp(kind, "cifar10")) {
        dc->kind = DDGAN_DATASET_CIFAR10;
        dc->hflip = 1;
    } else if (!strcmp(kind, "folder")) {
        dc->kind = DDGAN_DATASET_IMAGE_FOLDER;
        dc->image_size = size;
        dc->channels = opt_int(o, "num_channels") > 0 ? opt_int(o, "num_channels") : 3;
        dc->hflip = 1;
    } else {
        cli_error("unknown --dataset '%s' (grid25, ring8, mnist, fashion, stackmnist, cifar10, folder)", kind);
        return -1;
    }
    return 0;
}
