#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
# fuzz/run.sh --all SECONDS      (every target, SECONDS each: what CI runs)
# fuzz/run.sh --build            (builds every target, runs none)
# Builds the targets with libFuzzer (libfuzzer-sys) and the coverage
# instrumentation cargo-fuzz sets, on the stable toolchain, then runs
# TARGET for SECONDS on fuzz/corpus/TARGET. New inputs go to a scratch
# corpus (fuzz/target/new-corpus/TARGET: copy the small ones into
# corpus/ by hand); a crash is written to fuzz/artifacts/TARGET/ and
# fails the script.
set -euo pipefail
cd "$(dirname "$0")"

triple=$(rustc -vV | sed -n 's/^host: //p')
# sancov as cargo-fuzz sets it, minus the sanitizer (which needs nightly);
# --target keeps these flags away from build scripts.
export RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=3 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --locked --release --target "$triple" --bins
bin=target/$triple/release

[ "${1:-}" = "--build" ] && exit 0
if [ "${1:-}" = "--all" ]; then
  [ $# -eq 2 ] || { echo "usage: fuzz/run.sh --all SECONDS" >&2; exit 2; }
  for t in reference challenge manifest token auths digester; do
    echo "fuzz: $t for $2 s"
    # a summary line per target; the whole output when it fails
    log=$(mktemp)
    if "$0" "$t" "$2" >"$log" 2>&1; then
      grep -E '^#[0-9]+.*DONE' "$log" | tail -1 || true
      rm -f "$log"
    else
      cat "$log" >&2
      rm -f "$log"
      echo "fuzz: $t failed: the input is in fuzz/artifacts/$t/" >&2
      exit 1
    fi
  done
  exit 0
fi
if [ $# -lt 2 ]; then
  echo "usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags...] | fuzz/run.sh --build" >&2
  exit 2
fi
target=$1 seconds=$2
shift 2
[ -x "$bin/$target" ] || { echo "no fuzz target '$target' (see fuzz/Cargo.toml)" >&2; exit 2; }

new=target/new-corpus/$target
mkdir -p "$new" "artifacts/$target" "corpus/$target"
# the auths target keeps its store here; removed whatever happens
scratch=$(mktemp -d "${TMPDIR:-/tmp}/isula-fuzz-$target.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
TMPDIR=$scratch "$bin/$target" "$new" "corpus/$target" \
  -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
  -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$@"
