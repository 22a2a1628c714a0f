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

/* A plugin's series table, its models and a blob of names. */
typedef struct fixture {
  an_series_table_t *live;
  an_models_t *m;
  void *blob;
  size_t len;
  an_models_result_t r;
  char err[200];
} fixture_t;

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  f->live = an_series_table_create(det());
  f->m = an_models_create(det(), 100);
  f->blob = blob_of(names, &f->len);
  *state = f;
  return f->live != NULL && f->m != NULL ? 0 : -1;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  free(f->blob);
  an_models_free(f->m);
  an_series_table_destroy(f->live);
  free(f);
  return 0;
}

/* Applies blob (len bytes) to f's series. */
static int apply(fixture_t *f, const void *blob, size_t len) {
  return an_models_apply(f->m, f->live, blob, len, &f->r, f->err,
                         sizeof(f->err));
}

static void test_attach_pending_older_other(void **state) {
  fixture_t *f = *state;
  size_t attached, pending;
  int stale;
  assert_int_equal(an_models_add_host(f->m, "host-a"), 0);
  feed(f->live, "host-a/cpu/user", 10);
  feed(f->live, "host-a/cpu/system", 1000);

  assert_int_equal(apply(f, f->blob, f->len), 0);
  assert_int_equal(f->r.series, 4);
  assert_int_equal(f->r.attached, 1);
  assert_int_equal(f->r.older, 1);
  assert_int_equal(f->r.pending, 1);
  assert_int_equal(f->r.other, 1);
  assert_int_equal(f->r.dropped, 0);
  assert_int_equal(seen_of(f->live, "host-a/cpu/user"), 500);
  assert_int_equal(seen_of(f->live, "host-a/cpu/system"), 1000);
  assert_int_equal(an_series_table_count(f->live), 2); /* nothing created */

  /* the pending series takes its state with its first value, once */
  feed(f->live, "host-a/mem/used", 1);
  assert_int_equal(an_models_first_value(f->m, f->live, "host-a/mem/used", 6),
                   1);
  assert_int_equal(seen_of(f->live, "host-a/mem/used"), 500);
  assert_int_equal(an_models_first_value(f->m, f->live, "host-a/mem/used", 6),
                   0);
  feed(f->live, "host-a/disk/used", 1);
  assert_int_equal(an_models_first_value(f->m, f->live, "host-a/disk/used", 6),
                   0);
  an_models_poll(f->m, &attached, &pending, &stale);
  assert_int_equal(attached, 1);
  assert_int_equal(pending, 0);
  assert_false(stale);
  an_models_poll(f->m, &attached, &pending, &stale);
  assert_int_equal(attached, 0);

  /* the same model again: what was attached has seen as much or more */
  assert_int_equal(apply(f, f->blob, f->len), 0);
  assert_int_equal(f->r.attached, 0);
  assert_int_equal(f->r.older, 3);
  assert_int_equal(f->r.other, 1);
}

/* Values of a host the model had series of, not kept: the model is
 * wanted again, and then its series are attached. A model without other
 * hosts' series is not wanted again for a new host. */
static void test_new_host_wants_model_again(void **state) {
  fixture_t *f = *state;
  size_t attached, pending, len;
  int stale;
  assert_int_equal(apply(f, f->blob, f->len), 0);
  assert_int_equal(f->r.other, 4); /* no host told: none wanted */
  feed(f->live, "host-b/cpu/user", 1);
  assert_int_equal(an_models_first_value(f->m, f->live, "host-b/cpu/user", 6),
                   0);
  an_models_poll(f->m, &attached, &pending, &stale);
  assert_true(stale);
  an_models_poll(f->m, &attached, &pending, &stale);
  assert_false(stale); /* said once */
  assert_int_equal(apply(f, f->blob, f->len), 0);
  assert_int_equal(f->r.attached, 1);
  assert_int_equal(f->r.other, 3);

  const char *const mine[] = {"host-b", "cpu/user", NULL};
  void *blob = blob_of(mine, &len);
  assert_int_equal(apply(f, blob, len), 0);
  feed(f->live, "host-c/cpu/user", 1);
  an_models_first_value(f->m, f->live, "host-c/cpu/user", 6);
  an_models_poll(f->m, &attached, &pending, &stale);
  assert_false(stale);
  free(blob);
}

