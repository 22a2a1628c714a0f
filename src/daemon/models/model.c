/* model.c: a trained model and its blob (model.h). */
#include "models/model.h"
#include "grow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static const unsigned char magic[8] = {'A', 'N', 'M', 'O', 'D', 'E', 'L', 0};

/* A model decompresses to at most this: a million series of a few KiB. */
#define RAW_MAX ((size_t)1 << 32)

an_model_t *an_model_new(const an_detector_class_t *detector) {
  an_model_t *m = calloc(1, sizeof(*m));
  if (m != NULL) {
    m->kind = AN_MODEL_DETECTOR;
    m->detector = detector;
  }
  return m;
}

an_model_t *an_model_new_forests(void) {
  an_model_t *m = calloc(1, sizeof(*m));
  if (m != NULL)
    m->kind = AN_MODEL_FOREST;
  return m;
}

static void forest_clear(an_model_forest_t *f) {
  free(f->source_id);
  for (size_t i = 0; f->metrics != NULL && i < f->nmetrics; i++)
    free(f->metrics[i]);
  free(f->metrics);
  an_iforest_destroy(f->forest);
}

void an_model_free(an_model_t *m) {
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->n; i++) {
    free(m->series[i].source_id);
    free(m->series[i].metric);
    free(m->series[i].state);
  }
  for (size_t i = 0; i < m->nforests; i++)
    forest_clear(&m->forests[i]);
  free(m->series);
  free(m->forests);
  free(m);
}

size_t an_model_series_count(const an_model_t *m) {
  size_t n = m->n;
  for (size_t i = 0; i < m->nforests; i++)
    n += m->forests[i].nmetrics;
  return n;
}

static int name_ok(const char *s) {
  size_t n = strlen(s);
  return n > 0 && n <= AN_MODEL_NAME_MAX;
}

int an_model_add(an_model_t *m, const char *source_id, const char *metric,
                 double last_t, uint64_t points, const void *state) {
  if (!name_ok(source_id) || !name_ok(metric))
    return EINVAL;
  if (an_grow((void **)&m->series, &m->cap, m->n, sizeof(*m->series)) != 0)
    return ENOMEM;
  an_model_series_t *s = &m->series[m->n];
  *s = (an_model_series_t){strdup(source_id), strdup(metric), last_t, points,
                           malloc(m->detector->state_size)};
  m->n++; /* freed with the model even when a copy failed */
  if (s->source_id == NULL || s->metric == NULL || s->state == NULL)
    return ENOMEM;
  memcpy(s->state, state, m->detector->state_size);
  return 0;
}

/* Whether a forest over these names may follow the model's last one:
 * names valid, metrics strictly increasing, the source after the last. */
static int forest_names_ok(const an_model_t *m, const char *source_id,
                           const char *const *metrics, size_t nmetrics) {
  if (!name_ok(source_id) ||
      (m->nforests > 0 &&
       strcmp(m->forests[m->nforests - 1].source_id, source_id) >= 0))
    return 0;
  for (size_t i = 0; i < nmetrics; i++)
    if (!name_ok(metrics[i]) ||
        (i > 0 && strcmp(metrics[i - 1], metrics[i]) >= 0))
      return 0;
  return 1;
}

int an_model_add_forest(an_model_t *m, const char *source_id,
                        const char *const *metrics, size_t nmetrics,
                        uint64_t rows, an_iforest_t *forest) {
  an_iforest_info_t info;
  an_iforest_info(forest, &info);
  if (m->kind != AN_MODEL_FOREST || nmetrics != info.metrics ||
      !forest_names_ok(m, source_id, metrics, nmetrics)) {
    an_iforest_destroy(forest);
    return EINVAL;
  }
  if (an_grow((void **)&m->forests, &m->forests_cap, m->nforests,
              sizeof(*m->forests)) != 0) {
    an_iforest_destroy(forest);
    return ENOMEM;
  }
  an_model_forest_t *f = &m->forests[m->nforests++];
  /* freed with the model even when a copy fails */
  *f = (an_model_forest_t){strdup(source_id), calloc(nmetrics, sizeof(char *)),
                           nmetrics, rows, forest};
  if (f->source_id == NULL || f->metrics == NULL)
    return ENOMEM;
  for (size_t i = 0; i < nmetrics; i++)
    if ((f->metrics[i] = strdup(metrics[i])) == NULL)
      return ENOMEM;
  return 0;
}

/* ---- writing: little-endian, into a buffer sized beforehand ---- */

typedef struct writer {
  unsigned char *p;
} writer_t;

static void put_uint(writer_t *w, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    *w->p++ = (unsigned char)(v >> (8 * i));
}

