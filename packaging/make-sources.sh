#!/usr/bin/env bash
# make-sources.sh [OUTDIR] - the spec's two sources from the committed tree:
#   isula-registry-VERSION.tar.gz         git archive of HEAD
#   isula-registry-VERSION-vendor.tar.gz  the locked crates (cargo vendor), as vendor/
# then: rpmbuild -ta is not enough (two sources); put both in SOURCES and
# rpmbuild -bb packaging/isula-registry.spec.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-.}" && cd "${1:-.}" && pwd)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n1)
cd "$root"
git archive --format=tar.gz --prefix="isula-registry-$version/" -o "$out/isula-registry-$version.tar.gz" HEAD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo vendor --locked --quiet "$tmp/vendor" > /dev/null
tar -czf "$out/isula-registry-$version-vendor.tar.gz" -C "$tmp" vendor
echo "make-sources.sh: $out/isula-registry-$version.tar.gz $out/isula-registry-$version-vendor.tar.gz"
