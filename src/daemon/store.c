/* store.c: SQLite, the worker thread and group commit, and all the SQL. */
#include "store.h"
#include "conf.h"
#include "metrics.h"
#include "walbuf.h"

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
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 1

typedef struct job {
  an_store_fn fn;
  an_store_done_fn done;
  void *arg;
  int rc;
  an_store_t *store;
  struct job *next;
} job_t;

/* Prepared statements, kept: preparing costs more than running most of
 * them. Keyed by the SQL text's address (all cached SQL is a literal). */
#define CACHE_SIZE 32
typedef struct cached {
  const char *sql;
  sqlite3_stmt *st;
} cached_t;

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
   * eventfd rather than an_daemon_defer(): that takes the event base's
   * lock, which the busy loop holds most of the time, and allocates. */
  job_t *done;           /* guarded by lock: committed, not yet answered */
  job_t **done_tail;     /* guarded by lock */
  int done_fd;           /* eventfd, readable while done is not empty */
  struct event *done_ev; /* on the loop */
  atomic_int healthy;
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
};

static int exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    syslog(LOG_ERR, "store: %s: %s", sql, msg ? msg : "error");
    sqlite3_free(msg);
    return EIO;
  }
  return 0;
}

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
  if (exec(db, "BEGIN IMMEDIATE") != 0)
    goto fail;
  for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
    if (exec(db, schema[i]) != 0) {
      exec(db, "ROLLBACK");
      goto fail;
    }
  char sql[64];
  snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
  if (exec(db, sql) != 0 || exec(db, "COMMIT") != 0) {
    exec(db, "ROLLBACK");
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
  if (exec(s->db, "PRAGMA journal_mode=WAL") != 0 ||
      exec(s->db, "PRAGMA synchronous=FULL") != 0) {
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
  if (exec(s->db, "BEGIN IMMEDIATE") != 0)
    return EIO;
  int rc = fn(s->db, arg);
  if (rc == 0 && exec(s->db, "COMMIT") == 0)
    return 0;
  exec(s->db, "ROLLBACK");
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

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
    syslog(LOG_ERR, "store: %s: %s", sql, sqlite3_errmsg(db));
    return EIO;
  }
  return 0;
}

/* One store per process: its connection's statement cache. Only the
 * thread that owns the connection (start-up, then the worker) uses it. */
static cached_t statement_cache[CACHE_SIZE];

/* Like prepare() for literal SQL, from the cache; release with done(). */
static int cached(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
  for (int i = 0; i < CACHE_SIZE; i++) {
    cached_t *c = &statement_cache[i];
    if (c->sql == sql) {
      *st = c->st;
      return 0;
    }
    if (c->sql == NULL) {
      if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
                             NULL) != SQLITE_OK) {
        syslog(LOG_ERR, "store: %s: %s", sql, sqlite3_errmsg(db));
        return EIO;
      }
      c->sql = sql;
      c->st = *st;
      return 0;
    }
  }
  return prepare(db, sql, st);
}

static int is_cached(sqlite3_stmt *st) {
  for (int i = 0; i < CACHE_SIZE; i++)
    if (statement_cache[i].st == st)
      return 1;
  return 0;
}

/* Ends a statement's use: a cached one is reset for next time. */
static void release(sqlite3_stmt *st) {
  if (is_cached(st)) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  } else {
    sqlite3_finalize(st);
  }
}

/* Steps a statement that returns no rows, then releases it. */
static int finish(sqlite3 *db, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  release(st);
  if (rc != SQLITE_DONE) {
    syslog(LOG_ERR, "store: %s", sqlite3_errmsg(db));
    return EIO;
  }
  return 0;
}

