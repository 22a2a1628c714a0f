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

# ---- protocol details ----
# raw PYTHON-BYTES: sends the bytes on one connection, prints what comes
# back until the server closes it or 5 s pass.
raw() {
  python3 - "$port" "$1" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(eval(sys.argv[2]))
out, end = b"", time.time() + 5
try:
    while time.time() < end:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    pass
sys.stdout.write(out.decode("utf-8", "replace"))
PY
}

# HEAD then GET on one kept-alive connection: the HEAD answer must say its
# length and carry no body, or the GET answer is read as garbage.
head_then_get() {
  python3 - "$port" <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("HEAD", "/v1/health")
h = c.getresponse(); h.read()
c.request("GET", "/v1/health")
g = c.getresponse(); body = g.read()
ok = (h.status == 200 and g.status == 200 and json.loads(body) is not None
      and h.getheader("Content-Length") == str(len(body)))
print("ok" if ok else "HEAD %s %s / GET %s %r" % (h.status, h.getheader("Content-Length"), g.status, body[:80]))
PY
}
check "HEAD answer: Content-Length and no body (keep-alive works)" is "$(head_then_get)" ok

req GET "/v1/anomalies?flag&limit=5"
check "query key without = is ignored: 200" is "$STATUS" 200
req GET "/v1/anomalies?limit=5%00"
check "query %00 in a value: 400 naming it" is "$STATUS $(error_code) $(json "'limit' in j['error']['message']")" "400 INVALID_DATA True"
for bad in %ED%A0%80 %C0%AF %F4%90%80%80; do
  req GET "/v1/anomalies?status=$bad"
  check "query bad UTF-8 $bad: 400 naming the parameter" is "$STATUS $(error_code) $(json "'status' in j['error']['message']")" "400 INVALID_DATA True"
  check "query bad UTF-8 $bad: answer is valid UTF-8 JSON" is "$(printf '%s' "$BODY" | python3 -c 'import sys, json; json.loads(sys.stdin.buffer.read().decode("utf-8")); print(1)' 2>/dev/null)" 1
done
req GET "/v1/no-such-%FF%FE"
check "bad UTF-8 in a path: 400, not echoed raw" is "$STATUS $(error_code)" "400 INVALID_DATA"

an_stop
check "SIGTERM after the hostile HTTP tests: exit 0" is "$?" 0
an_finish
