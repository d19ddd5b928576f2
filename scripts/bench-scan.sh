#!/usr/bin/env bash
# Scan benchmark on a real kernel tree (Debian's linux-source-6.1): ripgrep for the
# iov-iter-direction callees vs `treewide scan --json` (parsing and subsystem mapping included),
# best of 3 each, warm cache, and the ratio (target: scan <= 1.5x ripgrep). Also git grep once,
# and subsystem mapping of every site file vs a single get_maintainer.pl call. Then the
# incremental re-scan: a full scan stored in a fresh database (`scan --full`, best of 3) against
# a re-scan after one file changed (best of 3, a different edit each time), and their ratio
# (target: one-file re-scan <= 5% of a full scan). The edits go to a hard-linked copy of the
# tree (`cp -al`), never to the tree itself.
# Usage: scripts/bench-scan.sh [TREE]      (default: what scripts/linux-source.sh prints)
set -euo pipefail
cd "$(dirname "$0")/.."
tree=${1:-$(scripts/linux-source.sh)}
command -v rg >/dev/null || { echo "bench-scan: needs ripgrep (apt-get install ripgrep)" >&2; exit 1; }
cargo build --release --quiet
tw=$PWD/target/release/treewide
re='\b(iov_iter_(init|kvec|bvec|xarray|pipe|discard|ubuf)|import_single_range|import_iovec|__import_iovec|import_ubuf)\s*\('
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

best() { # best wall time in seconds of 3 runs of "$@"
  local b=999 t
  for _ in 1 2 3; do
    /usr/bin/time -f %e -o "$out/t" "$@" >/dev/null 2>&1 || true
    t=$(tail -n1 "$out/t")
    b=$(python3 -c "print(min($b, $t))")
  done
  echo "$b"
}
cd "$tree"
rg -n --no-ignore -g '*.[ch]' "$re" . >/dev/null || true   # warm the page cache
rg_t=$(best rg -n --no-ignore -g '*.[ch]' "$re" .)
scan_t=$(best "$tw" scan --tree "$tree" --campaign iov-iter-direction --json --quiet -o "$out/scan.json")
timed() { /usr/bin/time -f %e -o "$out/t" "$@" >/dev/null 2>&1 || true; tail -n1 "$out/t"; }
gg_t=$(timed git grep --no-index -n -E "(^|[^A-Za-z0-9_])(iov_iter_(init|kvec|bvec|xarray|pipe|discard|ubuf)|import_single_range|import_iovec|__import_iovec|import_ubuf)[[:space:]]*\(" -- '*.c' '*.h')
sites=$(python3 -c "import json;print(len(json.load(open('$out/scan.json'))['sites']))")
files=$(python3 -c "import json;print(' '.join(sorted({s['file'] for s in json.load(open('$out/scan.json'))['sites']})))")
nfiles=$(echo "$files" | wc -w)
# shellcheck disable=SC2086
map_t=$(timed "$tw" maintainers --tree "$tree" $files)
perl_t=$(timed perl scripts/get_maintainer.pl --nogit --nogit-fallback --subsystem --no-email -f lib/iov_iter.c)
echo "tree: $tree ($(cat .debian-version 2>/dev/null || echo unknown))"
echo "ripgrep (best of 3):              ${rg_t} s"
echo "treewide scan --json (best of 3): ${scan_t} s   ($sites sites, tree-sitter parse + MAINTAINERS included)"
python3 -c "r=$scan_t/$rg_t; print(f'ratio scan / ripgrep = {r:.2f} (target <= 1.50) ' + ('OK' if r <= 1.5 else 'ABOVE TARGET'))"
echo "git grep --no-index (once):       ${gg_t} s"
echo "subsystems of all $nfiles site files (treewide maintainers, incl. MAINTAINERS parse): ${map_t} s; one get_maintainer.pl call: ${perl_t} s"

# Incremental re-scan, on a hard-linked copy (an edited file is replaced, not written through).
cd "$OLDPWD"
work=$out/linux
cp -al "$tree" "$work"
db=$out/scan.db
# A command, not a shell function: best() runs it under /usr/bin/time.
full_scan=(sh -c 'rm -f "$1" "$1"-*; exec "$2" --db "$1" scan --tree "$3" --campaign iov-iter-direction --full --quiet' sh "$db" "$tw" "$work")
full_t=$(best "${full_scan[@]}")
"${full_scan[@]}" >/dev/null 2>&1
edited=lib/iov_iter.c
one_t=999
for i in 1 2 3; do
  # A new file (not the linked one) with one more line: its calls move, one file to parse.
  { printf '/* bench edit %s */\n' "$i"; cat "$work/$edited"; } > "$out/edited.c"
  mv "$out/edited.c" "$work/$edited"
  /usr/bin/time -f %e -o "$out/t" "$tw" --db "$db" scan --tree "$work" --campaign iov-iter-direction >/dev/null 2>"$out/err" \
    || { cat "$out/err" >&2; exit 1; }
  one_t=$(python3 -c "print(min($one_t, $(tail -n1 "$out/t")))")
done
echo "full scan stored in a fresh database (scan --full, best of 3): ${full_t} s"
echo "re-scan after a one-file change ($edited, best of 3):          ${one_t} s   ($(grep incremental "$out/err" | head -1 | sed 's/^treewide: //' || true))"
python3 -c "r=$one_t/$full_t; print(f'ratio one-file re-scan / full scan = {r:.3f} (target <= 0.050) ' + ('OK' if r <= 0.05 else 'ABOVE TARGET'))"
if command -v spatch >/dev/null; then
  echo "coccinelle: see README (about 6 minutes here, headers skipped by default)"
fi
