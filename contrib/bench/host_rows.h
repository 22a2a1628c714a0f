/* host_rows.h: the rows of a host's metrics the benchmarks fit and score
 * forests on, the same on every machine. */
#ifndef AN_BENCH_HOST_ROWS_H
#define AN_BENCH_HOST_ROWS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define HOST_METRICS 8

static uint64_t host_rows_state = 0x9e3779b97f4a7c15ull;

/* Uniform in (0, 1) (xorshift64). */
static inline double unit(void) {
  host_rows_state ^= host_rows_state << 13;
  host_rows_state ^= host_rows_state >> 7;
  host_rows_state ^= host_rows_state << 17;
  return ((host_rows_state >> 11) + 0.5) * 0x1.0p-53;
}

/* A host's metrics: a load that drives requests, cpu, network and disk,
 * and memory, temperature and two noisy ones of their own, on scales
 * from 1 to 1e9; metric j of d is the (j mod 8)-th of these. */
static inline void make_row(double *row, size_t d) {
  double load = unit();
  double f[HOST_METRICS] = {
      100 + 900 * load,                  /* requests/s */
      5 + 45 * load + 2 * unit(),        /* cpu % */
      1e8 * load + 1e7 * unit(),         /* bytes/s out */
      50 + 500 * load * unit(),          /* disk ops/s */
      2e9 + 1e9 * unit(),                /* memory bytes */
      40 + 10 * unit(),                  /* temperature */
      -log(unit()),                      /* queue length */
      unit() < 0.99 ? 0 : 1 + 5 * unit() /* errors/s */
  };
  for (size_t j = 0; j < d; j++)
    row[j] = f[j % HOST_METRICS];
}

#endif
