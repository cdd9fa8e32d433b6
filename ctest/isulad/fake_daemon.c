/*
 * fake_daemon.c - the fake iSulad daemon of the isulad contract test (see
 * fake_daemon.h). Single storage, one pull at a time; the call log and the
 * progress table are guarded by a mutex because the library may call from its
 * download threads (progress, logs).
 */
#define _POSIX_C_SOURCE 200809L

#include "fake_daemon.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

/* ---- layouts of the contract (x86_64 / LP64) -------------------------------------- */

_Static_assert(sizeof(json_map_string_string) == 24, "json_map_string_string");
_Static_assert(sizeof(struct layer) == 72, "struct layer");
_Static_assert(offsetof(struct layer, parent) == 8, "layer.parent");
_Static_assert(offsetof(struct layer, mount_count) == 24, "layer.mount_count");
_Static_assert(offsetof(struct layer, compressed_digest) == 32, "layer.compressed_digest");
_Static_assert(offsetof(struct layer, compress_size) == 40, "layer.compress_size");
_Static_assert(offsetof(struct layer, uncompressed_digest) == 48, "layer.uncompressed_digest");
_Static_assert(offsetof(struct layer, uncompress_size) == 56, "layer.uncompress_size");
_Static_assert(offsetof(struct layer, writable) == 64, "layer.writable");
_Static_assert(sizeof(struct layer_list) == 16, "struct layer_list");
_Static_assert(sizeof(storage_layer_create_opts_t) == 48, "storage_layer_create_opts_t");
_Static_assert(offsetof(storage_layer_create_opts_t, layer_data_path) == 24, "opts.layer_data_path");
_Static_assert(offsetof(storage_layer_create_opts_t, writable) == 32, "opts.writable");
_Static_assert(offsetof(storage_layer_create_opts_t, storage_opts) == 40, "opts.storage_opts");
_Static_assert(sizeof(struct storage_img_create_options) == 16, "storage_img_create_options");
_Static_assert(sizeof(imagetool_image_summary) == 104, "imagetool_image_summary");
_Static_assert(offsetof(imagetool_image_summary, top_layer) == 40, "summary.top_layer");
_Static_assert(offsetof(imagetool_image_summary, _residual) == 96, "summary._residual");
_Static_assert(sizeof(struct oci_image_module_data) == 48, "oci_image_module_data");
_Static_assert(offsetof(struct oci_image_module_data, insecure_skip_verify_enforce) == 9, "oci data");
_Static_assert(offsetof(struct oci_image_module_data, registry_mirrors) == 16, "oci data");
_Static_assert(sizeof(isulad_daemon_constants) == 24, "isulad_daemon_constants");
_Static_assert(sizeof(types_timestamp_t) == 24, "types_timestamp_t");

/* ---- state ------------------------------------------------------------------------ */

#define MAX_CALLS 512
#define MAX_LAYERS 64
#define MAX_IMAGES 8
#define MAX_NAMES 8
#define MAX_BIG 8
#define MAX_KEYS 32

struct flayer {
    char *id;
    char *parent;
    char *compressed;
    char *uncompressed;
    int hold;
};

struct fimage {
    char *id;
    char *top;
    char *names[MAX_NAMES];
    size_t names_len;
    char *big_keys[MAX_BIG];
    char *big_vals[MAX_BIG];
    size_t big_len;
};

struct progress_status_map {
    unsigned magic;
};

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static char *g_calls[MAX_CALLS];
static size_t g_calls_len;
static struct flayer g_layers[MAX_LAYERS];
static size_t g_layers_len;
static struct fimage g_images[MAX_IMAGES];
static size_t g_images_len;
static int g_fail_create_nth;
static int g_creates_seen;
static char *g_create_paths[MAX_LAYERS];
static int g_create_ok[MAX_LAYERS];
static size_t g_creates_len;
static char *g_create_digest;
static types_timestamp_t g_create_time;
static types_timestamp_t g_loaded_time;
static struct fake_progress g_progress[MAX_KEYS];
static size_t g_progress_len;
static struct progress_status_map g_map = { 0x150ad };
static struct fake_layer_info g_layer_info;

static struct oci_image_module_data g_oci_data;
static char g_default_host[] = "docker.io";
static isulad_daemon_constants g_constants = { g_default_host, NULL, NULL };
static json_map_string_string g_transformation;
static bool g_have_constants = true;

