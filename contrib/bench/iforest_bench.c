/* iforest-bench: how long an isolation forest takes to fit, how fast it
 * scores a row and explains one, and how much memory it holds, for
 * 10 000 rows of 8 metrics, 100 trees of 256 samples (issue 14's case).
 *
 *   iforest-bench [--quick]
 *
 * Prints a table and a line a script can grep:
 *   rows=10000 metrics=8 trees=100 samples=256 fit_ms=... ns_per_point=...
 * ns_per_point is the median of several rounds over the same rows; the
 * machine is shared, so compare the median of a few runs with the
 * target. --quick runs small sizes, to prove the program still works. */
#include "host_rows.h"
#include "iforest.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TARGET "5000" /* ns a point, issue 14's target for 100 trees */
#define ROUNDS 7

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median over ROUNDS of the ns scoring (or explaining) a row takes. */
static double median_ns(const an_iforest_t *f, const double *rows, size_t n,
                        size_t d, int explain, double *sink) {
  double ns[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
      if (explain) {
        an_iforest_contribution_t c[3];
        size_t k = an_iforest_explain(f, rows + i * d, c, 3);
        *sink += k > 0 ? c[0].weight : 0;
      } else {
        *sink += an_iforest_score(f, rows + i * d, NULL);
      }
    }
    ns[r] = (now() - t0) * 1e9 / n;
  }
  qsort(ns, ROUNDS, sizeof(*ns), cmp_double);
  return ns[ROUNDS / 2];
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  if (argc > 2 || (argc > 1 && !quick)) {
    fprintf(stderr, "usage: iforest-bench [--quick]\n");
    return 2;
  }
  size_t n = quick ? 2000 : 10000, d = 8, scored = quick ? 2000 : 100000;
  an_iforest_params_t params = an_iforest_default_params;
  params.n_estimators = quick ? 20 : 100;
  params.seed = 1;
  double *rows = malloc(n * d * sizeof(*rows));
  double *fresh = malloc(scored * d * sizeof(*fresh));
  if (rows == NULL || fresh == NULL) {
    fprintf(stderr, "iforest-bench: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    make_row(rows + i * d, d);
  for (size_t i = 0; i < scored; i++)
    make_row(fresh + i * d, d);

  an_iforest_t *f = NULL;
  char err[256];
  double t0 = now();
  if (an_iforest_fit(rows, n, d, &params, &f, err, sizeof(err)) != 0) {
    fprintf(stderr, "iforest-bench: %s\n", err);
    return 1;
  }
  double fit_ms = (now() - t0) * 1e3;
  an_iforest_info_t info;
  an_iforest_info(f, &info);
  double sink = 0;
  double score_ns = median_ns(f, fresh, scored, d, 0, &sink);
  double explain_ns = median_ns(f, fresh, scored / 10, d, 1, &sink);
  size_t saved = an_iforest_saved_size(f);

  printf("%zu rows x %zu metrics, %zu trees of %zu samples (sink %g)\n", n, d,
         info.trees, info.samples, sink);
  printf("  fit            %8.1f ms\n", fit_ms);
  printf("  score          %8.1f ns/point (median of %d rounds over %zu "
         "rows)%s\n",
         score_ns, ROUNDS, scored, quick ? "" : "  target < " TARGET);
  printf("  explain        %8.1f ns/point\n", explain_ns);
  printf("  forest         %8zu bytes in memory, %zu saved, %zu nodes, "
         "%.0f bytes a tree\n",
         info.bytes, saved, info.nodes, (double)info.bytes / info.trees);
  printf("rows=%zu metrics=%zu trees=%zu samples=%zu fit_ms=%.1f "
         "ns_per_point=%.1f explain_ns_per_point=%.1f bytes=%zu "
         "saved_bytes=%zu bytes_per_tree=%.0f\n",
         n, d, info.trees, info.samples, fit_ms, score_ns, explain_ns,
         info.bytes, saved, (double)info.bytes / info.trees);
  an_iforest_destroy(f);
  free(rows);
  free(fresh);
  return 0;
}
