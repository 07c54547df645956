#!/usr/bin/env bash
# Renders one printed patrol page of a report (its Nth day-and-shift page, default the 2nd) as a PNG,
# laid out as on paper: the report's own styles with print media, one A4-shaped window.
# Usage: scripts/screenshot-patrol-page.sh REPORT.html OUT.png [N]
set -euo pipefail
REPORT=${1:?report.html}; PNG=${2:?out.png}; N=${3:-2}
scripts/install-deps.sh report
BROWSER=$(command -v chromium || command -v chromium-browser)
PAGE=$(mktemp --suffix=.html); trap 'rm -f "$PAGE"' EXIT
python3 - "$REPORT" "$PAGE" "$N" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
head = html[:html.index("<body>") + len("<body>")]
pages = re.findall(r'<section class="patrol-page">.*?</section>', html, re.S)
n = int(sys.argv[3])
if len(pages) < n:
    sys.exit(f"{sys.argv[1]}: no patrol page {n} (it has {len(pages)})")
marking = re.search(r'<div class="marking top">.*?</div>', html)
open(sys.argv[2], "w", encoding="utf-8").write(head + (marking.group(0) if marking else "") + pages[n - 1] + "</body></html>\n")
PY
"$BROWSER" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=794,760 \
  --screenshot="$(realpath -m "$PNG")" "file://$PAGE" 2>/dev/null
echo "screenshot: $PNG"
