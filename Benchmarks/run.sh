#!/usr/bin/env bash
# Runs every benchmark suite and its Python peer in one run, on the same inputs, and prints
# Markdown tables for BENCHMARKS.md. Usage: Benchmarks/run.sh [suite...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ANPRBench >&2
swift build -c release --product anpr >&2
BIN=.build/release
REPEATS=${REPEATS:-5}
suites=("$@"); [ ${#suites[@]} -eq 0 ] && suites=(linalg ingest simulate glm hotspot-glm routes linkage)
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; $(swift --version 2>&1 | head -1)"
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ); repeats: $REPEATS (median reported)"
for suite in "${suites[@]}"; do
  case "$suite" in
    linalg)
      for coretype in "" Haswell; do
        label="linalg, OPENBLAS_CORETYPE=${coretype:-unset}"
        { env ${coretype:+OPENBLAS_CORETYPE=$coretype} $BIN/ANPRBench linalg --repeats "$REPEATS"
          env ${coretype:+OPENBLAS_CORETYPE=$coretype} python3 Benchmarks/peers/linalg_peer.py "$REPEATS"
        } | python3 Benchmarks/compare.py "$label"
      done ;;
    ingest)
      # 10 million read rows from the simulator (28 days at scale 5.8), generated once and cached.
      DIR=${BENCH_DATA:-/tmp/anprkit-bench}/ingest
      if [ ! -f "$DIR/reads.csv" ]; then
        $BIN/anpr simulate --seed 99 --days 28 --scale 5.8 --oracle-replicates 0 --out "$DIR" >&2
      fi
      ROWS=$(($(wc -l < "$DIR/reads.csv") - 1))
      echo "reads.csv: $ROWS rows, $(du -m "$DIR/reads.csv" | cut -f1) MB"
      KEY=$(mktemp); echo "benchmark key 0123456789abcdef0123" > "$KEY"
      # Runs interleaved (ANPRKit, polars eager, polars lazy) × INGEST_REPEATS, so that the machine's
      # background noise falls on all three alike; medians reported.
      RUNS=$(mktemp)
      for i in $(seq 1 "${INGEST_REPEATS:-5}"); do
        rm -f "$DIR/store.anpr"
        /usr/bin/time -f "%e %M" -o "$DIR/time.txt" $BIN/anpr ingest "$DIR/reads.csv" --cameras "$DIR/cameras.csv" \
          --vehicles "$DIR/vehicles.csv" --store "$DIR/store.anpr" --key-file "$KEY" > /dev/null
        read -r t m < "$DIR/time.txt"
        echo "{\"suite\":\"ingest\",\"bench\":\"ingest\",\"n\":$ROWS,\"median_s\":$t,\"rows_per_s\":$(python3 -c "print($ROWS/$t)"),\"peak_mb\":$((m/1024)),\"impl\":\"ANPRKit\"}" >> "$RUNS"
        python3 Benchmarks/peers/ingest_peer.py "$DIR/reads.csv" 1 "$ROWS" >> "$RUNS"
      done
      python3 - "$RUNS" 2> "$RUNS.each" <<'PY' | python3 Benchmarks/compare.py "ingest: CSV → store (ANPRKit: validate, dedupe, pseudonymise, write) vs polars group-by count per camera and hour"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for impl in dict.fromkeys(r["impl"] for r in runs):
    rs = [r for r in runs if r["impl"] == impl]
    out = dict(rs[0]); out["median_s"] = statistics.median(r["median_s"] for r in rs)
    out["rows_per_s"] = out["n"] / out["median_s"]; out["peak_mb"] = max(r["peak_mb"] for r in rs)
    print(json.dumps(out))
    print(f"{impl}: " + ", ".join(f"{r['median_s']:.2f}" for r in rs) + " s", file=sys.stderr)
PY
      echo; echo "Each run (interleaved):"; sed 's/^/- /' "$RUNS.each"; echo
      rm -f "$RUNS" "$RUNS.each"
      echo "store: $(du -m "$DIR/store.anpr" | cut -f1) MB ($(python3 -c "import os;print(round(os.path.getsize('$DIR/store.anpr')/$ROWS,2))") bytes/read incl. header and registry)"
      rm -f "$KEY" ;;
    glm)
      DIR=${BENCH_DATA:-/tmp/anprkit-bench}/glm
      { GLM_DENSE=1 $BIN/ANPRBench glm --repeats 3 "$DIR"; python3 Benchmarks/peers/glm_peer.py "$DIR"; } \
        | python3 Benchmarks/compare.py "Poisson GLM: 200 units × 8 weeks hourly (268 800 rows, 371 parameters)" ;;
    hotspot-glm)
      HOTSPOT_DENSE=1 $BIN/ANPRBench hotspot-glm --repeats 5 \
        | python3 Benchmarks/compare.py "Poisson hotspot model through Training.train: 200 units × 8 weeks hourly (268 800 cells)" ;;
    linkage)
      DIR=${BENCH_DATA:-/tmp/anprkit-bench}/linkage
      { $BIN/ANPRBench linkage "$DIR"; python3 Benchmarks/peers/linkage_peer.py "$DIR" 100000; } \
        | python3 Benchmarks/compare.py "Linkage: top-10 cosine neighbours of 100 000 signatures of dimension 256" ;;
    routes)
      DIR=${BENCH_DATA:-/tmp/anprkit-bench}/ingest
      [ -f "$DIR/store.anpr" ] || Benchmarks/run.sh ingest > /dev/null
      { $BIN/ANPRBench routes "$DIR/store.anpr"; python3 Benchmarks/peers/routes_peer.py "$DIR/reads.csv"; } \
        | python3 Benchmarks/compare.py "Routes: transition counting over every trip (8.4 M reads) and next-site prediction for every trip step" ;;
    simulate)
      DIR=$(mktemp -d)
      /usr/bin/time -f "%e %M" -o "$DIR/t1" $BIN/anpr simulate --seed 5 --days 28 --scale 1 --out "$DIR/town" --json > "$DIR/s1"
      /usr/bin/time -f "%e %M" -o "$DIR/t2" $BIN/anpr simulate --seed 5 --days 2 --scale 50 --oracle-replicates 0 --out "$DIR/county" --json > "$DIR/s2"
      python3 - "$DIR" <<'PY'
import json, sys
d = sys.argv[1]
print("| run | read rows | seconds | reads/s | peak MB |\n|---|---|---|---|---|")
for label, t, s in (("28-day town, scale 1 (with oracle)", "t1", "s1"), ("2-day county, scale 50 (no oracle)", "t2", "s2")):
    sec, kb = open(f"{d}/{t}").read().split()
    rows = json.loads(open(f"{d}/{s}").read().strip().splitlines()[-1])["readRows"]
    print(f"| {label} | {rows} | {float(sec):.2f} | {rows/float(sec):,.0f} | {int(kb)//1024} |")
PY
      rm -rf "$DIR" ;;
    *) echo "unknown suite $suite" >&2; exit 2 ;;
  esac
done
