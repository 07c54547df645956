#!/usr/bin/env bash
# Renders a report in headless Chromium (Debian's `chromium`) and saves a PNG for a person to look at.
# Usage: scripts/screenshot-report.sh REPORT.html OUT.png [WIDTHxHEIGHT]
set -euo pipefail
REPORT=${1:?report.html}; PNG=${2:?out.png}; SIZE=${3:-1200,3000}
scripts/install-deps.sh report
BROWSER=$(command -v chromium || command -v chromium-browser)
"$BROWSER" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size="$SIZE" \
  --screenshot="$(realpath -m "$PNG")" "file://$(realpath "$REPORT")" 2>/dev/null
echo "screenshot: $PNG"
