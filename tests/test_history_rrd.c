/* The RRD reader on real files made with librrd in a scratch directory,
 * laid out and shaped as collectd's rrdtool plugin makes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "faultmem.h"
#include "history/rrd.h"
#include "metric.h"
#include "testutil.h"

#include <errno.h>
#include <rrd.h>
#include <sys/stat.h>

#define STEP 10
#define T_END ((time_t)1700000000) /* the last update, a multiple of STEP */
#define DAYS2 (2 * 86400)

static char dir[64];

/* The rrdtool plugin's defaults (RRARows 1200, RRATimespan 3600, 86400,
 * 604800) at a 10 s step: 1200 x 10 s, 1235 x 70 s, 1210 x 500 s. */
static const char *rras[] = {
    "RRA:AVERAGE:0.1:1:1200",  "RRA:MIN:0.1:1:1200",  "RRA:MAX:0.1:1:1200",
    "RRA:AVERAGE:0.1:7:1235",  "RRA:MIN:0.1:7:1235",  "RRA:MAX:0.1:7:1235",
    "RRA:AVERAGE:0.1:50:1210", "RRA:MIN:0.1:50:1210", "RRA:MAX:0.1:50:1210",
};

/* The value written at time t: a daily cycle with a 70 s wiggle. */
static double pattern(time_t t) {
  return 50 + 40 * sin(2 * M_PI * (double)(t % 86400) / 86400) +
         (double)((t / STEP) % 7);
}

/* Creates dir/rel with the DS given, last updated at since. */
static void create(const char *rel, const char **ds, int n_ds, time_t since) {
  char path[256], sub[256];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  for (char *s = strchr(path + strlen(dir) + 1, '/'); s;
       s = strchr(s + 1, '/')) {
    snprintf(sub, sizeof(sub), "%.*s", (int)(s - path), path);
    mkdir(sub, 0700);
  }
  const char *argv[16];
  int argc = 0;
  for (int i = 0; i < n_ds; i++)
    argv[argc++] = ds[i];
  for (size_t i = 0; i < sizeof(rras) / sizeof(rras[0]); i++)
    argv[argc++] = rras[i];
  rrd_clear_error();
  if (rrd_create_r(path, STEP, since, argc, argv) != 0)
    fail_msg("rrd_create_r %s: %s", path, rrd_get_error());
}

/* Two days of updates every 10 s up to T_END: the pattern for a GAUGE,
 * counters growing by 100/s and 200/s for if_octets' rx and tx. */
static void fill(const char *rel, int octets) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  enum { BATCH = 500 };
  static char buf[BATCH][64];
  const char *argv[BATCH];
  int argc = 0;
  for (time_t t = T_END - DAYS2 + STEP; t <= T_END; t += STEP) {
    long k = (long)(t - (T_END - DAYS2));
    if (octets)
      snprintf(buf[argc], sizeof(buf[argc]), "%ld:%ld:%ld", (long)t, 100 * k,
               200 * k);
    else
      snprintf(buf[argc], sizeof(buf[argc]), "%ld:%.17g", (long)t, pattern(t));
    argv[argc] = buf[argc];
    if (++argc == BATCH || t == T_END) {
      rrd_clear_error();
      if (rrd_update_r(path, NULL, argc, argv) != 0)
        fail_msg("rrd_update_r %s: %s", path, rrd_get_error());
      argc = 0;
    }
  }
}

static void write_file(const char *rel, const char *text, size_t len) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  fclose(f);
}

