/* train-bench: what model training and a trained forest cost in anomalyd
 * itself (issue 14's figures), through the daemon's own code on a real
 * database in a temporary directory:
 *
 * - isolation_forest: a training job (train.c, as a worker runs it) over
 *   one source of 10 000 rows of 8 metrics (host_rows.h) pushed as
 *   points: reading and
 *   aligning them, fitting 100 trees of 256 samples, the held-back
 *   evaluation, the blob and its storing;
 * - scoring: the forest activated and loaded as the daemon loads it
 *   (models/forests.c), then a POST /v1/data point's row scored as the
 *   handler scores it (an_forests_score: the source's forest found, each
 *   metric's column found by name, the row scored; the explanation only
 *   for a row at or above the threshold), in ns a point;
 * - seasonal: a training job over 1 000 RRD files (made with librrd) of
 *   7 days at 10 s.
 *
 *   train-bench [--quick] [--no-seasonal]
 *
 * Prints what it measures and one line a script can grep:
 *   forest_rows=... metrics=8 trees=100 forest_train_s=...
 *   ns_per_point=... load_ms=... seasonal_series=... seasonal_train_s=...
 * The machine is shared: compare the median of a few runs with the
 * targets (issue 14: 60 s for seasonal, 5 us a point). --quick runs small
 * sizes, to prove the program still works. */
#include "clock.h"
#include "conf.h"
#include "host_rows.h"
#include "metrics.h"
#include "models/forests.h"
#include "models/train.h"
#include "store/store.h"
#include "store/store_models.h"
#include "store/store_series.h"

#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define METRICS HOST_METRICS
#define STEP 10
#define ROUNDS 7

/* host_rows.h's metrics, in its order */
static const char *const names[METRICS] = {"requests", "cpu",    "bytes_out",
                                           "disk_ops", "memory", "temperature",
                                           "queue",    "errors"};

/* ---- a job as a worker runs it ---- */

typedef struct job {
  an_train_job_t row;
  an_model_info_t model;
} job_t;

static int put_job(sqlite3 *db, void *arg) {
  return an_store_put_train_job(db, arg);
}

/* Runs a job of algorithm over [start, end] on a connection of its own,
 * as a training worker does; returns its seconds, or -1. */
static double run_job(an_daemon_t *d, const char *id, const char *algorithm,
                      const char *hyperparameters, const char *scope,
                      double start, double end, job_t *out) {
  char err[512];
  atomic_int stop = 0;
  an_train_job_t j = {.algorithm = (char *)algorithm,
                      .hyperparameters = (char *)hyperparameters,
                      .range_start = start,
                      .range_end = end,
                      .scope_source = (char *)scope,
                      .created_at = an_clock_wall()};
  snprintf(j.id, sizeof(j.id), "%s", id);
  if (an_store_run_now(d->store, put_job, &j) != 0)
    return fprintf(stderr, "cannot queue job %s\n", id), -1;
  sqlite3 *db = an_store_connect(d->config->data_dir, 0, err, sizeof(err));
  if (db == NULL)
    return fprintf(stderr, "%s\n", err), -1;
  double t0 = an_clock_monotonic();
  int rc = an_train_job_run(db, d->config, id, &stop);
  double took = an_clock_monotonic() - t0;
  if (rc == 0)
    rc = an_store_get_train_job(db, id, &out->row);
  if (rc == 0 && out->row.status == AN_JOB_SUCCEEDED)
    rc = an_store_get_model(db, out->row.model_id, &out->model);
  else if (rc == 0) {
    fprintf(stderr, "job %s: %s\n", id,
            out->row.error ? out->row.error : "not succeeded");
    rc = EINVAL;
  }
  sqlite3_close(db);
  return rc == 0 ? took : -1;
}

static void job_clear(job_t *j) {
  an_train_job_clear(&j->row);
  an_model_info_clear(&j->model);
}

/* ---- isolation_forest ---- */

typedef struct points {
  size_t rows;
  double t0;
} points_t;

static int put_points(sqlite3 *db, void *arg) {
  const points_t *p = arg;
  double row[METRICS];
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < p->rows; i++) {
    make_row(row, METRICS);
    for (int k = 0; rc == 0 && k < METRICS; k++)
      rc = an_store_put_point(db, "web-1", names[k], p->t0 + STEP * (double)i,
                              row[k], 0);
  }
  return rc;
}

