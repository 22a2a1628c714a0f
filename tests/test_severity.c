#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "severity.h"

#include <errno.h>
#include <math.h>

static void test_default_bands(void **unused) {
  assert_int_equal(an_severity_of(NULL, 0.0), AN_SEVERITY_NONE);
  assert_int_equal(an_severity_of(NULL, 0.49), AN_SEVERITY_NONE);
  assert_int_equal(an_severity_of(NULL, 0.5), AN_SEVERITY_LOW);
  assert_int_equal(an_severity_of(NULL, 0.7), AN_SEVERITY_MEDIUM);
  assert_int_equal(an_severity_of(NULL, 0.85), AN_SEVERITY_HIGH);
  assert_int_equal(an_severity_of(NULL, 0.95), AN_SEVERITY_CRITICAL);
  assert_int_equal(an_severity_of(NULL, 1.0), AN_SEVERITY_CRITICAL);
  assert_int_equal(an_severity_of(NULL, NAN), AN_SEVERITY_NONE);
}

static void test_custom_bands(void **unused) {
  an_severity_bands_t b = {
      .low = 0.3, .medium = 0.4, .high = 0.6, .critical = 0.9};
  assert_int_equal(an_severity_check_bands(&b), 0);
  assert_int_equal(an_severity_of(&b, 0.35), AN_SEVERITY_LOW);
  assert_int_equal(an_severity_of(&b, 0.8), AN_SEVERITY_HIGH);
  b.high = 0.3;
  assert_int_equal(an_severity_check_bands(&b), EINVAL);
  b = (an_severity_bands_t){.low = 0, .medium = .5, .high = .6, .critical = .7};
  assert_int_equal(an_severity_check_bands(&b), EINVAL);
  b = (an_severity_bands_t){
      .low = .1, .medium = .5, .high = .6, .critical = 1.1};
  assert_int_equal(an_severity_check_bands(&b), EINVAL);
}

static void test_names(void **unused) {
  an_severity_t s;
  assert_int_equal(an_severity_parse("HIGH", &s), 0);
  assert_int_equal(s, AN_SEVERITY_HIGH);
  assert_string_equal(an_severity_name(AN_SEVERITY_CRITICAL), "critical");
  assert_string_equal(an_severity_name((an_severity_t)42), "none");
  assert_int_equal(an_severity_parse("none", &s), EINVAL);
  assert_int_equal(an_severity_parse("severe", &s), EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_bands),
      cmocka_unit_test(test_custom_bands),
      cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
