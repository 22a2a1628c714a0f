/* json.h: strict JSON in, as yajl's tree. JSON out is jsonw.h's. */
#ifndef AN_JSON_H
#define AN_JSON_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#define AN_JSON_MAX_DEPTH 32

/* Parses body (len bytes, NUL-terminated) strictly: no comments, no
 * NaN/Infinity, nothing after the value, no NUL inside, at most
 * AN_JSON_MAX_DEPTH levels, UTF-8 as yajl checks it. That check is lax
 * (surrogates, overlong forms and code points past U+10FFFF pass): a
 * string that is stored or answered is checked with an_json_utf8_valid()
 * by the resource, item by item, so that one bad name does not cost a
 * whole batch. Returns the tree (free with yajl_tree_free), or NULL with
 * the reason, the byte offset and the line where reading stopped in
 * err. */
yajl_val an_json_parse(const char *body, size_t len, char *err, size_t errlen);

/* Whether the NUL-terminated s is all valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
int an_json_utf8_valid(const char *s);

/* The member key of object o, NULL if absent or o is not an object. */
yajl_val an_json_get(yajl_val o, const char *key);

/* The number of a JSON value when it is finite (a number too small for
 * yajl's double, which yajl calls invalid, is read as strtod reads it).
 * Returns 0 or EINVAL. */
int an_json_number(yajl_val v, double *out);

#endif
