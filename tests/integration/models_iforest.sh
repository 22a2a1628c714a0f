#!/bin/sh
# isolation_forest through the API: 3000 points of web-1 pushed every
# 10 s (requests ~ U(100, 1000), cpu = 0.05 requests + N(0, 1), net =
# 2 requests + N(0, 10)) and a source of one metric. A job trains one
# forest, skipping the lone metric; its metrics are numbers; activated,
# it scores each new point of web-1: a point breaking the correlation in
# a corner, every value inside its own range (requests 110, cpu 49.5), is
# a multivariate anomaly naming cpu and requests, while points on the
# line are not. Feedback on it moves no detector's sensitivity, and a
# model trained again counts it: its metrics are numbers still.
# AN_SEED picks the data's seed (default 1).
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/d.conf" "$port" "$AN_TMP/data" \
  'AutoRegisterSources true' 'TrainInterval 0'
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd starts"; an_finish; }

now=$(date +%s)
t0=$((now - 3000 * 10 - 600))
python3 - "$AN_URL" "$STREAM_KEY" "$t0" "${AN_SEED:-1}" <<'PY'
import http.client, json, random, sys
url, key, t0, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
host, port = url.split("//")[1].split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=10)
random.seed(seed)
points = []
for i in range(3000):
    req = random.uniform(100, 1000)
    points.append({"sourceId": "web-1", "timestamp": t0 + 10 * i,
                   "values": {"requests": req,
                              "cpu": 0.05 * req + random.gauss(0, 1),
                              "net": 2 * req + random.gauss(0, 10)}})
    if i % 10 == 0:
        points.append({"sourceId": "db-1", "timestamp": t0 + 10 * i,
                       "values": {"cpu": random.gauss(30, 3)}})
for k in range(0, len(points), 500):
    conn.request("POST", "/v1/data", json.dumps({"points": points[k:k + 500]}),
                 {"X-Api-Key": key, "Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 202:
        sys.exit("POST /v1/data: %d %s" % (r.status, body[:300]))
PY
check "3000 correlated points of web-1 pushed" is "$?" 0

range="\"dataRange\":{\"start\":$t0,\"end\":$now}"
req POST /v1/models/train "{\"algorithm\":\"isolation_forest\",\"hyperparameters\":{\"contamination\":0.5},$range}" "$ADMIN_KEY"
check "contamination 0.5: 400 naming it" is "$STATUS $(json "'hyperparameters.contamination' in j['error']['message']")" "400 True"

# train: POST, poll to the end; echoes the job's final answer
train() {
  req POST /v1/models/train "{\"algorithm\":\"isolation_forest\",\"hyperparameters\":{\"n_estimators\":100},$range}" "$ADMIN_KEY"
  [ "$STATUS" = 202 ] || return 1
  job=$(json "j['jobId']")
  i=0
  while [ $i -lt 100 ]; do
    req GET "/v1/models/train/$job"
    case "$(json "j['status']")" in queued|running) ;; *) return 0 ;; esac
    sleep 0.1; i=$((i + 1))
  done
}

train
check "the job succeeded" is "$(json "j['status'], j['error']")" "succeeded None"
check "…over 4 series, db-1's one metric skipped" is "$(json "j['series']")" "{'total': 4, 'done': 4, 'skipped': 1}"
check "…with the hyperparameters it was given" is "$(json "j['hyperparameters']")" \
  "{'contamination': 0.01, 'n_estimators': 100, 'max_samples': 256}"
model=$(json "j['modelId']")
req GET "/v1/models/$model"
check "the model: 3 series of 3000 rows" is "$(json "j['algorithm'], j['series'], j['skippedSeries'], j['points']")" \
  "isolation_forest 3 1 9000"
req GET "/v1/models/$model/metrics"
check "its metrics are numbers (synthetic anomalies)" is "$STATUS $(json "j['labels']['source'], all(isinstance(j['metrics'][k], (int, float)) for k in ('precision', 'recall', 'f1', 'auc')), j['labels']['positives'], j['labels']['negatives']")" \
  "200 synthetic True 60 600"
echo "# metrics: $(json "j['metrics']")"

# a point of web-1 before activation: not scored by a forest
req POST /v1/data "{\"sourceId\":\"web-1\",\"timestamp\":$((now - 300)),\"values\":{\"requests\":500,\"cpu\":25,\"net\":1000}}"
check "before activation no point is scored by the forest" is "$STATUS $(json "'multivariate' in j")" "202 False"

