/* Notices and what each kind of channel receives: PagerDuty's actions,
 * dedup key and severities, Slack's readable message, the webhook's copy
 * of the notice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "json.h"
#include "notify/notify.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static an_alert_t alert(int severity, int status) {
  an_alert_t a = {.severity = severity,
                  .status = status,
                  .created_at = 1705744800,
                  .started_at = 1705744800,
                  .fired_at = 1705744801,
                  .updated_at = 1705744801,
                  .hits = 4,
                  .max_score = 0.97,
                  .acknowledged_at = NAN,
                  .resolved_at = NAN,
                  .escalated_at = NAN};
  strcpy(a.id, "0b8f6c3e-2f1a-4c55-9d9e-6a1f0e5b7c21");
  strcpy(a.rule_id, "5d2c9a4b-1e3f-4a6b-8c7d-9e0f1a2b3c4d");
  a.rule_name = "Critical CPU Alert";
  a.source = "web-1";
  a.metric = "cpu-0/cpu-user";
  return a;
}

static an_anomaly_t anomaly(void) {
  an_anomaly_t x = {.value = 93.1,
                    .expected = 12.3,
                    .score = 0.97,
                    .detected_at = 1705744800};
  strcpy(x.id, "c2154906-5600-4b24-93b8-6018f20ea9df");
  x.explanation = "cpu-0/cpu-user 93.1 is 8.2σ above its 1 h normal of 12.3";
  x.kind = "spike";
  return x;
}

/* Renders the notice of event on a for a channel of type; returns the
 * parsed body (free with yajl_tree_free). */
static yajl_val rendered(const char *type, const char *event, an_alert_t *a) {
  an_anomaly_t x = anomaly();
  an_channel_t ch = {.name = "c", .type = (char *)type, .url = "http://x/"};
  ch.routing_key = "rk-0123456789";
  char *notice = an_notice_json(event, a, &x, NULL, "https://a.example", 1e9);
  assert_non_null(notice);
  char err[200];
  yajl_val n = an_json_parse(notice, strlen(notice), err, sizeof(err));
  assert_non_null(n);
  an_jw_t w;
  an_jw_init(&w);
  assert_int_equal(an_notify_renderer(type)(n, &ch, &w), 0);
  assert_int_equal(an_jw_failed(&w), 0);
  yajl_val out = an_json_parse(w.buf, w.len, err, sizeof(err));
  assert_non_null(out);
  an_jw_free(&w);
  yajl_tree_free(n);
  free(notice);
  return out;
}

static const char *str(yajl_val v, const char *a, const char *b) {
  yajl_val x = an_json_get(v, a);
  if (b != NULL)
    x = an_json_get(x, b);
  return YAJL_IS_STRING(x) ? x->u.string : "(none)";
}

static void test_pagerduty(void **unused) {
  an_alert_t a = alert(4, 1);
  yajl_val t = rendered("pagerduty", "trigger", &a);
  assert_string_equal(str(t, "event_action", NULL), "trigger");
  assert_string_equal(str(t, "dedup_key", NULL), a.id);
  assert_string_equal(str(t, "routing_key", NULL), "rk-0123456789");
  assert_string_equal(str(t, "payload", "severity"), "critical");
  assert_string_equal(str(t, "payload", "source"), "web-1");
  assert_string_equal(str(t, "payload", "timestamp"), "2024-01-20T10:00:00Z");
  assert_non_null(strstr(str(t, "payload", "summary"), "8.2σ above"));
  yajl_tree_free(t);

  /* acknowledge and resolve act on the same incident, without a payload */
  const char *events[] = {"acknowledge", "resolve"};
  for (int i = 0; i < 2; i++) {
    yajl_val v = rendered("pagerduty", events[i], &a);
    assert_string_equal(str(v, "event_action", NULL), events[i]);
    assert_string_equal(str(v, "dedup_key", NULL), a.id);
    assert_null(an_json_get(v, "payload"));
    yajl_tree_free(v);
  }
  /* escalation pages again, on the same incident */
  yajl_val e = rendered("pagerduty", "escalate", &a);
  assert_string_equal(str(e, "event_action", NULL), "trigger");
  assert_string_equal(str(e, "dedup_key", NULL), a.id);
  yajl_tree_free(e);

  /* severities: critical, error, warning, info */
  const char *pd[] = {"info", "info", "warning", "error", "critical"};
  for (int s = 1; s <= 4; s++) {
    an_alert_t b = alert(s, 1);
    yajl_val v = rendered("pagerduty", "trigger", &b);
    assert_string_equal(str(v, "payload", "severity"), pd[s]);
    yajl_tree_free(v);
  }
}

