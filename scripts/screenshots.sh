#!/usr/bin/env bash
# Take the README's screenshots: the embedded demo served by a fresh `treewide serve` on
# loopback, each page shot by headless Chromium at a desktop (1400 px) and a phone (390 px)
# width, into docs/screenshots/.
#
#   scripts/screenshots.sh [path/to/treewide]   (default: target/release/treewide, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/treewide}
[ -x "$bin" ] || cargo build --release --locked
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || { echo "screenshots: needs Chromium (apt-get install chromium)" >&2; exit 1; }

work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
"$bin" --db "$work/demo.db" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
  sleep 0.1
done
base="http://127.0.0.1:$port"
site=$(curl -fs "$base/api/v1/sites?campaign=iov-iter-pin&file=drivers/nvme/target/io-cmd-file.c" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')

out=docs/screenshots
mkdir -p "$out"
shoot() { # name width height path
  "$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --no-first-run --disable-sync --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size="$2,$3" --screenshot="$out/$1.png" \
    "$base$4" >/dev/null 2>&1
  echo "screenshots: $out/$1.png ($2 px) $4"
}
shoot home-desktop 1400 900 /
shoot campaign-desktop 1400 1300 /c/iov-iter-direction
shoot subsystem-desktop 1400 1000 /c/iov-iter-pin/s/afs-filesystem
shoot site-desktop 1400 1300 "/c/iov-iter-pin/site/$site"
shoot sites-desktop 1400 900 "/c/iov-iter-pin/sites?q=ITER_DEST&stage=posted"
shoot campaign-phone 390 1400 /c/iov-iter-pin
shoot site-phone 390 1400 "/c/iov-iter-pin/site/$site"
