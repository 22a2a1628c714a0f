#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "uuid.h"

#include <string.h>

static void test_format(void **unused) {
  uint8_t ones[16], zeros[16] = {0};
  char buf[AN_UUID_LEN + 1];
  memset(ones, 0xff, sizeof(ones));
  assert_string_equal(an_uuid_format(zeros, buf),
                      "00000000-0000-4000-8000-000000000000");
  assert_string_equal(an_uuid_format(ones, buf),
                      "ffffffff-ffff-4fff-bfff-ffffffffffff");
  assert_true(an_uuid_valid(buf));
}

static void test_valid(void **unused) {
  assert_true(an_uuid_valid("123E4567-e89b-12d3-a456-426614174000"));
  assert_false(an_uuid_valid("123e4567e89b12d3a456426614174000"));
  assert_false(an_uuid_valid("123e4567-e89b-12d3-a456-42661417400g"));
  assert_false(an_uuid_valid("123e4567-e89b-12d3-a456-4266141740000"));
  assert_false(an_uuid_valid(""));
  assert_false(an_uuid_valid(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_valid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
