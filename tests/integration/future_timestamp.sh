#!/bin/sh
# A time far in the future is refused (400 naming the field and
# MaxFutureSkew), for pushed points and for the plugin's anomalies: a
# point in 9999 used to block its series until then, and a PUTVAL in 2100
# stayed first in every "newest first" list.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data" "MaxFutureSkew 600"
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)

req POST /v1/data '{"sourceId":"server-01","values":{"cpu":1},"timestamp":"9999-01-01T00:00:00Z"}'
check "a point in 9999: 400" is "$STATUS $(json "j['error']['code']")" "400 INVALID_DATA"
check "…naming timestamp and MaxFutureSkew" is "$(json "j['error']['message']")" "timestamp is more than 600 s ahead of the daemon's clock (MaxFutureSkew)"
req POST /v1/data "{\"sourceId\":\"server-01\",\"values\":{\"cpu\":1},\"timestamp\":\"$(iso $((now + 700)))\"}"
check "700 s ahead with MaxFutureSkew 600: 400" is "$STATUS" 400
req POST /v1/data "{\"sourceId\":\"server-01\",\"values\":{\"cpu\":1},\"timestamp\":\"$(iso $((now - 60)))\"}"
check "…and the series is not blocked: a point of a minute ago is taken" is "$STATUS" 202
req POST /v1/data "{\"sourceId\":\"server-01\",\"values\":{\"cpu\":1},\"timestamp\":\"$(iso $((now + 300)))\"}"
check "300 s ahead (within the skew): 202" is "$STATUS" 202
req POST /v1/data '[{"sourceId":"server-01","values":{"mem":1},"timestamp":"2100-01-01T00:00:00Z"},{"sourceId":"server-01","values":{"mem":1}}]'
check "in a batch: a per-point error, the other point taken" is "$STATUS $(json "(j['results'][0]['error']['message'][:19], 'dataPointId' in j['results'][1])")" "202 ('points[0].timestamp', True)"

item() { printf '{"id":"%s","sourceId":"web-1","metric":"cpu","score":0.9,"detectedAt":"%s"}' "$1" "$2"; }
req POST /v1/anomalies "{\"anomalies\":[$(item from-2100 2100-01-01T00:00:00Z),$(item today "$(iso "$now")")]}"
check "an anomaly dated 2100 is refused, the other stored" is "$STATUS $(json "(j['stored'], j['rejected'])")" "200 (1, 1)"
check "…naming detectedAt and MaxFutureSkew" is "$(json "j['errors'][0]['error']['message']")" "anomalies[0].detectedAt is more than 600 s ahead of the daemon's clock (MaxFutureSkew)"
req GET "/v1/anomalies?limit=1"
check "…so the newest first is today's" is "$(json "j['anomalies'][0]['id']")" today

# The plugin's anomaly of a PUTVAL in 2100 is refused and kept aside.
cd_dir="$AN_TMP/cd"
an_collectd_config "$cd_dir" "$AN_URL/v1" "WarmUp 30" "TuningInterval 0"
an_collectd_start "$cd_dir" || { not_ok "collectd starts with the plugin"; an_finish; }
an_putval "$cd_dir/sock" 4102444800 100 500 testhost/app-web/gauge-latency
until_true 20 test -s "$cd_dir/anomaly.state.spool.rejected"
check "the plugin's anomaly in 2100 is refused into .rejected" has "$(cat "$cd_dir/anomaly.state.spool.rejected" 2>/dev/null)" '"detectedAt":"2100-'
req GET "/v1/anomalies?limit=1"
check "…and today's anomaly is still the newest" is "$(json "j['anomalies'][0]['id']")" today
an_collectd_stop

printf 'Listen "127.0.0.1" %s\nMaxFutureSkew -1\n' "$(an_free_port)" >"$AN_TMP/bad.conf"
"$AN_DAEMON" -C "$AN_TMP/bad.conf" -f >"$AN_TMP/out" 2>&1 &
pid=$!; AN_PIDS="$AN_PIDS $pid"
until_true 5 sh -c "! kill -0 $pid 2>/dev/null"
check "MaxFutureSkew -1 is a config error naming file and line" has "$(cat "$AN_TMP/out")" "bad.conf:2: MaxFutureSkew"
an_finish
