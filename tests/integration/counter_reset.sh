#!/bin/sh
# A DERIVE counter that resets is not an anomaly: the real collectd feeds
# the real plugin DERIVE series that reset to 0 (a restarted service).
# collectd's cache makes a rate outside the data source's min and max NaN
# (types.db's DERIVEs have min 0); a type without a min gives the reset as
# a negative rate, which the plugin skips. Neither is scored nor learned,
# while a real jump in the rate after it is still an anomaly.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/a.conf" "$port" "$AN_TMP/data"
an_start "$AN_TMP/a.conf" || { not_ok "anomalyd starts"; an_finish; }
# a counter type without a min, and one whose rate is at most 1000 a
# second, like a link's speed
printf 'requests_total value:DERIVE:U:U\nbounded_rate value:DERIVE:0:1000\n' >"$AN_TMP/types.db"
cd_dir="$AN_TMP/cd"
an_collectd_config "$cd_dir" "$AN_URL/v1" "WarmUp 30" '</Plugin>' \
  "TypesDB \"$AN_TMP/types.db\"" 'LoadPlugin csv' '<Plugin csv>' \
  "  DataDir \"$cd_dir/csv\""
an_collectd_start "$cd_dir" || { not_ok "collectd starts with the plugin"; an_finish; }

# counter IDENT START STEPS…: PUTVALs 10 s apart from START of a counter
# that grows by each STEP in turn ("reset" sets it to 0)
counter() {
  python3 - "$cd_dir/sock" "$@" <<'PY'
import random, socket, sys
sock, ident, start, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sock); f = s.makefile("rw")
random.seed(11)
total = 10 ** 6
for i, step in enumerate(steps):
    total = 0 if step == "reset" else total + int(float(step) + random.gauss(0, 100))
    f.write("PUTVAL %s interval=10 %d:%d\n" % (ident, start + 10 * i, total)); f.flush()
    line = f.readline()
    if not line.startswith("0 "):
        sys.exit("PUTVAL %s failed: %s" % (ident, line))
PY
}
repeat() { i=0; while [ $i -lt "$1" ]; do echo "$2"; i=$((i + 1)); done; }

start=$(($(date +%s) - 100000))
spike_at=$(date -u -d "@$((start + 2510))" +%Y-%m-%dT%H:%M:%SZ)
# reset_then_spike IDENT: 200 values at 500/s, a reset to 0, 50 more at
# 500/s, then 100 times the rate
reset_then_spike() {
  counter "$1" "$start" $(repeat 200 5000) reset $(repeat 50 5000) 500000
}
# only_the_spike METRIC: its one anomaly is the spike, at 50 000/s
only_the_spike() {
  req GET "/v1/anomalies?sourceId=testhost&metric=$1"
  is "$(json "[(round(a['value'], -3), a['detectedAt']) for a in j['anomalies']]")" "[(50000.0, '$spike_at')]"
}
reset_then_spike testhost/app-web/derive-requests
check "a DERIVE (min 0) that resets, then jumps: an anomaly" an_wait_total "sourceId=testhost&metric=app-web/derive-requests" 1
check "…the jump only, not the reset" only_the_spike app-web/derive-requests
reset_then_spike testhost/app-api/requests_total
check "a DERIVE without a min that resets, then jumps: an anomaly" an_wait_total "sourceId=testhost&metric=app-api/requests_total" 1
check "…the jump only, not the reset's negative rate" only_the_spike app-api/requests_total

# a rate above the data source's max (5000/s, max 1000) is skipped too
counter testhost/link-0/bounded_rate "$start" $(repeat 200 5000) 50000 \
  $(repeat 50 5000) 1000
check "a rate below its normal after a rate above max: one anomaly" an_wait_total "sourceId=testhost&metric=link-0/bounded_rate" 1
check "…the drop, not the rate outside max" is "$(json "[round(a['value'], -2) for a in j['anomalies']]")" "[100.0]"
req GET "/v1/anomalies?sourceId=testhost&limit=100"
check "no anomaly is a negative rate" is "$(json "[a['metric'] for a in j['anomalies'] if a['value'] < 0]")" "[]"
an_collectd_stop
an_finish
