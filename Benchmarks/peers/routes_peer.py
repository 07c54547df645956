"""Peer for the route benchmark: first-order transition counting with polars on the same reads.csv
(sort by plate and time, next camera within a 30-minute gap, group-by count), timed two ways:
  - "lazy from CSV": scan_csv + the query, end to end (includes parsing the CSV);
  - "in memory": the same query on a DataFrame already loaded and with parsed timestamps (the CSV
    load is not timed) — the fair counterpart of ANPRKit, which reads its memory-mapped store.
Usage: routes_peer.py READS.csv"""
import json, resource, sys, time
import polars as pl
path = sys.argv[1]

def transitions(frame):
    return (frame.drop_nulls(["timestamp", "plate", "camera_id"]).sort(["plate", "timestamp"])
            .with_columns([pl.col("camera_id").shift(-1).over("plate").alias("next"),
                           (pl.col("timestamp").shift(-1).over("plate") - pl.col("timestamp")).dt.total_seconds().alias("gap")])
            .filter(pl.col("gap") <= 1800).group_by(["camera_id", "next"]).len())

parse = pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False)
t0 = time.perf_counter()
transitions(pl.scan_csv(path).with_columns(parse)).collect()
t = time.perf_counter() - t0
n = pl.scan_csv(path).select(pl.len()).collect().item()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"suite": "routes", "bench": "train_transitions", "n": n, "median_s": t, "per_s": n / t,
                  "peak_mb": peak, "impl": f"polars {pl.__version__} lazy from CSV"}))
df = pl.read_csv(path).with_columns(parse)
times = []
for _ in range(3):
    t0 = time.perf_counter()
    transitions(df.lazy()).collect()
    times.append(time.perf_counter() - t0)
t = sorted(times)[1]
print(json.dumps({"suite": "routes", "bench": "train_transitions", "n": n, "median_s": t, "per_s": n / t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "impl": f"polars {pl.__version__} in memory (CSV load not timed)"}))
