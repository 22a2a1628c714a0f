#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Reads exactly n digits. Returns the pointer after them, NULL if fewer. */
static const char *digits(const char *p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)p[i]))
      return NULL;
    v = 10 * v + (p[i] - '0');
  }
  *out = v;
  return p + n;
}

static int is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static long days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  long yoe = y - era * 400;
  long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int an_time_parse_iso8601(const char *s, double *out) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  double frac = 0, offset = 0;
  const char *p = s;

  if (s == NULL || (p = digits(p, 4, &y)) == NULL || *p++ != '-' ||
      (p = digits(p, 2, &mo)) == NULL || *p++ != '-' ||
      (p = digits(p, 2, &d)) == NULL)
    return EINVAL;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    return EINVAL;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if ((p = digits(p, 2, &h)) == NULL || *p++ != ':' ||
        (p = digits(p, 2, &mi)) == NULL)
      return EINVAL;
    if (*p == ':') {
      if ((p = digits(p + 1, 2, &sec)) == NULL)
        return EINVAL;
      if (*p == '.' || *p == ',') {
        double scale = 0.1;
        if (!isdigit((unsigned char)p[1]))
          return EINVAL;
        for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
          frac += (*p - '0') * scale;
      }
    }
    if (h > 23 || mi > 59 || sec > 60)
      return EINVAL;
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int oh, om = 0, sign = *p == '-' ? -1 : 1;
      if ((p = digits(p + 1, 2, &oh)) == NULL)
        return EINVAL;
      if (*p == ':')
        p++;
      if (isdigit((unsigned char)*p) && (p = digits(p, 2, &om)) == NULL)
        return EINVAL;
      if (oh > 23 || om > 59)
        return EINVAL;
      offset = sign * (oh * 3600.0 + om * 60.0);
    }
  }
  if (*p != '\0')
    return EINVAL;
  *out = days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec +
         frac - offset;
  return 0;
}

int an_time_parse(const char *s, double *out) {
  if (s == NULL)
    return EINVAL;
  if (an_time_parse_iso8601(s, out) == 0)
    return 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
    return EINVAL;
  *out = v;
  return 0;
}

char *an_time_format(double t, char *buf, size_t len) {
  if (!isfinite(t) || fabs(t) > 253402300799.0) /* past 9999-12-31 */
    return NULL;
  double whole = floor(t);
  int ms = (int)lround((t - whole) * 1000);
  if (ms == 1000) {
    whole += 1;
    ms = 0;
  }
  time_t tt = (time_t)whole;
  struct tm tm;
  if (gmtime_r(&tt, &tm) == NULL)
    return NULL;
  int n;
  if (ms != 0)
    n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ms);
  else
    n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return n > 0 && (size_t)n < len ? buf : NULL;
}
