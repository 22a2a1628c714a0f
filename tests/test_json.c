/* The request body parser: the tree yajl would build, strictly (the
 * writer's tests are in test_jsonw.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing: an_json_parse gives the tree yajl_tree_parse gives ---- */

static uint64_t rng = 0x2545f4914f6cdd1du;
static unsigned pick(unsigned n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static int same_tree(yajl_val a, yajl_val b) {
  if (a == NULL || b == NULL)
    return a == b;
  if (a->type != b->type)
    return 0;
  switch (a->type) {
  case yajl_t_string:
    return strcmp(a->u.string, b->u.string) == 0;
  case yajl_t_number:
    return strcmp(a->u.number.r, b->u.number.r) == 0 &&
           a->u.number.flags == b->u.number.flags &&
           a->u.number.i == b->u.number.i &&
           memcmp(&a->u.number.d, &b->u.number.d, sizeof(double)) == 0;
  case yajl_t_object:
    if (a->u.object.len != b->u.object.len)
      return 0;
    for (size_t i = 0; i < a->u.object.len; i++)
      if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) != 0 ||
          !same_tree(a->u.object.values[i], b->u.object.values[i]))
        return 0;
    return 1;
  case yajl_t_array:
    if (a->u.array.len != b->u.array.len)
      return 0;
    for (size_t i = 0; i < a->u.array.len; i++)
      if (!same_tree(a->u.array.values[i], b->u.array.values[i]))
        return 0;
    return 1;
  default:
    return 1;
  }
}

static void append(char *buf, size_t size, const char *s) {
  size_t n = strlen(buf);
  snprintf(buf + n, size - n, "%s", s);
}

/* Mostly plain JSON, sometimes not: what the fast path must take as yajl
 * does, and what it must leave to yajl. */
static void random_value(char *buf, size_t size, int depth) {
  static const char *const words[] = {"0",
                                      "-0",
                                      "40",
                                      "85.5",
                                      "-12.25e3",
                                      "1E5",
                                      "1e+5",
                                      "2.5e-3",
                                      "123456789012345678",
                                      "1234567890123456789",
                                      "99999999999999999999",
                                      "1e999",
                                      "true",
                                      "false",
                                      "null",
                                      "01",
                                      "1.",
                                      "-",
                                      ".5",
                                      "1e",
                                      "+1",
                                      "tru",
                                      "nul",
                                      "NaN",
                                      "Infinity"};
  static const char *const strings[] = {
      "\"\"",         "\"cpu\"",     "\"server-01\"",   "\"a b/c:{}[],\"",
      "\"esc\\\"q\"", "\"tab\\t\"",  "\"caf\xc3\xa9\"", "\"\x7f\"",
      "\"ctl\x01\"",  "\"bad\xff\"", "\"unterminated"};
  static const char *const spaces[] = {"",     " ",  "\n",      "\t",
                                       "\r\n", "\f", "/* c */", "// c\n"};
  append(buf, size, spaces[pick(8) < 6 ? pick(5) : pick(8)]);
  unsigned kind = depth >= 4 ? pick(2) : pick(4);
  if (kind == 0) {
    append(buf, size, words[pick(10) < 8 ? pick(15) : pick(25)]);
  } else if (kind == 1) {
    append(buf, size, strings[pick(10) < 8 ? pick(4) : pick(11)]);
  } else {
    int object = kind == 2;
    append(buf, size, object ? "{" : "[");
    unsigned n = pick(5);
    for (unsigned i = 0; i < n; i++) {
      if (i > 0)
        append(buf, size, pick(40) ? "," : "");
      if (object) {
        append(buf, size, pick(30) ? strings[pick(4)] : strings[pick(11)]);
        append(buf, size, pick(40) ? ":" : "");
      }
      random_value(buf, size, depth + 1);
    }
    append(buf, size, pick(40) ? (object ? "}" : "]") : "");
  }
  append(buf, size, spaces[pick(8) < 6 ? pick(5) : pick(8)]);
}

static void assert_parses_as_yajl(const char *doc) {
  char err[256];
  yajl_val ours = an_json_parse(doc, strlen(doc), err, sizeof(err));
  /* yajl's tree parser takes comments; the API refuses them (the
   * generated strings never hold a "//" or a slash-star) */
  int comment = strstr(doc, "//") != NULL || strstr(doc, "/*") != NULL;
  yajl_val theirs = comment ? NULL : yajl_tree_parse(doc, NULL, 0);
  if (!same_tree(ours, theirs))
    fail_msg("different trees for: %s", doc);
  yajl_tree_free(ours);
  yajl_tree_free(theirs);
}