static void test_slack(void **unused) {
  an_alert_t a = alert(3, 1);
  yajl_val v = rendered("slack", "trigger", &a);
  const char *text = str(v, "text", NULL);
  const char *want[] = {"FIRING",
                        "web-1",
                        "cpu-0/cpu-user",
                        "93.1",
                        "12.3",
                        "0.97",
                        "high",
                        "8.2σ above",
                        "https://a.example/v1/alerts/"
                        "0b8f6c3e-2f1a-4c55-9d9e-6a1f0e5b7c21"};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    if (strstr(text, want[i]) == NULL)
      fail_msg("'%s' not in the Slack text: %s", want[i], text);
  assert_true(YAJL_IS_ARRAY(an_json_get(v, "blocks")));
  yajl_tree_free(v);

  a.status = 2;
  a.acknowledged_by = "ops";
  a.notes = "on it";
  v = rendered("slack", "acknowledge", &a);
  assert_non_null(strstr(str(v, "text", NULL), "ACKNOWLEDGED"));
  assert_non_null(strstr(str(v, "text", NULL), "by ops: on it"));
  yajl_tree_free(v);

  /* text from outside cannot mention the channel or make a link */
  a.notes = "<!channel> & <https://evil.example|Acknowledge>";
  v = rendered("slack", "acknowledge", &a);
  assert_non_null(strstr(str(v, "text", NULL),
                         "&lt;!channel&gt; &amp; "
                         "&lt;https://evil.example|Acknowledge&gt;"));
  assert_null(strstr(str(v, "text", NULL), "<!channel>"));
  yajl_tree_free(v);
}

static void test_webhook_is_the_notice(void **unused) {
  an_alert_t a = alert(2, 1);
  yajl_val v = rendered("webhook", "trigger", &a);
  assert_string_equal(str(v, "event", NULL), "trigger");
  assert_string_equal(str(v, "alertId", NULL), a.id);
  assert_string_equal(str(v, "status", NULL), "firing");
  assert_string_equal(str(v, "severity", NULL), "medium");
  assert_string_equal(str(v, "sourceId", NULL), "web-1");
  assert_string_equal(str(v, "anomalyId", NULL),
                      "c2154906-5600-4b24-93b8-6018f20ea9df");
  assert_true(an_notice_num(v, "value") == 93.1);
  assert_true(an_notice_num(v, "anomalyCount") == 4);
  yajl_tree_free(v);
}

static void test_unknown(void **unused) {
  assert_null(an_notify_renderer("teams"));
  char err[100];
  yajl_val n = an_json_parse("{\"event\":\"reboot\"}", 18, err, sizeof(err));
  an_channel_t ch = {.name = "c", .type = "pagerduty", .url = "http://x/"};
  an_jw_t w;
  an_jw_init(&w);
  assert_int_equal(an_render_pagerduty(n, &ch, &w), EINVAL);
  an_jw_free(&w);
  yajl_tree_free(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pagerduty),
      cmocka_unit_test(test_slack),
      cmocka_unit_test(test_webhook_is_the_notice),
      cmocka_unit_test(test_unknown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
