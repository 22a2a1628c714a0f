#!/bin/sh
# replay-bench --quick runs, replays what it should and prunes in chunks
# (no timing asserted).
out=$("$top_builddir/contrib/bench/replay-bench" --quick) || { echo "not ok - exit $?"; exit 1; }
echo "$out"
echo "$out" | grep -q "^replay: 200 points (want 200) in [0-9.]* ms$" ||
  { echo "not ok - no replay figure"; exit 1; }
echo "$out" | grep -q "^prune: 500 points in 1 chunks of 1000; " ||
  { echo "not ok - no prune figure"; exit 1; }
echo "ok - replay-bench prints its figures"
