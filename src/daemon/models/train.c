/* train.c: one training job on a worker's connection (train.h). */
#include "models/train.h"
#include "clock.h"
#include "grow.h"
#include "ids.h"
#include "json.h"
#include "models/algorithm.h"
#include "store/store.h"
#include "store/store_anomalies.h"
#include "store/store_models.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* Progress is written at most this often (seconds), and at the end. */
#define PROGRESS_EVERY 0.2

typedef struct job_run {
  sqlite3 *db;
  const an_config_t *config;
  an_train_job_t job;
  an_history_t *history;
  an_label_t *labels;
  size_t nlabels, labels_cap;
  double progress_at; /* monotonic time of the last progress written */
} job_run_t;

/* ---- the series and labels of the job's scope ---- */

static void series_name(void *ctx, size_t i, const char **source,
                        const char **metric, const char **type) {
  const an_history_series_t *s = &((job_run_t *)ctx)->history->series[i];
  *source = s->source_id;
  *metric = s->metric;
  *type = s->type;
}

static int series_fetch(void *ctx, size_t i, double start, double end,
                        an_history_point_t **points, size_t *n, char *err,
                        size_t errlen) {
  job_run_t *r = ctx;
  return an_history_fetch(r->db, &r->history->series[i], start, end, points, n,
                          err, errlen);
}

static int add_label(void *ctx, const char *source, const char *metric,
                     double t, double value, int positive) {
  job_run_t *r = ctx;
  if (!an_history_in_scope(r->job.scope_source, r->job.scope_metric, source,
                           metric))
    return 0;
  if (an_grow((void **)&r->labels, &r->labels_cap, r->nlabels,
              sizeof(*r->labels)) != 0)
    return ENOMEM;
  an_label_t *l = &r->labels[r->nlabels++];
  *l = (an_label_t){strdup(source), strdup(metric), t, value, positive};
  return l->source_id != NULL && l->metric != NULL ? 0 : ENOMEM;
}

static void progress(void *ctx, size_t done, size_t total, size_t skipped) {
  job_run_t *r = ctx;
  double now = an_clock_monotonic();
  if (done < total && now - r->progress_at < PROGRESS_EVERY)
    return;
  r->progress_at = now;
  /* a failed write only delays what the job shows */
  an_store_set_train_progress(r->db, r->job.id, (double)done / (double)total,
                              (long long)total, (long long)done,
                              (long long)skipped);
}

/* ---- the outcome ---- */

typedef struct success {
  job_run_t *r;
  an_model_info_t model;
  const void *blob;
  size_t len;
  double now;
} success_t;

/* Whether a scheduled model should replace the active one: when there is
 * none, or its synthetic f1 is no worse (an f1 not known on either side
 * counts as no worse only when the active one's is not known). */
static int no_worse(const char *new_metrics, const char *active_metrics) {
  an_model_metrics_t a, b;
  if (an_model_metrics_read(active_metrics, &a) != 0 || isnan(a.synthetic.f1))
    return 1;
  return an_model_metrics_read(new_metrics, &b) == 0 &&
         b.synthetic.f1 >= a.synthetic.f1;
}

static int maybe_activate(sqlite3 *db, success_t *s) {
  an_model_info_t active;
  int rc =
      an_store_get_active_model(db, s->model.algorithm, s->model.scope_source,
                                s->model.scope_metric, &active);
  int activate =
      rc == ENOENT || (rc == 0 && no_worse(s->model.metrics, active.metrics));
  an_model_info_clear(&active);
  if (rc != 0 && rc != ENOENT)
    return rc;
  return activate ? an_store_activate_model(db, s->model.id) : 0;
}

static int store_success(sqlite3 *db, void *arg) {
  success_t *s = arg;
  job_run_t *r = s->r;
  int rc = an_store_put_model(db, &s->model, s->blob, s->len);
  if (rc == 0)
    rc = an_store_finish_train_job(db, r->job.id, AN_JOB_SUCCEEDED, NULL,
                                   s->model.id, s->now);
  if (rc == 0 && r->job.scheduled && r->config->auto_activate)
    rc = maybe_activate(db, s);
  return rc;
}

/* Stores the model t trained and marks the job succeeded. */
static int succeed(job_run_t *r, an_train_t *t) {
  an_jw_t w;
  void *blob = NULL;
  success_t s = {.r = r, .now = an_clock_wall()};
  an_jw_init(&w);
  an_model_metrics_write(&w, &t->metrics);
  int rc = an_model_encode(t->model, &blob, &s.len);
  s.blob = blob;
  s.model =
      (an_model_info_t){.algorithm = r->job.algorithm,
                        .scope_source = r->job.scope_source,
                        .scope_metric = r->job.scope_metric,
                        .range_start = r->job.range_start,
                        .range_end = r->job.range_end,
                        .series = (long long)an_model_series_count(t->model),
                        .skipped = (long long)t->skipped,
                        .points = (long long)t->points,
                        .created_at = s.now,
                        .metrics = an_jw_take(&w)};
  an_ids_new(s.model.id);
  snprintf(s.model.job_id, sizeof(s.model.job_id), "%s", r->job.id);
  if (rc == 0 && s.model.metrics == NULL)
    rc = ENOMEM;
  if (rc == 0)
    rc = an_store_transaction(r->db, store_success, &s);
  if (rc == 0)
    syslog(LOG_INFO,
           "training: job %s succeeded: model %s (%s v%lld), %lld series,"
           " %zu skipped, %llu values%s%s",
           r->job.id, s.model.id, r->job.algorithm, s.model.version,
           s.model.series, t->skipped, (unsigned long long)t->points,
           t->note[0] != '\0' ? "; " : "", t->note);
  free(s.model.metrics);
  free(blob);
  return rc;
}

