/* alerts.c: rules applied to anomalies, the lifecycle of alerts, and the
 * notifications each step queues. */
#include "alerts/alerts.h"
#include "clock.h"
#include "conf.h"
#include "feedback.h"
#include "ids.h"
#include "notify/notify.h"
#include "severity.h"
#include "store/store_anomalies.h"
#include "store/store_outbox.h"

#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define CHECK_SECONDS 1

struct an_alerts {
  an_daemon_t *daemon;
  struct event *timer;
  int checking; /* a check is queued and not done yet */
  double now;   /* the tick's, for the queued check */
};

/* ---- notifications ---- */

/* Queues the notice of event on alert a to channel, in state. */
static int queue(sqlite3 *db, an_daemon_t *d, const an_alert_t *a,
                 const an_rule_t *rule, const char *event, const char *channel,
                 int state, double now) {
  an_anomaly_t latest;
  int have = an_store_get_anomaly(db, a->last_anomaly_id, &latest) == 0;
  char *notice = an_notice_json(event, a, have ? &latest : NULL, rule,
                                d->config->public_url, now);
  if (have)
    an_anomaly_clear(&latest);
  if (notice == NULL)
    return ENOMEM;
  int rc = an_store_outbox_add(db, a->id, channel, event, notice, state, now);
  free(notice);
  if (rc == 0 && state == AN_DELIVERY_PENDING)
    an_notify_queued(d->notify);
  return rc;
}

/* Sends event to channels, each recorded as silenced instead when a
 * silence holds. Sets a->silenced when nothing was sent. */
static int notify_channels(sqlite3 *db, an_daemon_t *d, an_alert_t *a,
                           const an_rule_t *rule, const char *event,
                           char *const *channels, size_t n, double now) {
  int silenced = 0;
  int rc = an_store_silenced(db, a->source, a->metric, now, &silenced);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = queue(db, d, a, rule, event, channels[i],
               silenced ? AN_DELIVERY_SILENCED : AN_DELIVERY_PENDING, now);
  if (n > 0)
    a->silenced = silenced;
  return rc;
}

/* Tells every channel the alert was sent to (acknowledge, resolve): these
 * follow a notification that went out, so a silence does not hold them
 * back (an incident paged must be resolved where it was paged). */
static int notify_followers(sqlite3 *db, an_daemon_t *d, const an_alert_t *a,
                            const char *event, double now) {
  char **channels;
  size_t n;
  int rc = an_store_alert_channels(db, a->id, &channels, &n);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = queue(db, d, a, NULL, event, channels[i], AN_DELIVERY_PENDING, now);
  for (size_t i = 0; i < n; i++)
    free(channels[i]);
  free(channels);
  return rc;
}

/* ---- anomalies against rules ---- */

typedef struct evaluation {
  an_daemon_t *daemon;
  const an_anomaly_t *anomaly;
  sqlite3 *db;
  double now;
} evaluation_t;

static int fire(sqlite3 *db, an_daemon_t *d, an_alert_t *a,
                const an_rule_t *rule, double now) {
  a->status = AN_ALERT_FIRING;
  a->fired_at = now;
  return notify_channels(db, d, a, rule, "trigger", rule->channels,
                         rule->nchannels, now);
}

/* When anomaly x matches rule: attach it to the rule's open alert of its
 * series, or open one. */
static int apply_rule(void *ctx, an_rule_t *rule) {
  evaluation_t *e = ctx;
  const an_anomaly_t *x = e->anomaly;
  if (!an_rule_matches(rule, x->source, x->metric, x->score))
    return 0;
  an_alert_t a;
  int rc = an_store_find_open_alert(e->db, rule->id, x->source, x->metric, &a);
  if (rc == 0 && a.status == AN_ALERT_PENDING &&
      a.created_at + rule->window < e->now) {
    /* too few hits in its window: start counting again */
    rc = an_store_delete_alert(e->db, a.id);
    an_alert_clear(&a);
    if (rc != 0)
      return rc;
    rc = ENOENT;
  }
  if (rc == ENOENT) {
    memset(&a, 0, sizeof(a));
    an_ids_new(a.id);
    snprintf(a.rule_id, sizeof(a.rule_id), "%s", rule->id);
    a.rule_name = strdup(rule->name);
    a.source = strdup(x->source);
    a.metric = strdup(x->metric);
    a.severity = rule->severity;
    a.status = AN_ALERT_PENDING;
    a.created_at = e->now;
    a.started_at = x->detected_at;
    a.fired_at = a.acknowledged_at = a.resolved_at = a.escalated_at = NAN;
    snprintf(a.first_anomaly_id, sizeof(a.first_anomaly_id), "%s", x->id);
    if (a.rule_name == NULL || a.source == NULL || a.metric == NULL) {
      an_alert_clear(&a);
      return ENOMEM;
    }
    rc = 0;
  }
  if (rc != 0)
    return rc;
  a.hits++;
  a.updated_at = e->now;
  a.max_score = fmax(a.max_score, x->score);
  snprintf(a.last_anomaly_id, sizeof(a.last_anomaly_id), "%s", x->id);
  /* saved before its notices are made: they read its latest anomaly */
  rc = an_store_save_alert(e->db, &a);
  if (rc == 0)
    rc = an_store_link_anomaly(e->db, a.id, x->id);
  if (rc == 0 && a.status == AN_ALERT_PENDING && a.hits >= rule->min_hits) {
    rc = fire(e->db, e->daemon, &a, rule, e->now);
    if (rc == 0)
      rc = an_store_save_alert(e->db, &a);
  }
  an_alert_clear(&a);
  return rc;
}

