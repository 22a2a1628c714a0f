/* api_alerts.c: /v1/alerts: the list with its filters and pages, one
 * alert with its anomalies and the history of its notifications, and the
 * acknowledge and resolve steps of its lifecycle. */
#include "alerts/alerts.h"
#include "api/api.h"
#include "conf.h"
#include "engine.h"
#include "http/query.h"
#include "severity.h"
#include "store/store_alerts.h"
#include "store/store_outbox.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NOTES 2000
#define ANOMALIES_SHOWN 100

/* ---- the alert's JSON ---- */

/* An alert's fields into an open map (to add more after them). */
static void write_alert_fields(an_jw_t *w, const an_alert_t *a,
                               const char *public_url) {
  char link[600];
  an_jw_str(w, "id", a->id);
  an_jw_str(w, "ruleId", a->rule_id);
  an_jw_str(w, "ruleName", a->rule_name);
  an_jw_str(w, "sourceId", a->source);
  an_jw_str(w, "metric", a->metric);
  an_jw_str(w, "severity", an_severity_name((an_severity_t)a->severity));
  an_jw_str(w, "status", an_alert_status_name(a->status));
  an_jw_time(w, "createdAt", a->created_at);
  an_jw_time(w, "startedAt", a->started_at);
  an_jw_time(w, "firedAt", a->fired_at);
  an_jw_time(w, "updatedAt", a->updated_at);
  an_jw_int(w, "anomalyCount", a->hits);
  an_jw_num(w, "maxScore", a->max_score);
  an_jw_str(w, "firstAnomalyId", a->first_anomaly_id);
  an_jw_str(w, "lastAnomalyId", a->last_anomaly_id);
  an_jw_time(w, "acknowledgedAt", a->acknowledged_at);
  an_jw_str(w, "acknowledgedBy", a->acknowledged_by);
  an_jw_str(w, "notes", a->notes);
  an_jw_bool(w, "isFalsePositive", a->false_positive);
  an_jw_time(w, "resolvedAt", a->resolved_at);
  an_jw_str(w, "resolvedBy", a->resolved_by);
  an_jw_time(w, "escalatedAt", a->escalated_at);
  an_jw_bool(w, "silenced", a->silenced);
  snprintf(link, sizeof(link), "%s/v1/alerts/%s", public_url, a->id);
  an_jw_str(w, "link", link);
}

/* An alert as its JSON object. */
static void write_alert(an_jw_t *w, const an_alert_t *a,
                        const char *public_url) {
  an_jw_map_open(w);
  write_alert_fields(w, a, public_url);
  an_jw_map_close(w);
}

/* ---- GET /v1/alerts ---- */

typedef struct list {
  an_alert_filter_t filter;
  char *rule_id, *source, *metric;
  char after_id[64];
  int page;
  an_query_err_t err;
} list_t;

static void list_free(void *data) {
  list_t *l = data;
  free(l->rule_id);
  free(l->source);
  free(l->metric);
  free(l);
}

/* Keeps a copy of a string parameter (the last one given wins). */
static int keep(char **field, const char **filter, const char *v) {
  free(*field);
  *filter = *field = strdup(v);
  return *field != NULL ? 0 : ENOMEM;
}

static int parse_param(void *ctx, const char *key, const char *v) {
  list_t *l = ctx;
  an_alert_filter_t *f = &l->filter;
  an_query_err_t *e = &l->err;
  if (strcmp(key, "limit") == 0)
    return an_query_limit(key, v, &f->limit, e);
  if (strcmp(key, "status") == 0)
    return an_query_bits(key, v, an_alert_status_parse, &f->statuses,
                         "pending, firing, acknowledged or resolved", e);
  if (strcmp(key, "severity") == 0)
    return an_query_bits(key, v, an_query_severity_bit, &f->severities,
                         "low, medium, high or critical", e);
  if (strcmp(key, "start") == 0 || strcmp(key, "since") == 0)
    return an_query_time(key, v, &f->start, e);
  if (strcmp(key, "end") == 0 || strcmp(key, "until") == 0)
    return an_query_time(key, v, &f->end, e);
  if (strcmp(key, "ruleId") == 0 || strcmp(key, "rule") == 0)
    return keep(&l->rule_id, &f->rule_id, v);
  if (strcmp(key, "sourceId") == 0 || strcmp(key, "stream_id") == 0)
    return keep(&l->source, &f->source, v);
  if (strcmp(key, "metric") == 0)
    return keep(&l->metric, &f->metric, v);
  if (strcmp(key, "page_token") == 0) {
    if (an_query_page_token(v, &f->after_t, l->after_id, sizeof(l->after_id),
                            &l->page, e) != 0)
      return EINVAL;
    f->after_id = l->after_id;
  }
  return 0; /* unknown parameters are ignored */
}

