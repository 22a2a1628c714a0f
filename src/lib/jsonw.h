/* jsonw.h: the JSON writer. Every JSON text anomalyd and the plugin send
 * is written here, straight into one growing buffer: no spaces, '/' not
 * escaped, control characters as \b \f \n \r \t or \u00XX, and every byte
 * that starts no valid UTF-8 character (utf8.h) as U+FFFD, so the text is
 * always valid JSON whatever the strings hold.
 *
 * The caller keeps the nesting right (a key before each member of a map,
 * none in an array). Nothing is returned per call: running out of memory
 * (or nesting too deep) is sticky, every later write is ignored, and
 * an_jw_failed() or an_jw_take() report it once at the end. */
#ifndef AN_JSONW_H
#define AN_JSONW_H

#include <stddef.h>

/* Nesting deeper than this fails the text (E2BIG); nothing written comes
 * near it (requests are refused past 32 levels). */
#define AN_JW_MAX_DEPTH 32

typedef struct an_jw {
  char *buf; /* the text, NUL-terminated; malloc'd, NULL before a write */
  size_t len, cap;
  int failed;                              /* ENOMEM once out of memory */
  int depth;                               /* open maps and arrays */
  int after_key;                           /* a key waits for its value */
  unsigned char more[AN_JW_MAX_DEPTH + 1]; /* the level has an item */
} an_jw_t;

/* Starts an empty text (no allocation yet). */
void an_jw_init(an_jw_t *w);
/* Frees the buffer; w is then empty again, ready for use. */
void an_jw_free(an_jw_t *w);
/* 0, or ENOMEM when a write ran out of memory, E2BIG when maps and arrays
 * nested deeper than AN_JW_MAX_DEPTH (the text is then not to be used). */
int an_jw_failed(const an_jw_t *w);
/* The text, malloc'd, for the caller to free; w is left empty. NULL
 * (and w freed) when a write failed or nothing was written. */
char *an_jw_take(an_jw_t *w);

void an_jw_map_open(an_jw_t *w);
void an_jw_map_close(an_jw_t *w);
void an_jw_array_open(an_jw_t *w);
void an_jw_array_close(an_jw_t *w);

/* A member's key in an open map; the next write is its value. */
void an_jw_key(an_jw_t *w, const char *key);

/* Values. */
void an_jw_string(an_jw_t *w, const char *s); /* NULL writes null */
/* len bytes at s, which may hold NUL (written as \u0000). */
void an_jw_string_len(an_jw_t *w, const char *s, size_t len);
/* As printf's "%.10g": what answers show. Non-finite writes null. */
void an_jw_double(an_jw_t *w, double v);
/* As "%.17g", which reads back as the same double: for values another
 * program stores. Non-finite writes null. */
void an_jw_double_exact(an_jw_t *w, double v);
void an_jw_integer(an_jw_t *w, long long v);
void an_jw_boolean(an_jw_t *w, int v);
void an_jw_null(an_jw_t *w);
/* A number already in JSON's syntax (as a parser kept its text), as it
 * is; the caller vouches for the syntax. */
void an_jw_number_text(an_jw_t *w, const char *text, size_t len);

/* Members: a key and its value. */
void an_jw_str(an_jw_t *w, const char *key, const char *s);
void an_jw_num(an_jw_t *w, const char *key, double v);
void an_jw_int(an_jw_t *w, const char *key, long long v);
void an_jw_bool(an_jw_t *w, const char *key, int v);
/* A time as ISO 8601 ("2024-01-20T10:00:00Z", timefmt.h); NaN writes
 * null. */
void an_jw_time(an_jw_t *w, const char *key, double t);

#endif
