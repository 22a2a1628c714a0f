/* rrd.c: collectd's RRD files, listed and read with librrd (see rrd.h). */
#include "history/rrd.h"

#include "grow.h"
#include "metric.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct walk {
  an_rrd_list_t *list;
  size_t cap, errors_cap;
} walk_t;

/* "a/b" in a new string; NULL when out of memory. */
static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + lb + 2);
  if (p == NULL)
    return NULL;
  memcpy(p, a, la);
  p[la] = '/';
  memcpy(p + la + 1, b, lb + 1);
  return p;
}

static int add_error(walk_t *w, const char *fmt, ...) {
  an_rrd_list_t *l = w->list;
  if (an_grow((void **)&l->errors, &w->errors_cap, l->n_errors,
              sizeof(*l->errors)) != 0)
    return ENOMEM;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if ((l->errors[l->n_errors] = strdup(buf)) == NULL)
    return ENOMEM;
  l->n_errors++;
  return 0;
}

static int add_series(walk_t *w, const char *path, const char *host,
                      const char *metric, const char *ds_name) {
  an_rrd_list_t *l = w->list;
  if (an_grow((void **)&l->series, &w->cap, l->n, sizeof(*l->series)) != 0)
    return ENOMEM;
  an_rrd_series_t *s = &l->series[l->n];
  *s = (an_rrd_series_t){strdup(path), strdup(host), strdup(metric),
                         strdup(ds_name)};
  l->n++; /* freed with the list even when a copy failed */
  return s->path && s->source_id && s->metric && s->ds_name ? 0 : ENOMEM;
}

/* Splits "name[-instance]" at its first dash, as collectd does: *instance
 * points into name, "" when there is none. */
static void split_instance(char *name, const char **instance) {
  char *dash = strchr(name, '-');
  *instance = "";
  if (dash != NULL) {
    *dash = '\0';
    *instance = dash + 1;
  }
}

