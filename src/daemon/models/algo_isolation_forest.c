/* algo_isolation_forest.c: "isolation_forest", one isolation forest
 * (iforest.h) per source over its metrics together, so that a combination
 * is an anomaly although each value alone is normal (cpu high while
 * requests are low). It reads the points pushed with POST /v1/data only
 * (points_only: RRD files hold no rows of a source's metrics at one
 * time).
 *
 * Per source in scope (its metrics in scope taking part): each metric's
 * points in the range, aligned into rows by timestamp (one row per
 * distinct time; a metric without a value at that time is NaN), the
 * newest MAX_VALUES values' worth of rows kept. The forest is fitted on
 * the complete rows, seeded by the source's name, so the same points
 * train the same forest. A source with fewer than 2 metrics, more than
 * AN_IFOREST_MAX_METRICS, or fewer than MIN_ROWS complete rows is
 * skipped, counted, and said why (t->note, or t->err when no source is
 * left).
 *
 * Evaluation (evaluate.h): each labelled anomaly of the source is the
 * row at its time, scored by the forest (rows of other times, such as a
 * plugin's anomaly, are not counted); and a forest fitted on the first
 * four fifths of the complete rows scores the last fifth as they are
 * (negatives) and the anomalous rows an_eval_inject_rows() makes from
 * them (positives). */
#include "models/algorithm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_ROWS 100
/* Values (rows times metrics) a source is fitted on at most, the newest
 * kept: 128 MiB of rows, more than a month of 10 s points of 8 metrics. */
#define MAX_VALUES ((size_t)1 << 24)

/* The declared order is the order of t->params. */
enum { P_CONTAMINATION, P_N_ESTIMATORS, P_MAX_SAMPLES };

static const an_param_t params[] = {
    [P_CONTAMINATION] = {"contamination", AN_PARAM_NUMBER, 0, 0.5, 0.01, 1},
    [P_N_ESTIMATORS] = {"n_estimators", AN_PARAM_INTEGER, 1,
                        AN_IFOREST_MAX_TREES, 100, 0},
    [P_MAX_SAMPLES] = {"max_samples", AN_PARAM_INTEGER, 2,
                       AN_IFOREST_MAX_SAMPLES, 256, 0},
};

/* Why sources were skipped. */
enum {
  SKIP_NO_VALUES,
  SKIP_UNREADABLE,
  SKIP_ONE_METRIC,
  SKIP_MANY_METRICS,
  SKIP_FEW_ROWS,
  NSKIPS
};

static const char *const skip_reasons[NSKIPS] = {
    [SKIP_NO_VALUES] = "without values in the range",
    [SKIP_UNREADABLE] = "unreadable",
    [SKIP_ONE_METRIC] = "with fewer than 2 metrics",
    [SKIP_MANY_METRICS] = "with more than 256 metrics",
    [SKIP_FEW_ROWS] = "with fewer than 100 complete rows",
};

/* One source's metrics aligned: rows of d values at times[i]. */
typedef struct rows {
  const char *metrics[AN_IFOREST_MAX_METRICS];
  size_t d, n;
  double *times, *values;
} rows_t;

typedef struct run {
  an_train_t *t;
  an_iforest_params_t params;
  an_eval_acc_t *feedback, *synthetic;
  size_t skipped[NSKIPS]; /* sources */
  size_t trained;         /* sources */
} run_t;

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The distinct times of the metrics' points, in order. */
static int distinct_times(an_history_point_t *const *points,
                          const size_t *npoints, size_t d, rows_t *r) {
  size_t total = 0;
  for (size_t k = 0; k < d; k++)
    total += npoints[k];
  if ((r->times = malloc(total * sizeof(double))) == NULL)
    return ENOMEM;
  for (size_t k = 0; k < d; k++)
    for (size_t i = 0; i < npoints[k]; i++)
      r->times[r->n++] = points[k][i].t;
  qsort(r->times, r->n, sizeof(double), compare_doubles);
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++)
    if (n == 0 || r->times[i] != r->times[n - 1])
      r->times[n++] = r->times[i];
  r->n = n;
  return 0;
}

/* Rows by time from each metric's points (each in time order, one per
 * time), the newest MAX_VALUES values' worth. */
static int align(an_history_point_t *const *points, const size_t *npoints,
                 rows_t *r) {
  size_t d = r->d;
  if (distinct_times(points, npoints, d, r) != 0)
    return ENOMEM;
  size_t first = r->n > MAX_VALUES / d ? r->n - MAX_VALUES / d : 0;
  r->n -= first;
  memmove(r->times, r->times + first, r->n * sizeof(double));
  if ((r->values = malloc(r->n * d * sizeof(double))) == NULL)
    return ENOMEM;
  for (size_t i = 0; i < r->n * d; i++)
    r->values[i] = NAN;
  for (size_t k = 0; k < d; k++) {
    size_t row = 0;
    for (size_t i = 0; i < npoints[k]; i++) {
      if (points[k][i].t < r->times[0])
        continue;
      while (r->times[row] < points[k][i].t)
        row++;
      r->values[row * d + k] = points[k][i].value;
    }
  }
  return 0;
}

