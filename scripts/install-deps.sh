#!/usr/bin/env bash
# Installs the Debian packages ANPRKit needs, only when they are missing.
# Usage: scripts/install-deps.sh [build|bench|report]...
#   build  (always)  OpenBLAS, LAPACKE, pkg-config, zlib, PROJ (coordinate reference systems), SQLite (GeoPackage)
#   gis              + GDAL's command-line tools (ogrinfo reads back the GeoPackage in the tests)
#   bench            + Python peers (numpy, scipy, polars, ...) from PyPI
#   report           + chromium, for the report screenshot
#   spark            + a Java runtime and PyPI's pyspark, pyarrow and pandas (pinned in scale/spark/requirements.txt)
set -euo pipefail

need=(libopenblas-dev liblapacke-dev pkg-config zlib1g-dev libproj-dev libsqlite3-dev)
for extra in "$@"; do
  case "$extra" in
    build) ;;
    report) need+=(chromium) ;;
    gis) need+=(gdal-bin) ;;
    spark) command -v java > /dev/null || need+=(openjdk-17-jre-headless) ;;
    bench) ;;
    *) echo "install-deps: unknown group '$extra' (use build, bench, report, gis or spark)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${need[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

for extra in "$@"; do
  if [ "$extra" = bench ]; then
    python3 - <<'PY' || python3 -m pip install -q -r Benchmarks/peers/requirements.txt
import importlib, sys
for m in ("numpy", "scipy", "polars", "sklearn", "statsmodels", "glum", "pandas", "threadpoolctl"):
    importlib.import_module(m)
PY
  fi
done
for extra in "$@"; do
  if [ "$extra" = spark ]; then
    # Each pinned package at its version, or install them all (pyspark is about 320 MB).
    if ! python3 - scale/spark/requirements.txt <<'PY'
import importlib.metadata as m, sys
for line in open(sys.argv[1]):
    name, _, version = line.strip().partition("==")
    try:
        if name and m.version(name) != version:
            sys.exit(1)
    except m.PackageNotFoundError:
        sys.exit(1)
PY
    then
      echo "install-deps: installing $(tr '\n' ' ' < scale/spark/requirements.txt)from PyPI"
      python3 -m pip install -q --disable-pip-version-check -r scale/spark/requirements.txt
    fi
  fi
done
