"""Peer for the route benchmark: first-order transition counting with polars on the same reads.csv
(sort by plate and time, next camera within a 30-minute gap, group-by count). Usage: routes_peer.py READS.csv"""
import json, resource, sys, time
import polars as pl
path = sys.argv[1]
t0 = time.perf_counter()
df = (pl.scan_csv(path).with_columns(pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False))
      .drop_nulls(["timestamp", "plate", "camera_id"]).sort(["plate", "timestamp"])
      .with_columns([pl.col("camera_id").shift(-1).over("plate").alias("next"),
                     (pl.col("timestamp").shift(-1).over("plate") - pl.col("timestamp")).dt.total_seconds().alias("gap")])
      .filter(pl.col("gap") <= 1800).group_by(["camera_id", "next"]).len().collect())
t = time.perf_counter() - t0
n = pl.scan_csv(path).select(pl.len()).collect().item()
print(json.dumps({"suite": "routes", "bench": "train_transitions", "n": n, "median_s": t, "per_s": n / t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "impl": f"polars {pl.__version__} lazy"}))