static int run_list(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  list_t *l = j->data;
  an_alert_t *rows;
  size_t n;
  long long total;
  int rc = an_store_list_alerts(db, &l->filter, &rows, &n, &total);
  if (rc == 0) {
    an_jw_map_open(w);
    an_jw_key(w, "alerts");
    an_jw_array_open(w);
    for (size_t i = 0; i < n; i++)
      write_alert(w, &rows[i], j->daemon->config->public_url);
    an_jw_array_close(w);
    const an_alert_t *last = n > 0 ? &rows[n - 1] : NULL;
    an_query_write_page(w, total, l->page, l->filter.limit, n,
                        last ? last->created_at : 0, last ? last->id : "");
    an_jw_map_close(w);
  }
  for (size_t i = 0; i < n; i++)
    an_alert_clear(&rows[i]);
  free(rows);
  return rc;
}

void an_api_alerts_list(an_request_t *req) {
  list_t *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  l->page = 1;
  l->filter = (an_alert_filter_t){
      .start = NAN, .end = NAN, .limit = AN_QUERY_DEFAULT_LIMIT};
  if (an_request_query_each(req, parse_param, l) != 0) {
    an_reply_error(req, 400, "INVALID_DATA", "%s",
                   l->err.msg[0] ? l->err.msg : "out of memory");
    list_free(l);
    return;
  }
  if (!isnan(l->filter.start) && !isnan(l->filter.end) &&
      l->filter.start > l->filter.end) {
    an_reply_error(req, 400, "INVALID_DATA", "start is after end");
    list_free(l);
    return;
  }
  an_api_submit(req, run_list, 200, l, list_free, NULL);
}

/* ---- GET /v1/alerts/{id} ---- */

static int write_attempt(void *ctx, const an_attempt_t *a) {
  an_jw_t *w = ctx;
  an_jw_map_open(w);
  an_jw_time(w, "at", a->at);
  if (a->status > 0)
    an_jw_int(w, "httpStatus", a->status);
  else
    an_jw_str(w, "httpStatus", NULL);
  an_jw_str(w, "error", a->error);
  an_jw_map_close(w);
  return 0;
}

static int write_deliveries(sqlite3 *db, an_jw_t *w, const char *alert_id) {
  an_delivery_t *dl;
  size_t n;
  int rc = an_store_alert_deliveries(db, alert_id, &dl, &n);
  an_jw_key(w, "deliveries");
  an_jw_array_open(w);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    an_jw_map_open(w);
    an_jw_int(w, "id", dl[i].id);
    an_jw_str(w, "channel", dl[i].channel);
    an_jw_str(w, "event", dl[i].event);
    an_jw_str(w, "status", an_delivery_state_name(dl[i].state));
    an_jw_int(w, "attempts", dl[i].attempts);
    an_jw_time(w, "createdAt", dl[i].created_at);
    an_jw_time(w, "nextAttemptAt",
               dl[i].state == AN_DELIVERY_PENDING ? dl[i].next_at : NAN);
    an_jw_time(w, "doneAt", dl[i].done_at);
    an_jw_str(w, "lastError", dl[i].last_error);
    an_jw_key(w, "history");
    an_jw_array_open(w);
    rc = an_store_each_attempt(db, dl[i].id, write_attempt, w);
    an_jw_array_close(w);
    an_jw_map_close(w);
  }
  an_jw_array_close(w);
  for (size_t i = 0; i < n; i++)
    an_delivery_clear(&dl[i]);
  free(dl);
  return rc;
}

static int run_get(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  an_alert_t a;
  an_anomaly_t *anomalies = NULL;
  size_t n = 0;
  int rc = an_store_get_alert(db, j->data, &a);
  if (rc == 0)
    rc = an_store_alert_anomalies(db, a.id, ANOMALIES_SHOWN, &anomalies, &n);
  if (rc == 0) {
    an_jw_map_open(w);
    write_alert_fields(w, &a, j->daemon->config->public_url);
    an_jw_key(w, "anomalies");
    an_jw_array_open(w);
    for (size_t i = 0; i < n; i++)
      an_api_write_anomaly(w, &anomalies[i]);
    an_jw_array_close(w);
    rc = write_deliveries(db, w, a.id);
    an_jw_map_close(w);
  }
  for (size_t i = 0; i < n; i++)
    an_anomaly_clear(&anomalies[i]);
  free(anomalies);
  an_alert_clear(&a);
  return rc;
}

