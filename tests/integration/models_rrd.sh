#!/bin/sh
# Training over collectd's RRD files, and training jobs across cancel,
# kill -9 and SIGTERM. The files are made with rrdtool create/update at
# past times: a week of a daily cycle every 10 s, under 300 hosts (hard
# links of one file: a week of history for a small fleet, which takes a
# job some seconds to train). One worker, so further jobs queue.
. "$(dirname "$0")/lib.sh"

command -v rrdtool >/dev/null || { not_ok "rrdtool is installed (contrib/install-deps)"; an_finish; }
now=$(date +%s)
end=$(( (now - 600) / 10 * 10 ))
start=$(( end - 7 * 86400 ))
rrd="$AN_TMP/rrd"
mkdir -p "$rrd/host-000/cpu-0"
python3 - "$start" "$end" <<'PY' | an_rrd_history "$rrd/host-000/cpu-0/percent-user.rrd" "$start" 61000
import math, random, sys
start, end = int(sys.argv[1]), int(sys.argv[2])
random.seed(3)
for t in range(start + 10, end + 1, 10):
    print("%d:%.3f" % (t, 50 + 30 * math.sin(2 * math.pi * (t % 86400) / 86400) + random.gauss(0, 2)))
PY
check "a week of history written with rrdtool at past times" is "$?" 0
i=1
while [ $i -lt 300 ]; do
  h=$(printf 'host-%03d' $i)
  mkdir -p "$rrd/$h/cpu-0"
  ln "$rrd/host-000/cpu-0/percent-user.rrd" "$rrd/$h/cpu-0/percent-user.rrd"
  i=$((i + 1))
done

port=$(an_free_port)
an_write_config "$AN_TMP/d.conf" "$port" "$AN_TMP/data" \
  "RRDDir \"$rrd\"" 'TrainWorkers 1' 'TrainInterval 0'
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd starts"; an_finish; }

range="\"dataRange\":{\"start\":$start,\"end\":$end}"
train() { # [SCOPE-MEMBERS]: queues a seasonal job, sets JOB
  req POST /v1/models/train "{\"algorithm\":\"seasonal\",$range${1:+,$1}}" "$ADMIN_KEY"
  JOB=$(json "j['jobId']")
}
status() { req GET "/v1/models/train/$1"; json "j['status']"; }
# wait_status JOB STATUS SECONDS
wait_status() {
  i=0
  while [ "$(status "$1")" != "$2" ] && [ $i -lt $(($3 * 20)) ]; do sleep 0.05; i=$((i + 1)); done
  [ "$(status "$1")" = "$2" ] || { echo "#   job $1 is $(status "$1"), wanted $2"; return 1; }
}
# wait_midway JOB: until the job runs with some series done, not all
wait_midway() {
  i=0
  while [ $i -lt 600 ]; do
    req GET "/v1/models/train/$1"
    [ "$(json "j['status'] == 'running' and 0 < j['progress'] < 1")" = True ] && return 0
    sleep 0.05; i=$((i + 1))
  done
  echo "#   job $1: $BODY"; return 1
}

# one host's files, trained over
train '"sourceId":"host-000"'
small=$JOB
check "a seasonal job over one host's RRD files succeeds" wait_status "$small" succeeded 60
req GET "/v1/models/train/$small"
model=$(json "j['modelId']")
req GET "/v1/models/$model"
check "…one series, a week of 10 s values" is "$(json "j['series'], j['points'] > 60000")" "1 True"
req GET "/v1/models/$model/metrics"
check "…its metrics are synthetic numbers" is "$(json "j['labels']['source'], all(isinstance(v, float) or isinstance(v, int) for v in j['metrics'].values())")" "synthetic True"

# the fleet: long enough to be seen running
train
big=$JOB
check "a job over the fleet runs, its progress between 0 and 1" wait_midway "$big"
req GET "/v1/models/$big/metrics"
check "…its model's metrics are not ready: 503" is "$STATUS $(json "j['error']['code']")" "503 MODEL_NOT_READY"
train
queued=$JOB
check "a second job waits behind it" is "$(status "$queued")" queued
req DELETE "/v1/models/train/$queued" "" "$ADMIN_KEY"
check "a queued job is cancelled at once: 200" is "$STATUS $(json "j['status']")" "200 cancelled"
req DELETE "/v1/models/train/$big" "" "$ADMIN_KEY"
check "a running job is asked to stop: 202" is "$STATUS" 202
check "…and stops at its next series, cancelled" wait_status "$big" cancelled 30
req GET "/v1/models/train/$big"
check "…without a model, some series done" is "$(json "j['modelId'], 0 < j['series']['done'] < 300")" "None True"

# kill -9 while a job runs: failed at the next start; a queued one runs
train
killed=$JOB
train
after=$JOB
check "a job runs, another is queued" wait_midway "$killed"
kill -KILL "$AN_PID"
wait "$AN_PID" 2>/dev/null
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd restarts after kill -9"; an_finish; }
req GET "/v1/models/train/$killed"
check "the job killed mid-way: failed, interrupted by restart" is "$(json "j['status'], j['error']")" \
  "failed interrupted by restart"
check "the queued one is queued again and runs" wait_midway "$after"

# SIGTERM while it runs: out within 5 s, the job failed, saying why
an_stop
check "SIGTERM during training: exit 0 within 5 s" is "$?" 0
an_start "$AN_TMP/d.conf" || { not_ok "anomalyd restarts after SIGTERM"; an_finish; }
req GET "/v1/models/train/$after"
check "…the job: failed, interrupted by shutdown" is "$(json "j['status'], j['error']")" \
  "failed interrupted by shutdown"
req GET "/v1/models/train?limit=10"
check "every job is in the list, none left running" is "$(json "sorted(x['status'] for x in j['jobs'])")" \
  "['cancelled', 'cancelled', 'failed', 'failed', 'succeeded']"
an_stop
check "clean stop" is "$?" 0
an_finish
