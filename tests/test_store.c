/* The store on a database in a temporary directory, through its public
 * functions: anomalies stored and read back with filters, group commit
 * with a failing job rolled back to its savepoint, nothing lost across a
 * close and reopen, old points pruned in chunks without what a restart
 * replays, the outbox's cycle on the delivery thread's own
 * connection, and failures that answer an error rather than crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "metrics.h"
#include "store/store.h"
#include "store/store_anomalies.h"
#include "store/store_models.h"
#include "store/store_outbox.h"
#include "store/store_series.h"
#include "store/store_tuning.h"

#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends to the string in the array buf. */
#define APPEND(buf, ...) append(buf, sizeof(buf), __VA_ARGS__)
static void append(char *buf, size_t size, const char *format, ...) {
  va_list ap;
  size_t n = strlen(buf);
  va_start(ap, format);
  vsnprintf(buf + n, size - n, format, ap);
  va_end(ap);
}

typedef struct fixture {
  char dir[64];
  an_config_t *config;
  an_daemon_t d;
  an_store_t *s;
} fixture_t;

static int set_up(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
  if (mkdtemp(f->dir) == NULL || (f->config = an_config_defaults()) == NULL)
    return -1;
  free(f->config->data_dir);
  f->config->data_dir = strdup(f->dir);
  f->d.config = f->config;
  f->d.base = event_base_new();
  f->d.metrics = an_metrics_create();
  *state = f;
  return f->config->data_dir != NULL && f->d.base != NULL &&
                 f->d.metrics != NULL
             ? 0
             : -1;
}

