#!/bin/sh
# iforest-bench --quick runs and prints every figure (no timing asserted).
out=$("$top_builddir/contrib/bench/iforest-bench" --quick) || { echo "not ok - exit $?"; exit 1; }
echo "$out"
echo "$out" | grep -q "^rows=2000 metrics=8 trees=20 samples=256 fit_ms=[0-9.]* ns_per_point=[0-9.]* explain_ns_per_point=[0-9.]* bytes=[0-9]* saved_bytes=[0-9]* bytes_per_tree=[0-9]*$" ||
  { echo "not ok - no figures line"; exit 1; }
"$top_builddir/contrib/bench/iforest-bench" --slow >/dev/null 2>&1
[ $? -eq 2 ] || { echo "not ok - a wrong option does not exit 2"; exit 1; }
echo "ok - iforest-bench prints its figures"
