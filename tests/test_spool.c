/* The spool keeps records in order across reopenings and crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], path[128];

static int setup(void **unused) {
  strcpy(dir, "/tmp/test_spool_XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/spool", dir);
  return 0;
}

static int teardown(void **unused) {
  char cmd[200];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd);
}

static an_spool_t *open_spool(void) {
  char err[256];
  an_spool_t *sp = an_spool_open(path, err, sizeof(err));
  assert_non_null(sp);
  return sp;
}

static void append(an_spool_t *sp, int from, int to) {
  char buf[32];
  for (int i = from; i < to; i++) {
    char *rec = buf;
    snprintf(buf, sizeof(buf), "{\"n\":%d}", i);
    assert_int_equal(an_spool_append(sp, &rec, 1), 0);
  }
}

/* Takes up to max records and checks they are first, first+1, … */
static off_t expect(an_spool_t *sp, size_t max, int first, size_t count) {
  char **recs, want[32];
  size_t n;
  off_t next;
  assert_int_equal(an_spool_peek(sp, max, &recs, &n, &next), 0);
  assert_int_equal(n, count);
  for (size_t i = 0; i < n; i++) {
    snprintf(want, sizeof(want), "{\"n\":%d}", first + (int)i);
    assert_string_equal(recs[i], want);
  }
  an_spool_free_records(recs, n);
  return next;
}

static void test_order_and_replay(void **unused) {
  an_spool_t *sp = open_spool();
  assert_int_equal(an_spool_pending(sp), 0);
  append(sp, 0, 10);
  assert_true(an_spool_pending(sp) > 0);
  off_t next = expect(sp, 4, 0, 4);
  assert_int_equal(an_spool_advance(sp, next), 0);
  an_spool_close(sp);

  sp = open_spool(); /* a restart resumes after what was delivered */
  next = expect(sp, 100, 4, 6);
  append(sp, 10, 12);
  assert_int_equal(an_spool_advance(sp, next), 0);
  next = expect(sp, 100, 10, 2);
  assert_int_equal(an_spool_advance(sp, next), 0);
  assert_int_equal(an_spool_pending(sp), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 0); /* emptied once all is delivered */
  an_spool_close(sp);
}

static void test_torn_record(void **unused) {
  an_spool_t *sp = open_spool();
  append(sp, 0, 3);
  an_spool_close(sp);
  int fd = open(path, O_WRONLY | O_APPEND);
  assert_true(write(fd, "{\"n\":3", 6) == 6); /* a crash mid-record */
  close(fd);
  sp = open_spool();
  expect(sp, 100, 0, 3);
  append(sp, 3, 4); /* and the next record is whole */
  expect(sp, 100, 0, 4);
  an_spool_close(sp);
}

static void test_bad_path(void **unused) {
  char err[256] = "";
  assert_null(an_spool_open("/nonexistent/dir/spool", err, sizeof(err)));
  assert_non_null(strstr(err, "/nonexistent/dir/spool"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_order_and_replay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_torn_record, setup, teardown),
      cmocka_unit_test(test_bad_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
