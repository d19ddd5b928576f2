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
# Migration 0021 needs SQLite >= 3.43 (contentless_delete); Debian 12's sqlite3 is 3.40: then a
# Python with pysqlite3 (pip install pysqlite3-binary; PYTHON names it) builds the database.
if ! for m in migrations/*.sql; do sqlite3 -bail "$scratch/prepare.db" < "$m" || exit 1; done 2>/dev/null; then
  rm -f "$scratch/prepare.db"
  "${PYTHON:-python3}" - "$scratch/prepare.db" <<'PY' || { echo "sqlx-prepare: sqlite3 is older than 3.43 and ${PYTHON:-python3} has no pysqlite3 (pip install pysqlite3-binary)" >&2; exit 1; }
import glob, sys, pysqlite3
db = pysqlite3.connect(sys.argv[1])
for m in sorted(glob.glob("migrations/*.sql")):
    db.executescript(open(m).read())
db.commit()
PY
fi
rm -rf .sqlx && mkdir -p .sqlx
# Touch every crate with queries so the macros run again.
touch core/src/lib.rs
DATABASE_URL="sqlite://$scratch/prepare.db" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" \
  cargo check --workspace --all-targets --quiet
echo "sqlx-prepare: $(ls .sqlx | wc -l) queries in .sqlx/"
