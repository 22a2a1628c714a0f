/* store_models.c: the SQL of training jobs and models (store_models.h). */
#include "store/store_models.h"
#include "store/sql.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const job_status_names[] = {
    [AN_JOB_QUEUED] = "queued",       [AN_JOB_RUNNING] = "running",
    [AN_JOB_SUCCEEDED] = "succeeded", [AN_JOB_FAILED] = "failed",
    [AN_JOB_CANCELLED] = "cancelled",
};
#define NSTATUSES (sizeof(job_status_names) / sizeof(job_status_names[0]))

const char *an_job_status_name(int status) {
  return status >= 0 && (size_t)status < NSTATUSES ? job_status_names[status]
                                                   : "unknown";
}

/* The status stored as text; -1 for a name this build does not know. */
static int job_status_parse(const char *name) {
  for (size_t i = 0; name != NULL && i < NSTATUSES; i++)
    if (strcmp(name, job_status_names[i]) == 0)
      return (int)i;
  return -1;
}

void an_train_job_clear(an_train_job_t *j) {
  if (j == NULL)
    return;
  free(j->algorithm);
  free(j->hyperparameters);
  free(j->scope_source);
  free(j->scope_metric);
  free(j->error);
  memset(j, 0, sizeof(*j));
}

void an_model_info_clear(an_model_info_t *m) {
  if (m == NULL)
    return;
  free(m->algorithm);
  free(m->scope_source);
  free(m->scope_metric);
  free(m->metrics);
  memset(m, 0, sizeof(*m));
}

/* ---- jobs ---- */

#define JOB_COLUMNS                                                            \
  "id, algorithm, hyperparameters, range_start, range_end, scope_source,"      \
  " scope_metric, status, progress, series_total, series_done,"                \
  " series_skipped, model_id, error, scheduled, created_at, started_at,"       \
  " finished_at"

static void read_job(sqlite3_stmt *st, void *row) {
  an_train_job_t *j = row;
  an_sql_column_copy(st, 0, j->id, sizeof(j->id));
  j->algorithm = an_sql_column_text(st, 1);
  j->hyperparameters = an_sql_column_text(st, 2);
  j->range_start = sqlite3_column_double(st, 3);
  j->range_end = sqlite3_column_double(st, 4);
  j->scope_source = an_sql_column_text(st, 5);
  j->scope_metric = an_sql_column_text(st, 6);
  j->status = job_status_parse((const char *)sqlite3_column_text(st, 7));
  j->progress = sqlite3_column_double(st, 8);
  j->series_total = sqlite3_column_int64(st, 9);
  j->series_done = sqlite3_column_int64(st, 10);
  j->series_skipped = sqlite3_column_int64(st, 11);
  an_sql_column_copy(st, 12, j->model_id, sizeof(j->model_id));
  j->error = an_sql_column_text(st, 13);
  j->scheduled = sqlite3_column_int(st, 14);
  j->created_at = sqlite3_column_double(st, 15);
  j->started_at = an_sql_column_real(st, 16);
  j->finished_at = an_sql_column_real(st, 17);
}

int an_store_put_train_job(sqlite3 *db, const an_train_job_t *j) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "INSERT INTO train_jobs(id, algorithm, hyperparameters,"
                     " range_start, range_end, scope_source, scope_metric,"
                     " status, scheduled, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, j->id);
  an_sql_bind_text(st, 2, j->algorithm);
  an_sql_bind_text(st, 3, j->hyperparameters);
  sqlite3_bind_double(st, 4, j->range_start);
  sqlite3_bind_double(st, 5, j->range_end);
  an_sql_bind_text(st, 6, j->scope_source);
  an_sql_bind_text(st, 7, j->scope_metric);
  sqlite3_bind_int(st, 8, j->scheduled);
  sqlite3_bind_double(st, 9, j->created_at);
  return an_sql_finish(db, st);
}

