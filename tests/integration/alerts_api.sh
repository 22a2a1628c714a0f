#!/bin/sh
# Alert rules, channels, silences and alerts through the API: validation
# that names the field, roles, the alert lifecycle, and the list's filters
# and pages. (Deliveries to receivers: alerts_delivery.sh.)
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
rport=$(an_free_port)
an_write_config "$AN_TMP/a.conf" "$port" "$AN_TMP/data" \
  '<Channel "slack">' '  Type "slack"' "  URL \"http://127.0.0.1:$rport/slack\"" '</Channel>' \
  '<Channel "pagerduty">' '  Type "pagerduty"' "  URL \"http://127.0.0.1:$rport/pd\"" \
  '  RoutingKey "rk-0123456789"' '</Channel>'
an_receiver_start "$rport" "$AN_TMP/rcv" || { not_ok "receiver starts"; an_finish; }
an_start "$AN_TMP/a.conf" || { not_ok "anomalyd starts"; an_finish; }

# anomaly ID SOURCE METRIC SCORE: one anomaly, as the plugin sends it
anomaly() {
  req POST /v1/anomalies "{\"anomalies\":[{\"id\":\"$1\",\"sourceId\":\"$2\",\"metric\":\"$3\",\"value\":97.5,\"expected\":12.5,\"score\":$4,\"detectedAt\":\"2024-01-20T10:00:00Z\",\"explanation\":\"$3 97.5 is far above its normal of 12.5\"}]}"
}

# --- rules: the seed's body
rule='{"name":"Critical CPU Alert","severity":"critical","conditions":{"metric":"cpu","threshold":0.9},"channels":["slack","pagerduty"],"escalation":{"timeout":300,"escalateTo":"pagerduty"}}'
req POST /v1/alert-rules "$rule" "$STREAM_KEY"
check "a stream key cannot create rules: 403" is "$STATUS $(json "j['error']['code']")" "403 FORBIDDEN"
req POST /v1/alert-rules "$rule" "$ADMIN_KEY"
check "POST /v1/alert-rules: 201" is "$STATUS" 201
check "…with the id at the top level" is "$(json "len(j['id'])")" 36
check "…and the rule as sent" is "$(json "(j['name'], j['severity'], j['conditions']['metric'], j['conditions']['threshold'], j['channels'], j['escalation'])")" "('Critical CPU Alert', 'critical', 'cpu', 0.9, ['slack', 'pagerduty'], {'timeout': 300, 'escalateTo': 'pagerduty'})"
rule_id=$(json "j['id']")

bad_rule() { # description, body, word the message must name
  req POST /v1/alert-rules "$2" "$ADMIN_KEY"
  check "$1: 400 naming $3" is "$STATUS $(json "j['error']['code']") $(json "'$3' in j['error']['message']")" "400 INVALID_DATA True"
}
bad_rule "unknown channel" '{"name":"r","severity":"high","conditions":{"metric":"cpu","threshold":0.9},"channels":["slack","teams"]}' 'channels[1]'
bad_rule "threshold above 1" '{"name":"r","severity":"high","conditions":{"metric":"cpu","threshold":1.5}}' 'conditions.threshold'
bad_rule "threshold as a string" '{"name":"r","severity":"high","conditions":{"metric":"cpu","threshold":"0.9"}}' 'conditions.threshold'
bad_rule "negative timeout" '{"name":"r","severity":"high","conditions":{"metric":"cpu","threshold":0.9},"escalation":{"timeout":-5,"escalateTo":"slack"}}' 'escalation.timeout'
bad_rule "unknown escalation channel" '{"name":"r","severity":"high","conditions":{"metric":"cpu","threshold":0.9},"escalation":{"timeout":60,"escalateTo":"manager"}}' 'escalation.escalateTo'
bad_rule "unknown severity" '{"name":"r","severity":"urgent","conditions":{"metric":"cpu","threshold":0.9}}' 'severity'
bad_rule "no conditions" '{"name":"r","severity":"low"}' 'conditions'
bad_rule "no name" '{"severity":"low","conditions":{"metric":"cpu","threshold":0.9}}' 'name'
bad_rule "minHits 0" '{"name":"r","severity":"low","conditions":{"metric":"cpu","threshold":0.9,"minHits":0}}' 'conditions.minHits'
req POST /v1/alert-rules '{"name":' "$ADMIN_KEY"
check "truncated JSON: 400" is "$STATUS" 400
req GET /v1/alert-rules "" "$ADMIN_KEY"
check "the refused rules were not stored" is "$STATUS $(json "j['total']")" "200 1"
req GET "/v1/alert-rules/$rule_id" "" "$ADMIN_KEY"
check "GET one rule" is "$STATUS $(json "j['id']")" "200 $rule_id"
req GET /v1/alert-rules/00000000-0000-4000-8000-000000000000 "" "$ADMIN_KEY"
check "unknown rule: 404" is "$STATUS $(json "j['error']['code']")" "404 NOT_FOUND"
created=$(req GET "/v1/alert-rules/$rule_id" "" "$ADMIN_KEY"; json "j['createdAt']")
req PUT "/v1/alert-rules/$rule_id" "$(echo "$rule" | sed 's/0.9}/0.8,"sourceId":"web-*"}/')" "$ADMIN_KEY"
check "PUT replaces the rule" is "$STATUS $(json "(j['conditions']['threshold'], j['conditions']['sourceId'])")" "200 (0.8, 'web-*')"
check "…keeping its creation time" is "$(json "j['createdAt']")" "$created"
req PUT /v1/alert-rules/00000000-0000-4000-8000-000000000000 "$rule" "$ADMIN_KEY"
check "PUT of an unknown rule: 404" is "$STATUS" 404

