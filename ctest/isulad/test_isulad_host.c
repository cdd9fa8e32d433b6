/*
 * test_isulad_host.c - contract test of the library's `isulad` host: the
 * library built with `--features isulad` pulls from the real docker-registry of
 * the "servers" fixture into a fake daemon (fake_daemon.c) that records every
 * call it makes. Each case compares the exact sequence of daemon calls and their
 * arguments with what iSulad's registry.c does (reuse_image, register_layers,
 * register_image, the rollback of registry_pull) and the fixes of its
 * weaknesses prescribe:
 *
 *   new_image          nothing stored: one reuse lookup, three layer creates in
 *                      order with chained parents and chain ids, image creation,
 *                      name, big data, loaded time, size, hold refs moved along
 *   first_layers_kept  the two bottom layers stored (plus decoys that must not be
 *                      chosen): hold-ref protocol, get + repair for them, one
 *                      create, only the missing blob downloaded
 *   already_present    the image is there: success after the summary lookup only
 *   create_fails       the second layer create fails: -1, hold released, the
 *                      first layer chain-deleted, error set on the calling thread
 *
 * The image (three gzip layers) is pushed by setup.sh (fixture isulad_images);
 * its digests are in $ISULA_CTEST_DIR/isulad/image.env.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/check.h"
#include "common/env.h"
#include "common/util.h"
#include "fake_daemon.h"
#include "isula_registry.h"
#include "registry.h"

#define MAX_IMG_LAYERS 8
#define CREATED_SECONDS 1704067200LL /* 2024-01-01T00:00:00Z, mkimage.py */
#define TRANSFORMED_HOST "isulad-registry.test"

static struct {
    char *manifest_digest;
    char *config_digest;
    const char *config_hex;
    int layers;
    char *digest[MAX_IMG_LAYERS];
    long long size[MAX_IMG_LAYERS];
    char *diff_id[MAX_IMG_LAYERS];
    char *id[MAX_IMG_LAYERS]; /* chain ids, hex */
    char *config_text;
    char *manifest_text;
} img;

static char *g_work;      /* $ISULA_CTEST_DIR/isulad */
static char *g_root;      /* get_oci_image_data()->root_dir */
static char *g_image_ref; /* TRANSFORMED_HOST/isulad/img:v1 */
static char *g_direct_ref; /* 127.0.0.1:<port>/isulad/img:v1 */
static char *g_dest;

/* ---- helpers ----------------------------------------------------------------------- */

static char *env_value(const char *text, const char *key)
{
    size_t klen = strlen(key);
    const char *p = text;
    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            size_t n = strcspn(v, "\n");
            char *out = ctest_strdup(v);
            out[n] = '\0';
            return out;
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return NULL;
}

static int load_image(void)
{
    char *path = ctest_sprintf("%s/image.env", g_work);
    char *text = ctest_read_file(path, NULL);
    free(path);
    if (text == NULL) {
        fprintf(stderr, "no %s/image.env: run the isulad_images fixture (ctest/isulad/setup.sh)\n", g_work);
        return -1;
    }
    img.manifest_digest = env_value(text, "ISULAD_MANIFEST_DIGEST");
    img.config_digest = env_value(text, "ISULAD_CONFIG_DIGEST");
    char *n = env_value(text, "ISULAD_LAYERS");
    img.layers = n ? atoi(n) : 0;
    free(n);
    if (img.manifest_digest == NULL || img.config_digest == NULL || img.layers != 3) {
        free(text);
        fprintf(stderr, "image.env is incomplete\n");
        return -1;
    }
    img.config_hex = img.config_digest + strlen("sha256:");
    for (int i = 0; i < img.layers; i++) {
        char *k = ctest_sprintf("ISULAD_LAYER%d_DIGEST", i);
        img.digest[i] = env_value(text, k);
        free(k);
        k = ctest_sprintf("ISULAD_LAYER%d_SIZE", i);
        char *s = env_value(text, k);
        img.size[i] = s ? atoll(s) : -1;
        free(s);
        free(k);
        k = ctest_sprintf("ISULAD_LAYER%d_DIFF_ID", i);
        img.diff_id[i] = env_value(text, k);
        free(k);
        if (img.digest[i] == NULL || img.diff_id[i] == NULL || img.size[i] <= 0) {
            free(text);
            return -1;
        }
        /* containers/image layer ids (chain ids), computed independently here */
        const char *diff_hex = img.diff_id[i] + strlen("sha256:");
        if (i == 0) {
            img.id[i] = ctest_strdup(diff_hex);
        } else {
            char *in = ctest_sprintf("%s+%s", img.id[i - 1], diff_hex);
            char *full = fake_sha256_str(in);
            img.id[i] = ctest_strdup(full + strlen("sha256:"));
            free(full);
            free(in);
        }
    }
    free(text);
    path = ctest_sprintf("%s/config.json", g_work);
    img.config_text = ctest_read_file(path, NULL);
    free(path);
    path = ctest_sprintf("%s/manifest.json", g_work);
    img.manifest_text = ctest_read_file(path, NULL);
    free(path);
    return img.config_text != NULL && img.manifest_text != NULL ? 0 : -1;
}

