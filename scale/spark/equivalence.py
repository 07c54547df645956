#!/usr/bin/env python3
"""Equivalence check (issue 20): the Spark job with 1, 3 and 7 partitions, in one local Spark session,
writes statistics byte-identical to EXPECTED (what `anpr stats --store --complete` wrote for the same
export). Used by scale/spark/equivalence.sh; exit 1 on any difference.

    equivalence.py ANPR TOWN_DIR KEY EXPECTED OUT_DIR [PARTITIONS...]
"""
import filecmp
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anpr_stats_job as job  # noqa: E402


def main():
    anpr, town, key, expected, out = sys.argv[1:6]
    partitions = [int(p) for p in sys.argv[6:]] or [1, 3, 7]
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").appName("anprkit-equivalence")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.addPyFile(job.__file__)  # the executors import the job's functions by module
    failed = 0
    try:
        for n in partitions:
            path = os.path.join(out, f"spark-{n}.stats")
            args = job.parse(["--reads", os.path.join(town, "reads.csv"), "--cameras", os.path.join(town, "cameras.csv"),
                              "--vehicles", os.path.join(town, "vehicles.csv"), "--key-file", key, "--anpr", anpr,
                              "--partitions", str(n), "--out", path])
            job.run_job(spark, args)
            same = filecmp.cmp(path, expected, shallow=False)
            print(f"spark local[2], {n} partitions: {'identical to' if same else 'DIFFERS from'} {os.path.basename(expected)}")
            failed += not same
        # An export with most rows bad (unknown cameras): refused as a whole (as one anpr ingest would), nothing written.
        bad = os.path.join(out, "mostly-bad.csv")
        with open(os.path.join(town, "reads.csv")) as f:
            lines = [next(f) for _ in range(11)]
        with open(bad, "w") as f:
            when = lines[1].split(",")[3]
            f.write("".join(lines) + "".join(f"x{i},AB12CDE,NO-SUCH-CAMERA,{when},0.9\n" for i in range(20)))
        path = os.path.join(out, "bad.stats")
        try:
            job.run_job(spark, job.parse(["--reads", bad, "--cameras", os.path.join(town, "cameras.csv"), "--key-file", key,
                                          "--anpr", anpr, "--partitions", "1", "--out", path]))
            refused = False
        except SystemExit as e:
            refused = "rows rejected" in str(e)
        clean = not os.path.exists(path) and not any(n.startswith("bad.stats") for n in os.listdir(out))
        print(f"an export with 20 of 30 rows bad: {'refused, nothing written' if refused and clean else 'NOT REFUSED'}")
        failed += not (refused and clean)
    finally:
        spark.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
