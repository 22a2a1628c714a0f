/* api_models.c: /v1/models: training jobs (queued here, run by the
 * training workers, models/jobs.h), the models they make, activation and
 * metrics. Every read and write is a store job; training itself never
 * runs on the loop.
 *
 * A model's version is its number among the models of its algorithm and
 * scope, shown as "vN.0.0": the first seasonal model over everything is
 * v1.0.0, the next v2.0.0. */
#include "alerts/match.h"
#include "api/api.h"
#include "conf.h"
#include "http/query.h"
#include "ids.h"
#include "models/algorithm.h"
#include "models/evaluate.h"
#include "models/forests.h"
#include "models/jobs.h"
#include "store/store_models.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the JSON of jobs and models ---- */

static void write_scope(an_jw_t *w, const char *source, const char *metric) {
  an_jw_key(w, "scope");
  an_jw_map_open(w);
  an_jw_str(w, "sourceId", source);
  an_jw_str(w, "metric", metric);
  an_jw_map_close(w);
}

static void write_range(an_jw_t *w, double start, double end) {
  an_jw_key(w, "dataRange");
  an_jw_map_open(w);
  an_jw_time(w, "start", start);
  an_jw_time(w, "end", end);
  an_jw_map_close(w);
}

/* The hyperparameters a job keeps (validated when it was queued), as
 * its algorithm writes them; {} for an algorithm this build lacks. */
static void write_params(an_jw_t *w, const an_train_job_t *j) {
  const an_algorithm_t *a = an_algorithm_find(j->algorithm);
  double values[AN_ALGORITHM_MAX_PARAMS];
  char err[300];
  yajl_val v = an_json_parse(j->hyperparameters, strlen(j->hyperparameters),
                             err, sizeof(err));
  an_jw_key(w, "hyperparameters");
  if (a != NULL && v != NULL &&
      an_algorithm_params(a, v, values, err, sizeof(err)) == 0) {
    an_algorithm_write_params(w, a, values);
  } else {
    an_jw_map_open(w);
    an_jw_map_close(w);
  }
  if (v != NULL)
    yajl_tree_free(v);
}

static void write_job(an_jw_t *w, const an_train_job_t *j) {
  an_jw_map_open(w);
  an_jw_str(w, "jobId", j->id);
  an_jw_str(w, "status", an_job_status_name(j->status));
  an_jw_num(w, "progress", j->progress);
  an_jw_str(w, "modelId", j->model_id[0] != '\0' ? j->model_id : NULL);
  an_jw_str(w, "error", j->error);
  an_jw_str(w, "algorithm", j->algorithm);
  write_params(w, j);
  write_scope(w, j->scope_source, j->scope_metric);
  write_range(w, j->range_start, j->range_end);
  an_jw_key(w, "series");
  an_jw_map_open(w);
  an_jw_int(w, "total", j->series_total);
  an_jw_int(w, "done", j->series_done);
  an_jw_int(w, "skipped", j->series_skipped);
  an_jw_map_close(w);
  an_jw_bool(w, "scheduled", j->scheduled);
  an_jw_time(w, "createdAt", j->created_at);
  an_jw_time(w, "startedAt", j->started_at);
  an_jw_time(w, "finishedAt", j->finished_at);
  an_jw_map_close(w);
}

const char *an_api_model_version(long long version, char *buf, size_t len) {
  snprintf(buf, len, "v%lld.0.0", version);
  return buf;
}

static void write_version(an_jw_t *w, long long version) {
  char v[32];
  an_jw_str(w, "version", an_api_model_version(version, v, sizeof(v)));
}

static void write_model(an_jw_t *w, const an_model_info_t *m) {
  an_jw_map_open(w);
  an_jw_str(w, "id", m->id);
  an_jw_str(w, "algorithm", m->algorithm);
  write_version(w, m->version);
  write_scope(w, m->scope_source, m->scope_metric);
  write_range(w, m->range_start, m->range_end);
  an_jw_int(w, "series", m->series);
  an_jw_int(w, "skippedSeries", m->skipped);
  an_jw_int(w, "points", m->points);
  an_jw_bool(w, "active", m->active);
  an_jw_int(w, "sizeBytes", m->size);
  an_jw_str(w, "jobId", m->job_id[0] != '\0' ? m->job_id : NULL);
  an_jw_time(w, "createdAt", m->created_at);
  an_jw_map_close(w);
}