static void put_bytes(writer_t *w, const void *b, size_t n) {
  memcpy(w->p, b, n);
  w->p += n;
}

static void put_double(writer_t *w, double d) {
  uint64_t v;
  memcpy(&v, &d, sizeof(v));
  put_uint(w, v, 8);
}

static void put_name(writer_t *w, const char *s) {
  size_t n = strlen(s);
  put_uint(w, n, 2);
  put_bytes(w, s, n);
}

/* The raw bytes of the kind's payload (after the kind byte). */
static size_t detector_payload_size(const an_model_t *m) {
  const an_detector_class_t *d = m->detector;
  size_t n = 1 + strlen(d->name) + 4 + 4 + 4;
  for (size_t i = 0; i < m->n; i++)
    n += 2 + strlen(m->series[i].source_id) + 2 + strlen(m->series[i].metric) +
         8 + 8 + d->state_size;
  return n;
}

static void put_detector_payload(writer_t *w, const an_model_t *m) {
  const an_detector_class_t *d = m->detector;
  put_uint(w, strlen(d->name), 1);
  put_bytes(w, d->name, strlen(d->name));
  put_uint(w, d->version, 4);
  put_uint(w, d->state_size, 4);
  put_uint(w, m->n, 4);
  for (size_t i = 0; i < m->n; i++) {
    const an_model_series_t *s = &m->series[i];
    put_name(w, s->source_id);
    put_name(w, s->metric);
    put_double(w, s->last_t);
    put_uint(w, s->points, 8);
    put_bytes(w, s->state, d->state_size);
  }
}

static size_t forest_payload_size(const an_model_t *m) {
  size_t n = 4;
  for (size_t i = 0; i < m->nforests; i++) {
    const an_model_forest_t *f = &m->forests[i];
    n +=
        2 + strlen(f->source_id) + 2 + 8 + 4 + an_iforest_saved_size(f->forest);
    for (size_t k = 0; k < f->nmetrics; k++)
      n += 2 + strlen(f->metrics[k]);
  }
  return n;
}

static void put_forest_payload(writer_t *w, const an_model_t *m) {
  put_uint(w, m->nforests, 4);
  for (size_t i = 0; i < m->nforests; i++) {
    const an_model_forest_t *f = &m->forests[i];
    size_t len = an_iforest_saved_size(f->forest);
    put_name(w, f->source_id);
    put_uint(w, f->nmetrics, 2);
    for (size_t k = 0; k < f->nmetrics; k++)
      put_name(w, f->metrics[k]);
    put_uint(w, f->rows, 8);
    put_uint(w, len, 4);
    w->p += an_iforest_save(f->forest, w->p, len);
  }
}

int an_model_encode(const an_model_t *m, void **blob, size_t *len) {
  int forests = m->kind == AN_MODEL_FOREST;
  size_t raw_len =
      sizeof(magic) + 2 + 1 +
      (forests ? forest_payload_size(m) : detector_payload_size(m));
  *blob = NULL;
  *len = 0;
  unsigned char *raw = malloc(raw_len);
  size_t bound = ZSTD_compressBound(raw_len);
  unsigned char *out = malloc(bound);
  ZSTD_CCtx *cctx = ZSTD_createCCtx();
  int rc = ENOMEM;
  if (raw == NULL || out == NULL || cctx == NULL)
    goto done;
  writer_t w = {raw};
  put_bytes(&w, magic, sizeof(magic));
  put_uint(&w, AN_MODEL_FORMAT, 2);
  put_uint(&w, m->kind, 1);
  if (forests)
    put_forest_payload(&w, m);
  else
    put_detector_payload(&w, m);
  /* the checksum makes a flipped bit an error, not a wrong state */
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  size_t z = ZSTD_compress2(cctx, out, bound, raw, raw_len);
  if (ZSTD_isError(z))
    goto done;
  *blob = out;
  *len = z;
  out = NULL;
  rc = 0;
done:
  ZSTD_freeCCtx(cctx);
  free(raw);
  free(out);
  return rc;
}

/* ---- reading: every length checked against what is left ---- */

typedef struct reader {
  const unsigned char *p, *end;
  char *err;
  size_t errlen;
} reader_t;

static int bad(reader_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int bad(reader_t *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, r->errlen, fmt, ap);
  va_end(ap);
  return EINVAL;
}

/* get_ functions fill their output whatever happens: a caller that stops
 * at the first error then reads nothing undefined. */
static int get_uint(reader_t *r, int bytes, uint64_t *v) {
  *v = 0;
  if (r->end - r->p < bytes)
    return bad(r, "the model is truncated");
  for (int i = 0; i < bytes; i++)
    *v |= (uint64_t)*r->p++ << (8 * i);
  return 0;
}