int an_alerts_record_anomaly(sqlite3 *db, an_daemon_t *d, const an_anomaly_t *a,
                             double now, int *inserted) {
  int rc = an_store_put_anomaly(db, a, inserted);
  if (rc != 0 || !*inserted)
    return rc;
  evaluation_t e = {.daemon = d, .anomaly = a, .db = db, .now = now};
  return an_store_each_rule_upto(db, a->score, apply_rule, &e);
}

/* ---- acknowledge, resolve ---- */

void an_alert_feedback_clear(an_alert_feedback_t *f) {
  free(f->source);
  free(f->metric);
  memset(f, 0, sizeof(*f));
}

static int record_false_positive(sqlite3 *db, const an_alert_t *a, double now,
                                 an_alert_feedback_t *fb) {
  an_anomaly_t x;
  int rc = an_feedback_record(db, a->first_anomaly_id, "false_positive",
                              a->notes, now, &x, &fb->sensitivity);
  if (rc == ENOENT) /* the anomaly is gone: nothing to tune */
    return 0;
  if (rc == 0) { /* the anomaly's names move to fb: nothing to copy */
    fb->given = 1;
    fb->source = x.source;
    fb->metric = x.metric;
    x.source = x.metric = NULL;
  }
  an_anomaly_clear(&x);
  return rc;
}

static int set_text(char **field, const char *value) {
  if (value == NULL)
    return 0;
  char *copy = strdup(value);
  if (copy == NULL)
    return ENOMEM;
  free(*field);
  *field = copy;
  return 0;
}

int an_alerts_acknowledge(sqlite3 *db, an_daemon_t *d, const char *id,
                          const char *notes, int false_positive, const char *by,
                          double now, an_alert_t *out,
                          an_alert_feedback_t *feedback) {
  an_alert_feedback_clear(feedback); /* from a first run of the batch */
  an_alert_clear(out);
  int rc = an_store_get_alert(db, id, out);
  if (rc != 0)
    return rc;
  if (out->status == AN_ALERT_RESOLVED)
    return EALREADY;
  /* it has paged nobody, and acknowledged it could no longer fire */
  if (out->status == AN_ALERT_PENDING)
    return EBUSY;
  int firing = out->status == AN_ALERT_FIRING; /* not acknowledged yet */
  /* acknowledging again may add notes; who acknowledged first stays */
  if (set_text(&out->notes, notes) != 0 ||
      (firing && set_text(&out->acknowledged_by, by) != 0))
    return ENOMEM;
  if (false_positive && !out->false_positive) {
    out->false_positive = 1;
    rc = record_false_positive(db, out, now, feedback);
  }
  if (rc == 0 && firing) {
    out->status = AN_ALERT_ACKNOWLEDGED;
    out->acknowledged_at = now;
    rc = notify_followers(db, d, out, "acknowledge", now);
  }
  if (rc == 0)
    rc = an_store_save_alert(db, out);
  return rc;
}

/* Resolves the open alert a (by: who or what). */
static int resolve(sqlite3 *db, an_daemon_t *d, an_alert_t *a, const char *by,
                   double now) {
  if (set_text(&a->resolved_by, by) != 0)
    return ENOMEM;
  a->status = AN_ALERT_RESOLVED;
  a->resolved_at = now;
  int rc = an_store_save_alert(db, a);
  if (rc == 0)
    rc = notify_followers(db, d, a, "resolve", now);
  return rc;
}

