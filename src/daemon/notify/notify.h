/* notify.h: notifications of alerts.
 *
 * A notice says what happened (the event: trigger, acknowledge, resolve or
 * escalate), to which alert, with its latest anomaly and a link. It is
 * written as JSON into the outbox in the same transaction as the change
 * it reports (alerts.c). The delivery thread started here sends each one
 * to its channel, rendered for the channel's kind (notify_slack.c,
 * notify_pagerduty.c, notify_webhook.c), on its own database connection:
 * nothing on the event loop or the store worker waits on a receiver.
 * Deliveries run in parallel on one curl multi handle, a few per channel
 * at most, so a receiver that hangs delays only its own channel.
 * Receivers that fail (no answer, 408, 429, 5xx) are retried with
 * exponential backoff and jitter (1 s doubling to 60 s; 429 waits its
 * Retry-After); a delivery the receiver refuses with another status is
 * failed with the receiver's answer. The outbox is in SQLite, so pending
 * deliveries survive a restart. */
#ifndef AN_NOTIFY_H
#define AN_NOTIFY_H

#include "alerts/rules.h"
#include "daemon.h"
#include "jsonw.h"
#include "store/records.h"

#include <stddef.h>
#include <yajl/yajl_tree.h>

typedef struct an_notify an_notify_t;

/* The notice of event on alert a, as a malloc'd JSON string: latest is
 * its latest anomaly (may be NULL), rule its rule for the escalation
 * fields (may be NULL). NULL when out of memory. */
char *an_notice_json(const char *event, const an_alert_t *a,
                     const an_anomaly_t *latest, const an_rule_t *rule,
                     const char *public_url, double now);

/* Renders a notice (the parsed JSON) into the body a kind of channel
 * receives. Returns 0, or EINVAL for a notice it cannot render. */
typedef int (*an_render_fn)(yajl_val notice, const an_channel_t *channel,
                            an_jw_t *w);

int an_render_slack(yajl_val notice, const an_channel_t *channel, an_jw_t *w);
int an_render_pagerduty(yajl_val notice, const an_channel_t *channel,
                        an_jw_t *w);
int an_render_webhook(yajl_val notice, const an_channel_t *channel, an_jw_t *w);

/* The renderer of a channel type, NULL for an unknown type. */
an_render_fn an_notify_renderer(const char *type);

/* Helpers the renderers share: a notice's string field ("" when absent)
 * and number field (NaN when absent). */
const char *an_notice_str(yajl_val notice, const char *key);
double an_notice_num(yajl_val notice, const char *key);

/* Starts the delivery thread (after the store has created the schema).
 * Returns 0, or an errno with the reason in err. */
int an_notify_start(an_daemon_t *d, an_notify_t **out, char *err,
                    size_t errlen);

/* From the store worker, when it queued a pending delivery: the thread
 * looks at the outbox after the next commit. Accepts NULL. */
void an_notify_queued(an_notify_t *n);

/* The store's commit hook: wakes the thread if deliveries were queued. */
void an_notify_committed(void *n);

/* Stops the thread (requests in flight are abandoned and stay pending)
 * and frees it. Accepts NULL. */
void an_notify_stop(an_notify_t *n);

#endif
