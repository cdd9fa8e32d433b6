/*
 * Compiled, never run: iSulad's image store reads layer_blob and calls
 * free_layer_blob through utils_images.h -> registry_type.h
 * (src/daemon/modules/image/oci/storage/image_store/image_store.c).
 */
#include <stdbool.h>
#include <stdlib.h>

#include "registry_type.h"

size_t consumer_image_store(layer_blob *layers, size_t n);

size_t consumer_image_store(layer_blob *layers, size_t n)
{
    size_t i;
    size_t kept = 0;

    for (i = 0; i < n; i++) {
        if (!layers[i].empty_layer && layers[i].diff_id != NULL) {
            kept++;
        }
        free_layer_blob(&layers[i]);
    }
    return kept;
}