/* ---- POST /v1/models/train ---- */

static void job_free(void *data) {
  an_train_job_t *j = data;
  an_train_job_clear(j);
  free(j);
}

/* An optional scope pattern: NULL for every one ("", "*", null or
 * absent). Returns 0, or EINVAL with the reason in err. */
static int scope_pattern(yajl_val body, const char *key, char **out, char *err,
                         size_t errlen) {
  yajl_val v = an_json_get(body, key);
  *out = NULL;
  if (v == NULL || YAJL_IS_NULL(v))
    return 0;
  const char *s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
  if (s == NULL || !an_json_utf8_valid(s) || !an_match_valid(s)) {
    snprintf(err, errlen,
             "%s must be a name, or a pattern with *, of at most 512 bytes",
             key);
    return EINVAL;
  }
  if (s[0] == '\0' || strcmp(s, "*") == 0)
    return 0;
  *out = strdup(s);
  return *out != NULL ? 0 : ENOMEM;
}

static int data_range(yajl_val body, an_train_job_t *j, char *err,
                      size_t errlen) {
  yajl_val r = an_json_get(body, "dataRange");
  const char *bad = NULL;
  if (!YAJL_IS_OBJECT(r)) {
    snprintf(err, errlen, "dataRange must be an object with start and end");
    return EINVAL;
  }
  if (an_api_time(an_json_get(r, "start"), &j->range_start) != 0)
    bad = "dataRange.start";
  else if (an_api_time(an_json_get(r, "end"), &j->range_end) != 0)
    bad = "dataRange.end";
  if (bad != NULL) {
    snprintf(err, errlen,
             "%s must be an ISO 8601 date or seconds since the epoch", bad);
    return EINVAL;
  }
  if (j->range_end <= j->range_start) {
    snprintf(err, errlen, "dataRange.end must be after dataRange.start");
    return EINVAL;
  }
  return 0;
}

/* The algorithm's name and its hyperparameters, as a JSON text. */
static int algorithm(yajl_val body, an_train_job_t *j, char *err,
                     size_t errlen) {
  yajl_val v = an_json_get(body, "algorithm");
  const an_algorithm_t *a =
      YAJL_IS_STRING(v) ? an_algorithm_find(YAJL_GET_STRING(v)) : NULL;
  double values[AN_ALGORITHM_MAX_PARAMS];
  if (a == NULL) {
    char names[200] = "";
    for (size_t i = 0; an_algorithm_at(i) != NULL; i++)
      snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
               i > 0 ? ", " : "", an_algorithm_at(i)->name);
    snprintf(err, errlen, "algorithm must be one of %s", names);
    return EINVAL;
  }
  yajl_val hp = an_json_get(body, "hyperparameters");
  if (an_algorithm_params(a, YAJL_IS_NULL(hp) ? NULL : hp, values, err,
                          errlen) != 0)
    return EINVAL;
  an_jw_t w;
  an_jw_init(&w);
  an_algorithm_write_params(&w, a, values);
  j->hyperparameters = an_jw_take(&w);
  j->algorithm = strdup(a->name);
  return j->hyperparameters != NULL && j->algorithm != NULL ? 0 : ENOMEM;
}

static int run_create(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  const an_train_job_t *j = job->data;
  int rc = an_store_put_train_job(db, j);
  if (rc == 0) {
    an_jw_map_open(w);
    an_jw_str(w, "jobId", j->id);
    an_jw_str(w, "status", "queued");
    an_jw_map_close(w);
  }
  return rc;
}

/* Committed: the workers may take it. */
static void created(an_api_job_t *job) {
  const an_train_job_t *j = job->data;
  an_jobs_queue(job->daemon->jobs, j->id); /* else after the next start */
}

