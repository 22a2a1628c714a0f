/* Training without a database: hyperparameters validated as each
 * algorithm declares them, scopes matched, the default and seasonal
 * algorithms over series made here (a daily cycle with noise), their
 * progress, cancellation and skipped series, and the metrics: counts and
 * AUC on known scores, synthetic anomalies injected the same every time,
 * labelled anomalies scored as the detector saw them. isolation_forest
 * over sources made here: rows aligned by time, sources skipped with
 * the reason, a corner break of a correlation found, metrics. */
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

static void
test_registered_algorithms_and_their_hyperparameters(void **unused) {
  double values[AN_ALGORITHM_MAX_PARAMS];
  const an_algorithm_t *s = an_algorithm_find("seasonal");
  assert_non_null(s);
  assert_non_null(an_algorithm_find("default"));
  assert_null(an_algorithm_find("Seasonal"));
  assert_string_equal(check_params(s, "{}", values), "");
  assert_int_equal(an_algorithm_params(s, NULL, values, NULL, 0), 0);
  assert_string_equal(check_params(s, "{\"sensitivity\": 2}", values),
                      "hyperparameters.sensitivity: seasonal has no such "
                      "hyperparameter (it takes none)");
  assert_string_equal(check_params(s, "[]", values),
                      "hyperparameters must be an object");
  assert_int_equal(s->nparams, 0);
  assert_int_equal(an_algorithm_find("default")->nparams, 0);
  /* the seed's names, and max_samples; contamination excludes its ends */
  const an_algorithm_t *f = an_algorithm_find("isolation_forest");
  assert_non_null(f);
  assert_true(f->points_only);
  assert_string_equal(check_params(f, "{}", values), "");
  assert_true(values[0] == 0.01 && values[1] == 100 && values[2] == 256);
  assert_string_equal(check_params(f,
                                   "{\"contamination\": 0.05,"
                                   " \"n_estimators\": 20,"
                                   " \"max_samples\": 64}",
                                   values),
                      "");
  assert_true(values[0] == 0.05 && values[1] == 20 && values[2] == 64);
  assert_string_equal(check_params(f, "{\"contamination\": 0}", values),
                      "hyperparameters.contamination must be a number above "
                      "0 and below 0.5");
  assert_string_equal(check_params(f, "{\"contamination\": 0.5}", values),
                      "hyperparameters.contamination must be a number above "
                      "0 and below 0.5");
  assert_string_equal(check_params(f, "{\"n_estimators\": 1001}", values),
                      "hyperparameters.n_estimators must be a whole number "
                      "from 1 to 1000");
  assert_string_equal(check_params(f, "{\"max_samples\": 1}", values),
                      "hyperparameters.max_samples must be a whole number "
                      "from 2 to 65536");
  assert_string_equal(check_params(f, "{\"trees\": 5}", values),
                      "hyperparameters.trees: isolation_forest has no such "
                      "hyperparameter (it takes contamination, n_estimators "
                      "or max_samples)");
}

/* An algorithm declaring each type of hyperparameter. */
static const an_param_t forest_params[] = {
    {"n_estimators", AN_PARAM_INTEGER, 1, 1000, 100, 0},
    {"contamination", AN_PARAM_NUMBER, 0, 0.5, 0.01, 0},
    {"bootstrap", AN_PARAM_BOOLEAN, 0, 1, 0, 0},
};
static const an_algorithm_t forest = {.name = "forest",
                                      .description = "test",
                                      .params = forest_params,
                                      .nparams = 3};

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

/* ---- isolation_forest over sources made here ---- */

/* Series by source, then metric, as the history lists them. */
static const char *const forest_series[][2] = {
    {"db-1", "cpu"},       /* one metric: skipped */
    {"db-2", "cpu"},       /* 50 rows: skipped */
    {"db-2", "net"},       /* */
    {"web-1", "cpu"},      /* 2000 rows: cpu = 0.05 requests + noise, */
    {"web-1", "net"},      /* net = 2 requests + noise, missing at
                              every 10th row, */
    {"web-1", "requests"}, /* requests ~ U(100, 1000) */
};
#define NFOREST_SERIES 6
#define ROW_STEP 10.0
#define CORNER_ROW 1500 /* requests 110, cpu 49.5: each in its range */
#define MID_ROW 700     /* requests 550, cpu 27.5: on the line */
/* The third metric goes with requests: one of its own would take a share
 * of the random splits and dilute the break (docs/models.md). */

typedef struct rowsrc {
  size_t first, n; /* the series of forest_series the source lists */
  int fetches;
} rowsrc_t;

static void row_name(void *ctx, size_t i, const char **source,
                     const char **metric, const char **type) {
  rowsrc_t *r = ctx;
  *source = forest_series[r->first + i][0];
  *metric = forest_series[r->first + i][1];
  *type = NULL;
}

/* Row k's value of metric ("cpu", "net", "requests"): the same for
 * every metric of the row. */
