#include "iforest.h"
#include "grow.h"
#include "score.h"
#include "severity.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUANTILES 32  /* steps of the calibration table below the alarm */
#define GRAIN 0x1p-20 /* leaf path lengths are multiples of this */
#define MAX_PATH 64.0 /* and below this: more than a leaf can stand for */
#define MIN_TAIL 10   /* training scores the exponential tail is fitted to */
#define MAX_HEIGHT 16 /* ceil(log2 AN_IFOREST_MAX_SAMPLES) */

const an_iforest_params_t an_iforest_default_params = {
    .n_estimators = 100, .max_samples = 256, .contamination = 0.01, .seed = 0};

/* A tree is a run of nodes in pre-order: a split's left child is the next
 * node and its right child comes later, so a walk only moves forward and
 * load can prove that every walk ends. A leaf splits on metric d, whose
 * value is +infinity in every row being scored, and its right child is
 * itself: a step from a leaf stays there, so trees are walked without
 * asking whether a node is a leaf. */
typedef struct node {
  double value;     /* split: x < value goes left; leaf: the path length,
                       depth + c(size), in GRAINs */
  uint16_t feature; /* the metric split on; d for a leaf */
  uint16_t size1;   /* training rows in the node, minus one */
  uint32_t right;   /* the index of the right child; a leaf's own */
} node_t;

_Static_assert(sizeof(node_t) == 16, "a node is 16 bytes");

struct an_iforest {
  uint32_t d, trees, samples, nodes;
  uint64_t rows, skipped;
  double contamination;
  double beta;                    /* mean excess of the top raw scores */
  double quantile[QUANTILES + 1]; /* raw score at tail contamination^(k/K) */
  /* derived from the above on fit and load, never saved */
  double c_samples;      /* c(psi) */
  double bits_per_split; /* log2(psi) / c(psi) */
  double alarm_surprise; /* -log10 of the alarm score's p-value */
  size_t bytes;
  /* in the same allocation as the struct */
  node_t *node;      /* [nodes] */
  uint32_t *root;    /* [trees + 1]: tree t is node[root[t] .. root[t + 1]) */
  double *median;    /* [d]: stands in for a missing value */
  uint8_t *constant; /* [d]: 1 when the metric never varied in training */
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return EINVAL;
}

/* splitmix64: the caller's seed is the whole state, so a forest is a
 * function of its rows and parameters. */
typedef struct rng {
  uint64_t s;
} rng_t;

