/*
 * test_apiv2.c - registry_apiv2.h (fetch_manifest, fetch_config, fetch_layer,
 * login_to_registry) and http_request.h (http_request_buf, http_request_file)
 * through include/ only, on a calloc'd pull_descriptor as iSulad's module used
 * them, against the harness' docker-registry instances:
 *   plain HTTP  REGISTRY_PORT       test/x:v1 (gzip), test/multi:v1 (amd64 + arm64/v8)
 *   HTTPS       REGISTRY_TLS_PORT   test/x:v1, CA in CERTS_D/127.0.0.1:<port>/ca.crt
 *   HTTPS+Basic REGISTRY_AUTH_PORT  test/x:v1, REGISTRY_AUTH_USER / REGISTRY_AUTH_PASSWORD
 * Every file the functions write is hashed here (libcrypto) and compared with the
 * digests mkimage.py recorded (IMG_GZIP_*, MULTI_*). Descriptors are freed with
 * free_pull_desc, so valgrind sees whatever the library left in them.
 *
 * Built with ENABLE_IMAGE_SEARCH: the library has the image_search feature by
 * default, which puts search_name/limit in pull_descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "http_request.h"
#include "isula_registry.h"
#include "progress.h"
#include "registry.h"
#include "registry_apiv2.h"
#include "registry_type.h"

#include "common/check.h"
#include "common/env.h"
#include "common/images.h"
#include "common/json.h"
#include "common/util.h"

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"


static struct ctest_image g_gzip = { .name = "IMG_GZIP" };
static struct ctest_image g_amd64 = { .name = "MULTI_AMD64" };
static struct ctest_image g_arm64 = { .name = "MULTI_ARM64" };

static const char *g_certs_d;
static char *g_auths_dir;

/* ------------------------------------------------------------------ helpers */

static const char *last_error_text(void)
{
    const char *e = isula_registry_last_error();

    return e != NULL ? e : "(null)";
}

static void hex_digest(const unsigned char *md, unsigned int mdlen, char out[72])
{
    static const char hexdigits[] = "0123456789abcdef";
    unsigned int i;

    memcpy(out, "sha256:", 7);
    for (i = 0; i < mdlen && i < 32; i++) {
        out[7 + 2 * i] = hexdigits[md[i] >> 4];
        out[8 + 2 * i] = hexdigits[md[i] & 15];
    }
    out[7 + 64] = '\0';
}

/* "sha256:<hex>" of a file's content into out; 0 or -1 */
static int sha256_mem(const void *data, size_t len, char out[72])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        return -1;
    }
    hex_digest(md, mdlen, out);
    return 0;
}

/* the file hashes to digest (and has size bytes when size >= 0) */
static void check_file(const char *path, const char *digest, long long size)
{
    char got[72];

    if (ctest_sha256_file(path, got) != 0) {
        CHECK_MSG(0, "cannot read %s (expected the content of %s)", path ? path : "(null)", digest);
        return;
    }
    CHECK_MSG(strcmp(got, digest) == 0, "%s has digest %s, expected %s", path, got, digest);
    if (size >= 0) {
        CHECK_MSG(ctest_file_size(path) == size, "%s has %lld bytes, expected %lld", path, ctest_file_size(path),
                  size);
    }
}

static char *host_of(const char *port_key)
{
    return ctest_sprintf("127.0.0.1:%s", ctest_env_req(port_key));
}

/* a calloc'd descriptor as iSulad's prepare_pull_desc made it (strings malloc'd),
 * with a fresh blobpath directory (mkdtemp under TMP_DIR) */
static pull_descriptor *new_desc(const char *port_key, const char *name, const char *tag, bool insecure)
{
    pull_descriptor *d = calloc(1, sizeof(*d));
    char *dir;

    if (d == NULL) {
        abort();
    }
    d->host = host_of(port_key);
    d->name = name != NULL ? ctest_strdup(name) : NULL;
    d->tag = tag != NULL ? ctest_strdup(tag) : NULL;
    d->insecure_registry = insecure;
    dir = ctest_sprintf("%s/apiv2-XXXXXX", ctest_env_req("TMP_DIR"));
    if (mkdtemp(dir) == NULL) {
        printf("    mkdtemp %s: %s\n", dir, strerror(errno));
        free(dir);
        dir = NULL;
    }
    d->blobpath = dir;
    return d;
}

