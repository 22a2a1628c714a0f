/* api_anomalies.c: /v1/anomalies — the list with its filters and pages,
 * one anomaly, its status, feedback, and the batch ingest the plugin uses.
 * Each handler validates, hands a job to the store, and answers from the
 * job's done callback. */
#include "alerts/alerts.h"
#include "api/api.h"
#include "conf.h"
#include "engine.h"
#include "feedback.h"
#include "http/query.h"
#include "metrics.h"
#include "severity.h"
#include "store/store_anomalies.h"
#include "timefmt.h"
#include "utf8.h"
#include "uuid.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INGEST 10000

void an_api_write_anomaly(an_jw_t *w, const an_anomaly_t *a) {
  char stamp[40];
  an_jw_map_open(w);
  an_jw_str(w, "id", a->id);
  an_jw_str(w, "sourceId", a->source);
  an_jw_str(w, "stream_id", a->source);
  an_jw_str(w, "metric", a->metric);
  an_jw_num(w, "value", a->value);
  an_jw_num(w, "expected", a->expected);
  an_jw_num(w, "score", a->score);
  an_jw_str(w, "severity", an_severity_name((an_severity_t)a->severity));
  an_jw_str(w, "status", an_status_name(a->status));
  an_time_format(a->detected_at, stamp, sizeof(stamp));
  an_jw_str(w, "detectedAt", stamp);
  an_jw_str(w, "timestamp", stamp);
  an_jw_str(w, "explanation", a->explanation);
  an_jw_str(w, "why", a->explanation);
  an_jw_str(w, "kind", a->kind);
  an_jw_key(w, "metrics");
  an_jw_map_open(w);
  an_jw_num(w, "p_value", a->p_value);
  an_jw_num(w, "confidence", isnan(a->p_value) ? NAN : 1 - a->p_value);
  if (!isnan(a->ncd))
    an_jw_num(w, "ncd", a->ncd);
  an_jw_map_close(w);
  an_jw_bool(w, "has_evidence", a->has_evidence);
  an_jw_key(w, "feedback");
  if (a->feedback_type == NULL) {
    an_jw_null(w);
  } else {
    an_jw_map_open(w);
    an_jw_str(w, "type", a->feedback_type);
    an_jw_str(w, "reason", a->feedback_reason);
    an_jw_str(w, "at", an_time_format(a->feedback_at, stamp, sizeof(stamp)));
    an_jw_map_close(w);
  }
  an_jw_str(w, "createdAt",
            an_time_format(a->created_at, stamp, sizeof(stamp)));
  an_jw_map_close(w);
}

/* ---- GET /v1/anomalies ---- */

typedef struct list_job {
  an_request_t *req;
  an_filter_t filter;
  char *source, *metric;
  char after_id[64];
  int page;
  an_anomaly_t *rows;
  size_t n;
  long long total;
} list_job_t;

typedef struct parse_ctx {
  list_job_t *job;
  an_query_err_t err;
} parse_ctx_t;

