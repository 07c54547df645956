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

# %% The same export again is all duplicates: appending never double-counts.
"$ANPR" ingest Data/sample/reads.csv.gz --cameras Data/sample/cameras.csv --store "$WORK/store/sample.anpr" \
  --key-file "$WORK/key/anpr.key" | head -2

# %% Inspect: counts, time span, activity by hour, repeat vehicles and data-quality flags (impossible
# travel, silent cameras, clock drift) — listed, never silently fixed.
"$ANPR" inspect "$WORK/store/sample.anpr"

# %% No raw plate is in the store: search it for one plate from the vehicles file.
plate=$(sed -n 2p Data/sample/vehicles.csv | cut -d, -f1)
if grep -q "$plate" "$WORK/store/sample.anpr"; then echo "raw plate found in store!" >&2; exit 1; fi
echo "no raw plate in the store (checked $plate)"
