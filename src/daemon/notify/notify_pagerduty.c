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

static void detail_num(yajl_gen g, yajl_val n, const char *key) {
  double v = an_notice_num(n, key);
  if (!isnan(v))
    an_json_num(g, key, v);
}

int an_render_pagerduty(yajl_val n, const an_channel_t *channel, yajl_gen g) {
  const char *act = action(an_notice_str(n, "event"));
  if (act == NULL)
    return EINVAL;
  yajl_gen_map_open(g);
  an_json_str(g, "routing_key",
              channel->routing_key != NULL ? channel->routing_key : "");
  an_json_str(g, "event_action", act);
  an_json_str(g, "dedup_key", an_notice_str(n, "alertId"));
  if (strcmp(act, "trigger") == 0) {
    char summary[1024];
    snprintf(summary, sizeof(summary), "%s: %s on %s: %s",
             an_notice_str(n, "ruleName"), an_notice_str(n, "metric"),
             an_notice_str(n, "sourceId"), an_notice_str(n, "explanation"));
    an_json_key(g, "payload");
    yajl_gen_map_open(g);
    an_json_str(g, "summary", summary);
    an_json_str(g, "source", an_notice_str(n, "sourceId"));
    an_json_str(g, "severity", pd_severity(an_notice_str(n, "severity")));
    an_json_str(g, "timestamp",
                an_notice_str(n, "detectedAt")[0]
                    ? an_notice_str(n, "detectedAt")
                    : an_notice_str(n, "at"));
    an_json_str(g, "component", an_notice_str(n, "metric"));
    an_json_str(g, "group", an_notice_str(n, "ruleName"));
    an_json_str(g, "class", an_notice_str(n, "kind"));
    an_json_key(g, "custom_details");
    yajl_gen_map_open(g);
    an_json_str(g, "event", an_notice_str(n, "event"));
    detail_num(g, n, "value");
    detail_num(g, n, "expected");
    detail_num(g, n, "score");
    detail_num(g, n, "anomalyCount");
    an_json_str(g, "explanation", an_notice_str(n, "explanation"));
    an_json_str(g, "anomalyId", an_notice_str(n, "anomalyId"));
    yajl_gen_map_close(g);
    yajl_gen_map_close(g);
    an_json_key(g, "links");
    yajl_gen_array_open(g);
    yajl_gen_map_open(g);
    an_json_str(g, "href", an_notice_str(n, "link"));
    an_json_str(g, "text", "Alert in anomalyd");
    yajl_gen_map_close(g);
    yajl_gen_array_close(g);
  }
  yajl_gen_map_close(g);
  return 0;
}
