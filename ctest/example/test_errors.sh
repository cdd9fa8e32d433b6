#!/usr/bin/env bash
# test_errors.sh PULL RUN_DIR - how examples-c/pull fails.
#
# A tag the registry does not have: exit status 1, `manifest unknown` in the
# output (plain: `Error: manifest unknown: ...` on stdout; quiet: `pull:
# manifest unknown...` on stderr, stdout empty), nothing stored, .ingest clean.
# Bad command lines (unknown option, unknown progress mode, no image): exit
# status 2 and the usage on stderr, without touching the network or a store.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

# run_pull OUT ERR ARGS... - run the pull, print its exit status
run_pull() {
    local out=$1 err=$2 rc
    shift 2
    set +e
    timeout 30 "$PULL" "$@" > "$out" 2> "$err" < /dev/null
    rc=$?
    set -e
    echo "$rc"
}

# --- missing tag ------------------------------------------------------------------------
root=$(new_root store)
missing="$REPO:no-such-tag"
for mode in plain quiet; do
    out="$WORK/missing-$mode.out" err="$WORK/missing-$mode.err"
    rc=$(run_pull "$out" "$err" --progress "$mode" --insecure --root "$root" "$missing")
    echo "== pull --progress $mode $missing: status $rc"
    show stdout "$out"
    show stderr "$err"
    [ "$rc" = 1 ] || fail "$mode: exit status $rc for a missing tag, expected 1"
    grep -q 'manifest unknown' "$out" "$err" || fail "$mode: no 'manifest unknown' in the output"
    if [ "$mode" = quiet ]; then
        [ ! -s "$out" ] || fail "quiet: something on stdout for a failed pull"
        grep -q '^pull: .*manifest unknown' "$err" || fail "quiet: the error is not on stderr"
    else
        grep -q '^Error: manifest unknown' "$out" || fail "plain: no 'Error: manifest unknown' line"
        grep -q '^Digest:\|^Status:' "$out" && fail "plain: a Digest/Status line for a failed pull"
    fi
    ingest_clean "$root" || fail "$mode: temp files left after a failed pull"
    if has_name "$root" "$missing"; then fail "$mode: the store names $missing"; fi
done
ok "missing tag: exit 1, 'manifest unknown', nothing stored"

# --- bad command lines ----------------------------------------------------------------
check_usage() {
    local what=$1 out="$WORK/usage.out" err="$WORK/usage.err" rc
    shift
    rc=$(run_pull "$out" "$err" "$@")
    echo "== pull $*: status $rc"
    show stderr "$err"
    [ "$rc" = 2 ] || fail "$what: exit status $rc, expected 2"
    grep -q '^usage: pull ' "$err" || fail "$what: no usage on stderr"
    [ ! -s "$out" ] || fail "$what: something on stdout"
    ok "$what: exit 2 with the usage"
}
check_usage "unknown option" --bogus-option --root "$WORK/never" "$IMAGE"
grep -q 'unknown option --bogus-option' "$WORK/usage.err" || fail "unknown option: not named in the message"
check_usage "unknown progress mode" --progress fancy --root "$WORK/never" "$IMAGE"
grep -q 'unknown progress mode fancy' "$WORK/usage.err" || fail "unknown progress mode: not named in the message"
check_usage "no image" --insecure --root "$WORK/never"
check_usage "three operands" "$IMAGE" name extra
[ ! -e "$WORK/never" ] || fail "a store was created for a bad command line"

# --help: the usage on stdout, status 0
rc=$(run_pull "$WORK/help.out" "$WORK/help.err" --help)
[ "$rc" = 0 ] && grep -q '^usage: pull ' "$WORK/help.out" || fail "--help: status $rc, expected 0 and the usage on stdout"
ok "--help: exit 0 with the usage on stdout"
