#!/usr/bin/env bash
# The end-to-end demo: what `make demo` runs after building in release mode.
set -euo pipefail
OUT=${1:-out/demo}
ANPR=${ANPR:-.build/release/anpr}
mkdir -p "$OUT"
echo "== Linear-algebra self-check (OpenBLAS + LAPACKE)"
"$ANPR" selfcheck
echo
echo "== anpr --help"
"$ANPR" --help
