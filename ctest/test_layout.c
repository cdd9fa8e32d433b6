/*
 * test_layout.c - ABI layout of every struct shared between iSulad's C code and
 * the Rust isula-registry library, checked at compile time (_Static_assert) and
 * again at run time (so the test log names every value). Numbers are iSulad's
 * x86_64 layout. Built twice: with -DENABLE_IMAGE_SEARCH (test_layout) and
 * without (test_layout_nosearch); only pull_descriptor's tail and
 * registry_search_options differ. Also checks the public constants.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buffer.h"
#include "http.h"
#include "http_request.h"
#include "progress.h"
#include "registry.h"
#include "registry_type.h"
#include "utils_timestamp.h"

#include "common/check.h"

#if !defined(__x86_64__)
#error "the expected numbers in test_layout.c are for x86_64"
#endif

#if LIBCURL_VERSION_NUM < 0x072000
#error "test_layout.c expects the real libcurl (>= 7.32) headers; see test_layout_oldcurl.c"
#endif

#define FIELD_SIZE(T, f) sizeof(((T *)0)->f)
#define FIELD_IS(T, f, type) _Generic(((T *)0)->f, type: 1, default: 0)

/*
 * The layout table: S(type, size) and O(type, field, offset). Expanded once into
 * _Static_asserts at file scope and once into run-time checks.
 */
