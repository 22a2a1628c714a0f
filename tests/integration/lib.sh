# Helpers for the integration tests: a temporary directory, a free
# loopback port, anomalyd started and stopped by pid, HTTP requests with
# bounded time, and TAP-like results. Source it; call an_finish at the end.

set -u
AN_TMP=$(mktemp -d)
AN_PIDS=""
AN_FAILS=0
AN_PASSES=0

an_cleanup() {
  for pid in $AN_PIDS; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in $AN_PIDS; do
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$AN_TMP"
}
trap an_cleanup EXIT

ok() { AN_PASSES=$((AN_PASSES + 1)); echo "ok - $1"; }
not_ok() { AN_FAILS=$((AN_FAILS + 1)); echo "not ok - $1"; }
check() { # description, then a command that must succeed
  desc=$1; shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

an_finish() {
  echo "$AN_PASSES passed, $AN_FAILS failed"
  [ $AN_FAILS -eq 0 ]
  exit $?
}

an_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# AN_DAEMON may name a wrapper, e.g. one that runs anomalyd under valgrind
AN_DAEMON="${AN_DAEMON:-${top_builddir:-.}/src/daemon/anomalyd}"
if [ ! -x "$AN_DAEMON" ]; then
  not_ok "anomalyd is built at $AN_DAEMON"
  an_finish
fi

# an_write_config FILE PORT DATADIR [extra lines…]
an_write_config() {
  file=$1 port=$2 dir=$3; shift 3
  {
    echo "Listen \"127.0.0.1\" $port"
    echo "DataDir \"$dir\""
    echo '<ApiKey "ops">'
    echo '  Secret "admin-secret-1"'
    echo '  Role "admin"'
    echo '</ApiKey>'
    echo '<ApiKey "feeder">'
    echo '  Secret "stream-secret-1"'
    echo '  Role "stream"'
    echo '</ApiKey>'
    echo '<Source "server-01">'
    echo '</Source>'
    for line in "$@"; do echo "$line"; done
  } >"$file"
}

# an_start CONFIG: starts anomalyd, sets AN_PID and AN_URL, waits for health.
an_start() {
  "$AN_DAEMON" -C "$1" -f >>"$AN_TMP/daemon.log" 2>&1 &
  AN_PID=$!
  AN_PIDS="$AN_PIDS $AN_PID"
  AN_URL="http://127.0.0.1:$(sed -n 's/^Listen "[^"]*" \([0-9]*\)/\1/p' "$1")"
  i=0
  while [ $i -lt 100 ]; do
    if curl -s -o /dev/null --max-time 1 "$AN_URL/v1/health"; then return 0; fi
    kill -0 "$AN_PID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  echo "# anomalyd did not start; its log:"; sed 's/^/# /' "$AN_TMP/daemon.log"
  return 1
}

# an_stop: SIGTERM, wait up to 5 s; returns the exit status (or 99).
an_stop() {
  kill -TERM "$AN_PID" 2>/dev/null
  i=0
  while kill -0 "$AN_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$AN_PID" 2>/dev/null; then kill -KILL "$AN_PID"; return 99; fi
  wait "$AN_PID" 2>/dev/null
}

STREAM_KEY="stream-secret-1"
ADMIN_KEY="admin-secret-1"

# req METHOD PATH [BODY-FILE-OR-STRING] [KEY]: sets STATUS, BODY, HEADERS.
req() {
  method=$1 path=$2 data=${3:-} key=${4-$STREAM_KEY}
  set -- -s --max-time 10 -X "$method" -o "$AN_TMP/body" -D "$AN_TMP/headers" -w '%{http_code}'
  [ -n "$key" ] && set -- "$@" -H "X-Api-Key: $key"
  if [ -n "$data" ]; then
    if [ -f "$data" ]; then set -- "$@" --data-binary "@$data"; else set -- "$@" --data-binary "$data"; fi
    set -- "$@" -H 'Content-Type: application/json'
  fi
  STATUS=$(curl "$@" "$AN_URL$path")
  BODY=$(cat "$AN_TMP/body")
  HEADERS=$(cat "$AN_TMP/headers")
}

# jq-like: json EXPR evaluates a Python expression on the body as j.
json() {
  printf '%s' "$BODY" | python3 -c "import json, sys; j = json.load(sys.stdin); print($1)" 2>/dev/null
}

is() { [ "$1" = "$2" ] || { echo "#   got '$1', wanted '$2'"; return 1; }; }
has() { case "$1" in *"$2"*) return 0 ;; *) echo "#   '$2' not in: $(printf '%s' "$1" | head -c 300)"; return 1 ;; esac; }

