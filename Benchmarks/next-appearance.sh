#!/usr/bin/env bash
# Next appearance on towns the models were not designed on (issue 15): for each held-out seed, a 28-day
# town (shared rental fleet), ingested, and `anpr compare --truth` with the next-appearance backtest for
# the truth's actor groups (each car within the group's hires of it), with the oracle from their simulated habits. Prints one line per seed and model: hit@1/3/10 of the
# (hour, entry site) window, hit@3 of the hour, site hit@1, log score, Brier of P(seen in 7 days), stop
# hit@3 and stop Brier. The town is also linked (`anpr link`) and the row "groups from anpr link" forecasts
# each truth group from its best-matching linked group, scored on the truth group's next visit.
# Usage: Benchmarks/next-appearance.sh [SEEDS...]   (default: 7301 … 7310, never used in design)
# SIM_ARGS: the town's settings (default: --fleet shared), e.g. SIM_ARGS="--fleet one-hirer --actor-habit-days 3".
# GENERATOR=othertown draws each town with Benchmarks/othertown/othertown.py (an independent generator; its
# truth has no habits in the simulator's form, so there is no oracle row).
set -euo pipefail
ANPR=${ANPR:-.build/release/anpr}
SIM_ARGS=${SIM_ARGS:---fleet shared}
SEEDS=${*:-$(seq 7301 7310)}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
"$ANPR" keygen --out "$WORK/key" > /dev/null
for seed in $SEEDS; do
  town="$WORK/town-$seed"
  if [ "${GENERATOR:-simulate}" = othertown ]; then
    mkdir -p "$town"
    python3 Benchmarks/othertown/othertown.py --seed "$seed" --days 28 --out "$town" 2> "$town/othertown.log" || { cat "$town/othertown.log" >&2; exit 1; }
  else
    "$ANPR" simulate --seed "$seed" --days 28 --scale 1 $SIM_ARGS --out "$town" > /dev/null
  fi
  "$ANPR" ingest "$town/reads.csv" --cameras "$town/cameras.csv" --vehicles "$town/vehicles.csv" --store "$town/s.anpr" \
    --key-file "$WORK/key" --max-reject-rate 1 > /dev/null
  "$ANPR" link --store "$town/s.anpr" --out "$town/groups.csv" > /dev/null
  "$ANPR" compare --store "$town/s.anpr" --target keeper=rental --truth "$town" --groups "$town/groups.csv" --key-file "$WORK/key" --no-routes \
    --spec Models/historical-mean.yaml --json | tail -1 > "$town/c.json"
  python3 - "$seed" "$town/c.json" <<'PY'
import json, sys
seed, path = sys.argv[1], sys.argv[2]
c = json.load(open(path))
for m in c["models"]:
    if m["kind"] != "next-appearance" and m["name"] != "oracle (next appearance)":
        continue
    v = lambda k: m["metrics"].get(k, {}).get("value", float("nan"))
    print(f'{seed}\t{m["name"]}\t{m["windows"]}\t' + "\t".join(f'{v(k):.3f}' for k in
          ["hit@1", "hit@3", "hit@10", "hour_hit@3", "site_hit@1", "log_score", "seen7_brier", "stop_hit@3", "stop_brier"]))
PY
  rm -rf "$town"
done
