#!/usr/bin/env bash
# Issue 20's equivalence test: on a simulated week, the statistics from one `anpr ingest` + store,
# from `anpr stats` over day shards + `anpr merge`, and from the Spark job with 1, 3 and 7 partitions
# are identical byte for byte, and so are the models fitted from them (and from the store directly).
#   scale/spark/equivalence.sh [ANPR] [SCALE]     (defaults: .build/debug/anpr, 0.2)
set -euo pipefail
cd "$(dirname "$0")/../.."
ANPR=$(realpath "${1:-.build/debug/anpr}")
SCALE=${2:-0.2}
W=$(mktemp -d "${TMPDIR:-/tmp}/anprkit-spark-XXXXXX")
trap 'rm -rf "$W"' EXIT
$ANPR simulate --seed 7403 --days 7 --scale "$SCALE" --oracle-replicates 0 --out "$W/town" > /dev/null
T=$W/town
$ANPR keygen --out "$W/key" > /dev/null
$ANPR ingest "$T/reads.csv" --cameras "$T/cameras.csv" --vehicles "$T/vehicles.csv" --key-file "$W/key" --store "$W/s.anpr" > /dev/null
$ANPR stats --store "$W/s.anpr" --complete --out "$W/store.stats" 2> /dev/null
# Day shards (UTC days; rows the simulator damaged go with the first day), each declaring its day.
python3 - "$T/reads.csv" "$W" <<'PY'
import collections, sys
rows = open(sys.argv[1]).read().splitlines()
by = collections.defaultdict(list)
days = sorted({r.split(",")[3][:10] for r in rows[1:] if len(r.split(",")) > 3 and r.split(",")[3][:4].isdigit() and r.split(",")[3][5:7] <= "12"})
for r in rows[1:]:
    f = r.split(",")
    d = f[3][:10] if len(f) > 3 and f[3][:10] in days else days[0]
    by[d].append(r)
for d in days:
    open(f"{sys.argv[2]}/day-{d}.csv", "w").write(rows[0] + "\n" + "\n".join(by[d]) + "\n")
PY
for f in "$W"/day-*.csv; do
  d=$(basename "$f" .csv); d=${d#day-}
  next=$(date -u -d "$d + 1 day" +%Y-%m-%d)
  $ANPR stats "$f" --cameras "$T/cameras.csv" --vehicles "$T/vehicles.csv" --key-file "$W/key" \
    --span "${d}T00:00Z..${next}T00:00Z" --out "${f%.csv}.stats" 2> /dev/null
done
# Merged in reverse order (the result does not depend on it), then completed.
$ANPR merge $(ls "$W"/day-*.stats | sort -r) --complete --out "$W/days.stats" 2> /dev/null
cmp "$W/days.stats" "$W/store.stats"
echo "day shards + merge: identical to the store's statistics ($(grep -c . "$W/store.stats") records)"
python3 scale/spark/equivalence.py "$ANPR" "$T" "$W/key" "$W/store.stats" "$W" 1 3 7
# The models: from the store, from the merged day shards and from Spark's statistics, byte for byte.
for spec in markov-route historical-mean kernel-density; do
  $ANPR train --store "$W/s.anpr" --spec "Models/$spec.yaml" --out "$W/$spec-store.json" > /dev/null
  $ANPR train --stats "$W/days.stats" --spec "Models/$spec.yaml" --out "$W/$spec-days.json" > /dev/null
  $ANPR train --stats "$W/spark-7.stats" --spec "Models/$spec.yaml" --out "$W/$spec-spark.json" > /dev/null
  cmp "$W/$spec-store.json" "$W/$spec-days.json" && cmp "$W/$spec-store.json" "$W/$spec-spark.json"
  echo "$spec: the same model file from the store, the day shards and Spark"
done
echo "spark equivalence: passed"
