/* replay_bench: what anomalyd's start-up pays to find the points it
 * replays (an_store_each_point_after_state()). Fills a database with
 * SERIES series of POINTS points each, checkpoints every series AFTER
 * points before its end, then times the replay query over a fresh
 * connection (a cold statement cache, the page cache warm from filling),
 * and the retention's chunks (an_store_prune_points()) that delete the
 * older half, each in its own transaction as the daemon runs them.
 *
 *   replay-bench [--quick] [DIR]   (DIR: a new temporary directory) */
#include "clock.h"
#include "conf.h"
#include "metrics.h"
#include "store/store.h"
#include "store/store_series.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fill {
  size_t series, points, after;
} fill_t;

static int fill(sqlite3 *db, void *arg) {
  const fill_t *f = arg;
  char source[32], metric[32], key[80];
  unsigned char blob[16] = {0};
  int rc = 0;
  /* in time order across series, as pushes arrive */
  for (size_t p = 0; rc == 0 && p < f->points; p++)
    for (size_t s = 0; rc == 0 && s < f->series; s++) {
      snprintf(source, sizeof(source), "host-%zu", s / 10);
      snprintf(metric, sizeof(metric), "metric-%zu", s % 10);
      rc = an_store_put_point(db, source, metric, 1e9 + 60.0 * p, 1.0 * p, 0);
    }
  for (size_t s = 0; rc == 0 && s < f->series; s++) {
    snprintf(key, sizeof(key), "host-%zu/metric-%zu", s / 10, s % 10);
    rc = an_store_put_state(db, key, 0.5,
                            1e9 + 60.0 * (f->points - 1 - f->after), blob,
                            sizeof(blob));
  }
  return rc;
}

static int count(void *ctx, const char *source, const char *metric, double t,
                 double value) {
  ++*(size_t *)ctx;
  return 0;
}

/* engine.c's PRUNE_CHUNK */
#ifndef CHUNK
#define CHUNK 1000
#endif

typedef struct prune {
  double before, took; /* took: the job alone, without its commit */
  int deleted;
} prune_t;

static int prune(sqlite3 *db, void *arg) {
  prune_t *p = arg;
  double t0 = an_clock_monotonic();
  int rc = an_store_prune_points(db, p->before, CHUNK, &p->deleted);
  p->took = an_clock_monotonic() - t0;
  return rc;
}

static int replay(sqlite3 *db, void *arg) {
  return an_store_each_point_after_state(db, count, arg);
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  const char *dir = argc > 1 + quick ? argv[1 + quick] : NULL;
  if (argc > 2 + quick || (dir != NULL && dir[0] == '-')) {
    fprintf(stderr, "usage: replay-bench [--quick] [DIR]\n");
    return 2;
  }
  char tmp[] = "/tmp/replay-bench.XXXXXX", err[512] = "";
  fill_t f = {quick ? 20 : 1000, quick ? 50 : 1000, 10};
  if (dir == NULL && (dir = mkdtemp(tmp)) == NULL)
    return perror("mkdtemp"), 1;
  an_config_t *c = an_config_defaults();
  an_daemon_t d = {.config = c, .metrics = an_metrics_create()};
  an_store_t *s = NULL;
  if (c == NULL || d.metrics == NULL)
    return fprintf(stderr, "out of memory\n"), 1;
  free(c->data_dir);
  c->data_dir = strdup(dir);
  if (an_store_open(&d, &s, err, sizeof(err)) != 0)
    return fprintf(stderr, "%s\n", err), 1;
  double t0 = an_clock_monotonic();
  if (an_store_run_now(s, fill, &f) != 0)
    return fprintf(stderr, "fill failed\n"), 1;
  printf("filled %zu points, %zu series in %.1f s\n", f.series * f.points,
         f.series, an_clock_monotonic() - t0);
  an_store_close(s);
  s = NULL;
  if (an_store_open(&d, &s, err, sizeof(err)) != 0)
    return fprintf(stderr, "%s\n", err), 1;
  for (int i = 0; i < 3; i++) {
    size_t n = 0;
    t0 = an_clock_monotonic();
    if (an_store_run_now(s, replay, &n) != 0)
      return fprintf(stderr, "replay failed\n"), 1;
    printf("replay: %zu points (want %zu) in %.1f ms\n", n, f.series * f.after,
           1e3 * (an_clock_monotonic() - t0));
    if (n != f.series * f.after)
      return 1;
  }
  /* retention: the older half of every series, in the daemon's chunks */
  prune_t p = {.before = 1e9 + 60.0 * (f.points / 2)};
  double worst = 0, total = 0, job_worst = 0, job_total = 0;
  size_t chunks = 0, deleted = 0;
  do {
    t0 = an_clock_monotonic();
    if (an_store_run_now(s, prune, &p) != 0)
      return fprintf(stderr, "prune failed\n"), 1;
    double took = an_clock_monotonic() - t0;
    worst = took > worst ? took : worst;
    job_worst = p.took > job_worst ? p.took : job_worst;
    job_total += p.took;
    total += took;
    chunks++;
    deleted += (size_t)p.deleted;
  } while (p.deleted == CHUNK);
  printf("prune: %zu points in %zu chunks of %d; the job %.1f ms on average, "
         "%.1f ms at most; with its own commit %.1f ms, %.1f ms at most\n",
         deleted, chunks, CHUNK, 1e3 * job_total / chunks, 1e3 * job_worst,
         1e3 * total / chunks, 1e3 * worst);
  if (deleted != f.series * (f.points / 2))
    return 1;
  an_store_close(s);
  an_metrics_destroy(d.metrics);
  an_config_free(c);
  if (dir == tmp) {
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
    return system(cmd) == 0 ? 0 : 1;
  }
  return 0;
}
