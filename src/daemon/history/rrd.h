/* rrd.h: the history collectd's rrdtool plugin keeps, read with librrd.
 *
 * The plugin's DataDir (anomalyd's RRDDir) holds
 * host/plugin[-instance]/type[-instance].rrd, one data source (DS) of the
 * file per data source of the type. an_rrd_list() walks it and names each
 * file's DS with the sourceId (the host) and the metric the anomaly plugin
 * gives the same values (libanomaly's metric.h), so a series read here is
 * the series the plugin scores. an_rrd_fetch() reads one DS over a range.
 *
 * Nothing here keeps state or logs: errors come back as strings naming
 * the file, for the caller to log once. librrd's _r functions are used, so
 * any thread may call these at the same time. */
#ifndef AN_HISTORY_RRD_H
#define AN_HISTORY_RRD_H

#include <stddef.h>
#include <time.h>

/* One DS of one file. Every string is owned by the list. */
typedef struct an_rrd_series {
  char *path;      /* the .rrd file, RRDDir joined with its relative path */
  char *source_id; /* the host directory */
  char *metric;    /* as the plugin names it, "cpu-0/cpu-idle", ".../rx" */
  char *ds_name;   /* the DS inside the file, what an_rrd_fetch() takes */
} an_rrd_series_t;

typedef struct an_rrd_list {
  an_rrd_series_t *series; /* by path, then in the file's DS order */
  size_t n;
  char **errors; /* "path: reason" for each file or folder skipped */
  size_t n_errors;
} an_rrd_list_t;

/* One value: the average over the step that ends at time. */
typedef struct an_rrd_point {
  time_t time;
  double value;
} an_rrd_point_t;

/* Lists every DS of every .rrd file under dir into a new *out. Entries
 * that are not .rrd files are ignored; a file librrd cannot read, or a
 * folder that cannot be opened, is put in (*out)->errors and skipped.
 * Returns 0, or ENOMEM or the errno of opening dir itself with the reason
 * in err (errlen bytes) and *out NULL. Free the list with
 * an_rrd_list_free(). */
int an_rrd_list(const char *dir, an_rrd_list_t **out, char *err, size_t errlen);
/* Frees a list from an_rrd_list(); NULL is allowed. */
void an_rrd_list_free(an_rrd_list_t *list);

/* The values of DS ds_name of the file at path over [start, end], CF
 * AVERAGE, from the finest archive whose rows reach back to start (librrd
 * picks it: among archives covering start, the one whose step is closest
 * to the 1 s asked for; when none does, the one covering most of the
 * range). Each point is the step ending at its time; the points are the
 * steps that overlap [start, end], so the first ends at most a step after
 * start and the last at most a step after end. Unknown (NaN) rows, such as
 * those after the file's last update, are left out.
 *
 * On success returns 0 with *points a malloc'd array of *n points in time
 * order, the caller's to free() (NULL when *n is 0), and *step the
 * archive's step in seconds. On failure *points is NULL, *n 0, and the
 * result is EINVAL (end before start), ENOENT (no DS of that name), EIO
 * (librrd could not read the file) or ENOMEM, with the reason, naming
 * the file, in err (errlen bytes). */
int an_rrd_fetch(const char *path, const char *ds_name, time_t start,
                 time_t end, an_rrd_point_t **points, size_t *n,
                 unsigned long *step, char *err, size_t errlen);

#endif
