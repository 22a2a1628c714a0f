#!/bin/sh
# Issue 12, the HTTP edge: each finding tried as the attacker did, named
# after it. anomalyd must answer every one with the JSON error shape and
# keep serving.
. "$(dirname "$0")/lib.sh"

still_serving() {
  s=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$AN_URL/v1/health")
  [ "$s" = 200 ]
}

error_code() { json "j['error']['code']"; }

port=$(an_free_port)
an_write_config "$AN_TMP/h.conf" "$port" "$AN_TMP/data" "MaxBodySize 1048576"
an_start "$AN_TMP/h.conf" || { not_ok "anomalyd starts"; an_finish; }

# ---- JSON: a comment hiding a quote, then 300 000 nested brackets ----
python3 -c '
import sys
sys.stdout.write("/* \" */" + " " * 300000 + "[" * 300000)' >"$AN_TMP/comment_nest"
req POST /v1/data "$AN_TMP/comment_nest"
check "json comment then deep nesting: 400 INVALID_DATA" is "$STATUS $(error_code)" "400 INVALID_DATA"
check "json comment then deep nesting: still serving" still_serving
printf '{"sourceId":"server-01",/* c */"values":{"cpu":1}}' >"$AN_TMP/comment"
req POST /v1/data "$AN_TMP/comment"
check "json comments refused: 400" is "$STATUS $(error_code)" "400 INVALID_DATA"
printf '{"sourceId":"server-01",\n"values":{"cpu":}}' >"$AN_TMP/syntax"
req POST /v1/data "$AN_TMP/syntax"
check "json syntax error names byte offset and line" has "$(json "j['error']['message']")" "byte offset 41 (line 2)"
printf '{"sourceId":"server-01",\n"values":{"cpu":1' >"$AN_TMP/eof"
req POST /v1/data "$AN_TMP/eof"
check "json premature end names byte offset" has "$(json "j['error']['message']")" "ends at byte offset 42 (line 2)"

an_stop
check "SIGTERM after the hostile HTTP tests: exit 0" is "$?" 0
an_finish