/* Fetches the metrics [from, to) of one source and aligns them into r;
 * a metric without values in the range takes no part. Returns 0, ENOMEM
 * or EIO (a metric could not be read). */
static int read_rows(an_train_t *t, size_t from, size_t to, rows_t *r) {
  an_history_point_t *points[AN_IFOREST_MAX_METRICS];
  size_t npoints[AN_IFOREST_MAX_METRICS];
  char err[300];
  int rc = 0;
  r->d = 0;
  for (size_t i = from; rc == 0 && i < to; i++) {
    const char *source, *metric, *type;
    an_history_point_t *p;
    size_t n;
    t->series->name(t->series->ctx, i, &source, &metric, &type);
    rc = t->series->fetch(t->series->ctx, i, t->start, t->end, &p, &n, err,
                          sizeof(err));
    if (rc == 0 && n == 0)
      free(p);
    else if (rc == 0) {
      r->metrics[r->d] = metric;
      points[r->d] = p;
      npoints[r->d++] = n;
    }
  }
  if (rc != 0 && rc != ENOMEM)
    rc = EIO;
  if (rc == 0 && r->d >= 2)
    rc = align(points, npoints, r);
  for (size_t k = 0; k < r->d; k++)
    free(points[k]);
  return rc;
}

/* The complete rows of r, in time order, into a new array. */
static double *complete_rows(const rows_t *r, size_t *n) {
  double *out = malloc((r->n > 0 ? r->n : 1) * r->d * sizeof(double));
  *n = 0;
  for (size_t i = 0; out != NULL && i < r->n; i++) {
    const double *row = r->values + i * r->d;
    size_t k = 0;
    while (k < r->d && isfinite(row[k]))
      k++;
    if (k == r->d)
      memcpy(out + (*n)++ * r->d, row, r->d * sizeof(double));
  }
  return out;
}

/* The first label of source (labels are by source, metric, time). */
static const an_label_t *first_label(const an_train_t *t, const char *source) {
  size_t lo = 0, hi = t->nlabels;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(t->labels[mid].source_id, source) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return t->labels + lo;
}

/* Scores the row at each labelled anomaly's time of the source. */
static void score_labels(run_t *r, const char *source, const rows_t *rows,
                         const an_iforest_t *forest) {
  const an_label_t *l = first_label(r->t, source);
  const an_label_t *end = r->t->labels + r->t->nlabels;
  for (; l < end && strcmp(l->source_id, source) == 0; l++) {
    const double *at = rows->n > 0 ? bsearch(&l->t, rows->times, rows->n,
                                             sizeof(double), compare_doubles)
                                   : NULL;
    if (at != NULL)
      an_eval_acc_add(
          r->feedback,
          an_iforest_score(forest,
                           rows->values + (size_t)(at - rows->times) * rows->d,
                           NULL),
          l->positive);
  }
}

/* A forest fitted on the first four fifths of the n complete rows
 * scores the last fifth (negatives) and anomalies made from it
 * (positives). */
static int score_held_back(run_t *r, const double *rows, size_t n, size_t d,
                           uint64_t seed) {
  size_t held = an_eval_held_back(n), learned = n - held;
  an_iforest_params_t p = r->params;
  an_iforest_t *forest;
  if (held == 0)
    return 0;
  const double *back = rows + learned * d;
  double *made = malloc((held / 10 + 1) * d * sizeof(double));
  int rc = made != NULL ? an_iforest_fit(rows, learned, d, &p, &forest, NULL, 0)
                        : ENOMEM;
  if (rc != 0) {
    free(made);
    return rc == ENOMEM ? ENOMEM : 0; /* too few rows for a forest */
  }
  for (size_t i = 0; i < held; i++)
    an_eval_acc_add(r->synthetic, an_iforest_score(forest, back + i * d, NULL),
                    0);
  size_t k = an_eval_inject_rows(back, held, rows, learned, d, made, ~seed);
  for (size_t i = 0; i < k; i++)
    an_eval_acc_add(r->synthetic, an_iforest_score(forest, made + i * d, NULL),
                    1);
  r->t->metrics.synthetic_series += d;
  an_iforest_destroy(forest);
  free(made);
  return 0;
}

/* Fits the source's forest on its rows and evaluates it; *skip is set
 * when it has too few complete rows. */
