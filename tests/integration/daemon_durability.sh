#!/bin/sh
# An acknowledged write survives kill -9: points and anomalies sent in a
# stream, the daemon killed mid-stream, restarted on the same data, and
# every acknowledged one is there; detector state continues.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/d.conf" "$port" "$AN_TMP/data"
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd starts"; an_finish; }

# A writer that records what was acknowledged, until it is stopped.
: >"$AN_TMP/acked"
python3 - "$AN_URL" "$AN_TMP/acked" "$STREAM_KEY" <<'PY' &
import http.client, json, sys, time, uuid
url, out, key = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = url.split("//")[1].split(":")
acked = open(out, "w", buffering=1)
conn = http.client.HTTPConnection(host, int(port), timeout=2)
deadline = time.time() + 20
i = 0
while time.time() < deadline:
    i += 1
    try:
        t = "2024-03-01T%02d:%02d:%02dZ" % (i // 3600, i // 60 % 60, i % 60)
        body = json.dumps({"sourceId": "server-01", "values": {"cpu": 10 + i % 7}, "timestamp": t})
        conn.request("POST", "/v1/data", body, {"X-Api-Key": key, "Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        if r.status == 202:
            acked.write("point %s\n" % t)
        aid = str(uuid.uuid4())
        body = json.dumps({"anomalies": [{"id": aid, "sourceId": "host-x", "metric": "m", "score": 0.9, "detectedAt": t}]})
        conn.request("POST", "/v1/anomalies", body, {"X-Api-Key": key, "Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        if r.status == 200:
            acked.write("anomaly %s\n" % aid)
    except Exception:
        break  # the daemon is gone
PY
writer=$!
AN_PIDS="$AN_PIDS $writer"
# killed mid-stream once past the detector's warm-up (120 values), however
# slow the machine: at most 15 s
waited=0
while [ "$(grep -c '^point' "$AN_TMP/acked")" -lt 150 ] && [ "$waited" -lt 150 ]; do
  sleep 0.1
  waited=$((waited + 1))
done
kill -KILL "$AN_PID"
wait "$writer" 2>/dev/null

points=$(grep -c '^point' "$AN_TMP/acked")
anomalies=$(grep -c '^anomaly' "$AN_TMP/acked")
check "the writer got acknowledgements before the kill ($points points, $anomalies anomalies)" [ "$points" -gt 10 ]

an_start "$AN_TMP/d.conf" || { not_ok "anomalyd restarts after kill -9"; an_finish; }
missing=0
for id in $(sed -n 's/^anomaly //p' "$AN_TMP/acked"); do
  req GET "/v1/anomalies/$id"
  [ "$STATUS" = 200 ] || missing=$((missing + 1))
done
check "every acknowledged anomaly is there" is "$missing" 0
stored=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from points').fetchone()[0])" "$AN_TMP/data/anomalyd.db")
check "every acknowledged point is stored ($stored >= $points)" [ "$stored" -ge "$points" ]
last=$(sed -n 's/^point //p' "$AN_TMP/acked" | tail -n 1)
req POST /v1/data "{\"sourceId\":\"server-01\",\"values\":{\"cpu\":1000},\"timestamp\":\"$last\"}"
check "the series remembers its last acknowledged time" is "$STATUS" 400
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":12},"timestamp":"2025-01-01T00:00:00Z"}'
check "…and carries on after it, no longer warming up" is "$STATUS $(json "'warmingUp' in j['metrics']['cpu']")" "202 False"
an_stop
check "clean stop after recovery" is "$?" 0
an_finish
