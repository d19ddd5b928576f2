#!/usr/bin/env bash
# Fetch a real Linux kernel tree (Debian's linux-source-6.1 package) into a cache outside the
# repository and print its path. Used by the real-tree tests and the benchmarks.
# Usage: scripts/linux-source.sh        -> prints e.g. $HOME/.cache/treewide/linux-source-6.1
# Env:   TREEWIDE_CACHE (default: $HOME/.cache/treewide)
# Exit:  0 with the path on stdout; 1 with the reason on stderr when the package cannot be had.
set -euo pipefail
cache="${TREEWIDE_CACHE:-$HOME/.cache/treewide}"
tree="$cache/linux-source-6.1"
if [ -f "$tree/MAINTAINERS" ] && [ -f "$tree/.complete" ]; then
  echo "$tree"; exit 0
fi
for tool in apt-get dpkg-deb tar xz; do
  command -v "$tool" >/dev/null 2>&1 || { echo "linux-source.sh: needs $tool" >&2; exit 1; }
done
mkdir -p "$cache/deb"
cd "$cache/deb"
if ! ls linux-source-6.1_*.deb >/dev/null 2>&1; then
  # `apt-get download` needs no root; an out-of-date package list is refreshed once.
  if ! apt-get download linux-source-6.1 >&2 2>/dev/null; then
    { apt-get update -qq || true; } >&2
    apt-get download linux-source-6.1 >&2 || { echo "linux-source.sh: cannot download linux-source-6.1" >&2; exit 1; }
  fi
fi
deb=$(ls -1 linux-source-6.1_*.deb | tail -n 1)
rm -rf "$cache/x" "$tree"
mkdir -p "$cache/x"
dpkg-deb -x "$deb" "$cache/x"
tar -xJf "$cache/x/usr/src/linux-source-6.1.tar.xz" -C "$cache"
rm -rf "$cache/x"
echo "${deb#linux-source-6.1_}" | sed 's/_all\.deb$//' > "$tree/.debian-version"
touch "$tree/.complete"
echo "$tree"
