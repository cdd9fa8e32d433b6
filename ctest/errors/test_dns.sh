#!/usr/bin/env bash
# test_dns.sh PULL WORK - a registry name that does not resolve: examples-c/pull
# fails with exit status 1, says what to check, and leaves no temp files.
#
# Run in a network namespace of its own (unshare -n: only a loopback that is
# down), so the lookup fails here and no query leaves the machine. Exit 77
# (skipped) where namespaces cannot be made.
set -euo pipefail
pull=${1:?usage: test_dns.sh PULL WORK}
work=${2:?}
mkdir -p "$work"
dir=$(mktemp -d "$work/dns.XXXXXX")
trap 'rm -rf "$dir"' EXIT
if ! unshare -n true 2>/dev/null; then
  echo "skipped: unshare -n is not permitted here"
  exit 77
fi
set +e
timeout 120 unshare -n "$pull" --progress quiet --root "$dir/store" nowhere.invalid/test/x:v1 \
  > "$dir/out" 2> "$dir/err" < /dev/null
rc=$?
set -e
cat "$dir/err"
[ "$rc" = 1 ] || { echo "FAIL: exit status $rc, expected 1" >&2; exit 1; }
grep -q "cannot resolve nowhere.invalid: check the registry's name in the image name, and DNS" "$dir/err" ||
  { echo "FAIL: no advice about the name in the error" >&2; exit 1; }
leftovers=$(find "$dir/store/.ingest" -mindepth 1 ! -name index.lock 2>/dev/null)
[ -z "$leftovers" ] || { echo "FAIL: left behind: $leftovers" >&2; exit 1; }
echo "ok - unresolvable registry: exit 1, advice given, nothing left behind"
