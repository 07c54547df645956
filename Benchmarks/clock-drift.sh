#!/usr/bin/env bash
# Clock-drift flags against the simulator's skewed cameras (issue 16). For each seed: simulate a town
# with settings drawn from the seed (scale, days, how many cameras are skewed and by how much), ingest,
# run `anpr inspect --json`, and compare the flagged cameras with truth.json's clockSkewSeconds:
# true and false flags per seed, pooled precision and recall (recall also among cameras skewed by at
# least 30 s), and how often the flag's 95% interval holds the true skew.
#   Benchmarks/clock-drift.sh SEED...
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NO_BUILD:-}" ] || swift build -c release --product anpr >&2
BIN=.build/release/anpr
DIR=${BENCH_DATA:-/tmp/anprkit-bench}/clock-drift
OUT=$(mktemp)
for s in "$@"; do
  d="$DIR/seed-$s"
  args=$(python3 - "$s" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]) * 104729 + 3)
low = r.randint(10, 60)
a = {"scale": round(r.uniform(0.6, 1.6), 2), "days": r.randint(10, 28), "skewed-cameras": round(r.uniform(1, 6), 1),
     "skew-seconds": f"{low}-{low + r.randint(5, 90)}"}
print(" ".join(f"--{k} {v}" for k, v in a.items()))
PY
)
  if [ ! -f "$d/store.anpr" ]; then
    rm -rf "$d"
    # shellcheck disable=SC2086
    $BIN simulate --seed "$s" --oracle-replicates 0 $args --out "$d" > /dev/null
    $BIN ingest "$d/reads.csv" --cameras "$d/cameras.csv" --store "$d/store.anpr" --keep-raw-plates > /dev/null
  fi
  $BIN inspect "$d/store.anpr" --json | tail -n 1 > "$d/inspect.json"
  echo "$s|$args|$d" >> "$OUT"
done
python3 - "$OUT" <<'PY'
import json, sys
tp = fp = fn = fn30 = tp30 = covered = 0
print("| seed | settings | skewed cameras | flags | true | false | missed |")
print("|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    seed, args, d = line.strip().split("|")
    truth = json.load(open(f"{d}/truth.json"))["clockSkewSeconds"]
    flags = {f["camera"]: f for f in json.load(open(f"{d}/inspect.json"))["quality"]["clockDrift"]}
    t = sum(1 for c in flags if c in truth)
    f = len(flags) - t
    m = sum(1 for c in truth if c not in flags)
    tp += t; fp += f; fn += m
    tp30 += sum(1 for c, v in truth.items() if abs(v) >= 30 and c in flags)
    fn30 += sum(1 for c, v in truth.items() if abs(v) >= 30 and c not in flags)
    covered += sum(1 for c, x in flags.items() if c in truth and x["ciLowSeconds"] <= truth[c] <= x["ciHighSeconds"])
    print(f"| {seed} | `{args}` | {len(truth)} | {len(flags)} | {t} | {f} | {m} |")
p = tp / (tp + fp) if tp + fp else float("nan")
r = tp / (tp + fn) if tp + fn else float("nan")
r30 = tp30 / (tp30 + fn30) if tp30 + fn30 else float("nan")
print(f"\npooled: precision {p:.3f} ({tp} of {tp + fp} flags), recall {r:.3f} ({tp} of {tp + fn} skewed cameras), "
      f"recall for skews ≥ 30 s {r30:.3f}; true skew inside the flag's 95% interval for {covered} of {tp} true flags")
PY