static int parse_param(void *ctx, const char *key, const char *v) {
  parse_ctx_t *c = ctx;
  an_filter_t *f = &c->job->filter;
  an_query_err_t *e = &c->err;
  if (strcmp(key, "limit") == 0)
    return an_query_limit(key, v, &f->limit, e);
  if (strcmp(key, "severity") == 0)
    return an_query_bits(key, v, an_query_severity_bit, &f->severities,
                         "low, medium, high or critical", e);
  if (strcmp(key, "status") == 0)
    return an_query_bits(key, v, an_status_parse, &f->statuses,
                         "detected, acknowledged or resolved (or new, viewed, "
                         "archived)",
                         e);
  if (strcmp(key, "start") == 0 || strcmp(key, "since") == 0)
    return an_query_time(key, v, &f->start, e);
  if (strcmp(key, "end") == 0 || strcmp(key, "until") == 0)
    return an_query_time(key, v, &f->end, e);
  if (strcmp(key, "sourceId") == 0 || strcmp(key, "stream_id") == 0) {
    free(c->job->source);
    f->source = c->job->source = strdup(v);
  } else if (strcmp(key, "metric") == 0) {
    free(c->job->metric);
    f->metric = c->job->metric = strdup(v);
  } else if (strcmp(key, "min_score") == 0) {
    return an_query_fraction(key, v, &f->min_score, e);
  } else if (strcmp(key, "min_ncd") == 0) {
    return an_query_fraction(key, v, &f->min_ncd, e);
  } else if (strcmp(key, "max_p_value") == 0) {
    return an_query_fraction(key, v, &f->max_p_value, e);
  } else if (strcmp(key, "has_evidence") == 0) {
    return an_query_bool(key, v, &f->has_evidence, e);
  } else if (strcmp(key, "page_token") == 0) {
    if (an_query_page_token(v, &f->after_t, c->job->after_id,
                            sizeof(c->job->after_id), &c->job->page, e) != 0)
      return EINVAL;
    f->after_id = c->job->after_id;
  }
  return 0; /* unknown parameters are ignored */
}

static void list_job_free(void *arg) {
  list_job_t *j = arg;
  for (size_t i = 0; i < j->n; i++)
    an_anomaly_clear(&j->rows[i]);
  free(j->rows);
  free(j->source);
  free(j->metric);
  free(j);
}

static int run_list(sqlite3 *db, an_api_job_t *job, an_jw_t *unused) {
  list_job_t *j = job->data;
  for (size_t i = 0; i < j->n; i++) /* from a first run of the batch */
    an_anomaly_clear(&j->rows[i]);
  free(j->rows);
  j->rows = NULL;
  j->n = 0;
  return an_store_list_anomalies(db, &j->filter, &j->rows, &j->n, &j->total);
}

static void list_done(an_api_job_t *job, int rc) {
  list_job_t *j = job->data;
  if (rc != 0) {
    an_api_reply_store_error(j->req, rc, "anomalies");
    return;
  }
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_jw_key(&w, "anomalies");
  an_jw_array_open(&w);
  for (size_t i = 0; i < j->n; i++)
    an_api_write_anomaly(&w, &j->rows[i]);
  an_jw_array_close(&w);
  const an_anomaly_t *last = j->n > 0 ? &j->rows[j->n - 1] : NULL;
  an_query_write_page(&w, j->total, j->page, j->filter.limit, j->n,
                      last ? last->detected_at : 0, last ? last->id : "");
  an_jw_map_close(&w);
  an_api_reply_jw(j->req, 200, &w);
}

void an_api_anomalies_list(an_request_t *req) {
  list_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  j->req = req;
  j->page = 1;
  j->filter = (an_filter_t){.start = NAN,
                            .end = NAN,
                            .min_score = NAN,
                            .min_ncd = NAN,
                            .max_p_value = NAN,
                            .has_evidence = -1,
                            .limit = AN_QUERY_DEFAULT_LIMIT};
  parse_ctx_t c = {.job = j};
  if (an_request_query_each(req, parse_param, &c) != 0) {
    an_reply_error(req, 400, "INVALID_DATA", "%s", c.err.msg);
    list_job_free(j);
    return;
  }
  if (!isnan(j->filter.start) && !isnan(j->filter.end) &&
      j->filter.start > j->filter.end) {
    an_reply_error(req, 400, "INVALID_DATA", "start is after end");
    list_job_free(j);
    return;
  }
  an_api_submit_reply(req, run_list, list_done, j, list_job_free, "anomalies");
}

/* ---- one anomaly: GET, PATCH, feedback ---- */

typedef struct one_job {
  an_request_t *req;
  char id[64];
  int status;                   /* PATCH: the new status, -1 for none */
  char *feedback_type, *reason; /* feedback */
  double now;                   /* the request's */
  double sensitivity;
  an_anomaly_t anomaly;
} one_job_t;

