/* The token bucket and the page token, with no clock but the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"
#include "token.h"

#include <errno.h>
#include <string.h>

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

static void test_token(void **unused) {
  char buf[200], id[64];
  double t;
  int page;
  an_token_encode(1705744800.25, "c2154906-5600-4b24-93b8-6018f20ea9df", 3, buf,
                  sizeof(buf));
  assert_null(strpbrk(buf, "+/= "));
  assert_int_equal(an_token_decode(buf, &t, id, sizeof(id), &page), 0);
  assert_true(t == 1705744800.25);
  assert_string_equal(id, "c2154906-5600-4b24-93b8-6018f20ea9df");
  assert_int_equal(page, 3);
  const char *bad[] = {"", "garbage!", "djF8", "eyJjcmVhdGVkX2F0IjoiMjAyNSJ9"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(an_token_decode(bad[i], &t, id, sizeof(id), &page),
                     EINVAL);
  assert_int_equal(an_token_decode(buf, &t, id, 8, &page), EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bucket),
      cmocka_unit_test(test_token),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
