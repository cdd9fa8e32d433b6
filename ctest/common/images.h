/*
 * The test images the harness pushed (ctest/harness/mkimage.py writes their
 * digests to run/env), and the sha256 of a file, for the registry tests.
 */
#ifndef ISULA_CTEST_IMAGES_H
#define ISULA_CTEST_IMAGES_H

#include <stddef.h>

#define CTEST_MAX_LAYERS 8

/* an image as mkimage.py built it (keys PREFIX_DIGEST, _CONFIG, _LAYERS, _LAYER_SIZES) */
struct ctest_image {
    const char *name;
    const char *digest;
    const char *config;
    char *layers[CTEST_MAX_LAYERS];
    long long sizes[CTEST_MAX_LAYERS];
    size_t n;
};

/* Reads PREFIX_DIGEST, _CONFIG, _LAYERS, _LAYER_SIZES for img->name; 0 or -1. */
int ctest_load_image(struct ctest_image *img);
void ctest_free_image(struct ctest_image *img);

/* "sha256:<hex>" of a file's content into out; 0 or -1. */
int ctest_sha256_file(const char *path, char out[72]);

#endif