static void one_job_free(void *arg) {
  one_job_t *j = arg;
  an_anomaly_clear(&j->anomaly);
  free(j->feedback_type);
  free(j->reason);
  free(j);
}

static int run_one(sqlite3 *db, an_api_job_t *job, an_jw_t *unused) {
  one_job_t *j = job->data;
  int rc = 0;
  an_anomaly_clear(&j->anomaly); /* from a first run of the batch */
  if (j->status >= 0)
    rc = an_store_set_status(db, j->id, j->status);
  if (rc == 0 && j->feedback_type != NULL)
    return an_feedback_record(db, j->id, j->feedback_type, j->reason, j->now,
                              &j->anomaly, &j->sensitivity);
  if (rc == 0)
    rc = an_store_get_anomaly(db, j->id, &j->anomaly);
  return rc;
}

static void one_done(an_api_job_t *job, int rc) {
  one_job_t *j = job->data;
  if (rc != 0) {
    char what[100];
    snprintf(what, sizeof(what), "anomaly %s", j->id);
    an_api_reply_store_error(j->req, rc, what);
    return;
  }
  an_jw_t w;
  an_jw_init(&w);
  if (j->feedback_type != NULL) {
    an_engine_set_sensitivity(an_request_daemon(j->req)->engine,
                              j->anomaly.source, j->anomaly.metric,
                              j->sensitivity);
    an_jw_map_open(&w);
    an_jw_bool(&w, "success", 1);
    an_jw_str(&w, "message", "Feedback recorded");
    an_jw_str(&w, "anomalyId", j->id);
    an_jw_str(&w, "feedback_type", j->feedback_type);
    an_jw_num(&w, "sensitivity", j->sensitivity);
    an_jw_map_close(&w);
  } else {
    an_api_write_anomaly(&w, &j->anomaly);
  }
  an_api_reply_jw(j->req, 200, &w);
}

/* A job for the anomaly named in the path, or NULL after replying. */
static one_job_t *one_job(an_request_t *req) {
  const char *id = an_request_param(req, "id");
  one_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return NULL;
  }
  if (id == NULL || strlen(id) >= sizeof(j->id)) {
    an_reply_error(req, 404, "NOT_FOUND", "anomaly not found");
    free(j);
    return NULL;
  }
  j->req = req;
  j->now = an_request_now(req);
  j->status = -1;
  snprintf(j->id, sizeof(j->id), "%s", id);
  return j;
}

static void submit_one(an_request_t *req, one_job_t *j) {
  an_api_submit_reply(req, run_one, one_done, j, one_job_free, "anomaly");
}

void an_api_anomaly_get(an_request_t *req) {
  one_job_t *j = one_job(req);
  if (j != NULL)
    submit_one(req, j);
}

void an_api_anomaly_patch(an_request_t *req) {
  yajl_val body = an_api_body(req);
  if (body == NULL)
    return;
  yajl_val status = an_json_get(body, "status");
  int s;
  if (!YAJL_IS_OBJECT(body) || status == NULL || !YAJL_IS_STRING(status) ||
      an_status_parse(YAJL_GET_STRING(status), &s) != 0) {
    an_reply_error(req, 400, "INVALID_DATA",
                   "status must be detected, acknowledged or resolved (or "
                   "new, viewed, archived)");
    yajl_tree_free(body);
    return;
  }
  yajl_tree_free(body);
  one_job_t *j = one_job(req);
  if (j == NULL)
    return;
  j->status = s;
  submit_one(req, j);
}

