/*
 * fake_old_curl/curl/curl.h - NOT libcurl. A stand-in that pretends to be
 * libcurl 7.29 so that test_layout_oldcurl.c can compile http.h's
 * "LIBCURL_VERSION_NUM < 0x072000" branch (progressinfo/progress_info_op).
 * It only provides what http.h needs; nothing here may be linked with curl.
 */
#ifndef ISULA_CTEST_FAKE_OLD_CURL_H
#define ISULA_CTEST_FAKE_OLD_CURL_H

#define ISULA_CTEST_FAKE_OLD_CURL 1
#define LIBCURL_VERSION_NUM 0x071d00
#define LIBCURL_VERSION "7.29.0"

typedef long long curl_off_t;
typedef int CURLcode;
typedef void CURL;

#endif
