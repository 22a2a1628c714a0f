/* store_alerts.h: the SQL of alerting: channels, rules, alerts and the
 * anomalies attached to them, silences, and the outbox of notifications
 * with the history of each delivery attempt. Like store.h's functions,
 * these run on the store worker inside its transaction, except the outbox
 * functions marked "notify thread", which the delivery thread calls on
 * its own connection. Functions return 0, ENOENT (no such record), or EIO
 * (a database error, logged). */
#ifndef AN_STORE_ALERTS_H
#define AN_STORE_ALERTS_H

#include "alerts/rules.h"
#include "conf.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stddef.h>

/* ---- channels ---- */

typedef struct an_channel {
  char *name;
  char *type; /* slack | pagerduty | webhook */
  char *url;
  char *routing_key; /* pagerduty; may be NULL */
  int from_config;   /* defined in anomalyd.conf (the API cannot delete it) */
  double created_at;
} an_channel_t;

void an_channel_clear(an_channel_t *c);

/* Makes the stored channels of anomalyd.conf exactly config's: adds or
 * updates them, removes those no longer there. API channels stay, unless
 * the config now defines one of the same name (the config wins). */
int an_store_sync_channels(sqlite3 *db, const an_config_t *config, double now);

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

typedef enum an_alert_status {
  AN_ALERT_PENDING = 0, /* fewer than the rule's minHits anomalies yet */
  AN_ALERT_FIRING,
  AN_ALERT_ACKNOWLEDGED,
  AN_ALERT_RESOLVED,
} an_alert_status_t;

/* "pending", "firing", "acknowledged", "resolved". */
const char *an_alert_status_name(int status);
/* Parses a status name; returns 0 and *out, or EINVAL. */
int an_alert_status_parse(const char *name, int *out);

typedef struct an_alert {
  char id[AN_UUID_LEN + 1];
  char rule_id[AN_UUID_LEN + 1];
  char *rule_name;
  char *source, *metric;
  int severity;      /* the rule's */
  int status;        /* an_alert_status_t */
  double created_at; /* when anomalyd opened it */
  double started_at; /* detectedAt of its first anomaly */
  double fired_at;   /* NaN while pending */
  double updated_at; /* when its last anomaly arrived */
  int hits;          /* anomalies attached */
  double max_score;
  char first_anomaly_id[64], last_anomaly_id[64];
  double acknowledged_at; /* NaN unless acknowledged */
  char *acknowledged_by;  /* the ApiKey's name */
  char *notes;
  int false_positive;
  double resolved_at;  /* NaN unless resolved */
  char *resolved_by;   /* a key's name, "auto" or "rule deleted" */
  double escalated_at; /* NaN unless escalated */
  int silenced;        /* its trigger went to no channel: a silence held */
} an_alert_t;

void an_alert_clear(an_alert_t *a);

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

typedef struct an_silence {
  char id[AN_UUID_LEN + 1];
  char *source, *metric; /* patterns (match.h); NULL matches any */
  double starts_at, ends_at;
  char *comment;
  char *created_by;
  double created_at;
} an_silence_t;

void an_silence_clear(an_silence_t *s);
int an_store_add_silence(sqlite3 *db, const an_silence_t *s);
/* Silences, newest first; with active_at finite only those in force then. */
int an_store_list_silences(sqlite3 *db, double active_at, an_silence_t **out,
                           size_t *n);
int an_store_delete_silence(sqlite3 *db, const char *id);
/* Whether a silence in force at now matches source and metric. */
int an_store_silenced(sqlite3 *db, const char *source, const char *metric,
                      double now, int *silenced);

/* ---- the outbox ---- */

typedef enum an_delivery_state {
  AN_DELIVERY_PENDING = 0, /* to be sent (again) at next_at */
  AN_DELIVERY_DELIVERED,
  AN_DELIVERY_FAILED,   /* refused (a 4xx) or given up: not retried */
  AN_DELIVERY_SILENCED, /* recorded, not sent: a silence held */
} an_delivery_state_t;

const char *an_delivery_state_name(int state);

typedef struct an_delivery {
  long long id;
  char alert_id[AN_UUID_LEN + 1];
  char *channel;
  char *event;  /* trigger | acknowledge | resolve | escalate */
  char *notice; /* the notice as JSON (notify.h) */
  int state;    /* an_delivery_state_t */
  int attempts;
  double next_at, created_at, done_at;
  int last_status; /* HTTP status of the last attempt, 0 for none */
  char *last_error;
} an_delivery_t;

void an_delivery_clear(an_delivery_t *d);

/* Queues a notification of the alert to a channel (state PENDING, due
 * now, or SILENCED). */
int an_store_outbox_add(sqlite3 *db, const char *alert_id, const char *channel,
                        const char *event, const char *notice, int state,
                        double now);
/* Channels the alert's trigger or escalation went to (not silenced), in
 * the order first notified: where its acknowledgement and resolution go. */
int an_store_alert_channels(sqlite3 *db, const char *alert_id, char ***out,
                            size_t *n);
/* The alert's notifications, oldest first, without their notices. */
int an_store_alert_deliveries(sqlite3 *db, const char *alert_id,
                              an_delivery_t **out, size_t *n);

/* A delivery attempt, for the history. */
typedef struct an_attempt {
  double at;
  int status; /* HTTP status, 0 when nothing was answered */
  char *error;
} an_attempt_t;
/* Calls fn for each attempt of a delivery, oldest first. */
int an_store_each_attempt(sqlite3 *db, long long delivery_id,
                          int (*fn)(void *ctx, const an_attempt_t *a),
                          void *ctx);

/* Notify thread: pending deliveries due at now, oldest first: the first
 * pending one of each alert and channel (so a resolve never overtakes its
 * trigger), and at most per_channel of each channel. */
int an_store_outbox_due(sqlite3 *db, double now, size_t per_channel,
                        an_delivery_t **out, size_t *n);
/* Notify thread: when the first pending delivery due after after is due
 * (NaN: none), and how many are pending. */
int an_store_outbox_next(sqlite3 *db, double after, double *next_at,
                         long long *pending);
/* Notify thread: records an attempt and the delivery's new state (and
 * next_at while it stays pending). In its own transaction. */
int an_store_outbox_result(sqlite3 *db, long long id, int state, double next_at,
                           int status, const char *error, double now);

#endif
