/* Training without a database: hyperparameters validated as each
 * algorithm declares them, scopes matched, the default and seasonal
 * algorithms over series made here (a daily cycle with noise), their
 * progress, cancellation and skipped series, and the metrics: counts and
 * AUC on known scores, synthetic anomalies injected the same every time,
 * labelled anomalies scored as the detector saw them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json.h"
#include "models/algorithm.h"
#include "models/evaluate.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>

/* ---- hyperparameters ---- */

static yajl_val parse(const char *text) {
  char err[200];
  yajl_val v = an_json_parse(text, strlen(text), err, sizeof(err));
  if (v == NULL)
    fail_msg("%s: %s", text, err);
  return v;
}

/* err for hyperparameters text under a, "" when they are valid. */
static const char *check_params(const an_algorithm_t *a, const char *text,
                                double *values) {
  static char err[300];
  yajl_val v = parse(text);
  err[0] = '\0';
  int rc = an_algorithm_params(a, v, values, err, sizeof(err));
  assert_int_equal(rc, err[0] != '\0' ? EINVAL : 0);
  yajl_tree_free(v);
  return err;
}

static void test_registered_algorithms_take_no_hyperparameters(void **unused) {
  double values[AN_ALGORITHM_MAX_PARAMS];
  const an_algorithm_t *s = an_algorithm_find("seasonal");
  assert_non_null(s);
  assert_non_null(an_algorithm_find("default"));
  assert_null(an_algorithm_find("isolation_forest")); /* not yet */
  assert_null(an_algorithm_find("Seasonal"));
  assert_string_equal(check_params(s, "{}", values), "");
  assert_int_equal(an_algorithm_params(s, NULL, values, NULL, 0), 0);
  assert_string_equal(check_params(s, "{\"sensitivity\": 2}", values),
                      "hyperparameters.sensitivity: seasonal has no such "
                      "hyperparameter (it takes none)");
  assert_string_equal(check_params(s, "[]", values),
                      "hyperparameters must be an object");
  for (size_t i = 0; an_algorithm_at(i) != NULL; i++)
    assert_int_equal(an_algorithm_at(i)->nparams, 0);
}

/* An algorithm as isolation_forest will declare its own. */
static const an_param_t forest_params[] = {
    {"n_estimators", AN_PARAM_INTEGER, 1, 1000, 100},
    {"contamination", AN_PARAM_NUMBER, 0, 0.5, 0.01},
    {"bootstrap", AN_PARAM_BOOLEAN, 0, 1, 0},
};
static const an_algorithm_t forest = {"forest", "test", forest_params, 3, NULL};

static void test_declared_hyperparameters_are_checked(void **unused) {
  double v[AN_ALGORITHM_MAX_PARAMS];
  assert_string_equal(check_params(&forest, "{}", v), "");
  assert_true(v[0] == 100 && v[1] == 0.01 && v[2] == 0);
  assert_string_equal(
      check_params(&forest,
                   "{\"contamination\": 0.1, \"n_estimators\": 50,"
                   " \"bootstrap\": true}",
                   v),
      "");
  assert_true(v[0] == 50 && v[1] == 0.1 && v[2] == 1);
  assert_string_equal(check_params(&forest, "{\"n_estimators\": 2.5}", v),
                      "hyperparameters.n_estimators must be a whole number "
                      "from 1 to 1000");
  assert_string_equal(check_params(&forest, "{\"n_estimators\": \"10\"}", v),
                      "hyperparameters.n_estimators must be a whole number "
                      "from 1 to 1000");
  assert_string_equal(check_params(&forest, "{\"contamination\": 0.9}", v),
                      "hyperparameters.contamination must be a number from "
                      "0 to 0.5");
  assert_string_equal(check_params(&forest, "{\"bootstrap\": 1}", v),
                      "hyperparameters.bootstrap must be true or false");
  assert_string_equal(check_params(&forest, "{\"trees\": 1}", v),
                      "hyperparameters.trees: forest has no such "
                      "hyperparameter (it takes n_estimators, contamination "
                      "or bootstrap)");
  an_jw_t w;
  an_jw_init(&w);
  check_params(&forest, "{\"n_estimators\": 7}", v);
  an_algorithm_write_params(&w, &forest, v);
  char *text = an_jw_take(&w);
  assert_string_equal(text, "{\"n_estimators\":7,\"contamination\":0.01,"
                            "\"bootstrap\":false}");
  free(text);
}

