/* query.h: the query parameters every list (anomalies, alerts) shares:
 * limit, dates, comma lists of names, fractions, page tokens; and the
 * page fields of a list's answer. Each parser returns 0, or EINVAL with a
 * message naming the parameter in err. */
#ifndef AN_QUERY_H
#define AN_QUERY_H

#include "jsonw.h"

#include <stddef.h>

#define AN_QUERY_DEFAULT_LIMIT 100
#define AN_QUERY_MAX_LIMIT 1000 /* a larger limit is clamped to this */

typedef struct an_query_err {
  char msg[200];
} an_query_err_t;

/* limit: a whole number >= 1, clamped to AN_QUERY_MAX_LIMIT. */
int an_query_limit(const char *key, const char *v, int *out, an_query_err_t *e);

/* An ISO 8601 date or date-time. */
int an_query_time(const char *key, const char *v, double *out,
                  an_query_err_t *e);

/* A number from 0 to 1. */
int an_query_fraction(const char *key, const char *v, double *out,
                      an_query_err_t *e);

/* "true" or "false". */
int an_query_bool(const char *key, const char *v, int *out, an_query_err_t *e);

/* A comma list of names, each turned into a bit by parse (which returns 0
 * and the bit number, or EINVAL); allowed lists the names for the
 * message. */
int an_query_bits(const char *key, const char *v,
                  int (*parse)(const char *name, int *bit), unsigned *bits,
                  const char *allowed, an_query_err_t *e);

/* For an_query_bits: a severity name (low … critical) as its bit. */
int an_query_severity_bit(const char *name, int *bit);

/* A page_token this API issued: where the last page ended and the number
 * of the page it asks for. */
int an_query_page_token(const char *v, double *after_t, char *after_id,
                        size_t idlen, int *page, an_query_err_t *e);

/* Writes "total", "page", "limit" and "next_page_token" (null on the last
 * page) into an open map; n rows were returned, the last one at (last_t,
 * last_id). */
void an_query_write_page(an_jw_t *w, long long total, int page, int limit,
                         size_t n, double last_t, const char *last_id);

#endif
