#!/usr/bin/env bash
# A PNG of a demo report for the README: the top of report.html (the table with its intervals, the
# charts and the first val images) as headless Chromium draws it, 1280 px wide.
#   usage: scripts/report-screenshot.sh [REPORT_HTML [OUT_PNG [HEIGHT_PX]]]
# Defaults: ir-rcnn-demo/report.html, report.png next to it, 1900 px. Needs Debian's chromium
# (apt-get install chromium) or $CHROMIUM.
set -euo pipefail
report=${1:-ir-rcnn-demo/report.html}
out=${2:-$(dirname "$report")/report.png}
height=${3:-1900}
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$chromium" ] || { echo "report-screenshot: chromium not found (apt-get install chromium, or set CHROMIUM)" >&2; exit 1; }
[ -f "$report" ] || { echo "report-screenshot: $report: no such file (npm run demo writes it)" >&2; exit 1; }
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
# --no-sandbox: Chromium's sandbox refuses to run as root (CI, containers); the page is our own file.
if ! "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size=1280,"$height" --screenshot="$(realpath -m "$out")" "file://$(realpath "$report")" >"$log" 2>&1 || [ ! -s "$out" ]; then
  echo "report-screenshot: chromium failed on $report:" >&2
  tail -n 5 "$log" >&2
  exit 1
fi
echo "$out"
