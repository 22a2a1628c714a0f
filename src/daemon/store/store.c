/* store.c: SQLite, the worker thread and group commit, and all the SQL. */
#include "store/store.h"
#include "clock.h"
#include "conf.h"
#include "metrics.h"
#include "store/sql.h"
#include "store/walbuf.h"

#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <unistd.h>

#define SCHEMA_VERSION 2

typedef struct job {
  an_store_fn fn;
  an_store_done_fn done;
  void *arg;
  int rc;
  an_store_t *store;
  struct job *next;
} job_t;

struct an_store {
  an_daemon_t *daemon;
  sqlite3 *db;

  pthread_t thread;
  int started;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  job_t *head, *tail; /* guarded by lock */
  size_t queued;      /* guarded by lock */
  int stopping;       /* guarded by lock */
  int idle;           /* guarded by lock: the worker waits for work */
  /* Committed batches go back to the loop through this list and an
   * eventfd rather than event_base_once(): that takes the event base's
   * lock, which the busy loop holds most of the time, and allocates. */
  job_t *done;           /* guarded by lock: committed, not yet answered */
  job_t **done_tail;     /* guarded by lock */
  int done_fd;           /* eventfd, readable while done is not empty */
  struct event *done_ev; /* on the loop */
  atomic_int healthy;
  void (*on_commit)(void *arg);
  void *on_commit_arg;
};

