#!/usr/bin/env bash
# Installs isula-registry as C libraries are installed:
#   LIBDIR/libisula_registry.so.X.Y.Z, .so.X (the soname), .so (for -l)
#   LIBDIR/libisula_registry.a
#   INCLUDEDIR/isula-registry/*.h           (never INCLUDEDIR itself: iSulad's
#                                            generic names such as http.h)
#   LIBDIR/pkgconfig/isula-registry.pc
#   LIBDIR/cmake/IsulaRegistry/             (find_package(IsulaRegistry))
# and, with --isulad-archive, the `isulad` feature build for iSulad's daemon:
#   LIBDIR/isula-registry/isulad/libisula_registry.a
#   INCLUDEDIR/isula-registry/isulad/       (the headers the daemon takes)
#   LIBDIR/pkgconfig/isula-registry-isulad.pc
#
#   scripts/install.sh [--prefix /usr/local] [--libdir DIR] [--includedir DIR]
#                      [--destdir DIR] [--target-dir DIR] [--no-build]
#                      [--isulad-archive FILE]
#
# Builds with `cargo build --release --locked` first unless --no-build.
# DESTDIR (or --destdir) stages the files for a package; the paths written
# into the .pc and CMake files are the final ones, without it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

prefix=/usr/local libdir= includedir= destdir=${DESTDIR:-} build=1 isulad_archive=
target_dir=${CARGO_TARGET_DIR:-$root/target}
usage() { sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    --prefix) prefix=$2; shift ;;
    --libdir) libdir=$2; shift ;;
    --includedir) includedir=$2; shift ;;
    --destdir) destdir=$2; shift ;;
    --target-dir) target_dir=$2; shift ;;
    --isulad-archive) isulad_archive=$2; shift ;;
    --no-build) build=0 ;;
    -h | --help) usage ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
libdir=${libdir:-$prefix/lib}
includedir=${includedir:-$prefix/include}
for d in "$prefix" "$libdir" "$includedir"; do
  case $d in
    /*) ;;
    *) echo "install.sh: $d must be an absolute path" >&2; exit 2 ;;
  esac
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
major=${version%%.*}
[ -n "$version" ] || { echo "install.sh: no version in Cargo.toml" >&2; exit 1; }

if ((build)); then
  (cd "$root" && CARGO_TARGET_DIR=$target_dir cargo build --release --locked)
fi
rel=$target_dir/release
for f in "$rel/libisula_registry.so" "$rel/libisula_registry.a"; do
  [ -f "$f" ] || { echo "install.sh: $f is missing: build first (cargo build --release) or drop --no-build" >&2; exit 1; }
done
if [ -n "$isulad_archive" ] && [ ! -f "$isulad_archive" ]; then
  echo "install.sh: $isulad_archive is missing: cargo build --release --features isulad" >&2
  exit 1
fi

subst() {
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" -e "s|@INCLUDEDIR@|$includedir|g" \
    -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" "$1"
}

L=$destdir$libdir I=$destdir$includedir/isula-registry
install -d "$L" "$L/pkgconfig" "$L/cmake/IsulaRegistry" "$I"
install -m 0755 "$rel/libisula_registry.so" "$L/libisula_registry.so.$version"
ln -sfn "libisula_registry.so.$version" "$L/libisula_registry.so.$major"
ln -sfn "libisula_registry.so.$major" "$L/libisula_registry.so"
install -m 0644 "$rel/libisula_registry.a" "$L/libisula_registry.a"
install -m 0644 "$root"/include/*.h "$I/"
subst "$root/packaging/isula-registry.pc.in" >"$L/pkgconfig/isula-registry.pc"
subst "$root/packaging/IsulaRegistryConfig.cmake.in" >"$L/cmake/IsulaRegistry/IsulaRegistryConfig.cmake"
subst "$root/packaging/IsulaRegistryConfigVersion.cmake.in" >"$L/cmake/IsulaRegistry/IsulaRegistryConfigVersion.cmake"
chmod 0644 "$L/pkgconfig/isula-registry.pc" "$L"/cmake/IsulaRegistry/*.cmake

if [ -n "$isulad_archive" ]; then
  # progress.h and utils_timestamp.h stay out: they share include guards
  # with the daemon's own, which must win.
  install -d "$L/isula-registry/isulad" "$I/isulad"
  install -m 0644 "$isulad_archive" "$L/isula-registry/isulad/libisula_registry.a"
  for h in registry.h registry_type.h registry_apiv2.h http_request.h aes.h; do
    install -m 0644 "$root/include/$h" "$I/isulad/$h"
  done
  subst "$root/packaging/isula-registry-isulad.pc.in" >"$L/pkgconfig/isula-registry-isulad.pc"
  chmod 0644 "$L/pkgconfig/isula-registry-isulad.pc"
fi
echo "install.sh: isula-registry $version installed into ${destdir}$prefix (libdir $libdir)"