/* Runs a statement of transaction control, kept prepared. */
static int control(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  if (cached(db, sql, &st) != 0)
    return EIO;
  return finish(db, st);
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
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
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
  clock_gettime(CLOCK_MONOTONIC, &t1);
  an_metrics_t *m = s->daemon->metrics;
  an_metrics_store_latency(m, (t1.tv_sec - t0.tv_sec) +
                                  (t1.tv_nsec - t0.tv_nsec) / 1e9);
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

int an_store_healthy(an_store_t *s) { return atomic_load(&s->healthy); }

void an_store_close(an_store_t *s) {
  if (s == NULL)
    return;
  pthread_mutex_lock(&s->lock);
  s->stopping = 1;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  if (s->started)
    pthread_join(s->thread, NULL);
  free_jobs(s->done); /* committed after the loop stopped: nobody to tell */
  if (s->done_ev != NULL)
    event_free(s->done_ev);
  if (s->done_fd >= 0)
    close(s->done_fd);
  for (int i = 0; i < CACHE_SIZE; i++) {
    sqlite3_finalize(statement_cache[i].st);
    statement_cache[i] = (cached_t){NULL, NULL};
  }
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

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (s == NULL)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static void bind_real(sqlite3_stmt *st, int i, double v) {
  if (isfinite(v))
    sqlite3_bind_double(st, i, v);
  else
    sqlite3_bind_null(st, i);
}

static char *column_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t != NULL ? strdup((const char *)t) : NULL;
}

static double column_real(sqlite3_stmt *st, int i) {
  return sqlite3_column_type(st, i) == SQLITE_NULL
             ? NAN
             : sqlite3_column_double(st, i);
}

int an_store_add_source(sqlite3 *db, const char *source, double at) {
  sqlite3_stmt *st;
  if (cached(db,
             "INSERT OR IGNORE INTO sources(name, created_at) "
             "VALUES (?, ?)",
             &st) != 0)
    return EIO;
  bind_text(st, 1, source);
  sqlite3_bind_double(st, 2, at);
  return finish(db, st);
}

int an_store_each_source(sqlite3 *db, int (*fn)(void *, const char *),
                         void *ctx) {
  sqlite3_stmt *st;
  int rc = 0;
  if (cached(db, "SELECT name FROM sources", &st) != 0)
    return EIO;
  while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0));
  release(st);
  return rc;
}

int an_store_put_anomaly(sqlite3 *db, const an_anomaly_t *a, int *inserted) {
  sqlite3_stmt *st;
  if (prepare(db,
              "INSERT OR IGNORE INTO anomalies(id, source, metric, value,"
              " expected, score, severity, status, detected_at, explanation,"
              " kind, p_value, ncd, has_evidence, created_at)"
              " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
              &st) != 0)
    return EIO;
  bind_text(st, 1, a->id);
  bind_text(st, 2, a->source);
  bind_text(st, 3, a->metric);
  bind_real(st, 4, a->value);
  bind_real(st, 5, a->expected);
  sqlite3_bind_double(st, 6, a->score);
  sqlite3_bind_int(st, 7, a->severity);
  sqlite3_bind_int(st, 8, a->status);
  sqlite3_bind_double(st, 9, a->detected_at);
  bind_text(st, 10, a->explanation);
  bind_text(st, 11, a->kind);
  bind_real(st, 12, a->p_value);
  bind_real(st, 13, a->ncd);
  sqlite3_bind_int(st, 14, a->has_evidence);
  sqlite3_bind_double(st, 15, a->created_at);
  int rc = finish(db, st);
  if (rc != 0)
    return rc;
  *inserted = sqlite3_changes(db) > 0;
  return an_store_add_source(db, a->source, a->created_at);
}

int an_store_put_point(sqlite3 *db, const char *source, const char *metric,
                       double t, double value, double score) {
  sqlite3_stmt *st;
  if (cached(db,
             "INSERT INTO points(source, metric, t, value, score) "
             "VALUES (?,?,?,?,?)",
             &st) != 0)
    return EIO;
  bind_text(st, 1, source);
  bind_text(st, 2, metric);
  sqlite3_bind_double(st, 3, t);
  sqlite3_bind_double(st, 4, value);
  sqlite3_bind_double(st, 5, score);
  return finish(db, st);
}