static double row_value(size_t k, const char *metric) {
  test_rng_t rng = {k * 7919 + 1};
  double req = 100 + 900 * test_rng_uniform(&rng);
  double cpu = 0.05 * req + test_rng_normal(&rng);
  double net = 2 * req + 10 * test_rng_normal(&rng);
  if (k == CORNER_ROW)
    req = 110, cpu = 49.5, net = 220;
  if (k == MID_ROW || k == MID_ROW + 10)
    req = 550, cpu = 27.5, net = 1100;
  return metric[0] == 'c' ? cpu : metric[0] == 'n' ? net : req;
}

static int row_fetch(void *ctx, size_t i, double start, double end,
                     an_history_point_t **points, size_t *n, char *err,
                     size_t errlen) {
  rowsrc_t *r = ctx;
  const char *source = forest_series[r->first + i][0];
  const char *metric = forest_series[r->first + i][1];
  size_t rows = strcmp(source, "web-1") == 0 ? 2000 : 50;
  r->fetches++;
  *points = malloc(2 * rows * sizeof(**points));
  *n = 0;
  for (size_t k = 0; k < rows; k++) {
    double t = T0 + ROW_STEP * (double)k;
    if (metric[0] == 'n' && k % 10 == 0 && rows == 2000)
      continue; /* net is missing at every 10th row */
    if (t >= start && t <= end)
      (*points)[(*n)++] = (an_history_point_t){t, row_value(k, metric)};
    if (metric[0] == 'c' && k % 100 == 50 && t + 5 <= end)
      (*points)[(*n)++] = (an_history_point_t){t + 5, 30}; /* cpu alone */
  }
  return 0;
}

static double forest_params_default[AN_ALGORITHM_MAX_PARAMS] = {0.01, 100, 256};

static an_train_t forest_job(rowsrc_t *r, an_series_source_t *src) {
  *src = (an_series_source_t){r->n, row_name, row_fetch, r};
  return (an_train_t){.series = src,
                      .start = T0,
                      .end = T0 + 86400,
                      .params = forest_params_default,
                      .threshold = 0.7};
}

static size_t column(const an_model_forest_t *f, const char *metric) {
  for (size_t k = 0; k < f->nmetrics; k++)
    if (strcmp(f->metrics[k], metric) == 0)
      return k;
  fail_msg("%s is not a column", metric);
  return 0;
}

static double score_row(const an_model_forest_t *f, double cpu, double net,
                        double requests) {
  double row[3];
  row[column(f, "cpu")] = cpu;
  row[column(f, "net")] = net;
  row[column(f, "requests")] = requests;
  return an_iforest_score(f->forest, row, NULL);
}

static void test_forest_trains_aligned_rows_per_source(void **unused) {
  rowsrc_t r = {.first = 0, .n = NFOREST_SERIES};
  an_series_source_t src;
  an_train_t t = forest_job(&r, &src);
  seen_t seen = {.monotonic = 1};
  t.progress = on_progress;
  t.progress_ctx = &seen;
  const an_algorithm_t *a = an_algorithm_find("isolation_forest");
  assert_int_equal(a->train(&t), 0);
  assert_int_equal(t.model->kind, AN_MODEL_FOREST);
  assert_int_equal(t.model->nforests, 1);
  const an_model_forest_t *f = &t.model->forests[0];
  assert_string_equal(f->source_id, "web-1");
  assert_int_equal(f->nmetrics, 3);
  assert_string_equal(f->metrics[0], "cpu");
  assert_string_equal(f->metrics[2], "requests");
  /* 2000 times, 20 more of cpu alone; rows without net, and those of
   * cpu alone, are not complete */
  assert_int_equal(f->rows, 1800);
  assert_int_equal(t.points, 1800 * 3);
  assert_int_equal(an_model_series_count(t.model), 3);
  /* sources skipped, in series, and said why */
  assert_int_equal(t.skipped, 3);
  assert_string_equal(t.note, "2 sources skipped: 1 with fewer than 2 "
                              "metrics, 1 with fewer than 100 complete rows");
  /* progress after each source, in series */
  assert_int_equal(seen.calls, 3);
  assert_true(seen.monotonic);
  assert_int_equal(seen.total, 6);
  assert_int_equal(seen.last_done, 6);
  assert_int_equal(seen.skipped, 3);
  /* the corner breaks the relation with each value in its own range */
  assert_true(score_row(f, 49.5, 220, 110) >= 0.7);
  assert_true(score_row(f, 27.5, 1100, 550) < 0.7);
  /* synthetic metrics are numbers; no labels: feedback's are not */
  assert_int_equal(t.metrics.synthetic_series, 3);
  assert_int_equal(t.metrics.synthetic.negatives, 360);
  assert_int_equal(t.metrics.synthetic.positives, 36);
  assert_true(t.metrics.synthetic.auc > 0.6 && t.metrics.synthetic.auc <= 1);
  assert_true(t.metrics.synthetic.recall > 0 &&
              t.metrics.synthetic.recall <= 1);
  assert_true(isnan(t.metrics.feedback.f1));
  /* the same points train the same forest */
  an_train_t again = forest_job(&r, &src);
  assert_int_equal(a->train(&again), 0);
  assert_true(test_same_forest(f->forest, again.model->forests[0].forest));
  assert_true(again.metrics.synthetic.auc == t.metrics.synthetic.auc);
  an_model_free(again.model);
  an_model_free(t.model);
}

