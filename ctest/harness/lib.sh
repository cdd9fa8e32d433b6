#!/usr/bin/env bash
# lib.sh - helpers shared by the ctest server harness scripts (sourced, not run).
# Everything here only touches 127.0.0.1 and files under the run directory.

# die MSG... - print to stderr and exit 1
die() {
    echo "harness: $*" >&2
    exit 1
}

# check_run_dir DIR - the env file format has no quoting, refuse blanks
check_run_dir() {
    case "$1" in
        *[[:space:]]*) die "run directory must not contain whitespace: '$1'" ;;
        /*) ;;
        *) die "run directory must be an absolute path: '$1'" ;;
    esac
}

# port_in_use PORT - true when something listens on 127.0.0.1/any:PORT (TCP)
port_in_use() {
    [ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# pick_free_port [EXCLUDED...] - print a random high TCP port nobody listens on
pick_free_port() {
    local p tries=0 ex taken
    while [ "$tries" -lt 200 ]; do
        tries=$((tries + 1))
        p=$(shuf -i 20000-60999 -n 1)
        taken=0
        for ex in "$@"; do
            [ "$ex" = "$p" ] && taken=1
        done
        [ "$taken" = 1 ] && continue
        port_in_use "$p" && continue
        echo "$p"
        return 0
    done
    die "no free TCP port found"
}

# env_set DIR KEY VALUE - set KEY=VALUE in DIR/env (replace an existing KEY)
env_set() {
    local file="$1/env" key=$2 value=$3
    touch "$file"
    grep -v "^$key=" "$file" > "$file.tmp" || true
    printf '%s=%s\n' "$key" "$value" >> "$file.tmp"
    mv "$file.tmp" "$file"
}

# env_get DIR KEY - print the value of KEY from DIR/env (empty if missing)
env_get() {
    local file="$1/env"
    [ -f "$file" ] || return 0
    sed -n "s/^$2=//p" "$file" | tail -n 1
}

# pid_alive PID - true when PID exists and is not a zombie
pid_alive() {
    local st
    [ -n "$1" ] || return 1
    kill -0 "$1" 2>/dev/null || return 1
    st=$(ps -o stat= -p "$1" 2>/dev/null || true)
    case "$st" in
        Z*|"") return 1 ;;
    esac
    return 0
}

# stop_pid NAME PID [CHILDREN...] - SIGTERM, wait up to 10 s, then SIGKILL
stop_pid() {
    local name=$1 pid=$2 i c
    shift 2
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        echo "harness: $name (pid $pid) ignored SIGTERM, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    for c in "$@"; do
        if pid_alive "$c"; then
            kill -KILL "$c" 2>/dev/null || true
        fi
    done
    for i in $(seq 1 50); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    echo "harness: $name (pid $pid) is still alive" >&2
    return 1
}
