#include "feedback.h"
#include "store/store_anomalies.h"
#include "store/store_tuning.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int an_feedback_type_valid(const char *type) {
  return strcmp(type, "false_positive") == 0 ||
         strcmp(type, "confirmed") == 0 || strcmp(type, "dismissed") == 0;
}

/* How much feedback of type moves a series' sensitivity (NULL: none). */
static double factor(const char *type) {
  if (type != NULL && strcmp(type, "false_positive") == 0)
    return 0.8;
  if (type != NULL && strcmp(type, "confirmed") == 0)
    return 1.1;
  return 1.0;
}

/* An anomaly counts once: feedback replacing earlier feedback on it takes
 * the earlier one's effect back, so repeating it moves nothing (seven
 * repeats used to take a series from 0.8 to the floor of 0.25). */
static double tuned(double sensitivity, const char *before, const char *type) {
  sensitivity *= factor(type) / factor(before);
  return fmin(2.0, fmax(0.25, sensitivity));
}

static int multivariate(const an_anomaly_t *a) {
  return a->kind != NULL && strcmp(a->kind, "multivariate") == 0;
}

int an_feedback_record(sqlite3 *db, const char *id, const char *type,
                       const char *reason, double now, an_anomaly_t *anomaly,
                       double *sensitivity) {
  char before[32] = "";
  memset(anomaly, 0, sizeof(*anomaly)); /* the caller clears it, always */
  int rc = an_store_get_anomaly(db, id, anomaly); /* ENOENT: a 404 */
  if (rc == 0 && anomaly->feedback_type != NULL)
    snprintf(before, sizeof(before), "%s", anomaly->feedback_type);
  an_anomaly_clear(anomaly);
  if (rc == 0)
    rc = an_store_set_feedback(db, id, type, reason, now);
  if (rc == 0)
    rc = an_store_get_anomaly(db, id, anomaly);
  if (rc == 0)
    rc = an_store_get_sensitivity(db, anomaly->source, anomaly->metric,
                                  sensitivity);
  /* a multivariate anomaly is its source's isolation forest's, not its
   * metric's detector's: that detector is not tuned by it */
  if (rc == 0 && !multivariate(anomaly)) {
    *sensitivity = tuned(*sensitivity, before[0] ? before : NULL, type);
    rc = an_store_put_sensitivity(db, anomaly->source, anomaly->metric,
                                  *sensitivity, now);
  }
  return rc;
}
