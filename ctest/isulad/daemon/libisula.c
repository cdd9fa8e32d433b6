/*
 * A stand-in for the parts of lcr's libisula.so that the library's
 * interface meets: the generated search-result type and the image summary
 * the storage hands out. The library must define none of them in the daemon
 * build (the daemon links libisula), which the link test checks by symbol.
 */
#include <stdlib.h>

#include <isula_libutils/imagetool_search_result.h>

void free_imagetool_search_result(imagetool_search_result *ptr)
{
    size_t i;

    if (ptr == NULL) {
        return;
    }
    for (i = 0; i < ptr->results_len; i++) {
        if (ptr->results[i] != NULL) {
            free(ptr->results[i]->name);
            free(ptr->results[i]->description);
            free(ptr->results[i]);
        }
    }
    free(ptr->results);
    free(ptr->query);
    free(ptr);
}

imagetool_search_result *imagetool_search_result_parse_data(const char *jsondata, const struct parser_context *ctx,
                                                            parser_error *err)
{
    (void)jsondata; (void)ctx; (void)err;
    return NULL;
}