/* removes the blobpath directory and frees the descriptor (free_pull_desc frees d) */
static void done_desc(pull_descriptor *d)
{
    if (d == NULL) {
        return;
    }
    if (d->blobpath != NULL) {
        ctest_rm_rf(d->blobpath);
    }
    free_pull_desc(d);
}

static char *blob_file(const pull_descriptor *d, const char *name)
{
    return ctest_sprintf("%s/%s", d->blobpath, name);
}

/* the map's entry for key: 1 and now, total when there is one */
static int progress_of(progress_status_map *map, const char *key, long long *now, long long *total)
{
    isula_registry_progress_entry *entries = NULL;
    size_t len = 0;
    size_t i;
    int found = 0;

    if (isula_registry_progress_entries(map, &entries, &len) != 0) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (strcmp(entries[i].key, key) == 0) {
            *now = entries[i].dlnow;
            *total = entries[i].dltotal;
            found = 1;
        }
    }
    isula_registry_progress_entries_free(entries, len);
    return found;
}

static void check_progress(progress_status_map *map, const char *key, long long size)
{
    long long now = -1;
    long long total = -1;

    CHECK_MSG(progress_of(map, key, &now, &total), "no progress entry for %s", key);
    CHECK_MSG(now == size && total == size, "progress of %s is %lld/%lld, expected %lld/%lld", key, now, total,
              size, size);
}

/* fetch_manifest worked for img: manifest file, digest, media type, config, layers */
static void check_manifest(const pull_descriptor *d, const struct ctest_image *img)
{
    char *file = blob_file(d, "manifests");
    size_t i;

    CHECK_STR(d->manifest.file, file);
    check_file(d->manifest.file, img->digest, (long long)d->manifest.size);
    CHECK_STR(d->manifest.digest, img->digest);
    CHECK_STR(d->manifest.media_type, OCI_MANIFEST);
    CHECK_STR(d->config.digest, img->config);
    CHECK_STR(d->config.media_type, OCI_CONFIG);
    CHECK(d->config.size > 0);
    CHECK(d->config.file == NULL);
    CHECK_INT(d->layers_len, img->n);
    REQUIRE(d->layers != NULL);
    for (i = 0; i < img->n && i < d->layers_len; i++) {
        CHECK(!d->layers[i].empty_layer);
        CHECK_STR(d->layers[i].digest, img->layers[i]);
        CHECK_INT(d->layers[i].size, img->sizes[i]);
        CHECK(d->layers[i].media_type != NULL);
        CHECK(d->layers[i].file == NULL);
    }
    free(file);
}

/* fetch_config and fetch_layer of every layer: files verified, diff_ids are the
 * config's, progress entries complete (when map) */
static void fetch_blobs(pull_descriptor *d, const struct ctest_image *img, progress_status_map *map)
{
    char *config = blob_file(d, "config");
    ctest_json *json;
    const ctest_json *diff_ids;
    size_t i;

    CHECK_INT(fetch_config(d), 0);
    CHECK(isula_registry_last_error() == NULL);
    CHECK_STR(d->config.file, config);
    check_file(d->config.file, img->config, (long long)d->config.size);
    json = ctest_json_parse_file(config);
    CHECK_MSG(json != NULL, "config %s is not JSON", config);
    diff_ids = ctest_json_get(ctest_json_get(json, "rootfs"), "diff_ids");
    CHECK_INT(ctest_json_len(diff_ids), img->n);
    if (map != NULL) {
        check_progress(map, img->config, (long long)d->config.size);
    }
    for (i = 0; i < d->layers_len; i++) {
        char name[32];
        char *layer;

        snprintf(name, sizeof(name), "%zu", i);
        layer = blob_file(d, name);
        CHECK_MSG(fetch_layer(d, i) == 0, "fetch_layer(%zu) failed: %s", i, last_error_text());
        check_file(layer, d->layers[i].digest, (long long)d->layers[i].size);
        CHECK(d->layers[i].file == NULL);
        CHECK_STR(d->layers[i].diff_id, ctest_json_str(ctest_json_at(diff_ids, i)));
        if (map != NULL) {
            check_progress(map, d->layers[i].digest, (long long)d->layers[i].size);
        }
        /* a second fetch of the same layer: the diff_id now set must match */
        if (i == 0) {
            CHECK_INT(fetch_layer(d, i), 0);
            check_file(layer, d->layers[i].digest, (long long)d->layers[i].size);
        }
        free(layer);
    }
    ctest_json_free(json);
    free(config);
}

