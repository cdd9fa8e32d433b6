/*
 * Stand-in for libisula's generated isula_libutils/imagetool_search_result.h
 * (lcr, generated from its JSON schema): anonymous typedefs, as the generator
 * writes them, with libisula's layout. Only what the library's headers and
 * the daemon's search caller touch.
 */
#ifndef IMAGETOOL_SEARCH_RESULT_SCHEMA_H
#define IMAGETOOL_SEARCH_RESULT_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct yajl_val_s *yajl_val;
typedef char *parser_error;
struct parser_context;

typedef struct {
    int64_t star_count;
    bool is_official;
    char *name;
    bool is_automated;
    char *description;
    int64_t pull_count;
    bool is_trusted;
    yajl_val _residual;
} image_search_image;

typedef struct {
    int64_t num_pages;
    int64_t num_results;
    int64_t page_size;
    int64_t page;
    char *query;
    image_search_image **results;
    size_t results_len;
    yajl_val _residual;
} imagetool_search_result;

void free_imagetool_search_result(imagetool_search_result *ptr);
imagetool_search_result *imagetool_search_result_parse_data(const char *jsondata, const struct parser_context *ctx,
                                                            parser_error *err);

#ifdef __cplusplus
}
#endif

#endif
