/* The query parameters every list reads: each parser accepts what it
 * should, refuses the rest with a message naming the parameter, and the
 * page fields of an answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/query.h"
#include "http/token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The call refused its input with a message in e (the caller's
 * an_query_err_t) naming key and quoting v. */
#define assert_refused(call, key, v)                                           \
  do {                                                                         \
    e.msg[0] = '\0';                                                           \
    assert_int_equal(call, EINVAL);                                            \
    assert_non_null(strstr(e.msg, key));                                       \
    assert_non_null(strstr(e.msg, v));                                         \
  } while (0)

static void test_limit(void **unused) {
  an_query_err_t e;
  int n = 0;
  assert_int_equal(an_query_limit("limit", "1", &n, &e), 0);
  assert_int_equal(n, 1);
  assert_int_equal(an_query_limit("limit", "250", &n, &e), 0);
  assert_int_equal(n, 250);
  /* above the cap is clamped, not refused */
  assert_int_equal(an_query_limit("limit", "5000", &n, &e), 0);
  assert_int_equal(n, AN_QUERY_MAX_LIMIT);
  assert_refused(an_query_limit("limit", "0", &n, &e), "limit", "'0'");
  assert_refused(an_query_limit("limit", "-3", &n, &e), "limit", "'-3'");
  assert_refused(an_query_limit("limit", "ten", &n, &e), "limit", "'ten'");
  assert_refused(an_query_limit("limit", "10x", &n, &e), "limit", "'10x'");
  assert_refused(an_query_limit("limit", "", &n, &e), "limit", "''");
}

static void test_time(void **unused) {
  an_query_err_t e;
  double t = 0;
  assert_int_equal(an_query_time("start", "2024-01-20T10:00:00Z", &t, &e), 0);
  assert_true(t == 1705744800.0);
  assert_int_equal(an_query_time("since", "2024-01-20", &t, &e), 0);
  assert_true(t == 1705708800.0);
  assert_refused(an_query_time("end", "yesterday", &t, &e), "end",
                 "'yesterday'");
  assert_refused(an_query_time("until", "2024-13-01", &t, &e), "until",
                 "'2024-13-01'");
  assert_true(t == 1705708800.0); /* untouched on error */
}

static void test_fraction(void **unused) {
  an_query_err_t e;
  double d = -1;
  assert_int_equal(an_query_fraction("min_score", "0", &d, &e), 0);
  assert_true(d == 0);
  assert_int_equal(an_query_fraction("min_score", "0.75", &d, &e), 0);
  assert_true(d == 0.75);
  assert_int_equal(an_query_fraction("max_p_value", "1", &d, &e), 0);
  assert_true(d == 1);
  assert_refused(an_query_fraction("min_score", "1.5", &d, &e), "min_score",
                 "'1.5'");
  assert_refused(an_query_fraction("min_ncd", "-0.1", &d, &e), "min_ncd",
                 "'-0.1'");
  assert_refused(an_query_fraction("min_score", "nan", &d, &e), "min_score",
                 "'nan'");
  assert_refused(an_query_fraction("min_score", "", &d, &e), "min_score", "''");
}

static void test_bool(void **unused) {
  an_query_err_t e;
  int b = -1;
  assert_int_equal(an_query_bool("has_evidence", "true", &b, &e), 0);
  assert_int_equal(b, 1);
  assert_int_equal(an_query_bool("has_evidence", "false", &b, &e), 0);
  assert_int_equal(b, 0);
  assert_refused(an_query_bool("has_evidence", "1", &b, &e), "has_evidence",
                 "'1'");
  assert_refused(an_query_bool("has_evidence", "TRUE", &b, &e), "has_evidence",
                 "'TRUE'");
}

#define SEVERITIES "low, medium, high or critical"

