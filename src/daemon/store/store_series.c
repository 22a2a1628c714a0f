/* store_series.c: the SQL of the series the engine scores
 * (store_series.h). */
#include "store/store_series.h"
#include "store/sql.h"

#include <errno.h>

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

int an_store_each_point_after_state(sqlite3 *db,
                                    int (*fn)(void *, const char *,
                                              const char *, double, double),
                                    void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT p.source, p.metric, p.t, p.value FROM points p"
                     " LEFT JOIN detector_state d"
                     " ON d.key = p.source || '/' || p.metric"
                     " WHERE d.last_t IS NULL OR p.t > d.last_t"
                     " ORDER BY p.rowid",
                     &st) != 0)
    return EIO;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            (const char *)sqlite3_column_text(st, 1),
            sqlite3_column_double(st, 2), sqlite3_column_double(st, 3));
  return an_sql_done(st, step, rc);
}
