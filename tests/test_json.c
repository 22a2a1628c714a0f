#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The number an_json_double writes, as text. */
static void written(double v, char *out, size_t len) {
  yajl_gen g = an_json_gen();
  const unsigned char *buf;
  size_t n;
  yajl_gen_array_open(g);
  an_json_double(g, v);
  yajl_gen_array_close(g);
  assert_int_equal(yajl_gen_get_buf(g, &buf, &n), yajl_gen_status_ok);
  assert_true(n >= 2 && n - 2 < len);
  memcpy(out, buf + 1, n - 2); /* without the brackets */
  out[n - 2] = '\0';
  yajl_gen_free(g);
}

static void assert_like_printf(double v) {
  char got[64], want[64];
  written(v, got, sizeof(got));
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

static void test_non_finite_is_null(void **unused) {
  char got[64];
  written(NAN, got, sizeof(got));
  assert_string_equal(got, "null");
  written(INFINITY, got, sizeof(got));
  assert_string_equal(got, "null");
}

/* The same document through an_jw_t and through yajl_gen. */
static void test_writer_writes_what_yajl_writes(void **unused) {
  static const char *const strings[] = {
      "",
      "plain",
      "quote \" and \\ backslash",
      "a/b",
      "tab\tnl\ncr\r",
      "\b\f\x01\x1f\x7f",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"};
  an_jw_t w;
  yajl_gen g = an_json_gen();
  an_jw_init(&w);
  an_jw_map_open(&w);
  yajl_gen_map_open(g);
  an_jw_key(&w, "results");
  an_json_key(g, "results");
  an_jw_array_open(&w);
  yajl_gen_array_open(g);
  for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
    an_jw_map_open(&w);
    yajl_gen_map_open(g);
    an_jw_str(&w, strings[i], strings[i]);
    an_json_str(g, strings[i], strings[i]);
    an_jw_num(&w, "n", 0.1 * (double)i - 0.25);
    an_json_num(g, "n", 0.1 * (double)i - 0.25);
    an_jw_num(&w, "nan", NAN);
    an_json_num(g, "nan", NAN);
    an_jw_bool(&w, "b", (int)i % 2);
    an_json_bool(g, "b", (int)i % 2);
    an_jw_str(&w, "null", NULL);
    an_json_str(g, "null", NULL);
    an_jw_key(&w, "empty");
    an_json_key(g, "empty");
    an_jw_map_open(&w);
    yajl_gen_map_open(g);
    an_jw_map_close(&w);
    yajl_gen_map_close(g);
    an_jw_key(&w, "list");
    an_json_key(g, "list");
    an_jw_array_open(&w);
    yajl_gen_array_open(g);
    for (int k = 0; k < 3; k++) {
      an_jw_double(&w, k);
      an_json_double(g, k);
    }
    an_jw_string(&w, "x");
    an_json_string(g, "x");
    an_jw_array_close(&w);
    yajl_gen_array_close(g);
    an_jw_map_close(&w);
    yajl_gen_map_close(g);
  }
  an_jw_array_close(&w);
  yajl_gen_array_close(g);
  an_jw_map_close(&w);
  yajl_gen_map_close(g);
  const unsigned char *want;
  size_t len;
  assert_int_equal(yajl_gen_get_buf(g, &want, &len), yajl_gen_status_ok);
  assert_int_equal(w.failed, 0);
  assert_string_equal(w.buf, (const char *)want);
  assert_int_equal(w.len, len);
  yajl_gen_free(g);
  an_jw_free(&w);
}

static void test_writer_replaces_bad_utf8(void **unused) {
  char err[64];
  an_jw_t w;
  an_jw_init(&w);
  an_jw_array_open(&w);
  /* a stray byte, a sequence cut short, one cut at the end */
  an_jw_string(&w, "a\xff\xc3"
                   "b\xe2\x82");
  an_jw_array_close(&w);
  assert_string_equal(w.buf, "[\"a\xef\xbf\xbd\xef\xbf\xbd"
                             "b\xef\xbf\xbd\xef\xbf\xbd\"]");
  yajl_val v = an_json_parse(w.buf, w.len, err, sizeof(err));
  assert_non_null(v); /* valid JSON, valid UTF-8 */
  yajl_tree_free(v);
  an_jw_free(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numbers_read_as_printf_writes_them),
      cmocka_unit_test(test_non_finite_is_null),
      cmocka_unit_test(test_writer_writes_what_yajl_writes),
      cmocka_unit_test(test_writer_replaces_bad_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
