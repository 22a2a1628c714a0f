#!/bin/sh
# A batch anomalyd refuses for good (a 4xx) is kept in STATEFILE.spool
# .rejected, as docs/plugin.md says. The plugin once handed the forwarder
# a path in anomaly_init's stack buffer, so rejected anomalies went to a
# path made of later stack contents, or were lost.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
rcv="$AN_TMP/rcv"
mkdir -p "$rcv"
echo "/v1/anomalies 400" >"$rcv/mode"
an_receiver_start "$port" "$rcv" || { not_ok "the receiver starts"; an_finish; }
cd_dir="$AN_TMP/cd"
an_collectd_config "$cd_dir" "http://127.0.0.1:$port/v1" "WarmUp 30" \
  "TuningInterval 0"
an_collectd_start "$cd_dir" || { not_ok "collectd starts with the plugin"; an_finish; }

an_putval "$cd_dir/sock" "$(($(date +%s) - 100000))" 200 500 testhost/app-web/gauge-latency
until_true 20 test -s "$cd_dir/anomaly.state.spool.rejected"
check "the refused batch is in anomaly.state.spool.rejected" [ -s "$cd_dir/anomaly.state.spool.rejected" ]
check "…with the anomaly in it" has "$(cat "$cd_dir/anomaly.state.spool.rejected" 2>/dev/null)" '"metric":"app-web/gauge-latency"'
check "…which the receiver was sent" is "$(received "$rcv" "len([x for x in r if x['path'] == '/v1/anomalies'])")" 1
check "the log names that file" has "$(cat "$cd_dir/collectd.log")" "moved to $cd_dir/anomaly.state.spool.rejected"
check "no other file was written beside it" is "$(ls "$cd_dir" | grep -c 'rejected')" 1
an_collectd_stop
an_finish
