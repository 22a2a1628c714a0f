#!/bin/sh
# Model training through the API on points pushed with POST /v1/data: two
# sources, three days of a daily cycle every 5 minutes and one spike a
# person confirmed. A seasonal job runs to succeeded with its progress
# only moving forward, its model answers with a version, metrics against
# the feedback and the synthetic anomalies, activation, and bad requests
# answer 400 naming the field.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/d.conf" "$port" "$AN_TMP/data" \
  'AutoRegisterSources true' 'TrainInterval 0'
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd starts"; an_finish; }

# three days up to an hour ago, and a spike at noon of the third day
now=$(date +%s)
t0=$(( (now - 3 * 86400 - 3600) / 300 * 300 ))
end=$(( t0 + 3 * 86400 ))
python3 - "$AN_URL" "$STREAM_KEY" "$t0" >"$AN_TMP/spike" <<'PY'
import http.client, json, math, random, sys
url, key, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = url.split("//")[1].split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=10)
random.seed(5)
points, spike_t = [], t0 + 2 * 86400 + 43200
for i in range(3 * 288):
    t = t0 + 300 * i
    for src in ("web-1", "web-2"):
        cpu = 50 + 30 * math.sin(2 * math.pi * (t % 86400) / 86400) + random.gauss(0, 2)
        if src == "web-1" and t == spike_t:
            cpu = 400
        points.append({"sourceId": src, "timestamp": t,
                       "values": {"cpu": cpu, "mem": 40 + random.gauss(0, 1)}})
spike = None
for k in range(0, len(points), 500):
    conn.request("POST", "/v1/data", json.dumps({"points": points[k:k + 500]}),
                 {"X-Api-Key": key, "Content-Type": "application/json"})
    r = conn.getresponse()
    body = json.loads(r.read())
    if r.status != 202:
        sys.exit("POST /v1/data: %d %s" % (r.status, body))
    for p, res in zip(points[k:k + 500], body["results"]):
        if p["timestamp"] == spike_t and p["sourceId"] == "web-1":
            spike = res["metrics"]["cpu"].get("anomalyId")
print(spike or "")
PY
check "three days of two sources pushed" is "$?" 0
spike=$(cat "$AN_TMP/spike")
check "the spike was stored as an anomaly" [ -n "$spike" ]
req POST "/v1/anomalies/$spike/feedback" '{"feedback_type":"confirmed","reason":"real"}'
check "…and confirmed by a person" is "$STATUS" 200

body="{\"algorithm\":\"seasonal\",\"hyperparameters\":{},\"dataRange\":{\"start\":$t0,\"end\":$end}}"
req POST /v1/models/train "$body"
check "a stream key may not train" is "$STATUS" 403
req POST /v1/models/train "$body" "$ADMIN_KEY"
check "POST /v1/models/train: 202" is "$STATUS" 202
check "…queued, with a job id" is "$(json "j['status'], len(j['jobId'])")" "queued 36"
job=$(json "j['jobId']")

# poll to the end, keeping every progress seen
: >"$AN_TMP/progress"
i=0
while [ $i -lt 150 ]; do
  req GET "/v1/models/train/$job"
  json "j['progress']" >>"$AN_TMP/progress"
  case "$(json "j['status']")" in queued|running) ;; *) break ;; esac
  sleep 0.1; i=$((i + 1))