#define LAYOUT_COMMON(S, O)                                   \
    S(registry_auth, 16)                                      \
    O(registry_auth, username, 0)                             \
    O(registry_auth, password, 8)                             \
    S(registry_pull_options, 48)                              \
    O(registry_pull_options, image_name, 0)                   \
    O(registry_pull_options, dest_image_name, 8)              \
    O(registry_pull_options, auth, 16)                        \
    O(registry_pull_options, skip_tls_verify, 32)             \
    O(registry_pull_options, insecure_registry, 33)           \
    O(registry_pull_options, progress_status_store, 40)       \
    S(registry_login_options, 32)                             \
    O(registry_login_options, host, 0)                        \
    O(registry_login_options, auth, 8)                        \
    O(registry_login_options, skip_tls_verify, 24)            \
    O(registry_login_options, insecure_registry, 25)          \
    S(types_timestamp_t, 24)                                  \
    O(types_timestamp_t, has_seconds, 0)                      \
    O(types_timestamp_t, seconds, 8)                          \
    O(types_timestamp_t, has_nanos, 16)                       \
    O(types_timestamp_t, nanos, 20)                           \
    S(challenge, 40)                                          \
    O(challenge, schema, 0)                                   \
    O(challenge, realm, 8)                                    \
    O(challenge, service, 16)                                 \
    O(challenge, cached_token, 24)                            \
    O(challenge, expires_time, 32)                            \
    S(manifest_blob, 32)                                      \
    O(manifest_blob, media_type, 0)                           \
    O(manifest_blob, size, 8)                                 \
    O(manifest_blob, digest, 16)                              \
    O(manifest_blob, file, 24)                                \
    S(config_blob, 64)                                        \
    O(config_blob, media_type, 0)                             \
    O(config_blob, size, 8)                                   \
    O(config_blob, digest, 16)                                \
    O(config_blob, file, 24)                                  \
    O(config_blob, create_time, 32)                           \
    O(config_blob, complete, 56)                              \
    O(config_blob, result, 60)                                \
    S(layer_blob, 64)                                         \
    O(layer_blob, empty_layer, 0)                             \
    O(layer_blob, media_type, 8)                              \
    O(layer_blob, size, 16)                                   \
    O(layer_blob, digest, 24)                                 \
    O(layer_blob, diff_id, 32)                                \
    O(layer_blob, chain_id, 40)                               \
    O(layer_blob, file, 48)                                   \
    O(layer_blob, already_exist, 56)                          \
    O(layer_blob, registered, 57)                             \
    O(pull_descriptor, image_name, 0)                         \
    O(pull_descriptor, dest_image_name, 8)                    \
    O(pull_descriptor, host, 16)                              \
    O(pull_descriptor, name, 24)                              \
    O(pull_descriptor, tag, 32)                               \
    O(pull_descriptor, username, 40)                          \
    O(pull_descriptor, password, 48)                          \
    O(pull_descriptor, auths_dir, 56)                         \
    O(pull_descriptor, use_decrypted_key, 64)                 \
    O(pull_descriptor, cert_loaded, 65)                       \
    O(pull_descriptor, ca_file, 72)                           \
    O(pull_descriptor, cert_file, 80)                         \
    O(pull_descriptor, key_file, 88)                          \
    O(pull_descriptor, certs_dir, 96)                         \
    O(pull_descriptor, pulling_number, 104)                   \
    O(pull_descriptor, cancel, 108)                           \
    O(pull_descriptor, errmsg, 112)                           \
    O(pull_descriptor, blobpath, 120)                         \
    O(pull_descriptor, protocol, 128)                         \
    O(pull_descriptor, skip_tls_verify, 136)                  \
    O(pull_descriptor, insecure_registry, 137)                \
    O(pull_descriptor, scope, 144)                            \
    O(pull_descriptor, challenges_mutex, 152)                 \
    O(pull_descriptor, challenges_mutex_inited, 192)          \
    O(pull_descriptor, challenges, 200)                       \
    O(pull_descriptor, headers, 520)                          \
    O(pull_descriptor, layer_of_hold_refs, 528)               \
    O(pull_descriptor, manifest, 536)                         \
    O(pull_descriptor, config, 568)                           \
    O(pull_descriptor, layers, 632)                           \
    O(pull_descriptor, layers_len, 640)                       \
    O(pull_descriptor, rollback_layers_on_failure, 648)       \
    O(pull_descriptor, register_layers_complete, 649)         \
    O(pull_descriptor, parent_chain_id, 656)                  \
    O(pull_descriptor, parent_layer_id, 664)                  \
    O(pull_descriptor, mutex, 672)                            \
    O(pull_descriptor, mutex_inited, 712)                     \
    O(pull_descriptor, cond, 720)                             \
    O(pull_descriptor, cond_inited, 768)                      \
    S(struct http_get_options, 136)                           \
    O(struct http_get_options, outputtype, 1)                 \
    O(struct http_get_options, unix_socket_path, 8)           \
    O(struct http_get_options, output, 16)                    \
    O(struct http_get_options, method, 24)                    \
    O(struct http_get_options, input, 32)                     \
    O(struct http_get_options, input_len, 40)                 \
    O(struct http_get_options, authorization, 48)             \
    O(struct http_get_options, accepts, 56)                   \
    O(struct http_get_options, custom_headers, 64)            \
    O(struct http_get_options, debug, 72)                     \
    O(struct http_get_options, ssl_verify_peer, 73)           \
    O(struct http_get_options, ssl_verify_host, 74)           \
    O(struct http_get_options, ca_file, 80)                   \
    O(struct http_get_options, cert_file, 88)                 \
    O(struct http_get_options, key_file, 96)                  \
    O(struct http_get_options, errmsg, 104)                   \
    O(struct http_get_options, errcode, 112)                  \
    O(struct http_get_options, resume, 116)                   \
    O(struct http_get_options, timeout, 117)                  \
    O(struct http_get_options, xferinfo, 120)                 \
    O(struct http_get_options, xferinfo_op, 128)              \
    S(struct Buffer, 24)                                      \
    O(struct Buffer, contents, 0)                             \
    O(struct Buffer, bytes_used, 8)                           \
    O(struct Buffer, total_size, 16)                          \
    S(progress, 16)                                           \
    O(progress, dlnow, 0)                                     \
    O(progress, dltotal, 8)

#ifdef ENABLE_IMAGE_SEARCH
#define LAYOUT_VARIANT(S, O)                                  \
    S(registry_search_options, 16)                            \
    O(registry_search_options, search_name, 0)                \
    O(registry_search_options, limit, 8)                      \
    O(registry_search_options, skip_tls_verify, 12)           \
    O(registry_search_options, insecure_registry, 13)         \
    S(pull_descriptor, 800)                                   \
    O(pull_descriptor, search_name, 776)                      \
    O(pull_descriptor, limit, 784)                            \
    O(pull_descriptor, progress_status_store, 792)
#define VARIANT_NAME "with ENABLE_IMAGE_SEARCH"
#else
#define LAYOUT_VARIANT(S, O)                                  \
    S(pull_descriptor, 784)                                   \
    O(pull_descriptor, progress_status_store, 776)
#define VARIANT_NAME "without ENABLE_IMAGE_SEARCH"
#endif

/* ---- compile time ---- */
#define SA_SIZE(T, n) _Static_assert(sizeof(T) == (n), "sizeof(" #T ") != " #n);
#define SA_OFF(T, f, n) _Static_assert(offsetof(T, f) == (n), "offsetof(" #T ", " #f ") != " #n);
LAYOUT_COMMON(SA_SIZE, SA_OFF)
LAYOUT_VARIANT(SA_SIZE, SA_OFF)

