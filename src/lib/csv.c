#include "csv.h"
#include "timefmt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void chomp(char *line) {
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
}

/* A number as strtod reads it, the whole field and nothing else. */
static int parse_number(const char *s, double *out) {
  char *end;
  if (*s == '\0')
    return EINVAL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0')
    return EINVAL;
  if (errno == ERANGE && v != 0)
    v = copysign(INFINITY, v); /* past DBL_MAX: infinite, not an error */
  *out = v;
  return 0;
}

int an_csv_parse_point(char *line, an_csv_point_t *out, char *err,
                       size_t errlen) {
  chomp(line);
  char *comma = strchr(line, ',');
  if (comma == NULL) {
    snprintf(err, errlen, "missing value column (expected timestamp,value)");
    return EINVAL;
  }
  *comma = '\0';
  char *value = comma + 1;
  if (strchr(value, ',') != NULL) {
    snprintf(err, errlen, "too many columns (expected timestamp,value)");
    return EINVAL;
  }
  if (*line == '\0') {
    snprintf(err, errlen, "empty timestamp");
    return EINVAL;
  }
  if (an_time_parse(line, &out->t) != 0) {
    snprintf(err, errlen, "timestamp '%.40s' is not a date or a number", line);
    return EINVAL;
  }
  if (*value == '\0') {
    snprintf(err, errlen, "empty value");
    return EINVAL;
  }
  if (parse_number(value, &out->value) != 0) {
    snprintf(err, errlen, "value '%.40s' is not a number", value);
    return EINVAL;
  }
  out->timestamp = line;
  out->value_text = value;
  return 0;
}

int an_csv_is_header(const char *line) {
  const char *comma = strchr(line, ',');
  if (comma == NULL)
    return 0;
  double v;
  char buf[64];
  snprintf(buf, sizeof(buf), "%s", comma + 1);
  chomp(buf);
  return parse_number(buf, &v) != 0 && buf[0] != '\0';
}
