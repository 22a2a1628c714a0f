/* A model's blob, of detector states or of isolation forests: what is
 * encoded decodes the same, and a damaged, truncated or hostile blob is
 * an error naming the problem, never a crash (valgrind sees every read).
 * A blob of format 1 (before forests) still decodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "models/model.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <zstd.h>

static const an_detector_class_t *det(void) { return &an_detect_default; }

/* A model of n series, each warmed up on its own noisy values. */
static an_model_t *make_model(size_t n) {
  an_model_t *m = an_model_new(det());
  void *state = malloc(det()->state_size);
  test_rng_t rng = {42};
  assert_non_null(m);
  for (size_t i = 0; i < n; i++) {
    char source[32], metric[32];
    an_result_t r;
    det()->init(state, NULL);
    for (int k = 0; k < 200; k++)
      det()->update(state, 1000.0 + 10 * k, 50 + test_rng_normal(&rng), &r);
    snprintf(source, sizeof(source), "host-%zu", i);
    snprintf(metric, sizeof(metric), "cpu-%zu/percent", i);
    assert_int_equal(an_model_add(m, source, metric, 2990.0, 200, state), 0);
  }
  free(state);
  return m;
}

static void assert_same(const an_model_t *a, const an_model_t *b) {
  assert_ptr_equal(a->detector, b->detector);
  assert_int_equal(a->n, b->n);
  for (size_t i = 0; i < a->n; i++) {
    assert_string_equal(a->series[i].source_id, b->series[i].source_id);
    assert_string_equal(a->series[i].metric, b->series[i].metric);
    assert_true(a->series[i].last_t == b->series[i].last_t);
    assert_int_equal(a->series[i].points, b->series[i].points);
    assert_memory_equal(a->series[i].state, b->series[i].state,
                        a->detector->state_size);
  }
}

static void test_round_trip(void **unused) {
  for (size_t n = 0; n <= 20; n += 10) {
    an_model_t *m = make_model(n), *back;
    void *blob;
    size_t len;
    char err[200];
    assert_int_equal(an_model_encode(m, &blob, &len), 0);
    assert_int_equal(an_model_decode(blob, len, &back, err, sizeof(err)), 0);
    assert_same(m, back);
    /* the decoded states score as the trained ones do */
    if (n > 0) {
      an_result_t r1, r2;
      det()->update(m->series[0].state, 3000, 80, &r1);
      det()->update(back->series[0].state, 3000, 80, &r2);
      assert_true(r1.score == r2.score);
    }
    an_model_free(back);
    an_model_free(m);
    free(blob);
  }
}

static void test_bad_names_are_refused(void **unused) {
  an_model_t *m = an_model_new(det());
  char state[2048] = {0}, long_name[AN_MODEL_NAME_MAX + 2];
  memset(long_name, 'x', sizeof(long_name) - 1);
  long_name[sizeof(long_name) - 1] = '\0';
  assert_int_equal(an_model_add(m, "", "cpu", 0, 0, state), EINVAL);
  assert_int_equal(an_model_add(m, "h", long_name, 0, 0, state), EINVAL);
  assert_int_equal(m->n, 0);
  an_model_free(m);
  an_model_free(NULL);
}

/* Every prefix of a blob is an error: the frame is cut. */
static void test_truncated_blobs(void **unused) {
  an_model_t *m = make_model(3), *back;
  void *blob;
  size_t len;
  char err[200];
  assert_int_equal(an_model_encode(m, &blob, &len), 0);
  for (size_t cut = 0; cut < len; cut++) {
    unsigned char *copy = malloc(cut + 1); /* exact size: valgrind sees */
    memcpy(copy, blob, cut);
    assert_int_equal(an_model_decode(copy, cut, &back, err, sizeof(err)),
                     EINVAL);
    assert_null(back);
    assert_true(err[0] != '\0');
    free(copy);
  }
  an_model_free(m);
  free(blob);
}

/* A flipped byte anywhere is an error (zstd's checksum), or, where it
 * changes nothing decoded (a frame header field), the same model. */
