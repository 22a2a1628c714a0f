/* metrics.c: counters in Prometheus' text format. Counters are atomics so
 * the store's worker may add to them; the per-route table is only touched
 * on the event loop. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 10
static const double latency_bounds[NBUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0};

typedef struct route_count {
  const char *method;
  const char *route;
  int status;
  unsigned long count;
} route_count_t;

struct an_metrics {
  atomic_ulong counters[AN_COUNTER_MAX];
  atomic_ulong latency_buckets[NBUCKETS + 1]; /* the last is +Inf */
  _Atomic double latency_sum;
  atomic_size_t queue_depth;
  atomic_size_t notify_pending;
  route_count_t *routes;
  size_t nroutes;
};

static const char *const counter_names[AN_COUNTER_MAX] = {
    [AN_COUNTER_POINTS_SCORED] = "anomalyd_points_scored_total",
    [AN_COUNTER_ANOMALIES_STORED] = "anomalyd_anomalies_stored_total",
    [AN_COUNTER_ANOMALIES_DUPLICATE] = "anomalyd_anomalies_duplicate_total",
    [AN_COUNTER_STORE_COMMITS] = "anomalyd_store_commits_total",
    [AN_COUNTER_STORE_ERRORS] = "anomalyd_store_errors_total",
    [AN_COUNTER_NOTIFY_DELIVERED] = "anomalyd_notifications_delivered_total",
    [AN_COUNTER_NOTIFY_RETRIED] = "anomalyd_notifications_retried_total",
    [AN_COUNTER_NOTIFY_FAILED] = "anomalyd_notifications_failed_total",
};

an_metrics_t *an_metrics_create(void) {
  return calloc(1, sizeof(an_metrics_t));
}

void an_metrics_destroy(an_metrics_t *m) {
  if (m == NULL)
    return;
  free(m->routes);
  free(m);
}

void an_metrics_add(an_metrics_t *m, an_counter_t c, unsigned long n) {
  atomic_fetch_add(&m->counters[c], n);
}

void an_metrics_request(an_metrics_t *m, const char *method, const char *route,
                        int status) {
  for (size_t i = 0; i < m->nroutes; i++) {
    route_count_t *r = &m->routes[i];
    /* method and route are static strings: pointers compare */
    if (r->status == status && r->method == method && r->route == route) {
      r->count++;
      return;
    }
  }
  route_count_t *grown =
      realloc(m->routes, (m->nroutes + 1) * sizeof(*m->routes));
  if (grown == NULL)
    return;
  m->routes = grown;
  m->routes[m->nroutes++] = (route_count_t){
      .method = method, .route = route, .status = status, .count = 1};
}

void an_metrics_store_latency(an_metrics_t *m, double seconds) {
  int b = 0;
  while (b < NBUCKETS && seconds > latency_bounds[b])
    b++;
  atomic_fetch_add(&m->latency_buckets[b], 1);
  double old = atomic_load(&m->latency_sum);
  while (!atomic_compare_exchange_weak(&m->latency_sum, &old, old + seconds))
    ;
}

void an_metrics_store_queue(an_metrics_t *m, size_t depth) {
  atomic_store(&m->queue_depth, depth);
}

void an_metrics_notify_pending(an_metrics_t *m, size_t pending) {
  atomic_store(&m->notify_pending, pending);
}

char *an_metrics_render(an_metrics_t *m, size_t *len) {
  char *out = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&out, &size);
  if (f == NULL)
    return NULL;
  fprintf(f, "# HELP anomalyd_requests_total HTTP requests by route and "
             "status.\n# TYPE anomalyd_requests_total counter\n");
  for (size_t i = 0; i < m->nroutes; i++)
    fprintf(f,
            "anomalyd_requests_total{method=\"%s\",route=\"%s\","
            "status=\"%d\"} %lu\n",
            m->routes[i].method, m->routes[i].route, m->routes[i].status,
            m->routes[i].count);
  for (int c = 0; c < AN_COUNTER_MAX; c++)
    fprintf(f, "# TYPE %s counter\n%s %lu\n", counter_names[c],
            counter_names[c], atomic_load(&m->counters[c]));
  fprintf(f, "# HELP anomalyd_store_commit_seconds Storage transaction "
             "latency.\n# TYPE anomalyd_store_commit_seconds histogram\n");
  unsigned long cumulative = 0;
  for (int b = 0; b < NBUCKETS; b++) {
    cumulative += atomic_load(&m->latency_buckets[b]);
    fprintf(f, "anomalyd_store_commit_seconds_bucket{le=\"%g\"} %lu\n",
            latency_bounds[b], cumulative);
  }
  cumulative += atomic_load(&m->latency_buckets[NBUCKETS]);
  fprintf(f, "anomalyd_store_commit_seconds_bucket{le=\"+Inf\"} %lu\n",
          cumulative);
  fprintf(f, "anomalyd_store_commit_seconds_sum %.6f\n",
          atomic_load(&m->latency_sum));
  fprintf(f, "anomalyd_store_commit_seconds_count %lu\n", cumulative);
  fprintf(f,
          "# TYPE anomalyd_store_queue_depth gauge\n"
          "anomalyd_store_queue_depth %zu\n",
          atomic_load(&m->queue_depth));
  fprintf(f,
          "# TYPE anomalyd_notifications_pending gauge\n"
          "anomalyd_notifications_pending %zu\n",
          atomic_load(&m->notify_pending));
  if (fclose(f) != 0) {
    free(out);
    return NULL;
  }
  *len = size;
  return out;
}
