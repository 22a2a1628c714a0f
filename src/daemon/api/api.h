/* api.h: the request handlers, one file per API resource. routes.c maps
 * method and path to them. */
#ifndef AN_API_H
#define AN_API_H

#include "http/http.h"
#include "json.h"
#include "jsonw.h"
#include "store/records.h"
#include "store/store.h"

/* api_health.c, api_metrics.c */
void an_api_health_get(an_request_t *req);
void an_api_metrics_get(an_request_t *req);
/* Marks the start of the process, for the uptime health reports. */
void an_api_health_start(void);

/* api_data.c: POST /v1/data */
void an_api_data_post(an_request_t *req);

/* api_anomalies.c */
void an_api_anomalies_list(an_request_t *req);   /* GET /v1/anomalies */
void an_api_anomalies_ingest(an_request_t *req); /* POST /v1/anomalies */
void an_api_anomaly_get(an_request_t *req);      /* GET …/{id} */
void an_api_anomaly_patch(an_request_t *req);    /* PATCH …/{id} */
void an_api_anomaly_feedback(an_request_t *req); /* POST …/{id}/feedback */

/* api_tuning.c: GET /v1/tuning */
void an_api_tuning_get(an_request_t *req);

/* api_alert_rules.c: /v1/alert-rules (admin) */
void an_api_rules_list(an_request_t *req);
void an_api_rule_create(an_request_t *req);
void an_api_rule_get(an_request_t *req);
void an_api_rule_update(an_request_t *req);
void an_api_rule_delete(an_request_t *req);

/* api_alerts.c: /v1/alerts */
void an_api_alerts_list(an_request_t *req);
void an_api_alert_get(an_request_t *req);
void an_api_alert_acknowledge(an_request_t *req); /* PATCH …/acknowledge */
void an_api_alert_resolve(an_request_t *req);     /* PATCH …/resolve */

/* api_silences.c: /v1/silences */
void an_api_silences_list(an_request_t *req);
void an_api_silence_create(an_request_t *req);
void an_api_silence_delete(an_request_t *req);

/* api_channels.c: /v1/channels (admin) */
void an_api_channels_list(an_request_t *req);
void an_api_channel_create(an_request_t *req);
void an_api_channel_delete(an_request_t *req);

/* api_models.c: /v1/models, training jobs, activation, metrics */
void an_api_train_create(an_request_t *req);   /* POST …/train (admin) */
void an_api_train_list(an_request_t *req);     /* GET …/train */
void an_api_train_get(an_request_t *req);      /* GET …/train/{jobId} */
void an_api_train_cancel(an_request_t *req);   /* DELETE …/train/{jobId} */
void an_api_models_list(an_request_t *req);    /* GET /v1/models */
void an_api_model_get(an_request_t *req);      /* GET …/{id} */
void an_api_model_delete(an_request_t *req);   /* DELETE …/{id} (admin) */
void an_api_model_activate(an_request_t *req); /* POST …/{id}/activate */
void an_api_model_metrics(an_request_t *req);  /* GET …/{id}/metrics */
/* A model's version as the API shows it ("v3.0.0"); returns buf. */
const char *an_api_model_version(long long version, char *buf, size_t len);

/* api_model_pull.c: GET /v1/models/active/seasonal, the plugin's pull */
void an_api_model_pull(an_request_t *req);

/* api_common.c: what every resource needs. */

/* A request's work on the store: the one job type of every handler that
 * queues work, with one cleanup path. run runs on the store worker inside
 * the group transaction; then, on the loop, reply answers the request, or
 * without one the usual reply: status with the answer document that run
 * wrote (on success), or for ENOENT a 404 naming job->what, EINVAL a 400
 * (job->err), EEXIST, EBUSY, EPERM or EALREADY a 409 CONFLICT (job->err),
 * EIO a 503. run may run twice (see an_store_fn); each run gets a fresh
 * answer (NULL for a job with its own reply). Whatever happens, the job
 * and its data are freed once, after the reply. */