static void free_image(void)
{
    free(img.manifest_digest);
    free(img.config_digest);
    for (int i = 0; i < img.layers; i++) {
        free(img.digest[i]);
        free(img.diff_id[i]);
        free(img.id[i]);
    }
    free(img.config_text);
    free(img.manifest_text);
}

/* the expected call sequence, built by the cases */
static char *g_expect[128];
static size_t g_expect_len;

static void expect(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void expect(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (g_expect_len < sizeof(g_expect) / sizeof(g_expect[0])) {
        g_expect[g_expect_len++] = ctest_strdup(buf);
    }
}

static void expect_clear(void)
{
    for (size_t i = 0; i < g_expect_len; i++) {
        free(g_expect[i]);
    }
    g_expect_len = 0;
}

/* compare the daemon's call log with the expectation, print both on a difference */
static void check_calls(const char *file, int line)
{
    size_t n = fake_calls();
    size_t max = n > g_expect_len ? n : g_expect_len;
    int bad = n != g_expect_len;
    for (size_t i = 0; i < max && !bad; i++) {
        bad = !ctest_str_eq(fake_call(i), i < g_expect_len ? g_expect[i] : NULL);
    }
    if (bad) {
        ctest_fail(file, line, "daemon calls differ from the expected sequence");
        for (size_t i = 0; i < max; i++) {
            const char *got = fake_call(i);
            const char *want = i < g_expect_len ? g_expect[i] : NULL;
            fprintf(stdout, "    %c %3zu got:  %s\n          want: %s\n", ctest_str_eq(got, want) ? ' ' : '!', i,
                    got ? got : "(none)", want ? want : "(none)");
        }
    }
    expect_clear();
}
#define CHECK_CALLS() check_calls(__FILE__, __LINE__)

static int pull(const char *image)
{
    registry_pull_options o;
    memset(&o, 0, sizeof(o));
    o.image_name = (char *)image;
    o.dest_image_name = g_dest;
    o.insecure_registry = true;
    o.progress_status_store = fake_progress_map();
    int ret = registry_pull(&o);
    const char *err = isula_registry_last_error();
    printf("    registry_pull(%s -> %s) = %d%s%s\n", image, g_dest, ret, err ? ", error: " : "", err ? err : "");
    return ret;
}

/* the isulad tmpdir under `base` exists, is 0700 and holds no registry-* dir */
static void check_tmpdir_clean(const char *base, const char *file, int line)
{
    char *dir = ctest_sprintf("%s/isulad_tmpdir", base);
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || (st.st_mode & 0777) != 0700) {
        ctest_fail(file, line, "%s is not a 0700 directory", dir);
    } else {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                ctest_fail(file, line, "%s still holds %s", dir, e->d_name);
            }
        }
        if (d != NULL) {
            closedir(d);
        }
    }
    free(dir);
}
#define CHECK_TMPDIR_CLEAN(base) check_tmpdir_clean(base, __FILE__, __LINE__)

/* every storage_layer_create got an existing file with the blob's sha256, inside
 * one fresh <base>/isulad_tmpdir/registry-XXXXXX directory */
