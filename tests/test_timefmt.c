#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "timefmt.h"

#include <errno.h>

static void test_parse_forms(void **unused) {
  double t;
  assert_int_equal(an_time_parse_iso8601("2024-01-20T10:00:00Z", &t), 0);
  assert_true(t == 1705744800.0);
  assert_int_equal(an_time_parse_iso8601("2024-01-20 10:00:00", &t), 0);
  assert_true(t == 1705744800.0);
  assert_int_equal(an_time_parse_iso8601("2024-01-20T12:00:00+02:00", &t), 0);
  assert_true(t == 1705744800.0);
  assert_int_equal(an_time_parse_iso8601("2024-01-20T10:00:00.250Z", &t), 0);
  assert_true(t == 1705744800.25);
  assert_int_equal(an_time_parse_iso8601("2024-01-20", &t), 0);
  assert_true(t == 1705708800.0);
  assert_int_equal(an_time_parse_iso8601("1970-01-01T00:00:00Z", &t), 0);
  assert_true(t == 0.0);
  assert_int_equal(an_time_parse_iso8601("2024-02-29T00:00Z", &t), 0);
  assert_int_equal(an_time_parse("1700000000", &t), 0);
  assert_true(t == 1700000000.0);
}

static void test_parse_rejects(void **unused) {
  double t = 42;
  const char *bad[] = {"",
                       "2024",
                       "2024-13-01",
                       "2023-02-29",
                       "2024-01-32",
                       "2024-01-20T25:00:00Z",
                       "2024-01-20T10:00:00Q",
                       "2024-01-20T10",
                       "20240120",
                       "yesterday",
                       "2024-01-20T10:00:00.Z",
                       "2024-01-20T10:00+24:00"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(an_time_parse_iso8601(bad[i], &t), EINVAL);
  }
  assert_int_equal(an_time_parse("12abc", &t), EINVAL);
  assert_int_equal(an_time_parse("inf", &t), EINVAL);
  assert_true(t == 42); /* untouched on failure */
}

static void test_format_round_trip(void **unused) {
  char buf[40];
  double t;
  assert_string_equal(an_time_format(1705744800.0, buf, sizeof(buf)),
                      "2024-01-20T10:00:00Z");
  assert_string_equal(an_time_format(1705744800.5, buf, sizeof(buf)),
                      "2024-01-20T10:00:00.500Z");
  assert_int_equal(an_time_parse_iso8601(buf, &t), 0);
  assert_true(t == 1705744800.5);
  assert_null(an_time_format(1705744800.0, buf, 10));
  assert_null(an_time_format(1e300, buf, sizeof(buf)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_forms),
      cmocka_unit_test(test_parse_rejects),
      cmocka_unit_test(test_format_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
