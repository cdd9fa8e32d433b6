#!/usr/bin/env bash
# setup.sh RUN_DIR - fixture setup of the isulad contract test (CTest fixture
# "isulad_images", after the "servers" fixture): builds the test image with
# mkimage.py and pushes it with skopeo (digests preserved) to the plain-HTTP
# docker-registry of the servers fixture as isulad/img:v1. Everything it
# writes is under RUN_DIR/isulad (image.env, config.json, manifest.json).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../harness/lib.sh
. "$here/../harness/lib.sh"

dir=${1:?usage: setup.sh RUN_DIR}
check_run_dir "$dir"
command -v skopeo >/dev/null 2>&1 || die "isulad/setup.sh: skopeo is missing"
command -v python3 >/dev/null 2>&1 || die "isulad/setup.sh: python3 is missing"
port=$(env_get "$dir" REGISTRY_PORT)
[ -n "$port" ] || die "isulad/setup.sh: no REGISTRY_PORT in $dir/env (start the servers fixture first)"

work=$dir/isulad
rm -rf "$work"
mkdir -p "$work/tmp"
python3 "$here/mkimage.py" "$work/layout" "$work"

# skopeo: no system policy, auth file or temp dir of the host is involved
export TMPDIR=$work/tmp
export REGISTRY_AUTH_FILE=$work/auth.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$work/policy.json"
dest="127.0.0.1:$port/isulad/img:v1"
if ! skopeo --policy "$work/policy.json" copy -q --preserve-digests --dest-tls-verify=false \
        "oci:$work/layout:v1" "docker://$dest" > "$work/skopeo.log" 2>&1; then
    cat "$work/skopeo.log" >&2
    die "isulad/setup.sh: skopeo copy to $dest failed"
fi

# the registry must serve the manifest we built
want=$(sed -n 's/^ISULAD_MANIFEST_DIGEST=//p' "$work/image.env")
got=$(curl -sf --max-time 10 -o /dev/null -D - \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$port/v2/isulad/img/manifests/v1" |
    tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p' || true)
[ "$got" = "$want" ] || die "isulad/setup.sh: $dest has digest '$got', expected '$want'"
rm -rf "$work/tmp" "$work/layout" "$REGISTRY_AUTH_FILE"
echo "isulad/setup.sh: pushed $dest ($want)"
cat "$work/image.env"
