#!/bin/sh
# collectd-bench end to end, small: it generates, scores with the built
# anomaly-score (--type passed) and prints its report; the default
# detector finds some of the failures (no figure is asserted beyond that).
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$(AN_SCORE_BIN="$top_builddir/src/tools/anomaly-score" \
  python3 "$top_srcdir/contrib/eval/collectd-bench" run --quick --seeds 1 \
  --json 2>"$tmp/err") || { echo "not ok - exit $?"; cat "$tmp/err"; exit 1; }
echo "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
t = r["totals"]
print("windows %d, detected %d, false alarms after day 1 %d" %
      (t["windows"], t["detected"], t["false_alarms"]))
sys.exit(0 if t["windows"] > 0 and t["detected"] > 0 else 1)
' || { echo "not ok - the report"; echo "$out" | head -c 2000; exit 1; }
echo "$out" | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["passes_type"] else 1)' ||
  { echo "not ok - the scorer was not given --type"; exit 1; }
echo "ok - collectd-bench generates, scores and reports"