static void test_corrupt_blobs(void **unused) {
  an_model_t *m = make_model(3), *back;
  void *blob;
  size_t len;
  char err[200];
  assert_int_equal(an_model_encode(m, &blob, &len), 0);
  unsigned char *copy = malloc(len);
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(copy, blob, len);
      copy[i] ^= (unsigned char)(1 << bit);
      int rc = an_model_decode(copy, len, &back, err, sizeof(err));
      if (rc == 0) {
        assert_same(m, back);
        an_model_free(back);
      } else {
        assert_int_equal(rc, EINVAL);
        assert_null(back);
      }
    }
  }
  /* data after the frame */
  unsigned char *longer = malloc(len + 1);
  memcpy(longer, blob, len);
  longer[len] = 0;
  assert_int_equal(an_model_decode(longer, len + 1, &back, err, sizeof(err)),
                   EINVAL);
  assert_non_null(strstr(err, "after its end"));
  free(longer);
  free(copy);
  an_model_free(m);
  free(blob);
}

/* ---- hostile contents in a well-formed zstd frame ---- */

typedef struct raw {
  unsigned char b[65536];
  size_t n;
} raw_t;

static void put(raw_t *r, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    r->b[r->n++] = (unsigned char)(v >> (8 * i));
}

static void put_bytes(raw_t *r, const void *p, size_t n) {
  memcpy(r->b + r->n, p, n);
  r->n += n;
}

/* A header naming detector name (version, state size) and count series;
 * format 1 has no kind byte. */
static void header_of_format(raw_t *r, int format, const char *name,
                             uint32_t version, uint32_t state_size,
                             uint32_t count) {
  r->n = 0;
  put_bytes(r, "ANMODEL", 8);
  put(r, (uint64_t)format, 2);
  if (format > 1)
    put(r, AN_MODEL_DETECTOR, 1);
  put(r, strlen(name), 1);
  put_bytes(r, name, strlen(name));
  put(r, version, 4);
  put(r, state_size, 4);
  put(r, count, 4);
}

static void header(raw_t *r, const char *name, uint32_t version,
                   uint32_t state_size, uint32_t count) {
  header_of_format(r, AN_MODEL_FORMAT, name, version, state_size, count);
}

static void series(raw_t *r, const char *source, const char *metric,
                   const void *state) {
  put(r, strlen(source), 2);
  put_bytes(r, source, strlen(source));
  put(r, strlen(metric), 2);
  put_bytes(r, metric, strlen(metric));
  put(r, 0, 8);
  put(r, 5, 8);
  put_bytes(r, state, det()->state_size);
}

/* Decodes raw, zstd-compressed; returns the result, with the reason. */
static int decode_raw(const raw_t *r, char *err, size_t errlen) {
  static unsigned char z[70000];
  an_model_t *m;
  size_t n = ZSTD_compress(z, sizeof(z), r->b, r->n, 1);
  assert_false(ZSTD_isError(n));
  int rc = an_model_decode(z, n, &m, err, errlen);
  an_model_free(m);
  return rc;
}

static void expect_refused(const raw_t *r, const char *reason) {
  char err[300];
  assert_int_equal(decode_raw(r, err, sizeof(err)), EINVAL);
  if (strstr(err, reason) == NULL)
    fail_msg("'%s' not in '%s'", reason, err);
}