int an_store_get_train_job(sqlite3 *db, const char *id, an_train_job_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  if (an_sql_prepare(db, "SELECT " JOB_COLUMNS " FROM train_jobs WHERE id = ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  return an_sql_one(st, read_job, out);
}

/* The filter of a page: only where it ended. */
typedef struct page_end {
  double t;
  const char *id;
} page_end_t;

static void bind_after(sqlite3_stmt *st, const void *filter) {
  const page_end_t *a = filter;
  an_sql_bind_named(st, ":after_t", NULL, a->t);
  an_sql_bind_named(st, ":after_id", a->id, 0);
}

/* A page of table's rows, newest first, after (after_t, after_id) when
 * after_id is set, and the count of all. */
static int list_page(sqlite3 *db, const char *table, const char *columns,
                     size_t row_size, an_sql_read_fn read, int limit,
                     double after_t, const char *after_id, void **out,
                     size_t *n, long long *total) {
  page_end_t after = {after_t, after_id};
  an_sql_page_t page = {.table = table,
                        .columns = columns,
                        .order_column = "created_at",
                        .where = " WHERE 1",
                        .after = after_id != NULL,
                        .limit = limit,
                        .bind = bind_after,
                        .filter = &after,
                        .row_size = row_size,
                        .read = read};
  return an_sql_page(db, &page, out, n, total);
}

int an_store_list_train_jobs(sqlite3 *db, int limit, double after_t,
                             const char *after_id, an_train_job_t **out,
                             size_t *n, long long *total) {
  return list_page(db, "train_jobs", JOB_COLUMNS, sizeof(**out), read_job,
                   limit, after_t, after_id, (void **)out, n, total);
}

/* Runs st (its parameters bound) and says whether it changed a row:
 * 0, EALREADY (no row changed) or EIO. */
static int changed_one(sqlite3 *db, sqlite3_stmt *st) {
  int rc = an_sql_finish(db, st);
  return rc != 0 ? rc : sqlite3_changes(db) > 0 ? 0 : EALREADY;
}

int an_store_claim_train_job(sqlite3 *db, const char *id, double now) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "UPDATE train_jobs SET status = 'running', progress = 0,"
                     " started_at = ? WHERE id = ? AND status = 'queued'",
                     &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, now);
  an_sql_bind_text(st, 2, id);
  return changed_one(db, st);
}

int an_store_set_train_progress(sqlite3 *db, const char *id, double progress,
                                long long total, long long done,
                                long long skipped) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "UPDATE train_jobs SET progress = ?, series_total = ?,"
                     " series_done = ?, series_skipped = ?"
                     " WHERE id = ? AND status = 'running'",
                     &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, progress);
  sqlite3_bind_int64(st, 2, total);
  sqlite3_bind_int64(st, 3, done);
  sqlite3_bind_int64(st, 4, skipped);
  an_sql_bind_text(st, 5, id);
  return an_sql_finish(db, st);
}

int an_store_finish_train_job(sqlite3 *db, const char *id, int status,
                              const char *error, const char *model_id,
                              double now) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "UPDATE train_jobs SET status = ?, error = ?,"
                     " model_id = ?, finished_at = ?,"
                     " progress = CASE WHEN ?1 = 'succeeded' THEN 1"
                     " ELSE progress END"
                     " WHERE id = ? AND status = 'running'",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, an_job_status_name(status));
  an_sql_bind_text(st, 2, error);
  an_sql_bind_text(st, 3, model_id);
  sqlite3_bind_double(st, 4, now);
  an_sql_bind_text(st, 5, id);
  return changed_one(db, st);
}

int an_store_cancel_train_job(sqlite3 *db, const char *id, double now,
                              int *status) {
  an_train_job_t j;
  int rc = an_store_get_train_job(db, id, &j);
  *status = j.status;
  an_train_job_clear(&j);
  if (rc != 0 || *status != AN_JOB_QUEUED)
    return rc;
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "UPDATE train_jobs SET status = 'cancelled',"
                     " finished_at = ? WHERE id = ? AND status = 'queued'",
                     &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, now);
  an_sql_bind_text(st, 2, id);
  return an_sql_finish(db, st);
}

int an_store_interrupt_train_jobs(sqlite3 *db, double now, int *n) {
  sqlite3_stmt *st;
  *n = 0;
  if (an_sql_prepare(db,
                     "UPDATE train_jobs SET status = 'failed',"
                     " error = 'interrupted by restart', finished_at = ?"
                     " WHERE status = 'running'",
                     &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, now);
  int rc = an_sql_finish(db, st);
  if (rc == 0)
    *n = sqlite3_changes(db);
  return rc;
}

int an_store_each_queued_train_job(sqlite3 *db, int (*fn)(void *, const char *),
                                   void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT id FROM train_jobs WHERE status = 'queued'"
                     " ORDER BY created_at, id",
                     &st) != 0)
    return EIO;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0));
  return an_sql_done(st, step, rc);
}

