#!/usr/bin/env bash
# Runs each libFuzzer target (Fuzz/, built by `make fuzz-build`) for SECONDS on a copy of its committed
# seed corpus (Fuzz/Corpus/TARGET; the copy grows, the committed one stays as it is). A crash, a
# sanitizer report, a unit slower than 10 s (a hang) or over 4 GB fails the run, with the input that
# did it left in out/fuzz/. Prints runs, executions and corpus size per target.
#   scripts/fuzz.sh SECONDS [TARGET...]
# With FUZZ_SEED set (as `make test` does), each target runs a fixed number of executions from that
# seed (FUZZ_RUNS_ingest/_store/_model, defaults below), SECONDS only a backstop: the same mutations on
# every machine, so CI is a regression run that fails only when the code changes, while `make fuzz`
# (no FUZZ_SEED: libFuzzer draws a seed) keeps searching for new findings.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:?seconds per target}
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(ingest store model)
mkdir -p out/fuzz
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
export ANPRKIT_FUZZ_HISTORY=$PWD/Fuzz/Corpus/history.anpr
status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$WORK/$t"
  cp Fuzz/Corpus/"$t"/* "$WORK/$t/"
  seeds=$(ls Fuzz/Corpus/"$t" | wc -l)
  log=out/fuzz/$t.log
  fixed=()
  if [ -n "${FUZZ_SEED:-}" ]; then
    case "$t" in ingest) runs=${FUZZ_RUNS_ingest:-1200} ;; store) runs=${FUZZ_RUNS_store:-30000} ;; *) runs=${FUZZ_RUNS_model:-20000} ;; esac
    fixed=(-seed="$FUZZ_SEED" -runs="$runs")
  fi
  if Fuzz/.build/debug/fuzz-"$t" "${fixed[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 \
      -artifact_prefix=out/fuzz/"$t"- -print_final_stats=1 "$WORK/$t" > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}')
    echo "fuzz-$t: ${FUZZ_SEED:+seed $FUZZ_SEED, }at most ${SECONDS_EACH} s, $runs executions, 0 crashes, 0 hangs; corpus $seeds seeds → $(ls "$WORK/$t" | wc -l) inputs"
  else
    echo "fuzz-$t FAILED after at most ${SECONDS_EACH} s; the input is in out/fuzz/$t-*; log $log:"
    grep -E "ERROR|Fatal error|precondition|deadly|timeout|out-of-memory" "$log" | head -20
    status=1
  fi
done
exit $status
