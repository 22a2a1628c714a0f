/* evaluate.c: precision, recall, f1 and AUC of a model (evaluate.h). */
#include "models/evaluate.h"
#include "iforest.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BINS 10001 /* scores 0, 1e-4, …, 1 */
#define SHIFT_LEN 5

struct an_eval_acc {
  double threshold;
  uint64_t tp, fp, positives, negatives;
  uint64_t pos[BINS], neg[BINS];
};

an_eval_acc_t *an_eval_acc_new(double threshold) {
  an_eval_acc_t *a = calloc(1, sizeof(*a));
  if (a != NULL)
    a->threshold = threshold;
  return a;
}

void an_eval_acc_free(an_eval_acc_t *a) { free(a); }

void an_eval_acc_add(an_eval_acc_t *a, double score, int positive) {
  if (!isfinite(score))
    score = 0;
  int predicted = score >= a->threshold;
  long bin = lround(fmin(fmax(score, 0), 1) * (BINS - 1));
  if (positive) {
    a->positives++;
    a->tp += predicted;
    a->pos[bin]++;
  } else {
    a->negatives++;
    a->fp += predicted;
    a->neg[bin]++;
  }
}

void an_eval_acc_result(const an_eval_acc_t *a, an_eval_t *out) {
  double tp = (double)a->tp, fp = (double)a->fp;
  double fn = (double)(a->positives - a->tp);
  out->positives = a->positives;
  out->negatives = a->negatives;
  out->precision = tp + fp > 0 ? tp / (tp + fp) : NAN;
  out->recall = a->positives > 0 ? tp / (double)a->positives : NAN;
  out->f1 = 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : NAN;
  out->auc = NAN;
  if (a->positives > 0 && a->negatives > 0) {
    double wins = 0, below = 0;
    for (int b = 0; b < BINS; b++) {
      wins += (double)a->pos[b] * (below + 0.5 * (double)a->neg[b]);
      below += (double)a->neg[b];
    }
    out->auc = wins / ((double)a->positives * (double)a->negatives);
  }
}

size_t an_eval_held_back(size_t n) { return n >= 100 ? n / 5 : 0; }

/* splitmix64: the same injections on every machine */
static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s) {
  return (double)(next(s) >> 11) / 9007199254740992.0;
}

void an_eval_inject(double *v, unsigned char *labels, size_t n, double spread,
                    uint64_t seed) {
  memset(labels, 0, n);
  size_t i = 10 + next(&seed) % 10;
  while (i + SHIFT_LEN < n) {
    double size = (6 + 4 * uniform(&seed)) * spread;
    switch (next(&seed) % 3) {
    case 0: /* spike */
      v[i] += size;
      labels[i] = 1;
      break;
    case 1: /* dip */
      v[i] -= size;
      labels[i] = 1;
      break;
    default: /* level shift */
      for (size_t k = 0; k < SHIFT_LEN; k++) {
        v[i + k] += size;
        labels[i + k] = 1;
      }
      break;
    }
    i += 40 + next(&seed) % 41; /* past the incident it opened */
  }
}

uint64_t an_eval_seed(const char *source, const char *metric) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const char *s = source; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  if (metric == NULL)
    return h;
  h = (h ^ '/') * 1099511628211ull;
  for (const char *s = metric; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

#define DONOR_DRAWS 32

/* A training value of metric j at least a quarter of range from x. */
static double donor_value(const double *train, size_t ntrain, size_t d,
                          size_t j, double x, double range, uint64_t *seed) {
  double best = x;
  for (int k = 0; k < DONOR_DRAWS; k++) {
    double v = train[(next(seed) % ntrain) * d + j];
    if (fabs(v - x) > fabs(best - x))
      best = v;
    if (fabs(v - x) >= range / 4)
      return v;
  }
  return best;
}

size_t an_eval_inject_rows(const double *held, size_t n, const double *train,
                           size_t ntrain, size_t d, double *out,
                           uint64_t seed) {
  double lo[AN_IFOREST_MAX_METRICS], hi[AN_IFOREST_MAX_METRICS];
  size_t k = n / 10 > 0 ? n / 10 : 1;
  for (size_t j = 0; j < d; j++) {
    lo[j] = INFINITY;
    hi[j] = -INFINITY;
    for (size_t r = 0; r < ntrain; r++) {
      lo[j] = fmin(lo[j], train[r * d + j]);
      hi[j] = fmax(hi[j], train[r * d + j]);
    }
  }
  for (size_t i = 0; i < k; i++) {
    double *row = out + i * d;
    size_t j = next(&seed) % d;
    memcpy(row, held + (next(&seed) % n) * d, d * sizeof(*row));
    double range = hi[j] - lo[j];
    if (i % 2 == 0 && range > 0) {
      row[j] = donor_value(train, ntrain, d, j, row[j], range, &seed);
    } else {
      double size = (0.1 + 0.4 * uniform(&seed)) *
                    (range > 0 ? range : fmax(fabs(lo[j]), 1));
      row[j] = next(&seed) % 2 ? hi[j] + size : lo[j] - size;
    }
  }
  return k;
}

static void write_eval(an_jw_t *w, const char *key, const an_eval_t *e) {
  an_jw_key(w, key);
  an_jw_map_open(w);
  an_jw_num(w, "precision", e->precision);
  an_jw_num(w, "recall", e->recall);
  an_jw_num(w, "f1", e->f1);
  an_jw_num(w, "auc", e->auc);
  an_jw_int(w, "positives", (long long)e->positives);
  an_jw_int(w, "negatives", (long long)e->negatives);
  an_jw_map_close(w);
}

void an_model_metrics_write(an_jw_t *w, const an_model_metrics_t *m) {
  an_jw_map_open(w);
  an_jw_num(w, "threshold", m->threshold);
  write_eval(w, "feedback", &m->feedback);
  write_eval(w, "synthetic", &m->synthetic);
  an_jw_int(w, "syntheticSeries", (long long)m->synthetic_series);
  an_jw_map_close(w);
}

/* A number member, NaN when null or absent. */
static double number(yajl_val o, const char *key) {
  double d;
  return an_json_number(an_json_get(o, key), &d) == 0 ? d : NAN;
}

static uint64_t count(yajl_val o, const char *key) {
  double d = number(o, key);
  return d >= 0 ? (uint64_t)d : 0;
}

static void read_eval(yajl_val o, an_eval_t *e) {
  e->precision = number(o, "precision");
  e->recall = number(o, "recall");
  e->f1 = number(o, "f1");
  e->auc = number(o, "auc");
  e->positives = count(o, "positives");
  e->negatives = count(o, "negatives");
}

int an_model_metrics_read(const char *json, an_model_metrics_t *m) {
  char err[128];
  yajl_val v =
      json != NULL ? an_json_parse(json, strlen(json), err, sizeof(err)) : NULL;
  if (v == NULL || !YAJL_IS_OBJECT(v)) {
    if (v != NULL)
      yajl_tree_free(v);
    return EINVAL;
  }
  m->threshold = number(v, "threshold");
  read_eval(an_json_get(v, "feedback"), &m->feedback);
  read_eval(an_json_get(v, "synthetic"), &m->synthetic);
  m->synthetic_series = count(v, "syntheticSeries");
  yajl_tree_free(v);
  return 0;
}