static const char *const schema[] = {
    "CREATE TABLE IF NOT EXISTS sources ("
    " name TEXT PRIMARY KEY, created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS points ("
    " source TEXT NOT NULL, metric TEXT NOT NULL, t REAL NOT NULL,"
    " value REAL NOT NULL, score REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS points_series ON points(source, metric, t)",
    "CREATE TABLE IF NOT EXISTS anomalies ("
    " id TEXT PRIMARY KEY, source TEXT NOT NULL, metric TEXT NOT NULL,"
    " value REAL, expected REAL, score REAL NOT NULL,"
    " severity INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
    " detected_at REAL NOT NULL, explanation TEXT, kind TEXT,"
    " p_value REAL, ncd REAL, has_evidence INTEGER NOT NULL DEFAULT 0,"
    " feedback_type TEXT, feedback_reason TEXT, feedback_at REAL,"
    " created_at REAL NOT NULL) WITHOUT ROWID",
    /* Newest first, then id: every list query walks one of these. */
    "CREATE INDEX IF NOT EXISTS anomalies_time"
    " ON anomalies(detected_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS anomalies_source"
    " ON anomalies(source, detected_at DESC, id DESC)",
    /* the planner has no statistics: an index with more equality columns
     * is what steers it to the selective one */
    "CREATE INDEX IF NOT EXISTS anomalies_source_severity"
    " ON anomalies(source, severity, detected_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS anomalies_source_metric"
    " ON anomalies(source, metric, detected_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS anomalies_severity"
    " ON anomalies(severity, detected_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS anomalies_status"
    " ON anomalies(status, detected_at DESC, id DESC)",
    "CREATE TABLE IF NOT EXISTS tuning ("
    " source TEXT NOT NULL, metric TEXT NOT NULL, sensitivity REAL NOT NULL,"
    " updated_at REAL NOT NULL, PRIMARY KEY (source, metric))",
    "CREATE TABLE IF NOT EXISTS detector_state ("
    " key TEXT PRIMARY KEY, sensitivity REAL NOT NULL, last_t REAL,"
    " blob BLOB NOT NULL)",
    /* version 2: alerting (store_alerts.c) */
    "CREATE TABLE IF NOT EXISTS channels ("
    " name TEXT PRIMARY KEY, type TEXT NOT NULL, url TEXT NOT NULL,"
    " routing_key TEXT, from_config INTEGER NOT NULL,"
    " created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rules ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, severity INTEGER NOT NULL,"
    " metric TEXT NOT NULL, threshold REAL NOT NULL, source TEXT,"
    " min_hits INTEGER NOT NULL, hit_window REAL NOT NULL,"
    " resolve_after REAL NOT NULL, escalation_timeout REAL NOT NULL,"
    " escalate_to TEXT, enabled INTEGER NOT NULL, created_at REAL NOT NULL,"
    " updated_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rule_channels ("
    " rule_id TEXT NOT NULL, position INTEGER NOT NULL,"
    " channel TEXT NOT NULL, PRIMARY KEY (rule_id, position))",
    "CREATE INDEX IF NOT EXISTS rule_channels_channel"
    " ON rule_channels(channel)",
    "CREATE TABLE IF NOT EXISTS alerts ("
    " id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, rule_name TEXT NOT NULL,"
    " source TEXT NOT NULL, metric TEXT NOT NULL, severity INTEGER NOT NULL,"
    " status INTEGER NOT NULL, created_at REAL NOT NULL,"
    " started_at REAL NOT NULL, fired_at REAL, updated_at REAL NOT NULL,"
    " hits INTEGER NOT NULL, max_score REAL NOT NULL,"
    " first_anomaly_id TEXT NOT NULL, last_anomaly_id TEXT NOT NULL,"
    " acknowledged_at REAL, acknowledged_by TEXT, notes TEXT,"
    " false_positive INTEGER NOT NULL, resolved_at REAL, resolved_by TEXT,"
    " escalated_at REAL, silenced INTEGER NOT NULL)",
    /* one open alert per rule and series */
    "CREATE UNIQUE INDEX IF NOT EXISTS alerts_open"
    " ON alerts(rule_id, source, metric) WHERE status < 3",
    "CREATE INDEX IF NOT EXISTS alerts_time ON alerts(created_at DESC, id "
    "DESC)",
    "CREATE INDEX IF NOT EXISTS alerts_status"
    " ON alerts(status, created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS alerts_source"
    " ON alerts(source, created_at DESC, id DESC)",
    "CREATE TABLE IF NOT EXISTS alert_anomalies ("
    " alert_id TEXT NOT NULL, anomaly_id TEXT NOT NULL,"
    " PRIMARY KEY (alert_id, anomaly_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS silences ("
    " id TEXT PRIMARY KEY, source TEXT, metric TEXT,"
    " starts_at REAL NOT NULL, ends_at REAL NOT NULL, comment TEXT,"
    " created_by TEXT, created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, channel TEXT NOT NULL,"
    " event TEXT NOT NULL, notice TEXT NOT NULL, state INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,"
    " created_at REAL NOT NULL, done_at REAL, last_status INTEGER,"
    " last_error TEXT)",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_at)"
    " WHERE state = 0",
    "CREATE INDEX IF NOT EXISTS outbox_alert ON outbox(alert_id, id)",
    "CREATE TABLE IF NOT EXISTS delivery_attempts ("
    " delivery_id INTEGER NOT NULL, at REAL NOT NULL, status INTEGER,"
    " error TEXT)",
    "CREATE INDEX IF NOT EXISTS delivery_attempts_delivery"
    " ON delivery_attempts(delivery_id)",
};

static int migrate(sqlite3 *db, char *err, size_t errlen) {
  sqlite3_stmt *st;
  int version = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version > SCHEMA_VERSION) {
    snprintf(err, errlen,
             "database schema %d is newer than this anomalyd "
             "(%d)",
             version, SCHEMA_VERSION);
    return EINVAL;
  }
  if (an_sql_exec(db, "BEGIN IMMEDIATE") != 0)
    goto fail;
  for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
    if (an_sql_exec(db, schema[i]) != 0) {
      an_sql_exec(db, "ROLLBACK");
      goto fail;
    }
  char sql[64];
  snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
  if (an_sql_exec(db, sql) != 0 || an_sql_exec(db, "COMMIT") != 0) {
    an_sql_exec(db, "ROLLBACK");
    goto fail;
  }
  return 0;
fail:
  snprintf(err, errlen, "cannot create the schema: %s", sqlite3_errmsg(db));
  return EIO;
}

