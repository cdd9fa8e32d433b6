/*
 * test_registry.c - the registry module through include/ only (registry.h,
 * isula_registry.h, aes.h, progress.h), against the harness' docker-registry
 * instances and the images images.sh pushed to them:
 *   plain HTTP  REGISTRY_PORT       test/x:{v1,zstd,plain}, test/multi:v1 (amd64 + arm64/v8)
 *   HTTPS       REGISTRY_TLS_PORT   test/x:v1, CA in CERTS_D/127.0.0.1:<port>/ca.crt
 *   HTTPS+Basic REGISTRY_AUTH_PORT  test/x:v1, alice / s3cr3t!pw
 * Every pull goes into a fresh embedded store (an OCI image layout under TMP_DIR)
 * whose index.json, blobs (sha256 recomputed here with libcrypto) and .ingest/ are
 * checked afterwards, as is the progress map.
 *
 * Expected behaviour: 0 on success (also when up to date), -1 with the calling
 * thread's isula_registry_last_error() set on failure, NULL after a success; a
 * failed pull leaves the store as it was.
 * Nothing is skipped under valgrind: the whole test takes ~16 s there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "aes.h"
#include "isula_registry.h"
#include "progress.h"
#include "registry.h"

#include "common/check.h"
#include "common/env.h"
#include "common/images.h"
#include "common/json.h"
#include "common/util.h"

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REF_NAME "org.opencontainers.image.ref.name"


static struct ctest_image g_gzip = { .name = "IMG_GZIP" };
static struct ctest_image g_zstd = { .name = "IMG_ZSTD" };
static struct ctest_image g_plain = { .name = "IMG_PLAIN" };
static struct ctest_image g_amd64 = { .name = "MULTI_AMD64" };
static struct ctest_image g_arm64 = { .name = "MULTI_ARM64" };

static char *g_auths_dir;  /* registry_init's auths dir for most cases */
static const char *g_certs_d;
static char *g_main_store; /* store of the first cases (x:v1, x:zstd, x:plain) */

/* ------------------------------------------------------------------ helpers */

/* "127.0.0.1:<port of env key>/<path>" (malloc'd) */
static char *ref(const char *port_key, const char *path)
{
    return ctest_sprintf("127.0.0.1:%s/%s", ctest_env_req(port_key), path);
}

static char *host_of(const char *port_key)
{
    return ctest_sprintf("127.0.0.1:%s", ctest_env_req(port_key));
}

/* malloc'd options as free_registry_pull_options() expects them */
static registry_pull_options *pull_opts(const char *image, const char *dest, bool insecure)
{
    registry_pull_options *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        abort();
    }
    o->image_name = image != NULL ? ctest_strdup(image) : NULL;
    o->dest_image_name = dest != NULL ? ctest_strdup(dest) : NULL;
    o->insecure_registry = insecure;
    return o;
}

static const char *last_error_text(void)
{
    const char *e = isula_registry_last_error();

    return e != NULL ? e : "(null)";
}

/* registry_pull(o); prints what came back; frees o */
static int run_pull(registry_pull_options *o, const char *what)
{
    int ret = registry_pull(o);

    printf("    %s: registry_pull(%s -> %s, insecure=%d, skip_tls_verify=%d) = %d, last_error: %s\n", what,
           o->image_name ? o->image_name : "(null)", o->dest_image_name ? o->dest_image_name : "(null)",
           (int)o->insecure_registry, (int)o->skip_tls_verify, ret, last_error_text());
    free_registry_pull_options(o);
    return ret;
}

static int pull(const char *image, const char *dest, bool insecure, bool skip_verify, progress_status_map *map)
{
    registry_pull_options *o = pull_opts(image, dest, insecure);

    o->skip_tls_verify = skip_verify;
    o->progress_status_store = map;
    return run_pull(o, "pull");
}

/* a fresh, empty store directory under TMP_DIR, made the library's root */
static char *new_store(const char *name)
{
    char *dir = ctest_tmp_path(name);

    if (ctest_rm_rf(dir) != 0) {
        printf("    cannot remove %s: %s\n", dir, strerror(errno));
    }
    if (isula_registry_set_root(dir) != 0) {
        printf("    isula_registry_set_root(%s) failed: %s\n", dir, last_error_text());
    }
    return dir;
}

/* a fresh empty directory under TMP_DIR (malloc'd path) */
static char *new_dir(const char *name)
{
    char *dir = ctest_tmp_path(name);

    ctest_rm_rf(dir);
    if (mkdir(dir, 0700) != 0) {
        printf("    mkdir %s: %s\n", dir, strerror(errno));
    }
    return dir;
}

/* "sha256:<hex>" of a file's content into out; 0 or -1 */
static char *blob_path(const char *store, const char *digest)
{
    const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;

    return ctest_sprintf("%s/blobs/sha256/%s", store, hex);
}

/* the blob exists under blobs/sha256/<hex>, its content hashes to digest, and it has
 * `size` bytes (size < 0: not checked). 1 when all holds. */
