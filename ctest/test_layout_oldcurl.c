/*
 * test_layout_oldcurl.c - compile http.h against a fake libcurl 7.29 header
 * (ctest/fake_old_curl, put first on the include path) and check that the old
 * branch is selected: `void *progressinfo`@120 and `progress_info_func
 * progress_info_op`@128, struct size still 136. Layout only; not linked to
 * the library.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

#include "common/check.h"

#ifndef ISULA_CTEST_FAKE_OLD_CURL
#error "test_layout_oldcurl.c must be compiled with -I ctest/fake_old_curl first"
#endif
_Static_assert(LIBCURL_VERSION_NUM == 0x071d00, "fake curl header not used");

#define FIELD_IS(T, f, type) _Generic(((T *)0)->f, type: 1, default: 0)

_Static_assert(sizeof(struct http_get_options) == 136, "sizeof(struct http_get_options)");
_Static_assert(offsetof(struct http_get_options, outputtype) == 1, "outputtype");
_Static_assert(offsetof(struct http_get_options, unix_socket_path) == 8, "unix_socket_path");
_Static_assert(offsetof(struct http_get_options, errcode) == 112, "errcode");
_Static_assert(offsetof(struct http_get_options, resume) == 116, "resume");
_Static_assert(offsetof(struct http_get_options, timeout) == 117, "timeout");
_Static_assert(offsetof(struct http_get_options, progressinfo) == 120, "progressinfo");
_Static_assert(offsetof(struct http_get_options, progress_info_op) == 128, "progress_info_op");
_Static_assert(FIELD_IS(struct http_get_options, progressinfo, void *), "progressinfo type");
_Static_assert(FIELD_IS(struct http_get_options, progress_info_op, progress_info_func), "progress_info_op type");

static int my_progress(void *p, double dltotal, double dlnow, double ultotal, double ulnow)
{
    (void)p;
    return (int)(dltotal + dlnow + ultotal + ulnow);
}

static void old_branch_layout(void)
{
    struct http_get_options o;
    progress_info_func f = my_progress;

    CHECK_INT(sizeof(struct http_get_options), 136);
    CHECK_INT(offsetof(struct http_get_options, progressinfo), 120);
    CHECK_INT(offsetof(struct http_get_options, progress_info_op), 128);
    CHECK_INT(offsetof(struct http_get_options, errcode), 112);
    CHECK_INT(offsetof(struct http_get_options, timeout), 117);

    memset(&o, 0, sizeof(o));
    o.show_progress = 1;
    o.progress_info_op = f;
    o.progressinfo = &o;
    CHECK(((unsigned char *)&o)[0] == 0x20);
    CHECK(o.progress_info_op(o.progressinfo, 1.0, 2.0, 3.0, 4.0) == 10);
}

int main(void)
{
    printf("http.h with fake libcurl 0x%06x (old progress callback branch)\n", (unsigned)LIBCURL_VERSION_NUM);
    RUN_CASE(old_branch_layout);
    return ctest_finish();
}