static uint64_t rng_next(rng_t *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(rng_t *r) { return (rng_next(r) >> 11) * 0x1.0p-53; }

/* Uniform in [0, n). */
static uint32_t rng_below(rng_t *r, uint32_t n) {
  return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

/* The harmonic number H(i): summed while the asymptotic series is off by
 * more than rounding. */
static double harmonic(uint32_t i) {
  if (i < 32) {
    double h = 0;
    for (uint32_t k = 1; k <= i; k++)
      h += 1.0 / k;
    return h;
  }
  double x = i;
  return log(x) + 0.57721566490153286 + 1 / (2 * x) - 1 / (12 * x * x);
}

/* c(n): the mean path of an unsuccessful search in a binary search tree
 * of n keys, i.e. the depth a leaf of n rows stands for. */
static double avg_path(uint32_t n) {
  if (n <= 1)
    return 0;
  return 2 * harmonic(n - 1) - 2.0 * (n - 1) / n;
}

/* Lays out a forest in one allocation: the struct, then its arrays. */
static an_iforest_t *forest_alloc(uint32_t d, uint32_t trees, uint32_t nodes) {
  size_t head = (sizeof(an_iforest_t) + 15) & ~(size_t)15;
  size_t bytes = head + (size_t)nodes * sizeof(node_t) + d * sizeof(double) +
                 (trees + 1) * sizeof(uint32_t) + d;
  char *p = calloc(1, bytes);
  if (p == NULL)
    return NULL;
  an_iforest_t *f = (an_iforest_t *)p;
  f->d = d;
  f->trees = trees;
  f->nodes = nodes;
  f->bytes = bytes;
  f->node = (node_t *)(p + head);
  f->median = (double *)(f->node + nodes);
  f->root = (uint32_t *)(f->median + d);
  f->constant = (uint8_t *)(f->root + trees + 1);
  f->root[trees] = nodes;
  return f;
}

/* Sets what fit and load both derive from the saved fields. */
static void forest_derive(an_iforest_t *f) {
  f->c_samples = avg_path(f->samples);
  f->bits_per_split = log2(f->samples) / f->c_samples;
  f->alarm_surprise = -log10(an_p_from_score(an_severity_default_bands.medium));
}

void an_iforest_destroy(an_iforest_t *forest) { free(forest); }

void an_iforest_info(const an_iforest_t *f, an_iforest_info_t *info) {
  *info = (an_iforest_info_t){.metrics = f->d,
                              .trees = f->trees,
                              .samples = f->samples,
                              .rows = f->rows,
                              .skipped = f->skipped,
                              .nodes = f->nodes,
                              .bytes = f->bytes,
                              .contamination = f->contamination,
                              .alarm_raw = f->quantile[QUANTILES]};
}

/* ---- walking a tree ---- */

/* A path length rounded to a GRAIN: a sum of a thousand of them below
 * MAX_PATH needs 36 bits, so it is exact in any order, and two rows with
 * the same leaves in different trees score exactly alike; the calibration
 * then never sees rounding as a difference. */
static double path_in_grains(double h) { return round(h / GRAIN) * GRAIN; }

static int is_leaf(const an_iforest_t *f, uint32_t i) {
  return f->node[i].feature == f->d;
}

/* The child of node i that row x goes to (i itself for a leaf). Selected
 * with a mask: the way a row goes is a coin toss to a branch predictor. */
static inline uint32_t child(const node_t *node, uint32_t i, const double *x) {
  uint32_t right = node[i].right;
  uint32_t left = -(uint32_t)(x[node[i].feature] < node[i].value);
  return right ^ ((right ^ (i + 1)) & left);
}

/* x's path length in the tree whose root is node[i]. */
static double path_length(const node_t *node, uint32_t i, const double *x) {
  for (uint32_t next; (next = child(node, i, x)) != i;)
    i = next;
  return node[i].value;
}

/* Copies row into x (d + 1 values) with each NaN replaced by its metric's
 * median, and +infinity for the leaves. Returns 1 when a metric constant
 * in training has another value: the row is then isolated at every root. */
static int prepare(const an_iforest_t *f, const double *row, double *x) {
  int isolated = 0;
  for (uint32_t j = 0; j < f->d; j++) {
    x[j] = isnan(row[j]) ? f->median[j] : row[j];
    if (f->constant[j] && x[j] != f->median[j])
      isolated = 1;
  }
  x[f->d] = INFINITY;
  return isolated;
}

/* x's path lengths summed over the trees. A walk is a chain of dependent
 * loads, so LANES trees are walked at once, a step of each in turn, with
 * no branch on the way the row goes: a leaf stays where it is. */
#define LANES 8
static double path_sum(const an_iforest_t *f, const double *x) {
  double sum = 0;
  uint32_t t = 0;
  for (; t + LANES <= f->trees; t += LANES) {
    uint32_t at[LANES];
    for (int k = 0; k < LANES; k++)
      at[k] = f->root[t + k];
    for (uint32_t moved = 1; moved;) {
      moved = 0;
      for (int k = 0; k < LANES; k++) {
        uint32_t next = child(f->node, at[k], x);
        moved |= next ^ at[k];
        at[k] = next;
      }
    }
    for (int k = 0; k < LANES; k++)
      sum += f->node[at[k]].value;
  }
  for (; t < f->trees; t++)
    sum += path_length(f->node, f->root[t], x);
  return sum;
}

double an_iforest_raw_score(const an_iforest_t *f, const double *row) {
  double x[AN_IFOREST_MAX_METRICS + 1];
  if (prepare(f, row, x))
    return 1.0;
  return exp2(-path_sum(f, x) / f->trees / f->c_samples);
}

/* ---- calibration ---- */

/* -log10 of the p-value of raw score r (see iforest.h). */
static double surprise_of(const an_iforest_t *f, double r) {
  const double *q = f->quantile;
  if (r <= q[0])
    return 0;
  if (r > q[QUANTILES]) {
    if (!(f->beta > 0))
      return INFINITY;
    return f->alarm_surprise + (r - q[QUANTILES]) / (f->beta * M_LN10);
  }
  uint32_t lo = 1, hi = QUANTILES; /* the first k with r <= q[k] */
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (r <= q[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  double step = lo - 1 + (r - q[lo - 1]) / (q[lo] - q[lo - 1]);
  return f->alarm_surprise * step / QUANTILES;
}

double an_iforest_score(const an_iforest_t *f, const double *row,
                        double *p_value) {
  double p = pow(10.0, -surprise_of(f, an_iforest_raw_score(f, row)));
  if (p_value != NULL)
    *p_value = p;
  return an_score_from_p(p);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The quantile table and the tail of m training raw scores (sorted in
 * place). */
static void calibrate(an_iforest_t *f, double *raw, uint32_t m) {
  qsort(raw, m, sizeof(*raw), cmp_double);
  for (uint32_t k = 0; k <= QUANTILES; k++) {
    double level = 1 - pow(f->contamination, (double)k / QUANTILES);
    double pos = level * (m - 1);
    uint32_t i = (uint32_t)pos;
    double frac = pos - i;
    f->quantile[k] = i + 1 < m ? raw[i] + frac * (raw[i + 1] - raw[i]) : raw[i];
  }
  /* the mean excess over the order statistic below the top j scores: an
   * exponential tail has the same mean excess over any threshold in it,
   * so fitting it to at least MIN_TAIL of them steadies a small fit */
  uint32_t j = (uint32_t)ceil(f->contamination * m);
  if (j < MIN_TAIL)
    j = MIN_TAIL < m - 1 ? MIN_TAIL : m - 1;
  double u = raw[m - 1 - j], sum = 0;
  for (uint32_t i = m - j; i < m; i++)
    sum += raw[i] - u;
  f->beta = sum / j;
}

/* ---- explaining ---- */

size_t an_iforest_explain(const an_iforest_t *f, const double *row,
                          an_iforest_contribution_t *out, size_t k) {
  double x[AN_IFOREST_MAX_METRICS + 1], saved[AN_IFOREST_MAX_METRICS] = {0};
  if (prepare(f, row, x)) {
    /* isolated at the root by each differing constant metric alike */
    for (uint32_t j = 0; j < f->d; j++)
      saved[j] = f->constant[j] && x[j] != f->median[j];
  } else {
    for (uint32_t t = 0; t < f->trees; t++) {
      for (uint32_t i = f->root[t]; !is_leaf(f, i);) {
        uint32_t next = child(f->node, i, x);
        double bits =
            log2((f->node[i].size1 + 1.0) / (f->node[next].size1 + 1.0));
        saved[f->node[i].feature] += bits / f->bits_per_split - 1;
        i = next;
      }
    }
  }
  double total = 0;
  for (uint32_t j = 0; j < f->d; j++)
    if (saved[j] > 0)
      total += saved[j];
  size_t n = 0;
  while (n < k) { /* selection: k and d are small */
    uint32_t best = f->d;
    for (uint32_t j = 0; j < f->d; j++)
      if (saved[j] > 0 && (best == f->d || saved[j] > saved[best]))
        best = j;
    if (best == f->d)
      break;
    out[n++] = (an_iforest_contribution_t){.metric = best,
                                           .weight = saved[best] / total};
    saved[best] = 0;
  }
  return n;
}

/* ---- fitting ---- */

typedef struct fit {
  const double *x; /* m complete rows of d */
  uint32_t d, m, psi, height, trees;
  double *median;    /* [d] */
  uint8_t *constant; /* [d] */
  uint16_t *vary;    /* the metrics not constant in training, nvary of them */
  uint16_t *cand;    /* scratch: those a node may still split on */
  uint32_t nvary;
  uint32_t *perm; /* [m] row indices; a tree's sample is perm[0 .. psi) */
  double *raw;    /* [m] scratch, then the rows' raw scores */
  uint32_t *root; /* [trees] */
  node_t *node;   /* all trees so far */
  size_t nodes, cap;
  double *copy; /* the complete rows, when some were not */
  rng_t rng;
} fit_t;

static void fit_free(fit_t *b) {
  free(b->median);
  free(b->constant);
  free(b->vary);
  free(b->cand);
  free(b->perm);
  free(b->raw);
  free(b->root);
  free(b->node);
  free(b->copy);
}

static int check_params(const an_iforest_params_t *p, size_t d, char *err,
                        size_t errlen) {
  if (p->n_estimators < 1 || p->n_estimators > AN_IFOREST_MAX_TREES)
    return fail(err, errlen, "n_estimators must be in 1..%d, not %u",
                AN_IFOREST_MAX_TREES, p->n_estimators);
  if (p->max_samples < 2 || p->max_samples > AN_IFOREST_MAX_SAMPLES)
    return fail(err, errlen, "max_samples must be in 2..%d, not %u",
                AN_IFOREST_MAX_SAMPLES, p->max_samples);
  if (!(p->contamination > 0 && p->contamination < 0.5))
    return fail(err, errlen, "contamination must be in (0, 0.5), not %g",
                p->contamination);
  if (d < 1 || d > AN_IFOREST_MAX_METRICS)
    return fail(err, errlen, "the number of metrics must be in 1..%d, not %zu",
                AN_IFOREST_MAX_METRICS, d);
  return 0;
}

/* Points b->x at the rows of rows[0 .. n) without a missing value: rows
 * itself when none has one, else a copy. */
static int complete_rows(fit_t *b, const double *rows, size_t n) {
  size_t d = b->d, kept = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < d && isfinite(rows[i * d + j]))
      j++;
    if (j == d) {
      if (b->copy != NULL)
        memcpy(b->copy + kept * d, rows + i * d, d * sizeof(double));
      kept++;
    } else if (b->copy == NULL) {
      if ((b->copy = malloc(n * d * sizeof(double))) == NULL)
        return ENOMEM;
      memcpy(b->copy, rows, kept * d * sizeof(double));
    }
  }
  b->x = b->copy != NULL ? b->copy : rows;
  b->m = (uint32_t)kept;
  return 0;
}

/* Each metric's median and whether it is constant, and the list of those
 * that vary. */
static void metric_stats(fit_t *b) {
  for (uint32_t j = 0; j < b->d; j++) {
    double *v = b->raw;
    for (uint32_t i = 0; i < b->m; i++)
      v[i] = b->x[(size_t)i * b->d + j];
    qsort(v, b->m, sizeof(*v), cmp_double);
    uint32_t h = b->m / 2;
    b->median[j] = b->m % 2 ? v[h] : v[h - 1] / 2 + v[h] / 2;
    b->constant[j] = v[0] == v[b->m - 1];
    if (!b->constant[j])
      b->vary[b->nvary++] = (uint16_t)j;
  }
}

/* Picks node perm[lo .. hi)'s split: a random metric among those that
 * vary there, at a random value in (min, max]. Returns 0 when none does. */
static int choose_split(fit_t *b, uint32_t lo, uint32_t hi, uint16_t *feature,
                        double *value) {
  uint32_t k = b->nvary;
  memcpy(b->cand, b->vary, k * sizeof(*b->cand));
  while (k > 0) {
    uint32_t c = rng_below(&b->rng, k);
    uint16_t f = b->cand[c];
    double min = INFINITY, max = -INFINITY;
    for (uint32_t i = lo; i < hi; i++) {
      double v = b->x[(size_t)b->perm[i] * b->d + f];
      min = v < min ? v : min;
      max = v > max ? v : max;
    }
    if (min < max) {
      double v = min + rng_unit(&b->rng) * (max - min);
      /* rounding (or a range past DBL_MAX) must still leave the minimum
       * on the left and the maximum on the right */
      *value = v > min && v <= max ? v : max;
      *feature = f;
      return 1;
    }
    b->cand[c] = b->cand[--k];
  }
  return 0;
}

/* Moves the rows of perm[lo .. hi) with x[f] < value first; returns where
 * the others start. */
static uint32_t partition(fit_t *b, uint32_t lo, uint32_t hi, uint16_t f,
                          double value) {
  while (lo < hi) {
    if (b->x[(size_t)b->perm[lo] * b->d + f] < value) {
      lo++;
    } else {
      uint32_t t = b->perm[lo];
      b->perm[lo] = b->perm[--hi];
      b->perm[hi] = t;
    }
  }
  return lo;
}

static node_t *new_node(fit_t *b) {
  if (an_grow((void **)&b->node, &b->cap, b->nodes, sizeof(*b->node)) != 0)
    return NULL;
  return &b->node[b->nodes++];
}

/* Grows one tree on perm[0 .. psi), appending its nodes in pre-order. */
static int grow_tree(fit_t *b) {
  typedef struct task {
    uint32_t lo, hi, depth;
    uint32_t parent; /* whose right child this is; UINT32_MAX for none */
  } task_t;
  task_t stack[MAX_HEIGHT + 2]; /* a pending right child per level */
  size_t top = 0;
  stack[top++] = (task_t){0, b->psi, 0, UINT32_MAX};
  while (top > 0) {
    task_t t = stack[--top];
    uint32_t i = (uint32_t)b->nodes;
    node_t *n = new_node(b);
    if (n == NULL)
      return ENOMEM;
    if (t.parent != UINT32_MAX)
      b->node[t.parent].right = i;
    *n = (node_t){.size1 = (uint16_t)(t.hi - t.lo - 1)};
    uint16_t f;
    double value;
    if (t.depth >= b->height || t.hi - t.lo < 2 ||
        !choose_split(b, t.lo, t.hi, &f, &value)) {
      n->feature = (uint16_t)b->d;
      n->right = i;
      n->value = path_in_grains(t.depth + avg_path(t.hi - t.lo));
      continue;
    }
    n->feature = f;
    n->value = value;
    uint32_t mid = partition(b, t.lo, t.hi, f, value);
    stack[top++] = (task_t){mid, t.hi, t.depth + 1, i};
    stack[top++] = (task_t){t.lo, mid, t.depth + 1, UINT32_MAX};
  }
  return 0;
}

static int grow_forest(fit_t *b) {
  for (uint32_t i = 0; i < b->m; i++)
    b->perm[i] = i;
  for (uint32_t t = 0; t < b->trees; t++) {
    /* partial Fisher-Yates: a uniform sample from any order of perm */
    for (uint32_t i = 0; i < b->psi; i++) {
      uint32_t r = i + rng_below(&b->rng, b->m - i), s = b->perm[i];
      b->perm[i] = b->perm[r];
      b->perm[r] = s;
    }
    b->root[t] = (uint32_t)b->nodes;
    int rc = grow_tree(b);
    if (rc != 0)
      return rc;
  }
  return 0;
}

/* The forest of the trees grown, calibrated on the training rows' raw
 * scores. */
static an_iforest_t *forest_of(fit_t *b, double contamination) {
  an_iforest_t *f = forest_alloc(b->d, b->trees, (uint32_t)b->nodes);
  if (f == NULL)
    return NULL;
  memcpy(f->node, b->node, b->nodes * sizeof(node_t));
  memcpy(f->root, b->root, b->trees * sizeof(uint32_t));
  memcpy(f->median, b->median, b->d * sizeof(double));
  memcpy(f->constant, b->constant, b->d);
  f->samples = b->psi;
  f->rows = b->m;
  f->contamination = contamination;
  forest_derive(f);
  for (uint32_t i = 0; i < b->m; i++)
    b->raw[i] = an_iforest_raw_score(f, b->x + (size_t)i * b->d);
  calibrate(f, b->raw, b->m);
  return f;
}

int an_iforest_fit(const double *rows, size_t n, size_t d,
                   const an_iforest_params_t *params, an_iforest_t **out,
                   char *err, size_t errlen) {
  int rc = check_params(params, d, err, errlen);
  if (rc != 0)
    return rc;
  if (n > UINT32_MAX)
    return fail(err, errlen, "%zu rows are too many (at most %u)", n,
                UINT32_MAX);
  fit_t b = {
      .d = (uint32_t)d, .trees = params->n_estimators, .rng = {params->seed}};
  an_iforest_t *f = NULL;
  if ((rc = complete_rows(&b, rows, n)) != 0)
    goto done;
  if (b.m < 2) {
    rc = fail(err, errlen,
              "at least 2 rows without a missing value are needed, %u given",
              b.m);
    goto done;
  }
  b.psi = params->max_samples < b.m ? params->max_samples : b.m;
  b.height = (uint32_t)ceil(log2(b.psi));
  rc = ENOMEM;
  if ((b.median = malloc(d * sizeof(*b.median))) == NULL ||
      (b.constant = malloc(d)) == NULL ||
      (b.vary = malloc(d * sizeof(*b.vary))) == NULL ||
      (b.cand = malloc(d * sizeof(*b.cand))) == NULL ||
      (b.perm = malloc(b.m * sizeof(*b.perm))) == NULL ||
      (b.raw = malloc(b.m * sizeof(*b.raw))) == NULL ||
      (b.root = malloc(b.trees * sizeof(*b.root))) == NULL)
    goto done;
  metric_stats(&b);
  if ((rc = grow_forest(&b)) != 0)
    goto done;
  if ((f = forest_of(&b, params->contamination)) == NULL) {
    rc = ENOMEM;
    goto done;
  }
  f->skipped = n - b.m;
  *out = f;
  rc = 0;
done:
  fit_free(&b);
  return rc;
}

/* ---- the saved form ----
 *
 * Version 1; every field little-endian, doubles as their IEEE 754 bits:
 *
 *   0  "ANIFORST"
 *   8  u32 format version
 *  12  u32 metrics (d), u32 trees, u32 samples (psi), u32 nodes, u32 0
 *  32  u64 rows, u64 skipped, f64 contamination, f64 beta
 *  64  f64 quantile[33]
 * 328  f64 median[d], u8 constant[d], u32 root[trees] (the first node of
 *      each tree), then each node: f64 value, u16 feature (d for a leaf),
 *      u16 size - 1, u32 right (a leaf's own index)
 *
 * No checksum: whoever keeps the bytes keeps them whole; load proves only
 * that what it accepts is safe to score. */

static const char MAGIC[8] = {'A', 'N', 'I', 'F', 'O', 'R', 'S', 'T'};
#define FORMAT_VERSION 1
#define HEADER_SIZE (64 + 8 * (QUANTILES + 1))

static size_t saved_size(uint32_t d, uint32_t trees, uint32_t nodes) {
  return HEADER_SIZE + (size_t)d * 9 + (size_t)trees * 4 +
         (size_t)nodes * sizeof(node_t);
}

size_t an_iforest_saved_size(const an_iforest_t *f) {
  return saved_size(f->d, f->trees, f->nodes);
}

static uint8_t *put(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++)
    p[i] = (uint8_t)(v >> (8 * i));
  return p + bytes;
}

static uint8_t *put_double(uint8_t *p, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof(u));
  return put(p, u, 8);
}

static uint64_t get(const uint8_t **p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++)
    v |= (uint64_t)(*p)[i] << (8 * i);
  *p += bytes;
  return v;
}

