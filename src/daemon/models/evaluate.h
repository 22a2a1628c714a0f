/* evaluate.h: how well a model finds anomalies, said honestly.
 *
 * Two label sources: feedback (anomalies a person marked confirmed, the
 * positives, or false_positive, the negatives) and synthetic anomalies
 * injected with a fixed seed into a copy of the held-back end of the
 * history: spikes, dips and level shifts of several spreads into each
 * series, or, for a forest over a source's metrics, rows whose metrics
 * no longer go together or leave their range. A value
 * is predicted anomalous when it scores at least the threshold. What
 * cannot be computed (no positives, nothing predicted) is NaN, written
 * as null: never a made-up number. */
#ifndef AN_MODELS_EVALUATE_H
#define AN_MODELS_EVALUATE_H

#include "jsonw.h"

#include <stddef.h>
#include <stdint.h>

typedef struct an_eval {
  double precision, recall, f1, auc; /* NaN: not computable */
  uint64_t positives, negatives;     /* labelled values counted */
} an_eval_t;

typedef struct an_model_metrics {
  double threshold; /* a score at or above it is predicted anomalous */
  an_eval_t feedback, synthetic;
  uint64_t synthetic_series; /* series long enough to hold some back */
} an_model_metrics_t;

/* Scores and their labels, gathered one at a time: counts at the
 * threshold, and each label's scores in bins of 1e-4 for the AUC. */
typedef struct an_eval_acc an_eval_acc_t;

/* NULL when out of memory. */
an_eval_acc_t *an_eval_acc_new(double threshold);
/* Accepts NULL. */
void an_eval_acc_free(an_eval_acc_t *a);
void an_eval_acc_add(an_eval_acc_t *a, double score, int positive);
/* precision, recall, f1 (2TP / (2TP + FP + FN)) at the threshold, and
 * the AUC by ranks (the chance a positive outscores a negative, a tie
 * counting half; scores within 1e-4 tie). */
void an_eval_acc_result(const an_eval_acc_t *a, an_eval_t *out);

/* How many of the last values of a series of n are held back from
 * training to be scored with anomalies injected: a fifth, or none for a
 * series under 100 values. */
size_t an_eval_held_back(size_t n);

/* Injects anomalies into v (n values, a copy of the held-back values):
 * from the 10th value on, one every 40 to 80 values, a spike, a dip or a
 * level shift of 5 values, each of 6 to 10 times spread; labels[i] is 1
 * where a value was changed, 0 elsewhere. The same seed injects the
 * same. */
void an_eval_inject(double *v, unsigned char *labels, size_t n, double spread,
                    uint64_t seed);

/* A seed from a series' names: FNV-1a of "source/metric", or of source
 * alone when metric is NULL. The same series is trained and evaluated
 * the same on every machine. */
uint64_t an_eval_seed(const char *source, const char *metric);

/* Anomalies made from n held-back rows of d metrics (d at most
 * AN_IFOREST_MAX_METRICS, n and ntrain at least 1; held), for a model
 * fitted on ntrain earlier rows (train): k = max(1, n / 10) rows written
 * to out (k * d values), each a copy of a held-back row drawn at random
 * with one metric, drawn at random, changed; alternately
 * - to that metric's value in a training row where it is at least a
 *   quarter of its training range away (of 32 rows drawn, the first so
 *   far, else the farthest): every value stays inside its own range, only
 *   the relation between the metrics breaks;
 * - out of the metric's training range, above or below, by 10 % to 50 %
 *   of the range (of its size, or 1, for a constant metric).
 * Returns k. The same seed makes the same rows. */
size_t an_eval_inject_rows(const double *held, size_t n, const double *train,
                           size_t ntrain, size_t d, double *out, uint64_t seed);

/* Writes m as the JSON the models table keeps. */
void an_model_metrics_write(an_jw_t *w, const an_model_metrics_t *m);
/* Reads what an_model_metrics_write() wrote. Returns 0 or EINVAL. */
int an_model_metrics_read(const char *json, an_model_metrics_t *m);

#endif