static void check_create_files(const char *base, const int *layer_of_create, size_t n, const char *file, int line)
{
    char *prefix = ctest_sprintf("%s/isulad_tmpdir/registry-", base);
    char *first_dir = NULL;
    if (fake_creates() != n) {
        ctest_fail(file, line, "%zu layer creates, expected %zu", fake_creates(), n);
    }
    for (size_t i = 0; i < fake_creates() && i < n; i++) {
        const char *p = fake_create_path(i);
        if (p == NULL || strncmp(p, prefix, strlen(prefix)) != 0) {
            ctest_fail(file, line, "layer data path %s is not under %sXXXXXX", p ? p : "(null)", prefix);
            continue;
        }
        const char *slash = strchr(p + strlen(prefix), '/');
        if (slash == NULL || slash - (p + strlen(prefix)) != 6) {
            ctest_fail(file, line, "layer data path %s: not in a registry-XXXXXX directory", p);
            continue;
        }
        if (first_dir == NULL) {
            first_dir = strndup(p, (size_t)(slash - p));
        } else if (strncmp(p, first_dir, strlen(first_dir)) != 0) {
            ctest_fail(file, line, "layer data path %s is not in %s", p, first_dir);
        }
        if (!fake_create_file_ok(i)) {
            ctest_fail(file, line,
                       "the file %s did not exist at storage_layer_create or its sha256 was not the layer's "
                       "diff_id %s (the uncompressed tar)",
                       p, img.diff_id[layer_of_create[i]]);
        }
        /* the core names downloads by digest */
        if (strstr(p, img.digest[layer_of_create[i]] + strlen("sha256:")) == NULL) {
            ctest_fail(file, line, "layer data path %s is not the download of %s", p, img.digest[layer_of_create[i]]);
        }
    }
    free(first_dir);
    free(prefix);
}
#define CHECK_CREATE_FILES(base, layers, n) check_create_files(base, layers, n, __FILE__, __LINE__)

/* the daemon's progress map got, for exactly these layers, absolute bytes with the
 * manifest's size as total, ending at the full size */
static void check_progress(const int *layers, size_t n, const char *file, int line)
{
    if (fake_progress_keys() != n) {
        ctest_fail(file, line, "progress for %zu keys, expected %zu (the downloaded layers)", fake_progress_keys(), n);
    }
    for (size_t i = 0; i < n; i++) {
        int l = layers[i];
        const struct fake_progress *p = fake_progress_of(img.digest[l]);
        if (p == NULL) {
            ctest_fail(file, line, "no progress for layer %d (%s)", l, img.digest[l]);
            continue;
        }
        if (p->updates < 2 || p->last_current != img.size[l] || p->last_total != img.size[l] || p->went_back ||
            p->total_changed || p->wrong_map) {
            ctest_fail(file, line,
                       "progress of layer %d: %d updates, last %lld/%lld (size %lld), went back %d, total changed "
                       "%d, wrong map %d",
                       l, p->updates, (long long)p->last_current, (long long)p->last_total, img.size[l], p->went_back,
                       p->total_changed, p->wrong_map);
        }
    }
}
#define CHECK_PROGRESS(layers, n) check_progress(layers, n, __FILE__, __LINE__)

/* the image as register_image must leave it */
static void check_image_registered(void)
{
    CHECK_INT(fake_image_count(), 1);
    CHECK(fake_image_has_name(img.config_hex, g_dest));
    CHECK_STR(fake_image_create_digest(), img.manifest_digest);
    types_timestamp_t created = fake_image_create_time();
    CHECK(created.has_seconds);
    CHECK_INT(created.seconds, CREATED_SECONDS);
    CHECK_INT(created.nanos, 0);
    types_timestamp_t loaded = fake_image_loaded_time();
    long long now = (long long)time(NULL);
    CHECK(loaded.has_seconds && loaded.has_nanos);
    CHECK_MSG(loaded.seconds > now - 600 && loaded.seconds <= now + 5, "loaded time %lld is not now (%lld)",
              (long long)loaded.seconds, now);
    CHECK_STR(fake_image_big_data(img.config_hex, img.config_digest), img.config_text);
    CHECK_STR(fake_image_big_data(img.config_hex, "manifest"), img.manifest_text);
}

static void expect_image_creation(int top)
{
    expect("storage_img_create(%s, %s, metadata=NULL, digest=%s)", img.config_hex, img.id[top], img.manifest_digest);
    expect("storage_img_add_name(%s, %s)", img.config_hex, g_dest);
    expect("storage_img_set_big_data(%s, %s)", img.config_hex, img.config_digest);
    expect("storage_img_set_big_data(%s, manifest)", img.config_hex);
    expect("storage_img_set_loaded_time(%s)", img.config_hex);
    expect("storage_img_set_image_size(%s)", img.config_hex);
}

static void expect_create(int i)
{
    if (i == 0) {
        expect("storage_layer_create(%s, parent=NULL, diff=%s, digest=%s, writable=0, storage_opts=NULL)", img.id[0],
               img.diff_id[0], img.digest[0]);
    } else {
        expect("storage_layer_create(%s, parent=%s, diff=%s, digest=%s, writable=0, storage_opts=NULL)", img.id[i],
               img.id[i - 1], img.diff_id[i], img.digest[i]);
    }
}