/* The one number of a query that returns one. */
static int count(sqlite3 *db, const char *sql, long long *n) {
  sqlite3_stmt *st;
  *n = 0;
  if (an_sql_prepare(db, sql, &st) != 0)
    return EIO;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *n = sqlite3_column_int64(st, 0);
    step = SQLITE_DONE;
  }
  return an_sql_done(st, step, 0);
}

int an_store_count_scheduled_pending(sqlite3 *db, long long *n) {
  return count(db,
               "SELECT count(*) FROM train_jobs WHERE scheduled = 1"
               " AND status IN ('queued', 'running')",
               n);
}

/* ---- models ---- */

#define MODEL_COLUMNS                                                          \
  "id, algorithm, scope_source, scope_metric, version, range_start,"           \
  " range_end, series, skipped, points, length(blob), active, created_at,"     \
  " metrics, job_id"

static void read_model(sqlite3_stmt *st, void *row) {
  an_model_info_t *m = row;
  an_sql_column_copy(st, 0, m->id, sizeof(m->id));
  m->algorithm = an_sql_column_text(st, 1);
  m->scope_source = an_sql_column_text(st, 2);
  m->scope_metric = an_sql_column_text(st, 3);
  m->version = sqlite3_column_int64(st, 4);
  m->range_start = sqlite3_column_double(st, 5);
  m->range_end = sqlite3_column_double(st, 6);
  m->series = sqlite3_column_int64(st, 7);
  m->skipped = sqlite3_column_int64(st, 8);
  m->points = sqlite3_column_int64(st, 9);
  m->size = sqlite3_column_int64(st, 10);
  m->active = sqlite3_column_int(st, 11);
  m->created_at = sqlite3_column_double(st, 12);
  m->metrics = an_sql_column_text(st, 13);
  an_sql_column_copy(st, 14, m->job_id, sizeof(m->job_id));
}

/* The next version of an algorithm and scope, counted in model_versions
 * so that a deleted model's number is not given again. */
static int next_version(sqlite3 *db, const an_model_info_t *m,
                        long long *version) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "INSERT INTO model_versions(algorithm, scope_source,"
                     " scope_metric, last) VALUES (?, ifnull(?, ''),"
                     " ifnull(?, ''), 1) ON CONFLICT DO UPDATE"
                     " SET last = last + 1 RETURNING last",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, m->algorithm);
  an_sql_bind_text(st, 2, m->scope_source);
  an_sql_bind_text(st, 3, m->scope_metric);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *version = sqlite3_column_int64(st, 0);
    step = sqlite3_step(st);
  }
  return an_sql_done(st, step, 0);
}

int an_store_put_model(sqlite3 *db, an_model_info_t *m, const void *blob,
                       size_t len) {
  int rc = next_version(db, m, &m->version);
  if (rc != 0)
    return rc;
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "INSERT INTO models(id, algorithm, scope_source,"
                     " scope_metric, version, range_start, range_end, series,"
                     " skipped, points, blob, active, created_at, metrics,"
                     " job_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, m->id);
  an_sql_bind_text(st, 2, m->algorithm);
  an_sql_bind_text(st, 3, m->scope_source);
  an_sql_bind_text(st, 4, m->scope_metric);
  sqlite3_bind_int64(st, 5, m->version);
  sqlite3_bind_double(st, 6, m->range_start);
  sqlite3_bind_double(st, 7, m->range_end);
  sqlite3_bind_int64(st, 8, m->series);
  sqlite3_bind_int64(st, 9, m->skipped);
  sqlite3_bind_int64(st, 10, m->points);
  an_sql_bind_blob(st, 11, blob, len);
  sqlite3_bind_int(st, 12, m->active);
  sqlite3_bind_double(st, 13, m->created_at);
  an_sql_bind_text(st, 14, m->metrics);
  an_sql_bind_text(st, 15, m->job_id[0] != '\0' ? m->job_id : NULL);
  m->size = (long long)len;
  return an_sql_finish(db, st);
}

