/* metrics.h: the daemon's own counters, served by GET /metrics in
 * Prometheus text format. Counters are atomic: any thread may add. */
#ifndef AN_METRICS_H
#define AN_METRICS_H

#include <stddef.h>

typedef enum an_counter {
  AN_COUNTER_POINTS_SCORED = 0,   /* values scored by POST /v1/data */
  AN_COUNTER_ANOMALIES_STORED,    /* new anomalies written */
  AN_COUNTER_ANOMALIES_DUPLICATE, /* re-sent anomalies already stored */
  AN_COUNTER_STORE_COMMITS,       /* transactions (one per group commit) */
  AN_COUNTER_STORE_ERRORS,        /* failed transactions */
  AN_COUNTER_NOTIFY_DELIVERED,    /* notifications a receiver took */
  AN_COUNTER_NOTIFY_RETRIED,      /* attempts that failed and will be retried */
  AN_COUNTER_NOTIFY_FAILED,       /* notifications refused or given up */
  AN_COUNTER_MAX
} an_counter_t;

typedef struct an_metrics an_metrics_t;

an_metrics_t *an_metrics_create(void);
void an_metrics_destroy(an_metrics_t *m); /* accepts NULL */

void an_metrics_add(an_metrics_t *m, an_counter_t c, unsigned long n);

/* Counts one finished request by route pattern ("/v1/anomalies/{id}" or
 * "unmatched") and status. */
void an_metrics_request(an_metrics_t *m, const char *method, const char *route,
                        int status);

/* Records one storage transaction's latency, seconds (a histogram). */
void an_metrics_store_latency(an_metrics_t *m, double seconds);

/* Sets the storage queue depth gauge (operations waiting). */
void an_metrics_store_queue(an_metrics_t *m, size_t depth);

/* Sets the gauge of notifications waiting in the outbox. */
void an_metrics_notify_pending(an_metrics_t *m, size_t pending);

/* Writes the Prometheus text exposition into a malloc'd string; returns
 * NULL when out of memory. The caller frees it. */
char *an_metrics_render(an_metrics_t *m, size_t *len);

#endif