static void test_parse_like_yajl(void **unused) {
  static const char *const fixed[] = {
      "{\"sourceId\":\"bench-3\",\"values\":{\"cpu\":42}}",
      "{\"points\":[{\"sourceId\":\"a\",\"values\":{\"x\":1.5}},"
      "{\"sourceId\":\"b\",\"values\":{\"x\":-2e-3,\"y\":0}}]}",
      "[]",
      "{}",
      " [ ] ",
      "{\"a\":{}}",
      "[[],[[]],{}]",
      "{\"a\":1,\"a\":2}",
      "{\"a\":1}x",
      "{\"a\":1} {",
      "{\"a\":}",
      "{\"a\" 1}",
      "{,}",
      "[1,]",
      "42",
      "\"s\"",
      "{\"a\":1}\f"};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
    assert_parses_as_yajl(fixed[i]);
  char doc[8192];
  for (int i = 0; i < 20000; i++) {
    doc[0] = '\0';
    random_value(doc, sizeof(doc), 0);
    if (pick(4) == 0 && doc[0] != '\0') { /* and a damaged copy */
      size_t n = strlen(doc), at = pick((unsigned)n);
      doc[at] = " {}[],:\"0-.etx"[pick(14)];
    }
    assert_parses_as_yajl(doc);
  }
}

/* The crash of issue 12: a comment hid a quote from the old nesting
 * check, and yajl (which accepts comments) then recursed 300 000 deep. */
static void test_comment_then_deep_nesting_is_refused(void **unused) {
  size_t deep = 300000;
  const char *head = "/* \" */";
  size_t n = strlen(head);
  char *doc = malloc(n + 2 * deep + 1);
  assert_non_null(doc);
  memcpy(doc, head, n);
  memset(doc + n, '[', deep);
  memset(doc + n + deep, ']', deep);
  doc[n + 2 * deep] = '\0';
  char err[256];
  yajl_val v = an_json_parse(doc, n + 2 * deep, err, sizeof(err));
  assert_null(v);
  assert_non_null(strstr(err, "byte offset 0"));
  memmove(doc, doc + n, 2 * deep + 1); /* and the nesting alone */
  v = an_json_parse(doc, 2 * deep, err, sizeof(err));
  assert_null(v);
  assert_non_null(strstr(err, "deeper than 32 levels"));
  free(doc);
}

static void test_comments_are_refused(void **unused) {
  static const char *const docs[] = {"{\"a\":1 /* c */}", "// c\n[1]",
                                     "[1] /* c */"};
  for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    char err[256] = "";
    yajl_val v = an_json_parse(docs[i], strlen(docs[i]), err, sizeof(err));
    if (v != NULL)
      fail_msg("accepted a comment: %s", docs[i]);
    assert_non_null(strstr(err, "invalid JSON"));
  }
}

/* Every parse is bounded, the fast path's small documents included. */
static void test_depth_is_bounded_on_every_path(void **unused) {
  char doc[200], err[256];
  for (int depth = AN_JSON_MAX_DEPTH; depth <= AN_JSON_MAX_DEPTH + 1; depth++) {
    for (int escaped = 0; escaped <= 1; escaped++) { /* fast path or not */
      size_t n = 0;
      for (int i = 0; i < depth; i++)
        doc[n++] = '[';
      n += (size_t)sprintf(doc + n, escaped ? "\"\\n\"" : "1");
      for (int i = 0; i < depth; i++)
        doc[n++] = ']';
      doc[n] = '\0';
      yajl_val v = an_json_parse(doc, n, err, sizeof(err));
      if ((v != NULL) != (depth <= AN_JSON_MAX_DEPTH))
        fail_msg("depth %d (%s): %s", depth, escaped ? "yajl" : "fast",
                 v != NULL ? "accepted" : err);
      yajl_tree_free(v);
    }
  }
}

static void assert_error_has(const char *doc, const char *want) {
  char err[256] = "";
  yajl_val v = an_json_parse(doc, strlen(doc), err, sizeof(err));
  assert_null(v);
  if (strstr(err, want) == NULL)
    fail_msg("for %s: \"%s\" not in \"%s\"", doc, want, err);
}

static void test_syntax_error_names_offset_and_line(void **unused) {
  assert_error_has("{\"a\":1,\n\"b\":}", "at byte offset 12 (line 2)");
  assert_error_has("{\"a\":1,\n\"b\":x}", "at byte offset 12 (line 2)");
  assert_error_has("[1,\n2,\n3", "ends at byte offset 8 (line 3)");
  assert_error_has("{\"a\":\"\xff\"}", "at byte offset 6 (line 1)");
}

/* Numbers as the API reads them: finite or refused; a number too small
 * for a double (a p-value) is no error. */
static void test_number(void **unused) {
  static const struct {
    const char *doc;
    int rc;
    double want;
  } cases[] = {{"[40]", 0, 40},        {"[-2.5e-3]", 0, -2.5e-3},
               {"[1e-400]", 0, 0},     {"[1e999]", EINVAL, 0},
               {"[\"1\"]", EINVAL, 0}, {"[null]", EINVAL, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char err[256];
    double d = -1;
    yajl_val v =
        an_json_parse(cases[i].doc, strlen(cases[i].doc), err, sizeof(err));
    assert_non_null(v);
    assert_int_equal(an_json_number(v->u.array.values[0], &d), cases[i].rc);
    if (cases[i].rc == 0)
      assert_true(d == cases[i].want);
    yajl_tree_free(v);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_like_yajl),
      cmocka_unit_test(test_comment_then_deep_nesting_is_refused),
      cmocka_unit_test(test_comments_are_refused),
      cmocka_unit_test(test_depth_is_bounded_on_every_path),
      cmocka_unit_test(test_syntax_error_names_offset_and_line),
      cmocka_unit_test(test_number),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
