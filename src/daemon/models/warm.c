/* warm.c: the default detector warmed up on each series' history, and
 * evaluated on the way (warm.h). */
#include "models/warm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A stop is also looked for every this many values of a long series. */
#define STOP_EVERY 65536

typedef struct run {
  an_train_t *t;
  const an_detector_class_t *cls;
  void *state, *probe, *eval; /* the series', a label's, the held back's */
  an_eval_acc_t *feedback, *synthetic;
  double *held; /* the held-back values with anomalies injected */
  unsigned char *injected;
  size_t held_cap;
  size_t trained, no_data, too_short, unreadable;
} run_t;

static int compare_series(const char *s1, const char *m1, const char *s2,
                          const char *m2) {
  int c = strcmp(s1, s2);
  return c != 0 ? c : strcmp(m1, m2);
}

/* The first label of the series (labels are by source, metric, time). */
static const an_label_t *first_label(const an_train_t *t, const char *source,
                                     const char *metric) {
  size_t lo = 0, hi = t->nlabels;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const an_label_t *l = &t->labels[mid];
    if (compare_series(l->source_id, l->metric, source, metric) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return t->labels + lo;
}

/* Scores, on a copy of the state as it is, each of the series' labels
 * up to time before; *next is the next label not yet scored. */
static void score_labels(run_t *r, const an_label_t **next,
                         const an_label_t *end, const char *source,
                         const char *metric, double before) {
  while (*next < end && (*next)->t <= before &&
         compare_series((*next)->source_id, (*next)->metric, source, metric) ==
             0) {
    an_result_t res;
    memcpy(r->probe, r->state, r->cls->state_size);
    r->cls->update(r->probe, (*next)->t, (*next)->value, &res);
    an_eval_acc_add(r->feedback, res.score, (*next)->positive);
    (*next)++;
  }
}

/* Learns values [from, to) of p, scoring the labels met on the way. */
static int replay(run_t *r, const an_history_point_t *p, size_t from, size_t to,
                  const char *source, const char *metric,
                  const an_label_t **next, an_result_t *last) {
  const an_label_t *end = r->t->labels + r->t->nlabels;
  for (size_t i = from; i < to; i++) {
    if ((i - from) % STOP_EVERY == STOP_EVERY - 1 && an_train_stopped(r->t))
      return ECANCELED;
    score_labels(r, next, end, source, metric, p[i].t);
    r->cls->update(r->state, p[i].t, p[i].value, last);
  }
  return 0;
}

/* The spread anomalies are injected in: the detector's normal spread,
 * else the values' standard deviation, else a little of their size. */
static double spread_of(const an_result_t *last, const an_history_point_t *p,
                        size_t n) {
  if (last->spread > 0 && isfinite(last->spread))
    return last->spread;
  double sum = 0, sum2 = 0;
  for (size_t i = 0; i < n; i++) {
    sum += p[i].value;
    sum2 += p[i].value * p[i].value;
  }
  double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
  if (var > 0 && isfinite(var))
    return sqrt(var);
  return fmax(fabs(mean) * 0.05, 1e-3);
}

/* Scores values [from, n) of p with anomalies injected, on a copy of
 * the state the first values left. */
static int score_held_back(run_t *r, const an_history_point_t *p, size_t from,
                           size_t n, double spread, uint64_t seed) {
  size_t k = n - from;
  if (k > r->held_cap) {
    double *held = realloc(r->held, k * sizeof(*held));
    if (held == NULL)
      return ENOMEM;
    r->held = held;
    unsigned char *injected = realloc(r->injected, k);
    if (injected == NULL)
      return ENOMEM;
    r->injected = injected;
    r->held_cap = k;
  }
  for (size_t i = 0; i < k; i++)
    r->held[i] = p[from + i].value;
  an_eval_inject(r->held, r->injected, k, spread, seed);
  memcpy(r->eval, r->state, r->cls->state_size);
  for (size_t i = 0; i < k; i++) {
    an_result_t res;
    if (i % STOP_EVERY == STOP_EVERY - 1 && an_train_stopped(r->t))
      return ECANCELED;
    r->cls->update(r->eval, p[from + i].t, r->held[i], &res);
    an_eval_acc_add(r->synthetic, res.score, r->injected[i]);
  }
  return 0;
}

/* One series of values p (n > 0) into the model. */
static int train_series(run_t *r, const char *source, const char *metric,
                        const char *type, const an_history_point_t *p,
                        size_t n) {
  an_hint_t hint;
  an_result_t last = {0};
  an_hint_of_type(type, &hint);
  r->cls->init(r->state, &hint);
  const an_label_t *next = first_label(r->t, source, metric);
  size_t learned = n - an_eval_held_back(n);
  int rc = replay(r, p, 0, learned, source, metric, &next, &last);
  if (rc == 0 && learned < n) {
    rc = score_held_back(r, p, learned, n, spread_of(&last, p, learned),
                         an_eval_seed(source, metric));
    r->t->metrics.synthetic_series++;
  }
  if (rc == 0)
    rc = replay(r, p, learned, n, source, metric, &next, &last);
  if (rc != 0)
    return rc;
  /* labels after the last value, up to the range's end */
  score_labels(r, &next, r->t->labels + r->t->nlabels, source, metric,
               r->t->end);
  rc = an_model_add(r->t->model, source, metric, p[n - 1].t, n, r->state);
  if (rc == 0) {
    r->t->points += n;
    r->trained++;
  }
  return rc;
}

/* Whether values p (n > 0) span min_span seconds, the interval of one
 * value included. */
static int long_enough(const an_history_point_t *p, size_t n, double min_span) {
  double span = p[n - 1].t - p[0].t;
  if (n > 1)
    span += span / (double)(n - 1);
  return span >= min_span;
}

/* One series of the source: trained, or counted as skipped. */
static int one_series(run_t *r, size_t i, double min_span) {
  an_train_t *t = r->t;
  const char *source, *metric, *type;
  an_history_point_t *p = NULL;
  size_t n = 0;
  char err[300];
  t->series->name(t->series->ctx, i, &source, &metric, &type);
  int rc = t->series->fetch(t->series->ctx, i, t->start, t->end, &p, &n, err,
                            sizeof(err));
  if (rc == ENOMEM) {
    snprintf(t->err, sizeof(t->err), "out of memory");
  } else if (rc != 0) {
    r->unreadable++;
    rc = 0;
  } else if (n == 0) {
    r->no_data++;
  } else if (!long_enough(p, n, min_span)) {
    r->too_short++;
  } else {
    rc = train_series(r, source, metric, type, p, n);
  }
  free(p);
  return rc;
}

/* Why nothing was trained. */
static void say_why(run_t *r, double min_span) {
  an_train_t *t = r->t;
  if (r->too_short > 0)
    snprintf(t->err, sizeof(t->err),
             "no series in scope has %g days of history in the range (%zu "
             "too short, %zu without values, %zu unreadable)",
             min_span / 86400, r->too_short, r->no_data, r->unreadable);
  else if (r->unreadable > 0)
    snprintf(t->err, sizeof(t->err),
             "no series in scope could be read (%zu unreadable, %zu without "
             "values in the range)",
             r->unreadable, r->no_data);
  else
    snprintf(t->err, sizeof(t->err),
             "none of the %zu series in scope has values in the range",
             r->no_data);
}

int an_warm_train(an_train_t *t, double min_span) {
  run_t r = {.t = t, .cls = &an_detect_default};
  size_t size = r.cls->state_size;
  int rc = ENOMEM;
  t->model = an_model_new(r.cls);
  r.state = malloc(size);
  r.probe = malloc(size);
  r.eval = malloc(size);
  r.feedback = an_eval_acc_new(t->threshold);
  r.synthetic = an_eval_acc_new(t->threshold);
  t->metrics = (an_model_metrics_t){.threshold = t->threshold};
  if (t->model != NULL && r.state != NULL && r.probe != NULL &&
      r.eval != NULL && r.feedback != NULL && r.synthetic != NULL)
    rc = 0;
  size_t n = t->series->n;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    if (an_train_stopped(t)) {
      rc = ECANCELED;
      break;
    }
    rc = one_series(&r, i, min_span);
    t->skipped = i + 1 - r.trained;
    if (rc == 0 && t->progress != NULL)
      t->progress(t->progress_ctx, i + 1, n, t->skipped);
  }
  if (rc == 0 && r.trained == 0) {
    say_why(&r, min_span);
    rc = ENODATA;
  }
  free(r.state);
  free(r.probe);
  free(r.eval);
  free(r.held);
  free(r.injected);
  return an_train_finish(t, rc, r.feedback, r.synthetic);
}
