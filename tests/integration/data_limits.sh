#!/bin/sh
# Bounds on what one client can make the daemon hold or compute: metrics
# per point (MaxMetricsPerPoint; a point of 40 000 metrics used to stall
# the event loop for 0.3 s) and series per source (MaxSeriesPerSource),
# each a 400 naming the limit.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data" "AutoRegisterSources true"
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }
# 5000, not 40 000: yajl's tree grows an object by one realloc per key,
# which AddressSanitizer makes quadratic (20 s for 40 000)
python3 -c 'import json; print(json.dumps({"sourceId": "server-01", "values": {"m%d" % i: i for i in range(5000)}}))' >"$AN_TMP/wide"
req POST /v1/data "$AN_TMP/wide"
check "a point of 5000 metrics (default limit 1000): 400 naming the limit" is "$STATUS $(json "j['error']['message']")" "400 values has 5000 metrics; at most MaxMetricsPerPoint (1000)"
python3 -c 'import json; print(json.dumps({"sourceId": "server-01", "values": {"m%d" % i: i for i in range(1000)}}))' >"$AN_TMP/wide"
req POST /v1/data "$AN_TMP/wide"
check "a point of 1000 metrics: 202" is "$STATUS" 202
an_stop

port=$(an_free_port)
an_write_config "$AN_TMP/s.conf" "$port" "$AN_TMP/data2" "AutoRegisterSources true" \
  "MaxMetricsPerPoint 5" "MaxSeriesPerSource 3"
an_start "$AN_TMP/s.conf" || { not_ok "anomalyd starts (small limits)"; an_finish; }
req POST /v1/data '{"sourceId":"a","values":{"m1":1,"m2":2,"m3":3,"m4":4,"m5":5,"m6":6}}'
check "6 metrics with MaxMetricsPerPoint 5: 400" is "$STATUS $(json "j['error']['message']")" "400 values has 6 metrics; at most MaxMetricsPerPoint (5)"
req POST /v1/data '{"sourceId":"a","values":{"m1":1,"m2":2,"m3":3},"timestamp":1705744800}'
check "3 series of source a: 202" is "$STATUS" 202
req POST /v1/data '{"sourceId":"a","values":{"m4":1},"timestamp":1705744810}'
check "a 4th with MaxSeriesPerSource 3: 400 naming the limit" is "$STATUS $(json "j['error']['message']")" "400 values.m4 would be a new series of source a, which has MaxSeriesPerSource (3) already"
req POST /v1/data '{"sourceId":"a","values":{"m1":1},"timestamp":1705744820}'
check "…its existing series carry on" is "$STATUS" 202
req POST /v1/data '{"sourceId":"b","values":{"m1":1,"m2":2,"m3":3},"timestamp":1705744800}'
check "…and another source has its own budget" is "$STATUS" 202
an_stop
an_start "$AN_TMP/s.conf" || { not_ok "anomalyd restarts"; an_finish; }
req POST /v1/data '{"sourceId":"a","values":{"m5":1},"timestamp":1705744830}'
check "after a restart the series are still counted: 400" is "$STATUS" 400
req POST /v1/data '{"sourceId":"a","values":{"m2":1},"timestamp":1705744830}'
check "…and the known ones still taken" is "$STATUS" 202
an_finish
