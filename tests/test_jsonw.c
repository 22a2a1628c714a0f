/* The JSON writer: the text it writes is the text yajl_gen wrote before
 * it replaced it (answers keep their bytes), it is always valid JSON, and
 * running out of memory is reported once, at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jsonw.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* realloc fails from the fail_at'th call on (0: never). */
static int fail_at, reallocs;
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) {
  if (fail_at > 0 && ++reallocs >= fail_at)
    return NULL;
  return __real_realloc(p, n);
}

/* The text one value writes, without the brackets of the array around
 * it. */
typedef void (*write_fn)(an_jw_t *w, double v);
static void written(write_fn fn, double v, char *out, size_t len) {
  an_jw_t w;
  an_jw_init(&w);
  an_jw_array_open(&w);
  fn(&w, v);
  an_jw_array_close(&w);
  assert_int_equal(an_jw_failed(&w), 0);
  assert_true(w.len >= 2 && w.len - 2 < len);
  memcpy(out, w.buf + 1, w.len - 2);
  out[w.len - 2] = '\0';
  an_jw_free(&w);
}

static void assert_like_printf(double v) {
  char got[64], want[64];
  written(an_jw_double, v, got, sizeof(got));
  snprintf(want, sizeof(want), "%.10g", v);
  if (strcmp(got, want) != 0)
    fail_msg("%.17g: wrote %s, printf writes %s", v, got, want);
}

static void test_numbers_read_as_printf_writes_them(void **unused) {
  static const double fixed[] = {0,
                                 1,
                                 0.1,
                                 0.92,
                                 85.5,
                                 72.3,
                                 40,
                                 1e-4,
                                 9.99999999995e-5,
                                 1e-5,
                                 2.5e-4,
                                 0.5,
                                 123456789.5, /* a tie */
                                 999999999.95,
                                 999999999.94,
                                 1e9,
                                 1e10,
                                 1705744800.25,
                                 99999.999995,
                                 0.12345678905,
                                 3.14159265358979,
                                 1e300,
                                 4.9e-324};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    assert_like_printf(fixed[i]);
    assert_like_printf(-fixed[i]);
  }
  uint64_t s = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < 30000; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    double unit = (double)(s >> 11) / 9007199254740992.0, v;
    switch (i % 4) {
    case 0: /* scores */
      v = unit;
      break;
    case 1: /* short decimals, as sent */
      v = (double)(s % 100000000) / pow(10, (double)(s >> 60));
      break;
    case 2: /* any magnitude */
      v = unit * pow(10, (double)(int)((s >> 40) % 30) - 12);
      break;
    default: /* any bits */
      memcpy(&v, &s, sizeof(v));
      if (!isfinite(v))
        continue;
    }
    assert_like_printf(v);
  }
}

/* What another program stores reads back as the very same double. */
static void test_exact_doubles_read_back(void **unused) {
  char got[64];
  uint64_t s = 0x2545f4914f6cdd1du;
  for (int i = 0; i < 30000; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    double v;
    memcpy(&v, &s, sizeof(v));
    if (!isfinite(v))
      continue;
    written(an_jw_double_exact, v, got, sizeof(got));
    double back = strtod(got, NULL);
    if (memcmp(&back, &v, sizeof(v)) != 0)
      fail_msg("%a written as %s", v, got);
  }
  written(an_jw_double_exact, 0.5, got, sizeof(got));
  assert_string_equal(got, "0.5");
}

static void test_non_finite_is_null(void **unused) {
  char got[64];
  written(an_jw_double, NAN, got, sizeof(got));
  assert_string_equal(got, "null");
  written(an_jw_double, INFINITY, got, sizeof(got));
  assert_string_equal(got, "null");
  written(an_jw_double_exact, -INFINITY, got, sizeof(got));
  assert_string_equal(got, "null");
}

static void integer(an_jw_t *w, double v) { an_jw_integer(w, (long long)v); }

static void test_integers(void **unused) {
  static const long long fixed[] = {0,  1,          -1,        9,
                                    10, 1705744800, LLONG_MAX, LLONG_MIN};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    char want[32];
    an_jw_t w;
    an_jw_init(&w);
    an_jw_integer(&w, fixed[i]);
    snprintf(want, sizeof(want), "%lld", fixed[i]);
    assert_string_equal(w.buf, want);
    an_jw_free(&w);
  }
  char got[32];
  written(integer, 40, got, sizeof(got));
  assert_string_equal(got, "40");
}

/* Strings as yajl_gen escaped them: '/' and DEL as they are, the short
 * escapes, other control characters as \u00XX in capitals. */
static void test_escapes(void **unused) {
  static const char *const cases[][2] = {
      {"", "\"\""},
      {"plain", "\"plain\""},
      {"quote \" and \\ backslash", "\"quote \\\" and \\\\ backslash\""},
      {"a/b", "\"a/b\""},
      {"tab\tnl\ncr\r", "\"tab\\tnl\\ncr\\r\""},
      {"\b\f\x01\x1f\x7f", "\"\\b\\f\\u0001\\u001F\x7f\""},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    an_jw_t w;
    an_jw_init(&w);
    an_jw_string(&w, cases[i][0]);
    assert_string_equal(w.buf, cases[i][1]);
    assert_int_equal(w.len, strlen(cases[i][1]));
    an_jw_free(&w);
  }
}