req POST "/v1/models/$model/activate" "" "$ADMIN_KEY"
check "activate: 200" is "$STATUS $(json "j['active']")" "200 True"

# points on the line, mid-range: not multivariate anomalies
ok_points=0
for k in 1 2 3 4 5; do
  r=$((400 + 50 * k))
  req POST /v1/data "{\"sourceId\":\"web-1\",\"timestamp\":$((now - 300 + k)),\"values\":{\"requests\":$r,\"cpu\":$(python3 -c "print(0.05 * $r)"),\"net\":$((2 * r))}}"
  [ "$STATUS $(json "j['multivariate']['isAnomaly']")" = "202 False" ] && ok_points=$((ok_points + 1))
done
check "points on the line are scored by the forest, and are no anomaly" is "$ok_points" 5

# the corner: each value inside its range, together unusual
req POST /v1/data "{\"sourceId\":\"web-1\",\"timestamp\":$((now - 200)),\"values\":{\"requests\":110,\"cpu\":49.5,\"net\":220}}"
echo "# corner: $(json "j['multivariate']")"
check "the corner breaking the correlation is a multivariate anomaly" is "$STATUS $(json "j['multivariate']['isAnomaly'], j['isAnomaly'], j['multivariate']['modelId'] == '$model'")" \
  "202 True True True"
check "…its score clears the threshold by a margin" is "$(json "j['multivariate']['score'] >= 0.72")" True
corner=$(json "j['multivariate']['anomalyId']")
req GET "/v1/anomalies?sourceId=web-1&limit=1000"
check "GET /v1/anomalies: one multivariate anomaly, the corner's" is "$(json "[a['id'] for a in j['anomalies'] if a['kind'] == 'multivariate'] == ['$corner']")" True
req GET "/v1/anomalies/$corner"
# its metric is the one that contributed most: any of the three, as the
# forest's random splits fell
check "…of kind multivariate, its metric one of web-1's, with a p-value" is "$(json "j['kind'], j['metric'] in ('cpu', 'requests', 'net'), j['metrics']['p_value'] < 1e-6")" "multivariate True True"
check "…its explanation names cpu and requests with their values" is "$(json "'cpu 49.5' in j['explanation'] and 'requests 110' in j['explanation'] and 'unusual together' in j['explanation']")" True
echo "# explanation: $(json "j['explanation']")"

# the other corner, said to be a false positive: a negative label
req POST /v1/data "{\"sourceId\":\"web-1\",\"timestamp\":$((now - 100)),\"values\":{\"requests\":1000,\"cpu\":5,\"net\":2000}}"
other=$(json "j['multivariate']['anomalyId']")
check "the opposite corner is one too" [ -n "$other" ]

req POST "/v1/anomalies/$corner/feedback" '{"feedback_type":"confirmed","reason":"real"}'
check "feedback on the multivariate anomaly: 200, no sensitivity moved" is "$STATUS $(json "j['sensitivity']")" "200 1"
req POST "/v1/anomalies/$other/feedback" '{"feedback_type":"false_positive"}'
check "…and a false positive on the other" is "$STATUS" 200
req GET "/v1/models/$model/metrics"
check "the model's metrics are still numbers" is "$(json "all(isinstance(j['metrics'][k], (int, float)) for k in ('precision', 'recall', 'f1', 'auc'))")" True

range="\"dataRange\":{\"start\":$t0,\"end\":$((now + 10))}"
train
model2=$(json "j['modelId']")
req GET "/v1/models/$model2/metrics"
check "a model trained again counts the feedback, and its metrics are numbers" is "$(json "j['labels']['source'], j['labels']['positives'], j['labels']['negatives'], all(isinstance(j['metrics'][k], (int, float)) for k in ('precision', 'recall', 'f1', 'auc'))")" \
  "feedback 1 1 True"
echo "# metrics after feedback: $(json "j['metrics']")"

# a restart loads the active forest again
an_stop
check "clean stop" is "$?" 0
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd starts again"; an_finish; }
req POST /v1/data "{\"sourceId\":\"web-1\",\"timestamp\":$((now - 50)),\"values\":{\"requests\":110,\"cpu\":49.5}}"
check "after a restart the forest scores again; a metric left out is its median" is "$STATUS $(json "j['multivariate']['modelId'] == '$model', 'score' in j['multivariate']")" "202 True True"
an_stop
check "clean stop" is "$?" 0
an_finish
