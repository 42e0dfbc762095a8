/*
 * bench_train: end-to-end speed of libddgan (docs/performance.md).
 *
 * For the small MNIST configuration and the CIFAR-10 configuration it times,
 * through the public API only:
 *
 *   - training iterations (ddgan_trainer_step) without and with the R1 step;
 *   - 4-step sampling (ddgan_sample) at batch 1 and at the training batch;
 *   - the achieved GFLOP/s, against the FMA peak measured by this program on
 *     the same threads;
 *   - the peak resident memory of training and of sampling.
 *
 * Each measurement (backend x config x {train, sample}) runs in a child
 * process of its own, so that its peak RSS (wait4's ru_maxrss) belongs to it
 * alone and one failing job does not stop the others. The child sends its
 * numbers to the parent through a pipe.
 *
 * FLOP accounting (the same convention as bench/bench_torch.py, so that the
 * GFLOP/s ratio equals the speed ratio): F_G and F_D are the forward GFLOP per
 * image of the networks (ddgan_*_summary: 2 x MACs of convolutions and matrix
 * products). One training iteration is counted as B x (4 F_G + 9 F_D), the
 * reference's accounting (section 7: 2 G forwards + 1 G backward at twice a
 * forward, 3 D forwards + 3 D backwards); an R1 iteration adds B x 3 F_D (the
 * input gradient, one backward, and its double backward, about two). A
 * sampling call is T x B x F_G.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#else
#define BENCH_X86 0
#endif

#include "ddgan/ddgan.h"

/* ------------------------------------------------------------------------ */
/* Configurations (docs/performance.md) */

typedef struct bench_cfg {
    const char *name;
    int img, c_img, nf;
    int ch_mult[4], levels, nrb, nz, z_emb, n_mlp;
    int ngf, t_emb;
    int ref_default; /* "ref" runs on this config by default */
} bench_cfg;

static const bench_cfg CONFIGS[] = {
    {"mnist", 32, 1, 32, {1, 2, 2, 0}, 3, 1, 32, 64, 2, 16, 64, 1},
    {"cifar10", 32, 3, 128, {1, 2, 2, 2}, 4, 2, 100, 256, 4, 64, 256, 0},
};
#define NUM_CONFIGS (sizeof CONFIGS / sizeof CONFIGS[0])

typedef struct options {
    const char *config;  /* "mnist", "cifar10", "all" */
    const char *backend; /* "cpu", "ref", "default" (cpu on all, ref on mnist) */
    int threads;         /* context num_threads (0: all online) */
    int batch;
    int steps, warmup;     /* timed / untimed training iterations of each kind */
    int ref_steps;         /* timed iterations on "ref" (slow) */
    int sample_reps;       /* timed sampling calls at batch 1 (batch B: max(1, reps / 4)) */
    int sample_warmup;     /* untimed sampling calls at batch 1 first (batch B: warmup) */
    int quick;
    int json;
    int peak_only;
    int serve_sample1; /* --serve-sample1: timed batch-1 sampling calls on request */
} options;

/* What a child sends back. */
typedef struct job_result {
    int ok;
    char error[512];
    long long g_params, d_params;
    double g_gflop, d_gflop; /* forward GFLOP per image */
    int threads;
    double first_step_s;
    double step_s, step_r1_s; /* median seconds per iteration without / with R1 */
    int steps_timed;
    double sample1_s, sample_b_s; /* median seconds per call at batch 1 / batch B */
} job_result;

/* ------------------------------------------------------------------------ */
/* Small helpers */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    if (n <= 0)
        return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (!colon)
                continue;
            colon++;
            while (*colon == ' ' || *colon == '\t')
                colon++;
            snprintf(out, cap, "%.*s", (int)strcspn(colon, "\r\n"), colon);
            break;
        }
    }
    fclose(f);
}

#if defined(__clang__)
#define COMPILER_STRING __VERSION__
#elif defined(__GNUC__)
#define COMPILER_STRING "gcc " __VERSION__
#else
#define COMPILER_STRING "unknown compiler"
#endif

/* ------------------------------------------------------------------------ */
/* FMA peak: every thread runs independent chains of fused multiply-adds on
 * registers (12 accumulators hide the FMA latency on two pipes). The widest
 * instruction set the CPU has is used; the result is the float32 peak the
 * convolutions could reach on these threads. */

