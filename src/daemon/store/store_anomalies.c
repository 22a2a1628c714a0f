/* store_anomalies.c: the SQL of anomalies (store_anomalies.h). */
#include "store/store_anomalies.h"
#include "severity.h"
#include "store/sql.h"
#include "store/store_series.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int an_store_put_anomaly(sqlite3 *db, const an_anomaly_t *a, int *inserted) {
  sqlite3_stmt *st;
  if (an_sql_prepare(
          db,
          "INSERT OR IGNORE INTO anomalies(id, source, metric, value,"
          " expected, score, severity, status, detected_at, explanation,"
          " kind, p_value, ncd, has_evidence, created_at)"
          " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
          &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, a->id);
  an_sql_bind_text(st, 2, a->source);
  an_sql_bind_text(st, 3, a->metric);
  an_sql_bind_real(st, 4, a->value);
  an_sql_bind_real(st, 5, a->expected);
  sqlite3_bind_double(st, 6, a->score);
  sqlite3_bind_int(st, 7, a->severity);
  sqlite3_bind_int(st, 8, a->status);
  sqlite3_bind_double(st, 9, a->detected_at);
  an_sql_bind_text(st, 10, a->explanation);
  an_sql_bind_text(st, 11, a->kind);
  an_sql_bind_real(st, 12, a->p_value);
  an_sql_bind_real(st, 13, a->ncd);
  sqlite3_bind_int(st, 14, a->has_evidence);
  sqlite3_bind_double(st, 15, a->created_at);
  int rc = an_sql_finish(db, st);
  if (rc != 0)
    return rc;
  *inserted = sqlite3_changes(db) > 0;
  return an_store_add_source(db, a->source, a->created_at);
}

#define ANOMALY_COLUMNS                                                        \
  "id, source, metric, value, expected, score, severity, status,"              \
  " detected_at, explanation, kind, p_value, ncd, has_evidence,"               \
  " feedback_type, feedback_reason, feedback_at, created_at"

static void read_anomaly(sqlite3_stmt *st, void *row) {
  an_anomaly_t *a = row;
  memset(a, 0, sizeof(*a));
  an_sql_column_copy(st, 0, a->id, sizeof(a->id));
  a->source = an_sql_column_text(st, 1);
  a->metric = an_sql_column_text(st, 2);
  a->value = an_sql_column_real(st, 3);
  a->expected = an_sql_column_real(st, 4);
  a->score = sqlite3_column_double(st, 5);
  a->severity = sqlite3_column_int(st, 6);
  a->status = sqlite3_column_int(st, 7);
  a->detected_at = sqlite3_column_double(st, 8);
  a->explanation = an_sql_column_text(st, 9);
  a->kind = an_sql_column_text(st, 10);
  a->p_value = an_sql_column_real(st, 11);
  a->ncd = an_sql_column_real(st, 12);
  a->has_evidence = sqlite3_column_int(st, 13);
  a->feedback_type = an_sql_column_text(st, 14);
  a->feedback_reason = an_sql_column_text(st, 15);
  a->feedback_at = an_sql_column_real(st, 16);
  a->created_at = sqlite3_column_double(st, 17);
}