static double get_double(const uint8_t **p) {
  uint64_t u = get(p, 8);
  double v;
  memcpy(&v, &u, sizeof(v));
  return v;
}

size_t an_iforest_save(const an_iforest_t *f, void *buf, size_t len) {
  size_t need = an_iforest_saved_size(f);
  if (len < need)
    return 0;
  uint8_t *p = buf;
  memcpy(p, MAGIC, sizeof(MAGIC));
  p = put(p + sizeof(MAGIC), FORMAT_VERSION, 4);
  p = put(p, f->d, 4);
  p = put(p, f->trees, 4);
  p = put(p, f->samples, 4);
  p = put(p, f->nodes, 4);
  p = put(p, 0, 4);
  p = put(p, f->rows, 8);
  p = put(p, f->skipped, 8);
  p = put_double(p, f->contamination);
  p = put_double(p, f->beta);
  for (uint32_t k = 0; k <= QUANTILES; k++)
    p = put_double(p, f->quantile[k]);
  for (uint32_t j = 0; j < f->d; j++)
    p = put_double(p, f->median[j]);
  for (uint32_t j = 0; j < f->d; j++)
    p = put(p, f->constant[j], 1);
  for (uint32_t t = 0; t < f->trees; t++)
    p = put(p, f->root[t], 4);
  for (uint32_t i = 0; i < f->nodes; i++) {
    p = put_double(p, f->node[i].value);
    p = put(p, f->node[i].feature, 2);
    p = put(p, f->node[i].size1, 2);
    p = put(p, f->node[i].right, 4);
  }
  return need;
}