static void test_bits(void **unused) {
  an_query_err_t e;
  unsigned bits = 0;
  int low = -1, high = -1;
  assert_int_equal(an_query_severity_bit("low", &low), 0);
  assert_int_equal(an_query_severity_bit("high", &high), 0);
  assert_int_equal(an_query_bits("severity", "low,high", an_query_severity_bit,
                                 &bits, SEVERITIES, &e),
                   0);
  assert_int_equal(bits, (1u << low) | (1u << high));
  /* the message names the parameter, the name at fault and the choices */
  bits = 0;
  assert_refused(an_query_bits("severity", "low,severe", an_query_severity_bit,
                               &bits, SEVERITIES, &e),
                 "severity", "'severe'");
  assert_non_null(strstr(e.msg, SEVERITIES));
  bits = 0;
  assert_refused(an_query_bits("severity", ",", an_query_severity_bit, &bits,
                               SEVERITIES, &e),
                 "severity", SEVERITIES);
  /* too long to cut without losing a name */
  char big[400];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  bits = 0;
  assert_refused(an_query_bits("severity", big, an_query_severity_bit, &bits,
                               SEVERITIES, &e),
                 "severity", "at most 199 characters");
  assert_int_equal(an_query_severity_bit("none", &low), EINVAL);
}

static void test_page_token(void **unused) {
  an_query_err_t e;
  char token[200], id[64];
  double t = 0;
  int page = 0;
  an_token_encode(1705744800.5, "0b9e4f7c-1d2a-4c3b-9f8e-7a6b5c4d3e2f", 3,
                  token, sizeof(token));
  assert_int_equal(an_query_page_token(token, &t, id, sizeof(id), &page, &e),
                   0);
  assert_true(t == 1705744800.5);
  assert_string_equal(id, "0b9e4f7c-1d2a-4c3b-9f8e-7a6b5c4d3e2f");
  assert_int_equal(page, 3);
  assert_refused(
      an_query_page_token("not-a-token", &t, id, sizeof(id), &page, &e),
      "page_token", "not a token this API issued");
  assert_refused(an_query_page_token("a+b/", &t, id, sizeof(id), &page, &e),
                 "page_token", "not a token");
  /* well formed, but no page this API numbers */
  an_token_encode(1705744800.5, "x", 0, token, sizeof(token));
  assert_refused(an_query_page_token(token, &t, id, sizeof(id), &page, &e),
                 "page_token", "not a token");
  assert_int_equal(page, 3); /* untouched on error */
}

/* The page fields written into a map, as text; free() it. */
static char *page_fields(long long total, int page, int limit, size_t n) {
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_query_write_page(&w, total, page, limit, n, 1705744800.0, "id-9");
  an_jw_map_close(&w);
  char *out = an_jw_take(&w);
  assert_non_null(out);
  return out;
}

static void test_write_page(void **unused) {
  /* a full page with more after it: a token for page 2 */
  char *s = page_fields(25, 1, 10, 10);
  assert_non_null(strstr(s, "\"total\":25,\"page\":1,\"limit\":10"));
  char *tok = strstr(s, "\"next_page_token\":\"");
  assert_non_null(tok);
  tok += strlen("\"next_page_token\":\"");
  *strchr(tok, '"') = '\0';
  double t;
  char id[16];
  int page;
  an_query_err_t e;
  assert_int_equal(an_query_page_token(tok, &t, id, sizeof(id), &page, &e), 0);
  assert_int_equal(page, 2);
  assert_string_equal(id, "id-9");
  assert_true(t == 1705744800.0);
  free(s);

  /* the last page, full or not, and an empty one: no token */
  s = page_fields(30, 3, 10, 10);
  assert_non_null(strstr(s, "\"next_page_token\":null"));
  free(s);
  s = page_fields(25, 3, 10, 5);
  assert_non_null(strstr(s, "\"next_page_token\":null"));
  free(s);
  s = page_fields(0, 1, 10, 0);
  assert_non_null(strstr(s, "\"total\":0,\"page\":1,\"limit\":10,"
                            "\"next_page_token\":null"));
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limit),      cmocka_unit_test(test_time),
      cmocka_unit_test(test_fraction),   cmocka_unit_test(test_bool),
      cmocka_unit_test(test_bits),       cmocka_unit_test(test_page_token),
      cmocka_unit_test(test_write_page),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