static int tear_down(void **state) {
  fixture_t *f = *state;
  char cmd[128];
  an_store_close(f->s);
  an_metrics_destroy(f->d.metrics);
  event_base_free(f->d.base);
  an_config_free(f->config);
  snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

static void open_store(fixture_t *f) {
  char err[512] = "";
  int rc = an_store_open(&f->d, &f->s, err, sizeof(err));
  if (rc != 0)
    fail_msg("an_store_open: %s", err);
}

/* ---- anomalies ---- */

static an_anomaly_t anomaly(const char *id, const char *source,
                            const char *metric, double t, double score,
                            int severity) {
  an_anomaly_t a = {.value = 42,
                    .expected = 12,
                    .score = score,
                    .severity = severity,
                    .status = AN_STATUS_DETECTED,
                    .detected_at = t,
                    .p_value = NAN,
                    .ncd = NAN,
                    .created_at = t + 1};
  snprintf(a.id, sizeof(a.id), "%s", id);
  a.source = (char *)source;
  a.metric = (char *)metric;
  a.explanation = "above its normal";
  a.kind = "spike";
  return a;
}

static int put_three(sqlite3 *db, void *arg) {
  an_anomaly_t a[] = {anomaly("a1", "web-1", "cpu", 100, 0.9, 3),
                      anomaly("a2", "web-1", "mem", 200, 0.6, 1),
                      anomaly("a3", "db-1", "cpu", 300, 0.99, 4)};
  int *inserted = arg;
  *inserted = 0;
  for (size_t i = 0; i < 3; i++) {
    int one, rc = an_store_put_anomaly(db, &a[i], &one);
    if (rc != 0)
      return rc;
    *inserted += one;
  }
  return 0;
}

static an_filter_t any(void) {
  return (an_filter_t){.start = NAN,
                       .end = NAN,
                       .min_score = NAN,
                       .min_ncd = NAN,
                       .max_p_value = NAN,
                       .has_evidence = -1,
                       .limit = 100};
}

typedef struct listing {
  an_filter_t filter;
  an_anomaly_t *rows;
  size_t n;
  long long total;
} listing_t;

static int run_list(sqlite3 *db, void *arg) {
  listing_t *l = arg;
  return an_store_list_anomalies(db, &l->filter, &l->rows, &l->n, &l->total);
}

static void listing_clear(listing_t *l) {
  for (size_t i = 0; i < l->n; i++)
    an_anomaly_clear(&l->rows[i]);
  free(l->rows);
  l->rows = NULL;
  l->n = 0;
}

/* Lists with filter and returns the ids, newest first, joined by ",". */
static const char *ids_of(fixture_t *f, an_filter_t filter, long long *total) {
  static char ids[256];
  listing_t l = {.filter = filter};
  assert_int_equal(an_store_run_now(f->s, run_list, &l), 0);
  ids[0] = '\0';
  for (size_t i = 0; i < l.n; i++)
    APPEND(ids, "%s%s", i ? "," : "", l.rows[i].id);
  *total = l.total;
  listing_clear(&l);
  return ids;
}

typedef struct lookup {
  const char *id;
  an_anomaly_t a;
} lookup_t;

static int run_get(sqlite3 *db, void *arg) {
  lookup_t *l = arg;
  return an_store_get_anomaly(db, l->id, &l->a);
}

static void test_anomalies_filters(void **state) {
  fixture_t *f = *state;
  long long total;
  int inserted;
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, put_three, &inserted), 0);
  assert_int_equal(inserted, 3);
  /* a resent batch is stored once */
  assert_int_equal(an_store_run_now(f->s, put_three, &inserted), 0);
  assert_int_equal(inserted, 0);

  an_filter_t filter = any();
  assert_string_equal(ids_of(f, filter, &total), "a3,a2,a1");
  assert_int_equal(total, 3);
  filter.source = "web-1";
  assert_string_equal(ids_of(f, filter, &total), "a2,a1");
  filter = any();
  filter.severities = 1u << 3 | 1u << 4;
  assert_string_equal(ids_of(f, filter, &total), "a3,a1");
  filter = any();
  filter.min_score = 0.95;
  assert_string_equal(ids_of(f, filter, &total), "a3");
  filter = any();
  filter.start = 150;
  filter.end = 300;
  assert_string_equal(ids_of(f, filter, &total), "a3,a2");
  filter = any();
  filter.has_evidence = 1;
  assert_string_equal(ids_of(f, filter, &total), "");
  assert_int_equal(total, 0);
  filter.has_evidence = 0;
  filter.statuses = 1u << AN_STATUS_DETECTED;
  assert_string_equal(ids_of(f, filter, &total), "a3,a2,a1");
  /* a page of one, then the page after it */
  filter = any();
  filter.limit = 1;
  assert_string_equal(ids_of(f, filter, &total), "a3");
  assert_int_equal(total, 3);
  filter.after_t = 300;
  filter.after_id = "a3";
  assert_string_equal(ids_of(f, filter, &total), "a2");

  lookup_t l = {.id = "a3"};
  assert_int_equal(an_store_run_now(f->s, run_get, &l), 0);
  assert_string_equal(l.a.id, "a3");
  assert_string_equal(l.a.source, "db-1");
  assert_string_equal(l.a.kind, "spike");
  assert_true(isnan(l.a.p_value));
  assert_null(l.a.feedback_type);
  an_anomaly_clear(&l.a);
  l.id = "nope";
  assert_int_equal(an_store_run_now(f->s, run_get, &l), ENOENT);
  an_anomaly_clear(&l.a);
}

static int run_acknowledge(sqlite3 *db, void *arg) {
  int rc = an_store_set_status(db, arg, AN_STATUS_ACKNOWLEDGED);
  return rc != 0 ? rc
                 : an_store_set_feedback(db, arg, "confirmed", "real", 500);
}

