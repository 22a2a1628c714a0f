/* The isolation forest: it finds a combination of values that is abnormal
 * although each value alone is normal, its scores mean the product's
 * false-alarm rate, it names the metrics at fault, it is a function of its
 * rows and seed, and its saved form loads only when whole and valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "iforest.h"
#include "score.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fail_at'th allocation from now fails (0: none does). */
static long fail_at, allocs;
static int failing(void) { return fail_at > 0 && ++allocs == fail_at; }
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n) { return failing() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) {
  return failing() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
  return failing() ? NULL : __real_realloc(p, n);
}

/* The test's own random numbers, apart from the forest's. */
static uint64_t state;
static double unit(void) { /* in (0, 1) */
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return ((state >> 11) + 0.5) * 0x1.0p-53;
}
static double gauss(void) {
  return sqrt(-2 * log(unit())) * cos(2 * M_PI * unit());
}

/* requests ~ U(100, 1000), cpu = 0.05 requests + N(0, 1) and, with d = 3,
 * memory ~ U(2000, 4000) independent of both. */
static void ordinary(double *row, size_t d) {
  row[0] = 100 + 900 * unit();
  row[1] = 0.05 * row[0] + gauss();
  if (d > 2)
    row[2] = 2000 + 2000 * unit();
}

static double *make_rows(size_t n, size_t d, void (*gen)(double *, size_t)) {
  double *rows = malloc(n * d * sizeof(*rows));
  assert_non_null(rows);
  for (size_t i = 0; i < n; i++)
    gen(rows + i * d, d);
  return rows;
}

static an_iforest_t *fit(const double *rows, size_t n, size_t d,
                         const an_iforest_params_t *params) {
  an_iforest_t *f = NULL;
  char err[256] = "";
  int rc = an_iforest_fit(rows, n, d, params, &f, err, sizeof(err));
  if (rc != 0)
    fail_msg("fit: %s", err);
  assert_non_null(f);
  return f;
}

/* Saves f into a malloc'd buffer of *len bytes. */
static uint8_t *save(const an_iforest_t *f, size_t *len) {
  *len = an_iforest_saved_size(f);
  uint8_t *buf = malloc(*len);
  assert_non_null(buf);
  assert_int_equal(an_iforest_save(f, buf, *len), *len);
  return buf;
}

/* What a scored row must always be, whatever forest scored it. */
static void assert_sane(const an_iforest_t *f, const double *row) {
  double p = -1;
  double score = an_iforest_score(f, row, &p);
  assert_true(score >= 0 && score <= 1);
  assert_true(p >= 0 && p <= 1);
  assert_true(an_score_from_p(p) == score);
  an_iforest_contribution_t c[4];
  size_t k = an_iforest_explain(f, row, c, 4);
  assert_true(k <= 4);
  double sum = 0;
  for (size_t i = 0; i < k; i++) {
    assert_true(c[i].weight > 0 && c[i].weight <= 1);
    assert_true(i == 0 || c[i].weight <= c[i - 1].weight);
    sum += c[i].weight;
  }
  assert_true(sum <= 1 + 1e-9);
}

/* ---- what a user notices ---- */

/* The point of the forest: cpu high while requests are low, each inside
 * its own training range, is an alarm; ordinary rows rarely are. */
static void test_broken_correlation_is_an_alarm(void **unused) {
  state = 1;
  double *rows = make_rows(2000, 2, ordinary);
  an_iforest_t *f = fit(rows, 2000, 2, &an_iforest_default_params);
  double broken[2] = {150, 48}; /* cpu 48 goes with 960 requests */
  double p;
  double score = an_iforest_score(f, broken, &p);
  print_message("broken correlation (150, 48): score %.3f, p %.2g\n", score, p);
  assert_true(score >= 0.7);
  assert_true(an_score_from_p(p) == score);
  int alarms = 0;
  for (int i = 0; i < 1000; i++) {
    double row[2];
    ordinary(row, 2);
    alarms += an_iforest_score(f, row, NULL) >= 0.7;
  }
  print_message("ordinary rows at 0.7 or more: %d of 1000\n", alarms);
  assert_true(alarms <= 30);
  an_iforest_destroy(f);
  free(rows);
}

