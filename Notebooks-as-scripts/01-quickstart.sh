#!/usr/bin/env bash
# 01 — Quick start: from a camera export to a store you can inspect.
# Runs from the repo root on Data/sample (14 simulated days, gzip-compressed reads) into a temp dir.
set -euo pipefail
ANPR=${ANPR:-.build/release/anpr}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/key" "$WORK/store"

# %% A pseudonymisation key. Plates are personal data: the store keeps HMAC pseudonyms, and the key
# lives apart from the data (here a separate folder; in practice a key vault or another machine).
"$ANPR" keygen --out "$WORK/key/anpr.key"

# %% Ingest. Look at the accounting line: read = accepted + rejected + duplicates, always. The sample
# contains injected faults (bad timestamps, unknown cameras, truncated rows) — each is rejected with a
# reason and written to the rejects file with its line number.
"$ANPR" ingest Data/sample/reads.csv.gz --cameras Data/sample/cameras.csv --vehicles Data/sample/vehicles.csv \
  --store "$WORK/store/sample.anpr" --key-file "$WORK/key/anpr.key" --rejects "$WORK/rejects.csv" --json | tail -1 > "$WORK/ingest.json"
python3 - "$WORK/ingest.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["read"] == r["accepted"] + r["rejected"] + r["duplicates"], r
print(f"read {r['read']} = accepted {r['accepted']} + rejected {r['rejected']} + duplicates {r['duplicates']}")
PY
head -4 "$WORK/rejects.csv"

# %% The same export again is all duplicates: appending never double-counts. An append writes only its
# batch, as a segment file beside the store; `compact` folds the segments back into one file.
"$ANPR" ingest Data/sample/reads.csv.gz --cameras Data/sample/cameras.csv --store "$WORK/store/sample.anpr" \
  --key-file "$WORK/key/anpr.key" | sed -n '1,2p;$p'
"$ANPR" compact "$WORK/store/sample.anpr"

# %% Inspect: counts, time span, activity by hour, repeat vehicles and data-quality flags (impossible
# travel, silent cameras, clock drift) — listed, never silently fixed.
"$ANPR" inspect "$WORK/store/sample.anpr"

# %% No raw plate is in the store: search it for one plate from the vehicles file.
plate=$(sed -n 2p Data/sample/vehicles.csv | cut -d, -f1)
if grep -q "$plate" "$WORK/store/"sample.anpr*; then echo "raw plate found in store!" >&2; exit 1; fi
echo "no raw plate in the store (checked $plate)"

# %% A UK back-office export: `VRM,CameraID,ReadTime,Confidence` with day-first local times
# (`02/03/2026 05:02:08`, UK clock). Made here from the sample by rewriting its UTC times on the
# Europe/London clock. Without --timezone the ingest stops before reading a row and says which option
# fixes it (exit 1); with it, the time format is detected from the first rows and reported, and the
# store holds exactly the reads of the ISO ingest above.
python3 - "$WORK/uk.csv" <<'PY'
import csv, gzip, sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
uk = ZoneInfo("Europe/London")
with gzip.open("Data/sample/reads.csv.gz", "rt", newline="") as f, open(sys.argv[1], "w", newline="") as out:
    w = csv.writer(out)
    w.writerow(["VRM", "CameraID", "ReadTime", "Confidence"])
    for r in csv.DictReader(f):
        if None in r.values():
            continue  # the sample's truncated rows (rejected either way)
        try:
            t = datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            local = t.astimezone(uk).strftime("%d/%m/%Y %H:%M:%S")
        except ValueError:
            local = "not-a-time"  # the sample's injected bad timestamps stay bad
        w.writerow([r["plate"], r["camera_id"], local, r["confidence"]])
PY
head -3 "$WORK/uk.csv"
uk=(ingest "$WORK/uk.csv" --cameras Data/sample/cameras.csv --store "$WORK/store/uk.anpr" --key-file "$WORK/key/anpr.key"
    --columns plate=VRM,camera_id=CameraID,timestamp=ReadTime,confidence=Confidence)
if "$ANPR" "${uk[@]}" 2> "$WORK/err"; then echo "a local-time export without --timezone must fail" >&2; exit 1; fi
cat "$WORK/err"
"$ANPR" "${uk[@]}" --timezone Europe/London
iso=$("$ANPR" inspect "$WORK/store/sample.anpr" --json | tail -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['reads'])")
local=$("$ANPR" inspect "$WORK/store/uk.anpr" --json | tail -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['reads'])")
[ "$iso" = "$local" ] || { echo "UK-format store holds $local reads, the ISO one $iso" >&2; exit 1; }
echo "the UK-format export gives the same $local reads as the ISO export"
