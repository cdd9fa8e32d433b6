#!/usr/bin/env bash
# Installs what building and testing isula-registry needs on Debian 12.
# Safe to run again: it only installs what is missing. One line per step;
# apt's own output is kept in a log and shown only when a step fails.
set -euo pipefail

packages=(
  build-essential pkg-config cmake git curl ca-certificates openssl python3
  libcurl4-openssl-dev libssl-dev libzstd-dev
  nginx docker-registry skopeo umoci valgrind tmux iproute2 apache2-utils zstd
  rpm cpio tinyproxy python3-cryptography time
)

log=$(mktemp "${TMPDIR:-/tmp}/isula-registry-setup.XXXXXX")
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
policy_made=0
cleanup() {
  rm -f "$log"
  if ((policy_made)); then "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT

# step "what" command...: one line, and the command's output only if it fails
step() {
  local what=$1
  shift
  printf 'setup: %s ... ' "$what"
  if "$@" >"$log" 2>&1; then
    echo ok
  else
    local rc=$?
    echo "failed (exit $rc):"
    cat "$log" >&2
    exit "$rc"
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  step "apt-get update" "${sudo_cmd[@]}" apt-get update -q
  # Debian's nginx, docker-registry and tinyproxy packages try to start
  # system services; the tests start their own servers, so keep those off.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
    policy_made=1
  fi
  step "installing ${missing[*]}" "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages ... all ${#packages[@]} present"
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo (Rust >= 1.89) is required: see https://rustup.rs" >&2
  exit 1
fi
echo "setup: $(cargo --version)"
if ! rustup component list --installed 2>/dev/null | grep -q rustfmt; then
  step "rustup component add rustfmt clippy" rustup component add rustfmt clippy
fi
