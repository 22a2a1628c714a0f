#!/bin/sh
# train-bench --quick trains both algorithms, scores through the active
# forest and prints every figure (no timing asserted).
out=$("$top_builddir/contrib/bench/train-bench" --quick) || { echo "not ok - exit $?"; exit 1; }
echo "$out"
echo "$out" | grep -q "^forest_rows=2000 metrics=8 trees=100 forest_train_s=[0-9.]* ns_per_point=[0-9]* load_ms=[0-9.]* seasonal_series=4 seasonal_train_s=[0-9.]*$" ||
  { echo "not ok - no figures line"; exit 1; }
echo "$out" | grep -q "^seasonal: 4 of 4 series" ||
  { echo "not ok - the seasonal model is not of every series"; exit 1; }
"$top_builddir/contrib/bench/train-bench" --slow >/dev/null 2>&1
[ $? -eq 2 ] || { echo "not ok - a wrong option does not exit 2"; exit 1; }
echo "ok - train-bench prints its figures"
