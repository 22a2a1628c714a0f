#include "http/query.h"
#include "http/token.h"
#include "severity.h"
#include "timefmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad(an_query_err_t *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad(an_query_err_t *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
  return EINVAL;
}

int an_query_limit(const char *key, const char *v, int *out,
                   an_query_err_t *e) {
  char *end;
  long n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || n < 1)
    return bad(e, "%s must be a whole number of at least 1, not '%s'", key, v);
  *out = n > AN_QUERY_MAX_LIMIT ? AN_QUERY_MAX_LIMIT : (int)n;
  return 0;
}

int an_query_time(const char *key, const char *v, double *out,
                  an_query_err_t *e) {
  if (an_time_parse_iso8601(v, out) != 0)
    return bad(e,
               "%s must be an ISO 8601 date such as 2024-01-20T10:00:00Z, "
               "not '%s'",
               key, v);
  return 0;
}

int an_query_fraction(const char *key, const char *v, double *out,
                      an_query_err_t *e) {
  char *end;
  double d = strtod(v, &end);
  if (*v == '\0' || *end != '\0' || !(d >= 0 && d <= 1))
    return bad(e, "%s must be a number from 0 to 1, not '%s'", key, v);
  *out = d;
  return 0;
}

int an_query_bool(const char *key, const char *v, int *out, an_query_err_t *e) {
  if (strcmp(v, "true") == 0)
    *out = 1;
  else if (strcmp(v, "false") == 0)
    *out = 0;
  else
    return bad(e, "%s must be true or false, not '%s'", key, v);
  return 0;
}

int an_query_bits(const char *key, const char *v,
                  int (*parse)(const char *, int *), unsigned *bits,
                  const char *allowed, an_query_err_t *e) {
  char buf[200];
  /* cut down, a list would lose names or show one nobody sent */
  if (strlen(v) >= sizeof(buf))
    return bad(e, "%s must be %s, at most %zu characters", key, allowed,
               sizeof(buf) - 1);
  snprintf(buf, sizeof(buf), "%s", v);
  for (char *save, *tok = strtok_r(buf, ",", &save); tok != NULL;
       tok = strtok_r(NULL, ",", &save)) {
    int b;
    if (parse(tok, &b) != 0)
      return bad(e, "%s must be %s, not '%s'", key, allowed, tok);
    *bits |= 1u << b;
  }
  if (*bits == 0)
    return bad(e, "%s must be %s", key, allowed);
  return 0;
}

int an_query_severity_bit(const char *name, int *bit) {
  an_severity_t sev;
  if (an_severity_parse(name, &sev) != 0)
    return EINVAL;
  *bit = (int)sev;
  return 0;
}

int an_query_page_token(const char *v, double *after_t, char *after_id,
                        size_t idlen, int *page, an_query_err_t *e) {
  if (an_token_decode(v, after_t, after_id, idlen, page) != 0)
    return bad(e, "page_token is not a token this API issued");
  return 0;
}

void an_query_write_page(an_jw_t *w, long long total, int page, int limit,
                         size_t n, double last_t, const char *last_id) {
  an_jw_int(w, "total", total);
  an_jw_int(w, "page", page);
  an_jw_int(w, "limit", limit);
  long long seen = (long long)(page - 1) * limit + (long long)n;
  if (n > 0 && n == (size_t)limit && seen < total) {
    char token[200];
    an_jw_str(w, "next_page_token",
              an_token_encode(last_t, last_id, page + 1, token, sizeof(token)));
  } else {
    an_jw_str(w, "next_page_token", NULL);
  }
}