void an_api_train_create(an_request_t *req) {
  yajl_val body = an_api_body(req);
  if (body == NULL)
    return;
  char err[300] = "";
  an_train_job_t *j = calloc(1, sizeof(*j));
  int rc = j == NULL ? ENOMEM : 0;
  if (rc == 0 && !YAJL_IS_OBJECT(body)) {
    snprintf(err, sizeof(err), "the body must be a JSON object");
    rc = EINVAL;
  }
  if (rc == 0)
    rc = algorithm(body, j, err, sizeof(err));
  if (rc == 0)
    rc = data_range(body, j, err, sizeof(err));
  if (rc == 0)
    rc = scope_pattern(body, "sourceId", &j->scope_source, err, sizeof(err));
  if (rc == 0)
    rc = scope_pattern(body, "metric", &j->scope_metric, err, sizeof(err));
  yajl_tree_free(body);
  if (rc != 0) {
    if (rc == EINVAL)
      an_reply_error(req, 400, "INVALID_DATA", "%s", err);
    else
      an_reply_error(req, 500, "INTERNAL", "out of memory");
    if (j != NULL)
      job_free(j);
    return;
  }
  an_ids_new(j->id);
  j->created_at = an_request_now(req);
  an_api_job_t *job = an_api_job_new(req, run_create, 202);
  if (job == NULL) {
    job_free(j);
    return;
  }
  job->data = j;
  job->free_data = job_free;
  job->after = created;
  an_api_job_submit(job);
}

/* ---- GET /v1/models/train, GET /v1/models ---- */

typedef struct list {
  int limit, page;
  double after_t;
  char after_id[64];
  int after;
  an_query_err_t err;
} list_t;

static int parse_list_param(void *ctx, const char *key, const char *v) {
  list_t *l = ctx;
  if (strcmp(key, "limit") == 0)
    return an_query_limit(key, v, &l->limit, &l->err);
  if (strcmp(key, "page_token") == 0) {
    l->after = 1;
    return an_query_page_token(v, &l->after_t, l->after_id, sizeof(l->after_id),
                               &l->page, &l->err);
  }
  return 0; /* unknown parameters are ignored */
}

/* Parses the list's query and submits run; replies 400 on a bad one. */
static void submit_list(an_request_t *req, an_api_run_fn run) {
  list_t *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  l->limit = AN_QUERY_DEFAULT_LIMIT;
  l->page = 1;
  if (an_request_query_each(req, parse_list_param, l) != 0) {
    an_reply_error(req, 400, "INVALID_DATA", "%s",
                   l->err.msg[0] ? l->err.msg : "out of memory");
    free(l);
    return;
  }
  an_api_submit(req, run, 200, l, free, NULL);
}

/* Writes a list's answer: rows (n of size bytes each, written by
 * write) under key, and where the page ended. */
static void write_list(an_jw_t *w, const list_t *l, const char *key,
                       const void *rows, size_t n, size_t size,
                       void (*write)(an_jw_t *, const void *), long long total,
                       double last_t, const char *last_id) {
  an_jw_map_open(w);
  an_jw_key(w, key);
  an_jw_array_open(w);
  for (size_t i = 0; i < n; i++)
    write(w, (const char *)rows + i * size);
  an_jw_array_close(w);
  an_query_write_page(w, total, l->page, l->limit, n, last_t, last_id);
  an_jw_map_close(w);
}

static void write_job_row(an_jw_t *w, const void *row) { write_job(w, row); }

static void write_model_row(an_jw_t *w, const void *row) {
  write_model(w, row);
}

static int run_jobs_list(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  list_t *l = job->data;
  an_train_job_t *rows;
  size_t n;
  long long total;
  int rc = an_store_list_train_jobs(db, l->limit, l->after_t,
                                    l->after ? l->after_id : NULL, &rows, &n,
                                    &total);
  if (rc == 0)
    write_list(w, l, "jobs", rows, n, sizeof(*rows), write_job_row, total,
               n > 0 ? rows[n - 1].created_at : 0, n > 0 ? rows[n - 1].id : "");
  for (size_t i = 0; i < n; i++)
    an_train_job_clear(&rows[i]);
  free(rows);
  return rc;
}

void an_api_train_list(an_request_t *req) { submit_list(req, run_jobs_list); }

static int run_models_list(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  list_t *l = job->data;
  an_model_info_t *rows;
  size_t n;
  long long total;
  int rc =
      an_store_list_models(db, l->limit, l->after_t,
                           l->after ? l->after_id : NULL, &rows, &n, &total);
  if (rc == 0)
    write_list(w, l, "models", rows, n, sizeof(*rows), write_model_row, total,
               n > 0 ? rows[n - 1].created_at : 0, n > 0 ? rows[n - 1].id : "");
  for (size_t i = 0; i < n; i++)
    an_model_info_clear(&rows[i]);
  free(rows);
  return rc;
}

void an_api_models_list(an_request_t *req) {
  submit_list(req, run_models_list);
}

/* ---- one job ---- */