/* The explanation of that point names requests and cpu, not memory. */
static void test_explanation_names_the_broken_pair(void **unused) {
  state = 2;
  double *rows = make_rows(2000, 3, ordinary);
  an_iforest_t *f = fit(rows, 2000, 3, &an_iforest_default_params);
  double broken[3] = {150, 48, 3000};
  an_iforest_contribution_t c[3];
  size_t k = an_iforest_explain(f, broken, c, 3);
  assert_true(k >= 2);
  for (size_t i = 0; i < k; i++)
    print_message("metric %zu: %.3f\n", c[i].metric, c[i].weight);
  assert_true(c[0].metric != 2 && c[1].metric != 2);
  assert_true(c[0].weight + c[1].weight > 0.8);
  /* memory past its range, the pair in line: memory alone */
  double high_memory[3] = {550, 27.5, 4500};
  assert_int_equal(an_iforest_explain(f, high_memory, c, 3) >= 1, 1);
  assert_int_equal(c[0].metric, 2);
  assert_true(c[0].weight > 0.8);
  assert_sane(f, broken);
  assert_sane(f, high_memory);
  an_iforest_destroy(f);
  free(rows);
}

static void gaussian(double *row, size_t d) {
  double z = gauss();
  row[0] = 40 + 10 * z; /* two correlated metrics on different scales */
  row[1] = 5e6 + 1e6 * (0.8 * z + 0.6 * gauss());
  row[2] = gauss();
}

/* Pareto (shape 1.5), log-normal and exponential: long right tails. */
static void heavy_tailed(double *row, size_t d) {
  row[0] = pow(unit(), -1 / 1.5);
  row[1] = exp(2 * gauss());
  row[2] = -1000 * log(unit());
}

/* The fraction of new rows from the training distribution at 0.7 or more.
 * With 4 000 training rows the alarm quantile holds a tail mass of c give
 * or take sqrt(c (1 - c) / 4000), 0.0016 for c = 0.01; 10 000 new rows
 * add sqrt(c (1 - c) / 10000), 0.001: 0.0019 in all, so 3.5 sigma is
 * +-0.0065 (c = 0.05: 0.0041, +-0.0145). */
static double alarm_rate(void (*gen)(double *, size_t), double contamination,
                         double *zero) {
  an_iforest_params_t params = an_iforest_default_params;
  params.contamination = contamination;
  params.seed = 7;
  double *rows = make_rows(4000, 3, gen);
  an_iforest_t *f = fit(rows, 4000, 3, &params);
  int alarms = 0, zeros = 0;
  for (int i = 0; i < 10000; i++) {
    double row[3];
    gen(row, 3);
    double score = an_iforest_score(f, row, NULL);
    alarms += score >= 0.7;
    zeros += score == 0;
  }
  an_iforest_destroy(f);
  free(rows);
  *zero = zeros / 10000.0;
  return alarms / 10000.0;
}

/* A score of 0.7 means the contamination's false-alarm rate, whatever the
 * shape of the data; a typical row scores 0. */
static void test_calibration(void **unused) {
  double zero;
  state = 3;
  double rate = alarm_rate(gaussian, 0.01, &zero);
  print_message("gaussian, c = 0.01: %.4f at 0.7 or more, %.2f at 0\n", rate,
                zero);
  assert_true(fabs(rate - 0.01) <= 0.0065);
  assert_true(zero > 0.6);
  rate = alarm_rate(heavy_tailed, 0.01, &zero);
  print_message("heavy-tailed, c = 0.01: %.4f at 0.7 or more, %.2f at 0\n",
                rate, zero);
  assert_true(fabs(rate - 0.01) <= 0.0065);
  assert_true(zero > 0.6);
  rate = alarm_rate(gaussian, 0.05, &zero);
  print_message("gaussian, c = 0.05: %.4f at 0.7 or more\n", rate);
  assert_true(fabs(rate - 0.05) <= 0.0145);
}

