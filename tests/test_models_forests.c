/* The active isolation forests on a real database in a scratch
 * directory: none active, nothing scored; an activated model's forest
 * scores its source's points (a metric the point lacks taking its
 * median, one the forest does not know taking no part) and explains the
 * high ones; where active models overlap the newest one's forest scores;
 * a model whose blob does not decode is left out, not fatal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "conf.h"
#include "metrics.h"
#include "models/forests.h"
#include "models/model.h"
#include "store/store.h"
#include "store/store_models.h"
#include "testutil.h"

#include <errno.h>
#include <event2/event.h>

#define T0 1700000000.0

typedef struct fixture {
  char dir[64];
  an_config_t *config;
  an_daemon_t d;
} fixture_t;

static int set_up(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  char err[512];
  if (f == NULL || test_tmpdir_create(f->dir, "test_models_forests") != 0 ||
      (f->config = an_config_defaults()) == NULL)
    return -1;
  free(f->config->data_dir);
  f->config->data_dir = strdup(f->dir);
  f->d.config = f->config;
  f->d.metrics = an_metrics_create();
  if (an_store_open(&f->d, &f->d.store, err, sizeof(err)) != 0)
    fail_msg("an_store_open: %s", err);
  *state = f;
  return 0;
}

static int tear_down(void **state) {
  fixture_t *f = *state;
  an_forests_free(f->d.forests);
  an_store_close(f->d.store);
  an_metrics_destroy(f->d.metrics);
  an_config_free(f->config);
  int rc = test_tmpdir_remove(f->dir);
  free(f);
  return rc;
}

static const char *const names[] = {"cpu", "net", "requests"};

/* A forest of requests ~ U(100, 1000), cpu = 0.05 requests + N(0, 1),
 * net = 2 requests + N(0, 10); columns as names. */
static an_iforest_t *make_forest(uint64_t seed) {
  enum { N = 2000 };
  double *rows = malloc(N * 3 * sizeof(double));
  test_rng_t rng = {seed};
  an_iforest_params_t p = an_iforest_default_params;
  an_iforest_t *forest = NULL;
  for (int i = 0; i < N; i++) {
    double req = 100 + 900 * test_rng_uniform(&rng);
    rows[3 * i] = 0.05 * req + test_rng_normal(&rng);
    rows[3 * i + 1] = 2 * req + 10 * test_rng_normal(&rng);
    rows[3 * i + 2] = req;
  }
  p.seed = seed;
  assert_int_equal(an_iforest_fit(rows, N, 3, &p, &forest, NULL, 0), 0);
  free(rows);
  return forest;
}

typedef struct put {
  an_model_info_t info;
  void *blob;
  size_t len;
  int activate;
} put_t;

static int put_model(sqlite3 *db, void *arg) {
  put_t *p = arg;
  int rc = an_store_put_model(db, &p->info, p->blob, p->len);
  return rc == 0 && p->activate ? an_store_activate_model(db, p->info.id) : rc;
}

/* Stores a model of forests for sources (each from make_forest(seed)),
 * of scope source, created at created, activated or not; or blob when
 * not NULL. */
static void store_model(fixture_t *f, const char *id, const char *scope,
                        const char *const *sources, size_t n, uint64_t seed,
                        double created, int activate, const char *blob) {
  an_model_t *m = an_model_new_forests();
  put_t p = {.info = {.algorithm = "isolation_forest",
                      .scope_source = (char *)scope,
                      .created_at = created,
                      .metrics = NULL},
             .activate = activate};
  snprintf(p.info.id, sizeof(p.info.id), "%s", id);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(an_model_add_forest(m, sources[i], names, 3, 2000,
                                         make_forest(seed + i)),
                     0);
  if (blob != NULL) {
    p.blob = strdup(blob);
    p.len = strlen(blob);
  } else {
    assert_int_equal(an_model_encode(m, &p.blob, &p.len), 0);
  }
  assert_int_equal(an_store_run_now(f->d.store, put_model, &p), 0);
  free(p.blob);
  an_model_free(m);
}

static void load(fixture_t *f) {
  char err[300];
  an_forests_free(f->d.forests);
  f->d.forests = NULL;
  assert_int_equal(an_forests_open(&f->d, err, sizeof(err)), 0);
}

static int score(fixture_t *f, const char *source, const char *const *keys,
                 const double *values, size_t n, an_forest_score_t *out) {
  return an_forests_score(f->d.forests, source, keys, values, n, 0.7, out);
}

static void test_none_active_scores_nothing(void **state) {
  fixture_t *f = *state;
  const char *web[] = {"web-1"};
  double v[] = {49.5, 220, 110};
  an_forest_score_t s;
  load(f);
  assert_int_equal(an_forests_count(f->d.forests), 0);
  assert_int_equal(score(f, "web-1", names, v, 3, &s), 0);
  assert_int_equal(an_forests_score(NULL, "web-1", names, v, 3, 0.7, &s), 0);
  /* trained, not activated */
  store_model(f, "m1", NULL, web, 1, 1, T0, 0, NULL);
  load(f);
  assert_int_equal(an_forests_count(f->d.forests), 0);
}

