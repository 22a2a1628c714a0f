/* forests.c: the active isolation forests and their scoring (forests.h). */
#include "models/forests.h"
#include "clock.h"
#include "grow.h"
#include "models/model.h"
#include "store/store.h"
#include "store/store_models.h"
#include "units.h"
#include "uuid.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/* A source's forest, in one of the set's models. */
typedef struct entry {
  const an_model_forest_t *forest;
  size_t model; /* index in the set's models: newest first */
} entry_t;

typedef struct loaded {
  an_model_t *model;
  char id[AN_UUID_LEN + 1];
} loaded_t;

struct an_forests {
  loaded_t *models; /* newest first */
  size_t nmodels, cap;
  entry_t *entries; /* by source, one each */
  size_t n;
};

void an_forests_free(an_forests_t *f) {
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->nmodels; i++)
    an_model_free(f->models[i].model);
  free(f->models);
  free(f->entries);
  free(f);
}

size_t an_forests_count(const an_forests_t *f) { return f != NULL ? f->n : 0; }

/* ---- loading ---- */

static int add_model(void *ctx, const char *id, const void *blob, size_t len) {
  an_forests_t *f = ctx;
  an_model_t *m;
  char err[300];
  int rc = an_model_decode(blob, len, &m, err, sizeof(err));
  if (rc == EINVAL || (rc == 0 && m->kind != AN_MODEL_FOREST)) {
    syslog(LOG_WARNING, "forests: model %s is left out: %s", id,
           rc != 0 ? err : "it holds no forests");
    an_model_free(m);
    return 0;
  }
  if (rc != 0)
    return rc;
  if (an_grow((void **)&f->models, &f->cap, f->nmodels, sizeof(*f->models)) !=
      0) {
    an_model_free(m);
    return ENOMEM;
  }
  loaded_t *l = &f->models[f->nmodels++];
  l->model = m;
  snprintf(l->id, sizeof(l->id), "%s", id);
  return 0;
}

/* By source, then newest model first. */
static int compare_entries(const void *a, const void *b) {
  const entry_t *x = a, *y = b;
  int c = strcmp(x->forest->source_id, y->forest->source_id);
  return c != 0 ? c : (x->model > y->model) - (x->model < y->model);
}

/* One entry per source: the newest model's. */
static int index_sources(an_forests_t *f) {
  size_t total = 0, n = 0;
  for (size_t i = 0; i < f->nmodels; i++)
    total += f->models[i].model->nforests;
  if (total == 0)
    return 0;
  if ((f->entries = malloc(total * sizeof(*f->entries))) == NULL)
    return ENOMEM;
  for (size_t i = 0; i < f->nmodels; i++)
    for (size_t k = 0; k < f->models[i].model->nforests; k++)
      f->entries[n++] = (entry_t){&f->models[i].model->forests[k], i};
  qsort(f->entries, n, sizeof(*f->entries), compare_entries);
  f->n = 0;
  for (size_t i = 0; i < n; i++)
    if (f->n == 0 || strcmp(f->entries[f->n - 1].forest->source_id,
                            f->entries[i].forest->source_id) != 0)
      f->entries[f->n++] = f->entries[i];
  return 0;
}

int an_forests_load(sqlite3 *db, an_forests_t **out) {
  an_forests_t *f = calloc(1, sizeof(*f));
  double began = an_clock_monotonic();
  int rc = f != NULL ? an_store_each_active_model_blob(db, AN_FORESTS_ALGORITHM,
                                                       add_model, f)
                     : ENOMEM;
  if (rc == 0)
    rc = index_sources(f);
  if (rc != 0) {
    an_forests_free(f);
    *out = NULL;
    return rc;
  }
  if (f->nmodels > 0)
    syslog(LOG_INFO,
           "forests: %zu sources scored by %zu isolation_forest models"
           " (loaded in %.1f ms)",
           f->n, f->nmodels, 1000 * (an_clock_monotonic() - began));
  *out = f;
  return 0;
}

