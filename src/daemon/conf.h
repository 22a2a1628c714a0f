/* conf.h: anomalyd.conf, in collectd's block syntax, and the embedded
 * defaults used when no file is given. */
#ifndef AN_CONF_H
#define AN_CONF_H

#include "detector.h"
#include "severity.h"

#include <stddef.h>

/* Roles in order: a key may call what its role or a lesser one may. */
typedef enum an_role {
  AN_ROLE_NONE = 0, /* no key needed (health, metrics) */
  AN_ROLE_INGEST,   /* push data and anomalies, pull tuning: a collectd host */
  AN_ROLE_STREAM,   /* push data, read, give feedback, silence */
  AN_ROLE_ADMIN,    /* everything */
} an_role_t;

/* "none", "ingest", "stream" or "admin". */
const char *an_config_role_name(an_role_t role);

typedef struct an_api_key {
  char *name;   /* <ApiKey "name">: what logs show */
  char *secret; /* never logged */
  an_role_t role;
} an_api_key_t;

typedef struct an_channel_conf {
  char *name; /* <Channel "name"> */
  char *type; /* slack | pagerduty | webhook */
  char *url;
  char *routing_key; /* pagerduty only, may be NULL */
} an_channel_conf_t;

typedef struct an_config {
  char *listen_host;  /* "127.0.0.1" */
  int listen_port;    /* 8427 */
  char *data_dir;     /* created on first start */
  char *rrd_dir;      /* collectd's rrdtool DataDir, may be NULL */
  an_api_key_t *keys; /* none configured: the API needs no key */
  size_t nkeys;
  char **sources; /* <Source "name"> blocks */
  size_t nsources;
  int auto_register_sources; /* unknown sources are created */
  an_channel_conf_t *channels;
  size_t nchannels;
  size_t max_body_size;         /* bytes; 1 MiB */
  size_t max_header_size;       /* bytes */
  double max_future_skew;       /* seconds a time may be ahead of ours; 3600 */
  size_t max_metrics_per_point; /* metrics in one pushed point; 1000 */
  size_t max_series_per_source; /* series POST /v1/data makes per source */
  int timeout;                  /* seconds a connection may idle */
  int header_timeout;           /* seconds from a request's first byte to
                                   the end of its headers */
  size_t max_connections;       /* open client connections; past it, a new
                                   one takes the place of the oldest still
                                   waiting for its request's head */
  double rate_limit;            /* requests per second per key; 0 = off */
  double rate_burst;            /* bucket size */
  int metrics_need_key;         /* GET /metrics requires a key */
  char *detector;               /* libanomaly detector for POST /v1/data */
  double threshold;             /* isAnomaly when score >= threshold; 0.7 */
  an_severity_bands_t bands;    /* severity of a score */
  int log_level;                /* syslog level: LOG_INFO by default */
  char *public_url;             /* base of the links in notifications */
  double resolve_after;         /* default quiet seconds before auto-resolve */
  double notify_timeout;        /* seconds one delivery attempt may take */
  double notify_give_up;        /* seconds after which a delivery is failed */
  double retention;             /* seconds pushed points are kept; 30 days;
                                   0 = for ever */
  int train_workers;            /* training jobs run at once; 1 to 4 */
  double train_interval;        /* seconds between scheduled trainings;
                                   86400; 0 = none */
  int auto_activate;            /* a scheduled model no worse than the
                                   active one is activated */
} an_config_t;

/* Whether type is a channel type: slack, pagerduty or webhook. */
int an_config_channel_type_valid(const char *type);

/* The longest channel URL taken. */
#define AN_CHANNEL_URL_MAX 2000

/* Whether url is one a channel can post to: http or https, with a host,
 * that curl parses, at most AN_CHANNEL_URL_MAX bytes. */
int an_config_channel_url_valid(const char *url);

/* The embedded defaults (DESIGN.md). Returns NULL when out of memory. */
an_config_t *an_config_defaults(void);

/* Reads path over the defaults. Returns NULL and writes "FILE:LINE: reason"
 * into err when the file cannot be read or has an error. */
an_config_t *an_config_load(const char *path, char *err, size_t errlen);

/* Frees a config. Accepts NULL. */
void an_config_free(an_config_t *config);

#endif
