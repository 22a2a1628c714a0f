/* store_tuning.c: the SQL of each series' sensitivity (store_tuning.h). */
#include "store/store_tuning.h"
#include "store/sql.h"

#include <errno.h>

int an_store_get_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double *out) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "SELECT sensitivity FROM tuning WHERE source = ? AND"
                     " metric = ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  an_sql_bind_text(st, 2, metric);
  *out = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : 1.0;
  an_sql_release(st);
  return 0;
}

int an_store_put_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double sensitivity,
                             double at) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "INSERT OR REPLACE INTO tuning(source, metric,"
                     " sensitivity, updated_at) VALUES (?,?,?,?)",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, source);
  an_sql_bind_text(st, 2, metric);
  sqlite3_bind_double(st, 3, sensitivity);
  sqlite3_bind_double(st, 4, at);
  return an_sql_finish(db, st);
}

int an_store_each_tuning(sqlite3 *db,
                         int (*fn)(void *, const char *, const char *, double,
                                   double),
                         void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT source, metric, sensitivity, updated_at FROM"
                     " tuning ORDER BY source, metric",
                     &st) != 0)
    return EIO;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            (const char *)sqlite3_column_text(st, 1),
            sqlite3_column_double(st, 2), sqlite3_column_double(st, 3));
  return an_sql_done(st, step, rc);
}
