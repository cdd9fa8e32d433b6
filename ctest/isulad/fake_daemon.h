/*
 * fake_daemon.h - a fake iSulad daemon for the contract test of the library's
 * `isulad` host (cargo feature `isulad`).
 *
 * fake_daemon.c defines every function the library imports from the daemon
 * (iSulad's storage.h storage_*, get_oci_image_data,
 * get_isulad_daemon_constants, isulad_try_set_error_message,
 * progress_status_map_udpate) plus the logging shim isula_registry_log. The
 * test executable is linked with -rdynamic, so the library resolves them here.
 *
 * Every call is recorded, in order, as one line of text ("fn(arg, arg, ...)")
 * in a call log the test compares with the sequence it expects. Behind the calls
 * sits a tiny in-memory storage: layers (id, parent, both digests, hold count)
 * and images (id, top layer, names, big data).
 *
 * The structs below are the daemon's, declared here from the contract (the
 * library has its own Rust mirrors); their layouts are asserted statically.
 */
#ifndef ISULA_CTEST_FAKE_DAEMON_H
#define ISULA_CTEST_FAKE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utils_timestamp.h"
#include "progress.h"

/* ---- the daemon's types (storage.h, oci_image.h, isulad_config.h) ----------------------------------- */

typedef struct {
    char **keys;
    char **values;
    size_t len;
} json_map_string_string;

struct layer {
    char *id;
    char *parent;
    char *mount_point;
    int mount_count;
    char *compressed_digest;
    int64_t compress_size;
    char *uncompressed_digest;
    int64_t uncompress_size;
    bool writable;
};

struct layer_list {
    struct layer **layers;
    size_t layers_len;
};

typedef struct storage_layer_create_opts {
    const char *parent;
    const char *uncompress_digest;
    const char *compressed_digest;
    const char *layer_data_path;
    bool writable;
    json_map_string_string *storage_opts;
} storage_layer_create_opts_t;

struct storage_img_create_options {
    types_timestamp_t *create_time;
    char *digest;
};

typedef struct {
    char *id;
    char **repo_tags;
    size_t repo_tags_len;
    char **repo_digests;
    size_t repo_digests_len;
    char *top_layer;
    uint64_t size;
    char *created;
    char *loaded;
    void *uid;
    char *username;
    json_map_string_string *labels;
    void *_residual;
} imagetool_image_summary;

struct oci_image_module_data {
    char *root_dir;
    bool use_decrypted_key;
    bool insecure_skip_verify_enforce;
    char **registry_mirrors;
    size_t registry_mirrors_len;
    char **insecure_registries;
    size_t insecure_registries_len;
};

typedef struct {
    char *default_host;
    json_map_string_string *registry_transformation;
    void *_residual;
} isulad_daemon_constants;

/* ---- the imports (exactly what iSulad's registry.c calls) ------------------------ */

struct layer_list *storage_layers_get_by_compress_digest(const char *digest);
void free_layer_list(struct layer_list *ptr);
int storage_inc_hold_refs(const char *layer_id);
int storage_dec_hold_refs(const char *layer_id);
struct layer *storage_layer_get(const char *layer_id);
void free_layer(struct layer *l);
int storage_layer_try_repair_lowers(const char *layer_id, const char *last_layer_id);
int storage_layer_create(const char *layer_id, storage_layer_create_opts_t *opts);
int storage_layer_chain_delete(const char *layer_id);
imagetool_image_summary *storage_img_get_summary(const char *img_id);
void free_imagetool_image_summary(imagetool_image_summary *ptr);
int storage_img_create(const char *id, const char *parent_id, const char *metadata,
                       struct storage_img_create_options *opts);
char *storage_get_img_top_layer(const char *id);
int storage_img_add_name(const char *img_id, const char *img_name);
int storage_img_set_big_data(const char *img_id, const char *key, const char *val);
int storage_img_set_loaded_time(const char *img_id, types_timestamp_t *loaded_time);
int storage_img_set_image_size(const char *image_id);
int storage_img_delete(const char *img_id, bool commit);
struct oci_image_module_data *get_oci_image_data(void);
isulad_daemon_constants *get_isulad_daemon_constants(void);
void isulad_try_set_error_message(const char *format, ...);
/* progress_status_map_udpate: declared by progress.h */
void isula_registry_log(int level, const char *msg);

/* ---- test control and inspection --------------------------------------------------- */

/* Forget everything (calls, storage, messages, progress); the image root is kept. */
void fake_reset(void);
/* Free everything (at the end of the test). */
void fake_free_all(void);

/* get_oci_image_data()->root_dir (copied). */
void fake_set_root_dir(const char *root_dir);
/* Add one registry-transformation entry (copied). */
void fake_set_transformation(const char *key, const char *value);
/* 0: get_isulad_daemon_constants() returns NULL (as in iSulad's unit test); 1: the
 * constants with the entries added (the default). */
void fake_use_constants(int on);

/* Storage content set up by the test (nothing is logged). */
void fake_add_layer(const char *id, const char *parent, const char *compressed, const char *uncompressed);
void fake_add_image(const char *id, const char *top_layer, const char *name);

/* Make the n-th storage_layer_create (1-based, counted from fake_reset) fail; 0: never. */
void fake_fail_layer_create(int nth);

/* The call log: number of calls, and call i as text. */
size_t fake_calls(void);
const char *fake_call(size_t i);
/* Print the call log (after a failed comparison). */
void fake_dump_calls(void);

/* What the fake storage holds. */
struct fake_layer_info {
    const char *id;
    const char *parent;
    int hold;
};
/* NULL when there is no such layer */
const struct fake_layer_info *fake_layer(const char *id);
size_t fake_layer_count(void);
/* sum of the hold counts of every layer */
int fake_total_holds(void);
size_t fake_image_count(void);
/* big data value of an image, NULL when unset */
const char *fake_image_big_data(const char *img_id, const char *key);
int fake_image_has_name(const char *img_id, const char *name);
/* storage_img_create's opts: the digest and creation time given (of the last call) */
const char *fake_image_create_digest(void);
types_timestamp_t fake_image_create_time(void);
types_timestamp_t fake_image_loaded_time(void);

/* storage_layer_create calls: how many, and for call i the data path given and
 * whether that file existed at call time with a sha256 equal to the compressed
 * digest given. */
size_t fake_creates(void);
const char *fake_create_path(size_t i);
int fake_create_file_ok(size_t i);

/* isulad_try_set_error_message: the message kept (first set wins, per thread of
 * the caller - here only the main thread's is kept), how many calls, whether all
 * used "%s" as format, and whether all came from the thread that called fake_reset. */
const char *fake_error_message(void);
int fake_error_calls(void);
int fake_error_format_ok(void);
int fake_error_thread_ok(void);

/* progress_status_map_udpate: updates seen for key (NULL when none). */
struct fake_progress {
    char *key;
    int updates;
    int64_t last_current;
    int64_t last_total;
    int went_back;         /* current decreased at some point */
    int total_changed;     /* total differed between updates */
    int wrong_map;         /* called with another map than fake_progress_map() */
};
const struct fake_progress *fake_progress_of(const char *key);
size_t fake_progress_keys(void);
/* the map to hand to registry_pull (the daemon's map is opaque to the library) */
progress_status_map *fake_progress_map(void);

/* lists, layers and summaries handed to the library and not freed yet */
long fake_outstanding(void);

/* sha256 of a file / of a string, "sha256:<hex>" (malloc'd); NULL on error */
char *fake_sha256_file(const char *path);
char *fake_sha256_str(const char *s);

#endif
