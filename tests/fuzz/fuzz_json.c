/* The request body parser, an_json_parse(), and the JSON writer.
 *
 * What json.h promises of a parsed tree is checked: no deeper than
 * AN_JSON_MAX_DEPTH. The tree is then written by the writer (jsonw.h):
 * the text must be valid UTF-8, parse back to the same tree (written
 * again, it is the same text), and show each byte that starts no valid
 * UTF-8 character (yajl's lax check lets some through) as U+FFFD, as
 * utf8.c replaces them. Each number is also written as the answers write
 * numbers, which must be printf's "%.10g", and as the plugin writes
 * values, which must read back as the same double. */
#include "fuzz.h"
#include "json.h"
#include "jsonw.h"
#include "utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s replaced by what utf8.c makes of it. */
static void sanitize(char **s) {
  size_t room = 3 * strlen(*s) + 1;
  char *clean = malloc(room);
  AN_FUZZ_CHECK(clean != NULL);
  an_utf8_sanitize(*s, clean, room);
  free(*s);
  *s = clean;
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

/* Checks v at the given depth (1 for the top) and writes it; with
 * clean, its strings are first replaced as utf8.c replaces bad bytes. */
static void walk(yajl_val v, int depth, an_jw_t *w, int clean) {
  AN_FUZZ_CHECK(depth <= AN_JSON_MAX_DEPTH ||
                !(YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)));
  if (YAJL_IS_OBJECT(v)) {
    an_jw_map_open(w);
    for (size_t i = 0; i < v->u.object.len; i++) {
      if (clean)
        sanitize((char **)&v->u.object.keys[i]);
      an_jw_key(w, v->u.object.keys[i]);
      walk(v->u.object.values[i], depth + 1, w, clean);
    }
    an_jw_map_close(w);
  } else if (YAJL_IS_ARRAY(v)) {
    an_jw_array_open(w);
    for (size_t i = 0; i < v->u.array.len; i++)
      walk(v->u.array.values[i], depth + 1, w, clean);
    an_jw_array_close(w);
  } else if (YAJL_IS_STRING(v)) {
    if (clean)
      sanitize(&v->u.string);
    an_jw_string(w, YAJL_GET_STRING(v));
  } else if (YAJL_IS_NUMBER(v)) {
    const char *text = YAJL_GET_NUMBER(v);
    an_jw_number_text(w, text, strlen(text));
    if (!clean)
      check_number(strtod(text, NULL));
  } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
    an_jw_boolean(w, YAJL_IS_TRUE(v));
  } else {
    an_jw_null(w);
  }
}

/* The text of tree, written by walk(); never NULL. */
static char *written(yajl_val tree, int clean) {
  an_jw_t w;
  an_jw_init(&w);
  walk(tree, 1, &w, clean);
  char *text = an_jw_take(&w);
  AN_FUZZ_CHECK(text != NULL);
  return text;
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
  char *text = written(tree, 0);
  AN_FUZZ_CHECK(an_utf8_valid(text, strlen(text)));
  yajl_val back = an_json_parse(text, strlen(text), err, sizeof(err));
  AN_FUZZ_CHECK(back != NULL);
  char *again = written(back, 0), *clean = written(tree, 1);
  AN_FUZZ_CHECK(strcmp(again, text) == 0);
  AN_FUZZ_CHECK(strcmp(clean, text) == 0);
  free(clean);
  free(again);
  free(text);
  yajl_tree_free(back);
  yajl_tree_free(tree);
  return 0;
}
