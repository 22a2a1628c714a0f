/* The state file round trip, and every kind of bad file starts fresh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "statefile.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *path = "/tmp/test_statefile.state";

static an_series_table_t *learned(void) {
  an_series_table_t *t = an_series_table_create(an_detector_find("default"));
  test_rng_t rng = {5};
  an_result_t r;
  char key[64];
  for (int k = 0; k < 50; k++) {
    snprintf(key, sizeof(key), "host/app-%d/gauge-v", k);
    for (int i = 0; i < 300; i++)
      an_series_table_update(t, key, i * 10.0, 50 + test_rng_normal(&rng), &r);
  }
  an_series_table_set_sensitivity(t, "host/app-3/gauge-v", 0.5);
  return t;
}

static void test_round_trip(void **unused) {
  char err[256];
  an_series_table_t *a = learned();
  an_series_table_t *b = an_series_table_create(an_detector_find("default"));
  assert_int_equal(an_statefile_save(a, "default", path, err, sizeof(err)), 0);
  assert_int_equal(an_statefile_load(b, "default", path, err, sizeof(err)), 50);
  an_result_t ra, rb;
  an_series_table_update(a, "host/app-3/gauge-v", 3000, 90, &ra);
  an_series_table_update(b, "host/app-3/gauge-v", 3000, 90, &rb);
  assert_true(ra.score == rb.score && ra.seen == rb.seen);
  an_series_table_destroy(a);
  an_series_table_destroy(b);
  unlink(path);
}

/* The default detector as an older release saved it: same name, another
 * version of its state. */
static void old_init(void *state, const an_hint_t *unused) {
  memset(state, 0, 64);
}
static void old_update(void *state, double t, double x, an_result_t *r) {
  *r = (an_result_t){.p_value = 1};
}
static const an_detector_class_t old_default = {
    .name = "default",
    .version = 2,
    .state_size = 64,
    .init = old_init,
    .update = old_update,
};

/* Series saved by another version of the detector start afresh, and the
 * loader says how many (the plugin logs it). */
static void test_old_version_refused(void **unused) {
  char err[256];
  an_series_table_t *old = an_series_table_create(&old_default);
  an_result_t r;
  an_series_table_update(old, "host/app-1/gauge-v", 10, 1, &r);
  an_series_table_update(old, "host/app-2/gauge-v", 10, 1, &r);
  assert_int_equal(an_statefile_save(old, "default", path, err, sizeof(err)),
                   0);
  an_series_table_t *t = an_series_table_create(an_detector_find("default"));
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), 0);
  assert_non_null(strstr(err, "2 series not restored"));
  assert_int_equal(an_series_table_count(t), 0);
  an_series_table_destroy(old);
  an_series_table_destroy(t);
  unlink(path);
}

static void write_file(const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  fwrite(data, 1, len, f);
  fclose(f);
}

static void test_bad_files(void **unused) {
  char err[256];
  an_series_table_t *t = an_series_table_create(an_detector_find("default"));
  unlink(path);
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)),
                   -1); /* missing */
  write_file("not a state file at all, really", 32);
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "not a state file"));

  an_series_table_t *a = learned();
  assert_int_equal(an_statefile_save(a, "default", path, err, sizeof(err)), 0);
  assert_int_equal(an_statefile_load(t, "other", path, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "another detector"));
  FILE *f = fopen(path, "rb");
  unsigned char buf[65536];
  size_t len = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  write_file(buf, len / 2); /* truncated */
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  buf[len - 5] ^= 0xff; /* damaged */
  write_file(buf, len);
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  assert_int_equal(an_series_table_count(t), 0); /* nothing half-restored */
  an_series_table_destroy(a);
  an_series_table_destroy(t);
  unlink(path);
}

/* The largest allocation asked for: the test is linked with
 * -Wl,--wrap=malloc, so the loader's own malloc calls come here. */
void *__real_malloc(size_t n);
static size_t largest_malloc;
void *__wrap_malloc(size_t n) {
  if (n > largest_malloc)
    largest_malloc = n;
  return __real_malloc(n);
}

/* A state file's header for the default detector with raw size rl,
 * followed by frame; returns its length. */
static size_t damaged_file(unsigned char *buf, uint64_t rl,
                           const unsigned char *frame, size_t flen) {
  static const char magic[8] = {'A', 'N', 'S', 'T', 'A', 'T', 'E', 1};
  uint32_t nl = 7;
  size_t p = 0;
  memcpy(buf + p, magic, 8), p += 8;
  memcpy(buf + p, &nl, 4), p += 4;
  memcpy(buf + p, "default", 7), p += 7;
  memcpy(buf + p, &rl, 8), p += 8;
  memcpy(buf + p, frame, flen), p += flen;
  return p;
}

/* A damaged size field must not make the loader allocate gigabytes: the
 * sizes are checked against the file and the zstd frame first. */
static void test_damaged_size_allocates_nothing_big(void **unused) {
  char err[256];
  unsigned char buf[70000];
  an_series_table_t *a = learned();
  assert_int_equal(an_statefile_save(a, "default", path, err, sizeof(err)), 0);
  FILE *f = fopen(path, "rb");
  size_t len = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  an_series_table_destroy(a);

  /* the raw size field says 4 GiB, the frame is intact */
  uint64_t huge = 1ULL << 32;
  memcpy(buf + 19, &huge, sizeof(huge));
  write_file(buf, len);
  an_series_table_t *t = an_series_table_create(an_detector_find("default"));
  largest_malloc = 0;
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "damaged"));
  assert_true(largest_malloc < len + 4096);

  /* the frame header agrees (4 GiB, single segment, one RLE block): the
   * frame's 16 bytes cannot hold that much */
  const unsigned char frame[] = {0x28, 0xb5, 0x2f, 0xfd, /* zstd magic */
                                 0xe0, /* 8-byte size, single */
                                 0x00, 0x00, 0x00, 0x00,
                                 0x01, 0x00, 0x00, 0x00, /* 4 GiB */
                                 0x03, 0x00, 0x10,       /* last RLE block */
                                 0x41};
  len = damaged_file(buf, huge, frame, sizeof(frame));
  write_file(buf, len);
  largest_malloc = 0;
  assert_int_equal(an_statefile_load(t, "default", path, err, sizeof(err)), -1);
  assert_true(largest_malloc < 1 << 20);
  assert_int_equal(an_series_table_count(t), 0);
  an_series_table_destroy(t);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_old_version_refused),
      cmocka_unit_test(test_damaged_size_allocates_nothing_big),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
