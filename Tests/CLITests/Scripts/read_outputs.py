#!/usr/bin/env python3
"""Reads ANPRKit's output files with Python's own csv and json modules (independent readers) and checks
that the site names in them are exactly the ones the camera registry holds, whatever they contain.

Usage: read_outputs.py EXPECTED_SITES.json FILE.csv:COLUMN ... FILE.geojson:PROPERTY ...
Exit 0 when every file parses and each listed column holds only expected names (and all of them for
the forecast files); prints what differs otherwise.
"""
import csv
import json
import sys


def main() -> int:
    expected = set(json.load(open(sys.argv[1], encoding="utf-8")))
    failures = []
    for spec in sys.argv[2:]:
        path, column = spec.rsplit(":", 1)
        if path.endswith(".geojson") or path.endswith(".json"):
            doc = json.load(open(path, encoding="utf-8"))
            values = [f["properties"][column] for f in doc["features"]]
        else:
            with open(path, encoding="utf-8-sig", newline="") as f:
                rows = list(csv.DictReader(f))
            widths = {len(r) for r in rows}
            if any(None in r for r in rows) or len(widths) > 1:
                failures.append(f"{path}: rows with extra fields (columns shifted)")
            values = [r[column] for r in rows]
        found = set(values)
        if not found <= expected:
            failures.append(f"{path}:{column}: unexpected {sorted(found - expected)!r}")
        if not values:
            failures.append(f"{path}:{column}: no rows")
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
