/*
 * util.c - helpers for the isula-registry C tests (see util.h).
 */
#define _GNU_SOURCE
#include "util.h"
#include "env.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

char *ctest_sprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return out;
}

char *ctest_strdup(const char *s)
{
    char *r = strdup(s);

    if (r == NULL) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return r;
}

char *ctest_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    size_t used = 0;

    if (f == NULL) {
        return NULL;
    }
    for (;;) {
        size_t n;

        if (cap - used < 65536 + 1) {
            size_t ncap = cap == 0 ? 131072 : cap * 2;
            char *tmp = realloc(buf, ncap);

            if (tmp == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = tmp;
            cap = ncap;
        }
        n = fread(buf + used, 1, 65536, f);
        used += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[used] = '\0';
    if (len != NULL) {
        *len = used;
    }
    return buf;
}

int ctest_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ret = 0;

    if (f == NULL) {
        return -1;
    }
    if (len > 0 && fwrite(data, 1, len, f) != len) {
        ret = -1;
    }
    if (fclose(f) != 0) {
        ret = -1;
    }
    return ret;
}

long long ctest_file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        return -1;
    }
    return (long long)st.st_size;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP) {
        return rmdir(path);
    }
    return unlink(path);
}

int ctest_rm_rf(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        return errno == ENOENT ? 0 : -1;
    }
    return nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

char *ctest_tmp_path(const char *name)
{
    return ctest_sprintf("%s/%s-%ld", ctest_env_req("TMP_DIR"), name, (long)getpid());
}

char **ctest_str_array(const char *first, ...)
{
    va_list ap;
    size_t n = 0;
    size_t i;
    const char *s;
    char **arr;

    va_start(ap, first);
    for (s = first; s != NULL; s = va_arg(ap, const char *)) {
        n++;
    }
    va_end(ap);
    arr = calloc(n + 1, sizeof(char *));
    if (arr == NULL) {
        abort();
    }
    va_start(ap, first);
    i = 0;
    for (s = first; s != NULL; s = va_arg(ap, const char *)) {
        arr[i++] = ctest_strdup(s);
    }
    va_end(ap);
    return arr;
}

int ctest_refusing_port(int *port)
{
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}
