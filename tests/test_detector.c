/* The detector interface: the table, saving and restoring, explanations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "detector.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_table(void **unused) {
  const an_detector_class_t *d = an_detector_find("default");
  assert_non_null(d);
  assert_ptr_equal(an_detector_find("DEFAULT"), d);
  assert_ptr_equal(an_detector_at(0), d);
  assert_null(an_detector_find("no-such-detector"));
  assert_null(an_detector_find(NULL));
  for (size_t i = 0; an_detector_at(i) != NULL; i++) {
    const an_detector_class_t *c = an_detector_at(i);
    assert_non_null(c->init);
    assert_non_null(c->update);
    assert_true(c->state_size > 0);
    assert_ptr_equal(an_detector_find(c->name), c);
  }
}

/* Every detector's restored state scores exactly as the original would. */
static void test_save_restore_every_detector(void **unused) {
  for (size_t i = 0; an_detector_at(i) != NULL; i++) {
    const an_detector_class_t *c = an_detector_at(i);
    void *a = malloc(c->state_size), *b = malloc(c->state_size);
    size_t len = an_detector_saved_size(c);
    unsigned char *blob = malloc(len);
    test_rng_t rng = {7};
    an_result_t ra, rb;

    c->init(a, NULL);
    for (int k = 0; k < 500; k++)
      c->update(a, k * 10.0, 50 + 3 * test_rng_normal(&rng), &ra);
    assert_int_equal(an_detector_save(c, a, blob, len), len);
    assert_int_equal(an_detector_save(c, a, blob, len - 1), 0);
    c->init(b, NULL);
    assert_int_equal(an_detector_restore(c, b, blob, len), 0);
    for (int k = 500; k < 600; k++) {
      double x = k == 550 ? 90 : 50 + 3 * test_rng_normal(&rng);
      c->update(a, k * 10.0, x, &ra);
      c->update(b, k * 10.0, x, &rb);
      assert_true(ra.score == rb.score);
      assert_true(ra.expected == rb.expected);
    }
    free(a);
    free(b);
    free(blob);
  }
}

static void test_restore_rejects_damage(void **unused) {
  const an_detector_class_t *c = an_detector_find("default");
  void *s = malloc(c->state_size), *fresh = malloc(c->state_size);
  size_t len = an_detector_saved_size(c);
  unsigned char *blob = malloc(len);
  an_result_t r;

  c->init(s, NULL);
  for (int k = 0; k < 100; k++)
    c->update(s, k, k % 7, &r);
  an_detector_save(c, s, blob, len);
  c->init(fresh, NULL);
  memcpy(s, fresh, c->state_size);

  assert_int_equal(an_detector_restore(c, s, blob, len - 1), EINVAL);
  assert_int_equal(an_detector_restore(c, s, NULL, len), EINVAL);
  for (size_t i = 0; i < len; i += 3) { /* any flipped byte is caught */
    blob[i] ^= 0x40;
    assert_int_equal(an_detector_restore(c, s, blob, len), EINVAL);
    blob[i] ^= 0x40;
  }
  assert_memory_equal(s, fresh, c->state_size); /* untouched by failures */
  assert_int_equal(an_detector_restore(c, s, blob, len), 0);
  free(s);
  free(fresh);
  free(blob);
}

static void test_explain(void **unused) {
  char buf[200];
  an_result_t r = {.score = 0.9,
                   .expected = 12.3,
                   .deviation = 3.5,
                   .spread = 1,
                   .horizon = 3600,
                   .kind = AN_KIND_SPIKE};
  an_explain(&r, 15.8, "cpu-0/cpu-user", buf, sizeof(buf));
  assert_string_equal(buf, "cpu-0/cpu-user rose 3.5 above its usual 12.3, "
                           "to 15.8, 3.5\xcf\x83");
  r.kind = AN_KIND_LEVEL_DOWN;
  r.deviation = -4;
  r.horizon = 1200;
  an_explain(&r, 8.3, NULL, buf, sizeof(buf));
  assert_string_equal(buf, "value shifted down 4 from its usual 12.3, to "
                           "8.3, 4.0\xcf\x83");
  r = (an_result_t){.score = 0.9,
                    .expected = 5.2e6,
                    .unit = AN_UNIT_BYTES_PER_S,
                    .kind = AN_KIND_OUTAGE,
                    .duration = 600};
  an_explain(&r, 300, "eth0 rx", buf, sizeof(buf));
  assert_string_equal(buf, "eth0 rx dropped to 300 B/s from a usual 5.2 MB/s, "
                           "for 10 min");
  r = (an_result_t){.score = 0.9,
                    .unit = AN_UNIT_CELSIUS,
                    .kind = AN_KIND_FLATLINE,
                    .duration = 3600};
  an_explain(&r, 41.25, "temp", buf, sizeof(buf));
  assert_string_equal(buf, "temp stuck at 41.25 \xc2\xb0"
                           "C for 60 min");
  r = (an_result_t){.score = 0.9,
                    .unit = AN_UNIT_BYTES,
                    .kind = AN_KIND_TREND,
                    .slope = 1181116006.4 / 3600,
                    .duration = 4 * 3600};
  an_explain(&r, 3e9, "heap", buf, sizeof(buf));
  assert_string_equal(buf, "heap rising +1.1 GiB/h for 4 h, now 2.79 GiB");
  /* a huge value reads at human scale: no run of a dozen digits */
  r = (an_result_t){.score = 1,
                    .expected = 21,
                    .deviation = 1e306,
                    .unit = AN_UNIT_BYTES_PER_S,
                    .kind = AN_KIND_SPIKE};
  an_explain(&r, 1e308, "eth0 rx", buf, sizeof(buf));
  assert_true(strlen(buf) < 100);
  for (const char *c = buf, *run = buf; *c != '\0'; c++) {
    if (*c < '0' || *c > '9')
      run = c + 1;
    assert_true(c - run < 12);
  }
  an_explain(&r, 8.3, "x", buf, 8); /* truncates, never overflows */
  assert_int_equal(strlen(buf), 7);
  assert_string_equal(an_kind_name(AN_KIND_DIP), "dip");
  assert_string_equal(an_kind_name(AN_KIND_LEVEL_UP), "shift");
  assert_string_equal(an_kind_name((an_kind_t)99), "none");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_save_restore_every_detector),
      cmocka_unit_test(test_restore_rejects_damage),
      cmocka_unit_test(test_explain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
