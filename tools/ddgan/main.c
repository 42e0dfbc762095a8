/* `ddgan`: train, sample, evaluate and inspect DDGAN models (docs/cli.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ddgan: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_lib_error(const char *what)
{
    cli_error("%s: %s", what, ddgan_last_error());
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ddgan <command> [options]\n"
               "\n"
               "commands:\n"
               "  train     train a model:  ddgan train --preset toy25 [--exp DIR] [--steps N] [--resume]\n"
               "  sample    draw samples:   ddgan sample --ckpt FILE --n N --out FILE.png|FILE.npy\n"
               "  eval      score a model:  ddgan eval --ckpt FILE [--n N] [--json]\n"
               "  info      describe a weights or checkpoint file:  ddgan info FILE\n"
               "  backends  list the compute backends and why any is unavailable\n"
               "  version   print the library version\n"
               "\n"
               "`ddgan <command> --help` describes each command (docs/cli.md has the details).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("missing command: train, sample, eval, info, backends or version (ddgan --help)");
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("ddgan %s\n", ddgan_version_string());
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"train", cmd_train}, {"sample", cmd_sample}, {"eval", cmd_eval},
                {"info", cmd_info},   {"backends", cmd_backends}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].fn(argc - 2, argv + 2);
    cli_error("unknown command '%s' (ddgan --help lists the commands)", cmd);
    return CLI_USAGE;
}