static void test_hostile_contents(void **unused) {
  const an_detector_class_t *d = det();
  raw_t r;
  char err[300];
  void *good = calloc(1, d->state_size);
  an_result_t res;
  d->init(good, NULL);
  d->update(good, 1, 1, &res);
  void *garbage = malloc(d->state_size);
  memset(garbage, 0xff, d->state_size); /* NaN everywhere */

  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  series(&r, "h", "m", good);
  assert_int_equal(decode_raw(&r, err, sizeof(err)), 0); /* the baseline */
  /* a model stored before forests: format 1, without the kind byte */
  header_of_format(&r, 1, d->name, d->version, (uint32_t)d->state_size, 1);
  series(&r, "h", "m", good);
  assert_int_equal(decode_raw(&r, err, sizeof(err)), 0);

  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  series(&r, "h", "m", good);
  r.b[0] = 'X';
  expect_refused(&r, "not a model");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  r.b[8] = 9;
  expect_refused(&r, "model format 9");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  r.b[10] = 7;
  expect_refused(&r, "model kind 7 is not known");
  header(&r, "nosuch", d->version, (uint32_t)d->state_size, 0);
  expect_refused(&r, "detector \"nosuch\", unknown");
  header(&r, d->name, d->version + 1, (uint32_t)d->state_size, 0);
  expect_refused(&r, "this build has version");
  header(&r, d->name, d->version, (uint32_t)d->state_size + 8, 0);
  expect_refused(&r, "this build has version");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 0xffffffffu);
  series(&r, "h", "m", good);
  expect_refused(&r, "truncated"); /* a count beyond the data */
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  series(&r, "", "m", good);
  expect_refused(&r, "bad series name");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  put(&r, 3, 2);
  put_bytes(&r, "h\0x", 3); /* a NUL inside a name */
  put(&r, 1, 2);
  put_bytes(&r, "m", 1);
  put(&r, 0, 8);
  put(&r, 5, 8);
  put_bytes(&r, good, d->state_size);
  expect_refused(&r, "bad series name");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  series(&r, "h", "m", garbage);
  expect_refused(&r, "state of h/m is not valid");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  series(&r, "h", "m", good);
  put(&r, 0, 1);
  expect_refused(&r, "after its last series");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  put(&r, 60000, 2); /* a name longer than what is left */
  expect_refused(&r, "truncated");
  free(good);
  free(garbage);
}

/* ---- models of isolation forests ---- */

static const char *const metric_names[] = {"cpu", "memory", "requests"};

/* A small forest over 3 metrics, two of them correlated, of source k. */
static an_iforest_t *make_forest(uint64_t k) {
  double rows[200 * 3];
  test_rng_t rng = {k + 1};
  an_iforest_params_t p = an_iforest_default_params;
  an_iforest_t *f = NULL;
  char err[200];
  for (int i = 0; i < 200; i++) {
    double req = 100 + 900 * test_rng_uniform(&rng);
    rows[3 * i] = 0.05 * req + test_rng_normal(&rng);
    rows[3 * i + 1] = 50 + 5 * test_rng_normal(&rng);
    rows[3 * i + 2] = req;
  }
  p.n_estimators = 4;
  p.max_samples = 16;
  p.seed = k;
  assert_int_equal(an_iforest_fit(rows, 200, 3, &p, &f, err, sizeof(err)), 0);
  return f;
}

static an_model_t *make_forest_model(size_t n) {
  an_model_t *m = an_model_new_forests();
  assert_non_null(m);
  for (size_t i = 0; i < n; i++) {
    char source[32];
    snprintf(source, sizeof(source), "web-%zu", i);
    assert_int_equal(an_model_add_forest(m, source, metric_names, 3, 200 + i,
                                         make_forest(i)),
                     0);
  }
  return m;
}

static void assert_same_forests(const an_model_t *a, const an_model_t *b) {
  assert_int_equal(b->kind, AN_MODEL_FOREST);
  assert_null(b->detector);
  assert_int_equal(b->n, 0);
  assert_int_equal(a->nforests, b->nforests);
  for (size_t i = 0; i < a->nforests; i++) {
    const an_model_forest_t *x = &a->forests[i], *y = &b->forests[i];
    assert_string_equal(x->source_id, y->source_id);
    assert_int_equal(x->nmetrics, y->nmetrics);
    for (size_t k = 0; k < x->nmetrics; k++)
      assert_string_equal(x->metrics[k], y->metrics[k]);
    assert_int_equal(x->rows, y->rows);
    /* the same forest: the same saved bytes, the same scores */
    assert_true(test_same_forest(x->forest, y->forest));
    double row[3] = {48, 50, 150}, px, py;
    assert_true(an_iforest_score(x->forest, row, &px) ==
                an_iforest_score(y->forest, row, &py));
    assert_true(px == py);
  }
}

static void test_forest_round_trip(void **unused) {
  for (size_t n = 0; n <= 3; n += 3) {
    an_model_t *m = make_forest_model(n), *back;
    void *blob;
    size_t len;
    char err[200];
    assert_int_equal(an_model_series_count(m), 3 * n);
    assert_int_equal(an_model_encode(m, &blob, &len), 0);
    assert_int_equal(an_model_decode(blob, len, &back, err, sizeof(err)), 0);
    assert_same_forests(m, back);
    an_model_free(back);
    an_model_free(m);
    free(blob);
  }
}