#define ANOMALY_COLUMNS                                                        \
  "id, source, metric, value, expected, score, severity, status,"              \
  " detected_at, explanation, kind, p_value, ncd, has_evidence,"               \
  " feedback_type, feedback_reason, feedback_at, created_at"

static void read_anomaly(sqlite3_stmt *st, an_anomaly_t *a) {
  memset(a, 0, sizeof(*a));
  snprintf(a->id, sizeof(a->id), "%s", sqlite3_column_text(st, 0));
  a->source = column_text(st, 1);
  a->metric = column_text(st, 2);
  a->value = column_real(st, 3);
  a->expected = column_real(st, 4);
  a->score = sqlite3_column_double(st, 5);
  a->severity = sqlite3_column_int(st, 6);
  a->status = sqlite3_column_int(st, 7);
  a->detected_at = sqlite3_column_double(st, 8);
  a->explanation = column_text(st, 9);
  a->kind = column_text(st, 10);
  a->p_value = column_real(st, 11);
  a->ncd = column_real(st, 12);
  a->has_evidence = sqlite3_column_int(st, 13);
  a->feedback_type = column_text(st, 14);
  a->feedback_reason = column_text(st, 15);
  a->feedback_at = column_real(st, 16);
  a->created_at = sqlite3_column_double(st, 17);
}

int an_store_get_anomaly(sqlite3 *db, const char *id, an_anomaly_t *out) {
  sqlite3_stmt *st;
  if (cached(db, "SELECT " ANOMALY_COLUMNS " FROM anomalies WHERE id = ?",
             &st) != 0)
    return EIO;
  bind_text(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    read_anomaly(st, out);
  release(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? ENOENT : EIO;
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
    bind_text(st, i, f->source);
  i = sqlite3_bind_parameter_index(st, ":metric");
  if (i > 0)
    bind_text(st, i, f->metric);
  i = sqlite3_bind_parameter_index(st, ":after_t");
  if (i > 0) {
    sqlite3_bind_double(st, i, f->after_t);
    bind_text(st, sqlite3_bind_parameter_index(st, ":after_id"), f->after_id);
  }
}

int an_store_list_anomalies(sqlite3 *db, const an_filter_t *f,
                            an_anomaly_t **out, size_t *n, long long *total) {
  char sql[1024];
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;

  snprintf(sql, sizeof(sql), "SELECT count(*) FROM anomalies");
  where_clause(f, sql, sizeof(sql));
  if (prepare(db, sql, &st) != 0)
    return EIO;
  bind_filter(st, f);
  *total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  release(st);

  snprintf(sql, sizeof(sql), "SELECT " ANOMALY_COLUMNS " FROM anomalies");
  where_clause(f, sql, sizeof(sql));
  if (f->after_id != NULL)
    snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
             " AND (detected_at < :after_t OR (detected_at = :after_t AND"
             " id < :after_id))");
  snprintf(sql + strlen(sql), sizeof(sql) - strlen(sql),
           " ORDER BY detected_at DESC, id DESC LIMIT %d", f->limit);
  if (prepare(db, sql, &st) != 0)
    return EIO;
  bind_filter(st, f);
  an_anomaly_t *rows = calloc((size_t)f->limit, sizeof(*rows));
  if (rows == NULL) {
    release(st);
    return ENOMEM;
  }
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)f->limit)
    read_anomaly(st, &rows[(*n)++]);
  release(st);
  *out = rows;
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : EIO;
}

int an_store_set_status(sqlite3 *db, const char *id, int status) {
  sqlite3_stmt *st;
  if (cached(db, "UPDATE anomalies SET status = ? WHERE id = ?", &st) != 0)
    return EIO;
  sqlite3_bind_int(st, 1, status);
  bind_text(st, 2, id);
  int rc = finish(db, st);
  return rc != 0 ? rc : sqlite3_changes(db) > 0 ? 0 : ENOENT;
}

