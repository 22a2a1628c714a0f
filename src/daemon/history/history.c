/* history.c: pushed points and RRD files as one list of series
 * (history.h). */
#include "history/history.h"
#include "alerts/match.h"
#include "grow.h"
#include "history/rrd.h"
#include "store/store_series.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int an_history_in_scope(const char *source_pattern, const char *metric_pattern,
                        const char *source, const char *metric) {
  return an_match_source(source_pattern, source) &&
         an_match_source(metric_pattern, metric);
}

typedef struct listing {
  an_history_t *h;
  size_t cap, errors_cap;
  const char *source_pattern, *metric_pattern;
} listing_t;

/* Appends a series; the strings are copied (NULL stays NULL). */
static int add(listing_t *l, const char *source, const char *metric,
               const char *type, const char *path, const char *ds) {
  an_history_t *h = l->h;
  if (an_grow((void **)&h->series, &l->cap, h->n, sizeof(*h->series)) != 0)
    return ENOMEM;
  an_history_series_t *s = &h->series[h->n++];
  *s = (an_history_series_t){
      strdup(source), strdup(metric), type ? strdup(type) : NULL,
      path ? strdup(path) : NULL, ds ? strdup(ds) : NULL};
  return s->source_id && s->metric && (!type || s->type) &&
                 (!path || s->rrd_path) && (!ds || s->rrd_ds)
             ? 0
             : ENOMEM;
}

static int add_error(listing_t *l, const char *error) {
  an_history_t *h = l->h;
  if (an_grow((void **)&h->errors, &l->errors_cap, h->n_errors,
              sizeof(*h->errors)) != 0 ||
      (h->errors[h->n_errors] = strdup(error)) == NULL)
    return ENOMEM;
  h->n_errors++;
  return 0;
}

static int add_pushed(void *ctx, const char *source, const char *metric) {
  listing_t *l = ctx;
  if (!an_history_in_scope(l->source_pattern, l->metric_pattern, source,
                           metric))
    return 0;
  return add(l, source, metric, NULL, NULL, NULL);
}

static int compare_names(const void *a, const void *b) {
  const an_history_series_t *x = a, *y = b;
  int c = strcmp(x->source_id, y->source_id);
  return c != 0 ? c : strcmp(x->metric, y->metric);
}

/* collectd's type in a metric "plugin[-i]/type[-i][/ds]", into buf. */
static const char *type_of(const char *metric, char *buf, size_t len) {
  const char *slash = strchr(metric, '/');
  if (slash == NULL)
    return NULL;
  size_t n = strcspn(slash + 1, "-/");
  if (n == 0 || n >= len)
    return NULL;
  memcpy(buf, slash + 1, n);
  buf[n] = '\0';
  return buf;
}

static int add_rrd(listing_t *l, const an_rrd_list_t *rrd, size_t pushed) {
  for (size_t i = 0; i < rrd->n; i++) {
    const an_rrd_series_t *r = &rrd->series[i];
    an_history_series_t key = {.source_id = r->source_id, .metric = r->metric};
    char type[128];
    if (!an_history_in_scope(l->source_pattern, l->metric_pattern, r->source_id,
                             r->metric) ||
        (pushed > 0 && bsearch(&key, l->h->series, pushed,
                               sizeof(*l->h->series), compare_names) != NULL))
      continue;
    int rc = add(l, r->source_id, r->metric,
                 type_of(r->metric, type, sizeof(type)), r->path, r->ds_name);
    if (rc != 0)
      return rc;
  }
  for (size_t i = 0; i < rrd->n_errors; i++)
    if (add_error(l, rrd->errors[i]) != 0)
      return ENOMEM;
  return 0;
}

int an_history_list(sqlite3 *db, const char *rrd_dir,
                    const char *source_pattern, const char *metric_pattern,
                    an_history_t **out, char *err, size_t errlen) {
  listing_t l = {.h = calloc(1, sizeof(an_history_t)),
                 .source_pattern = source_pattern,
                 .metric_pattern = metric_pattern};
  an_rrd_list_t *rrd = NULL;
  *out = NULL;
  err[0] = '\0';
  int rc = l.h != NULL ? an_store_each_series(db, add_pushed, &l) : ENOMEM;
  if (rc == EIO)
    snprintf(err, errlen, "cannot read the pushed points");
  size_t pushed = l.h != NULL ? l.h->n : 0;
  if (rc == 0 && rrd_dir != NULL) {
    /* an RRDDir collectd has not made yet costs its series, not the
     * pushed ones: it is named in the errors */
    char why[512];
    rc = an_rrd_list(rrd_dir, &rrd, why, sizeof(why));
    if (rc == 0)
      rc = add_rrd(&l, rrd, pushed);
    else if (rc != ENOMEM)
      rc = add_error(&l, why);
  }
  an_rrd_list_free(rrd);
  if (rc != 0) {
    if (rc == ENOMEM)
      snprintf(err, errlen, "out of memory");
    an_history_free(l.h);
    return rc;
  }
  *out = l.h;
  return 0;
}

void an_history_free(an_history_t *h) {
  if (h == NULL)
    return;
  for (size_t i = 0; i < h->n; i++) {
    an_history_series_t *s = &h->series[i];
    free(s->source_id);
    free(s->metric);
    free(s->type);
    free(s->rrd_path);
    free(s->rrd_ds);
  }
  for (size_t i = 0; i < h->n_errors; i++)
    free(h->errors[i]);
  free(h->series);
  free(h->errors);
  free(h);
}

typedef struct points {
  an_history_point_t *p;
  size_t n, cap;
} points_t;

static int add_point(void *ctx, double t, double value) {
  points_t *ps = ctx;
  if (an_grow((void **)&ps->p, &ps->cap, ps->n, sizeof(*ps->p)) != 0)
    return ENOMEM;
  ps->p[ps->n++] = (an_history_point_t){t, value};
  return 0;
}

/* The RRD file's values; librrd's range is whole seconds. */
static int fetch_rrd(const an_history_series_t *s, double start, double end,
                     points_t *ps, char *err, size_t errlen) {
  an_rrd_point_t *rp;
  size_t n;
  unsigned long step;
  int rc = an_rrd_fetch(s->rrd_path, s->rrd_ds, (time_t)floor(start),
                        (time_t)ceil(end), &rp, &n, &step, err, errlen);
  if (rc != 0)
    return rc;
  if (n > 0 && (ps->p = malloc(n * sizeof(*ps->p))) == NULL)
    rc = ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++)
    if ((double)rp[i].time <= end) /* librrd's last step may pass end */
      ps->p[ps->n++] = (an_history_point_t){(double)rp[i].time, rp[i].value};
  free(rp);
  return rc;
}

int an_history_fetch(sqlite3 *db, const an_history_series_t *s, double start,
                     double end, an_history_point_t **points, size_t *n,
                     char *err, size_t errlen) {
  points_t ps = {0};
  int rc = s->rrd_path != NULL
               ? fetch_rrd(s, start, end, &ps, err, errlen)
               : an_store_each_point_in_range(db, s->source_id, s->metric,
                                              start, end, add_point, &ps);
  if (rc != 0) {
    if (rc == ENOMEM)
      snprintf(err, errlen, "out of memory");
    else if (s->rrd_path == NULL)
      snprintf(err, errlen, "cannot read the points of %s/%s", s->source_id,
               s->metric);
    free(ps.p);
    *points = NULL;
    *n = 0;
    return rc;
  }
  if (ps.n == 0) {
    free(ps.p);
    ps.p = NULL;
  }
  *points = ps.p;
  *n = ps.n;
  return 0;
}
