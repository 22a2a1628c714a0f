/* A model's blob: what is encoded decodes the same, and a damaged,
 * truncated or hostile blob is an error naming the problem, never a crash
 * (valgrind sees every read). */
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
  unsigned char b[4096];
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

/* A header naming detector name (version, state size) and count series. */
static void header(raw_t *r, const char *name, uint32_t version,
                   uint32_t state_size, uint32_t count) {
  r->n = 0;
  put_bytes(r, "ANMODEL", 8);
  put(r, AN_MODEL_FORMAT, 2);
  put(r, strlen(name), 1);
  put_bytes(r, name, strlen(name));
  put(r, version, 4);
  put(r, state_size, 4);
  put(r, count, 4);
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
  unsigned char z[8192];
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

  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  series(&r, "h", "m", good);
  r.b[0] = 'X';
  expect_refused(&r, "not a model");
  header(&r, d->name, d->version, (uint32_t)d->state_size, 1);
  r.b[8] = 9;
  expect_refused(&r, "model format 9");
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_bad_names_are_refused),
      cmocka_unit_test(test_truncated_blobs),
      cmocka_unit_test(test_corrupt_blobs),
      cmocka_unit_test(test_hostile_contents),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
