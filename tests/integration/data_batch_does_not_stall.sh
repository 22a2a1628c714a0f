#!/bin/sh
# A big batch does not stall the daemon: while POST /v1/data scores a batch
# of 10 000 points, health probes sent meanwhile are answered promptly (the
# worst one well under a quarter of the batch's own time; both measured in
# the same run), and the batch's answer is still complete and in order,
# with its per-point errors where they were. A point for the same series
# sent meanwhile is scored after the whole batch, as before. A client that
# goes away mid-batch leaves the daemon well and its points stored.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data"
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }

# 10 000 points × 2 metrics, one second apart, ending 100 s ago; points 0
# and 5000 are invalid (no values, a string value)
python3 - "$AN_TMP" <<'EOF'
import json, sys, time
base = int(time.time()) - 10100
pts = [{"sourceId": "server-01", "timestamp": base + i,
        "values": {"cpu": 50 + i % 7, "mem": 1000 + i % 13}} for i in range(10000)]
pts[0] = {"sourceId": "server-01", "timestamp": base}
pts[5000]["values"]["cpu"] = "high"
open(sys.argv[1] + "/batch", "w").write(json.dumps({"points": pts}))
open(sys.argv[1] + "/base", "w").write(str(base))
pts = [{"sourceId": "server-01", "timestamp": base + i,
        "values": {"disk": 3 + i % 5}} for i in range(10000)]
open(sys.argv[1] + "/batch2", "w").write(json.dumps({"points": pts}))
EOF

# The batch on one connection; on others, a health probe every 5 ms from
# before the batch is sent until its answer, then one point for series
# server-01/cpu (after the batch's last) while the batch is in flight.
python3 - "$port" "$AN_TMP" "$STREAM_KEY" >"$AN_TMP/measure" <<'EOF'
import http.client, json, sys, threading, time
port, tmp, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = open(tmp + "/batch", "rb").read()
base = int(open(tmp + "/base").read())
H = {"X-Api-Key": key, "Content-Type": "application/json"}
done = threading.Event()
probes = []
single = {}

def probe():
    while not done.is_set():
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/v1/health")
        r = c.getresponse(); r.read(); c.close()
        probes.append((time.monotonic() - t0, r.status))
        time.sleep(0.005)

def one_point():
    time.sleep(0.05)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/v1/data", json.dumps({"sourceId": "server-01",
              "timestamp": base + 10050, "values": {"cpu": 51}}), H)
    r = c.getresponse()
    single["status"] = r.status
    single["body"] = r.read()

p = threading.Thread(target=probe); p.start()
time.sleep(0.05)
s = threading.Thread(target=one_point); s.start()
t0 = time.monotonic()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("POST", "/v1/data", body, H)
r = c.getresponse()
answer = r.read()
batch = time.monotonic() - t0
done.set(); p.join(); s.join()
during = [l for l, st in probes]
j = json.loads(answer)
res = j.get("results", [])
ok_ts = [x["timestamp"] for i, x in enumerate(res) if i not in (0, 5000)]
want_ts = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i))
           for i in range(10000) if i not in (0, 5000)]
print("status", r.status)
print("results", len(res))
print("in_order", ok_ts == want_ts)
print("metrics", all(sorted(x["metrics"]) == ["cpu", "mem"] for i, x in enumerate(res) if i not in (0, 5000)))
print("error0", res[0]["error"]["message"] if res else "")
print("error5000", res[5000]["error"]["message"] if len(res) > 5000 else "")
print("probes_ok", len(probes) > 3 and all(st == 200 for l, st in probes))
print("single", single.get("status"))
print("ratio_ok", max(during) < batch / 4)
print("# batch %.3f s, %d probes meanwhile, worst %.3f s, median %.3f s"
      % (batch, len(during), max(during), sorted(during)[len(during) // 2]))
EOF
sed -n 's/^# /# /p' "$AN_TMP/measure"
m() { sed -n "s/^$1 //p" "$AN_TMP/measure"; }
check "the batch of 10 000 points is answered 202" is "$(m status)" 202
check "…with 10 000 results" is "$(m results)" 10000
check "…in order" is "$(m in_order)" True
check "…each with both metrics" is "$(m metrics)" True
check "…point 0's error where it was" is "$(m error0)" "points[0].values is required"
check "…point 5000's error where it was" is "$(m error5000)" "points[5000].values.cpu must be a finite number"
check "health probes sent meanwhile are all answered 200" is "$(m probes_ok)" True
if [ -n "${AN_PRELOAD:-}" ]; then
  # AddressSanitizer's realloc always moves: yajl_tree_parse, growing the
  # 10 000-point array one element at a time, holds the loop ~0.5 s there
  # before any point is scored, which is not what this test measures
  ok "the worst probe waited less than a quarter of the batch's time # SKIP in a sanitizer build"
else
  check "the worst probe waited less than a quarter of the batch's time" is "$(m ratio_ok)" True
fi
check "a later point of the same series sent meanwhile: 202 (scored after the batch)" is "$(m single)" 202

req GET "/v1/health"
check "health after the batch: 200" is "$STATUS" 200

# a client that sends a big batch and goes away before the answer
python3 - "$port" "$AN_TMP" "$STREAM_KEY" <<'EOF'
import socket, sys
port, tmp, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = open(tmp + "/batch2", "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(("POST /v1/data HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
           % (key, len(body))).encode() + body)
s.close()
EOF
sleep 0.2
req GET "/v1/health"
check "a client gone mid-batch: the daemon still answers" is "$STATUS" 200
last=$(python3 -c 'import sys, time; print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sys.argv[1]) + 9999)))' "$(cat "$AN_TMP/base")")
scored() { # a point before the batch's last one is out of order
  req POST /v1/data "{\"sourceId\":\"server-01\",\"timestamp\":$(($(cat "$AN_TMP/base") + 9998)),\"values\":{\"disk\":99}}"
  test "$STATUS" = 400 && has "$(json "j['error']['message']")" "($last)"
}
check "…and its batch was scored in full" until_true 10 scored
an_stop
check "SIGTERM: exit 0" is "$?" 0
an_finish