/* Whether node[a .. b) is a tree fit could have grown: every split's
 * children inside it and after the split, its rows shared between them,
 * and only finite numbers. */
static int tree_valid(const an_iforest_t *f, uint32_t a, uint32_t b) {
  if (f->node[a].size1 + 1u != f->samples)
    return 0;
  for (uint32_t i = a; i < b; i++) {
    const node_t *n = &f->node[i];
    if (n->size1 >= f->samples || !isfinite(n->value))
      return 0;
    if (n->feature == f->d) {
      if (!(n->value >= 0 && n->value < MAX_PATH) ||
          path_in_grains(n->value) != n->value || n->right != i)
        return 0;
      continue;
    }
    if (n->feature >= f->d || i + 1 >= b || n->right <= i + 1 || n->right >= b)
      return 0;
    if (f->node[i + 1].size1 + f->node[n->right].size1 + 1u != n->size1)
      return 0;
  }
  return 1;
}

/* Whether the fields read into f are those of a forest fit could have
 * made. */
static int forest_valid(const an_iforest_t *f) {
  if (!(f->contamination > 0 && f->contamination < 0.5) ||
      !(isfinite(f->beta) && f->beta >= 0))
    return 0;
  for (uint32_t k = 0; k <= QUANTILES; k++)
    if (!(f->quantile[k] >= 0 && f->quantile[k] <= 1) ||
        (k > 0 && f->quantile[k] < f->quantile[k - 1]))
      return 0;
  for (uint32_t j = 0; j < f->d; j++)
    if (!isfinite(f->median[j]) || f->constant[j] > 1)
      return 0;
  /* every tree inside the nodes before any is read */
  if (f->root[0] != 0)
    return 0;
  for (uint32_t t = 0; t < f->trees; t++)
    if (f->root[t] >= f->root[t + 1])
      return 0;
  for (uint32_t t = 0; t < f->trees; t++)
    if (!tree_valid(f, f->root[t], f->root[t + 1]))
      return 0;
  return 1;
}

