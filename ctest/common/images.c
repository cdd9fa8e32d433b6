/* See images.h. */
#define _GNU_SOURCE
#include "images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "env.h"
#include "util.h"

int ctest_load_image(struct ctest_image *img)
{
    char key[64];
    char *layers;
    char *sizes;
    char *save = NULL;
    char *tok;
    size_t nsizes = 0;

    snprintf(key, sizeof(key), "%s_DIGEST", img->name);
    img->digest = ctest_env_req(key);
    snprintf(key, sizeof(key), "%s_CONFIG", img->name);
    img->config = ctest_env_req(key);
    snprintf(key, sizeof(key), "%s_LAYERS", img->name);
    layers = ctest_strdup(ctest_env_req(key));
    snprintf(key, sizeof(key), "%s_LAYER_SIZES", img->name);
    sizes = ctest_strdup(ctest_env_req(key));
    for (tok = strtok_r(layers, ",", &save); tok != NULL && img->n < CTEST_MAX_LAYERS;
         tok = strtok_r(NULL, ",", &save)) {
        img->layers[img->n++] = ctest_strdup(tok);
    }
    save = NULL;
    for (tok = strtok_r(sizes, ",", &save); tok != NULL && nsizes < CTEST_MAX_LAYERS;
         tok = strtok_r(NULL, ",", &save)) {
        img->sizes[nsizes++] = strtoll(tok, NULL, 10);
    }
    free(layers);
    free(sizes);
    if (img->digest[0] == '\0' || img->config[0] == '\0' || img->n == 0 || nsizes != img->n) {
        fprintf(stderr, "image %s incomplete in $ISULA_CTEST_DIR/env\n", img->name);
        return -1;
    }
    return 0;
}

void ctest_free_image(struct ctest_image *img)
{
    size_t i;

    for (i = 0; i < CTEST_MAX_LAYERS; i++) {
        free(img->layers[i]);
        img->layers[i] = NULL;
    }
}

int ctest_sha256_file(const char *path, char out[72])
{
    static const char hexdigits[] = "0123456789abcdef";
    unsigned char buf[65536];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx;
    FILE *f = fopen(path, "rb");
    size_t n;
    unsigned int i;
    int ret = 0;

    if (f == NULL) {
        return -1;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        ret = -1;
    }
    while (ret == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (EVP_DigestUpdate(ctx, buf, n) != 1) {
            ret = -1;
        }
    }
    if (ret == 0 && (ferror(f) || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)) {
        ret = -1;
    }
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (ret == 0) {
        memcpy(out, "sha256:", 7);
        for (i = 0; i < mdlen; i++) {
            out[7 + 2 * i] = hexdigits[md[i] >> 4];
            out[8 + 2 * i] = hexdigits[md[i] & 15];
        }
        out[7 + 64] = '\0';
    }
    return ret;
}