#define PEAK_ITERS 400000000L

#if BENCH_X86
__attribute__((target("avx512f"))) static double fma_chain_avx512(long iters)
{
    __m512 a[12];
    const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm512_add_ps(s, a[i]);
    float out[16];
    _mm512_storeu_ps(out, s);
    (void)out[0];
    return (double)iters * 12.0 * 16.0 * 2.0 + (double)(out[0] != out[0]);
}

__attribute__((target("avx2,fma"))) static double fma_chain_avx2(long iters)
{
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++)
        s = _mm256_add_ps(s, a[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return (double)iters * 12.0 * 8.0 * 2.0 + (double)(out[0] != out[0]);
}
#endif

static double fma_chain_scalar(long iters)
{
    volatile float sink;
    float a[12];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++)
            a[i] = fmaf(a[i], 0.999999f, 1e-7f);
    float s = 0.0f;
    for (int i = 0; i < 12; i++)
        s += a[i];
    sink = s;
    (void)sink;
    return (double)iters * 12.0 * 2.0;
}

static const char *fma_isa(void)
{
#if BENCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "avx2";
#endif
    return "scalar";
}

typedef struct peak_arg {
    long iters;
    double flops, seconds;
} peak_arg;

static void *peak_thread(void *p)
{
    peak_arg *a = p;
    const char *isa = fma_isa();
    double t0 = now_s();
#if BENCH_X86
    if (strcmp(isa, "avx512") == 0)
        a->flops = fma_chain_avx512(a->iters);
    else if (strcmp(isa, "avx2") == 0)
        a->flops = fma_chain_avx2(a->iters);
    else
        a->flops = fma_chain_scalar(a->iters / 16);
#else
    (void)isa;
    a->flops = fma_chain_scalar(a->iters / 16);
#endif
    a->seconds = now_s() - t0;
    return NULL;
}