/* Units do not matter: a metric scaled by a power of two (exact in
 * floating point) gives the same forest, score for score. */
static void test_scale_does_not_matter(void **unused) {
  state = 4;
  double *rows = make_rows(1000, 2, ordinary);
  double *scaled = malloc(1000 * 2 * sizeof(*scaled));
  assert_non_null(scaled);
  for (size_t i = 0; i < 1000; i++) {
    scaled[2 * i] = rows[2 * i] * 0x1p30;
    scaled[2 * i + 1] = rows[2 * i + 1] * 0x1p-20;
  }
  an_iforest_t *f = fit(rows, 1000, 2, &an_iforest_default_params);
  an_iforest_t *g = fit(scaled, 1000, 2, &an_iforest_default_params);
  for (int i = 0; i < 200; i++) {
    double row[2], big[2];
    ordinary(row, 2);
    if (i == 0) {
      row[0] = 150;
      row[1] = 48;
    }
    big[0] = row[0] * 0x1p30;
    big[1] = row[1] * 0x1p-20;
    assert_true(an_iforest_score(f, row, NULL) ==
                an_iforest_score(g, big, NULL));
  }
  an_iforest_destroy(f);
  an_iforest_destroy(g);
  free(rows);
  free(scaled);
}

/* ---- determinism ---- */

/* The same rows and seed make the same forest, byte for byte; another
 * seed another one; saved and loaded, it scores exactly as before. */
static void test_deterministic(void **unused) {
  state = 5;
  double *rows = make_rows(1500, 3, ordinary);
  an_iforest_params_t params = an_iforest_default_params;
  params.seed = 42;
  an_iforest_t *a = fit(rows, 1500, 3, &params);
  an_iforest_t *b = fit(rows, 1500, 3, &params);
  params.seed = 43;
  an_iforest_t *c = fit(rows, 1500, 3, &params);
  size_t la, lb, lc;
  uint8_t *sa = save(a, &la), *sb = save(b, &lb), *sc = save(c, &lc);
  assert_true(la == lb && memcmp(sa, sb, la) == 0);
  assert_true(la != lc || memcmp(sa, sc, la) != 0);

  an_iforest_t *loaded = NULL;
  assert_int_equal(an_iforest_load(sa, la, &loaded), 0);
  size_t ll;
  uint8_t *sl = save(loaded, &ll);
  assert_true(ll == la && memcmp(sl, sa, la) == 0);
  for (int i = 0; i < 300; i++) {
    double row[3];
    ordinary(row, 3);
    if (i % 3 == 0)
      row[i % 2] = NAN;
    double pa, pl;
    double s1 = an_iforest_score(a, row, &pa);
    double s2 = an_iforest_score(loaded, row, &pl);
    assert_memory_equal(&s1, &s2, sizeof(s1));
    assert_memory_equal(&pa, &pl, sizeof(pa));
    double r1 = an_iforest_raw_score(a, row), r2 = an_iforest_raw_score(b, row);
    assert_memory_equal(&r1, &r2, sizeof(r1));
    an_iforest_contribution_t ea[3], el[3];
    size_t k = an_iforest_explain(a, row, ea, 3);
    assert_int_equal(an_iforest_explain(loaded, row, el, 3), k);
    assert_memory_equal(ea, el, k * sizeof(*ea));
  }
  an_iforest_info_t ia, il;
  an_iforest_info(a, &ia);
  an_iforest_info(loaded, &il);
  assert_memory_equal(&ia, &il, sizeof(ia));
  assert_int_equal(ia.metrics, 3);
  assert_int_equal(ia.trees, 100);
  assert_int_equal(ia.samples, 256);
  assert_int_equal(ia.rows, 1500);
  assert_int_equal(ia.skipped, 0);
  /* 16 bytes a node, 4 a tree, 9 a metric and a header */
  assert_true(ia.bytes >= 16 * ia.nodes + 4 * ia.trees + 9 * 3);
  assert_true(ia.bytes <= 16 * ia.nodes + 4 * ia.trees + 9 * 3 + 1024);
  an_iforest_destroy(a);
  an_iforest_destroy(b);
  an_iforest_destroy(c);
  an_iforest_destroy(loaded);
  free(sa);
  free(sb);
  free(sc);
  free(sl);
  free(rows);
}

