#!/bin/sh
# POST /v1/data answers as the seed (seeds/000_*.txt) says: the seed's
# example point gets exactly the seed's fields, a normal point's severity
# is null (the seed has only low|medium|high|critical), and a batch in
# which no point is valid is a 400, not a 202 with only errors.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data"
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }

seed='{"sourceId":"server-01","values":{"cpu":85.5,"memory":72.3},"timestamp":"2024-01-20T10:00:00Z","metadata":{"region":"us-east"}}'
req POST /v1/data "$seed"
check "seed example: 202" is "$STATUS" 202
# the whole answer, with the generated id checked for its shape and set
# aside: a field renamed, added with a wrong value or typed differently
# shows here
check "seed example: the exact answer" is "$(json "(bool(__import__('re').fullmatch('[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}', j.pop('dataPointId'))), j)")" \
  "(True, {'anomalyScore': 0, 'isAnomaly': False, 'severity': None, 'sourceId': 'server-01', 'timestamp': '2024-01-20T10:00:00Z', 'metrics': {'cpu': {'value': 85.5, 'score': 0, 'isAnomaly': False, 'severity': None, 'expected': 85.5, 'warmingUp': True}, 'memory': {'value': 72.3, 'score': 0, 'isAnomaly': False, 'severity': None, 'expected': 72.3, 'warmingUp': True}}})"

# a normal point after warm-up: still null, never "none"
python3 -c '
import json, random
random.seed(3)
print(json.dumps({"points": [{"sourceId": "server-01", "values": {"cpu": 50 + random.gauss(0, 1)},
  "timestamp": "2024-01-20T10:%02d:%02dZ" % (1 + i // 60, i % 60)} for i in range(200)]}))' >"$AN_TMP/normal"
req POST /v1/data "$AN_TMP/normal"
check "200 normal points: 202" is "$STATUS" 202
check "…a normal point's severity is null, an anomaly's a band" is "$(json "all(r['severity'] is None if not r['isAnomaly'] else r['severity'] in ('low', 'medium', 'high', 'critical') for r in j['results'])")" True

no_point_valid() { # description, body
  req POST /v1/data "$2"
  check "$1: 400 INVALID_DATA" is "$STATUS $(json "j['error']['code']")" "400 INVALID_DATA"
  check "$1: the message names the first point" has "$(json "j['error']['message']")" "points[0]"
}
no_point_valid "[1, 2]" '[1, 2]'
no_point_valid "an array of garbage" '["x", null, {"a": 1}, [[]]]'
no_point_valid "points of garbage" '{"points": [true, {"sourceId": ""}]}'
no_point_valid "only an unknown source" '[{"sourceId":"nowhere","values":{"cpu":1}}]'
req POST /v1/data '[{"sourceId":"server-01","values":{"cpu":50},"timestamp":"2024-01-20T11:00:00Z"}, 2]'
check "one valid point of two: 202" is "$STATUS" 202
check "…with the other's error in its place" is "$(json "(j['results'][0]['severity'], j['results'][1]['error']['code'], j['results'][1]['error']['message'])")" "(None, 'INVALID_DATA', 'points[1] must be an object')"
req POST /v1/data '1'
check "a bare number: 400 naming the body" is "$STATUS $(json "j['error']['message']")" "400 body must be an object"
an_finish
