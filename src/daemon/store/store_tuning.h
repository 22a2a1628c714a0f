/* store_tuning.h: the SQL of auto-tuning: each series' sensitivity, which
 * feedback moves (feedback.h) and the plugin pulls (GET /v1/tuning).
 *
 * Every function runs on the store worker inside its transaction, or at
 * start-up through an_store_run_now(). Functions return 0, EIO (a
 * database error, logged once in sql.c) or, for an_store_each_tuning, the
 * first non-zero result of fn. Strings are the caller's. */
#ifndef AN_STORE_TUNING_H
#define AN_STORE_TUNING_H

#include <sqlite3.h>

/* A series' sensitivity into *out: 1 when never tuned. */
int an_store_get_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double *out);
/* Sets a series' sensitivity, tuned at time at. */
int an_store_put_sensitivity(sqlite3 *db, const char *source,
                             const char *metric, double sensitivity, double at);

/* Calls fn for every tuned series, by source and metric; the strings
 * passed live until fn returns. */
int an_store_each_tuning(sqlite3 *db,
                         int (*fn)(void *ctx, const char *source,
                                   const char *metric, double sensitivity,
                                   double at),
                         void *ctx);

#endif
