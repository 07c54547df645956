#!/usr/bin/env bash
# Episode linkage accuracy on shared-fleet towns (issue 14). For each seed: simulate 28 days with
# `--fleet shared` and settings drawn from the seed (SETTINGS=random, the default: actor groups,
# places, habit days, decoy mix, deal-site sharing, two cars at once, fleet size and depot gaps all
# vary) or the simulator defaults (SETTINGS=default); FLEET=one-hirer runs the one-hirer world instead.
# Ingest, run `anpr link` against the truth, and print per seed and on average: candidates, groups,
# pairwise and B-cubed precision/recall/F1, the share of actor hires whose episode boundaries are within
# 12 h, and the reliability table (stated link confidence against observed precision) pooled over seeds.
# LINK_ARGS passes extra options to `anpr link` (e.g. LINK_ARGS="--min-confidence 0").
# GENERATOR=othertown draws each town with Benchmarks/othertown/othertown.py instead (an independent
# generator, written apart from the simulator; its settings are drawn from the seed inside it).
# A town already under BENCH_DATA is reused: delete it after changing a generator.
# SIM_ARGS adds simulator settings to every town (e.g. the kept-aside mix with SETTINGS=default); give it
# its own BENCH_DATA, as towns are reused by seed.
#   Benchmarks/linkage-episodes.sh SEED...
set -euo pipefail
cd "$(dirname "$0")/.."
# ANPR names another binary (e.g. one built from an older commit); by default the release build.
if [ -z "${ANPR:-}" ]; then swift build -c release --product anpr >&2; fi
BIN=${ANPR:-.build/release/anpr}
FLEET=${FLEET:-shared}
SETTINGS=${SETTINGS:-random}
GENERATOR=${GENERATOR:-simulate}
if [ "$GENERATOR" = othertown ]; then FLEET=othertown; SETTINGS=othertown; fi
DIR=${BENCH_DATA:-/tmp/anprkit-bench}/linkage-episodes-$FLEET-$SETTINGS
OUT=$(mktemp)
for s in "$@"; do
  d="$DIR/seed-$s"
  args=$(python3 - "$s" "$SETTINGS" <<'PY'
import random, sys
seed, mode = int(sys.argv[1]), sys.argv[2]
if mode == "othertown":
    print("othertown.py (settings drawn inside)"); sys.exit()
if mode != "random":
    print(""); sys.exit()
r = random.Random(seed * 7919 + 1)
a = {"actor-groups": r.randint(2, 5), "actor-places": r.randint(2, 6), "actor-habit-days": r.randint(1, 4),
     "business-renters": r.randint(3, 12), "family-hires-per-day": round(r.uniform(0.1, 0.6), 2),
     "rental-hires-per-day": round(r.uniform(1.5, 4.0), 2), "decoy-share": round(r.uniform(0.1, 0.6), 2),
     "shared-deal-site": round(r.uniform(0, 1), 2), "two-cars-at-once": round(r.uniform(0, 0.4), 2),
     "fleet-cars": r.randint(20, 45), "max-depot-gap-days": r.randint(3, 10)}
print(" ".join(f"--{k} {v}" for k, v in a.items()))
PY
)
  args="$args ${SIM_ARGS:-}"
  if [ ! -f "$d/store.anpr" ]; then
    rm -rf "$d"
    if [ "$GENERATOR" = othertown ]; then
      mkdir -p "$d"
      python3 Benchmarks/othertown/othertown.py --seed "$s" --days 28 --out "$d" 2> "$d/othertown.log" || { cat "$d/othertown.log" >&2; exit 1; }
    else
      # shellcheck disable=SC2086
      $BIN simulate --seed "$s" --days 28 --fleet "$FLEET" --oracle-replicates 0 $args --out "$d" > /dev/null
    fi
    $BIN ingest "$d/reads.csv" --cameras "$d/cameras.csv" --vehicles "$d/vehicles.csv" --store "$d/store.anpr" --keep-raw-plates > /dev/null
  fi
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  $BIN link --store "$d/store.anpr" --out "$d/groups.csv" --truth "$d" --json ${LINK_ARGS:-} | tail -1 > "$d/link.json"
  end=$(date +%s.%N)
  python3 - "$s" "$d/link.json" "$args" "$start" "$end" >> "$OUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
print(json.dumps({"seed": int(sys.argv[1]), "settings": sys.argv[3], "seconds": float(sys.argv[5]) - float(sys.argv[4]), **r}))
PY
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
keys = ["pairPrecision", "pairRecall", "pairF1", "bcubedPrecision", "bcubedRecall", "bcubedF1"]
print("| seed | candidates | groups | pair P | pair R | pair F1 | B³ P | B³ R | B³ F1 | boundaries ≤ 12 h | link s (incl. truth curve) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    e = r["evaluation"]
    print(f"| {r['seed']} | {r['candidates']} | {r['groups']} | " + " | ".join(f"{e[k]:.3f}" for k in keys)
          + f" | {r['boundaryAccuracy']:.3f} of {r['actorHires']} | {r['seconds']:.1f} |")
for name, f in (("mean", statistics.mean), ("median", statistics.median), ("min", min)):
    print(f"| {name} | | | " + " | ".join(f"{f([r['evaluation'][k] for r in rows]):.3f}" for k in keys)
          + f" | {f([r['boundaryAccuracy'] for r in rows]):.3f} | |")
print("\nReliability of the stated link confidence, pooled over the seeds:\n")
print("| stated confidence | links | mean stated | observed precision |")
print("|---|---|---|---|")
bins = {}
for r in rows:
    for b in r.get("reliability") or []:
        k = (b["from"], b["to"]); x = bins.setdefault(k, [0, 0.0, 0.0])
        x[0] += b["links"]; x[1] += b["stated"] * b["links"]; x[2] += b["observed"] * b["links"]
gap = 0; total = 0
for (lo, hi), (n, st, ob) in sorted(bins.items()):
    print(f"| {lo:.2f}–{hi:.2f} | {n} | {st / n:.3f} | {ob / n:.3f} |")
    gap += abs(st - ob); total += n
if total: print(f"\nMean |stated − observed| over links: {gap / total:.3f}")
print(f"\nSeeds with pair P ≥ 0.90: {sum(r['evaluation']['pairPrecision'] >= 0.9 for r in rows)} of {len(rows)}; "
      f"with pair F1 ≥ 0.90: {sum(r['evaluation']['pairF1'] >= 0.9 for r in rows)} of {len(rows)}.")
print("\nSettings per seed:\n")
for r in rows: print(f"- {r['seed']}: {r['settings'] or 'simulator defaults'}")
PY
rm -f "$OUT"