static pthread_t g_main_thread;
static _Thread_local char *g_isulad_errmsg;
static int g_error_calls;
static int g_error_format_ok = 1;
static int g_error_thread_ok = 1;
static long g_outstanding; /* lists, layers and summaries handed out, not yet freed */

static char *xstrdup(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    char *p = strdup(s);
    if (p == NULL) {
        abort();
    }
    return p;
}

static void record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void record(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_mutex);
    if (g_calls_len < MAX_CALLS) {
        g_calls[g_calls_len++] = xstrdup(buf);
    }
    pthread_mutex_unlock(&g_mutex);
}

static const char *or_null(const char *s)
{
    return s == NULL ? "NULL" : s;
}

static struct flayer *find_layer(const char *id)
{
    for (size_t i = 0; id != NULL && i < g_layers_len; i++) {
        if (strcmp(g_layers[i].id, id) == 0) {
            return &g_layers[i];
        }
    }
    return NULL;
}

static struct fimage *find_image(const char *id_or_name)
{
    for (size_t i = 0; id_or_name != NULL && i < g_images_len; i++) {
        if (strcmp(g_images[i].id, id_or_name) == 0) {
            return &g_images[i];
        }
        for (size_t n = 0; n < g_images[i].names_len; n++) {
            if (strcmp(g_images[i].names[n], id_or_name) == 0) {
                return &g_images[i];
            }
        }
    }
    return NULL;
}

static void free_flayer(struct flayer *l)
{
    free(l->id);
    free(l->parent);
    free(l->compressed);
    free(l->uncompressed);
    memset(l, 0, sizeof(*l));
}

static void remove_layer(struct flayer *l)
{
    size_t i = (size_t)(l - g_layers);
    free_flayer(l);
    memmove(&g_layers[i], &g_layers[i + 1], (g_layers_len - i - 1) * sizeof(g_layers[0]));
    g_layers_len--;
    memset(&g_layers[g_layers_len], 0, sizeof(g_layers[0]));
}

static void free_fimage(struct fimage *im)
{
    free(im->id);
    free(im->top);
    for (size_t n = 0; n < im->names_len; n++) {
        free(im->names[n]);
    }
    for (size_t n = 0; n < im->big_len; n++) {
        free(im->big_keys[n]);
        free(im->big_vals[n]);
    }
    memset(im, 0, sizeof(*im));
}

