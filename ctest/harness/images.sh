#!/usr/bin/env bash
# images.sh DIR - build the test images (mkimage.py, OCI layout in DIR/images/layout)
# and push them with skopeo to the registries registry.sh started:
#   plain REGISTRY_PORT:      test/x:v1 (gzip), test/x:zstd, test/x:plain, test/multi:v1
#                             (OCI index: linux/amd64 + linux/arm64/v8)
#   tls   REGISTRY_TLS_PORT:  test/x:v1 (pushed with the CA of DIR/certs.d)
#   auth  REGISTRY_AUTH_PORT: test/x:v1 (pushed as REGISTRY_AUTH_USER)
# Digests are preserved (--preserve-digests), so the IMG_* / MULTI_* keys that
# mkimage.py writes into DIR/env are what the registries serve.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

dir=${1:?usage: images.sh DIR}
check_run_dir "$dir"

command -v skopeo >/dev/null 2>&1 || die "images.sh: skopeo is missing"
command -v zstd >/dev/null 2>&1 || die "images.sh: zstd (the command) is missing"
command -v python3 >/dev/null 2>&1 || die "images.sh: python3 is missing"

plain=$(env_get "$dir" REGISTRY_PORT)
tls=$(env_get "$dir" REGISTRY_TLS_PORT)
auth=$(env_get "$dir" REGISTRY_AUTH_PORT)
user=$(env_get "$dir" REGISTRY_AUTH_USER)
password=$(env_get "$dir" REGISTRY_AUTH_PASSWORD)
[ -n "$plain" ] && [ -n "$tls" ] && [ -n "$auth" ] || die "images.sh: start registry.sh first"

layout=$dir/images/layout
rm -rf "$dir/images"
mkdir -p "$dir/images/tmp"
python3 "$here/mkimage.py" "$layout" "$dir/images/images.env"

# skopeo: no system policy, auth file or temp dir of the host is involved
export TMPDIR=$dir/images/tmp
export REGISTRY_AUTH_FILE=$dir/images/auth.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$dir/images/policy.json"

push() { # SRC_TAG DEST [skopeo options...]
    local src=$1 dest=$2
    shift 2
    if ! skopeo --policy "$dir/images/policy.json" copy -q --preserve-digests "$@" \
            "oci:$layout:$src" "docker://$dest" >"$dir/images/skopeo.log" 2>&1; then
        cat "$dir/images/skopeo.log" >&2
        die "images.sh: skopeo copy oci:$layout:$src docker://$dest failed"
    fi
    echo "images.sh: pushed $src to $dest"
}

push gzip "127.0.0.1:$plain/test/x:v1" --dest-tls-verify=false
push zstd "127.0.0.1:$plain/test/x:zstd" --dest-tls-verify=false
push plain "127.0.0.1:$plain/test/x:plain" --dest-tls-verify=false
push multi "127.0.0.1:$plain/test/multi:v1" --dest-tls-verify=false --all
push gzip "127.0.0.1:$tls/test/x:v1" --dest-cert-dir "$dir/certs.d/127.0.0.1:$tls"
push gzip "127.0.0.1:$auth/test/x:v1" --dest-cert-dir "$dir/certs.d/127.0.0.1:$auth" \
    --dest-creds "$user:$password"

# the served digests must be the built ones
check() { # URL EXPECTED [curl options...]
    local url=$1 want=$2 got
    shift 2
    got=$(curl -sf --max-time 10 "$@" -o /dev/null -D - \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -H 'Accept: application/vnd.oci.image.index.v1+json' "$url" |
        tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p' || true)
    [ "$got" = "$want" ] || die "images.sh: $url has digest '$got', expected '$want'"
}
while IFS='=' read -r key value; do
    [ -n "$key" ] && env_set "$dir" "$key" "$value"
done < "$dir/images/images.env"
check "http://127.0.0.1:$plain/v2/test/x/manifests/v1" "$(env_get "$dir" IMG_GZIP_DIGEST)"
check "http://127.0.0.1:$plain/v2/test/x/manifests/zstd" "$(env_get "$dir" IMG_ZSTD_DIGEST)"
check "http://127.0.0.1:$plain/v2/test/x/manifests/plain" "$(env_get "$dir" IMG_PLAIN_DIGEST)"
check "http://127.0.0.1:$plain/v2/test/multi/manifests/v1" "$(env_get "$dir" MULTI_DIGEST)"
check "https://127.0.0.1:$tls/v2/test/x/manifests/v1" "$(env_get "$dir" IMG_GZIP_DIGEST)" \
    --cacert "$dir/certs/ca.crt"
check "https://127.0.0.1:$auth/v2/test/x/manifests/v1" "$(env_get "$dir" IMG_GZIP_DIGEST)" \
    --cacert "$dir/certs/ca.crt" -u "$user:$password"
rm -rf "$dir/images/tmp" "$REGISTRY_AUTH_FILE"
echo "images.sh: images pushed and checked"
