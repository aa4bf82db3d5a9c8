#!/usr/bin/env bash
# Time and peak memory of an incremental backup of a 200,000-file tree where 1% of the files changed
# (issue 5). Uses the bench's synthetic corpus (build it with `npm run bench -- --corpus synth-200k`),
# copied, so the corpus itself is never changed. Usage: scripts/incremental-bench.sh [CORPUS_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-/tmp/xtar-bench/corpora/synth-200k}
work=${WORK:-/tmp/xtar-incremental-bench}
xtar=(node "$here/dist/src/cli/main.js")
[ -d "$corpus" ] || { echo "no corpus at $corpus: run npm run bench -- --corpus synth-200k first" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"
cp -a "$corpus" "$work/tree"
files=$(find "$work/tree" -type f | wc -l)
measure() { # label, command...
  local label=$1; shift
  sync
  /usr/bin/time -f "$label: %e s wall, %U s user, %S s sys, peak RSS %M KiB" "$@" > "$work/$label.out" 2> "$work/$label.time" || { cat "$work/$label.time" >&2; exit 1; }
  tail -1 "$work/$label.time"
}
echo "tree: $files files ($(du -sh "$work/tree" | cut -f1)); $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
measure full "${xtar[@]}" pack "$work/tree" --out "$work/set" --quiet
# 1% of the files: every 100th in sorted order gets one more line (new size, new mtime).
find "$work/tree" -type f | LC_ALL=C sort | awk 'NR % 100 == 0' > "$work/changed.list"
while IFS= read -r f; do printf 'changed\n' >> "$f"; done < "$work/changed.list"
echo "changed: $(wc -l < "$work/changed.list") files"
measure dry-run "${xtar[@]}" pack "$work/tree" --out "$work/set" --dry-run --quiet
measure incremental "${xtar[@]}" pack "$work/tree" --out "$work/set" --json
node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(`incremental: kind ${r.kind}, stored ${r.storedFiles} files, ${r.unchangedFiles} unchanged, archive ${(r.archiveBytes/1048576).toFixed(1)} MiB`)' "$work/incremental.out"
measure nothing-changed "${xtar[@]}" pack "$work/tree" --out "$work/set" --quiet
echo "index: $(du -h "$work/set/xtar-index.sqlite" | cut -f1)"
rm -rf "$work"