typedef struct an_api_job an_api_job_t;
typedef int (*an_api_run_fn)(sqlite3 *db, an_api_job_t *job, an_jw_t *answer);

struct an_api_job {
  an_request_t *req;
  an_daemon_t *daemon;
  double now; /* the request's (an_request_now) */
  an_api_run_fn run;
  int status; /* the HTTP status of success: 200, 201 or 204 (no body) */
  void *data; /* the resource's own: owned by the job */
  void (*free_data)(void *data);
  void (*after)(an_api_job_t *job); /* on the loop after a successful
                                       commit, before the reply; may be NULL */
  /* On the loop in place of the usual reply: answers req for rc, run's
   * result or EIO when the commit failed. May be NULL. */
  void (*reply)(an_api_job_t *job, int rc);
  an_jw_t answer;
  char what[128]; /* "alert 123…", for 404 */
  char err[300];
};

/* A job for req: set data, free_data, what, after or reply, then submit
 * it. NULL (after replying 500) when out of memory. */
an_api_job_t *an_api_job_new(an_request_t *req, an_api_run_fn run, int status);

/* Queues the job; the reply follows its commit. On failure replies at
 * once. Either way the job is the store's and later freed. */
void an_api_job_submit(an_api_job_t *job);

/* The usual case in one call: a job with data (freed with free_data, which
 * may be NULL, whatever happens) and what (may be NULL), submitted. */
void an_api_submit(an_request_t *req, an_api_run_fn run, int status, void *data,
                   void (*free_data)(void *), const char *what);
/* The same for a job with its own reply. */
void an_api_submit_reply(an_request_t *req, an_api_run_fn run,
                         void (*reply)(an_api_job_t *, int), void *data,
                         void (*free_data)(void *), const char *what);

/* The path segment param (an id or name of at most 100 bytes), or NULL
 * after replying 404 naming what. */
const char *an_api_path_id(an_request_t *req, const char *param,
                           const char *what);
/* The same for a resource whose ids are UUIDs: a longer segment is no id
 * (it must not be cut down to one). */
const char *an_api_path_uuid(an_request_t *req, const char *param,
                             const char *what);

/* Submits run for the resource named by the path segment param: job->data
 * is that segment (a string), job->what "WHAT SEGMENT". */
void an_api_submit_for_path(an_request_t *req, const char *param,
                            const char *what, an_api_run_fn run, int status);

/* The body as a JSON object, {} when there is none; on failure replies
 * 400 and returns NULL. */
yajl_val an_api_body_or_empty(an_request_t *req);

/* The body parsed strictly as JSON; on failure replies 400 INVALID_DATA
 * naming the problem and returns NULL. */
yajl_val an_api_body(an_request_t *req);

/* Replies with the writer's text (500 INTERNAL if writing it failed) and
 * frees it. */
void an_api_reply_jw(an_request_t *req, int status, an_jw_t *w);

/* Replies for a store result that is not success: EIO → 503 UNAVAILABLE,
 * ENOENT → 404 NOT_FOUND (naming what), others → 500 INTERNAL. */
void an_api_reply_store_error(an_request_t *req, int rc, const char *what);

/* A time of a JSON value: an ISO 8601 string, or seconds since the epoch
 * as a number (or a string of one, as anomaly-score reads them), from
 * 1970 to 9999. Returns 0 or EINVAL. */
int an_api_time(yajl_val v, double *out);

/* Whether t is further ahead of now than MaxFutureSkew allows: such a time
 * would stay first in every "newest first" list, and block its series'
 * later points, until it came. */
int an_api_time_too_far_ahead(const an_config_t *c, double t, double now);

/* Writes an anomaly as its JSON object (api_anomalies.c). */
void an_api_write_anomaly(an_jw_t *w, const an_anomaly_t *a);

#endif