static int load_now(sqlite3 *db, void *arg) { return an_forests_load(db, arg); }

int an_forests_open(an_daemon_t *d, char *err, size_t errlen) {
  int rc = an_store_run_now(d->store, load_now, &d->forests);
  if (rc != 0)
    snprintf(err, errlen, "cannot load the active isolation forests (%s)",
             rc == ENOMEM ? "out of memory" : "database error");
  return rc;
}

void an_forests_replace(an_daemon_t *d, an_forests_t *next) {
  an_forests_free(d->forests);
  d->forests = next;
}

/* ---- scoring ---- */

static const entry_t *find(const an_forests_t *f, const char *source) {
  size_t lo = 0, hi = f != NULL ? f->n : 0;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(f->entries[mid].forest->source_id, source);
    if (c == 0)
      return &f->entries[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

int an_forests_covers(const an_forests_t *f, const char *source) {
  return find(f, source) != NULL;
}

/* The column of metric in forest (its names are in increasing order), or
 * -1. */
static long column(const an_model_forest_t *forest, const char *metric) {
  size_t lo = 0, hi = forest->nmetrics;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(forest->metrics[mid], metric);
    if (c == 0)
      return (long)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

int an_forests_score(const an_forests_t *f, const char *source,
                     const char *const *names, const double *values, size_t n,
                     double threshold, an_forest_score_t *out) {
  const entry_t *e = find(f, source);
  double row[AN_IFOREST_MAX_METRICS];
  size_t present = 0;
  if (e == NULL)
    return 0;
  const an_model_forest_t *forest = e->forest;
  for (size_t k = 0; k < forest->nmetrics; k++)
    row[k] = NAN;
  for (size_t i = 0; i < n; i++) {
    long k = column(forest, names[i]);
    if (k >= 0) {
      row[k] = values[i];
      present++;
    }
  }
  if (present == 0)
    return 0;
  out->model_id = f->models[e->model].id;
  out->score = an_iforest_score(forest->forest, row, &out->p_value);
  out->ncontrib = 0;
  if (out->score < threshold)
    return 1;
  an_iforest_contribution_t top[AN_FORESTS_TOP];
  out->ncontrib = an_iforest_explain(forest->forest, row, top, AN_FORESTS_TOP);
  for (size_t i = 0; i < out->ncontrib; i++) {
    out->contrib[i].metric = forest->metrics[top[i].metric];
    out->contrib[i].value = row[top[i].metric];
    out->contrib[i].weight = top[i].weight;
  }
  return 1;
}

/* "cpu 48", or "cpu (missing)". */
static void name_value(const char *metric, double value, char *buf,
                       size_t len) {
  char v[48];
  if (isnan(value))
    snprintf(buf, len, "%s (missing)", metric);
  else
    snprintf(buf, len, "%s %s", metric,
             an_unit_format(AN_UNIT_NONE, value, v, sizeof(v)));
}

char *an_forests_explain(const an_forest_score_t *s, char *buf, size_t len) {
  char what[AN_FORESTS_TOP][300], shares[1024] = "";
  size_t n = s->ncontrib, used = 0;
  if (n == 0) {
    snprintf(buf, len, "the source's metrics are unusual together");
    return buf;
  }
  for (size_t i = 0; i < n; i++) {
    name_value(s->contrib[i].metric, s->contrib[i].value, what[i],
               sizeof(what[i]));
    used += (size_t)snprintf(shares + used, sizeof(shares) - used,
                             "%s%s %.0f %%", i > 0 ? ", " : "",
                             s->contrib[i].metric, 100 * s->contrib[i].weight);
    if (used >= sizeof(shares))
      break;
  }
  if (n == 1)
    snprintf(buf, len, "%s: unusual with the source's other metrics (%s)",
             what[0], shares);
  else if (n == 2)
    snprintf(buf, len, "%s with %s: unusual together (%s)", what[0], what[1],
             shares);
  else
    snprintf(buf, len, "%s with %s and %s: unusual together (%s)", what[0],
             what[1], what[2], shares);
  return buf;
}