static void test_anomaly_status_and_feedback(void **state) {
  fixture_t *f = *state;
  long long total;
  int inserted;
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, put_three, &inserted), 0);
  assert_int_equal(an_store_run_now(f->s, run_acknowledge, "a2"), 0);
  assert_int_equal(an_store_run_now(f->s, run_acknowledge, "nope"), ENOENT);
  an_filter_t filter = any();
  filter.statuses = 1u << AN_STATUS_ACKNOWLEDGED;
  assert_string_equal(ids_of(f, filter, &total), "a2");
  lookup_t l = {.id = "a2"};
  assert_int_equal(an_store_run_now(f->s, run_get, &l), 0);
  assert_int_equal(l.a.status, AN_STATUS_ACKNOWLEDGED);
  assert_string_equal(l.a.feedback_type, "confirmed");
  assert_string_equal(l.a.feedback_reason, "real");
  assert_true(l.a.feedback_at == 500);
  an_anomaly_clear(&l.a);
}

/* ---- group commit ---- */

typedef struct job {
  const char *id;
  int fail; /* the errno it returns after its write */
  int runs;
  int rc; /* what done was told; -1 until then */
  int *done;
} job_t;

static int put_one(sqlite3 *db, void *arg) {
  job_t *j = arg;
  an_anomaly_t a = anomaly(j->id, "web-1", "cpu", 100, 0.9, 3);
  int inserted;
  j->runs++;
  int rc = an_store_put_anomaly(db, &a, &inserted);
  return rc != 0 ? rc : j->fail;
}

static void job_done(void *arg, int rc) {
  job_t *j = arg;
  j->rc = rc;
  ++*j->done;
}

static void commits(void *arg) { ++*(int *)arg; }

/* Runs the loop until n jobs are answered (or 10 s have passed). */
static void wait_done(fixture_t *f, const int *done, int n) {
  for (int i = 0; *done < n && i < 1000; i++) {
    struct timeval tick = {0, 10000};
    event_base_loopexit(f->d.base, &tick);
    event_base_dispatch(f->d.base);
  }
  assert_int_equal(*done, n);
}

static int exists(fixture_t *f, const char *id) {
  lookup_t l = {.id = id};
  int rc = an_store_run_now(f->s, run_get, &l);
  an_anomaly_clear(&l.a);
  assert_true(rc == 0 || rc == ENOENT);
  return rc == 0;
}

static void test_group_commit_rolls_back_one_job(void **state) {
  fixture_t *f = *state;
  int done = 0, committed = 0;
  job_t jobs[] = {{.id = "g1", .rc = -1, .done = &done},
                  {.id = "g2", .fail = EINVAL, .rc = -1, .done = &done},
                  {.id = "g3", .rc = -1, .done = &done}};
  open_store(f);
  an_store_on_commit(f->s, commits, &committed);
  /* queued before the worker starts: it takes them as one batch */
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(an_store_submit(f->s, put_one, job_done, &jobs[i]), 0);
  assert_int_equal(an_store_start(f->s), 0);
  wait_done(f, &done, 3);
  assert_int_equal(committed, 1);
  assert_int_equal(jobs[0].rc, 0);
  assert_int_equal(jobs[1].rc, EINVAL);
  assert_int_equal(jobs[2].rc, 0);
  /* run once without savepoints, then again, each in its own */
  assert_int_equal(jobs[0].runs, 2);
  assert_int_equal(an_store_healthy(f->s), 1);
  an_store_stop(f->s);
  assert_true(exists(f, "g1"));
  assert_false(exists(f, "g2"));
  assert_true(exists(f, "g3"));
  /* after the stop, work is refused, not lost silently */
  assert_int_equal(an_store_submit(f->s, put_one, job_done, &jobs[0]),
                   ESHUTDOWN);
}

/* ---- close and reopen ---- */

