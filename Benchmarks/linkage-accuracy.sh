#!/usr/bin/env bash
# Linkage accuracy on simulated towns (issue 7): for each seed, simulate the default town for 28 days,
# ingest, run `anpr link` at the default threshold against the simulator's truth, and print pairwise and
# B-cubed precision/recall/F1 per seed plus the mean and median. Usage:
#   Benchmarks/linkage-accuracy.sh [seed...]     (default: 3 5 7 11 13 17 19 23 29 31 37 41 43 47)
# and the mean precision/recall curve over the threshold.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product anpr >&2
BIN=.build/release/anpr
DIR=${BENCH_DATA:-/tmp/anprkit-bench}/linkage-accuracy
seeds=("$@"); [ ${#seeds[@]} -eq 0 ] && seeds=(3 5 7 11 13 17 19 23 29 31 37 41 43 47)
OUT=$(mktemp)
for s in "${seeds[@]}"; do
  d="$DIR/seed-$s"
  if [ ! -f "$d/store.anpr" ]; then
    rm -rf "$d"
    $BIN simulate --seed "$s" --days 28 --scale 1 --out "$d" > /dev/null
    $BIN ingest "$d/reads.csv" --cameras "$d/cameras.csv" --vehicles "$d/vehicles.csv" --store "$d/store.anpr" --keep-raw-plates > /dev/null
  fi
  $BIN link --store "$d/store.anpr" --out "$d/groups.csv" --truth "$d" --json | tail -1 | python3 -c "
import json, sys
r = json.load(sys.stdin); e = r['evaluation']
print(json.dumps({'seed': $s, 'candidates': r['candidates'], 'groups': r['groups'], **e, 'curve': r['curve']}))" >> "$OUT"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["pairPrecision", "pairRecall", "pairF1", "bcubedPrecision", "bcubedRecall", "bcubedF1"]
print("| seed | candidates | groups | pair P | pair R | pair F1 | B³ P | B³ R | B³ F1 |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['seed']} | {r['candidates']} | {r['groups']} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
for name, f in (("mean", statistics.mean), ("median", statistics.median)):
    print(f"| {name} | | | " + " | ".join(f"{f([r[k] for r in rows]):.3f}" for k in keys) + " |")
ok = sum(r["pairPrecision"] >= 0.95 for r in rows)
print("\nPrecision/recall curve over the threshold (mean over these seeds; the other settings at their defaults):\n")
print("| threshold | pair P | pair R | pair F1 | B³ F1 | seeds with P ≥ 0.95 |")
print("|---|---|---|---|---|---|")
for k, point in enumerate(rows[0]["curve"]):
    pts = [r["curve"][k]["scores"] for r in rows]
    print(f"| {point['threshold']:.2f} | " + " | ".join(f"{statistics.mean(p[key] for p in pts):.3f}" for key in ("pairPrecision", "pairRecall", "pairF1", "bcubedF1"))
          + f" | {sum(p['pairPrecision'] >= 0.95 for p in pts)} of {len(pts)} |")
print(f"\nSeeds with pairwise precision ≥ 0.95: {ok} of {len(rows)}; with pairwise F1 ≥ 0.9: {sum(r['pairF1'] >= 0.9 for r in rows)} of {len(rows)}.")
PY
rm -f "$OUT"
