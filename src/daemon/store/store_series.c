/* store_series.c: the SQL of the series the engine scores
 * (store_series.h). */
#include "store/store_series.h"
#include "store/sql.h"

#include <errno.h>
#include <stdlib.h>

int an_store_add_source(sqlite3 *db, const char *source, double at) {
  sqlite3_stmt *st;
  if (an_sql_cached(db,
                    "INSERT OR IGNORE INTO sources(name, created_at) "
                    "VALUES (?, ?)",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  sqlite3_bind_double(st, 2, at);
  return an_sql_finish(db, st);
}

int an_store_each_source(sqlite3 *db, int (*fn)(void *, const char *),
                         void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_cached(db, "SELECT name FROM sources", &st) != 0)
    return EIO;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0));
  return an_sql_done(st, step, rc);
}

int an_store_put_point(sqlite3 *db, const char *source, const char *metric,
                       double t, double value, double score) {
  sqlite3_stmt *st;
  if (an_sql_cached(db,
                    /* a resent point (engine.h) is stored once: a
                     * series has one point per time */
                    "INSERT INTO points(source, metric, t, value, score) "
                    "SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 "
                    "FROM points WHERE source = ?1 AND metric = ?2 AND "
                    "t = ?3)",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  an_sql_bind_text(st, 2, metric);
  sqlite3_bind_double(st, 3, t);
  sqlite3_bind_double(st, 4, value);
  sqlite3_bind_double(st, 5, score);
  return an_sql_finish(db, st);
}

int an_store_prune_points(sqlite3 *db, double before, int limit, int *deleted) {
  sqlite3_stmt *st;
  *deleted = 0;
  if (an_sql_cached(db,
                    /* oldest first through points_time; a point newer
                     * than its series' checkpoint is replayed at start,
                     * so it stays whatever its age */
                    "DELETE FROM points WHERE rowid IN (SELECT p.rowid"
                    " FROM points p LEFT JOIN detector_state d"
                    " ON d.key = p.source || '/' || p.metric"
                    " WHERE p.t < ?1 AND (d.last_t IS NULL OR p.t <= d.last_t)"
                    " ORDER BY p.t LIMIT ?2)",
                    &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, before);
  sqlite3_bind_int(st, 2, limit);
  int rc = an_sql_finish(db, st);
  if (rc == 0)
    *deleted = sqlite3_changes(db);
  return rc;
}

int an_store_put_state(sqlite3 *db, const char *key, double sensitivity,
                       double last_t, const void *blob, size_t len) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "INSERT OR REPLACE INTO detector_state(key, sensitivity,"
                     " last_t, blob) VALUES (?,?,?,?)",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, key);
  sqlite3_bind_double(st, 2, sensitivity);
  an_sql_bind_real(st, 3, last_t);
  an_sql_bind_blob(st, 4, blob, len);
  return an_sql_finish(db, st);
}

int an_store_each_state(sqlite3 *db,
                        int (*fn)(void *, const char *, double, double,
                                  const void *, size_t),
                        void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT key, sensitivity, last_t, blob FROM"
                     " detector_state",
                     &st) != 0)
    return EIO;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            sqlite3_column_double(st, 1), an_sql_column_real(st, 2),
            sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
  return an_sql_done(st, step, rc);
}

/* Steps st (source and metric bound) once: 0 with *source and *metric
 * (malloc'd, the caller's; NULL when there is no row), EIO or ENOMEM. */
static int read_series(sqlite3_stmt *st, char **source, char **metric) {
  int rc = 0, step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *source = an_sql_column_text(st, 0);
    *metric = an_sql_column_text(st, 1);
    if (*source == NULL || *metric == NULL) {
      free(*source);
      free(*metric);
      *source = *metric = NULL;
      rc = ENOMEM;
    }
    step = SQLITE_DONE;
  }
  return an_sql_done(st, step, rc);
}

/* The series after (source, metric) in points_series' order: 0 with
 * *next_source and *next_metric (malloc'd, the caller's; NULL after the
 * last series), EIO or ENOMEM. Two seeks in the index at most: the row
 * value (source, metric) > (?, ?) would walk the source's points. */
static int next_series(sqlite3 *db, const char *source, const char *metric,
                       char **next_source, char **next_metric) {
  sqlite3_stmt *st;
  *next_source = *next_metric = NULL;
  if (an_sql_cached(db,
                    "SELECT source, metric FROM points"
                    " WHERE source = ? AND metric > ?"
                    " ORDER BY metric LIMIT 1",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  an_sql_bind_text(st, 2, metric);
  int rc = read_series(st, next_source, next_metric);
  if (rc != 0 || *next_source != NULL)
    return rc;
  if (an_sql_cached(db,
                    "SELECT source, metric FROM points WHERE source > ?"
                    " ORDER BY source, metric LIMIT 1",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  return read_series(st, next_source, next_metric);
}

/* Calls fn for the points of one series newer than its checkpoint (all
 * of them when it has none), in time order: a range of points_series. */
static int each_point_of_series(
    sqlite3 *db, const char *source, const char *metric,
    int (*fn)(void *, const char *, const char *, double, double), void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_cached(db,
                    "SELECT t, value FROM points"
                    " WHERE source = ?1 AND metric = ?2 AND t > ifnull("
                    "(SELECT last_t FROM detector_state"
                    " WHERE key = ?1 || '/' || ?2), -1e308)"
                    " ORDER BY t",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  an_sql_bind_text(st, 2, metric);
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, source, metric, sqlite3_column_double(st, 0),
            sqlite3_column_double(st, 1));
  return an_sql_done(st, step, rc);
}

int an_store_each_point_after_state(sqlite3 *db,
                                    int (*fn)(void *, const char *,
                                              const char *, double, double),
                                    void *ctx) {
  /* series by series through the index (a skip scan), so that start-up
   * reads what it replays and one seek per series, not every point */
  char *source = NULL, *metric = NULL;
  int rc = next_series(db, "", "", &source, &metric);
  while (rc == 0 && source != NULL) {
    rc = each_point_of_series(db, source, metric, fn, ctx);
    char *s = source, *m = metric;
    if (rc == 0)
      rc = next_series(db, s, m, &source, &metric);
    else
      source = metric = NULL;
    free(s);
    free(m);
  }
  free(source);
  free(metric);
  return rc;
}

int an_store_each_series(sqlite3 *db,
                         int (*fn)(void *, const char *, const char *),
                         void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  /* a walk of the points_series index */
  if (an_sql_prepare(db,
                     "SELECT DISTINCT source, metric FROM points"
                     " ORDER BY source, metric",
                     &st) != 0)
    return EIO;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            (const char *)sqlite3_column_text(st, 1));
  return an_sql_done(st, step, rc);
}

int an_store_each_point_in_range(sqlite3 *db, const char *source,
                                 const char *metric, double start, double end,
                                 int (*fn)(void *, double, double), void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT t, value FROM points WHERE source = ?"
                     " AND metric = ? AND t >= ? AND t <= ? ORDER BY t",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  an_sql_bind_text(st, 2, metric);
  sqlite3_bind_double(st, 3, start);
  sqlite3_bind_double(st, 4, end);
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, sqlite3_column_double(st, 0), sqlite3_column_double(st, 1));
  return an_sql_done(st, step, rc);
}