static int get_bytes(reader_t *r, size_t n, const unsigned char **b) {
  *b = r->p;
  if ((size_t)(r->end - r->p) < n)
    return bad(r, "the model is truncated");
  r->p += n;
  return 0;
}

/* A name of 1 to AN_MODEL_NAME_MAX bytes without NUL, malloc'd. */
static int get_name(reader_t *r, char **out) {
  uint64_t n;
  const unsigned char *b;
  *out = NULL;
  if (get_uint(r, 2, &n) != 0 || get_bytes(r, n, &b) != 0)
    return EINVAL;
  if (n == 0 || n > AN_MODEL_NAME_MAX || memchr(b, '\0', n) != NULL)
    return bad(r, "the model holds a bad series name");
  if ((*out = malloc(n + 1)) == NULL)
    return ENOMEM;
  memcpy(*out, b, n);
  (*out)[n] = '\0';
  return 0;
}

/* Decompresses one whole zstd frame, growing the output as it comes
 * rather than trusting the size the frame claims. */
static int decompress(const void *blob, size_t len, unsigned char **raw,
                      size_t *raw_len, reader_t *r) {
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  ZSTD_inBuffer in = {blob, len, 0};
  ZSTD_outBuffer out = {NULL, 0, 0};
  int rc = dctx != NULL ? 0 : ENOMEM;
  size_t left = 1;
  while (rc == 0 && left != 0) {
    if (out.pos == out.size) {
      size_t size = out.size != 0 ? 2 * out.size : 65536;
      void *grown = size <= RAW_MAX ? realloc(out.dst, size) : NULL;
      if (grown == NULL) {
        rc = size <= RAW_MAX ? ENOMEM : bad(r, "the model is too large");
        break;
      }
      out.dst = grown;
      out.size = size;
    }
    size_t before_in = in.pos, before_out = out.pos;
    left = ZSTD_decompressStream(dctx, &out, &in);
    if (ZSTD_isError(left))
      rc = bad(r, "the model is damaged (%s)", ZSTD_getErrorName(left));
    else if (left != 0 && in.pos == in.size && out.pos < out.size &&
             before_in == in.pos && before_out == out.pos)
      rc = bad(r, "the model is truncated");
  }
  if (rc == 0 && in.pos != in.size)
    rc = bad(r, "the model has data after its end");
  ZSTD_freeDCtx(dctx);
  if (rc != 0) {
    free(out.dst);
    return rc;
  }
  *raw = out.dst;
  *raw_len = out.pos;
  return 0;
}

/* The magic, the format and the kind (format 1: detector states). */
static int read_kind(reader_t *r, uint64_t *kind) {
  const unsigned char *b;
  uint64_t format;
  *kind = 0;
  if (get_bytes(r, sizeof(magic), &b) != 0)
    return EINVAL;
  if (memcmp(b, magic, sizeof(magic)) != 0)
    return bad(r, "not a model");
  if (get_uint(r, 2, &format) != 0)
    return EINVAL;
  if (format == 1) {
    *kind = AN_MODEL_DETECTOR;
    return 0;
  }
  if (format != AN_MODEL_FORMAT)
    return bad(r, "model format %llu is not 1 or %d",
               (unsigned long long)format, AN_MODEL_FORMAT);
  if (get_uint(r, 1, kind) != 0)
    return EINVAL;
  if (*kind != AN_MODEL_DETECTOR && *kind != AN_MODEL_FOREST)
    return bad(r, "model kind %llu is not known", (unsigned long long)*kind);
  return 0;
}

/* The detector the states are of: it must be this build's. */
static int read_detector(reader_t *r, const an_detector_class_t **cls,
                         uint64_t *count) {
  const unsigned char *b;
  uint64_t name_len, version, state_size;
  char name[256];
  if (get_uint(r, 1, &name_len) != 0 || get_bytes(r, name_len, &b) != 0)
    return EINVAL;
  memcpy(name, b, name_len);
  name[name_len] = '\0';
  if (get_uint(r, 4, &version) != 0 || get_uint(r, 4, &state_size) != 0 ||
      get_uint(r, 4, count) != 0)
    return EINVAL;
  *cls = an_detector_find(name);
  if (*cls == NULL || strcmp((*cls)->name, name) != 0)
    return bad(r, "the model is of detector \"%s\", unknown here", name);
  if (version != (*cls)->version || state_size != (*cls)->state_size)
    return bad(r,
               "the model holds detector \"%s\" version %llu (%llu bytes);"
               " this build has version %u (%zu bytes)",
               name, (unsigned long long)version,
               (unsigned long long)state_size, (*cls)->version,
               (*cls)->state_size);
  return 0;
}

