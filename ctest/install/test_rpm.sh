#!/usr/bin/env bash
# test_rpm.sh REPO TARGET_DIR - packaging/isula-registry.spec builds with
# `rpmbuild -bb` and each package holds what it should.
#
# Built in place (the tree as it is, --without vendored: the crates in
# $CARGO_HOME, offline), reusing cargo's builds in TARGET_DIR and
# TARGET_DIR/isulad, the ones the C tests made. --nodeps: this is Debian, whose
# rpm database knows no BuildRequires. Checks: the spec's version is
# Cargo.toml's; the four packages' payloads (rpm -qlp) are exactly the lists
# below; the main package provides the soname; the -static archive is the
# default build and the -isulad-devel one the `isulad` feature build (it
# leaves the daemon's storage_* functions undefined).
set -euo pipefail
repo=${1:?usage: test_rpm.sh REPO TARGET_DIR}
target=${2:?}
command -v rpmbuild >/dev/null || { echo "test_rpm: rpmbuild missing (apt-get install rpm)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/isula-registry-rpm.XXXXXX")
failed=1
trap '[ "$failed" = 0 ] && rm -rf "$work" || echo "test_rpm: FAILED; files kept in $work" >&2' EXIT
fail() { echo "test_rpm: FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

spec=$repo/packaging/isula-registry.spec
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)
major=${version%%.*}
spec_version=$(sed -n 's/^Version: *//p' "$spec")
[ "$spec_version" = "$version" ] || fail "the spec says Version $spec_version, Cargo.toml $version"
grep -q "^%global sover $major\$" "$spec" || fail "the spec's sover is not $major"

cd "$repo"
start=$(date +%s)
if ! rpmbuild -bb --build-in-place --nodeps --without vendored \
  --define "_topdir $work/rpmbuild" --define "cargo_target_dir $target" \
  --define 'debug_package %{nil}' "$spec" > "$work/rpmbuild.log" 2>&1; then
  tail -n 60 "$work/rpmbuild.log" >&2
  fail "rpmbuild -bb failed (log: $work/rpmbuild.log)"
fi
ok "rpmbuild -bb in $(($(date +%s) - start)) s"

rpms=$work/rpmbuild/RPMS/$(rpm --eval '%{_arch}')
libdir=$(rpm --eval '%{_libdir}')
inc=$(rpm --eval '%{_includedir}')/isula-registry
docdir=$(rpm --eval '%{_defaultdocdir}')

# payload NAME EXPECTED... - rpm -qlp of NAME is exactly EXPECTED (build-ids aside)
payload() {
  local name=$1 file
  shift
  file=$rpms/$name-$version-1.$(rpm --eval '%{_arch}').rpm
  [ -f "$file" ] || fail "no $name package ($file)"
  rpm -qlp "$file" | grep -v '^/usr/lib/\.build-id' | sort > "$work/$name.got"
  printf '%s\n' "$@" | sort > "$work/$name.want"
  diff -u "$work/$name.want" "$work/$name.got" >&2 || fail "$name: unexpected payload"
  ok "$name: $(wc -l < "$work/$name.got") paths as listed"
}
payload isula-registry "$libdir/libisula_registry.so.$major" "$libdir/libisula_registry.so.$version" \
  "$docdir/isula-registry-$version" "$docdir/isula-registry-$version/README.md"
headers=()
for h in aes.h buffer.h http.h http_request.h isula_registry.h progress.h registry.h \
  registry_apiv2.h registry_type.h utils_timestamp.h; do
  headers+=("$inc/$h")
done
payload isula-registry-devel "$inc" "${headers[@]}" "$libdir/libisula_registry.so" \
  "$libdir/pkgconfig/isula-registry.pc" "$libdir/cmake/IsulaRegistry" \
  "$libdir/cmake/IsulaRegistry/IsulaRegistryConfig.cmake" \
  "$libdir/cmake/IsulaRegistry/IsulaRegistryConfigVersion.cmake"
payload isula-registry-static "$libdir/libisula_registry.a"
isulad_headers=()
for h in aes.h http_request.h registry.h registry_apiv2.h registry_type.h; do
  isulad_headers+=("$inc/isulad/$h")
done
payload isula-registry-isulad-devel "$inc" "$inc/isulad" "${isulad_headers[@]}" \
  "$libdir/isula-registry" "$libdir/isula-registry/isulad" \
  "$libdir/isula-registry/isulad/libisula_registry.a" "$libdir/pkgconfig/isula-registry-isulad.pc"

arch=$(rpm --eval '%{_arch}')
rpm -qp --provides "$rpms/isula-registry-$version-1.$arch.rpm" | grep -q "^libisula_registry.so.$major()(64bit)" ||
  fail "the main package does not provide libisula_registry.so.$major()(64bit)"
ok "isula-registry provides libisula_registry.so.$major()(64bit)"

# which build each archive is: the isulad one imports the daemon's storage
extract() { mkdir -p "$work/x/$1" && (cd "$work/x/$1" && rpm2cpio "$rpms/$1-$version-1.$arch.rpm" | cpio -idm --quiet); }
extract isula-registry-static
extract isula-registry-isulad-devel
nm -u "$work/x/isula-registry-isulad-devel$libdir/isula-registry/isulad/libisula_registry.a" \
  > "$work/isulad.nm" 2>/dev/null
grep -q ' U storage_layer_create$' "$work/isulad.nm" || fail "-isulad-devel's archive is not the isulad build"
nm -u "$work/x/isula-registry-static$libdir/libisula_registry.a" > "$work/static.nm" 2>/dev/null
if grep -q ' U storage_' "$work/static.nm"; then
  fail "-static's archive is the isulad build"
fi
ok "-static has the default build, -isulad-devel the isulad feature build"
failed=0
