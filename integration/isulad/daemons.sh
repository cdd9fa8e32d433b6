# daemons.sh - sourced by check.sh and bench/isulad.sh: run installed iSulad daemons, each
# with its own root, state directory, socket and pid file under $run/NAME, started and
# stopped by pid. Needs ctest/harness/lib.sh sourced, $run, $isula (the client) and
# optionally $ISULAD_LD_LIBRARY_PATH (extra library directories, e.g. lcr's).

declare -A daemon_prefix
daemon_pids=()

daemon_ld_path() { # PREFIX
    echo "${ISULAD_LD_LIBRARY_PATH:+$ISULAD_LD_LIBRARY_PATH:}$1/lib"
}

daemon_sock() { # NAME
    echo "unix://$run/$1/isulad.sock"
}

# daemon_start NAME PREFIX [INSECURE_REGISTRY...] - PREFIX/bin/isulad, logging to $run/NAME/isulad.log
daemon_start() {
    local who=$1 p=$2 d=$run/$1 pid i r
    shift 2
    local args=()
    for r in "$@"; do args+=(--insecure-registry "$r"); done
    daemon_prefix[$who]=$p
    mkdir -p "$d/root" "$d/state"
    # gRPC builds serve CRI streams on 127.0.0.1:10350 by default: one port per daemon
    # (iSulad takes 1024-49151 only)
    local ws
    for _ in $(seq 1 100); do
        ws=$(shuf -i 20000-49151 -n 1)
        port_in_use "$ws" || break
    done
    args+=(--websocket-server-listening-port "$ws")
    PATH=$p/bin:$PATH LD_LIBRARY_PATH=$(daemon_ld_path "$p") "$p/bin/isulad" -g "$d/root" -S "$d/state" \
        -H "$(daemon_sock "$who")" -p "$d/isulad.pid" -G root --log-driver stdout -l INFO "${args[@]}" \
        </dev/null >"$d/isulad.log" 2>&1 &
    pid=$!
    daemon_pids+=("$pid")
    echo "$pid" > "$d/pid"
    for i in $(seq 1 300); do
        pid_alive "$pid" || break
        if daemon_cli "$who" version >/dev/null 2>&1; then
            echo "daemons.sh: $who isulad pid $pid ($p/bin/isulad)"
            return 0
        fi
        sleep 0.1
    done
    tail -n 30 "$d/isulad.log" >&2
    die "daemons.sh: the $who daemon did not start (log: $d/isulad.log)"
}

# daemon_cli NAME SUBCOMMAND [ARGS...] - the isula client on that daemon's socket
daemon_cli() {
    local who=$1 sub=$2
    shift 2
    LD_LIBRARY_PATH=$(daemon_ld_path "${daemon_prefix[$who]}") timeout 600 "$isula" "$sub" \
        -H "$(daemon_sock "$who")" "$@"
}

daemon_pid() { # NAME
    cat "$run/$1/pid"
}

# daemon_stop_all - SIGTERM (then SIGKILL) every daemon started here, then undo the overlay
# mounts they left under $run
daemon_stop_all() {
    local p m
    for p in "${daemon_pids[@]}"; do
        stop_pid isulad "$p" || true
    done
    daemon_pids=()
    grep -o " $run/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
        umount -l "$m" || true
    done
}