static int train_source(run_t *r, const char *source, const rows_t *rows,
                        int *skip) {
  an_train_t *t = r->t;
  size_t n, d = rows->d;
  an_iforest_t *forest;
  char err[200];
  double *complete = complete_rows(rows, &n);
  if (complete == NULL)
    return ENOMEM;
  if (n < MIN_ROWS) {
    *skip = SKIP_FEW_ROWS;
    free(complete);
    return 0;
  }
  uint64_t seed = an_eval_seed(source, NULL);
  r->params.seed = seed;
  int rc =
      an_iforest_fit(complete, n, d, &r->params, &forest, err, sizeof(err));
  if (rc == EINVAL) /* the parameters were checked: not expected */
    snprintf(t->err, sizeof(t->err), "%s: %s", source, err);
  if (rc == 0 && (rc = score_held_back(r, complete, n, d, seed)) != 0)
    an_iforest_destroy(forest);
  free(complete);
  if (rc != 0)
    return rc;
  score_labels(r, source, rows, forest);
  rc = an_model_add_forest(t->model, source, rows->metrics, d, n, forest);
  if (rc == 0) {
    t->points += n * d;
    r->trained++;
  }
  return rc;
}

/* The source of series [from, to): trained, or counted as skipped. */
static int one_source(run_t *r, size_t from, size_t to, int *skip) {
  an_train_t *t = r->t;
  const char *source, *metric, *type;
  rows_t rows = {0};
  t->series->name(t->series->ctx, from, &source, &metric, &type);
  *skip = -1;
  if (to - from < 2) {
    *skip = SKIP_ONE_METRIC;
    return 0;
  }
  if (to - from > AN_IFOREST_MAX_METRICS) {
    *skip = SKIP_MANY_METRICS;
    return 0;
  }
  int rc = read_rows(t, from, to, &rows);
  if (rc == EIO) {
    *skip = SKIP_UNREADABLE;
    rc = 0;
  } else if (rc == 0 && rows.d < 2) {
    *skip = rows.d == 0 ? SKIP_NO_VALUES : SKIP_ONE_METRIC;
  } else if (rc == 0) {
    rc = train_source(r, source, &rows, skip);
  }
  free(rows.times);
  free(rows.values);
  return rc;
}

/* "3 sources skipped: 2 with fewer than 2 metrics, 1 unreadable". */
static void say_skipped(const run_t *r, const char *lead, char *buf,
                        size_t len) {
  size_t total = 0, n;
  for (int i = 0; i < NSKIPS; i++)
    total += r->skipped[i];
  buf[0] = '\0';
  if (total == 0)
    return;
  n = (size_t)snprintf(buf, len, "%s%zu source%s skipped:", lead, total,
                       total == 1 ? "" : "s");
  const char *sep = " ";
  for (int i = 0; i < NSKIPS && n < len; i++)
    if (r->skipped[i] > 0) {
      n += (size_t)snprintf(buf + n, len - n, "%s%zu %s", sep, r->skipped[i],
                            skip_reasons[i]);
      sep = ", ";
    }
}

/* The series [i, end) of the source of series i. */
static size_t source_end(const an_train_t *t, size_t i) {
  const char *first, *source, *metric, *type;
  t->series->name(t->series->ctx, i, &first, &metric, &type);
  size_t end = i + 1;
  for (; end < t->series->n; end++) {
    t->series->name(t->series->ctx, end, &source, &metric, &type);
    if (strcmp(source, first) != 0)
      break;
  }
  return end;
}

static int train(an_train_t *t) {
  run_t r = {.t = t};
  size_t n = t->series->n, done = 0, skipped = 0;
  int rc = ENOMEM;
  r.params =
      (an_iforest_params_t){.contamination = t->params[P_CONTAMINATION],
                            .n_estimators = (uint32_t)t->params[P_N_ESTIMATORS],
                            .max_samples = (uint32_t)t->params[P_MAX_SAMPLES]};
  t->model = an_model_new_forests();
  r.feedback = an_eval_acc_new(t->threshold);
  r.synthetic = an_eval_acc_new(t->threshold);
  t->metrics = (an_model_metrics_t){.threshold = t->threshold};
  if (t->model != NULL && r.feedback != NULL && r.synthetic != NULL)
    rc = 0;
  /* series come by source, then metric: a source's are consecutive */
  for (size_t i = 0; rc == 0 && i < n;) {
    size_t end = source_end(t, i);
    int skip;
    if (an_train_stopped(t)) {
      rc = ECANCELED;
      break;
    }
    rc = one_source(&r, i, end, &skip);
    if (rc == 0 && skip >= 0) {
      r.skipped[skip]++;
      skipped += end - i;
    }
    done += end - i;
    i = end;
    t->skipped = skipped;
    if (rc == 0 && t->progress != NULL)
      t->progress(t->progress_ctx, done, n, skipped);
  }
  if (rc == 0 && r.trained == 0) {
    say_skipped(&r, "no source in scope could be trained: ", t->err,
                sizeof(t->err));
    rc = ENODATA;
  }
  if (rc == 0)
    say_skipped(&r, "", t->note, sizeof(t->note));
  return an_train_finish(t, rc, r.feedback, r.synthetic);
}

const an_algorithm_t an_algo_isolation_forest = {
    .name = "isolation_forest",
    .description = "an isolation forest per source over its pushed metrics "
                   "together: combinations unusual although each value "
                   "is normal",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .points_only = 1,
    .train = train,
};
