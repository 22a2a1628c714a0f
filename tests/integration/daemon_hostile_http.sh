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

# ---- JSON: a comment hiding a quote, then 300 000 nested arrays ----
python3 -c '
import sys
sys.stdout.write("/* \" */" + "[" * 300000 + "]" * 300000)' >"$AN_TMP/comment_nest"
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

# every error the daemon sends is JSON, also for heads evhttp would have
# answered with HTML itself
json_error() { # description, raw request (python bytes), status
  out=$(raw "$2")
  check "$1: $3" has "$(printf '%s' "$out" | head -n 1)" " $3 "
  BODY=$(printf '%s' "$out" | sed '1,/^\r*$/d')
  check "$1: JSON error shape" is "$(json "type(j['error']['code']).__name__ + type(j['error']['message']).__name__")" strstr
  check "$1: still serving" still_serving
}
json_error "libevent error bad Content-Length is JSON" \
  'b"POST /v1/data HTTP/1.1\r\nHost: x\r\nX-Api-Key: stream-secret-1\r\nContent-Length: 12abc\r\n\r\n{}"' 400
json_error "libevent error 100 KB header is JSON" \
  'b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"' 431
json_error "libevent error unknown method is JSON" \
  'b"BREW /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"' 501
json_error "libevent error HTTP/0.9 request is JSON" 'b"GET /v1/health\r\n"' 400
json_error "libevent error chunked body is JSON" \
  'b"POST /v1/data HTTP/1.1\r\nHost: x\r\nX-Api-Key: stream-secret-1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"' 411
json_error "libevent error TRACE is JSON" 'b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n"' 501
json_error "a client's own refusal header is refused" \
  'b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Anomalyd-Refusal: 200 OK fine\r\n\r\n"' 400

# ---- resource exhaustion before authentication ----
# Expect: 100-continue gets the refusal, never "100 Continue"
out=$(raw 'b"POST /v1/data HTTP/1.1\r\nHost: x\r\nContent-Length: 62914560\r\nExpect: 100-continue\r\n\r\n"')
check "unauthenticated 60 MiB announced: 401 on the headers" has "$(printf '%s' "$out" | head -n 1)" " 401 "
check "unauthenticated 60 MiB announced: no 100 Continue" is "$(printf '%s' "$out" | grep -c '100 Continue')" 0
out=$(raw 'b"POST /v1/data HTTP/1.1\r\nHost: x\r\nX-Api-Key: stream-secret-1\r\nContent-Length: 62914560\r\nExpect: 100-continue\r\n\r\n"')
check "authenticated 60 MiB announced: 413 on the headers" has "$(printf '%s' "$out" | head -n 1)" " 413 "
check "authenticated 60 MiB announced: no 100 Continue" is "$(printf '%s' "$out" | grep -c '100 Continue')" 0
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1}}' ""
check "unauthenticated small body: 401 JSON" is "$STATUS $(error_code)" "401 UNAUTHORIZED"

# 16 connections without a key each send 60 MiB: anomalyd must not grow
# by what they send (it grew from 19 MB to 946 MB)
rss_kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$AN_PID/status"; }
before=$(rss_kb VmRSS)
python3 - "$port" <<'PY'
import socket, sys, threading
def attack():
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        s.sendall(b"POST /v1/data HTTP/1.1\r\nHost: x\r\nContent-Length: 62914560\r\n\r\n")
        chunk = b"[" * (1 << 20)
        for _ in range(60):
            s.sendall(chunk)
    except OSError:
        pass  # refused and closed: what should happen
threads = [threading.Thread(target=attack) for _ in range(16)]
for t in threads: t.start()
for t in threads: t.join(30)
PY
peak=$(rss_kb VmHWM)
echo "# RSS before ${before} kB, peak after 16 x 60 MiB unauthenticated bodies ${peak} kB"
check "16 unauthenticated 60 MiB bodies: RSS grows < 64 MB" test $((peak - before)) -lt 65536
check "16 unauthenticated 60 MiB bodies: still serving" still_serving

# ---- failed authentications are rate limited per client address ----
codes=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
  req GET /v1/anomalies "" "guess-$i"
  codes="$codes $STATUS"
done
check "failed auth rate limit: 10 wrong keys get 401, then 429" is "$codes" \
  " 401 401 401 401 401 401 401 401 401 401 429 429"
check "failed auth rate limit: 429 is RATE_LIMITED with Retry-After" is \
  "$(error_code) $(printf '%s' "$HEADERS" | grep -c '^Retry-After: ')" "RATE_LIMITED 1"
