#!/usr/bin/env python3
"""ANPRKit statistics on Apache Spark: the map step of `anpr stats`, run inside the executors.

Reads ANPR exports (CSV or CSV.gz, any path Spark reads: local, HDFS, S3, ...) and partitions the rows
so that every read of one vehicle lands in one partition: a hash of the plate, parsed by Spark's CSV
reader and normalised in Spark SQL as ANPRKit does, with the characters OCR confuses folded together
(O/D/Q→0, I/L→1, B→8, S→5, Z→2, G→6, T→7) so a misread meets its original and de-duplication gives the
answer one process gives. Each partition's rows stream as Arrow batches (`mapInArrow`) through the Swift
binary (`anpr stats - --complete --records`): validation, de-duplication, pseudonymisation and every
statistic are computed there, by the one definition in Swift. Spark SQL then reduces the records by key
(integer sums; the minimum and maximum of a vehicle's first and last read) and the driver streams them
through `anpr merge`, which checks them and writes the canonical statistics file. Fit with
`anpr train --stats OUT --spec Models/....yaml`.

No statistic is computed in Python: this file only routes rows and adds integers.

    spark-submit scale/spark/anpr_stats_job.py --reads 'hdfs:///anpr/2026-*/reads-*.csv.gz' \
        --cameras cameras.csv --vehicles vehicles.csv --key-file anpr.key --anpr ./anpr \
        --partitions 200 --out county-2026.stats

See README.md ("Scaling out") for cluster flags: how the binary, the registries and the key reach the
executors.
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile

def fold_column(plate):
    """The partition key of a plate, as a Spark SQL expression (in the JVM, no Python per row): ANPRKit's
    normalisation (ASCII letters and digits only, upper case) with the confusable characters folded,
    so every spelling ingest may merge lands in one partition."""
    from pyspark.sql import functions as F
    return F.translate(F.upper(F.regexp_replace(plate, "[^A-Za-z0-9]", "")), "ODQILBSZGT", "0001185267")


def plate_index(header, columns):
    """Index of the plate column in the export's header (as `anpr ingest --columns` resolves it)."""
    mapping = dict(p.split("=", 1) for p in columns.split(",") if "=" in p) if columns else {}
    names = [h.strip().lower() for h in next(csv.reader([header]))]
    for want in [mapping.get("plate"), "plate"]:
        if want and want.strip().lower() in names:
            return names.index(want.strip().lower())
    raise SystemExit(f"anpr_stats_job: the export's header has no plate column: {header!r}")


def map_step(args, header, files):
    """Runs `anpr stats` on one partition's rows, which arrive as Arrow batches and are written to the
    binary's standard input as they come (no row held in Python); yields its record lines as batches."""
    def run(batches):
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        from pyspark import SparkFiles
        work = tempfile.mkdtemp(prefix="anprkit-spark-")
        p = None
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if p is None:
                    binary = os.path.join(work, "anpr")
                    shutil.copy(SparkFiles.get(files["anpr"]), binary)
                    os.chmod(binary, 0o700)
                    # The key through a pipe (/dev/fd/N): never on disk beside the data, never in argv.
                    with open(SparkFiles.get(files["key"]), "rb") as f:
                        key = f.read()
                    r, w = os.pipe()
                    os.write(w, key)
                    os.close(w)
                    cmd = [binary, "stats", "-", "--cameras", SparkFiles.get(files["cameras"]), "--key-file", f"/dev/fd/{r}",
                           "--complete", "--records", "--out", "-", "--timezone", args.timezone, "--max-reject-rate", "1"]
                    if "vehicles" in files:
                        cmd += ["--vehicles", SparkFiles.get(files["vehicles"])]
                    for flag in ("columns", "time_format", "export_timezone", "crs"):
                        value = getattr(args, flag)
                        if value:
                            cmd += ["--" + flag.replace("_", "-"), value]
                    err = open(os.path.join(work, "stderr"), "w+b")
                    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, pass_fds=(r,))
                    os.close(r)
                    p.stdin.write((header + "\n").encode())
                # Each row and a newline, straight from the Arrow buffers.
                lines = pc.binary_join_element_wise(batch.column(0), pa.scalar(""), pa.scalar("\n"))
                offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
                p.stdin.write(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])
            if p is None:
                return
            p.stdin.close()
            out = p.stdout.read().decode()
            if p.wait() != 0:
                err.seek(0)
                raise RuntimeError("anpr stats failed on a partition (exit %d): %s" % (p.returncode, err.read().decode(errors="replace").strip()))
            records = out.splitlines()
            for k in range(0, len(records), 100_000):
                yield pa.RecordBatch.from_arrays([pa.array(records[k:k + 100_000], type=pa.string())], names=["line"])
        finally:
            if p is not None and p.poll() is None:
                p.kill()
            shutil.rmtree(work, ignore_errors=True)
    return run