static int check_blob(const char *store, const char *digest, long long size)
{
    char *path = blob_path(store, digest);
    char got[72];
    int ok = 1;

    if (ctest_sha256_file(path, got) != 0) {
        CHECK_MSG(0, "blob %s missing: cannot read %s", digest, path);
        ok = 0;
    } else {
        if (strcmp(got, digest) != 0) {
            CHECK_MSG(0, "blob %s has content with digest %s", path, got);
            ok = 0;
        }
        if (size >= 0 && ctest_file_size(path) != size) {
            CHECK_MSG(0, "blob %s has %lld bytes, expected %lld", path, ctest_file_size(path), size);
            ok = 0;
        }
    }
    free(path);
    return ok;
}

static ctest_json *load_index(const char *store)
{
    char *path = ctest_sprintf("%s/index.json", store);
    ctest_json *idx = ctest_json_parse_file(path);

    free(path);
    return idx;
}

/* the index.json entries named `name` and the last one of them */
static size_t index_count(const ctest_json *idx, const char *name, const ctest_json **entry)
{
    const ctest_json *manifests = ctest_json_get(idx, "manifests");
    size_t i;
    size_t count = 0;

    for (i = 0; i < ctest_json_len(manifests); i++) {
        const ctest_json *e = ctest_json_at(manifests, i);

        if (ctest_str_eq(ctest_json_str(ctest_json_get(ctest_json_get(e, "annotations"), REF_NAME)), name)) {
            count++;
            if (entry != NULL) {
                *entry = e;
            }
        }
    }
    return count;
}

/* number of images named `name` in the store (-1 without a readable index.json) */
static long store_has(const char *store, const char *name)
{
    ctest_json *idx = load_index(store);
    long n = idx != NULL ? (long)index_count(idx, name, NULL) : -1;

    ctest_json_free(idx);
    return n;
}

/* nothing but index.lock is left in <store>/.ingest */
static void check_ingest_clean(const char *store)
{
    char *path = ctest_sprintf("%s/.ingest", store);
    DIR *d = opendir(path);
    struct dirent *de;

    if (d == NULL) {
        /* a store that was never opened has no .ingest: clean too */
        CHECK_MSG(errno == ENOENT, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, "index.lock") == 0) {
            continue;
        }
        CHECK_MSG(0, "left behind in %s: %s", path, de->d_name);
    }
    closedir(d);
    free(path);
}

/*
 * `dest` is named exactly once in index.json, as an OCI manifest whose blob is the
 * registry's manifest (img->digest; the images are OCI already, so kept byte for byte),
 * whose config is img->config and whose layers are img's; every blob exists with
 * the right sha256 and size. Returns the parsed config (caller frees) or NULL.
 */
static ctest_json *check_stored(const char *store, const char *dest, const struct ctest_image *img)
{
    ctest_json *idx = load_index(store);
    ctest_json *manifest = NULL;
    ctest_json *config = NULL;
    const ctest_json *entry = NULL;
    const ctest_json *layers;
    char *path = NULL;
    size_t count;
    size_t i;

    if (idx == NULL) {
        CHECK_MSG(0, "%s/index.json is missing or invalid", store);
        return NULL;
    }
    count = index_count(idx, dest, &entry);
    CHECK_MSG(count == 1, "index.json names %s %zu times, expected once", dest, count);
    if (entry == NULL) {
        goto out;
    }
    CHECK_STR(ctest_json_str(ctest_json_get(entry, "mediaType")), OCI_MANIFEST);
    CHECK_STR(ctest_json_str(ctest_json_get(entry, "digest")), img->digest);
    if (ctest_json_str(ctest_json_get(entry, "digest")) == NULL ||
        !check_blob(store, ctest_json_str(ctest_json_get(entry, "digest")),
                    ctest_json_int(ctest_json_get(entry, "size"), -2))) {
        goto out;
    }
    path = blob_path(store, ctest_json_str(ctest_json_get(entry, "digest")));
    manifest = ctest_json_parse_file(path);
    if (manifest == NULL) {
        CHECK_MSG(0, "manifest blob %s is not JSON", path);
        goto out;
    }
    CHECK_INT(ctest_json_int(ctest_json_get(manifest, "schemaVersion"), 0), 2);
    CHECK_STR(ctest_json_str(ctest_json_get(ctest_json_get(manifest, "config"), "digest")), img->config);
    layers = ctest_json_get(manifest, "layers");
    CHECK_INT(ctest_json_len(layers), img->n);
    for (i = 0; i < img->n && i < ctest_json_len(layers); i++) {
        CHECK_STR(ctest_json_str(ctest_json_get(ctest_json_at(layers, i), "digest")), img->layers[i]);
        CHECK_INT(ctest_json_int(ctest_json_get(ctest_json_at(layers, i), "size"), -1), img->sizes[i]);
    }
    for (i = 0; i < img->n; i++) {
        check_blob(store, img->layers[i], img->sizes[i]);
    }
    if (check_blob(store, img->config, ctest_json_int(ctest_json_get(ctest_json_get(manifest, "config"), "size"), -1))) {
        free(path);
        path = blob_path(store, img->config);
        config = ctest_json_parse_file(path);
        CHECK_MSG(config != NULL, "config blob %s is not JSON", path);
        CHECK_INT(ctest_json_len(ctest_json_get(ctest_json_get(config, "rootfs"), "diff_ids")), img->n);
    }
out:
    free(path);
    ctest_json_free(manifest);
    ctest_json_free(idx);
    return config;
}