/* member types that matter for the ABI */
_Static_assert(FIELD_IS(registry_pull_options, auth, registry_auth), "registry_pull_options.auth type");
_Static_assert(FIELD_IS(registry_pull_options, progress_status_store, progress_status_map *),
               "registry_pull_options.progress_status_store type");
_Static_assert(FIELD_IS(registry_login_options, auth, registry_auth), "registry_login_options.auth type");
_Static_assert(FIELD_IS(types_timestamp_t, seconds, int64_t), "types_timestamp_t.seconds type");
_Static_assert(FIELD_IS(types_timestamp_t, nanos, int32_t), "types_timestamp_t.nanos type");
_Static_assert(FIELD_IS(challenge, expires_time, time_t), "challenge.expires_time type");
_Static_assert(FIELD_IS(config_blob, create_time, types_timestamp_t), "config_blob.create_time type");
_Static_assert(FIELD_IS(config_blob, result, int), "config_blob.result type");
_Static_assert(FIELD_IS(manifest_blob, size, size_t), "manifest_blob.size type");
_Static_assert(FIELD_IS(layer_blob, size, size_t), "layer_blob.size type");
_Static_assert(FIELD_IS(pull_descriptor, pulling_number, int), "pull_descriptor.pulling_number type");
_Static_assert(FIELD_IS(pull_descriptor, challenges_mutex, pthread_mutex_t), "challenges_mutex type");
_Static_assert(FIELD_IS(pull_descriptor, mutex, pthread_mutex_t), "mutex type");
_Static_assert(FIELD_IS(pull_descriptor, cond, pthread_cond_t), "cond type");
_Static_assert(FIELD_SIZE(pull_descriptor, challenges) == CHALLENGE_MAX * sizeof(challenge), "challenges array");
_Static_assert(FIELD_IS(pull_descriptor, manifest, manifest_blob), "pull_descriptor.manifest type");
_Static_assert(FIELD_IS(pull_descriptor, config, config_blob), "pull_descriptor.config type");
_Static_assert(FIELD_IS(pull_descriptor, layers, layer_blob *), "pull_descriptor.layers type");
_Static_assert(FIELD_IS(pull_descriptor, layers_len, size_t), "pull_descriptor.layers_len type");
_Static_assert(FIELD_IS(pull_descriptor, headers, char **), "pull_descriptor.headers type");
_Static_assert(FIELD_IS(pull_descriptor, progress_status_store, progress_status_map *), "progress store type");
#ifdef ENABLE_IMAGE_SEARCH
_Static_assert(FIELD_IS(registry_search_options, limit, uint32_t), "registry_search_options.limit type");
_Static_assert(FIELD_IS(pull_descriptor, limit, uint32_t), "pull_descriptor.limit type");
#endif
_Static_assert(FIELD_IS(struct http_get_options, outputtype, char), "outputtype type");
_Static_assert(FIELD_IS(struct http_get_options, input_len, size_t), "input_len type");
_Static_assert(FIELD_IS(struct http_get_options, custom_headers, char **), "custom_headers type");
_Static_assert(FIELD_IS(struct http_get_options, errcode, int), "errcode type");
_Static_assert(FIELD_IS(struct http_get_options, xferinfo, void *), "xferinfo type");
_Static_assert(FIELD_IS(struct http_get_options, xferinfo_op, xferinfo_func), "xferinfo_op type");
_Static_assert(FIELD_IS(struct Buffer, bytes_used, size_t), "Buffer.bytes_used type");
_Static_assert(FIELD_IS(progress, dlnow, int64_t), "progress.dlnow type");
_Static_assert(FIELD_IS(progress, dltotal, int64_t), "progress.dltotal type");

/* constants */
_Static_assert(HTTP_REQUEST_STRBUF == 0, "HTTP_REQUEST_STRBUF");
_Static_assert(HTTP_REQUEST_FILE == 1, "HTTP_REQUEST_FILE");
_Static_assert(CHALLENGE_MAX == 8, "CHALLENGE_MAX");
_Static_assert(MAX_LAYER_NUM == 125, "MAX_LAYER_NUM");
_Static_assert(sizeof(ROOTFS_TYPE) == sizeof("layers"), "ROOTFS_TYPE length");
_Static_assert(HEAD_ONLY == 0 && BODY_ONLY == 1 && HEAD_BODY == 2 && RESUME_BODY == 3, "resp_data_type");
_Static_assert(StatusOK == 200 && StatusNotFound == 404, "http_response_code");