def reduce_records(records):
    """Reduces the map step's record lines by key in one Spark SQL aggregation (no Python per record):
    everything before the last field (A, C, E, N) or the last three (T) is the key and the values add;
    a vehicle (V) adds its reads and shards, takes the minimum first and maximum last read, and must
    have one keeper type; the header (H) must be the same from every partition (two different headers
    are both kept, and anpr merge refuses them). Returns a DataFrame of lines."""
    from pyspark.sql import functions as F
    f = F.split(F.col("line"), " ")
    t = f[0]
    single = t.isin("A", "C", "E", "N")

    def at(i):
        return f[i].cast("long")
    r = records.select(
        F.when(t == "H", F.col("line")).when(single, F.array_join(F.slice(f, 1, F.size(f) - 1), " "))
         .otherwise(F.concat_ws(" ", f[0], f[1])).alias("k"),
        t.alias("t"),
        F.when(single, F.element_at(f, -1).cast("long")).when(t == "T", at(2)).when(t == "V", at(4)).alias("s1"),
        F.when(t == "T", at(3)).when(t == "V", at(7)).alias("s2"),
        F.when(t == "T", at(4)).alias("s3"),
        F.when(t == "V", at(5)).alias("mn"), F.when(t == "V", at(6)).alias("mx"),
        F.when(t == "V", F.concat_ws(" ", f[2], f[3])).alias("keeper"), F.when(t == "V", f[8]).alias("pieces"))
    g = r.groupBy("k").agg(F.first("t").alias("t"), F.sum("s1").alias("s1"), F.sum("s2").alias("s2"), F.sum("s3").alias("s3"),
                           F.min("mn").alias("mn"), F.max("mx").alias("mx"), F.min("keeper").alias("kmin"),
                           F.max("keeper").alias("kmax"), F.max("pieces").alias("pieces"))
    c = F.col
    keeper = F.when(c("kmin") == c("kmax"), c("kmin")).otherwise(F.lit("conflicting 0"))
    line = (F.when(c("t") == "H", c("k"))
            .when(c("t") == "T", F.concat_ws(" ", c("k"), c("s1").cast("string"), c("s2").cast("string"), c("s3").cast("string")))
            .when(c("t") == "V", F.concat_ws(" ", c("k"), keeper, c("s1").cast("string"), c("mn").cast("string"),
                                             c("mx").cast("string"), c("s2").cast("string"), c("pieces")))
            .otherwise(F.concat_ws(" ", c("k"), c("s1").cast("string"))))
    return g.select(line.alias("line"))


