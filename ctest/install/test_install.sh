#!/usr/bin/env bash
# test_install.sh REPO TARGET_DIR RUN_DIR - the library installed as a C
# library is, and used the ways other projects use one.
#
# scripts/install.sh --no-build puts cargo's build in TARGET_DIR/release into
# a temporary prefix. Then:
#  - the files: .so.X.Y.Z with soname .so.X (readelf -d), the .so.X and .so
#    symlinks, the .a, headers only under include/isula-registry/, the .pc
#    and the CMake package;
#  - examples-c/pull compiled with `cc $(pkg-config --cflags --libs)` alone,
#    with find_package(IsulaRegistry) (shared), and with the static target;
#  - each binary needs libisula_registry.so.X (or nothing, static), loads the
#    copy in the prefix (ldd), reports the version, and pulls test/x:v1 from
#    the plain registry of the "servers" fixture (RUN_DIR/env).
set -euo pipefail
repo=${1:?usage: test_install.sh REPO TARGET_DIR RUN_DIR}
target=${2:?}
run=${3:?}
. "$run/env"
: "${REGISTRY_PORT:?no REGISTRY_PORT in $run/env}"

work=$(mktemp -d "$run/tmp/install.XXXXXX")
failed=1
trap '[ "$failed" = 0 ] && rm -rf "$work" || echo "test_install: FAILED; files kept in $work" >&2' EXIT
fail() { echo "test_install: FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
major=${version%%.*}
prefix=$work/usr
libdir=$prefix/lib
"$repo/scripts/install.sh" --no-build --target-dir "$target" --prefix "$prefix" --libdir "$libdir"

# --- the files ---------------------------------------------------------------------
[ -f "$libdir/libisula_registry.so.$version" ] && [ ! -L "$libdir/libisula_registry.so.$version" ] ||
  fail "no regular file libisula_registry.so.$version"
[ "$(readlink "$libdir/libisula_registry.so.$major")" = "libisula_registry.so.$version" ] ||
  fail "libisula_registry.so.$major is not a symlink to libisula_registry.so.$version"
[ "$(readlink "$libdir/libisula_registry.so")" = "libisula_registry.so.$major" ] ||
  fail "libisula_registry.so is not a symlink to libisula_registry.so.$major"
soname=$(readelf -d "$libdir/libisula_registry.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libisula_registry.so.$major" ] || fail "soname is '$soname', expected libisula_registry.so.$major"
[ -f "$libdir/libisula_registry.a" ] || fail "no libisula_registry.a"
for h in registry.h registry_type.h registry_apiv2.h http.h http_request.h buffer.h progress.h \
  aes.h utils_timestamp.h isula_registry.h; do
  [ -f "$prefix/include/isula-registry/$h" ] || fail "no include/isula-registry/$h"
done
loose=$(find "$prefix/include" -maxdepth 1 -type f)
[ -z "$loose" ] || fail "headers straight in include/: $loose"
[ -f "$libdir/pkgconfig/isula-registry.pc" ] || fail "no isula-registry.pc"
[ -f "$libdir/cmake/IsulaRegistry/IsulaRegistryConfig.cmake" ] || fail "no IsulaRegistryConfig.cmake"
ok "installed: soname $soname, symlinks, .a, headers under include/isula-registry, .pc, CMake package"

# check_pull NAME BINARY NEEDED - the binary's DT_NEEDED, the library it loads,
# its version, and a pull with it
check_pull() {
  local name=$1 bin=$2 needed=$3 store="$work/store-$1" got
  got=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(libisula_registry[^]]*\)\].*/\1/p')
  [ "$got" = "$needed" ] || fail "$name: needs '$got', expected '$needed'"
  if [ -n "$needed" ]; then
    ldd "$bin" > "$work/$name.ldd"
    grep -qF "libisula_registry.so.$major => $libdir/libisula_registry.so.$major" "$work/$name.ldd" ||
      { cat "$work/$name.ldd" >&2; fail "$name: does not load the library from $libdir"; }
  fi
  "$bin" --version | tee "$work/$name.version"
  grep -q "isula-registry $version (built with headers $version)" "$work/$name.version" ||
    fail "$name: --version does not say $version"
  timeout 120 "$bin" --root "$store" --insecure --progress plain "127.0.0.1:$REGISTRY_PORT/test/x:v1" x:v1 \
    > "$work/$name.out" 2>&1 || { cat "$work/$name.out" >&2; fail "$name: the pull failed"; }
  grep -q '"org.opencontainers.image.ref.name": *"x:v1"' "$store/index.json" ||
    fail "$name: the store does not name x:v1"
  ok "$name: needs ${needed:-no libisula_registry (static)}, version $version, pulled test/x:v1"
}

# --- pkg-config alone ----------------------------------------------------------------
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion isula-registry)" = "$version" ] || fail "pkg-config --modversion"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$work/pull-pkgconfig" "$repo/examples-c/pull.c" \
  $(pkg-config --cflags --libs isula-registry)
LD_LIBRARY_PATH=$libdir check_pull pkgconfig "$work/pull-pkgconfig" "libisula_registry.so.$major"

# --- find_package(IsulaRegistry) -----------------------------------------------------
for kind in shared static; do
  static=OFF
  [ "$kind" = static ] && static=ON
  cmake -S "$repo/examples-c" -B "$work/cmake-$kind" -DCMAKE_BUILD_TYPE=Release \
    -DISULA_REGISTRY_FIND_PACKAGE=ON -DISULA_REGISTRY_STATIC=$static -DCMAKE_PREFIX_PATH="$prefix" \
    > "$work/cmake-$kind.log" 2>&1 || { cat "$work/cmake-$kind.log" >&2; fail "cmake ($kind) failed"; }
  cmake --build "$work/cmake-$kind" >> "$work/cmake-$kind.log" 2>&1 ||
    { cat "$work/cmake-$kind.log" >&2; fail "building with find_package ($kind) failed"; }
done
check_pull find_package "$work/cmake-shared/pull" "libisula_registry.so.$major"
check_pull find_package_static "$work/cmake-static/pull" ""
failed=0
