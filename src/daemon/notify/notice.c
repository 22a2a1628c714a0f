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
  an_jw_t w;
  an_jw_init(&w);
  an_jw_map_open(&w);
  an_jw_int(&w, "version", 1);
  an_jw_str(&w, "event", event);
  an_jw_time(&w, "at", now);
  an_jw_str(&w, "alertId", a->id);
  an_jw_str(&w, "status", an_alert_status_name(a->status));
  an_jw_str(&w, "ruleId", a->rule_id);
  an_jw_str(&w, "ruleName", a->rule_name);
  an_jw_str(&w, "severity", an_severity_name((an_severity_t)a->severity));
  an_jw_str(&w, "sourceId", a->source);
  an_jw_str(&w, "metric", a->metric);
  if (latest != NULL) {
    an_jw_str(&w, "anomalyId", latest->id);
    an_jw_num(&w, "value", latest->value);
    an_jw_num(&w, "expected", latest->expected);
    an_jw_num(&w, "score", latest->score);
    an_jw_str(&w, "explanation", latest->explanation);
    an_jw_str(&w, "kind", latest->kind);
    an_jw_time(&w, "detectedAt", latest->detected_at);
  }
  an_jw_time(&w, "startedAt", a->started_at);
  an_jw_time(&w, "firedAt", a->fired_at);
  an_jw_int(&w, "anomalyCount", a->hits);
  an_jw_num(&w, "maxScore", a->max_score);
  an_jw_str(&w, "acknowledgedBy", a->acknowledged_by);
  an_jw_str(&w, "resolvedBy", a->resolved_by);
  an_jw_str(&w, "notes", a->notes);
  an_jw_bool(&w, "isFalsePositive", a->false_positive);
  if (rule != NULL && strcmp(event, "escalate") == 0) {
    an_jw_key(&w, "escalation");
    an_jw_map_open(&w);
    an_jw_num(&w, "timeout", rule->escalation_timeout);
    an_jw_str(&w, "escalateTo", rule->escalate_to);
    an_jw_map_close(&w);
  }
  snprintf(link, sizeof(link), "%s/v1/alerts/%s", public_url, a->id);
  an_jw_str(&w, "link", link);
  an_jw_map_close(&w);
  return an_jw_take(&w);
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