void an_api_anomaly_feedback(an_request_t *req) {
  yajl_val body = an_api_body(req);
  if (body == NULL)
    return;
  yajl_val type = an_json_get(body, "feedback_type");
  yajl_val reason = an_json_get(body, "reason");
  const char *t = YAJL_IS_STRING(type) ? YAJL_GET_STRING(type) : "";
  if (!an_feedback_type_valid(t)) {
    an_reply_error(req, 400, "INVALID_DATA",
                   "feedback_type must be false_positive, confirmed or "
                   "dismissed");
    yajl_tree_free(body);
    return;
  }
  if (reason != NULL && !YAJL_IS_NULL(reason) &&
      (!YAJL_IS_STRING(reason) || strlen(reason->u.string) > 2000)) {
    an_reply_error(req, 400, "INVALID_DATA",
                   "reason must be a string of at most 2000 characters");
    yajl_tree_free(body);
    return;
  }
  one_job_t *j = one_job(req);
  if (j != NULL) {
    j->feedback_type = strdup(t);
    j->reason = YAJL_IS_STRING(reason) ? strdup(reason->u.string) : NULL;
    if (j->feedback_type == NULL ||
        (YAJL_IS_STRING(reason) && j->reason == NULL)) {
      an_reply_error(req, 500, "INTERNAL", "out of memory");
      one_job_free(j);
    } else {
      submit_one(req, j);
    }
  }
  yajl_tree_free(body);
}

/* ---- POST /v1/anomalies: the plugin's batches ---- */

/* An item of the batch that was refused: its index and why. */
typedef struct item_error {
  size_t index;
  char *message;
} item_error_t;

typedef struct ingest_job {
  an_request_t *req;
  an_daemon_t *daemon; /* for the store worker, as in api_data.c */
  double now;          /* the request's */
  an_anomaly_t *items; /* the valid ones */
  size_t n;
  size_t received;
  item_error_t *errors;
  size_t nerrors;
  size_t stored;
} ingest_job_t;

static void ingest_job_free(void *arg) {
  ingest_job_t *j = arg;
  for (size_t i = 0; i < j->n; i++)
    an_anomaly_clear(&j->items[i]);
  for (size_t i = 0; i < j->nerrors; i++)
    free(j->errors[i].message);
  free(j->items);
  free(j->errors);
  free(j);
}

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && strchr("-_.:", s[i]) == NULL)
      return 0;
  return 1;
}

/* Whether v is a string of strict UTF-8 (an_utf8_valid()) of at most max
 * bytes; yajl lets overlong forms and surrogates through, and what is
 * stored is echoed back. */
static int is_text(yajl_val v, size_t max) {
  if (!YAJL_IS_STRING(v))
    return 0;
  size_t len = strlen(v->u.string);
  return len <= max && an_utf8_valid(v->u.string, len);
}

/* Reads anomalies[i] into a. Returns 0, ENOMEM, or EINVAL with the field
 * in err (a is then cleared). */
