#!/bin/sh
# anomalyd -t checks the configuration and exits (DESIGN.md's fixed
# interface): 0 and a line saying so for a valid file, 1 with the file,
# line and reason for a bad one; it starts nothing and creates nothing.
. "$(dirname "$0")/lib.sh"

port=$(an_free_port)
an_write_config "$AN_TMP/good.conf" "$port" "$AN_TMP/data" \
  '<Channel "hook">' '  Type "webhook"' '  URL "http://127.0.0.1:9/hook"' '</Channel>'
out=$("$AN_DAEMON" -t -C "$AN_TMP/good.conf" 2>"$AN_TMP/err")
check "a valid config: exit 0" is "$?" 0
check "…saying it is valid" has "$out" "$AN_TMP/good.conf: the configuration is valid"
check "…nothing on stderr" is "$(cat "$AN_TMP/err")" ""
check "…no DataDir created: it only read the file" [ ! -e "$AN_TMP/data" ]
check "…and nothing listens" [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/v1/health")" = 000 ]
"$AN_DAEMON" -t >/dev/null 2>&1
check "the embedded defaults are valid" is "$?" 0

# bad [LINES…]: runs -t on the good config with LINES appended
bad() {
  cp "$AN_TMP/good.conf" "$AN_TMP/bad.conf"
  for l in "$@"; do echo "$l" >>"$AN_TMP/bad.conf"; done
  "$AN_DAEMON" -t -C "$AN_TMP/bad.conf" >"$AN_TMP/out" 2>"$AN_TMP/err"
}
line=$(($(wc -l <"$AN_TMP/good.conf") + 1))
bad 'Colour "blue"'
check "an unknown key: exit 1" is "$?" 1
check "…naming the file, line and key" has "$(cat "$AN_TMP/err")" "bad.conf:$line: unknown option Colour"
check "…and not calling it valid" is "$(cat "$AN_TMP/out")" ""
bad 'NotifyTimeout 0'
check "a value out of range: exit 1" is "$?" 1
check "…with the reason" has "$(cat "$AN_TMP/err")" "NotifyTimeout must be between"
bad 'Retention 604800'
check "Retention in seconds is valid" is "$?" 0
bad 'Retention forever'
check "Retention forever is valid" is "$?" 0
bad 'Retention 30days'
check "a Retention that is not a number: exit 1" is "$?" 1
check "…naming the file, line and key" has "$(cat "$AN_TMP/err")" "bad.conf:$line: Retention: '30days' is not a number"
bad 'TrainWorkers 2' 'TrainInterval 0' 'AutoActivate false'
check "TrainWorkers, TrainInterval and AutoActivate are valid" is "$?" 0
bad 'TrainWorkers 8'
check "TrainWorkers over 4: exit 1" is "$?" 1
check "…naming the file, line and key" has "$(cat "$AN_TMP/err")" "bad.conf:$line: TrainWorkers must be between 1 and 4"
bad 'TrainInterval 10'
check "a TrainInterval under a minute: exit 1" is "$?" 1
check "…with the reason" has "$(cat "$AN_TMP/err")" "bad.conf:$line: TrainInterval must be 0 (off) or at least 60"
bad 'Retention -1'
check "a negative Retention: exit 1" is "$?" 1
check "…with the reason" has "$(cat "$AN_TMP/err")" "bad.conf:$line: Retention must be between"
bad '<Channel "x">' '  Type "carrier-pigeon"' '</Channel>'
check "an unknown channel type: exit 1" is "$?" 1
"$AN_DAEMON" -t -C "$AN_TMP/missing.conf" 2>"$AN_TMP/err"
check "a missing file: exit 1" is "$?" 1
check "…naming it" has "$(cat "$AN_TMP/err")" "missing.conf"
check "-h lists -t" has "$("$AN_DAEMON" -h)" "-t       check the configuration and exit"
an_finish
