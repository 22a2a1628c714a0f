/* store_anomalies.h: the SQL of anomalies: storing one, reading one, the
 * filtered and paged list, and what the API changes on one (status,
 * feedback).
 *
 * Every function runs on the store worker inside its transaction (an
 * an_store_fn, store.h), on the connection db. Functions return 0, ENOENT
 * (no such anomaly, where one is named) or EIO (a database error, logged
 * once in sql.c). Records are filled with malloc'd strings the caller
 * owns and clears (an_anomaly_clear), on every result. */
#ifndef AN_STORE_ANOMALIES_H
#define AN_STORE_ANOMALIES_H

#include "store/records.h"

#include <sqlite3.h>
#include <stddef.h>

/* Filters of GET /v1/anomalies; NaN / 0 / NULL / -1 mean "any". The
 * strings are the caller's. */
typedef struct an_filter {
  unsigned severities; /* bit (1 << an_severity_t) */
  unsigned statuses;   /* bit (1 << an_status_t) */
  double start, end;   /* detected_at range, inclusive */
  const char *source;
  const char *metric;
  double min_score, min_ncd, max_p_value;
  int has_evidence; /* -1 any, 0 without, 1 with */
  int limit;
  double after_t;       /* keyset: rows strictly after (after_t, after_id) */
  const char *after_id; /* in newest-first order; NULL for the first page */
} an_filter_t;

/* Inserts a (the caller's) unless its id is stored already; *inserted
 * says which. Registers its source (store_series.h). */
int an_store_put_anomaly(sqlite3 *db, const an_anomaly_t *a, int *inserted);

/* Reads anomaly id into *out. Returns 0, ENOENT or EIO. */
int an_store_get_anomaly(sqlite3 *db, const char *id, an_anomaly_t *out);

/* A page of the anomalies that match f, newest first, and the count of
 * all that match. *out is a malloc'd array of *n the caller owns (clear
 * each, then free it), also after a failure. Returns 0, EIO or ENOMEM. */
int an_store_list_anomalies(sqlite3 *db, const an_filter_t *f,
                            an_anomaly_t **out, size_t *n, long long *total);

/* Sets an anomaly's status (an_status_t). Returns 0, ENOENT or EIO. */
int an_store_set_status(sqlite3 *db, const char *id, int status);

/* Records feedback (type, reason: the caller's; reason may be NULL) on
 * an anomaly at time at. Returns 0, ENOENT or EIO. */
int an_store_set_feedback(sqlite3 *db, const char *id, const char *type,
                          const char *reason, double at);

/* Calls fn for each anomaly detected from start to end (inclusive) whose
 * feedback labels it: confirmed (positive 1) or false_positive
 * (positive 0), by source, metric and time. On any connection (for
 * training's evaluation). Returns 0, EIO or fn's first non-zero result. */
int an_store_each_labelled_anomaly(sqlite3 *db, double start, double end,
                                   int (*fn)(void *ctx, const char *source,
                                             const char *metric, double t,
                                             double value, int positive),
                                   void *ctx);

#endif
