/* store_outbox.c: the SQL of the outbox (store_outbox.h). */
#include "store/store_outbox.h"
#include "store/sql.h"

#include <errno.h>
#include <math.h>

int an_store_outbox_add(sqlite3 *db, const char *alert_id, const char *channel,
                        const char *event, const char *notice, int state,
                        double now) {
  sqlite3_stmt *st;
  if (an_sql_cached(db,
                    "INSERT INTO outbox(alert_id, channel, event, notice,"
                    " state, next_at, created_at, done_at)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, alert_id);
  an_sql_bind_text(st, 2, channel);
  an_sql_bind_text(st, 3, event);
  an_sql_bind_text(st, 4, notice);
  sqlite3_bind_int(st, 5, state);
  sqlite3_bind_double(st, 6, now);
  sqlite3_bind_double(st, 7, now);
  an_sql_bind_real(st, 8, state == AN_DELIVERY_PENDING ? NAN : now);
  return an_sql_finish(db, st);
}

int an_store_alert_channels(sqlite3 *db, const char *alert_id, char ***out,
                            size_t *n) {
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  if (an_sql_cached(db,
                    "SELECT channel FROM outbox WHERE alert_id = ?"
                    " AND event IN ('trigger', 'escalate') AND state != 3"
                    " GROUP BY channel ORDER BY min(id)",
                    &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, alert_id);
  return an_sql_rows(st, sizeof(char *), an_sql_read_text, (void **)out, n);
}

#define DELIVERY_COLUMNS                                                       \
  "id, alert_id, channel, event, state, attempts, next_at, created_at,"        \
  " done_at, last_status, last_error"

static void read_delivery(sqlite3_stmt *st, void *row) {
  an_delivery_t *d = row;
  d->id = sqlite3_column_int64(st, 0);
  an_sql_column_copy(st, 1, d->alert_id, sizeof(d->alert_id));
  d->channel = an_sql_column_text(st, 2);
  d->event = an_sql_column_text(st, 3);
  d->state = sqlite3_column_int(st, 4);
  d->attempts = sqlite3_column_int(st, 5);
  d->next_at = sqlite3_column_double(st, 6);
  d->created_at = sqlite3_column_double(st, 7);
  d->done_at = an_sql_column_real(st, 8);
  d->last_status = sqlite3_column_int(st, 9);
  d->last_error = an_sql_column_text(st, 10);
}

/* A delivery selected with its notice after DELIVERY_COLUMNS. */
static void read_delivery_notice(sqlite3_stmt *st, void *row) {
  read_delivery(st, row);
  ((an_delivery_t *)row)->notice = an_sql_column_text(st, 11);
}

int an_store_alert_deliveries(sqlite3 *db, const char *alert_id,
                              an_delivery_t **out, size_t *n) {
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  if (an_sql_prepare(db,
                     "SELECT " DELIVERY_COLUMNS " FROM outbox"
                     " WHERE alert_id = ? ORDER BY id",
                     &st) != 0)
    return EIO;
  an_sql_bind_text(st, 1, alert_id);
  return an_sql_rows(st, sizeof(**out), read_delivery, (void **)out, n);
}

int an_store_each_attempt(sqlite3 *db, long long delivery_id,
                          int (*fn)(void *, const an_attempt_t *), void *ctx) {
  sqlite3_stmt *st;
  int rc = 0, step = SQLITE_DONE;
  if (an_sql_prepare(db,
                     "SELECT at, status, error FROM delivery_attempts"
                     " WHERE delivery_id = ? ORDER BY rowid",
                     &st) != 0)
    return EIO;
  sqlite3_bind_int64(st, 1, delivery_id);
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    an_attempt_t a = {.at = sqlite3_column_double(st, 0),
                      .status = sqlite3_column_int(st, 1),
                      .error = (char *)sqlite3_column_text(st, 2)};
    rc = fn(ctx, &a);
  }
  return an_sql_done(st, step, rc);
}

int an_store_outbox_due(sqlite3 *db, double now, size_t per_channel,
                        an_delivery_t **out, size_t *n) {
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  /* a limit per channel, not in all: a channel whose deliveries hang
   * must not fill the answer and starve the others */
  if (an_sql_prepare(db,
                     "SELECT " DELIVERY_COLUMNS ", notice FROM"
                     " (SELECT o.*, row_number() OVER (PARTITION BY o.channel"
                     " ORDER BY o.next_at, o.id) AS rank FROM outbox o"
                     " WHERE o.state = 0 AND o.next_at <= ?1"
                     " AND NOT EXISTS (SELECT 1 FROM outbox p"
                     " WHERE p.alert_id = o.alert_id AND p.channel = o.channel"
                     " AND p.state = 0 AND p.id < o.id))"
                     " WHERE rank <= ?2 ORDER BY next_at, id",
                     &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, now);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)per_channel);
  return an_sql_rows(st, sizeof(**out), read_delivery_notice, (void **)out, n);
}

int an_store_outbox_next(sqlite3 *db, double after, double *next_at,
                         long long *pending) {
  sqlite3_stmt *st;
  if (an_sql_prepare(db,
                     "SELECT min(CASE WHEN next_at > ?1 THEN next_at END),"
                     " count(*) FROM outbox WHERE state = 0",
                     &st) != 0)
    return EIO;
  sqlite3_bind_double(st, 1, after);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *next_at = an_sql_column_real(st, 0);
    *pending = sqlite3_column_int64(st, 1);
  }
  an_sql_release(st);
  return rc == SQLITE_ROW ? 0 : EIO;
}

int an_store_outbox_result(sqlite3 *db, long long id, int state, double next_at,
                           int status, const char *error, double now) {
  sqlite3_stmt *st;
  int rc = an_sql_exec(db, "BEGIN IMMEDIATE");
  if (rc != 0)
    return rc;
  if (an_sql_prepare(db,
                     "UPDATE outbox SET state = ?, attempts = attempts + 1,"
                     " next_at = ?, done_at = ?, last_status = ?,"
                     " last_error = ? WHERE id = ?",
                     &st) != 0)
    goto fail;
  sqlite3_bind_int(st, 1, state);
  sqlite3_bind_double(st, 2, state == AN_DELIVERY_PENDING ? next_at : now);
  an_sql_bind_real(st, 3, state == AN_DELIVERY_PENDING ? NAN : now);
  sqlite3_bind_int(st, 4, status);
  an_sql_bind_text(st, 5, error);
  sqlite3_bind_int64(st, 6, id);
  if (an_sql_finish(db, st) != 0)
    goto fail;
  if (an_sql_prepare(db,
                     "INSERT INTO delivery_attempts(delivery_id, at, status,"
                     " error) VALUES (?,?,?,?)",
                     &st) != 0)
    goto fail;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_double(st, 2, now);
  sqlite3_bind_int(st, 3, status);
  an_sql_bind_text(st, 4, error);
  if (an_sql_finish(db, st) == 0 && an_sql_exec(db, "COMMIT") == 0)
    return 0;
fail:
  an_sql_exec(db, "ROLLBACK");
  return EIO;
}
