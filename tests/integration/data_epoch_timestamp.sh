#!/bin/sh
# POST /v1/data takes a timestamp as ISO 8601 or as epoch seconds (a JSON
# number), as anomaly-score does; it used to refuse epoch seconds.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data"
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }

req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1},"timestamp":1705744800}'
check "epoch seconds as an integer: 202" is "$STATUS" 202
check "…read as that time" is "$(json "j['timestamp']")" "2024-01-20T10:00:00Z"
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1},"timestamp":1705744800.25}'
check "epoch seconds with a fraction: 202, read as that time" is "$STATUS $(json "j['timestamp']")" "202 2024-01-20T10:00:00.250Z"
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1},"timestamp":"2024-01-20T10:00:01Z"}'
check "ISO 8601 still: 202" is "$STATUS" 202
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":2},"timestamp":1705744801}'
check "the same instant as epoch seconds, another value: refused" is "$STATUS" 400
bad_time() {
  req POST /v1/data "{\"sourceId\":\"server-01\",\"values\":{\"cpu\":1},\"timestamp\":$2}"
  check "$1: 400 naming timestamp" is "$STATUS $(json "j['error']['message'].split(' ')[0]")" "400 timestamp"
}
bad_time "a negative number" -5
bad_time "true" true
bad_time "an object" '{"s":1}'
bad_time "not a date" '"yesterday"'
bad_time "epoch milliseconds (far in the future)" 1705744800000
an_finish
