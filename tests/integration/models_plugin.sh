#!/bin/sh
# Issue 14's proof with the real programs: RRD files holding a week of a
# daily cycle (20 by night, 80 by day from 06:00 to 18:00 UTC, a little
# noise, a value every 10 s), made with rrdtool create/update at past
# times in the rrdtool plugin's layout under the RRDDir anomalyd reads; a
# seasonal training over them through the API and its activation; a real
# collectd (Debian's, with the rrdtool plugin writing into that same
# directory next to LoadPlugin anomaly) that pulls the model and attaches
# it to the series as their first values come, fed through unixsock.
#
# Three series learned the same cycle; their histories end at different
# times of the same day, and each is then fed 80, its first value in
# collectd, 10 s after its history ends:
#   app-night  ends at 02:00 (level 20): 80 at 02:00:10 is an anomaly. A
#              jump from 20 to 80 at that time was never seen.
#   app-dawn   ends at 05:59:50 (level 20): 80 at 06:00:00 is not. The
#              same jump from the same level, but at the time of day the
#              cycle steps up every morning: the model's seasonal envelope
#              (how surprising each 5 minutes of the day usually is) makes
#              it normal. This is the check that needs seasonality.
#   app-noon   ends at 12:00 (level 80): 80 at 12:00:10 is not. By day 80
#              is the level the series was at (the detector has no level
#              profile of the day: this holds because the history ends by
#              day, not because the model knows noon).
# A fourth series with no history (app-fresh) fed 80 says nothing: without
# a model a series is warming up, so the anomaly at night is the model's.
#
# The noise is drawn with a fixed seed, so every run (every day: the
# histories start at 02:00) trains on the same values. The envelope does
# not make every morning step normal: replaying the detector over this
# cycle with 200 other noise draws, in about 1 of 70 the day's step
# surprised more than the usual surprise of its five minutes plus the
# margin, and scored as an anomaly at 06:00 too.
. "$(dirname "$0")/lib.sh"

command -v rrdtool >/dev/null || { not_ok "rrdtool is installed (contrib/install-deps)"; an_finish; }
[ -f /usr/lib/collectd/rrdtool.so ] || { not_ok "collectd's rrdtool plugin is installed"; an_finish; }

now=$(date +%s)
day=$(( (now / 86400 - 2) * 86400 )) # midnight UTC, two days ago
night_end=$((day + 2 * 3600))
dawn_end=$((day + 6 * 3600 - 10))
noon_end=$((day + 12 * 3600))
start=$((night_end - 7 * 86400))
rrd="$AN_TMP/rrd"

# history NAME END: testhost/NAME/gauge-load.rrd, the cycle from start to
# END, in a 10 s archive 8 days long (the finest then reaches back to the
# training range's start for every file)
history() {
  mkdir -p "$rrd/testhost/$1"
  python3 - "$start" "$2" <<'PY' | an_rrd_history "$rrd/testhost/$1/gauge-load.rrd" "$start" 70000
import random, sys
start, end = int(sys.argv[1]), int(sys.argv[2])
random.seed(14)
for t in range(start + 10, end + 1, 10):
    hour = (t % 86400) / 3600
    print("%d:%.3f" % (t, (80 if 6 <= hour < 18 else 20) + random.gauss(0, 2)))
PY
}
check "a week of the cycle, ending at 02:00, written with rrdtool at past times" history app-night "$night_end"
check "…another ending at 05:59:50" history app-dawn "$dawn_end"
check "…another ending at 12:00" history app-noon "$noon_end"

port=$(an_free_port)
an_write_config "$AN_TMP/d.conf" "$port" "$AN_TMP/data" \
  "RRDDir \"$rrd\"" 'TrainInterval 0'
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd starts"; an_finish; }

req POST /v1/models/train "{\"algorithm\":\"seasonal\",\"dataRange\":{\"start\":$start,\"end\":$noon_end},\"sourceId\":\"testhost\"}" "$ADMIN_KEY"
check "a seasonal training over the RRD files: 202" is "$STATUS" 202
job=$(json "j['jobId']")
until_true 30 sh -c "curl -s -H 'X-Api-Key: $STREAM_KEY' $AN_URL/v1/models/train/$job | grep -q '\"status\":\"succeeded\"'"
req GET "/v1/models/train/$job"
check "…succeeds" is "$(json "j['status'], j['error']")" "succeeded None"
model=$(json "j['modelId']")
req GET "/v1/models/$model"
check "…a model of the three series, each a week of 10 s values" \
  is "$(json "j['series'], j['points'] > 3 * 60000")" "3 True"