static void test_forest_skips_say_why(void **unused) {
  rowsrc_t r = {.first = 0, .n = 3}; /* db-1 and db-2 */
  an_series_source_t src;
  an_train_t t = forest_job(&r, &src);
  const an_algorithm_t *a = an_algorithm_find("isolation_forest");
  assert_int_equal(a->train(&t), ENODATA);
  assert_null(t.model);
  assert_string_equal(t.err,
                      "no source in scope could be trained: 2 sources "
                      "skipped: 1 with fewer than 2 metrics, 1 with fewer "
                      "than 100 complete rows");
  /* a range without values: the metrics take no part */
  r = (rowsrc_t){.first = 3, .n = 3};
  t = forest_job(&r, &src);
  t.start = T0 - 9e5;
  t.end = T0 - 8e5;
  assert_int_equal(a->train(&t), ENODATA);
  assert_string_equal(t.err, "no source in scope could be trained: 1 source "
                             "skipped: 1 without values in the range");
  /* cancelled before the first source: nothing read */
  atomic_int stop = AN_TRAIN_CANCEL;
  r = (rowsrc_t){.first = 0, .n = NFOREST_SERIES};
  t = forest_job(&r, &src);
  t.stop = &stop;
  assert_int_equal(a->train(&t), ECANCELED);
  assert_null(t.model);
  assert_int_equal(r.fetches, 0);
}

/* Labels: the row at a confirmed anomaly's time (the corner), rows at
 * false positives' times (on the line; one without net, which the forest
 * takes as its median); a label at no row's time, or of another source,
 * is not counted. */
static void test_forest_labelled_anomalies(void **unused) {
  rowsrc_t r = {.first = 3, .n = 3};
  an_series_source_t src;
  an_train_t t = forest_job(&r, &src);
  double at = T0 + ROW_STEP * CORNER_ROW, mid = T0 + ROW_STEP * MID_ROW;
  an_label_t labels[] = {
      {"db-1", "cpu", at, 1, 1},
      {"web-1", "cpu", at, 49.5, 1},
      {"web-1", "cpu", at + 1, 49.5, 1}, /* no row then */
      {"web-1", "net", mid + 100, 1100, 0},
      {"web-1", "requests", mid, 550, 0},
  };
  t.labels = labels;
  t.nlabels = 5;
  assert_int_equal(an_algorithm_find("isolation_forest")->train(&t), 0);
  assert_int_equal(t.metrics.feedback.positives, 1);
  assert_int_equal(t.metrics.feedback.negatives, 2);
  assert_true(t.metrics.feedback.precision == 1);
  assert_true(t.metrics.feedback.recall == 1);
  assert_true(t.metrics.feedback.auc == 1);
  an_model_free(t.model);
}

/* The anomalies made for a forest: a tenth of the held-back rows, the
 * same for a seed; a swapped value stays inside its training range. */
static void test_injected_rows(void **unused) {
  double train[100 * 2], held[50 * 2], a[5 * 2], b[5 * 2];
  for (int i = 0; i < 100; i++) {
    train[2 * i] = i;
    train[2 * i + 1] = 2 * i;
  }
  for (int i = 0; i < 50; i++) {
    held[2 * i] = 2 * i;
    held[2 * i + 1] = 4 * i;
  }
  assert_int_equal(an_eval_inject_rows(held, 50, train, 100, 2, a, 3), 5);
  assert_int_equal(an_eval_inject_rows(held, 50, train, 100, 2, b, 3), 5);
  assert_memory_equal(a, b, sizeof(a));
  for (int i = 0; i < 5; i++) {
    int changed = 0, outside = 0;
    for (int j = 0; j < 2; j++) {
      double x = a[2 * i + j], hi = j == 0 ? 99 : 198;
      outside += x < 0 || x > hi;
      changed += x != 2 * x / 2; /* NaN never */
    }
    assert_int_equal(changed, 0);
    /* the first of each pair swaps, the second leaves the range */
    assert_int_equal(outside, i % 2);
  }
  assert_int_equal(an_eval_inject_rows(held, 5, train, 100, 2, a, 3), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registered_algorithms_and_their_hyperparameters),
      cmocka_unit_test(test_declared_hyperparameters_are_checked),
      cmocka_unit_test(test_scope_globs),
      cmocka_unit_test(test_counts_and_auc),
      cmocka_unit_test(test_injection_is_seeded),
      cmocka_unit_test(test_seasonal_trains_series_with_two_days),
      cmocka_unit_test(test_nothing_to_train_says_why),
      cmocka_unit_test(test_cancel_stops_between_series),
      cmocka_unit_test(test_labelled_anomalies),
      cmocka_unit_test(test_forest_trains_aligned_rows_per_source),
      cmocka_unit_test(test_forest_skips_say_why),
      cmocka_unit_test(test_forest_labelled_anomalies),
      cmocka_unit_test(test_injected_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