static void test_forest_add_checks_names(void **unused) {
  an_model_t *m = an_model_new_forests();
  const char *unordered[] = {"requests", "cpu", "memory"};
  const char *repeated[] = {"cpu", "cpu", "memory"};
  const char *empty[] = {"cpu", "", "memory"};
  /* each failure destroys the forest it was given: valgrind sees none
   * leak */
  assert_int_equal(an_model_add_forest(m, "h", unordered, 3, 1, make_forest(0)),
                   EINVAL);
  assert_int_equal(an_model_add_forest(m, "h", repeated, 3, 1, make_forest(0)),
                   EINVAL);
  assert_int_equal(an_model_add_forest(m, "h", empty, 3, 1, make_forest(0)),
                   EINVAL);
  assert_int_equal(
      an_model_add_forest(m, "", metric_names, 3, 1, make_forest(0)), EINVAL);
  assert_int_equal(
      an_model_add_forest(m, "h", metric_names, 2, 1, make_forest(0)),
      EINVAL); /* the forest has 3 columns */
  assert_int_equal(
      an_model_add_forest(m, "h", metric_names, 3, 1, make_forest(0)), 0);
  /* sources strictly increasing: one forest per source */
  assert_int_equal(
      an_model_add_forest(m, "h", metric_names, 3, 1, make_forest(1)), EINVAL);
  assert_int_equal(
      an_model_add_forest(m, "a", metric_names, 3, 1, make_forest(1)), EINVAL);
  assert_int_equal(m->nforests, 1);
  /* a detector model takes no forest */
  an_model_t *d = an_model_new(det());
  assert_int_equal(
      an_model_add_forest(d, "h", metric_names, 3, 1, make_forest(0)), EINVAL);
  an_model_free(d);
  an_model_free(m);
}

/* Every prefix of a forest blob is an error; a flipped byte is an error
 * or the same model. */
static void test_forest_truncated_and_corrupt(void **unused) {
  an_model_t *m = make_forest_model(2), *back;
  void *blob;
  size_t len;
  char err[200];
  assert_int_equal(an_model_encode(m, &blob, &len), 0);
  for (size_t cut = 0; cut < len; cut++) {
    unsigned char *copy = malloc(cut + 1);
    memcpy(copy, blob, cut);
    assert_int_equal(an_model_decode(copy, cut, &back, err, sizeof(err)),
                     EINVAL);
    assert_null(back);
    free(copy);
  }
  unsigned char *copy = malloc(len);
  for (size_t i = 0; i < len; i++) {
    memcpy(copy, blob, len);
    copy[i] ^= 0x10;
    int rc = an_model_decode(copy, len, &back, err, sizeof(err));
    if (rc == 0) {
      assert_same_forests(m, back);
      an_model_free(back);
    } else {
      assert_int_equal(rc, EINVAL);
      assert_null(back);
    }
  }
  free(copy);
  an_model_free(m);
  free(blob);
}

/* The raw bytes of m's blob, before compression. */
static void raw_of(const an_model_t *m, raw_t *r) {
  void *blob;
  size_t len;
  assert_int_equal(an_model_encode(m, &blob, &len), 0);
  size_t n = ZSTD_decompress(r->b, sizeof(r->b), blob, len);
  assert_false(ZSTD_isError(n));
  r->n = n;
  free(blob);
}

/* Past the zstd checksum: every byte of a forest model's contents
 * flipped, recompressed, is refused or decodes to a model that scores
 * within bounds (a flipped split value is still a forest). */
static void test_forest_hostile_bytes(void **unused) {
  an_model_t *m = make_forest_model(1), *back;
  raw_t good, r;
  char err[300];
  static unsigned char z[70000];
  raw_of(m, &good);
  for (size_t i = 0; i < good.n; i++) {
    r = good;
    r.b[i] ^= 0xa5;
    size_t n = ZSTD_compress(z, sizeof(z), r.b, r.n, 1);
    assert_false(ZSTD_isError(n));
    int rc = an_model_decode(z, n, &back, err, sizeof(err));
    if (rc == 0) {
      double row[3] = {48, 50, 150}, p;
      double s = an_iforest_score(back->forests[0].forest, row, &p);
      assert_true(s >= 0 && s <= 1 && p >= 0 && p <= 1);
      an_model_free(back);
    } else {
      assert_int_equal(rc, EINVAL);
      assert_null(back);
      assert_true(err[0] != '\0');
    }
  }
  an_model_free(m);
}