int an_store_get_model(sqlite3 *db, const char *id, an_model_info_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  if (an_sql_prepare(db, "SELECT " MODEL_COLUMNS " FROM models WHERE id = ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  return an_sql_one(st, read_model, out);
}

int an_store_get_model_blob(sqlite3 *db, const char *id, void **blob,
                            size_t *len) {
  sqlite3_stmt *st;
  *blob = NULL;
  *len = 0;
  if (an_sql_prepare(db, "SELECT blob FROM models WHERE id = ?", &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  int rc = 0, step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *b = sqlite3_column_blob(st, 0);
    if ((*blob = malloc(n > 0 ? n : 1)) == NULL)
      rc = ENOMEM;
    else if (n > 0)
      memcpy(*blob, b, n);
    *len = rc == 0 ? n : 0;
    step = SQLITE_DONE;
  } else if (step == SQLITE_DONE) {
    rc = ENOENT;
  }
  return an_sql_done(st, step, rc);
}

int an_store_list_models(sqlite3 *db, int limit, double after_t,
                         const char *after_id, an_model_info_t **out, size_t *n,
                         long long *total) {
  return list_page(db, "models", MODEL_COLUMNS, sizeof(**out), read_model,
                   limit, after_t, after_id, (void **)out, n, total);
}

int an_store_delete_model(sqlite3 *db, const char *id) {
  an_model_info_t m;
  int rc = an_store_get_model(db, id, &m);
  int active = m.active;
  an_model_info_clear(&m);
  if (rc != 0)
    return rc;
  if (active)
    return EBUSY;
  sqlite3_stmt *st;
  if (an_sql_prepare(db, "DELETE FROM models WHERE id = ?", &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, id);
  return an_sql_finish(db, st);
}

int an_store_activate_model(sqlite3 *db, const char *id) {
  an_model_info_t m;
  int rc = an_store_get_model(db, id, &m);
  sqlite3_stmt *st = NULL;
  if (rc == 0 &&
      (rc = an_sql_prepare(db,
                           "UPDATE models SET active = 0 WHERE active = 1"
                           " AND algorithm = ? AND scope_source IS ?"
                           " AND scope_metric IS ?",
                           &st)) == 0) {
    an_sql_bind_text(st, 1, m.algorithm);
    an_sql_bind_text(st, 2, m.scope_source);
    an_sql_bind_text(st, 3, m.scope_metric);
    rc = an_sql_finish(db, st);
  }
  an_model_info_clear(&m);
  if (rc == 0 &&
      (rc = an_sql_prepare(db, "UPDATE models SET active = 1 WHERE id = ?",
                           &st)) == 0) {
    an_sql_bind_text(st, 1, id);
    rc = an_sql_finish(db, st);
  }
  return rc;
}

int an_store_get_active_model(sqlite3 *db, const char *algorithm,
                              const char *scope_source,
                              const char *scope_metric, an_model_info_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  if (an_sql_prepare(db,
                     "SELECT " MODEL_COLUMNS " FROM models WHERE active = 1"
                     " AND algorithm = ? AND scope_source IS ?"
                     " AND scope_metric IS ?",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, algorithm);
  an_sql_bind_text(st, 2, scope_source);
  an_sql_bind_text(st, 3, scope_metric);
  return an_sql_one(st, read_model, out);
}

int an_store_get_newest_active_model(sqlite3 *db, const char *algorithm,
                                     an_model_info_t *out) {
  sqlite3_stmt *st;
  memset(out, 0, sizeof(*out));
  if (an_sql_prepare(db,
                     "SELECT " MODEL_COLUMNS " FROM models WHERE active = 1"
                     " AND algorithm = ? ORDER BY created_at DESC, id DESC"
                     " LIMIT 1",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, algorithm);
  return an_sql_one(st, read_model, out);
}

int an_store_each_active_model_blob(sqlite3 *db, const char *algorithm,
                                    int (*fn)(void *, const char *,
                                              const void *, size_t),
                                    void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT id, blob FROM models WHERE active = 1"
                     " AND algorithm = ? ORDER BY created_at DESC, id DESC",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, algorithm);
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
  return an_sql_done(st, step, rc);
}

int an_store_count_models(sqlite3 *db, long long *n) {
  return count(db, "SELECT count(*) FROM models", n);
}