int an_alerts_resolve(sqlite3 *db, an_daemon_t *d, const char *id,
                      const char *notes, const char *by, double now,
                      an_alert_t *out) {
  an_alert_clear(out); /* from a first run of the batch */
  int rc = an_store_get_alert(db, id, out);
  if (rc != 0 || out->status == AN_ALERT_RESOLVED)
    return rc;
  if (set_text(&out->notes, notes) != 0)
    return ENOMEM;
  return resolve(db, d, out, by, now);
}

/* Calls fn on each alert of ids (those gone meanwhile are skipped). */
static int
each_alert(sqlite3 *db, an_daemon_t *d, an_id_list_t *ids, double now,
           int (*fn)(sqlite3 *, an_daemon_t *, an_alert_t *, double)) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < ids->n; i++) {
    an_alert_t a;
    rc = an_store_get_alert(db, ids->ids[i], &a);
    if (rc == 0)
      rc = fn(db, d, &a, now);
    else if (rc == ENOENT)
      rc = 0;
    an_alert_clear(&a);
  }
  an_id_list_free(ids);
  return rc;
}

static int resolve_deleted(sqlite3 *db, an_daemon_t *d, an_alert_t *a,
                           double now) {
  return resolve(db, d, a, "rule deleted", now);
}

int an_alerts_resolve_rule(sqlite3 *db, an_daemon_t *d, const char *rule_id,
                           double now) {
  an_id_list_t ids;
  int rc = an_store_alerts_of_rule(db, rule_id, &ids);
  return rc != 0 ? rc : each_alert(db, d, &ids, now, resolve_deleted);
}

/* ---- the periodic check ---- */

static int resolve_quiet(sqlite3 *db, an_daemon_t *d, an_alert_t *a,
                         double now) {
  if (a->status == AN_ALERT_PENDING)
    return 0;
  return resolve(db, d, a, "auto", now);
}

static int escalate(sqlite3 *db, an_daemon_t *d, an_alert_t *a, double now) {
  an_rule_t rule;
  int rc = an_store_get_rule(db, a->rule_id, &rule);
  if (rc == ENOENT)
    return 0;
  if (rc == 0 && a->status == AN_ALERT_FIRING && rule.escalate_to != NULL) {
    a->escalated_at = now;
    int silenced = a->silenced;
    rc =
        notify_channels(db, d, a, &rule, "escalate", &rule.escalate_to, 1, now);
    a->silenced = silenced; /* the trigger's silence is what it reports */
    if (rc == 0)
      rc = an_store_save_alert(db, a);
    if (rc == 0)
      syslog(LOG_NOTICE,
             "alert %s (%s, %s %s) unacknowledged after %g s: "
             "escalated to %s",
             a->id, a->rule_name, a->source, a->metric, rule.escalation_timeout,
             rule.escalate_to);
  }
  an_rule_clear(&rule);
  return rc;
}

static int expire(sqlite3 *db, an_daemon_t *d, an_alert_t *a, double now) {
  return an_store_delete_alert(db, a->id);
}

int an_alerts_check(sqlite3 *db, an_daemon_t *d, double now) {
  an_id_list_t ids;
  int rc = an_store_alerts_quiet(db, now, &ids);
  if (rc == 0)
    rc = each_alert(db, d, &ids, now, resolve_quiet);
  if (rc == 0)
    rc = an_store_alerts_unacknowledged(db, now, &ids);
  if (rc == 0)
    rc = each_alert(db, d, &ids, now, escalate);
  if (rc == 0)
    rc = an_store_alerts_expired(db, now, &ids);
  if (rc == 0)
    rc = each_alert(db, d, &ids, now, expire);
  return rc;
}

static int run_check(sqlite3 *db, void *arg) {
  an_alerts_t *a = arg;
  return an_alerts_check(db, a->daemon, a->now);
}

static void check_done(void *arg, int rc) {
  an_alerts_t *a = arg;
  a->checking = 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
  an_alerts_t *a = arg;
  if (a->checking)
    return;
  a->now = an_clock_wall();
  if (an_store_submit(a->daemon->store, run_check, check_done, a) == 0)
    a->checking = 1;
}

int an_alerts_open(an_daemon_t *d, an_alerts_t **out) {
  an_alerts_t *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return ENOMEM;
  a->daemon = d;
  a->timer = event_new(d->base, -1, EV_PERSIST, on_timer, a);
  struct timeval every = {CHECK_SECONDS, 0};
  if (a->timer == NULL || event_add(a->timer, &every) != 0) {
    an_alerts_close(a);
    return ENOMEM;
  }
  *out = a;
  return 0;
}

void an_alerts_close(an_alerts_t *a) {
  if (a == NULL)
    return;
  if (a->timer != NULL)
    event_free(a->timer);
  free(a);
}
