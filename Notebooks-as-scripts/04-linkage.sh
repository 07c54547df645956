#!/usr/bin/env bash
# 04 — Linkage: one actor behind several hire cars. Links are leads to check, never facts.
set -euo pipefail
source Notebooks-as-scripts/common.sh  # $WORK/s.anpr from Data/sample, key in $WORK/key

# %% Cut each hire car's history into periods of use (one driver each), then link periods whose behaviour
# matches and whose use never overlaps. Each link has a score, a confidence (1 − local false-discovery
# rate) and evidence in words. The simulator's truth scores the result (pairwise and B-cubed
# precision/recall, episode boundaries, a reliability table) and a threshold curve shows the trade-off.
"$ANPR" link --store "$WORK/s.anpr" --out "$WORK/groups.csv" --links "$WORK/links.csv" --truth Data/sample --key-file "$WORK/key"
head -3 "$WORK/groups.csv"

# %% The groups file holds pseudonyms only: the same ids the store holds.
if grep -q "$(sed -n 2p Data/sample/vehicles.csv | cut -d, -f1)" "$WORK/groups.csv"; then exit 1; fi

# %% An actor group is a target: forecast where the group (whatever car it drives) will be seen. Its
# members are periods of use (PLATE#FROM..TO): only those reads of each car count.
ids=$(tail -n +2 "$WORK/groups.csv" | awk -F, '$1=="G1"{print $2}' | paste -sd, -)
if [ -n "$ids" ]; then
  "$ANPR" train --store "$WORK/s.anpr" --spec Models/historical-mean.yaml --target "vehicles=$ids" --out "$WORK/g1.model.json" \
    --reason "notebook 04: group forecast"
  "$ANPR" forecast --store "$WORK/s.anpr" --model "$WORK/g1.model.json" --top 3
fi