/* ---- scopes ---- */

static void test_scope_globs(void **unused) {
  assert_true(an_history_in_scope(NULL, NULL, "web-1", "cpu-0/cpu-user"));
  assert_true(an_history_in_scope("web-1", NULL, "web-1", "x"));
  assert_false(an_history_in_scope("web-1", NULL, "web-12", "x"));
  assert_true(an_history_in_scope("web-*", NULL, "web-12", "x"));
  assert_false(an_history_in_scope("web-*", NULL, "db-1", "x"));
  assert_true(an_history_in_scope(NULL, "cpu-*", "h", "cpu-0/cpu-user"));
  /* exact means exact: no plugin-prefix match as alert rules have */
  assert_false(an_history_in_scope(NULL, "cpu", "h", "cpu-0/cpu-user"));
  assert_true(an_history_in_scope(NULL, "*/if_octets/*", "h",
                                  "interface-eth0/if_octets/rx"));
  assert_true(an_history_in_scope("*", "*", "a", "b"));
  assert_false(an_history_in_scope("db-?", "mem", "db-1", "cpu"));
}

/* ---- metrics ---- */

static void test_counts_and_auc(void **unused) {
  an_eval_acc_t *a = an_eval_acc_new(0.7);
  an_eval_t e;
  an_eval_acc_result(a, &e); /* nothing labelled: nothing computable */
  assert_true(isnan(e.precision) && isnan(e.recall) && isnan(e.f1) &&
              isnan(e.auc));
  /* positives 0.9, 0.8, 0.2; negatives 0.75, 0.1, 0.1, 0.2 */
  an_eval_acc_add(a, 0.9, 1);
  an_eval_acc_add(a, 0.8, 1);
  an_eval_acc_add(a, 0.2, 1);
  an_eval_acc_add(a, 0.75, 0);
  an_eval_acc_add(a, 0.1, 0);
  an_eval_acc_add(a, 0.1, 0);
  an_eval_acc_add(a, 0.2, 0);
  an_eval_acc_result(a, &e);
  assert_int_equal(e.positives, 3);
  assert_int_equal(e.negatives, 4);
  assert_float_equal(e.precision, 2.0 / 3, 1e-12);
  assert_float_equal(e.recall, 2.0 / 3, 1e-12);
  assert_float_equal(e.f1, 2.0 / 3, 1e-12);
  /* pairs a positive wins: 0.9: 4, 0.8: 4, 0.2: 2 and a tie: 10.5 / 12 */
  assert_float_equal(e.auc, 10.5 / 12, 1e-12);
  an_eval_acc_free(a);
  /* only negatives: no recall, no AUC; nothing predicted: no precision */
  a = an_eval_acc_new(0.7);
  an_eval_acc_add(a, 0.1, 0);
  an_eval_acc_result(a, &e);
  assert_true(isnan(e.precision) && isnan(e.recall) && isnan(e.f1) &&
              isnan(e.auc));
  an_eval_acc_free(a);
}

static void test_injection_is_seeded(void **unused) {
  double a[500], b[500];
  unsigned char la[500], lb[500];
  for (int i = 0; i < 500; i++)
    a[i] = b[i] = 10;
  an_eval_inject(a, la, 500, 2, 7);
  an_eval_inject(b, lb, 500, 2, 7);
  assert_memory_equal(a, b, sizeof(a));
  assert_memory_equal(la, lb, sizeof(la));
  int injected = 0;
  for (int i = 0; i < 500; i++) {
    if (la[i]) {
      injected++;
      assert_true(fabs(a[i] - 10) >= 12 && fabs(a[i] - 10) <= 20);
    } else {
      assert_true(a[i] == 10);
    }
  }
  assert_true(injected >= 6); /* one every 40 to 80 values */
  assert_int_equal(an_eval_held_back(99), 0);
  assert_int_equal(an_eval_held_back(1000), 200);
}