int an_store_open(an_daemon_t *d, an_store_t **out, char *err, size_t errlen) {
  char path[4096];
  an_store_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    snprintf(err, errlen, "out of memory");
    return ENOMEM;
  }
  s->daemon = d;
  s->done_tail = &s->done;
  s->done_fd = -1;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->wake, NULL);
  atomic_store(&s->healthy, 1);
  snprintf(path, sizeof(path), "%s/anomalyd.db", d->config->data_dir);
  if (sqlite3_open_v2(path, &s->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                          SQLITE_OPEN_FULLMUTEX,
                      an_walbuf_vfs()) != SQLITE_OK) {
    snprintf(err, errlen, "%s: %s", path,
             s->db ? sqlite3_errmsg(s->db) : "cannot open");
    goto fail;
  }
  sqlite3_busy_timeout(s->db, 5000);
  /* WAL: readers never block the writer; FULL: a commit is on disk (and
   * walbuf.c, which writes the frames at the sync, needs that sync). */
  if (an_sql_exec(s->db, "PRAGMA journal_mode=WAL") != 0 ||
      an_sql_exec(s->db, "PRAGMA synchronous=FULL") != 0) {
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
    goto fail;
  }
  if (migrate(s->db, err, errlen) != 0)
    goto fail;
  *out = s;
  return 0;
fail:
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  free(s);
  return EIO;
}

int an_store_run_now(an_store_t *s, an_store_fn fn, void *arg) {
  if (an_sql_exec(s->db, "BEGIN IMMEDIATE") != 0)
    return EIO;
  int rc = fn(s->db, arg);
  if (rc == 0 && an_sql_exec(s->db, "COMMIT") == 0)
    return 0;
  an_sql_exec(s->db, "ROLLBACK");
  return rc != 0 ? rc : EIO;
}

/* On the loop: answers every job of the committed batches, in order. */
static void batch_done(job_t *j) {
  while (j != NULL) {
    job_t *next = j->next;
    j->done(j->arg, j->rc);
    free(j);
    j = next;
  }
}

static void free_jobs(job_t *j) {
  while (j != NULL) {
    job_t *next = j->next;
    free(j);
    j = next;
  }
}

/* Runs a statement of transaction control, kept prepared. */
static int control(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  if (an_sql_cached(db, sql, &st) != 0)
    return EIO;
  return an_sql_finish(db, st);
}

/* Runs every job of a batch in the open transaction; with savepoints, a
 * failed job's writes are undone and the others kept. Returns the number
 * of jobs that failed. */
static int run_jobs(sqlite3 *db, job_t *jobs, int savepoints) {
  int failed = 0;
  for (job_t *j = jobs; j != NULL; j = j->next) {
    if (savepoints)
      control(db, "SAVEPOINT job");
    j->rc = j->fn(db, j->arg);
    failed += j->rc != 0;
    if (savepoints && j->rc != 0)
      control(db, "ROLLBACK TO job");
    if (savepoints)
      control(db, "RELEASE job");
  }
  return failed;
}

/* Runs one batch in one transaction. Jobs run without savepoints first
 * (they cost as much as the jobs); only when one fails is the batch rolled
 * back and run again, each job in a savepoint. */
static void run_batch(an_store_t *s, job_t *jobs) {
  double t0 = an_clock_monotonic();
  int ok = control(s->db, "BEGIN IMMEDIATE") == 0;
  if (ok && run_jobs(s->db, jobs, 0) > 0) {
    ok = control(s->db, "ROLLBACK") == 0 &&
         control(s->db, "BEGIN IMMEDIATE") == 0;
    if (ok)
      run_jobs(s->db, jobs, 1);
  }
  if (!ok)
    for (job_t *j = jobs; j != NULL; j = j->next)
      j->rc = EIO;
  if (ok && control(s->db, "COMMIT") != 0) {
    control(s->db, "ROLLBACK");
    ok = 0;
    for (job_t *j = jobs; j != NULL; j = j->next)
      j->rc = EIO;
  }
  if (ok && s->on_commit != NULL)
    s->on_commit(s->on_commit_arg);
  an_metrics_t *m = s->daemon->metrics;
  an_metrics_store_latency(m, an_clock_monotonic() - t0);
  an_metrics_add(m, ok ? AN_COUNTER_STORE_COMMITS : AN_COUNTER_STORE_ERRORS, 1);
  if (atomic_exchange(&s->healthy, ok) != ok)
    syslog(ok ? LOG_NOTICE : LOG_ERR, "store: %s",
           ok ? "storage works again"
              : "storage is failing; requests get 503 until it recovers");
}

