"""Makes Data/bath/ from the Bath & North East Somerset ANPR survey aggregates (31 Oct - 13 Nov 2017).

Source: B&NES Council ANPR camera survey (reads published by Bath: Hacked), as the aggregates in
../shared/data/banes-anpr-2017 (see that directory's SOURCE.md). Open Government Licence v3.0.
Run from the repo root (python3 standard library only):

    python3 Data/bath/make_extract.py [SOURCE_DIR]      # default ../shared/data/banes-anpr-2017

Writes, beside this script:
  units.csv          unit_id,latitude,longitude,name,description,direction  (one row per site)
  cameras.csv        the same sites in ANPRKit's camera registry format (Data/SCHEMA.md)
  counts.csv.gz      unit_id,bin_start,count: reads per site per 15 minutes, long format, zeros kept
  transitions.csv    from_site,to_site,hour,count,mean_seconds: moves between consecutive sightings
                     of a vehicle at most 15 minutes apart, per hour of the first sighting;
                     same-site moves (from = to) dropped
  SOURCE.md          what the files are, row counts, totals, caveats, licence and attribution

Unit ids are "B" + the survey's site id zero-padded to 2 digits (B01 ... B67), so they never read as
integers. Coordinates are copied as text, unchanged. Rows are sorted (units by site id, counts by
unit then time, transitions by from, to, hour); gzip is written with mtime 0 and no file name, so
two runs give identical bytes. The script checks the source (grid of 15-minute bins, integral
counts, known site ids, no duplicate keys) and stops on any surprise.
"""
import csv, gzip, io, os, re, sys
from datetime import datetime, timedelta

SRC = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/banes-anpr-2017"
OUT = os.path.dirname(os.path.abspath(__file__))
ATTRIBUTION = "Contains data published by B&NES Council under the Open Government Licence v3.0."
BEARING = {"N": "0", "E": "90", "S": "180", "W": "270"}


def fail(msg):
    sys.exit(f"make_extract.py: {msg}")


