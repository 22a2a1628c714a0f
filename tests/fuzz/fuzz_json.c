/* The request body parser, an_json_parse(), and both JSON writers.
 *
 * What json.h promises of a parsed tree is checked: no deeper than
 * AN_JSON_MAX_DEPTH. The tree is then written by yajl_gen (an_json_gen)
 * and by an_jw_t, which must write the same text (a string that is not
 * valid UTF-8, which yajl's lax check lets through, with U+FFFD for each
 * bad byte in both), and that text must parse again. */
#include "fuzz.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* Checks v at the given depth (1 for the top) and writes it to both. */
static void walk(yajl_val v, int depth, yajl_gen g, an_jw_t *w) {
  AN_FUZZ_CHECK(depth <= AN_JSON_MAX_DEPTH ||
                !(YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)));
  if (YAJL_IS_OBJECT(v)) {
    yajl_gen_map_open(g);
    an_jw_map_open(w);
    for (size_t i = 0; i < v->u.object.len; i++) {
      an_json_key(g, v->u.object.keys[i]);
      an_jw_key(w, v->u.object.keys[i]);
      walk(v->u.object.values[i], depth + 1, g, w);
    }
    yajl_gen_map_close(g);
    an_jw_map_close(w);
  } else if (YAJL_IS_ARRAY(v)) {
    yajl_gen_array_open(g);
    an_jw_array_open(w);
    for (size_t i = 0; i < v->u.array.len; i++)
      walk(v->u.array.values[i], depth + 1, g, w);
    yajl_gen_array_close(g);
    an_jw_array_close(w);
  } else if (YAJL_IS_STRING(v)) {
    an_json_string(g, YAJL_GET_STRING(v));
    an_jw_string(w, YAJL_GET_STRING(v));
  } else if (YAJL_IS_NUMBER(v)) {
    double d = YAJL_IS_DOUBLE(v)    ? YAJL_GET_DOUBLE(v)
               : YAJL_IS_INTEGER(v) ? (double)YAJL_GET_INTEGER(v)
                                    : strtod(YAJL_GET_NUMBER(v), NULL);
    an_json_double(g, d);
    an_jw_double(w, d);
  } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
    yajl_gen_bool(g, YAJL_IS_TRUE(v));
    an_jw_boolean(w, YAJL_IS_TRUE(v));
  } else {
    an_json_string(g, NULL);
    an_jw_string(w, NULL);
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
  yajl_gen g = an_json_gen();
  an_jw_t w;
  an_jw_init(&w);
  AN_FUZZ_CHECK(g != NULL);
  walk(tree, 1, g, &w);
  yajl_tree_free(tree);
  char *text = an_json_gen_take(g);
  AN_FUZZ_CHECK(text != NULL && !w.failed && w.buf != NULL);
  AN_FUZZ_CHECK(strcmp(text, w.buf) == 0);
  tree = an_json_parse(text, strlen(text), err, sizeof(err));
  AN_FUZZ_CHECK(tree != NULL);
  yajl_tree_free(tree);
  free(text);
  an_jw_free(&w);
  return 0;
}
