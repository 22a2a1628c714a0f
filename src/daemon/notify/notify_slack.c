/* notify_slack.c: Slack incoming-webhook messages. The text is the whole
 * message for clients that show only it; blocks lay out the facts an
 * on-call engineer looks for first, and link to the alert. */
#include "json.h"
#include "notify/notify.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* What the event says, as a headline. */
static const char *headline(const char *event) {
  if (strcmp(event, "trigger") == 0)
    return "FIRING";
  if (strcmp(event, "acknowledge") == 0)
    return "ACKNOWLEDGED";
  if (strcmp(event, "resolve") == 0)
    return "RESOLVED";
  if (strcmp(event, "escalate") == 0)
    return "ESCALATED";
  return event;
}

static const char *emoji(const char *event) {
  if (strcmp(event, "resolve") == 0)
    return ":white_check_mark:";
  if (strcmp(event, "acknowledge") == 0)
    return ":eyes:";
  return ":rotating_light:";
}

static void number(char *buf, size_t len, double v) {
  if (isnan(v))
    snprintf(buf, len, "n/a");
  else
    snprintf(buf, len, "%.6g", v);
}

/* The notice's field key as mrkdwn text, into out (len bytes): Slack
 * reads <...> as links and mentions (<!channel>) and & as an entity, so
 * text from outside (names, notes, explanations) has them escaped. */
static const char *plain(yajl_val n, const char *key, char *out, size_t len) {
  size_t k = 0;
  for (const char *s = an_notice_str(n, key); *s != '\0'; s++) {
    const char *put = *s == '&'   ? "&amp;"
                      : *s == '<' ? "&lt;"
                      : *s == '>' ? "&gt;"
                                  : NULL;
    size_t add = put != NULL ? strlen(put) : 1;
    if (k + add >= len)
      break;
    if (put != NULL)
      memcpy(out + k, put, add);
    else
      out[k] = *s;
    k += add;
  }
  out[k] = '\0';
  return out;
}

static void field(an_jw_t *w, const char *title, const char *value) {
  char text[700];
  snprintf(text, sizeof(text), "*%s*\n%s", title, value[0] ? value : "n/a");
  an_jw_map_open(w);
  an_jw_str(w, "type", "mrkdwn");
  an_jw_str(w, "text", text);
  an_jw_map_close(w);
}

static void section(an_jw_t *w, const char *mrkdwn) {
  an_jw_map_open(w);
  an_jw_str(w, "type", "section");
  an_jw_key(w, "text");
  an_jw_map_open(w);
  an_jw_str(w, "type", "mrkdwn");
  an_jw_str(w, "text", mrkdwn);
  an_jw_map_close(w);
  an_jw_map_close(w);
}

int an_render_slack(yajl_val n, const an_channel_t *channel, an_jw_t *w) {
  const char *event = an_notice_str(n, "event");
  if (event[0] == '\0')
    return EINVAL;
  char text[2600], value[40], expected[40], score[40], title[1500], extra[700];
  char rule[200], metric[300], source[300], by[200], notes[400], why[800];
  const char *severity = an_notice_str(n, "severity");
  plain(n, "ruleName", rule, sizeof(rule));
  plain(n, "metric", metric, sizeof(metric));
  plain(n, "sourceId", source, sizeof(source));
  plain(n, "explanation", why, sizeof(why));
  number(value, sizeof(value), an_notice_num(n, "value"));
  number(expected, sizeof(expected), an_notice_num(n, "expected"));
  number(score, sizeof(score), an_notice_num(n, "score"));

  extra[0] = '\0';
  if (strcmp(event, "acknowledge") == 0)
    snprintf(extra, sizeof(extra), " by %s%s%s",
             plain(n, "acknowledgedBy", by, sizeof(by))[0] ? by : "someone",
             an_notice_str(n, "notes")[0] ? ": " : "",
             plain(n, "notes", notes, sizeof(notes)));
  else if (strcmp(event, "resolve") == 0)
    snprintf(extra, sizeof(extra), " (%s)",
             strcmp(an_notice_str(n, "resolvedBy"), "auto") == 0
                 ? "quiet again"
                 : plain(n, "resolvedBy", by, sizeof(by)));
  else if (strcmp(event, "escalate") == 0)
    snprintf(extra, sizeof(extra), ": not acknowledged within %.0f s",
             an_notice_num(an_json_get(n, "escalation"), "timeout"));

  snprintf(title, sizeof(title), "[%s] %s %s: %s on %s%s", headline(event),
           severity, rule, metric, source, extra);
  snprintf(text, sizeof(text), "%s %s. %s (value %s, expected %s, score %s) %s",
           emoji(event), title, why, value, expected, score,
           an_notice_str(n, "link"));

  an_jw_map_open(w);
  an_jw_str(w, "text", text);
  an_jw_key(w, "blocks");
  an_jw_array_open(w);
  char head[1600];
  snprintf(head, sizeof(head), "%s *%s*", emoji(event), title);
  section(w, head);
  an_jw_map_open(w);
  an_jw_str(w, "type", "section");
  an_jw_key(w, "fields");
  an_jw_array_open(w);
  field(w, "Source", source);
  field(w, "Metric", metric);
  field(w, "Value", value);
  field(w, "Expected", expected);
  field(w, "Score", score);
  field(w, "Severity", severity);
  an_jw_array_close(w);
  an_jw_map_close(w);
  if (why[0] != '\0')
    section(w, why);
  char link[700];
  snprintf(link, sizeof(link), "<%s|Alert %s> in anomalyd",
           an_notice_str(n, "link"), an_notice_str(n, "alertId"));
  section(w, link);
  an_jw_array_close(w);
  an_jw_map_close(w);
  return 0;
}
