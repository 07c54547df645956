#!/usr/bin/env bash
# Statistics at scale (issue 20), one run each on this machine: a simulated export (default 28 days at
# scale 4, ~6 M reads) turned into statistics four ways, with wall time and peak memory (/usr/bin/time):
#   1. anpr ingest + anpr stats --store --complete (one process, one store);
#   2. anpr stats per day shard (28 processes, one after another) + anpr merge --complete;
#   3. the Spark job, local[2], 2 and 8 partitions (the Swift map step inside Spark);
#   4. the peer: a plain Spark SQL group-by of reads per site and hour (counts only).
# and checks that 1–3 wrote the same bytes.
#   Benchmarks/spark-stats.sh [SCALE] [DAYS]
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-4}; DAYS=${2:-28}
swift build -c release --product anpr >&2
scripts/install-deps.sh spark >&2
B=$(realpath .build/release/anpr)
W=${BENCH_DATA:-/tmp/anprkit-bench}/spark-stats-$SCALE-$DAYS
mkdir -p "$W"
T=$W/town
[ -f "$T/reads.csv" ] || $B simulate --seed 7405 --days "$DAYS" --scale "$SCALE" --oracle-replicates 0 --out "$T" > /dev/null
[ -f "$W/key" ] || $B keygen --out "$W/key" > /dev/null
echo "reads: $(($(wc -l < "$T/reads.csv") - 1)) rows, $(du -h "$T/reads.csv" | cut -f1)"
timed() { local name=$1; shift; /usr/bin/time -f "$name: %e s wall, %M KB peak (largest process)" "$@" > /dev/null 2> "$W/$name.err" || { cat "$W/$name.err"; exit 1; }; grep "$name:" "$W/$name.err"; }
rm -f "$W/s.anpr" "$W"/s.anpr.*
timed ingest $B ingest "$T/reads.csv" --cameras "$T/cameras.csv" --vehicles "$T/vehicles.csv" --key-file "$W/key" --store "$W/s.anpr"
timed stats-store $B stats --store "$W/s.anpr" --complete --out "$W/store.stats"
# Day shards, as an export system would deliver them.
if [ ! -d "$W/days" ]; then
  mkdir -p "$W/days"
  python3 - "$T/reads.csv" "$W/days" <<'PY'
import sys
src, out = sys.argv[1], sys.argv[2]
files = {}
with open(src) as f:
    header = f.readline()
    first = None
    for line in f:
        p = line.split(",")
        d = p[3][:10] if len(p) > 3 and p[3][:2] == "20" and p[3][5:7] <= "12" else None
        d = d or first
        if d is None: d = "bad"
        first = first or d
        if d not in files:
            files[d] = open(f"{out}/{d}.csv", "w"); files[d].write(header)
        files[d].write(line)
for f in files.values(): f.close()
PY
fi
start=$(date +%s.%N); peak=0
for f in "$W"/days/*.csv; do
  d=$(basename "$f" .csv); next=$(date -u -d "$d + 1 day" +%Y-%m-%d)
  /usr/bin/time -f "%M" -o "$W/day.mem" $B stats "$f" --cameras "$T/cameras.csv" --vehicles "$T/vehicles.csv" --key-file "$W/key" \
    --span "${d}T00:00Z..${next}T00:00Z" --out "${f%.csv}.stats" 2> /dev/null
  m=$(tail -1 "$W/day.mem"); [ "$m" -gt "$peak" ] && peak=$m
done
end=$(date +%s.%N)
echo "stats-day-shards: $(python3 -c "print(f'{$end - $start:.2f}')") s wall for $(ls "$W"/days/*.csv | wc -l) shards, $peak KB peak (largest shard)"
timed merge $B merge "$W"/days/*.stats --complete --out "$W/days.stats"
cmp "$W/days.stats" "$W/store.stats" && echo "day shards + merge: identical to the store's statistics"
for P in 2 8; do
  timed spark-job-$P python3 scale/spark/anpr_stats_job.py --master 'local[2]' --reads "$T/reads.csv" --cameras "$T/cameras.csv" \
    --vehicles "$T/vehicles.csv" --key-file "$W/key" --anpr "$B" --partitions $P --out "$W/spark-$P.stats"
  cmp "$W/spark-$P.stats" "$W/store.stats" && echo "spark job, $P partitions: identical to the store's statistics"
done
timed spark-sql-peer python3 Benchmarks/peers/spark_sql_counts.py "$T/reads.csv" "$T/cameras.csv" 'local[2]'
grep "site-hours" "$W/spark-sql-peer.err" || true
