#!/usr/bin/env bash
# What encryption costs (issue 19): pack and unpack of one tree, plain and encrypted (--encrypt,
# age's own scrypt work factor for the key file), interleaved in the same run — plain, encrypted,
# plain, encrypted, … — with wall, user and sys time (CPU time is what to compare on a shared
# machine), and the archive sizes. Usage: scripts/encrypt-bench.sh [CORPUS_DIR] [ROUNDS]
# (WORK=/dev/shm/somewhere to choose the scratch folder; XTAR=path/to/main.js another build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-/dev/shm/xb/corpora/small}
rounds=${2:-3}
work=${WORK:-/tmp/xtar-encrypt-bench}
xtar=(node "${XTAR:-$here/dist/src/cli/main.js}")
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"
export XTAR_PASSPHRASE="bench passphrase $$"
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "$label %e %U %S %M" "$@" > "$work/$label.out" 2> "$work/$label.time" || { cat "$work/$label.time" >&2; exit 1; }
  tail -1 "$work/$label.time" >> "$work/times"
}
echo "tree: $(find "$corpus" -type f | wc -l) files ($(du -sh "$corpus" | cut -f1)); $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$rounds"); do
  for kind in plain encrypted; do
    rm -rf "$work/set-$kind" "$work/out-$kind"
    flag=(); [ "$kind" = encrypted ] && flag=(--encrypt)
    measure "pack-$kind" "${xtar[@]}" pack "$corpus" --out "$work/set-$kind" --quiet "${flag[@]}"
  done
  for kind in plain encrypted; do
    measure "unpack-$kind" "${xtar[@]}" unpack "$work/set-$kind" --dest "$work/out-$kind" --quiet
  done
done
for kind in plain encrypted; do
  printf 'archive-%s %s\n' "$kind" "$(stat -c %s "$work"/set-"$kind"/*-vol001/*.xtar)" >> "$work/sizes"
  printf 'folder-%s %s\n' "$kind" "$(du -sb "$work"/set-"$kind"/*-vol001 | cut -f1)" >> "$work/sizes"
done
# Medians of the rounds, then the ratios encrypted / plain.
node -e '
const fs = require("fs");
const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const by = {};
for (const [label, wall, user, sys, rss] of rows) (by[label] ??= []).push({ wall: +wall, cpu: +user + +sys, rss: +rss });
const m = {};
for (const [label, rs] of Object.entries(by)) m[label] = { wall: med(rs.map((r) => r.wall)), cpu: med(rs.map((r) => r.cpu)), rss: med(rs.map((r) => r.rss)) };
for (const [label, v] of Object.entries(m)) console.log(`${label.padEnd(18)} wall ${v.wall.toFixed(2)} s  user+sys ${v.cpu.toFixed(2)} s  peak RSS ${(v.rss / 1024).toFixed(0)} MiB  (median of ${by[label].length})`);
for (const op of ["pack", "unpack"]) console.log(`${op}: encrypted/plain wall ${(m[op + "-encrypted"].wall / m[op + "-plain"].wall).toFixed(2)}x, CPU ${(m[op + "-encrypted"].cpu / m[op + "-plain"].cpu).toFixed(2)}x`);
const sizes = Object.fromEntries(fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map((l) => l.split(" ")));
for (const w of ["archive", "folder"]) { const p = +sizes[w + "-plain"], e = +sizes[w + "-encrypted"]; console.log(`${w}: plain ${p} B, encrypted ${e} B, +${e - p} B (+${((e / p - 1) * 100).toFixed(2)}%)`); }
' "$work/times" "$work/sizes"
