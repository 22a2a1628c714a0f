/* The plugin's side of anomalyd's seasonal model (plugins/anomaly/
 * models.c): a model's series are attached to the series the plugin
 * scores when they learned more, kept pending for the plugin's hosts
 * until their first value, not kept for other hosts (and the model is
 * then wanted again once one of them shows up), bounded; a bad blob
 * changes nothing; a failed allocation anywhere leaves a usable state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "faultmem.h"
#include "models.h"
#include "models/model.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>

static const an_detector_class_t *det(void) { return &an_detect_default; }

/* A state that learned n noisy values around 50, every 10 s from t0. */
static void *trained(int n, double t0) {
  void *state = malloc(det()->state_size);
  test_rng_t rng = {7};
  an_result_t r;
  assert_non_null(state);
  det()->init(state, NULL);
  for (int k = 0; k < n; k++)
    det()->update(state, t0 + 10 * k, 50 + test_rng_normal(&rng), &r);
  return state;
}

/* A blob of the series "source metric" in names (NULL-ended), each with
 * a state of 500 values up to t 5000. */
static void *blob_of(const char *const *names, size_t *len) {
  an_model_t *m = an_model_new(det());
  void *state = trained(500, 10), *blob;
  assert_non_null(m);
  for (size_t i = 0; names[i] != NULL; i += 2)
    assert_int_equal(an_model_add(m, names[i], names[i + 1], 5000, 500, state),
                     0);
  assert_int_equal(an_model_encode(m, &blob, len), 0);
  an_model_free(m);
  free(state);
  return blob;
}

/* n values of key into live, from t 10000. */
static void feed(an_series_table_t *live, const char *key, int n) {
  an_result_t r;
  for (int k = 0; k < n; k++)
    assert_int_equal(an_series_table_update(live, key, 10000 + 10 * k, 50, &r),
                     0);
}

/* The values key has seen (taken out of live and put back). */
static uint32_t seen_of(an_series_table_t *live, const char *key) {
  void *state = malloc(det()->state_size);
  double last_t;
  uint32_t seen = 0;
  assert_int_equal(an_series_table_take(live, key, state, &last_t, &seen), 0);
  assert_int_equal(an_series_table_seed(live, key, state, last_t, seen, 1), 0);
  free(state);
  return seen;
}

static const char *const names[] = {
    "host-a", "cpu/user",   /* warming up: attached */
    "host-a", "cpu/system", /* has seen more: older */
    "host-a", "mem/used",   /* not scored yet: pending */
    "host-b", "cpu/user",   /* another host: not kept */
    NULL};

static void test_attach_pending_older_other(void **unused) {
  an_series_table_t *live = an_series_table_create(det());
  an_models_t *m = an_models_create(det(), 100);
  an_models_result_t r;
  char err[200];
  size_t len, attached, pending;
  int stale;
  void *blob = blob_of(names, &len);
  assert_int_equal(an_models_add_host(m, "host-a"), 0);
  feed(live, "host-a/cpu/user", 10);
  feed(live, "host-a/cpu/system", 1000);

  assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                   0);
  assert_int_equal(r.series, 4);
  assert_int_equal(r.attached, 1);
  assert_int_equal(r.older, 1);
  assert_int_equal(r.pending, 1);
  assert_int_equal(r.other, 1);
  assert_int_equal(r.dropped, 0);
  assert_int_equal(seen_of(live, "host-a/cpu/user"), 500);
  assert_int_equal(seen_of(live, "host-a/cpu/system"), 1000);
  assert_int_equal(an_series_table_count(live), 2); /* nothing created */

  /* the pending series takes its state with its first value, once */
  feed(live, "host-a/mem/used", 1);
  assert_int_equal(an_models_first_value(m, live, "host-a/mem/used", 6), 1);
  assert_int_equal(seen_of(live, "host-a/mem/used"), 500);
  assert_int_equal(an_models_first_value(m, live, "host-a/mem/used", 6), 0);
  feed(live, "host-a/disk/used", 1);
  assert_int_equal(an_models_first_value(m, live, "host-a/disk/used", 6), 0);
  an_models_poll(m, &attached, &pending, &stale);
  assert_int_equal(attached, 1);
  assert_int_equal(pending, 0);
  assert_false(stale);
  an_models_poll(m, &attached, &pending, &stale);
  assert_int_equal(attached, 0);

  /* the same model again: what was attached has seen as much or more */
  assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                   0);
  assert_int_equal(r.attached, 0);
  assert_int_equal(r.older, 3);
  assert_int_equal(r.other, 1);
  free(blob);
  an_models_free(m);
  an_series_table_destroy(live);
}

/* Values of a host the model had series of, not kept: the model is
 * wanted again, and then its series are attached. A model without other
 * hosts' series is not wanted again for a new host. */
