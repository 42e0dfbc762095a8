/* Prints the DDGAN diffusion schedule (reference section 1) for T steps.
 *   usage: schedule_info [T [beta_min beta_max]]      (defaults: 4 0.1 20) */
#include <ddgan/ddgan.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "schedule_info: %s: %s\n", what, ddgan_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    ddgan_schedule_config cfg;
    ddgan_schedule_config_init(&cfg, sizeof cfg);
    if (argc > 1) {
        char *end;
        long T = strtol(argv[1], &end, 10);
        if (*end || T < 1 || T > 1000) {
            fprintf(stderr, "usage: schedule_info [T (1..1000) [beta_min beta_max]]\n");
            return 2;
        }
        cfg.num_timesteps = (int)T;
    }
    if (argc > 3) {
        cfg.beta_min = strtod(argv[2], NULL);
        cfg.beta_max = strtod(argv[3], NULL);
    }

    ddgan_context_t ctx = NULL;
    ddgan_schedule_t s = NULL;
    if (ddgan_context_create(&ctx, NULL) != DDGAN_OK)
        return fail("context");
    if (ddgan_schedule_create(&s, ctx, &cfg) != DDGAN_OK) {
        ddgan_context_destroy(ctx);
        return fail("schedule");
    }
    const int T = ddgan_schedule_num_timesteps(s);
    double *buf = malloc(sizeof(double) * (size_t)(T + 1) * 12);
    float *f32 = malloc(sizeof(float) * (size_t)(T + 1));
    if (!buf || !f32) {
        fprintf(stderr, "schedule_info: out of memory\n");
        return 1;
    }
    const char *fwd[] = {"t", "betas", "a_s", "a_s_cum", "sigmas_cum"};
    const char *post[] = {"post_variance", "post_mean_coef1", "post_mean_coef2"};
    int ok = 1;
    for (int k = 0; k < 5; k++)
        ok &= ddgan_schedule_coef_f64(s, fwd[k], buf + k * (T + 1), (size_t)T + 1) == DDGAN_OK;
    for (int k = 0; k < 3; k++)
        ok &= ddgan_schedule_coef_f64(s, post[k], buf + (5 + k) * (T + 1), (size_t)T) == DDGAN_OK;
    ok &= ddgan_schedule_coef(s, "sigmas_cum", f32, (size_t)T + 1) == DDGAN_OK;
    if (!ok) {
        free(buf);
        free(f32);
        ddgan_schedule_destroy(s);
        ddgan_context_destroy(ctx);
        return fail("coefficients");
    }

    printf("libddgan %s, backend %s: VP schedule, T = %d, beta_min = %g, beta_max = %g\n\n",
           ddgan_version_string(), ddgan_context_backend(ctx), T, cfg.beta_min, cfg.beta_max);
    printf("  i  %-9s %-12s %-12s %-12s %-12s %s\n", "t_i", "beta_i", "a_i", "a_cum_i",
           "sigma_cum_i", "sigma_cum_i (official float32)");
    for (int i = 0; i <= T; i++)
        printf("%3d  %-9.6g %-12.8g %-12.8g %-12.8g %-12.8g %.8g\n", i, buf[i], buf[(T + 1) + i],
               buf[2 * (T + 1) + i], buf[3 * (T + 1) + i], buf[4 * (T + 1) + i], (double)f32[i]);
    printf("\n  k  %-12s %-12s %s\n", "post_var_k", "coef1_k", "coef2_k");
    for (int k = 0; k < T; k++)
        printf("%3d  %-12.8g %-12.8g %.8g\n", k, buf[5 * (T + 1) + k], buf[6 * (T + 1) + k],
               buf[7 * (T + 1) + k]);
    printf("\nNote: in the official float32 arrays sigma_cum_0 is exactly 0 (1 - float32(1e-8) == 1),"
           "\nso x_t at t = 0 is the data itself (reference section 1.4).\n");
    free(buf);
    free(f32);
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(ctx);
    return 0;
}
