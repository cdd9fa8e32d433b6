#!/usr/bin/env bash
# servers.sh start|stop DIR - bring up / tear down everything the C tests talk to:
# certificates (certs.sh), nginx (nginx.sh), the docker-registry instances
# (registry.sh: plain HTTP, HTTPS, HTTPS + Basic auth) and the test images pushed
# to them (images.sh, built by mkimage.py).
# Used by the CTest fixtures "servers" (setup/cleanup). start wipes DIR first;
# stop is idempotent and stops every server by the pid in its pid file.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

action=${1:?usage: servers.sh start|stop DIR}
dir=${2:?usage: servers.sh start|stop DIR}
check_run_dir "$dir"

stop_all() {
    local rc=0
    "$here/registry.sh" stop "$dir" || rc=1
    "$here/nginx.sh" stop "$dir" || rc=1
    return $rc
}

case "$action" in
    start)
        # leftovers of an interrupted earlier run; only wipe a directory we made
        if [ -d "$dir" ]; then
            if [ ! -e "$dir/.isula-ctest-run" ] && [ -n "$(ls -A "$dir")" ]; then
                die "servers.sh: $dir exists and is not a ctest run directory; refusing to wipe it"
            fi
            stop_all || true
            rm -rf "$dir"
        fi
        mkdir -p "$dir/tmp"
        touch "$dir/.isula-ctest-run"
        trap 'echo "servers.sh: start failed, stopping what was started" >&2; stop_all || true' ERR
        "$here/certs.sh" "$dir/certs"
        "$here/nginx.sh" start "$dir"
        "$here/registry.sh" start "$dir"
        "$here/images.sh" "$dir"
        env_set "$dir" TMP_DIR "$dir/tmp"
        trap - ERR
        echo "servers.sh: environment in $dir/env:"
        cat "$dir/env"
        ;;
    stop)
        stop_all
        ;;
    *)
        die "usage: servers.sh start|stop DIR"
        ;;
esac
