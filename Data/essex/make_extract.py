"""Makes Data/essex/southend-events-2018.csv from the Essex Police street-level crime files.

Source: data.police.uk, Essex Police, 2018-01..2018-07 and 2018-10..2019-02 (2018-08/09 missing),
Open Government Licence v3.0 (see LICENCE.md). Run from the repo root:

    python3 Data/essex/make_extract.py ../shared/data/essex-street-crime-2018

Keeps rows whose LSOA name starts with "Southend-on-Sea" and that have coordinates, and writes
them in ANPRKit's events schema (Data/SCHEMA.md): event_id,timestamp,latitude,longitude,category.
police.uk gives the month only, so `timestamp` is the first instant of the month (UTC); hotspot
models must use monthly bins on it. Events without a police.uk crime id (anti-social behaviour)
get a stable id "asb-<month>-<n>". Output is sorted by (timestamp, event_id): deterministic.
"""
import csv, glob, os, sys

src = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/essex-street-crime-2018"
rows = []
for path in sorted(glob.glob(os.path.join(src, "*-essex-street.csv"))):
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = [h.strip().lower().replace(" ", "_") for h in next(r)]
        ix = {h: i for i, h in enumerate(header)}
        n_asb = 0
        for rec in r:
            lsoa = rec[ix["lsoa_name"]]
            if not lsoa.startswith("Southend-on-Sea") or not rec[ix["latitude"]]:
                continue
            month = rec[ix["month"]]
            cid = rec[ix["crime_id"]]
            if not cid:
                n_asb += 1
                cid = f"asb-{month}-{n_asb}"
            rows.append((f"{month}-01T00:00:00Z", cid, rec[ix["latitude"]], rec[ix["longitude"]], rec[ix["crime_type"]]))
rows.sort()
out = "Data/essex/southend-events-2018.csv"
with open(out + ".tmp", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["event_id", "timestamp", "latitude", "longitude", "category"])
    for ts, cid, lat, lon, cat in rows:
        w.writerow([cid, ts, lat, lon, cat])
os.replace(out + ".tmp", out)
print(f"wrote {out}: {len(rows)} events, {sum(1 for r in rows if r[4] == 'Drugs')} Drugs")