/* ---- cases ------------------------------------------------------------------------------- */

static void new_image(void)
{
    fake_reset();
    CHECK_INT(pull(g_image_ref), 0);

    expect("get_isulad_daemon_constants()");
    expect("get_oci_image_data()");
    expect("storage_img_get_summary(%s)", g_dest);
    /* the first miss ends reuse: no lookups for the layers above it */
    expect("storage_layers_get_by_compress_digest(%s)", img.digest[0]);
    expect_create(0);
    expect_create(1);
    expect("storage_dec_hold_refs(%s)", img.id[0]);
    expect_create(2);
    expect("storage_dec_hold_refs(%s)", img.id[1]);
    expect_image_creation(2);
    expect("storage_dec_hold_refs(%s)", img.id[2]);
    CHECK_CALLS();

    static const int all[] = { 0, 1, 2 };
    CHECK_CREATE_FILES(g_root, all, 3);
    CHECK_PROGRESS(all, 3);
    check_image_registered();
    CHECK_INT(fake_layer_count(), 3);
    for (int i = 0; i < 3; i++) {
        const struct fake_layer_info *l = fake_layer(img.id[i]);
        CHECK(l != NULL);
        if (l != NULL) {
            CHECK_STR(l->parent, i == 0 ? NULL : img.id[i - 1]);
        }
    }
    CHECK_INT(fake_total_holds(), 0);
    CHECK_INT(fake_outstanding(), 0);
    CHECK_INT(fake_error_calls(), 0);
    CHECK_TMPDIR_CLEAN(g_root);
}

#define DECOY_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DECOY_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DECOY_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DECOY_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define DECOY_E "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

static void first_layers_kept(void)
{
    fake_reset();
    /* layer 0: a candidate with a parent must not be taken for the bottom layer */
    fake_add_layer(DECOY_A, DECOY_B, img.digest[0], img.diff_id[0]);
    fake_add_layer(img.id[0], NULL, img.digest[0], img.diff_id[0]);
    /* layer 1: compressed == uncompressed is refused (iSulad's rule), so is another parent */
    fake_add_layer(DECOY_C, img.id[0], img.digest[1], img.digest[1]);
    fake_add_layer(DECOY_D, DECOY_E, img.digest[1], img.diff_id[1]);
    fake_add_layer(img.id[1], img.id[0], img.digest[1], img.diff_id[1]);
    /* downloads go to $ISULAD_TMPDIR/isulad_tmpdir this time */
    char *alt = ctest_sprintf("%s/alt", g_work);
    REQUIRE(setenv("ISULAD_TMPDIR", alt, 1) == 0);
    int ret = pull(g_image_ref);
    unsetenv("ISULAD_TMPDIR");
    CHECK_INT(ret, 0);

    expect("get_isulad_daemon_constants()");
    expect("get_oci_image_data()");
    expect("storage_img_get_summary(%s)", g_dest);
    expect("storage_layers_get_by_compress_digest(%s)", img.digest[0]);
    expect("storage_inc_hold_refs(%s)", img.id[0]);
    expect("storage_layers_get_by_compress_digest(%s)", img.digest[1]);
    expect("storage_inc_hold_refs(%s)", img.id[1]);
    expect("storage_dec_hold_refs(%s)", img.id[0]);
    expect("storage_layers_get_by_compress_digest(%s)", img.digest[2]);
    expect("storage_layer_get(%s)", img.id[0]);
    expect("storage_layer_try_repair_lowers(%s, NULL)", img.id[0]);
    expect("storage_layer_get(%s)", img.id[1]);
    expect("storage_layer_try_repair_lowers(%s, %s)", img.id[1], img.id[0]);
    expect_create(2);
    expect("storage_dec_hold_refs(%s)", img.id[1]);
    expect_image_creation(2);
    expect("storage_dec_hold_refs(%s)", img.id[2]);
    CHECK_CALLS();

    /* only the missing blob was downloaded and handed over */
    static const int last[] = { 2 };
    CHECK_CREATE_FILES(alt, last, 1);
    CHECK_PROGRESS(last, 1);
    check_image_registered();
    CHECK_INT(fake_layer_count(), 6);
    CHECK_INT(fake_total_holds(), 0);
    CHECK_INT(fake_outstanding(), 0);
    CHECK_INT(fake_error_calls(), 0);
    CHECK_TMPDIR_CLEAN(alt);
    CHECK_TMPDIR_CLEAN(g_root);
    free(alt);
}

