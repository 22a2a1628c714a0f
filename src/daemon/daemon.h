/* daemon.h: what every part of anomalyd can reach. One per process; created
 * in anomalyd.c, which starts the parts in order and stops them in reverse. */
#ifndef AN_DAEMON_H
#define AN_DAEMON_H

#include <event2/event.h>

typedef struct an_config an_config_t;   /* conf.h */
typedef struct an_store an_store_t;     /* store.h */
typedef struct an_engine an_engine_t;   /* engine.h: scoring of pushed points */
typedef struct an_metrics an_metrics_t; /* metrics.h */
typedef struct an_server an_server_t;   /* server.h: evhttp, routing, auth */
typedef struct an_alerts an_alerts_t;   /* alerts.h: the periodic alert check */
typedef struct an_notify an_notify_t;   /* notify.h: the delivery thread */
typedef struct an_jobs an_jobs_t;       /* models/jobs.h: training workers */
typedef struct an_forests an_forests_t; /* models/forests.h: active forests */

typedef struct an_daemon {
  struct event_base *base; /* the one event loop; evhttp runs on it */
  const an_config_t *config;
  an_store_t *store;
  an_engine_t *engine;
  an_metrics_t *metrics;
  an_server_t *server;
  an_alerts_t *alerts;
  an_notify_t *notify;
  an_jobs_t *jobs;
  an_forests_t *forests; /* read and replaced on the loop only */
} an_daemon_t;

#endif
