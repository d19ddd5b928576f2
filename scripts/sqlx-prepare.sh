#!/usr/bin/env bash
# Regenerate .sqlx/ (the query metadata that lets `cargo build` check SQL without a database).
# Run after changing a query or a migration, and commit .sqlx/.
# Needs only sqlite3 and cargo (no sqlx-cli): the query macros write their metadata to
# SQLX_OFFLINE_DIR while they check the queries against a scratch database built from migrations/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v sqlite3 >/dev/null || { echo "sqlx-prepare: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for m in migrations/*.sql; do sqlite3 "$scratch/prepare.db" < "$m"; done
rm -rf .sqlx && mkdir -p .sqlx
# Touch every crate with queries so the macros run again.
touch core/src/lib.rs
DATABASE_URL="sqlite://$scratch/prepare.db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" \
  cargo check --workspace --all-targets --quiet
echo "sqlx-prepare: $(ls .sqlx | wc -l) queries in .sqlx/"
