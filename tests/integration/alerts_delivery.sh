#!/bin/sh
# Notifications really delivered over HTTP to receivers on loopback that
# stand in for Slack, PagerDuty and webhooks: payload shapes, one page per
# alert, acknowledge and resolve on the same PagerDuty incident,
# escalation, receivers that fail (500, 429 with Retry-After, 400), that
# are down for a while, and a kill -9 of anomalyd with deliveries pending.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
rport=$(an_free_port)
R="$AN_TMP/rcv"
channel() { # name type path [routing key]
  echo "<Channel \"$1\">"
  echo "  Type \"$2\""
  echo "  URL \"http://127.0.0.1:$rport$3\""
  [ -n "${4:-}" ] && echo "  RoutingKey \"$4\""
  echo '</Channel>'
}
an_write_config "$AN_TMP/a.conf" "$port" "$AN_TMP/data" \
  "$(channel slack slack /slack)" "$(channel pagerduty pagerduty /pd rk-0123456789)" \
  "$(channel hook webhook /hook)" "$(channel manager webhook /manager)" \
  "$(channel slow webhook /slow)" 'PublicURL "https://anomalyd.example.com/"' \
  'NotifyTimeout 1'
an_receiver_start "$rport" "$R" || { not_ok "receiver starts"; an_finish; }
an_start "$AN_TMP/a.conf" || { not_ok "anomalyd starts"; an_finish; }

n=0
# anomaly SOURCE METRIC SCORE: one anomaly, as the plugin sends it
anomaly() {
  n=$((n + 1))
  req POST /v1/anomalies "{\"anomalies\":[{\"id\":\"33333333-0000-4000-8000-$(printf %012d $n)\",\"sourceId\":\"$1\",\"metric\":\"$2\",\"value\":97.5,\"expected\":12.5,\"score\":$3,\"detectedAt\":\"2024-01-20T10:00:00Z\",\"explanation\":\"$2 97.5 is far above its normal of 12.5\"}]}"
}
# alert_of SOURCE: the id of the newest alert of the source
alert_of() { req GET "/v1/alerts?sourceId=$1&limit=1"; json "j['alerts'][0]['id']"; }
# count EXPR: how many requests the receiver got that match EXPR (on x)
count() { received "$R" "len([x for x in r if $1])"; }
pd() { echo "x['path'] == '/pd' and x['body']['dedup_key'] == '$1'"; }
pd_action() { echo "$(pd "$1") and x['body']['event_action'] == '$2'"; }
slack() { echo "x['path'] == '/slack' and '$1' in x['body']['text']"; }
hook() { echo "x['path'] == '$1' and x['body']['alertId'] == '$2'"; }
got() { test "$(count "$1")" = "$2"; }       # EXPR N: exactly N match
at_least() { test "$(count "$1")" -ge "$2"; } # EXPR N: N or more match

req POST /v1/alert-rules '{"name":"Critical CPU Alert","severity":"critical","conditions":{"metric":"cpu","threshold":0.9},"channels":["slack","pagerduty"],"escalation":{"timeout":2,"escalateTo":"manager"},"resolveAfter":0}' "$ADMIN_KEY"
check "rule with escalation created" is "$STATUS" 201

# --- one page per alert, whatever the number of anomalies
for i in 1 2 3 4 5; do anomaly web-1 cpu-0/cpu-user 0.9$i; done
a1=$(alert_of web-1)
check "PagerDuty gets the trigger" until_true 10 got "$(pd_action "$a1" trigger)" 1
check "Slack gets the message" until_true 10 got "$(slack "$a1")" 1
sleep 1
check "five anomalies, one alert: one trigger to PagerDuty" got "$(pd "$a1")" 1
check "…and one Slack message" got "$(slack "$a1")" 1
check "PagerDuty trigger: routing key, dedup key, severity, summary, source" is "$(received "$R" "[(x['body']['routing_key'], x['body']['payload']['severity'], x['body']['payload']['source'], x['body']['payload']['component'], 'far above' in x['body']['payload']['summary'], x['body']['links'][0]['href']) for x in r if $(pd "$a1")]")" "[('rk-0123456789', 'critical', 'web-1', 'cpu-0/cpu-user', True, 'https://anomalyd.example.com/v1/alerts/$a1')]"
check "Slack message: source, metric, value, expected, score, severity, explanation, link" is "$(received "$R" "[all(w in x['body']['text'] for w in ('web-1', 'cpu-0/cpu-user', '97.5', '12.5', 'score 0.91', 'critical', 'far above its normal', 'https://anomalyd.example.com/v1/alerts/$a1')) for x in r if $(slack "$a1")]")" "[True]"
check "Slack blocks carry the fields" is "$(received "$R" "[sorted(f['text'].split(chr(10))[0] for f in x['body']['blocks'][1]['fields']) for x in r if $(slack "$a1")]")" "[['*Expected*', '*Metric*', '*Score*', '*Severity*', '*Source*', '*Value*']]"