typedef struct activation {
  const char *id;
  an_forests_t *forests;
} activation_t;

static int activate(sqlite3 *db, void *arg) {
  activation_t *a = arg;
  int rc = an_store_activate_model(db, a->id);
  return rc != 0 ? rc : an_forests_load(db, &a->forests);
}

static int reload(sqlite3 *db, void *arg) {
  an_forests_t **f = arg;
  an_forests_free(*f);
  return an_forests_load(db, f);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median over ROUNDS of ns a point: each point's metrics in the
 * order a client sends them (not the forest's), scored as the handler
 * does; *anomalies counts the rows explained. */
static double score_ns(const an_forests_t *f, const double *rows, size_t n,
                       size_t *anomalies) {
  static const int order[METRICS] = {1, 4, 6, 0, 2, 7, 5, 3};
  const char *keys[METRICS];
  double ns[ROUNDS], values[METRICS], sink = 0;
  for (int k = 0; k < METRICS; k++)
    keys[k] = names[order[k]];
  for (int r = 0; r < ROUNDS; r++) {
    *anomalies = 0;
    double t0 = an_clock_monotonic();
    for (size_t i = 0; i < n; i++) {
      an_forest_score_t s;
      for (int k = 0; k < METRICS; k++)
        values[k] = rows[i * METRICS + (size_t)order[k]];
      if (an_forests_score(f, "web-1", keys, values, METRICS, 0.7, &s)) {
        sink += s.score;
        *anomalies += s.ncontrib > 0;
      }
    }
    ns[r] = (an_clock_monotonic() - t0) * 1e9 / (double)n;
  }
  if (sink < 0)
    puts("");
  qsort(ns, ROUNDS, sizeof(*ns), cmp_double);
  return ns[ROUNDS / 2];
}

static int bench_forest(an_daemon_t *d, size_t rows, double *train_s,
                        double *ns, double *load_ms) {
  double now = an_clock_wall(), t0 = now - STEP * (double)(rows + 10);
  points_t p = {rows, t0};
  job_t job = {0};
  if (an_store_run_now(d->store, put_points, &p) != 0)
    return fprintf(stderr, "cannot store the points\n"), 1;
  *train_s = run_job(d, "forest-job", "isolation_forest",
                     "{\"contamination\":0.01,\"n_estimators\":100,"
                     "\"max_samples\":256}",
                     "web-1", t0, now, &job);
  if (*train_s < 0)
    return 1;
  printf("isolation_forest: 1 source, %zu rows of %d metrics, 100 trees of "
         "256 samples: trained in %.3f s (model %lld bytes)\n",
         rows, METRICS, *train_s, job.model.size);
  activation_t a = {.id = job.model.id};
  if (an_store_run_now(d->store, activate, &a) != 0)
    return fprintf(stderr, "cannot activate\n"), 1;
  double l0 = an_clock_monotonic();
  if (an_store_run_now(d->store, reload, &a.forests) != 0)
    return fprintf(stderr, "cannot load\n"), 1;
  *load_ms = 1e3 * (an_clock_monotonic() - l0);
  size_t n = rows < 10000 ? rows : 10000, anomalies;
  double *fresh = malloc(n * METRICS * sizeof(double));
  for (size_t i = 0; i < n; i++)
    make_row(fresh + i * METRICS, METRICS);
  *ns = score_ns(a.forests, fresh, n, &anomalies);
  printf("scoring a POST /v1/data point by the active forest: %.0f ns a point"
         " (target 5000), %zu of %zu new rows explained as anomalies; the"
         " active forests loaded (read, decompressed, checked) in %.1f ms\n",
         *ns, anomalies, n, *load_ms);
  free(fresh);
  an_forests_free(a.forests);
  job_clear(&job);
  return 0;
}

/* ---- seasonal over RRD files ---- */

/* collectd's rrdtool plugin's archives for a 10 s step, with the finest
 * kept for 7 days, as a host keeping a week at full resolution has it. */
static int make_rrd(const char *path, time_t since, time_t until, int series) {
  char ds[] = "DS:value:GAUGE:20:U:U";
  char rra_fine[64];
  const char *argv[3] = {ds, rra_fine, "RRA:AVERAGE:0.1:50:1210"};
  enum { BATCH = 1000 };
  static char buf[BATCH][48];
  const char *up[BATCH];
  int n = 0;
  snprintf(rra_fine, sizeof(rra_fine), "RRA:AVERAGE:0.1:1:%ld",
           (long)((until - since) / STEP + 10));
  rrd_clear_error();
  if (rrd_create_r(path, STEP, since - STEP, 3, argv) != 0)
    return fprintf(stderr, "%s: %s\n", path, rrd_get_error()), 1;
  for (time_t t = since; t <= until; t += STEP) {
    double v = 50 + 30 * sin(2 * M_PI * (double)(t % 86400) / 86400 + series) +
               2 * (unit() - 0.5);
    snprintf(buf[n], sizeof(buf[n]), "%ld:%.6g", (long)t, v);
    up[n] = buf[n];
    if (++n == BATCH || t + STEP > until) {
      rrd_clear_error();
      if (rrd_update_r(path, NULL, n, up) != 0)
        return fprintf(stderr, "%s: %s\n", path, rrd_get_error()), 1;
      n = 0;
    }
  }
  return 0;
}

static int bench_seasonal(an_daemon_t *d, const char *dir, size_t series,
                          int days, double *train_s) {
  char path[512];
  time_t until = (time_t)an_clock_wall() / STEP * STEP - 3600;
  time_t since = until - (time_t)days * 86400 - 3600; /* and an hour */
  double t0 = an_clock_monotonic();
  for (size_t i = 0; i < series; i++) {
    snprintf(path, sizeof(path), "%s/host-%zu", dir, i / 10);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/host-%zu/cpu-%zu", dir, i / 10, i % 10);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/host-%zu/cpu-%zu/percent-user.rrd", dir,
             i / 10, i % 10);
    if (make_rrd(path, since, until, (int)i) != 0)
      return 1;
  }
  printf("seasonal: %zu RRD files of %d days at %d s made in %.1f s\n", series,
         days, STEP, an_clock_monotonic() - t0);
  fflush(stdout);
  job_t job = {0};
  *train_s = run_job(d, "seasonal-job", "seasonal", "{}", "host-*",
                     (double)since, (double)until, &job);
  if (*train_s < 0)
    return 1;
  printf("seasonal: %lld of %zu series (%lld values) trained in %.2f s"
         " (target 60)\n",
         job.model.series, series, job.model.points, *train_s);
  job_clear(&job);
  return 0;
}

int main(int argc, char **argv) {
  int quick = 0, seasonal = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[i], "--no-seasonal") == 0)
      seasonal = 0;
    else
      return fprintf(stderr, "usage: train-bench [--quick] [--no-seasonal]\n"),
             2;
  }
  char tmp[] = "/tmp/train-bench.XXXXXX", rrd_dir[64], err[512] = "";
  if (mkdtemp(tmp) == NULL)
    return perror("mkdtemp"), 1;
  snprintf(rrd_dir, sizeof(rrd_dir), "%s/rrd", tmp);
  mkdir(rrd_dir, 0700);
  an_config_t *c = an_config_defaults();
  an_daemon_t d = {.config = c, .metrics = an_metrics_create()};
  if (c == NULL || d.metrics == NULL)
    return fprintf(stderr, "out of memory\n"), 1;
  free(c->data_dir);
  c->data_dir = strdup(tmp);
  c->rrd_dir = strdup(rrd_dir);
  if (an_store_open(&d, &d.store, err, sizeof(err)) != 0)
    return fprintf(stderr, "%s\n", err), 1;
  size_t rows = quick ? 2000 : 10000, series = quick ? 4 : 1000;
  int days = quick ? 2 : 7;
  double forest_s, ns, load_ms, seasonal_s = NAN;
  int rc = bench_forest(&d, rows, &forest_s, &ns, &load_ms);
  if (rc == 0 && seasonal)
    rc = bench_seasonal(&d, rrd_dir, series, days, &seasonal_s);
  if (rc == 0)
    printf("forest_rows=%zu metrics=%d trees=100 forest_train_s=%.3f "
           "ns_per_point=%.0f load_ms=%.1f seasonal_series=%zu "
           "seasonal_train_s=%.2f\n",
           rows, METRICS, forest_s, ns, load_ms, seasonal ? series : 0,
           seasonal_s);
  an_store_close(d.store);
  an_metrics_destroy(d.metrics);
  an_config_free(c);
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
  return system(cmd) == 0 ? rc : 1;
}
