#!/usr/bin/env python3
"""Peer for the statistics benchmark (issue 20): a plain Spark SQL group-by of reads per camera site and
hour on the same export — counts only (no validation, de-duplication, pseudonymisation, trips or
registry), which is what a force's analyst would write first. Prints rows and seconds.

    spark_sql_counts.py READS CAMERAS MASTER
"""
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

reads, cameras, master = sys.argv[1:4]
spark = (SparkSession.builder.master(master).appName("anprkit-peer-sql-counts")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
t0 = time.time()
r = spark.read.option("header", True).csv(reads)
c = spark.read.option("header", True).csv(cameras).select("camera_id", "site_id")
counts = (r.join(F.broadcast(c), "camera_id")
          .withColumn("hour", F.date_trunc("hour", F.to_timestamp("timestamp")))
          .groupBy("site_id", "hour").count())
rows = counts.collect()
print(f"{len(rows)} site-hours, {sum(x['count'] for x in rows)} reads in {time.time() - t0:.1f} s", file=sys.stderr)
spark.stop()
