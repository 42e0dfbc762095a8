/* `ddgan eval` and the mode-coverage report printed after 2-D training.
 * TEMPORARY: waits for the evaluation module (lib/eval). */
#include <stdio.h>

#include "cli.h"

int cli_report_2d(const char *ckpt, const float *xy, size_t n);
int cli_report_2d(const char *ckpt, const float *xy, size_t n)
{
    (void)ckpt;
    (void)xy;
    (void)n;
    return 0;
}

int cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("eval: not available yet");
    return CLI_FAIL;
}
