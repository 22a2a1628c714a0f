/* alerts.h: the alert lifecycle. Every anomaly stored is evaluated
 * against the rules; one open alert per rule and series collects them
 * (pending until the rule's minHits, then firing), and moves on to
 * acknowledged and resolved, by hand or once its series has been quiet for
 * the rule's resolveAfter. Each change that should reach people queues its
 * notifications in the outbox (notify.h).
 *
 * The an_alerts_* functions that take a db run on the store worker inside
 * the transaction of the work that caused them, so an anomaly, its alert
 * and its notifications are committed together or not at all. Each takes
 * the now of that work (a request's, the check's tick) and reads no clock
 * of its own. */
#ifndef AN_ALERTS_H
#define AN_ALERTS_H

#include "daemon.h"
#include "store/store.h"
#include "store/store_alerts.h"

typedef struct an_alerts an_alerts_t;

/* Starts the once-a-second check (auto-resolve, escalation, expiry of
 * pending alerts) on the event loop. Returns 0 or ENOMEM. */
int an_alerts_open(an_daemon_t *d, an_alerts_t **out);
/* Stops the check. Accepts NULL. */
void an_alerts_close(an_alerts_t *a);

/* Stores anomaly a unless its id is stored already (*inserted says
 * which) and evaluates the rules on a new one at now. */
int an_alerts_record_anomaly(sqlite3 *db, an_daemon_t *d, const an_anomaly_t *a,
                             double now, int *inserted);

/* What acknowledging as a false positive did to the series' tuning. */
typedef struct an_alert_feedback {
  int given; /* feedback was recorded on the alert's first anomaly */
  char *source, *metric;
  double sensitivity;
} an_alert_feedback_t;

void an_alert_feedback_clear(an_alert_feedback_t *f);

/* Acknowledges alert id (notes may be NULL; by is the key's name) and,
 * when false_positive, records that feedback on the anomaly that fired it.
 * Stops escalation; notifies the channels the alert went to. *out is the
 * updated alert. Returns 0, ENOENT, EALREADY (it is resolved) or EIO. */
int an_alerts_acknowledge(sqlite3 *db, an_daemon_t *d, const char *id,
                          const char *notes, int false_positive, const char *by,
                          double now, an_alert_t *out,
                          an_alert_feedback_t *feedback);

/* Resolves alert id by hand. Resolving a resolved alert changes nothing.
 * Returns 0, ENOENT or EIO. */
int an_alerts_resolve(sqlite3 *db, an_daemon_t *d, const char *id,
                      const char *notes, const char *by, double now,
                      an_alert_t *out);

/* Resolves the open alerts of a rule about to be deleted. */
int an_alerts_resolve_rule(sqlite3 *db, an_daemon_t *d, const char *rule_id,
                           double now);

/* The periodic check at now: resolves alerts quiet for their rule's
 * resolveAfter, escalates firing ones unacknowledged past their rule's
 * timeout, drops pending ones whose window passed. Returns 0, or the
 * first error (ENOMEM, EIO). */
int an_alerts_check(sqlite3 *db, an_daemon_t *d, double now);

#endif
