#!/bin/sh
# contrib/bench/soak, briefly: mixed load (pushes, queries, anomalies,
# deliveries to a flaky receiver) against a real anomalyd answers no
# error, stores every acknowledged point and anomaly, and stops cleanly.
# The soak itself runs for an hour; this keeps it working.
set -u
"${top_srcdir:-.}/contrib/bench/soak" --seconds 15 --rate 100
status=$?
if [ $status -eq 0 ]; then echo "ok - a 15 s soak"; else echo "not ok - a 15 s soak"; fi
exit $status
