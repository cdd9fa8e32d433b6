# throttled.sh - sourced by progress.sh and client_progress.sh (after ctest/harness/lib.sh and
# daemons.sh): the run directory, its cleanup, the registries, and faultproxy.py in front of
# the plain registry at 1 MiB/s per connection, so that a pull of a few 4 MiB layers lasts
# long enough to watch; then an image of such layers pushed to it.

# throttled_start NAME TEMPLATE - $run (CHECK_RUN_DIR, or mktemp TEMPLATE), emptied on exit
# unless KEEP=1, with the registries and the proxy started; sets run, tmux_sock, PLAIN, PROXY.
throttled_start() {
    throttled_name=$1
    if [ -n "${CHECK_RUN_DIR:-}" ]; then
        run=$CHECK_RUN_DIR
        [ ! -e "$run" ] || die "$throttled_name: $run exists; give a new directory"
        mkdir -p "$run"
    else
        run=$(mktemp -d "$2")
    fi
    check_run_dir "$run"
    tmux_sock=$run/tmux.sock
    trap throttled_cleanup EXIT
    trap 'exit 130' INT TERM
    "$harness/certs.sh" "$run/certs" >/dev/null || die "$throttled_name: certificates"
    "$here/registries.sh" start "$run" || die "$throttled_name: registries"
    PLAIN=$(env_get "$run" PLAIN_PORT)
    PROXY=$(pick_free_port "$PLAIN")
    python3 "$here/faultproxy.py" "$PROXY" "$PLAIN" "$run/proxy.log" --resets 0 --rate 1048576 \
        </dev/null >"$run/proxy.out" 2>&1 &
    echo $! > "$run/proxy.pid"
}

throttled_cleanup() {
    tmux -S "$tmux_sock" kill-server 2>/dev/null || true
    daemon_stop_all
    [ -f "$run/proxy.pid" ] && stop_pid faultproxy "$(cat "$run/proxy.pid")"
    "$here/registries.sh" stop "$run" >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "$throttled_name: run directory kept: $run"; else rm -rf "$run"; fi
}

# throttled_push LAYERS REPO - an image of LAYERS x 4 MiB pushed as 127.0.0.1:$PLAIN/REPO; sets
# layers (its layer digests, comma-separated), config (its config digest) and img (its name
# through the proxy).
throttled_push() {
    python3 "$here/../../bench/mkisulad-images.py" "$run/layout" "$1" 4 1 1 ||
        die "$throttled_name: images"
    echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$run/policy.json"
    TMPDIR=$run skopeo --policy "$run/policy.json" copy -q --preserve-digests --dest-tls-verify=false \
        "oci:$run/layout:big" "docker://127.0.0.1:$PLAIN/$2" || die "$throttled_name: push"
    read -r layers config < <(skopeo inspect --raw "oci:$run/layout:big" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(",".join(l["digest"] for l in m["layers"]), m["config"]["digest"])')
    img=127.0.0.1:$PROXY/$2
}