/* ---- edges of the data ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A row with a missing value is skipped by the fit: the forest is the one
 * the complete rows make. A NaN being scored takes the metric's training
 * median; an infinite value is an extreme. */
static void test_missing_values(void **unused) {
  state = 6;
  enum { N = 1001 };
  double *rows = make_rows(N + 3, 2, ordinary);
  an_iforest_t *complete = fit(rows, N, 2, &an_iforest_default_params);
  /* the same rows with three incomplete ones after the tenth */
  static const double incomplete[3 * 2] = {NAN,      5,         300,
                                           INFINITY, -INFINITY, NAN};
  double *holes = malloc((N + 3) * 2 * sizeof(*holes));
  assert_non_null(holes);
  memcpy(holes, rows, 10 * 2 * sizeof(*holes));
  memcpy(holes + 10 * 2, incomplete, sizeof(incomplete));
  memcpy(holes + 13 * 2, rows + 10 * 2, (N - 10) * 2 * sizeof(*holes));
  an_iforest_t *skipping = fit(holes, N + 3, 2, &an_iforest_default_params);
  an_iforest_info_t info;
  an_iforest_info(skipping, &info);
  assert_int_equal(info.rows, N);
  assert_int_equal(info.skipped, 3);

  double col[N];
  for (size_t i = 0; i < N; i++)
    col[i] = rows[2 * i + 1];
  qsort(col, N, sizeof(*col), cmp_double);
  double median_cpu = col[N / 2];
  for (int i = 0; i < 100; i++) {
    double row[2];
    ordinary(row, 2);
    assert_true(an_iforest_score(complete, row, NULL) ==
                an_iforest_score(skipping, row, NULL));
    double missing[2] = {row[0], NAN}, filled[2] = {row[0], median_cpu};
    assert_true(an_iforest_raw_score(complete, missing) ==
                an_iforest_raw_score(complete, filled));
  }
  double all_missing[2] = {NAN, NAN};
  assert_true(an_iforest_score(complete, all_missing, NULL) < 0.7);
  double inf[][2] = {{INFINITY, 20}, {-INFINITY, 20}, {500, -INFINITY}};
  for (int i = 0; i < 3; i++)
    assert_sane(complete, inf[i]);
  an_iforest_destroy(complete);
  an_iforest_destroy(skipping);
  free(rows);
  free(holes);
}

static void with_constant(double *row, size_t d) {
  ordinary(row, 2);
  row[2] = 7.25;
}

/* A metric that never varied splits nothing and divides by nothing; a
 * row where it differs is isolated at once, and blamed on it. */
