/* json.h: strict JSON in (yajl's tree) and JSON out (yajl_gen, or the
 * lighter an_jw_t where every request pays for it). */
#ifndef AN_JSON_H
#define AN_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
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

/* ---- an_jw_t: JSON written straight into a buffer ----
 *
 * For the answers of POST /v1/data: yajl_gen spends some 400
 * instructions on every string (a callback per piece, escaping and UTF-8
 * checks a byte at a time), which was a fifth of the event loop's own work
 * per point. Same text as an_json_gen() would write (no spaces, '/' not
 * escaped, numbers as an_json_double), except that invalid UTF-8 in a
 * string becomes U+FFFD where yajl would drop the string. The caller keeps
 * the nesting right; an out-of-memory sticks in failed and the text is
 * then not to be used. */
typedef struct an_jw {
  char *buf; /* NUL-terminated; malloc'd, NULL until the first write */
  size_t len, cap;
  int failed;                                /* ENOMEM once out of memory */
  int depth;                                 /* open maps and arrays */
  int after_key;                             /* a key waits for its value */
  unsigned char more[AN_JSON_MAX_DEPTH + 1]; /* the level has an item */
} an_jw_t;

/* Starts an empty text (no allocation yet). */
void an_jw_init(an_jw_t *w);
/* Frees the buffer; w may be reused after an_jw_init(). */
void an_jw_free(an_jw_t *w);
void an_jw_map_open(an_jw_t *w);
void an_jw_map_close(an_jw_t *w);
void an_jw_array_open(an_jw_t *w);
void an_jw_array_close(an_jw_t *w);
/* A member key in an open map; the next write is its value. */
void an_jw_key(an_jw_t *w, const char *key);
void an_jw_string(an_jw_t *w, const char *value); /* NULL writes null */
void an_jw_double(an_jw_t *w, double value);      /* non-finite: null */
void an_jw_boolean(an_jw_t *w, int value);
/* Shorthands: a key and its value. */
void an_jw_str(an_jw_t *w, const char *key, const char *value);
void an_jw_num(an_jw_t *w, const char *key, double value);
void an_jw_bool(an_jw_t *w, const char *key, int value);

#endif
