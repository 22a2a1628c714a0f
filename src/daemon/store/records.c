/* records.c: the records' names and clear functions (records.h). */
#include "store/records.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- anomalies ---- */

static const char *const status_names[] = {"detected", "acknowledged",
                                           "resolved"};
/* Driftlock's names for the same statuses. */
static const char *const status_aliases[] = {"new", "viewed", "archived"};

void an_anomaly_clear(an_anomaly_t *a) {
  free(a->source);
  free(a->metric);
  free(a->explanation);
  free(a->kind);
  free(a->feedback_type);
  free(a->feedback_reason);
  memset(a, 0, sizeof(*a));
}

const char *an_status_name(int status) {
  return status_names[status >= 0 && status <= AN_STATUS_RESOLVED ? status : 0];
}

int an_status_parse(const char *name, int *out) {
  for (int i = 0; i <= AN_STATUS_RESOLVED; i++)
    if (strcasecmp(name, status_names[i]) == 0 ||
        strcasecmp(name, status_aliases[i]) == 0) {
      *out = i;
      return 0;
    }
  return EINVAL;
}

/* ---- channels ---- */

void an_channel_clear(an_channel_t *c) {
  free(c->name);
  free(c->type);
  free(c->url);
  free(c->routing_key);
  memset(c, 0, sizeof(*c));
}

/* ---- alerts ---- */

static const char *const alert_status_names[] = {"pending", "firing",
                                                 "acknowledged", "resolved"};

const char *an_alert_status_name(int status) {
  return status >= 0 && status <= AN_ALERT_RESOLVED ? alert_status_names[status]
                                                    : "unknown";
}

int an_alert_status_parse(const char *name, int *out) {
  for (int i = 0; i <= AN_ALERT_RESOLVED; i++)
    if (strcmp(name, alert_status_names[i]) == 0) {
      *out = i;
      return 0;
    }
  return EINVAL;
}

void an_alert_clear(an_alert_t *a) {
  free(a->rule_name);
  free(a->source);
  free(a->metric);
  free(a->acknowledged_by);
  free(a->notes);
  free(a->resolved_by);
  memset(a, 0, sizeof(*a));
}

/* ---- silences ---- */

void an_silence_clear(an_silence_t *s) {
  free(s->source);
  free(s->metric);
  free(s->comment);
  free(s->created_by);
  memset(s, 0, sizeof(*s));
}

/* ---- notifications in the outbox ---- */

static const char *const delivery_state_names[] = {"pending", "delivered",
                                                   "failed", "silenced"};

const char *an_delivery_state_name(int state) {
  return state >= 0 && state <= AN_DELIVERY_SILENCED
             ? delivery_state_names[state]
             : "unknown";
}

void an_delivery_clear(an_delivery_t *d) {
  free(d->channel);
  free(d->event);
  free(d->notice);
  free(d->last_error);
  memset(d, 0, sizeof(*d));
}
