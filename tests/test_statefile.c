/* The state file round trip, and every kind of bad file starts fresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "statefile.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path = "/tmp/test_statefile.state";

static an_series_table_t *learned(void) {
  an_series_table_t *t = an_series_table_create(an_detector_find("default"));
  test_rng_t rng = {5};
  an_result_t r;
  char key[64];
  for (int k = 0; k < 50; k++) {
    snprintf(key, sizeof(key), "host/app-%d/gauge-v", k);
    for (int i = 0; i < 300; i++)
      an_series_table_update(t, key, i * 10.0, 50 + test_rng_normal(&rng), &r);
  }
  an_series_table_set_sensitivity(t, "host/app-3/gauge-v", 0.5);
  return t;
}

static void test_round_trip(void **unused) {
  char err[256];
  an_series_table_t *a = learned();
  an_series_table_t *b = an_series_table_create(an_detector_find("default"));
  assert_int_equal(an_statefile_save(a, "default", path, err, sizeof(err)), 0);
  assert_int_equal(an_statefile_load(b, "default", path, err, sizeof(err)), 50);
  an_result_t ra, rb;
  an_series_table_update(a, "host/app-3/gauge-v", 3000, 90, &ra);
  an_series_table_update(b, "host/app-3/gauge-v", 3000, 90, &rb);
  assert_true(ra.score == rb.score && ra.seen == rb.seen);
  an_series_table_destroy(a);
  an_series_table_destroy(b);
  unlink(path);
}

/* The default detector as an older release saved it: same name, another
 * version of its state. */
static void old_init(void *state, const an_hint_t *unused) {
  memset(state, 0, 64);
}
static void old_update(void *state, double t, double x, an_result_t *r) {
  *r = (an_result_t){.p_value = 1};
}
static const an_detector_class_t old_default = {
    .name = "default",
    .version = 2,
    .state_size = 64,
    .init = old_init,
    .update = old_update,
};

/* Series saved by another version of the detector start afresh, and the
 * loader says how many (the plugin logs it). */
static void test_old_version_refused(void **unused) {
  char err[256];
  an_series_table_t *old = an_series_table_create(&old_default);
  an_result_t r;
  an_series_table_update(old, "host/app-1/gauge-v", 10, 1, &r);
  an_series_table_update(old, "host/app-2/gauge-v", 10, 1, &r);
  assert_int_equal(an_statefile_save(old, "default", path, err, sizeof(err)),
                   0);
  an_series_table_t *t = an_series_table_create(an_detector_find("default"));
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), 0);
  assert_non_null(strstr(err, "2 series not restored"));
  assert_int_equal(an_series_table_count(t), 0);
  an_series_table_destroy(old);
  an_series_table_destroy(t);
  unlink(path);
}

static void write_file(const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  fwrite(data, 1, len, f);
  fclose(f);
}

static void test_bad_files(void **unused) {
  char err[256];
  an_series_table_t *t = an_series_table_create(an_detector_find("default"));
  unlink(path);
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)),
                   -1); /* missing */
  write_file("not a state file at all, really", 32);
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "not a state file"));

  an_series_table_t *a = learned();
  assert_int_equal(an_statefile_save(a, "default", path, err, sizeof(err)), 0);
  assert_int_equal(an_statefile_load(t, "other", path, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "another detector"));
  FILE *f = fopen(path, "rb");
  unsigned char buf[65536];
  size_t len = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  write_file(buf, len / 2); /* truncated */
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  buf[len - 5] ^= 0xff; /* damaged */
  write_file(buf, len);
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  assert_int_equal(an_series_table_count(t), 0); /* nothing half-restored */
  an_series_table_destroy(a);
  an_series_table_destroy(t);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_old_version_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