def joined_lines(batches):
    """Each Arrow batch of lines as one blob (lines and newlines, from the Arrow buffers), so the
    driver receives a few large values instead of a Python object per record."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    for batch in batches:
        if batch.num_rows == 0:
            continue
        lines = pc.binary_join_element_wise(batch.column(0), pa.scalar(""), pa.scalar("\n"))
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
        blob = memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]].tobytes()
        yield pa.RecordBatch.from_arrays([pa.array([blob], type=pa.binary())], names=["blob"])


def run_job(spark, args):
    """The whole job in one Spark session; returns the path written."""
    sc = spark.sparkContext
    spark.conf.set("spark.sql.shuffle.partitions", str(args.partitions))  # the reduce's partitions
    files = {"anpr": args.anpr, "cameras": args.cameras, "key": args.key_file}
    if args.vehicles:
        files["vehicles"] = args.vehicles
    names = {}
    for role, path in files.items():
        if path not in run_job.shipped:  # each file once per SparkContext
            sc.addFile(path)
            run_job.shipped.add(path)
        names[role] = os.path.basename(path)
    from pyspark.sql import functions as F
    df = spark.read.text(args.reads)
    header = df.first()[0]
    # Every input file must hold the header line (exports of one layout): one filtered scan.
    nfiles = len(df.inputFiles())
    nheaders = df.filter(F.col("value") == header).select(F.input_file_name()).distinct().count()
    if nheaders != nfiles:
        raise SystemExit(f"anpr_stats_job: {nfiles - nheaders} of {nfiles} input files do not start with the header {header!r}; "
                         "give exports of one layout (or run the job once per layout)")
    # The plate parsed from each row by Spark's CSV reader (RFC 4180 quoting) and folded, in the JVM;
    # a row that does not parse gets the empty key (ingest rejects it, counted, wherever it lands).
    width = len(next(csv.reader([header])))
    parsed = F.from_csv(F.col("value"), ", ".join(f"c{i} STRING" for i in range(width)), {"escape": '"', "mode": "PERMISSIVE"})
    rows = (df.filter((F.col("value") != header) & (F.trim(F.col("value")) != ""))
            .withColumn("k", F.coalesce(fold_column(parsed[f"c{plate_index(header, args.columns)}"]), F.lit("")))
            .repartition(args.partitions, "k").select("value"))
    reduced = reduce_records(rows.mapInArrow(map_step(args, header, names), "line string"))
    # The driver streams the reduced records (one partition at a time) into `anpr merge`, which checks
    # them (a vehicle in two partitions, the accounting) and writes the canonical, checksummed file.
    # Written beside the output and renamed over it only when every check passed.
    partial = f"{args.out}.anprkit-tmp-{os.getpid()}"
    merge = subprocess.Popen([args.anpr, "merge", "-", "--out", partial], stdin=subprocess.PIPE)
    try:
        for row in reduced.mapInArrow(joined_lines, "blob binary").toLocalIterator(prefetchPartitions=True):
            merge.stdin.write(row[0])
    except BaseException:
        merge.kill()  # nothing is written when a partition failed
        merge.wait()
        raise
    merge.stdin.close()
    if merge.wait() != 0:
        if os.path.exists(partial):
            os.remove(partial)
        raise SystemExit(f"anpr_stats_job: anpr merge refused the reduced statistics (exit {merge.returncode}); {args.out} not written")
    # The partitions take every row they can (--max-reject-rate 1): the export as a whole is held to the
    # rate here, as one `anpr ingest` would be, and nothing is kept when it fails.
    accounting = {}
    with open(partial) as f:
        for line in f:
            if line.startswith("A "):
                _, name, value = line.split()
                accounting[name] = int(value)
    read, rejected = accounting.get("read", 0), accounting.get("rejected", 0)
    if read and rejected / read > args.max_reject_rate:
        os.remove(partial)
        raise SystemExit(f"anpr_stats_job: {rejected} of {read} rows rejected, more than --max-reject-rate {args.max_reject_rate}; "
                         f"nothing written (check the export's layout, --columns and --time-format)")
    os.replace(partial, args.out)
    return args.out


run_job.shipped = set()


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reads", required=True, help="exports to read (any Spark path or glob; CSV or CSV.gz)")
    p.add_argument("--cameras", required=True, help="camera registry CSV (shipped to the executors)")
    p.add_argument("--vehicles", help="vehicles CSV with keeper types (shipped to the executors)")
    p.add_argument("--key-file", required=True,
                   help="pseudonymisation key file (shipped with the job's files; on a cluster, a secret mounted on the driver)")
    p.add_argument("--anpr", required=True, help="the anpr binary (release build; shipped to the executors)")
    p.add_argument("--partitions", type=int, default=8, help="partitions of the reads, by vehicle")
    p.add_argument("--timezone", default="Europe/London", help="analyst's time zone for the time bands")
    p.add_argument("--columns", help="column names of the export, as for anpr ingest --columns")
    p.add_argument("--time-format", help="how the export writes times, as for anpr ingest")
    p.add_argument("--export-timezone", help="zone of times written without one")
    p.add_argument("--crs", help="coordinate system of the camera registry, e.g. EPSG:27700")
    p.add_argument("--max-reject-rate", type=float, default=0.5,
                   help="fail, writing nothing, when more than this fraction of rows is rejected (as anpr ingest)")
    p.add_argument("--out", required=True, help="statistics file to write (on the driver)")
    p.add_argument("--master", help="Spark master when not run by spark-submit (e.g. local[2])")
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.partitions < 1:
        raise SystemExit("anpr_stats_job: --partitions must be at least 1")
    from pyspark.sql import SparkSession
    builder = SparkSession.builder.appName("anprkit-stats")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    try:
        out = run_job(spark, args)
        print(f"statistics: {out}", file=sys.stderr)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
