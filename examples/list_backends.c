/* Lists the compute backends libddgan knows, whether each can be used here,
 * and why not. Then creates a context with "auto" and names the choice. */
#include <ddgan/ddgan.h>
#include <stdio.h>

int main(void)
{
    size_t n = ddgan_backend_count();
    printf("%-8s %-10s %-6s %s\n", "backend", "available", "score", "details");
    for (size_t i = 0; i < n; i++) {
        ddgan_backend_info info;
        ddgan_backend_info_init(&info, sizeof info);
        if (ddgan_backend_get_info(i, &info) != DDGAN_OK) {
            fprintf(stderr, "list_backends: %s\n", ddgan_last_error());
            return 1;
        }
        printf("%-8s %-10s %-6d %s\n", info.name, info.available ? "yes" : "no", info.score,
               info.available ? info.description : info.reason);
    }
    ddgan_context_t ctx = NULL;
    if (ddgan_context_create(&ctx, NULL) != DDGAN_OK) {
        fprintf(stderr, "list_backends: %s\n", ddgan_last_error());
        return 1;
    }
    printf("\"auto\" selects: %s\n", ddgan_context_backend(ctx));
    ddgan_context_destroy(ctx);
    return 0;
}