static int fail(job_run_t *r, int status, const char *error) {
  int rc = an_store_finish_train_job(r->db, r->job.id, status, error, NULL,
                                     an_clock_wall());
  syslog(LOG_INFO, "training: job %s %s%s%s", r->job.id,
         an_job_status_name(status), error != NULL ? ": " : "",
         error != NULL ? error : "");
  return rc == EALREADY ? 0 : rc;
}

/* ---- the job ---- */

/* Trains the claimed job; its outcome is written before it returns. */
static int train(job_run_t *r, const atomic_int *stop) {
  char err[300] = "";
  double params[AN_ALGORITHM_MAX_PARAMS];
  const an_algorithm_t *a = an_algorithm_find(r->job.algorithm);
  yajl_val hp = an_json_parse(r->job.hyperparameters,
                              strlen(r->job.hyperparameters), err, sizeof(err));
  int rc = a != NULL && hp != NULL
               ? an_algorithm_params(a, hp, params, err, sizeof(err))
               : EINVAL;
  if (hp != NULL)
    yajl_tree_free(hp);
  if (rc != 0)
    return fail(r, AN_JOB_FAILED,
                a == NULL ? "the algorithm is not known to this anomalyd"
                          : err);
  /* an algorithm of pushed points only does not read RRDDir */
  if (an_history_list(r->db, a->points_only ? NULL : r->config->rrd_dir,
                      r->job.scope_source, r->job.scope_metric, &r->history,
                      err, sizeof(err)) != 0)
    return fail(r, AN_JOB_FAILED, err);
  for (size_t i = 0; i < r->history->n_errors; i++)
    syslog(LOG_WARNING, "training: job %s: skipped %s", r->job.id,
           r->history->errors[i]);
  if (r->history->n == 0) {
    snprintf(err, sizeof(err),
             "no series matches the scope (sourceId %s, metric %s)",
             r->job.scope_source ? r->job.scope_source : "any",
             r->job.scope_metric ? r->job.scope_metric : "any");
    return fail(r, AN_JOB_FAILED, err);
  }
  rc = an_store_each_labelled_anomaly(r->db, r->job.range_start,
                                      r->job.range_end, add_label, r);
  if (rc != 0)
    return fail(r, AN_JOB_FAILED,
                rc == ENOMEM ? "out of memory"
                             : "cannot read the labelled anomalies");
  an_series_source_t source = {r->history->n, series_name, series_fetch, r};
  an_train_t t = {.series = &source,
                  .start = r->job.range_start,
                  .end = r->job.range_end,
                  .params = params,
                  .threshold = r->config->threshold,
                  .labels = r->labels,
                  .nlabels = r->nlabels,
                  .progress = progress,
                  .progress_ctx = r,
                  .stop = stop};
  an_store_set_train_progress(r->db, r->job.id, 0, (long long)r->history->n, 0,
                              0);
  r->progress_at = an_clock_monotonic();
  rc = a->train(&t);
  if (rc == 0) {
    rc = succeed(r, &t);
    an_model_free(t.model);
    return rc != 0 ? fail(r, AN_JOB_FAILED, "the model could not be stored")
                   : 0;
  }
  if (rc == ECANCELED)
    return atomic_load(stop) == AN_TRAIN_SHUTDOWN
               ? fail(r, AN_JOB_FAILED, "interrupted by shutdown")
               : fail(r, AN_JOB_CANCELLED, NULL);
  return fail(r, AN_JOB_FAILED, t.err[0] ? t.err : "out of memory");
}

int an_train_job_run(sqlite3 *db, const an_config_t *config, const char *id,
                     const atomic_int *stop) {
  job_run_t r = {.db = db, .config = config};
  if (atomic_load(stop) == AN_TRAIN_SHUTDOWN)
    return 0; /* stopped before it started: still queued */
  int rc = an_store_claim_train_job(db, id, an_clock_wall());
  if (rc == 0)
    rc = an_store_get_train_job(db, id, &r.job);
  if (rc == 0)
    rc = train(&r, stop);
  an_train_job_clear(&r.job);
  an_history_free(r.history);
  for (size_t i = 0; i < r.nlabels; i++) {
    free(r.labels[i].source_id);
    free(r.labels[i].metric);
  }
  free(r.labels);
  return rc;
}
