#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, only when one is missing (CI runs as root on
# a fresh machine; a developer's machine usually has them already).
set -euo pipefail
# ripgrep: the floor bench/scan_throughput.py (and its tiny test) measures the scanner against.
packages=(sqlite3 ripgrep)
# postgresql: the server tests/postgres_server.py starts for the PostgreSQL store's tests.
packages+=(postgresql)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
