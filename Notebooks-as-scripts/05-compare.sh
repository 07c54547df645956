#!/usr/bin/env bash
# 05 — Compare: which model forecasts this town best, by how much, and how far from the best possible?
set -euo pipefail
source Notebooks-as-scripts/common.sh  # $WORK/s.anpr from Data/sample, key in $WORK/key

# %% Every built-in hotspot and route model in the same rolling windows, with 95% bootstrap intervals,
# a paired test between the best two, and the oracle rows from the simulator's truth. The JSON is what
# scripts read (last line).
"$ANPR" compare --store "$WORK/s.anpr" --target keeper=rental --truth Data/sample --key-file "$WORK/key" \
  --out "$WORK/comparison.json" --csv "$WORK/comparison.csv"
"$ANPR" compare --store "$WORK/s.anpr" --target keeper=rental --truth Data/sample --key-file "$WORK/key" --json --no-routes \
  | tail -1 | python3 -c "import json,sys; d=json.load(sys.stdin); print([m['name'] for m in d['models']])"

# %% A parameter sweep: which bandwidth, and is the choice stable from window to window?
"$ANPR" sweep --store "$WORK/s.anpr" --spec Models/prospective-hotspot.yaml --target keeper=rental \
  --grid bandwidth_metres=200,800 --grid bandwidth_days=3,14

# %% The report: one HTML file with the comparison, curves, map and patrol plan.
"$ANPR" train --store "$WORK/s.anpr" --spec Models/poisson-hotspot.yaml --target keeper=rental --out "$WORK/glm.model.json" > /dev/null
"$ANPR" report --store "$WORK/s.anpr" --comparison "$WORK/comparison.json" --model "$WORK/glm.model.json" --out "$WORK/report.html" \
  --shifts early=07-15,late=15-23,night=23-07 --patrol-csv "$WORK/patrol.csv"
grep -c "<svg" "$WORK/report.html"
# %% The patrol plan per day and shift, as CSV (one row per area): the first rows.
head -4 "$WORK/patrol.csv"
grep -q "^[0-9-]*,night," "$WORK/patrol.csv"
# %% A shift pattern that is not HH-HH is refused, naming it.
if "$ANPR" report --store "$WORK/s.anpr" --model "$WORK/glm.model.json" --out "$WORK/r2.html" --shifts 07-15,15-31 2> "$WORK/err.txt"; then
  echo "bad --shifts accepted"; exit 1
fi
cat "$WORK/err.txt"
