/* The request body parser, an_json_parse(), and the JSON writer.
 *
 * What json.h promises of a parsed tree is checked: no deeper than
 * AN_JSON_MAX_DEPTH. The tree is then written by the writer (jsonw.h),
 * and that text must parse back to the same tree, but for each byte that
 * starts no valid UTF-8 character (yajl's lax check lets some through),
 * which must come back as U+FFFD. Each number is also written as the
 * answers write numbers, which must be printf's "%.10g", and as the plugin
 * writes values, which must read back as the same double. */
#include "fuzz.h"
#include "json.h"
#include "jsonw.h"
#include "utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether s reads back as what the writer makes of orig. */
static int same_text(const char *orig, const char *s) {
  size_t room = 3 * strlen(orig) + 1;
  char *want = malloc(room);
  AN_FUZZ_CHECK(want != NULL);
  int same = strcmp(an_utf8_sanitize(orig, want, room), s) == 0;
  free(want);
  return same;
}

/* A number's two other forms. */
static void check_number(double d) {
  char want[32], got[40];
  an_jw_t w;
  an_jw_init(&w);
  an_jw_array_open(&w);
  an_jw_double(&w, d);
  an_jw_double_exact(&w, d);
  an_jw_array_close(&w);
  AN_FUZZ_CHECK(!an_jw_failed(&w));
  if (isfinite(d)) {
    snprintf(want, sizeof(want), "%.10g", d);
    snprintf(got, sizeof(got), "[%s,", want);
    AN_FUZZ_CHECK(strncmp(w.buf, got, strlen(got)) == 0);
    double back = strtod(w.buf + strlen(got), NULL);
    AN_FUZZ_CHECK(memcmp(&back, &d, sizeof(d)) == 0);
  } else {
    AN_FUZZ_CHECK(strcmp(w.buf, "[null,null]") == 0);
  }
  an_jw_free(&w);
}

/* Checks v at the given depth (1 for the top) and writes it. */
static void walk(yajl_val v, int depth, an_jw_t *w) {
  AN_FUZZ_CHECK(depth <= AN_JSON_MAX_DEPTH ||
                !(YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)));
  if (YAJL_IS_OBJECT(v)) {
    an_jw_map_open(w);
    for (size_t i = 0; i < v->u.object.len; i++) {
      an_jw_key(w, v->u.object.keys[i]);
      walk(v->u.object.values[i], depth + 1, w);
    }
    an_jw_map_close(w);
  } else if (YAJL_IS_ARRAY(v)) {
    an_jw_array_open(w);
    for (size_t i = 0; i < v->u.array.len; i++)
      walk(v->u.array.values[i], depth + 1, w);
    an_jw_array_close(w);
  } else if (YAJL_IS_STRING(v)) {
    an_jw_string(w, YAJL_GET_STRING(v));
  } else if (YAJL_IS_NUMBER(v)) {
    const char *text = YAJL_GET_NUMBER(v);
    an_jw_number_text(w, text, strlen(text));
    check_number(strtod(text, NULL));
  } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
    an_jw_boolean(w, YAJL_IS_TRUE(v));
  } else {
    an_jw_null(w);
  }
}

/* Whether b, parsed from what was written of a, is a's tree. */
static int same_tree(yajl_val a, yajl_val b) {
  if (a->type != b->type)
    return 0;
  switch (a->type) {
  case yajl_t_string:
    return same_text(a->u.string, b->u.string);
  case yajl_t_number:
    return strcmp(a->u.number.r, b->u.number.r) == 0;
  case yajl_t_object:
    if (a->u.object.len != b->u.object.len)
      return 0;
    for (size_t i = 0; i < a->u.object.len; i++)
      if (!same_text(a->u.object.keys[i], b->u.object.keys[i]) ||
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *body = an_fuzz_string(data, size);
  char err[256];
  yajl_val tree = an_json_parse(body, size, err, sizeof(err));
  free(body);
  if (tree == NULL) {
    AN_FUZZ_CHECK(err[0] != '\0');
    return 0;
  }
  an_jw_t w;
  an_jw_init(&w);
  walk(tree, 1, &w);
  AN_FUZZ_CHECK(!an_jw_failed(&w) && w.buf != NULL);
  AN_FUZZ_CHECK(an_utf8_valid(w.buf, w.len));
  yajl_val back = an_json_parse(w.buf, w.len, err, sizeof(err));
  AN_FUZZ_CHECK(back != NULL);
  AN_FUZZ_CHECK(same_tree(tree, back));
  yajl_tree_free(back);
  yajl_tree_free(tree);
  an_jw_free(&w);
  return 0;
}
