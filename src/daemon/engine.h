/* engine.h: scoring of pushed points (POST /v1/data) with libanomaly, one
 * series per source and metric, and the sources the daemon knows. Used on
 * the event loop thread. Detector state is checkpointed to the store every
 * minute and at shutdown; at start the checkpoint is restored and the
 * points stored after it are replayed, so the state is as it was even
 * after kill -9. */
#ifndef AN_ENGINE_H
#define AN_ENGINE_H

#include "daemon.h"
#include "detector.h"

#include <stddef.h>

int an_engine_open(an_daemon_t *d, an_engine_t **out, char *err, size_t errlen);

/* Writes a last checkpoint, with an_store_run_now(): call it after
 * an_store_stop(). Frees the engine. Accepts NULL. */
void an_engine_close(an_engine_t *e);

/* Whether the source is configured or registered. */
int an_engine_knows_source(an_engine_t *e, const char *source);

/* Adds a source to the known ones (the caller stores it). Returns 0 or
 * ENOMEM. */
int an_engine_add_source(an_engine_t *e, const char *source);

/* Scores value at time t in the series source/metric. Returns 0; ERANGE
 * when t is not after the series' last time (*last says which); EINVAL
 * for a key too long; ENOMEM. */
int an_engine_score(an_engine_t *e, const char *source, const char *metric,
                    double t, double value, an_result_t *result, double *last);

/* Sets a series' sensitivity for later scores. */
int an_engine_set_sensitivity(an_engine_t *e, const char *source,
                              const char *metric, double sensitivity);

#endif
