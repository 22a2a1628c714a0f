/* Training jobs on a real database in a scratch directory, run by the
 * real workers (models/jobs.c) or one at a time (train.c): queued ->
 * running -> succeeded with a model that decodes, a scope that matches
 * nothing failing with that reason, cancellation of a queued and of a
 * running job, a job left running failed at the next start while a
 * queued one runs, and a scheduled model activated when no worse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "conf.h"
#include "metrics.h"
#include "models/algorithm.h"
#include "models/jobs.h"
#include "models/model.h"
#include "models/schedule.h"
#include "models/train.h"
#include "store/store.h"
#include "store/store_models.h"
#include "store/store_series.h"
#include "testutil.h"

#include <errno.h>
#include <event2/event.h>
#include <time.h>

#define T0 1700000000.0
#define STEP 300.0
#define DAYS 3

typedef struct fixture {
  char dir[64];
  an_config_t *config;
  an_daemon_t d;
} fixture_t;

/* Two series of DAYS of a daily cycle from *arg (NULL: T0). */
static int put_points(sqlite3 *db, void *arg) {
  test_rng_t r = {11};
  double from = arg != NULL ? *(double *)arg : T0;
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < DAYS * 288; k++) {
      double t = from + STEP * k;
      double v = 50 + 30 * sin(2 * M_PI * fmod(t, 86400) / 86400) +
                 2 * test_rng_normal(&r);
      int rc = an_store_put_point(db, s ? "web-2" : "web-1", "cpu", t, v, 0);
      if (rc != 0)
        return rc;
    }
  return 0;
}

static void open_store(fixture_t *f) {
  char err[512];
  if (an_store_open(&f->d, &f->d.store, err, sizeof(err)) != 0)
    fail_msg("an_store_open: %s", err);
}

static void close_store(fixture_t *f) {
  an_store_close(f->d.store);
  f->d.store = NULL;
}

static int set_up(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  if (f == NULL || test_tmpdir_create(f->dir, "test_models_jobs") != 0 ||
      (f->config = an_config_defaults()) == NULL)
    return -1;
  free(f->config->data_dir);
  f->config->data_dir = strdup(f->dir);
  f->d.config = f->config;
  f->d.base = event_base_new();
  f->d.metrics = an_metrics_create();
  open_store(f);
  *state = f;
  return an_store_run_now(f->d.store, put_points, NULL) == 0 ? 0 : -1;
}

static int tear_down(void **state) {
  fixture_t *f = *state;
  an_jobs_close(f->d.jobs);
  close_store(f);
  an_metrics_destroy(f->d.metrics);
  event_base_free(f->d.base);
  an_config_free(f->config);
  int rc = test_tmpdir_remove(f->dir);
  free(f);
  return rc;
}

/* ---- jobs and their rows ---- */

typedef struct job_case {
  char id[64]; /* the job read */
  an_train_job_t job;
  an_model_info_t model;
  int rc, status;
} job_case_t;

static int put_row(sqlite3 *db, void *arg) {
  return an_store_put_train_job(db, arg);
}

/* Queues a job (stored; not yet given to the workers). */
static void put_job(fixture_t *f, job_case_t *c, const char *id,
                    const char *algorithm, const char *source, int scheduled) {
  c->job = (an_train_job_t){.algorithm = (char *)algorithm,
                            .hyperparameters = "{}",
                            .range_start = T0,
                            .range_end = T0 + DAYS * 86400,
                            .scope_source = (char *)source,
                            .scheduled = scheduled,
                            .created_at = T0 + 1e6};
  snprintf(c->job.id, sizeof(c->job.id), "%s", id);
  assert_int_equal(an_store_run_now(f->d.store, put_row, &c->job), 0);
  /* the record's strings were the test's: forget them, not free them */
  memset(&c->job, 0, sizeof(c->job));
}

static int read_job(sqlite3 *db, void *arg) {
  job_case_t *c = arg;
  an_train_job_clear(&c->job);
  an_model_info_clear(&c->model);
  int rc = an_store_get_train_job(db, c->id, &c->job);
  if (rc == 0 && c->job.model_id[0] != '\0')
    rc = an_store_get_model(db, c->job.model_id, &c->model);
  return rc;
}

/* The job's row as it is now. */
static void get_job(fixture_t *f, job_case_t *c, const char *id) {
  snprintf(c->id, sizeof(c->id), "%s", id);
  assert_int_equal(an_store_run_now(f->d.store, read_job, c), 0);
}

/* Waits (at most 30 s: valgrind is slow) for job id to end. */
static void wait_done(fixture_t *f, job_case_t *c, const char *id) {
  for (int i = 0; i < 3000; i++) {
    get_job(f, c, id);
    if (c->job.status != AN_JOB_QUEUED && c->job.status != AN_JOB_RUNNING)
      return;
    nanosleep(&(struct timespec){0, 10000000}, NULL);
  }
  fail_msg("job %s still %s", id, an_job_status_name(c->job.status));
}

static void clear(job_case_t *c) {
  an_train_job_clear(&c->job);
  an_model_info_clear(&c->model);
}

