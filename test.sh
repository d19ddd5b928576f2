#!/usr/bin/env bash
# Install what the tests need if it is missing, then run every check CI runs:
# formatting, clippy, and all tests (unit, database, HTTP, headless Chromium with axe-core,
# crash safety).
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# axe-core (accessibility rules, run in Chromium by tests/a11y.rs), at the version
# tests/axe/package-lock.json pins.
if [ ! -f tests/axe/node_modules/axe-core/axe.min.js ]; then
  echo "test.sh: installing axe-core from the npm registry" >&2
  npm ci --prefix tests/axe --no-audit --no-fund --silent
fi
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done

# Queries are checked against the committed .sqlx/ metadata, never a live database.
export SQLX_OFFLINE=true
unset DATABASE_URL
# The browser tests must not skip here.
export TREEWIDE_REQUIRE_BROWSER=1

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked
