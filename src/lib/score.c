#include "score.h"

#include <math.h>

double an_normal_two_sided_p(double z) {
  if (isnan(z))
    return 1.0;
  return erfc(fabs(z) / M_SQRT2);
}

double an_score_from_p(double p) {
  if (!(p < 1e-2))
    return 0.0;
  if (p <= 0)
    return 1.0;
  return an_score_from_surprise(-log10(p));
}

double an_score_from_surprise(double surprise) {
  if (!(surprise > 2.0))
    return 0.0;
  /* 10^-x as exp(-x ln 10): one call */
  return 1.0 - exp(-(surprise - 2.0) / 8.0 * M_LN10);
}

double an_p_from_score(double score) {
  if (score <= 0)
    return 1e-2;
  if (score >= 1)
    return 0;
  return pow(10.0, -(2.0 - 8.0 * log10(1.0 - score)));
}