req POST "/v1/models/$model/activate" "" "$ADMIN_KEY"
check "…activated" is "$STATUS $(json "j['active']")" "200 True"

# collectd: rrdtool writes into the RRDDir anomalyd read (a block after
# the anomaly one), the plugin pulls every second, and its scores go to
# the csv plugin, to be read
cd_dir="$AN_TMP/cd"
an_collectd_config "$cd_dir" "$AN_URL/v1" "ModelInterval 1" "DispatchScores true" \
  '</Plugin>' 'LoadPlugin rrdtool' '<Plugin rrdtool>' "  DataDir \"$rrd\"" \
  '</Plugin>' 'LoadPlugin csv' '<Plugin csv>' "  DataDir \"$cd_dir/csv\""
cp /usr/lib/collectd/rrdtool.so "$cd_dir/plugins/"
an_collectd_start "$cd_dir" || { not_ok "collectd starts with anomaly and rrdtool"; an_finish; }
log="$cd_dir/collectd.log"
until_true 10 grep -q "model v1.0.0 from anomalyd" "$log"
check "collectd's log: the model is pulled, its three series wait for their first values" \
  has "$(cat "$log")" "anomaly plugin: model v1.0.0 from anomalyd: 0 series attached (3 pending, 0 older than live)"

# each series' first value in collectd: 80, 10 s after its history ends;
# the night one last, so that once its anomaly is in anomalyd, anything
# the others raised before it is too (the forwarder keeps the order)
python3 - "$cd_dir/sock" "$night_end" "$dawn_end" "$noon_end" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1]); f = s.makefile("rw")
night, dawn, noon = (int(a) for a in sys.argv[2:5])
for ident, t in (("app-fresh", night + 10), ("app-noon", noon + 10),
                 ("app-dawn", dawn + 10), ("app-night", night + 10)):
    f.write("PUTVAL testhost/%s/gauge-load interval=10 %d:80\n" % (ident, t)); f.flush()
    line = f.readline()
    if not line.startswith("0 "):
        sys.exit("PUTVAL %s failed: %s" % (ident, line))
PY
check "the values are fed through unixsock" is "$?" 0
check "80 at 02:00 on the series whose nights are 20 is an anomaly, at its first value" \
  an_wait_total "sourceId=testhost&metric=app-night/gauge-load" 1
check "…expected at the night's level, about 20" \
  is "$(json "18 < j['anomalies'][0]['expected'] < 23")" "True"
req GET "/v1/anomalies?sourceId=testhost&limit=100"
check "the same 80 at 06:00 (the usual morning step) and at 12:00 (by day) are not; nor on a series without a model (warming up)" \
  is "$(json "[a['metric'] for a in j['anomalies']]")" "['app-night/gauge-load']"
# score NAME: the last anomaly_score the plugin dispatched for the series
score() { find "$cd_dir/csv/testhost/app-$1" -name 'anomaly_score-gauge-load-*' -exec tail -qn1 {} + 2>/dev/null | cut -d, -f2; }
until_true 10 sh -c "[ -n \"\$(find '$cd_dir/csv/testhost/app-noon' -name 'anomaly_score-*' 2>/dev/null)\" ]"
echo "# scores: night $(score night), dawn $(score dawn), noon $(score noon), fresh $(score fresh)"
check "…their scores: night at least the Threshold (0.7), dawn and noon 0" \
  is "$(python3 -c "print($(score night) >= 0.7, $(score dawn) == 0, $(score noon) == 0)")" "True True True"
until_true 10 grep -q "more series attached" "$log"
check "collectd's log: the three series got the model at their first value" \
  has "$(cat "$log")" "anomaly plugin: model v1.0.0: 3 more series attached at their first value (0 pending)"
check "collectd's rrdtool plugin wrote the value into the file anomalyd trained from" \
  until_true 10 sh -c "[ \"\$(rrdtool lastupdate '$rrd/testhost/app-night/gauge-load.rrd' | tail -1 | cut -d: -f1)\" = $((night_end + 10)) ]"

# a restart: the state file keeps the attached states; the model pulled
# again has nothing newer for them
an_collectd_stop
: >"$log"
an_collectd_start "$cd_dir" || { not_ok "collectd restarts"; an_finish; }
until_true 10 grep -q "model v1.0.0 from anomalyd" "$log"
check "after a restart the state file has the four series" has "$(cat "$log")" "restored the state of 4 series"
check "…and the model is older than what they learned" \
  has "$(cat "$log")" "model v1.0.0 from anomalyd: 0 series attached (0 pending, 3 older than live)"
an_collectd_stop
an_stop
check "clean stop" is "$?" 0
an_finish