static int put_series(sqlite3 *db, void *arg) {
  static const unsigned char blob[] = {1, 2, 3, 0, 5};
  (void)arg;
  int rc = an_store_put_point(db, "web-1", "cpu", 10, 1.5, 0.1);
  if (rc == 0)
    rc = an_store_put_point(db, "web-1", "cpu", 20, 2.5, 0.2);
  if (rc == 0)
    rc = an_store_put_state(db, "web-1/cpu", 0.8, 10, blob, sizeof(blob));
  if (rc == 0)
    rc = an_store_put_sensitivity(db, "web-1", "cpu", 0.8, 30);
  if (rc == 0)
    rc = an_store_add_source(db, "db-1", 30);
  return rc;
}

typedef struct seen {
  char text[512];
} seen_t;

static int see_source(void *ctx, const char *source) {
  seen_t *s = ctx;
  APPEND(s->text, "source %s;", source);
  return 0;
}

static int see_state(void *ctx, const char *key, double sensitivity,
                     double last_t, const void *blob, size_t len) {
  seen_t *s = ctx;
  const unsigned char *b = blob;
  APPEND(s->text, "state %s %.2f %.0f %zu %d;", key, sensitivity, last_t, len,
         b[4]);
  return 0;
}

static int see_point(void *ctx, const char *source, const char *metric,
                     double t, double value) {
  seen_t *s = ctx;
  APPEND(s->text, "point %s %s %.0f %.1f;", source, metric, t, value);
  return 0;
}

static int see_tuning(void *ctx, const char *source, const char *metric,
                      double sensitivity, double at) {
  seen_t *s = ctx;
  APPEND(s->text, "tuning %s %s %.2f %.0f;", source, metric, sensitivity, at);
  return 0;
}

static int read_all(sqlite3 *db, void *arg) {
  int rc = an_store_each_source(db, see_source, arg);
  if (rc == 0)
    rc = an_store_each_state(db, see_state, arg);
  if (rc == 0)
    rc = an_store_each_point_after_state(db, see_point, arg);
  if (rc == 0)
    rc = an_store_each_tuning(db, see_tuning, arg);
  return rc;
}

static int get_sensitivity(sqlite3 *db, void *arg) {
  return an_store_get_sensitivity(db, "web-1", "cpu", arg);
}

static void test_reopen_loses_nothing(void **state) {
  fixture_t *f = *state;
  int done = 0;
  long long total;
  job_t jobs[] = {{.id = "r1", .rc = -1, .done = &done},
                  {.id = "r2", .rc = -1, .done = &done}};
  seen_t seen = {""};
  open_store(f);
  assert_int_equal(an_store_start(f->s), 0);
  for (size_t i = 0; i < 2; i++)
    assert_int_equal(an_store_submit(f->s, put_one, job_done, &jobs[i]), 0);
  wait_done(f, &done, 2);
  an_store_stop(f->s);
  assert_int_equal(an_store_run_now(f->s, put_series, NULL), 0);
  an_store_close(f->s);
  f->s = NULL;

  open_store(f);
  assert_string_equal(ids_of(f, any(), &total), "r2,r1");
  assert_int_equal(an_store_run_now(f->s, read_all, &seen), 0);
  /* the point at the checkpoint's time is in it: only the later one
   * is scored again */
  assert_non_null(strstr(seen.text, "source web-1;"));
  assert_non_null(strstr(seen.text, "source db-1;"));
  assert_non_null(strstr(seen.text, "state web-1/cpu 0.80 10 5 5;"
                                    "point web-1 cpu 20 2.5;"
                                    "tuning web-1 cpu 0.80 30;"));
  double sensitivity = 0;
  assert_int_equal(an_store_run_now(f->s, get_sensitivity, &sensitivity), 0);
  assert_true(sensitivity == 0.8);
}

/* ---- retention ---- */

/* web-1/cpu: 1..10, checkpoint at 5; web-1/mem: 1..10 and 100..102,
 * checkpoint at 101; db-1/cpu: 1..3, no checkpoint. */
