/* notice.c: what a notification says (the notice, as JSON), and the
 * renderer of each channel kind. */
#include "json.h"
#include "notify/notify.h"
#include "severity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *an_notice_json(const char *event, const an_alert_t *a,
                     const an_anomaly_t *latest, const an_rule_t *rule,
                     const char *public_url, double now) {
  char link[600];
  yajl_gen g = an_json_gen();
  if (g == NULL)
    return NULL;
  yajl_gen_map_open(g);
  an_json_int(g, "version", 1);
  an_json_str(g, "event", event);
  an_json_time(g, "at", now);
  an_json_str(g, "alertId", a->id);
  an_json_str(g, "status", an_alert_status_name(a->status));
  an_json_str(g, "ruleId", a->rule_id);
  an_json_str(g, "ruleName", a->rule_name);
  an_json_str(g, "severity", an_severity_name((an_severity_t)a->severity));
  an_json_str(g, "sourceId", a->source);
  an_json_str(g, "metric", a->metric);
  if (latest != NULL) {
    an_json_str(g, "anomalyId", latest->id);
    an_json_num(g, "value", latest->value);
    an_json_num(g, "expected", latest->expected);
    an_json_num(g, "score", latest->score);
    an_json_str(g, "explanation", latest->explanation);
    an_json_str(g, "kind", latest->kind);
    an_json_time(g, "detectedAt", latest->detected_at);
  }
  an_json_time(g, "startedAt", a->started_at);
  an_json_time(g, "firedAt", a->fired_at);
  an_json_int(g, "anomalyCount", a->hits);
  an_json_num(g, "maxScore", a->max_score);
  an_json_str(g, "acknowledgedBy", a->acknowledged_by);
  an_json_str(g, "resolvedBy", a->resolved_by);
  an_json_str(g, "notes", a->notes);
  an_json_bool(g, "isFalsePositive", a->false_positive);
  if (rule != NULL && strcmp(event, "escalate") == 0) {
    an_json_key(g, "escalation");
    yajl_gen_map_open(g);
    an_json_num(g, "timeout", rule->escalation_timeout);
    an_json_str(g, "escalateTo", rule->escalate_to);
    yajl_gen_map_close(g);
  }
  snprintf(link, sizeof(link), "%s/v1/alerts/%s", public_url, a->id);
  an_json_str(g, "link", link);
  yajl_gen_map_close(g);
  return an_json_gen_take(g);
}

const char *an_notice_str(yajl_val notice, const char *key) {
  yajl_val v = an_json_get(notice, key);
  return YAJL_IS_STRING(v) ? v->u.string : "";
}

double an_notice_num(yajl_val notice, const char *key) {
  yajl_val v = an_json_get(notice, key);
  return YAJL_IS_NUMBER(v) ? YAJL_GET_DOUBLE(v) : NAN;
}

static const struct {
  const char *type;
  an_render_fn render;
} renderers[] = {
    {"slack", an_render_slack},
    {"pagerduty", an_render_pagerduty},
    {"webhook", an_render_webhook},
};

an_render_fn an_notify_renderer(const char *type) {
  for (size_t i = 0; i < sizeof(renderers) / sizeof(renderers[0]); i++)
    if (strcmp(renderers[i].type, type) == 0)
      return renderers[i].render;
  return NULL;
}