static int write_job_of(sqlite3 *db, const char *id, an_jw_t *w) {
  an_train_job_t j;
  int rc = an_store_get_train_job(db, id, &j);
  if (rc == 0)
    write_job(w, &j);
  an_train_job_clear(&j);
  return rc;
}

static int run_job_get(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  return write_job_of(db, job->data, w);
}

void an_api_train_get(an_request_t *req) {
  an_api_submit_for_path(req, "jobId", "training job", run_job_get, 200);
}

/* A queued job is cancelled at once (200); a running one is asked to
 * stop at its next series (202: it shows cancelled when it has). The
 * workers' flags take a mutex, not the loop: set here, on the store
 * worker, in the transaction that saw the job running. */
static int run_job_cancel(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  int status;
  int rc = an_store_cancel_train_job(db, job->data, job->now, &status);
  if (rc != 0)
    return rc;
  if (status != AN_JOB_QUEUED && status != AN_JOB_RUNNING) {
    snprintf(job->err, sizeof(job->err), "training job %s has already %s",
             (const char *)job->data, an_job_status_name(status));
    return EALREADY;
  }
  job->status = 200;
  if (status == AN_JOB_RUNNING) {
    an_jobs_cancel(job->daemon->jobs, job->data);
    job->status = 202;
  }
  return write_job_of(db, job->data, w);
}

void an_api_train_cancel(an_request_t *req) {
  an_api_submit_for_path(req, "jobId", "training job", run_job_cancel, 200);
}

/* ---- one model ---- */

static int write_model_of(sqlite3 *db, const char *id, an_jw_t *w) {
  an_model_info_t m;
  int rc = an_store_get_model(db, id, &m);
  if (rc == 0)
    write_model(w, &m);
  an_model_info_clear(&m);
  return rc;
}

static int run_model_get(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  return write_model_of(db, job->data, w);
}

void an_api_model_get(an_request_t *req) {
  an_api_submit_for_path(req, "id", "model", run_model_get, 200);
}

static int run_model_delete(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  int rc = an_store_delete_model(db, job->data);
  if (rc == EBUSY)
    snprintf(job->err, sizeof(job->err),
             "model %s is the active one of its algorithm and scope: activate "
             "another first",
             (const char *)job->data);
  return rc;
}

void an_api_model_delete(an_request_t *req) {
  an_api_submit_for_path(req, "id", "model", run_model_delete, 204);
}

/* An activation, and when it is of an isolation forest the forests
 * active once it is: loaded in its transaction, in use from its reply. */
typedef struct activation {
  char *id;
  an_forests_t *forests; /* NULL: the forests did not change */
} activation_t;

static void activation_free(void *data) {
  activation_t *a = data;
  an_forests_free(a->forests);
  free(a->id);
  free(a);
}

static int run_model_activate(sqlite3 *db, an_api_job_t *job, an_jw_t *w) {
  activation_t *a = job->data;
  an_model_info_t m = {0};
  an_forests_free(a->forests); /* from a first run of the batch */
  a->forests = NULL;
  int rc = an_store_activate_model(db, a->id);
  if (rc == 0)
    rc = an_store_get_model(db, a->id, &m);
  if (rc == 0)
    write_model(w, &m);
  if (rc == 0 && strcmp(m.algorithm, AN_FORESTS_ALGORITHM) == 0)
    rc = an_forests_load(db, &a->forests);
  an_model_info_clear(&m);
  return rc;
}

static void activated(an_api_job_t *job) {
  activation_t *a = job->data;
  if (a->forests != NULL)
    an_forests_replace(job->daemon, a->forests);
  a->forests = NULL;
}

