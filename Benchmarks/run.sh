#!/usr/bin/env bash
# Runs every benchmark suite and its Python peer in one run, on the same inputs, and prints
# Markdown tables for BENCHMARKS.md. Usage: Benchmarks/run.sh [suite...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ANPRBench >&2
swift build -c release --product anpr >&2
BIN=.build/release
REPEATS=${REPEATS:-5}
suites=("$@"); [ ${#suites[@]} -eq 0 ] && suites=(linalg)
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB; $(swift --version 2>&1 | head -1)"
echo "Date: $(date -u +%Y-%m-%dT%H:%MZ); repeats: $REPEATS (median reported)"
for suite in "${suites[@]}"; do
  case "$suite" in
    linalg)
      for coretype in "" Haswell; do
        label="linalg, OPENBLAS_CORETYPE=${coretype:-unset}"
        { env ${coretype:+OPENBLAS_CORETYPE=$coretype} $BIN/ANPRBench linalg --repeats "$REPEATS"
          env ${coretype:+OPENBLAS_CORETYPE=$coretype} python3 Benchmarks/peers/linalg_peer.py "$REPEATS"
        } | python3 Benchmarks/compare.py "$label"
      done ;;
    *) echo "unknown suite $suite" >&2; exit 2 ;;
  esac
done