# ---- history in RRD files ----

# an_rrd_history FILE START ROWS: an RRD file of one GAUGE named value (as
# the rrdtool plugin makes them) stepping 10 s from START, its finest
# archive ROWS long, filled with rrdtool update from the "time:value"
# lines on stdin (past times); fails unless its last update is the last
# line's time.
an_rrd_history() {
  rrdtool create "$1" --step 10 --start "$2" DS:value:GAUGE:20:U:U \
    RRA:AVERAGE:0.5:1:"$3" RRA:AVERAGE:0.5:50:1210 || return 1
  cat >"$AN_TMP/rrd-updates"
  rm -f "$AN_TMP"/rrd-part.*
  split -l 20000 "$AN_TMP/rrd-updates" "$AN_TMP/rrd-part."
  for part in "$AN_TMP"/rrd-part.*; do
    xargs rrdtool update "$1" <"$part" || return 1
  done
  [ "$(rrdtool lastupdate "$1" | tail -1 | cut -d: -f1)" = \
    "$(tail -1 "$AN_TMP/rrd-updates" | cut -d: -f1)" ]
}

# ---- collectd with the plugin ----

AN_COLLECTD=${COLLECTD:-/usr/sbin/collectd}
AN_PLUGIN="${top_builddir:-.}/plugins/anomaly/.libs/anomaly.so"

# an_collectd_config DIR URL [lines for the anomaly block…]: a collectd
# with logfile, unixsock and anomaly, everything inside DIR. collectd does
# not follow symlinks in PluginDir: the plugins are copied.
an_collectd_config() {
  dir=$1 url=$2; shift 2
  mkdir -p "$dir/plugins"
  cp "$AN_PLUGIN" /usr/lib/collectd/unixsock.so /usr/lib/collectd/logfile.so \
    /usr/lib/collectd/csv.so "$dir/plugins/"
  {
    echo 'Hostname "testhost"'
    echo "BaseDir \"$dir\""
    echo "PIDFile \"$dir/collectd.pid\""
    echo "PluginDir \"$dir/plugins\""
    echo "TypesDB \"/usr/share/collectd/types.db\" \"$top_srcdir/conf/anomaly_types.db\""
    echo 'Interval 10'
    # the tests feed values with past timestamps: keep collectd from
    # calling them missing unless a test asks for it
    echo "Timeout ${AN_CD_TIMEOUT:-1000000}"
    echo 'LoadPlugin logfile'
    echo "<Plugin logfile>"
    echo "  LogLevel \"info\""
    echo "  File \"$dir/collectd.log\""
    echo "</Plugin>"
    echo 'LoadPlugin unixsock'
    echo "<Plugin unixsock>"
    echo "  SocketFile \"$dir/sock\""
    echo "</Plugin>"
    echo 'LoadPlugin anomaly'
    echo '<Plugin anomaly>'
    echo "  URL \"$url\""
    echo "  ApiKey \"$STREAM_KEY\""
    echo "  StateFile \"$dir/anomaly.state\""
    for line in "$@"; do echo "  $line"; done
    echo '</Plugin>'
  } >"$dir/collectd.conf"
}

# an_collectd_run CONFIG OUT: starts collectd in the background, appending
# its output to OUT; $! is its pid (env execs). A sanitizer build's plugin
# needs the sanitizer's runtime loaded first (AN_PRELOAD), and a stack
# frame used after its function returned is reported; collectd's own
# leaks at exit are not ours to report.
an_collectd_run() {
  env ${AN_PRELOAD:+LD_PRELOAD=$AN_PRELOAD ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=1} \
    "$AN_COLLECTD" -C "$1" -f >>"$2" 2>&1 &
}