static int setup(void **unused) {
  if (test_tmpdir_create(dir, "test_history_rrd") != 0)
    return -1;
  const char *gauge[] = {"DS:value:GAUGE:20:U:U"};
  const char *octets[] = {"DS:rx:DERIVE:20:0:U", "DS:tx:DERIVE:20:0:U"};
  const char *load[] = {"DS:shortterm:GAUGE:20:0:5000",
                        "DS:midterm:GAUGE:20:0:5000",
                        "DS:longterm:GAUGE:20:0:5000"};
  time_t since = T_END - DAYS2;
  create("web1/cpu-0/cpu-idle.rrd", gauge, 1, since);
  create("web1/interface-eth0/if_octets.rrd", octets, 2, since);
  create("web1/load/load.rrd", load, 3, since);
  create("db-2.example/disk-sda-1/disk_octets.rrd", octets, 2, since);
  create("db-2.example/memory/memory-used.rrd", gauge, 1, since);
  create("db-2.example/vmem/vmpage_number-active_anon.rrd", gauge, 1, since);
  fill("web1/cpu-0/cpu-idle.rrd", 0);
  fill("web1/interface-eth0/if_octets.rrd", 1);
  /* Not RRD files, or not where the rrdtool plugin puts them: ignored. */
  write_file("web1/cpu-0/README.txt", "notes", 5);
  write_file("web1/stray.rrd", "x", 1);
  /* Damaged: garbage, and a real file cut short. */
  write_file("web1/cpu-0/cpu-broken.rrd", "this is no rrd file\n", 20);
  char path[256], *head = calloc(1, 600);
  snprintf(path, sizeof(path), "%s/web1/load/load.rrd", dir);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fread(head, 1, 600, f), 600);
  fclose(f);
  write_file("db-2.example/memory/memory-free.rrd", head, 600);
  free(head);
  return 0;
}

static int teardown(void **unused) { return test_tmpdir_remove(dir); }

/* The plugin's names for the same values: its fields, through metric.h,
 * give the metric the listing gives the file. */