static int read_item(yajl_val o, size_t i, const an_config_t *c, double now,
                     an_anomaly_t *a, char *err, size_t errlen) {
  const char *text;
  yajl_val v;
#define FAIL(...)                                                              \
  do {                                                                         \
    int n_ = snprintf(err, errlen, "anomalies[%zu].", i);                      \
    snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__);                      \
    an_anomaly_clear(a);                                                       \
    return EINVAL;                                                             \
  } while (0)
  memset(a, 0, sizeof(*a));
  a->p_value = a->ncd = a->expected = a->value = NAN;
  if (!YAJL_IS_OBJECT(o))
    FAIL("must be an object");
  v = an_json_get(o, "id");
  if (!YAJL_IS_STRING(v) || !valid_id(YAJL_GET_STRING(v)))
    FAIL("id must be a UUID (1 to 63 letters, digits, '-', '_', '.', ':')");
  snprintf(a->id, sizeof(a->id), "%s", YAJL_GET_STRING(v));
  v = an_json_get(o, "sourceId");
  if (!is_text(v, 256) || (text = YAJL_GET_STRING(v))[0] == '\0')
    FAIL("sourceId must be a non-empty string of valid UTF-8, at most 256 "
         "bytes");
  if ((a->source = strdup(text)) == NULL)
    goto nomem;
  v = an_json_get(o, "metric");
  if (!is_text(v, 512) || (text = YAJL_GET_STRING(v))[0] == '\0')
    FAIL("metric must be a non-empty string of valid UTF-8, at most 512 "
         "bytes");
  if ((a->metric = strdup(text)) == NULL)
    goto nomem;
  v = an_json_get(o, "score");
  if (v == NULL || an_json_number(v, &a->score) != 0 || a->score < 0 ||
      a->score > 1)
    FAIL("score must be a number from 0 to 1");
  v = an_json_get(o, "value");
  if (v != NULL && !YAJL_IS_NULL(v) && an_json_number(v, &a->value) != 0)
    FAIL("value must be a finite number");
  v = an_json_get(o, "expected");
  if (v != NULL && !YAJL_IS_NULL(v) && an_json_number(v, &a->expected) != 0)
    FAIL("expected must be a finite number");
  v = an_json_get(o, "detectedAt");
  if (v == NULL || an_api_time(v, &a->detected_at) != 0)
    FAIL("detectedAt must be an ISO 8601 date-time or seconds since the "
         "epoch");
  a->created_at = now;
  if (an_api_time_too_far_ahead(c, a->detected_at, a->created_at))
    FAIL("detectedAt is more than %g s ahead of the daemon's clock "
         "(MaxFutureSkew)",
         c->max_future_skew);
  v = an_json_get(o, "severity");
  if (v != NULL && !YAJL_IS_NULL(v)) {
    an_severity_t sev;
    if (!YAJL_IS_STRING(v) || an_severity_parse(YAJL_GET_STRING(v), &sev) != 0)
      FAIL("severity must be low, medium, high or critical");
    a->severity = (int)sev;
  } else {
    a->severity = (int)an_severity_of(&c->bands, a->score);
    if (a->severity == AN_SEVERITY_NONE)
      a->severity = AN_SEVERITY_LOW;
  }
  v = an_json_get(o, "explanation");
  if (v != NULL && !YAJL_IS_NULL(v)) {
    if (!is_text(v, 4096))
      FAIL("explanation must be a string of valid UTF-8, at most 4096 bytes");
    if ((a->explanation = strdup(v->u.string)) == NULL)
      goto nomem;
  }
  v = an_json_get(o, "kind");
  if (v != NULL && !YAJL_IS_NULL(v)) {
    if (!is_text(v, 64))
      FAIL("kind must be a string of valid UTF-8, at most 64 bytes");
    if ((a->kind = strdup(v->u.string)) == NULL)
      goto nomem;
  }
  v = an_json_get(o, "p_value");
  yajl_val m = an_json_get(o, "metrics");
  if (v == NULL && m != NULL)
    v = an_json_get(m, "p_value");
  if (v != NULL && !YAJL_IS_NULL(v) &&
      (an_json_number(v, &a->p_value) != 0 || a->p_value < 0 || a->p_value > 1))
    FAIL("p_value must be a number from 0 to 1");
  v = m != NULL ? an_json_get(m, "ncd") : NULL;
  if (v != NULL && !YAJL_IS_NULL(v) &&
      (an_json_number(v, &a->ncd) != 0 || a->ncd < 0 || a->ncd > 1))
    FAIL("metrics.ncd must be a number from 0 to 1");
  return 0;
nomem:
  an_anomaly_clear(a);
  return ENOMEM;
#undef FAIL
}

static int run_ingest(sqlite3 *db, an_api_job_t *job, an_jw_t *unused) {
  ingest_job_t *j = job->data;
  j->stored = 0;
  for (size_t i = 0; i < j->n; i++) {
    int inserted = 0;
    int rc = an_alerts_record_anomaly(db, j->daemon, &j->items[i], j->now,
                                      &inserted);
    if (rc != 0)
      return rc;
    j->stored += inserted;
  }
  return 0;
}

