#include "json.h"
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Deepest nesting of the text, counting brackets outside strings. yajl's
 * tree parser recurses without a limit, so depth is checked first. */
static int nesting(const char *s, size_t len) {
  int depth = 0, max = 0, in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '{' || c == '[') {
      if (++depth > max)
        max = depth;
    } else if (c == '}' || c == ']') {
      depth--;
    }
  }
  return max;
}

yajl_val an_json_parse(const char *body, size_t len, char *err, size_t errlen) {
  char yerr[256] = "";
  if (len == 0) {
    snprintf(err, errlen, "the body is empty; a JSON document is required");
    return NULL;
  }
  if (memchr(body, '\0', len) != NULL) {
    snprintf(err, errlen, "the body contains a NUL byte");
    return NULL;
  }
  if (nesting(body, len) > AN_JSON_MAX_DEPTH) {
    snprintf(err, errlen, "JSON nested deeper than %d levels",
             AN_JSON_MAX_DEPTH);
    return NULL;
  }
  yajl_val v = yajl_tree_parse(body, yerr, sizeof(yerr));
  if (v == NULL) {
    /* yajl's message spans lines with a caret; keep the first line */
    char *nl = strchr(yerr, '\n');
    if (nl != NULL)
      *nl = '\0';
    snprintf(err, errlen, "invalid JSON: %s", yerr[0] ? yerr : "parse error");
  }
  return v;
}

yajl_val an_json_get(yajl_val o, const char *key) {
  if (!YAJL_IS_OBJECT(o))
    return NULL;
  for (size_t i = 0; i < o->u.object.len; i++)
    if (strcmp(o->u.object.keys[i], key) == 0)
      return o->u.object.values[i];
  return NULL;
}

yajl_gen an_json_gen(void) {
  yajl_gen g = yajl_gen_alloc(NULL);
  if (g != NULL)
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
  return g;
}

void an_json_key(yajl_gen g, const char *key) {
  yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

void an_json_string(yajl_gen g, const char *value) {
  if (value == NULL)
    yajl_gen_null(g);
  else
    yajl_gen_string(g, (const unsigned char *)value, strlen(value));
}

void an_json_double(yajl_gen g, double value) {
  if (!isfinite(value)) {
    yajl_gen_null(g);
    return;
  }
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%.10g", value);
  yajl_gen_number(g, buf, (size_t)n);
}

void an_json_str(yajl_gen g, const char *key, const char *value) {
  an_json_key(g, key);
  an_json_string(g, value);
}

void an_json_num(yajl_gen g, const char *key, double value) {
  an_json_key(g, key);
  an_json_double(g, value);
}

void an_json_int(yajl_gen g, const char *key, long long value) {
  an_json_key(g, key);
  yajl_gen_integer(g, value);
}

void an_json_bool(yajl_gen g, const char *key, int value) {
  an_json_key(g, key);
  yajl_gen_bool(g, value);
}

void an_json_null(yajl_gen g, const char *key) {
  an_json_key(g, key);
  yajl_gen_null(g);
}

void an_json_time(yajl_gen g, const char *key, double t) {
  char stamp[40];
  if (isnan(t))
    an_json_null(g, key);
  else
    an_json_str(g, key, an_time_format(t, stamp, sizeof(stamp)));
}

char *an_json_gen_take(yajl_gen g) {
  const unsigned char *buf;
  size_t len;
  char *out = NULL;
  if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
    out = strndup((const char *)buf, len);
  yajl_gen_free(g);
  return out;
}