int an_store_set_feedback(sqlite3 *db, const char *id, const char *type,
                          const char *reason, double at) {
  sqlite3_stmt *st;
  if (prepare(db,
              "UPDATE anomalies SET feedback_type = ?,"
              " feedback_reason = ?, feedback_at = ? WHERE id = ?",
              &st) != 0)
    return EIO;
  bind_text(st, 1, type);
  bind_text(st, 2, reason);
  sqlite3_bind_double(st, 3, at);
  bind_text(st, 4, id);
  int rc = finish(db, st);
  return rc != 0 ? rc : sqlite3_changes(db) > 0 ? 0 : ENOENT;
}

int an_store_get_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double *out) {
  sqlite3_stmt *st;
  if (prepare(db,
              "SELECT sensitivity FROM tuning WHERE source = ? AND"
              " metric = ?",
              &st) != 0)
    return EIO;
  bind_text(st, 1, source);
  bind_text(st, 2, metric);
  *out = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_double(st, 0) : 1.0;
  release(st);
  return 0;
}

int an_store_put_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double sensitivity,
                             double at) {
  sqlite3_stmt *st;
  if (prepare(db,
              "INSERT OR REPLACE INTO tuning(source, metric,"
              " sensitivity, updated_at) VALUES (?,?,?,?)",
              &st) != 0)
    return EIO;
  bind_text(st, 1, source);
  bind_text(st, 2, metric);
  sqlite3_bind_double(st, 3, sensitivity);
  sqlite3_bind_double(st, 4, at);
  return finish(db, st);
}

int an_store_each_tuning(sqlite3 *db,
                         int (*fn)(void *, const char *, const char *, double,
                                   double),
                         void *ctx) {
  sqlite3_stmt *st;
  int rc = 0;
  if (prepare(db,
              "SELECT source, metric, sensitivity, updated_at FROM"
              " tuning ORDER BY source, metric",
              &st) != 0)
    return EIO;
  while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            (const char *)sqlite3_column_text(st, 1),
            sqlite3_column_double(st, 2), sqlite3_column_double(st, 3));
  release(st);
  return rc;
}

int an_store_put_state(sqlite3 *db, const char *key, double sensitivity,
                       double last_t, const void *blob, size_t len) {
  sqlite3_stmt *st;
  if (prepare(db,
              "INSERT OR REPLACE INTO detector_state(key, sensitivity,"
              " last_t, blob) VALUES (?,?,?,?)",
              &st) != 0)
    return EIO;
  bind_text(st, 1, key);
  sqlite3_bind_double(st, 2, sensitivity);
  bind_real(st, 3, last_t);
  sqlite3_bind_blob(st, 4, blob, (int)len, SQLITE_TRANSIENT);
  return finish(db, st);
}

int an_store_each_state(sqlite3 *db,
                        int (*fn)(void *, const char *, double, double,
                                  const void *, size_t),
                        void *ctx) {
  sqlite3_stmt *st;
  int rc = 0;
  if (prepare(db,
              "SELECT key, sensitivity, last_t, blob FROM"
              " detector_state",
              &st) != 0)
    return EIO;
  while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            sqlite3_column_double(st, 1), column_real(st, 2),
            sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3));
  release(st);
  return rc;
}

int an_store_each_point_after_state(sqlite3 *db,
                                    int (*fn)(void *, const char *,
                                              const char *, double, double),
                                    void *ctx) {
  sqlite3_stmt *st;
  int rc = 0;
  if (prepare(db,
              "SELECT p.source, p.metric, p.t, p.value FROM points p"
              " LEFT JOIN detector_state d"
              " ON d.key = p.source || '/' || p.metric"
              " WHERE d.last_t IS NULL OR p.t > d.last_t"
              " ORDER BY p.rowid",
              &st) != 0)
    return EIO;
  while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
    rc = fn(ctx, (const char *)sqlite3_column_text(st, 0),
            (const char *)sqlite3_column_text(st, 1),
            sqlite3_column_double(st, 2), sqlite3_column_double(st, 3));
  release(st);
  return rc;
}