static int put_history(sqlite3 *db, void *arg) {
  (void)arg;
  static const unsigned char blob[8] = {0};
  int rc = 0;
  for (int t = 1; rc == 0 && t <= 10; t++) {
    rc = an_store_put_point(db, "web-1", "cpu", t, t, 0);
    if (rc == 0)
      rc = an_store_put_point(db, "web-1", "mem", t, t, 0);
    if (rc == 0 && t <= 3)
      rc = an_store_put_point(db, "db-1", "cpu", t, t, 0);
  }
  for (int t = 100; rc == 0 && t <= 102; t++)
    rc = an_store_put_point(db, "web-1", "mem", t, t, 0);
  if (rc == 0)
    rc = an_store_put_state(db, "web-1/cpu", 0.5, 5, blob, sizeof(blob));
  if (rc == 0)
    rc = an_store_put_state(db, "web-1/mem", 0.5, 101, blob, sizeof(blob));
  return rc;
}

static int replayed(sqlite3 *db, void *arg) {
  return an_store_each_point_after_state(db, see_point, arg);
}

typedef struct pruning {
  double before;
  int limit, deleted;
} pruning_t;

static int prune(sqlite3 *db, void *arg) {
  pruning_t *p = arg;
  return an_store_prune_points(db, p->before, p->limit, &p->deleted);
}

static int count_points(sqlite3 *db, void *arg) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM points", -1, &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    *(int *)arg = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? 0 : EIO;
}

static void test_retention_prunes_in_chunks(void **state) {
  fixture_t *f = *state;
  seen_t seen = {""};
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, put_history, NULL), 0);
  /* the replay: each series after its checkpoint, a series without one
   * from its start, series by series in time order */
  assert_int_equal(an_store_run_now(f->s, replayed, &seen), 0);
  assert_string_equal(seen.text, "point db-1 cpu 1 1.0;point db-1 cpu 2 2.0;"
                                 "point db-1 cpu 3 3.0;"
                                 "point web-1 cpu 6 6.0;point web-1 cpu 7 7.0;"
                                 "point web-1 cpu 8 8.0;point web-1 cpu 9 9.0;"
                                 "point web-1 cpu 10 10.0;"
                                 "point web-1 mem 102 102.0;");
  /* everything before 50 but web-1/cpu's 6..10, which its checkpoint
   * needs replayed: 18 points, in chunks of 4 */
  pruning_t p = {.before = 50, .limit = 4};
  int chunks = 0, total = 0;
  do {
    assert_int_equal(an_store_run_now(f->s, prune, &p), 0);
    assert_true(p.deleted <= p.limit);
    total += p.deleted;
    chunks++;
  } while (p.deleted == p.limit);
  assert_int_equal(total, 18);
  assert_int_equal(chunks, 5);
  int left = 0;
  assert_int_equal(an_store_run_now(f->s, count_points, &left), 0);
  assert_int_equal(left, 8); /* web-1/cpu 6..10, web-1/mem 100..102 */
  /* a restart replays the same points as before the pruning */
  memset(seen.text, 0, sizeof(seen.text));
  assert_int_equal(an_store_run_now(f->s, replayed, &seen), 0);
  assert_string_equal(seen.text, "point web-1 cpu 6 6.0;point web-1 cpu 7 7.0;"
                                 "point web-1 cpu 8 8.0;point web-1 cpu 9 9.0;"
                                 "point web-1 cpu 10 10.0;"
                                 "point web-1 mem 102 102.0;");
  /* nothing left to delete: a pass ends at once */
  assert_int_equal(an_store_run_now(f->s, prune, &p), 0);
  assert_int_equal(p.deleted, 0);
}

/* ---- the outbox ---- */

static int queue_two(sqlite3 *db, void *arg) {
  (void)arg;
  int rc =
      an_store_outbox_add(db, "alert-1", "ops", "trigger",
                          "{\"event\":\"trigger\"}", AN_DELIVERY_PENDING, 100);
  if (rc == 0) /* after the trigger: waits for it */
    rc = an_store_outbox_add(db, "alert-1", "ops", "resolve",
                             "{\"event\":\"resolve\"}", AN_DELIVERY_PENDING,
                             100);
  if (rc == 0)
    rc = an_store_outbox_add(db, "alert-1", "quiet", "trigger", "{}",
                             AN_DELIVERY_SILENCED, 100);
  return rc;
}