/* the callback type must accept exactly this signature */
static int my_xferinfo(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)p;
    return (int)(dltotal + dlnow + ultotal + ulnow);
}

/* ---- run time ---- */
static int g_checked;

static void check_value(const char *what, size_t actual, size_t expected)
{
    g_checked++;
    CHECK_MSG(actual == expected, "%s = %zu, expected %zu", what, actual, expected);
}

#define RT_SIZE(T, n) check_value("sizeof(" #T ")", sizeof(T), (n));
#define RT_OFF(T, f, n) check_value("offsetof(" #T ", " #f ")", offsetof(T, f), (n));

static void layout_table(void)
{
    LAYOUT_COMMON(RT_SIZE, RT_OFF)
    LAYOUT_VARIANT(RT_SIZE, RT_OFF)
    check_value("sizeof(pull_descriptor.challenges)", FIELD_SIZE(pull_descriptor, challenges), 320);
    printf("    %d size/offset values checked (%s)\n", g_checked, VARIANT_NAME);
}

static unsigned char first_byte(const struct http_get_options *o)
{
    unsigned char b;

    memcpy(&b, o, 1);
    return b;
}

/* the six one-bit flags live in bits 0..5 of byte 0, in declaration order */
#define BIT_CHECK(field, expected)                                                  \
    do {                                                                            \
        struct http_get_options o;                                                  \
        memset(&o, 0, sizeof(o));                                                   \
        o.field = 1;                                                                \
        CHECK_MSG(first_byte(&o) == (expected), "http_get_options." #field          \
                  " = 1 gives byte 0 = 0x%02x, expected 0x%02x", first_byte(&o),    \
                  (unsigned)(expected));                                            \
        CHECK_MSG(o.field == 1, #field " does not read back as 1");                  \
    } while (0)

static void http_options_bitfields(void)
{
    struct http_get_options o;
    unsigned char bytes[sizeof(o)];

    BIT_CHECK(with_head, 0x01);
    BIT_CHECK(with_body, 0x02);
    BIT_CHECK(with_header_auth, 0x04);
    BIT_CHECK(with_header_json, 0x08);
    BIT_CHECK(with_header_accept, 0x10);
    BIT_CHECK(show_progress, 0x20);

    /* all six together, and outputtype does not share their byte */
    memset(&o, 0, sizeof(o));
    o.with_head = 1;
    o.with_body = 1;
    o.with_header_auth = 1;
    o.with_header_json = 1;
    o.with_header_accept = 1;
    o.show_progress = 1;
    o.outputtype = HTTP_REQUEST_FILE;
    memcpy(bytes, &o, sizeof(o));
    CHECK_MSG(bytes[0] == 0x3f, "all flags set: byte 0 = 0x%02x, expected 0x3f", bytes[0]);
    CHECK_MSG(bytes[1] == HTTP_REQUEST_FILE, "outputtype byte = 0x%02x, expected 0x01", bytes[1]);
}

static void constants(void)
{
    xferinfo_func f = my_xferinfo;
    struct http_get_options o;

    CHECK_INT(HTTP_REQUEST_STRBUF, 0);
    CHECK_INT(HTTP_REQUEST_FILE, 1);
    CHECK_INT(CHALLENGE_MAX, 8);
    CHECK_INT(MAX_LAYER_NUM, 125);
    CHECK_STR(ROOTFS_TYPE, "layers");
    CHECK_INT(HEAD_ONLY, 0);
    CHECK_INT(BODY_ONLY, 1);
    CHECK_INT(HEAD_BODY, 2);
    CHECK_INT(RESUME_BODY, 3);
    CHECK_INT(StatusOK, 200);
    CHECK_INT(StatusNotFound, 404);
    CHECK_STR(AUTHZ_UNIX_SOCK, "/run/isulad/plugins/authz-broker.sock");

    memset(&o, 0, sizeof(o));
    o.xferinfo_op = f;
    CHECK(o.xferinfo_op(NULL, 1, 2, 3, 4) == 10);
}

int main(void)
{
    printf("layout test %s, libcurl headers 0x%06x\n", VARIANT_NAME, (unsigned)LIBCURL_VERSION_NUM);
    RUN_CASE(layout_table);
    RUN_CASE(http_options_bitfields);
    RUN_CASE(constants);
    return ctest_finish();
}
