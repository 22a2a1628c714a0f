#include "jsonw.h"
#include "timefmt.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void an_jw_init(an_jw_t *w) { memset(w, 0, sizeof(*w)); }

void an_jw_free(an_jw_t *w) {
  free(w->buf);
  an_jw_init(w);
}

int an_jw_failed(const an_jw_t *w) { return w->failed; }

char *an_jw_take(an_jw_t *w) {
  char *text = w->failed ? NULL : w->buf;
  if (text == NULL)
    free(w->buf);
  an_jw_init(w);
  return text;
}

/* Room for n more bytes and the NUL. Returns 0, or ENOMEM (sticky). */
static int reserve(an_jw_t *w, size_t n) {
  if (w->failed)
    return w->failed;
  if (w->len + n + 1 <= w->cap)
    return 0;
  size_t cap = w->cap ? w->cap : 512;
  while (cap < w->len + n + 1)
    cap *= 2;
  char *p = realloc(w->buf, cap);
  if (p == NULL) {
    w->failed = ENOMEM;
    return ENOMEM;
  }
  w->buf = p;
  w->cap = cap;
  return 0;
}

static void put(an_jw_t *w, const char *s, size_t n) {
  if (reserve(w, n) != 0)
    return;
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

/* Before a key or a value: a comma after an item of the same level,
 * nothing after a key. Returns its length, for the caller to write with
 * what follows (one reserve per item). */
static size_t comma(an_jw_t *w) {
  if (w->after_key) {
    w->after_key = 0;
    return 0;
  }
  size_t n = w->more[w->depth];
  w->more[w->depth] = 1;
  return n;
}

/* A value of n bytes at s, after its comma. */
static void put_item(an_jw_t *w, const char *s, size_t n) {
  size_t sep = comma(w);
  if (reserve(w, sep + n) != 0)
    return;
  char *out = w->buf + w->len;
  if (sep)
    *out++ = ',';
  memcpy(out, s, n);
  w->len += sep + n;
  w->buf[w->len] = '\0';
}

static void open_level(an_jw_t *w, char c) {
  put_item(w, &c, 1);
  if (w->depth < AN_JW_MAX_DEPTH)
    w->more[++w->depth] = 0;
  else if (!w->failed) /* its commas could not be right: no text at all */
    w->failed = E2BIG;
}

static void close_level(an_jw_t *w, char c) {
  if (w->depth > 0)
    w->depth--;
  put(w, &c, 1);
}

void an_jw_map_open(an_jw_t *w) { open_level(w, '{'); }
void an_jw_map_close(an_jw_t *w) { close_level(w, '}'); }
void an_jw_array_open(an_jw_t *w) { open_level(w, '['); }
void an_jw_array_close(an_jw_t *w) { close_level(w, ']'); }

/* The one escaper: the comma, len bytes at s quoted, then tail (a
 * separator, or ""). Room for the worst case is made once: no byte grows
 * to more than 6 (a bad byte becomes the 3 of U+FFFD). */
static void quoted(an_jw_t *w, const char *str, size_t len, const char *tail,
                   size_t tail_len) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *s = (const unsigned char *)str, *end = s + len;
  size_t sep = comma(w);
  if (reserve(w, sep + 6 * len + 2 + tail_len) != 0)
    return;
  char *out = w->buf + w->len;
  if (sep)
    *out++ = ',';
  *out++ = '"';
  while (s < end) {
    unsigned char c = *s;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      *out++ = (char)c;
      s++;
      continue;
    }
    if (c >= 0x80) {
      size_t n = an_utf8_char_len((const char *)s, (size_t)(end - s));
      if (n == 0) {
        memcpy(out, "\xef\xbf\xbd", 3);
        out += 3;
        s++;
      } else {
        memcpy(out, s, n);
        out += n;
        s += n;
      }
      continue;
    }
    *out++ = '\\';
    switch (c) {
    case '"':
    case '\\':
      *out++ = (char)c;
      break;
    case '\b':
      *out++ = 'b';
      break;
    case '\f':
      *out++ = 'f';
      break;
    case '\n':
      *out++ = 'n';
      break;
    case '\r':
      *out++ = 'r';
      break;
    case '\t':
      *out++ = 't';
      break;
    default:
      memcpy(out, "u00", 3);
      out[3] = hex[c >> 4];
      out[4] = hex[c & 0xf];
      out += 5;
    }
    s++;
  }
  *out++ = '"';
  memcpy(out, tail, tail_len + 1);
  w->len = (size_t)(out - w->buf) + tail_len;
}

void an_jw_key(an_jw_t *w, const char *key) {
  quoted(w, key, strlen(key), ":", 1);
  w->after_key = 1;
}