typedef struct history {
  an_delivery_t *dl;
  size_t n;
  char **channels;
  size_t nchannels;
  char attempts[256];
} history_t;

static int see_attempt(void *ctx, const an_attempt_t *a) {
  history_t *h = ctx;
  APPEND(h->attempts, "%.0f %d %s;", a->at, a->status,
         a->error != NULL ? a->error : "-");
  return 0;
}

static int read_history(sqlite3 *db, void *arg) {
  history_t *h = arg;
  int rc = an_store_alert_deliveries(db, "alert-1", &h->dl, &h->n);
  if (rc == 0)
    rc = an_store_alert_channels(db, "alert-1", &h->channels, &h->nchannels);
  for (size_t i = 0; rc == 0 && i < h->n; i++)
    rc = an_store_each_attempt(db, h->dl[i].id, see_attempt, h);
  return rc;
}

static void history_clear(history_t *h) {
  for (size_t i = 0; i < h->n; i++)
    an_delivery_clear(&h->dl[i]);
  free(h->dl);
  for (size_t i = 0; i < h->nchannels; i++)
    free(h->channels[i]);
  free(h->channels);
}

/* The deliveries due at now on the delivery thread's connection: their
 * events joined by ",", and the id of the first. */
static const char *due(sqlite3 *db, double now, long long *first) {
  static char events[128];
  an_delivery_t *dl = NULL;
  size_t n = 0;
  assert_int_equal(an_store_outbox_due(db, now, 4, &dl, &n), 0);
  events[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    assert_non_null(dl[i].notice);
    APPEND(events, "%s%s", i ? "," : "", dl[i].event);
    if (i == 0)
      *first = dl[i].id;
    an_delivery_clear(&dl[i]);
  }
  free(dl);
  return events;
}

static void test_outbox_cycle(void **state) {
  fixture_t *f = *state;
  char err[512];
  long long id = 0, again = 0, resolve = 0, pending = 0;
  double next_at = 0;
  history_t h = {0};
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, queue_two, NULL), 0);
  sqlite3 *db = an_store_connect(f->dir, 0, err, sizeof(err));
  assert_non_null(db);

  /* claimed: the trigger alone, the resolve waits behind it */
  assert_string_equal(due(db, 100, &id), "trigger");
  assert_int_equal(an_store_outbox_next(db, 100, &next_at, &pending), 0);
  assert_int_equal(pending, 2);
  /* a failed attempt: pending again, due at 160 */
  assert_int_equal(an_store_outbox_result(db, id, AN_DELIVERY_PENDING, 160, 503,
                                          "HTTP 503: busy", 101),
                   0);
  assert_string_equal(due(db, 101, &resolve), "");
  assert_int_equal(an_store_outbox_next(db, 101, &next_at, &pending), 0);
  assert_true(next_at == 160);
  assert_string_equal(due(db, 160, &again), "trigger");
  assert_int_equal(again, id);
  assert_int_equal(
      an_store_outbox_result(db, id, AN_DELIVERY_DELIVERED, 0, 200, NULL, 161),
      0);
  /* now the resolve's turn */
  assert_string_equal(due(db, 161, &resolve), "resolve");
  assert_int_equal(an_store_outbox_result(db, resolve, AN_DELIVERY_DELIVERED, 0,
                                          200, NULL, 162),
                   0);
  assert_string_equal(due(db, 1000, &resolve), "");
  assert_int_equal(an_store_outbox_next(db, 1000, &next_at, &pending), 0);
  assert_int_equal(pending, 0);
  assert_true(isnan(next_at));
  sqlite3_close(db);

  /* the history, as GET /v1/alerts/{id} reads it on the worker */
  assert_int_equal(an_store_run_now(f->s, read_history, &h), 0);
  assert_int_equal(h.n, 3);
  assert_string_equal(an_delivery_state_name(h.dl[0].state), "delivered");
  assert_int_equal(h.dl[0].attempts, 2);
  assert_int_equal(h.dl[0].last_status, 200);
  assert_true(h.dl[0].done_at == 161);
  assert_string_equal(an_delivery_state_name(h.dl[2].state), "silenced");
  assert_int_equal(h.nchannels, 1); /* not the silenced one */
  assert_string_equal(h.channels[0], "ops");
  assert_string_equal(h.attempts,
                      "101 503 HTTP 503: busy;161 200 -;162 200 -;");
  history_clear(&h);
}