/* Runs job id on the calling thread with the stop flag given. */
static int run_here(fixture_t *f, const char *id, int stop_value) {
  char err[512];
  atomic_int stop = stop_value;
  sqlite3 *db = an_store_connect(f->dir, 0, err, sizeof(err));
  assert_non_null(db);
  int rc = an_train_job_run(db, f->config, id, &stop);
  sqlite3_close(db);
  return rc;
}

static int get_blob(sqlite3 *db, void *arg) {
  job_case_t *c = arg;
  void *blob;
  size_t len;
  an_model_t *m;
  char err[200];
  int rc = an_store_get_model_blob(db, c->job.model_id, &blob, &len);
  if (rc == 0) {
    rc = an_model_decode(blob, len, &m, err, sizeof(err));
    c->rc = rc == 0 ? (int)m->n : -1;
    an_model_free(m);
    free(blob);
  }
  return rc;
}

static void test_job_runs_to_success(void **state) {
  fixture_t *f = *state;
  job_case_t c = {0};
  char err[512];
  /* an RRDDir collectd has not made yet costs nothing pushed */
  f->config->rrd_dir = strdup("/nonexistent/rrd");
  put_job(f, &c, "job-1", "seasonal", NULL, 0);
  assert_int_equal(an_jobs_open(&f->d, &f->d.jobs, err, sizeof(err)), 0);
  wait_done(f, &c, "job-1"); /* queued at start: run */
  assert_string_equal(an_job_status_name(c.job.status), "succeeded");
  assert_true(c.job.progress == 1);
  assert_int_equal(c.job.series_total, 2);
  assert_int_equal(c.job.series_done, 2);
  assert_false(isnan(c.job.started_at) || isnan(c.job.finished_at));
  assert_null(c.job.error);
  assert_string_equal(c.model.algorithm, "seasonal");
  assert_int_equal(c.model.version, 1);
  assert_int_equal(c.model.series, 2);
  assert_int_equal(c.model.points, 2 * DAYS * 288);
  assert_false(c.model.active); /* not scheduled: activated by hand */
  assert_string_equal(c.model.job_id, "job-1");
  assert_non_null(c.model.metrics);
  assert_int_equal(an_store_run_now(f->d.store, get_blob, &c), 0);
  assert_int_equal(c.rc, 2);
  /* given to the workers as the API does */
  clear(&c);
  put_job(f, &c, "job-2", "default", "web-2", 0);
  assert_int_equal(an_jobs_queue(f->d.jobs, "job-2"), 0);
  wait_done(f, &c, "job-2");
  assert_string_equal(an_job_status_name(c.job.status), "succeeded");
  assert_int_equal(c.model.series, 1);
  clear(&c);
}

static void test_scope_matching_nothing_fails(void **state) {
  fixture_t *f = *state;
  job_case_t c = {0};
  put_job(f, &c, "job-n", "default", "db-*", 0);
  assert_int_equal(run_here(f, "job-n", 0), 0);
  get_job(f, &c, "job-n");
  assert_string_equal(an_job_status_name(c.job.status), "failed");
  assert_string_equal(c.job.error,
                      "no series matches the scope (sourceId db-*, metric "
                      "any)");
  assert_string_equal(c.job.model_id, "");
  clear(&c);
}

static int cancel(sqlite3 *db, void *arg) {
  job_case_t *c = arg;
  c->rc = an_store_cancel_train_job(db, c->id, T0 + 2e6, &c->status);
  return 0;
}

static void test_cancel(void **state) {
  fixture_t *f = *state;
  job_case_t c = {0};
  /* queued: cancelled at once, and no worker takes it after */
  put_job(f, &c, "job-q", "default", NULL, 0);
  snprintf(c.id, sizeof(c.id), "job-q");
  assert_int_equal(an_store_run_now(f->d.store, cancel, &c), 0);
  assert_int_equal(c.rc, 0);
  assert_int_equal(c.status, AN_JOB_QUEUED);
  assert_int_equal(run_here(f, "job-q", 0), EALREADY);
  get_job(f, &c, "job-q");
  assert_string_equal(an_job_status_name(c.job.status), "cancelled");
  assert_true(c.job.finished_at == T0 + 2e6);
  /* running: its flag stops it at the next series, cancelled */
  clear(&c);
  put_job(f, &c, "job-r", "default", NULL, 0);
  assert_int_equal(run_here(f, "job-r", AN_TRAIN_CANCEL), 0);
  get_job(f, &c, "job-r");
  assert_string_equal(an_job_status_name(c.job.status), "cancelled");
  assert_string_equal(c.job.model_id, "");
  /* finished: nothing moves */
  assert_int_equal(an_store_run_now(f->d.store, cancel, &c), 0);
  assert_int_equal(c.status, AN_JOB_CANCELLED);
  get_job(f, &c, "job-r");
  assert_string_equal(an_job_status_name(c.job.status), "cancelled");
  /* shut down before it started: still queued, for the next start */
  clear(&c);
  put_job(f, &c, "job-s", "default", NULL, 0);
  assert_int_equal(run_here(f, "job-s", AN_TRAIN_SHUTDOWN), 0);
  get_job(f, &c, "job-s");
  assert_string_equal(an_job_status_name(c.job.status), "queued");
  clear(&c);
}