static void test_bad_utf8_becomes_replacement(void **unused) {
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  /* a stray byte, a sequence cut short, one cut at the end */
  an_jw_str(&w, "k",
            "a\xff\xc3"
            "b\xe2\x82");
  an_jw_str(&w, "next", "x");
  an_jw_str(&w, "\xc0\xaf", "key"); /* a key too (found by the fuzzer) */
  /* a surrogate, and a sequence cut by the length, not by a NUL */
  an_jw_key(&w, "len");
  an_jw_string_len(&w, "\xed\xa0\x80z\xe2\x82\xac", 6);
  an_jw_key(&w, "nul");
  an_jw_string_len(&w, "a\0b", 3);
  an_jw_map_close(&w);
  assert_string_equal(w.buf, "{\"k\":\"a\xef\xbf\xbd\xef\xbf\xbd"
                             "b\xef\xbf\xbd\xef\xbf\xbd\",\"next\":\"x\","
                             "\"\xef\xbf\xbd\xef\xbf\xbd\":\"key\","
                             "\"len\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                             "z\xef\xbf\xbd\xef\xbf\xbd\","
                             "\"nul\":\"a\\u0000b\"}");
  an_jw_free(&w);
}

/* Commas, keys and nesting, as yajl_gen laid them out. */
static void test_document(void **unused) {
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_jw_key(&w, "results");
  an_jw_array_open(&w);
  for (int i = 0; i < 2; i++) {
    an_jw_map_open(&w);
    an_jw_num(&w, "n", 0.1 * (double)i - 0.25);
    an_jw_num(&w, "nan", NAN);
    an_jw_bool(&w, "b", i % 2);
    an_jw_str(&w, "null", NULL);
    an_jw_int(&w, "i", -i);
    an_jw_time(&w, "at", 1705744800.25);
    an_jw_time(&w, "never", NAN);
    an_jw_key(&w, "empty");
    an_jw_map_open(&w);
    an_jw_map_close(&w);
    an_jw_key(&w, "list");
    an_jw_array_open(&w);
    for (int k = 0; k < 3; k++)
      an_jw_double(&w, k);
    an_jw_string(&w, "x");
    an_jw_null(&w);
    an_jw_number_text(&w, "1e5", 3);
    an_jw_array_open(&w);
    an_jw_array_close(&w);
    an_jw_array_close(&w);
    an_jw_map_close(&w);
  }
  an_jw_array_close(&w);
  an_jw_map_close(&w);
  char *text = an_jw_take(&w);
  assert_non_null(text);
  assert_null(w.buf); /* taken: w is empty */
  assert_string_equal(
      text, "{\"results\":["
            "{\"n\":-0.25,\"nan\":null,\"b\":false,\"null\":null,\"i\":0,"
            "\"at\":\"2024-01-20T10:00:00.250Z\",\"never\":null,"
            "\"empty\":{},\"list\":[0,1,2,\"x\",null,1e5,[]]},"
            "{\"n\":-0.15,\"nan\":null,\"b\":true,\"null\":null,\"i\":-1,"
            "\"at\":\"2024-01-20T10:00:00.250Z\",\"never\":null,"
            "\"empty\":{},\"list\":[0,1,2,\"x\",null,1e5,[]]}]}");
  free(text);
  an_jw_free(&w);              /* accepts an empty writer */
  assert_null(an_jw_take(&w)); /* nothing written */
}

/* Whichever allocation fails, the failure sticks, later writes are
 * ignored, and the end reports it; nothing leaks. Fails the first, the
 * second... allocation until the text is written. */
static void test_out_of_memory_is_sticky(void **unused) {
  char big[3000];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  for (fail_at = 1;; fail_at++) {
    an_jw_t w;
    an_jw_init(&w);
    reallocs = 0;
    an_jw_array_open(&w);
    for (int i = 0; i < 8; i++)
      an_jw_string(&w, big);
    an_jw_array_close(&w);
    if (!an_jw_failed(&w)) {
      assert_int_equal(w.len, 8 * (sizeof(big) + 2) + 1);
      an_jw_free(&w);
      break;
    }
    assert_int_equal(an_jw_failed(&w), ENOMEM);
    assert_null(an_jw_take(&w));
    assert_int_equal(an_jw_failed(&w), 0); /* taken: w is empty again */
  }
  assert_true(fail_at > 2); /* the text took more than one allocation */
  fail_at = 0;
}

/* Nesting past AN_JW_MAX_DEPTH fails the text rather than write wrong
 * commas. */
static void test_too_deep_fails(void **unused) {
  an_jw_t w;
  an_jw_init(&w);
  for (int i = 0; i < AN_JW_MAX_DEPTH; i++)
    an_jw_array_open(&w);
  assert_int_equal(an_jw_failed(&w), 0);
  an_jw_array_open(&w);
  assert_int_equal(an_jw_failed(&w), E2BIG);
  assert_null(an_jw_take(&w));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numbers_read_as_printf_writes_them),
      cmocka_unit_test(test_exact_doubles_read_back),
      cmocka_unit_test(test_non_finite_is_null),
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_bad_utf8_becomes_replacement),
      cmocka_unit_test(test_document),
      cmocka_unit_test(test_out_of_memory_is_sticky),
      cmocka_unit_test(test_too_deep_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