# --- channels
req GET /v1/channels "" "$ADMIN_KEY"
check "the config's channels are listed" is "$STATUS $(json "[(c['name'], c['type'], c['origin']) for c in j['channels']]")" "200 [('pagerduty', 'pagerduty', 'config'), ('slack', 'slack', 'config')]"
check "…without their secrets" is "$(json "[c['url'] for c in j['channels']] + [j['channels'][0]['routingKey']]")" "['http://127.0.0.1:$rport/…', 'http://127.0.0.1:$rport/…', '…6789']"
req GET /v1/channels "" "$STREAM_KEY"
check "channels are for admins: 403" is "$STATUS" 403
req POST /v1/channels "{\"name\":\"ops-hook\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$rport/hook\"}" "$ADMIN_KEY"
check "POST /v1/channels: 201" is "$STATUS $(json "(j['name'], j['origin'])")" "201 ('ops-hook', 'api')"
req POST /v1/channels "{\"name\":\"ops-hook\",\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$rport/hook\"}" "$ADMIN_KEY"
check "the same name again: 409" is "$STATUS $(json "j['error']['code']")" "409 CONFLICT"
req POST /v1/channels '{"name":"t","type":"teams","url":"http://x"}' "$ADMIN_KEY"
check "unknown type: 400 naming type" is "$STATUS $(json "'type' in j['error']['message']")" "400 True"
req POST /v1/channels '{"name":"pd2","type":"pagerduty","url":"http://x/"}' "$ADMIN_KEY"
check "pagerduty without routingKey: 400 naming it" is "$STATUS $(json "'routingKey' in j['error']['message']")" "400 True"
req POST /v1/channels '{"name":"w","type":"webhook","url":"ftp://x/"}' "$ADMIN_KEY"
check "a URL that is not http: 400 naming url" is "$STATUS $(json "'url' in j['error']['message']")" "400 True"
req POST /v1/channels '{"name":"w","type":"webhook","url":"https://"}' "$ADMIN_KEY"
check "a URL without a host: 400 naming url" is "$STATUS $(json "'url' in j['error']['message']")" "400 True"
req POST /v1/channels '{"name":"creds","type":"webhook","url":"https://ops:s3cret@hooks.example.com/x?token=t"}' "$ADMIN_KEY"
check "a URL with a user and password is taken" is "$STATUS" 201
req GET /v1/channels "" "$ADMIN_KEY"
check "…and shown without them" is "$(json "[c['url'] for c in j['channels'] if c['name'] == 'creds']")" "['https://hooks.example.com/…']"
req DELETE /v1/channels/creds "" "$ADMIN_KEY"
req DELETE /v1/channels/slack "" "$ADMIN_KEY"
check "a channel of anomalyd.conf cannot be deleted: 409" is "$STATUS $(json "'anomalyd.conf' in j['error']['message']")" "409 True"
req POST /v1/alert-rules '{"name":"Hooked","severity":"low","conditions":{"metric":"never-seen","threshold":0.5},"channels":["ops-hook"]}' "$ADMIN_KEY"
hooked=$(json "j['id']")
req DELETE /v1/channels/ops-hook "" "$ADMIN_KEY"
check "a channel a rule uses: 409 naming the rule" is "$STATUS $(json "'Hooked' in j['error']['message']")" "409 True"
req DELETE "/v1/alert-rules/$hooked" "" "$ADMIN_KEY"
check "DELETE a rule: 204" is "$STATUS" 204
req DELETE /v1/channels/ops-hook "" "$ADMIN_KEY"
check "then the channel can go: 204" is "$STATUS" 204
req DELETE /v1/channels/ops-hook "" "$ADMIN_KEY"
check "…and is gone: 404" is "$STATUS" 404

