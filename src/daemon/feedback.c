#include "feedback.h"

#include <math.h>
#include <string.h>

int an_feedback_type_valid(const char *type) {
  return strcmp(type, "false_positive") == 0 ||
         strcmp(type, "confirmed") == 0 || strcmp(type, "dismissed") == 0;
}

static double tuned(double sensitivity, const char *type) {
  if (strcmp(type, "false_positive") == 0)
    sensitivity *= 0.8;
  else if (strcmp(type, "confirmed") == 0)
    sensitivity *= 1.1;
  return fmin(2.0, fmax(0.25, sensitivity));
}

int an_feedback_record(sqlite3 *db, const char *id, const char *type,
                       const char *reason, double now, an_anomaly_t *anomaly,
                       double *sensitivity) {
  memset(anomaly, 0, sizeof(*anomaly)); /* the caller clears it, always */
  int rc = an_store_set_feedback(db, id, type, reason, now);
  if (rc == 0)
    rc = an_store_get_anomaly(db, id, anomaly);
  if (rc == 0)
    rc = an_store_get_sensitivity(db, anomaly->source, anomaly->metric,
                                  sensitivity);
  if (rc == 0) {
    *sensitivity = tuned(*sensitivity, type);
    rc = an_store_put_sensitivity(db, anomaly->source, anomaly->metric,
                                  *sensitivity, now);
  }
  return rc;
}
