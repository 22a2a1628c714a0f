#define _GNU_SOURCE /* strptime, timegm */
#include "backoff.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

an_http_outcome_t an_http_outcome(long status) {
  if (status >= 200 && status < 300)
    return AN_HTTP_DELIVERED;
  if (status == 0 || status == 408 || status == 429 || status >= 500)
    return AN_HTTP_RETRY;
  return AN_HTTP_REJECTED;
}

double an_backoff_delay(double first, double max, unsigned failures, double u) {
  double d = first;
  for (unsigned i = 1; i < failures && d < max; i++)
    d *= 2;
  if (d > max)
    d = max;
  if (!(u >= 0 && u < 1))
    u = 0;
  return d * (0.5 + 0.5 * u);
}

int an_retry_after_parse(const char *value, double now, double *seconds) {
  while (isspace((unsigned char)*value))
    value++;
  if (isdigit((unsigned char)*value)) {
    char *end;
    double d = strtod(value, &end);
    while (isspace((unsigned char)*end))
      end++;
    if (*end != '\0' || !isfinite(d))
      return EINVAL;
    *seconds = d;
    return 0;
  }
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == NULL || *end != '\0')
    return EINVAL;
  double at = (double)timegm(&tm);
  *seconds = at > now ? at - now : 0;
  return 0;
}