/* A forest payload written field by field. */
static void forest_header(raw_t *r, uint32_t sources) {
  r->n = 0;
  put_bytes(r, "ANMODEL", 8);
  put(r, AN_MODEL_FORMAT, 2);
  put(r, AN_MODEL_FOREST, 1);
  put(r, sources, 4);
}

static void name(raw_t *r, const char *s) {
  put(r, strlen(s), 2);
  put_bytes(r, s, strlen(s));
}

/* A source's entry with names (count given), and forest f's bytes. */
static void forest_entry(raw_t *r, const char *source, uint64_t count,
                         const char *const *names, size_t nnames,
                         const an_iforest_t *f) {
  name(r, source);
  put(r, count, 2);
  for (size_t i = 0; i < nnames; i++)
    name(r, names[i]);
  put(r, 200, 8);
  size_t len = an_iforest_saved_size(f);
  put(r, len, 4);
  an_iforest_save(f, r->b + r->n, len);
  r->n += len;
}

static void test_forest_hostile_contents(void **unused) {
  an_iforest_t *f = make_forest(0);
  const char *two[] = {"cpu", "memory"}, *unordered[] = {"x", "b", "c"};
  raw_t r;
  char err[300];

  forest_header(&r, 1);
  forest_entry(&r, "h", 3, metric_names, 3, f);
  assert_int_equal(decode_raw(&r, err, sizeof(err)), 0); /* the baseline */

  forest_header(&r, 1);
  forest_entry(&r, "h", 1, metric_names, 1, f);
  expect_refused(&r, "has 1 metrics, not 2 to 256");
  forest_header(&r, 1);
  forest_entry(&r, "h", 300, metric_names, 0, f);
  expect_refused(&r, "has 300 metrics, not 2 to 256");
  forest_header(&r, 1);
  forest_entry(&r, "h", 2, two, 2, f);
  expect_refused(&r, "the forest of h has 3 metrics, its names 2");
  forest_header(&r, 1);
  forest_entry(&r, "h", 3, unordered, 3, f);
  expect_refused(&r, "out of order");
  forest_header(&r, 2);
  forest_entry(&r, "h", 3, metric_names, 3, f);
  forest_entry(&r, "h", 3, metric_names, 3, f);
  expect_refused(&r, "out of order"); /* one forest per source */
  forest_header(&r, 1);
  forest_entry(&r, "h", 3, metric_names, 3, f);
  r.b[r.n - 1] ^= 0xff; /* the forest's last node */
  expect_refused(&r, "the forest of h is not valid");
  forest_header(&r, 1);
  forest_entry(&r, "h", 3, metric_names, 3, f);
  r.n -= 1; /* a forest longer than what is left */
  expect_refused(&r, "truncated");
  forest_header(&r, 1);
  forest_entry(&r, "h", 3, metric_names, 3, f);
  put(&r, 0, 1);
  expect_refused(&r, "after its last forest");
  forest_header(&r, 0xffffffffu);
  forest_entry(&r, "h", 3, metric_names, 3, f);
  expect_refused(&r, "truncated"); /* a count beyond the data */
  forest_header(&r, 1);
  name(&r, "h");
  put(&r, 3, 2);
  put(&r, 3, 2);
  put_bytes(&r, "c\0u", 3); /* a NUL inside a metric's name */
  expect_refused(&r, "bad series name");
  an_iforest_destroy(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_bad_names_are_refused),
      cmocka_unit_test(test_truncated_blobs),
      cmocka_unit_test(test_corrupt_blobs),
      cmocka_unit_test(test_hostile_contents),
      cmocka_unit_test(test_forest_round_trip),
      cmocka_unit_test(test_forest_add_checks_names),
      cmocka_unit_test(test_forest_truncated_and_corrupt),
      cmocka_unit_test(test_forest_hostile_bytes),
      cmocka_unit_test(test_forest_hostile_contents),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