/* ---- training over made-up series ---- */

typedef struct made {
  size_t n;
  const char *names[8][2];
  double days[8]; /* of history, at 5 minutes */
  int fetches;
} made_t;

#define T0 1700000000.0
#define STEP 300.0

static void made_name(void *ctx, size_t i, const char **source,
                      const char **metric, const char **type) {
  made_t *m = ctx;
  *source = m->names[i][0];
  *metric = m->names[i][1];
  *type = NULL;
}

/* A daily cycle with seeded noise: the same every time. */
static double value_at(size_t series, double t) {
  test_rng_t r = {(uint64_t)t * 31 + series};
  return 50 + 30 * sin(2 * M_PI * fmod(t, 86400) / 86400) +
         2 * test_rng_normal(&r);
}

static int made_fetch(void *ctx, size_t i, double start, double end,
                      an_history_point_t **points, size_t *n, char *err,
                      size_t errlen) {
  made_t *m = ctx;
  size_t count = (size_t)(m->days[i] * 86400 / STEP);
  m->fetches++;
  *points = count ? malloc(count * sizeof(**points)) : NULL;
  *n = 0;
  for (size_t k = 0; k < count; k++) {
    double t = T0 + STEP * (double)k;
    if (t >= start && t <= end)
      (*points)[(*n)++] = (an_history_point_t){t, value_at(i, t)};
  }
  return 0;
}

typedef struct seen {
  size_t calls, last_done, total, skipped;
  int monotonic;
} seen_t;

static void on_progress(void *ctx, size_t done, size_t total, size_t skipped) {
  seen_t *s = ctx;
  s->monotonic &= done > s->last_done && done <= total;
  s->calls++;
  s->last_done = done;
  s->total = total;
  s->skipped = skipped;
}

static made_t three_series(void) {
  made_t m = {.n = 3,
              .names = {{"web-1", "cpu"}, {"web-2", "cpu"}, {"db-1", "cpu"}},
              .days = {3, 3, 1}};
  return m;
}

static void test_seasonal_trains_series_with_two_days(void **unused) {
  made_t m = three_series();
  an_series_source_t src = {m.n, made_name, made_fetch, &m};
  seen_t seen = {.monotonic = 1};
  atomic_int stop = 0;
  an_train_t t = {.series = &src,
                  .start = T0,
                  .end = T0 + 5 * 86400,
                  .threshold = 0.7,
                  .progress = on_progress,
                  .progress_ctx = &seen,
                  .stop = &stop};
  assert_int_equal(an_algorithm_find("seasonal")->train(&t), 0);
  assert_non_null(t.model);
  assert_int_equal(t.model->n, 2); /* db-1 has one day */
  assert_int_equal(t.skipped, 1);
  assert_string_equal(t.model->series[1].source_id, "web-2");
  assert_int_equal(t.model->series[0].points, 3 * 288);
  assert_int_equal(t.points, 2 * 3 * 288);
  assert_true(t.model->series[0].last_t == T0 + STEP * (3 * 288 - 1));
  /* progress after every series, trained or skipped */
  assert_int_equal(seen.calls, 3);
  assert_true(seen.monotonic);
  assert_int_equal(seen.total, 3);
  assert_int_equal(seen.skipped, 1);
  /* synthetic metrics are numbers; no labels: feedback's are not */
  assert_int_equal(t.metrics.synthetic_series, 2);
  assert_true(t.metrics.synthetic.positives > 0);
  assert_true(t.metrics.synthetic.negatives > t.metrics.synthetic.positives);
  assert_true(t.metrics.synthetic.auc > 0.5 && t.metrics.synthetic.auc <= 1);
  assert_true(t.metrics.synthetic.f1 >= 0 && t.metrics.synthetic.f1 <= 1);
  assert_true(isnan(t.metrics.feedback.f1));
  assert_int_equal(t.metrics.feedback.positives, 0);
  /* the model's state is the detector replayed over the history */
  void *state = malloc(an_detect_default.state_size);
  an_hint_t none;
  an_result_t r;
  an_hint_of_type(NULL, &none);
  an_detect_default.init(state, &none);
  for (size_t k = 0; k < 3 * 288; k++)
    an_detect_default.update(state, T0 + STEP * (double)k,
                             value_at(0, T0 + STEP * (double)k), &r);
  assert_memory_equal(state, t.model->series[0].state,
                      an_detect_default.state_size);
  free(state);
  /* the same input trains the same */
  an_train_t again = t;
  again.model = NULL;
  seen = (seen_t){.monotonic = 1};
  assert_int_equal(an_algorithm_find("seasonal")->train(&again), 0);
  assert_true(again.metrics.synthetic.f1 == t.metrics.synthetic.f1);
  an_model_free(again.model);
  an_model_free(t.model);
}