static void test_active_forest_scores_and_explains(void **state) {
  fixture_t *f = *state;
  const char *web[] = {"web-1", "web-2"};
  an_forest_score_t s;
  char why[512];
  store_model(f, "m1", NULL, web, 2, 1, T0, 1, NULL);
  load(f);
  assert_int_equal(an_forests_count(f->d.forests), 2);

  /* the corner: each value in its range, together unusual */
  const char *keys[] = {"requests", "cpu", "net"};
  double corner[] = {110, 49.5, 220};
  assert_int_equal(score(f, "web-1", keys, corner, 3, &s), 1);
  assert_true(s.score >= 0.7);
  assert_true(s.p_value > 0 && s.p_value < 1e-6);
  assert_string_equal(s.model_id, "m1");
  assert_true(s.ncontrib >= 2 && s.ncontrib <= AN_FORESTS_TOP);
  double total = 0;
  for (size_t i = 0; i < s.ncontrib; i++) {
    total += s.contrib[i].weight;
    assert_true(i == 0 || s.contrib[i].weight <= s.contrib[i - 1].weight);
  }
  assert_true(total <= 1 + 1e-9);
  an_forests_explain(&s, why, sizeof(why));
  assert_non_null(strstr(why, "cpu 49.5"));
  assert_non_null(strstr(why, "requests 110"));
  assert_non_null(strstr(why, "unusual together ("));

  /* on the line: no contributions asked for */
  double line[] = {550, 27.5, 1100};
  assert_int_equal(score(f, "web-1", keys, line, 3, &s), 1);
  assert_true(s.score < 0.7);
  assert_int_equal(s.ncontrib, 0);

  /* net left out takes its median (about 1100): the line point scores
   * as before, near enough; a metric the forest does not know is no
   * part of the row */
  const char *fewer[] = {"requests", "cpu", "disk"};
  double partial[] = {550, 27.5, 1e9};
  assert_int_equal(score(f, "web-1", fewer, partial, 3, &s), 1);
  assert_true(s.score < 0.7);
  /* none of its metrics: not scored */
  const char *other[] = {"disk"};
  assert_int_equal(score(f, "web-1", other, partial, 1, &s), 0);
  assert_int_equal(score(f, "db-1", keys, corner, 3, &s), 0);
  assert_true(an_forests_covers(f->d.forests, "web-2"));
  assert_false(an_forests_covers(f->d.forests, "db-1"));
  assert_false(an_forests_covers(NULL, "web-1"));

  /* an explanation of one metric, and of one missing */
  an_forest_score_t one = {.ncontrib = 1, .contrib = {{"memory", 95, 1}}};
  assert_string_equal(an_forests_explain(&one, why, sizeof(why)),
                      "memory 95: unusual with the source's other metrics "
                      "(memory 100 %)");
  an_forest_score_t two = {
      .ncontrib = 2, .contrib = {{"cpu", 48, 0.61}, {"requests", NAN, 0.39}}};
  assert_string_equal(an_forests_explain(&two, why, sizeof(why)),
                      "cpu 48 with requests (missing): unusual together "
                      "(cpu 61 %, requests 39 %)");
}

/* Two active models over web-1 (scopes "web-*" and "web-1"): the newer
 * one's forest scores it; web-2 is only in the older one. */
static void test_newest_active_model_wins(void **state) {
  fixture_t *f = *state;
  const char *both[] = {"web-1", "web-2"}, *one[] = {"web-1"};
  an_forest_score_t s;
  double corner[] = {49.5, 220, 110};
  store_model(f, "old", "web-*", both, 2, 1, T0, 1, NULL);
  store_model(f, "new", "web-1", one, 1, 7, T0 + 10, 1, NULL);
  load(f);
  assert_int_equal(an_forests_count(f->d.forests), 2);
  assert_int_equal(score(f, "web-1", names, corner, 3, &s), 1);
  assert_string_equal(s.model_id, "new");
  assert_int_equal(score(f, "web-2", names, corner, 3, &s), 1);
  assert_string_equal(s.model_id, "old");
}

/* A damaged blob is left out (and logged); the others load. */
static void test_damaged_model_is_left_out(void **state) {
  fixture_t *f = *state;
  const char *web[] = {"web-1"}, *db[] = {"db-1"};
  an_forest_score_t s;
  double corner[] = {49.5, 220, 110};
  store_model(f, "good", "web-1", web, 1, 1, T0, 1, NULL);
  store_model(f, "bad", "db-1", db, 0, 1, T0 + 10, 1, "not a model");
  load(f);
  assert_int_equal(an_forests_count(f->d.forests), 1);
  assert_int_equal(score(f, "web-1", names, corner, 3, &s), 1);
  /* a seasonal model's blob under isolation_forest: no forests in it */
  an_model_t *m = an_model_new(&an_detect_default);
  put_t p = {.info = {.algorithm = "isolation_forest",
                      .scope_source = "x",
                      .created_at = T0 + 20},
             .activate = 1};
  snprintf(p.info.id, sizeof(p.info.id), "seasonal");
  assert_int_equal(an_model_encode(m, &p.blob, &p.len), 0);
  assert_int_equal(an_store_run_now(f->d.store, put_model, &p), 0);
  free(p.blob);
  an_model_free(m);
  load(f);
  assert_int_equal(an_forests_count(f->d.forests), 1);
  /* replacing frees the set before */
  an_forests_t *next;
  assert_int_equal(an_forests_count(NULL), 0);
  load(f);
  next = f->d.forests;
  f->d.forests = NULL;
  load(f);
  an_forests_replace(&f->d, next);
  assert_int_equal(an_forests_count(f->d.forests), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_none_active_scores_nothing, set_up,
                                      tear_down),
      cmocka_unit_test_setup_teardown(test_active_forest_scores_and_explains,
                                      set_up, tear_down),
      cmocka_unit_test_setup_teardown(test_newest_active_model_wins, set_up,
                                      tear_down),
      cmocka_unit_test_setup_teardown(test_damaged_model_is_left_out, set_up,
                                      tear_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
