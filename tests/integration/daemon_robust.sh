#!/bin/sh
# Malformed input gets a 4xx and anomalyd keeps serving; limits; config
# errors name file and line.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/r.conf" "$port" "$AN_TMP/data" "MaxBodySize 65536"
an_start "$AN_TMP/r.conf" || { not_ok "anomalyd starts"; an_finish; }

still_serving() {
  s=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$AN_URL/v1/health")
  [ "$s" = 200 ]
}

bad_body() { # description, file with the body, expected status
  req POST /v1/data "$2"
  check "$1: $3" is "$STATUS" "$3"
  check "$1: JSON error" is "$(json "j['error']['code'] in ('INVALID_DATA', 'PAYLOAD_TOO_LARGE')")" True
  check "$1: still serving" still_serving
}

printf '{"sourceId":"server-01","values":{"cpu":1' >"$AN_TMP/truncated"
bad_body "truncated JSON" "$AN_TMP/truncated" 400
printf '{"sourceId":"server-01","values":{"cpu":NaN}}' >"$AN_TMP/nan"
bad_body "NaN literal" "$AN_TMP/nan" 400
printf '{"sourceId":"server-01","values":{"cpu":Infinity}}' >"$AN_TMP/inf"
bad_body "Infinity literal" "$AN_TMP/inf" 400
printf '{"sourceId":"server-01","values":{"cpu":1e999}}' >"$AN_TMP/huge"
bad_body "1e999" "$AN_TMP/huge" 400
printf '{"sourceId":"server-\377\376","values":{"cpu":1}}' >"$AN_TMP/utf8"
bad_body "invalid UTF-8" "$AN_TMP/utf8" 400
python3 -c 'print("[" * 100 + "]" * 100)' >"$AN_TMP/deep"
bad_body "100-level nesting" "$AN_TMP/deep" 400
printf '{"sourceId":["server-01"],"values":{"cpu":1}}' >"$AN_TMP/types"
bad_body "wrong types" "$AN_TMP/types" 400
printf '{"sourceId":"server-01","values":{"cpu":1}} trailing' >"$AN_TMP/trailing"
bad_body "trailing garbage" "$AN_TMP/trailing" 400
printf '' >"$AN_TMP/empty"
bad_body "empty body" "$AN_TMP/empty" 400
printf '{"sourceId":"server-01","values":{"cpu":1}}\000x' >"$AN_TMP/nul"
bad_body "NUL byte" "$AN_TMP/nul" 400
head -c 10000000 /dev/zero | tr '\0' 'a' >"$AN_TMP/big"
bad_body "10 MB body" "$AN_TMP/big" 413
req GET "/v1/anomalies?since=%ff%fe&limit=%"
check "bad query string: 400" is "$STATUS" 400
check "bad query string: still serving" still_serving
an_stop
check "SIGTERM after abuse: exit 0" is "$?" 0

# rate limit
port=$(an_free_port)
an_write_config "$AN_TMP/rl.conf" "$port" "$AN_TMP/data2" "RateLimit 1" "RateBurst 2"
an_start "$AN_TMP/rl.conf" || { not_ok "anomalyd starts (rate limit)"; an_finish; }
req GET /v1/anomalies; req GET /v1/anomalies; req GET /v1/anomalies
check "third request in a burst of 2: 429" is "$STATUS $(json "j['error']['code']")" "429 RATE_LIMITED"
check "429 has Retry-After" has "$HEADERS" "Retry-After: "
req GET /v1/anomalies "" "$ADMIN_KEY"
check "another key has its own bucket" is "$STATUS" 200
an_stop

# configuration errors stop start-up with file, line and reason
bad_config() { # description, expected fragment, lines…
  desc=$1 want=$2; shift 2
  printf '%s\n' "$@" >"$AN_TMP/bad.conf"
  "$AN_DAEMON" -C "$AN_TMP/bad.conf" -f >"$AN_TMP/out" 2>&1 &
  pid=$!; AN_PIDS="$AN_PIDS $pid"
  i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 $pid 2>/dev/null; then not_ok "$desc: refused to start"; return; fi
  wait $pid; rc=$?
  check "$desc: exit status non-zero" [ $rc -ne 0 ]
  check "$desc: says $want" has "$(cat "$AN_TMP/out")" "$want"
}
bad_config "unknown key" "bad.conf:2: unknown option Colour" 'Listen "127.0.0.1" 1' 'Colour "blue"'
bad_config "bad port" "bad.conf:1: Listen port" 'Listen "127.0.0.1" 99999'
bad_config "unknown role" "bad.conf:3: Role must be" '<ApiKey "x">' 'Secret "abcdefghij"' 'Role "root"' '</ApiKey>'
bad_config "unterminated block" "missing </ApiKey>" '<ApiKey "x">' 'Secret "abcdefghij"'
bad_config "unbalanced quote" "bad.conf:1: unterminated string" 'DataDir "/tmp'
bad_config "bands" "Severity bands must rise" '<Severity>' 'Low 0.9' '</Severity>'
"$AN_DAEMON" -h >"$AN_TMP/usage"
check "-h: usage, exit 0" has "$(cat "$AN_TMP/usage")" "usage: anomalyd"
an_finish
