/* feedback.h: feedback on an anomaly and the auto-tuning it drives. Used
 * by POST /v1/anomalies/{id}/feedback and by acknowledging an alert as a
 * false positive. */
#ifndef AN_FEEDBACK_H
#define AN_FEEDBACK_H

#include "store/records.h"

#include <sqlite3.h>

/* Whether type is false_positive, confirmed or dismissed. */
int an_feedback_type_valid(const char *type);

/* On the store worker: records feedback type (and reason, may be NULL) on
 * the anomaly id and moves its series' sensitivity: a false positive makes
 * it 20 % less sensitive, a confirmation 10 % more, within [0.25, 2]. An
 * anomaly counts once: new feedback on it replaces the earlier one's
 * effect (the same feedback again moves nothing). Feedback on a
 * multivariate anomaly (an isolation forest's) moves no sensitivity: it
 * is a label for the forest's next training.
 * Fills *anomaly (the caller clears it) and *sensitivity, the series' new
 * one, which the caller hands to the engine after the commit. Returns 0,
 * ENOENT or EIO. */
int an_feedback_record(sqlite3 *db, const char *id, const char *type,
                       const char *reason, double now, an_anomaly_t *anomaly,
                       double *sensitivity);

#endif