/* ---- failures ---- */

static void test_failing_job_keeps_nothing(void **state) {
  fixture_t *f = *state;
  job_t j = {.id = "x1", .fail = EIO};
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, put_one, &j), EIO);
  assert_false(exists(f, "x1"));
}

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void test_damaged_file_is_an_error(void **state) {
  fixture_t *f = *state;
  char path[128], err[512] = "";
  snprintf(path, sizeof(path), "%s/anomalyd.db", f->dir);
  write_file(path, "this is not a database, but it is long enough to look "
                   "like a header of one to anybody who opens it. "
                   "................................................");
  assert_int_equal(an_store_open(&f->d, &f->s, err, sizeof(err)), EIO);
  assert_null(f->s);
  assert_non_null(strstr(err, "not a database"));
  assert_null(an_store_connect(f->dir, 0, err, sizeof(err)));
  assert_non_null(strstr(err, "not a database"));
}

static int set_version(sqlite3 *db, void *arg) {
  (void)arg;
  return sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) ==
                 SQLITE_OK
             ? 0
             : EIO;
}

static void test_newer_schema_is_refused(void **state) {
  fixture_t *f = *state;
  char err[512] = "";
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, set_version, NULL), 0);
  an_store_close(f->s);
  f->s = NULL;
  assert_int_equal(an_store_open(&f->d, &f->s, err, sizeof(err)), EIO);
  assert_non_null(strstr(err, "newer"));
}

static void test_missing_directory_is_an_error(void **state) {
  fixture_t *f = *state;
  char err[512] = "";
  free(f->config->data_dir);
  f->config->data_dir = strdup("/nonexistent/test_store");
  assert_int_equal(an_store_open(&f->d, &f->s, err, sizeof(err)), EIO);
  assert_non_null(strstr(err, "/nonexistent/test_store/anomalyd.db"));
}

/* ---- version 4: training jobs and models ---- */

static int to_version3(sqlite3 *db, void *arg) {
  (void)arg;
  return sqlite3_exec(db,
                      "DROP TABLE train_jobs; DROP TABLE models;"
                      " DROP TABLE model_versions; PRAGMA user_version = 3",
                      NULL, NULL, NULL) == SQLITE_OK
             ? 0
             : EIO;
}

static int put_job(sqlite3 *db, void *arg) {
  an_train_job_t j = {.algorithm = "seasonal",
                      .hyperparameters = "{}",
                      .range_start = 100,
                      .range_end = 200,
                      .scope_metric = "cpu*",
                      .created_at = 300};
  snprintf(j.id, sizeof(j.id), "%s", (const char *)arg);
  return an_store_put_train_job(db, &j);
}

static int get_job(sqlite3 *db, void *arg) {
  an_train_job_t j;
  int rc = an_store_get_train_job(db, arg, &j);
  if (rc == 0 && (j.status != AN_JOB_QUEUED || j.scope_source != NULL ||
                  strcmp(j.scope_metric, "cpu*") != 0 || j.range_end != 200 ||
                  !isnan(j.started_at)))
    rc = EINVAL;
  an_train_job_clear(&j);
  return rc;
}