/* ------------------------------------------------------------------ cases */

static void invalid_arguments(void)
{
    pull_descriptor *d = calloc(1, sizeof(*d));
    char *out = NULL;
    CURLcode code = CURLE_OK;
    char file[] = "/nonexistent-dir/x";

    REQUIRE(d != NULL);
    CHECK_INT(fetch_manifest(NULL), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(fetch_config(NULL), -1);
    CHECK_INT(fetch_layer(NULL, 0), -1);
    CHECK_INT(login_to_registry(NULL), -1);

    /* an empty descriptor: nothing to work with, no crash */
    CHECK_INT(fetch_manifest(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "no host");
    CHECK_INT(fetch_config(d), -1);
    CHECK_INT(fetch_layer(d, 0), -1);
    CHECK_INT(login_to_registry(d), -1);
    d->host = host_of("REGISTRY_PORT");
    d->name = ctest_strdup("test/x");
    CHECK_INT(fetch_manifest(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "no tag");
    CHECK_INT(fetch_config(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "config digest");
    CHECK_INT(fetch_layer(d, 0), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "invalid layer index 0");
    CHECK_INT(login_to_registry(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "username");

    CHECK_INT(http_request_buf(NULL, "http://127.0.0.1/", NULL, &out, BODY_ONLY), -1);
    CHECK_INT(http_request_buf(d, NULL, NULL, &out, BODY_ONLY), -1);
    CHECK_INT(http_request_buf(d, "http://127.0.0.1/", NULL, NULL, BODY_ONLY), -1);
    CHECK(out == NULL);
    CHECK_INT(http_request_file(NULL, "http://127.0.0.1/", NULL, file, BODY_ONLY, &code, NULL), -1);
    CHECK_INT(http_request_file(d, "http://127.0.0.1/", NULL, NULL, BODY_ONLY, &code, NULL), -1);
    CHECK_INT(http_request_file(d, "http://127.0.0.1/", NULL, file, BODY_ONLY, NULL, NULL), -1);
    /* a file that cannot be created: a write error, nothing requested */
    CHECK_INT(http_request_file(d, "http://127.0.0.1/", NULL, file, BODY_ONLY, &code, NULL), -1);
    CHECK_INT(code, CURLE_WRITE_ERROR);
    CHECK(isula_registry_last_error() != NULL);
    free_pull_desc(d);
    free_pull_desc(NULL);
}

/* test/x:v1 over plain HTTP: manifest, config, layers, progress; a second
 * fetch_manifest on the same descriptor replaces what the first set */
static void gzip_plain_http(void)
{
    pull_descriptor *d = new_desc("REGISTRY_PORT", "test/x", "v1", true);
    progress_status_map *map = progress_status_map_new();

    REQUIRE(map != NULL && d->blobpath != NULL);
    d->progress_status_store = map;
    CHECK_MSG(fetch_manifest(d) == 0, "fetch_manifest failed: %s", last_error_text());
    CHECK(isula_registry_last_error() == NULL);
    check_manifest(d, &g_gzip);
    CHECK_STR(d->protocol, "http");
    CHECK(d->challenges[0].schema == NULL);
    fetch_blobs(d, &g_gzip, map);
    CHECK_INT(fetch_layer(d, d->layers_len), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "invalid layer index");

    /* again: earlier values freed (valgrind), config.file cleared */
    CHECK_INT(fetch_manifest(d), 0);
    check_manifest(d, &g_gzip);
    CHECK_INT(fetch_config(d), 0);
    d->progress_status_store = NULL;
    done_desc(d);
    progress_status_map_free(map);
}

/* a pull by digest is verified against it */
static void by_digest(void)
{
    pull_descriptor *d = new_desc("REGISTRY_PORT", "test/x", g_gzip.digest, true);

    CHECK_MSG(fetch_manifest(d) == 0, "fetch_manifest by digest failed: %s", last_error_text());
    check_manifest(d, &g_gzip);
    done_desc(d);
}

static void missing_tag(void)
{
    pull_descriptor *d = new_desc("REGISTRY_PORT", "test/x", "nope", true);

    CHECK_INT(fetch_manifest(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "manifest unknown");
    CHECK_CONTAINS(isula_registry_last_error(), "test/x:nope");
    CHECK(d->manifest.file == NULL);
    CHECK(d->layers == NULL);
    CHECK_INT(d->layers_len, 0);
    /* the ping worked: the protocol is kept */
    CHECK_STR(d->protocol, "http");
    done_desc(d);
}

static void fetch_multi(const struct ctest_image *img)
{
    pull_descriptor *d = new_desc("REGISTRY_PORT", "test/multi", "v1", true);
    progress_status_map *map = progress_status_map_new();

    REQUIRE(map != NULL);
    d->progress_status_store = map;
    CHECK_MSG(fetch_manifest(d) == 0, "fetch_manifest failed: %s", last_error_text());
    check_manifest(d, img);
    /* the platform manifest, not the index */
    CHECK(!ctest_str_eq(d->manifest.digest, ctest_env_req("MULTI_DIGEST")));
    check_progress(map, img->digest, (long long)d->manifest.size);
    fetch_blobs(d, img, NULL);
    done_desc(d);
    progress_status_map_free(map);
}

/* the OCI index resolves to the host's platform, or the one set */
static void multi_arch(void)
{
    pull_descriptor *d;

    CHECK_INT(isula_registry_set_platform(NULL), 0);
#if defined(__x86_64__)
    fetch_multi(&g_amd64);
#elif defined(__aarch64__)
    fetch_multi(&g_arm64);
#else
    printf("    host is neither amd64 nor arm64: default platform not checked\n");
#endif
    CHECK_INT(isula_registry_set_platform("linux/arm64/v8"), 0);
    fetch_multi(&g_arm64);
    CHECK_INT(isula_registry_set_platform("linux/amd64"), 0);
    fetch_multi(&g_amd64);

    CHECK_INT(isula_registry_set_platform("linux/s390x"), 0);
    d = new_desc("REGISTRY_PORT", "test/multi", "v1", true);
    CHECK_INT(fetch_manifest(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "linux/amd64");
    CHECK_CONTAINS(isula_registry_last_error(), "linux/arm64/v8");
    CHECK(d->layers == NULL);
    done_desc(d);
    CHECK_INT(isula_registry_set_platform(NULL), 0);
}

/* HTTPS: the CA from certs.d, or from desc->ca_file */
static void https_tls(void)
{
    pull_descriptor *d = new_desc("REGISTRY_TLS_PORT", "test/x", "v1", false);
    char *empty = ctest_tmp_path("apiv2-empty-certs");
    char *ca = ctest_sprintf("%s/ca.crt", ctest_env_req("CERT_DIR"));

    CHECK_MSG(fetch_manifest(d) == 0, "fetch_manifest failed: %s", last_error_text());
    check_manifest(d, &g_gzip);
    CHECK_STR(d->protocol, "https");
    fetch_blobs(d, &g_gzip, NULL);
    done_desc(d);

    /* no certs.d: untrusted */
    ctest_rm_rf(empty);
    CHECK_INT(mkdir(empty, 0700), 0);
    CHECK_INT(registry_init(NULL, empty), 0);
    d = new_desc("REGISTRY_TLS_PORT", "test/x", "v1", false);
    CHECK_INT(fetch_manifest(d), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK(d->protocol == NULL);
    done_desc(d);

    /* the descriptor's own CA */
    d = new_desc("REGISTRY_TLS_PORT", "test/x", "v1", false);
    d->ca_file = ctest_strdup(ca);
    CHECK_MSG(fetch_manifest(d) == 0, "fetch_manifest with ca_file failed: %s", last_error_text());
    check_manifest(d, &g_gzip);
    CHECK_INT(fetch_config(d), 0);
    done_desc(d);

    /* or no verification */
    d = new_desc("REGISTRY_TLS_PORT", "test/x", "v1", false);
    d->skip_tls_verify = true;
    CHECK_MSG(fetch_manifest(d) == 0, "fetch_manifest skipping verification failed: %s", last_error_text());
    done_desc(d);

    CHECK_INT(registry_init(NULL, (char *)g_certs_d), 0);
    ctest_rm_rf(empty);
    free(empty);
    free(ca);
}

/* HTTPS + Basic auth with the descriptor's credentials; the session (Basic
 * challenge) then serves http_request_buf/http_request_file */
static void basic_auth(void)
{
    pull_descriptor *d = new_desc("REGISTRY_AUTH_PORT", "test/x", "v1", false);
    progress_status_map *map = progress_status_map_new();
    char *v2 = ctest_sprintf("https://%s/v2/", d->host);
    char *blob = ctest_sprintf("https://%s/v2/test/x/blobs/%s", d->host, g_gzip.layers[0]);
    char *file = blob_file(d, "by-hand");
    char *out = NULL;
    CURLcode code = CURLE_OK;

    REQUIRE(map != NULL);
    /* anonymous: refused */
    CHECK_INT(fetch_manifest(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unauthorized");
    CHECK_STR(d->challenges[0].schema, "Basic");
    /* anonymous http_request_buf: the registry's 401, not an error */
    CHECK_INT(http_request_buf(d, v2, NULL, &out, HEAD_BODY), 0);
    CHECK_CONTAINS(out, "HTTP/1.1 401");
    free(out);
    out = NULL;

    /* wrong password */
    d->username = ctest_strdup(ctest_env_req("REGISTRY_AUTH_USER"));
    d->password = ctest_strdup("wrong-password");
    CHECK_INT(fetch_manifest(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unauthorized");
    free(d->password);
    d->password = ctest_strdup(ctest_env_req("REGISTRY_AUTH_PASSWORD"));

    d->progress_status_store = map;
    CHECK_MSG(fetch_manifest(d) == 0, "fetch_manifest with credentials failed: %s", last_error_text());
    check_manifest(d, &g_gzip);
    CHECK_STR(d->protocol, "https");
    CHECK_STR(d->challenges[0].schema, "Basic");
    fetch_blobs(d, &g_gzip, map);

    CHECK_INT(http_request_buf(d, v2, NULL, &out, HEAD_BODY), 0);
    CHECK_CONTAINS(out, "HTTP/1.1 200");
    CHECK_CONTAINS(out, "Docker-Distribution-Api-Version");
    free(out);

    progress_status_map_free(map);
    map = progress_status_map_new();
    REQUIRE(map != NULL);
    d->progress_status_store = map;
    code = CURLE_SSL_CONNECT_ERROR;
    CHECK_INT(http_request_file(d, blob, NULL, file, BODY_ONLY, &code, g_gzip.layers[0]), 0);
    CHECK_INT(code, CURLE_OK);
    check_file(file, g_gzip.layers[0], g_gzip.sizes[0]);
    check_progress(map, g_gzip.layers[0], g_gzip.sizes[0]);

    d->progress_status_store = NULL;
    done_desc(d);
    progress_status_map_free(map);
    free(v2);
    free(blob);
    free(file);
}

/* login_to_registry: good credentials stored in auths.json, bad ones refused */
static void login(void)
{
    char *auths = ctest_tmp_path("apiv2-auths");
    char *auths_json = ctest_sprintf("%s/auths.json", auths);
    pull_descriptor *d = new_desc("REGISTRY_AUTH_PORT", NULL, NULL, false);
    ctest_json *json;

    ctest_rm_rf(auths);
    CHECK_INT(mkdir(auths, 0700), 0);
    CHECK_INT(registry_init(auths, (char *)g_certs_d), 0);

    d->username = ctest_strdup(ctest_env_req("REGISTRY_AUTH_USER"));
    d->password = ctest_strdup("wrong-password");
    CHECK_INT(login_to_registry(d), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unauthorized");
    CHECK_MSG(access(auths_json, F_OK) != 0, "auths.json written after a failed login");

    free(d->password);
    d->password = ctest_strdup(ctest_env_req("REGISTRY_AUTH_PASSWORD"));
    CHECK_MSG(login_to_registry(d) == 0, "login_to_registry failed: %s", last_error_text());
    CHECK(isula_registry_last_error() == NULL);
    json = ctest_json_parse_file(auths_json);
    CHECK_MSG(ctest_json_get(ctest_json_get(json, "auths"), d->host) != NULL, "auths.json has no entry for %s",
              d->host);
    ctest_json_free(json);
    done_desc(d);

    /* a registry without auth accepts anything (as iSulad) */
    d = new_desc("REGISTRY_PORT", NULL, NULL, true);
    d->username = ctest_strdup("someone");
    d->password = ctest_strdup("anything");
    CHECK_INT(login_to_registry(d), 0);
    done_desc(d);

    CHECK_INT(registry_init(g_auths_dir, (char *)g_certs_d), 0);
    ctest_rm_rf(auths);
    free(auths);
    free(auths_json);
}

/* a Bearer challenge in the descriptor: http_request_buf fetches a token from the
 * realm (a static file nginx serves), sends it, caches it in challenges[0] and
 * fetches a new one only once it expired; a Basic challenge sends the credentials */
static void bearer_session(void)
{
    pull_descriptor *d = new_desc("HTTP_PORT", "test/x", "v1", true);
    const char *data = ctest_env_req("DATA_DIR");
    char *name = ctest_sprintf("apiv2-token-%ld.json", (long)getpid());
    char *token_file = ctest_sprintf("%s/%s", data, name);
    char *headers = ctest_sprintf("http://%s/headers", d->host);
    const char *first = "{\"token\":\"tok-first\",\"expires_in\":300}";
    const char *second = "{\"access_token\":\"tok-second\"}";
    char *out = NULL;
    long long left;

    CHECK_INT(ctest_write_file(token_file, first, strlen(first)), 0);
    d->challenges[0].schema = ctest_strdup("Bearer");
    d->challenges[0].realm = ctest_sprintf("http://%s/static/%s", d->host, name);
    d->challenges[0].service = ctest_strdup("apiv2-test");

    CHECK_MSG(http_request_buf(d, headers, NULL, &out, BODY_ONLY) == 0, "http_request_buf failed: %s",
              last_error_text());
    CHECK_CONTAINS(out, "authorization=Bearer tok-first\n");
    free(out);
    out = NULL;
    CHECK_STR(d->challenges[0].schema, "Bearer");
    CHECK_STR(d->challenges[0].service, "apiv2-test");
    CHECK_STR(d->challenges[0].cached_token, "tok-first");
    left = (long long)d->challenges[0].expires_time - (long long)time(NULL);
    CHECK_MSG(left > 200 && left <= 300, "the token expires in %lld s, expected about 300", left);

    /* cached: the realm is not asked again */
    CHECK_INT(ctest_write_file(token_file, second, strlen(second)), 0);
    CHECK_INT(http_request_buf(d, headers, NULL, &out, BODY_ONLY), 0);
    CHECK_CONTAINS(out, "authorization=Bearer tok-first\n");
    free(out);
    out = NULL;

    /* expired: a new token (access_token, no expires_in: 60 s) */
    d->challenges[0].expires_time = time(NULL) - 1;
    CHECK_INT(http_request_buf(d, headers, NULL, &out, BODY_ONLY), 0);
    CHECK_CONTAINS(out, "authorization=Bearer tok-second\n");
    free(out);
    out = NULL;
    CHECK_STR(d->challenges[0].cached_token, "tok-second");
    left = (long long)d->challenges[0].expires_time - (long long)time(NULL);
    CHECK_MSG(left > 0 && left <= 60, "the token expires in %lld s, expected at most 60", left);

    /* no token from the realm: the request fails */
    d->challenges[0].expires_time = 0;
    CHECK_INT(ctest_write_file(token_file, "{}", 2), 0);
    CHECK_INT(http_request_buf(d, headers, NULL, &out, BODY_ONLY), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "no token");
    CHECK(out == NULL);

    /* Basic: the descriptor's credentials */
    free_challenge(&d->challenges[0]);
    d->challenges[0].schema = ctest_strdup("Basic");
    d->challenges[0].realm = ctest_strdup("Basic");
    CHECK_INT(http_request_buf(d, headers, NULL, &out, BODY_ONLY), 0);
    CHECK_CONTAINS(out, "authorization=\n");
    free(out);
    out = NULL;
    d->username = ctest_strdup("alice");
    d->password = ctest_strdup("pw");
    CHECK_INT(http_request_buf(d, headers, NULL, &out, BODY_ONLY), 0);
    /* base64("alice:pw") */
    CHECK_CONTAINS(out, "authorization=Basic YWxpY2U6cHc=\n");
    free(out);

    unlink(token_file);
    done_desc(d);
    free(name);
    free(token_file);
    free(headers);
}

/* http_request_buf on a descriptor that never pinged: no auth, status unchecked */
static void request_buf(void)
{
    pull_descriptor *d = new_desc("REGISTRY_PORT", "test/x", "v1", true);
    char *v2 = ctest_sprintf("http://%s/v2/", d->host);
    char *manifest = ctest_sprintf("http://%s/v2/test/x/manifests/v1", d->host);
    char *missing = ctest_sprintf("http://%s/v2/test/x/manifests/nope", d->host);
    const char *accept[] = { "Accept: " OCI_MANIFEST, NULL };
    char *out = NULL;
    char got[72];
    int fd;
    int port = 0;
    char *refused;

    CHECK_INT(http_request_buf(d, v2, NULL, &out, HEAD_BODY), 0);
    CHECK_CONTAINS(out, "HTTP/1.1 200");
    CHECK_CONTAINS(out, "Docker-Distribution-Api-Version");
    CHECK(isula_registry_last_error() == NULL);
    free(out);
    out = NULL;

    CHECK_INT(http_request_buf(d, manifest, accept, &out, BODY_ONLY), 0);
    REQUIRE(out != NULL);
    CHECK(!ctest_contains(out, "HTTP/1.1"));
    CHECK_INT(sha256_mem(out, strlen(out), got), 0);
    CHECK_STR(got, g_gzip.digest);
    free(out);
    out = NULL;

    CHECK_INT(http_request_buf(d, manifest, accept, &out, HEAD_ONLY), 0);
    CHECK_CONTAINS(out, "HTTP/1.1 200");
    CHECK_CONTAINS(out, OCI_MANIFEST);
    CHECK(!ctest_contains(out, "schemaVersion"));
    free(out);
    out = NULL;

    CHECK_INT(http_request_buf(d, missing, accept, &out, HEAD_BODY), 0);
    CHECK_CONTAINS(out, "HTTP/1.1 404");
    CHECK_CONTAINS(out, "MANIFEST_UNKNOWN");
    free(out);
    out = NULL;

    CHECK_INT(http_request_buf(d, manifest, NULL, &out, RESUME_BODY), 0);
    CHECK_STR(out, "");
    free(out);
    out = NULL;

    fd = ctest_refusing_port(&port);
    REQUIRE(fd >= 0);
    refused = ctest_sprintf("http://127.0.0.1:%d/v2/", port);
    CHECK_INT(http_request_buf(d, refused, NULL, &out, HEAD_BODY), -1);
    CHECK(out == NULL);
    CHECK(isula_registry_last_error() != NULL);
    close(fd);

    /* nothing learned, nothing stored */
    CHECK(d->protocol == NULL);
    CHECK(d->challenges[0].schema == NULL);
    done_desc(d);
    free(refused);
    free(v2);
    free(manifest);
    free(missing);
}

/* http_request_file: BODY_ONLY, HEAD_BODY, RESUME_BODY, transfer errors */
static void request_file(void)
{
    pull_descriptor *d = new_desc("REGISTRY_PORT", "test/x", "v1", true);
    progress_status_map *map = progress_status_map_new();
    const char *digest = g_gzip.layers[0];
    long long size = g_gzip.sizes[0];
    char *blob = ctest_sprintf("http://%s/v2/test/x/blobs/%s", d->host, digest);
    char *file = blob_file(d, "blob");
    char *headed = blob_file(d, "headed");
    char *partial = blob_file(d, "partial");
    char *content;
    size_t len = 0;
    CURLcode code = CURLE_OK;
    int fd;
    int port = 0;
    char *refused;

    REQUIRE(map != NULL);
    d->progress_status_store = map;
    CHECK_INT(http_request_file(d, blob, NULL, file, BODY_ONLY, &code, (char *)digest), 0);
    CHECK_INT(code, CURLE_OK);
    check_file(file, digest, size);
    check_progress(map, digest, size);

    /* no digest: no progress entry */
    CHECK_INT(http_request_file(d, blob, NULL, headed, HEAD_BODY, &code, NULL), 0);
    CHECK_INT(progress_status_map_size(map), 1);
    content = ctest_read_file(headed, &len);
    REQUIRE(content != NULL);
    CHECK_MSG(strncmp(content, "HTTP/1.1 200", 12) == 0, "%s does not start with the status line", headed);
    CHECK((long long)len > size);
    free(content);

    /* resume: half the blob is there, the rest is asked for with Range; the
     * progress counts from the start of the file */
    content = ctest_read_file(file, &len);
    REQUIRE(content != NULL && (long long)len == size);
    CHECK_INT(ctest_write_file(partial, content, len / 2), 0);
    free(content);
    progress_status_map_free(map);
    map = progress_status_map_new();
    REQUIRE(map != NULL);
    d->progress_status_store = map;
    CHECK_INT(http_request_file(d, blob, NULL, partial, RESUME_BODY, &code, (char *)digest), 0);
    check_file(partial, digest, size);
    check_progress(map, digest, size);

    fd = ctest_refusing_port(&port);
    REQUIRE(fd >= 0);
    refused = ctest_sprintf("http://127.0.0.1:%d/v2/", port);
    CHECK_INT(http_request_file(d, refused, NULL, file, BODY_ONLY, &code, (char *)digest), -1);
    CHECK_INT(code, CURLE_COULDNT_CONNECT);
    CHECK(isula_registry_last_error() != NULL);
    close(fd);

    d->progress_status_store = NULL;
    done_desc(d);
    progress_status_map_free(map);
    free(refused);
    free(blob);
    free(file);
    free(headed);
    free(partial);
}

int main(void)
{
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (ctest_env_load() != 0) {
        return 1;
    }
    if (ctest_load_image(&g_gzip) != 0 || ctest_load_image(&g_amd64) != 0 || ctest_load_image(&g_arm64) != 0) {
        return 1;
    }
    ctest_set_case_timeout(90);
    g_certs_d = ctest_env_req("CERTS_D");
    g_auths_dir = ctest_tmp_path("apiv2-auths-main");
    ctest_rm_rf(g_auths_dir);
    if (mkdir(g_auths_dir, 0700) != 0 || registry_init(g_auths_dir, (char *)g_certs_d) != 0) {
        printf("registry_init failed: %s\n", last_error_text());
        return 1;
    }
    CHECK_INT(isula_registry_set_platform(NULL), 0);

    RUN_CASE(invalid_arguments);
    RUN_CASE(gzip_plain_http);
    RUN_CASE(by_digest);
    RUN_CASE(missing_tag);
    RUN_CASE(multi_arch);
    RUN_CASE(https_tls);
    RUN_CASE(basic_auth);
    RUN_CASE(login);
    RUN_CASE(bearer_session);
    RUN_CASE(request_buf);
    RUN_CASE(request_file);

    rc = ctest_finish();
    ctest_rm_rf(g_auths_dir);
    free(g_auths_dir);
    ctest_free_image(&g_gzip);
    ctest_free_image(&g_amd64);
    ctest_free_image(&g_arm64);
    ctest_env_free();
    return rc;
}
