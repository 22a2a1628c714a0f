#!/bin/sh
# anomalyd's /v1 API from the outside: auth, errors, data, anomalies,
# filters, pages, feedback, tuning, metrics.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/a.conf" "$port" "$AN_TMP/data" "RateLimit 1000"
an_start "$AN_TMP/a.conf" || { not_ok "anomalyd starts"; an_finish; }

# --- auth and error shape
req GET /v1/health "" ""
check "health needs no key" is "$STATUS" 200
check "health says ok" is "$(json "j['status']")" ok
req GET /v1/anomalies "" ""
check "no key: 401" is "$STATUS" 401
check "401 is UNAUTHORIZED" is "$(json "j['error']['code']")" UNAUTHORIZED
req GET /v1/anomalies "" "wrong-key-123"
check "wrong key: 401" is "$STATUS" 401
STATUS=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $STREAM_KEY" "$AN_URL/v1/anomalies")
check "Bearer works" is "$STATUS" 200
req GET /v1/nothing-here
check "unknown path: 404" is "$STATUS" 404
check "404 is NOT_FOUND JSON" is "$(json "j['error']['code']")" NOT_FOUND
req DELETE /v1/data
check "wrong method: 405" is "$STATUS" 405
check "405 names the allowed method" has "$HEADERS" "Allow: POST"
check "405 is JSON" is "$(json "j['error']['code']")" METHOD_NOT_ALLOWED

# --- POST /v1/data, one point
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":85.5,"memory":72.3},"timestamp":"2024-01-20T10:00:00Z","metadata":{"region":"us-east"}}'
check "one point: 202" is "$STATUS" 202
check "dataPointId is a UUID" is "$(json "len(j['dataPointId'])")" 36
check "anomalyScore in [0,1]" is "$(json "0 <= j['anomalyScore'] <= 1")" True
check "isAnomaly and severity" is "$(json "(j['isAnomaly'], j['severity'])")" "(False, None)"
check "per-metric detail" is "$(json "sorted(j['metrics'])")" "['cpu', 'memory']"
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":85.6},"timestamp":"2024-01-20T10:00:00Z"}'
check "same timestamp, another value: 400" is "$STATUS" 400
check "…naming timestamp" has "$(json "j['error']['message']")" "timestamp"
req POST /v1/data '{"sourceId":"server-99","values":{"cpu":1}}'
check "unknown source: 404 SOURCE_NOT_FOUND" is "$STATUS $(json "j['error']['code']")" "404 SOURCE_NOT_FOUND"
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":"high"}}'
check "string value: 400 naming values.cpu" is "$STATUS $(json "'values.cpu' in j['error']['message']")" "400 True"
req POST /v1/data '{"sourceId":"server-01","values":{}}'
check "no values: 400" is "$STATUS" 400
req POST /v1/data '{"sourceId":"","values":{"cpu":1}}'
check "empty sourceId: 400 naming sourceId" is "$STATUS $(json "'sourceId' in j['error']['message']")" "400 True"
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1},"timestamp":"yesterday"}'
check "bad timestamp: 400" is "$STATUS" 400
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1},"metadata":{"n":1}}'
check "non-string metadata: 400 naming it" is "$STATUS $(json "'metadata.n' in j['error']['message']")" "400 True"
req POST /v1/data '{"sourceId":"server-01","values":{"disk":1}}'
check "missing timestamp means now" is "$STATUS" 202

