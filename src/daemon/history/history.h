/* history.h: every series training can read, in one list: the points
 * pushed with POST /v1/data (the points table) and collectd's RRD files
 * under RRDDir (rrd.h), each named by its sourceId and metric, and
 * narrowed to a scope.
 *
 * A scope is a sourceId and a metric pattern, each exact or a shell glob
 * ('*' also crosses '/'), NULL for every one: alert rules' patterns
 * (alerts/match.h, an_match_source), so a pattern means one thing
 * everywhere. A series both pushed and in an RRD file is read from the
 * points.
 *
 * For a training worker: db is its own connection; nothing here logs. */
#ifndef AN_HISTORY_H
#define AN_HISTORY_H

#include <sqlite3.h>
#include <stddef.h>

typedef struct an_history_series {
  char *source_id, *metric;
  char *type;              /* collectd's type, for an RRD series; else NULL */
  char *rrd_path, *rrd_ds; /* NULL for pushed points */
} an_history_series_t;

typedef struct an_history {
  an_history_series_t *series; /* pushed ones by name, then RRD files' */
  size_t n;
  char **errors; /* RRD files or folders that could not be read */
  size_t n_errors;
} an_history_t;

/* One value of a series. */
typedef struct an_history_point {
  double t, value;
} an_history_point_t;

/* Whether (source, metric) is in the scope of the two patterns. */
int an_history_in_scope(const char *source_pattern, const char *metric_pattern,
                        const char *source, const char *metric);

/* Lists the series in scope: the pushed ones from db, then those of the
 * RRD files under rrd_dir (NULL: none); an rrd_dir, file or folder that
 * cannot be read is named in the list's errors. Returns 0 with *out (free
 * it with an_history_free()), or EIO or ENOMEM with the reason in err and
 * *out NULL. */
int an_history_list(sqlite3 *db, const char *rrd_dir,
                    const char *source_pattern, const char *metric_pattern,
                    an_history_t **out, char *err, size_t errlen);
/* Accepts NULL. */
void an_history_free(an_history_t *h);

/* The values of series s from start to end, in time order: *points
 * malloc'd (the caller's; NULL when *n is 0). Returns 0, or EIO or ENOMEM
 * with the reason in err. */
int an_history_fetch(sqlite3 *db, const an_history_series_t *s, double start,
                     double end, an_history_point_t **points, size_t *n,
                     char *err, size_t errlen);

#endif
