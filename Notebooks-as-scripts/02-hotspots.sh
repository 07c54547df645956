#!/usr/bin/env bash
# 02 — Hotspots: where will hire cars be seen next week, and when? Then the same on real crime data.
set -euo pipefail
source Notebooks-as-scripts/common.sh  # $WORK/s.anpr from Data/sample, key in $WORK/key

# %% Train the Poisson GLM on reads of rental vehicles. The summary says whether IRLS converged and
# notes anything odd (sites with no target counts are kept finite by the ridge penalty).
"$ANPR" train --store "$WORK/s.anpr" --spec Models/poisson-hotspot.yaml --target keeper=rental --out "$WORK/glm.model.json"

# %% The negative-binomial variant estimates overdispersion; its intervals are wider.
"$ANPR" train --store "$WORK/s.anpr" --spec Models/negative-binomial-hotspot.yaml --target keeper=rental --out "$WORK/nb.model.json"

# %% Forecast next week for a shift ("Friday 14–22h"): each site with its expected count and a 90%
# interval; GeoJSON opens in QGIS as it is.
"$ANPR" forecast --store "$WORK/s.anpr" --model "$WORK/nb.model.json" --window "Fri 14-22" --top 5 \
  --out "$WORK/forecast.csv" --geojson "$WORK/hotspots.geojson" --gpkg "$WORK/hotspots.gpkg"
python3 -c "import json,sys; d=json.load(open('$WORK/hotspots.geojson')); print(len(d['features']), 'features in the GeoJSON')"
# %% The same as a GeoPackage layer (QGIS, ArcGIS, GDAL); read here with Python's own SQLite.
python3 - "$WORK/hotspots.gpkg" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select table_name, data_type, srs_id from gpkg_contents").fetchall())
print(db.execute("select rank, unit, round(expected, 2) from anprkit_hotspots order by rank limit 3").fetchall())
PY

# %% A model file names its kind and format; the wrong kind is refused with a message.
if "$ANPR" predict-route --store "$WORK/s.anpr" --model "$WORK/glm.model.json" --recent-hours 1 2> "$WORK/err"; then exit 1; fi
cat "$WORK/err"

# %% Real data: Southend-on-Sea drugs offences (police.uk, OGL v3.0), monthly, on a 500 m grid.
# police.uk gives months only, and the extract lacks Aug–Sep 2018: the comparison says so.
"$ANPR" compare --events Data/essex/southend-events-2018.csv --category Drugs --cell-metres 500 --grid-offsets 2
