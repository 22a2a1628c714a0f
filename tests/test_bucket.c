/* The token bucket, with no clock but the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bucket.h"

static void test_bucket(void **unused) {
  an_bucket_t b = {0};
  int retry = 0;
  assert_true(an_bucket_take(&b, 2, 3, 100.0, &retry)); /* a full burst */
  assert_true(an_bucket_take(&b, 2, 3, 100.0, &retry));
  assert_true(an_bucket_take(&b, 2, 3, 100.0, &retry));
  assert_false(an_bucket_take(&b, 2, 3, 100.0, &retry));
  assert_int_equal(retry, 1);
  assert_true(an_bucket_take(&b, 2, 3, 100.5, &retry)); /* 2/s refills */
  assert_false(an_bucket_take(&b, 2, 3, 100.5, &retry));
  assert_true(an_bucket_take(&b, 2, 3, 1000.0, &retry)); /* capped at 3 */
  assert_true(an_bucket_take(&b, 2, 3, 1000.0, &retry));
  assert_true(an_bucket_take(&b, 2, 3, 1000.0, &retry));
  assert_false(an_bucket_take(&b, 2, 3, 1000.0, &retry));
  an_bucket_t slow = {0};
  assert_true(an_bucket_take(&slow, 0.1, 1, 5.0, &retry));
  assert_false(an_bucket_take(&slow, 0.1, 1, 5.0, &retry));
  assert_int_equal(retry, 10); /* whole seconds, rounded up */
}

/* Peeking refills but takes nothing. */
static void test_bucket_peek(void **unused) {
  an_bucket_t b = {0};
  int retry = 0;
  assert_true(an_bucket_peek(&b, 0.1, 2, 10.0, &retry));
  assert_true(an_bucket_take(&b, 0.1, 2, 10.0, &retry));
  assert_true(an_bucket_peek(&b, 0.1, 2, 10.0, &retry));
  assert_true(an_bucket_peek(&b, 0.1, 2, 10.0, &retry));
  assert_true(an_bucket_take(&b, 0.1, 2, 10.0, &retry));
  assert_false(an_bucket_peek(&b, 0.1, 2, 10.0, &retry));
  assert_int_equal(retry, 10);
  assert_true(an_bucket_peek(&b, 0.1, 2, 20.0, &retry));
}

/* The plugin's notification limit asks no retry time. */
static void test_bucket_without_retry(void **unused) {
  an_bucket_t b = {0};
  assert_true(an_bucket_take(&b, 10, 2, 50.0, NULL));
  assert_true(an_bucket_take(&b, 10, 2, 50.0, NULL));
  assert_false(an_bucket_take(&b, 10, 2, 50.0, NULL));
  assert_false(an_bucket_peek(&b, 10, 2, 50.0625, NULL));
  assert_true(an_bucket_take(&b, 10, 2, 50.125, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bucket),
      cmocka_unit_test(test_bucket_peek),
      cmocka_unit_test(test_bucket_without_retry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