static bool is_top_of_image(const char *id)
{
    for (size_t i = 0; i < g_images_len; i++) {
        if (strcmp(g_images[i].top, id) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_parent_of_other(const char *id, const char *except)
{
    for (size_t i = 0; i < g_layers_len; i++) {
        if (g_layers[i].parent != NULL && strcmp(g_layers[i].parent, id) == 0 &&
            (except == NULL || strcmp(g_layers[i].id, except) != 0)) {
            return true;
        }
    }
    return false;
}

/* storage.c:do_delete_related_layers: from id down, stop at a held layer, the top
 * layer of an image or the parent of another layer. */
static void delete_chain(const char *top)
{
    char *id = xstrdup(top);
    char *last = NULL;
    while (id != NULL) {
        struct flayer *l = find_layer(id);
        if (l == NULL || l->hold > 0 || is_top_of_image(id) || is_parent_of_other(id, last)) {
            break;
        }
        char *parent = xstrdup(l->parent);
        remove_layer(l);
        free(last);
        last = id;
        id = parent;
    }
    free(id);
    free(last);
}

/* ---- test control -------------------------------------------------------------------- */

static void clear_state(void)
{
    for (size_t i = 0; i < g_calls_len; i++) {
        free(g_calls[i]);
        g_calls[i] = NULL;
    }
    g_calls_len = 0;
    while (g_layers_len > 0) {
        free_flayer(&g_layers[--g_layers_len]);
    }
    while (g_images_len > 0) {
        free_fimage(&g_images[--g_images_len]);
    }
    for (size_t i = 0; i < g_creates_len; i++) {
        free(g_create_paths[i]);
        g_create_paths[i] = NULL;
    }
    g_creates_len = 0;
    g_creates_seen = 0;
    g_fail_create_nth = 0;
    free(g_create_digest);
    g_create_digest = NULL;
    memset(&g_create_time, 0, sizeof(g_create_time));
    memset(&g_loaded_time, 0, sizeof(g_loaded_time));
    for (size_t i = 0; i < g_progress_len; i++) {
        free(g_progress[i].key);
    }
    memset(g_progress, 0, sizeof(g_progress));
    g_progress_len = 0;
    free(g_isulad_errmsg);
    g_isulad_errmsg = NULL;
    g_error_calls = 0;
    g_error_format_ok = 1;
    g_error_thread_ok = 1;
}

void fake_reset(void)
{
    clear_state();
    g_main_thread = pthread_self();
    g_outstanding = 0;
}

void fake_free_all(void)
{
    clear_state();
    free(g_oci_data.root_dir);
    g_oci_data.root_dir = NULL;
    for (size_t i = 0; i < g_transformation.len; i++) {
        free(g_transformation.keys[i]);
        free(g_transformation.values[i]);
    }
    free(g_transformation.keys);
    free(g_transformation.values);
    memset(&g_transformation, 0, sizeof(g_transformation));
    g_constants.registry_transformation = NULL;
}

void fake_set_root_dir(const char *root_dir)
{
    free(g_oci_data.root_dir);
    g_oci_data.root_dir = xstrdup(root_dir);
    g_oci_data.use_decrypted_key = true;
}

void fake_use_constants(int on)
{
    g_have_constants = on != 0;
}

void fake_set_transformation(const char *key, const char *value)
{
    size_t n = g_transformation.len + 1;
    g_transformation.keys = realloc(g_transformation.keys, n * sizeof(char *));
    g_transformation.values = realloc(g_transformation.values, n * sizeof(char *));
    if (g_transformation.keys == NULL || g_transformation.values == NULL) {
        abort();
    }
    g_transformation.keys[n - 1] = xstrdup(key);
    g_transformation.values[n - 1] = xstrdup(value);
    g_transformation.len = n;
    g_constants.registry_transformation = &g_transformation;
}

void fake_add_layer(const char *id, const char *parent, const char *compressed, const char *uncompressed)
{
    if (g_layers_len >= MAX_LAYERS) {
        abort();
    }
    struct flayer *l = &g_layers[g_layers_len++];
    l->id = xstrdup(id);
    l->parent = xstrdup(parent);
    l->compressed = xstrdup(compressed);
    l->uncompressed = xstrdup(uncompressed);
    l->hold = 0;
}

void fake_add_image(const char *id, const char *top_layer, const char *name)
{
    if (g_images_len >= MAX_IMAGES) {
        abort();
    }
    struct fimage *im = &g_images[g_images_len++];
    im->id = xstrdup(id);
    im->top = xstrdup(top_layer);
    if (name != NULL) {
        im->names[im->names_len++] = xstrdup(name);
    }
}

void fake_fail_layer_create(int nth)
{
    g_fail_create_nth = nth;
}

size_t fake_calls(void)
{
    return g_calls_len;
}

const char *fake_call(size_t i)
{
    return i < g_calls_len ? g_calls[i] : NULL;
}

void fake_dump_calls(void)
{
    fprintf(stderr, "    daemon calls (%zu):\n", g_calls_len);
    for (size_t i = 0; i < g_calls_len; i++) {
        fprintf(stderr, "    %3zu %s\n", i, g_calls[i]);
    }
}

const struct fake_layer_info *fake_layer(const char *id)
{
    struct flayer *l = find_layer(id);
    if (l == NULL) {
        return NULL;
    }
    g_layer_info.id = l->id;
    g_layer_info.parent = l->parent;
    g_layer_info.hold = l->hold;
    return &g_layer_info;
}

size_t fake_layer_count(void)
{
    return g_layers_len;
}

int fake_total_holds(void)
{
    int sum = 0;
    for (size_t i = 0; i < g_layers_len; i++) {
        sum += g_layers[i].hold;
    }
    return sum;
}

size_t fake_image_count(void)
{
    return g_images_len;
}

const char *fake_image_big_data(const char *img_id, const char *key)
{
    struct fimage *im = find_image(img_id);
    for (size_t i = 0; im != NULL && i < im->big_len; i++) {
        if (strcmp(im->big_keys[i], key) == 0) {
            return im->big_vals[i];
        }
    }
    return NULL;
}

int fake_image_has_name(const char *img_id, const char *name)
{
    struct fimage *im = find_image(img_id);
    for (size_t i = 0; im != NULL && i < im->names_len; i++) {
        if (strcmp(im->names[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

const char *fake_image_create_digest(void)
{
    return g_create_digest;
}

types_timestamp_t fake_image_create_time(void)
{
    return g_create_time;
}

types_timestamp_t fake_image_loaded_time(void)
{
    return g_loaded_time;
}

size_t fake_creates(void)
{
    return g_creates_len;
}

const char *fake_create_path(size_t i)
{
    return i < g_creates_len ? g_create_paths[i] : NULL;
}

int fake_create_file_ok(size_t i)
{
    return i < g_creates_len ? g_create_ok[i] : 0;
}

const char *fake_error_message(void)
{
    return g_isulad_errmsg;
}

int fake_error_calls(void)
{
    return g_error_calls;
}

int fake_error_format_ok(void)
{
    return g_error_format_ok;
}

int fake_error_thread_ok(void)
{
    return g_error_thread_ok;
}

const struct fake_progress *fake_progress_of(const char *key)
{
    for (size_t i = 0; i < g_progress_len; i++) {
        if (strcmp(g_progress[i].key, key) == 0) {
            return &g_progress[i];
        }
    }
    return NULL;
}

size_t fake_progress_keys(void)
{
    return g_progress_len;
}

progress_status_map *fake_progress_map(void)
{
    return &g_map;
}

long fake_outstanding(void)
{
    return g_outstanding;
}

static char *hex_digest(const unsigned char *md, unsigned int len)
{
    char *out = malloc(7 + 2 * len + 1);
    if (out == NULL) {
        abort();
    }
    memcpy(out, "sha256:", 7);
    for (unsigned int i = 0; i < len; i++) {
        sprintf(out + 7 + 2 * i, "%02x", md[i]);
    }
    return out;
}

char *fake_sha256_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char buf[65536];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    size_t n;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        EVP_DigestUpdate(ctx, buf, n);
    }
    int err = ferror(f);
    fclose(f);
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    return err ? NULL : hex_digest(md, len);
}

char *fake_sha256_str(const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1) {
        return NULL;
    }
    return hex_digest(md, len);
}

/* ---- the imports ----------------------------------------------------------------------- */

static struct layer *copy_layer(const struct flayer *f)
{
    struct layer *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        abort();
    }
    l->id = xstrdup(f->id);
    l->parent = xstrdup(f->parent);
    l->compressed_digest = xstrdup(f->compressed);
    l->uncompressed_digest = xstrdup(f->uncompressed);
    l->compress_size = -1;
    l->uncompress_size = -1;
    return l;
}

void free_layer(struct layer *l)
{
    if (l == NULL) {
        return;
    }
    free(l->id);
    free(l->parent);
    free(l->mount_point);
    free(l->compressed_digest);
    free(l->uncompressed_digest);
    free(l);
    g_outstanding--;
}

struct layer_list *storage_layers_get_by_compress_digest(const char *digest)
{
    record("storage_layers_get_by_compress_digest(%s)", or_null(digest));
    size_t n = 0;
    for (size_t i = 0; digest != NULL && i < g_layers_len; i++) {
        if (g_layers[i].compressed != NULL && strcmp(g_layers[i].compressed, digest) == 0) {
            n++;
        }
    }
    if (n == 0) {
        return NULL;
    }
    struct layer_list *list = calloc(1, sizeof(*list));
    if (list == NULL || (list->layers = calloc(n, sizeof(struct layer *))) == NULL) {
        abort();
    }
    for (size_t i = 0; i < g_layers_len; i++) {
        if (g_layers[i].compressed != NULL && strcmp(g_layers[i].compressed, digest) == 0) {
            list->layers[list->layers_len++] = copy_layer(&g_layers[i]);
        }
    }
    g_outstanding++;
    return list;
}

void free_layer_list(struct layer_list *ptr)
{
    if (ptr == NULL) {
        return;
    }
    for (size_t i = 0; i < ptr->layers_len; i++) {
        free_layer(ptr->layers[i]);
        g_outstanding++; /* free_layer counted it; the list is one object */
    }
    free(ptr->layers);
    free(ptr);
    g_outstanding--;
}

int storage_inc_hold_refs(const char *layer_id)
{
    record("storage_inc_hold_refs(%s)", or_null(layer_id));
    struct flayer *l = find_layer(layer_id);
    if (l == NULL) {
        return -1;
    }
    l->hold++;
    return 0;
}

int storage_dec_hold_refs(const char *layer_id)
{
    record("storage_dec_hold_refs(%s)", or_null(layer_id));
    struct flayer *l = find_layer(layer_id);
    if (l == NULL || l->hold <= 0) {
        return -1;
    }
    l->hold--;
    return 0;
}

struct layer *storage_layer_get(const char *layer_id)
{
    record("storage_layer_get(%s)", or_null(layer_id));
    struct flayer *l = find_layer(layer_id);
    if (l == NULL) {
        return NULL;
    }
    g_outstanding++;
    return copy_layer(l);
}

int storage_layer_try_repair_lowers(const char *layer_id, const char *last_layer_id)
{
    record("storage_layer_try_repair_lowers(%s, %s)", or_null(layer_id), or_null(last_layer_id));
    return find_layer(layer_id) == NULL ? -1 : 0;
}

int storage_layer_create(const char *layer_id, storage_layer_create_opts_t *opts)
{
    if (opts == NULL) {
        record("storage_layer_create(%s, opts=NULL)", or_null(layer_id));
        return -1;
    }
    record("storage_layer_create(%s, parent=%s, diff=%s, digest=%s, writable=%d, storage_opts=%s)",
           or_null(layer_id), or_null(opts->parent), or_null(opts->uncompress_digest),
           or_null(opts->compressed_digest), (int)opts->writable, opts->storage_opts == NULL ? "NULL" : "set");
    if (g_creates_len < MAX_LAYERS) {
        char *sum = opts->layer_data_path ? fake_sha256_file(opts->layer_data_path) : NULL;
        g_create_paths[g_creates_len] = xstrdup(opts->layer_data_path);
        /* the file is the layer's uncompressed tar: its sha256 is the diff_id */
        g_create_ok[g_creates_len] = sum != NULL && opts->uncompress_digest != NULL &&
                                     strcmp(sum, opts->uncompress_digest) == 0;
        g_creates_len++;
        free(sum);
    }
    g_creates_seen++;
    if (g_fail_create_nth > 0 && g_creates_seen == g_fail_create_nth) {
        return -1;
    }
    if (layer_id == NULL || (opts->parent != NULL && find_layer(opts->parent) == NULL)) {
        return -1;
    }
    struct flayer *l = find_layer(layer_id);
    if (l != NULL) {
        l->hold++;
        return 0;
    }
    fake_add_layer(layer_id, opts->parent, opts->compressed_digest, opts->uncompress_digest);
    g_layers[g_layers_len - 1].hold = 1;
    return 0;
}

int storage_layer_chain_delete(const char *layer_id)
{
    record("storage_layer_chain_delete(%s)", or_null(layer_id));
    if (layer_id == NULL) {
        return -1;
    }
    delete_chain(layer_id);
    return 0;
}

imagetool_image_summary *storage_img_get_summary(const char *img_id)
{
    record("storage_img_get_summary(%s)", or_null(img_id));
    struct fimage *im = find_image(img_id);
    if (im == NULL) {
        return NULL;
    }
    imagetool_image_summary *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        abort();
    }
    s->id = xstrdup(im->id);
    s->top_layer = xstrdup(im->top);
    g_outstanding++;
    return s;
}

void free_imagetool_image_summary(imagetool_image_summary *ptr)
{
    if (ptr == NULL) {
        return;
    }
    free(ptr->id);
    free(ptr->top_layer);
    free(ptr);
    g_outstanding--;
}

int storage_img_create(const char *id, const char *parent_id, const char *metadata,
                       struct storage_img_create_options *opts)
{
    record("storage_img_create(%s, %s, metadata=%s, digest=%s)", or_null(id), or_null(parent_id),
           metadata == NULL ? "NULL" : metadata, opts == NULL ? "(no opts)" : or_null(opts->digest));
    if (opts == NULL || id == NULL || parent_id == NULL || find_image(id) != NULL ||
        find_layer(parent_id) == NULL) {
        return -1;
    }
    free(g_create_digest);
    g_create_digest = xstrdup(opts->digest);
    if (opts->create_time != NULL) {
        g_create_time = *opts->create_time;
    }
    fake_add_image(id, parent_id, NULL);
    return 0;
}

char *storage_get_img_top_layer(const char *id)
{
    record("storage_get_img_top_layer(%s)", or_null(id));
    struct fimage *im = find_image(id);
    return im == NULL ? NULL : xstrdup(im->top);
}

int storage_img_add_name(const char *img_id, const char *img_name)
{
    record("storage_img_add_name(%s, %s)", or_null(img_id), or_null(img_name));
    struct fimage *im = find_image(img_id);
    if (im == NULL || img_name == NULL || im->names_len >= MAX_NAMES) {
        return -1;
    }
    im->names[im->names_len++] = xstrdup(img_name);
    return 0;
}

int storage_img_set_big_data(const char *img_id, const char *key, const char *val)
{
    record("storage_img_set_big_data(%s, %s)", or_null(img_id), or_null(key));
    struct fimage *im = find_image(img_id);
    if (im == NULL || key == NULL || val == NULL || im->big_len >= MAX_BIG) {
        return -1;
    }
    im->big_keys[im->big_len] = xstrdup(key);
    im->big_vals[im->big_len] = xstrdup(val);
    im->big_len++;
    return 0;
}

int storage_img_set_loaded_time(const char *img_id, types_timestamp_t *loaded_time)
{
    record("storage_img_set_loaded_time(%s)", or_null(img_id));
    if (find_image(img_id) == NULL || loaded_time == NULL) {
        return -1;
    }
    g_loaded_time = *loaded_time;
    return 0;
}

int storage_img_set_image_size(const char *image_id)
{
    record("storage_img_set_image_size(%s)", or_null(image_id));
    return find_image(image_id) == NULL ? -1 : 0;
}

int storage_img_delete(const char *img_id, bool commit)
{
    record("storage_img_delete(%s, %d)", or_null(img_id), (int)commit);
    struct fimage *im = find_image(img_id);
    if (im == NULL) {
        return -1;
    }
    char *top = xstrdup(im->top);
    size_t i = (size_t)(im - g_images);
    free_fimage(im);
    memmove(&g_images[i], &g_images[i + 1], (g_images_len - i - 1) * sizeof(g_images[0]));
    g_images_len--;
    memset(&g_images[g_images_len], 0, sizeof(g_images[0]));
    delete_chain(top);
    free(top);
    return 0;
}

struct oci_image_module_data *get_oci_image_data(void)
{
    record("get_oci_image_data()");
    return &g_oci_data;
}

isulad_daemon_constants *get_isulad_daemon_constants(void)
{
    record("get_isulad_daemon_constants()");
    return g_have_constants ? &g_constants : NULL;
}

/* err_msg.c: format, and set only when nothing is set yet (on this thread) */
void isulad_try_set_error_message(const char *format, ...)
{
    char buf[8192];
    va_list ap;
    record("isulad_try_set_error_message(\"%s\", ...)", or_null(format));
    pthread_mutex_lock(&g_mutex);
    g_error_calls++;
    if (format == NULL || strcmp(format, "%s") != 0) {
        g_error_format_ok = 0;
    }
    if (!pthread_equal(pthread_self(), g_main_thread)) {
        g_error_thread_ok = 0;
    }
    pthread_mutex_unlock(&g_mutex);
    if (g_isulad_errmsg != NULL || format == NULL) {
        return;
    }
    va_start(ap, format);
    vsnprintf(buf, sizeof(buf), format, ap);
    va_end(ap);
    g_isulad_errmsg = xstrdup(buf);
}

bool progress_status_map_udpate(struct progress_status_map *map, char *key, int64_t current, int64_t total)
{
    if (key == NULL) {
        return false;
    }
    pthread_mutex_lock(&g_mutex);
    struct fake_progress *p = NULL;
    for (size_t i = 0; i < g_progress_len; i++) {
        if (strcmp(g_progress[i].key, key) == 0) {
            p = &g_progress[i];
        }
    }
    if (p == NULL && g_progress_len < MAX_KEYS) {
        p = &g_progress[g_progress_len++];
        p->key = xstrdup(key);
    }
    if (p != NULL) {
        if (map != &g_map) {
            p->wrong_map = 1;
        }
        if (p->updates > 0 && current < p->last_current) {
            p->went_back = 1;
        }
        if (p->updates > 0 && total != p->last_total) {
            p->total_changed = 1;
        }
        p->updates++;
        p->last_current = current;
        p->last_total = total;
    }
    pthread_mutex_unlock(&g_mutex);
    return true;
}

/* the logging shim: in isulad it expands lcr's ERROR/WARN/INFO/DEBUG with "%s" */
void isula_registry_log(int level, const char *msg)
{
    static const char *names[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    const char *name = level >= 0 && level <= 3 ? names[level] : "?";
    fprintf(stderr, "    [daemon log %s] %s\n", name, msg == NULL ? "(null)" : msg);
}