static void test_constant_metric(void **unused) {
  state = 8;
  double *rows = make_rows(1000, 3, with_constant);
  an_iforest_t *f = fit(rows, 1000, 3, &an_iforest_default_params);
  double usual[3] = {550, 27.5, 7.25}, missing[3] = {550, 27.5, NAN};
  assert_true(an_iforest_score(f, usual, NULL) < 0.7);
  assert_true(an_iforest_score(f, missing, NULL) < 0.7);
  double moved[3] = {550, 27.5, 7.5};
  assert_true(an_iforest_raw_score(f, moved) == 1.0);
  assert_true(an_iforest_score(f, moved, NULL) >= 0.85);
  an_iforest_contribution_t c[3];
  assert_int_equal(an_iforest_explain(f, moved, c, 3), 1);
  assert_int_equal(c[0].metric, 2);
  assert_true(c[0].weight == 1.0);
  an_iforest_destroy(f);
  free(rows);

  /* every metric constant: one leaf a tree, and still a verdict */
  double same[4 * 2] = {1, 2, 1, 2, 1, 2, 1, 2};
  f = fit(same, 4, 2, &an_iforest_default_params);
  double like[2] = {1, 2}, unlike[2] = {1, 3};
  double p;
  assert_true(an_iforest_score(f, like, &p) == 0 && p == 1);
  assert_true(an_iforest_score(f, unlike, &p) == 1 && p == 0);
  assert_int_equal(an_iforest_explain(f, unlike, c, 3), 1);
  assert_int_equal(c[0].metric, 1);
  an_iforest_destroy(f);
}

static void one_gaussian(double *row, size_t d) { row[0] = gauss(); }

/* One metric: an isolation forest of a single series still works. */
static void test_one_metric(void **unused) {
  state = 9;
  double *rows = make_rows(2000, 1, one_gaussian);
  an_iforest_t *f = fit(rows, 2000, 1, &an_iforest_default_params);
  double mid = 0, high = 6, low = -6;
  assert_true(an_iforest_score(f, &mid, NULL) == 0);
  assert_true(an_iforest_score(f, &high, NULL) >= 0.7);
  assert_true(an_iforest_score(f, &low, NULL) >= 0.7);
  an_iforest_contribution_t c;
  assert_int_equal(an_iforest_explain(f, &high, &c, 1), 1);
  assert_int_equal(c.metric, 0);
  assert_int_equal(an_iforest_explain(f, &high, &c, 0), 0);
  an_iforest_destroy(f);
  free(rows);
}

/* Fewer rows than max_samples: every tree takes them all. Two rows are
 * enough to fit; fewer complete rows are an error that says so. */
static void test_few_rows(void **unused) {
  state = 10;
  double *rows = make_rows(50, 2, ordinary);
  an_iforest_t *f = fit(rows, 50, 2, &an_iforest_default_params);
  an_iforest_info_t info;
  an_iforest_info(f, &info);
  assert_int_equal(info.samples, 50);
  double broken[2] = {150, 48};
  assert_sane(f, broken);
  assert_sane(f, rows);
  an_iforest_destroy(f);

  f = fit(rows, 2, 2, &an_iforest_default_params);
  an_iforest_info(f, &info);
  assert_int_equal(info.samples, 2);
  assert_sane(f, broken);
  assert_sane(f, rows);
  an_iforest_destroy(f);

  an_iforest_t *none = (an_iforest_t *)&info; /* untouched on failure */
  char err[256] = "";
  assert_int_equal(an_iforest_fit(NULL, 0, 2, &an_iforest_default_params, &none,
                                  err, sizeof(err)),
                   EINVAL);
  assert_non_null(strstr(err, "at least 2 rows"));
  assert_int_equal(an_iforest_fit(rows, 1, 2, &an_iforest_default_params, &none,
                                  err, sizeof(err)),
                   EINVAL);
  assert_non_null(strstr(err, "1 given"));
  rows[1] = NAN;
  rows[4] = INFINITY;
  assert_int_equal(an_iforest_fit(rows, 3, 2, &an_iforest_default_params, &none,
                                  err, sizeof(err)),
                   EINVAL);
  assert_non_null(strstr(err, "1 given"));
  assert_int_equal(
      an_iforest_fit(rows, 3, 2, &an_iforest_default_params, &none, NULL, 0),
      EINVAL);
  assert_ptr_equal(none, &info);
  free(rows);
}

