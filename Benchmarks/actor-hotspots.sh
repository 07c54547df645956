#!/usr/bin/env bash
# Hotspots for actors' hire cars on towns not used in design (issue 15): for each seed, a 28-day town
# with a shared rental fleet, ingested, then `anpr compare --target keeper=rental --truth` over the last
# 7 daily windows; prints per seed and model the hit rate in the top 10% of sites, its 95% interval and
# its fraction of the oracle's (the simulator's expected rental reads). Then the town is linked (`anpr
# link`) and `compare --target groups=GROUPS.csv --truth` trains each model on the linked groups' reads
# (weighted by link confidence) and scores it on the truth's actor reads, beside the same model trained
# on the actor reads ("(truth groups)") and the oracle (expected actor reads): rows tagged "actors".
# Usage: Benchmarks/actor-hotspots.sh [SEEDS...]   (default: 7331 … 7340)
# SIM_ARGS: the town's settings (default: --fleet shared), e.g. SIM_ARGS="--fleet one-hirer --actor-habit-days 3".
set -euo pipefail
ANPR=${ANPR:-.build/release/anpr}
SIM_ARGS=${SIM_ARGS:---fleet shared}
SEEDS=${*:-$(seq 7331 7340)}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
"$ANPR" keygen --out "$WORK/key" > /dev/null
for seed in $SEEDS; do
  town="$WORK/town-$seed"
  "$ANPR" simulate --seed "$seed" --days 28 --scale 1 $SIM_ARGS --out "$town" > /dev/null
  "$ANPR" ingest "$town/reads.csv" --cameras "$town/cameras.csv" --vehicles "$town/vehicles.csv" --store "$town/s.anpr" \
    --key-file "$WORK/key" --max-reject-rate 1 > /dev/null
  "$ANPR" compare --store "$town/s.anpr" --target keeper=rental --truth "$town" --key-file "$WORK/key" --no-routes \
    --no-next-appearance --max-windows 7 --json | tail -1 > "$town/c.json"
  "$ANPR" link --store "$town/s.anpr" --out "$town/groups.csv" > /dev/null
  "$ANPR" compare --store "$town/s.anpr" --target "groups=$town/groups.csv" --truth "$town" --key-file "$WORK/key" --no-routes \
    --no-next-appearance --max-windows 7 --reason "benchmark" --json | tail -1 > "$town/a.json"
  for part in c a; do
  python3 - "$seed" "$town/$part.json" "$part" <<'PY'
import json, sys
seed, path, part = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(path))
for m in c["models"]:
    e = m["metrics"].get("hit_rate@10%")
    if e is None:
        continue
    f = e.get("fraction_of_oracle")
    print(f'{seed}\t{"actors: " if part == "a" else ""}{m["name"]}\t{e["value"]:.3f}\t{e["ci_low"]:.3f}\t{e["ci_high"]:.3f}\t' + (f'{f:.3f}' if f is not None else '-'))
PY
  done
  rm -rf "$town"
done
