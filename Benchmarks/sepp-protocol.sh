#!/usr/bin/env bash
# The synthetic self-exciting benchmark of ../shared/data/sepp-synthetic/ (issue 17), under its protocol:
# one fixed 150 m grid, 65 one-day forecasts for days 300–364, each trained on every day before it, pooled
# hit rate at 1/2/5/10/20% coverage (open_cp's `hit_counts` summed; open_cp's published figures are in
# that README). Each model runs alone in its own process, timed with /usr/bin/time: the wall time over the
# 65 windows (process start, event loading and every fit included) and that time per forecast.
# Usage: Benchmarks/sepp-protocol.sh [MODEL...]   (default: every model; names as in the table below)
# SEPP_DIR: where gen.py lives (default ../shared/data/sepp-synthetic).
set -euo pipefail
ANPR=${ANPR:-.build/release/anpr}
SEPP_DIR=${SEPP_DIR:-../shared/data/sepp-synthetic}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
python3 "$SEPP_DIR/gen.py" "$WORK/raw.csv" > /dev/null
# Metres to latitude/longitude around 51.5° N, 0° E by the equirectangular scale the event grid uses
# (111 200 m a degree of latitude, times cos 51.5° for longitude), so the 150 m grid starts at the
# events' south-west corner.
python3 - "$WORK/raw.csv" "$WORK/events.csv" <<'EOF'
import csv, math, sys
m_lat = 111_200.0
m_lon = m_lat * math.cos(math.radians(51.5))
with open(sys.argv[1]) as f, open(sys.argv[2], "w", newline="") as g:
    w = csv.writer(g); w.writerow(["event_id", "timestamp", "latitude", "longitude", "category"])
    for i, r in enumerate(csv.DictReader(f), 1):
        w.writerow([i, r["time"] + "Z", f"{51.5 + float(r['y']) / m_lat:.7f}", f"{float(r['x']) / m_lon:.7f}", "synthetic"])
EOF
# The default specs, with daily bins where a model's default is hourly.
for m in last-window historical-mean daily-profile kernel-density prospective-hotspot; do cp "Models/$m.yaml" "$WORK/$m.yaml"; done
printf 'kind: poisson-hotspot\nname: poisson-glm\nbin: 1d\n' > "$WORK/poisson-glm.yaml"
printf 'kind: poisson-hotspot\nname: nb-glm\nbin: 1d\nparams:\n  family: negative-binomial\n  ridge: 1.0\n' > "$WORK/nb-glm.yaml"
printf 'kind: self-exciting\nname: self-exciting\nbin: 1d\nparams:\n  cutoff_days: 7\n  cutoff_metres: 1500\n' > "$WORK/self-exciting.yaml"
MODELS=${*:-last-window historical-mean daily-profile kernel-density prospective-hotspot poisson-glm nb-glm self-exciting}
printf '%-20s %8s %12s %7s %7s %7s %7s %7s\n' model wall_s ms/forecast '1%' '2%' '5%' '10%' '20%'
for m in $MODELS; do
  /usr/bin/time -f '%e' -o "$WORK/time" "$ANPR" compare --events "$WORK/events.csv" --cell-metres 150 --bin 1d --grid-offsets 1 \
    --timezone UTC --train-days 300 --spec "$WORK/$m.yaml" --no-routes --no-next-appearance --out "$WORK/$m.json" > /dev/null
  python3 - "$WORK/$m.json" "$(cat "$WORK/time")" "$m" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); wall = float(sys.argv[2]); model = c["models"][0]; n = model["windows"]
rates = [model["metrics"][f"hit_rate_pooled@{k}%"]["value"] for k in (1, 2, 5, 10, 20)]
print(f"{sys.argv[3]:<20} {wall:8.2f} {1000 * wall / n:12.1f} " + " ".join(f"{100 * r:6.1f}%" for r in rates))
EOF
done
