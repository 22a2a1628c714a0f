#!/bin/sh
# anomaly-score from the outside: the CSV contract, errors, options.
set -u
bin="$top_builddir/src/tools/anomaly-score"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok - $1"; }
bad() { echo "not ok - $1"; fails=$((fails + 1)); }

# One output row per input row, the header, the timestamps kept verbatim.
{
  echo "timestamp,value"
  i=0
  while [ $i -lt 300 ]; do
    printf '2014-04-01 %02d:%02d:00,%d\n' $((i / 60)) $((i % 60)) $((10 + i % 3))
    i=$((i + 1))
  done
  echo "2014-04-01 05:00:00,500"
} >"$tmp/in.csv"
if "$bin" "$tmp/in.csv" >"$tmp/out.csv"; then ok "scores a NAB-style file"; else bad "exit status"; fi
[ "$(head -n 1 "$tmp/out.csv")" = "timestamp,value,anomaly_score" ] && ok header || bad header
[ "$(wc -l <"$tmp/out.csv")" -eq 302 ] && ok "one row per row" || bad "row count $(wc -l <"$tmp/out.csv")"
[ "$(sed -n 2p "$tmp/out.csv" | cut -d, -f1,2)" = "2014-04-01 00:00:00,10" ] && ok verbatim || bad verbatim
last=$(tail -n 1 "$tmp/out.csv" | cut -d, -f3)
awk -v s="$last" 'BEGIN { exit !(s >= 0.7) }' && ok "the spike scores $last" || bad "spike scored $last"
awk -F, 'NR > 1 && ($3 < 0 || $3 > 1) { exit 1 }' "$tmp/out.csv" && ok "scores in [0,1]" || bad "score range"

# Online: scores of a prefix do not change when rows are appended.
head -n 200 "$tmp/in.csv" | "$bin" >"$tmp/prefix.csv"
head -n 200 "$tmp/out.csv" | cmp -s - "$tmp/prefix.csv" && ok "strictly online" || bad "prefix scores differ"

# stdin, --threshold, --list, --detector
"$bin" --threshold 0.7 <"$tmp/in.csv" >"$tmp/t.csv" && ok stdin || bad stdin
[ "$(head -n 1 "$tmp/t.csv")" = "timestamp,value,anomaly_score,is_anomaly" ] && ok "is_anomaly column" || bad "is_anomaly header"
[ "$(tail -n 1 "$tmp/t.csv" | cut -d, -f4)" = 1 ] && ok "spike is_anomaly" || bad "spike is_anomaly"
"$bin" --list | grep -q '^default ' && ok "--list" || bad "--list"
"$bin" --detector nope "$tmp/in.csv" 2>"$tmp/err" >/dev/null
[ $? -eq 2 ] && grep -q "unknown detector 'nope'" "$tmp/err" && ok "unknown detector" || bad "unknown detector"
"$bin" --threshold 2 "$tmp/in.csv" 2>"$tmp/err" >/dev/null
[ $? -eq 2 ] && grep -q "threshold" "$tmp/err" && ok "bad threshold" || bad "bad threshold"
"$bin" --type no_such_type "$tmp/in.csv" 2>"$tmp/err" >/dev/null
[ $? -eq 2 ] && grep -q "type 'no_such_type' is not a collectd type" "$tmp/err" && ok "unknown type" || bad "unknown type"
"$bin" --type load --explain "$tmp/in.csv" >"$tmp/e.csv" && ok "--type and --explain" || bad "--type and --explain"
[ "$(head -n 1 "$tmp/e.csv")" = "timestamp,value,anomaly_score,kind,explanation" ] && ok "explain header" || bad "explain header"
tail -n 1 "$tmp/e.csv" | grep -q ',spike,"value rose .* to 500 ' && ok "the spike explained" || bad "spike explanation: $(tail -n 1 "$tmp/e.csv")"

# Malformed input: an error naming the line, and a non-zero exit.
expect_error() { # name, input, message fragment
  printf '%b' "$2" >"$tmp/bad.csv"
  if "$bin" "$tmp/bad.csv" >/dev/null 2>"$tmp/err"; then
    bad "$1: exit 0"
  elif grep -q "$3" "$tmp/err"; then
    ok "$1"
  else
    bad "$1: said '$(cat "$tmp/err")'"
  fi
}
expect_error "bad number" 'timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,x1\n' 'bad.csv:3: value .x1. is not a number'
expect_error "missing column" 'timestamp,value\n2014-04-01 00:00:00\n' 'bad.csv:2: missing value column'
expect_error "empty file" '' 'empty input'
expect_error "header only" 'timestamp,value\n' 'no data rows'
expect_error "bad timestamp" '2014-04-01 00:00:00,1\nlater,2\n' 'bad.csv:2: timestamp .later.'
"$bin" "$tmp/missing.csv" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "missing.csv" "$tmp/err" && ok "missing file" || bad "missing file"

echo "$fails failed"
[ $fails -eq 0 ]