# --- a batch: a normal series then a spike, with bad points among them
python3 - "$AN_TMP/batch.json" <<'PY'
import json, sys
pts = [{"sourceId": "server-01", "values": {"load": 1.0 + (i % 5) * 0.01},
        "timestamp": "2024-01-21T%02d:%02d:00Z" % (i // 60, i % 60)} for i in range(300)]
pts.insert(10, {"sourceId": "server-01", "values": {"load": None}})
pts.append({"sourceId": "server-01", "values": {"load": 50.0}, "timestamp": "2024-01-21T06:00:00Z"})
json.dump({"points": pts}, open(sys.argv[1], "w"))
PY
req POST /v1/data "$AN_TMP/batch.json"
check "batch: 202" is "$STATUS" 202
check "one result per point" is "$(json "len(j['results'])")" 302
check "the bad point has its error, others accepted" is "$(json "('error' in j['results'][10], 'error' in j['results'][11])")" "(True, False)"
check "the spike is an anomaly" is "$(json "(j['results'][-1]['isAnomaly'], j['results'][-1]['severity'] in ('medium','high','critical'))")" "(True, True)"
spike_id=$(json "j['results'][-1]['metrics']['load']['anomalyId']")
req POST /v1/data '[{"sourceId":"server-01","values":{"x":1},"timestamp":"2024-01-22T00:00:00Z"}]'
check "a bare array is a batch" is "$STATUS $(json "len(j['results'])")" "202 1"

# --- anomalies
req GET "/v1/anomalies/$spike_id"
check "GET the spike's anomaly" is "$STATUS" 200
check "it has an explanation and expected" is "$(json "('above' in j['explanation'], abs(j['expected'] - 1.02) < 0.1)")" "(True, True)"
check "Driftlock fields" is "$(json "(j['stream_id'], j['timestamp'] == j['detectedAt'], 'p_value' in j['metrics'])")" "('server-01', True, True)"
req GET /v1/anomalies/00000000-0000-4000-8000-000000000000
check "unknown id: 404" is "$STATUS" 404

# ingest from a plugin: idempotent by id
python3 - "$AN_TMP/ingest.json" <<'PY'
import json, sys, uuid
items = [{"id": str(uuid.UUID(int=i + 1, version=4)), "sourceId": "host-%d" % (i % 3),
          "metric": "cpu-0/cpu-user", "value": 90.0 + i, "expected": 10.0,
          "score": [0.55, 0.75, 0.9, 0.97][i % 4], "severity": ["low", "medium", "high", "critical"][i % 4],
          "detectedAt": "2024-02-01T00:%02d:%02dZ" % (i // 60, i % 60),
          "explanation": "cpu-0/cpu-user %d is high" % i} for i in range(250)]
json.dump({"anomalies": items}, open(sys.argv[1], "w"))
PY
req POST /v1/anomalies "$AN_TMP/ingest.json"
check "ingest: 200, all new" is "$STATUS $(json "(j['received'], j['stored'], j['duplicates'])")" "200 (250, 250, 0)"
req POST /v1/anomalies "$AN_TMP/ingest.json"
check "replay: all duplicates" is "$STATUS $(json "(j['stored'], j['duplicates'])")" "200 (0, 250)"
req GET /v1/anomalies/00000000-0000-4000-8000-000000000007
check "GET finds the client's id" is "$STATUS $(json "j['sourceId']")" "200 host-0"
req POST /v1/anomalies '{"anomalies":[{"id":"x1","sourceId":"h","metric":"m","score":2,"detectedAt":"2024-01-01T00:00:00Z"}]}'
check "bad item: 400 naming anomalies[0].score" is "$STATUS $(json "'anomalies[0].score' in j['error']['message']")" "400 True"
req GET /v1/anomalies/x1
check "…and nothing of it stored" is "$STATUS" 404

# filters
req GET "/v1/anomalies?sourceId=host-1&limit=1000"
check "sourceId filter" is "$(json "(j['total'], set(a['sourceId'] for a in j['anomalies']))")" "(83, {'host-1'})"
req GET "/v1/anomalies?stream_id=host-1&limit=5"
check "stream_id alias, limit" is "$(json "(j['total'], len(j['anomalies']))")" "(83, 5)"
req GET "/v1/anomalies?severity=critical&sourceId=host-0"
check "severity filter" is "$(json "set(a['severity'] for a in j['anomalies'])")" "{'critical'}"
req GET "/v1/anomalies?severity=high,critical&sourceId=host-2&limit=1000"
check "severity list" is "$(json "sorted(set(a['severity'] for a in j['anomalies']))")" "['critical', 'high']"
req GET "/v1/anomalies?start=2024-02-01T00:01:00Z&end=2024-02-01T00:01:59Z&limit=1000"
check "start/end" is "$(json "j['total']")" 60
req GET "/v1/anomalies?since=2024-02-01T00:01:00Z&until=2024-02-01T00:01:59Z"
check "since/until aliases" is "$(json "j['total']")" 60
req GET "/v1/anomalies?min_score=0.95&metric=cpu-0/cpu-user"
check "min_score and metric" is "$(json "min(a['score'] for a in j['anomalies']) >= 0.95")" True
req GET "/v1/anomalies?limit=5000"
check "limit above 1000 is clamped" is "$(json "j['limit']")" 1000
for bad in "limit=0" "limit=abc" "severity=huge" "status=open" "start=yesterday" "until=2024-13-01" "min_score=2" "max_p_value=x" "has_evidence=maybe" "page_token=garbage!"; do
  req GET "/v1/anomalies?$bad"
  name=${bad%%=*}
  check "$bad: 400 naming $name" is "$STATUS $(json "'$name' in j['error']['message']")" "400 True"
done
req GET "/v1/anomalies?limit=10&x=%zz"
check "bad percent-encoding: 400" is "$STATUS" 400

# pages: walk everything, newest first, no gaps or repeats
req GET "/v1/anomalies?limit=1000"
total=$(json "j['total']")
all=$(json "' '.join(a['id'] for a in j['anomalies'])")
seen="" token="" pages=0
while :; do
  if [ -n "$token" ]; then req GET "/v1/anomalies?limit=37&page_token=$token"; else req GET "/v1/anomalies?limit=37"; fi
  seen="$seen $(json "' '.join(a['id'] for a in j['anomalies'])")"
  token=$(json "j['next_page_token'] or ''")
  pages=$((pages + 1))
  [ -z "$token" ] && break
  [ $pages -gt 100 ] && break
done
check "pages walk all $total rows in order" is "$(echo $seen)" "$(echo $all)"
check "page count" is "$pages" "$(( (total + 36) / 37 ))"
req GET "/v1/anomalies?limit=1000"
check "newest first" is "$(json "all(a['detectedAt'] >= b['detectedAt'] for a, b in zip(j['anomalies'], j['anomalies'][1:]))")" True

# status, feedback, tuning
req PATCH "/v1/anomalies/$spike_id" '{"status":"viewed"}'
check "PATCH status (Driftlock alias)" is "$STATUS $(json "j['status']")" "200 acknowledged"
req GET "/v1/anomalies?status=new&sourceId=server-01"
check "status alias filter" is "$(json "j['total']")" 0
req PATCH "/v1/anomalies/$spike_id" '{"status":"closed"}'
check "bad status: 400" is "$STATUS" 400
req POST "/v1/anomalies/$spike_id/feedback" '{"feedback_type":"false_positive","reason":"deploy"}'
check "feedback: success" is "$STATUS $(json "(j['success'], j['message'])")" "200 (True, 'Feedback recorded')"
check "feedback lowers sensitivity" is "$(json "j['sensitivity'] < 1")" True
req POST "/v1/anomalies/$spike_id/feedback" '{"feedback_type":"great"}'
check "bad feedback_type: 400" is "$STATUS" 400
req GET /v1/tuning
check "tuning shows the series" is "$(json "[(s['sourceId'], s['metric'], s['sensitivity'] < 1) for s in j['series']]")" "[('server-01', 'load', True)]"
req GET "/v1/anomalies/$spike_id"
check "the anomaly keeps its feedback" is "$(json "j['feedback']['type']")" false_positive

# metrics
STATUS=$(curl -s --max-time 5 -o "$AN_TMP/metrics" -w '%{http_code}' "$AN_URL/metrics")
check "/metrics without a key" is "$STATUS" 200
check "requests counted by route" has "$(cat "$AN_TMP/metrics")" 'anomalyd_requests_total{method="POST",route="/v1/data",status="202"}'
check "points scored counted" has "$(cat "$AN_TMP/metrics")" "anomalyd_points_scored_total 30"
check "commit latency histogram" has "$(cat "$AN_TMP/metrics")" 'anomalyd_store_commit_seconds_bucket{le="+Inf"}'

an_stop
check "SIGTERM: exit 0 within 5 s" is "$?" 0
an_finish
