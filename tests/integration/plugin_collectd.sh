#!/bin/sh
# The real collectd loads the real plugin: values fed through unixsock are
# scored, a spike becomes a notification and an anomaly in anomalyd; while
# anomalyd is down, anomalies wait in the spool and all arrive, once; a
# collectd restart keeps the learned state; a bad key stops collectd.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/a.conf" "$port" "$AN_TMP/data"
an_start "$AN_TMP/a.conf" || { not_ok "anomalyd starts"; an_finish; }
cd_dir="$AN_TMP/cd"
an_collectd_config "$cd_dir" "$AN_URL/v1" "WarmUp 30" "TuningInterval 1" \
  "DispatchScores true" '</Plugin>' 'LoadPlugin csv' '<Plugin csv>' \
  "  DataDir \"$AN_TMP/cd/csv\""
an_collectd_start "$cd_dir" || { not_ok "collectd starts with the plugin"; an_finish; }
ok "collectd starts with LoadPlugin anomaly"

now=$(date +%s)
start=$((now - 100000))
an_putval "$cd_dir/sock" "$start" 200 500 testhost/app-web/gauge-latency
check "a spike arrives in anomalyd" an_wait_total "sourceId=testhost" 1
check "…as the right series" is "$(json "(j['anomalies'][0]['metric'], j['anomalies'][0]['value'], j['anomalies'][0]['severity'])")" "('app-web/gauge-latency', 500, 'critical')"
check "…with its explanation" has "$(json "j['anomalies'][0]['explanation']")" "above its"
check "a notification in collectd's log" has "$(cat "$cd_dir/collectd.log")" "Notification: severity = FAILURE, host = testhost, plugin = app"

# Scores are dispatched as values (here to the csv plugin), and never
# scored themselves.
check "anomaly_score values are dispatched" [ -n "$(find "$cd_dir/csv" -path '*app-web/anomaly_score-gauge-latency*' 2>/dev/null)" ]
req GET "/v1/anomalies?sourceId=testhost&limit=1000"
check "…and not scored" is "$(json "[a['metric'] for a in j['anomalies'] if 'anomaly_score' in a['metric']]")" "[]"

# Feedback in anomalyd reaches the plugin as the series' sensitivity.
spike_id=$(json "j['anomalies'][0]['id']")
req POST "/v1/anomalies/$spike_id/feedback" '{"feedback_type":"false_positive"}'
i=0
while ! grep -q "applied the sensitivity of 1 series" "$cd_dir/collectd.log" && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
check "the plugin pulls the tuning feedback made" has "$(cat "$cd_dir/collectd.log")" "applied the sensitivity of 1 series"

# Counters are scored as rates: a steady climb is quiet, a jump in the
# rate is an anomaly.
python3 - "$cd_dir/sock" "$start" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1]); f = s.makefile("rw")
total = 0
for i in range(200):
    total += 1000 + (i % 5) * 10 if i < 199 else 500000
    f.write("PUTVAL testhost/net-eth0/if_octets interval=10 %d:%d:%d\n" % (int(sys.argv[2]) + 10 * i, total, total)); f.flush()
    assert f.readline().startswith("0 ")
PY
check "a jump in a counter's rate is an anomaly, per data source" an_wait_total "sourceId=testhost&metric=net-eth0/if_octets/rx" 1

# anomalyd down during a burst: the anomalies wait in the spool.
an_stop
an_putval "$cd_dir/sock" "$((start + 5000))" 150 0 $(i=0; while [ $i -lt 20 ]; do echo "testhost/burst-$i/gauge-v"; i=$((i + 1)); done)
an_putval "$cd_dir/sock" "$((start + 6500))" 1 900 $(i=0; while [ $i -lt 20 ]; do echo "testhost/burst-$i/gauge-v"; i=$((i + 1)); done)
sleep 2
check "the spool holds them while anomalyd is down" [ -s "$cd_dir/anomaly.state.spool" ]
an_start "$AN_TMP/a.conf" || { not_ok "anomalyd restarts"; an_finish; }
burst_count() {
  req GET "/v1/anomalies?sourceId=testhost&limit=1000"
  json "sum(1 for a in j['anomalies'] if a['metric'].startswith('burst-'))"
}
i=0
while [ "$(burst_count)" != 20 ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
check "all 20 anomalies of the burst arrive after anomalyd is back" is "$(burst_count)" 20
req GET "/v1/anomalies?sourceId=testhost&limit=1000"
check "…each once" is "$(json "len(set(a['metric'] for a in j['anomalies'] if a['metric'].startswith('burst-')))")" 20
check "…and the spool is emptied" [ ! -s "$cd_dir/anomaly.state.spool" ]

# A restart keeps learned state: right after it, a spike is caught with no
# new warm-up.
an_collectd_stop
check "the state file is written at shutdown" [ -s "$cd_dir/anomaly.state" ]
an_collectd_start "$cd_dir" || { not_ok "collectd restarts"; an_finish; }
an_putval "$cd_dir/sock" "$((start + 8000))" 2 700 testhost/app-web/gauge-latency
check "after a restart a spike is caught at once" an_wait_total "sourceId=testhost&metric=app-web/gauge-latency" 2
an_collectd_stop

# A series that stops reporting raises one anomaly saying so.
AN_CD_TIMEOUT=2
an_collectd_config "$AN_TMP/miss" "$AN_URL/v1"
an_collectd_start "$AN_TMP/miss" || { not_ok "collectd starts (missing)"; an_finish; }
an_putval "$AN_TMP/miss/sock" "$(($(date +%s) - 5))" 1 0 testhost/quiet-app/gauge-v
check "a series that stops reporting is an anomaly" an_wait_total "sourceId=testhost&metric=quiet-app/gauge-v" 1
check "…that says so" has "$(json "j['anomalies'][0]['explanation']")" "stopped reporting"
sleep 3
check "…once" an_wait_total "sourceId=testhost&metric=quiet-app/gauge-v" 1
an_collectd_stop

# A bad key in the block stops collectd with a message naming it.
an_collectd_config "$AN_TMP/bad" "$AN_URL/v1" "Colour \"blue\""
an_collectd_run "$AN_TMP/bad/collectd.conf" "$AN_TMP/bad/out"
pid=$!; AN_PIDS="$AN_PIDS $pid"
i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
check "collectd refuses to start on an unknown key" [ "$(kill -0 $pid 2>/dev/null && echo running)" != running ]
check "…naming it" has "$(cat "$AN_TMP/bad/collectd.log" 2>/dev/null)" 'unknown option "Colour"'
an_finish
