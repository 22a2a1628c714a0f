/* The engine (engine.c) on a real store in a scratch directory: pushed
 * points scored per source and metric, the last point kept for resends,
 * the per-source series limit, and the state checkpointed at close and
 * restored (with the points stored after it replayed) at the next open,
 * exactly as a run that never stopped would have it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "engine.h"
#include "metrics.h"
#include "series.h"
#include "store/store.h"
#include "store/store_series.h"
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000.0 /* a point every 10 s from here */

static char dir[64];
static an_config_t *config;
static an_daemon_t d;

/* The store and the engine, as anomalyd starts them. */
static void open_engine(void) {
  char err[256];
  assert_int_equal(an_store_open(&d, &d.store, err, sizeof(err)), 0);
  assert_int_equal(an_engine_open(&d, &d.engine, err, sizeof(err)), 0);
}

/* And stops them, in anomalyd's order: the engine's last checkpoint is
 * written after the store's worker stopped. */
static void close_engine(void) {
  an_store_stop(d.store);
  an_engine_close(d.engine);
  an_store_close(d.store);
  d.engine = NULL;
  d.store = NULL;
}

static int setup(void **unused) {
  if (test_tmpdir_create(dir, "test_engine") != 0)
    return -1;
  config = an_config_defaults();
  assert_non_null(config);
  free(config->data_dir);
  config->data_dir = strdup(dir);
  config->sources = calloc(1, sizeof(char *));
  config->sources[0] = strdup("s1");
  config->nsources = 1;
  config->max_series_per_source = 3;
  d = (an_daemon_t){.base = event_base_new(),
                    .config = config,
                    .metrics = an_metrics_create()};
  assert_non_null(d.base);
  open_engine();
  return 0;
}

static int teardown(void **unused) {
  close_engine();
  an_metrics_destroy(d.metrics);
  event_base_free(d.base);
  an_config_free(config);
  return test_tmpdir_remove(dir);
}

/* The i-th value of a series: noise around 50. */
static double value_at(int i) {
  test_rng_t rng = {(uint64_t)i + 1};
  return 50 + test_rng_normal(&rng);
}

/* Scores point i of source/metric; returns the engine's status. */
static int score(const char *source, const char *metric, int i, double value,
                 an_engine_answer_t *a) {
  double last = 0;
  *a = (an_engine_answer_t){0};
  snprintf(a->point_id, sizeof(a->point_id), "point-%d", i);
  return an_engine_score(d.engine, source, metric, T0 + 10 * i, value, a,
                         &last);
}

static void score_normal(const char *source, const char *metric, int from,
                         int to) {
  an_engine_answer_t a;
  for (int i = from; i < to; i++)
    assert_int_equal(score(source, metric, i, value_at(i), &a), 0);
}

/* What a detector that saw points 0 … n-1 of value_at() and never
 * stopped answers for point n with value v. */
static an_result_t reference(int n, double v) {
  an_series_table_t *t =
      an_series_table_create(an_detector_find(config->detector));
  assert_non_null(t);
  an_result_t r;
  double last;
  for (int i = 0; i < n; i++)
    assert_int_equal(an_series_table_update_ordered(t, "k", T0 + 10 * i,
                                                    value_at(i), &r, &last),
                     0);
  assert_int_equal(
      an_series_table_update_ordered(t, "k", T0 + 10 * n, v, &r, &last), 0);
  an_series_table_destroy(t);
  return r;
}

static void test_sources(void **unused) {
  assert_true(an_engine_knows_source(d.engine, "s1"));
  assert_false(an_engine_knows_source(d.engine, "s2"));
  assert_int_equal(an_engine_add_source(d.engine, "s2"), 0);
  assert_int_equal(an_engine_add_source(d.engine, "s2"), 0);
  assert_true(an_engine_knows_source(d.engine, "s2"));
  assert_true(an_engine_knows_source(d.engine, "s1"));
}

/* Each source and metric is a series of its own. */
static void test_score_per_series(void **unused) {
  an_engine_answer_t a;
  assert_int_equal(an_engine_add_source(d.engine, "s2"), 0);
  score_normal("s1", "cpu", 0, 200);
  assert_int_equal(score("s1", "cpu", 200, 500, &a), 0);
  an_result_t want = reference(200, 500);
  assert_true(a.result.score == want.score);
  assert_true(a.result.score >= 0.95);
  assert_int_equal(a.result.seen, 201);

  /* the same metric of another source, another metric: new series */
  assert_int_equal(score("s2", "cpu", 200, 500, &a), 0);
  assert_int_equal(a.result.seen, 1);
  assert_int_equal(score("s1", "mem", 200, 500, &a), 0);
  assert_int_equal(a.result.seen, 1);
}

