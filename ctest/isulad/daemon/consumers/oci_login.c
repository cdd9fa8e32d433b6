/*
 * Compiled, never run: iSulad's oci_login.c, oci_logout.c and oci_image.c
 * (src/daemon/modules/image/oci/) with the library's registry.h.
 */
#include <stdbool.h>
#include <string.h>

#include "registry.h"

int consumer_oci_login(char *server, char *user, char *pass);

int consumer_oci_login(char *server, char *user, char *pass)
{
    registry_login_options options;

    memset(&options, 0, sizeof(options));
    options.host = server;
    options.auth.username = user;
    options.auth.password = pass;
    options.skip_tls_verify = false;
    options.insecure_registry = false;
    if (registry_init(NULL, NULL) != 0) {
        return -1;
    }
    if (registry_login(&options) != 0) {
        return -1;
    }
    return registry_logout(server);
}