static void test_version3_database_migrates(void **state) {
  fixture_t *f = *state;
  char err[512] = "";
  int inserted;
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, put_three, &inserted), 0);
  assert_int_equal(an_store_run_now(f->s, to_version3, NULL), 0);
  an_store_close(f->s);
  f->s = NULL;
  assert_int_equal(an_store_open(&f->d, &f->s, err, sizeof(err)), 0);
  assert_true(exists(f, "a1"));
  assert_int_equal(an_store_run_now(f->s, put_job, "job-1"), 0);
  assert_int_equal(an_store_run_now(f->s, get_job, "job-1"), 0);
}

typedef struct models_case {
  an_model_info_t m[3];
  int rc[6];
} models_case_t;

static int put_models(sqlite3 *db, void *arg) {
  models_case_t *c = arg;
  for (int i = 0; i < 3; i++) {
    an_model_info_t *m = &c->m[i];
    snprintf(m->id, sizeof(m->id), "m%d", i);
    m->algorithm = i < 2 ? "seasonal" : "default";
    m->created_at = 10 + i;
    int rc = an_store_put_model(db, m, "blob", 4);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int activate_and_delete(sqlite3 *db, void *arg) {
  models_case_t *c = arg;
  an_model_info_t active;
  c->rc[0] = an_store_activate_model(db, "m0");
  c->rc[1] = an_store_activate_model(db, "m1"); /* m0 stays, inactive */
  c->rc[2] = an_store_delete_model(db, "m1");
  c->rc[3] = an_store_delete_model(db, "m0");
  c->rc[4] = an_store_delete_model(db, "m0");
  c->rc[5] = an_store_get_active_model(db, "seasonal", NULL, NULL, &active);
  int rc = strcmp(active.id, "m1") == 0 && active.size == 4 ? 0 : EINVAL;
  an_model_info_clear(&active);
  return rc;
}

static int put_another(sqlite3 *db, void *arg) {
  models_case_t *c = arg;
  memset(&c->m[0], 0, sizeof(c->m[0]));
  snprintf(c->m[0].id, sizeof(c->m[0].id), "m3");
  c->m[0].algorithm = "seasonal";
  return an_store_put_model(db, &c->m[0], "blob", 4);
}

static void test_model_versions_and_activation(void **state) {
  fixture_t *f = *state;
  models_case_t c = {0};
  open_store(f);
  assert_int_equal(an_store_run_now(f->s, put_models, &c), 0);
  /* per algorithm and scope */
  assert_int_equal(c.m[0].version, 1);
  assert_int_equal(c.m[1].version, 2);
  assert_int_equal(c.m[2].version, 1);
  assert_int_equal(an_store_run_now(f->s, activate_and_delete, &c), 0);
  assert_int_equal(c.rc[0], 0);
  assert_int_equal(c.rc[1], 0);
  assert_int_equal(c.rc[2], EBUSY); /* the active one */
  assert_int_equal(c.rc[3], 0);
  assert_int_equal(c.rc[4], ENOENT);
  assert_int_equal(c.rc[5], 0);
  /* a deleted model's version is not given again */
  assert_int_equal(an_store_run_now(f->s, put_another, &c), 0);
  assert_int_equal(c.m[0].version, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, set_up, tear_down)
      T(test_anomalies_filters),
      T(test_anomaly_status_and_feedback),
      T(test_group_commit_rolls_back_one_job),
      T(test_reopen_loses_nothing),
      T(test_retention_prunes_in_chunks),
      T(test_outbox_cycle),
      T(test_failing_job_keeps_nothing),
      T(test_damaged_file_is_an_error),
      T(test_newer_schema_is_refused),
      T(test_missing_directory_is_an_error),
      T(test_version3_database_migrates),
      T(test_model_versions_and_activation),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
