/*
 * Compiled, never run: how iSulad's oci_pull.c uses registry.h
 * (src/daemon/modules/image/oci/oci_pull.c): its own progress.h first, then
 * the library's registry.h, the options filled in and the map read directly.
 */
#include <stdlib.h>
#include <string.h>

#include "progress.h"
#include "registry.h"

int consumer_oci_pull(const char *image, const char *dest, progress_status_map *map);

int consumer_oci_pull(const char *image, const char *dest, progress_status_map *map)
{
    registry_pull_options *options = calloc(1, sizeof(registry_pull_options));
    int ret;

    if (options == NULL) {
        return -1;
    }
    options->image_name = strdup(image);
    options->dest_image_name = strdup(dest);
    options->auth.username = NULL;
    options->auth.password = NULL;
    options->skip_tls_verify = false;
    options->insecure_registry = true;
    options->progress_status_store = map;
    ret = registry_pull(options);
    if (map != NULL && map->map == NULL) {
        ret = -1;
    }
    free_registry_pull_options(options);
    return ret;
}
