/*
 * A stand-in for iSulad's libhttpclient.so (src/utils/http/http.c,
 * parser.c, rest_common.c, certificate.c and src/utils/buffer/buffer.c),
 * which stays in the daemon when the C registry module goes: every function
 * it exports, each answering with a marker so that the link test can tell
 * whose definition a call reached. The daemon links it as a shared library
 * (its file name has no "lib" prefix added) and the library's archive into
 * the executable, with -rdynamic: the archive's http_request and buffer_*
 * then answer for the whole process, libhttpclient's own callers included.
 */
#include <stddef.h>

#define STANDIN_MARK (-77)

struct http_get_options;
struct parsed_http_message;
typedef struct Buffer Buffer;
typedef int (*unpack_response_func_t)(const struct parsed_http_message *message, void *arg);

/* http.c */
void free_http_get_options(struct http_get_options *options) { (void)options; }
int http_request(const char *url, struct http_get_options *options, long *response_code, int recursive_len)
{
    (void)url; (void)options; (void)response_code; (void)recursive_len;
    return STANDIN_MARK;
}
int authz_http_request(const char *username, const char *action, char **resp)
{
    (void)username; (void)action; (void)resp;
    return STANDIN_MARK;
}
void http_global_init(void) {}
void http_global_cleanup(void) {}

/* buffer.c */
Buffer *buffer_alloc(size_t initial_size) { (void)initial_size; return NULL; }
size_t buffer_strlen(const Buffer *buf) { (void)buf; return 0; }
void buffer_free(Buffer *buf) { (void)buf; }
int buffer_append(Buffer *buf, const char *append, size_t len) { (void)buf; (void)append; (void)len; return STANDIN_MARK; }
void buffer_empty(Buffer *buf) { (void)buf; }

/* rest_common.c: the REST client sends through http_request. */
int get_response(Buffer *output, unpack_response_func_t unpack_func, void *arg)
{
    (void)output; (void)unpack_func; (void)arg;
    return STANDIN_MARK;
}
int rest_send_request(const char *socket, const char *url, char *request_body, size_t body_len, Buffer **output)
{
    (void)socket; (void)request_body; (void)body_len; (void)output;
    long code = 0;
    return http_request(url, NULL, &code, 0);
}
int check_status_code(int status_code) { return status_code == 200 ? 0 : -1; }
void put_body(char *body) { (void)body; }

/* parser.c */
int parse_http(const char *buf, size_t len, struct parsed_http_message *m, int header_only)
{
    (void)buf; (void)len; (void)m; (void)header_only;
    return STANDIN_MARK;
}
char *get_header_value(const struct parsed_http_message *m, const char *header) { (void)m; (void)header; return NULL; }

/* certificate.c */
int get_common_name_from_tls_cert(const char *cert_path, char *value, size_t len)
{
    (void)cert_path; (void)value; (void)len;
    return STANDIN_MARK;
}
