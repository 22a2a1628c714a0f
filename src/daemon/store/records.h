/* records.h: the records the store reads and writes (anomalies, channels,
 * alerts, silences, notifications in the outbox) and the names of their
 * statuses. Plain C and no SQL: the renderers and their tests use these
 * without a database.
 *
 * A record's strings are malloc'd and owned by the record: its clear
 * function frees them and zeroes it (clearing a zeroed record does
 * nothing). Fixed-size ids are arrays inside the record. */
#ifndef AN_RECORDS_H
#define AN_RECORDS_H

#include "uuid.h"

/* ---- anomalies ---- */

typedef enum an_status {
  AN_STATUS_DETECTED = 0,
  AN_STATUS_ACKNOWLEDGED,
  AN_STATUS_RESOLVED,
} an_status_t;

typedef struct an_anomaly {
  char id[64];
  char *source;
  char *metric;
  double value;
  double expected;
  double score;
  int severity; /* an_severity_t */
  int status;   /* an_status_t */
  double detected_at;
  char *explanation;
  char *kind;
  double p_value; /* NaN when unknown */
  double ncd;     /* NaN when unknown */
  int has_evidence;
  char *feedback_type; /* NULL when none */
  char *feedback_reason;
  double feedback_at;
  double created_at;
} an_anomaly_t;

void an_anomaly_clear(an_anomaly_t *a);

/* "detected", "acknowledged", "resolved"; "detected" for a value out of
 * range (as the API has always shown one). */
const char *an_status_name(int status);
/* Parses a status name, or Driftlock's alias (new, viewed, archived), in
 * any case. Returns 0 and *out, or EINVAL. */
int an_status_parse(const char *name, int *out);

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

/* ---- alerts ---- */

typedef enum an_alert_status {
  AN_ALERT_PENDING = 0, /* fewer than the rule's minHits anomalies yet */
  AN_ALERT_FIRING,
  AN_ALERT_ACKNOWLEDGED,
  AN_ALERT_RESOLVED,
} an_alert_status_t;

/* "pending", "firing", "acknowledged", "resolved"; "unknown" out of
 * range. */
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

/* ---- notifications in the outbox ---- */

typedef enum an_delivery_state {
  AN_DELIVERY_PENDING = 0, /* to be sent (again) at next_at */
  AN_DELIVERY_DELIVERED,
  AN_DELIVERY_FAILED,   /* refused (a 4xx) or given up: not retried */
  AN_DELIVERY_SILENCED, /* recorded, not sent: a silence held */
} an_delivery_state_t;

/* "pending", "delivered", "failed", "silenced"; "unknown" out of range. */
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

/* A delivery attempt, for the history. Passed to callbacks only: error
 * belongs to the store and lives until the callback returns. */
typedef struct an_attempt {
  double at;
  int status; /* HTTP status, 0 when nothing was answered */
  char *error;
} an_attempt_t;

#endif