static void ingest_done(an_api_job_t *job, int rc) {
  ingest_job_t *j = job->data;
  an_daemon_t *d = an_request_daemon(j->req);
  if (rc != 0) {
    an_api_reply_store_error(j->req, rc, "anomalies");
    return;
  }
  for (size_t i = 0; i < j->n; i++)
    an_engine_add_source(d->engine, j->items[i].source);
  an_metrics_add(d->metrics, AN_COUNTER_ANOMALIES_STORED, j->stored);
  an_metrics_add(d->metrics, AN_COUNTER_ANOMALIES_DUPLICATE, j->n - j->stored);
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_jw_int(&w, "received", (long long)j->received);
  an_jw_int(&w, "stored", (long long)j->stored);
  an_jw_int(&w, "duplicates", (long long)(j->n - j->stored));
  an_jw_int(&w, "rejected", (long long)j->nerrors);
  an_jw_key(&w, "errors"); /* the refused items, by index in the batch */
  an_jw_array_open(&w);
  for (size_t i = 0; i < j->nerrors; i++) {
    an_jw_map_open(&w);
    an_jw_int(&w, "index", (long long)j->errors[i].index);
    an_jw_key(&w, "error");
    an_jw_map_open(&w);
    an_jw_str(&w, "code", "INVALID_DATA");
    an_jw_str(&w, "message", j->errors[i].message);
    an_jw_map_close(&w);
    an_jw_map_close(&w);
  }
  an_jw_array_close(&w);
  an_jw_map_close(&w);
  an_api_reply_jw(j->req, 200, &w);
}

void an_api_anomalies_ingest(an_request_t *req) {
  an_daemon_t *d = an_request_daemon(req);
  yajl_val body = an_api_body(req);
  if (body == NULL)
    return;
  yajl_val list = an_json_get(body, "anomalies");
  if (!YAJL_IS_ARRAY(list) || list->u.array.len == 0 ||
      list->u.array.len > MAX_INGEST) {
    an_reply_error(req, 400, "INVALID_DATA",
                   "anomalies must be an array of 1 to %d anomalies",
                   MAX_INGEST);
    yajl_tree_free(body);
    return;
  }
  ingest_job_t *j = calloc(1, sizeof(*j));
  if (j != NULL) {
    j->items = calloc(list->u.array.len, sizeof(an_anomaly_t));
    j->errors = calloc(list->u.array.len, sizeof(item_error_t));
  }
  if (j == NULL || j->items == NULL || j->errors == NULL) {
    if (j != NULL)
      ingest_job_free(j);
    yajl_tree_free(body);
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  j->req = req;
  j->daemon = an_request_daemon(req);
  j->now = an_request_now(req);
  j->received = list->u.array.len;
  char err[300], first[300];
  /* A bad item is reported in the answer and the others are stored: one
   * bad series must not lose the good anomalies sent with it. */
  for (size_t i = 0; i < list->u.array.len; i++) {
    int rc = read_item(list->u.array.values[i], i, d->config, j->now,
                       &j->items[j->n], err, sizeof(err));
    if (rc == 0) {
      j->n++;
      continue;
    }
    if (rc == EINVAL) {
      if (j->nerrors == 0)
        snprintf(first, sizeof(first), "%s", err);
      j->errors[j->nerrors].index = i;
      if ((j->errors[j->nerrors++].message = strdup(err)) != NULL)
        continue;
    }
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    ingest_job_free(j);
    yajl_tree_free(body);
    return;
  }
  yajl_tree_free(body);
  if (j->n == 0) { /* nothing to store: not a success */
    an_reply_error(req, 400, "INVALID_DATA",
                   "no anomaly is valid; the first: %s", first);
    ingest_job_free(j);
    return;
  }
  an_api_submit_reply(req, run_ingest, ingest_done, j, ingest_job_free,
                      "anomalies");
}
