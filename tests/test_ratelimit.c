/* The table of buckets per address and the page token, with no clock
 * but the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/ratelimit.h"
#include "http/token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Failed authentications per address: each address has its own bucket,
 * and a flood of other addresses only cycles the fixed table. */
static void test_bucket_map(void **unused) {
  an_bucket_map_t *m = an_bucket_map_new(16);
  assert_non_null(m);
  int retry;
  an_bucket_t *a = an_bucket_map_get(m, "10.0.0.1", 1.0);
  assert_true(an_bucket_take(a, 0.1, 1, 1.0, &retry));
  a = an_bucket_map_get(m, "10.0.0.1", 1.0);
  assert_false(an_bucket_peek(a, 0.1, 1, 1.0, &retry)); /* remembered */
  an_bucket_t *b = an_bucket_map_get(m, "10.0.0.2", 1.0);
  assert_true(an_bucket_peek(b, 0.1, 1, 1.0, &retry)); /* its own */
  char address[32];
  for (int i = 0; i < 100000; i++) { /* later uses, other addresses */
    snprintf(address, sizeof(address), "192.168.%d.%d", i / 256, i % 256);
    an_bucket_t *x = an_bucket_map_get(m, address, 2.0 + i);
    an_bucket_take(x, 0.1, 1, 2.0 + i, &retry);
  }
  an_bucket_map_free(m);
  an_bucket_map_free(NULL);
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
      cmocka_unit_test(test_bucket_map),
      cmocka_unit_test(test_token),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
