/* score-bench: how fast the series table scores values, and how much memory
 * each series costs, for 1 000 and 1 000 000 series fed round-robin.
 *
 *   score-bench [--quick]
 *
 * Prints a table and, per run, a line a script can grep:
 *   series=1000 threads=1 ns_per_value=23.1 bytes_per_series=118 ...
 * The single-thread runs also print the targets next to them (issue 11's
 * for 1 000 series, issue 2's for a million); the machine is shared, so
 * compare the median of a few runs with those. */
#include "detector.h"
#include "series.h"
#include "units.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keys shaped like the plugin's: host/plugin-instance/type-instance/ds,
 * and their types, which the plugin passes on (two in five are bursty:
 * their spikes and dips cost a logarithm). */
#define KINDS 5
static const char *const plugins[KINDS] = {
    "cpu-%zu/cpu-user", "df-var%zu/df_complex-free",
    "interface-eth%zu/if_octets/rx", "processes-app%zu/ps_rss",
    "disk-sda%zu/disk_octets/write"};
static const char *const types[KINDS] = {"cpu", "df_complex", "if_octets",
                                         "ps_rss", "disk_octets"};

static char **make_keys(size_t n) {
  char **keys = malloc(n * sizeof(*keys));
  char buf[128], metric[64];
  for (size_t i = 0; i < n; i++) {
    snprintf(metric, sizeof(metric), plugins[i % KINDS], (i / KINDS) % 64);
    snprintf(buf, sizeof(buf), "host%06zu.example.org/%s", i / 320, metric);
    keys[i] = strdup(buf);
  }
  return keys;
}

static void free_keys(char **keys, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(keys[i]);
  free(keys);
}

/* Noise in [0, 1), drawn once: making a value must not cost as much as
 * scoring it (a random number generator per value was a tenth of the
 * figure). */
#define NOISE 4096 /* a power of two */
static double noise[NOISE];

static void make_noise(void) {
  uint64_t z = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < NOISE; i++) {
    z ^= z << 13;
    z ^= z >> 7;
    z ^= z << 17;
    noise[i] = (double)(z & 1023) / 1024.0;
  }
}

/* A repeatable value: noise around a per-series level. */
static double value_of(size_t series, size_t round) {
  return (double)(series & 63) + noise[(series + round * 0x9e37) & (NOISE - 1)];
}

typedef struct job {
  an_series_table_t *table;
  char **keys;
  size_t *lens; /* the plugin knows each key's length from snprintf() */
  size_t first, count, rounds;
  double sink;
} job_t;

static void *feed(void *arg) {
  job_t *j = arg;
  an_result_t r;
  double sink = 0;
  for (size_t round = 0; round < j->rounds; round++)
    for (size_t i = j->first; i < j->first + j->count; i++) {
      an_series_table_update_len(j->table, j->keys[i], j->lens[i],
                                 types[i % KINDS], round * 10.0,
                                 value_of(i, round), &r);
      sink += r.score;
    }
  j->sink = sink;
  return NULL;
}

/* The targets, for the full (not --quick) runs: issue 11's detector stack
 * may take 100 ns at 1 000 series (issue 2's simpler detector had 30). */
#define TARGET_BYTES_PER_SERIES 256
#define TARGET_NS_1K 100 /* 1 000 series, one thread */
#define TARGET_NS_1M 250 /* 1 000 000 series, one thread */

/* Runs rounds over n series on nthreads threads (disjoint halves) and
 * prints the figures. The first round creates the series and is timed
 * separately from the steady state. target_ns: the figure to compare
 * with, 0 for none. */
static void run(size_t n, size_t rounds, int nthreads, int target_ns) {
  const an_detector_class_t *cls = an_detector_find("default");
  char **keys = make_keys(n);
  size_t *lens = malloc(n * sizeof(*lens));
  for (size_t i = 0; i < n; i++)
    lens[i] = strlen(keys[i]);
  struct mallinfo2 before = mallinfo2();
  an_series_table_t *t = an_series_table_create(cls);
  job_t create = {.table = t,
                  .keys = keys,
                  .lens = lens,
                  .first = 0,
                  .count = n,
                  .rounds = 1};
  double t0 = now();
  feed(&create);
  double create_s = now() - t0;
  struct mallinfo2 after = mallinfo2();

  pthread_t threads[2];
  job_t jobs[2];
  t0 = now();
  for (int k = 0; k < nthreads; k++) {
    jobs[k] = (job_t){.table = t,
                      .keys = keys,
                      .lens = lens,
                      .first = k * n / nthreads,
                      .count = n / nthreads,
                      .rounds = rounds};
    pthread_create(&threads[k], NULL, feed, &jobs[k]);
  }
  for (int k = 0; k < nthreads; k++)
    pthread_join(threads[k], NULL);
  double elapsed = now() - t0;
  double values = (double)(n / nthreads) * nthreads * rounds;
  double ns = elapsed * 1e9 / values;
  double stated = (double)an_series_table_bytes(t) / n;
  double measured = (double)(after.uordblks - before.uordblks) / n;

  printf(
      "%9zu series  %d thread%s  %7.1f ns/value  %6.1f M values/s  "
      "%6.1f B/series stated  %6.1f B/series malloc  (first value %.0f ns)\n",
      n, nthreads, nthreads > 1 ? "s" : " ", ns, values / elapsed / 1e6, stated,
      measured, create_s * 1e9 / n);
  if (target_ns > 0)
    printf("%9s target: <= %d ns/value, <= %d B/series\n", "", target_ns,
           TARGET_BYTES_PER_SERIES);
  printf("series=%zu threads=%d ns_per_value=%.1f bytes_per_series=%.1f "
         "malloc_bytes_per_series=%.1f\n",
         n, nthreads, ns, stated, measured);
  an_series_table_destroy(t);
  free_keys(keys, n);
  free(lens);
}

/* The detector alone, on one state of a type (NULL: none): its share of
 * the per-value cost. */
static void run_detector(size_t values, const char *type) {
  const an_detector_class_t *cls = an_detector_find("default");
  void *state = malloc(cls->state_size);
  an_result_t r;
  double sink = 0;
  an_hint_t hint;
  an_hint_of_type(type, &hint);
  cls->init(state, &hint);
  double t0 = now();
  for (size_t i = 0; i < values; i++) {
    cls->update(state, i * 10.0, value_of(7, i), &r);
    sink += r.score;
  }
  double ns = (now() - t0) * 1e9 / values;
  printf("detector '%s' alone, type %s: %.1f ns/value, %zu bytes of state "
         "(sink %g)\n",
         cls->name, type != NULL ? type : "none", ns, cls->state_size, sink);
  printf("detector_ns_per_value=%.1f type=%s state_bytes=%zu\n", ns,
         type != NULL ? type : "none", cls->state_size);
  free(state);
}

int main(int argc, char **argv) {
  int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
  if (argc > 1 && !quick) {
    fprintf(stderr, "usage: score-bench [--quick]\n");
    return 2;
  }
  make_noise();
  run_detector(quick ? 100000 : 20000000, NULL);
  run_detector(quick ? 100000 : 20000000, "if_octets");
  run(1000, quick ? 100 : 20000, 1, quick ? 0 : TARGET_NS_1K);
  run(1000, quick ? 100 : 20000, 2, 0);
  run(quick ? 20000 : 1000000, quick ? 2 : 4, 1, quick ? 0 : TARGET_NS_1M);
  run(quick ? 20000 : 1000000, quick ? 2 : 4, 2, 0);
  return 0;
}