int an_iforest_load(const void *buf, size_t len, an_iforest_t **out) {
  const uint8_t *p = buf;
  if (buf == NULL || len < HEADER_SIZE || memcmp(p, MAGIC, sizeof(MAGIC)) != 0)
    return EINVAL;
  p += sizeof(MAGIC);
  uint32_t version = (uint32_t)get(&p, 4), d = (uint32_t)get(&p, 4);
  uint32_t trees = (uint32_t)get(&p, 4), samples = (uint32_t)get(&p, 4);
  uint32_t nodes = (uint32_t)get(&p, 4), reserved = (uint32_t)get(&p, 4);
  uint64_t rows = get(&p, 8), skipped = get(&p, 8);
  /* the sizes first, so that a short or lying header allocates nothing */
  if (version != FORMAT_VERSION || reserved != 0 || d < 1 ||
      d > AN_IFOREST_MAX_METRICS || trees < 1 || trees > AN_IFOREST_MAX_TREES ||
      samples < 2 || samples > AN_IFOREST_MAX_SAMPLES || rows < samples ||
      rows > UINT32_MAX || skipped > UINT64_MAX - rows || nodes < trees ||
      nodes > trees * (2 * samples - 1) || len != saved_size(d, trees, nodes))
    return EINVAL;
  an_iforest_t *f = forest_alloc(d, trees, nodes);
  if (f == NULL)
    return ENOMEM;
  f->samples = samples;
  f->rows = rows;
  f->skipped = skipped;
  f->contamination = get_double(&p);
  f->beta = get_double(&p);
  for (uint32_t k = 0; k <= QUANTILES; k++)
    f->quantile[k] = get_double(&p);
  for (uint32_t j = 0; j < d; j++)
    f->median[j] = get_double(&p);
  for (uint32_t j = 0; j < d; j++)
    f->constant[j] = (uint8_t)get(&p, 1);
  for (uint32_t t = 0; t < trees; t++)
    f->root[t] = (uint32_t)get(&p, 4);
  for (uint32_t i = 0; i < nodes; i++) {
    f->node[i].value = get_double(&p);
    f->node[i].feature = (uint16_t)get(&p, 2);
    f->node[i].size1 = (uint16_t)get(&p, 2);
    f->node[i].right = (uint32_t)get(&p, 4);
  }
  if (!forest_valid(f)) {
    an_iforest_destroy(f);
    return EINVAL;
  }
  forest_derive(f);
  *out = f;
  return 0;
}