/* One series into m. */
static int read_series(reader_t *r, an_model_t *m) {
  const an_detector_class_t *d = m->detector;
  char *source = NULL, *metric = NULL;
  uint64_t bits, points;
  const unsigned char *state;
  double last_t;
  int rc = get_name(r, &source);
  if (rc == 0)
    rc = get_name(r, &metric);
  if (rc == 0 && (rc = get_uint(r, 8, &bits)) == 0 &&
      (rc = get_uint(r, 8, &points)) == 0)
    rc = get_bytes(r, d->state_size, &state);
  if (rc == 0) {
    memcpy(&last_t, &bits, sizeof(last_t));
    rc = an_model_add(m, source, metric, last_t, points, state);
  }
  /* the copy is aligned for check(), which reads the fields */
  if (rc == 0 && d->check != NULL && d->check(m->series[m->n - 1].state) != 0)
    rc = bad(r, "the state of %s/%s is not valid", source, metric);
  free(source);
  free(metric);
  return rc;
}

/* One source's forest into m. */
static int read_forest(reader_t *r, an_model_t *m) {
  char *source = NULL, *names[AN_IFOREST_MAX_METRICS];
  uint64_t count, rows, len;
  const unsigned char *bytes;
  an_iforest_t *forest = NULL;
  an_iforest_info_t info;
  size_t got = 0;
  int rc = get_name(r, &source);
  if (rc == 0 && (rc = get_uint(r, 2, &count)) == 0 &&
      (count < 2 || count > AN_IFOREST_MAX_METRICS))
    rc = bad(r, "a forest of %s has %llu metrics, not 2 to %d", source,
             (unsigned long long)count, AN_IFOREST_MAX_METRICS);
  for (; rc == 0 && got < count; got++)
    rc = get_name(r, &names[got]);
  if (rc == 0 && (rc = get_uint(r, 8, &rows)) == 0 &&
      (rc = get_uint(r, 4, &len)) == 0)
    rc = get_bytes(r, len, &bytes);
  if (rc == 0 && (rc = an_iforest_load(bytes, len, &forest)) == EINVAL)
    rc = bad(r, "the forest of %s is not valid", source);
  if (rc == 0) {
    an_iforest_info(forest, &info);
    if (info.metrics != count) {
      an_iforest_destroy(forest);
      rc = bad(r, "the forest of %s has %zu metrics, its names %llu", source,
               info.metrics, (unsigned long long)count);
    }
  }
  if (rc == 0 &&
      (rc = an_model_add_forest(m, source, (const char *const *)names, count,
                                rows, forest)) == EINVAL)
    rc = bad(r,
             "the forest of %s is out of order (sources and metrics "
             "must be strictly increasing)",
             source);
  free(source);
  for (size_t i = 0; i < got; i++)
    free(names[i]);
  return rc;
}

/* The payload of kind after the kind byte, into a new *out. */
static int read_payload(reader_t *r, uint64_t kind, an_model_t **out) {
  const an_detector_class_t *cls = NULL;
  uint64_t count = 0;
  int rc = kind == AN_MODEL_FOREST ? get_uint(r, 4, &count)
                                   : read_detector(r, &cls, &count);
  if (rc != 0)
    return rc;
  an_model_t *m =
      kind == AN_MODEL_FOREST ? an_model_new_forests() : an_model_new(cls);
  if (m == NULL)
    return ENOMEM;
  for (uint64_t i = 0; rc == 0 && i < count; i++)
    rc = kind == AN_MODEL_FOREST ? read_forest(r, m) : read_series(r, m);
  if (rc == 0 && r->p != r->end)
    rc = bad(r, "the model has data after its last %s",
             kind == AN_MODEL_FOREST ? "forest" : "series");
  if (rc != 0) {
    an_model_free(m);
    m = NULL;
  }
  *out = m;
  return rc;
}

int an_model_decode(const void *blob, size_t len, an_model_t **out, char *err,
                    size_t errlen) {
  reader_t r = {.err = err, .errlen = errlen};
  unsigned char *raw = NULL;
  size_t raw_len = 0;
  uint64_t kind = 0;
  *out = NULL;
  err[0] = '\0';
  int rc = decompress(blob, len, &raw, &raw_len, &r);
  if (rc == 0) {
    r.p = raw;
    r.end = raw + raw_len;
    rc = read_kind(&r, &kind);
  }
  if (rc == 0)
    rc = read_payload(&r, kind, out);
  free(raw);
  if (rc == ENOMEM && err[0] == '\0')
    snprintf(err, errlen, "out of memory");
  return rc;
}