static void already_present(void)
{
    fake_reset();
    fake_add_layer(img.id[0], NULL, img.digest[0], img.diff_id[0]);
    fake_add_layer(img.id[1], img.id[0], img.digest[1], img.diff_id[1]);
    fake_add_layer(img.id[2], img.id[1], img.digest[2], img.diff_id[2]);
    fake_add_image(img.config_hex, img.id[2], g_dest);
    /* no daemon constants (as in iSulad's unit test): no transformation */
    fake_use_constants(0);
    int ret = pull(g_direct_ref);
    fake_use_constants(1);
    CHECK_INT(ret, 0);

    expect("get_isulad_daemon_constants()");
    expect("get_oci_image_data()");
    expect("storage_img_get_summary(%s)", g_dest);
    CHECK_CALLS();
    CHECK_INT(fake_progress_keys(), 0);
    CHECK_INT(fake_layer_count(), 3);
    CHECK_INT(fake_image_count(), 1);
    CHECK_INT(fake_total_holds(), 0);
    CHECK_INT(fake_outstanding(), 0);
    CHECK_TMPDIR_CLEAN(g_root);
}

static void create_fails(void)
{
    fake_reset();
    fake_fail_layer_create(2);
    CHECK_INT(pull(g_image_ref), -1);

    expect("get_isulad_daemon_constants()");
    expect("get_oci_image_data()");
    expect("storage_img_get_summary(%s)", g_dest);
    expect("storage_layers_get_by_compress_digest(%s)", img.digest[0]);
    expect_create(0);
    expect_create(1);
    /* unpinned first, or storage would keep the layer */
    expect("storage_dec_hold_refs(%s)", img.id[0]);
    expect("storage_layer_chain_delete(%s)", img.id[0]);
    expect("isulad_try_set_error_message(\"%%s\", ...)");
    CHECK_CALLS();

    /* the message, set on the calling thread, names the failed layer */
    CHECK_INT(fake_error_calls(), 1);
    CHECK(fake_error_format_ok());
    CHECK(fake_error_thread_ok());
    CHECK_CONTAINS(fake_error_message(), "register layers failed");
    CHECK_CONTAINS(fake_error_message(), img.id[1]);
    CHECK_STR(isula_registry_last_error(), fake_error_message());
    static const int two[] = { 0, 1 };
    CHECK_CREATE_FILES(g_root, two, 2);
    CHECK_INT(fake_layer_count(), 0);
    CHECK_INT(fake_image_count(), 0);
    CHECK_INT(fake_outstanding(), 0);
    CHECK_TMPDIR_CLEAN(g_root);
}

int main(void)
{
    const char *run = getenv("ISULA_CTEST_DIR");
    if (run == NULL || ctest_env_load() != 0) {
        ctest_skip("no server environment (ISULA_CTEST_DIR); run through ctest");
        return ctest_finish();
    }
    const char *port = ctest_env_req("REGISTRY_PORT");
    g_work = ctest_sprintf("%s/isulad", run);
    if (*port == '\0' || load_image() != 0) {
        ctest_fail(__FILE__, __LINE__, "missing fixture data");
        return ctest_finish();
    }
    ctest_set_case_timeout(240);
    unsetenv("ISULAD_TMPDIR");

    g_root = ctest_sprintf("%s/root-%d", g_work, (int)getpid());
    g_image_ref = ctest_strdup(TRANSFORMED_HOST "/isulad/img:v1");
    g_direct_ref = ctest_sprintf("127.0.0.1:%s/isulad/img:v1", port);
    g_dest = ctest_strdup(TRANSFORMED_HOST "/isulad/img:v1");
    char *registry = ctest_sprintf("127.0.0.1:%s", port);
    char *auths = ctest_sprintf("%s/auths-%d", g_work, (int)getpid());
    char *certs = ctest_sprintf("%s/certs.d", g_work);
    fake_set_root_dir(g_root);
    fake_set_transformation("docker.io", "registry-1.docker.io");
    fake_set_transformation(TRANSFORMED_HOST, registry);
    if (registry_init(auths, certs) != 0) {
        ctest_fail(__FILE__, __LINE__, "registry_init failed");
    }

    RUN_CASE(new_image);
    RUN_CASE(first_layers_kept);
    RUN_CASE(already_present);
    RUN_CASE(create_fails);

    fake_free_all();
    expect_clear();
    free_image();
    ctest_rm_rf(g_root);
    free(g_root);
    free(g_image_ref);
    free(g_direct_ref);
    free(g_dest);
    free(registry);
    free(auths);
    free(certs);
    free(g_work);
    ctest_env_free();
    return ctest_finish();
}
