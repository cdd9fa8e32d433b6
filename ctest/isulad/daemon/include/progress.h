/*
 * Stand-in for the daemon's own progress.h
 * (iSulad src/daemon/modules/image/oci/progress.h), declared as iSulad
 * declares it: same include guard as the library's progress.h, a tagged
 * typedef whose first field is the daemon's map. The integration keeps the
 * daemon's header, so the library's headers must compile against this one.
 */
#ifndef DAEMON_MODULES_IMAGE_OCI_PROGRESS_STATUS_MAP_H
#define DAEMON_MODULES_IMAGE_OCI_PROGRESS_STATUS_MAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct _map_t;

typedef struct progress_status_map {
    struct _map_t *map;
    pthread_mutex_t mutex;
} progress_status_map;

typedef struct progress {
    int64_t dlnow;
    int64_t dltotal;
} progress;

bool progress_status_map_udpate(progress_status_map *progress_status_map, char *key, int64_t current, int64_t total);
progress_status_map *progress_status_map_new(void);
size_t progress_status_map_size(progress_status_map *progress_status_map);
void progress_status_map_free(progress_status_map *map);
bool progress_status_map_lock(progress_status_map *progress_status_map);
void progress_status_map_unlock(progress_status_map *progress_status_map);

#ifdef __cplusplus
}
#endif

#endif
