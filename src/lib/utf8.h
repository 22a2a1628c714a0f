/* utf8.h: strict UTF-8 (RFC 3629): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF. Names that reach anomalyd's
 * store and answers are checked with it; the plugin writes collectd's
 * names through an_utf8_sanitize() so that one bad byte cannot make
 * anomalyd refuse a whole batch. */
#ifndef AN_UTF8_H
#define AN_UTF8_H

#include <stddef.h>

/* Bytes of the valid UTF-8 character at s, of which at most left bytes
 * may be read (1 to 4); 0 when s does not start one. */
size_t an_utf8_char_len(const char *s, size_t left);

/* Whether the len bytes at s are all valid UTF-8 (an embedded NUL is
 * valid: the caller checks it if it matters). */
int an_utf8_valid(const char *s, size_t len);

/* Copies the NUL-terminated in into out (outlen bytes, > 0), replacing
 * every byte that starts no valid character with U+FFFD, and stops
 * before a character that would not fit. out is always NUL-terminated.
 * Returns out. */
char *an_utf8_sanitize(const char *in, char *out, size_t outlen);

#endif