void an_api_model_activate(an_request_t *req) {
  const char *id = an_api_path_id(req, "id", "model");
  if (id == NULL)
    return;
  activation_t *a = calloc(1, sizeof(*a));
  if (a == NULL || (a->id = strdup(id)) == NULL) {
    free(a);
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  an_api_job_t *job = an_api_job_new(req, run_model_activate, 200);
  if (job == NULL) {
    activation_free(a);
    return;
  }
  job->data = a;
  job->free_data = activation_free;
  job->after = activated;
  snprintf(job->what, sizeof(job->what), "model %s", id);
  an_api_job_submit(job);
}

/* ---- GET /v1/models/{id}/metrics ---- */

static void write_eval(an_jw_t *w, const an_eval_t *e) {
  an_jw_num(w, "precision", e->precision);
  an_jw_num(w, "recall", e->recall);
  an_jw_num(w, "f1", e->f1);
  an_jw_num(w, "auc", e->auc);
}

/* The seed's shape, from the labels that say most: feedback when a
 * person labelled anomalies in the model's range and scope, else the
 * synthetic ones; both in "evaluations". */
static void write_metrics(an_jw_t *w, const an_model_info_t *m) {
  static const an_model_metrics_t unknown = {
      NAN, {NAN, NAN, NAN, NAN, 0, 0}, {NAN, NAN, NAN, NAN, 0, 0}, 0};
  an_model_metrics_t mm;
  int known = an_model_metrics_read(m->metrics, &mm) == 0;
  if (!known)
    mm = unknown;
  int feedback = mm.feedback.positives + mm.feedback.negatives > 0;
  const an_eval_t *main = feedback ? &mm.feedback : &mm.synthetic;
  an_jw_map_open(w);
  an_jw_str(w, "modelId", m->id);
  an_jw_str(w, "algorithm", m->algorithm);
  write_version(w, m->version);
  an_jw_key(w, "metrics");
  an_jw_map_open(w);
  write_eval(w, main);
  an_jw_map_close(w);
  an_jw_key(w, "labels");
  an_jw_map_open(w);
  an_jw_str(w, "source", !known ? NULL : feedback ? "feedback" : "synthetic");
  an_jw_int(w, "positives", (long long)main->positives);
  an_jw_int(w, "negatives", (long long)main->negatives);
  an_jw_num(w, "threshold", mm.threshold);
  an_jw_map_close(w);
  an_jw_key(w, "evaluations");
  an_jw_map_open(w);
  an_jw_key(w, "feedback");
  an_jw_map_open(w);
  write_eval(w, &mm.feedback);
  an_jw_int(w, "positives", (long long)mm.feedback.positives);
  an_jw_int(w, "negatives", (long long)mm.feedback.negatives);
  an_jw_map_close(w);
  an_jw_key(w, "synthetic");
  an_jw_map_open(w);
  write_eval(w, &mm.synthetic);
  an_jw_int(w, "positives", (long long)mm.synthetic.positives);
  an_jw_int(w, "negatives", (long long)mm.synthetic.negatives);
  an_jw_int(w, "series", (long long)mm.synthetic_series);
  an_jw_map_close(w);
  an_jw_map_close(w);
  an_jw_map_close(w);
}

/* A job id stands for the model it makes: while the job is queued or
 * running the answer is 503 MODEL_NOT_READY; once it succeeded, its
 * model's metrics. */
static int run_metrics(sqlite3 *db, an_api_job_t *job, an_jw_t *unused) {
  const char *id = job->data;
  an_jw_t *w = &job->answer; /* a job with its own reply gets no writer */
  an_model_info_t m;
  an_train_job_t j;
  int rc = an_store_get_model(db, id, &m);
  if (rc == ENOENT && (rc = an_store_get_train_job(db, id, &j)) == 0) {
    if (j.status == AN_JOB_QUEUED || j.status == AN_JOB_RUNNING) {
      snprintf(job->err, sizeof(job->err),
               "the model of training job %s is not ready: the job is %s "
               "(progress %.0f%%)",
               id, an_job_status_name(j.status), 100 * j.progress);
      rc = EAGAIN;
    } else if (j.model_id[0] != '\0') {
      rc = an_store_get_model(db, j.model_id, &m);
    } else {
      rc = ENOENT;
    }
    an_train_job_clear(&j);
  }
  if (rc == 0)
    write_metrics(w, &m);
  an_model_info_clear(&m);
  return rc;
}

static void reply_metrics(an_api_job_t *job, int rc) {
  if (rc == EAGAIN)
    an_reply_error(job->req, 503, "MODEL_NOT_READY", "%s", job->err);
  else if (rc == 0)
    an_api_reply_jw(job->req, 200, &job->answer);
  else
    an_api_reply_store_error(job->req, rc, job->what);
}

void an_api_model_metrics(an_request_t *req) {
  const char *id = an_api_path_id(req, "id", "model");
  if (id == NULL)
    return;
  char *data = strdup(id);
  char what[160];
  if (data == NULL) {
    an_reply_error(req, 500, "INTERNAL", "out of memory");
    return;
  }
  snprintf(what, sizeof(what), "model %s", id);
  an_api_submit_reply(req, run_metrics, reply_metrics, data, free, what);
}
