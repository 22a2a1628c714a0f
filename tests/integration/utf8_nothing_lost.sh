#!/bin/sh
# Bad UTF-8 loses nothing else: anomalyd stores the good anomalies of a
# batch and reports the bad ones by index (one bad series name used to
# make it refuse the plugin's whole batch); POST /v1/data refuses a
# sourceId or metric that is not valid UTF-8 (overlong, surrogate, above
# U+10FFFF) without storing or echoing it; the plugin writes collectd's
# names as valid UTF-8, so its batches are stored whole.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/c.conf" "$port" "$AN_TMP/data" "AutoRegisterSources true"
an_start "$AN_TMP/c.conf" || { not_ok "anomalyd starts"; an_finish; }

item() { # id sourceId(raw bytes, printf format)
  printf '{"id":"%s","sourceId":"%b","metric":"cpu","score":0.9,"detectedAt":"2024-01-20T10:00:00Z"}' "$1" "$2"
}
{
  printf '{"anomalies":['
  item good-1 web-1; printf ','
  item bad-1 'web-\0355\0240\0200'; printf ','  # ED A0 80, a surrogate
  item good-2 web-2; printf ','
  printf '{"id":"bad-2","sourceId":"web-3"}'
  printf ']}'
} >"$AN_TMP/batch"
req POST /v1/anomalies "$AN_TMP/batch"
check "a batch with bad items: 200" is "$STATUS" 200
check "…the good ones stored, the bad ones reported by index" is "$(json "(j['received'], j['stored'], j['rejected'], [e['index'] for e in j['errors']], [e['error']['code'] for e in j['errors']])")" "(4, 2, 2, [1, 3], ['INVALID_DATA', 'INVALID_DATA'])"
check "…naming the field" is "$(json "[e['error']['message'] for e in j['errors']]")" "['anomalies[1].sourceId must be a non-empty string of valid UTF-8, at most 256 bytes', 'anomalies[3].metric must be a non-empty string of valid UTF-8, at most 512 bytes']"
req GET "/v1/anomalies?limit=100"
check "…and only the good ones are stored" is "$(json "sorted(a['id'] for a in j['anomalies'])")" "['good-1', 'good-2']"
req POST /v1/anomalies '{"anomalies":[{"id":"x"},{"id":"y"}]}'
check "a batch with no valid item: 400" is "$STATUS $(json "j['error']['code']")" "400 INVALID_DATA"

answer_is_clean() { # the answer is valid UTF-8 and quotes no bad byte
  python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); b.decode("utf-8"); sys.exit(b"\xef\xbf\xbd" in b)' "$AN_TMP/body"
}
bad_name() { # description, bytes (printf %b)
  printf '{"sourceId":"s-%b","values":{"cpu":1}}' "$2" >"$AN_TMP/p"
  req POST /v1/data "$AN_TMP/p"
  check "sourceId with $1: 400 naming sourceId" is "$STATUS $(json "j['error']['message']")" "400 sourceId must be valid UTF-8"
  check "…not echoed back" answer_is_clean
  printf '{"sourceId":"server-01","values":{"m-%b":1}}' "$2" >"$AN_TMP/p"
  req POST /v1/data "$AN_TMP/p"
  check "metric with $1: 400 naming the metric names" is "$STATUS $(json "j['error']['message']")" "400 values: metric names must be valid UTF-8"
  check "…not echoed back" answer_is_clean
}
bad_name "a surrogate (ED A0 80)" '\0355\0240\0200'
bad_name "an overlong / (C0 AF)" '\0300\0257'
bad_name "U+110000 (F4 90 80 80)" '\0364\0220\0200\0200'
printf '[{"sourceId":"s-\355\240\200","values":{"cpu":1}},{"sourceId":"server-01","values":{"cpu":1}}]' >"$AN_TMP/p"
req POST /v1/data "$AN_TMP/p"
check "a batch: the bad point is a per-point error, the other accepted" is "$STATUS $(json "(j['results'][0]['error']['message'], 'dataPointId' in j['results'][1])")" "202 ('points[0].sourceId must be valid UTF-8', True)"
req GET "/v1/anomalies?limit=100"
check "no bad name was registered or stored" is "$(json "[a['sourceId'] for a in j['anomalies'] if not a['sourceId'].isascii()]")" "[]"

# The plugin: a host whose name is not UTF-8 and a good one, in one batch.
cd_dir="$AN_TMP/cd"
an_collectd_config "$cd_dir" "$AN_URL/v1" "WarmUp 30" "TuningInterval 0"
an_collectd_start "$cd_dir" || { not_ok "collectd starts with the plugin"; an_finish; }
# an_putval writes text: these identifiers are bytes
python3 - "$cd_dir/sock" "$(($(date +%s) - 100000))" <<'PY'
import random, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1]); f = s.makefile("rwb")
random.seed(7)
for i in range(200):
    for host in (b"bad\xffhost", b"goodhost"):
        v = 500 if i == 199 else 50 + random.gauss(0, 2)
        f.write(b"PUTVAL %s/app-web/gauge-latency interval=10 %d:%f\n" % (host, int(sys.argv[2]) + 10 * i, v)); f.flush()
        assert f.readline().startswith(b"0 ")
PY
check "the good host's anomaly is stored" an_wait_total "sourceId=goodhost" 1
check "…and the bad host's, its bad byte written as U+FFFD" an_wait_total "sourceId=$(printf 'bad%%EF%%BF%%BDhost')" 1
check "…and nothing was refused" is "$(ls "$cd_dir" | grep -c rejected)" 0
an_collectd_stop
an_finish
