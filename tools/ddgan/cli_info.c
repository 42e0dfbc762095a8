/* `ddgan info FILE` and `ddgan backends`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_summary(const char *what, size_t params, double gflops)
{
    printf("%-14s %12zu parameters, %.4g GFLOPs per image (forward)\n", what, params, gflops);
}

int cmd_info(int argc, char **argv)
{
    if (argc == 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        printf("usage: ddgan info FILE   (a weights file or a trainer checkpoint)\n");
        return CLI_OK;
    }
    if (argc != 1) {
        cli_error("usage: ddgan info FILE (a weights file or a trainer checkpoint)");
        return CLI_USAGE;
    }
    const char *path = argv[0];
    size_t len = 0;
    if (ddgan_file_metadata(path, "config", NULL, 0, &len) != DDGAN_OK) {
        cli_lib_error("cannot read the file");
        return CLI_FAIL;
    }
    ddgan_context_t ctx = NULL;
    if (cli_context(&ctx, "ref", 0, 1)) /* nothing runs: the reference backend loads fastest */
        return CLI_FAIL;
    int rc = CLI_FAIL;
    char *format = cli_file_meta(path, "format"), *lib = cli_file_meta(path, "library"), *cfg = cli_file_meta(path, "config");
    char *dcfg = cli_file_meta(path, "D_config"), *tcfg = cli_file_meta(path, "trainer_config"), *sched = cli_file_meta(path, "schedule");
    char *opts = cli_file_meta(path, "run_options"), *step = cli_file_meta(path, "global_step");
    printf("file           %s\n", path);
    printf("format         %s\n", format ? format : "weights (interchange format)");
    if (lib)
        printf("written by     %s\n", lib);
    if (step)
        printf("global step    %s\n", step);
    printf("generator      %s\n", cfg ? cfg : "?");
    if (dcfg)
        printf("discriminator  %s\n", dcfg);
    if (sched)
        printf("schedule       %s\n", sched);
    if (tcfg)
        printf("trainer        %s\n", tcfg);
    ddgan_generator_t g = NULL;
    ddgan_discriminator_t d = NULL;
    ddgan_status_t st = format ? ddgan_generator_load_prefixed(&g, ctx, path, "G.", "config")
                               : ddgan_generator_load(&g, ctx, path);
    if (st != DDGAN_OK) {
        cli_lib_error("cannot load the generator");
        goto done;
    }
    ddgan_model_summary sum;
    ddgan_model_summary_init(&sum, sizeof sum);
    if (ddgan_generator_summary(g, &sum) == DDGAN_OK)
        print_summary("G", sum.num_params, sum.gflops_per_image);
    int c = 0, h = 0, w = 0, nz = 0;
    ddgan_generator_shape(g, &c, &h, &w, &nz);
    if (c == 2 && h == 1 && w == 1)
        printf("data           2-D points, latent %d\n", nz);
    else
        printf("data           %d x %d x %d images, latent %d\n", c, h, w, nz);
    ddgan_schedule_config sc;
    ddgan_schedule_config_init(&sc, sizeof sc);
    if (ddgan_generator_schedule_config(g, &sc) == DDGAN_OK)
        printf("steps          T = %d, beta %g .. %g%s\n", sc.num_timesteps, sc.beta_min, sc.beta_max,
               sc.use_geometric ? ", geometric" : "");
    if (dcfg) {
        if (ddgan_discriminator_load_prefixed(&d, ctx, path, "D.", "D_config") != DDGAN_OK) {
            cli_lib_error("cannot load the discriminator");
            goto done;
        }
        ddgan_model_summary_init(&sum, sizeof sum);
        if (ddgan_discriminator_summary(d, &sum) == DDGAN_OK)
            print_summary("D", sum.num_params, sum.gflops_per_image);
    }
    if (opts) {
        printf("run options   ");
        for (char *p = opts; *p; p++)
            if (*p == '\n')
                *p = ' ';
        printf(" %s\n", opts);
    }
    rc = CLI_OK;
done:
    ddgan_discriminator_destroy(d);
    ddgan_generator_destroy(g);
    ddgan_context_destroy(ctx);
    free(format);
    free(lib);
    free(cfg);
    free(dcfg);
    free(tcfg);
    free(sched);
    free(opts);
    free(step);
    return rc;
}

int cmd_backends(int argc, char **argv)
{
    if (argc > 0) {
        const int help = !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h");
        if (help)
            printf("usage: ddgan backends\n");
        else
            cli_error("backends takes no arguments");
        return help ? CLI_OK : CLI_USAGE;
    }
    const size_t n = ddgan_backend_count();
    printf("%-8s %-10s %-6s %s\n", "backend", "available", "score", "description / reason");
    for (size_t i = 0; i < n; i++) {
        ddgan_backend_info bi;
        ddgan_backend_info_init(&bi, sizeof bi);
        if (ddgan_backend_get_info(i, &bi) != DDGAN_OK) {
            cli_lib_error("backend listing");
            return CLI_FAIL;
        }
        printf("%-8s %-10s %-6d %s\n", bi.name, bi.available ? "yes" : "no", bi.score,
               bi.available ? bi.description : bi.reason);
    }
    return CLI_OK;
}
