#!/bin/sh
# score-bench --quick runs and prints every figure (no timing asserted).
out=$("$top_builddir/contrib/bench/score-bench" --quick) || { echo "not ok - exit $?"; exit 1; }
echo "$out"
for n in 1000 20000; do
  for th in 1 2; do
    echo "$out" | grep -q "^series=$n threads=$th ns_per_value=[0-9.]* bytes_per_series=[0-9.]* malloc_bytes_per_series=[0-9.]*$" ||
      { echo "not ok - no figures for $n series, $th threads"; exit 1; }
  done
done
echo "ok - score-bench prints its figures"
