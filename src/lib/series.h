/* series.h: the table of series, each with its own detector state.
 *
 * Keyed by the series identifier (for collectd,
 * "host/plugin[-instance]/type[-instance]" and the data source name). Safe
 * for several threads updating at once: the table is split into stripes,
 * each with its own lock and growing on its own, so threads working on
 * different series rarely wait for each other and no lock ever covers the
 * whole table. */
#ifndef AN_SERIES_H
#define AN_SERIES_H

#include "detector.h"

#include <stddef.h>
#include <stdint.h>

typedef struct an_series_table an_series_table_t;

/* A table whose series use detector cls. Returns NULL when out of memory.
 * The table keeps the pointer; cls must outlive it. */
an_series_table_t *an_series_table_create(const an_detector_class_t *cls);

/* Frees the table and every series. Accepts NULL. */
void an_series_table_destroy(an_series_table_t *table);

/* Scores value (at time t in seconds, NaN if unknown) in the series named
 * key, creating the series on first sight, and fills *result (result->seen
 * counts the series' values, for warm-up rules). Returns 0,
 * EINVAL for an empty or over-long key (result untouched) or ENOMEM. */
int an_series_table_update(an_series_table_t *table, const char *key, double t,
                           double value, an_result_t *result);

/* an_series_table_update() for a key of len bytes (no NUL needed after
 * them, and none among them), for a caller that knows the length (the
 * plugin's hot path saves a strlen()) and the values' collectd type
 * (an_hint_of_type(); NULL when unknown), which sets up a series created
 * by this call. */
int an_series_table_update_len(an_series_table_t *table, const char *key,
                               size_t len, const char *type, double t,
                               double value, an_result_t *result);

/* Like an_series_table_update(), but refuses a value whose time t is not
 * after the series' last accepted time: returns ERANGE (nothing changes)
 * and sets *last to that time. t must be finite. */
int an_series_table_update_ordered(an_series_table_t *table, const char *key,
                                   double t, double value, an_result_t *result,
                                   double *last);

/* Sets how sensitive the series is: its scores are computed as if each
 * p-value were raised to this power (1 is neutral, < 1 alarms less,
 * > 1 more). Creates the series if needed. Returns 0, EINVAL for a
 * non-positive or non-finite factor or a bad key, or ENOMEM. */
int an_series_table_set_sensitivity(an_series_table_t *table, const char *key,
                                    double sensitivity);

/* Forgets the series. Returns 0, or ENOENT when there is none. */
int an_series_table_remove(an_series_table_t *table, const char *key);

/* Number of series. */
size_t an_series_table_count(const an_series_table_t *table);

/* Bytes the table holds: entries, keys, states and the bucket array. */
size_t an_series_table_bytes(const an_series_table_t *table);

/* A series as saved: its key, how it is tuned and what it has learned. */
typedef struct an_series_info {
  const char *key;
  double sensitivity;
  double last_t;    /* time of the last value, NaN when unknown */
  uint32_t seen;    /* values scored */
  const void *blob; /* the detector state as an_detector_save() writes it */
  size_t len;
} an_series_info_t;

/* Called once per series by an_series_table_save(); info and what it
 * points to are valid only during the call. A non-zero return stops the
 * walk and is returned by the save. */
typedef int (*an_series_save_cb)(void *ctx, const an_series_info_t *info);

/* Walks every series, stripe by stripe, holding only that stripe's lock. */
int an_series_table_save(an_series_table_t *table, an_series_save_cb cb,
                         void *ctx);

/* Creates or replaces the series info->key with a state saved by
 * an_series_table_save(). Returns 0, EINVAL when the blob is not a valid
 * state of this table's detector or a field is out of range (nothing
 * changes), or ENOMEM. */
int an_series_table_restore(an_series_table_t *table,
                            const an_series_info_t *info);

/* Gives the series key a trained detector state (the table's detector's
 * state_size bytes as it keeps them, already checked with its check())
 * that learned seen values, the last at last_t (NaN when unknown), when
 * that is more than the series has seen; the series' sensitivity stays.
 * seen beyond UINT32_MAX counts as UINT32_MAX. A series not in the table
 * is created with the state when create is set. Returns 0 (the series has
 * the state now), EEXIST (it has seen as many values or more: unchanged),
 * ENOENT (no such series and create unset), EINVAL (a bad key, or last_t
 * infinite) or ENOMEM. */
int an_series_table_seed(an_series_table_t *table, const char *key,
                         const void *state, double last_t, uint64_t seen,
                         int create);

/* Removes the series key, copying its detector state (state_size bytes)
 * into state, its last time into *last_t and its count into *seen: for a
 * table that holds states until their series shows up. Returns 0, or
 * ENOENT when there is none (nothing written). */
int an_series_table_take(an_series_table_t *table, const char *key, void *state,
                         double *last_t, uint32_t *seen);

/* Longest key accepted, in bytes. */
#define AN_SERIES_KEY_MAX 1023

#endif
