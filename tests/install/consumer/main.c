/* A program written against the installed library only. */
#include <ddgan/ddgan.h>
#include <stdio.h>

int main(void)
{
    if (ddgan_version_number() / 10000 != DDGAN_VERSION_MAJOR) {
        fprintf(stderr, "header/library major version mismatch\n");
        return 1;
    }
    ddgan_context_t ctx = NULL;
    ddgan_schedule_t s = NULL;
    if (ddgan_context_create(&ctx, NULL) != DDGAN_OK ||
        ddgan_schedule_create(&s, ctx, NULL) != DDGAN_OK) {
        fprintf(stderr, "error: %s\n", ddgan_last_error());
        ddgan_context_destroy(ctx);
        return 1;
    }
    float betas[5];
    ddgan_status_t st = ddgan_schedule_coef(s, "betas", betas, 5);
    printf("consumer: libddgan %s on backend %s, betas[4] = %.6f\n", ddgan_version_string(),
           ddgan_context_backend(ctx), (double)betas[4]);
    ddgan_schedule_destroy(s);
    ddgan_context_destroy(ctx);
    return st == DDGAN_OK && betas[4] > 0.98f && betas[4] < 0.99f ? 0 : 1;
}
