/* store_series.h: the SQL of the series the engine scores: registered
 * sources, the points pushed with POST /v1/data, and the detectors'
 * checkpoints, from which the engine restores its state at start.
 *
 * Every function takes the connection db: on the store worker inside its
 * transaction, or at start-up and shutdown through an_store_run_now().
 * Functions return 0, EIO (a database error, logged once in sql.c) or,
 * for the each_ functions, the first non-zero result of fn, which ends
 * the walk. Strings are the caller's; those passed to fn live until fn
 * returns. */
#ifndef AN_STORE_SERIES_H
#define AN_STORE_SERIES_H

#include <sqlite3.h>
#include <stddef.h>

/* Registers a source (configured ones are in the config), once. */
int an_store_add_source(sqlite3 *db, const char *source, double at);
/* Calls fn for every registered source. */
int an_store_each_source(sqlite3 *db, int (*fn)(void *ctx, const char *source),
                         void *ctx);

/* Appends a scored value to the history; a series keeps one point per
 * time (a resent point is stored once). */
int an_store_put_point(sqlite3 *db, const char *source, const char *metric,
                       double t, double value, double score);

/* Deletes at most limit points older than before, oldest first, and
 * says how many in *deleted (fewer than limit: none is left to delete). A point
 * newer than its series' checkpoint is kept whatever its age (a restart replays
 * it); the points of a series without a checkpoint (one the engine does
 * not hold, or a new one not yet checkpointed) are not protected. */
int an_store_prune_points(sqlite3 *db, double before, int limit, int *deleted);

/* Writes the checkpoint of a detector (blob: len bytes, copied), keyed
 * "source/metric", replacing the one before. */
int an_store_put_state(sqlite3 *db, const char *key, double sensitivity,
                       double last_t, const void *blob, size_t len);
/* Calls fn for every checkpoint. */
int an_store_each_state(sqlite3 *db,
                        int (*fn)(void *ctx, const char *key,
                                  double sensitivity, double last_t,
                                  const void *blob, size_t len),
                        void *ctx);
/* Calls fn for the points newer than their series' checkpoint (every
 * point of a series without one), series by series, each in time order:
 * what a restart scores again. Reads one range of the points_series
 * index per series, not the whole table. */
int an_store_each_point_after_state(sqlite3 *db,
                                    int (*fn)(void *ctx, const char *source,
                                              const char *metric, double t,
                                              double value),
                                    void *ctx);

/* For training, on any connection (its statements are not cached): calls
 * fn for every series that has points, by source and metric. */
int an_store_each_series(sqlite3 *db,
                         int (*fn)(void *ctx, const char *source,
                                   const char *metric),
                         void *ctx);
/* Calls fn for the points of one series from start to end (inclusive),
 * in time order; on any connection. */
int an_store_each_point_in_range(sqlite3 *db, const char *source,
                                 const char *metric, double start, double end,
                                 int (*fn)(void *ctx, double t, double value),
                                 void *ctx);

#endif