static int claim(sqlite3 *db, void *arg) {
  return an_store_claim_train_job(db, arg, T0 + 3e6);
}

static void test_interrupted_by_restart(void **state) {
  fixture_t *f = *state;
  job_case_t c = {0};
  char err[512];
  put_job(f, &c, "job-a", "default", NULL, 0);
  assert_int_equal(an_store_run_now(f->d.store, claim, "job-a"), 0);
  clear(&c);
  put_job(f, &c, "job-b", "default", NULL, 0);
  /* the daemon died here: job-a running, job-b queued */
  close_store(f);
  open_store(f);
  assert_int_equal(an_jobs_open(&f->d, &f->d.jobs, err, sizeof(err)), 0);
  get_job(f, &c, "job-a");
  assert_string_equal(an_job_status_name(c.job.status), "failed");
  assert_string_equal(c.job.error, "interrupted by restart");
  assert_false(isnan(c.job.finished_at));
  wait_done(f, &c, "job-b");
  assert_string_equal(an_job_status_name(c.job.status), "succeeded");
  clear(&c);
}

static void test_scheduled_model_activated_when_no_worse(void **state) {
  fixture_t *f = *state;
  job_case_t c = {0}, first = {0};
  put_job(f, &first, "job-1", "seasonal", NULL, 1);
  assert_int_equal(run_here(f, "job-1", 0), 0);
  get_job(f, &first, "job-1");
  assert_true(first.model.active); /* there was none */
  /* the same data again: the same f1, so no worse */
  put_job(f, &c, "job-2", "seasonal", NULL, 1);
  assert_int_equal(run_here(f, "job-2", 0), 0);
  get_job(f, &c, "job-2");
  assert_true(c.model.active);
  assert_int_equal(c.model.version, 2);
  get_job(f, &first, "job-1");
  assert_false(first.model.active); /* kept, inactive */
  /* with AutoActivate false, the active one stays */
  f->config->auto_activate = 0;
  clear(&c);
  put_job(f, &c, "job-3", "seasonal", NULL, 1);
  assert_int_equal(run_here(f, "job-3", 0), 0);
  get_job(f, &c, "job-3");
  assert_false(c.model.active);
  clear(&c);
  clear(&first);
}

/* The scheduled job, as the timers queue it: seasonal over everything,
 * once while none is pending, then trained and activated. */
static long long count_rows(const char *dir, const char *sql) {
  char err[512];
  sqlite3 *db = an_store_connect(dir, 0, err, sizeof(err));
  sqlite3_stmt *st;
  long long n = -1;
  assert_non_null(db);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* A turn of the loop (the store's answers), then 10 ms. */
static void turn(fixture_t *f) {
  event_base_loop(f->d.base, EVLOOP_NONBLOCK);
  nanosleep(&(struct timespec){0, 10000000}, NULL);
}

static void test_schedule_queues_one_job(void **state) {
  fixture_t *f = *state;
  an_schedule_t *s;
  char err[512];
  /* the scheduled job trains on the last week, as the clock sees it */
  double recent = floor(an_clock_wall() / STEP) * STEP - DAYS * 86400;
  assert_int_equal(an_store_run_now(f->d.store, put_points, &recent), 0);
  assert_int_equal(an_jobs_open(&f->d, &f->d.jobs, err, sizeof(err)), 0);
  assert_int_equal(an_store_start(f->d.store), 0);
  assert_int_equal(an_schedule_open(&f->d, &s), 0);
  assert_non_null(s);
  an_schedule_tick(s, 1);
  an_schedule_tick(s, 0); /* while the first is pending: nothing */
  const char *active = "SELECT count(*) FROM models m JOIN train_jobs j"
                       " ON j.model_id = m.id WHERE j.scheduled = 1"
                       " AND j.algorithm = 'seasonal' AND m.active = 1"
                       " AND j.scope_source IS NULL";
  for (int i = 0; i < 3000 && count_rows(f->dir, active) != 1; i++)
    turn(f);
  assert_int_equal(count_rows(f->dir, active), 1);
  assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM train_jobs"), 1);
  /* a model exists: the first tick queues nothing */
  an_schedule_tick(s, 1);
  for (int i = 0; i < 20; i++)
    turn(f);
  assert_int_equal(count_rows(f->dir, "SELECT count(*) FROM train_jobs"), 1);
  an_schedule_close(s);
  an_jobs_close(f->d.jobs);
  f->d.jobs = NULL;
  an_store_stop(f->d.store);
  f->config->train_interval = 0;
  assert_int_equal(an_schedule_open(&f->d, &s), 0);
  assert_null(s); /* TrainInterval 0: no timers */
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, set_up, tear_down)
      T(test_job_runs_to_success),
      T(test_scope_matching_nothing_fails),
      T(test_cancel),
      T(test_interrupted_by_restart),
      T(test_scheduled_model_activated_when_no_worse),
      T(test_schedule_queues_one_job),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
