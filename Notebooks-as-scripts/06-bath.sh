#!/usr/bin/env bash
# 06 — Real ANPR data: the Bath survey (B&NES Council, 66 cameras, 31 Oct – 13 Nov 2017, OGL v3.0).
# Only aggregates are public: 15-minute counts per camera and camera-to-camera moves by hour of day,
# so the models learn from statistics computed elsewhere, without a store. See Data/bath/SOURCE.md.
set -euo pipefail
ANPR=${ANPR:-.build/release/anpr}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
BATH=Data/bath

# %% Hotspots on real traffic: which camera sites are busiest in each hour, scored on the last two
# days after 12 days of history (1-hour bins from the 15-minute counts), against the baselines.
"$ANPR" compare --counts "$BATH/counts.csv.gz" --units "$BATH/units.csv" --bin 1h --train-days 12 --max-windows 2 \
  --spec Models/last-window.yaml --spec Models/historical-mean.yaml --spec Models/poisson-hotspot.yaml

# %% Train on all 14 days and forecast the Monday-morning peak of the next week: expected reads per
# site with a 90% interval (the history is the counts file; no store needed).
"$ANPR" train --counts "$BATH/counts.csv.gz" --units "$BATH/units.csv" --spec Models/historical-mean.yaml --out "$WORK/bath.model.json"
"$ANPR" forecast --counts "$BATH/counts.csv.gz" --units "$BATH/units.csv" --model "$WORK/bath.model.json" --days 7 \
  --window "Mon 07-10" --top 5 --ranked "$WORK/ranked.csv"

# %% Routes on real moves: next camera from the current one, each hour of the day held out in turn
# (the moves have hours but no dates). Time bands against none: does the hour of day help?
"$ANPR" compare --transitions "$BATH/transitions.csv" --units "$BATH/units.csv"

# %% A route model trained on the moves, for predict-route on a store that uses the same camera ids.
"$ANPR" train --transitions "$BATH/transitions.csv" --units "$BATH/units.csv" --spec Models/markov-route-order1.yaml --out "$WORK/route.model.json"
