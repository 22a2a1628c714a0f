#!/bin/sh
# A resent POST /v1/data point (same source, metric, time and value: a
# client retrying after a 503 or a lost answer) gets its first answer
# again and is not learned twice; it used to be refused ("timestamp must
# be after the last one"), so a client that followed "retry later" lost
# it. A different value at that time is still refused.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data" "AutoRegisterSources true"
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }

# Two series learn the same 100 values; "resent" gets every one of them
# three times.
python3 - "$AN_TMP" <<'PY'
import json, random, sys
random.seed(11)
for i in range(100):
    v = 50 + random.gauss(0, 2)
    for name in ("once", "resent"):
        p = {"sourceId": name, "values": {"cpu": v}, "timestamp": 1705744800 + 10 * i}
        open("%s/%s-%03d" % (sys.argv[1], name, i), "w").write(json.dumps(p))
PY
same=0 first=""
for i in $(seq -f %03g 0 99); do
  req POST /v1/data "$AN_TMP/once-$i"
  req POST /v1/data "$AN_TMP/resent-$i"; first=$BODY
  req POST /v1/data "$AN_TMP/resent-$i"; [ "$STATUS" = 202 ] && [ "$BODY" = "$first" ] && same=$((same + 1))
  req POST /v1/data "$AN_TMP/resent-$i"; [ "$STATUS" = 202 ] && [ "$BODY" = "$first" ] && same=$((same + 1))
done
check "every resend: 202 with the first answer, byte for byte" is "$same" 200

# Not learned twice: both series score the next value alike.
req POST /v1/data '{"sourceId":"once","values":{"cpu":58},"timestamp":1705745800}'
once=$(json "(j['anomalyScore'], j['metrics']['cpu']['expected'])")
req POST /v1/data '{"sourceId":"resent","values":{"cpu":58},"timestamp":1705745800}'
check "…and not learned again: the next value scores as in the series sent once" is "$(json "(j['anomalyScore'], j['metrics']['cpu']['expected'])")" "$once"

# A resent anomaly is stored once, with its first id.
req POST /v1/data '{"sourceId":"resent","values":{"cpu":500},"timestamp":1705745810}'
id=$(json "j['metrics']['cpu']['anomalyId']")
check "a spike is an anomaly" is "$(json "j['isAnomaly']")" True
req POST /v1/data '{"sourceId":"resent","values":{"cpu":500},"timestamp":1705745810}'
check "…its resend answers the same anomalyId" is "$(json "j['metrics']['cpu']['anomalyId']")" "$id"
req GET "/v1/anomalies?sourceId=resent"
check "…and it is stored once" is "$(json "[a['id'] for a in j['anomalies']]")" "['$id']"

req POST /v1/data '{"sourceId":"resent","values":{"cpu":501},"timestamp":1705745810}'
check "another value at the last time: still refused" is "$STATUS $(json "j['error']['message'][:32]")" "400 timestamp must be after the last"
req POST /v1/data '{"sourceId":"resent","values":{"cpu":50},"timestamp":1705745800}'
check "an older point again: refused (only the last point is kept)" is "$STATUS" 400
an_finish
