#!/usr/bin/env bash
# Installs the Debian 12 packages policyc builds and tests with, only those missing.
# Used by the README's two commands (and so by CI); needs root for apt-get.
set -euo pipefail
packages=(cmake make g++ pkg-config antlr4 libantlr4-runtime-dev libnftnl-dev libmnl-dev
          nlohmann-json3-dev doctest-dev libcli11-dev iptables nftables iproute2 python3
          util-linux procps clang libclang-rt-14-dev libdtl-dev netbase)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then echo "error: run as root to install ${missing[*]}" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