static const struct {
  const char *host, *plugin, *plugin_instance, *type, *type_instance, *ds;
  int many_ds;
  const char *metric;
} names[] = {
    {"db-2.example", "disk", "sda-1", "disk_octets", "", "rx", 1,
     "disk-sda-1/disk_octets/rx"},
    {"db-2.example", "disk", "sda-1", "disk_octets", "", "tx", 1,
     "disk-sda-1/disk_octets/tx"},
    {"db-2.example", "memory", "", "memory", "used", "value", 0,
     "memory/memory-used"},
    {"db-2.example", "vmem", "", "vmpage_number", "active_anon", "value", 0,
     "vmem/vmpage_number-active_anon"},
    {"web1", "cpu", "0", "cpu", "idle", "value", 0, "cpu-0/cpu-idle"},
    {"web1", "interface", "eth0", "if_octets", "", "rx", 1,
     "interface-eth0/if_octets/rx"},
    {"web1", "interface", "eth0", "if_octets", "", "tx", 1,
     "interface-eth0/if_octets/tx"},
    {"web1", "load", "", "load", "", "shortterm", 1, "load/load/shortterm"},
    {"web1", "load", "", "load", "", "midterm", 1, "load/load/midterm"},
    {"web1", "load", "", "load", "", "longterm", 1, "load/load/longterm"},
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

static void test_list_names_as_the_plugin(void **unused) {
  an_rrd_list_t *l = NULL;
  char err[256] = "";
  assert_int_equal(an_rrd_list(dir, &l, err, sizeof(err)), 0);
  assert_non_null(l);
  assert_int_equal(l->n, N_NAMES);
  for (size_t i = 0; i < N_NAMES; i++) {
    char metric[256];
    assert_true(an_metric_name(metric, sizeof(metric), names[i].plugin,
                               names[i].plugin_instance, names[i].type,
                               names[i].type_instance,
                               names[i].many_ds ? names[i].ds : NULL) > 0);
    assert_string_equal(metric, names[i].metric);
    assert_string_equal(l->series[i].source_id, names[i].host);
    assert_string_equal(l->series[i].metric, names[i].metric);
    assert_string_equal(l->series[i].ds_name, names[i].ds);
    assert_non_null(strstr(l->series[i].path, dir));
  }
  /* Both damaged files skipped, each named. */
  assert_int_equal(l->n_errors, 2);
  assert_non_null(
      strstr(l->errors[0], "db-2.example/memory/memory-free.rrd: "));
  assert_non_null(strstr(l->errors[1], "web1/cpu-0/cpu-broken.rrd: "));
  an_rrd_list_free(l);
  an_rrd_list_free(NULL);
}

static void test_list_missing_dir(void **unused) {
  an_rrd_list_t *l = (an_rrd_list_t *)1;
  char err[256] = "", path[128];
  snprintf(path, sizeof(path), "%s/nowhere", dir);
  assert_int_equal(an_rrd_list(path, &l, err, sizeof(err)), ENOENT);
  assert_null(l);
  assert_non_null(strstr(err, "nowhere"));
  snprintf(path, sizeof(path), "%s/web1/cpu-0/README.txt", dir);
  assert_int_equal(an_rrd_list(path, &l, err, sizeof(err)), ENOTDIR);
}

static void fetch(const char *rel, const char *ds, time_t start, time_t end,
                  an_rrd_point_t **p, size_t *n, unsigned long *step) {
  char path[256], err[256] = "";
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  int rc = an_rrd_fetch(path, ds, start, end, p, n, step, err, sizeof(err));
  if (rc != 0)
    fail_msg("an_rrd_fetch: %d %s", rc, err);
}

/* The last hour, at the finest step: the values written, at their times. */
static void test_fetch_finest(void **unused) {
  an_rrd_point_t *p;
  size_t n;
  unsigned long step;
  fetch("web1/cpu-0/cpu-idle.rrd", "value", T_END - 3600, T_END, &p, &n, &step);
  assert_int_equal(step, STEP);
  assert_int_equal(n, 3600 / STEP);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(p[i].time, T_END - 3600 + (time_t)(i + 1) * STEP);
    assert_true(fabs(p[i].value - pattern(p[i].time)) < 1e-9);
  }
  free(p);
  /* Both DS of a two-DS file: the rates of the counters written. */
  fetch("web1/interface-eth0/if_octets.rrd", "tx", T_END - 600, T_END, &p, &n,
        &step);
  assert_int_equal(step, STEP);
  assert_int_equal(n, 60);
  for (size_t i = 0; i < n; i++)
    assert_true(fabs(p[i].value - 200) < 1e-9);
  free(p);
  fetch("web1/interface-eth0/if_octets.rrd", "rx", T_END - 600, T_END, &p, &n,
        &step);
  assert_int_equal(n, 60);
  assert_true(fabs(p[0].value - 100) < 1e-9);
  free(p);
}

/* Older than the finest archive reaches: the next one, averaged. */
static void test_fetch_falls_back(void **unused) {
  an_rrd_point_t *p;
  size_t n;
  unsigned long step;
  time_t start = T_END - 86400 + 700; /* in the 70 s archive, not the 10 s */
  fetch("web1/cpu-0/cpu-idle.rrd", "value", start, start + 3500, &p, &n, &step);
  assert_int_equal(step, 70);
  assert_int_equal(n, 50); /* start and end on a step: 3500 s of them */
  assert_int_equal(p[0].time, start + 70);
  assert_int_equal(p[n - 1].time, start + 3500);
  for (size_t i = 0; i < n; i++) {
    double sum = 0;
    for (time_t t = p[i].time - 60; t <= p[i].time; t += STEP)
      sum += pattern(t);
    assert_true(fabs(p[i].value - sum / 7) < 1e-9);
  }
  free(p);
  start = T_END - 170000; /* past the 70 s archive: 500 s */
  fetch("web1/cpu-0/cpu-idle.rrd", "value", start, start + 5000, &p, &n, &step);
  assert_int_equal(step, 500);
  assert_int_equal(n, 10);
  for (size_t i = 0; i < n; i++) {
    double sum = 0;
    for (time_t t = p[i].time - 490; t <= p[i].time; t += STEP)
      sum += pattern(t);
    assert_true(fabs(p[i].value - sum / 50) < 1e-9);
  }
  free(p);
}

