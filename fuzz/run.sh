#!/usr/bin/env bash
# fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
# fuzz/run.sh --all SECONDS      (every target, SECONDS each: what CI runs)
# fuzz/run.sh --build            (builds every target, runs none)
# Builds the targets with libFuzzer (libfuzzer-sys) and the coverage
# instrumentation cargo-fuzz sets, on the stable toolchain, then runs
# TARGET for SECONDS on fuzz/corpus/TARGET. New inputs go to a scratch
# corpus (fuzz/target/new-corpus/TARGET: merge the useful ones into
# corpus/, see README.md); a crash is written to fuzz/artifacts/TARGET/
# and fails the script.
set -euo pipefail
cd "$(dirname "$0")"

targets=(reference challenge manifest token auths digester)
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

# run TARGET SECONDS [flags...]
run() {
  local target=$1 seconds=$2
  shift 2
  [ -x "$bin/$target" ] || { echo "no fuzz target '$target' (see fuzz/Cargo.toml)" >&2; return 2; }
  local new=target/new-corpus/$target scratch status=0
  mkdir -p "$new" "artifacts/$target" "corpus/$target"
  # the auths target keeps its store here
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/isula-fuzz-$target.XXXXXX")
  TMPDIR=$scratch "$bin/$target" "$new" "corpus/$target" \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$@" || status=$?
  rm -rf "$scratch"
  return $status
}

case "${1:-}" in
--build) exit 0 ;;
--all)
  [ $# -eq 2 ] || { echo "usage: fuzz/run.sh --all SECONDS" >&2; exit 2; }
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  for t in "${targets[@]}"; do
    echo "fuzz: $t for $2 s"
    # a summary line per target; the whole output when it fails
    if run "$t" "$2" >"$log" 2>&1; then
      grep -E '^#[0-9]+.*DONE' "$log" | tail -1 || true
    else
      cat "$log" >&2
      echo "fuzz: $t failed (above); a crashing input is kept in fuzz/artifacts/$t/" >&2
      exit 1
    fi
  done
  ;;
*)
  if [ $# -lt 2 ]; then
    echo "usage: fuzz/run.sh TARGET SECONDS [libFuzzer flags...] | --all SECONDS | --build" >&2
    exit 2
  fi
  run "$@"
  ;;
esac
