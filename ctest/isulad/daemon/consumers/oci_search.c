/*
 * Compiled, never run: how iSulad's oci_search.c uses registry.h
 * (src/daemon/modules/image/oci/oci_search.c): libisula's generated header
 * (anonymous typedefs) and the library's registry.h, in both orders.
 */
#ifdef LIBISULA_FIRST
#include <isula_libutils/imagetool_search_result.h>
#endif
#include "registry.h"
#include <isula_libutils/imagetool_search_result.h>

#include <stdlib.h>
#include <string.h>

int consumer_oci_search(const char *term, int64_t *found);

int consumer_oci_search(const char *term, int64_t *found)
{
    registry_search_options *options = calloc(1, sizeof(registry_search_options));
    imagetool_search_result *result = NULL;
    int ret;

    if (options == NULL) {
        return -1;
    }
    options->search_name = strdup(term);
    options->limit = 25;
    ret = registry_search(options, &result);
    if (ret == 0 && result != NULL) {
        *found = result->num_results;
        if (result->results_len > 0 && result->results[0]->name == NULL) {
            ret = -1;
        }
    }
    free_imagetool_search_result(result);
    free_registry_search_options(options);
    return ret;
}