done
check "the job succeeded" is "$(json "j['status'], j['error']")" "succeeded None"
check "…its progress only moved forward, to 1" python3 - "$AN_TMP/progress" <<'PY'
import sys
p = [float(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if p == sorted(p) and p[-1] == 1 and all(0 <= x <= 1 for x in p) else 1)
PY
check "…over the 4 series" is "$(json "j['series']")" "{'total': 4, 'done': 4, 'skipped': 0}"
model=$(json "j['modelId']")
check "…naming its model" [ ${#model} -eq 36 ]

req GET "/v1/models/$model"
check "GET /v1/models/{id}" is "$STATUS $(json "j['algorithm'], j['version'], j['series'], j['points'], j['active']")" \
  "200 seasonal v1.0.0 4 3456 False"
check "…with its range, scope and size" is "$(json "j['scope'], j['dataRange']['start'] is not None, j['sizeBytes'] > 100, j['jobId']")" \
  "{'sourceId': None, 'metric': None} True True $job"

req GET "/v1/models/$model/metrics"
check "GET …/metrics: the seed's fields" is "$STATUS $(json "j['modelId'] == '$model', j['algorithm'], j['version'], sorted(j['metrics'])")" \
  "200 True seasonal v1.0.0 ['auc', 'f1', 'precision', 'recall']"
check "…from the feedback: the confirmed spike was found" is "$(json "j['labels']['source'], j['labels']['positives'], j['metrics']['recall']")" \
  "feedback 1 1"
check "…and from synthetic anomalies: numbers" is "$(json "all(isinstance(j['evaluations']['synthetic'][k], (int, float)) for k in ('precision', 'recall', 'f1', 'auc')), j['evaluations']['synthetic']['positives'] > 0")" \
  "True True"
check "…with no negatives labelled, feedback's precision is null, not made up" is "$(json "j['evaluations']['feedback']['negatives'], j['evaluations']['feedback']['auc']")" "0 None"

# the plugin's pull of the active seasonal model (pull [ETAG]: sets
# STATUS, ETAG and the blob's first bytes, MAGIC)
pull() {
  : >"$AN_TMP/blob" # curl writes nothing when there is no body
  STATUS=$(curl -s --max-time 10 -o "$AN_TMP/blob" -D "$AN_TMP/pull-headers" -w '%{http_code}' \
    -H "X-Api-Key: $STREAM_KEY" ${1:+-H "If-None-Match: $1"} "$AN_URL/v1/models/active/seasonal")
  ETAG=$(sed -n 's/^ETag: \(.*\)\r$/\1/p' "$AN_TMP/pull-headers")
  MAGIC=$(od -An -tx1 -N4 "$AN_TMP/blob" | tr -d ' ')
}
pull
check "no seasonal model active yet: the pull answers 204" is "$STATUS" 204
check "…which needs a key" is "$(curl -s -o /dev/null -w '%{http_code}' "$AN_URL/v1/models/active/seasonal")" 401

req POST "/v1/models/$model/activate" "" "$ADMIN_KEY"
check "activate: 200, active" is "$STATUS $(json "j['active']")" "200 True"
pull
check "then the pull answers the blob: 200, one zstd frame" is "$STATUS $MAGIC" "200 28b52ffd"
check "…of the size the model says" is "$(wc -c <"$AN_TMP/blob")" "$(req GET "/v1/models/$model"; json "j['sizeBytes']")"
check "…as an octet-stream, its version and an ETag naming the model" \
  has "$(cat "$AN_TMP/pull-headers")" "Content-Type: application/octet-stream"
check "…X-Model-Version" has "$(cat "$AN_TMP/pull-headers")" "X-Model-Version: v1.0.0"
check "…ETag" has "$ETAG" "\"$model-1\""
etag1=$ETAG
pull "$etag1"
check "If-None-Match with that ETag: 304, no blob" is "$STATUS $(wc -c <"$AN_TMP/blob")" "304 0"
pull "\"other\", W/$etag1"
check "…also in a list, weak" is "$STATUS" 304
pull '"other"'
check "another ETag: 200 and the blob" is "$STATUS $MAGIC" "200 28b52ffd"
req DELETE "/v1/models/$model" "" "$ADMIN_KEY"
check "the active model cannot be deleted: 409" is "$STATUS $(json "j['error']['code']")" "409 CONFLICT"

# a second model of the same algorithm and scope: the next version
req POST /v1/models/train "$body" "$ADMIN_KEY"
job2=$(json "j['jobId']")
until_true 15 sh -c "curl -s -H 'X-Api-Key: $STREAM_KEY' $AN_URL/v1/models/train/$job2 | grep -q '\"status\":\"succeeded\"'"
req GET "/v1/models/train/$job2"
model2=$(json "j['modelId']")
req POST "/v1/models/$model2/activate" "" "$ADMIN_KEY"
check "the second model is v2.0.0, and active" is "$(json "j['version'], j['active']")" "v2.0.0 True"
req GET "/v1/models/$model"
check "…the first stays, inactive" is "$STATUS $(json "j['active']")" "200 False"
pull "$etag1"
check "the pull sends the second now, with its own ETag" is "$STATUS $MAGIC $ETAG" "200 28b52ffd \"$model2-2\""
req DELETE "/v1/models/$model" "" "$ADMIN_KEY"
check "…and may now be deleted" is "$STATUS" 204
req GET "/v1/models"
check "GET /v1/models lists what is left" is "$(json "[m['version'] for m in j['models']], j['total']")" "['v2.0.0'] 1"
req GET "/v1/models/train?limit=1"
check "GET /v1/models/train: newest first, paged" is "$(json "[x['jobId'] for x in j['jobs']] == ['$job2'], j['total'], j['next_page_token'] is not None")" \
  "True 2 True"
req DELETE "/v1/models/train/$job2" "" "$ADMIN_KEY"
check "a finished job cannot be cancelled: 409" is "$STATUS $(json "j['error']['code']")" "409 CONFLICT"
req GET /v1/models/train/00000000-0000-4000-8000-000000000000
check "an unknown job: 404" is "$STATUS" 404

# a scope matching nothing is a job that fails with that reason
req POST /v1/models/train "{\"algorithm\":\"default\",\"dataRange\":{\"start\":$t0,\"end\":$end},\"sourceId\":\"db-*\"}" "$ADMIN_KEY"
job3=$(json "j['jobId']")
until_true 15 sh -c "curl -s -H 'X-Api-Key: $STREAM_KEY' $AN_URL/v1/models/train/$job3 | grep -q '\"status\":\"failed\"'"
req GET "/v1/models/train/$job3"
check "a scope that matches nothing: failed, saying so" is "$(json "j['status'], j['error'], j['scope']['sourceId']")" \
  "failed no series matches the scope (sourceId db-*, metric any) db-*"

# bad bodies: 400 naming the field
bad() { # BODY FIELD
  req POST /v1/models/train "$1" "$ADMIN_KEY"
  [ "$STATUS" = 400 ] && [ "$(json "j['error']['code']")" = INVALID_DATA ] &&
    has "$(json "j['error']['message']")" "$2"
}
range="\"dataRange\":{\"start\":$t0,\"end\":$end}"
check "an unknown algorithm: 400 naming algorithm" bad "{\"algorithm\":\"forest\",$range}" "algorithm must be one of default, seasonal"
check "no algorithm: 400" bad "{$range}" "algorithm"
check "an unknown hyperparameter: 400 naming it" bad "{\"algorithm\":\"seasonal\",\"hyperparameters\":{\"sensitivity\":2},$range}" "hyperparameters.sensitivity"
check "hyperparameters not an object: 400" bad "{\"algorithm\":\"seasonal\",\"hyperparameters\":[1],$range}" "hyperparameters must be an object"
check "a range ending before it starts: 400" bad "{\"algorithm\":\"seasonal\",\"dataRange\":{\"start\":$end,\"end\":$t0}}" "dataRange.end must be after dataRange.start"
check "a start that is no date: 400 naming it" bad "{\"algorithm\":\"seasonal\",\"dataRange\":{\"start\":\"yesterday\",\"end\":$t0}}" "dataRange.start"
check "no dataRange: 400" bad '{"algorithm":"seasonal"}' "dataRange must be an object"
check "a sourceId of the wrong type: 400 naming it" bad "{\"algorithm\":\"seasonal\",$range,\"sourceId\":5}" "sourceId must be"
check "a metric pattern with an open [: 400" bad "{\"algorithm\":\"seasonal\",$range,\"metric\":\"cpu[\"}" "metric must be"
req POST /v1/models/train '{"algorithm":' "$ADMIN_KEY"
check "bad JSON: 400" is "$STATUS" 400
req GET /v1/models/train
check "…and none of them was queued" is "$(json "j['total']")" 3
req POST /v1/models/train "{\"algorithm\":\"default\",\"dataRange\":{\"start\":\"$(date -u -d @$t0 +%Y-%m-%d)\",\"end\":$end}}" "$ADMIN_KEY"
check "ISO 8601 dates are taken, as elsewhere in the API" is "$STATUS" 202

an_stop
check "clean stop" is "$?" 0
an_finish
