"""Peer for the ingest benchmark: polars on the same reads.csv.
eager: pl.read_csv (timestamps parsed) + group-by count per camera and hour;
lazy:  pl.scan_csv(...).group_by(...).collect() (polars' fastest form).
Each run is a fresh subprocess so peak RSS is that run's. Prints one JSON line per form."""
import json, resource, subprocess, sys, time

CODE = {
    "eager": """
import polars as pl
df = pl.read_csv(PATH, try_parse_dates=False).with_columns(pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False))
out = df.group_by(["camera_id", pl.col("timestamp").dt.truncate("1h")]).len()
""",
    "lazy": """
import polars as pl
out = (pl.scan_csv(PATH).with_columns(pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False))
       .group_by(["camera_id", pl.col("timestamp").dt.truncate("1h")]).len().collect())
""",
}

path, repeats = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
rows = int(sys.argv[3]) if len(sys.argv) > 3 else None
import polars
for form, code in CODE.items():
    times, peaks = [], []
    for _ in range(repeats):
        prog = "import resource, time\nPATH=%r\nt0=time.perf_counter()\n%s\nt=time.perf_counter()-t0\nprint(t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)" % (path, code)
        out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0])); peaks.append(int(out[1]) / 1024)
    times.sort()
    t = times[len(times) // 2]
    rec = {"suite": "ingest", "bench": "ingest", "n": rows, "median_s": t, "impl": f"polars {polars.__version__} {form}",
           "peak_mb": max(peaks)}
    if rows: rec["rows_per_s"] = rows / t
    print(json.dumps(rec))