int an_store_get_anomaly(sqlite3 *db, const char *id, an_anomaly_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out)); /* cleared by the caller on any result */
  if (an_sql_cached(db,
                    "SELECT " ANOMALY_COLUMNS " FROM anomalies WHERE id = ?",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  return an_sql_one(st, read_anomaly, out);
}

/* Appends the WHERE clause of f (without the keyset part) to sql, with
 * the named parameters bind_filter() binds. */
static void where_clause(const an_filter_t *f, char *sql, size_t len) {
  snprintf(sql + strlen(sql), len - strlen(sql), " WHERE 1");
  if (f->severities != 0)
    an_sql_add_in(sql, len, "severity", f->severities, AN_SEVERITY_CRITICAL);
  if (f->statuses != 0)
    an_sql_add_in(sql, len, "status", f->statuses, AN_STATUS_RESOLVED);
  const struct {
    int on;
    const char *clause;
  } parts[] = {
      {!isnan(f->start), " AND detected_at >= :start"},
      {!isnan(f->end), " AND detected_at <= :end"},
      {f->source != NULL, " AND source = :source"},
      {f->metric != NULL, " AND metric = :metric"},
      {!isnan(f->min_score), " AND score >= :min_score"},
      {!isnan(f->min_ncd), " AND ncd >= :min_ncd"},
      {!isnan(f->max_p_value), " AND p_value <= :max_p"},
      {f->has_evidence == 0, " AND has_evidence = 0"},
      {f->has_evidence > 0, " AND has_evidence = 1"},
  };
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
    if (parts[i].on)
      snprintf(sql + strlen(sql), len - strlen(sql), "%s", parts[i].clause);
}

static void bind_filter(sqlite3_stmt *st, const an_filter_t *f) {
  an_sql_bind_named(st, ":start", NULL, f->start);
  an_sql_bind_named(st, ":end", NULL, f->end);
  an_sql_bind_named(st, ":min_score", NULL, f->min_score);
  an_sql_bind_named(st, ":min_ncd", NULL, f->min_ncd);
  an_sql_bind_named(st, ":max_p", NULL, f->max_p_value);
  an_sql_bind_named(st, ":source", f->source, 0);
  an_sql_bind_named(st, ":metric", f->metric, 0);
  an_sql_bind_named(st, ":after_t", NULL, f->after_t);
  an_sql_bind_named(st, ":after_id", f->after_id, 0);
}

static void bind_filter_of(sqlite3_stmt *st, const void *f) {
  bind_filter(st, f);
}

int an_store_list_anomalies(sqlite3 *db, const an_filter_t *f,
                            an_anomaly_t **out, size_t *n, long long *total) {
  char where[1024] = "";
  where_clause(f, where, sizeof(where));
  an_sql_page_t page = {.table = "anomalies",
                        .columns = ANOMALY_COLUMNS,
                        .order_column = "detected_at",
                        .where = where,
                        .after = f->after_id != NULL,
                        .limit = f->limit,
                        .bind = bind_filter_of,
                        .filter = f,
                        .row_size = sizeof(an_anomaly_t),
                        .read = read_anomaly};
  return an_sql_page(db, &page, (void **)out, n, total);
}

int an_store_set_status(sqlite3 *db, const char *id, int status) {
  sqlite3_stmt *st;
  if (an_sql_cached(db, "UPDATE anomalies SET status = ? WHERE id = ?", &st) !=
      0)
    return EIO;
  sqlite3_bind_int(st, 1, status);
  an_sql_bind_text(st, 2, id);
  int rc = an_sql_finish(db, st);
  return rc != 0 ? rc : sqlite3_changes(db) > 0 ? 0 : ENOENT;
}

int an_store_set_feedback(sqlite3 *db, const char *id, const char *type,
                          const char *reason, double at) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "UPDATE anomalies SET feedback_type = ?,"
                     " feedback_reason = ?, feedback_at = ? WHERE id = ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, type);
  an_sql_bind_text(st, 2, reason);
  sqlite3_bind_double(st, 3, at);
  an_sql_bind_text(st, 4, id);
  int rc = an_sql_finish(db, st);
  return rc != 0 ? rc : sqlite3_changes(db) > 0 ? 0 : ENOENT;
}

int an_store_each_labelled_anomaly(sqlite3 *db, double start, double end,
                                   int (*fn)(void *, const char *, const char *,
                                             double, double, int),
                                   void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT source, metric, detected_at, value,"
                     " feedback_type = 'confirmed' FROM anomalies"
                     " WHERE detected_at >= ? AND detected_at <= ?"
                     " AND feedback_type IN ('confirmed', 'false_positive')"
                     " AND value IS NOT NULL"
                     " ORDER BY source, metric, detected_at",
                     &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, start);
  sqlite3_bind_double(st, 2, end);
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            (const char *)sqlite3_column_text(st, 1),
            sqlite3_column_double(st, 2), sqlite3_column_double(st, 3),
            sqlite3_column_int(st, 4));
  return an_sql_done(st, step, rc);
}
