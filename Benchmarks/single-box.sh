#!/usr/bin/env bash
# Issue 20's one-box run: a ~10⁸-read export simulated, ingested into one store, every model in Models/
# trained on it and `anpr compare` run, each step's wall time and peak resident memory recorded
# (/usr/bin/time). Usage: Benchmarks/single-box.sh WORKDIR [SCALE DAYS MAX_WINDOWS]
# (defaults 18 90 7: ~10⁸ reads; the comparison scores the last MAX_WINDOWS daily windows).
# Needs ~6 GB of disk in WORKDIR; keep WORKDIR outside the repository. Each step has a time limit
# (STEP_LIMIT seconds, default 2400; the self-exciting model's SE_LIMIT, default 600: its EM on hourly
# traffic counts is the slow one) and exit code 124 in steps.tsv says it hit it. The comparison runs
# every hotspot, route and next-appearance spec but the self-exciting one.
set -u
work=${1:?usage: Benchmarks/single-box.sh WORKDIR [SCALE DAYS MAX_WINDOWS]}
scale=${2:-18}; days=${3:-90}; windows=${4:-7}
bin=$(cd "$(dirname "$0")/.." && pwd)/.build/release/anpr
models=$(cd "$(dirname "$0")/.." && pwd)/Models
mkdir -p "$work"
log="$work/steps.tsv"
echo -e "step\tseconds\tpeak_kb\texit" > "$log"
step() {  # step NAME COMMAND...
  local name=$1; shift
  local limit=${LIMIT:-${STEP_LIMIT:-2400}}
  /usr/bin/time -f "%e %M" -o "$work/.time" timeout "$limit" "$@" > "$work/$name.out" 2> "$work/$name.err"
  local rc=$?
  read -r secs kb < <(tail -1 "$work/.time")
  echo -e "$name\t$secs\t$kb\t$rc" | tee -a "$log"
}
echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; scale $scale, $days days, $windows windows; $(date -u +%FT%TZ)"
[ -f "$work/town/reads.csv.gz" ] || step simulate "$bin" simulate --seed 8 --days "$days" --scale "$scale" --oracle-replicates 0 --gzip --out "$work/town"
[ -f "$work/key" ] || "$bin" keygen --out "$work/key" > /dev/null
rm -rf "$work/store.anpr" "$work/store.anpr.audit.jsonl"
step ingest "$bin" ingest "$work/town/reads.csv.gz" --cameras "$work/town/cameras.csv" --vehicles "$work/town/vehicles.csv" \
  --store "$work/store.anpr" --key-file "$work/key" --rejects "$work/rejects.csv"
compared=()
for spec in "$models"/*.yaml; do
  name=$(basename "$spec" .yaml)
  if [ "$name" = self-exciting ]; then
    LIMIT=${SE_LIMIT:-600} step "train-$name" "$bin" train --store "$work/store.anpr" --spec "$spec" --out "$work/trained/$name.model.json"
  else
    step "train-$name" "$bin" train --store "$work/store.anpr" --spec "$spec" --out "$work/trained/$name.model.json"
  fi
  case "$name" in self-exciting|behaviour-linkage|co-travel|essex-monthly-hotspot) ;; *) compared+=(--spec "$spec") ;; esac
done
step compare "$bin" compare --store "$work/store.anpr" --max-windows "$windows" "${compared[@]}" --out "$work/compare.json"
