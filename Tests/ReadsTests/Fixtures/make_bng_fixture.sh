#!/usr/bin/env bash
# Regenerates bng-wgs84.csv: British National Grid (EPSG:27700) points across Great Britain and their
# WGS84 latitude/longitude as PROJ's own command-line tool cs2cs gives them (Debian proj-bin).
# The Swift test checks ANPRKit's CoordinateTransform against these, to 1e-9 degrees.
# Usage (from the repo root): Tests/ReadsTests/Fixtures/make_bng_fixture.sh
set -euo pipefail
cd "$(dirname "$0")"
command -v cs2cs >/dev/null || { echo "needs cs2cs: apt-get install proj-bin" >&2; exit 1; }
points="
375000 165000 Bath
530000 180000 Westminster
588000 186000 Southend-on-Sea
570000 205000 Chelmsford
326000 673000 Edinburgh
258000 665000 Glasgow
147000 30000 Penzance
338000 398000 Manchester
461000 1143000 Shetland
216000 771000 Oban
320000 575000 Carlisle
651000 308000 Norwich
80000 10000 Scilly
400000 500000 Pennines
"
{
  echo "easting,northing,latitude,longitude,place,proj"
  while read -r e n place; do
    [ -z "$e" ] && continue
    read -r lat lon _ < <(echo "$e $n" | cs2cs -f "%.10f" EPSG:27700 EPSG:4326)
    echo "$e,$n,$lat,$lon,$place,$(cs2cs 2>&1 | head -1 | sed 's/,//g')"
  done <<< "$points"
} > bng-wgs84.csv
echo "wrote $(wc -l < bng-wgs84.csv) lines to $(pwd)/bng-wgs84.csv"