# --- escalation: after the timeout when nobody acknowledged; not after an ack
anomaly web-2 cpu-0/cpu-user 0.95
a2=$(alert_of web-2)
req PATCH "/v1/alerts/$a2/acknowledge" '{"notes":"on it"}'
check "web-2's alert acknowledged at once" is "$STATUS" 200
check "web-1's alert escalates to the manager after 2 s" until_true 10 got "$(hook /manager "$a1") and x['body']['event'] == 'escalate'" 1
req GET "/v1/alerts/$a1"
check "…and says when" is "$(json "j['escalatedAt'] is not None")" True
sleep 1
check "the acknowledged alert did not escalate" got "$(hook /manager "$a2")" 0
check "PagerDuty got acknowledge for the acknowledged one, same dedup key" got "$(pd_action "$a2" acknowledge)" 1

# --- acknowledge, then resolve, on the same PagerDuty incident
req PATCH "/v1/alerts/$a1/acknowledge" '{"notes":"Investigating spike in CPU usage","isFalsePositive":false}'
check "acknowledge: PagerDuty acknowledge with the same dedup_key" until_true 10 got "$(pd_action "$a1" acknowledge)" 1
check "…Slack hears who acknowledged" until_true 10 got "$(slack "$a1") and 'ACKNOWLEDGED' in x['body']['text'] and 'feeder' in x['body']['text']" 1
check "…and so does the escalation's channel" until_true 10 got "$(hook /manager "$a1") and x['body']['event'] == 'acknowledge'" 1
req PATCH "/v1/alerts/$a1/resolve" '{}'
check "resolve: PagerDuty resolve with the same dedup_key" until_true 10 got "$(pd_action "$a1" resolve)" 1
check "PagerDuty saw trigger, acknowledge, resolve in that order" is "$(received "$R" "[x['body']['event_action'] for x in r if $(pd "$a1")]")" "['trigger', 'acknowledge', 'resolve']"

# --- auto-resolve once the series is quiet
req POST /v1/alert-rules '{"name":"Load","severity":"high","conditions":{"metric":"load","threshold":0.8},"channels":["pagerduty"],"resolveAfter":2}' "$ADMIN_KEY"
anomaly web-4 load/load-short 0.9
a4=$(alert_of web-4)
check "quiet for resolveAfter: resolved, and PagerDuty told" until_true 15 got "$(pd_action "$a4" resolve)" 1
req GET "/v1/alerts/$a4"
check "…resolved by auto" is "$(json "(j['status'], j['resolvedBy'])")" "('resolved', 'auto')"

# --- a receiver answering 500 gets it again until it takes it
echo "/pd 500" >"$R/mode"
anomaly web-5 cpu-0/cpu-user 0.97
a5=$(alert_of web-5)
check "500: retried" until_true 10 at_least "$(pd "$a5")" 2
: >"$R/mode"
check "…and delivered once the receiver is well" until_true 15 got "$(pd "$a5") and x['status'] == 202" 1
req GET "/v1/alerts/$a5"
check "the history shows the 500s and the delivery" is "$(json "[(d['status'], d['attempts'] >= 3, d['history'][0]['httpStatus'], d['history'][-1]['httpStatus']) for d in j['deliveries'] if d['channel'] == 'pagerduty']")" "[('delivered', True, 500, 202)]"

