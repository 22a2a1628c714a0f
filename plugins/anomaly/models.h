/* models.h: trained states from anomalyd's active seasonal model, given
 * to the plugin's series (docs/models.md, "The plugin's pull").
 *
 * A pulled model (the blob of src/daemon/models/model.h) is decoded and
 * checked whole before anything is attached: a bad one changes nothing.
 * Each of its series that the plugin scores takes the trained state when
 * that state learned more values than the series has seen: a series
 * still warming up always does, one that has seen more keeps its own.
 *
 * A series the plugin does not score yet waits in a pending table and
 * takes its state with its first value, if its host is one the plugin
 * has seen values of (or was told of: collectd's Hostname). Series of
 * other hosts are not kept; once values of a new host arrive, the model
 * is wanted again whole (an_models_poll()), and its series are then
 * attached. At most pending_max series wait; the next model replaces
 * them. */
#ifndef AN_MODELS_H
#define AN_MODELS_H

#include "detector.h"
#include "series.h"

#include <stddef.h>

/* Series kept waiting for their first value by default: about 90 MB of
 * states of the default detector. */
#define AN_MODELS_PENDING_MAX 100000

typedef struct an_models an_models_t;

/* What applying a model came to; every series of the model is in one of
 * attached, pending, older, other or dropped. */
typedef struct an_models_result {
  size_t series;   /* in the model */
  size_t attached; /* took their trained state */
  size_t pending;  /* wait for their first value */
  size_t older;    /* had seen as many values or more: kept their own */
  size_t other;    /* of hosts the plugin has seen no values of */
  size_t dropped;  /* beyond pending_max, a name too long for a key, or
                      a series the model holds twice */
} an_models_result_t;

/* Models for the series of a table of detector cls. NULL when out of
 * memory. */
an_models_t *an_models_create(const an_detector_class_t *cls,
                              size_t pending_max);

/* Frees m and the states still pending. Accepts NULL. */
void an_models_free(an_models_t *m);

/* Notes a host whose series are wanted before any of its values came.
 * Returns 0 or ENOMEM. */
int an_models_add_host(an_models_t *m, const char *host);

/* Decodes a model's blob (len bytes) and attaches its series to live,
 * replacing the pending ones of the model before. Returns 0 with *out
 * filled; EINVAL with the reason in err when the blob is not a valid
 * model of live's detector (nothing changes); or ENOMEM. One call at a
 * time (the forwarder's thread); safe beside an_models_first_value(). */
int an_models_apply(an_models_t *m, an_series_table_t *live, const void *blob,
                    size_t len, an_models_result_t *out, char *err,
                    size_t errlen);

/* A series of live has just scored its first value: key is "host/metric",
 * its host the first host_len bytes. Gives the series its pending state,
 * if any (the caller then scores the value again, with it). Returns 1
 * when it got one, else 0. Safe from any thread. */
int an_models_first_value(an_models_t *m, an_series_table_t *live,
                          const char *key, size_t host_len);

/* Since the last call: how many pending series took their state at their
 * first value (*attached), how many still wait (*pending), and whether
 * values of a host came that the last model's series were not kept for
 * (*stale: the model is wanted again). */
void an_models_poll(an_models_t *m, size_t *attached, size_t *pending,
                    int *stale);

#endif
