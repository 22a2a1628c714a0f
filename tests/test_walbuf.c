#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/walbuf.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/test_walbuf.XXXXXX";
static char path[64];

static int set_up(void **unused) {
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/t.db", dir);
  return 0;
}

static int tear_down(void **unused) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void run(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", sql, msg);
}

static long long count(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* As the store opens it: WAL, synchronous FULL, through the VFS. */
static sqlite3 *open_db(const char *vfs) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(path, &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                   vfs),
                   SQLITE_OK);
  run(db, "PRAGMA journal_mode=WAL");
  run(db, "PRAGMA synchronous=FULL");
  return db;
}

static void assert_intact(sqlite3 *db) {
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
}

static void test_registers_once(void **unused) {
  const char *name = an_walbuf_vfs();
  assert_non_null(name);
  assert_ptr_equal(an_walbuf_vfs(), name);
  assert_non_null(sqlite3_vfs_find(name));
  assert_ptr_not_equal(sqlite3_vfs_find(NULL), sqlite3_vfs_find(name));
}

/* Every commit is visible at once to a connection of the default VFS, in
 * small transactions, across checkpoints, and in transactions larger than
 * what is gathered or what the page cache holds. */
static void test_commits_are_seen_by_others(void **unused) {
  sqlite3 *db = open_db(an_walbuf_vfs());
  sqlite3 *other = open_db(NULL);
  run(db, "CREATE TABLE t(series INTEGER, pad BLOB)");
  run(db, "CREATE INDEX t_series ON t(series)");
  run(db, "PRAGMA wal_autocheckpoint=50");
  long long n = 0;
  for (int i = 0; i < 400; i++) {
    run(db, "BEGIN IMMEDIATE");
    for (int k = 0; k < 5; k++)
      run(db, "INSERT INTO t VALUES (abs(random()) % 16, randomblob(300))");
    run(db, "COMMIT");
    n += 5;
    assert_int_equal(count(other, "SELECT count(*) FROM t"), n);
  }
  run(db, "PRAGMA cache_size=20"); /* spills mid-transaction */
  run(db, "BEGIN IMMEDIATE");
  run(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
          " WHERE x < 3000) INSERT INTO t SELECT x % 16, randomblob(500)"
          " FROM c");
  assert_int_equal(count(db, "SELECT count(*) FROM t"), n + 3000);
  run(db, "COMMIT");
  assert_int_equal(count(other, "SELECT count(*) FROM t"), n + 3000);
  run(db, "BEGIN IMMEDIATE");
  run(db, "DELETE FROM t WHERE series = 3");
  run(db, "ROLLBACK");
  assert_int_equal(count(db, "SELECT count(*) FROM t"), n + 3000);
  sqlite3_close(other);
  sqlite3_close(db);
  db = open_db(NULL);
  assert_int_equal(count(db, "SELECT count(*) FROM t"), n + 3000);
  assert_intact(db);
  sqlite3_close(db);
}

/* A process killed at any moment keeps every transaction whose COMMIT had
 * returned. */
static void test_kill_keeps_what_was_committed(void **unused) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    sqlite3 *db = open_db(an_walbuf_vfs());
    run(db, "CREATE TABLE IF NOT EXISTS k(i INTEGER PRIMARY KEY, pad BLOB)");
    for (int i = 1;; i++) {
      char sql[128];
      snprintf(sql, sizeof(sql),
               "BEGIN IMMEDIATE; INSERT INTO k VALUES (%d, randomblob(3000));"
               " COMMIT",
               i);
      run(db, sql);
      if (write(fds[1], &i, sizeof(i)) != sizeof(i))
        _exit(1);
    }
  }
  close(fds[1]);
  int last = 0, i;
  while (last < 300 && read(fds[0], &i, sizeof(i)) == sizeof(i))
    last = i;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  close(fds[0]);
  sqlite3 *db = open_db(NULL);
  assert_true(count(db, "SELECT count(*) FROM k") >= last);
  assert_int_equal(count(db, "SELECT max(i) - count(*) FROM k"), 0);
  sqlite3_close(db);
}

/* A transaction that spilled frames to the log and then rolled back must
 * leave nothing gathered: another connection appends its own frames at
 * those offsets once the write lock is free, and stale bytes written
 * after them would overwrite what it committed. */
static void test_rollback_leaves_nothing_gathered(void **unused) {
  sqlite3 *db = open_db(an_walbuf_vfs());
  sqlite3 *other = open_db(NULL);
  run(db, "CREATE TABLE r(i INTEGER PRIMARY KEY, pad BLOB)");
  run(db, "CREATE TABLE o(i INTEGER PRIMARY KEY, pad BLOB)");
  run(db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
          " WHERE x < 3000) INSERT INTO r SELECT x, randomblob(500) FROM c");
  run(db, "PRAGMA cache_size=20"); /* spills mid-transaction */
  for (int round = 1; round <= 5; round++) {
    /* a delete that spills, its last frames still gathered, undone */
    run(db, "BEGIN IMMEDIATE");
    run(db, "DELETE FROM r WHERE i % 7 = 3");
    run(db, "ROLLBACK");
    /* the write lock is free: another connection's frames go where the
     * undone ones were */
    run(other, "BEGIN IMMEDIATE");
    run(other, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1"
               " FROM c WHERE x < 1500) INSERT INTO o SELECT NULL,"
               " randomblob(900) FROM c");
    run(other, "COMMIT");
    /* db's next use of the log */
    assert_int_equal(count(db, "SELECT count(*) FROM r"), 3000);
    assert_int_equal(count(db, "SELECT count(*) FROM o"), 1500 * round);
  }
  sqlite3_close(other);
  sqlite3_close(db);
  db = open_db(NULL);
  assert_int_equal(count(db, "SELECT count(*) FROM o"), 7500);
  assert_intact(db);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registers_once),
      cmocka_unit_test(test_commits_are_seen_by_others),
      cmocka_unit_test(test_kill_keeps_what_was_committed),
      cmocka_unit_test(test_rollback_leaves_nothing_gathered),
  };
  return cmocka_run_group_tests(tests, set_up, tear_down);
}