# --- alerts from anomalies
anomaly 11111111-0000-4000-8000-000000000001 web-1 cpu-0/cpu-user 0.96
check "an anomaly the rule matches is stored" is "$STATUS" 200
req GET /v1/alerts
check "…and opens a firing alert" is "$STATUS $(json "[(a['status'], a['sourceId'], a['metric'], a['severity'], a['anomalyCount']) for a in j['alerts']]")" "200 [('firing', 'web-1', 'cpu-0/cpu-user', 'critical', 1)]"
alert1=$(json "j['alerts'][0]['id']")
anomaly 11111111-0000-4000-8000-000000000002 web-1 cpu-0/cpu-user 0.99
req GET "/v1/alerts/$alert1"
check "a second anomaly of the series attaches to the same alert" is "$(json "(j['anomalyCount'], len(j['anomalies']), j['maxScore'])")" "(2, 2, 0.99)"
check "…which lists its notifications (one trigger per channel)" is "$(json "sorted((d['channel'], d['event']) for d in j['deliveries'])")" "[('pagerduty', 'trigger'), ('slack', 'trigger')]"
anomaly 11111111-0000-4000-8000-000000000003 web-1 cpu-1/cpu-user 0.75
anomaly 11111111-0000-4000-8000-000000000004 db-1 cpu-0/cpu-user 0.97
anomaly 11111111-0000-4000-8000-000000000005 web-1 memory/memory-used 0.99
req GET /v1/alerts
check "below the threshold, another source, another metric: no alert" is "$(json "j['total']")" 1
anomaly 11111111-0000-4000-8000-000000000006 web-2 cpu-3/cpu-system 0.92
req GET /v1/alerts
check "another series of the rule: its own alert" is "$(json "j['total']")" 2
alert2=$(json "j['alerts'][0]['id']")

# --- the list: filters and pages
req GET "/v1/alerts?sourceId=web-1"
check "filter sourceId" is "$(json "[a['id'] for a in j['alerts']]")" "['$alert1']"
req GET "/v1/alerts?status=firing&severity=critical&ruleId=$rule_id"
check "filter status, severity, ruleId" is "$(json "j['total']")" 2
req GET "/v1/alerts?status=resolved"
check "filter status=resolved" is "$(json "j['total']")" 0
req GET "/v1/alerts?status=open"
check "bad status: 400 naming status" is "$STATUS $(json "'status' in j['error']['message']")" "400 True"
req GET "/v1/alerts?start=yesterday"
check "bad date: 400 naming start" is "$STATUS $(json "'start' in j['error']['message']")" "400 True"
req GET "/v1/alerts?limit=1"
check "limit=1: one alert and a next page" is "$(json "(len(j['alerts']), j['total'], j['next_page_token'] is not None)")" "(1, 2, True)"
first=$(json "j['alerts'][0]['id']")
req GET "/v1/alerts?limit=1&page_token=$(json "j['next_page_token']")"
check "the next page has the other alert, and is the last" is "$(json "(j['alerts'][0]['id'] != '$first', j['page'], j['next_page_token'])")" "(True, 2, None)"
req GET /v1/alerts/00000000-0000-4000-8000-000000000000
check "unknown alert: 404" is "$STATUS $(json "j['error']['code']")" "404 NOT_FOUND"

