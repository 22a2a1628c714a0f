/* store_alerts.h: the SQL of alerting: channels, rules, alerts and the
 * anomalies attached to them, and silences.
 *
 * Every function runs on the store worker inside its transaction (an
 * an_store_fn, store.h), on the connection db; an_store_sync_channels
 * also at start-up through an_store_run_now(). Functions return 0,
 * ENOENT (no such record), or EIO (a database error, logged once in
 * sql.c), and the others named. Records filled are the caller's to clear
 * (records.h), on every result; arrays returned in *out are malloc'd and
 * the caller's (clear each, then free the array), also after a failure.
 * Strings passed in are the caller's. */
#ifndef AN_STORE_ALERTS_H
#define AN_STORE_ALERTS_H

#include "alerts/rules.h"
#include "conf.h"
#include "store/records.h"

#include <sqlite3.h>
#include <stddef.h>

/* ---- channels ---- */

/* Makes the stored channels of anomalyd.conf exactly config's: adds or
 * updates them, removes those no longer there. API channels stay, unless
 * the config now defines one of the same name (the config wins). */
int an_store_sync_channels(sqlite3 *db, const an_config_t *config, double now);

/* Reads channel name into *out. Also on the delivery thread's connection
 * (not through the statement cache). */
int an_store_get_channel(sqlite3 *db, const char *name, an_channel_t *out);
/* Every channel by name; *out is malloc'd (clear each, free it). */
int an_store_list_channels(sqlite3 *db, an_channel_t **out, size_t *n);
/* Adds an API channel. EEXIST when the name is taken. */
int an_store_add_channel(sqlite3 *db, const an_channel_t *c);
/* Deletes an API channel. EPERM for a channel of anomalyd.conf, EBUSY
 * when a rule uses it (its name in rule, rulelen bytes). */
int an_store_delete_channel(sqlite3 *db, const char *name, char *rule,
                            size_t rulelen);

/* ---- rules ---- */

/* Inserts r, or with replace updates the rule of r's id (ENOENT when
 * there is none). Before either, every channel r names must exist:
 * otherwise EINVAL with the field at fault in err. */
int an_store_put_rule(sqlite3 *db, const an_rule_t *r, int replace, char *err,
                      size_t errlen);
int an_store_get_rule(sqlite3 *db, const char *id, an_rule_t *out);
/* Every rule, oldest first; *out is malloc'd (clear each, free it). */
int an_store_list_rules(sqlite3 *db, an_rule_t **out, size_t *n);
int an_store_delete_rule(sqlite3 *db, const char *id);
/* Calls fn for every enabled rule whose threshold is at most score, until
 * fn returns non-zero (which is returned). The rule is cleared after fn;
 * fn may keep its strings by zeroing *r. */
int an_store_each_rule_upto(sqlite3 *db, double score,
                            int (*fn)(void *ctx, an_rule_t *r), void *ctx);

/* ---- alerts ---- */

/* Inserts or updates the alert of a->id. */
int an_store_save_alert(sqlite3 *db, const an_alert_t *a);
int an_store_get_alert(sqlite3 *db, const char *id, an_alert_t *out);
/* The open (not resolved) alert of a rule and series. */
int an_store_find_open_alert(sqlite3 *db, const char *rule_id,
                             const char *source, const char *metric,
                             an_alert_t *out);
/* Deletes an alert with its links (a pending alert that expired). */
int an_store_delete_alert(sqlite3 *db, const char *id);
int an_store_link_anomaly(sqlite3 *db, const char *alert_id,
                          const char *anomaly_id);
/* The alert's anomalies, newest first, at most limit. */
int an_store_alert_anomalies(sqlite3 *db, const char *alert_id, int limit,
                             an_anomaly_t **out, size_t *n);

/* Ids of alerts, collected before anything changes them. */
typedef struct an_ids {
  char (*ids)[AN_UUID_LEN + 1];
  size_t n;
} an_id_list_t;
void an_id_list_free(an_id_list_t *ids);

/* Open alerts that have been quiet for their rule's resolveAfter. */
int an_store_alerts_quiet(sqlite3 *db, double now, an_id_list_t *out);
/* Firing alerts unacknowledged past their rule's escalation timeout and
 * not yet escalated. */
int an_store_alerts_unacknowledged(sqlite3 *db, double now, an_id_list_t *out);
/* Pending alerts whose rule's window has passed. */
int an_store_alerts_expired(sqlite3 *db, double now, an_id_list_t *out);
/* Open alerts of a rule. */
int an_store_alerts_of_rule(sqlite3 *db, const char *rule_id,
                            an_id_list_t *out);

/* Filters of GET /v1/alerts; 0 / NaN / NULL mean any. */
typedef struct an_alert_filter {
  unsigned statuses;   /* bit (1 << an_alert_status_t) */
  unsigned severities; /* bit (1 << an_severity_t) */
  const char *rule_id, *source, *metric;
  double start, end; /* created_at range, inclusive */
  int limit;
  double after_t; /* keyset: rows after (after_t, after_id), newest first */
  const char *after_id;
} an_alert_filter_t;

/* A page of alerts, newest first, and the count of all matches. */
int an_store_list_alerts(sqlite3 *db, const an_alert_filter_t *f,
                         an_alert_t **out, size_t *n, long long *total);

/* ---- silences ---- */

int an_store_add_silence(sqlite3 *db, const an_silence_t *s);
/* Silences, newest first; with active_at finite only those in force then. */
int an_store_list_silences(sqlite3 *db, double active_at, an_silence_t **out,
                           size_t *n);
int an_store_delete_silence(sqlite3 *db, const char *id);
/* Whether a silence in force at now matches source and metric. */
int an_store_silenced(sqlite3 *db, const char *source, const char *metric,
                      double now, int *silenced);

#endif