req GET /v1/anomalies "" "$STREAM_KEY"
check "failed auth rate limit: the right key from that address waits too" is "$STATUS" 429
s=$(curl -s --max-time 5 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' \
  -H "X-Api-Key: $STREAM_KEY" "$AN_URL/v1/anomalies")
check "failed auth rate limit: another address is not limited" is "$s" 200
check "failed auth rate limit: health needs no key and still answers" still_serving

an_stop
check "SIGTERM after the hostile HTTP tests: exit 0" is "$?" 0

# ---- slowloris: one byte now and then on many connections ----
port=$(an_free_port)
an_write_config "$AN_TMP/s.conf" "$port" "$AN_TMP/data-s" "MaxConnections 100" \
  "HeaderTimeout 2" "Timeout 5"
: >"$AN_TMP/daemon.log"
an_start "$AN_TMP/s.conf" || { not_ok "anomalyd starts (slowloris)"; an_finish; }
fds_before=$(ls "/proc/$AN_PID/fd" | wc -l)
python3 - "$port" "$AN_PID" "$AN_URL" >"$AN_TMP/slowloris" <<'PY' &
import os, socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
conns, most_fds = [], 0
for _ in range(150):
    s = socket.socket(); s.setblocking(False)
    s.connect_ex(("127.0.0.1", port)); conns.append(s)
closed_by_server = 0
end = time.time() + 8
while time.time() < end:
    for s in list(conns):
        try:
            s.send(b"P")
        except OSError:
            conns.remove(s); s.close(); closed_by_server += 1
    most_fds = max(most_fds, len(os.listdir("/proc/%s/fd" % pid)))
    time.sleep(1)
print(closed_by_server, most_fds)
PY
loris=$!
sleep 1
s=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$AN_URL/v1/health")
check "slowloris: health answers during the attack (within 5 s)" is "$s" 200
wait $loris
read closed most <"$AN_TMP/slowloris"
echo "# slowloris: $closed of 150 connections closed by anomalyd; at most $most descriptors open (before: $fds_before)"
check "slowloris: connections past HeaderTimeout are closed" test "$closed" -ge 100
check "slowloris: no more than MaxConnections accepted at once" test "$most" -le $((fds_before + 100 + 16 + 2))
check "slowloris: the deadline is logged once per interval, not per connection" \
  test "$(grep -c 'took longer than' "$AN_TMP/daemon.log")" -le 2
an_stop

# ---- no file descriptors left: pause accepting, do not spin or flood ----
: >"$AN_TMP/daemon.log"
an_start "$AN_TMP/s.conf" || { not_ok "anomalyd starts (EMFILE)"; an_finish; }
limits=$(sed -n 's/^Max open files *\([0-9a-z]*\) *\([0-9a-z]*\).*/\1 \2/p' "/proc/$AN_PID/limits")
check "RLIMIT_NOFILE raised to the hard limit at start" is "$(echo $limits | cut -d' ' -f1)" "$(echo $limits | cut -d' ' -f2)"
python3 - "$port" "$AN_PID" <<'PY'
import os, resource, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)[1]
resource.prlimit(pid, resource.RLIMIT_NOFILE, (len(os.listdir("/proc/%d/fd" % pid)) + 5, hard))
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]
time.sleep(3)
for s in conns:
    s.close()
resource.prlimit(pid, resource.RLIMIT_NOFILE, (hard, hard))
PY
check "EMFILE: accept failures logged once per interval" \
  test "$(grep -c -i 'accept' "$AN_TMP/daemon.log")" -le 2
check "EMFILE: logged at all" test "$(grep -c 'cannot accept' "$AN_TMP/daemon.log")" -ge 1
s=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$AN_URL/v1/health")
check "EMFILE: serving again once descriptors are back" is "$s" 200
an_stop

# ---- a full disk: SQLite errors logged once per interval ----
# The file size limit stands in for a full disk (writes fail with EFBIG).
port=$(an_free_port)
an_write_config "$AN_TMP/f.conf" "$port" "$AN_TMP/data-f"
: >"$AN_TMP/daemon.log"
(trap '' XFSZ; ulimit -f 3000; exec "$AN_DAEMON" -C "$AN_TMP/f.conf" -f) >>"$AN_TMP/daemon.log" 2>&1 &
AN_PID=$!
AN_PIDS="$AN_PIDS $AN_PID"
AN_URL="http://127.0.0.1:$port"
i=0
until still_serving || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
python3 - "$port" >"$AN_TMP/full" <<'PY'
import http.client, json, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
failed, t = 0, 1700000000
for i in range(3000):
    points = [{"sourceId": "server-01",
               "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t + i * 100 + k)),
               "values": {"m%d" % j: float(j + k) for j in range(50)}} for k in range(100)]
    c.request("POST", "/v1/data", json.dumps(points), {"X-Api-Key": "stream-secret-1"})
    r = c.getresponse(); r.read()
    failed += r.status == 503
    if failed >= 100:
        break
print(failed)
PY
check "full disk: requests get 503" is "$(cat "$AN_TMP/full")" 100
check "full disk: SQLite errors logged once per interval, not per request" \
  test "$(grep -c 'store: [a-zA-Z ]*: \|disk I/O error\|cannot rollback' "$AN_TMP/daemon.log")" -le 2
an_stop
an_finish
