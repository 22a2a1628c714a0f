/* engine.h: scoring of pushed points (POST /v1/data) with libanomaly, one
 * series per source and metric, and the sources the daemon knows. Used on
 * the event loop thread. Detector state is checkpointed to the store every
 * minute and at shutdown; at start the checkpoint is restored and the
 * points stored after it are replayed, so the state is as it was even
 * after kill -9. Every minute the points older than Retention are pruned,
 * in chunks of store jobs, but never those newer than a checkpoint. */
#ifndef AN_ENGINE_H
#define AN_ENGINE_H

#include "daemon.h"
#include "detector.h"
#include "uuid.h"

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

/* How a series' point was answered. The engine keeps it for the series'
 * last point, so that a client resending that point (after a 503, or a
 * lost answer) gets the same answer and the detector does not learn the
 * point twice. */
typedef struct an_engine_answer {
  an_result_t result;
  char point_id[AN_UUID_LEN + 1];   /* the dataPointId answered */
  char anomaly_id[AN_UUID_LEN + 1]; /* the anomaly's id, if it is one */
} an_engine_answer_t;

/* Scores value at time t in the series source/metric (source known to
 * the engine). On entry answer's ids are the ones a new point gets; on
 * return answer->result is filled. Returns 0; EALREADY when (t, value) is
 * the series' last point: *answer is then its first answer, ids
 * included, and nothing is learned; ERANGE when t is not after the
 * series' last time (*last says which); E2BIG when the series would be
 * one more than MaxSeriesPerSource for its source (nothing is kept);
 * EINVAL for a key too long; ENOMEM. */
int an_engine_score(an_engine_t *e, const char *source, const char *metric,
                    double t, double value, an_engine_answer_t *answer,
                    double *last);

/* Sets a series' sensitivity for later scores. */
int an_engine_set_sensitivity(an_engine_t *e, const char *source,
                              const char *metric, double sensitivity);

#endif
