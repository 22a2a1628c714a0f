#include "json.h"
#include "timefmt.h"
#include "utf8.h"

#include <yajl/yajl_parse.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the strict pass: no comments, bounded depth, where it failed ----
 *
 * yajl_tree_parse accepts comments and recurses without a limit both when
 * it builds the tree and when yajl_tree_free frees it. Every document the
 * fast path does not take is first read by yajl's own lexer with comments
 * refused, counting depth in callbacks that stop the parse past
 * AN_JSON_MAX_DEPTH; only a document that passes is handed to the tree
 * parser, which then can neither meet a comment nor nest deeply. */

typedef struct strict {
  int depth;
  int too_deep;
} strict_t;

static int strict_open(void *ctx) {
  strict_t *s = ctx;
  if (++s->depth > AN_JSON_MAX_DEPTH) {
    s->too_deep = 1;
    return 0; /* yajl stops: yajl_status_client_canceled */
  }
  return 1;
}

static int strict_close(void *ctx) {
  ((strict_t *)ctx)->depth--;
  return 1;
}

static const yajl_callbacks strict_callbacks = {
    .yajl_start_map = strict_open,
    .yajl_end_map = strict_close,
    .yajl_start_array = strict_open,
    .yajl_end_array = strict_close,
};

/* 1-based line of byte offset at in s. */
static size_t line_of(const char *s, size_t at) {
  size_t line = 1;
  for (size_t i = 0; i < at; i++)
    line += s[i] == '\n';
  return line;
}

/* Returns 0 when body is strict JSON nested at most AN_JSON_MAX_DEPTH
 * deep, or -1 with the reason and the byte offset (and line) where
 * reading stopped in err. */