static void test_new_host_wants_model_again(void **unused) {
  an_series_table_t *live = an_series_table_create(det());
  an_models_t *m = an_models_create(det(), 100);
  an_models_result_t r;
  char err[200];
  size_t len, attached, pending;
  int stale;
  void *blob = blob_of(names, &len);
  assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                   0);
  assert_int_equal(r.other, 4); /* no host told: none wanted */
  feed(live, "host-b/cpu/user", 1);
  assert_int_equal(an_models_first_value(m, live, "host-b/cpu/user", 6), 0);
  an_models_poll(m, &attached, &pending, &stale);
  assert_true(stale);
  an_models_poll(m, &attached, &pending, &stale);
  assert_false(stale); /* said once */
  assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                   0);
  assert_int_equal(r.attached, 1);
  assert_int_equal(r.other, 3);
  free(blob);

  const char *const mine[] = {"host-b", "cpu/user", NULL};
  blob = blob_of(mine, &len);
  assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                   0);
  feed(live, "host-c/cpu/user", 1);
  an_models_first_value(m, live, "host-c/cpu/user", 6);
  an_models_poll(m, &attached, &pending, &stale);
  assert_false(stale);
  free(blob);
  an_models_free(m);
  an_series_table_destroy(live);
}

/* A damaged, truncated or foreign blob is refused whole, saying why: the
 * series and the pending states of the model before stay as they were. */
static void test_bad_blob_changes_nothing(void **unused) {
  an_series_table_t *live = an_series_table_create(det());
  an_models_t *m = an_models_create(det(), 100);
  an_models_result_t r;
  char err[200];
  size_t len;
  void *blob = blob_of(names, &len);
  assert_int_equal(an_models_add_host(m, "host-a"), 0);
  feed(live, "host-a/cpu/user", 10);
  assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                   0);
  assert_int_equal(r.pending, 2); /* mem/used, and cpu/system not live */

  feed(live, "host-a/cpu/user", 1); /* at 10000 again: seen 501 */
  static const struct {
    size_t cut;
    size_t flip;
    const char *says;
  } bad[] = {{1, 0, "truncated"}, {0, 40, "damaged"}, {0, 4, "damaged"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    unsigned char *copy = malloc(len);
    memcpy(copy, blob, len);
    if (bad[i].flip)
      copy[len - bad[i].flip] ^= 0x10;
    assert_int_equal(
        an_models_apply(m, live, copy, len - bad[i].cut, &r, err, sizeof(err)),
        EINVAL);
    assert_non_null(strstr(err, bad[i].says));
    free(copy);
  }
  assert_int_equal(
      an_models_apply(m, live, "not a model", 11, &r, err, sizeof(err)),
      EINVAL);
  assert_int_equal(seen_of(live, "host-a/cpu/user"), 501);

  /* a model of another detector than the plugin's */
  an_detector_class_t other = *det();
  other.name = "other";
  an_models_t *o = an_models_create(&other, 100);
  assert_int_equal(an_models_apply(o, live, blob, len, &r, err, sizeof(err)),
                   EINVAL);
  assert_non_null(strstr(err, "the plugin scores with \"other\""));
  an_models_free(o);

  /* the pending states of the good model are still there */
  feed(live, "host-a/mem/used", 1);
  assert_int_equal(an_models_first_value(m, live, "host-a/mem/used", 6), 1);
  free(blob);
  an_models_free(m);
  an_series_table_destroy(live);
}

/* Pending series are bounded; a series twice in a model counts once. */
static void test_pending_bound(void **unused) {
  an_series_table_t *live = an_series_table_create(det());
  an_models_t *m = an_models_create(det(), 2);
  an_models_result_t r;
  char err[200];
  size_t len;
  const char *const many[] = {"h", "a/x", "h", "b/x", "h", "c/x",
                              "h", "d/x", "h", "a/x", NULL};
  void *blob = blob_of(many, &len);
  assert_int_equal(an_models_add_host(m, "h"), 0);
  assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                   0);
  assert_int_equal(r.series, 5);
  assert_int_equal(r.pending, 2);
  assert_int_equal(r.dropped, 3);
  free(blob);
  an_models_free(m);
  an_series_table_destroy(live);
}

/* Every allocation of an apply failing in turn: ENOMEM or success, never
 * a crash or a leak (valgrind), and a later apply works. */
static void test_allocation_failures(void **unused) {
  size_t len;
  void *blob = blob_of(names, &len);
  long k;
  for (k = 1;; k++) {
    an_series_table_t *live = an_series_table_create(det());
    an_models_t *m = an_models_create(det(), 100);
    an_models_result_t r;
    char err[200];
    assert_non_null(live);
    assert_non_null(m);
    assert_int_equal(an_models_add_host(m, "host-a"), 0);
    feed(live, "host-a/cpu/user", 10);
    an_faultmem_arm(k, 0);
    int rc = an_models_apply(m, live, blob, len, &r, err, sizeof(err));
    long failed = an_faultmem_disarm();
    if (failed == 0) {
      assert_int_equal(rc, 0);
      an_models_free(m);
      an_series_table_destroy(live);
      break;
    }
    assert_int_equal(rc, ENOMEM);
    assert_int_equal(an_models_apply(m, live, blob, len, &r, err, sizeof(err)),
                     0);
    assert_int_equal(r.pending, 2);
    an_models_free(m);
    an_series_table_destroy(live);
  }
  assert_true(k > 5); /* the decoder's, the tables', the copies' */
  free(blob);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_attach_pending_older_other),
      cmocka_unit_test(test_new_host_wants_model_again),
      cmocka_unit_test(test_bad_blob_changes_nothing),
      cmocka_unit_test(test_pending_bound),
      cmocka_unit_test(test_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
