#!/usr/bin/env bash
# Makes the committed seed corpus of the fuzz targets (Fuzz/Corpus/) with the anpr binary:
#   ingest/  small exports: the input schema, faults of every kind, a UK export with local times,
#            epoch seconds, semicolons, a gzip member
#   store/   small stores (this format and the version-1 fixture)
#   model/   every hotspot kind and the route model, trained on history.anpr (a 10-day town at scale
#            0.15), which fuzz-model also forecasts from
#   Fuzz/make-corpus.sh [ANPR_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
ANPR=$(realpath "${1:-.build/debug/anpr}")
C=$PWD/Fuzz/Corpus
rm -rf "$C" && mkdir -p "$C/ingest" "$C/store" "$C/model"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
"$ANPR" simulate --seed 7 --days 10 --scale 0.15 --oracle-replicates 0 --out "$W/town" > /dev/null
"$ANPR" keygen --out "$W/key" > /dev/null
# Ingested from inside the work folder: the stores' ingest history names files, not this machine's paths.
(cd "$W" && "$ANPR" ingest town/reads.csv --cameras town/cameras.csv --vehicles town/vehicles.csv --store "$C/history.anpr" --key-file key > /dev/null)
cp Tests/ReadsTests/Fixtures/v1-store.anpr "$C/store/v1.anpr"
# Exports: the fuzz target's camera registry has C1, C2, C3 and CAM0007.
head -c 1500 "$W/town/reads.csv" | sed 's/CAM[0-9]*/CAM0007/' > "$C/ingest/simulated.csv"
cat > "$C/ingest/faults.csv" <<'CSV'
read_id,plate,camera_id,timestamp,confidence
1,AB12CDE,C1,2026-03-05T17:00:00Z,0.9
2,AB12CDE,C2,2026-03-05T17:00:05Z,95
3,,C1,2026-03-05T17:00:00Z,1
4,XY12ZZZ,C9,2026-03-05T17:00:00Z,1
5,XY12ZZZ,C3,2026-03-05 17:00:00,1
6,XY12ZZZ,C3,not-a-time,1
7,"XY12 ZZZ",C3,2026-03-05T17:00:00Z,250
8,short

10,A812CDE,C3,2099-03-05T16:00:00Z,
CSV
printf 'VRM,CameraID,ReadTime\r\nAB12 CDE,C1,05/03/2026 17:00:00\r\nXY12ZZZ,C2,29/03/2026 01:30:00\r\nQQ99QQQ,C3,25/10/2026 01:30:00\r\n' > "$C/ingest/uk-local.csv"
printf 'plate;camera_id;timestamp\nAB12CDE;C1;1772730000\nAB12CDE;C3;1772730060\n' > "$C/ingest/semicolon-epoch.csv"
printf 'plate,camera_id,timestamp\nAB12CDE,C1,2026-03-05T17:00:00+01:00\nZZ1,C2,2026-03-05T17:00:00.250Z\n' | gzip -n > "$C/ingest/offsets.csv.gz"
# A small store of this format.
printf 'plate,camera_id,timestamp\nAB12CDE,C1,1772730000\nAB12CDE,C3,1772730600\nXY12ZZZ,C2,1772731000\n' > "$W/small.csv"
printf 'camera_id,site_id,latitude,longitude\nC1,S1,51.54,0.70\nC2,S1,51.54,0.70\nC3,S3,51.55,0.72\n' > "$W/cams.csv"
(cd "$W" && "$ANPR" ingest small.csv --cameras cams.csv --store "$C/store/small.anpr" --key-file key > /dev/null)
# Models.
for spec in historical-mean kernel-density last-window poisson-hotspot negative-binomial-hotspot prospective-hotspot self-exciting markov-route; do
  "$ANPR" train --store "$C/history.anpr" --spec "Models/$spec.yaml" --out "$C/model/$spec.model.json" > /dev/null
done
rm -f "$C"/*.lock "$C"/*/*.lock
ls -l "$C"/* | awk '{s += $5} END {print "corpus bytes:", s}'