# --- acknowledge and resolve (a stream key may: on-call work)
req PATCH "/v1/alerts/${alert1}junk/acknowledge" '{"notes":"x"}'
check "an alert id with more after it is no id: 404" is "$STATUS" 404
req PATCH "/v1/alerts/$alert1/acknowledge" '{"notes":"Investigating spike in CPU usage","isFalsePositive":"no"}'
check "isFalsePositive not a boolean: 400 naming it" is "$STATUS $(json "'isFalsePositive' in j['error']['message']")" "400 True"
req PATCH "/v1/alerts/$alert1/acknowledge" '{"notes":"Investigating spike in CPU usage","isFalsePositive":false}'
check "acknowledge (the seed's body): 200 with the alert" is "$STATUS $(json "(j['status'], j['notes'], j['acknowledgedBy'], j['acknowledgedAt'] is not None)")" "200 ('acknowledged', 'Investigating spike in CPU usage', 'feeder', True)"
anomaly 11111111-0000-4000-8000-000000000007 web-1 cpu-0/cpu-user 0.97
req GET "/v1/alerts/$alert1"
check "an anomaly on an acknowledged alert attaches, no new trigger" is "$(json "(j['status'], j['anomalyCount'], sorted(d['event'] for d in j['deliveries']))")" "('acknowledged', 3, ['acknowledge', 'acknowledge', 'trigger', 'trigger'])"
req PATCH "/v1/alerts/$alert1/resolve" '{"notes":"fixed the runaway job"}'
check "resolve: 200 resolved" is "$STATUS $(json "(j['status'], j['resolvedBy'])")" "200 ('resolved', 'feeder')"
req PATCH "/v1/alerts/$alert1/resolve"
check "resolving again (no body) changes nothing: 200" is "$STATUS $(json "j['status']")" "200 resolved"
req PATCH "/v1/alerts/$alert1/acknowledge" '{}'
check "acknowledging a resolved alert: 409" is "$STATUS $(json "j['error']['code']")" "409 CONFLICT"
req PATCH /v1/alerts/00000000-0000-4000-8000-000000000000/acknowledge '{}'
check "acknowledging an unknown alert: 404" is "$STATUS" 404
anomaly 11111111-0000-4000-8000-000000000008 web-1 cpu-0/cpu-user 0.97
req GET "/v1/alerts?sourceId=web-1&status=firing"
check "after resolution a new anomaly opens a new alert" is "$(json "(j['total'], j['alerts'][0]['id'] != '$alert1')")" "(1, True)"

# a false positive records feedback on the anomaly that fired the alert
req PATCH "/v1/alerts/$alert2/acknowledge" '{"notes":"batch job","isFalsePositive":true}'
check "acknowledge as a false positive" is "$STATUS $(json "j['isFalsePositive']")" "200 True"
req GET /v1/anomalies/11111111-0000-4000-8000-000000000006
check "…records false_positive feedback on its anomaly" is "$(json "j['feedback']['type']")" false_positive
req GET /v1/tuning
check "…and makes the series less sensitive" is "$(json "[s['sensitivity'] for s in j['series'] if s['sourceId'] == 'web-2']")" "[0.8]"