static void test_nothing_to_train_says_why(void **unused) {
  made_t m = three_series();
  an_series_source_t src = {m.n, made_name, made_fetch, &m};
  an_train_t t = {.series = &src, .start = T0, .end = T0 + 86400};
  assert_int_equal(an_algorithm_find("seasonal")->train(&t), ENODATA);
  assert_null(t.model);
  assert_non_null(strstr(t.err, "no series in scope has 2 days of history"));
  t = (an_train_t){.series = &src, .start = T0 - 9e5, .end = T0 - 8e5};
  assert_int_equal(an_algorithm_find("default")->train(&t), ENODATA);
  assert_string_equal(t.err,
                      "none of the 3 series in scope has values in the range");
  /* default takes a one-day series */
  t = (an_train_t){.series = &src, .start = T0, .end = T0 + 86400};
  assert_int_equal(an_algorithm_find("default")->train(&t), 0);
  assert_int_equal(t.model->n, 3);
  an_model_free(t.model);
}

static void test_cancel_stops_between_series(void **unused) {
  made_t m = three_series();
  an_series_source_t src = {m.n, made_name, made_fetch, &m};
  atomic_int stop = AN_TRAIN_CANCEL;
  an_train_t t = {
      .series = &src, .start = T0, .end = T0 + 5 * 86400, .stop = &stop};
  assert_int_equal(an_algorithm_find("default")->train(&t), ECANCELED);
  assert_null(t.model);
  assert_int_equal(m.fetches, 0);
}

/* Labels: a spike confirmed, the same value where it is normal marked a
 * false positive; scored as the detector saw them, before learning. */
static void test_labelled_anomalies(void **unused) {
  made_t m = three_series();
  an_series_source_t src = {m.n, made_name, made_fetch, &m};
  double t_spike = T0 + 2 * 86400 + 6 * 3600; /* the cycle's top: 80 */
  an_label_t labels[] = {
      {"web-1", "cpu", t_spike + 1, 300, 1},
      {"web-1", "cpu", t_spike + 2, value_at(0, t_spike), 0},
      {"zzz", "cpu", t_spike, 300, 1}, /* no such series: not counted */
  };
  an_train_t t = {.series = &src,
                  .start = T0,
                  .end = T0 + 5 * 86400,
                  .threshold = 0.7,
                  .labels = labels,
                  .nlabels = 3};
  assert_int_equal(an_algorithm_find("default")->train(&t), 0);
  assert_int_equal(t.metrics.feedback.positives, 1);
  assert_int_equal(t.metrics.feedback.negatives, 1);
  assert_true(t.metrics.feedback.precision == 1);
  assert_true(t.metrics.feedback.recall == 1);
  assert_true(t.metrics.feedback.f1 == 1);
  assert_true(t.metrics.feedback.auc == 1);
  an_model_free(t.model);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registered_algorithms_take_no_hyperparameters),
      cmocka_unit_test(test_declared_hyperparameters_are_checked),
      cmocka_unit_test(test_scope_globs),
      cmocka_unit_test(test_counts_and_auc),
      cmocka_unit_test(test_injection_is_seeded),
      cmocka_unit_test(test_seasonal_trains_series_with_two_days),
      cmocka_unit_test(test_nothing_to_train_says_why),
      cmocka_unit_test(test_cancel_stops_between_series),
      cmocka_unit_test(test_labelled_anomalies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