static void *worker(void *arg) {
  an_store_t *s = arg;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    while (s->head == NULL && !s->stopping) {
      s->idle = 1;
      pthread_cond_wait(&s->wake, &s->lock);
      s->idle = 0;
    }
    if (s->head == NULL)
      break;
    job_t *jobs = s->head;
    s->head = s->tail = NULL;
    s->queued = 0;
    pthread_mutex_unlock(&s->lock);
    an_metrics_store_queue(s->daemon->metrics, 0);
    run_batch(s, jobs);
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
      free_jobs(jobs); /* the loop is gone: committed, nobody to tell */
      continue;
    }
    int wake = s->done == NULL; /* else the loop has a wake-up pending */
    *s->done_tail = jobs;
    while (*s->done_tail != NULL)
      s->done_tail = &(*s->done_tail)->next;
    if (wake) {
      static const uint64_t one = 1;
      /* fails only when the counter is full: it is readable anyway */
      (void)!write(s->done_fd, &one, sizeof(one));
    }
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* On the loop: the worker has committed one or more batches. */
static void on_done(evutil_socket_t fd, short what, void *arg) {
  an_store_t *s = arg;
  uint64_t n;
  (void)!read(fd, &n, sizeof(n));
  pthread_mutex_lock(&s->lock);
  job_t *jobs = s->done;
  s->done = NULL;
  s->done_tail = &s->done;
  pthread_mutex_unlock(&s->lock);
  batch_done(jobs);
}

int an_store_start(an_store_t *s) {
  s->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->done_fd < 0)
    return errno;
  s->done_ev =
      event_new(s->daemon->base, s->done_fd, EV_READ | EV_PERSIST, on_done, s);
  if (s->done_ev == NULL || event_add(s->done_ev, NULL) != 0)
    return ENOMEM;
  int rc = pthread_create(&s->thread, NULL, worker, s);
  if (rc == 0)
    s->started = 1;
  return rc;
}

int an_store_submit(an_store_t *s, an_store_fn fn, an_store_done_fn done,
                    void *arg) {
  job_t *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return ENOMEM;
  *j = (job_t){.fn = fn, .done = done, .arg = arg, .store = s};
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    pthread_mutex_unlock(&s->lock);
    free(j);
    return ESHUTDOWN;
  }
  if (s->tail != NULL)
    s->tail->next = j;
  else
    s->head = j;
  s->tail = j;
  size_t depth = ++s->queued;
  if (s->idle) /* a busy worker takes the whole queue when it is done */
    pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  an_metrics_store_queue(s->daemon->metrics, depth);
  return 0;
}

void an_store_on_commit(an_store_t *s, void (*fn)(void *), void *arg) {
  s->on_commit = fn;
  s->on_commit_arg = arg;
}

int an_store_healthy(an_store_t *s) { return atomic_load(&s->healthy); }

void an_store_stop(an_store_t *s) {
  if (s == NULL)
    return;
  pthread_mutex_lock(&s->lock);
  s->stopping = 1;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  if (s->started)
    pthread_join(s->thread, NULL);
  s->started = 0;
}

void an_store_close(an_store_t *s) {
  if (s == NULL)
    return;
  an_store_stop(s);
  free_jobs(s->done); /* committed after the loop stopped: nobody to tell */
  if (s->done_ev != NULL)
    event_free(s->done_ev);
  if (s->done_fd >= 0)
    close(s->done_fd);
  an_sql_cache_clear();
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  free(s);
}