def read_csv(name):
    with open(os.path.join(SRC, name), newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def uid(site_id):
    s = site_id.strip()
    if not s.isdigit():
        fail(f"site id {site_id!r} is not a whole number")
    return f"B{int(s):02d}"


def integral(text, what):
    v = float(text)
    if v != int(v) or v < 0:
        fail(f"{what}: {text!r} is not a non-negative whole number")
    return int(v)


def write_text(name, text):
    path = os.path.join(OUT, name)
    with open(path + ".tmp", "w", newline="", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def write_csv(name, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # RFC 4180 quoting (QUOTE_MINIMAL), LF endings
    w.writerow(header)
    w.writerows(rows)
    write_text(name, buf.getvalue())


def write_csv_gz(name, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as g:
        g.write(buf.getvalue().encode("utf-8"))
    path = os.path.join(OUT, name)
    with open(path + ".tmp", "wb") as f:
        f.write(raw.getvalue())
    os.replace(path + ".tmp", path)


def n(x):
    return f"{x:,}"


# ---- sites -> units.csv, cameras.csv --------------------------------------------------------------
h, rows = read_csv("sites.csv")
ix = {c.strip().lower(): i for i, c in enumerate(h)}
sites = {}
for r in rows:
    if not any(v.strip() for v in r):
        continue
    u = uid(r[ix["id"]])
    if u in sites:
        fail(f"sites.csv: duplicate site id {r[ix['id']]}")
    float(r[ix["latitude"]]), float(r[ix["longitude"]])  # must be numbers
    sites[u] = {k: r[ix[k]].strip() for k in ("id", "name", "description", "direction", "latitude", "longitude", "location_id")}
order = sorted(sites, key=lambda u: int(sites[u]["id"]))
write_csv("units.csv", ["unit_id", "latitude", "longitude", "name", "description", "direction"],
          [[u, sites[u]["latitude"], sites[u]["longitude"], sites[u]["name"], sites[u]["description"], sites[u]["direction"]] for u in order])
no_bearing = [u for u in order if sites[u]["direction"] not in BEARING]
write_csv("cameras.csv", ["camera_id", "site_id", "latitude", "longitude", "bearing", "road", "description"],
          [[u, u, sites[u]["latitude"], sites[u]["longitude"], BEARING.get(sites[u]["direction"], ""), "",
            f"{sites[u]['name']} — {sites[u]['description']} ({sites[u]['direction']})"] for u in order])

# ---- wide 15-minute counts -> counts.csv.gz ---------------------------------------------------------
h, rows = read_csv("anpr_counts_15min_wide.csv")
if h[0].strip().lower() != "interval_start":
    fail(f"anpr_counts_15min_wide.csv: first column is {h[0]!r}, expected interval_start")
cols = [uid(c) for c in h[1:]]
if len(set(cols)) != len(cols):
    fail("anpr_counts_15min_wide.csv: duplicate site columns")
if set(cols) != set(sites):
    fail(f"wide file and sites.csv disagree: only in wide {sorted(set(cols) - set(sites))}, only in sites {sorted(set(sites) - set(cols))}")
rows = [r for r in rows if any(v.strip() for v in r)]
times, grid = [], []
for k, r in enumerate(rows):
    if len(r) != len(h):
        fail(f"anpr_counts_15min_wide.csv line {k + 2}: {len(r)} fields, expected {len(h)}")
    t = datetime.strptime(r[0].strip(), "%Y-%m-%d %H:%M:%S")  # UTC (= UK clock in Oct/Nov 2017 after BST)
    if times and t - times[-1] != timedelta(minutes=15):
        fail(f"anpr_counts_15min_wide.csv line {k + 2}: {t} does not follow {times[-1]} by 15 minutes")
    times.append(t)
    grid.append([integral(v, f"anpr_counts_15min_wide.csv line {k + 2}") for v in r[1:]])
wide_total = sum(sum(g) for g in grid)
iso = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
col_of = {u: j for j, u in enumerate(cols)}
count_rows = [[u, iso[k], grid[k][col_of[u]]] for u in order for k in range(len(times))]
counts_total = sum(r[2] for r in count_rows)
if counts_total != wide_total or len(count_rows) != len(times) * len(cols):
    fail("long counts do not match the wide file")
write_csv_gz("counts.csv.gz", ["unit_id", "bin_start", "count"], count_rows)
zero_bins = sum(1 for r in count_rows if r[2] == 0)

# midnight bin: reads in 00:00-00:15 against the mean of the bins either side, per day
bin_tot = [sum(g) for g in grid]
midnight = []
for k, t in enumerate(times):
    if t.hour == 0 and t.minute == 0:
        nb = [bin_tot[j] for j in (k - 1, k + 1) if 0 <= j < len(times)]
        midnight.append(100.0 * bin_tot[k] / (sum(nb) / len(nb)))

# runs of 4 h or more with no reads at all that reach into 08:00-18:00: camera outages, not traffic
outages = []
for u in order:
    j, run = col_of[u], None
    for k in range(len(times) + 1):
        zero = k < len(times) and grid[k][j] == 0
        if zero and run is None:
            run = k
        if not zero and run is not None:
            if k - run >= 16 and any(8 <= times[i].hour < 18 for i in range(run, k)):
                outages.append((u, times[run], times[k - 1] + timedelta(minutes=15), k - run))
            run = None
outages.sort(key=lambda o: (o[1], o[0]))

# ---- hourly moves -> transitions.csv ----------------------------------------------------------------
h, rows = read_csv("od_moves_by_hour.csv")
ix = {c.strip().lower(): i for i, c in enumerate(h)}
for c in ("from_site_id", "to_site_id", "hour", "avg_time", "total"):
    if c not in ix:
        fail(f"od_moves_by_hour.csv: no column {c}")
moves, seen = [], set()
src_rows = src_moves = same_rows = same_moves = 0
pairs, same_pairs = set(), set()
for k, r in enumerate(rows):
    if not any(v.strip() for v in r):
        continue
    a, b = uid(r[ix["from_site_id"]]), uid(r[ix["to_site_id"]])
    if a not in sites or b not in sites:
        fail(f"od_moves_by_hour.csv line {k + 2}: unknown site {a if a not in sites else b}")
    hour = int(r[ix["hour"]])
    if not 0 <= hour <= 23 or (a, b, hour) in seen:
        fail(f"od_moves_by_hour.csv line {k + 2}: bad or repeated hour {hour} for {a}->{b}")
    seen.add((a, b, hour))
    total = float(r[ix["total"]])
    if total < 0:
        fail(f"od_moves_by_hour.csv line {k + 2}: negative total")
    count = int(total) if total == int(total) else total
    mean = float(r[ix["avg_time"]])
    src_rows += 1
    src_moves += total
    pairs.add((a, b))
    if a == b:
        same_rows += 1
        same_moves += total
        same_pairs.add(a)
        continue
    moves.append((int(sites[a]["id"]), int(sites[b]["id"]), hour, a, b, count, f"{mean:.1f}"))
moves.sort()
write_csv("transitions.csv", ["from_site", "to_site", "hour", "count", "mean_seconds"],
          [[a, b, hour, c, m] for _, _, hour, a, b, c, m in moves])
kept_moves = sum(m[5] for m in moves)
kept_pairs = len({(m[3], m[4]) for m in moves})
loc_rows = sum(1 for m in moves if sites[m[3]]["location_id"] == sites[m[4]]["location_id"])
loc_moves = sum(m[5] for m in moves if sites[m[3]]["location_id"] == sites[m[4]]["location_id"])
fmt = lambda x: n(int(x)) if x == int(x) else f"{x:,.1f}"

# ---- SOURCE.md -------------------------------------------------------------------------------------
d0, d1 = times[0], times[-1] + timedelta(minutes=15)
outage_lines = "\n".join(
    f"  - {', '.join(x[0] for x in outages if (x[1], x[2]) == (s, e))}: {s:%a %d %b %H:%M} – {e:%a %d %b %H:%M} UTC ({(e - s).total_seconds() / 3600:g} h)"
    for s, e in dict.fromkeys((o[1], o[2]) for o in outages))
md = f"""# Bath ANPR survey extract (B&NES Council, 31 Oct – 13 Nov 2017): source and licence

Real ANPR data, as aggregates: the reads of {len(order)} cameras around Bath that Bath & North East Somerset
Council ran for its Clean Air Zone study, {d0:%d %b %Y} {d0:%H:%M} to {d1:%d %b %Y} {d1:%H:%M} UTC ({len(times) // 96} days).
No plate, pseudonym or single read is in these files. Made by `make_extract.py` (beside this file) from
the aggregates described in `../shared/data/banes-anpr-2017/SOURCE.md`; regenerate with, from the repo root:

    python3 Data/bath/make_extract.py ../shared/data/banes-anpr-2017

Times are UTC, which is also the UK clock here (BST ended on 29 Oct 2017).

| file | what | rows |
|---|---|---|
| `units.csv` | one row per camera site: `unit_id,latitude,longitude,name,description,direction`. `unit_id` is `B` + the survey's site id on 2 digits (`B01` … `B67`); `name` is the survey's camera name (`ANPR 14a`), `description` the place, `direction` the direction of travel recorded (N/E/S/W); WGS84 coordinates as published | {n(len(order))} |
| `cameras.csv` | the same sites as an ANPRKit camera registry (`Data/SCHEMA.md`): `camera_id` = `site_id` = unit id, `bearing` from `direction` (N 0, E 90, S 180, W 270{", empty for " + ", ".join(no_bearing) if no_bearing else ""}), `road` empty, `description` = `name — description (direction)` | {n(len(order))} |
| `counts.csv.gz` | reads per site per 15 minutes, long format `unit_id,bin_start,count` (`bin_start` ISO 8601 UTC, e.g. `{iso[0]}`); every site × every bin, zeros kept ({n(zero_bins)} zero rows). For `anpr compare --counts … --units Data/bath/units.csv` | {n(len(count_rows))} ({n(len(order))} × {n(len(times))}); **{n(counts_total)} reads** |
| `transitions.csv` | camera-to-camera moves: `from_site,to_site,hour,count,mean_seconds` — `count` moves of one vehicle from a read at `from_site` to its next read, at `to_site`, at most 15 minutes later, with the first read in UTC hour `hour` (0–23); `mean_seconds` the mean time between the two reads, to 0.1 s | {n(len(moves))} ({n(kept_pairs)} pairs); **{fmt(kept_moves)} moves** |

Checks made by the script: the wide file is an unbroken grid of {n(len(times))} 15-minute bins × {len(cols)} sites,
all counts whole numbers; the total of `counts.csv.gz` equals the total of the wide file
({n(wide_total)} reads{", the figure the source's SOURCE.md gives" if wide_total == 4028148 else " -- NOT the 4,028,148 the source's SOURCE.md gives"}); every unit in `counts.csv.gz` and
`transitions.csv` is in `units.csv`; no (from, to, hour) appears twice.

Left out: same-site moves (from = to, a vehicle read again by the same camera within 15 minutes):
{n(same_rows)} of the {n(src_rows)} rows of `od_moves_by_hour.csv`, {fmt(same_moves)} of its {fmt(src_moves)} moves, at
{len(same_pairs)} sites. `od_moves_by_day.csv` is not used: it holds the same moves summed over hours
(only pairs with more than 10 moves). The source's plate-level reads are not included anywhere.

## Caveats

- **Midnight dip.** The 00:00–00:15 bin of every day holds only {min(midnight):.1f}–{max(midnight):.1f}% of the reads of the
  bins either side (measured on `counts.csv.gz`): a daily recording or file-rotation gap, not traffic.
  A count model sees a spurious dip at midnight; with 1-hour bins the 00:00 hour is short by most of
  a quarter.
- **Outages.** Zero counts are kept, but some are cameras off, not empty roads. Runs of 4 h or more
  without a single read that reach into 08:00–18:00 (end = first bin with reads):
{outage_lines}
  Car-park cameras (B51–B65) also read nothing on many nights, which may be real.
- **Moves are consecutive sightings within 15 minutes** (longer gaps dropped), so they are not
  "next camera of a trip" in the strict sense: a vehicle that parks for 20 minutes starts a new chain,
  and one that passes an unsurveyed road is still linked to its next camera.
- **Two cameras per location.** Most locations have one camera per direction of travel (e.g. B01 N and
  B02 S, both "ANPR 1, Lansdown"); they usually share coordinates. Here each camera is its own unit and
  its own `site_id` (the counts are per camera); to merge directions, map units to the survey's
  `location_id`. Moves between the two cameras of one location (U-turns, or a return within 15
  minutes) are kept: {n(loc_rows)} rows, {fmt(loc_moves)} moves.
- **`bearing` is the direction of travel**, not a measured camera heading.
- Site 63 (ANPR31c) was never used and is absent (hence no B63); the location of site 61 (B61) was
  changed by the publisher.

## Licence and attribution

Open Government Licence v3.0
(<https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/>), Bath & North East
Somerset Council. Required attribution:

{ATTRIBUTION}

Powered by Bath: Hacked. The 15-minute counts were tabulated by Daniel Dodd
(github.com/Daniel-Dodd/Traffic-Flow-and-Air-Pollution-in-Bath, `anpr.counts.rda`) and the moves by
Blaise Kelly (github.com/BlaiseKelly/banes_anpr, `out/moves.RData`), both from the OGL reads; the
sites come from github.com/DaveBathnes/BathHacked-ANPR-Air (`data/sites.zip`). Values are unchanged
except for the reshaping above (wide to long, ids prefixed, mean times rounded to 0.1 s).
"""
write_text("SOURCE.md", md)

# ---- summary -------------------------------------------------------------------------------------
print(f"units.csv, cameras.csv: {len(order)} sites")
print(f"counts.csv.gz: {len(count_rows)} rows, {counts_total} reads (wide file total {wide_total}; SOURCE.md says 4,028,148)")
print(f"transitions.csv: {len(moves)} rows, {kept_pairs} pairs, {fmt(kept_moves)} moves; "
      f"dropped {same_rows} same-site rows ({fmt(same_moves)} moves) of {src_rows} rows ({fmt(src_moves)} moves)")
print(f"midnight bin: {min(midnight):.1f}-{max(midnight):.1f}% of its neighbours; {len(outages)} daytime outage runs")
size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if not f.startswith("."))
print(f"Data/bath total size: {size} bytes ({size / 1e6:.2f} MB){'' if size < 2e6 else '  -- over 2 MB!'}")