void an_api_alert_get(an_request_t *req) {
  an_api_submit_for_path(req, "id", "alert", run_get, 200);
}

/* ---- acknowledge, resolve ---- */

typedef struct step {
  char id[AN_UUID_LEN + 1];
  char *notes;
  int false_positive;
  char *by;
  an_alert_t alert;
  an_alert_feedback_t feedback;
} step_t;

static void step_free(void *data) {
  step_t *s = data;
  free(s->notes);
  free(s->by);
  an_alert_clear(&s->alert);
  an_alert_feedback_clear(&s->feedback);
  free(s);
}

static int run_acknowledge(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  step_t *s = j->data;
  int rc =
      an_alerts_acknowledge(db, j->daemon, s->id, s->notes, s->false_positive,
                            s->by, j->now, &s->alert, &s->feedback);
  if (rc == EALREADY)
    snprintf(j->err, sizeof(j->err),
             "alert %s is resolved: it can no longer be acknowledged", s->id);
  else if (rc == EBUSY)
    snprintf(j->err, sizeof(j->err),
             "alert %s is pending: it has not fired yet (its rule's minHits)",
             s->id);
  if (rc == 0)
    write_alert(w, &s->alert, j->daemon->config->public_url);
  return rc;
}

/* After the commit: the false positive's tuning reaches the engine. */
static void acknowledged(an_api_job_t *j) {
  step_t *s = j->data;
  if (s->feedback.given)
    an_engine_set_sensitivity(j->daemon->engine, s->feedback.source,
                              s->feedback.metric, s->feedback.sensitivity);
}

static int run_resolve(sqlite3 *db, an_api_job_t *j, an_jw_t *w) {
  step_t *s = j->data;
  int rc = an_alerts_resolve(db, j->daemon, s->id, s->notes, s->by, j->now,
                             &s->alert);
  if (rc == 0)
    write_alert(w, &s->alert, j->daemon->config->public_url);
  return rc;
}

/* Reads the body of acknowledge (with_fp) or resolve into a job. */
static void step(an_request_t *req, an_api_run_fn run, int with_fp) {
  const char *id = an_api_path_uuid(req, "id", "alert");
  if (id == NULL)
    return;
  yajl_val body = an_api_body_or_empty(req);
  if (body == NULL)
    return;
  yajl_val notes = an_json_get(body, "notes");
  yajl_val fp = an_json_get(body, "isFalsePositive");
  if (notes != NULL && !YAJL_IS_NULL(notes) &&
      (!YAJL_IS_STRING(notes) || strlen(notes->u.string) > MAX_NOTES)) {
    an_reply_error(req, 400, "INVALID_DATA",
                   "notes must be a string of at most %d characters",
                   MAX_NOTES);
    yajl_tree_free(body);
    return;
  }
  if (with_fp && fp != NULL && !YAJL_IS_NULL(fp) && !YAJL_IS_TRUE(fp) &&
      !YAJL_IS_FALSE(fp)) {
    an_reply_error(req, 400, "INVALID_DATA",
                   "isFalsePositive must be true or false");
    yajl_tree_free(body);
    return;
  }
  step_t *s = calloc(1, sizeof(*s));
  an_api_job_t *j = s != NULL ? an_api_job_new(req, run, 200) : NULL;
  if (j == NULL) {
    if (s == NULL)
      an_reply_error(req, 500, "INTERNAL", "out of memory");
    free(s);
    yajl_tree_free(body);
    return;
  }
  snprintf(s->id, sizeof(s->id), "%s", id);
  s->notes = YAJL_IS_STRING(notes) ? strdup(notes->u.string) : NULL;
  s->false_positive = with_fp && YAJL_IS_TRUE(fp);
  s->by = strdup(an_request_key_name(req)[0] ? an_request_key_name(req)
                                             : "anonymous");
  yajl_tree_free(body);
  j->data = s;
  j->free_data = step_free;
  j->after = with_fp ? acknowledged : NULL;
  snprintf(j->what, sizeof(j->what), "alert %s", s->id);
  an_api_job_submit(j);
}

void an_api_alert_acknowledge(an_request_t *req) {
  step(req, run_acknowledge, 1);
}

void an_api_alert_resolve(an_request_t *req) { step(req, run_resolve, 0); }