# --- 429 waits its Retry-After
# (4 s: time enough to see the first ask alone on a loaded machine)
echo "/slack 429 4" >"$R/mode"
anomaly web-6 cpu-0/cpu-user 0.97
a6=$(alert_of web-6)
check "429: Slack is asked once" until_true 10 got "$(slack "$a6")" 1
: >"$R/mode"
check "…and again after Retry-After" until_true 10 got "$(slack "$a6") and x['status'] == 200" 1
check "…not before 4 s" is "$(received "$R" "(lambda t: t[1] - t[0] >= 3.9)([x['t'] for x in r if $(slack "$a6")])")" True

# --- 400: refused for good, with the receiver's answer
req POST /v1/alert-rules '{"name":"Memory","severity":"medium","conditions":{"metric":"memory","threshold":0.5},"channels":["hook"]}' "$ADMIN_KEY"
echo "/hook 400" >"$R/mode"
anomaly web-7 memory/memory-used 0.8
a7=$(alert_of web-7)
check "400: the webhook is asked" until_true 10 got "$(hook /hook "$a7")" 1
sleep 2
check "…once: a 4xx is not retried" got "$(hook /hook "$a7")" 1
req GET "/v1/alerts/$a7"
check "…recorded as failed with the receiver's answer" is "$(json "[(d['status'], d['attempts'], 'HTTP 400' in d['lastError'], 'mode 400' in d['lastError']) for d in j['deliveries']]")" "[('failed', 1, True, True)]"
: >"$R/mode"
check "the webhook gets the notice as JSON" is "$(received "$R" "[(x['body']['event'], x['body']['sourceId'], x['body']['metric'], x['body']['score'], x['body']['severity']) for x in r if $(hook /hook "$a7")]")" "[('trigger', 'web-7', 'memory/memory-used', 0.8, 'medium')]"

# --- a receiver that does not answer in NotifyTimeout is tried again
req POST /v1/alert-rules '{"name":"Net","severity":"low","conditions":{"metric":"interface","threshold":0.5},"channels":["slow"]}' "$ADMIN_KEY"
echo "/slow hang" >"$R/mode"
anomaly web-10 interface-eth0/if_octets/rx 0.8
a10=$(alert_of web-10)
check "a hanging receiver is asked" until_true 10 got "$(hook /slow "$a10")" 1
: >"$R/mode"
check "…and asked again after the timeout" until_true 15 at_least "$(hook /slow "$a10")" 2
deliveries_are() { req GET "/v1/alerts/$1"; test "$(json "[d['status'] for d in j['deliveries']]")" = "$2"; }
check "…until it took it" until_true 15 deliveries_are "$a10" "['delivered']"
check "the history names the timeout" is "$(json "'imeout' in j['deliveries'][0]['history'][0]['error']")" True

# --- a receiver down for a while gets every notification once it is back
an_receiver_stop
anomaly web-8 cpu-0/cpu-user 0.97
a8=$(alert_of web-8)
sleep 3
req GET "/v1/alerts/$a8"
check "while the receiver is down, deliveries wait" is "$(json "sorted(set(d['status'] for d in j['deliveries']))")" "['pending']"
an_receiver_start "$rport" "$R"
check "back up: PagerDuty gets the trigger" until_true 30 got "$(pd "$a8")" 1
check "…and Slack its message" until_true 30 got "$(slack "$a8")" 1

# --- kill -9 with deliveries pending: they go out after the restart
an_receiver_stop
anomaly web-9 cpu-0/cpu-user 0.97
a9=$(alert_of web-9)
kill -KILL "$AN_PID"
wait "$AN_PID" 2>/dev/null
an_receiver_start "$rport" "$R"
an_start "$AN_TMP/a.conf" || not_ok "anomalyd restarts"
check "after kill -9 and a restart, the pending trigger is delivered" until_true 15 got "$(pd "$a9")" 1
check "…and Slack's" until_true 15 got "$(slack "$a9")" 1
sleep 1
check "nothing was sent twice" is "$(count "$(pd "$a1") or $(pd "$a8") or $(pd "$a9")")" 5
an_stop
check "SIGTERM: exit 0" is "$?" 0
an_finish
