/* notify_pagerduty.c: PagerDuty Events API v2. Every event of an alert
 * carries the alert's id as dedup_key, so PagerDuty keeps one incident per
 * alert: trigger (and escalate) open it, acknowledge and resolve act on
 * that same incident. */
#include "json.h"
#include "notify/notify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* PagerDuty's severities: critical, error, warning, info. */
static const char *pd_severity(const char *severity) {
  if (strcmp(severity, "critical") == 0)
    return "critical";
  if (strcmp(severity, "high") == 0)
    return "error";
  if (strcmp(severity, "medium") == 0)
    return "warning";
  return "info";
}

static const char *action(const char *event) {
  if (strcmp(event, "trigger") == 0 || strcmp(event, "escalate") == 0)
    return "trigger";
  if (strcmp(event, "acknowledge") == 0)
    return "acknowledge";
  if (strcmp(event, "resolve") == 0)
    return "resolve";
  return NULL;
}

static void detail_num(an_jw_t *w, yajl_val n, const char *key) {
  double v = an_notice_num(n, key);
  if (!isnan(v))
    an_jw_num(w, key, v);
}

int an_render_pagerduty(yajl_val n, const an_channel_t *channel, an_jw_t *w) {
  const char *act = action(an_notice_str(n, "event"));
  if (act == NULL)
    return EINVAL;
  an_jw_map_open(w);
  an_jw_str(w, "routing_key",
            channel->routing_key != NULL ? channel->routing_key : "");
  an_jw_str(w, "event_action", act);
  an_jw_str(w, "dedup_key", an_notice_str(n, "alertId"));
  if (strcmp(act, "trigger") == 0) {
    char summary[1024];
    snprintf(summary, sizeof(summary), "%s: %s on %s: %s",
             an_notice_str(n, "ruleName"), an_notice_str(n, "metric"),
             an_notice_str(n, "sourceId"), an_notice_str(n, "explanation"));
    an_jw_key(w, "payload");
    an_jw_map_open(w);
    an_jw_str(w, "summary", summary);
    an_jw_str(w, "source", an_notice_str(n, "sourceId"));
    an_jw_str(w, "severity", pd_severity(an_notice_str(n, "severity")));
    an_jw_str(w, "timestamp",
              an_notice_str(n, "detectedAt")[0] ? an_notice_str(n, "detectedAt")
                                                : an_notice_str(n, "at"));
    an_jw_str(w, "component", an_notice_str(n, "metric"));
    an_jw_str(w, "group", an_notice_str(n, "ruleName"));
    an_jw_str(w, "class", an_notice_str(n, "kind"));
    an_jw_key(w, "custom_details");
    an_jw_map_open(w);
    an_jw_str(w, "event", an_notice_str(n, "event"));
    detail_num(w, n, "value");
    detail_num(w, n, "expected");
    detail_num(w, n, "score");
    detail_num(w, n, "anomalyCount");
    an_jw_str(w, "explanation", an_notice_str(n, "explanation"));
    an_jw_str(w, "anomalyId", an_notice_str(n, "anomalyId"));
    an_jw_map_close(w);
    an_jw_map_close(w);
    an_jw_key(w, "links");
    an_jw_array_open(w);
    an_jw_map_open(w);
    an_jw_str(w, "href", an_notice_str(n, "link"));
    an_jw_str(w, "text", "Alert in anomalyd");
    an_jw_map_close(w);
    an_jw_array_close(w);
  }
  an_jw_map_close(w);
  return 0;
}
