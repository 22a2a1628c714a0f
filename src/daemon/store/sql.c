#include "store/sql.h"
#include "clock.h"
#include "grow.h"
#include "lograte.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define CACHE_SIZE 48

/* Preparing costs more than running most statements: they are kept. */
typedef struct cached {
  const char *sql;
  sqlite3_stmt *st;
} cached_t;

/* A failing disk fails every statement of every request: one line a
 * minute says so (the store logs when it starts and stops failing). */
static an_lograte_t error_log = AN_LOGRATE_INIT(60);

static void log_error(const char *sql, const char *msg) {
  if (sql != NULL)
    an_lograte_log(&error_log, an_clock_monotonic(), LOG_ERR, "store: %s: %s",
                   sql, msg);
  else
    an_lograte_log(&error_log, an_clock_monotonic(), LOG_ERR, "store: %s", msg);
}

/* One store per process, so one cache: its connection's statements. */
static cached_t statement_cache[CACHE_SIZE];

int an_sql_exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    log_error(sql, msg ? msg : "error");
    sqlite3_free(msg);
    return EIO;
  }
  return 0;
}

int an_sql_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
    log_error(sql, sqlite3_errmsg(db));
    return EIO;
  }
  return 0;
}

int an_sql_cached(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
  for (int i = 0; i < CACHE_SIZE; i++) {
    cached_t *c = &statement_cache[i];
    if (c->sql == sql) {
      *st = c->st;
      return 0;
    }
    if (c->sql == NULL) {
      if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                             NULL) != SQLITE_OK) {
        log_error(sql, sqlite3_errmsg(db));
        return EIO;
      }
      c->sql = sql;
      c->st = *st;
      return 0;
    }
  }
  return an_sql_prepare(db, sql, st);
}

static int is_cached(sqlite3_stmt *st) {
  for (int i = 0; i < CACHE_SIZE; i++)
    if (statement_cache[i].st == st)
      return 1;
  return 0;
}

void an_sql_release(sqlite3_stmt *st) {
  if (is_cached(st)) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  } else {
    sqlite3_finalize(st);
  }
}

void an_sql_cache_clear(void) {
  for (int i = 0; i < CACHE_SIZE; i++) {
    sqlite3_finalize(statement_cache[i].st);
    statement_cache[i] = (cached_t){NULL, NULL};
  }
}

/* sqlite3_bind_text copies the text; when it cannot, the parameter stays
 * NULL and a statement stepped so would insert NULLs (ignored by INSERT OR
 * IGNORE: an anomaly answered as a duplicate and not stored) or match
 * nothing. A failed bind is remembered here, on the thread that binds,
 * and the next statement to end reports it. */
static __thread int bind_failed;

/* ENOMEM when a bind failed since the last call, else rc. */
static int bound(int rc) {
  if (!bind_failed)
    return rc;
  bind_failed = 0;
  return ENOMEM;
}

int an_sql_finish(sqlite3 *db, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  an_sql_release(st);
  if (bound(0) != 0)
    return ENOMEM;
  if (rc != SQLITE_DONE) {
    log_error(NULL, sqlite3_errmsg(db));
    return EIO;
  }
  return 0;
}

int an_sql_page(sqlite3 *db, const an_sql_page_t *p, void **rows, size_t *n,
                long long *total) {
  char sql[2048];
  sqlite3_stmt *st;
  *rows = NULL;
  *n = 0;
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s%s", p->table, p->where);
  if (an_sql_prepare(db, sql, &st) != 0)
    return EIO;
  p->bind(st, p->filter);
  *total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  an_sql_release(st);

  int len = snprintf(sql, sizeof(sql), "SELECT %s FROM %s%s", p->columns,
                     p->table, p->where);
  if (p->after)
    len += snprintf(sql + len, sizeof(sql) - (size_t)len,
                    " AND (%s < :after_t OR (%s = :after_t AND"
                    " id < :after_id))",
                    p->order_column, p->order_column);
  snprintf(sql + len, sizeof(sql) - (size_t)len,
           " ORDER BY %s DESC, id DESC LIMIT %d", p->order_column, p->limit);
  if (an_sql_prepare(db, sql, &st) != 0)
    return EIO;
  p->bind(st, p->filter);
  unsigned char *out = calloc((size_t)p->limit, p->row_size);
  if (out == NULL) {
    an_sql_release(st);
    return ENOMEM;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)p->limit)
    p->read(st, out + (*n)++ * p->row_size);
  an_sql_release(st);
  *rows = out;
  return bound(rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : EIO);
}

int an_sql_done(sqlite3_stmt *st, int step, int rc) {
  an_sql_release(st);
  return bound(rc == 0 && step != SQLITE_DONE ? EIO : rc);
}

int an_sql_one(sqlite3_stmt *st, an_sql_read_fn read, void *row) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    read(st, row);
  an_sql_release(st);
  return bound(rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : EIO);
}

int an_sql_rows(sqlite3_stmt *st, size_t row_size, an_sql_read_fn read,
                void **rows, size_t *n) {
  size_t cap = 0;
  int rc;
  *rows = NULL;
  *n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (an_grow(rows, &cap, *n, row_size) != 0)
      break;
    void *row = (unsigned char *)*rows + (*n)++ * row_size;
    memset(row, 0, row_size);
    read(st, row);
  }
  an_sql_release(st);
  return bound(rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? ENOMEM : EIO);
}

void an_sql_read_text(sqlite3_stmt *st, void *row) {
  *(char **)row = an_sql_column_text(st, 0);
}

void an_sql_bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s == NULL)
    sqlite3_bind_null(st, i);
  else if (sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) != SQLITE_OK)
    bind_failed = 1;
}

void an_sql_bind_blob(sqlite3_stmt *st, int i, const void *blob, size_t len) {
  if (len > INT_MAX ||
      sqlite3_bind_blob(st, i, blob, (int)len, SQLITE_TRANSIENT) != SQLITE_OK)
    bind_failed = 1;
}

void an_sql_bind_real(sqlite3_stmt *st, int i, double v) {
  if (isfinite(v))
    sqlite3_bind_double(st, i, v);
  else
    sqlite3_bind_null(st, i);
}

char *an_sql_column_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t != NULL ? strdup((const char *)t) : NULL;
}

double an_sql_column_real(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL
             ? NAN
             : sqlite3_column_double(st, i);
}

void an_sql_column_copy(sqlite3_stmt *st, int i, char *dst, size_t len) {
  const unsigned char *t = sqlite3_column_text(st, i);
  snprintf(dst, len, "%s", t != NULL ? (const char *)t : "");
}

void an_sql_add_in(char *sql, size_t len, const char *column, unsigned bits,
                   int max) {
  size_t n = strlen(sql);
  n += (size_t)snprintf(sql + n, len - n, " AND %s IN (", column);
  const char *sep = "";
  for (int b = 0; b <= max; b++)
    if (bits & (1u << b)) {
      n += (size_t)snprintf(sql + n, len - n, "%s%d", sep, b);
      sep = ",";
    }
  snprintf(sql + n, len - n, ")");
}

void an_sql_bind_named(sqlite3_stmt *st, const char *name, const char *text,
                       double v) {
  int i = sqlite3_bind_parameter_index(st, name);
  if (i <= 0)
    return;
  if (text != NULL)
    an_sql_bind_text(st, i, text);
  else
    sqlite3_bind_double(st, i, v);
}
