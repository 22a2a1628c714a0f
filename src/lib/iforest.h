/* iforest.h: a multivariate isolation forest (Liu, Ting and Zhou, 2008),
 * fitted on the metrics of one source together, so that a combination is
 * an anomaly although each value alone is normal (cpu high while requests
 * are low).
 *
 * Fitting: each tree takes max_samples (psi) rows drawn without
 * replacement and splits them, to a depth of ceil(log2 psi), on a random
 * metric at a random value between the sub-sample's minimum and maximum of
 * it (a metric constant in a node is not drawn there). A row's path length
 * is its depth plus c(size) at the leaf, c(n) being the mean path of an
 * unsuccessful search in a binary search tree of n keys; its raw score is
 * 2^(-E[h] / c(psi)), as in the paper. Only the range of each metric
 * matters, never its scale.
 *
 * Missing values: a row with a NaN or infinite value is skipped by the fit
 * (counted in info.skipped). When scoring, a NaN takes the training median
 * of its metric; an infinite value is scored as the extreme it is. A
 * metric that was constant in training splits nothing; a row whose value
 * of it differs is isolated at the root of every tree (raw score 1).
 *
 * Calibration: the raw score is not a probability. After the fit every
 * training row is scored by the whole forest, as a new row is, and the
 * raw score q at their 1 - contamination quantile is the alarm: it maps
 * to the product's threshold score 0.7 (an_severity_default_bands.medium),
 * of p-value p0 = an_p_from_score(0.7). Below q, the training tail
 * fraction t of a raw score (interpolated in a table of 33 quantiles) is
 * raised to the power that puts contamination at p0: p = t^(log p0 / log
 * contamination), so a typical row scores 0. Above q the tail is
 * exponential, fitted to the mean excess beta of the top training scores:
 * p = p0 * exp(-(r - q) / beta) for raw score r, so a row 400 times rarer
 * than the alarm is "high" (0.85), as for every detector. The score is
 * an_score_from_p(p) (score.h). docs/iforest.md has the figures.
 *
 * Explanation: along a row's path in each tree, a split that takes it
 * from a node of n training rows to a child of m removed log2(n/m) bits
 * of the log2(psi) needed to isolate it; a typical split removes
 * b = log2(psi) / c(psi) bits, so the split saved log2(n/m) / b - 1
 * levels of path. The levels a metric's splits saved, summed over the
 * trees, are its contribution; metrics that saved none are left out. The
 * savings add up to about how much shorter the row's paths were than a
 * typical row's.
 *
 * Memory: one allocation per forest; a node is 16 bytes, a tree is its
 * nodes and 4 bytes: at most 2 psi - 1 nodes, 80 to 200 for psi = 256 on
 * the data of the tests and the bench (1.3 to 3.2 KB a tree).
 * Scoring and explaining are reentrant: a fitted or loaded forest is read
 * only, and may be shared between threads. */
#ifndef AN_IFOREST_H
#define AN_IFOREST_H

#include <stddef.h>
#include <stdint.h>

#define AN_IFOREST_MAX_METRICS 256
#define AN_IFOREST_MAX_TREES 1000
#define AN_IFOREST_MAX_SAMPLES 65536

typedef struct an_iforest an_iforest_t;

/* The hyperparameters, named as in the API's training request. */
typedef struct an_iforest_params {
  uint32_t n_estimators; /* trees, 1..1000 */
  uint32_t max_samples;  /* rows per tree (psi), 2..65536, capped at the
                            complete rows */
  double contamination;  /* share of anomalies in the training rows, in
                            (0, 0.5): where the alarm threshold sits */
  uint64_t seed;         /* the same rows and seed give the same forest */
} an_iforest_params_t;

/* 100 trees, 256 samples, contamination 0.01, seed 0. */
extern const an_iforest_params_t an_iforest_default_params;

typedef struct an_iforest_info {
  size_t metrics;       /* d: values per row */
  size_t trees;         /* n_estimators */
  size_t samples;       /* psi as used: max_samples capped at rows */
  size_t rows;          /* complete rows trained on */
  size_t skipped;       /* rows skipped for a missing value */
  size_t nodes;         /* in all trees */
  size_t bytes;         /* the forest's one allocation */
  double contamination; /* as fitted */
  double alarm_raw;     /* the raw score that maps to 0.7 */
} an_iforest_info_t;

/* One metric's share in an explanation. */
typedef struct an_iforest_contribution {
  size_t metric; /* index in the row */
  double weight; /* share of the levels saved, in (0, 1] */
} an_iforest_contribution_t;

/* Fits a forest on n rows of d metrics (rows[i * d + j] is metric j of row
 * i). Returns 0 and the forest in *out, which the caller frees with
 * an_iforest_destroy(); EINVAL with a reason in err (which may be NULL)
 * naming the parameter or the data at fault ("contamination must be in
 * (0, 0.5)", "2 complete rows are needed, 1 given"); ENOMEM. *out is only
 * written on success. */
int an_iforest_fit(const double *rows, size_t n, size_t d,
                   const an_iforest_params_t *params, an_iforest_t **out,
                   char *err, size_t errlen);

/* Frees a forest; NULL is ignored. */
void an_iforest_destroy(an_iforest_t *forest);

/* Fills *info about forest. */
void an_iforest_info(const an_iforest_t *forest, an_iforest_info_t *info);

/* The raw score 2^(-E[h] / c(psi)) of row (info.metrics values), in
 * (0, 1]; about 0.5 and below is ordinary. */
double an_iforest_raw_score(const an_iforest_t *forest, const double *row);

/* The calibrated score of row, in [0, 1] (0.7 at the alarm), and in
 * *p_value (which may be NULL) the p-value it is an_score_from_p() of. */
double an_iforest_score(const an_iforest_t *forest, const double *row,
                        double *p_value);

/* Writes to out up to k metrics that contributed most to row's isolation,
 * the largest weight first. Returns how many were written (0 when no
 * metric shortened its paths). */
size_t an_iforest_explain(const an_iforest_t *forest, const double *row,
                          an_iforest_contribution_t *out, size_t k);

/* Bytes an_iforest_save() writes for forest. */
size_t an_iforest_saved_size(const an_iforest_t *forest);

/* Writes forest into buf in the versioned, little-endian format described
 * in iforest.c. Returns the bytes written, 0 if len is too small. */
size_t an_iforest_save(const an_iforest_t *forest, void *buf, size_t len);

/* Reads a forest saved by an_iforest_save() from the len bytes at buf.
 * Returns 0 and the forest in *out (the caller destroys it), EINVAL when
 * the bytes are not a whole valid forest of this format version (any
 * byte string is safe to pass), ENOMEM. A forest saved and loaded scores
 * every row exactly as the original. */
int an_iforest_load(const void *buf, size_t len, an_iforest_t **out);

#endif