# an_collectd_start DIR: sets AN_CD_PID; waits for the socket.
an_collectd_start() {
  [ -x "$AN_COLLECTD" ] || { echo "# no collectd at $AN_COLLECTD"; return 1; }
  [ -f "$AN_PLUGIN" ] || { echo "# no plugin at $AN_PLUGIN"; return 1; }
  rm -f "$1/sock"
  an_collectd_run "$1/collectd.conf" "$1/stdout.log"
  AN_CD_PID=$!
  AN_PIDS="$AN_PIDS $AN_CD_PID"
  i=0
  while [ ! -S "$1/sock" ] && [ $i -lt 100 ]; do
    kill -0 "$AN_CD_PID" 2>/dev/null || break
    sleep 0.1; i=$((i + 1))
  done
  [ -S "$1/sock" ] || { echo "# collectd did not start:"; sed 's/^/# /' "$1/stdout.log" "$1/collectd.log" 2>/dev/null | tail -20; return 1; }
}

an_collectd_stop() {
  kill -TERM "$AN_CD_PID" 2>/dev/null
  i=0
  while kill -0 "$AN_CD_PID" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$AN_CD_PID" 2>/dev/null
  wait "$AN_CD_PID" 2>/dev/null
}

# an_putval SOCKET START N SPIKE IDENT…: for each identifier, N values 10 s
# apart from START (normal noise around 50), the last one SPIKE (0: none).
an_putval() {
  python3 - "$@" <<'PY'
import random, socket, sys
sock, start, n, spike, idents = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sock); f = s.makefile("rw")
random.seed(7)
for i in range(n):
    for ident in idents:
        v = spike if spike and i == n - 1 else 50 + random.gauss(0, 2)
        f.write("PUTVAL %s interval=10 %d:%f\n" % (ident, start + 10 * i, v)); f.flush()
        line = f.readline()
        if not line.startswith("0 "):
            sys.exit("PUTVAL %s failed: %s" % (ident, line))
PY
}

# an_wait_total QUERY N: waits (up to 20 s) for GET /v1/anomalies?QUERY to
# count N; returns non-zero otherwise.
an_wait_total() {
  i=0
  while [ $i -lt 100 ]; do
    req GET "/v1/anomalies?$1"
    [ "$(json "j['total']")" = "$2" ] && return 0
    sleep 0.2; i=$((i + 1))
  done
  echo "# total is $(json "j['total']"), wanted $2"
  return 1
}

# ---- receivers standing in for Slack, PagerDuty and webhooks ----

AN_RECEIVER="$(dirname "$0")/receiver.py"

# an_receiver_start PORT DIR: starts receiver.py (sets AN_RCV_PID), waits
# until it listens. Its requests go to DIR/requests.jsonl; DIR/mode sets
# its answers.
an_receiver_start() {
  mkdir -p "$2"
  rm -f "$2/ready"
  python3 "$AN_RECEIVER" "$1" "$2" >>"$2/receiver.log" 2>&1 &
  AN_RCV_PID=$!
  AN_PIDS="$AN_PIDS $AN_RCV_PID"
  i=0
  while [ ! -f "$2/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -f "$2/ready" ] || { echo "# the receiver did not start:"; cat "$2/receiver.log"; return 1; }
}

an_receiver_stop() {
  kill -TERM "$AN_RCV_PID" 2>/dev/null
  wait "$AN_RCV_PID" 2>/dev/null
}

# received DIR EXPR: evaluates a Python expression over r, the list of
# requests the receiver in DIR got (each {"path", "t", "status", "body"}).
received() {
  python3 - "$1" "$2" <<'PY' 2>/dev/null
import json, os, sys
path = os.path.join(sys.argv[1], "requests.jsonl")
r = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
print(eval(sys.argv[2]))
PY
}

# until_true SECONDS CMD…: retries CMD every 0.2 s until it succeeds or
# SECONDS pass; returns its last status.
until_true() {
  limit=$(($1 * 5)); shift
  i=0
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -ge $limit ] && { "$@"; return 1; }
    sleep 0.2
  done
}