/* Unknown rows are left out: a file never updated has no points. */
static void test_fetch_skips_unknown(void **unused) {
  an_rrd_point_t *p = (an_rrd_point_t *)1;
  size_t n = 1;
  unsigned long step;
  fetch("web1/load/load.rrd", "midterm", T_END - DAYS2 + 100,
        T_END - DAYS2 + 3600, &p, &n, &step);
  assert_int_equal(n, 0);
  assert_null(p);
}

static void test_fetch_errors(void **unused) {
  an_rrd_point_t *p = (an_rrd_point_t *)1;
  size_t n = 1;
  unsigned long step;
  char path[256], err[256];
  snprintf(path, sizeof(path), "%s/web1/cpu-0/cpu-idle.rrd", dir);
  assert_int_equal(an_rrd_fetch(path, "nope", T_END - 600, T_END, &p, &n, &step,
                                err, sizeof(err)),
                   ENOENT);
  assert_null(p);
  assert_int_equal(n, 0);
  assert_non_null(strstr(err, "cpu-idle.rrd"));
  assert_non_null(strstr(err, "nope"));
  assert_int_equal(an_rrd_fetch(path, "value", T_END, T_END - 600, &p, &n,
                                &step, err, sizeof(err)),
                   EINVAL);
  snprintf(path, sizeof(path), "%s/web1/cpu-0/cpu-broken.rrd", dir);
  assert_int_equal(an_rrd_fetch(path, "value", T_END - 600, T_END, &p, &n,
                                &step, err, sizeof(err)),
                   EIO);
  assert_null(p);
  assert_non_null(strstr(err, "cpu-broken.rrd: "));
  snprintf(path, sizeof(path), "%s/web1/cpu-0/missing.rrd", dir);
  assert_int_equal(an_rrd_fetch(path, "value", T_END - 600, T_END, &p, &n,
                                &step, err, sizeof(err)),
                   EIO);
  assert_non_null(strstr(err, "missing.rrd: "));
}

/* Every allocation of the listing and the fetch failed in turn: ENOMEM,
 * nothing returned, nothing leaked (valgrind), then success. */
static void test_out_of_memory(void **unused) {
  char err[256], path[256];
  long k = 1, failed;
  do {
    an_rrd_list_t *l = (an_rrd_list_t *)1;
    an_faultmem_arm(k++, 0);
    int rc = an_rrd_list(dir, &l, err, sizeof(err));
    failed = an_faultmem_disarm();
    assert_int_equal(rc, failed ? ENOMEM : 0);
    if (failed)
      assert_null(l);
    else
      assert_int_equal(l->n, N_NAMES);
    an_rrd_list_free(failed ? NULL : l);
  } while (failed);
  assert_true(k > 10);
  snprintf(path, sizeof(path), "%s/web1/cpu-0/cpu-idle.rrd", dir);
  an_rrd_point_t *p = (an_rrd_point_t *)1;
  size_t n = 1;
  unsigned long step;
  an_faultmem_arm(1, 0);
  int rc = an_rrd_fetch(path, "value", T_END - 600, T_END, &p, &n, &step, err,
                        sizeof(err));
  assert_int_equal(an_faultmem_disarm(), 1);
  assert_int_equal(rc, ENOMEM);
  assert_null(p);
  assert_int_equal(n, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list_names_as_the_plugin),
      cmocka_unit_test(test_list_missing_dir),
      cmocka_unit_test(test_fetch_finest),
      cmocka_unit_test(test_fetch_falls_back),
      cmocka_unit_test(test_fetch_skips_unknown),
      cmocka_unit_test(test_fetch_errors),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
