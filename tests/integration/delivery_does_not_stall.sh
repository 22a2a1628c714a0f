#!/bin/sh
# Delivery that does not stall: a receiver that accepts and never answers
# delays only its own channel. Five alerts each go to a stalled receiver
# and to a healthy one; the healthy one has every alert within 5 s
# (DESIGN.md: first delivery within 5 s) while the stalled one is still
# timing out. A kill -9 and a SIGTERM with those deliveries in flight lose
# none: once the stalled receiver recovers it gets every alert.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
hport=$(an_free_port)
dport=$(an_free_port)
H="$AN_TMP/healthy"
D="$AN_TMP/dead"
channel() { # name port
  printf '<Channel "%s">\n  Type "webhook"\n  URL "http://127.0.0.1:%s/hook"\n</Channel>' "$1" "$2"
}
an_write_config "$AN_TMP/a.conf" "$port" "$AN_TMP/data" \
  "$(channel dead "$dport")" "$(channel healthy "$hport")" 'NotifyTimeout 5'
mkdir -p "$D"
echo "/hook stall" >"$D/mode"
an_receiver_start "$hport" "$H" || { not_ok "healthy receiver starts"; an_finish; }
an_receiver_start "$dport" "$D" || { not_ok "stalled receiver starts"; an_finish; }
an_start "$AN_TMP/a.conf" || { not_ok "anomalyd starts"; an_finish; }

# the stalled channel first: each alert's notices are queued in this order
req POST /v1/alert-rules '{"name":"CPU","severity":"critical","conditions":{"metric":"cpu","threshold":0.5},"channels":["dead","healthy"],"resolveAfter":0}' "$ADMIN_KEY"
check "rule to both channels created" is "$STATUS" 201

sent=$(python3 -c 'import time; print(time.time())')
for i in 1 2 3 4 5; do
  req POST /v1/anomalies "{\"anomalies\":[{\"id\":\"44444444-0000-4000-8000-00000000000$i\",\"sourceId\":\"web-$i\",\"metric\":\"cpu-0/cpu-user\",\"value\":97.5,\"expected\":12.5,\"score\":0.97,\"detectedAt\":\"2024-01-20T10:00:00Z\"}]}"
done
triggers() { # DIR STATUS: sources whose trigger the receiver got with STATUS
  received "$1" "sorted(set(x['body']['sourceId'] for x in r if x['status'] == $2 and x['body']['event'] == 'trigger'))"
}
all5="['web-1', 'web-2', 'web-3', 'web-4', 'web-5']"
healthy_has_all() { test "$(triggers "$H" 200)" = "$all5"; }
until_true 5 healthy_has_all
check "the healthy receiver has all five alerts within 5 s" is "$(triggers "$H" 200)" "$all5"
echo "# seconds from sending to the healthy receiver: $(received "$H" "[round(x['t'] - $sent, 2) for x in r]")"
check "…while the stalled one is asked and has answered none" is "$(received "$D" "(len(r) > 0, [x['status'] for x in r if x['status'] != 0])")" "(True, [])"
req GET "/v1/alerts?sourceId=web-5&limit=1"
a5=$(json "j['alerts'][0]['id']")
req GET "/v1/alerts/$a5"
check "…its delivery is still pending" is "$(json "sorted((d['channel'], d['status']) for d in j['deliveries'])")" "[('dead', 'pending'), ('healthy', 'delivered')]"

# kill -9 while the stalled deliveries are in flight, then recover
sleep 1
kill -KILL "$AN_PID"
wait "$AN_PID" 2>/dev/null
an_start "$AN_TMP/a.conf" || not_ok "anomalyd restarts"
asked() { test "$(received "$D" "len(r)")" -gt "$1"; }
check "after the restart the stalled receiver is asked again" until_true 10 asked "$(received "$D" "len(r)")"
an_stop
check "SIGTERM with deliveries in flight: exit 0 within 5 s" is "$?" 0
an_start "$AN_TMP/a.conf" || not_ok "anomalyd starts again"
: >"$D/mode"
dead_has_all() { test "$(triggers "$D" 200)" = "$all5"; }
check "after kill -9 and recovery, the stalled receiver gets every alert" until_true 40 dead_has_all
sleep 1
check "…each once" is "$(received "$D" "len([x for x in r if x['status'] == 200])")" 5
check "the healthy receiver got each alert once" is "$(received "$H" "len(r)")" 5
deliveries_done() {
  req GET "/v1/alerts?limit=10"
  test "$(json "sorted(set(a['status'] for a in j['alerts']))")" = "['firing']" || return 1
  for id in $(json "' '.join(a['id'] for a in j['alerts'])"); do
    req GET "/v1/alerts/$id"
    test "$(json "sorted(set(d['status'] for d in j['deliveries']))")" = "['delivered']" || return 1
  done
}
check "every delivery is recorded as delivered" until_true 10 deliveries_done
an_stop
check "SIGTERM: exit 0" is "$?" 0
an_finish
