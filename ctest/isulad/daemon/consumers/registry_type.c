/*
 * A stand-in for iSulad's registry_type.c
 * (src/daemon/modules/image/oci/registry_type.c), which stays in the daemon
 * when the C registry module goes: it defines free_challenge,
 * free_layer_blob and free_pull_desc with iSulad's prototypes. Compiled
 * against the registry_type.h the daemon sees (ours, same include guard as
 * iSulad's) and linked beside the library's archive: a second definition of
 * any of the three in the archive is a link error, as in the real daemon.
 * It frees what iSulad's frees; the test of the isulad host runs with it
 * under valgrind.
 */
#include <pthread.h>
#include <stdlib.h>

#include "registry_type.h"

void free_challenge(challenge *c)
{
    if (c == NULL) {
        return;
    }
    free(c->schema);
    free(c->realm);
    free(c->service);
    free(c->cached_token);
    c->schema = c->realm = c->service = c->cached_token = NULL;
    c->expires_time = 0;
}

void free_layer_blob(layer_blob *layer)
{
    if (layer == NULL) {
        return;
    }
    free(layer->media_type);
    free(layer->digest);
    free(layer->diff_id);
    free(layer->chain_id);
    free(layer->file);
    layer->media_type = layer->digest = layer->diff_id = layer->chain_id = layer->file = NULL;
    layer->size = 0;
    layer->empty_layer = false;
    layer->already_exist = false;
}

void free_pull_desc(pull_descriptor *desc)
{
    size_t i;

    if (desc == NULL) {
        return;
    }
    free(desc->image_name);
    free(desc->dest_image_name);
    free(desc->host);
    free(desc->name);
    free(desc->tag);
    free(desc->username);
    free(desc->password);
    free(desc->auths_dir);
    free(desc->ca_file);
    free(desc->cert_file);
    free(desc->key_file);
    free(desc->certs_dir);
    free(desc->errmsg);
    free(desc->blobpath);
    free(desc->protocol);
    free(desc->scope);
    for (i = 0; i < CHALLENGE_MAX; i++) {
        free_challenge(&desc->challenges[i]);
    }
    for (i = 0; desc->headers != NULL && desc->headers[i] != NULL; i++) {
        free(desc->headers[i]);
    }
    free(desc->headers);
    free(desc->manifest.media_type);
    free(desc->manifest.digest);
    free(desc->manifest.file);
    free(desc->config.media_type);
    free(desc->config.digest);
    free(desc->config.file);
    for (i = 0; i < desc->layers_len; i++) {
        free_layer_blob(&desc->layers[i]);
    }
    free(desc->layers);
    free(desc->layer_of_hold_refs);
    if (desc->cond_inited) {
        pthread_cond_destroy(&desc->cond);
    }
    if (desc->mutex_inited) {
        pthread_mutex_destroy(&desc->mutex);
    }
    if (desc->challenges_mutex_inited) {
        pthread_mutex_destroy(&desc->challenges_mutex);
    }
#ifdef ENABLE_IMAGE_SEARCH
    free(desc->search_name);
#endif
    free(desc);
}