/* A damaged, truncated or foreign blob is refused whole, saying why: the
 * series and the pending states of the model before stay as they were. */
static void test_bad_blob_changes_nothing(void **state) {
  fixture_t *f = *state;
  assert_int_equal(an_models_add_host(f->m, "host-a"), 0);
  feed(f->live, "host-a/cpu/user", 10);
  assert_int_equal(apply(f, f->blob, f->len), 0);
  assert_int_equal(f->r.pending, 2); /* mem/used, and cpu/system not live */

  feed(f->live, "host-a/cpu/user", 1); /* at 10000 again: seen 501 */
  static const struct {
    size_t cut;
    size_t flip;
    const char *says;
  } bad[] = {{1, 0, "truncated"}, {0, 40, "damaged"}, {0, 4, "damaged"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    unsigned char *copy = malloc(f->len);
    memcpy(copy, f->blob, f->len);
    if (bad[i].flip)
      copy[f->len - bad[i].flip] ^= 0x10;
    assert_int_equal(apply(f, copy, f->len - bad[i].cut), EINVAL);
    assert_non_null(strstr(f->err, bad[i].says));
    free(copy);
  }
  assert_int_equal(apply(f, "not a model", 11), EINVAL);
  assert_int_equal(seen_of(f->live, "host-a/cpu/user"), 501);

  /* a model of another detector than the plugin's */
  an_detector_class_t other = *det();
  other.name = "other";
  an_models_t *o = an_models_create(&other, 100);
  assert_int_equal(an_models_apply(o, f->live, f->blob, f->len, &f->r, f->err,
                                   sizeof(f->err)),
                   EINVAL);
  assert_non_null(strstr(f->err, "the plugin scores with \"other\""));
  an_models_free(o);

  /* the pending states of the good model are still there */
  feed(f->live, "host-a/mem/used", 1);
  assert_int_equal(an_models_first_value(f->m, f->live, "host-a/mem/used", 6),
                   1);
}

/* Pending series are bounded; a series twice in a model counts once. */
static void test_pending_bound(void **state) {
  fixture_t *f = *state;
  size_t len;
  const char *const many[] = {"h", "a/x", "h", "b/x", "h", "c/x",
                              "h", "d/x", "h", "a/x", NULL};
  void *blob = blob_of(many, &len);
  an_models_free(f->m);
  f->m = an_models_create(det(), 2);
  assert_int_equal(an_models_add_host(f->m, "h"), 0);
  assert_int_equal(apply(f, blob, len), 0);
  assert_int_equal(f->r.series, 5);
  assert_int_equal(f->r.pending, 2);
  assert_int_equal(f->r.dropped, 3);
  free(blob);
}

/* Every allocation of an apply failing in turn: ENOMEM or success, never
 * a crash or a leak (valgrind), and a later apply works. */
static void test_allocation_failures(void **unused) {
  long k;
  for (k = 1;; k++) {
    void *state;
    assert_int_equal(setup(&state), 0);
    fixture_t *f = state;
    assert_int_equal(an_models_add_host(f->m, "host-a"), 0);
    feed(f->live, "host-a/cpu/user", 10);
    an_faultmem_arm(k, 0);
    int rc = apply(f, f->blob, f->len);
    long failed = an_faultmem_disarm();
    if (failed == 0)
      assert_int_equal(rc, 0);
    else
      assert_int_equal(rc, ENOMEM);
    assert_int_equal(apply(f, f->blob, f->len), 0);
    assert_int_equal(f->r.pending, 2);
    teardown(&state);
    if (failed == 0)
      break;
  }
  assert_true(k > 5); /* the decoder's, the tables', the copies' */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_attach_pending_older_other, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_new_host_wants_model_again, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bad_blob_changes_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_pending_bound, setup, teardown),
      cmocka_unit_test(test_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