/* Each hyperparameter out of its range is refused, by name. */
static void test_bad_parameters(void **unused) {
  state = 11;
  double *rows = make_rows(100, 2, ordinary);
  struct {
    uint32_t trees, samples;
    double contamination;
    size_t d;
    const char *named;
  } bad[] = {
      {0, 256, 0.01, 2, "n_estimators"},
      {1001, 256, 0.01, 2, "n_estimators"},
      {100, 1, 0.01, 2, "max_samples"},
      {100, 65537, 0.01, 2, "max_samples"},
      {100, 256, 0, 2, "contamination"},
      {100, 256, 0.5, 2, "contamination"},
      {100, 256, -0.1, 2, "contamination"},
      {100, 256, NAN, 2, "contamination"},
      {100, 256, 0.01, 0, "metrics"},
      {100, 256, 0.01, AN_IFOREST_MAX_METRICS + 1, "metrics"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    an_iforest_params_t p = {bad[i].trees, bad[i].samples, bad[i].contamination,
                             1};
    an_iforest_t *f = NULL;
    char err[256] = "";
    size_t n = bad[i].d == 2 ? 100 : 0;
    assert_int_equal(
        an_iforest_fit(rows, n, bad[i].d, &p, &f, err, sizeof(err)), EINVAL);
    assert_null(f);
    assert_non_null(strstr(err, bad[i].named));
  }
  /* the ends of the ranges are fine */
  an_iforest_params_t p = {1, 2, 0.49, 1};
  an_iforest_destroy(fit(rows, 100, 2, &p));
  p = (an_iforest_params_t){1000, 65536, 1e-9, 1};
  an_iforest_destroy(fit(rows, 100, 2, &p));
  free(rows);
}

/* Whichever allocation fails, fit and load say ENOMEM, write nothing
 * and leak nothing (valgrind sees leaks). */
static void test_out_of_memory(void **unused) {
  state = 12;
  double *rows = make_rows(300, 2, ordinary);
  rows[7] = NAN; /* the copy of the complete rows allocates too */
  an_iforest_params_t p = {5, 32, 0.05, 3};
  an_iforest_t *f = NULL;
  int rc;
  for (fail_at = 1;; fail_at++) {
    allocs = 0;
    rc = an_iforest_fit(rows, 300, 2, &p, &f, NULL, 0);
    if (rc == 0)
      break;
    assert_int_equal(rc, ENOMEM);
    assert_null(f);
  }
  fail_at = 0;
  assert_true(allocs > 5);
  size_t len;
  uint8_t *buf = save(f, &len);
  an_iforest_t *g = NULL;
  fail_at = 1;
  allocs = 0;
  assert_int_equal(an_iforest_load(buf, len, &g), ENOMEM);
  fail_at = 0;
  assert_null(g);
  an_iforest_destroy(f);
  free(buf);
  free(rows);
}

/* ---- the saved form ---- */

/* A small forest's bytes, for the tests that spoil them. */
static uint8_t *small_blob(size_t *len, an_iforest_t **forest) {
  state = 13;
  double *rows = make_rows(200, 2, ordinary);
  an_iforest_params_t p = {3, 16, 0.05, 5};
  an_iforest_t *f = fit(rows, 200, 2, &p);
  free(rows);
  uint8_t *buf = save(f, len);
  if (forest != NULL)
    *forest = f;
  else
    an_iforest_destroy(f);
  return buf;
}

/* The layout iforest.c documents, for d = 2 and 3 trees. */
#define HEADER 328
#define NODES_AT (HEADER + 9 * 2 + 4 * 3)

static uint64_t get_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void set_le(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void set_double(uint8_t *p, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof(u));
  set_le(p, u, 8);
}

static int load_status(const uint8_t *buf, size_t len) {
  an_iforest_t *f = NULL;
  int rc = an_iforest_load(buf, len, &f);
  assert_true(rc == 0 || rc == EINVAL);
  assert_true((rc == 0) == (f != NULL));
  an_iforest_destroy(f);
  return rc;
}

/* Every prefix, and the whole with a byte more, is refused. */
static void test_load_truncated(void **unused) {
  size_t len;
  uint8_t *buf = small_blob(&len, NULL);
  assert_int_equal(load_status(buf, len), 0);
  for (size_t n = 0; n < len; n++) {
    uint8_t *copy = malloc(n ? n : 1); /* exactly n: valgrind sees overreads */
    assert_non_null(copy);
    memcpy(copy, buf, n);
    assert_int_equal(load_status(copy, n), EINVAL);
    free(copy);
  }
  uint8_t *longer = malloc(len + 1);
  assert_non_null(longer);
  memcpy(longer, buf, len);
  longer[len] = 0;
  assert_int_equal(load_status(longer, len + 1), EINVAL);
  assert_int_equal(load_status(NULL, 0), EINVAL);
  free(longer);
  free(buf);
}

/* Any byte of it flipped: refused, or a forest that scores within its
 * bounds. */
static void test_load_flipped_bytes(void **unused) {
  static const uint8_t masks[] = {0x01, 0x80, 0xff};
  size_t len;
  uint8_t *buf = small_blob(&len, NULL);
  uint8_t *copy = malloc(len);
  assert_non_null(copy);
  size_t refused = 0, tried = 0;
  for (size_t at = 0; at < len; at++) {
    for (size_t m = 0; m < sizeof(masks); m++) {
      memcpy(copy, buf, len);
      copy[at] ^= masks[m];
      an_iforest_t *f = NULL;
      int rc = an_iforest_load(copy, len, &f);
      tried++;
      if (rc != 0) {
        assert_int_equal(rc, EINVAL);
        refused++;
        continue;
      }
      static const double rows[][2] = {
          {550, 27.5}, {150, 48}, {NAN, NAN}, {-1e300, 1e300}, {INFINITY, 0}};
      for (size_t i = 0; i < 5; i++)
        assert_sane(f, rows[i]);
      an_iforest_destroy(f);
    }
  }
  print_message("%zu of %zu flipped bytes refused\n", refused, tried);
  /* the header, the medians, the constants, the roots, node structure */
  for (size_t at = 0; at < 32; at++) {
    memcpy(copy, buf, len);
    copy[at] ^= 0x80;
    assert_int_equal(load_status(copy, len), EINVAL);
  }
  free(copy);
  free(buf);
}

/* One spoiled field at a time, each refused. */
static void test_load_rejects_invalid_fields(void **unused) {
  an_iforest_t *f;
  size_t len;
  uint8_t *buf = small_blob(&len, &f);
  an_iforest_info_t info;
  an_iforest_info(f, &info);
  assert_int_equal(len, NODES_AT + 16 * info.nodes);
  an_iforest_destroy(f);
  uint32_t nodes = (uint32_t)info.nodes;
  uint32_t tree1 = (uint32_t)get_le(buf + HEADER + 18 + 4, 4);
  /* the first split below the root, and the first leaf */
  uint32_t split = 1, leaf = 0;
  while (get_le(buf + NODES_AT + 16 * split + 8, 2) == 2)
    split++;
  while (get_le(buf + NODES_AT + 16 * leaf + 8, 2) != 2)
    leaf++;
  uint8_t *sp = NULL, *lp = NULL;
  uint8_t *copy = malloc(len);
  assert_non_null(copy);
#define SPOIL(what)                                                            \
  do {                                                                         \
    memcpy(copy, buf, len);                                                    \
    sp = copy + NODES_AT + 16 * split;                                         \
    lp = copy + NODES_AT + 16 * leaf;                                          \
    what;                                                                      \
    if (load_status(copy, len) != EINVAL)                                      \
      fail_msg("accepted: %s", #what);                                         \
  } while (0)
  SPOIL(copy[0] = 'X');                               /* magic */
  SPOIL(set_le(copy + 8, 2, 4));                      /* version */
  SPOIL(set_le(copy + 12, 0, 4));                     /* no metrics */
  SPOIL(set_le(copy + 12, 3, 4));                     /* sizes vs length */
  SPOIL(set_le(copy + 16, 0xFFFFFFFF, 4));            /* trees */
  SPOIL(set_le(copy + 20, 1, 4));                     /* samples */
  SPOIL(set_le(copy + 24, nodes + 1, 4));             /* nodes vs length */
  SPOIL(set_le(copy + 28, 1, 4));                     /* reserved */
  SPOIL(set_le(copy + 32, 3, 8));                     /* rows < samples */
  SPOIL(set_double(copy + 48, 0.5));                  /* contamination */
  SPOIL(set_double(copy + 56, NAN));                  /* beta */
  SPOIL(set_double(copy + 56, -1));                   /* beta */
  SPOIL(set_double(copy + 64, 0.9));                  /* quantiles fall */
  SPOIL(set_double(copy + HEADER - 8, INFINITY));     /* quantile */
  SPOIL(set_double(copy + HEADER, NAN));              /* median */
  SPOIL(copy[HEADER + 16] = 2);                       /* constant flag */
  SPOIL(set_le(copy + HEADER + 18, 1, 4));            /* first root */
  SPOIL(set_le(copy + HEADER + 18 + 4, 0, 4));        /* roots order */
  SPOIL(set_le(copy + HEADER + 18 + 8, nodes, 4));    /* root at the end */
  SPOIL(set_le(copy + HEADER + 18 + 4, 1u << 30, 4)); /* root far past it */
  SPOIL(set_le(sp + 8, 2, 2));                        /* a leaf, unlike one */
  SPOIL(set_le(sp + 8, 3, 2));                        /* feature > d */
  SPOIL(set_le(sp + 12, nodes, 4));                   /* child past end */
  SPOIL(set_le(sp + 12, tree1, 4));                   /* in the next tree */
  SPOIL(set_le(sp + 12, split, 4));                   /* a cycle */
  SPOIL(set_le(sp + 12, split + 1, 4));               /* right = left */
  SPOIL(set_double(sp, NAN));                         /* threshold */
  SPOIL(set_double(sp, INFINITY));                    /* threshold */
  SPOIL(set_le(sp + 10, get_le(sp + 10, 2) + 1, 2));  /* rows don't add up */
  SPOIL(set_le(copy + NODES_AT + 10, 16, 2));         /* root: 17 of 16 */
  SPOIL(set_double(lp, NAN));                         /* leaf's path */
  SPOIL(set_double(lp, -1));                          /* leaf's path */
  SPOIL(set_double(lp, 64));                          /* leaf's path */
  SPOIL(set_double(lp, 1 + 0x1p-30));                 /* under a grain */
  SPOIL(set_le(lp + 12, 0, 4));                       /* leaf's child */
  /* a tree's last node made a split, its children past the tree */
  SPOIL(set_le(copy + NODES_AT + 16 * (tree1 - 1) + 8, 0, 2));
#undef SPOIL
  free(copy);
  free(buf);
}

/* save() writes nothing into a buffer too small. */
static void test_save_needs_room(void **unused) {
  an_iforest_t *f;
  size_t len;
  uint8_t *buf = small_blob(&len, &f);
  memset(buf, 0xAB, len);
  assert_int_equal(an_iforest_save(f, buf, len - 1), 0);
  assert_int_equal(buf[0], 0xAB);
  an_iforest_destroy(f);
  an_iforest_destroy(NULL);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_broken_correlation_is_an_alarm),
      cmocka_unit_test(test_explanation_names_the_broken_pair),
      cmocka_unit_test(test_calibration),
      cmocka_unit_test(test_scale_does_not_matter),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_missing_values),
      cmocka_unit_test(test_constant_metric),
      cmocka_unit_test(test_one_metric),
      cmocka_unit_test(test_few_rows),
      cmocka_unit_test(test_bad_parameters),
      cmocka_unit_test(test_out_of_memory),
      cmocka_unit_test(test_load_truncated),
      cmocka_unit_test(test_load_flipped_bytes),
      cmocka_unit_test(test_load_rejects_invalid_fields),
      cmocka_unit_test(test_save_needs_room),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
