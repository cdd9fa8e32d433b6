#!/usr/bin/env bash
# Every check of the project, as CI runs it: formatting, lints, the
# generated headers, the Rust tests and the C tests (plain and under
# valgrind) against real servers started on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== architecture"
scripts/check-architecture.sh

echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked --all-targets --no-default-features -- -D warnings
cargo clippy --locked --all-targets --features isulad -- -D warnings

echo "== dependency features"
# flate2 without its runtime_detection feature builds zlib-rs without std,
# so without CPU detection: the portable crc32 and inflate, about a quarter
# more CPU per byte of a gzip layer (bench/README.md).
if ! cargo tree --locked -e features -i zlib-rs | grep -q 'zlib-rs feature "std"'; then
  echo "zlib-rs is built without its std feature (CPU detection): keep flate2's runtime_detection" >&2
  exit 1
fi

echo "== headers"
# build.rs regenerates include/ from src/ffi; a difference means the
# committed headers are stale.
cargo build --locked --release
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if ! git diff --exit-code -- include/ || [ -n "$(git status --porcelain -- include/)" ]; then
    echo "include/ differs from what cbindgen generates: run 'cargo build' and commit include/" >&2
    exit 1
  fi
fi

echo "== Rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
else
  cargo test --locked
fi

echo "== fuzz targets"
# libFuzzer on the stable toolchain (fuzz/README.md); a bounded run each
fuzz/run.sh --all "${FUZZ_SECONDS:-20}"

echo "== C tests"
cmake -S ctest -B build/ctest -DCMAKE_BUILD_TYPE=Debug
cmake --build build/ctest -j2
ctest --test-dir build/ctest --output-on-failure