static int strict_check(const char *body, size_t len, char *err,
                        size_t errlen) {
  strict_t st = {0, 0};
  yajl_handle h = yajl_alloc(&strict_callbacks, NULL, &st);
  if (h == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  yajl_config(h, yajl_allow_comments, 0);
  const unsigned char *text = (const unsigned char *)body;
  yajl_status rc = yajl_parse(h, text, len);
  int at_end = rc == yajl_status_ok;
  if (at_end)
    rc = yajl_complete_parse(h);
  if (rc != yajl_status_ok) {
    /* after yajl_complete_parse the offset is of its own padding: the
     * document stopped at its end */
    size_t at = at_end ? len : yajl_get_bytes_consumed(h);
    if (at > 0 && !at_end && !st.too_deep)
      at--; /* yajl counts the offending byte as consumed */
    if (st.too_deep) {
      snprintf(
          err, errlen,
          "JSON nested deeper than %d levels at byte offset %zu (line %zu)",
          AN_JSON_MAX_DEPTH, at, line_of(body, at));
    } else {
      unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
      const char *m = msg != NULL ? (const char *)msg : "parse error";
      if (strncmp(m, "parse error: ", 13) == 0)
        m += 13;
      char *nl = strchr(m, '\n');
      int n = nl != NULL ? (int)(nl - m) : (int)strlen(m);
      if (at_end)
        snprintf(
            err, errlen,
            "invalid JSON: the document ends at byte offset %zu (line %zu) "
            "before it is complete (%.*s)",
            at, line_of(body, at), n, m);
      else
        snprintf(err, errlen,
                 "invalid JSON at byte offset %zu (line %zu): %.*s", at,
                 line_of(body, at), n, m);
      yajl_free_error(h, msg);
    }
    yajl_free(h);
    return -1;
  }
  yajl_free(h);
  return 0;
}

/* ---- the fast path: small documents in plain JSON ----
 *
 * yajl_tree_parse was the event loop's largest own cost per POST /v1/data
 * (~9 000 instructions for a 50-byte point). Documents of at most
 * FAST_MAX bytes that use no more than the plainest JSON (strings of
 * printable ASCII without escapes, numbers, true, false, null, the four
 * whitespace characters, an object or array at the top) are parsed here
 * into the very tree yajl would build, node for node with malloc, so that
 * yajl_tree_free frees it. Anything else, valid or not, goes to yajl,
 * which also writes the error messages. Two passes: the first checks the
 * text and counts each container's members, the second builds. */
#define FAST_MAX 4096
#define FAST_MAX_CONTAINERS 64

typedef struct fast {
  const char *p, *end;
  int build;      /* 0: check and count; 1: build */
  int containers; /* seen so far, in document order */
  int depth;      /* containers open; past AN_JSON_MAX_DEPTH yajl decides */
  size_t members[FAST_MAX_CONTAINERS];
} fast_t;

static int fast_value(fast_t *f, yajl_val *out);

static void fast_space(fast_t *f) {
  while (f->p < f->end &&
         (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' || *f->p == '\r'))
    f->p++;
}

/* A string without escapes or bytes outside printable ASCII, at the
 * quote. Returns 0 with its text, -1 if it is not one. */
static int fast_string(fast_t *f, const char **text, size_t *len) {
  const char *start = ++f->p;
  while (f->p < f->end) {
    unsigned char c = (unsigned char)*f->p;
    if (c == '"') {
      *text = start;
      *len = (size_t)(f->p - start);
      f->p++;
      return 0;
    }
    if (c < 0x20 || c > 0x7e || c == '\\')
      return -1;
    f->p++;
  }
  return -1;
}

static char *fast_copy(const char *text, size_t len) {
  char *s = malloc(len + 1);
  if (s != NULL) {
    memcpy(s, text, len);
    s[len] = '\0';
  }
  return s;
}

static yajl_val fast_node(yajl_type type) {
  yajl_val v = calloc(1, sizeof(*v));
  if (v != NULL)
    v->type = type;
  return v;
}

/* yajl_parse_integer's result for a JSON number's text whose integer
 * part has at most 18 digits (so nothing overflows), and whether it was an
 * integer (yajl's errno). */
static long long fast_integer(const char *s, size_t len, int *ok) {
  const char *p = s, *end = s + len;
  long long v = 0;
  int sign = 1;
  if (*p == '-') {
    p++;
    sign = -1;
  }
  *ok = 1;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9') {
      *ok = 0;
      return sign == 1 ? LLONG_MAX : LLONG_MIN;
    }
    v = v * 10 + (*p - '0');
  }
  return sign * v;
}

/* Whether this yajl marks integers YAJL_NUMBER_INT_VALID (2.1.0 as
 * released never did; distributions fixed it). */
static int yajl_marks_integers(void) {
  static int marks = -1;
  if (marks < 0) {
    yajl_val v = yajl_tree_parse("[1]", NULL, 0);
    marks = v != NULL && v->u.array.len == 1 &&
            (v->u.array.values[0]->u.number.flags & YAJL_NUMBER_INT_VALID);
    yajl_tree_free(v);
  }
  return marks;
}

static int fast_number(fast_t *f, yajl_val *out) {
  const char *start = f->p, *p = f->p, *end = f->end;
#define DIGITS(p) ((p) < end && *(p) >= '0' && *(p) <= '9')
  if (p < end && *p == '-')
    p++;
  const char *digits = p;
  if (p < end && *p == '0')
    p++;
  else if (DIGITS(p))
    while (DIGITS(p))
      p++;
  else
    return -1;
  if (p - digits > 18)
    return -1; /* yajl's integer overflow checks are its own business */
  if (p < end && *p == '.') {
    if (!DIGITS(p + 1))
      return -1;
    for (p++; DIGITS(p); p++)
      ;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (!DIGITS(p))
      return -1;
    while (DIGITS(p))
      p++;
  }
#undef DIGITS
  f->p = p;
  if (!f->build)
    return 0;
  size_t len = (size_t)(p - start);
  yajl_val v = fast_node(yajl_t_number);
  if (v == NULL || (v->u.number.r = fast_copy(start, len)) == NULL) {
    free(v);
    return -1;
  }
  int ok;
  v->u.number.i = fast_integer(start, len, &ok);
  if (ok && yajl_marks_integers())
    v->u.number.flags |= YAJL_NUMBER_INT_VALID;
  char *stop = NULL;
  errno = 0;
  v->u.number.d = strtod(v->u.number.r, &stop);
  if (errno == 0 && stop != NULL && *stop == '\0')
    v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
  *out = v;
  return 0;
}

static int fast_word(fast_t *f, const char *word, yajl_type type,
                     yajl_val *out) {
  size_t n = strlen(word);
  if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
    return -1;
  f->p += n;
  if (f->build && (*out = fast_node(type)) == NULL)
    return -1;
  return 0;
}

/* An object or array at its bracket. */
static int fast_container(fast_t *f, yajl_val *out) {
  int object = *f->p == '{';
  char close = object ? '}' : ']';
  if (f->containers == FAST_MAX_CONTAINERS || f->depth == AN_JSON_MAX_DEPTH)
    return -1;
  f->depth++;
  int index = f->containers++;
  size_t n = 0, room = f->build ? f->members[index] : 0;
  yajl_val v = NULL;
  if (f->build) {
    if ((v = fast_node(object ? yajl_t_object : yajl_t_array)) == NULL)
      return -1;
    *out = v; /* from here on, a failure frees what is built */
    yajl_val *values = room ? malloc(room * sizeof(*values)) : NULL;
    const char **keys = object && room ? malloc(room * sizeof(*keys)) : NULL;
    if (object) {
      v->u.object.keys = keys;
      v->u.object.values = values;
    } else {
      v->u.array.values = values;
    }
    if (room && (values == NULL || (object && keys == NULL)))
      return -1;
  }
  f->p++;
  fast_space(f);
  if (f->p < f->end && *f->p == close) {
    f->p++;
    goto done;
  }
  for (;;) {
    const char *key = NULL;
    size_t key_len = 0;
    yajl_val member = NULL;
    fast_space(f);
    if (object) {
      if (f->p >= f->end || *f->p != '"' || fast_string(f, &key, &key_len))
        return -1;
      fast_space(f);
      if (f->p >= f->end || *f->p != ':')
        return -1;
      f->p++;
    }
    if (fast_value(f, &member) != 0) {
      yajl_tree_free(member);
      return -1;
    }
    if (f->build) {
      if (n == room) { /* cannot be: the first pass counted */
        yajl_tree_free(member);
        return -1;
      }
      if (object) {
        char *copy = fast_copy(key, key_len);
        if (copy == NULL) {
          yajl_tree_free(member);
          return -1;
        }
        v->u.object.keys[n] = copy;
        v->u.object.values[n] = member;
        v->u.object.len = n + 1;
      } else {
        v->u.array.values[n] = member;
        v->u.array.len = n + 1;
      }
    }
    n++;
    fast_space(f);
    if (f->p < f->end && *f->p == ',') {
      f->p++;
      continue;
    }
    if (f->p < f->end && *f->p == close) {
      f->p++;
      break;
    }
    return -1;
  }
done:
  if (!f->build)
    f->members[index] = n;
  f->depth--;
  return 0;
}

static int fast_value(fast_t *f, yajl_val *out) {
  const char *text;
  size_t len;
  fast_space(f);
  if (f->p >= f->end)
    return -1;
  switch (*f->p) {
  case '{':
  case '[':
    return fast_container(f, out);
  case '"':
    if (fast_string(f, &text, &len) != 0)
      return -1;
    if (f->build) {
      yajl_val v = fast_node(yajl_t_string);
      if (v == NULL || (v->u.string = fast_copy(text, len)) == NULL) {
        free(v);
        return -1;
      }
      *out = v;
    }
    return 0;
  case 't':
    return fast_word(f, "true", yajl_t_true, out);
  case 'f':
    return fast_word(f, "false", yajl_t_false, out);
  case 'n':
    return fast_word(f, "null", yajl_t_null, out);
  default:
    return fast_number(f, out);
  }
}

/* The tree of a small plain document, or NULL to let yajl decide. */
static yajl_val fast_parse(const char *body, size_t len) {
  fast_t f = {.p = body, .end = body + len};
  yajl_val root = NULL;
  if (len > FAST_MAX)
    return NULL;
  fast_space(&f);
  if (f.p == f.end || (*f.p != '{' && *f.p != '['))
    return NULL;
  if (fast_value(&f, &root) != 0)
    return NULL;
  fast_space(&f);
  if (f.p != f.end)
    return NULL;
  /* the same text again, building: only memory can fail now */
  f.p = body;
  f.build = 1;
  f.containers = 0;
  if (fast_value(&f, &root) != 0) {
    yajl_tree_free(root);
    return NULL;
  }
  return root;
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
  yajl_val v = fast_parse(body, len);
  if (v != NULL)
    return v;
  if (strict_check(body, len, err, errlen) != 0)
    return NULL;
  v = yajl_tree_parse(body, yerr, sizeof(yerr));
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

/* Copies the UTF-8 sequence at *s to out, or U+FFFD for a byte that
 * starts none; advances both. */
static void utf8_copy(const unsigned char **s, char **out) {
  /* the NUL after the string ends any sequence: 4 bytes may be looked at */
  size_t n = an_utf8_char_len((const char *)*s, 4);
  if (n == 0) {
    memcpy(*out, "\xef\xbf\xbd", 3);
    *out += 3;
    *s += 1;
  } else {
    memcpy(*out, *s, n);
    *out += n;
    *s += n;
  }
}

int an_json_utf8_valid(const char *s) { return an_utf8_valid(s, strlen(s)); }

yajl_gen an_json_gen(void) {
  yajl_gen g = yajl_gen_alloc(NULL);
  if (g != NULL)
    yajl_gen_config(g, yajl_gen_validate_utf8, 1);
  return g;
}

/* Writes s as a JSON string. yajl would leave a string that is not valid
 * UTF-8 out without a word, and a key before it would take the next
 * value: bad bytes become U+FFFD instead, as an_jw_t writes them. */
static void gen_text(yajl_gen g, const char *s) {
  if (an_json_utf8_valid(s)) {
    yajl_gen_string(g, (const unsigned char *)s, strlen(s));
    return;
  }
  size_t room = 3 * strlen(s) + 1;
  char *fixed = malloc(room);
  if (fixed == NULL) {
    yajl_gen_string(g, (const unsigned char *)"\xef\xbf\xbd", 3);
    return;
  }
  an_utf8_sanitize(s, fixed, room);
  yajl_gen_string(g, (const unsigned char *)fixed, strlen(fixed));
  free(fixed);
}

void an_json_key(yajl_gen g, const char *key) { gen_text(g, key); }

void an_json_string(yajl_gen g, const char *value) {
  if (value == NULL)
    yajl_gen_null(g);
  else
    gen_text(g, value);
}

/* Writes value as snprintf's "%.10g" does, into buf (32 bytes); returns
 * the length. snprintf was a tenth of the event loop's time on POST
 * /v1/data: numbers of an everyday size, with ten significant digits not
 * near a rounding tie, are written here; the rest go to snprintf. */
static int format_g10(double value, char buf[32]) {
  static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6, 1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};
  double a = fabs(value);
  if (a == 0) {
    int n = 0;
    if (signbit(value))
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
  if (value < 0)
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
  return snprintf(buf, 32, "%.10g", value);
}

void an_json_double(yajl_gen g, double value) {
  if (!isfinite(value)) {
    yajl_gen_null(g);
    return;
  }
  char buf[32];
  int n = format_g10(value, buf);
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

/* ---- an_jw_t ---- */

void an_jw_init(an_jw_t *w) { memset(w, 0, sizeof(*w)); }

void an_jw_free(an_jw_t *w) {
  free(w->buf);
  an_jw_init(w);
}

/* Room for n more bytes and the NUL. Returns 0, or ENOMEM (sticky). */
static int jw_reserve(an_jw_t *w, size_t n) {
  if (w->failed)
    return ENOMEM;
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

static void jw_put(an_jw_t *w, const char *s, size_t n) {
  if (jw_reserve(w, n) != 0)
    return;
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

/* Before a key, or a value that is not a key's: the comma. */
static void jw_item(an_jw_t *w) {
  if (w->more[w->depth])
    jw_put(w, ",", 1);
  w->more[w->depth] = 1;
}

/* Before a value: after a key, nothing; else the comma. */
static void jw_value(an_jw_t *w) {
  if (w->after_key)
    w->after_key = 0;
  else
    jw_item(w);
}

static void jw_open(an_jw_t *w, char c) {
  jw_value(w);
  jw_put(w, &c, 1);
  if (w->depth < AN_JSON_MAX_DEPTH)
    w->more[++w->depth] = 0;
}

static void jw_close(an_jw_t *w, char c) {
  if (w->depth > 0)
    w->depth--;
  jw_put(w, &c, 1);
}

void an_jw_map_open(an_jw_t *w) { jw_open(w, '{'); }
void an_jw_map_close(an_jw_t *w) { jw_close(w, '}'); }
void an_jw_array_open(an_jw_t *w) { jw_open(w, '['); }
void an_jw_array_close(an_jw_t *w) { jw_close(w, ']'); }

/* A string, quoted and escaped as yajl_gen escapes it, then tail (a
 * separator, or ""). Room for the worst case is made once: no byte
 * grows to more than 6. */
static void jw_quoted(an_jw_t *w, const char *value, const char *tail) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *s = (const unsigned char *)value;
  size_t len = strlen(value), tail_len = strlen(tail);
  if (jw_reserve(w, 6 * len + 2 + tail_len) != 0)
    return;
  char *out = w->buf + w->len;
  *out++ = '"';
  while (*s != '\0') {
    unsigned char c = *s;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      *out++ = (char)c;
      s++;
      continue;
    }
    if (c >= 0x80) {
      utf8_copy(&s, &out);
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
  jw_item(w);
  jw_quoted(w, key, ":");
  w->after_key = 1;
}

void an_jw_string(an_jw_t *w, const char *value) {
  jw_value(w);
  if (value == NULL)
    jw_put(w, "null", 4);
  else
    jw_quoted(w, value, "");
}

void an_jw_double(an_jw_t *w, double value) {
  jw_value(w);
  if (!isfinite(value)) {
    jw_put(w, "null", 4);
    return;
  }
  char buf[32];
  jw_put(w, buf, (size_t)format_g10(value, buf));
}

void an_jw_boolean(an_jw_t *w, int value) {
  jw_value(w);
  jw_put(w, value ? "true" : "false", value ? 4 : 5);
}

void an_jw_str(an_jw_t *w, const char *key, const char *value) {
  an_jw_key(w, key);
  an_jw_string(w, value);
}

void an_jw_num(an_jw_t *w, const char *key, double value) {
  an_jw_key(w, key);
  an_jw_double(w, value);
}

void an_jw_bool(an_jw_t *w, const char *key, int value) {
  an_jw_key(w, key);
  an_jw_boolean(w, value);
}
