#!/usr/bin/env bash
# Checks what ARCHITECTURE.md promises about src/: its module map names
# every source file exactly once, nothing outside src/ffi imports ffi, and
# neither host nor progress imports pull, and nothing cites a document
# outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
mapped=$(grep -o '^| `src/[^`]*`' ARCHITECTURE.md | sed 's/^| `//; s/`$//' | sort)
actual=$(find src -name '*.rs' | sort)
if [ "$mapped" != "$actual" ]; then
  echo "ARCHITECTURE.md's module map and src/ differ (< map only, > src only):" >&2
  diff <(echo "$mapped") <(echo "$actual") | grep '^[<>]' >&2 || true
  status=1
fi
if grep -rn --include='*.rs' 'crate::ffi' src | grep -v '^src/ffi/'; then
  echo "crate::ffi used outside src/ffi (above)" >&2
  status=1
fi
if grep -rn --include='*.rs' 'crate::pull' src/host src/progress; then
  echo "host or progress imports pull (above)" >&2
  status=1
fi
# the repository stands on its own: no citations of documents outside it
if grep -rnE '\bW[0-9]+\b|contract [0-9]|isulad-contract|progress-anchors|design\.md|crates\.md' \
  src include ctest examples-c integration bench scripts packaging cmake tests \
  README.md ARCHITECTURE.md build.rs cbindgen.toml | grep -v '^scripts/check-architecture.sh:'; then
  echo "the lines above cite a document outside the repository: say the thing itself" >&2
  status=1
fi
exit $status
