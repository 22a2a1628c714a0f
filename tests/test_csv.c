#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "csv.h"

#include <errno.h>
#include <math.h>
#include <string.h>

static void test_good_rows(void **unused) {
  char line[] = "2014-04-01 00:05:00,20.5\r\n";
  an_csv_point_t p;
  char err[128];
  assert_int_equal(an_csv_parse_point(line, &p, err, sizeof(err)), 0);
  assert_string_equal(p.timestamp, "2014-04-01 00:05:00");
  assert_string_equal(p.value_text, "20.5");
  assert_true(p.value == 20.5);
  assert_true(p.t == 1396310700.0);

  char epoch[] = "1700000000,-1e-300";
  assert_int_equal(an_csv_parse_point(epoch, &p, err, sizeof(err)), 0);
  assert_true(p.value == -1e-300);

  char nan_row[] = "1700000000,nan";
  assert_int_equal(an_csv_parse_point(nan_row, &p, err, sizeof(err)), 0);
  assert_true(isnan(p.value));

  char huge[] = "1700000000,1e999";
  assert_int_equal(an_csv_parse_point(huge, &p, err, sizeof(err)), 0);
  assert_true(isinf(p.value));
}

static void expect_error(const char *row, const char *fragment) {
  char line[128];
  an_csv_point_t p;
  char err[128] = "";
  strcpy(line, row);
  assert_int_equal(an_csv_parse_point(line, &p, err, sizeof(err)), EINVAL);
  if (strstr(err, fragment) == NULL)
    fail_msg("error for '%s' was '%s', wanted '%s'", row, err, fragment);
}

static void test_bad_rows(void **unused) {
  expect_error("2014-04-01 00:05:00", "missing value column");
  expect_error("2014-04-01 00:05:00,", "empty value");
  expect_error("2014-04-01 00:05:00,abc", "value 'abc' is not a number");
  expect_error("2014-04-01 00:05:00,1.5x", "is not a number");
  expect_error(",1.5", "empty timestamp");
  expect_error("noon,1.5", "timestamp 'noon'");
  expect_error("1,2,3", "too many columns");
}

static void test_header(void **unused) {
  assert_true(an_csv_is_header("timestamp,value\n"));
  assert_false(an_csv_is_header("2014-04-01 00:00:00,20.0\n"));
  assert_false(an_csv_is_header("no comma"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_rows),
      cmocka_unit_test(test_bad_rows),
      cmocka_unit_test(test_header),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