static void check_stored_only(const char *store, const char *dest, const struct ctest_image *img)
{
    ctest_json_free(check_stored(store, dest, img));
}

/* the map has an entry per layer of img with dlnow == dltotal == the layer size */
static void check_progress(progress_status_map *map, const struct ctest_image *img)
{
    isula_registry_progress_entry *entries = NULL;
    size_t len = 0;
    size_t i;
    size_t j;

    REQUIRE(isula_registry_progress_entries(map, &entries, &len) == 0);
    for (i = 0; i < img->n; i++) {
        int found = 0;

        for (j = 0; j < len; j++) {
            if (strcmp(entries[j].key, img->layers[i]) == 0) {
                found = 1;
                CHECK_MSG(entries[j].dlnow == img->sizes[i] && entries[j].dltotal == img->sizes[i],
                          "progress of %s is %lld/%lld, expected %lld/%lld", img->layers[i],
                          (long long)entries[j].dlnow, (long long)entries[j].dltotal, img->sizes[i],
                          img->sizes[i]);
            }
        }
        CHECK_MSG(found, "no progress entry for layer %s (%zu entries)", img->layers[i], len);
    }
    for (j = 0; j < len; j++) {
        printf("    progress %s %lld/%lld\n", entries[j].key, (long long)entries[j].dlnow,
               (long long)entries[j].dltotal);
    }
    isula_registry_progress_entries_free(entries, len);
}

/* a description of the store that changes when index.json is rewritten or blobs
 * come or go: index.json's inode, size and content, then the blob names and sizes */
static char *store_snapshot(const char *store)
{
    char *index = ctest_sprintf("%s/index.json", store);
    char *blobs = ctest_sprintf("%s/blobs/sha256", store);
    char *content = ctest_read_file(index, NULL);
    struct stat st;
    struct dirent **names = NULL;
    int n;
    int i;
    char *snap;

    memset(&st, 0, sizeof(st));
    stat(index, &st);
    snap = ctest_sprintf("index.json ino=%llu size=%lld\n%s\n", (unsigned long long)st.st_ino,
                         (long long)st.st_size, content ? content : "(unreadable)");
    n = scandir(blobs, &names, NULL, alphasort);
    for (i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char *p = ctest_sprintf("%s/%s", blobs, names[i]->d_name);
            char *next = ctest_sprintf("%s%s %lld\n", snap, names[i]->d_name, ctest_file_size(p));

            free(p);
            free(snap);
            snap = next;
        }
        free(names[i]);
    }
    free(names);
    free(content);
    free(index);
    free(blobs);
    return snap;
}

/* ------------------------------------------------------------------ cases */


/* gzip image from the plain-HTTP registry (insecure) into a fresh store */
static void pull_gzip_plain_http(void)
{
    progress_status_map *map = progress_status_map_new();
    char *image = ref("REGISTRY_PORT", "test/x:v1");

    REQUIRE(map != NULL);
    CHECK_INT(pull(image, "x:v1", true, false, map), 0);
    CHECK(isula_registry_last_error() == NULL);
    check_stored_only(g_main_store, "x:v1", &g_gzip);
    check_ingest_clean(g_main_store);
    check_progress(map, &g_gzip);
    progress_status_map_free(map);
    free(image);
}

/* the same pull again: 0 (up to date), nothing downloaded, the store untouched */
static void pull_again_up_to_date(void)
{
    progress_status_map *map = progress_status_map_new();
    char *image = ref("REGISTRY_PORT", "test/x:v1");
    char *before = store_snapshot(g_main_store);
    char *after;

    REQUIRE(map != NULL);
    CHECK_INT(pull(image, "x:v1", true, false, map), 0);
    CHECK(isula_registry_last_error() == NULL);
    after = store_snapshot(g_main_store);
    CHECK_MSG(strcmp(before, after) == 0, "the store changed:\n--- before\n%s--- after\n%s", before, after);
    CHECK_MSG(progress_status_map_size(map) == 0, "an up-to-date pull reported %zu downloads",
              progress_status_map_size(map));
    check_stored_only(g_main_store, "x:v1", &g_gzip);
    check_ingest_clean(g_main_store);
    progress_status_map_free(map);
    free(before);
    free(after);
    free(image);
}

/* zstd and uncompressed layers (same tars as the gzip image) */
static void pull_zstd_and_uncompressed(void)
{
    progress_status_map *map = progress_status_map_new();
    char *zstd = ref("REGISTRY_PORT", "test/x:zstd");
    char *plain = ref("REGISTRY_PORT", "test/x:plain");

    REQUIRE(map != NULL);
    CHECK_INT(pull(zstd, "x:zstd", true, false, map), 0);
    check_stored_only(g_main_store, "x:zstd", &g_zstd);
    check_progress(map, &g_zstd);
    progress_status_map_free(map);
    map = progress_status_map_new();
    REQUIRE(map != NULL);
    CHECK_INT(pull(plain, "x:plain", true, false, map), 0);
    check_stored_only(g_main_store, "x:plain", &g_plain);
    check_progress(map, &g_plain);
    /* the earlier image is still there */
    check_stored_only(g_main_store, "x:v1", &g_gzip);
    check_ingest_clean(g_main_store);
    progress_status_map_free(map);
    free(zstd);
    free(plain);
}

