#!/usr/bin/env bash
# Appending one day to a 90-day store (issue 18): simulate 91 days (seed 9101, scale 6: ~39 M read
# rows), ingest the first 90 days, then time `anpr ingest DAY --store STORE` on a fresh copy of the
# 90-day store five times (each append writes one segment), and in the same run the whole-store
# rewrite every append used to cost (`anpr compact`, which rewrites base + segment as one file).
# Prints each run and the medians; /usr/bin/time gives seconds and peak memory.
#   Benchmarks/store-append.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || swift build -c release --product anpr >&2
BIN=$PWD/.build/release/anpr
DIR=${BENCH_DATA:-/tmp/anprkit-bench}/store-append
mkdir -p "$DIR"
cd "$DIR"
if [ ! -f s90.anpr ]; then
  rm -rf town
  "$BIN" simulate --seed 9101 --days 91 --scale 6 --out town > /dev/null
  rm -f town/truth-passes.csv
  awk -F, 'NR==1{print > "base.csv"; print > "day.csv"; next} {if ($4 >= "2026-05-31") print > "day.csv"; else print > "base.csv"}' town/reads.csv
  rm -f town/reads.csv
  [ -f key ] || "$BIN" keygen --out key > /dev/null
  "$BIN" ingest base.csv --cameras town/cameras.csv --store s90.anpr --key-file key --max-reject-rate 1 > /dev/null
fi
echo "store: $("$BIN" inspect s90.anpr | sed -n 2p); day: $(($(wc -l < day.csv) - 1)) rows"
appends=() ; compacts=()
for i in 1 2 3 4 5; do
  cp s90.anpr t.anpr; rm -f t.anpr.manifest t.anpr.seg-*
  a=$( { /usr/bin/time -f "%e %M" "$BIN" ingest day.csv --cameras town/cameras.csv --store t.anpr --key-file key --max-reject-rate 1 > /dev/null; } 2>&1 | tail -1)
  c=$( { /usr/bin/time -f "%e %M" "$BIN" compact t.anpr > /dev/null; } 2>&1 | tail -1)
  echo "run $i: append ${a% *} s (${a#* } KB peak); whole rewrite ${c% *} s (${c#* } KB peak)"
  appends+=("${a% *}"); compacts+=("${c% *}")
done
python3 - "${appends[*]}" "${compacts[*]}" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]; c = [float(x) for x in sys.argv[2].split()]
print(f"median append of one day: {statistics.median(a):.2f} s; median whole-store rewrite: {statistics.median(c):.2f} s; ratio {statistics.median(c) / statistics.median(a):.1f}x")
PY
