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
  double surprise = -log10(p);
  return 1.0 - pow(10.0, -(surprise - 2.0) / 8.0);
}

double an_p_from_score(double score) {
  if (score <= 0)
    return 1e-2;
  if (score >= 1)
    return 0;
  return pow(10.0, -(2.0 - 8.0 * log10(1.0 - score)));
}
