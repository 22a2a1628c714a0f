/* json.h: strict JSON in (yajl's tree) and JSON out (yajl_gen). */
#ifndef AN_JSON_H
#define AN_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define AN_JSON_MAX_DEPTH 32

/* Parses body (len bytes, NUL-terminated) strictly: valid UTF-8, no
 * NaN/Infinity, nothing after the value, no NUL inside, at most
 * AN_JSON_MAX_DEPTH levels. Returns the tree (free with yajl_tree_free),
 * or NULL with the reason in err. */
yajl_val an_json_parse(const char *body, size_t len, char *err, size_t errlen);

/* The member key of object o, NULL if absent or o is not an object. */
yajl_val an_json_get(yajl_val o, const char *key);

/* A generator that validates UTF-8 and escapes '/' never; NULL on ENOMEM. */
yajl_gen an_json_gen(void);

/* The generator's document as a malloc'd string; frees g. NULL when out
 * of memory or the document is not complete. */
char *an_json_gen_take(yajl_gen g);

/* Shorthands that emit a key and its value into an open map. */
void an_json_str(yajl_gen g, const char *key, const char *value);
void an_json_num(yajl_gen g, const char *key, double value);
void an_json_int(yajl_gen g, const char *key, long long value);
void an_json_bool(yajl_gen g, const char *key, int value);
void an_json_null(yajl_gen g, const char *key);
void an_json_key(yajl_gen g, const char *key);
/* A time as an ISO 8601 string ("2024-01-20T10:00:00Z"); NaN writes
 * null. */
void an_json_time(yajl_gen g, const char *key, double t);
/* A string value (NULL writes null). */
void an_json_string(yajl_gen g, const char *value);
/* A number value; non-finite numbers are written as null. */
void an_json_double(yajl_gen g, double value);

#endif
