#include "json.h"
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

int an_json_utf8_valid(const char *s) { return an_utf8_valid(s, strlen(s)); }

int an_json_number(yajl_val v, double *out) {
  double d;
  if (YAJL_IS_INTEGER(v))
    d = (double)YAJL_GET_INTEGER(v);
  else if (YAJL_IS_DOUBLE(v))
    d = YAJL_GET_DOUBLE(v);
  else if (YAJL_IS_NUMBER(v))
    d = strtod(v->u.number.r, NULL); /* yajl calls underflow invalid: a
                                         tiny p-value is 0, not an error;
                                         overflow is caught below */
  else
    return EINVAL;
  if (!isfinite(d))
    return EINVAL;
  *out = d;
  return 0;
}
