/* store.h: the SQLite database (DataDir/anomalyd.db, WAL, synchronous
 * FULL) and the one worker thread that owns it.
 *
 * Work is queued with an_store_submit(); the worker runs everything queued
 * in one transaction (group commit: one fsync covers many requests), then
 * hands each result back to the event loop, where the request is answered.
 * So a reply means committed, and the loop never waits on the disk. The
 * SQL for every resource lives in this file's functions below. */
#ifndef AN_STORE_H
#define AN_STORE_H

#include "daemon.h"

#include <sqlite3.h>
#include <stddef.h>

/* Runs on the worker inside the group transaction. Returns 0, or ENOENT,
 * EEXIST, EINVAL (nothing of it is kept), EIO (a database error: logged,
 * rolled back). May run twice (when another job of its batch failed, the
 * batch is run again), so it must reset what it outputs before it starts. */
typedef int (*an_store_fn)(sqlite3 *db, void *arg);
/* Runs on the event loop after the commit: rc is fn's result, or EIO when
 * the transaction could not be committed. */
typedef void (*an_store_done_fn)(void *arg, int rc);

/* Opens (creating and migrating) the database in the data directory.
 * The worker starts with an_store_start(). Returns 0 or an errno with the
 * reason in err. */
int an_store_open(an_daemon_t *d, an_store_t **out, char *err, size_t errlen);

/* Runs fn now on the calling thread, in its own transaction: for start-up,
 * before an_store_start(), and shutdown, after an_store_stop(). Returns
 * fn's result or EIO. */
int an_store_run_now(an_store_t *s, an_store_fn fn, void *arg);

/* Starts the worker thread. Returns 0 or an errno. */
int an_store_start(an_store_t *s);

/* Queues work. Returns 0, or ENOMEM/ESHUTDOWN (done is then not called). */
int an_store_submit(an_store_t *s, an_store_fn fn, an_store_done_fn done,
                    void *arg);

/* Calls fn(arg) on the worker after every transaction it commits (set it
 * before an_store_start()). */
void an_store_on_commit(an_store_t *s, void (*fn)(void *arg), void *arg);

/* 1 while the last transaction committed; 0 while storage is failing. */
int an_store_healthy(an_store_t *s);

/* Commits what is queued and stops the worker. Done callbacks of that
 * last work are not called (the loop has stopped). Afterwards only
 * an_store_run_now() writes (shutdown's last checkpoint). Accepts NULL;
 * a second call does nothing. */
void an_store_stop(an_store_t *s);

/* Stops the worker if it runs, and closes the database. Accepts NULL. */
void an_store_close(an_store_t *s);

/* ---- records ---- */

typedef enum an_status {
  AN_STATUS_DETECTED = 0,
  AN_STATUS_ACKNOWLEDGED,
  AN_STATUS_RESOLVED,
} an_status_t;

typedef struct an_anomaly {
  char id[64];
  char *source;
  char *metric;
  double value;
  double expected;
  double score;
  int severity; /* an_severity_t */
  int status;   /* an_status_t */
  double detected_at;
  char *explanation;
  char *kind;
  double p_value; /* NaN when unknown */
  double ncd;     /* NaN when unknown */
  int has_evidence;
  char *feedback_type; /* NULL when none */
  char *feedback_reason;
  double feedback_at;
  double created_at;
} an_anomaly_t;

/* Frees the strings of a and zeroes it. */
void an_anomaly_clear(an_anomaly_t *a);

/* Filters of GET /v1/anomalies; NaN / 0 / NULL / -1 mean "any". */
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

/* Inserts a unless its id is stored already. *inserted says which.
 * Registers its source. */
int an_store_put_anomaly(sqlite3 *db, const an_anomaly_t *a, int *inserted);

/* Appends a scored value to the history. */
int an_store_put_point(sqlite3 *db, const char *source, const char *metric,
                       double t, double value, double score);

/* Reads one anomaly. Returns 0, ENOENT or EIO. */
int an_store_get_anomaly(sqlite3 *db, const char *id, an_anomaly_t *out);

/* A page of anomalies (newest first) and the count of all matches. *out is
 * malloc'd; clear each and free it. */
int an_store_list_anomalies(sqlite3 *db, const an_filter_t *f,
                            an_anomaly_t **out, size_t *n, long long *total);

/* Sets an anomaly's status. Returns 0, ENOENT or EIO. */
int an_store_set_status(sqlite3 *db, const char *id, int status);

/* Records feedback on an anomaly. Returns 0, ENOENT or EIO. */
int an_store_set_feedback(sqlite3 *db, const char *id, const char *type,
                          const char *reason, double at);

/* A series' sensitivity (1 when never tuned). */
int an_store_get_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double *out);
int an_store_put_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double sensitivity, double at);

/* Calls fn for every tuned series. */
int an_store_each_tuning(sqlite3 *db,
                         int (*fn)(void *ctx, const char *source,
                                   const char *metric, double sensitivity,
                                   double at),
                         void *ctx);

/* Sources registered (configured ones are in the config). */
int an_store_add_source(sqlite3 *db, const char *source, double at);
int an_store_each_source(sqlite3 *db, int (*fn)(void *ctx, const char *source),
                         void *ctx);

/* Detector state checkpoints, and the points scored after them. */
int an_store_put_state(sqlite3 *db, const char *key, double sensitivity,
                       double last_t, const void *blob, size_t len);
int an_store_each_state(sqlite3 *db,
                        int (*fn)(void *ctx, const char *key,
                                  double sensitivity, double last_t,
                                  const void *blob, size_t len),
                        void *ctx);
/* Points newer than their series' checkpoint, in the order stored. */
int an_store_each_point_after_state(sqlite3 *db,
                                    int (*fn)(void *ctx, const char *source,
                                              const char *metric, double t,
                                              double value),
                                    void *ctx);

#endif