/* a tag the registry does not have: -1, "manifest unknown", store unchanged */
static void missing_tag(void)
{
    char *image = ref("REGISTRY_PORT", "test/x:nope");
    char *before = store_snapshot(g_main_store);
    char *after;

    CHECK_INT(pull(image, "x:nope", true, false, NULL), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "manifest unknown: test/x:nope");
    CHECK_INT(store_has(g_main_store, "x:nope"), 0);
    after = store_snapshot(g_main_store);
    CHECK_MSG(strcmp(before, after) == 0, "the store changed:\n--- before\n%s--- after\n%s", before, after);
    check_ingest_clean(g_main_store);
    free(before);
    free(after);
    free(image);
}

/* invalid names, NULL strings, NULL options: -1, never a crash */
static void invalid_arguments(void)
{
    char *image = ref("REGISTRY_PORT", "test/x:v1");

    CHECK_INT(pull("UPPER/x", "x:upper", true, false, NULL), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(pull("127.0.0.1:1/UPPER/x:v1", "x:upper", true, false, NULL), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(pull(NULL, "x:v1", true, false, NULL), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(pull(image, NULL, true, false, NULL), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(pull(image, "Bad Name", true, false, NULL), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(registry_pull(NULL), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "registry_pull needs options");
    CHECK_INT(registry_login(NULL), -1);
    CHECK_INT(registry_logout(NULL), -1);
    CHECK_INT(isula_registry_set_root(NULL), -1);
    free_registry_pull_options(NULL);
    CHECK_INT(store_has(g_main_store, "x:upper"), 0);
    CHECK_INT(store_has(g_main_store, "Bad Name"), 0);
    check_ingest_clean(g_main_store);
    free(image);
}

/* HTTPS registry, its CA in certs.d/127.0.0.1:<port>/ca.crt, insecure=0 */
static void https_with_certs_d(void)
{
    char *store = new_store("store-tls");
    char *image = ref("REGISTRY_TLS_PORT", "test/x:v1");
    progress_status_map *map = progress_status_map_new();

    REQUIRE(map != NULL);
    CHECK_INT(registry_init(NULL, (char *)g_certs_d), 0);
    CHECK_INT(pull(image, "x:tls", false, false, map), 0);
    CHECK(isula_registry_last_error() == NULL);
    check_stored_only(store, "x:tls", &g_gzip);
    check_progress(map, &g_gzip);
    check_ingest_clean(store);
    progress_status_map_free(map);
    free(image);
    free(store);
}

/* HTTPS registry with an empty certs.d: the certificate is not trusted (-1), unless
 * skip_tls_verify=1 */
static void https_untrusted_and_skip_verify(void)
{
    char *store = new_store("store-tls-untrusted");
    char *empty = new_dir("certs-empty");
    char *image = ref("REGISTRY_TLS_PORT", "test/x:v1");

    CHECK_INT(registry_init(NULL, empty), 0);
    CHECK_INT(pull(image, "x:tls", false, false, NULL), -1);
    CHECK_MSG(ctest_contains_ci(isula_registry_last_error(), "certificate"),
              "last_error does not mention the certificate: %s", last_error_text());
    CHECK_INT(store_has(store, "x:tls"), 0);
    check_ingest_clean(store);

    CHECK_INT(pull(image, "x:tls", false, true, NULL), 0);
    CHECK(isula_registry_last_error() == NULL);
    check_stored_only(store, "x:tls", &g_gzip);
    check_ingest_clean(store);

    CHECK_INT(registry_init(NULL, (char *)g_certs_d), 0);
    ctest_rm_rf(empty);
    free(empty);
    free(image);
    free(store);
}

static registry_login_options *login_opts(const char *host, const char *user, const char *password)
{
    registry_login_options *o = calloc(1, sizeof(*o));

    if (o == NULL) {
        abort();
    }
    o->host = host ? ctest_strdup(host) : NULL;
    o->auth.username = user ? ctest_strdup(user) : NULL;
    o->auth.password = password ? ctest_strdup(password) : NULL;
    return o;
}

static void free_login_opts(registry_login_options *o)
{
    free(o->host);
    free(o->auth.username);
    free(o->auth.password);
    free(o);
}

static int login(const char *host, const char *user, const char *password)
{
    registry_login_options *o = login_opts(host, user, password);
    int ret = registry_login(o);

    printf("    registry_login(%s, %s) = %d, last_error: %s\n", host, user ? user : "(null)", ret,
           last_error_text());
    free_login_opts(o);
    return ret;
}

/* the entry of host in <dir>/auths.json ({"auths":{host:{"auth":...}}}), or NULL;
 * *json receives the parsed file (caller frees) */
static const ctest_json *auths_entry(const char *dir, const char *host, ctest_json **json)
{
    char *path = ctest_sprintf("%s/auths.json", dir);

    *json = NULL;
    if (access(path, F_OK) == 0) {
        *json = ctest_json_parse_file(path);
        CHECK_MSG(*json != NULL, "%s is not JSON", path);
    }
    free(path);
    return ctest_json_get(ctest_json_get(*json, "auths"), host);
}

static size_t b64_decode(const char *in, unsigned char *out, size_t cap);

/* HTTPS + Basic auth: refused without credentials, login/logout and auths.json */
static void basic_auth_login_logout(void)
{
    char *auths = new_dir("auths-basic");
    char *host = host_of("REGISTRY_AUTH_PORT");
    char *image = ref("REGISTRY_AUTH_PORT", "test/x:v1");
    const char *user = ctest_env_req("REGISTRY_AUTH_USER");
    const char *password = ctest_env_req("REGISTRY_AUTH_PASSWORD");
    char *auths_json = ctest_sprintf("%s/auths.json", auths);
    char *aeskey = ctest_sprintf("%s/aeskey", auths);
    char *store = new_store("store-auth");
    registry_pull_options *o;
    ctest_json *json = NULL;
    const ctest_json *entry;
    struct stat st;

    CHECK_INT(registry_init(auths, (char *)g_certs_d), 0);

    /* no credentials anywhere */
    CHECK_INT(pull(image, "x:auth", false, false, NULL), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unauthorized");
    CHECK_INT(store_has(store, "x:auth"), 0);
    check_ingest_clean(store);

    /* wrong credentials in the options */
    o = pull_opts(image, "x:auth", false);
    o->auth.username = ctest_strdup(user);
    o->auth.password = ctest_strdup("wrong-password");
    CHECK_INT(run_pull(o, "wrong password"), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unauthorized");
    CHECK_INT(store_has(store, "x:auth"), 0);

    /* right credentials in the options */
    o = pull_opts(image, "x:auth-explicit", false);
    o->auth.username = ctest_strdup(user);
    o->auth.password = ctest_strdup(password);
    CHECK_INT(run_pull(o, "explicit credentials"), 0);
    check_stored_only(store, "x:auth-explicit", &g_gzip);

    /* login with a wrong password: refused, nothing stored */
    CHECK_INT(login(host, user, "wrong-password"), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unauthorized");
    entry = auths_entry(auths, host, &json);
    CHECK_MSG(entry == NULL, "auths.json has an entry for %s after a failed login", host);
    ctest_json_free(json);

    /* login: auths.json (0600) with the host, a 32-byte aeskey */
    CHECK_INT(login(host, user, password), 0);
    CHECK(isula_registry_last_error() == NULL);
    REQUIRE(stat(auths_json, &st) == 0);
    CHECK_MSG((st.st_mode & 07777) == 0600, "auths.json has mode %o, expected 600", (unsigned)(st.st_mode & 07777));
    CHECK_INT(ctest_file_size(aeskey), 32);
    entry = auths_entry(auths, host, &json);
    CHECK_MSG(entry != NULL, "auths.json has no entry for %s", host);
    if (entry != NULL) {
        /* auth = base64(IV || AES-256-CFB(base64("user:password"))) */
        const char *enc = ctest_json_str(ctest_json_get(entry, "auth"));
        unsigned char raw[512];
        unsigned char *plain = NULL;
        size_t n = enc != NULL ? b64_decode(enc, raw, sizeof(raw)) : 0;
        unsigned char tmp[256];
        char *userpass = ctest_sprintf("%s:%s", user, password);

        CHECK_MSG(n > AES_256_CFB_IV_LEN, "auth value \"%s\" does not decode", enc ? enc : "(null)");
        if (n > AES_256_CFB_IV_LEN) {
            CHECK_INT(aes_decode(raw, n, &plain), 0);
            /* the plaintext is base64(user:password) */
            if (plain != NULL) {
                size_t m = b64_decode((const char *)plain, tmp, sizeof(tmp) - 1);

                tmp[m] = '\0';
                CHECK_STR((const char *)tmp, userpass);
            }
        }
        free(plain);
        free(userpass);
    }
    ctest_json_free(json);

    /* a pull without credentials in the options now uses auths.json */
    CHECK_INT(pull(image, "x:auth", false, false, NULL), 0);
    CHECK(isula_registry_last_error() == NULL);
    check_stored_only(store, "x:auth", &g_gzip);
    check_ingest_clean(store);

    /* logout: the entry is gone; a second logout is fine */
    CHECK_INT(registry_logout(host), 0);
    CHECK(isula_registry_last_error() == NULL);
    entry = auths_entry(auths, host, &json);
    CHECK_MSG(entry == NULL, "auths.json still has %s after logout", host);
    ctest_json_free(json);
    CHECK_INT(registry_logout(host), 0);
    CHECK(isula_registry_last_error() == NULL);

    /* and credentials are needed again */
    CHECK_INT(pull(image, "x:after-logout", false, false, NULL), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "unauthorized");
    CHECK_INT(store_has(store, "x:after-logout"), 0);
    check_ingest_clean(store);

    CHECK_INT(registry_init(g_auths_dir, (char *)g_certs_d), 0);
    ctest_rm_rf(auths);
    free(auths);
    free(host);
    free(image);
    free(auths_json);
    free(aeskey);
    free(store);
}

static void check_arch(const ctest_json *config, const char *arch, const char *variant)
{
    CHECK_STR(ctest_json_str(ctest_json_get(config, "os")), "linux");
    CHECK_STR(ctest_json_str(ctest_json_get(config, "architecture")), arch);
    CHECK_STR(ctest_json_str(ctest_json_get(config, "variant")), variant);
}

/* a 2-platform OCI index: the host's platform by default, another one when set */
static void multi_arch(void)
{
    char *store = new_store("store-multi");
    char *image = ref("REGISTRY_PORT", "test/multi:v1");
    ctest_json *config;
    char *before;
    char *after;

    CHECK_INT(isula_registry_set_platform(NULL), 0);
#if defined(__x86_64__)
    CHECK_INT(pull(image, "multi:default", true, false, NULL), 0);
    config = check_stored(store, "multi:default", &g_amd64);
    check_arch(config, "amd64", NULL);
    ctest_json_free(config);
#elif defined(__aarch64__)
    CHECK_INT(pull(image, "multi:default", true, false, NULL), 0);
    config = check_stored(store, "multi:default", &g_arm64);
    check_arch(config, "arm64", "v8");
    ctest_json_free(config);
#else
    printf("    host is neither amd64 nor arm64: default platform not checked\n");
#endif

    CHECK_INT(isula_registry_set_platform("linux/arm64/v8"), 0);
    CHECK_INT(pull(image, "multi:arm64", true, false, NULL), 0);
    config = check_stored(store, "multi:arm64", &g_arm64);
    check_arch(config, "arm64", "v8");
    ctest_json_free(config);

    CHECK_INT(isula_registry_set_platform("linux/amd64"), 0);
    CHECK_INT(pull(image, "multi:amd64", true, false, NULL), 0);
    config = check_stored(store, "multi:amd64", &g_amd64);
    check_arch(config, "amd64", NULL);
    ctest_json_free(config);

    /* a platform the index does not have: -1, the message lists what there is */
    before = store_snapshot(store);
    CHECK_INT(isula_registry_set_platform("linux/s390x"), 0);
    CHECK_INT(pull(image, "multi:s390x", true, false, NULL), -1);
    CHECK_CONTAINS(isula_registry_last_error(), "linux/amd64");
    CHECK_CONTAINS(isula_registry_last_error(), "linux/arm64/v8");
    after = store_snapshot(store);
    CHECK_MSG(strcmp(before, after) == 0, "the store changed:\n--- before\n%s--- after\n%s", before, after);
    check_ingest_clean(store);

    /* malformed platforms */
    CHECK_INT(isula_registry_set_platform("linux"), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(isula_registry_set_platform("linux/arm64/v8/x"), -1);
    CHECK_INT(isula_registry_set_platform(""), -1);

    CHECK_INT(isula_registry_set_platform(NULL), 0);
    free(before);
    free(after);
    free(image);
    free(store);
}

/* ---- base64 (RFC 4648, padding optional) */
static int b64_val(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* decodes in into out (at most cap bytes); returns the length, 0 on invalid input */
static size_t b64_decode(const char *in, unsigned char *out, size_t cap)
{
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *in != '\0' && *in != '='; in++) {
        int v = b64_val((unsigned char)*in);

        if (v < 0) {
            return 0;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap) {
                return 0;
            }
            out[n++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    return n;
}

#define AES_TEST_KEY "b521283230d0b4703af8b7512999d21d"
#define AES_TEST_CIPHER "ZjJlMjg0YTA0MjQ5ZjAwNQCdEtcSsbEsT/I22c/Sx925pmMS"
#define AES_TEST_PLAIN "YWxpY2U6czNjcjN0IXB3"

/* iSulad's test vector, an encode/decode round trip, a key created on demand */
static void aes_test_vector(void)
{
    char *dir = new_dir("aes");
    char *key = ctest_sprintf("%s/aeskey", dir);
    char *dir2 = new_dir("aes-new");
    char *key2 = ctest_sprintf("%s/aeskey", dir2);
    unsigned char raw[128];
    unsigned char *out = NULL;
    unsigned char *enc = NULL;
    unsigned char *dec = NULL;
    size_t n;

    REQUIRE(ctest_write_file(key, AES_TEST_KEY, strlen(AES_TEST_KEY)) == 0);
    CHECK_INT(registry_init(dir, NULL), 0);

    n = b64_decode(AES_TEST_CIPHER, raw, sizeof(raw));
    CHECK_INT(n, AES_256_CFB_IV_LEN + strlen(AES_TEST_PLAIN));
    CHECK_INT(aes_decode(raw, n, &out), 0);
    CHECK_STR((const char *)out, AES_TEST_PLAIN);
    free(out);
    out = NULL;

    CHECK_INT(aes_encode((unsigned char *)AES_TEST_PLAIN, strlen(AES_TEST_PLAIN), &enc), 0);
    REQUIRE(enc != NULL);
    CHECK_MSG(memcmp(enc, raw, AES_256_CFB_IV_LEN + strlen(AES_TEST_PLAIN)) != 0,
              "aes_encode reused the test vector's IV");
    CHECK_INT(aes_decode(enc, AES_256_CFB_IV_LEN + strlen(AES_TEST_PLAIN), &dec), 0);
    CHECK_STR((const char *)dec, AES_TEST_PLAIN);
    free(enc);
    free(dec);
    enc = NULL;
    dec = NULL;

    /* invalid input */
    CHECK_INT(aes_decode(raw, AES_256_CFB_IV_LEN, &out), -1);
    CHECK_INT(aes_decode(NULL, n, &out), -1);
    CHECK_INT(aes_encode(NULL, 3, &enc), -1);

    /* another key directory without a key: encode creates one, decode then uses it */
    CHECK_INT(registry_init(dir2, NULL), 0);
    CHECK_INT(aes_decode(raw, n, &out), -1); /* no key yet */
    free(out);
    out = NULL;
    CHECK_INT(aes_encode((unsigned char *)"x", 1, &enc), 0);
    CHECK_INT(ctest_file_size(key2), 32);
    if (enc != NULL) {
        CHECK_INT(aes_decode(enc, AES_256_CFB_IV_LEN + 1, &dec), 0);
        CHECK_STR((const char *)dec, "x");
    }
    free(enc);
    free(dec);

    CHECK_INT(registry_init(g_auths_dir, NULL), 0);
    ctest_rm_rf(dir);
    ctest_rm_rf(dir2);
    free(dir);
    free(key);
    free(dir2);
    free(key2);
}

struct thread_result {
    bool fail;          /* in: pull something invalid (else: an up-to-date pull) */
    int initial_null;   /* out: last_error was NULL before the first call */
    int ret;            /* out: registry_pull's result */
    char *error;        /* out: copy of last_error after it */
};

static void *pull_thread(void *arg)
{
    struct thread_result *r = arg;
    char *image = ref("REGISTRY_PORT", "test/x:v1");
    const char *e;

    r->initial_null = isula_registry_last_error() == NULL;
    r->ret = r->fail ? pull("UPPER/x", "x:thread", true, false, NULL) : pull(image, "x:v1", true, false, NULL);
    e = isula_registry_last_error();
    r->error = e != NULL ? ctest_strdup(e) : NULL;
    free(image);
    return NULL;
}

/* last_error is NULL after a success and belongs to the calling thread */
static void last_error_per_thread(void)
{
    char *ok_image = ref("REGISTRY_PORT", "test/x:v1");
    char *bad_image = ref("REGISTRY_PORT", "test/x:nope");
    struct thread_result r1 = { .fail = true };
    struct thread_result r2 = { .fail = false };
    char *mine;
    pthread_t t;

    CHECK_INT(isula_registry_set_root(g_main_store), 0);
    CHECK_INT(pull(bad_image, "x:nope", true, false, NULL), -1);
    CHECK(isula_registry_last_error() != NULL);
    CHECK_INT(pull(ok_image, "x:v1", true, false, NULL), 0);
    CHECK(isula_registry_last_error() == NULL);

    CHECK_INT(pull(bad_image, "x:nope", true, false, NULL), -1);
    REQUIRE(isula_registry_last_error() != NULL);
    mine = ctest_strdup(isula_registry_last_error());

    /* another thread fails differently: not visible here */
    REQUIRE(pthread_create(&t, NULL, pull_thread, &r1) == 0);
    pthread_join(t, NULL);
    CHECK(r1.initial_null);
    CHECK_INT(r1.ret, -1);
    CHECK_MSG(r1.error != NULL && strcmp(r1.error, mine) != 0,
              "the thread's error \"%s\" should differ from the main thread's \"%s\"",
              r1.error ? r1.error : "(null)", mine);
    CHECK_STR(isula_registry_last_error(), mine);

    /* another thread succeeds: does not clear this thread's error */
    REQUIRE(pthread_create(&t, NULL, pull_thread, &r2) == 0);
    pthread_join(t, NULL);
    CHECK(r2.initial_null);
    CHECK_INT(r2.ret, 0);
    CHECK(r2.error == NULL);
    CHECK_STR(isula_registry_last_error(), mine);

    /* this thread's next success clears it */
    CHECK_INT(pull(ok_image, "x:v1", true, false, NULL), 0);
    CHECK(isula_registry_last_error() == NULL);

    free(r1.error);
    free(r2.error);
    free(mine);
    free(ok_image);
    free(bad_image);
}

/* ------------------------------------------------------------------ one handle, many threads */

struct watcher {
    struct isula_registry_pull *pull;
    progress_status_map *map;
    int ended;    /* the handle said the pull ended */
    int result;   /* isula_registry_pull_result once ended */
    int bad;      /* a call answered what it must not */
    size_t frames;
};

/* what a client's threads do at once with one handle: wait, ask the result
 * and the error, render with their own renderer, read the map; until the end */
static void *watch(void *arg)
{
    struct watcher *w = arg;
    struct isula_registry_renderer *r = isula_registry_renderer_new(ISULA_REGISTRY_PROGRESS_JSON, -1);

    if (r == NULL) {
        w->bad++;
        return NULL;
    }
    for (int i = 0; i < 60000 && !w->ended; i++) {
        bool ended = isula_registry_pull_wait(w->pull, 5);
        int result = isula_registry_pull_result(w->pull);
        const char *error = isula_registry_pull_error(w->pull);
        char *text = isula_registry_render(r, w->pull, 100, 30);
        struct isula_registry_progress_entry *entries = NULL;
        size_t n = 0;

        if (text == NULL || (!ended && result != 1) || (ended && result == 1)) {
            w->bad++;
        }
        if (error != NULL && strlen(error) == 0) {
            w->bad++;
        }
        if (isula_registry_progress_entries(w->map, &entries, &n) == 0) {
            isula_registry_progress_entries_free(entries, n);
        }
        if (text != NULL && text[0] != '\0') {
            w->frames++;
        }
        free(text);
        if (ended) {
            w->ended = 1;
            w->result = result;
        }
    }
    isula_registry_renderer_free(r);
    return NULL;
}

/* runs `threads` watchers on one handle of a pull of `image` into a fresh
 * store; with `cancel`, another thread cancels the pull while they watch */
static void watch_from_threads(const char *image, const char *store, bool cancel, struct watcher *w, size_t threads)
{
    registry_pull_options *o = pull_opts(image, "x:v1", true);
    progress_status_map *map = progress_status_map_new();
    pthread_t t[8];
    char *dir = new_store(store);

    REQUIRE(map != NULL && threads <= 8);
    o->progress_status_store = map;
    struct isula_registry_pull *p = isula_registry_pull_start(o);
    free_registry_pull_options(o);
    REQUIRE(p != NULL);
    for (size_t i = 0; i < threads; i++) {
        w[i] = (struct watcher){ .pull = p, .map = map };
        REQUIRE(pthread_create(&t[i], NULL, watch, &w[i]) == 0);
    }
    if (cancel) {
        isula_registry_pull_cancel(p);
    }
    for (size_t i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
    }
    isula_registry_pull_free(p);
    progress_status_map_free(map);
    if (cancel) {
        check_ingest_clean(dir);
    } else {
        check_stored_only(dir, "x:v1", &g_gzip);
    }
    free(dir);
}

/* the handle functions are safe from several threads at once: each watcher
 * sees the same end, no call answers out of turn, every one renders */
static void one_handle_many_threads(void)
{
    struct watcher w[4];
    char *image = ref("REGISTRY_PORT", "test/x:v1");

    watch_from_threads(image, "store-threads", false, w, 4);
    for (size_t i = 0; i < 4; i++) {
        CHECK_MSG(w[i].ended && w[i].result == 0 && w[i].bad == 0 && w[i].frames > 0,
                  "watcher %zu: ended %d, result %d, %d bad answers, %zu frames", i, w[i].ended, w[i].result,
                  w[i].bad, w[i].frames);
    }
    watch_from_threads(image, "store-threads-cancel", true, w, 4);
    for (size_t i = 0; i < 4; i++) {
        CHECK_MSG(w[i].ended && w[i].bad == 0, "cancelled, watcher %zu: ended %d, %d bad answers", i, w[i].ended,
                  w[i].bad);
        CHECK_MSG(w[i].result == w[0].result, "watchers disagree on the result: %d, %d", w[i].result, w[0].result);
    }
    free(image);
}

int main(void)
{
    int rc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (ctest_env_load() != 0) {
        return 1;
    }
    if (ctest_load_image(&g_gzip) != 0 || ctest_load_image(&g_zstd) != 0 || ctest_load_image(&g_plain) != 0 ||
        ctest_load_image(&g_amd64) != 0 || ctest_load_image(&g_arm64) != 0) {
        return 1;
    }
    ctest_set_case_timeout(90);
    g_certs_d = ctest_env_req("CERTS_D");
    g_auths_dir = new_dir("auths");
    if (registry_init(g_auths_dir, (char *)g_certs_d) != 0) {
        printf("registry_init failed: %s\n", last_error_text());
        return 1;
    }
    CHECK_INT(isula_registry_set_platform(NULL), 0);
    g_main_store = new_store("store-main");

    RUN_CASE(pull_gzip_plain_http);
    RUN_CASE(pull_again_up_to_date);
    RUN_CASE(pull_zstd_and_uncompressed);
    RUN_CASE(missing_tag);
    RUN_CASE(invalid_arguments);
    RUN_CASE(last_error_per_thread);
    RUN_CASE(https_with_certs_d);
    RUN_CASE(https_untrusted_and_skip_verify);
    RUN_CASE(basic_auth_login_logout);
    RUN_CASE(multi_arch);
    RUN_CASE(aes_test_vector);
    RUN_CASE(one_handle_many_threads);

    rc = ctest_finish();
    if (rc == 0) {
        /* keep the stores for a look when something failed */
        char *p;
        const char *names[] = { "store-main",  "store-tls",     "store-tls-untrusted", "store-auth",
                                "store-multi", "store-threads", "store-threads-cancel" };
        size_t i;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            p = ctest_tmp_path(names[i]);
            ctest_rm_rf(p);
            free(p);
        }
        ctest_rm_rf(g_auths_dir);
    }
    free(g_auths_dir);
    free(g_main_store);
    ctest_free_image(&g_gzip);
    ctest_free_image(&g_zstd);
    ctest_free_image(&g_plain);
    ctest_free_image(&g_amd64);
    ctest_free_image(&g_arm64);
    ctest_env_free();
    return rc;
}
