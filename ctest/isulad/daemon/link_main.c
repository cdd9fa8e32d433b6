/*
 * The executable of the link test: the daemon's side of the calls (the
 * registry entry points, http_global_init from main.c, authz_http_request
 * from the gRPC TLS check), then one call through libhttpclient's REST
 * client to see whose http_request answers it.
 */
#include <stdio.h>

#include "http.h"
#include "registry.h"

#define STANDIN_MARK (-77)

typedef struct Buffer Buffer;
int rest_send_request(const char *socket, const char *url, char *request_body, size_t body_len, Buffer **output);

int main(void)
{
    /* what the daemon calls (addresses taken, so every entry point links) */
    void *used[] = {
        (void *)registry_init, (void *)registry_pull, (void *)registry_login, (void *)registry_logout,
        (void *)registry_search, (void *)free_registry_pull_options, (void *)free_registry_search_options,
        (void *)http_global_init, (void *)authz_http_request,
    };
    int ret;

    for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
        if (used[i] == NULL) {
            return 2;
        }
    }
    /* libhttpclient's own REST client calls http_request: with -rdynamic the
       library's definition answers it (a NULL URL: -1, not the stand-in's mark) */
    ret = rest_send_request(NULL, NULL, NULL, 0, NULL);
    if (ret == STANDIN_MARK) {
        fprintf(stderr, "libhttpclient's http_request answered: the library's did not take its place\n");
        return 1;
    }
    printf("the library's http_request answers libhttpclient's callers (returned %d)\n", ret);
    return 0;
}
