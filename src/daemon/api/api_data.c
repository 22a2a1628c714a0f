/* api_data.c: POST /v1/data — points pushed by other systems, scored with
 * the same detectors the plugin uses, and the point's row by its source's
 * active isolation forest, if any. One point or a batch; each point is
 * validated and answered on its own, and the batch is stored in one
 * transaction before the answer (202 means on disk). A batch is scored a
 * chunk of points per turn of the event loop, so that other requests are
 * answered meanwhile; data requests are scored one after another, each
 * whole before the next, as if each had been scored in one go. */
#include "alerts/alerts.h"
#include "api/api.h"
#include "conf.h"
#include "engine.h"
#include "grow.h"
#include "ids.h"
#include "metrics.h"
#include "models/forests.h"
#include "severity.h"
#include "store/store_series.h"
#include "timefmt.h"
#include "utf8.h"
#include "uuid.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POINTS 10000
#define MAX_NAME 256
/* points scored per turn of the loop: a few milliseconds */
#define CHUNK_POINTS 200

typedef struct row {
  char *source, *metric;
  double t, value, score;
} row_t;

/* A point that failed: its error, named by where it is. */
typedef struct point_error {
  int status;
  const char *code;
  char message[300];
} point_error_t;

/* Everything one request stores, and its prepared answer. */
typedef struct data_job {
  an_request_t *req;
  /* what the store worker uses: it may still run once the server, and
   * with it req's way to the daemon, is gone */
  an_daemon_t *daemon;
  row_t *rows;
  size_t nrows, cap_rows;
  an_anomaly_t *anomalies;
  size_t nanomalies, cap_anomalies;
  char **new_sources;
  size_t nnew_sources;
  an_jw_t answer; /* the reply, written as points are scored */
  int oom;        /* a row or anomaly could not be kept: nothing is stored */
  /* while it is scored (loop thread): the parsed body, kept until the
   * last point is scored; points NULL for one point */
  yajl_val body, points;
  double now; /* the request's (an_request_now): a point's default time */
  size_t next, accepted;
  point_error_t first;
  struct event *turn;      /* scores the next chunk */
  struct data_job *queued; /* the next job waiting to be scored */
} data_job_t;

/* Data jobs not yet scored, the head being scored: one at a time, so that
 * each request's points are scored together. Loop thread only. */
static data_job_t *queue_head, *queue_tail;

static void job_free(void *arg) {
  data_job_t *j = arg;
  for (size_t i = 0; i < j->nrows; i++) {
    free(j->rows[i].source);
    free(j->rows[i].metric);
  }
  for (size_t i = 0; i < j->nanomalies; i++)
    an_anomaly_clear(&j->anomalies[i]);
  for (size_t i = 0; i < j->nnew_sources; i++)
    free(j->new_sources[i]);
  free(j->rows);
  free(j->anomalies);
  free(j->new_sources);
  an_jw_free(&j->answer);
  if (j->body != NULL)
    yajl_tree_free(j->body);
  if (j->turn != NULL)
    event_free(j->turn);
  free(j);
}

/* an_time_format(t) for the answers, where t is mostly the time of the
 * request: the date and time of day are formatted once a second and the
 * milliseconds added, as an_time_format adds them. Loop thread only. */
static const char *answer_time(double t, char *buf, size_t len) {
  static double prefix_of = -1;
  static char prefix[40];               /* "2024-01-20T10:00:00" */
  if (!(t >= 0 && t < 4e9) || len < 40) /* 1970 to 2096 */
    return an_time_format(t, buf, len);
  double whole = floor(t);
  int ms = (int)lround((t - whole) * 1000);
  if (ms == 1000) {
    whole += 1;
    ms = 0;
  }
  if (whole != prefix_of) {
    if (an_time_format(whole, prefix, sizeof(prefix)) == NULL)
      return an_time_format(t, buf, len);
    prefix[strlen(prefix) - 1] = '\0'; /* the Z */
    prefix_of = whole;
  }
  size_t n = strlen(prefix);
  memcpy(buf, prefix, n);
  if (ms != 0) {
    buf[n++] = '.';
    buf[n++] = (char)('0' + ms / 100);
    buf[n++] = (char)('0' + ms / 10 % 10);
    buf[n++] = (char)('0' + ms % 10);
  }
  buf[n++] = 'Z';
  buf[n] = '\0';
  return buf;
}

