#!/usr/bin/env bash
# 03 — Routes: the next camera and when, for a vehicle on the move.
set -euo pipefail
source Notebooks-as-scripts/common.sh  # $WORK/s.anpr from Data/sample, key in $WORK/key

# %% Train the variable-order Markov chain (order 2, time bands, back-off to order 1 and site frequency).
"$ANPR" train --store "$WORK/s.anpr" --spec Models/markov-route.yaml --out "$WORK/route.model.json"

# %% One vehicle by plate: the plate is pseudonymised with the key before the lookup. A lookup of a
# vehicle needs a reason (a case or incident reference), written with who and when to the audit log
# beside the store. Each candidate next site has a probability, an arrival window (80%) and the
# evidence level used.
plate=$(zcat Data/sample/reads.csv.gz | sed -n 200p | cut -d, -f2)
"$ANPR" predict-route --store "$WORK/s.anpr" --model "$WORK/route.model.json" --plate "$plate" --key-file "$WORK/key" --top 3 \
  --reason "notebook 03: route example"

# %% Every vehicle seen in the store's last hour, to CSV for a briefing.
"$ANPR" predict-route --store "$WORK/s.anpr" --model "$WORK/route.model.json" --recent-hours 1 --top 1 --out "$WORK/next.csv" > /dev/null
echo "$(($(wc -l < "$WORK/next.csv") - 1)) predictions in next.csv"; head -3 "$WORK/next.csv"

# %% Backtest the route model alone (top-1/top-3, MRR, log loss, arrival error and interval coverage).
"$ANPR" evaluate --store "$WORK/s.anpr" --spec Models/markov-route.yaml --train-days 9