# --- silences
req POST /v1/silences '{"matchers":{"sourceId":"web-3"}}'
check "a silence without an end: 400 naming it" is "$STATUS $(json "'endsAt' in j['error']['message']")" "400 True"
req POST /v1/silences '{"matchers":{},"duration":60}'
check "a silence without matchers: 400 naming matchers" is "$STATUS $(json "'matchers' in j['error']['message']")" "400 True"
req POST /v1/silences '{"matchers":{"sourceId":"web-3"},"endsAt":"2001-01-01T00:00:00Z"}'
check "a silence that ended already: 400" is "$STATUS" 400
req POST /v1/silences '{"matchers":{"sourceId":"web-3"},"endsAt":"9999-12-31T00:00:00Z"}'
check "a silence for ever: 400 naming endsAt" is "$STATUS $(json "'endsAt' in j['error']['message'] and 'year' in j['error']['message']")" "400 True"
req POST /v1/silences '{"matchers":{"sourceId":"web-3"},"startsAt":"2001-01-01T00:00:00Z","duration":60}'
check "a duration that ends in the past: 400 naming duration" is "$STATUS $(json "'duration' in j['error']['message']")" "400 True"
req POST /v1/silences '{"matchers":{"sourceId":"web-3","metric":"cpu*"},"duration":3600,"comment":"maintenance"}'
check "POST /v1/silences: 201, active" is "$STATUS $(json "(j['active'], j['matchers'], j['createdBy'])")" "201 (True, {'sourceId': 'web-3', 'metric': 'cpu*'}, 'feeder')"
silence=$(json "j['id']")
anomaly 11111111-0000-4000-8000-000000000009 web-3 cpu-0/cpu-user 0.99
req GET "/v1/alerts?sourceId=web-3"
check "a silenced alert is recorded" is "$(json "(j['total'], j['alerts'][0]['silenced'])")" "(1, True)"
req GET "/v1/alerts/$(json "j['alerts'][0]['id']")"
check "…and its notifications are silenced, not sent" is "$(json "sorted(d['status'] for d in j['deliveries'])")" "['silenced', 'silenced']"
req GET "/v1/silences?active=true"
check "GET /v1/silences?active=true lists it" is "$(json "[s['id'] for s in j['silences']]")" "['$silence']"
req DELETE "/v1/silences/$silence"
check "DELETE a silence: 204" is "$STATUS" 204
req DELETE "/v1/silences/$silence"
check "…then 404" is "$STATUS" 404

# --- minHits: pending until enough anomalies
req POST /v1/alert-rules '{"name":"Disk filling","severity":"medium","conditions":{"metric":"df*","threshold":0.5,"minHits":3,"window":600},"channels":["slack"]}' "$ADMIN_KEY"
disk_rule=$(json "j['id']")
for i in 1 2; do anomaly "22222222-0000-4000-8000-00000000000$i" web-1 df-root/percent_bytes-used 0.8; done
req GET "/v1/alerts?ruleId=$disk_rule"
check "two of three hits: pending" is "$(json "[(a['status'], a['anomalyCount']) for a in j['alerts']]")" "[('pending', 2)]"
pending=$(json "j['alerts'][0]['id']")
req PATCH "/v1/alerts/$pending/acknowledge" '{}'
check "a pending alert cannot be acknowledged: 409 saying why" is "$STATUS $(json "'pending' in j['error']['message']")" "409 True"
anomaly 22222222-0000-4000-8000-000000000003 web-1 df-root/percent_bytes-used 0.8
req GET "/v1/alerts?ruleId=$disk_rule"
check "the third: firing" is "$(json "[(a['status'], a['anomalyCount']) for a in j['alerts']]")" "[('firing', 3)]"
anomaly 22222222-0000-4000-8000-000000000003 web-1 df-root/percent_bytes-used 0.8
req GET "/v1/alerts?ruleId=$disk_rule"
check "a replayed anomaly (same id) counts once" is "$(json "j['alerts'][0]['anomalyCount']")" 3

# --- deleting a rule resolves its open alerts
req DELETE "/v1/alert-rules/$disk_rule" "" "$ADMIN_KEY"
req GET "/v1/alerts?ruleId=$disk_rule"
check "deleting a rule resolves its alerts" is "$(json "[(a['status'], a['resolvedBy']) for a in j['alerts']]")" "[('resolved', 'rule deleted')]"

# --- deliveries reached the receiver; metrics
delivered() { test "$(received "$AN_TMP/rcv" "len(r)")" -ge "$1"; }
check "the receiver got the notifications" until_true 10 delivered 6
curl -s --max-time 5 -o "$AN_TMP/metrics" "$AN_URL/metrics"
check "/metrics counts notifications" has "$(cat "$AN_TMP/metrics")" "anomalyd_notifications_delivered_total"
req GET /v1/health "" ""
check "still healthy" is "$(json "j['status']")" ok
an_stop
check "SIGTERM: exit 0" is "$?" 0
an_finish