static int bad(point_error_t *e, int status, const char *code, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

static int bad(point_error_t *e, int status, const char *code, const char *fmt,
               ...) {
  va_list ap;
  va_start(ap, fmt);
  e->status = status;
  e->code = code;
  vsnprintf(e->message, sizeof(e->message), fmt, ap);
  va_end(ap);
  return EINVAL;
}

/* Validates everything of a point before anything is scored. */
static int validate(yajl_val p, const char *where, double now,
                    const an_config_t *c, const char **source, yajl_val *values,
                    double *t, point_error_t *e) {
  if (!YAJL_IS_OBJECT(p)) /* where is "" or "points[i]." */
    return bad(e, 400, "INVALID_DATA", "%.*s must be an object",
               where[0] ? (int)strlen(where) - 1 : 4,
               where[0] ? where : "body");
  yajl_val v = an_json_get(p, "sourceId");
  if (v == NULL)
    return bad(e, 400, "INVALID_DATA", "%ssourceId is required", where);
  if (!YAJL_IS_STRING(v) || YAJL_GET_STRING(v)[0] == '\0')
    return bad(e, 400, "INVALID_DATA", "%ssourceId must be a non-empty string",
               where);
  *source = YAJL_GET_STRING(v);
  /* checked before any message quotes a name: never echoed back raw */
  if (!an_utf8_valid(*source, strlen(*source)))
    return bad(e, 400, "INVALID_DATA", "%ssourceId must be valid UTF-8", where);
  if (strlen(*source) > MAX_NAME || strchr(*source, '/') != NULL)
    return bad(e, 400, "INVALID_DATA",
               "%ssourceId must be at most %d characters, without '/'", where,
               MAX_NAME);
  *values = an_json_get(p, "values");
  if (*values == NULL)
    return bad(e, 400, "INVALID_DATA", "%svalues is required", where);
  if (!YAJL_IS_OBJECT(*values) || (*values)->u.object.len == 0)
    return bad(e, 400, "INVALID_DATA",
               "%svalues must be an object with at least one metric", where);
  if ((*values)->u.object.len > c->max_metrics_per_point)
    return bad(e, 400, "INVALID_DATA",
               "%svalues has %zu metrics; at most MaxMetricsPerPoint (%zu)",
               where, (*values)->u.object.len, c->max_metrics_per_point);
  for (size_t i = 0; i < (*values)->u.object.len; i++) {
    const char *metric = (*values)->u.object.keys[i];
    double d;
    if (metric[0] == '\0' || strlen(metric) > MAX_NAME)
      return bad(e, 400, "INVALID_DATA",
                 "%svalues: metric names must be 1 to %d characters", where,
                 MAX_NAME);
    if (!an_utf8_valid(metric, strlen(metric)))
      return bad(e, 400, "INVALID_DATA",
                 "%svalues: metric names must be valid UTF-8", where);
    if (an_json_number((*values)->u.object.values[i], &d) != 0)
      return bad(e, 400, "INVALID_DATA", "%svalues.%s must be a finite number",
                 where, metric);
  }
  v = an_json_get(p, "timestamp");
  *t = now;
  if (v != NULL && !YAJL_IS_NULL(v) && an_api_time(v, t) != 0)
    return bad(e, 400, "INVALID_DATA",
               "%stimestamp must be an ISO 8601 date-time such as "
               "2024-01-20T10:00:00Z, or seconds since the epoch",
               where);
  if (an_api_time_too_far_ahead(c, *t, now))
    return bad(e, 400, "INVALID_DATA",
               "%stimestamp is more than %g s ahead of the daemon's clock "
               "(MaxFutureSkew)",
               where, c->max_future_skew);
  v = an_json_get(p, "metadata");
  if (v != NULL && !YAJL_IS_NULL(v)) {
    if (!YAJL_IS_OBJECT(v))
      return bad(e, 400, "INVALID_DATA", "%smetadata must be an object", where);
    for (size_t i = 0; i < v->u.object.len; i++)
      if (!an_utf8_valid(v->u.object.keys[i], strlen(v->u.object.keys[i])))
        return bad(e, 400, "INVALID_DATA",
                   "%smetadata: keys must be valid UTF-8", where);
      else if (!YAJL_IS_STRING(v->u.object.values[i]))
        return bad(e, 400, "INVALID_DATA", "%smetadata.%s must be a string",
                   where, v->u.object.keys[i]);
  }
  return 0;
}

static int add_new_source(data_job_t *j, an_engine_t *engine,
                          const char *source) {
  char **grown =
      realloc(j->new_sources, (j->nnew_sources + 1) * sizeof(char *));
  if (grown == NULL)
    return ENOMEM;
  j->new_sources = grown;
  if ((j->new_sources[j->nnew_sources] = strdup(source)) == NULL)
    return ENOMEM;
  j->nnew_sources++;
  return an_engine_add_source(engine, source);
}

/* An anomaly's severity: its score's band, and "low" when a Threshold
 * below the low band made it one. */
static an_severity_t anomaly_severity(const an_config_t *c, double score) {
  an_severity_t s = an_severity_of(&c->bands, score);
  return s == AN_SEVERITY_NONE ? AN_SEVERITY_LOW : s;
}

/* The severity an answer shows for score: NULL (JSON null) when it is not
 * an anomaly, since the seed's severities are only low|medium|high|critical
 * (there is no "none"). */
static const char *severity_or_null(const an_config_t *c, double score) {
  return score >= c->threshold ? an_severity_name(anomaly_severity(c, score))
                               : NULL;
}

/* Queues a copy of anomaly a (its strings are the caller's; severity,
 * ncd and creation time are set here) and writes its id and explanation
 * into the answer. Out of memory, nothing of the job is stored. */
static void queue_anomaly(data_job_t *j, const an_config_t *c,
                          const an_anomaly_t *a) {
  if (an_grow((void **)&j->anomalies, &j->cap_anomalies, j->nanomalies,
              sizeof(an_anomaly_t)) != 0) {
    j->oom = 1;
    return;
  }
  an_anomaly_t *q = &j->anomalies[j->nanomalies++];
  *q = *a;
  q->source = strdup(a->source);
  q->metric = strdup(a->metric);
  q->explanation = strdup(a->explanation);
  q->kind = strdup(a->kind);
  q->severity = anomaly_severity(c, a->score);
  q->ncd = NAN;
  q->created_at = j->now;
  if (q->source == NULL || q->metric == NULL || q->explanation == NULL ||
      q->kind == NULL)
    j->oom = 1;
  an_jw_str(&j->answer, "anomalyId", q->id);
  an_jw_str(&j->answer, "explanation", q->explanation);
}

/* Scores the point's row with its source's isolation forest, if it has
 * one (models/forests.h). Returns 1 with *f, 0 when not scored. */
static int score_row(data_job_t *j, an_daemon_t *d, const char *source,
                     yajl_val values, an_forest_score_t *f) {
  size_t n = values->u.object.len;
  if (!an_forests_covers(d->forests, source))
    return 0; /* most points: nothing to allocate */
  double *x = malloc(n * sizeof(*x));
  if (x == NULL) {
    j->oom = 1;
    return 0;
  }
  for (size_t i = 0; i < n; i++)
    an_json_number(values->u.object.values[i], &x[i]);
  int scored = an_forests_score(d->forests, source,
                                (const char *const *)values->u.object.keys, x,
                                n, d->config->threshold, f);
  free(x);
  return scored;
}

/* Writes the answer's "multivariate" member for the row scored f, and
 * queues an anomaly of kind multivariate when it is one. Its id is the
 * point's: a point has one row, and a resent point (its first
 * dataPointId again) is stored once. */
static void answer_row(data_job_t *j, const an_config_t *c, const char *source,
                       double t, const char *point_id,
                       const an_forest_score_t *f) {
  an_jw_t *w = &j->answer;
  an_jw_key(w, "multivariate");
  an_jw_map_open(w);
  an_jw_num(w, "score", f->score);
  an_jw_bool(w, "isAnomaly", f->score >= c->threshold);
  an_jw_str(w, "severity", severity_or_null(c, f->score));
  an_jw_str(w, "modelId", f->model_id);
  if (f->score >= c->threshold) {
    char why[1024];
    /* the metric that contributed most: a series of the source */
    an_anomaly_t a = {.source = (char *)source,
                      .metric = (char *)(f->ncontrib > 0 ? f->contrib[0].metric
                                                         : "multivariate"),
                      .value = f->ncontrib > 0 ? f->contrib[0].value : NAN,
                      .expected = NAN, /* a forest predicts no value */
                      .score = f->score,
                      .detected_at = t,
                      .explanation = an_forests_explain(f, why, sizeof(why)),
                      .kind = "multivariate",
                      .p_value = f->p_value};
    snprintf(a.id, sizeof(a.id), "%s", point_id);
    queue_anomaly(j, c, &a);
    an_jw_key(w, "contributions");
    an_jw_map_open(w);
    for (size_t i = 0; i < f->ncontrib; i++)
      an_jw_num(w, f->contrib[i].metric, f->contrib[i].weight);
    an_jw_map_close(w);
  }
  an_jw_map_close(w);
}

/* Scores one valid point, writes its answer object and queues its rows. */
static int score_point(data_job_t *j, an_daemon_t *d, const char *where,
                       const char *source, yajl_val values, double t,
                       point_error_t *e) {
  const an_config_t *c = d->config;
  an_jw_t *w = &j->answer;
  char point_id[AN_UUID_LEN + 1], stamp[40];
  double best = 0;

  if (!an_engine_knows_source(d->engine, source)) {
    if (!c->auto_register_sources)
      return bad(e, 404, "SOURCE_NOT_FOUND",
                 "%ssourceId \"%s\" is not a configured source (add a "
                 "<Source> block or set AutoRegisterSources true)",
                 where, source);
    if (add_new_source(j, d->engine, source) != 0)
      return bad(e, 500, "INTERNAL", "out of memory");
  }
  /* Score every metric first: an out-of-order timestamp fails the point
   * before anything of it is answered. */
  size_t n = values->u.object.len, resent = 0;
  an_engine_answer_t *answers = calloc(n, sizeof(*answers));
  if (answers == NULL)
    return bad(e, 500, "INTERNAL", "out of memory");
  an_ids_new(point_id);
  for (size_t i = 0; i < n; i++) {
    double x, last = 0;
    an_json_number(values->u.object.values[i], &x);
    memcpy(answers[i].point_id, point_id, sizeof(point_id));
    an_ids_new(answers[i].anomaly_id);
    int rc = an_engine_score(d->engine, source, values->u.object.keys[i], t, x,
                             &answers[i], &last);
    if (rc == EALREADY) { /* a resend: its first answer, not learned again */
      resent++;
      rc = 0;
    }
    if (rc == ERANGE) {
      free(answers);
      an_time_format(last, stamp, sizeof(stamp));
      return bad(e, 400, "INVALID_DATA",
                 "%stimestamp must be after the last one of series %s/%s "
                 "(%s)",
                 where, source, values->u.object.keys[i], stamp);
    }
    if (rc == E2BIG) {
      free(answers);
      return bad(e, 400, "INVALID_DATA",
                 "%svalues.%s would be a new series of source %s, which has "
                 "MaxSeriesPerSource (%zu) already",
                 where, values->u.object.keys[i], source,
                 c->max_series_per_source);
    }
    if (rc != 0) {
      free(answers);
      return bad(e, 400, "INVALID_DATA", "%svalues.%s cannot be scored", where,
                 values->u.object.keys[i]);
    }
    if (answers[i].result.score > best)
      best = answers[i].result.score;
  }
  an_metrics_add(d->metrics, AN_COUNTER_POINTS_SCORED, n - resent);

  if (resent == n) /* the whole point again: its first dataPointId */
    memcpy(point_id, answers[0].point_id, sizeof(point_id));
  an_forest_score_t forest;
  int has_row = score_row(j, d, source, values, &forest);
  if (has_row && forest.score > best)
    best = forest.score;
  an_jw_map_open(w);
  an_jw_str(w, "dataPointId", point_id);
  an_jw_num(w, "anomalyScore", best);
  an_jw_bool(w, "isAnomaly", best >= c->threshold);
  an_jw_str(w, "severity", severity_or_null(c, best));
  an_jw_str(w, "sourceId", source);
  an_jw_str(w, "timestamp", answer_time(t, stamp, sizeof(stamp)));
  an_jw_key(w, "metrics");
  an_jw_map_open(w);
  for (size_t i = 0; i < n; i++) {
    const char *metric = values->u.object.keys[i];
    an_result_t *r = &answers[i].result;
    double x;
    an_json_number(values->u.object.values[i], &x);
    int anomalous = r->score >= c->threshold;
    an_jw_key(w, metric);
    an_jw_map_open(w);
    an_jw_num(w, "value", x);
    an_jw_num(w, "score", r->score);
    an_jw_bool(w, "isAnomaly", anomalous);
    an_jw_str(w, "severity", severity_or_null(c, r->score));
    an_jw_num(w, "expected", r->expected);
    if (r->warming_up)
      an_jw_bool(w, "warmingUp", 1);

    /* out of memory, nothing is stored and the answer is a 500
     * (store_data()): a 202 must mean stored */
    if (an_grow((void **)&j->rows, &j->cap_rows, j->nrows, sizeof(row_t)) ==
        0) {
      row_t *row = &j->rows[j->nrows++];
      row->source = strdup(source);
      row->metric = strdup(metric);
      row->t = t;
      row->value = x;
      row->score = r->score;
      if (row->source == NULL || row->metric == NULL)
        j->oom = 1;
    } else {
      j->oom = 1;
    }
    if (anomalous) {
      char why[300];
      an_anomaly_t a = {.source = (char *)source,
                        .metric = (char *)metric,
                        .value = x,
                        .expected = r->expected,
                        .score = r->score,
                        .detected_at = t,
                        .explanation =
                            an_explain(r, x, metric, why, sizeof(why)),
                        .kind = (char *)an_kind_name(r->kind),
                        .p_value = r->p_value};
      /* a resend's is the first one's: stored once */
      memcpy(a.id, answers[i].anomaly_id, sizeof(answers[i].anomaly_id));
      queue_anomaly(j, c, &a);
    }
    an_jw_map_close(w);
  }
  an_jw_map_close(w);
  if (has_row)
    answer_row(j, c, source, t, point_id, &forest);
  an_jw_map_close(w);
  free(answers);
  return 0;
}

static void write_error(an_jw_t *w, const point_error_t *e) {
  an_jw_map_open(w);
  an_jw_key(w, "error");
  an_jw_map_open(w);
  an_jw_str(w, "code", e->code);
  an_jw_str(w, "message", e->message);
  an_jw_map_close(w);
  an_jw_map_close(w);
}

static int store_data(sqlite3 *db, an_api_job_t *job, an_jw_t *unused) {
  data_job_t *j = job->data;
  int rc = 0, inserted;
  if (j->oom || an_jw_failed(&j->answer))
    return ENOMEM; /* the answer is incomplete: none of it is stored */
  for (size_t i = 0; rc == 0 && i < j->nnew_sources; i++)
    rc = an_store_add_source(db, j->new_sources[i], j->now);
  for (size_t i = 0; rc == 0 && i < j->nrows; i++)
    rc = an_store_put_point(db, j->rows[i].source, j->rows[i].metric,
                            j->rows[i].t, j->rows[i].value, j->rows[i].score);
  for (size_t i = 0; rc == 0 && i < j->nanomalies; i++)
    rc = an_alerts_record_anomaly(db, j->daemon, &j->anomalies[i], j->now,
                                  &inserted);
  return rc;
}

static void data_stored(an_api_job_t *job, int rc) {
  data_job_t *j = job->data;
  an_daemon_t *d = an_request_daemon(j->req);
  if (rc == ENOMEM) {
    an_reply_error(j->req, 500, "INTERNAL",
                   "out of memory: nothing was stored");
  } else if (rc != 0) {
    an_api_reply_store_error(j->req, rc, "data");
  } else {
    an_metrics_add(d->metrics, AN_COUNTER_ANOMALIES_STORED, j->nanomalies);
    an_reply_json(j->req, 202, j->answer.buf, j->answer.len);
  }
}

/* Takes the job off the queue when it is scored, and has the next one
 * scored from the next turn of the loop. */
static void dequeue(data_job_t *j);

/* The request's points are scored: replies now when none is valid, or
 * submits them to the store, which replies. */
static void scored(data_job_t *j) {
  an_request_t *req = j->req;
  int batch = j->points != NULL;
  yajl_tree_free(j->body); /* the answer and rows hold copies */
  j->body = NULL;
  j->points = NULL;
  dequeue(j);
  if (batch) {
    an_jw_array_close(&j->answer);
    an_jw_map_close(&j->answer);
  }
  if (batch && j->accepted == 0) {
    /* nothing was accepted: not a 202 (DESIGN.md) */
    int internal = j->first.status >= 500;
    an_reply_error(req, internal ? j->first.status : 400,
                   internal ? j->first.code : "INVALID_DATA",
                   "no point is valid; the first: %s", j->first.message);
    job_free(j);
    return;
  }
  an_api_submit_reply(req, store_data, data_stored, j, job_free, "data");
}

/* Scores the next chunk of the job's points; when the last is scored,
 * goes on to scored(). Returns 1 when more remain. */
static int score_chunk(data_job_t *j) {
  an_daemon_t *d = j->daemon;
  point_error_t e;
  char where[48];
  const char *source;
  yajl_val values;
  double t;

  if (j->points == NULL) { /* one point: its error is the request's */
    if (validate(j->body, "", j->now, d->config, &source, &values, &t, &e) !=
            0 ||
        score_point(j, d, "", source, values, t, &e) != 0) {
      dequeue(j);
      an_reply_error(j->req, e.status, e.code, "%s", e.message);
      job_free(j);
      return 0;
    }
    scored(j);
    return 0;
  }
  size_t n = j->points->u.array.len;
  size_t end = n - j->next > CHUNK_POINTS ? j->next + CHUNK_POINTS : n;
  for (; j->next < end; j->next++) {
    size_t i = j->next;
    snprintf(where, sizeof(where), "points[%zu].", i);
    if (validate(j->points->u.array.values[i], where, j->now, d->config,
                 &source, &values, &t, &e) != 0 ||
        score_point(j, d, where, source, values, t, &e) != 0) {
      if (i == 0)
        j->first = e;
      write_error(&j->answer, &e);
    } else {
      j->accepted++;
    }
  }
  if (j->next < n)
    return 1;
  scored(j);
  return 0;
}

/* Scores chunks of the job, one per turn of the loop. */
static void score_turn(evutil_socket_t fd, short what, void *arg) {
  static const struct timeval now = {0, 0};
  data_job_t *j = arg;
  (void)fd;
  (void)what;
  /* a zero timeout waits for the next turn, after the loop has polled
   * for input: other requests are read and answered in between. If it
   * cannot be added, the rest is scored at once. */
  while (score_chunk(j))
    if (evtimer_add(j->turn, &now) == 0)
      return;
}

static void dequeue(data_job_t *j) {
  static const struct timeval now = {0, 0};
  if (queue_head != j)
    return;
  queue_head = j->queued;
  if (queue_head == NULL)
    queue_tail = NULL;
  else if (evtimer_add(queue_head->turn, &now) != 0)
    event_active(queue_head->turn, EV_TIMEOUT, 1);
}

void an_api_data_post(an_request_t *req) {
  an_daemon_t *d = an_request_daemon(req);
  yajl_val body = an_api_body(req);
  if (body == NULL)
    return;
  data_job_t *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    yajl_tree_free(body);
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  j->req = req;
  j->daemon = d;
  j->body = body;
  j->now = an_request_now(req);
  an_jw_init(&j->answer);
  j->turn = evtimer_new(d->base, score_turn, j);
  if (j->turn == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    job_free(j);
    return;
  }
  if (!YAJL_IS_ARRAY(body))
    j->points = an_json_get(body, "points");
  else
    j->points = body;
  if (j->points != NULL) {
    if (!YAJL_IS_ARRAY(j->points) || j->points->u.array.len == 0 ||
        j->points->u.array.len > MAX_POINTS) {
      an_reply_error(req, 400, "INVALID_DATA",
                     "points must be an array of 1 to %d points", MAX_POINTS);
      job_free(j);
      return;
    }
    an_jw_map_open(&j->answer);
    an_jw_key(&j->answer, "results");
    an_jw_array_open(&j->answer);
  }
  /* scored now when no other is; else after those before it */
  if (queue_tail != NULL) {
    queue_tail->queued = j;
    queue_tail = j;
    return;
  }
  queue_head = queue_tail = j;
  score_turn(-1, 0, j);
}