/* The series' last point resent is answered as it was first, ids
 * included, and not learned twice; anything else not after it is
 * refused with the last time. */
static void test_last_point(void **unused) {
  an_engine_answer_t first, again;
  score_normal("s1", "cpu", 0, 10);
  assert_int_equal(score("s1", "cpu", 10, 70, &first), 0);
  snprintf(first.anomaly_id, sizeof(first.anomaly_id), "unused");

  assert_int_equal(score("s1", "cpu", 10, 70, &again), EALREADY);
  assert_string_equal(again.point_id, "point-10");
  assert_true(again.result.score == first.result.score);
  assert_int_equal(again.result.seen, 11);

  double last = 0;
  an_engine_answer_t other = {0};
  assert_int_equal(
      an_engine_score(d.engine, "s1", "cpu", T0 + 100, 71, &other, &last),
      ERANGE);
  assert_true(last == T0 + 100);
  assert_int_equal(
      an_engine_score(d.engine, "s1", "cpu", T0 + 50, 70, &other, &last),
      ERANGE);
  assert_true(last == T0 + 100);

  /* only the last point: an earlier one resent is out of order */
  assert_int_equal(score("s1", "cpu", 11, 50, &again), 0);
  assert_int_equal(score("s1", "cpu", 10, 70, &again), ERANGE);
  assert_int_equal(again.result.seen, 0);
}

/* MaxSeriesPerSource: one series more is refused and nothing is kept. */
static void test_series_limit(void **unused) {
  an_engine_answer_t a;
  assert_int_equal(score("s1", "a", 0, 1, &a), 0);
  assert_int_equal(score("s1", "b", 0, 1, &a), 0);
  assert_int_equal(score("s1", "c", 0, 1, &a), 0);
  assert_int_equal(score("s1", "d", 0, 1, &a), E2BIG);
  assert_int_equal(score("s1", "d", 1, 1, &a), E2BIG);
  assert_int_equal(score("s1", "a", 1, 1, &a), 0);
  assert_int_equal(a.result.seen, 2);

  char metric[AN_SERIES_KEY_MAX + 2];
  memset(metric, 'm', sizeof(metric) - 1);
  metric[sizeof(metric) - 1] = '\0';
  assert_int_equal(score("s1", metric, 0, 1, &a), EINVAL);
}

static int put_points(sqlite3 *db, void *arg) {
  for (int i = 200; i < 210; i++) {
    int rc = an_store_put_point(db, "s1", "cpu", T0 + 10 * i, value_at(i), 0);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* Closed and opened again, the engine goes on as if it never stopped:
 * its checkpoint is restored and the points stored after it replayed. */
static void test_checkpoint_restore(void **unused) {
  an_engine_answer_t a;
  score_normal("s1", "cpu", 0, 200);
  assert_int_equal(an_engine_set_sensitivity(d.engine, "s1", "cpu", 1), 0);
  close_engine();

  char err[256];
  assert_int_equal(an_store_open(&d, &d.store, err, sizeof(err)), 0);
  assert_int_equal(an_store_run_now(d.store, put_points, NULL), 0);
  an_store_close(d.store);
  d.store = NULL;
  open_engine();

  /* the last time is the last point replayed */
  double last = 0;
  a = (an_engine_answer_t){0};
  assert_int_equal(an_engine_score(d.engine, "s1", "cpu", T0 + 2090,
                                   value_at(209), &a, &last),
                   ERANGE);
  assert_true(last == T0 + 2090);

  assert_int_equal(score("s1", "cpu", 210, 500, &a), 0);
  an_result_t want = reference(210, 500);
  assert_true(a.result.score == want.score);
  assert_true(a.result.expected == want.expected);
  assert_true(a.result.score >= 0.95);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sources, setup, teardown),
      cmocka_unit_test_setup_teardown(test_score_per_series, setup, teardown),
      cmocka_unit_test_setup_teardown(test_last_point, setup, teardown),
      cmocka_unit_test_setup_teardown(test_series_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoint_restore, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