/* ---- records ---- */

void an_anomaly_clear(an_anomaly_t *a) {
  free(a->source);
  free(a->metric);
  free(a->explanation);
  free(a->kind);
  free(a->feedback_type);
  free(a->feedback_reason);
  memset(a, 0, sizeof(*a));
}

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

#define ANOMALY_COLUMNS                                                        \
  "id, source, metric, value, expected, score, severity, status,"              \
  " detected_at, explanation, kind, p_value, ncd, has_evidence,"               \
  " feedback_type, feedback_reason, feedback_at, created_at"

static void read_anomaly(sqlite3_stmt *st, void *row) {
  an_anomaly_t *a = row;
  memset(a, 0, sizeof(*a));
  snprintf(a->id, sizeof(a->id), "%s", sqlite3_column_text(st, 0));
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

/* Appends the WHERE clause of f (without the keyset part) to sql and
 * binds nothing yet: bind_filter() binds in the same order. */
static void where_clause(const an_filter_t *f, char *sql, size_t len) {
  size_t n = strlen(sql);
#define ADD(text) n += (size_t)snprintf(sql + n, len - n, "%s", text)
  ADD(" WHERE 1");
  if (f->severities != 0) {
    char in[64] = "";
    for (int s = 1; s <= 4; s++)
      if (f->severities & (1u << s))
        snprintf(in + strlen(in), sizeof(in) - strlen(in), "%s%d",
                 in[0] ? "," : "", s);
    n += (size_t)snprintf(sql + n, len - n, " AND severity IN (%s)", in);
  }
  if (f->statuses != 0) {
    char in[64] = "";
    for (int s = 0; s <= 2; s++)
      if (f->statuses & (1u << s))
        snprintf(in + strlen(in), sizeof(in) - strlen(in), "%s%d",
                 in[0] ? "," : "", s);
    n += (size_t)snprintf(sql + n, len - n, " AND status IN (%s)", in);
  }
  if (!isnan(f->start))
    ADD(" AND detected_at >= :start");
  if (!isnan(f->end))
    ADD(" AND detected_at <= :end");
  if (f->source != NULL)
    ADD(" AND source = :source");
  if (f->metric != NULL)
    ADD(" AND metric = :metric");
  if (!isnan(f->min_score))
    ADD(" AND score >= :min_score");
  if (!isnan(f->min_ncd))
    ADD(" AND ncd >= :min_ncd");
  if (!isnan(f->max_p_value))
    ADD(" AND p_value <= :max_p");
  if (f->has_evidence >= 0)
    ADD(f->has_evidence ? " AND has_evidence = 1" : " AND has_evidence = 0");
#undef ADD
}

static void bind_named(sqlite3_stmt *st, const char *name, double v) {
  int i = sqlite3_bind_parameter_index(st, name);
  if (i > 0)
    sqlite3_bind_double(st, i, v);
}

static void bind_filter(sqlite3_stmt *st, const an_filter_t *f) {
  bind_named(st, ":start", f->start);
  bind_named(st, ":end", f->end);
  bind_named(st, ":min_score", f->min_score);
  bind_named(st, ":min_ncd", f->min_ncd);
  bind_named(st, ":max_p", f->max_p_value);
  int i = sqlite3_bind_parameter_index(st, ":source");
  if (i > 0)
    an_sql_bind_text(st, i, f->source);
  i = sqlite3_bind_parameter_index(st, ":metric");
  if (i > 0)
    an_sql_bind_text(st, i, f->metric);
  i = sqlite3_bind_parameter_index(st, ":after_t");
  if (i > 0) {
    sqlite3_bind_double(st, i, f->after_t);
    an_sql_bind_text(st, sqlite3_bind_parameter_index(st, ":after_id"),
                     f->after_id);
  }
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
  sqlite3_bind_blob(st, 4, blob, (int)len, SQLITE_TRANSIENT);
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
