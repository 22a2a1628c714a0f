/* Once-per-interval logging, at the test's times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lograte.h"

#include <syslog.h>

static void test_once_per_interval(void **unused) {
  an_lograte_t r = AN_LOGRATE_INIT(60);
  assert_int_equal(an_lograte_log(&r, 100.0, LOG_ERR, "disk full"), 1);
  for (int i = 0; i < 1000; i++) /* a flood within the interval */
    assert_int_equal(an_lograte_log(&r, 100.0 + i * 0.05, LOG_ERR, "x"), 0);
  assert_int_equal(r.left_out, 1000);
  assert_int_equal(an_lograte_log(&r, 160.5, LOG_ERR, "disk full"), 1);
  assert_int_equal(r.left_out, 0); /* said in that line */
  assert_int_equal(an_lograte_log(&r, 170.0, LOG_ERR, "disk full"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_once_per_interval),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
