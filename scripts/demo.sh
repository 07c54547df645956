#!/usr/bin/env bash
# The end-to-end demo (`make demo`): simulate a town, ingest it, train every model, compare them in a
# backtest against the oracle, forecast next week, plan patrols, link rotating hire cars, write the report.
set -euo pipefail
OUT=${1:-out/demo}
ANPR=${ANPR:-.build/release/anpr}
SEED=${SEED:-7}
DAYS=${DAYS:-28}
rm -rf "$OUT"; mkdir -p "$OUT"/{town,store,key,trained,results}
step() { echo; echo "== $*"; }

step "1. Simulate a seaside town: $DAYS days, actors rotating hire cars, sensor faults, and the truth"
"$ANPR" simulate --seed "$SEED" --days "$DAYS" --scale 1 --out "$OUT/town"

step "2. A pseudonymisation key, kept apart from the data"
"$ANPR" keygen --out "$OUT/key/anpr.key"

step "3. Ingest: validate, de-duplicate, pseudonymise (every row accounted for)"
"$ANPR" ingest "$OUT/town/reads.csv" --cameras "$OUT/town/cameras.csv" --vehicles "$OUT/town/vehicles.csv" \
  --store "$OUT/store/town.anpr" --key-file "$OUT/key/anpr.key" --rejects "$OUT/results/rejects.csv"

step "4. Inspect the store"
"$ANPR" inspect "$OUT/store/town.anpr" | head -12

step "5. Train every hotspot model in Models/ on reads of rental vehicles (route models learn from every trip: step 10)"
"$ANPR" models
for spec in Models/*.yaml; do
  case "$spec" in *essex*|*markov-route*|*next-appearance*|*linkage*|*co-travel*) continue ;; esac
  name=$(basename "$spec" .yaml)
  "$ANPR" train --store "$OUT/store/town.anpr" --spec "$spec" --target keeper=rental --out "$OUT/trained/$name.model.json" | head -1
done
"$ANPR" models "$OUT/trained/poisson-hotspot.model.json"

step "6. Compare every hotspot and route model, and the next-appearance forecast, in a rolling backtest, with the oracle from the truth"
"$ANPR" compare --store "$OUT/store/town.anpr" --target keeper=rental --truth "$OUT/town" --key-file "$OUT/key/anpr.key" \
  --max-windows 14 --out "$OUT/results/comparison.json" --csv "$OUT/results/comparison.csv" | tee "$OUT/results/comparison.txt"

step "7. Sweep the prospective hotspot's bandwidths"
"$ANPR" sweep --store "$OUT/store/town.anpr" --spec Models/prospective-hotspot.yaml --target keeper=rental \
  --grid bandwidth_metres=200,400,800 --grid bandwidth_days=3,14 --max-windows 7

step "8. Forecast next week (Poisson GLM): Friday 14–22h hotspots with 90% intervals"
"$ANPR" forecast --store "$OUT/store/town.anpr" --model "$OUT/trained/poisson-hotspot.model.json" --days 7 \
  --window "Fri 14-22" --out "$OUT/results/forecast.csv" --geojson "$OUT/results/hotspots.geojson" \
  --kml "$OUT/results/hotspots.kml" --gpkg "$OUT/results/hotspots.gpkg" --top 8

step "9. Link rotating hire cars by behaviour (scored against the truth)"
"$ANPR" link --store "$OUT/store/town.anpr" --out "$OUT/results/groups.csv" --links "$OUT/results/links.csv" \
  --truth "$OUT/town" --key-file "$OUT/key/anpr.key" | grep -v "^  V"

step "9b. Where and when the first linked group will next appear (whatever car it drives), and where it may stop"
"$ANPR" next-appearance --store "$OUT/store/town.anpr" --group "$OUT/results/groups.csv:G1" --top 5 --reason "demo: linked group G1"

step "9c. Hotspots for the linked groups, judged on the truth's actors beside models trained on the actors themselves"
"$ANPR" compare --store "$OUT/store/town.anpr" --target "groups=$OUT/results/groups.csv" --truth "$OUT/town" --key-file "$OUT/key/anpr.key" \
  --spec Models/historical-mean.yaml --spec Models/poisson-hotspot.yaml --no-routes --no-next-appearance --max-windows 7 --reason "demo: linked groups"

step "10. Next camera for vehicles seen in the last hour"
"$ANPR" train --store "$OUT/store/town.anpr" --spec Models/markov-route.yaml --out "$OUT/trained/markov-route.model.json" | head -1
"$ANPR" predict-route --store "$OUT/store/town.anpr" --model "$OUT/trained/markov-route.model.json" --recent-hours 1 \
  --top 2 --out "$OUT/results/next-sites.csv" | head -6

step "11. Report"
"$ANPR" report --store "$OUT/store/town.anpr" --comparison "$OUT/results/comparison.json" \
  --model "$OUT/trained/poisson-hotspot.model.json" --window "Fri 14-22" --groups "$OUT/results/groups.csv" \
  --shifts early=06-14,late=14-22,night=22-06 --patrol-csv "$OUT/results/patrol-plan.csv" \
  --patrol-gpkg "$OUT/results/patrol-areas.gpkg" --pdf "$OUT/report.pdf" \
  --out "$OUT/report.html" --title "ANPRKit demo: simulated seaside town, $DAYS days"
echo
echo "Done. Open $OUT/report.html, or print $OUT/report.pdf (results in $OUT/results, trained models in $OUT/trained)."
