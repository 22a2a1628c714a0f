/* store.c: opening the database, its schema and migrations, the worker
 * thread and group commit (store.h). The SQL is in store_<concern>.c. */
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

#define SCHEMA_VERSION 4

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
    /* version 3: Retention prunes the oldest points first
     * (an_store_prune_points) */
    "CREATE INDEX IF NOT EXISTS points_time ON points(t)",
    /* version 4: training jobs and models (store_models.c) */
    "CREATE TABLE IF NOT EXISTS train_jobs ("
    " id TEXT PRIMARY KEY, algorithm TEXT NOT NULL,"
    " hyperparameters TEXT NOT NULL, range_start REAL NOT NULL,"
    " range_end REAL NOT NULL, scope_source TEXT, scope_metric TEXT,"
    " status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0,"
    " series_total INTEGER NOT NULL DEFAULT 0,"
    " series_done INTEGER NOT NULL DEFAULT 0,"
    " series_skipped INTEGER NOT NULL DEFAULT 0, model_id TEXT, error TEXT,"
    " scheduled INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,"
    " started_at REAL, finished_at REAL)",
    "CREATE INDEX IF NOT EXISTS train_jobs_time"
    " ON train_jobs(created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS train_jobs_status ON train_jobs(status)",
    "CREATE TABLE IF NOT EXISTS models ("
    " id TEXT PRIMARY KEY, algorithm TEXT NOT NULL, scope_source TEXT,"
    " scope_metric TEXT, version INTEGER NOT NULL,"
    " range_start REAL NOT NULL, range_end REAL NOT NULL,"
    " series INTEGER NOT NULL, skipped INTEGER NOT NULL,"
    " points INTEGER NOT NULL, blob BLOB NOT NULL,"
    " active INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,"
    " metrics TEXT, job_id TEXT)",
    "CREATE INDEX IF NOT EXISTS models_time ON models(created_at DESC, id "
    "DESC)",
    /* one active model per algorithm and scope */
    "CREATE UNIQUE INDEX IF NOT EXISTS models_active ON models(algorithm,"
    " ifnull(scope_source, ''), ifnull(scope_metric, '')) WHERE active = 1",
    /* the last version given per algorithm and scope ('' for every), so
     * that a deleted model's version is never given again */
    "CREATE TABLE IF NOT EXISTS model_versions ("
    " algorithm TEXT NOT NULL, scope_source TEXT NOT NULL,"
    " scope_metric TEXT NOT NULL, last INTEGER NOT NULL,"
    " PRIMARY KEY (algorithm, scope_source, scope_metric))",
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

/* The worker holds the write lock for one group commit, the delivery
 * thread for one delivery's result: either may wait that long. */
#define BUSY_TIMEOUT_MS 10000

sqlite3 *an_store_connect(const char *data_dir, int flags, char *err,
                          size_t errlen) {
  char path[4096];
  sqlite3 *db = NULL;
  snprintf(path, sizeof(path), "%s/anomalyd.db", data_dir);
  if (sqlite3_open_v2(
          path, &db,
          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
          flags & AN_STORE_CONNECT_WORKER ? an_walbuf_vfs() : NULL) !=
      SQLITE_OK) {
    snprintf(err, errlen, "%s: %s", path,
             db != NULL ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
  /* WAL: readers never block the writer; FULL: a commit is on disk (and
   * walbuf.c, which writes the frames at the sync, needs that sync). */
  if (an_sql_exec(db, "PRAGMA journal_mode=WAL") != 0 ||
      an_sql_exec(db, "PRAGMA synchronous=FULL") != 0) {
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

int an_store_open(an_daemon_t *d, an_store_t **out, char *err, size_t errlen) {
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
  s->db = an_store_connect(d->config->data_dir, AN_STORE_CONNECT_WORKER, err,
                           errlen);
  if (s->db == NULL || migrate(s->db, err, errlen) != 0)
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

int an_store_transaction(sqlite3 *db, an_store_fn fn, void *arg) {
  if (an_sql_exec(db, "BEGIN IMMEDIATE") != 0)
    return EIO;
  int rc = fn(db, arg);
  if (rc == 0 && an_sql_exec(db, "COMMIT") == 0)
    return 0;
  an_sql_exec(db, "ROLLBACK");
  return rc != 0 ? rc : EIO;
}

int an_store_run_now(an_store_t *s, an_store_fn fn, void *arg) {
  return an_store_transaction(s->db, fn, arg);
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
