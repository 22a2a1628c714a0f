#include "severity.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <strings.h>

const an_severity_bands_t an_severity_default_bands = {
    .low = 0.5, .medium = 0.7, .high = 0.85, .critical = 0.95};

static const char *const severity_names[] = {"none", "low", "medium", "high",
                                             "critical"};

int an_severity_check_bands(const an_severity_bands_t *b) {
  if (!(b->low > 0.0 && b->low < b->medium && b->medium < b->high &&
        b->high < b->critical && b->critical <= 1.0))
    return EINVAL;
  return 0;
}

an_severity_t an_severity_of(const an_severity_bands_t *b, double score) {
  if (b == NULL)
    b = &an_severity_default_bands;
  if (isnan(score) || score < b->low)
    return AN_SEVERITY_NONE;
  if (score < b->medium)
    return AN_SEVERITY_LOW;
  if (score < b->high)
    return AN_SEVERITY_MEDIUM;
  if (score < b->critical)
    return AN_SEVERITY_HIGH;
  return AN_SEVERITY_CRITICAL;
}

const char *an_severity_name(an_severity_t s) {
  if ((unsigned)s > AN_SEVERITY_CRITICAL)
    return "none";
  return severity_names[s];
}

int an_severity_parse(const char *name, an_severity_t *out) {
  for (int s = AN_SEVERITY_LOW; s <= AN_SEVERITY_CRITICAL; s++) {
    if (strcasecmp(name, severity_names[s]) == 0) {
      *out = (an_severity_t)s;
      return 0;
    }
  }
  return EINVAL;
}
