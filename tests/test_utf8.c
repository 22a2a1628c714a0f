/* Strict UTF-8: the sequences a lax checker lets through (overlong forms,
 * surrogates, code points above U+10FFFF) are refused, and sanitizing
 * turns every bad byte into U+FFFD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "utf8.h"

#include <string.h>

static int valid(const char *s) { return an_utf8_valid(s, strlen(s)); }

static void test_valid(void **unused) {
  assert_true(valid(""));
  assert_true(valid("server-01"));
  assert_true(valid("caf\xc3\xa9"));      /* é */
  assert_true(valid("\xe2\x82\xac"));     /* € */
  assert_true(valid("\xed\x9f\xbf"));     /* U+D7FF */
  assert_true(valid("\xee\x80\x80"));     /* U+E000 */
  assert_true(valid("\xf0\x9f\x98\x80")); /* U+1F600 */
  assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
  assert_true(valid("\xef\xbf\xbd"));     /* U+FFFD itself */
}

static void test_invalid(void **unused) {
  assert_false(valid("\xed\xa0\x80"));     /* a surrogate, U+D800 */
  assert_false(valid("\xed\xbf\xbf"));     /* U+DFFF */
  assert_false(valid("\xc0\xaf"));         /* overlong '/' */
  assert_false(valid("\xc1\xbf"));         /* overlong */
  assert_false(valid("\xe0\x80\xaf"));     /* overlong '/' in three */
  assert_false(valid("\xf0\x80\x80\xaf")); /* overlong '/' in four */
  assert_false(valid("\xf4\x90\x80\x80")); /* U+110000 */
  assert_false(valid("\xf5\x80\x80\x80")); /* above it */
  assert_false(valid("\xff\xfe"));
  assert_false(valid("\x80"));         /* a lone continuation */
  assert_false(valid("caf\xc3"));      /* cut short */
  assert_false(valid("\xe2\x82"));     /* cut short */
  assert_false(valid("\xe2\x28\xa1")); /* not a continuation */
  /* the length counts: a character cut by len is not one */
  assert_false(an_utf8_valid("\xc3\xa9", 1));
  assert_true(an_utf8_valid("a\0b", 3));
}

static void test_sanitize(void **unused) {
  char out[64];
  assert_string_equal(an_utf8_sanitize("web-1", out, sizeof(out)), "web-1");
  assert_string_equal(an_utf8_sanitize("host\xff", out, sizeof(out)),
                      "host\xef\xbf\xbd");
  /* each byte of a bad sequence becomes one U+FFFD */
  assert_string_equal(an_utf8_sanitize("a\xed\xa0\x80z", out, sizeof(out)),
                      "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz");
  assert_string_equal(an_utf8_sanitize("\xc0\xaf", out, sizeof(out)),
                      "\xef\xbf\xbd\xef\xbf\xbd");
  assert_string_equal(an_utf8_sanitize("caf\xc3\xa9", out, sizeof(out)),
                      "caf\xc3\xa9");
  assert_true(valid(an_utf8_sanitize("\xf4\x90\x80\x80\xfe", out, 64)));
  /* too small: cut at a character, never inside one */
  assert_string_equal(an_utf8_sanitize("ab\xc3\xa9", out, 4), "ab");
  assert_string_equal(an_utf8_sanitize("ab\xff", out, 5), "ab");
  assert_string_equal(an_utf8_sanitize("abc", out, 1), "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_sanitize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