/* Adds each DS of the file at path, host/plugin_dir/file. */
static int add_file(walk_t *w, const char *path, const char *host,
                    const char *plugin_dir, const char *file) {
  char plugin[256], type[256], metric[1200];
  const char *plugin_instance, *type_instance;
  size_t stem = strlen(file) - strlen(".rrd");
  if (strlen(plugin_dir) >= sizeof(plugin) || stem >= sizeof(type))
    return add_error(w, "%s: name too long", path);
  strcpy(plugin, plugin_dir);
  memcpy(type, file, stem);
  type[stem] = '\0';
  split_instance(plugin, &plugin_instance);
  split_instance(type, &type_instance);

  time_t last;
  unsigned long ds_cnt = 0;
  char **ds_names = NULL, **last_ds = NULL;
  rrd_clear_error();
  if (rrd_lastupdate_r(path, &last, &ds_cnt, &ds_names, &last_ds) != 0)
    return add_error(w, "%s: %s", path, rrd_get_error());
  int rc = 0;
  for (unsigned long i = 0; i < ds_cnt && rc == 0; i++) {
    if (an_metric_name(metric, sizeof(metric), plugin, plugin_instance, type,
                       type_instance, ds_cnt > 1 ? ds_names[i] : NULL) < 0)
      rc = add_error(w, "%s: name too long", path);
    else
      rc = add_series(w, path, host, metric, ds_names[i]);
  }
  for (unsigned long i = 0; i < ds_cnt; i++) {
    rrd_freemem(ds_names[i]);
    rrd_freemem(last_ds[i]);
  }
  rrd_freemem(ds_names);
  rrd_freemem(last_ds);
  return rc;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_rrd_file(const char *path, const char *name) {
  size_t len = strlen(name);
  struct stat st;
  return len > 4 && strcmp(name + len - 4, ".rrd") == 0 &&
         stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int skip_dots(const struct dirent *e) { return e->d_name[0] != '.'; }

/* Walks dir at depth 0 (RRDDir), 1 (a host) or 2 (a plugin's folder). */
static int walk_dir(walk_t *w, const char *dir, int depth, const char *host,
                    const char *plugin_dir) {
  struct dirent **names;
  int n = scandir(dir, &names, skip_dots, alphasort);
  if (n < 0) /* RRDDir itself fails the list; a folder in it is skipped */
    return errno == ENOMEM || depth == 0
               ? errno
               : add_error(w, "%s: %s", dir, strerror(errno));
  int rc = 0;
  for (int i = 0; i < n; i++) {
    const char *name = names[i]->d_name;
    char *path = rc == 0 ? join(dir, name) : NULL;
    if (rc == 0 && path == NULL)
      rc = ENOMEM;
    else if (rc == 0 && depth < 2 && is_dir(path))
      rc = walk_dir(w, path, depth + 1, depth == 0 ? name : host, name);
    else if (rc == 0 && depth == 2 && is_rrd_file(path, name))
      rc = add_file(w, path, host, plugin_dir, name);
    free(path);
    free(names[i]);
  }
  free(names);
  return rc;
}

int an_rrd_list(const char *dir, an_rrd_list_t **out, char *err,
                size_t errlen) {
  *out = NULL;
  struct stat st;
  int e = stat(dir, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
  if (e != 0) {
    snprintf(err, errlen, "%s: %s", dir, strerror(e));
    return e;
  }
  walk_t w = {.list = calloc(1, sizeof(an_rrd_list_t))};
  int rc = w.list != NULL ? walk_dir(&w, dir, 0, NULL, NULL) : ENOMEM;
  if (rc != 0) {
    an_rrd_list_free(w.list);
    snprintf(err, errlen, "%s: %s", dir, strerror(rc));
    return rc;
  }
  *out = w.list;
  return 0;
}

void an_rrd_list_free(an_rrd_list_t *list) {
  if (list == NULL)
    return;
  for (size_t i = 0; i < list->n; i++) {
    free(list->series[i].path);
    free(list->series[i].source_id);
    free(list->series[i].metric);
    free(list->series[i].ds_name);
  }
  for (size_t i = 0; i < list->n_errors; i++)
    free(list->errors[i]);
  free(list->series);
  free(list->errors);
  free(list);
}

int an_rrd_fetch(const char *path, const char *ds_name, time_t start,
                 time_t end, an_rrd_point_t **points, size_t *n,
                 unsigned long *step, char *err, size_t errlen) {
  *points = NULL;
  *n = 0;
  if (end < start) {
    snprintf(err, errlen, "%s: the range ends before it starts", path);
    return EINVAL;
  }
  /* Asking for a 1 s step makes librrd take the finest archive that
   * reaches back to start. */
  unsigned long ds_cnt = 0;
  char **ds_names = NULL;
  rrd_value_t *data = NULL;
  time_t asked_end = end;
  *step = 1;
  rrd_clear_error();
  if (rrd_fetch_r(path, "AVERAGE", &start, &end, step, &ds_cnt, &ds_names,
                  &data) != 0) {
    snprintf(err, errlen, "%s: %s", path, rrd_get_error());
    return EIO;
  }
  int rc = 0;
  unsigned long ds = 0;
  while (ds < ds_cnt && strcmp(ds_names[ds], ds_name) != 0)
    ds++;
  /* Row r holds the step ending at start + (r + 1) * step. */
  size_t rows = *step > 0 ? (size_t)(end - start) / *step : 0;
  if (ds == ds_cnt) {
    snprintf(err, errlen, "%s: no data source \"%s\"", path, ds_name);
    rc = ENOENT;
  } else if (rows > 0 && (*points = malloc(rows * sizeof(**points))) == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
    rc = ENOMEM;
  }
  for (size_t r = 0; rc == 0 && r < rows; r++) {
    time_t t = start + (time_t)((r + 1) * *step);
    double v = data[r * ds_cnt + ds];
    /* librrd adds a step past an end that is on one: not in the range */
    if (!isnan(v) && t - (time_t)*step < asked_end)
      (*points)[(*n)++] = (an_rrd_point_t){t, v};
  }
  if (rc == 0 && *n == 0) {
    free(*points);
    *points = NULL;
  }
  for (unsigned long i = 0; i < ds_cnt; i++)
    rrd_freemem(ds_names[i]);
  rrd_freemem(ds_names);
  rrd_freemem(data);
  return rc;
}