/* GFLOP/s of `threads` threads running the chains at once (best of 3). */
static double measure_peak(int threads)
{
    double best = 0.0;
    peak_arg args[256];
    pthread_t tid[256];
    if (threads > 256)
        threads = 256;
    for (int rep = 0; rep < 3; rep++) {
        int started = 0;
        for (int i = 0; i < threads; i++) {
            args[i].iters = PEAK_ITERS / 4;
            if (pthread_create(&tid[i], NULL, peak_thread, &args[i]) != 0)
                break;
            started++;
        }
        double flops = 0.0, slowest = 0.0;
        for (int i = 0; i < started; i++) {
            pthread_join(tid[i], NULL);
            flops += args[i].flops;
            if (args[i].seconds > slowest)
                slowest = args[i].seconds;
        }
        if (started == threads && slowest > 0.0 && flops / slowest * 1e-9 > best)
            best = flops / slowest * 1e-9;
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* One job, in the child */

#define TRY(call)                                                                                  \
    do {                                                                                           \
        ddgan_status_t st_ = (call);                                                               \
        if (st_ != DDGAN_OK) {                                                                     \
            snprintf(r->error, sizeof r->error, "%s: %s (%s)", #call, ddgan_status_string(st_),    \
                     ddgan_last_error());                                                          \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

static void make_networks_cfg(const bench_cfg *c, ddgan_generator_config *gc, ddgan_discriminator_config *dc)
{
    ddgan_generator_config_init(gc, sizeof *gc);
    gc->image_size = c->img;
    gc->num_channels = c->c_img;
    gc->num_channels_dae = c->nf;
    for (int i = 0; i < c->levels; i++)
        gc->ch_mult[i] = c->ch_mult[i];
    gc->ch_mult_len = c->levels;
    gc->num_res_blocks = c->nrb;
    gc->attn_resolutions[0] = 16;
    gc->attn_resolutions_len = 1;
    gc->nz = c->nz;
    gc->z_emb_dim = c->z_emb;
    gc->n_mlp = c->n_mlp;
    gc->num_timesteps = 4;
    ddgan_discriminator_config_init(dc, sizeof *dc);
    dc->nc = 2 * c->c_img;
    dc->ngf = c->ngf;
    dc->t_emb_dim = c->t_emb;
    dc->image_size = c->img;
}

/* A context on `backend` with the run's thread count and seed 1. */
static ddgan_status_t open_context(const options *o, const char *backend, ddgan_context_t *ctx)
{
    ddgan_context_config cc;
    ddgan_context_config_init(&cc, sizeof cc);
    cc.backend = backend;
    cc.seed = 1;
    cc.num_threads = o->threads;
    return ddgan_context_create(ctx, &cc);
}

static void run_job(const options *o, const bench_cfg *c, const char *backend, int sampling, job_result *r)
{
    ddgan_context_t ctx = NULL;
    ddgan_generator_t g = NULL;
    ddgan_discriminator_t d = NULL;
    ddgan_schedule_t s = NULL;
    ddgan_trainer_t tr = NULL;
    float *x0 = NULL, *out = NULL;
    double *times = NULL;
    const int B = o->batch;
    const size_t img = (size_t)c->c_img * (size_t)c->img * (size_t)c->img;

    TRY(open_context(o, backend, &ctx));
    r->threads = ddgan_context_num_threads(ctx);
    ddgan_generator_config gc;
    ddgan_discriminator_config dc;
    make_networks_cfg(c, &gc, &dc);
    TRY(ddgan_generator_create(&g, ctx, &gc));
    TRY(ddgan_discriminator_create(&d, ctx, &dc));
    ddgan_model_summary sg, sd;
    ddgan_model_summary_init(&sg, sizeof sg);
    ddgan_model_summary_init(&sd, sizeof sd);
    TRY(ddgan_generator_summary(g, &sg));
    TRY(ddgan_discriminator_summary(d, &sd));
    r->g_params = (long long)sg.num_params;
    r->d_params = (long long)sd.num_params;
    r->g_gflop = sg.gflops_per_image;
    r->d_gflop = sd.gflops_per_image;
    TRY(ddgan_schedule_create(&s, ctx, NULL));

    const int is_ref = strcmp(backend, "ref") == 0;
    const int nsteps = is_ref ? o->ref_steps : o->steps;
    const int reps = o->sample_reps;
    const int nt = nsteps > reps ? nsteps : reps;
    times = malloc(sizeof *times * (size_t)(nt > 0 ? nt : 1));
    out = malloc(sizeof *out * img * (size_t)B);
    x0 = malloc(sizeof *x0 * img * (size_t)B);
    if (!times || !out || !x0) {
        snprintf(r->error, sizeof r->error, "out of host memory");
        goto done;
    }

    if (!sampling) {
        /* data in [-1, 1], like normalised images */
        TRY(ddgan_context_rand(ctx, x0, img * (size_t)B));
        for (size_t i = 0; i < img * (size_t)B; i++)
            x0[i] = 2.0f * x0[i] - 1.0f;
        ddgan_trainer_config tc;
        ddgan_trainer_config_init(&tc, sizeof tc);
        tc.batch_size = B;
        tc.lr_schedule = DDGAN_LR_CONSTANT;
        /* lazy R1 every second iteration: odd global steps have no R1, even
         * ones have it, so one trainer measures both kinds of iteration */
        tc.lazy_reg = 2;
        tc.skip_nonfinite = 1;
        TRY(ddgan_trainer_create(&tr, g, d, s, &tc));
        for (int kind = 0; kind < 2; kind++) {
            /* untimed warm-up: first use of every shape (oneDNN primitive
             * creation) and first touch of the planned memory */
            for (int w = 0; w < o->warmup; w++) {
                TRY(ddgan_trainer_set_global_step(tr, kind ? 2 : 1));
                double t0 = now_s();
                TRY(ddgan_trainer_step(tr, x0, (size_t)B, NULL));
                if (kind == 0 && w == 0)
                    r->first_step_s = now_s() - t0;
            }
            for (int i = 0; i < nsteps; i++) {
                TRY(ddgan_trainer_set_global_step(tr, kind ? 2 : 1));
                double t0 = now_s();
                TRY(ddgan_trainer_step(tr, x0, (size_t)B, NULL));
                times[i] = now_s() - t0;
                if (kind == 0 && i == 0 && o->warmup == 0)
                    r->first_step_s = times[i];
            }
            if (kind == 0)
                r->step_s = median(times, nsteps);
            else
                r->step_r1_s = median(times, nsteps);
        }
        r->steps_timed = nsteps;
    } else {
        for (int pass = 0; pass < 2; pass++) {
            const size_t n = pass == 0 ? 1 : (size_t)B;
            const int nrep = pass == 0 ? reps : (reps / 4 > 0 ? reps / 4 : 1);
            /* batch 1: a few untimed calls (the first calls after the
             * planning one run slower: the median of 8 after one warm-up
             * was 63-76 images/s on the MNIST config, of 16 after three
             * 80-83); bench_torch.py gives PyTorch the same counts */
            const int nwarm = pass == 0 ? o->sample_warmup : (o->warmup > 0 ? 1 : 0);
            for (int w = 0; w < nwarm; w++)
                TRY(ddgan_sample(g, s, n, 7 + (uint64_t)w, out));
            for (int i = 0; i < nrep; i++) {
                double t0 = now_s();
                TRY(ddgan_sample(g, s, n, (uint64_t)i, out));
                times[i] = now_s() - t0;
            }
            if (pass == 0)
                r->sample1_s = median(times, nrep);
            else
                r->sample_b_s = median(times, nrep);
        }
    }
    r->ok = 1;
done:
    free(times);
    free(out);
    free(x0);
    ddgan_trainer_destroy(tr);
    ddgan_schedule_destroy(s);
    ddgan_discriminator_destroy(d);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
}

/* --serve-sample1: one generator of config c on `backend`, sampled at
 * batch 1 on request, for bench_torch.py's interleaved rounds (the
 * batch-1 rate of this machine drifts by up to 1.7x between minutes, so the
 * two sides are timed in alternating rounds rather than minutes apart).
 * After o->sample_warmup untimed calls it prints "READY"; then each line
 * "N" on stdin runs N timed calls and prints {"times":[seconds, ...]}; an
 * empty line, "0" or the end of stdin ends it. Errors: {"error":"..."} and
 * exit status 1. */
static int serve_sample1(const options *o, const bench_cfg *c, const char *backend)
{
    job_result res;
    job_result *r = &res;
    memset(r, 0, sizeof *r);
    ddgan_context_t ctx = NULL;
    ddgan_generator_t g = NULL;
    ddgan_schedule_t s = NULL;
    float *out = NULL;
    double *times = NULL;
    int ok = 0;
    TRY(open_context(o, backend, &ctx));
    ddgan_generator_config gc;
    ddgan_discriminator_config dc;
    make_networks_cfg(c, &gc, &dc);
    TRY(ddgan_generator_create(&g, ctx, &gc));
    TRY(ddgan_schedule_create(&s, ctx, NULL));
    out = malloc(sizeof *out * (size_t)c->c_img * (size_t)c->img * (size_t)c->img);
    times = malloc(sizeof *times * 1000);
    if (!out || !times) {
        snprintf(r->error, sizeof r->error, "out of host memory");
        goto done;
    }
    uint64_t seed = 7;
    for (int w = 0; w < o->sample_warmup; w++)
        TRY(ddgan_sample(g, s, 1, seed++, out));
    printf("READY\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        const int n = atoi(line);
        if (n <= 0)
            break;
        const int reps = n > 1000 ? 1000 : n;
        for (int i = 0; i < reps; i++) {
            const double t0 = now_s();
            TRY(ddgan_sample(g, s, 1, seed++, out));
            times[i] = now_s() - t0;
        }
        printf("{\"times\":[");
        for (int i = 0; i < reps; i++)
            printf("%s%.6f", i ? "," : "", times[i]);
        printf("]}\n");
        fflush(stdout);
    }
    ok = 1;
done:
    if (!ok) {
        printf("{\"error\":\"");
        for (const char *e = r->error; *e; e++)
            putchar(*e == '"' || *e == '\\' || (unsigned char)*e < 32 ? ' ' : *e);
        printf("\"}\n");
        fflush(stdout);
    }
    free(times);
    free(out);
    ddgan_schedule_destroy(s);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
    return ok ? 0 : 1;
}

/* Runs one job in a child; *rss_kib receives the child's peak RSS. */
static int run_forked(const options *o, const bench_cfg *c, const char *backend, int sampling, job_result *r,
                      long *rss_kib)
{
    memset(r, 0, sizeof *r);
    *rss_kib = -1;
    int fd[2];
    if (pipe(fd) != 0) {
        snprintf(r->error, sizeof r->error, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        job_result res;
        memset(&res, 0, sizeof res);
        run_job(o, c, backend, sampling, &res);
        const char *p = (const char *)&res;
        size_t left = sizeof res;
        while (left > 0) {
            ssize_t w = write(fd[1], p, left);
            if (w <= 0)
                _exit(3);
            p += w;
            left -= (size_t)w;
        }
        close(fd[1]);
        _exit(res.ok ? 0 : 1);
    }
    close(fd[1]);
    char *p = (char *)r;
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(fd[0], p + got, sizeof *r - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd[0]);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    *rss_kib = ru.ru_maxrss;
    if (got != sizeof *r) {
        memset(r, 0, sizeof *r);
        snprintf(r->error, sizeof r->error, "child ended without a result (status %d)", status);
        return -1;
    }
    return r->ok ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Output */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_train [options]\n"
            "  --config mnist|cifar10|all   (default all)\n"
            "  --backend cpu|ref|default    (default: cpu on every config, ref on mnist)\n"
            "  --threads N                  context threads, 0 = all online (default 0)\n"
            "  --batch N                    training and large sampling batch (default 64)\n"
            "  --steps N                    timed iterations of each kind (default 5)\n"
            "  --ref-steps N                timed iterations of each kind on ref (default 1)\n"
            "  --warmup N                   untimed iterations / sampling calls first (default 1)\n"
            "  --sample-reps N              timed sampling calls at batch 1 (default 16)\n"
            "  --sample-warmup N            untimed sampling calls at batch 1 first (default 3;\n"
            "                               the training batch gets --warmup)\n"
            "  --quick                      steps 1, ref-steps 1, warmup 0, sample-warmup 0, sample-reps 1\n"
            "  --peak-only                  only measure the FMA peak\n"
            "  --json                       one JSON object per line\n"
            "  --serve-sample1              with --config mnist|cifar10: after --sample-warmup calls print\n"
            "                               READY, then per stdin line N time N batch-1 sampling calls and\n"
            "                               print {\"times\":[...]} (bench_torch.py's interleaved rounds)\n"
            "Plug-ins are looked up in $DDGAN_BACKEND_PATH, else next to libddgan.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    if (!s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* A JSON number, or null when not finite (a failed measurement). */
static const char *jnum(char *buf, size_t cap, double v)
{
    if (isfinite(v))
        snprintf(buf, cap, "%.6g", v);
    else
        snprintf(buf, cap, "null");
    return buf;
}

static void fmt_rss(char *buf, size_t cap, long kib)
{
    if (kib < 0)
        snprintf(buf, cap, "-");
    else if (kib >= 1024 * 1024)
        snprintf(buf, cap, "%.2f GiB", (double)kib / (1024.0 * 1024.0));
    else
        snprintf(buf, cap, "%.0f MiB", (double)kib / 1024.0);
}

int main(int argc, char **argv)
{
    options o = {.config = "all", .backend = "default", .threads = 0, .batch = 64, .steps = 5,
                 .warmup = 1, .ref_steps = 1, .sample_reps = 16, .sample_warmup = 3};
    int steps_set = 0, warm_set = 0, reps_set = 0, swarm_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--config") == 0 && v) {
            o.config = v;
            i++;
        } else if (strcmp(a, "--backend") == 0 && v) {
            o.backend = v;
            i++;
        } else if (strcmp(a, "--threads") == 0) {
            bad = parse_int(v, 0, 256, &o.threads);
            i++;
        } else if (strcmp(a, "--batch") == 0) {
            bad = parse_int(v, 1, 64, &o.batch);
            i++;
        } else if (strcmp(a, "--steps") == 0) {
            bad = parse_int(v, 1, 1000, &o.steps);
            steps_set = 1;
            i++;
        } else if (strcmp(a, "--ref-steps") == 0) {
            bad = parse_int(v, 1, 1000, &o.ref_steps);
            i++;
        } else if (strcmp(a, "--warmup") == 0) {
            bad = parse_int(v, 0, 100, &o.warmup);
            warm_set = 1;
            i++;
        } else if (strcmp(a, "--sample-reps") == 0) {
            bad = parse_int(v, 1, 1000, &o.sample_reps);
            reps_set = 1;
            i++;
        } else if (strcmp(a, "--sample-warmup") == 0) {
            bad = parse_int(v, 0, 100, &o.sample_warmup);
            swarm_set = 1;
            i++;
        } else if (strcmp(a, "--quick") == 0) {
            o.quick = 1;
        } else if (strcmp(a, "--json") == 0) {
            o.json = 1;
        } else if (strcmp(a, "--peak-only") == 0) {
            o.peak_only = 1;
        } else if (strcmp(a, "--serve-sample1") == 0) {
            o.serve_sample1 = 1;
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "bench_train: bad option %s%s%s\n", a, v ? " " : "", v ? v : "");
            usage(stderr);
            return 2;
        }
    }
    if (o.quick) {
        if (!steps_set)
            o.steps = 1;
        if (!warm_set)
            o.warmup = 0;
        if (!reps_set)
            o.sample_reps = 1;
        if (!swarm_set)
            o.sample_warmup = 0;
    }
    /* minibatch std needs B < 4 or a multiple of 4 */
    if (o.batch >= 4 && o.batch % 4 != 0) {
        fprintf(stderr, "bench_train: --batch must be < 4 or a multiple of 4\n");
        return 2;
    }
    if (strcmp(o.backend, "cpu") && strcmp(o.backend, "ref") && strcmp(o.backend, "default")) {
        fprintf(stderr, "bench_train: --backend must be cpu, ref or default\n");
        return 2;
    }
    int any_cfg = 0;
    for (size_t i = 0; i < NUM_CONFIGS; i++)
        any_cfg |= strcmp(o.config, "all") == 0 || strcmp(o.config, CONFIGS[i].name) == 0;
    if (!any_cfg) {
        fprintf(stderr, "bench_train: unknown --config %s\n", o.config);
        return 2;
    }

    if (o.serve_sample1) {
        for (size_t i = 0; i < NUM_CONFIGS; i++)
            if (strcmp(o.config, CONFIGS[i].name) == 0)
                return serve_sample1(&o, &CONFIGS[i], strcmp(o.backend, "default") ? o.backend : "cpu");
        fprintf(stderr, "bench_train: --serve-sample1 needs --config mnist or cifar10\n");
        return 2;
    }

    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    const int peak_threads = o.threads > 0 ? o.threads : (int)(ncpu > 0 ? ncpu : 1);
    const double peak = measure_peak(peak_threads);
    const double peak1 = peak_threads > 1 ? measure_peak(1) : peak;
    if (o.json) {
        printf("{\"type\":\"machine\",\"nproc\":%ld,\"cpu\":\"%s\",\"compiler\":\"%s\",\"libddgan\":\"%s\","
               "\"threads\":%d,\"fma_isa\":\"%s\",\"peak_gflops\":%.1f,\"peak_gflops_1thread\":%.1f,"
               "\"batch\":%d,\"quick\":%d}\n",
               ncpu, cpu, COMPILER_STRING, ddgan_version_string(), peak_threads, fma_isa(), peak, peak1,
               o.batch, o.quick);
    } else {
        printf("bench_train: libddgan %s, %s\n", ddgan_version_string(), COMPILER_STRING);
        printf("machine: %ld CPUs online, %s\n", ncpu, cpu);
        printf("measured float32 FMA peak (%s): %.1f GFLOP/s on %d thread(s), %.1f on 1\n", fma_isa(), peak,
               peak_threads, peak1);
        printf("batch %d, 4 diffusion steps; %s\n\n", o.batch,
               o.quick ? "QUICK run (1 iteration, no warm-up: not a measurement)" : "full run");
    }
    fflush(stdout);
    if (o.peak_only)
        return 0;

    if (!o.json) {
        printf("| config | backend | threads | train it/s | train it/s (R1) | GFLOP/s | %% of peak | "
               "sample img/s (b1) | sample img/s (b%d) | peak RSS train | peak RSS sample |\n",
               o.batch);
        printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
        fflush(stdout);
    }
    int failures = 0;
    for (size_t ci = 0; ci < NUM_CONFIGS; ci++) {
        const bench_cfg *c = &CONFIGS[ci];
        if (strcmp(o.config, "all") != 0 && strcmp(o.config, c->name) != 0)
            continue;
        for (int bi = 0; bi < 2; bi++) {
            const char *backend = bi == 0 ? "cpu" : "ref";
            if (strcmp(o.backend, "default") == 0 ? (bi == 1 && !c->ref_default)
                                                   : strcmp(o.backend, backend) != 0)
                continue;
            job_result tr_res, sa_res;
            long rss_train = -1, rss_sample = -1;
            int e1 = run_forked(&o, c, backend, 0, &tr_res, &rss_train);
            int e2 = run_forked(&o, c, backend, 1, &sa_res, &rss_sample);
            if (e1)
                fprintf(stderr, "bench_train: %s/%s training failed: %s\n", c->name, backend, tr_res.error);
            if (e2)
                fprintf(stderr, "bench_train: %s/%s sampling failed: %s\n", c->name, backend, sa_res.error);
            failures += (e1 != 0) + (e2 != 0);
            const job_result *m = e1 ? &sa_res : &tr_res; /* model numbers from either */
            const double B = o.batch;
            const double flop_it = B * (4.0 * m->g_gflop + 9.0 * m->d_gflop);
            const double flop_r1 = flop_it + B * 3.0 * m->d_gflop;
            const double gf = e1 ? NAN : flop_it / tr_res.step_s;
            const double gf_r1 = e1 ? NAN : flop_r1 / tr_res.step_r1_s;
            const double it = e1 ? NAN : 1.0 / tr_res.step_s, it_r1 = e1 ? NAN : 1.0 / tr_res.step_r1_s;
            const double s1 = e2 ? NAN : 1.0 / sa_res.sample1_s, sb = e2 ? NAN : B / sa_res.sample_b_s;
            const double sgf = e2 ? NAN : 4.0 * B * m->g_gflop / sa_res.sample_b_s;
            if (o.json) {
                char b[12][40];
                printf("{\"type\":\"result\",\"config\":\"%s\",\"backend\":\"%s\",\"threads\":%d,\"batch\":%d,"
                       "\"g_params\":%lld,\"d_params\":%lld,\"g_gflop_per_image\":%.6f,"
                       "\"d_gflop_per_image\":%.6f,\"train_ok\":%d,\"sample_ok\":%d,"
                       "\"first_step_s\":%s,\"step_s\":%s,\"step_r1_s\":%s,\"steps_timed\":%d,"
                       "\"train_it_per_s\":%s,\"train_r1_it_per_s\":%s,\"train_gflops\":%s,"
                       "\"train_r1_gflops\":%s,\"peak_gflops\":%.6g,\"sample_b1_img_per_s\":%s,"
                       "\"sample_b_img_per_s\":%s,\"sample_gflops\":%s,\"peak_rss_train_kib\":%ld,"
                       "\"peak_rss_sample_kib\":%ld}\n",
                       c->name, backend, m->threads, o.batch, m->g_params, m->d_params, m->g_gflop, m->d_gflop,
                       !e1, !e2, jnum(b[0], 40, e1 ? NAN : tr_res.first_step_s),
                       jnum(b[1], 40, e1 ? NAN : tr_res.step_s), jnum(b[2], 40, e1 ? NAN : tr_res.step_r1_s),
                       tr_res.steps_timed, jnum(b[3], 40, it), jnum(b[4], 40, it_r1), jnum(b[5], 40, gf),
                       jnum(b[6], 40, gf_r1), peak, jnum(b[7], 40, s1), jnum(b[8], 40, sb), jnum(b[9], 40, sgf),
                       e1 ? -1L : rss_train, e2 ? -1L : rss_sample);
            } else {
                char r1[32], r2[32];
                fmt_rss(r1, sizeof r1, e1 ? -1 : rss_train);
                fmt_rss(r2, sizeof r2, e2 ? -1 : rss_sample);
                printf("| %s | %s | %d | %.4g | %.4g | %.1f / %.1f | %.0f%% / %.0f%% | %.3g | %.3g | %s | %s |\n",
                       c->name, backend, m->threads, it, it_r1, gf, gf_r1, 100.0 * gf / peak,
                       100.0 * gf_r1 / peak, s1, sb, r1, r2);
            }
            fflush(stdout);
        }
    }
    if (!o.json) {
        printf("\nGFLOP/s and %% of peak: without / with R1 (model FLOPs: B x (4 F_G + 9 F_D), R1 adds "
               "B x 3 F_D; see docs/performance.md).\n");
    } else {
        printf("{\"type\":\"end\",\"failures\":%d}\n", failures);
    }
    return failures ? 1 : 0;
}