void an_jw_string(an_jw_t *w, const char *s) {
  if (s == NULL)
    an_jw_null(w);
  else
    an_jw_string_len(w, s, strlen(s));
}

void an_jw_string_len(an_jw_t *w, const char *s, size_t len) {
  quoted(w, s, len, "", 0);
}

/* Writes v as snprintf's "%.10g" does, into buf (32 bytes); returns the
 * length. snprintf was a tenth of the event loop's time on POST
 * /v1/data: numbers of an everyday size, with ten significant digits not
 * near a rounding tie, are written here; the rest go to snprintf. */
static int format_g10(double v, char buf[32]) {
  static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6, 1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};
  double a = fabs(v);
  if (a == 0) {
    int n = 0;
    if (signbit(v))
      buf[n++] = '-';
    buf[n++] = '0';
    buf[n] = '\0';
    return n;
  }
  if (!(a >= 1e-4 && a < 1e9))
    goto slow;
  int e = 9; /* 10^e <= a < 10^(e+1), give or take one at a power of 10 */
  while (e > -4 && a < (e >= 0 ? pow10[e] : 1 / pow10[-e]))
    e--;
  /* one rounding of an exact power of ten: off by less than 2e-6 */
  double scaled = a * pow10[9 - e];
  double whole = floor(scaled), frac = scaled - whole;
  if (fabs(frac - 0.5) < 1e-3)
    goto slow; /* too near a tie to round it the way printf does */
  uint64_t d = (uint64_t)whole + (frac > 0.5);
  if (d < 1000000000u || d >= 10000000000u)
    goto slow; /* e was off by one */
  char digits[10];
  for (int i = 9; i >= 0; i--, d /= 10)
    digits[i] = (char)('0' + d % 10);
  int last = 9; /* %g drops trailing zeros */
  while (last > 0 && digits[last] == '0')
    last--;
  char *p = buf;
  if (v < 0)
    *p++ = '-';
  if (e >= 0) {
    memcpy(p, digits, (size_t)e + 1);
    p += e + 1;
    if (last > e) {
      *p++ = '.';
      memcpy(p, digits + e + 1, (size_t)(last - e));
      p += last - e;
    }
  } else {
    *p++ = '0';
    *p++ = '.';
    for (int i = -1; i > e; i--)
      *p++ = '0';
    memcpy(p, digits, (size_t)last + 1);
    p += last + 1;
  }
  *p = '\0';
  return (int)(p - buf);
slow:
  return snprintf(buf, 32, "%.10g", v);
}

/* A finite v as the answers write it, or exact; else null. */
static void number(an_jw_t *w, double v, int exact) {
  char buf[32];
  if (!isfinite(v)) {
    an_jw_null(w);
    return;
  }
  put_item(w, buf,
           (size_t)(exact ? snprintf(buf, sizeof(buf), "%.17g", v)
                          : format_g10(v, buf)));
}

void an_jw_double(an_jw_t *w, double v) { number(w, v, 0); }

void an_jw_double_exact(an_jw_t *w, double v) { number(w, v, 1); }

void an_jw_integer(an_jw_t *w, long long v) {
  char buf[24], *p = buf + sizeof(buf);
  /* unsigned, so that LLONG_MIN negates */
  unsigned long long u =
      v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
  do
    *--p = (char)('0' + u % 10);
  while ((u /= 10) != 0);
  if (v < 0)
    *--p = '-';
  put_item(w, p, (size_t)(buf + sizeof(buf) - p));
}

void an_jw_boolean(an_jw_t *w, int v) {
  put_item(w, v ? "true" : "false", v ? 4 : 5);
}

void an_jw_null(an_jw_t *w) { put_item(w, "null", 4); }

void an_jw_number_text(an_jw_t *w, const char *text, size_t len) {
  put_item(w, text, len);
}

void an_jw_str(an_jw_t *w, const char *key, const char *s) {
  an_jw_key(w, key);
  an_jw_string(w, s);
}

void an_jw_num(an_jw_t *w, const char *key, double v) {
  an_jw_key(w, key);
  an_jw_double(w, v);
}

void an_jw_int(an_jw_t *w, const char *key, long long v) {
  an_jw_key(w, key);
  an_jw_integer(w, v);
}

void an_jw_bool(an_jw_t *w, const char *key, int v) {
  an_jw_key(w, key);
  an_jw_boolean(w, v);
}

void an_jw_time(an_jw_t *w, const char *key, double t) {
  char stamp[40];
  an_jw_key(w, key);
  an_jw_string(w, isnan(t) ? NULL : an_time_format(t, stamp, sizeof(stamp)));
}
