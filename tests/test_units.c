/* collectd's types say what values mean, and numbers read as people
 * write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "units.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static void test_hint_of_type(void **unused) {
  an_hint_t h;
  assert_int_equal(an_hint_of_type("percent", &h), 0);
  assert_int_equal(h.unit, AN_UNIT_PERCENT);
  assert_true(h.max == 100 && h.floor > 0 && !h.bursty);
  assert_int_equal(an_hint_of_type("if_octets", &h), 0);
  assert_int_equal(h.unit, AN_UNIT_BYTES_PER_S);
  assert_true(h.bursty && isinf(h.max));
  assert_int_equal(an_hint_of_type("no_such_type", &h), ENOENT);
  assert_int_equal(h.unit, AN_UNIT_NONE);
  assert_true(h.floor == 0 && isinf(h.max) && !h.bursty);
  assert_int_equal(an_hint_of_type(NULL, &h), ENOENT);
}

static void test_format(void **unused) {
  char b[64];
  assert_string_equal(an_unit_format(AN_UNIT_BYTES_PER_S, 7.584e7, b, 64),
                      "75.8 MB/s");
  assert_string_equal(an_unit_format(AN_UNIT_BYTES, 1181116006.4, b, 64),
                      "1.1 GiB");
  assert_string_equal(an_unit_format(AN_UNIT_PERCENT, 12.3, b, 64), "12.3 %");
  assert_string_equal(an_unit_format(AN_UNIT_CELSIUS, 41.25, b, 64),
                      "41.25 \xc2\xb0"
                      "C");
  assert_string_equal(an_unit_format(AN_UNIT_SECONDS, 0.35, b, 64), "350 ms");
  assert_string_equal(an_unit_format(AN_UNIT_MILLISECONDS, 2.5, b, 64),
                      "2.5 ms");
  assert_string_equal(an_unit_format(AN_UNIT_NONE, 8200, b, 64), "8200");
  assert_string_equal(an_unit_format(AN_UNIT_PER_S, 27, b, 64), "27/s");
  assert_string_equal(an_unit_format(AN_UNIT_PER_S, 3.5e5, b, 64), "350 k/s");
  assert_string_equal(an_unit_format(AN_UNIT_NONE, 10380, b, 64), "10380");
  assert_string_equal(an_unit_format(AN_UNIT_NONE, 7.584e7, b, 64), "75.8 M");
  assert_string_equal(an_unit_format(AN_UNIT_NONE, 0.4, b, 64), "0.4");
  assert_string_equal(an_unit_format(AN_UNIT_NONE, NAN, b, 64), "nan");
  an_unit_format(AN_UNIT_BYTES, 1e300, b, 8); /* truncates, never overflows */
  assert_int_equal(strlen(b), 7);
}

static void test_slope_and_duration(void **unused) {
  char b[64];
  assert_string_equal(
      an_unit_format_slope(AN_UNIT_BYTES, 1181116006.4 / 3600, b, 64),
      "+1.1 GiB/h");
  assert_string_equal(an_unit_format_slope(AN_UNIT_PERCENT, -1e-6, b, 64),
                      "-0.0864 %/d");
  assert_string_equal(an_duration_format(40, b, 64), "40 s");
  assert_string_equal(an_duration_format(3600, b, 64), "60 min");
  assert_string_equal(an_duration_format(4 * 3600, b, 64), "4 h");
  assert_string_equal(an_duration_format(3 * 86400, b, 64), "3 d");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hint_of_type),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_slope_and_duration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
