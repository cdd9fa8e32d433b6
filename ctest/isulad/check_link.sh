#!/usr/bin/env bash
# The library's archive linked as iSulad links its daemon.
#
# Beside libisula_registry.a (the `isulad` build) go stand-ins for what stays
# in the daemon when the C registry module goes:
#   - objects in the executable: iSulad's registry_type.c
#     (daemon/consumers/registry_type.c) and the daemon functions the library
#     imports (fake_daemon.c: storage_*, progress map, error message, log shim);
#   - shared libraries: libhttpclient.so (daemon/libhttpclient.c) and libisula
#     (daemon/libisula.c).
# The whole archive is linked in (--whole-archive, stricter than the daemon's
# link, which takes only the members it needs) with iSulad's executable flags
# (-pie -rdynamic, cmake/set_build_flags.cmake), so a symbol defined twice
# or defined nowhere fails the link. Against the shared stand-ins a second
# definition is no link error but an interposition: the names the archive
# shares with them must be exactly the ones README.md documents.
# usage: check_link.sh CC ARCHIVE REPO_INCLUDE_DIR WORK_DIR
set -euo pipefail
cc=$1 archive=$2 include=$3 work=$4
here=$(cd "$(dirname "$0")" && pwd)

# README.md, "Linking into iSulad": what the library takes over from libhttpclient.
interposed="authz_http_request buffer_alloc buffer_append buffer_empty buffer_free buffer_strlen
free_http_get_options http_global_cleanup http_global_init http_request"

rm -rf "$work" && mkdir -p "$work"
cflags=(-fPIC -O2 -Wall -Werror -DENABLE_IMAGE_SEARCH -DISULA_REGISTRY_ISULAD -DISULA_REGISTRY_USE_LIBISULA)
daemon_inc=(-I"$here/daemon/include" -I"$include")

"$cc" "${cflags[@]}" -shared -o "$work/libhttpclient.so" "$here/daemon/libhttpclient.c"
"$cc" "${cflags[@]}" "${daemon_inc[@]}" -shared -o "$work/libisula.so" "$here/daemon/libisula.c"
"$cc" "${cflags[@]}" "${daemon_inc[@]}" -c -o "$work/registry_type.o" "$here/daemon/consumers/registry_type.c"
"$cc" "${cflags[@]}" -I"$include" -c -o "$work/fake_daemon.o" "$here/fake_daemon.c"
"$cc" "${cflags[@]}" "${daemon_inc[@]}" -c -o "$work/link_main.o" "$here/daemon/link_main.c"

if ! "$cc" -pie -rdynamic -Wl,-E -o "$work/isulad-link" \
    "$work/link_main.o" "$work/registry_type.o" "$work/fake_daemon.o" \
    -Wl,--whole-archive "$archive" -Wl,--no-whole-archive \
    "$work/libhttpclient.so" "$work/libisula.so" -Wl,-rpath,"$work" \
    $(pkg-config --libs libcurl libzstd openssl) -lpthread -ldl -lm 2>"$work/link.err"; then
  grep -oE "(multiple definition of|undefined reference to) \`[^']+'" "$work/link.err" | sort -u | head -40 >&2 ||
    cat "$work/link.err" >&2
  echo "FAIL: the archive does not link as the daemon links it (duplicate or missing symbols above)" >&2
  exit 1
fi
echo "ok   links with iSulad's registry_type.c, libhttpclient and libisula beside it"

defined() { nm -D --defined-only "$1" | awk '$2 ~ /^[TWDBRV]$/ {print $3}' | sort -u; }
defined "$work/isulad-link" >"$work/exe.syms"
status=0
shared_http=$(comm -12 "$work/exe.syms" <(defined "$work/libhttpclient.so") | tr '\n' ' ')
if [ "$(echo $shared_http)" != "$(echo $interposed)" ]; then
  echo "FAIL: the archive shares with libhttpclient: $shared_http" >&2
  echo "      README.md documents: $(echo $interposed)" >&2
  status=1
else
  echo "ok   takes over from libhttpclient exactly: $(echo $interposed)"
fi
shared_isula=$(comm -12 "$work/exe.syms" <(defined "$work/libisula.so") | tr '\n' ' ')
if [ -n "$shared_isula" ]; then
  echo "FAIL: the archive defines what libisula defines: $shared_isula" >&2
  status=1
else
  echo "ok   defines nothing of libisula's"
fi
"$work/isulad-link" || status=1
exit $status
