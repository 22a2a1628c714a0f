/* forwarder.h: delivers anomalies to anomalyd without losing any.
 *
 * Write threads hand records (one anomaly as a JSON object) to a bounded
 * in-memory queue and never wait on the network. One forwarder thread
 * sends them in batches to POST {url}/anomalies with libcurl (keep-alive,
 * timeouts, the API key). When the daemon cannot be reached, or answers
 * 5xx or 429, the records go to the spool file in order and are retried
 * with exponential backoff and jitter (1 s doubling to 60 s); once the
 * daemon answers again the spool is replayed in order before anything
 * newer. Every record carries its own id, so a batch sent twice is stored
 * once. A batch answered 4xx (other than 429) can never succeed: it is
 * logged and moved to SPOOL.rejected. At stop, what is queued is sent or
 * spooled. The thread also pulls GET {url}/tuning periodically and hands
 * each series' sensitivity to a callback, and GET
 * {url}/models/active/seasonal (with the ETag of the last answer in
 * If-None-Match, so an unchanged model is not sent again) and hands a new
 * model's blob to another. A pull that fails is logged when it starts
 * failing and when it works again, not at every interval. */
#ifndef AN_FORWARDER_H
#define AN_FORWARDER_H

#include <stddef.h>

typedef struct an_forwarder an_forwarder_t;

typedef struct an_forwarder_conf {
  const char *url;        /* "http://127.0.0.1:8427/v1" */
  const char *api_key;    /* NULL: none */
  const char *spool_path; /* the spool file */
  size_t queue_max;       /* records held in memory before spilling */
  size_t batch_max;       /* records per request */
  double timeout;         /* seconds per request */
  double tuning_interval; /* seconds between tuning pulls; 0: never */
  /* Called on the forwarder thread for every tuned series. */
  void (*tuning)(void *ctx, const char *source, const char *metric,
                 double sensitivity);
  void *tuning_ctx;
  double model_interval; /* seconds between model pulls; 0: never */
  /* Called on the forwarder thread before each model pull; non-zero asks
   * for the model even when it is unchanged. May be NULL. */
  int (*model_due)(void *ctx);
  /* Called on the forwarder thread with a model anomalyd sent: its blob
   * (len bytes), id and version ("v3.0.0", "" when not said), valid
   * during the call. Returns 0 or an errno; after ENOMEM the same model
   * is asked for again at the next pull. */
  int (*model)(void *ctx, const void *blob, size_t len, const char *id,
               const char *version);
  void *model_ctx;
  /* Logging: level is syslog's (LOG_ERR, LOG_WARNING, LOG_INFO). */
  void (*log)(int level, const char *message);
} an_forwarder_conf_t;

typedef struct an_forwarder_stats {
  unsigned long queued, sent, spooled, rejected, failures;
} an_forwarder_stats_t;

/* Opens the spool and starts the thread (which first replays what an
 * earlier run left in the spool). conf and its strings need to live only
 * during the call: the forwarder keeps copies. Returns NULL with the
 * reason in err. */
an_forwarder_t *an_forwarder_start(const an_forwarder_conf_t *conf, char *err,
                                   size_t errlen);

/* Queues a record, taking ownership of it (malloc'd). Never waits on the
 * network; when the queue is full the record is appended to the spool
 * directly (a disk write, the last resort). Returns 0, or an errno when
 * even that failed (the record is then lost, and logged). */
int an_forwarder_enqueue(an_forwarder_t *f, char *record);

/* Counters so far. */
void an_forwarder_stats(an_forwarder_t *f, an_forwarder_stats_t *out);

/* Sends what is queued (trying for at most flush_seconds) or spools it,
 * stops the thread and frees everything. Accepts NULL. */
void an_forwarder_stop(an_forwarder_t *f, double flush_seconds);

#endif
