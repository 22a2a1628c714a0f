/* algorithm.h: the training algorithms, one file each (algo_<name>.c)
 * and one line in the table in algorithm.c, and what a train function is
 * given: the series to train on, a progress callback and a stop flag.
 *
 * An algorithm declares its hyperparameters (name, type, range, default);
 * a request naming one it does not declare, or a value of the wrong type
 * or out of range, is refused before a job is queued. */
#ifndef AN_MODELS_ALGORITHM_H
#define AN_MODELS_ALGORITHM_H

#include "history/history.h"
#include "jsonw.h"
#include "models/evaluate.h"
#include "models/model.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

typedef enum an_param_type {
  AN_PARAM_INTEGER, /* a whole number */
  AN_PARAM_NUMBER,
  AN_PARAM_BOOLEAN,
} an_param_type_t;

typedef struct an_param {
  const char *name;
  an_param_type_t type;
  double min, max; /* inclusive; booleans are 0 or 1 */
  double def;      /* when the request leaves it out */
  int open;        /* 1: min and max themselves are excluded */
} an_param_t;

#define AN_ALGORITHM_MAX_PARAMS 8

/* The series a train function reads: n series, each named (type:
 * collectd's, NULL when unknown) and fetched over a range. */
typedef struct an_series_source {
  size_t n;
  void (*name)(void *ctx, size_t i, const char **source_id, const char **metric,
               const char **type);
  /* The values of series i from start to end, in time order: *points
   * malloc'd (the caller's). Returns 0, ENOMEM, or another errno for a
   * series that cannot be read (it is skipped), with err. */
  int (*fetch)(void *ctx, size_t i, double start, double end,
               an_history_point_t **points, size_t *n, char *err,
               size_t errlen);
  void *ctx;
} an_series_source_t;

/* A value a person labelled through feedback. */
typedef struct an_label {
  char *source_id, *metric;
  double t, value;
  int positive; /* confirmed 1, false_positive 0 */
} an_label_t;

/* Stop flag values: a job is stopped between series. */
#define AN_TRAIN_CANCEL 1   /* DELETE /v1/models/train/{id} */
#define AN_TRAIN_SHUTDOWN 2 /* the daemon stops */

typedef struct an_train {
  /* what to train on */
  const an_series_source_t *series;
  double start, end;
  const double *params; /* the algorithm's, in its declared order */
  /* what to evaluate with */
  double threshold;
  const an_label_t *labels; /* by source, metric and time */
  size_t nlabels;
  /* called after each series, trained or skipped */
  void (*progress)(void *ctx, size_t done, size_t total, size_t skipped);
  void *progress_ctx;
  const atomic_int *stop; /* non-zero: stop (AN_TRAIN_CANCEL, …) */
  /* results */
  an_model_t *model; /* the caller's to free, set on success */
  uint64_t points;   /* values learned */
  size_t skipped;    /* series not in the model */
  an_model_metrics_t metrics;
  char err[300];  /* why it failed */
  char note[300]; /* on success, what was skipped and why ("" if none) */
} an_train_t;

typedef struct an_algorithm {
  const char *name;
  const char *description;
  const an_param_t *params;
  size_t nparams;
  /* Returns 0 with t->model, ECANCELED when t->stop was set, ENODATA
   * when no series could be trained (t->err says why), or ENOMEM. */
  int (*train)(an_train_t *t);
  int points_only; /* 1: trains on pushed points only, not RRD files */
} an_algorithm_t;

/* The algorithm of that name, NULL when none. */
const an_algorithm_t *an_algorithm_find(const char *name);
/* The i-th algorithm, NULL past the end; for listing. */
const an_algorithm_t *an_algorithm_at(size_t i);

/* Whether t's stop flag is set: a train function stops between series. */
int an_train_stopped(const an_train_t *t);

/* How a train function ends, whatever rc it ends with: on success (0)
 * t->metrics from the two accumulators; otherwise t->model freed and
 * t->err said for ECANCELED ("stopped") and, when nothing was said,
 * ENOMEM. Frees the accumulators (either may be NULL). Returns rc. */
int an_train_finish(an_train_t *t, int rc, an_eval_acc_t *feedback,
                    an_eval_acc_t *synthetic);

/* Reads hyperparameters (a JSON object, or NULL for none) into values
 * (a's params in order, defaults for those left out). Returns 0, or
 * EINVAL with the reason, naming "hyperparameters.NAME", in err. */
int an_algorithm_params(const an_algorithm_t *a, yajl_val hyperparameters,
                        double values[AN_ALGORITHM_MAX_PARAMS], char *err,
                        size_t errlen);
/* Writes values as a JSON object of a's hyperparameters. */
void an_algorithm_write_params(an_jw_t *w, const an_algorithm_t *a,
                               const double *values);

#endif
