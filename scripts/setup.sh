#!/usr/bin/env bash
# Installs what building and testing isula-registry needs on Debian 12.
# Safe to run again: it only installs what is missing.
set -euo pipefail

packages=(
  build-essential pkg-config cmake git curl ca-certificates openssl python3
  libcurl4-openssl-dev libssl-dev libzstd-dev
  nginx docker-registry skopeo umoci valgrind tmux iproute2 apache2-utils zstd
  python3-cryptography
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  # Debian's nginx and docker-registry packages try to start system
  # services; the tests start their own servers, so keep those off.
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d
fi

command -v cargo >/dev/null || { echo "setup: cargo (Rust >= 1.89) is required: see https://rustup.rs" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy
