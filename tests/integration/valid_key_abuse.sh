#!/bin/sh
# What a valid key cannot do: feedback on one anomaly counts once (seven
# repeats used to take a series' sensitivity from 0.8 to 0.25), feedback
# on an anomaly that does not exist is a 404; an "ingest" key (what a
# collectd host carries) may push data and anomalies and pull tuning,
# nothing else; a "stream" key may not silence everything, nor for more
# than a week (an admin may).
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data" \
  '<ApiKey "host-1">' '  Secret "ingest-secret-1"' '  Role "ingest"' '</ApiKey>'
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }
INGEST_KEY=ingest-secret-1

item() { printf '{"id":"%s","sourceId":"web-1","metric":"cpu","score":0.9,"detectedAt":"2024-01-20T10:00:0%sZ"}' "$1" "$2"; }
req POST /v1/anomalies "{\"anomalies\":[$(item a1 1),$(item a2 2)]}" "$INGEST_KEY"
check "an ingest key pushes anomalies" is "$STATUS $(json "j['stored']")" "200 2"
req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1}}' "$INGEST_KEY"
check "…and data" is "$STATUS" 202
req GET /v1/tuning "" "$INGEST_KEY"
check "…and pulls tuning (the plugin does)" is "$STATUS" 200
forbidden() { # method path body
  req "$1" "$2" "${3:-}" "$INGEST_KEY"
  check "ingest key: $1 $2 is 403 naming the roles" is "$STATUS $(json "j['error']['message']")" "403 API key \"host-1\" has role ingest; this needs role ${4:-stream}"
}
forbidden GET /v1/anomalies
forbidden GET /v1/anomalies/a1
forbidden POST /v1/anomalies/a1/feedback '{"feedback_type":"false_positive"}'
forbidden GET /v1/alerts
forbidden POST /v1/silences '{"matchers":{"sourceId":"web-1"},"duration":60}'
forbidden GET /v1/alert-rules "" admin

sensitivity() {
  req GET /v1/tuning
  json "[s['sensitivity'] for s in j['series'] if s['sourceId'] == 'web-1']"
}
req POST /v1/anomalies/a1/feedback '{"feedback_type":"false_positive"}'
check "feedback: 200, sensitivity 0.8" is "$STATUS $(json "round(j['sensitivity'], 6)")" "200 0.8"
i=0
while [ $i -lt 7 ]; do
  req POST /v1/anomalies/a1/feedback '{"feedback_type":"false_positive"}'
  i=$((i + 1))
done
check "seven repeats on the same anomaly: still 0.8" is "$(sensitivity)" "[0.8]"
req POST /v1/anomalies/a1/feedback '{"feedback_type":"confirmed"}'
check "changing one's mind replaces the earlier feedback's effect" is "$(json "round(j['sensitivity'], 6)")" "1.1"
req POST /v1/anomalies/a2/feedback '{"feedback_type":"false_positive"}'
check "another anomaly of the series counts" is "$(json "round(j['sensitivity'], 6)")" "0.88"
req POST /v1/anomalies/no-such-anomaly/feedback '{"feedback_type":"false_positive"}'
check "feedback on an anomaly that does not exist: 404" is "$STATUS $(json "j['error']['code']")" "404 NOT_FOUND"
check "…and no series is tuned by it" is "$(sensitivity)" "[0.88]"

req POST /v1/silences '{"matchers":{"sourceId":"*","metric":"*"},"duration":60}'
check "stream key: a silence of everything is 403" is "$STATUS $(json "j['error']['message']")" "403 a silence of every source and metric needs role admin"
req POST /v1/silences '{"matchers":{"sourceId":"*"},"duration":60}'
check "…also with one matcher left out" is "$STATUS" 403
req POST /v1/silences '{"matchers":{"sourceId":"web-1"},"duration":31536000}'
check "stream key: a silence of a year is 403" is "$STATUS $(json "j['error']['message']")" "403 a silence longer than 7 days needs role admin"
req POST /v1/silences '{"matchers":{"sourceId":"web-*"},"duration":86400}'
check "stream key: a day's silence of some sources: 201" is "$STATUS" 201
req POST /v1/silences '{"matchers":{"sourceId":"*"},"duration":31536000}' "$ADMIN_KEY"
check "admin key: everything for a year: 201" is "$STATUS" 201
an_finish
