/* evaluate.h: how well a model finds anomalies, said honestly.
 *
 * Two label sources: feedback (anomalies a person marked confirmed, the
 * positives, or false_positive, the negatives) and synthetic anomalies
 * (spikes, dips and level shifts of several spreads injected, with a
 * fixed seed, into a copy of the held-back end of each series). A value
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

/* Writes m as the JSON the models table keeps. */
void an_model_metrics_write(an_jw_t *w, const an_model_metrics_t *m);
/* Reads what an_model_metrics_write() wrote. Returns 0 or EINVAL. */
int an_model_metrics_read(const char *json, an_model_metrics_t *m);

#endif
