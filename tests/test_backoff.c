/* When deliveries are retried: the outcome of an HTTP status, the backoff
 * with its jitter and cap, and Retry-After in both of its forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

#include <errno.h>

static void test_outcome(void **unused) {
  assert_int_equal(an_http_outcome(200), AN_HTTP_DELIVERED);
  assert_int_equal(an_http_outcome(202), AN_HTTP_DELIVERED);
  assert_int_equal(an_http_outcome(204), AN_HTTP_DELIVERED);
  assert_int_equal(an_http_outcome(0), AN_HTTP_RETRY); /* refused, timeout */
  assert_int_equal(an_http_outcome(408), AN_HTTP_RETRY);
  assert_int_equal(an_http_outcome(429), AN_HTTP_RETRY);
  assert_int_equal(an_http_outcome(500), AN_HTTP_RETRY);
  assert_int_equal(an_http_outcome(503), AN_HTTP_RETRY);
  assert_int_equal(an_http_outcome(400), AN_HTTP_REJECTED);
  assert_int_equal(an_http_outcome(401), AN_HTTP_REJECTED);
  assert_int_equal(an_http_outcome(404), AN_HTTP_REJECTED);
  assert_int_equal(an_http_outcome(301), AN_HTTP_REJECTED); /* not followed */
}

static void test_delay_doubles_to_the_cap(void **unused) {
  /* u = 0.999…: the top of the jitter, so the delay is nearly the step */
  double u = 0.999999;
  assert_true(an_backoff_delay(1, 60, 1, u) > 0.99);
  assert_true(an_backoff_delay(1, 60, 1, u) <= 1);
  assert_true(an_backoff_delay(1, 60, 2, u) > 1.99);
  assert_true(an_backoff_delay(1, 60, 3, u) > 3.99);
  assert_true(an_backoff_delay(1, 60, 6, u) > 31.9);
  assert_true(an_backoff_delay(1, 60, 7, u) <= 60); /* 64 capped */
  assert_true(an_backoff_delay(1, 60, 7, u) > 59.9);
  assert_true(an_backoff_delay(1, 60, 4000000000u, u) <= 60);
}

static void test_jitter_halves_at_most(void **unused) {
  for (double u = 0; u < 1; u += 0.125) {
    double d = an_backoff_delay(1, 60, 5, u); /* step 16 s */
    assert_true(d >= 8 && d < 16);
  }
  /* a broken random number does not make the delay zero or NaN */
  assert_true(an_backoff_delay(1, 60, 5, -1) == 8);
  assert_true(an_backoff_delay(1, 60, 5, 1.0 / 0.0) == 8);
}

static void test_retry_after(void **unused) {
  double s = -1;
  assert_int_equal(an_retry_after_parse("120", 0, &s), 0);
  assert_true(s == 120);
  assert_int_equal(an_retry_after_parse(" 2 ", 0, &s), 0);
  assert_true(s == 2);
  /* an HTTP date, 30 s after now */
  double now = 1445412450; /* 2015-10-21 07:27:30 UTC */
  assert_int_equal(
      an_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", now, &s), 0);
  assert_true(s == 30);
  /* a date in the past: now */
  assert_int_equal(
      an_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", now + 100, &s), 0);
  assert_true(s == 0);
  assert_int_equal(an_retry_after_parse("soon", 0, &s), EINVAL);
  assert_int_equal(an_retry_after_parse("12 seconds", 0, &s), EINVAL);
  assert_int_equal(an_retry_after_parse("", 0, &s), EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_outcome),
      cmocka_unit_test(test_delay_doubles_to_the_cap),
      cmocka_unit_test(test_jitter_halves_at_most),
      cmocka_unit_test(test_retry_after),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
