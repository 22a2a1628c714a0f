/* A saved isolation forest: an_iforest_load() on any bytes. What loads
 * scores rows (its medians, missing, infinite and huge values) within
 * [0, 1] with the p-value the score is of, explains them in shares that
 * add up to at most 1, and saves to the very bytes it was loaded from. */
#include "fuzz.h"
#include "iforest.h"
#include "score.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MEDIANS_AT 328 /* where the saved form keeps them (iforest.c) */

static void check_row(const an_iforest_t *f, const double *row) {
  double p = -1;
  double score = an_iforest_score(f, row, &p);
  AN_FUZZ_CHECK(score >= 0 && score <= 1);
  AN_FUZZ_CHECK(p >= 0 && p <= 1 && an_score_from_p(p) == score);
  double raw = an_iforest_raw_score(f, row);
  AN_FUZZ_CHECK(raw >= 0 && raw <= 1);
  an_iforest_contribution_t c[4];
  size_t k = an_iforest_explain(f, row, c, 4);
  double sum = 0;
  AN_FUZZ_CHECK(k <= 4);
  for (size_t i = 0; i < k; i++) {
    AN_FUZZ_CHECK(c[i].weight > 0 && c[i].weight <= 1);
    sum += c[i].weight;
  }
  AN_FUZZ_CHECK(sum <= 1 + 1e-9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  an_iforest_t *f = NULL;
  int rc = an_iforest_load(data, size, &f);
  AN_FUZZ_CHECK((rc == 0) == (f != NULL));
  if (rc != 0) {
    AN_FUZZ_CHECK(rc == EINVAL);
    return 0;
  }
  an_iforest_info_t info;
  an_iforest_info(f, &info);
  double row[AN_IFOREST_MAX_METRICS];
  static const double fill[] = {0, NAN, INFINITY, -INFINITY, 1e300, -1e-300};
  AN_FUZZ_CHECK(size >= MEDIANS_AT + info.metrics * sizeof(double));
  memcpy(row, data + MEDIANS_AT, info.metrics * sizeof(double));
  check_row(f, row);
  for (size_t v = 0; v < sizeof(fill) / sizeof(fill[0]); v++) {
    for (size_t j = 0; j < info.metrics; j++)
      row[j] = j % 2 ? fill[v] : -fill[v];
    check_row(f, row);
  }

  size_t len = an_iforest_saved_size(f);
  AN_FUZZ_CHECK(len == size);
  uint8_t *again = malloc(len);
  AN_FUZZ_CHECK(again != NULL);
  AN_FUZZ_CHECK(an_iforest_save(f, again, len) == len);
  AN_FUZZ_CHECK(memcmp(again, data, len) == 0);
  free(again);
  an_iforest_destroy(f);
  return 0;
}
